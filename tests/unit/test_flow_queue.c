/* Connection queues and prioritizers (impl/flow/queue.h, prioritizer.h):
 * each prioritizer's order with its ties, changes while running, penalties,
 * expiration, back-pressure thresholds on both sides of the boundary, swap
 * with bounded resident FlowFiles, rollback requeue, and a throughput figure.
 *
 * FlowFiles here are bare structs (no env, no content): the queue reads only
 * dates, size, penalty and the "priority" attribute. The swap store below
 * keeps what a swap file would (the fields the queue cares about) in memory
 * and rebuilds FlowFiles from it, so swapped FlowFiles really leave memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/prng.h"
#include "flow/flowfile.h"
#include "flow/prioritizer.h"
#include "flow/queue.h"

#define MS 1000000LL /* ns */

static weir_flowfile *ff_new(uint64_t id, uint64_t size, int64_t lineage_ns, int64_t entry_ns)
{
    weir_flowfile *ff = calloc(1, sizeof(*ff));
    assert_non_null(ff);
    ff->id = id;
    ff->size = size;
    ff->lineage_start_ns = lineage_ns;
    ff->entry_date_ns = entry_ns;
    return ff;
}

static weir_flowfile *ff_prio(uint64_t id, const char *priority)
{
    weir_flowfile *ff = ff_new(id, 1, 0, 0);
    if (priority != NULL) {
        assert_int_equal(weir_flowfile_attr_set(ff, WEIR_PRIO_ATTRIBUTE, priority), 0);
    }
    return ff;
}

static weir_flow_queue *queue_with(const weir_flow_prioritizer *kinds, size_t count,
                                   const weir_flow_queue_hooks *hooks)
{
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    assert_int_equal(weir_prioritizers_set(&c.prioritizers, kinds, count), 0);
    int err = -1;
    weir_flow_queue *q = weir_flow_queue_new(&c, hooks, &err);
    assert_non_null(q);
    assert_int_equal(err, 0);
    return q;
}

/* Polls everything ready at now_ns; writes the ids into ids (cap n), frees
 * the FlowFiles, returns how many. */
static size_t drain_ids(weir_flow_queue *q, int64_t now_ns, uint64_t *ids, size_t n)
{
    size_t got = 0;
    for (;;) {
        weir_flowfile *ff = NULL;
        assert_int_equal(weir_flow_queue_poll(q, now_ns, &ff), 0);
        if (ff == NULL) {
            break;
        }
        assert_true(got < n);
        ids[got++] = ff->id;
        weir_flowfile_free(ff);
    }
    assert_int_equal(weir_flow_queue_check(q), 0);
    return got;
}

static void assert_ids(const uint64_t *got, size_t got_n, const uint64_t *want, size_t want_n)
{
    assert_int_equal(got_n, want_n);
    for (size_t i = 0; i < want_n; i++) {
        if (got[i] != want[i]) {
            fail_msg("position %zu: got id %llu, want %llu", i, (unsigned long long)got[i],
                     (unsigned long long)want[i]);
        }
    }
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- an in-memory swap store ---- */

typedef struct swap_rec {
    uint64_t id, size, queue_index;
    int64_t queue_date_ns, entry_ns, lineage_ns, penalty_ns;
} swap_rec;

typedef struct swap_store {
    swap_rec **files; /* NULL once read back */
    size_t *counts;
    size_t file_count;
    size_t cap;
    int fail_out; /* fail the next n swap_out calls */
    int fail_in;  /* fail the next n swap_in calls */
    uint64_t outs, ins;
} swap_store;

static int store_swap_out(void *arg, weir_flowfile *const *ffs, size_t count, uint64_t *loc_out)
{
    swap_store *s = arg;
    if (s->fail_out > 0) {
        s->fail_out--;
        return WEIR_E_NOSPC;
    }
    if (s->file_count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->files = realloc(s->files, s->cap * sizeof(*s->files));
        s->counts = realloc(s->counts, s->cap * sizeof(*s->counts));
        assert_non_null(s->files);
        assert_non_null(s->counts);
    }
    swap_rec *recs = malloc(count * sizeof(*recs));
    assert_non_null(recs);
    for (size_t i = 0; i < count; i++) {
        recs[i] = (swap_rec){ffs[i]->id,
                             ffs[i]->size,
                             ffs[i]->queue_index,
                             ffs[i]->queue_date_ns,
                             ffs[i]->entry_date_ns,
                             ffs[i]->lineage_start_ns,
                             ffs[i]->penalty_expiry_ns};
    }
    s->files[s->file_count] = recs;
    s->counts[s->file_count] = count;
    *loc_out = s->file_count++;
    s->outs++;
    return 0;
}

static int store_swap_in(void *arg, uint64_t loc, weir_flowfile **ffs_out, size_t count)
{
    swap_store *s = arg;
    if (s->fail_in > 0) {
        s->fail_in--;
        return WEIR_E_IO;
    }
    assert_true(loc < s->file_count);
    assert_non_null(s->files[loc]);
    assert_int_equal(s->counts[loc], count);
    for (size_t i = 0; i < count; i++) {
        const swap_rec *r = &s->files[loc][i];
        weir_flowfile *ff = ff_new(r->id, r->size, r->lineage_ns, r->entry_ns);
        ff->queue_index = r->queue_index;
        ff->queue_date_ns = r->queue_date_ns;
        ff->penalty_expiry_ns = r->penalty_ns;
        ffs_out[i] = ff;
    }
    free(s->files[loc]);
    s->files[loc] = NULL;
    s->ins++;
    return 0;
}

static void store_free(swap_store *s)
{
    for (size_t i = 0; i < s->file_count; i++) {
        free(s->files[i]);
    }
    free(s->files);
    free(s->counts);
}

static weir_flow_queue_hooks store_hooks(swap_store *s)
{
    return (weir_flow_queue_hooks){.swap_out = store_swap_out, .swap_in = store_swap_in, .arg = s};
}

/* ---- prioritizers ---- */

static void test_prio_classify_numbers_strings_and_missing(void **state)
{
    (void)state;
    int64_t n = 0;
    assert_int_equal(weir_prio_classify(NULL, &n), WEIR_PRIO_MISSING);
    assert_int_equal(weir_prio_classify("42", &n), WEIR_PRIO_NUMBER);
    assert_int_equal(n, 42);
    assert_int_equal(weir_prio_classify(" -7\t", &n), WEIR_PRIO_NUMBER); /* trimmed */
    assert_int_equal(n, -7);
    assert_int_equal(weir_prio_classify("-9223372036854775808", &n), WEIR_PRIO_NUMBER);
    assert_true(n == INT64_MIN);
    assert_int_equal(weir_prio_classify("9223372036854775807", &n), WEIR_PRIO_NUMBER);
    assert_true(n == INT64_MAX);
    /* overflow: Long.parseLong throws, NiFi treats it as a string */
    assert_int_equal(weir_prio_classify("9223372036854775808", &n), WEIR_PRIO_STRING);
    assert_int_equal(weir_prio_classify("+5", &n), WEIR_PRIO_STRING); /* "-?\d+" has no '+' */
    assert_int_equal(weir_prio_classify("-", &n), WEIR_PRIO_STRING);
    assert_int_equal(weir_prio_classify("", &n), WEIR_PRIO_STRING);
    assert_int_equal(weir_prio_classify("1.5", &n), WEIR_PRIO_STRING);
    assert_int_equal(weir_prio_classify("A-99", &n), WEIR_PRIO_STRING);
}

static void test_prioritizers_set_rejects_bad_chains(void **state)
{
    (void)state;
    weir_prioritizers p;
    weir_flow_prioritizer five[5] = {0};
    assert_int_equal(weir_prioritizers_set(&p, five, 5), WEIR_E_INVAL);
    weir_flow_prioritizer bad[1] = {WEIR_FLOW_PRIORITIZERS_};
    assert_int_equal(weir_prioritizers_set(&p, bad, 1), WEIR_E_INVAL);
    weir_flow_prioritizer two[2] = {WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE, WEIR_FLOW_PRIO_NEWEST_FIRST};
    assert_int_equal(weir_prioritizers_set(&p, two, 2), 0);
    char buf[64];
    weir_prioritizers_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "priority_attribute,newest_first");
}

