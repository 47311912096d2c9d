/* Producer state for idempotent and transactional producers: the pure
 * checks and updates of log/producer_state.c, then through the partition log
 * on real files: duplicates answered with the original offsets, refusals that
 * append nothing, transactions and the LSO, the .txnindex, snapshots across a
 * clean restart, replay after a crash, truncation, followers, retention, and
 * a random workload checked against a replay of the whole log after every
 * restart. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/prng.h"
#include "log/checkpoint.h"
#include "faulty_env.h"
#include "log/log.h"
#include "log/producer_state.h"
#include "log/snapshot.h"
#include "log/txn_index.h"
#include "log/verify.h"
#include "log_fixture.h"
#include "sim.h"

#define DIR "t-0"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* ---- helpers ---- */

/* Segments roll by size only here: the batches' timestamps are small numbers
 * while markers carry the wall clock, which would look like segment.ms passed. */
static weir_plog *open_log(log_fixture *f, const weir_log_config *cfg, weir_log_recovery *rep)
{
    weir_log_config c;
    if (cfg == NULL) {
        weir_log_config_default(&c);
    } else {
        c = *cfg;
    }
    c.segment_ms = 0;
    weir_plog *log = NULL;
    assert_int_equal(weir_plog_open(f->env, DIR, &c, rep, &log), 0);
    return log;
}

/* Record timestamps start here (the simulator's test moves it to its wall clock). */
static int64_t g_ts_base = 1000;

/* A batch of `records` records from producer pid (epoch, base sequence seq);
 * transactional if txn. Caller frees. */
static uint8_t *make_pbatch(int64_t pid, int16_t epoch, int32_t seq, int records, bool txn,
                            size_t *len)
{
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_set_producer(&bb, pid, epoch, seq);
    weir_batch_builder_set_attributes(&bb, txn ? WEIR_BATCH_TRANSACTIONAL : 0);
    for (int i = 0; i < records; i++) {
        char val[48];
        int n = snprintf(val, sizeof val, "p%lld e%d s%d r%d", (long long)pid, epoch, seq, i);
        weir_batch_builder_add(&bb, g_ts_base + seq + i, "k", 1, val, n, NULL, 0);
    }
    uint8_t *buf;
    assert_int_equal(weir_batch_builder_finish(&bb, &buf, len), 0);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, buf, *len);
    weir_batch_builder_free(&bb);
    return copy;
}

static int append_p(weir_plog *log, int64_t pid, int16_t epoch, int32_t seq, int records, bool txn,
                    weir_log_append_info *info)
{
    size_t len;
    uint8_t *b = make_pbatch(pid, epoch, seq, records, txn, &len);
    const char *why = NULL;
    int err = weir_plog_append_leader(log, b, len, 0, info, &why);
    free(b);
    return err;
}

/* Appends and expects success; returns the first offset. */
static int64_t ok_p(weir_plog *log, int64_t pid, int16_t epoch, int32_t seq, int records, bool txn)
{
    weir_log_append_info info;
    int err = append_p(log, pid, epoch, seq, records, txn, &info);
    if (err != 0) {
        fail_msg("append pid %lld epoch %d seq %d: %s (%s)", (long long)pid, epoch, seq,
                 weir_err_str(err), weir_pstate_result_str(info.producer_error));
    }
    assert_false(info.duplicate);
    return info.first_offset;
}

/* Expects a refusal with `want`; the log end must not move. */
static void refused_p(weir_plog *log, int64_t pid, int16_t epoch, int32_t seq, int records,
                      bool txn, weir_pstate_result want)
{
    int64_t end = weir_plog_end_offset(log);
    weir_log_append_info info;
    assert_int_equal(append_p(log, pid, epoch, seq, records, txn, &info), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, want);
    assert_true(weir_plog_end_offset(log) == end);
}

static int64_t marker(weir_plog *log, int64_t pid, int16_t epoch, int32_t coord, bool commit)
{
    weir_log_append_info info;
    const char *why = NULL;
    int err = weir_plog_append_marker(log, pid, epoch, coord, commit, 0, &info, &why);
    if (err != 0) {
        fail_msg("marker for %lld: %s (%s)", (long long)pid, weir_err_str(err), why ? why : "");
    }
    assert_int_equal(info.batches, 1);
    assert_true(info.first_offset == info.last_offset);
    return info.first_offset;
}

/* The state in snapshot form (what survives a restart), sorted by producer id. */
typedef struct pstate_image {
    weir_producer_entry *e;
    size_t n;
    weir_pstate_txn open[512];
    size_t n_open;
} pstate_image;

static void image_of(const weir_pstate *ps, pstate_image *img)
{
    assert_int_equal(weir_pstate_to_entries(ps, &img->e, &img->n), 0);
    img->n_open = weir_pstate_open_count(ps);
    assert_true(img->n_open <= 512);
    for (size_t i = 0; i < img->n_open; i++) {
        img->open[i] = weir_pstate_open_at(ps, i);
    }
}

/* NULL if equal, else what differs (in msg). */
static const char *image_diff(const pstate_image *a, const pstate_image *b, char *msg, size_t size)
{
    if (a->n != b->n) {
        snprintf(msg, size, "%zu producers, expected %zu", a->n, b->n);
        return msg;
    }
    for (size_t i = 0; i < a->n; i++) {
        const weir_producer_entry *x = &a->e[i], *y = &b->e[i];
        if (memcmp(x, y, sizeof *x) != 0) {
            snprintf(msg, size,
                     "producer %lld/%lld: epoch %d/%d seq %d/%d last %lld/%lld delta %d/%d ts "
                     "%lld/%lld coord %d/%d txn %lld/%lld",
                     (long long)x->producer_id, (long long)y->producer_id, x->epoch, y->epoch,
                     x->last_sequence, y->last_sequence, (long long)x->last_offset,
                     (long long)y->last_offset, x->offset_delta, y->offset_delta,
                     (long long)x->timestamp, (long long)y->timestamp, x->coordinator_epoch,
                     y->coordinator_epoch, (long long)x->current_txn_first_offset,
                     (long long)y->current_txn_first_offset);
            return msg;
        }
    }
    if (a->n_open != b->n_open) {
        snprintf(msg, size, "%zu open transactions, expected %zu", a->n_open, b->n_open);
        return msg;
    }
    for (size_t i = 0; i < a->n_open; i++) {
        if (a->open[i].producer_id != b->open[i].producer_id ||
            a->open[i].first_offset != b->open[i].first_offset) {
            snprintf(msg, size, "open transaction %zu differs", i);
            return msg;
        }
    }
    return NULL;
}

static void image_equal(const pstate_image *a, const pstate_image *b)
{
    char msg[400];
    const char *why = image_diff(a, b, msg, sizeof msg);
    if (why != NULL) {
        fail_msg("%s", why);
    }
}

static void image_free(pstate_image *img)
{
    free(img->e);
    img->e = NULL;
}

/* The image without assertions (for the simulator's child); false if out of memory. */
static bool image_take(const weir_pstate *ps, pstate_image *img)
{
    if (weir_pstate_to_entries(ps, &img->e, &img->n) != 0) {
        return false;
    }
    img->n_open = 0;
    size_t n = weir_pstate_open_count(ps);
    for (size_t i = 0; i < n && i < sizeof img->open / sizeof img->open[0]; i++) {
        img->open[img->n_open++] = weir_pstate_open_at(ps, i);
    }
    return true;
}

/* The oracle: producer state and aborted transactions from replaying every
 * batch of the log from its start into a fresh state. NULL on an error. */
static weir_pstate *replay_all(weir_plog *log, weir_aborted_txn *aborted, size_t *n_aborted,
                               size_t cap)
{
    weir_pstate *ps = weir_pstate_new();
    *n_aborted = 0;
    int64_t off = weir_plog_start_offset(log);
    bool ok = ps != NULL;
    while (ok && off < weir_plog_end_offset(log)) {
        weir_log_read_result r;
        if (weir_plog_read(log, off, 1 << 20, true, &r) != 0) {
            break;
        }
        for (size_t at = 0; ok && at < r.len;) {
            weir_batch_header h;
            weir_batch_header_decode(r.data + at, &h);
            size_t total = (size_t)weir_batch_total_bytes(&h);
            weir_pstate_txn done;
            int rc = weir_pstate_apply_batch(ps, &h, r.data + at, total, &done);
            ok = rc >= 0;
            if (rc == 1 && done.aborted) {
                ok = *n_aborted < cap;
                if (ok) {
                    aborted[(*n_aborted)++] =
                        (weir_aborted_txn){done.producer_id, done.first_offset, done.last_offset,
                                           done.last_stable_offset};
                }
            }
            at += total;
        }
        ok = ok && r.next_offset > off;
        off = r.next_offset;
        weir_log_read_result_free(&r);
    }
    if (!ok || off != weir_plog_end_offset(log)) {
        weir_pstate_free(ps);
        return NULL;
    }
    return ps;
}

