/* The small chart drawn for each flow connection (flows.tsv): FlowFiles
 * queued over simulated time as a step line over a filled area, the part
 * swapped out to disk shaded on top of the part held in memory, the object
 * back-pressure threshold as a dashed step line (it may change while the
 * flow runs), and the run's marks: flow actions, faults such as crashes
 * (shaded spans), oracle violations and unknown event kinds, each with a
 * small number keyed to the list under the charts.
 *
 * Every chart of a run shares the time axis of the other charts of the page,
 * so small multiples line up. Samples are reduced to one point per user unit
 * of x (keeping the column's largest queue, so peaks survive), and a line
 * breaks where samples stop (a crashed flow host writes none).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define FC_WIDTH 540
#define FC_LEFT 58.0
#define FC_RIGHT 16.0
#define FC_TOP 30.0 /* room for two rows of mark numbers */
#define FC_PLOT_H 120.0
#define FC_BELOW 36.0 /* tick labels and the axis caption */
#define FC_MARK_ROWS 2
#define FC_GAP_INTERVALS 3 /* a pause longer than this many sample intervals breaks the line */

/* The samples of one x column, reduced to the one with the largest queue. */
typedef struct fc_point {
    double x;
    int64_t t_last_ns;     /* the column's last sample, for the end of a run */
    int64_t queued, lower; /* lower: queued - swapped, the top of the in-memory part */
    int64_t threshold;
    bool gap_before; /* samples stopped between the previous point and this one */
} fc_point;

typedef struct fc_chart {
    weir_report_xscale xs;
    double y_axis;
    int64_t y_max;
    int64_t interval_ns; /* the shortest time between two samples */
} fc_chart;

static double fc_y(const fc_chart *c, int64_t v)
{
    if (v < 0) {
        v = 0;
    }
    if (v > c->y_max) {
        v = c->y_max;
    }
    return c->y_axis - (double)v / (double)c->y_max * FC_PLOT_H;
}

/* An axis label: 750, 10k, 2.5k, 1M, 1.5M. */
static void fc_compact(char *buf, size_t size, int64_t v)
{
    if (v < 1000) {
        snprintf(buf, size, "%" PRId64, v);
    } else if (v < 1000000) {
        snprintf(buf, size, v % 1000 == 0 ? "%.0fk" : "%.1fk", (double)v / 1e3);
    } else if (v < 1000000000) {
        snprintf(buf, size, v % 1000000 == 0 ? "%.0fM" : "%.1fM", (double)v / 1e6);
    } else {
        snprintf(buf, size, "%.3gG", (double)v / 1e9);
    }
}

/* Reduces n samples (n > 0) to points; returns the point count. */
static size_t fc_points(const fc_chart *c, const weir_report_flow_sample *s, size_t n,
                        fc_point *pts)
{
    size_t m = 0;
    long column = 0;
    for (size_t i = 0; i < n; i++) {
        double x = weir_report_x_of(&c->xs, s[i].t_ns);
        long col = (long)floor(x);
        bool gap = i > 0 && (s[i].t_ns - s[i - 1].t_ns) / FC_GAP_INTERVALS > c->interval_ns;
        int64_t lower = s[i].swapped < s[i].queued ? s[i].queued - s[i].swapped : 0;
        if (m > 0 && col == column && !gap) {
            fc_point *p = &pts[m - 1];
            if (s[i].queued > p->queued) {
                p->queued = s[i].queued;
                p->lower = lower;
            }
            p->threshold = s[i].threshold;
            p->t_last_ns = s[i].t_ns;
            continue;
        }
        pts[m++] = (fc_point){x, s[i].t_ns, s[i].queued, lower, s[i].threshold, gap};
        column = col;
    }
    return m;
}

/* End of run [a, b): its last sample holds for one interval. */
static double fc_run_end(const fc_chart *c, const fc_point *pts, size_t b)
{
    int64_t t = pts[b - 1].t_last_ns;
    t = c->interval_ns > INT64_MAX - t ? INT64_MAX : t + c->interval_ns;
    double x = weir_report_x_of(&c->xs, t);
    return x - pts[b - 1].x < 1 ? pts[b - 1].x + 1 : x;
}