static void test_queue_fifo_orders_by_queue_date_then_index(void **state)
{
    (void)state;
    weir_flow_prioritizer fifo = WEIR_FLOW_PRIO_FIFO;
    weir_flow_queue *q = queue_with(&fifo, 1, NULL);
    /* ids 1..3 at t=10 (tie on date: index decides), 4 at t=20, 5 at t=20 */
    for (uint64_t id = 1; id <= 5; id++) {
        int64_t t = id <= 3 ? 10 * MS : 20 * MS;
        /* lineage backwards, to show FIFO ignores it */
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 100 - (int64_t)id, 0), t), 0);
    }
    uint64_t got[8];
    const uint64_t want[] = {1, 2, 3, 4, 5};
    assert_ids(got, drain_ids(q, 30 * MS, got, 8), want, 5);
    weir_flow_queue_free(q);
}

static void test_queue_oldest_first_orders_by_lineage_ties_by_fifo(void **state)
{
    (void)state;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_OLDEST_FIRST;
    weir_flow_queue *q = queue_with(&k, 1, NULL);
    const int64_t lineage[] = {50, 10, 30, 10, 20}; /* ids 1..5; 2 and 4 tie */
    for (uint64_t id = 1; id <= 5; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, lineage[id - 1], 0), 1 * MS), 0);
    }
    uint64_t got[8];
    const uint64_t want[] = {2, 4, 5, 3, 1};
    assert_ids(got, drain_ids(q, 2 * MS, got, 8), want, 5);
    weir_flow_queue_free(q);
}

static void test_queue_newest_first_orders_by_lineage_desc_ties_by_fifo(void **state)
{
    (void)state;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_NEWEST_FIRST;
    weir_flow_queue *q = queue_with(&k, 1, NULL);
    const int64_t lineage[] = {50, 10, 30, 50, 20}; /* ids 1 and 4 tie */
    for (uint64_t id = 1; id <= 5; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, lineage[id - 1], 0), 1 * MS), 0);
    }
    uint64_t got[8];
    const uint64_t want[] = {1, 4, 3, 5, 2};
    assert_ids(got, drain_ids(q, 2 * MS, got, 8), want, 5);
    weir_flow_queue_free(q);
}

static void test_queue_priority_attribute_numbers_then_strings_then_missing(void **state)
{
    (void)state;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE;
    weir_flow_queue *q = queue_with(&k, 1, NULL);
    const char *prio[] = {
        NULL,                   /* 1: missing, last (ties with 9 by FIFO) */
        "A-99",                 /* 2: string */
        "10",                   /* 3 */
        "A-100",                /* 4: before "A-99" in code point order */
        "-5",                   /* 5: lowest number */
        "2",                    /* 6 */
        "B",                    /* 7 */
        "2",                    /* 8: ties with 6, FIFO */
        NULL,                   /* 9 */
        "99999999999999999999", /* 10: overflows int64: a string, "9" > "B" */
    };
    for (uint64_t id = 1; id <= 10; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_prio(id, prio[id - 1]), 1 * MS), 0);
    }
    uint64_t got[16];
    const uint64_t want[] = {5, 6, 8, 3, 10, 4, 2, 7, 1, 9};
    /* strings: "99999999999999999999" < "A-100" < "A-99" < "B" (byte order) */
    assert_ids(got, drain_ids(q, 2 * MS, got, 16), want, 10);
    weir_flow_queue_free(q);
}

