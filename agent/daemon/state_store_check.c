/* daemon/state_store_check.c - can the agent open its state store? For the
 * JSON state file: the agent replaces it by a temporary file in the same
 * directory renamed over it, so the directory must be writable; an existing
 * file must be one store/state_json.c's reader takes. */
#include "daemon/state_store_check.h"

#include "state_json.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *read_bounded(const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return NULL;
    }
    struct stat st;
    size_t size = fstat(fileno(f), &st) == 0 && st.st_size >= 0 ? (size_t)st.st_size : 0;
    char *buf = size <= AGENT_STATE_MAX_SIZE ? malloc(size + 1) : NULL;
    size_t n = buf ? fread(buf, 1, size + 1, f) : 0;
    *err = !buf ? (size > AGENT_STATE_MAX_SIZE ? EFBIG : ENOMEM) : ferror(f) ? EIO : 0;
    fclose(f);
    if (*err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

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

    size_t len = 0;
    int read_err = 0;
    char *text = read_bounded(path, &len, &read_err);
    if (!text) {
        if (read_err == ENOENT)
            return 0; /* the agent writes it */
        snprintf(err, errsz, "%s: cannot read it: %s", path, strerror(read_err));
        return -1;
    }
    agent_state_doc doc;
    char why[256];
    rc = agent_state_parse(text, len, time(NULL), NULL, NULL, &doc, why, sizeof why);
    free(text);
    if (rc != 0) {
        snprintf(err, errsz, "%s: will be ignored and rewritten: %s", path, why);
        return 1;
    }
    agent_state_doc_free(&doc);
    return 0;
}
