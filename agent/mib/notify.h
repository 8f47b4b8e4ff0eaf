/* mib/notify.h - the three CUPI-SMTP-MIB notifications. Varbinds are
 * built by the same code that answers GET (mib/tables.h). Nothing is sent
 * inside these calls: notifications wait in a bounded queue that net-snmp's
 * loop drains a few at a time (see mib/notify.c for why). */
#ifndef CUPI_AGENT_NOTIFY_H
#define CUPI_AGENT_NOTIFY_H

#include "model/server.h"

/* Subscribes to the model's events: configuration changes (later changes of
 * the same resource and source join a queued one), status transitions (each
 * reported once, with the status and error of that moment; not the start-up
 * unknown -> ok), rows removed or moved (their open changes are dropped).
 * Returns 0 or -1. */
int agent_notify_start(void);
/* Drops what is still queued (logged with its count). */
void agent_notify_shutdown(void);

#endif
