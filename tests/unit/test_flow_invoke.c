/* InvokeService (impl/flow/proc_invoke_service.c) in the simulator.
 *
 * GenerateFlowFile makes 100 FlowFiles/s; InvokeService calls a simulated
 * dependency (20 ms) for each, with Hystrix's defaults (1 s timeout, 20
 * requests, 50 % over a 10 s window, 5 s sleep window); three sinks note what
 * reaches success, fallback and failure. At 5 s the dependency degrades to
 * 100 % errors, at 17 s it is restored. Failed calls go to fallback as soon
 * as they fail (20 ms, never a 1 s timeout); the breaker must open once the
 * errors outweigh the successes still in its 10 s window, then send
 * FlowFiles to fallback at once (short-circuited), try and fail while the
 * dependency is down, and close after a sleep window once it is back. The
 * same seed replays the same run.
 *
 * A dependency registered with the engine under the name "Service" gives is
 * called instead of the simulated one, and answers that come after the
 * processor stopped are ignored.
 *
 * Each run is a forked child (SimGrid starts once per process) that reports
 * its figures through a pipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_exit.h"
#include "core/hash.h"
#include "env/world.h"
#include "flow/engine.h"
#include "flow/flow_node.h"
#include "flow/flowfile.h"
#include "flow/proc_invoke_service.h"
#include "flow/session.h"
#include "sim.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define DEGRADE_NS (5 * SEC)
#define RESTORE_NS (17 * SEC)
#define GEN_STOP_NS (27 * SEC)
#define RUN_LIMIT_NS (40 * SEC)
#define SLEEP_WINDOW_NS (5 * SEC)    /* Hystrix's default, InvokeService's too */
#define ROLLING_WINDOW_NS (10 * SEC) /* the breaker's error window */
#define TRANSITIONS_MAX 32

/* What a run reports (plain data: it crosses the pipe). */
typedef struct result {
    bool ok;
    char failure[512];
    /* FlowFiles per phase: before the degradation, while degraded, after the restore */
    uint64_t success_before, other_before;
    uint64_t failures_real; /* FAILURE outcomes: calls that reached the dependency */
    uint64_t short_circuits;
    uint64_t timeouts;
    uint64_t fallback_unmarked;    /* fallback FlowFiles without invoke.fallback=true */
    uint64_t fallback_slow;        /* on fallback more than 200 ms after entering */
    uint64_t short_circuit_latent; /* short-circuited with invoke.latency.ms != 0 */
    uint64_t failed_after_close;   /* not success once the breaker closed again */
    uint64_t to_failure;           /* FlowFiles on the failure relationship */
    uint64_t created, sunk;
    int64_t opened_ns;   /* first CLOSED -> OPEN after the degradation; -1: never */
    int64_t reclosed_ns; /* first HALF_OPEN -> CLOSED after the restore; -1: never */
    int trials_while_down;
    int transitions;
    uint64_t outcome_hash;
    uint64_t trace_hash;
    int api_errors[4]; /* run-time calls with bad arguments */
    char why[256];     /* why a flow did not start */
} result;

static struct {
    weir_world *w;
    result *res;
    weir_flow_node_config cfg;
    const char *fallback; /* the Fallback property */
    const char *error_rate;
    int64_t closed_at_ns; /* the breaker's last close after the restore */
    bool restored;
    bool started;
} run;

