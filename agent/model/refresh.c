/* model/refresh.c - background read outcomes into the model, and the
 * model's news for the worker's schedule (see model/refresh.h). */
#include "model/refresh.h"

#include <time.h>

void agent_refresh_take(void *owner, const worker_read *r)
{
    agent_server_take_read(owner, r);
}

/* A new client: its reads start over (first reads soon). */
static void on_new_client(agent_server *s)
{
    time_t last_ok[CUPI_RES_COUNT];
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        last_ok[r] = s->res[r].valid ? s->res[r].read_at : 0;
    worker_client_poll(s->client, last_ok);
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    switch (ev->type) {
    case AGENT_EVENT_CLIENT:
        on_new_client(ev->server);
        break;
    case AGENT_EVENT_STALE:
        worker_client_stale(ev->server->client, ev->resource);
        break;
    default:
        break;
    }
}

int agent_refresh_start(void)
{
    return agent_server_subscribe(on_event, NULL);
}

void agent_refresh_touch(const agent_server *s, cupi_resource r)
{
    const agent_resource *res = &s->res[r];
    int64_t ttl_ms = (int64_t)agent_cfg.cache_ttl_s * 1000;
    if (res->valid && difftime(time(NULL), res->read_at) * 1000 <= (double)ttl_ms)
        return;
    worker_client_touch(s->client, r, ttl_ms);
}

void agent_refresh_counts(unsigned *in_flight, unsigned *waiting)
{
    worker_counts(in_flight, waiting);
}
