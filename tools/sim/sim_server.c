/* sim_server.c - one virtual server: a libmicrohttpd daemon and its routing.
 *
 * The daemon runs one thread per connection so that latency injected into a
 * request really overlaps with others, as it does on a busy CUC; that is
 * what lets tests provoke the 5-requests-in-progress limit. Everything
 * shared is behind srv->lock, held only briefly (never across a sleep).
 *
 * Request order for /vmrest, as CUC's web tier behaves:
 *   throttle (503) -> Basic auth (401) -> path (404) -> method (405)
 *   -> injected fault -> Content-Type (415) -> size (413) -> the resource.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#define VMREST_PREFIX "/vmrest"
#define CONTROL_PREFIX "/_sim/"
#define LOG_URL_MAX 200

typedef enum req_kind {
    REQ_VMREST,
    REQ_CONTROL,
    REQ_OTHER,
} req_kind;

/* Per-request context (MHD's req_cls), created on the first callback. */
typedef struct sim_request {
    sim_server *srv;
    req_kind kind;
    bool admitted;  /* counted in srv->in_progress */
    bool busy;      /* refused by the in-progress limit */
    bool too_large; /* body over CUPI_MAX_BODY; the rest was discarded */
    char *body;
    size_t len, cap;
    unsigned status;                          /* answered with; 0 when dropped */
    char new_session[SIM_SESSION_ID_LEN + 1]; /* JSESSIONID to set, or "" */
    int64_t start_ms;
    char method[16];
    char url[LOG_URL_MAX + 1];
} sim_request;

/* --- small helpers -------------------------------------------------------- */

/* True when the media type of a header value (the part before ';') is type;
 * for a list (Accept), true when any element is. */
static bool media_type_is(const char *value, const char *type, bool list)
{
    size_t tlen = strlen(type);
    while (value && *value) {
        while (*value == ' ' || *value == '\t' || *value == ',')
            value++;
        const char *end = value;
        while (*end && *end != ';' && *end != ',' && *end != ' ' && *end != '\t')
            end++;
        if ((size_t)(end - value) == tlen && strncasecmp(value, type, tlen) == 0)
            return true;
        if (!list)
            return false;
        value = strchr(end, ',');
    }
    return false;
}

static cupi_format reply_format(struct MHD_Connection *c)
{
    const char *accept =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return media_type_is(accept, cupi_format_mime(CUPI_FORMAT_JSON), true) ? CUPI_FORMAT_JSON
                                                                           : CUPI_FORMAT_XML;
}

static bool peer_is_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static int resource_at(const char *url)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        if (strcmp(url, cupi_resource_path((cupi_resource)r)) == 0)
            return r;
    return -1;
}

/* Sleeps, but returns false at once when the server is stopping, so a fault
 * with a long latency never holds up shutdown. */
