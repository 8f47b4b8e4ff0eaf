/* mib/set_txn.c - the SET transaction (see mib/set_txn.h for the phase mapping).
 *
 * An item is one row of one resource that the PDU sets. Its state says what
 * is known of it on CUPI; every CUPI request is a step of the table `steps`
 * below, which names the request, the states an item takes it from, the
 * state while it is in flight and the state each outcome leads to. The
 * phases only choose which steps may run (`phases`).
 *
 * Each handler call of RESERVE2, ACTION and UNDO becomes a batch: its
 * requests are delegated and the batch is queued on the transaction. The
 * requests run in rounds: a round starts every request its step allows at
 * once (the fresh reads of every row and resource; the PUTs; the
 * read-backs; the put-backs), and the next round waits until none is in
 * flight. So a SET costs three CUPI round trips whatever it touches (two
 * when the read is skipped), and a failed PUT finds every other PUT answered
 * before it puts back what was applied. RESERVE2 and ACTION run for every
 * resource as soon as the first table's handler is called: net-snmp calls
 * every table's handler in each phase before it waits. A batch completes its
 * delegated requests when the transaction has nothing in flight. */
#include "mib/set_txn.h"

#include "loop/timer.h"
#include "mib/varbind.h"

#include <stdlib.h>
#include <string.h>

/* A transaction the master abandoned (it timed out and closed the AgentX
 * session, or restarted between two phases) never sees COMMIT, UNDO or
 * FREE. While it lives, its servers' refreshes are dropped (pending_sets),
 * so one left behind would freeze their rows until the next SET. No master
 * lets this much time pass between two phases of one SET. */
#define TXN_ABANDONED_MS (120 * 1000)

/* The oldest model values a SET takes instead of a fresh read (seconds; at
 * most cupiCacheTtl). */
#define FRESH_MAX_S 5u

/* --- the I/O ------------------------------------------------------------- */

static cupi_status client_get(agent_server *s, cupi_resource r, cupi_callback cb, void *arg)
{
    if (!s->client)
        return CUPI_E_CONFIG;
    return worker_client_get(s->client, r, cb, arg);
}

static cupi_status client_put(agent_server *s, const cupi_snapshot *changes, cupi_callback cb,
                              void *arg)
{
    if (!s->client)
        return CUPI_E_CONFIG;
    return worker_client_put(s->client, changes, cb, arg);
}

static const set_txn_io default_io = {client_get, client_put, agent_now_ms};
static const set_txn_io *io = &default_io;

void set_txn_use_io(const set_txn_io *replacement)
{
    io = replacement ? replacement : &default_io;
}

/* --- states and steps ------------------------------------------------------ */

typedef enum item_state {
    ITEM_RESERVED,         /* RESERVE1 took its varbinds */
    ITEM_READING,          /* fresh GET in flight */
    ITEM_READ,             /* current values known, the rules hold */
    ITEM_PUTTING,          /* PUT of the changes in flight */
    ITEM_APPLIED,          /* CUPI answered the PUT with 2xx */
    ITEM_UNKNOWN,          /* the PUT got no answer: maybe applied, maybe later */
    ITEM_CHECKING,         /* read-back of an applied PUT in flight */
    ITEM_CHECKING_UNKNOWN, /* read-back of an unanswered PUT in flight */
    ITEM_DONE,             /* read back with every value: the SET's change */
    ITEM_FAILED,           /* failed with nothing of it on CUPI */
    ITEM_FAILED_APPLIED,   /* failed with its values on CUPI: to put back */
    ITEM_RESTORING,        /* PUT of the old values in flight */
    ITEM_RESTORED,         /* old values back (or none that could be sent) */
    ITEM_RESTORE_FAILED,   /* the put-back failed: CUPI keeps the new values */
} item_state;

#define IN(state) (1u << (state))
/* What UNDO (or a failed ACTION) puts back. */
#define ON_CUPI (IN(ITEM_APPLIED) | IN(ITEM_DONE) | IN(ITEM_FAILED_APPLIED))

typedef enum txn_request {
    REQ_NONE,        /* fails without asking CUPI */
    REQ_GET,         /* GET of the item's resource */
    REQ_PUT_CHANGES, /* PUT of the fields the PDU sets */
    REQ_PUT_OLD,     /* PUT of those fields' values before the SET */
} txn_request;

