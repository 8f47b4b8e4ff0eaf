/* model/history.h - cupiChangeTable: for each server the newest
 * cupiHistorySize changed fields (old and new value, when, who), numbered
 * by cupiChangeIndex, which only grows, also across restarts (the state
 * file keeps the rows and the last index) and reloads.
 *
 * Built from the model's events alone: a change of values taken from CUPI
 * or by a SET adds one row per changed field; values loaded from the state
 * file and the first read of a resource add nothing. A row removed from the
 * configuration loses its history; a row that now names another URL loses
 * its rows but keeps numbering after its last index. */
#ifndef CUPI_AGENT_HISTORY_H
#define CUPI_AGENT_HISTORY_H

#include "history_ring.h"
#include "model/server.h"

#include <cjson/cJSON.h>

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

/* The room the history of the configured servers may take in the state
 * file, in bytes (see history_file_budget). */
size_t agent_history_file_budget(void);
/* The state file's history section of s; NULL when out of memory. The
 * caller owns the result. */
cJSON *agent_history_to_json(const agent_server *s);
/* Takes s's history from its state file section (logged and ignored when
 * unusable: see history_ring_from_json). Returns 0 or -1. */
int agent_history_from_json(agent_server *s, const cJSON *obj);

#endif
