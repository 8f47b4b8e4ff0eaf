/* test_values.c - parsing, checking and formatting of one field value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cupi/cupi.h>

static const cupi_field *field(cupi_resource r, const char *name)
{
    const cupi_field *f = cupi_field_find(r, name);
    if (!f)
        fail_msg("no field %s", name);
    return f;
}

#define SRV(name) field(CUPI_RES_SERVER, name)
#define CLI(name) field(CUPI_RES_CLIENT, name)

/* Parses text and, when that works, checks the value: the verdict an SNMP
 * SET or cupictl would get. */
static cupi_verdict judge(const cupi_field *f, const char *text)
{
    cupi_value v;
    cupi_verdict verdict = cupi_value_parse(f, text, strlen(text), &v);
    if (verdict != CUPI_VALID)
        return verdict;
    return cupi_value_check(f, &v, NULL, 0);
}

static cupi_verdict judge_int(const cupi_field *f, int64_t i)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, i);
    return judge(f, text);
}

static cupi_verdict check_int(const cupi_field *f, int64_t i)
{
    cupi_value v = {0};
    v.i = i;
    return cupi_value_check(f, &v, NULL, 0);
}

static cupi_verdict check_str(const cupi_field *f, const char *s)
{
    cupi_value v = {0};
    assert_true(strlen(s) < sizeof v.s);
    strcpy(v.s, s);
    return cupi_value_check(f, &v, NULL, 0);
}

/* --- integer ranges ------------------------------------------------------ */

static void expect_range(const cupi_field *f, int64_t min, int64_t max)
{
    assert_true(f->min == min);
    assert_true(f->max == max);
    assert_int_equal(judge_int(f, min - 1), CUPI_WRONG_VALUE);
    assert_int_equal(judge_int(f, min), CUPI_VALID);
    assert_int_equal(judge_int(f, max), CUPI_VALID);
    assert_int_equal(judge_int(f, max + 1), CUPI_WRONG_VALUE);
    assert_int_equal(check_int(f, min - 1), CUPI_WRONG_VALUE);
    assert_int_equal(check_int(f, min), CUPI_VALID);
    assert_int_equal(check_int(f, max), CUPI_VALID);
    assert_int_equal(check_int(f, max + 1), CUPI_WRONG_VALUE);
}

static void test_int_boundaries_named(void **state)
{
    (void)state;
    expect_range(SRV("maxNumberConnections"), 0, 50);
    expect_range(SRV("smtpClientThreads"), 0, 10);
    expect_range(SRV("maxMessageSizeKb"), 0, 50000);
    expect_range(SRV("maxNumberMessagesSession"), 0, 100);
    expect_range(SRV("maxNumberRecipients"), 0, 50000);
    expect_range(SRV("retryDeliveryTimeoutMin"), 0, INT32_MAX);
    /* Far outside, both sides. */
    assert_int_equal(judge(SRV("retryDeliveryTimeoutMin"), "-2147483648"), CUPI_WRONG_VALUE);
    assert_int_equal(judge(SRV("retryDeliveryTimeoutMin"), "9223372036854775807"),
                     CUPI_WRONG_VALUE);
    assert_int_equal(judge(SRV("maxNumberConnections"), "-9223372036854775808"),
                     CUPI_WRONG_VALUE);
}

/* Walks the table: every INT field with a range (no enum) gets its four
 * boundaries checked, so a field added later is covered without a test
 * change. Enum fields get each allowed value and the neighbours. */
