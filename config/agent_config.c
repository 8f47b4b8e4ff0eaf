/* agent_config.c - reads cupi-snmp-agent.conf (doc/interface.md, cupi-snmp-agent.conf(5)).
 *
 * Net-SNMP style: one directive per line, '#' comments, tokens separated by
 * blanks, a token may be double-quoted (a password with blanks). Directives
 * are described by a table; each handler gets its argument tokens. */
#include "agent_config.h"
#include "config_parse.h"

#include <cupi/secret.h>
#include <cupi/text.h>

#include "cupi_file.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKENS 8
#define MAX_LINE 4096
/* A configuration file is read whole before it is parsed: a fleet of ten
 * thousand servers takes a few megabytes. */
#define MAX_CONFIG_FILE (16u * 1024 * 1024)
/* An unknown directive's name is shown up to this many characters. */
#define MAX_NAME_SHOWN 32

typedef struct parse_ctx {
    cupi_config *cfg;
    const char *path;
    const cupi_config_files *files;
    unsigned line;
    cupi_config_warn_fn warn;
    void *warn_arg;
    char *err;
    size_t errsz;
} parse_ctx;

static cupi_status fail(parse_ctx *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static cupi_status fail(parse_ctx *p, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errsz, "%s:%u: %s", p->path, p->line, what);
    return CUPI_E_CONFIG;
}

static void warn(parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(parse_ctx *p, const char *fmt, ...)
{
    char what[512], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->line)
        snprintf(msg, sizeof msg, "%s:%u: %s", p->path, p->line, what);
    else /* about the whole file */
        snprintf(msg, sizeof msg, "%s: %s", p->path, what);
    if (p->warn)
        p->warn(p->warn_arg, msg);
}

static bool replace_string(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return false;
    free(*slot);
    *slot = copy;
    return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads one line, without its newline, into buf (NUL-terminated). Returns
 * its length; LINE_EOF at the end of the file with nothing read; LINE_LONG
 * when it does not fit (the rest of the line is consumed); LINE_NUL when it
 * holds a NUL byte, which would silently cut every C string taken from it
 * (a password, a path) short. */
enum { LINE_EOF = -1, LINE_LONG = -2, LINE_NUL = -3 };

static long read_line(FILE *f, char *buf, size_t bufsz)
{
    size_t n = 0;
    bool nul = false, long_line = false;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        nul |= ch == '\0';
        if (n + 1 < bufsz)
            buf[n++] = (char)ch;
        else
            long_line = true;
    }
    buf[n] = '\0';
    if (ch == EOF && n == 0 && !long_line && !nul)
        return LINE_EOF;
    return nul ? LINE_NUL : long_line ? LINE_LONG : (long)n;
}

/* --- how other files are reached --------------------------------------- */

static char *read_real(const char *path, size_t max, size_t *len, struct stat *st, char *why,
                       size_t whysz, void *arg)
{
    (void)arg;
    return cupi_file_read(path, max, len, st, why, whysz);
}

static bool check_real(const char *path, size_t max, char *why, size_t whysz, void *arg)
{
    (void)arg;
    return cupi_file_check(path, max, why, whysz);
}

static bool regular_or_absent_real(const char *path, char *why, size_t whysz, void *arg)
{
    (void)arg;
    struct stat st; /* stat, not open: nothing is read, nothing waits */
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
        return true; /* absent, or unreachable: its reader says why */
    snprintf(why, whysz, "is %s, not a regular file", cupi_file_kind(&st));
    return false;
}

static const cupi_config_files real_files = {read_real, check_real, regular_or_absent_real,
                                             NULL};

/* A file a directive names is shown in messages, as printable text. Only
 * an absolute path is taken at all: a relative one would be another file
 * for cupictl than for the agent, and a password written by mistake in
 * the place of a path would be echoed. */
static const char *shown_path(const char *path, char *buf, size_t bufsz)
{
    cupi_text_printable(path, strlen(path), buf, bufsz);
    return buf;
}

