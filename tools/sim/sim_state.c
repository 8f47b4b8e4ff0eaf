/* sim_state.c - snapshots as JSON, and the state file.
 *
 * The same JSON object shape ({"Port":"587", ...}, every value a string as
 * CUPI's JSON has it) serves the control interface and the state file. The
 * state file keeps every virtual server by name:
 *   {"format":"cupi-sim-state/1",
 *    "servers":{"NAME":{"server":{...},"client":{...}}, ...}}
 * Entries of servers not running now are kept as they were, so running a
 * subset of a lab's servers does not forget the others.
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT "cupi-sim-state/1"
#define STATE_MAX_BYTES (16u * 1024u * 1024u)

cJSON *sim_snapshot_to_json(const cupi_snapshot *s)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    size_t n;
    const cupi_field *fields = cupi_fields(s->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (!cupi_snapshot_has(s, fields[i].column))
            continue;
        char buf[CUPI_STR_MAX + 32];
        cupi_value_format(&fields[i], &s->v[fields[i].column - 1], buf, sizeof buf);
        if (!cJSON_AddStringToObject(obj, fields[i].name, buf)) {
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

/* JSON member -> the text cupi_value_parse understands. Numbers and booleans
 * are accepted besides strings because hand-written lab files and test
 * scripts use them. */
static bool member_text(const cJSON *m, char *buf, size_t bufsz)
{
    if (cJSON_IsString(m)) {
        if (strlen(m->valuestring) >= bufsz)
            return false;
        strcpy(buf, m->valuestring);
        return true;
    }
    if (cJSON_IsBool(m)) {
        snprintf(buf, bufsz, "%s", cJSON_IsTrue(m) ? "true" : "false");
        return true;
    }
    if (cJSON_IsNumber(m)) {
        double d = m->valuedouble;
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return false;
        snprintf(buf, bufsz, "%lld", (long long)d);
        return true;
    }
    return false;
}

bool sim_snapshot_from_json(cupi_snapshot *s, const cJSON *obj, char *err, size_t errsz)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errsz, "%s: expected an object of field values",
                 cupi_resource_name(s->resource));
        return false;
    }
    cupi_snapshot next = *s;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        const cupi_field *f = cupi_field_find(s->resource, m->string);
        if (!f) {
            snprintf(err, errsz, "%s: unknown field \"%s\"", cupi_resource_name(s->resource),
                     m->string);
            return false;
        }
        char text[CUPI_STR_MAX + 32];
        cupi_value v;
        memset(&v, 0, sizeof v);
        if (!member_text(m, text, sizeof text) ||
            cupi_value_parse(f, text, strlen(text), &v) != CUPI_VALID) {
            snprintf(err, errsz, "%s: bad value for %s", cupi_resource_name(s->resource),
                     f->name);
            return false;
        }
        cupi_snapshot_set(&next, f->column, &v);
    }
    *s = next;
    return true;
}

cJSON *sim_server_state_json(sim_server *srv)
{
    cupi_snapshot copy[CUPI_RES_COUNT];
    pthread_mutex_lock(&srv->lock);
    memcpy(copy, srv->state, sizeof copy);
    pthread_mutex_unlock(&srv->lock);

    cJSON *obj = cJSON_CreateObject();
    for (int r = 0; obj && r < CUPI_RES_COUNT; r++) {
        cJSON *res = sim_snapshot_to_json(&copy[r]);
        if (!res || !cJSON_AddItemToObject(obj, cupi_resource_name((cupi_resource)r), res)) {
            cJSON_Delete(res);
            cJSON_Delete(obj);
            obj = NULL;
        }
    }
    /* The copy held the smart-host password. */
    explicit_bzero(copy, sizeof copy);
    return obj;
}

static sim_server *server_by_name(sim *s, const char *name)
{
    for (size_t i = 0; i < s->n_servers; i++)
        if (strcmp(s->servers[i].name, name) == 0)
            return &s->servers[i];
    return NULL;
}

