/* Unit tests of the history checker in model/: each kind of anomaly is
 * found, named with its id and place, and a clean history passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

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
    /* partition 0: 1:0 @0, 1:2 @1 (1:1 acked at 1 but lost), 1:3 @2, 1:3 again @3, 1:5 @4, 1:4 @5 */
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
    bool saw_lost = false;
    for (size_t i = 0; i < r.n_findings; i++) {
        if (r.findings[i].kind == WEIR_FINDING_LOST) {
            saw_lost = r.findings[i].id.seq == 1 && r.findings[i].offset == 1;
        }
    }
    assert_true(saw_lost);
    assert_string_equal(weir_finding_name(WEIR_FINDING_DIRTY_READ), "dirty read");
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
    const weir_msg_id ids[] = {{0, 0}, {7, 123456789012LL}, {63, -1}, {2147483647, 9223372036854775807LL}};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_ids_round_trip_through_values),
        cmocka_unit_test(a_clean_history_passes),
        cmocka_unit_test(lost_moved_duplicated_reordered_and_dirty_reads_are_each_found),
        cmocka_unit_test(findings_beyond_the_limit_are_counted_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
