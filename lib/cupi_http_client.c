/* cupi_http_client.c - one CUPI server: options, the request queue under
 * max_concurrent, pooled easy handles, the JSESSIONID session, 503 retries
 * and the mapping of each answer to a cupi_result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cupi/cupi.h>
#include <cupi/secret.h>

#include "codec_internal.h"
#include "cupi_error.h"
#include "cupi_http_internal.h"
#include "cupi_scrub.h"

#define DEFAULT_TIMEOUT_MS 5000L
#define DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define DEFAULT_MAX_CONCURRENT 2u
#define DEFAULT_MAX_RETRIES 3u
#define DEFAULT_BACKOFF_BASE_MS 200L
#define DEFAULT_BACKOFF_MAX_MS 5000L
#define DEFAULT_SESSION_IDLE_MS 60000L

/* --- requests ------------------------------------------------------------- */

void cupi_request_free(cupi_request *r)
{
    if (!r)
        return;
    /* A PUT body may carry the smart host's smtpPassword. */
    cupi_secret_wipe(r->body, r->body_len);
    free(r->body);
    if (r->put_secret)
        cupi_secret_wipe(r->put_secret, strlen(r->put_secret));
    free(r->put_secret);
    free(r);
}

static cupi_request *request_new(cupi_client *c, cupi_resource res, bool is_put,
                                 cupi_callback cb, void *arg)
{
    cupi_request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->client = c;
    r->cb = cb;
    r->arg = arg;
    r->result.status = CUPI_OK;
    r->result.resource = res;
    r->result.is_put = is_put;
    r->result.snapshot.resource = res;
    return r;
}

/* Every secret a server could echo back to this request. */
static void request_scrub(const cupi_client *c, const cupi_request *r, cupi_scrub *s)
{
    cupi_scrub_init(s);
    cupi_scrub_add(s, c->password);
    cupi_scrub_add(s, c->basic_credential);
    cupi_scrub_add(s, c->session);
    cupi_scrub_add(s, r->put_secret);
}

/* The last line of defence: whatever a message was built from, credentials
 * are masked. Text a server sent was already judged piece by piece (a short
 * secret in it withholds the piece), so what remains is the client's own
 * wording and is not withheld here. */
static void request_set_message(cupi_client *c, cupi_request *r, const char *msg)
{
    cupi_scrub s;
    request_scrub(c, r, &s);
    snprintf(r->result.message, sizeof r->result.message, "%s", msg);
    (void)cupi_scrub_text(&s, r->result.message, sizeof r->result.message);
}

/* Hands a request over to the engine; its callback runs in the next
 * cupi_engine_dispatch(). */
static void request_finish(cupi_client *c, cupi_request *r, cupi_status st)
{
    r->result.status = st;
    if (st != CUPI_OK)
        r->result.snapshot.present = 0;
    cupi_req_push(&c->engine->done, r);
}

static void unlink_active(cupi_client *c, cupi_transfer *t)
{
    for (cupi_transfer **p = &c->active; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            t->next = NULL;
            c->n_active--;
            c->engine->n_active--;
            return;
        }
    }
}

/* --- one attempt ---------------------------------------------------------- */

static const char *session_for_request(cupi_client *c, int64_t now)
{
    if (c->session[0] && now - c->session_used_ms > c->session_idle_ms)
        cupi_secret_wipe(c->session, sizeof c->session);
    if (!c->session[0])
        return NULL;
    c->session_used_ms = now;
    return c->session;
}

static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[CUPI_SESSION_MAX + 64];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return false;
    *list = l;
    return true;
}

