/* test_mib_handlers.c - the CUPI-SMTP-MIB handlers driven in-process through
 * net-snmp's own request processing ("unit tests of the handlers
 * called directly").
 *
 * How requests reach the handlers: the test process is a net-snmp master
 * agent with no listening transport (no config files, no persistent state,
 * no MIB files, init_master_agent() never called). It opens a pair of
 * sessions on net-snmp's callback transport (snmpCallbackDomain.c), exactly
 * as init_agent() does for its internal "callback master" and as iquery and
 * the AgentX subagent do for in-process queries:
 *
 *   master = netsnmp_callback_open(0, handle_snmp_packet,
 *                                  netsnmp_agent_check_packet,
 *                                  netsnmp_agent_check_parse);
 *   client = netsnmp_callback_open(master->local_port, NULL, NULL, NULL);
 *
 * snmp_synch_response(client, pdu) queues the PDU on the master's pipe and
 * runs net-snmp's select loop over every session; the master reads it into
 * handle_snmp_packet(), so the request goes through netsnmp_handle_request,
 * the registry lookup, GETNEXT/GETBULK iteration across registrations, the
 * table and table_iterator helpers and our handlers just as in snmpd or the
 * AgentX subagent; the response comes back on the client's pipe. PDUs are
 * passed as cloned structures, not BER-encoded. Requests carry
 * UCD_MSG_FLAG_ALWAYS_IN_VIEW (as AgentX requests do) so that no VACM setup
 * is needed.
 *
 * The module's servers are created with agent_servers_apply() from a
 * cupi_config built here (indexes 1, 2 and 5, URLs to a closed local port);
 * values are injected with agent_server_take_values() and status/counters
 * set directly. agent_servers_tick() is never called, so no CUPI request is
 * ever started; the last test proves that nothing did.
 *
 * Also here: mib_varbind_decode(), the SET conversion of one varbind, for
 * every field of both config tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <cupi/cupi.h>

#include "agent_harness.h"

#include "model/history.h"
#include "model/server.h"
#include "mib/oids.h"
#include "mib/tables.h"
#include "mib/varbind.h"

#define APP "cupi-test"
#define N_SERVER_COLUMNS 12 /* cupiServerTable: column 1 is the not-accessible index */
#define TRUTH_TRUE 1
#define TRUTH_FALSE 2

/* --- the model the tests serve ------------------------------------------ */

typedef struct test_row {
    unsigned index;
    const char *name;
    const char *url;
    bool has_values;
    agent_status status;
    const char *last_error;
    uint32_t requests, failures, changes, last_change;
    agent_change_source source;
    time_t age[CUPI_RES_COUNT]; /* seconds between the read and now */
    const char *server[11];     /* CUPI text of each cupiSmtpServerTable column */
    const char *client[6];      /* ... cupiSmtpClientTable */
} test_row;