/* Applies one "NAME":{"server":{...},"client":{...}} entry. */
static int load_entry(sim_server *srv, const cJSON *entry, char *err, size_t errsz)
{
    if (!cJSON_IsObject(entry)) {
        snprintf(err, errsz, "server \"%s\": expected an object", srv->name);
        return -1;
    }
    cupi_snapshot next[CUPI_RES_COUNT];
    memcpy(next, srv->state, sizeof next);
    const cJSON *m;
    cJSON_ArrayForEach(m, entry)
    {
        int r = cupi_resource_from_name(m->string);
        char why[256];
        if (r < 0) {
            snprintf(err, errsz, "server \"%s\": unknown resource \"%s\"", srv->name,
                     m->string);
            return -1;
        }
        if (!sim_snapshot_from_json(&next[r], m, why, sizeof why)) {
            snprintf(err, errsz, "server \"%s\": %s", srv->name, why);
            return -1;
        }
    }
    memcpy(srv->state, next, sizeof next);
    explicit_bzero(next, sizeof next);
    return 0;
}

int sim_state_load(sim *s, char *err, size_t errsz)
{
    const char *path = s->opt.state_file;
    if (!path)
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (sim_read_file(path, STATE_MAX_BYTES, &text, &len) != 0) {
        if (errno == ENOENT)
            return 0; /* first run: the file is created on the first change */
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    sim_free_secret(text);
    int rc = -1;
    const cJSON *servers = NULL;
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errsz, "%s: not a JSON object", path);
        goto done;
    }
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, STATE_FORMAT) != 0) {
        snprintf(err, errsz, "%s: not a cupi-sim state file (\"format\" is not \"%s\")", path,
                 STATE_FORMAT);
        goto done;
    }
    servers = cJSON_GetObjectItemCaseSensitive(root, "servers");
    if (!cJSON_IsObject(servers)) {
        snprintf(err, errsz, "%s: \"servers\" must be an object", path);
        goto done;
    }
    s->state_other = cJSON_CreateObject();
    if (!s->state_other) {
        snprintf(err, errsz, "out of memory");
        goto done;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, servers)
    {
        sim_server *srv = server_by_name(s, entry->string);
        char why[400];
        if (srv) {
            if (load_entry(srv, entry, why, sizeof why) != 0) {
                snprintf(err, errsz, "%s: %s", path, why);
                goto done;
            }
        } else {
            cJSON *dup = cJSON_Duplicate(entry, 1);
            if (!dup || !cJSON_AddItemToObject(s->state_other, entry->string, dup)) {
                cJSON_Delete(dup);
                snprintf(err, errsz, "out of memory");
                goto done;
            }
        }
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

int sim_state_save(sim *s)
{
    const char *path = s->opt.state_file;
    if (!path)
        return 0;
    pthread_mutex_lock(&s->save_lock);
    /* The servers' states are copied inside save_lock: whichever writer goes
     * last also copied last, so the file always ends with the newest state. */
    int rc = -1;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *servers = s->state_other ? cJSON_Duplicate(s->state_other, 1) : cJSON_CreateObject();
    if (!root || !servers || !cJSON_AddStringToObject(root, "format", STATE_FORMAT) ||
        !cJSON_AddItemToObject(root, "servers", servers)) {
        cJSON_Delete(servers);
        goto done;
    }
    for (size_t i = 0; i < s->n_servers; i++) {
        cJSON *st = sim_server_state_json(&s->servers[i]);
        if (!st || !cJSON_AddItemToObject(servers, s->servers[i].name, st)) {
            cJSON_Delete(st);
            goto done;
        }
    }
    text = cJSON_Print(root);
    if (!text)
        goto done;
    /* 0600: the file holds the smart-host passwords. */
    if (sim_write_file_atomic(path, text, strlen(text), 0600) != 0) {
        sim_log("cupi-sim: cannot write state file %s: %s", path, strerror(errno));
        goto unlock;
    }
    rc = 0;
done:
    if (rc != 0)
        sim_log("cupi-sim: cannot write state file %s: out of memory", path);
unlock:
    sim_free_secret(text);
    cJSON_Delete(root);
    pthread_mutex_unlock(&s->save_lock);
    return rc;
}