static void fail_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail_at(const char *fmt, ...)
{
    if (run.res->failure[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run.res->failure, sizeof run.res->failure, fmt, ap);
    va_end(ap);
}

static weir_flow_engine *engine(void)
{
    return weir_flow_node_engine(weir_world_node_state(run.w, "flow"));
}

/* ---- the sinks ---- */

static const weir_flow_relationship_desc sink_rels[] = {{.name = "success"}, {0}};

static bool attr_is(const weir_flowfile *ff, const char *key, const char *want)
{
    const char *v = weir_flow_session_attr(ff, key);
    return v != NULL && strcmp(v, want) == 0;
}

/* Notes one FlowFile that reached the sink of relationship `rel`. */
static void sink_note(weir_env *env, const char *rel, const weir_flowfile *ff)
{
    result *r = run.res;
    int64_t now = weir_now_ns(env);
    const char *status = weir_flow_session_attr(ff, "invoke.status");
    const char *circuit = weir_flow_session_attr(ff, "invoke.circuit");
    const char *latency = weir_flow_session_attr(ff, "invoke.latency.ms");
    if (status == NULL || circuit == NULL || latency == NULL) {
        fail_at("a FlowFile on %s lacks an invoke.* attribute", rel);
        return;
    }
    bool success = strcmp(rel, "success") == 0;
    if (ff->entry_date_ns < DEGRADE_NS) {
        r->success_before +=
            success && strcmp(status, "SUCCESS") == 0 && strcmp(circuit, "closed") == 0;
        r->other_before += !success;
    }
    r->failures_real += strcmp(status, "FAILURE") == 0;
    r->timeouts += strcmp(status, "TIMEOUT") == 0;
    r->to_failure += strcmp(rel, "failure") == 0;
    if (strcmp(rel, "fallback") == 0) {
        r->fallback_unmarked += !attr_is(ff, "invoke.fallback", "true");
        r->fallback_slow += now - ff->entry_date_ns > 200 * MS;
    }
    if (strcmp(status, "SHORT_CIRCUITED") == 0) {
        r->short_circuits++;
        r->short_circuit_latent += strcmp(latency, "0") != 0;
    }
    if (run.closed_at_ns > 0 && ff->entry_date_ns > run.closed_at_ns + 100 * MS && !success) {
        r->failed_after_close++;
    }
    r->sunk++;
    /* what happened to this FlowFile, in arrival order */
    uint64_t h = weir_fnv1a_str(r->outcome_hash, rel);
    h = weir_fnv1a_str(h, status);
    h = weir_fnv1a_str(h, circuit);
    h = weir_fnv1a_str(h, latency);
    r->outcome_hash = weir_fnv1a_u64(h, (uint64_t)now);
}

static int sink_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    weir_flowfile *ffs[256];
    size_t n = weir_flow_session_get_batch(s, ffs, 256);
    const char *rel = weir_flow_ctx_name(ctx) + strlen("sink-");
    for (size_t i = 0; i < n; i++) {
        sink_note(weir_flow_ctx_env(ctx), rel, ffs[i]);
        weir_flow_session_remove(s, ffs[i]);
    }
    return 0;
}

static const weir_flow_processor_type test_sink = {
    .name = "TestSink",
    .relationships = sink_rels,
    .on_trigger = sink_trigger,
};

/* ---- the flow ---- */

#define KV(a, b) ((weir_flow_kv){(a), (b)})

static int add_proc(weir_flow_engine *e, const char *name, const char *type, int64_t run_ns,
                    const weir_flow_kv *props, size_t nprops, char *why, size_t why_size)
{
    weir_flow_proc_spec spec;
    weir_flow_proc_spec_default(&spec);
    static const char *const all[] = {"success"};
    spec.name = name;
    spec.type = type;
    spec.run_schedule_ns = run_ns;
    spec.properties = props;
    spec.property_count = nprops;
    if (strcmp(type, "TestSink") == 0) {
        spec.auto_terminated = all;
        spec.auto_terminated_count = 1;
    }
    return weir_flow_engine_add_processor(e, &spec, why, why_size);
}

static int add_conn(weir_flow_engine *e, const char *src, const char *rel, const char *dst,
                    char *why, size_t why_size)
{
    weir_flow_conn_spec spec;
    weir_flow_conn_spec_default(&spec);
    const char *rels[1] = {rel};
    spec.source = src;
    spec.destination = dst;
    spec.relationships = rels;
    spec.relationship_count = 1;
    return weir_flow_engine_connect(e, &spec, why, why_size);
}

static int build_flow(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    (void)arg;
    weir_flow_kv gen[] = {KV("Batch Size", "10"), KV("File Size", "16 B")};
    weir_flow_kv call[] = {KV("Service", "geo"), KV("Latency", "20 ms"),
                           KV("Error Rate", run.error_rate), KV("Seed", "7"),
                           KV("Fallback", run.fallback)};
    int rc = weir_flow_engine_register(e, &test_sink);
    rc = rc != 0 ? rc : add_proc(e, "gen", "GenerateFlowFile", 100 * MS, gen, 2, why, why_size);
    rc = rc != 0 ? rc : add_proc(e, "call", "InvokeService", 0, call, 5, why, why_size);
    const char *rels[] = {"success", "fallback", "failure"};
    for (int i = 0; i < 3 && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "sink-%s", rels[i]);
        rc = add_proc(e, name, "TestSink", 0, NULL, 0, why, why_size);
        rc = rc != 0 ? rc : add_conn(e, "call", rels[i], name, why, why_size);
    }
    return rc != 0 ? rc : add_conn(e, "gen", "success", "call", why, why_size);
}

