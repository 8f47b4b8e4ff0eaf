/* test_state_file.c - the state file's text on its own (no net-snmp): what
 * is taken from a file, what is left out, and that what is written reads
 * back the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cupi/cupi.h>

#include "state_json.h"
#include "state_json_write.h"
#include "test_support.h"

#define NOW ((time_t)1800000000)
#define URL1 "https://cuc1.example.com:8443"

static const char SERVER_VALUES[] =
    "{\"Port\":\"587\",\"domainName\":\"mail.example.com\",\"maxNumberConnections\":\"20\","
    "\"smtpClientThreads\":\"5\",\"maxMessageSizeKb\":\"10240\","
    "\"maxNumberMessagesSession\":\"10\",\"maxNumberRecipients\":\"1000\","
    "\"retryDeliveryTimeoutMin\":\"240\","
    "\"allowConnectionsFromUntrustedIpAddresses\":\"true\","
    "\"requireAuthenticationFromUntrustedIpAddresses\":\"false\","
    "\"requireTlsFromUntrustedIpAddresses\":\"2\"}";
static const char CLIENT_VALUES[] =
    "{\"smtpSmartHost\":\"relay.example.com\",\"isClientSecure\":\"true\",\"smtpPort\":\"587\","
    "\"isAuthEnabled\":\"true\",\"smtpUsername\":\"relay\"}";

/* A state file text with one server entry whose parts are given. */
static char *doc_text(const char *head, const char *entries)
{
    size_t n = strlen(head) + strlen(entries) + 64;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "{%s,\"servers\":[%s]}", head, entries);
    return t;
}

static const char HEAD[] = "\"format\":\"cupi-snmp-state\",\"version\":1";

static char *entry(unsigned index, const char *url, const char *server_read_at,
                   const char *server_values, const char *client_values)
{
    char *t = malloc(8192);
    assert_non_null(t);
    int n = snprintf(t, 8192, "{\"index\":%u,\"url\":\"%s\"", index, url);
    if (server_values)
        n += snprintf(t + n, 8192 - (size_t)n, ",\"server\":{\"readAt\":%s,\"values\":%s}",
                      server_read_at, server_values);
    if (client_values)
        n += snprintf(t + n, 8192 - (size_t)n,
                      ",\"client\":{\"readAt\":1700000000,\"values\":%s}", client_values);
    snprintf(t + n, 8192 - (size_t)n, "}");
    return t;
}

static int parse(const char *text, agent_state_doc *doc, char *why)
{
    return agent_state_parse(text, strlen(text), NOW, NULL, NULL, doc, why, 128);
}

/* Parses a file of one entry and returns that entry's record (copied). */
static agent_state_server parse_one(const char *server_read_at, const char *server_values,
                                    const char *client_values)
{
    char *e = entry(1, URL1, server_read_at, server_values, client_values);
    char *t = doc_text(HEAD, e);
    agent_state_doc doc;
    char why[128];
    assert_int_equal(parse(t, &doc, why), 0);
    assert_int_equal(doc.n_servers, 1);
    agent_state_server s = doc.servers[0];
    agent_state_doc_free(&doc);
    free(t);
    free(e);
    return s;
}

static void test_valid_file(void **state)
{
    (void)state;
    agent_state_server s = parse_one("1700000000", SERVER_VALUES, CLIENT_VALUES);
    assert_int_equal(s.index, 1);
    assert_string_equal(s.url, URL1);
    assert_int_equal(s.invalid, 0);
    assert_true(s.res[CUPI_RES_SERVER].valid);
    assert_true(s.res[CUPI_RES_CLIENT].valid);
    assert_int_equal(s.res[CUPI_RES_SERVER].read_at, 1700000000);
    const cupi_snapshot *srv = &s.res[CUPI_RES_SERVER].snap;
    assert_int_equal(srv->v[cupi_field_find(CUPI_RES_SERVER, "Port")->column - 1].i, 587);
    assert_string_equal(srv->v[cupi_field_find(CUPI_RES_SERVER, "domainName")->column - 1].s,
                        "mail.example.com");
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_false(cupi_snapshot_has(&s.res[CUPI_RES_CLIENT].snap, pw->column));
}

