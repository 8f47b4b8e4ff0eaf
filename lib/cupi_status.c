/* cupi_status.c - names and texts of libcupi status codes, and which are transient. */
#include <cupi/status.h>

#include <stddef.h>

static const struct {
    const char *name;
    const char *text;
} status_table[] = {
    [CUPI_OK] = {"ok", "success"},
    [CUPI_E_NOMEM] = {"nomem", "out of memory"},
    [CUPI_E_INVALID] = {"invalid", "invalid value"},
    [CUPI_E_CONFIG] = {"config", "configuration error"},
    [CUPI_E_TRANSPORT] = {"transport", "could not reach the CUPI server"},
    [CUPI_E_TIMEOUT] = {"timeout", "the CUPI server did not answer in time"},
    [CUPI_E_TLS] = {"tls", "TLS handshake or certificate verification failed"},
    [CUPI_E_AUTH] = {"auth", "authentication refused (HTTP 401/403): check user and password"},
    [CUPI_E_NOT_FOUND] = {"notfound",
                          "SMTP configuration API not found (HTTP 404): Unity Connection "
                          "older than 14SU2?"},
    [CUPI_E_REJECTED] = {"rejected", "request rejected by CUPI"},
    [CUPI_E_BUSY] = {"busy", "CUPI server busy (HTTP 503) after retries"},
    [CUPI_E_SERVER] = {"server", "CUPI server error (HTTP 5xx)"},
    [CUPI_E_PARSE] = {"parse", "CUPI answer not understood"},
    [CUPI_E_TOO_LARGE] = {"toolarge", "CUPI answer larger than 1 MiB"},
    [CUPI_E_CANCELLED] = {"cancelled", "request cancelled"},
    [CUPI_E_IO] = {"io", "file input/output error"},
};

const char *cupi_status_name(cupi_status s)
{
    if ((size_t)s >= sizeof status_table / sizeof status_table[0] || !status_table[s].name)
        return "unknown";
    return status_table[s].name;
}

const char *cupi_status_text(cupi_status s)
{
    if ((size_t)s >= sizeof status_table / sizeof status_table[0] || !status_table[s].text)
        return "unknown error";
    return status_table[s].text;
}

bool cupi_status_transient(cupi_status s)
{
    return s == CUPI_E_TRANSPORT || s == CUPI_E_TIMEOUT;
}
