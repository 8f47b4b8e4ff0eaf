/* bench_ref_subagent.c - the reference AgentX subagent of the fleet benchmark.
 *
 * It is as trivial as a subagent can be: one table of N rows with three
 * columns held in memory, served by net-snmp's tdata and table helpers, no
 * I/O besides AgentX. Measured behind the same snmpd, in the same run as
 * cupi-snmp-agent, it tells what part of a number is net-snmp, AgentX and
 * this machine's load rather than the agent.
 *
 *   bench_ref_subagent -x unix:/path/agentx.sock [-n ROWS] [-p PIDFILE]
 *
 * Table (under the net-snmp experimental arc, away from CUPI-SMTP-MIB):
 *   .1.3.6.1.4.1.8072.9999.9999.77.1.1.C.I, I = 1..ROWS, columns
 *   2 name (OCTET STRING "refI"), 3 value (INTEGER I), 4 flag (INTEGER 1).
 * SIGTERM/SIGINT: clean exit 0; usage errors exit 2.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF_NAME "bench_ref_subagent"
#define REF_MAX_ROWS 100000UL
#define REF_NAME_LEN 16

typedef struct ref_entry {
    u_long index;
    char name[REF_NAME_LEN];
    size_t name_len;
    long value;
    long flag;
} ref_entry;

static const oid ref_table_oid[] = {1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 77, 1};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int ref_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                       netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    (void)handler;
    (void)reg;
    if (reqinfo->mode != MODE_GET)
        return SNMP_ERR_NOERROR;
    for (netsnmp_request_info *r = requests; r; r = r->next) {
        if (r->processed)
            continue;
        const ref_entry *e = netsnmp_tdata_extract_entry(r);
        const netsnmp_table_request_info *ti = netsnmp_extract_table_info(r);
        if (!e || !ti) {
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
            continue;
        }
        switch (ti->colnum) {
        case 2:
            snmp_set_var_typed_value(r->requestvb, ASN_OCTET_STR, e->name, e->name_len);
            break;
        case 3:
            snmp_set_var_typed_integer(r->requestvb, ASN_INTEGER, e->value);
            break;
        case 4:
            snmp_set_var_typed_integer(r->requestvb, ASN_INTEGER, e->flag);
            break;
        default:
            netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHOBJECT);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

/* The entries live in one array owned by main for the process's lifetime;
 * rows only point into it. */
static int ref_register(ref_entry *entries, u_long rows)
{
    netsnmp_tdata *table = netsnmp_tdata_create_table("benchRefTable", 0);
    netsnmp_table_registration_info *info =
        SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
    netsnmp_handler_registration *reg =
        netsnmp_create_handler_registration("benchRefTable", ref_handler, ref_table_oid,
                                            OID_LENGTH(ref_table_oid), HANDLER_CAN_RONLY);
    if (!table || !info || !reg)
        return -1;
    netsnmp_table_helper_add_indexes(info, ASN_UNSIGNED, 0);
    info->min_column = 2;
    info->max_column = 4;
    for (u_long i = 0; i < rows; i++) {
        ref_entry *e = &entries[i];
        e->index = i + 1;
        e->name_len = (size_t)snprintf(e->name, sizeof e->name, "ref%lu", e->index);
        e->value = (long)e->index;
        e->flag = 1;
        netsnmp_tdata_row *row = netsnmp_tdata_create_row();
        if (!row)
            return -1;
        row->data = e;
        netsnmp_tdata_row_add_index(row, ASN_UNSIGNED, &e->index, sizeof e->index);
        netsnmp_tdata_add_row(table, row);
    }
    return netsnmp_tdata_register(reg, table, info) == MIB_REGISTERED_OK ? 0 : -1;
}

static int usage(void)
{
    fputs("Usage: " REF_NAME " -x AGENTX_ADDRESS [-n ROWS] [-p PIDFILE]\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *agentx = NULL, *pidfile = NULL;
    u_long rows = 1;
    int opt;
    while ((opt = getopt(argc, argv, "x:n:p:h")) != -1) {
        switch (opt) {
        case 'x':
            agentx = optarg;
            break;
        case 'n': {
            char *end;
            rows = strtoul(optarg, &end, 10);
            if (*end || rows < 1 || rows > REF_MAX_ROWS)
                return usage();
            break;
        }
        case 'p':
            pidfile = optarg;
            break;
        default:
            return usage();
        }
    }
    if (!agentx || optind < argc)
        return usage();

    ref_entry *entries = calloc(rows, sizeof *entries);
    if (!entries)
        return 1;
    snmp_enable_stderrlog();
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
    netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, agentx);
    /* Configuration files would make the reference depend on the machine. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    init_agent(REF_NAME);
    if (ref_register(entries, rows) != 0) {
        fputs(REF_NAME ": cannot register the table\n", stderr);
        return 1;
    }
    init_snmp(REF_NAME);
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (f) {
            fprintf(f, "%ld\n", (long)getpid());
            fclose(f);
        }
    }
    while (!stop_requested)
        agent_check_and_process(1);
    snmp_shutdown(REF_NAME);
    if (pidfile)
        unlink(pidfile);
    free(entries);
    return 0;
}
