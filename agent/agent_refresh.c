/* agent_refresh.c - background reads: per-resource phase, a global cap on
 * reads in flight, one retry of a transient failure, and the count of
 * failures before a server is reported unreachable (see agent_refresh.h). */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent_io.h"
#include "agent_refresh.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MIN_MS 1000     /* a transient failure is tried again after 1 s ... */
#define RETRY_SPREAD_MS 1000  /* ... plus up to 1 s, so a fleet does not retry at once */
#define FIRST_READS_PER_S 100 /* servers read for the first time per second at most */
#define START_FAILED_RETRY_MS 1000
#define STALE_READ_DELAY_MS 1000
#define MAX_ASKED_SPACING_MS 100

typedef struct entry entry;

typedef struct slot {
    entry *owner;
    cupi_resource resource;
    agent_timer timer;   /* the next read (regular, retry or asked for) */
    unsigned ticket;     /* answers of an older ticket (a replaced client) are ignored */
    unsigned generation; /* the model's generation when the read started */
    bool in_flight;      /* a read of this ticket is outstanding */
    bool waiting;        /* due, waiting for a place under cupiMaxRefreshes */
    bool retrying;       /* the next read is the retry of a transient failure */
    unsigned misses;     /* transient failures in a row */
    int64_t started_ms;  /* when the last read started (0: never) */
    struct slot *next_waiting;
} slot;

struct entry {
    agent_server *server; /* NULL once the row is gone */
    unsigned outstanding; /* answers still to come, whatever their ticket */
    slot slots[CUPI_RES_COUNT];
};

typedef struct read_ctx {
    slot *sl;
    unsigned ticket;
} read_ctx;

static slot *waiting_head, **waiting_tail = &waiting_head;
static unsigned n_in_flight, n_waiting;
/* Reads asked for by SNMP requests are spaced like the background reads
 * (one resource per period / resources, at least 10 a second), so that an
 * NMS walking a fleet of stale rows at most doubles the rate CUPI sees
 * instead of bursting it. */
static int64_t next_asked_ms;

static int64_t period_ms(void)
{
    return (int64_t)agent_cfg.poll_interval_s * 1000; /* at least 1 s (configuration) */
}

/* Where in the period a resource is read: the same for an INDEX on every
 * start, and different for neighbouring ones (Knuth's multiplicative hash). */
static double phase_of(unsigned index, cupi_resource r)
{
    uint32_t h = (uint32_t)(index * 2u + (unsigned)r) * 2654435761u;
    h ^= h >> 15;
    return h / 4294967296.0;
}

static slot *slot_of_timer(agent_timer *t)
{
    return (slot *)((char *)t - offsetof(slot, timer));
}

/* --- the cap ----------------------------------------------------------------- */

static void start_read(slot *sl);

static void wait_for_place(slot *sl)
{
    sl->waiting = true;
    sl->next_waiting = NULL;
    *waiting_tail = sl;
    waiting_tail = &sl->next_waiting;
    n_waiting++;
}

static void unwait(slot *sl)
{
    if (!sl->waiting)
        return;
    for (slot **link = &waiting_head; *link; link = &(*link)->next_waiting) {
        if (*link != sl)
            continue;
        *link = sl->next_waiting;
        break;
    }
    waiting_tail = &waiting_head;
    while (*waiting_tail)
        waiting_tail = &(*waiting_tail)->next_waiting;
    sl->waiting = false;
    n_waiting--;
}

static void start_waiting(void)
{
    while (waiting_head && n_in_flight < agent_cfg.max_refreshes) {
        slot *sl = waiting_head;
        waiting_head = sl->next_waiting;
        if (!waiting_head)
            waiting_tail = &waiting_head;
        sl->waiting = false;
        n_waiting--;
        start_read(sl);
    }
}

/* A read is due: now, or as soon as a place is free. */
static void want_read(slot *sl)
{
    if (sl->in_flight || sl->waiting)
        return;
    if (n_in_flight < agent_cfg.max_refreshes)
        start_read(sl);
    else
        wait_for_place(sl);
}

static void on_timer(agent_timer *t)
{
    want_read(slot_of_timer(t));
}

/* --- the schedule ---------------------------------------------------------- */

