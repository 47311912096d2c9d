/* A min-heap of one-shot timers, shared by both env backends.
 *
 * Order: by deadline, then by start sequence, so equal deadlines fire in the
 * order they were started (deterministic, never by pointer value). Each timer
 * knows its heap slot, so cancel is O(log n).
 */
#ifndef WEIR_ENV_TIMER_HEAP_H
#define WEIR_ENV_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

struct weir_timer {
    int64_t deadline_ns;
    uint64_t seq;
    size_t slot; /* index in the heap while pending */
    weir_timer_cb cb;
    void *arg;
};

typedef struct weir_timer_heap {
    weir_timer **items;
    size_t count;
    size_t capacity;
    uint64_t seq_next;
} weir_timer_heap;

void weir_timer_heap_init(weir_timer_heap *heap);

/* Frees every pending timer (their callbacks never run) and the heap's array. */
void weir_timer_heap_free(weir_timer_heap *heap);

/* Allocates and schedules a timer; aborts on allocation failure (timers are
 * small and a node cannot go on without them). */
weir_timer *weir_timer_heap_add(weir_timer_heap *heap, int64_t deadline_ns, weir_timer_cb cb,
                                void *arg);

/* Unschedules and frees a pending timer. */
void weir_timer_heap_cancel(weir_timer_heap *heap, weir_timer *timer);

/* Earliest pending deadline, or INT64_MAX when none. */
int64_t weir_timer_heap_next_ns(const weir_timer_heap *heap);

/* Removes the earliest timer if its deadline is <= now_ns and returns it; the
 * caller runs timer->cb and then frees the timer. NULL when none is due. */
weir_timer *weir_timer_heap_pop_due(weir_timer_heap *heap, int64_t now_ns);

#endif
