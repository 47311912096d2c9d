/* The time axis shared by the time-based SVG charts (timelines, queue
 * depths): a linear scale from simulated nanoseconds to user units, ticks at
 * 1/2/5 x 10^k seconds, and a categorical palette.
 */
#include <math.h>
#include <stdio.h>

#include "report.h"

#define AXIS_TICKS_MAX 12

double weir_report_x_of(const weir_report_xscale *s, int64_t t_ns)
{
    double frac = (double)t_ns / (double)s->t_end_ns;
    if (frac < 0) {
        frac = 0;
    }
    if (frac > 1) {
        frac = 1;
    }
    return s->x0 + frac * s->width;
}

double weir_report_nice_step(double span, int ticks_max)
{
    if (!(span > 0) || ticks_max < 1) {
        return 1;
    }
    double raw = span / ticks_max;
    double mag = pow(10, floor(log10(raw)));
    static const double mults[] = {1, 2, 5, 10};
    for (size_t i = 0; i < sizeof mults / sizeof mults[0]; i++) {
        if (mag * mults[i] >= raw) {
            return mag * mults[i];
        }
    }
    return mag * 10;
}

/* Tick label: whole seconds plain, otherwise as few decimals as the step needs. */
static void axis_label(char *buf, size_t size, double t_s, double step_s)
{
    int decimals = 0;
    for (double s = step_s; decimals < 9 && s < 0.999999; s *= 10) {
        decimals++;
    }
    snprintf(buf, size, "%.*fs", decimals, t_s);
}

void weir_report_svg_time_axis(FILE *f, const weir_report_xscale *s, double y_top, double y_axis)
{
    double span_s = (double)s->t_end_ns / 1e9;
    double step_s = weir_report_nice_step(span_s, AXIS_TICKS_MAX);
    fprintf(f, "<g class=\"axis\">\n");
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n", s->x0,
            y_axis, s->x0 + s->width, y_axis);
    for (int i = 0; i <= AXIS_TICKS_MAX * 2 + 1; i++) {
        double t_s = step_s * i;
        if (t_s > span_s * (1 + 1e-9)) {
            break;
        }
        double x = weir_report_x_of(s, (int64_t)llround(t_s * 1e9));
        char label[32];
        axis_label(label, sizeof label, t_s, step_s);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6ea\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>\n",
                x, y_top, x, y_axis, x, y_axis, x, y_axis + 4, x, y_axis + 16, label);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">simulated "
            "time</text>\n",
            s->x0 + s->width, y_axis + 30);
    fprintf(f, "</g>\n");
}

const char *weir_report_color(size_t i)
{
    static const char *const palette[] = {"#2563eb", "#dc2626", "#059669", "#d97706",
                                          "#7c3aed", "#db2777", "#0891b2", "#65a30d"};
    return palette[i % (sizeof palette / sizeof palette[0])];
}
