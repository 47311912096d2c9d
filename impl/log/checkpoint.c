#include "log/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define CHECKPOINT_MAX_BYTES (16 * 1024 * 1024)

int weir_checkpoint_replace(weir_env *env, const char *dir, const char *name, const void *data,
                            size_t len)
{
    char path[1024], tmp[1040];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        return WEIR_E_INVAL;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    weir_file *f;
    int err = weir_file_open(env, tmp, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    if (err != 0) {
        return err;
    }
    err = weir_file_pwrite(env, f, data, len, 0);
    if (err == 0) {
        err = weir_file_sync(env, f);
    }
    weir_file_close(env, f);
    if (err == 0) {
        err = weir_fs_rename(env, tmp, path);
    }
    if (err != 0) {
        weir_ignore(weir_fs_unlink(env, tmp));
    }
    return err;
}

int weir_checkpoint_slurp(weir_env *env, const char *path, size_t max_bytes, char **out,
                          size_t *len_out)
{
    weir_file *f;
    int err = weir_file_open(env, path, WEIR_F_RDONLY, &f);
    if (err != 0) {
        return err;
    }
    uint64_t size = 0;
    err = weir_file_size(env, f, &size);
    char *buf = NULL;
    size_t got = 0;
    if (err == 0 && size > max_bytes) {
        err = WEIR_E_CORRUPT;
    }
    if (err == 0 && (buf = malloc((size_t)size + 1)) == NULL) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0) {
        err = weir_file_pread(env, f, buf, (size_t)size, 0, &got);
    }
    weir_file_close(env, f);
    if (err != 0) {
        free(buf);
        return err;
    }
    buf[got] = '\0';
    *out = buf;
    *len_out = got;
    return 0;
}

/* ---- a tiny line reader with line numbers ---- */

typedef struct lines {
    const char *p;
    const char *end;
    int line;
} lines;

/* Next line without its '\n'; false at end of input. A last line without
 * '\n' is accepted only if empty (a torn write would leave one). */
static bool next_line(lines *l, const char **s, size_t *n, bool *torn)
{
    *torn = false;
    if (l->p >= l->end) {
        return false;
    }
    const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    l->line++;
    *s = l->p;
    if (nl == NULL) {
        *n = (size_t)(l->end - l->p);
        l->p = l->end;
        *torn = true;
        return true;
    }
    *n = (size_t)(nl - l->p);
    l->p = nl + 1;
    return true;
}

/* Parses a decimal integer (optional '-') filling [s, s+n) up to a space or end. */
static bool parse_int(const char **s, const char *end, int64_t *out)
{
    const char *p = *s;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        return false;
    }
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
        p++;
    }
    *out = neg ? -v : v;
    *s = p;
    return true;
}

static int fail(char *why, size_t size, const char *name, int line, const char *msg)
{
    if (why != NULL && size > 0) {
        snprintf(why, size, "%s:%d: %s", name, line, msg);
    }
    return WEIR_E_CORRUPT;
}

/* Reads "<int>\n" lines 1 and 2: version must be 0; returns the count. */
static int read_head(lines *l, const char *name, int64_t *count, char *why, size_t why_size)
{
    const char *s;
    size_t n;
    bool torn;
    int64_t v;
    const char *p;
    if (!next_line(l, &s, &n, &torn) || torn) {
        return fail(why, why_size, name, l->line + (torn ? 0 : 1), "missing version line");
    }
    p = s;
    if (!parse_int(&p, s + n, &v) || p != s + n || v != 0) {
        return fail(why, why_size, name, l->line, "version must be 0");
    }
    if (!next_line(l, &s, &n, &torn) || torn) {
        return fail(why, why_size, name, l->line + (torn ? 0 : 1), "missing entry count line");
    }
    p = s;
    if (!parse_int(&p, s + n, count) || p != s + n || *count < 0) {
        return fail(why, why_size, name, l->line, "entry count must be a number >= 0");
    }
    return 0;
}

int weir_offset_checkpoint_write(weir_env *env, const char *dir, const char *name,
                                 const char *topic, int32_t partition, int64_t offset)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "0\n1\n%s %d %lld\n", topic, partition, (long long)offset);
    if (n < 0 || (size_t)n >= sizeof buf) {
        return WEIR_E_INVAL;
    }
    return weir_checkpoint_replace(env, dir, name, buf, (size_t)n);
}

