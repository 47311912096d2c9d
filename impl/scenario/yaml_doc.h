/* YAML documents read against a schema, shared by the readers of weir's YAML
 * files (scenario files in impl/scenario, flow files in impl/flow): loading
 * one document with libyaml's complaint turned into a message, errors
 * "FILE:LINE:COLUMN: PATH: reason" with the key path kept on a stack, key
 * checks with "did you mean" hints, and the scalar forms (integers,
 * booleans, durations, sizes, enums, names).
 *
 * libyaml resolves no types, so the schema decides what a scalar means: a
 * quoted "3" reads like a plain 3.
 *
 * Errors stop the parse: every helper returns 0 or a negative WEIR_E_* after
 * writing the message into the context; only the first message is kept.
 * Strings the helpers return come from the context's alloc.
 *
 * Linking: this file is in the weir_scenario library; a reader elsewhere
 * (weir_flow) links weir_scenario.
 */
#ifndef WEIR_SCENARIO_YAML_DOC_H
#define WEIR_SCENARIO_YAML_DOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "core/err.h"

#define WEIR_YDOC_PATH_MAX 256
#define WEIR_YDOC_PAIRS_MAX 1024 /* keys in one mapping */

typedef struct weir_ydoc {
    yaml_document_t *doc;
    const char *file; /* named in messages */
    /* Where the strings of weir_ydoc_string and friends go: size zeroed
     * bytes owned by the reader's result (its arena), or NULL when out of
     * memory. */
    void *(*alloc)(void *owner, size_t size);
    void *owner;
    char *why; /* the first message; why_size >= 1 */
    size_t why_size;
    char path[WEIR_YDOC_PATH_MAX]; /* "topics[0].replication_factor" */
    size_t path_len;
} weir_ydoc;

/* ---- loading ---- */

/* Loads the one document of text into doc (the caller deletes it when
 * *loaded). An empty stream fails with "empty file: <empty_hint>"; a second
 * document fails with "a second YAML document: <what> holds one". */
WEIR_MUST_CHECK int weir_ydoc_load(weir_ydoc *y, const char *text, size_t len, yaml_document_t *doc,
                                   bool *loaded, const char *empty_hint, const char *what);

/* ---- errors and the key path ---- */

/* Formats "FILE:LINE:COLUMN: PATH: message" at node's start (or line 1 when
 * node is NULL) and returns WEIR_E_INVAL. */