static bool build_headers(cupi_client *c, cupi_transfer *t, const cupi_request *r, int64_t now)
{
    cupi_transfer_free_headers(t);
    const char *mime = cupi_format_mime(c->format);
    struct curl_slist *auth = curl_slist_append(NULL, c->auth_header);
    if (!auth)
        return false;
    t->headers = auth;
    bool ok = add_header(&t->headers, "Accept", mime);
    if (r->result.is_put) {
        ok = ok && add_header(&t->headers, "Content-Type", mime);
        /* No 100-continue round trip for a body of a few hundred bytes. */
        ok = ok && add_header(&t->headers, "Expect", "");
    }
    const char *session = session_for_request(c, now);
    if (session) {
        char cookie[CUPI_SESSION_MAX + 16];
        snprintf(cookie, sizeof cookie, "JSESSIONID=%s", session);
        ok = ok && add_header(&t->headers, "Cookie", cookie);
    }
    return ok;
}

static bool prepare_attempt(cupi_client *c, cupi_transfer *t, cupi_request *r, int64_t now)
{
    const char *path = cupi_resource_path(r->result.resource);
    size_t n = strlen(c->base_url) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url)
        return false;
    snprintf(url, n, "%s%s", c->base_url, path);
    t->len = 0;
    t->too_large = false;
    t->header_too_large = false;
    t->header_bytes = 0;
    t->headers_done = false;
    t->got_session = false;
    t->errbuf[0] = '\0';
    CURL *h = t->easy;
    bool ok = build_headers(c, t, r, now) &&
              curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK;
    free(url);
    if (!ok)
        return false;
    if (r->result.is_put) {
        /* POSTFIELDS is not copied: the request owns the body until done. */
        return curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) ==
                   CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body) == CURLE_OK &&
               curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT") == CURLE_OK;
    }
    /* A pooled handle may last have carried a PUT. */
    return curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK &&
           curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
}

static void start_attempt(cupi_client *c, cupi_request *r, int64_t now)
{
    cupi_ca_refresh(c, now);
    cupi_transfer *t = cupi_transfer_take(c);
    if (!t) {
        request_set_message(c, r, "out of memory");
        request_finish(c, r, CUPI_E_NOMEM);
        return;
    }
    t->req = r;
    if (!prepare_attempt(c, t, r, now) ||
        curl_multi_add_handle(c->engine->multi, t->easy) != CURLM_OK) {
        cupi_transfer_release(c, t);
        request_set_message(c, r, "could not set up the HTTP request");
        request_finish(c, r, CUPI_E_NOMEM);
        return;
    }
    t->next = c->active;
    c->active = t;
    c->n_active++;
    c->engine->n_active++;
    r->result.attempts++;
    c->requests++;
}

/* --- answers -------------------------------------------------------------- */

static void update_session(cupi_client *c, const cupi_transfer *t, long http, int64_t now)
{
    if (http == 401) {
        /* The session may be what the server refused; start clean. */
        cupi_secret_wipe(c->session, sizeof c->session);
        return;
    }
    if (t->got_session) {
        memcpy(c->session, t->session, sizeof c->session);
        c->session_used_ms = now;
    }
}

static void describe_http(cupi_client *c, const cupi_transfer *t, cupi_request *r,
                          cupi_status st, long http)
{
    char cupi_msg[200];
    char msg[sizeof r->result.message];
    if (http >= 300 && http < 400) {
        snprintf(msg, sizeof msg, "HTTP %ld: redirect not followed; check the server URL",
                 http);
    } else {
        /* The whole message is scrubbed before it is cut to size, so that a
         * cut cannot leave half a secret behind. */
        char *text = codec_error_text(t->body, t->len);
        cupi_scrub s;
        request_scrub(c, r, &s);
        if (!text)
            snprintf(cupi_msg, sizeof cupi_msg, "%s", cupi_status_text(st));
        else if (!cupi_scrub_text(&s, text, strlen(text) + 1))
            snprintf(cupi_msg, sizeof cupi_msg,
                     "CUPI error message withheld (it may echo a credential)");
        else
            cupi_text_printable(text, strlen(text), cupi_msg, sizeof cupi_msg);
        if (text) {
            cupi_secret_wipe(text, strlen(text));
            free(text);
        }
        if (st == CUPI_E_BUSY && r->result.attempts > 1)
            snprintf(msg, sizeof msg, "HTTP %ld: %.180s (after %u attempts)", http, cupi_msg,
                     r->result.attempts);
        else
            snprintf(msg, sizeof msg, "HTTP %ld: %.200s", http, cupi_msg);
    }
    request_set_message(c, r, msg);
}

