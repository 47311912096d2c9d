#include "log/producer_state.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"

/* A completed transaction whose marker may still be above the HW. */
typedef struct ps_done {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset;
} ps_done;

typedef struct ps_open {
    int64_t producer_id;
    int64_t first_offset;
} ps_open;

struct weir_pstate {
    weir_pstate_entry *e; /* dense, insertion order */
    size_t n;
    size_t cap;
    uint32_t *slot;    /* open addressing over e: 0 empty, else index + 1 */
    size_t slot_count; /* a power of two, > 2 * n; 0 before the first insert */
    ps_open *open;     /* sorted by first_offset */
    size_t n_open;
    size_t cap_open;
    ps_done *done; /* sorted by last_offset */
    size_t n_done;
    size_t cap_done;
};

const char *weir_pstate_result_str(int result)
{
    switch (result) {
    case WEIR_PSTATE_OK:
        return "ok";
    case WEIR_PSTATE_DUPLICATE:
        return "duplicate of a batch already in the log";
    case WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE:
        return "out of order sequence number";
    case WEIR_PSTATE_INVALID_PRODUCER_EPOCH:
        return "producer epoch below the current one";
    case WEIR_PSTATE_INVALID_TXN_STATE:
        return "non-transactional batch inside an open transaction";
    case WEIR_PSTATE_COORDINATOR_FENCED:
        return "coordinator epoch below the last marker's";
    case WEIR_PSTATE_DUPLICATE_SEQUENCE:
        return "duplicate batch inside a multi-batch record set";
    case WEIR_PSTATE_INVALID_RECORD:
        return "batch a client may not write";
    }
    return "unknown producer state result";
}

/* Grows *p (n elements used, *cap allocated) to hold one more. */
static bool ps_reserve(void **p, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap * 2 : 8;
    void *np = realloc(*p, ncap * elem);
    if (np == NULL) {
        return false;
    }
    *p = np;
    *cap = ncap;
    return true;
}

/* ---- the map ---- */

weir_pstate *weir_pstate_new(void)
{
    return calloc(1, sizeof(weir_pstate));
}

void weir_pstate_free(weir_pstate *ps)
{
    if (ps == NULL) {
        return;
    }
    free(ps->e);
    free(ps->slot);
    free(ps->open);
    free(ps->done);
    free(ps);
}

static void ps_clear_producers(weir_pstate *ps)
{
    ps->n = 0;
    ps->n_open = 0;
    if (ps->slot != NULL) {
        memset(ps->slot, 0, ps->slot_count * sizeof *ps->slot);
    }
}

void weir_pstate_clear(weir_pstate *ps)
{
    ps_clear_producers(ps);
    ps->n_done = 0;
}

size_t weir_pstate_count(const weir_pstate *ps)
{
    return ps->n;
}

static size_t ps_hash(int64_t producer_id, size_t mask)
{
    uint64_t h = (uint64_t)producer_id * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    return (size_t)h & mask;
}

/* The slot holding producer_id, or the empty slot where it would go. */
static size_t ps_probe(const weir_pstate *ps, int64_t producer_id)
{
    size_t mask = ps->slot_count - 1;
    size_t i = ps_hash(producer_id, mask);
    while (ps->slot[i] != 0 && ps->e[ps->slot[i] - 1].producer_id != producer_id) {
        i = (i + 1) & mask;
    }
    return i;
}

const weir_pstate_entry *weir_pstate_find(const weir_pstate *ps, int64_t producer_id)
{
    if (ps->n == 0) {
        return NULL;
    }
    uint32_t s = ps->slot[ps_probe(ps, producer_id)];
    return s != 0 ? &ps->e[s - 1] : NULL;
}

