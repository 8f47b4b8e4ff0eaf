/* agent_notify.c - cupiSmtpServerConfigChanged, cupiSmtpClientConfigChanged
 * and cupiServerStatusChanged.
 *
 * Config changes are queued per server and resource and sent from an alarm,
 * so a burst of changes becomes one notification per resource instead of a
 * flood the master must absorb while it is also waiting for our responses. */
#include "agent_notify.h"
#include "mib_tables.h"

#define FLUSH_DELAY_US 50000

static const oid snmptrap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
static const unsigned notification_of[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = CUPI_NOTIFY_SERVER_CONFIG_CHANGED,
    [CUPI_RES_CLIENT] = CUPI_NOTIFY_CLIENT_CONFIG_CHANGED,
};
static unsigned flush_alarm;

static void add_trap_oid(netsnmp_variable_list **vars, unsigned notification)
{
    const oid trap[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_NOTIFICATIONS, notification};
    snmp_varlist_add_variable(vars, snmptrap_oid, OID_LENGTH(snmptrap_oid), ASN_OBJECT_ID,
                              (const u_char *)trap, sizeof trap);
}

/* Appends one column instance with the value GET would return; returns it
 * (NULL when out of memory). */
static netsnmp_variable_list *add_column(netsnmp_variable_list **vars, const agent_server *s,
                                         unsigned table, unsigned column)
{
    oid name[MAX_OID_LEN];
    size_t len = mib_column_oid(table, column, s->cfg.index, name, MAX_OID_LEN);
    netsnmp_variable_list *var = snmp_varlist_add_variable(vars, name, len, ASN_NULL, NULL, 0);
    if (!var)
        return NULL;
    int err = table == CUPI_TABLE_SERVER
                  ? mib_server_column_value(s, column, var)
                  : mib_config_column_value(
                        s, table == CUPI_TABLE_SMTP_SERVER ? CUPI_RES_SERVER : CUPI_RES_CLIENT,
                        column, var);
    if (err != SNMP_ERR_NOERROR)
        snmp_set_var_typed_value(var, SNMP_NOSUCHINSTANCE, NULL, 0);
    return var;
}

static void send_config(agent_server *s, cupi_resource r)
{
    uint32_t mask = s->notify_mask[r];
    s->notify_mask[r] = 0;
    if (!mask || !agent_cfg.notifications)
        return;
    netsnmp_variable_list *vars = NULL;
    add_trap_oid(&vars, notification_of[r]);
    add_column(&vars, s, CUPI_TABLE_SERVER, MIB_SERVER_NAME);
    /* The source of the changes this notification carries, not the row's
     * latest: an external change queued just before a SET commits (seen by
     * the SET's own fresh read) is sent at the commit, when
     * cupiServerLastChangeSource already says snmp. */
    netsnmp_variable_list *source =
        add_column(&vars, s, CUPI_TABLE_SERVER, MIB_SERVER_LAST_CHANGE_SOURCE);
    if (source) {
        long value = s->notify_source[r];
        snmp_set_var_typed_value(source, ASN_INTEGER, (const u_char *)&value, sizeof value);
    }
    size_t n = cupi_field_count(r);
    for (unsigned col = 1; col <= n; col++)
        if (mask & (1u << (col - 1)))
            add_column(&vars, s, mib_config_table_of(r), col);
    DEBUGMSGTL(("cupi", "server %u: sending %s config notification (mask 0x%x)\n", s->cfg.index,
                cupi_resource_name(r), mask));
    send_v2trap(vars);
    snmp_free_varbind(vars);
}

static void flush(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    flush_alarm = 0;
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        for (int r = 0; r < CUPI_RES_COUNT; r++)
            send_config(s, (cupi_resource)r);
}

void agent_notify_config(agent_server *s, cupi_resource r, uint32_t changed,
                         agent_change_source source)
{
    if (!agent_cfg.notifications || !changed)
        return;
    /* One notification carries one source: do not merge an SNMP change
     * into a pending external one. */
    if (s->notify_mask[r] && s->notify_source[r] != source)
        send_config(s, r);
    s->notify_mask[r] |= changed;
    s->notify_source[r] = source;
    if (!flush_alarm) {
        struct timeval tv = {0, FLUSH_DELAY_US};
        flush_alarm = snmp_alarm_register_hr(tv, 0, flush, NULL);
    }
}

void agent_notify_status(agent_server *s)
{
    if (!agent_cfg.notifications)
        return;
    netsnmp_variable_list *vars = NULL;
    add_trap_oid(&vars, CUPI_NOTIFY_STATUS_CHANGED);
    add_column(&vars, s, CUPI_TABLE_SERVER, MIB_SERVER_NAME);
    add_column(&vars, s, CUPI_TABLE_SERVER, MIB_SERVER_STATUS);
    add_column(&vars, s, CUPI_TABLE_SERVER, MIB_SERVER_LAST_ERROR);
    send_v2trap(vars);
    snmp_free_varbind(vars);
}

void agent_notify_forget(agent_server *s)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        s->notify_mask[r] = 0;
}

void agent_notify_shutdown(void)
{
    if (flush_alarm)
        snmp_alarm_unregister(flush_alarm);
    flush_alarm = 0;
}
