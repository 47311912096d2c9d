/* The "Flows" section of a run page, when the run recorded flows.tsv: the
 * malformed lines of the file (with their line numbers), a legend, one small
 * chart per connection (small multiples on one time scale) each with a table
 * of its figures, and the numbered list of what the charts mark (flow
 * actions, faults, oracle violations, unknown event kinds).
 *
 * Figures of a connection, from its samples:
 *   peak queued     the largest of queued and peak_queued (the engine's
 *                   running maximum sees between samples)
 *   overshoot       how far the queue went over the object threshold in force
 *                   at the time: max(queued, peak_queued where it changed) -
 *                   threshold, over samples with a threshold; 0 if never over
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define PF_CHARTS_MAX 64 /* connections drawn; the rest get a table row */
#define PF_MARKS_MAX 200 /* marks drawn and listed */

typedef struct pf_stats {
    int64_t peak_queued, peak_resident, peak_swapped, peak_bytes, final_queued;
    int64_t peak_t_ns;
    int64_t threshold_first, threshold_last; /* 0: none */
    bool threshold_seen;
    int64_t overshoot; /* < 0: never over */
} pf_stats;

static pf_stats pf_stats_of(const weir_report_detail *det, const weir_report_flow_conn *c)
{
    pf_stats st;
    memset(&st, 0, sizeof st);
    st.overshoot = -1;
    const weir_report_flow_sample *s = det->flow_samples + c->first;
    for (size_t i = 0; i < c->count; i++) {
        /* peak_queued says something new only where it changed (it restarts
         * with a restarted flow host). */
        bool peak_moved = i == 0 || s[i].peak != s[i - 1].peak;
        int64_t high = peak_moved && s[i].peak > s[i].queued ? s[i].peak : s[i].queued;
        if (high > st.peak_queued) {
            st.peak_queued = high;
            st.peak_t_ns = s[i].t_ns;
        }
        st.peak_resident = s[i].resident > st.peak_resident ? s[i].resident : st.peak_resident;
        st.peak_swapped = s[i].swapped > st.peak_swapped ? s[i].swapped : st.peak_swapped;
        st.peak_bytes = s[i].bytes > st.peak_bytes ? s[i].bytes : st.peak_bytes;
        if (s[i].threshold > 0) {
            if (!st.threshold_seen) {
                st.threshold_first = s[i].threshold;
                st.threshold_seen = true;
            }
            int64_t over = high - s[i].threshold;
            st.overshoot = over > st.overshoot ? over : st.overshoot;
        }
    }
    if (c->count > 0) {
        st.final_queued = s[c->count - 1].queued;
        st.threshold_last = s[c->count - 1].threshold;
    }
    return st;
}

static void pf_num_cell(FILE *f, const char *cls, int64_t v)
{
    char buf[32];
    weir_report_fmt_count(buf, sizeof buf, v);
    fprintf(f, "<td class=\"num %s\">%s</td>", cls, buf);
}

static void pf_threshold_cell(FILE *f, const pf_stats *st)
{
    char a[32], b[32];
    fputs("<td class=\"num threshold\">", f);
    if (!st->threshold_seen) {
        fputs("none", f);
    } else {
        weir_report_fmt_count(a, sizeof a, st->threshold_first);
        if (st->threshold_last > 0) {
            weir_report_fmt_count(b, sizeof b, st->threshold_last);
        } else {
            snprintf(b, sizeof b, "none");
        }
        if (st->threshold_first == st->threshold_last) {
            fputs(a, f);
        } else {
            fprintf(f, "%s &#8594; %s", a, b);
        }
    }
    fputs("</td>", f);
}

static void pf_overshoot_cell(FILE *f, const pf_stats *st)
{
    if (!st->threshold_seen) {
        fputs("<td class=\"num overshoot\">-</td>", f);
        return;
    }
    pf_num_cell(f, "overshoot", st->overshoot > 0 ? st->overshoot : 0);
}

static const char pf_head[] =
    "<th class=\"num\">peak queued</th><th class=\"num\">peak in memory</th>"
    "<th class=\"num\">peak swapped</th><th class=\"num\">final queued</th>"
    "<th class=\"num\">threshold</th><th class=\"num\">overshoot</th>";

