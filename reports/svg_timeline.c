/* SVG timelines, one per partition: x is simulated time; each replica has a
 * lane with its LEO (solid) and HW (dashed) as step lines, its leadership
 * (lane highlight, epoch markers), ISR membership (a band along the lane's
 * foot: green in, red out), down periods (grey), truncations (purple
 * markers, "from→to"). Above the lanes a strip shows who leads with which
 * epoch; fault spans are shaded across the whole chart with labels; oracle
 * violations are red lines. Lines are thinned to about two points per
 * pixel column, so the size of a chart does not grow with the run's length.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define TL_LANE_H 60.0
#define TL_LANE_GAP 6.0
#define TL_STRIP_H 18.0
#define TL_LABEL_ROW_H 14.0
#define TL_LABEL_ROWS_MAX 6
#define TL_CHARTS_MAX 200
#define TL_FAULTS_MAX 2000
#define TL_CHAR_W 6.2  /* approximate width of one label character, user units */
#define TL_MARK_ROWS 3 /* label rows for markers inside a lane */

typedef struct tl_part {
    int topic;
    int32_t partition;
} tl_part;

typedef struct tl_chart {
    const weir_report_detail *det;
    weir_report_xscale xs;
    int topic;
    int32_t partition;
    int32_t brokers[WEIR_REPORT_BROKERS_MAX];
    int broker_count;
    int64_t value_max;
    double y_strip, y_lanes, y_end;
} tl_chart;

/* ---- fault spans (shared by every partition's chart) ---- */

/* Greedy label rows: a label goes in the first row where it does not overlap. */
static int tl_fault_rows(const weir_report_xscale *xs, weir_report_fault_span *spans, size_t n)
{
    double row_end[TL_LABEL_ROWS_MAX];
    int rows = 0;
    for (size_t i = 0; i < n; i++) {
        double x = weir_report_x_of(xs, spans[i].start_ns);
        double w = TL_CHAR_W * (double)(strlen(spans[i].ev->s[0]) + strlen(spans[i].ev->s[1]) + 1);
        spans[i].row = -1;
        for (int r = 0; r < TL_LABEL_ROWS_MAX; r++) {
            if (r == rows) {
                rows++;
                row_end[r] = -1e9;
            }
            if (row_end[r] < x) {
                spans[i].row = r;
                row_end[r] = x + w + 6;
                break;
            }
        }
    }
    return rows;
}

static void tl_faults_draw(FILE *f, const tl_chart *c, const weir_report_fault_span *spans,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const weir_report_fault_span *s = &spans[i];
        /* Without an end (an instant fault such as a bit flip, or one still
         * going when the run ended) the span is drawn as a mark at its start. */
        double x1 = weir_report_x_of(&c->xs, s->start_ns);
        double x2 = s->end_ns < 0 ? x1 : weir_report_x_of(&c->xs, s->end_ns);
        if (x2 - x1 < 2) {
            x2 = x1 + 2;
        }
        double y_top = s->row >= 0 ? 4 + s->row * TL_LABEL_ROW_H : c->y_strip;
        fprintf(f, "<g class=\"fault\"><title>fault ");
        weir_report_put_esc(f, s->ev->s[0]);
        fputs(" on ", f);
        weir_report_put_esc(f, s->ev->s[1]);
        fprintf(f, ": %.3fs to ", (double)s->start_ns / 1e9);
        if (s->end_ns < 0) {
            fputs("(no end recorded)", f);
        } else {
            fprintf(f, "%.3fs", (double)s->end_ns / 1e9);
        }
        if (s->ev->s[2][0] != '\0') {
            fputs(" - ", f);
            weir_report_put_esc(f, s->ev->s[2]);
        }
        fprintf(f,
                "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"#dc2626\" fill-opacity=\"%s\" stroke=\"#dc2626\" stroke-opacity=\"0.5\" "
                "stroke-dasharray=\"3 3\"/>",
                x1, y_top, x2 - x1, c->y_end - y_top, s->end_ns < 0 ? "0.5" : "0.09");
        if (s->row >= 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"flabel\">", x1 + 3,
                    4 + s->row * TL_LABEL_ROW_H + 10.5);
            weir_report_put_esc(f, s->ev->s[0]);
            fputc(' ', f);
            weir_report_put_esc(f, s->ev->s[1]);
            fputs("</text>", f);
        }
        fputs("</g>\n", f);
    }
}

