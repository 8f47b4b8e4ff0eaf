/* test_hostile.c - the decoders against hostile and broken bodies: XXE,
 * entity expansion, truncation, oversize, wrong types, deep nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cupi/cupi.h>

#include "test_support.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decodes body (len bytes) and requires status want; on failure the output
 * snapshot must be exactly as it was (pre-filled with a sentinel). */
static void expect_status(cupi_resource r, cupi_format f, const char *body, size_t len,
                          cupi_status want)
{
    cupi_snapshot out, sentinel;
    memset(&sentinel, 0xa5, sizeof sentinel);
    out = sentinel;
    char err[256] = "";
    cupi_status st = cupi_decode(r, f, body, len, &out, err, sizeof err);
    if (st != want)
        fail_msg("%s decode gave %s (%s), expected %s; body: %.200s", cupi_format_name(f),
                 cupi_status_name(st), err, cupi_status_name(want), body);
    if (st != CUPI_OK) {
        assert_memory_equal(&out, &sentinel, sizeof out);
        assert_true(err[0] != '\0');
        /* The reason is one printable line. */
        assert_null(strchr(err, '\n'));
    }
}

static void expect_parse_error(cupi_resource r, cupi_format f, const char *body)
{
    expect_status(r, f, body, strlen(body), CUPI_E_PARSE);
}

/* --- XXE and entities ---------------------------------------------------- */

/* A loopback listener that must never see a connection. */
static int listener(int port_wanted, int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_wanted)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port_out = ntohs(a.sin_port);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void assert_no_connection(int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c >= 0) {
        close(c);
        fail_msg("the XML parser connected to the network");
    }
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* UTF-16LE with a BOM: byte scans for "<!DOCTYPE" do not see it. */
static char *utf16le(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = malloc(2 * n + 2);
    assert_non_null(out);
    out[0] = (char)0xff;
    out[1] = (char)0xfe;
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = s[i];
        out[3 + 2 * i] = 0;
    }
    *len = 2 * n + 2;
    return out;
}

static void xxe_bodies(int port, void (*check)(const char *body, size_t len))
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
    const char *targets[] = {"file:///etc/passwd", url, "http://127.0.0.1:9/x"};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        char body[1024];
        /* external general entity */
        snprintf(body, sizeof body,
                 "<?xml version=\"1.0\"?>\n<!DOCTYPE SmtpServerConfiguration [\n"
                 "  <!ENTITY xxe SYSTEM \"%s\">\n]>\n"
                 "<SmtpServerConfiguration><domainName>&xxe;</domainName><Port>25</Port>"
                 "</SmtpServerConfiguration>\n",
                 targets[t]);
        check(body, strlen(body));
        /* external parameter entity */
        snprintf(body, sizeof body,
                 "<!DOCTYPE SmtpServerConfiguration [<!ENTITY %% ext SYSTEM \"%s\"> %%ext;]>"
                 "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>",
                 targets[t]);
        check(body, strlen(body));
        /* external DTD */
        snprintf(body, sizeof body,
                 "<!DOCTYPE SmtpServerConfiguration SYSTEM \"%s\">"
                 "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>",
                 targets[t]);
        check(body, strlen(body));
        /* entity in an attribute default value */
        snprintf(
            body, sizeof body,
            "<!doctype SmtpServerConfiguration [<!ENTITY xxe SYSTEM \"%s\">]>"
            "<SmtpServerConfiguration a=\"&xxe;\"><Port>25</Port></SmtpServerConfiguration>",
            targets[t]);
        check(body, strlen(body));
    }
}

static void check_refused_utf8(const char *body, size_t len)
{
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, body, len, CUPI_E_PARSE);
    /* The error extractor refuses it as well (no message from the file). */
    char msg[256];
    assert_false(cupi_error_message(body, len, msg, sizeof msg));
}

static void check_refused_utf16(const char *body, size_t len)
{
    (void)len;
    size_t n;
    char *wide = utf16le(body, &n);
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, wide, n, CUPI_E_PARSE);
    free(wide);
}

