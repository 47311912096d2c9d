/* Reads one run's records (events.tsv, replicas.tsv, latency.tsv and the
 * optional queues.tsv; flows.tsv through flows_tsv.c) into weir_report_detail. Each line is checked
 * field by field; a bad one is skipped with a FILE:LINE warning. Records come out in time order
 * even if the file was not (stable sort), and replica samples are grouped by topic, partition and
 * broker so each series is one slice.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define DET_FIELDS_MAX 10

int weir_report_detail_intern(weir_report_detail *det, const char *name)
{
    for (size_t i = 0; i < det->name_count; i++) {
        if (strcmp(det->names[i], name) == 0) {
            return (int)i;
        }
    }
    if (det->name_count >= WEIR_REPORT_NAMES_MAX) {
        return -1;
    }
    weir_report_reserve((void **)&det->names, &det->names_cap, det->name_count + 1,
                        sizeof *det->names);
    det->names[det->name_count] = weir_report_xstrdup(name);
    return (int)det->name_count++;
}

static int det_i32(const char *s, int32_t *out)
{
    int64_t v;
    if (weir_report_parse_i64(s, &v) != 0 || v < INT32_MIN || v > INT32_MAX) {
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* A first line whose first field is not a number is a header: skipped quietly. */
static bool det_is_header(const weir_report_lines *in, const char *first_field)
{
    int64_t v;
    return in->number == 1 && weir_report_parse_i64(first_field, &v) != 0;
}

static void det_note_time(weir_report_detail *det, int64_t t_ns)
{
    if (t_ns > det->t_end_ns) {
        det->t_end_ns = t_ns;
    }
}

/* ---- events.tsv ---- */

typedef struct det_kind_spec {
    const char *name;
    weir_report_event_kind kind;
    size_t fields_min; /* after t and kind */
    size_t fields_max; /* the last keeps any tabs of free text */
} det_kind_spec;

static const det_kind_spec det_kinds[] = {
    {"fault", WEIR_REPORT_EV_FAULT, 3, 4},       {"leader", WEIR_REPORT_EV_LEADER, 5, 6},
    {"isr", WEIR_REPORT_EV_ISR, 2, 3},           {"fenced", WEIR_REPORT_EV_FENCED, 1, 1},
    {"truncate", WEIR_REPORT_EV_TRUNCATE, 5, 6}, {"oracle", WEIR_REPORT_EV_ORACLE, 0, 1},
    {"note", WEIR_REPORT_EV_NOTE, 0, 1},         {"flow-action", WEIR_REPORT_EV_FLOW_ACTION, 0, 1},
};

/* Free text whose fields are separate columns (a flow action, an unknown
 * kind) reads better with its tabs as spaces. */
static void det_tabs_to_spaces(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\t') {
            *s = ' ';
        }
    }
}

/* Parses the fields after t and kind into e. Returns NULL or what is wrong. */
static const char *det_event_fields(weir_report_detail *det, weir_report_event *e, char **f,
                                    size_t n)
{
    switch (e->kind) {
    case WEIR_REPORT_EV_FAULT:
        if (strcmp(f[2], "start") != 0 && strcmp(f[2], "end") != 0) {
            return "fault phase is not start or end";
        }
        e->flag = strcmp(f[2], "start") == 0;
        e->s[0] = f[0];
        e->s[1] = f[1];
        e->s[2] = n > 3 ? f[3] : "";
        return NULL;
    case WEIR_REPORT_EV_LEADER:
    case WEIR_REPORT_EV_ISR:
        if ((e->topic = weir_report_detail_intern(det, f[0])) < 0) {
            return "too many distinct names";
        }
        if (det_i32(f[1], &e->partition) != 0 || e->partition < 0) {
            return "partition is not a number";
        }
        if (e->kind == WEIR_REPORT_EV_ISR) {
            e->s[0] = n > 2 ? f[2] : "";
            return NULL;
        }
        if (det_i32(f[2], &e->a) != 0 || det_i32(f[3], &e->b) != 0 ||
            weir_report_parse_i64(f[4], &e->n1) != 0) {
            return "leader OLD, NEW or EPOCH is not a number";
        }
        e->flag = n > 5 && strcmp(f[5], "1") == 0;
        return NULL;
    case WEIR_REPORT_EV_FENCED:
        return det_i32(f[0], &e->a) == 0 ? NULL : "fenced BROKER is not a number";
    case WEIR_REPORT_EV_TRUNCATE:
        if (det_i32(f[0], &e->a) != 0 || det_i32(f[2], &e->partition) != 0 ||
            weir_report_parse_i64(f[3], &e->n1) != 0 || weir_report_parse_i64(f[4], &e->n2) != 0) {
            return "truncate BROKER, PARTITION, FROM or TO is not a number";
        }
        if ((e->topic = weir_report_detail_intern(det, f[1])) < 0) {
            return "too many distinct names";
        }
        e->s[0] = n > 5 ? f[5] : "";
        return NULL;
    default:
        e->s[0] = n > 0 ? f[0] : "";
        return NULL;
    }
}

