/* test_http.c - the CUPI HTTP client against a scripted HTTP/1.1 server run
 * in threads of this process (plain http on 127.0.0.1, insecure=true), so
 * every assertion can look at what the server actually received. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cupi/cupi.h>

#include "cupi_http_internal.h"
#include "cupi_scrub.h"

#define PASSWORD "Sup3rS3cretPw"
/* base64("admin:" PASSWORD) */
#define AUTH_HEADER "Authorization: Basic YWRtaW46U3VwM3JTM2NyZXRQdw=="

static const char SERVER_XML[] =
    "<SmtpServerConfiguration>\n"
    "  <Port>587</Port>\n"
    "  <domainName>mail.example.com</domainName>\n"
    "  <maxNumberConnections>20</maxNumberConnections>\n"
    "  <smtpClientThreads>2</smtpClientThreads>\n"
    "  <maxMessageSizeKb>10000</maxMessageSizeKb>\n"
    "  <maxNumberMessagesSession>10</maxNumberMessagesSession>\n"
    "  <maxNumberRecipients>15000</maxNumberRecipients>\n"
    "  <retryDeliveryTimeoutMin>240</retryDeliveryTimeoutMin>\n"
    "  "
    "<allowConnectionsFromUntrustedIpAddresses>true</"
    "allowConnectionsFromUntrustedIpAddresses>\n"
    "  <requireAuthenticationFromUntrustedIpAddresses>true"
    "</requireAuthenticationFromUntrustedIpAddresses>\n"
    "  <requireTlsFromUntrustedIpAddresses>1</requireTlsFromUntrustedIpAddresses>\n"
    "</SmtpServerConfiguration>\n";

/* --- scripted server ------------------------------------------------------ */

typedef struct reply {
    int status;          /* 0: never answer, hold the connection open */
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
    size_t big_body; /* > 0: a body of this many bytes instead of body */
    bool no_length;  /* close-delimited body, no Content-Length */
    int delay_ms;
    size_t big_header;  /* > 0: this many more header bytes ("X-Pad: aaa...") */
    size_t header_line; /* ... in lines of this length; 0: one line */
    bool stall_body;    /* send the header block, then hold the connection */
} reply;

typedef struct seen {
    char method[8];
    char path[128];
    char headers[2048];
    char body[2048];
} seen;

#define MAX_SCRIPT 8
#define MAX_SEEN 32
#define MAX_CONN 32

typedef struct server {
    int lfd;
    int port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    reply script[MAX_SCRIPT]; /* reply i answers request i; the last repeats */
    size_t n_script;
    seen reqs[MAX_SEEN];
    size_t n_reqs;
    int conns_now, conns_max, conns_total;
    int busy_now, busy_max;
    volatile int stop;
    pthread_t conn_threads[MAX_CONN];
    size_t n_threads;
} server;

typedef struct conn {
    server *s;
    int fd;
} conn;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for the socket to be readable while watching for stop. */
static bool wait_readable(server *s, int fd)
{
    while (!s->stop) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, 20);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
    return false;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one request; false on EOF, garbage (e.g. a TLS hello) or stop. */
static bool read_request(server *s, int fd, seen *out)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= sizeof buf || !wait_readable(s, fd))
            return false;
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        buf[len] = '\0';
        if (buf[0] < 'A' || buf[0] > 'Z')
            return false;
        end = strstr(buf, "\r\n\r\n");
    }
    memset(out, 0, sizeof *out);
    sscanf(buf, "%7s %127s", out->method, out->path);
    size_t hlen = (size_t)(end - buf) + 4;
    snprintf(out->headers, sizeof out->headers, "%.*s", (int)hlen, buf);
    size_t clen = 0;
    const char *cl = strcasestr(out->headers, "\r\nContent-Length:");
    if (cl)
        clen = strtoul(cl + 17, NULL, 10);
    size_t have = len - hlen;
    while (have < clen && have + hlen + 1 < sizeof buf) {
        if (!wait_readable(s, fd))
            return false;
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
        have += (size_t)r;
    }
    snprintf(out->body, sizeof out->body, "%.*s", (int)have, buf + hlen);
    return true;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Whatever";
    }
}

/* Holds the connection until the client gives up or the test ends. */
static void hold(server *s, int fd)
{
    char sink[512];
    while (wait_readable(s, fd) && recv(fd, sink, sizeof sink, 0) > 0) {
    }
}

/* rp->big_header bytes of "X-Pad: aaa...\r\n" lines. */
static bool send_padding(int fd, const reply *rp)
{
    size_t line = rp->header_line ? rp->header_line : rp->big_header;
    char *buf = malloc(line);
    assert_non_null(buf);
    bool ok = true;
    for (size_t sent = 0; ok && sent < rp->big_header; sent += line) {
        memset(buf, 'a', line);
        memcpy(buf, "X-Pad: ", 7);
        buf[line - 2] = '\r';
        buf[line - 1] = '\n';
        ok = send_all(fd, buf, line);
    }
    free(buf);
    return ok;
}

/* Sends a reply; false when the connection must be closed afterwards. */
static bool send_reply(server *s, int fd, const reply *rp)
{
    if (rp->delay_ms) {
        for (long t = 0; t < rp->delay_ms && !s->stop; t += 10)
            sleep_ms(10);
    }
    if (rp->status == 0) {
        hold(s, fd);
        return false;
    }
    size_t blen = rp->big_body ? rp->big_body : (rp->body ? strlen(rp->body) : 0);
    char head[1024];
    int n;
    if (rp->no_length)
        n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%sConnection: close\r\n\r\n",
                     rp->status, reason(rp->status), rp->headers ? rp->headers : "");
    else
        n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n\r\n",
                     rp->status, reason(rp->status), rp->headers ? rp->headers : "", blen);
    /* The padding goes right after the status line. */
    const char *after_status = strstr(head, "\r\n") + 2;
    if (!send_all(fd, head, (size_t)(after_status - head)) || !send_padding(fd, rp) ||
        !send_all(fd, after_status, (size_t)n - (size_t)(after_status - head)))
        return false;
    if (rp->stall_body) {
        hold(s, fd);
        return false;
    }
    if (rp->big_body) {
        char chunk[16384];
        memset(chunk, 'x', sizeof chunk);
        for (size_t sent = 0; sent < rp->big_body;) {
            size_t k = rp->big_body - sent < sizeof chunk ? rp->big_body - sent : sizeof chunk;
            if (!send_all(fd, chunk, k))
                return false;
            sent += k;
        }
    } else if (blen && !send_all(fd, rp->body, blen)) {
        return false;
    }
    return !rp->no_length;
}

