/* test_fields.c - the descriptor table of the CUPI SMTP fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <strings.h>

#include <cupi/cupi.h>

static void test_counts(void **state)
{
    (void)state;
    size_t n_server = 0, n_client = 0;
    assert_non_null(cupi_fields(CUPI_RES_SERVER, &n_server));
    assert_non_null(cupi_fields(CUPI_RES_CLIENT, &n_client));
    assert_int_equal(n_server, 11);
    assert_int_equal(n_client, 6);
    assert_int_equal(n_server + n_client, 17);
    assert_int_equal(cupi_field_count(CUPI_RES_SERVER), 11);
    assert_int_equal(cupi_field_count(CUPI_RES_CLIENT), 6);
    assert_true(n_server <= CUPI_MAX_COLUMNS && n_client <= CUPI_MAX_COLUMNS);
    /* A snapshot bitmask must hold every column. */
    assert_true(CUPI_MAX_COLUMNS <= 32);
}

static void test_invalid_resource(void **state)
{
    (void)state;
    size_t n = 99;
    assert_null(cupi_fields(CUPI_RES_COUNT, &n));
    assert_int_equal(n, 0);
    assert_int_equal(cupi_field_count(CUPI_RES_COUNT), 0);
    assert_null(cupi_field_at(CUPI_RES_COUNT, 1));
    assert_null(cupi_field_find(CUPI_RES_COUNT, "Port"));
    assert_string_equal(cupi_resource_name(CUPI_RES_COUNT), "?");
    assert_string_equal(cupi_resource_path(CUPI_RES_COUNT), "");
    assert_string_equal(cupi_resource_root(CUPI_RES_COUNT), "");
}

static void test_columns_in_order(void **state)
{
    (void)state;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(f[i].column, i + 1);
            assert_int_equal(f[i].resource, r);
            assert_ptr_equal(cupi_field_at((cupi_resource)r, (unsigned)(i + 1)), &f[i]);
        }
        assert_null(cupi_field_at((cupi_resource)r, 0));
        assert_null(cupi_field_at((cupi_resource)r, (unsigned)n + 1));
    }
}

static void test_expected_names(void **state)
{
    (void)state;
    static const char *const server[] = {
        "Port",
        "domainName",
        "maxNumberConnections",
        "smtpClientThreads",
        "maxMessageSizeKb",
        "maxNumberMessagesSession",
        "maxNumberRecipients",
        "retryDeliveryTimeoutMin",
        "allowConnectionsFromUntrustedIpAddresses",
        "requireAuthenticationFromUntrustedIpAddresses",
        "requireTlsFromUntrustedIpAddresses",
    };
    static const char *const server_mib[] = {
        "cupiSmtpServerPort",
        "cupiSmtpServerDomainName",
        "cupiSmtpServerMaxConnections",
        "cupiSmtpServerClientThreads",
        "cupiSmtpServerMaxMessageSize",
        "cupiSmtpServerMaxMessagesPerSession",
        "cupiSmtpServerMaxRecipients",
        "cupiSmtpServerRetryTimeout",
        "cupiSmtpServerAllowUntrusted",
        "cupiSmtpServerRequireAuthUntrusted",
        "cupiSmtpServerRequireTlsUntrusted",
    };
    static const char *const client[] = {"smtpSmartHost", "isClientSecure", "smtpPort",
                                         "isAuthEnabled", "smtpUsername",   "smtpPassword"};
    static const char *const client_mib[] = {
        "cupiSmtpClientSmartHost",   "cupiSmtpClientSecure",   "cupiSmtpClientPort",
        "cupiSmtpClientAuthEnabled", "cupiSmtpClientUsername", "cupiSmtpClientPassword",
    };
    for (unsigned c = 1; c <= 11; c++) {
        assert_string_equal(cupi_field_at(CUPI_RES_SERVER, c)->name, server[c - 1]);
        assert_string_equal(cupi_field_at(CUPI_RES_SERVER, c)->mib_name, server_mib[c - 1]);
    }
    for (unsigned c = 1; c <= 6; c++) {
        assert_string_equal(cupi_field_at(CUPI_RES_CLIENT, c)->name, client[c - 1]);
        assert_string_equal(cupi_field_at(CUPI_RES_CLIENT, c)->mib_name, client_mib[c - 1]);
    }
}

