/* test_codec.c - XML and JSON bodies of the SMTP resources, ErrorDetails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cupi/cupi.h>

#include "test_support.h"

#define ALL_SERVER 0x7ffu
#define ALL_CLIENT 0x3fu

static cupi_status decode_str(cupi_resource r, cupi_format f, const char *body,
                              cupi_snapshot *out, char *err, size_t errsz)
{
    return cupi_decode(r, f, body, strlen(body), out, err, errsz);
}

static void decode_ok(cupi_resource r, cupi_format f, const char *body, cupi_snapshot *out)
{
    char err[256] = "";
    cupi_status st = decode_str(r, f, body, out, err, sizeof err);
    if (st != CUPI_OK)
        fail_msg("decode failed (%s): %s\nbody: %s", cupi_status_name(st), err, body);
}

static void decode_fails(cupi_resource r, cupi_format f, const char *body)
{
    cupi_snapshot out;
    char err[256] = "";
    cupi_status st = decode_str(r, f, body, &out, err, sizeof err);
    if (st != CUPI_E_PARSE)
        fail_msg("decode of %s gave %s, expected parse", body, cupi_status_name(st));
    assert_true(err[0] != '\0');
}

/* Removes blanks, for format-independent comparisons of encoded output. */
static void squeeze(const char *in, char *out, size_t outsz)
{
    size_t w = 0;
    for (; *in && w + 1 < outsz; in++)
        if (!isspace((unsigned char)*in))
            out[w++] = *in;
    out[w] = '\0';
}

/* --- the CUPI reference's bodies --------------------------------------------------- */

static void expect_server(const cupi_snapshot *s, int port)
{
    assert_int_equal(s->resource, CUPI_RES_SERVER);
    assert_int_equal(s->present, ALL_SERVER);
    assert_true(s->v[0].i == port);
    assert_string_equal(s->v[1].s, "ucbu-aricent-vm234.cisco.com");
    assert_true(s->v[2].i == 20);
    assert_true(s->v[3].i == 2);
    assert_true(s->v[4].i == 10000);
    assert_true(s->v[5].i == 10);
    assert_true(s->v[6].i == 15000);
    assert_true(s->v[7].i == 240);
    assert_true(s->v[8].i == 1);
    assert_true(s->v[9].i == 1);
    assert_true(s->v[10].i == 1);
    assert_int_equal(cupi_snapshot_check(s, NULL, NULL, 0), CUPI_VALID);
    assert_int_equal(cupi_rules_check(s, ALL_SERVER, NULL, NULL, 0), CUPI_VALID);
}

static void expect_client(const cupi_snapshot *s, int secure, int port, int auth,
                          const char *password)
{
    assert_int_equal(s->resource, CUPI_RES_CLIENT);
    assert_int_equal(s->present, ALL_CLIENT);
    assert_string_equal(s->v[0].s, "outbound.cisco.com");
    assert_true(s->v[1].i == secure);
    assert_true(s->v[2].i == port);
    assert_true(s->v[3].i == auth);
    assert_string_equal(s->v[4].s, "Admin");
    assert_string_equal(s->v[5].s, password);
    assert_int_equal(cupi_snapshot_check(s, NULL, NULL, 0), CUPI_VALID);
}

static cupi_snapshot decode_file(cupi_resource r, cupi_format f, const char *name)
{
    size_t len;
    char *body = load(name, &len);
    cupi_snapshot s;
    memset(&s, 0, sizeof s);
    char err[256] = "";
    cupi_status st = cupi_decode(r, f, body, len, &s, err, sizeof err);
    if (st != CUPI_OK)
        fail_msg("%s: %s: %s", name, cupi_status_name(st), err);
    assert_string_equal(err, "");
    free(body);
    return s;
}

static void test_seed_server_bodies(void **state)
{
    (void)state;
    cupi_snapshot s;
    s = decode_file(CUPI_RES_SERVER, CUPI_FORMAT_XML, "seed_server.xml");
    expect_server(&s, 587);
    s = decode_file(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "seed_server.json");
    expect_server(&s, 587);
    s = decode_file(CUPI_RES_SERVER, CUPI_FORMAT_XML, "seed_server_put.xml");
    expect_server(&s, 25);
    s = decode_file(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "seed_server_put.json");
    expect_server(&s, 25);
}

