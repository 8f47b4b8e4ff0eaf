/* mib/notify.c - cupiSmtpServerConfigChanged, cupiSmtpClientConfigChanged
 * and cupiServerStatusChanged, sent from a bounded queue.
 *
 * In the subagent every notification is an AgentX Notify that the master
 * answers on the same stream socket. Sent all at once (a WAN outage makes a
 * thousand servers fail in the same second), the Notifies fill the socket
 * while the master's answers pile up unread, until both processes block in
 * send() for good and snmpd stops answering anyone. So nothing is sent where
 * it happens: notifications are queued and an alarm sends a few per turn of
 * the event loop, with at most NOTIFY_WINDOW Notifies unanswered. The master
 * then never has more answers to write than a socket buffer holds, and the
 * loop reads them between two turns, so neither side can block.
 *
 * A status notification is built when the transition happens (each
 * transition is reported with its own status and error). A configuration
 * change stays open while queued: later changes of the same resource and
 * source join it, and its varbinds are built when it is sent, by the code
 * that answers GET. */
#include "mib/notify.h"
#include "loop/timer.h"
#include "mib/tables.h"

#include <time.h>

#define FLUSH_DELAY_MS 50 /* config changes this close together make one */
#define PACE_MS 10        /* between two turns of sending */
#define NOTIFY_BATCH 16   /* notifications sent per turn at most */
#define NOTIFY_WINDOW 16  /* AgentX Notifies the master has not answered yet */
/* Built notifications waiting (status changes, closed config changes).
 * Open config changes are not counted: there are at most two per server. */
#define NOTIFY_QUEUE_MAX 8192

/* The AgentX session of a subagent (net-snmp's agent library exports it but
 * installs no header declaring it); NULL while the master is unreachable. */
extern netsnmp_session *main_session;

typedef struct notice {
    struct notice *next;
    unsigned index; /* server row */
    unsigned notification;
    int64_t due_ms;              /* not sent before (monotonic ms) */
    netsnmp_variable_list *vars; /* built; NULL while the change is open */
    /* An open config change: */
    agent_server *server;
    cupi_resource resource;
    uint32_t mask;
    agent_change_source source;
} notice;

static const oid snmptrap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
static const unsigned notification_of[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = CUPI_NOTIFY_SERVER_CONFIG_CHANGED,
    [CUPI_RES_CLIENT] = CUPI_NOTIFY_CLIENT_CONFIG_CHANGED,
};

static notice *head, **tail = &head;
static size_t n_built;     /* queued notices with vars */
static unsigned long lost; /* dropped or merged since the queue last overflowed */
static bool overflowing;   /* the overflow was logged; its end is not yet */
static void send_turn(agent_timer *t);
static agent_timer send_timer = {.fire = send_turn};

/* --- varbinds: the values GET would return ------------------------------- */

static void add_trap_oid(netsnmp_variable_list **vars, unsigned notification)
{
    const oid trap[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_NOTIFICATIONS, notification};
    snmp_varlist_add_variable(vars, snmptrap_oid, OID_LENGTH(snmptrap_oid), ASN_OBJECT_ID,
                              (const u_char *)trap, sizeof trap);
}

/* Appends one column instance with the value GET would return; returns it
 * (NULL when out of memory). */
static netsnmp_variable_list *add_column(netsnmp_variable_list **vars, const agent_server *s,
                                         const mib_table *table, unsigned column)
{
    oid name[MAX_OID_LEN];
    size_t len = mib_column_oid(table->arc, column, s->cfg.index, name, MAX_OID_LEN);
    netsnmp_variable_list *var = snmp_varlist_add_variable(vars, name, len, ASN_NULL, NULL, 0);
    if (!var)
        return NULL;
    if (mib_table_value(table, s, column, var) != SNMP_ERR_NOERROR)
        snmp_set_var_typed_value(var, SNMP_NOSUCHINSTANCE, NULL, 0);
    return var;
}

static netsnmp_variable_list *config_vars(const notice *n)
{
    const agent_server *s = n->server;
    netsnmp_variable_list *vars = NULL;
    add_trap_oid(&vars, n->notification);
    add_column(&vars, s, &mib_server_table, MIB_SERVER_NAME);
    /* The source of the changes this notification carries, not the row's
     * latest: an external change queued just before a SET commits (seen by
     * the SET's own fresh read) is sent after the commit, when
     * cupiServerLastChangeSource already says snmp. */
    netsnmp_variable_list *source =
        add_column(&vars, s, &mib_server_table, MIB_SERVER_LAST_CHANGE_SOURCE);
    if (source) {
        long value = n->source;
        snmp_set_var_typed_value(source, ASN_INTEGER, (const u_char *)&value, sizeof value);
    }
    /* The last of the OBJECTS: the server's newest history row when this
     * is sent, so a receiver that lost notifications reads the change table
     * up to it. */
    add_column(&vars, s, &mib_server_table, MIB_SERVER_LAST_CHANGE_INDEX);
    size_t count = cupi_field_count(n->resource);
    for (unsigned col = 1; col <= count; col++)
        if (n->mask & CUPI_COLUMN_BIT(col))
            add_column(&vars, s, mib_config_table(n->resource), col);
    return vars;
}

