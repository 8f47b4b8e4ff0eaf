/* model/server.h - the agent's model of one configured CUPI server: its
 * client, the last values read of both resources, status and counters.
 *
 * Everything here runs on the SNMP thread. MIB handlers only read this
 * memory; CUPI I/O runs on the worker thread (worker/worker.h), whose
 * outcomes this model takes when the SNMP loop drains them. */
#ifndef CUPI_AGENT_SERVER_H
#define CUPI_AGENT_SERVER_H

#include <cupi/cupi.h>

#include "agent_config.h"

#include "loop/timer.h"
#include "worker/read_check.h"
#include "worker/worker.h"

#include <stdint.h>
#include <time.h>

/* cupiServerStatus values (CUPI-SMTP-MIB). */
typedef enum agent_status {
    AGENT_STATUS_UNKNOWN = 1,
    AGENT_STATUS_OK = 2,
    AGENT_STATUS_UNREACHABLE = 3,
    AGENT_STATUS_AUTH_FAILED = 4,
    AGENT_STATUS_TLS_FAILED = 5,
    AGENT_STATUS_NOT_SUPPORTED = 6,
    AGENT_STATUS_BUSY = 7,
    AGENT_STATUS_BAD_RESPONSE = 8,
} agent_status;

/* cupiServerLastChangeSource values. */
typedef enum agent_change_source {
    AGENT_SOURCE_NONE = 1,
    AGENT_SOURCE_EXTERNAL = 2,
    AGENT_SOURCE_SNMP = 3,
} agent_change_source;

struct agent_server;

typedef struct agent_resource {
    struct agent_server *owner;
    cupi_resource which;
    bool valid;           /* values known: read from CUPI or the state file */
    cupi_snapshot snap;   /* never holds a write-only value */
    time_t read_at;       /* wall-clock time CUPI returned these values */
    int64_t committed_ms; /* monotonic time of the last SET commit: reads
                             started before it are stale */
    bool failing;         /* its last refresh failed (until one succeeds) */
    /* A SET's PUT whose outcome was unknown and that had not applied when
     * read back: a later read showing exactly these values is that SET's
     * change (source snmp), not someone else's, until late_put_until. */
    cupi_snapshot *late_put; /* NULL: none expected (rare: kept off the row) */
    time_t late_put_until;   /* monotonic seconds */
    cupi_status fail_status; /* ... with this status and message */
    char fail_message[256];
} agent_resource;

typedef struct agent_server {
    cupi_server_config cfg; /* owned copy */
    worker_client *client;
    worker_client *retired; /* replaced by a reload while a SET used it: kept
                               until the SET ends so its PUT is not cut off */
    agent_resource res[CUPI_RES_COUNT];
    agent_status status;
    char last_error[256];
    uint32_t requests_base; /* counters of clients replaced by a reload */
    uint32_t failures_base;
    uint32_t config_changes;
    uint32_t last_change_ticks; /* sysUpTime (centiseconds) of the last change */
    agent_change_source last_change_source;
    unsigned pending_sets;     /* SET transactions holding this row */
    agent_timer retire_timer;  /* frees retired once no SET holds the row,
                                  and the row itself when it is leaving */
    bool keeps_connections;    /* its client keeps connections between reads */
    bool leaving;              /* removed by a reload while a SET held it: goes when the
                                  SET ends, so that what the SET did at CUPI is recorded */
    worker_client *held;       /* the client a SET holds connections of, or NULL */
    struct agent_server *next; /* sorted by cfg.index */
} agent_server;

/* --- events ----------------------------------------------------------------
 * The model tells what happened to it; notifications, the state file and
 * the change history subscribe at start instead of being called from here. */
typedef enum agent_event_type {
    AGENT_EVENT_VALUES,  /* a resource's values were taken (read, SET, state file) */
    AGENT_EVENT_STATUS,  /* cupiServerStatus changed */
    AGENT_EVENT_ADDED,   /* a row appeared (configuration) */
    AGENT_EVENT_REMOVED, /* a row is about to go (configuration) */
    AGENT_EVENT_MOVED,   /* a row now names another URL: its values were forgotten */
    AGENT_EVENT_CLIENT,  /* a row has a new CUPI client (added, or its settings changed) */
    AGENT_EVENT_STALE,   /* a resource's values are known to be out of date: read it */
} agent_event_type;

typedef struct agent_event {
    agent_event_type type;
    agent_server *server;
    /* AGENT_EVENT_VALUES, AGENT_EVENT_STALE: */
    cupi_resource resource;
    uint32_t changed;            /* columns whose value changed; 0 when none or first */
    bool first;                  /* the resource had no values before */
    agent_change_source source;  /* who changed them (NONE: loaded from the state file) */
    const cupi_snapshot *before; /* the values replaced; NULL when first */
    /* AGENT_EVENT_STATUS: */
    agent_status old_status; /* the new one is server->status */
} agent_event;

