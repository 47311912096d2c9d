/* Unit tests of the history checker in model/: each kind of anomaly is
 * found, named (Jepsen's name where there is one) with its ids and places,
 * and for each one a near miss that is legitimate reports nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "history.h"

static weir_msg_id id(int32_t p, int64_t s)
{
    return (weir_msg_id){p, s};
}

static void a_clean_history_passes(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    for (int64_t i = 0; i < 100; i++) {
        weir_history_ack(&h, id(1, i), (int32_t)(i % 3), i / 3, true);
        weir_history_logged(&h, id(1, i), (int32_t)(i % 3), i / 3);
        weir_history_read(&h, id(1, i), (int32_t)(i % 3), i / 3);
    }
    weir_history_report r = {.max_findings = 8};
    assert_true(weir_history_check(&h, &r));
    assert_int_equal(r.acked_must_survive, 100);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

static void lost_moved_duplicated_reordered_and_dirty_reads_are_each_found(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    /* partition 0: 1:0 @0, 1:2 @1 (1:1 acked at 1 but lost), 1:3 @2,
     * 1:3 again @3, 1:5 @4, 1:4 @5 */
    weir_history_ack(&h, id(1, 0), 0, 0, true);
    weir_history_ack(&h, id(1, 1), 0, 1, true);  /* lost */
    weir_history_ack(&h, id(1, 2), 0, 9, true);  /* acked at 9, ended at 1: moved */
    weir_history_ack(&h, id(1, 7), 0, 7, false); /* acks=1: allowed to vanish */
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_logged(&h, id(1, 2), 0, 1);
    weir_history_logged(&h, id(1, 3), 0, 2);
    weir_history_logged(&h, id(1, 3), 0, 3); /* duplicated */
    weir_history_logged(&h, id(1, 5), 0, 4);
    weir_history_logged(&h, id(1, 4), 0, 5); /* reordered after 1:5 */
    weir_history_read(&h, id(1, 0), 0, 0);
    weir_history_read(&h, id(1, 1), 0, 1); /* read before it was truncated away: dirty */
    weir_history_report r = {.max_findings = 16};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_LOST], 1);
    assert_int_equal(r.counts[WEIR_FINDING_MOVED], 1);
    assert_int_equal(r.counts[WEIR_FINDING_DUPLICATED], 1);
    assert_int_equal(r.counts[WEIR_FINDING_REORDERED], 1);
    assert_int_equal(r.counts[WEIR_FINDING_DIRTY_READ], 1);
    assert_int_equal(r.counts[WEIR_FINDING_INCONSISTENT_OFFSETS], 1); /* P1:1 and P1:2 at 1 */
    bool saw_lost = false;
    for (size_t i = 0; i < r.n_findings; i++) {
        if (r.findings[i].kind == WEIR_FINDING_LOST) {
            saw_lost = r.findings[i].id.seq == 1 && r.findings[i].offset == 1;
        }
    }
    assert_true(saw_lost);
    assert_string_equal(weir_finding_name(WEIR_FINDING_DIRTY_READ), "dirty-read");
    weir_history_report_free(&r);
    weir_history_free(&h);
}

static void findings_beyond_the_limit_are_counted_not_kept(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    for (int64_t i = 0; i < 50; i++) {
        weir_history_ack(&h, id(2, i), 0, i, true); /* none logged: all lost */
    }
    weir_history_report r = {.max_findings = 4};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_LOST], 50);
    assert_int_equal(r.n_findings, 4);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* Message ids round-trip through the start of a value; other values have none. */
static void message_ids_round_trip_through_values(void **state)
{
    (void)state;
    const weir_msg_id ids[] = {
        {0, 0}, {7, 123456789012LL}, {63, -1}, {2147483647, 9223372036854775807LL}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char val[WEIR_MSG_ID_MAX + 8];
        size_t n = weir_msg_id_write(val, ids[i]);
        assert_true(n <= WEIR_MSG_ID_MAX);
        memcpy(val + n, "xxxx", 4);
        weir_msg_id back = {-5, -5};
        assert_true(weir_msg_id_read((const uint8_t *)val, n + 4, &back));
        assert_int_equal(back.producer, ids[i].producer);
        assert_int_equal(back.seq, ids[i].seq);
        assert_false(weir_msg_id_read((const uint8_t *)val, n - 1, &back)); /* cut before the '|' */
    }
    weir_msg_id id;
    assert_false(weir_msg_id_read((const uint8_t *)"Q1:2|", 5, &id));
    assert_false(weir_msg_id_read((const uint8_t *)"P1;2|", 5, &id));
    assert_false(weir_msg_id_read((const uint8_t *)"P:2|", 4, &id));
    assert_false(weir_msg_id_read(NULL, 0, &id));
}

/* ---- helpers for the one-anomaly tests ---- */

/* Checks h and asserts it found exactly `count` findings, all of `kind`;
 * returns the first (the report is freed; the finding is a copy). */
