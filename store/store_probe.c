/* store/store_probe.c - what a path holds, looked at without blocking: a
 * FIFO, a device or a directory at cupiStateFile is an error, never a hang. */
#include "store_internal.h"

#include "cupi_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char sqlite_magic[16] = "SQLite format 3"; /* with its NUL */

store_kind store_probe(const char *path, char *err, size_t errsz)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        snprintf(err, errsz, "%s", strerror(ENOENT));
        return STORE_KIND_MISSING;
    }
    int fd = cupi_file_open(path, SIZE_MAX, &st, err, errsz);
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
