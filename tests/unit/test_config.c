/* test_config.c - the cupi-snmp-agent.conf parser (doc/interface.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cupi/cupi.h>

#include "agent_config.h"
#include "test_support.h"

#define SECRET "S3cr3t-Pa55w0rd"

typedef struct warnings {
    int n;
    char msg[16][1024];
} warnings;

static void collect(void *arg, const char *msg)
{
    warnings *w = arg;
    if (w->n < 16)
        snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
    w->n++;
}

static bool warned(const warnings *w, const char *needle)
{
    for (int i = 0; i < w->n && i < 16; i++)
        if (strstr(w->msg[i], needle))
            return true;
    return false;
}

typedef struct fixture {
    char dir[64];
    char path[128];
    cupi_config cfg;
    warnings warn;
    char err[1024];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    if (temp_dir_make(fx->dir, sizeof fx->dir, "config") != 0)
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/agent.conf", fx->dir);
    cupi_config_init(&fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    cupi_config_free(&fx->cfg);
    if (temp_dir_remove(fx->dir) != 0)
        return -1;
    free(fx);
    return 0;
}

static const char *write_file(fixture *fx, const char *name, const char *text, mode_t mode)
{
    static char path[8][160];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 160, "%s/%s", fx->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

/* Writes the config file and reads it. */
static cupi_status read_conf(fixture *fx, const char *text, mode_t mode)
{
    write_file(fx, "agent.conf", text, mode);
    fx->err[0] = '\0';
    return cupi_config_read(&fx->cfg, fx->path, false, collect, &fx->warn, fx->err,
                            sizeof fx->err);
}

static cupi_status read_and_finish(fixture *fx, const char *text)
{
    cupi_status st = read_conf(fx, text, 0600);
    if (st != CUPI_OK)
        return st;
    return cupi_config_finish(&fx->cfg, fx->err, sizeof fx->err);
}