/* The next read at the resource's own place in the period: its phase of
 * the clock's period grid, so that a fleet's reads stay spread over the
 * whole period whenever they started. */
static void schedule_next(slot *sl)
{
    int64_t now = agent_now_ms(), period = period_ms();
    int64_t offset = (int64_t)(phase_of(sl->owner->server->cfg.index, sl->resource) * period);
    int64_t due = now - now % period + offset;
    while (due <= now)
        due += period;
    agent_timer_set(&sl->timer, due);
}

/* The first read of a row (start, reload): at the row's phase within a
 * window that grows with the fleet, at most FIRST_READS_PER_S servers a
 * second, so that values come soon; a handful of servers are read at once.
 * The reads after it take their places in the whole period. */
static void schedule_first(slot *sl)
{
    const agent_server *s = sl->owner->server;
    int64_t window = (int64_t)agent_servers_count() * 1000 / FIRST_READS_PER_S;
    if (window > period_ms())
        window = period_ms();
    sl->misses = 0;
    sl->retrying = false;
    agent_timer_set(&sl->timer,
                    agent_now_ms() + (int64_t)(phase_of(s->cfg.index, sl->resource) * window));
}

static void schedule_retry(slot *sl)
{
    const agent_server *s = sl->owner->server;
    int64_t jitter = (int64_t)(phase_of(s->cfg.index + sl->ticket + sl->misses, sl->resource) *
                               RETRY_SPREAD_MS);
    agent_timer_set(&sl->timer, agent_now_ms() + RETRY_MIN_MS + jitter);
}

/* --- one read ---------------------------------------------------------------- */

static bool transient(cupi_status st)
{
    return st == CUPI_E_TRANSPORT || st == CUPI_E_TIMEOUT;
}

static bool too_old(const agent_server *s)
{
    return agent_cfg.max_data_age_s && agent_server_data_age(s) > agent_cfg.max_data_age_s;
}

static void judge(slot *sl, const cupi_result *result)
{
    agent_server *s = sl->owner->server;
    char why[256];
    cupi_status st = agent_server_check_read(result, why, sizeof why);
    /* cupiServerLastError keeps a fixed text per fault; libcurl's own words
     * (address, measured time) go to the log, once per new fault text. */
    if (st != CUPI_OK && result->detail[0] && strcmp(why, s->last_error) != 0)
        snmp_log(LOG_INFO, "cupi: server %u (%s): %s read: %s (%s)\n", s->cfg.index,
                 s->cfg.name, cupi_resource_name(sl->resource), why, result->detail);
    if (transient(st) && !sl->retrying) {
        DEBUGMSGTL(("cupi", "server %u: %s read failed (%s), trying again\n", s->cfg.index,
                    cupi_resource_name(sl->resource), why));
        sl->retrying = true;
        schedule_retry(sl);
        return;
    }
    sl->retrying = false;
    if (transient(st)) {
        sl->misses++;
        if (sl->misses < agent_cfg.unreachable_after && !too_old(s)) {
            DEBUGMSGTL(("cupi", "server %u: %s read failed %u time(s) in a row: %s\n",
                        s->cfg.index, cupi_resource_name(sl->resource), sl->misses, why));
            schedule_next(sl);
            return;
        }
    } else {
        sl->misses = 0;
    }
    agent_server_take_read(s, sl->resource, st, why, &result->snapshot, sl->generation);
    schedule_next(sl);
}

static void entry_free_if_done(entry *e)
{
    if (!e->server && !e->outstanding)
        free(e);
}

static void read_done(const cupi_result *result, void *arg)
{
    read_ctx *ctx = arg;
    slot *sl = ctx->sl;
    entry *e = sl->owner;
    bool current = ctx->ticket == sl->ticket && e->server;
    free(ctx);
    n_in_flight--;
    e->outstanding--;
    if (current) {
        sl->in_flight = false;
        if (result->status != CUPI_E_CANCELLED)
            judge(sl, result);
    }
    entry_free_if_done(e);
    start_waiting();
}

