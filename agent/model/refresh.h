/* model/refresh.h - the model's side of the background reads: the worker
 * thread reads CUPI on its own schedule (worker/poller.h); this takes its
 * outcomes into the model, starts the reads of every new client and passes
 * on what the SNMP side learns (values too old for a request, values made
 * stale by a SET). */
#ifndef CUPI_AGENT_REFRESH_H
#define CUPI_AGENT_REFRESH_H

#include "model/server.h"

/* Subscribes to the model's events (rows with a new client, values known to
 * be stale). Returns 0 or -1. */
int agent_refresh_start(void);
/* The worker's read outcomes go here (worker_start's callback). */
void agent_refresh_take(void *owner, const worker_read *r);

/* An SNMP request is about to answer from resource r of s: when those
 * values are older than cupiCacheTtl (or were never read), the worker is
 * asked for a read at once. Never waits. */
void agent_refresh_touch(const agent_server *s, cupi_resource r);

/* Background reads in flight and waiting for a place (diagnostics, tests;
 * as of the worker's latest message). */
void agent_refresh_counts(unsigned *in_flight, unsigned *waiting);

#endif