static void test_int_boundaries_generic(void **state)
{
    (void)state;
    int ranged = 0, enumerated = 0;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            if (f[i].type != CUPI_TYPE_INT)
                continue;
            if (f[i].enums) {
                enumerated++;
                for (size_t e = 0; e < f[i].n_enums; e++) {
                    int64_t ok = f[i].enums[e];
                    assert_int_equal(judge_int(&f[i], ok), CUPI_VALID);
                    for (int64_t d = -1; d <= 1; d += 2) {
                        bool is_enum = false;
                        for (size_t k = 0; k < f[i].n_enums; k++)
                            is_enum |= f[i].enums[k] == ok + d;
                        if (!is_enum)
                            assert_int_equal(judge_int(&f[i], ok + d), CUPI_WRONG_VALUE);
                    }
                }
                continue;
            }
            ranged++;
            assert_true(f[i].min <= f[i].max);
            char why[256];
            cupi_value v = {0};
            v.i = f[i].min - 1;
            assert_int_equal(judge_int(&f[i], f[i].min - 1), CUPI_WRONG_VALUE);
            assert_int_equal(cupi_value_check(&f[i], &v, why, sizeof why), CUPI_WRONG_VALUE);
            assert_non_null(strstr(why, f[i].name)); /* the message names the field */
            assert_int_equal(judge_int(&f[i], f[i].min), CUPI_VALID);
            assert_int_equal(judge_int(&f[i], f[i].max), CUPI_VALID);
            v.i = f[i].max + 1;
            assert_int_equal(judge_int(&f[i], f[i].max + 1), CUPI_WRONG_VALUE);
            assert_int_equal(cupi_value_check(&f[i], &v, why, sizeof why), CUPI_WRONG_VALUE);
            assert_non_null(strstr(why, f[i].name));
            v.i = f[i].min;
            assert_int_equal(cupi_value_check(&f[i], &v, why, sizeof why), CUPI_VALID);
            assert_string_equal(why, ""); /* cleared when valid */
        }
    }
    assert_int_equal(ranged, 6);
    assert_int_equal(enumerated, 3);
}

static void test_port_enums(void **state)
{
    (void)state;
    const cupi_field *ports[] = {SRV("Port"), CLI("smtpPort")};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(judge(ports[i], "25"), CUPI_VALID);
        assert_int_equal(judge(ports[i], "587"), CUPI_VALID);
        assert_int_equal(judge(ports[i], "26"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "0"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "24"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "586"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "588"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "465"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "-25"), CUPI_WRONG_VALUE);
        assert_int_equal(judge(ports[i], "smtp"), CUPI_WRONG_TYPE);
        char why[256];
        cupi_value v = {.i = 26};
        assert_int_equal(cupi_value_check(ports[i], &v, why, sizeof why), CUPI_WRONG_VALUE);
        assert_non_null(strstr(why, "25"));
        assert_non_null(strstr(why, "587"));
    }
}

static void test_require_tls(void **state)
{
    (void)state;
    const cupi_field *f = SRV("requireTlsFromUntrustedIpAddresses");
    assert_int_equal(judge(f, "0"), CUPI_VALID);
    assert_int_equal(judge(f, "1"), CUPI_VALID);
    assert_int_equal(judge(f, "2"), CUPI_VALID);
    assert_int_equal(judge(f, "3"), CUPI_WRONG_VALUE);
    assert_int_equal(judge(f, "-1"), CUPI_WRONG_VALUE);
    assert_int_equal(judge(f, "true"), CUPI_WRONG_TYPE);
}

/* --- booleans ------------------------------------------------------------ */

static void test_booleans(void **state)
{
    (void)state;
    static const char *const bools[] = {"allowConnectionsFromUntrustedIpAddresses",
                                        "requireAuthenticationFromUntrustedIpAddresses"};
    const cupi_field *fs[] = {SRV(bools[0]), SRV(bools[1]), CLI("isClientSecure"),
                              CLI("isAuthEnabled")};
    static const struct {
        const char *text;
        cupi_verdict verdict;
        int64_t value;
    } cases[] = {
        {"true", CUPI_VALID, 1},    {"false", CUPI_VALID, 0},    {"1", CUPI_VALID, 1},
        {"0", CUPI_VALID, 0},       {"TRUE", CUPI_VALID, 1},     {"False", CUPI_VALID, 0},
        {" true\n", CUPI_VALID, 1}, {"yes", CUPI_WRONG_TYPE, 0}, {"no", CUPI_WRONG_TYPE, 0},
        {"2", CUPI_WRONG_TYPE, 0},  {"", CUPI_WRONG_TYPE, 0},    {"truee", CUPI_WRONG_TYPE, 0},
        {"t", CUPI_WRONG_TYPE, 0},  {"-1", CUPI_WRONG_TYPE, 0},  {"on", CUPI_WRONG_TYPE, 0},
    };
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        assert_int_equal(fs[i]->type, CUPI_TYPE_BOOL);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            cupi_value v;
            memset(&v, 0x5a, sizeof v);
            cupi_verdict got =
                cupi_value_parse(fs[i], cases[c].text, strlen(cases[c].text), &v);
            if (got != cases[c].verdict)
                fail_msg("%s: \"%s\" gave %s", fs[i]->name, cases[c].text,
                         cupi_verdict_name(got));
            if (got == CUPI_VALID) {
                assert_true(v.i == cases[c].value);
                assert_int_equal(cupi_value_check(fs[i], &v, NULL, 0), CUPI_VALID);
            } else {
                assert_true(v.i == (int64_t)0x5a5a5a5a5a5a5a5aLL); /* untouched */
            }
        }
        cupi_value bad = {.i = 2};
        assert_int_equal(cupi_value_check(fs[i], &bad, NULL, 0), CUPI_WRONG_VALUE);
        bad.i = -1;
        assert_int_equal(cupi_value_check(fs[i], &bad, NULL, 0), CUPI_WRONG_VALUE);
    }
}

