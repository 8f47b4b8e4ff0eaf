/* cupi_scrub.c - masking credentials in messages (see cupi_scrub.h for the
 * rules and why short secrets are never searched and replaced). */
#include "cupi_scrub.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char mask[] = "***";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cupi_scrub_init(cupi_scrub *s)
{
    memset(s, 0, sizeof *s);
}

void cupi_scrub_add(cupi_scrub *s, const char *secret)
{
    if (s && secret && *secret && s->n < CUPI_SCRUB_MAX)
        s->secret[s->n++] = secret;
}

char *cupi_scrub_basic_credential(const char *user, const char *password)
{
    size_t ul = strlen(user), pl = strlen(password), n = ul + 1 + pl;
    unsigned char *plain = malloc(n + 1);
    char *out = malloc(4 * (n / 3 + 1) + 1);
    if (!plain || !out) {
        free(plain);
        free(out);
        return NULL;
    }
    memcpy(plain, user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, password, pl);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)plain[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= plain[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64_alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64_alphabet[v & 63];
    }
    out[o] = '\0';
    explicit_bzero(plain, n);
    free(plain);
    return out;
}

static int b64_value(unsigned char ch)
{
    const char *p = ch ? strchr(b64_alphabet, ch) : NULL;
    if (p)
        return (int)(p - b64_alphabet);
    if (ch == '-')
        return 62; /* the URL-safe alphabet */
    if (ch == '_')
        return 63;
    return -1;
}

/* True when the base64 run decodes to "x:y": what a Basic credential is.
 * "Basic authentication" does not decode to that, so it stays readable. */
static bool b64_is_credential(const char *run, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)run[i]);
        if (v < 0)
            break; /* padding */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (((acc >> bits) & 0xffu) == ':')
                return true;
        }
    }
    return false;
}

static size_t span(const char *s, bool (*ok)(unsigned char))
{
    size_t n = 0;
    while (s[n] && ok((unsigned char)s[n]))
        n++;
    return n;
}

static bool is_b64(unsigned char ch)
{
    return b64_value(ch) >= 0 || ch == '=';
}

static bool is_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool is_cookie_octet(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && ch != '"' && ch != ',' && ch != ';' && ch != '\\';
}

/* Length of the credential-bearing part at text[i], or 0; *keep is how much
 * of it (the label) stays visible before the mask. */
static size_t structural_match(const char *text, size_t i, size_t *keep)
{
    const char *p = text + i;
    bool word_start = i == 0 || !isalnum((unsigned char)text[i - 1]);
    if (word_start && strncasecmp(p, "basic", 5) == 0) {
        size_t sp = span(p + 5, is_blank);
        size_t run = sp ? span(p + 5 + sp, is_b64) : 0;
        if (run >= 4 && b64_is_credential(p + 5 + sp, run)) {
            *keep = 5 + sp;
            return 5 + sp + run;
        }
    }
    if (strncasecmp(p, "JSESSIONID=", 11) == 0) {
        size_t run = span(p + 11, is_cookie_octet);
        if (run) {
            *keep = 11;
            return 11 + run;
        }
    }
    if (strncasecmp(p, "<smtpPassword>", 14) == 0) {
        size_t run = strcspn(p + 14, "<");
        if (run) {
            *keep = 14;
            return 14 + run;
        }
    }
    if (strncasecmp(p, "\"smtpPassword\"", 14) == 0) {
        size_t k = 14 + span(p + 14, is_blank);
        if (p[k] == ':') {
            k++;
            k += span(p + k, is_blank);
            if (p[k] == '"') {
                k++;
                size_t run = 0;
                while (p[k + run] && p[k + run] != '"')
                    run += p[k + run] == '\\' && p[k + run + 1] ? 2 : 1;
                if (run) {
                    *keep = k;
                    return k + run;
                }
            }
        }
    }
    return 0;
}

/* Characters, not bytes: "Q~\u00a7" is three characters in four bytes and
 * still too short to search for. */
static size_t secret_chars(const char *secret)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
        n += (*p & 0xc0u) != 0x80;
    return n;
}

/* In place: every occurrence of secret (at least as long as the mask, so
 * the text only shrinks) becomes the mask. */
static void replace_all(char *text, const char *secret)
{
    size_t sl = strlen(secret);
    char *w = text;
    for (const char *r = text; *r;) {
        if (strncmp(r, secret, sl) == 0) {
            memcpy(w, mask, sizeof mask - 1);
            w += sizeof mask - 1;
            r += sl;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* n, or less so that out[0..n) does not end in half a UTF-8 character. */
static size_t whole_chars(const char *out, size_t n)
{
    size_t start = n;
    while (start > 0 && n - start < 4 && ((unsigned char)out[start - 1] & 0xc0u) == 0x80)
        start--;
    if (start == 0)
        return n;
    unsigned char lead = (unsigned char)out[start - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    return n - (start - 1) < need ? start - 1 : n;
}

bool cupi_scrub_text(const cupi_scrub *s, char *text, size_t textsz)
{
    if (!text || textsz == 0)
        return true;
    size_t len = strnlen(text, textsz - 1);
    text[len] = '\0';
    /* A mask may be longer than what it hides (at most 3 bytes per match). */
    size_t cap = 4 * len + 16;
    char *out = malloc(cap);
    if (!out) {
        /* Cannot tell what is safe: show nothing of it. */
        explicit_bzero(text, textsz);
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t keep = 0, n = structural_match(text, i, &keep);
        if (n) {
            memcpy(out + o, text + i, keep);
            o += keep;
            memcpy(out + o, mask, sizeof mask - 1);
            o += sizeof mask - 1;
            i += n;
        } else {
            out[o++] = text[i++];
        }
    }
    out[o] = '\0';
    bool whole = true;
    for (size_t k = 0; s && k < s->n; k++) {
        if (secret_chars(s->secret[k]) >= CUPI_SCRUB_MIN_LEN)
            replace_all(out, s->secret[k]);
    }
    for (size_t k = 0; s && k < s->n; k++) {
        if (secret_chars(s->secret[k]) < CUPI_SCRUB_MIN_LEN && strstr(out, s->secret[k]))
            whole = false;
    }
    o = strlen(out);
    if (o > textsz - 1)
        o = textsz - 1;
    o = whole_chars(out, o);
    memcpy(text, out, o);
    text[o] = '\0';
    explicit_bzero(out, cap);
    free(out);
    return whole;
}
