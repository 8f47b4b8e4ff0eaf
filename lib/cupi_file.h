/* cupi_file.h - reading the files a configuration names, safely; not
 * installed.
 *
 * The agent reads its configuration, password files, CA files and state in
 * its only thread, which also answers SNMP and handles SIGTERM. A path that
 * names a FIFO would block it until someone writes, /dev/zero would keep it
 * reading forever, a directory or a socket makes no sense. So every such
 * file is opened without blocking (O_NONBLOCK, which also keeps a FIFO's
 * open from waiting for a writer), must be a regular file, no larger than
 * the caller's bound, and is read with that bound.
 *
 * Messages (why) never hold the path nor any of the file's content: the
 * caller names the file in its own words. errno is set on every failure
 * (EFBIG: too large; EINVAL: not a regular file), so that a caller may
 * tell a missing file (ENOENT) from the rest. Not part of libcupi's ABI
 * (no CUPI_API): for the programs of this tree, through cupi_internal. */
#ifndef CUPI_FILE_H
#define CUPI_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The largest CA bundle taken (Debian's whole bundle is about 220 KiB). */
#define CUPI_CA_FILE_MAX (1024u * 1024)

/* Whether path is a CA file a client would take: read as cupi_file_read
 * reads it (bound CUPI_CA_FILE_MAX), parsed as the client parses it with
 * OpenSSL, at least one certificate. false with why: "cannot read it: ...",
 * "certificate N does not parse: ..." or "no PEM certificate in it". */
bool cupi_ca_file_check(const char *path, char *why, size_t whysz);

/* Opens path read-only, non-blocking, without becoming its controlling
 * terminal and closed on exec, and checks it is a regular file of at most
 * max bytes. Returns the descriptor (st filled, may be NULL), or -1 with
 * errno and why set. */
int cupi_file_open(const char *path, size_t max, struct stat *st, char *why, size_t whysz);

/* cupi_file_open, then the whole file into a malloc'ed buffer with a NUL
 * after its *len bytes. A file that grows past max while it is read is
 * refused too. Returns NULL with errno and why set; whatever was read of a
 * refused file is wiped first (it may be a password). The caller wipes and
 * frees the buffer. st (may be NULL) gets the file's status. */
char *cupi_file_read(const char *path, size_t max, size_t *len, struct stat *st, char *why,
                     size_t whysz);

/* Whether path could be read by cupi_file_read with this bound, without
 * reading it (for a file another library reads from its path, such as a CA
 * bundle). */
bool cupi_file_check(const char *path, size_t max, char *why, size_t whysz);

/* Reads from an open descriptor that need not be a regular file (standard
 * input: a pipe or a terminal) until end of file, or until a newline when
 * stop_at_newline, at most max bytes into buf. Returns the number of bytes
 * read, or -1 with why set: more than max bytes (errno EFBIG), or a read
 * error. buf is wiped on failure. */
long cupi_file_read_fd(int fd, char *buf, size_t max, bool stop_at_newline, char *why,
                       size_t whysz);

/* What kind of file st is, for a message: "a FIFO", "a directory"... */
const char *cupi_file_kind(const struct stat *st);

#endif