static const test_row rows[] = {
    {
        .index = 1,
        .name = "cuc-a",
        .url = "https://127.0.0.1:1",
        .has_values = true,
        .status = AGENT_STATUS_OK,
        .last_error = "",
        .requests = 1000,
        .failures = 3,
        .changes = 4,
        .last_change = 12345,
        .source = AGENT_SOURCE_EXTERNAL,
        .age = {100, 100},
        .server = {"25", "mail1.example.com", "20", "2", "10000", "10", "15000", "0", "true",
                   "false", "1"},
        .client = {"relay.example.com", "true", "587", "true", "cupi", "s3cret"},
    },
    {
        /* never reached CUPI: a cupiServerTable row, no config rows */
        .index = 2,
        .name = "cuc-b",
        .url = "https://127.0.0.1:2",
        .has_values = false,
        .status = AGENT_STATUS_UNREACHABLE,
        .last_error = "Failed to connect to 127.0.0.1 port 2",
        .requests = 7,
        .failures = 7,
        .changes = 0,
        .last_change = 0,
        .source = AGENT_SOURCE_NONE,
    },
    {
        .index = 5,
        .name = "cuc-e",
        .url = "https://127.0.0.1:5",
        .has_values = true,
        .status = AGENT_STATUS_BUSY,
        .last_error = "HTTP 503 Service Unavailable",
        .requests = 4000000000u,
        .failures = 1,
        .changes = 2,
        .last_change = 987654321,
        .source = AGENT_SOURCE_SNMP,
        .age = {30, 400}, /* DataAge is the oldest: 400 */
        .server = {"587", "cuc5.example.org", "50", "10", "50000", "100", "50000", "2147483647",
                   "false", "true", "2"},
        .client = {"192.0.2.7", "false", "25", "false", "", ""},
    },
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static const unsigned absent_index = 3; /* between configured rows */

static netsnmp_session *master, *client;

/* --- OIDs ------------------------------------------------------------------ */

static const oid objects_oid[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
#define OBJECTS_LEN (CUPI_MIB_ROOT_LEN + 1)

typedef struct test_oid {
    oid name[MAX_OID_LEN];
    size_t len;
} test_oid;

/* cupiSmtpObjects followed by up to four arcs (-1 ends the list). */
static test_oid mkoid(int a, int b, int c, int d)
{
    test_oid o;
    memcpy(o.name, objects_oid, sizeof objects_oid);
    o.len = OBJECTS_LEN;
    const int arcs[] = {a, b, c, d};
    for (size_t i = 0; i < 4 && arcs[i] >= 0; i++)
        o.name[o.len++] = (oid)arcs[i];
    return o;
}

static test_oid cell(unsigned table, unsigned column, unsigned index)
{
    return mkoid((int)table, 1, (int)column, (int)index);
}

static bool oid_is(const netsnmp_variable_list *v, test_oid o)
{
    return snmp_oid_compare(v->name, v->name_length, o.name, o.len) == 0;
}

static const char *oid_text(const oid *name, size_t len, char *buf, size_t size)
{
    snprint_objid(buf, size, name, len);
    return buf;
}

static void assert_oid(const netsnmp_variable_list *v, test_oid want)
{
    if (!oid_is(v, want)) {
        char got[256], exp[256];
        fail_msg("OID %s, expected %s", oid_text(v->name, v->name_length, got, sizeof got),
                 oid_text(want.name, want.len, exp, sizeof exp));
    }
}

/* --- requests through the agent -------------------------------------------- */

static netsnmp_pdu *exchange(netsnmp_pdu *pdu)
{
    pdu->flags |= UCD_MSG_FLAG_ALWAYS_IN_VIEW;
    netsnmp_pdu *response = NULL;
    int st = snmp_synch_response(client, pdu, &response);
    if (st != STAT_SUCCESS)
        fail_msg("no response (status %d, %s)", st, snmp_api_errstring(client->s_snmp_errno));
    assert_non_null(response);
    assert_int_equal(response->command, SNMP_MSG_RESPONSE);
    return response;
}

static netsnmp_pdu *request(int command, const test_oid *names, size_t n)
{
    netsnmp_pdu *pdu = snmp_pdu_create(command);
    assert_non_null(pdu);
    for (size_t i = 0; i < n; i++)
        snmp_add_null_var(pdu, names[i].name, names[i].len);
    return exchange(pdu);
}

/* One varbind in, the response's varbind out (a copy; snmp_free_var it). */
static netsnmp_variable_list *single(int command, test_oid name)
{
    netsnmp_pdu *response = request(command, &name, 1);
    assert_int_equal(response->errstat, SNMP_ERR_NOERROR);
    assert_non_null(response->variables);
    assert_null(response->variables->next_variable);
    netsnmp_variable_list *v = snmp_clone_varbind(response->variables);
    snmp_free_pdu(response);
    assert_non_null(v);
    return v;
}

static netsnmp_variable_list *get(test_oid name)
{
    netsnmp_variable_list *v = single(SNMP_MSG_GET, name);
    assert_oid(v, name); /* a GET answers the OID asked */
    return v;
}

static netsnmp_variable_list *getnext(test_oid name)
{
    return single(SNMP_MSG_GETNEXT, name);
}

static void assert_exception(test_oid name, u_char exception)
{
    netsnmp_variable_list *v = get(name);
    assert_int_equal(v->type, exception);
    snmp_free_var(v);
}

/* --- expected values ----------------------------------------------------- */

static void assert_string(const netsnmp_variable_list *v, const char *want)
{
    assert_int_equal(v->type, ASN_OCTET_STR);
    assert_int_equal(v->val_len, strlen(want));
    assert_memory_equal(v->val.string, want, v->val_len);
}

static void assert_number(const netsnmp_variable_list *v, u_char type, unsigned long want)
{
    assert_int_equal(v->type, type);
    assert_int_equal(v->val_len, sizeof(long));
    if (type == ASN_INTEGER)
        assert_int_equal(*v->val.integer, (long)want);
    else
        assert_int_equal((unsigned long)*v->val.integer & 0xffffffffUL, want);
}

static uint32_t expected_data_age_min(const test_row *r)
{
    if (!r->has_values)
        return UINT32_MAX;
    return (uint32_t)(r->age[0] > r->age[1] ? r->age[0] : r->age[1]);
}

static void check_server_column(const test_row *r, unsigned column,
                                const netsnmp_variable_list *v)
{
    switch (column) {
    case MIB_SERVER_NAME:
        assert_string(v, r->name);
        break;
    case MIB_SERVER_URL:
        assert_string(v, r->url);
        break;
    case MIB_SERVER_STATUS:
        assert_number(v, ASN_INTEGER, r->status);
        break;
    case MIB_SERVER_DATA_AGE: {
        /* Gauge32, seconds; the test may take a few seconds to get here */
        assert_int_equal(v->type, ASN_UNSIGNED);
        unsigned long age = (unsigned long)*v->val.integer;
        uint32_t min = expected_data_age_min(r);
        if (min == UINT32_MAX)
            assert_int_equal(age, UINT32_MAX);
        else
            assert_in_range(age, min, min + 30);
        break;
    }
    case MIB_SERVER_LAST_ERROR:
        assert_string(v, r->last_error);
        break;
    case MIB_SERVER_REQUESTS:
        assert_number(v, ASN_COUNTER, r->requests);
        break;
    case MIB_SERVER_FAILURES:
        assert_number(v, ASN_COUNTER, r->failures);
        break;
    case MIB_SERVER_CONFIG_CHANGES:
        assert_number(v, ASN_COUNTER, r->changes);
        break;
    case MIB_SERVER_LAST_CHANGE:
        assert_number(v, ASN_TIMETICKS, r->last_change);
        break;
    case MIB_SERVER_LAST_CHANGE_SOURCE:
        assert_number(v, ASN_INTEGER, r->source);
        break;
    case MIB_SERVER_LAST_CHANGE_INDEX:
        /* only first reads were injected: nothing in any history */
        assert_number(v, ASN_UNSIGNED, 0);
        break;
    default:
        fail_msg("no column %u", column);
    }
}

static cupi_resource resource_of_table(unsigned table)
{
    return table == CUPI_TABLE_SMTP_SERVER ? CUPI_RES_SERVER : CUPI_RES_CLIENT;
}

static void check_config_column(const test_row *r, unsigned table, unsigned column,
                                const netsnmp_variable_list *v)
{
    cupi_resource res = resource_of_table(table);
    const cupi_field *f = cupi_field_at(res, column);
    assert_non_null(f);
    const char *text = res == CUPI_RES_SERVER ? r->server[column - 1] : r->client[column - 1];
    switch (f->type) {
    case CUPI_TYPE_BOOL:
        assert_number(v, ASN_INTEGER, strcmp(text, "true") == 0 ? TRUTH_TRUE : TRUTH_FALSE);
        break;
    case CUPI_TYPE_INT:
        assert_number(v, ASN_INTEGER, (unsigned long)strtol(text, NULL, 10));
        break;
    case CUPI_TYPE_STRING:
        /* the password reads as a zero-length string even though one was read */
        assert_string(v, f->write_only ? "" : text);
        break;
    }
}

/* Checks any cell of the three tables against the model. */
static void check_cell(const netsnmp_variable_list *v)
{
    assert_true(v->name_length == OBJECTS_LEN + 4);
    assert_memory_equal(v->name, objects_oid, sizeof objects_oid);
    unsigned table = (unsigned)v->name[OBJECTS_LEN];
    unsigned column = (unsigned)v->name[OBJECTS_LEN + 2];
    unsigned index = (unsigned)v->name[OBJECTS_LEN + 3];
    assert_int_equal(v->name[OBJECTS_LEN + 1], 1);
    for (size_t i = 0; i < N_ROWS; i++) {
        if (rows[i].index != index)
            continue;
        if (table == CUPI_TABLE_SERVER)
            check_server_column(&rows[i], column, v);
        else
            check_config_column(&rows[i], table, column, v);
        return;
    }
    fail_msg("no row %u", index);
}

/* Every cell in lexicographic order: what a walk must return. */
static size_t expected_cells(test_oid *out, size_t max)
{
    size_t n = 0;
    for (unsigned c = MIB_SERVER_NAME; c <= N_SERVER_COLUMNS; c++)
        for (size_t i = 0; i < N_ROWS; i++)
            if (n < max)
                out[n++] = cell(CUPI_TABLE_SERVER, c, rows[i].index);
    for (cupi_resource res = CUPI_RES_SERVER; res < CUPI_RES_COUNT; res++) {
        unsigned table = mib_config_table_of(res);
        for (unsigned c = 1; c <= cupi_field_count(res); c++)
            for (size_t i = 0; i < N_ROWS; i++)
                if (rows[i].has_values && n < max)
                    out[n++] = cell(table, c, rows[i].index);
    }
    return n;
}

/* --- setup ----------------------------------------------------------------- */

static void inject(agent_server *s, const test_row *r)
{
    for (cupi_resource res = CUPI_RES_SERVER; res < CUPI_RES_COUNT; res++) {
        cupi_snapshot snap;
        cupi_snapshot_init(&snap, res);
        size_t n;
        const cupi_field *f = cupi_fields(res, &n);
        for (size_t i = 0; i < n; i++) {
            const char *text = res == CUPI_RES_SERVER ? r->server[i] : r->client[i];
            cupi_value v;
            assert_int_equal(cupi_value_parse(&f[i], text, strlen(text), &v), CUPI_VALID);
            assert_int_equal(cupi_value_check(&f[i], &v, NULL, 0), CUPI_VALID);
            cupi_snapshot_set(&snap, f[i].column, &v);
        }
        /* a first read: nothing changed, nothing notified */
        assert_int_equal(agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0), 0);
        s->res[res].read_at = time(NULL) - r->age[res];
    }
}

static int group_setup(void **state)
{
    (void)state;
    /* An agent in this process, reading and writing no file: no MIB files,
     * no snmp.conf / cupi-test.conf, no persistent state. */
    if (harness_start(APP) != 0)
        return -1;
    cupi_config cfg;
    cupi_config_init(&cfg);
    cfg.servers = calloc(N_ROWS, sizeof *cfg.servers);
    if (!cfg.servers)
        return -1;
    cfg.n_servers = N_ROWS;
    for (size_t i = 0; i < N_ROWS; i++) {
        cupi_server_config *c = &cfg.servers[i];
        c->index = rows[i].index;
        c->name = strdup(rows[i].name);
        c->url = strdup(rows[i].url);
        c->user = strdup("admin");
        c->password = strdup("admin-password");
        c->format = CUPI_FORMAT_XML;
    }
    int rc = agent_servers_apply(&cfg);
    cupi_config_free(&cfg);
    if (rc != 0)
        return -1;

    for (size_t i = 0; i < N_ROWS; i++) {
        agent_server *s = agent_server_find(rows[i].index);
        if (!s || !s->client)
            return -1;
        if (rows[i].has_values)
            inject(s, &rows[i]);
        s->status = rows[i].status;
        snprintf(s->last_error, sizeof s->last_error, "%s", rows[i].last_error);
        s->requests_base = rows[i].requests; /* + the client's own: 0, it never ran */
        s->failures_base = rows[i].failures;
        s->config_changes = rows[i].changes;
        s->last_change_ticks = rows[i].last_change;
        s->last_change_source = rows[i].source;
    }

    if (mib_server_table_register() != 0 || mib_config_tables_register() != 0)
        return -1;

    client = harness_open_client(&master, "public", 5);
    return client ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (client)
        snmp_close(client);
    if (master)
        snmp_close(master);
    mib_config_tables_unregister();
    mib_server_table_unregister();
    agent_history_shutdown();
    agent_servers_clear();
    harness_stop();
    cupi_global_cleanup();
    snmp_shutdown(APP);
    shutdown_agent();
    return 0;
}

/* --- GET --------------------------------------------------------------------- */

static void test_get_server_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ROWS; i++) {
        for (unsigned c = MIB_SERVER_NAME; c <= N_SERVER_COLUMNS; c++) {
            netsnmp_variable_list *v = get(cell(CUPI_TABLE_SERVER, c, rows[i].index));
            check_server_column(&rows[i], c, v);
            snmp_free_var(v);
        }
    }
}