static void test_types(void **state)
{
    (void)state;
    static const cupi_type server[] = {
        CUPI_TYPE_INT,  CUPI_TYPE_STRING, CUPI_TYPE_INT, CUPI_TYPE_INT,
        CUPI_TYPE_INT,  CUPI_TYPE_INT,    CUPI_TYPE_INT, CUPI_TYPE_INT,
        CUPI_TYPE_BOOL, CUPI_TYPE_BOOL,   CUPI_TYPE_INT,
    };
    static const cupi_type client[] = {CUPI_TYPE_STRING, CUPI_TYPE_BOOL,   CUPI_TYPE_INT,
                                       CUPI_TYPE_BOOL,   CUPI_TYPE_STRING, CUPI_TYPE_STRING};
    for (unsigned c = 1; c <= 11; c++)
        assert_int_equal(cupi_field_at(CUPI_RES_SERVER, c)->type, server[c - 1]);
    for (unsigned c = 1; c <= 6; c++)
        assert_int_equal(cupi_field_at(CUPI_RES_CLIENT, c)->type, client[c - 1]);
    assert_int_equal(cupi_field_find(CUPI_RES_SERVER, "domainName")->syntax,
                     CUPI_SYNTAX_HOSTNAME);
    assert_int_equal(cupi_field_find(CUPI_RES_CLIENT, "smtpSmartHost")->syntax,
                     CUPI_SYNTAX_HOST_OR_IP);
    assert_false(cupi_field_find(CUPI_RES_SERVER, "domainName")->allow_empty);
    assert_true(cupi_field_find(CUPI_RES_CLIENT, "smtpSmartHost")->allow_empty);
    assert_true(cupi_field_find(CUPI_RES_CLIENT, "smtpUsername")->allow_empty);
}

/* Every name (payload, alias, MIB) is unique across the whole table,
 * case-insensitively, so lookups are never ambiguous. */
static void test_unique_names(void **state)
{
    (void)state;
    const char *names[64];
    size_t n_names = 0;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            assert_non_null(f[i].name);
            assert_non_null(f[i].mib_name);
            assert_true(strlen(f[i].name) > 0);
            assert_true(strncmp(f[i].mib_name, "cupiSmtp", 8) == 0);
            names[n_names++] = f[i].name;
            names[n_names++] = f[i].mib_name;
            if (f[i].alias)
                names[n_names++] = f[i].alias;
        }
    }
    for (size_t i = 0; i < n_names; i++)
        for (size_t j = i + 1; j < n_names; j++)
            if (strcasecmp(names[i], names[j]) == 0)
                fail_msg("duplicate name %s", names[i]);
}

static void test_find_case_insensitive(void **state)
{
    (void)state;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            char upper[128], lower[128];
            size_t len = strlen(f[i].name);
            assert_true(len < sizeof upper);
            for (size_t k = 0; k <= len; k++) {
                upper[k] = (char)(f[i].name[k] >= 'a' && f[i].name[k] <= 'z' ? f[i].name[k] - 32
                                                                             : f[i].name[k]);
                lower[k] = (char)(f[i].name[k] >= 'A' && f[i].name[k] <= 'Z' ? f[i].name[k] + 32
                                                                             : f[i].name[k]);
            }
            assert_ptr_equal(cupi_field_find((cupi_resource)r, f[i].name), &f[i]);
            assert_ptr_equal(cupi_field_find((cupi_resource)r, upper), &f[i]);
            assert_ptr_equal(cupi_field_find((cupi_resource)r, lower), &f[i]);
            /* A field belongs to one resource only. */
            assert_null(cupi_field_find((cupi_resource)(1 - r), f[i].name));
        }
    }
}

