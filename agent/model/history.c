/* model/history.c - the change history of every server, kept as a
 * subscriber of the model's events. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "model/history.h"

#include <stdlib.h>

#define HISTORY_DEFAULT_SIZE 100

static unsigned history_size = HISTORY_DEFAULT_SIZE;

/* A server's ring, made on its first change. */
static history_ring *ring_of(agent_server *s)
{
    if (s->history)
        return s->history;
    history_ring *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    history_ring_init(h);
    if (history_ring_resize(h, history_size) != 0) {
        free(h);
        return NULL;
    }
    s->history = h;
    return h;
}

static void forget(agent_server *s)
{
    history_ring *h = s->history;
    if (!h)
        return;
    history_ring_clear(h);
    free(h);
    s->history = NULL;
}

static void record(const agent_event *ev)
{
    const agent_server *cs = ev->server;
    history_ring *h = ring_of(ev->server);
    if (!h) {
        snmp_log(LOG_ERR, "cupi: server %u: out of memory recording a change\n", cs->cfg.index);
        return;
    }
    /* When the change was seen: the time CUPI returned the new values, which
     * a stalled SNMP thread may take in a while later. */
    int64_t now = (int64_t)cs->res[ev->resource].read_at;
    const cupi_snapshot *after = &cs->res[ev->resource].snap;
    size_t n = cupi_field_count(ev->resource);
    for (unsigned col = 1; col <= n; col++) {
        if (!(ev->changed & CUPI_COLUMN_BIT(col)))
            continue;
        const cupi_field *f = cupi_field_at(ev->resource, col);
        char old_text[CUPI_STR_MAX + 32], new_text[CUPI_STR_MAX + 32];
        history_value_text(f, &ev->before->v[col - 1], old_text, sizeof old_text);
        history_value_text(f, &after->v[col - 1], new_text, sizeof new_text);
        unsigned source =
            ev->source == AGENT_SOURCE_SNMP ? HISTORY_SOURCE_SNMP : HISTORY_SOURCE_EXTERNAL;
        if (!history_ring_add(h, now, ev->resource, col, source, old_text, new_text))
            snmp_log(LOG_ERR, "cupi: server %u: change of %s not recorded\n", cs->cfg.index,
                     f->name);
    }
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    switch (ev->type) {
    case AGENT_EVENT_VALUES:
        /* Values from the state file (source none) or a first read are
         * where the history starts, not a change. */
        if (ev->changed && ev->before && ev->source != AGENT_SOURCE_NONE)
            record(ev);
        break;
    case AGENT_EVENT_REMOVED:
        forget(ev->server);
        break;
    case AGENT_EVENT_MOVED:
        /* Another URL may be another Unity Connection: its past is not
         * this one's, but the row's numbers still only grow. */
        if (ev->server->history) {
            history_ring_clear(ev->server->history);
            history_ring_resize(ev->server->history, history_size);
        }
        break;
    case AGENT_EVENT_STATUS:
    case AGENT_EVENT_ADDED:
    case AGENT_EVENT_CLIENT:
    case AGENT_EVENT_STALE:
        break;
    }
}

int agent_history_start(void)
{
    return agent_server_subscribe(on_event, NULL);
}

void agent_history_configure(unsigned size)
{
    if (size == history_size)
        return;
    history_size = size;
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        if (s->history && history_ring_resize(s->history, size) != 0)
            snmp_log(LOG_ERR, "cupi: server %u: out of memory resizing its history\n",
                     s->cfg.index);
}

unsigned agent_history_size(void)
{
    return history_size;
}

void agent_history_shutdown(void)
{
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        forget(s);
    history_size = HISTORY_DEFAULT_SIZE;
}

uint32_t agent_history_last_index(const agent_server *s)
{
    const history_ring *h = s->history;
    return h ? h->last_index : 0;
}

const agent_change *agent_history_from(const agent_server *s, uint32_t index)
{
    const history_ring *h = s->history;
    return h ? history_ring_from(h, index) : NULL;
}

size_t agent_history_file_budget(void)
{
    return history_file_budget(agent_servers_count(), history_size);
}

cJSON *agent_history_to_json(const agent_server *s)
{
    history_ring empty;
    history_ring_init(&empty);
    const history_ring *h = s->history ? s->history : &empty;
    return history_ring_to_json(h);
}

int agent_history_from_json(agent_server *s, const cJSON *obj)
{
    history_ring *h = ring_of(s);
    if (!h)
        return -1;
    char why[256];
    if (history_ring_from_json(h, obj, why, sizeof why) != 0) {
        snmp_log(LOG_WARNING, "cupi: server %u: saved change history ignored: %s%s\n",
                 s->cfg.index, why, h->last_index ? " (its last index is kept)" : "");
        return -1;
    }
    return 0;
}
