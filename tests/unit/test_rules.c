/* test_rules.c - the cross-field rules (doc/interface.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <cupi/cupi.h>

#include "test_support.h"

enum {
    COL_ALLOW = 9,
    COL_REQ_AUTH = 10,
    COL_REQ_TLS = 11,
    COL_AUTH_ENABLED = 4,
    COL_USERNAME = 5,
};

/* The CUPI reference's server values with the three untrusted-address fields given. */
static cupi_snapshot server(int allow, int req_auth, int req_tls)
{
    cupi_snapshot s = seed_snapshot(CUPI_RES_SERVER);
    set_int(&s, COL_ALLOW, allow);
    set_int(&s, COL_REQ_AUTH, req_auth);
    set_int(&s, COL_REQ_TLS, req_tls);
    return s;
}

/* The CUPI reference's client values with authentication and user name given. */
static cupi_snapshot client(int auth, const char *user)
{
    cupi_snapshot s = seed_snapshot(CUPI_RES_CLIENT);
    set_int(&s, COL_AUTH_ENABLED, auth);
    set_str(&s, COL_USERNAME, user);
    return s;
}

static const uint32_t ALL = 0x7ffu;

static void test_seed_values_consistent(void **state)
{
    (void)state;
    cupi_snapshot s = server(1, 1, 1);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_VALID);
    cupi_snapshot c = client(1, "Admin");
    assert_int_equal(cupi_rules_check(&c, ALL, NULL, NULL, 0), CUPI_VALID);
    /* Everything off is fine too. */
    s = server(0, 0, 0);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_VALID);
    c = client(0, "");
    assert_int_equal(cupi_rules_check(&c, ALL, NULL, NULL, 0), CUPI_VALID);
}

