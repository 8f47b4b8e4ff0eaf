/* store/store.h - the agent's state on disk: the last good values of every
 * server and resource, when they were read, and each server's change
 * history, in an SQLite database (WAL journal) at cupiStateFile.
 *
 * No net-snmp and no live server list: the agent writes through a store
 * opened read-write (one connection, used by one thread), cupictl and the
 * agent's start-up read through the same reader (store_load), read-only and
 * safe while the agent writes. The schema is in store_schema.c alone.
 *
 * Durability: a commit is a write to the WAL with no fsync (synchronous =
 * NORMAL): a killed process loses nothing committed, a power cut may lose
 * the newest commits. Automatic checkpoints are off; the store's own thread
 * (store_checkpoint.c, its own connection) checkpoints and fsyncs every few
 * seconds, so nothing the writer's thread does waits for the disk to sync. */
#ifndef CUPI_STORE_H
#define CUPI_STORE_H

#include "history_ring.h"

#include <cupi/fields.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_URL_MAX 255            /* as cupiServer's URL */
#define STORE_HISTORY_MAX_ROWS 10000 /* the largest cupiHistorySize */
/* A running agent that reads CUPI writes its read times at least this often
 * (plus one refresh period): a store not written for longer is stale. */
#define STORE_REWRITE_S 300

/* --- what is at a path -------------------------------------------------- */

typedef enum store_kind {
    STORE_KIND_MISSING, /* nothing there yet */
    STORE_KIND_EMPTY,   /* an empty regular file: a store not yet written */
    STORE_KIND_SQLITE,  /* an SQLite database (ours or not: store_open says) */
    STORE_KIND_JSON,    /* a JSON state file of an older release */
    STORE_KIND_OTHER,   /* neither: refused */
    STORE_KIND_ERROR,   /* cannot be looked at (err says why) */
} store_kind;

/* Looks at path without following a FIFO or device: only a regular file is
 * opened, without blocking. err gets a sentence for ERROR and OTHER. */
store_kind store_probe(const char *path, char *err, size_t errsz);

/* --- what the store holds, as read ----------------------------------------- */

typedef struct store_resource {
    bool valid;         /* a complete, valid snapshot was saved */
    cupi_snapshot snap; /* readable fields only, never a write-only one */
    time_t read_at;     /* wall-clock time CUPI returned these values */
} store_resource;

typedef struct store_server {
    unsigned index; /* 1..65535 */
    char url[STORE_URL_MAX + 1];
    store_resource res[CUPI_RES_COUNT];
    unsigned invalid;     /* resources saved that were not taken */
    uint32_t last_change; /* newest change index handed out (h.last_index) */
    /* The newest rows that fit the reader's history_rows; empty and
     * history_bad when a saved row is not sound (then why says why). */
    history_ring history;
    unsigned history_saved; /* rows the store holds for this server */
    bool history_bad;
    char history_why[160];
} store_server;

typedef struct store_doc {
    store_server *servers; /* sorted by index, each index once; owned */
    size_t n_servers;
    unsigned dropped;  /* entries without a usable index or URL */
    time_t written_at; /* the last commit (the JSON file: its mtime) */
    store_kind kind;   /* where it came from: SQLITE or JSON */
    char store_id[40]; /* the database's identity ("" for JSON) */
    unsigned schema;   /* the database's schema version */
} store_doc;

/* Which servers to read; NULL: all (the agent reads all, to drop the others). */
typedef bool (*store_want_fn)(unsigned index, const char *url, void *arg);

typedef struct store_read_opts {
    time_t now;          /* the wall clock read times are judged against */
    size_t history_rows; /* rows kept per server (the newest); 0: none */
    store_want_fn want;  /* NULL: every server */
    void *want_arg;
} store_read_opts;

/* Reads the state at path, a database or a JSON file of an older release,
 * with the same checks either way: a resource is taken only complete with
 * every value passing its field's rules, a history row only with an index
 * that grows, a known field and values that field can hold. Returns 0 with
 * *doc filled (free with store_doc_free), or -1 with err naming path and
 * what is wrong as a whole (missing, not a state store, newer schema, ...). */
