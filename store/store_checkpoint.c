/* store/store_checkpoint.c - the store's own thread: copies the WAL back
 * into the database and syncs both, so that the writer's commits never wait
 * for the disk. A passive checkpoint never blocks the writer; once it has
 * copied everything, the writer starts the WAL over (cut back to its size
 * limit). Its own connection; nothing else is shared with the writer. */
#include "store_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store_checkpointer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, wake, detached;
    unsigned period_s;
    sqlite3 *db;
    pthread_t thread;
};

static void destroy(store_checkpointer *c)
{
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void *run(void *arg)
{
    store_checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += c->period_s;
        while (!c->stop && !c->wake)
            if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0)
                break; /* the period is over */
        if (c->stop)
            break;
        c->wake = false;
        pthread_mutex_unlock(&c->mu);
        /* A failure (full disk ...) is the writer's to report: its own
         * commits fail the same way. The next period tries again. */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
    }
    bool detached = c->detached;
    pthread_mutex_unlock(&c->mu);
    if (detached)
        destroy(c);
    return NULL;
}

store_checkpointer *store_checkpointer_start(const char *path, unsigned period_s, char *err,
                                             size_t errsz)
{
    store_checkpointer *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    c->period_s = period_s;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        store_describe(c->db, "checkpointer cannot open", err, errsz);
        destroy(c);
        return NULL;
    }
    /* Its checkpoint fsyncs the WAL and the database (synchronous NORMAL
     * syncs at checkpoints only). */
    sqlite3_exec(c->db,
                 "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; "
                 "PRAGMA cache_size = -128", /* it copies pages, it does not look them up */
                 NULL, NULL, NULL);
    int rc = pthread_create(&c->thread, NULL, run, c);
    if (rc != 0) {
        snprintf(err, errsz, "cannot start the checkpoint thread: %s", strerror(rc));
        destroy(c);
        return NULL;
    }
    return c;
}

void store_checkpointer_wake(store_checkpointer *c)
{
    pthread_mutex_lock(&c->mu);
    c->wake = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void store_checkpointer_stop(store_checkpointer *c, bool wait)
{
    pthread_t thread = c->thread; /* c may be gone once unlocked */
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    c->detached = !wait;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (wait) {
        pthread_join(thread, NULL);
        destroy(c);
    } else {
        pthread_detach(thread);
    }
}