/* ---- timed actions ---- */

static void on_transition(void *arg, const weir_flow_breaker_transition *t)
{
    (void)arg;
    result *r = run.res;
    r->transitions++;
    if (t->to == WEIR_FLOW_BREAKER_OPEN && t->from == WEIR_FLOW_BREAKER_CLOSED &&
        r->opened_ns < 0 && t->at_ns >= DEGRADE_NS) {
        r->opened_ns = t->at_ns;
    }
    if (t->to == WEIR_FLOW_BREAKER_HALF_OPEN && !run.restored) {
        r->trials_while_down++;
    }
    if (t->to == WEIR_FLOW_BREAKER_CLOSED && run.restored) {
        run.closed_at_ns = t->at_ns;
        if (r->reclosed_ns < 0) {
            r->reclosed_ns = t->at_ns;
        }
    }
}

static void act_degrade(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    if (weir_flow_invoke_service_set_health(engine(), "call", 1.0, 20 * MS) != 0) {
        fail_at("set_health failed");
    }
}

static void act_restore(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    run.restored = true;
    if (weir_flow_invoke_service_restore(engine(), "call") != 0) {
        fail_at("restore failed");
    }
}

static void act_finish(weir_env *env, void *arg)
{
    (void)arg;
    weir_flow_engine *e = engine();
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    if (!weir_flow_engine_idle(e) || c.queued != 0 || c.in_flight != 0) {
        weir_timer_start(env, 50 * MS, act_finish, NULL);
        return;
    }
    run.res->created = c.created;
    char why[256];
    if (!weir_flow_engine_conserved(e, why, sizeof why)) {
        fail_at("conservation: %s", why);
    }
    weir_world_stop(run.w);
}

static void act_stop_gen(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_flow_engine_processor_stop(engine(), "gen") != 0) {
        fail_at("cannot stop the generator");
    }
    weir_timer_start(env, 2 * SEC, act_finish, NULL);
}

static void on_start(weir_flow_node *node, void *arg)
{
    (void)arg;
    weir_flow_engine *e = weir_flow_node_engine(node);
    weir_env *env = weir_flow_engine_env(e);
    run.started = true;
    weir_flow_invoker *inv = weir_flow_invoke_service_invoker(e, "call");
    if (inv == NULL) {
        fail_at("no invoker for a running InvokeService");
        return;
    }
    weir_flow_breaker_set_observer(weir_flow_invoker_breaker(inv), on_transition, NULL);
    /* bad run-time calls are refused, naming what is wrong by code */
    run.res->api_errors[0] = weir_flow_invoke_service_set_health(e, "nobody", 0.5, MS);
    run.res->api_errors[1] = weir_flow_invoke_service_set_health(e, "gen", 0.5, MS);
    run.res->api_errors[2] = weir_flow_invoke_service_set_health(e, "call", 1.5, MS);
    run.res->api_errors[3] = weir_flow_invoke_service_set_health(e, "call", 0.5, -1);
    weir_timer_start(env, DEGRADE_NS, act_degrade, NULL);
    weir_timer_start(env, RESTORE_NS, act_restore, NULL);
    weir_timer_start(env, GEN_STOP_NS, act_stop_gen, NULL);
}

/* ---- running in a child ---- */

typedef void (*child_fn)(result *r, uint64_t seed);

