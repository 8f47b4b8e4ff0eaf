/* test_http_errors.c - what a failed transfer is reported as: each libcurl
 * code and transfer stage gives one status and one fixed text, never
 * libcurl's "Out of memory" for a peer's oversized header, never a number
 * that changes from one occurrence of a fault to the next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cupi_http_internal.h"

static cupi_status failure(const cupi_transfer_facts *f, char *text, size_t textsz)
{
    cupi_status st = cupi_http_failure(f, text, textsz);
    assert_true(text[0] != '\0');
    return st;
}

static void expect(const cupi_transfer_facts *f, cupi_status want, const char *text)
{
    char got[256];
    cupi_status st = failure(f, got, sizeof got);
    if (st != want || strcmp(got, text) != 0)
        fail_msg("code %d: got %s \"%s\", want %s \"%s\"", (int)f->rc, cupi_status_name(st),
                 got, cupi_status_name(want), text);
}

static void test_stages_of_a_timeout(void **state)
{
    (void)state;
    cupi_transfer_facts f = {.rc = CURLE_OPERATION_TIMEDOUT, .https = true};
    expect(&f, CUPI_E_TIMEOUT, "timeout resolving the host name (DNS)");
    f.resolved = true;
    expect(&f, CUPI_E_TIMEOUT, "timeout while connecting");
    f.connected = true;
    expect(&f, CUPI_E_TIMEOUT, "timeout in the TLS handshake");
    f.tls_done = true;
    expect(&f, CUPI_E_TIMEOUT, "timeout while sending the request");
    f.request_sent = true;
    expect(&f, CUPI_E_TIMEOUT, "timeout waiting for the answer");
    f.answer_started = true;
    expect(&f, CUPI_E_TIMEOUT, "timeout while receiving the answer");
    /* Plain http has no handshake to wait for. */
    cupi_transfer_facts plain = {
        .rc = CURLE_OPERATION_TIMEDOUT, .resolved = true, .connected = true};
    expect(&plain, CUPI_E_TIMEOUT, "timeout while sending the request");
}

static void test_connect_failures(void **state)
{
    (void)state;
    cupi_transfer_facts f = {.rc = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED};
    expect(&f, CUPI_E_TRANSPORT, "connection refused");
    f.os_errno = EHOSTUNREACH;
    expect(&f, CUPI_E_TRANSPORT, "host unreachable (no route)");
    f.os_errno = ENETUNREACH;
    expect(&f, CUPI_E_TRANSPORT, "network unreachable (no route)");
    f.os_errno = ETIMEDOUT;
    expect(&f, CUPI_E_TIMEOUT, "timeout while connecting");
    f.os_errno = 0;
    expect(&f, CUPI_E_TRANSPORT, "could not connect");
    cupi_transfer_facts dns = {.rc = CURLE_COULDNT_RESOLVE_HOST};
    expect(&dns, CUPI_E_TRANSPORT, "host name not found (DNS)");
}

static void test_oversized_answers(void **state)
{
    (void)state;
    /* libcurl 7.x: a header line over its limit is "out of memory". */
    cupi_transfer_facts f = {
        .rc = CURLE_OUT_OF_MEMORY, .connected = true, .request_sent = true};
    expect(&f, CUPI_E_TOO_LARGE, "response header larger than 64 KiB refused");
    f.answer_started = true;
    expect(&f, CUPI_E_TOO_LARGE, "response header larger than 64 KiB refused");
    /* Once the header block is complete, or before anything was sent, it
     * really is this process's memory. */
    f.headers_done = true;
    expect(&f, CUPI_E_NOMEM, "out of memory in the client");
    cupi_transfer_facts early = {.rc = CURLE_OUT_OF_MEMORY};
    expect(&early, CUPI_E_NOMEM, "out of memory in the client");
    /* The caps abort with a write error; they are what is reported. */
    cupi_transfer_facts hdr = {.rc = CURLE_WRITE_ERROR, .header_too_large = true};
    expect(&hdr, CUPI_E_TOO_LARGE, "response header larger than 64 KiB refused");
    cupi_transfer_facts body = {.rc = CURLE_WRITE_ERROR, .body_too_large = true};
    expect(&body, CUPI_E_TOO_LARGE, "response body larger than 1 MiB refused");
#if LIBCURL_VERSION_NUM >= 0x080600
    cupi_transfer_facts big = {.rc = CURLE_TOO_LARGE, .request_sent = true};
    expect(&big, CUPI_E_TOO_LARGE, "response header larger than 64 KiB refused");
#endif
}

