/* test_agent_model.c - the agent's model (agent_server) and the notification
 * queue (agent_notify) driven directly, without CUPI or a master agent.
 *
 * The process is a net-snmp agent with no transport. Rows come from
 * agent_servers_apply() with URLs nobody listens on; no background read is
 * ever scheduled (agent_refresh is not started), so everything the model
 * learns is handed to it here. A subscriber records the model's events, and
 * net-snmp's SEND_TRAP2 callback (called for every notification the agent
 * sends, sinks or not) records what the queue sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include <cupi/cupi.h>

#include "agent_harness.h"

#include "mib/notify.h"
#include "model/server.h"
#include "loop/timer.h"
#include "mib/oids.h"

#define APP "cupi-model-test"
#define MAX_SEEN 256

/* --- what the model and the queue did ------------------------------------ */

typedef struct seen_event {
    agent_event_type type;
    unsigned index;
    cupi_resource resource;
    uint32_t changed;
    bool first;
    agent_change_source source;
    agent_status old_status, new_status;
} seen_event;

typedef struct seen_trap {
    unsigned notification; /* last arc of snmpTrapOID.0 */
    unsigned index;        /* instance of the first object */
    long status;           /* cupiServerStatus, for status notifications */
    long source;           /* cupiServerLastChangeSource, for config ones */
    uint32_t columns;      /* config columns carried */
} seen_trap;

static seen_event events[MAX_SEEN];
static size_t n_events;
static seen_trap traps[MAX_SEEN];
static size_t n_traps;

static void record_event(const agent_event *ev, void *arg)
{
    (void)arg;
    if (n_events == MAX_SEEN)
        return;
    events[n_events++] = (seen_event){.type = ev->type,
                                      .index = ev->server->cfg.index,
                                      .resource = ev->resource,
                                      .changed = ev->changed,
                                      .first = ev->first,
                                      .source = ev->source,
                                      .old_status = ev->old_status,
                                      .new_status = ev->server->status};
}

static int record_trap(int major, int minor, void *serverarg, void *clientarg)
{
    (void)major;
    (void)minor;
    (void)clientarg;
    const netsnmp_pdu *pdu = serverarg;
    static const oid trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
    static const oid objects[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
    seen_trap t = {0};
    for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
        if (snmp_oid_compare(v->name, v->name_length, trap_oid, OID_LENGTH(trap_oid)) == 0) {
            t.notification = (unsigned)v->val.objid[v->val_len / sizeof(oid) - 1];
            continue;
        }
        if (v->name_length != OID_LENGTH(objects) + 4 ||
            snmp_oid_compare(v->name, OID_LENGTH(objects), objects, OID_LENGTH(objects)) != 0)
            continue;
        unsigned table = (unsigned)v->name[OID_LENGTH(objects)];
        unsigned column = (unsigned)v->name[OID_LENGTH(objects) + 2];
        if (!t.index)
            t.index = (unsigned)v->name[OID_LENGTH(objects) + 3];
        if (table == CUPI_TABLE_SERVER && column == MIB_SERVER_STATUS)
            t.status = *v->val.integer;
        else if (table == CUPI_TABLE_SERVER && column == MIB_SERVER_LAST_CHANGE_SOURCE)
            t.source = *v->val.integer;
        else if (table != CUPI_TABLE_SERVER)
            t.columns |= CUPI_COLUMN_BIT(column);
    }
    if (n_traps < MAX_SEEN)
        traps[n_traps++] = t;
    return 0;
}

/* Runs net-snmp's alarms (the queue's and the timers') for a while. */
/* A background read's outcome as the worker hands it over. */
static void take_read(agent_server *s, cupi_resource r, cupi_status st, const char *why,
                      const cupi_snapshot *snap, int64_t started_ms)
{
    worker_read rd = {
        .resource = r, .status = st, .started_ms = started_ms, .read_at = time(NULL)};
    snprintf(rd.why, sizeof rd.why, "%s", why);
    if (snap)
        rd.snapshot = *snap;
    agent_server_take_read(s, &rd);
}

static void pump(int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        run_alarms();
        usleep(5000);
    }
}

static void forget_seen(void)
{
    n_events = 0;
    n_traps = 0;
}

/* --- rows -------------------------------------------------------------------- */