int weir_offset_checkpoint_read(weir_env *env, const char *dir, const char *name,
                                const char *topic, int32_t partition, int64_t *offset_out,
                                char *why, size_t why_size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text;
    size_t len;
    int err = weir_checkpoint_slurp(env, path, CHECKPOINT_MAX_BYTES, &text, &len);
    if (err == WEIR_E_CORRUPT) {
        return fail(why, why_size, name, 0, "file too large");
    }
    if (err != 0) {
        return err;
    }
    lines l = {text, text + len, 0};
    int64_t count = 0;
    err = read_head(&l, name, &count, why, why_size);
    bool found = false;
    for (int64_t i = 0; err == 0 && i < count; i++) {
        const char *s;
        size_t n;
        bool torn;
        if (!next_line(&l, &s, &n, &torn) || torn) {
            err = fail(why, why_size, name, l.line + (torn ? 0 : 1), "missing entry line");
            break;
        }
        /* "<topic> <partition> <offset>": the topic may not contain spaces */
        const char *sp = memchr(s, ' ', n);
        const char *p = sp ? sp + 1 : NULL;
        int64_t part = 0, off = 0;
        if (sp == NULL || !parse_int(&p, s + n, &part) || p >= s + n || *p != ' ' ||
            (p++, !parse_int(&p, s + n, &off)) || p != s + n || off < 0) {
            err = fail(why, why_size, name, l.line, "expected '<topic> <partition> <offset>'");
            break;
        }
        if ((size_t)(sp - s) == strlen(topic) && memcmp(s, topic, (size_t)(sp - s)) == 0 &&
            part == partition) {
            *offset_out = off;
            found = true;
        }
    }
    free(text);
    if (err == 0 && !found) {
        return WEIR_E_NOENT;
    }
    return err;
}

int weir_epoch_checkpoint_write(weir_env *env, const char *dir, const weir_epoch_entry *entries,
                                size_t n)
{
    size_t cap = 32 + n * 34;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return WEIR_E_NOMEM;
    }
    size_t len = (size_t)snprintf(buf, cap, "0\n%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%d %lld\n", entries[i].epoch,
                                (long long)entries[i].start_offset);
    }
    WEIR_ASSERT(len < cap);
    int err = weir_checkpoint_replace(env, dir, WEIR_EPOCH_CHECKPOINT, buf, len);
    free(buf);
    return err;
}

int weir_epoch_checkpoint_read(weir_env *env, const char *dir, weir_epoch_entry **entries_out,
                               size_t *n_out, char *why, size_t why_size)
{
    static const char name[] = WEIR_EPOCH_CHECKPOINT;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *entries_out = NULL;
    *n_out = 0;
    char *text;
    size_t len;
    int err = weir_checkpoint_slurp(env, path, CHECKPOINT_MAX_BYTES, &text, &len);
    if (err == WEIR_E_CORRUPT) {
        return fail(why, why_size, name, 0, "file too large");
    }
    if (err != 0) {
        return err;
    }
    lines l = {text, text + len, 0};
    int64_t count = 0;
    err = read_head(&l, name, &count, why, why_size);
    if (err == 0 && count > (int64_t)(len / 4 + 1)) {
        err = fail(why, why_size, name, 2, "entry count larger than the file");
    }
    weir_epoch_entry *entries = NULL;
    if (err == 0 && count > 0 && (entries = malloc((size_t)count * sizeof *entries)) == NULL) {
        err = WEIR_E_NOMEM;
    }
    for (int64_t i = 0; err == 0 && i < count; i++) {
        const char *s;
        size_t n;
        bool torn;
        if (!next_line(&l, &s, &n, &torn) || torn) {
            err = fail(why, why_size, name, l.line + (torn ? 0 : 1), "missing entry line");
            break;
        }
        const char *p = s;
        int64_t epoch = 0, off = 0;
        if (!parse_int(&p, s + n, &epoch) || p >= s + n || *p != ' ' ||
            (p++, !parse_int(&p, s + n, &off)) || p != s + n) {
            err = fail(why, why_size, name, l.line, "expected '<epoch> <start offset>'");
            break;
        }
        if (epoch < 0 || epoch > INT32_MAX || off < 0 ||
            (i > 0 && (epoch <= entries[i - 1].epoch || off < entries[i - 1].start_offset))) {
            err = fail(why, why_size, name, l.line, "epochs and start offsets must increase");
            break;
        }
        entries[i].epoch = (int32_t)epoch;
        entries[i].start_offset = off;
    }
    free(text);
    if (err != 0) {
        free(entries);
        return err;
    }
    *entries_out = entries;
    *n_out = (size_t)count;
    return 0;
}
