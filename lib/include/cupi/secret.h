/* cupi/secret.h - keeping passwords out of freed memory.
 *
 * The CUPI account password and the smart host's smtpPassword pass through
 * libcupi's buffers and through libcurl, libxml2 and cJSON. Whatever held one
 * is cleared before it is given back, so that a core dump or a later heap
 * reuse does not show it. */
#ifndef CUPI_SECRET_H
#define CUPI_SECRET_H

#include <cupi/export.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clears n bytes at p in a way the compiler may not drop. p may be NULL. */
CUPI_API void cupi_secret_wipe(void *p, size_t n);

/* Clears the NUL-terminated string s, then frees it. s may be NULL. */
CUPI_API void cupi_secret_free(char *s);

/* The longest password taken from a file (cupiPasswordFile) or from
 * cupictl's standard input, in bytes. */
#define CUPI_SECRET_LINE_MAX 1023

/* Takes a password out of the len bytes of a password file or of standard
 * input, by the one rule every password follows wherever it comes from:
 * exactly one line (its final newline optional) of at most max bytes of
 * UTF-8 without control characters (cupi_text_line_check): a NUL byte, a
 * carriage return (DOS line ends included) or a second line is refused,
 * never cut away. Returns the password's length (its bytes start at buf;
 * 0 for an empty line), or -1 with why set to what is wrong, which never
 * holds any of the bytes. */
CUPI_API long cupi_secret_line(const char *buf, size_t len, size_t max, char *why,
                               size_t whysz);

/* cupi_global_init() also makes libcurl, libxml2 and cJSON clear every
 * block before they free it: they copy request headers, PUT bodies and
 * parsed values into blocks of their own. That takes effect for libcurl only
 * when cupi_global_init() is the process's first curl_global_init. */

#ifdef __cplusplus
}
#endif
#endif
