/* loop/timer.c - a min-heap of deadlines behind one net-snmp alarm. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "loop/timer.h"

#include <stdlib.h>
#include <time.h>

static agent_timer **heap;
static size_t n_heap, cap_heap;
static unsigned alarm_id;
static int64_t alarm_due; /* what alarm_id was armed for */

int64_t agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void place(size_t i, agent_timer *t)
{
    heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(size_t i)
{
    agent_timer *t = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent]->due_ms <= t->due_ms)
            break;
        place(i, heap[parent]);
        i = parent;
    }
    place(i, t);
}

static void sift_down(size_t i)
{
    agent_timer *t = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n_heap)
            break;
        if (child + 1 < n_heap && heap[child + 1]->due_ms < heap[child]->due_ms)
            child++;
        if (t->due_ms <= heap[child]->due_ms)
            break;
        place(i, heap[child]);
        i = child;
    }
    place(i, t);
}

static void on_alarm(unsigned clientreg, void *arg);

/* Keeps the one alarm on the earliest deadline. */
static void rearm(void)
{
    if (n_heap && alarm_id && alarm_due == heap[0]->due_ms)
        return;
    if (alarm_id)
        snmp_alarm_unregister(alarm_id);
    alarm_id = 0;
    if (!n_heap)
        return;
    int64_t wait = heap[0]->due_ms - agent_now_ms();
    if (wait < 1)
        wait = 1; /* a zero alarm would mean "no timeout" to net-snmp */
    struct timeval tv = {.tv_sec = (time_t)(wait / 1000),
                         .tv_usec = (suseconds_t)(wait % 1000) * 1000};
    alarm_id = snmp_alarm_register_hr(tv, 0, on_alarm, NULL);
    alarm_due = heap[0]->due_ms;
}

static void remove_at(size_t i)
{
    agent_timer *gone = heap[i];
    gone->slot = 0;
    n_heap--;
    if (i == n_heap)
        return;
    place(i, heap[n_heap]);
    sift_down(i);
    sift_up(heap[i]->slot - 1);
}

int agent_timer_set(agent_timer *t, int64_t due_ms)
{
    if (t->slot) {
        t->due_ms = due_ms;
        sift_down(t->slot - 1);
        sift_up(t->slot - 1);
        rearm();
        return 0;
    }
    if (n_heap == cap_heap) {
        size_t cap = cap_heap ? 2 * cap_heap : 64;
        agent_timer **grown = realloc(heap, cap * sizeof *grown);
        if (!grown)
            return -1;
        heap = grown;
        cap_heap = cap;
    }
    t->due_ms = due_ms;
    place(n_heap++, t);
    sift_up(n_heap - 1);
    rearm();
    return 0;
}

void agent_timer_cancel(agent_timer *t)
{
    if (!t->slot)
        return;
    remove_at(t->slot - 1);
    rearm();
}

void agent_timer_run_due(void)
{
    int64_t now = agent_now_ms();
    /* A timer set again by its own callback for "now" waits for the next
     * turn: nothing loops here. */
    size_t budget = n_heap;
    while (n_heap && heap[0]->due_ms <= now && budget--) {
        agent_timer *t = heap[0];
        remove_at(0);
        t->fire(t);
    }
    rearm();
}

static void on_alarm(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    alarm_id = 0;
    agent_timer_run_due();
}

void agent_timer_shutdown(void)
{
    while (n_heap)
        remove_at(n_heap - 1);
    free(heap);
    heap = NULL;
    cap_heap = 0;
    if (alarm_id)
        snmp_alarm_unregister(alarm_id);
    alarm_id = 0;
}
