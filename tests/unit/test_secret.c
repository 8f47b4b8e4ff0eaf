/* test_secret.c - the helpers that keep passwords out of released memory:
 * the wipe itself, the Basic credentials line built in place of curl's, and
 * the allocator the libraries get (it must still behave as an allocator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cupi/cupi.h>

#include <cjson/cJSON.h>
#include <libxml/xmlmemory.h>
#include <string.h>

#include "cupi_http_internal.h"

static void wipe_clears_exactly_the_range(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof buf);
    cupi_secret_wipe(buf + 4, 8);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], i >= 4 && i < 12 ? 0 : 'x');
    cupi_secret_wipe(NULL, 10); /* no effect, no crash */
    cupi_secret_wipe(buf, 0);
    assert_int_equal(buf[0], 'x');
}

static void secret_free_accepts_null_and_strings(void **state)
{
    (void)state;
    cupi_secret_free(NULL);
    cupi_secret_free(strdup("Hunter2-secret")); /* LeakSanitizer checks it is freed */
}

static void basic_auth_line_matches_rfc7617(void **state)
{
    (void)state;
    /* The example of RFC 7617 section 2, then every padding length. */
    static const struct {
        const char *user, *password, *line;
    } cases[] = {
        {"Aladdin", "open sesame", "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="},
        {"a", "", "Authorization: Basic YTo="},
        {"ab", "", "Authorization: Basic YWI6"},
        {"ab", "c", "Authorization: Basic YWI6Yw=="},
        {"admin", "p\xc3\xa4ss:word", "Authorization: Basic YWRtaW46cMOkc3M6d29yZA=="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = cupi_http_basic_auth(cases[i].user, cases[i].password);
        assert_non_null(line);
        assert_string_equal(line, cases[i].line);
        cupi_secret_free(line);
    }
}

/* After cupi_global_init the libraries' allocators still allocate, grow,
 * shrink and free correctly (contents kept across realloc). */
static void library_allocators_still_work(void **state)
{
    (void)state;
    assert_int_equal(cupi_global_init(), CUPI_OK);
    char *p = xmlMalloc(8);
    assert_non_null(p);
    memcpy(p, "1234567", 8);
    p = xmlRealloc(p, 4096);
    assert_non_null(p);
    assert_string_equal(p, "1234567");
    p = xmlRealloc(p, 4);
    assert_non_null(p);
    assert_memory_equal(p, "1234", 4);
    xmlFree(p);
    char *d = (char *)xmlStrdup((const xmlChar *)"smtpPassword");
    assert_string_equal(d, "smtpPassword");
    xmlFree(d);
    cJSON *o = cJSON_CreateObject();
    assert_non_null(cJSON_AddStringToObject(o, "smtpPassword", "s3cret"));
    char *text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"smtpPassword\":\"s3cret\"}");
    cJSON_free(text);
    cJSON_Delete(o);
    cupi_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wipe_clears_exactly_the_range),
        cmocka_unit_test(secret_free_accepts_null_and_strings),
        cmocka_unit_test(basic_auth_line_matches_rfc7617),
        cmocka_unit_test(library_allocators_still_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