static void test_tls_failures(void **state)
{
    (void)state;
    cupi_transfer_facts f = {
        .rc = CURLE_PEER_FAILED_VERIFICATION, .https = true, .connected = true};
    f.tls_verify = 10;
    expect(&f, CUPI_E_TLS, "TLS: server certificate expired");
    f.tls_verify = 18;
    expect(&f, CUPI_E_TLS,
           "TLS: server certificate self-signed and not trusted (see cupiCaFile)");
    f.tls_verify = 20;
    expect(&f, CUPI_E_TLS, "TLS: server certificate issuer not trusted (see cupiCaFile)");
    f.tls_verify = 0; /* the chain is fine: libcurl's host name check failed */
    expect(&f, CUPI_E_TLS, "TLS: server certificate does not name the URL's host");
    f.tls_verify = 65;
    expect(&f, CUPI_E_TLS, "TLS: server certificate not trusted (see cupiCaFile)");
    cupi_transfer_facts hs = {.rc = CURLE_SSL_CONNECT_ERROR};
    expect(&hs, CUPI_E_TLS, "TLS handshake failed");
    cupi_transfer_facts ca = {.rc = CURLE_SSL_CACERT_BADFILE};
    expect(&ca, CUPI_E_TLS, "TLS: the CA file could not be read");
}

static void test_connection_lost(void **state)
{
    (void)state;
    cupi_transfer_facts f = {.rc = CURLE_GOT_NOTHING, .request_sent = true};
    expect(&f, CUPI_E_TRANSPORT, "connection closed without an answer");
    f.rc = CURLE_RECV_ERROR;
    expect(&f, CUPI_E_TRANSPORT, "connection lost while receiving the answer");
    f.rc = CURLE_SEND_ERROR;
    expect(&f, CUPI_E_TRANSPORT, "connection lost while sending the request");
    f.rc = CURLE_PARTIAL_FILE;
    expect(&f, CUPI_E_TRANSPORT,
           "answer cut short: connection closed before the announced length");
}

/* Every code libcurl has: a status that is a failure, a text without
 * libcurl's "Out of memory" unless the memory is ours, no placeholders. */
static void test_every_code(void **state)
{
    (void)state;
    for (int rc = 1; rc < CURL_LAST; rc++) {
        cupi_transfer_facts f = {.rc = (CURLcode)rc, .connected = true, .request_sent = true};
        char text[256];
        cupi_status st = failure(&f, text, sizeof text);
        assert_int_not_equal(st, CUPI_OK);
        assert_null(strstr(text, "Out of memory"));
        assert_null(strchr(text, '%'));
        char again[256];
        assert_int_equal(cupi_http_failure(&f, again, sizeof again), st);
        assert_string_equal(text, again);
    }
    cupi_transfer_facts odd = {.rc = CURLE_FTP_ACCEPT_FAILED};
    expect(&odd, CUPI_E_TRANSPORT, "transfer failed (libcurl error 10)");
}

static void test_http_statuses(void **state)
{
    (void)state;
    static const struct {
        long http;
        cupi_status st;
    } cases[] = {
        {200, CUPI_OK},          {204, CUPI_OK},       {302, CUPI_E_REJECTED},
        {400, CUPI_E_REJECTED},  {401, CUPI_E_AUTH},   {403, CUPI_E_AUTH},
        {404, CUPI_E_NOT_FOUND}, {503, CUPI_E_BUSY},   {500, CUPI_E_SERVER},
        {0, CUPI_E_SERVER},      {599, CUPI_E_SERVER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(cupi_http_status(cases[i].http), cases[i].st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_of_a_timeout), cmocka_unit_test(test_connect_failures),
        cmocka_unit_test(test_oversized_answers),   cmocka_unit_test(test_tls_failures),
        cmocka_unit_test(test_connection_lost),     cmocka_unit_test(test_every_code),
        cmocka_unit_test(test_http_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
