/* Flows in scenario files: the ledger behind the no-loss oracle (a lost,
 * missing or duplicated FlowFile must fail it; ends known only to
 * provenance, swap files and restarts must not), and whole scenario runs in
 * the simulator (forked children: SimGrid starts once per process) that
 * show each flow oracle judging — back pressure with a resumable
 * DuplicateFlowFile, a crash with its recovery, a parameter change, and a
 * flow file or name that does not exist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child_exit.h"
#include "flow/flowfile.h"
#include "run_flow.h"
#include "scenario/scenario.h"
#include "scenario_run.h"

/* ---- the ledger ---- */

#define FF_MAX 16

typedef struct ff_set {
    weir_flowfile f[FF_MAX];
    weir_flowfile *p[FF_MAX];
} ff_set;

/* FlowFiles with ids 1..n and uuids {id, ...}. */
static void ffs_make(ff_set *x, size_t n)
{
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < n; i++) {
        x->f[i].id = i + 1;
        x->f[i].uuid.b[0] = (uint8_t)(i + 1);
        x->f[i].size = 100;
        x->p[i] = &x->f[i];
    }
}

static void judge(run_ledger *l, const run_ends *ends, const uint64_t *queued,
                  run_ledger_verdict *v)
{
    static const run_ends none = {NULL, 0};
    run_ledger_judge(l, ends != NULL ? ends : &none, queued, 0, NULL, NULL, v);
}

static void test_ledger_counts_committed_flowfiles_that_end_or_stay_queued(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 3);
    run_ledger *l = run_ledger_new(2);
    run_ledger_queued(l, 0, x.p, 3); /* one commit of 3 into connection 0 */
    run_ledger_queued(l, 1, x.p, 1); /* FlowFile 1 moves on to connection 1 */
    run_ledger_ended(l, &x.f[1]);
    uint64_t queued[2] = {1, 1}; /* 3 in connection 0, 1 in connection 1 */
    run_ledger_verdict v;
    judge(l, NULL, queued, &v);
    assert_int_equal(v.committed, 3);
    assert_int_equal(v.ended, 1);
    assert_int_equal(v.queued, 2);
    assert_int_equal(v.lost, 0);
    assert_int_equal(v.duplicated, 0);
    assert_int_equal(run_ledger_session_max(l, 0), 3);
    assert_int_equal(run_ledger_session_max(l, 1), 1);
    run_ledger_free(l);
}

static void test_ledger_finds_a_flowfile_gone_without_an_end(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 2);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 2);
    uint64_t queued[1] = {1}; /* the queue holds one of the two: the other vanished */
    run_ledger_verdict v;
    judge(l, NULL, queued, &v);
    assert_int_equal(v.lost, 1);
    assert_int_equal(v.duplicated, 0);
    assert_non_null(strstr(v.first, "holds less than the ledger knows"));
    run_ledger_free(l);
}

static void test_ledger_takes_ends_that_only_provenance_recorded(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 2);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 2);
    weir_uuid end[1] = {x.f[0].uuid}; /* a DROP of FlowFile 1 */
    run_ends ends = {end, 1};
    uint64_t queued[1] = {1};
    run_ledger_verdict v;
    judge(l, &ends, queued, &v);
    assert_int_equal(v.ended, 1);
    assert_int_equal(v.queued, 1);
    assert_int_equal(v.lost, 0);
    /* without that event, the same ledger finds a loss */
    judge(l, NULL, (uint64_t[]){0}, &v);
    assert_int_equal(v.lost, 2);
    run_ledger_free(l);
}

static void test_ledger_counts_two_ends_of_one_flowfile_as_a_duplicate(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 1);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 1);
    weir_uuid end[2] = {x.f[0].uuid, x.f[0].uuid};
    run_ends ends = {end, 2};
    run_ledger_verdict v;
    judge(l, &ends, (uint64_t[]){0}, &v);
    assert_int_equal(v.duplicated, 1);
    run_ledger_ended(l, &x.f[0]);
    run_ledger_ended(l, &x.f[0]);
    judge(l, NULL, (uint64_t[]){0}, &v);
    assert_int_equal(v.duplicated, 1); /* ended twice by commits */
    run_ledger_free(l);
}