/* The error names the file and line: "PATH:LINE: ...". */
static void expect_error_at(fixture *fx, const char *text, unsigned line, const char *what)
{
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    cupi_status st = read_conf(fx, text, 0600);
    if (st != CUPI_E_CONFIG)
        fail_msg("got %s for:\n%s", cupi_status_name(st), text);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s:%u: ", fx->path, line);
    if (strncmp(fx->err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", fx->err, prefix);
    if (what && !strstr(fx->err, what))
        fail_msg("error \"%s\" does not mention \"%s\"", fx->err, what);
    if (strstr(fx->err, SECRET))
        fail_msg("error leaks the password: %s", fx->err);
}

static const char *header = "# test configuration\n"
                            "cupiServer 1 cuc-paris https://cuc1.example.com:8443\n";

static void test_defaults(void **state)
{
    fixture *fx = *state;
    cupi_config *c = &fx->cfg;
    assert_int_equal(c->n_servers, 0);
    assert_int_equal(c->poll_interval_s, 60);
    assert_int_equal(c->cache_ttl_s, 30);
    assert_int_equal(c->timeout_ms, 5000);
    assert_int_equal(c->max_concurrent, 2);
    assert_null(c->state_file);
    assert_int_equal(c->history_size, 100);
    assert_true(c->notifications);
    assert_null(c->agentx_socket);
    assert_int_equal(c->agentx_ping_interval_s, -1);
    assert_int_equal(c->agentx_timeout_s, -1);
    assert_int_equal(c->agentx_retries, -1);
    /* An empty file, comments and blank lines change nothing. */
    assert_int_equal(read_conf(fx, "\n# nothing\n   \n\t# indented comment\n", 0600), CUPI_OK);
    assert_int_equal(cupi_config_finish(c, fx->err, sizeof fx->err), CUPI_OK);
    assert_int_equal(c->poll_interval_s, 60);
    assert_int_equal(c->n_servers, 0);
    /* A server gets the defaults of its own settings. */
    assert_int_equal(read_and_finish(fx, "cupiServer 3 x https://h\ncupiUser 3 u\n"
                                         "cupiPassword 3 p\n"),
                     CUPI_OK);
    assert_int_equal(c->n_servers, 1);
    assert_int_equal(c->servers[0].format, CUPI_FORMAT_XML);
    assert_false(c->servers[0].insecure);
    assert_null(c->servers[0].ca_file);
    assert_int_equal(fx->warn.n, 0);
    /* An optional missing file is fine, a required one is not. */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.conf", fx->dir);
    assert_int_equal(cupi_config_read(c, missing, true, NULL, NULL, fx->err, sizeof fx->err),
                     CUPI_OK);
    assert_int_equal(cupi_config_read(c, missing, false, NULL, NULL, fx->err, sizeof fx->err),
                     CUPI_E_IO);
    assert_non_null(strstr(fx->err, missing));
}

static void test_all_directives(void **state)
{
    fixture *fx = *state;
    const char *ca = write_file(fx, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    write_file(fx, "pw2", "from-file\n", 0600);
    char text[2048];
    snprintf(
        text, sizeof text,
        "# servers, out of order\n"
        "cupiServer 2 cuc-lyon http://cuc2.example.com:8080\n"
        "cupiUser 2 admin2\n"
        "cupiPasswordFile 2 %s/pw2\n"
        "cupiInsecure 2\n"
        "cupiFormat 2 json\n"
        "\n"
        "  cupiServer   1\tcuc-paris   https://cuc1.example.com:8443   # trailing comment\n"
        "cupiUser 1 \"admin one\"\n"
        "cupiPassword 1 \"my secret pass\"\n"
        "cupiCaFile 1 %s\n"
        "cupiFormat 1 XML\n"
        "cupiPollInterval 10\n"
        "cupiCacheTtl 5\n"
        "cupiTimeout 2000\n"
        "cupiMaxConcurrent 3\n"
        "cupiStateFile /var/lib/cupi-snmp/state\n"
        "cupiHistorySize 0\n"
        "cupiNotifications no\n"
        "agentXSocket tcp:localhost:705\n"
        "agentxPingInterval 7\n"
        "agentxTimeout 3\n"
        "agentxRetries 0\n",
        fx->dir, ca);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    cupi_config *c = &fx->cfg;
    assert_int_equal(c->n_servers, 2);
    /* sorted by index */
    const cupi_server_config *s1 = &c->servers[0], *s2 = &c->servers[1];
    assert_int_equal(s1->index, 1);
    assert_string_equal(s1->name, "cuc-paris");
    assert_string_equal(s1->url, "https://cuc1.example.com:8443");
    assert_string_equal(s1->user, "admin one");
    assert_string_equal(s1->password, "my secret pass");
    assert_string_equal(s1->ca_file, ca);
    assert_false(s1->insecure);
    assert_int_equal(s1->format, CUPI_FORMAT_XML);
    char origin[200];
    snprintf(origin, sizeof origin, "%s:8", fx->path);
    assert_string_equal(s1->origin, origin);
    assert_int_equal(s2->index, 2);
    assert_string_equal(s2->name, "cuc-lyon");
    assert_string_equal(s2->url, "http://cuc2.example.com:8080");
    assert_string_equal(s2->user, "admin2");
    assert_string_equal(s2->password, "from-file"); /* without its newline */
    assert_true(s2->insecure);
    assert_int_equal(s2->format, CUPI_FORMAT_JSON);
    snprintf(origin, sizeof origin, "%s:2", fx->path);
    assert_string_equal(s2->origin, origin);
    assert_int_equal(c->poll_interval_s, 10);
    assert_int_equal(c->cache_ttl_s, 5);
    assert_int_equal(c->timeout_ms, 2000);
    assert_int_equal(c->max_concurrent, 3);
    assert_string_equal(c->state_file, "/var/lib/cupi-snmp/state");
    assert_int_equal(c->history_size, 0); /* history off */
    assert_false(c->notifications);
    assert_string_equal(c->agentx_socket, "tcp:localhost:705");
    assert_int_equal(c->agentx_ping_interval_s, 7);
    assert_int_equal(c->agentx_timeout_s, 3);
    assert_int_equal(c->agentx_retries, 0);
    /* A client may go a whole poll interval without a request: that is what
     * decides whether its connections are kept. */
    cupi_client_options o;
    cupi_config_client_options(c, s1, &o);
    assert_int_equal(o.expected_idle_ms, 10000);
    assert_int_equal(o.max_concurrent, 3);
    /* The insecure server was warned about, nothing else. */
    assert_int_equal(fx->warn.n, 1);
    assert_true(warned(&fx->warn, "cupiInsecure"));
}

static void test_notifications_values(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *word;
        bool value;
    } cases[] = {{"yes", true},  {"no", false},    {"YES", true}, {"No", false},
                 {"true", true}, {"false", false}, {"1", true},   {"0", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        fx->cfg.notifications = !cases[i].value;
        snprintf(text, sizeof text, "cupiNotifications %s\n", cases[i].word);
        assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
        assert_int_equal(fx->cfg.notifications, cases[i].value);
    }
}

static void test_errors_with_line(void **state)
{
    fixture *fx = *state;
    char text[1024];
#define AT3(body, what)                                                                        \
    do {                                                                                       \
        snprintf(text, sizeof text, "%s%s\n", header, body);                                   \
        expect_error_at(fx, text, 3, what);                                                    \
    } while (0)
    /* header is two lines ("# ..." and cupiServer 1), so body is line 3. */
    AT3("cupiFrobnicate 1 x", "cupiFrobnicate");
    AT3("cupiserverr 1 x https://h", "unknown directive");
    AT3("cupiServer 2 name", "argument");
    AT3("cupiServer 2 name https://h extra", "argument");
    AT3("cupiUser 1", "argument");
    AT3("cupiInsecure 1 yes", "argument");
    AT3("cupiInsecure", "argument");
    AT3("cupiPollInterval", "argument");
    AT3("cupiPollInterval 5 6", "argument");
    AT3("cupiUser 0 admin", "INDEX");
    AT3("cupiUser 65536 admin", "INDEX");
    AT3("cupiUser abc admin", "INDEX");
    AT3("cupiUser -1 admin", "INDEX");
    AT3("cupiUser 1x admin", "INDEX");
    AT3("cupiServer 0 zero https://h", "INDEX");
    AT3("cupiFormat 1 yaml", "cupiFormat");
    AT3("cupiFormat 1 \"\"", "cupiFormat");
    AT3("cupiPollInterval 0", "cupiPollInterval");
    AT3("cupiPollInterval abc", "cupiPollInterval");
    AT3("cupiPollInterval 10s", "cupiPollInterval");
    AT3("cupiPollInterval -5", "cupiPollInterval");
    AT3("cupiCacheTtl 99999999999999999999", "cupiCacheTtl");
    AT3("cupiTimeout 1.5", "cupiTimeout");
    AT3("cupiMaxConcurrent 0", "cupiMaxConcurrent");
    AT3("cupiMaxConcurrent 6", "cupiMaxConcurrent");
    AT3("agentxRetries x", "agentxRetries");
    AT3("cupiNotifications maybe", "cupiNotifications");
    AT3("cupiHistorySize 10001", "cupiHistorySize");
    AT3("cupiHistorySize -1", "cupiHistorySize");
    AT3("cupiHistorySize many", "cupiHistorySize");
    AT3("cupiServer 1 other https://h2", "already defined");
    AT3("cupiServer 2 cuc-paris https://h2", "already used");
    AT3("cupiServer 2 lyon ftp://h2", "https://");
    AT3("cupiServer 2 lyon cuc2.example.com", "https://");
    AT3("cupiUser 1 \"unterminated", "unterminated");
    AT3("cupiUser 1 a b c d e f g h i", "too many");
    AT3("cupiCaFile 1 /nonexistent/ca.pem", "/nonexistent/ca.pem");
    AT3("cupiCaFile 1 relative/ca.pem", "absolute");
    AT3("cupiPasswordFile 1 relative.pw", "absolute");
    /* Files that are not regular are refused at once, named. */
    AT3("cupiCaFile 1 /dev/zero", "CA file /dev/zero: is a character device");
    AT3("cupiPasswordFile 1 /dev/zero", "password file /dev/zero: is a character device");
    AT3("cupiPasswordFile 1 /tmp", "is a directory");
    AT3("cupiStateFile /dev/zero", "cupiStateFile /dev/zero is a character device");
    AT3("cupiStateFile /tmp", "cupiStateFile /tmp is a directory");
#undef AT3
    /* An error on line 1 and one further down. */
    expect_error_at(fx, "bogus\n", 1, "not a directive");
    expect_error_at(fx, "bogus value\n", 1, "unknown directive \"bogus\"");
    expect_error_at(fx, "\n\n\n\n# c\ncupiPollInterval 5\ncupiTimeout 0\n", 7, "cupiTimeout");
    /* Across several files: the second file's own name and line. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    assert_int_equal(read_conf(fx, header, 0600), CUPI_OK);
    const char *second =
        write_file(fx, "second.conf", "# more\ncupiServer 1 again https://h\n", 0600);
    assert_int_equal(
        cupi_config_read(&fx->cfg, second, false, NULL, NULL, fx->err, sizeof fx->err),
        CUPI_E_CONFIG);
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%s:2: ", second);
    assert_true(strncmp(fx->err, prefix, strlen(prefix)) == 0);
    /* ... and the first definition is named. */
    snprintf(prefix, sizeof prefix, "%s:2", fx->path);
    assert_non_null(strstr(fx->err, prefix));
}

static void test_long_values(void **state)
{
    fixture *fx = *state;
    char text[6000];
    char name[70];
    memset(name, 'n', 65);
    name[65] = '\0';
    snprintf(text, sizeof text, "cupiServer 1 %s https://h\n", name);
    expect_error_at(fx, text, 1, "64");
    name[64] = '\0';
    snprintf(text, sizeof text, "cupiServer 1 %s https://h\n", name);
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    /* A line longer than the reader's buffer is an error, not two lines. */
    char longline[5000];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    snprintf(text, sizeof text, "# ok\ncupiStateFile %s\n", longline);
    expect_error_at(fx, text, 2, "longer");
}

static void test_quoting(void **state)
{
    fixture *fx = *state;
    char text[1024];
    snprintf(text, sizeof text,
             "%scupiUser 1 admin\ncupiPassword 1 \"pass with  spaces and # hash\"  # comment\n",
             header);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_string_equal(fx->cfg.servers[0].password, "pass with  spaces and # hash");
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text,
             "%scupiUser 1 admin\ncupiPassword 1 \"say \\\"hi\\\" \\\\o/\"\n", header);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_string_equal(fx->cfg.servers[0].password, "say \"hi\" \\o/");
    /* Unquoted: a '#' inside a token is part of it; an empty quoted token is
     * an empty value. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text, "%scupiUser 1 \"\"\ncupiPassword 1 pa#ss\n", header);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_string_equal(fx->cfg.servers[0].password, "pa#ss");
    assert_string_equal(fx->cfg.servers[0].user, "");
    /* A later cupiPassword replaces an earlier one. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPassword 1 first\ncupiPassword 1 second\n",
             header);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_string_equal(fx->cfg.servers[0].password, "second");
}

static void test_password_file(void **state)
{
    fixture *fx = *state;
    char text[1024];
    write_file(fx, "pw", SECRET "\n", 0600);
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPasswordFile 1 %s/pw\n", header, fx->dir);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_string_equal(fx->cfg.servers[0].password, SECRET);
    assert_int_equal(fx->warn.n, 0);
    /* No final newline, blanks kept, UTF-8. */
    static const struct {
        const char *content, *want;
    } cases[] = {{"no-newline", "no-newline"},
                 {" with blanks \n", " with blanks "},
                 {"caf\xc3\xa9\n", "caf\xc3\xa9"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cupi_config_free(&fx->cfg);
        cupi_config_init(&fx->cfg);
        write_file(fx, "pw", cases[i].content, 0600);
        assert_int_equal(read_and_finish(fx, text), CUPI_OK);
        assert_string_equal(fx->cfg.servers[0].password, cases[i].want);
    }
    /* Missing and empty password files are errors at their line. */
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPasswordFile 1 %s/nope\n", header,
             fx->dir);
    expect_error_at(fx, text, 4, "nope");
    write_file(fx, "empty", "", 0600);
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPasswordFile 1 %s/empty\n", header,
             fx->dir);
    expect_error_at(fx, text, 4, "empty");
    /* Nothing is cut away: a second line, a CR (DOS line ends too), a
     * control character, bytes that are not UTF-8 are refused, saying
     * which, never showing the password. */
    static const struct {
        const char *content, *what;
    } refused[] = {{SECRET "\nsecond line\n", "holds more than one line"},
                   {SECRET "\n\n", "holds more than one line"},
                   {SECRET "\r\n", "holds a carriage return (CR)"},
                   {SECRET "\rss\n", "holds a carriage return (CR)"},
                   {SECRET "\tss\n", "holds a control character"},
                   {SECRET "\xe9ss\n", "holds invalid UTF-8"},
                   {"\n", "is empty"}};
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPasswordFile 1 %s/pw\n", header, fx->dir);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        write_file(fx, "pw", refused[i].content, 0600);
        expect_error_at(fx, text, 4, refused[i].what); /* SECRET not in it */
    }
}