typedef enum txn_outcome { OUT_OK, OUT_UNKNOWN, OUT_FAILED } txn_outcome;

typedef struct txn_item txn_item;
typedef struct set_txn set_txn;

typedef struct txn_step {
    const char *name; /* for the log */
    txn_request request;
    uint32_t from;        /* IN() mask of the states that take this step */
    item_state in_flight; /* while the request is outstanding */
    /* A time-out or a lost connection leaves CUPI's state unknown (a PUT
     * may have been applied, now or later) rather than failed: the item
     * goes to next[OUT_UNKNOWN], which only such a step has. */
    bool can_end_unknown;
    item_state next[3];    /* by txn_outcome */
    int error;             /* SNMP error when the request fails */
    int start_error;       /* SNMP error when it cannot be sent */
    bool rolls_back;       /* a failure puts back what the SET applied */
    bool blames_trigger;   /* its failure is reported on the item that caused it */
    bool joins_previous;   /* runs in the same round as the step before it */
    const char *ok_notice; /* logged on success */
    /* Judges a successful answer: SNMP_ERR_NOERROR or the error it fails with. */
    int (*judge)(txn_item *it, agent_server *s, const cupi_result *res);
    /* Runs after a failure (s may be NULL: the row is gone). */
    void (*on_failure)(txn_item *it, agent_server *s);
    /* Settles the step without a request when the model's values will do:
     * true with *error set. */
    bool (*from_model)(txn_item *it, agent_server *s, int *error);
} txn_step;

typedef enum step_id {
    STEP_READ,
    STEP_PUT,
    STEP_READBACK,
    STEP_READBACK_UNANSWERED,
    STEP_GIVE_UP,
    STEP_RESTORE,
} step_id;

struct txn_item {
    set_txn *txn;
    unsigned index; /* server row; looked up again at every step (reloads) */
    cupi_resource resource;
    item_state state;
    step_id step;          /* the step in flight */
    cupi_snapshot changes; /* the fields the PDU sets */
    cupi_snapshot before;  /* fresh read of RESERVE2 */
    cupi_snapshot after;   /* read-back of ACTION */
    bool released;         /* pending_sets given back */
    int error;             /* SNMP error of the current phase */
};

typedef struct txn_batch {
    netsnmp_delegated_cache *cache;
    int mode;
    cupi_resource resource;
    bool in_handler; /* completing inside the handler call that queued it */
    struct txn_batch *next;
} txn_batch;

struct set_txn {
    long transid;
    txn_item **items;
    size_t n_items;
    bool failed;        /* ACTION failed: no further PUT */
    unsigned in_flight; /* CUPI requests of this transaction outstanding */
    bool orphaned;      /* replaced while requests were in flight: freed by the last */
    txn_batch *queue;
    txn_item *rollback_for; /* item whose failure started the put-back */
    int64_t active_at;      /* io->now_ms() of the last phase or CUPI answer */
    bool past_reserve1;     /* a later phase has started */
};

static set_txn *current;

static void expiry_due(agent_timer *timer);
static agent_timer expiry = {.fire = expiry_due};
static void keep_alive(set_txn *t);

/* --- values -------------------------------------------------------------- */

static uint32_t write_only_mask(cupi_resource r)
{
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].write_only)
            mask |= CUPI_COLUMN_BIT(f[i].column);
    return mask;
}

/* --- judging answers --------------------------------------------------------- */

static int check_rules(txn_item *it)
{
    char why[256];
    unsigned column;
    if (cupi_changes_check(&it->before, &it->changes, &column, why, sizeof why) == CUPI_VALID)
        return SNMP_ERR_NOERROR;
    snmp_log(LOG_INFO, "cupi: SET on server %u refused: %s\n", it->index, why);
    return SNMP_ERR_INCONSISTENTVALUE;
}

static int judge_read(txn_item *it, agent_server *s, const cupi_result *res)
{
    it->before = res->snapshot;
    if (s)
        agent_server_take_values(s, &res->snapshot, AGENT_SOURCE_EXTERNAL, 0);
    return check_rules(it);
}

/* The fresh read is skipped when no cross-field rule involves the columns
 * set (nothing CUPI holds can make the change inconsistent) and the model's
 * values are recent: they serve only to put the old values back. The price:
 * a change made on CUPI within that age is put back to the older value if
 * the SET fails, and is noticed by the next refresh rather than this read. */
