/* mib/config_tables.c - cupiSmtpServerTable and cupiSmtpClientTable: the
 * CUPI fields of each resource as columns (AUGMENTS cupiServerEntry). A row
 * exists once the resource's values are known; columns, types and access
 * come from the libcupi field table, answers from mib/request.c. */
#include "mib/tables.h"

const mib_table mib_smtp_server_table = {
    .name = "cupiSmtpServerTable",
    .arc = CUPI_TABLE_SMTP_SERVER,
    .min_column = 1,
    .resource = CUPI_RES_SERVER,
};

const mib_table mib_smtp_client_table = {
    .name = "cupiSmtpClientTable",
    .arc = CUPI_TABLE_SMTP_CLIENT,
    .min_column = 1,
    .resource = CUPI_RES_CLIENT,
};

static const mib_table *const config_tables[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = &mib_smtp_server_table,
    [CUPI_RES_CLIENT] = &mib_smtp_client_table,
};

const mib_table *mib_config_table(cupi_resource r)
{
    return config_tables[r];
}

unsigned mib_config_table_of(cupi_resource r)
{
    return config_tables[r]->arc;
}

int mib_config_tables_register(void)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        if (mib_table_register(config_tables[r]) != 0)
            return -1;
    return 0;
}

void mib_config_tables_unregister(void)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        mib_table_unregister(config_tables[r]);
}
