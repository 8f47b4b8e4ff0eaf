/* store/text_pool.c - shared, counted texts: an open-addressing hash table
 * (linear probing, deletion by backward shift, so no tombstones pile up
 * as the history turns over) of blocks that carry their count. */
#include "text_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 12 bytes before the text: a history holds one per distinct value. */
typedef struct pooled_text {
    uint32_t refs;
    uint32_t hash;
    uint32_t len;
    char text[];
} pooled_text;

#define POOL_MIN_SLOTS 256u

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled_text **slots; /* a power of two of them, or none */
static size_t n_slots, n_texts, n_bytes;

static uint32_t hash_of(const char *text, size_t len)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211u;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static pooled_text *block_of(const char *pooled)
{
    return (pooled_text *)(void *)(pooled - offsetof(pooled_text, text));
}

/* The slot holding text, or the empty slot where it would go. */
static size_t probe(uint32_t hash, const char *text, size_t len)
{
    size_t mask = n_slots - 1, i = hash & mask;
    while (slots[i] && !(slots[i]->hash == hash && slots[i]->len == len &&
                         memcmp(slots[i]->text, text, len) == 0))
        i = (i + 1) & mask;
    return i;
}

/* Rehashes into want slots (a power of two above the number of texts). */
static bool rehash(size_t want)
{
    pooled_text **old = slots;
    size_t old_n = n_slots;
    pooled_text **fresh = calloc(want, sizeof *fresh);
    if (!fresh)
        return false;
    slots = fresh;
    n_slots = want;
    for (size_t i = 0; i < old_n; i++)
        if (old[i]) {
            size_t at = old[i]->hash & (want - 1);
            while (slots[at])
                at = (at + 1) & (want - 1);
            slots[at] = old[i];
        }
    free(old);
    return true;
}

const char *text_pool_get(const char *text, size_t len)
{
    const char *out = NULL;
    if (len >= UINT32_MAX)
        return NULL; /* far beyond any value a field holds */
    pthread_mutex_lock(&pool_lock);
    /* Kept at most 3/4 full: probes stay short, and the loop in probe()
     * always meets an empty slot. */
    if ((n_texts + 1) * 4 > n_slots * 3 && !rehash(n_slots ? 2 * n_slots : POOL_MIN_SLOTS))
        goto done;
    uint32_t hash = hash_of(text, len);
    size_t at = probe(hash, text, len);
    pooled_text *p = slots[at];
    if (p) {
        if (p->refs == UINT32_MAX)
            goto done; /* more references than rows can ever hold */
        p->refs++;
        out = p->text;
        goto done;
    }
    p = malloc(sizeof *p + len + 1);
    if (!p)
        goto done;
    p->refs = 1;
    p->hash = hash;
    p->len = (uint32_t)len;
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    slots[at] = p;
    n_texts++;
    n_bytes += len + 1;
    out = p->text;
done:
    pthread_mutex_unlock(&pool_lock);
    return out;
}

/* Empties slot i, then moves back every later entry of its run that
 * probing from its home would no longer reach. */
static void remove_at(size_t i)
{
    size_t mask = n_slots - 1;
    slots[i] = NULL;
    for (size_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
        size_t home = slots[j]->hash & mask;
        /* j's entry may stay when its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            slots[i] = slots[j];
            slots[j] = NULL;
            i = j;
        }
    }
}

void text_pool_put(const char *pooled)
{
    if (!pooled)
        return;
    pooled_text *p = block_of(pooled);
    pthread_mutex_lock(&pool_lock);
    if (--p->refs == 0) {
        remove_at(probe(p->hash, p->text, p->len));
        n_texts--;
        n_bytes -= p->len + 1;
        free(p);
        if (n_texts == 0) { /* nothing left: no table either */
            free(slots);
            slots = NULL;
            n_slots = 0;
        }
    }
    pthread_mutex_unlock(&pool_lock);
}

size_t text_pool_count(size_t *bytes)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = n_texts;
    if (bytes)
        *bytes = n_bytes;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