static netsnmp_variable_list *status_vars(const agent_server *s)
{
    netsnmp_variable_list *vars = NULL;
    add_trap_oid(&vars, CUPI_NOTIFY_STATUS_CHANGED);
    add_column(&vars, s, &mib_server_table, MIB_SERVER_NAME);
    add_column(&vars, s, &mib_server_table, MIB_SERVER_STATUS);
    add_column(&vars, s, &mib_server_table, MIB_SERVER_LAST_ERROR);
    return vars;
}

/* --- the queue ------------------------------------------------------------- */

static void notice_free(notice *n)
{
    if (n->vars)
        snmp_free_varbind(n->vars);
    free(n);
}

/* Unlinks and frees every notice for which drop() is true. */
static void remove_if(bool (*drop)(const notice *, const void *), const void *arg)
{
    for (notice **link = &head; *link;) {
        notice *n = *link;
        if (!drop(n, arg)) {
            link = &n->next;
            continue;
        }
        *link = n->next;
        if (n->vars)
            n_built--;
        notice_free(n);
    }
    tail = &head;
    while (*tail)
        tail = &(*tail)->next;
}

static void count_lost(void)
{
    lost++;
    if (!overflowing)
        snmp_log(LOG_WARNING,
                 "cupi: notification queue full (%d waiting): further notifications are "
                 "merged or dropped until it drains\n",
                 NOTIFY_QUEUE_MAX);
    overflowing = true;
}

static void send_soon(int64_t delay_ms);

static void enqueue(notice *n)
{
    n->next = NULL;
    *tail = n;
    tail = &n->next;
    if (n->vars)
        n_built++;
    send_soon(n->due_ms - agent_now_ms());
}

static notice *open_change(const agent_server *s, cupi_resource r)
{
    for (notice *n = head; n; n = n->next)
        if (!n->vars && n->server == s && n->resource == r)
            return n;
    return NULL;
}

static notice *queued_status(unsigned index)
{
    for (notice *n = head; n; n = n->next)
        if (n->index == index && n->notification == CUPI_NOTIFY_STATUS_CHANGED)
            return n;
    return NULL;
}

/* --- sending --------------------------------------------------------------- */

/* Whether one more notification may be sent now. A subagent's Notify
 * waits for the master's answer (net-snmp counts both in trap_stats);
 * without a master there is nobody to send to yet, so the queue holds. In
 * snmpd itself (dlmod) notifications go straight to the sinks. */
static bool window_open(void)
{
    bool subagent = netsnmp_ds_get_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE);
    if (!subagent)
        return true;
    if (!main_session)
        return false;
    const netsnmp_trap_stats *st = main_session->trap_stats;
    if (!st)
        return true; /* nothing sent on this session yet */
    u_long settled = st->ack_count + st->timeouts + st->sent_fail_count + st->sec_err_count;
    u_long unanswered = st->sent_count > settled ? st->sent_count - settled : 0;
    return unanswered < NOTIFY_WINDOW;
}

static void send_one(notice *n)
{
    netsnmp_variable_list *vars = n->vars ? n->vars : config_vars(n);
    n->vars = NULL;
    if (agent_cfg.notifications && vars) {
        DEBUGMSGTL(("cupi", "server %u: sending notification %u\n", n->index, n->notification));
        send_v2trap(vars);
    }
    if (vars)
        snmp_free_varbind(vars);
}

static void send_turn(agent_timer *t)
{
    (void)t;
    int64_t now = agent_now_ms();
    for (int sent = 0; head && sent < NOTIFY_BATCH && head->due_ms <= now && window_open();
         sent++) {
        notice *n = head;
        head = n->next;
        if (!head)
            tail = &head;
        if (n->vars)
            n_built--;
        send_one(n);
        notice_free(n);
    }
    if (head) {
        send_soon(head->due_ms > now ? head->due_ms - now : PACE_MS);
    } else if (overflowing) {
        snmp_log(LOG_WARNING,
                 "cupi: notification queue drained; %lu notification(s) were merged or "
                 "dropped while it was full\n",
                 lost);
        overflowing = false;
        lost = 0;
    }
}