/* What a transfer libcurl ended got to. */
static cupi_transfer_facts transfer_facts(const cupi_client *c, const cupi_transfer *t,
                                          CURLcode rc)
{
    cupi_transfer_facts f = {
        .rc = rc,
        .body_too_large = t->too_large,
        .header_too_large = t->header_too_large,
        .https = strncmp(c->base_url, "https:", 6) == 0,
        .answer_started = t->header_bytes > 0,
        .headers_done = t->headers_done,
    };
    curl_off_t lookup_us = 0, connect_us = 0, tls_us = 0;
    long sent = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &lookup_us);
    curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &sent);
    curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &f.os_errno);
    curl_easy_getinfo(t->easy, CURLINFO_SSL_VERIFYRESULT, &f.tls_verify);
    f.request_sent = sent > 0 || f.answer_started;
    f.tls_done = tls_us > 0 || f.request_sent;
    f.connected = connect_us > 0 || f.tls_done;
    f.resolved = lookup_us > 0 || f.connected;
    return f;
}

/* A failed transfer: the fixed text for operators in the message, libcurl's
 * own (which names addresses and measured times) in the detail, for logs. */
static cupi_status describe_failure(cupi_client *c, const cupi_transfer *t, cupi_request *r,
                                    CURLcode rc)
{
    cupi_transfer_facts f = transfer_facts(c, t, rc);
    char msg[sizeof r->result.message];
    cupi_status st = cupi_http_failure(&f, msg, sizeof msg);
    request_set_message(c, r, msg);
    cupi_scrub s;
    request_scrub(c, r, &s);
    snprintf(r->result.detail, sizeof r->result.detail, "%s",
             t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    (void)cupi_scrub_text(&s, r->result.detail, sizeof r->result.detail);
    return st;
}

static cupi_status describe(cupi_client *c, const cupi_transfer *t, cupi_request *r,
                            CURLcode rc, long http)
{
    r->result.detail[0] = '\0';
    if (rc != CURLE_OK || t->too_large || t->header_too_large)
        return describe_failure(c, t, r, rc);
    cupi_status st = cupi_http_status(http);
    if (st == CUPI_OK)
        r->result.message[0] = '\0';
    else
        describe_http(c, t, r, st, http);
    return st;
}

static cupi_status decode_body(cupi_client *c, const cupi_transfer *t, cupi_request *r)
{
    char why[200];
    cupi_scrub s;
    request_scrub(c, r, &s);
    cupi_status st = codec_decode(r->result.resource, c->format, t->body ? t->body : "", t->len,
                                  &r->result.snapshot, why, sizeof why, &s);
    if (st == CUPI_OK)
        return CUPI_OK;
    char msg[sizeof r->result.message];
    /* A value the field table refuses is not a garbled answer: say which. */
    bool bad_value = strncmp(why, "field ", 6) == 0;
    snprintf(msg, sizeof msg, "%s: %.200s",
             bad_value ? "bad value in the CUPI answer" : "response not understood", why);
    request_set_message(c, r, msg);
    return st == CUPI_E_TOO_LARGE ? CUPI_E_TOO_LARGE : CUPI_E_PARSE;
}

/* Keeps c in its engine's list of clients with waiting requests exactly
 * while it has some. */
static void update_waiting(cupi_client *c)
{
    bool want = c->queue.n || c->retrying.n;
    if (want == c->waiting)
        return;
    cupi_engine *e = c->engine;
    if (want) {
        c->waiting_prev = NULL;
        c->waiting_next = e->waiting;
        if (e->waiting)
            e->waiting->waiting_prev = c;
        e->waiting = c;
    } else {
        if (c->waiting_prev)
            c->waiting_prev->waiting_next = c->waiting_next;
        else
            e->waiting = c->waiting_next;
        if (c->waiting_next)
            c->waiting_next->waiting_prev = c->waiting_prev;
        c->waiting_prev = c->waiting_next = NULL;
    }
    c->waiting = want;
}

static void schedule_retry(cupi_client *c, cupi_request *r, int64_t now)
{
    long delay = cupi_http_backoff(c->backoff_base_ms, c->backoff_max_ms,
                                   r->result.attempts - 1, &c->rng);
    r->retry_at_ms = now + delay;
    cupi_req_push(&c->retrying, r);
    update_waiting(c);
}

void cupi_client_transfer_done(cupi_transfer *t, CURLcode rc, int64_t now)
{
    cupi_client *c = t->client;
    cupi_request *r = t->req;
    curl_multi_remove_handle(c->engine->multi, t->easy);
    unlink_active(c, t);

    long http = 0, connects = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &http);
    if (curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
        connects > 0)
        c->connections += (uint32_t)connects; /* wraps like the other counters */
    r->result.http_status = http;
    update_session(c, t, http, now);
    cupi_status st = describe(c, t, r, rc, http);
    if (st == CUPI_OK && !r->result.is_put)
        st = decode_body(c, t, r);
    cupi_transfer_release(c, t);

    if (st != CUPI_OK)
        c->failures++; /* a Counter32: wraps */
    if (st == CUPI_E_BUSY && r->result.attempts <= c->max_retries)
        schedule_retry(c, r, now);
    else
        request_finish(c, r, st);
}

