/* cupi/client.h - HTTPS client for the CUPI SMTP resources (libcurl).
 *
 * One cupi_engine drives every request of a process without blocking: the
 * caller mirrors cupi_engine_fds() and cupi_engine_timeout_ms() into its own
 * event loop and calls cupi_engine_dispatch() when something is ready. One
 * cupi_client per CUPI server holds its connection, session cookie, limits
 * and counters. Completion callbacks run inside cupi_engine_dispatch() (or
 * inside cupi_client_free() with CUPI_E_CANCELLED), never re-entrantly inside
 * cupi_client_get/put. The blocking calls at the end are for cupictl and
 * tests; they run the engine until their own request completes.
 *
 * Not thread-safe: use an engine and its clients from one thread (the
 * agent's CUPI worker thread, or cupictl's only thread).
 *
 * Connections. A server drops a connection left idle longer than its
 * keep-alive, and a fleet of idle connections costs memory on both ends, so
 * each client follows one of two policies, chosen from expected_idle_ms (the
 * longest the caller expects the client to go without a request, usually
 * its refresh period):
 * - expected_idle_ms of 0 or at most CUPI_KEEPALIVE_MAX_IDLE_MS: "keep".
 *   Connections stay open between requests (up to max_concurrent while
 *   requests wait, one once the client is idle), each reused only while it
 *   has been idle for no longer than that keep-alive; an idle kept TLS
 *   connection gives back OpenSSL's record buffers.
 * - longer: "close after use". Each request's connection is closed when its
 *   answer is in, and an idle client holds no socket, no curl handle and no
 *   TLS connection state: only its TLS session, so that the next request
 *   resumes it (an abbreviated handshake) when the server allows.
 * Either way each client keeps its own TLS session and host name cache, and
 * the trusted certificates of one CA file are parsed once per engine and
 * shared by all its connections (with libcurl's OpenSSL backend; best with
 * one CA file for the whole fleet: clients with different CA files take
 * turns in that cache). No CA directory is searched besides the CA file, or
 * besides libcurl's built-in bundle without one: a directory would make
 * every connection parse the whole store again.
 */
#ifndef CUPI_CLIENT_H
#define CUPI_CLIENT_H

#include <cupi/export.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cupi/codec.h>
#include <cupi/fields.h>
#include <cupi/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cupi_engine cupi_engine;
typedef struct cupi_client cupi_client;

/* Longest idle time after which a connection is still worth keeping (ms):
 * below the keep-alive common servers grant (Tomcat's default is 20 s), so a kept
 * connection is not reused just as the server closes it. */
#define CUPI_KEEPALIVE_MAX_IDLE_MS 15000L

typedef struct cupi_client_options {
    const char *url;         /* https://host[:port]; http:// only when insecure */
    const char *user;        /* Basic auth user */
    const char *password;    /* copied; wiped from memory on free */
    const char *ca_file;     /* PEM bundle, NULL: libcurl's CA bundle */
    bool insecure;           /* skip certificate and host verification */
    cupi_format format;      /* wire encoding (Accept / Content-Type) */
    long timeout_ms;         /* one HTTP attempt; 0: 5000 */
    long connect_timeout_ms; /* TCP and TLS set-up of a connection, within
                                timeout_ms; 0: the smaller of 3000 and timeout_ms */
    unsigned max_concurrent; /* requests in flight; 0: 2 */
    unsigned max_retries;    /* extra attempts after HTTP 503; 0: 3 */
    long backoff_base_ms;    /* first 503 back-off; 0: 200 */
    long backoff_max_ms;     /* back-off cap; 0: 5000 */
    long session_idle_ms;    /* drop JSESSIONID after this idle; 0: 60000 */
    long expected_idle_ms;   /* longest the caller expects the client to go
                                without a request (its refresh period); above
                                CUPI_KEEPALIVE_MAX_IDLE_MS connections are
                                closed after use; 0: kept (see above) */
} cupi_client_options;

typedef struct cupi_result {
    cupi_status status;
    long http_status; /* last HTTP status, 0 when none was received */
    cupi_resource resource;
    bool is_put;
    unsigned attempts;      /* HTTP attempts made (503 retries included) */
    cupi_snapshot snapshot; /* GET with CUPI_OK: the decoded values */
    char message[256];      /* error text for operators: CUPI's own message when
                               it sent one; "" on success; never a secret. The
                               same fault always gives the same text: no
                               measured times, sizes or addresses */
    char detail[256];       /* for logs only: libcurl's own description of a
                               transport or TLS failure (may carry addresses
                               and measured times); "" otherwise; never a
                               secret */
} cupi_result;

