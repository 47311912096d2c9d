/* Reads a run folder's index (RUN_DIR/index.tsv) and every run's meta.tsv
 * into weir_report_dir. Columns of index.tsv are found by the header's names,
 * so added or reordered columns are fine; unknown meta.tsv keys are kept for
 * display and otherwise ignored. A run name must be one path segment (it
 * names the folder the run's page is written into); rows that break that, or
 * repeat an earlier run, are skipped with a warning.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

enum {
    COL_RUN,
    COL_SCENARIO,
    COL_VARIANT,
    COL_SEED,
    COL_VERDICT,
    COL_TRACE_HASH,
    COL_EVENTS,
    COL_SIM_S,
    COL_WALL_S,
    COL_FAULTS,
    COL_FAILURE,
    COL_COUNT,
};

static const char *const dir_col_names[COL_COUNT] = {
    "run",    "scenario", "variant", "seed",   "verdict", "trace_hash",
    "events", "sim_s",    "wall_s",  "faults", "failure",
};

#define DIR_FIELDS_MAX 64

const char *weir_report_verdict_name(weir_report_verdict v)
{
    switch (v) {
    case WEIR_REPORT_PASS:
        return "PASS";
    case WEIR_REPORT_FAIL:
        return "FAIL";
    case WEIR_REPORT_ERROR:
        return "ERROR";
    default:
        return "UNKNOWN";
    }
}

static weir_report_verdict dir_verdict_parse(const char *s)
{
    if (strcmp(s, "PASS") == 0) {
        return WEIR_REPORT_PASS;
    }
    if (strcmp(s, "FAIL") == 0) {
        return WEIR_REPORT_FAIL;
    }
    if (strcmp(s, "ERROR") == 0) {
        return WEIR_REPORT_ERROR;
    }
    return WEIR_REPORT_UNKNOWN;
}

/* "-" and "" mean "not given". */
static bool dir_given(const char *s)
{
    return s != NULL && s[0] != '\0' && strcmp(s, "-") != 0;
}

static char *dir_dup_given(const char *s)
{
    return dir_given(s) ? weir_report_xstrdup(s) : NULL;
}

static bool dir_name_ok(const char *name)
{
    return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
           strchr(name, '/') == NULL;
}

static bool dir_is_folder(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static weir_report_run *dir_add_run(weir_report_dir *d, const char *name)
{
    weir_report_reserve((void **)&d->runs, &d->runs_cap, d->run_count + 1, sizeof *d->runs);
    weir_report_run *r = &d->runs[d->run_count++];
    memset(r, 0, sizeof *r);
    r->name = weir_report_xstrdup(name);
    r->verdict = WEIR_REPORT_UNKNOWN;
    r->sim_s = -1;
    r->wall_s = -1;
    return r;
}

static void dir_add_failure(weir_report_run *r, const char *text)
{
    r->failures = weir_report_xrealloc(r->failures, r->failure_count + 1, sizeof *r->failures);
    r->failures[r->failure_count++] = weir_report_xstrdup(text);
}

const char *weir_report_run_meta(const weir_report_run *r, const char *key)
{
    for (size_t i = 0; i < r->meta_count; i++) {
        if (strcmp(r->meta[i].key, key) == 0) {
            return r->meta[i].value;
        }
    }
    return NULL;
}

char *weir_report_run_class(const weir_report_run *r)
{
    const char *sc = r->scenario != NULL ? r->scenario : "(unknown scenario)";
    if (r->variant == NULL) {
        return weir_report_xstrdup(sc);
    }
    size_t n = strlen(sc) + 1 + strlen(r->variant) + 1;
    char *s = weir_report_xmalloc(n);
    snprintf(s, n, "%s/%s", sc, r->variant);
    return s;
}

/* Fills index columns from one row; col[i] is the field index of column i or -1. */
static void dir_row_fill(weir_report_run *r, char **fields, size_t n, const int *col,
                         weir_report_lines *in)
{
#define FIELD(c) (col[c] >= 0 && (size_t)col[c] < n ? fields[col[c]] : NULL)
    r->scenario = dir_dup_given(FIELD(COL_SCENARIO));
    r->variant = dir_dup_given(FIELD(COL_VARIANT));
    r->seed = dir_dup_given(FIELD(COL_SEED));
    r->trace_hash = dir_dup_given(FIELD(COL_TRACE_HASH));
    r->events = dir_dup_given(FIELD(COL_EVENTS));
    r->faults = dir_dup_given(FIELD(COL_FAULTS));
    const char *v = FIELD(COL_VERDICT);
    if (dir_given(v)) {
        r->verdict = dir_verdict_parse(v);
        if (r->verdict == WEIR_REPORT_UNKNOWN) {
            weir_report_lines_warn(in, "verdict '%s' is not PASS, FAIL or ERROR", v);
        }
    }
    const char *s = FIELD(COL_SIM_S);
    if (dir_given(s) && weir_report_parse_double(s, &r->sim_s) != 0) {
        weir_report_lines_warn(in, "sim_s '%s' is not a number", s);
        r->sim_s = -1;
    }
    s = FIELD(COL_WALL_S);
    if (dir_given(s) && weir_report_parse_double(s, &r->wall_s) != 0) {
        weir_report_lines_warn(in, "wall_s '%s' is not a number", s);
        r->wall_s = -1;
    }
    s = FIELD(COL_FAILURE);
    if (dir_given(s)) {
        dir_add_failure(r, s);
    }
#undef FIELD
}

/* Maps header names to columns. Returns true if this line is a header. */
static bool dir_header(char **fields, size_t n, int *col)
{
    for (int c = 0; c < COL_COUNT; c++) {
        col[c] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < COL_COUNT; c++) {
            if (col[c] < 0 && strcmp(fields[i], dir_col_names[c]) == 0) {
                col[c] = (int)i;
            }
        }
    }
    if (col[COL_RUN] >= 0) {
        return true;
    }
    for (int c = 0; c < COL_COUNT; c++) {
        col[c] = c; /* no header: the documented order */
    }
    return false;
}

