/* daemon/main.c - cupi-snmp-agent: the CUPI-SMTP-MIB module as an AgentX
 * subagent. Command line and conventions follow snmpd's. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "daemon/agentx_link.h"
#include "daemon/config_check.h"
#include "daemon/pidfile.h"
#include "daemon/privs.h"
#include "daemon/sd_notify.h"
#include "cupi_smtp.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define APP_NAME "cupi-snmp-agent"
#define DEFAULT_PING_INTERVAL_S 5

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

typedef struct options {
    bool foreground;
    bool check_only; /* -t */
    bool no_default_configs;
    const char *config_files;
    const char *agentx_socket;
    const char *pidfile;
    const char *user, *group; /* -u, -g */
    bool allow_core_dumps;
    bool logging_set;
} options;

/* Long-only options: no short letter that could clash with net-snmp's. */
enum { OPT_ALLOW_CORE_DUMPS = 256 };

static void usage(FILE *out)
{
    char dirs[2048];
    fprintf(out,
            "Usage: " APP_NAME " [-f] [-t] [-C] [-c FILE[,FILE]] [-x ADDRESS] [-L LOGOPTS] "
            "[-D TOKENS] [-p PIDFILE] [-u USER] [-g GROUP] [-v] [-h] [-H]\n"
            "\n"
            "  -f          stay in the foreground (default: run as a daemon)\n"
            "  -t          check the configuration (and CA files, state file), start nothing:\n"
            "              exit 0 when the agent can use it, else 1 with FILE:LINE: messages\n"
            "  -C          read no default configuration file\n"
            "  -c FILE     read this configuration file too (comma-separated list)\n"
            "  -x ADDRESS  AgentX master address (unix:/path or tcp:host:port)\n"
            "  -L LOGOPTS  net-snmp logging: -Lo, -Le, -Lf FILE, -Ls daemon ...\n"
            "  -D TOKENS   debug output for these tokens (e.g. -D cupi)\n"
            "  -p PIDFILE  write the process id here\n"
            "  -u USER     run as USER (name or number) once started\n"
            "  -g GROUP    run as GROUP (name or number) once started\n"
            "  --allow-core-dumps  let the process dump core (it holds passwords)\n"
            "  -v          print the version;  -h  this help;  -H  configuration directives\n"
            "\n"
            "Default configuration: " CUPI_CONFIG_NAME " then " CUPI_CONFIG_LOCAL_NAME
            " in each\ndirectory of %s\n",
            cupi_config_search_path(dirs, sizeof dirs));
}

/* What "snmpd -H" does for snmpd.conf: every directive the parser takes,
 * from the parser's own table. */
static void print_directives(FILE *out)
{
    fprintf(out, "Configuration directives understood:\n  In " CUPI_CONFIG_NAME
                 " and " CUPI_CONFIG_LOCAL_NAME ":\n");
    const cupi_directive_doc *d;
    for (size_t i = 0; (d = cupi_config_directive(i)); i++)
        fprintf(out, "    %-19s %-16s %s\n", d->name, d->args, d->meaning);
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: select() must return so the loop sees the flag. */
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Every CUPI server holds up to cupiMaxConcurrent sockets: a fleet of a
 * thousand needs more descriptors than the usual soft limit of 1024. CUPI
 * sockets are watched with epoll and net-snmp's own with large fd sets, so
 * numbers above 1023 are safe. */
static void raise_descriptor_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        snmp_log(LOG_WARNING, APP_NAME ": cannot raise the descriptor limit: %s\n",
                 strerror(errno));
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option long_options[] = {
        {"allow-core-dumps", no_argument, NULL, OPT_ALLOW_CORE_DUMPS},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "ftCc:x:L:D:p:u:g:vhH", long_options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            o->foreground = true;
            break;
        case 't':
            o->check_only = true;
            break;
        case 'C':
            o->no_default_configs = true;
            break;
        case 'c':
            o->config_files = optarg;
            break;
        case 'x':
            o->agentx_socket = optarg;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'g':
            o->group = optarg;
            break;
        case OPT_ALLOW_CORE_DUMPS:
            o->allow_core_dumps = true;
            break;
        case 'L':
            if (snmp_log_options(optarg, argc, argv) < 0) {
                fprintf(stderr, APP_NAME ": bad -L option\n");
                return 2;
            }
            o->logging_set = true;
            break;
        case 'D':
            debug_register_tokens(optarg);
            snmp_set_do_debugging(1);
            break;
        case 'v':
            printf(APP_NAME " %s (net-snmp %s)\n", CUPI_VERSION, netsnmp_get_version());
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        case 'H':
            print_directives(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, APP_NAME ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return 0;
}

static char *abs_config, *abs_pidfile; /* absolute copies of -c and -p, kept until exit */

/* A daemon runs in "/" (netsnmp_daemonize changes directory): the -c files
 * and the -p pid file given relative to the starting directory are made
 * absolute first, so that the pid file lands where asked and SIGHUP finds the
 * configuration again. Returns a malloc'ed copy of the comma-separated list
 * (NULL when list is NULL or out of memory). */
static char *absolute_paths(const char *list)
{
    if (!list)
        return NULL;
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(list);
    size_t items = 1;
    for (const char *p = list; *p; p++)
        items += *p == ',';
    size_t cap = strlen(list) + items * (strlen(cwd) + 1) + 1;
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && *p != '/')
            w += sprintf(w, "%s/", cwd);
        memcpy(w, p, len);
        w += len;
        if (!p[len])
            break;
        *w++ = ',';
        p += len + 1;
    }
    *w = '\0';
    return out;
}