/* ---- which partitions, which brokers ---- */

static bool tl_event_in(const weir_report_event *e, int topic, int32_t partition)
{
    return (e->kind == WEIR_REPORT_EV_LEADER || e->kind == WEIR_REPORT_EV_ISR ||
            e->kind == WEIR_REPORT_EV_TRUNCATE) &&
           e->topic == topic && e->partition == partition;
}

static int tl_cmp_part(const void *a, const void *b)
{
    const tl_part *x = a, *y = b;
    if (x->topic != y->topic) {
        return x->topic < y->topic ? -1 : 1;
    }
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static void tl_part_add(tl_part **parts, size_t *n, size_t *cap, int topic, int32_t partition)
{
    for (size_t i = *n; i > 0; i--) { /* recent ones first: records come grouped */
        if ((*parts)[i - 1].topic == topic && (*parts)[i - 1].partition == partition) {
            return;
        }
    }
    weir_report_reserve((void **)parts, cap, *n + 1, sizeof **parts);
    (*parts)[(*n)++] = (tl_part){topic, partition};
}

static int tl_broker_index(const tl_chart *c, int32_t broker)
{
    for (int i = 0; i < c->broker_count; i++) {
        if (c->brokers[i] == broker) {
            return i;
        }
    }
    return -1;
}

static void tl_broker_add(tl_chart *c, int32_t broker)
{
    if (broker < 0 || tl_broker_index(c, broker) >= 0 ||
        c->broker_count == WEIR_REPORT_BROKERS_MAX) {
        return;
    }
    int i = c->broker_count++;
    while (i > 0 && c->brokers[i - 1] > broker) { /* keep them sorted */
        c->brokers[i] = c->brokers[i - 1];
        i--;
    }
    c->brokers[i] = broker;
}

/* The ISR list "1,2,3" as a bit set over the chart's lanes. */
static uint64_t tl_isr_bits(const tl_chart *c, const char *list)
{
    uint64_t bits = 0;
    const char *p = list;
    for (int guard = 0; *p != '\0' && guard < 4096; guard++) {
        char *end = NULL;
        long id = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        int lane = tl_broker_index(c, (int32_t)id);
        if (lane >= 0) {
            bits |= (uint64_t)1 << lane;
        }
        p = end;
    }
    return bits;
}

static void tl_collect_brokers(tl_chart *c, const weir_report_sample *s, size_t n)
{
    const weir_report_detail *det = c->det;
    for (size_t i = 0; i < n; i++) {
        tl_broker_add(c, s[i].broker);
        c->value_max = s[i].leo > c->value_max ? s[i].leo : c->value_max;
        c->value_max = s[i].hw > c->value_max ? s[i].hw : c->value_max;
    }
    for (size_t i = 0; i < det->event_count; i++) {
        const weir_report_event *e = &det->events[i];
        if (!tl_event_in(e, c->topic, c->partition)) {
            continue;
        }
        if (e->kind == WEIR_REPORT_EV_LEADER) {
            tl_broker_add(c, e->a);
            tl_broker_add(c, e->b);
        } else if (e->kind == WEIR_REPORT_EV_TRUNCATE) {
            tl_broker_add(c, e->a);
            c->value_max = e->n1 > c->value_max ? e->n1 : c->value_max;
        } else {
            const char *p = e->s[0];
            for (int guard = 0; *p != '\0' && guard < 4096; guard++) {
                char *end = NULL;
                long id = strtol(p, &end, 10);
                if (end == p) {
                    p++;
                    continue;
                }
                tl_broker_add(c, (int32_t)id);
                p = end;
            }
        }
    }
    if (c->value_max < 1) {
        c->value_max = 1;
    }
}

/* ---- drawing one lane ---- */

static double tl_lane_y(const tl_chart *c, int lane)
{
    return c->y_lanes + lane * (TL_LANE_H + TL_LANE_GAP);
}

static double tl_value_y(const tl_chart *c, int lane, int64_t v)
{
    double base = tl_lane_y(c, lane) + TL_LANE_H - 9;
    return base - (double)v / (double)c->value_max * (TL_LANE_H - 20);
}

/* The background layers of every lane: leadership, down periods, ISR band. */
static void tl_lane_backgrounds(FILE *f, const tl_chart *c, const weir_report_sample *s, size_t n)
{
    const weir_report_detail *det = c->det;
    double x0 = c->xs.x0, w = c->xs.width;
    for (int k = 0; k < c->broker_count; k++) {
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f6f7f9\"/>\n",
                x0, tl_lane_y(c, k), w, TL_LANE_H);
    }
    /* Leadership and ISR: each event holds until the partition's next one of its kind. */
    for (int kind = 0; kind < 2; kind++) {
        weir_report_event_kind want = kind == 0 ? WEIR_REPORT_EV_LEADER : WEIR_REPORT_EV_ISR;
        const weir_report_event *prev = NULL;
        for (size_t i = 0; i <= det->event_count; i++) {
            const weir_report_event *e = i < det->event_count ? &det->events[i] : NULL;
            if (e != NULL && !(e->kind == want && tl_event_in(e, c->topic, c->partition))) {
                continue;
            }
            if (prev != NULL) {
                double xa = weir_report_x_of(&c->xs, prev->t_ns);
                double xb = weir_report_x_of(&c->xs, e != NULL ? e->t_ns : c->xs.t_end_ns);
                if (kind == 0) {
                    int lane = tl_broker_index(c, prev->b);
                    if (lane >= 0 && xb > xa) {
                        fprintf(f,
                                "<rect class=\"lead\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                "height=\"%.1f\" fill=\"#fde68a\" fill-opacity=\"0.55\"/>\n",
                                xa, tl_lane_y(c, lane), xb - xa, TL_LANE_H);
                    }
                } else {
                    uint64_t bits = tl_isr_bits(c, prev->s[0]);
                    for (int k = 0; k < c->broker_count && xb > xa; k++) {
                        bool in = (bits >> k) & 1;
                        fprintf(f,
                                "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                "height=\"5\" fill=\"%s\"><title>broker %" PRId32
                                " %s ISR</title></rect>\n",
                                in ? "isr-in" : "isr-out", xa, tl_lane_y(c, k) + TL_LANE_H - 5,
                                xb - xa, in ? "#16a34a" : "#f87171", c->brokers[k],
                                in ? "in" : "out of");
                    }
                }
            }
            prev = e;
        }
    }
    /* Down periods: from a sample reporting the replica down to the next sample up. */
    for (size_t i = 0; i < n; i++) {
        if (s[i].up) {
            continue;
        }
        size_t j = i;
        while (j + 1 < n && !s[j + 1].up && s[j + 1].broker == s[i].broker) {
            j++;
        }
        int64_t end = j + 1 < n && s[j + 1].broker == s[i].broker ? s[j + 1].t_ns : s[j].t_ns;
        int lane = tl_broker_index(c, s[i].broker);
        double xa = weir_report_x_of(&c->xs, s[i].t_ns), xb = weir_report_x_of(&c->xs, end);
        if (lane >= 0) {
            fprintf(f,
                    "<rect class=\"down\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"#9ca3af\" fill-opacity=\"0.45\"><title>broker %" PRId32
                    " down</title></rect>\n",
                    xa, tl_lane_y(c, lane), xb - xa < 1 ? 1 : xb - xa, TL_LANE_H - 5, s[i].broker);
        }
        i = j;
    }
}