static void flow_run(result *r, uint64_t seed)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    run.res = r;
    r->opened_ns = -1;
    r->reclosed_ns = -1;
    r->outcome_hash = WEIR_FNV_OFFSET;
    run.w = weir_sim_world_new(&cfg);
    weir_flow_engine_config_default(&run.cfg.engine);
    run.cfg.build = build_flow;
    run.cfg.on_start = on_start;
    if (run.w == NULL || weir_world_node_add(run.w, "flow", &weir_flow_node_type, &run.cfg) != 0 ||
        weir_world_run(run.w, RUN_LIMIT_NS) != 0) {
        fail_at("world setup failed");
    }
    if (!run.started) {
        fail_at("the flow did not start");
    }
    r->trace_hash = weir_sim_trace_hash(run.w);
    weir_world_destroy(run.w);
}

static void degrade_and_restore(result *r, uint64_t seed)
{
    run.fallback = "fallback";
    run.error_rate = "0";
    flow_run(r, seed);
}

static void always_failing_without_fallback(result *r, uint64_t seed)
{
    run.fallback = "fail";
    run.error_rate = "100";
    flow_run(r, seed);
}

static result run_forked(child_fn fn, uint64_t seed)
{
    result r;
    memset(&r, 0, sizeof r);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        result mine;
        memset(&mine, 0, sizeof mine);
        memset(&run, 0, sizeof run);
        fn(&mine, seed);
        mine.ok = mine.failure[0] == '\0';
        ssize_t n = write(fds[1], &mine, sizeof mine);
        test_child_exit(n == (ssize_t)sizeof mine ? 0 : 3);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(got, sizeof r);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    return r;
}

/* ---- tests ---- */

static void a_degraded_dependency_opens_the_breaker_and_a_restored_one_closes_it(void **state)
{
    (void)state;
    result r = run_forked(degrade_and_restore, 42);
    printf("opened at %.3f s, reclosed at %.3f s, %d trials while down; %llu FlowFiles: "
           "%llu failures, %llu short-circuited, %llu timeouts\n",
           (double)r.opened_ns / SEC, (double)r.reclosed_ns / SEC, r.trials_while_down,
           (unsigned long long)r.sunk, (unsigned long long)r.failures_real,
           (unsigned long long)r.short_circuits, (unsigned long long)r.timeouts);
    /* healthy: every FlowFile made before 5 s succeeded with the circuit closed */
    assert_true(r.success_before >= 450);
    assert_int_equal(r.other_before, 0);
    /* degraded: open once the failures outweigh the successes of the window,
     * then short circuits; everything on fallback within 200 ms */
    assert_true(r.opened_ns > DEGRADE_NS && r.opened_ns <= DEGRADE_NS + ROLLING_WINDOW_NS);
    assert_true(r.failures_real >= 20 && r.failures_real <= 1100);
    assert_true(r.short_circuits > 500);
    assert_int_equal(r.fallback_slow, 0);
    assert_int_equal(r.short_circuit_latent, 0);
    assert_int_equal(r.timeouts, 0);
    assert_int_equal(r.fallback_unmarked, 0);
    assert_int_equal(r.to_failure, 0);
    /* a trial every sleep window while down, each failing */
    assert_true(r.trials_while_down >= 1);
    /* restored: closed by the first trial after the restore, within a sleep window */
    assert_true(r.reclosed_ns > RESTORE_NS && r.reclosed_ns <= RESTORE_NS + SLEEP_WINDOW_NS + SEC);
    assert_int_equal(r.failed_after_close, 0);
    /* every FlowFile made reached a sink */
    assert_true(r.created > 2000);
    assert_int_equal(r.sunk, r.created);
    /* bad run-time calls: unknown processor, wrong type, rate and latency out of range */
    assert_int_equal(r.api_errors[0], WEIR_E_NOENT);
    assert_int_equal(r.api_errors[1], WEIR_E_INVAL);
    assert_int_equal(r.api_errors[2], WEIR_E_INVAL);
    assert_int_equal(r.api_errors[3], WEIR_E_INVAL);
}

static void the_same_seed_replays_the_same_outcomes(void **state)
{
    (void)state;
    result a = run_forked(degrade_and_restore, 11);
    result b = run_forked(degrade_and_restore, 11);
    assert_int_equal(a.sunk, b.sunk);
    assert_int_equal(a.opened_ns, b.opened_ns);
    assert_int_equal(a.reclosed_ns, b.reclosed_ns);
    assert_true(a.outcome_hash == b.outcome_hash);
    assert_true(a.trace_hash == b.trace_hash);
}