static void test_xxe_refused(void **state)
{
    (void)state;
    int port = 0;
    int fd = listener(0, &port);
    assert_true(fd >= 0);
    int port9 = 0;
    int fd9 = listener(9, &port9); /* needs privileges; checked when we have them */
    xxe_bodies(port, check_refused_utf8);
    xxe_bodies(port, check_refused_utf16);
    assert_no_connection(fd);
    if (fd9 >= 0) {
        assert_no_connection(fd9);
        close(fd9);
    }
    close(fd);
}

/* Nothing in a body that parses makes the parser fetch anything either. */
static void test_no_network_side_channels(void **state)
{
    (void)state;
    int port = 0;
    int fd = listener(0, &port);
    assert_true(fd >= 0);
    char body[1024];
    snprintf(body, sizeof body,
             "<?xml-stylesheet type=\"text/xsl\" href=\"http://127.0.0.1:%d/s.xsl\"?>"
             "<SmtpServerConfiguration xmlns:xi=\"http://www.w3.org/2001/XInclude\" "
             "xmlns=\"http://127.0.0.1:%d/ns\">"
             "<xi:include href=\"http://127.0.0.1:%d/inc\"/><Port>25</Port>"
             "</SmtpServerConfiguration>",
             port, port, port);
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, body, strlen(body), CUPI_OK);
    /* An XInclude inside a field is not a value. */
    snprintf(body, sizeof body,
             "<SmtpServerConfiguration xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
             "<domainName><xi:include href=\"http://127.0.0.1:%d/inc\" parse=\"text\"/>"
             "</domainName></SmtpServerConfiguration>",
             port);
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, body);
    assert_no_connection(fd);
    close(fd);
}

static void test_billion_laughs(void **state)
{
    (void)state;
    static const char lol[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<SmtpClientConfiguration><smtpUsername>&lol9;</smtpUsername>"
        "<smtpPassword>&lol9;&lol9;&lol9;</smtpPassword></SmtpClientConfiguration>\n";
    double t0 = now_s();
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_XML, lol, strlen(lol), CUPI_E_PARSE);
    size_t n;
    char *wide = utf16le(lol, &n);
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_XML, wide, n, CUPI_E_PARSE);
    free(wide);
    char msg[256];
    assert_false(cupi_error_message(lol, strlen(lol), msg, sizeof msg));
    double elapsed = now_s() - t0;
    if (elapsed > 1.0)
        fail_msg("billion laughs took %.2f s", elapsed);
    /* A quadratic blow-up: one large entity referenced many times. */
    size_t cap = 200000;
    char *quad = malloc(cap);
    assert_non_null(quad);
    size_t w = (size_t)snprintf(quad, cap, "<!DOCTYPE x [<!ENTITY a \"");
    for (int i = 0; i < 20000; i++)
        quad[w++] = 'a';
    w += (size_t)snprintf(quad + w, cap - w, "\">]><SmtpClientConfiguration><smtpUsername>");
    for (int i = 0; i < 10000; i++)
        w += (size_t)snprintf(quad + w, cap - w, "&a;");
    w += (size_t)snprintf(quad + w, cap - w, "</smtpUsername></SmtpClientConfiguration>");
    t0 = now_s();
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_XML, quad, w, CUPI_E_PARSE);
    assert_true(now_s() - t0 < 1.0);
    free(quad);
}

/* An undeclared entity (no DTD) is a well-formedness error, not text. */
static void test_undeclared_entity(void **state)
{
    (void)state;
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<SmtpServerConfiguration><domainName>&xxe;</domainName>"
                       "</SmtpServerConfiguration>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<SmtpServerConfiguration><Port>&#0;</Port></SmtpServerConfiguration>");
}

/* --- truncation ---------------------------------------------------------- */