/* The upper edge of run [a, b) as H/V moves after "M x_a y(queued_a)". */
static void fc_upper_edge(FILE *f, const fc_chart *c, const fc_point *pts, size_t a, size_t b,
                          bool every_point)
{
    for (size_t i = a + 1; i < b; i++) {
        if (!every_point && pts[i].queued == pts[i - 1].queued) {
            continue;
        }
        fprintf(f, "H%.1fV%.1f", pts[i].x, fc_y(c, pts[i].queued));
    }
    fprintf(f, "H%.1f", fc_run_end(c, pts, b));
}

/* The queue: the area under it (in memory), the swapped band and the line. */
static void fc_queue(FILE *f, const fc_chart *c, const fc_point *pts, size_t m, const char *title)
{
    bool any_swapped = false;
    for (size_t i = 0; i < m; i++) {
        any_swapped = any_swapped || pts[i].lower < pts[i].queued;
    }
    for (int layer = 0; layer < 3; layer++) {
        if (layer == 1 && !any_swapped) {
            continue;
        }
        if (layer == 0) {
            fputs("<path class=\"resident\" fill=\"#bfdbfe\" fill-opacity=\"0.75\" d=\"", f);
        } else if (layer == 1) {
            fputs("<path class=\"swapped\" fill=\"#f59e0b\" fill-opacity=\"0.6\" d=\"", f);
        } else {
            fputs("<path class=\"queued\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.6\" "
                  "d=\"",
                  f);
        }
        for (size_t a = 0; a < m;) {
            size_t b = a + 1;
            bool swapped = pts[a].lower < pts[a].queued;
            while (b < m && !pts[b].gap_before) {
                swapped = swapped || pts[b].lower < pts[b].queued;
                b++;
            }
            if (layer == 0) {
                fprintf(f, "M%.1f %.1fV%.1f", pts[a].x, c->y_axis, fc_y(c, pts[a].queued));
                fc_upper_edge(f, c, pts, a, b, false);
                fprintf(f, "V%.1fZ", c->y_axis);
            } else if (layer == 1 && swapped) {
                fprintf(f, "M%.1f %.1f", pts[a].x, fc_y(c, pts[a].queued));
                fc_upper_edge(f, c, pts, a, b, true);
                fprintf(f, "V%.1f", fc_y(c, pts[b - 1].lower));
                for (size_t i = b - 1; i > a; i--) {
                    fprintf(f, "H%.1fV%.1f", pts[i].x, fc_y(c, pts[i - 1].lower));
                }
                fprintf(f, "H%.1fZ", pts[a].x);
            } else if (layer == 2) {
                fprintf(f, "M%.1f %.1f", pts[a].x, fc_y(c, pts[a].queued));
                fc_upper_edge(f, c, pts, a, b, false);
            }
            a = b;
        }
        fputs("\"><title>", f);
        weir_report_put_esc(f, title);
        fprintf(f, ": %s</title></path>\n",
                layer == 0   ? "FlowFiles held in memory"
                : layer == 1 ? "FlowFiles swapped out to disk"
                             : "FlowFiles queued");
    }
}

/* The object threshold as a dashed step line, broken where it is 0 (none)
 * or samples stop, with its value written where it starts. */
