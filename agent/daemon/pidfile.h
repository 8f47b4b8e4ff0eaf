/* daemon/pidfile.h - the -p pid file. */
#ifndef AGENT_PIDFILE_H
#define AGENT_PIDFILE_H

#include <stddef.h>

/* Writes this process's id to path, creating it mode 0644 or truncating a
 * regular file; never follows a symbolic link (the agent usually runs as
 * root: a planted link must not make it overwrite another file). 0, or -1
 * with a sentence in err. */
int agent_pidfile_write(const char *path, char *err, size_t errsz);

/* Removes path if it still holds this process's id. 0, or -1 with a
 * sentence in err (e.g. the directory is not writable after -u). */
int agent_pidfile_remove(const char *path, char *err, size_t errsz);

#endif