static void test_ledger_expects_every_queued_flowfile_back_after_a_restart(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 4);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 4);
    run_ledger_ended(l, &x.f[3]);
    run_ledger_down(l);
    run_ledger_recovered(l, 0, &x.f[0]);
    run_ledger_recovered(l, 0, &x.f[1]);
    run_ledger_restarted(l); /* FlowFile 3 did not come back */
    run_ledger_verdict v;
    judge(l, NULL, (uint64_t[]){2}, &v);
    assert_int_equal(v.recovered, 2);
    assert_int_equal(v.lost, 1);
    assert_int_equal(v.duplicated, 0);
    assert_non_null(strstr(v.first, "FlowFile 3"));
    assert_non_null(strstr(v.first, "not recovered by a restart"));
    run_ledger_free(l);
}

static void test_ledger_counts_flowfiles_a_restart_brings_back_twice_or_after_their_end(void **s)
{
    (void)s;
    ff_set x;
    ffs_make(&x, 3);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 2);
    run_ledger_ended(l, &x.f[1]);
    run_ledger_down(l);
    run_ledger_recovered(l, 0, &x.f[0]);
    run_ledger_recovered(l, 0, &x.f[0]); /* twice */
    run_ledger_recovered(l, 0, &x.f[1]); /* it had ended */
    run_ledger_recovered(l, 0, &x.f[2]); /* never committed */
    run_ledger_restarted(l);
    run_ledger_verdict v;
    judge(l, NULL, (uint64_t[]){3}, &v);
    assert_int_equal(v.duplicated, 3);
    assert_int_equal(v.lost, 0);
    run_ledger_free(l);
}

/* After a power loss the restart may bring back a commit whose frame was
 * being synced when the host went off: the observer never reported it, and
 * its FlowFiles are unheard, not duplicates; after a clean shutdown nothing
 * was in flight, and the same find is a duplicate. */
static void test_ledger_takes_an_unreported_frame_back_only_after_a_crash(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 4);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 2);
    run_ledger_crashed(l);
    run_ledger_recovered(l, 0, &x.f[0]);
    run_ledger_recovered(l, 0, &x.f[1]);
    run_ledger_recovered(l, 0, &x.f[2]); /* its commit's fsync was under way */
    run_ledger_restarted(l);
    assert_int_equal(run_ledger_unheard(l), 1);
    assert_int_equal(run_ledger_missing(l), 0);
    run_ledger_ended(l, &x.f[2]); /* it lives on as any other */
    run_ledger_verdict v;
    judge(l, NULL, (uint64_t[]){2}, &v);
    assert_int_equal(v.committed, 3);
    assert_int_equal(v.unheard, 1);
    assert_int_equal(v.duplicated, 0);
    assert_int_equal(v.lost, 0);
    /* a clean stop: nothing was in flight */
    run_ledger_down(l);
    run_ledger_recovered(l, 0, &x.f[0]);
    run_ledger_recovered(l, 0, &x.f[1]);
    run_ledger_recovered(l, 0, &x.f[3]);
    run_ledger_restarted(l);
    judge(l, NULL, (uint64_t[]){3}, &v);
    assert_int_equal(v.unheard, 1);
    assert_int_equal(v.duplicated, 1);
    assert_non_null(strstr(v.first, "recovered, never committed"));
    run_ledger_free(l);
}

/* The write-ahead log of the test: FlowFile 3 is live in connection 0, and
 * only when the test says so. */
static bool third_live;

static bool log_live(void *arg, uint64_t id, uint32_t *connection_out)
{
    (void)arg;
    *connection_out = 0;
    return third_live && id == 3;
}

