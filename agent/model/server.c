/* model/server.c - configured servers, their background refresh, status
 * transitions and change bookkeeping. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "model/server.h"

#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

agent_settings agent_cfg; /* from the configuration (agent_servers_apply) */

#define MAX_SUBSCRIBERS 8

static struct {
    agent_event_fn fn;
    void *arg;
} subscribers[MAX_SUBSCRIBERS];
static size_t n_subscribers;

static agent_server *servers;      /* sorted by index, linked through next */
static agent_server **by_position; /* the same rows as an array, for O(log n) lookups */
static size_t n_servers;

static const char *const status_names[] = {
    [AGENT_STATUS_UNKNOWN] = "unknown",
    [AGENT_STATUS_OK] = "ok",
    [AGENT_STATUS_UNREACHABLE] = "unreachable",
    [AGENT_STATUS_AUTH_FAILED] = "authFailed",
    [AGENT_STATUS_TLS_FAILED] = "tlsFailed",
    [AGENT_STATUS_NOT_SUPPORTED] = "notSupported",
    [AGENT_STATUS_BUSY] = "busy",
    [AGENT_STATUS_BAD_RESPONSE] = "badResponse",
};

const char *agent_status_name(agent_status st)
{
    return st >= AGENT_STATUS_UNKNOWN && st <= AGENT_STATUS_BAD_RESPONSE ? status_names[st]
                                                                         : "unknown";
}

static const agent_status status_of_cupi[] = {
    [CUPI_OK] = AGENT_STATUS_OK,
    [CUPI_E_TRANSPORT] = AGENT_STATUS_UNREACHABLE,
    [CUPI_E_TIMEOUT] = AGENT_STATUS_UNREACHABLE,
    [CUPI_E_TLS] = AGENT_STATUS_TLS_FAILED,
    [CUPI_E_AUTH] = AGENT_STATUS_AUTH_FAILED,
    [CUPI_E_NOT_FOUND] = AGENT_STATUS_NOT_SUPPORTED,
    [CUPI_E_BUSY] = AGENT_STATUS_BUSY,
};

agent_status agent_status_from_cupi(cupi_status st)
{
    if ((size_t)st < sizeof status_of_cupi / sizeof status_of_cupi[0] && status_of_cupi[st])
        return status_of_cupi[st];
    return AGENT_STATUS_BAD_RESPONSE; /* rejected, 5xx, parse, too large ... */
}

uint32_t agent_uptime_ticks(void)
{
    return (uint32_t)netsnmp_get_agent_uptime();
}

int agent_server_subscribe(agent_event_fn fn, void *arg)
{
    if (n_subscribers == MAX_SUBSCRIBERS)
        return -1;
    subscribers[n_subscribers].fn = fn;
    subscribers[n_subscribers].arg = arg;
    n_subscribers++;
    return 0;
}

void agent_server_unsubscribe_all(void)
{
    n_subscribers = 0;
}

static void publish(const agent_event *ev)
{
    for (size_t i = 0; i < n_subscribers; i++)
        subscribers[i].fn(ev, subscribers[i].arg);
}

static void publish_simple(agent_event_type type, agent_server *s)
{
    agent_event ev = {.type = type, .server = s};
    publish(&ev);
}

agent_server *agent_servers_first(void)
{
    return servers;
}

size_t agent_servers_count(void)
{
    return n_servers;
}

agent_server *agent_server_at(size_t pos)
{
    return pos < n_servers ? by_position[pos] : NULL;
}

/* The first of n rows sorted by index whose index is not below index (n
 * when none); index_at(rows, i) is row i's. The one search of both the
 * model's rows and a configuration's. */
