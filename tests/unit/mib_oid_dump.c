/* mib_oid_dump.c - prints the OID of every CUPI-SMTP-MIB object as the C code
 * defines it, for tests/integration/test_mib.py to compare with the MIB text.
 *
 *   mib_oid_dump           "NAME .1.3.6..." for every object
 *   mib_oid_dump --syntax  "NAME KIND ..." for every configuration column:
 *                          int MIN MAX | enum V1,V2,... | bool | string MAXLEN [write-only]
 *
 * The OIDs come from agent/mib/oids.h (root, arcs, tables, cupiServerTable
 * columns, notifications) and from libcupi's field table (configuration
 * columns: cupi_fields(), f->mib_name, f->column). Only the descriptor
 * names of cupiServerTable's columns and of the fixed nodes are written
 * here, since the C code has no names for them. */
#include <cupi/cupi.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mib/oids.h"

static const unsigned root[] = {CUPI_MIB_ROOT_OID};
_Static_assert(sizeof root / sizeof root[0] == CUPI_MIB_ROOT_LEN, "CUPI_MIB_ROOT_LEN");

/* Every table's entry is arc 1 under the table (mib/oids.h). */
#define ENTRY_ARC 1

/* cupiServerTable's columns, indexed by enum mib_server_column. */
static const char *const server_columns[] = {
    [MIB_SERVER_INDEX] = "cupiServerIndex",
    [MIB_SERVER_NAME] = "cupiServerName",
    [MIB_SERVER_URL] = "cupiServerUrl",
    [MIB_SERVER_STATUS] = "cupiServerStatus",
    [MIB_SERVER_DATA_AGE] = "cupiServerDataAge",
    [MIB_SERVER_LAST_ERROR] = "cupiServerLastError",
    [MIB_SERVER_REQUESTS] = "cupiServerRequests",
    [MIB_SERVER_FAILURES] = "cupiServerFailures",
    [MIB_SERVER_CONFIG_CHANGES] = "cupiServerConfigChanges",
    [MIB_SERVER_LAST_CHANGE] = "cupiServerLastChange",
    [MIB_SERVER_LAST_CHANGE_SOURCE] = "cupiServerLastChangeSource",
    [MIB_SERVER_LAST_CHANGE_INDEX] = "cupiServerLastChangeIndex",
};

/* cupiChangeTable's columns, indexed by enum mib_change_column. */
static const char *const change_columns[] = {
    [MIB_CHANGE_INDEX] = "cupiChangeIndex",
    [MIB_CHANGE_TIME] = "cupiChangeTime",
    [MIB_CHANGE_OBJECT] = "cupiChangeObject",
    [MIB_CHANGE_OLD_VALUE] = "cupiChangeOldValue",
    [MIB_CHANGE_NEW_VALUE] = "cupiChangeNewValue",
    [MIB_CHANGE_SOURCE] = "cupiChangeSource",
};

/* Prints NAME, the root and then n further arcs (unsigned). */
static void print_oid(const char *name, int n, ...)
{
    printf("%s ", name);
    for (size_t i = 0; i < CUPI_MIB_ROOT_LEN; i++)
        printf(".%u", root[i]);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        printf(".%u", va_arg(ap, unsigned));
    va_end(ap);
    putchar('\n');
}

static const struct {
    cupi_resource resource;
    unsigned table;
    const char *table_name;
    const char *entry_name;
} config_tables[] = {
    {CUPI_RES_SERVER, CUPI_TABLE_SMTP_SERVER, "cupiSmtpServerTable", "cupiSmtpServerEntry"},
    {CUPI_RES_CLIENT, CUPI_TABLE_SMTP_CLIENT, "cupiSmtpClientTable", "cupiSmtpClientEntry"},
};
#define N_CONFIG_TABLES (sizeof config_tables / sizeof config_tables[0])

