#include "log/epoch_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

void weir_epoch_cache_free(weir_epoch_cache *c)
{
    free(c->e);
    memset(c, 0, sizeof *c);
}

int32_t weir_epoch_cache_latest(const weir_epoch_cache *c)
{
    return c->n > 0 ? c->e[c->n - 1].epoch : -1;
}

int weir_epoch_cache_assign(weir_epoch_cache *c, int32_t epoch, int64_t start_offset, bool *changed)
{
    *changed = false;
    if (epoch < 0 || (c->n > 0 && epoch <= c->e[c->n - 1].epoch)) {
        return 0;
    }
    /* Earlier epochs that wrote nothing before this one starts are gone
     * (Kafka does the same): start offsets stay strictly increasing. */
    while (c->n > 0 && c->e[c->n - 1].start_offset >= start_offset) {
        c->n--;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        weir_epoch_entry *ne = realloc(c->e, cap * sizeof *ne);
        if (ne == NULL) {
            return WEIR_E_NOMEM;
        }
        c->e = ne;
        c->cap = cap;
    }
    c->e[c->n].epoch = epoch;
    c->e[c->n].start_offset = start_offset;
    c->n++;
    *changed = true;
    return 0;
}

bool weir_epoch_cache_truncate_end(weir_epoch_cache *c, int64_t end_offset)
{
    size_t n = c->n;
    while (c->n > 0 && c->e[c->n - 1].start_offset >= end_offset) {
        c->n--;
    }
    return c->n != n;
}

bool weir_epoch_cache_truncate_start(weir_epoch_cache *c, int64_t start_offset)
{
    size_t drop = 0;
    while (drop + 1 < c->n && c->e[drop + 1].start_offset <= start_offset) {
        drop++;
    }
    bool changed = drop > 0;
    if (drop > 0) {
        memmove(c->e, c->e + drop, (c->n - drop) * sizeof *c->e);
        c->n -= drop;
    }
    if (c->n > 0 && c->e[0].start_offset < start_offset) {
        c->e[0].start_offset = start_offset;
        changed = true;
    }
    return changed;
}

void weir_epoch_cache_end_offset(const weir_epoch_cache *c, int32_t epoch, int64_t log_end,
                                 int32_t *epoch_out, int64_t *end_out)
{
    *epoch_out = -1;
    *end_out = -1;
    for (size_t i = c->n; i-- > 0;) {
        if (c->e[i].epoch <= epoch) {
            *epoch_out = c->e[i].epoch;
            *end_out = i + 1 < c->n ? c->e[i + 1].start_offset : log_end;
            return;
        }
    }
}