static void test_corrupt_files(void **state)
{
    (void)state;
    static const char *const corrupt[] = {
        "",
        "not json",
        "[1,2,3]",
        "{\"format\":\"cupi-snmp-state\",\"version\":1,\"servers\":[]",    /* truncated */
        "{\"format\":\"cupi-snmp-state\",\"version\":1,\"servers\":[]} x", /* trailing */
        "{\"format\":\"other\",\"version\":1,\"servers\":[]}",
        "{\"format\":\"cupi-snmp-state\",\"version\":1,\"servers\":{}}",
        "{\"format\":\"cupi-snmp-state\",\"servers\":[]}",
        /* a NUL escape would cut a value short inside cJSON */
        "{\"format\":\"cupi-snmp-state\",\"version\":1,\"servers\":[],\"x\":\"a\\u0000b\"}",
    };
    for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++) {
        agent_state_doc doc;
        char why[128] = "";
        if (parse(corrupt[i], &doc, why) == 0)
            fail_msg("taken: %s", corrupt[i]);
        assert_true(why[0] != '\0');
        assert_null(doc.servers);
        assert_int_equal(doc.n_servers, 0);
    }
    /* A raw NUL byte after a valid document. */
    static const char with_nul[] = "{\"format\":\"cupi-snmp-state\",\"version\":1,"
                                   "\"servers\":[]}\0garbage";
    agent_state_doc doc;
    char why[128];
    assert_int_equal(agent_state_parse(with_nul, sizeof with_nul - 1, NOW, NULL, NULL, &doc,
                                       why, sizeof why),
                     -1);
    /* An escaped backslash before "u0000" is not a NUL. */
    assert_int_equal(parse("{\"format\":\"cupi-snmp-state\",\"version\":1,\"servers\":[],"
                           "\"x\":\"a\\\\u0000b\"}",
                           &doc, why),
                     0);
    agent_state_doc_free(&doc);
}

static void test_other_versions(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "\"format\":\"cupi-snmp-state\",\"version\":3",
        "\"format\":\"cupi-snmp-state\",\"version\":0",
        "\"format\":\"cupi-snmp-state\",\"version\":1.5", /* was read as version 1 */
        "\"format\":\"cupi-snmp-state\",\"version\":\"1\"",
        /* beyond int: was converted before the range check (undefined) */
        "\"format\":\"cupi-snmp-state\",\"version\":18000864001",
        "\"format\":\"cupi-snmp-state\",\"version\":-1e300",
    };
    char *e = entry(1, URL1, "1700000000", SERVER_VALUES, NULL);
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        char *t = doc_text(heads[i], e);
        agent_state_doc doc;
        char why[128] = "";
        if (parse(t, &doc, why) == 0)
            fail_msg("taken: %s", t);
        free(t);
    }
    char *t = doc_text(heads[0], e);
    agent_state_doc doc;
    char why[128];
    assert_int_equal(parse(t, &doc, why), -1);
    assert_string_equal(why, "version 3, expected 1..2");
    free(t);
    /* 1 (before the change history) and 2 both load */
    static const char *const good[] = {"\"format\":\"cupi-snmp-state\",\"version\":1",
                                       "\"format\":\"cupi-snmp-state\",\"version\":2"};
    for (size_t i = 0; i < 2; i++) {
        t = doc_text(good[i], e);
        assert_int_equal(parse(t, &doc, why), 0);
        assert_int_equal(doc.n_servers, 1);
        assert_null(doc.servers[0].history);
        agent_state_doc_free(&doc);
        free(t);
    }
    free(e);
}

/* The history section is carried through untouched (its own reader checks
 * it), both ways. */
static void test_history_carried(void **state)
{
    (void)state;
    char *e = entry(1, URL1, "1700000000", SERVER_VALUES, NULL);
    size_t n = strlen(e) + 64;
    char *with = malloc(n);
    assert_non_null(with);
    snprintf(with, n, "%.*s,\"history\":{\"lastIndex\":7}}", (int)strlen(e) - 1, e);
    char *t = doc_text("\"format\":\"cupi-snmp-state\",\"version\":2", with);
    agent_state_doc doc;
    char why[128];
    assert_int_equal(parse(t, &doc, why), 0);
    assert_non_null(doc.servers[0].history);
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(doc.servers[0].history, "lastIndex");
    assert_true(cJSON_IsNumber(last) && last->valueint == 7);

    agent_state_render *r = agent_state_render_begin();
    assert_int_equal(agent_state_render_add(r, &doc.servers[0]), 0);
    char *text = agent_state_render_finish(r);
    assert_non_null(text);
    agent_state_doc again;
    assert_int_equal(parse(text, &again, why), 0);
    last = cJSON_GetObjectItemCaseSensitive(again.servers[0].history, "lastIndex");
    assert_true(cJSON_IsNumber(last) && last->valueint == 7);
    agent_state_doc_free(&again);
    agent_state_doc_free(&doc);
    free(text);
    free(t);
    free(with);
    free(e);
}

