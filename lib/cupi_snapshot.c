/* cupi_snapshot.c - the values of one resource, and the diff of two. */
#include <cupi/fields.h>

#include <string.h>

void cupi_snapshot_init(cupi_snapshot *s, cupi_resource r)
{
    memset(s, 0, sizeof *s);
    s->resource = r;
}

bool cupi_snapshot_has(const cupi_snapshot *s, unsigned column)
{
    return column >= 1 && column <= CUPI_MAX_COLUMNS &&
           (s->present & (CUPI_COLUMN_BIT(column)));
}

void cupi_snapshot_set(cupi_snapshot *s, unsigned column, const cupi_value *v)
{
    if (column < 1 || column > cupi_field_count(s->resource))
        return;
    s->v[column - 1] = *v;
    s->present |= CUPI_COLUMN_BIT(column);
}

void cupi_snapshot_apply(cupi_snapshot *base, const cupi_snapshot *changes)
{
    if (base->resource != changes->resource)
        return;
    size_t n = cupi_field_count(changes->resource);
    for (unsigned col = 1; col <= n; col++)
        if (cupi_snapshot_has(changes, col))
            cupi_snapshot_set(base, col, &changes->v[col - 1]);
}

uint32_t cupi_snapshot_diff(const cupi_snapshot *a, const cupi_snapshot *b)
{
    size_t n;
    const cupi_field *f = cupi_fields(a->resource, &n);
    uint32_t changed = 0;
    if (a->resource != b->resource)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned col = f[i].column;
        if (f[i].write_only)
            continue;
        bool in_a = cupi_snapshot_has(a, col), in_b = cupi_snapshot_has(b, col);
        if (in_a != in_b || (in_a && !cupi_value_equal(&f[i], &a->v[col - 1], &b->v[col - 1])))
            changed |= CUPI_COLUMN_BIT(col);
    }
    return changed;
}

uint32_t cupi_snapshot_unstuck(const cupi_snapshot *asked, const cupi_snapshot *now)
{
    size_t n;
    const cupi_field *f = cupi_fields(asked->resource, &n);
    uint32_t unstuck = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned col = f[i].column;
        if (f[i].write_only || !cupi_snapshot_has(asked, col))
            continue;
        if (now->resource != asked->resource || !cupi_snapshot_has(now, col) ||
            !cupi_value_equal(&f[i], &asked->v[i], &now->v[i]))
            unstuck |= CUPI_COLUMN_BIT(col);
    }
    return unstuck;
}

cupi_verdict cupi_snapshot_check(const cupi_snapshot *s, unsigned *column, char *why,
                                 size_t whysz)
{
    size_t n;
    const cupi_field *f = cupi_fields(s->resource, &n);
    for (size_t i = 0; i < n; i++) {
        if (!cupi_snapshot_has(s, f[i].column))
            continue;
        cupi_verdict v = cupi_value_check(&f[i], &s->v[i], why, whysz);
        if (v != CUPI_VALID) {
            if (column)
                *column = f[i].column;
            return v;
        }
    }
    return CUPI_VALID;
}
