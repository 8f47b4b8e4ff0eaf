/* set_txn.c - the SET transaction (see set_txn.h for the phase mapping).
 *
 * Each handler call of RESERVE2, ACTION and UNDO becomes a batch: its
 * requests are delegated and the batch is queued on the transaction. Batches
 * run one CUPI request at a time, in order, so that with two resources the
 * server PUT has finished (and can be put back) before the client PUT starts.
 * A batch completes its delegated requests when its last item is done. */
#include "set_txn.h"

#include "agent_io.h"
#include "agent_server.h"
#include "mib_varbind.h"

#include <stdlib.h>
#include <string.h>

/* A transaction the master abandoned (it timed out and closed the AgentX
 * session, or restarted between two phases) never sees COMMIT, UNDO or
 * FREE. While it lives, its servers' refreshes are dropped (pending_sets),
 * so one left behind would freeze their rows until the next SET. No master
 * lets this much time pass between two phases of one SET. */
#define TXN_ABANDONED_TICKS (120u * 100u)

typedef struct txn_item {
    unsigned index; /* server row; looked up again at every step (reloads) */
    cupi_resource resource;
    cupi_snapshot changes; /* the fields the PDU sets */
    cupi_snapshot before;  /* fresh read of RESERVE2 */
    cupi_snapshot after;   /* read-back of ACTION */
    bool have_before, have_after;
    bool applied;  /* a PUT returned 2xx (or the read-back showed it applied) */
    bool unknown;  /* the PUT timed out or lost its connection: maybe applied */
    bool restored; /* put back after a failure */
    bool released; /* pending_sets given back */
    int error;     /* SNMP error of the current phase */
} txn_item;

typedef enum txn_step {
    STEP_READ,     /* RESERVE2: GET current values */
    STEP_PUT,      /* ACTION: PUT the changes */
    STEP_READBACK, /* ACTION: GET after the PUT */
    STEP_RESTORE,  /* ACTION failure or UNDO: PUT the old values back */
} txn_step;

typedef struct txn_batch {
    netsnmp_delegated_cache *cache;
    int mode;
    cupi_resource resource;
    bool in_handler; /* completing inside the handler call that queued it */
    struct txn_batch *next;
} txn_batch;

typedef struct set_txn {
    long transid;
    txn_item *items;
    size_t n_items;
    bool failed;    /* ACTION failed: later items are not PUT */
    bool in_flight; /* a CUPI request of this transaction is outstanding */
    bool orphaned;  /* replaced while a request was in flight: free on completion */
    txn_batch *queue;
    txn_item *work; /* item of the outstanding request */
    txn_step step;
    txn_item *rollback_for; /* item whose failure triggered a rollback */
    uint32_t active_at;     /* sysUpTime of the last phase or CUPI answer */
} set_txn;

static set_txn *current;

static void expiry_due(agent_timer *timer);
static agent_timer expiry = {.fire = expiry_due};

/* The transaction moved on: it is abandoned only after another full
 * TXN_ABANDONED_TICKS without a phase or an answer. */
static void keep_alive(set_txn *t)
{
    t->active_at = agent_uptime_ticks();
    agent_timer_set(&expiry, agent_now_ms() + (int64_t)TXN_ABANDONED_TICKS * 10);
}

static void set_txn_expire(void);

static void expiry_due(agent_timer *timer)
{
    (void)timer;
    set_txn_expire();
    if (current)
        agent_timer_set(&expiry, agent_now_ms() + (int64_t)TXN_ABANDONED_TICKS * 10);
}

/* --- values -------------------------------------------------------------- */

static uint32_t write_only_mask(cupi_resource r)
{
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].write_only)
            mask |= 1u << (f[i].column - 1);
    return mask;
}

/* --- transaction lifetime ------------------------------------------------- */

static void release_item(txn_item *it)
{
    if (it->released)
        return;
    it->released = true;
    agent_server *s = agent_server_find(it->index);
    if (s)
        agent_server_set_end(s);
}

