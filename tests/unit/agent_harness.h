/* agent_harness.h - an in-process net-snmp agent for the unit tests of the
 * MIB module (test_mib_handlers, test_mib_scale, test_set_txn,
 * test_agent_model): no transport, no MIB files, no snmp.conf, no
 * persistent state; requests reach the module over net-snmp's callback
 * transport, exactly as init_agent() does for its internal "callback
 * master" and the AgentX subagent for in-process queries. */
#ifndef CUPI_TEST_AGENT_HARNESS_H
#define CUPI_TEST_AGENT_HARNESS_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <cupi/cupi.h>

#include "model/refresh.h"
#include "worker/worker.h"

#include <stdlib.h>
#include <string.h>

/* Starts the agent library, libcupi and the CUPI worker thread (its
 * outcomes reach the model through net-snmp's loop, as in the agent). 0,
 * or -1 on failure. */
static inline int harness_start(const char *app)
{
    setenv("MIBS", "", 1);
    setenv("MIBDIRS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    /* (the VACM module warns that no access control is configured: the
     * requests here bypass it with UCD_MSG_FLAG_ALWAYS_IN_VIEW) */
    if (init_agent(app) != 0)
        return -1;
    init_snmp(app);
    if (cupi_global_init() != CUPI_OK)
        return -1;
    return worker_start(agent_refresh_take);
}

/* Stops the worker: call once the servers are cleared. */
static inline void harness_stop(void)
{
    worker_stop();
}

/* A pair of sessions over the callback transport: *master hands what it
 * receives to the agent's request processing, the returned client sends v2c
 * requests with community to it and gives up after timeout_s. NULL on
 * failure. */
static inline netsnmp_session *harness_open_client(netsnmp_session **master,
                                                   const char *community, long timeout_s)
{
    *master = netsnmp_callback_open(0, handle_snmp_packet, netsnmp_agent_check_packet,
                                    netsnmp_agent_check_parse);
    if (!*master)
        return NULL;
    netsnmp_session *client = netsnmp_callback_open((*master)->local_port, NULL, NULL, NULL);
    if (!client)
        return NULL;
    client->version = SNMP_VERSION_2c;
    free(client->community); /* the session's default, "" */
    client->community = (u_char *)strdup(community);
    client->community_len = strlen(community);
    client->timeout = timeout_s * 1000000L;
    return client->community ? client : NULL;
}

#endif
