#include "env/timer_heap.h"

#include <stdlib.h>

static int th_less(const weir_timer *a, const weir_timer *b)
{
    if (a->deadline_ns != b->deadline_ns) {
        return a->deadline_ns < b->deadline_ns;
    }
    return a->seq < b->seq;
}

static void th_place(weir_timer_heap *heap, weir_timer *t, size_t slot)
{
    heap->items[slot] = t;
    t->slot = slot;
}

static void th_sift_up(weir_timer_heap *heap, size_t slot)
{
    weir_timer *t = heap->items[slot];
    while (slot > 0) {
        size_t parent = (slot - 1) / 2;
        if (!th_less(t, heap->items[parent])) {
            break;
        }
        th_place(heap, heap->items[parent], slot);
        slot = parent;
    }
    th_place(heap, t, slot);
}

static void th_sift_down(weir_timer_heap *heap, size_t slot)
{
    weir_timer *t = heap->items[slot];
    for (;;) {
        size_t child = 2 * slot + 1;
        if (child >= heap->count) {
            break;
        }
        if (child + 1 < heap->count && th_less(heap->items[child + 1], heap->items[child])) {
            child++;
        }
        if (!th_less(heap->items[child], t)) {
            break;
        }
        th_place(heap, heap->items[child], slot);
        slot = child;
    }
    th_place(heap, t, slot);
}

void weir_timer_heap_init(weir_timer_heap *heap)
{
    heap->items = NULL;
    heap->count = 0;
    heap->capacity = 0;
    heap->seq_next = 0;
}

void weir_timer_heap_free(weir_timer_heap *heap)
{
    for (size_t i = 0; i < heap->count; i++) {
        free(heap->items[i]);
    }
    free(heap->items);
    weir_timer_heap_init(heap);
}

weir_timer *weir_timer_heap_add(weir_timer_heap *heap, int64_t deadline_ns, weir_timer_cb cb,
                                void *arg)
{
    if (heap->count == heap->capacity) {
        size_t cap = heap->capacity ? heap->capacity * 2 : 16;
        weir_timer **items = realloc(heap->items, cap * sizeof *items);
        WEIR_ASSERT(items != NULL);
        heap->items = items;
        heap->capacity = cap;
    }
    weir_timer *t = malloc(sizeof *t);
    WEIR_ASSERT(t != NULL);
    t->deadline_ns = deadline_ns;
    t->seq = heap->seq_next++;
    t->cb = cb;
    t->arg = arg;
    heap->count++;
    th_place(heap, t, heap->count - 1);
    th_sift_up(heap, heap->count - 1);
    return t;
}

static void th_remove_slot(weir_timer_heap *heap, size_t slot)
{
    WEIR_ASSERT(slot < heap->count);
    heap->count--;
    if (slot == heap->count) {
        return;
    }
    th_place(heap, heap->items[heap->count], slot);
    th_sift_down(heap, slot);
    th_sift_up(heap, heap->items[slot]->slot);
}

void weir_timer_heap_cancel(weir_timer_heap *heap, weir_timer *timer)
{
    WEIR_ASSERT(timer->slot < heap->count && heap->items[timer->slot] == timer);
    th_remove_slot(heap, timer->slot);
    free(timer);
}

int64_t weir_timer_heap_next_ns(const weir_timer_heap *heap)
{
    return heap->count ? heap->items[0]->deadline_ns : INT64_MAX;
}

weir_timer *weir_timer_heap_pop_due(weir_timer_heap *heap, int64_t now_ns)
{
    if (heap->count == 0 || heap->items[0]->deadline_ns > now_ns) {
        return NULL;
    }
    weir_timer *t = heap->items[0];
    th_remove_slot(heap, 0);
    return t;
}