static void test_get_config_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ROWS; i++) {
        if (!rows[i].has_values)
            continue;
        for (cupi_resource res = CUPI_RES_SERVER; res < CUPI_RES_COUNT; res++) {
            unsigned table = mib_config_table_of(res);
            for (unsigned c = 1; c <= cupi_field_count(res); c++) {
                netsnmp_variable_list *v = get(cell(table, c, rows[i].index));
                check_config_column(&rows[i], table, c, v);
                snmp_free_var(v);
            }
        }
    }
}

static void test_get_password_reads_empty(void **state)
{
    (void)state;
    /* row 1 was given "s3cret" as smtpPassword */
    const cupi_field *f = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_non_null(f);
    assert_true(f->write_only);
    assert_string_equal(rows[0].client[f->column - 1], "s3cret");
    netsnmp_variable_list *v = get(cell(CUPI_TABLE_SMTP_CLIENT, f->column, rows[0].index));
    assert_int_equal(v->type, ASN_OCTET_STR);
    assert_int_equal(v->val_len, 0);
    snmp_free_var(v);

    /* take_values never keeps a password; should one be in memory anyway,
     * the column still reads empty */
    agent_server *s = agent_server_find(rows[0].index);
    cupi_value *held = &s->res[CUPI_RES_CLIENT].snap.v[f->column - 1];
    assert_string_equal(held->s, "");
    snprintf(held->s, sizeof held->s, "%s", "leaked");
    v = get(cell(CUPI_TABLE_SMTP_CLIENT, f->column, rows[0].index));
    held->s[0] = '\0';
    assert_int_equal(v->type, ASN_OCTET_STR);
    assert_int_equal(v->val_len, 0);
    snmp_free_var(v);
}

static void test_get_several_varbinds(void **state)
{
    (void)state;
    /* one PDU across the three registrations, existing and missing cells */
    const test_oid names[] = {
        cell(CUPI_TABLE_SMTP_CLIENT, 1, 5),
        cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 2),
        cell(CUPI_TABLE_SMTP_SERVER, 2, 2),
        cell(CUPI_TABLE_SMTP_SERVER, 2, 1),
    };
    netsnmp_pdu *r = request(SNMP_MSG_GET, names, 4);
    assert_int_equal(r->errstat, SNMP_ERR_NOERROR);
    netsnmp_variable_list *v = r->variables;
    for (size_t i = 0; i < 4; i++, v = v->next_variable) {
        assert_non_null(v);
        assert_oid(v, names[i]);
        if (i == 2)
            assert_int_equal(v->type, SNMP_NOSUCHINSTANCE);
        else
            check_cell(v);
    }
    assert_null(v);
    snmp_free_pdu(r);
}

static void test_get_missing(void **state)
{
    (void)state;
    /* row 2 has never been read: no config rows */
    for (unsigned c = 1; c <= cupi_field_count(CUPI_RES_SERVER); c++)
        assert_exception(cell(CUPI_TABLE_SMTP_SERVER, c, 2), SNMP_NOSUCHINSTANCE);
    for (unsigned c = 1; c <= cupi_field_count(CUPI_RES_CLIENT); c++)
        assert_exception(cell(CUPI_TABLE_SMTP_CLIENT, c, 2), SNMP_NOSUCHINSTANCE);

    /* rows that are not configured */
    const unsigned absent[] = {0, absent_index, 4, 6, 65535, 4294967295u};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        assert_exception(cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, absent[i]),
                         SNMP_NOSUCHINSTANCE);
        assert_exception(cell(CUPI_TABLE_SMTP_SERVER, 1, absent[i]), SNMP_NOSUCHINSTANCE);
        assert_exception(cell(CUPI_TABLE_SMTP_CLIENT, 6, absent[i]), SNMP_NOSUCHINSTANCE);
    }

    /* columns outside the tables: net-snmp's table helper answers
     * noSuchObject (the index column is not-accessible) */
    assert_exception(cell(CUPI_TABLE_SERVER, 1, 1), SNMP_NOSUCHOBJECT);
    assert_exception(cell(CUPI_TABLE_SERVER, N_SERVER_COLUMNS + 1, 1), SNMP_NOSUCHOBJECT);
    assert_exception(cell(CUPI_TABLE_SMTP_SERVER, 0, 1), SNMP_NOSUCHOBJECT);
    assert_exception(
        cell(CUPI_TABLE_SMTP_SERVER, (unsigned)cupi_field_count(CUPI_RES_SERVER) + 1, 1),
        SNMP_NOSUCHOBJECT);
    assert_exception(
        cell(CUPI_TABLE_SMTP_CLIENT, (unsigned)cupi_field_count(CUPI_RES_CLIENT) + 1, 5),
        SNMP_NOSUCHOBJECT);

    /* not a cell: the table, the entry, a column, an instance with an extra arc */
    test_oid extra = cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1);
    extra.name[extra.len++] = 0;
    assert_exception(extra, SNMP_NOSUCHINSTANCE);
    assert_exception(mkoid(CUPI_TABLE_SERVER, -1, -1, -1), SNMP_NOSUCHOBJECT);
    assert_exception(mkoid(CUPI_TABLE_SERVER, 1, -1, -1), SNMP_NOSUCHOBJECT);
    assert_exception(mkoid(CUPI_TABLE_SMTP_CLIENT, 1, 1, -1), SNMP_NOSUCHINSTANCE);
    /* a table that does not exist */
    assert_exception(cell(6, 1, 1), SNMP_NOSUCHOBJECT);
}

/* --- GETNEXT ----------------------------------------------------------------- */

static void assert_next(test_oid from, test_oid want)
{
    netsnmp_variable_list *v = getnext(from);
    assert_oid(v, want);
    check_cell(v);
    snmp_free_var(v);
}

static void test_getnext_row_boundary(void **state)
{
    (void)state;
    /* within a column: row to next row, skipping the index gap 2 -> 5 */
    assert_next(cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 1),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 2));
    assert_next(cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 2),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 5));
    assert_next(cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, absent_index),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 5));
    /* last row of column c -> first row of column c + 1, in every column */
    for (unsigned c = MIB_SERVER_NAME; c < N_SERVER_COLUMNS; c++)
        assert_next(cell(CUPI_TABLE_SERVER, c, 5), cell(CUPI_TABLE_SERVER, c + 1, 1));
    for (unsigned c = 1; c < cupi_field_count(CUPI_RES_SERVER); c++)
        assert_next(cell(CUPI_TABLE_SMTP_SERVER, c, 5), cell(CUPI_TABLE_SMTP_SERVER, c + 1, 1));
    for (unsigned c = 1; c < cupi_field_count(CUPI_RES_CLIENT); c++)
        assert_next(cell(CUPI_TABLE_SMTP_CLIENT, c, 5), cell(CUPI_TABLE_SMTP_CLIENT, c + 1, 1));
    /* past the last row, or an instance below it */
    assert_next(cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 6),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 1));
    test_oid below = cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 5);
    below.name[below.len++] = 1;
    assert_next(below, cell(CUPI_TABLE_SERVER, MIB_SERVER_URL, 1));
    /* from a column OID: its first row; from the index column: column 2 */
    assert_next(mkoid(CUPI_TABLE_SERVER, 1, MIB_SERVER_STATUS, -1),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_STATUS, 1));
    assert_next(mkoid(CUPI_TABLE_SERVER, 1, 1, -1),
                cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1));
    assert_next(cell(CUPI_TABLE_SERVER, 1, 5), cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1));
}

