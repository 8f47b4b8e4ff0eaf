/* loop/timer.h - deadlines on net-snmp's loop without a periodic tick.
 *
 * Every pending timer sits in one min-heap; a single net-snmp alarm is armed
 * for the earliest deadline and re-armed when that changes. Setting,
 * moving or cancelling a timer is O(log n); an idle agent wakes only when
 * something is due. Timers are owned by their users (embedded in their
 * structs); the heap only points at them. Runs on the SNMP thread only. */
#ifndef CUPI_AGENT_TIMER_H
#define CUPI_AGENT_TIMER_H

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

/* Monotonic milliseconds, and seconds. */
int64_t agent_now_ms(void);
static inline time_t agent_now_s(void)
{
    return (time_t)(agent_now_ms() / 1000);
}

/* Arms t (or moves it) to fire at due_ms; 0 or -1 when out of memory. */
int agent_timer_set(agent_timer *t, int64_t due_ms);
/* Disarms t; harmless when idle. */
void agent_timer_cancel(agent_timer *t);
static inline bool agent_timer_armed(const agent_timer *t)
{
    return t->slot != 0;
}
/* Runs every timer that is due now (also what the alarm does). */
void agent_timer_run_due(void);
/* Drops every timer (they stay as their owners left them, but idle) and
 * the alarm. */
void agent_timer_shutdown(void);

#endif
