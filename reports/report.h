/* `weir report`: the in-memory form of a run folder (reports/README.md has the
 * format) and the writers that turn it into HTML pages, SVG charts and JUnit
 * XML.
 *
 * Ownership: every string and array reachable from a weir_report_dir or a
 * weir_report_detail is owned by it and released by its _free function.
 * Allocation failure ends the process with a message (weir_report_xmalloc):
 * this is a command-line tool, not node code. Input is never trusted: every
 * malformed line is reported as FILE:LINE on stderr and skipped.
 */
#ifndef WEIR_REPORTS_REPORT_H
#define WEIR_REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h" /* WEIR_MUST_CHECK */

/* ---- limits (input beyond them is skipped with a warning) ---- */
#define WEIR_REPORT_LINE_BYTES_MAX (1u << 20) /* one line of any .tsv/.info file */
#define WEIR_REPORT_LINES_MAX 20000000L       /* lines read from one file */
#define WEIR_REPORT_RUNS_MAX 1000000          /* rows of index.tsv */
#define WEIR_REPORT_SAMPLES_MAX 4000000       /* replicas.tsv + queues.tsv rows per run */
#define WEIR_REPORT_EVENTS_MAX 2000000        /* events.tsv rows per run */
#define WEIR_REPORT_NAMES_MAX 4096            /* distinct topics, producers, queues per run */
#define WEIR_REPORT_BROKERS_MAX 64            /* replicas drawn per partition */
#define WEIR_REPORT_TEXT_BYTES_MAX (4u << 20) /* report.txt embedded in a page */
#define WEIR_REPORT_WARNINGS_PER_FILE 10      /* then one "N more" line */
#define WEIR_REPORT_FLOW_CONNS_MAX 512        /* distinct flow connections per run */
#define WEIR_REPORT_PROBLEMS_SHOWN 20         /* malformed lines listed on a page */

/* ---- memory and text helpers (text.c) ---- */

void *weir_report_xmalloc(size_t size);
void *weir_report_xrealloc(void *p, size_t count, size_t elem_size);
char *weir_report_xstrdup(const char *s);
/* Grows *items (of elem_size bytes) so that index `need - 1` fits; *cap is
 * the capacity in elements. */
void weir_report_reserve(void **items, size_t *cap, size_t need, size_t elem_size);

/* Writes s escaped for HTML text and attribute values (and XML): & < > " '
 * become entities, control characters and invalid UTF-8 become U+FFFD. */
void weir_report_put_esc(FILE *f, const char *s);
/* Writes s percent-encoded for one path segment of a relative URL. */
void weir_report_put_url(FILE *f, const char *s);
/* Writes a relative path percent-encoded, keeping its '/' separators. */
void weir_report_put_url_path(FILE *f, const char *s);
/* Strict number parsing: the whole string, no overflow. 0 or -1. */
WEIR_MUST_CHECK int weir_report_parse_i64(const char *s, int64_t *out);
WEIR_MUST_CHECK int weir_report_parse_double(const char *s, double *out);
/* "a/b" joined with one slash; the caller frees the result. */
char *weir_report_path_join(const char *dir, const char *name);
/* A path from folder `from_dir` to `target` (both existing), for a link;
 * NULL if either cannot be resolved. The caller frees the result. */
char *weir_report_path_relative(const char *from_dir, const char *target);
/* Output files appear whole: written to DIR/.NAME.tmp, then renamed.
 * weir_report_out_open returns NULL after printing why; *tmp_out is always
 * set and always freed by weir_report_out_commit, which closes f and
 * renames it to DIR/NAME (0), or removes it after printing why (-1). */
FILE *weir_report_out_open(const char *dir, const char *name, char **tmp_out);
WEIR_MUST_CHECK int weir_report_out_commit(FILE *f, char *tmp, const char *dir, const char *name);
/* Seconds as "12.345 s"-style text into buf (always terminated). */
void weir_report_fmt_seconds(char *buf, size_t size, double s);
/* A count with thousands separators ("1,000,000") into buf (always terminated). */
void weir_report_fmt_count(char *buf, size_t size, int64_t n);
/* A byte count as "512 B", "12.3 KiB", "4.0 MiB"... into buf (always terminated). */
void weir_report_fmt_bytes(char *buf, size_t size, int64_t bytes);

/* ---- line-oriented input with FILE:LINE warnings (tsv.c) ---- */

/* Told about every warning on a file's line, even those not printed. */
typedef void (*weir_report_warn_fn)(void *arg, long line, const char *message);

typedef struct weir_report_lines {
    FILE *f;
    char *path; /* owned copy, for warnings */
    char *line; /* getline buffer */
    size_t cap;
    long number;                 /* 1-based number of the current line */
    int warned;                  /* warnings printed for this file */
    int suppressed;              /* warnings beyond WEIR_REPORT_WARNINGS_PER_FILE */
    weir_report_warn_fn on_warn; /* NULL, or set after open to collect warnings */
    void *on_warn_arg;
} weir_report_lines;