static void test_seed_client_bodies(void **state)
{
    (void)state;
    cupi_snapshot s;
    s = decode_file(CUPI_RES_CLIENT, CUPI_FORMAT_XML, "seed_client.xml");
    expect_client(&s, 1, 25, 1, "");
    s = decode_file(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "seed_client.json");
    expect_client(&s, 1, 25, 1, "");
    s = decode_file(CUPI_RES_CLIENT, CUPI_FORMAT_XML, "seed_client_put.xml");
    expect_client(&s, 1, 25, 1, "smtp");
    s = decode_file(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "seed_client_put.json");
    expect_client(&s, 1, 587, 0, "smtp");
}

/* A body of one resource is not a body of the other. */
static void test_seed_wrong_resource(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        cupi_resource other;
        cupi_format f;
    } cases[] = {
        {"seed_server.xml", CUPI_RES_CLIENT, CUPI_FORMAT_XML},
        {"seed_client.xml", CUPI_RES_SERVER, CUPI_FORMAT_XML},
        {"seed_server.json", CUPI_RES_CLIENT, CUPI_FORMAT_JSON},
        {"seed_client.json", CUPI_RES_SERVER, CUPI_FORMAT_JSON},
        /* and not in the other encoding */
        {"seed_server.json", CUPI_RES_SERVER, CUPI_FORMAT_XML},
        {"seed_client.xml", CUPI_RES_CLIENT, CUPI_FORMAT_JSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *body = load(cases[i].file, &len);
        cupi_snapshot s;
        char err[256] = "";
        assert_int_equal(
            cupi_decode(cases[i].other, cases[i].f, body, len, &s, err, sizeof err),
            CUPI_E_PARSE);
        assert_true(err[0] != '\0');
        free(body);
    }
}

/* --- round trips --------------------------------------------------------- */

static cupi_snapshot sample(cupi_resource r, int variant)
{
    cupi_snapshot s;
    cupi_snapshot_init(&s, r);
    if (r == CUPI_RES_SERVER) {
        set_int(&s, 1, variant ? 25 : 587);
        set_str(&s, 2, variant ? "a-b.example.com" : "mail.example.org");
        set_int(&s, 3, variant ? 0 : 50);
        set_int(&s, 4, variant ? 10 : 0);
        set_int(&s, 5, variant ? 50000 : 1);
        set_int(&s, 6, variant ? 100 : 0);
        set_int(&s, 7, variant ? 0 : 50000);
        set_int(&s, 8, variant ? 2147483647 : 0);
        set_int(&s, 9, variant ? 0 : 1);
        set_int(&s, 10, variant ? 1 : 0);
        set_int(&s, 11, variant ? 2 : 0);
    } else {
        set_str(&s, 1, variant ? "2001:db8::25" : "");
        set_int(&s, 2, variant ? 0 : 1);
        set_int(&s, 3, variant ? 587 : 25);
        set_int(&s, 4, variant ? 1 : 0);
        set_str(&s, 5, variant ? "relay user" : "");
        set_str(&s, 6, variant ? "p4ss w0rd" : "");
    }
    return s;
}

static void round_trip(const cupi_snapshot *in, cupi_format f)
{
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(cupi_encode(in, f, &body, &len), CUPI_OK);
    assert_non_null(body);
    assert_int_equal(strlen(body), len);
    cupi_snapshot out;
    memset(&out, 0x33, sizeof out);
    char err[256] = "";
    cupi_status st = cupi_decode(in->resource, f, body, len, &out, err, sizeof err);
    if (st != CUPI_OK)
        fail_msg("%s round trip: %s\n%s", cupi_format_name(f), err, body);
    assert_int_equal(out.resource, in->resource);
    assert_int_equal(out.present, in->present);
    size_t n;
    const cupi_field *fields = cupi_fields(in->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (!cupi_snapshot_has(in, fields[i].column))
            continue;
        if (!cupi_value_equal(&fields[i], &in->v[i], &out.v[i]))
            fail_msg("%s: %s differs after round trip\n%s", cupi_format_name(f), fields[i].name,
                     body);
    }
    /* The password is write-only; compare it too, as diff skips it. */
    assert_int_equal(cupi_snapshot_diff(in, &out), 0);
    free(body);
}

