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

#include <stdlib.h>
#include <string.h>

static bool started;

static void log_warning(void *arg, const char *msg)
{
    (void)arg;
    snmp_log(LOG_WARNING, "cupi: %s\n", msg);
}

static int read_one(cupi_config *cfg, const char *path, bool optional)
{
    char err[1024];
    if (cupi_config_read(cfg, path, optional, log_warning, NULL, err, sizeof err) != CUPI_OK) {
        snmp_log(LOG_ERR, "cupi: %s\n", err);
        return -1;
    }
    return 0;
}

int cupi_smtp_load_config(cupi_config *cfg, const char *files, bool no_defaults)
{
    cupi_config_init(cfg);
    if (!no_defaults) {
        /* The same files, in the same order, as cupictl reads. */
        char err[1024];
        if (cupi_config_read_default(cfg, log_warning, NULL, NULL, err, sizeof err) !=
            CUPI_OK) {
            snmp_log(LOG_ERR, "cupi: %s\n", err);
            return -1;
        }
    }
    if (files) {
        char *list = strdup(files);
        char *save = NULL;
        for (char *f = list ? strtok_r(list, ",", &save) : NULL; f;
             f = strtok_r(NULL, ",", &save)) {
            if (read_one(cfg, f, false) != 0) {
                free(list);
                return -1;
            }
        }
        free(list);
    }
    char err[1024];
    if (cupi_config_finish(cfg, err, sizeof err) != CUPI_OK) {
        snmp_log(LOG_ERR, "cupi: %s\n", err);
        return -1;
    }
    return 0;
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
    agent_state_configure(cfg->state_file);
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
    agent_state_configure(cfg->state_file);
    agent_state_mark_dirty(true);
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
