/* JSON writer and flat-object reader (flow_json.h). */
#include "flow/flow_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

/* ---- writer ---- */

void weir_json_init(weir_json_writer *w)
{
    memset(w, 0, sizeof *w);
}

void weir_json_free(weir_json_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

char *weir_json_take(weir_json_writer *w, size_t *len_out)
{
    WEIR_ASSERT(w->failed || w->depth == 0);
    char *text = w->failed ? NULL : w->data;
    if (text == NULL && !w->failed) {
        text = calloc(1, 1);
    }
    if (len_out != NULL) {
        *len_out = text != NULL ? w->len : 0;
    }
    if (w->failed) {
        free(w->data);
    }
    memset(w, 0, sizeof *w);
    return text;
}

static void jw_put(weir_json_writer *w, const char *s, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(w->data, cap);
        if (d == NULL) {
            w->failed = true;
            return;
        }
        w->data = d;
        w->cap = cap;
    }
    memcpy(w->data + w->len, s, n);
    w->len += n;
    w->data[w->len] = '\0';
}

static void jw_putc(weir_json_writer *w, char c)
{
    jw_put(w, &c, 1);
}

/* Before any value or key: the comma between elements. */
static void jw_element(weir_json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0) {
        return;
    }
    uint64_t bit = 1ULL << (w->depth - 1);
    if (w->has_items & bit) {
        jw_putc(w, ',');
    }
    w->has_items |= bit;
}

static void jw_open(weir_json_writer *w, char c)
{
    jw_element(w);
    WEIR_ASSERT(w->depth < WEIR_JSON_DEPTH_MAX);
    jw_putc(w, c);
    w->depth++;
    w->has_items &= ~(1ULL << (w->depth - 1));
}

static void jw_close(weir_json_writer *w, char c)
{
    WEIR_ASSERT(w->depth > 0 && !w->after_key);
    w->depth--;
    jw_putc(w, c);
}

void weir_json_object_begin(weir_json_writer *w)
{
    jw_open(w, '{');
}

void weir_json_object_end(weir_json_writer *w)
{
    jw_close(w, '}');
}

void weir_json_array_begin(weir_json_writer *w)
{
    jw_open(w, '[');
}

void weir_json_array_end(weir_json_writer *w)
{
    jw_close(w, ']');
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t jw_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

static void jw_escaped(weir_json_writer *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    jw_putc(w, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            break;
        }
        if (esc != NULL) {
            jw_put(w, esc, 2);
            i++;
        } else if (c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            jw_put(w, u, 6);
            i++;
        } else {
            size_t n = jw_utf8_len(p + i, len - i);
            if (n == 0) {
                jw_put(w, "\\ufffd", 6); /* not UTF-8: the replacement character */
                i++;
            } else {
                jw_put(w, s + i, n);
                i += n;
            }
        }
    }
    jw_putc(w, '"');
}

void weir_json_key(weir_json_writer *w, const char *key)
{
    WEIR_ASSERT(w->depth > 0 && !w->after_key);
    jw_element(w);
    jw_escaped(w, key, strlen(key));
    jw_putc(w, ':');
    w->after_key = true;
}

void weir_json_string_len(weir_json_writer *w, const char *s, size_t len)
{
    jw_element(w);
    jw_escaped(w, s, len);
}

void weir_json_string(weir_json_writer *w, const char *s)
{
    if (s == NULL) {
        weir_json_null(w);
        return;
    }
    weir_json_string_len(w, s, strlen(s));
}

void weir_json_u64(weir_json_writer *w, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    jw_element(w);
    jw_put(w, b, (size_t)n);
}

void weir_json_i64(weir_json_writer *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    jw_element(w);
    jw_put(w, b, (size_t)n);
}

