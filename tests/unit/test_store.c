/* test_store.c - the state store on its own (no net-snmp): what is written
 * reads back the same through the one reader, files are 0600 and never
 * hold a password, the path is re-checked before each write, what is not
 * ours is refused without being touched, the JSON import happens once, the
 * lock names its holder, and the reader checks every saved value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <cupi/cupi.h>

#include "store.h"
#include "test_support.h"

#define URL1 "https://cuc1.example.com:8443"
#define SECRET "Sm4rt-Host-Secret!"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || temp_dir_make(f->dir, sizeof f->dir, "store") != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (temp_dir_remove(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static store *open_store(const char *path, bool thread)
{
    store *st = NULL;
    char err[320];
    store_open_opts o = {.checkpoint_thread = thread, .checkpoint_s = 1};
    if (store_open(path, &o, &st, err, sizeof err) != 0)
        fail_msg("store_open: %s", err);
    return st;
}

/* The client's seed values with a smart-host password set, as a SET's
 * snapshot would carry it (the store must drop it). */
static cupi_snapshot client_with_password(void)
{
    cupi_snapshot c = seed_snapshot(CUPI_RES_CLIENT);
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_non_null(pw);
    assert_true(pw->write_only);
    set_str(&c, pw->column, SECRET);
    return c;
}

static void write_one(store *st, uint32_t last)
{
    cupi_snapshot server = seed_snapshot(CUPI_RES_SERVER);
    cupi_snapshot client = client_with_password();
    history_ring h;
    history_ring_init(&h);
    assert_int_equal(history_ring_resize(&h, 10), 0);
    h.last_index = last - 2;
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_int_not_equal(history_ring_add(&h, 1700000001, CUPI_RES_SERVER, port->column,
                                          HISTORY_SOURCE_EXTERNAL, "25", "587"),
                         0);
    /* Whatever a caller passes for a write-only field, "" is stored. */
    assert_int_not_equal(history_ring_add(&h, 1700000002, CUPI_RES_CLIENT, pw->column,
                                          HISTORY_SOURCE_SNMP, SECRET, SECRET),
                         0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_put_server(st, 1, URL1, last), 0);
    assert_int_equal(store_put_values(st, 1, &server, 1700000100), 0);
    assert_int_equal(store_put_values(st, 1, &client, 1700000200), 0);
    for (size_t i = 0; i < h.count; i++)
        assert_int_equal(store_put_change(st, 1, history_ring_at(&h, i)), 0);
    assert_int_equal(store_commit(st), 0);
    history_ring_clear(&h);
}

static store_doc load_ok(const char *path, size_t rows)
{
    store_read_opts o = {.now = time(NULL), .history_rows = rows};
    store_doc doc;
    char err[320];
    if (store_load(path, &o, &doc, err, sizeof err) != 0)
        fail_msg("store_load: %s", err);
    return doc;
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, needle, k) == 0)
            return true;
    return false;
}

