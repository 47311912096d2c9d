/* `weir chaos SCENARIO --real`: the command line, the seed loop, progress
 * and summary lines, and the run folder's index.tsv.
 *
 * Exit status: 0 every seed passed, 1 some seed failed or could not run,
 * 2 a bad command line or scenario file, 130 interrupted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/assert.h"
#include "core/units.h"
#include "real.h"
#include "run_dir.h"

static const char real_usage[] =
    "usage: weir chaos SCENARIO --real [--seeds A..B] [--faults KINDS] [--duration T]\n"
    "                                  [--liveness T] [--out DIR] [--keep] [--plan]\n"
    "\n"
    "Random fault schedules against a loopback cluster of real processes: `weir controller`\n"
    "and the scenario's brokers, each behind a TCP fault proxy, with weir's producer and\n"
    "consumer checked by the history oracles.\n"
    "\n"
    "  SCENARIO        a scenario file: its brokers, topics, controller timeouts and producers\n"
    "                  are used; its faults, platform and expectations are not\n"
    "  --seeds A..B    seeds to run, one after another (default 1..1; N alone is N..N)\n"
    "  --faults KINDS  comma list of fault kinds a schedule may use (default: all):\n"
    "                  kill       kill -9 a broker, restart it later on the same data dir\n"
    "                  delay      add latency to every chunk through a broker's proxy\n"
    "                  reset      reset (RST) every connection through a broker's proxy, "
    "repeatedly\n"
    "                  blackhole  a broker's proxy forwards nothing either way, sockets stay open\n"
    "                  skew       restart a broker under libfaketime with its wall clock offset\n"
    "  --duration T    the workload's length per seed (default 20s); producers stop at 75 %\n"
    "  --liveness T    after the last fault heals, a produce must succeed within T (default 15s)\n"
    "  --out DIR       where the run folder goes (default: a new folder under /tmp)\n"
    "  --keep          keep the brokers' data dirs (DIR/<run>/data)\n"
    "  --plan          print each seed's fault schedule and exit without running anything\n"
    "\n"
    "exit status: 0 every seed passed, 1 some seed failed, 2 a bad command or file\n";

typedef struct real_index {
    char path[WEIR_REAL_PATH_MAX + 16];
    char **kept; /* rows of other runs found in an existing index.tsv */
    size_t n_kept;
    char **rows; /* this command's rows */
    size_t n_rows;
} real_index;

static const char real_index_header[] = WEIR_RUNDIR_INDEX_HEADER;

static uint64_t real_assert_seed;
static bool real_plan_only; /* --plan */

static void real_assert_context(void *arg)
{
    const weir_real_opts *o = arg;
    fprintf(stderr,
            "weir chaos --real: seed %llu; replay: weir chaos %s --real --seeds %llu..%llu\n",
            (unsigned long long)real_assert_seed, o->scenario_path,
            (unsigned long long)real_assert_seed, (unsigned long long)real_assert_seed);
}

static int real_parse_seeds(const char *text, uint64_t *a, uint64_t *b)
{
    const char *dots = strstr(text, "..");
    if (dots == NULL) {
        if (weir_parse_u64(text, a) != 0) {
            return WEIR_E_INVAL;
        }
        *b = *a;
        return 0;
    }
    char first[32];
    size_t n = (size_t)(dots - text);
    if (n == 0 || n >= sizeof first) {
        return WEIR_E_INVAL;
    }
    memcpy(first, text, n);
    first[n] = '\0';
    if (weir_parse_u64(first, a) != 0 || weir_parse_u64(dots + 2, b) != 0 || *b < *a ||
        *b - *a >= 1000000) {
        return WEIR_E_INVAL;
    }
    return 0;
}

