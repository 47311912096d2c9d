/* chaos/: random schedules from a seed, their scenario text, shrinking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chaos.h"

static const char BASE[] = "# a comment that stays\n"
                           "name: t\n"
                           "seed: 99\n"
                           "duration: 60s\n"
                           "platform:\n"
                           "  hosts: [b1, b2, b3, ctl, client]\n"
                           "brokers:\n"
                           "  - { id: 1, host: b1 }\n"
                           "  - { id: 2, host: b2 }\n"
                           "  - { id: 3, host: b3 }\n"
                           "controller: { host: ctl }\n"
                           "topics:\n"
                           "  - { name: events, partitions: 3, replication_factor: 3 }\n"
                           "producers:\n"
                           "  - { host: client, topic: events, rate: 100/s, stop: 50s }\n"
                           "faults:\n"
                           "  # the hand-written schedule\n"
                           "  - { at: 10s, crash: b1, duration: 5s }\n"
                           "expect:\n"
                           "  no_acked_loss: true\n"
                           "  leader_changes_min: 1\n";

static void parse(const char *text, weir_scenario *sc)
{
    char why[512];
    int rc = weir_scenario_parse(text, strlen(text), "t.yaml", sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n----\n%s\n", why, text);
    }
    assert_int_equal(rc, 0);
}

static void test_chaos_kinds_parse_and_name_errors(void **state)
{
    (void)state;
    uint32_t kinds;
    char why[512];
    assert_int_equal(weir_chaos_kinds_parse("crash,clock", &kinds, why, sizeof why), 0);
    assert_int_equal(kinds, (1u << WEIR_CHAOS_CRASH) | (1u << WEIR_CHAOS_CLOCK));
    assert_int_equal(weir_chaos_kinds_parse("all", &kinds, why, sizeof why), 0);
    assert_int_equal(kinds, (1u << WEIR_CHAOS_KINDS_) - 1);
    assert_int_not_equal(weir_chaos_kinds_parse("crash,meteor", &kinds, why, sizeof why), 0);
    assert_non_null(strstr(why, "unknown fault kind \"meteor\""));
    assert_non_null(strstr(why, "bit_flip"));
}

/* The same seed gives the same schedule; another seed another one. */
static void test_chaos_generation_is_a_function_of_the_seed(void **state)
{
    (void)state;
    weir_scenario sc;
    parse(BASE, &sc);
    weir_chaos_options o;
    weir_chaos_options_default(&o);
    weir_chaos_window(&sc, &o);
    assert_int_equal(o.window_start_ns, 6000000000LL);  /* 10% of 60 s */
    assert_int_equal(o.window_end_ns, 30000000000LL);   /* producers stop at 50 s, minus 20 s */
    static weir_chaos_schedule a, b, c;
    weir_chaos_generate(&sc, &o, 17, &a);
    weir_chaos_generate(&sc, &o, 17, &b);
    weir_chaos_generate(&sc, &o, 18, &c);
    assert_true(a.count >= 1 && a.count <= 10);
    assert_int_equal(a.count, b.count);
    assert_memory_equal(a.faults, b.faults, a.count * sizeof a.faults[0]);
    assert_true(a.count != c.count || memcmp(a.faults, c.faults, a.count * sizeof a.faults[0]) != 0);
    weir_scenario_free(&sc);
}

/* Every schedule respects its window, time order, the swarm's kinds, and
 * never powers off a host that is down; and its text parses back to the
 * same faults. Over many seeds, every kind shows up. */
static void test_chaos_schedules_are_valid_scenarios(void **state)
{
    (void)state;
    weir_scenario sc;
    parse(BASE, &sc);
    weir_chaos_options o;
    weir_chaos_options_default(&o);
    o.faults_max = 30;
    weir_chaos_window(&sc, &o);
    uint32_t seen = 0;
    static weir_chaos_schedule s;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        weir_chaos_generate(&sc, &o, seed, &s);
        for (size_t i = 0; i < s.count; i++) {
            const weir_scn_fault *f = &s.faults[i];
            assert_true(f->at_ns >= o.window_start_ns);
            assert_true(f->at_ns + f->duration_ns <= o.window_end_ns);
            assert_true(i == 0 || s.faults[i - 1].at_ns <= f->at_ns);
            assert_true(s.kinds & (1u << s.kind_of[i]));
            seen |= 1u << s.kind_of[i];
        }
        char why[512];
        char *text = weir_chaos_scenario_text(BASE, strlen(BASE), &sc, seed, &s, 20000000000LL, "# header\n",
                                              why, sizeof why);
        assert_non_null(text);
        weir_scenario back;
        parse(text, &back); /* the parser's own schedule check: no double crash, no bad heal */
        assert_int_equal(back.seed, seed);
        assert_int_equal(back.fault_count, s.count);
        for (size_t i = 0; i < s.count; i++) {
            const weir_scn_fault *x = &s.faults[i], *y = &back.faults[i];
            assert_int_equal(x->kind, y->kind);
            assert_int_equal(x->at_ns, y->at_ns);
            assert_int_equal(x->duration_ns, y->duration_ns);
            assert_int_equal(x->a.host_index, y->a.host_index);
            assert_int_equal(x->a.topic_index, y->a.topic_index);
            assert_int_equal(x->b.host_index, y->b.host_index);
            assert_int_equal(x->one_way, y->one_way);
            assert_int_equal(x->torn, y->torn);
            assert_int_equal(x->wall_ns, y->wall_ns);
            assert_int_equal(x->monotonic_ns, y->monotonic_ns);
            assert_int_equal(x->group_count, y->group_count);
            assert_memory_equal(x->groups, y->groups, sizeof x->groups);
            assert_int_equal(x->latency_ns, y->latency_ns);
            assert_true(x->bandwidth_bps == y->bandwidth_bps);
            assert_true(x->rate - y->rate < 1e-9 && y->rate - x->rate < 1e-9);
        }
        /* the file's own expectations that are about its schedule are gone */
        assert_int_equal(back.expect.leader_changes_min, 0);
        assert_true(back.expect.no_acked_loss);
        assert_int_equal(back.expect.recovers_within_ns, 20000000000LL);
        assert_non_null(strstr(text, "# a comment that stays"));
        assert_null(strstr(text, "# the hand-written schedule"));
        weir_scenario_free(&back);
        free(text);
    }
    assert_int_equal(seen, (1u << WEIR_CHAOS_KINDS_) - 1);
    weir_scenario_free(&sc);
}

static void test_chaos_a_flow_style_top_level_is_refused(void **state)
{
    (void)state;
    weir_scenario sc;
    parse(BASE, &sc);
    static weir_chaos_schedule s;
    char why[512];
    const char flow[] = "{name: t, duration: 1s}";
    assert_null(weir_chaos_scenario_text(flow, strlen(flow), &sc, 1, &s, 0, NULL, why, sizeof why));
    assert_non_null(strstr(why, "block-style top level"));
    weir_scenario_free(&sc);
}

/* A planted failure: the schedule fails while it holds faults 3 and 11
 * (by their times); the shrinker must find exactly those two. */
typedef struct planted {
    int64_t need[2];
    int calls;
} planted;

static bool planted_fails(const weir_chaos_schedule *c, planted *p)
{
    p->calls++;
    int found = 0;
    for (size_t i = 0; i < c->count; i++) {
        found += c->faults[i].at_ns == p->need[0] || c->faults[i].at_ns == p->need[1];
    }
    return found == 2;
}

/* As a pool of two would: candidates in pairs, stopping at a failing pair. */
static int planted_first(weir_chaos_schedule *const *c, int n, void *arg, int *runs)
{
    *runs = 0;
    for (int w = 0; w < n; w += 2) {
        int first = -1;
        for (int i = w; i < n && i < w + 2; i++) {
            (*runs)++;
            if (planted_fails(c[i], arg) && first < 0) {
                first = i;
            }
        }
        if (first >= 0) {
            return first;
        }
    }
    return -1;
}

static void test_chaos_shrink_finds_the_guilty_faults(void **state)
{
    (void)state;
    static weir_chaos_schedule s;
    s.count = 30;
    for (size_t i = 0; i < s.count; i++) {
        s.faults[i] = (weir_scn_fault){.kind = WEIR_SCN_PAUSE, .at_ns = (int64_t)(i + 1) * 1000000000LL,
                                       .duration_ns = 800000000LL};
        s.kind_of[i] = (weir_chaos_kind)(i % 5); /* five kinds, the two guilty ones of two kinds */
    }
    planted p = {{4000000000LL, 12000000000LL}, 0};
    weir_chaos_shrink_stats st;
    weir_chaos_shrink(&s, planted_first, &p, 500, &st);
    assert_int_equal(st.from_faults, 30);
    assert_int_equal(st.to_faults, 2);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.faults[0].at_ns, 4000000000LL);
    assert_int_equal(s.faults[1].at_ns, 12000000000LL);
    assert_true(s.faults[0].duration_ns < 800000000LL); /* shortened while it still fails */
    assert_int_equal(st.runs, p.calls);
    assert_true(st.runs < 100);
}

static void test_chaos_shrink_respects_its_budget(void **state)
{
    (void)state;
    static weir_chaos_schedule s;
    s.count = 20;
    for (size_t i = 0; i < s.count; i++) {
        s.faults[i] = (weir_scn_fault){.kind = WEIR_SCN_PAUSE, .at_ns = (int64_t)(i + 1) * 1000000000LL};
    }
    planted p = {{1000000000LL, 20000000000LL}, 0};
    weir_chaos_shrink_stats st;
    weir_chaos_shrink(&s, planted_first, &p, 3, &st);
    assert_int_equal(p.calls, 3);
    assert_int_equal(st.runs, 3);
    assert_true(planted_fails(&s, &p)); /* what it keeps still fails */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_kinds_parse_and_name_errors),
        cmocka_unit_test(test_chaos_generation_is_a_function_of_the_seed),
        cmocka_unit_test(test_chaos_schedules_are_valid_scenarios),
        cmocka_unit_test(test_chaos_a_flow_style_top_level_is_refused),
        cmocka_unit_test(test_chaos_shrink_finds_the_guilty_faults),
        cmocka_unit_test(test_chaos_shrink_respects_its_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
