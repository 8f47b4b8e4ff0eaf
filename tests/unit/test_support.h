/* test_support.h - small helpers the cmocka unit tests share. Include after
 * <cmocka.h> and <cupi/cupi.h>. */
#ifndef CUPI_TEST_SUPPORT_H
#define CUPI_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#define BIT(col) CUPI_COLUMN_BIT(col)

/* A fresh directory /tmp/cupi-test-NAME-XXXXXX in dir (size bytes). 0, or -1. */
static inline int temp_dir_make(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/cupi-test-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes it and all it holds. 0, or -1. */
static inline int temp_dir_remove(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A file of tests/data, NUL-terminated; the caller frees it. */
static inline char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CUPI_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline void set_int(cupi_snapshot *s, unsigned col, int64_t i)
{
    cupi_value v = {0};
    v.i = i;
    cupi_snapshot_set(s, col, &v);
}

static inline void set_str(cupi_snapshot *s, unsigned col, const char *text)
{
    cupi_value v = {0};
    snprintf(v.s, sizeof v.s, "%s", text);
    cupi_snapshot_set(s, col, &v);
}

/* The CUPI reference's example values of a resource (tests/data/seed_*.xml), every
 * field present. */
static inline cupi_snapshot seed_snapshot(cupi_resource r)
{
    size_t len;
    char *body = load(r == CUPI_RES_SERVER ? "seed_server.xml" : "seed_client.xml", &len);
    cupi_snapshot s;
    char err[256];
    assert_int_equal(cupi_decode(r, CUPI_FORMAT_XML, body, len, &s, err, sizeof err), CUPI_OK);
    free(body);
    return s;
}

#endif