static void det_event_line(weir_report_detail *det, weir_report_lines *in, char *line)
{
    char *head[3];
    size_t n = weir_report_split(line, head, 3);
    if (n == 1 && det_is_header(in, head[0])) {
        return;
    }
    int64_t t;
    if (n < 2 || weir_report_parse_i64(head[0], &t) != 0 || t < 0) {
        if (!det_is_header(in, head[0])) {
            weir_report_lines_warn(in, "expected 't_ns<TAB>kind<TAB>fields'; skipped");
        }
        return;
    }
    det_kind_spec spec = {head[1], WEIR_REPORT_EV_OTHER, 0, 1};
    for (size_t i = 0; i < sizeof det_kinds / sizeof det_kinds[0]; i++) {
        if (strcmp(head[1], det_kinds[i].name) == 0) {
            spec = det_kinds[i];
        }
    }
    weir_report_event e;
    memset(&e, 0, sizeof e);
    e.t_ns = t;
    e.kind = spec.kind;
    e.topic = -1;
    e.s[0] = e.s[1] = e.s[2] = "";
    /* Own a copy of kind + rest so the fields outlive the line buffer. */
    size_t kind_len = strlen(head[1]);
    const char *rest = n > 2 ? head[2] : "";
    size_t rest_len = strlen(rest);
    e.buf = weir_report_xmalloc(kind_len + 1 + rest_len + 1);
    memcpy(e.buf, head[1], kind_len + 1);
    char *fields_text = e.buf + kind_len + 1;
    memcpy(fields_text, rest, rest_len + 1);
    char *f[DET_FIELDS_MAX];
    size_t fn = n > 2 ? weir_report_split(fields_text, f, spec.fields_max) : 0;
    const char *why = fn < spec.fields_min ? "too few fields" : NULL;
    if (why == NULL && spec.fields_max > 0) {
        why = det_event_fields(det, &e, f, fn);
    }
    if (e.kind == WEIR_REPORT_EV_OTHER) {
        e.s[1] = e.buf;
    }
    if (e.kind == WEIR_REPORT_EV_OTHER || e.kind == WEIR_REPORT_EV_FLOW_ACTION) {
        det_tabs_to_spaces(fields_text);
    }
    if (why != NULL) {
        weir_report_lines_warn(in, "%s event: %s; skipped", head[1], why);
        free(e.buf);
        return;
    }
    if (det->event_count >= WEIR_REPORT_EVENTS_MAX) {
        weir_report_lines_warn(in, "more than %d events; skipped", WEIR_REPORT_EVENTS_MAX);
        free(e.buf);
        return;
    }
    e.order = det->event_count;
    weir_report_reserve((void **)&det->events, &det->events_cap, det->event_count + 1,
                        sizeof *det->events);
    det->events[det->event_count++] = e;
    det_note_time(det, t);
}

