/* test_snapshot.c - snapshots: set, apply, diff, check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <cupi/cupi.h>

#include "test_support.h"

static cupi_snapshot seed_server(void)
{
    return seed_snapshot(CUPI_RES_SERVER);
}

static cupi_snapshot seed_client(void)
{
    cupi_snapshot s;
    cupi_snapshot_init(&s, CUPI_RES_CLIENT);
    set_str(&s, 1, "outbound.cisco.com");
    set_int(&s, 2, 1);
    set_int(&s, 3, 25);
    set_int(&s, 4, 1);
    set_str(&s, 5, "Admin");
    set_str(&s, 6, "");
    return s;
}

static void test_init_set_has(void **state)
{
    (void)state;
    cupi_snapshot s;
    memset(&s, 0x77, sizeof s);
    cupi_snapshot_init(&s, CUPI_RES_CLIENT);
    assert_int_equal(s.resource, CUPI_RES_CLIENT);
    assert_int_equal(s.present, 0);
    for (unsigned c = 0; c <= CUPI_MAX_COLUMNS + 1; c++)
        assert_false(cupi_snapshot_has(&s, c));
    set_int(&s, 3, 587);
    assert_true(cupi_snapshot_has(&s, 3));
    assert_int_equal(s.present, BIT(3));
    assert_true(s.v[2].i == 587);
    /* Columns outside the resource are ignored. */
    set_int(&s, 0, 1);
    set_int(&s, 7, 1); /* the client resource has 6 columns */
    set_int(&s, 99, 1);
    assert_int_equal(s.present, BIT(3));
    assert_false(cupi_snapshot_has(&s, 0));
    assert_false(cupi_snapshot_has(&s, 7));

    cupi_snapshot full = seed_server();
    assert_int_equal(full.present, 0x7ffu);
    assert_true(cupi_snapshot_has(&full, 11));
    assert_false(cupi_snapshot_has(&full, 12));
}

static void test_diff_identical(void **state)
{
    (void)state;
    cupi_snapshot a = seed_server(), b = seed_server();
    assert_int_equal(cupi_snapshot_diff(&a, &b), 0);
    cupi_snapshot c = seed_client(), d = seed_client();
    assert_int_equal(cupi_snapshot_diff(&c, &d), 0);
    cupi_snapshot e, f;
    cupi_snapshot_init(&e, CUPI_RES_SERVER);
    cupi_snapshot_init(&f, CUPI_RES_SERVER);
    assert_int_equal(cupi_snapshot_diff(&e, &f), 0);
    /* Bytes after the NUL of a string do not count. */
    cupi_snapshot g = seed_client(), h = seed_client();
    g.v[4].s[10] = 'x';
    assert_int_equal(cupi_snapshot_diff(&g, &h), 0);
}

static void test_diff_each_field(void **state)
{
    (void)state;
    /* Change each readable column alone: exactly its bit is reported. */
    for (unsigned col = 1; col <= 11; col++) {
        cupi_snapshot a = seed_server(), b = seed_server();
        if (col == 2)
            strcpy(b.v[1].s, "other.example.com");
        else
            b.v[col - 1].i = a.v[col - 1].i == 0 ? 1 : 0;
        assert_int_equal(cupi_snapshot_diff(&a, &b), BIT(col));
        assert_int_equal(cupi_snapshot_diff(&b, &a), BIT(col));
    }
    for (unsigned col = 1; col <= 5; col++) {
        cupi_snapshot a = seed_client(), b = seed_client();
        if (col == 1 || col == 5)
            strcat(b.v[col - 1].s, "x");
        else
            b.v[col - 1].i = a.v[col - 1].i == 0 ? 1 : 0;
        assert_int_equal(cupi_snapshot_diff(&a, &b), BIT(col));
    }
    /* Several at once. */
    cupi_snapshot a = seed_server(), b = seed_server();
    b.v[0].i = 25;
    b.v[10].i = 2;
    assert_int_equal(cupi_snapshot_diff(&a, &b), BIT(1) | BIT(11));
}

static void test_diff_password_never(void **state)
{
    (void)state;
    cupi_snapshot a = seed_client(), b = seed_client();
    strcpy(b.v[5].s, "secret");
    assert_int_equal(cupi_snapshot_diff(&a, &b), 0);
    /* Present in one and absent in the other: still not reported. */
    cupi_snapshot c = seed_client();
    c.present &= ~BIT(6);
    assert_int_equal(cupi_snapshot_diff(&a, &c), 0);
    assert_int_equal(cupi_snapshot_diff(&c, &a), 0);
    /* Another field next to it still is. */
    strcpy(b.v[4].s, "root");
    assert_int_equal(cupi_snapshot_diff(&a, &b), BIT(5));
}

