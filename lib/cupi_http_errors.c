/* cupi_http_errors.c - what a failed transfer means: libcurl's result code,
 * and how far the transfer got, turned into a status and a fixed text.
 *
 * The text is what operators and managers see (cupiServerLastError), so it
 * names what happened in words that stay the same for the same fault: never
 * a measured duration, a byte count or an address. libcurl's own wording
 * (its error buffer, which carries "after 3001 milliseconds") is kept apart
 * as the detail, for logs only. */
#include <errno.h>
#include <stdio.h>

#include "cupi_http_internal.h"

/* The texts of a response over one of the client's caps, made from the cap
 * (cap_text): a rule's text is one of these marks. libcurl's own header
 * limits (100 KiB a line; 300 KiB in all from 8.3) are above the client's
 * cap, so whichever trips, the header was over the cap. */
static const char HEADER_TOO_LARGE[] = "header", BODY_TOO_LARGE[] = "body";

/* "response header larger than 64 KiB refused": the cap in whole MiB or
 * KiB, as it is set. */
static void cap_text(const char *what, char *text, size_t textsz)
{
    unsigned cap = what == HEADER_TOO_LARGE ? CUPI_MAX_HEADER_BYTES : CUPI_MAX_BODY;
    bool mib = cap % (1024u * 1024u) == 0;
    snprintf(text, textsz, "response %s larger than %u %s refused", what,
             mib ? cap / (1024u * 1024u) : cap / 1024u, mib ? "MiB" : "KiB");
}

typedef struct failure_rule {
    CURLcode rc;
    cupi_status status;
    const char *text;
} failure_rule;

/* Codes whose meaning does not depend on how far the transfer got. The
 * others (timeouts, refused connections, certificate checks, memory) are
 * worked out below from the transfer's facts. */
static const failure_rule rules[] = {
    {CURLE_COULDNT_RESOLVE_HOST, CUPI_E_TRANSPORT, "host name not found (DNS)"},
    {CURLE_COULDNT_RESOLVE_PROXY, CUPI_E_TRANSPORT, "proxy host name not found (DNS)"},
    {CURLE_SEND_ERROR, CUPI_E_TRANSPORT, "connection lost while sending the request"},
    {CURLE_RECV_ERROR, CUPI_E_TRANSPORT, "connection lost while receiving the answer"},
    {CURLE_GOT_NOTHING, CUPI_E_TRANSPORT, "connection closed without an answer"},
    {CURLE_PARTIAL_FILE, CUPI_E_TRANSPORT,
     "answer cut short: connection closed before the announced length"},
    {CURLE_WEIRD_SERVER_REPLY, CUPI_E_TRANSPORT,
     "the answer is not HTTP (is the URL's port CUPI's HTTPS port?)"},
    {CURLE_BAD_CONTENT_ENCODING, CUPI_E_PARSE, "answer in a content encoding not understood"},
    {CURLE_UNSUPPORTED_PROTOCOL, CUPI_E_CONFIG, "URL scheme not supported by libcurl"},
    {CURLE_URL_MALFORMAT, CUPI_E_CONFIG, "server URL not valid"},
    {CURLE_SSL_CONNECT_ERROR, CUPI_E_TLS, "TLS handshake failed"},
    {CURLE_SSL_CIPHER, CUPI_E_TLS, "TLS handshake failed: no cipher in common"},
    {CURLE_SSL_CACERT_BADFILE, CUPI_E_TLS, "TLS: the CA file could not be read"},
    {CURLE_SSL_CRL_BADFILE, CUPI_E_TLS, "TLS: the CRL file could not be read"},
    {CURLE_SSL_CERTPROBLEM, CUPI_E_TLS, "TLS: client certificate problem"},
    {CURLE_SSL_CLIENTCERT, CUPI_E_TLS, "TLS: the server wants a client certificate"},
    {CURLE_SSL_ISSUER_ERROR, CUPI_E_TLS, "TLS: server certificate issuer check failed"},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, CUPI_E_TLS, "TLS: server public key not the pinned one"},
    {CURLE_SSL_INVALIDCERTSTATUS, CUPI_E_TLS, "TLS: server certificate status not good"},
    {CURLE_SSL_ENGINE_NOTFOUND, CUPI_E_TLS, "TLS: crypto engine not found"},
    {CURLE_SSL_ENGINE_SETFAILED, CUPI_E_TLS, "TLS: crypto engine could not be used"},
    {CURLE_SSL_ENGINE_INITFAILED, CUPI_E_TLS, "TLS: crypto engine could not be started"},
    {CURLE_SSL_SHUTDOWN_FAILED, CUPI_E_TLS, "TLS: connection shutdown failed"},
    {CURLE_USE_SSL_FAILED, CUPI_E_TLS, "TLS could not be started"},
    {CURLE_ABORTED_BY_CALLBACK, CUPI_E_CANCELLED, "request cancelled"},
#if LIBCURL_VERSION_NUM >= 0x080600
    /* libcurl 8.6 names what older releases report as out of memory. */
    {CURLE_TOO_LARGE, CUPI_E_TOO_LARGE, HEADER_TOO_LARGE},
#endif
};