/* --- per-server entries -------------------------------------------------- */

/* The server INDEX names, made on first use. A bad INDEX is never echoed:
 * a password written where the INDEX goes must not reach a message. */
static cupi_server_config *server_slot(parse_ctx *p, const char *index_text)
{
    long index;
    if (!parse_long(index_text, 1, 65535, &index)) {
        fail(p, "server INDEX is not a number in 1..65535");
        return NULL;
    }
    cupi_config *c = p->cfg;
    for (size_t i = 0; i < c->n_servers; i++)
        if (c->servers[i].index == (unsigned)index)
            return &c->servers[i];
    cupi_server_config *grown = realloc(c->servers, (c->n_servers + 1) * sizeof *grown);
    if (!grown) {
        fail(p, "out of memory");
        return NULL;
    }
    c->servers = grown;
    cupi_server_config *s = &c->servers[c->n_servers++];
    memset(s, 0, sizeof *s);
    s->index = (unsigned)index;
    s->format = CUPI_FORMAT_XML;
    return s;
}

static cupi_status set_server_string(parse_ctx *p, cupi_server_config *s, char **slot,
                                     const char *value)
{
    (void)s;
    if (!replace_string(slot, value))
        return fail(p, "out of memory");
    return CUPI_OK;
}

/* A path in a directive: absolute, or refused without being shown. */
static bool absolute_path(parse_ctx *p, const char *directive, const char *path)
{
    if (path[0] == '/')
        return true;
    fail(p, "%s: PATH must be an absolute path", directive);
    return false;
}