static void test_getnext_table_boundary(void **state)
{
    (void)state;
    /* last cell of cupiServerTable -> first of cupiSmtpServerTable */
    assert_next(cell(CUPI_TABLE_SERVER, N_SERVER_COLUMNS, 5),
                cell(CUPI_TABLE_SMTP_SERVER, 1, 1));
    /* past the last column of a table */
    assert_next(mkoid(CUPI_TABLE_SERVER, 1, N_SERVER_COLUMNS + 1, -1),
                cell(CUPI_TABLE_SMTP_SERVER, 1, 1));
    /* last of cupiSmtpServerTable -> first of cupiSmtpClientTable */
    unsigned last_server = (unsigned)cupi_field_count(CUPI_RES_SERVER);
    assert_next(cell(CUPI_TABLE_SMTP_SERVER, last_server, 5),
                cell(CUPI_TABLE_SMTP_CLIENT, 1, 1));
    assert_next(cell(CUPI_TABLE_SMTP_SERVER, last_server, 2),
                cell(CUPI_TABLE_SMTP_SERVER, last_server, 5));

    /* last of cupiSmtpClientTable: nothing else is registered in this
     * process, so the MIB view ends */
    unsigned last_client = (unsigned)cupi_field_count(CUPI_RES_CLIENT);
    netsnmp_variable_list *v = getnext(cell(CUPI_TABLE_SMTP_CLIENT, last_client, 5));
    assert_int_equal(v->type, SNMP_ENDOFMIBVIEW);
    snmp_free_var(v);
    v = getnext(mkoid(6, -1, -1, -1));
    assert_int_equal(v->type, SNMP_ENDOFMIBVIEW);
    snmp_free_var(v);
}

static void test_getnext_skips_rows_without_values(void **state)
{
    (void)state;
    /* row 2 is in cupiServerTable but in neither config table */
    assert_next(cell(CUPI_TABLE_SMTP_SERVER, 1, 1), cell(CUPI_TABLE_SMTP_SERVER, 1, 5));
    assert_next(cell(CUPI_TABLE_SMTP_SERVER, 4, 1), cell(CUPI_TABLE_SMTP_SERVER, 4, 5));
    assert_next(cell(CUPI_TABLE_SMTP_SERVER, 4, 2), cell(CUPI_TABLE_SMTP_SERVER, 4, 5));
    assert_next(cell(CUPI_TABLE_SMTP_CLIENT, 6, 1), cell(CUPI_TABLE_SMTP_CLIENT, 6, 5));
    assert_next(cell(CUPI_TABLE_SMTP_CLIENT, 3, 0), cell(CUPI_TABLE_SMTP_CLIENT, 3, 1));
}

static void test_getnext_from_table_and_entry(void **state)
{
    (void)state;
    const unsigned tables[] = {CUPI_TABLE_SERVER, CUPI_TABLE_SMTP_SERVER,
                               CUPI_TABLE_SMTP_CLIENT};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        unsigned table = tables[i];
        unsigned first_column = table == CUPI_TABLE_SERVER ? MIB_SERVER_NAME : 1;
        assert_next(mkoid((int)table, -1, -1, -1), cell(table, first_column, 1));
        assert_next(mkoid((int)table, 1, -1, -1), cell(table, first_column, 1));
        assert_next(mkoid((int)table, 0, -1, -1), cell(table, first_column, 1));
    }
    /* from the MIB root and from cupiSmtpObjects */
    const oid root[] = {CUPI_MIB_ROOT_OID};
    test_oid from;
    memcpy(from.name, root, sizeof root);
    from.len = CUPI_MIB_ROOT_LEN;
    assert_next(from, cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1));
    assert_next(mkoid(-1, -1, -1, -1), cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1));
}

/* The first cell of the model after `from` (lexicographic order), from the
 * list a walk must return; false when there is none. */
static bool expected_next(test_oid from, test_oid *next)
{
    enum { MAX = 256 };
    test_oid cells[MAX];
    size_t n = expected_cells(cells, MAX);
    for (size_t i = 0; i < n; i++) {
        if (snmp_oid_compare(cells[i].name, cells[i].len, from.name, from.len) > 0) {
            *next = cells[i];
            return true;
        }
    }
    return false;
}

static void assert_next_of_model(test_oid from)
{
    test_oid want;
    netsnmp_variable_list *v = getnext(from);
    if (expected_next(from, &want)) {
        assert_oid(v, want);
        check_cell(v);
    } else {
        assert_int_equal(v->type, SNMP_ENDOFMIBVIEW);
    }
    snmp_free_var(v);
}

static void test_getnext_every_column_boundary(void **state)
{
    (void)state;
    /* Every column of every table (and one past each end), from the column
     * itself, from before, at, between and after the rows 1, 2 (no values)
     * and 5, from below a row, and from the largest index. */
    const unsigned tables[] = {CUPI_TABLE_SERVER, CUPI_TABLE_SMTP_SERVER,
                               CUPI_TABLE_SMTP_CLIENT};
    const unsigned from_rows[] = {0, 1, 2, 3, 4, 5, 6, 4294967295u};
    size_t checked = 0;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        unsigned table = tables[t];
        unsigned last = table == CUPI_TABLE_SERVER
                            ? N_SERVER_COLUMNS
                            : (unsigned)cupi_field_count(resource_of_table(table));
        for (unsigned c = 0; c <= last + 1; c++) {
            assert_next_of_model(mkoid((int)table, 1, (int)c, -1));
            for (size_t r = 0; r < sizeof from_rows / sizeof from_rows[0]; r++)
                assert_next_of_model(cell(table, c, from_rows[r]));
            for (size_t i = 0; i < N_ROWS; i++) {
                test_oid below = cell(table, c, rows[i].index);
                below.name[below.len++] = 7;
                assert_next_of_model(below);
            }
            checked++;
        }
    }
    assert_int_equal(checked, (12 + 2) + (11 + 2) + (6 + 2));
}

/* Walks cupiSmtpObjects with GETNEXT; returns the number of cells, each
 * stored in out (up to max). */
static size_t walk(netsnmp_variable_list **out, size_t max)
{
    test_oid at = mkoid(-1, -1, -1, -1);
    size_t n = 0;
    for (;;) {
        netsnmp_variable_list *v = getnext(at);
        if (v->type == SNMP_ENDOFMIBVIEW ||
            snmp_oidtree_compare(v->name, v->name_length, objects_oid, OBJECTS_LEN) != 0) {
            snmp_free_var(v);
            return n;
        }
        /* strictly increasing: a GETNEXT never goes back nor stays */
        assert_true(snmp_oid_compare(v->name, v->name_length, at.name, at.len) > 0);
        memcpy(at.name, v->name, v->name_length * sizeof(oid));
        at.len = v->name_length;
        if (n >= max)
            fail_msg("walk longer than %zu", max);
        out[n++] = v;
    }
}

static void test_walk(void **state)
{
    (void)state;
    enum { MAX = 256 };
    netsnmp_variable_list *got[MAX];
    test_oid want[MAX];
    size_t n = walk(got, MAX);
    size_t with_values = 0;
    for (size_t i = 0; i < N_ROWS; i++)
        with_values += rows[i].has_values;
    size_t cells =
        (N_SERVER_COLUMNS - 1) * N_ROWS +
        (cupi_field_count(CUPI_RES_SERVER) + cupi_field_count(CUPI_RES_CLIENT)) * with_values;
    assert_int_equal(cells, (12 - 1) * 3 + (11 + 6) * 2);
    assert_int_equal(n, cells);
    assert_int_equal(expected_cells(want, MAX), cells);
    for (size_t i = 0; i < n; i++) {
        assert_oid(got[i], want[i]);
        check_cell(got[i]);
        snmp_free_var(got[i]);
    }
}

/* --- GETBULK ----------------------------------------------------------------- */

/* The GETNEXT chain of n steps from a start: what a repeater must give. */
static void next_chain(test_oid from, size_t n, netsnmp_variable_list **out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = getnext(from);
        memcpy(from.name, out[i]->name, out[i]->name_length * sizeof(oid));
        from.len = out[i]->name_length;
    }
}

static void assert_same_var(const netsnmp_variable_list *a, const netsnmp_variable_list *b)
{
    assert_int_equal(snmp_oid_compare(a->name, a->name_length, b->name, b->name_length), 0);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->val_len, b->val_len);
    if (a->type == ASN_UNSIGNED && a->name[OBJECTS_LEN + 2] == MIB_SERVER_DATA_AGE)
        return; /* DataAge may tick between the two requests */
    if (a->val_len)
        assert_memory_equal(a->val.string, b->val.string, a->val_len);
}