static bool read_from_model(txn_item *it, agent_server *s, int *error)
{
    unsigned max_age =
        agent_cfg.cache_ttl_s < FRESH_MAX_S ? agent_cfg.cache_ttl_s : FRESH_MAX_S;
    if (cupi_rules_involve(it->resource, it->changes.present) ||
        !agent_server_fresh_values(s, it->resource, max_age, &it->before))
        return false;
    DEBUGMSGTL(("cupi", "SET on server %u %s: current values from the cache\n", it->index,
                cupi_resource_name(it->resource)));
    *error = check_rules(it); /* the values alone, as a read would */
    return true;
}

/* What the read-back shows in the columns the SET does not set is somebody
 * else's change, made since the values the SET started from (recent cached
 * ones, when the read was skipped): the model takes it as such, so that only
 * the SET's own columns become its change at COMMIT. */
static void take_others_changes(txn_item *it, agent_server *s)
{
    cupi_snapshot others = it->after;
    for (unsigned col = 1; col <= CUPI_MAX_COLUMNS; col++)
        if (cupi_snapshot_has(&it->changes, col) && cupi_snapshot_has(&it->before, col))
            cupi_snapshot_set(&others, col, &it->before.v[col - 1]);
    agent_server_take_values(s, &others, AGENT_SOURCE_EXTERNAL, 0);
}

static int judge_readback(txn_item *it, agent_server *s, const cupi_result *res)
{
    it->after = res->snapshot;
    if (s)
        take_others_changes(it, s);
    if (!cupi_snapshot_unstuck(&it->changes, &it->after))
        return SNMP_ERR_NOERROR;
    snmp_log(LOG_WARNING, "cupi: SET on server %u %s: a value did not stick after the PUT\n",
             it->index, cupi_resource_name(it->resource));
    return SNMP_ERR_COMMITFAILED;
}

/* A PUT without answer whose values are not (yet) there may still be
 * applied by CUPI: the model takes a later read showing them as this SET's. */
static void expect_late_put(txn_item *it, agent_server *s)
{
    if (s)
        agent_server_expect_late_put(s, &it->changes);
}

/* --- the step table ------------------------------------------------------------ */

static const txn_step steps[] = {
    [STEP_READ] =
        {
            .name = "reading current values",
            .request = REQ_GET,
            .from = IN(ITEM_RESERVED),
            .in_flight = ITEM_READING,
            .next = {[OUT_OK] = ITEM_READ, [OUT_FAILED] = ITEM_FAILED},
            .error = SNMP_ERR_RESOURCEUNAVAILABLE,
            .start_error = SNMP_ERR_RESOURCEUNAVAILABLE,
            .judge = judge_read, /* the rules: inconsistentValue */
            .from_model = read_from_model,
        },
    [STEP_PUT] =
        {
            .name = "PUT",
            .request = REQ_PUT_CHANGES,
            .from = IN(ITEM_READ),
            .in_flight = ITEM_PUTTING,
            .can_end_unknown = true,
            .next = {[OUT_OK] = ITEM_APPLIED,
                     [OUT_UNKNOWN] = ITEM_UNKNOWN,
                     [OUT_FAILED] = ITEM_FAILED},
            .error = SNMP_ERR_COMMITFAILED,
            .start_error = SNMP_ERR_RESOURCEUNAVAILABLE,
            .rolls_back = true,
        },
    [STEP_READBACK] =
        {
            .name = "reading back the PUT",
            .request = REQ_GET,
            .from = IN(ITEM_APPLIED),
            .in_flight = ITEM_CHECKING,
            .next = {[OUT_OK] = ITEM_DONE, [OUT_FAILED] = ITEM_FAILED_APPLIED},
            .error = SNMP_ERR_COMMITFAILED,
            .start_error = SNMP_ERR_RESOURCEUNAVAILABLE,
            .rolls_back = true,
            .judge = judge_readback, /* a value that did not stick: commitFailed */
        },
    [STEP_READBACK_UNANSWERED] =
        {
            .name = "reading back the PUT without answer",
            .request = REQ_GET,
            .from = IN(ITEM_UNKNOWN),
            .in_flight = ITEM_CHECKING_UNKNOWN,
            .next = {[OUT_OK] = ITEM_DONE, [OUT_FAILED] = ITEM_FAILED},
            .error = SNMP_ERR_COMMITFAILED,
            .start_error = SNMP_ERR_RESOURCEUNAVAILABLE,
            .rolls_back = true,
            .joins_previous = true,
            .ok_notice = "the PUT got no answer but the read-back shows it applied",
            .judge = judge_readback,
            .on_failure = expect_late_put,
        },
    [STEP_GIVE_UP] =
        {
            /* another item failed before this one's PUT could be read back:
             * the PUT may still land, so it is expected rather than put back */
            .name = "giving up on a PUT without answer",
            .request = REQ_NONE,
            .from = IN(ITEM_UNKNOWN),
            .next = {[OUT_FAILED] = ITEM_FAILED},
            .error = SNMP_ERR_COMMITFAILED,
            .on_failure = expect_late_put,
        },
    [STEP_RESTORE] =
        {
            .name = "putting old values back",
            .request = REQ_PUT_OLD,
            .from = ON_CUPI,
            .in_flight = ITEM_RESTORING,
            .next = {[OUT_OK] = ITEM_RESTORED, [OUT_FAILED] = ITEM_RESTORE_FAILED},
            .error = SNMP_ERR_UNDOFAILED,
            .start_error = SNMP_ERR_UNDOFAILED,
            .blames_trigger = true,
        },
};

