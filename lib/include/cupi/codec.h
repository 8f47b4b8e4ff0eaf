/* cupi/codec.h - XML and JSON bodies of the SMTP resources and ErrorDetails.
 *
 * Decoding is tolerant as CUPI needs (field names case-insensitive, JSON
 * values as strings or native, "[]" for empty, unknown fields ignored) and
 * hostile-input safe (no network, no entity expansion, bodies over
 * CUPI_MAX_BODY refused). Nothing is written to *out unless decoding
 * succeeds as a whole.
 */
#ifndef CUPI_CODEC_H
#define CUPI_CODEC_H

#include <cupi/export.h>

#include <cupi/fields.h>
#include <cupi/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cupi_format {
    CUPI_FORMAT_XML = 0,
    CUPI_FORMAT_JSON = 1,
} cupi_format;

#define CUPI_MAX_BODY (1024u * 1024u) /* larger bodies are refused */

CUPI_API const char *cupi_format_name(cupi_format f); /* "xml" / "json" */
CUPI_API int cupi_format_from_name(const char *name); /* -1 when unknown */
CUPI_API const char *cupi_format_mime(cupi_format f); /* "application/xml" ... */

/* Decodes a resource body. Returns CUPI_OK, CUPI_E_TOO_LARGE or CUPI_E_PARSE
 * (err gets the reason: malformed document, wrong root, a value of the wrong
 * type, no known field at all). */
CUPI_API cupi_status cupi_decode(cupi_resource r, cupi_format f, const char *body, size_t len,
                                 cupi_snapshot *out, char *err, size_t errsz);

/* Encodes the present fields of s as a body (XML with the resource's root
 * element, or JSON with every value a string). *out is malloc'ed and
 * NUL-terminated; the caller frees it. Returns CUPI_OK or CUPI_E_NOMEM. */
CUPI_API cupi_status cupi_encode(const cupi_snapshot *s, cupi_format f, char **out,
                                 size_t *len);

/* Extracts the human-readable message of a CUPI error body (ErrorDetails in
 * XML or JSON, or plain text). Always NUL-terminates msg; returns false when
 * nothing usable was found (msg is then ""). */
CUPI_API bool cupi_error_message(const char *body, size_t len, char *msg, size_t msgsz);

/* Error body in CUPI's shape, for the simulator. Caller frees. */
CUPI_API char *cupi_error_body(cupi_format f, const char *code, const char *message);

#ifdef __cplusplus
}
#endif
#endif
