/* Scenario files: every file in scenarios/ parses and validates; each kind
 * of mistake gives its exact message with line and column; a scenario that
 * sets every key reads back field by field; variants and lookups; damaged
 * input (every prefix, random byte flips) fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/prng.h"
#include "scenario/scenario.h"
#include "yaml_fixture.h"

#ifndef WEIR_SCENARIOS_DIR
#error "WEIR_SCENARIOS_DIR must name the scenarios/ folder"
#endif

/* ---- helpers ---- */

static void expect_error_text(const char *text, const char *message)
{
    weir_scenario sc;
    char why[1024];
    int rc = weir_scenario_parse(text, strlen(text), "t.yaml", &sc, why, sizeof why);
    if (rc == 0 || strcmp(why, message) != 0) {
        print_message("expected: %s\n     got: %s\n", message, rc == 0 ? "(parsed)" : why);
    }
    assert_int_equal(rc, WEIR_E_INVAL);
    assert_string_equal(why, message);
    assert_null(sc.arena); /* a failed parse leaves nothing to free */
    assert_int_equal(sc.host_count, 0);
    weir_scenario_free(&sc);
}

/* Replaces old by repl in BASE and expects message. */
static void expect_error(const char *old, const char *repl, const char *message);

/* Line numbers matter: the messages below name them. */
static const char BASE[] = "name: t\n"                                          /* 1 */
                           "duration: 30s\n"                                    /* 2 */
                           "platform:\n"                                        /* 3 */
                           "  hosts: [b1, b2, b3, ctl, client]\n"               /* 4 */
                           "brokers:\n"                                         /* 5 */
                           "  - { id: 1, host: b1 }\n"                          /* 6 */
                           "  - { id: 2, host: b2 }\n"                          /* 7 */
                           "  - { id: 3, host: b3 }\n"                          /* 8 */
                           "controller: { host: ctl }\n"                        /* 9 */
                           "topics:\n"                                          /* 10 */
                           "  - name: events\n"                                 /* 11 */
                           "    replication_factor: 3\n"                        /* 12 */
                           "producers:\n"                                       /* 13 */
                           "  - { host: client, topic: events, rate: 100/s }\n" /* 14 */
                           "faults:\n"                                          /* 15 */
                           "  - { at: 10s, crash: b1, duration: 5s }\n"         /* 16 */
                           "expect:\n"                                          /* 17 */
                           "  no_acked_loss: true\n";                           /* 18 */

static void expect_error(const char *old, const char *repl, const char *message)
{
    char *text = with(BASE, old, repl);
    expect_error_text(text, message);
    free(text);
}

/* ---- the scenario files ---- */

static void test_scenario_every_file_in_scenarios_parses_and_validates(void **state)
{
    (void)state;
    char *names[64];
    size_t n = yaml_files(WEIR_SCENARIOS_DIR, names, 64);
    static const char *const required[] = {"leader-crash.yaml", "follower-truncation-hw.yaml",
                                           "isr-shrink-expand.yaml", "acks-matrix.yaml",
                                           "unclean-election.yaml"};
    for (size_t r = 0; r < 5; r++) {
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            found = found || strcmp(names[i], required[r]) == 0;
        }
        if (!found) {
            print_message("missing scenarios/%s\n", required[r]);
        }
        assert_true(found);
    }
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", WEIR_SCENARIOS_DIR, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        weir_scenario sc;
        char why[1024];
        int rc = weir_scenario_parse(text, len, path, &sc, why, sizeof why);
        if (rc != 0) {
            print_message("%s\n", why);
        }
        assert_int_equal(rc, 0);
        /* The name inside is the file's name. */
        assert_int_equal(strlen(sc.name) + 5, strlen(names[i]));
        assert_memory_equal(sc.name, names[i], strlen(sc.name));
        /* a cluster under load with faults, or flows (whose files the runner reads) */
        assert_true((sc.broker_count > 0 && sc.fault_count > 0 && sc.producer_count > 0) ||
                    sc.flow_count > 0);
        for (size_t v = 0; v < sc.variant_count; v++) {
            assert_int_equal(weir_scenario_use_variant(&sc, sc.variants[v].name, why, sizeof why),
                             0);
            assert_int_equal(sc.variant_index, (int)v);
        }
        weir_scenario_free(&sc);
        free(text);
        free(names[i]);
    }
}

static void test_scenario_follower_truncation_variants_expect_the_violation_only_classic(void **s)
{
    (void)s;
    size_t len;
    char *text = read_file(WEIR_SCENARIOS_DIR "/follower-truncation-hw.yaml", &len);
    weir_scenario sc;
    char why[512];
    assert_int_equal(weir_scenario_parse(text, len, "f.yaml", &sc, why, sizeof why), 0);
    assert_int_equal(sc.variant_count, 2);
    assert_int_equal(weir_scenario_use_variant(&sc, "truncate-to-hw", why, sizeof why), 0);
    assert_string_equal(weir_scenario_broker_setting(&sc, 0, "replication.truncation.rule")->value,
                        "truncate_to_hw");
    assert_int_equal(sc.expect.violation_count, 2);
    assert_int_equal(sc.expect.violations[0].kind, WEIR_SCN_V_ACKED_LOSS);
    assert_string_equal(sc.topics[sc.expect.violations[0].topic_index].name, "kip101-loss");
    assert_int_equal(sc.expect.violations[1].kind, WEIR_SCN_V_DIVERGENCE);
    assert_string_equal(sc.topics[sc.expect.violations[1].topic_index].name, "kip101-diverge");
    assert_false(sc.expect.no_acked_loss);
    assert_int_equal(weir_scenario_use_variant(&sc, "leader-epoch", why, sizeof why), 0);
    assert_string_equal(weir_scenario_broker_setting(&sc, 0, "replication.truncation.rule")->value,
                        "leader_epoch");
    assert_int_equal(sc.expect.violation_count, 0);
    assert_true(sc.expect.no_acked_loss);
    assert_true(sc.expect.consumers_read_all_acked); /* from the base */
    weir_scenario_free(&sc);
    free(text);
}

static void test_scenario_the_readme_example_parses(void **state)
{
    (void)state;
    size_t len;
    char *readme = read_file(WEIR_SCENARIOS_DIR "/README.md", &len);
    const char *start = strstr(readme, "```yaml\nname:");
    assert_non_null(start);
    start += strlen("```yaml\n");
    const char *end = strstr(start, "```");
    assert_non_null(end);
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(start, (size_t)(end - start), "README.md", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sc.fault_count, 3);
    assert_int_equal(sc.topics[1].replication_factor, 3); /* from its assignment */
    weir_scenario_free(&sc);
    free(readme);
}

/* ---- errors, one kind at a time, with file:line:column and path ---- */

static void test_scenario_unknown_key_is_an_error_with_a_hint(void **state)
{
    (void)state;
    expect_error("    replication_factor: 3", "    replication_factr: 3",
                 "t.yaml:12:5: topics[0].replication_factr: unknown key (did you mean "
                 "\"replication_factor\"?)");
    expect_error("controller: { host: ctl }", "controller: { host: ctl, colour: red }",
                 "t.yaml:9:26: controller.colour: unknown key (expected host, "
                 "broker.session.timeout.ms or broker.heartbeat.interval.ms)");
    expect_error("name: t\n", "name: t\nprodcers: []\n",
                 "t.yaml:2:1: prodcers: unknown key (did you mean \"producers\"?)");
    expect_error("  no_acked_loss: true\n", "  no_aked_los: true\n",
                 "t.yaml:18:3: expect.no_aked_los: unknown key (did you mean \"no_acked_loss\"?)");
    /* A Kafka setting with a typo, and one written where it does not belong. */
    expect_error("  - { id: 3, host: b3 }", "  - { id: 3, host: b3, replica.lag.time.max: 1 }",
                 "t.yaml:8:24: brokers[2].replica.lag.time.max: unknown key (did you mean "
                 "\"replica.lag.time.max.ms\"?)");
    expect_error("  - { id: 3, host: b3 }", "  - { id: 3, host: b3, min.insync.replicas: 2 }",
                 "t.yaml:8:24: brokers[2].min.insync.replicas: not a setting here: "
                 "\"min.insync.replicas\" belongs in broker_defaults or a topic");
    expect_error("    replication_factor: 3", "    replication_factor: 3\n    log.segment.bytes: 1",
                 "t.yaml:13:5: topics[0].log.segment.bytes: not a setting here: write "
                 "\"segment.bytes\" (\"log.segment.bytes\" is its name for brokers)");
}

static void test_scenario_a_key_written_twice_is_an_error(void **state)
{
    (void)state;
    expect_error("duration: 30s\n", "duration: 30s\nduration: 40s\n",
                 "t.yaml:3:1: duration: written twice (first at line 2)");
}

