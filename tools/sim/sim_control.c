/* sim_control.c - the /_sim/ control interface of a virtual server.
 *
 * JSON in, JSON out. It lets a test or a lab operator look behind CUPI's
 * back: read the real state (password included), change it the way the CUC
 * web UI would (no validation, not counted as a PUT), inject faults and read
 * the request counters.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*control_fn)(sim_server *srv, const cJSON *in, cJSON **out, char *err,
                          size_t errsz);

static int state_get(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    (void)in;
    (void)err;
    (void)errsz;
    *out = sim_server_state_json(srv);
    return *out ? 200 : 500;
}

/* {"server":{FIELD:VALUE,...},"client":{...}}: both resources change at
 * once or not at all; values are type-checked only, as the web UI's
 * direct database edits are what this simulates. */
static int state_post(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    if (!cJSON_IsObject(in)) {
        snprintf(err, errsz, "expected {\"server\":{...},\"client\":{...}}");
        return 400;
    }
    pthread_mutex_lock(&srv->lock);
    cupi_snapshot next[CUPI_RES_COUNT];
    memcpy(next, srv->state, sizeof next);
    const cJSON *m;
    int status = 200;
    cJSON_ArrayForEach(m, in)
    {
        int r = cupi_resource_from_name(m->string);
        if (r < 0) {
            snprintf(err, errsz, "unknown resource \"%s\" (use \"server\" or \"client\")",
                     m->string);
            status = 400;
            break;
        }
        if (!sim_snapshot_from_json(&next[r], m, err, errsz)) {
            status = 400;
            break;
        }
    }
    if (status == 200)
        memcpy(srv->state, next, sizeof next);
    explicit_bzero(next, sizeof next);
    pthread_mutex_unlock(&srv->lock);
    if (status != 200)
        return status;
    sim_state_save(srv->sim);
    return state_get(srv, NULL, out, err, errsz);
}

static cJSON *faults_json_locked(sim_server *srv)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *list = sim_faults_to_json(srv->faults, srv->n_faults);
    if (!o || !list || !cJSON_AddItemToObject(o, "faults", list)) {
        cJSON_Delete(o);
        cJSON_Delete(list);
        return NULL;
    }
    return o;
}

static int fault_get(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    (void)in;
    (void)err;
    (void)errsz;
    pthread_mutex_lock(&srv->lock);
    *out = faults_json_locked(srv);
    pthread_mutex_unlock(&srv->lock);
    return *out ? 200 : 500;
}

/* One rule object, or an array of them added in order. */
static int fault_post(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    sim_fault rules[16];
    size_t n = 0;
    if (cJSON_IsArray(in)) {
        const cJSON *item;
        cJSON_ArrayForEach(item, in)
        {
            if (n == sizeof rules / sizeof rules[0]) {
                snprintf(err, errsz, "at most %zu rules per request", n);
                return 400;
            }
            if (!sim_fault_from_json(item, &rules[n++], err, errsz))
                return 400;
        }
    } else if (!sim_fault_from_json(in, &rules[n++], err, errsz)) {
        return 400;
    }
    int status = 200;
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < n && status == 200; i++) {
        if (sim_faults_add(srv, &rules[i]) != 0) {
            snprintf(err, errsz, "too many fault rules (DELETE /_sim/fault clears them)");
            status = 400;
        }
    }
    if (status == 200)
        *out = faults_json_locked(srv);
    pthread_mutex_unlock(&srv->lock);
    return status;
}

static int fault_delete(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    pthread_mutex_lock(&srv->lock);
    sim_faults_clear(srv);
    pthread_mutex_unlock(&srv->lock);
    return fault_get(srv, in, out, err, errsz);
}

static int counters_get(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    (void)in;
    (void)err;
    (void)errsz;
    pthread_mutex_lock(&srv->lock);
    *out = sim_counters_to_json(&srv->counters);
    if (*out)
        cJSON_AddNumberToObject(*out, "in_progress", srv->in_progress);
    pthread_mutex_unlock(&srv->lock);
    return *out ? 200 : 500;
}

static int counters_reset(sim_server *srv, const cJSON *in, cJSON **out, char *err,
                          size_t errsz)
{
    pthread_mutex_lock(&srv->lock);
    sim_counters_reset(&srv->counters, srv->in_progress);
    pthread_mutex_unlock(&srv->lock);
    return counters_get(srv, in, out, err, errsz);
}

static int fleet_get(sim_server *srv, const cJSON *in, cJSON **out, char *err, size_t errsz)
{
    (void)in;
    (void)err;
    (void)errsz;
    *out = sim_fleet_to_json(&srv->sim->fleet, srv->sim->n_servers);
    return *out ? 200 : 500;
}

static const struct {
    const char *method;
    const char *path;
    bool needs_body;
    control_fn fn;
} routes[] = {
    {"GET", "/_sim/state", false, state_get},
    {"POST", "/_sim/state", true, state_post},
    {"GET", "/_sim/fault", false, fault_get},
    {"POST", "/_sim/fault", true, fault_post},
    {"DELETE", "/_sim/fault", false, fault_delete},
    {"GET", "/_sim/counters", false, counters_get},
    {"POST", "/_sim/counters/reset", false, counters_reset},
    {"GET", "/_sim/fleet", false, fleet_get},
};

static char *error_json(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int sim_control_handle(sim_server *srv, const char *method, const char *url, const char *body,
                       size_t len, char **out)
{
    char err[512] = "";
    bool path_known = false;
    *out = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path) != 0)
            continue;
        path_known = true;
        if (strcmp(method, routes[i].method) != 0)
            continue;

        cJSON *in = NULL;
        if (routes[i].needs_body) {
            in = cJSON_ParseWithLength(body ? body : "", len);
            if (!in) {
                *out = error_json("request body is not valid JSON");
                return 400;
            }
        }
        cJSON *result = NULL;
        int status = routes[i].fn(srv, in, &result, err, sizeof err);
        cJSON_Delete(in);
        if (status == 200) {
            *out = cJSON_PrintUnformatted(result);
            if (!*out)
                status = 500;
        } else {
            *out = error_json(err[0] ? err : "internal error");
        }
        cJSON_Delete(result);
        return status;
    }
    if (path_known)
        snprintf(err, sizeof err, "method %s not allowed on %s", method, url);
    else
        snprintf(err, sizeof err, "no such path: %s", url);
    *out = error_json(err);
    return path_known ? 405 : 404;
}
