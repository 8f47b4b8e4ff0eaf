/* worker/poller.c - background reads: phases, places, probes, retries and
 * verdicts (see worker/poller.h). */
#include "worker/poller.h"

#include <stddef.h>
#include <stdlib.h>

#define RETRY_MIN_MS 1000     /* a transient failure is tried again after 1 s ... */
#define RETRY_SPREAD_MS 1000  /* ... plus up to 1 s, so a fleet does not retry at once */
#define FIRST_READS_PER_S 100 /* servers read for the first time per second at most */
#define START_FAILED_RETRY_MS 1000
#define STALE_READ_DELAY_MS 1000
#define MAX_ASKED_SPACING_MS 100

typedef struct slot {
    poller_entry *owner;
    cupi_resource resource;
    agent_timer timer;  /* the next read (regular, retry or asked for) */
    agent_timer place;  /* when a read in flight gives its place back */
    uint32_t ticket;    /* outcomes of an older ticket are ignored */
    bool in_flight;     /* a read of this ticket is outstanding */
    bool working;       /* ... and holds one of the places */
    bool waiting;       /* due, waiting for a place */
    bool deferred;      /* due, waiting for the server's probe to end */
    bool retrying;      /* the next read is the retry of a transient failure */
    unsigned misses;    /* transient failures in a row */
    int64_t started_ms; /* when the last read started (0: never) */
    time_t last_ok;     /* wall clock of the newest values held (0: none) */
    struct slot *next_waiting;
} slot;

struct poller_entry {
    poller *p;
    unsigned index;
    void *client;
    bool failing;         /* its last read failed: one request at a time */
    unsigned in_flight;   /* reads of the current tickets outstanding */
    unsigned outstanding; /* outcomes still to come, whatever their ticket */
    bool removed;
    slot slots[CUPI_RES_COUNT];
};

struct poller {
    poller_io io;
    void *arg;
    poller_settings cfg;
    deadline_heap heap;
    size_t n_entries;
    slot *waiting_head, **waiting_tail;
    unsigned n_in_flight, n_working, n_waiting;
    /* Reads asked for by SNMP requests are spaced like the background
     * reads, so that an NMS walking a fleet of stale rows at most doubles
     * the rate CUPI sees instead of bursting it. */
    int64_t next_asked_ms;
};

static int64_t now_ms(const poller *p)
{
    return p->io.now_ms(p->arg);
}

static int64_t period_ms(const poller *p)
{
    return (int64_t)p->cfg.poll_interval_s * 1000;
}

/* Where in the period a resource is read: the same for an index on every
 * start, and different for neighbouring ones (Knuth's multiplicative hash). */
static double phase_of(unsigned index, cupi_resource r)
{
    uint32_t h = (uint32_t)(index * 2u + (unsigned)r) * 2654435761u;
    h ^= h >> 15;
    return h / 4294967296.0;
}

static slot *slot_of(agent_timer *t, size_t offset)
{
    return (slot *)((char *)t - offset);
}

static void arm(slot *sl, int64_t due)
{
    deadline_heap_set(&sl->owner->p->heap, &sl->timer, due);
}

/* --- places ------------------------------------------------------------------ */

static void start_read(slot *sl);

static void wait_for_place(poller *p, slot *sl)
{
    sl->waiting = true;
    sl->next_waiting = NULL;
    *p->waiting_tail = sl;
    p->waiting_tail = &sl->next_waiting;
    p->n_waiting++;
}

static void unwait(poller *p, slot *sl)
{
    if (!sl->waiting)
        return;
    for (slot **link = &p->waiting_head; *link; link = &(*link)->next_waiting) {
        if (*link == sl) {
            *link = sl->next_waiting;
            break;
        }
    }
    p->waiting_tail = &p->waiting_head;
    while (*p->waiting_tail)
        p->waiting_tail = &(*p->waiting_tail)->next_waiting;
    sl->waiting = false;
    p->n_waiting--;
}

static void start_waiting(poller *p)
{
    while (p->waiting_head && p->n_working < p->cfg.max_refreshes) {
        slot *sl = p->waiting_head;
        p->waiting_head = sl->next_waiting;
        if (!p->waiting_head)
            p->waiting_tail = &p->waiting_head;
        sl->waiting = false;
        p->n_waiting--;
        start_read(sl);
    }
}

static void give_place_back(slot *sl)
{
    poller *p = sl->owner->p;
    deadline_heap_cancel(&p->heap, &sl->place);
    if (!sl->working)
        return;
    sl->working = false;
    p->n_working--;
    start_waiting(p);
}

static void on_place_timer(agent_timer *t)
{
    give_place_back(slot_of(t, offsetof(slot, place)));
}

