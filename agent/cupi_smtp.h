/* cupi_smtp.h - the CUPI-SMTP-MIB module. The same code runs in
 * cupi-snmp-agent's main() and inside snmpd ("dlmod cupi_smtp PATH", which
 * calls init_cupi_smtp / deinit_cupi_smtp). */
#ifndef CUPI_SMTP_H
#define CUPI_SMTP_H

#include <cupi/cupi.h>

#include "agent_config.h"

/* Registers the MIB, starts the background refresh with cfg's servers and
 * loads the state file. The module copies what it keeps. 0 or -1 (logged). */
int cupi_smtp_start(const cupi_config *cfg);
/* Applies a new configuration; on failure the old one stays. 0 or -1. */
int cupi_smtp_reload(const cupi_config *cfg);
/* Saves the state file, unregisters and frees everything. */
void cupi_smtp_stop(void);

/* Reads, unless no_defaults, the default configuration
 * (cupi_config_read_default: cupi-snmp-agent.conf then
 * cupi-snmp-agent.local.conf in each directory of $SNMPCONFPATH or
 * net-snmp's path), then the files of the comma-separated list (may be
 * NULL). On error logs "FILE:LINE: ..." and returns -1. */
int cupi_smtp_load_config(cupi_config *cfg, const char *files, bool no_defaults);

/* The same reading, with each message handed to report (error true for the
 * one that stops it, false for warnings) as "FILE:LINE: ..." without any
 * prefix: what "cupi-snmp-agent -t" prints. 0 or -1. */
typedef void (*cupi_smtp_report_fn)(void *arg, bool error, const char *msg);
int cupi_smtp_read_config(cupi_config *cfg, const char *files, bool no_defaults,
                          cupi_smtp_report_fn report, void *arg);

/* The configured servers by cupiServerStatus, for a status line:
 * "3 servers: 2 ok, 1 unreachable" ("no server configured" when none),
 * written to buf (truncated to size). Returns buf. */
const char *cupi_smtp_status_summary(char *buf, size_t size);

/* dlmod entry points: configuration from $CUPI_SNMP_CONFIG or the default. */
void init_cupi_smtp(void);
void deinit_cupi_smtp(void);

#endif