/* --- scheduling ----------------------------------------------------------- */

/* Due retries go ahead of the queue: they have waited longest. */
static void requeue_due_retries(cupi_client *c, int64_t now)
{
    cupi_req_list due = {0}, waiting = {0};
    cupi_request *r;
    while ((r = cupi_req_pop(&c->retrying)))
        cupi_req_push(r->retry_at_ms <= now ? &due : &waiting, r);
    c->retrying = waiting;
    if (!due.head)
        return;
    due.tail->next = c->queue.head;
    if (!c->queue.tail)
        c->queue.tail = due.tail;
    c->queue.head = due.head;
    c->queue.n += due.n;
}

void cupi_client_pump(cupi_client *c, int64_t now)
{
    requeue_due_retries(c, now);
    while (c->n_active < c->max_concurrent && c->queue.head)
        start_attempt(c, cupi_req_pop(&c->queue), now);
    update_waiting(c);
}

int64_t cupi_client_next_retry(const cupi_client *c)
{
    int64_t next = -1;
    for (const cupi_request *r = c->retrying.head; r; r = r->next)
        if (next < 0 || r->retry_at_ms < next)
            next = r->retry_at_ms;
    return next;
}

/* --- public API ----------------------------------------------------------- */

static bool check_options(const cupi_client_options *o, char *err, size_t errsz)
{
    if (!o->user) {
        cupi_set_error(err, errsz, "no user given");
        return false;
    }
    if (o->format != CUPI_FORMAT_XML && o->format != CUPI_FORMAT_JSON) {
        cupi_set_error(err, errsz, "unknown wire format");
        return false;
    }
    if (o->timeout_ms < 0 || o->connect_timeout_ms < 0 || o->backoff_base_ms < 0 ||
        o->backoff_max_ms < 0 || o->session_idle_ms < 0 || o->expected_idle_ms < 0) {
        cupi_set_error(err, errsz, "time options must not be negative");
        return false;
    }
    return true;
}

/* The CA file is read once, here (cupi_http_ca.c says why). */
static bool load_ca(cupi_client *c, char *err, size_t errsz)
{
    char why[128];
    c->ca = cupi_ca_get(c->engine, c->ca_file, why, sizeof why);
    c->ca_read_ms = cupi_now_ms();
    if (!c->ca) {
        char shown[320];
        cupi_text_printable(c->ca_file, strlen(c->ca_file), shown, sizeof shown);
        cupi_set_error(err, errsz, "cannot read CA file %s: %s", shown, why);
        return false;
    }
    return true;
}

