/* test_decode_validation.c - a CUPI answer holding a value the field table
 * refuses (range, enum, boolean, host name syntax, control characters, NUL,
 * invalid UTF-8, length) fails to decode, in XML and in JSON, with a message
 * naming the field and showing the value as one printable line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cupi/cupi.h>

#include "test_support.h"

/* The message is what cupiServerLastError and cupictl show. */
static void assert_printable_line(const char *msg)
{
    assert_true(cupi_utf8_valid(msg, strlen(msg), NULL));
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        assert_true(*p >= 0x20 && *p != 0x7f);
}

/* Decodes body (len bytes) and requires it refused because of field, with
 * shown (when not NULL) in the message; the output is left untouched. */
static void refused_n(cupi_resource r, cupi_format f, const char *body, size_t len,
                      const char *field, const char *shown)
{
    cupi_snapshot out, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    out = sentinel;
    char err[256] = "";
    cupi_status st = cupi_decode(r, f, body, len, &out, err, sizeof err);
    if (st != CUPI_E_PARSE)
        fail_msg("%s: %s accepted (%s): %.200s", cupi_format_name(f), field,
                 cupi_status_name(st), body);
    assert_memory_equal(&out, &sentinel, sizeof out);
    char want[96];
    snprintf(want, sizeof want, "field %s: ", field);
    if (!strstr(err, want))
        fail_msg("%s: message does not name %s: %s", cupi_format_name(f), field, err);
    if (shown && !strstr(err, shown))
        fail_msg("%s: message does not show [%s]: %s", cupi_format_name(f), shown, err);
    assert_printable_line(err);
}

static void refused(cupi_resource r, cupi_format f, const char *body, const char *field,
                    const char *shown)
{
    refused_n(r, f, body, strlen(body), field, shown);
}

static const char *root_of(cupi_resource r)
{
    return cupi_resource_root(r);
}

/* One field with a raw value (as the body spells it) in both formats; the
 * JSON value is given with its quotes or as a native token. */
static void refused_both(cupi_resource r, const char *field, const char *xml_raw,
                         const char *json_raw, const char *shown)
{
    char body[1024];
    if (xml_raw) {
        snprintf(body, sizeof body, "<%s><%s>%s</%s></%s>", root_of(r), field, xml_raw, field,
                 root_of(r));
        refused(r, CUPI_FORMAT_XML, body, field, shown);
    }
    if (json_raw) {
        snprintf(body, sizeof body, "{\"%s\": %s}", field, json_raw);
        refused(r, CUPI_FORMAT_JSON, body, field, shown);
    }
}

static void accepted(cupi_resource r, cupi_format f, const char *body)
{
    cupi_snapshot out;
    char err[256];
    cupi_status st = cupi_decode(r, f, body, strlen(body), &out, err, sizeof err);
    if (st != CUPI_OK)
        fail_msg("%s refused: %s: %s", cupi_format_name(f), err, body);
}

/* --- integers: ranges and enums ------------------------------------------- */

static void test_out_of_range(void **state)
{
    (void)state;
    refused_both(CUPI_RES_SERVER, "maxNumberConnections", "9999", "\"9999\"", "9999");
    refused_both(CUPI_RES_SERVER, "maxNumberConnections", "-5", "-5", "-5");
    refused_both(CUPI_RES_SERVER, "maxNumberConnections", "51", "51", "51");
    refused_both(CUPI_RES_SERVER, "smtpClientThreads", "11", "\"11\"", "11");
    refused_both(CUPI_RES_SERVER, "maxMessageSizeKb", "50001", "\"50001\"", "50001");
    refused_both(CUPI_RES_SERVER, "maxNumberMessagesSession", "101", "101", "101");
    refused_both(CUPI_RES_SERVER, "maxNumberRecipients", "-1", "\"-1\"", "-1");
    refused_both(CUPI_RES_SERVER, "retryDeliveryTimeoutMin", "2147483648", "2147483648",
                 "2147483648");
    refused_both(CUPI_RES_SERVER, "retryDeliveryTimeoutMin", "-1", "\"-1\"", "-1");
    /* The edges are fine. */
    accepted(CUPI_RES_SERVER, CUPI_FORMAT_XML,
             "<SmtpServerConfiguration><maxNumberConnections>50</maxNumberConnections>"
             "<retryDeliveryTimeoutMin>2147483647</retryDeliveryTimeoutMin>"
             "<maxNumberRecipients>0</maxNumberRecipients></SmtpServerConfiguration>");
    accepted(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
             "{\"maxNumberConnections\": \"0\", \"maxMessageSizeKb\": 50000}");
}