static void test_scenario_wrong_types_name_what_was_expected(void **state)
{
    (void)state;
    expect_error("replication_factor: 3", "replication_factor: three",
                 "t.yaml:12:25: topics[0].replication_factor: expected an integer from 1 to 16, "
                 "got \"three\"");
    expect_error("  hosts: [b1, b2, b3, ctl, client]", "  hosts: b1",
                 "t.yaml:4:10: platform.hosts: expected a list (- item lines or [ ... ]), got a "
                 "single value");
    expect_error("controller: { host: ctl }", "controller: [ctl]",
                 "t.yaml:9:13: controller: expected a mapping (key: value lines or { ... }), got "
                 "a list");
    expect_error("rate: 100/s", "rate: fast",
                 "t.yaml:14:42: producers[0].rate: expected a rate above 0 and at most "
                 "100000000/s such as 1000/s or 50/ms, got \"fast\"");
    expect_error("rate: 100/s", "rate: 100/s, acks: al",
                 "t.yaml:14:55: producers[0].acks: expected 0, 1 or all, got \"al\" (did you mean "
                 "\"all\"?)");
    expect_error(
        "producers:\n",
        "consumers:\n  - { host: client, topic: events, partitions: 2 }\n"
        "producers:\n",
        "t.yaml:14:48: consumers[0].partitions: expected all, or a list of partitions such "
        "as [0, 2], got \"2\"");
    expect_error("  no_acked_loss: true", "  no_acked_loss: yes",
                 "t.yaml:18:18: expect.no_acked_loss: expected true or false, got \"yes\"");
    expect_error("  no_acked_loss: true", "  no_acked_loss:",
                 "t.yaml:18:17: expect.no_acked_loss: expected a value, got nothing");
    expect_error("rate: 100/s", "rate: 100/s, size: 1.5XB",
                 "t.yaml:14:55: producers[0].size: expected a size such as 100B, 16KiB, 1MiB or "
                 "2GB, got \"1.5XB\"");
    expect_error("crash: b1, duration: 5s", "slow_link: b1, bandwidth: 100",
                 "t.yaml:16:42: faults[0].bandwidth: expected a bandwidth such as 1Gbps or "
                 "100Mbps (bits/s), 125MBps or 50MiBps (bytes/s), or unlimited, got \"100\"");
}

static void test_scenario_bad_durations_are_rejected(void **state)
{
    (void)state;
    expect_error("duration: 30s", "duration: 30 s",
                 "t.yaml:2:11: duration: expected a duration such as 250ms, 1.5s or 2m, got "
                 "\"30 s\"");
    expect_error("at: 10s", "at: -1s",
                 "t.yaml:16:11: faults[0].at: expected a duration such as 250ms, 1.5s or 2m, got "
                 "\"-1s\"");
    expect_error("duration: 30s", "duration: 0s", "t.yaml:2:11: duration: must be longer than 0s");
    expect_error("controller: { host: ctl }",
                 "controller: { host: ctl, broker.session.timeout.ms: 1.5ms }",
                 "t.yaml:9:53: controller.broker.session.timeout.ms: expected whole milliseconds "
                 "(10000) or a duration (10s), got \"1.5ms\"");
}

static void test_scenario_references_to_undeclared_names_are_errors(void **state)
{
    (void)state;
    expect_error("crash: b1", "crash: b7",
                 "t.yaml:16:23: faults[0].crash: no host named \"b7\" in platform.hosts (did you "
                 "mean \"b1\"?)");
    expect_error("crash: b1", "crash: zeus",
                 "t.yaml:16:23: faults[0].crash: no host named \"zeus\" in platform.hosts "
                 "(declared: b1, b2, b3, ctl or client)");
    expect_error("  - { id: 3, host: b3 }", "  - { id: 3, host: b4 }",
                 "t.yaml:8:20: brokers[2].host: no host named \"b4\" in platform.hosts (did you "
                 "mean \"b1\"?)");
    expect_error("topic: events", "topic: evnts",
                 "t.yaml:14:28: producers[0].topic: no topic named \"evnts\" (did you mean "
                 "\"events\"?)");
    expect_error("crash: b1", "crash: leader(events/1)",
                 "t.yaml:16:23: faults[0].crash: topic \"events\" has no partition 1 (it has 1: 0 "
                 "to 0)");
    expect_error("    replication_factor: 3", "    assignment: [[1, 2, 9]]",
                 "t.yaml:12:25: topics[0].assignment[0][2]: no broker with id 9");
}

static void test_scenario_limits_between_sections_are_checked(void **state)
{
    (void)state;
    expect_error("replication_factor: 3", "replication_factor: 4",
                 "t.yaml:12:25: topics[0].replication_factor: 4 is larger than the 3 brokers");
    expect_error("replication_factor: 3", "replication_factor: 2\n    min.insync.replicas: 3",
                 "t.yaml:13:26: topics[0].min.insync.replicas: 3 is larger than the replication "
                 "factor (2): acks=all could never succeed");
    char *text = with(BASE, "    replication_factor: 3", "    replication_factor: 1\n");
    char *text2 = with(text, "  - { id: 2, host: b2 }\n", "");
    free(text);
    text = with(text2, "  - { id: 3, host: b3 }\n", "");
    free(text2);
    text2 = with(text, "name: t\n", "name: t\nbroker_defaults: { min.insync.replicas: 2 }\n");
    expect_error_text(text2, "t.yaml:2:41: broker_defaults.min.insync.replicas: 2 is larger "
                             "than the replication factor 1 of topic \"events\" (set "
                             "min.insync.replicas on the topic)");
    free(text);
    free(text2);
}

static void test_scenario_times_past_the_duration_are_errors(void **state)
{
    (void)state;
    expect_error("at: 10s", "at: 45s",
                 "t.yaml:16:11: faults[0].at: 45s is not before the end of the run (30s)");
    expect_error("duration: 5s }", "duration: 25s }",
                 "t.yaml:16:37: faults[0].duration: the fault would end at 35s, after the end of "
                 "the run (30s)");
    expect_error("rate: 100/s", "rate: 100/s, stop: 31s",
                 "t.yaml:14:55: producers[0].stop: 31s is after the end of the run (30s)");
    expect_error("  no_acked_loss: true", "  no_acked_loss: true\n  recovers_within: 20s",
                 "t.yaml:19:20: expect.recovers_within: the last fault ends at 15s; 20s later is "
                 "after the end of the run (30s)");
    expect_error("  - { at: 10s, crash: b1, duration: 5s }",
                 "  - { at: 10s, crash: b1, duration: 5s }\n  - { at: 9s, isolate: b2 }",
                 "t.yaml:17:11: faults[1].at: 9s is earlier than the fault before it (10s): list "
                 "faults in time order");
}

static void test_scenario_duplicated_names_and_ids_are_errors(void **state)
{
    (void)state;
    expect_error("  - { id: 2, host: b2 }", "  - { id: 1, host: b2 }",
                 "t.yaml:7:11: brokers[1].id: broker id 1 is used twice (first at line 6)");
    expect_error("[b1, b2, b3, ctl, client]", "[b1, b2, b3, ctl, client, b2]",
                 "t.yaml:4:36: platform.hosts[5]: host \"b2\" is declared twice (first at line 4)");
    expect_error("  - { id: 2, host: b2 }", "  - { id: 2, host: b1 }",
                 "t.yaml:7:20: brokers[1].host: host \"b1\" already runs broker 1: one broker or "
                 "controller per host");
    expect_error("  - name: events\n", "  - name: events\n    partitions: 2\n  - name: events\n",
                 "t.yaml:13:11: topics[1].name: topic \"events\" is declared twice (first at line "
                 "11)");
    expect_error("rate: 100/s }",
                 "rate: 100/s, name: w }\n  - { name: w, host: client, "
                 "topic: events, rate: 1 }",
                 "t.yaml:15:13: producers[1].name: client name \"w\" is used twice (first at line "
                 "14)");
}

static void test_scenario_malformed_yaml_is_reported_where_libyaml_stops(void **state)
{
    (void)state;
    expect_error("[b1, b2, b3, ctl, client]", "[b1, b2, b3, ctl, client",
                 "t.yaml:5:8: malformed YAML: did not find expected ',' or ']' (while parsing a "
                 "flow sequence at line 4)");
    expect_error(
        "name: t\n", "name: t\n\tduration: 1s\n",
        "t.yaml:2:1: malformed YAML: found a tab character that violates indentation (while "
        "scanning a plain scalar at line 1)");
    expect_error("name: t\n", "name: t\nx: \"\xff\"\n",
                 "t.yaml:2:5: malformed YAML: invalid leading UTF-8 octet (byte 0xff)");
    expect_error_text("", "t.yaml:1:1: empty file: a scenario is a mapping (name, duration, ...)");
    expect_error_text("# only a comment\n",
                      "t.yaml:1:1: empty file: a scenario is a mapping (name, duration, ...)");
    char *two = with(BASE, "  no_acked_loss: true\n", "  no_acked_loss: true\n---\nname: u\n");
    expect_error_text(two, "t.yaml:19:1: a second YAML document: a scenario file holds one "
                           "(remove the '---')");
    free(two);
    expect_error_text("- a\n", "t.yaml:1:1: expected a mapping (key: value lines or { ... }), "
                               "got a list");
    expect_error_text("name: t\n", "t.yaml:1:1: missing key \"duration\"");
}

