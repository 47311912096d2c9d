/* Coverage from an lcov tracefile (SF:, FN:, FNDA:, DA:, LF:/LH:, and the
 * newer FNL:/FNA: function records): which replication, election,
 * truncation and recovery functions the tests reached, and line coverage per
 * file of impl/ and sim/. Paths are shortened to start at impl/ or sim/ so
 * the table reads the same wherever the tree was built.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define COV_FILES_MAX 100000
#define COV_FNS_MAX 200000
#define COV_FNL_MAX 100000

/* Files whose functions are listed, by shortened path prefix. */
static const char *const cov_dirs[] = {"impl/replication/", "impl/controller/",
                                       "impl/broker/replica_mgr.c", "impl/log/"};
/* A listed function's name contains one of these (case-insensitive). */
static const char *const cov_words[] = {"truncat",        "elect", "isr",    "recover", "epoch",
                                        "high_watermark", "hw",    "leader", "fence"};

/* The path from its impl/ or sim/ component on, or NULL if it has none. */
static const char *cov_short(const char *path)
{
    static const char *const roots[] = {"impl/", "sim/"};
    for (size_t i = 0; i < 2; i++) {
        if (strncmp(path, roots[i], strlen(roots[i])) == 0) {
            return path;
        }
        const char *last = NULL;
        size_t rl = strlen(roots[i]);
        for (const char *p = path; (p = strstr(p, roots[i])) != NULL; p += rl) {
            if (p > path && p[-1] == '/') {
                last = p;
            }
        }
        if (last != NULL) {
            return last;
        }
    }
    return NULL;
}

static bool cov_listed_file(const char *short_path)
{
    for (size_t i = 0; i < sizeof cov_dirs / sizeof cov_dirs[0]; i++) {
        if (strncmp(short_path, cov_dirs[i], strlen(cov_dirs[i])) == 0) {
            return true;
        }
    }
    return false;
}

