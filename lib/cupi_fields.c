/* cupi_fields.c - the descriptor table of the CUPI SMTP fields.
 *
 * This table is the single description of the two resources: codecs,
 * validation, diff, cupictl and the MIB columns all walk it. One array per
 * resource, ordered by MIB column (tests/unit/test_fields.c checks that
 * column == position + 1); counts are derived from the arrays. Adding a field
 * is one line here plus its MIB object (and CUPI_MAX_COLUMNS, which a static
 * assertion names, when a resource outgrows it). */
#include <cupi/fields.h>

#include <strings.h>

static const int64_t smtp_ports[] = {25, 587};
static const int64_t tls_modes[] = {0, 1, 2}; /* not offered, required, optional */

/* The table reads best as written: one field per entry. */
// clang-format off
#define INT_FIELD(res, col, nm, al, mib, lo, hi, def)                                      \
    {.name = nm, .alias = al, .mib_name = mib, .resource = res, .column = col,            \
     .type = CUPI_TYPE_INT, .min = lo, .max = hi, .default_value = def}
#define ENUM_FIELD(res, col, nm, al, mib, set, def)                                        \
    {.name = nm, .alias = al, .mib_name = mib, .resource = res, .column = col,            \
     .type = CUPI_TYPE_INT, .min = 0, .max = INT32_MAX, .enums = set,                     \
     .n_enums = sizeof set / sizeof set[0], .default_value = def}
#define BOOL_FIELD(res, col, nm, al, mib, def)                                             \
    {.name = nm, .alias = al, .mib_name = mib, .resource = res, .column = col,            \
     .type = CUPI_TYPE_BOOL, .min = 0, .max = 1, .default_value = def}
#define STR_FIELD(res, col, nm, al, mib, syn, empty_ok, wo, def)                           \
    {.name = nm, .alias = al, .mib_name = mib, .resource = res, .column = col,            \
     .type = CUPI_TYPE_STRING, .max_len = CUPI_STR_MAX, .allow_empty = empty_ok,          \
     .syntax = syn, .write_only = wo, .default_value = def}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define S CUPI_RES_SERVER
#define C CUPI_RES_CLIENT

/* Aliases are the spellings of the CUPI reference's field tables where they differ
 * from the payload names by more than letter case. */
static const cupi_field server_fields[] = {
    ENUM_FIELD(S, 1, "Port", NULL, "cupiSmtpServerPort", smtp_ports, "25"),
    STR_FIELD(S, 2, "domainName", NULL, "cupiSmtpServerDomainName", CUPI_SYNTAX_HOSTNAME,
              false, false, ""),
    INT_FIELD(S, 3, "maxNumberConnections", NULL, "cupiSmtpServerMaxConnections", 0, 50, "20"),
    INT_FIELD(S, 4, "smtpClientThreads", "SmtplibClientThreads", "cupiSmtpServerClientThreads",
              0, 10, "2"),
    INT_FIELD(S, 5, "maxMessageSizeKb", NULL, "cupiSmtpServerMaxMessageSize", 0, 50000,
              "10000"),
    INT_FIELD(S, 6, "maxNumberMessagesSession", NULL, "cupiSmtpServerMaxMessagesPerSession", 0,
              100, "10"),
    INT_FIELD(S, 7, "maxNumberRecipients", NULL, "cupiSmtpServerMaxRecipients", 0, 50000,
              "15000"),
    INT_FIELD(S, 8, "retryDeliveryTimeoutMin", NULL, "cupiSmtpServerRetryTimeout", 0,
              INT32_MAX, "0"),
    BOOL_FIELD(S, 9, "allowConnectionsFromUntrustedIpAddresses", NULL,
               "cupiSmtpServerAllowUntrusted", "false"),
    BOOL_FIELD(S, 10, "requireAuthenticationFromUntrustedIpAddresses",
               "RequireAuthFromUntrustedIPAddresses", "cupiSmtpServerRequireAuthUntrusted",
               "false"),
    ENUM_FIELD(S, 11, "requireTlsFromUntrustedIpAddresses", NULL,
               "cupiSmtpServerRequireTlsUntrusted", tls_modes, "0"),
};

