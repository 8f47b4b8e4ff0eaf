/* fuzz_config.c - libFuzzer target: the configuration parser on arbitrary
 * text. Password and CA files named in the input are never opened: the
 * parser's file hooks answer with fixed contents chosen by the path, so
 * that empty, over-long, NUL-holding and CRLF password files are reached.
 *
 * Asserted: a configuration that reads and finishes is within every bound
 * the agent relies on; no file holding a NUL byte is accepted (it would cut
 * a value short); a password from a file is never cut short and never shows
 * up in an error or a warning. */
#include <cupi/cupi.h>

#include "agent_config.h"
#include "config_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "pwfile-7f3a9c"
#define NUL_SECRET "nulpw-51e2"

typedef struct password_file {
    const char *text;
    size_t len;
} password_file;

static char long_line[1100];
static char cut_line[1024]; /* what a 1023-byte cut of long_line would be */

static const password_file files[] = {
    {SECRET "\n", sizeof SECRET},
    {SECRET "\r\n", sizeof SECRET + 1},
    {"", 0},
    {NUL_SECRET "\0tail\n", sizeof NUL_SECRET + 5},
    {long_line, sizeof long_line},
    {"\n", 1},
};

static const password_file *file_for(const char *path)
{
    unsigned h = 0;
    for (const char *p = path; *p; p++)
        h = h * 31 + (unsigned char)*p;
    return &files[h % (sizeof files / sizeof files[0])];
}

static char *fake_read(const char *path, size_t max, size_t *len, struct stat *st, char *why,
                       size_t whysz, void *arg)
{
    (void)arg;
    if (path[0] == '\0' || strchr(path, '!')) {
        snprintf(why, whysz, "%s", strerror(ENOENT));
        errno = ENOENT;
        return NULL;
    }
    const password_file *pf = file_for(path);
    if (pf->len > max) {
        snprintf(why, whysz, "is larger than %zu bytes", max);
        errno = EFBIG;
        return NULL;
    }
    char *buf = malloc(pf->len + 1);
    if (!buf) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(buf, pf->text, pf->len);
    buf[pf->len] = '\0';
    *len = pf->len;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0600;
    return buf;
}

static bool fake_check(const char *path, size_t max, char *why, size_t whysz, void *arg)
{
    (void)arg;
    (void)max;
    if (path[0] == '\0' || strchr(path, '!')) {
        snprintf(why, whysz, "%s", strerror(ENOENT));
        return false;
    }
    return true;
}

static bool fake_regular(const char *path, char *why, size_t whysz, void *arg)
{
    (void)arg;
    if (strchr(path, '|')) {
        snprintf(why, whysz, "is a FIFO, not a regular file");
        return false;
    }
    return true;
}

typedef struct said {
    char text[4096];
    size_t len;
} said;

static void collect(void *arg, const char *msg)
{
    said *w = arg;
    size_t n = strlen(msg);
    if (w->len + n + 1 < sizeof w->text) {
        memcpy(w->text + w->len, msg, n);
        w->len += n;
        w->text[w->len++] = '\n';
        w->text[w->len] = '\0';
    }
}

static bool input_has(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, s, n) == 0)
            return true;
    return false;
}

static void check_config(const cupi_config *c, const uint8_t *data, size_t size)
{
    if (c->poll_interval_s < 1 || c->poll_interval_s > 86400 || c->cache_ttl_s < 1 ||
        c->cache_ttl_s > 86400 || c->timeout_ms < 100 || c->timeout_ms > 600000 ||
        c->max_concurrent < 1 || c->max_concurrent > 5)
        abort();
    for (size_t i = 0; i < c->n_servers; i++) {
        const cupi_server_config *s = &c->servers[i];
        if (s->index < 1 || s->index > 65535 || (i && c->servers[i - 1].index >= s->index))
            abort(); /* sorted, unique */
        if (!s->name || strlen(s->name) > 64 || !s->url || strlen(s->url) > 255 || !s->user ||
            !s->password)
            abort();
        bool https = strncasecmp(s->url, "https://", 8) == 0;
        bool http = strncasecmp(s->url, "http://", 7) == 0;
        if (!https && !(http && s->insecure))
            abort();
        if ((strcmp(s->password, NUL_SECRET) == 0 && !input_has(data, size, NUL_SECRET)) ||
            (strcmp(s->password, SECRET "\r") == 0 && !input_has(data, size, SECRET)) ||
            (strlen(s->password) == 1023 && strspn(s->password, "x") == 1023 &&
             !input_has(data, size, cut_line)))
            abort(); /* a password file's line cut short, or its CR kept */
        char key[16];
        snprintf(key, sizeof key, "%u", s->index);
        if (cupi_config_find_server(c, key) != s || cupi_config_find_server(c, s->name) == NULL)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(long_line, 'x', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\n';
    memset(cut_line, 'x', sizeof cut_line - 1);
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    cupi_config_files hooks = {fake_read, fake_check, fake_regular, NULL};
    cupi_config cfg;
    cupi_config_init(&cfg);
    said warnings = {.len = 0};
    warnings.text[0] = '\0';
    char err[512] = "";
    cupi_status st = cupi_config_parse(&cfg, f, "fuzz.conf", NULL, &hooks, collect, &warnings,
                                       err, sizeof err);
    fclose(f);
    if (st == CUPI_OK)
        st = cupi_config_finish(&cfg, err, sizeof err);
    if (strlen(err) >= sizeof err)
        abort();
    if (st == CUPI_OK) {
        if (memchr(data, '\0', size))
            abort(); /* a NUL byte would have cut some value short */
        check_config(&cfg, data, size);
    } else if (err[0] == '\0') {
        abort(); /* every failure says why */
    }
    /* The whole secret, which starts with a letter: a message that shows a
     * byte of the input as an octal escape ("\267") next to input "f3a9c"
     * spells its digits without echoing anything secret. */
    if (!input_has(data, size, SECRET) &&
        (strstr(err, SECRET) || strstr(warnings.text, SECRET)))
        abort(); /* a password read from a file was echoed */
    cupi_config_free(&cfg);
    return 0;
}