static void test_not_an_enum_value(void **state)
{
    (void)state;
    refused_both(CUPI_RES_SERVER, "Port", "26", "\"26\"", "26");
    refused_both(CUPI_RES_SERVER, "Port", "0", "0", "\"0\"");
    refused_both(CUPI_RES_CLIENT, "smtpPort", "1", "\"1\"", "\"1\"");
    refused_both(CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses", "7", "\"7\"", "7");
    refused_both(CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses", "-1", "-1", "-1");
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpPort\": \"587\"}");
    accepted(CUPI_RES_SERVER, CUPI_FORMAT_XML,
             "<SmtpServerConfiguration><requireTlsFromUntrustedIpAddresses>2"
             "</requireTlsFromUntrustedIpAddresses></SmtpServerConfiguration>");
}

static void test_not_a_boolean(void **state)
{
    (void)state;
    refused_both(CUPI_RES_CLIENT, "isClientSecure", "2", "2", "\"2\"");
    refused_both(CUPI_RES_CLIENT, "isAuthEnabled", "yes", "\"yes\"", "yes");
    refused_both(CUPI_RES_SERVER, "allowConnectionsFromUntrustedIpAddresses", "truex",
                 "\"truex\"", "truex");
}

static void test_not_a_number(void **state)
{
    (void)state;
    refused_both(CUPI_RES_SERVER, "maxNumberConnections", "twenty", "\"twenty\"", "twenty");
    refused_both(CUPI_RES_SERVER, "Port", "25x", "\"25x\"", "25x");
}

/* --- strings: syntax, controls, NUL, UTF-8, length -------------------------- */

static void test_host_name_syntax(void **state)
{
    (void)state;
    refused_both(CUPI_RES_SERVER, "domainName", "bad_host.example.com",
                 "\"bad_host.example.com\"", "bad_host.example.com");
    refused_both(CUPI_RES_SERVER, "domainName", "-a.example.com", "\"-a.example.com\"", NULL);
    refused_both(CUPI_RES_SERVER, "domainName", "", "\"\"", NULL); /* required */
    refused_both(CUPI_RES_CLIENT, "smtpSmartHost", "not a host!", "\"not a host!\"",
                 "not a host!");
    refused_both(CUPI_RES_CLIENT, "smtpSmartHost", "1.2.3.4:25", "\"1.2.3.4:25\"", NULL);
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
             "<SmtpClientConfiguration><smtpSmartHost>2001:db8::25</smtpSmartHost>"
             "</SmtpClientConfiguration>");
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpSmartHost\": \"\"}");
}