static void write_bytes(fixture *fx, const char *name, const char *data, size_t len)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", fx->dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(p, 0600), 0);
}

/* A value is taken whole or refused, never cut short: a NUL byte would end
 * every C string taken from its line, and a password file's line longer
 * than the reader's buffer would lose its tail. */
static void test_nul_and_cut_values(void **state)
{
    fixture *fx = *state;
    /* NUL inside a cupiPassword line, last line without newline: before, the
     * password became "abc" and the file was accepted. */
    static const char conf[] =
        "cupiServer 1 a https://h\ncupiUser 1 u\ncupiPassword 1 abc\0def";
    write_bytes(fx, "agent.conf", conf, sizeof conf - 1);
    assert_int_equal(cupi_config_read(&fx->cfg, fx->path, false, collect, &fx->warn, fx->err,
                                      sizeof fx->err),
                     CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, ":3: "));
    assert_non_null(strstr(fx->err, "NUL"));
    assert_null(strstr(fx->err, "abc"));
    /* ... and in a line that has a newline: before, "line longer than". */
    static const char conf2[] = "cupiServer 1 a https://h\0x\ncupiUser 1 u\n";
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    write_bytes(fx, "agent.conf", conf2, sizeof conf2 - 1);
    assert_int_equal(cupi_config_read(&fx->cfg, fx->path, false, collect, &fx->warn, fx->err,
                                      sizeof fx->err),
                     CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, ":1: NUL"));

    char text[1024];
    snprintf(text, sizeof text, "%scupiUser 1 a\ncupiPasswordFile 1 %s/pw\n", header, fx->dir);
    /* A password file with a NUL in its first line. */
    static const char pw_nul[] = SECRET "\0tail\n";
    write_bytes(fx, "pw", pw_nul, sizeof pw_nul - 1);
    expect_error_at(fx, text, 4, "NUL");
    /* A first line longer than 1023 bytes: before, silently cut to 1023. */
    char long_pw[1100];
    memset(long_pw, 'p', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\n';
    write_bytes(fx, "pw", long_pw, sizeof long_pw);
    expect_error_at(fx, text, 4, "longer than 1023");
    /* Exactly 1023 bytes is taken whole. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    write_bytes(fx, "pw", long_pw + (sizeof long_pw - 1024), 1024);
    assert_int_equal(read_and_finish(fx, text), CUPI_OK);
    assert_int_equal(strlen(fx->cfg.servers[0].password), 1023);
    /* One more byte, without a newline: too long as well. */
    write_bytes(fx, "pw", long_pw, 1024);
    expect_error_at(fx, text, 4, "longer than 1023");
}

