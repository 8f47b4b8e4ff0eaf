/* store/store_schema.c - every table of the state store, and how each
 * version of the schema becomes the next. doc/state-store.md describes the
 * same tables for operators; a change here is a new migration step, never
 * an edit of an old one. */
#include "store_schema.h"

#include <stdio.h>
#include <string.h>

/* Step i takes the schema from version i to version i + 1. Step 0 creates
 * it. Values are CUPI's text forms; resources and fields are named as in
 * CUPI's payloads; times are seconds since the epoch (UTC). */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE store_info ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE servers ("
    "  server INTEGER PRIMARY KEY CHECK (server BETWEEN 1 AND 65535),"
    "  url TEXT NOT NULL,"
    "  last_change INTEGER NOT NULL DEFAULT 0 CHECK (last_change BETWEEN 0 AND 4294967295)"
    ");"
    "CREATE TABLE resources ("
    "  server INTEGER NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  read_at INTEGER NOT NULL,"
    "  PRIMARY KEY (server, resource)"
    ") WITHOUT ROWID;"
    "CREATE TABLE field_values ("
    "  server INTEGER NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (server, resource, field)"
    ") WITHOUT ROWID;"
    "CREATE TABLE changes ("
    "  server INTEGER NOT NULL,"
    "  change INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  old TEXT NOT NULL,"
    "  new TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  PRIMARY KEY (server, change)"
    ") WITHOUT ROWID;"
    "INSERT INTO store_info VALUES ('format', 'cupi-snmp-state');"
    "INSERT INTO store_info VALUES ('store_id', lower(hex(randomblob(16))));"
    "INSERT INTO store_info VALUES ('written_at', CAST(strftime('%s','now') AS TEXT));",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

unsigned store_schema_version(void)
{
    return (unsigned)N_MIGRATIONS;
}

static int pragma_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_schema_migrate(sqlite3 *db, unsigned from, char *err, size_t errsz)
{
    for (unsigned v = from; v < N_MIGRATIONS; v++) {
        char *msg = NULL;
        if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errsz, "schema version %u -> %u failed: %s", v, v + 1,
                     msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            return -1;
        }
    }
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %u;",
             STORE_APPLICATION_ID, (unsigned)N_MIGRATIONS);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot set the schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

int store_schema_identify(sqlite3 *db, unsigned *version, int *is_new, char *err, size_t errsz)
{
    long long app = 0, user = 0, tables = 0;
    /* The first read of the file: a file that is not a database fails here. */
    if (pragma_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
        pragma_int(db, "PRAGMA user_version", &user) != SQLITE_OK ||
        pragma_int(db, "SELECT count(*) FROM sqlite_schema", &tables) != SQLITE_OK) {
        snprintf(err, errsz, "not a cupi-snmp state store (%s)", sqlite3_errmsg(db));
        return -1;
    }
    *is_new = app == 0 && user == 0 && tables == 0;
    if (!*is_new && app != STORE_APPLICATION_ID) {
        snprintf(err, errsz, "not a cupi-snmp state store (another SQLite database)");
        return -1;
    }
    if (user < 0 || user > (long long)N_MIGRATIONS) {
        snprintf(err, errsz,
                 "state store schema version %lld is newer than this program's (%u): "
                 "written by a later release",
                 user, (unsigned)N_MIGRATIONS);
        return -1;
    }
    *version = (unsigned)user;
    return 0;
}