typedef struct tl_pen {
    double x;     /* where the pen is */
    int64_t v;    /* the level being drawn */
    bool open;    /* inside a segment */
    bool pending; /* a vertical move not yet written */
    double pending_y;
    double seg_x0;
} tl_pen;

static void tl_pen_close(FILE *f, tl_pen *p, double x_end)
{
    if (!p->open) {
        return;
    }
    if (p->pending) {
        fprintf(f, "V%.1f", p->pending_y);
    }
    double x = x_end > p->x ? x_end : p->x;
    fprintf(f, "H%.1f", x - p->seg_x0 < 1 ? p->seg_x0 + 1 : x);
    p->open = p->pending = false;
}

/* One broker's LEO or HW as a step line; breaks where the replica is down. */
static void tl_series(FILE *f, const tl_chart *c, int lane, const weir_report_sample *s, size_t n,
                      bool hw)
{
    fprintf(f, "<path class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s d=\"",
            hw ? "hw" : "leo", hw ? "#ea580c" : "#2563eb", hw ? "1.4" : "1.8",
            hw ? " stroke-dasharray=\"5 3\"" : "");
    tl_pen p = {0, 0, false, false, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int64_t v = hw ? s[i].hw : s[i].leo;
        double x = weir_report_x_of(&c->xs, s[i].t_ns);
        if (!s[i].up || v < 0) {
            tl_pen_close(f, &p, x);
            continue;
        }
        if (!p.open) {
            fprintf(f, "M%.1f %.1f", x, tl_value_y(c, lane, v));
            p = (tl_pen){x, v, true, false, 0, x};
            continue;
        }
        if (v == p.v) {
            continue;
        }
        if (x - p.x >= 0.5) {
            if (p.pending) {
                fprintf(f, "V%.1f", p.pending_y);
            }
            fprintf(f, "H%.1f", x);
            p.x = x;
        }
        p.pending = true;
        p.pending_y = tl_value_y(c, lane, v);
        p.v = v;
    }
    tl_pen_close(f, &p, n > 0 ? weir_report_x_of(&c->xs, s[n - 1].t_ns) : 0);
    fprintf(f, "\"><title>broker %" PRId32 " %s</title></path>\n", c->brokers[lane],
            hw ? "high watermark" : "log end offset");
}