static void test_finish_checks(void **state)
{
    fixture *fx = *state;
    /* http:// needs cupiInsecure. */
    assert_int_equal(read_conf(fx,
                               "cupiServer 1 a http://h:8080\ncupiUser 1 u\n"
                               "cupiPassword 1 p\n",
                               0600),
                     CUPI_OK);
    assert_int_equal(cupi_config_finish(&fx->cfg, fx->err, sizeof fx->err), CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, "cupiInsecure"));
    char origin[200];
    snprintf(origin, sizeof origin, "%s:1", fx->path);
    assert_non_null(strstr(fx->err, origin));
    /* ... and is accepted with it, whatever the order of the lines. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    assert_int_equal(read_and_finish(fx, "cupiInsecure 1\ncupiServer 1 a HTTP://h:8080\n"
                                         "cupiUser 1 u\ncupiPassword 1 p\n"),
                     CUPI_OK);
    assert_true(fx->cfg.servers[0].insecure);
    /* A per-server directive for an INDEX that has no cupiServer. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    char text[512];
    snprintf(text, sizeof text, "%scupiUser 1 u\ncupiPassword 1 p\ncupiUser 7 u\n", header);
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    assert_int_equal(cupi_config_finish(&fx->cfg, fx->err, sizeof fx->err), CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, "7"));
    assert_non_null(strstr(fx->err, "cupiServer"));
    /* Missing user, missing password. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text, "%scupiPassword 1 p\n", header);
    assert_int_equal(read_and_finish(fx, text), CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, "cupiUser"));
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text, "%scupiUser 1 u\n", header);
    assert_int_equal(read_and_finish(fx, text), CUPI_E_CONFIG);
    assert_non_null(strstr(fx->err, "cupiPassword"));
}

static void test_warnings(void **state)
{
    fixture *fx = *state;
    char text[1024];
    snprintf(text, sizeof text, "%scupiUser 1 u\ncupiPassword 1 %s\n", header, SECRET);
    /* 0600: no warning. */
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    assert_int_equal(fx->warn.n, 0);
    /* 0640: readable by group. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    assert_int_equal(read_conf(fx, text, 0640), CUPI_OK);
    assert_int_equal(fx->warn.n, 1);
    assert_true(warned(&fx->warn, "readable by group or others"));
    assert_true(warned(&fx->warn, fx->path));
    /* 0604: readable by others. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    fx->warn.n = 0;
    assert_int_equal(read_conf(fx, text, 0604), CUPI_OK);
    assert_int_equal(fx->warn.n, 1);
    /* A 0644 file without cupiPassword is not warned about. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    fx->warn.n = 0;
    write_file(fx, "pw", SECRET "\n", 0600);
    snprintf(text, sizeof text, "%scupiUser 1 u\ncupiPasswordFile 1 %s/pw\n", header, fx->dir);
    assert_int_equal(read_conf(fx, text, 0644), CUPI_OK);
    assert_int_equal(fx->warn.n, 0);
    /* ... but a group-readable password file is. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    write_file(fx, "pw", SECRET "\n", 0640);
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    assert_int_equal(fx->warn.n, 1);
    assert_true(warned(&fx->warn, "password file"));
    assert_true(warned(&fx->warn, ":4:")); /* names the cupiPasswordFile line */
    /* cupiInsecure is warned about, naming the server. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    fx->warn.n = 0;
    snprintf(text, sizeof text, "%scupiInsecure 1\n", header);
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    assert_int_equal(fx->warn.n, 1);
    assert_true(warned(&fx->warn, "cupiInsecure"));
    assert_true(warned(&fx->warn, "server 1"));
    /* A NULL callback is allowed. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    write_file(fx, "agent.conf", text, 0644);
    assert_int_equal(
        cupi_config_read(&fx->cfg, fx->path, false, NULL, NULL, fx->err, sizeof fx->err),
        CUPI_OK);
}

/* Whatever goes wrong, the password never shows up in a message. */
static void test_password_never_in_messages(void **state)
{
    fixture *fx = *state;
    static const char *const lines[] = {
        "cupiPassword 1 " SECRET " extra",
        "cupiPassword " SECRET,
        "cupiPassword " SECRET " 1", /* arguments swapped */
        "cupiPassword 0 " SECRET,
        "cupiPassword 1 \"" SECRET,
        "cupiPassword 1 " SECRET " a b c d e f g",
        "cupiPasword 1 " SECRET,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%scupiUser 1 u\n%s\n", header, lines[i]);
        cupi_config_free(&fx->cfg);
        cupi_config_init(&fx->cfg);
        fx->warn.n = 0;
        cupi_status st = read_conf(fx, text, 0644);
        assert_int_equal(st, CUPI_E_CONFIG);
        if (strstr(fx->err, SECRET))
            fail_msg("line \"%s\": error leaks the password: %s", lines[i], fx->err);
        assert_non_null(strstr(fx->err, ":4:"));
        for (int w = 0; w < fx->warn.n && w < 16; w++)
            assert_null(strstr(fx->warn.msg[w], SECRET));
    }
    /* Successful reads with every warning at once. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    fx->warn.n = 0;
    write_file(fx, "pw", SECRET "\n", 0644);
    char text[512];
    snprintf(
        text, sizeof text,
        "cupiServer 1 a http://h\ncupiUser 1 u\ncupiPassword 1 " SECRET "\n"
        "cupiInsecure 1\ncupiServer 2 b https://h\ncupiUser 2 u\ncupiPasswordFile 2 %s/pw\n",
        fx->dir);
    assert_int_equal(read_conf(fx, text, 0666), CUPI_OK);
    assert_int_equal(fx->warn.n, 3);
    for (int w = 0; w < fx->warn.n; w++)
        assert_null(strstr(fx->warn.msg[w], SECRET));
    assert_int_equal(cupi_config_finish(&fx->cfg, fx->err, sizeof fx->err), CUPI_OK);
    /* A finish error on a server with a password. */
    cupi_config_free(&fx->cfg);
    cupi_config_init(&fx->cfg);
    snprintf(text, sizeof text,
             "cupiServer 1 a http://h\ncupiUser 1 u\ncupiPassword 1 " SECRET "\n");
    assert_int_equal(read_conf(fx, text, 0600), CUPI_OK);
    assert_int_equal(cupi_config_finish(&fx->cfg, fx->err, sizeof fx->err), CUPI_E_CONFIG);
    assert_null(strstr(fx->err, SECRET));
}

