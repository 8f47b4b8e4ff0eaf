/* sim_fleet.c - process-wide request and connection counters, kept per
 * second, for benchmarks that run many virtual servers in one simulator and
 * must see the load on the whole fleet over time (peaks, not only totals)
 * without polling every server's own counters each second. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

int sim_fleet_init(sim_fleet *f)
{
    memset(f, 0, sizeof *f);
    f->start_ms = sim_now_ms();
    return pthread_mutex_init(&f->lock, NULL) == 0 ? 0 : -1;
}

void sim_fleet_free(sim_fleet *f)
{
    pthread_mutex_destroy(&f->lock);
}

/* Seconds since start; a bucket is recycled when its second comes round
 * again, so only the last SIM_FLEET_SECONDS seconds are kept. */
static void bump(sim_fleet *f, unsigned connection, unsigned request, unsigned get,
                 unsigned put)
{
    int64_t sec = (sim_now_ms() - f->start_ms) / 1000;
    sim_fleet_second *b = &f->seconds[sec % SIM_FLEET_SECONDS];
    pthread_mutex_lock(&f->lock);
    if (b->second != sec) {
        memset(b, 0, sizeof *b);
        b->second = sec;
    }
    b->connections += connection;
    f->connections += connection;
    b->requests += request;
    f->requests += request;
    b->gets += get;
    f->gets += get;
    b->puts += put;
    f->puts += put;
    pthread_mutex_unlock(&f->lock);
}

void sim_fleet_note_connection(sim_fleet *f)
{
    bump(f, 1, 0, 0, 0);
}

void sim_fleet_note_request(sim_fleet *f)
{
    bump(f, 0, 1, 0, 0);
}

void sim_fleet_note_method(sim_fleet *f, bool put)
{
    bump(f, 0, 0, !put, put);
}

static cJSON *series(const sim_fleet *f, int64_t first, int64_t now, int which)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t s = first; a && s <= now; s++) {
        const sim_fleet_second *b = &f->seconds[s % SIM_FLEET_SECONDS];
        uint64_t v = 0;
        if (b->second == s)
            v = which == 0   ? b->requests
                : which == 1 ? b->gets
                : which == 2 ? b->puts
                             : b->connections;
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v));
    }
    return a;
}

cJSON *sim_fleet_to_json(sim_fleet *f, size_t n_servers)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int64_t now_ms = sim_now_ms() - f->start_ms;
    int64_t now = now_ms / 1000;
    int64_t first = now >= SIM_FLEET_SECONDS ? now - SIM_FLEET_SECONDS + 1 : 0;
    pthread_mutex_lock(&f->lock);
    cJSON_AddNumberToObject(o, "servers", (double)n_servers);
    cJSON_AddNumberToObject(o, "uptime_ms", (double)now_ms);
    cJSON_AddNumberToObject(o, "requests", (double)f->requests);
    cJSON_AddNumberToObject(o, "gets", (double)f->gets);
    cJSON_AddNumberToObject(o, "puts", (double)f->puts);
    cJSON_AddNumberToObject(o, "connections", (double)f->connections);
    cJSON *ps = cJSON_CreateObject();
    if (ps) {
        cJSON_AddNumberToObject(ps, "first_second", (double)first);
        cJSON_AddItemToObject(ps, "requests", series(f, first, now, 0));
        cJSON_AddItemToObject(ps, "gets", series(f, first, now, 1));
        cJSON_AddItemToObject(ps, "puts", series(f, first, now, 2));
        cJSON_AddItemToObject(ps, "connections", series(f, first, now, 3));
        cJSON_AddItemToObject(o, "per_second", ps);
    }
    pthread_mutex_unlock(&f->lock);
    return o;
}
