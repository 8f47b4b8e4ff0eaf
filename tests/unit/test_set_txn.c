/* test_set_txn.c - the SET transaction's state machine against a fake CUPI.
 *
 * The SETs are whole PDUs through net-snmp's own request processing, as in
 * test_mib_handlers.c: this process is a master agent with no listening
 * transport, and a pair of callback-transport sessions carries the PDUs.
 * The PDU is sent with snmp_async_send and the test pumps net-snmp's loop
 * (agent_check_and_process(0)), because RESERVE2, ACTION and UNDO are
 * delegated requests that net-snmp resumes from that loop. Between two
 * passes of the loop the fake CUPI answers at most one outstanding request:
 * never from inside get/put, always later, as libcurl would.
 *
 * The fake keeps what CUPI holds for each row and resource, applies the
 * PUTs it accepts and records every request ("GET 1 server", "PUT 1 server
 * maxNumberConnections=30") so that each test asserts the exact CUPI
 * request sequence. A script makes request number n fail, time out, or be
 * accepted without effect.
 *
 * Abandonment (expiry) cannot happen with an in-process master, which always
 * completes its SETs: that test calls set_txn_handle for RESERVE1 with a
 * hand-built request, as the master would, and then lets the fake clock run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <cupi/cupi.h>

#include "agent_harness.h"

#include "model/server.h"
#include "mib/oids.h"
#include "mib/tables.h"
#include "mib/set_txn.h"

#define APP "cupi-set-test"
#define MAX_REQUESTS 32
#define LOOP_BOUND 20000

static const unsigned row_indexes[] = {1, 2};
#define N_ROWS (sizeof row_indexes / sizeof row_indexes[0])

static netsnmp_session *master, *client;

/* --- the fake CUPI ----------------------------------------------------------- */

typedef enum fake_fault {
    FAULT_NONE,
    FAULT_FAIL,         /* answered with the scripted status, nothing applied */
    FAULT_LOST,         /* timed out, nothing applied */
    FAULT_LOST_APPLIED, /* timed out, but CUPI applied it */
    FAULT_IGNORED,      /* 200, but CUPI kept the old values */
} fake_fault;

typedef struct fake_request {
    bool put;
    unsigned index;
    cupi_snapshot body;
    cupi_callback cb;
    void *arg;
    bool answered;
    unsigned queued_at, answered_at; /* event numbers: which overlapped */
} fake_request;

static struct {
    cupi_snapshot truth[N_ROWS][CUPI_RES_COUNT];
    fake_request req[MAX_REQUESTS];
    size_t n;
    fake_fault fault[MAX_REQUESTS];
    cupi_status fault_status[MAX_REQUESTS];
    unsigned in_flight, max_in_flight;
    unsigned events;
    int64_t now_ms;
    char log[2048];
    char logged[4096]; /* what the module logged, one line per message */
} fake;

static size_t row_slot(unsigned index)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (row_indexes[i] == index)
            return i;
    fail_msg("no row %u", index);
    return 0;
}

static void log_request(const fake_request *r, cupi_resource res)
{
    char line[512];
    int len = snprintf(line, sizeof line, "%s%s %u %s", fake.log[0] ? "; " : "",
                       r->put ? "PUT" : "GET", r->index, cupi_resource_name(res));
    for (unsigned col = 1; r->put && col <= CUPI_MAX_COLUMNS; col++) {
        if (!cupi_snapshot_has(&r->body, col))
            continue;
        const cupi_field *f = cupi_field_at(res, col);
        const cupi_value *v = &r->body.v[col - 1];
        if (f->type == CUPI_TYPE_STRING)
            len += snprintf(line + len, sizeof line - (size_t)len, " %s=%s", f->name, v->s);
        else
            len +=
                snprintf(line + len, sizeof line - (size_t)len, " %s=%" PRId64, f->name, v->i);
    }
    strncat(fake.log, line, sizeof fake.log - strlen(fake.log) - 1);
}

static cupi_status fake_queue(bool put, agent_server *s, cupi_resource res,
                              const cupi_snapshot *body, cupi_callback cb, void *arg)
{
    assert_true(fake.n < MAX_REQUESTS);
    fake_request *r = &fake.req[fake.n++];
    memset(r, 0, sizeof *r);
    r->put = put;
    r->index = s->cfg.index;
    if (body)
        r->body = *body;
    else
        cupi_snapshot_init(&r->body, res);
    r->cb = cb;
    r->arg = arg;
    r->queued_at = ++fake.events;
    log_request(r, res);
    if (++fake.in_flight > fake.max_in_flight)
        fake.max_in_flight = fake.in_flight;
    return CUPI_OK;
}

static cupi_status fake_get(agent_server *s, cupi_resource r, cupi_callback cb, void *arg)
{
    return fake_queue(false, s, r, NULL, cb, arg);
}

static cupi_status fake_put(agent_server *s, const cupi_snapshot *changes, cupi_callback cb,
                            void *arg)
{
    return fake_queue(true, s, changes->resource, changes, cb, arg);
}

