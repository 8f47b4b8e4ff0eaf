/* worker/worker.c - the CUPI worker thread (see worker/worker.h).
 *
 * Two mailboxes connect the threads: commands go to the worker (create,
 * free, poll, touch, requests), outcomes come back (reads, completions, a
 * freed client). The worker's loop waits in epoll on its mailbox and on the
 * sockets libcurl asks for, which libcupi reports as they change; it sleeps
 * until the earlier of libcurl's timer and the poller's next deadline. */
#define _GNU_SOURCE
#include "worker/worker.h"
#include "loop/io.h"
#include "worker/mailbox.h"
#include "worker/poller.h"
#include "worker/read_check.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Messages handled per turn of either loop: the SNMP thread answers
 * requests between batches. */
#define BATCH 64
#define READY_MAX 64

typedef enum msg_kind {
    TO_NEW,
    TO_FREE,
    TO_POLL,
    TO_TOUCH,
    TO_STALE,
    TO_GET,
    TO_PUT,
    TO_HOLD,
    TO_CONFIGURE,
    TO_STOP,
    FROM_READ,
    FROM_DONE,
    FROM_FREED,
} msg_kind;

typedef struct wclient wclient;

/* A request a SET (or a test) waits for, on the SNMP thread. */
typedef struct call {
    struct call *next;
    cupi_callback cb;
    void *arg;
    cupi_resource resource;
    bool is_put;
    bool cancelled; /* its callback ran already (client freed) */
} call;

struct worker_client {
    wclient *twin; /* the worker's record; never dereferenced here */
    void *owner;
    bool dead;                          /* freed by its user; kept until the worker says so */
    call *calls;                        /* requests still to complete */
    int64_t touched_ms[CUPI_RES_COUNT]; /* last asked-for read passed on */
    unsigned n_calls;
    cupi_client_stats stats;
};

/* The worker's record of a client. */
struct wclient {
    cupi_client *client;
    unsigned index; /* the server's row: its reads' phase */
    worker_client *handle;
    poller_entry *entry;
    struct msg *queued[CUPI_RES_COUNT]; /* a read outcome not taken yet */
    uint64_t queued_seq[CUPI_RES_COUNT];
};

typedef struct msg {
    mailbox_msg link; /* first: the mailbox links messages through it */
    msg_kind kind;
    worker_client *handle;
    wclient *twin;
    cupi_resource resource;
    bool flag;
    call *call;
    cupi_client_stats stats;
    unsigned in_flight, waiting;
    union {
        struct { /* TO_NEW: answered in place while the sender waits */
            const cupi_client_options *options;
            unsigned index;
            bool answered;
            char err[256];
        } create;
        time_t last_ok[CUPI_RES_COUNT]; /* TO_POLL */
        worker_settings settings;       /* TO_CONFIGURE */
        cupi_snapshot changes;          /* TO_PUT */
        cupi_result result;             /* FROM_DONE */
        worker_read read;               /* FROM_READ */
    } u;
} msg;

/* Shared: the mailboxes (their own locks) and the creation handshake. */
static mailbox to_worker, to_snmp;
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t create_done = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running;

/* SNMP thread only. */
static worker_read_fn read_fn;
static unsigned seen_in_flight, seen_waiting;

/* Worker thread only. */
static cupi_engine *engine;
static poller *reads;
static int epoll_fd = -1;
static bool stopping;

static msg *msg_new(msg_kind kind, worker_client *h)
{
    msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = kind;
        m->handle = h;
        m->twin = h ? h->twin : NULL;
    }
    return m;
}

/* ===== worker thread ====================================================== */

static void stamp(msg *m, const wclient *wc)
{
    if (wc && wc->client)
        cupi_client_stats_get(wc->client, &m->stats);
    poller_counts(reads, &m->in_flight, NULL, &m->waiting);
}

static void watch_socket(int fd, bool want_read, bool want_write, bool remove, void *arg)
{
    (void)arg;
    struct epoll_event ev = {.events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0),
                             .data.fd = fd};
    /* A socket curl waits on for nothing is left out of the set: epoll
     * reports hang-ups whatever it is asked, and that would spin. */
    if (remove || !ev.events) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        return;
    }
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* --- background reads -------------------------------------------------------- */