static weir_finding only_finding(weir_history *h, weir_finding_kind kind, size_t count)
{
    weir_history_report r = {.max_findings = 16};
    bool clean = weir_history_check(h, &r);
    size_t total = 0;
    for (int k = 0; k < WEIR_FINDING_KINDS_; k++) {
        if (k != (int)kind && r.counts[k] != 0) {
            print_error("unexpected %s x%zu\n", weir_finding_name((weir_finding_kind)k),
                        r.counts[k]);
        }
        total += r.counts[k];
    }
    assert_false(clean);
    assert_int_equal(r.counts[kind], count);
    assert_int_equal(total, count);
    assert_true(r.n_findings >= 1);
    weir_finding f = r.findings[0];
    assert_int_equal(f.kind, kind);
    weir_history_report_free(&r);
    return f;
}

static void assert_clean(weir_history *h)
{
    weir_history_report r = {.max_findings = 16};
    bool clean = weir_history_check(h, &r);
    for (size_t i = 0; i < r.n_findings; i++) {
        print_error("unexpected %s: P%d:%lld at %d/%lld\n", weir_finding_name(r.findings[i].kind),
                    r.findings[i].id.producer, (long long)r.findings[i].id.seq,
                    r.findings[i].partition, (long long)r.findings[i].offset);
    }
    assert_true(clean);
    assert_int_equal(r.n_findings, 0);
    weir_history_report_free(&r);
}

static void assert_id(weir_msg_id got, weir_msg_id want)
{
    assert_int_equal(got.producer, want.producer);
    assert_int_equal(got.seq, want.seq);
}

/* partition p holds P1:0.. at offsets 0..n-1, plain */
static void log_plain(weir_history *h, int32_t p, int64_t n)
{
    for (int64_t o = 0; o < n; o++) {
        weir_history_logged(h, id(1, p * 1000 + o), p, o);
    }
}

static void findings_carry_jepsens_names(void **state)
{
    (void)state;
    const char *const want[WEIR_FINDING_KINDS_] = {
        "lost-write",
        "moved",
        "duplicate",
        "reordered",
        "dirty-read",
        "inconsistent-offsets",
        "poll-skip",
        "nonmonotonic-poll",
        "reread-beyond-commit",
        "G1a",
        "unseen",
        "torn-transaction",
    };
    for (int k = 0; k < WEIR_FINDING_KINDS_; k++) {
        assert_string_equal(weir_finding_name((weir_finding_kind)k), want[k]);
    }
    assert_string_equal(weir_finding_name(WEIR_FINDING_KINDS_), "?");
}

/* ---- inconsistent-offsets ---- */

static void one_offset_read_as_another_message_than_the_log_holds_is_inconsistent(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 4);
    weir_history_read(&h, id(1, 0), 0, 0);
    weir_history_read(&h, id(9, 9), 0, 2); /* the log holds P1:2 there */
    weir_history_read(&h, id(1, 2), 0, 2);
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_DIRTY_READ], 1);
    assert_int_equal(r.counts[WEIR_FINDING_INCONSISTENT_OFFSETS], 1);
    assert_int_equal(r.n_findings, 2);
    const weir_finding *f = &r.findings[1]; /* dirty-read is checked first */
    assert_int_equal(f->kind, WEIR_FINDING_INCONSISTENT_OFFSETS);
    assert_id(f->id, id(1, 2)); /* the final log's message */
    assert_id(f->other_id, id(9, 9));
    assert_int_equal(f->partition, 0);
    assert_int_equal(f->offset, 2);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

static void two_reads_disagreeing_where_the_log_holds_nothing_are_inconsistent(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 3, 2);
    weir_history_read(&h, id(5, 1), 3, 7);
    weir_history_read(&h, id(4, 8), 3, 7);
    weir_history_read(&h, id(5, 1), 3, 7);
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_DIRTY_READ], 3);
    assert_int_equal(r.counts[WEIR_FINDING_INCONSISTENT_OFFSETS], 1);
    const weir_finding *f = &r.findings[3];
    assert_int_equal(f->kind, WEIR_FINDING_INCONSISTENT_OFFSETS);
    assert_id(f->id, id(4, 8)); /* no log entry: the lowest id, then the next */
    assert_id(f->other_id, id(5, 1));
    assert_int_equal(f->partition, 3);
    assert_int_equal(f->offset, 7);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

static void a_final_log_with_two_messages_at_one_offset_is_inconsistent(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_logged(&h, id(2, 0), 0, 0);
    weir_finding f = only_finding(&h, WEIR_FINDING_INCONSISTENT_OFFSETS, 1);
    assert_id(f.id, id(1, 0));
    assert_id(f.other_id, id(2, 0));
    assert_int_equal(f.offset, 0);
    weir_history_free(&h);
}

/* A read of data later truncated, with nothing else seen there: dirty, not inconsistent. */
static void a_truncated_read_alone_is_dirty_not_inconsistent(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 3);
    weir_history_read(&h, id(1, 3), 0, 3);
    weir_history_read(&h, id(1, 3), 0, 3);
    weir_finding f = only_finding(&h, WEIR_FINDING_DIRTY_READ, 2);
    assert_id(f.id, id(1, 3));
    weir_history_free(&h);
}

