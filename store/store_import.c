/* store/store_import.c - a JSON state file of an earlier release becomes a
 * database, once. The database is written whole under a temporary name and
 * renamed over the JSON file, which is kept as PATH.json.bak: a crash
 * leaves either the JSON file (imported again at the next start) or the
 * complete database. */
#include "store_internal.h"

#include "cupi_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHY(...) snprintf(err, errsz, __VA_ARGS__)

int store_write_doc(store *st, const store_doc *doc)
{
    if (store_begin(st) != 0)
        return -1;
    int rc = store_drop_all(st);
    for (size_t i = 0; rc == 0 && i < doc->n_servers; i++) {
        const store_server *e = &doc->servers[i];
        rc = store_put_server(st, e->index, e->url, e->history.last_index);
        for (int r = 0; rc == 0 && r < CUPI_RES_COUNT; r++)
            if (e->res[r].valid)
                rc = store_put_values(st, e->index, &e->res[r].snap, e->res[r].read_at);
        for (size_t k = 0; rc == 0 && k < e->history.count; k++)
            rc = store_put_change(st, e->index, history_ring_at(&e->history, k));
    }
    if (rc == 0)
        rc = store_commit(st);
    if (rc != 0)
        store_rollback(st);
    return rc;
}

/* The JSON file's bytes under PATH.json.bak: a hard link when the file
 * system has them, else a copy. */
static int keep_backup(const char *path, const char *bak, char *err, size_t errsz)
{
    if (unlink(bak) != 0 && errno != ENOENT) {
        WHY("cannot replace %s: %s", bak, strerror(errno));
        return -1;
    }
    if (link(path, bak) == 0)
        return 0;
    size_t len;
    char why[128];
    char *text = cupi_file_read(path, 1024u * 1024u * 1024u, &len, NULL, why, sizeof why);
    int fd = text ? open(bak, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    if (!ok)
        WHY("cannot write %s: %s", bak, text ? strerror(errno) : why);
    if (fd >= 0)
        close(fd);
    free(text);
    return ok ? 0 : -1;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

int store_import_json(const char *path, time_t now, char *err, size_t errsz)
{
    store_read_opts all = {.now = now, .history_rows = STORE_HISTORY_MAX_ROWS};
    store_doc doc;
    char why[256];
    if (store_load(path, &all, &doc, why, sizeof why) != 0) {
        WHY("%s", why);
        return -1;
    }
    if (doc.kind != STORE_KIND_JSON) {
        store_doc_free(&doc);
        WHY("not a JSON state file");
        return -1;
    }
    struct stat js;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".import.XXXXXX");
    char *bak = malloc(plen + sizeof ".json.bak");
    int rc = -1, fd = -1;
    bool created = false;
    store *st = NULL;
    if (!tmp || !bak || stat(path, &js) != 0) {
        WHY("%s", tmp && bak ? strerror(errno) : "out of memory");
        goto out;
    }
    snprintf(tmp, plen + sizeof ".import.XXXXXX", "%s.import.XXXXXX", path);
    snprintf(bak, plen + sizeof ".json.bak", "%s.json.bak", path);
    fd = mkstemp(tmp); /* 0600, a name nobody planted */
    if (fd < 0) {
        WHY("cannot create a file beside it: %s", strerror(errno));
        goto out;
    }
    created = true;
    /* Started as root for an agent that drops privileges: the database
     * belongs to whoever owned the JSON file (the agent that wrote it). */
    if (geteuid() == 0 && fchown(fd, js.st_uid, js.st_gid) != 0) {
        WHY("cannot give %s to its owner: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (store_open(tmp, NULL, &st, why, sizeof why) != 0) {
        WHY("%s", why);
        goto out;
    }
    if (store_write_doc(st, &doc) != 0) {
        WHY("%s", store_error(st));
        goto out;
    }
    store_close(st); /* checkpointed: the WAL is gone, the file complete */
    st = NULL;
    if (sync_file(tmp) != 0) {
        WHY("cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (keep_backup(path, bak, err, errsz) != 0)
        goto out;
    if (rename(tmp, path) != 0) {
        WHY("cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    sync_dir(path);
    rc = 0;
out:
    if (st)
        store_close(st);
    if (fd >= 0)
        close(fd);
    if (rc != 0 && created) {
        unlink(tmp);
        for (const char *sfx = "-wal"; sfx; sfx = strcmp(sfx, "-wal") == 0 ? "-shm" : NULL) {
            char side[4096];
            snprintf(side, sizeof side, "%s%s", tmp, sfx);
            unlink(side);
        }
    }
    free(tmp);
    free(bak);
    store_doc_free(&doc);
    return rc;
}