static size_t lower_bound(const void *rows, size_t n,
                          unsigned (*index_at)(const void *, size_t), unsigned index)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (index_at(rows, mid) < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static unsigned model_row_index(const void *rows, size_t i)
{
    return ((agent_server *const *)rows)[i]->cfg.index;
}

static unsigned config_row_index(const void *rows, size_t i)
{
    return ((const cupi_server_config *)rows)[i].index;
}

size_t agent_server_position(unsigned index)
{
    return lower_bound(by_position, n_servers, model_row_index, index);
}

agent_server *agent_server_find(unsigned index)
{
    agent_server *s = agent_server_at(agent_server_position(index));
    return s && s->cfg.index == index ? s : NULL;
}

agent_server *agent_server_next(unsigned index)
{
    return index == UINT_MAX ? NULL : agent_server_at(agent_server_position(index + 1));
}

/* Re-makes the position array after the list changed; false when out of
 * memory (the old array, still valid for the rows it holds, is dropped and
 * lookups see no rows until the next successful rebuild). */
static bool reindex(void)
{
    size_t n = 0;
    for (agent_server *s = servers; s; s = s->next)
        n++;
    agent_server **array = n ? malloc(n * sizeof *array) : NULL;
    free(by_position);
    by_position = array;
    n_servers = array ? n : 0;
    n = 0;
    for (agent_server *s = servers; array && s; s = s->next)
        array[n++] = s;
    return n_servers == n;
}

uint32_t agent_server_data_age(const agent_server *s)
{
    time_t now = time(NULL), oldest = 0;
    bool any = false;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        if (!s->res[r].valid)
            continue;
        if (!any || s->res[r].read_at < oldest)
            oldest = s->res[r].read_at;
        any = true;
    }
    if (!any)
        return UINT32_MAX;
    return now > oldest ? (uint32_t)(now - oldest) : 0;
}

void agent_server_counters(const agent_server *s, uint32_t *requests, uint32_t *failures)
{
    *requests = s->requests_base;
    *failures = s->failures_base;
    const worker_client *live[] = {s->client, s->retired};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        cupi_client_stats st;
        if (!live[i])
            continue;
        worker_client_stats(live[i], &st);
        *requests += st.requests;
        *failures += st.failures;
    }
}

/* --- values and status --------------------------------------------------- */

static void strip_write_only(cupi_snapshot *snap)
{
    size_t n;
    const cupi_field *f = cupi_fields(snap->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only) {
            snap->present &= ~(CUPI_COLUMN_BIT(f[i].column));
            memset(&snap->v[i], 0, sizeof snap->v[i]);
        }
    }
}

/* A SET's requests come back to back: its client keeps the connection
 * between them (see cupi_client_hold_connections in cupi/client.h). */
void agent_server_set_begin(agent_server *s)
{
    if (!s->pending_sets++ && s->client) {
        s->held = s->client;
        worker_client_hold(s->held, true);
    }
}

void agent_server_set_end(agent_server *s)
{
    if (s->pending_sets)
        s->pending_sets--;
    if (s->pending_sets)
        return;
    if (s->held && (s->held == s->client || s->held == s->retired))
        worker_client_hold(s->held, false);
    s->held = NULL;
    if (s->retired || s->leaving)
        agent_timer_set(&s->retire_timer, agent_now_ms());
}

void agent_server_set_commit(agent_server *s, const cupi_snapshot *after, uint32_t also_changed)
{
    s->res[after->resource].committed_ms = agent_now_ms();
    agent_server_take_values(s, after, AGENT_SOURCE_SNMP, also_changed);
}

bool agent_server_fresh_values(const agent_server *s, cupi_resource r, unsigned max_age_s,
                               cupi_snapshot *out)
{
    const agent_resource *res = &s->res[r];
    time_t now = time(NULL);
    bool late_put_expected = res->late_put && agent_now_s() <= res->late_put_until;
    if (!res->valid || res->failing || late_put_expected || now < res->read_at ||
        now - res->read_at >= (time_t)max_age_s)
        return false;
    *out = res->snap;
    return true;
}

/* How long a PUT without answer may still turn up: CUPI queues requests
 * (at most five run at once), so a late one lands within a few timeouts;
 * and at least two background reads must get the chance to see it. */
static time_t late_put_window(void)
{
    time_t timeouts = (time_t)(4 * agent_cfg.timeout_ms / 1000);
    time_t reads = 2 * (time_t)agent_cfg.poll_interval_s;
    time_t window = timeouts > reads ? timeouts : reads;
    return window > 60 ? window : 60;
}

void agent_server_expect_late_put(agent_server *s, const cupi_snapshot *changes)
{
    agent_resource *res = &s->res[changes->resource];
    if (!res->late_put && !(res->late_put = malloc(sizeof *res->late_put)))
        return; /* out of memory: a late PUT would then show as external */
    *res->late_put = *changes;
    strip_write_only(res->late_put);
    res->late_put_until = agent_now_s() + late_put_window();
    agent_event ev = {.type = AGENT_EVENT_STALE, .server = s, .resource = changes->resource};
    publish(&ev); /* the truth, as soon as the SET lets go */
}

