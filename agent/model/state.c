/* model/state.c - when and what the agent writes to its state store: each
 * change in one transaction as it happens, read times in batches, rows
 * added, removed or moved soon after; what could not be written stays
 * marked per server and is retried with back-off. The store itself (schema,
 * SQL, files, locks) is store/'s. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "model/history.h"
#include "model/server.h"
#include "model/state.h"
#include "store.h"
#include "loop/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SOON_MS 200       /* rows added, removed, moved: written together */
#define READ_TIME_MS 5000 /* read times that only moved: at most this old */
/* One transaction when many are pending: at most CHUNK_COST, a server
 * whose read times only moved costing 1, any other SERVER_COST (its values
 * and rows): about a millisecond of work either way. */
#define CHUNK_COST 256
#define SERVER_COST 16
#define RETRY_FIRST_S 1 /* a failed write is retried after this ... */
#define RETRY_MAX_S 60  /* ... doubling up to this */
#define MAX_INDEX 65535

/* What a server still needs written, per index. */
enum {
    P_SERVER = 1 << 0,  /* its row (URL, last index), new history rows, trim */
    P_VALUES0 = 1 << 1, /* a resource's values (bit per resource) */
    P_READ0 = 1 << 3,   /* a resource's read time only (bit per resource) */
    P_DROP = 1 << 5,    /* everything saved for the index first */
};
#define P_VALUES(r) (P_VALUES0 << (r))
#define P_READ(r) (P_READ0 << (r))
#define P_ALL_VALUES (P_VALUES(0) | P_VALUES(1))

static char *state_path;
static store_lock *lock;
static store *db;            /* open for writing; NULL until needed or after a failure */
static char synced_id[40];   /* the store whose content memory matches */
static uint8_t *pending;     /* [MAX_INDEX + 1] */
static uint32_t *flushed;    /* [MAX_INDEX + 1]: newest change index in the store */
static size_t n_pending;     /* indexes with a pending bit */
static unsigned cursor;      /* where the next chunk starts */
static unsigned synced_size; /* cupiHistorySize the store's rows were trimmed to */
static agent_timer flush_timer;
static time_t dirty_since; /* monotonic: the oldest write not done */
static bool failing;
static unsigned retry_s;
static unsigned failed_attempts;

/* SNMP-thread time to record one change, wall clock and the thread's CPU
 * time (the wall clock also counts other threads and processes running
 * instead), in 10 us buckets (the last one collects everything longer):
 * logged at exit, read by scripts/bench.sh. */
#define STAT_BUCKETS 2000
typedef struct timing {
    uint32_t *hist;
    double max_ms;
} timing;
static timing rec_wall, rec_cpu;
static unsigned long rec_count;

/* --- pending ----------------------------------------------------------------- */

static void mark(unsigned index, uint8_t bits)
{
    if (!pending || index < 1 || index > MAX_INDEX)
        return;
    if (!pending[index]) {
        if (!n_pending++)
            dirty_since = agent_now_s();
    }
    pending[index] |= bits;
}

static void clear(unsigned index)
{
    if (pending[index]) {
        pending[index] = 0;
        n_pending--;
    }
}

/* The flush runs at the latest in delay_ms; never earlier than a retry
 * already armed while writes fail. */
static void schedule(int64_t delay_ms)
{
    if (!state_path || failing)
        return;
    int64_t due = agent_now_ms() + delay_ms;
    if (!agent_timer_armed(&flush_timer) || flush_timer.due_ms > due)
        agent_timer_set(&flush_timer, due);
}

/* --- writing ----------------------------------------------------------------- */

static void write_failed(const char *why)
{
    failed_attempts++;
    if (!failing) {
        snmp_log(LOG_ERR,
                 "cupi: cannot write state file %s: %s; the file is stale until a save "
                 "succeeds (retried after %d s, doubling up to every %d s; values are kept "
                 "in memory)\n",
                 state_path, why, RETRY_FIRST_S, RETRY_MAX_S);
        failing = true;
        retry_s = RETRY_FIRST_S;
    }
    DEBUGMSGTL(("cupi", "state write attempt %u failed (%s), next in %u s\n", failed_attempts,
                why, retry_s));
    if (db && store_needs_reopen(db)) {
        store_abandon(db); /* the path names another file now, or none */
        db = NULL;
    }
    agent_timer_set(&flush_timer, agent_now_ms() + (int64_t)retry_s * 1000);
    retry_s = retry_s >= RETRY_MAX_S / 2 ? RETRY_MAX_S : retry_s * 2;
}

