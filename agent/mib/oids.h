/* mib/oids.h - where CUPI-SMTP-MIB lives. The root is defined here and once
 * in mib/CUPI-SMTP-MIB.txt; tests/integration/test_mib.py proves they agree. */
#ifndef CUPI_MIB_OIDS_H
#define CUPI_MIB_OIDS_H

/* cupiSmtpMIB ::= { netSnmpPlaypen 25 } (placeholder until an IANA PEN) */
#define CUPI_MIB_ROOT_OID 1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 25
#define CUPI_MIB_ROOT_LEN 10

/* Arcs under the root. */
#define CUPI_ARC_NOTIFICATIONS 0
#define CUPI_ARC_OBJECTS 1
#define CUPI_ARC_CONFORMANCE 2

/* Tables under cupiSmtpObjects; each table's entry is arc 1. */
#define CUPI_TABLE_SERVER 1
#define CUPI_TABLE_SMTP_SERVER 2
#define CUPI_TABLE_SMTP_CLIENT 3
#define CUPI_TABLE_CHANGE 4
/* cupiChangeHistorySize, a scalar under cupiSmtpObjects. */
#define CUPI_SCALAR_HISTORY_SIZE 5

/* cupiServerTable columns. */
enum mib_server_column {
    MIB_SERVER_INDEX = 1,
    MIB_SERVER_NAME = 2,
    MIB_SERVER_URL = 3,
    MIB_SERVER_STATUS = 4,
    MIB_SERVER_DATA_AGE = 5,
    MIB_SERVER_LAST_ERROR = 6,
    MIB_SERVER_REQUESTS = 7,
    MIB_SERVER_FAILURES = 8,
    MIB_SERVER_CONFIG_CHANGES = 9,
    MIB_SERVER_LAST_CHANGE = 10,
    MIB_SERVER_LAST_CHANGE_SOURCE = 11,
    MIB_SERVER_LAST_CHANGE_INDEX = 12,
};

/* cupiChangeTable columns. */
enum mib_change_column {
    MIB_CHANGE_INDEX = 1,
    MIB_CHANGE_TIME = 2,
    MIB_CHANGE_OBJECT = 3,
    MIB_CHANGE_OLD_VALUE = 4,
    MIB_CHANGE_NEW_VALUE = 5,
    MIB_CHANGE_SOURCE = 6,
};

/* Notifications under cupiSmtpNotifications. */
#define CUPI_NOTIFY_SERVER_CONFIG_CHANGED 1
#define CUPI_NOTIFY_CLIENT_CONFIG_CHANGED 2
#define CUPI_NOTIFY_STATUS_CHANGED 3

#endif
