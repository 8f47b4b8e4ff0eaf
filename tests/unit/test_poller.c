/* test_poller.c - the background read schedule against a fake clock and
 * fake reads: phases, the places of cupiMaxRefreshes, probing a failing
 * server one read at a time, the retry of a transient failure, when
 * failures are reported, asked-for reads and stale values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cupi/cupi.h>

#include "worker/poller.h"

#include <stdio.h>
#include <string.h>

#define MAX_READS 4096
#define MAX_REPORTS 4096

typedef struct started {
    poller_entry *entry;
    void *client;
    cupi_resource resource;
    uint32_t ticket;
    int64_t at;
    bool done;
} started;

static struct {
    int64_t now;
    time_t wall;
    started reads[MAX_READS];
    size_t n_reads;
    poller_verdict reports[MAX_REPORTS];
    void *report_client[MAX_REPORTS];
    size_t n_reports;
    bool refuse_start;
} fake;

static int64_t fake_now(void *arg)
{
    (void)arg;
    return fake.now;
}

static time_t fake_wall(void *arg)
{
    (void)arg;
    return fake.wall;
}

static int fake_start(void *arg, poller_entry *e, void *client, cupi_resource r,
                      uint32_t ticket)
{
    (void)arg;
    if (fake.refuse_start)
        return -1;
    assert_true(fake.n_reads < MAX_READS);
    fake.reads[fake.n_reads++] = (started){
        .entry = e, .client = client, .resource = r, .ticket = ticket, .at = fake.now};
    return 0;
}

static void fake_report(void *arg, void *client, const poller_verdict *v)
{
    (void)arg;
    assert_true(fake.n_reports < MAX_REPORTS);
    fake.report_client[fake.n_reports] = client;
    fake.reports[fake.n_reports++] = *v;
}

static const poller_io io = {fake_now, fake_wall, fake_start, fake_report};

static poller *make(unsigned poll_s, unsigned places, unsigned unreachable_after)
{
    memset(&fake, 0, sizeof fake);
    fake.now = 1000000;
    fake.wall = 1700000000;
    poller *p = poller_new(&io, NULL);
    assert_non_null(p);
    poller_configure(p, &(poller_settings){.poll_interval_s = poll_s,
                                           .cache_ttl_s = 30,
                                           .max_refreshes = places,
                                           .unreachable_after = unreachable_after});
    return p;
}

/* Moves the fake clock to t, firing what is due on the way. */
static void advance_to(poller *p, int64_t t)
{
    for (;;) {
        int64_t due = poller_next_due(p);
        if (due < 0 || due > t)
            break;
        if (due > fake.now)
            fake.now = due;
        poller_run_due(p);
    }
    fake.now = t;
}

static void answer(poller *p, size_t i, cupi_status st)
{
    started *s = &fake.reads[i];
    assert_false(s->done);
    s->done = true;
    cupi_result res = {.status = st, .resource = s->resource};
    if (st != CUPI_OK)
        snprintf(res.message, sizeof res.message, "failure %d", (int)st);
    poller_read_done(p, s->entry, s->resource, s->ticket, &res);
}

static size_t open_reads(void)
{
    size_t n = 0;
    for (size_t i = 0; i < fake.n_reads; i++)
        n += !fake.reads[i].done;
    return n;
}

static void answer_all(poller *p, cupi_status st)
{
    for (size_t i = 0; i < fake.n_reads; i++)
        if (!fake.reads[i].done)
            answer(p, i, st);
}

static void remove_all(poller *p, poller_entry **e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        poller_remove(p, e[i]);
    answer_all(p, CUPI_E_CANCELLED);
    poller_free(p);
}

/* Every resource is read once in its first window, then once per period at
 * the same phase; the reads of a fleet are spread, not bunched. */