/* True when every changed column now holds what the late PUT asked for. */
static void forget_late_put(agent_resource *res)
{
    free(res->late_put);
    res->late_put = NULL;
}

static bool is_late_put(agent_resource *res, const cupi_snapshot *now, uint32_t changed)
{
    if (!res->late_put)
        return false;
    if (agent_now_s() > res->late_put_until) {
        forget_late_put(res);
        return false;
    }
    if ((changed & ~res->late_put->present) || cupi_snapshot_unstuck(res->late_put, now))
        return false;
    forget_late_put(res);
    return true;
}

void agent_server_restore(agent_server *s, const cupi_snapshot *snap, time_t read_at)
{
    agent_resource *res = &s->res[snap->resource];
    if (res->valid)
        return;
    res->snap = *snap;
    strip_write_only(&res->snap);
    res->read_at = read_at;
    res->valid = true;
    agent_event ev = {.type = AGENT_EVENT_VALUES,
                      .server = s,
                      .resource = snap->resource,
                      .first = true,
                      .source = AGENT_SOURCE_NONE};
    publish(&ev);
}

uint32_t agent_server_take_values(agent_server *s, const cupi_snapshot *snap,
                                  agent_change_source source, uint32_t also_changed)
{
    return agent_server_take_values_at(s, snap, source, also_changed, time(NULL));
}

uint32_t agent_server_take_values_at(agent_server *s, const cupi_snapshot *snap,
                                     agent_change_source source, uint32_t also_changed,
                                     time_t read_at)
{
    agent_resource *res = &s->res[snap->resource];
    cupi_snapshot clean = *snap;
    strip_write_only(&clean);
    bool first = !res->valid;
    uint32_t changed = res->valid ? cupi_snapshot_diff(&res->snap, &clean) | also_changed : 0;
    cupi_snapshot before = res->snap;
    if (changed && source == AGENT_SOURCE_EXTERNAL && is_late_put(res, &clean, changed)) {
        snmp_log(LOG_NOTICE, "cupi: server %u: the %s PUT of an earlier SET was applied late\n",
                 s->cfg.index, cupi_resource_name(snap->resource));
        source = AGENT_SOURCE_SNMP;
    }
    res->snap = clean;
    res->read_at = read_at;
    res->valid = true;
    if (changed) {
        s->config_changes++;
        s->last_change_ticks = agent_uptime_ticks();
        s->last_change_source = source;
        DEBUGMSGTL(("cupi", "server %u: %s configuration changed (mask 0x%x, %s)\n",
                    s->cfg.index, cupi_resource_name(snap->resource), changed,
                    source == AGENT_SOURCE_SNMP ? "snmp" : "external"));
    }
    agent_event ev = {.type = AGENT_EVENT_VALUES,
                      .server = s,
                      .resource = snap->resource,
                      .changed = changed,
                      .first = first,
                      .source = source,
                      .before = first ? NULL : &before};
    publish(&ev);
    return changed;
}

void agent_server_take_status(agent_server *s, cupi_status st, const char *message)
{
    if (st == CUPI_E_CANCELLED)
        return;
    /* The server is ok only when no resource's last refresh failed; while
     * resources fail in different ways, the status already shown stays. */
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        const agent_resource *res = &s->res[r];
        if (!res->failing)
            continue;
        bool shown = agent_status_from_cupi(res->fail_status) == s->status;
        if (st == CUPI_OK || shown) {
            st = res->fail_status;
            message = res->fail_message;
        }
        if (shown)
            break;
    }
    agent_status now = agent_status_from_cupi(st);
    if (st == CUPI_OK)
        s->last_error[0] = '\0';
    else
        snprintf(s->last_error, sizeof s->last_error, "%s",
                 message && *message ? message : cupi_status_text(st));
    if (now == s->status)
        return;
    agent_status before = s->status;
    s->status = now;
    snmp_log(now == AGENT_STATUS_OK ? LOG_NOTICE : LOG_WARNING,
             "cupi: server %u (%s): status %s -> %s%s%s\n", s->cfg.index, s->cfg.name,
             agent_status_name(before), agent_status_name(now), s->last_error[0] ? ": " : "",
             s->last_error);
    agent_event ev = {.type = AGENT_EVENT_STATUS, .server = s, .old_status = before};
    publish(&ev);
}