/* Opens path for reading. Returns 0, or -errno (-ENOENT: "not recorded"). */
WEIR_MUST_CHECK int weir_report_lines_open(weir_report_lines *r, const char *path);
/* The next line without its line ending, or NULL at the end of the file.
 * Skips (with a warning) lines longer than WEIR_REPORT_LINE_BYTES_MAX and
 * stops after WEIR_REPORT_LINES_MAX lines. The line stays valid until the
 * next call and may be modified in place. */
char *weir_report_lines_next(weir_report_lines *r);
/* Prints "weir report: warning: PATH:LINE: message" (rate-limited per file)
 * and passes the message to r->on_warn if set. */
void weir_report_lines_warn(weir_report_lines *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void weir_report_lines_close(weir_report_lines *r);
/* Splits line at tabs in place into at most max fields; the last field keeps
 * any further tabs. Returns the field count. */
size_t weir_report_split(char *line, char **fields, size_t max);
/* A general warning (not tied to a line). */
void weir_report_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warnings printed (or suppressed) so far, for the summary line. */
long weir_report_warning_count(void);

/* ---- the run folder (run_dir.c) ---- */

typedef enum weir_report_verdict {
    WEIR_REPORT_PASS,
    WEIR_REPORT_FAIL,
    WEIR_REPORT_ERROR,
    WEIR_REPORT_UNKNOWN,
} weir_report_verdict;

const char *weir_report_verdict_name(weir_report_verdict v);

typedef struct weir_report_kv {
    char *key;
    char *value;
} weir_report_kv;

typedef struct weir_report_run {
    char *name; /* folder under RUN_DIR (validated: one path segment) */
    char *scenario;
    char *variant; /* NULL when "-" or absent */
    char *seed;    /* as written */
    weir_report_verdict verdict;
    char *trace_hash;     /* NULL when unknown */
    char *events;         /* NULL when unknown */
    double sim_s;         /* < 0 when unknown */
    double wall_s;        /* < 0 when unknown */
    char *faults;         /* NULL when unknown */
    bool has_folder;      /* RUN_DIR/<name>/ exists */
    bool has_meta;        /* meta.tsv was read */
    weir_report_kv *meta; /* meta.tsv in file order, `failure` lines excluded */
    size_t meta_count;
    char **failures; /* meta.tsv `failure` lines, else index.tsv's failure */
    size_t failure_count;
} weir_report_run;

typedef struct weir_report_dir {
    char *path; /* RUN_DIR as given */
    weir_report_run *runs;
    size_t run_count;
    size_t runs_cap;
} weir_report_dir;

/* Reads RUN_DIR/index.tsv (or, without it, every sub-folder holding a
 * meta.tsv) and each run's meta.tsv. Returns 0, or -1 after printing why
 * RUN_DIR cannot be used (not a readable folder, no runs at all). */
WEIR_MUST_CHECK int weir_report_dir_load(weir_report_dir *d, const char *path);
void weir_report_dir_free(weir_report_dir *d);
/* The meta.tsv value of key, or NULL. */
const char *weir_report_run_meta(const weir_report_run *r, const char *key);
/* "scenario" or "scenario/variant" into a new string. */
char *weir_report_run_class(const weir_report_run *r);

/* Runs grouped by scenario, groups in order of first appearance, runs in
 * folder order inside a group. */
typedef struct weir_report_group {
    const char *scenario; /* points into a run; "(unknown scenario)" if none */
    size_t *runs;         /* indexes into d->runs */
    size_t run_count;
    size_t pass, fail, error; /* error includes UNKNOWN verdicts */
    double wall_s;            /* sum of known wall_s */
} weir_report_group;

/* Returns the group count; *groups_out is freed with weir_report_groups_free. */
size_t weir_report_groups(const weir_report_dir *d, weir_report_group **groups_out);
void weir_report_groups_free(weir_report_group *groups, size_t count);

/* ---- one run's records (run_detail.c) ---- */

typedef enum weir_report_event_kind {
    WEIR_REPORT_EV_FAULT,
    WEIR_REPORT_EV_LEADER,
    WEIR_REPORT_EV_ISR,
    WEIR_REPORT_EV_FENCED,
    WEIR_REPORT_EV_TRUNCATE,
    WEIR_REPORT_EV_ORACLE,
    WEIR_REPORT_EV_NOTE,
    WEIR_REPORT_EV_FLOW_ACTION,
    WEIR_REPORT_EV_OTHER,
} weir_report_event_kind;

/* One events.tsv line. Field meaning by kind (after t and kind):
 *   fault:    s[0] KIND, s[1] TARGET, start (true: start, false: end), s[2] text
 *   leader:   topic, partition, a OLD, b NEW, n1 EPOCH, flag UNCLEAN
 *   isr:      topic, partition, s[0] comma list of broker ids
 *   fenced:   a BROKER
 *   truncate: a BROKER, topic, partition, n1 FROM, n2 TO, s[0] RULE
 *   oracle, note, flow-action, other: s[0] text (other: s[1] the kind as
 *             written); flow-action and other fields are joined by spaces */
typedef struct weir_report_event {
    int64_t t_ns;
    weir_report_event_kind kind;
    int topic; /* index into detail names, -1 if none */
    int32_t partition;
    int32_t a, b;
    int64_t n1, n2;
    bool flag;
    const char *s[3]; /* point into buf; never NULL ("" when absent) */
    char *buf;        /* owned copy of the line's fields */
    size_t order;     /* line order, to keep sorting stable */
} weir_report_event;

typedef struct weir_report_sample {
    int64_t t_ns;
    int topic; /* index into detail names */
    int32_t partition;
    int32_t broker;
    bool up;
    int64_t leo, hw; /* -1 when down */
    size_t order;
} weir_report_sample;

typedef struct weir_report_bucket {
    int producer; /* index into detail names */
    int64_t lo_us, hi_us;
    int64_t count;
} weir_report_bucket;

typedef struct weir_report_depth {
    int64_t t_ns;
    int queue; /* index into detail names */
    int64_t depth;
} weir_report_depth;

/* One flows.tsv row: a connection's queue at one instant. */
typedef struct weir_report_flow_sample {
    int64_t t_ns;
    int conn; /* index into detail flow_conns */
    int64_t queued, resident, swapped, bytes;
    int64_t threshold; /* object back-pressure threshold, 0: none */
    int64_t peak;      /* the engine's running maximum of queued */
    size_t order;      /* line order, to keep sorting stable */
} weir_report_flow_sample;

/* A flow connection and its slice of detail flow_samples (in time order). */
typedef struct weir_report_flow_conn {
    int flow, connection; /* indexes into detail names */
    size_t first, count;
} weir_report_flow_conn;

/* A malformed line of a file that the page itself reports. */
typedef struct weir_report_problem {
    long line; /* 1-based */
    char *text;
} weir_report_problem;

typedef struct weir_report_detail {
    bool events_found, replicas_found, latency_found, queues_found, flows_found;
    weir_report_event *events;
    size_t event_count, events_cap;
    weir_report_sample *samples; /* sorted by topic, partition, broker, time */
    size_t sample_count, samples_cap;
    weir_report_bucket *buckets;
    size_t bucket_count, buckets_cap;
    weir_report_depth *depths;
    size_t depth_count, depths_cap;
    weir_report_flow_sample *flow_samples; /* sorted by connection, time */
    size_t flow_sample_count, flow_samples_cap;
    weir_report_flow_conn *flow_conns; /* in order of first appearance */
    size_t flow_conn_count, flow_conns_cap;
    weir_report_problem *flow_problems; /* the first WEIR_REPORT_PROBLEMS_SHOWN */
    size_t flow_problem_count;          /* all of them, shown or not */
    char **names; /* interned topic, producer, queue, flow and connection names */
    size_t name_count, names_cap;
    int64_t t_end_ns; /* the chart's right edge: simulated duration or last record */
} weir_report_detail;

/* Reads RUN_DIR/<run>/{events,replicas,latency,queues,flows}.tsv; a missing
 * file leaves its _found flag false. Never fails (bad lines are warned about). */
void weir_report_detail_load(weir_report_detail *det, const char *run_path, double sim_s);
void weir_report_detail_free(weir_report_detail *det);
/* Index of name in det->names, added if new; -1 past WEIR_REPORT_NAMES_MAX. */
int weir_report_detail_intern(weir_report_detail *det, const char *name);

/* Reads run_path/flows.tsv (flows_tsv.c): sets flows_found, fills
 * flow_samples (sorted) and flow_conns, and keeps every malformed line as a
 * problem for the page as well as warning about it on stderr. */
void weir_report_flows_load(weir_report_detail *det, const char *run_path);

/* A fault from its start to its end event (paired by KIND and TARGET). */
typedef struct weir_report_fault_span {
    int64_t start_ns, end_ns;    /* end_ns -1: no end recorded */
    const weir_report_event *ev; /* the start (or, without one, the end) event */
    int row;                     /* label row for the chart drawing it, -1: none */
} weir_report_fault_span;

/* Pairs the fault start/end events of det into at most max spans, in order
 * of their first event. Returns the span count. */
size_t weir_report_fault_spans(const weir_report_detail *det, weir_report_fault_span *spans,
                               size_t max);

/* ---- SVG (svg_axis.c, svg_timeline.c, svg_hist.c, svg_queues.c) ---- */

/* Chart geometry shared by the time-based charts, in SVG user units. */
#define WEIR_REPORT_SVG_WIDTH 1100
#define WEIR_REPORT_SVG_LEFT 110
#define WEIR_REPORT_SVG_RIGHT 20

typedef struct weir_report_xscale {
    double x0, width; /* plot area, user units */
    int64_t t_end_ns; /* maps to x0 + width (> 0) */
} weir_report_xscale;

double weir_report_x_of(const weir_report_xscale *s, int64_t t_ns);
/* Vertical grid lines from y_top to y_axis and tick labels in seconds below. */
void weir_report_svg_time_axis(FILE *f, const weir_report_xscale *s, double y_top, double y_axis);
/* A "nice" step (1, 2 or 5 times a power of ten) splitting span into at most
 * ticks_max intervals. */
double weir_report_nice_step(double span, int ticks_max);
/* A categorical colour for series i. */
const char *weir_report_color(size_t i);

/* One <svg class="chart timeline"> per partition seen in the records. Returns
 * the number of charts written. */
int weir_report_svg_timelines(FILE *f, const weir_report_detail *det);
/* One <svg class="chart histogram"> per producer. Returns charts written. */
int weir_report_svg_histograms(FILE *f, const weir_report_detail *det);
/* One <svg class="chart queues"> with a line per queue. Returns charts written. */
int weir_report_svg_queues(FILE *f, const weir_report_detail *det);

/* Events drawn on the flow charts: flow actions, faults (spans), oracle
 * violations and kinds the report does not know, numbered in time order so
 * each chart can carry a small number keyed to one list. */
typedef struct weir_report_flow_mark {
    int64_t t_ns, end_ns; /* end_ns -1: an instant */
    const weir_report_event *ev;
    int number; /* 1-based */
} weir_report_flow_mark;

/* Collects at most max marks from det's events. Returns the count. */
size_t weir_report_flow_marks(const weir_report_detail *det, weir_report_flow_mark *marks,
                              size_t max);
/* One small <svg class="chart flow"> for connection index conn: queued over
 * time, the in-memory part and the swapped part shaded, the object threshold
 * as a dashed step line, and the marks. */
void weir_report_svg_flow(FILE *f, const weir_report_detail *det, size_t conn,
                          const weir_report_flow_mark *marks, size_t mark_count);
/* The run page's "Flows" section (page_flows.c); nothing if flows.tsv was not
 * recorded. */
void weir_report_flows_section(FILE *f, const weir_report_detail *det);

/* ---- pages (html_page.c, page_index.c, page_run.c) ---- */

void weir_report_html_begin(FILE *f, const char *title);
void weir_report_html_end(FILE *f);
/* <span class="verdict pass">PASS</span> */
void weir_report_html_verdict(FILE *f, weir_report_verdict v);
/* A command in a copyable box (click selects it; a button copies it). */
void weir_report_html_command(FILE *f, const char *cmd);
/* Writes RUN_DIR/<run>/report.html from the run's records. 0 or -1. */
WEIR_MUST_CHECK int weir_report_page_run(const weir_report_dir *d, const weir_report_run *r);

/* ---- coverage (coverage.c) ---- */

typedef struct weir_report_cov_fn {
    char *name;
    int file; /* index into files */
    long line;
    int64_t hits;
} weir_report_cov_fn;

typedef struct weir_report_cov_file {
    char *path; /* as in SF:, shortened to start at impl/ or sim/ when possible */
    long lines_found, lines_hit;
} weir_report_cov_file;

typedef struct weir_report_cov {
    weir_report_cov_file *files;
    size_t file_count, files_cap;
    weir_report_cov_fn *fns; /* replication-relevant functions only */
    size_t fn_count, fns_cap;
    char *html_link; /* link to the lcov HTML report, relative to RUN_DIR; may be NULL */
    char *info_path;
} weir_report_cov;

/* Parses an lcov tracefile. Returns 0, or -1 after printing why it cannot be read. */
WEIR_MUST_CHECK int weir_report_cov_load(weir_report_cov *c, const char *info_path);
void weir_report_cov_free(weir_report_cov *c);
/* The coverage section of the index page. */
void weir_report_cov_html(FILE *f, const weir_report_cov *c);

/* Writes RUN_DIR/report.html (cov may be NULL). 0 or -1. */
WEIR_MUST_CHECK int weir_report_page_index(const weir_report_dir *d, const weir_report_cov *cov);

/* ---- JUnit XML (junit.c) ---- */

/* Writes RUN_DIR/junit.xml: one testsuite per scenario. 0 or -1. */
WEIR_MUST_CHECK int weir_report_junit(const weir_report_dir *d);

#endif
