/* fuzz_state_file.c - libFuzzer target: the state file parser (the agent's
 * pure part, no net-snmp) on arbitrary bytes.
 *
 * Asserted: every record taken is within bounds (index, URL length, a
 * complete snapshot of valid values, readAt not ahead of the clock by more
 * than allowed); what is taken renders and parses back identically, with
 * nothing dropped the second time. */
#include "state_json.h"
#include "state_json_write.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1800000000)

static void check_record(const agent_state_server *s)
{
    if (s->index < 1 || s->index > 65535 || strlen(s->url) > STORE_URL_MAX)
        abort();
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        const store_resource *res = &s->res[r];
        if (!res->valid)
            continue;
        if (res->snap.resource != (cupi_resource)r || res->read_at < 0 ||
            res->read_at > NOW + STORE_READ_AT_AHEAD_S)
            abort();
        size_t n;
        const cupi_field *f = cupi_fields((cupi_resource)r, &n);
        for (size_t i = 0; i < n; i++)
            if (cupi_snapshot_has(&res->snap, f[i].column) == f[i].write_only)
                abort(); /* every readable field, never a password */
        if (cupi_snapshot_check(&res->snap, NULL, NULL, 0) != CUPI_VALID)
            abort();
    }
}

static bool same(const agent_state_server *a, const agent_state_server *b)
{
    if (a->index != b->index || strcmp(a->url, b->url) != 0)
        return false;
    for (int r = 0; r < CUPI_RES_COUNT; r++) {
        if (a->res[r].valid != b->res[r].valid)
            return false;
        if (a->res[r].valid && (a->res[r].read_at != b->res[r].read_at ||
                                cupi_snapshot_diff(&a->res[r].snap, &b->res[r].snap) != 0))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agent_state_doc doc, again;
    char why[128];
    if (agent_state_parse((const char *)data, size, NOW, NULL, NULL, &doc, why, sizeof why) !=
        0) {
        if (doc.servers || doc.n_servers || !why[0])
            abort();
        return 0;
    }
    agent_state_render *r = agent_state_render_begin();
    for (size_t i = 0; i < doc.n_servers; i++) {
        check_record(&doc.servers[i]);
        if (i && doc.servers[i - 1].index >= doc.servers[i].index)
            abort(); /* sorted, each index once */
        agent_state_render_add(r, &doc.servers[i]);
    }
    char *text = agent_state_render_finish(r);
    if (!text)
        abort();
    if (agent_state_parse(text, strlen(text), NOW, NULL, NULL, &again, why, sizeof why) != 0 ||
        again.n_servers != doc.n_servers || again.dropped != 0)
        abort(); /* what we write, we must read back */
    for (size_t i = 0; i < doc.n_servers; i++) {
        if (again.servers[i].invalid != 0 || !same(&doc.servers[i], &again.servers[i]))
            abort();
    }
    free(text);
    agent_state_doc_free(&again);
    agent_state_doc_free(&doc);
    return 0;
}