static void *conn_main(void *arg)
{
    conn *cn = arg;
    server *s = cn->s;
    int fd = cn->fd;
    free(cn);
    for (;;) {
        seen req;
        if (!read_request(s, fd, &req))
            break;
        pthread_mutex_lock(&s->mu);
        size_t i = s->n_reqs;
        if (s->n_reqs < MAX_SEEN)
            s->reqs[s->n_reqs++] = req;
        reply rp = s->script[i < s->n_script ? i : s->n_script - 1];
        if (++s->busy_now > s->busy_max)
            s->busy_max = s->busy_now;
        pthread_mutex_unlock(&s->mu);
        bool keep = send_reply(s, fd, &rp);
        pthread_mutex_lock(&s->mu);
        s->busy_now--;
        pthread_mutex_unlock(&s->mu);
        if (!keep)
            break;
    }
    close(fd);
    pthread_mutex_lock(&s->mu);
    s->conns_now--;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    server *s = arg;
    while (wait_readable(s, s->lfd)) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        conn *cn = malloc(sizeof *cn);
        pthread_mutex_lock(&s->mu);
        bool room = cn && s->n_threads < MAX_CONN;
        if (room) {
            s->conns_total++;
            if (++s->conns_now > s->conns_max)
                s->conns_max = s->conns_now;
            cn->s = s;
            cn->fd = fd;
            if (pthread_create(&s->conn_threads[s->n_threads], NULL, conn_main, cn) == 0)
                s->n_threads++;
            else
                room = false, s->conns_now--;
        }
        pthread_mutex_unlock(&s->mu);
        if (!room) {
            free(cn);
            close(fd);
        }
    }
    return NULL;
}

static int listen_ephemeral(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    *port = ntohs(a.sin_port);
    return fd;
}

static server *server_start(const reply *script, size_t n)
{
    server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_true(n > 0 && n <= MAX_SCRIPT);
    memcpy(s->script, script, n * sizeof *script);
    s->n_script = n;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = listen_ephemeral(&s->port);
    assert_int_equal(pthread_create(&s->acceptor, NULL, accept_main, s), 0);
    return s;
}

static void server_stop(server *s)
{
    s->stop = 1;
    pthread_join(s->acceptor, NULL);
    close(s->lfd);
    for (size_t i = 0; i < s->n_threads; i++)
        pthread_join(s->conn_threads[i], NULL);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static size_t server_count(server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_reqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* --- client helpers ------------------------------------------------------- */

typedef struct fixture {
    cupi_engine *engine;
    server *srv;
    char url[64];
} fixture;

static cupi_client_options base_options(const char *url)
{
    cupi_client_options o = {
        .url = url,
        .user = "admin",
        .password = PASSWORD,
        .insecure = true,
        .format = CUPI_FORMAT_XML,
        .timeout_ms = 3000,
        .backoff_base_ms = 10,
        .backoff_max_ms = 40,
    };
    return o;
}

static cupi_client *client_for(fixture *f, cupi_client_options *o)
{
    char err[256];
    cupi_client *c = cupi_client_new(f->engine, o, err, sizeof err);
    if (!c)
        fail_msg("cupi_client_new: %s", err);
    return c;
}

static void check_no_secret(const cupi_result *r)
{
    assert_null(strstr(r->message, PASSWORD));
    assert_null(strstr(r->detail, PASSWORD));
}

static void start_server(fixture *f, const reply *script, size_t n)
{
    f->srv = server_start(script, n);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->srv->port);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->engine = cupi_engine_new();
    assert_non_null(f->engine);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    assert_false(cupi_engine_busy(f->engine));
    cupi_engine_free(f->engine);
    if (f->srv)
        server_stop(f->srv);
    free(f);
    return 0;
}

/* One GET against a one-reply script; returns the result. */
static cupi_result get_once(fixture *f, const reply *script, size_t n, cupi_client_options *o,
                            cupi_client_stats *stats)
{
    start_server(f, script, n);
    cupi_client_options local = base_options(f->url);
    if (o) {
        o->url = f->url;
        local = *o;
    }
    cupi_client *c = client_for(f, &local);
    cupi_result r;
    cupi_get_sync(c, CUPI_RES_SERVER, &r);
    check_no_secret(&r);
    if (stats)
        cupi_client_stats_get(c, stats);
    cupi_client_free(c);
    return r;
}

/* --- tests ---------------------------------------------------------------- */

static void test_get_ok(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200, .headers = "Content-Type: application/xml\r\n", .body = SERVER_XML}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, NULL, &st);
    assert_int_equal(r.status, CUPI_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.attempts, 1);
    assert_false(r.is_put);
    assert_string_equal(r.message, "");
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    const cupi_field *dom = cupi_field_find(CUPI_RES_SERVER, "domainName");
    assert_true(cupi_snapshot_has(&r.snapshot, port->column));
    assert_int_equal(r.snapshot.v[port->column - 1].i, 587);
    assert_string_equal(r.snapshot.v[dom->column - 1].s, "mail.example.com");
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.failures, 0);

    seen *q = &f->srv->reqs[0];
    assert_string_equal(q->method, "GET");
    assert_string_equal(q->path, "/vmrest/smtpserver/serverconfigs");
    assert_non_null(strcasestr(q->headers, "\r\nAccept: application/xml\r\n"));
    assert_non_null(strstr(q->headers, AUTH_HEADER));
}