static void every_prefix(const char *file, cupi_resource r, cupi_format f)
{
    size_t len;
    char *body = load(file, &len);
    size_t parsed = 0;
    for (size_t n = 0; n < len; n++) {
        /* An exact-size copy without terminator: ASan catches over-reads. */
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, body, n);
        cupi_snapshot out, sentinel;
        memset(&sentinel, 0xa5, sizeof sentinel);
        out = sentinel;
        char err[256];
        cupi_status st = cupi_decode(r, f, copy, n, &out, err, sizeof err);
        if (st == CUPI_OK) {
            parsed++;
            assert_int_equal(out.resource, r);
            assert_true(out.present != 0);
        } else {
            if (st != CUPI_E_PARSE)
                fail_msg("%s prefix %zu: %s", file, n, cupi_status_name(st));
            assert_memory_equal(&out, &sentinel, sizeof out);
        }
        free(copy);
    }
    /* A document cut anywhere is not complete, except after its last
     * markup (only trailing blanks missing). */
    assert_true(parsed <= 2);
    free(body);
}

static void test_truncated_bodies(void **state)
{
    (void)state;
    every_prefix("seed_server.xml", CUPI_RES_SERVER, CUPI_FORMAT_XML);
    every_prefix("seed_server.json", CUPI_RES_SERVER, CUPI_FORMAT_JSON);
    every_prefix("seed_server_put.xml", CUPI_RES_SERVER, CUPI_FORMAT_XML);
    every_prefix("seed_server_put.json", CUPI_RES_SERVER, CUPI_FORMAT_JSON);
    every_prefix("seed_client.xml", CUPI_RES_CLIENT, CUPI_FORMAT_XML);
    every_prefix("seed_client.json", CUPI_RES_CLIENT, CUPI_FORMAT_JSON);
    every_prefix("seed_client_put.xml", CUPI_RES_CLIENT, CUPI_FORMAT_XML);
    every_prefix("seed_client_put.json", CUPI_RES_CLIENT, CUPI_FORMAT_JSON);
}

static void test_truncated_error_bodies(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "<ErrorDetails><errors><code>INVALID_PARAMETER</code><message>Bad</message></errors>"
        "</ErrorDetails>",
        "{\"errors\":{\"code\":\"INVALID_PARAMETER\",\"message\":\"Bad\"}}",
    };
    for (size_t b = 0; b < 2; b++) {
        size_t len = strlen(bodies[b]);
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            assert_non_null(copy);
            memcpy(copy, bodies[b], n);
            char msg[64];
            bool found = cupi_error_message(copy, n, msg, sizeof msg);
            assert_true(strlen(msg) < sizeof msg);
            if (!found)
                assert_string_equal(msg, "");
            free(copy);
        }
    }
}

/* --- malformed documents ------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    static const char *const xml[] = {
        "",
        " ",
        "<",
        "<SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>25</Port>",
        "<SmtpServerConfiguration><Port>25</port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>25</SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration><x/>",
        "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>trailing",
        "<SmtpServerConfiguration><Port a=1>25</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>2<5</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>25 & 26</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration>\xff\xfe<Port>25</Port></SmtpServerConfiguration>",
        "<?xml version=\"1.0\"?>",
        "{\"Port\": \"25\"}",
        "Port=25",
        "<SmtpServerConfiguration><Port>25</Port><!-- unterminated comment",
        "<SmtpServerConfiguration><![CDATA[x</SmtpServerConfiguration>",
    };
    for (size_t i = 0; i < sizeof xml / sizeof xml[0]; i++)
        expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, xml[i]);
    /* A NUL inside the document. */
    static const char nul_xml[] =
        "<SmtpServerConfiguration><Port>25\0</Port></SmtpServerConfiguration>";
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, nul_xml, sizeof nul_xml - 1, CUPI_E_PARSE);

    static const char *const json[] = {
        "",
        " ",
        "{",
        "}",
        "{\"Port\": \"25\"",
        "{\"Port\": \"25\",}",
        "{\"Port\" \"25\"}",
        "{\"Port\": 25 26}",
        "{Port: \"25\"}",
        "{'Port': '25'}",
        "{\"Port\": \"25}",
        "{\"Port\": \"25\"}}",
        "{\"Port\": NaN}",
        "<SmtpServerConfiguration><Port>25</Port></SmtpServerConfiguration>",
        "[{\"Port\": \"25\"}]",
        "\"Port\"",
        "25",
        "null",
        "true",
        "[]",
    };
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++)
        expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, json[i]);
    /* A NULL body, with or without a length. */
    cupi_snapshot out;
    char err[64];
    assert_int_equal(
        cupi_decode(CUPI_RES_SERVER, CUPI_FORMAT_XML, NULL, 10, &out, err, sizeof err),
        CUPI_E_PARSE);
    assert_int_equal(
        cupi_decode(CUPI_RES_SERVER, CUPI_FORMAT_JSON, NULL, 0, &out, err, sizeof err),
        CUPI_E_PARSE);
    /* An invalid resource. */
    assert_int_equal(cupi_decode(CUPI_RES_COUNT, CUPI_FORMAT_JSON, "{\"Port\":\"25\"}", 13,
                                 &out, err, sizeof err),
                     CUPI_E_PARSE);
}

