/* cupictl - read and change Unity Connection's SMTP configuration through
 * CUPI, with the agent's configuration file and the agent's validation.
 *
 * Exit status: 0 success, 1 any failure (validation, CUPI, TLS, a value that
 * did not stick), 2 usage errors. */
#include <cupi/cupi.h>

#include "agent_config.h"
#include "cupi_file.h"

#include "cupictl_history.h"
#include "cupictl_state.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: cupictl [-c CONF] [-s INDEX|NAME] get server|client [--json]\n"
            "       cupictl [-c CONF] [-s INDEX|NAME] set server|client FIELD=VALUE "
            "[FIELD=VALUE ...]\n"
            "       cupictl [-c CONF] history [--server INDEX|NAME] [--json]\n"
            "       cupictl [-c CONF] [-s INDEX|NAME] state [--json]\n"
            "\n"
            "  -c CONF   read only this configuration file (default: " CUPI_CONFIG_NAME "\n"
            "            then " CUPI_CONFIG_LOCAL_NAME " in each directory of\n"
            "            $SNMPCONFPATH, or of net-snmp's path, as the agent does)\n"
            "  -s KEY    server INDEX or NAME from the configuration (default: the first)\n"
            "  --json    print the values as a JSON object\n"
            "\n"
            "history prints the agent's change history (cupiChangeTable) from the\n"
            "cupiStateFile of the same configuration, without asking CUPI: one line\n"
            "per changed field, oldest first, or JSON.\n"
            "  -h        this help;  -v  version\n"
            "\n"
            "Fields are CUPI's payload names, matched case-insensitively, e.g.\n"
            "  cupictl set server maxNumberConnections=30 Port=587\n"
            "A write-only field given as FIELD=- is read from standard input, so that\n"
            "a password stays off the command line:\n"
            "  cupictl set client smtpPassword=- < /etc/snmp/smarthost.pw\n"
            "state reads the agent's cupiStateFile (nothing else): when each server's\n"
            "values were read from CUPI, how old the file is, and whether it is stale.\n");
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
    va_list ap;
    fputs("cupictl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void print_warning(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "cupictl: warning: %s\n", msg);
}

typedef struct session {
    const cupi_server_config *server;
    cupi_engine *engine;
    cupi_client *client;
} session;

static void report_failure(const session *s, const char *what, const cupi_result *r)
{
    /* A refused answer's message says all (which field, which value). */
    if (r->status == CUPI_E_PARSE && r->message[0]) {
        error("server %u (%s): %s failed: %s", s->server->index, s->server->name, what,
              r->message);
        return;
    }
    /* cupictl's stderr is its log: libcurl's own words too, if any. */
    error("server %u (%s): %s failed: %s%s%s%s%s%s", s->server->index, s->server->name, what,
          cupi_status_text(r->status), r->message[0] ? ": " : "", r->message,
          r->detail[0] ? " (" : "", r->detail, r->detail[0] ? ")" : "");
}

static int print_values(const cupi_snapshot *snap, bool json)
{
    size_t n;
    const cupi_field *f = cupi_fields(snap->resource, &n);
    char text[CUPI_STR_MAX + 32];
    if (!json) {
        for (size_t i = 0; i < n; i++) {
            /* A write-only value is never returned by CUPI: print it empty. */
            bool shown = cupi_snapshot_has(snap, f[i].column) && !f[i].write_only;
            printf("%s = %s\n", f[i].name,
                   shown ? cupi_value_format(&f[i], &snap->v[i], text, sizeof text) : "");
        }
        return 0;
    }
    cJSON *obj = cJSON_CreateObject();
    bool ok = obj != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        bool shown = cupi_snapshot_has(snap, f[i].column) && !f[i].write_only;
        ok = cJSON_AddStringToObject(
                 obj, f[i].name,
                 shown ? cupi_value_format(&f[i], &snap->v[i], text, sizeof text) : "") != NULL;
    }
    char *out = ok ? cJSON_Print(obj) : NULL;
    cJSON_Delete(obj);
    if (!out) {
        error("out of memory");
        return 1;
    }
    printf("%s\n", out);
    free(out);
    return 0;
}