static bool sleep_ms(sim_server *srv, long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping) {
        if (pthread_cond_timedwait(&srv->wake, &srv->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool slept = !srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    return slept;
}

/* --- responses ------------------------------------------------------------ */

/* Takes ownership of body (malloc'ed or NULL). */
static struct MHD_Response *make_response(char *body, size_t len, const char *content_type)
{
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return NULL;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return resp;
}

/* Queues resp (and destroys our reference), adding the session cookie and
 * counting the status. */
static enum MHD_Result queue(struct MHD_Connection *c, sim_request *rq, unsigned status,
                             struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    sim_server *srv = rq->srv;
    if (rq->new_session[0]) {
        /* Path and flags as CUC's Tomcat sets them; "Secure" is left out
         * over plain HTTP, where clients would drop such a cookie. */
        char cookie[128];
        snprintf(cookie, sizeof cookie, "JSESSIONID=%s; Path=/vmrest/;%s HttpOnly",
                 rq->new_session, srv->sim->opt.http ? "" : " Secure;");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    rq->status = status;
    if (rq->kind == REQ_VMREST && status < SIM_HTTP_STATUS_MAX) {
        pthread_mutex_lock(&srv->lock);
        srv->counters.status[status]++;
        pthread_mutex_unlock(&srv->lock);
    }
    return ret;
}

static enum MHD_Result queue_reply(struct MHD_Connection *c, sim_request *rq, sim_reply *reply)
{
    unsigned status = (unsigned)reply->status;
    struct MHD_Response *resp = make_response(reply->body, reply->len, reply->content_type);
    reply->body = NULL; /* owned by the response now */
    return queue(c, rq, status, resp);
}

static enum MHD_Result queue_error(struct MHD_Connection *c, sim_request *rq, unsigned status,
                                   cupi_format fmt, const char *code, const char *message)
{
    sim_reply reply;
    sim_reply_error(&reply, (int)status, fmt, code, message);
    return queue_reply(c, rq, &reply);
}

/* CUC answers a failed Basic auth with a plain-text body, not ErrorDetails. */
static enum MHD_Result queue_unauthorized(struct MHD_Connection *c, sim_request *rq)
{
    static const char text[] = "Not Authorized";
    struct MHD_Response *resp = make_response(strdup(text), strlen(text), "text/plain");
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"" SIM_REALM "\"");
    return queue(c, rq, MHD_HTTP_UNAUTHORIZED, resp);
}

static enum MHD_Result queue_json(struct MHD_Connection *c, sim_request *rq, unsigned status,
                                  char *json)
{
    return queue(c, rq, status,
                 make_response(json, json ? strlen(json) : 0, "application/json"));
}

/* --- /vmrest -------------------------------------------------------------- */

static bool authorized(const sim_server *srv, struct MHD_Connection *c)
{
    const sim_options *o = &srv->sim->opt;
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &password);
    bool ok = user && password && strcmp(user, o->user) == 0 &&
              sim_secret_equal(password, o->password);
    if (password) {
        explicit_bzero(password, strlen(password));
        MHD_free(password);
    }
    if (user)
        MHD_free(user);
    return ok;
}

/* Counts a request that carries a JSESSIONID this server issued; otherwise
 * issues a new one, as Tomcat does when a request has no valid session. */
static void track_session(sim_server *srv, struct MHD_Connection *c, sim_request *rq)
{
    const char *id = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "JSESSIONID");
    bool known = false;
    pthread_mutex_lock(&srv->lock);
    if (id && strlen(id) == SIM_SESSION_ID_LEN) {
        for (size_t i = 0; i < SIM_SESSION_SLOTS && !known; i++)
            known = strcmp(srv->sessions[i], id) == 0;
    }
    if (known)
        srv->counters.with_session_cookie++;
    pthread_mutex_unlock(&srv->lock);
    if (known || sim_random_hex(rq->new_session, SIM_SESSION_ID_LEN / 2) != 0)
        return;
    pthread_mutex_lock(&srv->lock);
    memcpy(srv->sessions[srv->next_session], rq->new_session, sizeof rq->new_session);
    srv->next_session = (srv->next_session + 1) % SIM_SESSION_SLOTS;
    pthread_mutex_unlock(&srv->lock);
}

/* The GET body of a resource's current state (a copy taken under the lock;
 * the copy holds the password, so it is wiped). */
static void current_body(sim_server *srv, cupi_resource r, cupi_format fmt, sim_reply *reply)
{
    cupi_snapshot copy;
    pthread_mutex_lock(&srv->lock);
    copy = srv->state[r];
    pthread_mutex_unlock(&srv->lock);
    sim_resource_get(&copy, fmt, reply);
    explicit_bzero(&copy, sizeof copy);
}