/* Why connect() failed, when libcurl says only that it could not connect. */
static const struct {
    long err;
    cupi_status status;
    const char *text;
} connect_errors[] = {
    {ECONNREFUSED, CUPI_E_TRANSPORT, "connection refused"},
    {EHOSTUNREACH, CUPI_E_TRANSPORT, "host unreachable (no route)"},
    {ENETUNREACH, CUPI_E_TRANSPORT, "network unreachable (no route)"},
    {ETIMEDOUT, CUPI_E_TIMEOUT, "timeout while connecting"},
    {EADDRNOTAVAIL, CUPI_E_TRANSPORT, "no local address to connect from"},
    {EACCES, CUPI_E_TRANSPORT, "connection not permitted (local firewall)"},
    {EPERM, CUPI_E_TRANSPORT, "connection not permitted (local firewall)"},
};

/* OpenSSL's verification results (X509_V_ERR_*, stable numbers) that an
 * operator can act on; any other is "not trusted". */
static const struct {
    long verify;
    const char *text;
} verify_errors[] = {
    {0, "TLS: server certificate does not name the URL's host"},
    {9, "TLS: server certificate not yet valid"},
    {10, "TLS: server certificate expired"},
    {18, "TLS: server certificate self-signed and not trusted (see cupiCaFile)"},
    {19, "TLS: server certificate chain has an untrusted root (see cupiCaFile)"},
    {20, "TLS: server certificate issuer not trusted (see cupiCaFile)"},
    {21, "TLS: server certificate issuer not trusted (see cupiCaFile)"},
    {62, "TLS: server certificate does not name the URL's host"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static cupi_status timeout_text(const cupi_transfer_facts *f, const char **text)
{
    if (f->answer_started)
        *text = "timeout while receiving the answer";
    else if (f->request_sent)
        *text = "timeout waiting for the answer";
    else if (!f->resolved)
        *text = "timeout resolving the host name (DNS)";
    else if (!f->connected)
        *text = "timeout while connecting";
    else if (f->https && !f->tls_done)
        *text = "timeout in the TLS handshake";
    else
        *text = "timeout while sending the request";
    return CUPI_E_TIMEOUT;
}

static cupi_status connect_text(const cupi_transfer_facts *f, const char **text)
{
    for (size_t i = 0; i < COUNT(connect_errors); i++) {
        if (connect_errors[i].err == f->os_errno) {
            *text = connect_errors[i].text;
            return connect_errors[i].status;
        }
    }
    *text = "could not connect";
    return CUPI_E_TRANSPORT;
}

static cupi_status verify_text(const cupi_transfer_facts *f, const char **text)
{
    *text = "TLS: server certificate not trusted (see cupiCaFile)";
    for (size_t i = 0; i < COUNT(verify_errors); i++)
        if (verify_errors[i].verify == f->tls_verify)
            *text = verify_errors[i].text;
    return CUPI_E_TLS;
}

/* libcurl before 8.6 reports a response header line over its own limit (100
 * KiB) as out of memory. Once the request is out and before the headers are
 * complete, that is what it is: the peer's header, not this process. */
static cupi_status memory_text(const cupi_transfer_facts *f, const char **text)
{
    if (f->request_sent && !f->headers_done) {
        *text = HEADER_TOO_LARGE;
        return CUPI_E_TOO_LARGE;
    }
    *text = "out of memory in the client";
    return CUPI_E_NOMEM;
}

cupi_status cupi_http_failure(const cupi_transfer_facts *f, char *text, size_t textsz)
{
    const char *t = NULL;
    cupi_status st;
    /* The caps come first: they abort the transfer, which libcurl reports
     * as a plain write error. */
    if (f->header_too_large) {
        t = HEADER_TOO_LARGE;
        st = CUPI_E_TOO_LARGE;
    } else if (f->body_too_large) {
        t = BODY_TOO_LARGE;
        st = CUPI_E_TOO_LARGE;
    } else if (f->rc == CURLE_OPERATION_TIMEDOUT) {
        st = timeout_text(f, &t);
    } else if (f->rc == CURLE_COULDNT_CONNECT) {
        st = connect_text(f, &t);
    } else if (f->rc == CURLE_PEER_FAILED_VERIFICATION) {
        st = verify_text(f, &t);
    } else if (f->rc == CURLE_OUT_OF_MEMORY || f->rc == CURLE_WRITE_ERROR) {
        st = memory_text(f, &t);
    } else {
        st = CUPI_E_TRANSPORT;
        for (size_t i = 0; i < COUNT(rules); i++) {
            if (rules[i].rc == f->rc) {
                t = rules[i].text;
                st = rules[i].status;
                break;
            }
        }
    }
    if (t == HEADER_TOO_LARGE || t == BODY_TOO_LARGE)
        cap_text(t, text, textsz);
    else if (t)
        snprintf(text, textsz, "%s", t);
    else /* still the same text for the same fault */
        snprintf(text, textsz, "transfer failed (libcurl error %d)", (int)f->rc);
    return st;
}

cupi_status cupi_http_status(long http)
{
    if (http >= 200 && http < 300)
        return CUPI_OK;
    if (http == 401 || http == 403)
        return CUPI_E_AUTH;
    if (http == 404)
        return CUPI_E_NOT_FOUND;
    if (http == 503)
        return CUPI_E_BUSY;
    if (http >= 300 && http < 500)
        return CUPI_E_REJECTED;
    return CUPI_E_SERVER;
}
