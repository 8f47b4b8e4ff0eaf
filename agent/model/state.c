/* model/state.c - the state file's I/O and timing: when to save, atomic
 * writes, retries after a failed save, and loading into the configured
 * servers (values through agent_server_restore, change history through
 * agent_history). Its text (JSON) is store/state_json.c's. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "model/history.h"
#include "model/server.h"
#include "model/state.h"
#include "state_json.h"
#include "loop/timer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SAVE_DELAY_US 200000
#define READ_TIME_SAVE_S AGENT_STATE_REWRITE_S /* how stale a saved read time may get */
#define RETRY_FIRST_S 1                        /* a failed save is retried after this ... */
#define RETRY_MAX_S 60                         /* ... doubling up to this */

static char *state_path;
static bool dirty;
static time_t dirty_since; /* monotonic: the oldest change not in the file */
static time_t last_save;   /* monotonic seconds */
static unsigned save_alarm;
/* A failed save is retried by an alarm with back-off until one succeeds;
 * the outage is logged when it starts and when it ends, never per attempt
 * (a read-only file system would otherwise log at every refresh). */
static bool failing;
static unsigned retry_s;
static unsigned failed_attempts;

static void cancel_alarm(void)
{
    if (save_alarm)
        snmp_alarm_unregister(save_alarm);
    save_alarm = 0;
}

void agent_state_configure(const char *path)
{
    if (state_path && path && strcmp(state_path, path) == 0)
        return; /* a reload with the same file keeps any retry going */
    cancel_alarm();
    failing = false;
    failed_attempts = 0;
    free(state_path);
    state_path = path ? strdup(path) : NULL;
}

