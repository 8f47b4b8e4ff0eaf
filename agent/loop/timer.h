/* loop/timer.h - deadlines on net-snmp's loop without a periodic tick.
 *
 * Every pending timer of the SNMP thread sits in one deadline heap; a single
 * net-snmp alarm is armed for the earliest deadline and re-armed when that
 * changes. An idle agent wakes only when something is due. Runs on the SNMP
 * thread only (the CUPI worker keeps a heap of its own). */
#ifndef CUPI_AGENT_TIMER_H
#define CUPI_AGENT_TIMER_H

#include "loop/deadline_heap.h"

/* Arms t (or moves it) to fire at due_ms; 0 or -1 when out of memory. */
int agent_timer_set(agent_timer *t, int64_t due_ms);
/* Disarms t; harmless when idle. */
void agent_timer_cancel(agent_timer *t);
/* Runs every timer that is due now (also what the alarm does). */
void agent_timer_run_due(void);
/* Drops every timer (they stay as their owners left them, but idle) and
 * the alarm. */
void agent_timer_shutdown(void);

#endif
