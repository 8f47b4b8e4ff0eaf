/* cupi_sync.c - blocking helpers for cupictl and tests. They run the same
 * engine as the agent's event loop, so a blocking call behaves exactly like
 * the asynchronous one (queueing, retries, session) and other requests on
 * the engine keep progressing while it waits. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cupi_http_internal.h"

/* Enough for every realistic engine without touching the heap. */
#define WAIT_STACK_FDS 16

static int poll_timeout(const cupi_engine *e, long max_wait_ms)
{
    long t = cupi_engine_timeout_ms(e);
    if (t < 0 || (max_wait_ms >= 0 && max_wait_ms < t))
        t = max_wait_ms;
    if (t > 0x7fffffffL)
        t = 0x7fffffffL;
    return (int)t; /* -1 (wait for a socket) only when both say "no limit" */
}

static size_t to_ready(const struct pollfd *p, size_t n, cupi_pollfd *ready)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].revents)
            continue;
        /* Errors and hang-ups are reported as readable: curl finds out what
         * happened when it reads. */
        bool err = p[i].revents & (POLLERR | POLLHUP | POLLNVAL);
        ready[k].fd = p[i].fd;
        ready[k].want_read = err || (p[i].revents & POLLIN);
        ready[k].want_write = err || (p[i].revents & POLLOUT);
        k++;
    }
    return k;
}

void cupi_engine_wait(cupi_engine *e, long max_wait_ms)
{
    cupi_pollfd fds_stack[WAIT_STACK_FDS];
    struct pollfd pfd_stack[WAIT_STACK_FDS];
    cupi_pollfd *fds = fds_stack;
    struct pollfd *pfd = pfd_stack;

    size_t n = cupi_engine_fds(e, fds, WAIT_STACK_FDS);
    if (n > WAIT_STACK_FDS) {
        fds = malloc(n * sizeof *fds);
        pfd = malloc(n * sizeof *pfd);
        if (!fds || !pfd) {
            /* Still make progress on timers rather than spin or hang. */
            free(fds);
            free(pfd);
            cupi_engine_dispatch(e, NULL, 0);
            return;
        }
        n = cupi_engine_fds(e, fds, n);
    }
    for (size_t i = 0; i < n; i++) {
        pfd[i].fd = fds[i].fd;
        pfd[i].events =
            (short)((fds[i].want_read ? POLLIN : 0) | (fds[i].want_write ? POLLOUT : 0));
        pfd[i].revents = 0;
    }
    int timeout = poll_timeout(e, max_wait_ms);
    if (n == 0 && timeout < 0)
        timeout = 0; /* nothing could ever wake us */
    int rc = poll(pfd, (nfds_t)n, timeout);
    size_t n_ready = rc > 0 ? to_ready(pfd, n, fds) : 0;
    cupi_engine_dispatch(e, fds, n_ready);
    if (fds != fds_stack) {
        free(fds);
        free(pfd);
    }
}

typedef struct sync_wait {
    bool done;
    cupi_result *out;
} sync_wait;

static void sync_done(const cupi_result *result, void *arg)
{
    sync_wait *w = arg;
    *w->out = *result;
    w->done = true;
}

static cupi_status run_until_done(cupi_client *c, sync_wait *w)
{
    cupi_engine *e = c->engine;
    /* Every attempt is bounded by timeout_ms and retries by max_retries, so
     * this loop ends; the 1 s cap only bounds a single poll(). */
    while (!w->done)
        cupi_engine_wait(e, 1000);
    return w->out->status;
}

static void refused(cupi_result *out, cupi_status st, cupi_resource r, bool is_put)
{
    memset(out, 0, sizeof *out);
    out->status = st;
    out->resource = r;
    out->is_put = is_put;
    out->snapshot.resource = r;
    strcpy(out->message, st == CUPI_E_NOMEM ? "out of memory" : "request refused");
}

cupi_status cupi_get_sync(cupi_client *c, cupi_resource r, cupi_result *out)
{
    cupi_result scratch;
    if (!out)
        out = &scratch;
    sync_wait w = {.done = false, .out = out};
    cupi_status st = cupi_client_get(c, r, sync_done, &w);
    if (st != CUPI_OK) {
        refused(out, st, r, false);
        return st;
    }
    return run_until_done(c, &w);
}

cupi_status cupi_put_sync(cupi_client *c, const cupi_snapshot *changes, cupi_result *out)
{
    cupi_result scratch;
    if (!out)
        out = &scratch;
    sync_wait w = {.done = false, .out = out};
    cupi_status st = cupi_client_put(c, changes, sync_done, &w);
    if (st != CUPI_OK) {
        refused(out, st, changes ? changes->resource : CUPI_RES_SERVER, true);
        return st;
    }
    return run_until_done(c, &w);
}