/* ---- poll-skip and nonmonotonic-poll ---- */

static void a_poll_jumping_over_data_is_a_poll_skip(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 6);
    weir_history_poll(&h, 4, 0, id(1, 0), 0, 0, false);
    weir_history_poll(&h, 4, 0, id(1, 1), 0, 1, false);
    weir_history_poll(&h, 4, 0, id(1, 4), 0, 4, false); /* 2 and 3 hold data */
    weir_history_poll(&h, 4, 0, id(1, 5), 0, 5, false);
    weir_finding f = only_finding(&h, WEIR_FINDING_POLL_SKIP, 1);
    assert_id(f.id, id(1, 4));
    assert_int_equal(f.partition, 0);
    assert_int_equal(f.offset, 4);
    assert_int_equal(f.other_offset, 2);
    assert_int_equal(f.consumer, 4);
    weir_history_free(&h);
}

/* Offset 2 is a control record (a commit marker: no message in the final
 * log) and 3..4 are an aborted transaction's records: a read_committed
 * consumer skips all three. */
static void a_poll_over_control_records_and_aborted_data_is_not_a_skip(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_logged_vis(&h, id(2, 0), 0, 1, WEIR_VIS_COMMITTED);
    weir_history_logged_vis(&h, id(2, 1), 0, 3, WEIR_VIS_ABORTED);
    weir_history_logged_vis(&h, id(2, 2), 0, 4, WEIR_VIS_ABORTED);
    weir_history_logged(&h, id(1, 1), 0, 6); /* 5: the abort marker */
    weir_history_send_in_txn(&h, id(2, 0), 1);
    weir_history_send_in_txn(&h, id(2, 1), 2);
    weir_history_send_in_txn(&h, id(2, 2), 2);
    weir_history_txn(&h, 1, WEIR_TXN_COMMITTED);
    weir_history_txn(&h, 2, WEIR_TXN_ABORTED);
    weir_history_poll(&h, 0, 0, id(1, 0), 0, 0, true);
    weir_history_poll(&h, 0, 0, id(2, 0), 0, 1, true);
    weir_history_poll(&h, 0, 0, id(1, 1), 0, 6, true);
    assert_clean(&h);
    /* at read_uncommitted the aborted records are data it should have had */
    weir_history_poll(&h, 1, 0, id(2, 0), 0, 1, false);
    weir_history_poll(&h, 1, 0, id(1, 1), 0, 6, false);
    weir_finding f = only_finding(&h, WEIR_FINDING_POLL_SKIP, 1);
    assert_int_equal(f.consumer, 1);
    assert_int_equal(f.offset, 6);
    assert_int_equal(f.other_offset, 2);
    weir_history_free(&h);
}

static void polls_going_back_or_repeating_are_nonmonotonic(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 1, 4);
    weir_history_poll(&h, 2, 5, id(1, 1000), 1, 0, false);
    weir_history_poll(&h, 2, 5, id(1, 1001), 1, 1, false);
    weir_history_poll(&h, 2, 5, id(1, 1002), 1, 2, false);
    weir_history_poll(&h, 2, 5, id(1, 1001), 1, 1, false); /* back */
    weir_history_poll(&h, 2, 5, id(1, 1002), 1, 2, false);
    weir_history_poll(&h, 2, 5, id(1, 1002), 1, 2, false); /* again */
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_NONMONOTONIC_POLL], 2);
    assert_int_equal(r.n_findings, 2);
    assert_id(r.findings[0].id, id(1, 1001));
    assert_int_equal(r.findings[0].partition, 1);
    assert_int_equal(r.findings[0].offset, 1);
    assert_int_equal(r.findings[0].other_offset, 3);
    assert_int_equal(r.findings[0].consumer, 2);
    assert_int_equal(r.findings[1].offset, 2);
    assert_int_equal(r.findings[1].other_offset, 3);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* A new assignment epoch starts over; other consumers and partitions
 * interleave freely; unordered reads are never held to an order. */
static void reads_across_epochs_consumers_and_the_old_api_are_not_polls_out_of_order(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 3);
    log_plain(&h, 1, 3);
    for (int64_t o = 0; o < 3; o++) {
        weir_history_poll(&h, 0, 0, id(1, o), 0, o, false);
        weir_history_poll(&h, 1, 0, id(1, 1000 + o), 1, o, false);
        weir_history_poll(&h, 0, 0, id(1, 1000 + o), 1, o, false);
    }
    weir_history_poll(&h, 0, 1, id(1, 1), 0, 1, false); /* rebalanced: starts again */
    weir_history_poll(&h, 0, 1, id(1, 2), 0, 2, false);
    weir_history_read(&h, id(1, 2), 0, 2);
    weir_history_read(&h, id(1, 0), 0, 0);
    weir_history_read(&h, id(1, 0), 0, 0);
    assert_clean(&h);
    weir_history_free(&h);
}

/* ---- reread-beyond-commit, and poll-skip after a reassignment ---- */

