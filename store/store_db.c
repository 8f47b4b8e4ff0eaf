/* store/store_db.c - opening the state database and writing to it: one
 * connection, used by one thread (the agent's SNMP thread), small
 * transactions of prepared statements. */
#include "store_internal.h"
#include "store_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define WAL_SIZE_LIMIT (4 * 1024 * 1024) /* a WAL is cut back to this when reset */
#define WRITER_BUSY_MS 2                 /* only the agent writes: a lock is never held long */
/* A change touches a few pages of one server: the interior pages stay
 * cached, the rest is in the OS's page cache anyway. */
#define WRITER_CACHE_KIB 1024

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_WRITTEN,
    S_PUT_SERVER,
    S_PUT_RESOURCE,
    S_DEL_VALUES,
    S_INS_VALUE,
    S_READ_AT,
    S_DEL_RESOURCE,
    S_INS_CHANGE,
    S_TRIM,
    S_DROP_SERVER,
    S_DROP_RESOURCES,
    S_DROP_VALUES,
    S_DROP_CHANGES,
    S_DROP_ALL,
    S_COUNT
};

static const char *const sql_of[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_WRITTEN] = "UPDATE store_info SET value = CAST(?1 AS TEXT) WHERE key = 'written_at'",
    [S_PUT_SERVER] = "INSERT INTO servers (server, url, last_change) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (server) DO UPDATE SET url = excluded.url, "
                     "last_change = excluded.last_change",
    [S_PUT_RESOURCE] =
        "INSERT INTO resources (server, resource, read_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (server, resource) DO UPDATE SET read_at = excluded.read_at",
    [S_DEL_VALUES] = "DELETE FROM field_values WHERE server = ?1 AND resource = ?2",
    [S_INS_VALUE] = "INSERT INTO field_values (server, resource, field, value) "
                    "VALUES (?1, ?2, ?3, ?4)",
    [S_READ_AT] = "UPDATE resources SET read_at = ?3 WHERE server = ?1 AND resource = ?2",
    [S_DEL_RESOURCE] = "DELETE FROM resources WHERE server = ?1 AND resource = ?2",
    [S_INS_CHANGE] = "INSERT OR REPLACE INTO changes "
                     "(server, change, time, resource, field, old, new, source) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_TRIM] = "DELETE FROM changes WHERE server = ?1 AND change < ?2",
    [S_DROP_SERVER] = "DELETE FROM servers WHERE server = ?1",
    [S_DROP_RESOURCES] = "DELETE FROM resources WHERE server = ?1",
    [S_DROP_VALUES] = "DELETE FROM field_values WHERE server = ?1",
    [S_DROP_CHANGES] = "DELETE FROM changes WHERE server = ?1",
    [S_DROP_ALL] = "DELETE FROM servers; DELETE FROM resources; DELETE FROM field_values; "
                   "DELETE FROM changes",
};

struct store {
    sqlite3 *db;
    char *path;
    dev_t dev; /* the file path named when opened */
    ino_t ino;
    char id[40];
    char err[320];
    bool reopen;
    sqlite3_stmt *stmt[S_COUNT];
    store_checkpointer *ckpt;
};

void store_describe(sqlite3 *db, const char *what, char *err, size_t errsz)
{
    int sys = db ? sqlite3_system_errno(db) : 0;
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    if (sys)
        snprintf(err, errsz, "%s%s%s (%s)", what ? what : "", what ? ": " : "", msg,
                 strerror(sys));
    else
        snprintf(err, errsz, "%s%s%s", what ? what : "", what ? ": " : "", msg);
}

const char *store_path(const store *st)
{
    return st->path;
}

const char *store_id(const store *st)
{
    return st->id;
}

const char *store_error(const store *st)
{
    return st->err;
}

bool store_needs_reopen(const store *st)
{
    return st->reopen;
}

/* The same mode for the database and the WAL and shared-memory files that
 * sqlite makes beside it (it gives them the database's mode). */
