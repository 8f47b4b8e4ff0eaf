/* loop/io.c - the worker's mailbox inside net-snmp's select loop.
 *
 * One descriptor stands for all of CUPI: the sockets themselves live on the
 * worker thread, so net-snmp's fd table (32 per direction for the whole
 * process, snmpd's other modules included) holds one entry whatever the
 * size of the fleet. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "loop/io.h"

static int watched = -1;
static void (*callback)(void);

static void on_readable(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    callback();
}

int agent_io_start(int fd, void (*on_ready)(void))
{
    callback = on_ready;
    if (register_readfd(fd, on_readable, NULL) != FD_REGISTERED_OK) {
        snmp_log(LOG_ERR, "cupi: net-snmp has no room for the CUPI worker's descriptor\n");
        return -1;
    }
    watched = fd;
    return 0;
}

void agent_io_stop(void)
{
    if (watched >= 0)
        unregister_readfd(watched);
    watched = -1;
}
