/* Kafka wire primitives: a bounded reader, a growable writer and a bump arena.
 *
 * weir_rd reads big-endian integers, varints, strings, bytes, array counts and
 * tag buffers from one request or response frame. It never reads past `end`.
 * Errors are sticky: the first failure stops the reader (every later read
 * returns zero values and moves nothing) and records why, naming the field by
 * its path: "Metadata.Topics[2].Name: truncated". Decoders check rd->why (or
 * weir_rd_ok) where it matters, e.g. before allocating an array.
 *
 * Array counts are checked against the bytes left (count * smallest element
 * size must fit), so an absurd count fails at once, before any allocation.
 *
 * Strings and bytes are returned as views into the frame (weir_str,
 * weir_bytes): no copies, valid while the frame is. len == -1 means null.
 *
 * weir_wr appends to one heap buffer that doubles as needed. Errors are
 * sticky too: after a failed allocation (or a value the format cannot hold,
 * e.g. a 40,000-byte STRING) writes do nothing and weir_wr_status reports it.
 *
 * weir_arena is a bump allocator for decoded arrays: a request's arrays all
 * come from one arena and go with one weir_arena_reset or weir_arena_free.
 */
#ifndef WEIR_PROTO_WIRE_H
#define WEIR_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/uuid.h"

/* A string view into a frame. len == -1: null (p is NULL). Not NUL-terminated. */
typedef struct weir_str {
    const char *p;
    int32_t len;
} weir_str;

/* A byte-string view into a frame. len == -1: null (p is NULL). */
typedef struct weir_bytes {
    const uint8_t *p;
    int32_t len;
} weir_bytes;

#define WEIR_STR_NULL ((weir_str){NULL, -1})
#define WEIR_BYTES_NULL ((weir_bytes){NULL, -1})

/* Kafka's UUID type (core/uuid.h): 16 raw bytes on the wire, in every
 * version, flexible or not; copied out of the frame. */

/* A view of a C string (NULL gives the null string). */
weir_str weir_str_from(const char *s);

/* True when both are null, or both non-null with the same bytes. */
bool weir_str_eq(weir_str a, weir_str b);
/* True when s is non-null and equals the C string c. */
bool weir_str_eq_cstr(weir_str s, const char *c);
bool weir_bytes_eq(weir_bytes a, weir_bytes b);
bool weir_uuid_eq(weir_uuid a, weir_uuid b);

/* ---- arena ---- */

typedef struct weir_arena_chunk weir_arena_chunk;

typedef struct weir_arena {
    weir_arena_chunk *chunks; /* newest first */
    size_t used_bytes;        /* bytes handed out (with alignment) since the last reset */
    size_t bytes_max;         /* limit on used_bytes; 0 = no limit */
} weir_arena;

/* Default limit the broker may use for one request's arrays. */
#define WEIR_ARENA_BYTES_MAX_DEFAULT (64u * 1024 * 1024)

/* An empty arena; allocates nothing until the first weir_arena_alloc. */
void weir_arena_init(weir_arena *a, size_t bytes_max);

/* size bytes, zeroed, 16-byte aligned, owned by the arena. NULL when the
 * allocation fails or would pass bytes_max. size 0 gives a valid pointer. */
void *weir_arena_alloc(weir_arena *a, size_t size);

/* count * elem_size bytes (zeroed), NULL on overflow, limit or failure. */
void *weir_arena_alloc_array(weir_arena *a, size_t count, size_t elem_size);

/* Frees everything handed out; keeps the first chunk for reuse. */
void weir_arena_reset(weir_arena *a);

/* Frees everything; the arena may be used again (as after weir_arena_init). */
void weir_arena_free(weir_arena *a);

/* ---- reader ---- */

#define WEIR_RD_DEPTH_MAX 6
#define WEIR_RD_WHY_BYTES 160

typedef struct weir_rd_frame {
    const char *name;
    int32_t index; /* -1: a field, not an array element */
} weir_rd_frame;