static void test_find_aliases(void **state)
{
    (void)state;
    /* The spellings of the CUPI reference's field tables. */
    const cupi_field *f;
    f = cupi_field_find(CUPI_RES_CLIENT, "SMTPSmartHost");
    assert_non_null(f);
    assert_string_equal(f->name, "smtpSmartHost");
    f = cupi_field_find(CUPI_RES_SERVER, "DomainName");
    assert_non_null(f);
    assert_string_equal(f->name, "domainName");
    f = cupi_field_find(CUPI_RES_SERVER, "RequireAuthFromUntrustedIPAddresses");
    assert_non_null(f);
    assert_string_equal(f->name, "requireAuthenticationFromUntrustedIpAddresses");
    f = cupi_field_find(CUPI_RES_SERVER, "smtplibClientThreads");
    assert_non_null(f);
    assert_string_equal(f->name, "smtpClientThreads");
    f = cupi_field_find(CUPI_RES_SERVER, "SmtplibClientThreads");
    assert_non_null(f);
    assert_string_equal(f->name, "smtpClientThreads");
    f = cupi_field_find(CUPI_RES_SERVER, "AllowConnectionsFromUntrustedIPAddresses");
    assert_non_null(f);
    assert_int_equal(f->column, 9);
    f = cupi_field_find(CUPI_RES_SERVER, "RequireTlsFromUntrustedIPAddresses");
    assert_non_null(f);
    assert_int_equal(f->column, 11);
    f = cupi_field_find(CUPI_RES_CLIENT, "IsClientSecure");
    assert_non_null(f);
    assert_int_equal(f->column, 2);
    f = cupi_field_find(CUPI_RES_CLIENT, "SMTPPort");
    assert_non_null(f);
    assert_string_equal(f->name, "smtpPort");
    f = cupi_field_find(CUPI_RES_SERVER, "PORT");
    assert_non_null(f);
    assert_string_equal(f->name, "Port");
}

static void test_find_unknown(void **state)
{
    (void)state;
    assert_null(cupi_field_find(CUPI_RES_SERVER, "nosuchfield"));
    assert_null(cupi_field_find(CUPI_RES_SERVER, ""));
    assert_null(cupi_field_find(CUPI_RES_SERVER, NULL));
    assert_null(cupi_field_find(CUPI_RES_SERVER, "Por"));
    assert_null(cupi_field_find(CUPI_RES_SERVER, "Port "));
    assert_null(cupi_field_find(CUPI_RES_SERVER, "smtpPort"));
    assert_null(cupi_field_find(CUPI_RES_CLIENT, "Port"));
    /* MIB names are not payload names. */
    assert_null(cupi_field_find(CUPI_RES_SERVER, "cupiSmtpServerPort"));
}

static void test_resources(void **state)
{
    (void)state;
    assert_string_equal(cupi_resource_name(CUPI_RES_SERVER), "server");
    assert_string_equal(cupi_resource_name(CUPI_RES_CLIENT), "client");
    assert_string_equal(cupi_resource_path(CUPI_RES_SERVER),
                        "/vmrest/smtpserver/serverconfigs");
    assert_string_equal(cupi_resource_path(CUPI_RES_CLIENT),
                        "/vmrest/smtpclient/clientconfigs");
    assert_string_equal(cupi_resource_root(CUPI_RES_SERVER), "SmtpServerConfiguration");
    assert_string_equal(cupi_resource_root(CUPI_RES_CLIENT), "SmtpClientConfiguration");
    assert_int_equal(cupi_resource_from_name("server"), CUPI_RES_SERVER);
    assert_int_equal(cupi_resource_from_name("client"), CUPI_RES_CLIENT);
    assert_int_equal(cupi_resource_from_name("SERVER"), CUPI_RES_SERVER);
    assert_int_equal(cupi_resource_from_name("Client"), CUPI_RES_CLIENT);
    assert_int_equal(cupi_resource_from_name("clients"), -1);
    assert_int_equal(cupi_resource_from_name(""), -1);
    assert_int_equal(cupi_resource_from_name(NULL), -1);
}

static void test_write_only(void **state)
{
    (void)state;
    int n_write_only = 0;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            if (f[i].write_only) {
                n_write_only++;
                assert_int_equal(r, CUPI_RES_CLIENT);
                assert_string_equal(f[i].name, "smtpPassword");
            }
        }
    }
    assert_int_equal(n_write_only, 1);
}