/* NULL if the log's state and aborted transactions equal a full replay's,
 * else what differs (in msg). */
static const char *replay_diff(weir_plog *log, char *msg, size_t size)
{
    static weir_aborted_txn want[1024];
    size_t n_want;
    weir_pstate *ps = replay_all(log, want, &n_want, 1024);
    if (ps == NULL) {
        snprintf(msg, size, "the replay of the whole log failed");
        return msg;
    }
    static pstate_image a, b;
    const char *why = NULL;
    bool ok = image_take(weir_plog_producer_state(log), &a);
    if (!image_take(ps, &b) || !ok) {
        snprintf(msg, size, "out of memory");
        why = msg;
    }
    weir_pstate_free(ps);
    if (why == NULL) {
        why = image_diff(&a, &b, msg, size);
    }
    image_free(&a);
    image_free(&b);
    if (why != NULL) {
        return why;
    }
    weir_aborted_txn *got;
    size_t n_got;
    if (weir_plog_aborted_txns(log, 0, INT64_MAX, &got, &n_got) != 0) {
        snprintf(msg, size, "aborted transactions: out of memory");
        return msg;
    }
    if (n_got != n_want) {
        snprintf(msg, size, "%zu aborted transactions in the .txnindex files, the log has %zu",
                 n_got, n_want);
        why = msg;
    }
    for (size_t i = 0; why == NULL && i < n_got; i++) {
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0) {
            snprintf(msg, size,
                     "aborted transaction %zu: %lld %lld..%lld lso %lld, expected %lld "
                     "%lld..%lld lso %lld",
                     i, (long long)got[i].producer_id, (long long)got[i].first_offset,
                     (long long)got[i].last_offset, (long long)got[i].last_stable_offset,
                     (long long)want[i].producer_id, (long long)want[i].first_offset,
                     (long long)want[i].last_offset, (long long)want[i].last_stable_offset);
            why = msg;
        }
    }
    free(got);
    return why;
}

/* The log's state equals a full replay's, and so do its aborted transactions. */
static void check_against_replay(weir_plog *log)
{
    char msg[600];
    const char *why = replay_diff(log, msg, sizeof msg);
    if (why != NULL) {
        fail_msg("%s", why);
    }
}

/* ---- producer_state.c alone ---- */