/* AgentX settings of the configuration file, the -x option winning. Must run
 * after init_agent(), which resets the ping interval to its own default. */
static void apply_agentx_settings(const cupi_config *cfg, const options *o)
{
    const char *socket = o->agentx_socket ? o->agentx_socket : cfg->agentx_socket;
    /* Named even when it is net-snmp's default, so that every message can
     * say which socket it is about. */
    netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                          socket ? socket : NETSNMP_AGENTX_SOCKET);
    /* net-snmp would log a failed connection at every retry, without the
     * reason; daemon/agentx_link.c says it once, with the reason. */
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_NO_CONNECTION_WARNINGS,
                           1);
    long ping =
        cfg->agentx_ping_interval_s > 0 ? cfg->agentx_ping_interval_s : DEFAULT_PING_INTERVAL_S;
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                       (int)ping);
    if (cfg->agentx_timeout_s > 0)
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_TIMEOUT,
                           (int)(cfg->agentx_timeout_s * 1000000L));
    if (cfg->agentx_retries >= 0)
        netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_RETRIES,
                           (int)cfg->agentx_retries);
}

static void reload(const options *o)
{
    agent_sd_notify_reloading();
    cupi_config cfg;
    if (cupi_smtp_load_config(&cfg, o->config_files, o->no_default_configs) != 0 ||
        cupi_smtp_reload(&cfg) != 0)
        snmp_log(LOG_ERR, APP_NAME ": configuration not reloaded, the previous one stays\n");
    cupi_config_free(&cfg);
    /* Not ready before: still waiting for the master, READY=1 comes then. */
    agent_sd_notify(agentx_link_ready() ? "READY=1" : "STATUS=reloaded");
}

static void remove_pidfile(const char *path)
{
    char err[512];
    if (path && agent_pidfile_remove(path, err, sizeof err) != 0)
        snmp_log(LOG_WARNING, APP_NAME ": %s\n", err);
}

/* The module is registered and the AgentX session opened (or being retried)
 * with root's rights; from here on the agent runs as -u/-g. A drop that
 * fails stops the agent: it must not run on as root when told otherwise. */