static char *render_state(void)
{
    agent_state_render *r = agent_state_render_begin();
    for (agent_server *s = agent_servers_first(); r && s; s = s->next) {
        agent_state_server entry = {.index = s->cfg.index};
        snprintf(entry.url, sizeof entry.url, "%s", s->cfg.url);
        for (int i = 0; i < CUPI_RES_COUNT; i++) {
            entry.res[i].valid = s->res[i].valid;
            entry.res[i].snap = s->res[i].snap;
            entry.res[i].read_at = s->res[i].read_at;
        }
        entry.history = agent_history_to_json(s);
        int rc = entry.history ? agent_state_render_add(r, &entry) : -1;
        cJSON_Delete(entry.history);
        if (rc != 0) {
            free(agent_state_render_finish(r)); /* out of memory: the save fails */
            return NULL;
        }
    }
    return agent_state_render_finish(r);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* temp file in the same directory, fsync, rename, fsync the directory: a
 * crash leaves either the old file or the new one, never half of one. The
 * temp file is created exclusively (mkostemp, mode 0600): a name planted
 * beforehand, e.g. a symlink in a shared directory, is never followed. */
static int save_atomically(const char *path, const char *text)
{ /* 0, or the errno of what failed */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    char *dir_copy = strdup(path);
    int rc = -1, fd = -1, saved_errno = ENOMEM;
    if (!tmp || !dir_copy)
        goto out;
    snprintf(tmp, plen + sizeof ".tmp.XXXXXX", "%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        saved_errno = errno;
        goto out;
    }
    if (write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
        saved_errno = errno;
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        saved_errno = errno;
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(tmp);
    free(dir_copy);
    return rc == 0 ? 0 : saved_errno ? saved_errno : EIO;
}

static void save_later(unsigned clientreg, void *arg);

static void saved(time_t now)
{
    if (failing)
        snmp_log(LOG_NOTICE,
                 "cupi: state file %s written again; it was stale for %lld s "
                 "(%u failed attempt%s)\n",
                 state_path, (long long)(now - dirty_since), failed_attempts,
                 failed_attempts == 1 ? "" : "s");
    failing = false;
    failed_attempts = 0;
    dirty = false;
    last_save = now;
}

static void save_failed(const char *reason)
{
    failed_attempts++;
    if (!failing) {
        snmp_log(LOG_ERR,
                 "cupi: cannot write state file %s: %s; the file is stale until a save "
                 "succeeds (retried after %d s, doubling up to every %d s)\n",
                 state_path, reason, RETRY_FIRST_S, RETRY_MAX_S);
        failing = true;
        retry_s = RETRY_FIRST_S;
    }
    DEBUGMSGTL(("cupi", "state file save attempt %u failed (%s), next in %u s\n",
                failed_attempts, reason, retry_s));
    cancel_alarm();
    struct timeval tv = {(time_t)retry_s, 0};
    save_alarm = snmp_alarm_register_hr(tv, 0, save_later, NULL);
    retry_s = retry_s >= RETRY_MAX_S / 2 ? RETRY_MAX_S : retry_s * 2;
}

/* One save attempt; a failure arms the retry. True when the file is current. */
static bool save_now(void)
{
    if (!state_path || !dirty)
        return true;
    char *text = render_state();
    int err = text ? save_atomically(state_path, text) : ENOMEM;
    free(text);
    if (err == 0)
        saved(agent_now_s());
    else
        save_failed(strerror(err));
    return err == 0;
}

void agent_state_flush(void)
{
    save_now();
}

static void save_later(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    save_alarm = 0;
    save_now();
}

void agent_state_mark_dirty(bool urgent)
{
    if (!state_path)
        return;
    time_t now = agent_now_s();
    if (!dirty)
        dirty_since = now;
    dirty = true;
    if (failing || save_alarm)
        return; /* a save (or its retry) is already on its way */
    if (!urgent && last_save && now - last_save < READ_TIME_SAVE_S)
        return;
    struct timeval tv = {0, SAVE_DELAY_US};
    save_alarm = snmp_alarm_register_hr(tv, 0, save_later, NULL);
}

/* --- loading ------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return NULL;
    }
    /* The change history makes the file grow with the servers and
     * cupiHistorySize: the buffer is the file's size, within that bound. */
    size_t max = AGENT_STATE_BASE_SIZE + agent_history_file_budget();
    if (max > AGENT_STATE_MAX_SIZE)
        max = AGENT_STATE_MAX_SIZE;
    struct stat st;
    size_t size = fstat(fileno(f), &st) == 0 && st.st_size >= 0 ? (size_t)st.st_size : 0;
    char *buf = size <= max ? malloc(size + 1) : NULL;
    size_t n = buf ? fread(buf, 1, size + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (size > max) {
        *why = "file too large";
        return NULL;
    }
    if (!buf || err || n > size) {
        *why = !buf ? "out of memory" : err ? "read error" : "file too large";
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Only entries of configured servers are kept in memory. */
static bool configured(unsigned index, const char *url, void *arg)
{
    (void)arg;
    const agent_server *s = agent_server_find(index);
    return s && strcmp(s->cfg.url, url) == 0;
}

void agent_state_load(void)
{
    if (!state_path)
        return;
    const char *why = NULL;
    size_t len = 0;
    errno = 0;
    char *text = read_file(state_path, &len, &why);
    if (!text) {
        snmp_log(errno == ENOENT ? LOG_INFO : LOG_WARNING,
                 "cupi: state file %s not loaded: %s\n", state_path, why);
        return;
    }
    agent_state_doc doc;
    char reason[128];
    int rc =
        agent_state_parse(text, len, time(NULL), configured, NULL, &doc, reason, sizeof reason);
    free(text);
    if (rc != 0) {
        snmp_log(LOG_WARNING, "cupi: state file %s ignored: %s\n", state_path, reason);
        return;
    }
    unsigned loaded = 0, skipped = 0;
    for (agent_server *s = agent_servers_first(); s; s = s->next) {
        const agent_state_server *saved_entry =
            agent_state_doc_find(&doc, s->cfg.index, s->cfg.url);
        if (!saved_entry)
            continue; /* not saved, or saved for another URL */
        if (saved_entry->history)
            agent_history_from_json(s, saved_entry->history);
        skipped += saved_entry->invalid;
        for (int r = 0; r < CUPI_RES_COUNT; r++) {
            const agent_state_resource *res = &saved_entry->res[r];
            char unservable[256];
            if (!res->valid)
                continue;
            if (!agent_snapshot_servable(&res->snap, unservable, sizeof unservable)) {
                skipped++; /* what a CUPI answer could not bring in either */
                continue;
            }
            if (s->res[r].valid)
                continue; /* CUPI already answered: fresher */
            agent_server_restore(s, &res->snap, res->read_at);
            loaded++;
        }
    }
    agent_state_doc_free(&doc);
    snmp_log(skipped ? LOG_WARNING : LOG_INFO,
             "cupi: state file %s: %u resource(s) loaded, %u invalid ignored\n", state_path,
             loaded, skipped);
}

static void on_event(const agent_event *ev, void *arg)
{
    (void)arg;
    if (ev->type != AGENT_EVENT_VALUES)
        agent_state_mark_dirty(true); /* rows came, went or moved */
    else if (ev->source != AGENT_SOURCE_NONE)
        agent_state_mark_dirty(ev->first || ev->changed); /* else only the read time */
}

int agent_state_start(void)
{
    return agent_server_subscribe(on_event, NULL);
}

void agent_state_shutdown(void)
{
    cancel_alarm();
    if (!save_now())
        snmp_log(LOG_ERR,
                 "cupi: state file %s is stale at exit: it lacks the values of the "
                 "last %lld s\n",
                 state_path, (long long)(agent_now_s() - dirty_since));
    cancel_alarm(); /* the failed attempt armed a retry */
    free(state_path);
    state_path = NULL;
    dirty = false;
    failing = false;
    failed_attempts = 0;
}