/* Consumer 1 reads 0..4 and the group commits 5; consumer 2 takes over. */
static void group_history(weir_history *h, int64_t resume_at)
{
    weir_history_init(h);
    log_plain(h, 0, 10);
    weir_history_consumer_group(h, 1, 7);
    weir_history_consumer_group(h, 2, 7);
    for (int64_t o = 0; o < 5; o++) {
        weir_history_poll(h, 1, 3, id(1, o), 0, o, false);
    }
    weir_history_commit(h, 7, 0, 3);
    weir_history_commit(h, 7, 0, 5); /* the last commit counts */
    weir_history_commit(h, 8, 0, 9); /* another group's */
    for (int64_t o = resume_at; o < 10; o++) {
        weir_history_poll(h, 2, 4, id(1, o), 0, o, false);
    }
}

static void a_new_owner_starting_before_the_commit_rereads_beyond_it(void **state)
{
    (void)state;
    weir_history h;
    group_history(&h, 3);
    weir_finding f = only_finding(&h, WEIR_FINDING_REREAD_BEYOND_COMMIT, 1);
    assert_id(f.id, id(1, 3));
    assert_int_equal(f.partition, 0);
    assert_int_equal(f.offset, 3);
    assert_int_equal(f.other_offset, 5);
    assert_int_equal(f.consumer, 2);
    weir_history_free(&h);
}

static void a_new_owner_starting_after_the_commit_skips(void **state)
{
    (void)state;
    weir_history h;
    group_history(&h, 7);
    weir_finding f = only_finding(&h, WEIR_FINDING_POLL_SKIP, 1);
    assert_id(f.id, id(1, 7));
    assert_int_equal(f.offset, 7);
    assert_int_equal(f.other_offset, 5);
    assert_int_equal(f.consumer, 2);
    weir_history_free(&h);
}

static void a_new_owner_resuming_exactly_at_the_commit_is_clean(void **state)
{
    (void)state;
    weir_history h;
    group_history(&h, 5);
    assert_clean(&h);
    weir_history_free(&h);
}

/* An old owner's commit of 3, sent before the group's commit of 5 but
 * acknowledged only after it (its answer was held up): placed where it was
 * sent, the new owner resuming at 5 is clean; recorded at its acknowledgement
 * instead, 5 would look like a skip past 3. */
static void a_late_acknowledged_commit_counts_where_it_was_sent(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 10);
    weir_history_consumer_group(&h, 1, 7);
    weir_history_consumer_group(&h, 2, 7);
    for (int64_t o = 0; o < 3; o++) {
        weir_history_poll(&h, 1, 3, id(1, o), 0, o, false);
    }
    size_t sent = h.n_reads; /* consumer 1 sends its commit of 3 */
    for (int64_t o = 3; o < 5; o++) {
        weir_history_poll(&h, 1, 3, id(1, o), 0, o, false);
    }
    weir_history_commit(&h, 7, 0, 5);
    weir_history_commit_sent(&h, 7, 0, 3, sent); /* its late acknowledgement */
    for (int64_t o = 5; o < 10; o++) {
        weir_history_poll(&h, 2, 4, id(1, o), 0, o, false);
    }
    assert_clean(&h);
    weir_history_free(&h);
    /* the same acknowledgement recorded where it arrived: a false skip */
    weir_history_init(&h);
    log_plain(&h, 0, 10);
    weir_history_consumer_group(&h, 1, 7);
    weir_history_consumer_group(&h, 2, 7);
    for (int64_t o = 0; o < 5; o++) {
        weir_history_poll(&h, 1, 3, id(1, o), 0, o, false);
    }
    weir_history_commit(&h, 7, 0, 5);
    weir_history_commit(&h, 7, 0, 3);
    for (int64_t o = 5; o < 10; o++) {
        weir_history_poll(&h, 2, 4, id(1, o), 0, o, false);
    }
    weir_finding f = only_finding(&h, WEIR_FINDING_POLL_SKIP, 1);
    assert_int_equal(f.other_offset, 3);
    weir_history_free(&h);
}

/* The commit points at a marker (offset 2 holds no message): resuming just
 * past it skips nothing. A commit recorded after a run's first read does not
 * apply to it; a consumer in no group is not held to commits; a consumer's
 * later group replaces its earlier one. */
