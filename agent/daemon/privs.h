/* daemon/privs.h - what the agent process may do once it runs: the user and
 * group it switches to (-u, -g, as snmpd's), and whether a core dump of it
 * may be written (it holds the CUPI and smart-host passwords). */
#ifndef AGENT_PRIVS_H
#define AGENT_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct agent_privs {
    bool change_user, change_group;
    uid_t uid;
    gid_t gid;
    char user[64]; /* for initgroups; "" when the user was given by number only */
} agent_privs;

/* Resolves -u USER and -g GROUP (names or numbers; either may be NULL) into
 * p. Without -g the user's primary group is taken. 0, or -1 with a sentence
 * in err. */
int agent_privs_resolve(agent_privs *p, const char *user, const char *group, char *err,
                        size_t errsz);

/* Switches to p's group, supplementary groups and user, in that order, and
 * checks that root cannot be regained. 0, or -1 with a sentence in err: the
 * caller must not go on running with privileges it was told to drop. */
int agent_privs_drop(const agent_privs *p, char *err, size_t errsz);

/* Allows or forbids core dumps and ptrace by the same user (prctl
 * PR_SET_DUMPABLE). The kernel resets this on every change of user, so it is
 * called again after agent_privs_drop. 0 or -1 (errno). */
int agent_privs_set_dumpable(bool allow);

#endif
