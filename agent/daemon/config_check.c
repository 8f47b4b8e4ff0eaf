/* daemon/config_check.c - "cupi-snmp-agent -t": what the agent would refuse,
 * found before it starts (systemd runs it before a start and before a
 * reload, so a broken file never replaces a running configuration).
 *
 * Reading the files already checks the syntax, every value and the password
 * files (readable, not empty), and that each CA file could be read. Left
 * are the CA files' certificates, which libcupi parses only when a client
 * is made (checked here with its own reader and parser), and the state
 * store. */
#include "daemon/config_check.h"
#include "daemon/state_store_check.h"
#include "cupi_smtp.h"

#include "cupi_file.h"

#include <stdio.h>

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

int agent_config_check(const char *files, bool no_defaults, FILE *out)
{
    check_out c = {out, 0, 0};
    cupi_config cfg;
    char msg[1024], why[512];
    if (cupi_smtp_read_config(&cfg, files, no_defaults, report, &c) == 0) {
        for (size_t i = 0; i < cfg.n_servers; i++) {
            const cupi_server_config *s = &cfg.servers[i];
            if (s->ca_file && !cupi_ca_file_check(s->ca_file, why, sizeof why)) {
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