static void test_round_trips(void **state)
{
    (void)state;
    for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++)
        for (int r = 0; r < CUPI_RES_COUNT; r++)
            for (int variant = 0; variant < 2; variant++) {
                cupi_snapshot s = sample((cupi_resource)r, variant);
                round_trip(&s, (cupi_format)f);
            }
    /* The CUPI reference's files, decoded, encoded and decoded again. */
    static const char *const files[] = {"seed_server.xml", "seed_client_put.xml"};
    for (size_t i = 0; i < 2; i++) {
        cupi_snapshot s =
            decode_file(i ? CUPI_RES_CLIENT : CUPI_RES_SERVER, CUPI_FORMAT_XML, files[i]);
        round_trip(&s, CUPI_FORMAT_XML);
        round_trip(&s, CUPI_FORMAT_JSON);
    }
}

static void test_encode_xml_shape(void **state)
{
    (void)state;
    cupi_snapshot s = sample(CUPI_RES_SERVER, 0);
    char *body;
    assert_int_equal(cupi_encode(&s, CUPI_FORMAT_XML, &body, NULL), CUPI_OK);
    assert_true(strncmp(body, "<SmtpServerConfiguration>", 25) == 0);
    assert_non_null(strstr(body, "</SmtpServerConfiguration>"));
    assert_non_null(strstr(body, "<Port>587</Port>"));
    assert_non_null(strstr(body, "<allowConnectionsFromUntrustedIpAddresses>true<"));
    assert_non_null(strstr(body, "<requireAuthenticationFromUntrustedIpAddresses>false<"));
    assert_non_null(strstr(body, "<retryDeliveryTimeoutMin>0<"));
    /* Fields in column order. */
    assert_true(strstr(body, "<Port>") < strstr(body, "<domainName>"));
    assert_true(strstr(body, "<domainName>") <
                strstr(body, "<requireTlsFromUntrustedIpAddresses>"));
    free(body);
    cupi_snapshot c = sample(CUPI_RES_CLIENT, 1);
    assert_int_equal(cupi_encode(&c, CUPI_FORMAT_XML, &body, NULL), CUPI_OK);
    assert_true(strncmp(body, "<SmtpClientConfiguration>", 25) == 0);
    assert_non_null(strstr(body, "<smtpPassword>p4ss w0rd</smtpPassword>"));
    assert_non_null(strstr(body, "<isClientSecure>false</isClientSecure>"));
    free(body);
}

static void test_encode_json_strings(void **state)
{
    (void)state;
    cupi_snapshot s = sample(CUPI_RES_SERVER, 0);
    char *body;
    size_t len;
    assert_int_equal(cupi_encode(&s, CUPI_FORMAT_JSON, &body, &len), CUPI_OK);
    char flat[4096];
    squeeze(body, flat, sizeof flat);
    assert_non_null(strstr(flat, "\"Port\":\"587\""));
    assert_non_null(strstr(flat, "\"allowConnectionsFromUntrustedIpAddresses\":\"true\""));
    assert_non_null(strstr(flat, "\"requireTlsFromUntrustedIpAddresses\":\"0\""));
    /* Every member is a string, none is wrapped in a root object. */
    cJSON *root = cJSON_Parse(body);
    assert_non_null(root);
    assert_true(cJSON_IsObject(root));
    assert_int_equal(cJSON_GetArraySize(root), 11);
    for (cJSON *m = root->child; m; m = m->next)
        if (!cJSON_IsString(m))
            fail_msg("member %s is not a string", m->string);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "Port")->valuestring, "587");
    cJSON_Delete(root);
    free(body);

    cupi_snapshot c = sample(CUPI_RES_CLIENT, 1);
    assert_int_equal(cupi_encode(&c, CUPI_FORMAT_JSON, &body, &len), CUPI_OK);
    root = cJSON_Parse(body);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "smtpPort")->valuestring, "587");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "isAuthEnabled")->valuestring,
                        "true");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "smtpSmartHost")->valuestring,
                        "2001:db8::25");
    cJSON_Delete(root);
    free(body);
}