static void
a_retry_of_any_of_the_last_five_batches_is_a_duplicate_but_not_the_sixth_oldest(void **state)
{
    (void)state;
    weir_pstate *ps = weir_pstate_new();
    assert_non_null(ps);
    for (int i = 0; i < 6; i++) {
        /* batch i: sequences 10i .. 10i+9 at offsets 100i .. 100i+9 */
        assert_int_equal(weir_pstate_check(ps, 7, 0, i * 10, i * 10 + 9, false, NULL),
                         WEIR_PSTATE_OK);
        assert_int_equal(weir_pstate_apply_data(ps, 7, 0, i * 10, i * 10 + 9, 100 * i, 100 * i + 9,
                                                5000 + i, false),
                         0);
    }
    weir_pstate_batch dup;
    for (int i = 1; i < 6; i++) {
        assert_int_equal(weir_pstate_check(ps, 7, 0, i * 10, i * 10 + 9, false, &dup),
                         WEIR_PSTATE_DUPLICATE);
        assert_true(dup.last_offset == 100 * i + 9 && dup.offset_delta == 9 &&
                    dup.timestamp == 5000 + i);
    }
    /* the sixth oldest fell out of the cache: a stale sequence, out of order */
    assert_int_equal(weir_pstate_check(ps, 7, 0, 0, 9, false, &dup),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    /* same first sequence, other last: not a duplicate */
    assert_int_equal(weir_pstate_check(ps, 7, 0, 50, 58, false, &dup),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    /* a duplicate must have the same epoch */
    assert_int_equal(weir_pstate_check(ps, 7, 1, 50, 59, false, &dup),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    assert_int_equal(weir_pstate_check(ps, 7, 0, 60, 60, false, NULL), WEIR_PSTATE_OK);
    weir_pstate_free(ps);
}

static void gaps_stale_epochs_and_new_epochs_not_at_zero_are_refused(void **state)
{
    (void)state;
    weir_pstate *ps = weir_pstate_new();
    /* no state: any sequence and epoch, like Kafka after the state expired */
    assert_int_equal(weir_pstate_check(ps, 3, 5, 12345, 12349, false, NULL), WEIR_PSTATE_OK);
    assert_int_equal(weir_pstate_check(ps, -1, -1, -1, -1, false, NULL), WEIR_PSTATE_OK);
    assert_int_equal(weir_pstate_apply_data(ps, 3, 5, 0, 4, 0, 4, 1, false), 0);
    assert_int_equal(weir_pstate_check(ps, 3, 5, 6, 6, false, NULL),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE); /* gap */
    assert_int_equal(weir_pstate_check(ps, 3, 5, 4, 6, false, NULL),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE); /* overlap */
    assert_int_equal(weir_pstate_check(ps, 3, 4, 5, 5, false, NULL),
                     WEIR_PSTATE_INVALID_PRODUCER_EPOCH); /* a zombie */
    assert_int_equal(weir_pstate_check(ps, 3, 4, 0, 0, false, NULL),
                     WEIR_PSTATE_INVALID_PRODUCER_EPOCH);
    assert_int_equal(weir_pstate_check(ps, 3, 6, 5, 5, false, NULL),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE); /* a new epoch starts at 0 */
    assert_int_equal(weir_pstate_check(ps, 3, 6, 0, 2, false, NULL), WEIR_PSTATE_OK);
    assert_int_equal(weir_pstate_check(ps, 3, 5, 5, 9, false, NULL), WEIR_PSTATE_OK);
    /* a new epoch drops the cached batches */
    assert_int_equal(weir_pstate_apply_data(ps, 3, 6, 0, 2, 5, 7, 2, false), 0);
    const weir_pstate_entry *e = weir_pstate_find(ps, 3);
    assert_non_null(e);
    assert_int_equal(e->n_batches, 1);
    assert_int_equal(e->epoch, 6);
    assert_int_equal(weir_pstate_check(ps, 3, 6, 0, 2, false, NULL), WEIR_PSTATE_DUPLICATE);
    assert_int_equal(weir_pstate_check(ps, 3, 5, 0, 4, false, NULL),
                     WEIR_PSTATE_INVALID_PRODUCER_EPOCH);
    weir_pstate_free(ps);
}

static void sequences_wrap_from_int32_max_to_zero(void **state)
{
    (void)state;
    assert_int_equal(weir_seq_add(INT32_MAX - 1, 3), 1);
    assert_int_equal(weir_seq_add(INT32_MAX, 1), 0);
    assert_int_equal(weir_seq_sub(1, 3), INT32_MAX - 1);
    weir_batch_header h = {.base_sequence = INT32_MAX - 1, .last_offset_delta = 2};
    assert_int_equal(weir_batch_last_seq(&h), 0);
    weir_pstate *ps = weir_pstate_new();
    assert_int_equal(weir_pstate_apply_data(ps, 9, 0, INT32_MAX - 4, INT32_MAX, 0, 4, 1, false), 0);
    assert_int_equal(weir_pstate_check(ps, 9, 0, 0, 3, false, NULL), WEIR_PSTATE_OK);
    assert_int_equal(weir_pstate_check(ps, 9, 0, 1, 3, false, NULL),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    /* a batch that wraps inside: INT32_MAX - 1 .. 0 */
    assert_int_equal(weir_pstate_apply_data(ps, 10, 0, INT32_MAX - 1, 0, 10, 12, 1, false), 0);
    assert_int_equal(weir_pstate_check(ps, 10, 0, INT32_MAX - 1, 0, false, NULL),
                     WEIR_PSTATE_DUPLICATE);
    assert_int_equal(weir_pstate_check(ps, 10, 0, 1, 1, false, NULL), WEIR_PSTATE_OK);
    /* the snapshot form keeps the last sequence; the first comes back wrapped */
    weir_producer_entry *v;
    size_t n;
    assert_int_equal(weir_pstate_to_entries(ps, &v, &n), 0);
    weir_pstate *back = weir_pstate_new();
    assert_int_equal(weir_pstate_load_entries(back, v, n), 0);
    assert_int_equal(weir_pstate_find(back, 10)->batches[0].first_seq, INT32_MAX - 1);
    assert_int_equal(weir_pstate_check(back, 10, 0, INT32_MAX - 1, 0, false, NULL),
                     WEIR_PSTATE_DUPLICATE);
    free(v);
    weir_pstate_free(back);
    weir_pstate_free(ps);
}

static void transactions_open_close_and_fence_by_epochs(void **state)
{
    (void)state;
    weir_pstate *ps = weir_pstate_new();
    assert_int_equal(weir_pstate_apply_data(ps, 1, 0, 0, 1, 10, 11, 1, true), 0);
    assert_int_equal(weir_pstate_apply_data(ps, 2, 0, 0, 0, 12, 12, 1, true), 0);
    assert_int_equal(weir_pstate_apply_data(ps, 1, 0, 2, 2, 13, 13, 1, true), 0);
    assert_int_equal(weir_pstate_open_count(ps), 2);
    assert_true(weir_pstate_first_unstable_offset(ps) == 10);
    /* Kafka's rule: a non-transactional write inside an open transaction */
    assert_int_equal(weir_pstate_check(ps, 1, 0, 3, 3, false, NULL), WEIR_PSTATE_INVALID_TXN_STATE);
    assert_int_equal(weir_pstate_check(ps, 1, 0, 3, 3, true, NULL), WEIR_PSTATE_OK);
    /* markers: fenced by a lower producer epoch or coordinator epoch */
    assert_int_equal(weir_pstate_check_marker(ps, 1, -1, 0), WEIR_PSTATE_INVALID_PRODUCER_EPOCH);
    weir_pstate_txn done;
    assert_int_equal(weir_pstate_apply_marker(ps, 1, 0, 4, false, 14, 2, &done), 1);
    assert_true(done.producer_id == 1 && done.first_offset == 10 && done.last_offset == 14 &&
                done.aborted && done.last_stable_offset == 12);
    assert_int_equal(weir_pstate_check_marker(ps, 1, 0, 3), WEIR_PSTATE_COORDINATOR_FENCED);
    assert_int_equal(weir_pstate_check_marker(ps, 1, 0, 4), WEIR_PSTATE_OK);
    /* the completed one still counts until the HW passes its marker */
    assert_true(weir_pstate_first_unstable_offset(ps) == 10);
    weir_pstate_forget_completed_below(ps, 14);
    assert_true(weir_pstate_first_unstable_offset(ps) == 10);
    weir_pstate_forget_completed_below(ps, 15);
    assert_true(weir_pstate_first_unstable_offset(ps) == 12);
    /* a marker with no open transaction completes nothing; KIP-890 bumps the epoch */
    assert_int_equal(weir_pstate_apply_marker(ps, 2, 1, 4, true, 15, 3, &done), 1);
    assert_false(done.aborted);
    assert_true(done.last_stable_offset == 16);
    assert_int_equal(weir_pstate_apply_marker(ps, 2, 2, 4, true, 16, 3, &done), 0);
    const weir_pstate_entry *e = weir_pstate_find(ps, 2);
    assert_int_equal(e->epoch, 2);
    assert_int_equal(e->n_batches, 0);
    assert_true(e->current_txn_first_offset == -1);
    /* after the bump the producer starts again at sequence 0 */
    assert_int_equal(weir_pstate_check(ps, 2, 2, 1, 1, true, NULL),
                     WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    assert_int_equal(weir_pstate_check(ps, 2, 2, 0, 0, true, NULL), WEIR_PSTATE_OK);
    assert_int_equal(weir_pstate_open_count(ps), 0);
    weir_pstate_forget_completed_below(ps, 100);
    assert_true(weir_pstate_first_unstable_offset(ps) == -1);
    weir_pstate_free(ps);
}

static void many_producers_hash_and_snapshot_sorted_by_id(void **state)
{
    (void)state;
    weir_pstate *ps = weir_pstate_new();
    weir_prng rng;
    weir_prng_seed(&rng, 5);
    for (int i = 0; i < 3000; i++) {
        int64_t pid = (int64_t)(weir_prng_next(&rng) >> 2);
        assert_int_equal(weir_pstate_apply_data(ps, pid, 0, 0, 0, i, i, i, i % 7 == 0), 0);
    }
    assert_int_equal(weir_pstate_count(ps), 3000);
    weir_producer_entry *v;
    size_t n;
    assert_int_equal(weir_pstate_to_entries(ps, &v, &n), 0);
    assert_int_equal(n, 3000);
    for (size_t i = 1; i < n; i++) {
        assert_true(v[i - 1].producer_id < v[i].producer_id);
    }
    weir_pstate *back = weir_pstate_new();
    assert_int_equal(weir_pstate_load_entries(back, v, n), 0);
    pstate_image a, b;
    image_of(ps, &a);
    image_of(back, &b);
    image_equal(&a, &b);
    image_free(&a);
    image_free(&b);
    /* a repeated producer id is a corrupt snapshot */
    v[1].producer_id = v[0].producer_id;
    assert_int_equal(weir_pstate_load_entries(back, v, n), WEIR_E_CORRUPT);
    assert_int_equal(weir_pstate_count(back), 0);
    free(v);
    weir_pstate_free(back);
    weir_pstate_free(ps);
}

/* ---- through the log ---- */

static void a_duplicate_returns_the_original_offsets_and_appends_nothing(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    append_batch(log, 2, 100, 1, 10, 0); /* not idempotent: offsets 0..1 */
    assert_true(ok_p(log, 42, 0, 0, 3, false) == 2);
    assert_true(ok_p(log, 42, 0, 3, 2, false) == 5);
    uint64_t size = weir_plog_size_bytes(log);
    weir_log_append_info info;
    assert_int_equal(append_p(log, 42, 0, 0, 3, false, &info), 0);
    assert_true(info.duplicate);
    assert_true(info.first_offset == 2 && info.last_offset == 4);
    assert_int_equal(info.batches, 0);
    assert_true(info.max_timestamp == 1002);
    assert_true(weir_plog_end_offset(log) == 7 && weir_plog_size_bytes(log) == size);
    assert_int_equal(append_p(log, 42, 0, 3, 2, false, &info), 0);
    assert_true(info.duplicate && info.first_offset == 5 && info.last_offset == 6);
    /* within a record set of several batches a duplicate is an error */
    size_t l1, l2;
    uint8_t *b1 = make_pbatch(42, 0, 5, 1, false, &l1);
    uint8_t *b2 = make_pbatch(42, 0, 3, 2, false, &l2);
    uint8_t *set = malloc(l1 + l2);
    memcpy(set, b1, l1);
    memcpy(set + l1, b2, l2);
    const char *why = NULL;
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2, 0, &info, &why), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, WEIR_PSTATE_DUPLICATE_SEQUENCE);
    assert_false(info.duplicate);
    assert_true(weir_plog_end_offset(log) == 7);
    /* batches of one producer in one set are checked in order against each other */
    free(b2);
    b2 = make_pbatch(42, 0, 6, 2, false, &l2);
    memcpy(set + l1, b2, l2);
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2, 0, &info, &why), 0);
    assert_true(info.batches == 2 && info.first_offset == 7 && info.last_offset == 9);
    free(b2);
    b2 = make_pbatch(42, 0, 9, 2, false, &l2); /* 8 is missing between them */
    free(b1);
    b1 = make_pbatch(42, 0, 8, 1, false, &l1);
    memcpy(set, b2, l2);
    memcpy(set + l2, b1, l1);
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2, 0, &info, &why), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    free(set);
    free(b1);
    free(b2);
    assert_true(weir_plog_end_offset(log) == 10);
    weir_plog_abandon(log);
}