void agent_server_take_read(agent_server *s, const worker_read *r)
{
    agent_resource *res = &s->res[r->resource];
    cupi_status st = r->status;
    res->failing = st != CUPI_OK;
    if (res->failing) {
        res->fail_status = st;
        snprintf(res->fail_message, sizeof res->fail_message, "%s", r->why);
    }
    if (st == CUPI_OK && (r->started_ms <= res->committed_ms || s->pending_sets)) {
        /* A SET committed (or is committing) since this read started: its
         * read-back is newer than what this GET saw. */
        DEBUGMSGTL(("cupi", "server %u: stale %s read dropped\n", s->cfg.index,
                    cupi_resource_name(r->resource)));
    } else if (st == CUPI_OK) {
        agent_server_take_values_at(s, &r->snapshot, AGENT_SOURCE_EXTERNAL, 0, r->read_at);
    } else {
        DEBUGMSGTL(("cupi", "server %u: %s read failed: %s\n", s->cfg.index,
                    cupi_resource_name(r->resource), r->why));
        /* cupiServerLastError keeps a fixed text per fault; libcurl's own
         * words (address, measured time) go to the log, once per new text. */
        if (r->detail[0] && strcmp(r->why, s->last_error) != 0)
            snmp_log(LOG_INFO, "cupi: server %u (%s): %s read: %s (%s)\n", s->cfg.index,
                     s->cfg.name, cupi_resource_name(r->resource), r->why, r->detail);
    }
    agent_server_take_status(s, st, r->why);
}

/* Frees a client, keeping its counters in the row's totals. */
static void drop_client(agent_server *s, worker_client *c)
{
    cupi_client_stats st;
    worker_client_stats(c, &st);
    s->requests_base += st.requests;
    s->failures_base += st.failures;
    worker_client_free(c); /* pending callbacks run with CUPI_E_CANCELLED */
}

/* A client a reload replaced while a SET used it, freed once the SET is
 * over (from a timer: the SET may end inside one of its callbacks). */
static void remove_leaving(agent_server *s);

/* Takes the row at *link out of the list, saying so: its subscribers drop
 * what they hold for it (the lookups are the caller's to rebuild). */
static void take_out(agent_server **link)
{
    agent_server *s = *link;
    snmp_log(LOG_NOTICE, "cupi: server %u (%s) removed\n", s->cfg.index, s->cfg.name);
    publish_simple(AGENT_EVENT_REMOVED, s);
    *link = s->next;
}

static void drop_retired(agent_timer *t)
{
    agent_server *s = (agent_server *)((char *)t - offsetof(agent_server, retire_timer));
    if (s->pending_sets)
        return;
    if (s->retired) {
        drop_client(s, s->retired);
        s->retired = NULL;
    }
    if (s->leaving)
        remove_leaving(s);
}

/* --- configuration ------------------------------------------------------- */

static bool str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* True when the client must be rebuilt for the new settings. */
static bool connection_changed(const cupi_server_config *a, const cupi_server_config *b)
{
    return !str_same(a->url, b->url) || !str_same(a->user, b->user) ||
           !str_same(a->password, b->password) || !str_same(a->ca_file, b->ca_file) ||
           a->insecure != b->insecure || a->format != b->format;
}

/* An idle kept TLS connection costs about 50 KB on this side: with a poll
 * short enough to keep connections, the first KEPT_SERVERS_MAX servers (by
 * position in index order, stable across reloads) keep theirs and the
 * others close after use and resume their TLS session. A thousand kept
 * connections would be most of the agent's memory. */
#define KEPT_SERVERS_MAX 200

/* The client options of the server at position, and whether its client
 * keeps connections. */
static bool client_options(const cupi_config *cfg, const cupi_server_config *c, size_t position,
                           cupi_client_options *o)
{
    cupi_config_client_options(cfg, c, o);
    if (o->expected_idle_ms > CUPI_KEEPALIVE_MAX_IDLE_MS)
        return false; /* the poll is too long for it anyway */
    if (position < KEPT_SERVERS_MAX)
        return true;
    o->expected_idle_ms = CUPI_KEEPALIVE_MAX_IDLE_MS + 1;
    return false;
}

