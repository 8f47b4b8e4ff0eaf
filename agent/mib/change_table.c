/* mib/change_table.c - cupiChangeTable, the change history of each server
 * (rows {cupiServerIndex, cupiChangeIndex}), and cupiChangeHistorySize.
 * Read-only, answered from agent_history's rings by mib/request.c. */
#include "mib/tables.h"
#include "model/history.h"
#include "mib/varbind.h"

#include <time.h>

static const void *row_from(const agent_server *s, uint32_t from, uint32_t *sub)
{
    const agent_change *c = agent_history_from(s, from);
    if (c)
        *sub = c->index;
    return c;
}

/* DateAndTime (SNMPv2-TC) in UTC, with its explicit +00:00 offset. */
static void set_date_and_time(netsnmp_variable_list *var, int64_t when)
{
    time_t t = (time_t)when;
    struct tm tm;
    u_char b[11] = {0};
    if (gmtime_r(&t, &tm)) {
        unsigned year = (unsigned)tm.tm_year + 1900;
        b[0] = (u_char)(year >> 8);
        b[1] = (u_char)year;
        b[2] = (u_char)(tm.tm_mon + 1);
        b[3] = (u_char)tm.tm_mday;
        b[4] = (u_char)tm.tm_hour;
        b[5] = (u_char)tm.tm_min;
        b[6] = (u_char)tm.tm_sec;
        b[8] = '+';
    }
    snmp_set_var_typed_value(var, ASN_OCTET_STR, b, sizeof b);
}

static void value(const agent_server *s, const void *row, unsigned column,
                  netsnmp_variable_list *var)
{
    const agent_change *c = row;
    switch (column) {
    case MIB_CHANGE_TIME:
        set_date_and_time(var, c->when);
        break;
    case MIB_CHANGE_OBJECT: {
        oid name[MAX_OID_LEN];
        size_t len = mib_column_oid(mib_config_table_of((cupi_resource)c->resource), c->column,
                                    s->cfg.index, name, MAX_OID_LEN);
        snmp_set_var_typed_value(var, ASN_OBJECT_ID, (const u_char *)name, len * sizeof(oid));
        break;
    }
    case MIB_CHANGE_OLD_VALUE:
        mib_varbind_set_text(var, agent_change_old(c));
        break;
    case MIB_CHANGE_NEW_VALUE:
        mib_varbind_set_text(var, agent_change_new(c));
        break;
    default: /* MIB_CHANGE_SOURCE: the table helper passes no other column */
        mib_varbind_set_number(var, ASN_INTEGER, c->source);
        break;
    }
}

static const mib_subrows change_rows = {row_from, value};

const mib_table mib_change_table = {
    .name = "cupiChangeTable",
    .arc = CUPI_TABLE_CHANGE,
    .min_column = MIB_CHANGE_TIME, /* cupiChangeIndex (1) is not-accessible */
    .n_columns = MIB_CHANGE_SOURCE - MIB_CHANGE_TIME + 1,
    .subrows = &change_rows,
    .resource = MIB_NO_RESOURCE,
};

static netsnmp_handler_registration *size_reg;

static int size_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reginfo;
    if (reqinfo->mode != MODE_GET)
        return SNMP_ERR_NOERROR;
    for (netsnmp_request_info *req = requests; req; req = req->next)
        mib_varbind_set_number(req->requestvb, ASN_UNSIGNED, agent_history_size());
    return SNMP_ERR_NOERROR;
}

int mib_change_table_register(void)
{
    if (mib_table_register(&mib_change_table) != 0)
        return -1;
    const oid size_oid[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS, CUPI_SCALAR_HISTORY_SIZE};
    netsnmp_handler_registration *reg =
        netsnmp_create_handler_registration("cupiChangeHistorySize", size_handler, size_oid,
                                            OID_LENGTH(size_oid), HANDLER_CAN_RONLY);
    /* On failure net-snmp frees the registration. */
    if (!reg || netsnmp_register_read_only_scalar(reg) != MIB_REGISTERED_OK)
        return -1;
    size_reg = reg;
    return 0;
}

void mib_change_table_unregister(void)
{
    if (size_reg)
        netsnmp_unregister_handler(size_reg);
    size_reg = NULL;
    mib_table_unregister(&mib_change_table);
}
