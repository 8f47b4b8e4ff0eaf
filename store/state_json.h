/* store/state_json.h - the JSON state file of earlier releases, read once
 * to import it into the state store (store_import.c, store_read.c): JSON
 * in, validated per-server, per-resource records out. Nothing writes this
 * form any more.
 *
 *   {"format":"cupi-snmp-state","version":2,"servers":[{"index":1,"url":"...",
 *    "server":{"readAt":1700000000,"values":{"Port":"587",...}},"client":{...},
 *    "history":{...}}]}
 *
 * Version 2 added each server's change history, which this file carries
 * without looking inside (store/history_ring.c reads and checks it); a
 * version 1 file, without history, loads as well.
 *
 * Values are CUPI text forms. A resource is taken only when every readable
 * field is there and passes the field's own checks (type, range, enum,
 * length, syntax): half a snapshot, or a value no CUPI answer could carry
 * into the MIB, must not be served as if it were the truth. */
#ifndef CUPI_AGENT_STATE_FILE_H
#define CUPI_AGENT_STATE_FILE_H

#include "store.h"

#include <cupi/fields.h>

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AGENT_STATE_FORMAT "cupi-snmp-state"
#define AGENT_STATE_VERSION 2
#define AGENT_STATE_OLDEST_VERSION 1
#define AGENT_STATE_MAX_SIZE (256u * 1024u * 1024u) /* a larger file is refused */

typedef struct agent_state_server {
    unsigned index; /* 1..65535 */
    char url[STORE_URL_MAX + 1];
    store_resource res[CUPI_RES_COUNT]; /* as the store keeps them */
    unsigned invalid;                   /* resources in the file that were not taken */
    /* The "history" section as the file holds it, unchecked, or NULL;
     * owned by the doc (history_ring_from_json reads and checks it). */
    cJSON *history;
} agent_state_server;

typedef struct agent_state_doc {
    agent_state_server *servers; /* sorted by index, each index once; owned */
    size_t n_servers;
    unsigned dropped; /* entries without a usable index or URL, or repeated */
} agent_state_doc;

/* Which entries to keep (the agent: its configured servers, so memory
 * follows the configuration, not the file); NULL keeps every entry. */
typedef bool (*agent_state_want_fn)(unsigned index, const char *url, void *arg);

/* Parses len bytes of text (need not be NUL-terminated). now is the wall
 * clock that readAt is judged against. Returns 0 with *doc filled (free it
 * with agent_state_doc_free), or -1 with why saying what is wrong with the
 * file as a whole (not a state file, other version, malformed, too large,
 * out of memory) and *doc empty. Entries and resources that are wrong on
 * their own are left out and counted, not fatal. */
int agent_state_parse(const char *text, size_t len, time_t now, agent_state_want_fn want,
                      void *want_arg, agent_state_doc *doc, char *why, size_t whysz);
void agent_state_doc_free(agent_state_doc *doc);

#endif