static void test_phases(void **state)
{
    (void)state;
    poller *p = make(60, 1000, 2);
    poller_entry *e[100];
    for (unsigned i = 0; i < 100; i++)
        e[i] = poller_add(p, i + 1, &e[i], NULL);
    advance_to(p, fake.now + 1000); /* 100 servers: a 1 s first window */
    assert_int_equal(fake.n_reads, 200);
    answer_all(p, CUPI_OK);
    assert_int_equal(fake.n_reports, 200);
    size_t first = fake.n_reads;
    /* Over the next two periods: two reads each, at distinct times. */
    int64_t buckets[60] = {0};
    for (int step = 0; step < 120; step++) {
        advance_to(p, fake.now + 1000);
        for (size_t i = first; i < fake.n_reads; i++) {
            if (!fake.reads[i].done) {
                buckets[(fake.reads[i].at / 1000) % 60]++;
                answer(p, i, CUPI_OK);
            }
        }
    }
    assert_int_equal(fake.n_reads - first, 400);
    /* Spread: no second of the period takes more than a fifth of the reads. */
    for (int i = 0; i < 60; i++)
        assert_true(buckets[i] < 80);
    /* The same phase in both periods. */
    for (size_t i = first; i < first + 200; i++) {
        bool again = false;
        for (size_t j = first + 200; j < fake.n_reads; j++)
            if (fake.reads[j].entry == fake.reads[i].entry &&
                fake.reads[j].resource == fake.reads[i].resource)
                again = fake.reads[j].at - fake.reads[i].at == 60000;
        assert_true(again);
    }
    remove_all(p, e, 100);
}

/* The cap bounds reads doing work: a read waiting on a silent peer gives
 * its place back after POLLER_PLACE_MS, and waiting reads start then. */
static void test_places_are_given_back(void **state)
{
    (void)state;
    poller *p = make(60, 4, 2);
    poller_entry *e[10];
    for (unsigned i = 0; i < 10; i++)
        e[i] = poller_add(p, i + 1, &e[i], NULL);
    advance_to(p, fake.now + 150); /* 10 servers: a 100 ms first window */
    unsigned in_flight, working, waiting;
    poller_counts(p, &in_flight, &working, &waiting);
    assert_int_equal(fake.n_reads, 4);
    assert_int_equal(working, 4);
    assert_int_equal(waiting, 16);
    /* Nothing answers: each place time, four more start. */
    advance_to(p, fake.now + POLLER_PLACE_MS);
    assert_int_equal(fake.n_reads, 8);
    poller_counts(p, &in_flight, &working, &waiting);
    assert_int_equal(working, 4);
    assert_int_equal(in_flight, 8); /* reads waiting on their peer hold no place */
    advance_to(p, fake.now + 3 * POLLER_PLACE_MS);
    assert_int_equal(fake.n_reads, 20);
    /* An answer within the place time frees the place at once. */
    answer(p, 19, CUPI_OK);
    poller_counts(p, &in_flight, &working, &waiting);
    assert_int_equal(working, 3);
    remove_all(p, e, 10);
}

/* With one place, a read answered at once frees it at once. */
static void test_answer_frees_place(void **state)
{
    (void)state;
    poller *p = make(60, 1, 2);
    poller_entry *e[3];
    for (unsigned i = 0; i < 3; i++)
        e[i] = poller_add(p, i + 1, &e[i], NULL);
    fake.now += 10000; /* everything due */
    poller_run_due(p);
    assert_int_equal(open_reads(), 1);
    for (int k = 0; k < 5; k++) {
        answer(p, fake.n_reads - 1, CUPI_OK);
        assert_int_equal(open_reads(), 1); /* the next started at once */
    }
    answer(p, fake.n_reads - 1, CUPI_OK);
    assert_int_equal(fake.n_reads, 6);
    assert_int_equal(open_reads(), 0);
    remove_all(p, e, 3);
}

/* A transient failure is tried again 1 to 2 s later and not reported; the
 * second failure in a row is reported only after unreachable_after reads. */
