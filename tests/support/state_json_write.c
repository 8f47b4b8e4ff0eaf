/* state_json_write.c - the JSON state file of earlier releases, written
 * (see state_json_write.h). */
#include "state_json_write.h"

#include <stdbool.h>
#include <stdlib.h>

struct agent_state_render {
    cJSON *root;
    cJSON *list;
    bool failed;
};

agent_state_render *agent_state_render_begin(void)
{
    agent_state_render *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->root = cJSON_CreateObject();
    r->failed = !r->root || !cJSON_AddStringToObject(r->root, "format", AGENT_STATE_FORMAT) ||
                !cJSON_AddNumberToObject(r->root, "version", AGENT_STATE_VERSION) ||
                !(r->list = cJSON_AddArrayToObject(r->root, "servers"));
    return r;
}

static cJSON *resource_json(const store_resource *res)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *values = cJSON_AddObjectToObject(obj, "values");
    bool ok = obj && values && cJSON_AddNumberToObject(obj, "readAt", (double)res->read_at);
    size_t n;
    const cupi_field *f = cupi_fields(res->snap.resource, &n);
    char text[CUPI_STR_MAX + 32];
    for (size_t i = 0; ok && i < n; i++) {
        if (f[i].write_only || !cupi_snapshot_has(&res->snap, f[i].column))
            continue; /* never a password */
        cupi_value_format(&f[i], &res->snap.v[i], text, sizeof text);
        ok = cJSON_AddStringToObject(values, f[i].name, text) != NULL;
    }
    if (!ok) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

int agent_state_render_add(agent_state_render *r, const agent_state_server *s)
{
    if (!r || r->failed)
        return -1;
    cJSON *history = s->history ? cJSON_Duplicate(s->history, true) : NULL;
    if (s->history && !history) {
        r->failed = true;
        return -1;
    }
    cJSON *entry = cJSON_CreateObject();
    if (!entry || !cJSON_AddItemToArray(r->list, entry)) {
        cJSON_Delete(entry);
        cJSON_Delete(history);
        r->failed = true;
        return -1;
    }
    /* From here the list owns entry. */
    bool ok = cJSON_AddNumberToObject(entry, "index", s->index) &&
              cJSON_AddStringToObject(entry, "url", s->url);
    for (int i = 0; ok && i < CUPI_RES_COUNT; i++) {
        if (!s->res[i].valid)
            continue;
        cJSON *res = resource_json(&s->res[i]);
        ok = res && cJSON_AddItemToObject(entry, cupi_resource_name((cupi_resource)i), res);
    }
    if (history) {
        bool added = ok && cJSON_AddItemToObject(entry, "history", history);
        if (!added)
            cJSON_Delete(history);
        ok = added;
    }
    r->failed = !ok;
    return ok ? 0 : -1;
}

char *agent_state_render_finish(agent_state_render *r)
{
    if (!r)
        return NULL;
    char *text = r->failed ? NULL : cJSON_Print(r->root);
    cJSON_Delete(r->root);
    free(r);
    return text;
}

/* --- history section ------------------------------------------------------ */

static const char *source_name(unsigned source)
{
    return source == HISTORY_SOURCE_SNMP ? "snmp" : "external";
}

static cJSON *row_json(const agent_change *c)
{
    const cupi_field *f = cupi_field_at((cupi_resource)c->resource, c->column);
    cJSON *o = cJSON_CreateObject();
    if (!o || !f || !cJSON_AddNumberToObject(o, "index", c->index) ||
        !cJSON_AddNumberToObject(o, "time", (double)c->when) ||
        !cJSON_AddStringToObject(o, "resource", cupi_resource_name(f->resource)) ||
        !cJSON_AddStringToObject(o, "field", f->name) ||
        !cJSON_AddStringToObject(o, "old", agent_change_old(c)) ||
        !cJSON_AddStringToObject(o, "new", agent_change_new(c)) ||
        !cJSON_AddStringToObject(o, "source", source_name(c->source))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *history_ring_to_json(const history_ring *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    if (!o || !rows || !cJSON_AddNumberToObject(o, "version", HISTORY_JSON_VERSION) ||
        !cJSON_AddNumberToObject(o, "lastIndex", h->last_index)) {
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; i < h->count; i++) {
        cJSON *row = row_json(history_ring_at(h, i));
        if (!row || !cJSON_AddItemToArray(rows, row)) {
            cJSON_Delete(row);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}