static void start_read(slot *sl)
{
    agent_server *s = sl->owner->server;
    if (!s || !s->client)
        return;
    read_ctx *ctx = malloc(sizeof *ctx);
    sl->generation = agent_server_generation(s, sl->resource);
    if (!ctx || cupi_client_get(s->client, sl->resource, read_done, ctx) != CUPI_OK) {
        free(ctx);
        agent_timer_set(&sl->timer, agent_now_ms() + START_FAILED_RETRY_MS);
        return;
    }
    ctx->sl = sl;
    ctx->ticket = sl->ticket;
    sl->in_flight = true;
    sl->started_ms = agent_now_ms();
    sl->owner->outstanding++;
    n_in_flight++;
    agent_io_sync();
}

/* --- rows -------------------------------------------------------------------- */

static entry *entry_of(agent_server *s)
{
    if (s->refresh)
        return s->refresh;
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->server = s;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        e->slots[r].owner = e;
        e->slots[r].resource = (cupi_resource)r;
        e->slots[r].timer.fire = on_timer;
    }
    s->refresh = e;
    return e;
}

/* A new client: reads of the old one no longer count; start over. */
static void on_new_client(agent_server *s)
{
    entry *e = entry_of(s);
    if (!e) {
        snmp_log(LOG_ERR, "cupi: out of memory scheduling server %u\n", s->cfg.index);
        return;
    }
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        slot *sl = &e->slots[r];
        sl->ticket++;
        sl->in_flight = false;
        unwait(sl);
        schedule_first(sl);
    }
}

static void on_removed(agent_server *s)
{
    entry *e = s->refresh;
    if (!e)
        return;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        agent_timer_cancel(&e->slots[r].timer);
        unwait(&e->slots[r]);
    }
    s->refresh = NULL;
    e->server = NULL;
    entry_free_if_done(e); /* else when its last answer (cancelled) comes */
}

/* Known stale while a SET still holds the row (a read finishing before the
 * SET ends would be dropped as older than the SET): read a moment later. */
static void on_stale(agent_server *s, cupi_resource r)
{
    entry *e = s->refresh;
    if (!e || e->slots[r].in_flight || e->slots[r].waiting)
        return;
    agent_timer_set(&e->slots[r].timer, agent_now_ms() + STALE_READ_DELAY_MS);
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    switch (ev->type) {
    case AGENT_EVENT_CLIENT:
        on_new_client(ev->server);
        break;
    case AGENT_EVENT_REMOVED:
        on_removed(ev->server);
        break;
    case AGENT_EVENT_STALE:
        on_stale(ev->server, ev->resource);
        break;
    default:
        break;
    }
}

int agent_refresh_start(void)
{
    return agent_server_subscribe(on_event, NULL);
}

void agent_refresh_stop(void)
{
    for (size_t i = 0; i < agent_servers_count(); i++)
        on_removed(agent_server_at(i));
}

void agent_refresh_touch(const agent_server *s, cupi_resource r)
{
    entry *e = s->refresh;
    if (!e)
        return;
    slot *sl = &e->slots[r];
    if (sl->in_flight || sl->waiting || sl->retrying)
        return;
    const agent_resource *res = &s->res[r];
    int64_t ttl_ms = (int64_t)agent_cfg.cache_ttl_s * 1000;
    if (res->valid && difftime(time(NULL), res->read_at) * 1000 <= (double)ttl_ms)
        return;
    /* A server that cannot be read is not asked more often than that. */
    if (sl->started_ms && agent_now_ms() - sl->started_ms < ttl_ms)
        return;
    int64_t now = agent_now_ms();
    int64_t spacing = period_ms() / (int64_t)(CUPI_RES_COUNT * agent_servers_count() + 1);
    if (spacing > MAX_ASKED_SPACING_MS)
        spacing = MAX_ASKED_SPACING_MS; /* a small fleet is not kept waiting */
    int64_t due = next_asked_ms > now ? next_asked_ms : now;
    if (agent_timer_armed(&sl->timer) && sl->timer.due_ms <= due)
        return; /* due as soon anyway */
    next_asked_ms = due + spacing;
    sl->started_ms = now; /* asked for: not again within the TTL */
    agent_timer_set(&sl->timer, due);
}

void agent_refresh_counts(unsigned *in_flight, unsigned *waiting)
{
    *in_flight = n_in_flight;
    *waiting = n_waiting;
}
