/* agent_state.h - cupiStateFile: the last-known values of every server
 * (never a password), kept across restarts. Written atomically (temp file,
 * fsync, rename); a missing or bad file is logged and ignored. */
#ifndef CUPI_AGENT_STATE_H
#define CUPI_AGENT_STATE_H

/* Sets the file (NULL: none). Does not load. */
void agent_state_configure(const char *path);
/* Loads saved values into the configured servers whose index and URL match. */
void agent_state_load(void);
/* Values changed: save soon (coalesced through an alarm). */
void agent_state_mark_dirty(void);
/* Saves now if anything changed since the last save. */
void agent_state_flush(void);
void agent_state_shutdown(void);

#endif