static void test_diff_presence(void **state)
{
    (void)state;
    cupi_snapshot a = seed_server(), b = seed_server();
    b.present &= ~BIT(8);
    assert_int_equal(cupi_snapshot_diff(&a, &b), BIT(8));
    assert_int_equal(cupi_snapshot_diff(&b, &a), BIT(8));
    /* Absent in both with different leftover values: no difference. */
    a.present &= ~BIT(8);
    a.v[7].i = 1;
    b.v[7].i = 2;
    assert_int_equal(cupi_snapshot_diff(&a, &b), 0);
    cupi_snapshot empty;
    cupi_snapshot_init(&empty, CUPI_RES_SERVER);
    cupi_snapshot full = seed_server();
    assert_int_equal(cupi_snapshot_diff(&empty, &full), 0x7ffu);
    cupi_snapshot_init(&empty, CUPI_RES_CLIENT);
    cupi_snapshot cfull = seed_client();
    assert_int_equal(cupi_snapshot_diff(&empty, &cfull), 0x1fu); /* not the password */
}

static void test_diff_resources(void **state)
{
    (void)state;
    cupi_snapshot a = seed_server(), b = seed_client();
    assert_int_equal(cupi_snapshot_diff(&a, &b), 0);
}

static void test_apply(void **state)
{
    (void)state;
    cupi_snapshot base = seed_server();
    cupi_snapshot changes;
    cupi_snapshot_init(&changes, CUPI_RES_SERVER);
    set_int(&changes, 1, 25);
    set_str(&changes, 2, "mail.example.com");
    set_int(&changes, 9, 0);
    cupi_snapshot before = base;
    cupi_snapshot_apply(&base, &changes);
    assert_int_equal(cupi_snapshot_diff(&before, &base), BIT(1) | BIT(2) | BIT(9));
    assert_true(base.v[0].i == 25);
    assert_string_equal(base.v[1].s, "mail.example.com");
    assert_true(base.v[8].i == 0);
    assert_true(base.v[2].i == 20); /* untouched */
    assert_int_equal(base.present, 0x7ffu);

    /* Applying onto an empty snapshot adds presence. */
    cupi_snapshot empty;
    cupi_snapshot_init(&empty, CUPI_RES_SERVER);
    cupi_snapshot_apply(&empty, &changes);
    assert_int_equal(empty.present, BIT(1) | BIT(2) | BIT(9));

    /* Applying nothing changes nothing; another resource is ignored. */
    cupi_snapshot none;
    cupi_snapshot_init(&none, CUPI_RES_SERVER);
    before = base;
    cupi_snapshot_apply(&base, &none);
    assert_memory_equal(&before, &base, sizeof base);
    cupi_snapshot client = seed_client();
    cupi_snapshot_apply(&base, &client);
    assert_memory_equal(&before, &base, sizeof base);

    /* The password is applied like any field (it goes into the PUT). */
    cupi_snapshot cbase = seed_client(), pw;
    cupi_snapshot_init(&pw, CUPI_RES_CLIENT);
    set_str(&pw, 6, "smtp");
    cupi_snapshot_apply(&cbase, &pw);
    assert_string_equal(cbase.v[5].s, "smtp");
}

static void test_check(void **state)
{
    (void)state;
    cupi_snapshot s = seed_server();
    unsigned col = 99;
    char why[256];
    assert_int_equal(cupi_snapshot_check(&s, &col, why, sizeof why), CUPI_VALID);
    assert_int_equal(col, 99); /* untouched on success */
    s.v[6].i = 50001;          /* maxNumberRecipients */
    assert_int_equal(cupi_snapshot_check(&s, &col, why, sizeof why), CUPI_WRONG_VALUE);
    assert_int_equal(col, 7);
    assert_non_null(strstr(why, "maxNumberRecipients"));
    /* The first failing column is reported. */
    s.v[0].i = 26;
    assert_int_equal(cupi_snapshot_check(&s, &col, why, sizeof why), CUPI_WRONG_VALUE);
    assert_int_equal(col, 1);
    /* Absent values are not checked. */
    s.present &= ~(BIT(1) | BIT(7));
    assert_int_equal(cupi_snapshot_check(&s, &col, NULL, 0), CUPI_VALID);
    strcpy(s.v[1].s, "bad_name");
    assert_int_equal(cupi_snapshot_check(&s, NULL, NULL, 0), CUPI_WRONG_VALUE);

    cupi_snapshot c = seed_client();
    assert_int_equal(cupi_snapshot_check(&c, &col, NULL, 0), CUPI_VALID);
    strcpy(c.v[4].s, "a\tb");
    assert_int_equal(cupi_snapshot_check(&c, &col, NULL, 0), CUPI_WRONG_VALUE);
    assert_int_equal(col, 5);
    c = seed_client();
    c.v[1].i = 2;
    assert_int_equal(cupi_snapshot_check(&c, &col, NULL, 0), CUPI_WRONG_VALUE);
    assert_int_equal(col, 2);

    cupi_snapshot empty;
    cupi_snapshot_init(&empty, CUPI_RES_CLIENT);
    assert_int_equal(cupi_snapshot_check(&empty, &col, NULL, 0), CUPI_VALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_set_has),    cmocka_unit_test(test_diff_identical),
        cmocka_unit_test(test_diff_each_field), cmocka_unit_test(test_diff_password_never),
        cmocka_unit_test(test_diff_presence),   cmocka_unit_test(test_diff_resources),
        cmocka_unit_test(test_apply),           cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