static void test_get_json_client(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200,
                       .body = "{\"smtpSmartHost\":\"relay.example.com\",\"isClientSecure\":"
                               "\"true\",\"smtpPort\":\"587\",\"isAuthEnabled\":\"false\","
                               "\"smtpUsername\":[]}"}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.format = CUPI_FORMAT_JSON;
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_CLIENT, &r), CUPI_OK);
    const cupi_field *host = cupi_field_find(CUPI_RES_CLIENT, "smtpSmartHost");
    assert_string_equal(r.snapshot.v[host->column - 1].s, "relay.example.com");
    cupi_client_free(c);
    seen *q = &f->srv->reqs[0];
    assert_string_equal(q->path, "/vmrest/smtpclient/clientconfigs");
    assert_non_null(strcasestr(q->headers, "\r\nAccept: application/json\r\n"));
}

static void test_auth_not_retried(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 401, .body = "Not Authorized"}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, NULL, &st);
    assert_int_equal(r.status, CUPI_E_AUTH);
    assert_int_equal(r.http_status, 401);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(server_count(f->srv), 1);
    assert_string_equal(r.message, "HTTP 401: Not Authorized");
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.failures, 1);
}

static void test_forbidden(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 403}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_AUTH);
    assert_int_equal(r.attempts, 1);
}

static void test_not_found(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 404}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_NOT_FOUND);
    assert_int_equal(r.http_status, 404);
    assert_non_null(strstr(r.message, "HTTP 404"));
}

static void test_busy_then_ok(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 503, .body = "busy"},
                      {.status = 503, .body = "busy"},
                      {.status = 200, .body = SERVER_XML}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 3, NULL, &st);
    assert_int_equal(r.status, CUPI_OK);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(r.message, "");
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.failures, 2);
}

static void test_busy_forever(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 503}};
    cupi_client_options o = base_options("");
    o.max_retries = 2;
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, &o, &st);
    assert_int_equal(r.status, CUPI_E_BUSY);
    assert_int_equal(r.http_status, 503);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(server_count(f->srv), 3);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.failures, 3);
    assert_non_null(strstr(r.message, "HTTP 503"));
}

static void test_server_error_message(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 500,
                       .body = "<ErrorDetails><errors><code>SYSTEM_ERROR</code>"
                               "<message>Database is down</message></errors></ErrorDetails>"}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_SERVER);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.message, "HTTP 500: Database is down");
}

static void test_rejected_and_scrubbed(void **state)
{
    fixture *f = *state;
    /* A server that echoes the password must not get it into our message. */
    reply script[] = {{.status = 400,
                       .body = "<ErrorDetails><errors><code>INVALID_PARAMETER</code>"
                               "<message>bad password " PASSWORD "</message></errors>"
                               "</ErrorDetails>"}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_REJECTED);
    assert_string_equal(r.message, "HTTP 400: bad password ***");
}

/* A server that echoes every request header and the password, in error
 * bodies (XML, JSON, plain text) and in a value it returns: with passwords
 * of 1, 3, 8 and 64 characters no credential reaches the message. */
static void test_echoed_credentials(void **state)
{
    fixture *f = *state;
    static const char *const pws[] = {
        "\xc2\xa7",   /* one character */
        "Q~\xc2\xa7", /* three characters in four bytes: still short */
        "S3cr3t!x",
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
    };
    for (size_t p = 0; p < sizeof pws / sizeof pws[0]; p++) {
        const char *pw = pws[p];
        char *cred = cupi_scrub_basic_credential("admin", pw);
        assert_non_null(cred);
        char xml[1024], json[1024], text[512], value[1024];
        snprintf(xml, sizeof xml,
                 "<ErrorDetails><errors><code>INVALID_PARAMETER</code><message>headers: "
                 "Host: 127.0.0.1, Authorization: Basic %s==, Accept: application/xml; "
                 "password=%s</message></errors></ErrorDetails>",
                 cred, pw);
        snprintf(json, sizeof json,
                 "{\"errors\": {\"code\": \"SYSTEM_ERROR\", \"message\": \"user admin "
                 "password %s credential %s==\"}}",
                 pw, cred);
        snprintf(text, sizeof text, "Not Authorized: Basic %s== (%s)", cred, pw);
        snprintf(value, sizeof value,
                 "<SmtpServerConfiguration><Port>25</Port><domainName>Basic %s== %s"
                 "</domainName></SmtpServerConfiguration>",
                 cred, pw);
        reply script[] = {
            {.status = 400, .body = xml},
            {.status = 500, .body = json},
            {.status = 401, .body = text},
            {.status = 200, .body = value},
        };
        start_server(f, script, 4);
        cupi_client_options o = base_options(f->url);
        o.password = pw;
        cupi_client *c = client_for(f, &o);
        const cupi_status want[] = {CUPI_E_REJECTED, CUPI_E_SERVER, CUPI_E_AUTH, CUPI_E_PARSE};
        for (size_t i = 0; i < 4; i++) {
            cupi_result r;
            assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), want[i]);
            if (strstr(r.message, cred) || strstr(r.message, pw))
                fail_msg("password %zu, answer %zu: %s", p, i, r.message);
            if (i == 3) /* the field is still named */
                assert_non_null(strstr(r.message, "field domainName"));
            else if (p < 2)
                assert_non_null(strstr(r.message, "withheld"));
            else
                assert_non_null(strstr(r.message, i == 1 ? "credential ***" : "Basic ***"));
        }
        cupi_client_free(c);
        server_stop(f->srv);
        f->srv = NULL;
        free(cred);
    }
}

/* A password of one letter does not mangle the text around it. */
static void test_short_password_no_mangling(void **state)
{
    fixture *f = *state;
    int port;
    int fd = listen_ephemeral(&port);
    close(fd);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", port);
    cupi_client_options o = base_options(f->url);
    o.password = "p";
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TRANSPORT);
    /* libcurl's own text (the detail, for logs) names the port. */
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1 port %d", port);
    if (!strstr(r.detail, want))
        fail_msg("mangled: %s", r.detail);
    assert_null(strstr(r.detail, "***"));
    assert_string_equal(r.message, "connection refused");
    cupi_client_free(c);
}

