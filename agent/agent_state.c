/* agent_state.c - the state file. JSON:
 *   {"format":"cupi-snmp-state","version":2,"servers":[{"index":1,"url":"...",
 *    "server":{"readAt":1700000000,"values":{"Port":"587",...}},"client":{...},
 *    "history":{...}}]}
 * Values are CUPI text forms, validated like a CUPI answer when loaded.
 * Version 2 added "history" (agent_history.c reads and writes it); a
 * version 1 file loads without one. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "agent_history.h"
#include "agent_server.h"
#include "agent_state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_FORMAT "cupi-snmp-state"
#define STATE_VERSION 2
#define STATE_OLDEST_VERSION 1
#define STATE_MAX_SIZE (4u * 1024u * 1024u)
#define SAVE_DELAY_US 200000
#define READ_TIME_SAVE_S 300      /* how stale a saved read time may get */
#define READ_AT_MAX_AHEAD_S 86400 /* a saved readAt further ahead is corrupt */

static char *state_path;
static bool dirty;
static time_t last_save; /* monotonic seconds */
static unsigned save_alarm;

void agent_state_configure(const char *path)
{
    free(state_path);
    state_path = path ? strdup(path) : NULL;
}

static cJSON *resource_json(const agent_resource *res)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *values = cJSON_AddObjectToObject(obj, "values");
    if (!obj || !values || !cJSON_AddNumberToObject(obj, "readAt", (double)res->read_at)) {
        cJSON_Delete(obj);
        return NULL;
    }
    size_t n;
    const cupi_field *f = cupi_fields(res->which, &n);
    char text[CUPI_STR_MAX + 32];
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only || !cupi_snapshot_has(&res->snap, f[i].column))
            continue; /* never a password */
        cupi_value_format(&f[i], &res->snap.v[i], text, sizeof text);
        if (!cJSON_AddStringToObject(values, f[i].name, text)) {
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

static char *render_state(void)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "servers");
    bool ok = root && list && cJSON_AddStringToObject(root, "format", STATE_FORMAT) &&
              cJSON_AddNumberToObject(root, "version", STATE_VERSION);
    for (agent_server *s = agent_servers_first(); ok && s; s = s->next) {
        cJSON *entry = cJSON_CreateObject();
        ok = entry && cJSON_AddItemToArray(list, entry) &&
             cJSON_AddNumberToObject(entry, "index", s->cfg.index) &&
             cJSON_AddStringToObject(entry, "url", s->cfg.url);
        for (int r = 0; ok && r < CUPI_RES_COUNT; r++) {
            if (!s->res[r].valid)
                continue;
            cJSON *res = resource_json(&s->res[r]);
            ok = res && cJSON_AddItemToObject(entry, cupi_resource_name((cupi_resource)r), res);
        }
        cJSON *history = ok ? agent_history_to_json(s) : NULL;
        if (history && !cJSON_AddItemToObject(entry, "history", history)) {
            cJSON_Delete(history);
            history = NULL;
        }
        ok = ok && history;
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
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
{
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
    if (rc != 0)
        snmp_log(LOG_ERR, "cupi: cannot write state file %s: %s\n", path,
                 strerror(saved_errno));
    free(tmp);
    free(dir_copy);
    return rc;
}

void agent_state_flush(void)
{
    if (!state_path || !dirty)
        return;
    char *text = render_state();
    if (!text) {
        snmp_log(LOG_ERR, "cupi: out of memory rendering the state file\n");
        return;
    }
    if (save_atomically(state_path, text) == 0) {
        dirty = false;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        last_save = ts.tv_sec;
    }
    free(text);
}

static void save_later(unsigned clientreg, void *arg)
{
    (void)clientreg;
    (void)arg;
    save_alarm = 0;
    agent_state_flush();
}

void agent_state_mark_dirty(bool urgent)
{
    if (!state_path)
        return;
    dirty = true;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (!urgent && last_save && ts.tv_sec - last_save < READ_TIME_SAVE_S)
        return;
    if (!save_alarm) {
        struct timeval tv = {0, SAVE_DELAY_US};
        save_alarm = snmp_alarm_register_hr(tv, 0, save_later, NULL);
    }
}

/* --- loading ------------------------------------------------------------- */

static char *read_file(const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = strerror(errno);
        return NULL;
    }
    /* The change history makes the file grow with the servers and
     * cupiHistorySize: the buffer is the file's size, within that bound. */
    size_t max = STATE_MAX_SIZE + agent_history_file_budget();
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
    buf[n] = '\0';
    return buf;
}

