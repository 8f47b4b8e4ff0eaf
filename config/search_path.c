/* search_path.c - where the default configuration is looked for: the
 * directories net-snmp searches for its own files, so that one
 * SNMPCONFPATH moves snmpd.conf and cupi-snmp-agent.conf together, and the
 * agent and cupictl always read the same files. */
#include "agent_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CUPI_SNMPCONFPATH /* set by the build from net-snmp's own */
#define CUPI_SNMPCONFPATH "/etc/snmp:/usr/share/snmp"
#endif

const char *cupi_config_search_path(char *buf, size_t bufsz)
{
    const char *env = getenv("SNMPCONFPATH");
    if (env && *env) {
        snprintf(buf, bufsz, "%s", env);
        return buf;
    }
    const char *home = getenv("HOME");
    if (home && *home)
        snprintf(buf, bufsz, "%s:%s/.snmp", CUPI_SNMPCONFPATH, home);
    else
        snprintf(buf, bufsz, "%s", CUPI_SNMPCONFPATH);
    return buf;
}

cupi_status cupi_config_read_default(cupi_config *c, cupi_config_warn_fn warn, void *warn_arg,
                                     unsigned *n_read, char *err, size_t errsz)
{
    static const char *const names[] = {CUPI_CONFIG_NAME, CUPI_CONFIG_LOCAL_NAME};
    char dirs[4096];
    cupi_config_search_path(dirs, sizeof dirs);
    unsigned found = 0;
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", d, names[i]);
            /* Optional, but a file that exists and cannot be read is an error. */
            if (access(path, F_OK) != 0)
                continue;
            cupi_status st = cupi_config_read(c, path, true, warn, warn_arg, err, errsz);
            if (st != CUPI_OK)
                return st;
            found++;
        }
    }
    if (n_read)
        *n_read = found;
    return CUPI_OK;
}