/* ---- markers ---- */

/* Label rows inside a lane, so markers close in time do not print over each
 * other: returns the first row free at x (and takes it for width w), or -1. */
static int tl_slot(double *row_end, double x, double w)
{
    for (int r = 0; r < TL_MARK_ROWS; r++) {
        if (row_end[r] < x) {
            row_end[r] = x + w;
            return r;
        }
    }
    return -1;
}

static void tl_oracle(FILE *f, const tl_chart *c, const weir_report_event *e, double x)
{
    fprintf(f, "<g class=\"oracle\"><title>oracle violation at %.3fs: ", (double)e->t_ns / 1e9);
    weir_report_put_esc(f, e->s[0]);
    fprintf(
        f,
        "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dc2626\" "
        "stroke-width=\"2\"/><path d=\"M%.1f %.1f l5 6 l-5 6 l-5 -6 z\" fill=\"#dc2626\"/></g>\n",
        x, c->y_strip, x, c->y_end, x, c->y_strip - 2);
}

static void tl_markers(FILE *f, const tl_chart *c)
{
    const weir_report_detail *det = c->det;
    /* [lane][0: top labels (epochs, fencing), 1: bottom labels (truncations)][row] */
    double ends[WEIR_REPORT_BROKERS_MAX][2][TL_MARK_ROWS];
    for (int k = 0; k < WEIR_REPORT_BROKERS_MAX; k++) {
        for (int r = 0; r < TL_MARK_ROWS; r++) {
            ends[k][0][r] = ends[k][1][r] = -1e9;
        }
    }
    for (size_t i = 0; i < det->event_count; i++) {
        const weir_report_event *e = &det->events[i];
        double x = weir_report_x_of(&c->xs, e->t_ns);
        if (e->kind == WEIR_REPORT_EV_ORACLE) {
            tl_oracle(f, c, e, x);
            continue;
        }
        int lane = -1;
        if (e->kind == WEIR_REPORT_EV_FENCED || tl_event_in(e, c->topic, c->partition)) {
            lane = tl_broker_index(c, e->kind == WEIR_REPORT_EV_LEADER ? e->b : e->a);
        }
        if (lane < 0) {
            continue;
        }
        double y = tl_lane_y(c, lane);
        char label[64];
        if (e->kind == WEIR_REPORT_EV_LEADER) {
            snprintf(label, sizeof label, "e%" PRId64, e->n1);
        } else if (e->kind == WEIR_REPORT_EV_TRUNCATE) {
            snprintf(label, sizeof label, "%" PRId64 "&#8594;%" PRId64, e->n1, e->n2);
        } else if (e->kind == WEIR_REPORT_EV_FENCED) {
            snprintf(label, sizeof label, "fenced");
        } else {
            continue;
        }
        bool bottom = e->kind == WEIR_REPORT_EV_TRUNCATE;
        double w = 10 + TL_CHAR_W * (double)(bottom ? strlen(label) - 6 : strlen(label));
        int row = tl_slot(ends[lane][bottom], x, w);
        double ym = bottom ? y + TL_LANE_H - 14 - (row < 0 ? 0 : row) * 11.0
                           : y + 9 + (row < 0 ? 0 : row) * 11.0;
        if (e->kind == WEIR_REPORT_EV_LEADER) {
            fprintf(f,
                    "<g class=\"epoch\"><title>broker %" PRId32 " leads from %.3fs, epoch %" PRId64
                    "%s</title><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#b45309\"/>",
                    e->b, (double)e->t_ns / 1e9, e->n1, e->flag ? " (unclean election)" : "", x,
                    ym);
        } else if (bottom) {
            fprintf(f,
                    "<g class=\"trunc\"><title>broker %" PRId32 " truncated from %" PRId64
                    " to %" PRId64 " at %.3fs (",
                    e->a, e->n1, e->n2, (double)e->t_ns / 1e9);
            weir_report_put_esc(f, e->s[0]);
            fprintf(f, ")</title><path d=\"M%.1f %.1f l-5 -8 h10 z\" fill=\"#7c3aed\"/>", x,
                    ym + 1);
        } else {
            fprintf(f,
                    "<g class=\"fenced\"><title>broker %" PRId32 " fenced at %.3fs</title>"
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"#111827\"/>",
                    e->a, (double)e->t_ns / 1e9, x - 3.5, ym - 3.5);
        }
        if (row >= 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\">%s</text>", x + 6, ym + 4,
                    bottom ? "tlabel" : "elabel", label);
        }
        fputs("</g>\n", f);
    }
}