/* Answers an injected fault; returns MHD_NO to drop the connection. */
static enum MHD_Result serve_fault(struct MHD_Connection *c, sim_request *rq,
                                   const sim_fault *f, cupi_resource r, cupi_format fmt)
{
    sim_server *srv = rq->srv;
    if (f->drop) {
        pthread_mutex_lock(&srv->lock);
        srv->counters.dropped++;
        pthread_mutex_unlock(&srv->lock);
        return MHD_NO; /* MHD closes the connection without a response */
    }
    if (f->status == MHD_HTTP_UNAUTHORIZED)
        return queue_unauthorized(c, rq);
    if (f->status >= 400) {
        char msg[64];
        snprintf(msg, sizeof msg, "Simulated HTTP %d (cupi-sim fault injection)", f->status);
        return queue_error(c, rq, (unsigned)f->status, fmt,
                           f->status == 503 ? "SERVER_BUSY" : "SIMULATED_FAULT", msg);
    }
    if (f->status)
        return queue(c, rq, (unsigned)f->status, make_response(NULL, 0, NULL));
    if (f->header_bytes) {
        sim_reply reply;
        current_body(srv, r, fmt, &reply);
        (void)sim_raw_padded_answer(c, reply.body ? reply.body : "", reply.len,
                                    reply.content_type ? reply.content_type : "text/plain",
                                    (size_t)f->header_bytes);
        free(reply.body);
        return MHD_NO; /* written past libmicrohttpd: it only closes */
    }

    /* malformed: the start of a real answer, cut off mid-element, so every
     * parser fails on it whatever its tolerance. */
    sim_reply reply;
    current_body(srv, r, fmt, &reply);
    if (reply.body && reply.len > 8)
        reply.len = reply.len / 2;
    reply.status = 200;
    return queue_reply(c, rq, &reply);
}

static enum MHD_Result serve_put(struct MHD_Connection *c, sim_request *rq, cupi_resource r,
                                 cupi_format fmt)
{
    sim_server *srv = rq->srv;
    const char *ctype =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    cupi_format body_fmt;
    if (media_type_is(ctype, cupi_format_mime(CUPI_FORMAT_XML), false))
        body_fmt = CUPI_FORMAT_XML;
    else if (media_type_is(ctype, cupi_format_mime(CUPI_FORMAT_JSON), false))
        body_fmt = CUPI_FORMAT_JSON;
    else
        return queue_error(c, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, fmt,
                           "UNSUPPORTED_MEDIA_TYPE",
                           "Content-Type must be application/xml or application/json");
    if (rq->too_large)
        return queue_error(c, rq, MHD_HTTP_CONTENT_TOO_LARGE, fmt, "REQUEST_TOO_LARGE",
                           "request body too large");

    sim_reply reply;
    pthread_mutex_lock(&srv->lock);
    bool changed = sim_resource_put(&srv->state[r], body_fmt, rq->body ? rq->body : "", rq->len,
                                    fmt, &reply);
    pthread_mutex_unlock(&srv->lock);
    if (changed)
        sim_state_save(srv->sim);
    return queue_reply(c, rq, &reply);
}

