/* fuzz_store_open.c - libFuzzer target: the state store opened on arbitrary
 * bytes, as a database file damaged by a crash, a bad disk or an operator.
 *
 * The bytes are written to a temporary file (whose WAL and shared memory
 * are removed first) and opened three ways: the reader (store_load, as the
 * agent's start and cupictl), the configuration check (store_check) and the
 * writer (store_open, as the agent, which may then write one server).
 * Asserted: each refuses with a sentence or succeeds; what the reader takes
 * is within bounds (index, URL, complete valid snapshots, read times, a
 * history whose indexes grow up to the server's last index and whose rows
 * carry values their field can hold, "" for the password); a store the
 * writer accepted reads back what it wrote. Seeds: corpus/store_open/ (a
 * store written by this code). */
#include "store.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1800000000)

static char path[64];

static void remove_files(void)
{
    const char *suffix[] = {"", "-wal", "-shm", ".lock"};
    char name[96];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

static void check_doc(const store_doc *doc)
{
    for (size_t i = 0; i < doc->n_servers; i++) {
        const store_server *s = &doc->servers[i];
        if (s->index < 1 || s->index > 65535 || strlen(s->url) > STORE_URL_MAX)
            abort();
        if (i && doc->servers[i - 1].index >= s->index)
            abort(); /* sorted, each index once */
        for (int r = 0; r < CUPI_RES_COUNT; r++) {
            const store_resource *res = &s->res[r];
            if (!res->valid)
                continue;
            if (res->read_at < 0 || res->read_at > NOW + STORE_READ_AT_AHEAD_S ||
                cupi_snapshot_check(&res->snap, NULL, NULL, 0) != CUPI_VALID)
                abort();
            size_t n;
            const cupi_field *f = cupi_fields((cupi_resource)r, &n);
            for (size_t k = 0; k < n; k++)
                if (cupi_snapshot_has(&res->snap, f[k].column) == f[k].write_only)
                    abort(); /* every readable field, never a password */
        }
        const history_ring *h = &s->history;
        if (h->last_index != s->last_change || (s->history_bad && h->count))
            abort();
        uint32_t after = 0;
        for (size_t k = 0; k < h->count; k++) {
            const agent_change *c = history_ring_at(h, k);
            const cupi_field *f = cupi_field_at((cupi_resource)c->resource, c->column);
            if (!f || c->index <= after || c->index > s->last_change)
                abort();
            if (f->write_only && (agent_change_old(c)[0] || agent_change_new(c)[0]))
                abort();
            after = c->index;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-store-%ld.db", (long)getpid());
    remove_files();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);

    char err[320];
    store_read_opts o = {.now = NOW, .history_rows = 100};
    store_doc doc;
    err[0] = '\0';
    if (store_load(path, &o, &doc, err, sizeof err) == 0) {
        check_doc(&doc);
        store_doc_free(&doc);
    } else if (!err[0] || doc.servers || doc.n_servers) {
        abort(); /* refused with a sentence, nothing half read */
    }
    err[0] = '\0';
    if (store_check(path, err, sizeof err) != 0 && !err[0])
        abort();

    store *st = NULL;
    err[0] = '\0';
    if (store_open(path, NULL, &st, err, sizeof err) != 0) {
        if (st || !err[0])
            abort();
        remove_files();
        return 0;
    }
    /* Accepted: one server written must read back as written. */
    cupi_snapshot snap;
    cupi_snapshot_init(&snap, CUPI_RES_CLIENT);
    int rc = store_begin(st);
    if (rc == 0)
        rc = store_drop_server(st, 7);
    if (rc == 0)
        rc = store_put_server(st, 7, "https://fuzz.example.com", 3);
    if (rc == 0)
        rc = store_commit(st);
    else
        store_rollback(st);
    store_close(st);
    if (rc == 0 && store_load(path, &o, &doc, err, sizeof err) == 0) {
        check_doc(&doc);
        const store_server *s = store_doc_find(&doc, 7, "https://fuzz.example.com");
        if (!s || s->last_change != 3)
            abort();
        store_doc_free(&doc);
    }
    remove_files();
    return 0;
}