typedef struct read_ctx {
    poller_entry *entry;
    cupi_resource resource;
    uint32_t ticket;
} read_ctx;

static void read_done(const cupi_result *result, void *arg)
{
    read_ctx ctx = *(read_ctx *)arg;
    free(arg);
    /* The agent's own rules are part of the verdict: values it cannot
     * serve are a bad answer, not a success. */
    cupi_result judged = *result;
    char why[sizeof judged.message];
    judged.status = agent_read_check(result, why, sizeof why);
    snprintf(judged.message, sizeof judged.message, "%s", why);
    poller_read_done(reads, ctx.entry, ctx.resource, ctx.ticket, &judged);
}

static int io_start_read(void *arg, poller_entry *e, void *client, cupi_resource r,
                         uint32_t ticket)
{
    (void)arg;
    wclient *wc = client;
    read_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
        return -1;
    *ctx = (read_ctx){.entry = e, .resource = r, .ticket = ticket};
    if (cupi_client_get(wc->client, r, read_done, ctx) != CUPI_OK) {
        free(ctx);
        return -1;
    }
    return 0;
}

typedef struct replace_ctx {
    wclient *wc;
    const worker_read *read;
    bool done;
} replace_ctx;

/* Newest per resource wins: an outcome the SNMP thread has not taken yet
 * is overwritten rather than queued behind, so that a stalled SNMP thread
 * finds at most one outcome per resource, the latest. */
static void replace_queued(mailbox *mb, void *arg)
{
    replace_ctx *c = arg;
    cupi_resource r = c->read->resource;
    msg *m = c->wc->queued[r];
    if (!m || !mailbox_still_queued(mb, c->wc->queued_seq[r]))
        return;
    m->u.read = *c->read;
    stamp(m, c->wc);
    c->done = true;
}

static void io_report(void *arg, void *client, const poller_verdict *v)
{
    (void)arg;
    wclient *wc = client;
    worker_read rd = {.resource = v->resource,
                      .status = v->status,
                      .started_ms = v->started_ms,
                      .read_at = time(NULL)};
    snprintf(rd.why, sizeof rd.why, "%s", v->result->message);
    snprintf(rd.detail, sizeof rd.detail, "%s", v->result->detail);
    if (v->status == CUPI_OK)
        rd.snapshot = v->result->snapshot;
    replace_ctx c = {.wc = wc, .read = &rd};
    mailbox_locked(&to_snmp, replace_queued, &c);
    if (c.done)
        return;
    msg *m = msg_new(FROM_READ, wc->handle);
    if (!m)
        return; /* the next read reports again */
    m->twin = wc;
    m->u.read = rd;
    stamp(m, wc);
    wc->queued[v->resource] = m;
    wc->queued_seq[v->resource] = mailbox_post(&to_snmp, &m->link);
}

static int64_t io_now_ms(void *arg)
{
    (void)arg;
    return agent_now_ms();
}

static time_t io_wall(void *arg)
{
    (void)arg;
    return time(NULL);
}

/* --- requests of the SNMP thread ---------------------------------------------- */

typedef struct call_ctx {
    wclient *wc;
    worker_client *handle;
    call *call;
} call_ctx;

static void call_done(const cupi_result *result, void *arg)
{
    call_ctx ctx = *(call_ctx *)arg;
    free(arg);
    msg *m = msg_new(FROM_DONE, ctx.handle);
    if (!m)
        return; /* cannot happen often enough to matter: the SET expires */
    m->call = ctx.call;
    m->u.result = *result;
    stamp(m, ctx.wc);
    mailbox_post(&to_snmp, &m->link);
}

static void start_call(msg *m)
{
    wclient *wc = m->twin;
    call_ctx *ctx = malloc(sizeof *ctx);
    cupi_status st = CUPI_E_NOMEM;
    if (ctx) {
        *ctx = (call_ctx){.wc = wc, .handle = m->handle, .call = m->call};
        st = m->kind == TO_GET ? cupi_client_get(wc->client, m->resource, call_done, ctx)
                               : cupi_client_put(wc->client, &m->u.changes, call_done, ctx);
    }
    if (st == CUPI_OK)
        return;
    free(ctx);
    cupi_result failed = {.status = st, .resource = m->resource, .is_put = m->kind == TO_PUT};
    snprintf(failed.message, sizeof failed.message, "%s", cupi_status_text(st));
    call_ctx *again = malloc(sizeof *again);
    if (again) {
        *again = (call_ctx){.wc = wc, .handle = m->handle, .call = m->call};
        call_done(&failed, again);
    }
}

