/* cupi_http_internal.h - private to the HTTP client (cupi_http*.c,
 * cupi_sync.c). Nothing here is part of libcupi's ABI (the library is built
 * with hidden visibility; only CUPI_API functions are exported). */
#ifndef CUPI_HTTP_INTERNAL_H
#define CUPI_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <cupi/client.h>

/* Longest JSESSIONID value kept; Tomcat's are 32 hex digits, so anything
 * much longer is not a session id we want to echo back. */
#define CUPI_SESSION_MAX 128

typedef struct cupi_request cupi_request;
typedef struct cupi_transfer cupi_transfer;
typedef struct cupi_ca cupi_ca;

/* One GET or PUT from cupi_client_get/put until its callback has run. */
struct cupi_request {
    cupi_request *next;
    cupi_client *client;
    cupi_callback cb;
    void *arg;
    char *body; /* PUT body, owned; curl reads it without copying */
    size_t body_len;
    char *put_secret; /* the write-only value this PUT carries, or NULL; wiped */
    int64_t retry_at_ms;
    cupi_result result;
};

typedef struct cupi_req_list {
    cupi_request *head, *tail;
    size_t n;
} cupi_req_list;

/* curl's receive buffer per easy handle (its default is 16 KiB): CUPI's
 * bodies are well under 4 KiB, and a bigger body still arrives, only in more
 * pieces (the 1 MiB cap is enforced on what arrives, not by this size). */
#define CUPI_RECV_BUFFER_BYTES 4096L

/* The most header bytes one answer may carry: CUPI sends well under 2 KiB;
 * more is refused before libcurl's own, larger limits (which older libcurl
 * reports as out of memory) are reached. */
#define CUPI_MAX_HEADER_BYTES (64u * 1024u)

/* One easy handle and the buffers of the attempt it carries. Pooled per
 * client when the client keeps its connections, so that its options are set
 * once and curl can hand the same connection back to it; freed after each
 * attempt otherwise. */
struct cupi_transfer {
    cupi_transfer *next;
    cupi_client *client;
    cupi_request *req; /* NULL while idle in the pool */
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    size_t len, cap;
    bool too_large;        /* the body cap tripped */
    bool header_too_large; /* the header cap tripped */
    size_t header_bytes;   /* of the current answer's header block */
    bool headers_done;     /* its blank line arrived */
    bool got_session;
    char session[CUPI_SESSION_MAX + 1];
    char errbuf[CURL_ERROR_SIZE];
};

struct cupi_client {
    cupi_engine *engine;
    cupi_client *next; /* in engine->clients */
    char *base_url;    /* scheme://host[:port], no trailing slash */
    char *user;
    char *password; /* kept only to scrub messages; wiped on free */
    size_t password_len;
    char *auth_header;      /* "Authorization: Basic ..."; wiped on free */
    char *basic_credential; /* base64 of user:password, for scrubbing; wiped */
    char *ca_file;
    cupi_ca *ca;        /* its CA file's certificates (cupi_http_ca.c), or NULL */
    int64_t ca_read_ms; /* when the CA file was last read */
    bool insecure;
    bool keep_connections; /* the "keep" policy of cupi/client.h */
    unsigned holds;        /* cupi_client_hold_connections nesting */
    CURLSH *share;         /* this server's TLS session and host name cache */
    cupi_format format;
    long timeout_ms;
    long connect_timeout_ms;
    unsigned max_concurrent;
    unsigned max_retries;
    long backoff_base_ms;
    long backoff_max_ms;
    long session_idle_ms;
    char session[CUPI_SESSION_MAX + 1]; /* "" when no session */
    int64_t session_used_ms;
    cupi_req_list queue;    /* waiting for a free slot, FIFO */
    cupi_req_list retrying; /* waiting out a 503 back-off */
    /* In engine->waiting while queue or retrying holds a request: the
     * engine then visits only these, not every client of a fleet. */
    bool waiting;
    cupi_client *waiting_prev, *waiting_next;
    cupi_transfer *active; /* in flight */
    unsigned n_active;
    cupi_transfer *idle; /* pooled, at most max_concurrent */
    unsigned n_idle;
    uint64_t rng;
    bool closing; /* inside cupi_client_free: refuse new requests */
    uint32_t requests;
    uint32_t failures;
    uint32_t connections;
};

struct cupi_engine_sock {
    curl_socket_t fd;
    int what; /* CURL_POLL_IN / OUT / INOUT */
};

struct cupi_engine {
    CURLM *multi;
    struct cupi_engine_sock *socks;
    size_t n_socks, cap_socks;
    int64_t curl_deadline_ms; /* -1: curl wants no timer */
    cupi_client *clients;
    cupi_client *waiting; /* the clients with queued or retrying requests */
    unsigned n_active;    /* transfers in flight, all clients together */
    cupi_req_list done;   /* finished, callback not run yet */
    cupi_socket_fn watch; /* told of every socket change, or NULL */
    void *watch_arg;
    long connection_room; /* connections all clients may hold at once */
    cupi_ca *cas;         /* the CA files of its clients, one per content */
};

/* --- cupi_http_util.c: pure helpers ------------------------------------ */

int64_t cupi_now_ms(void);
/* Checks a base URL; on success *base is the malloc'ed scheme://host[:port]. */
cupi_status cupi_http_base_url(const char *url, bool insecure, char **base, char *err,
                               size_t errsz);