/* GETBULK with non-repeaters first, then repeaters, compared with GETNEXT. */
static void check_bulk(const test_oid *names, size_t n, long non_repeaters, long max_rep)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
    assert_non_null(pdu);
    pdu->non_repeaters = non_repeaters;
    pdu->max_repetitions = max_rep;
    for (size_t i = 0; i < n; i++)
        snmp_add_null_var(pdu, names[i].name, names[i].len);
    netsnmp_pdu *r = exchange(pdu);
    assert_int_equal(r->errstat, SNMP_ERR_NOERROR);

    size_t repeaters = n - (size_t)non_repeaters;
    netsnmp_variable_list *v = r->variables;
    for (size_t i = 0; i < (size_t)non_repeaters; i++, v = v->next_variable) {
        assert_non_null(v);
        netsnmp_variable_list *want = getnext(names[i]);
        assert_same_var(v, want);
        snmp_free_var(want);
    }
    netsnmp_variable_list **chains = calloc(repeaters * (size_t)max_rep, sizeof *chains);
    assert_non_null(chains);
    for (size_t j = 0; j < repeaters; j++)
        next_chain(names[non_repeaters + j], (size_t)max_rep, &chains[j * (size_t)max_rep]);
    /* repetition k holds the k-th GETNEXT of every repeater, in order;
     * net-snmp stops early once every repeater is at endOfMibView */
    size_t k = 0;
    for (; k < (size_t)max_rep && v; k++) {
        for (size_t j = 0; j < repeaters; j++, v = v->next_variable) {
            assert_non_null(v);
            assert_same_var(v, chains[j * (size_t)max_rep + k]);
        }
    }
    assert_null(v);
    assert_true(k > 0);
    if (k < (size_t)max_rep)
        for (size_t j = 0; j < repeaters; j++)
            assert_int_equal(chains[j * (size_t)max_rep + k - 1]->type, SNMP_ENDOFMIBVIEW);
    for (size_t i = 0; i < repeaters * (size_t)max_rep; i++)
        snmp_free_var(chains[i]);
    free(chains);
    snmp_free_pdu(r);
}

static void test_getbulk(void **state)
{
    (void)state;
    /* across rows and columns of cupiServerTable into cupiSmtpServerTable */
    test_oid from_server = cell(CUPI_TABLE_SERVER, MIB_SERVER_DATA_AGE, 2);
    check_bulk(&from_server, 1, 0, 25);
    /* across the config tables, over the row without values */
    test_oid from_config = cell(CUPI_TABLE_SMTP_SERVER, 9, 1);
    check_bulk(&from_config, 1, 0, 10);
    /* two repeaters in different tables, and a non-repeater */
    const test_oid names[] = {
        cell(CUPI_TABLE_SMTP_CLIENT, 2, 5),
        mkoid(CUPI_TABLE_SERVER, -1, -1, -1),
        cell(CUPI_TABLE_SMTP_CLIENT, 4, 1),
    };
    check_bulk(names, 3, 1, 7);
    /* the whole subtree in one request, running into endOfMibView */
    test_oid objects = mkoid(-1, -1, -1, -1);
    check_bulk(&objects, 1, 0, 80);
}

static void test_getbulk_whole_subtree(void **state)
{
    (void)state;
    enum { MAX = 256 };
    test_oid want[MAX];
    size_t cells = expected_cells(want, MAX);
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
    pdu->non_repeaters = 0;
    pdu->max_repetitions = (long)cells + 10;
    test_oid objects = mkoid(-1, -1, -1, -1);
    snmp_add_null_var(pdu, objects.name, objects.len);
    netsnmp_pdu *r = exchange(pdu);
    assert_int_equal(r->errstat, SNMP_ERR_NOERROR);
    size_t i = 0;
    netsnmp_variable_list *v = r->variables;
    for (; v && i < cells; v = v->next_variable, i++) {
        assert_oid(v, want[i]);
        check_cell(v);
    }
    assert_int_equal(i, cells);
    assert_non_null(v);
    assert_int_equal(v->type, SNMP_ENDOFMIBVIEW);
    snmp_free_pdu(r);
}

/* --- the model moves, the tables follow ---------------------------------------- */

static void test_rows_follow_the_model(void **state)
{
    (void)state;
    agent_server *s = agent_server_find(2);
    assert_non_null(s);
    /* values become known for row 2: its config rows appear */
    cupi_snapshot snap = agent_server_find(1)->res[CUPI_RES_CLIENT].snap;
    agent_server_take_values(s, &snap, AGENT_SOURCE_EXTERNAL, 0);
    netsnmp_variable_list *v = get(cell(CUPI_TABLE_SMTP_CLIENT, 1, 2));
    assert_string(v, rows[0].client[0]);
    snmp_free_var(v);
    v = getnext(cell(CUPI_TABLE_SMTP_CLIENT, 2, 1)); /* no longer skipped */
    assert_oid(v, cell(CUPI_TABLE_SMTP_CLIENT, 2, 2));
    snmp_free_var(v);
    /* still not for the other resource */
    assert_exception(cell(CUPI_TABLE_SMTP_SERVER, 1, 2), SNMP_NOSUCHINSTANCE);
    /* and gone again (a reload to another URL forgets them) */
    s->res[CUPI_RES_CLIENT].valid = false;
    assert_exception(cell(CUPI_TABLE_SMTP_CLIENT, 1, 2), SNMP_NOSUCHINSTANCE);
}

/* --- SETs refused before any CUPI request ---------------------------------------- */

/* A one-varbind SET; returns the response's error status. */
static long set_one(test_oid name, u_char type, const void *value, size_t len)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_SET);
    assert_non_null(pdu);
    snmp_pdu_add_variable(pdu, name.name, name.len, type, value, len);
    netsnmp_pdu *r = exchange(pdu);
    long err = r->errstat;
    if (err != SNMP_ERR_NOERROR)
        assert_int_equal(r->errindex, 1);
    snmp_free_pdu(r);
    return err;
}

static void test_set_refused(void **state)
{
    (void)state;
    const long port = 25;
    const cupi_field *first = cupi_field_at(CUPI_RES_SERVER, 1);
    assert_non_null(first);
    assert_int_equal(first->type, CUPI_TYPE_INT);
    /* cupiServerTable is read-only */
    assert_int_equal(
        set_one(cell(CUPI_TABLE_SERVER, MIB_SERVER_NAME, 1), ASN_OCTET_STR, "x", 1),
        SNMP_ERR_NOTWRITABLE);
    assert_int_equal(
        set_one(cell(CUPI_TABLE_SERVER, MIB_SERVER_STATUS, 1), ASN_INTEGER, &port, sizeof port),
        SNMP_ERR_NOTWRITABLE);
    /* no such row: rows are servers of the configuration, never created */
    assert_int_equal(
        set_one(cell(CUPI_TABLE_SMTP_SERVER, 1, absent_index), ASN_INTEGER, &port, sizeof port),
        SNMP_ERR_NOCREATION);
    test_oid extra = cell(CUPI_TABLE_SMTP_SERVER, 1, 1);
    extra.name[extra.len++] = 1;
    assert_int_equal(set_one(extra, ASN_INTEGER, &port, sizeof port), SNMP_ERR_NOCREATION);
    /* the varbind's type, length and value come first */
    assert_int_equal(set_one(cell(CUPI_TABLE_SMTP_SERVER, 1, 1), ASN_OCTET_STR, "25", 2),
                     SNMP_ERR_WRONGTYPE);
    const long bad_port = 26;
    assert_int_equal(
        set_one(cell(CUPI_TABLE_SMTP_SERVER, 1, 1), ASN_INTEGER, &bad_port, sizeof bad_port),
        SNMP_ERR_WRONGVALUE);
    /* past the last column */
    unsigned past = (unsigned)cupi_field_count(CUPI_RES_CLIENT) + 1;
    assert_int_equal(set_one(cell(CUPI_TABLE_SMTP_CLIENT, past, 1), ASN_OCTET_STR, "x", 1),
                     SNMP_ERR_NOTWRITABLE);
    /* nothing was held: every row is served by refreshes again */
    for (agent_server *s = agent_servers_first(); s; s = s->next)
        assert_int_equal(s->pending_sets, 0);
}

/* --- GET encoding of every field ------------------------------------------------ */