/* The strip above the lanes: who leads, with which epoch. */
static void tl_leader_strip(FILE *f, const tl_chart *c)
{
    const weir_report_detail *det = c->det;
    fprintf(f, "<text x=\"8\" y=\"%.1f\" class=\"lane\">leader</text>\n", c->y_strip + 13);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f6f7f9\"/>\n",
            c->xs.x0, c->y_strip, c->xs.width, TL_STRIP_H);
    const weir_report_event *prev = NULL;
    for (size_t i = 0; i <= det->event_count; i++) {
        const weir_report_event *e = i < det->event_count ? &det->events[i] : NULL;
        if (e != NULL &&
            !(e->kind == WEIR_REPORT_EV_LEADER && tl_event_in(e, c->topic, c->partition))) {
            continue;
        }
        if (prev != NULL) {
            double xa = weir_report_x_of(&c->xs, prev->t_ns);
            double xb = weir_report_x_of(&c->xs, e != NULL ? e->t_ns : c->xs.t_end_ns);
            bool offline = prev->b < 0;
            fprintf(f, "<g class=\"leader\"><title>");
            if (offline) {
                fprintf(f, "offline (no leader) from %.3fs", (double)prev->t_ns / 1e9);
            } else {
                fprintf(f, "broker %" PRId32 " leads, epoch %" PRId64 "%s, from %.3fs", prev->b,
                        prev->n1, prev->flag ? " (unclean)" : "", (double)prev->t_ns / 1e9);
            }
            fprintf(f,
                    "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"%s\" stroke=\"#fff\"/>",
                    xa, c->y_strip, xb - xa < 1 ? 1 : xb - xa, TL_STRIP_H,
                    offline      ? "#fca5a5"
                    : prev->flag ? "#fb923c"
                                 : "#fcd34d");
            if (xb - xa > 46) {
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"slabel\">", xa + 4,
                        c->y_strip + 13);
                if (offline) {
                    fputs("offline", f);
                } else {
                    fprintf(f, "b%" PRId32 " e%" PRId64 "%s", prev->b, prev->n1,
                            prev->flag ? " unclean" : "");
                }
                fputs("</text>", f);
            }
            fputs("</g>\n", f);
        }
        prev = e;
    }
}

