/* daemon/sd_notify.h - systemd's readiness protocol (Type=notify): state
 * lines sent as one datagram to the unix socket named by $NOTIFY_SOCKET. */
#ifndef AGENT_SD_NOTIFY_H
#define AGENT_SD_NOTIFY_H

/* Sends state (e.g. "READY=1", "STOPPING=1") when $NOTIFY_SOCKET is set.
 * 1 sent, 0 nothing to send to (not started by systemd), -1 failed (errno);
 * a failure changes nothing else for the caller. */
int agent_sd_notify(const char *state);

/* "RELOADING=1" with the MONOTONIC_USEC stamp systemd asks to accompany it. */
int agent_sd_notify_reloading(void);

#endif