static cupi_status read_password_file(parse_ctx *p, const char *path, char **out)
{
    if (!absolute_path(p, "cupiPasswordFile", path))
        return CUPI_E_CONFIG;
    char shown[256], why[128];
    shown_path(path, shown, sizeof shown);
    size_t len = 0;
    struct stat st;
    /* One line of a password and its newline: anything longer is refused
     * before it is read, whatever the file is (a FIFO, /dev/zero...). */
    errno = 0;
    char *buf = p->files->read(path, CUPI_SECRET_LINE_MAX + 1, &len, &st, why, sizeof why,
                               p->files->arg);
    if (!buf) {
        if (errno == EFBIG)
            return fail(p, "password file %s is longer than %d bytes", shown,
                        CUPI_SECRET_LINE_MAX);
        return fail(p, "cannot read password file %s: %s", shown, why);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        warn(p, "password file %s is readable by group or others", shown);
    long n = cupi_secret_line(buf, len, CUPI_SECRET_LINE_MAX, why, sizeof why);
    cupi_status result = CUPI_OK;
    /* A cut password would fail as "wrong password" far from its cause. */
    if (n < 0)
        result = fail(p, "password file %s %s", shown, why);
    else if (n == 0)
        result = fail(p, "password file %s is empty", shown);
    else {
        cupi_secret_free(*out);
        *out = strndup(buf, (size_t)n);
        if (!*out)
            result = fail(p, "out of memory");
    }
    cupi_secret_wipe(buf, len);
    free(buf);
    return result;
}

static cupi_status d_server(parse_ctx *p, cupi_server_config *s, char **arg)
{
    if (s->origin)
        return fail(p, "server %u is already defined at %s", s->index, s->origin);
    if (strlen(arg[1]) > 64)
        return fail(p, "cupiServer: NAME is longer than 64 characters");
    if (strlen(arg[2]) > 255)
        return fail(p, "cupiServer: URL is longer than 255 characters");
    if (strncasecmp(arg[2], "https://", 8) != 0 && strncasecmp(arg[2], "http://", 7) != 0)
        return fail(p,
                    "cupiServer: URL must start with https:// (or http:// with cupiInsecure)");
    for (size_t i = 0; i < p->cfg->n_servers; i++) {
        const cupi_server_config *o = &p->cfg->servers[i];
        if (o != s && o->name && strcmp(o->name, arg[1]) == 0)
            return fail(p, "cupiServer: NAME is already used by server %u", o->index);
    }
    char origin[PATH_MAX + 16];
    snprintf(origin, sizeof origin, "%s:%u", p->path, p->line);
    if (set_server_string(p, s, &s->name, arg[1]) || set_server_string(p, s, &s->url, arg[2]) ||
        set_server_string(p, s, &s->origin, origin))
        return CUPI_E_CONFIG;
    return CUPI_OK;
}

static cupi_status d_user(parse_ctx *p, cupi_server_config *s, char **arg)
{
    return set_server_string(p, s, &s->user, arg[1]);
}

static cupi_status d_password(parse_ctx *p, cupi_server_config *s, char **arg)
{
    if (s->password) /* the old one, about to be freed */
        cupi_secret_wipe(s->password, strlen(s->password));
    return set_server_string(p, s, &s->password, arg[1]);
}

static cupi_status d_password_file(parse_ctx *p, cupi_server_config *s, char **arg)
{
    return read_password_file(p, arg[1], &s->password);
}

static cupi_status d_ca_file(parse_ctx *p, cupi_server_config *s, char **arg)
{
    if (!absolute_path(p, "cupiCaFile", arg[1]))
        return CUPI_E_CONFIG;
    char shown[256], why[128];
    /* Checked here so that the reload names the file; the client reads it
     * (with the same rules) when it is made. */
    if (!p->files->check(arg[1], CUPI_CA_FILE_MAX, why, sizeof why, p->files->arg))
        return fail(p, "cannot read CA file %s: %s", shown_path(arg[1], shown, sizeof shown),
                    why);
    return set_server_string(p, s, &s->ca_file, arg[1]);
}

static cupi_status d_insecure(parse_ctx *p, cupi_server_config *s, char **arg)
{
    (void)arg;
    s->insecure = true;
    warn(p, "TLS certificate verification is disabled for server %u (cupiInsecure)", s->index);
    return CUPI_OK;
}

static cupi_status d_format(parse_ctx *p, cupi_server_config *s, char **arg)
{
    int f = cupi_format_from_name(arg[1]);
    if (f < 0)
        return fail(p, "cupiFormat must be xml or json");
    s->format = (cupi_format)f;
    return CUPI_OK;
}

/* --- global directives --------------------------------------------------- */

typedef struct number_directive {
    long min, max;
    size_t offset; /* of a long or unsigned in cupi_config */
    bool is_unsigned;
} number_directive;

static cupi_status d_number(parse_ctx *p, const number_directive *nd, const char *name,
                            const char *text)
{
    long v;
    if (!parse_long(text, nd->min, nd->max, &v))
        return fail(p, "%s must be a number in %ld..%ld", name, nd->min, nd->max);
    char *base = (char *)p->cfg + nd->offset;
    if (nd->is_unsigned)
        *(unsigned *)(void *)base = (unsigned)v;
    else
        *(long *)(void *)base = v;
    return CUPI_OK;
}

/* The state file need not exist yet (the agent writes it), but where it
 * does it must be a regular file: whoever reads it would wait on a FIFO. */
static cupi_status check_state_file(parse_ctx *p, const char *path)
{
    char why[128];
    if (!p->files->regular_or_absent(path, why, sizeof why, p->files->arg)) {
        char shown[256];
        return fail(p, "cupiStateFile %s %s", shown_path(path, shown, sizeof shown), why);
    }
    return CUPI_OK;
}

/* The string globals whose value is checked before it is taken. */
static const struct {
    size_t offset;
    cupi_status (*check)(parse_ctx *, const char *);
} string_checks[] = {
    {offsetof(cupi_config, state_file), check_state_file},
};

static cupi_status check_global_string(parse_ctx *p, size_t offset, const char *value)
{
    for (size_t i = 0; i < sizeof string_checks / sizeof string_checks[0]; i++)
        if (string_checks[i].offset == offset)
            return string_checks[i].check(p, value);
    return CUPI_OK;
}

typedef cupi_status (*server_handler)(parse_ctx *, cupi_server_config *, char **);

typedef struct directive {
    cupi_directive_doc doc;  /* name, arguments, meaning: also what -H prints */
    int n_args;              /* tokens after the directive, INDEX included */
    server_handler server;   /* per-server directive, or NULL */
    number_directive number; /* numeric global when max > 0 */
    size_t string_offset;    /* char * global when non-zero */
} directive;

#define NUM(field, lo, hi, uns)                                                                \
    .number = {.min = lo, .max = hi, .offset = offsetof(cupi_config, field), .is_unsigned = uns}
#define STR(field) .string_offset = offsetof(cupi_config, field)

static const directive directives[] = {
    {{"cupiServer", "INDEX NAME URL",
      "a CUPI server: MIB row 1..65535, name, https://host[:port]"},
     3,
     d_server,
     {0},
     0},
    {{"cupiUser", "INDEX USER", "CUPI account of that server"}, 2, d_user, {0}, 0},
    {{"cupiPassword", "INDEX PASSWORD", "its password (keep the file mode 600)"},
     2,
     d_password,
     {0},
     0},
    {{"cupiPasswordFile", "INDEX PATH", "or: the password is the one line of PATH"},
     2,
     d_password_file,
     {0},
     0},
    {{"cupiCaFile", "INDEX PATH",
      "PEM CA bundle verifying that server (default: system store)"},
     2,
     d_ca_file,
     {0},
     0},
    {{"cupiInsecure", "INDEX", "no TLS verification for that server; allows http://"},
     1,
     d_insecure,
     {0},
     0},
    {{"cupiFormat", "INDEX xml|json", "CUPI encoding on the wire (default xml)"},
     2,
     d_format,
     {0},
     0},
    {{"cupiPollInterval", "SECONDS", "change-detection poll, 1..86400 (default 60)"},
     1,
     NULL,
     NUM(poll_interval_s, 1, 86400, true),
     0},
    {{"cupiCacheTtl", "SECONDS", "how long a read value is served, 1..86400 (default 30)"},
     1,
     NULL,
     NUM(cache_ttl_s, 1, 86400, true),
     0},
    {{"cupiTimeout", "MILLISECONDS", "one HTTP request, 100..600000 (default 5000)"},
     1,
     NULL,
     NUM(timeout_ms, 100, 600000, false),
     0},
    {{"cupiConnectTimeout", "MILLISECONDS",
      "TCP and TLS set-up of a connection, 100..600000, at most cupiTimeout (default 3000)"},
     1,
     NULL,
     NUM(connect_timeout_ms, 100, 600000, false),
     0},
    {{"cupiMaxConcurrent", "N", "HTTP requests in flight per server, 1..5 (default 2)"},
     1,
     NULL,
     NUM(max_concurrent, 1, 5, true),
     0},
    {{"cupiMaxRefreshes", "N",
      "background reads in flight across all servers, 1..10000 (default 64)"},
     1,
     NULL,
     NUM(max_refreshes, 1, 10000, true),
     0},
    {{"cupiUnreachableAfter", "N",
      "consecutive failed reads before a server is unreachable, 1..100 (default 2)"},
     1,
     NULL,
     NUM(unreachable_after, 1, 100, true),
     0},
    {{"cupiMaxDataAge", "SECONDS",
      "or once its values are older than this, 0..604800 (default 0: no limit)"},
     1,
     NULL,
     NUM(max_data_age_s, 0, 604800, true),
     0},
    {{"cupiStateFile", "PATH", "last-known values kept across restarts (never a password)"},
     1,
     NULL,
     {0},
     STR(state_file)},
    {{"cupiHistorySize", "N",
      "changes kept per server in cupiChangeTable, 0..10000 (default 100; 0: none)"},
     1,
     NULL,
     NUM(history_size, 0, 10000, true),
     0},
    {{"cupiNotifications", "yes|no", "send notifications (default yes)"}, 1, NULL, {0}, 0},
    {{"agentXSocket", "ADDRESS", "AgentX master, unix:/path or tcp:host:port (-x wins)"},
     1,
     NULL,
     {0},
     STR(agentx_socket)},
    {{"agentxPingInterval", "SECONDS", "how often a lost master is looked for (default 5)"},
     1,
     NULL,
     NUM(agentx_ping_interval_s, 1, 3600, false),
     0},
    {{"agentxTimeout", "SECONDS", "timeout of the agent's own AgentX requests, 1..255"},
     1,
     NULL,
     NUM(agentx_timeout_s, 1, 255, false),
     0},
    {{"agentxRetries", "N", "retries of the agent's own AgentX requests, 0..10"},
     1,
     NULL,
     NUM(agentx_retries, 0, 10, false),
     0},
};

#define N_DIRECTIVES (sizeof directives / sizeof directives[0])

const cupi_directive_doc *cupi_config_directive(size_t i)
{
    return i < N_DIRECTIVES ? &directives[i].doc : NULL;
}

static cupi_status d_notifications(parse_ctx *p, const char *text)
{
    if (strcasecmp(text, "yes") == 0 || strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
        p->cfg->notifications = true;
    else if (strcasecmp(text, "no") == 0 || strcasecmp(text, "false") == 0 ||
             strcmp(text, "0") == 0)
        p->cfg->notifications = false;
    else
        return fail(p, "cupiNotifications must be yes or no");
    return CUPI_OK;
}

/* The name of an unknown directive is shown only when the line could be
 * one: a word of letters followed by arguments. Anything else (a line with
 * no blank, a word holding digits, punctuation or other bytes) is content
 * that ended up in the file by mistake, such as a password or a line of
 * another file, and is never echoed. */
static cupi_status unknown_directive(parse_ctx *p, const char *name, int n)
{
    size_t len = strlen(name);
    bool word = n > 1 && len > 0;
    for (size_t i = 0; word && i < len; i++)
        word = isalpha((unsigned char)name[i]) != 0;
    if (!word)
        return fail(p, "not a directive (the line is not shown)");
    if (len > MAX_NAME_SHOWN)
        return fail(p, "unknown directive \"%.*s...\"", MAX_NAME_SHOWN, name);
    return fail(p, "unknown directive \"%s\"", name);
}

static cupi_status apply_directive(parse_ctx *p, char **tok, int n)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const directive *d = &directives[i];
        if (strcasecmp(tok[0], d->doc.name) != 0)
            continue;
        if (n - 1 != d->n_args)
            return fail(p, "%s takes %d argument%s, got %d", d->doc.name, d->n_args,
                        d->n_args == 1 ? "" : "s", n - 1);
        if (d->server) {
            cupi_server_config *s = server_slot(p, tok[1]);
            return s ? d->server(p, s, tok + 1) : CUPI_E_CONFIG;
        }
        if (d->number.max > 0)
            return d_number(p, &d->number, d->doc.name, tok[1]);
        if (d->string_offset && check_global_string(p, d->string_offset, tok[1]) != CUPI_OK)
            return CUPI_E_CONFIG;
        if (d->string_offset) {
            char **slot = (char **)(void *)((char *)p->cfg + d->string_offset);
            return replace_string(slot, tok[1]) ? CUPI_OK : fail(p, "out of memory");
        }
        return d_notifications(p, tok[1]);
    }
    return unknown_directive(p, tok[0], n);
}