int weir_ydoc_fail(weir_ydoc *y, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int weir_ydoc_fail_at(weir_ydoc *y, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int weir_ydoc_vfail(weir_ydoc *y, const yaml_mark_t *mark, const char *fmt, va_list ap);
/* "FILE: out of memory"; returns WEIR_E_NOMEM. */
int weir_ydoc_nomem(weir_ydoc *y);
/* An error about map's value under key (at the value, or at map when the
 * key is absent), with the key on the path. */
int weir_ydoc_fail_key(weir_ydoc *y, const yaml_node_t *map, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The path stack: push returns the length to pop back to. */
size_t weir_ydoc_path_key(weir_ydoc *y, const char *key);
size_t weir_ydoc_path_index(weir_ydoc *y, size_t index);
void weir_ydoc_path_pop(weir_ydoc *y, size_t len);

yaml_node_t *weir_ydoc_node(weir_ydoc *y, int index);
/* "a mapping", "a list", "a single value" or "nothing", for messages. */
const char *weir_ydoc_node_kind(const yaml_node_t *node);

/* ---- hints ---- */

/* The closest of candidates to word (optimal string alignment distance at
 * most 2 and smaller than the word; else a candidate that is the word plus
 * a dotted suffix, as "x.ms" for "x"), or NULL. */
const char *weir_ydoc_closest(const char *word, const char *const *candidates, size_t count);
/* "a, b or c". */
void weir_ydoc_list(char *buf, size_t size, const char *const *names, size_t count);
/* Writes " (did you mean \"x\"?)", else " (expected a, b or c)" for short lists. */
void weir_ydoc_hint(char *buf, size_t size, const char *word, const char *const *candidates,
                    size_t count);
/* The same with another lead-in for the list: " (declared: a, b or c)". */
void weir_ydoc_hint_as(char *buf, size_t size, const char *word, const char *const *candidates,
                       size_t count, const char *lead);

/* ---- mappings and lists ---- */

/* Decides a key that is not in the mapping's own list: 0 accepts it, else
 * the error it wrote (the key is on the path; key is its node). */
typedef int (*weir_ydoc_key_fn)(weir_ydoc *y, const yaml_node_t *key, const char *text, void *arg);

/* Checks that node is a mapping of at most WEIR_YDOC_PAIRS_MAX pairs whose
 * keys are non-empty scalars, each once, each in keys[0..count) — or
 * accepted by other when not NULL; without other an unknown key is an
 * error "unknown key" with a hint from keys. */
WEIR_MUST_CHECK int weir_ydoc_map_check(weir_ydoc *y, const yaml_node_t *node,
                                        const char *const *keys, size_t count,
                                        weir_ydoc_key_fn other, void *arg);
/* A weir_ydoc_key_fn that accepts every key (free-form mappings). */
int weir_ydoc_key_any(weir_ydoc *y, const yaml_node_t *key, const char *text, void *arg);
/* The value under key, or NULL (map must have passed weir_ydoc_map_check). */
yaml_node_t *weir_ydoc_map_get(weir_ydoc *y, const yaml_node_t *map, const char *key);
/* Like weir_ydoc_map_get, but an error "missing key" when absent. */
WEIR_MUST_CHECK int weir_ydoc_map_need(weir_ydoc *y, const yaml_node_t *map, const char *key,
                                       yaml_node_t **out);
/* The key node of the pair under key (for marks); NULL if none. */
yaml_node_t *weir_ydoc_map_key_node(weir_ydoc *y, const yaml_node_t *map, const char *key);
/* The count of pairs of a mapping, and the key and value of pair i. */
size_t weir_ydoc_map_count(const yaml_node_t *map);
yaml_node_t *weir_ydoc_map_key(weir_ydoc *y, const yaml_node_t *map, size_t i);
yaml_node_t *weir_ydoc_map_value(weir_ydoc *y, const yaml_node_t *map, size_t i);

/* A list of at most max items: the count. */
WEIR_MUST_CHECK int weir_ydoc_seq_check(weir_ydoc *y, const yaml_node_t *node, size_t max,
                                        size_t *count);
yaml_node_t *weir_ydoc_seq_item(weir_ydoc *y, const yaml_node_t *node, size_t i);

/* ---- scalars: each fails with the expected form and what was found ---- */

bool weir_ydoc_is_null(const yaml_node_t *node);
const char *weir_ydoc_text(const yaml_node_t *node); /* the scalar's text, or NULL */
WEIR_MUST_CHECK int weir_ydoc_scalar(weir_ydoc *y, const yaml_node_t *node, const char **text);
/* A copy (from alloc) of a scalar shorter than size_max bytes. */
WEIR_MUST_CHECK int weir_ydoc_string(weir_ydoc *y, const yaml_node_t *node, size_t size_max,
                                     const char **out);
/* The same for an empty value too: null and "" give "". */
WEIR_MUST_CHECK int weir_ydoc_text_or_empty(weir_ydoc *y, const yaml_node_t *node, size_t size_max,
                                            const char **out);
/* A name: letters, digits, '.', '_' and '-', starting with a letter or
 * digit; `what` names it in the message ("\"x y\" is not a valid host name"). */
WEIR_MUST_CHECK int weir_ydoc_name(weir_ydoc *y, const yaml_node_t *node, size_t size_max,
                                   const char *what, const char **out);
WEIR_MUST_CHECK int weir_ydoc_int(weir_ydoc *y, const yaml_node_t *node, int64_t min, int64_t max,
                                  int64_t *out);
WEIR_MUST_CHECK int weir_ydoc_bool(weir_ydoc *y, const yaml_node_t *node, bool *out);
/* "250ms", "1.5s", "2m", "1h"; a bare number is seconds; never negative. */
WEIR_MUST_CHECK int weir_ydoc_duration(weir_ydoc *y, const yaml_node_t *node, int64_t *ns_out);
/* "100B", "16KiB", "1MiB", "2GB" (GB = 10^9, GiB = 2^30), one space allowed
 * before the unit ("1 GiB"); a bare number is bytes; "unlimited" is 0 when
 * unlimited_ok. */
WEIR_MUST_CHECK int weir_ydoc_size(weir_ydoc *y, const yaml_node_t *node, bool unlimited_ok,
                                   uint64_t *bytes_out);
WEIR_MUST_CHECK int weir_ydoc_enum(weir_ydoc *y, const yaml_node_t *node, const char *const *names,
                                   size_t count, int *out);

/* The same, for an optional key of map (absent: 0, *out untouched), with
 * the key pushed on the path for messages. */
WEIR_MUST_CHECK int weir_ydoc_opt_int(weir_ydoc *y, const yaml_node_t *map, const char *key,
                                      int64_t min, int64_t max, int64_t *out);
WEIR_MUST_CHECK int weir_ydoc_opt_bool(weir_ydoc *y, const yaml_node_t *map, const char *key,
                                       bool *out);
WEIR_MUST_CHECK int weir_ydoc_opt_duration(weir_ydoc *y, const yaml_node_t *map, const char *key,
                                           int64_t *ns_out);
/* Also checks min <= bytes <= max (unless unlimited). */
WEIR_MUST_CHECK int weir_ydoc_opt_size(weir_ydoc *y, const yaml_node_t *map, const char *key,
                                       bool unlimited_ok, uint64_t min, uint64_t max,
                                       uint64_t *bytes_out);

/* ---- plain text forms ---- */

/* A non-negative decimal number with an optional fraction at the start of
 * text (no sign, exponent, hex, inf or nan); *end after it. */
bool weir_ydoc_parse_number(const char *text, double *v, const char **end);
/* A size as weir_ydoc_size reads it (without "unlimited"). */
int weir_ydoc_parse_size(const char *text, uint64_t *bytes_out);
/* A duration in the most readable exact unit: "10s", "250ms", "7ns". */
void weir_ydoc_format_ns(char *buf, size_t size, int64_t ns);

#endif