/* A server in trouble is probed with one read at a time. */
static bool probe_busy(const poller_entry *e)
{
    return e->failing && e->in_flight > 0;
}

/* A read is due: now, as soon as a place is free, or once the server's
 * probe is over. */
static void want_read(slot *sl)
{
    poller *p = sl->owner->p;
    if (sl->in_flight || sl->waiting)
        return;
    if (probe_busy(sl->owner)) {
        sl->deferred = true;
        return;
    }
    if (p->n_working < p->cfg.max_refreshes)
        start_read(sl);
    else
        wait_for_place(p, sl);
}

static void on_read_timer(agent_timer *t)
{
    want_read(slot_of(t, offsetof(slot, timer)));
}

/* --- the schedule ------------------------------------------------------------ */

/* The next read at the resource's own place in the period: its phase of the
 * clock's period grid, so that a fleet's reads stay spread over the whole
 * period whenever they started. */
static void schedule_next(slot *sl)
{
    poller *p = sl->owner->p;
    int64_t now = now_ms(p), period = period_ms(p);
    int64_t offset = (int64_t)(phase_of(sl->owner->index, sl->resource) * (double)period);
    int64_t due = now - now % period + offset;
    while (due <= now)
        due += period;
    arm(sl, due);
}

/* The first read of a row: at its phase within a window that grows with
 * the fleet, at most FIRST_READS_PER_S servers a second. */
static void schedule_first(slot *sl)
{
    poller *p = sl->owner->p;
    int64_t window = (int64_t)p->n_entries * 1000 / FIRST_READS_PER_S;
    if (window > period_ms(p))
        window = period_ms(p);
    arm(sl, now_ms(p) + (int64_t)(phase_of(sl->owner->index, sl->resource) * (double)window));
}

static void schedule_retry(slot *sl)
{
    poller *p = sl->owner->p;
    int64_t jitter =
        (int64_t)(phase_of(sl->owner->index + sl->ticket + sl->misses, sl->resource) *
                  RETRY_SPREAD_MS);
    arm(sl, now_ms(p) + RETRY_MIN_MS + jitter);
}

/* --- one read ---------------------------------------------------------------- */

static void start_read(slot *sl)
{
    poller_entry *e = sl->owner;
    poller *p = e->p;
    int64_t now = now_ms(p);
    sl->started_ms = now;
    sl->in_flight = true; /* before the call: a synchronous outcome is possible */
    e->in_flight++;
    e->outstanding++;
    p->n_in_flight++;
    if (p->io.start_read(p->arg, e, e->client, sl->resource, sl->ticket) != 0) {
        sl->in_flight = false;
        e->in_flight--;
        e->outstanding--;
        p->n_in_flight--;
        arm(sl, now + START_FAILED_RETRY_MS);
        return;
    }
    if (!sl->in_flight)
        return; /* already done */
    sl->working = true;
    p->n_working++;
    deadline_heap_set(&p->heap, &sl->place, now + POLLER_PLACE_MS);
}

static bool too_old(const poller *p, const slot *sl)
{
    if (!p->cfg.max_data_age_s)
        return false;
    time_t wall = p->io.wall(p->arg);
    return !sl->last_ok || wall - sl->last_ok > (time_t)p->cfg.max_data_age_s;
}

static void report(slot *sl, cupi_status st, const cupi_result *result)
{
    poller *p = sl->owner->p;
    poller_verdict v = {.resource = sl->resource,
                        .status = st,
                        .result = result,
                        .started_ms = sl->started_ms,
                        .misses = sl->misses};
    p->io.report(p->arg, sl->owner->client, &v);
}

static void judge(slot *sl, const cupi_result *result)
{
    poller *p = sl->owner->p;
    cupi_status st = result->status;
    if (cupi_status_transient(st) && !sl->retrying) {
        sl->retrying = true;
        schedule_retry(sl);
        return;
    }
    sl->retrying = false;
    if (cupi_status_transient(st)) {
        sl->misses++;
        if (sl->misses < p->cfg.unreachable_after && !too_old(p, sl)) {
            schedule_next(sl);
            return;
        }
    } else {
        sl->misses = 0;
        if (st == CUPI_OK)
            sl->last_ok = p->io.wall(p->arg);
    }
    report(sl, st, result);
    schedule_next(sl);
}

static void release_deferred(poller_entry *e)
{
    for (int r = 0; r < CUPI_RES_COUNT && !probe_busy(e); r++) {
        slot *sl = &e->slots[r];
        if (sl->deferred) {
            sl->deferred = false;
            want_read(sl);
        }
    }
}

