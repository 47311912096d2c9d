/* Produce acknowledgement latency histograms: one SVG bar chart per producer
 * with power-of-two buckets on a log2 axis (one slot per doubling, empty
 * slots kept so gaps show), bar heights linear in the count, and the
 * approximate median, p99 and maximum (bucket upper bounds) in the caption.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define HIST_SLOTS_MAX 62 /* slot k holds [2^k, 2^(k+1)); the last one everything above */
#define HIST_HEIGHT 220.0
#define HIST_TOP 24.0
#define HIST_PLOT_H 150.0
#define HIST_LEFT 60.0
#define HIST_SLOT_W_MAX 36.0
#define HIST_WIDTH_MAX 900.0

/* log2 slot of a bucket's lower bound: 0 for [0,1], k for [2^k, ...). */
static int hist_slot(int64_t lo_us)
{
    int k = 0;
    while (k < HIST_SLOTS_MAX - 1 && ((int64_t)1 << (k + 1)) <= lo_us) {
        k++;
    }
    return k;
}

static void hist_fmt_us(char *buf, size_t size, int64_t us)
{
    if (us >= 1000000 && us % 1000000 == 0) {
        snprintf(buf, size, "%" PRId64 "s", us / 1000000);
    } else if (us >= 1000000) {
        snprintf(buf, size, "%.1fs", (double)us / 1e6);
    } else if (us >= 1000 && us % 1000 == 0) {
        snprintf(buf, size, "%" PRId64 "ms", us / 1000);
    } else if (us >= 1000) {
        snprintf(buf, size, "%.1fms", (double)us / 1e3);
    } else {
        snprintf(buf, size, "%" PRId64 "us", us);
    }
}

typedef struct hist_slot_sum {
    int64_t count;
    int64_t lo_us, hi_us; /* the widest range seen for the slot */
    bool used;
} hist_slot_sum;

/* Upper bound of the bucket holding the q-quantile. */
static int64_t hist_quantile(const hist_slot_sum *slots, int lo, int hi, int64_t total, double q)
{
    double want = ceil(q * (double)total);
    int64_t seen = 0;
    for (int k = lo; k <= hi; k++) {
        seen = slots[k].count > INT64_MAX - seen ? INT64_MAX : seen + slots[k].count;
        if ((double)seen >= want && slots[k].count > 0) {
            return slots[k].hi_us;
        }
    }
    return slots[hi].hi_us;
}

static void hist_chart(FILE *f, const weir_report_detail *det, int producer)
{
    hist_slot_sum slots[HIST_SLOTS_MAX];
    memset(slots, 0, sizeof slots);
    int lo = HIST_SLOTS_MAX, hi = -1;
    int64_t total = 0, top = 0;
    for (size_t i = 0; i < det->bucket_count; i++) {
        const weir_report_bucket *b = &det->buckets[i];
        if (b->producer != producer) {
            continue;
        }
        int k = hist_slot(b->lo_us);
        if (!slots[k].used) {
            slots[k].used = true;
            slots[k].lo_us = b->lo_us;
        }
        slots[k].lo_us = b->lo_us < slots[k].lo_us ? b->lo_us : slots[k].lo_us;
        slots[k].hi_us = b->hi_us > slots[k].hi_us ? b->hi_us : slots[k].hi_us;
        slots[k].count =
            b->count > INT64_MAX - slots[k].count ? INT64_MAX : slots[k].count + b->count;
        total = b->count > INT64_MAX - total ? INT64_MAX : total + b->count;
        lo = k < lo ? k : lo;
        hi = k > hi ? k : hi;
    }
    for (int k = lo; k <= hi; k++) {
        top = slots[k].count > top ? slots[k].count : top;
    }
    fputs("<figure class=\"hist\"><figcaption>", f);
    weir_report_put_esc(f, det->names[producer]);
    if (hi < 0 || total == 0) {
        fputs(": no acknowledgements</figcaption></figure>\n", f);
        return;
    }
    char p50[24], p99[24], pmax[24];
    hist_fmt_us(p50, sizeof p50, hist_quantile(slots, lo, hi, total, 0.50));
    hist_fmt_us(p99, sizeof p99, hist_quantile(slots, lo, hi, total, 0.99));
    hist_fmt_us(pmax, sizeof pmax, slots[hi].hi_us);
    fprintf(f,
            ": %" PRId64 " acknowledgements, median &#8804; %s, p99 &#8804; %s, max &#8804; %s"
            "</figcaption>\n",
            total, p50, p99, pmax);
    int n = hi - lo + 1;
    double slot_w = HIST_WIDTH_MAX / n < HIST_SLOT_W_MAX ? HIST_WIDTH_MAX / n : HIST_SLOT_W_MAX;
    double width = HIST_LEFT + n * slot_w + 20;
    width = width < 300 ? 300 : width; /* room for the axis caption */
    double base = HIST_TOP + HIST_PLOT_H;
    fprintf(f,
            "<svg class=\"chart histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>produce latency of ",
            width, HIST_HEIGHT, width, HIST_HEIGHT);
    weir_report_put_esc(f, det->names[producer]);
    fputs("</title>\n", f);
    /* y axis: count, three gridlines */
    for (int g = 0; g <= 2; g++) {
        double y = base - HIST_PLOT_H * g / 2.0;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%" PRId64
                "</text>\n",
                HIST_LEFT, y, HIST_LEFT + n * slot_w, y, g == 0 ? "#555" : "#e3e6ea", HIST_LEFT - 4,
                y + 4, g == 2 ? top : top / 2 * g);
    }
    int label_every = n > 24 ? 4 : n > 12 ? 2 : 1;
    for (int k = lo; k <= hi; k++) {
        double x = HIST_LEFT + (k - lo) * slot_w;
        char from[24], to[24];
        hist_fmt_us(from, sizeof from, k == 0 ? 0 : (int64_t)1 << k);
        hist_fmt_us(to, sizeof to,
                    slots[k].count > 0 ? slots[k].hi_us : ((int64_t)1 << (k + 1)) - 1);
        if (slots[k].count > 0) {
            double h = HIST_PLOT_H * (double)slots[k].count / (double)top;
            h = h < 1 ? 1 : h;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>%s..%s: %" PRId64 "</title></rect>\n",
                    x + 1, base - h, slot_w - 2, h, weir_report_color((size_t)producer), from, to,
                    slots[k].count);
        }
        if ((k - lo) % label_every == 0) {
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\" "
                    "transform=\"rotate(-45 %.1f %.1f)\">%s</text>\n",
                    x + slot_w / 2, base + 12, x + slot_w / 2, base + 12, from);
        }
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">latency "
            "(bucket lower bound, log2)</text>\n",
            width - 20, HIST_HEIGHT - 4);
    fputs("</svg></figure>\n", f);
}

int weir_report_svg_histograms(FILE *f, const weir_report_detail *det)
{
    int charts = 0;
    bool *seen = calloc(det->name_count + 1, sizeof *seen);
    if (seen == NULL) {
        fputs("weir report: out of memory\n", stderr);
        exit(1);
    }
    for (size_t i = 0; i < det->bucket_count; i++) { /* producers in file order */
        int p = det->buckets[i].producer;
        if (!seen[p]) {
            seen[p] = true;
            hist_chart(f, det, p);
            charts++;
        }
    }
    free(seen);
    return charts;
}
