/* mib/register.c - registers each CUPI-SMTP-MIB table with net-snmp, from
 * its descriptor: the table helper with the table's indexes and columns in
 * front of the one request handler (mib/request.c). */
#include "mib/request.h"
#include "mib/tables.h"

/* Registrations by arc under cupiSmtpObjects. */
static netsnmp_handler_registration *registrations[CUPI_TABLE_CHANGE + 1];

int mib_table_register(const mib_table *t)
{
    if (t->arc >= sizeof registrations / sizeof registrations[0] || registrations[t->arc])
        return -1;
    oid table_oid[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS, t->arc};
    int modes = t->resource == MIB_NO_RESOURCE ? HANDLER_CAN_RONLY : HANDLER_CAN_RWRITE;
    netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
        t->name, mib_request_handler, table_oid, OID_LENGTH(table_oid), modes);
    netsnmp_table_registration_info *tinfo =
        SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
    if (!reg || !tinfo) {
        if (reg)
            netsnmp_handler_registration_free(reg);
        SNMP_FREE(tinfo);
        return -1;
    }
    /* The handler only reads the descriptor. */
    reg->my_reg_void = (void *)t;
    if (t->subrows)
        netsnmp_table_helper_add_indexes(tinfo, ASN_UNSIGNED, ASN_UNSIGNED, 0);
    else
        netsnmp_table_helper_add_indexes(tinfo, ASN_UNSIGNED, 0);
    tinfo->min_column = t->min_column;
    tinfo->max_column = mib_table_max_column(t);
    netsnmp_mib_handler *helper = netsnmp_get_table_handler(tinfo);
    if (!helper) {
        netsnmp_table_registration_info_free(tinfo);
        netsnmp_handler_registration_free(reg);
        return -1;
    }
    /* The table info goes with the helper, so unregistering frees it. */
    netsnmp_handler_owns_table_info(helper);
    if (netsnmp_inject_handler(reg, helper) != SNMPERR_SUCCESS) {
        netsnmp_handler_free(helper);
        netsnmp_handler_registration_free(reg);
        return -1;
    }
    /* On failure net-snmp frees the registration and its handlers. */
    if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
        return -1;
    registrations[t->arc] = reg;
    return 0;
}

void mib_table_unregister(const mib_table *t)
{
    if (t->arc >= sizeof registrations / sizeof registrations[0] || !registrations[t->arc])
        return;
    netsnmp_unregister_handler(registrations[t->arc]);
    registrations[t->arc] = NULL;
}
