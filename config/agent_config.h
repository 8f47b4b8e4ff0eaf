/* agent_config.h - the cupi-snmp-agent.conf file, shared by the agent and
 * cupictl. Directives are those of doc/interface.md plus the AgentX
 * ones the agent applies (agentXSocket, agentxPingInterval, agentxTimeout,
 * agentxRetries). Errors name file and line.
 *
 * Not part of libcupi: the file is the agent's (its AgentX directives, its
 * poll and history settings, net-snmp's search path for it), and libcupi is
 * a CUPI client that knows nothing of SNMP. Publishing it from libcupi would
 * make every change of an agent directive a change of the library's ABI.
 * The agent and cupictl link this internal library (cupi_agent_config,
 * never installed); libcupi's public API gives a program built on it what
 * a server row here holds, as cupi_client_options. */
#ifndef CUPI_AGENT_CONFIG_H
#define CUPI_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cupi/cupi.h>

/* The default configuration: in every directory of the search path, this
 * file and then the local one (as snmpd reads snmpd.conf, then
 * snmpd.local.conf), each only when it exists. */
#define CUPI_CONFIG_NAME "cupi-snmp-agent.conf"
#define CUPI_CONFIG_LOCAL_NAME "cupi-snmp-agent.local.conf"

typedef struct cupi_server_config {
    unsigned index; /* 1..65535, the MIB row */
    char *name;
    char *url;
    char *user;
    char *password; /* owned; wiped on free; never logged */
    char *ca_file;  /* NULL: system store */
    bool insecure;
    cupi_format format;
    char *origin; /* "FILE:LINE" of its cupiServer directive, for messages */
} cupi_server_config;

typedef struct cupi_config {
    cupi_server_config *servers; /* sorted by index */
    size_t n_servers;
    unsigned poll_interval_s;    /* default 60, min 1 */
    unsigned cache_ttl_s;        /* default 30 */
    long timeout_ms;             /* default 5000 */
    long connect_timeout_ms;     /* TCP + TLS set-up; default 3000, at most timeout_ms */
    unsigned max_concurrent;     /* default 2 */
    unsigned max_refreshes;      /* background reads in flight, all servers; default 64 */
    unsigned unreachable_after;  /* consecutive failed reads; default 2 */
    unsigned max_data_age_s;     /* or values older than this; default 0: no limit */
    char *state_file;            /* NULL: none */
    unsigned history_size;       /* change history rows per server; default 100, 0: none */
    bool notifications;          /* default true */
    char *agentx_socket;         /* NULL: net-snmp default */
    long agentx_ping_interval_s; /* -1: default (5) */
    long agentx_timeout_s;       /* -1: net-snmp default */
    long agentx_retries;         /* -1: net-snmp default */
} cupi_config;

/* Receives warnings (world-readable password file, cupiInsecure ...). */
typedef void (*cupi_config_warn_fn)(void *arg, const char *msg);

void cupi_config_init(cupi_config *c); /* defaults, no servers */
void cupi_config_free(cupi_config *c);

/* Deep copy of one server's settings into dst (which the caller then owns).
 * 0, or -1 when out of memory (dst is then empty). */
int cupi_server_config_copy(cupi_server_config *dst, const cupi_server_config *src);
/* Frees what a server's settings own (the password wiped first) and empties it. */
void cupi_server_config_free(cupi_server_config *s);

/* Reads one file into c (call repeatedly for several files, then
 * cupi_config_finish). A missing file is CUPI_E_IO unless optional. err gets
 * "FILE:LINE: what is wrong". */
cupi_status cupi_config_read(cupi_config *c, const char *path, bool optional,
                             cupi_config_warn_fn warn, void *warn_arg, char *err, size_t errsz);
/* The directories searched for the default configuration, ':'-separated,
 * as net-snmp searches them: $SNMPCONFPATH when set, else the built-in
 * directories followed by $HOME/.snmp. Writes it to buf (truncated to
 * bufsz) and returns buf. */
const char *cupi_config_search_path(char *buf, size_t bufsz);

/* Reads the default configuration into c: CUPI_CONFIG_NAME then
 * CUPI_CONFIG_LOCAL_NAME in each directory of cupi_config_search_path(),
 * missing files skipped, in that order (a later file adds servers or
 * overrides settings of an earlier one). *n_read (may be NULL) gets the
 * number of files found. Errors as cupi_config_read. */
cupi_status cupi_config_read_default(cupi_config *c, cupi_config_warn_fn warn, void *warn_arg,
                                     unsigned *n_read, char *err, size_t errsz);

/* One directive the parser knows: its name, its arguments and what it
 * means, for help output. */
typedef struct cupi_directive_doc {
    const char *name;
    const char *args;
    const char *meaning;
} cupi_directive_doc;
/* The i-th directive (from 0), NULL past the last; static storage. */
const cupi_directive_doc *cupi_config_directive(size_t i);

/* Cross-directive checks once every file is read (each INDEX has a
 * cupiServer, http:// only with cupiInsecure, ...). */
cupi_status cupi_config_finish(cupi_config *c, char *err, size_t errsz);

/* The HTTP client options for server s under c's global settings (timeout,
 * concurrency). The strings stay owned by the configuration. */
void cupi_config_client_options(const cupi_config *c, const cupi_server_config *s,
                                cupi_client_options *out);

/* The server whose INDEX or NAME is key; NULL when none. */
const cupi_server_config *cupi_config_find_server(const cupi_config *c, const char *key);

#endif
