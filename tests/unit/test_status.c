/* test_status.c - libcupi's status codes: every one named, and exactly the
 * failures without an answer transient (the SET transaction reads a PUT
 * that failed so back before judging it; a background read retries it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <cupi/cupi.h>

static void test_transient(void **state)
{
    (void)state;
    for (int s = CUPI_OK; s <= CUPI_E_IO; s++) {
        bool no_answer = s == CUPI_E_TRANSPORT || s == CUPI_E_TIMEOUT;
        if (cupi_status_transient((cupi_status)s) != no_answer)
            fail_msg("cupi_status_transient(%s) is %d", cupi_status_name((cupi_status)s),
                     !no_answer);
    }
    /* an answer, even a refusal, a busy server or one not understood, is one */
    assert_false(cupi_status_transient(CUPI_E_REJECTED));
    assert_false(cupi_status_transient(CUPI_E_BUSY));
    assert_false(cupi_status_transient(CUPI_E_PARSE));
}

static void test_every_status_named(void **state)
{
    (void)state;
    for (int s = CUPI_OK; s <= CUPI_E_IO; s++) {
        assert_string_not_equal(cupi_status_name((cupi_status)s), "unknown");
        assert_string_not_equal(cupi_status_text((cupi_status)s), "unknown error");
    }
    assert_string_equal(cupi_status_name((cupi_status)(CUPI_E_IO + 1)), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_every_status_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
