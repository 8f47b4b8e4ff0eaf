/* set_txn.h - SNMP SET on the config tables as CUPI PUTs, net-snmp's
 * transaction phases mapped onto CUPI without blocking the agent:
 *
 *   RESERVE1  type, length and value of each varbind (field table)
 *   RESERVE2  fresh GET of each touched resource (delegated), then the
 *             cross-field rules with every varbind applied
 *   ACTION    one PUT per resource and row with only the fields set, then a
 *             read-back (delegated); a failure puts back what was applied
 *   UNDO      puts back what ACTION applied (delegated)
 *   COMMIT    the read-back values become what GET serves
 *   FREE      releases the transaction
 *
 * net-snmp runs one SET at a time (master and subagent alike), so there is
 * one transaction, keyed by the PDU's transaction id. */
#ifndef CUPI_SET_TXN_H
#define CUPI_SET_TXN_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <cupi/cupi.h>

/* Handles every SET mode for one config table's requests. */
int set_txn_handle(cupi_resource r, netsnmp_mib_handler *handler,
                   netsnmp_handler_registration *reginfo, netsnmp_agent_request_info *reqinfo,
                   netsnmp_request_info *requests);

/* A transaction the master left waiting for its next phase far longer than
 * any master would is dropped by a timer of its own. */

/* Drops the current transaction (shutdown). */
void set_txn_shutdown(void);

#endif
