/* daemon/state_store_check.h - whether the agent could open its state store
 * (cupiStateFile), for "cupi-snmp-agent -t". One function, so that a new
 * store brings its own version of it. */
#ifndef AGENT_STATE_STORE_CHECK_H
#define AGENT_STATE_STORE_CHECK_H

#include <stddef.h>

/* 0 when path's directory lets the agent create and replace the file and an
 * existing file is one the store's reader takes; -1 with "PATH: reason" in
 * err when the agent could not open or save it; 1 with "PATH: reason" when
 * the file is there but is not a store the agent takes (it starts without
 * the saved values and keeps them in memory until the file is removed: a
 * warning, not a failure). */
int agent_state_store_check(const char *path, char *err, size_t errsz);

#endif