/* CUPI may echo the PUT body it refuses: the smart host's password in it
 * is masked. */
static void test_put_secret_echoed(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 400,
                       .body = "<ErrorDetails><errors><code>INVALID_PARAMETER</code><message>"
                               "bad body &lt;smtpPassword&gt;relayPw77&lt;/smtpPassword&gt; "
                               "(relayPw77)</message></errors></ErrorDetails>"}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    cupi_client *c = client_for(f, &o);
    cupi_snapshot cc;
    cupi_snapshot_init(&cc, CUPI_RES_CLIENT);
    cupi_value p = {0};
    strcpy(p.s, "relayPw77");
    cupi_snapshot_set(&cc, cupi_field_find(CUPI_RES_CLIENT, "smtpPassword")->column, &p);
    cupi_result r;
    assert_int_equal(cupi_put_sync(c, &cc, &r), CUPI_E_REJECTED);
    assert_null(strstr(r.message, "relayPw77"));
    assert_string_equal(r.message, "HTTP 400: bad body <smtpPassword>***</smtpPassword> (***)");
    cupi_client_free(c);
}

static void test_redirect_not_followed(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 302, .headers = "Location: http://127.0.0.1:1/elsewhere\r\n"}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_REJECTED);
    assert_int_equal(r.http_status, 302);
    assert_non_null(strstr(r.message, "redirect"));
    assert_int_equal(server_count(f->srv), 1);
}

static void test_parse_error(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = "<SmtpServerConfiguration><Port>"}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, NULL, &st);
    assert_int_equal(r.status, CUPI_E_PARSE);
    assert_int_equal(r.snapshot.present, 0);
    assert_non_null(strstr(r.message, "not understood"));
    assert_int_equal(st.failures, 1);
}

static void test_too_large_announced(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .big_body = 2u * 1024u * 1024u}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_TOO_LARGE);
    assert_string_equal(r.message, "response body larger than 1 MiB refused");
}

static void test_too_large_streamed(void **state)
{
    fixture *f = *state;
    /* No Content-Length: only the write callback's cap can catch it. */
    reply script[] = {{.status = 200, .big_body = CUPI_MAX_BODY + 1, .no_length = true}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, NULL, &st);
    assert_int_equal(r.status, CUPI_E_TOO_LARGE);
    assert_string_equal(r.message, "response body larger than 1 MiB refused");
    assert_int_equal(st.failures, 1);
}

static void test_timeout(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 0}};
    cupi_client_options o = base_options("");
    o.timeout_ms = 300;
    long t0 = now_ms();
    cupi_result r = get_once(f, script, 1, &o, NULL);
    long took = now_ms() - t0;
    assert_int_equal(r.status, CUPI_E_TIMEOUT);
    assert_int_equal(r.http_status, 0);
    assert_true(took >= 250);
    assert_true(took < 2000);
    /* A fixed text: libcurl's "after 301 milliseconds" only in the detail. */
    assert_string_equal(r.message, "timeout waiting for the answer");
    assert_non_null(strstr(r.detail, "milliseconds"));
}

/* The same fault, twice, with different measured times: the same message. */
static void test_timeout_text_stable(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 0}};
    start_server(f, script, 1);
    char first[sizeof((cupi_result *)0)->message] = "";
    for (long ms = 200; ms <= 450; ms += 250) {
        cupi_client_options o = base_options(f->url);
        o.timeout_ms = ms;
        cupi_client *c = client_for(f, &o);
        cupi_result r;
        assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TIMEOUT);
        if (first[0])
            assert_string_equal(r.message, first);
        snprintf(first, sizeof first, "%s", r.message);
        cupi_client_free(c);
    }
    assert_null(strpbrk(first, "0123456789"));
}

static void test_timeout_receiving(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML, .stall_body = true}};
    cupi_client_options o = base_options("");
    o.timeout_ms = 300;
    cupi_result r = get_once(f, script, 1, &o, NULL);
    assert_int_equal(r.status, CUPI_E_TIMEOUT);
    assert_string_equal(r.message, "timeout while receiving the answer");
}

/* A listener whose accept queue is full drops new SYNs: the connection is
 * never made. */
static void test_timeout_connecting(void **state)
{
    fixture *f = *state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t alen = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &alen);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    sleep_ms(50);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    cupi_client_options o = base_options(f->url);
    o.timeout_ms = 400;
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TIMEOUT);
    assert_string_equal(r.message, "timeout while connecting");
    cupi_client_free(c);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* One 2 MB header line: libcurl 7.x calls that out of memory; the peer's
 * header is what it is. */
static void test_header_line_too_large(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML, .big_header = 2u * 1000u * 1000u}};
    cupi_client_stats st;
    cupi_result r = get_once(f, script, 1, NULL, &st);
    assert_int_equal(r.status, CUPI_E_TOO_LARGE);
    assert_string_equal(r.message, "response header larger than 64 KiB refused");
    assert_null(strcasestr(r.message, "memory"));
    assert_int_equal(st.failures, 1);
}

/* Many header lines, each small, over the cap in all. */
static void test_header_lines_too_many(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200, .body = SERVER_XML, .big_header = 200u * 1024u, .header_line = 1024}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_E_TOO_LARGE);
    assert_string_equal(r.message, "response header larger than 64 KiB refused");
}

/* Under the cap, a padded header block is no fault. */
static void test_header_under_cap(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200, .body = SERVER_XML, .big_header = 32u * 1024u, .header_line = 1024}};
    cupi_result r = get_once(f, script, 1, NULL, NULL);
    assert_int_equal(r.status, CUPI_OK);
    assert_string_equal(r.message, "");
    assert_string_equal(r.detail, "");
}