static void test_queue_chain_later_prioritizer_breaks_ties(void **state)
{
    (void)state;
    weir_flow_prioritizer chain[2] = {WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE,
                                      WEIR_FLOW_PRIO_NEWEST_FIRST};
    weir_flow_queue *q = queue_with(chain, 2, NULL);
    /* id: priority, lineage */
    struct {
        const char *p;
        int64_t lineage;
    } in[] = {{"1", 10}, {"1", 30}, {"0", 5}, {"1", 20}, {"1", 30}};
    for (uint64_t id = 1; id <= 5; id++) {
        weir_flowfile *ff = ff_prio(id, in[id - 1].p);
        ff->lineage_start_ns = in[id - 1].lineage;
        assert_int_equal(weir_flow_queue_offer(q, ff, 1 * MS), 0);
    }
    uint64_t got[8];
    const uint64_t want[] = {3, 2, 5, 4, 1}; /* 2 and 5 tie on both: FIFO */
    assert_ids(got, drain_ids(q, 2 * MS, got, 8), want, 5);
    weir_flow_queue_free(q);
}

static void test_queue_prioritizer_change_while_running_resorts(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL); /* no chain: FIFO */
    const int64_t lineage[] = {40, 10, 30, 20, 50, 60};
    for (uint64_t id = 1; id <= 6; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, lineage[id - 1], 0), 1 * MS), 0);
    }
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 2 * MS, &ff), 0);
    assert_int_equal(ff->id, 1); /* FIFO so far */
    weir_flowfile_free(ff);

    weir_prioritizers p;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_OLDEST_FIRST;
    assert_int_equal(weir_prioritizers_set(&p, &k, 1), 0);
    assert_int_equal(weir_flow_queue_set_prioritizers(q, &p), 0);
    assert_int_equal(weir_flow_queue_check(q), 0);
    /* a new one after the change is sorted in with the rest */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(7, 1, 15, 0), 3 * MS), 0);
    assert_int_equal(weir_flow_queue_poll(q, 4 * MS, &ff), 0);
    assert_int_equal(ff->id, 2);
    weir_flowfile_free(ff);

    k = WEIR_FLOW_PRIO_NEWEST_FIRST;
    assert_int_equal(weir_prioritizers_set(&p, &k, 1), 0);
    assert_int_equal(weir_flow_queue_set_prioritizers(q, &p), 0);
    uint64_t got[8];
    const uint64_t want[] = {6, 5, 3, 4, 7};
    assert_ids(got, drain_ids(q, 5 * MS, got, 8), want, 5);

    p.count = 5; /* invalid: nothing changes */
    assert_int_equal(weir_flow_queue_set_prioritizers(q, &p), WEIR_E_INVAL);
    assert_int_equal(weir_flow_queue_config_get(q)->prioritizers.kinds[0],
                     WEIR_FLOW_PRIO_NEWEST_FIRST);
    weir_flow_queue_free(q);
}

/* ---- penalties and expiration ---- */

static void test_queue_penalized_skipped_until_expiry_reported(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL);
    weir_flowfile *a = ff_new(1, 1, 0, 0);
    a->penalty_expiry_ns = 500 * MS;
    weir_flowfile *b = ff_new(2, 1, 0, 0);
    b->penalty_expiry_ns = 300 * MS;
    assert_int_equal(weir_flow_queue_offer(q, a, 100 * MS), 0);
    assert_int_equal(weir_flow_queue_offer(q, b, 100 * MS), 0);
    assert_int_equal(weir_flow_queue_offer(q, ff_new(3, 1, 0, 0), 100 * MS), 0);

    int64_t next = 0;
    assert_true(weir_flow_queue_penalty_expiry_next(q, &next));
    assert_true(next == 300 * MS);
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 200 * MS, &ff), 0);
    assert_int_equal(ff->id, 3); /* 1 and 2 are skipped, not blocking */
    weir_flowfile_free(ff);
    assert_int_equal(weir_flow_queue_poll(q, 200 * MS, &ff), 0);
    assert_null(ff);
    assert_false(weir_flow_queue_has_ready(q, 299 * MS));
    assert_true(weir_flow_queue_has_ready(q, 300 * MS));
    assert_int_equal(weir_flow_queue_count(q), 2); /* penalized ones still count */

    /* exactly at its expiry a FlowFile is no longer penalized (NiFi: expiry > now) */
    assert_int_equal(weir_flow_queue_poll(q, 300 * MS, &ff), 0);
    assert_non_null(ff);
    assert_int_equal(ff->id, 2);
    weir_flowfile_free(ff);
    assert_true(weir_flow_queue_penalty_expiry_next(q, &next));
    assert_true(next == 500 * MS);
    assert_int_equal(weir_flow_queue_poll(q, 499 * MS, &ff), 0);
    assert_null(ff);
    assert_int_equal(weir_flow_queue_poll(q, 600 * MS, &ff), 0);
    assert_int_equal(ff->id, 1);
    weir_flowfile_free(ff);
    assert_false(weir_flow_queue_penalty_expiry_next(q, &next));
    assert_int_equal(weir_flow_queue_check(q), 0);
    weir_flow_queue_free(q);
}

typedef struct expired_log {
    uint64_t ids[16];
    size_t n;
} expired_log;

static void on_expired(void *arg, weir_flowfile *ff)
{
    expired_log *log = arg;
    assert_true(log->n < 16);
    log->ids[log->n++] = ff->id;
    weir_flowfile_free(ff);
}

