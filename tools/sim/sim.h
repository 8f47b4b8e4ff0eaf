/* sim.h - cupi-sim: a CUPI (Unity Connection provisioning API) simulator for
 * the two SMTP resources, used by the tests, the demo and NMS labs.
 *
 * One process runs several "virtual servers": each has its own port, its own
 * libmicrohttpd daemon, its own configuration state, counters and fault
 * rules. Everything a virtual server owns is guarded by its own mutex;
 * nothing is shared between them except the read-only options and the state
 * file writer.
 */
#ifndef CUPI_SIM_H
#define CUPI_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <cupi/cupi.h>

struct MHD_Daemon;

/* Unity Connection processes at most 5 web-application requests at once per
 * server (CUPI REST FAQ); the simulator answers 503 beyond that instead of
 * queueing, which is what a client sees once CUC's queue wait times out. */
#define SIM_MAX_IN_PROGRESS 5
/* Issued JSESSIONIDs remembered per virtual server (oldest forgotten). */
#define SIM_SESSION_SLOTS 256
#define SIM_SESSION_ID_LEN 32 /* hex digits */
#define SIM_REALM "Cisco Unity Connection"
#define SIM_HTTP_STATUS_MAX 600

/* Options shared by every virtual server; read-only once the daemons run. */
typedef struct sim_options {
    bool http;               /* plain HTTP instead of HTTPS */
    bool verbose;            /* one log line per request */
    const char *listen_addr; /* numeric address, default 127.0.0.1 */
    char *user;
    char *password;          /* wiped on exit */
    char *tls_cert_pem;      /* leaf (and CA) certificate chain */
    char *tls_key_pem;       /* wiped on exit */
    const char *state_file;  /* NULL: state kept in memory only */
    unsigned idle_timeout_s; /* an idle client connection is closed after it */
} sim_options;

typedef enum sim_method {
    SIM_METHOD_ANY = 0,
    SIM_METHOD_GET,
    SIM_METHOD_PUT,
} sim_method;

/* One fault-injection rule (POST /_sim/fault). */
typedef struct sim_fault {
    sim_method method;
    int resource;      /* a cupi_resource, or -1 for any */
    long latency_ms;   /* delay before answering (or dropping) */
    int status;        /* answer with this HTTP status instead; 0: none */
    long remaining;    /* requests it still applies to; -1: until cleared */
    bool malformed;    /* answer 200 with a truncated, unparsable body */
    bool drop;         /* close the connection without answering */
    long header_bytes; /* > 0: answer 200 with a header line this long */
} sim_fault;

typedef struct sim_counters {
    uint64_t requests; /* every /vmrest request, answered or not */
    uint64_t get[CUPI_RES_COUNT];
    uint64_t put[CUPI_RES_COUNT];
    uint64_t status[SIM_HTTP_STATUS_MAX];
    uint64_t with_session_cookie;
    uint64_t dropped;
    uint64_t connections; /* TCP connections accepted */
    unsigned max_in_progress;
    char *last_put_body[CUPI_RES_COUNT]; /* NUL-terminated copy */
    char *last_put_content_type[CUPI_RES_COUNT];
} sim_counters;

/* One second of the fleet-wide counters (sim_fleet.c). */
typedef struct sim_fleet_second {
    int64_t second; /* since start; the bucket is stale when it differs */
    uint64_t requests, gets, puts, connections;
} sim_fleet_second;

/* Seconds of per-second history kept: enough for a benchmark run. */
#define SIM_FLEET_SECONDS 1800

typedef struct sim_fleet {
    pthread_mutex_t lock; /* guards everything below but start_ms */
    int64_t start_ms;
    uint64_t requests, gets, puts, connections;
    sim_fleet_second seconds[SIM_FLEET_SECONDS];
} sim_fleet;

struct sim;

typedef struct sim_server {
    struct sim *sim;
    char *name;
    unsigned port; /* requested, then the bound one */
    struct MHD_Daemon *daemon;
    atomic_bool started; /* daemon up: MHD's log goes quiet unless -v */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;  /* interrupts injected latency at shutdown */
    bool stopping;
    cupi_snapshot state[CUPI_RES_COUNT];
    sim_counters counters;
    sim_fault *faults;
    size_t n_faults;
    unsigned in_progress;
    char sessions[SIM_SESSION_SLOTS][SIM_SESSION_ID_LEN + 1];
    size_t next_session;
} sim_server;

typedef struct sim {
    sim_options opt;
    sim_server *servers;
    size_t n_servers;
    pthread_mutex_t save_lock; /* serialises state-file writes */
    cJSON *state_other;        /* state-file entries of servers not run now */
    sim_fleet fleet;           /* every server's requests, per second */
} sim;

/* --- sim_util.c ----------------------------------------------------------- */

void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file (at most max bytes, else fails with EFBIG), NUL-terminated. */
int sim_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes data to path atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. */
int sim_write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);
/* Fills out with 2*nbytes hex digits and a NUL from a strong RNG. */
int sim_random_hex(char *out, size_t nbytes);
/* Wipes and frees a secret string. */
void sim_free_secret(char *s);
/* Constant-time comparison of two NUL-terminated strings. */
bool sim_secret_equal(const char *a, const char *b);
/* Monotonic milliseconds. */
int64_t sim_now_ms(void);

