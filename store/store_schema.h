/* store/store_schema.h - the database's schema, in one place, and its
 * forward migrations (PRAGMA user_version). Internal to store/. */
#ifndef CUPI_STORE_SCHEMA_H
#define CUPI_STORE_SCHEMA_H

#include <sqlite3.h>

#include <stddef.h>

/* "CUPI" in PRAGMA application_id: a database of ours, not any SQLite file. */
#define STORE_APPLICATION_ID 0x43555049

/* The schema version this code writes and reads. */
unsigned store_schema_version(void);

/* Brings a database of version from (0: new and empty) up to the current
 * one inside the caller's write transaction. 0, or -1 with err. */
int store_schema_migrate(sqlite3 *db, unsigned from, char *err, size_t errsz);

/* Checks that db is one of ours at a version this code reads:
 * application_id ours (or 0 on an empty database: *is_new set),
 * user_version at most the current one (*version set). 0, or -1 with err. */
int store_schema_identify(sqlite3 *db, unsigned *version, int *is_new, char *err, size_t errsz);

#endif
