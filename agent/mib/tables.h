/* mib/tables.h - the three CUPI-SMTP-MIB tables, each described once as
 * data. One registration, one GET / GETNEXT path and the notifications all
 * read these descriptors, so a trap can never disagree with a read and a
 * table needs no code of its own.
 *
 * Every table is indexed by cupiServerIndex (Unsigned32); most have at
 * most one row per configured server, and a table of sub-rows
 * (cupiChangeTable) has a second Unsigned32 index under each server. */
#ifndef CUPI_MIB_TABLES_H
#define CUPI_MIB_TABLES_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "model/server.h"
#include "mib/oids.h"

/* A column computed from the model (cupiServerTable). */
typedef struct mib_column {
    u_char type;   /* ASN_OCTET_STR, ASN_INTEGER, ASN_UNSIGNED, ASN_COUNTER, ASN_TIMETICKS */
    bool writable; /* SET goes to the table's resource; otherwise notWritable */
    /* Text columns return their text (NULL reads as ""); number columns
     * store theirs in *num. */
    const char *(*get)(const agent_server *s, uint32_t *num);
} mib_column;

/* Rows under each server, found by a second index (the row order within a
 * server is that index's). Both lookups must be O(log rows). */
typedef struct mib_subrows {
    /* s's row with the smallest second index >= from, or NULL; *sub gets
     * that index. */
    const void *(*row_from)(const agent_server *s, uint32_t from, uint32_t *sub);
    /* Sets var to the cell (column, row) as GET returns it. */
    void (*value)(const agent_server *s, const void *row, unsigned column,
                  netsnmp_variable_list *var);
} mib_subrows;

/* No resource: the table's rows are the configured servers themselves. */
#define MIB_NO_RESOURCE (-1)

typedef struct mib_table {
    const char *name;
    unsigned arc; /* under cupiSmtpObjects */
    unsigned min_column;
    /* Model columns, min_column upwards; NULL when the columns are the CUPI
     * fields of `resource` (column = field column, type and access from the
     * field table), or when subrows answers for them. */
    const mib_column *columns;
    size_t n_columns; /* also the number of columns of a sub-row table */
    /* A read-only table indexed by {cupiServerIndex, second index}; NULL
     * for the tables with one row per server. */
    const mib_subrows *subrows;
    /* A CUPI resource (cupi_resource) or MIB_NO_RESOURCE. A resource table
     * has a server's row only once that resource's values are known, and
     * its SETs are CUPI writes of that resource. */
    int resource;
} mib_table;

extern const mib_table mib_server_table;
extern const mib_table mib_smtp_server_table;
extern const mib_table mib_smtp_client_table;
extern const mib_table mib_change_table;

/* The table of a resource's fields. */
const mib_table *mib_config_table(cupi_resource r);
/* Its arc under cupiSmtpObjects. */
unsigned mib_config_table_of(cupi_resource r);

/* The table's last column. */
unsigned mib_table_max_column(const mib_table *t);

/* Whether a SET may write column of t (read-write or write-only). */
bool mib_table_column_writable(const mib_table *t, unsigned column);

/* Whether server s has a row in t. */
bool mib_table_row_exists(const mib_table *t, const agent_server *s);

/* Sets var's type and value to the cell (column, s's row) as GET returns
 * it. Returns SNMP_ERR_NOERROR, SNMP_NOSUCHOBJECT for a column the table
 * lacks, SNMP_NOSUCHINSTANCE when s has no row in t; var is then untouched. */
int mib_table_value(const mib_table *t, const agent_server *s, unsigned column,
                    netsnmp_variable_list *var);

/* OID of a column instance, cupiSmtpObjects.arc.1.column.index, into out
 * (max arcs). Returns its length, 0 when max is too small. */
size_t mib_column_oid(unsigned arc, unsigned column, unsigned index, oid *out, size_t max);
/* The same with a second index arc (a sub-row table). */
size_t mib_subrow_oid(unsigned arc, unsigned column, unsigned index, uint32_t sub, oid *out,
                      size_t max);

/* Registers t with net-snmp (which owns the registration until
 * mib_table_unregister). Returns 0, or -1 (logged by net-snmp). */
int mib_table_register(const mib_table *t);
/* Removes t's registration; nothing when it is not registered. */
void mib_table_unregister(const mib_table *t);

/* The module's tables, as the module start and stop call them. */
int mib_server_table_register(void);
void mib_server_table_unregister(void);
int mib_config_tables_register(void);
void mib_config_tables_unregister(void);
/* cupiChangeTable and cupiChangeHistorySize. */
int mib_change_table_register(void);
void mib_change_table_unregister(void);

#endif
