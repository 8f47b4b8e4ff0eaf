/* cupi_http_transfer.c - curl easy handles, pooled while the client keeps
 * its connections: the options that never change for a client are set once,
 * and the write and header callbacks that enforce the body cap and pick up
 * the session cookie. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cupi/cupi.h>
#include <cupi/secret.h>

#include "cupi_http_internal.h"

/* Idle handles (and so kept connections) a client keeps between requests. */
#define KEEP_IDLE_HANDLES 1u

/* A pooled handle keeps a small body buffer; a big one is given back. */
#define KEEP_BODY_BYTES (64u * 1024u)

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    cupi_transfer *t = userp;
    size_t n = size * nmemb;
    if (n > CUPI_MAX_BODY - t->len) {
        /* Returning short makes curl abort with CURLE_WRITE_ERROR. */
        t->too_large = true;
        return 0;
    }
    size_t need = t->len + n + 1; /* +1: keep the body NUL-terminated */
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < need)
            cap *= 2;
        if (cap > CUPI_MAX_BODY + 1)
            cap = CUPI_MAX_BODY + 1;
        char *b = realloc(t->body, cap);
        if (!b)
            return 0;
        t->body = b;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    t->body[t->len] = '\0';
    return n;
}

/* Refuses an oversized body before any of it is downloaded. */
static bool announced_too_large(const char *line, size_t len)
{
    static const char hdr[] = "content-length:";
    if (len < sizeof hdr - 1 || strncasecmp(line, hdr, sizeof hdr - 1) != 0)
        return false;
    char num[32];
    size_t i = sizeof hdr - 1, n = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    while (i < len && n + 1 < sizeof num && line[i] >= '0' && line[i] <= '9')
        num[n++] = line[i++];
    num[n] = '\0';
    if (n == 0)
        return false;
    if (n >= 20) /* more digits than any sane length */
        return true;
    return strtoull(num, NULL, 10) > CUPI_MAX_BODY;
}

/* Counts one header line against the cap; a status line starts a new block
 * (an interim 1xx answer has its own). */
static bool header_within_cap(cupi_transfer *t, const char *line, size_t len)
{
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        t->header_bytes = 0;
        t->headers_done = false;
    }
    t->header_bytes += len;
    if ((len == 2 && line[0] == '\r') || (len == 1 && line[0] == '\n'))
        t->headers_done = true;
    return t->header_bytes <= CUPI_MAX_HEADER_BYTES;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    cupi_transfer *t = userp;
    size_t n = size * nmemb;
    if (!header_within_cap(t, data, n)) {
        t->header_too_large = true;
        return 0;
    }
    if (announced_too_large(data, n)) {
        t->too_large = true;
        return 0;
    }
    if (cupi_http_session_cookie(data, n, t->session, sizeof t->session))
        t->got_session = true;
    return n;
}

void cupi_transfer_free_headers(cupi_transfer *t)
{
    /* The list carries the Authorization line: cleared even when curl's
     * allocator does not clear what it frees. */
    for (struct curl_slist *l = t->headers; l; l = l->next)
        if (l->data)
            cupi_secret_wipe(l->data, strlen(l->data));
    curl_slist_free_all(t->headers);
    t->headers = NULL;
}

void cupi_transfer_destroy(cupi_transfer *t)
{
    if (!t)
        return;
    if (t->easy)
        curl_easy_cleanup(t->easy);
    cupi_transfer_free_headers(t);
    free(t->body);
    free(t);
}

/* Options that never change between attempts of one client. */
static bool transfer_setup(cupi_client *c, CURL *h, cupi_transfer *t)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                          \
    do {                                                                                       \
        if (rc == CURLE_OK)                                                                    \
            rc = curl_easy_setopt(h, opt, val);                                                \
    } while (0)
    SET(CURLOPT_PRIVATE, t);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    /* HTTP/1.1 so that max_concurrent is also the number of connections
     * CUPI sees, which is what its throttling counts. */
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_USERAGENT, "libcupi/" CUPI_VERSION);
    /* Basic credentials go in as a header line of ours (build_headers), not
     * as CURLOPT_USERNAME/PASSWORD, which curl would copy into the handle and
     * into every connection and free without clearing. */
    SET(CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca && rc == CURLE_OK)
        rc = cupi_ca_setup(c, h);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
#undef SET
    if (rc == CURLE_OK)
        rc = cupi_conn_setup(c, h);
    return rc == CURLE_OK;
}

cupi_transfer *cupi_transfer_take(cupi_client *c)
{
    cupi_transfer *t = c->idle;
    if (t) {
        c->idle = t->next;
        c->n_idle--;
        t->next = NULL;
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->client = c;
    t->easy = curl_easy_init();
    if (!t->easy || !transfer_setup(c, t->easy, t)) {
        cupi_transfer_destroy(t);
        return NULL;
    }
    return t;
}

void cupi_transfer_release(cupi_client *c, cupi_transfer *t)
{
    t->req = NULL;
    if (t->cap > KEEP_BODY_BYTES) {
        free(t->body);
        t->body = NULL;
        t->cap = 0;
    }
    t->len = 0;
    /* A handle kept for a connection that is not kept would be the largest
     * thing an idle client holds (curl's per-handle state and buffers). While
     * more requests wait, every handle is reused at once; once the client
     * goes idle, one is all that reads at their own phases reuse. */
    bool more = c->queue.n || c->retrying.n || c->n_active > 0;
    unsigned keep = more ? c->max_concurrent : KEEP_IDLE_HANDLES;
    if (!c->keep_connections || c->n_idle >= keep) {
        cupi_transfer_destroy(t);
        return;
    }
    t->next = c->idle;
    c->idle = t;
    c->n_idle++;
}