/* Entries come out sorted by index, each with the URL it was saved under
 * (what the store's import matches against the configuration). */
static void test_entries_sorted_with_their_urls(void **state)
{
    (void)state;
    char *e1 = entry(1, URL1, "1700000000", SERVER_VALUES, NULL);
    char *e2 = entry(2, "https://cuc2.example.com", "1700000000", SERVER_VALUES, NULL);
    char entries[20000];
    snprintf(entries, sizeof entries, "%s,%s", e2, e1);
    char *t = doc_text(HEAD, entries);
    agent_state_doc doc;
    char why[128];
    assert_int_equal(parse(t, &doc, why), 0);
    assert_int_equal(doc.n_servers, 2);
    assert_int_equal(doc.servers[0].index, 1); /* sorted */
    assert_string_equal(doc.servers[0].url, URL1);
    assert_int_equal(doc.servers[1].index, 2);
    assert_string_equal(doc.servers[1].url, "https://cuc2.example.com");
    agent_state_doc_free(&doc);
    free(t);

    free(e1);
    free(e2);
}

static bool only_two(unsigned index, const char *url, void *arg)
{
    (void)url;
    (*(int *)arg)++;
    return index == 2;
}

static void test_filter_and_duplicates(void **state)
{
    (void)state;
    char *e1 = entry(1, URL1, "1700000000", SERVER_VALUES, NULL);
    char *e2 = entry(2, "https://a.example.com", "1700000000", SERVER_VALUES, NULL);
    char *e2b = entry(2, "https://b.example.com", "1700000000", SERVER_VALUES, NULL);
    char entries[30000];
    snprintf(entries, sizeof entries,
             "%s,%s,%s,{\"index\":0,\"url\":\"x\"},{\"index\":1.5,\"url\":\"x\"},"
             "{\"index\":70000,\"url\":\"x\"},{\"index\":3},7",
             e1, e2, e2b);
    char *t = doc_text(HEAD, entries);
    agent_state_doc doc;
    char why[128];
    int asked = 0;
    assert_int_equal(
        agent_state_parse(t, strlen(t), NOW, only_two, &asked, &doc, why, sizeof why), 0);
    assert_int_equal(asked, 2); /* entries 1 and 2 (the repeated 2 is not asked) */
    assert_int_equal(doc.n_servers, 1);
    assert_string_equal(doc.servers[0].url, "https://a.example.com"); /* first wins */
    assert_int_equal(doc.dropped, 6); /* 5 unusable, 1 repeated */
    agent_state_doc_free(&doc);
    free(t);
    free(e1);
    free(e2);
    free(e2b);
}

