/* cupictl_state.h - "cupictl state": what the agent's state file
 * (cupiStateFile) holds and how old it is. Reads only that file; never
 * talks to CUPI or the agent. */
#ifndef CUPICTL_STATE_H
#define CUPICTL_STATE_H

#include <cupi/cupi.h>

#include "agent_config.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* Prints, for every configured server (or only `only`, when not NULL), when
 * the values saved for it were read from CUPI, plus the file's own age and
 * whether it is stale; entries the agent would ignore are named too. Text,
 * or one JSON object with json. Returns the exit status: 0, or 1 when no
 * state file is configured or it cannot be read or parsed (said on stderr).
 * now is the wall clock the ages are counted from. */
int cupictl_state(const cupi_config *cfg, const cupi_server_config *only, bool json, time_t now,
                  FILE *out);

#endif