static cupi_config config_of(const unsigned *indexes, const char *const *urls, size_t n)
{
    cupi_config cfg;
    cupi_config_init(&cfg);
    cfg.servers = calloc(n, sizeof *cfg.servers);
    assert_non_null(cfg.servers);
    cfg.n_servers = n;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "cuc%u", indexes[i]);
        cfg.servers[i].index = indexes[i];
        cfg.servers[i].name = strdup(name);
        cfg.servers[i].url = strdup(urls[i]);
        cfg.servers[i].user = strdup("admin");
        cfg.servers[i].password = strdup("model-test-pw");
        cfg.servers[i].format = CUPI_FORMAT_XML;
    }
    return cfg;
}

static void apply(const unsigned *indexes, const char *const *urls, size_t n)
{
    cupi_config cfg = config_of(indexes, urls, n);
    assert_int_equal(agent_servers_apply(&cfg), 0);
    cupi_config_free(&cfg);
}

static const unsigned three[] = {1, 5, 9};
static const char *const three_urls[] = {"https://127.0.0.1:1", "https://127.0.0.1:5",
                                         "https://127.0.0.1:9"};

/* A full, valid snapshot of a resource: the fields' documented defaults,
 * with domainName set (its default is empty, which a read may not hold). */
static cupi_snapshot defaults(cupi_resource r)
{
    cupi_snapshot snap;
    cupi_snapshot_init(&snap, r);
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *text = f[i].default_value;
        if (f[i].type == CUPI_TYPE_STRING && f[i].syntax == CUPI_SYNTAX_HOSTNAME)
            text = "mail.example.com";
        cupi_value v;
        assert_int_equal(cupi_value_parse(&f[i], text, strlen(text), &v), CUPI_VALID);
        cupi_snapshot_set(&snap, f[i].column, &v);
    }
    return snap;
}

static void set_int(cupi_snapshot *snap, const char *field, int64_t value)
{
    const cupi_field *f = cupi_field_find(snap->resource, field);
    assert_non_null(f);
    cupi_value v = {.i = value};
    cupi_snapshot_set(snap, f->column, &v);
}

static unsigned column_of(cupi_resource r, const char *field)
{
    return cupi_field_find(r, field)->column;
}

static int setup(void **state)
{
    (void)state;
    if (harness_start(APP) != 0)
        return -1;
    if (agent_notify_start() != 0 || agent_server_subscribe(record_event, NULL) != 0)
        return -1;
    snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_SEND_TRAP2, record_trap,
                           NULL);
    apply(three, three_urls, 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    agent_notify_shutdown();
    agent_servers_clear();
    agent_server_unsubscribe_all();
    agent_timer_shutdown();
    harness_stop();
    cupi_global_cleanup();
    snmp_shutdown(APP);
    return 0;
}

/* Every test starts from rows 1, 5, 9 with no values, status unknown. */
static int fresh_rows(void **state)
{
    (void)state;
    agent_notify_shutdown();
    apply(NULL, NULL, 0);
    apply(three, three_urls, 3);
    forget_seen();
    return 0;
}

/* --- lookups ------------------------------------------------------------------ */

static void test_lookups_by_index(void **state)
{
    (void)state;
    assert_int_equal(agent_servers_count(), 3);
    assert_null(agent_server_find(0));
    assert_null(agent_server_find(4));
    assert_int_equal(agent_server_find(5)->cfg.index, 5);
    assert_int_equal(agent_server_next(0)->cfg.index, 1);
    assert_int_equal(agent_server_next(1)->cfg.index, 5);
    assert_int_equal(agent_server_next(6)->cfg.index, 9);
    assert_null(agent_server_next(9));
    assert_null(agent_server_next(UINT_MAX));
    assert_int_equal(agent_server_position(5), 1);
    assert_int_equal(agent_server_position(10), 3);
    assert_int_equal(agent_server_at(2)->cfg.index, 9);
    assert_null(agent_server_at(3));
}

/* --- status -------------------------------------------------------------------- */

