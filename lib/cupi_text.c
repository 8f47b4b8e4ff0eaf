/* cupi_text.c - UTF-8 checking and the printable rendering of untrusted
 * text (values and messages a CUPI server sent). */
#include <cupi/text.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes one code point at s (n bytes left). Returns its length in bytes
 * and the code point in *cp, or 0 when the bytes there are not valid UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    unsigned long v, min;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2, v = b & 0x1fu, min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3, v = b & 0x0fu, min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4, v = b & 0x07u, min = 0x10000;
    } else {
        return 0; /* a continuation byte, an overlong lead or beyond U+10FFFF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0u) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool cupi_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned long cp;
        size_t n = utf8_next(p + i, len - i, &cp);
        if (n == 0) {
            if (bad_at)
                *bad_at = i;
            return false;
        }
        i += n;
    }
    return true;
}

bool cupi_codepoint_is_control(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

cupi_text_fault cupi_text_line_check(const char *s, size_t len, size_t *at)
{
    size_t where = 0;
    cupi_text_fault fault = CUPI_TEXT_OK;
    if (!cupi_utf8_valid(s, len, &where)) {
        fault = CUPI_TEXT_NOT_UTF8;
    } else {
        const unsigned char *p = (const unsigned char *)s;
        for (size_t i = 0; i < len && fault == CUPI_TEXT_OK;) {
            unsigned long cp = 0;
            size_t n = utf8_next(p + i, len - i, &cp);
            if (!n)
                break; /* cannot happen: the text was checked as UTF-8 above */
            where = i;
            if (cupi_codepoint_is_control(cp))
                fault = cp == 0      ? CUPI_TEXT_NUL
                        : cp == '\n' ? CUPI_TEXT_NEWLINE
                        : cp == '\r' ? CUPI_TEXT_CR
                                     : CUPI_TEXT_CONTROL;
            i += n;
        }
    }
    if (at)
        *at = fault ? where : 0;
    return fault;
}

const char *cupi_text_fault_name(cupi_text_fault f)
{
    static const char *const names[] = {
        [CUPI_TEXT_OK] = "nothing wrong",
        [CUPI_TEXT_NOT_UTF8] = "invalid UTF-8",
        [CUPI_TEXT_NUL] = "a NUL byte",
        [CUPI_TEXT_NEWLINE] = "more than one line",
        [CUPI_TEXT_CR] = "a carriage return (CR)",
        [CUPI_TEXT_CONTROL] = "a control character",
    };
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "invalid text";
}

/* The rendering of the character at s[i]: its bytes, or one \xNN per byte
 * when it is a control character or not UTF-8. Returns the bytes of s used. */
static size_t render_char(const unsigned char *s, size_t len, size_t i, char piece[16],
                          size_t *plen)
{
    unsigned long cp;
    size_t n = utf8_next(s + i, len - i, &cp);
    if (n == 0 || cupi_codepoint_is_control(cp)) {
        /* One escape per byte: the reader sees exactly what was sent. */
        size_t k = n ? n : 1;
        *plen = 0;
        for (size_t j = 0; j < k; j++)
            *plen += (size_t)snprintf(piece + *plen, 16 - *plen, "\\x%02X", (unsigned)s[i + j]);
        return k;
    }
    memcpy(piece, s + i, n);
    *plen = n;
    return n;
}

size_t cupi_text_printable(const char *s, size_t len, char *out, size_t outsz)
{
    static const char ellipsis[] = "...";
    const size_t el = sizeof ellipsis - 1;
    if (!out || outsz == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    char piece[16];
    size_t plen, total = 0;
    for (size_t i = 0; i < len;)
        i += render_char(p, len, i, piece, &plen), total += plen;
    /* When it all fits, nothing is cut; otherwise room is kept for "...". */
    size_t limit = total <= outsz - 1 ? outsz - 1 : (outsz - 1 > el ? outsz - 1 - el : 0);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = render_char(p, len, i, piece, &plen);
        if (o + plen > limit)
            break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    if (total > outsz - 1) {
        size_t e = outsz - 1 - o < el ? outsz - 1 - o : el;
        memcpy(out + o, ellipsis, e);
        o += e;
    }
    out[o] = '\0';
    return o;
}
