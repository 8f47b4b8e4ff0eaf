/* model/state.h - cupiStateFile: the last good values of every server
 * (never a password), their read times and the change history, kept across
 * restarts in the state store (store/store.h).
 *
 * A change is written at once, in one small transaction with its history
 * rows (before its notification can leave); read times that only moved
 * are written together every few seconds; rows added, removed or moved
 * soon after. A failed write (full or read-only file system, a store
 * replaced ...) is logged once, kept in memory and retried with back-off,
 * 1 s doubling to 60 s, until one succeeds (logged once more). Only one
 * agent uses a state: its lock is taken when the path is configured. */
#ifndef CUPI_AGENT_STATE_H
#define CUPI_AGENT_STATE_H

#include <stdbool.h>

/* Subscribes to the model's events (after the history: a change's rows are
 * there when its values are written). Returns 0 or -1. */
int agent_state_start(void);
/* Sets the state's path (NULL: none) and takes its lock. Does not load.
 * -1 when another agent holds it (logged with its pid): the agent must not
 * start on it; a reload keeps no state on disk until the path changes. */
int agent_state_configure(const char *path);
/* Loads the saved values and history into the configured servers whose
 * index and URL match; imports a JSON state file of an earlier release
 * first. */
void agent_state_load(void);
/* After a reload: writes what the new configuration changed (rows kept
 * per server) soon. */
void agent_state_mark_dirty(void);
/* Writes everything pending now (a failure arms the retry). */
void agent_state_flush(void);
void agent_state_shutdown(void);

#endif