static void fc_threshold(FILE *f, const fc_chart *c, const fc_point *pts, size_t m)
{
    int64_t first = 0;
    double first_x = 0;
    for (size_t i = 0; i < m && first == 0; i++) {
        first = pts[i].threshold;
        first_x = pts[i].x;
    }
    if (first <= 0) {
        return; /* no threshold at all */
    }
    fputs("<path class=\"threshold\" fill=\"none\" stroke=\"#dc2626\" stroke-width=\"1.3\" "
          "stroke-dasharray=\"6 3\" d=\"",
          f);
    bool open = false;
    for (size_t i = 0; i < m; i++) {
        if (pts[i].threshold <= 0) {
            open = false;
            continue;
        }
        if (!open || pts[i].gap_before) {
            fprintf(f, "M%.1f %.1f", pts[i].x, fc_y(c, pts[i].threshold));
            open = true;
        } else if (pts[i].threshold != pts[i - 1].threshold) {
            fprintf(f, "H%.1fV%.1f", pts[i].x, fc_y(c, pts[i].threshold));
        }
        bool next_joins = i + 1 < m && !pts[i + 1].gap_before;
        if (!next_joins || pts[i + 1].threshold <= 0) {
            fprintf(f, "H%.1f", next_joins ? pts[i + 1].x : fc_run_end(c, pts, i + 1));
            open = false;
        }
    }
    fputs("\"><title>object back-pressure threshold</title></path>\n", f);
    char v[32];
    weir_report_fmt_count(v, sizeof v, first);
    double y = fc_y(c, first);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"thlabel\">threshold %s</text>\n", first_x + 3,
            y < FC_TOP + 12 ? y + 11 : y - 3, v);
}

/* The largest queue seen (the engine's running maximum sees between
 * samples, so it may stand above the line), where it was first seen. */
static void fc_peak(FILE *f, const fc_chart *c, int64_t peak, int64_t t_ns)
{
    if (peak <= 0) {
        return;
    }
    char v[32];
    weir_report_fmt_count(v, sizeof v, peak);
    double x = weir_report_x_of(&c->xs, t_ns), y = fc_y(c, peak);
    bool right = x + 60 < c->xs.x0 + c->xs.width;
    fprintf(f,
            "<g class=\"peak\"><title>peak: %s FlowFiles queued, first seen at %.3fs</title>"
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1e3a8a\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"pklabel\">peak %s</text>"
            "</g>\n",
            v, (double)t_ns / 1e9, x, y, right ? x + 5 : x - 5, y < FC_TOP + 6 ? y + 11 : y - 3,
            right ? "start" : "end", v);
}

/* The y axis: grid lines and labels at nice steps of FlowFiles. */
static void fc_y_axis(FILE *f, const fc_chart *c, int64_t step)
{
    fprintf(f, "<g class=\"yaxis\">");
    for (int64_t v = 0; v <= c->y_max; v += step) {
        char label[32];
        fc_compact(label, sizeof label, v);
        double y = fc_y(c, v);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eef0f3\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>",
                c->xs.x0, y, c->xs.x0 + c->xs.width, y, c->xs.x0 - 4, y + 3.5, label);
    }
    fprintf(f,
            "<text x=\"4\" y=\"%.1f\" class=\"tick\">FlowFiles</text></g>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n",
            FC_TOP - 12, c->xs.x0, FC_TOP, c->xs.x0, c->y_axis);
}

static const char *fc_mark_class(const weir_report_event *e)
{
    switch (e->kind) {
    case WEIR_REPORT_EV_FLOW_ACTION:
        return "action";
    case WEIR_REPORT_EV_FAULT:
        return "fault";
    case WEIR_REPORT_EV_ORACLE:
        return "oracle";
    default:
        return "other";
    }
}

static const char *fc_mark_color(const weir_report_event *e)
{
    switch (e->kind) {
    case WEIR_REPORT_EV_FLOW_ACTION:
        return "#7c3aed";
    case WEIR_REPORT_EV_FAULT:
    case WEIR_REPORT_EV_ORACLE:
        return "#dc2626";
    default:
        return "#6b7280";
    }
}

/* One mark: a span or a line across the plot, its number above in row
 * `row` (-1: no room; the tooltip still says it). */
