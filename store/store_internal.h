/* store/store_internal.h - what the store's files share and nobody else
 * sees. */
#ifndef CUPI_STORE_INTERNAL_H
#define CUPI_STORE_INTERNAL_H

#include "store.h"

#include <sqlite3.h>

#include <stdbool.h>
#include <sys/types.h>

#define STORE_CHECKPOINT_DEFAULT_S 2
/* The checkpointer is woken early when the WAL holds this many pages. */
#define STORE_WAL_WAKE_PAGES 1000

/* sqlite's message for db, with the system's reason (errno) when it has one. */
void store_describe(sqlite3 *db, const char *what, char *err, size_t errsz);

/* Opens path read-only and checks it is ours at the current schema.
 * 0 with *db, or with err (and *db NULL) -1, or -2 when the agent would
 * take it as it is (empty, or an older schema it upgrades). */
int store_open_readonly(const char *path, sqlite3 **db, char *err, size_t errsz);

/* A checkpointer: its own connection and thread. */
typedef struct store_checkpointer store_checkpointer;
store_checkpointer *store_checkpointer_start(const char *path, unsigned period_s, char *err,
                                             size_t errsz);
/* Wakes it (the WAL grew). Callable from the writer's thread. */
void store_checkpointer_wake(store_checkpointer *c);
/* Stops it; with wait, returns once its connection is closed. Without, it
 * finishes on its own and frees itself. */
void store_checkpointer_stop(store_checkpointer *c, bool wait);

#endif
