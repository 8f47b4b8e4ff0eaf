/* state_json_write.h - the JSON state file of earlier releases, written:
 * for the tests and the fuzz target of its reader only (round trips and
 * edited inputs). The agent never writes this form. */
#ifndef CUPI_TEST_STATE_JSON_WRITE_H
#define CUPI_TEST_STATE_JSON_WRITE_H

#include "history_ring.h"
#include "state_json.h"

#include <cjson/cJSON.h>

/* One server at a time: begin, add each server, then finish, which returns
 * the malloc'ed text (the caller frees it) or NULL when out of memory.
 * Write-only fields and invalid resources are never written; the history
 * section is copied as it is. finish also releases a writer whose add
 * failed. */
typedef struct agent_state_render agent_state_render;
agent_state_render *agent_state_render_begin(void);
/* 0, or -1 when out of memory (the writer then fails at finish). */
int agent_state_render_add(agent_state_render *r, const agent_state_server *s);
char *agent_state_render_finish(agent_state_render *r);

/* A ring in the form history_ring_from_json reads; NULL when out of
 * memory. The caller owns the result. */
cJSON *history_ring_to_json(const history_ring *h);

#endif