/* --- integer parsing ----------------------------------------------------- */

static void test_int_parse_errors(void **state)
{
    (void)state;
    const cupi_field *f = SRV("maxNumberConnections");
    static const char *const bad[] = {
        "",
        "abc",
        "12abc",
        "99999999999999999999",
        "-99999999999999999999",
        "1.5",
        "1e3",
        "0x10",
        "-",
        "+",
        " ",
        "12 3",
        "--1",
        "true",
        "1,000",
        "123456789012345678901234567890123", /* longer than any int64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cupi_value v;
        memset(&v, 0x5a, sizeof v);
        cupi_verdict got = cupi_value_parse(f, bad[i], strlen(bad[i]), &v);
        if (got != CUPI_WRONG_TYPE)
            fail_msg("\"%s\" gave %s", bad[i], cupi_verdict_name(got));
        assert_true(v.i == (int64_t)0x5a5a5a5a5a5a5a5aLL);
    }
    cupi_value v;
    assert_int_equal(cupi_value_parse(f, " 20 ", 4, &v), CUPI_VALID);
    assert_true(v.i == 20);
    assert_int_equal(cupi_value_parse(f, "007", 3, &v), CUPI_VALID);
    assert_true(v.i == 7);
    assert_int_equal(cupi_value_parse(f, "-5", 2, &v), CUPI_VALID);
    assert_true(v.i == -5);
    assert_int_equal(cupi_value_check(f, &v, NULL, 0), CUPI_WRONG_VALUE);
    /* Only len bytes are read: the text need not be NUL-terminated. */
    assert_int_equal(cupi_value_parse(f, "20xyz", 2, &v), CUPI_VALID);
    assert_true(v.i == 20);
    assert_int_equal(cupi_value_parse(SRV("Port"), "587abc", 3, &v), CUPI_VALID);
    assert_true(v.i == 587);
    /* Largest and smallest int64 parse; the range check refuses them. */
    assert_int_equal(cupi_value_parse(f, "9223372036854775807", 19, &v), CUPI_VALID);
    assert_true(v.i == INT64_MAX);
    assert_int_equal(cupi_value_parse(f, "9223372036854775808", 19, &v), CUPI_WRONG_TYPE);
}

/* --- strings ------------------------------------------------------------- */

static void test_string_lengths(void **state)
{
    (void)state;
    char text[300];
    memset(text, 'a', sizeof text);
    const cupi_field *fs[] = {CLI("smtpUsername"), CLI("smtpPassword"), SRV("domainName"),
                              CLI("smtpSmartHost")};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        cupi_value v;
        assert_int_equal(cupi_value_parse(fs[i], text, 255, &v), CUPI_VALID);
        assert_int_equal(strlen(v.s), 255);
        memset(&v, 0x5a, sizeof v);
        assert_int_equal(cupi_value_parse(fs[i], text, 256, &v), CUPI_WRONG_LENGTH);
        assert_int_equal((unsigned char)v.s[0], 0x5a); /* untouched */
        assert_int_equal(cupi_value_parse(fs[i], text, sizeof text, &v), CUPI_WRONG_LENGTH);
    }
    /* 255 plain characters are a valid user name and password. */
    cupi_value v;
    assert_int_equal(cupi_value_parse(CLI("smtpUsername"), text, 255, &v), CUPI_VALID);
    assert_int_equal(cupi_value_check(CLI("smtpUsername"), &v, NULL, 0), CUPI_VALID);
    assert_int_equal(cupi_value_check(CLI("smtpPassword"), &v, NULL, 0), CUPI_VALID);

    /* cupi_value_check applies the field's max_len: a value one byte longer
     * than allowed is WRONG_LENGTH. A 256-byte value cannot be held by a
     * cupi_value, so use a descriptor with a shorter limit. */
    cupi_field shorter = *CLI("smtpUsername");
    shorter.max_len = 10;
    char why[256];
    memset(&v, 0, sizeof v);
    memcpy(v.s, text, 10);
    assert_int_equal(cupi_value_check(&shorter, &v, why, sizeof why), CUPI_VALID);
    v.s[10] = 'a';
    assert_int_equal(cupi_value_check(&shorter, &v, why, sizeof why), CUPI_WRONG_LENGTH);
    assert_non_null(strstr(why, "smtpUsername"));
    /* Length is judged before syntax. */
    cupi_field host = *SRV("domainName");
    host.max_len = 10;
    assert_int_equal(check_str(&host, "bad_host_name_long"), CUPI_WRONG_LENGTH);
}