/* A partial snapshot (a PUT of some fields) encodes only those fields. */
static void test_encode_partial(void **state)
{
    (void)state;
    cupi_snapshot s;
    cupi_snapshot_init(&s, CUPI_RES_SERVER);
    set_int(&s, 3, 42);
    set_int(&s, 11, 2);
    size_t n;
    const cupi_field *fields = cupi_fields(CUPI_RES_SERVER, &n);
    for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++) {
        char *body;
        assert_int_equal(cupi_encode(&s, (cupi_format)f, &body, NULL), CUPI_OK);
        for (size_t i = 0; i < n; i++) {
            char needle[128];
            if (f == CUPI_FORMAT_XML)
                snprintf(needle, sizeof needle, "<%s>", fields[i].name);
            else
                snprintf(needle, sizeof needle, "\"%s\"", fields[i].name);
            bool want = cupi_snapshot_has(&s, fields[i].column);
            if ((strstr(body, needle) != NULL) != want)
                fail_msg("%s: %s %s", cupi_format_name((cupi_format)f), fields[i].name,
                         want ? "missing" : "present but not set");
        }
        cupi_snapshot back;
        char err[256];
        assert_int_equal(cupi_decode(CUPI_RES_SERVER, (cupi_format)f, body, strlen(body), &back,
                                     err, sizeof err),
                         CUPI_OK);
        assert_int_equal(back.present, BIT(3) | BIT(11));
        assert_true(back.v[2].i == 42 && back.v[10].i == 2);
        free(body);
    }
    /* Only the password: a client PUT that changes nothing else. */
    cupi_snapshot pw;
    cupi_snapshot_init(&pw, CUPI_RES_CLIENT);
    set_str(&pw, 6, "smtp");
    char *body;
    assert_int_equal(cupi_encode(&pw, CUPI_FORMAT_JSON, &body, NULL), CUPI_OK);
    char flat[256];
    squeeze(body, flat, sizeof flat);
    assert_string_equal(flat, "{\"smtpPassword\":\"smtp\"}");
    free(body);
    assert_int_equal(cupi_encode(&pw, CUPI_FORMAT_XML, &body, NULL), CUPI_OK);
    squeeze(body, flat, sizeof flat);
    assert_string_equal(flat, "<SmtpClientConfiguration><smtpPassword>smtp</smtpPassword>"
                              "</SmtpClientConfiguration>");
    free(body);
    /* An empty snapshot is an empty body of the resource. */
    cupi_snapshot empty;
    cupi_snapshot_init(&empty, CUPI_RES_CLIENT);
    assert_int_equal(cupi_encode(&empty, CUPI_FORMAT_JSON, &body, NULL), CUPI_OK);
    squeeze(body, flat, sizeof flat);
    assert_string_equal(flat, "{}");
    free(body);
}

/* --- decode tolerance ---------------------------------------------------- */

static void test_decode_case_insensitive(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_XML,
              "<SmtpServerConfiguration><PORT>25</PORT><DOMAINNAME>x.example.com</DOMAINNAME>"
              "</SmtpServerConfiguration>",
              &s);
    assert_int_equal(s.present, BIT(1) | BIT(2));
    assert_true(s.v[0].i == 25);
    assert_string_equal(s.v[1].s, "x.example.com");
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_XML,
              "<smtpserverconfiguration><port>587</port></smtpserverconfiguration>", &s);
    assert_true(s.v[0].i == 587);
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
              "{\"DOMAINNAME\": \"y.example.com\", \"port\": \"587\"}", &s);
    assert_int_equal(s.present, BIT(1) | BIT(2));
    assert_string_equal(s.v[1].s, "y.example.com");
    assert_true(s.v[0].i == 587);
    /* The CUPI reference tables' spellings are accepted as payload names too. */
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
              "{\"SmtplibClientThreads\": \"7\", \"RequireAuthFromUntrustedIPAddresses\": "
              "\"false\"}",
              &s);
    assert_int_equal(s.present, BIT(4) | BIT(10));
    assert_true(s.v[3].i == 7 && s.v[9].i == 0);
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
              "<SmtpClientConfiguration><SMTPSmartHost>h.example.com</SMTPSmartHost>"
              "<IsClientSecure>FALSE</IsClientSecure></SmtpClientConfiguration>",
              &s);
    assert_int_equal(s.present, BIT(1) | BIT(2));
    assert_string_equal(s.v[0].s, "h.example.com");
    assert_true(s.v[1].i == 0);
}