static void restrict_mode(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char name[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        struct stat st;
        if (lstat(name, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
            chmod(name, 0600);
    }
}

/* A new, empty database file, 0600, never through a planted symlink. */
static int create_empty(const char *path, char *err, size_t errsz)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    store_describe(db, NULL, err, errsz);
    return -1;
}

static int read_id(sqlite3 *db, char *id, size_t idsz)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM store_info WHERE key = 'store_id'", -1,
                                &s, NULL);
    id[0] = '\0';
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(id, idsz, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return id[0] ? 0 : -1;
}

/* path as an SQLite URI that opens it immutable: for a file on a read-only
 * file system, where nobody can write it and sqlite cannot make the WAL's
 * shared memory beside it. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *uri = malloc(n * 3 + sizeof "file:?immutable=1");
    if (!uri)
        return NULL;
    char *o = uri + sprintf(uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/._-", *p))
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    strcpy(o, "?immutable=1");
    return uri;
}

static bool on_read_only_fs(const char *path)
{
    struct statvfs vfs;
    return statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

static int open_ro(const char *name, int flags, sqlite3 **db, char *err, size_t errsz)
{
    if (sqlite3_open_v2(name, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | flags, NULL) !=
        SQLITE_OK) {
        store_describe(*db, "cannot open", err, errsz);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_extended_result_codes(*db, 1);
    sqlite3_busy_timeout(*db, 2000); /* a reader may wait for the writer's recovery */
    return 0;
}

int store_open_readonly(const char *path, sqlite3 **out, char *err, size_t errsz)
{
    *out = NULL;
    sqlite3 *db = NULL;
    if (open_ro(path, 0, &db, err, errsz) != 0)
        return -1;
    unsigned version = 0;
    int is_new = 0;
    int rc = store_schema_identify(db, &version, &is_new, err, errsz);
    if (rc != 0 && (sqlite3_errcode(db) & 0xff) == SQLITE_CANTOPEN && on_read_only_fs(path)) {
        sqlite3_close(db);
        db = NULL;
        char *uri = immutable_uri(path);
        rc = uri ? open_ro(uri, SQLITE_OPEN_URI, &db, err, errsz) : -1;
        free(uri);
        if (rc == 0)
            rc = store_schema_identify(db, &version, &is_new, err, errsz);
    }
    if (rc != 0) {
        sqlite3_close(db);
        return -1;
    }
    if (version != store_schema_version()) {
        if (is_new || version == 0)
            snprintf(err, errsz, "an empty state store (nothing written yet)");
        else
            snprintf(err, errsz,
                     "state store schema version %u is older than this program's (%u): "
                     "the agent upgrades it when it starts",
                     version, store_schema_version());
        sqlite3_close(db);
        return -2;
    }
    *out = db;
    return 0;
}