/* The figures of one connection as table cells. */
static void pf_cells(FILE *f, const pf_stats *st)
{
    fprintf(f, "<td class=\"num peak-queued\" title=\"first seen at %.3fs\">",
            (double)st->peak_t_ns / 1e9);
    char buf[32];
    weir_report_fmt_count(buf, sizeof buf, st->peak_queued);
    fprintf(f, "%s</td>", buf);
    pf_num_cell(f, "peak-resident", st->peak_resident);
    pf_num_cell(f, "peak-swapped", st->peak_swapped);
    pf_num_cell(f, "final-queued", st->final_queued);
    pf_threshold_cell(f, st);
    pf_overshoot_cell(f, st);
}

static void pf_name(FILE *f, const weir_report_detail *det, const weir_report_flow_conn *c)
{
    weir_report_put_esc(f, det->names[c->flow]);
    fputs(" / <b>", f);
    weir_report_put_esc(f, det->names[c->connection]);
    fputs("</b>", f);
}

static void pf_figure(FILE *f, const weir_report_detail *det, size_t i,
                      const weir_report_flow_mark *marks, size_t mark_count)
{
    const weir_report_flow_conn *c = &det->flow_conns[i];
    pf_stats st = pf_stats_of(det, c);
    char bytes[32];
    weir_report_fmt_bytes(bytes, sizeof bytes, st.peak_bytes);
    fputs("<figure class=\"flow\"><figcaption>", f);
    pf_name(f, det, c);
    fprintf(f, " <span class=\"note\">&middot; content up to %s</span></figcaption>\n", bytes);
    weir_report_svg_flow(f, det, i, marks, mark_count);
    fprintf(f, "<table class=\"flowfig\"><tr>%s</tr>\n<tr>", pf_head);
    pf_cells(f, &st);
    fputs("</tr></table></figure>\n", f);
}

