/* fuzz_http.c - libFuzzer target: the HTTP client's pure helpers on
 * arbitrary bytes. The first byte picks what is fuzzed:
 *   0: a response header line through the Set-Cookie (JSESSIONID) parser;
 *   1: a server URL through the base URL check (bit 7: insecure allowed);
 *   2: the retry back-off.
 *
 * Asserted: a session id kept is a non-empty run of cookie octets that fits
 * its buffer and reads back the same from the header we would receive; a
 * base URL accepted is scheme://host[:port] only, checks again to itself,
 * and with a CUPI path appended names exactly that path on the same host;
 * a refused URL is never echoed (it may hold a password); back-off stays
 * within its bounds. */
#include "cupi_http_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cookie_octet(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && ch != '"' && ch != ',' && ch != ';' && ch != '\\';
}

static void fuzz_cookie(const char *line, size_t len)
{
    char out[CUPI_SESSION_MAX + 1];
    if (!cupi_http_session_cookie(line, len, out, sizeof out))
        return;
    size_t n = strlen(out);
    if (n == 0 || n > CUPI_SESSION_MAX)
        abort();
    /* The whole value, not a prefix of it: right after it in the line come
     * its closing quote if any, then only blanks before ';' or the end. */
    const char *at = NULL;
    for (size_t i = 0; i + n <= len && !at; i++)
        if (memcmp(line + i, "JSESSIONID=", 11) == 0)
            at = line + i + 11;
    if (!at)
        abort();
    size_t after = (size_t)(at - line) + (*at == '"') + n;
    if (after > len || memcmp(at + (*at == '"'), out, n) != 0)
        abort();
    after += *at == '"';
    while (after < len && (line[after] == ' ' || line[after] == '\t'))
        after++;
    if (after < len && line[after] != ';' && line[after] != '\r' && line[after] != '\n')
        abort();
    for (size_t i = 0; i < n; i++)
        if (!cookie_octet((unsigned char)out[i]))
            abort(); /* nothing that could end or split the Cookie header we send */
    char header[CUPI_SESSION_MAX + 64], again[CUPI_SESSION_MAX + 1];
    int hl =
        snprintf(header, sizeof header, "Set-Cookie: JSESSIONID=%s; Path=/vmrest/\r\n", out);
    if (!cupi_http_session_cookie(header, (size_t)hl, again, sizeof again) ||
        strcmp(again, out) != 0)
        abort();
}

static char *part(CURLU *u, CURLUPart what)
{
    char *s = NULL;
    return curl_url_get(u, what, &s, 0) == CURLUE_OK ? s : NULL;
}

static void check_base(const char *base, bool insecure)
{
    bool https = strncmp(base, "https://", 8) == 0;
    if (!https && !(insecure && strncmp(base, "http://", 7) == 0))
        abort();
    size_t n = strlen(base);
    if (n == 0 || base[n - 1] == '/' || strpbrk(base, "?#@ \t\r\n"))
        abort();
    char *again = NULL, err[256];
    if (cupi_http_base_url(base, insecure, &again, err, sizeof err) != CUPI_OK ||
        strcmp(again, base) != 0)
        abort(); /* idempotent */
    free(again);

    /* What the client requests: base + CUPI path. */
    static const char path[] = "/vmrest/smtpserver/serverconfigs";
    char *full = malloc(n + sizeof path);
    if (!full)
        return;
    memcpy(full, base, n);
    memcpy(full + n, path, sizeof path);
    CURLU *b = curl_url(), *u = curl_url();
    if (b && u && curl_url_set(b, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, full, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
        char *got_path = part(u, CURLUPART_PATH), *host_b = part(b, CURLUPART_HOST),
             *host_u = part(u, CURLUPART_HOST), *query = part(u, CURLUPART_QUERY),
             *frag = part(u, CURLUPART_FRAGMENT), *user = part(u, CURLUPART_USER);
        if (!got_path || strcmp(got_path, path) != 0 || !host_b || !host_u ||
            strcmp(host_b, host_u) != 0 || query || frag || user)
            abort();
        curl_free(got_path);
        curl_free(host_b);
        curl_free(host_u);
    } else if (b && u) {
        abort(); /* an accepted base must make a URL curl takes */
    }
    curl_url_cleanup(b);
    curl_url_cleanup(u);
    free(full);
}

static void fuzz_url(const char *data, size_t len, bool insecure)
{
    char *url = malloc(len + 1);
    if (!url)
        return;
    memcpy(url, data, len);
    url[len] = '\0';
    char *base = NULL, err[256] = "";
    cupi_status st = cupi_http_base_url(url, insecure, &base, err, sizeof err);
    if (st == CUPI_OK) {
        check_base(base, insecure);
        free(base);
    } else if (base || !err[0] || (strlen(url) >= 12 && strstr(err, url))) {
        abort();
    }
    free(url);
}

static void fuzz_backoff(const uint8_t *data, size_t len)
{
    if (len < 8)
        return;
    long base = 1 + (long)(data[0] | data[1] << 8);   /* 1..65536 ms */
    long max = base + (long)(data[2] | data[3] << 8); /* >= base */
    unsigned n = data[4];
    uint64_t rng = (uint64_t)data[5] << 16 | (uint64_t)data[6] << 8 | data[7];
    long d = cupi_http_backoff(base, max, n, &rng);
    if (d < base || d > max + max / 2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *rest = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_cookie(rest, size - 1);
        break;
    case 1:
        fuzz_url(rest, size - 1, data[0] & 0x80);
        break;
    default:
        fuzz_backoff(data + 1, size - 1);
        break;
    }
    return 0;
}