static void test_control_characters(void **state)
{
    (void)state;
    /* JSON escapes and raw bytes, XML character references (the ones XML 1.0
     * can carry at all) and raw blanks; C1 controls too. */
    refused_both(CUPI_RES_SERVER, "domainName", "ab&#9;cd.example.com",
                 "\"ab\\u0001cd.example.com\"", NULL);
    refused(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"domainName\": \"ab\\u0001cd.example.com\"}",
            "domainName", "\"ab\\x01cd.example.com\"");
    refused(CUPI_RES_SERVER, CUPI_FORMAT_XML,
            "<SmtpServerConfiguration><domainName>ab&#9;cd.example.com</domainName>"
            "</SmtpServerConfiguration>",
            "domainName", "\"ab\\x09cd.example.com\"");
    refused_both(CUPI_RES_CLIENT, "smtpUsername", "x&#10;y", "\"x\\ny\"", "x\\x0Ay");
    refused_both(CUPI_RES_CLIENT, "smtpUsername", "x&#13;y", "\"x\\ry\"", "x\\x0Dy");
    refused_both(CUPI_RES_CLIENT, "smtpUsername", "esc&#x7f;", "\"esc\\u007f\"", "esc\\x7F");
    refused_both(CUPI_RES_CLIENT, "smtpUsername", "nel&#x85;", "\"nel\\u0085\"",
                 "nel\\xC2\\x85");
    /* A raw control byte in JSON (cJSON lets it through). */
    refused(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpUsername\": \"a\x1b[31m\"}",
            "smtpUsername", "a\\x1B[31m");
    /* Printable UTF-8 is fine. */
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_JSON,
             "{\"smtpUsername\": \"J\\u00fcrgen \xe2\x82\xac\"}");
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
             "<SmtpClientConfiguration><smtpUsername>J&#252;rgen \xf0\x9f\x93\xa7"
             "</smtpUsername></SmtpClientConfiguration>");
}

static void test_json_nul(void **state)
{
    (void)state;
    /* cJSON would cut the value at the NUL: "ab" would be served. */
    refused(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
            "{\"Port\": \"25\", \"domainName\": \"ab\\u0000cd.example.com\"}", "domainName",
            "\"ab\\u0000cd.example.com\"");
    refused(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"SMTPUSERNAME\": \"\\u0000\"}",
            "smtpUsername", "NUL");
    refused(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
            "{\"SmtpServerConfiguration\": {\"domainName\": \"a\\u0000\"}}", "domainName",
            NULL);
    /* In a member name it could alias a field ("Port\u0000x" reads as "Port"). */
    cupi_snapshot out;
    char err[256];
    const char *alias = "{\"Port\\u0000x\": \"26\", \"Port\": \"25\"}";
    assert_int_equal(cupi_decode(CUPI_RES_SERVER, CUPI_FORMAT_JSON, alias, strlen(alias), &out,
                                 err, sizeof err),
                     CUPI_E_PARSE);
    assert_non_null(strstr(err, "NUL"));
    /* An escaped backslash before "u0000" is no NUL; an unknown member's NUL
     * harms nothing (it is ignored like the member). */
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpUsername\": \"a\\\\u0000\"}");
    accepted(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"Port\": \"25\", \"URI\": \"x\\u0000y\"}");
    /* A raw NUL byte inside a JSON string is refused the same way. */
    static const char raw[] = "{\"domainName\": \"ab\0cd.example.com\"}";
    refused_n(CUPI_RES_SERVER, CUPI_FORMAT_JSON, raw, sizeof raw - 1, "domainName",
              "\"ab\\x00cd.example.com\"");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        const char *shown;
    } bad[] = {
        {"x\xc3", "x\\xC3"},                          /* truncated sequence */
        {"\xc0\xafx", "\\xC0\\xAFx"},                 /* overlong '/' */
        {"a\xed\xa0\x80", "a\\xED\\xA0\\x80"},        /* a surrogate */
        {"\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"}, /* beyond U+10FFFF */
        {"\xff", "\\xFF"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"smtpUsername\": \"%s\"}", bad[i].bytes);
        refused(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, body, "smtpUsername", bad[i].shown);
        /* libxml2 refuses such a document; the field is still named. */
        snprintf(body, sizeof body,
                 "<SmtpClientConfiguration>\n  <smtpPort>25</smtpPort>\n  <smtpUsername>%s"
                 "</smtpUsername>\n</SmtpClientConfiguration>",
                 bad[i].bytes);
        refused(CUPI_RES_CLIENT, CUPI_FORMAT_XML, body, "smtpUsername", bad[i].shown);
    }
    /* In the domain name, and the shown value is cut at a character. */
    refused_both(CUPI_RES_SERVER, "domainName", "mail.\xe2\x82", "\"mail.\xe2\x82\"",
                 "mail.\\xE2\\x82");
    /* Declared in another encoding, the same bytes are characters. */
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
             "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><SmtpClientConfiguration>"
             "<smtpUsername>J\xfcrgen</smtpUsername></SmtpClientConfiguration>");
}