static worker_client *make_client(const cupi_server_config *c, const cupi_config *cfg,
                                  size_t position)
{
    char err[256];
    cupi_client_options o;
    client_options(cfg, c, position, &o);
    worker_client *client = worker_client_new(&o, c->index, NULL, err, sizeof err);
    if (!client)
        snmp_log(LOG_ERR, "cupi: %s: server %u: %s\n", c->origin ? c->origin : "config",
                 c->index, err);
    return client;
}

static void server_free(agent_server *s)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        forget_late_put(&s->res[r]);
    agent_timer_cancel(&s->retire_timer);
    if (s->retired)
        worker_client_free(s->retired);
    if (s->client)
        worker_client_free(s->client);
    cupi_server_config_free(&s->cfg);
    free(s);
}

static agent_server *server_new(const cupi_server_config *c)
{
    agent_server *s = calloc(1, sizeof *s);
    if (!s || cupi_server_config_copy(&s->cfg, c) != 0) {
        free(s);
        return NULL;
    }
    s->status = AGENT_STATUS_UNKNOWN;
    s->last_change_source = AGENT_SOURCE_NONE;
    s->retire_timer.fire = drop_retired;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        s->res[r].owner = s;
        s->res[r].which = (cupi_resource)r;
        cupi_snapshot_init(&s->res[r].snap, (cupi_resource)r);
    }
    return s;
}

/* A reload replaces the client. One a SET may be waiting on is kept until
 * the SET ends (agent_server_set_end frees it): cancelling a PUT that already
 * reached CUPI would fail the SET with the change applied and not put back. */
static void retire_client(agent_server *s)
{
    if (!s->client)
        return;
    if (s->pending_sets && !s->retired)
        s->retired = s->client;
    else
        drop_client(s, s->client);
    s->client = NULL;
}

static bool config_has(const cupi_config *cfg, unsigned index)
{
    /* cfg->servers is sorted by index */
    size_t pos = lower_bound(cfg->servers, cfg->n_servers, config_row_index, index);
    return pos < cfg->n_servers && cfg->servers[pos].index == index;
}

