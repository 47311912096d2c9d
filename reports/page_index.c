/* The run folder's front page, RUN_DIR/report.html: totals, then per
 * scenario a grid of verdicts (one square per run, linking to its page) and
 * a table. Small scenarios list every run; large sweeps list only the runs
 * that did not pass, so a 1000-seed sweep still gives a small page. The
 * coverage section follows when a tracefile was given.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define INDEX_ALL_ROWS_MAX 50  /* a scenario with more runs lists only failures */
#define INDEX_BAD_ROWS_MAX 200 /* failures listed per scenario */
#define INDEX_GRID_MAX 20000   /* squares per scenario */

static void index_totals(FILE *f, const weir_report_dir *d, const weir_report_group *g, size_t gn)
{
    size_t pass = 0, fail = 0, error = 0;
    double wall = 0, sim = 0;
    for (size_t i = 0; i < gn; i++) {
        pass += g[i].pass;
        fail += g[i].fail;
        error += g[i].error;
        wall += g[i].wall_s;
    }
    for (size_t i = 0; i < d->run_count; i++) {
        sim += d->runs[i].sim_s > 0 ? d->runs[i].sim_s : 0;
    }
    char sim_text[32], wall_text[32];
    weir_report_fmt_seconds(sim_text, sizeof sim_text, sim);
    weir_report_fmt_seconds(wall_text, sizeof wall_text, wall);
    fprintf(f,
            "<div class=\"totals\">"
            "<div class=\"card\"><b>%zu</b><span>runs</span></div>"
            "<div class=\"card pass\"><b>%zu</b><span>pass</span></div>"
            "<div class=\"card fail\"><b>%zu</b><span>fail</span></div>"
            "<div class=\"card error\"><b>%zu</b><span>error</span></div>"
            "<div class=\"card\"><b>%zu</b><span>scenarios</span></div>"
            "<div class=\"card\"><b>%s</b><span>simulated</span></div>"
            "<div class=\"card\"><b>%s</b><span>wall clock</span></div></div>\n",
            d->run_count, pass, fail, error, gn, sim_text, wall_text);
}

static const char *index_class(weir_report_verdict v)
{
    static const char *const cls[] = {"pass", "fail", "error", "unknown"};
    return cls[v <= WEIR_REPORT_UNKNOWN ? v : 3];
}

static void index_run_link(FILE *f, const weir_report_run *r, const char *text)
{
    if (r->has_folder) {
        fputs("<a href=\"", f);
        weir_report_put_url(f, r->name);
        fputs("/report.html\">", f);
        weir_report_put_esc(f, text);
        fputs("</a>", f);
    } else {
        weir_report_put_esc(f, text);
        fputs(" <span class=\"note\">(no folder)</span>", f);
    }
}

static void index_grid(FILE *f, const weir_report_dir *d, const weir_report_group *g)
{
    fputs("<div class=\"grid\">", f);
    for (size_t i = 0; i < g->run_count && i < INDEX_GRID_MAX; i++) {
        const weir_report_run *r = &d->runs[g->runs[i]];
        fprintf(f, "<%s class=\"%s\"", r->has_folder ? "a" : "span", index_class(r->verdict));
        if (r->has_folder) {
            fputs(" href=\"", f);
            weir_report_put_url(f, r->name);
            fputs("/report.html\"", f);
        }
        fputs(" title=\"", f);
        if (r->variant != NULL) {
            weir_report_put_esc(f, r->variant);
            fputs(" ", f);
        }
        fputs("seed ", f);
        weir_report_put_esc(f, r->seed != NULL ? r->seed : "?");
        fprintf(f, ": %s\"></%s>", weir_report_verdict_name(r->verdict),
                r->has_folder ? "a" : "span");
    }
    fputs("</div>\n", f);
    if (g->run_count > INDEX_GRID_MAX) {
        fprintf(f, "<p class=\"note\">%zu more runs not shown in the grid.</p>\n",
                g->run_count - INDEX_GRID_MAX);
    }
}

static void index_cell(FILE *f, const char *text, bool mono, bool num)
{
    fprintf(f, "<td%s>", mono ? " class=\"mono\"" : num ? " class=\"num\"" : "");
    weir_report_put_esc(f, text != NULL ? text : "-");
    fputs("</td>", f);
}

