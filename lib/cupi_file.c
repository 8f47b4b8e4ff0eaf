/* cupi_file.c - bounded, non-blocking reads of the files a configuration
 * names (see cupi_file.h for why). */
#include "cupi_file.h"

#include <cupi/secret.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHY(...) ((why && whysz) ? (void)snprintf(why, whysz, __VA_ARGS__) : (void)0)

const char *cupi_file_kind(const struct stat *st)
{
    static const struct {
        mode_t type;
        const char *name;
    } kinds[] = {
        {S_IFREG, "a regular file"},     {S_IFDIR, "a directory"},    {S_IFIFO, "a FIFO"},
        {S_IFCHR, "a character device"}, {S_IFBLK, "a block device"}, {S_IFSOCK, "a socket"},
        {S_IFLNK, "a symbolic link"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if ((st->st_mode & S_IFMT) == kinds[i].type)
            return kinds[i].name;
    return "not a regular file";
}

int cupi_file_open(const char *path, size_t max, struct stat *st, char *why, size_t whysz)
{
    struct stat own;
    if (!st)
        st = &own;
    /* O_NONBLOCK: opening a FIFO for reading does not wait for a writer;
     * on a regular file it changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        /* A UNIX socket cannot be opened at all: say what it is. */
        struct stat sock;
        if (e == ENXIO && stat(path, &sock) == 0 && S_ISSOCK(sock.st_mode)) {
            WHY("is a socket, not a regular file");
            e = EINVAL;
        } else {
            WHY("%s", strerror(e));
        }
        errno = e;
        return -1;
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        WHY("%s", strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        WHY("is %s, not a regular file", cupi_file_kind(st));
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if (st->st_size < 0 || (unsigned long long)st->st_size > (unsigned long long)max) {
        WHY("is larger than %zu bytes", max);
        close(fd);
        errno = EFBIG;
        return -1;
    }
    return fd;
}

bool cupi_file_check(const char *path, size_t max, char *why, size_t whysz)
{
    int fd = cupi_file_open(path, max, NULL, why, whysz);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Reads into buf until end of file, max bytes, or (stop_at_newline) a
 * newline. Returns the count, -2 when there was more than max, -1 on a read
 * error (errno set). */
static long read_bounded(int fd, char *buf, size_t max, bool stop_at_newline)
{
    size_t n = 0;
    for (;;) {
        /* One byte more than allowed tells "exactly max" from "more". */
        char extra;
        char *to = n < max ? buf + n : &extra;
        size_t want = n < max ? (stop_at_newline ? 1 : max - n) : 1;
        ssize_t got = read(fd, to, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return (long)n;
        if (n >= max)
            return -2;
        n += (size_t)got;
        if (stop_at_newline && buf[n - 1] == '\n')
            return (long)n;
    }
}

long cupi_file_read_fd(int fd, char *buf, size_t max, bool stop_at_newline, char *why,
                       size_t whysz)
{
    long n = read_bounded(fd, buf, max, stop_at_newline);
    if (n >= 0)
        return n;
    int e = n == -2 ? EFBIG : errno;
    if (n == -2)
        WHY("more than %zu bytes", max);
    else
        WHY("%s", strerror(e));
    cupi_secret_wipe(buf, max);
    errno = e;
    return -1;
}

char *cupi_file_read(const char *path, size_t max, size_t *len, struct stat *st, char *why,
                     size_t whysz)
{
    struct stat own;
    if (!st)
        st = &own;
    int fd = cupi_file_open(path, max, st, why, whysz);
    if (fd < 0)
        return NULL;
    /* The size fstat saw is only a hint (a file in /proc says 0, a file
     * being written grows): the buffer starts at it and grows up to one
     * byte past max, which tells "too large" from "exactly max". */
    size_t hint = (size_t)st->st_size < max ? (size_t)st->st_size : max;
    size_t size = hint + 2; /* + the byte past the bound + the NUL */
    char *buf = malloc(size);
    size_t n = 0;
    int e = buf ? 0 : ENOMEM;
    while (!e) {
        if (n + 1 == size) { /* full: grow, never past max + 2 */
            size_t grown = size * 2 < max + 2 ? size * 2 : max + 2;
            char *bigger = malloc(grown);
            if (!bigger) {
                e = ENOMEM;
                break;
            }
            memcpy(bigger, buf, n);
            cupi_secret_wipe(buf, size);
            free(buf);
            buf = bigger;
            size = grown;
        }
        ssize_t got = read(fd, buf + n, size - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            e = errno;
        else if (got == 0)
            break;
        else if ((n += (size_t)got) > max)
            e = EFBIG;
    }
    close(fd);
    if (e) {
        if (e == EFBIG)
            WHY("is larger than %zu bytes", max);
        else
            WHY("%s", e == ENOMEM ? "out of memory" : strerror(e));
        if (buf)
            cupi_secret_wipe(buf, size);
        free(buf);
        errno = e;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