static int cmd_get(session *s, cupi_resource r, bool json)
{
    cupi_result res;
    if (cupi_get_sync(s->client, r, &res) != CUPI_OK) {
        report_failure(s, "GET", &res);
        return 1;
    }
    return print_values(&res.snapshot, json);
}

/* A write-only value from standard input, by the rules of a
 * cupiPasswordFile (cupi_secret_line): one line, bounded, nothing cut
 * away. Read straight from the descriptor, so no stdio buffer keeps a copy;
 * from a terminal up to the newline, from a pipe or a file to its end (a
 * second line is refused, not ignored). Returns the value's length, or -1
 * after saying why (never showing any of it). */
static long read_secret(const cupi_field *f, char *buf, size_t size)
{
    char why[128];
    long n = cupi_file_read_fd(STDIN_FILENO, buf, size - 1, isatty(STDIN_FILENO) == 1, why,
                               sizeof why);
    if (n < 0) {
        error("%s: standard input: %s", f->name, why);
        return -1;
    }
    if (n == 0) {
        error("%s: no value on standard input", f->name);
        return -1;
    }
    long len = cupi_secret_line(buf, (size_t)n, size - 2, why, sizeof why);
    if (len < 0) {
        cupi_secret_wipe(buf, size);
        error("%s: standard input %s", f->name, why);
        return -1;
    }
    buf[len] = '\0';
    return len;
}

/* Parses FIELD=VALUE arguments into a partial snapshot. Every name is
 * checked before any value, so a misspelt field is a usage error (status 2)
 * wherever it stands; a value that cannot be parsed is a validation failure
 * (status 1). */
static int parse_assignments(cupi_resource r, int argc, char **argv, cupi_snapshot *changes)
{
    const cupi_field *fields[CUPI_MAX_COLUMNS];
    cupi_snapshot_init(changes, r);
    uint32_t seen = 0;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            error("\"%s\" is not FIELD=VALUE", argv[i]);
            return EXIT_USAGE;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[i]), argv[i]);
        const cupi_field *f = cupi_field_find(r, name);
        if (!f) {
            error("unknown %s field \"%s\"", cupi_resource_name(r), name);
            return EXIT_USAGE;
        }
        /* A field given twice; also keeps i below CUPI_MAX_COLUMNS. */
        if (seen & (CUPI_COLUMN_BIT(f->column))) {
            error("%s given twice", f->name);
            return EXIT_USAGE;
        }
        seen |= CUPI_COLUMN_BIT(f->column);
        fields[i] = f;
    }
    for (int i = 0; i < argc; i++) {
        const cupi_field *f = fields[i];
        const char *text = strchr(argv[i], '=') + 1;
        size_t len = strlen(text);
        /* The line, its newline and the NUL after it. */
        char secret[CUPI_SECRET_LINE_MAX + 2];
        if (f->write_only && strcmp(text, "-") == 0) {
            /* A password never goes on the command line: FIELD=- reads it. */
            long n = read_secret(f, secret, sizeof secret);
            if (n < 0)
                return 1;
            text = secret;
            len = (size_t)n;
        }
        cupi_value v;
        cupi_verdict verdict = cupi_value_parse(f, text, len, &v);
        cupi_secret_wipe(secret, sizeof secret);
        if (verdict == CUPI_WRONG_TYPE) {
            error("%s: not %s", f->name,
                  f->type == CUPI_TYPE_BOOL ? "true or false" : "a number");
            return 1;
        }
        if (verdict == CUPI_WRONG_LENGTH) {
            error("%s: longer than %d characters", f->name, CUPI_STR_MAX);
            return 1;
        }
        if (verdict != CUPI_VALID) {
            error("%s: invalid value (%s)", f->name, cupi_verdict_name(verdict));
            return 1;
        }
        cupi_snapshot_set(changes, f->column, &v);
        cupi_secret_wipe(&v, sizeof v);
    }
    return 0;
}

