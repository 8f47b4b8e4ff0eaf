/* cupi/export.h - CUPI_API marks what libcupi exports. The library is
 * compiled with hidden visibility, so a function without this mark (one not
 * declared in a public cupi header) stays out of libcupi.so's dynamic
 * symbol table; a program linking the static libcupi.a sees no difference. */
#ifndef CUPI_EXPORT_H
#define CUPI_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CUPI_API __attribute__((visibility("default")))
#else
#define CUPI_API
#endif

#endif
