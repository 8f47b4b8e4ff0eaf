/* store/store_lock.c - one agent per state: an exclusive flock(2) on
 * PATH.lock, which holds the holder's pid as text for the next one's error
 * message. flock belongs to the open file, so it survives a fork (snmpd may
 * daemonize after loading the module) and does not mix with the POSIX locks
 * sqlite takes on the database itself; readers (cupictl) never take it. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_lock {
    int fd;
    bool writable;
};

static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

void store_lock_refresh(store_lock *l)
{
    if (!l || !l->writable)
        return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) == 0 && pwrite(l->fd, buf, (size_t)n, 0) != n) {
        /* The pid only helps the next one's message: nothing to undo. */
    }
}

int store_lock_take(const char *path, store_lock **out, char *err, size_t errsz)
{
    *out = NULL;
    size_t len = strlen(path) + sizeof ".lock";
    char *name = malloc(len);
    store_lock *l = calloc(1, sizeof *l);
    if (!name || !l) {
        free(name);
        free(l);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    snprintf(name, len, "%s.lock", path);
    int flags = O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    l->fd = open(name, O_RDWR | flags, 0600);
    l->writable = l->fd >= 0;
    if (l->fd < 0 && errno == EACCES) /* another user's lock file: lock it all the same */
        l->fd = open(name, O_RDONLY | flags, 0600);
    struct stat st;
    if (l->fd < 0 || fstat(l->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "cannot open the lock file %s: %s", name,
                 l->fd < 0 ? strerror(errno) : "not a regular file");
        if (l->fd >= 0)
            close(l->fd);
        free(name);
        free(l);
        return -1;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = holder_pid(l->fd);
        int held = e == EWOULDBLOCK;
        if (e == EWOULDBLOCK && pid)
            snprintf(err, errsz,
                     "the state %s is in use by another agent (pid %ld, lock file %s)", path,
                     pid, name);
        else if (e == EWOULDBLOCK)
            snprintf(err, errsz, "the state %s is in use by another agent (lock file %s)", path,
                     name);
        else
            snprintf(err, errsz, "cannot lock %s: %s", name, strerror(e));
        close(l->fd);
        free(name);
        free(l);
        return held ? -2 : -1;
    }
    free(name);
    store_lock_refresh(l);
    *out = l;
    return 0;
}

void store_lock_release(store_lock *l)
{
    if (!l)
        return;
    if (l->writable && ftruncate(l->fd, 0) != 0) {
        /* a stale pid in an unlocked file misleads nobody: it is not locked */
    }
    close(l->fd);
    free(l);
}