static void test_queue_expired_removed_on_poll_and_reported(void **state)
{
    (void)state;
    expired_log log = {0};
    weir_flow_queue_hooks hooks = {.on_expired = on_expired, .arg = &log};
    weir_flow_queue *q = queue_with(NULL, 0, &hooks);
    assert_int_equal(weir_flow_queue_set_expiration(q, 1000 * MS), 0);
    /* entered the flow at 0, 100, 500 ms; age counts from entry, not queueing */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(1, 10, 0, 0), 900 * MS), 0);
    assert_int_equal(weir_flow_queue_offer(q, ff_new(2, 20, 0, 100 * MS), 900 * MS), 0);
    assert_int_equal(weir_flow_queue_offer(q, ff_new(3, 30, 0, 500 * MS), 900 * MS), 0);

    const weir_flowfile *head = NULL;
    /* at 1000 ms id 1 is exactly 1000 ms old: not expired (age must exceed) */
    assert_int_equal(weir_flow_queue_peek(q, 1000 * MS, &head), 0);
    assert_int_equal(head->id, 1);
    assert_int_equal(log.n, 0);
    /* at 1100 ms + 1 ns: 1 and 2 are older than 1000 ms */
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 1100 * MS + 1, &ff), 0);
    assert_int_equal(ff->id, 3);
    weir_flowfile_free(ff);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(log.ids[1], 2);
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.expired_count, 2);
    assert_int_equal(st.expired_bytes, 30);
    assert_int_equal(st.out_count, 1);
    assert_int_equal(st.count, 0);
    assert_int_equal(weir_flow_queue_set_expiration(q, -1), WEIR_E_INVAL);
    assert_int_equal(weir_flow_queue_check(q), 0);
    weir_flow_queue_free(q);
}

/* ---- back pressure ---- */

static void test_queue_full_exactly_at_object_threshold(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL);
    weir_flow_queue_set_thresholds(q, 5, 0); /* 0: no size threshold */
    for (uint64_t id = 1; id <= 4; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1ULL << 40, 0, 0), 0), 0);
    }
    assert_false(weir_flow_queue_is_full(q)); /* threshold - 1 */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(5, 1, 0, 0), 0), 0);
    assert_true(weir_flow_queue_is_full(q)); /* count == threshold */
    /* soft limit: a session may overshoot */
    for (uint64_t id = 6; id <= 9; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    assert_int_equal(weir_flow_queue_count(q), 9);
    assert_true(weir_flow_queue_is_full(q));
    /* draining back to threshold - 1 frees it */
    weir_flowfile *ffs[8];
    size_t n = 0;
    assert_int_equal(weir_flow_queue_poll_batch(q, 1, ffs, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_true(weir_flow_queue_is_full(q)); /* 5 left */
    for (size_t i = 0; i < n; i++) {
        weir_flowfile_free(ffs[i]);
    }
    assert_int_equal(weir_flow_queue_poll_batch(q, 1, ffs, 1, &n), 0);
    weir_flowfile_free(ffs[0]);
    assert_false(weir_flow_queue_is_full(q)); /* 4 left */
    /* a threshold change is passive and takes effect at once for is_full */
    weir_flow_queue_set_thresholds(q, 4, 0);
    assert_true(weir_flow_queue_is_full(q));
    weir_flow_queue_set_thresholds(q, 0, 0); /* both disabled */
    assert_false(weir_flow_queue_is_full(q));
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.count_peak, 9);
    assert_int_equal(st.in_count, 9);
    assert_int_equal(st.out_count, 5);
    weir_flow_queue_free(q);
}

static void test_queue_full_exactly_at_size_threshold(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL); /* default: 10,000 objects, 1 GiB */
    const weir_flow_queue_config *c = weir_flow_queue_config_get(q);
    assert_int_equal(c->object_threshold, 10000);
    assert_int_equal(c->size_threshold_bytes, 1ULL << 30);
    assert_int_equal(c->swap_threshold, 20000);
    assert_int_equal(c->swap_batch_count, 10000);
    const uint64_t half = 1ULL << 29;
    assert_int_equal(weir_flow_queue_offer(q, ff_new(1, half, 0, 0), 0), 0);
    assert_int_equal(weir_flow_queue_offer(q, ff_new(2, half - 1, 0, 0), 0), 0);
    assert_false(weir_flow_queue_is_full(q)); /* 1 GiB - 1 byte */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(3, 1, 0, 0), 0), 0);
    assert_true(weir_flow_queue_is_full(q)); /* exactly 1 GiB */
    assert_int_equal(weir_flow_queue_bytes(q), 1ULL << 30);
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 0, &ff), 0);
    weir_flowfile_free(ff);
    assert_false(weir_flow_queue_is_full(q));
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.bytes_peak, 1ULL << 30);
    weir_flow_queue_free(q);
}

/* ---- polling ---- */

static void test_queue_poll_batch_and_peek(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL);
    weir_flowfile *ffs[8];
    size_t n = 99;
    assert_int_equal(weir_flow_queue_poll_batch(q, 0, ffs, 8, &n), 0);
    assert_int_equal(n, 0);
    const weir_flowfile *head = (const weir_flowfile *)1;
    assert_int_equal(weir_flow_queue_peek(q, 0, &head), 0);
    assert_null(head);
    assert_true(weir_flow_queue_is_empty(q));
    for (uint64_t id = 1; id <= 5; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    assert_int_equal(weir_flow_queue_peek(q, 0, &head), 0);
    assert_int_equal(head->id, 1);
    assert_int_equal(weir_flow_queue_count(q), 5); /* peek takes nothing */
    assert_int_equal(weir_flow_queue_poll_batch(q, 0, ffs, 3, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ffs[i]->id, i + 1);
        weir_flowfile_free(ffs[i]);
    }
    assert_int_equal(weir_flow_queue_poll_batch(q, 0, ffs, 8, &n), 0);
    assert_int_equal(n, 2); /* fewer than asked */
    assert_int_equal(ffs[0]->id, 4);
    assert_int_equal(ffs[1]->id, 5);
    weir_flowfile_free(ffs[0]);
    weir_flowfile_free(ffs[1]);
    assert_true(weir_flow_queue_is_empty(q));
    weir_flow_queue_free(q);
}

