/* store/store_probe.c - what a path holds, looked at without blocking: a
 * FIFO, a device or a directory at cupiStateFile is an error, never a hang. */
#include "store_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char sqlite_magic[16] = "SQLite format 3"; /* with its NUL */

/* A regular file opened for reading without blocking, or -1 with err. */
static int open_regular(const char *path, struct stat *st, char *err, size_t errsz)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errsz, "%s", strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        snprintf(err, errsz, "not a regular file");
        close(fd);
        return -1;
    }
    return fd;
}

store_kind store_probe(const char *path, char *err, size_t errsz)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        snprintf(err, errsz, "%s", strerror(ENOENT));
        return STORE_KIND_MISSING;
    }
    int fd = open_regular(path, &st, err, errsz);
    if (fd < 0)
        return STORE_KIND_ERROR;
    unsigned char head[512];
    ssize_t n = pread(fd, head, sizeof head, 0);
    close(fd);
    if (n < 0) {
        snprintf(err, errsz, "%s", strerror(errno));
        return STORE_KIND_ERROR;
    }
    if (n == 0)
        return STORE_KIND_EMPTY;
    if ((size_t)n >= sizeof sqlite_magic &&
        memcmp(head, sqlite_magic, sizeof sqlite_magic) == 0)
        return STORE_KIND_SQLITE;
    ssize_t i = 0;
    while (i < n && isspace(head[i]))
        i++;
    if (i < n && (head[i] == '{' || head[i] == '['))
        return STORE_KIND_JSON; /* the JSON reader says whether it is ours */
    snprintf(err, errsz, "not a cupi-snmp state file (neither an SQLite database nor JSON)");
    return STORE_KIND_OTHER;
}

char *store_read_small_file(const char *path, size_t max, size_t *len, time_t *mtime, char *err,
                            size_t errsz)
{
    struct stat st;
    int fd = open_regular(path, &st, err, errsz);
    if (fd < 0)
        return NULL;
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        snprintf(err, errsz, "file too large");
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    size_t got = 0;
    if (!buf)
        snprintf(err, errsz, "out of memory");
    while (buf && got <= size) {
        ssize_t n = read(fd, buf + got, size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0) {
                snprintf(err, errsz, "read error: %s", strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!buf)
        return NULL;
    if (got > size) {
        snprintf(err, errsz, "file too large"); /* it grew while read */
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    if (mtime)
        *mtime = st.st_mtime;
    return buf;
}
