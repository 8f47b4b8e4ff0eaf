/* mib/server_table.c - cupiServerTable: one row per configured server with
 * its status and counters; read-only, answered from memory. Only its
 * descriptor lives here: mib/request.c answers for it. */
#include "mib/tables.h"
#include "model/history.h"

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

static const char *col_last_change_index(const agent_server *s, uint32_t *num)
{
    *num = agent_history_last_index(s);
    return NULL;
}

/* Columns 2..12; cupiServerIndex (1) is not-accessible. */
static const mib_column columns[] = {
    {ASN_OCTET_STR, false, col_name},             /* cupiServerName */
    {ASN_OCTET_STR, false, col_url},              /* cupiServerUrl */
    {ASN_INTEGER, false, col_status},             /* cupiServerStatus */
    {ASN_UNSIGNED, false, col_data_age},          /* cupiServerDataAge (Gauge32) */
    {ASN_OCTET_STR, false, col_last_error},       /* cupiServerLastError */
    {ASN_COUNTER, false, col_requests},           /* cupiServerRequests */
    {ASN_COUNTER, false, col_failures},           /* cupiServerFailures */
    {ASN_COUNTER, false, col_changes},            /* cupiServerConfigChanges */
    {ASN_TIMETICKS, false, col_last_change},      /* cupiServerLastChange */
    {ASN_INTEGER, false, col_change_source},      /* cupiServerLastChangeSource */
    {ASN_UNSIGNED, false, col_last_change_index}, /* cupiServerLastChangeIndex (Unsigned32) */
};

_Static_assert(sizeof columns / sizeof columns[0] ==
                   MIB_SERVER_LAST_CHANGE_INDEX - MIB_SERVER_NAME + 1,
               "one descriptor per cupiServerTable column, in column order");

const mib_table mib_server_table = {
    .name = "cupiServerTable",
    .arc = CUPI_TABLE_SERVER,
    .min_column = MIB_SERVER_NAME,
    .columns = columns,
    .n_columns = sizeof columns / sizeof columns[0],
    .resource = MIB_NO_RESOURCE,
};

int mib_server_table_register(void)
{
    return mib_table_register(&mib_server_table);
}

void mib_server_table_unregister(void)
{
    mib_table_unregister(&mib_server_table);
}
