/* mib/request.h - net-snmp's handler of every CUPI-SMTP-MIB table. */
#ifndef CUPI_MIB_REQUEST_H
#define CUPI_MIB_REQUEST_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

/* Answers GET and GETNEXT (GETBULK arrives as GETNEXTs) from the model and
 * hands SETs to the SET transaction, for the table whose descriptor
 * (const mib_table *) is reginfo->my_reg_void, behind net-snmp's table
 * helper. */
int mib_request_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests);

#endif