int agent_servers_apply(const cupi_config *cfg)
{
    /* Settings every client carries (the poll interval decides whether its
     * connections are kept between reads): a change rebuilds them all, and
     * their first reads are spread again. */
    bool settings_changed = cfg->timeout_ms != agent_cfg.timeout_ms ||
                            cfg->connect_timeout_ms != agent_cfg.connect_timeout_ms ||
                            cfg->max_concurrent != agent_cfg.max_concurrent ||
                            cfg->poll_interval_s != agent_cfg.poll_interval_s;
    /* Build every client first, so that a bad configuration changes nothing. */
    worker_client **fresh = calloc(cfg->n_servers ? cfg->n_servers : 1, sizeof *fresh);
    if (!fresh)
        return -1;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const agent_server *old = agent_server_find(cfg->servers[i].index);
        cupi_client_options o;
        /* A server that moved across the KEPT_SERVERS_MAX line changes its
         * policy too: the cap holds however servers come and go. */
        if (old && old->client && !settings_changed &&
            !connection_changed(&old->cfg, &cfg->servers[i]) &&
            old->keeps_connections == client_options(cfg, &cfg->servers[i], i, &o))
            continue;
        fresh[i] = make_client(&cfg->servers[i], cfg, i);
        if (!fresh[i]) {
            for (size_t j = 0; j < i; j++)
                if (fresh[j])
                    worker_client_free(fresh[j]);
            free(fresh);
            return -1;
        }
    }

    agent_cfg.poll_interval_s = cfg->poll_interval_s;
    agent_cfg.cache_ttl_s = cfg->cache_ttl_s;
    agent_cfg.timeout_ms = cfg->timeout_ms;
    agent_cfg.connect_timeout_ms = cfg->connect_timeout_ms;
    agent_cfg.max_concurrent = cfg->max_concurrent;
    agent_cfg.notifications = cfg->notifications;
    worker_configure(&(worker_settings){.poll_interval_s = cfg->poll_interval_s,
                                        .cache_ttl_s = cfg->cache_ttl_s,
                                        .max_refreshes = cfg->max_refreshes,
                                        .unreachable_after = cfg->unreachable_after,
                                        .max_data_age_s = cfg->max_data_age_s});

    /* Remove servers that are gone: unlinked and out of the lookups before
     * they are freed, as freeing cancels requests whose callbacks look rows
     * up by index. */
    agent_server *gone = NULL;
    for (agent_server **link = &servers; *link;) {
        agent_server *s = *link;
        if (config_has(cfg, s->cfg.index)) {
            link = &s->next;
            continue;
        }
        if (s->pending_sets) {
            /* Its SET's requests may already have reached CUPI: cancelling
             * them would report a failure for a change that was made, and
             * record none. The row goes when the SET ends. */
            if (!s->leaving)
                snmp_log(LOG_NOTICE,
                         "cupi: server %u (%s) removed; it stays until its SET ends\n",
                         s->cfg.index, s->cfg.name);
            s->leaving = true;
            link = &s->next;
            continue;
        }
        take_out(link);
        s->next = gone;
        gone = s;
    }
    if (gone)
        reindex();
    while (gone) {
        agent_server *s = gone;
        gone = s->next;
        server_free(s);
    }

    /* Add or update, keeping the list sorted (cfg->servers is sorted). */
    agent_server **tail = &servers;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const cupi_server_config *c = &cfg->servers[i];
        while (*tail && (*tail)->cfg.index < c->index)
            tail = &(*tail)->next;
        agent_server *s = (*tail && (*tail)->cfg.index == c->index) ? *tail : NULL;
        if (s && s->leaving) {
            snmp_log(LOG_INFO, "cupi: server %u (%s) configured again before it went\n",
                     c->index, c->name);
            s->leaving = false;
        }
        if (!s) {
            s = server_new(c);
            if (!s) {
                if (fresh[i])
                    worker_client_free(fresh[i]);
                snmp_log(LOG_ERR, "cupi: out of memory adding server %u\n", c->index);
                continue;
            }
            s->next = *tail;
            *tail = s;
            snmp_log(LOG_INFO, "cupi: server %u (%s) at %s\n", c->index, c->name, c->url);
            publish_simple(AGENT_EVENT_ADDED, s);
        } else if (fresh[i]) {
            bool moved = !str_same(s->cfg.url, c->url);
            bool changed = settings_changed || connection_changed(&s->cfg, c);
            retire_client(s);
            cupi_server_config copy;
            if (cupi_server_config_copy(&copy, c) == 0) {
                cupi_server_config_free(&s->cfg);
                s->cfg = copy;
            }
            if (moved) {
                /* Another URL may be another Unity Connection: its values are
                 * not ours, nor are the changes still queued for notification. */
                for (int r = 0; r < CUPI_RES_COUNT; r++)
                    s->res[r].valid = s->res[r].failing = false;
                s->status = AGENT_STATUS_UNKNOWN;
                publish_simple(AGENT_EVENT_MOVED, s);
            }
            if (changed)
                snmp_log(LOG_INFO, "cupi: server %u (%s) reconfigured\n", c->index, c->name);
        } else if (!str_same(s->cfg.name, c->name)) {
            char *name = strdup(c->name);
            if (name) {
                free(s->cfg.name);
                s->cfg.name = name;
            }
        }
        if (fresh[i]) {
            s->client = fresh[i];
            cupi_client_options o;
            s->keeps_connections = client_options(cfg, c, i, &o);
            worker_client_set_owner(s->client, s);
            publish_simple(AGENT_EVENT_CLIENT, s);
        }
    }
    free(fresh);
    if (!reindex()) {
        snmp_log(LOG_ERR, "cupi: out of memory indexing the servers\n");
        return -1;
    }
    return 0;
}

/* A row removed by a reload while a SET held it, once the SET is over. */
static void remove_leaving(agent_server *s)
{
    for (agent_server **link = &servers; *link; link = &(*link)->next) {
        if (*link != s)
            continue;
        take_out(link);
        if (!reindex())
            snmp_log(LOG_ERR, "cupi: out of memory indexing the servers\n");
        server_free(s);
        return;
    }
}

void agent_servers_clear(void)
{
    free(by_position);
    by_position = NULL;
    n_servers = 0;
    while (servers) {
        agent_server *s = servers;
        servers = s->next;
        server_free(s);
    }
}
