/* mib_server_table.c - cupiServerTable: one row per configured server with
 * its status and counters; read-only, answered from memory. */
#include "mib_tables.h"

#include <string.h>

typedef struct server_column {
    unsigned column;
    u_char type;
    /* Integer columns fill *num; string columns return their text. */
    const char *(*get)(const agent_server *s, uint32_t *num);
} server_column;

static const char *col_name(const agent_server *s, uint32_t *num)
{
    (void)num;
    return s->cfg.name;
}

static const char *col_url(const agent_server *s, uint32_t *num)
{
    (void)num;
    return s->cfg.url;
}

static const char *col_status(const agent_server *s, uint32_t *num)
{
    *num = s->status;
    return NULL;
}

static const char *col_data_age(const agent_server *s, uint32_t *num)
{
    *num = agent_server_data_age(s);
    return NULL;
}

static const char *col_last_error(const agent_server *s, uint32_t *num)
{
    (void)num;
    return s->last_error;
}

static const char *col_requests(const agent_server *s, uint32_t *num)
{
    uint32_t failures;
    agent_server_counters(s, num, &failures);
    return NULL;
}

static const char *col_failures(const agent_server *s, uint32_t *num)
{
    uint32_t requests;
    agent_server_counters(s, &requests, num);
    return NULL;
}

static const char *col_changes(const agent_server *s, uint32_t *num)
{
    *num = s->config_changes;
    return NULL;
}

static const char *col_last_change(const agent_server *s, uint32_t *num)
{
    *num = s->last_change_ticks;
    return NULL;
}

static const char *col_change_source(const agent_server *s, uint32_t *num)
{
    *num = s->last_change_source;
    return NULL;
}

static const server_column columns[] = {
    {MIB_SERVER_NAME, ASN_OCTET_STR, col_name},
    {MIB_SERVER_URL, ASN_OCTET_STR, col_url},
    {MIB_SERVER_STATUS, ASN_INTEGER, col_status},
    {MIB_SERVER_DATA_AGE, ASN_UNSIGNED, col_data_age},
    {MIB_SERVER_LAST_ERROR, ASN_OCTET_STR, col_last_error},
    {MIB_SERVER_REQUESTS, ASN_COUNTER, col_requests},
    {MIB_SERVER_FAILURES, ASN_COUNTER, col_failures},
    {MIB_SERVER_CONFIG_CHANGES, ASN_COUNTER, col_changes},
    {MIB_SERVER_LAST_CHANGE, ASN_TIMETICKS, col_last_change},
    {MIB_SERVER_LAST_CHANGE_SOURCE, ASN_INTEGER, col_change_source},
};

static netsnmp_handler_registration *registration;

size_t mib_column_oid(unsigned table, unsigned column, unsigned index, oid *out, size_t max)
{
    const oid prefix[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
    size_t n = sizeof prefix / sizeof prefix[0];
    if (max < n + 4)
        return 0;
    memcpy(out, prefix, sizeof prefix);
    out[n++] = table;
    out[n++] = 1; /* entry */
    out[n++] = column;
    out[n++] = index;
    return n;
}

int mib_server_column_value(const agent_server *s, unsigned column, netsnmp_variable_list *var)
{
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++) {
        if (columns[i].column != column)
            continue;
        uint32_t num = 0;
        const char *text = columns[i].get(s, &num);
        if (columns[i].type == ASN_OCTET_STR) {
            size_t len = strnlen(text ? text : "", 255);
            snmp_set_var_typed_value(var, ASN_OCTET_STR, text ? text : "", len);
        } else if (columns[i].type == ASN_INTEGER) {
            long v = (long)num;
            snmp_set_var_typed_value(var, ASN_INTEGER, &v, sizeof v);
        } else {
            u_long v = num;
            snmp_set_var_typed_value(var, columns[i].type, &v, sizeof v);
        }
        return SNMP_ERR_NOERROR;
    }
    return SNMP_NOSUCHOBJECT;
}

static netsnmp_variable_list *row_emit(void **loop, void **data, netsnmp_variable_list *index)
{
    agent_server *s = *loop;
    if (!s)
        return NULL;
    snmp_set_var_typed_integer(index, ASN_UNSIGNED, s->cfg.index);
    *data = s;
    *loop = s->next;
    return index;
}

static netsnmp_variable_list *row_first(void **loop, void **data, netsnmp_variable_list *index,
                                        netsnmp_iterator_info *info)
{
    (void)info;
    *loop = agent_servers_first();
    return row_emit(loop, data, index);
}

static netsnmp_variable_list *row_next(void **loop, void **data, netsnmp_variable_list *index,
                                       netsnmp_iterator_info *info)
{
    (void)info;
    return row_emit(loop, data, index);
}

static int server_table_handler(netsnmp_mib_handler *handler,
                                netsnmp_handler_registration *reginfo,
                                netsnmp_agent_request_info *reqinfo,
                                netsnmp_request_info *requests)
{
    (void)handler;
    (void)reginfo;
    if (reqinfo->mode != MODE_GET)
        return SNMP_ERR_NOERROR; /* read-only: the helpers answer notWritable */
    for (netsnmp_request_info *req = requests; req; req = req->next) {
        if (req->processed)
            continue;
        const agent_server *s = netsnmp_extract_iterator_context(req);
        netsnmp_table_request_info *t = netsnmp_extract_table_info(req);
        int err = s && t ? mib_server_column_value(s, t->colnum, req->requestvb)
                         : (int)SNMP_NOSUCHINSTANCE;
        if (err != SNMP_ERR_NOERROR)
            netsnmp_set_request_error(reqinfo, req, err);
    }
    return SNMP_ERR_NOERROR;
}

int mib_server_table_register(void)
{
    const mib_table_spec spec = {
        .name = "cupiServerTable",
        .table = CUPI_TABLE_SERVER,
        .min_column = MIB_SERVER_NAME,
        .max_column = MIB_SERVER_LAST_CHANGE_SOURCE,
        .modes = HANDLER_CAN_RONLY,
        .handler = server_table_handler,
        .first = row_first,
        .next = row_next,
    };
    registration = mib_register_table(&spec);
    return registration ? 0 : -1;
}

void mib_server_table_unregister(void)
{
    if (registration)
        netsnmp_unregister_handler(registration);
    registration = NULL;
}