static int64_t fake_now_ms(void)
{
    return fake.now_ms;
}

static const set_txn_io fake_io = {fake_get, fake_put, fake_now_ms};

static void strip_write_only(cupi_snapshot *snap)
{
    size_t n;
    const cupi_field *f = cupi_fields(snap->resource, &n);
    for (size_t i = 0; i < n; i++)
        if (f[i].write_only)
            snap->present &= ~(1u << (f[i].column - 1));
}

/* Answers the oldest outstanding request; false when there is none. */
static bool fake_answer_one(void)
{
    size_t k = 0;
    while (k < fake.n && fake.req[k].answered)
        k++;
    if (k == fake.n)
        return false;
    fake_request *r = &fake.req[k];
    r->answered = true;
    r->answered_at = ++fake.events;
    fake.in_flight--;
    cupi_snapshot *truth = &fake.truth[row_slot(r->index)][r->body.resource];
    cupi_result res = {.status = CUPI_OK,
                       .http_status = 200,
                       .resource = r->body.resource,
                       .is_put = r->put,
                       .attempts = 1};
    switch (fake.fault[k]) {
    case FAULT_NONE:
        if (r->put)
            cupi_snapshot_apply(truth, &r->body);
        break;
    case FAULT_FAIL:
        res.status = fake.fault_status[k];
        res.http_status = res.status == CUPI_E_REJECTED ? 400 : 503;
        snprintf(res.message, sizeof res.message, "scripted failure");
        break;
    case FAULT_LOST_APPLIED:
        cupi_snapshot_apply(truth, &r->body);
        /* fall through */
    case FAULT_LOST:
        res.status = CUPI_E_TIMEOUT;
        res.http_status = 0;
        snprintf(res.message, sizeof res.message, "Operation timed out");
        break;
    case FAULT_IGNORED:
        break;
    }
    if (!r->put && res.status == CUPI_OK) {
        res.snapshot = *truth;
        strip_write_only(&res.snapshot);
    }
    r->cb(&res, r->arg);
    return true;
}

/* Requests a and b were both outstanding at some moment. */
static void assert_overlap(size_t a, size_t b)
{
    assert_true(a < fake.n && b < fake.n);
    assert_true(fake.req[a].queued_at < fake.req[b].answered_at);
    assert_true(fake.req[b].queued_at < fake.req[a].answered_at);
}

static void fake_script(size_t request, fake_fault fault, cupi_status status)
{
    fake.fault[request] = fault;
    fake.fault_status[request] = status;
}

/* What the module logs names the step that failed. */
static int on_log(int major, int minor, void *serverarg, void *clientarg)
{
    (void)major;
    (void)minor;
    (void)clientarg;
    const struct snmp_log_message *m = serverarg;
    if (m && m->msg) {
        strncat(fake.logged, m->msg, sizeof fake.logged - strlen(fake.logged) - 1);
        fputs(m->msg, stderr); /* net-snmp stops its own stderr log for this */
    }
    return SNMPERR_SUCCESS;
}

/* --- values ---------------------------------------------------------------------- */

static void set_int(cupi_snapshot *s, const char *name, int64_t v)
{
    const cupi_field *f = cupi_field_find(s->resource, name);
    assert_non_null(f);
    cupi_value val = {.i = v};
    cupi_snapshot_set(s, f->column, &val);
}

static void set_str(cupi_snapshot *s, const char *name, const char *v)
{
    const cupi_field *f = cupi_field_find(s->resource, name);
    assert_non_null(f);
    cupi_value val;
    memset(&val, 0, sizeof val);
    snprintf(val.s, sizeof val.s, "%s", v);
    cupi_snapshot_set(s, f->column, &val);
}

static cupi_snapshot base_values(cupi_resource r)
{
    cupi_snapshot s;
    cupi_snapshot_init(&s, r);
    if (r == CUPI_RES_SERVER) {
        set_int(&s, "Port", 25);
        set_str(&s, "domainName", "cuc.example.com");
        set_int(&s, "maxNumberConnections", 20);
        set_int(&s, "smtpClientThreads", 2);
        set_int(&s, "maxMessageSizeKb", 10000);
        set_int(&s, "maxNumberMessagesSession", 10);
        set_int(&s, "maxNumberRecipients", 15000);
        set_int(&s, "retryDeliveryTimeoutMin", 0);
        set_int(&s, "allowConnectionsFromUntrustedIpAddresses", 0);
        set_int(&s, "requireAuthenticationFromUntrustedIpAddresses", 0);
        set_int(&s, "requireTlsFromUntrustedIpAddresses", 0);
    } else {
        set_str(&s, "smtpSmartHost", "relay.example.com");
        set_int(&s, "isClientSecure", 0);
        set_int(&s, "smtpPort", 25);
        set_int(&s, "isAuthEnabled", 0);
        set_str(&s, "smtpUsername", "");
    }
    return s;
}

