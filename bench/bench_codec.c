/* bench_codec.c - codec throughput for scripts/bench.sh (not a test).
 *
 *   bench_codec DATA_DIR [--seconds S] [--iterations N] [--case NAME] [--op decode|encode]
 *
 * For each seed body in DATA_DIR (seed_server.xml, seed_server.json,
 * seed_client.xml, seed_client.json), decodes it with cupi_decode() and
 * encodes the snapshot back with cupi_encode(), in a loop, and prints one
 * JSON object per case and operation on stdout:
 *
 *   {"case":"server.xml","op":"decode","bytes":N,"iterations":N,"seconds":S,"per_sec":R}
 *
 * --seconds S (default 0.5): each measurement runs for about S seconds.
 * --iterations N: run exactly N iterations instead (for instruction counts
 * under valgrind --tool=callgrind; then "seconds" is meaningless).
 * --case / --op: only that case (e.g. server.xml) / that operation.
 * Exit 0 when every decode and encode succeeded, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cupi/cupi.h>

typedef struct bench_case {
    const char *name; /* "server.xml" */
    const char *file; /* "seed_server.xml" */
    cupi_resource resource;
    cupi_format format;
} bench_case;

static const bench_case CASES[] = {
    {"server.xml", "seed_server.xml", CUPI_RES_SERVER, CUPI_FORMAT_XML},
    {"server.json", "seed_server.json", CUPI_RES_SERVER, CUPI_FORMAT_JSON},
    {"client.xml", "seed_client.xml", CUPI_RES_CLIENT, CUPI_FORMAT_XML},
    {"client.json", "seed_client.json", CUPI_RES_CLIENT, CUPI_FORMAT_JSON},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *load(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *buf = malloc(CUPI_MAX_BODY + 1);
    size_t n = buf ? fread(buf, 1, CUPI_MAX_BODY, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        fprintf(stderr, "%s: empty or unreadable\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int one_decode(const bench_case *c, const char *body, size_t len, cupi_snapshot *out)
{
    char err[256];
    cupi_status st = cupi_decode(c->resource, c->format, body, len, out, err, sizeof err);
    if (st != CUPI_OK) {
        fprintf(stderr, "%s: decode failed: %s\n", c->name, err);
        return -1;
    }
    return 0;
}

static int one_encode(const bench_case *c, const cupi_snapshot *s)
{
    char *out = NULL;
    size_t len = 0;
    if (cupi_encode(s, c->format, &out, &len) != CUPI_OK || !out || len == 0) {
        fprintf(stderr, "%s: encode failed\n", c->name);
        free(out);
        return -1;
    }
    free(out);
    return 0;
}

/* Runs op until `seconds` have passed (checking the clock every 64
 * iterations) or exactly `iterations` times. Returns -1 on a failure. */
static int run(const bench_case *c, int encode, const char *body, size_t len, double seconds,
               long iterations)
{
    cupi_snapshot snap;
    if (one_decode(c, body, len, &snap) != 0)
        return -1;
    long n = 0;
    double t0 = now(), t1 = t0;
    for (;;) {
        if (iterations > 0 && n >= iterations)
            break;
        if (iterations <= 0 && (n & 63) == 0) {
            t1 = now();
            if (t1 - t0 >= seconds)
                break;
        }
        cupi_snapshot tmp;
        if ((encode ? one_encode(c, &snap) : one_decode(c, body, len, &tmp)) != 0)
            return -1;
        n++;
    }
    t1 = now();
    double dt = t1 - t0;
    printf("{\"case\":\"%s\",\"op\":\"%s\",\"bytes\":%zu,\"iterations\":%ld,\"seconds\":%.6f,"
           "\"per_sec\":%.1f}\n",
           c->name, encode ? "encode" : "decode", len, n, dt, dt > 0 ? (double)n / dt : 0.0);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_codec DATA_DIR [--seconds S] [--iterations N] [--case NAME] "
               "[--op decode|encode]\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *dir = argv[1];
    double seconds = 0.5;
    long iterations = 0;
    const char *only_case = NULL, *only_op = NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--iterations") == 0)
            iterations = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--case") == 0)
            only_case = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--op") == 0)
            only_op = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 60)
        seconds = 0.5;

    int rc = 0, ran = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const bench_case *c = &CASES[i];
        if (only_case && strcmp(only_case, c->name) != 0)
            continue;
        size_t len = 0;
        char *body = load(dir, c->file, &len);
        if (!body) {
            rc = 1;
            continue;
        }
        for (int encode = 0; encode <= 1; encode++) {
            if (only_op && strcmp(only_op, encode ? "encode" : "decode") != 0)
                continue;
            if (run(c, encode, body, len, seconds, iterations) != 0)
                rc = 1;
            ran++;
        }
        free(body);
    }
    if (ran == 0) {
        fprintf(stderr, "bench_codec: nothing matched\n");
        return 2;
    }
    return rc;
}
