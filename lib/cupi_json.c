/* cupi_json.c - the JSON codec (cJSON).
 *
 * CUPI sends every value as a string, but clients and proxies have been seen
 * to send native numbers and booleans, and an empty value as "[]"; all are
 * accepted. Encoding always writes strings, as the seed does. */
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
        codec_error(err, errsz, "malformed JSON near byte %zu", at);
        return NULL;
    }
    size_t at = (size_t)(end - body);
    while (at < len && (isspace((unsigned char)body[at]) || body[at] == '\0'))
        at++;
    if (at < len) {
        codec_error(err, errsz, "malformed JSON: trailing data at byte %zu", at);
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

cupi_status cupi_json_decode(cupi_resource r, const char *body, size_t len, cupi_snapshot *out,
                             char *err, size_t errsz)
{
    cJSON *root = parse_json(body, len, err, errsz);
    if (!root)
        return CUPI_E_PARSE;
    const cJSON *obj = root;
    /* Tolerate the body wrapped in its root name, as XML-minded clients do. */
    if (cJSON_IsObject(obj) && cJSON_GetArraySize(obj) == 1 && obj->child->string &&
        strcasecmp(obj->child->string, cupi_resource_root(r)) == 0 &&
        cJSON_IsObject(obj->child))
        obj = obj->child;
    if (!cJSON_IsObject(obj)) {
        codec_error(err, errsz, "JSON body is not an object");
        cJSON_Delete(root);
        return CUPI_E_PARSE;
    }
    codec_sink sink;
    codec_sink_init(&sink, r, err, errsz);
    cupi_status st = CUPI_OK;
    for (const cJSON *m = obj->child; m && st == CUPI_OK; m = m->next) {
        if (!m->string || !cupi_field_find(r, m->string))
            continue;
        char num[32];
        const char *text;
        if (!member_text(m, num, sizeof num, &text)) {
            codec_error(err, errsz, "field %s: unsupported JSON value", m->string);
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

bool cupi_json_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
    cJSON *root = parse_json(body, len, NULL, 0);
    if (!root)
        return false;
    const cJSON *m = find_member(root, "message", 0);
    if (!m)
        m = find_member(root, "code", 0);
    if (m)
        snprintf(msg, msgsz, "%s", m->valuestring);
    cJSON_Delete(root);
    return m != NULL;
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
