/* `weir sim SCENARIO`: runs a scenario in the simulator and reports what
 * happened: a timeline, a summary (with a flow's counters, queue peaks and
 * memory), a latency histogram, the verdict and the trace hash. A bad
 * scenario or flow file exits 2 before anything runs. Built-in scenario:
 * `demo` (see impl/demo/demo.h). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/units.h"
#include "demo/demo.h"
#include "scenario/scenario.h"
#include "run_dir.h"
#include "scenario_run.h"
#include "sim.h"

static const char sim_usage[] =
    "usage: weir sim SCENARIO [--seed N] [--variant NAME] [--duration T] [--trace FILE] [--out DIR]\n"
    "                [--log error|warn|info|debug]\n"
    "\n"
    "  SCENARIO        a scenario file (scenarios/*.yaml), or the built-in demo\n"
    "  --seed N        run seed (default: the file's seed, or 1); same seed => same trace hash\n"
    "  --variant NAME  run one of the file's variants (default: the first, if any)\n"
    "  --duration T    demo only: simulated time to run, e.g. 5s, 800ms (default 5s)\n"
    "  --trace FILE    write every delivered event to FILE, one per line\n"
    "  --log LEVEL     the nodes' log lines to stderr from LEVEL up (default error)\n"
    "  --out DIR       also record the run in the run folder DIR (for `weir report DIR`):\n"
    "                  DIR/<scenario>-s<seed>/ and a row in DIR/index.tsv\n"
    "\n"
    "exit status: 0 the run met its expectations, 1 it did not, 2 a bad command or file\n";

typedef struct sim_opts {
    const char *scenario;
    const char *variant;
    bool seed_given;
    uint64_t seed;
    int64_t duration_ns;
    const char *trace_path;
    const char *out_dir;
} sim_opts;

static int sim_parse(int argc, char **argv, sim_opts *o)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},  {"duration", required_argument, NULL, 'd'},
        {"variant", required_argument, NULL, 'v'},
        {"trace", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"out", required_argument, NULL, 'o'},   {"log", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    o->seed = 1;
    o->seed_given = false;
    o->variant = NULL;
    o->duration_ns = 5000000000LL;
    o->trace_path = NULL;
    o->out_dir = NULL;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (weir_parse_u64(optarg, &o->seed) != 0) {
                return weir_cli_usage_error("sim", sim_usage, "--seed: '%s' is not a number",
                                            optarg);
            }
            o->seed_given = true;
            break;
        case 'v':
            o->variant = optarg;
            break;
        case 'd':
            if (weir_parse_duration_ns(optarg, &o->duration_ns) != 0 || o->duration_ns == 0) {
                return weir_cli_usage_error("sim", sim_usage,
                                            "--duration: '%s' is not a duration", optarg);
            }
            break;
        case 't':
            o->trace_path = optarg;
            break;
        case 'o':
            o->out_dir = optarg;
            break;
        case 'l': {
            static const char *const levels[] = {"error", "warn", "info", "debug"};
            int found = -1;
            for (int i = 0; i < 4; i++) {
                found = strcmp(optarg, levels[i]) == 0 ? i : found;
            }
            if (found < 0) {
                return weir_cli_usage_error("sim", sim_usage, "--log: '%s' is not error, warn, info or debug",
                                            optarg);
            }
            weir_scn_set_log_level((weir_log_level)found);
            break;
        }
        case 'h':
            fputs(sim_usage, stdout);
            return -1;
        case ':':
            return weir_cli_usage_error("sim", sim_usage, "%s needs a value", argv[optind - 1]);
        default:
            return weir_cli_usage_error("sim", sim_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        return weir_cli_usage_error("sim", sim_usage, optind == argc ? "missing SCENARIO"
                                                                     : "too many arguments");
    }
    o->scenario = argv[optind];
    return 0;
}

static void sim_print_time(int64_t ns)
{
    printf("%4" PRId64 ".%06" PRId64 "s", ns / 1000000000, ns % 1000000000 / 1000);
}

static void sim_print_histogram(const weir_demo *d)
{
    uint64_t max = 0;
    int lo = -1, hi = -1;
    for (int i = 0; i < WEIR_DEMO_RTT_BUCKETS; i++) {
        if (d->rtt_hist[i] > 0) {
            max = d->rtt_hist[i] > max ? d->rtt_hist[i] : max;
            hi = i;
            lo = lo < 0 ? i : lo;
        }
    }
    printf("\necho round-trip time (us)\n");
    for (int i = lo; lo >= 0 && i <= hi; i++) {
        int bar = (int)(d->rtt_hist[i] * 40 / max);
        printf("  %7lld-%-7lld |", i == 0 ? 0LL : 1LL << i, (1LL << (i + 1)) - 1);
        for (int b = 0; b < bar; b++) {
            fputs("#", stdout);
        }
        printf(" %" PRIu64 "\n", d->rtt_hist[i]);
    }
}

static void sim_print_report(const weir_demo *d)
{
    printf("\ntimeline\n");
    for (int i = 0; i < d->timeline_count; i++) {
        printf("  ");
        sim_print_time(d->timeline[i].at_ns);
        printf("  %s\n", d->timeline[i].text);
    }
    printf("\nsummary\n");
    printf("  frames sent %" PRIu64 ", echoed %" PRIu64 " (%.1f MB), lost in flight %" PRIu64
           ", mismatched %" PRIu64 "\n",
           d->sent, d->echoes, (double)d->echo_bytes / 1e6, d->lost_in_flight, d->mismatches);
    printf("  connections opened %" PRIu64 ", closed %" PRIu64 "\n", d->connects,
           d->disconnects);
    for (int i = 0; i < d->cfg.server_count; i++) {
        const weir_demo_server *s = &d->servers[i];
        printf("  s%d: starts %" PRIu64 ", echoed %" PRIu64 " since start, count %" PRIu64, i + 1,
               s->starts, s->echoed, s->count);
        if (s->recovered_checked) {
            printf(", recovered %" PRIu64 " (synced before crash %" PRIu64 ") %s", s->recovered,
                   s->synced_at_crash, s->recovered_ok ? "ok" : "MISMATCH");
        }
        printf("\n");
    }
    sim_print_histogram(d);
}

char *weir_cli_read_text(const char *cmd, const char *path, size_t *len_out)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "weir %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, n;
    char *text = malloc(cap + 1);
    while (text != NULL && (n = fread(text + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            char *grown = realloc(text, (cap *= 2) + 1);
            if (grown == NULL) {
                free(text);
            }
            text = grown;
        }
    }
    fclose(fp);
    if (text == NULL) {
        fprintf(stderr, "weir %s: out of memory reading '%s'\n", cmd, path);
        return NULL;
    }
    text[len] = '\0';
    *len_out = len;
    return text;
}

/* A scenario file: parse, run, report. */
static int sim_file(const sim_opts *o)
{
    size_t len;
    char *text = weir_cli_read_text("sim", o->scenario, &len);
    if (text == NULL) {
        return WEIR_EXIT_USAGE;
    }
    static weir_scenario sc;
    char why[512];
    int err = weir_scenario_parse(text, len, o->scenario, &sc, why, sizeof why);
    if (err != 0) {
        free(text);
        fprintf(stderr, "weir sim: %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    if (o->variant != NULL || sc.variant_count > 0) {
        const char *v = o->variant != NULL ? o->variant : sc.variants[0].name;
        if (weir_scenario_use_variant(&sc, v, why, sizeof why) != 0) {
            free(text);
            fprintf(stderr, "weir sim: %s\n", why);
            return WEIR_EXIT_USAGE;
        }
    }
    /* the flow files, and the names the scenario uses in them: a bad one is a bad file */
    if (weir_scn_flows_load(&sc, why, sizeof why) != 0) {
        free(text);
        fprintf(stderr, "weir sim: %s\n", why);
        weir_scenario_free(&sc);
        return WEIR_EXIT_USAGE;
    }
    uint64_t seed = o->seed_given ? o->seed : sc.seed;
    FILE *trace = NULL;
    if (o->trace_path != NULL && (trace = fopen(o->trace_path, "w")) == NULL) {
        free(text);
        fprintf(stderr, "weir sim: cannot write trace file '%s'\n", o->trace_path);
        return WEIR_EXIT_USAGE;
    }
    char run_id[256];
    weir_rundir_run_id(run_id, sizeof run_id, &sc, seed);
    weir_run_files rf = {0};
    if (o->out_dir != NULL && weir_rundir_begin(o->out_dir, run_id, text, len, &rf, why, sizeof why) != 0) {
        free(text);
        weir_rundir_end(&rf);
        fprintf(stderr, "weir sim: %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    /* a flow file that cannot sit beside the run folder only costs the
     * folder's replay from elsewhere: the run itself goes on */
    if (o->out_dir != NULL && weir_rundir_copy_flows(&rf, &sc, o->scenario, why, sizeof why) != 0) {
        fprintf(stderr, "weir sim: note: %s\n", why);
    }
    free(text);
    /* the report goes to stdout and, with --out, to report.txt */
    char *rbuf = NULL;
    size_t rlen = 0;
    FILE *report = open_memstream(&rbuf, &rlen);
    if (report == NULL) {
        fprintf(stderr, "weir sim: out of memory\n");
        return WEIR_EXIT_FAIL;
    }
    fprintf(report, "weir sim %s%s%s  seed=%" PRIu64 "  duration=%.3fs  brokers=%zu topics=%zu faults=%zu",
           sc.name, sc.variant_index >= 0 ? " / " : "",
           sc.variant_index >= 0 ? sc.variants[sc.variant_index].name : "", seed,
           (double)sc.duration_ns / 1e9, sc.broker_count, sc.topic_count, sc.fault_count);
    if (sc.flow_count > 0) {
        fprintf(report, " flows=%zu actions=%zu", sc.flow_count, sc.action_count);
    }
    fputc('\n', report);
    weir_scn_outcome out;
    err = weir_scn_run(&sc, seed, report, trace, o->out_dir != NULL ? &rf.rec : NULL, &out);
    if (trace != NULL) {
        fclose(trace);
    }
    if (err != 0) {
        fclose(report);
        fwrite(rbuf, 1, rlen, stderr); /* what the runner said about why */
        free(rbuf);
        weir_rundir_end(&rf);
        fprintf(stderr, "weir sim: the simulation could not run: %s\n", weir_err_str(err));
        return WEIR_EXIT_FAIL;
    }
    weir_scn_print_summary(report, &out);
    fclose(report);
    fwrite(rbuf, 1, rlen, stdout);
    if (o->out_dir != NULL) {
        fwrite(rbuf, 1, rlen, rf.report);
        weir_rundir_end(&rf);
        char replay[WEIR_RUN_PATH_MAX * 2];
        snprintf(replay, sizeof replay, "weir sim %s/scenario.yaml --seed %" PRIu64 "%s%s", rf.dir, seed,
                 sc.variant_index >= 0 ? " --variant " : "",
                 sc.variant_index >= 0 ? sc.variants[sc.variant_index].name : "");
        int meta = weir_rundir_meta(&rf, &sc, seed, &out, replay);
        FILE *index = weir_rundir_index_open(o->out_dir);
        if (index != NULL) {
            weir_rundir_index_row(index, run_id, &sc, seed, out.pass ? "PASS" : "FAIL", &out, sc.fault_count);
            fclose(index);
        }
        if (meta != 0 || index == NULL) {
            fprintf(stderr, "weir sim: cannot write the run folder %s\n", o->out_dir);
        }
    }
    free(rbuf);
    weir_scenario_free(&sc);
    return out.pass ? WEIR_EXIT_OK : WEIR_EXIT_FAIL;
}

int weir_cli_sim(int argc, char **argv)
{
    sim_opts o;
    int rc = sim_parse(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? WEIR_EXIT_OK : rc;
    }
    if (strcmp(o.scenario, "demo") != 0) {
        return sim_file(&o);
    }
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, o.seed);
    FILE *trace = NULL;
    if (o.trace_path != NULL) {
        trace = fopen(o.trace_path, "w");
        if (trace == NULL) {
            fprintf(stderr, "weir sim: cannot write trace file '%s'\n", o.trace_path);
            return WEIR_EXIT_USAGE;
        }
        cfg.trace_out = trace;
    }
    weir_world *w = weir_sim_world_new(&cfg);
    static weir_demo demo;
    weir_demo_config dcfg;
    weir_demo_config_default(&dcfg);
    rc = weir_demo_add_nodes(w, &demo, &dcfg);
    WEIR_ASSERT(rc == 0);
    printf("weir sim %s  seed=%" PRIu64 "  duration=%.3fs  nodes: s1..s%d client chaos\n",
           o.scenario, o.seed, (double)o.duration_ns / 1e9, dcfg.server_count);
    rc = weir_world_run(w, o.duration_ns);
    if (rc != 0) {
        fprintf(stderr, "weir sim: the simulation failed: %s\n", weir_err_str(rc));
        return WEIR_EXIT_FAIL;
    }
    sim_print_report(&demo);
    char why[512];
    int failed = weir_demo_verdict(&demo, why, sizeof why);
    printf("\nverdict: %s\n%s", failed == 0 ? "PASS" : "FAIL", why);
    printf("trace: %" PRIu64 " events, hash %016" PRIx64 "\n", weir_sim_event_count(w),
           weir_sim_trace_hash(w));
    weir_world_destroy(w);
    if (trace != NULL) {
        fclose(trace);
    }
    return failed == 0 ? WEIR_EXIT_OK : WEIR_EXIT_FAIL;
}
