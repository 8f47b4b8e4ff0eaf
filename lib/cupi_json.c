/* cupi_json.c - the JSON codec (cJSON).
 *
 * CUPI sends every value as a string, but clients and proxies have been seen
 * to send native numbers and booleans, and an empty value as "[]"; all are
 * accepted. Encoding always writes strings, as the CUPI reference does. */
#include "codec_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses the whole body; trailing garbage is an error. */
static cJSON *parse_json(const char *body, size_t len, char *err, size_t errsz)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        cupi_set_error(err, errsz, "malformed JSON near byte %zu", at);
        return NULL;
    }
    size_t at = (size_t)(end - body);
    while (at < len && (isspace((unsigned char)body[at]) || body[at] == '\0'))
        at++;
    if (at < len) {
        cupi_set_error(err, errsz, "malformed JSON: trailing data at byte %zu", at);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* Text form of a member's value, in buf; false for objects, non-empty arrays
 * and numbers that are not integers. */
static bool member_text(const cJSON *item, char *buf, size_t bufsz, const char **text)
{
    if (cJSON_IsString(item)) {
        *text = item->valuestring;
        return true;
    }
    if (cJSON_IsBool(item)) {
        *text = cJSON_IsTrue(item) ? "true" : "false";
        return true;
    }
    if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
            return false;
        snprintf(buf, bufsz, "%.0f", d);
        *text = buf;
        return true;
    }
    if ((cJSON_IsArray(item) && cJSON_GetArraySize(item) == 0) || cJSON_IsNull(item)) {
        *text = "";
        return true;
    }
    return false;
}

/* Where a body's first "\u0000" escape is. cJSON decodes it into a NUL
 * inside the C string, which would silently cut "ab\u0000cd" to "ab" (or a
 * member name "Port\u0000x" to "Port"), so it is looked for in the raw text. */
typedef struct nul_escape {
    bool found;
    bool in_name;     /* in a member name rather than a value */
    const char *name; /* raw member name of the value (not NUL-terminated) */
    size_t name_len;
    const char *value; /* raw text between the value's quotes */
    size_t value_len;
} nul_escape;

/* The string literal starting after the quote at body[i]: its end (the
 * closing quote, or len) and whether it holds a \u0000 escape. */
static size_t scan_string(const char *body, size_t len, size_t i, bool *nul)
{
    *nul = false;
    while (i < len && body[i] != '"') {
        if (body[i] == '\0') {
            *nul = true; /* a raw NUL byte: cJSON keeps it too */
            i++;
        } else if (body[i] == '\\' && i + 1 < len) {
            if (body[i + 1] == 'u' && i + 5 < len && memcmp(body + i + 2, "0000", 4) == 0)
                *nul = true;
            i += 2;
        } else {
            i++;
        }
    }
    return i;
}

/* Finds the first NUL escape in a member name, or in the value of a member
 * named like a field of r (a NUL in an ignored member harms nothing). */
static nul_escape find_nul_escape(cupi_resource r, const char *body, size_t len)
{
    nul_escape e = {0};
    const char *key = NULL;
    size_t key_len = 0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] != '"')
            continue;
        bool nul;
        size_t start = i + 1, end = scan_string(body, len, start, &nul);
        size_t after = end + 1;
        while (after < len && isspace((unsigned char)body[after]))
            after++;
        bool is_name = after < len && body[after] == ':';
        if (nul && is_name) {
            e.found = e.in_name = true;
            e.name = body + start;
            e.name_len = end - start;
            return e;
        }
        if (is_name) {
            key = body + start;
            key_len = end - start;
        } else if (nul && key) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(key_len < 63 ? key_len : 63), key);
            if (cupi_field_find(r, name)) {
                e.found = true;
                e.name = key;
                e.name_len = key_len;
                e.value = body + start;
                e.value_len = end - start;
                return e;
            }
        }
        i = end;
    }
    return e;
}