static void test_scenario_impossible_fault_schedules_are_errors(void **state)
{
    (void)state;
    expect_error("  - { at: 10s, crash: b1, duration: 5s }",
                 "  - { at: 10s, crash: b1, duration: 5s }\n  - { at: 12s, restart: b1 }",
                 "t.yaml:17:25: faults[1].restart: host \"b1\" is already restarted at 15s by the "
                 "duration of faults[0]");
    expect_error("  - { at: 10s, crash: b1, duration: 5s }", "  - { at: 10s, restart: b2 }",
                 "t.yaml:16:25: faults[0].restart: host \"b2\" is not down at 10s: restart "
                 "follows a crash or clean_shutdown that has no duration");
    expect_error("  - { at: 10s, crash: b1, duration: 5s }",
                 "  - { at: 10s, crash: b1 }\n  - { at: 11s, clean_shutdown: b1 }",
                 "t.yaml:17:32: faults[1].clean_shutdown: host \"b1\" is already down at 11s "
                 "(faults[0])");
    expect_error("  - { at: 10s, crash: b1, duration: 5s }", "  - { at: 10s, heal: b1 <-> b2 }",
                 "t.yaml:16:22: faults[0].heal: nothing to heal at 10s: no earlier cut, isolate "
                 "or slow_link of this link without a duration");
    expect_error("  - { at: 10s, crash: b1, duration: 5s }",
                 "  - { at: 10s, cut: b1 -> b2 }\n  - { at: 11s, heal: b2 -> b1 }",
                 "t.yaml:17:22: faults[1].heal: nothing to heal at 11s: no earlier cut, isolate "
                 "or slow_link of this link without a duration");
    expect_error("crash: b1, duration: 5s", "crash: b1, isolate: b2",
                 "t.yaml:16:27: faults[0]: two faults in one entry (crash and isolate): write one "
                 "entry per fault");
    expect_error("crash: b1, duration: 5s", "duration: 5s",
                 "t.yaml:16:5: faults[0]: no fault in this entry: write one of crash, restart, "
                 "clean_shutdown, cut, heal, isolate, slow_link, slow_disk, pause, reset, "
                 "partition, clock, disk_full, fsync_error or bit_flip");
    expect_error("crash: b1, duration: 5s", "pause: b1",
                 "t.yaml:16:23: faults[0].pause: a pause needs a duration (how long the node stalls)");
    expect_error("crash: b1, duration: 5s", "clock: b1, duration: 5s",
                 "t.yaml:16:23: faults[0].clock: say how the clock goes wrong: a jump (wall, monotonic) and/or a rate");
    expect_error("crash: b1, duration: 5s", "clock: b1, rate: 3",
                 "t.yaml:16:33: faults[0].rate: expected a clock rate from 0.5 to 2 (1.01 runs 1% fast), got \"3\"");
    expect_error("crash: b1, duration: 5s", "clock: b1, wall: ahead",
                 "t.yaml:16:33: faults[0].wall: expected a jump such as 30s (forward) or -30s "
                 "(back), got \"ahead\"");
    expect_error("crash: b1, duration: 5s", "pause: b1, wall: 5s, duration: 1s",
                 "t.yaml:16:33: faults[0].wall: only clock takes wall");
    expect_error("crash: b1, duration: 5s", "partition: [[b1, b2]], duration: 1s",
                 "t.yaml:16:27: faults[0].partition: a partition needs two or more groups of hosts, "
                 "e.g. [[b1, b2], [b3, ctl]]");
    expect_error("crash: b1, duration: 5s", "partition: [[b1], [b9]]",
                 "t.yaml:16:35: faults[0].partition[1][0]: no host named \"b9\" in platform.hosts "
                 "(did you mean \"b1\"?)");
    expect_error("crash: b1, duration: 5s", "bit_flip: b1, duration: 1s",
                 "t.yaml:16:40: faults[0].duration: bit_flip takes no duration");
    expect_error("crash: b1, duration: 5s", "bit_flip: b1, files: data",
                 "t.yaml:16:37: faults[0].files: expected any, log or index, got \"data\"");
    expect_error("crash: b1, duration: 5s", "cut: b1 <=> b2",
                 "t.yaml:16:21: faults[0].cut: expected \"A <-> B\" (both ways) or \"A -> B\" (one "
                 "way), got \"b1 <=> b2\"");
    expect_error("crash: b1, duration: 5s", "cut: b1 <-> b1",
                 "t.yaml:16:21: faults[0].cut: a link joins two different hosts, got \"b1\" twice");
    expect_error("crash: b1, duration: 5s", "slow_link: b1 <-> b2, write: 1MBps",
                 "t.yaml:16:45: faults[0].write: only slow_disk takes write");
    expect_error("crash: b1, duration: 5s", "slow_disk: b1",
                 "t.yaml:16:27: faults[0].slow_disk: say how slow: write, read and/or fsync");
    expect_error("crash: b1, duration: 5s", "crash: ctl",
                 "t.yaml:16:23: faults[0].crash: the controller cannot stop: its state lives in "
                 "memory (one controller, no quorum yet); cut or isolate it instead");
    expect_error("crash: b1, duration: 5s", "restart: leader(events/0)",
                 "t.yaml:16:25: faults[0].restart: needs a host name, not leader(events/0) (to "
                 "restart a node crashed as a partition's leader, give the crash a duration)");
    expect_error("crash: b1, duration: 5s", "heal: all, duration: 1s",
                 "t.yaml:16:37: faults[0].duration: heal takes no duration");
}

/* The chaos fault kinds read back with their parameters. */
static void test_scenario_chaos_fault_kinds_read_back(void **state)
{
    (void)state;
    char *text = with(BASE, "  - { at: 10s, crash: b1, duration: 5s }\n",
                      "  - { at: 1s, crash: b1, torn: true, duration: 2s }\n"
                      "  - { at: 4s, pause: leader(events/0), duration: 3s }\n"
                      "  - { at: 5s, reset: b2 <-> b3 }\n"
                      "  - { at: 6s, partition: [[b1, b2], [b2, b3, ctl]], duration: 2s }\n"
                      "  - { at: 9s, clock: b3, wall: -30s, monotonic: +2s, rate: 1.05, duration: 4s }\n"
                      "  - { at: 14s, disk_full: b2, duration: 1s }\n"
                      "  - { at: 16s, fsync_error: b1, duration: 1s }\n"
                      "  - { at: 18s, bit_flip: b3, files: log }\n");
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(text, strlen(text), "t.yaml", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sc.fault_count, 8);
    assert_true(sc.faults[0].torn);
    assert_int_equal(sc.faults[1].kind, WEIR_SCN_PAUSE);
    assert_int_equal(sc.faults[1].a.topic_index, 0);
    assert_int_equal(sc.faults[1].duration_ns, 3000000000LL);
    assert_int_equal(sc.faults[2].kind, WEIR_SCN_RESET);
    assert_int_equal(sc.faults[2].a.host_index, 1);
    assert_int_equal(sc.faults[2].b.host_index, 2);
    assert_int_equal(sc.faults[3].kind, WEIR_SCN_PARTITION);
    assert_int_equal(sc.faults[3].group_count, 2);
    assert_int_equal(sc.faults[3].groups[0], 0x3);  /* b1, b2 */
    assert_int_equal(sc.faults[3].groups[1], 0xe);  /* b2 (the bridge), b3, ctl */
    assert_int_equal(sc.faults[4].wall_ns, -30000000000LL);
    assert_int_equal(sc.faults[4].monotonic_ns, 2000000000LL);
    assert_true(sc.faults[4].rate == 1.05);
    assert_int_equal(sc.faults[5].kind, WEIR_SCN_DISK_FULL);
    assert_int_equal(sc.faults[6].kind, WEIR_SCN_FSYNC_ERROR);
    assert_int_equal(sc.faults[7].kind, WEIR_SCN_BIT_FLIP);
    assert_int_equal(sc.faults[7].files, WEIR_SCN_FLIP_LOG);
    assert_string_equal(weir_scn_fault_kind_name(sc.faults[3].kind), "partition");
    weir_scenario_free(&sc);
    free(text);
}