static void test_decode_native_json(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
              "{\"Port\": 587, \"maxNumberConnections\": 0, \"retryDeliveryTimeoutMin\": "
              "2147483647, \"allowConnectionsFromUntrustedIpAddresses\": true, "
              "\"requireAuthenticationFromUntrustedIpAddresses\": false, "
              "\"requireTlsFromUntrustedIpAddresses\": 2, \"maxNumberRecipients\": 7}",
              &s);
    assert_true(s.v[0].i == 587);
    assert_true(s.v[2].i == 0);
    assert_true(s.v[7].i == 2147483647);
    assert_true(s.v[8].i == 1);
    assert_true(s.v[9].i == 0);
    assert_true(s.v[10].i == 2);
    assert_true(s.v[6].i == 7);
    /* Out of its range, a native number is refused like a string one. */
    decode_fails(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"maxNumberRecipients\": -3}");
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_JSON,
              "{\"isClientSecure\": false, \"isAuthEnabled\": true, \"smtpPort\": 25}", &s);
    assert_int_equal(s.present, BIT(2) | BIT(3) | BIT(4));
    assert_true(s.v[1].i == 0 && s.v[3].i == 1 && s.v[2].i == 25);
    /* A boolean given as a number. */
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"isClientSecure\": 1}", &s);
    assert_true(s.v[1].i == 1);
    /* Floats that are whole numbers are integers. */
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpPort\": 587.0}", &s);
    assert_true(s.v[2].i == 587);
}

static void test_decode_empty_forms(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_JSON,
              "{\"smtpUsername\": [], \"smtpPassword\": [], \"smtpSmartHost\": \"\"}", &s);
    assert_int_equal(s.present, BIT(1) | BIT(5) | BIT(6));
    assert_string_equal(s.v[4].s, "");
    assert_string_equal(s.v[5].s, "");
    assert_string_equal(s.v[0].s, "");
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
              "<SmtpClientConfiguration><smtpUsername/><smtpPassword></smtpPassword>"
              "</SmtpClientConfiguration>",
              &s);
    assert_int_equal(s.present, BIT(5) | BIT(6));
    assert_string_equal(s.v[4].s, "");
    /* An empty number is not a number. */
    decode_fails(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpPort\": []}");
    decode_fails(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
                 "<SmtpClientConfiguration><smtpPort/></SmtpClientConfiguration>");
    /* A non-empty array is not a value. */
    decode_fails(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"smtpUsername\": [\"a\"]}");
}

static void test_decode_unknown_ignored(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_XML,
              "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
              "<SmtpServerConfiguration version=\"2\">\n"
              "  <!-- a comment -->\n"
              "  <URI>/vmrest/smtpserver/serverconfigs</URI>\n"
              "  <futureField><nested>1</nested></futureField>\n"
              "  <Port> 587 </Port>\n"
              "  <ObjectId>abc</ObjectId>\n"
              "</SmtpServerConfiguration>\n",
              &s);
    assert_int_equal(s.present, BIT(1));
    assert_true(s.v[0].i == 587);
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
              "{\"URI\": \"/vmrest\", \"future\": {\"a\": [1, 2]}, \"Port\": \"25\", "
              "\"n\": null, \"f\": 1.5, \"b\": true}",
              &s);
    assert_int_equal(s.present, BIT(1));
    assert_true(s.v[0].i == 25);
    /* Only unknown fields: not this resource. */
    decode_fails(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"URI\": \"/vmrest\"}");
    decode_fails(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                 "<SmtpServerConfiguration><URI>x</URI></SmtpServerConfiguration>");
}

static void test_decode_wrapped_json(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
              "{\"SmtpServerConfiguration\": {\"Port\": \"587\", \"maxNumberConnections\": "
              "\"5\"}}",
              &s);
    assert_int_equal(s.present, BIT(1) | BIT(3));
    assert_true(s.v[0].i == 587 && s.v[2].i == 5);
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_JSON,
              "{\"smtpclientconfiguration\": {\"smtpUsername\": \"u\"}}", &s);
    assert_string_equal(s.v[4].s, "u");
    /* The other resource's root is not unwrapped. */
    decode_fails(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
                 "{\"SmtpClientConfiguration\": {\"Port\": \"587\"}}");
}