/* Arms the next turn within delay_ms (an earlier one stays). */
static void send_soon(int64_t delay_ms)
{
    if (delay_ms < PACE_MS)
        delay_ms = PACE_MS; /* never inside the call that queued it */
    int64_t due = agent_now_ms() + delay_ms;
    if (!agent_timer_armed(&send_timer) || send_timer.due_ms > due)
        agent_timer_set(&send_timer, due);
}

/* --- what the model calls ---------------------------------------------------- */

/* Builds an open change notice with the values it announces now, when the
 * queue of built ones has room. Whether it did. */
static bool close_notice(notice *n)
{
    if (n_built >= NOTIFY_QUEUE_MAX)
        return false;
    n->vars = config_vars(n);
    n_built += n->vars != NULL;
    return n->vars != NULL;
}

static void queue_config(agent_server *s, cupi_resource r, uint32_t changed,
                         agent_change_source source)
{
    if (!agent_cfg.notifications || !changed)
        return;
    notice *n = open_change(s, r);
    if (n && n->source != source) {
        /* One notification carries one source: the pending change is
         * closed with the values it announces now, another opens. */
        if (close_notice(n)) {
            n = NULL;
        } else {
            count_lost(); /* cannot close it: it takes the new source */
            n->source = source;
        }
    }
    if (n) {
        n->mask |= changed;
        return;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
        count_lost();
        return;
    }
    n->index = s->cfg.index;
    n->notification = notification_of[r];
    n->due_ms = agent_now_ms() + FLUSH_DELAY_MS;
    n->server = s;
    n->resource = r;
    n->mask = changed;
    n->source = source;
    enqueue(n);
}

static void queue_status(agent_server *s)
{
    if (!agent_cfg.notifications)
        return;
    netsnmp_variable_list *vars = NULL;
    if (n_built >= NOTIFY_QUEUE_MAX) {
        /* Full: the server's queued transition, if any, now reports the
         * latest status instead; otherwise this one is lost. */
        notice *q = queued_status(s->cfg.index);
        count_lost();
        if (q && (vars = status_vars(s)) != NULL) {
            snmp_free_varbind(q->vars);
            q->vars = vars;
        }
        return;
    }
    notice *n = calloc(1, sizeof *n);
    vars = n ? status_vars(s) : NULL;
    if (!vars) {
        free(n);
        count_lost();
        return;
    }
    n->index = s->cfg.index;
    n->notification = CUPI_NOTIFY_STATUS_CHANGED;
    n->due_ms = agent_now_ms();
    n->vars = vars;
    enqueue(n);
}

static bool opened_for(const notice *n, const void *server)
{
    return !n->vars && n->server == server;
}

static void close_open(agent_server *s)
{
    for (notice *n = head; n; n = n->next) {
        if (!opened_for(n, s))
            continue;
        if (close_notice(n))
            n->server = NULL; /* the row goes; the notice stays queued */
        else
            count_lost(); /* removed below */
    }
    remove_if(opened_for, s); /* those that could not be built */
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    switch (ev->type) {
    case AGENT_EVENT_VALUES:
        if (ev->changed)
            queue_config(ev->server, ev->resource, ev->changed, ev->source);
        break;
    case AGENT_EVENT_STATUS:
        /* Start-up finding the server well is not news. */
        if (!(ev->old_status == AGENT_STATUS_UNKNOWN && ev->server->status == AGENT_STATUS_OK))
            queue_status(ev->server);
        break;
    case AGENT_EVENT_REMOVED:
        /* Changes already made (a SET that a reload let finish) are still
         * news: built now, while the row's values are there. */
        close_open(ev->server);
        break;
    case AGENT_EVENT_MOVED:
        /* Open changes would be built from values that are no longer the
         * server's. */
        remove_if(opened_for, ev->server);
        break;
    case AGENT_EVENT_ADDED:
    case AGENT_EVENT_CLIENT:
    case AGENT_EVENT_STALE:
        break;
    }
}

int agent_notify_start(void)
{
    return agent_server_subscribe(on_event, NULL);
}

static bool any(const notice *n, const void *arg)
{
    (void)n;
    (void)arg;
    return true;
}

void agent_notify_shutdown(void)
{
    agent_timer_cancel(&send_timer);
    size_t left = 0;
    for (const notice *n = head; n; n = n->next)
        left++;
    if (left)
        snmp_log(LOG_INFO, "cupi: %zu queued notification(s) not sent at shutdown\n", left);
    remove_if(any, NULL);
    n_built = 0;
    lost = 0;
    overflowing = false;
}