static void fc_mark(FILE *f, const fc_chart *c, const weir_report_flow_mark *k, int row)
{
    const weir_report_event *e = k->ev;
    const char *color = fc_mark_color(e);
    double x = weir_report_x_of(&c->xs, k->t_ns);
    fprintf(f, "<g class=\"mark %s\"><title>%d at %.3fs", fc_mark_class(e), k->number,
            (double)k->t_ns / 1e9);
    if (k->end_ns >= 0) {
        fprintf(f, " to %.3fs", (double)k->end_ns / 1e9);
    }
    fputs(": ", f);
    if (e->kind == WEIR_REPORT_EV_FAULT) {
        fputs("fault ", f);
        weir_report_put_esc(f, e->s[0]);
        fputs(" on ", f);
        weir_report_put_esc(f, e->s[1]);
    } else {
        weir_report_put_esc(f, e->kind == WEIR_REPORT_EV_OTHER         ? e->s[1]
                               : e->kind == WEIR_REPORT_EV_FLOW_ACTION ? "flow action"
                                                                       : "oracle violation");
        fputs(" ", f);
        weir_report_put_esc(f, e->s[0]);
    }
    fputs("</title>", f);
    if (e->kind == WEIR_REPORT_EV_FAULT) {
        double x2 = k->end_ns < 0 ? x + 2 : weir_report_x_of(&c->xs, k->end_ns);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#dc2626\" "
                "fill-opacity=\"%s\" stroke=\"#dc2626\" stroke-opacity=\"0.5\" "
                "stroke-dasharray=\"3 3\"/>",
                x, FC_TOP, x2 - x < 2 ? 2 : x2 - x, FC_PLOT_H, k->end_ns < 0 ? "0.5" : "0.09");
    } else {
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"%s\"%s/>",
                x, FC_TOP - 4, x, c->y_axis, color, e->kind == WEIR_REPORT_EV_ORACLE ? "2" : "1.2",
                e->kind == WEIR_REPORT_EV_ORACLE ? "" : " stroke-dasharray=\"3 2\"");
    }
    if (row >= 0) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"mlabel\" "
                "style=\"fill:%s\">%d</text>",
                x, FC_TOP - 18 + 11.0 * row, color, k->number);
    }
    fputs("</g>\n", f);
}

/* Rows for the marks' numbers, in time order so that each number takes the
 * top row when it is free. */
static void fc_mark_rows(const fc_chart *c, const weir_report_flow_mark *marks, size_t n, int *rows)
{
    double row_end[FC_MARK_ROWS];
    for (int r = 0; r < FC_MARK_ROWS; r++) {
        row_end[r] = -1e9;
    }
    for (size_t i = 0; i < n; i++) {
        double x = weir_report_x_of(&c->xs, marks[i].t_ns);
        double half = (6.2 * (marks[i].number >= 100 ? 3 : marks[i].number >= 10 ? 2 : 1) + 4) / 2;
        rows[i] = -1;
        for (int r = 0; r < FC_MARK_ROWS; r++) {
            if (row_end[r] < x - half) {
                row_end[r] = x + half;
                rows[i] = r;
                break;
            }
        }
    }
}

static int64_t fc_interval(const weir_report_flow_sample *s, size_t n, int64_t t_end_ns)
{
    int64_t best = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t dt = s[i].t_ns - s[i - 1].t_ns;
        if (dt > 0 && (best == 0 || dt < best)) {
            best = dt;
        }
    }
    return best > 0 ? best : (t_end_ns / 200 > 0 ? t_end_ns / 200 : 1);
}