/* What GET serves for a column of a row. */
static int64_t model_int(unsigned index, cupi_resource r, const char *name)
{
    agent_server *s = agent_server_find(index);
    assert_non_null(s);
    const cupi_field *f = cupi_field_find(r, name);
    assert_true(cupi_snapshot_has(&s->res[r].snap, f->column));
    return s->res[r].snap.v[f->column - 1].i;
}

static int64_t truth_int(unsigned index, cupi_resource r, const char *name)
{
    const cupi_field *f = cupi_field_find(r, name);
    return fake.truth[row_slot(index)][r].v[f->column - 1].i;
}

/* --- setup ------------------------------------------------------------------------ */

static cupi_config make_config(bool with_row_2)
{
    cupi_config cfg;
    cupi_config_init(&cfg);
    cfg.servers = calloc(N_ROWS, sizeof *cfg.servers);
    assert_non_null(cfg.servers);
    for (size_t i = 0; i < N_ROWS; i++) {
        if (row_indexes[i] == 2 && !with_row_2)
            continue;
        cupi_server_config *c = &cfg.servers[cfg.n_servers++];
        char name[16], url[64];
        snprintf(name, sizeof name, "cuc-%u", row_indexes[i]);
        snprintf(url, sizeof url, "https://127.0.0.1:%u", row_indexes[i]); /* never used */
        c->index = row_indexes[i];
        c->name = strdup(name);
        c->url = strdup(url);
        c->user = strdup("admin");
        c->password = strdup("admin-password");
        c->format = CUPI_FORMAT_XML;
    }
    return cfg;
}

static void apply_config(bool with_row_2)
{
    cupi_config cfg = make_config(with_row_2);
    assert_int_equal(agent_servers_apply(&cfg), 0);
    cupi_config_free(&cfg);
}

/* The model's values are older than any a SET takes instead of a read. */
static void make_cache_stale(void)
{
    for (size_t i = 0; i < N_ROWS; i++)
        for (int r = 0; r < CUPI_RES_COUNT; r++)
            agent_server_find(row_indexes[i])->res[r].read_at = time(NULL) - 60;
}

/* Every row serves the base values; CUPI holds them; no request recorded;
 * the cache is stale, so every SET reads first. */
static int reset(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    fake.now_ms = 10000;
    for (size_t i = 0; i < N_ROWS; i++) {
        agent_server *s = agent_server_find(row_indexes[i]);
        if (!s)
            return -1;
        for (int r = 0; r < CUPI_RES_COUNT; r++) {
            fake.truth[i][r] = base_values((cupi_resource)r);
            agent_server_take_values(s, &fake.truth[i][r], AGENT_SOURCE_EXTERNAL, 0);
            free(s->res[r].late_put); /* no late PUT expected */
            s->res[r].late_put = NULL;
            s->res[r].failing = false;
        }
    }
    make_cache_stale();
    return 0;
}

/* An OID outside the MIB whose handler fails ACTION: a PDU with it and a
 * config column gets our ACTION done and then an UNDO. */
static const oid failing_oid[] = {1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 77, 0};

static int failing_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
                           netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reginfo;
    if (reqinfo->mode == MODE_SET_ACTION)
        netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_COMMITFAILED);
    return SNMP_ERR_NOERROR;
}

/* Another OID whose COMMIT shuts the module's SET down first, as a SIGTERM
 * between the master's ACTION and its COMMIT (CleanupSet) does: a PDU
 * names it before the config columns, so its handler runs first in each
 * phase. */
static const oid shutdown_oid[] = {1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 78, 0};

static int shutdown_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
                            netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reginfo;
    (void)requests;
    if (reqinfo->mode == MODE_SET_COMMIT)
        set_txn_shutdown();
    return SNMP_ERR_NOERROR;
}

static int register_oid(const char *name, Netsnmp_Node_Handler *fn, const oid *o, size_t len)
{
    netsnmp_handler_registration *reg =
        netsnmp_create_handler_registration(name, fn, o, len, HANDLER_CAN_RWRITE);
    return reg && netsnmp_register_handler(reg) == MIB_REGISTERED_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (harness_start(APP) != 0)
        return -1;
    apply_config(true);
    set_txn_use_io(&fake_io);
    snmp_enable_calllog();
    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, NULL);
    if (mib_config_tables_register() != 0)
        return -1;
    if (register_oid("cupi-test-failing", failing_handler, failing_oid,
                     OID_LENGTH(failing_oid)) != 0 ||
        register_oid("cupi-test-shutdown", shutdown_handler, shutdown_oid,
                     OID_LENGTH(shutdown_oid)) != 0)
        return -1;

    client = harness_open_client(&master, "private", 30);
    return client ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    set_txn_shutdown();
    if (client)
        snmp_close(client);
    if (master)
        snmp_close(master);
    mib_config_tables_unregister();
    agent_servers_clear();
    set_txn_use_io(NULL);
    harness_stop();
    cupi_global_cleanup();
    snmp_shutdown(APP);
    shutdown_agent();
    return 0;
}