/* Compares what CUPI holds after the PUT with what was asked. */
static int verify_stuck(const cupi_snapshot *asked, const cupi_snapshot *now)
{
    uint32_t unstuck = cupi_snapshot_unstuck(asked, now);
    size_t n;
    const cupi_field *f = cupi_fields(asked->resource, &n);
    char want[CUPI_STR_MAX + 32], got[CUPI_STR_MAX + 32];
    for (size_t i = 0; i < n; i++) {
        if (!(unstuck & (CUPI_COLUMN_BIT(f[i].column))))
            continue;
        if (!cupi_snapshot_has(now, f[i].column))
            error("%s: not returned by CUPI after the update", f[i].name);
        else
            error("%s: did not stick: asked %s, CUPI holds %s", f[i].name,
                  cupi_value_format(&f[i], &asked->v[i], want, sizeof want),
                  cupi_value_format(&f[i], &now->v[i], got, sizeof got));
    }
    return unstuck ? 1 : 0;
}

static int cmd_set(session *s, const cupi_snapshot *changes)
{
    cupi_resource r = changes->resource;
    char why[256];
    unsigned column = 0;
    /* Values first: an out-of-range value is refused before any request. */
    if (cupi_snapshot_check(changes, &column, why, sizeof why) != CUPI_VALID) {
        error("%s", why);
        return 1;
    }
    cupi_result current;
    if (cupi_get_sync(s->client, r, &current) != CUPI_OK) {
        report_failure(s, "GET", &current);
        return 1;
    }
    if (cupi_changes_check(&current.snapshot, changes, &column, why, sizeof why) !=
        CUPI_VALID) {
        error("%s", why);
        return 1;
    }
    cupi_result put;
    if (cupi_put_sync(s->client, changes, &put) != CUPI_OK) {
        report_failure(s, "PUT", &put);
        return 1;
    }
    cupi_result after;
    if (cupi_get_sync(s->client, r, &after) != CUPI_OK) {
        report_failure(s, "read-back GET", &after);
        return 1;
    }
    return verify_stuck(changes, &after.snapshot);
}

static int open_session(session *s, const cupi_server_config *server, const cupi_config *cfg)
{
    char err[256];
    cupi_client_options o;
    cupi_config_client_options(cfg, server, &o);
    o.expected_idle_ms = 0; /* a GET, a PUT and a read-back, back to back */
    s->server = server;
    s->engine = cupi_engine_new();
    if (!s->engine) {
        error("out of memory");
        return 1;
    }
    s->client = cupi_client_new(s->engine, &o, err, sizeof err);
    if (!s->client) {
        error("server %u (%s): %s", server->index, server->name, err);
        return 1;
    }
    return 0;
}

static void close_session(session *s)
{
    if (s->client)
        cupi_client_free(s->client);
    if (s->engine)
        cupi_engine_free(s->engine);
}

/* path NULL: the agent's default files, found the way the agent finds them. */
static int load_config(cupi_config *cfg, const char *path)
{
    char err[512];
    cupi_config_init(cfg);
    cupi_status st =
        path ? cupi_config_read(cfg, path, false, print_warning, NULL, err, sizeof err)
             : cupi_config_read_default(cfg, print_warning, NULL, NULL, err, sizeof err);
    if (st != CUPI_OK || cupi_config_finish(cfg, err, sizeof err) != CUPI_OK) {
        error("%s", err);
        return 1;
    }
    if (cfg->n_servers == 0) {
        char dirs[2048];
        if (path)
            error("%s: no cupiServer configured", path);
        else
            error("no cupiServer configured in " CUPI_CONFIG_NAME " or " CUPI_CONFIG_LOCAL_NAME
                  " of %s (or give -c FILE)",
                  cupi_config_search_path(dirs, sizeof dirs));
        return 1;
    }
    return 0;
}

static int run_history(const char *conf, const char *key, bool json, int argc, char **argv)
{
    int rc = cupictl_history_args(argc, argv, &json, &key);
    if (rc)
        return rc;
    cupi_config cfg;
    if (load_config(&cfg, conf)) {
        cupi_config_free(&cfg);
        return 1;
    }
    rc = cupictl_history(&cfg, key, json);
    cupi_config_free(&cfg);
    return rc;
}

