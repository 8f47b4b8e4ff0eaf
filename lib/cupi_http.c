/* cupi_http.c - the engine: one curl multi handle driven through the socket
 * API, so that the caller's event loop (the agent's, mirroring net-snmp's)
 * owns all waiting and libcupi never blocks it.
 *
 * Callbacks of finished requests are queued on the engine and run at the end
 * of cupi_engine_dispatch(), after curl has returned: a callback may then
 * queue new requests, or free any client (its own included), without curl or
 * the engine being in the middle of something. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "cupi_http_internal.h"

cupi_status cupi_global_init(void)
{
    if (cupi_secret_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return CUPI_E_NOMEM;
    cupi_secret_hook_parsers();
    xmlInitParser();
    return CUPI_OK;
}

void cupi_global_cleanup(void)
{
    xmlCleanupParser();
    curl_global_cleanup();
}

/* --- request lists -------------------------------------------------------- */

void cupi_req_push(cupi_req_list *l, cupi_request *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

cupi_request *cupi_req_pop(cupi_req_list *l)
{
    cupi_request *r = l->head;
    if (!r)
        return NULL;
    l->head = r->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    r->next = NULL;
    return r;
}

/* --- curl's view of sockets and time --------------------------------------- */

static size_t sock_find(const cupi_engine *e, curl_socket_t fd)
{
    for (size_t i = 0; i < e->n_socks; i++)
        if (e->socks[i].fd == fd)
            return i;
    return SIZE_MAX;
}

static int sock_add(cupi_engine *e, curl_socket_t fd, int what)
{
    if (e->n_socks == e->cap_socks) {
        size_t cap = e->cap_socks ? e->cap_socks * 2 : 8;
        struct cupi_engine_sock *s = realloc(e->socks, cap * sizeof *s);
        if (!s)
            return -1; /* curl fails the transfer rather than lose the socket */
        e->socks = s;
        e->cap_socks = cap;
    }
    e->socks[e->n_socks].fd = fd;
    e->socks[e->n_socks].what = what;
    e->n_socks++;
    return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    cupi_engine *e = userp;
    if (e->watch)
        e->watch((int)fd, what == CURL_POLL_IN || what == CURL_POLL_INOUT,
                 what == CURL_POLL_OUT || what == CURL_POLL_INOUT, what == CURL_POLL_REMOVE,
                 e->watch_arg);
    size_t i = sock_find(e, fd);
    if (what == CURL_POLL_REMOVE) {
        if (i != SIZE_MAX)
            e->socks[i] = e->socks[--e->n_socks];
        return 0;
    }
    if (i != SIZE_MAX) {
        e->socks[i].what = what;
        return 0;
    }
    return sock_add(e, fd, what);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    cupi_engine *e = userp;
    e->curl_deadline_ms = timeout_ms < 0 ? -1 : cupi_now_ms() + timeout_ms;
    return 0;
}

/* --- engine --------------------------------------------------------------- */

cupi_engine *cupi_engine_new(void)
{
    cupi_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->curl_deadline_ms = -1;
    e->multi = curl_multi_init();
    if (!e->multi) {
        free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    return e;
}

void cupi_engine_watch(cupi_engine *e, cupi_socket_fn fn, void *arg)
{
    e->watch = fn;
    e->watch_arg = arg;
}

void cupi_engine_free(cupi_engine *e)
{
    if (!e)
        return;
    /* The header asks for clients to be freed first; freeing stragglers here
     * still runs their callbacks (cancelled) and avoids leaking them. */
    while (e->clients)
        cupi_client_free(e->clients);
    curl_multi_cleanup(e->multi);
    free(e->socks);
    free(e);
}

/* curl's default cache holds four connections per easy handle in the multi
 * at that moment, and only a few are in it between refreshes: the kept
 * connections of idle clients would be closed to make room. Room for one
 * per client keeps them (an idle client keeps one, see
 * cupi_transfer_release), plus CONNECTION_SLACK for the few clients busy
 * with concurrent requests (a SET) at any moment; connections closed after
 * use never wait in the cache, so this is a bound, not an allocation. */
#define CONNECTION_SLACK 8

void cupi_engine_reserve_connections(cupi_engine *e, long delta)
{
    e->connection_room += delta;
    long room = (e->connection_room > 0 ? e->connection_room : 0) + CONNECTION_SLACK;
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, room);
}

void cupi_engine_link_client(cupi_engine *e, cupi_client *c)
{
    c->next = e->clients;
    e->clients = c;
}

void cupi_engine_unlink_client(cupi_engine *e, cupi_client *c)
{
    for (cupi_client **p = &e->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            c->next = NULL;
            return;
        }
    }
}

