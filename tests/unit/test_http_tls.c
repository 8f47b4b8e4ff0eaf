/* test_http_tls.c - the CUPI client's TLS connections against an OpenSSL
 * server run in a thread of this process (127.0.0.1, a certificate made at
 * start), which counts full and resumed handshakes itself: closing after use
 * must cost an abbreviated handshake, not a full one. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cupi/cupi.h>

#include "cupi_http_internal.h"

#define PASSWORD "Sup3rS3cretPw"

static const char BODY[] = "<SmtpServerConfiguration><Port>587</Port>"
                           "<domainName>mail.example.com</domainName>"
                           "</SmtpServerConfiguration>";

/* --- a certificate for 127.0.0.1 ------------------------------------------ */

typedef struct cert {
    EVP_PKEY *key;
    X509 *x509;
    char pem_path[64]; /* the certificate alone: a CA file trusting it */
} cert;

static void cert_make(cert *c)
{
    c->key = EVP_EC_gen("P-256");
    assert_non_null(c->key);
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)getpid());
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, c->key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, c->key, EVP_sha256()) > 0);
    c->x509 = x;

    snprintf(c->pem_path, sizeof c->pem_path, "/tmp/cupi-test-ca-XXXXXX");
    int fd = mkstemp(c->pem_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_true(PEM_write_X509(f, x) == 1);
    fclose(f);
}

static void cert_free(cert *c)
{
    unlink(c->pem_path);
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
}

/* --- the server ------------------------------------------------------------- */

typedef struct tls_server {
    int lfd, port;
    SSL_CTX *ctx;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t mu;
    int conns, full, resumed, requests;
} tls_server;

static bool wait_readable(tls_server *s, int fd)
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

/* Reads one request head; false on close, error or stop. */
static bool read_head(tls_server *s, SSL *ssl, int fd)
{
    char buf[4096];
    size_t len = 0;
    for (;;) {
        if (!SSL_pending(ssl) && !wait_readable(s, fd))
            return false;
        int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
        if (n <= 0) {
            int err = SSL_get_error(ssl, n);
            if (err == SSL_ERROR_WANT_READ)
                continue;
            return false;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return true;
        if (len + 1 >= sizeof buf)
            return false;
    }
}

static void serve(tls_server *s, int fd)
{
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        pthread_mutex_lock(&s->mu);
        s->conns++;
        if (SSL_session_reused(ssl))
            s->resumed++;
        else
            s->full++;
        pthread_mutex_unlock(&s->mu);
        while (read_head(s, ssl, fd)) {
            char reply[512];
            int n = snprintf(reply, sizeof reply,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(BODY), BODY);
            /* Counted before the answer leaves, so the client never sees
             * an answer the count lacks. */
            pthread_mutex_lock(&s->mu);
            s->requests++;
            pthread_mutex_unlock(&s->mu);
            if (SSL_write(ssl, reply, n) != n)
                break;
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(fd);
}

/* One connection at a time: the tests make their requests one by one. */
static void *server_main(void *arg)
{
    tls_server *s = arg;
    while (wait_readable(s, s->lfd)) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd >= 0)
            serve(s, fd);
    }
    return NULL;
}

static tls_server *server_start(const cert *c, int max_version)
{
    tls_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, c->x509), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, c->key), 1);
    if (max_version)
        SSL_CTX_set_max_proto_version(s->ctx, max_version);
    /* Resumption as a server offers it by default: a session cache for
     * TLS 1.2 session ids, tickets for both versions. */
    SSL_CTX_set_session_id_context(s->ctx, (const unsigned char *)"cupi", 4);

    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    socklen_t alen = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(tls_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->lfd);
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* --- fixture ---------------------------------------------------------------- */

