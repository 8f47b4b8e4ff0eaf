/* test_history.c - the change history ring alone: numbering, wrap-around,
 * size 0 and size changes, the O(log n) lookup, value texts and the
 * state file's JSON form with every kind of bad row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_ring.h"
#include "state_json_write.h"
#include "text_pool.h"

static uint32_t add(history_ring *h, const char *old_value, const char *new_value)
{
    return history_ring_add(h, 1700000000, CUPI_RES_SERVER, 3, HISTORY_SOURCE_EXTERNAL,
                            old_value, new_value);
}

static void assert_indexes(const history_ring *h, uint32_t first, size_t count)
{
    assert_int_equal(h->count, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(history_ring_at(h, i)->index, first + i);
    assert_null(history_ring_at(h, count));
}

static void test_numbering_and_wrap(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 3), 0);
    assert_int_equal(h.last_index, 0);
    char old_text[16], new_text[16];
    for (unsigned i = 1; i <= 10; i++) {
        snprintf(old_text, sizeof old_text, "%u", i - 1);
        snprintf(new_text, sizeof new_text, "%u", i);
        assert_int_equal(add(&h, old_text, new_text), i);
    }
    assert_int_equal(h.last_index, 10);
    assert_indexes(&h, 8, 3);
    assert_string_equal(agent_change_old(history_ring_at(&h, 0)), "7");
    assert_string_equal(agent_change_new(history_ring_at(&h, 2)), "10");
    history_ring_clear(&h);
    assert_int_equal(h.last_index, 10); /* numbers are never handed out twice */
}

static void test_lookup(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 5), 0);
    assert_null(history_ring_from(&h, 0));
    for (unsigned i = 1; i <= 7; i++)
        add(&h, "a", "b"); /* wrapped: 3..7 at physical slots 2,3,4,0,1 */
    for (uint32_t want = 0; want <= 9; want++) {
        const agent_change *c = history_ring_from(&h, want);
        if (want > 7)
            assert_null(c);
        else
            assert_int_equal(c->index, want < 3 ? 3 : want);
    }
    assert_null(history_ring_from(&h, UINT32_MAX));
    history_ring_clear(&h);
}

static void test_size_zero_still_numbers(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(add(&h, "1", "2"), 1);
    assert_int_equal(add(&h, "2", "3"), 2);
    assert_int_equal(h.count, 0);
    assert_null(history_ring_from(&h, 0));
    /* turned on later: numbering goes on */
    assert_int_equal(history_ring_resize(&h, 2), 0);
    assert_int_equal(add(&h, "3", "4"), 3);
    assert_indexes(&h, 3, 1);
    history_ring_clear(&h);
}

static void test_resize_keeps_newest(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 4), 0);
    for (int i = 0; i < 6; i++)
        add(&h, "x", "y"); /* 3..6, wrapped */
    assert_int_equal(history_ring_resize(&h, 2), 0);
    assert_indexes(&h, 5, 2);
    assert_int_equal(history_ring_resize(&h, 10), 0);
    assert_indexes(&h, 5, 2);
    add(&h, "x", "y");
    assert_indexes(&h, 5, 3);
    assert_int_equal(history_ring_resize(&h, 0), 0);
    assert_indexes(&h, 0, 0);
    assert_int_equal(h.last_index, 7);
    history_ring_clear(&h);
}

static void test_last_index_saturates(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 2), 0);
    h.last_index = UINT32_MAX - 1;
    assert_int_equal(add(&h, "a", "b"), UINT32_MAX);
    assert_int_equal(add(&h, "b", "c"), 0); /* never wraps to 1 */
    assert_int_equal(h.last_index, UINT32_MAX);
    assert_indexes(&h, UINT32_MAX, 1);
    history_ring_clear(&h);
}

static void test_compact_rows(void **state)
{
    (void)state;
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 1), 0);
    char long_text[400];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    add(&h, "", long_text);
    const agent_change *c = history_ring_at(&h, 0);
    assert_string_equal(agent_change_old(c), "");
    assert_int_equal(strlen(agent_change_new(c)), CUPI_STR_MAX); /* what the column carries */
    /* a row is its header and two pointers to shared texts */
    assert_true(sizeof(agent_change) <= 32);
    history_ring_clear(&h);
}

/* Two rings of a fleet that changed alike: one copy of each text, shared,
 * and none left once the rows are gone. */
