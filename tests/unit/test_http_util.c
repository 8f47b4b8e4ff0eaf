/* test_http_util.c - the HTTP client's pure helpers on their own: the
 * JSESSIONID Set-Cookie parser and the server URL check. Cases found by
 * fuzzing are kept here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cupi_http_internal.h"

static bool cookie(const char *line, char *out, size_t outsz)
{
    return cupi_http_session_cookie(line, strlen(line), out, outsz);
}

static void test_cookie_taken(void **state)
{
    (void)state;
    char out[CUPI_SESSION_MAX + 1];
    static const struct {
        const char *line, *want;
    } ok[] = {
        {"Set-Cookie: JSESSIONID=ABC123; Path=/vmrest/; Secure; HttpOnly\r\n", "ABC123"},
        {"set-cookie:JSESSIONID=abc\r\n", "abc"},
        {"Set-Cookie: JSESSIONID=\"quoted\"; Path=/\r\n", "quoted"},
        {"Set-Cookie: JSESSIONID=blank-before-semicolon ; Path=/\r\n",
         "blank-before-semicolon"},
        {"Set-Cookie: JSESSIONID=no-line-end", "no-line-end"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        memset(out, 0, sizeof out);
        if (!cookie(ok[i].line, out, sizeof out))
            fail_msg("refused: %s", ok[i].line);
        assert_string_equal(out, ok[i].want);
    }
}

/* A value is taken whole or not at all: a session id cut at a byte no
 * cookie may hold would be sent back as a different, wrong session (before,
 * "ABC\x01DEF" was kept as "ABC"). */
static void test_cookie_refused(void **state)
{
    (void)state;
    char out[CUPI_SESSION_MAX + 1];
    static const char *const bad[] = {
        "Set-Cookie: JSESSIONID=ABC\x01"
        "DEF; Path=/\r\n",
        "Set-Cookie: JSESSIONID=ABC DEF\r\n",
        "Set-Cookie: JSESSIONID=ABC,DEF\r\n",
        "Set-Cookie: JSESSIONID=ABC\"\r\n",
        "Set-Cookie: JSESSIONID=\"ABC\r\n",
        "Set-Cookie: JSESSIONID=\"ABC\"x\r\n",
        "Set-Cookie: JSESSIONID=\xc3\xa9\r\n",
        "Set-Cookie: JSESSIONID=; Max-Age=0\r\n",
        "Set-Cookie: JSESSIONIDSSO=ABC\r\n",
        "Set-Cookie: jsessionid=ABC\r\n",
        "Cookie: JSESSIONID=ABC\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(out, "untouched");
        if (cookie(bad[i], out, sizeof out))
            fail_msg("taken (%s): %s", out, bad[i]);
    }
    /* Longer than the buffer: refused, not cut. */
    char line[CUPI_SESSION_MAX + 64];
    int n = snprintf(line, sizeof line, "Set-Cookie: JSESSIONID=");
    memset(line + n, 'A', CUPI_SESSION_MAX + 1);
    line[n + CUPI_SESSION_MAX + 1] = '\0';
    assert_false(cookie(line, out, sizeof out));
    line[n + CUPI_SESSION_MAX] = '\0';
    assert_true(cookie(line, out, sizeof out));
    assert_int_equal(strlen(out), CUPI_SESSION_MAX);
}

static cupi_status base_url(const char *url, bool insecure, char *base, size_t basesz)
{
    char *b = NULL, err[256];
    cupi_status st = cupi_http_base_url(url, insecure, &b, err, sizeof err);
    snprintf(base, basesz, "%s", st == CUPI_OK ? b : err);
    free(b);
    return st;
}

/* An empty user info stays in the URL curl gives back ("https://:@host"),
 * so it would have been in every request URL; before, only a non-empty user
 * or password was refused. */
static void test_url_user_info(void **state)
{
    (void)state;
    char out[256];
    static const char *const bad[] = {"https://:@cuc.example.com", "https://@cuc.example.com",
                                      "https:/:@cuc.example.com", "https://u:@cuc.example.com",
                                      "https://:p@cuc.example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (base_url(bad[i], false, out, sizeof out) == CUPI_OK)
            fail_msg("accepted %s as %s", bad[i], out);
        assert_non_null(strstr(out, "credentials"));
    }
    /* The usual shapes, normalised to scheme://host[:port]. */
    static const struct {
        const char *url, *want;
    } ok[] = {{"https://cuc.example.com:8443/", "https://cuc.example.com:8443"},
              {"https://cuc.example.com?", "https://cuc.example.com"},
              {"https://[::1]", "https://[::1]"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(base_url(ok[i].url, false, out, sizeof out), CUPI_OK);
        assert_string_equal(out, ok[i].want);
    }
}

/* The base is what curl will request: checked until it is its own result.
 * Before, "http:/%32" gave "http://2", which curl then requests as
 * "http://0.0.0.2" (found by fuzzing: the check was not idempotent). */
static void test_url_settles(void **state)
{
    (void)state;
    static const struct {
        const char *url, *want;
    } cases[] = {{"http:/%32", "http://0.0.0.2"},
                 {"https://ex%61mple.com", "https://example.com"},
                 {"https://127.1:8443", "https://127.0.0.1:8443"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256], again[256];
        assert_int_equal(base_url(cases[i].url, true, out, sizeof out), CUPI_OK);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(base_url(out, true, again, sizeof again), CUPI_OK);
        assert_string_equal(again, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_taken),
        cmocka_unit_test(test_cookie_refused),
        cmocka_unit_test(test_url_user_info),
        cmocka_unit_test(test_url_settles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
