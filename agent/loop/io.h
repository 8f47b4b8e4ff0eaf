/* loop/io.h - one descriptor in net-snmp's own loop: the CUPI worker's
 * mailbox. Its callback runs on the SNMP thread whenever the worker has
 * something to say. Works the same in the subagent (agent_check_and_process)
 * and inside snmpd (dlmod). */
#ifndef CUPI_AGENT_IO_H
#define CUPI_AGENT_IO_H

/* 0, or -1 (logged) when net-snmp has no room for the descriptor. */
int agent_io_start(int fd, void (*on_readable)(void));
void agent_io_stop(void);

#endif