static void resuming_past_a_committed_marker_or_outside_the_group_is_clean(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_logged(&h, id(1, 1), 0, 1);
    weir_history_logged(&h, id(1, 3), 0, 3);
    weir_history_consumer_group(&h, 1, 7);
    weir_history_commit(&h, 7, 0, 2);
    weir_history_poll(&h, 1, 0, id(1, 3), 0, 3, true);
    assert_clean(&h);
    weir_history_free(&h);

    weir_history_init(&h);
    log_plain(&h, 0, 4);
    weir_history_consumer_group(&h, 1, 7);
    weir_history_poll(&h, 1, 0, id(1, 0), 0, 0, false);
    weir_history_commit(&h, 7, 0, 3); /* after the run began: checks nothing */
    weir_history_poll(&h, 1, 0, id(1, 1), 0, 1, false);
    weir_history_poll(&h, 9, 0, id(1, 0), 0, 0, false); /* in no group */
    weir_history_consumer_group(&h, 3, 7);
    weir_history_consumer_group(&h, 3, 5); /* group 5 has committed nothing */
    weir_history_poll(&h, 3, 0, id(1, 0), 0, 0, false);
    assert_clean(&h);
    weir_history_consumer_group(&h, 3, 7); /* now group 7's commit (3) applies */
    weir_finding f = only_finding(&h, WEIR_FINDING_REREAD_BEYOND_COMMIT, 1);
    assert_int_equal(f.consumer, 3);
    assert_int_equal(f.other_offset, 3);
    weir_history_free(&h);
}

/* A pipeline rewinds to its committed offsets after an aborted transaction
 * and reads 2.. again: a seek, not a nonmonotonic poll; a seek before a
 * run's first read replaces the group's commit. Reading behind the seek, or
 * past it over data, is still an anomaly. */
static void a_recorded_seek_sets_where_the_next_read_must_be(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    log_plain(&h, 0, 6);
    weir_history_consumer_group(&h, 1, 7);
    weir_history_commit(&h, 7, 0, 4);
    weir_history_seek(&h, 1, 0, 0, 0); /* seek to the beginning instead */
    for (int64_t o = 0; o < 5; o++) {
        weir_history_poll(&h, 1, 0, id(1, o), 0, o, true);
    }
    weir_history_seek(&h, 1, 0, 0, 2);
    weir_history_seek(&h, 1, 1, 0, 0); /* another epoch's: no effect here */
    for (int64_t o = 2; o < 6; o++) {
        weir_history_poll(&h, 1, 0, id(1, o), 0, o, true);
    }
    assert_clean(&h);
    weir_history_seek(&h, 1, 0, 0, 3);
    weir_history_poll(&h, 1, 0, id(1, 2), 0, 2, true); /* behind the seek */
    weir_finding f = only_finding(&h, WEIR_FINDING_NONMONOTONIC_POLL, 1);
    assert_int_equal(f.offset, 2);
    assert_int_equal(f.other_offset, 3);
    weir_history_seek(&h, 1, 0, 0, 0);
    weir_history_poll(&h, 1, 0, id(1, 4), 0, 4, true); /* past it, over 0..3 */
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_NONMONOTONIC_POLL], 1);
    assert_int_equal(r.counts[WEIR_FINDING_POLL_SKIP], 1);
    assert_int_equal(r.findings[1].kind, WEIR_FINDING_POLL_SKIP);
    assert_int_equal(r.findings[1].offset, 4);
    assert_int_equal(r.findings[1].other_offset, 0);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* ---- G1a ---- */

static void a_read_committed_read_of_a_failed_or_aborted_send_is_g1a(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_logged_vis(&h, id(2, 0), 0, 1, WEIR_VIS_COMMITTED); /* the log says committed */
    weir_history_send_in_txn(&h, id(2, 0), 11);
    weir_history_txn(&h, 11, WEIR_TXN_UNKNOWN);
    weir_history_txn(&h, 11, WEIR_TXN_ABORTED); /* but the producer was told aborted */
    weir_history_poll(&h, 6, 0, id(1, 0), 0, 0, true);
    weir_history_poll(&h, 6, 0, id(2, 0), 0, 1, true);
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_ABORTED_READ], 1);
    assert_int_equal(r.counts[WEIR_FINDING_TORN_TXN], 1); /* aborted, yet visible */
    const weir_finding *f = &r.findings[0];
    assert_int_equal(f->kind, WEIR_FINDING_ABORTED_READ);
    assert_id(f->id, id(2, 0));
    assert_int_equal(f->partition, 0);
    assert_int_equal(f->offset, 1);
    assert_int_equal(f->txn, 11);
    assert_int_equal(f->consumer, 6);
    weir_history_report_free(&r);
    weir_history_free(&h);

    /* a failed send, and a message the log holds behind an ABORT marker */
    weir_history_init(&h);
    weir_history_logged(&h, id(3, 0), 2, 0);
    weir_history_logged_vis(&h, id(3, 1), 2, 1, WEIR_VIS_ABORTED);
    weir_history_send_failed(&h, id(3, 0));
    weir_history_poll(&h, 6, 0, id(3, 0), 2, 0, true);
    weir_history_poll(&h, 6, 0, id(3, 1), 2, 1, true);
    weir_finding g = only_finding(&h, WEIR_FINDING_ABORTED_READ, 2);
    assert_id(g.id, id(3, 0));
    assert_int_equal(g.partition, 2);
    assert_int_equal(g.txn, -1);
    weir_history_free(&h);
}