/* --- SET PDUs ------------------------------------------------------------------------ */

static const oid objects_oid[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
#define OBJECTS_LEN (CUPI_MIB_ROOT_LEN + 1)

typedef struct varbind {
    cupi_resource res;
    unsigned index;
    const char *field; /* NULL: the failing OID, or the shutdown OID when s is set */
    long i;
    const char *s;
} varbind;

static netsnmp_pdu *response;
static bool got_response;

static int on_response(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
    (void)sess;
    (void)reqid;
    (void)magic;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
        response = snmp_clone_pdu(pdu);
    got_response = true;
    return 1;
}

static void send_set(const varbind *vb, size_t n)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_SET);
    assert_non_null(pdu);
    pdu->flags |= UCD_MSG_FLAG_ALWAYS_IN_VIEW;
    for (size_t i = 0; i < n; i++) {
        if (!vb[i].field) {
            long one = 1;
            if (vb[i].s)
                snmp_pdu_add_variable(pdu, shutdown_oid, OID_LENGTH(shutdown_oid), ASN_INTEGER,
                                      &one, sizeof one);
            else
                snmp_pdu_add_variable(pdu, failing_oid, OID_LENGTH(failing_oid), ASN_INTEGER,
                                      &one, sizeof one);
            continue;
        }
        const cupi_field *f = cupi_field_find(vb[i].res, vb[i].field);
        assert_non_null(f);
        oid name[MAX_OID_LEN];
        memcpy(name, objects_oid, sizeof objects_oid);
        size_t len = OBJECTS_LEN;
        name[len++] =
            vb[i].res == CUPI_RES_SERVER ? CUPI_TABLE_SMTP_SERVER : CUPI_TABLE_SMTP_CLIENT;
        name[len++] = 1;
        name[len++] = f->column;
        name[len++] = vb[i].index;
        if (f->type == CUPI_TYPE_STRING)
            snmp_pdu_add_variable(pdu, name, len, ASN_OCTET_STR, vb[i].s, strlen(vb[i].s));
        else
            snmp_pdu_add_variable(pdu, name, len, ASN_INTEGER, &vb[i].i, sizeof vb[i].i);
    }
    if (response)
        snmp_free_pdu(response);
    response = NULL;
    got_response = false;
    assert_true(snmp_async_send(client, pdu, on_response, NULL) != 0);
}

/* One pass of net-snmp's loop, then at most one CUPI answer. */
static void loop_once(bool answer)
{
    agent_check_and_process(0);
    if (answer)
        fake_answer_one();
}

static void wait_response(void)
{
    for (int i = 0; i < LOOP_BOUND && !got_response; i++)
        loop_once(true);
    assert_true(got_response);
    assert_non_null(response);
    assert_int_equal(response->command, SNMP_MSG_RESPONSE);
}

/* Lets the agent run without answering until n requests were made. */
static void wait_requests(size_t n)
{
    for (int i = 0; i < LOOP_BOUND && fake.n < n; i++)
        loop_once(false);
    assert_int_equal(fake.n, n);
}

/* Sends a SET, answers CUPI as scripted until the response; checks the
 * error-status and error-index and that the transaction let go of its rows
 * and left no request behind. */
static void run_set(const varbind *vb, size_t n, long status, long index)
{
    send_set(vb, n);
    wait_response();
    for (int i = 0; i < 50; i++)
        loop_once(true); /* nothing more may happen */
    if (response->errstat != status || response->errindex != index)
        print_message("CUPI requests: %s\n", fake.log);
    assert_int_equal(response->errstat, status);
    assert_int_equal(response->errindex, index);
    assert_int_equal(fake.in_flight, 0);
    for (size_t i = 0; i < N_ROWS; i++) {
        agent_server *s = agent_server_find(row_indexes[i]);
        if (s)
            assert_int_equal(s->pending_sets, 0);
    }
}

#define VB_INT(res, idx, name, v)                                                              \
    {                                                                                          \
        res, idx, name, v, NULL                                                                \
    }
#define SRV CUPI_RES_SERVER
#define CLI CUPI_RES_CLIENT

/* --- success -------------------------------------------------------------------------- */

static void test_one_varbind(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(agent_server_find(1)->last_change_source, AGENT_SOURCE_SNMP);
}

static void test_several_varbinds_one_resource(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 1, "smtpClientThreads", 4)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log, "GET 1 server; "
                                  "PUT 1 server maxNumberConnections=30 smtpClientThreads=4; "
                                  "GET 1 server");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(model_int(1, SRV, "smtpClientThreads"), 4);
}

static void test_two_resources(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(CLI, 1, "smtpPort", 587)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; GET 1 client; "
                        "PUT 1 server maxNumberConnections=30; PUT 1 client smtpPort=587; "
                        "GET 1 server; GET 1 client");
    /* three round trips: the reads, the PUTs, the read-backs each at once */
    assert_overlap(0, 1);
    assert_overlap(2, 3);
    assert_overlap(4, 5);
    assert_int_equal(fake.max_in_flight, 2);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(model_int(1, CLI, "smtpPort"), 587);
}

