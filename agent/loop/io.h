/* loop/io.h - drives the cupi_engine from net-snmp's own loop: the engine's
 * sockets become net-snmp external fds, its timer a snmp alarm. Works the
 * same in the subagent (agent_check_and_process) and inside snmpd (dlmod). */
#ifndef CUPI_AGENT_IO_H
#define CUPI_AGENT_IO_H

#include <cupi/cupi.h>

/* 0, or -1 (logged) when the socket set cannot be set up. */
int agent_io_start(cupi_engine *e);
/* Re-mirrors the engine's sockets and timer; call after queuing requests.
 * Re-syncs everything every time rather than trusting fd numbers, which the
 * kernel reuses. */
void agent_io_sync(void);
void agent_io_stop(void);

#endif
