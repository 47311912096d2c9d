/* One run's page, RUN_DIR/<run>/report.html: the header (verdict, failures,
 * replay commands, trace hash), SVG timelines per partition, latency
 * histograms, the flows' connections and queue depths when recorded (a run
 * with flows and no replica samples shows its flows first), the meta.tsv
 * counters, and the events and text report in collapsible sections. Anything
 * not recorded is said so in its section. The page is written to a temporary
 * name and renamed, so a reader never sees half a page.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

#define RUN_EVENT_ROWS_MAX 5000

/* Counters that are wrong whenever they are not zero. */
static const char *const run_bad_keys[] = {"lost_all",     "lost_any",    "duplicated",
                                           "reordered",    "dirty_reads", "divergent",
                                           "hw_above_leo", "offset_gaps"};

/* Keys shown in the header rather than in the counters table. */
static const char *const run_header_keys[] = {
    "scenario",    "variant", "seed",          "verdict",       "trace_hash",
    "events",      "sim_s",   "wall_s",        "faults",        "replay",
    "fault_kinds", "shrunk",  "shrunk_faults", "shrunk_replay", "shrunk_trace_hash"};

static bool run_key_in(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(key, keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void run_dd(FILE *f, const char *label, const char *value, bool mono)
{
    fprintf(f, "<dt>%s</dt><dd%s>", label, mono ? " class=\"mono\"" : "");
    weir_report_put_esc(f, value != NULL ? value : "-");
    fputs("</dd>\n", f);
}

static void run_header(FILE *f, const weir_report_run *r)
{
    fputs("<p class=\"sub\"><a href=\"../report.html\">&#8592; all runs</a></p>\n<h1>", f);
    weir_report_put_esc(f, r->scenario != NULL ? r->scenario : r->name);
    if (r->variant != NULL) {
        fputs(" / ", f);
        weir_report_put_esc(f, r->variant);
    }
    fputs(" &middot; seed ", f);
    weir_report_put_esc(f, r->seed != NULL ? r->seed : "?");
    fputs(" ", f);
    weir_report_html_verdict(f, r->verdict);
    fputs("</h1>\n<dl class=\"head\">\n", f);
    char sim[32], wall[32];
    weir_report_fmt_seconds(sim, sizeof sim, r->sim_s);
    weir_report_fmt_seconds(wall, sizeof wall, r->wall_s);
    run_dd(f, "run", r->name, true);
    run_dd(f, "trace hash", r->trace_hash, true);
    run_dd(f, "events", r->events, false);
    run_dd(f, "simulated", sim, false);
    run_dd(f, "wall clock", wall, false);
    run_dd(f, "faults", r->faults, false);
    run_dd(f, "fault kinds", weir_report_run_meta(r, "fault_kinds"), false);
    fputs("</dl>\n", f);
    if (r->failure_count > 0) {
        fputs("<h2>Failures</h2>\n<ul class=\"fails\">\n", f);
        for (size_t i = 0; i < r->failure_count; i++) {
            fputs("<li>", f);
            weir_report_put_esc(f, r->failures[i]);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("<h3>Replay</h3>\n", f);
    const char *replay = weir_report_run_meta(r, "replay");
    if (replay != NULL) {
        weir_report_html_command(f, replay);
    } else {
        fputs("<p class=\"note\">replay command not recorded</p>\n", f);
    }
    const char *shrunk = weir_report_run_meta(r, "shrunk");
    const char *shrunk_replay = weir_report_run_meta(r, "shrunk_replay");
    if (shrunk != NULL || shrunk_replay != NULL) {
        fputs("<h3>Shrunk schedule</h3>\n<p>", f);
        if (shrunk != NULL) {
            fputs("minimal scenario: <a class=\"mono\" href=\"", f);
            fputs(shrunk[0] == '/' ? "" : "../", f);
            weir_report_put_url_path(f, shrunk);
            fputs("\">", f);
            weir_report_put_esc(f, shrunk);
            fputs("</a>", f);
        }
        const char *nf = weir_report_run_meta(r, "shrunk_faults");
        const char *th = weir_report_run_meta(r, "shrunk_trace_hash");
        if (nf != NULL) {
            fputs(" &middot; faults: ", f);
            weir_report_put_esc(f, nf);
        }
        if (th != NULL) {
            fputs(" &middot; trace hash <span class=\"mono\">", f);
            weir_report_put_esc(f, th);
            fputs("</span>", f);
        }
        fputs("</p>\n", f);
        if (shrunk_replay != NULL) {
            weir_report_html_command(f, shrunk_replay);
        }
    }
}

/* Links to the run's raw files that exist. */
static void run_files(FILE *f, const char *run_path)
{
    static const char *const files[] = {"scenario.yaml", "report.txt",  "meta.tsv",   "events.tsv",
                                        "replicas.tsv",  "latency.tsv", "queues.tsv", "flows.tsv"};
    fputs("<p class=\"sub\">files:", f);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = weir_report_path_join(run_path, files[i]);
        struct stat st;
        if (stat(p, &st) == 0) {
            fprintf(f, " <a href=\"%s\">%s</a>", files[i], files[i]);
        }
        free(p);
    }
    fputs("</p>\n", f);
}

static void run_legend(FILE *f)
{
    fputs("<div class=\"legend\">"
          "<span><i style=\"border-top:2px solid #2563eb;height:0\"></i>log end offset</span>"
          "<span><i style=\"border-top:2px dashed #ea580c;height:0\"></i>high watermark</span>"
          "<span><i style=\"background:#fde68a\"></i>leader (e = epoch)</span>"
          "<span><i style=\"background:#16a34a;height:5px\"></i>in ISR</span>"
          "<span><i style=\"background:#f87171;height:5px\"></i>out of ISR</span>"
          "<span><i style=\"background:#9ca3af\"></i>down</span>"
          "<span><i style=\"background:rgba(220,38,38,.12);border:1px dashed "
          "#dc2626\"></i>fault</span>"
          "<span><i style=\"background:#7c3aed;height:8px;width:8px\"></i>truncation "
          "from&#8594;to</span>"
          "<span><i style=\"background:#dc2626;width:3px\"></i>oracle violation</span>"
          "</div>\n",
          f);
}

static void run_counters(FILE *f, const weir_report_run *r)
{
    fputs("<h2>Counters</h2>\n", f);
    if (!r->has_meta) {
        fputs("<p class=\"note\">meta.tsv not recorded</p>\n", f);
        return;
    }
    fputs("<table>\n<tr><th>counter</th><th class=\"num\">value</th></tr>\n", f);
    for (size_t i = 0; i < r->meta_count; i++) {
        const weir_report_kv *kv = &r->meta[i];
        if (run_key_in(kv->key, run_header_keys,
                       sizeof run_header_keys / sizeof *run_header_keys)) {
            continue;
        }
        int64_t v = 0;
        bool number = weir_report_parse_i64(kv->value, &v) == 0;
        bool bad = number && v > 0 &&
                   run_key_in(kv->key, run_bad_keys, sizeof run_bad_keys / sizeof *run_bad_keys);
        fprintf(f, "<tr%s><td class=\"mono\">", bad ? " class=\"bad\"" : "");
        weir_report_put_esc(f, kv->key);
        fputs("</td><td class=\"num\">", f);
        weir_report_put_esc(f, kv->value);
        size_t kl = strlen(kv->key);
        if (number && v >= 0 && kl > 3 && strcmp(kv->key + kl - 3, "_ns") == 0) {
            fprintf(f, " <span class=\"note\">(%.3f s)</span>", (double)v / 1e9);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static const char *run_event_kind(const weir_report_event *e)
{
    static const char *const names[] = {"fault",  "leader", "isr",         "fenced", "truncate",
                                        "oracle", "note",   "flow-action", "other"};
    return e->kind == WEIR_REPORT_EV_OTHER ? e->s[1] : names[e->kind];
}

/* The events as a table, in a collapsed section. */
static void run_events(FILE *f, const weir_report_detail *det)
{
    if (!det->events_found) {
        return;
    }
    fprintf(f,
            "<details><summary>Events (%zu)</summary>\n<table>\n"
            "<tr><th class=\"num\">time</th><th>kind</th><th>what</th></tr>\n",
            det->event_count);
    for (size_t i = 0; i < det->event_count && i < RUN_EVENT_ROWS_MAX; i++) {
        const weir_report_event *e = &det->events[i];
        fprintf(f, "<tr%s><td class=\"num\">%.3fs</td><td>",
                e->kind == WEIR_REPORT_EV_ORACLE ? " class=\"bad\"" : "", (double)e->t_ns / 1e9);
        weir_report_put_esc(f, run_event_kind(e));
        fputs("</td><td class=\"wrap\">", f);
        const char *topic = e->topic >= 0 ? det->names[e->topic] : "";
        switch (e->kind) {
        case WEIR_REPORT_EV_FAULT:
            weir_report_put_esc(f, e->s[0]);
            fputs(" ", f);
            weir_report_put_esc(f, e->s[1]);
            fputs(e->flag ? " starts " : " ends ", f);
            weir_report_put_esc(f, e->s[2]);
            break;
        case WEIR_REPORT_EV_LEADER:
            weir_report_put_esc(f, topic);
            fprintf(f, "/%" PRId32 ": leader %" PRId32 " &#8594; %" PRId32 ", epoch %" PRId64 "%s",
                    e->partition, e->a, e->b, e->n1, e->flag ? " (unclean)" : "");
            break;
        case WEIR_REPORT_EV_ISR:
            weir_report_put_esc(f, topic);
            fprintf(f, "/%" PRId32 ": ISR {", e->partition);
            weir_report_put_esc(f, e->s[0]);
            fputs("}", f);
            break;
        case WEIR_REPORT_EV_FENCED:
            fprintf(f, "broker %" PRId32 " fenced", e->a);
            break;
        case WEIR_REPORT_EV_TRUNCATE:
            fprintf(f, "broker %" PRId32 " ", e->a);
            weir_report_put_esc(f, topic);
            fprintf(f, "/%" PRId32 ": %" PRId64 " &#8594; %" PRId64 " (", e->partition, e->n1,
                    e->n2);
            weir_report_put_esc(f, e->s[0]);
            fputs(")", f);
            break;
        default:
            weir_report_put_esc(f, e->s[0]);
            break;
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (det->event_count > RUN_EVENT_ROWS_MAX) {
        fprintf(f, "<p class=\"note\">%zu more in events.tsv</p>\n",
                det->event_count - RUN_EVENT_ROWS_MAX);
    }
    fputs("</details>\n", f);
}

/* report.txt, bounded, in a collapsed section. */
static void run_text(FILE *f, const char *run_path)
{
    char *path = weir_report_path_join(run_path, "report.txt");
    FILE *in = fopen(path, "rb");
    free(path);
    fputs("<h2>Text report</h2>\n", f);
    if (in == NULL) {
        fputs("<p class=\"note\">report.txt not recorded</p>\n", f);
        return;
    }
    char *text = weir_report_xmalloc(WEIR_REPORT_TEXT_BYTES_MAX + 1);
    size_t len = 0, n;
    while (len < WEIR_REPORT_TEXT_BYTES_MAX &&
           (n = fread(text + len, 1, WEIR_REPORT_TEXT_BYTES_MAX - len, in)) > 0) {
        len += n;
    }
    bool more = len == WEIR_REPORT_TEXT_BYTES_MAX && fgetc(in) != EOF;
    fclose(in);
    text[len] = '\0';
    fputs("<details><summary>report.txt (what <code>weir sim</code> printed)</summary>\n<pre>", f);
    weir_report_put_esc(f, text);
    fprintf(f, "%s</pre></details>\n", more ? "\n[... truncated; see report.txt]" : "");
    free(text);
}

static void run_body(FILE *f, const weir_report_run *r, const char *run_path)
{
    run_header(f, r);
    run_files(f, run_path);
    weir_report_detail det;
    weir_report_detail_load(&det, run_path, r->sim_s);
    bool flows_first = det.flows_found && det.sample_count == 0; /* a run of flows only */
    if (flows_first) {
        weir_report_flows_section(f, &det);
    }
    fputs("<h2>Replicas over time</h2>\n", f);
    if (!det.events_found && !det.replicas_found) {
        fputs("<p class=\"note\">events.tsv and replicas.tsv not recorded</p>\n", f);
    } else {
        if (!det.replicas_found) {
            fputs("<p class=\"note\">replicas.tsv not recorded: offsets are not drawn</p>\n", f);
        }
        if (!det.events_found) {
            fputs("<p class=\"note\">events.tsv not recorded: leaders, ISR and faults are not "
                  "drawn</p>\n",
                  f);
        }
        run_legend(f);
        if (weir_report_svg_timelines(f, &det) == 0) {
            fputs("<p class=\"note\">no partition appears in the records</p>\n", f);
        }
    }
    fputs("<h2>Produce latency</h2>\n", f);
    if (!det.latency_found) {
        fputs("<p class=\"note\">latency.tsv not recorded</p>\n", f);
    } else if (weir_report_svg_histograms(f, &det) == 0) {
        fputs("<p class=\"note\">no acknowledgements recorded</p>\n", f);
    }
    if (det.flows_found && !flows_first) {
        weir_report_flows_section(f, &det);
    }
    if (det.queues_found) {
        fputs("<h2>Queue depths</h2>\n", f);
        if (weir_report_svg_queues(f, &det) == 0) {
            fputs("<p class=\"note\">queues.tsv has no samples</p>\n", f);
        }
    }
    run_counters(f, r);
    fputs("<h2>Events</h2>\n", f);
    if (det.events_found) {
        run_events(f, &det);
    } else {
        fputs("<p class=\"note\">events.tsv not recorded</p>\n", f);
    }
    run_text(f, run_path);
    weir_report_detail_free(&det);
}

int weir_report_page_run(const weir_report_dir *d, const weir_report_run *r)
{
    char *run_path = weir_report_path_join(d->path, r->name);
    char *tmp;
    FILE *f = weir_report_out_open(run_path, "report.html", &tmp);
    if (f != NULL) {
        size_t tl = strlen(r->name) + 64;
        char *title = weir_report_xmalloc(tl);
        snprintf(title, tl, "%s %s - weir run", weir_report_verdict_name(r->verdict), r->name);
        weir_report_html_begin(f, title);
        free(title);
        run_body(f, r, run_path);
        weir_report_html_end(f);
    }
    int rc = weir_report_out_commit(f, tmp, run_path, "report.html");
    free(run_path);
    return rc;
}
