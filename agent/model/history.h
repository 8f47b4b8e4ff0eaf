/* model/history.h - cupiChangeTable: for each server the newest
 * cupiHistorySize changed fields (old and new value, when, who), numbered
 * by cupiChangeIndex, which only grows, also across restarts (the state
 * store keeps the rows and the last index) and reloads.
 *
 * Built from the model's events alone: a change of values taken from CUPI
 * or by a SET adds one row per changed field; values loaded from the state
 * store and the first read of a resource add nothing. A row removed from the
 * configuration loses its history; a row that now names another URL loses
 * its rows but keeps numbering after its last index. */
#ifndef CUPI_AGENT_HISTORY_H
#define CUPI_AGENT_HISTORY_H

#include "history_ring.h"
#include "model/server.h"

/* Subscribes to the model's events. Returns 0 or -1. */
int agent_history_start(void);
/* Rows kept per server (cupiHistorySize, 0: none); servers holding more
 * keep their newest. */
void agent_history_configure(unsigned size);
unsigned agent_history_size(void);
/* Frees every server's history (the module stops). */
void agent_history_shutdown(void);

/* cupiServerLastChangeIndex: the newest index of s, 0 before any change. */
uint32_t agent_history_last_index(const agent_server *s);
/* s's row with the smallest index >= index, or NULL; O(log rows). The row
 * stays valid until the next event of the model. */
const agent_change *agent_history_from(const agent_server *s, uint32_t index);

/* s's ring (NULL before its first change): what the state store saves. */
const history_ring *agent_history_ring(const agent_server *s);
/* Takes s's history as the state store kept it: the rows of saved (moved
 * out; saved is left empty), the newest that cupiHistorySize keeps, and its
 * last index. Returns 0 or -1 when out of memory. */
int agent_history_adopt(agent_server *s, history_ring *saved);

#endif
