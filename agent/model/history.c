/* model/history.c - the change history of every server, kept as a
 * subscriber of the model's events. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "model/history.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_DEFAULT_SIZE 100

static unsigned history_size = HISTORY_DEFAULT_SIZE;

/* The rings, by server, kept here rather than in the model's rows: sorted
 * by the row's address for O(log n) lookups; a row is added on its first
 * change and goes with the row. */
typedef struct history_entry {
    const agent_server *server;
    history_ring *ring;
} history_entry;

static history_entry *entries;
static size_t n_entries, cap_entries;

/* Position of the first entry whose server is not below s. */
static size_t position_of(const agent_server *s)
{
    size_t lo = 0, hi = n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)entries[mid].server < (uintptr_t)s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static history_ring *ring_find(const agent_server *s)
{
    size_t at = position_of(s);
    return at < n_entries && entries[at].server == s ? entries[at].ring : NULL;
}

/* A server's ring, made on its first change. */
static history_ring *ring_of(const agent_server *s)
{
    size_t at = position_of(s);
    if (at < n_entries && entries[at].server == s)
        return entries[at].ring;
    if (n_entries == cap_entries) {
        size_t cap = cap_entries ? 2 * cap_entries : 64;
        history_entry *grown = realloc(entries, cap * sizeof *grown);
        if (!grown)
            return NULL;
        entries = grown;
        cap_entries = cap;
    }
    history_ring *h = malloc(sizeof *h);
    if (!h)
        return NULL;
    history_ring_init(h);
    if (history_ring_resize(h, history_size) != 0) {
        free(h);
        return NULL;
    }
    memmove(&entries[at + 1], &entries[at], (n_entries - at) * sizeof *entries);
    entries[at] = (history_entry){.server = s, .ring = h};
    n_entries++;
    return h;
}

static void forget(const agent_server *s)
{
    size_t at = position_of(s);
    if (at >= n_entries || entries[at].server != s)
        return;
    history_ring_clear(entries[at].ring);
    free(entries[at].ring);
    memmove(&entries[at], &entries[at + 1], (n_entries - at - 1) * sizeof *entries);
    n_entries--;
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
    history_ring *h;
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
        if ((h = ring_find(ev->server)) != NULL) {
            history_ring_clear(h);
            history_ring_resize(h, history_size);
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
    for (size_t i = 0; i < n_entries; i++)
        if (history_ring_resize(entries[i].ring, size) != 0)
            snmp_log(LOG_ERR, "cupi: server %u: out of memory resizing its history\n",
                     entries[i].server->cfg.index);
}

unsigned agent_history_size(void)
{
    return history_size;
}

void agent_history_shutdown(void)
{
    while (n_entries)
        forget(entries[n_entries - 1].server);
    free(entries);
    entries = NULL;
    cap_entries = 0;
    history_size = HISTORY_DEFAULT_SIZE;
}

uint32_t agent_history_last_index(const agent_server *s)
{
    const history_ring *h = ring_find(s);
    return h ? h->last_index : 0;
}

const agent_change *agent_history_from(const agent_server *s, uint32_t index)
{
    const history_ring *h = ring_find(s);
    return h ? history_ring_from(h, index) : NULL;
}

const history_ring *agent_history_ring(const agent_server *s)
{
    return ring_find(s);
}

int agent_history_adopt(agent_server *s, history_ring *saved)
{
    history_ring *h = ring_of(s);
    if (!h)
        return -1;
    /* The saved ring was read with this capacity; a reload since changes
     * nothing here (cupiHistorySize is read before the state). */
    if (history_ring_resize(saved, history_size) != 0)
        return -1;
    history_ring_clear(h);
    *h = *saved;
    history_ring_init(saved);
    return 0;
}