cupi_status cupi_json_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                             char *err, size_t errsz, const cupi_scrub *scrub)
{
    cJSON *root = parse_json(body, len, err, errsz);
    if (!root)
        return CUPI_E_PARSE;
    codec_sink sink;
    codec_sink_init(&sink, r, err, errsz, scrub);
    nul_escape nul = find_nul_escape(r, body, len);
    if (nul.found) {
        cJSON_Delete(root);
        if (nul.in_name) {
            cupi_set_error(err, errsz, "a JSON member name holds a NUL character (\\u0000)");
            return CUPI_E_PARSE;
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(nul.name_len < 63 ? nul.name_len : 63),
                 nul.name);
        return codec_reject_value(&sink, cupi_field_find(r, name), nul.value, nul.value_len,
                                  "NUL character (\\u0000)");
    }
    const cJSON *obj = root;
    /* Tolerate the body wrapped in its root name, as XML-minded clients do. */
    if (cJSON_IsObject(obj) && cJSON_GetArraySize(obj) == 1 && obj->child->string &&
        strcasecmp(obj->child->string, cupi_resource_root(r)) == 0 &&
        cJSON_IsObject(obj->child))
        obj = obj->child;
    if (!cJSON_IsObject(obj)) {
        cupi_set_error(err, errsz, "JSON body is not an object");
        cJSON_Delete(root);
        return CUPI_E_PARSE;
    }
    cupi_status st = CUPI_OK;
    for (const cJSON *m = obj->child; m && st == CUPI_OK; m = m->next) {
        const cupi_field *f = m->string ? cupi_field_find(r, m->string) : NULL;
        if (!f)
            continue;
        char num[32];
        const char *text;
        if (!member_text(m, num, sizeof num, &text)) {
            cupi_set_error(err, errsz, "field %s: value refused: not a %s", f->name,
                           f->type == CUPI_TYPE_STRING ? "string" : "single value");
            st = CUPI_E_PARSE;
            break;
        }
        st = codec_take_field(&sink, m->string, text, strlen(text));
    }
    cJSON_Delete(root);
    return st == CUPI_OK ? codec_sink_finish(&sink, out) : st;
}

cupi_status cupi_json_encode(const cupi_snapshot *s, char **out, size_t *len)
{
    cJSON *obj = cJSON_CreateObject();
    size_t n;
    const cupi_field *f = cupi_fields(s->resource, &n);
    char text[CUPI_STR_MAX + 32];
    bool ok = obj != NULL;
    for (size_t i = 0; ok && i < n; i++)
        if (cupi_snapshot_has(s, f[i].column))
            ok = cJSON_AddStringToObject(
                     obj, f[i].name, cupi_value_format(&f[i], &s->v[i], text, sizeof text)) !=
                 NULL;
    char *printed = ok ? cJSON_Print(obj) : NULL;
    cJSON_Delete(obj);
    if (!printed)
        return CUPI_E_NOMEM;
    *out = printed;
    if (len)
        *len = strlen(printed);
    return CUPI_OK;
}

static const cJSON *find_member(const cJSON *node, const char *name, int depth)
{
    if (!node || depth > 8)
        return NULL;
    for (const cJSON *c = node->child; c; c = c->next) {
        if (c->string && strcasecmp(c->string, name) == 0 && cJSON_IsString(c))
            return c;
        const cJSON *hit = find_member(c, name, depth + 1);
        if (hit)
            return hit;
    }
    return NULL;
}

char *cupi_json_error_text(const char *body, size_t len)
{
    cJSON *root = parse_json(body, len, NULL, 0);
    if (!root)
        return NULL;
    const cJSON *m = find_member(root, "message", 0);
    if (!m)
        m = find_member(root, "code", 0);
    char *text = m ? strdup(m->valuestring) : NULL;
    cJSON_Delete(root);
    return text;
}

char *cupi_json_error_body(const char *code, const char *message)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *errors = cJSON_AddObjectToObject(root, "errors");
    char *out = NULL;
    if (errors && cJSON_AddStringToObject(errors, "code", code ? code : "") &&
        cJSON_AddStringToObject(errors, "message", message ? message : ""))
        out = cJSON_Print(root);
    cJSON_Delete(root);
    return out;
}
