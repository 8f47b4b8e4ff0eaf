/* store/state_json.c - parsing and rendering the state file's JSON. */
#include "state_json.h"
#include "json_number.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) snprintf(why, whysz, __VA_ARGS__)

/* cJSON turns "\u0000" into a NUL inside valuestring and keeps raw NUL
 * bytes, so a value would be cut short without a trace. Neither is ever
 * written by the renderer: a file holding one is not ours. */
static bool has_nul(const char *text, size_t len)
{
    if (memchr(text, '\0', len))
        return true;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"') {
            in_string = !in_string;
        } else if (in_string && text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                return true;
            i++; /* the escaped character cannot end the string */
        }
    }
    return false;
}

static bool parse_resource(const cJSON *obj, cupi_resource r, time_t now, store_resource *out)
{
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(obj, "values");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(obj, "readAt");
    double read_at;
    /* A time this agent wrote: not before the epoch, not far in the future. */
    if (!cJSON_IsObject(values) ||
        !store_json_whole(when, 0, (double)now + STORE_READ_AT_AHEAD_S, &read_at))
        return false;
    cupi_snapshot snap;
    cupi_snapshot_init(&snap, r);
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, f[i].name);
        cupi_value val;
        if (!cJSON_IsString(v) ||
            cupi_value_parse(&f[i], v->valuestring, strlen(v->valuestring), &val) !=
                CUPI_VALID ||
            cupi_value_check(&f[i], &val, NULL, 0) != CUPI_VALID)
            return false;
        cupi_snapshot_set(&snap, f[i].column, &val);
    }
    out->valid = true;
    out->snap = snap;
    out->read_at = (time_t)read_at;
    return true;
}

/* One "servers" entry into *out; false when it has no usable index or URL. */
static bool parse_server(const cJSON *entry, time_t now, agent_state_server *out)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(entry, "url");
    double index;
    if (!store_json_whole(cJSON_GetObjectItemCaseSensitive(entry, "index"), 1, 65535, &index) ||
        !cJSON_IsString(url) || strlen(url->valuestring) > STORE_URL_MAX)
        return false;
    memset(out, 0, sizeof *out);
    out->index = (unsigned)index;
    snprintf(out->url, sizeof out->url, "%s", url->valuestring);
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        const cJSON *obj =
            cJSON_GetObjectItemCaseSensitive(entry, cupi_resource_name((cupi_resource)r));
        if (obj && !parse_resource(obj, (cupi_resource)r, now, &out->res[r]))
            out->invalid++;
    }
    return true;
}

/* Bit i: index i already taken (a bitmap, so a file with many entries stays
 * linear to load). */
typedef struct index_set {
    unsigned char bits[65536 / 8];
} index_set;

static bool index_claim(index_set *set, unsigned index)
{
    unsigned char bit = (unsigned char)(1u << (index % 8));
    if (set->bits[index / 8] & bit)
        return false;
    set->bits[index / 8] |= bit;
    return true;
}

static int by_index(const void *a, const void *b)
{
    const agent_state_server *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* The document's header and its "servers" array, or NULL with why. */
static const cJSON *servers_of(const cJSON *root, char *why, size_t whysz)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "servers");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, AGENT_STATE_FORMAT) != 0 ||
        !cJSON_IsNumber(version) || !cJSON_IsArray(list)) {
        WHY("not a cupi-snmp state file");
        return NULL;
    }
    double v = version->valuedouble;
    /* In range first: converting a huge double to int is undefined. */
    if (!(v >= AGENT_STATE_OLDEST_VERSION && v <= AGENT_STATE_VERSION) || v != (double)(int)v) {
        WHY("version %g, expected %d..%d", v, AGENT_STATE_OLDEST_VERSION, AGENT_STATE_VERSION);
        return NULL;
    }
    return list;
}

/* Room for one more entry; entries are ~6 KiB, so the array grows with the
 * entries taken, not with the length of the file's array. */
static agent_state_server *next_slot(agent_state_doc *doc, size_t *cap)
{
    if (doc->n_servers == *cap) {
        size_t grown = *cap ? *cap * 2 : 8;
        agent_state_server *p = realloc(doc->servers, grown * sizeof *p);
        if (!p)
            return NULL;
        doc->servers = p;
        *cap = grown;
    }
    return &doc->servers[doc->n_servers];
}

int agent_state_parse(const char *text, size_t len, time_t now, agent_state_want_fn want,
                      void *want_arg, agent_state_doc *doc, char *why, size_t whysz)
{
    memset(doc, 0, sizeof *doc);
    if (len > AGENT_STATE_MAX_SIZE) {
        WHY("file too large");
        return -1;
    }
    if (has_nul(text, len)) {
        WHY("not a cupi-snmp state file (it holds a NUL character)");
        return -1;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    size_t at = root ? (size_t)(end - text) : len;
    while (at < len && isspace((unsigned char)text[at]))
        at++;
    if (!root || at < len) {
        WHY("not a cupi-snmp state file (malformed JSON)");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *list = servers_of(root, why, whysz);
    int rc = list ? 0 : -1;
    index_set *seen = rc == 0 ? calloc(1, sizeof *seen) : NULL;
    if (rc == 0 && !seen) {
        WHY("out of memory");
        rc = -1;
    }
    size_t cap = 0;
    const cJSON *entry;
    if (rc == 0) {
        cJSON_ArrayForEach(entry, list)
        {
            agent_state_server *s = next_slot(doc, &cap);
            if (!s) {
                WHY("out of memory");
                rc = -1;
                break;
            }
            if (!parse_server(entry, now, s) || !index_claim(seen, s->index)) {
                doc->dropped++; /* unusable, or not the first entry of its index */
            } else if (!want || want(s->index, s->url, want_arg)) {
                const cJSON *history = cJSON_GetObjectItemCaseSensitive(entry, "history");
                s->history = cJSON_IsObject(history) ? cJSON_Duplicate(history, true) : NULL;
                if (cJSON_IsObject(history) && !s->history) {
                    WHY("out of memory");
                    rc = -1;
                    break;
                }
                doc->n_servers++;
            }
        }
        if (rc == 0 && doc->n_servers > 1)
            qsort(doc->servers, doc->n_servers, sizeof *doc->servers, by_index);
    }
    free(seen);
    cJSON_Delete(root);
    if (rc != 0)
        agent_state_doc_free(doc);
    return rc;
}

void agent_state_doc_free(agent_state_doc *doc)
{
    for (size_t i = 0; i < doc->n_servers; i++)
        cJSON_Delete(doc->servers[i].history);
    free(doc->servers);
    memset(doc, 0, sizeof *doc);
}
