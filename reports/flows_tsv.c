/* flows.tsv: the queues of a run's flow connections over simulated time,
 * written by the scenario runner every 100 ms for scenarios that run flows.
 * A header line names the columns, then one row per connection per sample:
 *
 *   t_ms flow connection queued resident swapped bytes object_threshold peak_queued
 *
 * Columns are found by the header's names, so more may be added; a file with
 * no header is read in this order. Every malformed line is skipped, warned
 * about on stderr, and kept (up to WEIR_REPORT_PROBLEMS_SHOWN) so the page
 * can say which line of the file is wrong. Samples come out grouped by
 * connection, in time order (stable for equal times).
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

enum {
    FL_T_MS,
    FL_FLOW,
    FL_CONNECTION,
    FL_QUEUED,
    FL_RESIDENT,
    FL_SWAPPED,
    FL_BYTES,
    FL_THRESHOLD,
    FL_PEAK,
    FL_COLUMNS
};

static const char *const fl_column_names[FL_COLUMNS] = {
    "t_ms",    "flow",  "connection",       "queued",     "resident",
    "swapped", "bytes", "object_threshold", "peak_queued"};

#define FL_FIELDS_MAX 64                  /* columns of one line */
#define FL_T_MS_MAX (INT64_MAX / 1000000) /* t_ms that still fits in nanoseconds */
/* Counts up to 2^53 (a double holds them exactly), so chart arithmetic
 * cannot overflow. */
#define FL_COUNT_MAX (INT64_C(1) << 53)

typedef struct fl_reader {
    weir_report_detail *det;
    weir_report_lines in;
    int column[FL_COLUMNS]; /* field index of each column */
    size_t field_count;     /* fields every row has (the header's count) */
    bool started;           /* the first line (header or row) was seen */
    bool unusable;          /* the header cannot be read, so no row can be */
    bool full;              /* the sample limit was reached */
    size_t last_conn;       /* where the connection lookup starts */
} fl_reader;

/* Keeps a warning of the file (from any line, including the ones tsv.c
 * skips for their length) for the page. */
static void fl_keep_problem(void *arg, long line, const char *message)
{
    weir_report_detail *det = arg;
    if (det->flow_problems == NULL) {
        det->flow_problems =
            weir_report_xrealloc(NULL, WEIR_REPORT_PROBLEMS_SHOWN, sizeof *det->flow_problems);
    }
    if (det->flow_problem_count < WEIR_REPORT_PROBLEMS_SHOWN) {
        det->flow_problems[det->flow_problem_count] =
            (weir_report_problem){line, weir_report_xstrdup(message)};
    }
    det->flow_problem_count++;
}

static bool fl_is_number(const char *s)
{
    int64_t v;
    return weir_report_parse_i64(s, &v) == 0;
}

/* The header: every column of fl_column_names must be there, once. */
static void fl_header(fl_reader *r, char **f, size_t n)
{
    r->field_count = n;
    for (int c = 0; c < FL_COLUMNS; c++) {
        r->column[c] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < FL_COLUMNS; c++) {
            if (strcmp(f[i], fl_column_names[c]) != 0) {
                continue;
            }
            if (r->column[c] >= 0) {
                weir_report_lines_warn(&r->in, "header names column '%s' twice; file not read",
                                       fl_column_names[c]);
                r->unusable = true;
                return;
            }
            r->column[c] = (int)i;
        }
    }
    for (int c = 0; c < FL_COLUMNS; c++) {
        if (r->column[c] < 0) {
            weir_report_lines_warn(&r->in,
                                   "header has no column '%s' (expected t_ms flow connection "
                                   "queued resident swapped bytes object_threshold "
                                   "peak_queued); file not read",
                                   fl_column_names[c]);
            r->unusable = true;
            return;
        }
    }
}

/* The connection (flow, name), added if new; -1 past WEIR_REPORT_FLOW_CONNS_MAX. */
static int fl_conn(fl_reader *r, const char *flow, const char *name)
{
    weir_report_detail *det = r->det;
    /* Rows usually cycle through the connections in one order: try the next
     * one after the last match first. */
    for (size_t k = 0; k < det->flow_conn_count; k++) {
        size_t i = (r->last_conn + k) % det->flow_conn_count;
        const weir_report_flow_conn *c = &det->flow_conns[i];
        if (strcmp(det->names[c->connection], name) == 0 &&
            strcmp(det->names[c->flow], flow) == 0) {
            r->last_conn = i + 1;
            return (int)i;
        }
    }
    if (det->flow_conn_count >= WEIR_REPORT_FLOW_CONNS_MAX) {
        return -1;
    }
    int flow_id = weir_report_detail_intern(det, flow);
    int name_id = weir_report_detail_intern(det, name);
    if (flow_id < 0 || name_id < 0) {
        return -1;
    }
    weir_report_reserve((void **)&det->flow_conns, &det->flow_conns_cap, det->flow_conn_count + 1,
                        sizeof *det->flow_conns);
    det->flow_conns[det->flow_conn_count] = (weir_report_flow_conn){flow_id, name_id, 0, 0};
    r->last_conn = det->flow_conn_count + 1;
    return (int)det->flow_conn_count++;
}