static void read_uncommitted_reads_of_aborted_data_and_committed_reads_are_not_g1a(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged_vis(&h, id(2, 0), 0, 0, WEIR_VIS_ABORTED);
    weir_history_logged_vis(&h, id(2, 1), 0, 2, WEIR_VIS_COMMITTED);
    weir_history_send_in_txn(&h, id(2, 0), 1);
    weir_history_send_in_txn(&h, id(2, 1), 2);
    weir_history_txn(&h, 1, WEIR_TXN_ABORTED);
    weir_history_txn(&h, 2, WEIR_TXN_COMMITTED);
    weir_history_poll(&h, 0, 0, id(2, 0), 0, 0, false); /* read_uncommitted may */
    weir_history_poll(&h, 0, 0, id(2, 1), 0, 2, false);
    weir_history_poll(&h, 1, 0, id(2, 1), 0, 2, true);
    weir_history_read(&h, id(2, 0), 0, 0);
    assert_clean(&h);
    weir_history_free(&h);
}

/* ---- unseen ---- */

static void an_acknowledged_message_nobody_read_is_unseen_when_all_must_be_read(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    for (int64_t o = 0; o < 4; o++) {
        weir_history_ack(&h, id(1, o), 0, o, true);
        weir_history_logged(&h, id(1, o), 0, o);
    }
    weir_history_ack(&h, id(1, 9), 0, 9, false); /* acks=1, gone: not expected */
    weir_history_read(&h, id(1, 0), 0, 0);
    weir_history_poll(&h, 0, 0, id(1, 1), 0, 1, false);
    weir_history_poll(&h, 0, 0, id(1, 3), 0, 3, true); /* skips 2: also a poll-skip */
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_UNSEEN], 0); /* not asked for */
    assert_int_equal(r.counts[WEIR_FINDING_POLL_SKIP], 1);
    weir_history_expect_all_read(&h);
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_UNSEEN], 1);
    assert_int_equal(r.counts[WEIR_FINDING_POLL_SKIP], 1);
    assert_int_equal(r.n_findings, 2);
    assert_int_equal(r.findings[0].kind, WEIR_FINDING_UNSEEN);
    assert_id(r.findings[0].id, id(1, 2));
    assert_int_equal(r.findings[0].partition, 0);
    assert_int_equal(r.findings[0].offset, 2);
    assert_int_equal(r.findings[0].other_offset, 2);
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* Lost messages are lost-writes, not also unseen; aborted ones need no reader. */
static void lost_aborted_and_read_messages_are_not_unseen(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_expect_all_read(&h);
    weir_history_ack(&h, id(1, 0), 0, 0, true);
    weir_history_logged(&h, id(1, 0), 0, 0);
    weir_history_read(&h, id(1, 0), 0, 0);
    weir_history_ack(&h, id(2, 0), 0, 1, true);
    weir_history_logged_vis(&h, id(2, 0), 0, 1, WEIR_VIS_ABORTED);
    weir_history_ack(&h, id(2, 1), 0, 2, true);
    weir_history_logged_vis(&h, id(2, 1), 0, 2, WEIR_VIS_OPEN);
    assert_clean(&h);
    weir_history_ack(&h, id(1, 1), 0, 5, true); /* nowhere */
    weir_finding f = only_finding(&h, WEIR_FINDING_LOST, 1);
    assert_id(f.id, id(1, 1));
    weir_history_free(&h);
}

/* ---- torn-transaction ---- */

static void a_committed_transaction_half_aborted_is_torn(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    weir_history_logged_vis(&h, id(4, 0), 0, 0, WEIR_VIS_COMMITTED);
    weir_history_logged_vis(&h, id(4, 1), 1, 0, WEIR_VIS_ABORTED); /* a marker went astray */
    weir_history_send_in_txn(&h, id(4, 1), 21);
    weir_history_send_in_txn(&h, id(4, 0), 21);
    weir_history_txn(&h, 21, WEIR_TXN_COMMITTED);
    weir_finding f = only_finding(&h, WEIR_FINDING_TORN_TXN, 1);
    assert_int_equal(f.txn, 21);
    assert_id(f.id, id(4, 0));
    assert_int_equal(f.partition, 0);
    assert_int_equal(f.offset, 0);
    assert_id(f.other_id, id(4, 1));
    assert_int_equal(f.other_offset, 0);
    weir_history_free(&h);
}

