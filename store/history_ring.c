/* store/history_ring.c - a server's change history as a ring of compact
 * rows, and its JSON form. */
#include "history_ring.h"
#include "json_number.h"
#include "text_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *agent_change_old(const agent_change *c)
{
    return c->old_text;
}

const char *agent_change_new(const agent_change *c)
{
    return c->new_text;
}

static void row_free(agent_change *c)
{
    if (c) {
        text_pool_put(c->old_text);
        text_pool_put(c->new_text);
        free(c);
    }
}

void history_ring_init(history_ring *h)
{
    memset(h, 0, sizeof *h);
}

static agent_change **slot(const history_ring *h, size_t i)
{
    return &h->rows[(h->start + i) % h->cap];
}

static void drop_rows(history_ring *h)
{
    for (size_t i = 0; i < h->count; i++)
        row_free(*slot(h, i));
    h->count = 0;
    h->start = 0;
}

void history_ring_clear(history_ring *h)
{
    drop_rows(h);
    free(h->rows);
    h->rows = NULL;
    h->cap = 0;
}

int history_ring_resize(history_ring *h, size_t cap)
{
    if (cap == h->cap)
        return 0;
    agent_change **rows = cap ? calloc(cap, sizeof *rows) : NULL;
    if (cap && !rows)
        return -1;
    size_t keep = h->count < cap ? h->count : cap;
    size_t skip = h->count - keep;
    for (size_t i = 0; i < h->count; i++) {
        if (i < skip)
            row_free(*slot(h, i));
        else
            rows[i - skip] = *slot(h, i);
    }
    free(h->rows);
    h->rows = rows;
    h->cap = cap;
    h->start = 0;
    h->count = keep;
    return 0;
}

static size_t text_len(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > CUPI_STR_MAX ? CUPI_STR_MAX : n;
}

/* Appends a row with the given index (greater than every row's). */
static int push(history_ring *h, uint32_t index, int64_t when, unsigned resource,
                unsigned column, unsigned source, const char *old_value, const char *new_value)
{
    if (!h->cap)
        return 0;
    agent_change *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->old_text = text_pool_get(old_value ? old_value : "", text_len(old_value));
    c->new_text = text_pool_get(new_value ? new_value : "", text_len(new_value));
    if (!c->old_text || !c->new_text) {
        text_pool_put(c->old_text);
        text_pool_put(c->new_text);
        free(c);
        return -1;
    }
    c->when = when;
    c->index = index;
    c->resource = (uint8_t)resource;
    c->column = (uint8_t)column;
    c->source = (uint8_t)source;
    if (h->count == h->cap) {
        row_free(*slot(h, 0));
        h->start = (h->start + 1) % h->cap;
        h->count--;
    }
    *slot(h, h->count) = c;
    h->count++;
    return 0;
}

uint32_t history_ring_add(history_ring *h, int64_t when, cupi_resource r, unsigned column,
                          unsigned source, const char *old_value, const char *new_value)
{
    if (h->last_index == UINT32_MAX)
        return 0;
    uint32_t index = h->last_index + 1;
    if (push(h, index, when, r, column, source, old_value, new_value) != 0)
        return 0;
    h->last_index = index;
    return index;
}

int history_ring_append(history_ring *h, uint32_t index, int64_t when, unsigned resource,
                        unsigned column, unsigned source, const char *old_value,
                        const char *new_value)
{
    return push(h, index, when, resource, column, source, old_value, new_value);
}

const agent_change *history_ring_at(const history_ring *h, size_t i)
{
    return i < h->count ? *slot(h, i) : NULL;
}