/* --- sim_tls.c ------------------------------------------------------------ */

/* Generates a private CA and a server certificate it signs for "localhost",
 * 127.0.0.1, ::1 and extra_ip (may be NULL). chain_pem = leaf + CA. */
int sim_tls_generate(const char *extra_ip, char **chain_pem, char **key_pem, char **ca_pem,
                     char *err, size_t errsz);

/* --- sim_resource.c ------------------------------------------------------- */

typedef struct sim_reply {
    int status;
    char *body; /* malloc'ed or NULL */
    size_t len;
    const char *content_type; /* static string or NULL */
} sim_reply;

/* The CUPI reference's example values: what a fresh virtual server holds. */
void sim_resource_defaults(cupi_snapshot *s, cupi_resource r);
/* Answer to GET: every field, write-only ones empty. */
void sim_resource_get(const cupi_snapshot *state, cupi_format fmt, sim_reply *out);
/* Validates and applies a PUT body to *state (caller holds the lock). On any
 * error *state is untouched. Returns true when the state changed. */
bool sim_resource_put(cupi_snapshot *state, cupi_format body_fmt, const char *body, size_t len,
                      cupi_format reply_fmt, sim_reply *out);
/* ErrorDetails reply. */
void sim_reply_error(sim_reply *out, int status, cupi_format fmt, const char *code,
                     const char *message);
void sim_reply_free(sim_reply *r);

/* --- sim_state.c ---------------------------------------------------------- */

/* Every field of s as a JSON object of strings; write-only values included. */
cJSON *sim_snapshot_to_json(const cupi_snapshot *s);
/* Applies the members of obj (field name -> string, number or boolean) to *s,
 * checking types only. Unknown fields are an error. *s changes only when
 * every member is good. */
bool sim_snapshot_from_json(cupi_snapshot *s, const cJSON *obj, char *err, size_t errsz);
/* {"server":{...},"client":{...}} of one virtual server (takes its lock). */
cJSON *sim_server_state_json(sim_server *srv);
/* Loads the state file into the servers; 0, or -1 with err filled. */
int sim_state_load(sim *s, char *err, size_t errsz);
/* Writes the state file (no-op without one); 0, or -1 after logging. */
int sim_state_save(sim *s);

/* --- sim_fault.c ---------------------------------------------------------- */

/* sim_raw.c: a 200 answer with one header line of header_bytes, written to
 * the connection directly (libmicrohttpd keeps headers in a small per-
 * connection pool); false when the client went away. */
struct MHD_Connection;
bool sim_raw_padded_answer(struct MHD_Connection *c, const char *body, size_t body_len,
                           const char *content_type, size_t header_bytes);

bool sim_fault_from_json(const cJSON *obj, sim_fault *out, char *err, size_t errsz);
cJSON *sim_faults_to_json(const sim_fault *faults, size_t n);
/* Appends a rule (caller holds the lock). */
int sim_faults_add(sim_server *srv, const sim_fault *f);
void sim_faults_clear(sim_server *srv);
/* Finds the first rule matching the request, uses it up once and copies it
 * to *out (caller holds the lock). */
bool sim_faults_take(sim_server *srv, sim_method m, cupi_resource r, sim_fault *out);

/* --- sim_counters.c ------------------------------------------------------- */

void sim_counters_reset(sim_counters *c, unsigned in_progress);
void sim_counters_free(sim_counters *c);
void sim_counters_note_put(sim_counters *c, cupi_resource r, const char *body, size_t len,
                           const char *content_type);
cJSON *sim_counters_to_json(const sim_counters *c);

/* --- sim_fleet.c --------------------------------------------------------- */

int sim_fleet_init(sim_fleet *f);
void sim_fleet_free(sim_fleet *f);
void sim_fleet_note_connection(sim_fleet *f);
/* Every /vmrest request, as the per-server "requests" counter. */
void sim_fleet_note_request(sim_fleet *f);
/* An authenticated GET (put false) or PUT of a resource, as "get"/"put". */
void sim_fleet_note_method(sim_fleet *f, bool put);
/* {"servers","uptime_ms","requests","gets","puts","connections",
 *  "per_second":{"first_second":S,"requests":[..],"gets":[..],"puts":[..],
 *  "connections":[..]}} up to the current second; NULL when out of memory. */
cJSON *sim_fleet_to_json(sim_fleet *f, size_t n_servers);

/* --- sim_control.c -------------------------------------------------------- */

/* Serves one /_sim/ request; *out gets a malloc'ed JSON body. */
int sim_control_handle(sim_server *srv, const char *method, const char *url, const char *body,
                       size_t len, char **out);

/* --- sim_server.c --------------------------------------------------------- */

int sim_server_init(sim_server *srv, sim *s, const char *name, unsigned port);
/* Starts the daemon on opt.listen_addr:port; srv->port gets the bound port. */
int sim_server_start(sim_server *srv, char *err, size_t errsz);
/* Stops the daemon, waking requests that sleep in injected latency. */
void sim_server_stop(sim_server *srv);
void sim_server_free(sim_server *srv);

#endif
