/* test_json_number.c - the store's whole numbers: what the state file and
 * the change history accept as an index, a time or a version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "json_number.h"

static bool whole(cJSON *item, double min, double max, double *out)
{
    bool ok = store_json_whole(item, min, max, out);
    cJSON_Delete(item);
    return ok;
}

static void test_accepted(void **state)
{
    (void)state;
    double d = -1;
    assert_true(whole(cJSON_CreateNumber(7), 1, 65535, &d));
    assert_true(d == 7);
    assert_true(whole(cJSON_CreateNumber(1), 1, 65535, &d)); /* both bounds included */
    assert_true(d == 1);
    assert_true(whole(cJSON_CreateNumber(65535), 1, 65535, &d));
    assert_true(d == 65535);
    assert_true(whole(cJSON_CreateNumber(4294967295.0), 0, 4294967295.0, &d));
    assert_true(d == 4294967295.0);
}

static void test_refused(void **state)
{
    (void)state;
    double d = -1;
    assert_false(whole(cJSON_CreateNumber(1.5), 0, 10, &d));
    assert_false(whole(cJSON_CreateNumber(0), 1, 10, &d));
    assert_false(whole(cJSON_CreateNumber(11), 1, 10, &d));
    assert_false(whole(cJSON_CreateNumber(1e300), 0, 1e20, &d));
    assert_false(whole(cJSON_CreateNumber(NAN), 0, 10, &d));
    assert_false(whole(cJSON_CreateNumber(INFINITY), 0, INFINITY, &d));
    assert_false(whole(cJSON_CreateString("3"), 0, 10, &d));
    assert_false(whole(cJSON_CreateTrue(), 0, 10, &d));
    assert_false(store_json_whole(NULL, 0, 10, &d));
    assert_true(d == -1); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
