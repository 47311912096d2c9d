/* Unit tests of the replication rules: the high watermark, ISR shrink and
 * expand, both truncation rules on KIP-101's two failure schedules, and
 * leader election. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "replication/replica.h"

#define MS 1000000LL

static void the_hw_is_the_smallest_isr_leo_and_never_goes_back(void **state)
{
    (void)state;
    weir_leader_state st;
    int32_t reps[] = {1, 2, 3};
    weir_leader_init(&st, 1, 5, reps, 3, reps, 3, 100, 90, 0);
    assert_true(st.hw == 90);
    /* followers have not fetched yet: the HW waits for them */
    assert_false(weir_leader_update_hw(&st, 110));
    assert_true(weir_leader_on_fetch(&st, 2, 105, 110, 1 * MS) == false);
    assert_true(weir_leader_on_fetch(&st, 3, 95, 110, 1 * MS));
    assert_true(st.hw == 95);
    assert_true(weir_leader_on_fetch(&st, 3, 110, 110, 2 * MS));
    assert_true(st.hw == 105);
    assert_true(weir_leader_on_fetch(&st, 2, 110, 110, 2 * MS));
    assert_true(st.hw == 110);
    /* a follower that falls back (it truncated) cannot pull the HW down */
    assert_false(weir_leader_on_fetch(&st, 2, 50, 110, 3 * MS));
    assert_true(st.hw == 110);
    /* an unknown replica changes nothing */
    assert_false(weir_leader_on_fetch(&st, 9, 500, 110, 3 * MS));
}

static void a_lagging_follower_leaves_the_isr_and_rejoins_when_caught_up(void **state)
{
    (void)state;
    weir_leader_state st;
    int32_t reps[] = {1, 2, 3};
    weir_leader_init(&st, 1, 1, reps, 3, reps, 3, 0, 0, 0);
    int32_t isr[WEIR_REPLICAS_MAX];
    int n;
    weir_leader_update_hw(&st, 10);
    weir_leader_on_fetch(&st, 2, 10, 10, 5 * MS);
    weir_leader_on_fetch(&st, 3, 4, 10, 5 * MS); /* 3 fetches but never catches up */
    assert_false(weir_leader_isr_proposal(&st, 10, 9000 * MS, 10000 * MS, isr, &n));
    assert_true(weir_leader_isr_proposal(&st, 10, 10001 * MS, 10000 * MS, isr, &n));
    assert_int_equal(n, 2);
    assert_true(isr[0] == 1 && isr[1] == 2);
    /* the shrink takes effect when confirmed: the HW then follows 1 and 2 only */
    assert_true(weir_leader_isr_confirmed(&st, isr, n, 10));
    assert_true(st.hw == 10);
    assert_false(weir_leader_in_isr(&st, 3));
    /* 3 catches up: it is proposed back */
    weir_leader_on_fetch(&st, 3, 10, 10, 10002 * MS);
    assert_true(weir_leader_isr_proposal(&st, 10, 10003 * MS, 10000 * MS, isr, &n));
    assert_int_equal(n, 3);
    /* the leader itself never leaves, however long since it "fetched" */
    weir_leader_isr_confirmed(&st, isr, n, 10);
    weir_leader_on_fetch(&st, 2, 10, 10, 50000 * MS);
    weir_leader_on_fetch(&st, 3, 10, 10, 50000 * MS);
    assert_false(weir_leader_isr_proposal(&st, 10, 50001 * MS, 10000 * MS, isr, &n));
}

/* Under steady writes a follower's fetch never reaches the leader's LEO of
 * that instant; it is caught up if it reached the LEO of its previous fetch. */
static void a_follower_trailing_steady_writes_by_one_fetch_stays_in_the_isr(void **state)
{
    (void)state;
    weir_leader_state st;
    int32_t reps[] = {1, 2};
    weir_leader_init(&st, 1, 1, reps, 2, reps, 2, 0, 0, 0);
    int32_t isr[WEIR_REPLICAS_MAX];
    int n;
    int64_t leo = 0;
    for (int64_t t = 1; t <= 100; t++) {
        int64_t fetched = leo; /* holds all the leader had at its previous fetch */
        leo += 10;             /* the leader appended meanwhile */
        weir_leader_on_fetch(&st, 2, fetched, leo, t * 500 * MS);
    }
    assert_false(weir_leader_isr_proposal(&st, leo, 100 * 500 * MS, 10000 * MS, isr, &n));
    /* a follower that stops keeping up does leave */
    for (int64_t t = 101; t <= 150; t++) {
        leo += 1000;
        weir_leader_on_fetch(&st, 2, leo - 5000, leo, t * 500 * MS);
    }
    assert_true(weir_leader_isr_proposal(&st, leo, 150 * 500 * MS, 10000 * MS, isr, &n));
    assert_int_equal(n, 1);
}

static void a_follower_rejoins_only_from_the_current_epoch(void **state)
{
    (void)state;
    weir_leader_state st;
    int32_t reps[] = {1, 2};
    int32_t self_only[] = {1};
    /* the leadership starts at LEO 50 with the HW at 40 */
    weir_leader_init(&st, 1, 7, reps, 2, self_only, 1, 50, 40, 0);
    weir_leader_update_hw(&st, 50);
    assert_true(st.hw == 50);
    int32_t isr[WEIR_REPLICAS_MAX];
    int n;
    weir_leader_on_fetch(&st, 2, 45, 60, 1 * MS); /* at the HW of before, not this epoch */
    assert_false(weir_leader_isr_proposal(&st, 60, 2 * MS, 10000 * MS, isr, &n));
    weir_leader_on_fetch(&st, 2, 60, 60, 3 * MS);
    assert_true(weir_leader_isr_proposal(&st, 60, 4 * MS, 10000 * MS, isr, &n));
    assert_int_equal(n, 2);
}