static void test_scenario_expectations_that_cannot_hold_are_errors(void **state)
{
    (void)state;
    expect_error("  no_acked_loss: true", "  no_acked_loss: true\n  expect_violation: acked_loss",
                 "t.yaml:18:18: expect.no_acked_loss: true, but expect_violation expects "
                 "acked_loss: choose one");
    expect_error("rate: 100/s", "rate: 100/s, acks: 1",
                 "t.yaml:18:18: expect.no_acked_loss: no producer uses acks: all");
    expect_error("  no_acked_loss: true", "  consumers_read_all_acked: true",
                 "t.yaml:18:29: expect.consumers_read_all_acked: the file declares no consumers");
    char *text = with(BASE, "crash: b1, duration: 5s", "crash: b1");
    char *text2 = with(text, "  no_acked_loss: true", "  offline_until_restart: true");
    expect_error_text(text2, "t.yaml:18:26: expect.offline_until_restart: no crash is followed by "
                             "a restart (a restart fault, or a duration)");
    free(text);
    free(text2);
    expect_error("  no_acked_loss: true", "  unclean_elections_min: 1",
                 "t.yaml:18:26: expect.unclean_elections_min: unclean.leader.election.enable is "
                 "false for every topic");
    expect_error("  no_acked_loss: true",
                 "  produce_errors_allowed: [NOT_ENOUGH_REPLICAS]\n"
                 "  produce_errors_required: [REQUEST_TIMED_OUT]",
                 "t.yaml:19:28: expect.produce_errors_required: REQUEST_TIMED_OUT is required but "
                 "not in produce_errors_allowed");
    expect_error("  no_acked_loss: true", "  produce_errors_allowed: [NOT_ENOUGH_REPLICA]",
                 "t.yaml:18:28: expect.produce_errors_allowed[0]: expected CORRUPT_MESSAGE, "
                 "UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, "
                 "REQUEST_TIMED_OUT, BROKER_NOT_AVAILABLE, MESSAGE_TOO_LARGE, NETWORK_EXCEPTION, "
                 "RECORD_LIST_TOO_LARGE, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND, "
                 "INVALID_REQUIRED_ACKS, OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER, "
                 "KAFKA_STORAGE_ERROR, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH, got "
                 "\"NOT_ENOUGH_REPLICA\" (did you mean \"NOT_ENOUGH_REPLICAS\"?)");
    expect_error("  no_acked_loss: true", "  expect_violation: [divergance]",
                 "t.yaml:18:22: expect.expect_violation[0]: expected one of acked_loss, "
                 "divergence, duplicate, reorder, read_above_hw, hw_above_leo, offset_gap, "
                 "inconsistent_offsets, poll_skip, nonmonotonic_poll, reread_beyond_commit, "
                 "aborted_read, torn_transaction or not_exactly_once, "
                 "optionally with a topic: acked_loss(events); got \"divergance\" (did you mean "
                 "\"divergence\"?)");
    expect_error("  no_acked_loss: true", "  expect_violation: divergence(evnts)",
                 "t.yaml:18:21: expect.expect_violation: no topic named \"evnts\" (did you mean "
                 "\"events\"?)");
}

static void test_scenario_variants_are_validated_as_merged(void **state)
{
    (void)state;
    /* The variant's broker defaults meet the base's expectations. */
    char *text = with(BASE, "  no_acked_loss: true\n",
                      "  no_acked_loss: true\n  offline_until_restart: true\n"
                      "variants:\n"
                      "  - name: off\n"
                      "  - name: on\n"
                      "    broker_defaults: { unclean.leader.election.enable: true }\n");
    expect_error_text(text, "t.yaml:22:5: variants[1].offline_until_restart: "
                            "unclean.leader.election.enable is true: an unclean election would "
                            "end the wait");
    free(text);
    expect_error(
        "  no_acked_loss: true\n",
        "  no_acked_loss: true\nvariants:\n  - { name: a, expect: { no_acked_los: false } }\n",
        "t.yaml:20:26: variants[0].expect.no_acked_los: unknown key (did you mean "
        "\"no_acked_loss\"?)");
    expect_error("  no_acked_loss: true\n",
                 "  no_acked_loss: true\nvariants:\n  - { name: a }\n  - { name: a }\n",
                 "t.yaml:21:13: variants[1].name: variant \"a\" is declared twice (first at line "
                 "20)");
    expect_error("  no_acked_loss: true\n",
                 "  no_acked_loss: true\nvariants:\n"
                 "  - { name: a, broker_defaults: { min.insync.replicas: 4 } }\n",
                 "t.yaml:20:56: variants[0].broker_defaults.min.insync.replicas: 4 is larger than "
                 "the replication factor 3 of topic \"events\" (set min.insync.replicas on the "
                 "topic)");
}

/* ---- a scenario that sets every key, read back field by field ---- */

static const char FULL[] =
    "name: round-trip\n"
    "description: every key\n"
    "seed: 18446744073709551615\n"
    "duration: 2m\n"
    "platform:\n"
    "  link: { latency: 250us, bandwidth: 100Mbps }\n"
    "  disk: { write: 50MiBps, read: 1GBps, fsync: 1.5ms, capacity: 10GiB, torn_crash: true }\n"
    "  hosts:\n"
    "    - b1\n"
    "    - { name: b2, link: { latency: 5ms }, disk: { write: 1MBps } }\n"
    "    - ctl\n"
    "    - client\n"
    "broker_defaults:\n"
    "  replica.lag.time.max.ms: 10s\n"
    "  min.insync.replicas: 2\n"
    "  replication.truncation.rule: truncate_to_hw\n"
    "  log.segment.bytes: 1MiB\n"
    "brokers:\n"
    "  - { id: 10, host: b1, log.flush.interval.messages: 1, replica.fetch.wait.max.ms: 250 }\n"
    "  - { id: 20, host: b2, replication.truncation.rule: leader_epoch }\n"
    "controller: { host: ctl, broker.session.timeout.ms: 4500, broker.heartbeat.interval.ms: 1.5s "
    "}\n"
    "topics:\n"
    "  - name: t1\n"
    "    replication_factor: 2\n"
    "    assignment: [[10, 20], [20, 10]]\n"
    "    segment.bytes: 64KiB\n"
    "    retention.ms: 1h\n"
    "    unclean.leader.election.enable: true\n"
    "  - { name: t2, partitions: 3, replication_factor: 2 }\n"
    "producers:\n"
    "  - name: p\n"
    "    host: client\n"
    "    topic: t1\n"
    "    partition: 1\n"
    "    rate: 50/ms\n"
    "    keys: random(7)\n"
    "    acks: 1\n"
    "    size: 1KiB\n"
    "    start: 1s\n"
    "    stop: 90s\n"
    "    linger: 10ms\n"
    "    batch: 32KiB\n"
    "    retries: 3\n"
    "    retry_backoff: 50ms\n"
    "    request_timeout: 5s\n"
    "    delivery_timeout: 20s\n"
    "    max_in_flight: 1\n"
    "  - { host: client, topic: t2, rate: 10, keys: sequence, acks: all, idempotent: true }\n"
    "consumers:\n"
    "  - { name: c, host: client, topic: t2, partitions: [2, 0], from: latest, start: 500ms }\n"
    "  - { host: client, topic: t1 }\n"
    "faults:\n"
    "  - { at: 1s, slow_disk: b1, write: 1MBps, fsync: 20ms, duration: 2s }\n"
    "  - { at: 2s, cut: b1 -> b2 }\n"
    "  - { at: 3s, slow_link: b2, latency: 50ms, bandwidth: 1Mbps, duration: 1s }\n"
    "  - { at: 5s, isolate: b2, duration: 1s }\n"
    "  - { at: 10s, heal: b1 -> b2 }\n"
    "  - { at: 20s, clean_shutdown: leader(t1/1), duration: 5s }\n"
    "  - { at: 30s, crash: b2 }\n"
    "  - { at: 31s, restart: b2 }\n"
    "  - { at: 40s, cut: b1 b2, duration: 1s }\n"
    "expect:\n"
    "  max_lost_acked: 5\n"
    "  expect_violation: [duplicate, reorder(t2)]\n"
    "  leader_changes_min: 1\n"
    "  isr_shrinks_min: 2\n"
    "  isr_expands_min: 3\n"
    "  truncations_min: 4\n"
    "  unclean_elections_min: 5\n"
    "  produce_errors_allowed: [NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT]\n"
    "  produce_errors_required: [REQUEST_TIMED_OUT]\n"
    "  consumers_read_all_acked: true\n"
    "  recovers_within: 30s\n"
    "variants:\n"
    "  - name: v1\n"
    "    description: other rule\n"
    "    broker_defaults: { replication.truncation.rule: leader_epoch, min.insync.replicas: 1 }\n"
    "    expect: { no_acked_loss: true, expect_violation: [], recovers_within: none }\n"
    "  - name: v2\n";

