/* Property values with NiFi-style Expression Language: compiled once,
 * evaluated many times.
 *
 * A property value is literal text with two kinds of references in it:
 *   ${...}   an expression over the FlowFile's attributes
 *   #{name}  a parameter from the parameter context (params.h)
 * weir_expr_compile parses the text once into a weir_expr; weir_expr_eval
 * renders it against an attribute lookup and a parameter lookup, into a
 * weir_expr_buf the caller keeps and reuses, so the steady state does no
 * allocation at all (the flow engine evaluates properties per FlowFile).
 * Compiling and evaluating are pure: no clock, no randomness, no files, no
 * global state; a compiled weir_expr is immutable and may be shared.
 *
 * THE SUBSET (the README copies this section)
 *
 * Text and escapes (positions in messages are 1-based byte offsets into the
 * property value):
 *   ${expr}        evaluates expr; a missing attribute renders as "".
 *   $${abc}        the literal text ${abc}. A run of n '$' before a '{' that
 *                  has its '}' gives n/2 literal '$'; an odd run then starts an
 *                  expression (NiFi: $$${abc} -> $xyz, $$$${abc} -> $${abc}).
 *                  '$' not followed by '{' is plain text ("$$5" stays "$$5").
 *   #{name}        the parameter's value, inserted as plain text.
 *   ##{name}       the literal text #{name}; '#' runs pair up as '$' runs do
 *                  (###{abc} -> #xxx). "#abc" and "#{abc" are plain text.
 *   Parameter names: letters, digits, space, '_', '-', '.' (NiFi's set);
 *   "#{a/b}" is a compile error.
 *   Differences from NiFi: an unclosed "${" (odd '$' run) is a compile error
 *   rather than literal text; a parameter's value is inserted as plain text,
 *   EL inside it is not evaluated (to get NiFi's behaviour substitute first
 *   with weir_params_substitute and compile the result, recompiling when
 *   weir_param_ctx_version changes).
 *
 * Inside ${ }: blanks (space, tab, CR, LF) around tokens are ignored.
 *   subject            an attribute name: filename, mime.type, kafka.key-2
 *                      (letters, digits, '.', '_', '-'; not starting with a
 *                      digit), or a quoted name 'attr with spaces' / "x:y",
 *                      or a parameter #{name}, or a subjectless function
 *                      literal('text') / literal(42).
 *   subject:f(a):g()   a chain: each function's result is the subject of the
 *                      next.
 *   arguments          'single' or "double" quoted strings (backslash escapes
 *                      \' \" \\ \n \t \r), whole numbers (-12, 42), the words
 *                      true and false, #{param}, or a nested ${...}.
 *
 * Values are strings, whole numbers (int64) or booleans; a missing attribute
 * or parameter is null. A number or boolean renders as its decimal / "true" /
 * "false" form. Functions (S = subject):
 *   String -> string
 *     toUpper() toLower()      ASCII case mapping
 *     trim()                   strips leading and trailing blanks
 *     substring(start[, end])  bytes [start, end) of S, 0-based (NiFi's
 *                              rules: start > end is an error; an index < 0
 *                              or > length(S) gives "")
 *     append(s) prepend(s)
 *     replace(search, repl)    every literal occurrence (no regex); an empty
 *                              search leaves S unchanged
 *     replaceNull(s)           s if S is null, else S
 *     replaceEmpty(s)          s if S is null, empty or only blanks, else S
 *     toString()               S as a string
 *   String -> number / boolean
 *     length()                 bytes; null -> 0
 *     toNumber()               S parsed as a whole number (error otherwise)
 *     contains(s) startsWith(s) endsWith(s)
 *     equals(s) equalsIgnoreCase(s)  compares the string forms
 *     isEmpty()                S null, empty or only blanks
 *     isNull() notNull()
 *   Numbers (S and argument converted with toNumber; error if not numbers)
 *     plus(n) minus(n) multiply(n) divide(n) mod(n)  int64; division by zero
 *                              and overflow are evaluation errors; divide
 *                              truncates toward zero
 *     gt(n) ge(n) lt(n) le(n)  comparisons -> boolean
 *   Booleans (a string subject/argument counts as true iff it is "true",
 *   ignoring case, as Java's Boolean.parseBoolean)
 *     not()  and(b)  or(b)     b is usually a nested ${...}
 *     ifElse(t, f)             t if S is true, else f
 *   Subjectless
 *     literal(v)               v as the subject: ${literal('a'):append('b')}
 *
 * Compile errors name the 1-based position and the reason:
 *   "position 12: unknown function toUpperr (did you mean toUpper?)"
 *   "position 20: substring takes 1 or 2 arguments, got 3"
 *   "position 3: missing '}' for the '${' at position 1"
 * Evaluation errors name the position of the failing function:
 *   "position 10: divide: division by zero"
 *   "position 3: no parameter 'db.host'"
 */
#ifndef WEIR_FLOW_EXPR_H
#define WEIR_FLOW_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Limits: a property value is at most WEIR_EXPR_TEXT_BYTES_MAX bytes; a
 * growable output stops at WEIR_EXPR_OUT_BYTES_MAX (WEIR_E_NOSPC); nesting of
 * ${ } inside arguments stops at WEIR_EXPR_DEPTH_MAX. */
#define WEIR_EXPR_TEXT_BYTES_MAX (1024u * 1024u)
#define WEIR_EXPR_OUT_BYTES_MAX (64u * 1024u * 1024u)
#define WEIR_EXPR_DEPTH_MAX 32

/* Looks a name up: returns its value (NUL-terminated) or NULL if absent. The
 * name is NUL-terminated and owned by the expression. The returned string must
 * stay valid and unchanged until the weir_expr_eval call that asked returns. */