/* Opens, identifies and migrates; the pragmas of a writer. */
static int open_writer(store *st, char *err, size_t errsz)
{
    char why[256];
    store_kind kind = store_probe(st->path, why, sizeof why);
    switch (kind) {
    case STORE_KIND_MISSING:
        if (create_empty(st->path, err, errsz) != 0)
            return -1;
        break;
    case STORE_KIND_EMPTY:
    case STORE_KIND_SQLITE:
        break;
    case STORE_KIND_JSON:
        snprintf(err, errsz, "a JSON state file, not yet imported");
        return -1;
    case STORE_KIND_OTHER:
    case STORE_KIND_ERROR:
        snprintf(err, errsz, "%s", why);
        return -1;
    }
    restrict_mode(st->path);
    if (sqlite3_open_v2(st->path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        store_describe(st->db, "cannot open", err, errsz);
        return -1;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 1000); /* opening may wait for a reader's recovery */
    unsigned version = 0;
    int is_new = 0;
    if (store_schema_identify(st->db, &version, &is_new, err, errsz) != 0)
        return -1;
    char mode[16] = "";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (strcmp(mode, "wal") != 0) {
        store_describe(st->db, "cannot use a WAL journal", err, errsz);
        return -1;
    }
    char pragmas[192];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; "
             "PRAGMA journal_size_limit = %d; PRAGMA cache_size = -%d",
             WAL_SIZE_LIMIT, WRITER_CACHE_KIB);
    if (exec(st->db, pragmas, err, errsz) != 0)
        return -1;
    if (version < store_schema_version()) {
        if (exec(st->db, "BEGIN IMMEDIATE", err, errsz) != 0)
            return -1;
        if (store_schema_migrate(st->db, version, err, errsz) != 0 ||
            exec(st->db, "COMMIT", err, errsz) != 0) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (read_id(st->db, st->id, sizeof st->id) != 0) {
        snprintf(err, errsz, "not a cupi-snmp state store (no store_id)");
        return -1;
    }
    restrict_mode(st->path); /* the WAL and shared memory now exist */
    struct stat sb;
    if (stat(st->path, &sb) != 0) {
        snprintf(err, errsz, "%s", strerror(errno));
        return -1;
    }
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    for (int i = 0; i < S_COUNT; i++) {
        if (i == S_DROP_ALL)
            continue; /* several statements: run with sqlite3_exec */
        if (sqlite3_prepare_v3(st->db, sql_of[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            store_describe(st->db, "cannot prepare", err, errsz);
            return -1;
        }
    }
    sqlite3_busy_timeout(st->db, WRITER_BUSY_MS);
    return 0;
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    store *st = arg;
    if (pages >= STORE_WAL_WAKE_PAGES && st->ckpt)
        store_checkpointer_wake(st->ckpt);
    return SQLITE_OK;
}

static void release(store *st)
{
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

int store_open(const char *path, const store_open_opts *opts, store **out, char *err,
               size_t errsz)
{
    *out = NULL;
    store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    if (open_writer(st, err, errsz) != 0) {
        release(st);
        return -1;
    }
    if (opts && opts->checkpoint_thread) {
        unsigned period = opts->checkpoint_s ? opts->checkpoint_s : STORE_CHECKPOINT_DEFAULT_S;
        st->ckpt = store_checkpointer_start(path, period, err, errsz);
        if (!st->ckpt) {
            release(st);
            return -1;
        }
        sqlite3_wal_hook(st->db, on_wal, st);
    }
    *out = st;
    return 0;
}

void store_close(store *st)
{
    if (!st)
        return;
    if (st->ckpt)
        store_checkpointer_stop(st->ckpt, true);
    st->ckpt = NULL;
    restrict_mode(st->path);
    release(st);
}

void store_abandon(store *st)
{
    if (!st)
        return;
    if (st->ckpt)
        store_checkpointer_stop(st->ckpt, false);
    st->ckpt = NULL;
    /* Its WAL is still under the old name, where a store opened at the path
     * would find it: everything goes into the (moved) database and the WAL
     * is emptied first. It fails harmlessly when the disk is the trouble. */
    sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    release(st);
}

/* --- statements ------------------------------------------------------------ */

static int fail(store *st, const char *what)
{
    store_describe(st->db, what, st->err, sizeof st->err);
    int code = sqlite3_extended_errcode(st->db) & 0xff;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        st->reopen = true;
    return -1;
}

static int run(store *st, int which)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return fail(st, NULL);
}

static sqlite3_stmt *bind_server(store *st, int which, unsigned index)
{
    sqlite3_stmt *s = st->stmt[which];
    sqlite3_bind_int64(s, 1, index);
    return s;
}

int store_begin(store *st)
{
    struct stat sb;
    st->reopen = false;
    if (stat(st->path, &sb) != 0) {
        snprintf(st->err, sizeof st->err, "the path no longer names the open store (%s)",
                 strerror(errno));
        st->reopen = true;
        return -1;
    }
    if (sb.st_dev != st->dev || sb.st_ino != st->ino) {
        snprintf(st->err, sizeof st->err,
                 "the path no longer names the open store (moved, replaced or deleted)");
        st->reopen = true;
        return -1;
    }
    return run(st, S_BEGIN);
}

int store_commit(store *st)
{
    sqlite3_bind_int64(st->stmt[S_WRITTEN], 1, (sqlite3_int64)time(NULL));
    if (run(st, S_WRITTEN) != 0 || run(st, S_COMMIT) != 0)
        return -1;
    return 0;
}

void store_rollback(store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_step(st->stmt[S_ROLLBACK]);
        sqlite3_reset(st->stmt[S_ROLLBACK]);
    }
}

int store_put_server(store *st, unsigned index, const char *url, uint32_t last_change)
{
    sqlite3_stmt *s = bind_server(st, S_PUT_SERVER, index);
    sqlite3_bind_text(s, 2, url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, last_change);
    return run(st, S_PUT_SERVER);
}

int store_put_values(store *st, unsigned index, const cupi_snapshot *snap, time_t read_at)
{
    const char *res = cupi_resource_name(snap->resource);
    sqlite3_stmt *s = bind_server(st, S_PUT_RESOURCE, index);
    sqlite3_bind_text(s, 2, res, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)read_at);
    if (run(st, S_PUT_RESOURCE) != 0)
        return -1;
    s = bind_server(st, S_DEL_VALUES, index);
    sqlite3_bind_text(s, 2, res, -1, SQLITE_STATIC);
    if (run(st, S_DEL_VALUES) != 0)
        return -1;
    size_t n;
    const cupi_field *f = cupi_fields(snap->resource, &n);
    char text[CUPI_STR_MAX + 32];
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only || !cupi_snapshot_has(snap, f[i].column))
            continue; /* never a password */
        cupi_value_format(&f[i], &snap->v[i], text, sizeof text);
        s = bind_server(st, S_INS_VALUE, index);
        sqlite3_bind_text(s, 2, res, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, f[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
        if (run(st, S_INS_VALUE) != 0)
            return -1;
    }
    return 0;
}

int store_put_read_at(store *st, unsigned index, cupi_resource r, time_t read_at)
{
    sqlite3_stmt *s = bind_server(st, S_READ_AT, index);
    sqlite3_bind_text(s, 2, cupi_resource_name(r), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)read_at);
    return run(st, S_READ_AT);
}