/* Which steps each phase runs, in order: a step starts only when no item
 * can take an earlier one and nothing is in flight. A failed ACTION puts
 * back what the SET applied on every resource before its batch completes;
 * UNDO puts back the items of the table it is called for. */
typedef struct txn_phase {
    int mode;
    bool rolling_back;
    bool all_resources; /* items of every resource, not only the batch's */
    size_t n_steps;
    step_id steps[3];
} txn_phase;

static const txn_phase phases[] = {
    {MODE_SET_RESERVE2, false, true, 1, {STEP_READ}},
    {MODE_SET_ACTION, false, true, 3, {STEP_PUT, STEP_READBACK, STEP_READBACK_UNANSWERED}},
    {MODE_SET_ACTION, true, true, 2, {STEP_GIVE_UP, STEP_RESTORE}},
    {MODE_SET_UNDO, false, false, 1, {STEP_RESTORE}},
};

/* The phase a batch runs now: its mode, and whether a put-back is under way. */
static const txn_phase *batch_phase(const set_txn *t, const txn_batch *b)
{
    bool rolling_back = t->rollback_for != NULL;
    if (b->mode == MODE_SET_ACTION && t->failed && !rolling_back)
        return NULL; /* ACTION already failed: nothing more is PUT */
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
        if (phases[i].mode == b->mode && phases[i].rolling_back == rolling_back)
            return &phases[i];
    return NULL;
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
    for (size_t i = 0; i < t->n_items; i++) {
        release_item(t->items[i]);
        cupi_secret_wipe(t->items[i], sizeof *t->items[i]); /* may hold an smtpPassword */
        free(t->items[i]);
    }
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
    free(t->items);
    free(t);
}