static void test_ledger_follows_flowfiles_into_swap_files_and_through_a_restart(void **state)
{
    (void)state;
    ff_set x;
    ffs_make(&x, 3);
    run_ledger *l = run_ledger_new(1);
    run_ledger_queued(l, 0, x.p, 3);
    run_ledger_swapped(l, 0, 7, x.p, 2, true);
    assert_int_equal(run_ledger_swapped_bytes(l, 0), 200);
    run_ledger_down(l);
    run_ledger_recovered_swap(l, 0, 7, 2);
    run_ledger_recovered(l, 0, &x.f[2]);
    run_ledger_restarted(l);
    /* two in the swap file (no longer live in the log), the third live */
    run_ledger_verdict v;
    run_ends none = {NULL, 0};
    third_live = true;
    run_ledger_judge(l, &none, (uint64_t[]){3}, 0, log_live, NULL, &v);
    assert_int_equal(v.recovered, 3);
    assert_int_equal(v.queued, 3);
    assert_int_equal(v.lost, 0);
    /* the log lost the third, and the queue holds the other two */
    third_live = false;
    run_ledger_judge(l, &none, (uint64_t[]){2}, 0, log_live, NULL, &v);
    assert_int_equal(v.queued, 2);
    assert_int_equal(v.lost, 1);
    run_ledger_swapped(l, 0, 7, x.p, 2, false);
    assert_int_equal(run_ledger_swapped_bytes(l, 0), 0);
    run_ledger_free(l);
}

static void test_ledger_finds_a_swap_file_it_never_saw_written(void **state)
{
    (void)state;
    run_ledger *l = run_ledger_new(1);
    run_ledger_down(l);
    run_ledger_recovered_swap(l, 0, 9, 5);
    run_ledger_restarted(l);
    run_ledger_verdict v;
    judge(l, NULL, (uint64_t[]){5}, &v);
    assert_int_equal(v.duplicated, 5 + 5); /* unknown on recovery, and extra in the queue */
    run_ledger_free(l);
}

/* ---- whole runs ---- */

typedef struct run_result {
    int rc;
    weir_scn_outcome out;
    char why[512];
} run_result;

static char tmp_dir[64];