static void test_two_rows(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 2, "maxNumberConnections", 40)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log, "GET 1 server; GET 2 server; "
                                  "PUT 1 server maxNumberConnections=30; "
                                  "PUT 2 server maxNumberConnections=40; "
                                  "GET 1 server; GET 2 server");
    assert_overlap(0, 1);
    assert_overlap(2, 3);
    assert_overlap(4, 5);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(model_int(2, SRV, "maxNumberConnections"), 40);
}

static void test_readbacks_after_answered_and_unanswered_puts(void **state)
{
    (void)state;
    fake_script(3, FAULT_LOST_APPLIED, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 2, "maxNumberConnections", 40)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log, "GET 1 server; GET 2 server; "
                                  "PUT 1 server maxNumberConnections=30; "
                                  "PUT 2 server maxNumberConnections=40; "
                                  "GET 1 server; GET 2 server");
    assert_overlap(4, 5); /* one round of read-backs for both */
    assert_int_equal(model_int(2, SRV, "maxNumberConnections"), 40);
}

/* --- failures ------------------------------------------------------------------------------
 */

static void test_read_fails(void **state)
{
    (void)state;
    fake_script(0, FAULT_FAIL, CUPI_E_BUSY);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_RESOURCEUNAVAILABLE, 1);
    assert_string_equal(fake.log, "GET 1 server");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_rule_fails(void **state)
{
    (void)state;
    /* authentication from untrusted addresses while they are not allowed */
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 1, "requireAuthenticationFromUntrustedIpAddresses", 1)};
    run_set(vb, 2, SNMP_ERR_INCONSISTENTVALUE, 1);
    assert_string_equal(fake.log, "GET 1 server");
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_rule_judged_with_every_varbind(void **state)
{
    (void)state;
    /* the same change is fine together with the column it needs */
    const varbind vb[] = {VB_INT(SRV, 1, "requireAuthenticationFromUntrustedIpAddresses", 1),
                          VB_INT(SRV, 1, "allowConnectionsFromUntrustedIpAddresses", 1)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_int_equal(truth_int(1, SRV, "requireAuthenticationFromUntrustedIpAddresses"), 1);
}

static void test_put_refused(void **state)
{
    (void)state;
    fake_script(1, FAULT_FAIL, CUPI_E_REJECTED);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log, "GET 1 server; PUT 1 server maxNumberConnections=30");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_second_resource_fails(void **state)
{
    (void)state;
    fake_script(3, FAULT_FAIL, CUPI_E_REJECTED);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(CLI, 1, "smtpPort", 587)};
    run_set(vb, 2, SNMP_ERR_COMMITFAILED, 2);
    /* both PUTs at once; the applied one is put back, nothing is read back */
    assert_string_equal(fake.log,
                        "GET 1 server; GET 1 client; "
                        "PUT 1 server maxNumberConnections=30; PUT 1 client smtpPort=587; "
                        "PUT 1 server maxNumberConnections=20");
    assert_overlap(2, 3);
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_put_back_fails(void **state)
{
    (void)state;
    fake_script(3, FAULT_FAIL, CUPI_E_REJECTED);
    fake_script(4, FAULT_FAIL, CUPI_E_BUSY);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(CLI, 1, "smtpPort", 587)};
    run_set(vb, 2, SNMP_ERR_UNDOFAILED, 2);
    assert_string_equal(fake.log,
                        "GET 1 server; GET 1 client; "
                        "PUT 1 server maxNumberConnections=30; PUT 1 client smtpPort=587; "
                        "PUT 1 server maxNumberConnections=20");
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 30);
}

