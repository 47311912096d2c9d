/* JSON for the flow engine's management API (flow_api.h): a writer that
 * escapes every string it is given, and a strict reader of the flat request
 * bodies the API accepts.
 *
 * Writer: appends to a growable buffer and places the commas itself; keys
 * and strings are escaped (quote, backslash, control characters) and bytes
 * that are not valid UTF-8 become U+FFFD, so the output is always valid
 * JSON whatever a FlowFile attribute or a processor message holds. Out of
 * memory is sticky: weir_json_take then returns NULL. Nesting is at most
 * WEIR_JSON_DEPTH_MAX deep (asserted).
 *
 * Reader: one object whose values are strings, numbers, true, false, null
 * or arrays of strings — nothing nested deeper, keys unique, nothing after
 * the closing brace but white space (RFC 8259 otherwise: escapes, surrogate
 * pairs, number grammar). Errors say where and which field:
 * "field 'prioritizers': item 2: expected a string", "offset 14: expected
 * ':' after key \"value\"".
 *
 * Pure: no I/O, no clock; allocation only.
 */
#ifndef WEIR_FLOW_JSON_H
#define WEIR_FLOW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define WEIR_JSON_DEPTH_MAX 32
#define WEIR_JSON_FIELDS_MAX 64 /* fields in a flat object */
#define WEIR_JSON_ITEMS_MAX 64  /* strings in one array */

/* ---- writer ---- */

typedef struct weir_json_writer {
    char *data;
    size_t len;
    size_t cap;
    bool failed;        /* out of memory: nothing more is written */
    uint32_t depth;     /* open objects and arrays */
    uint64_t has_items; /* bit d: the container at depth d has an element */
    bool after_key;     /* a key was written: its value comes next */
} weir_json_writer;

void weir_json_init(weir_json_writer *w);
/* Frees the buffer (safe after weir_json_take). */
void weir_json_free(weir_json_writer *w);
/* The text written, NUL-terminated, handed to the caller (free it); NULL
 * when memory ran out. The writer is empty afterwards. */
char *weir_json_take(weir_json_writer *w, size_t *len_out);

void weir_json_object_begin(weir_json_writer *w);
void weir_json_object_end(weir_json_writer *w);
void weir_json_array_begin(weir_json_writer *w);
void weir_json_array_end(weir_json_writer *w);
/* A key inside an object; its value is the next thing written. */
void weir_json_key(weir_json_writer *w, const char *key);

/* Values. A NULL string is written as null. */
void weir_json_string(weir_json_writer *w, const char *s);
void weir_json_string_len(weir_json_writer *w, const char *s, size_t len);
void weir_json_u64(weir_json_writer *w, uint64_t v);
void weir_json_i64(weir_json_writer *w, int64_t v);
void weir_json_bool(weir_json_writer *w, bool v);
void weir_json_null(weir_json_writer *w);

/* A key and its value in one call. */
void weir_json_field_string(weir_json_writer *w, const char *key, const char *s);
void weir_json_field_u64(weir_json_writer *w, const char *key, uint64_t v);
void weir_json_field_i64(weir_json_writer *w, const char *key, int64_t v);
void weir_json_field_bool(weir_json_writer *w, const char *key, bool v);

/* ---- reader of flat objects ---- */

typedef enum weir_json_kind {
    WEIR_JSON_NULL,
    WEIR_JSON_BOOL,
    WEIR_JSON_NUMBER,
    WEIR_JSON_STRING,
    WEIR_JSON_STRING_ARRAY,
} weir_json_kind;

typedef struct weir_json_field {
    char *name;
    weir_json_kind kind;
    char *text;   /* STRING: the decoded value; NUMBER: the number as written */
    bool boolean; /* BOOL */
    char **items; /* STRING_ARRAY: decoded strings */
    size_t item_count;
} weir_json_field;

typedef struct weir_json_flat {
    weir_json_field *fields; /* in the order written */
    size_t count;
} weir_json_flat;

/* Parses text[0..len) into *out (free it with weir_json_flat_free, also
 * after an error). WEIR_E_INVAL with why for anything but a flat object as
 * described above (a string holding \u0000 included); WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_json_flat_parse(const char *text, size_t len, weir_json_flat *out,
                                         char *why, size_t why_size);

/* The field named name, or NULL. */
const weir_json_field *weir_json_flat_find(const weir_json_flat *obj, const char *name);

/* "a string", "a number", ... for messages. */
const char *weir_json_kind_name(weir_json_kind kind);

void weir_json_flat_free(weir_json_flat *obj);

#endif