static int dump_oids(void)
{
    print_oid("cupiSmtpMIB", 0);
    print_oid("cupiSmtpNotifications", 1, (unsigned)CUPI_ARC_NOTIFICATIONS);
    print_oid("cupiSmtpObjects", 1, (unsigned)CUPI_ARC_OBJECTS);
    print_oid("cupiSmtpConformance", 1, (unsigned)CUPI_ARC_CONFORMANCE);

    print_oid("cupiServerTable", 2, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_SERVER);
    print_oid("cupiServerEntry", 3, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_SERVER,
              (unsigned)ENTRY_ARC);
    for (unsigned c = 1; c < sizeof server_columns / sizeof server_columns[0]; c++) {
        if (!server_columns[c]) {
            fprintf(stderr, "mib_oid_dump: cupiServerTable column %u has no name\n", c);
            return 1;
        }
        print_oid(server_columns[c], 4, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_SERVER,
                  (unsigned)ENTRY_ARC, c);
    }

    for (size_t t = 0; t < N_CONFIG_TABLES; t++) {
        print_oid(config_tables[t].table_name, 2, (unsigned)CUPI_ARC_OBJECTS,
                  config_tables[t].table);
        print_oid(config_tables[t].entry_name, 3, (unsigned)CUPI_ARC_OBJECTS,
                  config_tables[t].table, (unsigned)ENTRY_ARC);
        size_t n = 0;
        const cupi_field *f = cupi_fields(config_tables[t].resource, &n);
        if (!f || n == 0) {
            fprintf(stderr, "mib_oid_dump: no fields for resource %s\n",
                    cupi_resource_name(config_tables[t].resource));
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            if (!f[i].mib_name || f[i].column == 0) {
                fprintf(stderr, "mib_oid_dump: field %s has no MIB name or column\n",
                        f[i].name ? f[i].name : "?");
                return 1;
            }
            print_oid(f[i].mib_name, 4, (unsigned)CUPI_ARC_OBJECTS, config_tables[t].table,
                      (unsigned)ENTRY_ARC, f[i].column);
        }
    }

    print_oid("cupiChangeTable", 2, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_CHANGE);
    print_oid("cupiChangeEntry", 3, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_CHANGE,
              (unsigned)ENTRY_ARC);
    for (unsigned c = 1; c < sizeof change_columns / sizeof change_columns[0]; c++)
        print_oid(change_columns[c], 4, (unsigned)CUPI_ARC_OBJECTS, (unsigned)CUPI_TABLE_CHANGE,
                  (unsigned)ENTRY_ARC, c);
    print_oid("cupiChangeHistorySize", 2, (unsigned)CUPI_ARC_OBJECTS,
              (unsigned)CUPI_SCALAR_HISTORY_SIZE);

    print_oid("cupiSmtpServerConfigChanged", 2, (unsigned)CUPI_ARC_NOTIFICATIONS,
              (unsigned)CUPI_NOTIFY_SERVER_CONFIG_CHANGED);
    print_oid("cupiSmtpClientConfigChanged", 2, (unsigned)CUPI_ARC_NOTIFICATIONS,
              (unsigned)CUPI_NOTIFY_CLIENT_CONFIG_CHANGED);
    print_oid("cupiServerStatusChanged", 2, (unsigned)CUPI_ARC_NOTIFICATIONS,
              (unsigned)CUPI_NOTIFY_STATUS_CHANGED);
    return 0;
}

static int dump_syntax(void)
{
    for (size_t t = 0; t < N_CONFIG_TABLES; t++) {
        size_t n = 0;
        const cupi_field *f = cupi_fields(config_tables[t].resource, &n);
        for (size_t i = 0; f && i < n; i++) {
            printf("%s ", f[i].mib_name);
            switch (f[i].type) {
            case CUPI_TYPE_INT:
                if (f[i].enums) {
                    printf("enum ");
                    for (size_t e = 0; e < f[i].n_enums; e++)
                        printf("%s%" PRId64, e ? "," : "", f[i].enums[e]);
                } else {
                    printf("int %" PRId64 " %" PRId64, f[i].min, f[i].max);
                }
                break;
            case CUPI_TYPE_BOOL:
                printf("bool");
                break;
            case CUPI_TYPE_STRING:
                printf("string %zu%s", f[i].max_len, f[i].write_only ? " write-only" : "");
                break;
            default:
                printf("unknown");
                break;
            }
            putchar('\n');
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--syntax") == 0)
        return dump_syntax();
    if (argc != 1) {
        fprintf(stderr, "usage: mib_oid_dump [--syntax]\n");
        return 2;
    }
    return dump_oids();
}
