/* test_mib_scale.c - the CUPI-SMTP-MIB tables at fleet size, driven
 * in-process through net-snmp's own request processing (the same callback
 * transport pair as test_mib_handlers.c: a master session that hands PDUs to
 * handle_snmp_packet and a client session that sends them).
 *
 * A model of 1,000 servers (indexes with gaps, every row with values) must
 * walk, with GETNEXT and with GETBULK, to exactly rows * columns cells in
 * lexicographic order. The time of a whole walk is printed; it is a
 * measurement for the reader, not an assertion (the CPU per GET at fleet
 * size is bench/bench_mib_get's, run by scripts/bench.sh). */
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

#include "model/server.h"
#include "mib/oids.h"
#include "mib/tables.h"

#define APP "cupi-test-scale"
#define FLEET 1000
#define SERVER_COLUMNS 11 /* cupiServerTable's accessible columns, 2..12 */

static netsnmp_session *master, *client;

static const oid objects_oid[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
#define OBJECTS_LEN (CUPI_MIB_ROOT_LEN + 1)

/* Row i's index: gaps between rows, so that "next row" is not "index + 1". */
static unsigned index_of(size_t i)
{
    return (unsigned)(3 * i + 2);
}

/* --- the model ------------------------------------------------------------ */

/* Replaces the model with n servers, every one with values. */
static void model(size_t n)
{
    assert_int_equal(harness_fleet(n, index_of), 0);
}

/* --- requests through the agent ------------------------------------------- */

static netsnmp_pdu *exchange(netsnmp_pdu *pdu)
{
    pdu->flags |= UCD_MSG_FLAG_ALWAYS_IN_VIEW;
    netsnmp_pdu *response = NULL;
    int st = snmp_synch_response(client, pdu, &response);
    if (st != STAT_SUCCESS)
        fail_msg("no response (status %d)", st);
    assert_non_null(response);
    assert_int_equal(response->errstat, SNMP_ERR_NOERROR);
    return response;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cells of the model in walk order: what the next cell after `at`
 * must be. Returns false after the last one. */
typedef struct cursor {
    unsigned table, column;
    size_t row;
} cursor;

static unsigned last_column(unsigned table)
{
    if (table == CUPI_TABLE_SERVER)
        return MIB_SERVER_LAST_CHANGE_INDEX;
    return (unsigned)cupi_field_count(table == CUPI_TABLE_SMTP_SERVER ? CUPI_RES_SERVER
                                                                      : CUPI_RES_CLIENT);
}

static bool advance(cursor *c, size_t rows)
{
    if (++c->row < rows)
        return true;
    c->row = 0;
    if (++c->column <= last_column(c->table))
        return true;
    if (++c->table > CUPI_TABLE_SMTP_CLIENT)
        return false;
    c->column = 1;
    return true;
}

static void assert_cell(const netsnmp_variable_list *v, const cursor *c)
{
    oid want[MAX_OID_LEN];
    size_t len = mib_column_oid(c->table, c->column, index_of(c->row), want, MAX_OID_LEN);
    if (snmp_oid_compare(v->name, v->name_length, want, len) != 0) {
        char got[256], exp[256];
        snprint_objid(got, sizeof got, v->name, v->name_length);
        snprint_objid(exp, sizeof exp, want, len);
        fail_msg("walk returned %s, expected %s", got, exp);
    }
    assert_true(v->type == ASN_OCTET_STR || v->type == ASN_INTEGER || v->type == ASN_UNSIGNED ||
                v->type == ASN_COUNTER || v->type == ASN_TIMETICKS);
}

static size_t expected_cells(size_t rows)
{
    return rows * (SERVER_COLUMNS + cupi_field_count(CUPI_RES_SERVER) +
                   cupi_field_count(CUPI_RES_CLIENT));
}

/* Walks cupiSmtpObjects with GETBULK (max_rep > 0) or GETNEXT, checking
 * every cell against the model; returns the number of cells. */
static size_t walk(size_t rows, long max_rep)
{
    oid at[MAX_OID_LEN];
    size_t at_len = OBJECTS_LEN;
    memcpy(at, objects_oid, sizeof objects_oid);
    cursor c = {CUPI_TABLE_SERVER, MIB_SERVER_NAME, 0};
    bool more = true;
    size_t n = 0;
    for (;;) {
        netsnmp_pdu *pdu = snmp_pdu_create(max_rep > 0 ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT);
        assert_non_null(pdu);
        if (max_rep > 0) {
            pdu->non_repeaters = 0;
            pdu->max_repetitions = max_rep;
        }
        snmp_add_null_var(pdu, at, at_len);
        netsnmp_pdu *r = exchange(pdu);
        for (netsnmp_variable_list *v = r->variables; v; v = v->next_variable) {
            if (v->type == SNMP_ENDOFMIBVIEW ||
                snmp_oidtree_compare(v->name, v->name_length, objects_oid, OBJECTS_LEN) != 0) {
                snmp_free_pdu(r);
                assert_false(more);
                return n;
            }
            assert_true(more);
            assert_cell(v, &c);
            more = advance(&c, rows);
            n++;
            memcpy(at, v->name, v->name_length * sizeof(oid));
            at_len = v->name_length;
        }
        snmp_free_pdu(r);
    }
}

/* --- setup ------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (harness_start(APP) != 0)
        return -1;
    if (mib_server_table_register() != 0 || mib_config_tables_register() != 0)
        return -1;
    client = harness_open_client(&master, "public", 30);
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
    agent_servers_clear();
    harness_stop();
    cupi_global_cleanup();
    snmp_shutdown(APP);
    shutdown_agent();
    return 0;
}

/* --- tests ----------------------------------------------------------------------- */

static void test_walk_fleet(void **state)
{
    (void)state;
    model(FLEET);
    double t0 = wall_seconds(), c0 = cpu_seconds();
    size_t n = walk(FLEET, 0);
    double t1 = wall_seconds(), c1 = cpu_seconds();
    assert_int_equal(n, expected_cells(FLEET));
    printf("# GETNEXT walk of %zu cells (%d rows): %.3f s wall, %.3f s CPU, %.1f us CPU per "
           "varbind\n",
           n, FLEET, t1 - t0, c1 - c0, (c1 - c0) * 1e6 / (double)n);
}

static void test_bulk_walk_fleet(void **state)
{
    (void)state;
    model(FLEET);
    double t0 = wall_seconds(), c0 = cpu_seconds();
    size_t n = walk(FLEET, 50);
    double t1 = wall_seconds(), c1 = cpu_seconds();
    assert_int_equal(n, expected_cells(FLEET));
    printf("# GETBULK (50) walk of %zu cells (%d rows): %.3f s wall, %.3f s CPU\n", n, FLEET,
           t1 - t0, c1 - c0);
}

/* A row appears in the config tables when its values become known and
 * leaves them when they are forgotten, at any position of a large model. */
static void test_fleet_rows_follow_values(void **state)
{
    (void)state;
    model(FLEET);
    agent_server *s = agent_server_find(index_of(FLEET / 2));
    assert_non_null(s);
    s->res[CUPI_RES_CLIENT].valid = false;
    oid from[MAX_OID_LEN];
    size_t len =
        mib_column_oid(CUPI_TABLE_SMTP_CLIENT, 1, index_of(FLEET / 2 - 1), from, MAX_OID_LEN);
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETNEXT);
    snmp_add_null_var(pdu, from, len);
    netsnmp_pdu *r = exchange(pdu);
    oid want[MAX_OID_LEN];
    size_t want_len =
        mib_column_oid(CUPI_TABLE_SMTP_CLIENT, 1, index_of(FLEET / 2 + 1), want, MAX_OID_LEN);
    assert_int_equal(
        snmp_oid_compare(r->variables->name, r->variables->name_length, want, want_len), 0);
    snmp_free_pdu(r);
    s->res[CUPI_RES_CLIENT].valid = true;
    assert_int_equal(walk(FLEET, 40), expected_cells(FLEET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_fleet),
        cmocka_unit_test(test_bulk_walk_fleet),
        cmocka_unit_test(test_fleet_rows_follow_values),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