/* "Seed" gives the dependency a random stream of its own: the node's seed
 * (uuids, content) then changes nothing it answers. */
static void a_seeded_dependency_answers_the_same_under_any_node_seed(void **state)
{
    (void)state;
    result a = run_forked(degrade_and_restore, 11);
    result b = run_forked(degrade_and_restore, 12);
    assert_int_equal(a.sunk, b.sunk);
    assert_true(a.outcome_hash == b.outcome_hash);
}

static void without_fallback_calls_that_do_not_succeed_go_to_failure(void **state)
{
    (void)state;
    result r = run_forked(always_failing_without_fallback, 3);
    assert_true(r.sunk > 2000);
    assert_int_equal(r.to_failure, r.sunk); /* nothing succeeds, nothing to fallback */
    assert_true(r.short_circuits > 0);      /* the breaker opened all the same */
    assert_int_equal(r.fallback_unmarked, 0);
}

/* ---- a registered service ----
 *
 * A dependency registered with the engine under "geo" answers every call
 * after NAMED_LATENCY_NS, failing every fourth. InvokeService's "Service" is
 * "geo", so it calls that one, not its simulated dependency (20 ms +-50 %).
 * At 1003 ms, with calls in flight, the processor is stopped: their answers
 * come after the stop and must be ignored; at 1500 ms it starts again. */

#define NAMED_LATENCY_NS (7 * MS)

typedef struct named_call {
    weir_flow_invoker *inv;
    uint64_t call_id;
} named_call;

static struct {
    weir_env *env;
    uint64_t calls;
    uint64_t answered_after_stop;
    uint64_t ok_7ms;   /* FlowFiles on success with invoke.latency.ms = 7 */
    uint64_t other_ms; /* on success with another latency */
    uint64_t failed;   /* on fallback with invoke.status FAILURE */
    bool stopped;
    int register_again; /* registering "geo" twice */
    int register_late;  /* registering after start */
    int set_health;     /* degrading a registered service */
    bool found;         /* weir_flow_engine_service_find("geo") is what was given */
    bool not_found;     /* ... and finds nothing for an unknown name */
} named;

static void named_answer(weir_env *env, void *arg)
{
    (void)env;
    named_call *c = arg;
    named.answered_after_stop += named.stopped;
    int result = c->call_id % 4 == 0 ? WEIR_E_IO : 0;
    if (weir_flow_invoker_reply(c->inv, c->call_id, result) != 0) {
        fail_at("the invoker refused the answer to call %llu", (unsigned long long)c->call_id);
    }
    free(c);
}

static int named_dep_call(void *impl, weir_flow_invoker *inv, uint64_t call_id, const void *request)
{
    (void)impl;
    (void)request;
    named_call *c = malloc(sizeof *c);
    if (c == NULL) {
        return WEIR_E_NOMEM;
    }
    *c = (named_call){inv, call_id};
    named.calls++;
    weir_timer_start(named.env, NAMED_LATENCY_NS, named_answer, c);
    return 0;
}

static int named_sink_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    weir_flowfile *ffs[256];
    size_t n = weir_flow_session_get_batch(s, ffs, 256);
    bool success = strcmp(weir_flow_ctx_name(ctx), "sink-success") == 0;
    for (size_t i = 0; i < n; i++) {
        if (success) {
            named.ok_7ms += attr_is(ffs[i], "invoke.latency.ms", "7");
            named.other_ms += !attr_is(ffs[i], "invoke.latency.ms", "7");
        } else {
            named.failed += attr_is(ffs[i], "invoke.status", "FAILURE");
        }
        run.res->sunk++;
        weir_flow_session_remove(s, ffs[i]);
    }
    return 0;
}

static const weir_flow_processor_type named_sink = {
    .name = "TestSink",
    .relationships = sink_rels,
    .on_trigger = named_sink_trigger,
};

