/* json_number.c - whole numbers in the store's JSON. */
#include "json_number.h"

#include <math.h>

bool store_json_whole(const cJSON *item, double min, double max, double *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double d = item->valuedouble;
    if (!isfinite(d) || d != floor(d) || !(d >= min && d <= max))
        return false;
    *out = d;
    return true;
}