void weir_report_svg_flow(FILE *f, const weir_report_detail *det, size_t conn,
                          const weir_report_flow_mark *marks, size_t mark_count)
{
    const weir_report_flow_conn *fc = &det->flow_conns[conn];
    const weir_report_flow_sample *s = det->flow_samples + fc->first;
    size_t n = fc->count;
    fc_chart c;
    c.xs = (weir_report_xscale){FC_LEFT, FC_WIDTH - FC_LEFT - FC_RIGHT, det->t_end_ns};
    c.y_axis = FC_TOP + FC_PLOT_H;
    c.interval_ns = fc_interval(s, n, det->t_end_ns);
    int64_t v_max = 1, peak = -1;
    size_t peak_at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t high = s[i].queued > s[i].peak ? s[i].queued : s[i].peak;
        if (high > peak) {
            peak = high;
            peak_at = i;
        }
        int64_t v = high > s[i].threshold ? high : s[i].threshold;
        v_max = v > v_max ? v : v_max;
    }
    int64_t step = (int64_t)weir_report_nice_step((double)v_max, 4);
    step = step < 1 ? 1 : step;
    c.y_max = (v_max + step - 1) / step * step;
    double height = c.y_axis + FC_BELOW;
    size_t tl = strlen(det->names[fc->flow]) + strlen(det->names[fc->connection]) + 4;
    char *title = weir_report_xmalloc(tl);
    snprintf(title, tl, "%s / %s", det->names[fc->flow], det->names[fc->connection]);
    fprintf(f,
            "<svg class=\"chart flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" role=\"img\"><title>",
            FC_WIDTH, height, FC_WIDTH, height);
    weir_report_put_esc(f, title);
    fputs(": FlowFiles queued over simulated time</title>\n", f);
    weir_report_svg_time_axis(f, &c.xs, FC_TOP, c.y_axis);
    fc_y_axis(f, &c, step);
    int *rows = weir_report_xrealloc(NULL, mark_count, sizeof *rows);
    fc_mark_rows(&c, marks, mark_count, rows);
    for (size_t i = 0; i < mark_count; i++) { /* spans under the data */
        if (marks[i].ev->kind == WEIR_REPORT_EV_FAULT) {
            fc_mark(f, &c, &marks[i], rows[i]);
        }
    }
    fc_point *pts = weir_report_xrealloc(NULL, n, sizeof *pts);
    size_t m = fc_points(&c, s, n, pts);
    fc_queue(f, &c, pts, m, title);
    fc_threshold(f, &c, pts, m);
    fc_peak(f, &c, peak, s[peak_at].t_ns);
    for (size_t i = 0; i < mark_count; i++) { /* lines over it */
        if (marks[i].ev->kind != WEIR_REPORT_EV_FAULT) {
            fc_mark(f, &c, &marks[i], rows[i]);
        }
    }
    fputs("</svg>\n", f);
    free(rows);
    free(pts);
    free(title);
}

static int fc_cmp_mark(const void *a, const void *b)
{
    const weir_report_flow_mark *x = a, *y = b;
    if (x->t_ns != y->t_ns) {
        return x->t_ns < y->t_ns ? -1 : 1;
    }
    return x->number < y->number ? -1 : x->number > y->number;
}

size_t weir_report_flow_marks(const weir_report_detail *det, weir_report_flow_mark *marks,
                              size_t max)
{
    weir_report_fault_span *spans = weir_report_xrealloc(NULL, max, sizeof *spans);
    size_t span_count = weir_report_fault_spans(det, spans, max);
    size_t n = 0, next_span = 0;
    for (size_t i = 0; i < det->event_count && n < max; i++) {
        const weir_report_event *e = &det->events[i];
        weir_report_flow_mark k = {e->t_ns, -1, e, (int)n};
        if (e->kind == WEIR_REPORT_EV_FAULT) {
            /* Spans are in the order of the event that opened them. */
            if (next_span >= span_count || spans[next_span].ev != e) {
                continue; /* the end of a span already marked */
            }
            k.t_ns = spans[next_span].start_ns;
            k.end_ns = spans[next_span].end_ns;
            next_span++;
        } else if (e->kind != WEIR_REPORT_EV_FLOW_ACTION && e->kind != WEIR_REPORT_EV_ORACLE &&
                   e->kind != WEIR_REPORT_EV_OTHER) {
            continue;
        }
        marks[n++] = k;
    }
    free(spans);
    /* A fault whose start was not recorded begins at 0: keep time order. */
    qsort(marks, n, sizeof *marks, fc_cmp_mark);
    for (size_t i = 0; i < n; i++) {
        marks[i].number = (int)i + 1;
    }
    return n;
}
