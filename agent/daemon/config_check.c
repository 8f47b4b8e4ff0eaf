/* daemon/config_check.c - "cupi-snmp-agent -t": what the agent would refuse,
 * found before it starts (systemd runs it before a start and before a
 * reload, so a broken file never replaces a running configuration).
 *
 * Reading the files already checks the syntax, every value and the password
 * files (readable, not empty). Left are the CA files, which libcurl would
 * only open at the first request, and the state store. */
#include "daemon/config_check.h"
#include "daemon/state_store_check.h"
#include "cupi_smtp.h"

#include "cupi_file.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check_out {
    FILE *out;
    unsigned errors, warnings;
} check_out;

static void report(void *arg, bool error, const char *msg)
{
    check_out *c = arg;
    fprintf(c->out, "%s%s\n", error ? "" : "warning: ", msg);
    if (error)
        c->errors++;
    else
        c->warnings++;
}

/* The certificates of a PEM file, as libcurl's OpenSSL backend loads
 * CURLOPT_CAINFO: at least one, each one whole. Read with libcupi's bounded
 * reader, so a FIFO or a device named here is an error, never a hang.
 * 0, or -1 with why. */
static int check_ca_file(const char *path, char *why, size_t whysz)
{
    size_t len = 0;
    char reason[160];
    char *pem = cupi_file_read(path, CUPI_CA_FILE_MAX, &len, NULL, reason, sizeof reason);
    if (!pem) {
        snprintf(why, whysz, "cannot read it: %s", reason);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        free(pem);
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    unsigned n = 0;
    X509 *cert;
    ERR_clear_error();
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_free(cert);
        n++;
    }
    unsigned long e = ERR_peek_last_error();
    BIO_free(bio);
    free(pem);
    /* The end of the file shows as "no start line": anything else is a
     * certificate that does not parse. */
    if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        snprintf(why, whysz, "certificate %u does not parse: %s", n + 1,
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "bad PEM");
        ERR_clear_error();
        return -1;
    }
    ERR_clear_error();
    if (n == 0) {
        snprintf(why, whysz, "no PEM certificate in it");
        return -1;
    }
    return 0;
}

int agent_config_check(const char *files, bool no_defaults, FILE *out)
{
    check_out c = {out, 0, 0};
    cupi_config cfg;
    char msg[1024], why[512];
    if (cupi_smtp_read_config(&cfg, files, no_defaults, report, &c) == 0) {
        for (size_t i = 0; i < cfg.n_servers; i++) {
            const cupi_server_config *s = &cfg.servers[i];
            if (s->ca_file && check_ca_file(s->ca_file, why, sizeof why) != 0) {
                /* origin: where the server's cupiServer line is */
                snprintf(msg, sizeof msg, "%s: cupiCaFile %u %s: %s", s->origin, s->index,
                         s->ca_file, why);
                report(&c, true, msg);
            }
        }
        if (cfg.state_file) {
            int rc = agent_state_store_check(cfg.state_file, msg, sizeof msg);
            if (rc != 0)
                report(&c, rc < 0, msg);
        }
    }
    if (c.errors == 0)
        fprintf(out, "configuration OK: %zu server%s%s\n", cfg.n_servers,
                cfg.n_servers == 1 ? "" : "s", c.warnings ? ", see the warnings above" : "");
    else
        fprintf(out, "configuration has %u error%s\n", c.errors, c.errors == 1 ? "" : "s");
    cupi_config_free(&cfg);
    return c.errors ? 1 : 0;
}
