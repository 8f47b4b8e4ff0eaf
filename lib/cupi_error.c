/* cupi_error.c - filling error buffers (see cupi_error.h). */
#include "cupi_error.h"

#include <stdarg.h>
#include <stdio.h>

void cupi_set_error(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || !errsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}