static void test_varbind_encode(void **state)
{
    (void)state;
    for (cupi_resource res = CUPI_RES_SERVER; res < CUPI_RES_COUNT; res++) {
        size_t n;
        const cupi_field *f = cupi_fields(res, &n);
        for (size_t i = 0; i < n; i++) {
            netsnmp_variable_list var = {0};
            cupi_value v = {0};
            switch (f[i].type) {
            case CUPI_TYPE_BOOL:
                assert_int_equal(mib_varbind_type(&f[i]), ASN_INTEGER);
                v.i = 1;
                mib_varbind_encode(&f[i], &v, &var);
                assert_number(&var, ASN_INTEGER, TRUTH_TRUE);
                v.i = 0;
                mib_varbind_encode(&f[i], &v, &var);
                assert_number(&var, ASN_INTEGER, TRUTH_FALSE);
                break;
            case CUPI_TYPE_INT:
                assert_int_equal(mib_varbind_type(&f[i]), ASN_INTEGER);
                v.i = f[i].max;
                mib_varbind_encode(&f[i], &v, &var);
                assert_number(&var, ASN_INTEGER, (unsigned long)f[i].max);
                assert_true(mib_varbind_fits(&f[i], &v));
                v.i = (int64_t)INT32_MAX + 1;
                assert_false(mib_varbind_fits(&f[i], &v));
                v.i = (int64_t)INT32_MIN - 1;
                assert_false(mib_varbind_fits(&f[i], &v));
                v.i = INT32_MIN;
                assert_true(mib_varbind_fits(&f[i], &v));
                break;
            case CUPI_TYPE_STRING:
                assert_int_equal(mib_varbind_type(&f[i]), ASN_OCTET_STR);
                snprintf(v.s, sizeof v.s, "%s", "relay.example.com");
                mib_varbind_encode(&f[i], &v, &var);
                assert_string(&var, f[i].write_only ? "" : "relay.example.com");
                break;
            }
            snmp_set_var_typed_value(&var, ASN_NULL, NULL, 0); /* frees a long value */
        }
    }
}

/* --- SET value conversion -------------------------------------------------------- */

static int convert(const cupi_field *f, u_char type, const void *value, size_t len,
                   cupi_value *out)
{
    netsnmp_variable_list *var = NULL;
    static const oid any[] = {1, 3, 6, 1, 4, 1, 8072, 9999};
    assert_non_null(snmp_varlist_add_variable(&var, any, OID_LENGTH(any), type, value, len));
    int err = mib_varbind_decode(f, var, out);
    snmp_free_varbind(var);
    return err;
}

static int convert_int(const cupi_field *f, u_char type, long value, cupi_value *out)
{
    return convert(f, type, &value, sizeof value, out);
}

static int convert_str(const cupi_field *f, const char *s, size_t len, cupi_value *out)
{
    return convert(f, ASN_OCTET_STR, s, len, out);
}

static void check_wrong_types(const cupi_field *f)
{
    cupi_value out;
    static const u_char integers[] = {ASN_UNSIGNED, ASN_COUNTER, ASN_TIMETICKS};
    long one = 1;
    if (f->type == CUPI_TYPE_STRING) {
        assert_int_equal(convert_int(f, ASN_INTEGER, 1, &out), SNMP_ERR_WRONGTYPE);
        for (size_t i = 0; i < sizeof integers; i++)
            assert_int_equal(convert_int(f, integers[i], 1, &out), SNMP_ERR_WRONGTYPE);
        static const oid an_oid[] = {1, 3, 6};
        assert_int_equal(convert(f, ASN_OBJECT_ID, an_oid, sizeof an_oid, &out),
                         SNMP_ERR_WRONGTYPE);
    } else {
        assert_int_equal(convert_str(f, "1", 1, &out), SNMP_ERR_WRONGTYPE);
        assert_int_equal(convert_str(f, "", 0, &out), SNMP_ERR_WRONGTYPE);
        for (size_t i = 0; i < sizeof integers; i++)
            assert_int_equal(convert(f, integers[i], &one, sizeof one, &out),
                             SNMP_ERR_WRONGTYPE);
        assert_int_equal(convert(f, ASN_NULL, NULL, 0, &out), SNMP_ERR_WRONGTYPE);
    }
}

static void check_good_int(const cupi_field *f, long value)
{
    cupi_value out;
    memset(&out, 0x5a, sizeof out);
    assert_int_equal(convert_int(f, ASN_INTEGER, value, &out), SNMP_ERR_NOERROR);
    assert_int_equal(out.i, value);
}

static void check_bad_int(const cupi_field *f, long value)
{
    cupi_value out;
    if (convert_int(f, ASN_INTEGER, value, &out) != SNMP_ERR_WRONGVALUE)
        fail_msg("%s = %ld not refused as wrongValue", f->name, value);
}

static void check_int_field(const cupi_field *f)
{
    if (f->enums) {
        for (size_t i = 0; i < f->n_enums; i++)
            check_good_int(f, (long)f->enums[i]);
        /* neighbours of each allowed value that are not allowed */
        for (size_t i = 0; i < f->n_enums; i++) {
            for (long d = -1; d <= 1; d += 2) {
                long candidate = (long)f->enums[i] + d;
                bool allowed = false;
                for (size_t j = 0; j < f->n_enums; j++)
                    allowed |= f->enums[j] == candidate;
                if (!allowed)
                    check_bad_int(f, candidate);
            }
        }
    } else {
        check_good_int(f, (long)f->min);
        check_good_int(f, (long)f->max);
        check_good_int(f, (long)((f->min + f->max) / 2));
        check_bad_int(f, (long)f->min - 1);
        if (f->max < INT32_MAX) /* an INTEGER is an Integer32 on the wire */
            check_bad_int(f, (long)f->max + 1);
    }
    check_bad_int(f, INT32_MIN);
    if (f->max < INT32_MAX)
        check_bad_int(f, INT32_MAX);
}