/* Drops the current transaction; one with requests in flight is freed when
 * the last of them completes. */
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
    /* A RESERVE1 after later phases starts another SET, even under the same
     * transaction id (requests that carry none all have 0). */
    if (current && current->transid == transid && !(create && current->past_reserve1))
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
        if (!t->items[i]->released)
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
        if (t->items[i]->index == index && t->items[i]->resource == r)
            return t->items[i];
    txn_item **grown = realloc(t->items, (t->n_items + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    t->items = grown;
    txn_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    t->items[t->n_items++] = it;
    it->txn = t;
    it->index = index;
    it->resource = r;
    it->state = ITEM_RESERVED;
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

/* What an item read back becomes what GET serves, when it got that far and
 * its row still exists; the write-only columns it set are marked as set. */
static void commit_item(const txn_item *it)
{
    agent_server *s = agent_server_find(it->index);
    if (s && !it->released && it->state == ITEM_DONE)
        agent_server_set_commit(s, &it->after,
                                it->changes.present & write_only_mask(it->resource));
}

static void commit(set_txn *t, cupi_resource r)
{
    for (size_t i = 0; i < t->n_items; i++) {
        txn_item *it = t->items[i];
        if (it->resource != r)
            continue;
        commit_item(it);
        release_item(it);
    }
}

static void free_resource(set_txn *t, cupi_resource r)
{
    for (size_t i = 0; i < t->n_items; i++)
        if (t->items[i]->resource == r)
            release_item(t->items[i]);
}

/* --- running the steps ------------------------------------------------------ */

static void pump(set_txn *t);

/* The put-back body: the old values of the fields the PDU set. A write-only
 * old value is unknown (CUPI never returns it) and cannot be put back. */
static bool restore_changes(const txn_item *it, cupi_snapshot *out)
{
    cupi_snapshot_init(out, it->resource);
    uint32_t mask = it->changes.present & ~write_only_mask(it->resource);
    for (unsigned col = 1; col <= CUPI_MAX_COLUMNS; col++)
        if ((mask & (CUPI_COLUMN_BIT(col))) && cupi_snapshot_has(&it->before, col))
            cupi_snapshot_set(out, col, &it->before.v[col - 1]);
    return out->present != 0;
}

/* Moves an item to the state the outcome of its step leads to. */
static void settle(set_txn *t, txn_item *it, const txn_step *st, txn_outcome o, int error,
                   agent_server *s)
{
    it->state = st->next[o];
    if (o == OUT_OK && st->ok_notice)
        snmp_log(LOG_NOTICE, "cupi: SET on server %u %s: %s\n", it->index,
                 cupi_resource_name(it->resource), st->ok_notice);
    if (o != OUT_FAILED)
        return;
    /* A failed put-back is reported on the varbind whose failure caused it. */
    txn_item *blame = st->blames_trigger && t->rollback_for ? t->rollback_for : it;
    blame->error = error;
    if (st->on_failure)
        st->on_failure(it, s);
    if (st->rolls_back) {
        t->failed = true;
        if (!t->rollback_for)
            t->rollback_for = it;
    }
}

static void step_done(const cupi_result *res, void *arg)
{
    txn_item *it = arg;
    set_txn *t = it->txn;
    t->in_flight--;
    if (t->orphaned) {
        if (!t->in_flight)
            txn_free(t);
        return;
    }
    keep_alive(t);
    const txn_step *st = &steps[it->step];
    agent_server *s = agent_server_find(it->index);
    /* Judged like a refresh: a read lacking a field is a bad answer, never
     * values to compare, cache or notify. */
    char message[256];
    cupi_status status = agent_read_check(res, message, sizeof message);
    /* A PUT CUPI refused (HTTP 400) says the values were wrong, not that the
     * server is unwell: it fails the SET without touching cupiServerStatus. */
    bool refused = status == CUPI_E_REJECTED && res->is_put;
    if (s && status != CUPI_E_CANCELLED && !refused)
        agent_server_take_status(s, status, message);

    txn_outcome o = OUT_OK;
    int error = SNMP_ERR_NOERROR;
    if (status != CUPI_OK) {
        snmp_log(LOG_WARNING, "cupi: SET on server %u %s: %s failed: %s\n", it->index,
                 cupi_resource_name(it->resource), st->name,
                 message[0] ? message : cupi_status_text(status));
        /* A PUT that timed out or lost its connection may have been applied,
         * now or later: it is read back like a successful one before the SET
         * is judged. */
        o = st->can_end_unknown && cupi_status_transient(status) ? OUT_UNKNOWN : OUT_FAILED;
        error = st->error;
    } else if (st->judge && (error = st->judge(it, s, res)) != SNMP_ERR_NOERROR) {
        o = OUT_FAILED;
    }
    settle(t, it, st, o, error, s);
    pump(t);
    maybe_finish(t);
}

/* Starts step id for an item: true when its request is in flight, false
 * when the item settled at once (nothing to send, or it could not be sent). */
static bool start_step(set_txn *t, txn_item *it, step_id id)
{
    const txn_step *st = &steps[id];
    cupi_snapshot old;
    if (st->request == REQ_NONE) {
        settle(t, it, st, OUT_FAILED, st->error, agent_server_find(it->index));
        return false;
    }
    if (st->request == REQ_PUT_OLD && !restore_changes(it, &old)) {
        settle(t, it, st, OUT_OK, SNMP_ERR_NOERROR, NULL); /* nothing to put back */
        return false;
    }
    agent_server *s = agent_server_find(it->index);
    int error;
    if (s && st->from_model && st->from_model(it, s, &error)) {
        settle(t, it, st, error ? OUT_FAILED : OUT_OK, error, s);
        return false;
    }
    cupi_status rc = CUPI_E_CONFIG; /* the row is gone (reload) */
    it->step = id;
    it->state = st->in_flight;
    t->in_flight++;
    if (s && st->request == REQ_GET)
        rc = io->get(s, it->resource, step_done, it);
    else if (s)
        rc = io->put(s, st->request == REQ_PUT_CHANGES ? &it->changes : &old, step_done, it);
    if (rc == CUPI_OK)
        return true;
    t->in_flight--;
    snmp_log(LOG_WARNING, "cupi: SET on server %u %s: %s not sent: %s\n", it->index,
             cupi_resource_name(it->resource), st->name,
             s ? cupi_status_text(rc) : "the server was removed");
    settle(t, it, st, OUT_FAILED, st->start_error, s);
    return false;
}

/* Starts one round of the phase: every item that can take the first step
 * with takers, and the steps that join it. False when no step has takers. */
static bool start_round(set_txn *t, txn_batch *b, const txn_phase *ph)
{
    bool round = false;
    for (size_t k = 0; ph && k < ph->n_steps; k++) {
        const txn_step *st = &steps[ph->steps[k]];
        if (round && !st->joins_previous)
            break;
        for (size_t j = 0; j < t->n_items; j++) {
            txn_item *it = t->items[j];
            if (!(st->from & IN(it->state)) ||
                (!ph->all_resources && it->resource != b->resource))
                continue;
            round = true;
            /* An item that failed at once may end the phase (no PUT after a
             * failed one): the rest waits for the next round. */
            if (!start_step(t, it, ph->steps[k]) && batch_phase(t, b) != ph)
                return true;
        }
    }
    return round;
}

/* Runs the batch's phase: true while a request of the transaction is in
 * flight, false when the batch is done. */
static bool advance(set_txn *t, txn_batch *b)
{
    while (!t->in_flight)
        if (!start_round(t, b, batch_phase(t, b)))
            return false;
    return true;
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
        txn_item *it = t->items[i];
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
        if (b->mode == MODE_SET_ACTION)
            t->rollback_for = NULL; /* put-back complete */
        t->queue = b->next;
        finish_batch(t, b);
        free(b);
    }
}

static void enqueue(set_txn *t, cupi_resource r, netsnmp_mib_handler *handler,
                    netsnmp_handler_registration *reginfo, netsnmp_agent_request_info *reqinfo,
                    netsnmp_request_info *requests)
{
    txn_batch *b = calloc(1, sizeof *b);
    if (!b) {
        netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_RESOURCEUNAVAILABLE);
        return;
    }
    for (size_t i = 0; i < t->n_items; i++)
        if (t->items[i]->resource == r)
            t->items[i]->error = SNMP_ERR_NOERROR;
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
    if (reqinfo->mode != MODE_SET_RESERVE1)
        t->past_reserve1 = true;
    switch (reqinfo->mode) {
    case MODE_SET_RESERVE1:
        return reserve1(t, r, reqinfo, requests);
    case MODE_SET_RESERVE2:
    case MODE_SET_ACTION:
    case MODE_SET_UNDO:
        enqueue(t, r, handler, reginfo, reqinfo, requests); /* may end the SET (UNDO) */
        break;
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

/* The transaction moved on: it is abandoned only after another full
 * TXN_ABANDONED_MS without a phase or an answer. The timer runs on the event
 * loop's clock (the same as io's but for a test's fake). */
static void keep_alive(set_txn *t)
{
    t->active_at = io->now_ms();
    agent_timer_set(&expiry, agent_now_ms() + TXN_ABANDONED_MS);
}

static void expiry_due(agent_timer *timer)
{
    (void)timer;
    set_txn_expire();
    if (current)
        agent_timer_set(&expiry, agent_now_ms() + TXN_ABANDONED_MS);
}

void set_txn_expire(void)
{
    set_txn *t = current;
    if (!t || t->in_flight || t->queue || io->now_ms() - t->active_at < TXN_ABANDONED_MS)
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
    /* The master answers the manager once ACTION succeeded and sends COMMIT
     * (AgentX CleanupSet) without waiting: a shutdown can come in between.
     * CUPI holds what was read back either way, so the model (and the state
     * file saved after this) takes it now. */
    set_txn *t = current;
    for (size_t i = 0; t && i < t->n_items; i++)
        commit_item(t->items[i]);
    txn_discard();
}
