/* model/refresh.h - the background reads that keep the model's values
 * current, scheduled so that a fleet never reads in lockstep.
 *
 * Each resource of each server is read every cupiPollInterval at a phase of
 * its own (hashed from the server's INDEX, so it is the same after every
 * restart), and at most cupiMaxRefreshes reads are in flight across all
 * servers; the others wait their turn. The first reads after start or after
 * a reload come sooner, spread over a window that grows with the fleet (100
 * servers a second); the reads after them take their places in the period.
 * An SNMP read of values older than
 * cupiCacheTtl asks for a read at once (agent_refresh_touch).
 *
 * A transport error or a timeout is tried again once, 1 to 2 s later; only
 * cupiUnreachableAfter failed reads in a row (or values older than
 * cupiMaxDataAge) make the server unreachable, so a dropped connection or a
 * lost packet never becomes a notification. Recovery counts at once. */
#ifndef CUPI_AGENT_REFRESH_H
#define CUPI_AGENT_REFRESH_H

#include "model/server.h"

/* Subscribes to the model's events (rows with a new client, rows removed,
 * values known to be stale). Returns 0 or -1. */
int agent_refresh_start(void);
void agent_refresh_stop(void);

/* An SNMP request is about to answer from resource r of s: when those
 * values are older than cupiCacheTtl (or were never read) and no read of
 * them is due sooner, one starts now. Never waits. */
void agent_refresh_touch(const agent_server *s, cupi_resource r);

/* Background reads in flight and waiting for a free place (diagnostics,
 * tests). */
void agent_refresh_counts(unsigned *in_flight, unsigned *waiting);

#endif
