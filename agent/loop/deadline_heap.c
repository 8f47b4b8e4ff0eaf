/* loop/deadline_heap.c - the min-heap behind every timer of the agent. */
#include "loop/deadline_heap.h"

#include <stdlib.h>

int64_t agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void place(deadline_heap *h, size_t i, agent_timer *t)
{
    h->items[i] = t;
    t->slot = i + 1;
}

static void sift_up(deadline_heap *h, size_t i)
{
    agent_timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->due_ms <= t->due_ms)
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(deadline_heap *h, size_t i)
{
    agent_timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->items[child + 1]->due_ms < h->items[child]->due_ms)
            child++;
        if (t->due_ms <= h->items[child]->due_ms)
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

static void remove_at(deadline_heap *h, size_t i)
{
    agent_timer *gone = h->items[i];
    gone->slot = 0;
    h->n--;
    if (i == h->n)
        return;
    place(h, i, h->items[h->n]);
    sift_down(h, i);
    sift_up(h, h->items[i]->slot - 1);
}

int deadline_heap_set(deadline_heap *h, agent_timer *t, int64_t due_ms)
{
    if (t->slot) {
        t->due_ms = due_ms;
        sift_down(h, t->slot - 1);
        sift_up(h, t->slot - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        agent_timer **grown = realloc(h->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        h->items = grown;
        h->cap = cap;
    }
    t->due_ms = due_ms;
    place(h, h->n++, t);
    sift_up(h, h->n - 1);
    return 0;
}

void deadline_heap_cancel(deadline_heap *h, agent_timer *t)
{
    if (t->slot)
        remove_at(h, t->slot - 1);
}

int64_t deadline_heap_next(const deadline_heap *h)
{
    return h->n ? h->items[0]->due_ms : -1;
}

void deadline_heap_run_due(deadline_heap *h, int64_t now)
{
    size_t budget = h->n;
    while (h->n && h->items[0]->due_ms <= now && budget--) {
        agent_timer *t = h->items[0];
        remove_at(h, 0);
        t->fire(t);
    }
}

void deadline_heap_clear(deadline_heap *h)
{
    while (h->n)
        remove_at(h, h->n - 1);
    free(h->items);
    *h = (deadline_heap){0};
}