static void test_decode_cdata_and_entities(void **state)
{
    (void)state;
    cupi_snapshot s;
    decode_ok(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
              "<SmtpClientConfiguration><smtpUsername><![CDATA[a<b>&c]]></smtpUsername>"
              "<smtpPassword>x&amp;y&lt;z&gt;&quot;&apos;&#65;&#x42;</smtpPassword>"
              "</SmtpClientConfiguration>",
              &s);
    assert_string_equal(s.v[4].s, "a<b>&c");
    assert_string_equal(s.v[5].s, "x&y<z>\"'AB");
}

/* --- escaping ------------------------------------------------------------ */

static void test_escaping_round_trip(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "a&b<c>d",
        "\"quoted\" 'single'",
        "back\\slash",
        "</smtpUsername><x>",
        "&amp;",
        "{\"json\": [1]}",
        "J\xc3\xbcrgen \xe2\x82\xac",
        "]]>",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cupi_snapshot s;
        cupi_snapshot_init(&s, CUPI_RES_CLIENT);
        set_str(&s, 5, texts[i]);
        set_str(&s, 6, texts[i]);
        for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++) {
            char *body;
            assert_int_equal(cupi_encode(&s, (cupi_format)f, &body, NULL), CUPI_OK);
            if (f == CUPI_FORMAT_XML && strchr(texts[i], '<'))
                assert_null(strstr(body, texts[i])); /* never written raw */
            cupi_snapshot back;
            char err[256];
            cupi_status st = cupi_decode(CUPI_RES_CLIENT, (cupi_format)f, body, strlen(body),
                                         &back, err, sizeof err);
            if (st != CUPI_OK)
                fail_msg("%s: %s\n%s", cupi_format_name((cupi_format)f), err, body);
            assert_int_equal(back.present, BIT(5) | BIT(6));
            assert_string_equal(back.v[4].s, texts[i]);
            assert_string_equal(back.v[5].s, texts[i]);
            free(body);
        }
    }
    /* The longest string survives both encodings. */
    char longest[CUPI_STR_MAX + 1];
    memset(longest, '&', CUPI_STR_MAX);
    longest[CUPI_STR_MAX] = '\0';
    cupi_snapshot s;
    cupi_snapshot_init(&s, CUPI_RES_CLIENT);
    set_str(&s, 6, longest);
    round_trip(&s, CUPI_FORMAT_XML);
    round_trip(&s, CUPI_FORMAT_JSON);
}

/* --- ErrorDetails -------------------------------------------------------- */

static bool errmsg(const char *body, char *msg, size_t msgsz)
{
    return cupi_error_message(body, strlen(body), msg, msgsz);
}

static void test_error_details(void **state)
{
    (void)state;
    char msg[256];
    assert_true(errmsg("<ErrorDetails><errors><code>INVALID_PARAMETER</code>"
                       "<message>Port must be 25 or 587</message></errors></ErrorDetails>",
                       msg, sizeof msg));
    assert_string_equal(msg, "Port must be 25 or 587");
    assert_true(errmsg("{\"errors\":{\"code\":\"INVALID_PARAMETER\",\"message\":\"Bad port\"}}",
                       msg, sizeof msg));
    assert_string_equal(msg, "Bad port");
    /* Tolerant shapes: declaration, whitespace, case, an array of errors. */
    assert_true(errmsg("<?xml version=\"1.0\"?>\n<ErrorDetails>\n <errors>\n  "
                       "<Code>X</Code>\n  <Message>\n  two\n  lines  </Message>\n </errors>\n"
                       "</ErrorDetails>\n",
                       msg, sizeof msg));
    assert_string_equal(msg, "two lines");
    assert_true(
        errmsg("  {\"errors\":[{\"code\":\"A\",\"message\":\"first\"}]}", msg, sizeof msg));
    assert_string_equal(msg, "first");
    /* Only a code: the code is better than nothing. */
    assert_true(errmsg("<ErrorDetails><errors><code>NOT_FOUND</code></errors></ErrorDetails>",
                       msg, sizeof msg));
    assert_string_equal(msg, "NOT_FOUND");
    assert_true(errmsg("{\"errors\":{\"code\":\"BUSY\"}}", msg, sizeof msg));
    assert_string_equal(msg, "BUSY");
}