static void tl_chart_draw(FILE *f, tl_chart *c, const weir_report_sample *s, size_t n,
                          weir_report_fault_span *faults, size_t fault_count)
{
    int rows = tl_fault_rows(&c->xs, faults, fault_count);
    c->y_strip = 4 + rows * TL_LABEL_ROW_H + 4;
    c->y_lanes = c->y_strip + TL_STRIP_H + 6;
    c->y_end = tl_lane_y(c, c->broker_count) - TL_LANE_GAP;
    double height = c->y_end + 40;
    fprintf(f,
            "<svg class=\"chart timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" role=\"img\"><title>",
            WEIR_REPORT_SVG_WIDTH, height, WEIR_REPORT_SVG_WIDTH, height);
    weir_report_put_esc(f, c->det->names[c->topic]);
    fprintf(f, "/%" PRId32 ": replicas over simulated time</title>\n", c->partition);
    weir_report_svg_time_axis(f, &c->xs, c->y_strip, c->y_end + 2);
    tl_lane_backgrounds(f, c, s, n);
    tl_leader_strip(f, c);
    tl_faults_draw(f, c, faults, fault_count);
    for (int k = 0; k < c->broker_count; k++) {
        size_t a = 0;
        while (a < n && s[a].broker != c->brokers[k]) {
            a++;
        }
        size_t b = a;
        while (b < n && s[b].broker == c->brokers[k]) {
            b++;
        }
        double y = tl_lane_y(c, k);
        fprintf(f,
                "<text x=\"8\" y=\"%.1f\" class=\"lane\">broker %" PRId32 "</text>"
                "<text x=\"8\" y=\"%.1f\" class=\"tick\">0..%" PRId64 "</text>\n",
                y + 20, c->brokers[k], y + 34, c->value_max);
        if (b > a) {
            tl_series(f, c, k, s + a, b - a, false);
            tl_series(f, c, k, s + a, b - a, true);
        } else {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">no samples</text>\n",
                    c->xs.x0 + 6, y + 34);
        }
    }
    tl_markers(f, c);
    fputs("</svg>\n", f);
}

int weir_report_svg_timelines(FILE *f, const weir_report_detail *det)
{
    tl_part *parts = NULL;
    size_t part_count = 0, part_cap = 0;
    for (size_t i = 0; i < det->sample_count; i++) {
        tl_part_add(&parts, &part_count, &part_cap, det->samples[i].topic,
                    det->samples[i].partition);
    }
    for (size_t i = 0; i < det->event_count; i++) {
        const weir_report_event *e = &det->events[i];
        if (e->topic >= 0) {
            tl_part_add(&parts, &part_count, &part_cap, e->topic, e->partition);
        }
    }
    if (part_count > 1) {
        qsort(parts, part_count, sizeof *parts, tl_cmp_part);
    }
    weir_report_fault_span *faults = weir_report_xrealloc(NULL, TL_FAULTS_MAX, sizeof *faults);
    int charts = 0;
    size_t from = 0; /* samples are sorted by topic, partition: walk them once */
    for (size_t p = 0; p < part_count && charts < TL_CHARTS_MAX; p++) {
        tl_chart c;
        memset(&c, 0, sizeof c);
        c.det = det;
        c.topic = parts[p].topic;
        c.partition = parts[p].partition;
        c.xs = (weir_report_xscale){
            WEIR_REPORT_SVG_LEFT,
            WEIR_REPORT_SVG_WIDTH - WEIR_REPORT_SVG_LEFT - WEIR_REPORT_SVG_RIGHT, det->t_end_ns};
        while (from < det->sample_count && (det->samples[from].topic < c.topic ||
                                            (det->samples[from].topic == c.topic &&
                                             det->samples[from].partition < c.partition))) {
            from++;
        }
        size_t to = from;
        while (to < det->sample_count && det->samples[to].topic == c.topic &&
               det->samples[to].partition == c.partition) {
            to++;
        }
        tl_collect_brokers(&c, det->samples + from, to - from);
        size_t fault_count = weir_report_fault_spans(det, faults, TL_FAULTS_MAX);
        fprintf(f, "<h3>");
        weir_report_put_esc(f, det->names[c.topic]);
        fprintf(f, " / partition %" PRId32 "</h3>\n<div class=\"scroll\">", c.partition);
        tl_chart_draw(f, &c, det->samples + from, to - from, faults, fault_count);
        fputs("</div>\n", f);
        charts++;
        from = to;
    }
    if (part_count > (size_t)charts) {
        fprintf(f, "<p class=\"note\">%zu more partitions not drawn.</p>\n",
                part_count - (size_t)charts);
    }
    free(faults);
    free(parts);
    return charts;
}