static void test_texts_shared_across_rings(void **state)
{
    (void)state;
    size_t before_bytes, bytes;
    size_t before = text_pool_count(&before_bytes);
    history_ring a, b;
    history_ring_init(&a);
    history_ring_init(&b);
    assert_int_equal(history_ring_resize(&a, 4), 0);
    assert_int_equal(history_ring_resize(&b, 4), 0);
    const char *old_host = "smtp-old.mail.example.com", *new_host = "smtp-new.mail.example.com";
    add(&a, old_host, new_host);
    add(&b, old_host, new_host);
    add(&b, new_host, old_host);
    assert_int_equal(text_pool_count(&bytes), before + 2);
    assert_int_equal(bytes, before_bytes + strlen(old_host) + strlen(new_host) + 2);
    const agent_change *x = history_ring_at(&a, 0), *y = history_ring_at(&b, 0);
    assert_ptr_equal(agent_change_old(x), agent_change_old(y));
    assert_ptr_equal(agent_change_new(x), agent_change_old(history_ring_at(&b, 1)));
    assert_string_equal(agent_change_new(history_ring_at(&b, 1)), old_host);
    /* A row pushed out by a full ring gives its texts back. */
    for (int i = 0; i < 4; i++)
        add(&a, "1", "2");
    assert_int_equal(text_pool_count(NULL), before + 4);
    history_ring_clear(&a);
    history_ring_clear(&b);
    assert_int_equal(text_pool_count(&bytes), before);
    assert_int_equal(bytes, before_bytes);
}

static void test_value_text(void **state)
{
    (void)state;
    char buf[CUPI_STR_MAX + 32];
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    const cupi_field *allow =
        cupi_field_find(CUPI_RES_SERVER, "allowConnectionsFromUntrustedIpAddresses");
    const cupi_field *domain = cupi_field_find(CUPI_RES_SERVER, "domainName");
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_non_null(port);
    assert_non_null(allow);
    assert_non_null(domain);
    assert_non_null(pw);
    cupi_value v = {.i = 587};
    assert_string_equal(history_value_text(port, &v, buf, sizeof buf), "587");
    v.i = 1;
    assert_string_equal(history_value_text(allow, &v, buf, sizeof buf), "true");
    v.i = 0;
    assert_string_equal(history_value_text(allow, &v, buf, sizeof buf), "false");
    snprintf(v.s, sizeof v.s, "mail.example.com");
    assert_string_equal(history_value_text(domain, &v, buf, sizeof buf), "mail.example.com");
    snprintf(v.s, sizeof v.s, "s3cret");
    assert_string_equal(history_value_text(pw, &v, buf, sizeof buf), "");
}

/* --- JSON ---------------------------------------------------------------- */

static history_ring sample(void)
{
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 3), 0);
    history_ring_add(&h, 1700000000, CUPI_RES_SERVER, 3, HISTORY_SOURCE_EXTERNAL, "20", "30");
    history_ring_add(&h, 1700000001, CUPI_RES_CLIENT, 6, HISTORY_SOURCE_SNMP, "", "");
    history_ring_add(&h, 1700000002, CUPI_RES_SERVER, 9, HISTORY_SOURCE_SNMP, "true", "false");
    history_ring_add(&h, 1700000003, CUPI_RES_CLIENT, 1, HISTORY_SOURCE_EXTERNAL, "a.example",
                     "b.example");
    return h; /* 2..4 kept, last 4 */
}

static void assert_same_rings(const history_ring *a, const history_ring *b)
{
    assert_int_equal(a->last_index, b->last_index);
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const agent_change *x = history_ring_at(a, i), *y = history_ring_at(b, i);
        assert_int_equal(x->index, y->index);
        assert_int_equal(x->when, y->when);
        assert_int_equal(x->resource, y->resource);
        assert_int_equal(x->column, y->column);
        assert_int_equal(x->source, y->source);
        assert_string_equal(agent_change_old(x), agent_change_old(y));
        assert_string_equal(agent_change_new(x), agent_change_new(y));
    }
}

