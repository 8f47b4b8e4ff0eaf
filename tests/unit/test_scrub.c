/* test_scrub.c - keeping credentials out of messages (by structure, by long
 * secrets, withholding for short ones) and rendering server text as one
 * printable line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cupi/cupi.h>

#include "codec_internal.h"
#include "cupi_scrub.h"

/* Passwords of 1, 3, 8 and 64 characters. */
static const char *const passwords[] = {
    "p",
    "p0r",
    "S3cr3t!x",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
};

/* Scrubs a copy of text; returns it (static) and the verdict. */
static const char *scrubbed(const cupi_scrub *s, const char *text, bool *whole)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    bool w = cupi_scrub_text(s, buf, sizeof buf);
    if (whole)
        *whole = w;
    return buf;
}

static void test_basic_header_by_structure(void **state)
{
    (void)state;
    /* No secret known at all: the shape alone is enough. */
    bool whole;
    assert_string_equal(
        scrubbed(NULL, "echo: Authorization: Basic YWRtaW46U3VwM3JTM2NyZXRQdw== ok", &whole),
        "echo: Authorization: Basic *** ok");
    assert_true(whole);
    assert_string_equal(scrubbed(NULL, "authorization: basic dXNlcjpw", NULL),
                        "authorization: basic ***");
    assert_string_equal(scrubbed(NULL, "Basic\tYTpi,", NULL), "Basic\t***,");
    /* Unrelated text with the word stays as it is. */
    const char *plain[] = {
        "Basic authentication required",
        "basic realm=\"Cisco Unity Connection\"",
        "Basic",
        "BasicYWRtaW46cA==",
        "use Basic auth",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        assert_string_equal(scrubbed(NULL, plain[i], NULL), plain[i]);
}

static void test_session_and_password_fields(void **state)
{
    (void)state;
    assert_string_equal(
        scrubbed(NULL, "Cookie: JSESSIONID=A1B2C3D4E5F6; JSESSIONIDSSO=x", NULL),
        "Cookie: JSESSIONID=***; JSESSIONIDSSO=x");
    assert_string_equal(
        scrubbed(NULL, "bad body <SmtpClientConfiguration><smtpPassword>hunter2</smtpPassword>",
                 NULL),
        "bad body <SmtpClientConfiguration><smtpPassword>***</smtpPassword>");
    assert_string_equal(scrubbed(NULL, "{\"smtpPassword\" : \"a\\\"b\", \"x\": 1}", NULL),
                        "{\"smtpPassword\" : \"***\", \"x\": 1}");
    assert_string_equal(scrubbed(NULL, "<smtpPassword></smtpPassword>", NULL),
                        "<smtpPassword></smtpPassword>");
}

static void test_basic_credential_encoding(void **state)
{
    (void)state;
    char *b = cupi_scrub_basic_credential("admin", "Sup3rS3cretPw");
    assert_string_equal(b, "YWRtaW46U3VwM3JTM2NyZXRQdw"); /* padding left off */
    free(b);
    b = cupi_scrub_basic_credential("u", "");
    assert_string_equal(b, "dTo");
    free(b);
    b = cupi_scrub_basic_credential("ab", "c");
    assert_string_equal(b, "YWI6Yw");
    free(b);
}

static void test_passwords_of_every_length(void **state)
{
    (void)state;
    static const char *const unrelated[] = {
        "Failed to connect to 127.0.0.1 port 22799 after 0 ms: Connection refused",
        "Invalid value for Port: possible values are 25, 587",
        "Not Authorized",
    };
    for (size_t p = 0; p < sizeof passwords / sizeof passwords[0]; p++) {
        const char *pw = passwords[p];
        char *cred = cupi_scrub_basic_credential("cupiadmin", pw);
        cupi_scrub s;
        cupi_scrub_init(&s);
        cupi_scrub_add(&s, pw);
        cupi_scrub_add(&s, cred);
        bool short_pw = strlen(pw) < CUPI_SCRUB_MIN_LEN;

        /* Unrelated text is never changed, whatever the password. */
        for (size_t u = 0; u < sizeof unrelated / sizeof unrelated[0]; u++) {
            bool whole;
            assert_string_equal(scrubbed(&s, unrelated[u], &whole), unrelated[u]);
            /* A short secret in server text: the caller withholds it. */
            assert_true(whole == !(short_pw && strstr(unrelated[u], pw)));
        }

        /* The base64 credential, with or without its Basic label. */
        char echo[512];
        snprintf(echo, sizeof echo, "seen token %s= and Authorization: Basic %s==", cred, cred);
        bool whole;
        const char *out = scrubbed(&s, echo, &whole);
        assert_null(strstr(out, cred));
        assert_non_null(strstr(out, "Basic ***"));

        /* The plaintext password. */
        snprintf(echo, sizeof echo, "password=%s; again \"%s\"", pw, pw);
        out = scrubbed(&s, echo, &whole);
        if (short_pw) {
            /* Never searched and replaced: the text is left whole... */
            assert_string_equal(out, echo);
            /* ...and withheld by the caller. */
            assert_false(whole);
        } else {
            assert_true(whole);
            assert_null(strstr(out, pw));
            assert_string_equal(out, "password=***; again \"***\"");
        }
        free(cred);
    }
}

static void test_long_secret_is_masked_before_cut(void **state)
{
    (void)state;
    const char *pw = passwords[3];
    cupi_scrub s;
    cupi_scrub_init(&s);
    cupi_scrub_add(&s, pw);
    /* A value echoing the password across the point where it is cut. */
    char text[256];
    snprintf(text, sizeof text, "%040d%s", 0, pw);
    char out[64];
    codec_fragment(&s, text, strlen(text), out, sizeof out);
    assert_null(strstr(out, "0123456789abcdef"));
    assert_non_null(strstr(out, "***"));
    /* A short secret in a value withholds the value. */
    cupi_scrub_init(&s);
    cupi_scrub_add(&s, passwords[0]);
    codec_fragment(&s, "ppp.example.com", 15, out, sizeof out);
    assert_non_null(strstr(out, "withheld"));
    codec_fragment(&s, "mail.test.net", 13, out, sizeof out);
    assert_string_equal(out, "mail.test.net");
    /* The result never ends in half a UTF-8 character. */
    char small[8] = "ab\xc3\xa9\xc3\xa9\xc3";
    assert_true(cupi_scrub_text(NULL, small, 6));
    assert_true(cupi_utf8_valid(small, strlen(small), NULL));
    assert_string_equal(small, "ab\xc3\xa9");
}

/* --- UTF-8 and printable text ------------------------------------------------ */

static void test_utf8(void **state)
{
    (void)state;
    size_t bad = 99;
    assert_true(cupi_utf8_valid("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa7", 16, NULL));
    assert_false(cupi_utf8_valid("x\xc3", 2, &bad));
    assert_int_equal(bad, 1);
    assert_false(cupi_utf8_valid("\xc0\xaf", 2, &bad)); /* overlong */
    assert_int_equal(bad, 0);
    assert_false(cupi_utf8_valid("\xed\xa0\x80", 3, NULL));     /* surrogate */
    assert_false(cupi_utf8_valid("\xf4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
    assert_false(cupi_utf8_valid("\x80", 1, NULL));
    assert_true(cupi_utf8_valid("\xf4\x8f\xbf\xbf", 4, NULL)); /* U+10FFFF */
    assert_true(cupi_codepoint_is_control(0));
    assert_true(cupi_codepoint_is_control(0x7f));
    assert_true(cupi_codepoint_is_control(0x85));
    assert_false(cupi_codepoint_is_control(0xa0));
    assert_false(cupi_codepoint_is_control(' '));
}

static void test_printable(void **state)
{
    (void)state;
    char out[64];
    static const char nul[] = "ab\0cd\x1b\n\xc3\xbc\xff";
    cupi_text_printable(nul, sizeof nul - 1, out, sizeof out);
    assert_string_equal(out, "ab\\x00cd\\x1B\\x0A\xc3\xbc\\xFF");
    /* C1 controls are escaped byte by byte. */
    cupi_text_printable("a\xc2\x85", 3, out, sizeof out);
    assert_string_equal(out, "a\\xC2\\x85");
    /* A cut shows, and never splits a character or an escape. */
    char small[10];
    cupi_text_printable("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9, small, 9);
    assert_string_equal(small, "\xe2\x82\xac...");
    cupi_text_printable("abcd\x01\x02", 6, small, sizeof small);
    assert_string_equal(small, "abcd...");
    cupi_text_printable("abcdefghi", 9, small, sizeof small);
    assert_string_equal(small, "abcdefghi"); /* exactly fits */
    cupi_text_printable("abcdefghij", 10, small, sizeof small);
    assert_string_equal(small, "abcdef...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_header_by_structure),
        cmocka_unit_test(test_session_and_password_fields),
        cmocka_unit_test(test_basic_credential_encoding),
        cmocka_unit_test(test_passwords_of_every_length),
        cmocka_unit_test(test_long_secret_is_masked_before_cut),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