static int ps_rehash(weir_pstate *ps, size_t slot_count)
{
    uint32_t *slot = calloc(slot_count, sizeof *slot);
    if (slot == NULL) {
        return WEIR_E_NOMEM;
    }
    free(ps->slot);
    ps->slot = slot;
    ps->slot_count = slot_count;
    for (size_t k = 0; k < ps->n; k++) {
        ps->slot[ps_probe(ps, ps->e[k].producer_id)] = (uint32_t)(k + 1);
    }
    return 0;
}

/* The entry of producer_id, created empty if missing; NULL if out of memory. */
static weir_pstate_entry *ps_get(weir_pstate *ps, int64_t producer_id)
{
    WEIR_ASSERT(producer_id >= 0);
    weir_pstate_entry *found = (weir_pstate_entry *)weir_pstate_find(ps, producer_id);
    if (found != NULL) {
        return found;
    }
    if ((ps->n + 1) * 2 > ps->slot_count &&
        ps_rehash(ps, ps->slot_count ? ps->slot_count * 2 : 16) != 0) {
        return NULL;
    }
    if (ps->n >= UINT32_MAX - 1 || !ps_reserve((void **)&ps->e, ps->n, &ps->cap, sizeof *ps->e)) {
        return NULL;
    }
    weir_pstate_entry *e = &ps->e[ps->n];
    memset(e, 0, sizeof *e);
    e->producer_id = producer_id;
    e->epoch = -1;
    e->coordinator_epoch = -1;
    e->current_txn_first_offset = -1;
    e->last_timestamp = -1;
    ps->slot[ps_probe(ps, producer_id)] = (uint32_t)(ps->n + 1);
    ps->n++;
    return e;
}

/* ---- open and completed transactions ---- */

static bool ps_open_add(weir_pstate *ps, int64_t producer_id, int64_t first_offset)
{
    if (!ps_reserve((void **)&ps->open, ps->n_open, &ps->cap_open, sizeof *ps->open)) {
        return false;
    }
    size_t at = ps->n_open; /* appends come in offset order: usually the end */
    while (at > 0 && ps->open[at - 1].first_offset > first_offset) {
        at--;
    }
    memmove(ps->open + at + 1, ps->open + at, (ps->n_open - at) * sizeof *ps->open);
    ps->open[at].producer_id = producer_id;
    ps->open[at].first_offset = first_offset;
    ps->n_open++;
    return true;
}

static void ps_open_remove(weir_pstate *ps, int64_t producer_id)
{
    for (size_t i = 0; i < ps->n_open; i++) {
        if (ps->open[i].producer_id == producer_id) {
            memmove(ps->open + i, ps->open + i + 1, (ps->n_open - i - 1) * sizeof *ps->open);
            ps->n_open--;
            return;
        }
    }
    WEIR_ASSERT(!"an open transaction is missing from the open list");
}

size_t weir_pstate_open_count(const weir_pstate *ps)
{
    return ps->n_open;
}

weir_pstate_txn weir_pstate_open_at(const weir_pstate *ps, size_t i)
{
    WEIR_ASSERT(i < ps->n_open);
    weir_pstate_txn t = {ps->open[i].producer_id, ps->open[i].first_offset, -1, false, -1};
    return t;
}

int64_t weir_pstate_first_unstable_offset(const weir_pstate *ps)
{
    int64_t first = ps->n_open > 0 ? ps->open[0].first_offset : -1;
    for (size_t i = 0; i < ps->n_done; i++) {
        if (first < 0 || ps->done[i].first_offset < first) {
            first = ps->done[i].first_offset;
        }
    }
    return first;
}

void weir_pstate_forget_completed_below(weir_pstate *ps, int64_t hw)
{
    size_t k = 0;
    while (k < ps->n_done && ps->done[k].last_offset < hw) {
        k++;
    }
    if (k > 0) {
        memmove(ps->done, ps->done + k, (ps->n_done - k) * sizeof *ps->done);
        ps->n_done -= k;
    }
}