static void test_json_round_trip(void **state)
{
    (void)state;
    history_ring h = sample();
    cJSON *j = history_ring_to_json(&h);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "\"field\":\"smtpPassword\",\"old\":\"\",\"new\":\"\""));
    history_ring back;
    history_ring_init(&back);
    assert_int_equal(history_ring_resize(&back, 3), 0);
    char why[256];
    assert_int_equal(history_ring_from_json(&back, j, time(NULL), why, sizeof why), 0);
    assert_same_rings(&h, &back);
    /* a smaller ring takes the newest rows that fit */
    assert_int_equal(history_ring_resize(&back, 1), 0);
    assert_int_equal(history_ring_from_json(&back, j, time(NULL), why, sizeof why), 0);
    assert_indexes(&back, 4, 1);
    assert_int_equal(back.last_index, 4);
    free(text);
    cJSON_Delete(j);
    history_ring_clear(&h);
    history_ring_clear(&back);
}

/* Loads sample()'s JSON with one edit; returns the result, the ring's
 * rows in *count and its last index in *last. */
static int load_edited(const char *path, const char *key, cJSON *value, size_t *count,
                       uint32_t *last)
{
    history_ring h = sample();
    cJSON *j = history_ring_to_json(&h);
    history_ring_clear(&h);
    cJSON *target = j;
    if (path) {
        cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
        target = cJSON_GetArrayItem(rows, atoi(path));
    }
    if (value)
        cJSON_ReplaceItemInObjectCaseSensitive(target, key, value);
    else
        cJSON_DeleteItemFromObjectCaseSensitive(target, key);
    history_ring back;
    history_ring_init(&back);
    history_ring_resize(&back, 3);
    char why[256] = "";
    int rc = history_ring_from_json(&back, j, time(NULL), why, sizeof why);
    if (rc != 0)
        assert_true(why[0] != '\0');
    *count = back.count;
    *last = back.last_index;
    history_ring_clear(&back);
    cJSON_Delete(j);
    return rc;
}

static void test_json_bad_rows(void **state)
{
    (void)state;
    size_t count;
    uint32_t last;
    struct {
        const char *row;
        const char *key;
        cJSON *value;
        bool keeps_last;
    } cases[] = {
        {"1", "index", cJSON_CreateNumber(2), true},         /* not growing */
        {"2", "index", cJSON_CreateNumber(9), true},         /* beyond lastIndex */
        {"0", "index", cJSON_CreateNumber(1.5), true},       /* not whole */
        {"0", "time", cJSON_CreateNumber(-1), true},         /* before the epoch */
        {"0", "time", cJSON_CreateNumber(1e300), true},      /* far ahead */
        {"0", "resource", cJSON_CreateString("mail"), true}, /* unknown */
        {"0", "field", cJSON_CreateString("nope"), true},    /* unknown */
        {"0", "field", cJSON_CreateString("PORT"), true},    /* not the payload spelling */
        {"0", "old", cJSON_CreateString("s3cret"), true},    /* a password value */
        {"1", "new", cJSON_CreateString("26"), true},        /* not a Port value */
        {"2", "old", cJSON_CreateString("bad host!"), true}, /* not a host name */
        {"1", "old", cJSON_CreateNumber(25), true},          /* not a string */
        {"1", "source", cJSON_CreateString("cli"), true},    /* unknown source */
        {"1", "source", NULL, true},                         /* missing */
        {NULL, "rows", cJSON_CreateString("x"), true},       /* not a list */
        {NULL, "lastIndex", cJSON_CreateNumber(-1), false},  /* unsound number */
        {NULL, "lastIndex", cJSON_CreateNumber(5e9), false}, /* beyond Unsigned32 */
        {NULL, "version", cJSON_CreateNumber(2), false},     /* newer format */
        {NULL, "version", NULL, false},                      /* no format */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = load_edited(cases[i].row, cases[i].key, cases[i].value, &count, &last);
        if (rc != -1 || count != 0 || last != (cases[i].keeps_last ? 4u : 0u))
            fail_msg("case %zu (%s): rc %d, %zu rows, last %u", i, cases[i].key, rc, count,
                     last);
    }
    /* the control: unchanged, everything taken */
    assert_int_equal(load_edited(NULL, "lastIndex", cJSON_CreateNumber(4), &count, &last), 0);
    assert_int_equal(count, 3);
    assert_int_equal(last, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbering_and_wrap),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_size_zero_still_numbers),
        cmocka_unit_test(test_resize_keeps_newest),
        cmocka_unit_test(test_last_index_saturates),
        cmocka_unit_test(test_compact_rows),
        cmocka_unit_test(test_texts_shared_across_rings),
        cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_bad_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
