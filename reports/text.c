/* Memory, escaping, number parsing and path helpers for `weir report`.
 *
 * Escaping keeps every page and XML file well-formed whatever the input
 * holds: markup characters become entities, and bytes that are not valid
 * UTF-8 or are control characters (other than tab and newline) become U+FFFD.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void text_oom(void)
{
    fputs("weir report: out of memory\n", stderr);
    exit(1);
}

void *weir_report_xmalloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL) {
        text_oom();
    }
    return p;
}

void *weir_report_xrealloc(void *p, size_t count, size_t elem_size)
{
    if (elem_size != 0 && count > SIZE_MAX / elem_size) {
        text_oom();
    }
    size_t bytes = count * elem_size;
    void *q = realloc(p, bytes == 0 ? 1 : bytes);
    if (q == NULL) {
        text_oom();
    }
    return q;
}

char *weir_report_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = weir_report_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void weir_report_reserve(void **items, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap) {
        return;
    }
    size_t grown = *cap < 16 ? 16 : *cap;
    while (grown < need) {
        if (grown > SIZE_MAX / 2) {
            text_oom();
        }
        grown *= 2;
    }
    *items = weir_report_xrealloc(*items, grown, elem_size);
    *cap = grown;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t text_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) {
        return 0;
    }
    return n;
}

void weir_report_put_esc(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    while (*p != '\0') {
        unsigned char c = *p;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            p++;
            continue;
        case '<':
            fputs("&lt;", f);
            p++;
            continue;
        case '>':
            fputs("&gt;", f);
            p++;
            continue;
        case '"':
            fputs("&quot;", f);
            p++;
            continue;
        case '\'':
            fputs("&#39;", f);
            p++;
            continue;
        default:
            break;
        }
        if (c < 0x20 && c != '\t' && c != '\n') {
            fputs("\xEF\xBF\xBD", f);
            p++;
            continue;
        }
        size_t n = text_utf8_len(p);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", f);
            p++;
            continue;
        }
        fwrite(p, 1, n, f);
        p += n;
    }
}

static void text_put_url(FILE *f, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        if ((keep_slash && c == '/') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
            fputc(c, f);
        } else {
            fputc('%', f);
            fputc(hex[c >> 4], f);
            fputc(hex[c & 15], f);
        }
    }
}

void weir_report_put_url(FILE *f, const char *s)
{
    text_put_url(f, s, false);
}

void weir_report_put_url_path(FILE *f, const char *s)
{
    text_put_url(f, s, true);
}

int weir_report_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int weir_report_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

char *weir_report_path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    while (dl > 1 && dir[dl - 1] == '/') {
        dl--;
    }
    char *p = weir_report_xmalloc(dl + 1 + nl + 1);
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

char *weir_report_path_relative(const char *from_dir, const char *target)
{
    char *from = realpath(from_dir, NULL);
    char *to = realpath(target, NULL);
    char *rel = NULL;
    if (from == NULL || to == NULL) {
        goto free_paths;
    }
    /* Longest common prefix ending at a component boundary. */
    size_t common = 0;
    for (size_t i = 0;; i++) {
        bool end_from = from[i] == '\0' || from[i] == '/';
        bool end_to = to[i] == '\0' || to[i] == '/';
        if (end_from && end_to) {
            common = i;
        }
        if (from[i] == '\0' || to[i] == '\0' || from[i] != to[i]) {
            break;
        }
    }
    size_t ups = 0;
    for (size_t i = common; from[i] != '\0'; i++) {
        if (from[i] == '/' && from[i + 1] != '\0') {
            ups++;
        }
    }
    if (strcmp(from, "/") == 0) {
        ups = 0;
    }
    const char *rest = to + common;
    while (*rest == '/') {
        rest++;
    }
    size_t n = ups * 3 + strlen(rest) + 1;
    rel = weir_report_xmalloc(n);
    rel[0] = '\0';
    for (size_t i = 0; i < ups; i++) {
        strcat(rel, "../");
    }
    strcat(rel, rest);
free_paths:
    free(from);
    free(to);
    return rel;
}

FILE *weir_report_out_open(const char *dir, const char *name, char **tmp_out)
{
    size_t n = strlen(name) + 6;
    char *hidden = weir_report_xmalloc(n);
    snprintf(hidden, n, ".%s.tmp", name);
    *tmp_out = weir_report_path_join(dir, hidden);
    free(hidden);
    FILE *f = fopen(*tmp_out, "w");
    if (f == NULL) {
        fprintf(stderr, "weir report: cannot write '%s': %s\n", *tmp_out, strerror(errno));
    }
    return f;
}

int weir_report_out_commit(FILE *f, char *tmp, const char *dir, const char *name)
{
    int rc = -1;
    char *path = weir_report_path_join(dir, name);
    if (f == NULL) {
        goto free_paths;
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        fprintf(stderr, "weir report: cannot write '%s': %s\n", tmp, strerror(errno));
        remove(tmp);
        goto free_paths;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "weir report: cannot rename '%s' to '%s': %s\n", tmp, path,
                strerror(errno));
        remove(tmp);
        goto free_paths;
    }
    rc = 0;
free_paths:
    free(path);
    free(tmp);
    return rc;
}

void weir_report_fmt_seconds(char *buf, size_t size, double s)
{
    if (s < 0) {
        snprintf(buf, size, "-");
    } else if (s >= 100) {
        snprintf(buf, size, "%.0f s", s);
    } else if (s >= 1) {
        snprintf(buf, size, "%.2f s", s);
    } else {
        snprintf(buf, size, "%.3f s", s);
    }
}

void weir_report_fmt_count(char *buf, size_t size, int64_t n)
{
    char digits[24];
    /* Through uint64_t so INT64_MIN negates without overflow. */
    uint64_t mag = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)mag);
    char out[40];
    size_t at = 0;
    if (n < 0) {
        out[at++] = '-';
    }
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            out[at++] = ',';
        }
        out[at++] = digits[i];
    }
    out[at] = '\0';
    snprintf(buf, size, "%s", out);
}

void weir_report_fmt_bytes(char *buf, size_t size, int64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%lld B", (long long)bytes);
        return;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
}