static void test_value_does_not_stick(void **state)
{
    (void)state;
    fake_script(1, FAULT_IGNORED, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log, "GET 1 server; PUT 1 server maxNumberConnections=30; "
                                  "GET 1 server; PUT 1 server maxNumberConnections=20");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_put_lost_but_applied(void **state)
{
    (void)state;
    fake_script(1, FAULT_LOST_APPLIED, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_null(agent_server_find(1)->res[SRV].late_put);
}

static void test_put_lost_not_applied(void **state)
{
    (void)state;
    fake_script(1, FAULT_LOST, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    /* nothing put back: the old values are there (and the PUT may land later) */
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
    agent_server *s = agent_server_find(1);
    assert_non_null(s->res[SRV].late_put);
    const cupi_field *f = cupi_field_find(SRV, "maxNumberConnections");
    assert_true(cupi_snapshot_has(s->res[SRV].late_put, f->column));
    assert_int_equal(s->res[SRV].late_put->v[f->column - 1].i, 30);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

/* Only a PUT can end unknown: a read that times out fails the SET, it is
 * not read again as if its outcome were open. */
static void test_read_times_out(void **state)
{
    (void)state;
    fake_script(0, FAULT_LOST, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_RESOURCEUNAVAILABLE, 1);
    assert_string_equal(fake.log, "GET 1 server");
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
}

/* A read-back that times out after an answered PUT: the PUT is known to be
 * applied, so it is put back; the log names the step. */
static void test_readback_times_out(void **state)
{
    (void)state;
    fake_script(2, FAULT_LOST, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log, "GET 1 server; PUT 1 server maxNumberConnections=30; "
                                  "GET 1 server; PUT 1 server maxNumberConnections=20");
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
    assert_non_null(strstr(fake.logged, "server: reading back the PUT failed: "));
    assert_null(agent_server_find(1)->res[SRV].late_put);
}

/* The read-back of a PUT without answer fails too: nothing is put back (it
 * is not known to be applied), the PUT may still land, and the log tells
 * this read-back from the other. */
static void test_put_lost_and_readback_fails(void **state)
{
    (void)state;
    fake_script(1, FAULT_LOST, CUPI_OK);
    fake_script(2, FAULT_FAIL, CUPI_E_BUSY);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
    assert_non_null(
        strstr(fake.logged, "server: reading back the PUT without answer failed: "));
    assert_null(strstr(fake.logged, "server: reading back the PUT failed: "));
    assert_non_null(agent_server_find(1)->res[SRV].late_put);
}

/* One PUT refused, the other without answer: the SET fails without reading
 * the unanswered one back or putting it back, and expects it to land. */
static void test_put_lost_beside_refused_put(void **state)
{
    (void)state;
    fake_script(2, FAULT_FAIL, CUPI_E_REJECTED);
    fake_script(3, FAULT_LOST, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 2, "maxNumberConnections", 40)};
    run_set(vb, 2, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log, "GET 1 server; GET 2 server; "
                                  "PUT 1 server maxNumberConnections=30; "
                                  "PUT 2 server maxNumberConnections=40");
    assert_null(agent_server_find(1)->res[SRV].late_put);
    const cupi_snapshot *late = agent_server_find(2)->res[SRV].late_put;
    assert_non_null(late);
    const cupi_field *f = cupi_field_find(SRV, "maxNumberConnections");
    assert_int_equal(late->v[f->column - 1].i, 40);
    assert_int_equal(model_int(2, SRV, "maxNumberConnections"), 20);
}

/* A shutdown after ACTION and before COMMIT: what was read back is what
 * CUPI holds, and the model (so the state file) takes it. */
static void test_shutdown_before_commit(void **state)
{
    (void)state;
    const varbind vb[] = {{SRV, 0, NULL, 0, "shutdown"},
                          VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(agent_server_find(1)->last_change_source, AGENT_SOURCE_SNMP);
}

/* --- the read skipped on a fresh cache -------------------------------------------------------
 */

static void make_cache_fresh(unsigned index, cupi_resource r)
{
    agent_server_find(index)->res[r].read_at = time(NULL);
}

static void test_fresh_cache_skips_read(void **state)
{
    (void)state;
    make_cache_fresh(1, SRV);
    make_cache_fresh(1, CLI);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(CLI, 1, "smtpPort", 587)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    /* two round trips: the PUTs, the read-backs */
    assert_string_equal(fake.log,
                        "PUT 1 server maxNumberConnections=30; PUT 1 client smtpPort=587; "
                        "GET 1 server; GET 1 client");
    assert_overlap(0, 1);
    assert_overlap(2, 3);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(model_int(1, CLI, "smtpPort"), 587);
}

static void test_fresh_cache_puts_back_its_values(void **state)
{
    (void)state;
    make_cache_fresh(1, SRV);
    fake_script(0, FAULT_IGNORED, CUPI_OK);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_COMMITFAILED, 1);
    assert_string_equal(fake.log, "PUT 1 server maxNumberConnections=30; GET 1 server; "
                                  "PUT 1 server maxNumberConnections=20");
}

static void test_fresh_cache_change_by_others_stays_theirs(void **state)
{
    (void)state;
    make_cache_fresh(1, SRV);
    /* changed on CUC after the cache was read, in a column the SET leaves alone */
    fake.truth[row_slot(1)][SRV].v[cupi_field_find(SRV, "maxMessageSizeKb")->column - 1].i =
        20000;
    agent_server *s = agent_server_find(1);
    uint32_t changes = s->config_changes;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log, "PUT 1 server maxNumberConnections=30; GET 1 server");
    /* two changes: somebody's (external), then the SET's (snmp) */
    assert_int_equal(s->config_changes, changes + 2);
    assert_int_equal(s->last_change_source, AGENT_SOURCE_SNMP);
    assert_int_equal(model_int(1, SRV, "maxMessageSizeKb"), 20000);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 30);
}

static void test_fresh_cache_rule_column_read(void **state)
{
    (void)state;
    make_cache_fresh(1, SRV);
    /* a rule involves it: what CUPI holds now decides */
    const varbind vb[] = {VB_INT(SRV, 1, "requireTlsFromUntrustedIpAddresses", 1)};
    fake.truth[row_slot(1)][SRV]
        .v[cupi_field_find(SRV, "allowConnectionsFromUntrustedIpAddresses")->column - 1]
        .i = 1;
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; "
                        "PUT 1 server requireTlsFromUntrustedIpAddresses=1; GET 1 server");
}

