/* Benchmark: FlowFiles per second through the flow engine (impl/flow) on the
 * real backend, each figure beside a same-run baseline: the same flow with
 * no-op processors in place of the measured ones, under the same engine
 * settings.
 *
 *   bench_flow [seconds [rounds]]
 *
 * Cases (issue 6):
 * 1. chain: GenerateFlowFile (1 KiB content, batches of 1000) ->
 *    UpdateAttribute (tag = ${filename:substring(0, 4):toUpper()}) ->
 *    RouteOnAttribute (hot = ${tag:startsWith('A')}; both relationships
 *    auto-terminated); baseline: GenerateFlowFile -> no-op -> no-op.
 *    a. in memory, provenance off;
 *    b. in memory, provenance in memory (every event kept);
 *    c. write-ahead log (one fsync per commit group) + content repository + provenance
 *       repository in a real folder.
 * 2. merge: GenerateFlowFile -> MergeContent (bins of exactly N entries;
 *    merged and original auto-terminated), in memory with provenance in
 *    memory, N = 100 and 1000; the figure is FlowFiles merged per second.
 *    Baseline: GenerateFlowFile -> no-op, the same FlowFiles.
 *
 * Each run is a fresh flow node in its own weir_uv_world under a temporary
 * folder ($TMPDIR, else /tmp; removed at the end). The flow warms up for
 * WARM_MS, then the FlowFiles the measured processor (the last of the chain,
 * MergeContent, or the no-op in its place) commits during `seconds` of wall
 * time are counted. Each case runs `rounds` times, measured flow and baseline
 * alternating who goes first; the median is printed, with the range, and
 * the median per second of the process's CPU time (the same FlowFiles over
 * the CPU time the run got: steadier than wall time on a shared machine).
 * The ratio to the baseline is the figure to compare across machines: both
 * sides see the same load.
 *
 * Environment (argv wins): WEIR_BENCH_FLOW_SECONDS (1), WEIR_BENCH_FLOW_ROUNDS
 * (3), WEIR_BENCH_FLOW_CASES (all; a comma list of mem, prov, repo, merge100,
 * merge1000, to run some only), WEIR_BENCH_FLOW_ONLY=1 (each measured flow
 * once, without its baseline, with the FlowFiles of the whole run: for a
 * profiler, e.g. valgrind --tool=callgrind --toggle-collect=sched_pump).
 *
 * Exits 1 if a flow does not build or run, or breaks conservation at the end
 * (weir_flow_engine_conserved: every FlowFile made is dropped, queued or in
 * flight), 2 on bad usage.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "flow/engine.h"
#include "flow/flow_node.h"
#include "flow/session.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define WARM_MS 250
#define ROUNDS_MAX 15
#define SECONDS_MAX 600
#define RUN_LIMIT_S 120 /* a run that has not ended by then is broken */
#define NODE "flow"

typedef enum bench_kind {
    KIND_CHAIN, /* Generate -> UpdateAttribute -> RouteOnAttribute */
    KIND_MERGE, /* Generate -> MergeContent */
} bench_kind;

typedef enum bench_store {
    STORE_MEMORY,      /* no repositories, provenance off */
    STORE_MEMORY_PROV, /* no repositories, provenance in memory */
    STORE_REPOS,       /* WAL (one fsync per commit group) + content + provenance in a folder */
} bench_store;

typedef struct bench_case {
    const char *key; /* for WEIR_BENCH_FLOW_CASES */
    const char *title;
    bench_kind kind;
    bench_store store;
    int merge_entries;
} bench_case;