static void test_control_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {"a\tb", "a\nb", "a\x7f", "\x01", "ab\r", "\x1b[0m"};
    const cupi_field *fs[] = {CLI("smtpUsername"), CLI("smtpPassword"), SRV("domainName"),
                              CLI("smtpSmartHost")};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char why[256];
            cupi_value v;
            /* Parsing keeps the text; the check refuses it. */
            assert_int_equal(cupi_value_parse(fs[i], bad[b], strlen(bad[b]), &v), CUPI_VALID);
            assert_int_equal(cupi_value_check(fs[i], &v, why, sizeof why), CUPI_WRONG_VALUE);
            assert_non_null(strstr(why, fs[i]->name));
        }
        /* An embedded NUL cannot be carried at all. */
        cupi_value v;
        assert_int_equal(cupi_value_parse(fs[i], "ab\0cd", 5, &v), CUPI_WRONG_VALUE);
    }
    /* Printable text, UTF-8 and blanks are fine in free text. */
    assert_int_equal(check_str(CLI("smtpUsername"), "Admin User"), CUPI_VALID);
    assert_int_equal(check_str(CLI("smtpPassword"), "p@ss w0rd!\"<&>"), CUPI_VALID);
    assert_int_equal(check_str(CLI("smtpUsername"), "J\xc3\xbcrgen"), CUPI_VALID);
    assert_int_equal(check_str(CLI("smtpUsername"), ""), CUPI_VALID);
    assert_int_equal(check_str(CLI("smtpPassword"), ""), CUPI_VALID);
}

/* What an SNMP SET or cupictl gets for text that is not UTF-8 or holds a
 * control character: wrongValue, before any request reaches CUPI. */
static void test_utf8_and_controls_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "x\xc3",            /* cut short */
        "\xc0\xaf",         /* overlong */
        "a\xed\xa0\x80",    /* surrogate */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\xff\xfe",
        "\x80",
        "nel\xc2\x85", /* C1 control U+0085 */
        "csi\xc2\x9b", /* C1 control U+009B */
        "x\x1fy",
    };
    const cupi_field *fs[] = {CLI("smtpUsername"), CLI("smtpPassword"), SRV("domainName"),
                              CLI("smtpSmartHost")};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            char why[256];
            cupi_value v;
            assert_int_equal(cupi_value_parse(fs[i], bad[b], strlen(bad[b]), &v), CUPI_VALID);
            assert_int_equal(cupi_value_check(fs[i], &v, why, sizeof why), CUPI_WRONG_VALUE);
            assert_non_null(strstr(why, fs[i]->name));
            /* The reason itself is printable: it may be logged. */
            for (const char *p = why; *p; p++)
                assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
        }
    }
    char why[256];
    cupi_value v = {0};
    strcpy(v.s, "x\xc3");
    cupi_value_check(CLI("smtpUsername"), &v, why, sizeof why);
    assert_non_null(strstr(why, "UTF-8"));
    /* Valid UTF-8 beyond ASCII is text like any other (not in host names). */
    assert_int_equal(check_str(CLI("smtpUsername"), "\xe2\x82\xac \xf0\x9f\x93\xa7 \xc2\xa0"),
                     CUPI_VALID);
    assert_int_equal(check_str(CLI("smtpPassword"), "p\xc3\xa4ss\xe2\x82\xac"), CUPI_VALID);
    assert_int_equal(check_str(SRV("domainName"), "m\xc3\xbcller.example.com"),
                     CUPI_WRONG_VALUE);
}