static void test_read_at_range(void **state)
{
    (void)state;
    static const struct {
        const char *read_at;
        bool taken;
    } cases[] = {
        {"0", true},
        {"1700000000", true},
        {"1800086400", true},  /* NOW + one day */
        {"1800086401", false}, /* further ahead: corrupt */
        {"-1", false},
        {"1e300", false},
        {"1700000000.5", false},
        {"\"1700000000\"", false},
        {"null", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        agent_state_server s = parse_one(cases[i].read_at, SERVER_VALUES, CLIENT_VALUES);
        if (s.res[CUPI_RES_SERVER].valid != cases[i].taken)
            fail_msg("readAt %s: taken %d", cases[i].read_at, s.res[CUPI_RES_SERVER].valid);
        assert_int_equal(s.invalid, cases[i].taken ? 0 : 1);
        assert_true(s.res[CUPI_RES_CLIENT].valid); /* the other resource stays */
    }
}

/* Replaces the value of one field in SERVER_VALUES (or removes it when
 * value is NULL). */
static char *server_values_with(const char *field, const char *value)
{
    char *t = malloc(sizeof SERVER_VALUES + 600);
    assert_non_null(t);
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", field);
    const char *at = strstr(SERVER_VALUES, key);
    assert_non_null(at);
    const char *end = strchr(at + strlen(key), '"') + 1;
    if (!value) {
        if (*end == ',')
            end++;
        sprintf(t, "%.*s%s", (int)(at - SERVER_VALUES), SERVER_VALUES, end);
    } else {
        sprintf(t, "%.*s%s%s\"%s", (int)(at - SERVER_VALUES), SERVER_VALUES, key, value, end);
    }
    return t;
}

static void test_missing_and_bad_fields(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value;
    } cases[] = {
        {"Port", NULL},                            /* missing */
        {"domainName", NULL},                      /* missing */
        {"Port", "twenty-five"},                   /* wrong type */
        {"Port", "26"},                            /* not an enum value */
        {"maxNumberConnections", "51"},            /* out of range */
        {"retryDeliveryTimeoutMin", "4294967297"}, /* beyond Integer32 */
        {"domainName", "not a host"},              /* syntax */
        {"domainName", "tab\\there.example.com"},  /* control character */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *values = server_values_with(cases[i].field, cases[i].value);
        agent_state_server s = parse_one("1700000000", values, CLIENT_VALUES);
        if (s.res[CUPI_RES_SERVER].valid)
            fail_msg("taken with %s=%s", cases[i].field, cases[i].value ? cases[i].value : "-");
        assert_int_equal(s.invalid, 1);
        assert_true(s.res[CUPI_RES_CLIENT].valid);
        free(values);
    }
    /* The values object itself missing or not an object. */
    agent_state_server s = parse_one("1700000000", "[]", NULL);
    assert_false(s.res[CUPI_RES_SERVER].valid);
    assert_int_equal(s.invalid, 1);
}

static void test_round_trip(void **state)
{
    (void)state;
    agent_state_server a = {.index = 42};
    snprintf(a.url, sizeof a.url, "%s", "https://[2001:db8::1]:8443");
    a.res[CUPI_RES_SERVER].valid = true;
    a.res[CUPI_RES_SERVER].snap = seed_snapshot(CUPI_RES_SERVER);
    a.res[CUPI_RES_SERVER].read_at = 1700000123;
    a.res[CUPI_RES_CLIENT].valid = true;
    a.res[CUPI_RES_CLIENT].snap = seed_snapshot(CUPI_RES_CLIENT);
    a.res[CUPI_RES_CLIENT].read_at = 1700000456;
    /* a password in memory is never written */
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    set_str(&a.res[CUPI_RES_CLIENT].snap, pw->column, "never-written-pw");
    agent_state_server b = {.index = 7};
    snprintf(b.url, sizeof b.url, "%s", "https://b.example.com");

    agent_state_render *r = agent_state_render_begin();
    assert_int_equal(agent_state_render_add(r, &a), 0);
    assert_int_equal(agent_state_render_add(r, &b), 0);
    char *text = agent_state_render_finish(r);
    assert_non_null(text);
    assert_null(strstr(text, "never-written-pw"));
    assert_null(strstr(text, "smtpPassword"));

    agent_state_doc doc;
    char why[128];
    assert_int_equal(parse(text, &doc, why), 0);
    assert_int_equal(doc.n_servers, 2);
    assert_int_equal(doc.dropped, 0);
    const agent_state_server *got = &doc.servers[1], *empty = &doc.servers[0]; /* sorted */
    assert_int_equal(got->index, 42);
    assert_string_equal(got->url, a.url);
    assert_int_equal(got->invalid, 0);
    for (int i = 0; i < CUPI_RES_COUNT; i++) {
        assert_true(got->res[i].valid);
        assert_int_equal(got->res[i].read_at, a.res[i].read_at);
        assert_int_equal(cupi_snapshot_diff(&got->res[i].snap, &a.res[i].snap), 0);
    }
    assert_int_equal(empty->index, 7);
    assert_string_equal(empty->url, b.url);
    assert_false(empty->res[0].valid || empty->res[1].valid);
    agent_state_doc_free(&doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_other_versions),
        cmocka_unit_test(test_history_carried),
        cmocka_unit_test(test_entries_sorted_with_their_urls),
        cmocka_unit_test(test_filter_and_duplicates),
        cmocka_unit_test(test_read_at_range),
        cmocka_unit_test(test_missing_and_bad_fields),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
