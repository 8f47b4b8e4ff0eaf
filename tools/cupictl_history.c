/* cupictl_history.c - "cupictl history" reads the change history from the
 * agent's state with the store's own reader (store/store.h), read-only and
 * safe while the agent runs, so it shows exactly what the agent would load,
 * and never talks to CUPI. */
#include "cupictl_history.h"
#include "cupictl_time.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cupictl_history_args(int argc, char **argv, bool *json, const char **server)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            *json = true;
        } else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            *server = argv[++i];
        } else if (strncmp(argv[i], "--server=", 9) == 0) {
            *server = argv[i] + 9;
        } else {
            fprintf(stderr, "cupictl: history: unexpected argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    return 0;
}

/* cupiSmtpServerMaxConnections.1: the changed column's instance. */
static const char *object_name(const agent_change *c, unsigned index, char *buf, size_t size)
{
    const cupi_field *f = cupi_field_at((cupi_resource)c->resource, c->column);
    snprintf(buf, size, "%s.%u", f ? f->mib_name : "?", index);
    return buf;
}

static const char *source_name(unsigned source)
{
    return source == HISTORY_SOURCE_SNMP ? "snmp" : "external";
}

static void print_table_rows(const history_ring *h, unsigned index)
{
    char when[32], object[96];
    for (size_t i = 0; i < h->count; i++) {
        const agent_change *c = history_ring_at(h, i);
        printf("%-6u %-10u %-20s %-8s %-40s \"%s\" -> \"%s\"\n", index, c->index,
               cupictl_utc(c->when, when, sizeof when), source_name(c->source),
               object_name(c, index, object, sizeof object), agent_change_old(c),
               agent_change_new(c));
    }
}

static cJSON *rows_json(const history_ring *h, unsigned index)
{
    cJSON *rows = cJSON_CreateArray();
    char when[32], object[96];
    for (size_t i = 0; rows && i < h->count; i++) {
        const agent_change *c = history_ring_at(h, i);
        const cupi_field *f = cupi_field_at((cupi_resource)c->resource, c->column);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(rows, o) ||
            !cJSON_AddNumberToObject(o, "index", c->index) ||
            !cJSON_AddStringToObject(o, "time", cupictl_utc(c->when, when, sizeof when)) ||
            !cJSON_AddStringToObject(o, "object",
                                     object_name(c, index, object, sizeof object)) ||
            !cJSON_AddStringToObject(o, "resource", cupi_resource_name(f->resource)) ||
            !cJSON_AddStringToObject(o, "field", f->name) ||
            !cJSON_AddStringToObject(o, "old", agent_change_old(c)) ||
            !cJSON_AddStringToObject(o, "new", agent_change_new(c)) ||
            !cJSON_AddStringToObject(o, "source", source_name(c->source))) {
            cJSON_Delete(rows);
            return NULL;
        }
    }
    return rows;
}

/* One server's history printed (or added to out as JSON). Returns 0, or 1
 * when its history is unusable. */
static int show_entry(const store_server *e, const char *name, bool json, cJSON *out)
{
    const history_ring *h = &e->history;
    int rc = 0;
    if (e->history_bad) {
        fprintf(stderr, "cupictl: server %u: the saved history is not usable: %s\n", e->index,
                e->history_why);
        rc = 1;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cJSON_AddItemToArray(out, o);
        if (!ok)
            cJSON_Delete(o);
        ok = ok && cJSON_AddNumberToObject(o, "index", e->index) &&
             (name ? cJSON_AddStringToObject(o, "name", name)
                   : cJSON_AddNullToObject(o, "name")) &&
             cJSON_AddNumberToObject(o, "lastIndex", h->last_index);
        cJSON *rows = ok ? rows_json(h, e->index) : NULL;
        if (rows && !cJSON_AddItemToObject(o, "rows", rows)) {
            cJSON_Delete(rows);
            rows = NULL;
        }
        if (!rows)
            rc = 1;
    } else {
        print_table_rows(h, e->index);
    }
    return rc;
}

int cupictl_history(const cupi_config *cfg, const char *server, bool json)
{
    const cupi_server_config *only = NULL;
    if (server && !(only = cupi_config_find_server(cfg, server))) {
        fprintf(stderr, "cupictl: no server \"%s\" in the configuration\n", server);
        return 2;
    }
    if (!cfg->state_file) {
        fprintf(stderr, "cupictl: no cupiStateFile in the configuration: the agent keeps no "
                        "history on disk\n");
        return 1;
    }
    /* Every row saved, for any cupiHistorySize the agent may have had. */
    store_read_opts o = {.now = time(NULL), .history_rows = STORE_HISTORY_MAX_ROWS};
    store_doc doc;
    char why[320];
    if (store_load(cfg->state_file, &o, &doc, why, sizeof why) != 0) {
        fprintf(stderr, "cupictl: cannot read state file %s: %s\n", cfg->state_file, why);
        return 1;
    }
    cJSON *out = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%-6s %-10s %-20s %-8s %-40s %s\n", "SERVER", "CHANGE", "TIME (UTC)", "SOURCE",
               "OBJECT", "OLD -> NEW");
    int rc = 0;
    for (size_t i = 0; i < doc.n_servers; i++) {
        const store_server *e = &doc.servers[i];
        if (only && only->index != e->index)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%u", e->index);
        const cupi_server_config *c = cupi_config_find_server(cfg, key);
        if (show_entry(e, c ? c->name : NULL, json, out) != 0)
            rc = 1;
    }
    if (json) {
        cJSON *root = cJSON_CreateObject();
        char *printed =
            root && cJSON_AddItemToObject(root, "servers", out) ? cJSON_Print(root) : NULL;
        if (!root)
            cJSON_Delete(out);
        if (printed)
            puts(printed);
        else
            rc = 1;
        free(printed);
        cJSON_Delete(root);
    }
    store_doc_free(&doc);
    return rc;
}
