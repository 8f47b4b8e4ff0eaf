/* bench_mib_get.c - the MIB module's CPU per GET at fleet size, for
 * scripts/bench.sh (not a test).
 *
 *   bench_mib_get [--gets N] [ROWS ...]
 *
 * In-process, as the module's unit tests run it (tests/unit/agent_harness.h:
 * net-snmp's own request processing over its callback transport, no
 * network, no CUPI): a model of ROWS servers (default 1 100 1000; indexes
 * with gaps, every row with values), then N (10,000) single-varbind GETs of
 * the last row's last cupiSmtpClientTable column. One JSON object per size
 * on stdout:
 *
 *   {"rows":1000,"gets":10000,"cpu_us_per_get":12.3}
 *
 * A lookup that is O(log rows) shows as a nearly flat line. Exit 0 when
 * every GET was answered with the cell, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_harness.h"

#include "mib/oids.h"
#include "mib/tables.h"
#include "model/server.h"

#define APP "cupi-bench-mib-get"

static netsnmp_session *client;

static unsigned index_of(size_t i)
{
    return (unsigned)(3 * i + 2);
}

/* CPU time of this thread, the SNMP one: the CUPI worker's reads of the
 * (unreachable) servers are not a GET's cost. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU microseconds per GET of the last row's last client column; negative
 * when a GET was not answered with the cell. */
static double get_cost_us(size_t rows, long gets)
{
    oid name[MAX_OID_LEN];
    size_t len =
        mib_column_oid(CUPI_TABLE_SMTP_CLIENT, (unsigned)cupi_field_count(CUPI_RES_CLIENT),
                       index_of(rows - 1), name, MAX_OID_LEN);
    double c0 = cpu_seconds();
    for (long i = 0; i < gets; i++) {
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
        snmp_add_null_var(pdu, name, len);
        pdu->flags |= UCD_MSG_FLAG_ALWAYS_IN_VIEW;
        netsnmp_pdu *r = NULL;
        int st = snmp_synch_response(client, pdu, &r);
        bool ok = st == STAT_SUCCESS && r && r->errstat == SNMP_ERR_NOERROR && r->variables &&
                  r->variables->type == ASN_OCTET_STR;
        if (r)
            snmp_free_pdu(r);
        if (!ok)
            return -1;
    }
    return (cpu_seconds() - c0) * 1e6 / (double)gets;
}

int main(int argc, char **argv)
{
    long gets = 10000;
    size_t sizes[16], n_sizes = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--gets") == 0)
            gets = atol(argv[++i]);
        else if (n_sizes < sizeof sizes / sizeof sizes[0] && atol(argv[i]) > 0)
            sizes[n_sizes++] = (size_t)atol(argv[i]);
        else {
            fprintf(stderr, "usage: bench_mib_get [--gets N] [ROWS ...]\n");
            return 2;
        }
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 1;
        sizes[n_sizes++] = 100;
        sizes[n_sizes++] = 1000;
    }
    if (gets < 1)
        gets = 1;

    netsnmp_session *master = NULL;
    if (harness_start(APP) != 0 || mib_config_tables_register() != 0 ||
        !(client = harness_open_client(&master, "public", 30))) {
        fprintf(stderr, "bench_mib_get: the in-process agent did not start\n");
        return 1;
    }
    int status = 0;
    for (size_t i = 0; i < n_sizes; i++) {
        double us = harness_fleet(sizes[i], index_of) == 0 ? get_cost_us(sizes[i], gets) : -1;
        if (us < 0) {
            fprintf(stderr, "bench_mib_get: GET failed with %zu rows\n", sizes[i]);
            status = 1;
            continue;
        }
        printf("{\"rows\":%zu,\"gets\":%ld,\"cpu_us_per_get\":%.2f}\n", sizes[i], gets, us);
        fflush(stdout);
    }
    snmp_close(client);
    snmp_close(master);
    mib_config_tables_unregister();
    agent_servers_clear();
    harness_stop();
    cupi_global_cleanup();
    snmp_shutdown(APP);
    shutdown_agent();
    return status;
}
