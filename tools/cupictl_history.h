/* cupictl_history.h - "cupictl history": the agent's change history as its
 * state file keeps it, read-only (no CUPI request). */
#ifndef CUPICTL_HISTORY_H
#define CUPICTL_HISTORY_H

#include <cupi/cupi.h>

#include "agent_config.h"

#include <stdbool.h>

/* Parses the arguments after "history" ([--server INDEX] [--json]); json
 * and server may already be set by the global options. Returns 0, or 2
 * (usage) with the problem printed to stderr. */
int cupictl_history_args(int argc, char **argv, bool *json, const char **server);

/* Prints the history of every server of cfg's state file (or only of
 * server, an INDEX or a NAME of cfg) as a table or as JSON on stdout.
 * Returns 0, 1 (no state file, unreadable, not one), or 2 (no such
 * server). */
int cupictl_history(const cupi_config *cfg, const char *server, bool json);

#endif