static const bench_case cases[] = {
    {"mem", "chain, in memory, provenance off", KIND_CHAIN, STORE_MEMORY, 0},
    {"prov", "chain, in memory, provenance in memory", KIND_CHAIN, STORE_MEMORY_PROV, 0},
    {"repo", "chain, WAL (fsync per commit group) + content + provenance on disk", KIND_CHAIN, STORE_REPOS, 0},
    {"merge100", "MergeContent, bins of 100, provenance in memory", KIND_MERGE, STORE_MEMORY_PROV,
     100},
    {"merge1000", "MergeContent, bins of 1000, provenance in memory", KIND_MERGE, STORE_MEMORY_PROV,
     1000},
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* One run: what the node's callbacks need, and what they measured. */
typedef struct bench_run {
    const bench_case *c;
    bool noop;
    bool alone; /* WEIR_BENCH_FLOW_ONLY: drain at the end */
    int64_t measure_ns;
    weir_world *w;
    weir_flow_node_config cfg;
    int measured; /* processor index whose commits are counted */
    uint64_t base;
    int64_t t0_ns;
    int64_t cpu0_ns;
    double per_s;
    double per_cpu_s; /* per second of this process's CPU time */
    uint64_t total;   /* FlowFiles the measured processor committed, warm-up included */
    bool ok;
    char why[512];
} bench_run;

static char g_root[4096];

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* ---- the no-op processor: passes batches on unchanged ---- */

static const weir_flow_relationship_desc noop_rels[] = {{.name = "success"}, {0}};

static int noop_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    weir_flowfile *ffs[1000];
    size_t max = weir_flow_ctx_batch_max(ctx);
    size_t n = weir_flow_session_get_batch(s, ffs, max < 1000 ? max : 1000);
    for (size_t i = 0; i < n; i++) {
        weir_flow_session_transfer(s, ffs[i], 0);
    }
    return 0;
}

static const weir_flow_processor_type bench_noop = {
    .name = "BenchNoop",
    .description = "passes FlowFiles on unchanged",
    .relationships = noop_rels,
    .on_trigger = noop_trigger,
};

/* ---- building the flows ---- */

#define KV(a, b) ((weir_flow_kv){(a), (b)})

static int add_proc(weir_flow_engine *e, const char *name, const char *type,
                    const weir_flow_kv *props, size_t prop_count, const char *const *auto_term,
                    size_t auto_term_count, char *why, size_t why_size)
{
    weir_flow_proc_spec spec;
    weir_flow_proc_spec_default(&spec);
    spec.name = name;
    spec.type = type;
    spec.properties = props;
    spec.property_count = prop_count;
    spec.auto_terminated = auto_term;
    spec.auto_terminated_count = auto_term_count;
    return weir_flow_engine_add_processor(e, &spec, why, why_size);
}

static int add_conn(weir_flow_engine *e, const char *src, const char *dst, char *why,
                    size_t why_size)
{
    weir_flow_conn_spec spec;
    weir_flow_conn_spec_default(&spec);
    const char *rels[] = {"success"};
    spec.source = src;
    spec.destination = dst;
    spec.relationships = rels;
    spec.relationship_count = 1;
    return weir_flow_engine_connect(e, &spec, why, why_size);
}

static int build_chain(weir_flow_engine *e, bool noop, char *why, size_t why_size)
{
    static const weir_flow_kv upd[] = {KV("tag", "${filename:substring(0, 4):toUpper()}")};
    static const weir_flow_kv route[] = {KV("hot", "${tag:startsWith('A')}")};
    static const char *const both[] = {"hot", "unmatched"};
    static const char *const succ[] = {"success"};
    int rc = 0;
    if (noop) {
        rc = add_proc(e, "update", bench_noop.name, NULL, 0, NULL, 0, why, why_size);
        rc = rc != 0 ? rc : add_proc(e, "route", bench_noop.name, NULL, 0, succ, 1, why, why_size);
    } else {
        rc = add_proc(e, "update", "UpdateAttribute", upd, 1, NULL, 0, why, why_size);
        rc = rc != 0 ? rc
                     : add_proc(e, "route", "RouteOnAttribute", route, 1, both, 2, why, why_size);
    }
    rc = rc != 0 ? rc : add_conn(e, "gen", "update", why, why_size);
    return rc != 0 ? rc : add_conn(e, "update", "route", why, why_size);
}

static int build_merge(weir_flow_engine *e, bool noop, int entries, char *why, size_t why_size)
{
    static const char *const merge_out[] = {"merged", "original"};
    static const char *const succ[] = {"success"};
    char n[16];
    snprintf(n, sizeof n, "%d", entries);
    const weir_flow_kv merge[] = {KV("Minimum Number of Entries", n),
                                  KV("Maximum Number of Entries", n)};
    int rc = noop ? add_proc(e, "merge", bench_noop.name, NULL, 0, succ, 1, why, why_size)
                  : add_proc(e, "merge", "MergeContent", merge, 2, merge_out, 2, why, why_size);
    return rc != 0 ? rc : add_conn(e, "gen", "merge", why, why_size);
}