static int build_named(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    (void)arg;
    named.env = weir_flow_engine_env(e);
    weir_flow_dep dep = {.call = named_dep_call, .impl = &named};
    int rc = weir_flow_engine_service_register(e, "geo", &dep);
    named.register_again = weir_flow_engine_service_register(e, "geo", &dep);
    const weir_flow_dep *found = weir_flow_engine_service_find(e, "geo");
    named.found = found != NULL && found->call == named_dep_call && found->impl == &named;
    named.not_found = weir_flow_engine_service_find(e, "nowhere") == NULL;
    weir_flow_kv gen[] = {KV("Batch Size", "10"), KV("File Size", "16 B")};
    weir_flow_kv call[] = {KV("Service", "geo"), KV("Latency", "20 ms")};
    rc = rc != 0 ? rc : weir_flow_engine_register(e, &named_sink);
    rc = rc != 0 ? rc : add_proc(e, "gen", "GenerateFlowFile", 100 * MS, gen, 2, why, why_size);
    rc = rc != 0 ? rc : add_proc(e, "call", "InvokeService", 0, call, 2, why, why_size);
    const char *rels[] = {"success", "fallback", "failure"};
    for (int i = 0; i < 3 && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "sink-%s", rels[i]);
        rc = add_proc(e, name, "TestSink", 0, NULL, 0, why, why_size);
        rc = rc != 0 ? rc : add_conn(e, "call", rels[i], name, why, why_size);
    }
    return rc != 0 ? rc : add_conn(e, "gen", "success", "call", why, why_size);
}

static void named_stop_call(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(weir_flow_invoke_service_invoker(engine(), "call"), &st);
    if (st.in_flight == 0) {
        fail_at("no call in flight when the processor stops");
    }
    named.stopped = true;
    if (weir_flow_engine_processor_stop(engine(), "call") != 0) {
        fail_at("cannot stop call");
    }
}

static void named_start_call(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    named.stopped = false;
    char why[256];
    if (weir_flow_engine_processor_start(engine(), "call", why, sizeof why) != 0) {
        fail_at("cannot start call again: %s", why);
    }
}

static void named_on_start(weir_flow_node *node, void *arg)
{
    (void)arg;
    weir_flow_engine *e = weir_flow_node_engine(node);
    weir_env *env = weir_flow_engine_env(e);
    weir_flow_dep dep = {.call = named_dep_call, .impl = &named};
    named.register_late = weir_flow_engine_service_register(e, "late", &dep);
    named.set_health = weir_flow_invoke_service_set_health(e, "call", 0.5, MS);
    run.started = true;
    weir_timer_start(env, 1003 * MS, named_stop_call, NULL);
    weir_timer_start(env, 1500 * MS, named_start_call, NULL);
    weir_timer_start(env, 3 * SEC, act_stop_gen, NULL);
}

static void named_run(result *r, uint64_t seed)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    run.res = r;
    memset(&named, 0, sizeof named);
    run.w = weir_sim_world_new(&cfg);
    weir_flow_engine_config_default(&run.cfg.engine);
    run.cfg.build = build_named;
    run.cfg.on_start = named_on_start;
    if (run.w == NULL || weir_world_node_add(run.w, "flow", &weir_flow_node_type, &run.cfg) != 0 ||
        weir_world_run(run.w, RUN_LIMIT_NS) != 0) {
        fail_at("world setup failed");
    }
    if (!run.started) {
        fail_at("the flow did not start");
    }
    r->short_circuits = named.calls;
    r->success_before = named.ok_7ms;
    r->other_before = named.other_ms;
    r->failures_real = named.failed;
    r->timeouts = named.answered_after_stop;
    r->api_errors[0] = named.register_again;
    r->api_errors[1] = named.register_late;
    r->api_errors[2] = named.set_health;
    r->api_errors[3] = named.found && named.not_found;
    weir_world_destroy(run.w);
}