void weir_json_bool(weir_json_writer *w, bool v)
{
    jw_element(w);
    jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void weir_json_null(weir_json_writer *w)
{
    jw_element(w);
    jw_put(w, "null", 4);
}

void weir_json_field_string(weir_json_writer *w, const char *key, const char *s)
{
    weir_json_key(w, key);
    weir_json_string(w, s);
}

void weir_json_field_u64(weir_json_writer *w, const char *key, uint64_t v)
{
    weir_json_key(w, key);
    weir_json_u64(w, v);
}

void weir_json_field_i64(weir_json_writer *w, const char *key, int64_t v)
{
    weir_json_key(w, key);
    weir_json_i64(w, v);
}

void weir_json_field_bool(weir_json_writer *w, const char *key, bool v)
{
    weir_json_key(w, key);
    weir_json_bool(w, v);
}

/* ---- reader ---- */

typedef struct jr {
    const char *s;
    size_t len;
    size_t pos;
    const char *field; /* the field being read, for messages; NULL before its key */
    char *why;
    size_t why_size;
    int err;
} jr;

static int jr_fail(jr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int jr_fail(jr *r, const char *fmt, ...)
{
    if (r->err != 0) {
        return r->err;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->why != NULL && r->why_size > 0) {
        if (r->field != NULL) {
            snprintf(r->why, r->why_size, "field '%s': %s", r->field, msg);
        } else {
            snprintf(r->why, r->why_size, "offset %zu: %s", r->pos, msg);
        }
    }
    r->err = WEIR_E_INVAL;
    return r->err;
}

static int jr_oom(jr *r)
{
    if (r->why != NULL && r->why_size > 0) {
        snprintf(r->why, r->why_size, "out of memory");
    }
    r->err = WEIR_E_NOMEM;
    return r->err;
}

static void jr_ws(jr *r)
{
    while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
                               r->s[r->pos] == '\n' || r->s[r->pos] == '\r')) {
        r->pos++;
    }
}

static bool jr_peek(jr *r, char c)
{
    jr_ws(r);
    return r->pos < r->len && r->s[r->pos] == c;
}

static int jr_hex4(jr *r, unsigned *out)
{
    if (r->len - r->pos < 4) {
        return jr_fail(r, "offset %zu: \\u needs four hex digits", r->pos);
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->s[r->pos + (size_t)i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16) {
            return jr_fail(r, "offset %zu: \\u needs four hex digits", r->pos);
        }
        v = v * 16 + d;
    }
    r->pos += 4;
    *out = v;
    return 0;
}

