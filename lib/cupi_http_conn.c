/* cupi_http_conn.c - how a client's connections live and what they share,
 * so that a process can watch a fleet of servers: connections kept or closed
 * after use (cupi/client.h), TLS sessions resumed from a per-client cache,
 * one trusted-certificate store per engine and CA file, small receive
 * buffers.
 *
 * An idle kept TLS connection already gives back OpenSSL's record buffers:
 * libcurl's OpenSSL backend sets SSL_MODE_RELEASE_BUFFERS on every SSL_CTX
 * it makes (seen in libcurl 7.88), so no SSL_CTX callback of ours is needed
 * for it. */
#include <stdbool.h>
#include <string.h>

#include "cupi_http_internal.h"

/* How long the engine keeps the system bundle's parsed certificates (s):
 * a bundle the system replaces is read again within this time, and reading
 * it costs one parse every few minutes instead of one per connection. */
#define CA_CACHE_SECONDS 300L

bool cupi_conn_share_new(cupi_client *c)
{
    /* Per client rather than per engine: curl's session cache in a share
     * holds a handful of sessions, so one for a thousand servers would keep
     * almost none; one per client holds exactly its server's session, and
     * its host name goes when the client does. One thread uses the engine,
     * so the share needs no lock callbacks. */
    c->share = curl_share_init();
    if (!c->share)
        return false;
    if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
            CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        cupi_conn_share_free(c);
        return false;
    }
    return true;
}

void cupi_conn_share_free(cupi_client *c)
{
    /* Every easy handle using the share is gone by now (curl refuses to
     * free a share still in use). */
    if (c->share)
        curl_share_cleanup(c->share);
    c->share = NULL;
}

/* curl caches the CA store (per multi handle) only when it comes from a CA
 * file alone: a CA directory, as Debian's libcurl sets by default, turns the
 * cache off and every connection parses the whole bundle again. Without our
 * own CA file the built-in bundle stands alone when curl has one. A client's
 * own CA file is parsed once per engine and replaces curl's store at each
 * connection: cupi_ca_setup (cupi_http_ca.c) sets that up, with neither a
 * CA directory nor curl's cache. */
static bool ca_file_only(const cupi_client *c)
{
    if (c->insecure || c->ca)
        return false;
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && v->cainfo && v->cainfo[0];
}

CURLcode cupi_conn_setup(const cupi_client *c, CURL *h)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                          \
    do {                                                                                       \
        if (rc == CURLE_OK)                                                                    \
            rc = curl_easy_setopt(h, opt, val);                                                \
    } while (0)
    SET(CURLOPT_SHARE, c->share);
    SET(CURLOPT_BUFFERSIZE, CUPI_RECV_BUFFER_BYTES);
    if (c->keep_connections || c->holds)
        SET(CURLOPT_MAXAGE_CONN, CUPI_KEEPALIVE_MAX_IDLE_MS / 1000L);
    else
        SET(CURLOPT_FORBID_REUSE, 1L);
    if (ca_file_only(c)) {
        SET(CURLOPT_CAPATH, NULL);
        SET(CURLOPT_CA_CACHE_TIMEOUT, CA_CACHE_SECONDS);
    }
#undef SET
    return rc;
}