static void test_connection_refused(void **state)
{
    fixture *f = *state;
    int port;
    int fd = listen_ephemeral(&port);
    close(fd); /* nothing listens there any more */
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", port);
    cupi_client_options o = base_options(f->url);
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TRANSPORT);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.message, "connection refused");
    assert_non_null(strstr(r.detail, "127.0.0.1"));
    check_no_secret(&r);
    cupi_client_free(c);
}

static void test_https_to_plain_port(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML}};
    start_server(f, script, 1);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", f->srv->port);
    cupi_client_options o = base_options(url);
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    cupi_status st = cupi_get_sync(c, CUPI_RES_SERVER, &r);
    assert_true(st == CUPI_E_TLS || st == CUPI_E_TRANSPORT);
    check_no_secret(&r);
    cupi_client_free(c);
}

static void test_session_cookie(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200,
         .headers = "Set-Cookie: JSESSIONIDSSO=sso1; Path=/\r\n"
                    "Set-Cookie: JSESSIONID=ABC123; Path=/vmrest/; Secure; HttpOnly\r\n",
         .body = SERVER_XML},
        {.status = 401, .body = "Not Authorized"},
        {.status = 200, .body = SERVER_XML},
    };
    start_server(f, script, 3);
    cupi_client_options o = base_options(f->url);
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_AUTH);
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    cupi_client_free(c);

    assert_int_equal(server_count(f->srv), 3);
    /* First: no session yet. Second: session and Basic auth together. */
    assert_null(strcasestr(f->srv->reqs[0].headers, "\r\nCookie:"));
    assert_non_null(strstr(f->srv->reqs[1].headers, "\r\nCookie: JSESSIONID=ABC123\r\n"));
    assert_non_null(strstr(f->srv->reqs[1].headers, AUTH_HEADER));
    /* After the 401 the session is dropped; Basic auth stays. */
    assert_null(strcasestr(f->srv->reqs[2].headers, "\r\nCookie:"));
    assert_non_null(strstr(f->srv->reqs[2].headers, AUTH_HEADER));
    /* One connection, reused for every request. */
    assert_int_equal(f->srv->conns_total, 1);
}

static void test_session_idle_expiry(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200, .headers = "Set-Cookie: JSESSIONID=XYZ\r\n", .body = SERVER_XML},
        {.status = 200, .body = SERVER_XML},
    };
    start_server(f, script, 2);
    cupi_client_options o = base_options(f->url);
    o.session_idle_ms = 50;
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    sleep_ms(120);
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    cupi_client_free(c);
    assert_null(strcasestr(f->srv->reqs[1].headers, "\r\nCookie:"));
}

typedef struct tally {
    int done;
    int ok;
    cupi_status last;
    unsigned max_in_flight;
    cupi_client *client;
} tally;

static void count_cb(const cupi_result *r, void *arg)
{
    tally *t = arg;
    t->done++;
    t->last = r->status;
    if (r->status == CUPI_OK)
        t->ok++;
    check_no_secret(r);
}

static void run_until(fixture *f, const int *done, int want)
{
    long deadline = now_ms() + 10000;
    while (*done < want && now_ms() < deadline)
        cupi_engine_wait(f->engine, 200);
    assert_int_equal(*done, want);
}

static void test_max_concurrent(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML, .delay_ms = 150}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.max_concurrent = 2;
    cupi_client *c = client_for(f, &o);
    tally t = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(cupi_client_get(c, CUPI_RES_SERVER, count_cb, &t), CUPI_OK);
    cupi_client_stats st;
    cupi_client_stats_get(c, &st);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(st.queued, 3);
    assert_true(cupi_engine_busy(f->engine));
    /* Callbacks never run inside cupi_client_get. */
    assert_int_equal(t.done, 0);
    while (t.done < 5) {
        cupi_engine_wait(f->engine, 200);
        cupi_client_stats_get(c, &st);
        assert_true(st.in_flight <= 2);
    }
    assert_int_equal(t.ok, 5);
    assert_true(f->srv->conns_max <= 2);
    assert_true(f->srv->busy_max <= 2);
    assert_int_equal(f->srv->busy_max, 2);
    /* Connections are reused from the pool, not reopened per request. */
    assert_true(f->srv->conns_total <= 2);
    cupi_client_free(c);
}

static void test_put_partial(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200}, {.status = 204}};
    start_server(f, script, 2);
    cupi_client_options o = base_options(f->url);
    cupi_client *c = client_for(f, &o);

    cupi_snapshot ch;
    cupi_snapshot_init(&ch, CUPI_RES_SERVER);
    const cupi_field *port = cupi_field_find(CUPI_RES_SERVER, "Port");
    const cupi_field *dom = cupi_field_find(CUPI_RES_SERVER, "domainName");
    cupi_value v = {.i = 25};
    cupi_snapshot_set(&ch, port->column, &v);
    cupi_value d = {0};
    strcpy(d.s, "smtp.example.org");
    cupi_snapshot_set(&ch, dom->column, &d);
    cupi_result r;
    assert_int_equal(cupi_put_sync(c, &ch, &r), CUPI_OK);
    assert_true(r.is_put);
    assert_int_equal(r.http_status, 200);

    /* The client resource answers 204: also success. */
    cupi_snapshot cc;
    cupi_snapshot_init(&cc, CUPI_RES_CLIENT);
    const cupi_field *pw = cupi_field_find(CUPI_RES_CLIENT, "smtpPassword");
    cupi_value p = {0};
    strcpy(p.s, "relaypw");
    cupi_snapshot_set(&cc, pw->column, &p);
    assert_int_equal(cupi_put_sync(c, &cc, &r), CUPI_OK);
    assert_int_equal(r.http_status, 204);
    cupi_client_free(c);

    seen *q = &f->srv->reqs[0];
    assert_string_equal(q->method, "PUT");
    assert_string_equal(q->path, "/vmrest/smtpserver/serverconfigs");
    assert_non_null(strcasestr(q->headers, "\r\nContent-Type: application/xml\r\n"));
    assert_non_null(strcasestr(q->headers, "\r\nAccept: application/xml\r\n"));
    assert_non_null(strstr(q->headers, AUTH_HEADER));
    assert_non_null(strstr(q->body, "<Port>25</Port>"));
    assert_non_null(strstr(q->body, "<domainName>smtp.example.org</domainName>"));
    assert_null(strstr(q->body, "maxNumberConnections"));
    assert_null(strstr(q->body, "smtpClientThreads"));
    assert_non_null(strstr(f->srv->reqs[1].body, "relaypw"));
    assert_string_equal(f->srv->reqs[1].path, "/vmrest/smtpclient/clientconfigs");
}

