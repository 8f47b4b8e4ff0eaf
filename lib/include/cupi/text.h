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

/* The one rule for a line of text a user gives: a value written by SNMP or
 * cupictl, a password from a file or from standard input. Checked in this
 * order, so that the first complaint is the most telling. */
typedef enum cupi_text_fault {
    CUPI_TEXT_OK = 0,
    CUPI_TEXT_NOT_UTF8, /* a byte that is not part of valid UTF-8 */
    CUPI_TEXT_NUL,      /* a NUL byte: any C string would end there */
    CUPI_TEXT_NEWLINE,  /* more than one line */
    CUPI_TEXT_CR,       /* a carriage return: invisible, and a cut for most readers */
    CUPI_TEXT_CONTROL,  /* another control character (tab, escape, DEL, C1...) */
} cupi_text_fault;

/* Whether len bytes at s are one line of printable UTF-8; otherwise the
 * first fault (invalid UTF-8 anywhere first, then the first control
 * character) and its byte offset in *at (may be NULL). */
CUPI_API cupi_text_fault cupi_text_line_check(const char *s, size_t len, size_t *at);

/* A short English phrase for a fault ("a NUL byte"), never the text. */
CUPI_API const char *cupi_text_fault_name(cupi_text_fault f);

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
