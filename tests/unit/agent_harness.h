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
#include "model/server.h"
#include "worker/worker.h"

#include <stdio.h>
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

/* Every field of every resource at its documented default, as if read. 0,
 * or -1 when a default does not parse. */
static inline int harness_take_defaults(agent_server *s)
{
    for (cupi_resource r = CUPI_RES_SERVER; r < CUPI_RES_COUNT; r++) {
        cupi_snapshot snap;
        cupi_snapshot_init(&snap, r);
        size_t n;
        const cupi_field *f = cupi_fields(r, &n);
        for (size_t i = 0; i < n; i++) {
            cupi_value v;
            if (cupi_value_parse(&f[i], f[i].default_value, strlen(f[i].default_value), &v) !=
                CUPI_VALID)
                return -1;
            cupi_snapshot_set(&snap, f[i].column, &v);
        }
        agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    }
    return 0;
}

/* Replaces the model with n servers at indexes index_of(0..n-1), each one
 * ok with every value read (nothing is reachable: the URLs are on closed
 * ports of 127.0.0.1). 0, or -1 on failure. */
static inline int harness_fleet(size_t n, unsigned (*index_of)(size_t))
{
    cupi_config cfg;
    cupi_config_init(&cfg);
    cfg.servers = calloc(n, sizeof *cfg.servers);
    if (n && !cfg.servers)
        return -1;
    cfg.n_servers = n;
    for (size_t i = 0; i < n; i++) {
        char text[64];
        cupi_server_config *c = &cfg.servers[i];
        c->index = index_of(i);
        snprintf(text, sizeof text, "cuc-%u", c->index);
        c->name = strdup(text);
        snprintf(text, sizeof text, "https://127.0.0.1:%u", 1 + (c->index % 1000));
        c->url = strdup(text);
        c->user = strdup("admin");
        c->password = strdup("admin-password");
        c->format = CUPI_FORMAT_XML;
    }
    int rc = agent_servers_apply(&cfg);
    cupi_config_free(&cfg);
    if (rc != 0 || agent_servers_count() != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        agent_server *s = agent_server_find(index_of(i));
        if (!s || harness_take_defaults(s) != 0)
            return -1;
        s->status = AGENT_STATUS_OK;
    }
    return 0;
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
