/* sim_main.c - cupi-sim command line, start-up and shutdown.
 *
 * Tests parse stdout: one "cupi-sim: NAME listening on URL" line per virtual
 * server, then "cupi-sim: ready" once every port accepts connections and the
 * CA file (--write-ca) is complete. stdout is line-buffered for that reason.
 * Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime error, 2 on a usage
 * error.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define NAME_MAX_LEN 64
#define PASSWORD_FILE_MAX (64u * 1024u)
#define PEM_FILE_MAX (1024u * 1024u)
#define COUNT_MAX 10000u
#define IDLE_TIMEOUT_DEFAULT_S 30u
#define IDLE_TIMEOUT_MAX_S 86400u
#define PREFIX_MAX_LEN 32

typedef struct server_spec {
    unsigned port;
    char name[NAME_MAX_LEN + 1];
} server_spec;

typedef struct cli {
    server_spec *servers;
    size_t n_servers;
    const char *user;
    const char *password_file;
    const char *cert_file;
    const char *key_file;
    const char *write_ca;
    const char *pidfile;
    unsigned long count;     /* --count: generated servers */
    unsigned long base_port; /* --base-port: the first one's port (0: free ports) */
    const char *prefix;      /* --name-prefix: their names are PREFIX1, PREFIX2, ... */
} cli;