/* KIP-101 schedule 1: the follower B holds m1, m2 (LEO 2) but its HW is 1
 * when it restarts. The classic rule cuts m2; if the leader then dies, B
 * leads without m2, an acknowledged message. With leader epochs B asks the
 * leader where epoch 0 ends (2) and keeps m2. */
static void kip101_data_loss_schedule_truncates_differently_under_each_rule(void **state)
{
    (void)state;
    weir_epoch_cache b = {0};
    bool changed;
    assert_int_equal(weir_epoch_cache_assign(&b, 0, 0, &changed), 0);
    int64_t classic = weir_follower_truncate_to_hw(1, 2);
    int64_t by_epoch = weir_follower_truncate_by_epoch(&b, 2, 1, 0, 0, 2);
    assert_true(classic == 1);  /* m2 gone: lost if B becomes leader */
    assert_true(by_epoch == 2); /* m2 kept */
    weir_epoch_cache_free(&b);
}

/* KIP-101 schedule 2: A (leader, epoch 0) has m1 m2, B has m1; both crash, B
 * comes back first and leads epoch 1, writing m3 at offset 1; A returns as a
 * follower with its m2 at offset 1. The classic rule keeps A's m2 (its HW
 * said 2): the replicas diverge at offset 1. By epochs A asks B for the end
 * of epoch 0 — B answers (0, 1) — and cuts m2. */
static void kip101_divergence_schedule_truncates_differently_under_each_rule(void **state)
{
    (void)state;
    weir_epoch_cache a = {0};
    bool changed;
    assert_int_equal(weir_epoch_cache_assign(&a, 0, 0, &changed), 0);
    int64_t classic = weir_follower_truncate_to_hw(2, 2);
    int64_t by_epoch = weir_follower_truncate_by_epoch(&a, 2, 2, 0, 0, 1);
    assert_true(classic == 2);  /* diverged log kept */
    assert_true(by_epoch == 1); /* cut back to the common prefix */
    weir_epoch_cache_free(&a);
}

static void the_leader_answering_an_older_epoch_bounds_the_cut_by_our_own_end_of_it(void **state)
{
    (void)state;
    weir_epoch_cache f = {0};
    bool changed;
    assert_int_equal(weir_epoch_cache_assign(&f, 1, 0, &changed), 0);
    assert_int_equal(weir_epoch_cache_assign(&f, 3, 40, &changed), 0);
    /* we ask for epoch 3; the leader never had it and says epoch 1 ends at 60
     * on its side; ours ends at 40: cut at 40 */
    assert_true(weir_follower_truncate_by_epoch(&f, 70, 10, 3, 1, 60) == 40);
    /* an unknown answer falls back to the HW */
    assert_true(weir_follower_truncate_by_epoch(&f, 70, 10, 3, -1, -1) == 10);
    /* never past our own end */
    assert_true(weir_follower_truncate_by_epoch(&f, 30, 10, 3, 3, 90) == 30);
    weir_epoch_cache_free(&f);
}

static bool alive_set(int32_t id, void *arg)
{
    const bool *up = arg;
    return id >= 0 && id < 8 && up[id];
}

static void leaders_are_elected_from_the_isr_in_assignment_order_or_uncleanly(void **state)
{
    (void)state;
    bool up[8] = {false, true, true, true};
    int32_t reps[] = {3, 1, 2};
    int32_t isr[] = {1, 2};
    bool unclean;
    assert_int_equal(weir_elect_leader(reps, 3, isr, 2, alive_set, up, false, &unclean), 1);
    assert_false(unclean);
    up[1] = false;
    assert_int_equal(weir_elect_leader(reps, 3, isr, 2, alive_set, up, false, &unclean), 2);
    up[2] = false;
    /* every ISR member down: offline, unless unclean election is on */
    assert_int_equal(weir_elect_leader(reps, 3, isr, 2, alive_set, up, false, &unclean), -1);
    assert_int_equal(weir_elect_leader(reps, 3, isr, 2, alive_set, up, true, &unclean), 3);
    assert_true(unclean);
    up[3] = false;
    assert_int_equal(weir_elect_leader(reps, 3, isr, 2, alive_set, up, true, &unclean), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_hw_is_the_smallest_isr_leo_and_never_goes_back),
        cmocka_unit_test(a_lagging_follower_leaves_the_isr_and_rejoins_when_caught_up),
        cmocka_unit_test(a_follower_trailing_steady_writes_by_one_fetch_stays_in_the_isr),
        cmocka_unit_test(a_follower_rejoins_only_from_the_current_epoch),
        cmocka_unit_test(kip101_data_loss_schedule_truncates_differently_under_each_rule),
        cmocka_unit_test(kip101_divergence_schedule_truncates_differently_under_each_rule),
        cmocka_unit_test(the_leader_answering_an_older_epoch_bounds_the_cut_by_our_own_end_of_it),
        cmocka_unit_test(leaders_are_elected_from_the_isr_in_assignment_order_or_uncleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
