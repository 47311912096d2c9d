/* Expression Language: the compiler (text -> flat arrays) and the evaluator.
 *
 * A compiled weir_expr is a list of segments (literal text, a #{param}, or a
 * ${ } sub-expression). A sub-expression is a subject plus a linked chain of
 * calls; each call owns a contiguous run of arguments, and an argument may be
 * another sub-expression. Every string the evaluator needs (names, literal
 * text, quoted arguments) lives NUL-terminated in one pool, addressed by
 * offset, so a compiled expression is a handful of allocations and is never
 * written after weir_expr_compile returns.
 *
 * The evaluator keeps all intermediate strings in the caller's weir_expr_buf:
 * the rendered result grows from the bottom, scratch values sit above it and
 * are addressed by offset (a growable buffer may move). After each call in a
 * chain the live value is slid down to the chain's base, and after each
 * segment the scratch is dropped, so scratch stays about the size of the
 * largest intermediate value. Nothing is allocated once the buffer is big
 * enough.
 */
#include "flow/expr.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/params.h"

#define EX_NONE UINT32_MAX
#define EX_ARGS_PARSED_MAX 8 /* more than any function takes; for the message */
#define EX_FN_NAME_BYTES_MAX 64

/* ------------------------------------------------------------------------ */
/* Function table                                                           */

enum ex_type {
    T_STR = WEIR_EXPR_STRING,
    T_NUM = WEIR_EXPR_NUMBER,
    T_BOOL = WEIR_EXPR_BOOLEAN,
    T_ANY = 3, /* a subject or argument of any type; a result that depends on the data */
};

enum ex_fn {
    FN_TOUPPER,
    FN_TOLOWER,
    FN_TRIM,
    FN_SUBSTRING,
    FN_APPEND,
    FN_PREPEND,
    FN_REPLACE,
    FN_REPLACENULL,
    FN_REPLACEEMPTY,
    FN_TOSTRING,
    FN_LENGTH,
    FN_TONUMBER,
    FN_CONTAINS,
    FN_STARTSWITH,
    FN_ENDSWITH,
    FN_EQUALS,
    FN_EQUALSIGNORECASE,
    FN_ISEMPTY,
    FN_ISNULL,
    FN_NOTNULL,
    FN_PLUS,
    FN_MINUS,
    FN_MULTIPLY,
    FN_DIVIDE,
    FN_MOD,
    FN_GT,
    FN_GE,
    FN_LT,
    FN_LE,
    FN_NOT,
    FN_AND,
    FN_OR,
    FN_IFELSE,
    FN_LITERAL,
    FN_COUNT,
};

struct ex_fn_def {
    const char *name;
    uint8_t argc_min;
    uint8_t argc_max;
    uint8_t subject; /* T_ANY, T_NUM (a boolean is refused) or T_BOOL (a number is refused) */
    uint8_t arg;     /* the same for arguments; T_STR means any literal */
    uint8_t result;
};

static const struct ex_fn_def ex_fns[FN_COUNT] = {
    [FN_TOUPPER] = {"toUpper", 0, 0, T_ANY, T_STR, T_STR},
    [FN_TOLOWER] = {"toLower", 0, 0, T_ANY, T_STR, T_STR},
    [FN_TRIM] = {"trim", 0, 0, T_ANY, T_STR, T_STR},
    [FN_SUBSTRING] = {"substring", 1, 2, T_ANY, T_NUM, T_STR},
    [FN_APPEND] = {"append", 1, 1, T_ANY, T_STR, T_STR},
    [FN_PREPEND] = {"prepend", 1, 1, T_ANY, T_STR, T_STR},
    [FN_REPLACE] = {"replace", 2, 2, T_ANY, T_STR, T_STR},
    [FN_REPLACENULL] = {"replaceNull", 1, 1, T_ANY, T_STR, T_ANY},
    [FN_REPLACEEMPTY] = {"replaceEmpty", 1, 1, T_ANY, T_STR, T_ANY},
    [FN_TOSTRING] = {"toString", 0, 0, T_ANY, T_STR, T_STR},
    [FN_LENGTH] = {"length", 0, 0, T_ANY, T_STR, T_NUM},
    [FN_TONUMBER] = {"toNumber", 0, 0, T_ANY, T_STR, T_NUM},
    [FN_CONTAINS] = {"contains", 1, 1, T_ANY, T_STR, T_BOOL},
    [FN_STARTSWITH] = {"startsWith", 1, 1, T_ANY, T_STR, T_BOOL},
    [FN_ENDSWITH] = {"endsWith", 1, 1, T_ANY, T_STR, T_BOOL},
    [FN_EQUALS] = {"equals", 1, 1, T_ANY, T_STR, T_BOOL},
    [FN_EQUALSIGNORECASE] = {"equalsIgnoreCase", 1, 1, T_ANY, T_STR, T_BOOL},
    [FN_ISEMPTY] = {"isEmpty", 0, 0, T_ANY, T_STR, T_BOOL},
    [FN_ISNULL] = {"isNull", 0, 0, T_ANY, T_STR, T_BOOL},
    [FN_NOTNULL] = {"notNull", 0, 0, T_ANY, T_STR, T_BOOL},
    [FN_PLUS] = {"plus", 1, 1, T_NUM, T_NUM, T_NUM},
    [FN_MINUS] = {"minus", 1, 1, T_NUM, T_NUM, T_NUM},
    [FN_MULTIPLY] = {"multiply", 1, 1, T_NUM, T_NUM, T_NUM},
    [FN_DIVIDE] = {"divide", 1, 1, T_NUM, T_NUM, T_NUM},
    [FN_MOD] = {"mod", 1, 1, T_NUM, T_NUM, T_NUM},
    [FN_GT] = {"gt", 1, 1, T_NUM, T_NUM, T_BOOL},
    [FN_GE] = {"ge", 1, 1, T_NUM, T_NUM, T_BOOL},
    [FN_LT] = {"lt", 1, 1, T_NUM, T_NUM, T_BOOL},
    [FN_LE] = {"le", 1, 1, T_NUM, T_NUM, T_BOOL},
    [FN_NOT] = {"not", 0, 0, T_BOOL, T_BOOL, T_BOOL},
    [FN_AND] = {"and", 1, 1, T_BOOL, T_BOOL, T_BOOL},
    [FN_OR] = {"or", 1, 1, T_BOOL, T_BOOL, T_BOOL},
    [FN_IFELSE] = {"ifElse", 2, 2, T_BOOL, T_STR, T_ANY},
    [FN_LITERAL] = {"literal", 1, 1, T_ANY, T_STR, T_ANY},
};

/* ------------------------------------------------------------------------ */
/* Compiled form                                                            */

enum ex_seg_kind { SEG_TEXT, SEG_PARAM, SEG_EXPR };
enum ex_subj_kind { SUBJ_ATTR, SUBJ_PARAM, SUBJ_LITERAL };
enum ex_arg_kind { ARG_STR, ARG_NUM, ARG_BOOL, ARG_PARAM, ARG_EXPR };

struct ex_seg {
    uint8_t kind;
    uint32_t off; /* TEXT: text in the pool; PARAM: name in the pool */
    uint32_t len;
    uint32_t sub; /* EXPR */
    uint32_t pos; /* 1-based */
};

struct ex_sub {
    uint8_t subj;
    uint8_t type;
    uint32_t name_off; /* ATTR, PARAM */
    uint32_t lit_arg;  /* LITERAL: the argument of literal() */
    uint32_t first_call;
    uint32_t pos;
};

struct ex_call {
    uint8_t fn;
    uint8_t argc;
    uint8_t type;
    uint32_t first_arg;
    uint32_t next;
    uint32_t pos;
};

struct ex_arg {
    uint8_t kind;
    uint8_t type; /* static type of what it yields */
    uint32_t off; /* STR, PARAM: pool */
    uint32_t len;
    int64_t num;  /* NUM; BOOL as 0/1 */
    uint32_t sub; /* EXPR */
    uint32_t pos;
};

