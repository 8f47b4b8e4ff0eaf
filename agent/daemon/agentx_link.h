/* daemon/agentx_link.h - the AgentX session with the master as the operator
 * sees it: logged once per change (with the socket, the system's reason and
 * a hint), and told to systemd (READY=1 once CUPI-SMTP-MIB is registered,
 * STATUS= lines that "systemctl status" shows). */
#ifndef AGENT_AGENTX_LINK_H
#define AGENT_AGENTX_LINK_H

#include <stdbool.h>

/* Watches the session to the master at address (net-snmp's agentXSocket
 * syntax: "/path", "unix:/path", "tcp:host:port"), diagnosing a failed
 * connection every retry_s seconds (net-snmp's own reconnect interval).
 * Call before init_snmp(), which opens the session. 0 or -1. */
int agentx_link_start(const char *address, int retry_s);

/* After init_snmp() and after every turn of the main loop: a session opened
 * during the turn has registered the MIB by now (net-snmp registers in the
 * same call), so it counts as connected from here. */
void agentx_link_after_turn(void);

/* Whether READY=1 was sent (the MIB was registered once). */
bool agentx_link_ready(void);

void agentx_link_stop(void);

#endif