static void refusals_append_nothing_and_name_the_producer_error(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    ok_p(log, 5, 3, 0, 2, false);
    refused_p(log, 5, 3, 5, 1, false, WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    refused_p(log, 5, 2, 2, 1, false, WEIR_PSTATE_INVALID_PRODUCER_EPOCH);
    refused_p(log, 5, 4, 2, 1, false, WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    ok_p(log, 5, 4, 0, 1, false);
    /* an idempotent batch without a base sequence, a transactional one without producer */
    refused_p(log, 6, 0, -1, 1, false, WEIR_PSTATE_INVALID_RECORD);
    refused_p(log, -1, -1, -1, 1, true, WEIR_PSTATE_INVALID_RECORD);
    /* clients may not write control batches */
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_set_attributes(&bb, WEIR_BATCH_CONTROL);
    uint8_t key[4] = {0, 0, 0, 1}, value[6] = {0};
    weir_batch_builder_add(&bb, 1, key, 4, value, 6, NULL, 0);
    uint8_t *b;
    size_t len;
    assert_int_equal(weir_batch_builder_finish(&bb, &b, &len), 0);
    weir_log_append_info info;
    const char *why = NULL;
    assert_int_equal(weir_plog_append_leader(log, b, len, 0, &info, &why), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, WEIR_PSTATE_INVALID_RECORD);
    assert_non_null(why);
    weir_batch_builder_free(&bb);
    /* non-idempotent batches never meet producer state */
    assert_true(append_batch(log, 1, 5, 2, 3, 0) == 3);
    assert_int_equal(weir_pstate_count(weir_plog_producer_state(log)), 1);
    weir_pstate_entry e;
    assert_true(weir_plog_producer(log, 5, &e));
    assert_int_equal(e.epoch, 4);
    assert_false(weir_plog_producer(log, 6, &e));
    weir_plog_abandon(log);
}

static void the_lso_waits_for_the_first_open_transaction_and_a_marker_below_the_hw(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    append_batch(log, 2, 1, 1, 5, 0);              /* 0..1 */
    assert_true(ok_p(log, 1, 0, 0, 2, true) == 2); /* txn of 1 opens at 2 */
    append_batch(log, 1, 1, 2, 5, 0);              /* 4 */
    assert_true(ok_p(log, 2, 0, 0, 1, true) == 5); /* txn of 2 opens at 5 */
    assert_true(ok_p(log, 1, 0, 2, 1, true) == 6);
    assert_true(weir_plog_lso(log, 1) == 1); /* bounded by the HW */
    assert_true(weir_plog_lso(log, 7) == 2);
    /* a non-transactional write of 1 now: invalid txn state */
    refused_p(log, 1, 0, 3, 1, false, WEIR_PSTATE_INVALID_TXN_STATE);
    int64_t m1 = marker(log, 1, 0, 0, true); /* commit at 7 */
    assert_true(m1 == 7);
    /* the marker is not below the HW yet: 1's transaction still holds the LSO */
    assert_true(weir_plog_lso(log, 7) == 2);
    assert_true(weir_plog_lso(log, 8) == 5); /* replicated: 2's transaction now */
    int64_t m2 = marker(log, 2, 0, 0, true);
    assert_true(weir_plog_lso(log, m2) == 5);
    assert_true(weir_plog_lso(log, m2 + 1) == m2 + 1);
    /* after the commit the producer may write outside a transaction again */
    ok_p(log, 1, 0, 3, 1, false);
    weir_plog_abandon(log);
}

static void an_abort_writes_a_txnindex_entry_found_by_the_query_and_a_commit_does_not(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    ok_p(log, 7, 0, 0, 2, true);            /* 0..1 */
    ok_p(log, 8, 0, 0, 1, true);            /* 2 */
    int64_t c = marker(log, 8, 0, 3, true); /* 3 */
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000000.txnindex")), -1);
    ok_p(log, 9, 0, 0, 1, true);             /* 4: open while 7 aborts */
    int64_t a = marker(log, 7, 0, 3, false); /* 5 */
    assert_true(c == 3 && a == 5);
    const char *path = fixture_path(f, DIR "/00000000000000000000.txnindex");
    assert_int_equal(file_size(path), WEIR_TXN_INDEX_ENTRY_BYTES);
    FILE *fp = fopen(path, "rb");
    uint8_t raw[34];
    assert_int_equal(fread(raw, 1, sizeof raw, fp), 34);
    fclose(fp);
    assert_int_equal(weir_get_be16(raw), 0);
    assert_true(weir_get_be64(raw + 2) == 7 && weir_get_be64(raw + 10) == 0 &&
                weir_get_be64(raw + 18) == 5);
    assert_true(weir_get_be64(raw + 26) == 4); /* LSO after it: 9's transaction at 4 */
    weir_aborted_txn *t;
    size_t n;
    assert_int_equal(weir_plog_aborted_txns(log, 0, 6, &t, &n), 0);
    assert_int_equal(n, 1);
    assert_true(t[0].producer_id == 7 && t[0].first_offset == 0 && t[0].last_offset == 5);
    free(t);
    assert_int_equal(weir_plog_aborted_txns(log, 5, 100, &t, &n), 0);
    assert_int_equal(n, 1);
    free(t);
    /* fetching past the marker, or stopping before the transaction: none */
    assert_int_equal(weir_plog_aborted_txns(log, 6, 100, &t, &n), 0);
    assert_int_equal(n, 0);
    assert_null(t);
    ok_p(log, 7, 1, 0, 1, true); /* 6: a later transaction of 7 ... */
    assert_int_equal(weir_plog_roll(log), 0);
    marker(log, 7, 1, 3, false); /* 7: ... aborted in the next segment */
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000007.txnindex")), 34);
    assert_int_equal(weir_plog_aborted_txns(log, 6, 7, &t, &n), 0);
    assert_int_equal(n, 1);
    assert_true(t[0].first_offset == 6 && t[0].last_offset == 7);
    free(t);
    assert_int_equal(weir_plog_aborted_txns(log, 0, 100, &t, &n), 0);
    assert_int_equal(n, 2);
    free(t);
    /* verify knows the file */
    weir_verify_report vr;
    assert_int_equal(weir_log_verify(f->env, DIR, NULL, NULL, &vr), 0);
    assert_int_equal(vr.problems, 0);
    /* a stale coordinator epoch is fenced, a lower producer epoch too */
    weir_log_append_info info;
    assert_int_equal(weir_plog_append_marker(log, 7, 1, 2, true, 0, &info, NULL), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, WEIR_PSTATE_COORDINATOR_FENCED);
    assert_int_equal(weir_plog_append_marker(log, 7, 0, 3, true, 0, &info, NULL), WEIR_E_PRODUCER);
    assert_int_equal(info.producer_error, WEIR_PSTATE_INVALID_PRODUCER_EPOCH);
    assert_int_equal(weir_plog_append_marker(log, -1, 0, 3, true, 0, &info, NULL), WEIR_E_INVAL);
    assert_true(weir_plog_end_offset(log) == 8);
    /* a marker bumping the epoch (KIP-890) is taken */
    marker(log, 9, 1, 3, true);
    weir_pstate_entry e;
    assert_true(weir_plog_producer(log, 9, &e));
    assert_true(e.epoch == 1 && e.coordinator_epoch == 3 && e.current_txn_first_offset == -1);
    /* the marker batch is in Kafka's layout */
    weir_log_read_result r;
    assert_int_equal(weir_plog_read(log, 8, 1 << 20, true, &r), 0);
    weir_batch_header h;
    assert_int_equal(weir_batch_validate(r.data, r.len, &h, NULL), 0);
    assert_int_equal(h.attributes, 0x30);
    assert_true(h.producer_id == 9 && h.producer_epoch == 1 && h.base_sequence == -1 &&
                h.record_count == 1);
    int16_t type;
    int32_t coord;
    assert_int_equal(weir_control_marker_parse(r.data, r.len, &type, &coord), 0);
    assert_true(type == WEIR_CONTROL_COMMIT && coord == 3);
    weir_log_read_result_free(&r);
    weir_plog_abandon(log);
}

/* A log with some of everything: idempotent producers, open, committed and
 * aborted transactions, several segments. */
static void busy_workload(weir_plog *log)
{
    for (int i = 0; i < 8; i++) {
        ok_p(log, 100, 0, i * 2, 2, false);
        append_batch(log, 1, 10 + i, i, 30, 0);
        ok_p(log, 200, 1, i, 1, true);
        if (i % 3 == 2) {
            marker(log, 200, 1, 0, i % 2 == 0);
        }
        ok_p(log, 300 + i % 2, 0, i / 2, 1, true);
    }
    marker(log, 300, 0, 1, false);
}

static void a_clean_restart_restores_the_state_from_the_snapshot_at_the_end(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 900;
    weir_plog *log = open_log(f, &cfg, NULL);
    busy_workload(log);
    assert_true(weir_plog_segment_count(log) > 2);
    int64_t end = weir_plog_end_offset(log);
    pstate_image before;
    image_of(weir_plog_producer_state(log), &before);
    weir_aborted_txn *t0;
    size_t n0;
    assert_int_equal(weir_plog_aborted_txns(log, 0, INT64_MAX, &t0, &n0), 0);
    assert_true(n0 >= 2);
    int64_t lso = weir_plog_lso(log, end);
    assert_int_equal(weir_plog_close(log), 0);
    weir_log_recovery rep;
    log = open_log(f, &cfg, &rep);
    assert_true(rep.clean);
    assert_true(rep.snapshot_offset == end);
    assert_true(rep.batches_replayed == 0);
    pstate_image after;
    image_of(weir_plog_producer_state(log), &after);
    image_equal(&before, &after);
    weir_aborted_txn *t1;
    size_t n1;
    assert_int_equal(weir_plog_aborted_txns(log, 0, INT64_MAX, &t1, &n1), 0);
    assert_int_equal(n0, n1);
    assert_memory_equal(t0, t1, n0 * sizeof *t0);
    assert_true(weir_plog_lso(log, end) == lso);
    /* the last batch of each producer is still recognised as a duplicate */
    weir_log_append_info info;
    assert_int_equal(append_p(log, 100, 0, 14, 2, false, &info), 0);
    assert_true(info.duplicate);
    check_against_replay(log);
    image_free(&before);
    image_free(&after);
    free(t0);
    free(t1);
    weir_plog_abandon(log);
}

static void a_crash_rebuilds_the_same_state_by_replay_and_the_txnindex_with_it(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    weir_plog *log = open_log(f, &cfg, NULL); /* one segment: no snapshot at all */
    busy_workload(log);
    pstate_image before;
    image_of(weir_plog_producer_state(log), &before);
    weir_pstate_entry e100;
    assert_true(weir_plog_producer(log, 100, &e100));
    assert_int_equal(e100.n_batches, 5);
    weir_plog_abandon(log);
    /* the crash lost the unsynced .txnindex */
    const char *tix = fixture_path(f, DIR "/00000000000000000000.txnindex");
    assert_true(file_size(tix) > 0);
    assert_int_equal(truncate(tix, 40), 0); /* one entry and a torn one */
    weir_log_recovery rep;
    log = open_log(f, &cfg, &rep);
    assert_false(rep.clean);
    assert_true(rep.snapshot_offset == -1);
    assert_true(rep.batches_replayed > 0);
    pstate_image after;
    image_of(weir_plog_producer_state(log), &after);
    image_equal(&before, &after);
    /* replayed from the start: even the five cached batches are back */
    weir_pstate_entry e;
    assert_true(weir_plog_producer(log, 100, &e));
    assert_memory_equal(&e, &e100, sizeof e);
    assert_int_equal(append_p(log, 100, 0, 0, 2, false, NULL), WEIR_E_PRODUCER); /* 6th oldest */
    weir_log_append_info info;
    assert_int_equal(append_p(log, 100, 0, 6, 2, false, &info), 0);
    assert_true(info.duplicate);
    check_against_replay(log);
    /* after the recovery a snapshot at the end spares the next crash the replay */
    int64_t end = weir_plog_end_offset(log);
    char rel[64];
    snprintf(rel, sizeof rel, DIR "/%020lld.snapshot", (long long)end);
    assert_true(file_size(fixture_path(f, rel)) > 10);
    weir_plog_abandon(log);
    log = open_log(f, &cfg, &rep);
    assert_true(rep.snapshot_offset == end && rep.batches_replayed == 0);
    check_against_replay(log);
    image_free(&before);
    image_free(&after);
    weir_plog_abandon(log);
}

static void
truncation_below_a_marker_reopens_the_transaction_and_drops_its_txnindex_entry(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    weir_plog *log = open_log(f, &cfg, NULL);
    ok_p(log, 7, 0, 0, 2, true);              /* 0..1 */
    ok_p(log, 8, 0, 0, 1, false);             /* 2 */
    assert_int_equal(weir_plog_roll(log), 0); /* snapshot at 3: 7's transaction open */
    int64_t a = marker(log, 7, 0, 1, false);  /* 3 */
    ok_p(log, 8, 0, 1, 1, false);             /* 4 */
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000003.txnindex")), 34);
    assert_true(weir_plog_lso(log, 5) == 5);
    assert_int_equal(weir_plog_truncate_to(log, a), 0);
    assert_true(weir_plog_end_offset(log) == 3);
    weir_pstate_entry e;
    assert_true(weir_plog_producer(log, 7, &e));
    assert_true(e.current_txn_first_offset == 0);
    assert_true(weir_plog_lso(log, 3) == 0);
    assert_true(weir_plog_producer(log, 8, &e));
    assert_int_equal(e.batches[e.n_batches - 1].last_seq, 0);
    weir_aborted_txn *t;
    size_t n;
    assert_int_equal(weir_plog_aborted_txns(log, 0, 100, &t, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000003.txnindex")), 0);
    check_against_replay(log);
    /* the retried batch of 8 is no duplicate any more: it was cut */
    ok_p(log, 8, 0, 1, 1, false);
    /* deeper, below the transaction: it is gone, and 7 with it */
    assert_int_equal(weir_plog_truncate_to(log, 0), 0);
    assert_false(weir_plog_producer(log, 7, &e));
    check_against_replay(log);
    /* truncate_fully forgets everything, snapshots included */
    ok_p(log, 9, 0, 0, 1, true);
    assert_int_equal(weir_plog_roll(log), 0);
    assert_int_equal(weir_plog_truncate_fully(log, 50), 0);
    assert_int_equal(weir_pstate_count(weir_plog_producer_state(log)), 0);
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000001.snapshot")), -1);
    assert_int_equal(weir_plog_close(log), 0);
    log = open_log(f, &cfg, NULL);
    assert_int_equal(weir_pstate_count(weir_plog_producer_state(log)), 0);
    weir_plog_abandon(log);
}

static void snapshots_follow_rolls_keep_the_newest_two_and_have_kafkas_layout(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    weir_plog *log = open_log(f, &cfg, NULL);
    int64_t rolls[4];
    for (int i = 0; i < 4; i++) {
        ok_p(log, 77, 2, i * 3, 3, false);
        ok_p(log, 5, 0, i, 1, i == 3);
        rolls[i] = weir_plog_end_offset(log);
        assert_int_equal(weir_plog_roll(log), 0);
    }
    char rel[64];
    for (int i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, DIR "/%020lld.snapshot", (long long)rolls[i]);
        assert_int_equal(file_size(fixture_path(f, rel)) > 0, i >= 2);
    }
    /* the newest: two producers sorted by id, 46 bytes each after a 10-byte header */
    snprintf(rel, sizeof rel, DIR "/%020lld.snapshot", (long long)rolls[3]);
    FILE *fp = fopen(fixture_path(f, rel), "rb");
    uint8_t raw[200];
    size_t len = fread(raw, 1, sizeof raw, fp);
    fclose(fp);
    assert_int_equal(len, 10 + 2 * 46);
    assert_int_equal(weir_get_be16(raw), 1);
    assert_true(weir_get_be32(raw + 2) == weir_crc32c(0, raw + 6, len - 6));
    assert_int_equal(weir_get_be32(raw + 6), 2);
    const uint8_t *p = raw + 10;
    assert_true(weir_get_be64(p) == 5);                          /* producer id */
    assert_int_equal((int16_t)weir_get_be16(p + 8), 0);          /* epoch */
    assert_int_equal((int32_t)weir_get_be32(p + 10), 3);         /* last sequence */
    assert_true((int64_t)weir_get_be64(p + 14) == rolls[3] - 1); /* last offset */
    assert_int_equal((int32_t)weir_get_be32(p + 22), 0);         /* offset delta */
    assert_int_equal((int32_t)weir_get_be32(p + 34), -1);        /* coordinator epoch */
    assert_true((int64_t)weir_get_be64(p + 38) == rolls[3] - 1); /* open transaction */
    p += 46;
    assert_true(weir_get_be64(p) == 77);
    assert_int_equal((int16_t)weir_get_be16(p + 8), 2);
    assert_int_equal((int32_t)weir_get_be32(p + 10), 11);
    assert_int_equal((int32_t)weir_get_be32(p + 22), 2);
    assert_true((int64_t)weir_get_be64(p + 38) == -1);
    weir_producer_entry *e;
    size_t n;
    const char *why = NULL;
    assert_int_equal(weir_snapshot_decode(raw, len, &e, &n, &why), 0);
    assert_int_equal(n, 2);
    assert_true(e[0].producer_id == 5 && e[0].current_txn_first_offset == rolls[3] - 1);
    assert_true(e[1].producer_id == 77 && e[1].last_sequence == 11 && e[1].offset_delta == 2);
    free(e);
    /* a damaged newest snapshot is deleted and the one before used, plus a replay */
    raw[20] ^= 0xff;
    fp = fopen(fixture_path(f, rel), "wb");
    fwrite(raw, 1, len, fp);
    fclose(fp);
    pstate_image before;
    image_of(weir_plog_producer_state(log), &before);
    weir_plog_abandon(log);
    weir_log_recovery rep;
    log = open_log(f, &cfg, &rep);
    assert_true(rep.snapshot_offset == rolls[2]);
    assert_int_equal(rep.snapshots_dropped, 1);
    pstate_image after;
    image_of(weir_plog_producer_state(log), &after);
    image_equal(&before, &after);
    image_free(&before);
    image_free(&after);
    weir_plog_abandon(log);
}

static void a_follower_keeps_the_same_state_and_txnindex_as_its_leader(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 700;
    weir_plog *leader = open_log(f, &cfg, NULL);
    busy_workload(leader);
    weir_plog *follower = NULL;
    cfg.segment_ms = 0;
    assert_int_equal(weir_plog_open(f->env, "t-1", &cfg, NULL, &follower), 0);
    for (int64_t off = 0; off < weir_plog_end_offset(leader);) {
        weir_log_read_result r;
        assert_int_equal(weir_plog_read(leader, off, 500, true, &r), 0);
        assert_int_equal(weir_plog_append_follower(follower, r.data, r.len, NULL, NULL), 0);
        off = r.next_offset;
        weir_log_read_result_free(&r);
    }
    pstate_image a, b;
    image_of(weir_plog_producer_state(leader), &a);
    image_of(weir_plog_producer_state(follower), &b);
    image_equal(&a, &b);
    image_free(&a);
    image_free(&b);
    weir_aborted_txn *ta, *tb;
    size_t na, nb;
    assert_int_equal(weir_plog_aborted_txns(leader, 0, INT64_MAX, &ta, &na), 0);
    assert_int_equal(weir_plog_aborted_txns(follower, 0, INT64_MAX, &tb, &nb), 0);
    assert_true(na == nb && na > 0);
    assert_memory_equal(ta, tb, na * sizeof *ta);
    free(ta);
    free(tb);
    assert_true(weir_plog_lso(leader, 20) == weir_plog_lso(follower, 20));
    weir_plog_abandon(follower);
    weir_plog_abandon(leader);
}

static void retention_keeps_the_state_of_producers_whose_batches_it_deleted(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.retention_bytes = 1;
    weir_plog *log = open_log(f, &cfg, NULL);
    ok_p(log, 11, 0, 0, 3, true);
    assert_int_equal(weir_plog_roll(log), 0);
    marker(log, 11, 0, 0, false);
    assert_int_equal(weir_plog_roll(log), 0);
    append_batch(log, 1, 5, 1, 10, 0);
    weir_log_retention_report rr;
    assert_int_equal(weir_plog_apply_retention(log, 0, &rr), 0);
    assert_int_equal(rr.segments_deleted, 2);
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000003.txnindex")), -1);
    weir_pstate_entry e;
    assert_true(weir_plog_producer(log, 11, &e));
    assert_int_equal(e.batches[e.n_batches - 1].last_seq, 2);
    refused_p(log, 11, 0, 5, 1, false, WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE);
    assert_int_equal(weir_plog_close(log), 0);
    log = open_log(f, &cfg, NULL);
    assert_true(weir_plog_producer(log, 11, &e));
    ok_p(log, 11, 0, 3, 1, false);
    weir_plog_abandon(log);
}

/* Where an open after a crash starts its replay: the newest snapshot at or
 * below the recovery-point checkpoint (entries from there on are rewritten;
 * those below were synced before that snapshot was written). */
static int64_t replay_start(log_fixture *f)
{
    int64_t rp = 0;
    char why[160];
    if (weir_offset_checkpoint_read(f->env, DIR, WEIR_RECOVERY_CHECKPOINT, "t", 0, &rp, why,
                                    sizeof why) != 0) {
        rp = 0;
    }
    weir_dirlist list = {0};
    assert_int_equal(weir_fs_list(f->env, DIR, &list), 0);
    int64_t best = 0;
    for (size_t i = 0; i < list.count; i++) {
        int64_t off = weir_segment_parse_name(list.names[i], "snapshot");
        if (off >= 0 && off <= rp && off > best) {
            best = off;
        }
    }
    weir_fs_list_free(&list);
    return best;
}

/* Random appends, transactions, markers, rolls, truncations, clean restarts
 * and crashes (sometimes with a torn .txnindex); after every step the state
 * must equal a replay of the whole log. */
static void random_workloads_always_agree_with_a_replay_of_the_whole_log(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 1200;
    weir_prng rng;
    weir_prng_seed(&rng, 2024);
    weir_plog *log = open_log(f, &cfg, NULL);
    int restarts = 0, truncations = 0, aborts = 0, torn = 0;
    for (int step = 0; step < 600; step++) {
        uint64_t pick = weir_prng_below(&rng, 100);
        int64_t pid = 1 + (int64_t)weir_prng_below(&rng, 4);
        weir_pstate_entry e;
        bool known = weir_plog_producer(log, pid, &e);
        int16_t epoch = known ? e.epoch : 0;
        int32_t next = known && e.n_batches > 0 ? e.batches[e.n_batches - 1].last_seq + 1 : 0;
        bool in_txn = known && e.current_txn_first_offset >= 0;
        if (pick < 45) {
            bool txn = in_txn || weir_prng_below(&rng, 2) == 0;
            ok_p(log, pid, epoch, next, 1 + (int)weir_prng_below(&rng, 3), txn);
        } else if (pick < 55) {
            append_batch(log, 1, step, step, 20, 0);
        } else if (pick < 70) {
            bool commit = weir_prng_below(&rng, 2) == 0;
            bool bump = weir_prng_below(&rng, 4) == 0;
            aborts += in_txn && !commit;
            marker(log, pid, (int16_t)(epoch + bump), known ? e.coordinator_epoch + 1 : 0, commit);
        } else if (pick < 76) {
            assert_int_equal(weir_plog_roll(log), 0);
        } else if (pick < 82) {
            int64_t start = weir_plog_start_offset(log), end = weir_plog_end_offset(log);
            int64_t to = end - (int64_t)weir_prng_below(&rng, 8);
            assert_int_equal(weir_plog_truncate_to(log, to < start ? start : to), 0);
            truncations++;
        } else if (pick < 88) {
            assert_int_equal(weir_plog_close(log), 0);
            log = open_log(f, &cfg, NULL);
            restarts++;
        } else if (pick < 94) {
            if (weir_prng_below(&rng, 2) == 0) {
                assert_int_equal(weir_plog_flush(log), 0);
            }
            const weir_segment *act = weir_plog_segment_at(log, weir_plog_segment_count(log) - 1);
            char rel[64];
            snprintf(rel, sizeof rel, DIR "/%020lld.txnindex", (long long)act->base_offset);
            const weir_txn_index *tix = &act->txn;
            int64_t last_marker = tix->n > 0 ? tix->e[tix->n - 1].last_offset : -1;
            weir_plog_abandon(log);
            if (last_marker >= replay_start(f)) {
                /* an entry the next open replays, torn by the crash */
                long size = file_size(fixture_path(f, rel));
                long cut = 1 + (long)weir_prng_below(&rng, WEIR_TXN_INDEX_ENTRY_BYTES);
                assert_int_equal(truncate(fixture_path(f, rel), size - cut), 0);
                torn++;
            }
            log = open_log(f, &cfg, NULL);
            restarts++;
        } else {
            /* a retry of the last batch, or a stale sequence */
            if (known && e.n_batches > 0) {
                const weir_pstate_batch *b = &e.batches[e.n_batches - 1];
                weir_log_append_info info;
                int err = append_p(log, pid, e.epoch, b->first_seq, b->last_seq - b->first_seq + 1,
                                   in_txn, &info);
                assert_true((err == 0 && info.duplicate && info.last_offset == b->last_offset) ||
                            (err == WEIR_E_PRODUCER &&
                             info.producer_error == WEIR_PSTATE_INVALID_TXN_STATE));
            }
        }
        check_against_replay(log);
    }
    assert_true(restarts > 10 && truncations > 10 && aborts > 5 && torn > 0);
    weir_verify_report vr;
    assert_int_equal(weir_plog_close(log), 0);
    assert_int_equal(weir_log_verify(f->env, DIR, NULL, NULL, &vr), 0);
    assert_int_equal(vr.problems, 0);
}

/* ---- in the simulator: crashes that tear what was not synced ---- */

/* One node opens the log, checks it, runs a random sequence and closes it or
 * not; a driver node crashes and restarts it every millisecond, and the
 * simulated disk keeps a random part of every unsynced write (or zeros). The
 * producer state and aborted transactions after every open must equal a
 * replay of whatever the log kept. Runs in a forked child (SimGrid
 * initialises once per process) and reports through `failure`, not cmocka. */
typedef struct sim_run {
    weir_prng rng;
    weir_log_config cfg;
    bool closed_cleanly;
    int incarnation;
    int sequences;
    int steps;
    int markers;
    int aborts;
    int truncations;
    int duplicates;
    int snapshot_loads;
    int64_t replayed;
    char failure[700];
} sim_run;

#define SIM_FAIL(st, ...)                                                                          \
    do {                                                                                           \
        snprintf((st)->failure, sizeof(st)->failure, __VA_ARGS__);                                 \
        return false;                                                                              \
    } while (0)

static uint64_t sim_rnd(sim_run *st, uint64_t n)
{
    return weir_prng_below(&st->rng, n);
}

static bool sim_check(sim_run *st, weir_plog *log, const char *when)
{
    char msg[600];
    const char *why = replay_diff(log, msg, sizeof msg);
    if (why != NULL) {
        SIM_FAIL(st, "%s: %s", when, why);
    }
    return true;
}

static bool sim_step(sim_run *st, weir_plog *log)
{
    uint64_t pick = sim_rnd(st, 100);
    int64_t pid = 1 + (int64_t)sim_rnd(st, 4);
    weir_pstate_entry e;
    bool known = weir_plog_producer(log, pid, &e);
    const weir_pstate_batch *last = known && e.n_batches > 0 ? &e.batches[e.n_batches - 1] : NULL;
    int16_t epoch = known ? e.epoch : 0;
    int32_t next = last != NULL ? weir_seq_add(last->last_seq, 1) : 0;
    bool in_txn = known && e.current_txn_first_offset >= 0;
    int64_t end = weir_plog_end_offset(log);
    weir_log_append_info info;
    int err = 0;
    st->steps++;
    if (pick < 40) {
        bool txn = in_txn || sim_rnd(st, 2) == 0;
        err = append_p(log, pid, epoch, next, 1 + (int)sim_rnd(st, 3), txn, &info);
        if (err != 0 || info.duplicate || info.first_offset != end) {
            SIM_FAIL(st, "append of %lld seq %d at %lld: %s (%s), duplicate %d at %lld",
                     (long long)pid, next, (long long)end, weir_err_str(err),
                     weir_pstate_result_str(info.producer_error), info.duplicate,
                     (long long)info.first_offset);
        }
    } else if (pick < 50) {
        size_t len;
        uint8_t *b = make_batch(1 + (int)sim_rnd(st, 3), g_ts_base, st->steps, 20, &len);
        err = weir_plog_append_leader(log, b, len, 0, &info, NULL);
        free(b);
    } else if (pick < 65) {
        bool commit = sim_rnd(st, 2) == 0;
        int16_t bump = sim_rnd(st, 4) == 0 ? 1 : 0;
        int32_t coord = known && e.coordinator_epoch >= 0 ? e.coordinator_epoch : 0;
        coord += (int32_t)sim_rnd(st, 2);
        err = weir_plog_append_marker(log, pid, (int16_t)(epoch + bump), coord, commit, 0, &info,
                                      NULL);
        st->markers++;
        st->aborts += in_txn && !commit;
    } else if (pick < 70) {
        err = weir_plog_roll(log);
    } else if (pick < 78) {
        err = weir_plog_flush(log);
    } else if (pick < 85) {
        int64_t to = end - (int64_t)sim_rnd(st, 10);
        err = weir_plog_truncate_to(
            log, to < weir_plog_start_offset(log) ? weir_plog_start_offset(log) : to);
        st->truncations++;
    } else if (pick < 93) {
        if (last != NULL) {
            err = append_p(log, pid, e.epoch, last->first_seq, last->last_seq - last->first_seq + 1,
                           in_txn, &info);
            if (err != 0 || !info.duplicate || info.last_offset != last->last_offset ||
                weir_plog_end_offset(log) != end) {
                SIM_FAIL(st, "retry of %lld seq %d..%d (offset %lld): %s, duplicate %d at %lld",
                         (long long)pid, last->first_seq, last->last_seq,
                         (long long)last->last_offset, weir_err_str(err), info.duplicate,
                         (long long)info.last_offset);
            }
            st->duplicates++;
        }
    } else if (last != NULL) {
        err = append_p(log, pid, e.epoch, weir_seq_add(next, 1), 1, in_txn, &info);
        if (err != WEIR_E_PRODUCER || info.producer_error != WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE ||
            weir_plog_end_offset(log) != end) {
            SIM_FAIL(st, "a gap after %lld seq %d was not refused: %s", (long long)pid,
                     last->last_seq, weir_err_str(err));
        }
        err = 0;
    }
    if (err != 0) {
        SIM_FAIL(st, "step %d (pick %llu) failed: %s", st->steps, (unsigned long long)pick,
                 weir_err_str(err));
    }
    return true;
}

static bool sim_incarnation(weir_env *env, sim_run *st)
{
    g_ts_base = weir_wall_ms(env);
    weir_log_recovery rep;
    weir_plog *log = NULL;
    int err = weir_plog_open(env, DIR, &st->cfg, &rep, &log);
    if (err != 0) {
        SIM_FAIL(st, "open failed: %s", weir_err_str(err));
    }
    if (st->closed_cleanly && (!rep.clean || rep.batches_replayed != 0)) {
        weir_plog_abandon(log);
        SIM_FAIL(st, "a clean close was not recognised (clean %d, %lld batches replayed)",
                 rep.clean, (long long)rep.batches_replayed);
    }
    st->snapshot_loads += rep.snapshot_offset >= 0;
    st->replayed += rep.batches_replayed;
    bool ok = sim_check(st, log, "after open");
    int steps = 1 + (int)sim_rnd(st, 30);
    for (int i = 0; ok && i < steps; i++) {
        ok = sim_step(st, log) && (sim_rnd(st, 4) != 0 || sim_check(st, log, "after a step"));
    }
    ok = ok && sim_check(st, log, "at the end of the sequence");
    st->sequences++;
    st->closed_cleanly = ok && sim_rnd(st, 3) == 0;
    if (st->closed_cleanly) {
        err = weir_plog_close(log);
        if (err != 0) {
            SIM_FAIL(st, "close failed: %s", weir_err_str(err));
        }
    } else {
        weir_plog_abandon(log); /* the crash comes from the driver */
    }
    return ok;
}

static void *sim_node_start(weir_env *env, void *arg)
{
    sim_run *st = arg;
    st->incarnation++;
    if (st->failure[0] == '\0') {
        sim_incarnation(env, st);
    }
    return st;
}

static const weir_node_type sim_node = {"pstate", sim_node_start, NULL};

typedef struct sim_driver {
    weir_world *w;
    sim_run *st;
    int left;
    bool down;
} sim_driver;

static void sim_driver_tick(weir_env *env, void *arg)
{
    sim_driver *d = arg;
    if (d->st->failure[0] != '\0' || d->left == 0) {
        weir_world_stop(d->w);
        return;
    }
    int err = d->down ? weir_world_restart(d->w, "n") : weir_world_crash(d->w, "n");
    if (err != 0) {
        snprintf(d->st->failure, sizeof d->st->failure, "driver: %s", weir_err_str(err));
    }
    d->left -= d->down;
    d->down = !d->down;
    weir_timer_start(env, 1000000, sim_driver_tick, d);
}

static void *sim_driver_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 1000000, sim_driver_tick, arg);
    return arg;
}

static const weir_node_type sim_driver_node = {"driver", sim_driver_start, NULL};

static int sim_run_seed(uint64_t seed, int sequences)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.disk_torn_crash = true;
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    sim_run *st = calloc(1, sizeof *st);
    if (w == NULL || st == NULL) {
        return 1;
    }
    weir_prng_seed(&st->rng, seed);
    weir_log_config_default(&st->cfg);
    st->cfg.segment_bytes = 400 + sim_rnd(st, 1500);
    st->cfg.index_interval_bytes = 100;
    sim_driver d = {w, st, sequences, false};
    if (weir_world_node_add(w, "n", &sim_node, st) != 0 ||
        weir_world_node_add(w, "driver", &sim_driver_node, &d) != 0 ||
        weir_world_run(w, (int64_t)sequences * 3000000 + 1000000000) != 0) {
        fprintf(stderr, "seed %llu: the world did not run\n", (unsigned long long)seed);
        return 1;
    }
    if (st->failure[0] != '\0') {
        fprintf(stderr, "seed %llu, incarnation %d: %s\n", (unsigned long long)seed,
                st->incarnation, st->failure);
        return 1;
    }
    if (d.left != 0 || st->aborts == 0 || st->duplicates == 0 || st->snapshot_loads == 0 ||
        st->replayed == 0) {
        fprintf(stderr,
                "seed %llu: too little happened (%d sequences left, %d aborts, %d "
                "duplicates, %d snapshot loads, %lld batches replayed)\n",
                (unsigned long long)seed, d.left, st->aborts, st->duplicates, st->snapshot_loads,
                (long long)st->replayed);
        return 1;
    }
    fprintf(stderr,
            "seed %llu: %d sequences, %d steps, %d markers (%d aborts), %d truncations, %d "
            "duplicates, %d snapshot loads, %lld batches replayed\n",
            (unsigned long long)seed, st->sequences, st->steps, st->markers, st->aborts,
            st->truncations, st->duplicates, st->snapshot_loads, (long long)st->replayed);
    return 0;
}

