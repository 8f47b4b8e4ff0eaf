/* sim_fault.c - fault-injection rules of a virtual server.
 *
 * Rules are kept in the order they were added; a request to one of the two
 * resources uses the first rule whose method and resource match and that has
 * uses left. A rule whose count runs out is removed, so a test can queue
 * "two 503s, then a slow answer" as three rules.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LATENCY_MS (10L * 60 * 1000)
#define MAX_RULES 64
#define MAX_HEADER_BYTES (16L * 1024 * 1024)

static const char *const method_names[] = {
    [SIM_METHOD_ANY] = "*",
    [SIM_METHOD_GET] = "GET",
    [SIM_METHOD_PUT] = "PUT",
};

static bool get_long(const cJSON *obj, const char *key, long lo, long hi, long *out, char *err,
                     size_t errsz)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!m)
        return true;
    if (!cJSON_IsNumber(m) || m->valuedouble < (double)lo || m->valuedouble > (double)hi ||
        m->valuedouble != (double)(long)m->valuedouble) {
        snprintf(err, errsz, "\"%s\" must be an integer between %ld and %ld", key, lo, hi);
        return false;
    }
    *out = (long)m->valuedouble;
    return true;
}

static bool get_bool(const cJSON *obj, const char *key, bool *out, char *err, size_t errsz)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!m)
        return true;
    if (!cJSON_IsBool(m)) {
        snprintf(err, errsz, "\"%s\" must be true or false", key);
        return false;
    }
    *out = cJSON_IsTrue(m);
    return true;
}

bool sim_fault_from_json(const cJSON *obj, sim_fault *out, char *err, size_t errsz)
{
    static const char *const known[] = {"latency_ms", "method",    "resource", "status",
                                        "count",      "malformed", "drop",     "header_bytes"};
    sim_fault f = {.method = SIM_METHOD_ANY, .resource = -1, .remaining = -1};
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errsz, "expected a JSON object");
        return false;
    }
    /* A misspelt key would silently make a rule that does nothing. */
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(m->string, known[i]) != 0)
            i++;
        if (i == sizeof known / sizeof known[0]) {
            snprintf(err, errsz, "unknown key \"%s\"", m->string);
            return false;
        }
    }

    const cJSON *method = cJSON_GetObjectItemCaseSensitive(obj, "method");
    if (method) {
        size_t i = 0;
        while (
            i < sizeof method_names / sizeof method_names[0] &&
            !(cJSON_IsString(method) && strcasecmp(method->valuestring, method_names[i]) == 0))
            i++;
        if (i == sizeof method_names / sizeof method_names[0]) {
            snprintf(err, errsz, "\"method\" must be \"GET\", \"PUT\" or \"*\"");
            return false;
        }
        f.method = (sim_method)i;
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(obj, "resource");
    if (res) {
        int r = cJSON_IsString(res) ? cupi_resource_from_name(res->valuestring) : -1;
        if (r < 0 && !(cJSON_IsString(res) && strcmp(res->valuestring, "*") == 0)) {
            snprintf(err, errsz, "\"resource\" must be \"server\", \"client\" or \"*\"");
            return false;
        }
        f.resource = r;
    }
    long status = 0;
    if (!get_long(obj, "latency_ms", 0, MAX_LATENCY_MS, &f.latency_ms, err, errsz) ||
        !get_long(obj, "status", 200, 599, &status, err, errsz) ||
        !get_long(obj, "count", -1, 1000000000L, &f.remaining, err, errsz) ||
        !get_bool(obj, "malformed", &f.malformed, err, errsz) ||
        !get_bool(obj, "drop", &f.drop, err, errsz) ||
        !get_long(obj, "header_bytes", 0, MAX_HEADER_BYTES, &f.header_bytes, err, errsz))
        return false;
    f.status = (int)status;
    if (f.remaining == 0) {
        snprintf(err, errsz, "\"count\" 0 would never apply; use -1 for until cleared");
        return false;
    }
    if ((f.status != 0) + f.malformed + f.drop + (f.header_bytes != 0) > 1) {
        snprintf(err, errsz,
                 "\"status\", \"malformed\", \"drop\" and \"header_bytes\" exclude each other");
        return false;
    }
    *out = f;
    return true;
}

cJSON *sim_faults_to_json(const sim_fault *faults, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        const sim_fault *f = &faults[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddStringToObject(o, "method", method_names[f->method]);
        cJSON_AddStringToObject(o, "resource",
                                f->resource < 0 ? "*" : cupi_resource_name(f->resource));
        cJSON_AddNumberToObject(o, "latency_ms", (double)f->latency_ms);
        cJSON_AddNumberToObject(o, "status", f->status);
        cJSON_AddNumberToObject(o, "count", (double)f->remaining);
        cJSON_AddBoolToObject(o, "malformed", f->malformed);
        cJSON_AddBoolToObject(o, "drop", f->drop);
        cJSON_AddNumberToObject(o, "header_bytes", (double)f->header_bytes);
    }
    return arr;
}

int sim_faults_add(sim_server *srv, const sim_fault *f)
{
    if (srv->n_faults >= MAX_RULES)
        return -1;
    sim_fault *v = realloc(srv->faults, (srv->n_faults + 1) * sizeof *v);
    if (!v)
        return -1;
    v[srv->n_faults++] = *f;
    srv->faults = v;
    return 0;
}

void sim_faults_clear(sim_server *srv)
{
    free(srv->faults);
    srv->faults = NULL;
    srv->n_faults = 0;
}

bool sim_faults_take(sim_server *srv, sim_method m, cupi_resource r, sim_fault *out)
{
    for (size_t i = 0; i < srv->n_faults; i++) {
        sim_fault *f = &srv->faults[i];
        if ((f->method != SIM_METHOD_ANY && f->method != m) ||
            (f->resource >= 0 && f->resource != (int)r))
            continue;
        *out = *f;
        if (f->remaining > 0 && --f->remaining == 0) {
            memmove(f, f + 1, (srv->n_faults - i - 1) * sizeof *f);
            srv->n_faults--;
        }
        return true;
    }
    return false;
}