static int real_parse(int argc, char **argv, weir_real_opts *o)
{
    static const struct option longopts[] = {
        {"real", no_argument, NULL, 'r'},           {"seeds", required_argument, NULL, 's'},
        {"faults", required_argument, NULL, 'f'},   {"duration", required_argument, NULL, 'd'},
        {"liveness", required_argument, NULL, 'l'}, {"out", required_argument, NULL, 'o'},
        {"keep", no_argument, NULL, 'k'},           {"plan", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->seed_first = o->seed_last = 1;
    o->kinds = WEIR_REAL_KINDS_ALL;
    o->duration_ns = 20 * WEIR_REAL_S;
    o->liveness_ns = 15 * WEIR_REAL_S;
    char why[256];
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":hj:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r':
            break;
        case 's':
            if (real_parse_seeds(optarg, &o->seed_first, &o->seed_last) != 0) {
                return weir_cli_usage_error("chaos", real_usage,
                                            "--seeds: '%s' is not N or A..B with A <= B", optarg);
            }
            break;
        case 'f':
            if (weir_real_kinds_parse(optarg, &o->kinds, why, sizeof why) != 0) {
                return weir_cli_usage_error("chaos", real_usage, "%s", why);
            }
            o->kinds_given = true;
            break;
        case 'd':
            if (weir_parse_duration_ns(optarg, &o->duration_ns) != 0 ||
                o->duration_ns < 4 * WEIR_REAL_S || o->duration_ns > 24 * 3600 * WEIR_REAL_S) {
                return weir_cli_usage_error("chaos", real_usage,
                                            "--duration: '%s' is not a duration from 4s to 24h",
                                            optarg);
            }
            break;
        case 'l':
            if (weir_parse_duration_ns(optarg, &o->liveness_ns) != 0 ||
                o->liveness_ns < 1 * WEIR_REAL_S) {
                return weir_cli_usage_error("chaos", real_usage,
                                            "--liveness: '%s' is not a duration of 1s or more",
                                            optarg);
            }
            break;
        case 'o':
            o->out_dir = optarg;
            break;
        case 'k':
            o->keep = true;
            break;
        case 'p':
            real_plan_only = true;
            break;
        case 'j':
            if (strcmp(optarg, "1") != 0) {
                return weir_cli_usage_error("chaos", real_usage,
                                            "-j %s: --real runs one seed at a time (-j 1)", optarg);
            }
            break;
        case 'h':
            fputs(real_usage, stdout);
            return -1;
        case ':':
            return weir_cli_usage_error("chaos", real_usage, "%s needs a value", argv[optind - 1]);
        default:
            return weir_cli_usage_error("chaos", real_usage, "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        return weir_cli_usage_error("chaos", real_usage,
                                    optind == argc ? "missing SCENARIO" : "too many arguments");
    }
    o->scenario_path = argv[optind];
    return 0;
}

/* Reads and checks the scenario file; prints why not and returns 2. */
static int real_load(const char *path, weir_scenario *sc)
{
    size_t len;
    char *text = weir_cli_read_text("chaos", path, &len);
    if (text == NULL) {
        return WEIR_EXIT_USAGE;
    }
    char why[512];
    int err = weir_scenario_parse(text, len, path, sc, why, sizeof why);
    free(text);
    if (err != 0) {
        fprintf(stderr, "weir chaos: %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    for (size_t i = 0; i < sc->broker_count; i++) {
        const weir_scn_host *h = &sc->hosts[sc->brokers[i].host_index];
        if (strcmp(h->name, "controller") == 0 || strcmp(h->name, "verify") == 0) {
            fprintf(stderr,
                    "weir chaos: %s:%d:%d: brokers[%zu].host: --real names files after "
                    "broker hosts, and '%s' is taken by its own files; rename the host\n",
                    path, sc->brokers[i].mark.line, sc->brokers[i].mark.column, i, h->name);
            return WEIR_EXIT_USAGE;
        }
    }
    if (sc->producer_count == 0 || sc->topic_count == 0) {
        fprintf(stderr,
                "weir chaos: %s: producers: --real needs at least one producer and one "
                "topic to check\n",
                path);
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

/* ---- index.tsv ---- */

static bool real_index_is_ours(const weir_real_opts *o, const weir_scenario *sc, const char *line)
{
    for (uint64_t s = o->seed_first; s <= o->seed_last; s++) {
        char name[160];
        int n = snprintf(name, sizeof name, "%s-real-s%llu\t", sc->name, (unsigned long long)s);
        if (strncmp(line, name, (size_t)n) == 0) {
            return true;
        }
    }
    return false;
}

/* Keeps the rows of other runs an existing index.tsv holds (a folder shared
 * with other sweeps); ours are replaced. */
static void real_index_open(real_index *ix, const weir_real_opts *o, const weir_scenario *sc)
{
    memset(ix, 0, sizeof *ix);
    snprintf(ix->path, sizeof ix->path, "%s/index.tsv", o->out_dir);
    FILE *f = fopen(ix->path, "re");
    if (f == NULL) {
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool first = true;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (first) {
            first = false;
            if (strcmp(line, real_index_header) != 0) {
                break; /* another format: replaced */
            }
            continue;
        }
        if (real_index_is_ours(o, sc, line)) {
            continue;
        }
        char **grown = realloc(ix->kept, (ix->n_kept + 1) * sizeof *grown);
        WEIR_ASSERT(grown != NULL);
        ix->kept = grown;
        ix->kept[ix->n_kept++] = strdup(line);
    }
    free(line);
    fclose(f);
}

/* Tabs and newlines would break the row: spaces instead. */
static void real_tsv_clean(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\t' || *s == '\n' || *s == '\r') {
            *s = ' ';
        }
    }
}

static void real_index_add(real_index *ix, const weir_scenario *sc, uint64_t seed,
                           const weir_real_outcome *out)
{
    char failure[sizeof out->failures[0]];
    snprintf(failure, sizeof failure, "%s", out->n_failures > 0 ? out->failures[0] : "-");
    real_tsv_clean(failure);
    char row[1024];
    snprintf(row, sizeof row, "%s\t%s\t-\t%llu\t%s\t-\t0\t%.3f\t%.3f\t%d\t%s\n", out->name,
             sc->name, (unsigned long long)seed, weir_real_verdict_name(out->verdict), out->run_s,
             out->wall_s, out->faults_fired, failure);
    char **grown = realloc(ix->rows, (ix->n_rows + 1) * sizeof *grown);
    WEIR_ASSERT(grown != NULL);
    ix->rows = grown;
    ix->rows[ix->n_rows++] = strdup(row);
    /* rewritten whole after every run, through a rename: never half a file */
    char tmp[sizeof ix->path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", ix->path);
    FILE *f = fopen(tmp, "we");
    if (f == NULL) {
        fprintf(stderr, "weir chaos: cannot write %s: %s\n", tmp, strerror(errno));
        return;
    }
    fputs(real_index_header, f);
    for (size_t i = 0; i < ix->n_kept; i++) {
        fputs(ix->kept[i], f);
    }
    for (size_t i = 0; i < ix->n_rows; i++) {
        fputs(ix->rows[i], f);
    }
    if (fclose(f) != 0 || rename(tmp, ix->path) != 0) {
        fprintf(stderr, "weir chaos: cannot write %s: %s\n", ix->path, strerror(errno));
    }
}

static void real_index_free(real_index *ix)
{
    for (size_t i = 0; i < ix->n_kept; i++) {
        free(ix->kept[i]);
    }
    for (size_t i = 0; i < ix->n_rows; i++) {
        free(ix->rows[i]);
    }
    free(ix->kept);
    free(ix->rows);
}

/* ---- output ---- */

static void real_print_seed(const weir_real_opts *o, uint64_t seed, const weir_real_outcome *out)
{
    char rec[32] = "-";
    if (out->recovered_s >= 0) {
        snprintf(rec, sizeof rec, "%.1fs", out->recovered_s);
    }
    printf("seed %-6llu %-5s  faults %-34s acked %-8lld lost %-4lld dups %-5lld recovered %-6s "
           "%.1fs\n",
           (unsigned long long)seed, weir_real_verdict_name(out->verdict), out->kinds_text,
           (long long)out->acked, (long long)out->lost_all, (long long)out->duplicated, rec,
           out->wall_s);
    for (int i = 0; i < out->n_failures; i++) {
        printf("    - %s\n", out->failures[i]);
    }
    if (out->verdict != WEIR_REAL_PASS) {
        char kinds[96];
        weir_real_kinds_format(o->kinds, kinds, sizeof kinds);
        printf("    replay: weir chaos %s --real --seeds %llu..%llu --faults %s --duration %llds "
               "(records: %s/%s)\n",
               o->scenario_path, (unsigned long long)seed, (unsigned long long)seed, kinds,
               (long long)(o->duration_ns / WEIR_REAL_S), o->out_dir, out->name);
    }
}

static void real_fmt_eta(char *buf, size_t size, double s)
{
    if (s >= 3600) {
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    } else if (s >= 60) {
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    } else {
        snprintf(buf, size, "%ds", (int)s);
    }
}

static void real_print_summary(const weir_real_opts *o, const weir_real_outcome *outs, size_t n,
                               double wall_s)
{
    printf("\nsummary\n");
    printf("  %-6s %-7s %-42s %9s %9s %6s %6s %6s %9s %8s\n", "seed", "verdict", "faults", "sent",
           "acked", "lost", "dups", "reord", "recovered", "time");
    size_t pass = 0, fail = 0, error = 0;
    for (size_t i = 0; i < n; i++) {
        const weir_real_outcome *r = &outs[i];
        char rec[32] = "-";
        if (r->recovered_s >= 0) {
            snprintf(rec, sizeof rec, "%.1fs", r->recovered_s);
        }
        printf("  %-6llu %-7s %-42s %9lld %9lld %6lld %6lld %6lld %9s %7.1fs\n",
               (unsigned long long)(o->seed_first + i), weir_real_verdict_name(r->verdict),
               r->kinds_text, (long long)r->sent, (long long)r->acked, (long long)r->lost_all,
               (long long)r->duplicated, (long long)r->reordered, rec, r->wall_s);
        pass += r->verdict == WEIR_REAL_PASS;
        fail += r->verdict == WEIR_REAL_FAIL;
        error += r->verdict == WEIR_REAL_ERROR;
    }
    printf("%zu seed(s): %zu PASS, %zu FAIL, %zu ERROR in %.1fs\n", n, pass, fail, error, wall_s);
    printf("records: %s (index.tsv; `weir report %s` draws them)\n", o->out_dir, o->out_dir);
}

/* ---- the command ---- */

/* --plan: each seed's schedule, as the run would fire it (targets named
 * leader(...) are resolved when the fault fires). */
static int real_plan(const weir_real_opts *o, const weir_scenario *sc)
{
    for (uint64_t seed = o->seed_first; seed <= o->seed_last; seed++) {
        weir_real_schedule s;
        weir_real_schedule_make(sc, seed, o->kinds, o->duration_ns, &s);
        char kinds[96];
        weir_real_kinds_format(s.kinds, kinds, sizeof kinds);
        printf("seed %llu: swarm kinds %s, %d fault(s)\n", (unsigned long long)seed, kinds,
               s.count);
        for (int i = 0; i < s.count; i++) {
            char line[256];
            weir_real_fault_describe(sc, &s.faults[i], line, sizeof line);
            printf("  %s\n", line);
        }
        if (seed == UINT64_MAX) {
            break;
        }
    }
    return WEIR_EXIT_OK;
}

static int real_prepare(weir_real_opts *o, char *tmp_dir, size_t tmp_size)
{
    o->faketime = weir_real_faketime_lib();
    if ((o->kinds & (1u << WEIR_REAL_SKEW)) && o->faketime == NULL) {
        o->kinds &= ~(1u << WEIR_REAL_SKEW);
        printf(
            "note: libfaketime not found (Debian package libfaketime): the skew kind is skipped\n");
        if (o->kinds == 0) {
            fprintf(stderr,
                    "weir chaos: --faults skew needs libfaketime, which is not installed\n");
            return WEIR_EXIT_USAGE;
        }
    }
    if (o->out_dir == NULL) {
        snprintf(tmp_dir, tmp_size, "/tmp/weir-chaos-real.XXXXXX");
        if (mkdtemp(tmp_dir) == NULL) {
            fprintf(stderr, "weir chaos: cannot create a folder under /tmp: %s\n", strerror(errno));
            return WEIR_EXIT_FAIL;
        }
        o->out_dir = tmp_dir;
    } else if (weir_real_mkdirs(o->out_dir) != 0) {
        fprintf(stderr, "weir chaos: --out: cannot create folder '%s': %s\n", o->out_dir,
                strerror(errno));
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

int weir_cli_chaos_real(int argc, char **argv)
{
    static weir_real_opts o;
    int rc = real_parse(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? WEIR_EXIT_OK : rc;
    }
    static weir_scenario sc;
    if ((rc = real_load(o.scenario_path, &sc)) != WEIR_EXIT_OK) {
        weir_scenario_free(&sc);
        return rc;
    }
    if (real_plan_only) {
        o.faketime = weir_real_faketime_lib();
        if (o.faketime == NULL) {
            o.kinds &= ~(1u << WEIR_REAL_SKEW);
        }
        rc = real_plan(&o, &sc);
        weir_scenario_free(&sc);
        return rc;
    }
    char tmp_dir[64];
    if ((rc = real_prepare(&o, tmp_dir, sizeof tmp_dir)) != WEIR_EXIT_OK) {
        weir_scenario_free(&sc);
        return rc;
    }
    size_t n_seeds = (size_t)(o.seed_last - o.seed_first + 1);
    weir_real_outcome *outs = calloc(n_seeds, sizeof *outs);
    if (outs == NULL) {
        fprintf(stderr, "weir chaos: out of memory\n");
        weir_scenario_free(&sc);
        return WEIR_EXIT_FAIL;
    }
    char kinds[96];
    weir_real_kinds_format(o.kinds, kinds, sizeof kinds);
    printf("weir chaos %s --real: seeds %llu..%llu, faults %s, %.1fs per seed (producers stop at "
           "%.1fs), %zu broker(s), liveness bound %.0fs\n",
           sc.name, (unsigned long long)o.seed_first, (unsigned long long)o.seed_last, kinds,
           (double)o.duration_ns / 1e9, (double)(o.duration_ns * 3 / 4) / 1e9, sc.broker_count,
           (double)o.liveness_ns / 1e9);
    printf("out: %s\n", o.out_dir);
    fflush(stdout);
    real_index ix;
    real_index_open(&ix, &o, &sc);
    weir_real_signals_install();
    weir_assert_set_context(real_assert_context, &o);
    int64_t t0 = weir_real_clock_ns();
    size_t done = 0, failed = 0;
    bool interrupted = false;
    for (uint64_t seed = o.seed_first; seed <= o.seed_last && !interrupted; seed++) {
        real_assert_seed = seed;
        weir_real_outcome *out = &outs[done];
        interrupted = weir_real_run_seed(&o, &sc, seed, out) != 0;
        done++;
        failed += out->verdict != WEIR_REAL_PASS;
        real_index_add(&ix, &sc, seed, out);
        real_print_seed(&o, seed, out);
        double elapsed = (double)(weir_real_clock_ns() - t0) / 1e9;
        double per = elapsed / (double)done;
        char eta[32];
        real_fmt_eta(eta, sizeof eta, per * (double)(n_seeds - done));
        printf("[%zu/%zu] %zu failed  %.1f seeds/min  elapsed %.0fs  ETA %s\n", done, n_seeds,
               failed, 60.0 / per, elapsed, eta);
        fflush(stdout);
        if (seed == UINT64_MAX) {
            break;
        }
    }
    weir_assert_set_context(NULL, NULL);
    weir_real_signals_restore();
    real_print_summary(&o, outs, done, (double)(weir_real_clock_ns() - t0) / 1e9);
    real_index_free(&ix);
    free(outs);
    weir_scenario_free(&sc);
    if (interrupted) {
        printf("interrupted: every child process stopped\n");
        return 130;
    }
    return failed == 0 ? WEIR_EXIT_OK : WEIR_EXIT_FAIL;
}
