/* `weir chaos SCENARIO --seeds A..B`: a seed sweep of random fault
 * schedules in the simulator. Each seed's schedule (chaos/) is written into
 * the scenario file, which runs in a child process with its oracles and a
 * liveness bound; progress and a summary go to stdout; failing schedules
 * are shrunk to a minimal scenario file with the command that replays it.
 * `--real` hands over to the real-world chaos of chaos/real/. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "chaos_pool.h"
#include "cli/cli.h"
#include "core/units.h"
#include "run_dir.h"

static const char chaos_usage[] =
    "usage: weir chaos SCENARIO --seeds A..B [--faults KINDS] [-j N] [--out DIR] [options]\n"
    "       weir chaos SCENARIO --real [...]   (real processes: see chaos/real/README.md)\n"
    "\n"
    "  --seeds A..B       the seeds to run (or one seed N); each gets its own random schedule\n"
    "  --faults KINDS     comma list of fault kinds to draw from (default all):\n"
    "                     crash, torn, clean_shutdown, pause, partition, isolate, one_way, bridge,\n"
    "                     reset, latency, bandwidth, clock, bit_flip, fsync_error, disk_full, slow_disk\n"
    "  --min-faults N     faults per seed, at least (default 1)\n"
    "  --max-faults N     faults per seed, at most (default 10)\n"
    "  --recover T        liveness bound: after the last fault every partition has a leader and\n"
    "                     a full ISR, and producers make progress, within T (default 20s)\n"
    "  --variant NAME     run the scenario's variant NAME\n"
    "  -j N               runs at once (default: the number of CPUs)\n"
    "  --out DIR          the run folder (default reports/out/chaos-SCENARIO); `weir report DIR`\n"
    "  --shrink N         shrink at most N failing seeds (default 3; 0: none)\n"
    "  --shrink-runs N    runs per shrink, at most (default 300)\n"
    "  --shrink-seeds N   run seeds tried per candidate schedule (default 2): timing decides\n"
    "                     whether a schedule trips a bug; the shrunk file keeps the seed that failed\n"
    "\n"
    "exit status: 0 every seed passed, 1 some failed, 2 a bad command or file\n";

typedef struct chaos_opts {
    const char *scenario;
    const char *variant;
    const char *out_dir;
    uint64_t seed_lo, seed_hi;
    bool seeds_given;
    weir_chaos_options gen;
    int parallel;
    int shrink_max;
    int shrink_runs;
    int shrink_seeds;
} chaos_opts;

static int parse_int(const char *opt, const char *text, int lo, int hi, int *out)
{
    uint64_t v;
    if (weir_parse_u64(text, &v) != 0 || v < (uint64_t)lo || v > (uint64_t)hi) {
        return weir_cli_usage_error("chaos", chaos_usage, "%s: '%s' is not a number from %d to %d", opt,
                                    text, lo, hi);
    }
    *out = (int)v;
    return 0;
}

static int parse_seeds(const char *text, chaos_opts *o)
{
    const char *dots = strstr(text, "..");
    char lo[32];
    if (dots == NULL) {
        if (weir_parse_u64(text, &o->seed_lo) != 0) {
            goto bad;
        }
        o->seed_hi = o->seed_lo;
        return 0;
    }
    if ((size_t)(dots - text) >= sizeof lo) {
        goto bad;
    }
    memcpy(lo, text, (size_t)(dots - text));
    lo[dots - text] = '\0';
    if (weir_parse_u64(lo, &o->seed_lo) != 0 || weir_parse_u64(dots + 2, &o->seed_hi) != 0 ||
        o->seed_hi < o->seed_lo || o->seed_hi - o->seed_lo >= 20000) {
        /* every seed keeps its schedule and outcome in memory until the summary */
        goto bad;
    }
    return 0;
bad:
    return weir_cli_usage_error("chaos", chaos_usage,
                                "--seeds: expected A..B (A <= B, at most 20,000 seeds per run) or N, got '%s'", text);
}