void poller_read_done(poller *p, poller_entry *e, cupi_resource r, uint32_t ticket,
                      const cupi_result *result)
{
    slot *sl = &e->slots[r];
    e->outstanding--;
    p->n_in_flight--;
    if (e->removed) {
        if (!e->outstanding)
            free(e);
        return;
    }
    if (ticket != sl->ticket || !sl->in_flight)
        return;
    sl->in_flight = false;
    e->in_flight--;
    give_place_back(sl);
    if (result->status == CUPI_E_CANCELLED)
        return;
    /* Any answer from the server ends its probing; no answer starts it. */
    e->failing = cupi_status_transient(result->status);
    judge(sl, result);
    release_deferred(e);
}

/* --- entries ------------------------------------------------------------------- */

poller_entry *poller_add(poller *p, unsigned index, void *client,
                         const time_t last_ok[CUPI_RES_COUNT])
{
    poller_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->p = p;
    e->index = index;
    e->client = client;
    p->n_entries++;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        slot *sl = &e->slots[r];
        sl->owner = e;
        sl->resource = (cupi_resource)r;
        sl->timer.fire = on_read_timer;
        sl->place.fire = on_place_timer;
        sl->last_ok = last_ok ? last_ok[r] : 0;
        schedule_first(sl);
    }
    return e;
}

void poller_remove(poller *p, poller_entry *e)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        slot *sl = &e->slots[r];
        deadline_heap_cancel(&p->heap, &sl->timer);
        unwait(p, sl);
        if (sl->in_flight) {
            sl->in_flight = false;
            give_place_back(sl);
        }
    }
    p->n_entries--;
    e->removed = true;
    e->client = NULL;
    if (!e->outstanding)
        free(e); /* else when its last outcome comes */
}

void poller_touch(poller *p, poller_entry *e, cupi_resource r)
{
    slot *sl = &e->slots[r];
    if (sl->in_flight || sl->waiting || sl->retrying || sl->deferred)
        return;
    int64_t now = now_ms(p);
    int64_t ttl_ms = (int64_t)p->cfg.cache_ttl_s * 1000;
    /* A server that cannot be read is not asked more often than that. */
    if (sl->started_ms && now - sl->started_ms < ttl_ms)
        return;
    int64_t spacing = period_ms(p) / (int64_t)(CUPI_RES_COUNT * p->n_entries + 1);
    if (spacing > MAX_ASKED_SPACING_MS)
        spacing = MAX_ASKED_SPACING_MS; /* a small fleet is not kept waiting */
    int64_t due = p->next_asked_ms > now ? p->next_asked_ms : now;
    if (agent_timer_armed(&sl->timer) && sl->timer.due_ms <= due)
        return; /* due as soon anyway */
    p->next_asked_ms = due + spacing;
    sl->started_ms = now; /* asked for: not again within the TTL */
    arm(sl, due);
}

void poller_stale(poller *p, poller_entry *e, cupi_resource r)
{
    slot *sl = &e->slots[r];
    if (sl->in_flight || sl->waiting || sl->deferred)
        return;
    arm(sl, now_ms(p) + STALE_READ_DELAY_MS);
}

/* --- the poller ---------------------------------------------------------------- */

poller *poller_new(const poller_io *io, void *arg)
{
    poller *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->io = *io;
    p->arg = arg;
    p->waiting_tail = &p->waiting_head;
    p->cfg = (poller_settings){
        .poll_interval_s = 60, .cache_ttl_s = 30, .max_refreshes = 64, .unreachable_after = 2};
    return p;
}

void poller_free(poller *p)
{
    if (!p)
        return;
    /* Entries are owned by their users' records; those free them through
     * poller_remove first. What is left here are only removed entries
     * still waiting for an outcome. */
    deadline_heap_clear(&p->heap);
    free(p);
}

void poller_configure(poller *p, const poller_settings *s)
{
    p->cfg = *s;
    if (!p->cfg.poll_interval_s)
        p->cfg.poll_interval_s = 1;
    if (!p->cfg.max_refreshes)
        p->cfg.max_refreshes = 1;
    if (!p->cfg.unreachable_after)
        p->cfg.unreachable_after = 1;
    start_waiting(p);
}

int64_t poller_next_due(const poller *p)
{
    return deadline_heap_next(&p->heap);
}

void poller_run_due(poller *p)
{
    deadline_heap_run_due(&p->heap, now_ms(p));
}

void poller_counts(const poller *p, unsigned *in_flight, unsigned *working, unsigned *waiting)
{
    if (in_flight)
        *in_flight = p->n_in_flight;
    if (working)
        *working = p->n_working;
    if (waiting)
        *waiting = p->n_waiting;
}