static void test_queue_requeue_restores_original_order(void **state)
{
    (void)state;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE;
    weir_flow_queue *q = queue_with(&k, 1, NULL);
    const char *prio[] = {"3", "1", NULL, "2", "1", "x", "0", NULL};
    for (uint64_t id = 1; id <= 8; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_prio(id, prio[id - 1]), (int64_t)id), 0);
    }
    /* order: 7(0) 2(1) 5(1) 4(2) 1(3) 6(x) 3 8 */
    weir_flowfile *taken[4];
    size_t n = 0;
    assert_int_equal(weir_flow_queue_poll_batch(q, 100, taken, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(taken[0]->id, 7);
    assert_int_equal(taken[3]->id, 4);
    /* meanwhile more arrive, one of them ahead of the taken ones */
    assert_int_equal(weir_flow_queue_offer(q, ff_prio(9, "1"), 200), 0);
    /* rollback, in scrambled order */
    weir_flowfile *back[4] = {taken[2], taken[0], taken[3], taken[1]};
    size_t taken_n = 0;
    assert_int_equal(weir_flow_queue_requeue(q, back, 4, &taken_n), 0);
    assert_int_equal(taken_n, 4);
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.out_count, 0); /* the rollback left no trace */
    assert_int_equal(st.in_count, 9);
    assert_int_equal(st.count, 9);
    uint64_t got[16];
    const uint64_t want[] = {7, 2, 5, 9, 4, 1, 6, 3, 8};
    assert_ids(got, drain_ids(q, 300, got, 16), want, 9);
    weir_flow_queue_free(q);
}

static void test_queue_requeue_keeps_penalty_of_rolled_back_flowfile(void **state)
{
    (void)state;
    weir_flow_queue *q = queue_with(NULL, 0, NULL);
    for (uint64_t id = 1; id <= 3; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 10 * MS), 0);
    }
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 20 * MS, &ff), 0);
    assert_int_equal(ff->id, 1);
    ff->penalty_expiry_ns = 50 * MS; /* the session penalized it, then rolled back */
    assert_int_equal(weir_flow_queue_requeue(q, &ff, 1, NULL), 0);
    uint64_t got[4];
    const uint64_t first[] = {2, 3};
    assert_ids(got, drain_ids(q, 30 * MS, got, 4), first, 2);
    const uint64_t later[] = {1};
    assert_ids(got, drain_ids(q, 50 * MS, got, 4), later, 1);
    weir_flow_queue_free(q);
}

/* ---- swap ---- */

static void test_queue_million_swapped_bounded_resident_in_order(void **state)
{
    (void)state;
    swap_store store = {0};
    weir_flow_queue_hooks hooks = store_hooks(&store);
    weir_flow_queue *q = queue_with(NULL, 0, &hooks);
    const uint64_t total = 1000000;
    int64_t t = 0;
    double start = seconds_now();
    for (uint64_t id = 1; id <= total; id++) {
        if (id % 1000 == 0) {
            t += MS; /* many equal queue dates: the index orders them */
        }
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 100, 0, t), t), 0);
    }
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.count, total);
    assert_int_equal(st.bytes, total * 100);
    assert_true(weir_flow_queue_is_full(q)); /* swapped FlowFiles count */
    assert_int_equal(st.active_count, 20000);
    assert_int_equal(st.swapped_count + st.swap_queue_count + st.active_count, total);
    assert_int_equal(st.swap_file_count, (total - 20000) / 10000);
    assert_true(st.resident_count <= 30000);
    assert_int_equal(weir_flow_queue_check(q), 0);

    uint64_t want = 1;
    weir_flowfile *batch[256];
    for (;;) {
        size_t n = 0;
        assert_int_equal(weir_flow_queue_poll_batch(q, t, batch, 256, &n), 0);
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (batch[i]->id != want) {
                fail_msg("got id %llu, want %llu", (unsigned long long)batch[i]->id,
                         (unsigned long long)want);
            }
            want++;
            weir_flowfile_free(batch[i]);
        }
        if (want % 100000 == 1) {
            weir_flow_queue_stats_get(q, &st);
            assert_true(st.resident_count <= 30000);
        }
    }
    assert_int_equal(want, total + 1);
    double took = seconds_now() - start;
    weir_flow_queue_stats_get(q, &st);
    print_message("swap: %llu FlowFiles offered and polled in %.3f s (%.2f M/s, FlowFile "
                  "allocation and the in-memory swap store included), peak resident %llu, "
                  "%llu swap files written, %llu read\n",
                  (unsigned long long)total, took, (double)total / took / 1e6,
                  (unsigned long long)st.resident_count_peak, (unsigned long long)st.swap_out_count,
                  (unsigned long long)st.swap_in_count);
    assert_true(st.resident_count_peak <= 30000);
    assert_true(st.resident_count_peak >= 20000);
    assert_int_equal(st.swap_out_count, st.swap_in_count);
    assert_int_equal(st.swap_out_count, store.outs);
    assert_int_equal(st.count, 0);
    assert_int_equal(st.count_peak, total);
    assert_int_equal(st.out_count, total);
    assert_int_equal(st.swap_errors, 0);
    assert_int_equal(weir_flow_queue_check(q), 0);
    weir_flow_queue_free(q);
    store_free(&store);
}