/* --- host names ---------------------------------------------------------- */

static char *repeat(char *buf, char ch, size_t n)
{
    memset(buf, ch, n);
    buf[n] = '\0';
    return buf;
}

static void test_hostnames(void **state)
{
    (void)state;
    char label63[64], label64[65], host253[260], host254[260];
    repeat(label63, 'a', 63);
    repeat(label64, 'b', 64);
    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
    snprintf(host253, sizeof host253, "%s.%s.%s.", label63, label63, label63);
    repeat(host253 + strlen(host253), 'c', 61);
    assert_int_equal(strlen(host253), 253);
    snprintf(host254, sizeof host254, "%s.%s.%s.", label63, label63, label63);
    repeat(host254 + strlen(host254), 'c', 62);
    assert_int_equal(strlen(host254), 254);

    const char *valid[] = {"a",      "a-b.example.com", "ucbu-aricent-vm234.cisco.com",
                           label63,  host253,           "A1.B2",
                           "x--y.z", "9.example.com"};
    const char *invalid[] = {"",
                             "-a",
                             "a-",
                             "-a.example.com",
                             "a.-b.com",
                             "a.b-",
                             label64,
                             host254,
                             "a..b",
                             "a b",
                             "a_b",
                             "a.",
                             ".a",
                             "a.b.",
                             "a/b",
                             "a:b",
                             "*.example.com",
                             "exa\xc3\xa9mple.com"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (!cupi_hostname_valid(valid[i]))
            fail_msg("\"%s\" should be a valid host name", valid[i]);
        assert_int_equal(check_str(SRV("domainName"), valid[i]), CUPI_VALID);
        assert_int_equal(check_str(CLI("smtpSmartHost"), valid[i]), CUPI_VALID);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (cupi_hostname_valid(invalid[i]))
            fail_msg("\"%s\" should not be a valid host name", invalid[i]);
        assert_int_equal(check_str(SRV("domainName"), invalid[i]), CUPI_WRONG_VALUE);
        if (invalid[i][0])
            assert_int_equal(check_str(CLI("smtpSmartHost"), invalid[i]), CUPI_WRONG_VALUE);
    }
    /* A label of 64 inside a longer name. */
    char mid[100];
    snprintf(mid, sizeof mid, "x.%s.com", label64);
    assert_false(cupi_hostname_valid(mid));
    snprintf(mid, sizeof mid, "x.%s.com", label63);
    assert_true(cupi_hostname_valid(mid));
}

static void test_smart_host_literals(void **state)
{
    (void)state;
    const cupi_field *smart = CLI("smtpSmartHost"), *domain = SRV("domainName");
    static const char *const ips[] = {"192.0.2.1",    "10.0.0.254",    "::1",
                                      "2001:db8::25", "fe80::1:2:3:4", "::ffff:192.0.2.1"};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
        assert_true(cupi_ip_literal_valid(ips[i]));
        assert_int_equal(check_str(smart, ips[i]), CUPI_VALID);
    }
    /* An IPv6 literal is not a host name. */
    assert_int_equal(check_str(domain, "::1"), CUPI_WRONG_VALUE);
    assert_int_equal(check_str(domain, "2001:db8::25"), CUPI_WRONG_VALUE);
    static const char *const not_ips[] = {"",    "1.2.3",        "2001:db8:::1", "[::1]",
                                          "::g", "192.0.2.1/24", "localhost"};
    for (size_t i = 0; i < sizeof not_ips / sizeof not_ips[0]; i++)
        assert_false(cupi_ip_literal_valid(not_ips[i]));
    assert_int_equal(check_str(smart, "[::1]"), CUPI_WRONG_VALUE);
    assert_int_equal(check_str(smart, "192.0.2.1:25"), CUPI_WRONG_VALUE);
    /* Empty: allowed for the smart host (none), not for the domain name. */
    assert_int_equal(check_str(smart, ""), CUPI_VALID);
    char why[256];
    cupi_value v = {0};
    assert_int_equal(cupi_value_check(domain, &v, why, sizeof why), CUPI_WRONG_VALUE);
    assert_non_null(strstr(why, "domainName"));
}

