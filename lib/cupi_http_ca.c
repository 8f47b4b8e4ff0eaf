/* cupi_http_ca.c - a client's own CA file, read once and parsed once per
 * engine.
 *
 * libcurl would open a CA file's path again at TLS handshakes, inside the
 * caller's event loop: a file swapped for a FIFO there would stop the whole
 * process. So the file is read when the client is made (cupi_file.h: not
 * blocking, a regular file, bounded) and never opened by libcurl. What was
 * read is parsed once into an OpenSSL certificate store that every
 * connection of every client trusting the same bytes shares (curl's own CA
 * blob option would parse it again at each connection: tens of
 * milliseconds for a bundle of a hundred CAs, at every background read of
 * a fleet). With a libcurl whose TLS library is not OpenSSL, the bytes are
 * handed over as a CA blob instead.
 *
 * As curl did with the file, a client reads it again every few minutes
 * (with the same rules), before a request: a CA an operator replaces is
 * trusted within that time, without a reload. A file that cannot be read
 * then leaves the CAs read before in place; the next configuration reload
 * reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cupi_file.h"
#include "cupi_http_internal.h"

/* How often a client reads its CA file again (ms). */
#define CA_RECHECK_MS (300L * 1000L)

struct cupi_ca {
    cupi_ca *next; /* in engine->cas */
    unsigned refs; /* clients using it */
    char *pem;     /* the file's bytes, what identifies it */
    size_t len;
    X509_STORE *store; /* NULL when curl takes the blob instead */
};

/* Whether curl lets us give OpenSSL's context our store (it does when its
 * TLS library is OpenSSL, which is what our OpenSSL calls need). */
static bool curl_uses_openssl(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

/* The certificates (and CRLs) of a PEM bundle; NULL when it holds none or
 * an entry does not parse, with why saying which (may be NULL). */
static X509_STORE *parse_store(const char *pem, size_t len, char *why, size_t whysz)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    ERR_clear_error();
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (!infos) {
        /* The reader stops after the entry that does not parse: it is the
         * last one begun in what was read. */
        char *rest = NULL;
        long left = BIO_get_mem_data(bio, &rest);
        size_t used = left >= 0 && (size_t)left <= len ? len - (size_t)left : len;
        unsigned n = 0;
        for (const char *p = pem; (p = strstr(p, "-----BEGIN ")) && (size_t)(p - pem) < used;
             p++)
            n++;
        unsigned long e = ERR_peek_last_error();
        const char *reason = e ? ERR_reason_error_string(e) : NULL;
        snprintf(why, whysz, "certificate %u does not parse: %s", n ? n : 1,
                 reason ? reason : "bad PEM");
    }
    ERR_clear_error();
    BIO_free(bio);
    X509_STORE *store = infos ? X509_STORE_new() : NULL;
    int added = 0;
    for (int i = 0; store && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1)
            added++;
        if (info->crl)
            X509_STORE_add_crl(store, info->crl);
    }
    if (infos && !store)
        snprintf(why, whysz, "out of memory");
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (store && added == 0) {
        X509_STORE_free(store);
        store = NULL;
        snprintf(why, whysz, "no PEM certificate in it");
    }
    return store;
}

bool cupi_ca_file_check(const char *path, char *why, size_t whysz)
{
    size_t len = 0;
    char reason[160];
    char *pem = cupi_file_read(path, CUPI_CA_FILE_MAX, &len, NULL, reason, sizeof reason);
    if (!pem) {
        snprintf(why, whysz, "cannot read it: %s", reason);
        return false;
    }
    X509_STORE *store = parse_store(pem, len, why, whysz);
    free(pem);
    X509_STORE_free(store);
    return store != NULL;
}