typedef struct fixture {
    cert crt;
    cupi_engine *engine;
    tls_server *srv;
    char url[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    cert_make(&f->crt);
    f->engine = cupi_engine_new();
    assert_non_null(f->engine);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cupi_engine_free(f->engine);
    if (f->srv)
        server_stop(f->srv);
    cert_free(&f->crt);
    free(f);
    return 0;
}

static void start(fixture *f, int max_version)
{
    f->srv = server_start(&f->crt, max_version);
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:%d", f->srv->port);
}

static cupi_client *client(fixture *f, long expected_idle_ms, const char *ca_file)
{
    cupi_client_options o = {
        .url = f->url,
        .user = "admin",
        .password = PASSWORD,
        .ca_file = ca_file,
        .format = CUPI_FORMAT_XML,
        .timeout_ms = 3000,
        .expected_idle_ms = expected_idle_ms,
    };
    char err[256];
    cupi_client *c = cupi_client_new(f->engine, &o, err, sizeof err);
    if (!c)
        fail_msg("cupi_client_new: %s", err);
    return c;
}

static void get_ok(cupi_client *c)
{
    cupi_result r;
    cupi_status st = cupi_get_sync(c, CUPI_RES_SERVER, &r);
    if (st != CUPI_OK)
        fail_msg("GET: %s: %s", cupi_status_text(st), r.message);
    assert_int_equal(r.snapshot.v[0].i, 587);
}

/* Counts once the server is done with the last connection. */
static void counts(fixture *f, int *conns, int *full, int *resumed, int *requests)
{
    pthread_mutex_lock(&f->srv->mu);
    *conns = f->srv->conns;
    *full = f->srv->full;
    *resumed = f->srv->resumed;
    *requests = f->srv->requests;
    pthread_mutex_unlock(&f->srv->mu);
}

/* --- tests ------------------------------------------------------------------ */

static void close_after_use_resumes(void **state, int max_version, const char *label)
{
    fixture *f = *state;
    start(f, max_version);
    cupi_client *c = client(f, 60000, f->crt.pem_path);
    for (int i = 0; i < 4; i++) {
        get_ok(c);
        /* Idle between requests: nothing held, not even a socket. */
        assert_int_equal(cupi_engine_fds(f->engine, NULL, 0), 0);
        assert_null(c->idle);
    }
    cupi_client_free(c);
    int conns, full, resumed, requests;
    counts(f, &conns, &full, &resumed, &requests);
    printf("%s, close after use: %d requests, %d connections, %d full and %d resumed "
           "handshakes\n",
           label, requests, conns, full, resumed);
    assert_int_equal(requests, 4);
    assert_int_equal(conns, 4);
    assert_int_equal(full, 1);
    assert_int_equal(resumed, 3);
}

static void test_resumed_tls13(void **state)
{
    close_after_use_resumes(state, 0, "TLS 1.3");
}

static void test_resumed_tls12(void **state)
{
    close_after_use_resumes(state, TLS1_2_VERSION, "TLS 1.2");
}

/* Sessions belong to a client: another client of the same server makes its
 * own full handshake, then resumes its own session. */
static void test_sessions_per_client(void **state)
{
    fixture *f = *state;
    start(f, 0);
    cupi_client *a = client(f, 60000, f->crt.pem_path);
    cupi_client *b = client(f, 60000, f->crt.pem_path);
    get_ok(a);
    get_ok(b);
    get_ok(a);
    get_ok(b);
    cupi_client_free(a);
    cupi_client_free(b);
    int conns, full, resumed, requests;
    counts(f, &conns, &full, &resumed, &requests);
    assert_int_equal(conns, 4);
    assert_int_equal(full, 2);
    assert_int_equal(resumed, 2);
}

static void test_keep_one_connection(void **state)
{
    fixture *f = *state;
    start(f, 0);
    cupi_client *c = client(f, 10000, f->crt.pem_path);
    for (int i = 0; i < 4; i++)
        get_ok(c);
    cupi_client_stats st;
    cupi_client_stats_get(c, &st);
    assert_int_equal(st.connections, 1);
    cupi_client_free(c);
    int conns, full, resumed, requests;
    counts(f, &conns, &full, &resumed, &requests);
    printf("TLS 1.3, kept: %d requests, %d connections, %d full handshakes\n", requests, conns,
           full);
    assert_int_equal(requests, 4);
    assert_int_equal(conns, 1);
    assert_int_equal(full, 1);
}

/* The trust settings that make the CA store cacheable must still verify:
 * another CA file, or the system's bundle, refuses this certificate. */
static void test_verification_kept(void **state)
{
    fixture *f = *state;
    start(f, 0);
    cert other;
    cert_make(&other);
    const char *trust[] = {other.pem_path, NULL};
    for (size_t i = 0; i < 2; i++) {
        cupi_client *c = client(f, 60000, trust[i]);
        cupi_result r;
        assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TLS);
        /* What failed, in a fixed text; libcurl's own words in the detail. */
        assert_string_equal(
            r.message, "TLS: server certificate self-signed and not trusted (see cupiCaFile)");
        assert_true(r.detail[0] != '\0');
        cupi_client_free(c);
    }
    cert_free(&other);
    /* And the right one still works after the cached store was another's. */
    cupi_client *c = client(f, 60000, f->crt.pem_path);
    get_ok(c);
    cupi_client_free(c);
}