static void create_client(msg *m)
{
    wclient *wc = calloc(1, sizeof *wc);
    char err[sizeof m->u.create.err] = "out of memory";
    if (wc)
        wc->client = cupi_client_new(engine, m->u.create.options, err, sizeof err);
    if (wc && !wc->client) {
        free(wc);
        wc = NULL;
    }
    if (wc) {
        wc->handle = m->handle;
        wc->index = m->u.create.index;
    }
    pthread_mutex_lock(&create_lock);
    m->twin = wc;
    if (!wc)
        snprintf(m->u.create.err, sizeof m->u.create.err, "%s", err);
    m->u.create.answered = true;
    pthread_cond_signal(&create_done);
    pthread_mutex_unlock(&create_lock);
}

static void free_client(msg *m)
{
    wclient *wc = m->twin;
    if (wc->entry)
        poller_remove(reads, wc->entry);
    /* Requests still pending complete with CUPI_E_CANCELLED here, before
     * the message that says the client is gone. */
    cupi_client_free(wc->client);
    free(wc);
    msg *freed = msg_new(FROM_FREED, m->handle);
    if (freed) {
        poller_counts(reads, &freed->in_flight, NULL, &freed->waiting);
        mailbox_post(&to_snmp, &freed->link);
    }
}

/* Returns true when m was handed on (the creation message belongs to its
 * waiting sender). */
static bool handle_command(msg *m)
{
    wclient *wc = m->twin;
    switch (m->kind) {
    case TO_NEW:
        create_client(m);
        return true;
    case TO_FREE:
        free_client(m);
        break;
    case TO_POLL:
        if (!wc->entry)
            wc->entry = poller_add(reads, wc->index, wc, m->u.last_ok);
        break;
    case TO_TOUCH:
        if (wc->entry)
            poller_touch(reads, wc->entry, m->resource);
        break;
    case TO_STALE:
        if (wc->entry)
            poller_stale(reads, wc->entry, m->resource);
        break;
    case TO_GET:
    case TO_PUT:
        start_call(m);
        break;
    case TO_HOLD:
        cupi_client_hold_connections(wc->client, m->flag);
        break;
    case TO_CONFIGURE:
        poller_configure(reads, &m->u.settings);
        break;
    case TO_STOP:
        stopping = true;
        break;
    default:
        break;
    }
    return false;
}

static void take_commands(void)
{
    mailbox_msg *batch = mailbox_take(&to_worker, BATCH);
    while (batch) {
        msg *m = (msg *)batch;
        batch = batch->next;
        if (!handle_command(m) && m->kind != TO_STOP)
            free(m);
    }
}

static int wait_ms(void)
{
    long curl_ms = cupi_engine_timeout_ms(engine);
    int64_t due = poller_next_due(reads);
    int64_t wait = curl_ms;
    if (due >= 0) {
        int64_t until = due - agent_now_ms();
        if (until < 0)
            until = 0;
        if (wait < 0 || until < wait)
            wait = until;
    }
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Nice value of the worker thread (Linux threads have their own): when the
 * cores are busy, answering SNMP comes before reading CUPI in the
 * background, which only waits a little longer. */
#define WORKER_NICE 5

static void *worker_main(void *arg)
{
    (void)arg;
    /* Best effort: a failure leaves the thread at the process's priority. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
    struct epoll_event ev[READY_MAX];
    cupi_pollfd ready[READY_MAX];
    int mail_fd = mailbox_fd(&to_worker);
    while (!stopping) {
        int n = epoll_wait(epoll_fd, ev, READY_MAX, wait_ms());
        size_t n_ready = 0;
        bool mail = false;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == mail_fd) {
                mail = true;
                continue;
            }
            /* Errors and hang-ups are for curl to read: report them readable. */
            bool in = ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
            ready[n_ready++] = (cupi_pollfd){.fd = ev[i].data.fd,
                                             .want_read = in,
                                             .want_write = (ev[i].events & EPOLLOUT) != 0};
        }
        if (mail)
            take_commands();
        cupi_engine_dispatch(engine, ready, n_ready);
        poller_run_due(reads);
    }
    return NULL;
}