static void test_fresh_cache_after_failed_refresh_read(void **state)
{
    (void)state;
    make_cache_fresh(1, SRV);
    agent_server_find(1)->res[SRV].failing = true;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30)};
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log,
                        "GET 1 server; PUT 1 server maxNumberConnections=30; GET 1 server");
}

static void test_fresh_cache_mixed(void **state)
{
    (void)state;
    /* row 1 fresh, row 2 stale: only row 2 is read */
    make_cache_fresh(1, SRV);
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 2, "maxNumberConnections", 40)};
    run_set(vb, 2, SNMP_ERR_NOERROR, 0);
    assert_string_equal(fake.log, "GET 2 server; "
                                  "PUT 1 server maxNumberConnections=30; "
                                  "PUT 2 server maxNumberConnections=40; "
                                  "GET 1 server; GET 2 server");
}

/* --- UNDO, abandonment, reload -------------------------------------------------------------
 */

static void test_undo(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30), {SRV, 0, NULL, 0, NULL}};
    run_set(vb, 2, SNMP_ERR_COMMITFAILED, 2);
    assert_string_equal(fake.log, "GET 1 server; PUT 1 server maxNumberConnections=30; "
                                  "GET 1 server; PUT 1 server maxNumberConnections=20");
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 20);
}

static void test_undo_two_rows(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 30),
                          VB_INT(SRV, 2, "maxNumberConnections", 40),
                          {SRV, 0, NULL, 0, NULL}};
    run_set(vb, 3, SNMP_ERR_COMMITFAILED, 3);
    assert_string_equal(fake.log, "GET 1 server; GET 2 server; "
                                  "PUT 1 server maxNumberConnections=30; "
                                  "PUT 2 server maxNumberConnections=40; "
                                  "GET 1 server; GET 2 server; "
                                  "PUT 1 server maxNumberConnections=20; "
                                  "PUT 2 server maxNumberConnections=20");
    assert_overlap(6, 7); /* put back at once */
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 20);
    assert_int_equal(truth_int(2, SRV, "maxNumberConnections"), 20);
}

static void test_abandoned_transaction_expires(void **state)
{
    (void)state;
    /* RESERVE1 of a SET whose master then goes away */
    netsnmp_variable_list value, idx;
    memset(&value, 0, sizeof value);
    memset(&idx, 0, sizeof idx);
    long thirty = 30, one = 1;
    snmp_set_var_typed_value(&value, ASN_INTEGER, &thirty, sizeof thirty);
    snmp_set_var_typed_value(&idx, ASN_UNSIGNED, &one, sizeof one);
    netsnmp_table_request_info ti;
    memset(&ti, 0, sizeof ti);
    ti.colnum = cupi_field_find(SRV, "maxNumberConnections")->column;
    ti.indexes = &idx;
    netsnmp_request_info req;
    memset(&req, 0, sizeof req);
    req.requestvb = &value;
    netsnmp_request_add_list_data(&req,
                                  netsnmp_create_data_list(TABLE_HANDLER_NAME, &ti, NULL));
    netsnmp_agent_request_info reqinfo;
    memset(&reqinfo, 0, sizeof reqinfo);
    reqinfo.mode = MODE_SET_RESERVE1;
    assert_int_equal(set_txn_handle(SRV, NULL, NULL, &reqinfo, &req), SNMP_ERR_NOERROR);
    assert_int_equal(req.status, SNMP_ERR_NOERROR);
    netsnmp_free_request_data_sets(&req);

    agent_server *s = agent_server_find(1);
    assert_int_equal(s->pending_sets, 1); /* held: background reads are dropped */
    fake.now_ms += 120 * 1000 - 1;
    set_txn_expire();
    assert_int_equal(s->pending_sets, 1); /* a slow master is not an absent one */
    fake.now_ms += 1;                     /* two minutes without a phase */
    set_txn_expire();
    assert_int_equal(s->pending_sets, 0);
    assert_string_equal(fake.log, "");

    /* the next SET runs as usual */
    const varbind vb[] = {VB_INT(SRV, 1, "maxNumberConnections", 31)};
    run_set(vb, 1, SNMP_ERR_NOERROR, 0);
    assert_int_equal(model_int(1, SRV, "maxNumberConnections"), 31);
}

/* The row leaves from a timer that fires right after its SET ends (the
 * SET may end inside one of its own callbacks): give it a few ms. */
static bool row_goes(unsigned index)
{
    for (int i = 0; i < 200 && agent_server_find(index); i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        loop_once(true);
    }
    return agent_server_find(index) == NULL;
}

