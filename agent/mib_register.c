/* mib_register.c - how every CUPI-SMTP-MIB table is registered: a
 * table_iterator over the configured servers, indexed by cupiServerIndex. */
#include "mib_tables.h"

netsnmp_handler_registration *mib_register_table(const mib_table_spec *spec)
{
    oid table_oid[CUPI_MIB_ROOT_LEN + 2] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS, spec->table};
    netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
        spec->name, spec->handler, table_oid, OID_LENGTH(table_oid), spec->modes);
    netsnmp_table_registration_info *tinfo =
        SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
    netsnmp_iterator_info *iinfo = SNMP_MALLOC_TYPEDEF(netsnmp_iterator_info);
    if (!reg || !tinfo || !iinfo) {
        if (reg)
            netsnmp_handler_registration_free(reg);
        SNMP_FREE(tinfo);
        SNMP_FREE(iinfo);
        return NULL;
    }
    reg->my_reg_void = spec->data;
    netsnmp_table_helper_add_indexes(tinfo, ASN_UNSIGNED, 0);
    tinfo->min_column = spec->min_column;
    tinfo->max_column = spec->max_column;
    iinfo->get_first_data_point = spec->first;
    iinfo->get_next_data_point = spec->next;
    iinfo->myvoid = spec->data;
    iinfo->table_reginfo = tinfo;
    /* On failure net-snmp frees the registration and the iterator info. */
    if (netsnmp_register_table_iterator2(reg, iinfo) != MIB_REGISTERED_OK)
        return NULL;
    return reg;
}