/* The engine's entry for these bytes (taking pem), or a new one. */
static cupi_ca *ca_for(cupi_engine *e, char *pem, size_t len, char *why, size_t whysz)
{
    for (cupi_ca *ca = e->cas; ca; ca = ca->next) {
        if (ca->len == len && memcmp(ca->pem, pem, len) == 0) {
            free(pem);
            ca->refs++;
            return ca;
        }
    }
    cupi_ca *ca = calloc(1, sizeof *ca);
    if (!ca) {
        free(pem);
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    ca->pem = pem;
    ca->len = len;
    if (curl_uses_openssl()) {
        ca->store = parse_store(pem, len, NULL, 0);
        if (!ca->store) {
            snprintf(why, whysz, "holds no PEM certificate");
            free(pem);
            free(ca);
            return NULL;
        }
    } else if (len == 0) {
        snprintf(why, whysz, "holds no PEM certificate");
        free(pem);
        free(ca);
        return NULL;
    }
    ca->refs = 1;
    ca->next = e->cas;
    e->cas = ca;
    return ca;
}

cupi_ca *cupi_ca_get(cupi_engine *e, const char *path, char *why, size_t whysz)
{
    size_t len = 0;
    char *pem = cupi_file_read(path, CUPI_CA_FILE_MAX, &len, NULL, why, whysz);
    return pem ? ca_for(e, pem, len, why, whysz) : NULL;
}

void cupi_ca_refresh(cupi_client *c, int64_t now)
{
    /* The blob is handed to curl once per transfer handle: it stays. */
    if (!c->ca || !c->ca->store || now - c->ca_read_ms < CA_RECHECK_MS)
        return;
    c->ca_read_ms = now;
    char why[128];
    size_t len = 0;
    char *pem = cupi_file_read(c->ca_file, CUPI_CA_FILE_MAX, &len, NULL, why, sizeof why);
    if (!pem)
        return;
    if (len == c->ca->len && memcmp(pem, c->ca->pem, len) == 0) {
        free(pem);
        return;
    }
    cupi_ca *fresh = ca_for(c->engine, pem, len, why, sizeof why);
    if (!fresh)
        return;
    cupi_ca_put(c->engine, c->ca);
    c->ca = fresh;
}

void cupi_ca_put(cupi_engine *e, cupi_ca *ca)
{
    if (!ca || --ca->refs > 0)
        return;
    for (cupi_ca **p = &e->cas; *p; p = &(*p)->next) {
        if (*p == ca) {
            *p = ca->next;
            break;
        }
    }
    /* Connections still open hold references of their own to the store. */
    X509_STORE_free(ca->store);
    free(ca->pem);
    free(ca);
}

size_t cupi_ca_count(const cupi_engine *e)
{
    size_t n = 0;
    for (const cupi_ca *ca = e->cas; ca; ca = ca->next)
        n++;
    return n;
}

/* Called by curl for each new connection: the context trusts exactly the
 * client's CAs, as they are now. libcurl 7.88 completes its own trust
 * setup after this callback, on the store it finds in the context: with no
 * CA file, directory or blob, and its CA cache off (cupi_ca_setup), that
 * only sets the verification flags it sets on every store. */
static CURLcode use_store(CURL *h, void *ssl_ctx, void *arg)
{
    (void)h;
    const cupi_client *c = arg;
    SSL_CTX_set1_cert_store(ssl_ctx, c->ca->store);
    return CURLE_OK;
}

CURLcode cupi_ca_setup(const cupi_client *c, CURL *h)
{
    const cupi_ca *ca = c->ca;
    /* A CA directory beside the client's CAs would trust more than them.
     * Never curl's cache with our own CAs: libcurl 7.88 sets up its store
     * after the SSL_CTX callback, so a cached store would take the place of
     * the client's CAs, and the client's store would be cached for other
     * clients. */
    CURLcode rc = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    if (rc != CURLE_OK)
        return rc;
    if (ca->store) {
        /* Nothing of curl's own: no CA file or directory is opened. */
        rc = curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, use_store);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)c);
        return rc;
    }
    /* Not copied into each handle: the client (and ca, which it never
     * replaces in this case) outlives its transfers; a connection keeps a
     * copy of its own. */
    struct curl_blob blob = {ca->pem, ca->len, CURL_BLOB_NOCOPY};
    return curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
}
