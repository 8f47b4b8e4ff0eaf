/* test_text_pool.c - the history's shared texts: one copy per distinct
 * text, counted references, and a table that stays correct as texts come
 * and go in any order (the deletions shift entries back along their probe
 * runs, which only many texts in random order exercise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_pool.h"

static void test_one_copy_per_text(void **state)
{
    (void)state;
    assert_int_equal(text_pool_count(NULL), 0);
    const char *a = text_pool_get("smtp.example.com", 16);
    const char *b = text_pool_get("smtp.example.com and more", 16); /* the same 16 bytes */
    const char *c = text_pool_get("smtp.example.org", 16);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_string_equal(b, "smtp.example.com"); /* NUL-terminated at len */
    size_t bytes;
    assert_int_equal(text_pool_count(&bytes), 2);
    assert_int_equal(bytes, 2 * 17);
    text_pool_put(a);
    assert_int_equal(text_pool_count(NULL), 2); /* b still holds it */
    assert_string_equal(b, "smtp.example.com");
    text_pool_put(b);
    text_pool_put(c);
    text_pool_put(NULL);
    assert_int_equal(text_pool_count(&bytes), 0);
    assert_int_equal(bytes, 0);
    /* Empty and binary texts are texts too. */
    const char *e = text_pool_get("", 0), *z = text_pool_get("a\0b", 3);
    assert_string_equal(e, "");
    assert_memory_equal(z, "a\0b", 4);
    assert_ptr_equal(text_pool_get("a\0c", 1), text_pool_get("a", 1));
    assert_int_equal(text_pool_count(NULL), 3);
    text_pool_put(e);
    text_pool_put(z);
    text_pool_put(text_pool_get("a", 1)); /* +1 then -1 */
    text_pool_put(text_pool_get("a", 1));
    text_pool_put(text_pool_get("a", 1));
    assert_int_equal(text_pool_count(NULL), 1);
    const char *a1 = text_pool_get("a", 1);
    text_pool_put(a1);
    text_pool_put(a1);
    text_pool_put(a1);
    assert_int_equal(text_pool_count(NULL), 0);
}

#define N_TEXTS 20000

/* Every text taken twice, given back in a shuffled order: every lookup
 * between finds the one copy, and nothing is left at the end. */
static void test_random_order(void **state)
{
    (void)state;
    static const char *got[N_TEXTS];
    static unsigned order[2 * N_TEXTS];
    char text[32];
    srand(7);
    for (unsigned i = 0; i < N_TEXTS; i++) {
        int n = snprintf(text, sizeof text, "host-%u.example.net", i * 2654435761u);
        got[i] = text_pool_get(text, (size_t)n);
        assert_non_null(got[i]);
        assert_ptr_equal(text_pool_get(text, (size_t)n), got[i]);
        order[2 * i] = order[2 * i + 1] = i;
    }
    assert_int_equal(text_pool_count(NULL), N_TEXTS);
    for (unsigned i = 2 * N_TEXTS - 1; i > 0; i--) {
        unsigned j = (unsigned)rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    static unsigned refs[N_TEXTS];
    for (unsigned i = 0; i < N_TEXTS; i++)
        refs[i] = 2;
    for (unsigned k = 0; k < 2 * N_TEXTS; k++) {
        unsigned i = order[k];
        text_pool_put(got[i]);
        refs[i]--;
        if (k % 97 == 0) { /* the ones still held are still found */
            unsigned probe = order[(k * 7919u) % (2 * N_TEXTS)];
            if (refs[probe]) {
                int n = snprintf(text, sizeof text, "host-%u.example.net", probe * 2654435761u);
                const char *again = text_pool_get(text, (size_t)n);
                assert_ptr_equal(again, got[probe]);
                text_pool_put(again);
            }
        }
    }
    assert_int_equal(text_pool_count(NULL), 0);
}

static void *churn(void *arg)
{
    unsigned base = *(const unsigned *)arg;
    char text[32];
    for (unsigned round = 0; round < 2000; round++) {
        int n = snprintf(text, sizeof text, "v%u", (base + round) % 50);
        const char *p = text_pool_get(text, (size_t)n);
        if (!p || strcmp(p, text) != 0)
            return (void *)1;
        text_pool_put(p);
    }
    return NULL;
}

/* The agent's threads may record and drop rows at once. */
static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    unsigned base[4] = {0, 13, 26, 39};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, &base[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    assert_int_equal(text_pool_count(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_copy_per_text),
        cmocka_unit_test(test_random_order),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
