/* cupi_codec.c - format names, the decode/encode entry points and the field
 * sink both codecs feed. */
#include "codec_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cupi/text.h>

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

void codec_sink_init(codec_sink *k, cupi_resource r, char *err, size_t errsz,
                     const cupi_scrub *scrub)
{
    cupi_snapshot_init(&k->snap, r);
    k->err = err;
    k->errsz = errsz;
    k->scrub = scrub;
}

/* Longest rendering of a refused value in a message: the message must
 * still fit cupiServerLastError (255 bytes) with the field name and reason. */
#define SHOWN_VALUE_MAX 72

void codec_fragment(const cupi_scrub *s, const char *text, size_t len, char *out, size_t outsz)
{
    /* Rendered whole (a NUL byte shows as \x00), scrubbed whole, and only
     * then cut: no half secret survives a cut. */
    size_t cap = 4 * len + 1;
    char *whole = malloc(cap);
    if (!whole) {
        snprintf(out, outsz, "(not shown: out of memory)");
        return;
    }
    cupi_text_printable(text, len, whole, cap);
    if (cupi_scrub_text(s, whole, cap))
        cupi_text_printable(whole, strlen(whole), out, outsz);
    else
        snprintf(out, outsz, "(withheld: it may echo a credential)");
    explicit_bzero(whole, cap);
    free(whole);
}

cupi_status codec_reject_value(codec_sink *k, const cupi_field *f, const char *raw, size_t len,
                               const char *reason)
{
    char shown[SHOWN_VALUE_MAX + 1];
    if (f->write_only) {
        /* Never shown, whatever it holds. */
        snprintf(shown, sizeof shown, "(withheld: write-only)");
    } else {
        char inner[SHOWN_VALUE_MAX - 1];
        codec_fragment(k->scrub, raw, len, inner, sizeof inner);
        snprintf(shown, sizeof shown, "%s%s%s", inner[0] == '(' ? "" : "\"", inner,
                 inner[0] == '(' ? "" : "\"");
    }
    cupi_set_error(k->err, k->errsz, "field %s: value %s refused: %s", f->name, shown, reason);
    return CUPI_E_PARSE;
}

static const char *parse_reason(const cupi_field *f, cupi_verdict verdict)
{
    if (verdict == CUPI_WRONG_LENGTH)
        return "longer than 255 bytes";
    if (f->type == CUPI_TYPE_STRING)
        return "NUL character";
    return f->type == CUPI_TYPE_INT ? "not an integer" : "not a boolean (true or false)";
}

cupi_status codec_take_field(codec_sink *k, const char *name, const char *text, size_t len)
{
    const cupi_field *f = cupi_field_find(k->snap.resource, name);
    if (!f)
        return CUPI_OK;
    if (cupi_snapshot_has(&k->snap, f->column)) {
        cupi_set_error(k->err, k->errsz, "field %s given twice", f->name);
        return CUPI_E_PARSE;
    }
    cupi_value v;
    cupi_verdict verdict = cupi_value_parse(f, text, len, &v);
    if (verdict != CUPI_VALID)
        return codec_reject_value(k, f, text, len, parse_reason(f, verdict));
    /* A value a SET could not write is not served either: the same check. */
    char why[160];
    if (cupi_value_check(f, &v, why, sizeof why) != CUPI_VALID) {
        size_t n = strlen(f->name);
        const char *reason = strncmp(why, f->name, n) == 0 && why[n] == ':' ? why + n + 2 : why;
        explicit_bzero(&v, sizeof v);
        return codec_reject_value(k, f, text, len, reason);
    }
    cupi_snapshot_set(&k->snap, f->column, &v);
    return CUPI_OK;
}

cupi_status codec_sink_finish(codec_sink *k, cupi_snapshot *out)
{
    if (!k->snap.present) {
        cupi_set_error(k->err, k->errsz, "no %s configuration field in the body",
                       cupi_resource_name(k->snap.resource));
        return CUPI_E_PARSE;
    }
    *out = k->snap;
    return CUPI_OK;
}

cupi_status codec_decode(cupi_resource r, cupi_format f, const char *body, size_t len,
                         cupi_snapshot *out, char *err, size_t errsz, const cupi_scrub *scrub)
{
    cupi_set_error(err, errsz, "%s", "");
    if ((unsigned)r >= CUPI_RES_COUNT || !body) {
        cupi_set_error(err, errsz, "no body");
        return CUPI_E_PARSE;
    }
    if (len > CUPI_MAX_BODY) {
        cupi_set_error(err, errsz, "body of %zu bytes is over the %u-byte limit", len,
                       CUPI_MAX_BODY);
        return CUPI_E_TOO_LARGE;
    }
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_decode(r, body, len, out, err, errsz, scrub);
    return cupi_xml_decode(r, body, len, out, err, errsz, scrub);
}

cupi_status cupi_decode(cupi_resource r, cupi_format f, const char *body, size_t len,
                        cupi_snapshot *out, char *err, size_t errsz)
{
    return codec_decode(r, f, body, len, out, err, errsz, NULL);
}

cupi_status cupi_encode(const cupi_snapshot *s, cupi_format f, char **out, size_t *len)
{
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_encode(s, out, len);
    return cupi_xml_encode(s, out, len);
}

/* Keeps one printable line: error texts end up in logs and SNMP strings. */
static void sanitize_line(char *msg)
{
    char *w = msg;
    for (char *p = msg; *p; p++) {
        unsigned char ch = (unsigned char)*p;
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

char *codec_error_text(const char *body, size_t len)
{
    if (!body || len == 0 || len > CUPI_MAX_BODY)
        return NULL;
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)body[skip]))
        skip++;
    char *text = NULL;
    if (skip < len && body[skip] == '<')
        text = cupi_xml_error_text(body, len);
    else if (skip < len && (body[skip] == '{' || body[skip] == '['))
        text = cupi_json_error_text(body, len);
    if (!text && skip < len && body[skip] != '<') {
        /* Plain text, e.g. CUPI's "Not Authorized". */
        text = malloc(len - skip + 1);
        if (text) {
            memcpy(text, body + skip, len - skip);
            text[len - skip] = '\0';
        }
    }
    if (!text)
        return NULL;
    sanitize_line(text);
    if (!text[0]) {
        free(text);
        return NULL;
    }
    return text;
}

bool cupi_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
    if (!msg || !msgsz)
        return false;
    msg[0] = '\0';
    char *text = codec_error_text(body, len);
    if (!text)
        return false;
    cupi_text_printable(text, strlen(text), msg, msgsz);
    free(text);
    return msg[0] != '\0';
}

char *cupi_error_body(cupi_format f, const char *code, const char *message)
{
    if (f == CUPI_FORMAT_JSON)
        return cupi_json_error_body(code, message);
    return cupi_xml_error_body(code, message);
}