static void test_ranges_and_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t min, max;
        const char *def;
    } ints[] = {
        {"maxNumberConnections", 0, 50, "20"},
        {"smtpClientThreads", 0, 10, "2"},
        {"maxMessageSizeKb", 0, 50000, "10000"},
        {"maxNumberMessagesSession", 0, 100, "10"},
        {"maxNumberRecipients", 0, 50000, "15000"},
        {"retryDeliveryTimeoutMin", 0, 2147483647, "0"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const cupi_field *f = cupi_field_find(CUPI_RES_SERVER, ints[i].name);
        assert_non_null(f);
        assert_null(f->enums);
        assert_true(f->min == ints[i].min);
        assert_true(f->max == ints[i].max);
        assert_string_equal(f->default_value, ints[i].def);
    }
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    assert_int_equal(port->n_enums, 2);
    assert_true(port->enums[0] == 25 && port->enums[1] == 587);
    const cupi_field *sport = cupi_field_find(CUPI_RES_CLIENT, "smtpPort");
    assert_int_equal(sport->n_enums, 2);
    assert_true(sport->enums[0] == 25 && sport->enums[1] == 587);
    const cupi_field *tls =
        cupi_field_find(CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses");
    assert_int_equal(tls->n_enums, 3);
    assert_true(tls->enums[0] == 0 && tls->enums[1] == 1 && tls->enums[2] == 2);
    /* Every string field holds at most CUPI_STR_MAX bytes. */
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++) {
            assert_non_null(f[i].default_value);
            if (f[i].type == CUPI_TYPE_STRING)
                assert_int_equal(f[i].max_len, CUPI_STR_MAX);
        }
    }
}

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(cupi_verdict_name(CUPI_VALID), "valid");
    assert_string_equal(cupi_verdict_name(CUPI_WRONG_TYPE), "wrongType");
    assert_string_equal(cupi_verdict_name(CUPI_WRONG_LENGTH), "wrongLength");
    assert_string_equal(cupi_verdict_name(CUPI_WRONG_VALUE), "wrongValue");
    assert_string_equal(cupi_verdict_name(CUPI_NOT_WRITABLE), "notWritable");
    assert_string_equal(cupi_verdict_name(CUPI_INCONSISTENT), "inconsistentValue");
    assert_string_equal(cupi_verdict_name((cupi_verdict)99), "unknown");
}

static void test_status_and_format_names(void **state)
{
    (void)state;
    assert_string_equal(cupi_status_name(CUPI_OK), "ok");
    assert_string_equal(cupi_status_name(CUPI_E_AUTH), "auth");
    assert_string_equal(cupi_status_name((cupi_status)999), "unknown");
    for (int s = CUPI_OK; s <= CUPI_E_IO; s++) {
        assert_string_not_equal(cupi_status_name((cupi_status)s), "unknown");
        assert_string_not_equal(cupi_status_text((cupi_status)s), "unknown error");
    }
    assert_string_equal(cupi_format_name(CUPI_FORMAT_XML), "xml");
    assert_string_equal(cupi_format_name(CUPI_FORMAT_JSON), "json");
    assert_string_equal(cupi_format_mime(CUPI_FORMAT_XML), "application/xml");
    assert_string_equal(cupi_format_mime(CUPI_FORMAT_JSON), "application/json");
    assert_int_equal(cupi_format_from_name("XML"), CUPI_FORMAT_XML);
    assert_int_equal(cupi_format_from_name("json"), CUPI_FORMAT_JSON);
    assert_int_equal(cupi_format_from_name("yaml"), -1);
    assert_int_equal(cupi_format_from_name(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_invalid_resource),
        cmocka_unit_test(test_columns_in_order),
        cmocka_unit_test(test_expected_names),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_unique_names),
        cmocka_unit_test(test_find_case_insensitive),
        cmocka_unit_test(test_find_aliases),
        cmocka_unit_test(test_find_unknown),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_write_only),
        cmocka_unit_test(test_ranges_and_defaults),
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_status_and_format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
