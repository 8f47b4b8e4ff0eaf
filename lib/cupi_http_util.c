/* cupi_http_util.c - the HTTP client's pure helpers: URL checks, status
 * mapping, back-off and session cookie parsing. Kept apart
 * from the engine so each rule is readable on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cupi/secret.h>

#include "cupi_http_internal.h"

int64_t cupi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *cupi_http_basic_auth(const char *user, const char *password)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char prefix[] = "Authorization: Basic ";
    size_t ulen = strlen(user), plen = strlen(password);
    size_t n = ulen + 1 + plen;
    unsigned char *pair = malloc(n + 1);
    char *out = malloc(sizeof prefix + (n + 2) / 3 * 4);
    if (!pair || !out) {
        free(pair);
        free(out);
        return NULL;
    }
    memcpy(pair, user, ulen);
    pair[ulen] = ':';
    memcpy(pair + ulen + 1, password, plen);
    memcpy(out, prefix, sizeof prefix - 1);
    char *w = out + sizeof prefix - 1;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)pair[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)pair[i + 1] << 8;
        if (i + 2 < n)
            v |= pair[i + 2];
        *w++ = b64[v >> 18 & 63];
        *w++ = b64[v >> 12 & 63];
        *w++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *w = '\0';
    cupi_secret_wipe(pair, n + 1);
    free(pair);
    return out;
}

static char *url_part(CURLU *u, CURLUPart part)
{
    char *s = NULL;
    if (curl_url_get(u, part, &s, 0) != CURLUE_OK)
        return NULL;
    return s;
}

/* True when the URL carries a part we refuse (a query ...). curl drops an
 * empty query or fragment from the URL it gives back, so only a non-empty
 * one counts. */
static bool url_has(CURLU *u, CURLUPart part)
{
    char *s = url_part(u, part);
    bool has = s && *s;
    curl_free(s);
    return has;
}

/* True when the URL has the part at all: an empty user info ("https://:@h")
 * stays in the URL curl gives back, and would end up in every request URL. */
static bool url_present(CURLU *u, CURLUPart part)
{
    char *s = url_part(u, part);
    curl_free(s);
    return s != NULL;
}

static cupi_status url_fail(CURLU *u, char *err, size_t errsz, const char *why)
{
    /* The URL itself is not echoed: a user may have put a password in it. */
    snprintf(err, errsz, "%s", why);
    curl_url_cleanup(u);
    return CUPI_E_INVALID;
}

static char *strip_slash(char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    return url;
}

static cupi_status base_url_once(const char *url, bool insecure, char **base, char *err,
                                 size_t errsz)
{
    *base = NULL;
    if (!url || !*url) {
        snprintf(err, errsz, "no server URL given");
        return CUPI_E_INVALID;
    }
    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, errsz, "out of memory");
        return CUPI_E_NOMEM;
    }
    /* NON_SUPPORT_SCHEME: let curl parse ftp:// & co so we can say why we
     * refuse them instead of curl's vaguer "unsupported scheme". */
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        char why[160];
        snprintf(why, sizeof why, "server URL is not valid: %s", curl_url_strerror(uc));
        return url_fail(u, err, errsz, why);
    }
    char *scheme = url_part(u, CURLUPART_SCHEME);
    bool https = scheme && strcmp(scheme, "https") == 0;
    bool http = scheme && strcmp(scheme, "http") == 0;
    curl_free(scheme);
    if (!https && !http)
        return url_fail(u, err, errsz, "server URL must start with https://");
    if (http && !insecure)
        return url_fail(u, err, errsz,
                        "plain http:// server URL is only allowed with insecure; use https://");
    if (url_present(u, CURLUPART_USER) || url_present(u, CURLUPART_PASSWORD) ||
        url_present(u, CURLUPART_OPTIONS))
        return url_fail(u, err, errsz,
                        "server URL must not contain credentials; give user and password "
                        "separately");
    if (url_has(u, CURLUPART_QUERY) || url_has(u, CURLUPART_FRAGMENT))
        return url_fail(u, err, errsz, "server URL must not have a query or fragment");
    char *path = url_part(u, CURLUPART_PATH);
    bool bare = !path || strcmp(path, "") == 0 || strcmp(path, "/") == 0;
    curl_free(path);
    if (!bare)
        return url_fail(u, err, errsz,
                        "server URL must be https://host[:port] without a path (the CUPI "
                        "paths are added by the client)");
    char *full = url_part(u, CURLUPART_URL);
    curl_url_cleanup(u);
    if (!full) {
        snprintf(err, errsz, "out of memory");
        return CUPI_E_NOMEM;
    }
    *base = strdup(strip_slash(full));
    curl_free(full);
    if (!*base) {
        snprintf(err, errsz, "out of memory");
        return CUPI_E_NOMEM;
    }
    return CUPI_OK;
}