static int dir_cmp_name(const void *a, const void *b)
{
    const weir_report_run *const *x = a, *const *y = b;
    int c = strcmp((*x)->name, (*y)->name);
    return c != 0 ? c : (*x < *y ? -1 : *x > *y);
}

/* True if name is already a run (a linear scan for small folders, else the
 * caller sorts once at the end). */
static bool dir_seen(const weir_report_dir *d, const char *name)
{
    if (d->run_count > 2000) {
        return false;
    }
    for (size_t i = 0; i < d->run_count; i++) {
        if (strcmp(d->runs[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

static void dir_run_free(weir_report_run *r)
{
    free(r->name);
    free(r->scenario);
    free(r->variant);
    free(r->seed);
    free(r->trace_hash);
    free(r->events);
    free(r->faults);
    for (size_t i = 0; i < r->meta_count; i++) {
        free(r->meta[i].key);
        free(r->meta[i].value);
    }
    free(r->meta);
    for (size_t i = 0; i < r->failure_count; i++) {
        free(r->failures[i]);
    }
    free(r->failures);
}

/* Large folders: duplicates found by sorting; later rows are dropped. */
static void dir_drop_duplicates(weir_report_dir *d)
{
    if (d->run_count <= 2000) {
        return;
    }
    weir_report_run **order = weir_report_xrealloc(NULL, d->run_count, sizeof *order);
    bool *dup = calloc(d->run_count, sizeof *dup);
    if (dup == NULL) {
        fputs("weir report: out of memory\n", stderr);
        exit(1);
    }
    for (size_t i = 0; i < d->run_count; i++) {
        order[i] = &d->runs[i];
    }
    qsort(order, d->run_count, sizeof *order, dir_cmp_name);
    for (size_t i = 1; i < d->run_count; i++) {
        if (strcmp(order[i]->name, order[i - 1]->name) == 0) {
            dup[order[i] - d->runs] = true;
            weir_report_warn("%s/index.tsv: run '%s' appears more than once; later rows skipped",
                             d->path, order[i]->name);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < d->run_count; i++) {
        if (dup[i]) {
            dir_run_free(&d->runs[i]);
        } else {
            d->runs[kept++] = d->runs[i];
        }
    }
    d->run_count = kept;
    free(dup);
    free(order);
}

/* Reads index.tsv. Returns 0, or -errno if it cannot be opened. */
static int dir_load_index(weir_report_dir *d, const char *index_path)
{
    weir_report_lines in;
    int err = weir_report_lines_open(&in, index_path);
    if (err != 0) {
        return err;
    }
    int col[COL_COUNT];
    size_t width = DIR_FIELDS_MAX;
    bool first = true;
    char *line;
    while ((line = weir_report_lines_next(&in)) != NULL) {
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        char *fields[DIR_FIELDS_MAX];
        size_t n = weir_report_split(line, fields, width);
        if (first) {
            first = false;
            if (dir_header(fields, n, col)) {
                width = n; /* the last column keeps any tabs of its text */
                continue;
            }
            weir_report_lines_warn(&in, "no header line; assuming the documented columns");
            width = COL_COUNT;
        }
        const char *name = (size_t)col[COL_RUN] < n ? fields[col[COL_RUN]] : "";
        if (!dir_name_ok(name)) {
            weir_report_lines_warn(&in, "run name '%s' is not a folder name; row skipped", name);
            continue;
        }
        if (dir_seen(d, name)) {
            weir_report_lines_warn(&in, "run '%s' appears more than once; row skipped", name);
            continue;
        }
        if (d->run_count >= WEIR_REPORT_RUNS_MAX) {
            weir_report_lines_warn(&in, "more than %d runs; the rest is ignored",
                                   WEIR_REPORT_RUNS_MAX);
            break;
        }
        dir_row_fill(dir_add_run(d, name), fields, n, col, &in);
    }
    weir_report_lines_close(&in);
    dir_drop_duplicates(d);
    return 0;
}

/* Without index.tsv: every sub-folder holding a meta.tsv, in name order. */
static void dir_scan_folders(weir_report_dir *d)
{
    struct dirent **list = NULL;
    int n = scandir(d->path, &list, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (name[0] != '.' && d->run_count < WEIR_REPORT_RUNS_MAX) {
            char *sub = weir_report_path_join(d->path, name);
            char *meta = weir_report_path_join(sub, "meta.tsv");
            struct stat st;
            if (dir_is_folder(sub) && stat(meta, &st) == 0) {
                dir_add_run(d, name);
            }
            free(meta);
            free(sub);
        }
        free(list[i]);
    }
    free(list);
}

static void dir_meta_add(weir_report_run *r, const char *key, const char *value, size_t *cap)
{
    weir_report_reserve((void **)&r->meta, cap, r->meta_count + 1, sizeof *r->meta);
    r->meta[r->meta_count].key = weir_report_xstrdup(key);
    r->meta[r->meta_count].value = weir_report_xstrdup(value);
    r->meta_count++;
}

/* Fills what index.tsv did not give from meta.tsv. */
static void dir_meta_fill(weir_report_run *r)
{
    const char *v;
    if (r->scenario == NULL) {
        r->scenario = dir_dup_given(weir_report_run_meta(r, "scenario"));
    }
    if (r->variant == NULL) {
        r->variant = dir_dup_given(weir_report_run_meta(r, "variant"));
    }
    if (r->seed == NULL) {
        r->seed = dir_dup_given(weir_report_run_meta(r, "seed"));
    }
    if (r->trace_hash == NULL) {
        r->trace_hash = dir_dup_given(weir_report_run_meta(r, "trace_hash"));
    }
    if (r->events == NULL) {
        r->events = dir_dup_given(weir_report_run_meta(r, "events"));
    }
    if (r->verdict == WEIR_REPORT_UNKNOWN && (v = weir_report_run_meta(r, "verdict")) != NULL) {
        r->verdict = dir_verdict_parse(v);
    }
    if (r->sim_s < 0 && (v = weir_report_run_meta(r, "sim_s")) != NULL &&
        weir_report_parse_double(v, &r->sim_s) != 0) {
        r->sim_s = -1;
    }
    if (r->wall_s < 0 && (v = weir_report_run_meta(r, "wall_s")) != NULL &&
        weir_report_parse_double(v, &r->wall_s) != 0) {
        r->wall_s = -1;
    }
}

static void dir_load_meta(weir_report_dir *d, weir_report_run *r)
{
    char *sub = weir_report_path_join(d->path, r->name);
    r->has_folder = dir_is_folder(sub);
    char *path = weir_report_path_join(sub, "meta.tsv");
    free(sub);
    weir_report_lines in;
    if (!r->has_folder || weir_report_lines_open(&in, path) != 0) {
        free(path);
        return;
    }
    free(path);
    r->has_meta = true;
    size_t cap = 0;
    bool index_failure = r->failure_count > 0;
    char *line;
    while ((line = weir_report_lines_next(&in)) != NULL) {
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        char *f[2];
        if (weir_report_split(line, f, 2) != 2 || f[0][0] == '\0') {
            weir_report_lines_warn(&in, "not a 'key<TAB>value' line; skipped");
            continue;
        }
        if (strcmp(f[0], "failure") != 0) {
            dir_meta_add(r, f[0], f[1], &cap);
            continue;
        }
        if (index_failure) { /* meta.tsv has them all: replace index.tsv's first */
            free(r->failures[0]);
            free(r->failures);
            r->failures = NULL;
            r->failure_count = 0;
            index_failure = false;
        }
        if (r->failure_count < 1000) {
            dir_add_failure(r, f[1]);
        }
    }
    weir_report_lines_close(&in);
    dir_meta_fill(r);
}

int weir_report_dir_load(weir_report_dir *d, const char *path)
{
    memset(d, 0, sizeof *d);
    d->path = weir_report_xstrdup(path);
    DIR *probe = opendir(path);
    if (probe == NULL) {
        fprintf(stderr, "weir report: cannot read run folder '%s': %s\n", path, strerror(errno));
        return -1;
    }
    closedir(probe);
    char *index_path = weir_report_path_join(path, "index.tsv");
    int err = dir_load_index(d, index_path);
    if (err == -ENOENT) {
        dir_scan_folders(d);
        if (d->run_count > 0) {
            weir_report_warn("%s not found; reporting the %zu run folder(s) with a meta.tsv",
                             index_path, d->run_count);
        }
    } else if (err != 0) {
        fprintf(stderr, "weir report: cannot read '%s': %s\n", index_path, strerror(-err));
        free(index_path);
        return -1;
    }
    if (d->run_count == 0) {
        fprintf(stderr,
                "weir report: no runs in '%s' (%s has no rows and no run folder has "
                "a meta.tsv)\n",
                path, index_path);
        free(index_path);
        return -1;
    }
    free(index_path);
    for (size_t i = 0; i < d->run_count; i++) {
        dir_load_meta(d, &d->runs[i]);
    }
    return 0;
}

void weir_report_dir_free(weir_report_dir *d)
{
    for (size_t i = 0; i < d->run_count; i++) {
        dir_run_free(&d->runs[i]);
    }
    free(d->runs);
    free(d->path);
    memset(d, 0, sizeof *d);
}

typedef struct dir_order {
    const char *scenario;
    size_t index;
} dir_order;

static int dir_cmp_order(const void *a, const void *b)
{
    const dir_order *x = a, *y = b;
    int c = strcmp(x->scenario, y->scenario);
    return c != 0 ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static int dir_cmp_group(const void *a, const void *b)
{
    const weir_report_group *x = a, *y = b;
    return x->runs[0] < y->runs[0] ? -1 : x->runs[0] > y->runs[0];
}

size_t weir_report_groups(const weir_report_dir *d, weir_report_group **groups_out)
{
    dir_order *order = weir_report_xrealloc(NULL, d->run_count, sizeof *order);
    for (size_t i = 0; i < d->run_count; i++) {
        const char *sc = d->runs[i].scenario;
        order[i] = (dir_order){sc != NULL ? sc : "(unknown scenario)", i};
    }
    qsort(order, d->run_count, sizeof *order, dir_cmp_order);
    weir_report_group *groups = NULL;
    size_t count = 0, cap = 0;
    for (size_t a = 0; a < d->run_count;) {
        size_t b = a + 1;
        while (b < d->run_count && strcmp(order[b].scenario, order[a].scenario) == 0) {
            b++;
        }
        weir_report_reserve((void **)&groups, &cap, count + 1, sizeof *groups);
        weir_report_group *g = &groups[count++];
        memset(g, 0, sizeof *g);
        g->scenario = order[a].scenario;
        g->runs = weir_report_xrealloc(NULL, b - a, sizeof *g->runs);
        for (size_t i = a; i < b; i++) {
            const weir_report_run *r = &d->runs[order[i].index];
            g->runs[g->run_count++] = order[i].index;
            g->pass += r->verdict == WEIR_REPORT_PASS;
            g->fail += r->verdict == WEIR_REPORT_FAIL;
            g->error += r->verdict == WEIR_REPORT_ERROR || r->verdict == WEIR_REPORT_UNKNOWN;
            g->wall_s += r->wall_s > 0 ? r->wall_s : 0;
        }
        a = b;
    }
    free(order);
    if (count > 1) {
        qsort(groups, count, sizeof *groups, dir_cmp_group);
    }
    *groups_out = groups;
    return count;
}

void weir_report_groups_free(weir_report_group *groups, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(groups[i].runs);
    }
    free(groups);
}