static int build_flow(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    bench_run *r = arg;
    static const weir_flow_kv gen[] = {KV("Batch Size", "1000"), KV("File Size", "1 KB")};
    int rc = weir_flow_engine_register(e, &bench_noop);
    rc = rc != 0 ? rc : add_proc(e, "gen", "GenerateFlowFile", gen, 2, NULL, 0, why, why_size);
    if (rc != 0) {
        return rc;
    }
    if (r->c->kind == KIND_CHAIN) {
        return build_chain(e, r->noop, why, why_size);
    }
    return build_merge(e, r->noop, r->c->merge_entries, why, why_size);
}

/* ---- one run ---- */

static weir_flow_engine *run_engine(const bench_run *r)
{
    return weir_flow_node_engine(weir_world_node_state(r->w, NODE));
}

static uint64_t run_committed(const bench_run *r)
{
    weir_flow_proc_stats st;
    weir_flow_engine_processor_stats(run_engine(r), (size_t)r->measured, &st);
    return st.taken;
}

/* Checks conservation, shuts the engine down and stops the world. */
static void run_finish(bench_run *r)
{
    r->total = run_committed(r);
    weir_flow_engine *e = run_engine(r);
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    if (c.created == 0 || !weir_flow_engine_conserved(e, r->why, sizeof r->why)) {
        r->ok = false;
        if (c.created == 0) {
            snprintf(r->why, sizeof r->why, "no FlowFile was created");
        }
    }
    /* a clean stop: the repositories close while their files are still there */
    if (weir_flow_node_shutdown(weir_world_node_state(r->w, NODE)) != 0 && r->ok) {
        r->ok = false;
        snprintf(r->why, sizeof r->why, "the engine did not shut down cleanly");
    }
    weir_world_stop(r->w);
}

/* Alone: waits until every FlowFile made has gone through the flow. */
static void run_drain(weir_env *env, void *arg)
{
    bench_run *r = arg;
    if (!weir_flow_engine_idle(run_engine(r))) {
        weir_timer_start(env, NS_PER_MS, run_drain, r);
        return;
    }
    run_finish(r);
}

static void run_end(weir_env *env, void *arg)
{
    bench_run *r = arg;
    int64_t dt_ns = clock_ns(CLOCK_MONOTONIC) - r->t0_ns;
    int64_t cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - r->cpu0_ns;
    double n = (double)(run_committed(r) - r->base);
    r->per_s = n * (double)NS_PER_S / (double)dt_ns;
    r->per_cpu_s = cpu_ns > 0 ? n * (double)NS_PER_S / (double)cpu_ns : 0;
    if (r->alone) {
        /* no more input: what is queued drains, so the total is everything made */
        if (weir_flow_engine_processor_stop(run_engine(r), "gen") != 0) {
            r->ok = false;
            snprintf(r->why, sizeof r->why, "cannot stop the generator");
        }
        run_drain(env, r);
        return;
    }
    run_finish(r);
}

static void run_warm(weir_env *env, void *arg)
{
    bench_run *r = arg;
    r->base = run_committed(r);
    r->t0_ns = clock_ns(CLOCK_MONOTONIC);
    r->cpu0_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    weir_timer_start(env, r->measure_ns, run_end, r);
}

static void run_on_start(weir_flow_node *node, void *arg)
{
    bench_run *r = arg;
    weir_flow_engine *e = weir_flow_node_engine(node);
    r->measured = weir_flow_engine_processor_find(e, r->c->kind == KIND_CHAIN ? "route" : "merge");
    r->ok = r->measured >= 0;
    weir_timer_start(weir_flow_engine_env(e), WARM_MS * NS_PER_MS, run_warm, r);
}

/* One run's figures: FlowFiles per wall second and per CPU second. */
typedef struct bench_fig {
    double per_s;
    double per_cpu_s;
    uint64_t total;
} bench_fig;