/* curl decodes a percent-encoded host when it gives the URL back, and only
 * normalises a numeric host when it parses one: "http://%32" comes back as
 * "http://2", which the next parse (the request's) makes "http://0.0.0.2".
 * The base is therefore checked again until it is its own result, so that
 * what is checked is what gets requested. */
cupi_status cupi_http_base_url(const char *url, bool insecure, char **base, char *err,
                               size_t errsz)
{
    cupi_status st = base_url_once(url, insecure, base, err, errsz);
    for (int round = 0; st == CUPI_OK && round < 3; round++) {
        char *again = NULL;
        st = base_url_once(*base, insecure, &again, err, errsz);
        bool stable = st == CUPI_OK && strcmp(again, *base) == 0;
        free(*base);
        *base = again;
        if (stable)
            return CUPI_OK;
    }
    free(*base);
    *base = NULL;
    if (st == CUPI_OK) {
        snprintf(err, errsz, "server URL is not valid: its host does not settle to one form");
        st = CUPI_E_INVALID;
    }
    return st;
}

/* xorshift64*: jitter only needs to spread clients apart, not be secret. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Du;
}

long cupi_http_backoff(long base_ms, long max_ms, unsigned n, uint64_t *rng)
{
    long delay = base_ms;
    for (unsigned i = 0; i < n && delay < max_ms; i++)
        delay = delay > max_ms / 2 ? max_ms : delay * 2;
    if (delay > max_ms)
        delay = max_ms;
    /* Up to +50%: clients throttled together must not retry together. */
    long spread = delay / 2;
    if (spread > 0)
        delay += (long)(next_random(rng) % (uint64_t)(spread + 1));
    return delay;
}

static bool cookie_octet(unsigned char ch)
{
    /* RFC 6265 cookie-octet */
    return ch > 0x20 && ch < 0x7f && ch != '"' && ch != ',' && ch != ';' && ch != '\\';
}

bool cupi_http_session_cookie(const char *line, size_t len, char *out, size_t outsz)
{
    static const char hdr[] = "set-cookie:";
    static const char name[] = "JSESSIONID=";
    if (len < sizeof hdr - 1 || strncasecmp(line, hdr, sizeof hdr - 1) != 0)
        return false;
    size_t i = sizeof hdr - 1;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    /* Exact, case-sensitive name: JSESSIONIDSSO is a different cookie. */
    if (len - i < sizeof name - 1 || memcmp(line + i, name, sizeof name - 1) != 0)
        return false;
    i += sizeof name - 1;
    bool quoted = i < len && line[i] == '"';
    if (quoted)
        i++;
    size_t start = i;
    while (i < len && cookie_octet((unsigned char)line[i]))
        i++;
    size_t n = i - start;
    if (quoted && (i >= len || line[i] != '"'))
        return false;
    if (quoted)
        i++;
    /* The value ends at ';' or the end of the line (blanks allowed before
     * either). Anything else means it was cut at a byte no cookie may hold:
     * a shortened session id is not one to send back. */
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] != ';' && line[i] != '\r' && line[i] != '\n')
        return false;
    if (n == 0 || n >= outsz)
        return false;
    memcpy(out, line + start, n);
    out[n] = '\0';
    return true;
}
