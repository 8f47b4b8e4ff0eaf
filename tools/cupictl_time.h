/* cupictl_time.h - how cupictl prints a point in time. */
#ifndef CUPICTL_TIME_H
#define CUPICTL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* when (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ" in UTC, or as
 * the plain number when it has no such form; written to buf, returned. */
const char *cupictl_utc(int64_t when, char *buf, size_t size);

#endif
