/* store/text_pool.h - one shared, counted copy of each text the change
 * history holds.
 *
 * A fleet is configured alike: the same smart host, domain or address on
 * hundreds of servers, and a change rolled out to all of them leaves the
 * same old and new texts in every server's history. Kept once each, the
 * history costs its rows plus its distinct texts, not rows x text length.
 *
 * Process-wide and safe to call from any thread (one mutex: a lookup is a
 * hash and a compare, far shorter than anything that records a change). */
#ifndef CUPI_STORE_TEXT_POOL_H
#define CUPI_STORE_TEXT_POOL_H

#include <stddef.h>

/* The pooled copy of the len (< 4 GiB) bytes at text (no NUL needed),
 * NUL-terminated, with one more reference. NULL when out of memory. The
 * caller gives the reference back with text_pool_put() and never writes
 * through the pointer. */
const char *text_pool_get(const char *text, size_t len);

/* Gives back one reference taken by text_pool_get(); the copy goes with
 * the last. NULL is ignored. */
void text_pool_put(const char *pooled);

/* Distinct texts held now, and their bytes (for tests and benchmarks). */
size_t text_pool_count(size_t *bytes);

#endif
