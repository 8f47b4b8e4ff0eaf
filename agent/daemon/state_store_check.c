/* daemon/state_store_check.c - can the agent open its state store? The
 * database is created in the path's directory (with its WAL, shared memory
 * and lock file beside it), so the directory must be writable; an existing
 * file must be one the store takes (store_check: read-only, safe while the
 * agent runs). */
#include "daemon/state_store_check.h"

#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int agent_state_store_check(const char *path, char *err, size_t errsz)
{
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err, errsz, "%s: out of memory", path);
        return -1;
    }
    const char *dir = dirname(copy);
    int rc = access(dir, W_OK | X_OK);
    int saved = errno;
    if (rc != 0) {
        snprintf(err, errsz, "%s: cannot write in its directory %s: %s", path, dir,
                 strerror(saved));
        free(copy);
        return -1;
    }
    free(copy);
    char why[320];
    if (store_check(path, why, sizeof why) == 0)
        return 0;
    /* The agent starts without the saved values and keeps them in memory
     * until the file is removed: it never writes over what is not a store. */
    snprintf(err, errsz, "%s: will be ignored and not written over: %s", path, why);
    return 1;
}