static void check_bool_field(const cupi_field *f)
{
    cupi_value out;
    memset(&out, 0x5a, sizeof out);
    assert_int_equal(convert_int(f, ASN_INTEGER, TRUTH_TRUE, &out), SNMP_ERR_NOERROR);
    assert_int_equal(out.i, 1);
    memset(&out, 0x5a, sizeof out);
    assert_int_equal(convert_int(f, ASN_INTEGER, TRUTH_FALSE, &out), SNMP_ERR_NOERROR);
    assert_int_equal(out.i, 0);
    const long bad[] = {0, 3, -1, 255, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_bad_int(f, bad[i]);
}

static void check_good_str(const cupi_field *f, const char *s)
{
    cupi_value out;
    memset(&out, 0x5a, sizeof out);
    if (convert_str(f, s, strlen(s), &out) != SNMP_ERR_NOERROR)
        fail_msg("%s = \"%s\" refused", f->name, s);
    assert_string_equal(out.s, s);
}

static void check_bad_str(const cupi_field *f, const char *s, size_t len, int err)
{
    cupi_value out;
    int got = convert_str(f, s, len, &out);
    if (got != err)
        fail_msg("%s = \"%.*s\" gave %d, expected %d", f->name, (int)len, s, got, err);
}

static void check_string_field(const cupi_field *f)
{
    char big[CUPI_STR_MAX + 2];
    memset(big, 'a', sizeof big);
    /* too long: one byte over, or far over, whatever the syntax */
    check_bad_str(f, big, f->max_len + 1, SNMP_ERR_WRONGLENGTH);
    check_bad_str(f, big, sizeof big, SNMP_ERR_WRONGLENGTH);
    /* a NUL cannot be carried; control characters are refused */
    check_bad_str(f, "ab\0cd", 5, SNMP_ERR_WRONGVALUE);
    check_bad_str(f, "ab\ncd", 5, SNMP_ERR_WRONGVALUE);
    check_bad_str(f, "ab\x7f", 3, SNMP_ERR_WRONGVALUE);
    if (f->allow_empty)
        check_good_str(f, "");
    else
        check_bad_str(f, "", 0, SNMP_ERR_WRONGVALUE);

    switch (f->syntax) {
    case CUPI_SYNTAX_HOSTNAME:
    case CUPI_SYNTAX_HOST_OR_IP:
        check_good_str(f, "mail.example.com");
        check_good_str(f, "cuc-01");
        check_bad_str(f, "bad host!", 9, SNMP_ERR_WRONGVALUE);
        check_bad_str(f, "-lead.example.com", 17, SNMP_ERR_WRONGVALUE);
        check_bad_str(f, "a..b", 4, SNMP_ERR_WRONGVALUE);
        check_bad_str(f, "under_score.example", 19, SNMP_ERR_WRONGVALUE);
        /* 255 bytes is within the length, not a host name (over 253) */
        big[CUPI_STR_MAX] = '\0';
        for (size_t i = 63; i < CUPI_STR_MAX; i += 64)
            big[i] = '.';
        check_bad_str(f, big, CUPI_STR_MAX, SNMP_ERR_WRONGVALUE);
        if (f->syntax == CUPI_SYNTAX_HOST_OR_IP) {
            check_good_str(f, "192.0.2.7");
            check_good_str(f, "2001:db8::25");
            check_bad_str(f, "[2001:db8::25]", 14, SNMP_ERR_WRONGVALUE);
        }
        break;
    case CUPI_SYNTAX_TEXT:
    default:
        check_good_str(f, "smtp user @ example");
        big[CUPI_STR_MAX] = '\0';
        check_good_str(f, big); /* the longest */
        break;
    }
}

static void test_set_conversion_every_field(void **state)
{
    (void)state;
    size_t seen = 0;
    for (cupi_resource res = CUPI_RES_SERVER; res < CUPI_RES_COUNT; res++) {
        size_t n;
        const cupi_field *f = cupi_fields(res, &n);
        for (size_t i = 0; i < n; i++, seen++) {
            check_wrong_types(&f[i]);
            switch (f[i].type) {
            case CUPI_TYPE_INT:
                check_int_field(&f[i]);
                break;
            case CUPI_TYPE_BOOL:
                check_bool_field(&f[i]);
                break;
            case CUPI_TYPE_STRING:
                check_string_field(&f[i]);
                break;
            }
        }
    }
    assert_int_equal(seen, 17);
}

static void test_set_conversion_examples(void **state)
{
    (void)state;
    cupi_value out;
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    const cupi_field *conns = cupi_field_find(CUPI_RES_SERVER, "maxNumberConnections");
    const cupi_field *tls =
        cupi_field_find(CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses");
    const cupi_field *domain = cupi_field_find(CUPI_RES_SERVER, "domainName");
    const cupi_field *secure = cupi_field_find(CUPI_RES_CLIENT, "isClientSecure");
    const cupi_field *password = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_true(port && conns && tls && domain && secure && password);

    assert_int_equal(convert_int(port, ASN_INTEGER, 587, &out), SNMP_ERR_NOERROR);
    assert_int_equal(out.i, 587);
    assert_int_equal(convert_int(port, ASN_INTEGER, 26, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(port, ASN_UNSIGNED, 25, &out), SNMP_ERR_WRONGTYPE);
    assert_int_equal(convert_int(conns, ASN_INTEGER, 50, &out), SNMP_ERR_NOERROR);
    assert_int_equal(convert_int(conns, ASN_INTEGER, 51, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(conns, ASN_INTEGER, -1, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(tls, ASN_INTEGER, 2, &out), SNMP_ERR_NOERROR);
    assert_int_equal(convert_int(tls, ASN_INTEGER, 3, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(secure, ASN_INTEGER, 0, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(secure, ASN_INTEGER, 3, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_int(secure, ASN_INTEGER, 2, &out), SNMP_ERR_NOERROR);
    assert_int_equal(out.i, 0);
    assert_int_equal(convert_str(domain, "cuc.example.com", 15, &out), SNMP_ERR_NOERROR);
    assert_string_equal(out.s, "cuc.example.com");
    assert_int_equal(convert_str(domain, "not a host", 10, &out), SNMP_ERR_WRONGVALUE);
    assert_int_equal(convert_str(password, "p@ss w0rd!", 10, &out), SNMP_ERR_NOERROR);
    assert_string_equal(out.s, "p@ss w0rd!");
}

/* --- what a CUPI answer must hold to be served ------------------------------------ */

static cupi_result full_read(cupi_resource r)
{
    cupi_result res = {.status = CUPI_OK, .resource = r};
    cupi_snapshot_init(&res.snapshot, r);
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
        cupi_value v;
        /* No default domain name is documented; the table's "" is not valid. */
        const char *text = f[i].type == CUPI_TYPE_STRING && !f[i].allow_empty
                               ? "cuc.example.com"
                               : f[i].default_value;
        assert_int_equal(cupi_value_parse(&f[i], text, strlen(text), &v), CUPI_VALID);
        if (!f[i].write_only)
            cupi_snapshot_set(&res.snapshot, f[i].column, &v);
    }
    return res;
}

static void test_check_read(void **state)
{
    (void)state;
    char why[256];
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        cupi_result res = full_read((cupi_resource)r);
        assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_OK);
    }

    /* A field missing from the answer. */
    cupi_result res = full_read(CUPI_RES_SERVER);
    res.snapshot.present &= ~(CUPI_COLUMN_BIT(7));
    assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_E_PARSE);
    assert_non_null(strstr(why, "maxNumberRecipients"));

    /* Integers CUPI may send that no Integer32 carries, and the edges that fit. */
    const int64_t too_big[] = {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        res = full_read(CUPI_RES_SERVER);
        res.snapshot.v[8 - 1].i = too_big[i];
        assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_E_PARSE);
        assert_non_null(strstr(why, "retryDeliveryTimeoutMin"));
    }
    res = full_read(CUPI_RES_SERVER);
    res.snapshot.v[8 - 1].i = INT32_MAX;
    assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_OK);

    /* A failure passes through with CUPI's message; a PUT carries no values. */
    res = (cupi_result){.status = CUPI_E_AUTH, .message = "HTTP 401: Not Authorized"};
    assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_E_AUTH);
    assert_string_equal(why, "HTTP 401: Not Authorized");
    res = (cupi_result){.status = CUPI_OK, .is_put = true};
    assert_int_equal(agent_read_check(&res, why, sizeof why), CUPI_OK);
}

/* --- cupiChangeTable: two index arcs ------------------------------------------------ */

static test_oid change_cell(unsigned column, unsigned index, uint32_t sub)
{
    test_oid o = cell(CUPI_TABLE_CHANGE, column, index);
    o.name[o.len++] = sub;
    return o;
}

static void set_text(cupi_snapshot *snap, unsigned column, const char *text)
{
    const cupi_field *f = cupi_field_at(snap->resource, column);
    cupi_value v;
    assert_int_equal(cupi_value_parse(f, text, strlen(text), &v), CUPI_VALID);
    cupi_snapshot_set(snap, column, &v);
}

static void assert_change(unsigned index, uint32_t sub, unsigned table, unsigned column,
                          const char *old_text, const char *new_text, long source)
{
    netsnmp_variable_list *v = get(change_cell(MIB_CHANGE_OBJECT, index, sub));
    assert_int_equal(v->type, ASN_OBJECT_ID);
    test_oid want = cell(table, column, index);
    assert_int_equal(v->val_len, want.len * sizeof(oid));
    assert_memory_equal(v->val.objid, want.name, v->val_len);
    snmp_free_var(v);
    v = get(change_cell(MIB_CHANGE_OLD_VALUE, index, sub));
    assert_string(v, old_text);
    snmp_free_var(v);
    v = get(change_cell(MIB_CHANGE_NEW_VALUE, index, sub));
    assert_string(v, new_text);
    snmp_free_var(v);
    v = get(change_cell(MIB_CHANGE_SOURCE, index, sub));
    assert_number(v, ASN_INTEGER, (unsigned long)source);
    snmp_free_var(v);
}

static void assert_next_oid(test_oid from, test_oid want)
{
    netsnmp_variable_list *v = getnext(from);
    assert_oid(v, want);
    snmp_free_var(v);
}

static void test_change_table(void **state)
{
    (void)state;
    agent_history_configure(4);
    assert_int_equal(agent_history_start(), 0);
    assert_int_equal(mib_change_table_register(), 0);
    agent_server *s1 = agent_server_find(1), *s5 = agent_server_find(5);
    assert_non_null(s1);
    assert_non_null(s5);

    /* row 5: two fields changed elsewhere -> indexes 1 and 2 */
    cupi_snapshot snap = s5->res[CUPI_RES_SERVER].snap;
    set_text(&snap, 3, "7");
    set_text(&snap, 9, "true");
    agent_server_take_values(s5, &snap, AGENT_SOURCE_EXTERNAL, 0);
    /* row 1: a SET of the user name and the password, then three more
     * user names: indexes 1..5, of which the newest four are kept */
    snap = s1->res[CUPI_RES_CLIENT].snap;
    set_text(&snap, 5, "ops");
    set_text(&snap, 6, "n3w-secret");
    agent_server_set_commit(s1, &snap, CUPI_COLUMN_BIT(6));
    const char *names[] = {"ops", "a", "b", "c"};
    for (size_t i = 1; i < 4; i++) {
        snap = s1->res[CUPI_RES_CLIENT].snap;
        set_text(&snap, 5, names[i]);
        agent_server_take_values(s1, &snap, AGENT_SOURCE_EXTERNAL, 0);
    }

    assert_change(5, 1, CUPI_TABLE_SMTP_SERVER, 3, "50", "7", AGENT_SOURCE_EXTERNAL);
    assert_change(5, 2, CUPI_TABLE_SMTP_SERVER, 9, "false", "true", AGENT_SOURCE_EXTERNAL);
    assert_change(1, 2, CUPI_TABLE_SMTP_CLIENT, 6, "", "", AGENT_SOURCE_SNMP);
    assert_change(1, 3, CUPI_TABLE_SMTP_CLIENT, 5, "ops", "a", AGENT_SOURCE_EXTERNAL);
    assert_change(1, 5, CUPI_TABLE_SMTP_CLIENT, 5, "b", "c", AGENT_SOURCE_EXTERNAL);
    netsnmp_variable_list *v = get(cell(CUPI_TABLE_SERVER, MIB_SERVER_LAST_CHANGE_INDEX, 1));
    assert_number(v, ASN_UNSIGNED, 5);
    snmp_free_var(v);
    v = get(cell(CUPI_TABLE_SERVER, MIB_SERVER_LAST_CHANGE_INDEX, 5));
    assert_number(v, ASN_UNSIGNED, 2);
    snmp_free_var(v);

    /* DateAndTime in UTC: this year, '+' 0:00 */
    v = get(change_cell(MIB_CHANGE_TIME, 5, 1));
    assert_int_equal(v->type, ASN_OCTET_STR);
    assert_int_equal(v->val_len, 11);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    assert_int_equal(v->val.string[0] * 256 + v->val.string[1], tm.tm_year + 1900);
    assert_int_equal(v->val.string[8], '+');
    assert_int_equal(v->val.string[9], 0);
    snmp_free_var(v);

    /* gone (the oldest, overwritten), never made, or not a row */
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 1, 1), SNMP_NOSUCHINSTANCE);
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 1, 6), SNMP_NOSUCHINSTANCE);
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 2, 1), SNMP_NOSUCHINSTANCE);
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 3, 1), SNMP_NOSUCHINSTANCE);
    assert_exception(cell(CUPI_TABLE_CHANGE, MIB_CHANGE_SOURCE, 1), SNMP_NOSUCHINSTANCE);
    test_oid extra = change_cell(MIB_CHANGE_SOURCE, 1, 3);
    extra.name[extra.len++] = 0;
    assert_exception(extra, SNMP_NOSUCHINSTANCE);
    assert_exception(change_cell(MIB_CHANGE_INDEX, 1, 3), SNMP_NOSUCHOBJECT);

    /* GETNEXT: within a server, across servers (over row 2, which has no
     * history), into the next column, from below and between rows */
    assert_next_oid(mkoid(CUPI_TABLE_CHANGE, -1, -1, -1), change_cell(MIB_CHANGE_TIME, 1, 2));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 1, 2),
                    change_cell(MIB_CHANGE_OLD_VALUE, 1, 3));
    assert_next_oid(cell(CUPI_TABLE_CHANGE, MIB_CHANGE_OLD_VALUE, 1),
                    change_cell(MIB_CHANGE_OLD_VALUE, 1, 2));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 1, 0),
                    change_cell(MIB_CHANGE_OLD_VALUE, 1, 2));
    test_oid below = change_cell(MIB_CHANGE_OLD_VALUE, 1, 3);
    below.name[below.len++] = 9;
    assert_next_oid(below, change_cell(MIB_CHANGE_OLD_VALUE, 1, 4));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 1, 5),
                    change_cell(MIB_CHANGE_OLD_VALUE, 5, 1));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 1, 4294967295u),
                    change_cell(MIB_CHANGE_OLD_VALUE, 5, 1));
    assert_next_oid(cell(CUPI_TABLE_CHANGE, MIB_CHANGE_OLD_VALUE, 2),
                    change_cell(MIB_CHANGE_OLD_VALUE, 5, 1));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 5, 2),
                    change_cell(MIB_CHANGE_NEW_VALUE, 1, 2));
    assert_next_oid(change_cell(MIB_CHANGE_OLD_VALUE, 6, 1),
                    change_cell(MIB_CHANGE_NEW_VALUE, 1, 2));
    /* after the last column: cupiChangeHistorySize.0 */
    test_oid size = mkoid(CUPI_SCALAR_HISTORY_SIZE, 0, -1, -1);
    v = getnext(change_cell(MIB_CHANGE_SOURCE, 5, 2));
    assert_oid(v, size);
    assert_number(v, ASN_UNSIGNED, 4);
    snmp_free_var(v);

    /* a whole walk of the table: 6 rows x 5 columns in order */
    test_oid at = mkoid(CUPI_TABLE_CHANGE, -1, -1, -1);
    const unsigned order[][2] = {{1, 2}, {1, 3}, {1, 4}, {1, 5}, {5, 1}, {5, 2}};
    for (unsigned c = MIB_CHANGE_TIME; c <= MIB_CHANGE_SOURCE; c++)
        for (size_t i = 0; i < 6; i++) {
            test_oid want = change_cell(c, order[i][0], order[i][1]);
            v = getnext(at);
            assert_oid(v, want);
            snmp_free_var(v);
            at = want;
        }
    /* GETBULK is the same chain */
    test_oid from = mkoid(CUPI_TABLE_CHANGE, -1, -1, -1);
    check_bulk(&from, 1, 0, 40);
    const test_oid two[] = {change_cell(MIB_CHANGE_NEW_VALUE, 1, 4),
                            cell(CUPI_TABLE_SERVER, MIB_SERVER_LAST_CHANGE_INDEX, 1)};
    check_bulk(two, 2, 0, 5);

    /* a smaller history keeps the newest rows; indexes go on */
    agent_history_configure(1);
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 1, 4), SNMP_NOSUCHINSTANCE);
    assert_change(1, 5, CUPI_TABLE_SMTP_CLIENT, 5, "b", "c", AGENT_SOURCE_EXTERNAL);
    snap = s1->res[CUPI_RES_CLIENT].snap;
    set_text(&snap, 5, "d");
    agent_server_take_values(s1, &snap, AGENT_SOURCE_EXTERNAL, 0);
    assert_change(1, 6, CUPI_TABLE_SMTP_CLIENT, 5, "c", "d", AGENT_SOURCE_EXTERNAL);
    assert_exception(change_cell(MIB_CHANGE_SOURCE, 1, 5), SNMP_NOSUCHINSTANCE);
    mib_change_table_unregister();
}