static enum MHD_Result serve_vmrest(struct MHD_Connection *c, sim_request *rq, const char *url,
                                    const char *method)
{
    sim_server *srv = rq->srv;
    cupi_format fmt = reply_format(c);

    if (rq->busy)
        return queue_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, fmt, "SERVER_BUSY",
                           "Server is busy, too many requests in progress; retry later");
    if (!authorized(srv, c))
        return queue_unauthorized(c, rq);
    track_session(srv, c, rq);

    int r = resource_at(url);
    if (r < 0)
        return queue_error(c, rq, MHD_HTTP_NOT_FOUND, fmt, "NOT_FOUND",
                           "The requested resource does not exist");
    sim_method m = strcmp(method, MHD_HTTP_METHOD_GET) == 0   ? SIM_METHOD_GET
                   : strcmp(method, MHD_HTTP_METHOD_PUT) == 0 ? SIM_METHOD_PUT
                                                              : SIM_METHOD_ANY;
    if (m == SIM_METHOD_ANY) {
        sim_reply reply;
        sim_reply_error(&reply, MHD_HTTP_METHOD_NOT_ALLOWED, fmt, "METHOD_NOT_ALLOWED",
                        "Only GET and PUT are supported on this resource");
        struct MHD_Response *resp = make_response(reply.body, reply.len, reply.content_type);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, PUT");
        return queue(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
    }

    sim_fault fault;
    pthread_mutex_lock(&srv->lock);
    if (m == SIM_METHOD_GET) {
        srv->counters.get[r]++;
    } else {
        srv->counters.put[r]++;
        sim_counters_note_put(
            &srv->counters, (cupi_resource)r, rq->body, rq->len,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
    }
    bool faulted = sim_faults_take(srv, m, (cupi_resource)r, &fault);
    pthread_mutex_unlock(&srv->lock);
    sim_fleet_note_method(&srv->sim->fleet, m == SIM_METHOD_PUT);

    if (faulted) {
        if (fault.latency_ms > 0 && !sleep_ms(srv, fault.latency_ms))
            return MHD_NO; /* shutting down: do not answer half-way through */
        if (fault.drop || fault.status || fault.malformed || fault.header_bytes)
            return serve_fault(c, rq, &fault, (cupi_resource)r, fmt);
    }

    if (m == SIM_METHOD_PUT)
        return serve_put(c, rq, (cupi_resource)r, fmt);

    sim_reply reply;
    current_body(srv, r, fmt, &reply);
    return queue_reply(c, rq, &reply);
}

/* --- /_sim/ --------------------------------------------------------------- */

static enum MHD_Result serve_control(struct MHD_Connection *c, sim_request *rq, const char *url,
                                     const char *method)
{
    /* No authentication here, so only loopback peers may use it even when
     * the simulator listens on a wider address. */
    if (!peer_is_loopback(c))
        return queue_json(c, rq, MHD_HTTP_FORBIDDEN,
                          strdup("{\"error\":\"control interface is loopback-only\"}"));
    if (rq->too_large)
        return queue_json(c, rq, MHD_HTTP_CONTENT_TOO_LARGE,
                          strdup("{\"error\":\"request body too large\"}"));
    char *out = NULL;
    int status = sim_control_handle(rq->srv, method, url, rq->body, rq->len, &out);
    return queue_json(c, rq, (unsigned)status, out);
}

/* --- MHD callbacks -------------------------------------------------------- */

static sim_request *request_new(sim_server *srv, const char *url, const char *method)
{
    sim_request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    rq->srv = srv;
    rq->start_ms = sim_now_ms();
    snprintf(rq->method, sizeof rq->method, "%s", method);
    snprintf(rq->url, sizeof rq->url, "%s", url);

    if (strcmp(url, VMREST_PREFIX) == 0 ||
        strncmp(url, VMREST_PREFIX "/", sizeof VMREST_PREFIX) == 0)
        rq->kind = REQ_VMREST;
    else if (strncmp(url, CONTROL_PREFIX, sizeof CONTROL_PREFIX - 1) == 0)
        rq->kind = REQ_CONTROL;
    else
        rq->kind = REQ_OTHER;

    if (rq->kind == REQ_VMREST) {
        /* Admission happens when the request arrives, so a request counts
         * as in progress while its body is still being received. */
        pthread_mutex_lock(&srv->lock);
        srv->counters.requests++;
        if (srv->in_progress >= SIM_MAX_IN_PROGRESS) {
            rq->busy = true;
        } else {
            rq->admitted = true;
            srv->in_progress++;
            if (srv->in_progress > srv->counters.max_in_progress)
                srv->counters.max_in_progress = srv->in_progress;
        }
        pthread_mutex_unlock(&srv->lock);
        sim_fleet_note_request(&srv->sim->fleet);
    }
    return rq;
}

static void body_append(sim_request *rq, const char *data, size_t n)
{
    if (rq->too_large)
        return;
    if (rq->len + n > CUPI_MAX_BODY) {
        rq->too_large = true; /* keep reading, answer 413 at the end */
        return;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + n + 1)
            cap *= 2;
        char *nb = realloc(rq->body, cap);
        if (!nb) {
            rq->too_large = true;
            return;
        }
        rq->body = nb;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    sim_server *srv = cls;
    sim_request *rq = *req_cls;
    if (!rq) {
        rq = request_new(srv, url, method);
        *req_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        body_append(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (rq->kind) {
    case REQ_VMREST:
        return serve_vmrest(c, rq, url, method);
    case REQ_CONTROL:
        return serve_control(c, rq, url, method);
    case REQ_OTHER:
        break;
    }
    static const char text[] = "Not Found";
    return queue(c, rq, MHD_HTTP_NOT_FOUND,
                 make_response(strdup(text), strlen(text), "text/plain"));
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    sim_server *srv = cls;
    sim_request *rq = *req_cls;
    if (!rq)
        return;
    if (rq->admitted) {
        pthread_mutex_lock(&srv->lock);
        srv->in_progress--;
        pthread_mutex_unlock(&srv->lock);
    }
    if (srv->sim->opt.verbose) {
        /* Method and path only: never headers (Authorization) or bodies. */
        long long ms = (long long)(sim_now_ms() - rq->start_ms);
        if (rq->status)
            sim_log("cupi-sim: %s: %s %s -> %u (%lld ms)", srv->name, rq->method, rq->url,
                    rq->status, ms);
        else
            sim_log("cupi-sim: %s: %s %s -> %s (%lld ms)", srv->name, rq->method, rq->url,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "no answer" : "dropped", ms);
    }
    if (rq->body) {
        explicit_bzero(rq->body, rq->cap); /* may hold the smart-host password */
        free(rq->body);
    }
    free(rq);
    *req_cls = NULL;
}

/* Counts accepted connections, so a benchmark sees how often clients
 * reconnect (a TLS handshake each) rather than reuse a connection. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_context;
    sim_server *srv = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->counters.connections++;
    pthread_mutex_unlock(&srv->lock);
    sim_fleet_note_connection(&srv->sim->fleet);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
                                                          va_list ap)
{
    const sim_server *srv = cls;
    /* MHD reports each failed TLS handshake (a client with the wrong CA, a
     * port scanner); that is noise unless asked for. Start-up problems are
     * always shown: they explain why a port could not be opened. */
    if (!srv->sim->opt.verbose && atomic_load(&srv->started))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sim_log("cupi-sim: %s: libmicrohttpd: %s", srv->name, msg);
}

/* --- lifecycle ------------------------------------------------------------ */

int sim_server_init(sim_server *srv, sim *s, const char *name, unsigned port)
{
    memset(srv, 0, sizeof *srv);
    srv->sim = s;
    srv->port = port;
    atomic_init(&srv->started, false);
    srv->name = strdup(name);
    if (!srv->name)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* immune to clock changes */
    pthread_cond_init(&srv->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&srv->lock, NULL);
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        sim_resource_defaults(&srv->state[r], (cupi_resource)r);
    return 0;
}

int sim_server_start(sim_server *srv, char *err, size_t errsz)
{
    const sim_options *o = &srv->sim->opt;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, o->listen_addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)srv->port);
    } else if (inet_pton(AF_INET6, o->listen_addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)srv->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errsz, "--listen %s: not a numeric IPv4 or IPv6 address", o->listen_addr);
        return -1;
    }
    if (!o->http)
        flags |= MHD_USE_TLS;

    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, o->tls_key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, o->tls_cert_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    errno = 0;
    /* The logger must come first: MHD logs while it parses later options. */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s, MHD_OPTION_ARRAY,
        o->http ? &tls_opts[2] : tls_opts, MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errsz, "%s: cannot serve on %s port %u%s%s", srv->name, o->listen_addr,
                 srv->port, errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        srv->port = info->port;
    atomic_store(&srv->started, true);
    return 0;
}

void sim_server_stop(sim_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->wake);
    pthread_mutex_unlock(&srv->lock);
    if (srv->daemon) {
        MHD_stop_daemon(srv->daemon); /* joins every connection thread */
        srv->daemon = NULL;
    }
}

void sim_server_free(sim_server *srv)
{
    sim_counters_free(&srv->counters);
    sim_faults_clear(srv);
    explicit_bzero(srv->state, sizeof srv->state);
    free(srv->name);
    pthread_cond_destroy(&srv->wake);
    pthread_mutex_destroy(&srv->lock);
}