const agent_change *history_ring_from(const history_ring *h, uint32_t index)
{
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((*slot(h, mid))->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return history_ring_at(h, lo);
}

const char *history_value_text(const cupi_field *f, const cupi_value *v, char *buf,
                               size_t bufsz)
{
    if (f->write_only) {
        if (bufsz)
            buf[0] = '\0';
        return buf;
    }
    return cupi_value_format(f, v, buf, bufsz);
}

/* --- JSON ------------------------------------------------------------------ */

/* A saved value must be what the field could hold: the agent only ever
 * recorded values it had validated. */
static bool text_ok(const cupi_field *f, const char *text)
{
    size_t len = strlen(text);
    if (f->write_only)
        return len == 0;
    cupi_value val;
    return cupi_value_parse(f, text, len, &val) == CUPI_VALID &&
           cupi_value_check(f, &val, NULL, 0) == CUPI_VALID;
}

const cupi_field *history_row_check(const char *resource, const char *field,
                                    const char *old_value, const char *new_value,
                                    const char *source, int64_t when, time_t now,
                                    unsigned *source_out, char *why, size_t whysz)
{
    int r = resource ? cupi_resource_from_name(resource) : -1;
    const cupi_field *f = r >= 0 && field ? cupi_field_find((cupi_resource)r, field) : NULL;
    if (when < 0 || when > (int64_t)now + STORE_READ_AT_AHEAD_S) {
        snprintf(why, whysz, "bad time");
        return NULL;
    }
    /* An alias would be another spelling of a known field: only the
     * payload name this code writes is taken. */
    if (!f || strcmp(f->name, field) != 0) {
        snprintf(why, whysz, "unknown resource or field");
        return NULL;
    }
    if (!old_value || !new_value || !text_ok(f, old_value) || !text_ok(f, new_value)) {
        snprintf(why, whysz, "a value %s cannot hold", f->name);
        return NULL;
    }
    if (!source || (strcmp(source, "external") != 0 && strcmp(source, "snmp") != 0)) {
        snprintf(why, whysz, "bad source");
        return NULL;
    }
    *source_out = strcmp(source, "snmp") == 0 ? HISTORY_SOURCE_SNMP : HISTORY_SOURCE_EXTERNAL;
    return f;
}

/* A member's text, or NULL when it is missing or not a string. */
static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Takes a row's fields from its JSON form and checks them as a row read
 * from the store is checked. */
static bool row_from_json(const cJSON *o, uint32_t after, uint32_t last, time_t now,
                          uint32_t *index, int64_t *when, const cupi_field **field,
                          unsigned *source, char *why, size_t whysz)
{
    double idx, t;
    if (!store_json_whole(cJSON_GetObjectItemCaseSensitive(o, "index"), (double)after + 1, last,
                          &idx)) {
        snprintf(why, whysz, "row index not growing or beyond lastIndex");
        return false;
    }
    /* Any whole number an int64_t holds exactly; history_row_check judges
     * it, and anything else is a time it refuses. */
    if (!store_json_whole(cJSON_GetObjectItemCaseSensitive(o, "time"), -9007199254740992.0,
                          9007199254740992.0, &t))
        t = -1;
    char rwhy[96];
    const cupi_field *f =
        history_row_check(json_text(o, "resource"), json_text(o, "field"), json_text(o, "old"),
                          json_text(o, "new"), json_text(o, "source"), (int64_t)t, now, source,
                          rwhy, sizeof rwhy);
    if (!f) {
        snprintf(why, whysz, "row %.0f: %s", idx, rwhy);
        return false;
    }
    *index = (uint32_t)idx;
    *when = (int64_t)t;
    *field = f;
    return true;
}

int history_ring_from_json(history_ring *h, const cJSON *obj, time_t now, char *why,
                           size_t whysz)
{
    drop_rows(h);
    h->last_index = 0;
    double last;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(obj, "version");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(obj, "rows");
    if (!cJSON_IsObject(obj) || !cJSON_IsNumber(version)) {
        snprintf(why, whysz, "not a history section");
        return -1;
    }
    if (version->valuedouble != HISTORY_JSON_VERSION) {
        snprintf(why, whysz, "history version %g, expected %d", version->valuedouble,
                 HISTORY_JSON_VERSION);
        return -1;
    }
    if (!store_json_whole(cJSON_GetObjectItemCaseSensitive(obj, "lastIndex"), 0, UINT32_MAX,
                          &last)) {
        snprintf(why, whysz, "bad lastIndex");
        return -1;
    }
    h->last_index = (uint32_t)last;
    if (!cJSON_IsArray(rows)) {
        snprintf(why, whysz, "no rows");
        return -1;
    }
    /* Only the newest rows that fit are kept: skip the others unread, but
     * check them all, so that a corrupt file is never half trusted. */
    int n = cJSON_GetArraySize(rows);
    size_t skip = (size_t)n > h->cap ? (size_t)n - h->cap : 0;
    uint32_t after = 0;
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, rows)
    {
        uint32_t index;
        int64_t when;
        const cupi_field *f;
        unsigned source;
        if (!row_from_json(o, after, h->last_index, now, &index, &when, &f, &source, why,
                           whysz)) {
            drop_rows(h);
            return -1;
        }
        after = index;
        if (i++ < skip)
            continue;
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(o, "old");
        const cJSON *nv = cJSON_GetObjectItemCaseSensitive(o, "new");
        if (push(h, index, when, f->resource, f->column, source, ov->valuestring,
                 nv->valuestring) != 0) {
            drop_rows(h);
            snprintf(why, whysz, "out of memory");
            return -1;
        }
    }
    return 0;
}