static void test_status_transitions_notify_once_each(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(5);
    agent_server_take_status(s, CUPI_OK, NULL); /* unknown -> ok: an event, no news */
    agent_server_take_status(s, CUPI_OK, NULL);
    agent_server_take_status(s, CUPI_E_TRANSPORT, "connection refused");
    agent_server_take_status(s, CUPI_E_TIMEOUT, "timed out"); /* still unreachable */
    agent_server_take_status(s, CUPI_OK, NULL);
    pump(100);

    assert_int_equal(n_events, 3);
    assert_int_equal(events[0].old_status, AGENT_STATUS_UNKNOWN);
    assert_int_equal(events[0].new_status, AGENT_STATUS_OK);
    assert_int_equal(events[1].new_status, AGENT_STATUS_UNREACHABLE);
    assert_int_equal(events[2].new_status, AGENT_STATUS_OK);
    assert_int_equal(n_traps, 2);
    assert_int_equal(traps[0].notification, CUPI_NOTIFY_STATUS_CHANGED);
    assert_int_equal(traps[0].index, 5);
    assert_int_equal(traps[0].status, AGENT_STATUS_UNREACHABLE); /* as at the transition */
    assert_int_equal(traps[1].status, AGENT_STATUS_OK);
    assert_string_equal(s->last_error, "");
}

static void test_a_failing_resource_keeps_the_status(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(1);
    cupi_snapshot server = defaults(CUPI_RES_SERVER), client = defaults(CUPI_RES_CLIENT);
    take_read(s, CUPI_RES_SERVER, CUPI_OK, "", &server, agent_now_ms());
    take_read(s, CUPI_RES_CLIENT, CUPI_E_AUTH, "HTTP 401", NULL, agent_now_ms());
    assert_int_equal(s->status, AGENT_STATUS_AUTH_FAILED);
    /* the server resource reads fine again: the client's failure still shows */
    take_read(s, CUPI_RES_SERVER, CUPI_OK, "", &server, agent_now_ms());
    assert_int_equal(s->status, AGENT_STATUS_AUTH_FAILED);
    assert_string_equal(s->last_error, "HTTP 401");
    take_read(s, CUPI_RES_CLIENT, CUPI_OK, "", &client, agent_now_ms());
    assert_int_equal(s->status, AGENT_STATUS_OK);
    pump(100);
    size_t status_traps = 0;
    for (size_t i = 0; i < n_traps; i++)
        status_traps += traps[i].notification == CUPI_NOTIFY_STATUS_CHANGED;
    assert_int_equal(status_traps, 2); /* ok -> authFailed -> ok */
}

/* --- values --------------------------------------------------------------------- */

static void test_first_values_are_no_change(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(9);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    assert_int_equal(agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0), 0);
    pump(100);
    assert_int_equal(n_events, 1);
    assert_true(events[0].first);
    assert_int_equal(events[0].changed, 0);
    assert_int_equal(s->config_changes, 0);
    assert_int_equal(n_traps, 0);
}

static void test_changes_of_one_source_coalesce(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(9);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "maxNumberConnections", 31);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "smtpClientThreads", 7);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    pump(200);
    assert_int_equal(s->config_changes, 2);
    assert_int_equal(n_traps, 1);
    assert_int_equal(traps[0].notification, CUPI_NOTIFY_SERVER_CONFIG_CHANGED);
    assert_int_equal(traps[0].source, AGENT_SOURCE_EXTERNAL);
    assert_int_equal(traps[0].columns,
                     CUPI_COLUMN_BIT(column_of(CUPI_RES_SERVER, "maxNumberConnections")) |
                         CUPI_COLUMN_BIT(column_of(CUPI_RES_SERVER, "smtpClientThreads")));
}

static void test_each_source_keeps_its_notification(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(1);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "maxNumberConnections", 11);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "maxNumberRecipients", 12);
    agent_server_set_commit(s, &snap, 0);
    pump(200);
    assert_int_equal(n_traps, 2);
    assert_int_equal(traps[0].source, AGENT_SOURCE_EXTERNAL);
    assert_int_equal(traps[1].source, AGENT_SOURCE_SNMP);
    assert_int_equal(s->last_change_source, AGENT_SOURCE_SNMP);
    assert_true(traps[1].columns &
                CUPI_COLUMN_BIT(column_of(CUPI_RES_SERVER, "maxNumberRecipients")));
}

