/* config_parse.h - the configuration parser on an open stream, with the
 * files it reaches (password files, CA files) behind hooks. The agent and
 * cupictl call cupi_config_read; this is for the fuzz target, which
 * must never open a path taken from its input. */
#ifndef CUPI_CONFIG_PARSE_H
#define CUPI_CONFIG_PARSE_H

#include "agent_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

typedef struct cupi_config_files {
    /* A password file's whole content, at most max bytes, as a malloc'ed
     * buffer with a NUL after *len bytes and its status in *st; or NULL
     * with errno and why (what is wrong, never the path) set. The real
     * one is cupi_file_read. */
    char *(*read)(const char *path, size_t max, size_t *len, struct stat *st, char *why,
                  size_t whysz, void *arg);
    /* Whether a CA file could be read within max bytes; why as above. */
    bool (*check)(const char *path, size_t max, char *why, size_t whysz, void *arg);
    /* Whether path is a regular file or does not exist (the state file);
     * why as above. */
    bool (*regular_or_absent)(const char *path, char *why, size_t whysz, void *arg);
    void *arg;
} cupi_config_files;

/* cupi_config_read on an open stream; name stands for the file in
 * messages, st (may be NULL) is its status (its mode is checked when it
 * holds a password). files NULL: the real file system. Does not close f. */
cupi_status cupi_config_parse(cupi_config *c, FILE *f, const char *name, const struct stat *st,
                              const cupi_config_files *files, cupi_config_warn_fn warn,
                              void *warn_arg, char *err, size_t errsz);

#endif