static void test_retry_and_unreachable(void **state)
{
    (void)state;
    poller *p = make(30, 64, 2);
    poller_entry *e = poller_add(p, 7, &e, NULL);
    advance_to(p, fake.now + 20); /* a one-server window */
    size_t server_read = SIZE_MAX;
    for (size_t i = 0; i < fake.n_reads; i++)
        if (fake.reads[i].resource == CUPI_RES_SERVER)
            server_read = i;
    /* Only the server resource fails; the client resource answers. */
    for (size_t i = 0; i < fake.n_reads; i++)
        if (i != server_read)
            answer(p, i, CUPI_OK);
    size_t ok_reports = fake.n_reports;
    answer(p, server_read, CUPI_E_TIMEOUT);
    assert_int_equal(fake.n_reports, ok_reports); /* not reported */
    int64_t failed_at = fake.now;
    advance_to(p, failed_at + 999);
    assert_int_equal(open_reads(), 0);
    advance_to(p, failed_at + 2000);
    assert_int_equal(open_reads(), 1); /* the retry */
    assert_int_equal(fake.reads[fake.n_reads - 1].resource, CUPI_RES_SERVER);
    answer(p, fake.n_reads - 1, CUPI_E_TRANSPORT);
    assert_int_equal(fake.n_reports, ok_reports); /* one miss: still quiet */
    /* The next period's read and its retry fail too: now it is reported. */
    for (int step = 0; step < 40 && fake.n_reports == ok_reports; step++) {
        advance_to(p, fake.now + 1000);
        for (size_t i = 0; i < fake.n_reads; i++)
            if (!fake.reads[i].done)
                answer(p, i,
                       fake.reads[i].resource == CUPI_RES_SERVER ? CUPI_E_TIMEOUT : CUPI_OK);
        for (size_t i = ok_reports; i < fake.n_reports; i++)
            if (fake.reports[i].resource == CUPI_RES_CLIENT)
                ok_reports++; /* the client resource's regular reads */
    }
    assert_true(fake.n_reports > ok_reports);
    poller_verdict *v = &fake.reports[fake.n_reports - 1];
    assert_int_equal(v->resource, CUPI_RES_SERVER);
    assert_int_equal(v->status, CUPI_E_TIMEOUT);
    assert_int_equal(v->misses, 2);
    /* A success resets the count and is reported at once. */
    advance_to(p, fake.now + 31000);
    for (size_t i = 0; i < fake.n_reads; i++)
        if (!fake.reads[i].done)
            answer(p, i, CUPI_OK);
    assert_int_equal(fake.reports[fake.n_reports - 1].status, CUPI_OK);
    assert_int_equal(fake.reports[fake.n_reports - 1].misses, 0);
    remove_all(p, &e, 1);
}

/* An answer that is not a transport failure (auth refused) is reported at
 * once, without a retry. */
static void test_answered_failure_reported_at_once(void **state)
{
    (void)state;
    poller *p = make(30, 64, 3);
    poller_entry *e = poller_add(p, 3, &e, NULL);
    advance_to(p, fake.now + 20);
    assert_int_equal(fake.n_reads, 2);
    answer(p, 0, CUPI_E_AUTH);
    assert_int_equal(fake.n_reports, 1);
    assert_int_equal(fake.reports[0].status, CUPI_E_AUTH);
    remove_all(p, &e, 1);
}

/* A server whose last read failed gets one read at a time: its other
 * resource waits until the probe ends. */