static void test_queue_swap_tail_moves_in_without_disk_when_active_drains(void **state)
{
    (void)state;
    swap_store store = {0};
    weir_flow_queue_hooks hooks = store_hooks(&store);
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    c.swap_threshold = 10;
    c.swap_batch_count = 4;
    weir_flow_queue *q = weir_flow_queue_new(&c, &hooks, NULL);
    assert_non_null(q);
    for (uint64_t id = 1; id <= 13; id++) { /* 10 active, 3 in the swap queue */
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.swap_queue_count, 3);
    assert_int_equal(st.swap_file_count, 0);
    uint64_t got[16];
    uint64_t want[13];
    for (uint64_t i = 0; i < 13; i++) {
        want[i] = i + 1;
    }
    assert_ids(got, drain_ids(q, 0, got, 16), want, 13);
    assert_int_equal(store.outs, 0); /* never written: moved straight in */
    /* swap mode ended: the next offer goes to active */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(14, 1, 0, 0), 0), 0);
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.active_count, 1);
    weir_flow_queue_free(q);
    store_free(&store);
}

static void test_queue_swap_out_failure_keeps_flowfiles_and_retries(void **state)
{
    (void)state;
    swap_store store = {.fail_out = 1};
    weir_flow_queue_hooks hooks = store_hooks(&store);
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    c.swap_threshold = 8;
    c.swap_batch_count = 4;
    weir_flow_queue *q = weir_flow_queue_new(&c, &hooks, NULL);
    assert_non_null(q);
    for (uint64_t id = 1; id <= 12; id++) { /* 8 active; the 4th swap-queued fails to write */
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.swap_errors, 1);
    assert_int_equal(st.swap_error_last, WEIR_E_NOSPC);
    assert_int_equal(st.swap_queue_count, 4); /* kept, resident */
    assert_int_equal(st.swap_file_count, 0);
    for (uint64_t id = 13; id <= 16; id++) { /* next full batch: retried, 2 written */
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.swap_file_count, 2);
    assert_int_equal(st.swap_queue_count, 0);
    assert_int_equal(weir_flow_queue_check(q), 0);
    uint64_t got[32];
    uint64_t want[16];
    for (uint64_t i = 0; i < 16; i++) {
        want[i] = i + 1;
    }
    assert_ids(got, drain_ids(q, 0, got, 32), want, 16);
    weir_flow_queue_free(q);
    store_free(&store);
}

static void test_queue_swap_in_failure_reported_then_retried(void **state)
{
    (void)state;
    swap_store store = {0};
    weir_flow_queue_hooks hooks = store_hooks(&store);
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    c.swap_threshold = 4;
    c.swap_batch_count = 4;
    weir_flow_queue *q = weir_flow_queue_new(&c, &hooks, NULL);
    assert_non_null(q);
    for (uint64_t id = 1; id <= 8; id++) { /* 4 active, 4 swapped */
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 1, 0, 0), 0), 0);
    }
    uint64_t got[8];
    const uint64_t first[] = {1, 2, 3, 4};
    store.fail_in = 2;
    /* active drains; the swap-ins at the empty queue fail: the batch poll
     * returns what it had, the next poll the error; nothing is lost */
    weir_flowfile *ffs[8];
    size_t n = 0;
    assert_int_equal(weir_flow_queue_poll_batch(q, 0, ffs, 8, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        got[i] = ffs[i]->id;
        weir_flowfile_free(ffs[i]);
    }
    assert_ids(got, n, first, 4);
    weir_flowfile *ff = NULL;
    assert_int_equal(weir_flow_queue_poll(q, 0, &ff), WEIR_E_IO);
    assert_null(ff);
    assert_int_equal(weir_flow_queue_count(q), 4);
    assert_true(weir_flow_queue_has_ready(q, 0));
    const uint64_t rest[] = {5, 6, 7, 8};
    assert_ids(got, drain_ids(q, 0, got, 8), rest, 4);
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.swap_errors, 2);
    assert_int_equal(st.swap_error_last, WEIR_E_IO);
    weir_flow_queue_free(q);
    store_free(&store);
}

