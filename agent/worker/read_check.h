/* worker/read_check.h - whether what CUPI answered can be served: the
 * agent's rules on top of libcupi's decoding. Pure functions, used on the
 * worker for background reads and on the SNMP thread for a SET's reads and
 * for values from the state. */
#ifndef CUPI_WORKER_READ_CHECK_H
#define CUPI_WORKER_READ_CHECK_H

#include <cupi/cupi.h>

#include <stdbool.h>
#include <stddef.h>

/* True when snap can be served as a row: every readable field present,
 * every integer within Integer32 (the syntax of every integer column), every
 * value passing its field's rules. Otherwise why names the first field that
 * is not. */
bool agent_snapshot_servable(const cupi_snapshot *snap, char *why, size_t whysz);
/* The status of a finished request as the agent judges it: a GET that CUPI
 * answered with values agent_snapshot_servable refuses is CUPI_E_PARSE, so
 * that no caller serves or compares such values. why gets the reason (CUPI's
 * message, or the bad field). */
cupi_status agent_read_check(const cupi_result *result, char *why, size_t whysz);

#endif