static void
a_registered_service_named_by_service_is_called_instead_of_the_simulated_one(void **state)
{
    (void)state;
    result r = run_forked(named_run, 5);
    printf("registered service: %llu calls, %llu successes, %llu failures, %llu answers after "
           "the stop; %llu FlowFiles of %llu made\n",
           (unsigned long long)r.short_circuits, (unsigned long long)r.success_before,
           (unsigned long long)r.failures_real, (unsigned long long)r.timeouts,
           (unsigned long long)r.sunk, (unsigned long long)r.created);
    assert_int_equal(r.api_errors[0], WEIR_E_EXIST);
    assert_int_equal(r.api_errors[1], WEIR_E_INVAL);       /* after start */
    assert_int_equal(r.api_errors[2], WEIR_E_UNSUPPORTED); /* not a simulated one */
    assert_int_equal(r.api_errors[3], 1);
    /* every success took the registered service's 7 ms, none the simulated 10..30 ms */
    assert_true(r.success_before > 100);
    assert_int_equal(r.other_before, 0);
    assert_true(r.failures_real > 20); /* every fourth call fails: to fallback */
    /* calls in flight at the stop were answered afterwards, and ignored */
    assert_true(r.timeouts > 0);
    /* each FlowFile reached a sink once; the stopped calls' ones were called again */
    assert_true(r.created > 250);
    assert_int_equal(r.sunk, r.created);
    assert_int_equal(r.short_circuits, r.success_before + r.failures_real + r.timeouts);
}

/* A flow whose InvokeService has bad_name = bad_value does not start, and
 * says which property is wrong: built on a node of its own, the reason kept. */
static char bad_name[64], bad_value[64];

static void *bad_node_start(weir_env *env, void *arg)
{
    result *r = arg;
    weir_flow_engine_config cfg;
    weir_flow_engine_config_default(&cfg);
    weir_flow_engine *e = weir_flow_engine_new(env, &cfg, r->why, sizeof r->why);
    if (e == NULL) {
        fail_at("no engine: %s", r->why);
        return NULL;
    }
    weir_flow_kv call[] = {KV(bad_name, bad_value)};
    static const char *const outs[] = {"success", "failure", "fallback"};
    weir_flow_proc_spec spec;
    weir_flow_proc_spec_default(&spec);
    spec.name = "call";
    spec.type = "InvokeService";
    spec.properties = call;
    spec.property_count = 1;
    spec.auto_terminated = outs;
    spec.auto_terminated_count = 3;
    int rc = add_proc(e, "gen", "GenerateFlowFile", 100 * MS, NULL, 0, r->why, sizeof r->why);
    rc = rc != 0 ? rc : weir_flow_engine_add_processor(e, &spec, r->why, sizeof r->why);
    rc = rc != 0 ? rc : add_conn(e, "gen", "success", "call", r->why, sizeof r->why);
    rc = rc != 0 ? rc : weir_flow_engine_start(e, r->why, sizeof r->why);
    if (rc == 0) {
        fail_at("a flow with %s = %s started", bad_name, bad_value);
    }
    weir_flow_engine_free(e);
    weir_world_stop(run.w);
    return NULL;
}

static const weir_node_type bad_node = {"bad", bad_node_start, NULL};

static void bad_flow_run(result *r, uint64_t seed)
{
    run.res = r;
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    run.w = weir_sim_world_new(&cfg);
    if (run.w == NULL || weir_world_node_add(run.w, "bad", &bad_node, r) != 0 ||
        weir_world_run(run.w, 1 * SEC) != 0) {
        fail_at("world setup failed");
    }
    if (run.w != NULL) {
        weir_world_destroy(run.w);
    }
}

static void bad_properties_are_refused_naming_the_property(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"Error Rate", "150"},
        {"Timeout", "0 ms"},
        {"Request Volume Threshold", "0"},
        {"Error Threshold Percentage", "101"},
        {"Max Concurrent Calls", "0"},
        {"Fallback", "sometimes"},
        {"Latency", "soon"},
        {"Seed", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(bad_name, sizeof bad_name, "%s", cases[i][0]);
        snprintf(bad_value, sizeof bad_value, "%s", cases[i][1]);
        result r = run_forked(bad_flow_run, 1);
        printf("%s = %s: %s\n", bad_name, bad_value, r.why);
        assert_non_null(strstr(r.why, "'call'"));
        assert_non_null(strstr(r.why, bad_name));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_degraded_dependency_opens_the_breaker_and_a_restored_one_closes_it),
        cmocka_unit_test(the_same_seed_replays_the_same_outcomes),
        cmocka_unit_test(a_seeded_dependency_answers_the_same_under_any_node_seed),
        cmocka_unit_test(without_fallback_calls_that_do_not_succeed_go_to_failure),
        cmocka_unit_test(bad_properties_are_refused_naming_the_property),
        cmocka_unit_test(
            a_registered_service_named_by_service_is_called_instead_of_the_simulated_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