static void check_full_platform(const weir_scenario *sc)
{
    assert_string_equal(sc->file_name, "rt.yaml");
    assert_string_equal(sc->name, "round-trip");
    assert_string_equal(sc->description, "every key");
    assert_true(sc->seed == UINT64_MAX);
    assert_int_equal(sc->duration_ns, 120000000000LL);
    assert_int_equal(sc->host_count, 4);
    const weir_scn_host *b1 = &sc->hosts[0], *b2 = &sc->hosts[1];
    assert_string_equal(b1->name, "b1");
    assert_int_equal(b1->link.latency_ns, 250000);
    assert_true(b1->link.bandwidth_bps == 12.5e6);
    assert_true(b1->disk.write_bps == 52428800.0);
    assert_true(b1->disk.read_bps == 1e9);
    assert_int_equal(b1->disk.fsync_ns, 1500000);
    assert_int_equal(b1->disk.capacity_bytes, 10737418240ULL);
    assert_true(b1->disk.torn_crash);
    assert_int_equal(b1->mark.line, 9);
    assert_int_equal(b1->mark.column, 7);
    assert_string_equal(b2->name, "b2");
    assert_int_equal(b2->link.latency_ns, 5000000);
    assert_true(b2->link.bandwidth_bps == 12.5e6); /* inherited */
    assert_true(b2->disk.write_bps == 1e6);
    assert_true(b2->disk.read_bps == 1e9); /* inherited */
    assert_string_equal(sc->hosts[2].name, "ctl");
    assert_string_equal(sc->hosts[3].name, "client");
}

static void check_full_cluster(const weir_scenario *sc)
{
    assert_int_equal(sc->broker_defaults.count, 4);
    assert_string_equal(sc->broker_defaults.items[0].key, "replica.lag.time.max.ms");
    assert_string_equal(sc->broker_defaults.items[0].value, "10000");
    assert_int_equal(sc->broker_defaults.items[0].number, 10000);
    assert_string_equal(sc->broker_defaults.items[2].value, "truncate_to_hw");
    assert_int_equal(sc->broker_defaults.items[2].number, 0);
    assert_string_equal(sc->broker_defaults.items[3].value, "1048576");
    assert_int_equal(sc->broker_count, 2);
    assert_int_equal(sc->brokers[0].id, 10);
    assert_int_equal(sc->brokers[0].host_index, 0);
    assert_int_equal(sc->brokers[0].config.count, 2);
    assert_string_equal(sc->brokers[0].config.items[0].key, "log.flush.interval.messages");
    assert_string_equal(sc->brokers[0].config.items[0].value, "1");
    assert_string_equal(sc->brokers[0].config.items[1].value, "250");
    assert_int_equal(sc->brokers[1].id, 20);
    assert_int_equal(sc->brokers[1].host_index, 1);
    /* Own settings first, then broker_defaults, else NULL. */
    assert_string_equal(weir_scenario_broker_setting(sc, 0, "replication.truncation.rule")->value,
                        "truncate_to_hw");
    const weir_scn_setting *rule =
        weir_scenario_broker_setting(sc, 1, "replication.truncation.rule");
    assert_string_equal(rule->value, "leader_epoch");
    assert_int_equal(rule->number, 1);
    assert_int_equal(rule->mark.line, 20);
    assert_string_equal(weir_scenario_broker_setting(sc, 1, "replica.lag.time.max.ms")->value,
                        "10000");
    assert_null(weir_scenario_broker_setting(sc, 1, "replica.fetch.wait.max.ms"));
    assert_int_equal(sc->controller.host_index, 2);
    assert_int_equal(sc->controller.session_timeout_ms, 4500);
    assert_int_equal(sc->controller.heartbeat_interval_ms, 1500);
    assert_int_equal(sc->topic_count, 2);
    const weir_scn_topic *t1 = &sc->topics[0], *t2 = &sc->topics[1];
    assert_string_equal(t1->name, "t1");
    assert_int_equal(t1->partitions, 2);
    assert_int_equal(t1->replication_factor, 2);
    static const int32_t assignment[] = {10, 20, 20, 10};
    assert_memory_equal(t1->assignment, assignment, sizeof assignment);
    assert_int_equal(t1->log.segment_bytes, 65536);
    assert_int_equal(t1->log.retention_ms, 3600000);
    assert_int_equal(t1->min_insync_replicas, -1);
    assert_int_equal(weir_scenario_topic_min_isr(sc, 0), 2); /* from broker_defaults */
    assert_true(weir_scenario_topic_unclean(sc, 0));
    assert_int_equal(t1->config.count, 3);
    assert_string_equal(t2->name, "t2");
    assert_int_equal(t2->partitions, 3);
    assert_null(t2->assignment);
    assert_false(weir_scenario_topic_unclean(sc, 1));
    weir_log_config dflt;
    weir_log_config_default(&dflt);
    assert_int_equal(t2->log.segment_bytes, dflt.segment_bytes);
}

static void check_full_clients(const weir_scenario *sc)
{
    assert_int_equal(sc->producer_count, 2);
    const weir_scn_producer *p = &sc->producers[0], *q = &sc->producers[1];
    assert_string_equal(p->name, "p");
    assert_int_equal(p->host_index, 3);
    assert_int_equal(p->topic_index, 0);
    assert_int_equal(p->partition, 1);
    assert_true(p->rate_per_s == 50000.0);
    assert_int_equal(p->keys, WEIR_SCN_KEYS_RANDOM);
    assert_int_equal(p->key_count, 7);
    assert_int_equal(p->acks, 1);
    assert_int_equal(p->message_bytes, 1024);
    assert_int_equal(p->start_ns, 1000000000);
    assert_int_equal(p->stop_ns, 90000000000LL);
    assert_int_equal(p->linger_ns, 10000000);
    assert_int_equal(p->batch_bytes, 32768);
    assert_int_equal(p->retries, 3);
    assert_int_equal(p->retry_backoff_ns, 50000000);
    assert_int_equal(p->request_timeout_ns, 5000000000LL);
    assert_int_equal(p->delivery_timeout_ns, 20000000000LL);
    assert_int_equal(p->max_in_flight, 1);
    assert_false(p->idempotent);
    assert_int_equal(p->mark.line, 31);
    /* Defaults. */
    assert_string_equal(q->name, "producer-2");
    assert_int_equal(q->topic_index, 1);
    assert_int_equal(q->partition, -1);
    assert_true(q->rate_per_s == 10.0);
    assert_int_equal(q->keys, WEIR_SCN_KEYS_SEQUENCE);
    assert_int_equal(q->acks, -1);
    assert_int_equal(q->message_bytes, 100);
    assert_int_equal(q->start_ns, 0);
    assert_int_equal(q->stop_ns, 120000000000LL);
    assert_int_equal(q->linger_ns, 0);
    assert_int_equal(q->batch_bytes, 16384);
    assert_int_equal(q->retries, INT32_MAX);
    assert_int_equal(q->retry_backoff_ns, 100000000);
    assert_int_equal(q->request_timeout_ns, 30000000000LL);
    assert_int_equal(q->delivery_timeout_ns, 120000000000LL);
    assert_int_equal(q->max_in_flight, 5);
    assert_true(q->idempotent);
    assert_int_equal(weir_scenario_producer_find(sc, "producer-2"), 1);
    assert_int_equal(sc->consumer_count, 2);
    const weir_scn_consumer *c = &sc->consumers[0], *d = &sc->consumers[1];
    assert_string_equal(c->name, "c");
    assert_int_equal(c->host_index, 3);
    assert_int_equal(c->topic_index, 1);
    assert_int_equal(c->partition_count, 2);
    assert_int_equal(c->partitions[0], 2);
    assert_int_equal(c->partitions[1], 0);
    assert_false(c->from_earliest);
    assert_int_equal(c->start_ns, 500000000);
    assert_string_equal(d->name, "consumer-2");
    assert_null(d->partitions);
    assert_int_equal(d->partition_count, 0);
    assert_true(d->from_earliest);
}

static void check_fault(const weir_scn_fault *f, weir_scn_fault_kind kind, int64_t at_s10,
                        int64_t duration_ms, int a_host, int b_host, bool one_way)
{
    assert_int_equal(f->kind, kind);
    assert_int_equal(f->at_ns, at_s10 * 100000000);
    assert_int_equal(f->duration_ns, duration_ms * 1000000);
    assert_int_equal(f->a.host_index, a_host);
    assert_int_equal(f->b.host_index, b_host);
    assert_int_equal(f->one_way, one_way);
}

static void check_full_faults(const weir_scenario *sc)
{
    assert_int_equal(sc->fault_count, 9);
    const weir_scn_fault *f = sc->faults;
    check_fault(&f[0], WEIR_SCN_SLOW_DISK, 10, 2000, 0, -1, false);
    assert_true(f[0].write_bps == 1e6);
    assert_true(f[0].read_bps == -1);
    assert_int_equal(f[0].fsync_ns, 20000000);
    check_fault(&f[1], WEIR_SCN_CUT, 20, 0, 0, 1, true);
    check_fault(&f[2], WEIR_SCN_SLOW_LINK, 30, 1000, 1, -1, false);
    assert_int_equal(f[2].latency_ns, 50000000);
    assert_true(f[2].bandwidth_bps == 125000.0);
    assert_int_equal(f[2].fsync_ns, -1);
    check_fault(&f[3], WEIR_SCN_ISOLATE, 50, 1000, 1, -1, false);
    check_fault(&f[4], WEIR_SCN_HEAL, 100, 0, 0, 1, true);
    check_fault(&f[5], WEIR_SCN_CLEAN_SHUTDOWN, 200, 5000, -1, -1, false);
    assert_int_equal(f[5].a.topic_index, 0);
    assert_int_equal(f[5].a.partition, 1);
    check_fault(&f[6], WEIR_SCN_CRASH, 300, 0, 1, -1, false);
    check_fault(&f[7], WEIR_SCN_RESTART, 310, 0, 1, -1, false);
    check_fault(&f[8], WEIR_SCN_CUT, 400, 1000, 0, 1, false);
    assert_int_equal(f[8].mark.line, 61);
    assert_int_equal(weir_scenario_last_fault_end_ns(sc), 41000000000LL);
    assert_string_equal(weir_scn_fault_kind_name(f[5].kind), "clean_shutdown");
}