/* --- size limit ---------------------------------------------------------- */

/* A valid body padded with blanks to exactly n bytes. */
static char *padded(cupi_format f, size_t n)
{
    const char *head =
        f == CUPI_FORMAT_XML ? "<SmtpServerConfiguration><Port>25</Port>" : "{\"Port\": \"25\"";
    const char *tail = f == CUPI_FORMAT_XML ? "</SmtpServerConfiguration>" : "}";
    size_t h = strlen(head), t = strlen(tail);
    assert_true(n > h + t);
    char *body = malloc(n);
    assert_non_null(body);
    memcpy(body, head, h);
    memset(body + h, ' ', n - h - t);
    memcpy(body + n - t, tail, t);
    return body;
}

static void test_size_limit(void **state)
{
    (void)state;
    for (int f = CUPI_FORMAT_XML; f <= CUPI_FORMAT_JSON; f++) {
        size_t sizes[] = {CUPI_MAX_BODY, CUPI_MAX_BODY + 1, 2 * CUPI_MAX_BODY};
        cupi_status want[] = {CUPI_OK, CUPI_E_TOO_LARGE, CUPI_E_TOO_LARGE};
        for (size_t i = 0; i < 3; i++) {
            char *body = padded((cupi_format)f, sizes[i]);
            expect_status(CUPI_RES_SERVER, (cupi_format)f, body, sizes[i], want[i]);
            free(body);
        }
    }
    assert_int_equal(CUPI_MAX_BODY, 1024 * 1024);
    /* The limit is checked before anything is parsed: 2 MiB of garbage is
     * too large, not malformed. */
    char *junk = malloc(2 * CUPI_MAX_BODY);
    assert_non_null(junk);
    memset(junk, '<', 2 * CUPI_MAX_BODY);
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_XML, junk, 2 * CUPI_MAX_BODY, CUPI_E_TOO_LARGE);
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, junk, 2 * CUPI_MAX_BODY, CUPI_E_TOO_LARGE);
    char msg[64];
    assert_false(cupi_error_message(junk, 2 * CUPI_MAX_BODY, msg, sizeof msg));
    free(junk);
}

/* --- wrong types and shapes ---------------------------------------------- */