static int drop_privileges(const agent_privs *privs, const options *o)
{
    char err[256];
    if ((privs->change_user || privs->change_group) &&
        agent_privs_drop(privs, err, sizeof err) != 0) {
        snmp_log(LOG_ERR, APP_NAME ": %s; stopping\n", err);
        return -1;
    }
    if (privs->change_user || privs->change_group)
        snmp_log(LOG_INFO, APP_NAME ": running as uid %lu, gid %lu\n", (unsigned long)getuid(),
                 (unsigned long)getgid());
    /* A change of user resets the dumpable flag to the system default. */
    if (agent_privs_set_dumpable(o->allow_core_dumps) != 0) {
        snmp_log(LOG_ERR, APP_NAME ": cannot set the core dump policy: %s; stopping\n",
                 strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = {0};
    /* The name -Ls (syslog, the journal) logs under, instead of "net-snmp". */
    snmp_log_syslogname(APP_NAME);
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    /* Before anything holds a password: no core file, no ptrace by the
     * same user, unless asked for while debugging. */
    if (agent_privs_set_dumpable(o.allow_core_dumps) != 0) {
        fprintf(stderr, APP_NAME ": cannot set the core dump policy: %s\n", strerror(errno));
        return 1;
    }
    agent_privs privs;
    char err[512];
    if (agent_privs_resolve(&privs, o.user, o.group, err, sizeof err) != 0) {
        fprintf(stderr, APP_NAME ": %s\n", err);
        return 1;
    }
    if (o.check_only) {
        /* As the agent's user when -u/-g say so: what it can read is what
         * counts. */
        if ((privs.change_user || privs.change_group) &&
            agent_privs_drop(&privs, err, sizeof err) != 0) {
            fprintf(stderr, APP_NAME ": %s\n", err);
            return 1;
        }
        return agent_config_check(o.config_files, o.no_default_configs, stderr);
    }
    if (!o.logging_set) {
        if (o.foreground)
            snmp_enable_stderrlog();
        else
            snmp_enable_syslog_ident(APP_NAME, LOG_DAEMON);
    }

    if (!o.foreground) {
        abs_config = absolute_paths(o.config_files);
        abs_pidfile = absolute_paths(o.pidfile);
        if ((o.config_files && !abs_config) || (o.pidfile && !abs_pidfile)) {
            fprintf(stderr, APP_NAME ": out of memory\n");
            return 1;
        }
        if (abs_config)
            o.config_files = abs_config;
        if (abs_pidfile)
            o.pidfile = abs_pidfile;
    }

    /* A config error is reported before daemonizing, with exit status 1. */
    cupi_config cfg;
    if (cupi_smtp_load_config(&cfg, o.config_files, o.no_default_configs) != 0) {
        cupi_config_free(&cfg);
        return 1;
    }
    if (cfg.n_servers == 0)
        snmp_log(LOG_WARNING, APP_NAME ": no cupiServer configured\n");

    /* This program reads only its own files: no snmp.conf tokens, no
     * persistent store, no MIB files. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    setenv("MIBS", "", 0);
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);

    if (!o.foreground && netsnmp_daemonize(1, snmp_stderrlog_status()) != 0) {
        cupi_config_free(&cfg);
        return 1;
    }
    if (o.pidfile && agent_pidfile_write(o.pidfile, err, sizeof err) != 0) {
        snmp_log(LOG_ERR, APP_NAME ": %s\n", err);
        cupi_config_free(&cfg);
        return 1;
    }
    install_signals();
    raise_descriptor_limit();

    init_agent(APP_NAME);
    apply_agentx_settings(&cfg, &o);
    if (cupi_smtp_start(&cfg) != 0) {
        cupi_config_free(&cfg);
        snmp_shutdown(APP_NAME);
        remove_pidfile(o.pidfile);
        return 1;
    }
    cupi_config_free(&cfg);
    if (agentx_link_start(
            netsnmp_ds_get_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET),
            netsnmp_ds_get_int(NETSNMP_DS_APPLICATION_ID,
                               NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL)) != 0)
        snmp_log(LOG_WARNING, APP_NAME ": cannot watch the AgentX session\n");
    init_snmp(APP_NAME); /* opens the AgentX session */
    if (drop_privileges(&privs, &o) != 0) {
        agentx_link_stop();
        cupi_smtp_stop();
        snmp_shutdown(APP_NAME);
        remove_pidfile(o.pidfile);
        return 1;
    }
    snmp_log(LOG_INFO, APP_NAME " %s started\n", CUPI_VERSION);
    /* READY=1 comes from agentx_link once the MIB is registered with the
     * master: until then systemd shows the unit "activating", with the
     * reason in its status line. */
    agentx_link_after_turn();

    while (!stop_requested) {
        agent_check_and_process(1);
        agentx_link_after_turn();
        if (reload_requested) {
            reload_requested = 0;
            snmp_log(LOG_INFO, APP_NAME ": SIGHUP, reloading the configuration\n");
            reload(&o);
        }
    }

    snmp_log(LOG_INFO, APP_NAME ": shutting down\n");
    agent_sd_notify("STOPPING=1");
    agentx_link_stop();
    cupi_smtp_stop();
    snmp_shutdown(APP_NAME);
    remove_pidfile(o.pidfile);
    free(abs_config);
    free(abs_pidfile);
    return 0;
}