static void txn_free(set_txn *t)
{
    for (size_t i = 0; i < t->n_items; i++)
        release_item(&t->items[i]);
    while (t->queue) {
        txn_batch *b = t->queue;
        t->queue = b->next;
        /* Hand the requests back rather than leave them delegated forever. */
        netsnmp_delegated_cache *cache = netsnmp_handler_check_cache(b->cache);
        if (cache) {
            for (netsnmp_request_info *r = cache->requests; r; r = r->next) {
                netsnmp_set_request_error(cache->reqinfo, r, SNMP_ERR_GENERR);
                r->delegated = 0;
            }
            netsnmp_free_delegated_cache(cache);
        }
        free(b);
    }
    /* The items' snapshots may hold an smtpPassword of the PDU. */
    cupi_secret_wipe(t->items, t->n_items * sizeof *t->items);
    free(t->items);
    free(t);
}

/* Drops the current transaction; one with a request in flight is freed when
 * that request completes. */
static void txn_discard(void)
{
    set_txn *t = current;
    current = NULL;
    if (!t)
        return;
    if (t->in_flight)
        t->orphaned = true;
    else
        txn_free(t);
}

static set_txn *txn_for(long transid, bool create)
{
    if (current && current->transid == transid)
        return current;
    if (!create)
        return NULL;
    txn_discard(); /* a leftover of a SET the master gave up on */
    current = calloc(1, sizeof *current);
    if (current)
        current->transid = transid;
    return current;
}

static bool all_released(const set_txn *t)
{
    for (size_t i = 0; i < t->n_items; i++)
        if (!t->items[i].released)
            return false;
    return true;
}

static void maybe_finish(set_txn *t)
{
    if (t == current && !t->in_flight && !t->queue && all_released(t)) {
        current = NULL;
        txn_free(t);
    }
}