static void test_too_long(void **state)
{
    (void)state;
    char value[400], body[600];
    memset(value, 'u', 256);
    value[256] = '\0';
    snprintf(body, sizeof body, "{\"smtpUsername\": \"%s\"}", value);
    refused(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, body, "smtpUsername", "...");
    snprintf(
        body, sizeof body,
        "<SmtpClientConfiguration><smtpUsername>%s</smtpUsername></SmtpClientConfiguration>",
        value);
    refused(CUPI_RES_CLIENT, CUPI_FORMAT_XML, body, "smtpUsername", "...");
    /* A host name of 254 characters fits the 255 bytes but not RFC 1123. */
    char host[300];
    size_t n = 0;
    while (n < 254) {
        memcpy(host + n, "abcdefghi.", 10);
        n += 10;
    }
    host[254] = '\0';
    host[253] = 'x';
    snprintf(body, sizeof body, "{\"domainName\": \"%s\"}", host);
    refused(CUPI_RES_SERVER, CUPI_FORMAT_JSON, body, "domainName", NULL);
    /* The message stays short enough for cupiServerLastError. */
    cupi_snapshot out;
    char err[512];
    assert_int_equal(cupi_decode(CUPI_RES_SERVER, CUPI_FORMAT_JSON, body, strlen(body), &out,
                                 err, sizeof err),
                     CUPI_E_PARSE);
    assert_true(strlen(err) < 200);
}

/* --- the write-only password -------------------------------------------------- */

static void test_password_never_shown(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"smtpPassword\": \"Secr3t\\u0001\"}",
        "{\"smtpPassword\": \"Secr3t\\u0000\"}",
        "{\"smtpPassword\": \"Secr3t\xc3\"}",
        "<SmtpClientConfiguration><smtpPassword>Secr3t&#10;</smtpPassword>"
        "</SmtpClientConfiguration>",
        "<SmtpClientConfiguration><smtpPassword>Secr3t\xc3</smtpPassword>"
        "</SmtpClientConfiguration>",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        cupi_format f = bodies[i][0] == '{' ? CUPI_FORMAT_JSON : CUPI_FORMAT_XML;
        refused(CUPI_RES_CLIENT, f, bodies[i], "smtpPassword", "withheld");
        cupi_snapshot out;
        char err[256];
        cupi_decode(CUPI_RES_CLIENT, f, bodies[i], strlen(bodies[i]), &out, err, sizeof err);
        assert_null(strstr(err, "Secr3t"));
    }
    /* CUPI returns it empty: fine. */
    accepted(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpPassword\": \"\"}");
}

/* --- one bad field spoils the whole answer ---------------------------------- */

static void test_whole_answer_refused(void **state)
{
    (void)state;
    size_t len;
    char *seed = load("seed_server.xml", &len);
    /* The sample answer of tests/data with one value changed. */
    const char *from = "<maxNumberConnections>20<";
    char *at = strstr(seed, from);
    assert_non_null(at);
    size_t head = (size_t)(at - seed) + strlen("<maxNumberConnections>");
    char body[4096];
    snprintf(body, sizeof body, "%.*s9999%s", (int)head, seed, at + strlen(from) - 1);
    refused(CUPI_RES_SERVER, CUPI_FORMAT_XML, body, "maxNumberConnections", "9999");
    free(seed);
    seed = load("seed_client.json", &len);
    at = strstr(seed, "\"25\"");
    assert_non_null(at);
    snprintf(body, sizeof body, "%.*s\"1\"%s", (int)(at - seed), seed, at + 4);
    refused(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, body, "smtpPort", "\"1\"");
    free(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_not_an_enum_value),
        cmocka_unit_test(test_not_a_boolean),
        cmocka_unit_test(test_not_a_number),
        cmocka_unit_test(test_host_name_syntax),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_json_nul),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_password_never_shown),
        cmocka_unit_test(test_whole_answer_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