static void index_row(FILE *f, const weir_report_run *r)
{
    bool bad = r->verdict != WEIR_REPORT_PASS;
    fprintf(f, "<tr%s><td>", bad ? " class=\"bad\"" : "");
    index_run_link(f, r, r->name);
    fputs("</td>", f);
    index_cell(f, r->variant, false, false);
    index_cell(f, r->seed, false, true);
    fputs("<td>", f);
    weir_report_html_verdict(f, r->verdict);
    fputs("</td>", f);
    index_cell(f, r->trace_hash, true, false);
    index_cell(f, r->events, false, true);
    char sim[32], wall[32];
    weir_report_fmt_seconds(sim, sizeof sim, r->sim_s);
    weir_report_fmt_seconds(wall, sizeof wall, r->wall_s);
    index_cell(f, sim, false, true);
    index_cell(f, wall, false, true);
    index_cell(f, r->faults, false, true);
    fputs("<td class=\"wrap\">", f);
    if (r->failure_count > 0) {
        weir_report_put_esc(f, r->failures[0]);
        if (r->failure_count > 1) {
            fprintf(f, " <span class=\"note\">(+%zu more)</span>", r->failure_count - 1);
        }
    }
    if (bad) {
        const char *shrunk = weir_report_run_meta(r, "shrunk_replay");
        const char *replay = shrunk != NULL ? shrunk : weir_report_run_meta(r, "replay");
        if (replay != NULL) {
            fprintf(f, "<div class=\"note\">%s:</div>",
                    shrunk != NULL ? "replay shrunk" : "replay");
            weir_report_html_command(f, replay);
        }
    }
    fputs("</td></tr>\n", f);
}

static void index_group(FILE *f, const weir_report_dir *d, const weir_report_group *g)
{
    fputs("<h2>", f);
    weir_report_put_esc(f, g->scenario);
    fprintf(f, "</h2>\n<p class=\"sub\">%zu run%s: %zu pass, %zu fail, %zu error</p>\n",
            g->run_count, g->run_count == 1 ? "" : "s", g->pass, g->fail, g->error);
    if (g->run_count > 1) {
        index_grid(f, d, g);
    }
    bool all = g->run_count <= INDEX_ALL_ROWS_MAX;
    size_t bad = g->fail + g->error;
    if (!all && bad == 0) {
        fputs("<p class=\"note\">every run passed; each square links to its page.</p>\n", f);
        return;
    }
    if (!all) {
        fprintf(f, "<p class=\"note\">runs that did not pass%s:</p>\n",
                bad > INDEX_BAD_ROWS_MAX ? " (the first 200)" : "");
    }
    fputs("<div class=\"scroll\"><table>\n<tr><th>run</th><th>variant</th><th class=\"num\">seed"
          "</th><th>verdict</th><th>trace hash</th><th class=\"num\">events</th>"
          "<th class=\"num\">sim</th><th class=\"num\">wall</th><th class=\"num\">faults</th>"
          "<th>failure</th></tr>\n",
          f);
    size_t rows = 0;
    for (size_t i = 0; i < g->run_count && rows < (all ? INDEX_ALL_ROWS_MAX : INDEX_BAD_ROWS_MAX);
         i++) {
        const weir_report_run *r = &d->runs[g->runs[i]];
        if (all || r->verdict != WEIR_REPORT_PASS) {
            index_row(f, r);
            rows++;
        }
    }
    fputs("</table></div>\n", f);
}

static void index_body(FILE *f, const weir_report_dir *d, const weir_report_cov *cov)
{
    weir_report_group *groups = NULL;
    size_t gn = weir_report_groups(d, &groups);
    fputs("<h1>weir run report</h1>\n<p class=\"sub\">", f);
    weir_report_put_esc(f, d->path);
    fputs(" &middot; <a href=\"junit.xml\">junit.xml</a></p>\n", f);
    index_totals(f, d, groups, gn);
    for (size_t i = 0; i < gn; i++) {
        index_group(f, d, &groups[i]);
    }
    if (cov != NULL) {
        weir_report_cov_html(f, cov);
    }
    weir_report_groups_free(groups, gn);
}

int weir_report_page_index(const weir_report_dir *d, const weir_report_cov *cov)
{
    char *tmp;
    FILE *f = weir_report_out_open(d->path, "report.html", &tmp);
    if (f != NULL) {
        weir_report_html_begin(f, "weir run report");
        index_body(f, d, cov);
        weir_report_html_end(f);
    }
    return weir_report_out_commit(f, tmp, d->path, "report.html");
}
