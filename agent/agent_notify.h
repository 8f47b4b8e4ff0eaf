/* agent_notify.h - the three CUPI-SMTP-MIB notifications. Varbinds are
 * built by the same code that answers GET (mib_tables.h). Nothing is sent
 * inside these calls: notifications wait in a bounded queue that net-snmp's
 * loop drains a few at a time (see agent_notify.c for why). */
#ifndef CUPI_AGENT_NOTIFY_H
#define CUPI_AGENT_NOTIFY_H

#include "agent_server.h"

/* Queues a configuration change; later changes of the same resource and
 * source join it until it is sent (one notification per resource). */
void agent_notify_config(agent_server *s, cupi_resource r, uint32_t changed,
                         agent_change_source source);
/* Queues cupiServerStatusChanged with the server's status and error as they
 * are now: every transition is reported once, with its own values. */
void agent_notify_status(agent_server *s);
/* Drops the open configuration changes of a server about to be removed or
 * pointed at another URL (their values are not that server's any more). */
void agent_notify_forget(agent_server *s);
/* Drops what is still queued (logged with its count). */
void agent_notify_shutdown(void);

#endif