void weir_pstate_drop_completed_from(weir_pstate *ps, int64_t offset)
{
    while (ps->n_done > 0 && ps->done[ps->n_done - 1].last_offset >= offset) {
        ps->n_done--;
    }
}

/* ---- checks ---- */

static bool seq_follows(int32_t last, int32_t next)
{
    return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

weir_pstate_result weir_pstate_entry_check(const weir_pstate_entry *e, int16_t epoch,
                                           int32_t first_seq, int32_t last_seq, bool transactional,
                                           weir_pstate_batch *dup_out)
{
    if (e == NULL) {
        return WEIR_PSTATE_OK; /* no state: any sequence, any epoch */
    }
    if (epoch == e->epoch) {
        for (int i = 0; i < e->n_batches; i++) {
            const weir_pstate_batch *b = &e->batches[i];
            if (b->first_seq == first_seq && b->last_seq == last_seq) {
                if (dup_out != NULL) {
                    *dup_out = *b;
                }
                return WEIR_PSTATE_DUPLICATE;
            }
        }
    }
    if (epoch < e->epoch) {
        return WEIR_PSTATE_INVALID_PRODUCER_EPOCH;
    }
    if (epoch != e->epoch) {
        /* A new epoch starts its sequences at 0 (unless none was known). */
        if (first_seq != 0 && e->epoch != -1) {
            return WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE;
        }
    } else if (e->epoch != -1) {
        /* Same epoch: the next sequence after the last batch (-1 + 1 = 0 when
         * a marker bumped the epoch and nothing followed yet). */
        int32_t last = e->n_batches > 0 ? e->batches[e->n_batches - 1].last_seq : -1;
        if (!seq_follows(last, first_seq)) {
            return WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE;
        }
    }
    if (e->current_txn_first_offset >= 0 && !transactional) {
        return WEIR_PSTATE_INVALID_TXN_STATE;
    }
    return WEIR_PSTATE_OK;
}

weir_pstate_result weir_pstate_check(const weir_pstate *ps, int64_t producer_id, int16_t epoch,
                                     int32_t first_seq, int32_t last_seq, bool transactional,
                                     weir_pstate_batch *dup_out)
{
    if (producer_id < 0) {
        return WEIR_PSTATE_OK;
    }
    return weir_pstate_entry_check(weir_pstate_find(ps, producer_id), epoch, first_seq, last_seq,
                                   transactional, dup_out);
}

weir_pstate_result weir_pstate_check_marker(const weir_pstate *ps, int64_t producer_id,
                                            int16_t epoch, int32_t coordinator_epoch)
{
    const weir_pstate_entry *e = weir_pstate_find(ps, producer_id);
    if (e == NULL) {
        return WEIR_PSTATE_OK;
    }
    if (epoch < e->epoch) {
        return WEIR_PSTATE_INVALID_PRODUCER_EPOCH;
    }
    if (coordinator_epoch < e->coordinator_epoch) {
        return WEIR_PSTATE_COORDINATOR_FENCED;
    }
    return WEIR_PSTATE_OK;
}

/* ---- updates ---- */

static void entry_set_epoch(weir_pstate_entry *e, int16_t epoch)
{
    if (e->epoch != epoch) {
        e->n_batches = 0; /* the cache only ever holds the current epoch's batches */
        e->epoch = epoch;
    }
}

void weir_pstate_entry_add_batch(weir_pstate_entry *e, int16_t epoch, int32_t first_seq,
                                 int32_t last_seq, int64_t first_offset, int64_t last_offset,
                                 int64_t timestamp)
{
    WEIR_ASSERT(last_offset >= first_offset && last_offset - first_offset <= INT32_MAX);
    entry_set_epoch(e, epoch);
    if (e->n_batches == WEIR_PSTATE_BATCHES_MAX) {
        memmove(e->batches, e->batches + 1, (WEIR_PSTATE_BATCHES_MAX - 1) * sizeof e->batches[0]);
        e->n_batches--;
    }
    weir_pstate_batch *b = &e->batches[e->n_batches++];
    b->first_seq = first_seq;
    b->last_seq = last_seq;
    b->last_offset = last_offset;
    b->offset_delta = (int32_t)(last_offset - first_offset);
    b->timestamp = timestamp;
    e->last_timestamp = timestamp;
}

int weir_pstate_apply_data(weir_pstate *ps, int64_t producer_id, int16_t epoch, int32_t first_seq,
                           int32_t last_seq, int64_t first_offset, int64_t last_offset,
                           int64_t timestamp, bool transactional)
{
    weir_pstate_entry *e = ps_get(ps, producer_id);
    if (e == NULL) {
        return WEIR_E_NOMEM;
    }
    if (transactional && e->current_txn_first_offset < 0) {
        if (!ps_open_add(ps, producer_id, first_offset)) {
            return WEIR_E_NOMEM; /* e may be new and empty: harmless */
        }
        e->current_txn_first_offset = first_offset;
    }
    weir_pstate_entry_add_batch(e, epoch, first_seq, last_seq, first_offset, last_offset,
                                timestamp);
    return 0;
}

int weir_pstate_apply_marker(weir_pstate *ps, int64_t producer_id, int16_t epoch,
                             int32_t coordinator_epoch, bool commit, int64_t offset,
                             int64_t timestamp, weir_pstate_txn *completed_out)
{
    weir_pstate_entry *e = ps_get(ps, producer_id);
    if (e == NULL || !ps_reserve((void **)&ps->done, ps->n_done, &ps->cap_done, sizeof *ps->done)) {
        return WEIR_E_NOMEM;
    }
    int completed = 0;
    if (e->current_txn_first_offset >= 0) {
        ps_open_remove(ps, producer_id);
        weir_pstate_txn t = {producer_id, e->current_txn_first_offset, offset, !commit,
                             ps->n_open > 0 ? ps->open[0].first_offset : offset + 1};
        WEIR_ASSERT(ps->n_done == 0 || ps->done[ps->n_done - 1].last_offset < offset);
        ps->done[ps->n_done].producer_id = producer_id;
        ps->done[ps->n_done].first_offset = t.first_offset;
        ps->done[ps->n_done].last_offset = offset;
        ps->n_done++;
        if (completed_out != NULL) {
            *completed_out = t;
        }
        completed = 1;
    }
    entry_set_epoch(e, epoch);
    e->coordinator_epoch = coordinator_epoch;
    e->current_txn_first_offset = -1;
    e->last_timestamp = timestamp;
    return completed;
}

int weir_control_marker_parse(const uint8_t *batch, size_t len, int16_t *type_out,
                              int32_t *coordinator_epoch_out)
{
    weir_record_iter it;
    weir_record rec;
    if (weir_record_iter_init(&it, batch, len) != 0) {
        return WEIR_E_UNSUPPORTED;
    }
    int rc = weir_record_next(&it, &rec);
    if (rc != 1) {
        return rc == 0 ? WEIR_E_UNSUPPORTED : WEIR_E_CORRUPT; /* empty: cleaned away */
    }
    if (rec.key == NULL || rec.key_len < 4) {
        return WEIR_E_CORRUPT;
    }
    int16_t type = (int16_t)weir_get_be16(rec.key + 2);
    if (type != WEIR_CONTROL_ABORT && type != WEIR_CONTROL_COMMIT) {
        return WEIR_E_UNSUPPORTED; /* LEADER_CHANGE and friends */
    }
    if (rec.value == NULL || rec.value_len < 6) {
        return WEIR_E_CORRUPT;
    }
    *type_out = type;
    *coordinator_epoch_out = (int32_t)weir_get_be32(rec.value + 2);
    return 0;
}

int weir_pstate_apply_batch(weir_pstate *ps, const weir_batch_header *h, const uint8_t *batch,
                            size_t len, weir_pstate_txn *completed_out)
{
    if (h->producer_id < 0) {
        return 0;
    }
    if ((h->attributes & WEIR_BATCH_CONTROL) == 0) {
        return weir_pstate_apply_data(ps, h->producer_id, h->producer_epoch, h->base_sequence,
                                      weir_batch_last_seq(h), h->base_offset,
                                      weir_batch_last_offset(h), h->max_timestamp,
                                      (h->attributes & WEIR_BATCH_TRANSACTIONAL) != 0);
    }
    int16_t type;
    int32_t coordinator_epoch;
    if (weir_control_marker_parse(batch, len, &type, &coordinator_epoch) != 0) {
        return 0; /* not an end-transaction marker: no producer state in it */
    }
    return weir_pstate_apply_marker(ps, h->producer_id, h->producer_epoch, coordinator_epoch,
                                    type == WEIR_CONTROL_COMMIT, h->base_offset, h->max_timestamp,
                                    completed_out);
}

/* ---- snapshots ---- */

static int entry_cmp(const void *a, const void *b)
{
    int64_t x = ((const weir_producer_entry *)a)->producer_id;
    int64_t y = ((const weir_producer_entry *)b)->producer_id;
    return x < y ? -1 : x > y;
}

int weir_pstate_to_entries(const weir_pstate *ps, weir_producer_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (ps->n == 0) {
        return 0;
    }
    weir_producer_entry *v = calloc(ps->n, sizeof *v);
    if (v == NULL) {
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < ps->n; i++) {
        const weir_pstate_entry *e = &ps->e[i];
        const weir_pstate_batch *last = e->n_batches > 0 ? &e->batches[e->n_batches - 1] : NULL;
        v[i].producer_id = e->producer_id;
        v[i].epoch = e->epoch;
        v[i].last_sequence = last != NULL ? last->last_seq : -1;
        v[i].last_offset = last != NULL ? last->last_offset : -1;
        v[i].offset_delta = last != NULL ? last->offset_delta : 0;
        v[i].timestamp = e->last_timestamp;
        v[i].coordinator_epoch = e->coordinator_epoch;
        v[i].current_txn_first_offset = e->current_txn_first_offset;
    }
    qsort(v, ps->n, sizeof *v, entry_cmp);
    *out = v;
    *n_out = ps->n;
    return 0;
}

int weir_pstate_load_entries(weir_pstate *ps, const weir_producer_entry *entries, size_t n)
{
    ps_clear_producers(ps);
    for (size_t i = 0; i < n; i++) {
        const weir_producer_entry *s = &entries[i];
        if (s->producer_id < 0 || weir_pstate_find(ps, s->producer_id) != NULL ||
            (s->last_offset >= 0 && (s->offset_delta < 0 || s->offset_delta > s->last_offset))) {
            ps_clear_producers(ps);
            return WEIR_E_CORRUPT;
        }
        weir_pstate_entry *e = ps_get(ps, s->producer_id);
        if (e == NULL || (s->current_txn_first_offset >= 0 &&
                          !ps_open_add(ps, s->producer_id, s->current_txn_first_offset))) {
            ps_clear_producers(ps);
            return WEIR_E_NOMEM;
        }
        e->epoch = s->epoch;
        e->coordinator_epoch = s->coordinator_epoch;
        e->current_txn_first_offset =
            s->current_txn_first_offset < 0 ? -1 : s->current_txn_first_offset;
        e->last_timestamp = s->timestamp;
        if (s->last_offset >= 0) {
            weir_pstate_batch *b = &e->batches[0];
            b->last_seq = s->last_sequence;
            b->first_seq = s->last_sequence < 0 ? s->last_sequence
                                                : weir_seq_sub(s->last_sequence, s->offset_delta);
            b->last_offset = s->last_offset;
            b->offset_delta = s->offset_delta;
            b->timestamp = s->timestamp;
            e->n_batches = 1;
        }
    }
    return 0;
}
