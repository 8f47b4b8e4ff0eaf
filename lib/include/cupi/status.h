/* cupi/status.h - error codes shared by every libcupi call. */
#ifndef CUPI_STATUS_H
#define CUPI_STATUS_H

#include <cupi/export.h>

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cupi_status {
    CUPI_OK = 0,
    CUPI_E_NOMEM,     /* allocation failed */
    CUPI_E_INVALID,   /* bad argument or value (validation) */
    CUPI_E_CONFIG,    /* bad configuration */
    CUPI_E_TRANSPORT, /* DNS, connect, reset, dropped connection */
    CUPI_E_TIMEOUT,   /* no complete answer within the request timeout */
    CUPI_E_TLS,       /* handshake, certificate or host name verification */
    CUPI_E_AUTH,      /* HTTP 401 or 403 */
    CUPI_E_NOT_FOUND, /* HTTP 404: resource missing (CUC older than 14SU2) */
    CUPI_E_REJECTED,  /* other HTTP 4xx, e.g. 400 with ErrorDetails */
    CUPI_E_BUSY,      /* HTTP 503 after every retry */
    CUPI_E_SERVER,    /* other HTTP 5xx */
    CUPI_E_PARSE,     /* body not understood */
    CUPI_E_TOO_LARGE, /* body over CUPI_MAX_BODY */
    CUPI_E_CANCELLED, /* request dropped (client freed) */
    CUPI_E_IO,        /* local file I/O */
} cupi_status;

/* Short stable name, e.g. "auth" for CUPI_E_AUTH. */
CUPI_API const char *cupi_status_name(cupi_status s);
/* One-line description for operators. */
CUPI_API const char *cupi_status_text(cupi_status s);
/* The request got no answer (no connection, a lost one, or no answer in
 * time): a failure that may pass when tried again, and for a PUT an unknown
 * outcome, since CUPI may have applied it, now or later. */
CUPI_API bool cupi_status_transient(cupi_status s);

#ifdef __cplusplus
}
#endif
#endif