static void test_failing_server_is_probed_one_at_a_time(void **state)
{
    (void)state;
    poller *p = make(30, 64, 2);
    poller_entry *e = poller_add(p, 11, &e, NULL);
    advance_to(p, fake.now + 20);
    assert_int_equal(open_reads(), 2); /* healthy: both at once */
    answer(p, 0, CUPI_E_TIMEOUT);      /* failing from now on */
    answer(p, 1, CUPI_E_TIMEOUT);
    /* Both retries come due; only one may be in flight. */
    advance_to(p, fake.now + 2100);
    assert_int_equal(open_reads(), 1);
    size_t probe = fake.n_reads - 1;
    advance_to(p, fake.now + 10000);
    assert_int_equal(open_reads(), 1); /* still that probe, nothing else */
    answer(p, probe, CUPI_E_TIMEOUT);
    assert_int_equal(open_reads(), 1);    /* the deferred one starts now */
    answer(p, fake.n_reads - 1, CUPI_OK); /* it answers: probing ends */
    /* Healthy again: the next reads of both resources may overlap. */
    size_t before = fake.n_reads;
    for (int step = 0; step < 70; step++)
        advance_to(p, fake.now + 1000);
    assert_true(fake.n_reads - before >= 2);
    remove_all(p, &e, 1);
}

/* max_data_age_s: values older than that make the first failure count. */
static void test_max_data_age(void **state)
{
    (void)state;
    poller *p = make(30, 64, 5);
    poller_configure(p, &(poller_settings){.poll_interval_s = 30,
                                           .cache_ttl_s = 30,
                                           .max_refreshes = 64,
                                           .unreachable_after = 5,
                                           .max_data_age_s = 60});
    time_t last_ok[CUPI_RES_COUNT] = {fake.wall - 120, fake.wall - 10};
    poller_entry *e = poller_add(p, 2, &e, last_ok);
    advance_to(p, fake.now + 20);
    for (size_t i = 0; i < 2; i++)
        answer(p, i, CUPI_E_TIMEOUT);
    advance_to(p, fake.now + 2100);
    answer_all(p, CUPI_E_TIMEOUT); /* the retries */
    advance_to(p, fake.now + 2100);
    answer_all(p, CUPI_E_TIMEOUT);
    /* The old resource is reported after its retry; the fresh one is not. */
    assert_int_equal(fake.n_reports, 1);
    assert_int_equal(fake.reports[0].resource, CUPI_RES_SERVER);
    remove_all(p, &e, 1);
}

/* Asked-for reads: at once, spaced from each other, not again within the
 * TTL, none while a read is under way. */
static size_t reads_of(poller_entry *e, cupi_resource r)
{
    size_t n = 0;
    for (size_t i = 0; i < fake.n_reads; i++)
        n += fake.reads[i].entry == e && fake.reads[i].resource == r;
    return n;
}

static void test_touch(void **state)
{
    (void)state;
    poller *p = make(86400, 64, 2);
    poller_entry *e[3];
    for (unsigned i = 0; i < 3; i++)
        e[i] = poller_add(p, 100 + i, &e[i], NULL);
    advance_to(p, fake.now + 1000);
    answer_all(p, CUPI_OK);
    assert_int_equal(reads_of(e[0], CUPI_RES_SERVER), 1);
    fake.now += 40000; /* older than the TTL */
    poller_touch(p, e[0], CUPI_RES_SERVER);
    poller_touch(p, e[1], CUPI_RES_SERVER);
    poller_run_due(p);
    assert_int_equal(reads_of(e[0], CUPI_RES_SERVER), 2); /* at once */
    assert_int_equal(reads_of(e[1], CUPI_RES_SERVER), 1); /* spaced */
    advance_to(p, fake.now + 100);
    assert_int_equal(reads_of(e[1], CUPI_RES_SERVER), 2);
    poller_touch(p, e[0], CUPI_RES_SERVER); /* under way: nothing */
    answer_all(p, CUPI_OK);
    poller_touch(p, e[0], CUPI_RES_SERVER); /* within the TTL: nothing */
    advance_to(p, fake.now + 1000);
    assert_int_equal(reads_of(e[0], CUPI_RES_SERVER), 2);
    fake.now += 30000;
    poller_touch(p, e[0], CUPI_RES_SERVER); /* past the TTL again */
    poller_run_due(p);
    assert_int_equal(reads_of(e[0], CUPI_RES_SERVER), 3);
    remove_all(p, e, 3);
}