static void test_round_trip_modes_and_no_password(void **state)
{
    fixture *f = *state;
    store *st = open_store(f->path, true);
    write_one(st, 7);

    /* Read while the writer holds it open: the same code cupictl runs. */
    store_doc doc = load_ok(f->path, 100);
    assert_int_equal(doc.kind, STORE_KIND_SQLITE);
    assert_int_equal(doc.n_servers, 1);
    const store_server *e = store_doc_find(&doc, 1, URL1);
    assert_non_null(e);
    assert_null(store_doc_find(&doc, 1, "https://other.example.com"));
    assert_int_equal(e->invalid, 0);
    assert_true(e->res[CUPI_RES_SERVER].valid && e->res[CUPI_RES_CLIENT].valid);
    cupi_snapshot server = seed_snapshot(CUPI_RES_SERVER);
    assert_int_equal(cupi_snapshot_diff(&e->res[CUPI_RES_SERVER].snap, &server), 0);
    assert_int_equal(e->res[CUPI_RES_SERVER].read_at, 1700000100);
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    assert_false(cupi_snapshot_has(&e->res[CUPI_RES_CLIENT].snap, pw->column));
    assert_int_equal(e->last_change, 7);
    assert_int_equal(e->history.last_index, 7);
    assert_int_equal(e->history.count, 2);
    const agent_change *c = history_ring_at(&e->history, 0);
    assert_int_equal(c->index, 6);
    assert_string_equal(agent_change_old(c), "25");
    assert_string_equal(agent_change_new(c), "587");
    c = history_ring_at(&e->history, 1);
    assert_int_equal(c->index, 7);
    assert_int_equal(c->source, HISTORY_SOURCE_SNMP);
    assert_string_equal(agent_change_old(c), "");
    assert_string_equal(agent_change_new(c), "");
    assert_true(doc.written_at >= time(NULL) - 5);
    assert_string_equal(doc.store_id, store_id(st));
    store_doc_free(&doc);

    /* Every file sqlite made is 0600, none holds the password. */
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char name[160];
        struct stat sb;
        snprintf(name, sizeof name, "%s%s", f->path, suffix[i]);
        assert_int_equal(stat(name, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_false(file_has(name, SECRET));
    }
    store_close(st);
    /* The last connection checkpointed: no WAL left, nothing lost. */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(access(wal, F_OK), -1);
    assert_false(file_has(f->path, SECRET));
    doc = load_ok(f->path, 1);
    assert_int_equal(doc.servers[0].history.count, 1); /* the newest that fit */
    assert_int_equal(doc.servers[0].history_saved, 2);
    assert_int_equal(history_ring_at(&doc.servers[0].history, 0)->index, 7);
    store_doc_free(&doc);
}

static void test_trim_drop_and_read_time(void **state)
{
    fixture *f = *state;
    store *st = open_store(f->path, false);
    write_one(st, 7);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_trim_changes(st, 1, 7), 0);
    assert_int_equal(store_put_read_at(st, 1, CUPI_RES_SERVER, 1700000999), 0);
    assert_int_equal(store_drop_values(st, 1, CUPI_RES_CLIENT), 0);
    assert_int_equal(store_put_server(st, 2, "https://b.example.com", 0), 0);
    assert_int_equal(store_commit(st), 0);
    store_doc doc = load_ok(f->path, 100);
    assert_int_equal(doc.n_servers, 2);
    assert_int_equal(doc.servers[0].history.count, 1);
    assert_int_equal(doc.servers[0].res[CUPI_RES_SERVER].read_at, 1700000999);
    assert_false(doc.servers[0].res[CUPI_RES_CLIENT].valid);
    store_doc_free(&doc);

    /* A rolled-back transaction leaves nothing. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_drop_server(st, 1), 0);
    store_rollback(st);
    doc = load_ok(f->path, 100);
    assert_int_equal(doc.n_servers, 2);
    store_doc_free(&doc);

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_drop_server(st, 1), 0);
    assert_int_equal(store_commit(st), 0);
    doc = load_ok(f->path, 100);
    assert_int_equal(doc.n_servers, 1);
    assert_int_equal(doc.servers[0].index, 2);
    store_doc_free(&doc);
    store_close(st);
}

/* The path is checked before each write: a store moved away or replaced is
 * not written behind the operator's back. */
static void test_moved_or_replaced_store(void **state)
{
    fixture *f = *state;
    store *st = open_store(f->path, true);
    write_one(st, 3);
    char away[160];
    snprintf(away, sizeof away, "%s.away", f->path);
    assert_int_equal(rename(f->path, away), 0);
    assert_int_equal(store_begin(st), -1);
    assert_true(store_needs_reopen(st));
    assert_non_null(strstr(store_error(st), "no longer names"));
    store_abandon(st);

    /* Garbage at the path: refused, untouched. */
    FILE *g = fopen(f->path, "w");
    fputs("garbage, not a database\n", g);
    fclose(g);
    char err[320];
    assert_int_equal(store_open(f->path, NULL, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a cupi-snmp state file"));
    assert_true(file_has(f->path, "garbage, not a database"));
    assert_int_equal(store_check(f->path, err, sizeof err), -1);

    /* A store at the path again: opened, a different identity. */
    assert_int_equal(unlink(f->path), 0);
    store *again = open_store(f->path, false);
    store_doc doc = load_ok(away, 10);
    assert_string_not_equal(doc.store_id, store_id(again));
    store_doc_free(&doc);
    store_close(again);
}

static void make_db(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_refuses_what_is_not_ours(void **state)
{
    fixture *f = *state;
    char err[320];
    store *st = NULL;
    store_read_opts o = {.now = time(NULL), .history_rows = 10};
    store_doc doc;

    make_db(f->path, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    assert_int_equal(store_open(f->path, NULL, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "another SQLite database"));
    assert_int_equal(store_load(f->path, &o, &doc, err, sizeof err), -1);
    assert_non_null(strstr(err, "another SQLite database"));
    assert_int_equal(store_check(f->path, err, sizeof err), -1);
    unlink(f->path);

    st = open_store(f->path, false);
    store_close(st);
    make_db(f->path, "PRAGMA user_version = 99");
    assert_int_equal(store_open(f->path, NULL, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 99 is newer"));
    assert_int_equal(store_load(f->path, &o, &doc, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 99 is newer"));
    unlink(f->path);

    /* A FIFO is refused at once, never waited on. */
    assert_int_equal(mkfifo(f->path, 0600), 0);
    assert_int_equal(store_probe(f->path, err, sizeof err), STORE_KIND_ERROR);
    assert_string_equal(err, "is a FIFO, not a regular file");
    assert_int_equal(store_load(f->path, &o, &doc, err, sizeof err), -1);
    assert_int_equal(store_check(f->path, err, sizeof err), -1);
    unlink(f->path);

    /* Missing: creatable here, not in a directory that does not exist. */
    assert_int_equal(store_check(f->path, err, sizeof err), 0);
    assert_int_equal(store_check("/nonexistent-dir/state", err, sizeof err), -1);
    assert_int_equal(store_load(f->path, &o, &doc, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
}

/* An operator's edit (or a bit flip) the agent could not have written:
 * that resource, or that server's history, is not taken. */
static void test_reader_checks_every_value(void **state)
{
    fixture *f = *state;
    store *st = open_store(f->path, false);
    write_one(st, 7);
    store_close(st);
    make_db(f->path, "UPDATE field_values SET value = 'twenty' WHERE field = 'Port';"
                     "UPDATE changes SET new = 'x' WHERE change = 6;"
                     "INSERT INTO field_values VALUES (1, 'client', 'smtpPassword', 'pw');");
    store_doc doc = load_ok(f->path, 10);
    const store_server *e = &doc.servers[0];
    assert_false(e->res[CUPI_RES_SERVER].valid);
    assert_false(e->res[CUPI_RES_CLIENT].valid); /* a password is never taken */
    assert_int_equal(e->invalid, 2);
    assert_true(e->history_bad);
    assert_int_equal(e->history.count, 0);
    assert_int_equal(e->history.last_index, 7); /* numbers never go back */
    store_doc_free(&doc);

    make_db(f->path, "UPDATE changes SET new = '' WHERE change = 6;"
                     "UPDATE servers SET last_change = 5");
    doc = load_ok(f->path, 10);
    assert_true(doc.servers[0].history_bad); /* rows beyond the last index */
    store_doc_free(&doc);
}

static const char JSON_V2[] =
    "{\"format\":\"cupi-snmp-state\",\"version\":2,\"servers\":[{\"index\":3,"
    "\"url\":\"https://c.example.com\",\"server\":{\"readAt\":1700000000,\"values\":"
    "{\"Port\":\"587\",\"domainName\":\"mail.example.com\",\"maxNumberConnections\":\"20\","
    "\"smtpClientThreads\":\"5\",\"maxMessageSizeKb\":\"10240\","
    "\"maxNumberMessagesSession\":\"10\",\"maxNumberRecipients\":\"1000\","
    "\"retryDeliveryTimeoutMin\":\"240\","
    "\"allowConnectionsFromUntrustedIpAddresses\":\"true\","
    "\"requireAuthenticationFromUntrustedIpAddresses\":\"false\","
    "\"requireTlsFromUntrustedIpAddresses\":\"2\"}},"
    "\"history\":{\"version\":1,\"lastIndex\":12,\"rows\":[{\"index\":11,\"time\":1700000000,"
    "\"resource\":\"server\",\"field\":\"Port\",\"old\":\"25\",\"new\":\"587\","
    "\"source\":\"snmp\"}]}}]}";

static void test_json_imported_once(void **state)
{
    fixture *f = *state;
    FILE *j = fopen(f->path, "w");
    fputs(JSON_V2, j);
    fclose(j);
    char err[320];
    assert_int_equal(store_check(f->path, err, sizeof err), 0);
    /* Before the import, cupictl reads the JSON with the same reader. */
    store_doc before = load_ok(f->path, 10);
    assert_int_equal(before.kind, STORE_KIND_JSON);
    assert_int_equal(store_import_json(f->path, time(NULL), err, sizeof err), 0);
    store_doc after = load_ok(f->path, 10);
    assert_int_equal(after.kind, STORE_KIND_SQLITE);
    assert_int_equal(after.n_servers, 1);
    const store_server *a = &after.servers[0], *b = &before.servers[0];
    assert_int_equal(a->index, 3);
    assert_true(a->res[CUPI_RES_SERVER].valid);
    assert_int_equal(
        cupi_snapshot_diff(&a->res[CUPI_RES_SERVER].snap, &b->res[CUPI_RES_SERVER].snap), 0);
    assert_int_equal(a->last_change, 12);
    assert_int_equal(a->history.count, 1);
    assert_int_equal(history_ring_at(&a->history, 0)->index, 11);
    store_doc_free(&before);
    store_doc_free(&after);
    char bak[160];
    snprintf(bak, sizeof bak, "%s.json.bak", f->path);
    assert_true(file_has(bak, "\"lastIndex\":12"));
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* Once: the database is not JSON. */
    assert_int_equal(store_import_json(f->path, time(NULL), err, sizeof err), -1);
    assert_true(file_has(bak, "\"lastIndex\":12"));

    /* A JSON file that is not a state file: not imported, left as it is. */
    j = fopen(f->path, "w");
    fputs("{\"format\":\"other\"}", j);
    fclose(j);
    assert_int_equal(store_import_json(f->path, time(NULL), err, sizeof err), -1);
    assert_non_null(strstr(err, "not a cupi-snmp state file"));
    assert_true(file_has(f->path, "\"format\":\"other\""));
    assert_int_equal(store_check(f->path, err, sizeof err), -1);
}

static void test_lock_names_the_holder(void **state)
{
    fixture *f = *state;
    store_lock *a = NULL, *b = NULL;
    char err[320];
    assert_int_equal(store_lock_take(f->path, &a, err, sizeof err), 0);
    /* flock belongs to the open file: a second open, even here, is refused. */
    assert_int_equal(store_lock_take(f->path, &b, err, sizeof err), -2);
    char pid[64];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err, pid));
    assert_non_null(strstr(err, "in use by another agent"));
    /* Readers never lock: a store in use is still read. */
    store *st = open_store(f->path, false);
    write_one(st, 3);
    store_close(st);
    store_doc doc = load_ok(f->path, 10);
    store_doc_free(&doc);
    store_lock_release(a);
    assert_int_equal(store_lock_take(f->path, &b, err, sizeof err), 0);
    store_lock_release(b);
    /* Where no lock file can be made: -1, not "held". */
    assert_int_equal(store_lock_take("/nonexistent-dir/state", &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open the lock file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_modes_and_no_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_drop_and_read_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_or_replaced_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_what_is_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_checks_every_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_imported_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_names_the_holder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
