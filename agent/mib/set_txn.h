/* mib/set_txn.h - SNMP SET on the config tables as CUPI PUTs, net-snmp's
 * transaction phases mapped onto CUPI without blocking the agent:
 *
 *   RESERVE1  type, length and value of each varbind (field table)
 *   RESERVE2  fresh GET of each touched resource (delegated; recent values
 *             stand in when no cross-field rule involves the columns set),
 *             then the cross-field rules with every varbind applied
 *   ACTION    one PUT per resource and row with only the fields set, then a
 *             read-back (delegated); a failure puts back what was applied
 *   UNDO      puts back what ACTION applied (delegated)
 *   COMMIT    the read-back values become what GET serves
 *   FREE      releases the transaction
 *
 * net-snmp runs one SET at a time (master and subagent alike), so there is
 * one transaction, keyed by the PDU's transaction id. Each row of each
 * resource it touches is an item with an explicit state; every CUPI request
 * is a step that moves an item from one state to the next (mib/set_txn.c holds
 * the table). */
#ifndef CUPI_SET_TXN_H
#define CUPI_SET_TXN_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <cupi/cupi.h>

#include "model/server.h"

/* How the transaction reaches CUPI and the clock it judges abandonment by.
 * get and put queue a request on the server's client and return CUPI_OK,
 * after which cb runs exactly once, later, from the event loop (never from
 * inside get or put); any other return means nothing was queued and cb never
 * runs. now_ms is a monotonic clock in milliseconds, the unit of the event
 * loop's timers. */
typedef struct set_txn_io {
    cupi_status (*get)(agent_server *s, cupi_resource r, cupi_callback cb, void *arg);
    cupi_status (*put)(agent_server *s, const cupi_snapshot *changes, cupi_callback cb,
                       void *arg);
    int64_t (*now_ms)(void);
} set_txn_io;

/* Replaces the I/O (tests inject a fake CUPI); NULL restores the default,
 * the server's cupi_client and agent_now_ms. The table is not copied:
 * it must outlive its use. Call only while no transaction exists. */
void set_txn_use_io(const set_txn_io *io);

/* Handles every SET mode for one config table's requests. */
int set_txn_handle(cupi_resource r, netsnmp_mib_handler *handler,
                   netsnmp_handler_registration *reginfo, netsnmp_agent_request_info *reqinfo,
                   netsnmp_request_info *requests);

/* Drops the current transaction when the master has left it waiting for
 * its next phase far longer than any master would. A timer of the
 * transaction's own calls it; tests call it with their own clock. */
void set_txn_expire(void);

/* Drops the current transaction (shutdown). */
void set_txn_shutdown(void);

#endif
