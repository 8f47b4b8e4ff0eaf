/* worker/read_check.c - the agent's rules for values CUPI answered. */
#include "worker/read_check.h"

#include <inttypes.h>
#include <stdio.h>

/* A partial answer would leave holes in a row (or hide a value CUPI stopped
 * sending); net-snmp would truncate an integer beyond 32 bits to its low
 * bits and serve a different number. A value a SET could not write (out of
 * range, not an enum value, bad syntax, control characters, not UTF-8) is
 * not served either: libcupi's decoder refuses it already, and values that
 * come from elsewhere (the state file) pass here too. */
bool agent_snapshot_servable(const cupi_snapshot *snap, char *why, size_t whysz)
{
    size_t n;
    const cupi_field *f = cupi_fields(snap->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].write_only)
            continue;
        if (!cupi_snapshot_has(snap, f[i].column)) {
            snprintf(why, whysz, "CUPI answer lacks field %s", f[i].name);
            return false;
        }
        int64_t v = snap->v[i].i;
        if (f[i].type == CUPI_TYPE_INT && (v < INT32_MIN || v > INT32_MAX)) {
            snprintf(why, whysz, "CUPI answer: %s %" PRId64 " does not fit an Integer32",
                     f[i].name, v);
            return false;
        }
        char rule[160];
        if (cupi_value_check(&f[i], &snap->v[i], rule, sizeof rule) != CUPI_VALID) {
            snprintf(why, whysz, "CUPI answer refused: %s", rule);
            return false;
        }
    }
    return true;
}

cupi_status agent_read_check(const cupi_result *result, char *why, size_t whysz)
{
    snprintf(why, whysz, "%s", result->message);
    if (result->status == CUPI_OK && !result->is_put &&
        !agent_snapshot_servable(&result->snapshot, why, whysz))
        return CUPI_E_PARSE;
    return result->status;
}