typedef struct weir_rd {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    const char *why;   /* NULL while all is well; then the first error (in why_buf) */
    const char *scope; /* the message name that starts every path: "Metadata" */
    int depth;
    weir_rd_frame path[WEIR_RD_DEPTH_MAX];
    int err; /* WEIR_E_CORRUPT, or WEIR_E_NOMEM when an arena ran out */
    char why_buf[WEIR_RD_WHY_BYTES];
} weir_rd;

/* Starts reading buf[0..len); the caller keeps buf alive while views are used. */
void weir_rd_init(weir_rd *rd, const void *buf, size_t len);

static inline bool weir_rd_ok(const weir_rd *rd)
{
    return rd->why == NULL;
}

/* 0, or the sticky error (WEIR_E_CORRUPT or WEIR_E_NOMEM). */
WEIR_MUST_CHECK static inline int weir_rd_status(const weir_rd *rd)
{
    return rd->why == NULL ? 0 : rd->err;
}

static inline size_t weir_rd_left(const weir_rd *rd)
{
    return (size_t)(rd->end - rd->p);
}

static inline size_t weir_rd_pos(const weir_rd *rd)
{
    return (size_t)(rd->p - rd->start);
}

/* Names the message for error paths ("Metadata") and clears the field path. */
void weir_rd_scope(weir_rd *rd, const char *scope);

/* Enters a field (index -1) or an array element (index >= 0) of the path;
 * weir_rd_pop leaves it. Deeper than WEIR_RD_DEPTH_MAX levels are not named. */
void weir_rd_push(weir_rd *rd, const char *name, int32_t index);
void weir_rd_pop(weir_rd *rd);

/* Records the first error: "<scope>.<path>.<field>: <what>"; field may be NULL.
 * Later failures are ignored. Always returns rd->err. */
int weir_rd_fail(weir_rd *rd, const char *field, const char *what);
/* The same, with WEIR_E_NOMEM ("out of memory" or "arena limit"). */
int weir_rd_fail_nomem(weir_rd *rd, const char *field);

/* Fixed-width reads; field names the value in an error. 0 after an error. */
int8_t weir_rd_i8(weir_rd *rd, const char *field);
int16_t weir_rd_i16(weir_rd *rd, const char *field);
int32_t weir_rd_i32(weir_rd *rd, const char *field);
int64_t weir_rd_i64(weir_rd *rd, const char *field);
bool weir_rd_bool(weir_rd *rd, const char *field);          /* any non-zero byte is true */
uint64_t weir_rd_uvarint(weir_rd *rd, const char *field);   /* at most 10 bytes */
uint32_t weir_rd_uvarint32(weir_rd *rd, const char *field); /* at most 5 bytes, <= UINT32_MAX */
/* UUID: 16 raw bytes; all zeroes after an error. */
weir_uuid weir_rd_uuid(weir_rd *rd, const char *field);

/* STRING (int16 length >= 0) and NULLABLE_STRING (-1 = null). */
weir_str weir_rd_string(weir_rd *rd, const char *field);
weir_str weir_rd_nullable_string(weir_rd *rd, const char *field);
/* COMPACT_STRING (uvarint len+1, 0 rejected) / COMPACT_NULLABLE_STRING (0 = null). */
weir_str weir_rd_compact_string(weir_rd *rd, const char *field);
weir_str weir_rd_compact_nullable_string(weir_rd *rd, const char *field);
/* BYTES (int32 len >= 0), NULLABLE_BYTES (-1 = null), COMPACT_BYTES. */
weir_bytes weir_rd_bytes(weir_rd *rd, const char *field);
weir_bytes weir_rd_nullable_bytes(weir_rd *rd, const char *field);
weir_bytes weir_rd_compact_bytes(weir_rd *rd, const char *field);
weir_bytes weir_rd_compact_nullable_bytes(weir_rd *rd, const char *field);

