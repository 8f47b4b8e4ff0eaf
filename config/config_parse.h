/* config_parse.h - the configuration parser on an open stream, with the
 * files it reaches (password files, CA files) behind hooks. The agent and
 * cupictl call cupi_config_read; this is for the fuzz target, which
 * must never open a path taken from its input. */
#ifndef CUPI_CONFIG_PARSE_H
#define CUPI_CONFIG_PARSE_H

#include "agent_config.h"

#include <stdio.h>

typedef struct cupi_config_files {
    /* A password file opened for reading, or NULL with errno set. */
    FILE *(*open)(const char *path, void *arg);
    /* 0 when a CA file can be read, else an errno value. */
    int (*readable)(const char *path, void *arg);
    void *arg;
} cupi_config_files;

/* cupi_config_read on an open stream; name stands for the file in
 * messages. files NULL: the real file system. Does not close f. */
cupi_status cupi_config_parse(cupi_config *c, FILE *f, const char *name,
                              const cupi_config_files *files, cupi_config_warn_fn warn,
                              void *warn_arg, char *err, size_t errsz);

#endif