static void test_queue_restore_after_restart_keeps_positions(void **state)
{
    (void)state;
    swap_store store = {0};
    weir_flow_queue_hooks hooks = store_hooks(&store);
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    c.swap_threshold = 4;
    c.swap_batch_count = 2;
    /* before the "crash": 1-4 active, 5-6 swapped to file 0, 7 in the swap queue */
    weir_flow_queue *q = weir_flow_queue_new(&c, &hooks, NULL);
    assert_non_null(q);
    for (uint64_t id = 1; id <= 7; id++) {
        assert_int_equal(weir_flow_queue_offer(q, ff_new(id, 5, 0, 0), (int64_t)id), 0);
    }
    weir_flow_queue_stats st;
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.swap_file_count, 1);
    /* what the WAL would recover: live FlowFiles in (queue date, index) order */
    weir_flowfile *live[8];
    size_t live_n = 0;
    weir_flowfile *ff;
    for (;;) {
        assert_int_equal(weir_flow_queue_poll(q, 10, &ff), 0);
        if (ff == NULL || ff->id == 5) {
            break;
        }
        live[live_n++] = ff;
    }
    /* polling reached the swapped pair: put them back in the store as file 1 */
    assert_non_null(ff);
    weir_flowfile *pair[2] = {ff, NULL};
    assert_int_equal(weir_flow_queue_poll(q, 10, &pair[1]), 0);
    assert_int_equal(pair[1]->id, 6);
    uint64_t loc = 0;
    assert_int_equal(store_swap_out(&store, pair, 2, &loc), 0);
    weir_flowfile_free(pair[0]);
    weir_flowfile_free(pair[1]);
    assert_int_equal(weir_flow_queue_poll(q, 10, &ff), 0);
    assert_int_equal(ff->id, 7);
    live[live_n++] = ff;
    assert_int_equal(live_n, 5); /* 1-4 and 7 */
    weir_flow_queue_free(q);

    /* after the restart: swap files first, then the live ones */
    q = weir_flow_queue_new(&c, &hooks, NULL);
    assert_non_null(q);
    assert_int_equal(weir_flow_queue_restore_swapped(q, loc, 2, 10), 0);
    for (size_t i = 0; i < live_n; i++) {
        assert_int_equal(weir_flow_queue_restore(q, live[i]), 0);
    }
    weir_flow_queue_stats_get(q, &st);
    assert_int_equal(st.count, 7);
    assert_int_equal(st.bytes, 35);
    assert_int_equal(weir_flow_queue_check(q), 0);
    /* new offers continue the index past the restored ones */
    assert_int_equal(weir_flow_queue_offer(q, ff_new(8, 5, 0, 0), 20), 0);
    uint64_t got[16];
    const uint64_t want[] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_ids(got, drain_ids(q, 30, got, 16), want, 8);
    weir_flow_queue_free(q);
    store_free(&store);
}

static void test_queue_new_rejects_invalid_config(void **state)
{
    (void)state;
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    int err = 0;
    c.swap_batch_count = c.swap_threshold + 1;
    assert_null(weir_flow_queue_new(&c, NULL, &err));
    assert_int_equal(err, WEIR_E_INVAL);
    weir_flow_queue_config_default(&c);
    c.expiration_ns = -1;
    assert_null(weir_flow_queue_new(&c, NULL, &err));
    assert_int_equal(err, WEIR_E_INVAL);
    weir_flow_queue_config_default(&c);
    c.prioritizers.count = WEIR_FLOW_PRIORITIZERS_MAX + 1;
    assert_null(weir_flow_queue_new(&c, NULL, &err));
    assert_int_equal(err, WEIR_E_INVAL);
}

/* ---- against a model ---- */

/* The model: an unordered list; poll takes the least FlowFile by the chain
 * among those whose penalty has expired. */
typedef struct model {
    weir_flowfile *v[4096];
    size_t n;
} model;

static long model_best(const model *m, const weir_prioritizers *p, int64_t now_ns)
{
    long best = -1;
    weir_prio_key bk, k;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i]->penalty_expiry_ns > now_ns) {
            continue;
        }
        weir_prio_key_make(m->v[i], &k);
        if (best < 0 || weir_prioritizers_compare(p, &k, &bk) < 0) {
            best = (long)i;
            bk = k;
        }
    }
    return best;
}

static void test_queue_random_ops_match_model(void **state)
{
    (void)state;
    static const char *const prios[] = {NULL, "1", "2", "-3", "10", "b", "a", " 2"};
    static const weir_flow_prioritizer chains[][2] = {
        {WEIR_FLOW_PRIO_FIFO, WEIR_FLOW_PRIO_FIFO},
        {WEIR_FLOW_PRIO_OLDEST_FIRST, WEIR_FLOW_PRIO_FIFO},
        {WEIR_FLOW_PRIO_NEWEST_FIRST, WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE},
        {WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE, WEIR_FLOW_PRIO_NEWEST_FIRST},
    };
    weir_prng rng;
    weir_prng_seed(&rng, 6);
    weir_flow_queue *q = queue_with(NULL, 0, NULL);
    weir_prioritizers p = {.count = 0};
    static model m;
    m.n = 0;
    weir_flowfile *held[64];
    size_t held_n = 0;
    int64_t now = 0;
    uint64_t next_id = 1;
    for (int step = 0; step < 40000; step++) {
        now += (int64_t)weir_prng_below(&rng, 3) * MS; /* often equal dates */
        uint64_t op = weir_prng_below(&rng, 100);
        if (op < 45 && m.n < 4000) {
            weir_flowfile *ff = ff_prio(next_id++, prios[weir_prng_below(&rng, 8)]);
            ff->lineage_start_ns = (int64_t)weir_prng_below(&rng, 5);
            if (weir_prng_below(&rng, 8) == 0) {
                ff->penalty_expiry_ns = now + (int64_t)weir_prng_below(&rng, 20) * MS;
            }
            assert_int_equal(weir_flow_queue_offer(q, ff, now), 0);
            m.v[m.n++] = ff;
        } else if (op < 90) {
            long best = model_best(&m, &p, now);
            const weir_flowfile *head = NULL;
            assert_int_equal(weir_flow_queue_peek(q, now, &head), 0);
            weir_flowfile *ff = NULL;
            assert_int_equal(weir_flow_queue_poll(q, now, &ff), 0);
            assert_ptr_equal(head, ff);
            if (best < 0) {
                assert_null(ff);
                continue;
            }
            if (ff != m.v[best]) {
                fail_msg("step %d: polled id %llu, model says %llu", step,
                         ff ? (unsigned long long)ff->id : 0ULL, (unsigned long long)m.v[best]->id);
            }
            m.v[best] = m.v[--m.n];
            if (held_n < 64 && weir_prng_below(&rng, 2) == 0) {
                held[held_n++] = ff; /* a session holds it */
            } else {
                weir_flowfile_free(ff);
            }
        } else if (op < 97) {
            /* the session rolls back, sometimes penalizing */
            for (size_t i = 0; i < held_n; i++) {
                if (weir_prng_below(&rng, 4) == 0) {
                    held[i]->penalty_expiry_ns = now + 5 * MS;
                }
                m.v[m.n++] = held[i];
            }
            assert_int_equal(weir_flow_queue_requeue(q, held, held_n, NULL), 0);
            held_n = 0;
        } else {
            const weir_flow_prioritizer *c = chains[weir_prng_below(&rng, 4)];
            assert_int_equal(weir_prioritizers_set(&p, c, 1 + weir_prng_below(&rng, 2)), 0);
            assert_int_equal(weir_flow_queue_set_prioritizers(q, &p), 0);
        }
        if (step % 1000 == 0) {
            assert_int_equal(weir_flow_queue_check(q), 0);
            assert_int_equal(weir_flow_queue_count(q), m.n);
        }
    }
    assert_int_equal(weir_flow_queue_count(q), m.n);
    assert_int_equal(weir_flow_queue_check(q), 0);
    for (size_t i = 0; i < held_n; i++) {
        weir_flowfile_free(held[i]);
    }
    weir_flow_queue_free(q); /* frees what the model still lists */
}

