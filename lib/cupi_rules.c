/* cupi_rules.c - cross-field rules of the SMTP resources, as data.
 *
 * Every rule has the same shape: when one field is "on" (true, non-zero,
 * non-empty), another must be "on" too. */
#include <cupi/fields.h>

#include <stdio.h>

typedef struct cupi_rule {
    cupi_resource resource;
    unsigned if_column;   /* when this field is on ... */
    unsigned then_column; /* ... this one must be on */
    const char *text;
} cupi_rule;

static const cupi_rule rules[] = {
    {CUPI_RES_SERVER, 10, 9,
     "requireAuthenticationFromUntrustedIpAddresses needs "
     "allowConnectionsFromUntrustedIpAddresses true"},
    {CUPI_RES_SERVER, 11, 9,
     "requireTlsFromUntrustedIpAddresses other than 0 (not offered) needs "
     "allowConnectionsFromUntrustedIpAddresses true"},
    {CUPI_RES_CLIENT, 4, 5, "isAuthEnabled true needs a non-empty smtpUsername"},
};

static bool field_on(const cupi_snapshot *s, unsigned column)
{
    const cupi_field *f = cupi_field_at(s->resource, column);
    const cupi_value *v = &s->v[column - 1];
    return f->type == CUPI_TYPE_STRING ? v->s[0] != '\0' : v->i != 0;
}

cupi_verdict cupi_rules_check(const cupi_snapshot *merged, uint32_t changed_mask,
                              unsigned *column, char *why, size_t whysz)
{
    if (why && whysz)
        why[0] = '\0';
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const cupi_rule *r = &rules[i];
        uint32_t involved = (1u << (r->if_column - 1)) | (1u << (r->then_column - 1));
        if (r->resource != merged->resource || !(changed_mask & involved))
            continue;
        if (!cupi_snapshot_has(merged, r->if_column) ||
            !cupi_snapshot_has(merged, r->then_column))
            continue; /* cannot be judged without both values */
        if (field_on(merged, r->if_column) && !field_on(merged, r->then_column)) {
            if (column)
                *column =
                    (changed_mask & (1u << (r->if_column - 1))) ? r->if_column : r->then_column;
            if (why)
                snprintf(why, whysz, "%s", r->text);
            return CUPI_INCONSISTENT;
        }
    }
    return CUPI_VALID;
}

cupi_verdict cupi_changes_check(const cupi_snapshot *current, const cupi_snapshot *changes,
                                unsigned *column, char *why, size_t whysz)
{
    cupi_verdict v = cupi_snapshot_check(changes, column, why, whysz);
    if (v != CUPI_VALID)
        return v;
    cupi_snapshot merged;
    if (current && current->resource == changes->resource)
        merged = *current;
    else
        cupi_snapshot_init(&merged, changes->resource);
    cupi_snapshot_apply(&merged, changes);
    return cupi_rules_check(&merged, changes->present, column, why, whysz);
}
