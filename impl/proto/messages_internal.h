/* Helpers shared by the message codecs (messages.c, messages_cluster.c);
 * private to impl/proto, not part of the codec's interface.
 *
 * They keep the codec's two rules in one place: a decoder allocates an array
 * only after its count passed the bytes-left check (weir_rd_array_count and
 * friends), and an encoder refuses a count the version cannot carry (below
 * -1, -1 for a non-nullable array, or items missing) with WEIR_E_INVAL.
 */
#ifndef WEIR_PROTO_MESSAGES_INTERNAL_H
#define WEIR_PROTO_MESSAGES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/kafka.h"
#include "proto/wire.h"

/* Runs the body once per element of an array with the element pushed on the
 * error path, while the reader is healthy. The body must not break or return. */
#define RD_EACH(rd, name, i, n)                                                                    \
    for (int32_t i = 0; i < (n) && weir_rd_ok(rd) && (weir_rd_push(rd, name, i), true);            \
         weir_rd_pop(rd), i++)

/* Smallest encodings, for the count checks: a STRING is at least 2 bytes, an
 * ARRAY 4; their compact forms and an empty TAG_BUFFER at least 1. */
#define MIN_STR 2
#define MIN_ARRAY 4
#define MIN_CSTR 1
#define MIN_CARRAY 1
#define MIN_TAGS 1

/* Starts a body decoder: the version must be in the table, the reader healthy. */
static inline int rd_begin(weir_rd *rd, int16_t api_key, int16_t version, const char *scope)
{
    if (!weir_api_supported(api_key, version)) {
        return WEIR_E_INVAL;
    }
    if (!weir_rd_ok(rd)) {
        return rd->err;
    }
    weir_rd_scope(rd, scope);
    return 0;
}

/* Checks an array to encode: count >= -1 (-1 only when nullable) and items
 * present when count > 0. Writes the count (int32, or the compact uvarint
 * count+1) and returns the number of elements to write (0 for null), or 0
 * with the writer failed. */
static inline int32_t wr_array_of(weir_wr *w, bool compact, int32_t count, const void *items,
                                  bool nullable)
{
    if (count < -1 || (count == -1 && !nullable) || (count > 0 && items == NULL)) {
        if (w->err == 0) {
            w->err = WEIR_E_INVAL;
        }
        return 0;
    }
    if (compact) {
        weir_wr_compact_array_count(w, count);
    } else {
        weir_wr_array_count(w, count);
    }
    return count < 0 ? 0 : count;
}

static inline int32_t wr_array(weir_wr *w, int32_t count, const void *items, bool nullable)
{
    return wr_array_of(w, false, count, items, nullable);
}

static inline int32_t wr_compact_array(weir_wr *w, int32_t count, const void *items, bool nullable)
{
    return wr_array_of(w, true, count, items, nullable);
}

/* A non-nullable []int32: ARRAY, or COMPACT_ARRAY when compact. */
static inline void wr_i32_array_of(weir_wr *w, bool compact, int32_t count, const int32_t *items)
{
    int32_t n = wr_array_of(w, compact, count, items, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_i32(w, items[i]);
    }
}

static inline void wr_i32_array(weir_wr *w, int32_t count, const int32_t *items)
{
    wr_i32_array_of(w, false, count, items);
}

/* Reads a non-nullable []int32 (ARRAY, or COMPACT_ARRAY when compact) into
 * the arena; *count_out gets the count (0 after an error). */
static inline const int32_t *rd_i32_array_of(weir_rd *rd, weir_arena *a, bool compact,
                                             const char *field, int32_t *count_out)
{
    int32_t n = compact ? weir_rd_compact_array_count(rd, field, false, 4)
                        : weir_rd_array_count(rd, field, false, 4);
    int32_t *v = weir_rd_alloc(rd, a, field, n, sizeof *v);
    *count_out = 0;
    if (v == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < n; i++) {
        v[i] = weir_rd_i32(rd, field);
    }
    *count_out = weir_rd_ok(rd) ? n : 0;
    return v;
}

static inline const int32_t *rd_i32_array(weir_rd *rd, weir_arena *a, const char *field,
                                          int32_t *count_out)
{
    return rd_i32_array_of(rd, a, false, field, count_out);
}

#endif
