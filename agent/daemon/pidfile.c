/* daemon/pidfile.c - a pid file that cannot be turned into a write to
 * another file. */
#include "daemon/pidfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int agent_pidfile_write(const char *path, char *err, size_t errsz)
{
    /* O_NONBLOCK: a FIFO planted there must not hang the start. */
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errsz, "pid file %s is a symbolic link; not writing through it",
                     path);
        else
            snprintf(err, errsz, "cannot write pid file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "pid file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    bool ok = write(fd, text, (size_t)n) == n;
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errsz, "cannot write pid file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int agent_pidfile_remove(const char *path, char *err, size_t errsz)
{
    char text[32] = "";
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errsz, "cannot remove pid file %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    /* Someone else's by now (a second instance): leave it. */
    if (n <= 0 || strtol(text, NULL, 10) != (long)getpid())
        return 0;
    if (unlink(path) != 0) {
        snprintf(err, errsz, "cannot remove pid file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