static void written(void)
{
    if (failing && !n_pending) {
        snmp_log(LOG_NOTICE,
                 "cupi: state file %s written again; it was stale for %lld s "
                 "(%u failed attempt%s)\n",
                 state_path, (long long)(agent_now_s() - dirty_since), failed_attempts,
                 failed_attempts == 1 ? "" : "s");
        failing = false;
        failed_attempts = 0;
    }
}

/* A JSON state file of an earlier release becomes the database, once. 0,
 * or -1 with why. */
static int import_json(char *why, size_t whysz)
{
    if (store_import_json(state_path, time(NULL), why, whysz) != 0)
        return -1;
    snmp_log(LOG_NOTICE,
             "cupi: state file %s imported into a database; the JSON file is kept as "
             "%s.json.bak and no longer written\n",
             state_path, state_path);
    return 0;
}

/* Every configured server, from scratch (a store that is not the one
 * memory was loaded from or last written to). */
static void mark_everything(void)
{
    for (agent_server *s = agent_servers_first(); s; s = s->next) {
        mark(s->cfg.index, P_SERVER | P_ALL_VALUES);
        flushed[s->cfg.index] = 0;
    }
}

/* The writer, opened on first use (after the daemon dropped privileges and
 * any fork), with a full rewrite when the file is not the store memory
 * matches. */
static bool ensure_open(void)
{
    if (db)
        return true;
    char err[320];
    /* An import that failed at start (a full disk ...) is tried again. */
    if (store_probe(state_path, err, sizeof err) == STORE_KIND_JSON &&
        import_json(err, sizeof err) != 0) {
        write_failed(err);
        return false;
    }
    if (!lock && store_lock_take(state_path, &lock, err, sizeof err) != 0) {
        write_failed(err); /* never written without the lock */
        return false;
    }
    store_open_opts o = {.checkpoint_thread = true};
    if (store_open(state_path, &o, &db, err, sizeof err) != 0) {
        write_failed(err);
        return false;
    }
    store_lock_refresh(lock);
    if (strcmp(store_id(db), synced_id) != 0) {
        if (synced_id[0])
            snmp_log(LOG_WARNING,
                     "cupi: state file %s is not the store this agent wrote: it is written "
                     "again whole\n",
                     state_path);
        if (store_begin(db) != 0 || store_drop_all(db) != 0 || store_commit(db) != 0) {
            store_rollback(db);
            write_failed(store_error(db));
            return false;
        }
        snprintf(synced_id, sizeof synced_id, "%s", store_id(db));
        mark_everything();
    }
    return true;
}

/* Writes what index needs inside the open transaction; *newest gets the
 * newest change index now in the store. */
static int sync_index(unsigned index, uint32_t *newest)
{
    uint8_t p = pending[index];
    const agent_server *s = agent_server_find(index);
    uint32_t from = flushed[index];
    if ((p & P_DROP) || !s) {
        if (store_drop_server(db, index) != 0)
            return -1;
        from = 0;
        if (!s) {
            *newest = 0;
            return 0;
        }
        p |= P_SERVER | P_ALL_VALUES;
    }
    int rc = 0;
    if (p & P_SERVER)
        rc = store_put_server(db, index, s->cfg.url, agent_history_last_index(s));
    for (int r = 0; rc == 0 && r < CUPI_RES_COUNT; r++) {
        const agent_resource *res = &s->res[r];
        if (p & P_VALUES(r))
            rc = res->valid ? store_put_values(db, index, &res->snap, res->read_at)
                            : store_drop_values(db, index, (cupi_resource)r);
        else if ((p & P_READ(r)) && res->valid)
            rc = store_put_read_at(db, index, (cupi_resource)r, res->read_at);
    }
    *newest = from;
    if (rc != 0 || !(p & P_SERVER))
        return rc;
    const history_ring *h = agent_history_ring(s);
    size_t count = h ? h->count : 0, first = count;
    while (first > 0 && history_ring_at(h, first - 1)->index > from)
        first--; /* the new rows: usually the last few */
    for (size_t i = first; rc == 0 && i < count; i++)
        rc = store_put_change(db, index, history_ring_at(h, i));
    /* Rows memory no longer keeps (cupiHistorySize) go from the store too. */
    int64_t keep_from =
        count ? history_ring_at(h, 0)->index : (int64_t)agent_history_last_index(s) + 1;
    if (rc == 0)
        rc = store_trim_changes(db, index, keep_from);
    *newest = agent_history_last_index(s);
    return rc;
}

