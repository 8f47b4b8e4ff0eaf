/* store/store_read.c - the one reader of the agent's state: the database
 * (read-only, in one read transaction, safe while the agent writes) or a
 * JSON state file of an earlier release, into the same records with the
 * same checks. The agent's start, `cupictl state` and `cupictl history`
 * all read through store_load. */
#include "state_json.h"
#include "store_internal.h"
#include "store_schema.h"

#include "cupi_file.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHY(...) snprintf(err, errsz, __VA_ARGS__)

void store_doc_free(store_doc *doc)
{
    for (size_t i = 0; i < doc->n_servers; i++)
        history_ring_clear(&doc->servers[i].history);
    free(doc->servers);
    memset(doc, 0, sizeof *doc);
}

static int by_index(const void *a, const void *b)
{
    const store_server *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

const store_server *store_doc_find_index(const store_doc *doc, unsigned index)
{
    store_server key = {.index = index};
    return doc->n_servers ? bsearch(&key, doc->servers, doc->n_servers, sizeof key, by_index)
                          : NULL;
}

const store_server *store_doc_find(const store_doc *doc, unsigned index, const char *url)
{
    const store_server *s = store_doc_find_index(doc, index);
    return s && url && strcmp(s->url, url) == 0 ? s : NULL;
}

static store_server *find_mut(store_doc *doc, long long index)
{
    if (index < 1 || index > 65535)
        return NULL;
    return (store_server *)store_doc_find_index(doc, (unsigned)index);
}

/* Text of a column, or NULL when NULL or holding a NUL byte. */
static const char *text_at(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t || strlen(t) != (size_t)sqlite3_column_bytes(s, col))
        return NULL;
    return t;
}

static void history_bad(store_server *e, const char *why, uint32_t index)
{
    if (e->history_bad)
        return;
    e->history_bad = true;
    snprintf(e->history_why, sizeof e->history_why, "row %u: %s", index, why);
}

/* --- the database ------------------------------------------------------------ */

