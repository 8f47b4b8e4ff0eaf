/* agent_io.c - the cupi_engine inside net-snmp's select loop. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent_io.h"

#include <string.h>

/* net-snmp's fd event manager holds NUM_EXTERNAL_FDS (32) per direction;
 * leave room for other modules when running inside snmpd. */
#define MAX_WATCHED 24

static cupi_engine *engine;
static cupi_pollfd watched[MAX_WATCHED];
static size_t n_watched;
static unsigned timer_id;

static void on_ready(int fd, bool readable, bool writable)
{
    cupi_pollfd ready = {.fd = fd, .want_read = readable, .want_write = writable};
    cupi_engine_dispatch(engine, &ready, 1);
    agent_io_sync();
}

static void on_readable(int fd, void *arg)
{
    (void)arg;
    on_ready(fd, true, false);
}

static void on_writable(int fd, void *arg)
{
    (void)arg;
    on_ready(fd, false, true);
}

static void on_timer(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    timer_id = 0;
    cupi_engine_dispatch(engine, NULL, 0);
    agent_io_sync();
}

static void unwatch_all(void)
{
    for (size_t i = 0; i < n_watched; i++) {
        if (watched[i].want_read)
            unregister_readfd(watched[i].fd);
        if (watched[i].want_write)
            unregister_writefd(watched[i].fd);
    }
    n_watched = 0;
}

void agent_io_sync(void)
{
    if (!engine)
        return;
    cupi_pollfd want[MAX_WATCHED];
    size_t n = cupi_engine_fds(engine, want, MAX_WATCHED);
    /* This runs on every socket event: say it for a new peak only. */
    static size_t reported_peak;
    if (n > MAX_WATCHED && n > reported_peak) {
        snmp_log(LOG_WARNING, "cupi: %zu sockets open, watching the first %d\n", n,
                 MAX_WATCHED);
        reported_peak = n;
    }
    if (n > MAX_WATCHED)
        n = MAX_WATCHED;
    unwatch_all();
    for (size_t i = 0; i < n; i++) {
        if (want[i].want_read && register_readfd(want[i].fd, on_readable, NULL) != FD_REGISTERED_OK)
            want[i].want_read = false;
        if (want[i].want_write &&
            register_writefd(want[i].fd, on_writable, NULL) != FD_REGISTERED_OK)
            want[i].want_write = false;
        watched[n_watched++] = want[i];
    }

    if (timer_id) {
        snmp_alarm_unregister(timer_id);
        timer_id = 0;
    }
    long ms = cupi_engine_timeout_ms(engine);
    if (ms >= 0) {
        if (ms < 1)
            ms = 1; /* a zero alarm would mean "no timeout" to net-snmp */
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        timer_id = snmp_alarm_register_hr(tv, 0, on_timer, NULL);
    }
}

void agent_io_start(cupi_engine *e)
{
    engine = e;
    agent_io_sync();
}

void agent_io_stop(void)
{
    unwatch_all();
    if (timer_id)
        snmp_alarm_unregister(timer_id);
    timer_id = 0;
    engine = NULL;
}
