/* Group commit in the FlowFile write-ahead log (impl/flow/session.c,
 * scheduler.c): sessions committed by the engine within one pump share one
 * log write and one fsync, and none of their FlowFiles is visible (queued,
 * reported to the observer) before the frame holding it is durable; a
 * failed write rolls the whole group back; a crash and restart lose and
 * duplicate nothing.
 *
 * Each run is a forked child (SimGrid starts once per process) with a flow
 * node "flow" whose engine has repositories. The engine observer is the
 * oracle, as the scenario runner's ledger is: it checks at every report
 * that the write-ahead log already holds the FlowFile where it is reported,
 * and keeps, per FlowFile id, how often it was queued into each connection,
 * ended and recovered.
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
#include "flow/engine.h"
#include "flow/flow_node.h"
#include "flow/flowfile.h"
#include "flow/flowfile_repo.h"
#include "flow/provenance.h"
#include "sim.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define IDS_MAX 65536
#define CONNS 2 /* g: gen -> update, u: update -> last */

/* What a child reports back through its pipe. */
typedef struct result {
    bool ok;
    char failure[512];
    uint64_t n[16];
    uint64_t hash;
} result;

/* Per FlowFile id: what the observer saw. */
typedef struct seen {
    uint8_t queued[CONNS]; /* reports into each connection */
    uint8_t ended;
    uint8_t recovered;
    int8_t where; /* connection it is queued in now, -1 none */
    bool expect;  /* queued when the host went down: a restart must give it back */
} seen;

static struct {
    weir_world *w;
    result *res;
    seen *ids;
    uint64_t id_max;
    uint64_t not_durable; /* reported before the log held it there */
    uint64_t reports;
    int starts;
    bool done;
    bool crashed;
} obs;

