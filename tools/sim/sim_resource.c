/* sim_resource.c - what CUPI does with a GET or PUT of an SMTP resource.
 *
 * Pure functions on a cupi_snapshot: no HTTP, no locking. Validation is
 * libcupi's (cupi_changes_check: cupi_value_check of each value, then
 * cupi_rules_check), so the simulator rejects exactly what the agent and
 * cupictl are meant to catch before sending.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CUPI reference's example GET responses, field by field. Kept as name/text pairs
 * and parsed through the field table, so the table stays the only place
 * that knows types. */
static const struct {
    cupi_resource resource;
    const char *name;
    const char *text;
} seed_values[] = {
    {CUPI_RES_SERVER, "Port", "587"},
    {CUPI_RES_SERVER, "domainName", "ucbu-aricent-vm234.cisco.com"},
    {CUPI_RES_SERVER, "maxNumberConnections", "20"},
    {CUPI_RES_SERVER, "smtpClientThreads", "2"},
    {CUPI_RES_SERVER, "maxMessageSizeKb", "10000"},
    {CUPI_RES_SERVER, "maxNumberMessagesSession", "10"},
    {CUPI_RES_SERVER, "maxNumberRecipients", "15000"},
    {CUPI_RES_SERVER, "retryDeliveryTimeoutMin", "240"},
    {CUPI_RES_SERVER, "allowConnectionsFromUntrustedIpAddresses", "true"},
    {CUPI_RES_SERVER, "requireAuthenticationFromUntrustedIpAddresses", "true"},
    {CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses", "1"},
    {CUPI_RES_CLIENT, "smtpSmartHost", "outbound.cisco.com"},
    {CUPI_RES_CLIENT, "isClientSecure", "true"},
    {CUPI_RES_CLIENT, "smtpPort", "25"},
    {CUPI_RES_CLIENT, "isAuthEnabled", "true"},
    {CUPI_RES_CLIENT, "smtpUsername", "Admin"},
    {CUPI_RES_CLIENT, "smtpPassword", ""},
};

/* PUT answers as in the CUPI reference: 200 for the server config, 204 for the client
 * config (CUC is not consistent; clients must accept any 2xx). */
static const int put_status[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = 200,
    [CUPI_RES_CLIENT] = 204,
};

static void set_text(cupi_snapshot *s, const cupi_field *f, const char *text)
{
    cupi_value v;
    memset(&v, 0, sizeof v);
    if (cupi_value_parse(f, text, strlen(text), &v) != CUPI_VALID)
        memset(&v, 0, sizeof v); /* a table typo must not leave garbage */
    cupi_snapshot_set(s, f->column, &v);
}

void sim_resource_defaults(cupi_snapshot *s, cupi_resource r)
{
    size_t n;
    const cupi_field *fields = cupi_fields(r, &n);
    cupi_snapshot_init(s, r);
    /* CUPI's documented defaults first, so a field missing from the CUPI reference
     * table (a field added to libcupi later) still has a sane value. */
    for (size_t i = 0; i < n; i++)
        set_text(s, &fields[i], fields[i].default_value ? fields[i].default_value : "");
    for (size_t i = 0; i < sizeof seed_values / sizeof seed_values[0]; i++) {
        if (seed_values[i].resource != r)
            continue;
        const cupi_field *f = cupi_field_find(r, seed_values[i].name);
        if (f)
            set_text(s, f, seed_values[i].text);
    }
}

void sim_reply_free(sim_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

void sim_reply_error(sim_reply *out, int status, cupi_format fmt, const char *code,
                     const char *message)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    out->body = cupi_error_body(fmt, code, message);
    out->len = out->body ? strlen(out->body) : 0;
    out->content_type = cupi_format_mime(fmt);
}

void sim_resource_get(const cupi_snapshot *state, cupi_format fmt, sim_reply *out)
{
    memset(out, 0, sizeof *out);
    /* Write-only fields are sent, but empty, as the CUPI reference's GET example
     * shows (<smtpPassword></smtpPassword>): CUPI never returns them. */
    cupi_snapshot shown = *state;
    size_t n;
    const cupi_field *fields = cupi_fields(state->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (fields[i].write_only) {
            cupi_value empty;
            memset(&empty, 0, sizeof empty);
            cupi_snapshot_set(&shown, fields[i].column, &empty);
        }
    }
    char *body = NULL;
    size_t len = 0;
    if (cupi_encode(&shown, fmt, &body, &len) != CUPI_OK) {
        sim_reply_error(out, 500, fmt, "INTERNAL_ERROR", "cannot encode the response");
        return;
    }
    out->status = 200;
    out->body = body;
    out->len = len;
    out->content_type = cupi_format_mime(fmt);
}

bool sim_resource_put(cupi_snapshot *state, cupi_format body_fmt, const char *body, size_t len,
                      cupi_format reply_fmt, sim_reply *out)
{
    char why[512] = "";
    cupi_snapshot changes;
    cupi_status st =
        cupi_decode(state->resource, body_fmt, body, len, &changes, why, sizeof why);
    if (st == CUPI_E_TOO_LARGE) {
        sim_reply_error(out, 413, reply_fmt, "REQUEST_TOO_LARGE", "request body too large");
        return false;
    }
    if (st != CUPI_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "Invalid request body: %s", why[0] ? why : "not understood");
        sim_reply_error(out, 400, reply_fmt, "INVALID_PARAMETER", msg);
        return false;
    }

    /* libcupi's one validation of an update, the same cupictl and the agent
     * run before sending: each value, then the cross-field rules on the
     * state with the changes applied. Rules are judged only when the body
     * touches them, as CUC lets an unrelated change through even when stored
     * values already break a rule. */
    unsigned column = 0;
    if (cupi_changes_check(state, &changes, &column, why, sizeof why) != CUPI_VALID) {
        sim_reply_error(out, 400, reply_fmt, "INVALID_PARAMETER", why);
        return false;
    }
    /* Applied only now that all of it is known good: all or nothing. */
    cupi_snapshot_apply(state, &changes);
    memset(out, 0, sizeof *out);
    out->status = put_status[state->resource];
    return true;
}
