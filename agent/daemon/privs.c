/* daemon/privs.c - leaving root, and keeping secrets out of core dumps. */
#define _GNU_SOURCE /* setresuid, setresgid */
#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static bool parse_id(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v >= (unsigned long)UINT_MAX)
        return false;
    *out = v;
    return true;
}

int agent_privs_resolve(agent_privs *p, const char *user, const char *group, char *err,
                        size_t errsz)
{
    memset(p, 0, sizeof *p);
    unsigned long id;
    if (user) {
        const struct passwd *pw = parse_id(user, &id) ? getpwuid((uid_t)id) : getpwnam(user);
        if (pw) {
            p->uid = pw->pw_uid;
            p->gid = pw->pw_gid;
            snprintf(p->user, sizeof p->user, "%s", pw->pw_name);
        } else if (parse_id(user, &id)) {
            /* A bare number with no passwd entry: its own group unless -g. */
            p->uid = (uid_t)id;
            p->gid = (gid_t)id;
        } else {
            snprintf(err, errsz, "unknown user \"%s\"", user);
            return -1;
        }
        p->change_user = p->change_group = true;
    }
    if (group) {
        const struct group *gr = parse_id(group, &id) ? getgrgid((gid_t)id) : getgrnam(group);
        if (gr)
            p->gid = gr->gr_gid;
        else if (parse_id(group, &id))
            p->gid = (gid_t)id;
        else {
            snprintf(err, errsz, "unknown group \"%s\"", group);
            return -1;
        }
        p->change_group = true;
    }
    return 0;
}

int agent_privs_drop(const agent_privs *p, char *err, size_t errsz)
{
    if (p->change_group) {
        /* Supplementary groups first: root's would otherwise stay. */
        int rc =
            p->change_user && p->user[0] ? initgroups(p->user, p->gid) : setgroups(1, &p->gid);
        if (rc != 0) {
            snprintf(err, errsz, "cannot set the supplementary groups: %s", strerror(errno));
            return -1;
        }
        if (setresgid(p->gid, p->gid, p->gid) != 0) {
            snprintf(err, errsz, "cannot change to group %lu: %s", (unsigned long)p->gid,
                     strerror(errno));
            return -1;
        }
    }
    if (p->change_user) {
        if (setresuid(p->uid, p->uid, p->uid) != 0) {
            snprintf(err, errsz, "cannot change to user %lu: %s", (unsigned long)p->uid,
                     strerror(errno));
            return -1;
        }
        if (p->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
            snprintf(err, errsz, "user %lu could regain root", (unsigned long)p->uid);
            return -1;
        }
    }
    return 0;
}

int agent_privs_set_dumpable(bool allow)
{
    return prctl(PR_SET_DUMPABLE, allow ? 1L : 0L, 0L, 0L, 0L);
}
