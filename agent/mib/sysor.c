/* mib/sysor.c - the module's sysORTable row. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <net-snmp/agent/agent_sysORTable.h>
#include <net-snmp/agent/sysORTable.h>

#include "mib/oids.h"
#include "mib/sysor.h"

#include <stdbool.h>

static oid module_oid[] = {CUPI_MIB_ROOT_OID};
static bool registered;

int mib_sysor_register(void)
{
    if (registered)
        return 0;
    if (register_sysORTable(module_oid, CUPI_MIB_ROOT_LEN,
                            "CUPI-SMTP-MIB: SMTP server and smart-host settings of Cisco Unity "
                            "Connection, read and written through CUPI") !=
        SYS_ORTABLE_REGISTERED_OK) {
        snmp_log(LOG_ERR, "cupi: cannot add CUPI-SMTP-MIB to sysORTable\n");
        return -1;
    }
    registered = true;
    return 0;
}

void mib_sysor_unregister(void)
{
    if (!registered)
        return;
    unregister_sysORTable(module_oid, CUPI_MIB_ROOT_LEN);
    registered = false;
}
