/* Line-oriented input for `weir report`: getline-based (no fixed buffers),
 * bounded in line length and line count, with warnings that name FILE:LINE
 * and are rate-limited per file so a damaged file cannot flood stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static long tsv_warnings;

long weir_report_warning_count(void)
{
    return tsv_warnings;
}

void weir_report_warn(const char *fmt, ...)
{
    va_list ap;
    tsv_warnings++;
    fputs("weir report: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int weir_report_lines_open(weir_report_lines *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "r");
    if (r->f == NULL) {
        return -errno;
    }
    r->path = weir_report_xstrdup(path);
    return 0;
}

void weir_report_lines_warn(weir_report_lines *r, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (r->on_warn != NULL) {
        r->on_warn(r->on_warn_arg, r->number, message);
    }
    tsv_warnings++;
    if (r->warned >= WEIR_REPORT_WARNINGS_PER_FILE) {
        r->suppressed++;
        return;
    }
    r->warned++;
    fprintf(stderr, "weir report: warning: %s:%ld: %s\n", r->path, r->number, message);
}

char *weir_report_lines_next(weir_report_lines *r)
{
    if (r->f == NULL) {
        return NULL;
    }
    for (;;) {
        if (r->number >= WEIR_REPORT_LINES_MAX) {
            r->number++;
            weir_report_lines_warn(r, "more than %ld lines; the rest is ignored",
                                   WEIR_REPORT_LINES_MAX);
            return NULL;
        }
        errno = 0;
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) {
            if (errno == ENOMEM) {
                fputs("weir report: out of memory\n", stderr);
                exit(1);
            }
            if (ferror(r->f)) {
                weir_report_lines_warn(r, "read error: %s", strerror(errno));
            }
            return NULL;
        }
        r->number++;
        if ((size_t)n > WEIR_REPORT_LINE_BYTES_MAX) {
            weir_report_lines_warn(r, "line longer than %u bytes; skipped",
                                   WEIR_REPORT_LINE_BYTES_MAX);
            continue;
        }
        while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r')) {
            r->line[--n] = '\0';
        }
        if (memchr(r->line, '\0', (size_t)n) != NULL) {
            weir_report_lines_warn(r, "NUL byte in line; skipped");
            continue;
        }
        return r->line;
    }
}

void weir_report_lines_close(weir_report_lines *r)
{
    if (r->suppressed > 0) {
        fprintf(stderr, "weir report: warning: %s: %d more malformed line(s) not shown\n", r->path,
                r->suppressed);
    }
    if (r->f != NULL) {
        fclose(r->f);
    }
    free(r->line);
    free(r->path);
    memset(r, 0, sizeof *r);
}

size_t weir_report_split(char *line, char **fields, size_t max)
{
    if (max == 0) {
        return 0;
    }
    size_t n = 0;
    char *p = line;
    fields[n++] = p;
    while (n < max) {
        char *tab = strchr(p, '\t');
        if (tab == NULL) {
            break;
        }
        *tab = '\0';
        p = tab + 1;
        fields[n++] = p;
    }
    return n;
}