typedef const char *(*weir_expr_lookup_fn)(void *ctx, const char *name);

/* Where an evaluation finds its names. attr may be NULL (every attribute is
 * then null); param may be NULL (every #{name} is then an evaluation error,
 * WEIR_E_NOENT). For a parameter context pass weir_param_ctx_lookup and the
 * context (params.h). */
struct weir_expr_env {
    weir_expr_lookup_fn attr;
    void *attr_ctx;
    weir_expr_lookup_fn param;
    void *param_ctx;
};

/* The output of an evaluation, also its scratch space. Either growable
 * (weir_expr_buf_init; memory owned by the buffer, kept between evaluations,
 * released by weir_expr_buf_free) or fixed (weir_expr_buf_init_fixed over the
 * caller's memory, never reallocated; too small -> WEIR_E_NOSPC). After a
 * successful evaluation data[0..len) is the result and data[len] == '\0'.
 * Fields are read-only for callers. */
struct weir_expr_buf {
    char *data;
    size_t len;
    size_t cap;
    bool fixed;
};

void weir_expr_buf_init(struct weir_expr_buf *buf);
/* mem must hold size >= 1 bytes and outlive the buffer. */
void weir_expr_buf_init_fixed(struct weir_expr_buf *buf, char *mem, size_t size);
/* Releases a growable buffer's memory (no-op for a fixed one); buf is empty
 * and reusable afterwards. */
void weir_expr_buf_free(struct weir_expr_buf *buf);
/* Appends s[0..n) and keeps data NUL-terminated: 0, WEIR_E_NOSPC (fixed
 * buffer full, or past WEIR_EXPR_OUT_BYTES_MAX) or WEIR_E_NOMEM; on error the
 * content is unchanged. */
WEIR_MUST_CHECK int weir_expr_buf_append(struct weir_expr_buf *buf, const char *s, size_t n);

struct weir_expr;

enum weir_expr_type {
    WEIR_EXPR_STRING = 0,
    WEIR_EXPR_NUMBER = 1,
    WEIR_EXPR_BOOLEAN = 2,
};

/* Compiles text (NUL-terminated, at most WEIR_EXPR_TEXT_BYTES_MAX bytes) into
 * *expr_out, which the caller owns and frees with weir_expr_free. Returns 0,
 * WEIR_E_INVAL with why = "position N: reason" (why may be NULL), or
 * WEIR_E_NOMEM. *expr_out is NULL on failure. Types are checked where they
 * are known: a number function on a boolean (and the reverse) is an error. */
WEIR_MUST_CHECK int weir_expr_compile(const char *text, struct weir_expr **expr_out, char *why,
                                      size_t why_size);

void weir_expr_free(struct weir_expr *expr);

/* The source text, as given to weir_expr_compile. */
const char *weir_expr_text(const struct weir_expr *expr);

/* True if the value has no ${ } and no #{ }: its evaluation is constant
 * (escapes already applied) and is weir_expr_literal(expr). */
bool weir_expr_is_literal(const struct weir_expr *expr);
const char *weir_expr_literal(const struct weir_expr *expr); /* NULL unless literal */

/* True if any ${ } reads an attribute (so the value depends on the FlowFile). */
bool weir_expr_uses_attributes(const struct weir_expr *expr);

/* The type of the result: BOOLEAN or NUMBER only when the whole value is one
 * ${ } whose last function yields that type; STRING otherwise. RouteOnAttribute
 * should require BOOLEAN at configuration time. */
enum weir_expr_type weir_expr_result_type(const struct weir_expr *expr);

/* The distinct parameter names the value references, in order of first use
 * (for validation, sensitivity checks and knowing whom a change affects).
 * index < weir_expr_param_count(expr); names are owned by expr. */
size_t weir_expr_param_count(const struct weir_expr *expr);
const char *weir_expr_param_name(const struct weir_expr *expr, size_t index);

/* Evaluates expr into out (its previous content is discarded). Returns 0;
 * WEIR_E_NOENT for a #{name} the lookup does not know; WEIR_E_INVAL for an
 * evaluation error (not a number, division by zero, overflow); WEIR_E_NOSPC if
 * a fixed buffer is too small or a growable one would pass
 * WEIR_EXPR_OUT_BYTES_MAX; WEIR_E_NOMEM. why gets "position N: reason". On
 * error out->len is 0 and out->data (if any) holds "". Allocates only when out
 * must grow. May run anywhere; touches nothing but out and the lookups. */
WEIR_MUST_CHECK int weir_expr_eval(const struct weir_expr *expr, const struct weir_expr_env *env,
                                   struct weir_expr_buf *out, char *why, size_t why_size);

/* Evaluates expr as a condition: *result_out is true iff the rendered value is
 * "true" ignoring case (NiFi's rule), so a boolean expression gives its value
 * and anything else gives false. scratch is used as in weir_expr_eval. Same
 * returns; *result_out is false on error. */
WEIR_MUST_CHECK int weir_expr_eval_bool(const struct weir_expr *expr,
                                        const struct weir_expr_env *env,
                                        struct weir_expr_buf *scratch, bool *result_out, char *why,
                                        size_t why_size);

/* Evaluates into the caller's dst[0..dst_size) (NUL-terminated on success);
 * *len_out (may be NULL) gets the length. dst also serves as scratch, so a
 * value with long intermediate strings may need more room than its result.
 * Returns as weir_expr_eval (WEIR_E_NOSPC when dst is too small). */
WEIR_MUST_CHECK int weir_expr_eval_to(const struct weir_expr *expr, const struct weir_expr_env *env,
                                      char *dst, size_t dst_size, size_t *len_out, char *why,
                                      size_t why_size);

#endif