static void write_text(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Parses the scenario text (file s.yaml in tmp_dir) and runs it in a child. */
static void run_scenario(const char *text, run_result *r)
{
    memset(r, 0, sizeof *r);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        static run_result mine;
        static weir_scenario sc;
        char name[128];
        snprintf(name, sizeof name, "%s/s.yaml", tmp_dir);
        mine.rc = weir_scenario_parse(text, strlen(text), name, &sc, mine.why, sizeof mine.why);
        if (mine.rc == 0) {
            mine.rc = weir_scn_flows_load(&sc, mine.why, sizeof mine.why);
        }
        if (mine.rc == 0) {
            mine.rc = weir_scn_run(&sc, sc.seed, NULL, NULL, NULL, &mine.out);
        }
        const char *p = (const char *)&mine;
        for (size_t done = 0; done < sizeof mine;) {
            ssize_t w = write(fds[1], p + done, sizeof mine - done);
            if (w <= 0) {
                _exit(3);
            }
            done += (size_t)w;
        }
        test_child_exit(0);
    }
    close(fds[1]);
    char *p = (char *)r;
    size_t done = 0;
    while (done < sizeof *r) {
        ssize_t n = read(fds[0], p + done, sizeof *r - done);
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    assert_int_equal(done, sizeof *r);
}

static void print_failures(const run_result *r)
{
    if (r->rc != 0) {
        print_message("error: %s\n", r->why);
    }
    for (int i = 0; i < r->out.n_failures; i++) {
        print_message("failure: %s\n", r->out.failures[i]);
    }
}

static const char SPIKE_FLOW[] = "flow: small-spike\n"
                                 "swap_threshold: 2000\n"
                                 "processors:\n"
                                 "  - { name: P1, type: GenerateFlowFile, run_schedule: 1h }\n"
                                 "  - name: P2\n"
                                 "    type: DuplicateFlowFile\n"
                                 "    properties: { Number of Copies: 19999, %s }\n"
                                 "  - name: P3\n"
                                 "    type: LogAttribute\n"
                                 "    run_schedule: 10ms\n"
                                 "    auto_terminate: [success]\n"
                                 "connections:\n"
                                 "  - { name: seed, from: P1, relationships: [success], to: P2 }\n"
                                 "  - { name: spike, from: P2, relationships: [success], to: P3,\n"
                                 "      object_threshold: 1000 }\n";

static const char SPIKE_SCENARIO[] =
    "name: small-spike\n"
    "seed: 3\n"
    "duration: 10s\n"
    "platform: { hosts: [f] }\n"
    "flows:\n"
    "  - { name: spike, host: f, file: flow.yaml, repository: true }\n"
    "expect:\n"
    "  flow_conserved: true\n"
    "  flow_no_loss: true\n"
    "  flow_back_pressure: { flow: spike, processor: P2 }\n"
    "  flow_counts: { flow: spike, created: 20000, dropped: 20000, "
    "queued: 0 }\n";

static const weir_scn_flow_conn_outcome *conn_of(const weir_scn_flow_outcome *f, const char *name)
{
    for (int i = 0; i < f->conn_count; i++) {
        if (strcmp(f->conns[i].name, name) == 0) {
            return &f->conns[i];
        }
    }
    fail_msg("no connection %s", name);
    return NULL;
}

static void test_run_a_resumable_burst_stays_within_threshold_plus_one_session(void **state)
{
    (void)state;
    char flow[2048];
    snprintf(flow, sizeof flow, SPIKE_FLOW, "Copies per Session: 2500");
    write_text("flow.yaml", flow);
    run_result r;
    run_scenario(SPIKE_SCENARIO, &r);
    print_failures(&r);
    assert_int_equal(r.rc, 0);
    assert_true(r.out.pass);
    assert_int_equal(r.out.flow_count, 1);
    const weir_scn_flow_outcome *f = &r.out.flows[0];
    assert_true(f->conserved_judged && f->conserved && f->ledger_judged);
    assert_int_equal(f->committed, 20000);
    const weir_scn_flow_conn_outcome *spike = conn_of(f, "spike");
    assert_int_equal(spike->session_max, 2500);
    assert_true(spike->peak_queued > 1000);             /* it did overshoot ... */
    assert_true(spike->peak_queued <= 1000 - 1 + 2500); /* ... by one session at most */
    assert_true(spike->peak_resident <= 2000 + 2500);   /* swapped past 2,000 */
}

static void test_run_a_one_session_burst_overshoots_by_all_of_it(void **state)
{
    (void)state;
    char flow[2048];
    snprintf(flow, sizeof flow, SPIKE_FLOW, "Batch Size: 1");
    /* no Copies per Session: NiFi's DuplicateFlowFile, all in one session */
    char *at = strstr(flow, ", Batch Size: 1");
    memmove(at, at + strlen(", Batch Size: 1"), strlen(at + strlen(", Batch Size: 1")) + 1);
    write_text("flow.yaml", flow);
    run_result r;
    run_scenario(SPIKE_SCENARIO, &r);
    print_failures(&r);
    assert_int_equal(r.rc, 0);
    const weir_scn_flow_conn_outcome *spike = conn_of(&r.out.flows[0], "spike");
    assert_int_equal(spike->session_max, 20000);
    assert_int_equal(spike->peak_queued, 20000);
    /* P2 ran once and never waited: the back-pressure expectation fails */
    assert_false(r.out.pass);
    assert_non_null(strstr(r.out.failures[0], "flow_back_pressure spike/P2"));
}

static void test_run_a_burst_cut_by_a_crash_resumes_without_a_copy_too_many(void **state)
{
    (void)state;
    char flow[2048];
    snprintf(flow, sizeof flow, SPIKE_FLOW, "Copies per Session: 2500");
    write_text("flow.yaml", flow);
    /* P3 drains 1,000 every 10 ms: the crash at 55 ms falls between P2's sessions.
     * P1 is stopped once it made its seed: the restart keeps it stopped, or
     * it would make a second seed (its run schedule starts over). */
    char *text = strdup(SPIKE_SCENARIO);
    const char *old = "repository: true }\n";
    char *at = strstr(text, old);
    assert_non_null(at);
    char scenario[2048];
    snprintf(scenario, sizeof scenario,
             "%.*srepository: true, provenance_sync: true }\n"
             "actions:\n  - { at: 10ms, flow: spike, stop: P1 }\n"
             "faults:\n  - { at: 55ms, crash: f, duration: 1s }\n%s",
             (int)(at - text), text, at + strlen(old));
    free(text);
    run_result r;
    run_scenario(scenario, &r);
    print_failures(&r);
    assert_int_equal(r.rc, 0);
    assert_true(r.out.pass); /* created exactly 20,000: the count survived in the log */
    const weir_scn_flow_outcome *f = &r.out.flows[0];
    assert_int_equal(f->starts, 2);
    assert_true(f->recovered > 0);
    assert_int_equal(f->created, 20000);
    assert_int_equal(f->lost, 0);
}

static const char CRASH_FLOW[] =
    "flow: small-crash\n"
    "processors:\n"
    "  - name: gen\n"
    "    type: GenerateFlowFile\n"
    "    properties: { Batch Size: 5, File Size: 10 B }\n"
    "    run_schedule: 10ms\n"
    "  - { name: stamp, type: UpdateAttribute, properties: { x: y } }\n"
    "  - name: sink\n"
    "    type: LogAttribute\n"
    "    run_schedule: 50ms\n"
    "    auto_terminate: [success]\n"
    "connections:\n"
    "  - { name: a, from: gen, relationships: [success], to: stamp }\n"
    "  - { name: b, from: stamp, relationships: [success], to: sink }\n";

static const char CRASH_SCENARIO[] =
    "name: small-crash\n"
    "seed: 4\n"
    "duration: 8s\n"
    "platform: { hosts: [f] }\n"
    "flows:\n"
    "  - { name: c, host: f, file: flow.yaml, repository: true, provenance_sync: true,\n"
    "      batch_size: 20, swap_threshold: 100 }\n"
    "actions:\n"
    "  - { at: 3s, flow: c, threshold: { connection: b, objects: 5000 } }\n"
    "  - { at: 4s, flow: c, stop: gen }\n"
    "faults:\n"
    "  - { at: 2500ms, crash: f, torn: true, duration: 500ms }\n"
    "expect:\n"
    "  flow_conserved: true\n"
    "  flow_no_loss: true\n"
    "  flow_counts: { flow: c, queued: 0 }\n";

static void test_run_a_crash_loses_nothing_and_keeps_run_time_changes(void **state)
{
    (void)state;
    write_text("flow.yaml", CRASH_FLOW);
    run_result r;
    run_scenario(CRASH_SCENARIO, &r);
    print_failures(&r);
    assert_int_equal(r.rc, 0);
    assert_true(r.out.pass);
    const weir_scn_flow_outcome *f = &r.out.flows[0];
    assert_int_equal(f->starts, 2);
    assert_true(f->recovered > 100); /* a backlog, swap files included, came back */
    assert_int_equal(f->lost, 0);
    assert_int_equal(f->duplicated, 0);
    assert_int_equal(conn_of(f, "b")->object_threshold, 10000); /* the largest it had */
    assert_int_equal(f->created, f->dropped);
}

static const char PARAM_FLOW[] =
    "flow: small-param\n"
    "parameter_contexts:\n"
    "  - { name: common, parameters: { level: a } }\n"
    "  - { name: one, inherits: [common] }\n"
    "parameter_context: common\n"
    "processors:\n"
    "  - { name: gen, type: GenerateFlowFile, run_schedule: 100ms }\n"
    "  - { name: to-one, type: RouteOnAttribute,\n"
    "      properties: { Routing Strategy: Route to Property name,\n"
    "                    one: \"${uuid:isEmpty():not()}\" },\n"
    "      auto_terminate: [unmatched] }\n"
    "connections:\n"
    "  - { from: gen, relationships: [success], to: to-one }\n"
    "  - { from: to-one, relationships: [one], to: one-in }\n"
    "groups:\n"
    "  - name: g\n"
    "    parameter_context: one\n"
    "    input_ports: [one-in]\n"
    "    processors:\n"
    "      - { name: stamp, type: UpdateAttribute, properties: { lvl: \"#{level}\" } }\n"
    "      - { name: sink, type: LogAttribute, auto_terminate: [success] }\n"
    "    connections:\n"
    "      - { from: one-in, to: stamp }\n"
    "      - { name: stamped, from: stamp, relationships: [success], to: sink }\n";

static const char PARAM_SCENARIO[] =
    "name: small-param\n"
    "duration: 4s\n"
    "platform: { hosts: [f] }\n"
    "flows: [{ name: p, host: f, file: flow.yaml }]\n"
    "actions:\n"
    "  - { at: 2s, flow: p, set_parameter: { context: common, name: level, value: b } }\n"
    "expect:\n"
    "  flow_parameter: { flow: p, parameter: level, attribute: lvl, before: %s,\n"
    "                    connections: [stamped] }\n";

static void test_run_a_parameter_change_reaches_the_flowfiles_made_after_it(void **state)
{
    (void)state;
    write_text("flow.yaml", PARAM_FLOW);
    char text[1024];
    snprintf(text, sizeof text, PARAM_SCENARIO, "a");
    run_result r;
    run_scenario(text, &r);
    print_failures(&r);
    assert_int_equal(r.rc, 0);
    assert_true(r.out.pass);
    /* the oracle is not fooled: another value before the change fails it */
    snprintf(text, sizeof text, PARAM_SCENARIO, "c");
    run_scenario(text, &r);
    assert_int_equal(r.rc, 0);
    assert_false(r.out.pass);
    assert_non_null(strstr(r.out.failures[0], "FlowFiles into stamped carry another value"));
    assert_non_null(strstr(r.out.failures[0], "lvl=\"a\", expected \"c\""));
}

static void test_run_a_flow_file_that_does_not_exist_is_a_usage_error(void **state)
{
    (void)state;
    run_result r;
    run_scenario("name: x\nduration: 1s\nplatform: { hosts: [f] }\n"
                 "flows:\n  - { name: c, host: f, file: nowhere.yaml }\n",
                 &r);
    assert_int_equal(r.rc, WEIR_E_INVAL);
    assert_non_null(strstr(r.why, "s.yaml:5:31: flows[0].file: cannot open"));
    assert_non_null(strstr(r.why, "nowhere.yaml"));
}

static void test_run_names_the_scenario_uses_must_exist_in_the_flow_file(void **state)
{
    (void)state;
    write_text("flow.yaml", CRASH_FLOW);
    run_result r;
    run_scenario("name: x\nduration: 5s\nplatform: { hosts: [f] }\n"
                 "flows:\n  - { name: c, host: f, file: flow.yaml }\n"
                 "actions:\n  - { at: 1s, flow: c, stop: snik }\n",
                 &r);
    assert_int_equal(r.rc, WEIR_E_INVAL);
    assert_non_null(strstr(r.why, "s.yaml:7:30: actions[0].stop: flow \"c\" ("));
    assert_non_null(strstr(r.why, "flow.yaml) has no processor \"snik\" (did you mean \"sink\"?)"));
    run_scenario("name: x\nduration: 5s\nplatform: { hosts: [f] }\n"
                 "flows:\n  - { name: c, host: f, file: flow.yaml }\n"
                 "actions:\n"
                 "  - { at: 1s, flow: c, set_parameter: { context: p, name: a, value: b } }\n",
                 &r);
    assert_int_equal(r.rc, WEIR_E_INVAL);
    assert_non_null(strstr(r.why, "s.yaml:7:50: actions[0].set_parameter.context: flow \"c\""));
    assert_non_null(strstr(r.why, "has no parameter context \"p\""));
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/weir-flow-scn-XXXXXX");
    return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_counts_committed_flowfiles_that_end_or_stay_queued),
        cmocka_unit_test(test_ledger_finds_a_flowfile_gone_without_an_end),
        cmocka_unit_test(test_ledger_takes_ends_that_only_provenance_recorded),
        cmocka_unit_test(test_ledger_counts_two_ends_of_one_flowfile_as_a_duplicate),
        cmocka_unit_test(test_ledger_expects_every_queued_flowfile_back_after_a_restart),
        cmocka_unit_test(
            test_ledger_counts_flowfiles_a_restart_brings_back_twice_or_after_their_end),
        cmocka_unit_test(test_ledger_takes_an_unreported_frame_back_only_after_a_crash),
        cmocka_unit_test(test_ledger_follows_flowfiles_into_swap_files_and_through_a_restart),
        cmocka_unit_test(test_ledger_finds_a_swap_file_it_never_saw_written),
        cmocka_unit_test(test_run_a_resumable_burst_stays_within_threshold_plus_one_session),
        cmocka_unit_test(test_run_a_one_session_burst_overshoots_by_all_of_it),
        cmocka_unit_test(test_run_a_burst_cut_by_a_crash_resumes_without_a_copy_too_many),
        cmocka_unit_test(test_run_a_crash_loses_nothing_and_keeps_run_time_changes),
        cmocka_unit_test(test_run_a_parameter_change_reaches_the_flowfiles_made_after_it),
        cmocka_unit_test(test_run_a_flow_file_that_does_not_exist_is_a_usage_error),
        cmocka_unit_test(test_run_names_the_scenario_uses_must_exist_in_the_flow_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
