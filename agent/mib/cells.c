/* mib/cells.c - a table's cells and their OIDs, read through its
 * descriptor (mib/tables.h): what the request path and the notifications
 * share, so that a trap can never disagree with a read. */
#include "mib/tables.h"
#include "mib/varbind.h"

#include <string.h>

unsigned mib_table_max_column(const mib_table *t)
{
    if (t->columns || t->subrows)
        return t->min_column + (unsigned)t->n_columns - 1;
    return (unsigned)cupi_field_count((cupi_resource)t->resource);
}

static const mib_column *model_column(const mib_table *t, unsigned column)
{
    if (!t->columns || column < t->min_column || column > mib_table_max_column(t))
        return NULL;
    return &t->columns[column - t->min_column];
}

static const cupi_field *field_column(const mib_table *t, unsigned column)
{
    if (t->columns || t->resource == MIB_NO_RESOURCE)
        return NULL;
    return cupi_field_at((cupi_resource)t->resource, column);
}

/* Every CUPI field can be written (read-write, or write-only). */
bool mib_table_column_writable(const mib_table *t, unsigned column)
{
    const mib_column *c = model_column(t, column);
    return c ? c->writable : field_column(t, column) != NULL;
}

bool mib_table_row_exists(const mib_table *t, const agent_server *s)
{
    return t->resource == MIB_NO_RESOURCE || s->res[t->resource].valid;
}

int mib_table_value(const mib_table *t, const agent_server *s, unsigned column,
                    netsnmp_variable_list *var)
{
    const mib_column *c = model_column(t, column);
    const cupi_field *f = field_column(t, column);
    if (!c && !f)
        return SNMP_NOSUCHOBJECT;
    if (!mib_table_row_exists(t, s))
        return SNMP_NOSUCHINSTANCE;
    if (f) {
        mib_varbind_encode(f, &s->res[t->resource].snap.v[column - 1], var);
        return SNMP_ERR_NOERROR;
    }
    uint32_t num = 0;
    const char *text = c->get(s, &num);
    if (c->type == ASN_OCTET_STR)
        mib_varbind_set_text(var, text);
    else
        mib_varbind_set_number(var, c->type, num);
    return SNMP_ERR_NOERROR;
}

size_t mib_column_oid(unsigned arc, unsigned column, unsigned index, oid *out, size_t max)
{
    const oid prefix[] = {CUPI_MIB_ROOT_OID, CUPI_ARC_OBJECTS};
    size_t n = sizeof prefix / sizeof prefix[0];
    if (max < n + 4)
        return 0;
    memcpy(out, prefix, sizeof prefix);
    out[n++] = arc;
    out[n++] = 1; /* entry */
    out[n++] = column;
    out[n++] = index;
    return n;
}

size_t mib_subrow_oid(unsigned arc, unsigned column, unsigned index, uint32_t sub, oid *out,
                      size_t max)
{
    size_t n = max > 0 ? mib_column_oid(arc, column, index, out, max - 1) : 0;
    if (!n)
        return 0;
    out[n++] = sub;
    return n;
}