/* ARRAY count: int32, -1 = null (only when nullable; otherwise an error),
 * other negatives are errors. elem_bytes_min (>= 1) is the smallest encoding
 * of one element: count * elem_bytes_min must fit in the bytes left.
 * Returns the count, -1 for null, 0 after an error. */
int32_t weir_rd_array_count(weir_rd *rd, const char *field, bool nullable, size_t elem_bytes_min);
/* COMPACT_ARRAY count: uvarint count+1, 0 = null. Same checks. */
int32_t weir_rd_compact_array_count(weir_rd *rd, const char *field, bool nullable,
                                    size_t elem_bytes_min);

/* Skips a TAG_BUFFER (uvarint count, then uvarint tag, uvarint size, bytes),
 * checking that each size fits. */
void weir_rd_skip_tags(weir_rd *rd, const char *field);

/* count elements of elem_size bytes from the arena; on failure records
 * WEIR_E_NOMEM naming field and returns NULL. count 0 gives a valid pointer. */
void *weir_rd_alloc(weir_rd *rd, weir_arena *a, const char *field, int32_t count, size_t elem_size);

/* ---- writer ---- */

typedef struct weir_wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int err; /* 0, WEIR_E_NOMEM, or WEIR_E_INVAL for a value the format cannot hold */
} weir_wr;

/* An empty writer; allocates on the first write. */
void weir_wr_init(weir_wr *w);
/* Frees the buffer (unless taken). */
void weir_wr_free(weir_wr *w);
/* Empties the writer, keeping its buffer and clearing the error. */
void weir_wr_reset(weir_wr *w);

/* 0, or the first error. */
WEIR_MUST_CHECK static inline int weir_wr_status(const weir_wr *w)
{
    return w->err;
}

/* Hands the buffer (malloc'd, w->len bytes) to the caller, who frees it with
 * free(); the writer is left empty. NULL if nothing was written or on error. */
uint8_t *weir_wr_take(weir_wr *w, size_t *len_out);

/* Appends raw bytes / a fixed-width value. */
void weir_wr_raw(weir_wr *w, const void *p, size_t n);
void weir_wr_i8(weir_wr *w, int8_t v);
void weir_wr_i16(weir_wr *w, int16_t v);
void weir_wr_i32(weir_wr *w, int32_t v);
void weir_wr_i64(weir_wr *w, int64_t v);
void weir_wr_bool(weir_wr *w, bool v);
void weir_wr_uvarint(weir_wr *w, uint64_t v);
void weir_wr_uuid(weir_wr *w, weir_uuid u); /* 16 raw bytes */

/* Reserves n bytes (e.g. a length written later with weir_wr_put_i32_at);
 * returns their position. */
size_t weir_wr_skip(weir_wr *w, size_t n);
void weir_wr_put_i32_at(weir_wr *w, size_t pos, int32_t v);

/* STRING: null or longer than INT16_MAX sets WEIR_E_INVAL. NULLABLE_STRING
 * writes -1 for null. COMPACT_STRING rejects null; the nullable one writes 0. */
void weir_wr_string(weir_wr *w, weir_str s);
void weir_wr_nullable_string(weir_wr *w, weir_str s);
void weir_wr_compact_string(weir_wr *w, weir_str s);
void weir_wr_compact_nullable_string(weir_wr *w, weir_str s);
/* BYTES (null rejected), NULLABLE_BYTES (-1 for null), COMPACT_BYTES. */
void weir_wr_bytes(weir_wr *w, weir_bytes b);
void weir_wr_nullable_bytes(weir_wr *w, weir_bytes b);
void weir_wr_compact_bytes(weir_wr *w, weir_bytes b);

/* ARRAY count (int32; -1 writes null) and COMPACT_ARRAY count (uvarint
 * count+1; -1 writes 0 = null). Counts below -1 set WEIR_E_INVAL. */
void weir_wr_array_count(weir_wr *w, int32_t count);
void weir_wr_compact_array_count(weir_wr *w, int32_t count);

/* An empty TAG_BUFFER: one 0x00 byte. */
void weir_wr_tags_empty(weir_wr *w);

#endif
