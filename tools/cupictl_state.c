/* cupictl_state.c - "cupictl state", the report on the agent's state
 * (cupiStateFile), read with the store's own reader (store/store.h),
 * read-only and safe while the agent runs.
 *
 * What can be said from the store alone: when each server's values were
 * read from CUPI, and when the agent last wrote. A running agent that
 * reaches CUPI writes its read times at least every STORE_REWRITE_S plus
 * one refresh period, so a store older than that is stale: the agent is
 * stopped, cannot reach CUPI, or cannot write (its log says which). Whether
 * the store lacks a value the agent holds in memory right now cannot be
 * known from here. */
#include "cupictl_state.h"
#include "cupictl_time.h"

#include "store.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct report {
    const cupi_config *cfg;
    const cupi_server_config *only;
    const store_doc *doc;
    time_t now, written;
    long stale_after;
    FILE *out;
} report;

/* How often the agent reads each resource in the background. */
static long refresh_period(const cupi_config *cfg)
{
    return (long)cfg->poll_interval_s;
}

/* --- text ------------------------------------------------------------------ */

static void text_resource(const report *r, const store_server *e, cupi_resource which)
{
    char when[32];
    const store_resource *res = &e->res[which];
    if (res->valid)
        fprintf(r->out, "  %s: values read from CUPI %s (%lld s ago)\n",
                cupi_resource_name(which), cupictl_utc(res->read_at, when, sizeof when),
                (long long)(r->now - res->read_at));
    else
        fprintf(r->out, "  %s: no values saved\n", cupi_resource_name(which));
}

static void text_report(const report *r)
{
    char when[32];
    fprintf(r->out, "state file %s\n  written %s (%lld s ago)\n", r->cfg->state_file,
            cupictl_utc(r->written, when, sizeof when), (long long)(r->now - r->written));
    for (size_t i = 0; i < r->cfg->n_servers; i++) {
        const cupi_server_config *s = &r->cfg->servers[i];
        if (r->only && r->only != s)
            continue;
        fprintf(r->out, "server %u %s %s\n", s->index, s->name, s->url);
        const store_server *e = store_doc_find(r->doc, s->index, s->url);
        if (!e) {
            fprintf(r->out, "  nothing saved for this server at this URL\n");
            continue;
        }
        for (int res = 0; res < CUPI_RES_COUNT; res++)
            text_resource(r, e, (cupi_resource)res);
        if (e->invalid)
            fprintf(r->out, "  %u saved resource(s) invalid: the agent ignores them\n",
                    e->invalid);
    }
    for (size_t i = 0; i < r->doc->n_servers && !r->only; i++) {
        const store_server *e = &r->doc->servers[i];
        const cupi_server_config *s = NULL;
        for (size_t k = 0; k < r->cfg->n_servers && !s; k++)
            if (r->cfg->servers[k].index == e->index)
                s = &r->cfg->servers[k];
        if (!s || strcmp(s->url, e->url) != 0)
            fprintf(r->out, "saved for server %u at %s, %s: the agent ignores it\n", e->index,
                    e->url, s ? "which is now another URL" : "which is not configured");
    }
    long age = (long)(r->now - r->written);
    if (age > r->stale_after)
        fprintf(r->out,
                "STALE: written %ld s ago; an agent that runs and reaches CUPI rewrites it at "
                "least every %ld s, so the agent is stopped, cannot reach CUPI, or cannot "
                "write the file (its log says which)\n",
                age, r->stale_after);
    else
        fprintf(r->out, "current: written within the last %ld s\n", r->stale_after);
}

/* --- JSON ------------------------------------------------------------------ */

static bool json_resource(cJSON *parent, const report *r, const store_resource *res,
                          cupi_resource which)
{
    if (!res->valid)
        return cJSON_AddNullToObject(parent, cupi_resource_name(which)) != NULL;
    cJSON *o = cJSON_AddObjectToObject(parent, cupi_resource_name(which));
    return o && cJSON_AddNumberToObject(o, "readAt", (double)res->read_at) &&
           cJSON_AddNumberToObject(o, "age", (double)(r->now - res->read_at));
}

static int json_report(const report *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "servers");
    long age = (long)(r->now - r->written);
    bool ok = root && list && cJSON_AddStringToObject(root, "file", r->cfg->state_file) &&
              cJSON_AddNumberToObject(root, "writtenAt", (double)r->written) &&
              cJSON_AddNumberToObject(root, "age", (double)age) &&
              cJSON_AddNumberToObject(root, "staleAfter", (double)r->stale_after) &&
              cJSON_AddBoolToObject(root, "stale", age > r->stale_after);
    for (size_t i = 0; ok && i < r->cfg->n_servers; i++) {
        const cupi_server_config *s = &r->cfg->servers[i];
        if (r->only && r->only != s)
            continue;
        const store_server *e = store_doc_find(r->doc, s->index, s->url);
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(list, o) &&
             cJSON_AddNumberToObject(o, "index", s->index) &&
             cJSON_AddStringToObject(o, "name", s->name) &&
             cJSON_AddStringToObject(o, "url", s->url) &&
             cJSON_AddBoolToObject(o, "saved", e != NULL) &&
             cJSON_AddNumberToObject(o, "invalid", e ? e->invalid : 0);
        for (int res = 0; ok && e && res < CUPI_RES_COUNT; res++)
            ok = json_resource(o, r, &e->res[res], (cupi_resource)res);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "cupictl: out of memory\n");
        return 1;
    }
    fprintf(r->out, "%s\n", text);
    free(text);
    return 0;
}

int cupictl_state(const cupi_config *cfg, const cupi_server_config *only, bool json, time_t now,
                  FILE *out)
{
    if (!cfg->state_file) {
        fprintf(stderr, "cupictl: no cupiStateFile in the configuration\n");
        return 1;
    }
    store_read_opts o = {.now = now, .history_rows = 0};
    store_doc doc;
    char why[320];
    if (store_load(cfg->state_file, &o, &doc, why, sizeof why) != 0) {
        fprintf(stderr, "cupictl: cannot read state file %s: %s\n", cfg->state_file, why);
        return 1;
    }
    report r = {cfg, only, &doc, now, doc.written_at, STORE_REWRITE_S + refresh_period(cfg),
                out};
    int rc = json ? json_report(&r) : (text_report(&r), 0);
    store_doc_free(&doc);
    return rc;
}