/* Splits a line into tokens in place; returns the count or -1 on a quoting
 * error. A '#' outside quotes starts a comment. */
static int tokenize(char *line, char **tok, int max)
{
    int n = 0;
    char *r = line;
    while (*r) {
        while (isspace((unsigned char)*r))
            r++;
        if (!*r || *r == '#')
            break;
        if (n == max)
            return -2;
        char *w = r;
        tok[n++] = w;
        if (*r == '"') {
            r++;
            while (*r && *r != '"') {
                if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
                    r++;
                *w++ = *r++;
            }
            if (*r != '"')
                return -1;
            r++;
        } else {
            while (*r && !isspace((unsigned char)*r))
                *w++ = *r++;
        }
        bool at_end = !*r;
        if (!at_end)
            r++;
        *w = '\0';
        if (at_end)
            break;
    }
    return n;
}

void cupi_config_init(cupi_config *c)
{
    memset(c, 0, sizeof *c);
    c->poll_interval_s = 60;
    c->cache_ttl_s = 30;
    c->max_refreshes = 64;
    c->unreachable_after = 2;
    c->max_data_age_s = 0;
    c->history_size = 100;
    c->timeout_ms = 5000;
    c->connect_timeout_ms = 3000;
    c->max_concurrent = 2;
    c->notifications = true;
    c->agentx_ping_interval_s = -1;
    c->agentx_timeout_s = -1;
    c->agentx_retries = -1;
}