static void crashes_that_tear_unsynced_writes_leave_state_equal_to_a_replay(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            _exit(sim_run_seed(seed, 300));
        }
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* ---- countdown faults: the n-th file operation fails ---- */


/* The scripted workload: the same steps every run (a fixed seed), until an
 * operation fails. Returns the first error (0 if it ran through). */
static int fault_workload(weir_env *env, const char *dir)
{
    weir_prng rng;
    weir_prng_seed(&rng, 77);
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 700;
    cfg.segment_ms = 0;
    weir_plog *log = NULL;
    int err = weir_plog_open(env, dir, &cfg, NULL, &log);
    for (int step = 0; err == 0 && step < 50; step++) {
        uint64_t pick = weir_prng_below(&rng, 10);
        int64_t pid = 1 + (int64_t)weir_prng_below(&rng, 3);
        weir_pstate_entry e;
        bool known = weir_plog_producer(log, pid, &e);
        int32_t next = known && e.n_batches > 0 ? e.batches[e.n_batches - 1].last_seq + 1 : 0;
        bool in_txn = known && e.current_txn_first_offset >= 0;
        bool coin = weir_prng_below(&rng, 2) == 0;
        weir_log_append_info info;
        if (pick < 5) {
            err =
                append_p(log, pid, known ? e.epoch : 0, next, 1 + step % 3, in_txn || coin, &info);
        } else if (pick < 8) {
            err = weir_plog_append_marker(
                log, pid, known ? e.epoch : 0,
                known && e.coordinator_epoch > 0 ? e.coordinator_epoch : 0, coin, 0, &info, NULL);
        } else if (pick < 9) {
            int64_t end = weir_plog_end_offset(log);
            err = weir_plog_truncate_to(log, end > 3 ? end - 3 : 0);
        } else {
            err = weir_plog_roll(log);
        }
    }
    if (err == 0) {
        return weir_plog_close(log);
    }
    weir_plog_abandon(log); /* the process dies on the error */
    return err;
}