static int read_servers(sqlite3 *db, const store_read_opts *o, store_doc *doc)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT server, url, last_change FROM servers ORDER BY server",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        long long index = sqlite3_column_int64(s, 0);
        long long last = sqlite3_column_int64(s, 2);
        const char *url = text_at(s, 1);
        if (index < 1 || index > 65535 || !url || strlen(url) > STORE_URL_MAX || last < 0 ||
            last > UINT32_MAX) {
            doc->dropped++;
            continue;
        }
        if (o->want && !o->want((unsigned)index, url, o->want_arg))
            continue;
        if (doc->n_servers == cap) {
            size_t grown = cap ? cap * 2 : 16;
            store_server *p = realloc(doc->servers, grown * sizeof *p);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            doc->servers = p;
            cap = grown;
        }
        store_server *e = &doc->servers[doc->n_servers++];
        memset(e, 0, sizeof *e);
        e->index = (unsigned)index;
        snprintf(e->url, sizeof e->url, "%s", url);
        e->last_change = (uint32_t)last;
        history_ring_init(&e->history);
        e->history.last_index = e->last_change;
        if (history_ring_resize(&e->history, o->history_rows) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        for (int r = 0; r < CUPI_RES_COUNT; r++)
            cupi_snapshot_init(&e->res[r].snap, (cupi_resource)r);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Values and read times: a resource is valid when it has a read time and
 * every readable field, each passing its field's checks, and nothing else. */
static int read_values(sqlite3 *db, const store_read_opts *o, store_doc *doc)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT server, resource, read_at FROM resources", -1, &s,
                           NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_server *e = find_mut(doc, sqlite3_column_int64(s, 0));
        const char *name = text_at(s, 1);
        int r = name ? cupi_resource_from_name(name) : -1;
        if (!e || r < 0 || strcmp(name, cupi_resource_name((cupi_resource)r)) != 0)
            continue;
        long long at = sqlite3_column_int64(s, 2);
        e->res[r].read_at = (time_t)at;
        /* valid for now: judged below with the values */
        e->res[r].valid = sqlite3_column_type(s, 2) == SQLITE_INTEGER && at >= 0 &&
                          at <= (long long)o->now + STORE_READ_AT_AHEAD_S;
        if (!e->res[r].valid)
            e->invalid++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return -1;

    /* Every readable field once, each valid; a resource with anything else
     * is not taken. */
    uint8_t *bad = calloc(doc->n_servers ? doc->n_servers : 1, CUPI_RES_COUNT);
    if (!bad)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT server, resource, field, value FROM field_values", -1,
                           &s, NULL) != SQLITE_OK) {
        free(bad);
        return -1;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_server *e = find_mut(doc, sqlite3_column_int64(s, 0));
        const char *name = text_at(s, 1);
        int r = name ? cupi_resource_from_name(name) : -1;
        if (!e || r < 0 || strcmp(name, cupi_resource_name((cupi_resource)r)) != 0 ||
            !e->res[r].valid)
            continue;
        uint8_t *b = &bad[(size_t)(e - doc->servers) * CUPI_RES_COUNT + (size_t)r];
        const char *field = text_at(s, 2), *text = text_at(s, 3);
        const cupi_field *f = field ? cupi_field_find((cupi_resource)r, field) : NULL;
        cupi_value val;
        if (!f || strcmp(f->name, field) != 0 || f->write_only || !text ||
            cupi_snapshot_has(&e->res[r].snap, f->column) ||
            cupi_value_parse(f, text, strlen(text), &val) != CUPI_VALID ||
            cupi_value_check(f, &val, NULL, 0) != CUPI_VALID) {
            *b = 1;
            continue;
        }
        cupi_snapshot_set(&e->res[r].snap, f->column, &val);
    }
    sqlite3_finalize(s);
    for (size_t i = 0; rc == SQLITE_DONE && i < doc->n_servers; i++) {
        store_server *e = &doc->servers[i];
        for (int r = 0; r < CUPI_RES_COUNT; r++) {
            if (!e->res[r].valid)
                continue;
            size_t n;
            const cupi_field *f = cupi_fields((cupi_resource)r, &n);
            bool complete = !bad[i * CUPI_RES_COUNT + (size_t)r];
            for (size_t k = 0; complete && k < n; k++)
                if (!f[k].write_only && !cupi_snapshot_has(&e->res[r].snap, f[k].column))
                    complete = false;
            if (!complete) {
                e->res[r].valid = false;
                e->invalid++;
                cupi_snapshot_init(&e->res[r].snap, (cupi_resource)r);
            }
        }
    }
    free(bad);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int read_changes(sqlite3 *db, const store_read_opts *o, store_doc *doc)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT server, change, time, resource, field, old, new, source "
                           "FROM changes ORDER BY server, change",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc;
    uint32_t after = 0;
    const store_server *current = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_server *e = find_mut(doc, sqlite3_column_int64(s, 0));
        if (!e)
            continue;
        if (e != current) {
            current = e;
            after = 0;
        }
        e->history_saved++;
        long long index = sqlite3_column_int64(s, 1);
        if (e->history_bad)
            continue;
        if (index <= after || index > e->last_change) {
            history_bad(e, "index not growing or beyond the server's last_change",
                        (uint32_t)(index < 0            ? 0
                                   : index > UINT32_MAX ? UINT32_MAX
                                                        : index));
            continue;
        }
        after = (uint32_t)index;
        unsigned source;
        char why[96];
        const char *old_value = text_at(s, 5), *new_value = text_at(s, 6);
        const cupi_field *f = history_row_check(
            text_at(s, 3), text_at(s, 4), old_value, new_value, text_at(s, 7),
            sqlite3_column_type(s, 2) == SQLITE_INTEGER ? sqlite3_column_int64(s, 2) : -1,
            o->now, &source, why, sizeof why);
        if (!f) {
            history_bad(e, why, after);
            continue;
        }
        if (history_ring_append(&e->history, after, sqlite3_column_int64(s, 2), f->resource,
                                f->column, source, old_value, new_value) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(s);
    /* A history that is not sound is not half trusted: no rows, but its last
     * index still holds, so numbers never go back. */
    for (size_t i = 0; i < doc->n_servers; i++) {
        if (doc->servers[i].history_bad) {
            size_t cap = doc->servers[i].history.cap;
            uint32_t last = doc->servers[i].history.last_index;
            history_ring_clear(&doc->servers[i].history);
            history_ring_resize(&doc->servers[i].history, cap);
            doc->servers[i].history.last_index = last;
        }
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

static void read_info(sqlite3 *db, store_doc *doc)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM store_info", -1, &s, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *key = text_at(s, 0), *value = text_at(s, 1);
        if (!key || !value)
            continue;
        if (strcmp(key, "store_id") == 0)
            snprintf(doc->store_id, sizeof doc->store_id, "%s", value);
        else if (strcmp(key, "written_at") == 0)
            doc->written_at = (time_t)strtoll(value, NULL, 10);
    }
    sqlite3_finalize(s);
}

static int load_db(const char *path, const store_read_opts *o, store_doc *doc, char *err,
                   size_t errsz)
{
    sqlite3 *db;
    if (store_open_readonly(path, &db, err, errsz) != 0)
        return -1;
    memset(doc, 0, sizeof *doc);
    /* One read transaction: a consistent picture while the agent writes. */
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (rc == 0) {
        read_info(db, doc);
        rc = read_servers(db, o, doc);
        if (rc == 0)
            rc = read_values(db, o, doc);
        if (rc == 0)
            rc = read_changes(db, o, doc);
    }
    if (rc != 0)
        store_describe(db, "cannot read the state store", err, errsz);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    doc->kind = STORE_KIND_SQLITE;
    doc->schema = store_schema_version();
    return rc;
}