struct weir_expr {
    char *text;
    char *pool;
    size_t pool_len;
    size_t pool_cap;
    struct ex_seg *segs;
    size_t seg_count;
    size_t seg_cap;
    struct ex_sub *subs;
    size_t sub_count;
    size_t sub_cap;
    struct ex_call *calls;
    size_t call_count;
    size_t call_cap;
    struct ex_arg *args;
    size_t arg_count;
    size_t arg_cap;
    uint32_t *params; /* pool offsets of distinct names */
    size_t param_count;
    size_t param_cap;
    bool uses_attrs;
    uint8_t result_type;
    const char *literal; /* non-NULL iff the value has no references */
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static bool ex_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ex_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ex_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ex_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ex_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* NiFi's characters that end an unquoted attribute name, plus '"'. */
static bool ex_name_stop(char c)
{
    return c == '\0' || strchr("$|{}()[],:;/*'\" \t\r\n", c) != NULL;
}

/* Grows *arr (elements of size elem) to hold one more; 0 or WEIR_E_NOMEM. */
static int ex_grow(void **arr, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * elem);
    if (!p) {
        return WEIR_E_NOMEM;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

static size_t ex_fmt_i64(char *dst, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) {
        dst[len++] = '-';
    }
    while (n) {
        dst[len++] = tmp[--n];
    }
    return len;
}

/* Parses an optional sign and decimal digits, blanks around allowed. */
static bool ex_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    while (i < len && ex_blank(s[i])) {
        i++;
    }
    while (len > i && ex_blank(s[len - 1])) {
        len--;
    }
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == len) {
        return false;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t u = 0;
    for (; i < len; i++) {
        if (!ex_digit(s[i])) {
            return false;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (limit - d) / 10) {
            return false;
        }
        u = u * 10 + d;
    }
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

static bool ex_is_true(const char *s, size_t len)
{
    return len == 4 && ex_lower(s[0]) == 't' && ex_lower(s[1]) == 'r' && ex_lower(s[2]) == 'u' &&
           ex_lower(s[3]) == 'e';
}

static size_t ex_levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[EX_FN_NAME_BYTES_MAX + 1];
    if (la > EX_FN_NAME_BYTES_MAX || lb > EX_FN_NAME_BYTES_MAX) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = ex_lower(a[i - 1]) == ex_lower(b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* ------------------------------------------------------------------------ */
/* Output buffer                                                            */

void weir_expr_buf_init(struct weir_expr_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->fixed = false;
}

void weir_expr_buf_init_fixed(struct weir_expr_buf *buf, char *mem, size_t size)
{
    buf->data = mem;
    buf->len = 0;
    buf->cap = size;
    buf->fixed = true;
    if (mem && size) {
        mem[0] = '\0';
    }
}

void weir_expr_buf_free(struct weir_expr_buf *buf)
{
    if (!buf->fixed) {
        free(buf->data);
        buf->data = NULL;
        buf->cap = 0;
    }
    buf->len = 0;
}

/* Makes room for need bytes in total (need includes the NUL). */
static int ex_buf_room(struct weir_expr_buf *buf, size_t need)
{
    if (need <= buf->cap) {
        return 0;
    }
    if (buf->fixed || need > (size_t)WEIR_EXPR_OUT_BYTES_MAX + 1) {
        return WEIR_E_NOSPC;
    }
    size_t ncap = buf->cap ? buf->cap : 256;
    while (ncap < need) {
        ncap *= 2;
    }
    if (ncap > (size_t)WEIR_EXPR_OUT_BYTES_MAX + 1) {
        ncap = (size_t)WEIR_EXPR_OUT_BYTES_MAX + 1;
    }
    char *p = realloc(buf->data, ncap);
    if (!p) {
        return WEIR_E_NOMEM;
    }
    buf->data = p;
    buf->cap = ncap;
    return 0;
}

int weir_expr_buf_append(struct weir_expr_buf *buf, const char *s, size_t n)
{
    if (n > SIZE_MAX - buf->len - 1) {
        return WEIR_E_NOSPC;
    }
    int rc = ex_buf_room(buf, buf->len + n + 1);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(buf->data + buf->len, s, n);
    }
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Compiler                                                                 */

struct cp {
    struct weir_expr *ex;
    const char *s;
    size_t n;
    size_t i;
    char *why;
    size_t why_size;
    int depth;
};

__attribute__((format(printf, 3, 4))) static int cp_fail(struct cp *cp, size_t at, const char *fmt,
                                                         ...)
{
    if (cp->why && cp->why_size) {
        int k = snprintf(cp->why, cp->why_size, "position %zu: ", at + 1);
        if (k >= 0 && (size_t)k < cp->why_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(cp->why + k, cp->why_size - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return WEIR_E_INVAL;
}

static int cp_nomem(struct cp *cp)
{
    if (cp->why && cp->why_size) {
        snprintf(cp->why, cp->why_size, "out of memory compiling an expression");
    }
    return WEIR_E_NOMEM;
}

/* Adds s[0..n) and a NUL to the pool; *off_out gets its offset. */
static int cp_pool_add(struct cp *cp, const char *s, size_t n, uint32_t *off_out)
{
    struct weir_expr *ex = cp->ex;
    if (ex->pool_len + n + 1 > ex->pool_cap) {
        size_t ncap = ex->pool_cap ? ex->pool_cap : 64;
        while (ncap < ex->pool_len + n + 1) {
            ncap *= 2;
        }
        char *p = realloc(ex->pool, ncap);
        if (!p) {
            return cp_nomem(cp);
        }
        ex->pool = p;
        ex->pool_cap = ncap;
    }
    if (n) {
        memcpy(ex->pool + ex->pool_len, s, n);
    }
    *off_out = (uint32_t)ex->pool_len;
    ex->pool[ex->pool_len + n] = '\0';
    ex->pool_len += n + 1;
    return 0;
}

/* Appends literal text, extending the previous text segment when it is the
 * last thing in the pool. */
static int cp_text(struct cp *cp, const char *s, size_t n, size_t at)
{
    struct weir_expr *ex = cp->ex;
    if (n == 0) {
        return 0;
    }
    if (ex->seg_count) {
        struct ex_seg *last = &ex->segs[ex->seg_count - 1];
        if (last->kind == SEG_TEXT && last->off + last->len + 1 == ex->pool_len) {
            uint32_t off;
            ex->pool_len--; /* drop the NUL; re-added below */
            int rc = cp_pool_add(cp, s, n, &off);
            if (rc) {
                ex->pool_len++;
                return rc;
            }
            last = &ex->segs[ex->seg_count - 1];
            last->len += (uint32_t)n;
            return 0;
        }
    }
    if (ex_grow((void **)&ex->segs, &ex->seg_cap, ex->seg_count, sizeof *ex->segs)) {
        return cp_nomem(cp);
    }
    struct ex_seg seg = {.kind = SEG_TEXT, .len = (uint32_t)n, .sub = EX_NONE, .pos = (uint32_t)at};
    int rc = cp_pool_add(cp, s, n, &seg.off);
    if (rc) {
        return rc;
    }
    ex->segs[ex->seg_count++] = seg;
    return 0;
}

static int cp_note_param(struct cp *cp, uint32_t name_off)
{
    struct weir_expr *ex = cp->ex;
    for (size_t k = 0; k < ex->param_count; k++) {
        if (strcmp(ex->pool + ex->params[k], ex->pool + name_off) == 0) {
            return 0;
        }
    }
    if (ex_grow((void **)&ex->params, &ex->param_cap, ex->param_count, sizeof *ex->params)) {
        return cp_nomem(cp);
    }
    ex->params[ex->param_count++] = name_off;
    return 0;
}

/* At "#{" (cp->i on '#'): parses a parameter name up to '}' into the pool. */
static int cp_param_ref(struct cp *cp, uint32_t *off_out)
{
    size_t at = cp->i;
    size_t start = cp->i + 2;
    size_t end = start;
    while (end < cp->n && cp->s[end] != '}') {
        end++;
    }
    if (end == cp->n) {
        return cp_fail(cp, at, "missing '}' for the '#{' at position %zu", at + 1);
    }
    size_t len = end - start;
    if (len == 0) {
        return cp_fail(cp, at, "empty parameter name");
    }
    if (!weir_param_name_valid(cp->s + start, len)) {
        if (len > WEIR_PARAM_NAME_BYTES_MAX) {
            return cp_fail(cp, start, "parameter name longer than %d bytes",
                           WEIR_PARAM_NAME_BYTES_MAX);
        }
        size_t k = start;
        while (k < end && weir_param_name_valid(cp->s + k, 1)) {
            k++;
        }
        return cp_fail(cp, k,
                       "bad character '%c' in parameter name '%.*s' (letters, digits, space, "
                       "'_', '-', '.')",
                       cp->s[k], (int)len, cp->s + start);
    }
    int rc = cp_pool_add(cp, cp->s + start, len, off_out);
    if (rc) {
        return rc;
    }
    rc = cp_note_param(cp, *off_out);
    if (rc) {
        return rc;
    }
    cp->i = end + 1;
    return 0;
}

static void cp_skip_blanks(struct cp *cp)
{
    while (cp->i < cp->n && ex_blank(cp->s[cp->i])) {
        cp->i++;
    }
}

/* At a quote: decodes the string into the pool. */
static int cp_quoted(struct cp *cp, uint32_t *off_out, uint32_t *len_out)
{
    size_t at = cp->i;
    char q = cp->s[cp->i++];
    char small[256];
    char *tmp = small;
    size_t cap = sizeof small;
    size_t len = 0;
    int rc = 0;
    for (;;) {
        if (cp->i >= cp->n) {
            rc = cp_fail(cp, at, "unterminated string starting at position %zu", at + 1);
            goto free_tmp;
        }
        char c = cp->s[cp->i++];
        if (c == q) {
            break;
        }
        if (c == '\\' && cp->i < cp->n) {
            char e = cp->s[cp->i++];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        if (len + 1 >= cap) {
            size_t ncap = cap * 2;
            char *p = tmp == small ? malloc(ncap) : realloc(tmp, ncap);
            if (!p) {
                rc = cp_nomem(cp);
                goto free_tmp;
            }
            if (tmp == small) {
                memcpy(p, small, len);
            }
            tmp = p;
            cap = ncap;
        }
        tmp[len++] = c;
    }
    rc = cp_pool_add(cp, tmp, len, off_out);
    *len_out = (uint32_t)len;
free_tmp:
    if (tmp != small) {
        free(tmp);
    }
    return rc;
}

/* Reads an identifier made of letters and digits (a function name). */
static size_t cp_word(struct cp *cp)
{
    size_t start = cp->i;
    while (cp->i < cp->n && (ex_alpha(cp->s[cp->i]) || ex_digit(cp->s[cp->i]))) {
        cp->i++;
    }
    return cp->i - start;
}

static int cp_lookup_fn(struct cp *cp, size_t at, const char *name, size_t len, bool subjectless,
                        uint8_t *fn_out)
{
    size_t best = SIZE_MAX;
    int best_fn = -1;
    for (int f = 0; f < FN_COUNT; f++) {
        const char *fname = ex_fns[f].name;
        size_t flen = strlen(fname);
        if (flen == len && memcmp(fname, name, len) == 0) {
            *fn_out = (uint8_t)f;
            return 0;
        }
        size_t d = ex_levenshtein(name, len, fname, flen);
        if (d < best) {
            best = d;
            best_fn = f;
        }
    }
    const char *kind = subjectless ? "subjectless function" : "function";
    if (best_fn >= 0 && best <= 2 && best * 3 <= len) {
        return cp_fail(cp, at, "unknown %s %.*s (did you mean %s?)", kind, (int)len, name,
                       ex_fns[best_fn].name);
    }
    return cp_fail(cp, at, "unknown %s %.*s", kind, (int)len, name);
}

static int cp_sub(struct cp *cp, size_t open_at, uint32_t *sub_out);

/* One argument into *arg. */
static int cp_arg(struct cp *cp, struct ex_arg *arg)
{
    size_t at = cp->i;
    const char *s = cp->s;
    memset(arg, 0, sizeof *arg);
    arg->pos = (uint32_t)at;
    arg->sub = EX_NONE;
    if (at >= cp->n) {
        return cp_fail(cp, at, "expected an argument, got the end of the value");
    }
    char c = s[at];
    if (c == '\'' || c == '"') {
        arg->kind = ARG_STR;
        arg->type = T_STR;
        return cp_quoted(cp, &arg->off, &arg->len);
    }
    if (c == '$' && at + 1 < cp->n && s[at + 1] == '{') {
        arg->kind = ARG_EXPR;
        cp->i = at + 2;
        int rc = cp_sub(cp, at, &arg->sub);
        if (rc) {
            return rc;
        }
        arg->type = cp->ex->subs[arg->sub].type;
        return 0;
    }
    if (c == '#' && at + 1 < cp->n && s[at + 1] == '{') {
        arg->kind = ARG_PARAM;
        arg->type = T_STR;
        return cp_param_ref(cp, &arg->off);
    }
    if (ex_digit(c) || ((c == '-' || c == '+') && at + 1 < cp->n && ex_digit(s[at + 1]))) {
        size_t end = at + 1;
        while (end < cp->n && ex_digit(s[end])) {
            end++;
        }
        if (end < cp->n && s[end] == '.' && end + 1 < cp->n && ex_digit(s[end + 1])) {
            return cp_fail(cp, at, "decimal numbers are not supported (whole numbers only)");
        }
        if (!ex_parse_i64(s + at, end - at, &arg->num)) {
            return cp_fail(cp, at, "number %.*s is out of range", (int)(end - at), s + at);
        }
        arg->kind = ARG_NUM;
        arg->type = T_NUM;
        cp->i = end;
        return 0;
    }
    size_t len = cp_word(cp);
    if ((len == 4 && memcmp(s + at, "true", 4) == 0) ||
        (len == 5 && memcmp(s + at, "false", 5) == 0)) {
        arg->kind = ARG_BOOL;
        arg->type = T_BOOL;
        arg->num = len == 4;
        return 0;
    }
    cp->i = at;
    return cp_fail(cp, at,
                   "expected an argument (a quoted string, a number, true, false, #{param} or "
                   "${...}), got '%c'",
                   c);
}

/* Checks an argument's static type against what the function wants. */
static int cp_check_arg(struct cp *cp, uint8_t fn, struct ex_arg *arg)
{
    const struct ex_fn_def *def = &ex_fns[fn];
    if (def->arg == T_NUM) {
        if (arg->type == T_BOOL) {
            return cp_fail(cp, arg->pos, "%s: argument must be a number, got a boolean", def->name);
        }
        if (arg->kind == ARG_STR) {
            int64_t v;
            if (!ex_parse_i64(cp->ex->pool + arg->off, arg->len, &v)) {
                return cp_fail(cp, arg->pos, "%s: argument '%s' is not a whole number", def->name,
                               cp->ex->pool + arg->off);
            }
            arg->kind = ARG_NUM;
            arg->type = T_NUM;
            arg->num = v;
        }
    } else if (def->arg == T_BOOL && arg->type == T_NUM) {
        return cp_fail(cp, arg->pos, "%s: argument must be a boolean, got a number", def->name);
    }
    return 0;
}

/* The argument list from '(' through ')'; appends the args contiguously. */
static int cp_args(struct cp *cp, uint8_t fn, size_t fn_at, uint32_t *first_out, uint8_t *argc_out)
{
    const struct ex_fn_def *def = &ex_fns[fn];
    struct ex_arg local[EX_ARGS_PARSED_MAX];
    size_t argc = 0;
    cp->i++; /* '(' */
    cp_skip_blanks(cp);
    if (cp->i < cp->n && cp->s[cp->i] == ')') {
        cp->i++;
    } else {
        for (;;) {
            cp_skip_blanks(cp);
            if (argc == EX_ARGS_PARSED_MAX) {
                return cp_fail(cp, cp->i, "%s: too many arguments", def->name);
            }
            int rc = cp_arg(cp, &local[argc]);
            if (rc) {
                return rc;
            }
            argc++;
            cp_skip_blanks(cp);
            if (cp->i < cp->n && cp->s[cp->i] == ',') {
                cp->i++;
                continue;
            }
            if (cp->i < cp->n && cp->s[cp->i] == ')') {
                cp->i++;
                break;
            }
            if (cp->i >= cp->n) {
                return cp_fail(cp, fn_at, "missing ')' after the arguments of %s", def->name);
            }
            return cp_fail(cp, cp->i, "expected ',' or ')' in the arguments of %s, got '%c'",
                           def->name, cp->s[cp->i]);
        }
    }
    if (argc < def->argc_min || argc > def->argc_max) {
        if (def->argc_max == 0) {
            return cp_fail(cp, fn_at, "%s takes no arguments, got %zu", def->name, argc);
        }
        if (def->argc_min == def->argc_max) {
            return cp_fail(cp, fn_at, "%s takes %u argument%s, got %zu", def->name, def->argc_min,
                           def->argc_min == 1 ? "" : "s", argc);
        }
        return cp_fail(cp, fn_at, "%s takes %u or %u arguments, got %zu", def->name, def->argc_min,
                       def->argc_max, argc);
    }
    struct weir_expr *ex = cp->ex;
    *first_out = (uint32_t)ex->arg_count;
    for (size_t k = 0; k < argc; k++) {
        int rc = cp_check_arg(cp, fn, &local[k]);
        if (rc) {
            return rc;
        }
        if (ex_grow((void **)&ex->args, &ex->arg_cap, ex->arg_count, sizeof *ex->args)) {
            return cp_nomem(cp);
        }
        ex->args[ex->arg_count++] = local[k];
    }
    *argc_out = (uint8_t)argc;
    return 0;
}

/* The static result type of a call whose subject has type subj. */
static uint8_t cp_result_type(struct cp *cp, uint8_t fn, uint8_t subj, uint32_t first_arg)
{
    const struct ex_fn_def *def = &ex_fns[fn];
    if (fn == FN_IFELSE) {
        uint8_t a = cp->ex->args[first_arg].type;
        uint8_t b = cp->ex->args[first_arg + 1].type;
        return a == b ? a : T_STR;
    }
    if (fn == FN_LITERAL) {
        return cp->ex->args[first_arg].type;
    }
    if (fn == FN_REPLACENULL || fn == FN_REPLACEEMPTY) {
        return subj == cp->ex->args[first_arg].type ? subj : T_STR;
    }
    return def->result;
}

/* The subject of a ${ }: attribute name, quoted name, #{param} or literal(). */
static int cp_subject(struct cp *cp, struct ex_sub *sub)
{
    size_t at = cp->i;
    const char *s = cp->s;
    sub->pos = (uint32_t)at;
    if (at >= cp->n) {
        return cp_fail(cp, at, "expected an attribute name, got the end of the value");
    }
    char c = s[at];
    if (c == '\'' || c == '"') {
        uint32_t len;
        int rc = cp_quoted(cp, &sub->name_off, &len);
        if (rc) {
            return rc;
        }
        if (len == 0) {
            return cp_fail(cp, at, "empty attribute name");
        }
        sub->subj = SUBJ_ATTR;
        sub->type = T_STR;
        cp->ex->uses_attrs = true;
        return 0;
    }
    if (c == '#' && at + 1 < cp->n && s[at + 1] == '{') {
        sub->subj = SUBJ_PARAM;
        sub->type = T_STR;
        return cp_param_ref(cp, &sub->name_off);
    }
    size_t end = at;
    while (end < cp->n && !ex_name_stop(s[end])) {
        end++;
    }
    if (end == at) {
        return cp_fail(cp, at,
                       "expected an attribute name, a quoted name, #{param} or literal(...), got "
                       "'%c'",
                       c);
    }
    size_t after = end;
    while (after < cp->n && ex_blank(s[after])) {
        after++;
    }
    if (after < cp->n && s[after] == '(') {
        uint8_t fn;
        int rc = cp_lookup_fn(cp, at, s + at, end - at, true, &fn);
        if (rc) {
            return rc;
        }
        if (fn != FN_LITERAL) {
            return cp_fail(cp, at, "%s needs a subject (the only subjectless function is literal)",
                           ex_fns[fn].name);
        }
        uint8_t argc;
        cp->i = after;
        rc = cp_args(cp, fn, at, &sub->lit_arg, &argc);
        if (rc) {
            return rc;
        }
        sub->subj = SUBJ_LITERAL;
        sub->type = cp->ex->args[sub->lit_arg].type;
        return 0;
    }
    if (ex_digit(c)) {
        return cp_fail(cp, at, "attribute name %.*s starts with a digit; quote it: '%.*s'",
                       (int)(end - at), s + at, (int)(end - at), s + at);
    }
    int rc = cp_pool_add(cp, s + at, end - at, &sub->name_off);
    if (rc) {
        return rc;
    }
    sub->subj = SUBJ_ATTR;
    sub->type = T_STR;
    cp->ex->uses_attrs = true;
    cp->i = end;
    return 0;
}

/* One ":fn(args)" (cp->i just after ':'); links it after *prev. */
static int cp_call(struct cp *cp, struct ex_sub *sub, uint32_t *prev)
{
    struct weir_expr *ex = cp->ex;
    cp_skip_blanks(cp);
    size_t at = cp->i;
    size_t len = cp_word(cp);
    if (len == 0) {
        if (at >= cp->n) {
            return cp_fail(cp, at, "expected a function name after ':', got the end of the value");
        }
        return cp_fail(cp, at, "expected a function name after ':', got '%c'", cp->s[at]);
    }
    uint8_t fn;
    int rc = cp_lookup_fn(cp, at, cp->s + at, len, false, &fn);
    if (rc) {
        return rc;
    }
    const struct ex_fn_def *def = &ex_fns[fn];
    if (fn == FN_LITERAL) {
        return cp_fail(cp, at, "literal takes no subject; use it first: ${literal('x'):...}");
    }
    cp_skip_blanks(cp);
    if (cp->i >= cp->n || cp->s[cp->i] != '(') {
        return cp_fail(cp, at, "expected '(' after function name %s", def->name);
    }
    if (def->subject == T_NUM && sub->type == T_BOOL) {
        return cp_fail(cp, at, "%s needs a number subject, got a boolean", def->name);
    }
    if (def->subject == T_BOOL && sub->type == T_NUM) {
        return cp_fail(cp, at, "%s needs a boolean subject, got a number", def->name);
    }
    struct ex_call call = {.fn = fn, .next = EX_NONE, .pos = (uint32_t)at, .first_arg = EX_NONE};
    rc = cp_args(cp, fn, at, &call.first_arg, &call.argc);
    if (rc) {
        return rc;
    }
    call.type = cp_result_type(cp, fn, sub->type, call.first_arg);
    if (ex_grow((void **)&ex->calls, &ex->call_cap, ex->call_count, sizeof *ex->calls)) {
        return cp_nomem(cp);
    }
    uint32_t idx = (uint32_t)ex->call_count;
    ex->calls[ex->call_count++] = call;
    if (*prev == EX_NONE) {
        sub->first_call = idx;
    } else {
        ex->calls[*prev].next = idx;
    }
    *prev = idx;
    sub->type = call.type;
    return 0;
}

/* After "${" (open_at is the '$'): parses through the matching '}'. */
static int cp_sub(struct cp *cp, size_t open_at, uint32_t *sub_out)
{
    struct weir_expr *ex = cp->ex;
    if (++cp->depth > WEIR_EXPR_DEPTH_MAX) {
        return cp_fail(cp, open_at, "expressions nested deeper than %d", WEIR_EXPR_DEPTH_MAX);
    }
    struct ex_sub sub = {.first_call = EX_NONE, .lit_arg = EX_NONE};
    cp_skip_blanks(cp);
    if (cp->i < cp->n && cp->s[cp->i] == '}') {
        return cp_fail(cp, open_at, "empty expression ${}");
    }
    int rc = cp_subject(cp, &sub);
    if (rc) {
        return rc;
    }
    uint32_t prev = EX_NONE;
    for (;;) {
        cp_skip_blanks(cp);
        if (cp->i >= cp->n) {
            return cp_fail(cp, cp->i, "missing '}' for the '${' at position %zu", open_at + 1);
        }
        char c = cp->s[cp->i];
        if (c == '}') {
            cp->i++;
            break;
        }
        if (c != ':') {
            return cp_fail(cp, cp->i, "expected ':' or '}', got '%c'", c);
        }
        cp->i++;
        rc = cp_call(cp, &sub, &prev);
        if (rc) {
            return rc;
        }
    }
    if (ex_grow((void **)&ex->subs, &ex->sub_cap, ex->sub_count, sizeof *ex->subs)) {
        return cp_nomem(cp);
    }
    *sub_out = (uint32_t)ex->sub_count;
    ex->subs[ex->sub_count++] = sub;
    cp->depth--;
    return 0;
}

/* From a '{' at i: the index just after its matching '}', skipping quoted
 * strings, or SIZE_MAX. */
static size_t cp_match_brace(const char *s, size_t n, size_t i)
{
    int depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            char q = c;
            for (i++; i < n && s[i] != q; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            if (i >= n) {
                return SIZE_MAX;
            }
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return SIZE_MAX;
}

static int cp_add_seg(struct cp *cp, struct ex_seg seg)
{
    struct weir_expr *ex = cp->ex;
    if (ex_grow((void **)&ex->segs, &ex->seg_cap, ex->seg_count, sizeof *ex->segs)) {
        return cp_nomem(cp);
    }
    ex->segs[ex->seg_count++] = seg;
    return 0;
}

/* At a run of '$' or '#' (mark) in the top-level text. */
static int cp_run(struct cp *cp, char mark)
{
    const char *s = cp->s;
    size_t at = cp->i;
    size_t end = at;
    while (end < cp->n && s[end] == mark) {
        end++;
    }
    size_t k = end - at;
    if (end >= cp->n || s[end] != '{') {
        cp->i = end;
        return cp_text(cp, s + at, k, at);
    }
    size_t close = mark == '$' ? cp_match_brace(s, cp->n, end) : SIZE_MAX;
    if (mark == '#') {
        const char *rb = memchr(s + end, '}', cp->n - end);
        close = rb ? (size_t)(rb - s) + 1 : SIZE_MAX;
    }
    if (close == SIZE_MAX && (k % 2 == 0 || mark == '#')) {
        /* no closing brace: nothing is escaped, all plain text (NiFi) */
        cp->i = end;
        return cp_text(cp, s + at, k, at);
    }
    char marks[64];
    memset(marks, mark, sizeof marks);
    for (size_t left = k / 2; left;) {
        size_t piece = left < sizeof marks ? left : sizeof marks;
        int rc = cp_text(cp, marks, piece, at);
        if (rc) {
            return rc;
        }
        left -= piece;
    }
    if (k % 2 == 0) {
        /* escaped: "{...}" stays literal */
        cp->i = close;
        return cp_text(cp, s + end, close - end, end);
    }
    struct ex_seg seg = {.pos = (uint32_t)(end - 1), .sub = EX_NONE};
    cp->i = end - 1;
    int rc;
    if (mark == '#') {
        seg.kind = SEG_PARAM;
        rc = cp_param_ref(cp, &seg.off);
    } else {
        seg.kind = SEG_EXPR;
        cp->i = end + 1;
        rc = cp_sub(cp, end - 1, &seg.sub);
    }
    if (rc) {
        return rc;
    }
    return cp_add_seg(cp, seg);
}

static int cp_value(struct cp *cp)
{
    while (cp->i < cp->n) {
        size_t start = cp->i;
        while (cp->i < cp->n && cp->s[cp->i] != '$' && cp->s[cp->i] != '#') {
            cp->i++;
        }
        int rc = cp_text(cp, cp->s + start, cp->i - start, start);
        if (rc) {
            return rc;
        }
        if (cp->i < cp->n) {
            rc = cp_run(cp, cp->s[cp->i]);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

void weir_expr_free(struct weir_expr *expr)
{
    if (!expr) {
        return;
    }
    free(expr->text);
    free(expr->pool);
    free(expr->segs);
    free(expr->subs);
    free(expr->calls);
    free(expr->args);
    free(expr->params);
    free(expr);
}

int weir_expr_compile(const char *text, struct weir_expr **expr_out, char *why, size_t why_size)
{
    *expr_out = NULL;
    if (why && why_size) {
        why[0] = '\0';
    }
    size_t n = strlen(text);
    struct cp cp = {.s = text, .n = n, .why = why, .why_size = why_size};
    if (n > WEIR_EXPR_TEXT_BYTES_MAX) {
        return cp_fail(&cp, WEIR_EXPR_TEXT_BYTES_MAX, "value longer than %u bytes",
                       WEIR_EXPR_TEXT_BYTES_MAX);
    }
    struct weir_expr *ex = calloc(1, sizeof *ex);
    if (!ex) {
        return cp_nomem(&cp);
    }
    cp.ex = ex;
    ex->text = malloc(n + 1);
    if (!ex->text) {
        weir_expr_free(ex);
        return cp_nomem(&cp);
    }
    memcpy(ex->text, text, n + 1);
    int rc = cp_value(&cp);
    if (rc) {
        weir_expr_free(ex);
        return rc;
    }
    ex->result_type = T_STR;
    if (ex->seg_count == 1 && ex->segs[0].kind == SEG_EXPR) {
        uint8_t t = ex->subs[ex->segs[0].sub].type;
        ex->result_type = t == T_ANY ? T_STR : t;
    }
    if (ex->seg_count == 0) {
        ex->literal = "";
    } else if (ex->seg_count == 1 && ex->segs[0].kind == SEG_TEXT) {
        ex->literal = ex->pool + ex->segs[0].off;
    }
    *expr_out = ex;
    return 0;
}

const char *weir_expr_text(const struct weir_expr *expr)
{
    return expr->text;
}

bool weir_expr_is_literal(const struct weir_expr *expr)
{
    return expr->literal != NULL;
}

const char *weir_expr_literal(const struct weir_expr *expr)
{
    return expr->literal;
}

bool weir_expr_uses_attributes(const struct weir_expr *expr)
{
    return expr->uses_attrs;
}

enum weir_expr_type weir_expr_result_type(const struct weir_expr *expr)
{
    return (enum weir_expr_type)expr->result_type;
}

size_t weir_expr_param_count(const struct weir_expr *expr)
{
    return expr->param_count;
}

const char *weir_expr_param_name(const struct weir_expr *expr, size_t index)
{
    if (index >= expr->param_count) {
        return NULL;
    }
    return expr->pool + expr->params[index];
}

/* ------------------------------------------------------------------------ */
/* Evaluator                                                                */

enum ev_kind { V_NULL, V_STR, V_NUM, V_BOOL };

struct ev_val {
    uint8_t type;
    bool arena;      /* STR: the bytes are buf->data[off..off+len) */
    const char *ext; /* STR not in the arena: stable for the whole evaluation */
    size_t off;
    size_t len;
    int64_t num;
    bool b;
};

struct ev {
    const struct weir_expr *ex;
    const struct weir_expr_env *env;
    struct weir_expr_buf *buf;
    size_t top; /* first free byte of the arena */
    char *why;
    size_t why_size;
};

__attribute__((format(printf, 4, 5))) static int ev_fail(struct ev *ev, int err, uint32_t pos,
                                                         const char *fmt, ...)
{
    if (ev->why && ev->why_size) {
        int k = snprintf(ev->why, ev->why_size, "position %u: ", pos + 1);
        if (k >= 0 && (size_t)k < ev->why_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ev->why + k, ev->why_size - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return err;
}

/* Room for n more bytes above top (plus the NUL). */
static int ev_reserve(struct ev *ev, size_t n, uint32_t pos)
{
    if (n > (size_t)WEIR_EXPR_OUT_BYTES_MAX) {
        return ev_fail(ev, WEIR_E_NOSPC, pos, "value longer than %u bytes",
                       WEIR_EXPR_OUT_BYTES_MAX);
    }
    int rc = ex_buf_room(ev->buf, ev->top + n + 1);
    if (rc == WEIR_E_NOSPC) {
        if (ev->buf->fixed) {
            return ev_fail(ev, rc, pos, "output does not fit in %zu bytes", ev->buf->cap);
        }
        return ev_fail(ev, rc, pos, "output longer than %u bytes", WEIR_EXPR_OUT_BYTES_MAX);
    }
    if (rc) {
        return ev_fail(ev, rc, pos, "out of memory evaluating an expression");
    }
    return 0;
}

static const char *ev_ptr(const struct ev *ev, const struct ev_val *v)
{
    return v->arena ? ev->buf->data + v->off : v->ext;
}

static struct ev_val ev_ext(const char *s, size_t len)
{
    struct ev_val v = {.type = V_STR, .ext = s, .len = len};
    return v;
}

static struct ev_val ev_num(int64_t n)
{
    struct ev_val v = {.type = V_NUM, .num = n};
    return v;
}

static struct ev_val ev_bool(bool b)
{
    struct ev_val v = {.type = V_BOOL, .b = b};
    return v;
}

/* Turns v into its string form (null -> ""). */
static int ev_stringify(struct ev *ev, struct ev_val *v, uint32_t pos)
{
    if (v->type == V_STR) {
        return 0;
    }
    if (v->type == V_NULL) {
        *v = ev_ext("", 0);
        return 0;
    }
    if (v->type == V_BOOL) {
        *v = v->b ? ev_ext("true", 4) : ev_ext("false", 5);
        return 0;
    }
    int rc = ev_reserve(ev, 24, pos);
    if (rc) {
        return rc;
    }
    size_t len = ex_fmt_i64(ev->buf->data + ev->top, v->num);
    struct ev_val s = {.type = V_STR, .arena = true, .off = ev->top, .len = len};
    ev->top += len;
    *v = s;
    return 0;
}

static int ev_to_num(struct ev *ev, const struct ev_val *v, uint32_t pos, const char *fn,
                     const char *what, int64_t *out)
{
    if (v->type == V_NUM) {
        *out = v->num;
        return 0;
    }
    if (v->type == V_NULL) {
        return ev_fail(ev, WEIR_E_INVAL, pos, "%s: %s is null, not a number", fn, what);
    }
    if (v->type == V_BOOL) {
        return ev_fail(ev, WEIR_E_INVAL, pos, "%s: %s is a boolean, not a number", fn, what);
    }
    const char *p = ev_ptr(ev, v);
    if (!ex_parse_i64(p, v->len, out)) {
        int shown = v->len > 40 ? 40 : (int)v->len;
        return ev_fail(ev, WEIR_E_INVAL, pos, "%s: %s '%.*s%s' is not a whole number", fn, what,
                       shown, p, v->len > 40 ? "..." : "");
    }
    return 0;
}

static bool ev_to_bool(const struct ev *ev, const struct ev_val *v)
{
    if (v->type == V_BOOL) {
        return v->b;
    }
    if (v->type == V_STR) {
        return ex_is_true(ev_ptr(ev, v), v->len);
    }
    return false;
}

static int ev_sub(struct ev *ev, uint32_t sub_idx, struct ev_val *out);

static int ev_param(struct ev *ev, uint32_t name_off, uint32_t pos, struct ev_val *out)
{
    const char *name = ev->ex->pool + name_off;
    const char *v = ev->env->param ? ev->env->param(ev->env->param_ctx, name) : NULL;
    if (!v) {
        return ev_fail(ev, WEIR_E_NOENT, pos, "no parameter '%s'", name);
    }
    *out = ev_ext(v, strlen(v));
    return 0;
}

static int ev_arg(struct ev *ev, const struct ex_call *call, unsigned k, struct ev_val *out)
{
    const struct ex_arg *a = &ev->ex->args[call->first_arg + k];
    switch (a->kind) {
    case ARG_STR:
        *out = ev_ext(ev->ex->pool + a->off, a->len);
        return 0;
    case ARG_NUM:
        *out = ev_num(a->num);
        return 0;
    case ARG_BOOL:
        *out = ev_bool(a->num != 0);
        return 0;
    case ARG_PARAM:
        return ev_param(ev, a->off, a->pos, out);
    default:
        return ev_sub(ev, a->sub, out);
    }
}

/* An argument in string form (null -> ""). */
static int ev_arg_str(struct ev *ev, const struct ex_call *call, unsigned k, struct ev_val *out)
{
    int rc = ev_arg(ev, call, k, out);
    if (rc) {
        return rc;
    }
    return ev_stringify(ev, out, ev->ex->args[call->first_arg + k].pos);
}

static int ev_arg_num(struct ev *ev, const struct ex_call *call, unsigned k, int64_t *out)
{
    struct ev_val v;
    int rc = ev_arg(ev, call, k, &v);
    if (rc) {
        return rc;
    }
    return ev_to_num(ev, &v, ev->ex->args[call->first_arg + k].pos, ex_fns[call->fn].name,
                     "argument", out);
}

static bool ev_all_blank(const char *p, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        if (!ex_blank(p[k])) {
            return false;
        }
    }
    return true;
}

static int ev_case(struct ev *ev, const struct ex_call *call, struct ev_val *s, bool upper)
{
    if (s->type == V_NULL) {
        return 0;
    }
    int rc = ev_stringify(ev, s, call->pos);
    if (rc == 0) {
        rc = ev_reserve(ev, s->len, call->pos);
    }
    if (rc) {
        return rc;
    }
    const char *src = ev_ptr(ev, s);
    char *dst = ev->buf->data + ev->top;
    for (size_t k = 0; k < s->len; k++) {
        dst[k] = upper ? ex_upper(src[k]) : ex_lower(src[k]);
    }
    struct ev_val r = {.type = V_STR, .arena = true, .off = ev->top, .len = s->len};
    ev->top += s->len;
    *s = r;
    return 0;
}

/* A view of s[from, from+len). */
static void ev_slice(struct ev_val *s, size_t from, size_t len)
{
    if (s->arena) {
        s->off += from;
    } else {
        s->ext += from;
    }
    s->len = len;
}

static int ev_substring(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    int64_t start;
    int64_t end;
    int rc = ev_arg_num(ev, call, 0, &start);
    if (rc) {
        return rc;
    }
    if (s->type == V_NULL) {
        return 0;
    }
    rc = ev_stringify(ev, s, call->pos);
    if (rc) {
        return rc;
    }
    end = (int64_t)s->len;
    if (call->argc == 2) {
        rc = ev_arg_num(ev, call, 1, &end);
        if (rc) {
            return rc;
        }
        if (start > end) {
            return ev_fail(ev, WEIR_E_INVAL, call->pos, "substring: start %lld is after end %lld",
                           (long long)start, (long long)end);
        }
    }
    if (start < 0 || end < 0 || start > (int64_t)s->len || end > (int64_t)s->len) {
        *s = ev_ext("", 0);
        return 0;
    }
    ev_slice(s, (size_t)start, (size_t)(end - start));
    return 0;
}

static int ev_concat(struct ev *ev, const struct ex_call *call, struct ev_val *s, bool append)
{
    struct ev_val a;
    int rc = ev_stringify(ev, s, call->pos);
    if (rc == 0) {
        rc = ev_arg_str(ev, call, 0, &a);
    }
    if (rc == 0) {
        rc = ev_reserve(ev, s->len + a.len, call->pos);
    }
    if (rc) {
        return rc;
    }
    const struct ev_val *first = append ? s : &a;
    const struct ev_val *second = append ? &a : s;
    char *dst = ev->buf->data + ev->top;
    memcpy(dst, ev_ptr(ev, first), first->len);
    memcpy(dst + first->len, ev_ptr(ev, second), second->len);
    struct ev_val r = {.type = V_STR, .arena = true, .off = ev->top, .len = s->len + a.len};
    ev->top += r.len;
    *s = r;
    return 0;
}

static int ev_replace(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    struct ev_val search;
    struct ev_val repl;
    int rc = ev_arg_str(ev, call, 0, &search);
    if (rc == 0) {
        rc = ev_arg_str(ev, call, 1, &repl);
    }
    if (rc || s->type == V_NULL) {
        return rc;
    }
    rc = ev_stringify(ev, s, call->pos);
    if (rc || search.len == 0 || search.len > s->len) {
        return rc;
    }
    size_t hits = 0;
    const char *p = ev_ptr(ev, s);
    const char *q = ev_ptr(ev, &search);
    for (size_t k = 0; k + search.len <= s->len;) {
        if (memcmp(p + k, q, search.len) == 0) {
            hits++;
            k += search.len;
        } else {
            k++;
        }
    }
    if (hits == 0) {
        return 0;
    }
    size_t out_len = s->len - hits * search.len;
    if (repl.len && hits > ((size_t)WEIR_EXPR_OUT_BYTES_MAX - out_len) / repl.len) {
        return ev_fail(ev, WEIR_E_NOSPC, call->pos, "replace: value longer than %u bytes",
                       WEIR_EXPR_OUT_BYTES_MAX);
    }
    out_len += hits * repl.len;
    rc = ev_reserve(ev, out_len, call->pos);
    if (rc) {
        return rc;
    }
    p = ev_ptr(ev, s);
    q = ev_ptr(ev, &search);
    const char *r = ev_ptr(ev, &repl);
    char *dst = ev->buf->data + ev->top;
    size_t w = 0;
    for (size_t k = 0; k < s->len;) {
        if (k + search.len <= s->len && memcmp(p + k, q, search.len) == 0) {
            memcpy(dst + w, r, repl.len);
            w += repl.len;
            k += search.len;
        } else {
            dst[w++] = p[k++];
        }
    }
    struct ev_val res = {.type = V_STR, .arena = true, .off = ev->top, .len = w};
    ev->top += w;
    *s = res;
    return 0;
}

/* contains / startsWith / endsWith / equals / equalsIgnoreCase */
static int ev_compare(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    struct ev_val a;
    int rc = ev_arg_str(ev, call, 0, &a);
    if (rc) {
        return rc;
    }
    if (s->type == V_NULL) {
        *s = ev_bool(false);
        return 0;
    }
    rc = ev_stringify(ev, s, call->pos);
    if (rc) {
        return rc;
    }
    const char *p = ev_ptr(ev, s);
    const char *q = ev_ptr(ev, &a);
    bool r = false;
    switch (call->fn) {
    case FN_CONTAINS:
        if (a.len == 0) {
            r = true;
        }
        for (size_t k = 0; !r && k + a.len <= s->len; k++) {
            r = memcmp(p + k, q, a.len) == 0;
        }
        break;
    case FN_STARTSWITH:
        r = a.len <= s->len && memcmp(p, q, a.len) == 0;
        break;
    case FN_ENDSWITH:
        r = a.len <= s->len && memcmp(p + s->len - a.len, q, a.len) == 0;
        break;
    case FN_EQUALS:
        r = a.len == s->len && memcmp(p, q, a.len) == 0;
        break;
    default: /* FN_EQUALSIGNORECASE */
        r = a.len == s->len;
        for (size_t k = 0; r && k < a.len; k++) {
            r = ex_lower(p[k]) == ex_lower(q[k]);
        }
        break;
    }
    *s = ev_bool(r);
    return 0;
}

static int ev_arith(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    const char *name = ex_fns[call->fn].name;
    int64_t b;
    int rc = ev_arg_num(ev, call, 0, &b);
    if (rc || s->type == V_NULL) {
        if (rc == 0 && call->fn >= FN_GT) {
            *s = ev_bool(false);
        }
        return rc;
    }
    int64_t a;
    rc = ev_to_num(ev, s, call->pos, name, "subject", &a);
    if (rc) {
        return rc;
    }
    int64_t r = 0;
    bool overflow = false;
    switch (call->fn) {
    case FN_PLUS:
        overflow = __builtin_add_overflow(a, b, &r);
        break;
    case FN_MINUS:
        overflow = __builtin_sub_overflow(a, b, &r);
        break;
    case FN_MULTIPLY:
        overflow = __builtin_mul_overflow(a, b, &r);
        break;
    case FN_DIVIDE:
    case FN_MOD:
        if (b == 0) {
            return ev_fail(ev, WEIR_E_INVAL, call->pos, "%s: division by zero", name);
        }
        if (a == INT64_MIN && b == -1) {
            overflow = call->fn == FN_DIVIDE;
            r = 0;
        } else {
            r = call->fn == FN_DIVIDE ? a / b : a % b;
        }
        break;
    case FN_GT:
        *s = ev_bool(a > b);
        return 0;
    case FN_GE:
        *s = ev_bool(a >= b);
        return 0;
    case FN_LT:
        *s = ev_bool(a < b);
        return 0;
    default: /* FN_LE */
        *s = ev_bool(a <= b);
        return 0;
    }
    if (overflow) {
        return ev_fail(ev, WEIR_E_INVAL, call->pos, "%s: %lld and %lld overflow a 64-bit number",
                       name, (long long)a, (long long)b);
    }
    *s = ev_num(r);
    return 0;
}

static int ev_logic(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    bool a = ev_to_bool(ev, s);
    struct ev_val v;
    int rc;
    switch (call->fn) {
    case FN_NOT:
        *s = ev_bool(!a);
        return 0;
    case FN_AND:
    case FN_OR:
        if (a == (call->fn == FN_OR)) { /* decided without the argument */
            *s = ev_bool(a);
            return 0;
        }
        rc = ev_arg(ev, call, 0, &v);
        if (rc) {
            return rc;
        }
        *s = ev_bool(ev_to_bool(ev, &v));
        return 0;
    default: /* FN_IFELSE: only the chosen branch is evaluated */
        rc = ev_arg(ev, call, a ? 0 : 1, &v);
        if (rc) {
            return rc;
        }
        *s = v;
        return 0;
    }
}

static int ev_call(struct ev *ev, const struct ex_call *call, struct ev_val *s)
{
    struct ev_val a;
    int rc;
    switch (call->fn) {
    case FN_TOUPPER:
    case FN_TOLOWER:
        return ev_case(ev, call, s, call->fn == FN_TOUPPER);
    case FN_TRIM:
        if (s->type == V_NULL) {
            return 0;
        }
        rc = ev_stringify(ev, s, call->pos);
        if (rc == 0) {
            const char *p = ev_ptr(ev, s);
            size_t from = 0;
            size_t to = s->len;
            while (from < to && ex_blank(p[from])) {
                from++;
            }
            while (to > from && ex_blank(p[to - 1])) {
                to--;
            }
            ev_slice(s, from, to - from);
        }
        return rc;
    case FN_SUBSTRING:
        return ev_substring(ev, call, s);
    case FN_APPEND:
    case FN_PREPEND:
        return ev_concat(ev, call, s, call->fn == FN_APPEND);
    case FN_REPLACE:
        return ev_replace(ev, call, s);
    case FN_REPLACENULL:
    case FN_REPLACEEMPTY:
        if (s->type == V_NULL || (call->fn == FN_REPLACEEMPTY && s->type == V_STR &&
                                  ev_all_blank(ev_ptr(ev, s), s->len))) {
            return ev_arg(ev, call, 0, s);
        }
        return 0;
    case FN_TOSTRING:
        return ev_stringify(ev, s, call->pos);
    case FN_LENGTH:
        rc = ev_stringify(ev, s, call->pos);
        if (rc == 0) {
            *s = ev_num((int64_t)s->len);
        }
        return rc;
    case FN_TONUMBER:
        if (s->type == V_NULL || s->type == V_NUM) {
            return 0;
        }
        rc = ev_to_num(ev, s, call->pos, "toNumber", "subject", &a.num);
        if (rc == 0) {
            *s = ev_num(a.num);
        }
        return rc;
    case FN_CONTAINS:
    case FN_STARTSWITH:
    case FN_ENDSWITH:
    case FN_EQUALS:
    case FN_EQUALSIGNORECASE:
        return ev_compare(ev, call, s);
    case FN_ISEMPTY:
        *s =
            ev_bool(s->type == V_NULL || (s->type == V_STR && ev_all_blank(ev_ptr(ev, s), s->len)));
        return 0;
    case FN_ISNULL:
    case FN_NOTNULL:
        *s = ev_bool((s->type == V_NULL) == (call->fn == FN_ISNULL));
        return 0;
    case FN_NOT:
    case FN_AND:
    case FN_OR:
    case FN_IFELSE:
        return ev_logic(ev, call, s);
    default:
        return ev_arith(ev, call, s);
    }
}

/* Slides an arena value down to base and drops the scratch above it. */
static void ev_compact(struct ev *ev, size_t base, struct ev_val *v)
{
    if (v->type == V_STR && v->arena) {
        if (v->off != base) {
            memmove(ev->buf->data + base, ev->buf->data + v->off, v->len);
            v->off = base;
        }
        ev->top = base + v->len;
    } else {
        ev->top = base;
    }
}

static int ev_sub(struct ev *ev, uint32_t sub_idx, struct ev_val *out)
{
    const struct ex_sub *sub = &ev->ex->subs[sub_idx];
    size_t base = ev->top;
    struct ev_val v = {.type = V_NULL};
    int rc = 0;
    if (sub->subj == SUBJ_ATTR) {
        const char *name = ev->ex->pool + sub->name_off;
        const char *a = ev->env->attr ? ev->env->attr(ev->env->attr_ctx, name) : NULL;
        if (a) {
            v = ev_ext(a, strlen(a));
        }
    } else if (sub->subj == SUBJ_PARAM) {
        rc = ev_param(ev, sub->name_off, sub->pos, &v);
    } else {
        const struct ex_call lit = {.fn = FN_LITERAL, .argc = 1, .first_arg = sub->lit_arg};
        rc = ev_arg(ev, &lit, 0, &v);
    }
    for (uint32_t c = sub->first_call; rc == 0 && c != EX_NONE; c = ev->ex->calls[c].next) {
        rc = ev_call(ev, &ev->ex->calls[c], &v);
        if (rc == 0) {
            ev_compact(ev, base, &v);
        }
    }
    *out = v;
    return rc;
}

/* Writes v's string form at result offset res (res <= top); top = res + len. */
static int ev_emit(struct ev *ev, size_t res, struct ev_val *v, uint32_t pos)
{
    char tmp[24];
    const char *src = NULL;
    size_t len = 0;
    if (v->type == V_STR && v->arena) {
        memmove(ev->buf->data + res, ev->buf->data + v->off, v->len);
        ev->top = res + v->len;
        return 0;
    }
    if (v->type == V_STR) {
        src = v->ext;
        len = v->len;
    } else if (v->type == V_NUM) {
        len = ex_fmt_i64(tmp, v->num);
        src = tmp;
    } else if (v->type == V_BOOL) {
        src = v->b ? "true" : "false";
        len = strlen(src);
    }
    ev->top = res;
    int rc = ev_reserve(ev, len, pos);
    if (rc) {
        return rc;
    }
    if (len) {
        memcpy(ev->buf->data + res, src, len);
    }
    ev->top = res + len;
    return 0;
}

static int ev_segment(struct ev *ev, const struct ex_seg *seg)
{
    struct ev_val v;
    int rc;
    size_t res = ev->top;
    switch (seg->kind) {
    case SEG_TEXT:
        v = ev_ext(ev->ex->pool + seg->off, seg->len);
        break;
    case SEG_PARAM:
        rc = ev_param(ev, seg->off, seg->pos, &v);
        if (rc) {
            return rc;
        }
        break;
    default:
        rc = ev_sub(ev, seg->sub, &v);
        if (rc) {
            return rc;
        }
        break;
    }
    return ev_emit(ev, res, &v, seg->pos);
}

static void ev_clear_why(char *why, size_t why_size)
{
    if (why && why_size) {
        why[0] = '\0';
    }
}

int weir_expr_eval(const struct weir_expr *expr, const struct weir_expr_env *env,
                   struct weir_expr_buf *out, char *why, size_t why_size)
{
    static const struct weir_expr_env no_env = {0};
    struct ev ev = {.ex = expr,
                    .env = env ? env : &no_env,
                    .buf = out,
                    .top = 0,
                    .why = why,
                    .why_size = why_size};
    ev_clear_why(why, why_size);
    out->len = 0;
    int rc = ev_reserve(&ev, 0, 0);
    for (size_t k = 0; rc == 0 && k < expr->seg_count; k++) {
        rc = ev_segment(&ev, &expr->segs[k]);
    }
    if (rc) {
        if (out->data && out->cap) {
            out->data[0] = '\0';
        }
        out->len = 0;
        return rc;
    }
    out->data[ev.top] = '\0';
    out->len = ev.top;
    return 0;
}

int weir_expr_eval_bool(const struct weir_expr *expr, const struct weir_expr_env *env,
                        struct weir_expr_buf *scratch, bool *result_out, char *why, size_t why_size)
{
    *result_out = false;
    if (expr->result_type == T_BOOL) {
        /* one ${ } with a boolean result: no rendering */
        static const struct weir_expr_env no_env = {0};
        struct ev ev = {.ex = expr,
                        .env = env ? env : &no_env,
                        .buf = scratch,
                        .why = why,
                        .why_size = why_size};
        ev_clear_why(why, why_size);
        struct ev_val v;
        int rc = ev_reserve(&ev, 0, 0);
        if (rc == 0) {
            rc = ev_sub(&ev, expr->segs[0].sub, &v);
        }
        if (rc == 0) {
            *result_out = ev_to_bool(&ev, &v);
        }
        scratch->len = 0;
        if (scratch->data && scratch->cap) {
            scratch->data[0] = '\0';
        }
        return rc;
    }
    int rc = weir_expr_eval(expr, env, scratch, why, why_size);
    if (rc) {
        return rc;
    }
    *result_out = ex_is_true(scratch->data, scratch->len);
    return 0;
}

int weir_expr_eval_to(const struct weir_expr *expr, const struct weir_expr_env *env, char *dst,
                      size_t dst_size, size_t *len_out, char *why, size_t why_size)
{
    struct weir_expr_buf buf;
    weir_expr_buf_init_fixed(&buf, dst, dst_size);
    int rc = weir_expr_eval(expr, env, &buf, why, why_size);
    if (len_out) {
        *len_out = rc ? 0 : buf.len;
    }
    return rc;
}
