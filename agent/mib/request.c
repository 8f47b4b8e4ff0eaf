/* mib/request.c - the one request path of every CUPI-SMTP-MIB table,
 * driven by the table descriptors.
 *
 * net-snmp's table helper parses each request's column and index; the
 * handler then finds rows through the model's sorted lookups, so a GET or
 * GETNEXT costs O(log n) whatever the number of servers (a table_iterator
 * would visit every row per varbind); a table of sub-rows adds the
 * descriptor's O(log rows) search within the server. GETBULK reaches the
 * handler as GETNEXTs through net-snmp's bulk_to_next helper. SETs of the
 * config tables go to the SET transaction with the table helper's request
 * info intact. */
#include "mib/request.h"

#include "mib/set_txn.h"
#include "mib/tables.h"
#include "model/refresh.h"

/* The first row of t at or after position pos of the model. Rows without
 * values are skipped one by one: a walk passes each of them once per
 * column, so it stays linear. */
static const agent_server *row_from(const mib_table *t, size_t pos)
{
    for (size_t n = agent_servers_count(); pos < n; pos++) {
        const agent_server *s = agent_server_at(pos);
        if (s && mib_table_row_exists(t, s))
            return s;
    }
    return NULL;
}

/* An SNMP read of CUPI values older than cupiCacheTtl asks for a fresh read
 * (in the background: this answer is what memory holds). */
static void read_through(const mib_table *t, const agent_server *s)
{
    if (t->resource != MIB_NO_RESOURCE)
        agent_refresh_touch(s, (cupi_resource)t->resource);
}

/* A sub-row table's GET: exactly two index arcs, each within Unsigned32. */
static void answer_subrow_get(const mib_table *t, netsnmp_agent_request_info *reqinfo,
                              netsnmp_request_info *req)
{
    netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
    const agent_server *s = NULL;
    const void *row = NULL;
    uint32_t sub = 0;
    if (ti && ti->index_oid_len == 2 && ti->index_oid[0] <= UINT32_MAX &&
        ti->index_oid[1] <= UINT32_MAX)
        s = agent_server_find((unsigned)ti->index_oid[0]);
    if (s)
        row = t->subrows->row_from(s, (uint32_t)ti->index_oid[1], &sub);
    if (!row || sub != ti->index_oid[1]) {
        netsnmp_set_request_error(reqinfo, req, SNMP_NOSUCHINSTANCE);
        return;
    }
    t->subrows->value(s, row, ti->colnum, req->requestvb);
}

/* A sub-row table's GETNEXT: the next row of the same server, else the
 * first row of a later server, else the next column. Servers without rows
 * are passed one by one, as row_from does. */
static void answer_subrow_getnext(const mib_table *t, netsnmp_request_info *req)
{
    netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
    if (!ti)
        return;
    size_t pos = 0, n = agent_servers_count();
    uint32_t from = 0;
    if (ti->index_oid_len > 0) {
        oid i = ti->index_oid[0];
        pos = i > UINT32_MAX ? n : agent_server_position((unsigned)i);
        const agent_server *s = agent_server_at(pos);
        if (s && s->cfg.index == i && ti->index_oid_len > 1) {
            /* Anything below i.j (j itself, or j.x) is followed by j+1. */
            oid j = ti->index_oid[1];
            if (j >= UINT32_MAX)
                pos++;
            else
                from = (uint32_t)j + 1;
        }
    }
    unsigned max = mib_table_max_column(t);
    for (unsigned column = ti->colnum; column <= max; column++, pos = 0, from = 0) {
        for (; pos < n; pos++, from = 0) {
            const agent_server *s = agent_server_at(pos);
            uint32_t sub;
            const void *row = s ? t->subrows->row_from(s, from, &sub) : NULL;
            if (!row)
                continue;
            oid name[MAX_OID_LEN];
            size_t len = mib_subrow_oid(t->arc, column, s->cfg.index, sub, name, MAX_OID_LEN);
            snmp_set_var_objid(req->requestvb, name, len);
            t->subrows->value(s, row, column, req->requestvb);
            return;
        }
    }
}

static void answer_get(const mib_table *t, netsnmp_agent_request_info *reqinfo,
                       netsnmp_request_info *req)
{
    /* The table helper lets a GET through only with exactly one index arc. */
    netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
    const agent_server *s = NULL;
    if (ti && ti->index_oid_len == 1 && ti->index_oid[0] <= UINT32_MAX)
        s = agent_server_find((unsigned)ti->index_oid[0]);
    int err = s ? mib_table_value(t, s, ti->colnum, req->requestvb) : (int)SNMP_NOSUCHINSTANCE;
    if (s)
        read_through(t, s);
    if (err != SNMP_ERR_NOERROR)
        netsnmp_set_request_error(reqinfo, req, err);
}

/* The next cell after the request's OID: the next row of the same column
 * with a greater index, else the first row of the next column. With nothing
 * left the varbind is left alone, and net-snmp goes on to the next
 * registration. */
static void answer_getnext(const mib_table *t, netsnmp_request_info *req)
{
    netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
    if (!ti)
        return;
    size_t pos = 0;
    if (ti->index_oid_len > 0) {
        /* Anything below index i (i itself, or i.x) is followed by row i+1. */
        oid after = ti->index_oid[0];
        pos = after >= UINT32_MAX ? agent_servers_count()
                                  : agent_server_position((unsigned)after + 1);
    }
    unsigned max = mib_table_max_column(t);
    for (unsigned column = ti->colnum; column <= max; column++, pos = 0) {
        const agent_server *s = row_from(t, pos);
        if (!s)
            continue;
        oid name[MAX_OID_LEN];
        size_t len = mib_column_oid(t->arc, column, s->cfg.index, name, MAX_OID_LEN);
        snmp_set_var_objid(req->requestvb, name, len);
        mib_table_value(t, s, column, req->requestvb);
        read_through(t, s);
        return;
    }
}

/* RESERVE1: columns the descriptor does not let a SET write. */
static bool refuse_unwritable(const mib_table *t, netsnmp_agent_request_info *reqinfo,
                              netsnmp_request_info *requests)
{
    bool refused = false;
    for (netsnmp_request_info *req = requests; req; req = req->next) {
        netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
        if (req->processed || !ti || mib_table_column_writable(t, ti->colnum))
            continue;
        netsnmp_set_request_error(reqinfo, req, SNMP_ERR_NOTWRITABLE);
        refused = true;
    }
    return refused;
}

int mib_request_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    const mib_table *t = reginfo->my_reg_void;
    if (reqinfo->mode == MODE_GET || reqinfo->mode == MODE_GETNEXT) {
        for (netsnmp_request_info *req = requests; req; req = req->next) {
            if (req->processed)
                continue;
            if (t->subrows && reqinfo->mode == MODE_GET)
                answer_subrow_get(t, reqinfo, req);
            else if (t->subrows)
                answer_subrow_getnext(t, req);
            else if (reqinfo->mode == MODE_GET)
                answer_get(t, reqinfo, req);
            else
                answer_getnext(t, req);
        }
        return SNMP_ERR_NOERROR;
    }
    if (t->resource == MIB_NO_RESOURCE)
        return SNMP_ERR_NOERROR; /* registered read-only: net-snmp answers notWritable */
    if (reqinfo->mode == MODE_SET_RESERVE1 && refuse_unwritable(t, reqinfo, requests))
        return SNMP_ERR_NOERROR;
    return set_txn_handle((cupi_resource)t->resource, handler, reginfo, reqinfo, requests);
}
