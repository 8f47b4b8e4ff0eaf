/* loop/io.c - the cupi_engine inside net-snmp's select loop.
 *
 * All CUPI sockets sit in one epoll set, and only the epoll descriptor is
 * given to net-snmp's fd event manager: its table holds 32 descriptors per
 * direction for the whole process (snmpd's other modules included), which
 * many servers times cupiMaxConcurrent would exceed. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "loop/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Sockets handled per turn of net-snmp's loop. A ready TLS socket can mean a
 * handshake step of a millisecond or two of CPU; a fleet starting up has
 * dozens ready at once. The epoll descriptor stays readable while any are
 * left, so the loop comes straight back for them after answering SNMP. */
#define READY_BATCH 8

static cupi_engine *engine;
static int epoll_fd = -1;
static cupi_pollfd *watched; /* what the epoll set holds */
static size_t n_watched;
static unsigned timer_id;

static uint32_t epoll_events(const cupi_pollfd *p)
{
    return (p->want_read ? EPOLLIN : 0) | (p->want_write ? EPOLLOUT : 0);
}

static void on_epoll_ready(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    struct epoll_event ev[READY_BATCH];
    int n = epoll_wait(epoll_fd, ev, READY_BATCH, 0);
    cupi_pollfd ready[READY_BATCH];
    size_t n_ready = 0;
    for (int i = 0; i < n; i++) {
        /* Errors and hang-ups are for curl to read: report them readable. */
        bool in = ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
        ready[n_ready++] = (cupi_pollfd){
            .fd = ev[i].data.fd, .want_read = in, .want_write = (ev[i].events & EPOLLOUT) != 0};
    }
    cupi_engine_dispatch(engine, ready, n_ready);
    agent_io_sync();
}

static void on_timer(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    timer_id = 0;
    cupi_engine_dispatch(engine, NULL, 0);
    agent_io_sync();
}

static bool wanted(const cupi_pollfd *want, size_t n, int fd)
{
    for (size_t i = 0; i < n; i++)
        if (want[i].fd == fd)
            return true;
    return false;
}

/* Re-states every wanted descriptor (MOD, or ADD when the set lost it):
 * curl may close a socket and get the same number back for a new one, which
 * epoll dropped on close; comparing numbers alone would miss that. */
static void sync_sockets(void)
{
    size_t n = cupi_engine_fds(engine, NULL, 0);
    cupi_pollfd *want = n ? calloc(n, sizeof *want) : NULL;
    if (n && !want) {
        snmp_log(LOG_ERR, "cupi: out of memory watching CUPI sockets\n");
        return;
    }
    n = cupi_engine_fds(engine, want, n);
    for (size_t i = 0; i < n_watched; i++)
        if (!wanted(want, n, watched[i].fd))
            epoll_ctl(epoll_fd, EPOLL_CTL_DEL, watched[i].fd, NULL);
    for (size_t i = 0; i < n; i++) {
        struct epoll_event ev = {.events = epoll_events(&want[i]), .data.fd = want[i].fd};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, want[i].fd, &ev) != 0 && errno == ENOENT &&
            epoll_ctl(epoll_fd, EPOLL_CTL_ADD, want[i].fd, &ev) != 0)
            snmp_log(LOG_ERR, "cupi: cannot watch socket %d: %s\n", want[i].fd,
                     strerror(errno));
    }
    free(watched);
    watched = want;
    n_watched = n;
}

static void sync_timer(void)
{
    if (timer_id) {
        snmp_alarm_unregister(timer_id);
        timer_id = 0;
    }
    long ms = cupi_engine_timeout_ms(engine);
    if (ms < 0)
        return;
    if (ms < 1)
        ms = 1; /* a zero alarm would mean "no timeout" to net-snmp */
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    timer_id = snmp_alarm_register_hr(tv, 0, on_timer, NULL);
}

void agent_io_sync(void)
{
    if (!engine)
        return;
    sync_sockets();
    sync_timer();
}

int agent_io_start(cupi_engine *e)
{
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        snmp_log(LOG_ERR, "cupi: cannot set up the CUPI socket set: %s\n", strerror(errno));
        return -1;
    }
    if (register_readfd(epoll_fd, on_epoll_ready, NULL) != FD_REGISTERED_OK) {
        snmp_log(LOG_ERR, "cupi: net-snmp has no room for the CUPI socket set\n");
        close(epoll_fd);
        epoll_fd = -1;
        return -1;
    }
    engine = e;
    agent_io_sync();
    return 0;
}

void agent_io_stop(void)
{
    if (epoll_fd >= 0) {
        unregister_readfd(epoll_fd);
        close(epoll_fd);
    }
    epoll_fd = -1;
    free(watched);
    watched = NULL;
    n_watched = 0;
    if (timer_id)
        snmp_alarm_unregister(timer_id);
    timer_id = 0;
    engine = NULL;
}