static void fail_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail_at(const char *fmt, ...)
{
    if (obs.res->failure[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(obs.res->failure, sizeof obs.res->failure, fmt, ap);
    va_end(ap);
}

static weir_flow_engine *flow_engine(void)
{
    weir_flow_node *n = weir_world_node_state(obs.w, "flow");
    return n != NULL ? weir_flow_node_engine(n) : NULL;
}

static seen *seen_at(uint64_t id)
{
    if (id >= IDS_MAX) {
        fail_at("FlowFile id %llu past the test's table", (unsigned long long)id);
        return NULL;
    }
    if (id > obs.id_max) {
        obs.id_max = id;
    }
    return &obs.ids[id];
}

/* ---- the observer ---- */

static void on_queued(void *arg, uint32_t connection, weir_flowfile *const *ffs, size_t count)
{
    (void)arg;
    weir_flow_engine *e = flow_engine();
    weir_ffrepo *repo = e != NULL ? weir_flow_engine_flowfile_repo(e) : NULL;
    for (size_t i = 0; i < count; i++) {
        uint32_t q = UINT32_MAX;
        if (repo == NULL || !weir_ffrepo_lookup(repo, ffs[i]->id, &q) || q != connection) {
            obs.not_durable++;
        }
        seen *x = seen_at(ffs[i]->id);
        if (x != NULL && connection < CONNS) {
            x->queued[connection]++;
            x->where = (int8_t)connection;
        }
        obs.reports++;
    }
}

static void on_ended(void *arg, const weir_flowfile *ff, weir_flow_end how)
{
    (void)arg;
    (void)how;
    weir_flow_engine *e = flow_engine();
    weir_ffrepo *repo = e != NULL ? weir_flow_engine_flowfile_repo(e) : NULL;
    if (repo == NULL || weir_ffrepo_lookup(repo, ff->id, NULL)) {
        obs.not_durable++; /* its DELETE must be in the log already */
    }
    seen *x = seen_at(ff->id);
    if (x != NULL) {
        x->ended++;
        x->where = -1;
    }
}

static void on_recovered(void *arg, uint32_t connection, const weir_flowfile *ff)
{
    (void)arg;
    seen *x = seen_at(ff->id);
    if (x == NULL) {
        return;
    }
    if (!x->expect || x->where != (int8_t)connection) {
        fail_at("FlowFile %llu recovered into %u, but the observer had it in %d",
                (unsigned long long)ff->id, connection, x->where);
    }
    x->expect = false;
    x->recovered++;
}

static const weir_flow_observer observer = {
    .queued = on_queued,
    .ended = on_ended,
    .recovered = on_recovered,
};

/* ---- the flow ---- */

#define KV(a, b) ((weir_flow_kv){(a), (b)})

/* gen (GenerateFlowFile, 100 per 20 ms) -> g -> update -> u -> last
 * (success auto-terminated); update and last take batch_max (10) per
 * session, so one gen batch makes ten sessions of each. update_run_ns /
 * update_tasks shape how many of update's sessions meet in one pump. */
static int64_t update_run_ns;
static int32_t update_tasks = 1;

static int add_proc(weir_flow_engine *e, const char *name, const char *type, int64_t run_ns,
                    int32_t tasks, const weir_flow_kv *props, size_t nprops, bool auto_success,
                    char *why, size_t why_size)
{
    static const char *const success[] = {"success"};
    weir_flow_proc_spec spec;
    weir_flow_proc_spec_default(&spec);
    spec.name = name;
    spec.type = type;
    spec.run_schedule_ns = run_ns;
    spec.concurrent_tasks = tasks;
    spec.penalty_ns = 100 * MS;
    spec.yield_ns = 100 * MS;
    spec.properties = props;
    spec.property_count = nprops;
    spec.auto_terminated = auto_success ? success : NULL;
    spec.auto_terminated_count = auto_success ? 1 : 0;
    return weir_flow_engine_add_processor(e, &spec, why, why_size);
}

static int add_conn(weir_flow_engine *e, const char *name, const char *src, const char *dst,
                    char *why, size_t why_size)
{
    static const char *const success[] = {"success"};
    weir_flow_conn_spec spec;
    weir_flow_conn_spec_default(&spec);
    spec.name = name;
    spec.source = src;
    spec.destination = dst;
    spec.relationships = success;
    spec.relationship_count = 1;
    return weir_flow_engine_connect(e, &spec, why, why_size);
}

static int build_chain(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    (void)arg;
    const weir_flow_kv gen[] = {KV("Batch Size", "100"), KV("File Size", "64 B")};
    const weir_flow_kv upd[] = {KV("stage", "updated")};
    const weir_flow_kv last[] = {KV("stage", "last")};
    int rc = add_proc(e, "gen", "GenerateFlowFile", 20 * MS, 1, gen, 2, false, why, why_size);
    rc = rc != 0 ? rc
                 : add_proc(e, "update", "UpdateAttribute", update_run_ns, update_tasks, upd, 1,
                            false, why, why_size);
    rc = rc != 0 ? rc : add_proc(e, "last", "UpdateAttribute", 0, 1, last, 1, true, why, why_size);
    rc = rc != 0 ? rc : add_conn(e, "g", "gen", "update", why, why_size);
    return rc != 0 ? rc : add_conn(e, "u", "update", "last", why, why_size);
}

static weir_flow_node_config node_cfg;

static void stop_gen(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    weir_flow_engine *e = flow_engine();
    if (e == NULL || weir_flow_engine_processor_stop(e, "gen") != 0) {
        fail_at("cannot stop gen");
    }
}

/* Every FlowFile seen was queued once into each connection, ended once,
 * and nothing is left; conservation holds against provenance. */
static void check_ledger(weir_flow_engine *e)
{
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    uint64_t flowfiles = 0;
    for (uint64_t id = 0; id <= obs.id_max; id++) {
        const seen *x = &obs.ids[id];
        if (x->queued[0] == 0 && x->queued[1] == 0 && x->ended == 0) {
            continue;
        }
        flowfiles++;
        if (x->ended != 1 || x->queued[1] != 1 || x->queued[0] > 1 + x->recovered) {
            fail_at("FlowFile %llu: queued %u/%u times, ended %u times, recovered %u times",
                    (unsigned long long)id, x->queued[0], x->queued[1], x->ended, x->recovered);
            return;
        }
    }
    char why[256];
    if (!weir_flow_engine_conserved(e, why, sizeof why)) {
        fail_at("not conserved: %s", why);
    }
    weir_prov_repo *prov = weir_flow_engine_provenance(e);
    uint64_t drops = weir_prov_count(prov, WEIR_PROV_DROP);
    if (obs.starts == 1 && drops != flowfiles) {
        fail_at("provenance has %llu DROP events for %llu FlowFiles", (unsigned long long)drops,
                (unsigned long long)flowfiles);
    }
    if (obs.not_durable != 0) {
        fail_at("%llu FlowFiles reported before the log held them there",
                (unsigned long long)obs.not_durable);
    }
    obs.res->n[0] = flowfiles;
    obs.res->n[1] = c.commits;
    weir_ffrepo_stats fs;
    weir_ffrepo_stats_get(weir_flow_engine_flowfile_repo(e), &fs);
    obs.res->n[2] = fs.commits; /* frames */
    obs.res->n[3] = fs.syncs;
    obs.res->n[4] = c.queued + c.in_flight;
    obs.res->n[5] = obs.reports;
    int u = weir_flow_engine_processor_find(e, "update");
    weir_flow_proc_stats st;
    weir_flow_engine_processor_stats(e, (size_t)u, &st);
    obs.res->n[6] = st.failures;
    obs.res->n[7] = c.rollbacks;
}

static void finish_tick(weir_env *env, void *arg)
{
    int64_t deadline_ns = *(const int64_t *)arg;
    weir_flow_engine *e = flow_engine();
    weir_flow_counters c;
    if (e != NULL) {
        weir_flow_engine_counters(e, &c);
    }
    if (e != NULL && weir_flow_engine_idle(e) && c.queued == 0 && c.in_flight == 0 &&
        obs.starts >= (obs.crashed ? 2 : 1) && c.created + c.recovered > 0) {
        check_ledger(e);
        obs.done = true;
        weir_world_stop(obs.w);
        return;
    }
    if (weir_now_ns(env) >= deadline_ns) {
        fail_at("the flow did not drain by %lld ms", (long long)(deadline_ns / MS));
        weir_world_stop(obs.w);
        return;
    }
    weir_timer_start(env, 50 * MS, finish_tick, arg);
}

static int64_t finish_deadline_ns = 20 * SEC;
static int64_t gen_stop_ns = 195 * MS; /* gen runs at 0, 20, ..., 180 ms */

static void on_start(weir_flow_node *node, void *arg)
{
    (void)arg;
    obs.starts++;
    weir_env *env = weir_flow_engine_env(weir_flow_node_engine(node));
    if (obs.starts == 1) {
        weir_timer_start(env, gen_stop_ns, stop_gen, NULL);
        weir_timer_start(env, gen_stop_ns + 100 * MS, finish_tick, &finish_deadline_ns);
    } else {
        /* after a restart gen runs again: stop it soon */
        weir_timer_start(env, 90 * MS, stop_gen, NULL);
        weir_timer_start(env, 200 * MS, finish_tick, &finish_deadline_ns);
        for (uint64_t id = 0; id <= obs.id_max; id++) {
            if (obs.ids[id].expect) {
                fail_at("FlowFile %llu (queued when the host went down) not recovered",
                        (unsigned long long)id);
                break;
            }
        }
    }
}

/* ---- a driver node: disk faults, crash and restart ---- */

typedef enum drive_kind { DRIVE_NONE, DRIVE_FSYNC_FAULT, DRIVE_CRASH } drive_kind;

static drive_kind drive;
static int drive_step;

static void drive_tick(weir_env *env, void *arg)
{
    (void)arg;
    if (drive == DRIVE_FSYNC_FAULT) {
        /* fsync fails from 105 ms to 145 ms */
        bool on = drive_step == 0;
        if (weir_sim_disk_fault(obs.w, "flow", on, false) != 0) {
            fail_at("disk fault failed");
        }
        if (drive_step++ == 0) {
            weir_timer_start(env, 40 * MS, drive_tick, NULL);
        }
        return;
    }
    if (drive_step++ == 0) {
        /* the host goes down between two of its events; unsynced writes torn */
        for (uint64_t id = 0; id <= obs.id_max; id++) {
            obs.ids[id].expect = obs.ids[id].where >= 0;
        }
        obs.crashed = true;
        if (weir_sim_tear_next_crash(obs.w, "flow") != 0 || weir_world_crash(obs.w, "flow") != 0) {
            fail_at("crash failed");
        }
        weir_timer_start(env, 100 * MS, drive_tick, NULL);
        return;
    }
    if (weir_world_restart(obs.w, "flow") != 0) {
        fail_at("restart failed");
    }
}

static void *drive_start(weir_env *env, void *arg)
{
    int64_t at = drive == DRIVE_FSYNC_FAULT ? 105 * MS : 133 * MS;
    weir_timer_start(env, at, drive_tick, NULL);
    return arg;
}

static const weir_node_type driver_node = {.name = "driver", .start = drive_start};

/* ---- running a child ---- */

static void run_child(result *r, uint64_t seed)
{
    weir_sim_config sc;
    weir_sim_config_default(&sc, seed);
    sc.log_level = WEIR_LOG_ERROR;
    obs.w = weir_sim_world_new(&sc);
    weir_flow_engine_config_default(&node_cfg.engine);
    node_cfg.engine.repo_dir = "repo";
    node_cfg.engine.provenance = WEIR_FLOW_PROV_REPO;
    node_cfg.engine.prov_sync = true; /* the DROP count survives a crash */
    node_cfg.engine.batch_max = 10;
    node_cfg.engine.observer = &observer;
    node_cfg.build = build_chain;
    node_cfg.on_start = on_start;
    drive_step = 0;
    int rc = weir_world_node_add(obs.w, "flow", &weir_flow_node_type, &node_cfg);
    if (rc == 0 && drive != DRIVE_NONE) {
        rc = weir_world_node_add(obs.w, "driver", &driver_node, NULL);
    }
    if (rc != 0 || weir_world_run(obs.w, 60 * SEC) != 0) {
        fail_at("world failed");
    }
    if (!obs.done) {
        fail_at("did not finish");
    }
    r->hash = weir_sim_trace_hash(obs.w);
}

static result run_forked(uint64_t seed)
{
    result r;
    memset(&r, 0, sizeof r);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(r.failure, sizeof r.failure, "pipe failed");
        return r;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        result mine;
        memset(&mine, 0, sizeof mine);
        memset(&obs, 0, sizeof obs);
        obs.res = &mine;
        obs.ids = calloc(IDS_MAX, sizeof *obs.ids);
        for (size_t i = 0; obs.ids != NULL && i < IDS_MAX; i++) {
            obs.ids[i].where = -1;
        }
        run_child(&mine, seed);
        if (mine.failure[0] == '\0') {
            mine.ok = true;
        }
        if (write(fds[1], &mine, sizeof mine) != (ssize_t)sizeof mine) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r) {
        snprintf(r.failure, sizeof r.failure, "child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return r;
}

/* ================================================================ */

static void sessions_of_one_pump_share_one_fsync_and_show_flowfiles_only_once_logged(void **state)
{
    (void)state;
    drive = DRIVE_NONE;
    update_run_ns = 0;
    update_tasks = 1;
    result r = run_forked(3);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.n[0], 1000); /* 10 batches of 100 */
    assert_int_equal(r.n[4], 0);    /* drained */
    assert_int_equal(r.n[5], 2000); /* each queued once into g and once into u */
    /* sessions: 10 of gen, 100 of update, 100 of last; update's and last's
     * ten sessions per batch each share a frame and its fsync */
    assert_int_equal(r.n[1], 210);
    assert_true(r.n[2] * 5 <= r.n[1]);
    assert_true(r.n[3] <= r.n[2] + 2); /* at most one fsync per frame (and a checkpoint) */
    print_message("  %llu sessions committed in %llu log frames, %llu fsyncs\n",
                  (unsigned long long)r.n[1], (unsigned long long)r.n[2],
                  (unsigned long long)r.n[3]);
}

static void a_failed_group_write_rolls_every_session_back_and_loses_nothing(void **state)
{
    (void)state;
    drive = DRIVE_FSYNC_FAULT;
    update_run_ns = 5 * MS; /* four sessions every 5 ms: a group of four at a time */
    update_tasks = 4;
    result r = run_forked(4);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.n[4], 0);
    assert_true(r.n[0] > 0);
    assert_int_equal(r.n[5], 2 * r.n[0]); /* nothing queued twice */
    assert_true(r.n[6] >= 4);             /* a whole group of update's sessions failed */
    assert_true(r.n[7] >= r.n[6]);
}

static void after_a_torn_crash_every_queued_flowfile_comes_back_once(void **state)
{
    (void)state;
    drive = DRIVE_CRASH;
    update_run_ns = 5 * MS;
    update_tasks = 4;
    result r = run_forked(5);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.n[4], 0);
    assert_true(r.n[0] > 0);
    result again = run_forked(5);
    assert_true(again.ok);
    assert_int_equal(again.hash, r.hash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_of_one_pump_share_one_fsync_and_show_flowfiles_only_once_logged),
        cmocka_unit_test(a_failed_group_write_rolls_every_session_back_and_loses_nothing),
        cmocka_unit_test(after_a_torn_crash_every_queued_flowfile_comes_back_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