typedef void (*agent_event_fn)(const agent_event *ev, void *arg);

/* Adds a subscriber; all of them see every event, in the order they
 * subscribed, inside the operation that caused it. A subscriber must not
 * call back into operations that publish. Returns 0, or -1 when full. */
int agent_server_subscribe(agent_event_fn fn, void *arg);
void agent_server_unsubscribe_all(void);

/* The module's global settings (from cupi_config). */
typedef struct agent_settings {
    unsigned poll_interval_s; /* background read period of each resource */
    unsigned cache_ttl_s;     /* an SNMP read of older values starts a read */
    long timeout_ms;
    long connect_timeout_ms;
    unsigned max_concurrent; /* per server */
    bool notifications;
    /* (the read schedule's own settings live in the worker) */
} agent_settings;

extern agent_settings agent_cfg;

/* The rows in index order. Lookups are O(log n). */
agent_server *agent_servers_first(void);
agent_server *agent_server_find(unsigned index);
/* The first row after index (GETNEXT), or NULL. */
agent_server *agent_server_next(unsigned index);
size_t agent_servers_count(void);
/* The row at position pos (0 .. count-1) in index order, or NULL. */
agent_server *agent_server_at(size_t pos);
/* Position of the first row whose index is >= index; count when none. */
size_t agent_server_position(unsigned index);

/* Applies a configuration: servers added, removed or changed (a changed
 * server keeps its values and counters, gets a new client). Takes nothing
 * from cfg; copies what it needs. Returns 0 or -1 (logged). */
int agent_servers_apply(const cupi_config *cfg);
void agent_servers_clear(void);

/* Seconds since the oldest of the values served were read, UINT32_MAX when
 * nothing was ever read. */
uint32_t agent_server_data_age(const agent_server *s);
void agent_server_counters(const agent_server *s, uint32_t *requests, uint32_t *failures);

/* Values loaded from the state file, read from CUPI at read_at (wall
 * clock); ignored when the resource already has values (CUPI answered
 * first, and is fresher). Publishes AGENT_EVENT_VALUES with source NONE. */
void agent_server_restore(agent_server *s, const cupi_snapshot *snap, time_t read_at);
/* The outcome of a background read (worker/worker.h): values (taken with
 * source external, as read at r->read_at, unless a SET committed after the
 * read started) or a failure that the server's status reflects until a
 * read of that resource succeeds. */
void agent_server_take_read(agent_server *s, const worker_read *r);
/* Takes a successful read of a resource into the model: diff, counters,
 * event with the given source. Used by refreshes and SETs; a SET
 * passes in also_changed the write-only columns it wrote, which no read can
 * see. Returns the mask of changed columns. */
uint32_t agent_server_take_values(agent_server *s, const cupi_snapshot *snap,
                                  agent_change_source source, uint32_t also_changed);
/* The same, for values CUPI returned at read_at (wall clock), not now. */
uint32_t agent_server_take_values_at(agent_server *s, const cupi_snapshot *snap,
                                     agent_change_source source, uint32_t also_changed,
                                     time_t read_at);
/* A SET transaction holds the row from its first varbind to its end: while
 * held, background reads of the row are not taken (the SET's own reads are
 * newer). Every begin is matched by one end. */
void agent_server_set_begin(agent_server *s);
void agent_server_set_end(agent_server *s);
/* A SET's read-back after its PUT: the values GET serves from now on, with
 * source snmp; also_changed names the write-only columns it wrote (no read
 * shows them). Reads started before this are stale. */
void agent_server_set_commit(agent_server *s, const cupi_snapshot *after,
                             uint32_t also_changed);
/* Copies the resource's values into out when they can stand in for a fresh
 * read: known, read by a successful request less than max_age_s seconds ago,
 * no refresh failed since and no late PUT is expected. False otherwise (out
 * untouched). */
bool agent_server_fresh_values(const agent_server *s, cupi_resource r, unsigned max_age_s,
                               cupi_snapshot *out);
/* A SET's PUT got no answer and its values were not there when read back:
 * CUPI may still apply it. Reads the resource again at once, and takes a
 * later read that shows exactly those values as the SET's change. */
void agent_server_expect_late_put(agent_server *s, const cupi_snapshot *changes);
/* Status bookkeeping after any CUPI request: transitions notify once. A
 * success does not make the server ok while the last refresh of one of its
 * resources failed: the status stays that failure (no flapping, no
 * notification per refresh, when only one resource fails). */
void agent_server_take_status(agent_server *s, cupi_status st, const char *message);
agent_status agent_status_from_cupi(cupi_status st);
/* cupiServerStatus's label in CUPI-SMTP-MIB ("ok", "unreachable" ...). */
const char *agent_status_name(agent_status st);
uint32_t agent_uptime_ticks(void);

#endif