static void apply_defaults(cupi_client *c, const cupi_client_options *o)
{
    c->insecure = o->insecure;
    c->format = o->format;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    /* A peer that accepts and never completes the handshake (a cut link
     * behind a firewall, an overloaded server) is told apart from one that
     * is slow to answer, sooner than the whole request's timeout. */
    c->connect_timeout_ms =
        o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->connect_timeout_ms > c->timeout_ms)
        c->connect_timeout_ms = c->timeout_ms;
    c->max_concurrent = o->max_concurrent ? o->max_concurrent : DEFAULT_MAX_CONCURRENT;
    c->max_retries = o->max_retries ? o->max_retries : DEFAULT_MAX_RETRIES;
    c->backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
    c->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    if (c->backoff_max_ms < c->backoff_base_ms)
        c->backoff_max_ms = c->backoff_base_ms;
    c->session_idle_ms = o->session_idle_ms ? o->session_idle_ms : DEFAULT_SESSION_IDLE_MS;
    c->keep_connections = o->expected_idle_ms <= CUPI_KEEPALIVE_MAX_IDLE_MS;
}

static void client_destroy(cupi_client *c)
{
    while (c->idle) {
        cupi_transfer *t = c->idle;
        c->idle = t->next;
        cupi_transfer_destroy(t);
    }
    cupi_conn_share_free(c);
    cupi_secret_wipe(c->password, c->password_len);
    cupi_secret_wipe(c->session, sizeof c->session);
    cupi_secret_free(c->auth_header);
    if (c->basic_credential)
        cupi_secret_wipe(c->basic_credential, strlen(c->basic_credential));
    free(c->basic_credential);
    free(c->password);
    free(c->user);
    cupi_ca_put(c->engine, c->ca);
    free(c->ca_file);
    free(c->base_url);
    free(c);
}

cupi_client *cupi_client_new(cupi_engine *e, const cupi_client_options *o, char *err,
                             size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!e || !o) {
        cupi_set_error(err, errsz, "no engine or options");
        return NULL;
    }
    if (!check_options(o, err, errsz))
        return NULL;
    char scratch[256];
    char *base = NULL;
    cupi_status st = cupi_http_base_url(o->url, o->insecure, &base, scratch, sizeof scratch);
    if (st != CUPI_OK) {
        cupi_set_error(err, errsz, "%s", scratch);
        return NULL;
    }
    cupi_client *c = calloc(1, sizeof *c);
    if (!c) {
        free(base);
        cupi_set_error(err, errsz, "out of memory");
        return NULL;
    }
    c->engine = e;
    c->base_url = base;
    c->user = strdup(o->user);
    c->password = strdup(o->password ? o->password : "");
    c->password_len = c->password ? strlen(c->password) : 0;
    c->auth_header =
        c->password ? cupi_http_basic_auth(c->user ? c->user : "", c->password) : NULL;
    c->ca_file = o->ca_file && !o->insecure ? strdup(o->ca_file) : NULL;
    if (c->ca_file && !load_ca(c, err, errsz)) {
        client_destroy(c);
        return NULL;
    }
    c->basic_credential =
        c->user && c->password ? cupi_scrub_basic_credential(c->user, c->password) : NULL;
    if (!c->user || !c->password || !c->auth_header || !c->basic_credential ||
        (o->ca_file && !o->insecure && !c->ca_file)) {
        client_destroy(c);
        cupi_set_error(err, errsz, "out of memory");
        return NULL;
    }
    apply_defaults(c, o);
    if (!cupi_conn_share_new(c)) {
        client_destroy(c);
        cupi_set_error(err, errsz, "out of memory");
        return NULL;
    }
    /* One kept connection per server: the concurrent requests of a SET open
     * more, and those are closed once done rather than kept idle. */
    cupi_engine_reserve_connections(e, 1);
    c->rng = (uint64_t)cupi_now_ms() ^ ((uint64_t)(uintptr_t)c << 16) ^ 0x5DEECE66Du;
    cupi_engine_link_client(e, c);
    return c;
}