/* ---- throughput ---- */

/* Offers then polls pool FlowFiles `rounds` times; returns seconds. */
static double run_offer_poll(weir_flow_queue *q, weir_flowfile **pool, size_t pool_n, int rounds)
{
    double start = seconds_now();
    int64_t t = 0;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < pool_n; i++) {
            assert_int_equal(weir_flow_queue_offer(q, pool[i], t), 0);
        }
        t += MS;
        size_t got = 0;
        while (got < pool_n) {
            size_t n = 0;
            assert_int_equal(weir_flow_queue_poll_batch(q, t, pool + got, pool_n - got, &n), 0);
            assert_true(n > 0);
            got += n;
        }
    }
    return seconds_now() - start;
}

static void test_queue_offer_poll_million_rate(void **state)
{
    (void)state;
    const size_t pool_n = 100000;
    const int rounds = 10; /* 1,000,000 offers and polls */
    weir_flowfile **pool = calloc(pool_n, sizeof(*pool));
    assert_non_null(pool);
    char prio[24];
    for (size_t i = 0; i < pool_n; i++) {
        pool[i] = ff_new(i + 1, 1024, (int64_t)(i * 7919 % pool_n), 0);
        snprintf(prio, sizeof(prio), "%zu", i * 104729 % 1000);
        assert_int_equal(weir_flowfile_attr_set(pool[i], WEIR_PRIO_ATTRIBUTE, prio), 0);
    }
    weir_flow_queue_config c;
    weir_flow_queue_config_default(&c);
    c.swap_threshold = 0; /* all 100,000 resident */
    weir_flow_queue *q = weir_flow_queue_new(&c, NULL, NULL);
    assert_non_null(q);
    double fifo_s = run_offer_poll(q, pool, pool_n, rounds);

    weir_prioritizers p;
    weir_flow_prioritizer k = WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE;
    assert_int_equal(weir_prioritizers_set(&p, &k, 1), 0);
    assert_int_equal(weir_flow_queue_set_prioritizers(q, &p), 0);
    double prio_s = run_offer_poll(q, pool, pool_n, rounds);
    assert_int_equal(weir_flow_queue_check(q), 0);
    weir_flow_queue_free(q);
    for (size_t i = 0; i < pool_n; i++) {
        weir_flowfile_free(pool[i]);
    }
    free(pool);
    double total = (double)pool_n * rounds;
    print_message("queue: 1M offer+poll FIFO %.3f s (%.2f M/s); priority attribute %.3f s "
                  "(%.2f M/s)\n",
                  fifo_s, total / fifo_s / 1e6, prio_s, total / prio_s / 1e6);
#if !defined(__SANITIZE_ADDRESS__) && defined(NDEBUG)
    assert_true(fifo_s < 1.0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prio_classify_numbers_strings_and_missing),
        cmocka_unit_test(test_prioritizers_set_rejects_bad_chains),
        cmocka_unit_test(test_queue_fifo_orders_by_queue_date_then_index),
        cmocka_unit_test(test_queue_oldest_first_orders_by_lineage_ties_by_fifo),
        cmocka_unit_test(test_queue_newest_first_orders_by_lineage_desc_ties_by_fifo),
        cmocka_unit_test(test_queue_priority_attribute_numbers_then_strings_then_missing),
        cmocka_unit_test(test_queue_chain_later_prioritizer_breaks_ties),
        cmocka_unit_test(test_queue_prioritizer_change_while_running_resorts),
        cmocka_unit_test(test_queue_penalized_skipped_until_expiry_reported),
        cmocka_unit_test(test_queue_expired_removed_on_poll_and_reported),
        cmocka_unit_test(test_queue_full_exactly_at_object_threshold),
        cmocka_unit_test(test_queue_full_exactly_at_size_threshold),
        cmocka_unit_test(test_queue_poll_batch_and_peek),
        cmocka_unit_test(test_queue_requeue_restores_original_order),
        cmocka_unit_test(test_queue_requeue_keeps_penalty_of_rolled_back_flowfile),
        cmocka_unit_test(test_queue_million_swapped_bounded_resident_in_order),
        cmocka_unit_test(test_queue_swap_tail_moves_in_without_disk_when_active_drains),
        cmocka_unit_test(test_queue_swap_out_failure_keeps_flowfiles_and_retries),
        cmocka_unit_test(test_queue_swap_in_failure_reported_then_retried),
        cmocka_unit_test(test_queue_restore_after_restart_keeps_positions),
        cmocka_unit_test(test_queue_new_rejects_invalid_config),
        cmocka_unit_test(test_queue_random_ops_match_model),
        cmocka_unit_test(test_queue_offer_poll_million_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