static void test_error_plain_and_garbage(void **state)
{
    (void)state;
    char msg[256];
    assert_true(errmsg("Not Authorized", msg, sizeof msg));
    assert_string_equal(msg, "Not Authorized");
    assert_true(errmsg("\r\n  Not Authorized\r\n", msg, sizeof msg));
    assert_string_equal(msg, "Not Authorized");
    /* Nothing usable: false and an empty message. */
    static const char *const garbage[] = {
        "",
        "   \n\t ",
        "\x01\x02\x03\x7f",
        "<ErrorDetails><errors><code>X</code>", /* truncated */
        "<html><body>oops</body></html>",       /* no message */
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><message>&e;</message>",
        "<",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        strcpy(msg, "sentinel");
        if (errmsg(garbage[i], msg, sizeof msg))
            fail_msg("garbage %zu gave a message: %s", i, msg);
        assert_string_equal(msg, "");
    }
    /* NULL body, zero-size buffer. */
    strcpy(msg, "sentinel");
    assert_false(cupi_error_message(NULL, 5, msg, sizeof msg));
    assert_string_equal(msg, "");
    assert_false(cupi_error_message("x", 1, msg, 0));
    /* Control characters never reach the message. */
    assert_true(errmsg("bad\x1b[31m value\x07", msg, sizeof msg));
    for (const char *p = msg; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    /* A long text is cut to the buffer. */
    char small[8];
    assert_true(errmsg("Not Authorized", small, sizeof small));
    assert_string_equal(small, "Not ..."); /* the cut is shown */
    assert_true(errmsg("{\"errors\":{\"message\":\"a long message\"}}", small, sizeof small));
    assert_string_equal(small, "a lo...");
}

static void test_error_body_round_trip(void **state)
{
    (void)state;
    static const char *const messages[] = {
        "Port must be 25 or 587",
        "value <x> & \"y\" is 'wrong'",
        "back\\slash",
    };
    for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++) {
        for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
            char *body = cupi_error_body((cupi_format)f, "INVALID_PARAMETER", messages[i]);
            assert_non_null(body);
            assert_non_null(strstr(body, "INVALID_PARAMETER"));
            char msg[256];
            assert_true(cupi_error_message(body, strlen(body), msg, sizeof msg));
            assert_string_equal(msg, messages[i]);
            free(body);
        }
        char *body = cupi_error_body((cupi_format)f, NULL, NULL);
        assert_non_null(body);
        free(body);
    }
    /* The shapes of cupi-api-facts.md. */
    char *xml = cupi_error_body(CUPI_FORMAT_XML, "C", "M");
    char flat[256];
    squeeze(xml, flat, sizeof flat);
    assert_string_equal(flat,
                        "<ErrorDetails><errors><code>C</code><message>M</message></errors>"
                        "</ErrorDetails>");
    free(xml);
    char *json = cupi_error_body(CUPI_FORMAT_JSON, "C", "M");
    squeeze(json, flat, sizeof flat);
    assert_string_equal(flat, "{\"errors\":{\"code\":\"C\",\"message\":\"M\"}}");
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_server_bodies),
        cmocka_unit_test(test_seed_client_bodies),
        cmocka_unit_test(test_seed_wrong_resource),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_encode_xml_shape),
        cmocka_unit_test(test_encode_json_strings),
        cmocka_unit_test(test_encode_partial),
        cmocka_unit_test(test_decode_case_insensitive),
        cmocka_unit_test(test_decode_native_json),
        cmocka_unit_test(test_decode_empty_forms),
        cmocka_unit_test(test_decode_unknown_ignored),
        cmocka_unit_test(test_decode_wrapped_json),
        cmocka_unit_test(test_decode_cdata_and_entities),
        cmocka_unit_test(test_escaping_round_trip),
        cmocka_unit_test(test_error_details),
        cmocka_unit_test(test_error_plain_and_garbage),
        cmocka_unit_test(test_error_body_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