typedef struct pfault_result {
    long runs;
    long ops;
    size_t aborted; /* aborted transactions the workload leaves */
    char failure[700];
} pfault_result;

static size_t count_aborted(weir_env *env, const char *dir)
{
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    weir_plog *log = NULL;
    weir_aborted_txn *t = NULL;
    size_t n = 0;
    if (weir_plog_open(env, dir, &cfg, NULL, &log) == 0 &&
        weir_plog_aborted_txns(log, 0, INT64_MAX, &t, &n) == 0) {
        free(t);
    }
    weir_plog_abandon(log);
    return n;
}

static void *pfault_start(weir_env *env, void *arg)
{
    pfault_result *res = arg;
    env->log_level = WEIR_LOG_ERROR;
    g_ts_base = weir_wall_ms(env);
    for (long n = 1; n < 100000; n++) {
        char dir[32];
        snprintf(dir, sizeof dir, "f%ld-0", n);
        weir_env *fenv = faulty_wrap(env, n, n % 2 ? WEIR_E_IO : WEIR_E_NOSPC);
        int err = fault_workload(fenv, dir);
        bool fired = the_faulty.fired;
        res->runs++;
        if (!fired) {
            res->ops = the_faulty.ops_done;
            res->aborted = count_aborted(env, dir);
            if (err != 0) {
                snprintf(res->failure, sizeof res->failure,
                         "the workload failed without a fault: %s", weir_err_str(err));
            }
            break;
        }
        /* Reopen on the healthy disk: whatever the failed operation left, the
         * state must be the replay of what the log holds. */
        weir_log_config cfg;
        weir_log_config_default(&cfg);
        cfg.segment_bytes = 700;
        cfg.segment_ms = 0;
        weir_plog *log = NULL;
        err = weir_plog_open(env, dir, &cfg, NULL, &log);
        if (err != 0) {
            snprintf(res->failure, sizeof res->failure, "fault at operation %ld: reopen failed: %s",
                     n, weir_err_str(err));
            break;
        }
        char msg[600];
        const char *why = replay_diff(log, msg, sizeof msg);
        weir_plog_abandon(log);
        if (why != NULL) {
            snprintf(res->failure, sizeof res->failure, "fault at operation %ld: %s", n, why);
            break;
        }
    }
    return res;
}

