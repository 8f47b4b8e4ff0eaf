/* cupi/text.h - checks and renderings of untrusted text.
 *
 * Values and error messages come from a CUPI server that may be broken or
 * hostile; before they reach an SNMP string, a log line or a terminal they
 * must be valid UTF-8 without control characters. Nothing here allocates.
 */
#ifndef CUPI_TEXT_H
#define CUPI_TEXT_H

#include <cupi/export.h>

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
 * Returns true when all len bytes are valid; otherwise false with the offset
 * of the first bad byte in *bad_at (may be NULL). */
CUPI_API bool cupi_utf8_valid(const char *s, size_t len, size_t *bad_at);

/* True for the code points no configuration text may hold: C0 controls
 * (NUL, tab and line ends included), DEL and the C1 controls. */
CUPI_API bool cupi_codepoint_is_control(unsigned long cp);

/* Renders len bytes of untrusted text as one printable line into out
 * (always NUL-terminated when outsz > 0): valid UTF-8 is kept, a control
 * character or an invalid byte becomes \xNN. When
 * it does not fit, it is cut at a character boundary and ends in "...".
 * Returns the length written. */
CUPI_API size_t cupi_text_printable(const char *s, size_t len, char *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif
