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

/* A file of flows only: no brokers, no controller, no network between nodes. */
static const char FLOWS_ONLY[] = "name: f\n"
                                 "duration: 30s\n"
                                 "platform:\n"
                                 "  hosts: [spare, f1, f2]\n"
                                 "flows:\n"
                                 "  - { name: a, host: f1, file: a.yaml, repository: true,\n"
                                 "      provenance_sync: true }\n"
                                 "  - { name: b, host: f2, file: b.yaml }\n"
                                 "expect:\n"
                                 "  flow_no_loss: true\n"
                                 "  flow_conserved: true\n";

/* Every seed's schedule names only flow hosts, only disk faults on the flow
 * with a repository, no network kind; the same seed, the same schedule. */
static void test_chaos_flows_only_schedules_name_only_flow_hosts(void **state)
{
    (void)state;
    weir_scenario sc;
    parse(FLOWS_ONLY, &sc);
    int f1 = weir_scenario_host_find(&sc, "f1"), f2 = weir_scenario_host_find(&sc, "f2");
    uint32_t net = (1u << WEIR_CHAOS_PARTITION) | (1u << WEIR_CHAOS_ISOLATE) |
                   (1u << WEIR_CHAOS_ONE_WAY) | (1u << WEIR_CHAOS_BRIDGE) | (1u << WEIR_CHAOS_RESET) |
                   (1u << WEIR_CHAOS_LATENCY) | (1u << WEIR_CHAOS_BANDWIDTH);
    uint32_t disk = (1u << WEIR_CHAOS_FSYNC_ERROR) | (1u << WEIR_CHAOS_DISK_FULL) |
                    (1u << WEIR_CHAOS_SLOW_DISK);
    uint32_t possible = weir_chaos_kinds_possible(&sc);
    assert_int_equal(possible & net, 0);
    assert_int_equal(possible & (1u << WEIR_CHAOS_BIT_FLIP), 0);
    assert_int_equal(possible & disk, disk);
    assert_true(possible & (1u << WEIR_CHAOS_CRASH));
    weir_chaos_options o;
    weir_chaos_options_default(&o); /* every kind allowed: the impossible ones are skipped */
    o.faults_max = 30;
    weir_chaos_window(&sc, &o);
    static weir_chaos_schedule s, again;
    uint32_t seen = 0;
    bool crashed[2] = {false, false};
    for (uint64_t seed = 1; seed <= 200; seed++) {
        weir_chaos_generate(&sc, &o, seed, &s);
        assert_true(s.count >= 1);
        assert_int_equal(s.kinds & ~possible, 0);
        for (size_t i = 0; i < s.count; i++) {
            const weir_scn_fault *f = &s.faults[i];
            assert_true(f->a.host_index == f1 || f->a.host_index == f2);
            assert_int_equal(f->b.host_index, -1);
            if ((disk >> s.kind_of[i]) & 1) {
                assert_int_equal(f->a.host_index, f1); /* f2 keeps nothing on disk */
            }
            if (s.kind_of[i] == WEIR_CHAOS_CRASH) {
                crashed[f->a.host_index == f2] = true;
            }
            seen |= 1u << s.kind_of[i];
        }
        weir_chaos_generate(&sc, &o, seed, &again);
        assert_int_equal(again.count, s.count);
        assert_int_equal(again.kinds, s.kinds);
        assert_memory_equal(again.faults, s.faults, s.count * sizeof s.faults[0]);
        /* the text replays, keeps the flow oracles, and has no liveness
         * bound (it judges partitions): no brokers here */
        char why[512];
        char *text = weir_chaos_scenario_text(FLOWS_ONLY, strlen(FLOWS_ONLY), &sc, seed, &s,
                                              20000000000LL, NULL, why, sizeof why);
        assert_non_null(text);
        weir_scenario back;
        parse(text, &back);
        assert_int_equal(back.fault_count, s.count);
        assert_true(back.expect.flow_no_loss);
        assert_int_equal(back.expect.recovers_within_ns, -1);
        /* flow b's provenance is not synced: conservation is judged only
         * when the schedule never stops its host */
        bool b_stops = false;
        for (size_t i = 0; i < s.count; i++) {
            b_stops |= (s.faults[i].kind == WEIR_SCN_CRASH || s.faults[i].kind == WEIR_SCN_CLEAN_SHUTDOWN) &&
                       s.faults[i].a.host_index == f2;
        }
        assert_int_equal(back.expect.flow_conserved, !b_stops);
        weir_scenario_free(&back);
        free(text);
    }
    assert_int_equal(seen, possible);
    assert_true(crashed[0] && crashed[1]);
    weir_scenario_free(&sc);
}

/* Asked only for kinds it has no target for, a flows-only file gets an
 * empty schedule, not an assertion. */
static void test_chaos_kinds_without_a_target_give_an_empty_schedule(void **state)
{
    (void)state;
    weir_scenario sc;
    parse(FLOWS_ONLY, &sc);
    weir_chaos_options o;
    weir_chaos_options_default(&o);
    o.kinds = (1u << WEIR_CHAOS_PARTITION) | (1u << WEIR_CHAOS_BIT_FLIP);
    weir_chaos_window(&sc, &o);
    assert_int_equal(weir_chaos_kinds_possible(&sc) & o.kinds, 0);
    static weir_chaos_schedule s;
    weir_chaos_generate(&sc, &o, 5, &s);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.kinds, 0);
    weir_scenario_free(&sc);
}

/* Flows beside brokers: a flow host is a target of power faults and of
 * network faults with the brokers. */
static void test_chaos_flow_hosts_beside_brokers_are_targets(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "%.*s%s", (int)(strstr(BASE, "faults:\n") - BASE), BASE,
             "flows:\n"
             "  - { name: m, host: fl, file: m.yaml, repository: true }\n");
    char *hosts = strstr(text, "client]");
    assert_non_null(hosts);
    memmove(hosts + 11, hosts + 7, strlen(hosts + 7) + 1);
    memcpy(hosts, "client, fl]", 11);
    weir_scenario sc;
    parse(text, &sc);
    int fl = weir_scenario_host_find(&sc, "fl");
    assert_true(fl >= 0);
    assert_int_equal(weir_chaos_kinds_possible(&sc), (1u << WEIR_CHAOS_KINDS_) - 1);
    weir_chaos_options o;
    weir_chaos_options_default(&o);
    o.faults_max = 30;
    weir_chaos_window(&sc, &o);
    static weir_chaos_schedule s;
    bool crashed = false, cut = false;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        weir_chaos_generate(&sc, &o, seed, &s);
        for (size_t i = 0; i < s.count; i++) {
            const weir_scn_fault *f = &s.faults[i];
            crashed |= f->kind == WEIR_SCN_CRASH && f->a.host_index == fl;
            cut |= f->kind == WEIR_SCN_CUT && (f->a.host_index == fl || f->b.host_index == fl);
        }
    }
    assert_true(crashed && cut);
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
        cmocka_unit_test(test_chaos_flows_only_schedules_name_only_flow_hosts),
        cmocka_unit_test(test_chaos_kinds_without_a_target_give_an_empty_schedule),
        cmocka_unit_test(test_chaos_flow_hosts_beside_brokers_are_targets),
        cmocka_unit_test(test_chaos_shrink_finds_the_guilty_faults),
        cmocka_unit_test(test_chaos_shrink_respects_its_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
