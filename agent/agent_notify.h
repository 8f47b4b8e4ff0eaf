/* agent_notify.h - the three CUPI-SMTP-MIB notifications. Varbinds are
 * built by the same code that answers GET (mib_tables.h). */
#ifndef CUPI_AGENT_NOTIFY_H
#define CUPI_AGENT_NOTIFY_H

#include "agent_server.h"

/* Queues a configuration change; changes of one resource made before the
 * queue is flushed (from an alarm) are coalesced into one notification. */
void agent_notify_config(agent_server *s, cupi_resource r, uint32_t changed,
                         agent_change_source source);
/* Sends cupiServerStatusChanged for the server's current status now. */
void agent_notify_status(agent_server *s);
/* Drops what is queued for a server about to be removed. */
void agent_notify_forget(agent_server *s);
void agent_notify_shutdown(void);

#endif