/* --- nothing talked to CUPI -------------------------------------------------------- */

static void test_no_cupi_io(void **state)
{
    (void)state;
    /* Whatever the worker did would have reached the model by now. */
    agent_check_and_process(0);
    unsigned in_flight, waiting;
    agent_refresh_counts(&in_flight, &waiting);
    assert_int_equal(in_flight + waiting, 0);
    for (agent_server *s = agent_servers_first(); s; s = s->next) {
        cupi_client_stats st;
        worker_client_stats(s->client, &st);
        assert_int_equal(st.requests, 0);
        assert_int_equal(st.in_flight + st.queued, 0);
        assert_int_equal(worker_client_pending(s->client), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_server_table),
        cmocka_unit_test(test_get_config_tables),
        cmocka_unit_test(test_get_password_reads_empty),
        cmocka_unit_test(test_get_several_varbinds),
        cmocka_unit_test(test_get_missing),
        cmocka_unit_test(test_getnext_row_boundary),
        cmocka_unit_test(test_getnext_table_boundary),
        cmocka_unit_test(test_getnext_skips_rows_without_values),
        cmocka_unit_test(test_getnext_from_table_and_entry),
        cmocka_unit_test(test_getnext_every_column_boundary),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_getbulk),
        cmocka_unit_test(test_getbulk_whole_subtree),
        cmocka_unit_test(test_rows_follow_the_model),
        cmocka_unit_test(test_set_refused),
        cmocka_unit_test(test_varbind_encode),
        cmocka_unit_test(test_set_conversion_every_field),
        cmocka_unit_test(test_set_conversion_examples),
        cmocka_unit_test(test_check_read),
        cmocka_unit_test(test_change_table),
        cmocka_unit_test(test_no_cupi_io),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