/* Stale values are read again a moment later; a removed server's late
 * outcome is ignored; a start that fails is tried again a second later. */
static void test_stale_removed_and_start_failure(void **state)
{
    (void)state;
    poller *p = make(600, 64, 2);
    poller_entry *e = poller_add(p, 9, &e, NULL);
    advance_to(p, fake.now + 20);
    answer_all(p, CUPI_OK);
    size_t before = fake.n_reads;
    poller_stale(p, e, CUPI_RES_CLIENT);
    advance_to(p, fake.now + 1000);
    assert_int_equal(fake.n_reads, before + 1);
    assert_int_equal(fake.reads[before].resource, CUPI_RES_CLIENT);
    size_t reports = fake.n_reports;
    poller_remove(p, e);
    answer(p, before, CUPI_OK); /* after removal: dropped, entry freed */
    assert_int_equal(fake.n_reports, reports);

    poller_entry *f = poller_add(p, 10, &f, NULL);
    fake.refuse_start = true;
    advance_to(p, fake.now + 20);
    fake.refuse_start = false;
    before = fake.n_reads;
    advance_to(p, fake.now + 980);
    assert_int_equal(fake.n_reads, before);
    advance_to(p, fake.now + 40);
    assert_int_equal(fake.n_reads, before + 2);
    remove_all(p, &f, 1);
}

/* The whole-fleet outage the defaults must carry: 1,000 silent servers
 * (every read times out after 3 s), 64 places, poll 30 s: every server is
 * reported within 90 s, once per resource. */
static void test_fleet_outage(void **state)
{
    (void)state;
    enum { N = 1000, TIMEOUT_MS = 3000 };
    poller *p = make(30, 64, 2);
    static poller_entry *e[N];
    for (unsigned i = 0; i < N; i++)
        e[i] = poller_add(p, i + 1, &e[i], NULL);
    int64_t start = fake.now;
    static unsigned reported[N][CUPI_RES_COUNT];
    memset(reported, 0, sizeof reported);
    size_t n_reported = 0, distinct = 0;
    while (fake.now - start < 90000 && distinct < N * CUPI_RES_COUNT) {
        advance_to(p, fake.now + 50);
        for (size_t i = 0; i < fake.n_reads; i++) {
            if (!fake.reads[i].done && fake.now - fake.reads[i].at >= TIMEOUT_MS)
                answer(p, i, CUPI_E_TIMEOUT);
        }
        for (; fake.n_reports && n_reported < fake.n_reports; n_reported++) {
            poller_entry **owner = fake.report_client[n_reported];
            size_t idx = (size_t)(owner - e);
            if (!reported[idx][fake.reports[n_reported].resource]++)
                distinct++;
        }
        if (fake.n_reads > MAX_READS - 256) {
            /* keep the fake's table small: forget finished reads */
            size_t k = 0;
            for (size_t i = 0; i < fake.n_reads; i++)
                if (!fake.reads[i].done)
                    fake.reads[k++] = fake.reads[i];
            fake.n_reads = k;
        }
    }
    assert_int_equal(distinct, N * CUPI_RES_COUNT);
    print_message("1000 silent servers all reported after %.1f s\n",
                  (double)(fake.now - start) / 1000);
    remove_all(p, e, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phases),
        cmocka_unit_test(test_places_are_given_back),
        cmocka_unit_test(test_answer_frees_place),
        cmocka_unit_test(test_retry_and_unreachable),
        cmocka_unit_test(test_answered_failure_reported_at_once),
        cmocka_unit_test(test_failing_server_is_probed_one_at_a_time),
        cmocka_unit_test(test_max_data_age),
        cmocka_unit_test(test_touch),
        cmocka_unit_test(test_stale_removed_and_start_failure),
        cmocka_unit_test(test_fleet_outage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
