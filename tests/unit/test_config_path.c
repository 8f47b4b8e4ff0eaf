/* test_config_path.c - the default configuration search shared by the agent
 * and cupictl: $SNMPCONFPATH or the built-in directories plus ~/.snmp, and in
 * each directory cupi-snmp-agent.conf then cupi-snmp-agent.local.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cupi/cupi.h>

#include "agent_config.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static int make_dirs(void **state)
{
    (void)state;
    return temp_dir_make(base, sizeof base, "confpath");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdir(dir, 0700);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

static int remove_dirs(void **state)
{
    (void)state;
    return temp_dir_remove(base);
}

static void environment_path_wins(void **state)
{
    (void)state;
    char buf[256];
    setenv("SNMPCONFPATH", "/a:/b", 1);
    assert_string_equal(cupi_config_search_path(buf, sizeof buf), "/a:/b");
    unsetenv("SNMPCONFPATH");
    setenv("HOME", "/home/op", 1);
    const char *p = cupi_config_search_path(buf, sizeof buf);
    /* net-snmp's order: /etc/snmp first, the user's ~/.snmp last. */
    assert_true(strncmp(p, "/etc/snmp:", 10) == 0);
    size_t n = strlen(p);
    assert_true(n > 15 && strcmp(p + n - 15, ":/home/op/.snmp") == 0);
}

static void local_file_follows_main_file_in_each_directory(void **state)
{
    (void)state;
    char d1[128], d2[128], d3[128], path[512];
    snprintf(d1, sizeof d1, "%s/one", base);
    snprintf(d2, sizeof d2, "%s/missing", base);
    snprintf(d3, sizeof d3, "%s/three", base);
    /* The local file overrides the password of the main file of its own
     * directory; a later directory adds a server and the last word on the
     * poll interval. */
    write_file(d1, CUPI_CONFIG_NAME,
               "cupiServer 1 one https://one.example\ncupiUser 1 u\ncupiPassword 1 old\n"
               "cupiPollInterval 7\n");
    write_file(d1, CUPI_CONFIG_LOCAL_NAME, "cupiPassword 1 from-local\n");
    write_file(d3, CUPI_CONFIG_NAME,
               "cupiServer 2 two https://two.example\ncupiUser 2 u\ncupiPassword 2 p2\n");
    write_file(d3, CUPI_CONFIG_LOCAL_NAME, "cupiPollInterval 9\n");
    snprintf(path, sizeof path, "%s:%s:%s", d1, d2, d3);
    setenv("SNMPCONFPATH", path, 1);

    cupi_config cfg;
    cupi_config_init(&cfg);
    char err[512] = "";
    unsigned n = 0;
    assert_int_equal(cupi_config_read_default(&cfg, NULL, NULL, &n, err, sizeof err), CUPI_OK);
    assert_int_equal(cupi_config_finish(&cfg, err, sizeof err), CUPI_OK);
    assert_int_equal(n, 4);
    assert_int_equal(cfg.n_servers, 2);
    assert_string_equal(cfg.servers[0].password, "from-local");
    assert_string_equal(cfg.servers[1].name, "two");
    assert_int_equal(cfg.poll_interval_s, 9);
    cupi_config_free(&cfg);

    /* An error names the file it is in. */
    write_file(d3, CUPI_CONFIG_LOCAL_NAME, "cupiPollInterval 0\n");
    cupi_config_init(&cfg);
    assert_int_equal(cupi_config_read_default(&cfg, NULL, NULL, &n, err, sizeof err),
                     CUPI_E_CONFIG);
    assert_non_null(strstr(err, "three/" CUPI_CONFIG_LOCAL_NAME ":1:"));
    cupi_config_free(&cfg);
    unsetenv("SNMPCONFPATH");
}

static void every_directive_is_documented(void **state)
{
    (void)state;
    size_t n = 0;
    for (const cupi_directive_doc *d; (d = cupi_config_directive(n)); n++) {
        assert_non_null(d->name);
        assert_non_null(d->args);
        assert_true(d->meaning && strlen(d->meaning) > 10);
    }
    assert_true(n >= 17);
    assert_null(cupi_config_directive(n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_path_wins),
        cmocka_unit_test(local_file_follows_main_file_in_each_directory),
        cmocka_unit_test(every_directive_is_documented),
    };
    return cmocka_run_group_tests(tests, make_dirs, remove_dirs);
}