static size_t jr_utf8_put(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX (and its low surrogate) after the backslash and 'u'. */
static int jr_unicode(jr *r, char *out, size_t *n)
{
    unsigned cp;
    if (jr_hex4(r, &cp) != 0) {
        return r->err;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return jr_fail(r, "offset %zu: a lone low surrogate", r->pos);
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (r->len - r->pos < 2 || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u') {
            return jr_fail(r, "offset %zu: a high surrogate without its low one", r->pos);
        }
        r->pos += 2;
        if (jr_hex4(r, &lo) != 0) {
            return r->err;
        }
        if (lo < 0xDC00 || lo > 0xDFFF) {
            return jr_fail(r, "offset %zu: a high surrogate without its low one", r->pos);
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
        return jr_fail(r, "\\u0000 is not accepted");
    }
    *n += jr_utf8_put(out + *n, cp);
    return 0;
}

/* A string at r->pos (the opening quote), decoded into a new C string. */
static int jr_string(jr *r, char **out)
{
    jr_ws(r);
    if (r->pos >= r->len || r->s[r->pos] != '"') {
        return jr_fail(r, "expected a string");
    }
    r->pos++;
    /* decoded text is never longer than the escaped one */
    size_t end = r->pos;
    while (end < r->len && r->s[end] != '"') {
        end += r->s[end] == '\\' ? 2 : 1;
    }
    char *buf = malloc(end - r->pos + 4);
    if (buf == NULL) {
        return jr_oom(r);
    }
    size_t n = 0;
    for (;;) {
        if (r->pos >= r->len) {
            free(buf);
            return jr_fail(r, "a string is not closed");
        }
        unsigned char c = (unsigned char)r->s[r->pos++];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            free(buf);
            r->pos--;
            return jr_fail(r, "offset %zu: a control character in a string", r->pos);
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        if (r->pos >= r->len) {
            continue; /* reported as not closed */
        }
        char e = r->s[r->pos++];
        char plain = e == '"' || e == '\\' || e == '/' ? e
                     : e == 'b'                        ? '\b'
                     : e == 'f'                        ? '\f'
                     : e == 'n'                        ? '\n'
                     : e == 'r'                        ? '\r'
                     : e == 't'                        ? '\t'
                                                       : '\0';
        if (e == 'u') {
            if (jr_unicode(r, buf, &n) != 0) {
                free(buf);
                return r->err;
            }
        } else if (plain != '\0') {
            buf[n++] = plain;
        } else {
            free(buf);
            return jr_fail(r, "offset %zu: unknown escape '\\%c'", r->pos - 1, e);
        }
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* A number as RFC 8259 writes it; its text is kept. */
static int jr_number(jr *r, char **out)
{
    size_t start = r->pos;
    const char *s = r->s;
    size_t p = r->pos;
    if (p < r->len && s[p] == '-') {
        p++;
    }
    if (p < r->len && s[p] == '0') {
        p++;
    } else if (p < r->len && s[p] >= '1' && s[p] <= '9') {
        while (p < r->len && s[p] >= '0' && s[p] <= '9') {
            p++;
        }
    } else {
        return jr_fail(r, "expected a value");
    }
    if (p < r->len && s[p] == '.') {
        size_t d = ++p;
        while (p < r->len && s[p] >= '0' && s[p] <= '9') {
            p++;
        }
        if (p == d) {
            return jr_fail(r, "a number needs digits after '.'");
        }
    }
    if (p < r->len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < r->len && (s[p] == '+' || s[p] == '-')) {
            p++;
        }
        size_t d = p;
        while (p < r->len && s[p] >= '0' && s[p] <= '9') {
            p++;
        }
        if (p == d) {
            return jr_fail(r, "a number needs digits in its exponent");
        }
    }
    char *t = malloc(p - start + 1);
    if (t == NULL) {
        return jr_oom(r);
    }
    memcpy(t, s + start, p - start);
    t[p - start] = '\0';
    r->pos = p;
    *out = t;
    return 0;
}

static bool jr_word(jr *r, const char *word)
{
    size_t n = strlen(word);
    if (r->len - r->pos >= n && memcmp(r->s + r->pos, word, n) == 0) {
        r->pos += n;
        return true;
    }
    return false;
}

static int jr_array(jr *r, weir_json_field *f)
{
    r->pos++; /* '[' */
    f->kind = WEIR_JSON_STRING_ARRAY;
    f->items = calloc(WEIR_JSON_ITEMS_MAX, sizeof *f->items);
    if (f->items == NULL) {
        return jr_oom(r);
    }
    if (jr_peek(r, ']')) {
        r->pos++;
        return 0;
    }
    for (;;) {
        if (f->item_count == WEIR_JSON_ITEMS_MAX) {
            return jr_fail(r, "more than %d items", WEIR_JSON_ITEMS_MAX);
        }
        if (!jr_peek(r, '"')) {
            return jr_fail(r, "item %zu: expected a string", f->item_count + 1);
        }
        if (jr_string(r, &f->items[f->item_count]) != 0) {
            return r->err;
        }
        f->item_count++;
        if (jr_peek(r, ',')) {
            r->pos++;
            continue;
        }
        if (jr_peek(r, ']')) {
            r->pos++;
            return 0;
        }
        return jr_fail(r, "expected ',' or ']' after item %zu", f->item_count);
    }
}

static int jr_value(jr *r, weir_json_field *f)
{
    jr_ws(r);
    if (r->pos >= r->len) {
        return jr_fail(r, "expected a value");
    }
    char c = r->s[r->pos];
    if (c == '"') {
        f->kind = WEIR_JSON_STRING;
        return jr_string(r, &f->text);
    }
    if (c == '[') {
        return jr_array(r, f);
    }
    if (c == '{') {
        return jr_fail(r, "nested objects are not accepted");
    }
    if (jr_word(r, "true") || jr_word(r, "false")) {
        f->kind = WEIR_JSON_BOOL;
        f->boolean = r->s[r->pos - 2] == 'u'; /* "true" ends in "ue", "false" in "se" */
        return 0;
    }
    if (jr_word(r, "null")) {
        f->kind = WEIR_JSON_NULL;
        return 0;
    }
    f->kind = WEIR_JSON_NUMBER;
    return jr_number(r, &f->text);
}

static int jr_members(jr *r, weir_json_flat *out)
{
    for (;;) {
        if (out->count == WEIR_JSON_FIELDS_MAX) {
            return jr_fail(r, "more than %d fields", WEIR_JSON_FIELDS_MAX);
        }
        weir_json_field *f = &out->fields[out->count];
        if (!jr_peek(r, '"')) {
            return jr_fail(r, "expected a field name in double quotes");
        }
        if (jr_string(r, &f->name) != 0) {
            return r->err;
        }
        out->count++;
        if (weir_json_flat_find(out, f->name) != f) {
            r->field = f->name;
            return jr_fail(r, "given twice");
        }
        if (!jr_peek(r, ':')) {
            return jr_fail(r, "expected ':' after \"%s\"", f->name);
        }
        r->pos++;
        r->field = f->name;
        if (jr_value(r, f) != 0) {
            return r->err;
        }
        r->field = NULL;
        if (jr_peek(r, ',')) {
            r->pos++;
            continue;
        }
        if (jr_peek(r, '}')) {
            r->pos++;
            return 0;
        }
        return jr_fail(r, "expected ',' or '}' after field \"%s\"", f->name);
    }
}

int weir_json_flat_parse(const char *text, size_t len, weir_json_flat *out, char *why,
                         size_t why_size)
{
    memset(out, 0, sizeof *out);
    jr r = {.s = text != NULL ? text : "",
            .len = text != NULL ? len : 0,
            .why = why,
            .why_size = why_size};
    out->fields = calloc(WEIR_JSON_FIELDS_MAX, sizeof *out->fields);
    if (out->fields == NULL) {
        return jr_oom(&r);
    }
    if (!jr_peek(&r, '{')) {
        return jr_fail(&r, "expected a JSON object ('{')");
    }
    r.pos++;
    if (jr_peek(&r, '}')) {
        r.pos++;
    } else if (jr_members(&r, out) != 0) {
        return r.err;
    }
    jr_ws(&r);
    if (r.pos != r.len) {
        return jr_fail(&r, "unexpected text after the object");
    }
    return 0;
}

const weir_json_field *weir_json_flat_find(const weir_json_flat *obj, const char *name)
{
    for (size_t i = 0; i < obj->count; i++) {
        if (obj->fields[i].name != NULL && strcmp(obj->fields[i].name, name) == 0) {
            return &obj->fields[i];
        }
    }
    return NULL;
}

const char *weir_json_kind_name(weir_json_kind kind)
{
    switch (kind) {
    case WEIR_JSON_NULL:
        return "null";
    case WEIR_JSON_BOOL:
        return "a boolean";
    case WEIR_JSON_NUMBER:
        return "a number";
    case WEIR_JSON_STRING:
        return "a string";
    case WEIR_JSON_STRING_ARRAY:
        return "an array";
    }
    return "?";
}

void weir_json_flat_free(weir_json_flat *obj)
{
    for (size_t i = 0; obj->fields != NULL && i < obj->count; i++) {
        weir_json_field *f = &obj->fields[i];
        free(f->name);
        free(f->text);
        for (size_t k = 0; k < f->item_count; k++) {
            free(f->items[k]);
        }
        free(f->items);
    }
    free(obj->fields);
    memset(obj, 0, sizeof *obj);
}