int store_drop_values(store *st, unsigned index, cupi_resource r)
{
    const char *res = cupi_resource_name(r);
    sqlite3_stmt *s = bind_server(st, S_DEL_VALUES, index);
    sqlite3_bind_text(s, 2, res, -1, SQLITE_STATIC);
    if (run(st, S_DEL_VALUES) != 0)
        return -1;
    s = bind_server(st, S_DEL_RESOURCE, index);
    sqlite3_bind_text(s, 2, res, -1, SQLITE_STATIC);
    return run(st, S_DEL_RESOURCE);
}

int store_put_change(store *st, unsigned index, const agent_change *c)
{
    const cupi_field *f = cupi_field_at((cupi_resource)c->resource, c->column);
    if (!f) {
        snprintf(st->err, sizeof st->err, "change %u: no such field", c->index);
        return -1;
    }
    sqlite3_stmt *s = bind_server(st, S_INS_CHANGE, index);
    sqlite3_bind_int64(s, 2, c->index);
    sqlite3_bind_int64(s, 3, c->when);
    sqlite3_bind_text(s, 4, cupi_resource_name(f->resource), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, f->name, -1, SQLITE_STATIC);
    /* A write-only field's values are "" in the ring already: never a
     * password, whatever the caller put there. */
    sqlite3_bind_text(s, 6, f->write_only ? "" : agent_change_old(c), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, f->write_only ? "" : agent_change_new(c), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, c->source == HISTORY_SOURCE_SNMP ? "snmp" : "external", -1,
                      SQLITE_STATIC);
    return run(st, S_INS_CHANGE);
}

int store_trim_changes(store *st, unsigned index, int64_t keep_from)
{
    sqlite3_stmt *s = bind_server(st, S_TRIM, index);
    sqlite3_bind_int64(s, 2, keep_from);
    return run(st, S_TRIM);
}

int store_drop_server(store *st, unsigned index)
{
    static const int drops[] = {S_DROP_SERVER, S_DROP_RESOURCES, S_DROP_VALUES, S_DROP_CHANGES};
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        bind_server(st, drops[i], index);
        if (run(st, drops[i]) != 0)
            return -1;
    }
    return 0;
}

int store_drop_all(store *st)
{
    if (sqlite3_exec(st->db, sql_of[S_DROP_ALL], NULL, NULL, NULL) != SQLITE_OK)
        return fail(st, NULL);
    return 0;
}
