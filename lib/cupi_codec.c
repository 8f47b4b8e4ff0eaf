/* cupi_codec.c - format names, the decode/encode entry points and the field
 * sink both codecs feed. */
#include "codec_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    const char *mime;
} formats[] = {
    [CUPI_FORMAT_XML] = {"xml", "application/xml"},
    [CUPI_FORMAT_JSON] = {"json", "application/json"},
};

const char *cupi_format_name(cupi_format f)
{
    return f == CUPI_FORMAT_JSON ? formats[CUPI_FORMAT_JSON].name
                                 : formats[CUPI_FORMAT_XML].name;
}

const char *cupi_format_mime(cupi_format f)
{
    return f == CUPI_FORMAT_JSON ? formats[CUPI_FORMAT_JSON].mime
                                 : formats[CUPI_FORMAT_XML].mime;
}

int cupi_format_from_name(const char *name)
{
    for (int f = 0; f < (int)(sizeof formats / sizeof formats[0]); f++)
        if (name && strcasecmp(name, formats[f].name) == 0)
            return f;
    return -1;
}

void codec_error(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || !errsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

void codec_sink_init(codec_sink *k, cupi_resource r, char *err, size_t errsz)
{
    cupi_snapshot_init(&k->snap, r);
    k->err = err;
    k->errsz = errsz;
}

cupi_status codec_take_field(codec_sink *k, const char *name, const char *text, size_t len)
{
    const cupi_field *f = cupi_field_find(k->snap.resource, name);
    if (!f)
        return CUPI_OK;
    if (cupi_snapshot_has(&k->snap, f->column)) {
        codec_error(k->err, k->errsz, "field %s given twice", f->name);
        return CUPI_E_PARSE;
    }
    cupi_value v;
    cupi_verdict verdict = cupi_value_parse(f, text, len, &v);
    if (verdict != CUPI_VALID) {
        codec_error(k->err, k->errsz, "field %s: value is not a valid %s (%s)", f->name,
                    f->type == CUPI_TYPE_INT    ? "integer"
                    : f->type == CUPI_TYPE_BOOL ? "boolean"
                                                : "string",
                    cupi_verdict_name(verdict));
        return CUPI_E_PARSE;
    }
    cupi_snapshot_set(&k->snap, f->column, &v);
    return CUPI_OK;
}

cupi_status codec_sink_finish(codec_sink *k, cupi_snapshot *out)
{
    if (!k->snap.present) {
        codec_error(k->err, k->errsz, "no %s configuration field in the body",
                    cupi_resource_name(k->snap.resource));
        return CUPI_E_PARSE;
    }
    *out = k->snap;
    return CUPI_OK;
}

cupi_status cupi_decode(cupi_resource r, cupi_format f, const char *body, size_t len,
                        cupi_snapshot *out, char *err, size_t errsz)
{
    codec_error(err, errsz, "%s", "");
    if ((unsigned)r >= CUPI_RES_COUNT || !body) {
        codec_error(err, errsz, "no body");
        return CUPI_E_PARSE;
    }
    if (len > CUPI_MAX_BODY) {
        codec_error(err, errsz, "body of %zu bytes is over the %u-byte limit", len,
                    CUPI_MAX_BODY);
        return CUPI_E_TOO_LARGE;
    }
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_decode(r, body, len, out, err, errsz);
    return cupi_xml_decode(r, body, len, out, err, errsz);
}

cupi_status cupi_encode(const cupi_snapshot *s, cupi_format f, char **out, size_t *len)
{
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_encode(s, out, len);
    return cupi_xml_encode(s, out, len);
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 when the
 * bytes there are not one (a stray byte, an overlong or surrogate form, or
 * a sequence cut short when the message was truncated to its buffer). */
static size_t utf8_sequence(const unsigned char *s)
{
    static const struct {
        unsigned char first_lo, first_hi, len, second_lo, second_hi;
    } forms[] = {
        {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF}, {0xE1, 0xEC, 3, 0x80, 0xBF},
        {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF}, {0xF0, 0xF0, 4, 0x90, 0xBF},
        {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
    };
    if (s[0] < 0x80)
        return 1;
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        if (s[0] < forms[f].first_lo || s[0] > forms[f].first_hi)
            continue;
        if (s[1] < forms[f].second_lo || s[1] > forms[f].second_hi)
            return 0;
        for (size_t i = 2; i < forms[f].len; i++)
            if (s[i] < 0x80 || s[i] > 0xBF)
                return 0;
        return forms[f].len;
    }
    return 0;
}

/* Keeps one printable line of valid UTF-8: error texts end up in logs and
 * SNMP strings. A byte that is not part of valid UTF-8 becomes '?'. */
static void sanitize_line(char *msg)
{
    char *w = msg;
    for (char *p = msg; *p;) {
        unsigned char ch = (unsigned char)*p;
        size_t n = utf8_sequence((const unsigned char *)p);
        if (n > 1) {
            memmove(w, p, n);
            w += n;
            p += n;
            continue;
        }
        p++;
        if (n == 0)
            ch = '?';
        if (ch == '\r' || ch == '\n' || ch == '\t')
            ch = ' ';
        if (ch < 0x20 || ch == 0x7f)
            continue;
        if (ch == ' ' && (w == msg || w[-1] == ' '))
            continue;
        *w++ = (char)ch;
    }
    while (w > msg && w[-1] == ' ')
        w--;
    *w = '\0';
}

bool cupi_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
    if (!msg || !msgsz)
        return false;
    msg[0] = '\0';
    if (!body || len == 0 || len > CUPI_MAX_BODY)
        return false;
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)body[skip]))
        skip++;
    bool found = false;
    if (skip < len && body[skip] == '<')
        found = cupi_xml_error_message(body, len, msg, msgsz);
    else if (skip < len && (body[skip] == '{' || body[skip] == '['))
        found = cupi_json_error_message(body, len, msg, msgsz);
    if (!found && skip < len && body[skip] != '<') {
        /* Plain text, e.g. CUPI's "Not Authorized". */
        size_t n = len - skip < msgsz - 1 ? len - skip : msgsz - 1;
        memcpy(msg, body + skip, n);
        msg[n] = '\0';
        found = true;
    }
    sanitize_line(msg);
    return msg[0] != '\0' && found;
}

char *cupi_error_body(cupi_format f, const char *code, const char *message)
{
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_error_body(code, message);
    return cupi_xml_error_body(code, message);
}
