/* Queue depths over simulated time (queues.tsv, written by the flow engine):
 * one SVG with a step line per queue on the shared time axis, thinned to
 * about one vertex per half pixel column, and a legend.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "report.h"

#define Q_TOP 12.0
#define Q_PLOT_H 160.0
#define Q_LEGEND_ROW_H 16.0
#define Q_LEGEND_MAX 32

static double q_y(int64_t depth, int64_t depth_max)
{
    return Q_TOP + Q_PLOT_H - (double)depth / (double)depth_max * Q_PLOT_H;
}

/* One queue's n samples (n > 0, in time order) as a step line. */
static void q_series(FILE *f, const weir_report_xscale *xs, const weir_report_depth *d, size_t n,
                     int64_t depth_max, size_t color, const char *name)
{
    fprintf(f, "<path class=\"queue\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" d=\"",
            weir_report_color(color));
    double pen_x = weir_report_x_of(xs, d[0].t_ns), x_first = pen_x;
    int64_t level = d[0].depth;
    fprintf(f, "M%.1f %.1f", pen_x, q_y(level, depth_max));
    bool pending = false; /* a vertical move in the current pixel column, not yet written */
    double pending_y = 0;
    for (size_t i = 1; i < n; i++) {
        if (d[i].depth == level) {
            continue;
        }
        double x = weir_report_x_of(xs, d[i].t_ns);
        if (x - pen_x >= 0.5) {
            if (pending) {
                fprintf(f, "V%.1f", pending_y);
            }
            fprintf(f, "H%.1f", x);
            pen_x = x;
        }
        pending = true;
        pending_y = q_y(d[i].depth, depth_max);
        level = d[i].depth;
    }
    if (pending) {
        fprintf(f, "V%.1f", pending_y);
    }
    double x_end = weir_report_x_of(xs, d[n - 1].t_ns);
    fprintf(f, "H%.1f\"><title>", x_end - x_first < 1 ? x_first + 1 : x_end);
    weir_report_put_esc(f, name);
    fputs(" depth</title></path>\n", f);
}

int weir_report_svg_queues(FILE *f, const weir_report_detail *det)
{
    if (det->depth_count == 0) {
        return 0;
    }
    int64_t depth_max = 1;
    size_t queues = 0;
    for (size_t i = 0; i < det->depth_count; i++) {
        depth_max = det->depths[i].depth > depth_max ? det->depths[i].depth : depth_max;
        queues += i == 0 || det->depths[i].queue != det->depths[i - 1].queue;
    }
    size_t legend_rows = (queues < Q_LEGEND_MAX ? queues : Q_LEGEND_MAX + 1);
    double y_axis = Q_TOP + Q_PLOT_H;
    double height = y_axis + 40 + legend_rows * Q_LEGEND_ROW_H;
    weir_report_xscale xs = {WEIR_REPORT_SVG_LEFT,
                             WEIR_REPORT_SVG_WIDTH - WEIR_REPORT_SVG_LEFT - WEIR_REPORT_SVG_RIGHT,
                             det->t_end_ns};
    fprintf(
        f,
        "<div class=\"scroll\"><svg class=\"chart queues\" xmlns=\"http://www.w3.org/2000/svg\" "
        "width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" role=\"img\">"
        "<title>queue depths over simulated time</title>\n",
        WEIR_REPORT_SVG_WIDTH, height, WEIR_REPORT_SVG_WIDTH, height);
    weir_report_svg_time_axis(f, &xs, Q_TOP, y_axis);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%" PRId64 "</text>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">0</text>\n",
            xs.x0 - 4, Q_TOP + 4, depth_max, xs.x0 - 4, y_axis);
    size_t q = 0;
    for (size_t a = 0; a < det->depth_count; q++) {
        size_t b = a + 1;
        while (b < det->depth_count && det->depths[b].queue == det->depths[a].queue) {
            b++;
        }
        const char *name = det->names[det->depths[a].queue];
        q_series(f, &xs, det->depths + a, b - a, depth_max, q, name);
        if (q < Q_LEGEND_MAX) {
            double y = y_axis + 40 + q * Q_LEGEND_ROW_H;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">",
                    xs.x0, y - 6, weir_report_color(q), xs.x0 + 20, y);
            weir_report_put_esc(f, name);
            fputs("</text>\n", f);
        }
        a = b;
    }
    if (q > Q_LEGEND_MAX) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">and %zu more queues</text>\n", xs.x0,
                y_axis + 40 + Q_LEGEND_MAX * Q_LEGEND_ROW_H, q - Q_LEGEND_MAX);
    }
    fputs("</svg></div>\n", f);
    return 1;
}