static void a_transaction_with_a_message_missing_or_contradicting_its_outcome_is_torn(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    /* txn 1: committed, one of its two messages is not in the log */
    weir_history_logged_vis(&h, id(5, 0), 0, 0, WEIR_VIS_COMMITTED);
    weir_history_send_in_txn(&h, id(5, 0), 1);
    weir_history_send_in_txn(&h, id(5, 1), 1);
    weir_history_txn(&h, 1, WEIR_TXN_COMMITTED);
    /* txn 2: outcome unknown, one message visible, the other still open */
    weir_history_logged_vis(&h, id(6, 0), 0, 2, WEIR_VIS_COMMITTED);
    weir_history_logged_vis(&h, id(6, 1), 1, 0, WEIR_VIS_OPEN);
    weir_history_send_in_txn(&h, id(6, 0), 2);
    weir_history_send_in_txn(&h, id(6, 1), 2);
    /* txn 3: committed, but the log aborted all of it */
    weir_history_logged_vis(&h, id(7, 0), 2, 0, WEIR_VIS_ABORTED);
    weir_history_send_in_txn(&h, id(7, 0), 3);
    weir_history_txn(&h, 3, WEIR_TXN_COMMITTED);
    /* txn 4: aborted, its sends recorded as failed, yet one is visible */
    weir_history_logged_vis(&h, id(8, 0), 2, 1, WEIR_VIS_ABORTED);
    weir_history_logged_vis(&h, id(8, 1), 2, 2, WEIR_VIS_COMMITTED);
    weir_history_send_in_txn(&h, id(8, 0), 4);
    weir_history_send_in_txn(&h, id(8, 1), 4);
    weir_history_send_in_txn(&h, id(8, 2), 4); /* failed before the append */
    weir_history_send_failed(&h, id(8, 0));
    weir_history_send_failed(&h, id(8, 1));
    weir_history_send_failed(&h, id(8, 2));
    weir_history_txn(&h, 4, WEIR_TXN_ABORTED);
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_TORN_TXN], 4);
    assert_int_equal(r.n_findings, 4);
    assert_int_equal(r.findings[3].txn, 4);
    assert_id(r.findings[3].id, id(8, 1));
    assert_id(r.findings[3].other_id, id(8, 0));
    assert_int_equal(r.findings[3].other_offset, 1);
    assert_int_equal(r.findings[0].txn, 1);
    assert_id(r.findings[0].id, id(5, 0));
    assert_id(r.findings[0].other_id, id(5, 1));
    assert_int_equal(r.findings[0].other_offset, -1); /* not in the log */
    assert_int_equal(r.findings[1].txn, 2);
    assert_id(r.findings[1].other_id, id(6, 1));
    assert_int_equal(r.findings[1].other_offset, 0);
    assert_int_equal(r.findings[2].txn, 3);
    assert_id(r.findings[2].id, id(7, 0));
    assert_int_equal(r.findings[2].partition, 2);
    assert_id(r.findings[2].other_id, (weir_msg_id){-1, -1});
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* A consume-transform-produce pipeline writes an output message in
 * transaction 1, aborts (the simulator records its sends as failed) and
 * writes the same message again in transaction 2, which commits: one
 * message, not a duplicate, not reordered, not torn; a read_committed read
 * of the committed copy is no aborted read. */
static void a_message_retried_after_an_abort_in_a_later_transaction_is_clean(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    for (int64_t s = 0; s < 3; s++) {
        weir_history_logged_vis(&h, id(9, s), 0, s, WEIR_VIS_ABORTED);
        weir_history_send_in_txn(&h, id(9, s), 1);
        weir_history_send_failed(&h, id(9, s));
    }
    weir_history_logged_vis(&h, id(8, 0), 1, 0, WEIR_VIS_ABORTED); /* not retried */
    weir_history_send_in_txn(&h, id(8, 0), 1);
    weir_history_send_failed(&h, id(8, 0));
    weir_history_txn(&h, 1, WEIR_TXN_ABORTED); /* 3: the abort marker */
    for (int64_t s = 0; s < 3; s++) {
        weir_history_logged_vis(&h, id(9, s), 0, 4 + s, WEIR_VIS_COMMITTED);
        weir_history_send_in_txn(&h, id(9, s), 2);
        weir_history_ack(&h, id(9, s), 0, 4 + s, true);
    }
    weir_history_txn(&h, 2, WEIR_TXN_COMMITTED); /* 7: the commit marker */
    for (int64_t s = 0; s < 3; s++) {
        weir_history_poll(&h, 0, 0, id(9, s), 0, 4 + s, true);
    }
    assert_clean(&h);
    /* a third copy, visible too: a duplicate, out of order, and a visible
     * copy more than the one committed transaction explains, so the
     * aborted one is torn */
    weir_history_logged(&h, id(9, 0), 0, 8);
    weir_history_report r = {.max_findings = 8};
    assert_false(weir_history_check(&h, &r));
    assert_int_equal(r.counts[WEIR_FINDING_DUPLICATED], 1);
    assert_int_equal(r.counts[WEIR_FINDING_REORDERED], 1);
    assert_int_equal(r.counts[WEIR_FINDING_TORN_TXN], 1);
    assert_int_equal(r.n_findings, 3);
    assert_int_equal(r.findings[2].txn, 1);
    assert_id(r.findings[2].id, id(9, 0));
    assert_int_equal(r.findings[0].kind, WEIR_FINDING_DUPLICATED);
    assert_int_equal(r.findings[0].offset, 8);
    assert_int_equal(r.findings[0].other_offset, 4); /* not the aborted copy at 0 */
    weir_history_report_free(&r);
    weir_history_free(&h);
}

/* Whole transactions, committed or aborted, with markers between them, a
 * failed send left out of its transaction, read_committed consumers
 * skipping what they must and a rebalance resuming at the commit. */