typedef void (*cupi_callback)(const cupi_result *result, void *arg);

typedef struct cupi_pollfd {
    int fd;
    bool want_read;
    bool want_write;
} cupi_pollfd;

typedef struct cupi_client_stats {
    uint32_t requests; /* HTTP attempts sent */
    uint32_t failures; /* attempts that failed: transport, TLS, 4xx, 5xx, parse */
    unsigned in_flight;
    unsigned queued;
    uint32_t connections; /* connections opened (TCP, and TLS when https) */
} cupi_client_stats;

/* Process-wide setup of libcurl and libxml2; call once before anything else. */
CUPI_API cupi_status cupi_global_init(void);
CUPI_API void cupi_global_cleanup(void);

CUPI_API cupi_engine *cupi_engine_new(void);
/* Frees the engine; every client must have been freed first. */
CUPI_API void cupi_engine_free(cupi_engine *e);

/* Sockets the engine waits on. Writes at most max entries and returns how
 * many there are in total (call again with a bigger array when larger). */
CUPI_API size_t cupi_engine_fds(const cupi_engine *e, cupi_pollfd *out, size_t max);
/* Milliseconds until cupi_engine_dispatch() must run even if no socket is
 * ready; -1 when nothing is pending. */
CUPI_API long cupi_engine_timeout_ms(const cupi_engine *e);
/* Socket changes as they happen, for a caller that keeps its own poll set
 * (epoll) instead of asking cupi_engine_fds() after every call: fn runs
 * inside cupi_engine_dispatch() and the request calls whenever the engine
 * starts watching a socket, changes what it waits for, or stops (remove:
 * the socket may be closed right after). Set it before the first request;
 * NULL turns it off. */
typedef void (*cupi_socket_fn)(int fd, bool want_read, bool want_write, bool remove, void *arg);
CUPI_API void cupi_engine_watch(cupi_engine *e, cupi_socket_fn fn, void *arg);
/* Processes ready sockets (ready may be NULL when n_ready is 0), due timers
 * and retries, and runs the callbacks of completed requests. */
CUPI_API void cupi_engine_dispatch(cupi_engine *e, const cupi_pollfd *ready, size_t n_ready);
/* True while any request is queued, in flight or waiting for a retry. */
CUPI_API bool cupi_engine_busy(const cupi_engine *e);
/* Blocking helper: poll()s the engine's sockets for at most max_wait_ms and
 * dispatches once. */
CUPI_API void cupi_engine_wait(cupi_engine *e, long max_wait_ms);

/* Creates a client. Returns NULL with err filled on a bad option (URL scheme,
 * missing CA file ...). */
CUPI_API cupi_client *cupi_client_new(cupi_engine *e, const cupi_client_options *o, char *err,
                                      size_t errsz);
/* Cancels what is pending (callbacks get CUPI_E_CANCELLED) and frees. */
CUPI_API void cupi_client_free(cupi_client *c);

/* Queue a GET of a resource; cb runs once with the result. Returns CUPI_OK
 * or CUPI_E_NOMEM (cb will then not run). */
CUPI_API cupi_status cupi_client_get(cupi_client *c, cupi_resource r, cupi_callback cb,
                                     void *arg);
/* Queue a PUT carrying exactly the present fields of changes. Any 2xx is
 * success; the caller reads back to know a value stuck. A PUT on a kept-alive
 * connection that turns out dead is sent again on a fresh one (libcurl's own
 * retry): deliberate, as the body holds absolute values, so applying it twice
 * is applying it once. CUPI_E_TIMEOUT and CUPI_E_TRANSPORT leave the outcome
 * unknown (CUPI may have applied it, or still apply it): read back. */
CUPI_API cupi_status cupi_client_put(cupi_client *c, const cupi_snapshot *changes,
                                     cupi_callback cb, void *arg);
CUPI_API void cupi_client_stats_get(const cupi_client *c, cupi_client_stats *out);
/* A run of requests is coming back to back (a SET: read, PUT, read-back):
 * while held (calls nest), a client that closes connections after use keeps
 * them between requests; the first request after the last release closes
 * the connection again. No effect on a client that keeps connections. */
CUPI_API void cupi_client_hold_connections(cupi_client *c, bool hold);

/* Blocking GET / PUT: run the engine until this request completes. */
CUPI_API cupi_status cupi_get_sync(cupi_client *c, cupi_resource r, cupi_result *out);
CUPI_API cupi_status cupi_put_sync(cupi_client *c, const cupi_snapshot *changes,
                                   cupi_result *out);

#ifdef __cplusplus
}
#endif
#endif