/* Runs one flow for measure_ns; its figures, or exits 1. */
static bool g_alone; /* WEIR_BENCH_FLOW_ONLY=1 */

static bench_fig run_once(const bench_case *c, bool noop, int64_t measure_ns)
{
    static int run_number;
    static bench_run r; /* the node's callbacks see it until the world is gone */
    char root[4200];
    snprintf(root, sizeof root, "%s/run-%d", g_root, run_number++);
    memset(&r, 0, sizeof r);
    r.c = c;
    r.noop = noop;
    r.alone = g_alone;
    r.measure_ns = measure_ns;
    weir_flow_engine_config_default(&r.cfg.engine);
    r.cfg.engine.provenance = c->store == STORE_MEMORY ? WEIR_FLOW_PROV_OFF : WEIR_FLOW_PROV_MEMORY;
    if (c->store == STORE_REPOS) {
        r.cfg.engine.repo_dir = "repo";
        r.cfg.engine.provenance = WEIR_FLOW_PROV_REPO;
        r.cfg.engine.wal_sync = true;
    }
    r.cfg.build = build_flow;
    r.cfg.build_arg = &r;
    r.cfg.on_start = run_on_start;
    r.cfg.on_start_arg = &r;
    r.w = weir_uv_world_new(root, 1);
    if (r.w == NULL) {
        fprintf(stderr, "bench_flow: cannot create a world in %s\n", root);
        exit(1);
    }
    int err = weir_world_node_add(r.w, NODE, &weir_flow_node_type, &r.cfg);
    err = err != 0 ? err : weir_world_run(r.w, RUN_LIMIT_S * NS_PER_S);
    weir_flow_node *node = weir_world_node_state(r.w, NODE);
    if (err == 0 && weir_flow_node_engine(node) == NULL) {
        snprintf(r.why, sizeof r.why, "the flow did not build: %s",
                 node != NULL ? weir_flow_node_error(node) : "no node");
    } else if (err != 0) {
        snprintf(r.why, sizeof r.why, "world: %s", weir_err_str(err));
    } else if (r.per_s <= 0 && r.ok) {
        r.ok = false;
        snprintf(r.why, sizeof r.why, "nothing reached the measured processor");
    }
    weir_world_destroy(r.w);
    if (err != 0 || !r.ok) {
        fprintf(stderr, "bench_flow: %s%s: %s\n", c->title, noop ? " (baseline)" : "", r.why);
        exit(1);
    }
    return (bench_fig){r.per_s, r.per_cpu_s, r.total};
}

/* ---- figures ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[ROUNDS_MAX];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void range(const double *v, int n, double *lo, double *hi)
{
    *lo = *hi = v[0];
    for (int i = 1; i < n; i++) {
        *lo = v[i] < *lo ? v[i] : *lo;
        *hi = v[i] > *hi ? v[i] : *hi;
    }
}

/* The measured flow alone, once (WEIR_BENCH_FLOW_ONLY=1: for profilers).
 * At the end the generator stops and the flow drains, so the total counts
 * every FlowFile made and a profile of the whole run divides by it. */
static void run_alone(const bench_case *c, int64_t measure_ns)
{
    bench_fig f = run_once(c, false, measure_ns);
    printf("flow %s: %.0f FlowFiles/s (%.0f per CPU s), %llu FlowFiles in all\n", c->title, f.per_s,
           f.per_cpu_s, (unsigned long long)f.total);
    fflush(stdout);
}

static void run_case(const bench_case *c, int64_t measure_ns, int rounds)
{
    double flow[ROUNDS_MAX] = {0}, base[ROUNDS_MAX] = {0}, ratio[ROUNDS_MAX] = {0};
    double flow_cpu[ROUNDS_MAX] = {0}, base_cpu[ROUNDS_MAX] = {0};
    for (int i = 0; i < rounds; i++) {
        bench_fig f, b;
        if (i % 2 == 0) {
            f = run_once(c, false, measure_ns);
            b = run_once(c, true, measure_ns);
        } else {
            b = run_once(c, true, measure_ns);
            f = run_once(c, false, measure_ns);
        }
        flow[i] = f.per_s;
        base[i] = b.per_s;
        flow_cpu[i] = f.per_cpu_s;
        base_cpu[i] = b.per_cpu_s;
        ratio[i] = f.per_s / b.per_s;
    }
    double flo, fhi, blo, bhi;
    range(flow, rounds, &flo, &fhi);
    range(base, rounds, &blo, &bhi);
    printf("flow %s: %.0f FlowFiles/s (%.0f..%.0f; %.0f per CPU s)  (no-op baseline: %.0f "
           "(%.0f..%.0f; %.0f per CPU s), ratio %.2f)\n",
           c->title, median(flow, rounds), flo, fhi, median(flow_cpu, rounds), median(base, rounds),
           blo, bhi, median(base_cpu, rounds), median(ratio, rounds));
    fflush(stdout);
}

