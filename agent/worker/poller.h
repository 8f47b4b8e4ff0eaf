/* worker/poller.h - the background reads of a fleet: when each resource of
 * each server is read, how many reads work at once, how a failure is
 * retried and when failures make a server unreachable. Runs on the CUPI
 * worker thread; pure logic behind poller_io, so unit tests drive it with
 * a fake clock and fake reads.
 *
 * Schedule. Each resource is read every poll interval at a phase of its
 * own (hashed from the server's index: the same after every restart). The
 * first reads after a server is added come sooner, spread over a window
 * that grows with the fleet (100 servers a second); an asked-for read (an
 * SNMP request found the values older than the cache TTL) comes at once,
 * spaced from other asked-for reads.
 *
 * Fairness. max_refreshes bounds the reads doing work at once (connecting,
 * handshaking, sending): a read holds its place until it is answered or
 * for POLLER_PLACE_MS at most, so that reads waiting on a silent peer never
 * keep a healthy server's read waiting. A server whose last read failed is
 * probed with one request at a time until it answers.
 *
 * Verdicts. A transport error or timeout is tried again once, 1 to 2 s
 * later; only unreachable_after failed reads in a row (or values older than
 * max_data_age_s) are reported as a failure. Successes and other failures
 * are reported at once. */
#ifndef CUPI_WORKER_POLLER_H
#define CUPI_WORKER_POLLER_H

#include <cupi/cupi.h>

#include "loop/deadline_heap.h"

#include <stdint.h>
#include <time.h>

/* How long a read may hold one of the max_refreshes places: a CUPI server
 * that answers at all answers a GET within this on a LAN; past it the read
 * is waiting on its peer, not working here. */
#define POLLER_PLACE_MS 250

typedef struct poller poller;
typedef struct poller_entry poller_entry;

typedef struct poller_settings {
    unsigned poll_interval_s;   /* >= 1 */
    unsigned cache_ttl_s;       /* asked-for reads at most once per TTL */
    unsigned max_refreshes;     /* reads working at once, all servers; >= 1 */
    unsigned unreachable_after; /* failed reads in a row before reported; >= 1 */
    unsigned max_data_age_s;    /* or values older than this; 0: no limit */
} poller_settings;

/* What the poller reports to its owner. */
typedef struct poller_verdict {
    cupi_resource resource;
    cupi_status status;        /* CUPI_OK, or the failure to report */
    const cupi_result *result; /* the read's own result (values, message) */
    int64_t started_ms;        /* monotonic: when the reported read started */
    unsigned misses;           /* failed reads in a row (0 on success) */
} poller_verdict;

typedef struct poller_io {
    int64_t (*now_ms)(void *arg); /* monotonic milliseconds */
    time_t (*wall)(void *arg);    /* the wall clock, for data ages */
    /* Starts a read of r for the entry's client. 0: its outcome comes
     * later through poller_read_done(); -1: not started (tried again a
     * second later). */
    int (*start_read)(void *arg, poller_entry *e, void *client, cupi_resource r,
                      uint32_t ticket);
    void (*report)(void *arg, void *client, const poller_verdict *v);
} poller_io;

/* NULL when out of memory. io is copied; arg is passed to every call. */
poller *poller_new(const poller_io *io, void *arg);
/* Frees the poller and every entry still in it (no callbacks). */
void poller_free(poller *p);
void poller_configure(poller *p, const poller_settings *s);

/* Starts reading client (first reads soon). last_ok gives the wall-clock
 * time of the values the owner already holds per resource (0: none), for
 * max_data_age_s. NULL when out of memory. */
poller_entry *poller_add(poller *p, unsigned index, void *client,
                         const time_t last_ok[CUPI_RES_COUNT]);
/* Stops reading it; an outcome still to come is ignored. */
void poller_remove(poller *p, poller_entry *e);
/* The outcome of a read started with ticket (result is only read). */
void poller_read_done(poller *p, poller_entry *e, cupi_resource r, uint32_t ticket,
                      const cupi_result *result);
/* An SNMP request found r's values too old: read at once unless a read is
 * under way, due sooner, or was started less than cache_ttl_s ago. */
void poller_touch(poller *p, poller_entry *e, cupi_resource r);
/* r's values are known to be stale (a SET held the row): read it again a
 * moment later unless a read is under way. */
void poller_stale(poller *p, poller_entry *e, cupi_resource r);

/* The earliest deadline (monotonic ms), -1 when none; and firing them. */
int64_t poller_next_due(const poller *p);
void poller_run_due(poller *p);

/* Reads in flight, holding a place, and waiting for one. */
void poller_counts(const poller *p, unsigned *in_flight, unsigned *working, unsigned *waiting);

#endif