static void cancel_all(cupi_client *c, cupi_req_list *l)
{
    cupi_request *r;
    while ((r = cupi_req_pop(l))) {
        r->result.status = CUPI_E_CANCELLED;
        r->result.snapshot.present = 0;
        request_set_message(c, r, "request cancelled: client freed");
        if (r->cb)
            r->cb(&r->result, r->arg);
        cupi_request_free(r);
    }
}

void cupi_client_free(cupi_client *c)
{
    if (!c)
        return;
    /* Callbacks run below may try to queue more on this client. */
    c->closing = true;
    cupi_req_list gone = {0};
    cupi_engine_take_done(c->engine, c, &gone);
    while (c->active) {
        cupi_transfer *t = c->active;
        c->active = t->next;
        c->n_active--;
        c->engine->n_active--;
        curl_multi_remove_handle(c->engine->multi, t->easy);
        cupi_req_push(&gone, t->req);
        cupi_transfer_destroy(t);
    }
    cupi_request *r;
    while ((r = cupi_req_pop(&c->retrying)))
        cupi_req_push(&gone, r);
    while ((r = cupi_req_pop(&c->queue)))
        cupi_req_push(&gone, r);
    update_waiting(c);
    cancel_all(c, &gone);
    cupi_engine_reserve_connections(c->engine, -1);
    cupi_engine_unlink_client(c->engine, c);
    client_destroy(c);
}

cupi_status cupi_client_get(cupi_client *c, cupi_resource r, cupi_callback cb, void *arg)
{
    if (!c || (int)r < 0 || r >= CUPI_RES_COUNT)
        return CUPI_E_INVALID;
    if (c->closing)
        return CUPI_E_CANCELLED;
    cupi_request *req = request_new(c, r, false, cb, arg);
    if (!req)
        return CUPI_E_NOMEM;
    cupi_req_push(&c->queue, req);
    cupi_client_pump(c, cupi_now_ms());
    return CUPI_OK;
}

cupi_status cupi_client_put(cupi_client *c, const cupi_snapshot *changes, cupi_callback cb,
                            void *arg)
{
    if (!c || !changes || (int)changes->resource < 0 || changes->resource >= CUPI_RES_COUNT ||
        changes->present == 0)
        return CUPI_E_INVALID;
    if (c->closing)
        return CUPI_E_CANCELLED;
    cupi_request *req = request_new(c, changes->resource, true, cb, arg);
    if (!req)
        return CUPI_E_NOMEM;
    cupi_status st = cupi_encode(changes, c->format, &req->body, &req->body_len);
    size_t n;
    const cupi_field *f = cupi_fields(changes->resource, &n);
    for (size_t i = 0; st == CUPI_OK && i < n; i++) {
        /* CUPI may echo the body it refuses: remember what to mask. */
        if (f[i].write_only && cupi_snapshot_has(changes, f[i].column) && changes->v[i].s[0] &&
            !req->put_secret && !(req->put_secret = strdup(changes->v[i].s)))
            st = CUPI_E_NOMEM;
    }
    if (st != CUPI_OK) {
        cupi_request_free(req);
        return st;
    }
    cupi_req_push(&c->queue, req);
    cupi_client_pump(c, cupi_now_ms());
    return CUPI_OK;
}

void cupi_client_hold_connections(cupi_client *c, bool hold)
{
    if (hold)
        c->holds++;
    else if (c->holds)
        c->holds--;
}

void cupi_client_stats_get(const cupi_client *c, cupi_client_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->requests = c->requests;
    out->failures = c->failures;
    out->in_flight = c->n_active;
    out->queued = (unsigned)(c->queue.n + c->retrying.n);
    out->connections = c->connections;
}
