/* daemon/config_check.h - "cupi-snmp-agent -t": the configuration checked as
 * the agent would use it, with nothing started. */
#ifndef AGENT_CONFIG_CHECK_H
#define AGENT_CONFIG_CHECK_H

#include <stdbool.h>
#include <stdio.h>

/* Reads the configuration (the default files unless no_defaults, then the
 * comma-separated files, may be NULL) and checks what reading alone does
 * not: every cupiCaFile holds certificates OpenSSL can parse, and the state
 * store can be opened. Problems go to out as "FILE:LINE: message" (or
 * "FILE: message" for a file that has no lines to point at); a summary line
 * goes to out as well. 0 when the agent would start with it, 1 otherwise. */
int agent_config_check(const char *files, bool no_defaults, FILE *out);

#endif
