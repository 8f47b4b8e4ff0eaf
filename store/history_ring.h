/* store/history_ring.h - one server's change history: the newest rows in a
 * ring, numbered by an index that only grows, and the reader of its JSON
 * form in an earlier release's state file.
 *
 * Pure C on libcupi and cJSON (no net-snmp), so that the agent and cupictl
 * share it, and unit tests drive it alone. */
#ifndef CUPI_AGENT_HISTORY_RING_H
#define CUPI_AGENT_HISTORY_RING_H

#include <cupi/cupi.h>

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A saved time (a read time, a change's time) further ahead of now than
 * this is corrupt. Every reader of the state judges by this one bound. */
#define STORE_READ_AT_AHEAD_S 86400

/* cupiChangeSource values (the same numbers as cupiServerLastChangeSource). */
#define HISTORY_SOURCE_EXTERNAL 2
#define HISTORY_SOURCE_SNMP 3

/* One changed field. Its two texts are pooled (text_pool.h): a value that
 * recurs across the fleet's histories is held once. */
typedef struct agent_change {
    int64_t when;   /* wall clock, seconds since the epoch (UTC) */
    uint32_t index; /* cupiChangeIndex, >= 1 */
    uint8_t resource;
    uint8_t column;                  /* the field's MIB column in its resource's table */
    uint8_t source;                  /* HISTORY_SOURCE_* */
    const char *old_text, *new_text; /* pooled, NUL-terminated */
} agent_change;

const char *agent_change_old(const agent_change *c);
const char *agent_change_new(const agent_change *c);

typedef struct history_ring {
    uint32_t last_index; /* newest index handed out; 0 before any change */
    size_t cap;          /* rows kept at most */
    size_t start;        /* physical slot of the oldest row */
    size_t count;
    agent_change **rows; /* cap slots, owned */
} history_ring;

/* An empty ring of capacity 0, numbering from 1. */
void history_ring_init(history_ring *h);
/* Frees the rows and the slots; the ring is empty and keeps last_index. */
void history_ring_clear(history_ring *h);
/* Keeps the newest min(count, cap) rows. Returns 0, or -1 when out of
 * memory (the ring is then unchanged). */
int history_ring_resize(history_ring *h, size_t cap);

/* Appends a row numbered last_index + 1 (the oldest row goes when full).
 * The index is handed out even when the ring keeps nothing (cap 0), so
 * numbers never repeat when history is turned on later. old and new are
 * cut at CUPI_STR_MAX bytes. Returns the index, 0 when out of memory or
 * when every index is used (no row added, last_index unchanged). */
uint32_t history_ring_add(history_ring *h, int64_t when, cupi_resource r, unsigned column,
                          unsigned source, const char *old_value, const char *new_value);

/* Appends a saved row with its own index, greater than every row's (the
 * oldest row goes when full; nothing is kept with cap 0). last_index is
 * the caller's to set. 0, or -1 when out of memory. */
int history_ring_append(history_ring *h, uint32_t index, int64_t when, unsigned resource,
                        unsigned column, unsigned source, const char *old_value,
                        const char *new_value);

/* Checks a saved row in its text form, as the state store keeps it: a time
 * not before the epoch nor far ahead of now, a known resource and field
 * (its payload name exactly), values that field can hold ("" for a
 * write-only field), source "external" or "snmp". Returns the field, with
 * *source_out set, or NULL with why. */
const cupi_field *history_row_check(const char *resource, const char *field,
                                    const char *old_value, const char *new_value,
                                    const char *source, int64_t when, time_t now,
                                    unsigned *source_out, char *why, size_t whysz);

/* The i-th row from the oldest (0 .. count-1), or NULL. */
const agent_change *history_ring_at(const history_ring *h, size_t i);
/* The row with the smallest index >= index, or NULL: O(log count). */
const agent_change *history_ring_from(const history_ring *h, uint32_t index);

/* The text a value has in the history: the field's CUPI text (integers in
 * decimal, booleans true/false, strings as they are), "" for a write-only
 * field whatever v holds. Returns buf. */
const char *history_value_text(const cupi_field *f, const cupi_value *v, char *buf,
                               size_t bufsz);

/* The history section of an earlier release's JSON state file:
 *   {"version":1,"lastIndex":N,"rows":[{"index":..,"time":..,"resource":"server",
 *    "field":"Port","old":"25","new":"587","source":"snmp"},...]} */
#define HISTORY_JSON_VERSION 1

/* Reads that form into h (emptied first; its capacity is kept and only the
 * newest rows that fit are taken). Every row is checked: index growing and
 * not beyond lastIndex, then the rest as history_row_check checks a row
 * (times judged against now). Returns 0 when everything was taken; -1 when
 * the section is unusable (why says why): h then keeps no rows, and still
 * the lastIndex when that number itself was sound, so indexes never go
 * back. */
int history_ring_from_json(history_ring *h, const cJSON *obj, time_t now, char *why,
                           size_t whysz);

#endif