/* ===== SNMP thread ======================================================== */

static void post(msg *m)
{
    mailbox_post(&to_worker, &m->link);
}

static void cancel_calls(worker_client *h)
{
    for (;;) {
        call *c = h->calls;
        while (c && c->cancelled)
            c = c->next;
        if (!c)
            return;
        c->cancelled = true;
        cupi_result r = {
            .status = CUPI_E_CANCELLED, .resource = c->resource, .is_put = c->is_put};
        snprintf(r.message, sizeof r.message, "request cancelled: client freed");
        if (c->cb)
            c->cb(&r, c->arg);
    }
}

static void forget_call(worker_client *h, call *c)
{
    for (call **link = &h->calls; *link; link = &(*link)->next) {
        if (*link == c) {
            *link = c->next;
            h->n_calls--;
            break;
        }
    }
}

static void handle_outcome(msg *m)
{
    worker_client *h = m->handle;
    seen_in_flight = m->in_flight;
    seen_waiting = m->waiting;
    if (m->kind != FROM_FREED)
        h->stats = m->stats;
    switch (m->kind) {
    case FROM_READ:
        if (!h->dead && read_fn)
            read_fn(h->owner, &m->u.read);
        break;
    case FROM_DONE: {
        call *c = m->call;
        forget_call(h, c);
        if (!c->cancelled && c->cb)
            c->cb(&m->u.result, c->arg);
        free(c);
        break;
    }
    case FROM_FREED:
        while (h->calls) {
            call *c = h->calls;
            h->calls = c->next;
            free(c);
        }
        free(h);
        break;
    default:
        break;
    }
}

static void drain_some(size_t max)
{
    mailbox_msg *batch = mailbox_take(&to_snmp, max);
    while (batch) {
        msg *m = (msg *)batch;
        batch = batch->next;
        handle_outcome(m);
        free(m);
    }
}

void worker_drain(void)
{
    drain_some(BATCH);
}

/* What the worker thread owned, once it is gone (or never started). */
static void free_worker_state(void)
{
    if (epoll_fd >= 0)
        close(epoll_fd);
    epoll_fd = -1;
    poller_free(reads);
    reads = NULL;
    cupi_engine_free(engine);
    engine = NULL;
}

int worker_start(worker_read_fn on_read)
{
    if (running)
        return 0;
    read_fn = on_read;
    stopping = false;
    static const poller_io io = {
        .now_ms = io_now_ms, .wall = io_wall, .start_read = io_start_read, .report = io_report};
    engine = cupi_engine_new();
    reads = poller_new(&io, NULL);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!engine || !reads || epoll_fd < 0 || mailbox_init(&to_worker) != 0)
        goto fail_worker;
    if (mailbox_init(&to_snmp) != 0)
        goto fail_mailbox;
    cupi_engine_watch(engine, watch_socket, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = mailbox_fd(&to_worker)};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) != 0 ||
        agent_io_start(mailbox_fd(&to_snmp), worker_drain) != 0)
        goto fail_both;
    if (pthread_create(&thread, NULL, worker_main, NULL) != 0) {
        agent_io_stop();
        goto fail_both;
    }
    pthread_setname_np(thread, "cupi-worker");
    running = true;
    return 0;
fail_both:
    mailbox_destroy(&to_snmp);
fail_mailbox:
    mailbox_destroy(&to_worker);
fail_worker:
    free_worker_state();
    return -1;
}

void worker_stop(void)
{
    if (!running)
        return;
    static msg stop = {.kind = TO_STOP}; /* never fails to allocate */
    post(&stop);
    pthread_join(thread, NULL);
    running = false;
    agent_io_stop();
    drain_some(SIZE_MAX); /* FROM_FREED of the last clients */
    /* Commands the worker never took (none after TO_STOP in practice). */
    mailbox_msg *left = mailbox_take(&to_worker, SIZE_MAX);
    while (left) {
        mailbox_msg *next = left->next;
        free(left);
        left = next;
    }
    mailbox_destroy(&to_worker);
    mailbox_destroy(&to_snmp);
    free_worker_state();
}

void worker_configure(const worker_settings *s)
{
    msg *m = msg_new(TO_CONFIGURE, NULL);
    if (!m)
        return;
    m->u.settings = *s;
    post(m);
}