static void check_full_expect(const weir_scn_expect *e)
{
    assert_false(e->no_acked_loss);
    assert_int_equal(e->lost_acked_max, 5);
    assert_int_equal(e->violation_count, 2);
    assert_int_equal(e->violations[0].kind, WEIR_SCN_V_DUPLICATE);
    assert_int_equal(e->violations[0].topic_index, -1);
    assert_int_equal(e->violations[1].kind, WEIR_SCN_V_REORDER);
    assert_int_equal(e->violations[1].topic_index, 1);
    assert_int_equal(e->leader_changes_min, 1);
    assert_int_equal(e->isr_shrinks_min, 2);
    assert_int_equal(e->isr_expands_min, 3);
    assert_int_equal(e->truncations_min, 4);
    assert_int_equal(e->unclean_elections_min, 5);
    assert_true(e->produce_errors_checked);
    assert_int_equal(e->produce_errors_allowed_count, 2);
    assert_int_equal(e->produce_errors_allowed[0], 19);
    assert_int_equal(e->produce_errors_allowed[1], 7);
    assert_int_equal(e->produce_errors_required_count, 1);
    assert_string_equal(weir_scn_kafka_error_name(e->produce_errors_required[0]),
                        "REQUEST_TIMED_OUT");
    assert_false(e->offline_until_restart);
    assert_true(e->consumers_read_all_acked);
    assert_int_equal(e->recovers_within_ns, 30000000000LL);
}

static void test_scenario_round_trip_reads_back_every_field(void **state)
{
    (void)state;
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(FULL, strlen(FULL), "rt.yaml", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sc.variant_index, -1);
    check_full_platform(&sc);
    check_full_cluster(&sc);
    check_full_clients(&sc);
    check_full_faults(&sc);
    check_full_expect(&sc.expect);
    assert_int_equal(sc.variant_count, 2);
    check_full_expect(&sc.variants[1].expect); /* v2 changes nothing */
    assert_int_equal(sc.variants[1].broker_defaults.count, 4);

    /* v1: merged over the base, key by key. */
    const weir_scn_variant *v1 = &sc.variants[0];
    assert_string_equal(v1->name, "v1");
    assert_string_equal(v1->description, "other rule");
    assert_int_equal(v1->broker_defaults.count, 4);
    assert_true(v1->expect.no_acked_loss);
    assert_int_equal(v1->expect.violation_count, 0);
    assert_int_equal(v1->expect.recovers_within_ns, -1);
    assert_int_equal(v1->expect.isr_expands_min, 3); /* kept from the base */
    assert_int_equal(weir_scenario_use_variant(&sc, "v1", why, sizeof why), 0);
    assert_int_equal(sc.variant_index, 0);
    assert_string_equal(weir_scenario_broker_setting(&sc, 0, "replication.truncation.rule")->value,
                        "leader_epoch");
    assert_int_equal(weir_scenario_topic_min_isr(&sc, 0), 1);
    assert_true(sc.expect.no_acked_loss);
    assert_int_equal(weir_scenario_use_variant(&sc, "v3", why, sizeof why), WEIR_E_NOENT);
    assert_string_equal(why, "rt.yaml: no variant named \"v3\" (variants: v1, v2)");
    weir_scenario_free(&sc);
    assert_null(sc.arena);
    weir_scenario_free(&sc); /* twice is harmless */
}

static void test_scenario_units_and_kafka_values_are_normalised(void **state)
{
    (void)state;
    char *text = with(BASE, "brokers:\n",
                      "broker_defaults:\n"
                      "  replica.lag.time.max.ms: 2m\n"
                      "  replica.fetch.max.bytes: 1.5KiB\n"
                      "  log.flush.interval.ms: -1\n"
                      "  log.retention.bytes: \"-1\"\n"
                      "  unclean.leader.election.enable: false\n"
                      "brokers:\n");
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(text, strlen(text), "u.yaml", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    const weir_scn_settings *d = &sc.broker_defaults;
    assert_int_equal(d->count, 5);
    assert_string_equal(d->items[0].value, "120000");
    assert_string_equal(d->items[1].value, "1536");
    assert_string_equal(d->items[2].value, "-1");
    assert_int_equal(d->items[3].number, -1);
    assert_string_equal(d->items[4].value, "false");
    assert_int_equal(sc.seed, 1);
    assert_int_equal(sc.controller.session_timeout_ms, 9000);
    assert_int_equal(sc.controller.heartbeat_interval_ms, 2000);
    assert_true(sc.hosts[0].link.bandwidth_bps == 125e6);
    assert_int_equal(sc.hosts[0].link.latency_ns, 100000);
    assert_true(sc.hosts[0].disk.write_bps == 0);
    weir_scenario_free(&sc);
    free(text);
}

/* ---- damaged input fails cleanly ---- */

static void check_clean_failure(const char *text, size_t len)
{
    weir_scenario sc;
    char why[256];
    int rc = weir_scenario_parse(text, len, "d.yaml", &sc, why, sizeof why);
    if (rc == 0) {
        weir_scenario_free(&sc);
        return;
    }
    assert_int_equal(rc, WEIR_E_INVAL);
    assert_memory_equal(why, "d.yaml:", 7);
    assert_null(sc.arena);
}

static void test_scenario_every_prefix_and_random_damage_fail_cleanly(void **state)
{
    (void)state;
    size_t len = strlen(FULL);
    for (size_t n = 0; n < len; n++) {
        check_clean_failure(FULL, n);
    }
    weir_prng prng;
    weir_prng_seed(&prng, 5);
    char *copy = malloc(len);
    assert_non_null(copy);
    static const char bytes[] = ":-[]{},#&*!|>'\"%@` \t\n0aZ.\x80\xff";
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, FULL, len);
        int flips = 1 + (int)weir_prng_below(&prng, 3);
        for (int i = 0; i < flips; i++) {
            copy[weir_prng_below(&prng, len)] = bytes[weir_prng_below(&prng, sizeof bytes - 1)];
        }
        check_clean_failure(copy, len);
    }
    free(copy);
    /* A NUL inside the text, and why == NULL. */
    static const char nul[] = "name: a\0b\nduration: 1s\n";
    check_clean_failure(nul, sizeof nul - 1);
    weir_scenario sc;
    assert_int_equal(weir_scenario_parse("x: [", 4, NULL, &sc, NULL, 0), WEIR_E_INVAL);
}

/* ---- transactions, groups and pipelines ---- */

static const char TXN_BASE[] =
    "name: t\n"
    "duration: 30s\n"
    "platform:\n"
    "  hosts: [b1, b2, b3, ctl, client]\n"
    "brokers:\n"
    "  - { id: 1, host: b1 }\n"
    "  - { id: 2, host: b2 }\n"
    "  - { id: 3, host: b3 }\n"
    "controller: { host: ctl }\n"
    "topics:\n"
    "  - { name: in, partitions: 2 }\n"
    "  - { name: out, partitions: 2 }\n"
    "producers:\n"
    "  - { name: w, host: client, topic: in, rate: 100/s, transactional_id: tx-w, transaction: { messages: 20, abort_every: 3, timeout: 5s, epoch_bump: false } }\n"
    "consumers:\n"
    "  - { name: m, host: client, topic: in, group: g, isolation: read_committed, commit_every: 250ms, session_timeout: 6s, heartbeat: 500ms }\n"
    "  - { name: p, host: client, topic: in, group: g, output: out, transactional_id: tx-p }\n";

static void test_scenario_transactions_groups_and_pipelines_read_back(void **state)
{
    (void)state;
    weir_scenario sc;
    char why[1024];
    assert_int_equal(weir_scenario_parse(TXN_BASE, strlen(TXN_BASE), "t.yaml", &sc, why, sizeof why), 0);
    const weir_scn_producer *w = &sc.producers[0];
    assert_string_equal(w->txn.id, "tx-w");
    assert_true(w->idempotent); /* a transactional producer is idempotent */
    assert_int_equal(w->txn.messages, 20);
    assert_int_equal(w->txn.abort_every, 3);
    assert_int_equal(w->txn.timeout_ns, 5000000000LL);
    assert_false(w->txn.epoch_bump);
    const weir_scn_consumer *m = &sc.consumers[0];
    assert_string_equal(m->group, "g");
    assert_true(m->read_committed);
    assert_int_equal(m->commit_every_ns, 250000000LL);
    assert_int_equal(m->session_timeout_ns, 6000000000LL);
    assert_int_equal(m->heartbeat_ns, 500000000LL);
    assert_int_equal(m->output_topic_index, -1);
    assert_null(m->txn.id);
    const weir_scn_consumer *p = &sc.consumers[1];
    assert_int_equal(p->output_topic_index, 1);
    assert_string_equal(p->txn.id, "tx-p");
    assert_int_equal(p->txn.messages, 100); /* defaults */
    assert_true(p->txn.epoch_bump);
    assert_false(p->read_committed);
    weir_scenario_free(&sc);
}