/* Copies the file from into to, through to.new and a rename (to is never seen partial). */
static void copy_file(const char *from, const char *to)
{
    char buf[16384];
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    size_t len = fread(buf, 1, sizeof buf, in);
    fclose(in);
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.new", to);
    FILE *out = fopen(tmp, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(buf, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(rename(tmp, to), 0);
}

/* The CA file is read once, when the client is made: swapped for a FIFO
 * afterwards (a rename, as an attacker with the directory would), new
 * connections still verify against what was read, and nothing waits on the
 * FIFO. Without keeping connections, each GET is a new TLS handshake. */
static void test_ca_read_once(void **state)
{
    fixture *f = *state;
    start(f, 0);
    char dir[] = "/tmp/test_http_tls_ca_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ca[64], fifo[64];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    copy_file(f->crt.pem_path, ca);
    cupi_client *c = client(f, 600000, ca); /* idle long: connections closed after use */
    get_ok(c);
    /* Parsed once per engine: another client of the same bytes (another
     * path) shares it, one of other bytes does not. */
    cupi_client *same = client(f, 600000, f->crt.pem_path);
    assert_int_equal(cupi_ca_count(f->engine), 1);
    cert other;
    cert_make(&other);
    cupi_client *another = client(f, 600000, other.pem_path);
    assert_int_equal(cupi_ca_count(f->engine), 2);
    cupi_client_free(another);
    cert_free(&other);
    assert_int_equal(cupi_ca_count(f->engine), 1);
    get_ok(same);
    cupi_client_free(same);
    assert_int_equal(cupi_ca_count(f->engine), 1);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(rename(fifo, ca), 0);
    get_ok(c);
    get_ok(c);
    cupi_client_free(c);
    assert_int_equal(cupi_ca_count(f->engine), 0); /* the last client gave it back */
    /* A new client refuses the FIFO at once, naming the file. */
    cupi_client_options o = {.url = f->url,
                             .user = "admin",
                             .password = PASSWORD,
                             .ca_file = ca,
                             .format = CUPI_FORMAT_XML};
    char err[256];
    assert_null(cupi_client_new(f->engine, &o, err, sizeof err));
    assert_non_null(strstr(err, ca));
    assert_non_null(strstr(err, "is a FIFO, not a regular file"));
    unlink(ca);
    rmdir(dir);
}

/* A CA file replaced in place is read again minutes later, before a
 * request, as curl did with its cache: the new CAs are trusted then, not
 * before. One that cannot be read then (a FIFO) leaves the last ones. */
static void test_ca_read_again(void **state)
{
    fixture *f = *state;
    start(f, 0);
    char dir[] = "/tmp/test_http_tls_ca_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char ca[64];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    cert other;
    cert_make(&other);
    copy_file(other.pem_path, ca);
    cupi_client *c = client(f, 600000, ca);
    cupi_result r;
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TLS);
    copy_file(f->crt.pem_path, ca);
    assert_int_equal(cupi_get_sync(c, CUPI_RES_SERVER, &r), CUPI_E_TLS); /* not yet */
    c->ca_read_ms -= 300 * 1000; /* five minutes later */
    get_ok(c);
    assert_int_equal(cupi_ca_count(f->engine), 1); /* the other one was given back */
    assert_int_equal(unlink(ca), 0);
    assert_int_equal(mkfifo(ca, 0600), 0);
    c->ca_read_ms -= 300 * 1000;
    get_ok(c);
    /* Clients of other CAs side by side never trust each other's: each
     * connection gets its own client's store, whatever came before. */
    cupi_client *wrong = client(f, 600000, other.pem_path);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cupi_get_sync(wrong, CUPI_RES_SERVER, &r), CUPI_E_TLS);
        get_ok(c);
    }
    cupi_client_free(wrong);
    cupi_client_free(c);
    cert_free(&other);
    unlink(ca);
    rmdir(dir);
}

int main(void)
{
    if (cupi_global_init() != CUPI_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resumed_tls13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumed_tls12, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_per_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_read_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_read_again, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cupi_global_cleanup();
    return rc;
}
