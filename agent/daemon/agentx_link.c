/* daemon/agentx_link.c - the AgentX session with the master, as the journal
 * and "systemctl status" tell it.
 *
 * net-snmp retries a failed connection every agentxPingInterval and, unless
 * told not to, logs "Failed to connect to the agentx master agent" each
 * time, without the system's reason. It is told not to (main.c); this file
 * learns when the session opens and closes from net-snmp's callbacks
 * (SNMPD_CALLBACK_INDEX_START / INDEX_STOP) and, while there is none, finds
 * out why by connecting to a unix socket itself: the errno the system gives
 * is the one net-snmp got. It logs only when that reason changes. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include "daemon/agentx_link.h"
#include "daemon/sd_notify.h"
#include "cupi_smtp.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATUS_EVERY_S 2 /* how often the status line follows the servers */
/* cause: an errno of connect(), or one of these */
#define CAUSE_NONE 0      /* connected, or not diagnosed yet */
#define CAUSE_ACCEPTED -1 /* the socket took a connection: net-snmp's next retry will */
#define CAUSE_NOT_UNIX -2 /* a TCP master: no diagnosis of our own */

typedef enum { LINK_DOWN, LINK_OPENED, LINK_UP } link_state;

static struct {
    char address[256];                                      /* as configured, for messages */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" unless a unix socket */
    int retry_s;
    link_state state;
    int cause;
    bool ever_up, ready_sent;
    time_t last_probe;
    unsigned alarm;
    char status[512]; /* the STATUS= line last sent */
} agx;

/* Hints for the reasons an operator meets: in the status line (short) and
 * in the journal (what to do; with the agent's group where it matters). */
static const struct {
    int err;
    const char *brief;
    const char *advice;
    bool names_group;
} hints[] = {
    {EACCES, "see agentXPerms",
     "snmpd.conf's agentXPerms must give the agent's group the socket, and the socket's "
     "directory must be searchable by it: snmpd applies agentXPerms' directory mode only to "
     "a directory it creates",
     true},
    {ENOENT, "is snmpd running, with master agentx?",
     "snmpd creates the socket when it runs with \"master agentx\"; "
     "check \"systemctl status snmpd\" and snmpd.conf's agentXSocket",
     false},
    {ECONNREFUSED, "is snmpd running?",
     "the socket exists but nothing accepts on it: snmpd has stopped", false},
};

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int hint_of(int err)
{
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (hints[i].err == err)
            return (int)i;
    return -1;
}

static const char *group_name(void)
{
    struct group *g = getgrgid(getegid());
    return g ? g->gr_name : "of the agent";
}

