/* cupictl_time.c - points in time as cupictl prints them. */
#include "cupictl_time.h"

#include <stdio.h>
#include <time.h>

const char *cupictl_utc(int64_t when, char *buf, size_t size)
{
    time_t t = (time_t)when;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "%lld", (long long)when);
    return buf;
}