/* A line that cannot be a directive (no blank, or a first word with
 * anything but letters) is never shown, nor is any value: a configuration
 * that is a symbolic link to another file, or a password pasted on a line of
 * its own, stays out of logs. An unknown word is shown cut short. */
static void test_lines_never_echoed(void **state)
{
    fixture *fx = *state;
    static const char *const lines[] = {
        "root:*:20228:0:99999:7:::",
        SECRET,
        "\"" SECRET " with blanks\"",
        SECRET " trailing words",
        "S3cr3t " SECRET,
        "cupiPollInterval " SECRET,
        "cupiFormat 1 " SECRET,
        "cupiNotifications " SECRET,
        "cupiUser " SECRET " admin",
        "cupiServer 2 lyon " SECRET,
        "cupiServer 2 cuc-paris https://" SECRET,
        "cupiServer 2 " SECRET SECRET SECRET SECRET SECRET " https://h",
        "cupiCaFile 1 " SECRET,
        "cupiPasswordFile 1 " SECRET,
        "cupiServer 1 " SECRET,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s\n", header, lines[i]);
        expect_error_at(fx, text, 3, NULL); /* fails if SECRET is in it */
        assert_null(strstr(fx->err, "S3cr3t"));
        assert_null(strstr(fx->err, "root"));
    }
    char text[512];
    snprintf(text, sizeof text, "%sroot:*:20228:0:99999:7:::\n", header);
    expect_error_at(fx, text, 3, "not a directive (the line is not shown)");
    /* A word of letters with arguments: shown, at most 32 characters. */
    snprintf(text, sizeof text, "%scupiPolInterval 60\n", header);
    expect_error_at(fx, text, 3, "unknown directive \"cupiPolInterval\"");
    snprintf(text, sizeof text, "%s%s 60\n", header, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL");
    expect_error_at(fx, text, 3, "unknown directive \"abcdefghijklmnopqrstuvwxyzABCDEF...\"");
    assert_null(strstr(fx->err, "GHI"));
}

static void test_find_server(void **state)
{
    fixture *fx = *state;
    assert_int_equal(read_and_finish(fx, "cupiServer 12 paris https://a\ncupiUser 12 u\n"
                                         "cupiPassword 12 p\n"
                                         "cupiServer 3 lyon https://b\ncupiUser 3 u\n"
                                         "cupiPassword 3 p\n"),
                     CUPI_OK);
    const cupi_config *c = &fx->cfg;
    assert_int_equal(c->servers[0].index, 3);
    assert_int_equal(c->servers[1].index, 12);
    const cupi_server_config *s = cupi_config_find_server(c, "12");
    assert_non_null(s);
    assert_string_equal(s->name, "paris");
    s = cupi_config_find_server(c, "lyon");
    assert_non_null(s);
    assert_int_equal(s->index, 3);
    assert_ptr_equal(cupi_config_find_server(c, "3"), s);
    assert_null(cupi_config_find_server(c, "4"));
    assert_null(cupi_config_find_server(c, "0"));
    assert_null(cupi_config_find_server(c, "marseille"));
    assert_null(cupi_config_find_server(c, ""));
    assert_null(cupi_config_find_server(c, "Paris")); /* names are exact */
    /* After free, nothing is left and defaults are back. */
    cupi_config_free(&fx->cfg);
    assert_int_equal(fx->cfg.n_servers, 0);
    assert_null(fx->cfg.servers);
    assert_null(cupi_config_find_server(&fx->cfg, "12"));
    assert_int_equal(fx->cfg.poll_interval_s, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_directives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_with_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_and_cut_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_never_in_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_never_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