/* --- formatting ---------------------------------------------------------- */

static void test_format(void **state)
{
    (void)state;
    char buf[300];
    cupi_value v = {0};
    v.i = 587;
    assert_string_equal(cupi_value_format(SRV("Port"), &v, buf, sizeof buf), "587");
    v.i = 2147483647;
    assert_string_equal(cupi_value_format(SRV("retryDeliveryTimeoutMin"), &v, buf, sizeof buf),
                        "2147483647");
    v.i = 1;
    assert_string_equal(cupi_value_format(CLI("isAuthEnabled"), &v, buf, sizeof buf), "true");
    v.i = 0;
    assert_string_equal(cupi_value_format(CLI("isAuthEnabled"), &v, buf, sizeof buf), "false");
    strcpy(v.s, "outbound.cisco.com");
    assert_string_equal(cupi_value_format(CLI("smtpSmartHost"), &v, buf, sizeof buf),
                        "outbound.cisco.com");
    /* The returned pointer is buf, and a small buffer is truncated safely. */
    char small[4];
    assert_ptr_equal(cupi_value_format(CLI("smtpSmartHost"), &v, small, sizeof small), small);
    assert_string_equal(small, "out");
}

/* Every field: parse(format(v)) == v for representative values. */
static void test_format_round_trip(void **state)
{
    (void)state;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            cupi_value samples[4];
            size_t n_samples = 0;
            memset(samples, 0, sizeof samples);
            switch (f[i].type) {
            case CUPI_TYPE_INT:
                if (f[i].enums) {
                    for (size_t e = 0; e < f[i].n_enums && n_samples < 4; e++)
                        samples[n_samples++].i = f[i].enums[e];
                } else {
                    samples[n_samples++].i = f[i].min;
                    samples[n_samples++].i = f[i].max;
                    samples[n_samples++].i = (f[i].min + f[i].max) / 2;
                }
                break;
            case CUPI_TYPE_BOOL:
                samples[n_samples++].i = 0;
                samples[n_samples++].i = 1;
                break;
            case CUPI_TYPE_STRING:
                strcpy(samples[n_samples++].s, "mail.example.com");
                if (f[i].allow_empty)
                    strcpy(samples[n_samples++].s, "");
                break;
            }
            for (size_t s = 0; s < n_samples; s++) {
                char text[300];
                cupi_value back;
                assert_int_equal(cupi_value_check(&f[i], &samples[s], NULL, 0), CUPI_VALID);
                cupi_value_format(&f[i], &samples[s], text, sizeof text);
                assert_int_equal(cupi_value_parse(&f[i], text, strlen(text), &back),
                                 CUPI_VALID);
                if (!cupi_value_equal(&f[i], &samples[s], &back))
                    fail_msg("%s: \"%s\" did not round-trip", f[i].name, text);
            }
            /* The documented default is a valid value of the field (except
             * the domain name, whose default is "set by the installer"). */
            cupi_value def;
            assert_int_equal(
                cupi_value_parse(&f[i], f[i].default_value, strlen(f[i].default_value), &def),
                CUPI_VALID);
            if (f[i].type != CUPI_TYPE_STRING || f[i].allow_empty)
                assert_int_equal(cupi_value_check(&f[i], &def, NULL, 0), CUPI_VALID);
        }
    }
}

static void test_value_equal(void **state)
{
    (void)state;
    cupi_value a = {0}, b = {0};
    a.i = b.i = 25;
    strcpy(a.s, "x"); /* ignored for numbers */
    assert_true(cupi_value_equal(SRV("Port"), &a, &b));
    b.i = 587;
    assert_false(cupi_value_equal(SRV("Port"), &a, &b));
    strcpy(a.s, "Admin");
    strcpy(b.s, "Admin");
    a.i = 1; /* ignored for strings */
    assert_true(cupi_value_equal(CLI("smtpUsername"), &a, &b));
    strcpy(b.s, "admin"); /* strings compare exactly */
    assert_false(cupi_value_equal(CLI("smtpUsername"), &a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_boundaries_named),
        cmocka_unit_test(test_int_boundaries_generic),
        cmocka_unit_test(test_port_enums),
        cmocka_unit_test(test_require_tls),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_int_parse_errors),
        cmocka_unit_test(test_string_lengths),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_utf8_and_controls_refused),
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_smart_host_literals),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_value_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
