/* mib_tables.h - the three CUPI-SMTP-MIB tables. The value functions are
 * what both GET and the notifications use, so they can never disagree. */
#ifndef CUPI_MIB_TABLES_H
#define CUPI_MIB_TABLES_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent_server.h"
#include "mib_oids.h"

/* OID of a column instance: cupiSmtpObjects.table.1.column.index. */
size_t mib_column_oid(unsigned table, unsigned column, unsigned index, oid *out, size_t max);

/* Sets var's type and value to the column's current value. Returns
 * SNMP_ERR_NOERROR, or SNMP_NOSUCHINSTANCE when the row has no such value
 * (config columns before the first read). */
int mib_server_column_value(const agent_server *s, unsigned column, netsnmp_variable_list *var);
int mib_config_column_value(const agent_server *s, cupi_resource r, unsigned column,
                            netsnmp_variable_list *var);
/* The table under cupiSmtpObjects that holds a resource's columns. */
unsigned mib_config_table_of(cupi_resource r);

/* One table under cupiSmtpObjects, rows from an iterator over servers. */
typedef struct mib_table_spec {
    const char *name;
    unsigned table; /* arc under cupiSmtpObjects */
    unsigned min_column, max_column;
    int modes; /* HANDLER_CAN_RONLY / HANDLER_CAN_RWRITE */
    Netsnmp_Node_Handler *handler;
    Netsnmp_First_Data_Point *first;
    Netsnmp_Next_Data_Point *next;
    void *data; /* handed to the handler (my_reg_void) and iterator (myvoid) */
} mib_table_spec;

/* The registration (net-snmp owns it; unregister with
 * netsnmp_unregister_handler), or NULL (logged by net-snmp). */
netsnmp_handler_registration *mib_register_table(const mib_table_spec *spec);

int mib_server_table_register(void);
void mib_server_table_unregister(void);
int mib_config_tables_register(void);
void mib_config_tables_unregister(void);

#endif
