/* The ledger of a flow (run_flow.h): every FlowFile the engine committed
 * into a queue, kept by the runner, outside the node's memory, so that a
 * crash cannot take it along. Fed by the engine's observer; judged at the
 * end (oracle b).
 *
 * A FlowFile is QUEUED from the first commit that puts it into a queue,
 * ENDED by a commit that ends it. When the host goes down every QUEUED one
 * is expected back: the restart's recovery must find each exactly once (in
 * the log or in a swap file the ledger saw written); what it does not find
 * is MISSING. At the end a FlowFile is accounted for when it is ENDED, or
 * has a DROP / EXPIRE event in the provenance repository (the engine does
 * not report every end to observers), or is in its queue (the write-ahead
 * log says so, or a swap file holds it). Anything else is lost; a FlowFile
 * recovered twice, alive after its end, ended twice, or a queue holding
 * more than the ledger knows, is duplicated.
 *
 * The observer hears of a commit after its write-ahead-log frame is
 * durable. A power loss while that fsync takes simulated time may leave a
 * durable frame nobody heard of: after a crash (run_ledger_crashed), a
 * FlowFile the restart recovers and the ledger never saw is such a frame's,
 * counted as unheard, not as a duplicate. Its FlowFiles that the frame
 * ended come back MISSING, ended only in provenance. Whether each such
 * frame came back whole cannot be told from the observer's events (it does
 * not say which frame a FlowFile was in).
 *
 * Entries are indexed by FlowFile id (ids are dense: one counter per
 * engine, kept in the log across restarts), 24 bytes each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "run_flow.h"

#define LEDGER_ID_MAX (1ULL << 27) /* 134 M FlowFiles: beyond, the ledger stops following */

enum { L_NONE = 0, L_QUEUED, L_ENDED, L_MISSING };
enum { L_EXPECT = 1u << 0, L_SWAPPED = 1u << 1, L_RECOVERED = 1u << 2 };

typedef struct ledger_entry {
    weir_uuid uuid;
    uint32_t conn;
    uint8_t state;
    uint8_t flags;
} ledger_entry;

typedef struct ledger_swap {
    uint64_t swap_id;
    uint32_t conn;
    bool recovered;
    uint64_t *ids;
    size_t count;
    uint64_t bytes;
} ledger_swap;

struct run_ledger {
    ledger_entry *e; /* by id */
    uint64_t cap;
    size_t conn_count;
    uint64_t *session_max;
    uint64_t *swapped_bytes;
    ledger_swap *swaps;
    size_t swap_count, swap_cap;
    /* The swap being written (told before it is durable): a crash during
     * its fsync may leave it on disk unheard of. count 0: none. */
    ledger_swap in_flight;
    uint64_t committed;
    uint64_t recovered;
    uint64_t duplicated; /* seen as they happen */
    uint64_t missing;
    uint64_t unheard;   /* recovered from frames whose commit the observer never reported */
    bool crashed;       /* the last down was a power loss: a frame may have been in flight */
    uint64_t untracked; /* ids past LEDGER_ID_MAX */
    char first[200];
};

run_ledger *run_ledger_new(size_t connection_count)
{
    run_ledger *l = calloc(1, sizeof *l);
    WEIR_ASSERT(l != NULL);
    l->conn_count = connection_count;
    l->session_max = calloc(connection_count + 1, sizeof *l->session_max);
    l->swapped_bytes = calloc(connection_count + 1, sizeof *l->swapped_bytes);
    WEIR_ASSERT(l->session_max != NULL && l->swapped_bytes != NULL);
    return l;
}

void run_ledger_free(run_ledger *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->swap_count; i++) {
        free(l->swaps[i].ids);
    }
    free(l->swaps);
    free(l->in_flight.ids);
    free(l->e);
    free(l->session_max);
    free(l->swapped_bytes);
    free(l);
}

static void ledger_note(run_ledger *l, const char *what, uint64_t id, uint32_t conn)
{
    if (l->first[0] == '\0') {
        snprintf(l->first, sizeof l->first, "FlowFile %llu (connection #%u): %s",
                 (unsigned long long)id, conn, what);
    }
}