static void test_wrong_types(void **state)
{
    (void)state;
    static const char *const server_xml[] = {
        "<SmtpServerConfiguration><Port>abc</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>25.0</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port><value>25</value></Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port>2<b/>5</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><Port><?pi x?>25</Port></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><allowConnectionsFromUntrustedIpAddresses>maybe"
        "</allowConnectionsFromUntrustedIpAddresses></SmtpServerConfiguration>",
        "<SmtpServerConfiguration><maxNumberRecipients>99999999999999999999"
        "</maxNumberRecipients></SmtpServerConfiguration>",
        /* a good field does not save a bad one */
        "<SmtpServerConfiguration><Port>25</Port><maxNumberConnections>x"
        "</maxNumberConnections></SmtpServerConfiguration>",
    };
    for (size_t i = 0; i < sizeof server_xml / sizeof server_xml[0]; i++)
        expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, server_xml[i]);
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
                       "<SmtpClientConfiguration><isClientSecure>maybe</isClientSecure>"
                       "</SmtpClientConfiguration>");
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
                       "<SmtpClientConfiguration><smtpUsername><b>x</b></smtpUsername>"
                       "</SmtpClientConfiguration>");

    static const char *const server_json[] = {
        "{\"Port\": \"abc\"}",
        "{\"Port\": {\"value\": 25}}",
        "{\"Port\": [25]}",
        "{\"Port\": 1.5}",
        "{\"Port\": 1e300}",
        "{\"Port\": -1e300}",
        "{\"Port\": 25.5, \"domainName\": \"a.b\"}",
        "{\"maxNumberRecipients\": \"99999999999999999999\"}",
        "{\"maxNumberRecipients\": 99999999999999999999}",
        "{\"allowConnectionsFromUntrustedIpAddresses\": \"maybe\"}",
        "{\"allowConnectionsFromUntrustedIpAddresses\": 2}",
        "{\"domainName\": 5, \"Port\": {}}",
        "{\"domainName\": {\"a\": \"b\"}}",
    };
    for (size_t i = 0; i < sizeof server_json / sizeof server_json[0]; i++)
        expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, server_json[i]);
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"isClientSecure\": \"maybe\"}");
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{\"isClientSecure\": 0.5}");

    /* Too long a string is refused by the decoder too. */
    char body[600];
    char big[300];
    memset(big, 'a', 256);
    big[256] = '\0';
    snprintf(body, sizeof body, "{\"smtpUsername\": \"%s\"}", big);
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, body);
    snprintf(
        body, sizeof body,
        "<SmtpClientConfiguration><smtpUsername>%s</smtpUsername></SmtpClientConfiguration>",
        big);
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_XML, body);
    big[255] = '\0';
    snprintf(body, sizeof body, "{\"smtpUsername\": \"%s\"}", big);
    expect_status(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, body, strlen(body), CUPI_OK);
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<SmtpServerConfiguration><Port>25</Port><Port>25</Port>"
                       "</SmtpServerConfiguration>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<SmtpServerConfiguration><Port>25</Port><PORT>587</PORT>"
                       "</SmtpServerConfiguration>");
    expect_parse_error(
        CUPI_RES_SERVER, CUPI_FORMAT_XML,
        "<SmtpServerConfiguration><smtpClientThreads>2</smtpClientThreads>"
        "<SmtplibClientThreads>3</SmtplibClientThreads></SmtpServerConfiguration>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON,
                       "{\"Port\": \"25\", \"Port\": \"587\"}");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"Port\": \"25\", \"port\": 25}");
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_JSON,
                       "{\"smtpSmartHost\": \"a\", \"SMTPSMARTHOST\": \"a\"}");
    /* Unknown fields may repeat: they are ignored. */
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"x\": 1, \"x\": 2, \"Port\": \"25\"}",
                  strlen("{\"x\": 1, \"x\": 2, \"Port\": \"25\"}"), CUPI_OK);
}

static void test_wrong_root(void **state)
{
    (void)state;
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, "<Foo><Port>25</Port></Foo>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<SmtpClientConfiguration><Port>25</Port></SmtpClientConfiguration>");
    expect_parse_error(
        CUPI_RES_CLIENT, CUPI_FORMAT_XML,
        "<SmtpServerConfiguration><smtpPort>25</smtpPort></SmtpServerConfiguration>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<ErrorDetails><errors><code>X</code></errors></ErrorDetails>");
    /* Fields one level down are not fields of the resource. */
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML,
                       "<Wrapper><SmtpServerConfiguration><Port>25</Port>"
                       "</SmtpServerConfiguration></Wrapper>");
    expect_parse_error(
        CUPI_RES_SERVER, CUPI_FORMAT_XML,
        "<SmtpServerConfiguration><x><Port>25</Port></x></SmtpServerConfiguration>");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"x\": {\"Port\": \"25\"}}");
}

