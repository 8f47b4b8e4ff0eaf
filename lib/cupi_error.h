/* cupi_error.h - the one way libcupi fills a caller's error buffer; not
 * installed. */
#ifndef CUPI_ERROR_H
#define CUPI_ERROR_H

#include <stddef.h>

/* printf-formats into err (errsz bytes, always terminated); does nothing
 * when err is NULL or errsz is 0. */
void cupi_set_error(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