/* What connect() says about the master's socket now. */
static int probe(void)
{
    if (!agx.path[0])
        return CAUSE_NOT_UNIX;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, agx.path, strlen(agx.path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? CAUSE_ACCEPTED : errno;
    close(fd);
    return rc;
}

/* The reason without a session, as the status line gives it. */
static void describe(char *buf, size_t size, bool brief)
{
    if (agx.cause == CAUSE_ACCEPTED || agx.cause == CAUSE_NONE) {
        snprintf(buf, size, "AgentX: no session with %s yet (retrying every %d s)", agx.address,
                 agx.retry_s);
        return;
    }
    if (agx.cause == CAUSE_NOT_UNIX) {
        snprintf(buf, size, "AgentX: cannot connect to %s (retrying every %d s)", agx.address,
                 agx.retry_s);
        return;
    }
    int h = hint_of(agx.cause);
    int n = snprintf(buf, size, "AgentX: cannot connect to %s: %s", agx.address,
                     strerror(agx.cause));
    if (h < 0 || n < 0 || (size_t)n >= size)
        return;
    if (brief) {
        snprintf(buf + n, size - (size_t)n, " (%s)", hints[h].brief);
    } else {
        snprintf(buf + n, size - (size_t)n, " (%s%s%s)", hints[h].advice,
                 hints[h].names_group ? "; the agent's group: " : "",
                 hints[h].names_group ? group_name() : "");
    }
}

/* Sends "STATUS=..." when the line changed, after the lines of extra (may
 * be NULL) in the same datagram. */
static void send_status_with(const char *extra)
{
    char line[sizeof agx.status];
    if (agx.state == LINK_UP) {
        char servers[256];
        snprintf(line, sizeof line, "AgentX: connected to %s; %s", agx.address,
                 cupi_smtp_status_summary(servers, sizeof servers));
    } else {
        describe(line, sizeof line, true);
    }
    if (!extra && strcmp(line, agx.status) == 0)
        return;
    snprintf(agx.status, sizeof agx.status, "%s", line);
    char msg[sizeof line + 128];
    snprintf(msg, sizeof msg, "%s%sSTATUS=%s", extra ? extra : "", extra ? "\n" : "", line);
    agent_sd_notify(msg);
}

static void send_status(void)
{
    send_status_with(NULL);
}

/* Without a session: find out why, and say so when the reason changed. */
static void diagnose(void)
{
    agx.last_probe = now_s();
    int cause = probe();
    if (cause == agx.cause)
        return;
    agx.cause = cause;
    if (cause == CAUSE_ACCEPTED)
        return; /* not a failure: the master is there, net-snmp connects next time */
    char text[1024];
    describe(text, sizeof text, false);
    snmp_log(LOG_WARNING,
             "%s; retrying every %d s, logged again only when the reason changes\n", text,
             agx.retry_s);
}

static int on_session_open(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major, (void)minor, (void)server_arg, (void)client_arg;
    agx.state = LINK_OPENED;
    return SNMPERR_SUCCESS;
}

static int on_session_closed(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major, (void)minor, (void)server_arg, (void)client_arg;
    if (agx.state == LINK_DOWN)
        return SNMPERR_SUCCESS;
    agx.state = LINK_DOWN;
    agx.cause = CAUSE_NONE;
    snmp_log(LOG_WARNING, "AgentX: lost the session with %s; reconnecting every %d s\n",
             agx.address, agx.retry_s);
    send_status();
    return SNMPERR_SUCCESS;
}

static void tick(unsigned reg, void *arg)
{
    (void)reg, (void)arg;
    if (agx.state == LINK_DOWN && now_s() - agx.last_probe >= agx.retry_s)
        diagnose();
    send_status();
}

void agentx_link_after_turn(void)
{
    if (agx.state == LINK_OPENED) {
        agx.state = LINK_UP;
        agx.cause = CAUSE_NONE;
        snmp_log(LOG_INFO, "AgentX: connected to %s, CUPI-SMTP-MIB registered%s\n", agx.address,
                 agx.ever_up ? " again" : "");
        agx.ever_up = true;
        if (!agx.ready_sent) {
            char ready[64];
            snprintf(ready, sizeof ready, "READY=1\nMAINPID=%ld", (long)getpid());
            send_status_with(ready);
            agx.ready_sent = true;
        } else {
            send_status();
        }
    } else if (agx.state == LINK_DOWN && agx.last_probe == 0) {
        diagnose(); /* the first attempt, made by init_snmp(), failed */
        send_status();
    }
}

bool agentx_link_ready(void)
{
    return agx.ready_sent;
}

int agentx_link_start(const char *address, int retry_s)
{
    memset(&agx, 0, sizeof agx);
    snprintf(agx.address, sizeof agx.address, "%s", address);
    const char *path = strncmp(address, "unix:", 5) == 0 ? address + 5 : address;
    if (path[0] == '/' && strlen(path) < sizeof agx.path)
        memcpy(agx.path, path, strlen(path) + 1);
    agx.retry_s = retry_s > 0 ? retry_s : 1;
    if (snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                               on_session_open, NULL) != SNMPERR_SUCCESS ||
        snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                               on_session_closed, NULL) != SNMPERR_SUCCESS)
        return -1;
    agx.alarm = snmp_alarm_register(STATUS_EVERY_S, SA_REPEAT, tick, NULL);
    return agx.alarm ? 0 : -1;
}

void agentx_link_stop(void)
{
    if (agx.alarm)
        snmp_alarm_unregister(agx.alarm);
    agx.alarm = 0;
    snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                             on_session_open, NULL, 1);
    snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                             on_session_closed, NULL, 1);
}