static void test_empty_documents(void **state)
{
    (void)state;
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{}");
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_JSON, "{ }");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, "{\"SmtpServerConfiguration\": {}}");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, "<SmtpServerConfiguration/>");
    expect_parse_error(CUPI_RES_CLIENT, CUPI_FORMAT_XML,
                       "<SmtpClientConfiguration>\n</SmtpClientConfiguration>");
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"Port\": \"25\"} x",
        "{\"Port\": \"25\"}{}",
        "{\"Port\": \"25\"}\n{\"Port\": \"587\"}",
        "{\"Port\": \"25\"},",
        "{\"Port\": \"25\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, bad[i]);
    /* Blanks after the document are fine. */
    const char *ok = "  {\"Port\": \"25\"}\r\n\t \n";
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_JSON, ok, strlen(ok), CUPI_OK);
    /* garbage hidden after a NUL still counts */
    static const char nul[] = "{\"Port\": \"25\"}\0garbage";
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_JSON, nul, sizeof nul - 1, CUPI_E_PARSE);
}

static char *nested_json(size_t depth, bool inside_field)
{
    size_t cap = 2 * depth + 64;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t w =
        (size_t)snprintf(s, cap, inside_field ? "{\"Port\": " : "{\"Port\": \"25\", \"x\": ");
    memset(s + w, '[', depth);
    w += depth;
    memset(s + w, ']', depth);
    w += depth;
    s[w++] = '}';
    s[w] = '\0';
    return s;
}

static char *nested_xml(size_t depth, const char *field)
{
    size_t cap = 8 * depth + 256;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t w = (size_t)snprintf(s, cap, "<SmtpServerConfiguration><Port>25</Port><%s>", field);
    for (size_t i = 0; i < depth; i++)
        w += (size_t)snprintf(s + w, cap - w, "<a>");
    for (size_t i = 0; i < depth; i++)
        w += (size_t)snprintf(s + w, cap - w, "</a>");
    w += (size_t)snprintf(s + w, cap - w, "</%s></SmtpServerConfiguration>", field);
    return s;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    double t0 = now_s();
    /* Far deeper than any parser should follow: refused, not a crash. */
    char *s = nested_json(200000, false);
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, s);
    free(s);
    s = nested_json(200000, true);
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, s);
    free(s);
    s = nested_xml(100000, "unknownField");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, s);
    free(s);
    /* Moderate nesting: inside an unknown field it is ignored, inside a
     * known one it is not a value. */
    s = nested_json(100, false);
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_JSON, s, strlen(s), CUPI_OK);
    free(s);
    s = nested_json(100, true);
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_JSON, s);
    free(s);
    s = nested_xml(100, "unknownField");
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, s, strlen(s), CUPI_OK);
    free(s);
    s = nested_xml(100, "domainName");
    expect_parse_error(CUPI_RES_SERVER, CUPI_FORMAT_XML, s);
    free(s);
    /* Deep error bodies too. */
    s = nested_json(200000, false);
    char msg[64];
    cupi_error_message(s, strlen(s), msg, sizeof msg); /* must not crash */
    assert_true(strlen(msg) < sizeof msg);
    free(s);
    if (now_s() - t0 > 5.0)
        fail_msg("deep nesting took %.2f s", now_s() - t0);
}

/* Many fields and attributes within the limit are handled in reasonable time. */
static void test_many_unknown_fields(void **state)
{
    (void)state;
    size_t cap = CUPI_MAX_BODY;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t w = (size_t)snprintf(s, cap, "<SmtpServerConfiguration>");
    while (w + 200 < cap)
        w += (size_t)snprintf(s + w, cap - w, "<u%zu>v</u%zu>", w, w);
    w += (size_t)snprintf(s + w, cap - w, "<Port>587</Port></SmtpServerConfiguration>");
    double t0 = now_s();
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_XML, s, w, CUPI_OK);
    w = (size_t)snprintf(s, cap, "{");
    while (w + 200 < cap)
        w += (size_t)snprintf(s + w, cap - w, "\"u%zu\": \"v\", ", w);
    w += (size_t)snprintf(s + w, cap - w, "\"Port\": \"587\"}");
    expect_status(CUPI_RES_SERVER, CUPI_FORMAT_JSON, s, w, CUPI_OK);
    assert_true(now_s() - t0 < 10.0);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xxe_refused),
        cmocka_unit_test(test_no_network_side_channels),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_undeclared_entity),
        cmocka_unit_test(test_truncated_bodies),
        cmocka_unit_test(test_truncated_error_bodies),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_many_unknown_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