void cupi_engine_take_done(cupi_engine *e, const cupi_client *c, cupi_req_list *out)
{
    cupi_req_list keep = {0};
    cupi_request *r;
    while ((r = cupi_req_pop(&e->done)))
        cupi_req_push(r->client == c ? out : &keep, r);
    e->done = keep;
}

size_t cupi_engine_fds(const cupi_engine *e, cupi_pollfd *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_socks; i++) {
        int what = e->socks[i].what;
        if (what == CURL_POLL_NONE)
            continue;
        if (n < max && out) {
            out[n].fd = (int)e->socks[i].fd;
            out[n].want_read = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
            out[n].want_write = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
        }
        n++;
    }
    return n;
}

static int64_t earlier(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

long cupi_engine_timeout_ms(const cupi_engine *e)
{
    if (e->done.n)
        return 0;
    int64_t deadline = e->curl_deadline_ms;
    for (const cupi_client *c = e->waiting; c; c = c->waiting_next)
        deadline = earlier(deadline, cupi_client_next_retry(c));
    if (deadline < 0)
        return -1;
    int64_t left = deadline - cupi_now_ms();
    if (left <= 0)
        return 0;
    return left > LONG_MAX ? LONG_MAX : (long)left;
}

bool cupi_engine_busy(const cupi_engine *e)
{
    return e->done.n || e->n_active || e->waiting;
}

static bool curl_timer_due(const cupi_engine *e)
{
    return e->curl_deadline_ms >= 0 && e->curl_deadline_ms <= cupi_now_ms();
}

static void collect_finished(cupi_engine *e)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        /* m is invalid once the handle leaves the multi: copy first. */
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        cupi_transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
        if (t)
            cupi_client_transfer_done(t, rc, cupi_now_ms());
    }
}

static void deliver_callbacks(cupi_engine *e)
{
    cupi_request *r;
    while ((r = cupi_req_pop(&e->done))) {
        if (r->cb)
            r->cb(&r->result, r->arg);
        cupi_request_free(r);
    }
}

void cupi_engine_dispatch(cupi_engine *e, const cupi_pollfd *ready, size_t n_ready)
{
    int running;
    for (size_t i = 0; ready && i < n_ready; i++) {
        int ev = (ready[i].want_read ? CURL_CSELECT_IN : 0) |
                 (ready[i].want_write ? CURL_CSELECT_OUT : 0);
        if (ev)
            curl_multi_socket_action(e->multi, ready[i].fd, ev, &running);
    }
    /* A few rounds so that a slot freed by a finished transfer is refilled
     * and the new transfer started (curl asks for an immediate timeout on
     * every added handle) within this one call. */
    for (int round = 0; round < 4; round++) {
        if (curl_timer_due(e))
            curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        collect_finished(e);
        int64_t now = cupi_now_ms();
        /* Only clients with waiting requests: a slot freed by a finished
         * transfer or a retry come due matters to no other. A pump may
         * take c out of the list, never another. */
        for (cupi_client *c = e->waiting, *next; c; c = next) {
            next = c->waiting_next;
            cupi_client_pump(c, now);
        }
        if (!curl_timer_due(e))
            break;
    }
    /* curl acts on an expired timer without always calling the timer
     * callback again: left as it is, the deadline stays in the past and a
     * caller waiting for cupi_engine_timeout_ms() would never sleep. Ask
     * curl for the real one. */
    long ms;
    if (curl_timer_due(e) && curl_multi_timeout(e->multi, &ms) == CURLM_OK)
        e->curl_deadline_ms = ms < 0 ? -1 : cupi_now_ms() + ms;
    deliver_callbacks(e);
}