/* "state" reads only the state file: no server session, no CUPI. */
static int state_command(const char *conf, const char *key, bool json)
{
    cupi_config cfg;
    int rc = load_config(&cfg, conf);
    const cupi_server_config *only = NULL;
    if (rc == 0 && key && !(only = cupi_config_find_server(&cfg, key))) {
        error("no server \"%s\" in %s", key, conf);
        rc = EXIT_USAGE;
    }
    if (rc == 0)
        rc = cupictl_state(&cfg, only, json, time(NULL), stdout);
    cupi_config_free(&cfg);
    return rc;
}

/* A core of cupictl would hold the CUPI password, its Basic credential
 * and any smtpPassword being set, as the agent's would: none is written
 * (the limit for this process, and not dumpable, which also covers a
 * core_pattern pipe that ignores the limit). */
static void no_core_dumps(void)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
        error("warning: cannot turn core dumps off");
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    no_core_dumps();
    return run(argc, argv);
}

static int run(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    const char *conf = NULL, *key = NULL;
    bool json = false;
    int opt;
    /* '+' stops at the command so FIELD=VALUE arguments are never options. */
    while ((opt = getopt_long(argc, argv, "+c:s:hv", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conf = optarg;
            break;
        case 's':
            key = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'v':
            printf("cupictl %s\n", CUPI_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs >= 1 && strcmp(args[0], "history") == 0)
        return run_history(conf, key, json, nargs - 1, args + 1);
    /* --json may also follow the command, as the synopsis shows. */
    if (nargs == 3 && strcmp(args[0], "get") == 0 && strcmp(args[2], "--json") == 0) {
        json = true;
        nargs = 2;
    }
    bool state = nargs >= 1 && strcmp(args[0], "state") == 0;
    if (state && nargs == 2 && strcmp(args[1], "--json") == 0) {
        json = true;
        nargs = 1;
    }
    if (state && nargs != 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (state)
        return state_command(conf, key, json);
    if (nargs < 2 || (strcmp(args[0], "get") != 0 && strcmp(args[0], "set") != 0) ||
        (strcmp(args[0], "get") == 0 && nargs != 2) ||
        (strcmp(args[0], "set") == 0 && nargs < 3)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    int r = cupi_resource_from_name(args[1]);
    if (r < 0) {
        error("unknown resource \"%s\" (server or client)", args[1]);
        return EXIT_USAGE;
    }
    /* Field names and value types are checked before the config or the
     * network is touched (ranges and rules in cmd_set, still before any PUT). */
    cupi_snapshot changes;
    if (strcmp(args[0], "set") == 0) {
        int rc = parse_assignments((cupi_resource)r, nargs - 2, args + 2, &changes);
        if (rc) {
            cupi_secret_wipe(&changes, sizeof changes);
            return rc;
        }
    }

    cupi_config cfg;
    if (load_config(&cfg, conf)) {
        cupi_config_free(&cfg);
        cupi_secret_wipe(&changes, sizeof changes);
        return 1;
    }
    const cupi_server_config *server =
        key ? cupi_config_find_server(&cfg, key) : &cfg.servers[0];
    if (!server) {
        error("no server \"%s\" in %s", key, conf ? conf : "the configuration");
        cupi_config_free(&cfg);
        cupi_secret_wipe(&changes, sizeof changes);
        return EXIT_USAGE;
    }
    if (cupi_global_init() != CUPI_OK) {
        error("cannot initialise libcurl/libxml2");
        cupi_config_free(&cfg);
        cupi_secret_wipe(&changes, sizeof changes);
        return 1;
    }
    session s = {0};
    int rc = open_session(&s, server, &cfg);
    if (rc == 0)
        rc = strcmp(args[0], "get") == 0 ? cmd_get(&s, (cupi_resource)r, json)
                                         : cmd_set(&s, &changes);
    close_session(&s);
    cupi_config_free(&cfg);
    cupi_secret_wipe(&changes, sizeof changes); /* may hold an smtpPassword */
    cupi_global_cleanup();
    return rc;
}
