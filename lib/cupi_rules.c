/* cupi_rules.c - cross-field rules of the SMTP resources, as data.
 *
 * Every rule has the same shape: when one field is "on" (true, non-zero,
 * non-empty), another must be "on" too. */
#include <cupi/fields.h>

#include <stdio.h>

/* Fields are named as in the payload, so the rules do not depend on the
 * order of the field table. */
typedef struct cupi_rule {
    cupi_resource resource;
    const char *if_field;   /* when this field is on ... */
    const char *then_field; /* ... this one must be on */
    const char *text;
} cupi_rule;

static const cupi_rule rules[] = {
    {CUPI_RES_SERVER, "requireAuthenticationFromUntrustedIpAddresses",
     "allowConnectionsFromUntrustedIpAddresses",
     "requireAuthenticationFromUntrustedIpAddresses needs "
     "allowConnectionsFromUntrustedIpAddresses true"},
    {CUPI_RES_SERVER, "requireTlsFromUntrustedIpAddresses",
     "allowConnectionsFromUntrustedIpAddresses",
     "requireTlsFromUntrustedIpAddresses other than 0 (not offered) needs "
     "allowConnectionsFromUntrustedIpAddresses true"},
    {CUPI_RES_CLIENT, "isAuthEnabled", "smtpUsername",
     "isAuthEnabled true needs a non-empty smtpUsername"},
};

static bool field_on(const cupi_snapshot *s, const cupi_field *f)
{
    const cupi_value *v = &s->v[f->column - 1];
    return f->type == CUPI_TYPE_STRING ? v->s[0] != '\0' : v->i != 0;
}

cupi_verdict cupi_rules_check(const cupi_snapshot *merged, uint32_t changed_mask,
                              unsigned *column, char *why, size_t whysz)
{
    if (why && whysz)
        why[0] = '\0';
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const cupi_rule *r = &rules[i];
        if (r->resource != merged->resource)
            continue;
        const cupi_field *if_f = cupi_field_find(r->resource, r->if_field);
        const cupi_field *then_f = cupi_field_find(r->resource, r->then_field);
        uint32_t if_bit = CUPI_COLUMN_BIT(if_f->column),
                 then_bit = CUPI_COLUMN_BIT(then_f->column);
        if (!(changed_mask & (if_bit | then_bit)))
            continue;
        if (!cupi_snapshot_has(merged, if_f->column) ||
            !cupi_snapshot_has(merged, then_f->column))
            continue; /* cannot be judged without both values */
        if (field_on(merged, if_f) && !field_on(merged, then_f)) {
            if (column)
                *column = (changed_mask & if_bit) ? if_f->column : then_f->column;
            if (why)
                snprintf(why, whysz, "%s", r->text);
            return CUPI_INCONSISTENT;
        }
    }
    return CUPI_VALID;
}

bool cupi_rules_involve(cupi_resource r, uint32_t mask)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].resource != r)
            continue;
        const cupi_field *if_f = cupi_field_find(r, rules[i].if_field);
        const cupi_field *then_f = cupi_field_find(r, rules[i].then_field);
        if (mask & ((1u << (if_f->column - 1)) | (1u << (then_f->column - 1))))
            return true;
    }
    return false;
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
