#include "ref_log.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

void weir_ref_log_init(weir_ref_log *rl, int64_t start)
{
    memset(rl, 0, sizeof *rl);
    rl->start = rl->end = rl->durable_end = start;
}

static void batch_free(weir_ref_batch *b)
{
    free(b->bytes);
    free(b->ts);
}

void weir_ref_log_free(weir_ref_log *rl)
{
    for (size_t i = 0; i < rl->n; i++) {
        batch_free(&rl->b[i]);
    }
    free(rl->b);
    memset(rl, 0, sizeof *rl);
}

void weir_ref_log_append(weir_ref_log *rl, const uint8_t *bytes, size_t len, int32_t count,
                         int32_t epoch, const int64_t *ts)
{
    WEIR_ASSERT(count > 0);
    if (rl->n == rl->cap) {
        rl->cap = rl->cap ? rl->cap * 2 : 16;
        rl->b = realloc(rl->b, rl->cap * sizeof *rl->b);
        WEIR_ASSERT(rl->b != NULL);
    }
    weir_ref_batch *b = &rl->b[rl->n++];
    b->base = rl->end;
    b->count = count;
    b->epoch = epoch;
    b->len = len;
    b->bytes = malloc(len);
    b->ts = malloc((size_t)count * sizeof *b->ts);
    WEIR_ASSERT(b->bytes != NULL && b->ts != NULL);
    memcpy(b->bytes, bytes, len);
    memcpy(b->ts, ts, (size_t)count * sizeof *ts);
    rl->end += count;
}

long weir_ref_log_find(const weir_ref_log *rl, int64_t offset)
{
    for (size_t i = 0; i < rl->n; i++) {
        if (offset >= rl->b[i].base && offset < rl->b[i].base + rl->b[i].count) {
            return (long)i;
        }
    }
    return -1;
}

bool weir_ref_log_is_boundary(const weir_ref_log *rl, int64_t offset)
{
    if (offset == rl->end || offset == rl->start) {
        return true;
    }
    long i = weir_ref_log_find(rl, offset);
    return i >= 0 && rl->b[i].base == offset;
}

void weir_ref_log_truncate_to(weir_ref_log *rl, int64_t offset)
{
    if (offset >= rl->end) {
        return;
    }
    if (offset < rl->start) {
        weir_ref_log_truncate_fully(rl, offset);
        return;
    }
    while (rl->n > 0 && rl->b[rl->n - 1].base + rl->b[rl->n - 1].count - 1 >= offset) {
        rl->end = rl->b[rl->n - 1].base;
        batch_free(&rl->b[--rl->n]);
    }
    if (rl->n == 0) {
        rl->end = rl->start;
    }
    if (rl->durable_end > rl->end) {
        rl->durable_end = rl->end;
    }
}

void weir_ref_log_truncate_fully(weir_ref_log *rl, int64_t start)
{
    for (size_t i = 0; i < rl->n; i++) {
        batch_free(&rl->b[i]);
    }
    rl->n = 0;
    rl->start = rl->end = rl->durable_end = start;
}

void weir_ref_log_drop_before(weir_ref_log *rl, int64_t start)
{
    WEIR_ASSERT(start >= rl->start && start <= rl->end);
    size_t drop = 0;
    while (drop < rl->n && rl->b[drop].base < start) {
        batch_free(&rl->b[drop]);
        drop++;
    }
    if (drop > 0) {
        memmove(rl->b, rl->b + drop, (rl->n - drop) * sizeof *rl->b);
        rl->n -= drop;
    }
    rl->start = start;
}

void weir_ref_log_flushed(weir_ref_log *rl)
{
    rl->durable_end = rl->end;
}

int64_t weir_ref_log_offset_for_time(const weir_ref_log *rl, int64_t ts)
{
    for (size_t i = 0; i < rl->n; i++) {
        for (int32_t r = 0; r < rl->b[i].count; r++) {
            if (rl->b[i].ts[r] >= ts) {
                return rl->b[i].base + r;
            }
        }
    }
    return -1;
}

bool weir_ref_log_read(const weir_ref_log *rl, int64_t offset, size_t max_bytes, bool min_one,
                       size_t *first, size_t *last)
{
    *first = *last = 0;
    if (offset < rl->start || offset > rl->end) {
        return false;
    }
    long i = weir_ref_log_find(rl, offset);
    if (i < 0) {
        return true; /* at the end: nothing */
    }
    size_t used = 0;
    size_t j = (size_t)i;
    *first = j;
    while (j < rl->n && (used + rl->b[j].len <= max_bytes || (j == (size_t)i && min_one))) {
        used += rl->b[j].len;
        j++;
    }
    *last = j;
    return true;
}

size_t weir_ref_log_epochs(const weir_ref_log *rl, int32_t *epochs, int64_t *starts, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rl->n; i++) {
        if (rl->b[i].epoch < 0 || (n > 0 && epochs[n - 1] == rl->b[i].epoch)) {
            continue;
        }
        WEIR_ASSERT(n < max);
        epochs[n] = rl->b[i].epoch;
        starts[n] = rl->b[i].base < rl->start ? rl->start : rl->b[i].base;
        n++;
    }
    return n;
}