void cupi_server_config_free(cupi_server_config *s)
{
    cupi_secret_free(s->password);
    free(s->name);
    free(s->url);
    free(s->user);
    free(s->ca_file);
    free(s->origin);
    memset(s, 0, sizeof *s);
}

int cupi_server_config_copy(cupi_server_config *dst, const cupi_server_config *src)
{
    memset(dst, 0, sizeof *dst);
    dst->index = src->index;
    dst->insecure = src->insecure;
    dst->format = src->format;
    dst->name = strdup(src->name ? src->name : "");
    dst->url = strdup(src->url ? src->url : "");
    dst->user = strdup(src->user ? src->user : "");
    dst->password = strdup(src->password ? src->password : "");
    dst->ca_file = src->ca_file ? strdup(src->ca_file) : NULL;
    dst->origin = src->origin ? strdup(src->origin) : NULL;
    if (!dst->name || !dst->url || !dst->user || !dst->password ||
        (src->ca_file && !dst->ca_file) || (src->origin && !dst->origin)) {
        cupi_server_config_free(dst);
        return -1;
    }
    return 0;
}

void cupi_config_free(cupi_config *c)
{
    for (size_t i = 0; i < c->n_servers; i++)
        cupi_server_config_free(&c->servers[i]);
    free(c->servers);
    free(c->state_file);
    free(c->agentx_socket);
    cupi_config_init(c);
}