static void test_put_json(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 204}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.format = CUPI_FORMAT_JSON;
    cupi_client *c = client_for(f, &o);
    cupi_snapshot cc;
    cupi_snapshot_init(&cc, CUPI_RES_CLIENT);
    const cupi_field *port = cupi_field_find(CUPI_RES_CLIENT, "smtpPort");
    cupi_value v = {.i = 587};
    cupi_snapshot_set(&cc, port->column, &v);
    cupi_result r;
    assert_int_equal(cupi_put_sync(c, &cc, &r), CUPI_OK);
    cupi_client_free(c);
    seen *q = &f->srv->reqs[0];
    assert_non_null(strcasestr(q->headers, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(q->body, "\"587\""));
    assert_null(strstr(q->body, "smtpSmartHost"));
}

static void test_put_nothing_refused(void **state)
{
    fixture *f = *state;
    cupi_client_options o = base_options("http://127.0.0.1:1");
    cupi_client *c = client_for(f, &o);
    cupi_snapshot empty;
    cupi_snapshot_init(&empty, CUPI_RES_SERVER);
    assert_int_equal(cupi_client_put(c, &empty, count_cb, NULL), CUPI_E_INVALID);
    assert_false(cupi_engine_busy(f->engine));
    cupi_client_free(c);
}

static void expect_refused(fixture *f, cupi_client_options *o, const char *needle)
{
    char err[256] = "untouched";
    cupi_client *c = cupi_client_new(f->engine, o, err, sizeof err);
    assert_null(c);
    assert_true(err[0] != '\0');
    assert_null(strstr(err, PASSWORD));
    if (needle && !strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_url_validation(void **state)
{
    fixture *f = *state;
    cupi_client_options o = base_options("ftp://cuc.example.com");
    expect_refused(f, &o, "https://");
    o = base_options("http://cuc.example.com");
    o.insecure = false;
    expect_refused(f, &o, "insecure");
    o = base_options("https://cuc.example.com/vmrest");
    expect_refused(f, &o, "path");
    o = base_options("https://admin:" PASSWORD "@cuc.example.com");
    expect_refused(f, &o, "credentials");
    o = base_options("https://cuc.example.com/?x=1");
    expect_refused(f, &o, NULL);
    o = base_options("not a url");
    expect_refused(f, &o, NULL);
    o = base_options(NULL);
    expect_refused(f, &o, NULL);
    o = base_options("https://cuc.example.com:8443");
    o.insecure = false;
    o.ca_file = "/nonexistent/ca.pem";
    expect_refused(f, &o, "/nonexistent/ca.pem");

    /* Accepted shapes. */
    const char *good[] = {"https://cuc.example.com", "https://cuc.example.com:8443/",
                          "HTTPS://[::1]:8443", "https://192.0.2.1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        o = base_options(good[i]);
        o.insecure = false;
        cupi_client *c = client_for(f, &o);
        cupi_client_free(c);
    }
    char ca[] = "/tmp/test_http_ca_XXXXXX";
    int fd = mkstemp(ca);
    assert_true(fd >= 0);
    o = base_options("https://cuc.example.com");
    o.insecure = false;
    o.ca_file = ca;
    /* Empty, or no certificate in it: refused (it would trust nothing, and
     * fail far from here, at each handshake). */
    expect_refused(f, &o, "holds no PEM certificate");
    assert_int_equal(write(fd, "-----BEGIN CERTIFICATE-----\n", 28), 28);
    close(fd);
    expect_refused(f, &o, "holds no PEM certificate");
    unlink(ca);
    o.ca_file = CUPI_TEST_DATA "/test-ca.pem";
    cupi_client_free(client_for(f, &o));
    o.ca_file = ca;
    /* What cannot be read at once or whole is refused at once, naming the
     * file: a FIFO with no writer, an endless device, a directory. */
    assert_int_equal(mkfifo(ca, 0600), 0);
    expect_refused(f, &o, "is a FIFO, not a regular file");
    expect_refused(f, &o, ca);
    unlink(ca);
    o.ca_file = "/dev/zero";
    expect_refused(f, &o, "/dev/zero: is a character device");
    o.ca_file = "/tmp";
    expect_refused(f, &o, "is a directory");
}

/* Callbacks may queue new requests on their own client. */
static void chain_cb(const cupi_result *r, void *arg)
{
    tally *t = arg;
    count_cb(r, arg);
    if (t->done == 1)
        assert_int_equal(cupi_client_get(t->client, CUPI_RES_CLIENT, chain_cb, t), CUPI_OK);
}

static void test_get_from_callback(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML}, {.status = 404}};
    start_server(f, script, 2);
    cupi_client_options o = base_options(f->url);
    tally t = {0};
    t.client = client_for(f, &o);
    assert_int_equal(cupi_client_get(t.client, CUPI_RES_SERVER, chain_cb, &t), CUPI_OK);
    run_until(f, &t.done, 2);
    assert_int_equal(t.last, CUPI_E_NOT_FOUND);
    assert_string_equal(f->srv->reqs[1].path, "/vmrest/smtpclient/clientconfigs");
    cupi_client_free(t.client);
}

