/* mib/sysor.h - the module's row in sysORTable (SNMPv2-MIB), so that an NMS
 * walking sysORTable learns that CUPI-SMTP-MIB is served here. */
#ifndef CUPI_MIB_SYSOR_H
#define CUPI_MIB_SYSOR_H

/* Adds the row: sysORID = the MIB's MODULE-IDENTITY. Through AgentX when
 * running as a subagent (net-snmp sends it again after a reconnect), into
 * snmpd's own table as a dlmod. 0, or -1 (logged). */
int mib_sysor_register(void);
/* Removes it; nothing when it was not added. */
void mib_sysor_unregister(void);

#endif