static void a_clean_transactional_group_history_passes(void **state)
{
    (void)state;
    weir_history h;
    weir_history_init(&h);
    /* partition 0: 0 T1a, 1 T2a (aborted), 2 marker, 3 marker, 4 plain, 5 T3a (open) */
    /* partition 1: 0 T1b, 1 T2b (aborted), 2 marker, 3 marker */
    weir_history_logged_vis(&h, id(1, 0), 0, 0, WEIR_VIS_COMMITTED);
    weir_history_logged_vis(&h, id(2, 0), 0, 1, WEIR_VIS_ABORTED);
    weir_history_logged(&h, id(3, 0), 0, 4);
    weir_history_logged_vis(&h, id(4, 0), 0, 5, WEIR_VIS_OPEN);
    weir_history_logged_vis(&h, id(1, 1), 1, 0, WEIR_VIS_COMMITTED);
    weir_history_logged_vis(&h, id(2, 1), 1, 1, WEIR_VIS_ABORTED);
    weir_history_send_in_txn(&h, id(1, 0), 1);
    weir_history_send_in_txn(&h, id(1, 1), 1);
    weir_history_send_in_txn(&h, id(1, 2), 1);
    weir_history_send_failed(&h, id(1, 2)); /* never written: not part of T1's fate */
    weir_history_send_in_txn(&h, id(2, 0), 2);
    weir_history_send_in_txn(&h, id(2, 1), 2);
    weir_history_send_failed(&h, id(2, 0)); /* as the simulator records an abort */
    weir_history_send_failed(&h, id(2, 1));
    weir_history_send_in_txn(&h, id(4, 0), 3);
    weir_history_txn(&h, 1, WEIR_TXN_COMMITTED);
    weir_history_txn(&h, 2, WEIR_TXN_ABORTED);
    weir_history_ack(&h, id(1, 0), 0, 0, true);
    weir_history_ack(&h, id(1, 1), 1, 0, true);
    weir_history_ack(&h, id(3, 0), 0, 4, true);
    weir_history_expect_all_read(&h);
    weir_history_consumer_group(&h, 0, 1);
    weir_history_consumer_group(&h, 1, 1);
    weir_history_poll(&h, 0, 1, id(1, 0), 0, 0, true);
    weir_history_poll(&h, 0, 1, id(1, 1), 1, 0, true);
    weir_history_commit(&h, 1, 0, 1);
    weir_history_commit(&h, 1, 1, 1);
    weir_history_poll(&h, 1, 2, id(3, 0), 0, 4, true); /* from 1: aborted, two markers */
    assert_clean(&h);
    weir_history_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_ids_round_trip_through_values),
        cmocka_unit_test(a_clean_history_passes),
        cmocka_unit_test(lost_moved_duplicated_reordered_and_dirty_reads_are_each_found),
        cmocka_unit_test(findings_beyond_the_limit_are_counted_not_kept),
        cmocka_unit_test(findings_carry_jepsens_names),
        cmocka_unit_test(one_offset_read_as_another_message_than_the_log_holds_is_inconsistent),
        cmocka_unit_test(two_reads_disagreeing_where_the_log_holds_nothing_are_inconsistent),
        cmocka_unit_test(a_final_log_with_two_messages_at_one_offset_is_inconsistent),
        cmocka_unit_test(a_truncated_read_alone_is_dirty_not_inconsistent),
        cmocka_unit_test(a_poll_jumping_over_data_is_a_poll_skip),
        cmocka_unit_test(a_poll_over_control_records_and_aborted_data_is_not_a_skip),
        cmocka_unit_test(polls_going_back_or_repeating_are_nonmonotonic),
        cmocka_unit_test(reads_across_epochs_consumers_and_the_old_api_are_not_polls_out_of_order),
        cmocka_unit_test(a_new_owner_starting_before_the_commit_rereads_beyond_it),
        cmocka_unit_test(a_late_acknowledged_commit_counts_where_it_was_sent),
        cmocka_unit_test(a_new_owner_starting_after_the_commit_skips),
        cmocka_unit_test(a_new_owner_resuming_exactly_at_the_commit_is_clean),
        cmocka_unit_test(resuming_past_a_committed_marker_or_outside_the_group_is_clean),
        cmocka_unit_test(a_recorded_seek_sets_where_the_next_read_must_be),
        cmocka_unit_test(a_read_committed_read_of_a_failed_or_aborted_send_is_g1a),
        cmocka_unit_test(read_uncommitted_reads_of_aborted_data_and_committed_reads_are_not_g1a),
        cmocka_unit_test(an_acknowledged_message_nobody_read_is_unseen_when_all_must_be_read),
        cmocka_unit_test(lost_aborted_and_read_messages_are_not_unseen),
        cmocka_unit_test(a_committed_transaction_half_aborted_is_torn),
        cmocka_unit_test(a_transaction_with_a_message_missing_or_contradicting_its_outcome_is_torn),
        cmocka_unit_test(a_message_retried_after_an_abort_in_a_later_transaction_is_clean),
        cmocka_unit_test(a_clean_transactional_group_history_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