/* One transaction for the given indexes; their marks go once it commits. */
static bool commit_indexes(const unsigned *list, size_t n)
{
    uint32_t newest[CHUNK_COST];
    if (store_begin(db) != 0 && !store_needs_reopen(db)) {
        write_failed(store_error(db));
        return false;
    }
    if (store_needs_reopen(db)) {
        /* The path names another file now, or none: what is there decides
         * (and the error names it), not that the old one went. */
        store_abandon(db);
        db = NULL;
        if (!ensure_open())
            return false;
        if (store_begin(db) != 0) {
            write_failed(store_error(db));
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (sync_index(list[i], &newest[i]) != 0) {
            char why[320];
            snprintf(why, sizeof why, "%s", store_error(db));
            store_rollback(db);
            write_failed(why);
            return false;
        }
    }
    if (store_commit(db) != 0) {
        char why[320];
        snprintf(why, sizeof why, "%s", store_error(db));
        store_rollback(db);
        write_failed(why);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        flushed[list[i]] = newest[i];
        clear(list[i]);
    }
    written();
    if (n_pending && !agent_timer_armed(&flush_timer)) /* a new store: the rest */
        agent_timer_set(&flush_timer, agent_now_ms() + SOON_MS);
    return true;
}

/* Writes pending servers, a chunk per transaction: one chunk per turn of the
 * loop (all of them when asked), so that a full rewrite never holds the
 * SNMP thread for long. True when nothing is left. */
static bool flush(bool all)
{
    if (!state_path || !pending)
        return true;
    if (!n_pending && db)
        return true;
    if (!ensure_open())
        return false;
    if (!n_pending)
        written();
    do {
        unsigned list[CHUNK_COST];
        size_t n = 0, cost = 0;
        for (unsigned seen = 0; cost < CHUNK_COST && n < n_pending && seen <= MAX_INDEX;
             seen++) {
            unsigned index = cursor;
            cursor = cursor >= MAX_INDEX ? 1 : cursor + 1;
            if (index < 1 || !pending[index])
                continue;
            list[n++] = index;
            cost += pending[index] & ~(P_READ(0) | P_READ(1)) ? SERVER_COST : 1;
        }
        if (!n)
            break;
        if (!commit_indexes(list, n))
            return false;
    } while (all && n_pending);
    if (n_pending) /* the rest on the next turn of the loop */
        agent_timer_set(&flush_timer, agent_now_ms());
    return n_pending == 0;
}

static void flush_due(agent_timer *t)
{
    (void)t;
    flush(false);
}

static double clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void count(timing *t, double ms)
{
    if (!t->hist && !(t->hist = calloc(STAT_BUCKETS, sizeof *t->hist)))
        return;
    size_t b = (size_t)(ms * 100.0);
    t->hist[b < STAT_BUCKETS ? b : STAT_BUCKETS - 1]++;
    if (ms > t->max_ms)
        t->max_ms = ms;
}

static double median_ms(const timing *t)
{
    unsigned long half = (rec_count + 1) / 2, seen = 0;
    size_t b = 0;
    while (t->hist && b < STAT_BUCKETS && (seen += t->hist[b]) < half)
        b++;
    return (double)(b + 1) / 100.0;
}

/* A change: its values and history rows, now, in one transaction. */
static void record(unsigned index)
{
    if (failing)
        return; /* the retry writes it with the rest */
    double wall = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    if (ensure_open() && commit_indexes(&index, 1)) {
        count(&rec_wall, clock_ms(CLOCK_MONOTONIC) - wall);
        count(&rec_cpu, clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu);
        rec_count++;
    }
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    if (!state_path || !pending)
        return;
    unsigned index = ev->server->cfg.index;
    switch (ev->type) {
    case AGENT_EVENT_VALUES:
        if (ev->source == AGENT_SOURCE_NONE)
            break; /* loaded from the store */
        if (ev->first || ev->changed) {
            mark(index, P_SERVER | P_VALUES(ev->resource));
            record(index);
        } else {
            mark(index, P_READ(ev->resource));
            schedule(READ_TIME_MS);
        }
        break;
    case AGENT_EVENT_ADDED:
        mark(index, P_DROP | P_SERVER);
        schedule(SOON_MS);
        break;
    case AGENT_EVENT_REMOVED:
        mark(index, P_DROP);
        schedule(SOON_MS);
        break;
    case AGENT_EVENT_MOVED:
        mark(index, P_DROP | P_SERVER | P_ALL_VALUES);
        schedule(SOON_MS);
        break;
    case AGENT_EVENT_STATUS:
    case AGENT_EVENT_CLIENT:
    case AGENT_EVENT_STALE:
        break;
    }
}

int agent_state_start(void)
{
    flush_timer.fire = flush_due;
    return agent_server_subscribe(on_event, NULL);
}

/* --- configuration and loading ---------------------------------------------- */

static void close_store(void)
{
    agent_timer_cancel(&flush_timer);
    store_close(db);
    db = NULL;
    store_lock_release(lock);
    lock = NULL;
    free(state_path);
    state_path = NULL;
    synced_id[0] = '\0';
    failing = false;
    failed_attempts = 0;
}

int agent_state_configure(const char *path)
{
    if (state_path && path && strcmp(state_path, path) == 0)
        return 0; /* a reload with the same file keeps any retry going */
    if (state_path) {
        flush(true);
        close_store();
    }
    if (!path)
        return 0;
    if (!pending) {
        pending = calloc(MAX_INDEX + 1, sizeof *pending);
        flushed = calloc(MAX_INDEX + 1, sizeof *flushed);
        if (!pending || !flushed) {
            snmp_log(LOG_ERR, "cupi: out of memory for the state file\n");
            return -1;
        }
    }
    memset(pending, 0, (MAX_INDEX + 1) * sizeof *pending);
    memset(flushed, 0, (MAX_INDEX + 1) * sizeof *flushed);
    n_pending = 0;
    cursor = 1;
    char err[320];
    int rc = store_lock_take(path, &lock, err, sizeof err);
    if (rc == -2) {
        snmp_log(LOG_ERR, "cupi: %s: this agent keeps no state on disk\n", err);
        return -1;
    }
    state_path = strdup(path);
    if (!state_path) {
        store_lock_release(lock);
        lock = NULL;
        return -1;
    }
    /* Not lockable now (a read-only directory ...): nothing is written
     * until it is; the writer takes it first. */
    if (rc != 0)
        DEBUGMSGTL(("cupi", "state lock not taken yet: %s\n", err));
    synced_size = agent_history_size();
    /* What memory holds goes to this store unless the load finds it there. */
    mark_everything();
    schedule(SOON_MS);
    return 0;
}

/* A database of an older schema is upgraded before it is read. */
static void upgrade(void)
{
    store *st;
    char err[320];
    if (store_open(state_path, NULL, &st, err, sizeof err) == 0)
        store_close(st);
}

void agent_state_load(void)
{
    if (!state_path)
        return;
    char why[320], import_why[320] = "";
    store_kind kind = store_probe(state_path, why, sizeof why);
    if (!lock) /* another's state is never changed; it is still read */
        snprintf(import_why, sizeof import_why, "the state cannot be locked yet");
    else if (kind == STORE_KIND_JSON)
        import_json(import_why, sizeof import_why);
    else if (kind == STORE_KIND_SQLITE)
        upgrade();
    store_read_opts o = {.now = time(NULL), .history_rows = agent_history_size()};
    store_doc doc;
    if (store_load(state_path, &o, &doc, why, sizeof why) != 0) {
        snmp_log(kind == STORE_KIND_MISSING || kind == STORE_KIND_EMPTY ? LOG_INFO
                                                                        : LOG_WARNING,
                 "cupi: state file %s not loaded: %s\n", state_path, why);
        return;
    }
    if (doc.kind == STORE_KIND_JSON) /* readable, yet not imported: the writer says why */
        snmp_log(LOG_WARNING, "cupi: state file %s not imported: %s\n", state_path, import_why);
    unsigned loaded = 0, skipped = 0;
    for (size_t i = 0; i < doc.n_servers; i++) {
        store_server *e = &doc.servers[i];
        agent_server *s = agent_server_find(e->index);
        if (!s || strcmp(s->cfg.url, e->url) != 0) {
            mark(e->index, P_DROP); /* not configured, or now another URL */
            continue;
        }
        pending[e->index] &= (uint8_t) ~(P_SERVER | P_ALL_VALUES); /* saved already */
        flushed[e->index] = e->last_change;
        if (e->history_bad) {
            snmp_log(LOG_WARNING, "cupi: server %u: saved change history ignored: %s%s\n",
                     e->index, e->history_why,
                     e->last_change ? " (its last index is kept)" : "");
            mark(e->index, P_DROP | P_SERVER | P_ALL_VALUES); /* written again whole */
        } else if (e->history_saved > e->history.count) {
            mark(e->index, P_SERVER); /* more rows than cupiHistorySize keeps */
        }
        if (agent_history_adopt(s, &e->history) != 0)
            snmp_log(LOG_ERR, "cupi: server %u: out of memory loading its history\n", e->index);
        skipped += e->invalid;
        for (int r = 0; r < CUPI_RES_COUNT; r++) {
            const store_resource *res = &e->res[r];
            char unservable[256];
            if (!res->valid) {
                if (e->invalid)
                    mark(e->index, P_VALUES(r)); /* the bad one goes */
                continue;
            }
            if (!agent_snapshot_servable(&res->snap, unservable, sizeof unservable)) {
                skipped++; /* what a CUPI answer could not bring in either */
                mark(e->index, P_VALUES(r));
                continue;
            }
            if (s->res[r].valid)
                continue; /* CUPI already answered: fresher */
            agent_server_restore(s, &res->snap, res->read_at);
            loaded++;
        }
    }
    /* Servers with nothing pending were cleared above: recount. */
    n_pending = 0;
    for (unsigned i = 1; i <= MAX_INDEX; i++)
        n_pending += pending[i] != 0;
    if (doc.kind == STORE_KIND_SQLITE)
        snprintf(synced_id, sizeof synced_id, "%s", doc.store_id);
    snmp_log(skipped ? LOG_WARNING : LOG_INFO,
             "cupi: state file %s: %u resource(s) loaded, %u invalid ignored\n", state_path,
             loaded, skipped);
    store_doc_free(&doc);
    schedule(SOON_MS);
}

void agent_state_mark_dirty(void)
{
    if (!state_path)
        return;
    if (agent_history_size() != synced_size) {
        synced_size = agent_history_size();
        for (agent_server *s = agent_servers_first(); s; s = s->next)
            mark(s->cfg.index, P_SERVER); /* trimmed to the new size */
    }
    schedule(SOON_MS);
}

void agent_state_flush(void)
{
    flush(true);
}

static void log_record_stats(void)
{
    if (!rec_count)
        return;
    snmp_log(LOG_INFO,
             "cupi: state file %s: %lu change(s) recorded, SNMP-thread time median %.2f ms, "
             "max %.2f ms (its CPU time: median %.2f ms, max %.2f ms)\n",
             state_path, rec_count, median_ms(&rec_wall), rec_wall.max_ms, median_ms(&rec_cpu),
             rec_cpu.max_ms);
}

void agent_state_shutdown(void)
{
    if (state_path) {
        if (!flush(true))
            snmp_log(LOG_ERR,
                     "cupi: state file %s is stale at exit: it lacks the changes of the "
                     "last %lld s\n",
                     state_path, (long long)(agent_now_s() - dirty_since));
        log_record_stats();
    }
    close_store();
    free(pending);
    free(flushed);
    free(rec_wall.hist);
    free(rec_cpu.hist);
    pending = NULL;
    flushed = NULL;
    memset(&rec_wall, 0, sizeof rec_wall);
    memset(&rec_cpu, 0, sizeof rec_cpu);
    rec_count = 0;
    n_pending = 0;
}