static void txn_error(const char *old, const char *repl, const char *message)
{
    char *text = with(TXN_BASE, old, repl);
    expect_error_text(text, message);
    free(text);
}

static void test_scenario_transaction_and_group_mistakes_are_named(void **state)
{
    (void)state;
    txn_error("transactional_id: tx-w, ", "", 
              "t.yaml:14:67: producers[0].transaction: needs transactional_id: (the producer's "
              "transactional.id)");
    txn_error("abort_every: 3", "abort_every: -1",
              "t.yaml:14:120: producers[0].transaction.abort_every: expected an integer from 0 to "
              "1000000, got \"-1\"");
    txn_error("timeout: 5s", "timeout: 16m",
              "t.yaml:14:132: producers[0].transaction.timeout: must be 1ms to 15min "
              "(transaction.max.timeout.ms is 900000)");
    txn_error("group: g, isolation", "group: g, partitions: [0], isolation",
              "t.yaml:16:63: consumers[0].partitions: a group member gets its partitions from the "
              "group: drop partitions: or group:");
    txn_error("isolation: read_committed", "isolation: serializable",
              "t.yaml:16:62: consumers[0].isolation: expected read_uncommitted or read_committed, got "
              "\"serializable\"");
    txn_error("heartbeat: 500ms", "heartbeat: 6s",
              "t.yaml:16:131: consumers[0].heartbeat: must be shorter than session_timeout");
    txn_error("group: g, output: out", "output: out",
              "t.yaml:17:49: consumers[1].output: a pipeline needs group: and transactional_id: "
              "(exactly-once consume-transform-produce)");
    txn_error("output: out", "output: in", "t.yaml:17:59: consumers[1].output: must differ from topic:");
    txn_error("output: out, ", "",
              "t.yaml:17:69: consumers[1].transactional_id: only for a pipeline (add output: TOPIC)");
    txn_error("  - { name: m, host: client, topic: in, group: g,", "  - { name: m, host: client, topic: in,",
              "t.yaml:16:82: consumers[0].commit_every: only for a group member (add group:)");
}


/* ---- flows, actions and flow expectations ---- */

/* Line numbers matter: the messages below name them. */
static const char FLOWS[] = "name: f\n"                                                  /* 1 */
                            "duration: 20s\n"                                            /* 2 */
                            "platform: { hosts: [f1, f2] }\n"                            /* 3 */
                            "flows:\n"                                                   /* 4 */
                            "  - { name: spike, host: f1, file: ../flows/spike.yaml,\n"  /* 5 */
                            "      repository: true, provenance_sync: true }\n"          /* 6 */
                            "  - { name: media, host: f2, file: media.yaml, batch_size: 50 }\n" /* 7 */
                            "actions:\n"                                                 /* 8 */
                            "  - { at: 3s, flow: spike, stop: P3 }\n"                    /* 9 */
                            "  - { at: 4s, flow: spike, threshold: { connection: q, objects: 500 } }\n" /* 10 */
                            "  - { at: 5s, flow: media, set_parameter: { context: common, name: codec profile, value: high } }\n" /* 11 */
                            "  - { at: 6s, flow: spike, prioritizers: { connection: q, use: [newest_first] } }\n" /* 12 */
                            "  - { at: 7s, flow: spike, expiration: { connection: q, after: 2s } }\n" /* 13 */
                            "faults:\n"                                                  /* 14 */
                            "  - { at: 8s, crash: f1, duration: 2s }\n"                  /* 15 */
                            "expect:\n"                                                  /* 16 */
                            "  flow_conserved: true\n"                                   /* 17 */
                            "  flow_no_loss: true\n"                                     /* 18 */
                            "  flow_queue_max: { flow: spike, connection: q, objects: 60000 }\n" /* 19 */
                            "  flow_back_pressure: [{ flow: spike, processor: P2 }]\n"   /* 20 */
                            "  flow_counts: { flow: spike, created: 10, queued: 0 }\n"   /* 21 */
                            "  flow_parameter: { flow: media, parameter: codec profile, attribute: p,\n" /* 22 */
                            "                    before: low, connections: [a, b] }\n"; /* 23 */

static void flow_error(const char *old, const char *repl, const char *message)
{
    char *text = with(FLOWS, old, repl);
    expect_error_text(text, message);
    free(text);
}