/* A callback may free its own client; the others then get CANCELLED. */
static void free_own_cb(const cupi_result *r, void *arg)
{
    tally *t = arg;
    count_cb(r, arg);
    if (t->client) {
        cupi_client *c = t->client;
        t->client = NULL;
        cupi_client_free(c);
    }
}

static void test_free_from_callback(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.max_concurrent = 1;
    tally t = {0};
    t.client = client_for(f, &o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cupi_client_get(t.client, CUPI_RES_SERVER, free_own_cb, &t), CUPI_OK);
    run_until(f, &t.done, 3);
    assert_int_equal(t.ok, 1);
    assert_int_equal(t.last, CUPI_E_CANCELLED);
    assert_null(t.client);
}

static void test_free_cancels_pending(void **state)
{
    fixture *f = *state;
    /* First request waits out a 503 back-off, the second hangs in flight,
     * the third is queued behind max_concurrent. */
    reply script[] = {{.status = 503}, {.status = 0}};
    start_server(f, script, 2);
    cupi_client_options o = base_options(f->url);
    o.max_concurrent = 2;
    o.backoff_base_ms = 5000;
    o.backoff_max_ms = 5000;
    cupi_client *c = client_for(f, &o);
    tally t = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(cupi_client_get(c, CUPI_RES_SERVER, count_cb, &t), CUPI_OK);
    cupi_client_stats st;
    long deadline = now_ms() + 5000;
    do {
        cupi_engine_wait(f->engine, 50);
        cupi_client_stats_get(c, &st);
    } while (server_count(f->srv) < 3 && now_ms() < deadline);
    assert_int_equal(server_count(f->srv), 3); /* 503, hang, hang */
    /* Nothing finished: the 503 waits for its retry. */
    assert_int_equal(t.done, 0);
    assert_true(cupi_engine_timeout_ms(f->engine) >= 0);
    cupi_client_free(c);
    assert_int_equal(t.done, 3);
    assert_int_equal(t.last, CUPI_E_CANCELLED);
    assert_false(cupi_engine_busy(f->engine));
}

/* --- connection policy ---------------------------------------------------- */

/* Waits (bounded) until the server has seen every connection closed. */
static int server_conns_after_close(server *s)
{
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&s->mu);
        int n = s->conns_now;
        pthread_mutex_unlock(&s->mu);
        if (n == 0)
            return 0;
        sleep_ms(10);
    }
    pthread_mutex_lock(&s->mu);
    int n = s->conns_now;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void assert_holds_nothing(fixture *f, const cupi_client *c)
{
    assert_int_equal(cupi_engine_fds(f->engine, NULL, 0), 0);
    assert_null(c->idle);
    assert_int_equal(c->n_idle, 0);
    assert_null(c->active);
    assert_int_equal(server_conns_after_close(f->srv), 0);
}

static void test_close_after_use(void **state)
{
    fixture *f = *state;
    reply script[] = {
        {.status = 200, .headers = "Set-Cookie: JSESSIONID=ABC123\r\n", .body = SERVER_XML},
        {.status = 503, .body = "busy"},
        {.status = 200, .body = SERVER_XML},
    };
    start_server(f, script, 3);
    cupi_client_options o = base_options(f->url);
    o.expected_idle_ms = 30000;
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    assert_holds_nothing(f, c);
    /* A 503 is retried as before, each attempt on a connection of its own. */
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.snapshot.v[0].i, 587);
    assert_holds_nothing(f, c);

    cupi_client_stats st;
    cupi_client_stats_get(c, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.connections, 3);
    cupi_client_free(c);
    assert_int_equal(f->srv->conns_total, 3);
    /* The session outlives the connection that brought it. */
    assert_int_equal(server_count(f->srv), 3);
    assert_null(strcasestr(f->srv->reqs[0].headers, "\r\nCookie:"));
    for (size_t i = 1; i < 3; i++) {
        assert_non_null(strstr(f->srv->reqs[i].headers, "\r\nCookie: JSESSIONID=ABC123\r\n"));
        assert_non_null(strstr(f->srv->reqs[i].headers, AUTH_HEADER));
    }
}

static void test_close_after_put(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 204}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.expected_idle_ms = CUPI_KEEPALIVE_MAX_IDLE_MS + 1;
    cupi_client *c = client_for(f, &o);
    cupi_snapshot ch;
    cupi_snapshot_init(&ch, CUPI_RES_SERVER);
    cupi_value v = {.i = 2525};
    cupi_snapshot_set(&ch, cupi_field_find(CUPI_RES_SERVER, "Port")->column, &v);
    cupi_result r;
    assert_int_equal(cupi_put_sync(c, &ch, &r), CUPI_OK);
    assert_int_equal(cupi_put_sync(c, &ch, &r), CUPI_OK);
    assert_holds_nothing(f, c);
    cupi_client_free(c);
    assert_int_equal(f->srv->conns_total, 2);
    assert_string_equal(f->srv->reqs[1].method, "PUT");
    assert_non_null(strstr(f->srv->reqs[1].body, "2525"));
}

static void test_keep_reuses(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.expected_idle_ms = CUPI_KEEPALIVE_MAX_IDLE_MS;
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    for (int i = 0; i < 3; i++)
        assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
    /* Kept: one socket, one pooled handle. */
    assert_int_equal(c->n_idle, 1);
    cupi_client_stats st;
    cupi_client_stats_get(c, &st);
    assert_int_equal(st.connections, 1);
    cupi_client_free(c);
    assert_int_equal(f->srv->conns_total, 1);
    assert_int_equal(server_count(f->srv), 3);

    o.expected_idle_ms = -1;
    char err[128];
    assert_null(cupi_client_new(f->engine, &o, err, sizeof err));
    assert_non_null(strstr(err, "negative"));
}

/* Once its requests are done, an engine asks for no wake-up now: a caller
 * sleeping until cupi_engine_timeout_ms() must sleep, not spin. */
