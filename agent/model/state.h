/* model/state.h - cupiStateFile: the last-known values of every server
 * (never a password), kept across restarts. Written atomically (temp file,
 * fsync, rename); a missing or bad file is logged and ignored. A failed
 * save (full or read-only file system ...) is retried with back-off, 1 s
 * doubling to 60 s, until one succeeds; the outage is logged once when it
 * starts and once when it ends. Nothing here blocks the agent. */
#ifndef CUPI_AGENT_STATE_H
#define CUPI_AGENT_STATE_H

#include <stdbool.h>

/* Subscribes to the model's events: values taken, rows added, removed or
 * moved mark the file dirty. Returns 0 or -1. */
int agent_state_start(void);
/* Sets the file (NULL: none). Does not load. */
void agent_state_configure(const char *path);
/* Loads saved values into the configured servers whose index and URL match. */
void agent_state_load(void);
/* Values changed (urgent: save soon, coalesced through an alarm), or only
 * their read time moved (saved at most every few minutes: a read time that
 * is a little old only makes a restarted agent report an older data age). */
void agent_state_mark_dirty(bool urgent);
/* Saves now if anything changed since the last save (a failure arms the
 * retry). */
void agent_state_flush(void);
void agent_state_shutdown(void);

#endif