/* Every readable field must be there with a valid value, or the resource is
 * not taken: half a snapshot would be served as if it were the truth. */
static bool parse_resource(const cJSON *obj, cupi_resource r, cupi_snapshot *out,
                           time_t *read_at)
{
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(obj, "values");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(obj, "readAt");
    /* A time this agent wrote: not before the epoch, not far in the future
     * (and within time_t: casting 1e300 is undefined behaviour). */
    if (!cJSON_IsObject(values) || !cJSON_IsNumber(when) || !(when->valuedouble >= 0) ||
        when->valuedouble > (double)time(NULL) + READ_AT_MAX_AHEAD_S)
        return false;
    cupi_snapshot_init(out, r);
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, f[i].name);
        cupi_value val;
        if (!cJSON_IsString(v) ||
            cupi_value_parse(&f[i], v->valuestring, strlen(v->valuestring), &val) != CUPI_VALID)
            return false;
        cupi_snapshot_set(out, f[i].column, &val);
    }
    char why[256];
    if (!agent_snapshot_servable(out, why, sizeof why))
        return false; /* what a CUPI answer could not bring in either */
    *read_at = (time_t)when->valuedouble;
    return true;
}

void agent_state_load(void)
{
    if (!state_path)
        return;
    const char *why = NULL;
    char *text = read_file(state_path, &why);
    if (!text) {
        snmp_log(errno == ENOENT ? LOG_INFO : LOG_WARNING,
                 "cupi: state file %s not loaded: %s\n", state_path, why);
        return;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "servers");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, STATE_FORMAT) != 0 ||
        !cJSON_IsNumber(version) || !cJSON_IsArray(list)) {
        snmp_log(LOG_WARNING, "cupi: state file %s ignored: not a cupi-snmp state file\n",
                 state_path);
    } else if (version->valueint < STATE_OLDEST_VERSION || version->valueint > STATE_VERSION) {
        snmp_log(LOG_WARNING, "cupi: state file %s ignored: version %d, expected %d..%d\n",
                 state_path, version->valueint, STATE_OLDEST_VERSION, STATE_VERSION);
    } else {
        unsigned loaded = 0, skipped = 0;
        const cJSON *entry;
        cJSON_ArrayForEach(entry, list)
        {
            const cJSON *index = cJSON_GetObjectItemCaseSensitive(entry, "index");
            const cJSON *url = cJSON_GetObjectItemCaseSensitive(entry, "url");
            agent_server *s = cJSON_IsNumber(index) && index->valueint > 0
                                  ? agent_server_find((unsigned)index->valueint)
                                  : NULL;
            if (!s || !cJSON_IsString(url) || strcmp(url->valuestring, s->cfg.url) != 0)
                continue; /* not configured any more, or another server now */
            const cJSON *history = cJSON_GetObjectItemCaseSensitive(entry, "history");
            if (history)
                agent_history_from_json(s, history);
            for (int r = 0; r < CUPI_RES_COUNT; r++) {
                const cJSON *obj = cJSON_GetObjectItemCaseSensitive(
                    entry, cupi_resource_name((cupi_resource)r));
                cupi_snapshot snap;
                time_t read_at;
                if (!obj)
                    continue;
                if (!parse_resource(obj, (cupi_resource)r, &snap, &read_at)) {
                    skipped++;
                    continue;
                }
                if (s->res[r].valid)
                    continue; /* CUPI already answered: fresher */
                agent_server_restore(s, &snap, read_at);
                loaded++;
            }
        }
        snmp_log(skipped ? LOG_WARNING : LOG_INFO,
                 "cupi: state file %s: %u resource(s) loaded, %u invalid ignored\n", state_path,
                 loaded, skipped);
    }
    cJSON_Delete(root);
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
    if (save_alarm)
        snmp_alarm_unregister(save_alarm);
    save_alarm = 0;
    agent_state_flush();
    free(state_path);
    state_path = NULL;
    dirty = false;
}