/* The entry of id, growing the table; NULL past the limit. */
static ledger_entry *ledger_at(run_ledger *l, uint64_t id)
{
    if (id >= LEDGER_ID_MAX) {
        l->untracked++;
        return NULL;
    }
    if (id >= l->cap) {
        uint64_t cap = l->cap == 0 ? 65536 : l->cap;
        while (cap <= id) {
            cap *= 2;
        }
        ledger_entry *n = realloc(l->e, cap * sizeof *n);
        WEIR_ASSERT(n != NULL);
        memset(n + l->cap, 0, (cap - l->cap) * sizeof *n);
        l->e = n;
        l->cap = cap;
    }
    return &l->e[id];
}

void run_ledger_queued(run_ledger *l, uint32_t connection, weir_flowfile *const *ffs, size_t n)
{
    WEIR_ASSERT(connection < l->conn_count);
    if (n > l->session_max[connection]) {
        l->session_max[connection] = n;
    }
    for (size_t i = 0; i < n; i++) {
        ledger_entry *x = ledger_at(l, ffs[i]->id);
        if (x == NULL) {
            continue;
        }
        if (x->state == L_ENDED) {
            l->duplicated++;
            ledger_note(l, "queued again after its end", ffs[i]->id, connection);
        } else if (x->state == L_NONE) {
            l->committed++;
            x->uuid = ffs[i]->uuid;
        }
        x->state = L_QUEUED;
        x->conn = connection;
    }
}

void run_ledger_ended(run_ledger *l, const weir_flowfile *ff)
{
    ledger_entry *x = ledger_at(l, ff->id);
    if (x == NULL || x->state == L_NONE) {
        return; /* made and ended in one session: it never was in a queue */
    }
    if (x->state == L_ENDED) {
        l->duplicated++;
        ledger_note(l, "ended twice", ff->id, x->conn);
    }
    x->state = L_ENDED;
    x->flags = 0;
}

static ledger_swap *ledger_swap_find(run_ledger *l, uint64_t swap_id, size_t *index_out)
{
    for (size_t i = 0; i < l->swap_count; i++) {
        if (l->swaps[i].swap_id == swap_id) {
            *index_out = i;
            return &l->swaps[i];
        }
    }
    return NULL;
}

void run_ledger_swapping(run_ledger *l, uint32_t connection, uint64_t swap_id,
                         weir_flowfile *const *ffs, size_t n)
{
    WEIR_ASSERT(connection < l->conn_count);
    ledger_swap *f = &l->in_flight;
    uint64_t *ids = realloc(f->ids, (n + 1) * sizeof *ids);
    WEIR_ASSERT(ids != NULL);
    *f = (ledger_swap){.swap_id = swap_id, .conn = connection, .ids = ids, .count = n};
    for (size_t i = 0; i < n; i++) {
        f->ids[i] = ffs[i]->id;
        f->bytes += ffs[i]->size;
    }
}

void run_ledger_swapped(run_ledger *l, uint32_t connection, uint64_t swap_id,
                        weir_flowfile *const *ffs, size_t n, bool out)
{
    WEIR_ASSERT(connection < l->conn_count);
    size_t at = 0;
    ledger_swap *s = ledger_swap_find(l, swap_id, &at);
    if (out && l->in_flight.swap_id == swap_id) {
        l->in_flight.count = 0; /* heard of: no longer in flight */
    }
    if (out) {
        WEIR_ASSERT(s == NULL);
        if (l->swap_count == l->swap_cap) {
            l->swap_cap = l->swap_cap == 0 ? 16 : l->swap_cap * 2;
            l->swaps = realloc(l->swaps, l->swap_cap * sizeof *l->swaps);
            WEIR_ASSERT(l->swaps != NULL);
        }
        s = &l->swaps[l->swap_count++];
        *s = (ledger_swap){.swap_id = swap_id, .conn = connection, .recovered = true, .count = n};
        s->ids = malloc((n + 1) * sizeof *s->ids);
        WEIR_ASSERT(s->ids != NULL);
    }
    for (size_t i = 0; i < n; i++) {
        if (out) {
            s->ids[i] = ffs[i]->id;
            s->bytes += ffs[i]->size;
        }
        ledger_entry *x = ledger_at(l, ffs[i]->id);
        if (x != NULL) {
            x->flags = (uint8_t)(out ? x->flags | L_SWAPPED : x->flags & ~L_SWAPPED);
        }
    }
    if (out) {
        l->swapped_bytes[connection] += s->bytes;
    } else if (s != NULL) {
        l->swapped_bytes[s->conn] -= s->bytes;
        free(s->ids);
        l->swaps[at] = l->swaps[--l->swap_count];
    }
}

void run_ledger_crashed(run_ledger *l)
{
    run_ledger_down(l);
    l->crashed = true;
}