cupi_status cupi_config_parse(cupi_config *c, FILE *f, const char *name,
                              const struct stat *file, const cupi_config_files *files,
                              cupi_config_warn_fn warn_fn, void *warn_arg, char *err,
                              size_t errsz)
{
    parse_ctx p = {c, name, files ? files : &real_files, 0, warn_fn, warn_arg, err, errsz};
    char line[MAX_LINE];
    bool holds_password = false;
    cupi_status st = CUPI_OK;
    long n_read;
    while (st == CUPI_OK && (n_read = read_line(f, line, sizeof line)) != LINE_EOF) {
        p.line++;
        if (n_read == LINE_LONG || n_read == LINE_NUL) {
            cupi_secret_wipe(line, sizeof line); /* it may hold a cupiPassword */
            st = n_read == LINE_LONG ? fail(&p, "line longer than %d characters", MAX_LINE - 1)
                                     : fail(&p, "NUL character in the line");
            break;
        }
        char *tok[MAX_TOKENS];
        int n = tokenize(line, tok, MAX_TOKENS);
        if (n == -1)
            st = fail(&p, "unterminated quoted string");
        else if (n == -2)
            st = fail(&p, "too many arguments");
        else if (n > 0) {
            holds_password |= strcasecmp(tok[0], "cupiPassword") == 0;
            st = apply_directive(&p, tok, n);
        }
        cupi_secret_wipe(line, sizeof line);
    }
    if (st == CUPI_OK && ferror(f)) {
        snprintf(err, errsz, "%s: read error", name);
        st = CUPI_E_IO;
    }
    if (st == CUPI_OK && holds_password && file && (file->st_mode & (S_IRWXG | S_IRWXO))) {
        p.line = 0;
        warn(&p, "file holds cupiPassword and is readable by group or others (chmod 600 it)");
    }
    return st;
}