static int det_cmp_event(const void *a, const void *b)
{
    const weir_report_event *x = a, *y = b;
    if (x->t_ns != y->t_ns) {
        return x->t_ns < y->t_ns ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- replicas.tsv, latency.tsv, queues.tsv ---- */

static void det_replica_line(weir_report_detail *det, weir_report_lines *in, char *line)
{
    char *f[DET_FIELDS_MAX];
    size_t n = weir_report_split(line, f, 8);
    weir_report_sample s;
    memset(&s, 0, sizeof s);
    int32_t up = 0;
    if (n != 7 || weir_report_parse_i64(f[0], &s.t_ns) != 0 || s.t_ns < 0 ||
        det_i32(f[2], &s.partition) != 0 || s.partition < 0 || det_i32(f[3], &s.broker) != 0 ||
        det_i32(f[4], &up) != 0 || weir_report_parse_i64(f[5], &s.leo) != 0 ||
        weir_report_parse_i64(f[6], &s.hw) != 0) {
        if (!det_is_header(in, f[0])) {
            weir_report_lines_warn(in, "expected 't_ns TOPIC PARTITION BROKER UP LEO HW'; skipped");
        }
        return;
    }
    if ((s.topic = weir_report_detail_intern(det, f[1])) < 0 ||
        det->sample_count >= WEIR_REPORT_SAMPLES_MAX) {
        weir_report_lines_warn(in, "too many samples or topics; skipped");
        return;
    }
    s.up = up != 0 && s.leo >= 0;
    s.order = det->sample_count;
    weir_report_reserve((void **)&det->samples, &det->samples_cap, det->sample_count + 1,
                        sizeof *det->samples);
    det->samples[det->sample_count++] = s;
    det_note_time(det, s.t_ns);
}

static int det_cmp_sample(const void *a, const void *b)
{
    const weir_report_sample *x = a, *y = b;
    if (x->topic != y->topic) {
        return x->topic < y->topic ? -1 : 1;
    }
    if (x->partition != y->partition) {
        return x->partition < y->partition ? -1 : 1;
    }
    if (x->broker != y->broker) {
        return x->broker < y->broker ? -1 : 1;
    }
    if (x->t_ns != y->t_ns) {
        return x->t_ns < y->t_ns ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static void det_latency_line(weir_report_detail *det, weir_report_lines *in, char *line)
{
    char *f[DET_FIELDS_MAX];
    size_t n = weir_report_split(line, f, 5);
    weir_report_bucket b;
    if (n != 4 || weir_report_parse_i64(f[1], &b.lo_us) != 0 ||
        weir_report_parse_i64(f[2], &b.hi_us) != 0 || weir_report_parse_i64(f[3], &b.count) != 0 ||
        b.lo_us < 0 || b.hi_us < b.lo_us || b.count < 0) {
        if (!(in->number == 1 && n >= 2 && weir_report_parse_i64(f[1], &b.lo_us) != 0)) {
            weir_report_lines_warn(in, "expected 'PRODUCER LO_US HI_US COUNT'; skipped");
        }
        return;
    }
    if ((b.producer = weir_report_detail_intern(det, f[0])) < 0 ||
        det->bucket_count >= WEIR_REPORT_NAMES_MAX * 64) {
        weir_report_lines_warn(in, "too many producers or buckets; skipped");
        return;
    }
    weir_report_reserve((void **)&det->buckets, &det->buckets_cap, det->bucket_count + 1,
                        sizeof *det->buckets);
    det->buckets[det->bucket_count++] = b;
}

static void det_queue_line(weir_report_detail *det, weir_report_lines *in, char *line)
{
    char *f[DET_FIELDS_MAX];
    size_t n = weir_report_split(line, f, 4);
    weir_report_depth q;
    if (n != 3 || weir_report_parse_i64(f[0], &q.t_ns) != 0 || q.t_ns < 0 ||
        weir_report_parse_i64(f[2], &q.depth) != 0) {
        if (!det_is_header(in, f[0])) {
            weir_report_lines_warn(in, "expected 't_ns QUEUE DEPTH'; skipped");
        }
        return;
    }
    if ((q.queue = weir_report_detail_intern(det, f[1])) < 0 ||
        det->sample_count + det->depth_count >= WEIR_REPORT_SAMPLES_MAX) {
        weir_report_lines_warn(in, "too many samples or queues; skipped");
        return;
    }
    weir_report_reserve((void **)&det->depths, &det->depths_cap, det->depth_count + 1,
                        sizeof *det->depths);
    det->depths[det->depth_count++] = q;
    det_note_time(det, q.t_ns);
}

typedef void (*det_line_fn)(weir_report_detail *det, weir_report_lines *in, char *line);

/* Feeds every non-empty line of run_path/name to fn. Returns false if the
 * file does not exist. */
static bool det_read(weir_report_detail *det, const char *run_path, const char *name,
                     det_line_fn fn)
{
    char *path = weir_report_path_join(run_path, name);
    weir_report_lines in;
    int err = weir_report_lines_open(&in, path);
    free(path);
    if (err != 0) {
        return false;
    }
    char *line;
    while ((line = weir_report_lines_next(&in)) != NULL) {
        if (line[0] != '\0' && line[0] != '#') {
            fn(det, &in, line);
        }
    }
    weir_report_lines_close(&in);
    return true;
}

static int det_cmp_depth(const void *a, const void *b)
{
    const weir_report_depth *x = a, *y = b;
    if (x->queue != y->queue) {
        return x->queue < y->queue ? -1 : 1;
    }
    return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

void weir_report_detail_load(weir_report_detail *det, const char *run_path, double sim_s)
{
    memset(det, 0, sizeof *det);
    det->events_found = det_read(det, run_path, "events.tsv", det_event_line);
    det->replicas_found = det_read(det, run_path, "replicas.tsv", det_replica_line);
    det->latency_found = det_read(det, run_path, "latency.tsv", det_latency_line);
    det->queues_found = det_read(det, run_path, "queues.tsv", det_queue_line);
    weir_report_flows_load(det, run_path);
    if (det->event_count > 1) {
        qsort(det->events, det->event_count, sizeof *det->events, det_cmp_event);
    }
    if (det->sample_count > 1) {
        qsort(det->samples, det->sample_count, sizeof *det->samples, det_cmp_sample);
    }
    if (det->depth_count > 1) {
        /* Equal times keep file order only approximately; depths are a level, not events. */
        qsort(det->depths, det->depth_count, sizeof *det->depths, det_cmp_depth);
    }
    if (sim_s > 0 && sim_s < 1e9) {
        int64_t sim_ns = (int64_t)(sim_s * 1e9);
        if (sim_ns > det->t_end_ns) {
            det->t_end_ns = sim_ns;
        }
    }
    if (det->t_end_ns <= 0) {
        det->t_end_ns = 1000000000; /* nothing recorded: one second */
    }
}

void weir_report_detail_free(weir_report_detail *det)
{
    for (size_t i = 0; i < det->event_count; i++) {
        free(det->events[i].buf);
    }
    free(det->events);
    free(det->samples);
    free(det->buckets);
    free(det->depths);
    free(det->flow_samples);
    free(det->flow_conns);
    size_t shown = det->flow_problem_count < WEIR_REPORT_PROBLEMS_SHOWN
                       ? det->flow_problem_count
                       : WEIR_REPORT_PROBLEMS_SHOWN;
    for (size_t i = 0; i < shown; i++) {
        free(det->flow_problems[i].text);
    }
    free(det->flow_problems);
    for (size_t i = 0; i < det->name_count; i++) {
        free(det->names[i]);
    }
    free(det->names);
    memset(det, 0, sizeof *det);
}

static bool det_same_fault(const weir_report_event *a, const weir_report_event *b)
{
    return strcmp(a->s[0], b->s[0]) == 0 && strcmp(a->s[1], b->s[1]) == 0;
}

size_t weir_report_fault_spans(const weir_report_detail *det, weir_report_fault_span *spans,
                               size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < det->event_count && n < max; i++) {
        const weir_report_event *e = &det->events[i];
        if (e->kind != WEIR_REPORT_EV_FAULT) {
            continue;
        }
        if (e->flag) {
            spans[n++] = (weir_report_fault_span){e->t_ns, -1, e, -1};
            continue;
        }
        size_t j = 0;
        while (j < n && !(spans[j].end_ns < 0 && det_same_fault(spans[j].ev, e))) {
            j++;
        }
        if (j < n) {
            spans[j].end_ns = e->t_ns;
        } else {
            spans[n++] = (weir_report_fault_span){0, e->t_ns, e, -1}; /* start not recorded */
        }
    }
    return n;
}
