/* mib_config_tables.c - cupiSmtpServerTable and cupiSmtpClientTable, the
 * CUPI fields as columns (AUGMENTS cupiServerEntry). A row exists once the
 * resource's values are known; its columns and their types come from the
 * libcupi field table. */
#include "mib_tables.h"
#include "set_txn.h"

#include <string.h>

/* TruthValue encoding of the CUPI booleans. */
#define TRUTH_TRUE 1
#define TRUTH_FALSE 2

static const unsigned table_of[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = CUPI_TABLE_SMTP_SERVER,
    [CUPI_RES_CLIENT] = CUPI_TABLE_SMTP_CLIENT,
};
static const cupi_resource resources[CUPI_RES_COUNT] = {CUPI_RES_SERVER, CUPI_RES_CLIENT};
static netsnmp_handler_registration *registrations[CUPI_RES_COUNT];

unsigned mib_config_table_of(cupi_resource r)
{
    return table_of[r];
}

int mib_config_column_value(const agent_server *s, cupi_resource r, unsigned column,
                            netsnmp_variable_list *var)
{
    const cupi_field *f = cupi_field_at(r, column);
    if (!f)
        return SNMP_NOSUCHOBJECT;
    if (!s->res[r].valid)
        return SNMP_NOSUCHINSTANCE;
    const cupi_value *v = &s->res[r].snap.v[column - 1];
    long num;
    switch (f->type) {
    case CUPI_TYPE_BOOL:
        num = v->i ? TRUTH_TRUE : TRUTH_FALSE;
        snmp_set_var_typed_value(var, ASN_INTEGER, &num, sizeof num);
        break;
    case CUPI_TYPE_INT:
        num = (long)v->i;
        snmp_set_var_typed_value(var, ASN_INTEGER, &num, sizeof num);
        break;
    case CUPI_TYPE_STRING:
    default:
        /* A write-only value reads as a zero-length string, always. */
        snmp_set_var_typed_value(var, ASN_OCTET_STR, f->write_only ? "" : v->s,
                                 f->write_only ? 0 : strlen(v->s));
        break;
    }
    return SNMP_ERR_NOERROR;
}

/* Rows of a config table: servers whose resource values are known. (A SET
 * finds its server by index itself: values are read fresh for it.) */
static agent_server *next_row(agent_server *s, cupi_resource r)
{
    while (s && !s->res[r].valid)
        s = s->next;
    return s;
}

static netsnmp_variable_list *row_emit(void **loop, void **data, netsnmp_variable_list *index,
                                       netsnmp_iterator_info *info)
{
    agent_server *s = *loop;
    if (!s)
        return NULL;
    cupi_resource r = *(const cupi_resource *)info->myvoid;
    snmp_set_var_typed_integer(index, ASN_UNSIGNED, s->cfg.index);
    *data = s;
    *loop = next_row(s->next, r);
    return index;
}

static netsnmp_variable_list *row_first(void **loop, void **data, netsnmp_variable_list *index,
                                        netsnmp_iterator_info *info)
{
    cupi_resource r = *(const cupi_resource *)info->myvoid;
    *loop = next_row(agent_servers_first(), r);
    return row_emit(loop, data, index, info);
}

static netsnmp_variable_list *row_next(void **loop, void **data, netsnmp_variable_list *index,
                                       netsnmp_iterator_info *info)
{
    return row_emit(loop, data, index, info);
}

static int config_table_handler(netsnmp_mib_handler *handler,
                                netsnmp_handler_registration *reginfo,
                                netsnmp_agent_request_info *reqinfo,
                                netsnmp_request_info *requests)
{
    cupi_resource r = *(const cupi_resource *)reginfo->my_reg_void;
    if (reqinfo->mode != MODE_GET)
        return set_txn_handle(r, handler, reginfo, reqinfo, requests);
    for (netsnmp_request_info *req = requests; req; req = req->next) {
        if (req->processed)
            continue;
        const agent_server *s = netsnmp_extract_iterator_context(req);
        netsnmp_table_request_info *t = netsnmp_extract_table_info(req);
        int err = s && t ? mib_config_column_value(s, r, t->colnum, req->requestvb)
                         : (int)SNMP_NOSUCHINSTANCE;
        if (err != SNMP_ERR_NOERROR)
            netsnmp_set_request_error(reqinfo, req, err);
    }
    return SNMP_ERR_NOERROR;
}

static int register_one(cupi_resource r)
{
    static const char *const names[CUPI_RES_COUNT] = {"cupiSmtpServerTable",
                                                      "cupiSmtpClientTable"};
    const mib_table_spec spec = {
        .name = names[r],
        .table = table_of[r],
        .min_column = 1,
        .max_column = (unsigned)cupi_field_count(r),
        .modes = HANDLER_CAN_RWRITE,
        .handler = config_table_handler,
        .first = row_first,
        .next = row_next,
        .data = (void *)&resources[r],
    };
    registrations[r] = mib_register_table(&spec);
    return registrations[r] ? 0 : -1;
}

int mib_config_tables_register(void)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        if (register_one((cupi_resource)r) != 0)
            return -1;
    return 0;
}

void mib_config_tables_unregister(void)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        if (registrations[r])
            netsnmp_unregister_handler(registrations[r]);
        registrations[r] = NULL;
    }
}