cupi_status cupi_config_read(cupi_config *c, const char *path, bool optional,
                             cupi_config_warn_fn warn_fn, void *warn_arg, char *err,
                             size_t errsz)
{
    char why[128];
    size_t len = 0;
    struct stat sb;
    errno = 0;
    char *text = cupi_file_read(path, MAX_CONFIG_FILE, &len, &sb, why, sizeof why);
    if (!text) {
        if (optional && errno == ENOENT)
            return CUPI_OK;
        snprintf(err, errsz, "%s: cannot open: %s", path, why);
        return CUPI_E_IO;
    }
    /* The text is parsed from memory: it may hold cupiPassword lines, so
     * it is wiped, and so is the stream's buffer. */
    cupi_status st = CUPI_OK;
    FILE *f = len ? fmemopen(text, len, "r") : NULL;
    if (len && !f) {
        snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
        st = CUPI_E_IO;
    } else if (f) {
        char stdio_buf[BUFSIZ]; /* ours, so that it can be wiped too */
        setvbuf(f, stdio_buf, _IOFBF, sizeof stdio_buf);
        st = cupi_config_parse(c, f, path, &sb, NULL, warn_fn, warn_arg, err, errsz);
        fclose(f);
        cupi_secret_wipe(stdio_buf, sizeof stdio_buf);
    }
    cupi_secret_wipe(text, len);
    free(text);
    return st;
}

static int by_index(const void *a, const void *b)
{
    const cupi_server_config *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

cupi_status cupi_config_finish(cupi_config *c, char *err, size_t errsz)
{
    if (c->n_servers > 1) /* servers is NULL when there are none */
        qsort(c->servers, c->n_servers, sizeof *c->servers, by_index);
    for (size_t i = 0; i < c->n_servers; i++) {
        const cupi_server_config *s = &c->servers[i];
        if (!s->origin) {
            snprintf(err, errsz, "server %u is configured but has no cupiServer line",
                     s->index);
            return CUPI_E_CONFIG;
        }
        if (!s->user) {
            snprintf(err, errsz, "%s: server %u has no cupiUser", s->origin, s->index);
            return CUPI_E_CONFIG;
        }
        if (!s->password) {
            snprintf(err, errsz, "%s: server %u has no cupiPassword or cupiPasswordFile",
                     s->origin, s->index);
            return CUPI_E_CONFIG;
        }
        if (strncasecmp(s->url, "http://", 7) == 0 && !s->insecure) {
            snprintf(err, errsz, "%s: server %u: http:// needs cupiInsecure %u", s->origin,
                     s->index, s->index);
            return CUPI_E_CONFIG;
        }
    }
    return CUPI_OK;
}

void cupi_config_client_options(const cupi_config *c, const cupi_server_config *s,
                                cupi_client_options *out)
{
    *out = (cupi_client_options){
        .url = s->url,
        .user = s->user,
        .password = s->password,
        .ca_file = s->ca_file,
        .insecure = s->insecure,
        .format = s->format,
        .timeout_ms = c->timeout_ms,
        .connect_timeout_ms = c->connect_timeout_ms,
        .max_concurrent = c->max_concurrent,
        /* Each resource is read once per poll interval at its own phase, so
         * a server can go a whole interval without a request. */
        .expected_idle_ms = (long)c->poll_interval_s * 1000L,
    };
}

const cupi_server_config *cupi_config_find_server(const cupi_config *c, const char *key)
{
    long index;
    bool numeric = parse_long(key, 1, 65535, &index);
    for (size_t i = 0; i < c->n_servers; i++) {
        const cupi_server_config *s = &c->servers[i];
        if ((numeric && s->index == (unsigned)index) || (s->name && strcmp(s->name, key) == 0))
            return s;
    }
    return NULL;
}