/* A count column: a whole number >= 0. */
static bool fl_count(fl_reader *r, char **f, int column, int64_t *out)
{
    const char *s = f[r->column[column]];
    if (weir_report_parse_i64(s, out) != 0 || *out < 0) {
        weir_report_lines_warn(&r->in, "%s is not a whole number >= 0 ('%.40s'); row skipped",
                               fl_column_names[column], s);
        return false;
    }
    if (column != FL_T_MS && *out > FL_COUNT_MAX) {
        weir_report_lines_warn(&r->in, "%s %lld is too large (at most 2^53); row skipped",
                               fl_column_names[column], (long long)*out);
        return false;
    }
    return true;
}

static void fl_row(fl_reader *r, char **f, size_t n)
{
    weir_report_detail *det = r->det;
    if (n != r->field_count) {
        weir_report_lines_warn(&r->in, "expected %zu tab-separated fields, found %zu; row skipped",
                               r->field_count, n);
        return;
    }
    weir_report_flow_sample s;
    memset(&s, 0, sizeof s);
    int64_t t_ms = 0;
    if (!fl_count(r, f, FL_T_MS, &t_ms) || !fl_count(r, f, FL_QUEUED, &s.queued) ||
        !fl_count(r, f, FL_RESIDENT, &s.resident) || !fl_count(r, f, FL_SWAPPED, &s.swapped) ||
        !fl_count(r, f, FL_BYTES, &s.bytes) || !fl_count(r, f, FL_THRESHOLD, &s.threshold) ||
        !fl_count(r, f, FL_PEAK, &s.peak)) {
        return;
    }
    if (t_ms > FL_T_MS_MAX) {
        weir_report_lines_warn(&r->in, "t_ms %lld is too large; row skipped", (long long)t_ms);
        return;
    }
    const char *flow = f[r->column[FL_FLOW]], *name = f[r->column[FL_CONNECTION]];
    if (flow[0] == '\0' || name[0] == '\0') {
        weir_report_lines_warn(&r->in, "empty flow or connection name; row skipped");
        return;
    }
    if (det->sample_count + det->depth_count + det->flow_sample_count >= WEIR_REPORT_SAMPLES_MAX) {
        weir_report_lines_warn(&r->in, "more than %d samples in this run; the rest is skipped",
                               WEIR_REPORT_SAMPLES_MAX);
        r->full = true;
        return;
    }
    if ((s.conn = fl_conn(r, flow, name)) < 0) {
        weir_report_lines_warn(&r->in, "more than %d connections or names; row skipped",
                               WEIR_REPORT_FLOW_CONNS_MAX);
        return;
    }
    s.t_ns = t_ms * 1000000;
    s.order = det->flow_sample_count;
    weir_report_reserve((void **)&det->flow_samples, &det->flow_samples_cap,
                        det->flow_sample_count + 1, sizeof *det->flow_samples);
    det->flow_samples[det->flow_sample_count++] = s;
    if (s.t_ns > det->t_end_ns) {
        det->t_end_ns = s.t_ns;
    }
}

static void fl_line(fl_reader *r, char *line)
{
    char *f[FL_FIELDS_MAX + 1];
    size_t n = weir_report_split(line, f, FL_FIELDS_MAX + 1);
    if (n > FL_FIELDS_MAX) {
        weir_report_lines_warn(&r->in, "more than %d fields; %s", FL_FIELDS_MAX,
                               r->started ? "row skipped" : "file not read");
        r->unusable = !r->started;
        r->started = true;
        return;
    }
    if (!r->started) {
        r->started = true;
        if (!fl_is_number(f[0])) {
            fl_header(r, f, n);
            return;
        }
        for (int c = 0; c < FL_COLUMNS; c++) { /* no header: the documented order */
            r->column[c] = c;
        }
        r->field_count = FL_COLUMNS;
    }
    fl_row(r, f, n);
}

static int fl_cmp_sample(const void *a, const void *b)
{
    const weir_report_flow_sample *x = a, *y = b;
    if (x->conn != y->conn) {
        return x->conn < y->conn ? -1 : 1;
    }
    if (x->t_ns != y->t_ns) {
        return x->t_ns < y->t_ns ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

void weir_report_flows_load(weir_report_detail *det, const char *run_path)
{
    fl_reader r;
    memset(&r, 0, sizeof r);
    r.det = det;
    char *path = weir_report_path_join(run_path, "flows.tsv");
    int err = weir_report_lines_open(&r.in, path);
    free(path);
    if (err != 0) {
        det->flows_found = false;
        return;
    }
    det->flows_found = true;
    r.in.on_warn = fl_keep_problem;
    r.in.on_warn_arg = det;
    char *line;
    while (!r.unusable && !r.full && (line = weir_report_lines_next(&r.in)) != NULL) {
        if (line[0] != '\0' && line[0] != '#') {
            fl_line(&r, line);
        }
    }
    weir_report_lines_close(&r.in);
    if (det->flow_sample_count > 1) {
        qsort(det->flow_samples, det->flow_sample_count, sizeof *det->flow_samples, fl_cmp_sample);
    }
    for (size_t i = 0; i < det->flow_sample_count; i++) {
        weir_report_flow_conn *c = &det->flow_conns[det->flow_samples[i].conn];
        if (c->count++ == 0) {
            c->first = i;
        }
    }
}