static void test_a_stale_read_is_dropped(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(5);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    int64_t started = agent_now_ms();
    cupi_snapshot committed = snap;
    set_int(&committed, "maxNumberConnections", 40);
    agent_server_set_commit(s, &committed, 0); /* a SET after the read started */
    take_read(s, CUPI_RES_SERVER, CUPI_OK, "", &snap, started);
    assert_int_equal(s->res[CUPI_RES_SERVER].snap.v[2].i, 40);
    /* a read while a SET holds the row is dropped too */
    agent_server_set_begin(s);
    take_read(s, CUPI_RES_SERVER, CUPI_OK, "", &snap, agent_now_ms() + 1);
    agent_server_set_end(s);
    assert_int_equal(s->res[CUPI_RES_SERVER].snap.v[2].i, 40);
}

static void test_late_put_is_the_sets_change(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(5);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    cupi_snapshot put;
    cupi_snapshot_init(&put, CUPI_RES_SERVER);
    cupi_value v = {.i = 33};
    cupi_snapshot_set(&put, column_of(CUPI_RES_SERVER, "maxNumberConnections"), &v);
    forget_seen();
    agent_server_expect_late_put(s, &put);
    assert_int_equal(n_events, 1);
    assert_int_equal(events[0].type, AGENT_EVENT_STALE);
    /* another value first: somebody else's */
    set_int(&snap, "maxNumberConnections", 34);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    assert_int_equal(s->last_change_source, AGENT_SOURCE_EXTERNAL);
    /* then exactly the PUT's value: the SET's */
    set_int(&snap, "maxNumberConnections", 33);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    assert_int_equal(s->last_change_source, AGENT_SOURCE_SNMP);
    /* only once */
    set_int(&snap, "maxNumberConnections", 34);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "maxNumberConnections", 33);
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    assert_int_equal(s->last_change_source, AGENT_SOURCE_EXTERNAL);
}

static void test_restore_only_fills_unknown_values(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(1);
    cupi_snapshot saved = defaults(CUPI_RES_CLIENT);
    agent_server_restore(s, &saved, 1000);
    assert_true(s->res[CUPI_RES_CLIENT].valid);
    assert_int_equal(s->res[CUPI_RES_CLIENT].read_at, 1000);
    assert_int_equal(n_events, 1);
    assert_int_equal(events[0].source, AGENT_SOURCE_NONE);
    assert_true(events[0].first);
    agent_server_restore(s, &saved, 2000); /* values known: ignored */
    assert_int_equal(s->res[CUPI_RES_CLIENT].read_at, 1000);
    assert_int_equal(n_events, 1);
    /* the first read differing from the saved values is a change */
    cupi_snapshot now = saved;
    const cupi_field *user = cupi_field_find(CUPI_RES_CLIENT, "smtpUsername");
    cupi_value v = {0};
    strcpy(v.s, "changed-while-down");
    cupi_snapshot_set(&now, user->column, &v);
    assert_int_equal(agent_server_take_values(s, &now, AGENT_SOURCE_EXTERNAL, 0),
                     CUPI_COLUMN_BIT(user->column));
    pump(200);
    assert_int_equal(n_traps, 1);
    assert_int_equal(traps[0].notification, CUPI_NOTIFY_CLIENT_CONFIG_CHANGED);
}

/* --- configuration ---------------------------------------------------------------- */

static void test_reload_publishes_rows_gone_and_moved(void **state)
{
    (void)state;
    agent_server *s5 = agent_server_find(5);
    cupi_snapshot snap = defaults(CUPI_RES_SERVER);
    agent_server_take_values(s5, &snap, AGENT_SOURCE_EXTERNAL, 0);
    set_int(&snap, "maxNumberConnections", 12);
    agent_server_take_values(s5, &snap, AGENT_SOURCE_EXTERNAL, 0); /* queued, not sent */
    forget_seen();
    static const unsigned two[] = {5, 9};
    static const char *const moved[] = {"https://127.0.0.1:55", "https://127.0.0.1:9"};
    apply(two, moved, 2);
    bool removed1 = false, moved5 = false, client5 = false;
    for (size_t i = 0; i < n_events; i++) {
        removed1 |= events[i].type == AGENT_EVENT_REMOVED && events[i].index == 1;
        moved5 |= events[i].type == AGENT_EVENT_MOVED && events[i].index == 5;
        client5 |= events[i].type == AGENT_EVENT_CLIENT && events[i].index == 5;
        assert_int_not_equal(events[i].index, 9); /* unchanged: nothing happened to it */
    }
    assert_true(removed1 && moved5 && client5);
    assert_null(agent_server_find(1));
    assert_false(agent_server_find(5)->res[CUPI_RES_SERVER].valid);
    pump(200);
    assert_int_equal(n_traps, 0); /* the moved row's queued change is dropped */
}