static const cupi_field client_fields[] = {
    STR_FIELD(C, 1, "smtpSmartHost", NULL, "cupiSmtpClientSmartHost", CUPI_SYNTAX_HOST_OR_IP,
              true, false, ""),
    BOOL_FIELD(C, 2, "isClientSecure", NULL, "cupiSmtpClientSecure", "false"),
    ENUM_FIELD(C, 3, "smtpPort", NULL, "cupiSmtpClientPort", smtp_ports, "25"),
    BOOL_FIELD(C, 4, "isAuthEnabled", NULL, "cupiSmtpClientAuthEnabled", "false"),
    STR_FIELD(C, 5, "smtpUsername", NULL, "cupiSmtpClientUsername", CUPI_SYNTAX_TEXT, true,
              false, ""),
    STR_FIELD(C, 6, "smtpPassword", NULL, "cupiSmtpClientPassword", CUPI_SYNTAX_TEXT, true,
              true, ""),
};

#undef S
#undef C

// clang-format on

static const struct {
    const char *name;
    const char *path;
    const char *root;
    const cupi_field *fields;
    size_t count;
} resource_table[CUPI_RES_COUNT] = {
    [CUPI_RES_SERVER] = {"server", "/vmrest/smtpserver/serverconfigs",
                         "SmtpServerConfiguration", server_fields, COUNT_OF(server_fields)},
    [CUPI_RES_CLIENT] = {"client", "/vmrest/smtpclient/clientconfigs",
                         "SmtpClientConfiguration", client_fields, COUNT_OF(client_fields)},
};

/* A snapshot holds CUPI_MAX_COLUMNS values and a 32-bit column mask. */
_Static_assert(COUNT_OF(server_fields) <= CUPI_MAX_COLUMNS &&
                   COUNT_OF(client_fields) <= CUPI_MAX_COLUMNS,
               "raise CUPI_MAX_COLUMNS in cupi/fields.h");
_Static_assert(CUPI_MAX_COLUMNS <= 32, "a column mask has 32 bits");

static bool resource_valid(cupi_resource r)
{
    return (unsigned)r < CUPI_RES_COUNT;
}

const char *cupi_resource_name(cupi_resource r)
{
    return resource_valid(r) ? resource_table[r].name : "?";
}

const char *cupi_resource_path(cupi_resource r)
{
    return resource_valid(r) ? resource_table[r].path : "";
}

const char *cupi_resource_root(cupi_resource r)
{
    return resource_valid(r) ? resource_table[r].root : "";
}

int cupi_resource_from_name(const char *name)
{
    for (int r = 0; r < CUPI_RES_COUNT; r++)
        if (name && strcasecmp(name, resource_table[r].name) == 0)
            return r;
    return -1;
}

const cupi_field *cupi_fields(cupi_resource r, size_t *n_out)
{
    if (!resource_valid(r)) {
        if (n_out)
            *n_out = 0;
        return NULL;
    }
    if (n_out)
        *n_out = resource_table[r].count;
    return resource_table[r].fields;
}

size_t cupi_field_count(cupi_resource r)
{
    return resource_valid(r) ? resource_table[r].count : 0;
}

const cupi_field *cupi_field_at(cupi_resource r, unsigned column)
{
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    if (!f || column < 1 || column > n)
        return NULL;
    return &f[column - 1];
}

const cupi_field *cupi_field_find(cupi_resource r, const char *name)
{
    size_t n;
    const cupi_field *f = cupi_fields(r, &n);
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(name, f[i].name) == 0 ||
            (f[i].alias && strcasecmp(name, f[i].alias) == 0))
            return &f[i];
    }
    return NULL;
}