static txn_item *item_for(set_txn *t, unsigned index, cupi_resource r)
{
    for (size_t i = 0; i < t->n_items; i++)
        if (t->items[i].index == index && t->items[i].resource == r)
            return &t->items[i];
    /* Not realloc: it could leave an earlier item's smtpPassword behind. */
    txn_item *grown = malloc((t->n_items + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    if (t->n_items)
        memcpy(grown, t->items, t->n_items * sizeof *grown);
    cupi_secret_wipe(t->items, t->n_items * sizeof *t->items);
    free(t->items);
    t->items = grown;
    txn_item *it = &t->items[t->n_items++];
    memset(it, 0, sizeof *it);
    it->index = index;
    it->resource = r;
    cupi_snapshot_init(&it->changes, r);
    agent_server *s = agent_server_find(index);
    if (s)
        agent_server_set_begin(s);
    return it;
}

/* --- phases without I/O ---------------------------------------------------- */

static unsigned request_index(netsnmp_request_info *req, unsigned *column)
{
    netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
    if (!ti || !ti->indexes || ti->indexes->type != ASN_UNSIGNED)
        return 0;
    *column = ti->colnum;
    return (unsigned)*ti->indexes->val.integer;
}

static int reserve1(set_txn *t, cupi_resource r, netsnmp_agent_request_info *reqinfo,
                    netsnmp_request_info *requests)
{
    for (netsnmp_request_info *req = requests; req; req = req->next) {
        if (req->processed)
            continue;
        unsigned column = 0, index = request_index(req, &column);
        const cupi_field *f = cupi_field_at(r, column);
        if (!f) {
            netsnmp_set_request_error(reqinfo, req, SNMP_ERR_NOTWRITABLE);
            return SNMP_ERR_NOERROR;
        }
        cupi_value v;
        int err = mib_varbind_decode(f, req->requestvb, &v);
        if (err == SNMP_ERR_NOERROR && (index == 0 || !agent_server_find(index)))
            err = SNMP_ERR_NOCREATION;
        txn_item *it = err == SNMP_ERR_NOERROR ? item_for(t, index, r) : NULL;
        if (err == SNMP_ERR_NOERROR && !it)
            err = SNMP_ERR_RESOURCEUNAVAILABLE;
        if (err != SNMP_ERR_NOERROR) {
            netsnmp_set_request_error(reqinfo, req, err);
            return SNMP_ERR_NOERROR;
        }
        cupi_snapshot_set(&it->changes, column, &v);
    }
    return SNMP_ERR_NOERROR;
}

static void commit(set_txn *t, cupi_resource r)
{
    for (size_t i = 0; i < t->n_items; i++) {
        txn_item *it = &t->items[i];
        if (it->resource != r || it->released)
            continue;
        agent_server *s = agent_server_find(it->index);
        if (s && it->have_after)
            agent_server_set_commit(s, &it->after, it->changes.present & write_only_mask(r));
        release_item(it);
    }
}

static void free_resource(set_txn *t, cupi_resource r)
{
    for (size_t i = 0; i < t->n_items; i++)
        if (t->items[i].resource == r)
            release_item(&t->items[i]);
}

/* --- the CUPI steps -------------------------------------------------------- */

static void pump(set_txn *t);

/* The put-back body: the old values of the fields the PDU set. A write-only
 * old value is unknown (CUPI never returns it) and cannot be put back. */
static bool restore_changes(const txn_item *it, cupi_snapshot *out)
{
    cupi_snapshot_init(out, it->resource);
    uint32_t mask = it->changes.present & ~write_only_mask(it->resource);
    for (unsigned col = 1; col <= CUPI_MAX_COLUMNS; col++)
        if ((mask & (1u << (col - 1))) && cupi_snapshot_has(&it->before, col))
            cupi_snapshot_set(out, col, &it->before.v[col - 1]);
    return out->present != 0;
}

static void start_rollback(set_txn *t, txn_item *failed)
{
    t->failed = true;
    t->rollback_for = failed;
}

/* A PUT that timed out or lost its connection may have been applied, now or
 * later: it is read back like a successful one before the SET is judged. */
static bool outcome_unknown(cupi_status st)
{
    return st == CUPI_E_TIMEOUT || st == CUPI_E_TRANSPORT;
}

static void step_done(const cupi_result *res, void *arg)
{
    set_txn *t = arg;
    txn_item *it = t->work;
    keep_alive(t);
    t->in_flight = false;
    t->work = NULL;
    if (t->orphaned) {
        txn_free(t);
        return;
    }
    agent_server *s = agent_server_find(it->index);
    /* Judged like a refresh: a read lacking a field is a bad answer, never
     * values to compare, cache or notify. */
    char message[256];
    cupi_status st = agent_server_check_read(res, message, sizeof message);
    /* A PUT CUPI refused (HTTP 400) says the values were wrong, not that the
     * server is unwell: it fails the SET without touching cupiServerStatus. */
    bool refused = st == CUPI_E_REJECTED && res->is_put;
    if (s && st != CUPI_E_CANCELLED && !refused)
        agent_server_take_status(s, st, message);
    bool ok = st == CUPI_OK;
    if (!ok)
        snmp_log(LOG_WARNING, "cupi: SET on server %u %s: %s failed: %s\n", it->index,
                 cupi_resource_name(it->resource),
                 t->step == STEP_READ       ? "reading current values"
                 : t->step == STEP_PUT      ? "PUT"
                 : t->step == STEP_READBACK ? "read-back"
                                            : "putting old values back",
                 message[0] ? message : cupi_status_text(st));

    switch (t->step) {
    case STEP_READ:
        if (!ok) {
            it->error = SNMP_ERR_RESOURCEUNAVAILABLE;
            break;
        }
        it->before = res->snapshot;
        it->have_before = true;
        if (s)
            agent_server_take_values(s, &res->snapshot, AGENT_SOURCE_EXTERNAL, 0);
        char why[256];
        unsigned column;
        if (cupi_changes_check(&it->before, &it->changes, &column, why, sizeof why) !=
            CUPI_VALID) {
            snmp_log(LOG_INFO, "cupi: SET on server %u refused: %s\n", it->index, why);
            it->error = SNMP_ERR_INCONSISTENTVALUE;
        }
        break;
    case STEP_PUT:
        if (ok) {
            it->applied = true;
        } else if (outcome_unknown(st)) {
            it->unknown = true; /* the read-back tells */
        } else {
            it->error = SNMP_ERR_COMMITFAILED;
            start_rollback(t, it);
        }
        break;
    case STEP_READBACK:
        if (ok) {
            it->after = res->snapshot;
            it->have_after = true;
        }
        if (!ok || cupi_snapshot_unstuck(&it->changes, &it->after)) {
            if (ok)
                snmp_log(LOG_WARNING,
                         "cupi: SET on server %u %s: a value did not stick after the PUT\n",
                         it->index, cupi_resource_name(it->resource));
            if (it->unknown && s)
                agent_server_expect_late_put(s, &it->changes);
            it->error = SNMP_ERR_COMMITFAILED;
            start_rollback(t, it);
        } else if (it->unknown) {
            snmp_log(LOG_NOTICE,
                     "cupi: SET on server %u %s: the PUT got no answer but the read-back "
                     "shows it applied\n",
                     it->index, cupi_resource_name(it->resource));
            it->applied = true;
        }
        break;
    case STEP_RESTORE:
        if (ok) {
            it->restored = true;
        } else {
            txn_item *blame = t->rollback_for ? t->rollback_for : it;
            blame->error = SNMP_ERR_UNDOFAILED;
            it->restored = true; /* tried once; do not loop */
        }
        break;
    }
    pump(t);
    maybe_finish(t);
}

static bool start_request(set_txn *t, txn_item *it, txn_step step, const cupi_snapshot *put)
{
    agent_server *s = agent_server_find(it->index);
    if (!s || !s->client) {
        it->error = step == STEP_RESTORE ? SNMP_ERR_UNDOFAILED : SNMP_ERR_RESOURCEUNAVAILABLE;
        return false;
    }
    t->work = it;
    t->step = step;
    t->in_flight = true;
    cupi_status st = put ? cupi_client_put(s->client, put, step_done, t)
                         : cupi_client_get(s->client, it->resource, step_done, t);
    if (st != CUPI_OK) {
        t->in_flight = false;
        t->work = NULL;
        it->error = step == STEP_RESTORE ? SNMP_ERR_UNDOFAILED : SNMP_ERR_RESOURCEUNAVAILABLE;
        return false;
    }
    agent_io_sync();
    return true;
}

/* Starts putting back the next applied item, newest first (of resource r
 * only when only_resource); true when a request is in flight. Items whose
 * old values cannot be sent (nothing but a write-only field) count as done. */
static bool restore_next(set_txn *t, bool only_resource, cupi_resource r)
{
    for (size_t i = t->n_items; i-- > 0;) {
        txn_item *it = &t->items[i];
        if (!it->applied || it->restored || (only_resource && it->resource != r))
            continue;
        cupi_snapshot put;
        if (restore_changes(it, &put) && start_request(t, it, STEP_RESTORE, &put))
            return true;
        it->restored = true;
    }
    return false;
}

/* The next CUPI request of a batch: fresh reads in RESERVE2; PUTs, then
 * read-backs in ACTION (or the put-back after a failure); put-backs in UNDO.
 * True when one is in flight, false when the batch is complete. */
static bool advance(set_txn *t, txn_batch *b)
{
    if (b->mode == MODE_SET_UNDO)
        return restore_next(t, true, b->resource);
    if (b->mode == MODE_SET_ACTION && t->rollback_for)
        return restore_next(t, false, b->resource);
    for (size_t i = 0; i < t->n_items; i++) {
        txn_item *it = &t->items[i];
        if (it->resource != b->resource || it->error)
            continue;
        if (b->mode == MODE_SET_RESERVE2 && !it->have_before &&
            start_request(t, it, STEP_READ, NULL))
            return true;
        if (b->mode == MODE_SET_ACTION && !t->failed && !it->applied && !it->unknown &&
            start_request(t, it, STEP_PUT, &it->changes))
            return true;
    }
    for (size_t i = 0; i < t->n_items; i++) {
        txn_item *it = &t->items[i];
        if (b->mode == MODE_SET_ACTION && it->resource == b->resource &&
            (it->applied || it->unknown) && !it->have_after && !it->error && !t->failed &&
            start_request(t, it, STEP_READBACK, NULL))
            return true;
    }
    return false;
}

/* Completes a batch's delegated requests with each item's error on the
 * item's first varbind. */
static void finish_batch(set_txn *t, txn_batch *b)
{
    /* netsnmp_handler_check_cache() looks for the request among the agent's
     * delegated sessions, which it joins only when the handler returns: a
     * batch that needs no CUPI request (an UNDO with nothing applied, the
     * ACTION of a second table after the first failed) completes inside the
     * handler call, where its cache is valid but not yet findable. */
    netsnmp_delegated_cache *cache =
        b->in_handler ? b->cache : netsnmp_handler_check_cache(b->cache);
    if (!cache) {
        /* the master gave up on this request */
        if (b->mode == MODE_SET_UNDO)
            free_resource(t, b->resource);
        return;
    }
    for (size_t i = 0; i < t->n_items; i++) {
        txn_item *it = &t->items[i];
        if (it->resource != b->resource || !it->error)
            continue;
        for (netsnmp_request_info *r = cache->requests; r; r = r->next) {
            unsigned column;
            if (request_index(r, &column) == it->index) {
                netsnmp_set_request_error(cache->reqinfo, r, it->error);
                break;
            }
        }
    }
    for (netsnmp_request_info *r = cache->requests; r; r = r->next)
        r->delegated = 0;
    netsnmp_free_delegated_cache(cache);
    if (b->mode == MODE_SET_UNDO)
        free_resource(t, b->resource); /* no FREE follows an UNDO */
}

static void pump(set_txn *t)
{
    while (!t->in_flight && t->queue) {
        txn_batch *b = t->queue;
        if (advance(t, b))
            return;
        if (b->mode == MODE_SET_ACTION && t->rollback_for)
            t->rollback_for = NULL; /* rollback complete */
        t->queue = b->next;
        finish_batch(t, b);
        free(b);
    }
}

static int enqueue(set_txn *t, cupi_resource r, netsnmp_mib_handler *handler,
                   netsnmp_handler_registration *reginfo, netsnmp_agent_request_info *reqinfo,
                   netsnmp_request_info *requests)
{
    txn_batch *b = calloc(1, sizeof *b);
    if (!b) {
        netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_RESOURCEUNAVAILABLE);
        return SNMP_ERR_NOERROR;
    }
    for (size_t i = 0; i < t->n_items; i++)
        if (t->items[i].resource == r)
            t->items[i].error = SNMP_ERR_NOERROR;
    b->mode = reqinfo->mode;
    b->resource = r;
    for (netsnmp_request_info *req = requests; req; req = req->next)
        req->delegated = 1;
    b->cache = netsnmp_create_delegated_cache(handler, reginfo, reqinfo, requests, t);
    txn_batch **tail = &t->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = b;
    b->in_handler = true;
    pump(t); /* may finish and free b */
    for (txn_batch *q = t->queue; q; q = q->next)
        q->in_handler = false;
    return SNMP_ERR_NOERROR;
}

int set_txn_handle(cupi_resource r, netsnmp_mib_handler *handler,
                   netsnmp_handler_registration *reginfo, netsnmp_agent_request_info *reqinfo,
                   netsnmp_request_info *requests)
{
    long transid = reqinfo->asp && reqinfo->asp->pdu ? reqinfo->asp->pdu->transid : 0;
    set_txn *t = txn_for(transid, reqinfo->mode == MODE_SET_RESERVE1);
    if (!t) {
        if (reqinfo->mode == MODE_SET_RESERVE1)
            netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_RESOURCEUNAVAILABLE);
        else if (reqinfo->mode != MODE_SET_FREE && reqinfo->mode != MODE_SET_COMMIT)
            netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_GENERR);
        return SNMP_ERR_NOERROR;
    }
    keep_alive(t);
    switch (reqinfo->mode) {
    case MODE_SET_RESERVE1:
        return reserve1(t, r, reqinfo, requests);
    case MODE_SET_RESERVE2:
    case MODE_SET_ACTION:
    case MODE_SET_UNDO:
        return enqueue(t, r, handler, reginfo, reqinfo, requests);
    case MODE_SET_COMMIT:
        commit(t, r);
        break;
    case MODE_SET_FREE:
        free_resource(t, r);
        break;
    default:
        break;
    }
    maybe_finish(t);
    return SNMP_ERR_NOERROR;
}

static void set_txn_expire(void)
{
    set_txn *t = current;
    if (!t || t->in_flight || t->queue ||
        agent_uptime_ticks() - t->active_at < TXN_ABANDONED_TICKS)
        return;
    snmp_log(LOG_WARNING,
             "cupi: SET transaction %ld abandoned by the master; what it applied stays on "
             "CUPI and is read back by the next refresh\n",
             t->transid);
    txn_discard();
}

void set_txn_shutdown(void)
{
    agent_timer_cancel(&expiry);
    txn_discard();
}