/* At a poll short enough to keep connections, only the first 200 servers
 * in index order keep theirs, however a reload moves servers across that
 * line (a server added in front pushes the 200th out). */
static void test_connections_kept_by_the_first_200_only(void **state)
{
    (void)state;
    enum { N = 202 };
    static unsigned idx[N];
    static const char *urls[N];
    for (unsigned i = 0; i < N; i++) {
        idx[i] = 10 + i;
        urls[i] = "https://127.0.0.1:1";
    }
    cupi_config cfg = config_of(idx + 1, urls, N - 1); /* 11 .. 211 */
    cfg.poll_interval_s = 10;
    assert_int_equal(agent_servers_apply(&cfg), 0);
    cupi_config_free(&cfg);
    unsigned kept = 0;
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        kept += s->keeps_connections;
    assert_int_equal(kept, 200);
    assert_true(agent_server_find(210)->keeps_connections);
    assert_false(agent_server_find(211)->keeps_connections);
    worker_client *before = agent_server_find(211)->client;

    cfg = config_of(idx, urls, N); /* 10 in front: 210 is now the 201st */
    cfg.poll_interval_s = 10;
    assert_int_equal(agent_servers_apply(&cfg), 0);
    cupi_config_free(&cfg);
    kept = 0;
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        kept += s->keeps_connections;
    assert_int_equal(kept, 200);
    assert_true(agent_server_find(10)->keeps_connections);
    assert_false(agent_server_find(210)->keeps_connections);
    assert_ptr_equal(agent_server_find(211)->client, before); /* nothing to change */

    /* A poll too long to keep connections: none does. */
    cfg = config_of(idx, urls, N);
    cfg.poll_interval_s = 300;
    assert_int_equal(agent_servers_apply(&cfg), 0);
    cupi_config_free(&cfg);
    assert_false(agent_server_find(10)->keeps_connections);
    apply(three, three_urls, 3);
}

/* --- the queue --------------------------------------------------------------------- */

static void test_a_burst_is_sent_in_order_one_per_transition(void **state)
{
    (void)state;
    static const cupi_status flips[] = {CUPI_OK, CUPI_E_TRANSPORT};
    for (int round = 0; round < 40; round++)
        for (size_t i = 0; i < 3; i++)
            agent_server_take_status(agent_server_find(three[i]), flips[round % 2], "x");
    /* nothing is sent inside the calls that queue */
    assert_int_equal(n_traps, 0);
    pump(1500);
    /* round 0: unknown -> ok is no news; then 39 transitions per row */
    assert_int_equal(n_traps, 39 * 3);
    for (size_t i = 0; i < n_traps; i++) {
        assert_int_equal(traps[i].index, three[i % 3]);
        assert_int_equal(traps[i].status,
                         (i / 3) % 2 == 0 ? AGENT_STATUS_UNREACHABLE : AGENT_STATUS_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lookups_by_index, fresh_rows),
        cmocka_unit_test_setup(test_status_transitions_notify_once_each, fresh_rows),
        cmocka_unit_test_setup(test_a_failing_resource_keeps_the_status, fresh_rows),
        cmocka_unit_test_setup(test_first_values_are_no_change, fresh_rows),
        cmocka_unit_test_setup(test_changes_of_one_source_coalesce, fresh_rows),
        cmocka_unit_test_setup(test_each_source_keeps_its_notification, fresh_rows),
        cmocka_unit_test_setup(test_a_stale_read_is_dropped, fresh_rows),
        cmocka_unit_test_setup(test_late_put_is_the_sets_change, fresh_rows),
        cmocka_unit_test_setup(test_restore_only_fills_unknown_values, fresh_rows),
        cmocka_unit_test_setup(test_reload_publishes_rows_gone_and_moved, fresh_rows),
        cmocka_unit_test_setup(test_connections_kept_by_the_first_200_only, fresh_rows),
        cmocka_unit_test_setup(test_a_burst_is_sent_in_order_one_per_transition, fresh_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