static int chaos_parse(int argc, char **argv, chaos_opts *o)
{
    static const struct option longopts[] = {
        {"seeds", required_argument, NULL, 's'},      {"faults", required_argument, NULL, 'f'},
        {"min-faults", required_argument, NULL, 'm'}, {"max-faults", required_argument, NULL, 'M'},
        {"recover", required_argument, NULL, 'r'},    {"variant", required_argument, NULL, 'v'},
        {"out", required_argument, NULL, 'o'},        {"shrink", required_argument, NULL, 'k'},
        {"shrink-runs", required_argument, NULL, 'K'}, {"help", no_argument, NULL, 'h'},
        {"shrink-seeds", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    weir_chaos_options_default(&o->gen);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->parallel = cpus > 0 ? (int)cpus : 1;
    o->shrink_max = 3;
    o->shrink_runs = 300;
    o->shrink_seeds = 2;
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    char why[512];
    while (rc == 0 && (ch = getopt_long(argc, argv, ":hj:", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            rc = parse_seeds(optarg, o);
            o->seeds_given = true;
            break;
        case 'f':
            if (weir_chaos_kinds_parse(optarg, &o->gen.kinds, why, sizeof why) != 0) {
                rc = weir_cli_usage_error("chaos", chaos_usage, "%s", why);
            }
            break;
        case 'm':
            rc = parse_int("--min-faults", optarg, 0, WEIR_SCN_FAULTS_MAX, &o->gen.faults_min);
            break;
        case 'M':
            rc = parse_int("--max-faults", optarg, 1, WEIR_SCN_FAULTS_MAX, &o->gen.faults_max);
            break;
        case 'r':
            if (weir_parse_duration_ns(optarg, &o->gen.recover_ns) != 0) {
                rc = weir_cli_usage_error("chaos", chaos_usage, "--recover: '%s' is not a duration", optarg);
            }
            break;
        case 'v':
            o->variant = optarg;
            break;
        case 'o':
            o->out_dir = optarg;
            break;
        case 'k':
            rc = parse_int("--shrink", optarg, 0, 1000, &o->shrink_max);
            break;
        case 'K':
            rc = parse_int("--shrink-runs", optarg, 1, 100000, &o->shrink_runs);
            break;
        case 'S':
            rc = parse_int("--shrink-seeds", optarg, 1, 16, &o->shrink_seeds);
            break;
        case 'j':
            rc = parse_int("-j", optarg, 1, 64, &o->parallel);
            break;
        case 'h':
            fputs(chaos_usage, stdout);
            return -1;
        case ':':
            rc = weir_cli_usage_error("chaos", chaos_usage, "%s needs a value", argv[optind - 1]);
            break;
        default:
            rc = weir_cli_usage_error("chaos", chaos_usage, "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (optind != argc - 1) {
        return weir_cli_usage_error("chaos", chaos_usage, optind == argc ? "missing SCENARIO" : "too many arguments");
    }
    if (!o->seeds_given) {
        return weir_cli_usage_error("chaos", chaos_usage, "missing --seeds A..B");
    }
    if (o->gen.faults_min > o->gen.faults_max) {
        return weir_cli_usage_error("chaos", chaos_usage, "--min-faults %d is above --max-faults %d",
                                    o->gen.faults_min, o->gen.faults_max);
    }
    o->scenario = argv[optind];
    return 0;
}

/* ---- the sweep ---- */

typedef struct sweep {
    const chaos_opts *o;
    const char *text;
    size_t len;
    weir_scenario *sc;
    char out_dir[WEIR_RUN_PATH_MAX];
    chaos_job *jobs;
    weir_chaos_schedule *schedules;
    int n;
    int done, failed, errors;
    struct timespec t0;
    double last_progress_s;
    FILE *index;
} sweep;

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void fmt_eta(char *buf, size_t size, double s)
{
    if (s >= 3600) {
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    } else if (s >= 60) {
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    } else {
        snprintf(buf, size, "%ds", (int)s);
    }
}

static void replay_command(char *buf, size_t size, const char *file, const char *variant)
{
    snprintf(buf, size, "weir sim %s%s%s", file, variant ? " --variant " : "", variant ? variant : "");
}

/* The scenario text of one schedule, with a comment saying where it came from. */
static char *schedule_text(sweep *sw, uint64_t seed, const weir_chaos_schedule *s, const char *what)
{
    char kinds[400], header[700], why[512];
    weir_chaos_kinds_format(s->kinds, kinds, sizeof kinds);
    snprintf(header, sizeof header,
             "# weir chaos: %s of %s, seed %" PRIu64 ", %zu faults drawn from: %s\n"
             "# (the faults and expectations below replace the file's own)\n",
             what, sw->o->scenario, seed, s->count, kinds);
    char *text = weir_chaos_scenario_text(sw->text, sw->len, sw->sc, seed, s, sw->o->gen.recover_ns, header,
                                          why, sizeof why);
    if (text == NULL) {
        fprintf(stderr, "weir chaos: %s\n", why);
    }
    return text;
}

static void on_seed_done(chaos_job *job, void *ctx)
{
    sweep *sw = ctx;
    sw->done++;
    bool pass = job->outcome.pass;
    sw->failed += !pass;
    sw->errors += job->error;
    weir_rundir_index_row(sw->index, job->run_id, sw->sc, job->seed, job->error ? "ERROR" : pass ? "PASS" : "FAIL",
                          &job->outcome, sw->schedules[job - sw->jobs].count);
    fflush(sw->index);
    double t = elapsed_s(&sw->t0);
    if (!pass) {
        printf("  seed %-6" PRIu64 " %s  %s\n", job->seed, job->error ? "ERROR" : "FAIL ",
               job->outcome.n_failures > 0 ? job->outcome.failures[0] : "");
        printf("              replay: %s\n", job->replay);
    }
    /* a progress line per seed on a terminal; every 5 s or 5 %% otherwise */
    bool tty = isatty(STDOUT_FILENO);
    if (tty || t - sw->last_progress_s >= 5 || sw->done == sw->n || sw->done % (sw->n / 20 + 1) == 0) {
        char eta[32];
        double rate = sw->done / (t > 0 ? t : 1e-9);
        fmt_eta(eta, sizeof eta, (sw->n - sw->done) / (rate > 0 ? rate : 1e-9));
        printf("[%*d/%d] %d failed  %.1f seeds/min  elapsed %.0fs  ETA %s\n", (int)snprintf(NULL, 0, "%d", sw->n),
               sw->done, sw->n, sw->failed, rate * 60, t, eta);
        sw->last_progress_s = t;
    }
    fflush(stdout);
}

/* ---- shrinking ---- */

typedef struct shrink_ctx {
    sweep *sw;
    uint64_t seed;
} shrink_ctx;

/* Candidates run -j at a time, each under shrink_seeds run seeds (its own
 * first: timing decides whether a schedule trips a bug, so a schedule that
 * fails under a nearby seed is as guilty); the first failing one in order
 * wins and keeps the seed it failed under. */
static int candidates_first_failing(weir_chaos_schedule *const *c, int n, void *arg, int *runs)
{
    shrink_ctx *k = arg;
    int par = k->sw->o->parallel < 64 ? k->sw->o->parallel : 64;
    int seeds = k->sw->o->shrink_seeds;
    chaos_job jobs[64];
    int cand_of[64];
    *runs = 0;
    int total = n * seeds; /* (candidate, seed) pairs, candidate-major */
    for (int w = 0; w < total; w += par) {
        int m = total - w < par ? total - w : par;
        for (int i = 0; i < m; i++) {
            int ci = (w + i) / seeds, si = (w + i) % seeds;
            uint64_t seed = c[ci]->run_seed + (uint64_t)si * 7919;
            cand_of[i] = ci;
            jobs[i] = (chaos_job){.file_name = k->sw->o->scenario, .variant = k->sw->o->variant, .seed = seed};
            jobs[i].text = schedule_text(k->sw, seed, c[ci], "shrinking candidate");
        }
        chaos_pool_run(jobs, m, m, NULL, NULL);
        int first = -1;
        for (int i = 0; i < m; i++) {
            if (first < 0 && jobs[i].text != NULL && !jobs[i].outcome.pass && !jobs[i].error) {
                first = i;
            }
            free((char *)jobs[i].text);
        }
        *runs += m;
        if (first >= 0) {
            c[cand_of[first]]->run_seed = jobs[first].seed;
            return cand_of[first];
        }
    }
    return -1;
}

static void shrink_one(sweep *sw, int i)
{
    chaos_job *job = &sw->jobs[i];
    weir_chaos_schedule *s = &sw->schedules[i];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    printf("\nshrinking seed %" PRIu64 " (%zu faults) ...\n", job->seed, s->count);
    fflush(stdout);
    shrink_ctx k = {sw, job->seed};
    weir_chaos_shrink_stats st;
    weir_chaos_shrink(s, candidates_first_failing, &k, sw->o->shrink_runs, &st);
    char *text = schedule_text(sw, s->run_seed, s, "shrunk schedule");
    if (text == NULL) {
        return;
    }
    /* the minimal schedule as a scenario file next to the run, and its own recorded run */
    char path[WEIR_RUN_PATH_MAX + 300], replay[WEIR_RUN_PATH_MAX + 400];
    snprintf(path, sizeof path, "%s/%s/shrunk.yaml", sw->out_dir, job->run_id);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    replay_command(replay, sizeof replay, path, sw->o->variant);
    chaos_job again = {.text = text, .file_name = path, .variant = sw->o->variant, .seed = s->run_seed,
                       .out_dir = sw->out_dir};
    snprintf(again.run_id, sizeof again.run_id, "%.240s-shrunk", job->run_id);
    snprintf(again.replay, sizeof again.replay, "%s", replay);
    chaos_pool_run(&again, 1, 1, NULL, NULL);
    weir_rundir_index_row(sw->index, again.run_id, sw->sc, job->seed, again.outcome.pass ? "PASS" : "FAIL",
                          &again.outcome, s->count);
    fflush(sw->index);
    free(text);
    snprintf(path, sizeof path, "%s/%s/meta.tsv", sw->out_dir, job->run_id);
    if ((f = fopen(path, "a")) != NULL) {
        fprintf(f, "shrunk\t%s/shrunk.yaml\nshrunk_faults\t%zu\nshrunk_replay\t%s\nshrunk_trace_hash\t%016" PRIx64
                   "\nshrunk_runs\t%d\n",
                job->run_id, s->count, replay, again.outcome.trace_hash, st.runs);
        fclose(f);
    }
    printf("  %zu -> %zu faults in %d runs, %.1f s; the minimal schedule %s\n", st.from_faults, st.to_faults,
           st.runs, elapsed_s(&t0), again.outcome.pass ? "PASSES when replayed (flaky?)" : "still fails:");
    for (size_t j = 0; j < s->count; j++) {
        char entry[900];
        weir_chaos_fault_yaml(sw->sc, &s->faults[j], entry, sizeof entry);
        printf("    - %s\n", entry);
    }
    for (int j = 0; j < again.outcome.n_failures && j < 4; j++) {
        printf("    %s\n", again.outcome.failures[j]);
    }
    printf("  replay: %s\n  trace hash %016" PRIx64 "\n", replay, again.outcome.trace_hash);
}

/* ---- the summary ---- */

static void summary(const sweep *sw, double wall)
{
    printf("\nsummary: %s%s%s, seeds %" PRIu64 "..%" PRIu64 "\n", sw->sc->name, sw->o->variant ? " / " : "",
           sw->o->variant ? sw->o->variant : "", sw->o->seed_lo, sw->o->seed_hi);
    printf("  %-16s %6s %8s\n", "fault kind", "seeds", "failed");
    for (int k = 0; k < WEIR_CHAOS_KINDS_; k++) {
        if (!(sw->o->gen.kinds & (1u << k))) {
            continue;
        }
        int with = 0, failed = 0;
        for (int i = 0; i < sw->n; i++) {
            if (sw->schedules[i].kinds & (1u << k)) {
                with++;
                failed += !sw->jobs[i].outcome.pass;
            }
        }
        printf("  %-16s %6d %8d\n", weir_chaos_kind_name((weir_chaos_kind)k), with, failed);
    }
    /* the failures by their first reason, numbers stripped */
    char reasons[32][120];
    int counts[32], n_reasons = 0;
    for (int i = 0; i < sw->n; i++) {
        for (int f = 0; f < sw->jobs[i].outcome.n_failures; f++) {
            char r[120];
            const char *src = sw->jobs[i].outcome.failures[f];
            const char *colon = strstr(src, ": ");
            snprintf(r, sizeof r, "%.*s", colon ? (int)(colon - src) : 60, src);
            if (strncmp(src, "violated at", 11) == 0 && colon != NULL) {
                snprintf(r, sizeof r, "violated: %s", colon + 2);
            }
            int k = 0;
            while (k < n_reasons && strcmp(reasons[k], r) != 0) {
                k++;
            }
            if (k == n_reasons && n_reasons < 32) {
                snprintf(reasons[n_reasons], sizeof reasons[0], "%s", r);
                counts[n_reasons++] = 0;
            }
            if (k < n_reasons) {
                counts[k]++;
            }
        }
    }
    if (n_reasons > 0) {
        printf("  %-52s %6s\n", "failure", "seeds");
        for (int k = 0; k < n_reasons; k++) {
            printf("  %-52s %6d\n", reasons[k], counts[k]);
        }
    }
    uint64_t events = 0;
    for (int i = 0; i < sw->n; i++) {
        events += sw->jobs[i].outcome.events;
    }
    printf("  %d seeds, %d passed, %d failed (%d could not run), %.1f s, %.1f seeds/min, %" PRIu64 " events\n",
           sw->n, sw->n - sw->failed, sw->failed, sw->errors, wall, sw->n / (wall > 0 ? wall : 1e-9) * 60, events);
    printf("  run folder: %s (weir report %s)\n", sw->out_dir, sw->out_dir);
}

static int sweep_prepare(sweep *sw)
{
    const chaos_opts *o = sw->o;
    if (o->out_dir != NULL) {
        snprintf(sw->out_dir, sizeof sw->out_dir, "%s", o->out_dir);
    } else {
        snprintf(sw->out_dir, sizeof sw->out_dir, "reports/out/chaos-%s", sw->sc->name);
    }
    char why[512], path[WEIR_RUN_PATH_MAX + 300];
    if (weir_rundir_create(sw->out_dir, why, sizeof why) != 0) {
        fprintf(stderr, "weir chaos: %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    /* Each seed's scenario.yaml (and shrunk.yaml) names the flow files
     * relative to its folder: copy them beside the seeds' folders, as
     * `weir sim --out` does, so every run and every shrink step finds them. */
    weir_run_files flows_at = {0};
    if (snprintf(flows_at.dir, sizeof flows_at.dir, "%s/seed", sw->out_dir) >=
        (int)sizeof flows_at.dir) {
        fprintf(stderr, "weir chaos: output folder name too long: %s\n", sw->out_dir);
        return WEIR_EXIT_USAGE;
    }
    if (weir_rundir_copy_flows(&flows_at, sw->sc, o->scenario, why, sizeof why) != 0) {
        fprintf(stderr, "weir chaos: note: %s (shrunk schedules then cannot run)\n", why);
    }
    snprintf(path, sizeof path, "%s/index.tsv", sw->out_dir);
    unlink(path); /* this sweep's index starts afresh */
    sw->index = weir_rundir_index_open(sw->out_dir);
    if (sw->index == NULL) {
        fprintf(stderr, "weir chaos: cannot write %s: %s\n", path, strerror(errno));
        return WEIR_EXIT_USAGE;
    }
    sw->n = (int)(o->seed_hi - o->seed_lo + 1);
    sw->jobs = calloc((size_t)sw->n, sizeof *sw->jobs);
    sw->schedules = calloc((size_t)sw->n, sizeof *sw->schedules);
    if (sw->jobs == NULL || sw->schedules == NULL) {
        fprintf(stderr, "weir chaos: out of memory for %d seeds\n", sw->n);
        return WEIR_EXIT_FAIL;
    }
    for (int i = 0; i < sw->n; i++) {
        uint64_t seed = o->seed_lo + (uint64_t)i;
        weir_chaos_generate(sw->sc, &o->gen, seed, &sw->schedules[i]);
        chaos_job *job = &sw->jobs[i];
        job->text = schedule_text(sw, seed, &sw->schedules[i], "random schedule");
        if (job->text == NULL) {
            return WEIR_EXIT_USAGE;
        }
        job->file_name = o->scenario;
        job->variant = o->variant;
        job->seed = seed;
        job->out_dir = sw->out_dir;
        weir_rundir_run_id(job->run_id, sizeof job->run_id, sw->sc, seed);
        snprintf(path, sizeof path, "%s/%s/scenario.yaml", sw->out_dir, job->run_id);
        replay_command(job->replay, sizeof job->replay, path, o->variant);
    }
    return 0;
}

int weir_cli_chaos(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--real") == 0) {
            return weir_cli_chaos_real(argc, argv);
        }
    }
    chaos_opts o;
    int rc = chaos_parse(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? WEIR_EXIT_OK : rc;
    }
    sweep sw = {.o = &o};
    char *text = weir_cli_read_text("chaos", o.scenario, &sw.len);
    if (text == NULL) {
        return WEIR_EXIT_USAGE;
    }
    sw.text = text;
    static weir_scenario sc;
    char why[512];
    if (weir_scenario_parse(text, sw.len, o.scenario, &sc, why, sizeof why) != 0 ||
        (o.variant != NULL && weir_scenario_use_variant(&sc, o.variant, why, sizeof why) != 0)) {
        fprintf(stderr, "weir chaos: %s\n", why);
        free(text);
        return WEIR_EXIT_USAGE;
    }
    sw.sc = &sc;
    weir_chaos_window(&sc, &o.gen);
    uint32_t skipped = o.gen.kinds & ~weir_chaos_kinds_possible(&sc);
    o.gen.kinds &= ~skipped;
    if (o.gen.kinds == 0) {
        char kinds[400];
        weir_chaos_kinds_format(skipped, kinds, sizeof kinds);
        fprintf(stderr,
                "weir chaos: %s has no target for any of the fault kinds asked for (%s): power, pause "
                "and clock faults need a broker, the controller or a flow; disk faults a broker or a "
                "flow with a repository; network faults two hosts that talk (a file without brokers "
                "has no network)\n",
                o.scenario, kinds);
        weir_scenario_free(&sc);
        free(text);
        return WEIR_EXIT_USAGE;
    }
    rc = sweep_prepare(&sw);
    if (rc == 0) {
        char kinds[400];
        weir_chaos_kinds_format(o.gen.kinds, kinds, sizeof kinds);
        printf("weir chaos %s: seeds %" PRIu64 "..%" PRIu64 ", %d at a time, %d..%d faults per seed in "
               "[%.1fs, %.1fs], liveness bound %.1fs\n  fault kinds: %s\n",
               sc.name, o.seed_lo, o.seed_hi, o.parallel, o.gen.faults_min, o.gen.faults_max,
               (double)o.gen.window_start_ns / 1e9, (double)o.gen.window_end_ns / 1e9,
               (double)o.gen.recover_ns / 1e9, kinds);
        if (skipped != 0) {
            weir_chaos_kinds_format(skipped, kinds, sizeof kinds);
            printf("  skipped (no target in this scenario): %s\n", kinds);
        }
        fflush(stdout);
        clock_gettime(CLOCK_MONOTONIC, &sw.t0);
        chaos_pool_run(sw.jobs, sw.n, o.parallel, on_seed_done, &sw);
        double wall = elapsed_s(&sw.t0);
        int shrunk = 0;
        for (int i = 0; i < sw.n && shrunk < o.shrink_max; i++) {
            if (!sw.jobs[i].outcome.pass && !sw.jobs[i].error) {
                shrink_one(&sw, i);
                shrunk++;
            }
        }
        summary(&sw, wall);
        rc = sw.failed > 0 ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
    }
    if (sw.index != NULL) {
        fclose(sw.index);
    }
    for (int i = 0; sw.jobs != NULL && i < sw.n; i++) {
        free((char *)sw.jobs[i].text);
    }
    free(sw.jobs);
    free(sw.schedules);
    weir_scenario_free(&sc);
    free(text);
    return rc;
}