void run_ledger_down(run_ledger *l)
{
    l->crashed = false;
    for (uint64_t id = 0; id < l->cap; id++) {
        ledger_entry *x = &l->e[id];
        if (x->state == L_QUEUED) {
            x->flags = (uint8_t)((x->flags | L_EXPECT) & ~L_RECOVERED);
        }
    }
    for (size_t i = 0; i < l->swap_count; i++) {
        l->swaps[i].recovered = false;
    }
}

/* One FlowFile found by a restart (in the log, or in a known swap file). */
static void ledger_found(run_ledger *l, uint64_t id, uint32_t connection, const weir_uuid *uuid)
{
    ledger_entry *x = ledger_at(l, id);
    if (x == NULL) {
        return;
    }
    if ((x->flags & L_RECOVERED) != 0) {
        l->duplicated++;
        ledger_note(l, "recovered twice", id, connection);
        return;
    }
    if (x->state == L_ENDED || x->state == L_MISSING) {
        l->duplicated++;
        ledger_note(l,
                    x->state == L_ENDED ? "recovered after its end"
                                        : "recovered after a restart had missed it",
                    id, connection);
    } else if (x->state == L_NONE && l->crashed) {
        /* the observer hears of a commit once its frame is durable: a
         * power loss during that fsync may keep the frame unheard of */
        l->unheard++;
        l->committed++;
        if (uuid != NULL) {
            x->uuid = *uuid;
        }
    } else if (x->state == L_NONE) {
        /* committed in a session the ledger never heard of */
        l->duplicated++;
        ledger_note(l, "recovered, never committed", id, connection);
        l->committed++;
        if (uuid != NULL) {
            x->uuid = *uuid;
        }
    }
    l->recovered++;
    x->state = L_QUEUED;
    x->conn = connection;
    x->flags = (uint8_t)((x->flags | L_RECOVERED) & ~L_EXPECT);
}

void run_ledger_recovered(run_ledger *l, uint32_t connection, const weir_flowfile *ff)
{
    ledger_found(l, ff->id, connection, &ff->uuid);
    ledger_entry *x = ledger_at(l, ff->id);
    if (x != NULL) {
        x->flags &= (uint8_t)~L_SWAPPED;
    }
}

void run_ledger_recovered_swap(run_ledger *l, uint32_t connection, uint64_t swap_id, uint64_t count)
{
    size_t at = 0;
    ledger_swap *s = ledger_swap_find(l, swap_id, &at);
    ledger_swap *f = &l->in_flight;
    if (s == NULL && l->crashed && f->count == count && f->swap_id == swap_id &&
        f->conn == connection) {
        /* made durable by the crash during its fsync: the swap it was
         * writing, exactly */
        if (l->swap_count == l->swap_cap) {
            l->swap_cap = l->swap_cap == 0 ? 16 : l->swap_cap * 2;
            l->swaps = realloc(l->swaps, l->swap_cap * sizeof *l->swaps);
            WEIR_ASSERT(l->swaps != NULL);
        }
        s = &l->swaps[l->swap_count++];
        *s = *f;
        *f = (ledger_swap){0};
        l->swapped_bytes[connection] += s->bytes;
        for (size_t i = 0; i < s->count; i++) {
            ledger_entry *x = ledger_at(l, s->ids[i]);
            if (x != NULL) {
                x->flags |= L_SWAPPED;
            }
        }
    }
    if (s == NULL || s->count != count) {
        l->duplicated += count;
        ledger_note(l, "in a swap file the ledger did not see written", 0, connection);
        return;
    }
    s->recovered = true;
    for (size_t i = 0; i < s->count; i++) {
        ledger_found(l, s->ids[i], connection, NULL);
    }
}

uint64_t run_ledger_unheard(const run_ledger *l)
{
    return l->unheard;
}

uint64_t run_ledger_missing(const run_ledger *l)
{
    return l->missing;
}

void run_ledger_restarted(run_ledger *l)
{
    l->crashed = false;
    for (uint64_t id = 0; id < l->cap; id++) {
        ledger_entry *x = &l->e[id];
        if ((x->flags & L_EXPECT) != 0) {
            x->state = L_MISSING;
            x->flags = 0;
            l->missing++;
        }
        x->flags &= (uint8_t)~L_RECOVERED;
    }
    /* swap files the restart did not find are gone; their FlowFiles are missing above */
    size_t keep = 0;
    for (size_t i = 0; i < l->swap_count; i++) {
        if (l->swaps[i].recovered) {
            l->swaps[keep++] = l->swaps[i];
        } else {
            l->swapped_bytes[l->swaps[i].conn] -= l->swaps[i].bytes;
            free(l->swaps[i].ids);
        }
    }
    l->swap_count = keep;
}