static const weir_node_type pfault_node = {"pfaults", pfault_start, NULL};

static int pfault_child(void)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, 1);
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    pfault_result res = {0};
    if (w == NULL || weir_world_node_add(w, "n", &pfault_node, &res) != 0 ||
        weir_world_run(w, 1000000000) != 0) {
        return 1;
    }
    if (res.failure[0] != '\0' || res.ops == 0 || res.aborted == 0) {
        fprintf(stderr, "%s (%ld runs)\n", res.failure, res.runs);
        return 1;
    }
    fprintf(stderr,
            "%ld runs: a fault at each of the workload's %ld file operations (%zu aborts)\n",
            res.runs, res.ops, res.aborted);
    return 0;
}

static void every_failed_file_operation_leaves_state_equal_to_a_replay(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(pfault_child());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_retry_of_any_of_the_last_five_batches_is_a_duplicate_but_not_the_sixth_oldest),
        cmocka_unit_test(gaps_stale_epochs_and_new_epochs_not_at_zero_are_refused),
        cmocka_unit_test(sequences_wrap_from_int32_max_to_zero),
        cmocka_unit_test(transactions_open_close_and_fence_by_epochs),
        cmocka_unit_test(many_producers_hash_and_snapshot_sorted_by_id),
        cmocka_unit_test_setup_teardown(
            a_duplicate_returns_the_original_offsets_and_appends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_append_nothing_and_name_the_producer_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            the_lso_waits_for_the_first_open_transaction_and_a_marker_below_the_hw, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            an_abort_writes_a_txnindex_entry_found_by_the_query_and_a_commit_does_not, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_clean_restart_restores_the_state_from_the_snapshot_at_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_crash_rebuilds_the_same_state_by_replay_and_the_txnindex_with_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            truncation_below_a_marker_reopens_the_transaction_and_drops_its_txnindex_entry, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            snapshots_follow_rolls_keep_the_newest_two_and_have_kafkas_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(a_follower_keeps_the_same_state_and_txnindex_as_its_leader,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            retention_keeps_the_state_of_producers_whose_batches_it_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            random_workloads_always_agree_with_a_replay_of_the_whole_log, setup, teardown),
        cmocka_unit_test(crashes_that_tear_unsynced_writes_leave_state_equal_to_a_replay),
        cmocka_unit_test(every_failed_file_operation_leaves_state_equal_to_a_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