static bool cov_listed_name(const char *name)
{
    char lower[256];
    size_t n = 0;
    for (; name[n] != '\0' && n < sizeof lower - 1; n++) {
        lower[n] = (char)tolower((unsigned char)name[n]);
    }
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof cov_words / sizeof cov_words[0]; i++) {
        if (strstr(lower, cov_words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

typedef struct cov_state {
    weir_report_cov *c;
    int file;    /* current SF record's file, -1 outside or when not kept */
    bool listed; /* its functions are listed */
    bool saw_da; /* DA lines seen in this record (else LF/LH count) */
    long lf, lh;
    long *fnl; /* FNL index -> line */
    size_t fnl_count;
} cov_state;

static int cov_file_add(weir_report_cov *c, const char *short_path)
{
    for (size_t i = 0; i < c->file_count; i++) {
        if (strcmp(c->files[i].path, short_path) == 0) {
            return (int)i;
        }
    }
    if (c->file_count >= COV_FILES_MAX) {
        return -1;
    }
    weir_report_reserve((void **)&c->files, &c->files_cap, c->file_count + 1, sizeof *c->files);
    c->files[c->file_count] = (weir_report_cov_file){weir_report_xstrdup(short_path), 0, 0};
    return (int)c->file_count++;
}

/* The listed function `name` of the current file, added if new. */
static weir_report_cov_fn *cov_fn(cov_state *s, const char *name, long line)
{
    weir_report_cov *c = s->c;
    for (size_t i = c->fn_count; i > 0; i--) {
        weir_report_cov_fn *fn = &c->fns[i - 1];
        if (fn->file == s->file && strcmp(fn->name, name) == 0) {
            if (fn->line <= 0) {
                fn->line = line;
            }
            return fn;
        }
    }
    if (c->fn_count >= COV_FNS_MAX) {
        return NULL;
    }
    weir_report_reserve((void **)&c->fns, &c->fns_cap, c->fn_count + 1, sizeof *c->fns);
    weir_report_cov_fn *fn = &c->fns[c->fn_count++];
    *fn = (weir_report_cov_fn){weir_report_xstrdup(name), s->file, line, 0};
    return fn;
}

static void cov_end_record(cov_state *s)
{
    if (s->file >= 0 && !s->saw_da) {
        s->c->files[s->file].lines_found += s->lf;
        s->c->files[s->file].lines_hit += s->lh;
    }
    s->file = -1;
    s->listed = false;
    s->saw_da = false;
    s->lf = s->lh = 0;
    s->fnl_count = 0;
}

/* "a,b,c" -> numbers a and b and the text after the last comma used. */
static int cov_fields(char *v, char **f, size_t want)
{
    size_t n = 0;
    f[n++] = v;
    for (char *p = v; *p != '\0' && n < want; p++) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return (int)n;
}

static void cov_line(cov_state *s, weir_report_lines *in, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL) {
        if (strcmp(line, "end_of_record") == 0) {
            cov_end_record(s);
        }
        return;
    }
    *colon = '\0';
    const char *tag = line;
    char *v = colon + 1;
    char *f[4];
    int64_t a = 0, b = 0;
    if (strcmp(tag, "SF") == 0) {
        cov_end_record(s);
        const char *sp = cov_short(v);
        if (sp != NULL) {
            s->file = cov_file_add(s->c, sp);
            s->listed = s->file >= 0 && cov_listed_file(sp);
        }
        return;
    }
    if (s->file < 0) {
        return;
    }
    if (strcmp(tag, "DA") == 0) {
        if (cov_fields(v, f, 3) < 2 || weir_report_parse_i64(f[0], &a) != 0 ||
            weir_report_parse_i64(f[1], &b) != 0) {
            weir_report_lines_warn(in, "malformed DA record; skipped");
            return;
        }
        s->saw_da = true;
        s->c->files[s->file].lines_found++;
        s->c->files[s->file].lines_hit += b > 0;
    } else if (strcmp(tag, "LF") == 0 || strcmp(tag, "LH") == 0) {
        if (weir_report_parse_i64(v, &a) == 0) {
            *(tag[1] == 'F' ? &s->lf : &s->lh) = (long)a;
        }
    } else if (!s->listed) {
        return;
    } else if (strcmp(tag, "FN") == 0) {
        /* FN:<line>,<name> or FN:<line>,<end line>,<name> */
        char *last = strrchr(v, ',');
        char *first = strchr(v, ',');
        if (first == NULL || last == NULL) {
            weir_report_lines_warn(in, "malformed FN record; skipped");
            return;
        }
        *first = '\0';
        if (weir_report_parse_i64(v, &a) != 0) {
            weir_report_lines_warn(in, "malformed FN record; skipped");
            return;
        }
        if (cov_listed_name(last + 1)) {
            cov_fn(s, last + 1, (long)a);
        }
    } else if (strcmp(tag, "FNDA") == 0) {
        char *comma = strchr(v, ',');
        if (comma == NULL || (*comma = '\0', weir_report_parse_i64(v, &a) != 0)) {
            weir_report_lines_warn(in, "malformed FNDA record; skipped");
            return;
        }
        weir_report_cov_fn *fn = cov_listed_name(comma + 1) ? cov_fn(s, comma + 1, 0) : NULL;
        if (fn != NULL) {
            fn->hits += a;
        }
    } else if (strcmp(tag, "FNL") == 0) {
        /* FNL:<index>,<line>[,<end line>] */
        if (cov_fields(v, f, 3) < 2 || weir_report_parse_i64(f[0], &a) != 0 ||
            weir_report_parse_i64(f[1], &b) != 0 || a < 0 || a >= COV_FNL_MAX) {
            weir_report_lines_warn(in, "malformed FNL record; skipped");
            return;
        }
        if ((size_t)a >= s->fnl_count) {
            s->fnl = weir_report_xrealloc(s->fnl, (size_t)a + 1, sizeof *s->fnl);
            for (size_t i = s->fnl_count; i <= (size_t)a; i++) {
                s->fnl[i] = 0;
            }
            s->fnl_count = (size_t)a + 1;
        }
        s->fnl[a] = (long)b;
    } else if (strcmp(tag, "FNA") == 0) {
        /* FNA:<index>,<hits>,<name> */
        if (cov_fields(v, f, 3) != 3 || weir_report_parse_i64(f[0], &a) != 0 ||
            weir_report_parse_i64(f[1], &b) != 0) {
            weir_report_lines_warn(in, "malformed FNA record; skipped");
            return;
        }
        long at = a >= 0 && (size_t)a < s->fnl_count ? s->fnl[a] : 0;
        weir_report_cov_fn *fn = cov_listed_name(f[2]) ? cov_fn(s, f[2], at) : NULL;
        if (fn != NULL) {
            fn->hits += b;
        }
    }
}

int weir_report_cov_load(weir_report_cov *c, const char *info_path)
{
    memset(c, 0, sizeof *c);
    c->info_path = weir_report_xstrdup(info_path);
    weir_report_lines in;
    int err = weir_report_lines_open(&in, info_path);
    if (err != 0) {
        fprintf(stderr, "weir report: cannot read coverage file '%s': %s\n", info_path,
                strerror(-err));
        return -1;
    }
    cov_state s = {c, -1, false, false, 0, 0, NULL, 0};
    char *line;
    while ((line = weir_report_lines_next(&in)) != NULL) {
        cov_line(&s, &in, line);
    }
    cov_end_record(&s);
    free(s.fnl);
    weir_report_lines_close(&in);
    return 0;
}

void weir_report_cov_free(weir_report_cov *c)
{
    for (size_t i = 0; i < c->file_count; i++) {
        free(c->files[i].path);
    }
    free(c->files);
    for (size_t i = 0; i < c->fn_count; i++) {
        free(c->fns[i].name);
    }
    free(c->fns);
    free(c->html_link);
    free(c->info_path);
    memset(c, 0, sizeof *c);
}

typedef struct cov_row {
    const char *path;
    const weir_report_cov_fn *fn;
} cov_row;

static int cov_cmp_row(const void *a, const void *b)
{
    const cov_row *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c != 0) {
        return c;
    }
    if (x->fn->line != y->fn->line) {
        return x->fn->line < y->fn->line ? -1 : 1;
    }
    return strcmp(x->fn->name, y->fn->name);
}

static int cov_cmp_file(const void *a, const void *b)
{
    const weir_report_cov_file *x = a, *y = b;
    return strcmp(x->path, y->path);
}

static void cov_functions_html(FILE *f, const weir_report_cov *c)
{
    size_t reached = 0;
    for (size_t i = 0; i < c->fn_count; i++) {
        reached += c->fns[i].hits > 0;
    }
    fputs("<h3>Replication, election, truncation and recovery functions</h3>\n", f);
    if (c->fn_count == 0) {
        fputs("<p class=\"note\">none in this tracefile (files under impl/replication/, "
              "impl/controller/, impl/log/ and impl/broker/replica_mgr.c)</p>\n",
              f);
        return;
    }
    fprintf(f,
            "<p class=\"sub\">%zu of %zu reached</p>\n<div class=\"scroll\"><table>\n"
            "<tr><th>function</th><th>file</th><th class=\"num\">hits</th></tr>\n",
            reached, c->fn_count);
    cov_row *rows = weir_report_xrealloc(NULL, c->fn_count, sizeof *rows);
    for (size_t i = 0; i < c->fn_count; i++) {
        rows[i] = (cov_row){c->files[c->fns[i].file].path, &c->fns[i]};
    }
    qsort(rows, c->fn_count, sizeof *rows, cov_cmp_row);
    for (size_t i = 0; i < c->fn_count; i++) {
        const weir_report_cov_fn *fn = rows[i].fn;
        fprintf(f, "<tr%s><td class=\"mono\">", fn->hits > 0 ? "" : " class=\"bad\"");
        weir_report_put_esc(f, fn->name);
        fputs("</td><td class=\"mono\">", f);
        weir_report_put_esc(f, rows[i].path);
        fprintf(f, ":%ld</td><td class=\"num\">%s%lld</td></tr>\n", fn->line,
                fn->hits > 0 ? "" : "never ", (long long)fn->hits);
    }
    fputs("</table></div>\n", f);
    free(rows);
}

static void cov_files_html(FILE *f, const weir_report_cov *c)
{
    long found = 0, hit = 0;
    for (size_t i = 0; i < c->file_count; i++) {
        found += c->files[i].lines_found;
        hit += c->files[i].lines_hit;
    }
    fprintf(f,
            "<h3>Line coverage per file</h3>\n<p class=\"sub\">impl/ and sim/: %ld of %ld "
            "lines (%.1f%%)</p>\n",
            hit, found, found > 0 ? 100.0 * (double)hit / (double)found : 0.0);
    if (c->file_count == 0) {
        return;
    }
    weir_report_cov_file *sorted = weir_report_xrealloc(NULL, c->file_count, sizeof *sorted);
    memcpy(sorted, c->files, c->file_count * sizeof *sorted);
    qsort(sorted, c->file_count, sizeof *sorted, cov_cmp_file);
    fputs("<details open><summary>files</summary><div class=\"scroll\"><table>\n<tr><th>file</th>"
          "<th class=\"num\">lines</th><th class=\"num\">hit</th><th class=\"num\">%</th><th></th>"
          "</tr>\n",
          f);
    for (size_t i = 0; i < c->file_count; i++) {
        const weir_report_cov_file *cf = &sorted[i];
        double pct =
            cf->lines_found > 0 ? 100.0 * (double)cf->lines_hit / (double)cf->lines_found : 0;
        const char *color = pct >= 90 ? "#22c55e" : pct >= 75 ? "#f59e0b" : "#ef4444";
        fputs("<tr><td class=\"mono\">", f);
        weir_report_put_esc(f, cf->path);
        fprintf(f,
                "</td><td class=\"num\">%ld</td><td class=\"num\">%ld</td><td class=\"num\">"
                "%.1f</td><td><svg class=\"bar\" width=\"120\" height=\"10\"><rect width=\"120\" "
                "height=\"10\" fill=\"#eef0f3\"/><rect width=\"%.1f\" height=\"10\" fill=\"%s\"/>"
                "</svg></td></tr>\n",
                cf->lines_found, cf->lines_hit, pct, 1.2 * pct, color);
    }
    fputs("</table></div></details>\n", f);
    free(sorted);
}

void weir_report_cov_html(FILE *f, const weir_report_cov *c)
{
    fputs("<h2>Coverage</h2>\n<p class=\"sub\">", f);
    if (c->info_path != NULL) {
        fputs("from <code>", f);
        weir_report_put_esc(f, c->info_path);
        fputs("</code>", f);
    } else {
        fputs("no tracefile given (--coverage FILE.info)", f);
    }
    if (c->html_link != NULL) {
        fputs(" &middot; <a href=\"", f);
        if (strstr(c->html_link, "://") != NULL) {
            weir_report_put_esc(f, c->html_link);
        } else {
            weir_report_put_url_path(f, c->html_link);
        }
        fputs("\">lcov HTML report</a>", f);
    }
    fputs("</p>\n", f);
    if (c->info_path == NULL) {
        return;
    }
    cov_functions_html(f, c);
    cov_files_html(f, c);
}