/* Connections past PF_CHARTS_MAX: their figures without charts. */
static void pf_rest(FILE *f, const weir_report_detail *det)
{
    fprintf(f,
            "<p class=\"note\">%zu more connections are not drawn; their figures:</p>\n"
            "<table>\n<tr><th>connection</th>%s</tr>\n",
            det->flow_conn_count - PF_CHARTS_MAX, pf_head);
    for (size_t i = PF_CHARTS_MAX; i < det->flow_conn_count; i++) {
        pf_stats st = pf_stats_of(det, &det->flow_conns[i]);
        fputs("<tr><td>", f);
        pf_name(f, det, &det->flow_conns[i]);
        fputs("</td>", f);
        pf_cells(f, &st);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* What the numbers on the charts stand for. */
static void pf_marks(FILE *f, const weir_report_flow_mark *marks, size_t n, bool more)
{
    fputs("<h3>Marked on the charts</h3>\n<table>\n<tr><th class=\"num\">#</th>"
          "<th class=\"num\">time</th><th>kind</th><th>what</th></tr>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const weir_report_event *e = marks[i].ev;
        fprintf(f, "<tr%s><td class=\"num\">%d</td><td class=\"num\">%.3fs",
                e->kind == WEIR_REPORT_EV_ORACLE ? " class=\"bad\"" : "", marks[i].number,
                (double)marks[i].t_ns / 1e9);
        if (marks[i].end_ns >= 0) {
            fprintf(f, " &#8211; %.3fs", (double)marks[i].end_ns / 1e9);
        }
        fputs("</td><td>", f);
        switch (e->kind) {
        case WEIR_REPORT_EV_FAULT:
            fputs("fault</td><td class=\"wrap\">", f);
            weir_report_put_esc(f, e->s[0]);
            fputs(" ", f);
            weir_report_put_esc(f, e->s[1]);
            if (marks[i].end_ns < 0) {
                fputs(" (no end recorded)", f);
            }
            if (e->s[2][0] != '\0') {
                fputs(": ", f);
                weir_report_put_esc(f, e->s[2]);
            }
            break;
        case WEIR_REPORT_EV_FLOW_ACTION:
            fputs("flow action</td><td class=\"wrap\">", f);
            weir_report_put_esc(f, e->s[0]);
            break;
        case WEIR_REPORT_EV_ORACLE:
            fputs("oracle</td><td class=\"wrap\">", f);
            weir_report_put_esc(f, e->s[0]);
            break;
        default:
            weir_report_put_esc(f, e->s[1]);
            fputs("</td><td class=\"wrap\">", f);
            weir_report_put_esc(f, e->s[0]);
            break;
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    if (more) {
        fprintf(f, "<p class=\"note\">only the first %d are drawn; events.tsv has the rest</p>\n",
                PF_MARKS_MAX);
    }
}

static void pf_problems(FILE *f, const weir_report_detail *det)
{
    fprintf(f,
            "<div class=\"problems\"><p><b><a href=\"flows.tsv\">flows.tsv</a> has %zu malformed "
            "line%s</b>, not drawn:</p>\n<ul>\n",
            det->flow_problem_count, det->flow_problem_count == 1 ? "" : "s");
    size_t shown = det->flow_problem_count < WEIR_REPORT_PROBLEMS_SHOWN
                       ? det->flow_problem_count
                       : WEIR_REPORT_PROBLEMS_SHOWN;
    for (size_t i = 0; i < shown; i++) {
        fprintf(f, "<li class=\"mono\">flows.tsv:%ld: ", det->flow_problems[i].line);
        weir_report_put_esc(f, det->flow_problems[i].text);
        fputs("</li>\n", f);
    }
    if (det->flow_problem_count > shown) {
        fprintf(f, "<li>and %zu more</li>\n", det->flow_problem_count - shown);
    }
    fputs("</ul></div>\n", f);
}

static void pf_legend(FILE *f)
{
    fputs("<div class=\"legend\">"
          "<span><i style=\"border-top:2px solid #2563eb;height:0\"></i>FlowFiles queued</span>"
          "<span><i style=\"background:#bfdbfe\"></i>held in memory</span>"
          "<span><i style=\"background:#f59e0b;opacity:.6\"></i>swapped out to disk</span>"
          "<span><i style=\"border-top:2px dashed #dc2626;height:0\"></i>object threshold "
          "(back pressure)</span>"
          "<span><i style=\"border-left:2px dashed #7c3aed;width:0\"></i>flow action</span>"
          "<span><i style=\"background:rgba(220,38,38,.12);border:1px dashed "
          "#dc2626\"></i>fault (crash, ...)</span>"
          "<span><i style=\"border-left:2px dashed #6b7280;width:0\"></i>other event</span>"
          "<span><i style=\"background:#dc2626;width:3px\"></i>oracle violation</span>"
          "</div>\n",
          f);
}

void weir_report_flows_section(FILE *f, const weir_report_detail *det)
{
    if (!det->flows_found) {
        return;
    }
    fputs("<h2 id=\"flows\">Flows</h2>\n", f);
    if (det->flow_problem_count > 0) {
        pf_problems(f, det);
    }
    if (det->flow_conn_count == 0) {
        fputs("<p class=\"note\">flows.tsv has no connection samples</p>\n", f);
        return;
    }
    size_t flows = 0;
    for (size_t i = 0; i < det->flow_conn_count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = det->flow_conns[j].flow == det->flow_conns[i].flow;
        }
        flows += !seen;
    }
    weir_report_flow_mark *marks = weir_report_xrealloc(NULL, PF_MARKS_MAX + 1, sizeof *marks);
    size_t mark_count = weir_report_flow_marks(det, marks, PF_MARKS_MAX + 1);
    bool more_marks = mark_count > PF_MARKS_MAX;
    mark_count = more_marks ? PF_MARKS_MAX : mark_count;
    fprintf(f,
            "<p class=\"sub\">%zu connection%s in %zu flow%s; one chart per connection, all on "
            "the same time scale (simulated).%s</p>\n",
            det->flow_conn_count, det->flow_conn_count == 1 ? "" : "s", flows,
            flows == 1 ? "" : "s",
            mark_count > 0 ? " Numbers above a chart refer to the list below the charts." : "");
    pf_legend(f);
    fputs("<div class=\"flows\">\n", f);
    for (size_t i = 0; i < det->flow_conn_count && i < PF_CHARTS_MAX; i++) {
        pf_figure(f, det, i, marks, mark_count);
    }
    fputs("</div>\n", f);
    if (det->flow_conn_count > PF_CHARTS_MAX) {
        pf_rest(f, det);
    }
    if (mark_count > 0) {
        pf_marks(f, marks, mark_count, more_marks);
    }
    free(marks);
}
