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

/* cupi_global_init() also makes libcurl, libxml2 and cJSON clear every
 * block before they free it: they copy request headers, PUT bodies and
 * parsed values into blocks of their own. That takes effect for libcurl only
 * when cupi_global_init() is the process's first curl_global_init. */

#ifdef __cplusplus
}
#endif
#endif
