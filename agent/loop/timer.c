/* loop/timer.c - the SNMP thread's deadline heap behind one net-snmp alarm. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "loop/timer.h"

static deadline_heap heap;
static unsigned alarm_id;
static int64_t alarm_due; /* what alarm_id was armed for */

static void on_alarm(unsigned clientreg, void *arg);

/* Keeps the one alarm on the earliest deadline. */
static void rearm(void)
{
    int64_t next = deadline_heap_next(&heap);
    if (next >= 0 && alarm_id && alarm_due == next)
        return;
    if (alarm_id)
        snmp_alarm_unregister(alarm_id);
    alarm_id = 0;
    if (next < 0)
        return;
    int64_t wait = next - agent_now_ms();
    if (wait < 1)
        wait = 1; /* a zero alarm would mean "no timeout" to net-snmp */
    struct timeval tv = {.tv_sec = (time_t)(wait / 1000),
                         .tv_usec = (suseconds_t)(wait % 1000) * 1000};
    alarm_id = snmp_alarm_register_hr(tv, 0, on_alarm, NULL);
    alarm_due = next;
}

int agent_timer_set(agent_timer *t, int64_t due_ms)
{
    int rc = deadline_heap_set(&heap, t, due_ms);
    rearm();
    return rc;
}

void agent_timer_cancel(agent_timer *t)
{
    deadline_heap_cancel(&heap, t);
    rearm();
}

void agent_timer_run_due(void)
{
    deadline_heap_run_due(&heap, agent_now_ms());
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
    deadline_heap_clear(&heap);
    if (alarm_id)
        snmp_alarm_unregister(alarm_id);
    alarm_id = 0;
}