/* --- a JSON state file of an earlier release --------------------------------- */

static bool json_want(unsigned index, const char *url, void *arg)
{
    const store_read_opts *o = arg;
    return !o->want || o->want(index, url, o->want_arg);
}

static int load_json(const char *path, const store_read_opts *o, store_doc *doc, char *err,
                     size_t errsz)
{
    memset(doc, 0, sizeof *doc);
    size_t len = 0;
    struct stat st;
    char why[160] = "";
    char *text = cupi_file_read(path, AGENT_STATE_MAX_SIZE, &len, &st, why, sizeof why);
    if (!text) {
        WHY("%s", why);
        return -1;
    }
    agent_state_doc jd;
    int rc = agent_state_parse(text, len, o->now, json_want, (void *)o, &jd, why, sizeof why);
    free(text);
    if (rc != 0) {
        WHY("%s", why);
        return -1;
    }
    doc->servers = jd.n_servers ? calloc(jd.n_servers, sizeof *doc->servers) : NULL;
    if (jd.n_servers && !doc->servers) {
        agent_state_doc_free(&jd);
        WHY("out of memory");
        return -1;
    }
    doc->dropped = jd.dropped;
    doc->written_at = st.st_mtime;
    doc->kind = STORE_KIND_JSON;
    for (size_t i = 0; i < jd.n_servers; i++) {
        const agent_state_server *j = &jd.servers[i];
        store_server *e = &doc->servers[doc->n_servers++];
        e->index = j->index;
        snprintf(e->url, sizeof e->url, "%s", j->url);
        e->invalid = j->invalid;
        memcpy(e->res, j->res, sizeof e->res);
        history_ring_init(&e->history);
        if (history_ring_resize(&e->history, o->history_rows) != 0) {
            rc = -1;
            WHY("out of memory");
            break;
        }
        if (j->history) {
            /* Counted before the ring keeps only the newest. */
            const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j->history, "rows");
            e->history_saved = cJSON_IsArray(rows) ? (unsigned)cJSON_GetArraySize(rows) : 0;
            char hwhy[128];
            if (history_ring_from_json(&e->history, j->history, o->now, hwhy, sizeof hwhy) !=
                0) {
                e->history_bad = true;
                snprintf(e->history_why, sizeof e->history_why, "%s", hwhy);
            }
        }
        e->last_change = e->history.last_index;
    }
    agent_state_doc_free(&jd);
    if (rc != 0)
        store_doc_free(doc);
    return rc;
}

int store_load(const char *path, const store_read_opts *opts, store_doc *doc, char *err,
               size_t errsz)
{
    memset(doc, 0, sizeof *doc);
    char why[256] = "";
    int rc = -1;
    switch (store_probe(path, why, sizeof why)) {
    case STORE_KIND_MISSING:
    case STORE_KIND_ERROR:
    case STORE_KIND_OTHER:
        WHY("%s", why);
        break;
    case STORE_KIND_EMPTY:
        WHY("an empty state store (nothing written yet)");
        break;
    case STORE_KIND_JSON:
        rc = load_json(path, opts, doc, err, errsz);
        break;
    case STORE_KIND_SQLITE:
        rc = load_db(path, opts, doc, err, errsz);
        break;
    }
    if (rc != 0)
        store_doc_free(doc);
    else if (doc->n_servers > 1)
        qsort(doc->servers, doc->n_servers, sizeof *doc->servers, by_index);
    return rc;
}

/* --- the configuration check ------------------------------------------------ */

int store_check(const char *path, char *err, size_t errsz)
{
    char why[256] = "";
    switch (store_probe(path, why, sizeof why)) {
    case STORE_KIND_MISSING: {
        char *copy = strdup(path);
        const char *dir = copy ? dirname(copy) : ".";
        int ok = access(dir, W_OK | X_OK) == 0;
        int e = errno;
        if (!ok)
            WHY("state store %s cannot be created in %s: %s", path, dir, strerror(e));
        free(copy);
        return ok ? 0 : -1;
    }
    case STORE_KIND_EMPTY:
        return 0;
    case STORE_KIND_ERROR:
    case STORE_KIND_OTHER:
        WHY("state store %s: %s", path, why);
        return -1;
    case STORE_KIND_JSON: {
        store_read_opts o = {.now = time(NULL), .history_rows = 0};
        store_doc doc;
        if (load_json(path, &o, &doc, why, sizeof why) != 0) {
            WHY("state file %s: %s", path, why);
            return -1;
        }
        store_doc_free(&doc);
        return 0;
    }
    case STORE_KIND_SQLITE: {
        sqlite3 *db;
        int rc = store_open_readonly(path, &db, why, sizeof why);
        if (rc == 0)
            sqlite3_close(db);
        if (rc == -1)
            WHY("state store %s: %s", path, why);
        return rc == -1 ? -1 : 0; /* an older schema is the agent's to upgrade */
    }
    }
    return -1;
}