static void test_scenario_flows_actions_and_flow_expectations_read_back(void **state)
{
    (void)state;
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(FLOWS, strlen(FLOWS), "t.yaml", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    /* a file of flows alone: no brokers, no controller */
    assert_int_equal(sc.broker_count, 0);
    assert_int_equal(sc.controller.host_index, -1);
    assert_int_equal(sc.flow_count, 2);
    const weir_scn_flow *s = &sc.flows[0];
    assert_string_equal(s->name, "spike");
    assert_int_equal(s->host_index, 0);
    assert_string_equal(s->file, "../flows/spike.yaml");
    assert_int_equal(s->file_mark.line, 5);
    assert_true(s->repository && s->wal_sync && s->provenance_sync);
    assert_int_equal(s->provenance, WEIR_SCN_PROV_REPOSITORY);
    assert_int_equal(s->batch_size, 1000);
    assert_int_equal(s->checkpoint_interval_ns, 20000000000LL);
    const weir_scn_flow *m = &sc.flows[1];
    assert_false(m->repository);
    assert_int_equal(m->provenance, WEIR_SCN_PROV_MEMORY);
    assert_int_equal(m->batch_size, 50);
    assert_int_equal(weir_scenario_flow_find(&sc, "media"), 1);
    assert_int_equal(sc.action_count, 5);
    const weir_scn_action *a = sc.actions;
    assert_int_equal(a[0].kind, WEIR_SCN_ACT_STOP);
    assert_string_equal(a[0].target, "P3");
    assert_int_equal(a[0].at_ns, 3000000000LL);
    assert_int_equal(a[0].target_mark.line, 9);
    assert_int_equal(a[1].kind, WEIR_SCN_ACT_THRESHOLD);
    assert_int_equal(a[1].objects, 500);
    assert_int_equal(a[1].size_bytes, -1);
    assert_int_equal(a[2].kind, WEIR_SCN_ACT_SET_PARAMETER);
    assert_int_equal(a[2].flow_index, 1);
    assert_string_equal(a[2].target, "common");
    assert_string_equal(a[2].name, "codec profile");
    assert_string_equal(a[2].value, "high");
    assert_int_equal(a[3].prioritizer_count, 1);
    assert_string_equal(a[3].prioritizers[0], "newest_first");
    assert_int_equal(a[4].expiration_ns, 2000000000LL);
    const weir_scn_expect *e = &sc.expect;
    assert_true(e->flow_conserved && e->flow_no_loss);
    assert_int_equal(e->flow_queue_max_count, 1);
    assert_string_equal(e->flow_queue_max[0].connection, "q");
    assert_int_equal(e->flow_queue_max[0].objects, 60000);
    assert_int_equal(e->flow_back_pressure_count, 1);
    assert_string_equal(e->flow_back_pressure[0].processor, "P2");
    assert_int_equal(e->flow_counts[0].created, 10);
    assert_int_equal(e->flow_counts[0].queued, 0);
    assert_int_equal(e->flow_counts[0].dropped, -1);
    assert_int_equal(e->flow_parameter[0].connection_count, 2);
    assert_string_equal(e->flow_parameter[0].before, "low");
    assert_string_equal(weir_scn_action_kind_name(WEIR_SCN_ACT_SET_PARAMETER), "set_parameter");
    weir_scenario_free(&sc);
}

static void test_scenario_flow_mistakes_are_named(void **state)
{
    (void)state;
    flow_error("host: f2, file: media.yaml", "host: f1, file: media.yaml",
               "t.yaml:7:26: flows[1].host: host \"f1\" already runs another flow: a flow has a "
               "host of its own");
    flow_error("name: media, host: f2", "name: spike, host: f2",
               "t.yaml:7:13: flows[1].name: flow \"spike\" is declared twice (first at line 5)");
    flow_error("batch_size: 50", "batch_sise: 50",
               "t.yaml:7:48: flows[1].batch_sise: unknown key (did you mean \"batch_size\"?)");
    flow_error("batch_size: 50", "provenance: repository",
               "t.yaml:7:60: flows[1].provenance: a provenance repository needs repository: true");
    flow_error("batch_size: 50", "wal_sync: false",
               "t.yaml:7:58: flows[1].wal_sync: only with repository: true");
    flow_error("file: media.yaml, ", "",
               "t.yaml:7:5: flows[1]: missing key \"file\"");
    flow_error("platform: { hosts: [f1, f2] }\n",
               "platform: { hosts: [f1, f2, b] }\nbrokers: [{ id: 1, host: f2 }]\n"
               "controller: { host: b }\n",
               "t.yaml:9:26: flows[1].host: host \"f2\" already runs a broker: a flow has a host "
               "of its own");
}

static void test_scenario_action_mistakes_are_named(void **state)
{
    (void)state;
    flow_error("at: 3s, flow: spike, stop", "at: 3s, flow: spik, stop",
               "t.yaml:9:21: actions[0].flow: no flow named \"spik\" (did you mean \"spike\"?)");
    flow_error("at: 4s", "at: 2s",
               "t.yaml:10:11: actions[1].at: 2s is earlier than the action before it (3s): list "
               "actions in time order");
    flow_error("at: 7s", "at: 20s",
               "t.yaml:13:11: actions[4].at: 20s is not before the end of the run (20s)");
    flow_error("stop: P3 }", "stop: P3, start: P3 }",
               "t.yaml:9:34: actions[0].stop: one action per entry (this one also has start)");
    flow_error("stop: P3 }", "}",
               "t.yaml:9:5: actions[0]: no action: give one of start, stop, threshold, "
               "prioritizers, expiration or set_parameter");
    flow_error("connection: q, objects: 500", "connection: q",
               "t.yaml:10:39: actions[1].threshold: give objects:, size: or both (the new "
               "thresholds)");
    flow_error("objects: 500", "objects: 0",
               "t.yaml:10:65: actions[1].threshold.objects: expected an integer of at least 1, got "
               "\"0\"");
    flow_error("use: [newest_first]", "use: [fifo, fifo]",
               "t.yaml:12:71: actions[3].prioritizers.use[1]: prioritizer \"fifo\" is listed "
               "twice");
    flow_error("after: 2s", "after: soon",
               "t.yaml:13:64: actions[4].expiration.after: expected a duration such as 250ms, "
               "1.5s or 2m, got \"soon\"");
    flow_error("stop: P3 }", "stop: { name: P3 } }",
               "t.yaml:9:34: actions[0].stop: expected a value, got a mapping");
}

static void test_scenario_flow_expectation_mistakes_are_named(void **state)
{
    (void)state;
    flow_error("flow: spike, processor: P2", "flow: sp, processor: P2",
               "t.yaml:20:32: expect.flow_back_pressure[0].flow: no flow named \"sp\" (declared: "
               "spike or media)");
    flow_error("created: 10, queued: 0", "made: 10",
               "t.yaml:21:31: expect.flow_counts.made: unknown key (expected flow, created, "
               "received, sent, dropped, expired or queued)");
    flow_error("parameter: codec profile, attribute", "parameter: codec, attribute",
               "t.yaml:22:45: expect.flow_parameter.parameter: no set_parameter action of "
               "\"codec\" on flow \"media\" in actions:");
    flow_error("connections: [a, b]", "connections: []",
               "t.yaml:23:47: expect.flow_parameter.connections: empty: name the connections to "
               "watch");
    /* judged from provenance, which must survive f1's crash */
    flow_error("repository: true, provenance_sync: true", "repository: true",
               "t.yaml:17:19: expect.flow_conserved: the host of flow \"spike\" stops in faults:, "
               "so its provenance must survive: repository: true with provenance_sync: true");
    flow_error("file: media.yaml,", "file: media.yaml, provenance: off,",
               "t.yaml:17:19: expect.flow_conserved: flow \"media\" keeps no provenance "
               "(provenance: off), which this recounts");
}

static void test_scenario_brokers_are_optional_only_beside_flows(void **state)
{
    (void)state;
    expect_error_text("name: t\nduration: 5s\nplatform: { hosts: [a] }\n",
                      "t.yaml:1:1: missing key \"brokers\"");
    flow_error("platform: { hosts: [f1, f2] }\n",
               "platform: { hosts: [f1, f2, c] }\ncontroller: { host: c }\n",
               "t.yaml:4:13: controller: no brokers to control: declare brokers too");
    flow_error("expect:\n", "expect:\n  recovers_within: 1s\n",
               "t.yaml:17:20: expect.recovers_within: judges partitions and producers, and the "
               "file declares no brokers");
    expect_error("expect:\n", "actions: [{ at: 1s, flow: x, stop: y }]\nexpect:\n",
                 "t.yaml:17:10: actions: actions change flows, and the file declares none");
}

static void test_scenario_flow_parameters_and_deliveries_read_back(void **state)
{
    (void)state;
    static const char text[] =
        "name: k\n"
        "duration: 30s\n"
        "platform: { hosts: [b1, ctl, client, flow] }\n"
        "brokers: [{ id: 1, host: b1 }]\n"
        "controller: { host: ctl }\n"
        "topics: [{ name: in }, { name: out }]\n"
        "producers: [{ host: client, topic: in, rate: 10/s }]\n"
        "flows:\n"
        "  - name: m\n"
        "    host: flow\n"
        "    file: k.yaml\n"
        "    parameters:\n"
        "      - { context: kafka, name: bootstrap, value: \"b1:9092\" }\n"
        "expect:\n"
        "  flow_delivers: { flow: m, from: in, to: out, demarcator: \"\\n\" }\n";
    weir_scenario sc;
    char why[512];
    int rc = weir_scenario_parse(text, strlen(text), "t.yaml", &sc, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sc.flows[0].param_count, 1);
    assert_string_equal(sc.flows[0].params[0].context, "kafka");
    assert_string_equal(sc.flows[0].params[0].value, "b1:9092");
    assert_int_equal(sc.flows[0].params[0].mark.line, 13);
    assert_int_equal(sc.expect.flow_delivers_count, 1);
    assert_int_equal(sc.expect.flow_delivers[0].from_topic, 0);
    assert_int_equal(sc.expect.flow_delivers[0].to_topic, 1);
    assert_string_equal(sc.expect.flow_delivers[0].demarcator, "\n");
    weir_scenario_free(&sc);
    char *bad = with(text, "to: out", "to: in");
    expect_error_text(bad, "t.yaml:15:43: expect.flow_delivers.to: must differ from from:");
    free(bad);
    bad = with(text, "rate: 10/s", "rate: 10/s, acks: 1");
    expect_error_text(bad, "t.yaml:15:35: expect.flow_delivers.from: no producer writes topic "
                           "\"in\" with acks: all, whose records this follows");
    free(bad);
    bad = with(text, "context: kafka, name", "context: kafka, nme");
    expect_error_text(bad, "t.yaml:13:27: flows[0].parameters[0].nme: unknown key (did you mean "
                           "\"name\"?)");
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_every_file_in_scenarios_parses_and_validates),
        cmocka_unit_test(
            test_scenario_follower_truncation_variants_expect_the_violation_only_classic),
        cmocka_unit_test(test_scenario_the_readme_example_parses),
        cmocka_unit_test(test_scenario_unknown_key_is_an_error_with_a_hint),
        cmocka_unit_test(test_scenario_a_key_written_twice_is_an_error),
        cmocka_unit_test(test_scenario_wrong_types_name_what_was_expected),
        cmocka_unit_test(test_scenario_bad_durations_are_rejected),
        cmocka_unit_test(test_scenario_references_to_undeclared_names_are_errors),
        cmocka_unit_test(test_scenario_limits_between_sections_are_checked),
        cmocka_unit_test(test_scenario_times_past_the_duration_are_errors),
        cmocka_unit_test(test_scenario_duplicated_names_and_ids_are_errors),
        cmocka_unit_test(test_scenario_malformed_yaml_is_reported_where_libyaml_stops),
        cmocka_unit_test(test_scenario_impossible_fault_schedules_are_errors),
        cmocka_unit_test(test_scenario_chaos_fault_kinds_read_back),
        cmocka_unit_test(test_scenario_expectations_that_cannot_hold_are_errors),
        cmocka_unit_test(test_scenario_variants_are_validated_as_merged),
        cmocka_unit_test(test_scenario_round_trip_reads_back_every_field),
        cmocka_unit_test(test_scenario_units_and_kafka_values_are_normalised),
        cmocka_unit_test(test_scenario_every_prefix_and_random_damage_fail_cleanly),
        cmocka_unit_test(test_scenario_transactions_groups_and_pipelines_read_back),
        cmocka_unit_test(test_scenario_transaction_and_group_mistakes_are_named),
        cmocka_unit_test(test_scenario_flows_actions_and_flow_expectations_read_back),
        cmocka_unit_test(test_scenario_flow_mistakes_are_named),
        cmocka_unit_test(test_scenario_action_mistakes_are_named),
        cmocka_unit_test(test_scenario_flow_expectation_mistakes_are_named),
        cmocka_unit_test(test_scenario_brokers_are_optional_only_beside_flows),
        cmocka_unit_test(test_scenario_flow_parameters_and_deliveries_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
