/* sim_counters.c - request counters of a virtual server, for tests that
 * must prove what a client did on the wire (one PUT per SET, session cookie
 * reuse, how many requests overlapped). Caller holds the server's lock. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_counters_free(sim_counters *c)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        /* A PUT body may carry the smart-host password. */
        sim_free_secret(c->last_put_body[r]);
        free(c->last_put_content_type[r]);
    }
}

void sim_counters_reset(sim_counters *c, unsigned in_progress)
{
    sim_counters_free(c);
    memset(c, 0, sizeof *c);
    /* Requests still running keep counting in the new period. */
    c->max_in_progress = in_progress;
}

void sim_counters_note_put(sim_counters *c, cupi_resource r, const char *body, size_t len,
                           const char *content_type)
{
    sim_free_secret(c->last_put_body[r]);
    free(c->last_put_content_type[r]);
    c->last_put_body[r] = strndup(body ? body : "", body ? len : 0);
    c->last_put_content_type[r] = content_type ? strdup(content_type) : NULL;
}

static cJSON *per_resource(const uint64_t *v)
{
    cJSON *o = cJSON_CreateObject();
    for (int r = 0; o && r < CUPI_RES_COUNT; r++)
        cJSON_AddNumberToObject(o, cupi_resource_name((cupi_resource)r), (double)v[r]);
    return o;
}

static cJSON *per_resource_text(char *const *v)
{
    cJSON *o = cJSON_CreateObject();
    for (int r = 0; o && r < CUPI_RES_COUNT; r++) {
        const char *name = cupi_resource_name((cupi_resource)r);
        if (v[r])
            cJSON_AddStringToObject(o, name, v[r]);
        else
            cJSON_AddNullToObject(o, name);
    }
    return o;
}

cJSON *sim_counters_to_json(const sim_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *status = cJSON_CreateObject();
    if (!o || !status) {
        cJSON_Delete(o);
        cJSON_Delete(status);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "requests", (double)c->requests);
    cJSON_AddItemToObject(o, "get", per_resource(c->get));
    cJSON_AddItemToObject(o, "put", per_resource(c->put));
    for (int code = 0; code < SIM_HTTP_STATUS_MAX; code++) {
        if (!c->status[code])
            continue;
        char key[8];
        snprintf(key, sizeof key, "%d", code);
        cJSON_AddNumberToObject(status, key, (double)c->status[code]);
    }
    cJSON_AddItemToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "with_session_cookie", (double)c->with_session_cookie);
    cJSON_AddNumberToObject(o, "dropped", (double)c->dropped);
    cJSON_AddNumberToObject(o, "connections", (double)c->connections);
    cJSON_AddNumberToObject(o, "max_in_progress", c->max_in_progress);
    cJSON_AddItemToObject(o, "last_put_body", per_resource_text(c->last_put_body));
    cJSON_AddItemToObject(o, "last_put_content_type",
                          per_resource_text(c->last_put_content_type));
    return o;
}