static void test_require_auth_needs_allow(void **state)
{
    (void)state;
    cupi_snapshot s = server(0, 1, 0);
    unsigned col = 0;
    char why[256] = "x";
    /* Changed via requireAuth: that column is reported. */
    assert_int_equal(cupi_rules_check(&s, BIT(COL_REQ_AUTH), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_REQ_AUTH);
    assert_non_null(strstr(why, "requireAuthenticationFromUntrustedIpAddresses"));
    assert_non_null(strstr(why, "allowConnectionsFromUntrustedIpAddresses"));
    /* Changed via allow (set to false): allow is reported. */
    col = 0;
    assert_int_equal(cupi_rules_check(&s, BIT(COL_ALLOW), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_ALLOW);
    /* Both changed in one PDU: the "if" column is reported. */
    col = 0;
    assert_int_equal(
        cupi_rules_check(&s, BIT(COL_ALLOW) | BIT(COL_REQ_AUTH), &col, why, sizeof why),
        CUPI_INCONSISTENT);
    assert_int_equal(col, COL_REQ_AUTH);
    /* With allow true it is fine. */
    s = server(1, 1, 0);
    why[0] = 'x';
    assert_int_equal(cupi_rules_check(&s, ALL, &col, why, sizeof why), CUPI_VALID);
    assert_string_equal(why, "");
}

static void test_require_tls_needs_allow(void **state)
{
    (void)state;
    for (int tls = 1; tls <= 2; tls++) {
        cupi_snapshot s = server(0, 0, tls);
        unsigned col = 0;
        char why[256];
        assert_int_equal(cupi_rules_check(&s, BIT(COL_REQ_TLS), &col, why, sizeof why),
                         CUPI_INCONSISTENT);
        assert_int_equal(col, COL_REQ_TLS);
        assert_non_null(strstr(why, "requireTlsFromUntrustedIpAddresses"));
        col = 0;
        assert_int_equal(cupi_rules_check(&s, BIT(COL_ALLOW), &col, why, sizeof why),
                         CUPI_INCONSISTENT);
        assert_int_equal(col, COL_ALLOW);
        s = server(1, 0, tls);
        assert_int_equal(cupi_rules_check(&s, ALL, &col, NULL, 0), CUPI_VALID);
    }
    /* notOffered(0) needs nothing. */
    cupi_snapshot s = server(0, 0, 0);
    assert_int_equal(cupi_rules_check(&s, BIT(COL_REQ_TLS), NULL, NULL, 0), CUPI_VALID);
    assert_int_equal(cupi_rules_check(&s, BIT(COL_ALLOW), NULL, NULL, 0), CUPI_VALID);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_VALID);
}

static void test_both_server_rules(void **state)
{
    (void)state;
    /* Auth and TLS both on with allow off: changing only TLS reports TLS. */
    cupi_snapshot s = server(0, 1, 2);
    unsigned col = 0;
    char why[256];
    assert_int_equal(cupi_rules_check(&s, BIT(COL_REQ_TLS), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_REQ_TLS);
    assert_non_null(strstr(why, "requireTlsFromUntrustedIpAddresses"));
    assert_int_equal(cupi_rules_check(&s, BIT(COL_REQ_AUTH), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_REQ_AUTH);
}

static void test_auth_needs_username(void **state)
{
    (void)state;
    cupi_snapshot c = client(1, "");
    unsigned col = 0;
    char why[256];
    assert_int_equal(cupi_rules_check(&c, BIT(COL_AUTH_ENABLED), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_AUTH_ENABLED);
    assert_non_null(strstr(why, "smtpUsername"));
    col = 0;
    assert_int_equal(cupi_rules_check(&c, BIT(COL_USERNAME), &col, why, sizeof why),
                     CUPI_INCONSISTENT);
    assert_int_equal(col, COL_USERNAME);
    /* Auth off with no user name is fine, so is auth on with one. */
    c = client(0, "");
    assert_int_equal(cupi_rules_check(&c, ALL, NULL, NULL, 0), CUPI_VALID);
    c = client(1, "u");
    assert_int_equal(cupi_rules_check(&c, ALL, NULL, NULL, 0), CUPI_VALID);
}

/* A rule is judged only when the PDU touches one of its columns: a value
 * CUPI already holds does not block an unrelated change. */
static void test_unrelated_change_not_judged(void **state)
{
    (void)state;
    cupi_snapshot s = server(0, 1, 1);
    for (unsigned col = 1; col <= 8; col++)
        assert_int_equal(cupi_rules_check(&s, BIT(col), NULL, NULL, 0), CUPI_VALID);
    assert_int_equal(cupi_rules_check(&s, 0, NULL, NULL, 0), CUPI_VALID);
    cupi_snapshot c = client(1, "");
    for (unsigned col = 1; col <= 6; col++) {
        cupi_verdict want =
            (col == COL_AUTH_ENABLED || col == COL_USERNAME) ? CUPI_INCONSISTENT : CUPI_VALID;
        assert_int_equal(cupi_rules_check(&c, BIT(col), NULL, NULL, 0), want);
    }
}

/* Without both values of a rule, it cannot be judged. */
static void test_partial_snapshot_not_judged(void **state)
{
    (void)state;
    cupi_snapshot s;
    cupi_snapshot_init(&s, CUPI_RES_SERVER);
    set_int(&s, COL_REQ_AUTH, 1);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_VALID);
    set_int(&s, COL_ALLOW, 0);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_INCONSISTENT);
}

/* The rules of one resource never fire on the other's columns. */
static void test_resource_separation(void **state)
{
    (void)state;
    /* Client columns 4/5 on a server snapshot: maxMessageSizeKb and
     * smtpClientThreads; 0 threads and non-zero size must not trigger. */
    cupi_snapshot s = server(1, 0, 0);
    set_int(&s, 4, 5);
    set_int(&s, 5, 0);
    assert_int_equal(cupi_rules_check(&s, ALL, NULL, NULL, 0), CUPI_VALID);
}

static uint32_t bit(cupi_resource r, const char *name)
{
    const cupi_field *f = cupi_field_find(r, name);
    assert_non_null(f);
    return 1u << (f->column - 1);
}

static void test_rules_involve(void **state)
{
    (void)state;
    const cupi_resource S = CUPI_RES_SERVER, C = CUPI_RES_CLIENT;
    assert_true(cupi_rules_involve(S, bit(S, "allowConnectionsFromUntrustedIpAddresses")));
    assert_true(cupi_rules_involve(S, bit(S, "requireAuthenticationFromUntrustedIpAddresses")));
    assert_true(cupi_rules_involve(S, bit(S, "requireTlsFromUntrustedIpAddresses")));
    assert_true(cupi_rules_involve(C, bit(C, "isAuthEnabled")));
    assert_true(cupi_rules_involve(C, bit(C, "smtpUsername")));
    assert_true(cupi_rules_involve(S, bit(S, "maxNumberConnections") |
                                          bit(S, "requireTlsFromUntrustedIpAddresses")));
    assert_false(cupi_rules_involve(S, bit(S, "maxNumberConnections") | bit(S, "Port") |
                                           bit(S, "domainName")));
    assert_false(cupi_rules_involve(C, bit(C, "smtpSmartHost") | bit(C, "smtpPort") |
                                           bit(C, "isClientSecure") | bit(C, "smtpPassword")));
    assert_false(cupi_rules_involve(S, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_values_consistent),
        cmocka_unit_test(test_require_auth_needs_allow),
        cmocka_unit_test(test_require_tls_needs_allow),
        cmocka_unit_test(test_both_server_rules),
        cmocka_unit_test(test_auth_needs_username),
        cmocka_unit_test(test_unrelated_change_not_judged),
        cmocka_unit_test(test_partial_snapshot_not_judged),
        cmocka_unit_test(test_resource_separation),
        cmocka_unit_test(test_rules_involve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