uint64_t run_ledger_swapped_bytes(const run_ledger *l, uint32_t connection)
{
    return connection < l->conn_count ? l->swapped_bytes[connection] : 0;
}

uint64_t run_ledger_session_max(const run_ledger *l, uint32_t connection)
{
    return connection < l->conn_count ? l->session_max[connection] : 0;
}

/* ---- the verdict ---- */

static int uuid_cmp(const weir_uuid *a, const weir_uuid *b)
{
    return memcmp(a->b, b->b, sizeof a->b);
}

/* How many provenance ends name uuid. */
static size_t ends_of(const run_ends *ends, const weir_uuid *uuid)
{
    size_t lo = 0, hi = ends->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (uuid_cmp(&ends->uuids[mid], uuid) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t n = 0;
    while (lo + n < ends->count && uuid_cmp(&ends->uuids[lo + n], uuid) == 0) {
        n++;
    }
    return n;
}

/* One entry at the end: ended, queued (counted in by_conn), lost or duplicated. */
static void judge_entry(run_ledger *l, uint64_t id, const ledger_entry *x, const run_ends *ends,
                        run_live_fn live, void *live_arg, uint64_t *by_conn, run_ledger_verdict *v)
{
    size_t n_ends = ends_of(ends, &x->uuid);
    if (n_ends > 1) {
        v->duplicated++;
        ledger_note(l, "ended twice in provenance", id, x->conn);
    }
    if (x->state == L_ENDED) {
        v->ended++;
        return;
    }
    bool in_queue;
    if (live != NULL && x->state == L_QUEUED) {
        uint32_t c = 0;
        in_queue = (x->flags & L_SWAPPED) != 0 || (live(live_arg, id, &c) && c == x->conn);
    } else {
        in_queue = x->state == L_QUEUED && n_ends == 0;
    }
    if (in_queue && n_ends > 0) {
        v->duplicated++;
        ledger_note(l, "in a queue after its end", id, x->conn);
    }
    if (in_queue) {
        v->queued++;
        by_conn[x->conn]++;
    } else if (n_ends > 0) {
        v->ended++;
    } else {
        v->lost++;
        ledger_note(l,
                    x->state == L_MISSING ? "not recovered by a restart, and no end recorded"
                                          : "not in its queue, and no end recorded",
                    id, x->conn);
    }
}

void run_ledger_judge(run_ledger *l, const run_ends *ends, const uint64_t *queued,
                      uint64_t in_flight, run_live_fn live, void *live_arg, run_ledger_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->committed = l->committed;
    out->recovered = l->recovered;
    out->unheard = l->unheard;
    out->duplicated = l->duplicated;
    out->lost = l->untracked;
    uint64_t *by_conn = calloc(l->conn_count + 1, sizeof *by_conn);
    WEIR_ASSERT(by_conn != NULL);
    for (uint64_t id = 0; id < l->cap; id++) {
        if (l->e[id].state != L_NONE) {
            judge_entry(l, id, &l->e[id], ends, queued != NULL ? live : NULL, live_arg, by_conn,
                        out);
        }
    }
    if (queued != NULL) {
        /* the queues hold what the ledger says, no more, no less (open
         * sessions hold some: then only the totals can be compared) */
        uint64_t engine = in_flight, ledger = 0;
        for (size_t c = 0; c < l->conn_count; c++) {
            engine += queued[c];
            ledger += by_conn[c];
            if (in_flight == 0 && queued[c] > by_conn[c]) {
                out->duplicated += queued[c] - by_conn[c];
                ledger_note(l, "its queue holds more than the ledger knows", 0, (uint32_t)c);
            } else if (in_flight == 0 && queued[c] < by_conn[c]) {
                out->lost += by_conn[c] - queued[c];
                ledger_note(l, "its queue holds less than the ledger knows", 0, (uint32_t)c);
            }
        }
        if (in_flight > 0 && engine != ledger) {
            *(engine > ledger ? &out->duplicated : &out->lost) +=
                engine > ledger ? engine - ledger : ledger - engine;
            ledger_note(l, "the queues and open sessions disagree with the ledger", 0, 0);
        }
    }
    snprintf(out->first, sizeof out->first, "%s", l->first);
    free(by_conn);
}