/* ---- setup ---- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_root(void)
{
    if (g_root[0] != '\0') {
        nftw(g_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        g_root[0] = '\0';
    }
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [seconds [rounds]]\n", argv0);
    exit(2);
}

/* argv[i] if given, else the environment variable `var`, else def. */
static double setting(int argc, char **argv, int i, const char *var, double def, double min,
                      double max)
{
    bool from_argv = argc > i;
    const char *text = from_argv ? argv[i] : getenv(var);
    if (text == NULL || text[0] == '\0') {
        return def;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(v >= min && v <= max)) {
        fprintf(stderr, "bench_flow: %s must be a number in [%g, %g], not \"%s\"\n",
                from_argv ? "argument" : var, min, max, text);
        usage(argv[0]);
    }
    return v;
}

/* Whether WEIR_BENCH_FLOW_CASES (a comma list; unset = all) names key. */
static bool case_selected(const char *list, const char *key)
{
    if (list == NULL || list[0] == '\0') {
        return true;
    }
    size_t n = strlen(key);
    for (const char *p = list; p != NULL; p = strchr(p, ',') != NULL ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, key, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
            return true;
        }
    }
    return false;
}

static void cases_check(const char *list, const char *argv0)
{
    if (list == NULL || list[0] == '\0') {
        return;
    }
    for (const char *p = list; p != NULL; p = strchr(p, ',') != NULL ? strchr(p, ',') + 1 : NULL) {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < CASE_COUNT; i++) {
            known = known || (strlen(cases[i].key) == n && strncmp(p, cases[i].key, n) == 0);
        }
        if (!known) {
            fprintf(stderr,
                    "bench_flow: WEIR_BENCH_FLOW_CASES: unknown case \"%.*s\" "
                    "(mem, prov, repo, merge100, merge1000)\n",
                    (int)n, p);
            usage(argv0);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        usage(argv[0]);
    }
    double seconds = setting(argc, argv, 1, "WEIR_BENCH_FLOW_SECONDS", 1, 0.05, SECONDS_MAX);
    int rounds = (int)setting(argc, argv, 2, "WEIR_BENCH_FLOW_ROUNDS", 3, 1, ROUNDS_MAX);
    const char *list = getenv("WEIR_BENCH_FLOW_CASES");
    cases_check(list, argv[0]);

    const char *tmp = getenv("TMPDIR");
    int n = snprintf(g_root, sizeof g_root, "%s/weir_bench_flow_XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof g_root || mkdtemp(g_root) == NULL) {
        fprintf(stderr, "bench_flow: mkdtemp %s: %s\n", g_root, strerror(errno));
        return 1;
    }
    atexit(remove_root);
    printf("bench_flow: folder %s, %.2f s per run after %d ms of warm-up, median of %d round(s), "
           "1 KiB content, batches of 1000\n",
           g_root, seconds, WARM_MS, rounds);
    fflush(stdout);
    int64_t measure_ns = (int64_t)(seconds * (double)NS_PER_S);
    const char *only = getenv("WEIR_BENCH_FLOW_ONLY");
    g_alone = only != NULL && strcmp(only, "1") == 0;
    for (size_t i = 0; i < CASE_COUNT; i++) {
        if (case_selected(list, cases[i].key)) {
            if (g_alone) {
                run_alone(&cases[i], measure_ns);
            } else {
                run_case(&cases[i], measure_ns, rounds);
            }
        }
    }
    remove_root();
    return 0;
}