int store_load(const char *path, const store_read_opts *opts, store_doc *doc, char *err,
               size_t errsz);
void store_doc_free(store_doc *doc);
/* The entry for server index saved for the same URL, or NULL. */
const store_server *store_doc_find(const store_doc *doc, unsigned index, const char *url);
/* Any entry for index, whatever its URL, or NULL. */
const store_server *store_doc_find_index(const store_doc *doc, unsigned index);

/* For `cupi-snmp-agent -t`: 0 when the agent could keep its state at path
 * (missing but creatable, an empty file, a JSON state file to import, or a
 * database of a schema this program reads), else -1 with a sentence in err.
 * Read-only: creates, locks and migrates nothing; safe while the agent runs. */
int store_check(const char *path, char *err, size_t errsz);

/* --- writing --------------------------------------------------------------- */

typedef struct store store;

typedef struct store_open_opts {
    bool checkpoint_thread; /* run the store's own checkpointer (the agent) */
    unsigned checkpoint_s;  /* its period; 0: the default */
} store_open_opts;

/* Opens (creating if missing or empty, migrating an older schema) the
 * database at path for writing. A JSON file or anything that is not our
 * database is refused. The files are mode 0600. 0, or -1 with err. */
int store_open(const char *path, const store_open_opts *opts, store **out, char *err,
               size_t errsz);
/* Stops the checkpointer (waiting for it) and closes: the last connection
 * checkpoints and removes the WAL. */
void store_close(store *st);
/* Closes without waiting for a checkpoint in progress (the path no longer
 * names this store: its thread ends on its own). */
void store_abandon(store *st);
const char *store_path(const store *st);
/* The identity written into the database when it was created. */
const char *store_id(const store *st);

/* One transaction. begin fails (-1) when path no longer names the open
 * database (moved, replaced, deleted): the caller abandons it and opens
 * path again. After any -1 the caller rolls back. */
int store_begin(store *st);
int store_put_server(store *st, unsigned index, const char *url, uint32_t last_change);
/* The resource's read time and every readable value of snap. */
int store_put_values(store *st, unsigned index, const cupi_snapshot *snap, time_t read_at);
int store_put_read_at(store *st, unsigned index, cupi_resource r, time_t read_at);
int store_drop_values(store *st, unsigned index, cupi_resource r);
int store_put_change(store *st, unsigned index, const agent_change *c);
/* Removes the rows of index numbered below keep_from (the oldest row kept
 * in memory; the newest index + 1 removes them all). */
int store_trim_changes(store *st, unsigned index, int64_t keep_from);
/* Everything of index: its row, values and history. */
int store_drop_server(store *st, unsigned index);
/* Everything of every server (a full rewrite follows). */
int store_drop_all(store *st);
int store_commit(store *st);
void store_rollback(store *st);
/* The last error: a sentence, with the system's reason when there is one. */
const char *store_error(const store *st);
/* True when the last error means the store must be opened again (moved,
 * replaced, corrupt) rather than retried as it is. */
bool store_needs_reopen(const store *st);

/* --- one agent per state ------------------------------------------------- */

typedef struct store_lock store_lock;
/* Takes the exclusive lock on PATH.lock (created 0600), which lives as long
 * as the returned handle, across fork. 0; -2 when another process holds it
 * (err names the holder's pid); -1 when it cannot be taken at all (a
 * read-only directory ...: err says why). */
int store_lock_take(const char *path, store_lock **out, char *err, size_t errsz);
/* Writes the current pid into the lock file (after a fork). */
void store_lock_refresh(store_lock *l);
void store_lock_release(store_lock *l);

/* --- the JSON state file of earlier releases ------------------------------- */

/* Imports the JSON state file at path (version 1 or 2) into a new database
 * at path, once: the JSON is kept as PATH.json.bak and never written again.
 * The database is written beside and renamed over path, so a crash leaves
 * the JSON file or the full database, never half of one. 0, or -1 with
 * err (the JSON file is then left as it was). */
int store_import_json(const char *path, time_t now, char *err, size_t errsz);
/* Writes doc into the open store in its own transaction (the import's
 * second half; also used by tests). 0 or -1 (store_error). */
int store_write_doc(store *st, const store_doc *doc);

#endif