static void test_engine_sleeps_when_done(void **state)
{
    fixture *f = *state;
    reply script[] = {{.status = 200, .body = SERVER_XML}};
    start_server(f, script, 1);
    cupi_client_options o = base_options(f->url);
    o.expected_idle_ms = CUPI_KEEPALIVE_MAX_IDLE_MS; /* a kept connection, as at poll 10 */
    cupi_client *c = client_for(f, &o);
    cupi_result r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_OK);
        unsigned immediate = 0;
        for (int turn = 0; turn < 50; turn++) {
            cupi_engine_dispatch(f->engine, NULL, 0);
            immediate += cupi_engine_timeout_ms(f->engine) == 0;
        }
        assert_false(cupi_engine_busy(f->engine));
        assert_true(immediate < 5); /* a spinning engine says 0 every time */
    }
    cupi_client_free(c);
}

/* Many clients with few requests in flight: each keeps its connection even
 * though curl's default cache would hold only a few between requests. */
static void test_keep_many_clients(void **state)
{
    fixture *f = *state;
    enum { N = 12 };
    reply script[] = {{.status = 200, .body = SERVER_XML}};
    server *srv[N];
    cupi_client *c[N];
    for (int i = 0; i < N; i++) {
        srv[i] = server_start(script, 1);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", srv[i]->port);
        cupi_client_options o = base_options(url);
        c[i] = client_for(f, &o);
    }
    cupi_result r;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++)
            assert_int_equal(cupi_get_sync(c[i], CUPI_RES_SERVER, &r), CUPI_OK);
    for (int i = 0; i < N; i++) {
        cupi_client_free(c[i]);
        assert_int_equal(server_count(srv[i]), 3);
        assert_int_equal(srv[i]->conns_total, 1);
        server_stop(srv[i]);
    }
}

/* Several clients at once, each with its own queue and back-offs: the
 * engine follows only the clients with waiting requests, so every one of
 * them must still be pumped when a slot frees or a retry comes due, its
 * retry deadline must reach cupi_engine_timeout_ms, and a client freed
 * while it waits must leave the others' work intact. */
static void test_waiting_clients(void **state)
{
    fixture *f = *state;
    enum { N = 5, PER_CLIENT = 3 };
    reply slow[] = {{.status = 200, .body = SERVER_XML, .delay_ms = 30}};
    reply busy_first[] = {{.status = 503, .body = "busy"}, {.status = 200, .body = SERVER_XML}};
    server *srv[N];
    cupi_client *c[N];
    tally t[N];
    memset(t, 0, sizeof t);
    for (int i = 0; i < N; i++) {
        srv[i] = i == 0 ? server_start(busy_first, 2) : server_start(slow, 1);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", srv[i]->port);
        cupi_client_options o = base_options(url);
        o.max_concurrent = 1;
        if (i == 0)
            o.backoff_base_ms = o.backoff_max_ms =
                2000; /* still waiting when the rest is done */
        c[i] = client_for(f, &o);
        for (int k = 0; k < (i == 0 ? 1 : PER_CLIENT); k++)
            assert_int_equal(cupi_client_get(c[i], CUPI_RES_SERVER, count_cb, &t[i]), CUPI_OK);
    }
    /* Client 2 goes while its requests wait: cancelled, nobody else's. */
    cupi_client_free(c[2]);
    c[2] = NULL;
    assert_int_equal(t[2].done, PER_CLIENT);
    assert_int_equal(t[2].last, CUPI_E_CANCELLED);
    /* The others finish while client 0 waits out its back-off, which is
     * then what bounds the engine's wait. */
    long deadline = now_ms() + 10000;
    bool others_done = false;
    while (!others_done && now_ms() < deadline) {
        cupi_engine_wait(f->engine, 50);
        others_done = server_count(srv[0]) == 1;
        for (int i = 1; i < N; i++)
            others_done = others_done && (i == 2 || t[i].done == PER_CLIENT);
    }
    assert_true(others_done);
    assert_int_equal(t[0].done, 0);
    /* (a timer curl still has due is served first) */
    for (int i = 0; i < 20 && cupi_engine_timeout_ms(f->engine) == 0; i++)
        cupi_engine_wait(f->engine, 10);
    long left = cupi_engine_timeout_ms(f->engine);
    if (!(left > 0 && left <= 3000)) /* 2 s back-off, up to +50 % jitter */
        fail_msg("engine timeout %ld ms", left);
    assert_true(cupi_engine_busy(f->engine));
    while (now_ms() < deadline) {
        bool all = t[0].done == 1;
        for (int i = 1; i < N; i++)
            all = all && (i == 2 || t[i].done == PER_CLIENT);
        if (all)
            break;
        cupi_engine_wait(f->engine, 100);
    }
    assert_int_equal(t[0].ok, 1);
    for (int i = 1; i < N; i++)
        if (i != 2)
            assert_int_equal(t[i].ok, PER_CLIENT);
    assert_int_equal(server_count(srv[0]), 2);
    assert_false(cupi_engine_busy(f->engine));
    for (int i = 0; i < N; i++) {
        cupi_client_free(c[i]);
        server_stop(srv[i]);
    }
    assert_false(cupi_engine_busy(f->engine));
}

static void test_engine_idle(void **state)
{
    fixture *f = *state;
    cupi_pollfd fds[4];
    assert_int_equal(cupi_engine_fds(f->engine, fds, 4), 0);
    assert_int_equal(cupi_engine_timeout_ms(f->engine), -1);
    assert_false(cupi_engine_busy(f->engine));
    cupi_engine_dispatch(f->engine, NULL, 0);
    long t0 = now_ms();
    cupi_engine_wait(f->engine, 30);
    assert_true(now_ms() - t0 < 1000);
}

int main(void)
{
    if (cupi_global_init() != CUPI_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_engine_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_sleeps_when_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_json_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_forever, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_and_scrubbed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echoed_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_password_no_mangling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_secret_echoed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_announced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_streamed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_text_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_receiving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_connecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_line_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_lines_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_under_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_to_plain_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_idle_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_nothing_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_cancels_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_after_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_after_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_reuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_clients, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    cupi_global_cleanup();
    return failed;
}