worker_client *worker_client_new(const cupi_client_options *o, unsigned index, void *owner,
                                 char *err, size_t errsz)
{
    worker_client *h = calloc(1, sizeof *h);
    msg *m = msg_new(TO_NEW, h);
    if (!h || !m || !running) {
        snprintf(err, errsz, "%s", running ? "out of memory" : "CUPI worker not running");
        free(h);
        free(m);
        return NULL;
    }
    h->owner = owner;
    m->u.create.options = o;
    m->u.create.index = index;
    post(m);
    pthread_mutex_lock(&create_lock);
    while (!m->u.create.answered)
        pthread_cond_wait(&create_done, &create_lock);
    pthread_mutex_unlock(&create_lock);
    h->twin = m->twin;
    if (!h->twin) {
        snprintf(err, errsz, "%s", m->u.create.err);
        free(h);
        h = NULL;
    }
    free(m);
    return h;
}

void worker_client_set_owner(worker_client *c, void *owner)
{
    c->owner = owner;
}

void worker_client_free(worker_client *c)
{
    if (!c || c->dead)
        return;
    c->dead = true;
    cancel_calls(c);
    msg *m = msg_new(TO_FREE, c);
    if (m)
        post(m);
    /* Out of memory: the worker keeps the client until it stops. */
}

/* A command about a live client, or NULL (dead client, out of memory: the
 * command is dropped; every one of them is repeated or moot later). */
static msg *command_for(worker_client *c, msg_kind kind)
{
    return c && !c->dead ? msg_new(kind, c) : NULL;
}

static void post_simple(worker_client *c, msg_kind kind, cupi_resource r)
{
    msg *m = command_for(c, kind);
    if (!m)
        return;
    m->resource = r;
    post(m);
}

void worker_client_poll(worker_client *c, const time_t last_ok[CUPI_RES_COUNT])
{
    msg *m = command_for(c, TO_POLL);
    if (!m)
        return;
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        m->u.last_ok[r] = last_ok ? last_ok[r] : 0;
    post(m);
}

void worker_client_touch(worker_client *c, cupi_resource r, int64_t min_gap_ms)
{
    if (!c)
        return;
    int64_t now = agent_now_ms();
    if (c->touched_ms[r] && now - c->touched_ms[r] < min_gap_ms)
        return;
    c->touched_ms[r] = now;
    post_simple(c, TO_TOUCH, r);
}

void worker_client_stale(worker_client *c, cupi_resource r)
{
    post_simple(c, TO_STALE, r);
}

static cupi_status start_request(worker_client *c, msg_kind kind, cupi_resource r,
                                 const cupi_snapshot *changes, cupi_callback cb, void *arg)
{
    if (!c || c->dead)
        return CUPI_E_CANCELLED;
    msg *m = msg_new(kind, c);
    call *k = calloc(1, sizeof *k);
    if (!m || !k) {
        free(m);
        free(k);
        return CUPI_E_NOMEM;
    }
    *k = (call){.cb = cb, .arg = arg, .resource = r, .is_put = kind == TO_PUT};
    k->next = c->calls;
    c->calls = k;
    c->n_calls++;
    m->call = k;
    m->resource = r;
    if (changes)
        m->u.changes = *changes;
    post(m);
    return CUPI_OK;
}

cupi_status worker_client_get(worker_client *c, cupi_resource r, cupi_callback cb, void *arg)
{
    return start_request(c, TO_GET, r, NULL, cb, arg);
}

cupi_status worker_client_put(worker_client *c, const cupi_snapshot *changes, cupi_callback cb,
                              void *arg)
{
    return start_request(c, TO_PUT, changes->resource, changes, cb, arg);
}

void worker_client_hold(worker_client *c, bool hold)
{
    msg *m = command_for(c, TO_HOLD);
    if (!m)
        return;
    m->flag = hold;
    post(m);
}

void worker_client_stats(const worker_client *c, cupi_client_stats *out)
{
    *out = c->stats;
    out->in_flight = c->n_calls;
}

unsigned worker_client_pending(const worker_client *c)
{
    return c->n_calls;
}

void worker_counts(unsigned *in_flight, unsigned *waiting)
{
    *in_flight = seen_in_flight;
    *waiting = seen_waiting;
}