/* A reload that removes a row while its SET waits for CUPI: the row stays
 * until the SET ends, the SET goes through and tells the truth, and only
 * then does the row go. */
static void test_reload_removes_row_mid_set(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 2, "maxNumberConnections", 30)};
    send_set(vb, 1);
    wait_requests(1); /* the fresh read is in flight */
    apply_config(false);
    agent_server *s = agent_server_find(2);
    assert_non_null(s); /* kept while the SET holds it */
    assert_true(s->leaving);
    wait_response();
    for (int i = 0; i < 50; i++)
        loop_once(true);
    assert_int_equal(response->errstat, SNMP_ERR_NOERROR);
    assert_string_equal(fake.log,
                        "GET 2 server; PUT 2 server maxNumberConnections=30; GET 2 server");
    assert_int_equal(truth_int(2, SRV, "maxNumberConnections"), 30);
    assert_int_equal(fake.in_flight, 0);
    assert_true(row_goes(2)); /* once the SET ended */

    apply_config(true); /* row 2 back, for the other tests */
    assert_int_equal(agent_server_find(2)->pending_sets, 0);
}

static void test_reload_removes_one_of_two_rows(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 2, "maxNumberConnections", 40),
                          VB_INT(SRV, 1, "maxNumberConnections", 30)};
    send_set(vb, 2);
    wait_requests(2); /* both fresh reads in flight */
    apply_config(false);
    wait_response();
    for (int i = 0; i < 50; i++)
        loop_once(true);
    /* both rows written: the removed one is not cut off half-way */
    assert_int_equal(response->errstat, SNMP_ERR_NOERROR);
    assert_int_equal(truth_int(2, SRV, "maxNumberConnections"), 40);
    assert_int_equal(truth_int(1, SRV, "maxNumberConnections"), 30);
    assert_int_equal(agent_server_find(1)->pending_sets, 0);
    assert_true(row_goes(2));
    apply_config(true);
}

/* Configured again before its SET ended: the row simply stays. */
static void test_reload_removes_then_restores_row_mid_set(void **state)
{
    (void)state;
    const varbind vb[] = {VB_INT(SRV, 2, "maxNumberConnections", 35)};
    send_set(vb, 1);
    wait_requests(1);
    apply_config(false);
    apply_config(true);
    assert_false(agent_server_find(2)->leaving);
    wait_response();
    for (int i = 0; i < 50; i++)
        loop_once(true);
    assert_int_equal(response->errstat, SNMP_ERR_NOERROR);
    assert_int_equal(truth_int(2, SRV, "maxNumberConnections"), 35);
    assert_non_null(agent_server_find(2));
    assert_int_equal(agent_server_find(2)->pending_sets, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_varbind, reset),
        cmocka_unit_test_setup(test_several_varbinds_one_resource, reset),
        cmocka_unit_test_setup(test_two_resources, reset),
        cmocka_unit_test_setup(test_two_rows, reset),
        cmocka_unit_test_setup(test_readbacks_after_answered_and_unanswered_puts, reset),
        cmocka_unit_test_setup(test_read_fails, reset),
        cmocka_unit_test_setup(test_rule_fails, reset),
        cmocka_unit_test_setup(test_rule_judged_with_every_varbind, reset),
        cmocka_unit_test_setup(test_put_refused, reset),
        cmocka_unit_test_setup(test_second_resource_fails, reset),
        cmocka_unit_test_setup(test_put_back_fails, reset),
        cmocka_unit_test_setup(test_value_does_not_stick, reset),
        cmocka_unit_test_setup(test_put_lost_but_applied, reset),
        cmocka_unit_test_setup(test_put_lost_not_applied, reset),
        cmocka_unit_test_setup(test_read_times_out, reset),
        cmocka_unit_test_setup(test_readback_times_out, reset),
        cmocka_unit_test_setup(test_put_lost_and_readback_fails, reset),
        cmocka_unit_test_setup(test_put_lost_beside_refused_put, reset),
        cmocka_unit_test_setup(test_shutdown_before_commit, reset),
        cmocka_unit_test_setup(test_fresh_cache_skips_read, reset),
        cmocka_unit_test_setup(test_fresh_cache_puts_back_its_values, reset),
        cmocka_unit_test_setup(test_fresh_cache_change_by_others_stays_theirs, reset),
        cmocka_unit_test_setup(test_fresh_cache_rule_column_read, reset),
        cmocka_unit_test_setup(test_fresh_cache_after_failed_refresh_read, reset),
        cmocka_unit_test_setup(test_fresh_cache_mixed, reset),
        cmocka_unit_test_setup(test_undo, reset),
        cmocka_unit_test_setup(test_undo_two_rows, reset),
        cmocka_unit_test_setup(test_abandoned_transaction_expires, reset),
        cmocka_unit_test_setup(test_reload_removes_row_mid_set, reset),
        cmocka_unit_test_setup(test_reload_removes_one_of_two_rows, reset),
        cmocka_unit_test_setup(test_reload_removes_then_restores_row_mid_set, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
