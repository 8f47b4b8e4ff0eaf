/* bench_conn.c - heap and connections of a fleet of CUPI clients (not a test:
 * it prints numbers, nothing passes or fails on them).
 *
 *   bench_conn CUPI_SIM [--servers N] [--idle-ms MS] [--rounds R] [--in-flight K]
 *              [--ca-bundle FILE]
 *
 * Starts CUPI_SIM (the cupi-sim binary) with N virtual HTTPS servers on
 * 127.0.0.1 (default 1000), makes one client per server in one engine
 * (expected_idle_ms MS, default 30000: close after use; 0: keep), then runs R
 * rounds (default 2) of one GET per client, at most K (default 64) in flight
 * as the agent's refresh cap allows. Prints one JSON object per stage with
 * the heap in use (mallinfo2: malloc'ed bytes, mmapped blocks included), per
 * client above the empty engine, the process's RSS, and the connections
 * opened, and the CPU time used. --ca-bundle FILE (e.g. the system's bundle)
 * is trusted along with the simulator's CA, to see what loading a large CA
 * file costs per connection. The simulator is stopped by its process id.
 */
#define _GNU_SOURCE /* mallinfo2 */
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include <cupi/cupi.h>

extern char **environ;

typedef struct sim {
    pid_t pid;
    FILE *out;
    char ca_path[64];
    char **urls;
    size_t n;
} sim;

