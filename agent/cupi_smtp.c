/* cupi_smtp.c - module entry points: configuration, start, reload, stop. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "model/history.h"
#include "worker/worker.h"
#include "mib/notify.h"
#include "model/refresh.h"
#include "model/server.h"
#include "model/state.h"
#include "cupi_smtp.h"
#include "mib/sysor.h"
#include "mib/tables.h"
#include "mib/set_txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool started;

/* Messages of the configuration reader, as the module logs them. */
static void log_report(void *arg, bool error, const char *msg)
{
    (void)arg;
    snmp_log(error ? LOG_ERR : LOG_WARNING, "cupi: %s\n", msg);
}

typedef struct report_sink {
    cupi_smtp_report_fn fn;
    void *arg;
} report_sink;

static void warn_to_sink(void *arg, const char *msg)
{
    report_sink *sink = arg;
    sink->fn(sink->arg, false, msg);
}

static int read_one(cupi_config *cfg, const char *path, report_sink *sink)
{
    char err[1024];
    if (cupi_config_read(cfg, path, false, warn_to_sink, sink, err, sizeof err) != CUPI_OK) {
        sink->fn(sink->arg, true, err);
        return -1;
    }
    return 0;
}

int cupi_smtp_read_config(cupi_config *cfg, const char *files, bool no_defaults,
                          cupi_smtp_report_fn report, void *arg)
{
    report_sink sink = {report, arg};
    char err[1024];
    cupi_config_init(cfg);
    /* The same files, in the same order, as cupictl reads. */
    if (!no_defaults &&
        cupi_config_read_default(cfg, warn_to_sink, &sink, NULL, err, sizeof err) != CUPI_OK) {
        report(arg, true, err);
        return -1;
    }
    if (files) {
        char *list = strdup(files);
        char *save = NULL;
        for (char *f = list ? strtok_r(list, ",", &save) : NULL; f;
             f = strtok_r(NULL, ",", &save)) {
            if (read_one(cfg, f, &sink) != 0) {
                free(list);
                return -1;
            }
        }
        free(list);
    }
    if (cupi_config_finish(cfg, err, sizeof err) != CUPI_OK) {
        report(arg, true, err);
        return -1;
    }
    return 0;
}

int cupi_smtp_load_config(cupi_config *cfg, const char *files, bool no_defaults)
{
    return cupi_smtp_read_config(cfg, files, no_defaults, log_report, NULL);
}

/* The order a summary lists the statuses in: the good news first. */
static const agent_status summary_order[] = {
    AGENT_STATUS_OK,          AGENT_STATUS_UNKNOWN,      AGENT_STATUS_UNREACHABLE,
    AGENT_STATUS_AUTH_FAILED, AGENT_STATUS_TLS_FAILED,   AGENT_STATUS_NOT_SUPPORTED,
    AGENT_STATUS_BUSY,        AGENT_STATUS_BAD_RESPONSE,
};
#define N_SUMMARY (sizeof summary_order / sizeof summary_order[0])

const char *cupi_smtp_status_summary(char *buf, size_t size)
{
    size_t count[N_SUMMARY] = {0}, total = 0;
    for (const agent_server *s = started ? agent_servers_first() : NULL; s; s = s->next) {
        total++;
        for (size_t i = 0; i < N_SUMMARY; i++)
            if (summary_order[i] == s->status)
                count[i]++;
    }
    if (size == 0)
        return buf;
    if (total == 0) {
        snprintf(buf, size, "no server configured");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, size, "%zu server%s:", total, total == 1 ? "" : "s");
    const char *sep = " ";
    for (size_t i = 0; i < N_SUMMARY && used < size; i++) {
        if (!count[i])
            continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%zu %s", sep, count[i],
                                 agent_status_name(summary_order[i]));
        sep = ", ";
    }
    return buf;
}

/* Undoes whatever cupi_smtp_start set up, in reverse order; safe on a
 * partial start. */
static void teardown(void)
{
    set_txn_shutdown();
    agent_state_shutdown();
    mib_sysor_unregister();
    mib_change_table_unregister();
    mib_config_tables_unregister();
    mib_server_table_unregister();
    agent_notify_shutdown();
    agent_history_shutdown();
    agent_servers_clear();
    worker_stop(); /* after the clients: it hands back the last of them */
    agent_server_unsubscribe_all();
    agent_timer_shutdown();
}

int cupi_smtp_start(const cupi_config *cfg)
{
    if (started)
        return cupi_smtp_reload(cfg);
    if (cupi_global_init() != CUPI_OK) {
        snmp_log(LOG_ERR, "cupi: cannot initialise libcurl\n");
        return -1;
    }
    if (worker_start(agent_refresh_take) != 0) {
        snmp_log(LOG_ERR, "cupi: cannot start the CUPI worker thread\n");
        goto fail;
    }
    /* History after notifications: a notification closed by a change of
     * another source is built before that change is numbered, so it names
     * the newest row of the changes it carries. */
    agent_history_configure(cfg->history_size);
    if (agent_notify_start() != 0 || agent_history_start() != 0 || agent_state_start() != 0 ||
        agent_refresh_start() != 0 || agent_servers_apply(cfg) != 0)
        goto fail;
    if (agent_state_configure(cfg->state_file) != 0)
        goto fail; /* another agent's state: logged with its pid */
    agent_state_load();
    if (mib_server_table_register() != 0 || mib_config_tables_register() != 0 ||
        mib_change_table_register() != 0) {
        snmp_log(LOG_ERR, "cupi: cannot register CUPI-SMTP-MIB\n");
        goto fail;
    }
    if (mib_sysor_register() != 0)
        goto fail;
    started = true;
    snmp_log(LOG_INFO, "cupi: CUPI-SMTP-MIB module started with %zu server(s)\n",
             cfg->n_servers);
    return 0;
fail:
    teardown();
    cupi_global_cleanup();
    return -1;
}

int cupi_smtp_reload(const cupi_config *cfg)
{
    if (agent_servers_apply(cfg) != 0)
        return -1;
    agent_history_configure(cfg->history_size);
    (void)agent_state_configure(cfg->state_file); /* a held state is logged and not used */
    agent_state_mark_dirty();
    snmp_log(LOG_INFO, "cupi: configuration reloaded, %zu server(s)\n", cfg->n_servers);
    return 0;
}

void cupi_smtp_stop(void)
{
    if (!started)
        return;
    teardown();
    cupi_global_cleanup();
    started = false;
}

static void start_in_snmpd(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    const char *file = getenv("CUPI_SNMP_CONFIG");
    cupi_config cfg;
    if (cupi_smtp_load_config(&cfg, file, file != NULL) == 0)
        cupi_smtp_start(&cfg);
    cupi_config_free(&cfg);
}

/* snmpd loads its modules before it forks into the background and drops
 * root: a thread started now would not follow it into the child. The
 * module starts at the first turn of snmpd's loop instead. */
void init_cupi_smtp(void)
{
    struct timeval soon = {.tv_sec = 0, .tv_usec = 1000};
    if (!snmp_alarm_register_hr(soon, 0, start_in_snmpd, NULL))
        snmp_log(LOG_ERR, "cupi: cannot schedule the CUPI-SMTP-MIB module's start\n");
}

void deinit_cupi_smtp(void)
{
    cupi_smtp_stop();
}