/* Back-off before retry number n (0 for the first), jitter included. */
long cupi_http_backoff(long base_ms, long max_ms, unsigned n, uint64_t *rng);
/* JSESSIONID value of one response header line, if it is a Set-Cookie for it. */
bool cupi_http_session_cookie(const char *line, size_t len, char *out, size_t outsz);
/* "Authorization: Basic BASE64(user:password)", malloc'ed (the caller wipes
 * and frees it); NULL when out of memory. Built here rather than by curl so
 * that curl never holds the password itself, only this header line. */
char *cupi_http_basic_auth(const char *user, const char *password);

/* --- cupi_http_errors.c: what a finished transfer means ------------------ */

/* How far a transfer got, as libcurl and the callbacks saw it. */
typedef struct cupi_transfer_facts {
    CURLcode rc;
    bool body_too_large;   /* the body cap (CUPI_MAX_BODY) aborted it */
    bool header_too_large; /* the header cap (CUPI_MAX_HEADER_BYTES) aborted it */
    bool https;
    bool resolved;       /* the host name was resolved (or is an address) */
    bool connected;      /* a TCP connection was made (or reused) */
    bool tls_done;       /* the TLS handshake finished */
    bool request_sent;   /* the request went out */
    bool answer_started; /* some of the answer arrived */
    bool headers_done;   /* the answer's header block was complete */
    long os_errno;       /* errno of the failed connect, 0 if none */
    long tls_verify;     /* OpenSSL's certificate verification result */
} cupi_transfer_facts;

/* A failed transfer (rc != CURLE_OK, or a cap tripped): its status, and in
 * text a fixed description of what happened (the same for the same fault:
 * no durations, sizes or addresses). */
cupi_status cupi_http_failure(const cupi_transfer_facts *f, char *text, size_t textsz);
/* The status of a complete HTTP answer. */
cupi_status cupi_http_status(long http);

/* --- cupi_secret.c: allocators that clear what they free ----------------- */

/* curl_global_init with such an allocator (curl takes it only in that call,
 * and only as the process's first initialisation). */
CURLcode cupi_secret_curl_global_init(long flags);
/* The same for libxml2 and cJSON. */
void cupi_secret_hook_parsers(void);

/* --- cupi_http.c: engine ------------------------------------------------ */

void cupi_req_push(cupi_req_list *l, cupi_request *r);
cupi_request *cupi_req_pop(cupi_req_list *l);
void cupi_engine_link_client(cupi_engine *e, cupi_client *c);
void cupi_engine_unlink_client(cupi_engine *e, cupi_client *c);
/* Moves the finished requests of c out of the engine's delivery queue. */
void cupi_engine_take_done(cupi_engine *e, const cupi_client *c, cupi_req_list *out);
/* Sizes curl's connection cache for what every client may hold at once
 * (delta: +1 for a client made, -1 for one freed: each keeps one). */
void cupi_engine_reserve_connections(cupi_engine *e, long delta);

/* --- cupi_http_transfer.c: pooled easy handles ------------------------------ */

/* An idle handle of c, or a new one set up for c; NULL when out of memory. */
cupi_transfer *cupi_transfer_take(cupi_client *c);
/* Back to c's pool (or freed when the pool is full or c does not keep its
 * connections). */
void cupi_transfer_release(cupi_client *c, cupi_transfer *t);
void cupi_transfer_destroy(cupi_transfer *t);
/* Clears and frees t's request headers (one of them is the Authorization). */
void cupi_transfer_free_headers(cupi_transfer *t);

/* --- cupi_http_conn.c: connection policy and shared TLS state ------------ */

/* c's share handle (TLS sessions, host names); false when out of memory. */
bool cupi_conn_share_new(cupi_client *c);
void cupi_conn_share_free(cupi_client *c);
/* The options of an easy handle that follow from c's connection policy and
 * trust settings. */
CURLcode cupi_conn_setup(const cupi_client *c, CURL *h);

/* --- cupi_http_ca.c: a client's own CA file --------------------------------- */

/* The CAs of the file at path (read now, bounded, without blocking), shared
 * with the engine's other clients trusting the same bytes; NULL with why
 * set (never the path) when it cannot be read or holds no certificate. */
cupi_ca *cupi_ca_get(cupi_engine *e, const char *path, char *why, size_t whysz);
/* Gives back what cupi_ca_get returned (NULL is fine). */
void cupi_ca_put(cupi_engine *e, cupi_ca *ca);
/* How many distinct CA files e's clients hold (each parsed once). */
size_t cupi_ca_count(const cupi_engine *e);
/* Reads c's CA file again when it was last read minutes ago, and trusts
 * what it holds now if it can be read (else what it held before). */
void cupi_ca_refresh(cupi_client *c, int64_t now);
/* Makes an easy handle trust exactly c's CAs, without curl opening any file. */
CURLcode cupi_ca_setup(const cupi_client *c, CURL *h);

/* --- cupi_http_client.c: requests ---------------------------------------- */

/* A transfer curl reported as finished; the request is retried or queued on
 * the engine for its callback. */
void cupi_client_transfer_done(cupi_transfer *t, CURLcode rc, int64_t now);
/* Moves due retries to the queue and starts what fits under max_concurrent. */
void cupi_client_pump(cupi_client *c, int64_t now);
/* Earliest retry deadline, -1 when none. */
int64_t cupi_client_next_retry(const cupi_client *c);
void cupi_request_free(cupi_request *r);

#endif