static size_t heap_bytes(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Appends FILE to the CA file the simulator wrote. */
static int add_bundle(const char *ca_path, const char *bundle)
{
    FILE *in = fopen(bundle, "r"), *out = fopen(ca_path, "a");
    char buf[8192];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    int rc = in && out ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static int sim_start(sim *s, const char *exe, size_t n)
{
    snprintf(s->ca_path, sizeof s->ca_path, "/tmp/bench-conn-ca-XXXXXX");
    int fd = mkstemp(s->ca_path);
    if (fd < 0)
        return -1;
    close(fd);
    size_t argc = 0;
    char **argv = calloc(2 * n + 4, sizeof *argv);
    s->urls = calloc(n, sizeof *s->urls);
    if (!argv || !s->urls)
        return -1;
    argv[argc++] = (char *)exe;
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = "--server";
        argv[argc++] = "0";
    }
    argv[argc++] = "--write-ca";
    argv[argc++] = s->ca_path;
    int out[2];
    if (pipe(out) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    /* The simulator's password comes from its environment, never argv. */
    setenv("CUPI_SIM_PASSWORD", "bench-password", 1);
    int rc = posix_spawn(&s->pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    close(out[1]);
    if (rc != 0)
        return -1;
    s->out = fdopen(out[0], "r");
    char line[256];
    while (s->out && fgets(line, sizeof line, s->out)) {
        const char *u = strstr(line, "https://");
        if (u && s->n < n) {
            s->urls[s->n] = strndup(u, strcspn(u, "\r\n"));
            s->n++;
        }
        if (strncmp(line, "cupi-sim: ready", 15) == 0)
            return s->n == n ? 0 : -1;
    }
    return -1;
}

static void sim_stop(sim *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    if (s->out)
        fclose(s->out);
    for (size_t i = 0; i < s->n; i++)
        free(s->urls[i]);
    free(s->urls);
    unlink(s->ca_path);
}

typedef struct run {
    cupi_engine *engine;
    cupi_client **clients;
    size_t n, next, in_flight, done, failed;
    size_t max_in_flight;
} run;

static void start_some(run *r);

static void on_done(const cupi_result *res, void *arg)
{
    run *r = arg;
    r->in_flight--;
    r->done++;
    if (res->status != CUPI_OK && r->failed++ == 0)
        fprintf(stderr, "bench_conn: %s: %s\n", cupi_status_text(res->status), res->message);
    start_some(r);
}

static void start_some(run *r)
{
    while (r->next < r->n && r->in_flight < r->max_in_flight) {
        if (cupi_client_get(r->clients[r->next++], CUPI_RES_SERVER, on_done, r) == CUPI_OK)
            r->in_flight++;
        else
            r->done++, r->failed++;
    }
}

static void one_round(run *r)
{
    r->next = r->done = 0;
    start_some(r);
    while (r->done < r->n)
        cupi_engine_wait(r->engine, 100);
}

static unsigned long connections(const run *r)
{
    unsigned long total = 0;
    for (size_t i = 0; i < r->n; i++) {
        cupi_client_stats st;
        cupi_client_stats_get(r->clients[i], &st);
        total += st.connections;
    }
    return total;
}

static void report(const char *stage, size_t base, size_t n, unsigned long conns,
                   unsigned long requests)
{
    size_t heap = heap_bytes();
    printf("{\"stage\":\"%s\",\"heap_bytes\":%zu,\"per_client_bytes\":%.0f,"
           "\"rss_kib\":%ld,\"connections\":%lu,\"requests\":%lu,\"cpu_s\":%.2f}\n",
           stage, heap, ((double)heap - (double)base) / (double)n, rss_kib(), conns, requests,
           cpu_seconds());
}

/* What one curl share handle (TLS sessions and host names) costs alone:
 * the price of a per-client share over one per engine. */
static void share_cost(size_t n)
{
    CURLSH **sh = calloc(n, sizeof *sh);
    size_t before = heap_bytes();
    for (size_t i = 0; sh && i < n; i++) {
        sh[i] = curl_share_init();
        curl_share_setopt(sh[i], CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        curl_share_setopt(sh[i], CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
    printf("{\"stage\":\"empty share handle\",\"per_client_bytes\":%.0f}\n",
           ((double)heap_bytes() - (double)before) / (double)n);
    for (size_t i = 0; sh && i < n; i++)
        curl_share_cleanup(sh[i]);
    free(sh);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_conn CUPI_SIM [--servers N] [--idle-ms MS] [--rounds R] "
                        "[--in-flight K]\n");
        return 2;
    }
    size_t n = 1000, rounds = 2, in_flight = 64;
    long idle_ms = 30000;
    const char *bundle = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--servers") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--idle-ms") == 0)
            idle_ms = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--in-flight") == 0)
            in_flight = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--ca-bundle") == 0)
            bundle = argv[i + 1];
    }
    if (n == 0 || in_flight == 0 || cupi_global_init() != CUPI_OK)
        return 2;
    sim s = {0};
    if (sim_start(&s, argv[1], n) != 0) {
        fprintf(stderr, "bench_conn: cupi-sim did not start\n");
        sim_stop(&s);
        return 1;
    }
    if (bundle && add_bundle(s.ca_path, bundle) != 0) {
        fprintf(stderr, "bench_conn: cannot add %s to the CA file\n", bundle);
        sim_stop(&s);
        return 1;
    }
    share_cost(n);
    run r = {.n = n, .max_in_flight = in_flight};
    r.engine = cupi_engine_new();
    r.clients = calloc(n, sizeof *r.clients);
    size_t base = heap_bytes();
    printf("{\"stage\":\"empty engine\",\"servers\":%zu,\"expected_idle_ms\":%ld,"
           "\"heap_bytes\":%zu,\"rss_kib\":%ld}\n",
           n, idle_ms, base, rss_kib());
    for (size_t i = 0; i < n; i++) {
        cupi_client_options o = {
            .url = s.urls[i],
            .user = "admin",
            .password = "bench-password",
            .ca_file = s.ca_path,
            .format = CUPI_FORMAT_XML,
            .expected_idle_ms = idle_ms,
        };
        char err[256];
        r.clients[i] = cupi_client_new(r.engine, &o, err, sizeof err);
        if (!r.clients[i]) {
            fprintf(stderr, "bench_conn: %s\n", err);
            return 1;
        }
    }
    report("clients made", base, n, 0, 0);
    for (size_t k = 1; k <= rounds; k++) {
        one_round(&r);
        char stage[64];
        snprintf(stage, sizeof stage, "idle after round %zu", k);
        report(stage, base, n, connections(&r), (unsigned long)(k * n));
    }
    if (r.failed)
        fprintf(stderr, "bench_conn: %zu requests failed\n", r.failed);
    for (size_t i = 0; i < n; i++)
        cupi_client_free(r.clients[i]);
    free(r.clients);
    cupi_engine_free(r.engine);
    sim_stop(&s);
    cupi_global_cleanup();
    return r.failed ? 1 : 0;
}