static void usage(FILE *to)
{
    fputs("Usage: cupi-sim [--http] [--listen ADDR] --server PORT[:NAME] [--server ...]\n"
          "                [--count N [--base-port PORT] [--name-prefix PREFIX]]\n"
          "                [--user USER] [--password-file FILE]\n"
          "                [--cert FILE --key FILE | --write-ca FILE]\n"
          "                [--state FILE] [--pidfile FILE] [--idle-timeout SECONDS]\n"
          "                [-v] [-h]\n"
          "\n"
          "Simulates Cisco Unity Connection's CUPI SMTP configuration resources\n"
          "(/vmrest/smtpserver/serverconfigs, /vmrest/smtpclient/clientconfigs).\n"
          "\n"
          "  --server PORT[:NAME]  a virtual server with its own state (repeatable);\n"
          "                        port 0 picks a free port; NAME defaults to simN\n"
          "  --count N             N more servers (1..10000), after the --server ones,\n"
          "                        named PREFIX1..PREFIXN\n"
          "  --base-port PORT      their ports: PORT, PORT+1, ... (default 0: free ports)\n"
          "  --name-prefix PREFIX  their name prefix (default sim)\n"
          "  --listen ADDR         numeric address to listen on (default 127.0.0.1)\n"
          "  --http                plain HTTP instead of HTTPS\n"
          "  --user USER           Basic auth user (default admin)\n"
          "  --password-file FILE  its password: the first line of FILE\n"
          "                        (or the environment variable CUPI_SIM_PASSWORD)\n"
          "  --cert FILE --key FILE  PEM certificate (chain) and key to serve\n"
          "  --write-ca FILE       without --cert: write the generated CA here\n"
          "  --state FILE          load state at start, save after every change\n"
          "  --pidfile FILE        write the process id here\n"
          "  --idle-timeout SECONDS  close a client connection idle that long\n"
          "                        (1..86400, default 30)\n"
          "  -v, --verbose         log one line per request to stderr\n"
          "  -h, --help            this help\n"
          "\n"
          "Control interface (loopback only, no auth) on each server's port:\n"
          "  GET|POST /_sim/state, GET|POST|DELETE /_sim/fault,\n"
          "  GET /_sim/counters, POST /_sim/counters/reset\n",
          to);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cupi-sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'cupi-sim --help'.\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
              ('0' <= *s && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static int add_server(cli *c, const char *arg)
{
    server_spec spec;
    memset(&spec, 0, sizeof spec);
    char *end;
    errno = 0;
    unsigned long port = strtoul(arg, &end, 10);
    if (end == arg || errno || port > 65535 || (*end && *end != ':') || arg[0] == '-')
        return usage_error("--server %s: expected PORT[:NAME] with PORT 0..65535", arg);
    if (*end == ':') {
        if (!name_valid(end + 1))
            return usage_error("--server %s: NAME must be 1-64 letters, digits, '-', '_', '.'",
                               arg);
        strcpy(spec.name, end + 1);
    } else {
        snprintf(spec.name, sizeof spec.name, "sim%zu", c->n_servers + 1);
    }
    for (size_t i = 0; i < c->n_servers; i++)
        if (strcmp(c->servers[i].name, spec.name) == 0)
            return usage_error("--server: duplicate name \"%s\"", spec.name);
    spec.port = (unsigned)port;
    server_spec *v = realloc(c->servers, (c->n_servers + 1) * sizeof *v);
    if (!v) {
        fputs("cupi-sim: out of memory\n", stderr);
        return 1;
    }
    v[c->n_servers++] = spec;
    c->servers = v;
    return 0;
}

static int parse_number(const char *arg, unsigned long min, unsigned long max,
                        unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (end == arg || *end || errno || arg[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* --count N: a fleet in one process, for benchmarks that need as many
 * servers as a large deployment without N command-line arguments. */
static int add_generated(cli *c)
{
    const char *prefix = c->prefix ? c->prefix : "sim";
    if (strlen(prefix) > PREFIX_MAX_LEN || (prefix[0] && !name_valid(prefix)))
        return usage_error("--name-prefix %s: at most %d letters, digits, '-', '_', '.'",
                           prefix, PREFIX_MAX_LEN);
    if (c->base_port && c->base_port + c->count - 1 > 65535)
        return usage_error("--base-port %lu --count %lu: ports beyond 65535", c->base_port,
                           c->count);
    for (unsigned long i = 0; i < c->count; i++) {
        char spec[16 + PREFIX_MAX_LEN + 16];
        snprintf(spec, sizeof spec, "%lu:%s%lu", c->base_port ? c->base_port + i : 0, prefix,
                 i + 1);
        int rc = add_server(c, spec);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Every virtual server holds a listening socket, an inter-thread pipe and
 * its clients' connections: a fleet needs more than the usual soft limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, cli *c, sim_options *o)
{
    enum {
        OPT_HTTP = 256,
        OPT_LISTEN,
        OPT_SERVER,
        OPT_USER,
        OPT_PWFILE,
        OPT_CERT,
        OPT_KEY,
        OPT_WRITE_CA,
        OPT_STATE,
        OPT_PIDFILE,
        OPT_COUNT,
        OPT_BASE_PORT,
        OPT_PREFIX,
        OPT_IDLE_TIMEOUT
    };
    static const struct option longopts[] = {
        {"http", no_argument, NULL, OPT_HTTP},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"server", required_argument, NULL, OPT_SERVER},
        {"user", required_argument, NULL, OPT_USER},
        {"password-file", required_argument, NULL, OPT_PWFILE},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"write-ca", required_argument, NULL, OPT_WRITE_CA},
        {"state", required_argument, NULL, OPT_STATE},
        {"pidfile", required_argument, NULL, OPT_PIDFILE},
        {"count", required_argument, NULL, OPT_COUNT},
        {"base-port", required_argument, NULL, OPT_BASE_PORT},
        {"name-prefix", required_argument, NULL, OPT_PREFIX},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_HTTP:
            o->http = true;
            break;
        case OPT_LISTEN:
            o->listen_addr = optarg;
            break;
        case OPT_SERVER:
            if ((rc = add_server(c, optarg)) != 0)
                return rc;
            break;
        case OPT_USER:
            c->user = optarg;
            break;
        case OPT_PWFILE:
            c->password_file = optarg;
            break;
        case OPT_CERT:
            c->cert_file = optarg;
            break;
        case OPT_KEY:
            c->key_file = optarg;
            break;
        case OPT_WRITE_CA:
            c->write_ca = optarg;
            break;
        case OPT_STATE:
            o->state_file = optarg;
            break;
        case OPT_PIDFILE:
            c->pidfile = optarg;
            break;
        case OPT_COUNT:
            if (parse_number(optarg, 1, COUNT_MAX, &c->count) != 0)
                return usage_error("--count %s: expected 1..%u", optarg, COUNT_MAX);
            break;
        case OPT_BASE_PORT:
            if (parse_number(optarg, 0, 65535, &c->base_port) != 0)
                return usage_error("--base-port %s: expected 0..65535", optarg);
            break;
        case OPT_PREFIX:
            c->prefix = optarg;
            break;
        case OPT_IDLE_TIMEOUT: {
            unsigned long v;
            if (parse_number(optarg, 1, IDLE_TIMEOUT_MAX_S, &v) != 0)
                return usage_error("--idle-timeout %s: expected 1..%u seconds", optarg,
                                   IDLE_TIMEOUT_MAX_S);
            o->idle_timeout_s = (unsigned)v;
            break;
        }
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fputs("Try 'cupi-sim --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    if ((c->base_port || c->prefix) && !c->count)
        return usage_error("%s", "--base-port and --name-prefix go with --count");
    if (c->count && (rc = add_generated(c)) != 0)
        return rc;
    if (c->n_servers == 0)
        return usage_error("%s", "at least one --server PORT[:NAME] (or --count N) is needed");
    if (!c->cert_file != !c->key_file)
        return usage_error("%s", "--cert and --key go together");
    if (c->cert_file && c->write_ca)
        return usage_error("%s",
                           "--write-ca writes the generated CA; it cannot go with --cert");
    if (o->http && (c->cert_file || c->write_ca))
        return usage_error("%s", "--http serves no certificate; drop --cert/--write-ca");
    unsigned char addr[16];
    if (inet_pton(AF_INET, o->listen_addr, addr) != 1 &&
        inet_pton(AF_INET6, o->listen_addr, addr) != 1)
        return usage_error("--listen %s: expected a numeric IPv4 or IPv6 address",
                           o->listen_addr);
    if (c->user && !c->user[0])
        return usage_error("%s", "--user must not be empty");
    return -1;
}

/* The password never comes from argv, where every local user could read it. */
static int load_password(const cli *c, sim_options *o)
{
    if (c->password_file) {
        char *text = NULL;
        if (sim_read_file(c->password_file, PASSWORD_FILE_MAX, &text, NULL) != 0) {
            fprintf(stderr, "cupi-sim: --password-file %s: %s\n", c->password_file,
                    strerror(errno));
            return -1;
        }
        text[strcspn(text, "\r\n")] = '\0'; /* the first line is the password */
        o->password = text;
    } else if (getenv("CUPI_SIM_PASSWORD")) {
        o->password = strdup(getenv("CUPI_SIM_PASSWORD"));
        if (!o->password)
            return -1;
    } else {
        fputs("cupi-sim: no password for the CUPI account: give --password-file FILE "
              "or set CUPI_SIM_PASSWORD\n",
              stderr);
        return -1;
    }
    if (!o->password[0]) {
        fputs("cupi-sim: the CUPI account password is empty\n", stderr);
        return -1;
    }
    return 0;
}

static int load_tls(const cli *c, sim_options *o)
{
    if (o->http)
        return 0;
    if (c->cert_file) {
        if (sim_read_file(c->cert_file, PEM_FILE_MAX, &o->tls_cert_pem, NULL) != 0) {
            fprintf(stderr, "cupi-sim: --cert %s: %s\n", c->cert_file, strerror(errno));
            return -1;
        }
        if (sim_read_file(c->key_file, PEM_FILE_MAX, &o->tls_key_pem, NULL) != 0) {
            fprintf(stderr, "cupi-sim: --key %s: %s\n", c->key_file, strerror(errno));
            return -1;
        }
        return 0;
    }
    char err[256], *ca = NULL;
    if (sim_tls_generate(o->listen_addr, &o->tls_cert_pem, &o->tls_key_pem, &ca, err,
                         sizeof err) != 0) {
        fprintf(stderr, "cupi-sim: cannot generate a certificate: %s\n", err);
        return -1;
    }
    int rc = 0;
    if (c->write_ca && sim_write_file_atomic(c->write_ca, ca, strlen(ca), 0644) != 0) {
        fprintf(stderr, "cupi-sim: --write-ca %s: %s\n", c->write_ca, strerror(errno));
        rc = -1;
    }
    free(ca);
    return rc;
}

static int write_pidfile(const char *path)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (sim_write_file_atomic(path, text, (size_t)n, 0644) != 0) {
        fprintf(stderr, "cupi-sim: --pidfile %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    sim s;
    memset(&s, 0, sizeof s);
    cli c;
    memset(&c, 0, sizeof c);
    s.opt.listen_addr = "127.0.0.1";
    s.opt.idle_timeout_s = IDLE_TIMEOUT_DEFAULT_S;
    pthread_mutex_init(&s.save_lock, NULL);
    sim_fleet_init(&s.fleet);
    raise_fd_limit();

    int status = parse_args(argc, argv, &c, &s.opt);
    size_t started = 0;
    bool pidfile_written = false;
    if (status >= 0)
        goto out;
    status = 1;

    if (!(s.opt.user = strdup(c.user ? c.user : "admin")) || load_password(&c, &s.opt) != 0 ||
        load_tls(&c, &s.opt) != 0)
        goto out;

    s.servers = calloc(c.n_servers, sizeof *s.servers);
    if (!s.servers)
        goto out;
    for (; s.n_servers < c.n_servers; s.n_servers++) {
        if (sim_server_init(&s.servers[s.n_servers], &s, c.servers[s.n_servers].name,
                            c.servers[s.n_servers].port) != 0)
            goto out;
    }
    char err[512];
    if (sim_state_load(&s, err, sizeof err) != 0) {
        fprintf(stderr, "cupi-sim: state file %s\n", err);
        goto out;
    }

    /* Block the stop signals before any daemon thread exists, so every
     * thread inherits the mask and only sigwait() below receives them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill us */

    for (; started < s.n_servers; started++) {
        if (sim_server_start(&s.servers[started], err, sizeof err) != 0) {
            fprintf(stderr, "cupi-sim: %s\n", err);
            goto out;
        }
    }
    if (c.pidfile) {
        if (write_pidfile(c.pidfile) != 0)
            goto out;
        pidfile_written = true;
    }
    bool v6 = strchr(s.opt.listen_addr, ':') != NULL;
    for (size_t i = 0; i < s.n_servers; i++)
        printf("cupi-sim: %s listening on %s://%s%s%s:%u\n", s.servers[i].name,
               s.opt.http ? "http" : "https", v6 ? "[" : "", s.opt.listen_addr, v6 ? "]" : "",
               s.servers[i].port);
    printf("cupi-sim: ready\n");

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0)
        ;
    if (s.opt.verbose)
        sim_log("cupi-sim: %s, shutting down", strsignal(sig));
    status = 0;

out:
    for (size_t i = 0; i < started; i++)
        sim_server_stop(&s.servers[i]);
    for (size_t i = 0; i < s.n_servers; i++)
        sim_server_free(&s.servers[i]);
    if (pidfile_written)
        unlink(c.pidfile);
    free(s.servers);
    cJSON_Delete(s.state_other);
    free(s.opt.user);
    sim_free_secret(s.opt.password);
    sim_free_secret(s.opt.tls_key_pem);
    free(s.opt.tls_cert_pem);
    pthread_mutex_destroy(&s.save_lock);
    sim_fleet_free(&s.fleet);
    free(c.servers);
    return status;
}
