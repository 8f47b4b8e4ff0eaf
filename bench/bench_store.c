/* bench_store.c - the state store alone, as the agent's SNMP thread uses
 * it: a store of N servers x H history rows (long values), the checkpoint
 * thread running, then C changes written one transaction each the way
 * model/state.c writes a change (the resource's values, one history row,
 * the trim to H rows), and read-time batches of every resource. Prints the
 * wall time of each kind (median, p99, max) and the reader's time to load
 * the whole store. Not a test.
 *
 *   bench_store [DIR] [N] [H] [C] [nockpt] */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* This thread's CPU time and time spent waiting for a CPU, in ms
 * (/proc/thread-self/schedstat): wall time minus both is time blocked. */
static void sched_ms(double *cpu, double *waiting)
{
    /* Its first field, the CPU time, is updated at scheduler events only:
     * the clock below is exact. */
    unsigned long long wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f) {
        if (fscanf(f, "%*u %llu", &wait) != 1)
            wait = 0;
        fclose(f);
    }
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    *cpu = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
    *waiting = (double)wait / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *ms, size_t n)
{
    qsort(ms, n, sizeof *ms, by_value);
    printf("%-44s n=%-5zu median %.3f ms  p99 %.3f ms  max %.3f ms\n", what, n, ms[n / 2],
           ms[n * 99 / 100], ms[n - 1]);
}

static void host(char *buf, size_t size, unsigned k)
{
    snprintf(
        buf, size,
        "relay-%u.l0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.l1xxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.l2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxx.example",
        k);
}

static cupi_snapshot values(cupi_resource r, unsigned k)
{
    cupi_snapshot snap;
    cupi_snapshot_init(&snap, r);
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only)
            continue;
        cupi_value v;
        memset(&v, 0, sizeof v);
        if (f[i].type == CUPI_TYPE_STRING)
            host(v.s, sizeof v.s, k);
        else if (f[i].type == CUPI_TYPE_BOOL)
            v.i = k % 2;
        else
            v.i = f[i].enums ? f[i].enums[0] : f[i].min + (int64_t)(k % 10);
        cupi_snapshot_set(&snap, f[i].column, &v);
    }
    return snap;
}

static void fail(store *st)
{
    fprintf(stderr, "bench_store: %s\n", store_error(st));
    exit(1);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
    unsigned rows = argc > 3 ? (unsigned)atoi(argv[3]) : 100;
    unsigned changes = argc > 4 ? (unsigned)atoi(argv[4]) : 2000;
    char path[512];
    snprintf(path, sizeof path, "%s/bench-store-%ld.db", dir, (long)getpid());
    store *st;
    char err[320];
    /* A fifth argument "nockpt": no checkpointer (to see what it costs). */
    store_open_opts o = {.checkpoint_thread = !(argc > 5 && strcmp(argv[5], "nockpt") == 0)};
    if (store_open(path, &o, &st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "maxNumberConnections");
    const cupi_field *smart = cupi_field_find(CUPI_RES_CLIENT, "smtpSmartHost");
    history_ring *h = calloc(n + 1, sizeof *h);
    double t0 = now_ms();
    for (unsigned s = 1; s <= n; s++) {
        history_ring_init(&h[s]);
        history_ring_resize(&h[s], rows);
        if (store_begin(st) != 0)
            fail(st);
        cupi_snapshot sv = values(CUPI_RES_SERVER, s), cv = values(CUPI_RES_CLIENT, s);
        if (store_put_server(st, s, "https://cuc.example.com:8443", rows) != 0 ||
            store_put_values(st, s, &sv, time(NULL)) != 0 ||
            store_put_values(st, s, &cv, time(NULL)) != 0)
            fail(st);
        for (unsigned k = 1; k <= rows; k++) {
            char a[256], b[256];
            host(a, sizeof a, k);
            host(b, sizeof b, k + 1);
            history_ring_add(&h[s], time(NULL), k % 2 ? CUPI_RES_CLIENT : CUPI_RES_SERVER,
                             k % 2 ? smart->column : port->column, HISTORY_SOURCE_EXTERNAL,
                             k % 2 ? a : "10", k % 2 ? b : "11");
            if (store_put_change(st, s, history_ring_at(&h[s], h[s].count - 1)) != 0)
                fail(st);
        }
        if (store_commit(st) != 0)
            fail(st);
    }
    printf("store of %u servers x %u rows written in %.0f ms\n", n, rows, now_ms() - t0);
    sleep(3); /* the checkpointer catches up */

    double *ms = calloc(changes, sizeof *ms);
    double *blocked = calloc(changes, sizeof *blocked);
    srand(7);
    for (unsigned c = 0; c < changes; c++) {
        unsigned s = 1 + (unsigned)rand() % n;
        cupi_snapshot sv = values(CUPI_RES_SERVER, c);
        history_ring_add(&h[s], time(NULL), CUPI_RES_SERVER, port->column, HISTORY_SOURCE_SNMP,
                         "10", "11");
        double cpu0, wait0, cpu1, wait1;
        sched_ms(&cpu0, &wait0);
        double t = now_ms();
        if (store_begin(st) != 0 ||
            store_put_server(st, s, "https://cuc.example.com:8443", h[s].last_index) != 0 ||
            store_put_values(st, s, &sv, time(NULL)) != 0 ||
            store_put_change(st, s, history_ring_at(&h[s], h[s].count - 1)) != 0 ||
            store_trim_changes(st, s, history_ring_at(&h[s], 0)->index) != 0 ||
            store_commit(st) != 0)
            fail(st);
        ms[c] = now_ms() - t;
        sched_ms(&cpu1, &wait1);
        blocked[c] = ms[c] - (cpu1 - cpu0) - (wait1 - wait0);
        if (blocked[c] < 0)
            blocked[c] = 0;
        if (c % 4 == 0)
            usleep(2000); /* changes come spread out; the checkpointer runs meanwhile */
    }
    report("one change (values + 1 row + trim), wall", ms, changes);
    size_t over = 0;
    for (unsigned c = 0; c < changes; c++)
        over += blocked[c] > 1.0;
    report("  of which blocked (not on a CPU, not waiting for one)", blocked, changes);
    printf("  changes blocked more than 1 ms: %zu of %u\n", over, changes);

    double batch[10];
    for (unsigned b = 0; b < 10; b++) {
        double t = now_ms();
        if (store_begin(st) != 0)
            fail(st);
        for (unsigned s = 1; s <= n; s++)
            for (int r = 0; r < CUPI_RES_COUNT; r++)
                if (store_put_read_at(st, s, (cupi_resource)r, time(NULL) + b) != 0)
                    fail(st);
        if (store_commit(st) != 0)
            fail(st);
        batch[b] = now_ms() - t;
        usleep(200000);
    }
    char what[64];
    snprintf(what, sizeof what, "read times of %u resources, one batch", n * 2);
    report(what, batch, 10);

    double load[5];
    for (int i = 0; i < 5; i++) {
        store_read_opts ro = {.now = time(NULL), .history_rows = rows};
        store_doc doc;
        double t = now_ms();
        if (store_load(path, &ro, &doc, err, sizeof err) != 0) {
            fprintf(stderr, "bench_store: %s\n", err);
            return 1;
        }
        load[i] = now_ms() - t;
        store_doc_free(&doc);
    }
    report("the whole store read (start-up, cupictl)", load, 5);
    store_close(st);
    for (unsigned s = 1; s <= n; s++)
        history_ring_clear(&h[s]);
    free(h);
    free(ms);
    free(blocked);
    unlink(path);
    return 0;
}
