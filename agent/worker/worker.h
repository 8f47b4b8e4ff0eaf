/* worker/worker.h - the CUPI worker thread and its handles on the SNMP
 * thread.
 *
 * The worker owns libcurl's multi handle (libcupi's engine), every CUPI
 * client, TLS, decoding and validation of CUPI's answers, and the read
 * schedule with its retries and verdicts (worker/poller.h). It never calls
 * net-snmp. The SNMP thread owns the model and net-snmp; it talks to the
 * worker only through the functions below, which post messages and never
 * wait on the network. Answers come back as messages drained by a callback
 * that loop/io.c registers in net-snmp's loop; a message is immutable once
 * handed over, and nothing is shared but the two mailboxes.
 *
 * Everything here is called on the SNMP thread. */
#ifndef CUPI_WORKER_H
#define CUPI_WORKER_H

#include <cupi/cupi.h>

#include "worker/poller.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The SNMP thread's handle on one CUPI client living on the worker. */
typedef struct worker_client worker_client;

/* A background read's outcome as the worker judged it (transient
 * failures already retried; see worker/poller.h). */
typedef struct worker_read {
    cupi_resource resource;
    cupi_status status;     /* CUPI_OK, or the failure to report */
    char why[256];          /* CUPI's message or the field refused; "" on success */
    char detail[256];       /* libcurl's own words on a transport or TLS
                               failure (addresses, measured times): for the
                               log only, never an SNMP value; "" otherwise */
    cupi_snapshot snapshot; /* values when status is CUPI_OK */
    int64_t started_ms;     /* monotonic: when the read started */
    time_t read_at;         /* wall clock: when the worker had the answer */
} worker_read;

/* Called for every background read outcome, with the owner given to
 * worker_client_new. */
typedef void (*worker_read_fn)(void *owner, const worker_read *r);

/* The read schedule's settings, handed to the worker's poller as they are. */
typedef poller_settings worker_settings;

/* Starts the thread and hands its mailbox to loop/io.c. 0, or -1 (the
 * caller logs). */
int worker_start(worker_read_fn on_read);
/* Stops and joins the thread; every handle must have been freed. */
void worker_stop(void);
void worker_configure(const worker_settings *s);

/* Takes up to a batch of the worker's messages and acts on them (read
 * outcomes, request completions); loop/io.c calls it when the mailbox is
 * readable, tests may call it directly. */
void worker_drain(void);

/* Creates a client on the worker: a short wait for the worker's answer (no
 * network I/O happens in it). NULL with err filled on bad options. */
worker_client *worker_client_new(const cupi_client_options *o, unsigned index, void *owner,
                                 char *err, size_t errsz);
/* The owner handed to worker_read_fn from now on. */
void worker_client_set_owner(worker_client *c, void *owner);
/* Pending requests' callbacks run now with CUPI_E_CANCELLED; the worker
 * then frees its client. No background read outcome comes after this. */
void worker_client_free(worker_client *c);
/* Starts the background reads (first reads soon); last_ok: wall-clock
 * times of the values already held per resource (0: none). */
void worker_client_poll(worker_client *c, const time_t last_ok[CUPI_RES_COUNT]);
/* An SNMP request found r's values too old. A walk asks for every column of
 * every row: the worker hears of it at most once per min_gap_ms (it spaces
 * and bounds the reads itself). */
void worker_client_touch(worker_client *c, cupi_resource r, int64_t min_gap_ms);
void worker_client_stale(worker_client *c, cupi_resource r);
/* As cupi_client_get / _put: cb runs later on this thread, once. */
cupi_status worker_client_get(worker_client *c, cupi_resource r, cupi_callback cb, void *arg);
cupi_status worker_client_put(worker_client *c, const cupi_snapshot *changes, cupi_callback cb,
                              void *arg);
void worker_client_hold(worker_client *c, bool hold);
/* The counters as of the worker's latest message about this client. */
void worker_client_stats(const worker_client *c, cupi_client_stats *out);
/* Requests of this client the SNMP thread still waits for. */
unsigned worker_client_pending(const worker_client *c);

/* The background reads in flight and waiting (as of the worker's latest
 * message). */
void worker_counts(unsigned *in_flight, unsigned *waiting);

#endif
