/* loop/deadline_heap.h - a min-heap of deadlines, pure C: no net-snmp, no
 * clock of its own, no global state. Each thread that keeps deadlines owns
 * one heap (the SNMP thread's sits behind one net-snmp alarm, loop/timer.c;
 * the CUPI worker's decides how long its poll may sleep). Setting, moving or
 * cancelling a deadline is O(log n). Deadlines are owned by their users
 * (embedded in their structs); the heap only points at them. */
#ifndef CUPI_AGENT_DEADLINE_HEAP_H
#define CUPI_AGENT_DEADLINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct agent_timer agent_timer;
typedef void (*agent_timer_fn)(agent_timer *t);

struct agent_timer {
    agent_timer_fn fire; /* runs once when due; the timer is then idle */
    int64_t due_ms;      /* monotonic milliseconds */
    size_t slot;         /* heap position + 1; 0 while idle */
};

typedef struct deadline_heap {
    agent_timer **items;
    size_t n, cap;
} deadline_heap;

/* Monotonic milliseconds (CLOCK_MONOTONIC: the same on every thread). */
int64_t agent_now_ms(void);
static inline time_t agent_now_s(void)
{
    return (time_t)(agent_now_ms() / 1000);
}

static inline bool agent_timer_armed(const agent_timer *t)
{
    return t->slot != 0;
}

/* Arms t (or moves it) to due_ms; 0 or -1 when out of memory. */
int deadline_heap_set(deadline_heap *h, agent_timer *t, int64_t due_ms);
/* Disarms t; harmless when idle. */
void deadline_heap_cancel(deadline_heap *h, agent_timer *t);
/* The earliest deadline, or -1 when empty. */
int64_t deadline_heap_next(const deadline_heap *h);
/* Fires every timer due at now. A timer set again by its own callback for
 * "now" waits for the next call: nothing loops here. */
void deadline_heap_run_due(deadline_heap *h, int64_t now);
/* Disarms every timer and frees the heap's memory. */
void deadline_heap_clear(deadline_heap *h);

#endif
