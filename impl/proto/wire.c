/* Kafka wire primitives: bounded reader, growable writer, bump arena.
 *
 * Invariants: start <= p <= end for every weir_rd, and p only moves forward
 * after a bounds check; after the first error p stays put. For weir_wr,
 * len <= cap, and after the first error nothing more is written.
 */
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"

/* ---- views ---- */

weir_str weir_str_from(const char *s)
{
    if (s == NULL) {
        return WEIR_STR_NULL;
    }
    size_t n = strlen(s);
    return (weir_str){s, n > INT32_MAX ? INT32_MAX : (int32_t)n};
}

bool weir_str_eq(weir_str a, weir_str b)
{
    if (a.len < 0 || b.len < 0) {
        return a.len < 0 && b.len < 0;
    }
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

bool weir_str_eq_cstr(weir_str s, const char *c)
{
    return c != NULL && s.len >= 0 && weir_str_eq(s, weir_str_from(c));
}

bool weir_bytes_eq(weir_bytes a, weir_bytes b)
{
    if (a.len < 0 || b.len < 0) {
        return a.len < 0 && b.len < 0;
    }
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

bool weir_uuid_eq(weir_uuid a, weir_uuid b)
{
    return memcmp(a.b, b.b, sizeof a.b) == 0;
}

/* ---- arena ---- */

#define AR_ALIGN 16
#define AR_CHUNK_BYTES_MIN 4096

struct weir_arena_chunk {
    weir_arena_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(AR_ALIGN) unsigned char data[];
};

void weir_arena_init(weir_arena *a, size_t bytes_max)
{
    a->chunks = NULL;
    a->used_bytes = 0;
    a->bytes_max = bytes_max;
}

void *weir_arena_alloc(weir_arena *a, size_t size)
{
    size_t need = (size + (AR_ALIGN - 1)) & ~(size_t)(AR_ALIGN - 1);
    if (need < size) {
        return NULL;
    }
    if (need == 0) {
        need = AR_ALIGN; /* distinct, valid pointers for empty arrays */
    }
    if (a->bytes_max != 0 && (need > a->bytes_max || a->used_bytes > a->bytes_max - need)) {
        return NULL;
    }
    weir_arena_chunk *c = a->chunks;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = c == NULL ? AR_CHUNK_BYTES_MIN : c->cap * 2;
        if (cap < need) {
            cap = need;
        }
        if (cap > SIZE_MAX - sizeof *c) {
            return NULL;
        }
        weir_arena_chunk *n = malloc(sizeof *n + cap);
        if (n == NULL) {
            return NULL;
        }
        n->next = c;
        n->cap = cap;
        n->used = 0;
        a->chunks = n;
        c = n;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used_bytes += need;
    memset(p, 0, need);
    return p;
}

void *weir_arena_alloc_array(weir_arena *a, size_t count, size_t elem_size)
{
    if (elem_size != 0 && count > SIZE_MAX / elem_size) {
        return NULL;
    }
    return weir_arena_alloc(a, count * elem_size);
}

void weir_arena_reset(weir_arena *a)
{
    /* Keep the largest (newest) chunk; free the rest. */
    weir_arena_chunk *keep = a->chunks;
    if (keep != NULL) {
        weir_arena_chunk *c = keep->next;
        while (c != NULL) {
            weir_arena_chunk *next = c->next;
            free(c);
            c = next;
        }
        keep->next = NULL;
        keep->used = 0;
    }
    a->used_bytes = 0;
}

void weir_arena_free(weir_arena *a)
{
    weir_arena_chunk *c = a->chunks;
    while (c != NULL) {
        weir_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->used_bytes = 0;
}

/* ---- reader ---- */

void weir_rd_init(weir_rd *rd, const void *buf, size_t len)
{
    rd->start = buf;
    rd->p = buf;
    rd->end = rd->start + (buf == NULL ? 0 : len);
    rd->why = NULL;
    rd->scope = NULL;
    rd->depth = 0;
    rd->err = 0;
    rd->why_buf[0] = '\0';
}

void weir_rd_scope(weir_rd *rd, const char *scope)
{
    rd->scope = scope;
    rd->depth = 0;
}

void weir_rd_push(weir_rd *rd, const char *name, int32_t index)
{
    if (rd->depth < WEIR_RD_DEPTH_MAX) {
        rd->path[rd->depth].name = name;
        rd->path[rd->depth].index = index;
    }
    rd->depth++;
}

void weir_rd_pop(weir_rd *rd)
{
    WEIR_ASSERT(rd->depth > 0);
    rd->depth--;
}

/* Appends s to buf (cap bytes, NUL-terminated), cutting it short if full. */
static void rd_append(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len + 1 < cap) {
        buf[(*len)++] = *s++;
    }
    buf[*len] = '\0';
}

static int rd_fail_code(weir_rd *rd, int err, const char *field, const char *what)
{
    if (rd->why != NULL) {
        return rd->err;
    }
    char *b = rd->why_buf;
    size_t cap = sizeof rd->why_buf;
    size_t len = 0;
    const char *sep = "";
    b[0] = '\0';
    if (rd->scope != NULL) {
        rd_append(b, cap, &len, rd->scope);
        sep = ".";
    }
    int depth = rd->depth < WEIR_RD_DEPTH_MAX ? rd->depth : WEIR_RD_DEPTH_MAX;
    for (int i = 0; i < depth; i++) {
        rd_append(b, cap, &len, sep);
        rd_append(b, cap, &len, rd->path[i].name);
        if (rd->path[i].index >= 0) {
            char ix[16];
            snprintf(ix, sizeof ix, "[%d]", (int)rd->path[i].index);
            rd_append(b, cap, &len, ix);
        }
        sep = ".";
    }
    if (field != NULL) {
        rd_append(b, cap, &len, sep);
        rd_append(b, cap, &len, field);
        sep = ".";
    }
    rd_append(b, cap, &len, len > 0 ? ": " : "");
    rd_append(b, cap, &len, what);
    rd->err = err;
    rd->why = rd->why_buf;
    return err;
}

int weir_rd_fail(weir_rd *rd, const char *field, const char *what)
{
    return rd_fail_code(rd, WEIR_E_CORRUPT, field, what);
}

int weir_rd_fail_nomem(weir_rd *rd, const char *field)
{
    return rd_fail_code(rd, WEIR_E_NOMEM, field, "out of memory (arena limit)");
}

/* Returns a pointer to n readable bytes and moves past them, or NULL (and
 * records "truncated") when fewer are left or an error came before. */
static const uint8_t *rd_take(weir_rd *rd, const char *field, size_t n)
{
    if (rd->why != NULL) {
        return NULL;
    }
    if (n > weir_rd_left(rd)) {
        weir_ignore(weir_rd_fail(rd, field, "truncated"));
        return NULL;
    }
    const uint8_t *p = rd->p;
    rd->p += n;
    return p;
}

int8_t weir_rd_i8(weir_rd *rd, const char *field)
{
    const uint8_t *p = rd_take(rd, field, 1);
    return p == NULL ? 0 : (int8_t)p[0];
}

int16_t weir_rd_i16(weir_rd *rd, const char *field)
{
    const uint8_t *p = rd_take(rd, field, 2);
    return p == NULL ? 0 : (int16_t)weir_get_be16(p);
}

int32_t weir_rd_i32(weir_rd *rd, const char *field)
{
    const uint8_t *p = rd_take(rd, field, 4);
    return p == NULL ? 0 : (int32_t)weir_get_be32(p);
}

int64_t weir_rd_i64(weir_rd *rd, const char *field)
{
    const uint8_t *p = rd_take(rd, field, 8);
    return p == NULL ? 0 : (int64_t)weir_get_be64(p);
}

bool weir_rd_bool(weir_rd *rd, const char *field)
{
    return weir_rd_i8(rd, field) != 0;
}

static uint64_t rd_uvarint(weir_rd *rd, const char *field, int max_bytes)
{
    if (rd->why != NULL) {
        return 0;
    }
    uint64_t v = 0;
    size_t n = weir_get_uvarint(rd->p, rd->end, max_bytes, &v);
    if (n == 0) {
        /* weir_get_uvarint stops at max_bytes or at the end of the input. */
        bool truncated = weir_rd_left(rd) < (size_t)max_bytes;
        weir_ignore(weir_rd_fail(rd, field, truncated ? "truncated" : "varint too long"));
        return 0;
    }
    rd->p += n;
    return v;
}

uint64_t weir_rd_uvarint(weir_rd *rd, const char *field)
{
    return rd_uvarint(rd, field, 10);
}

uint32_t weir_rd_uvarint32(weir_rd *rd, const char *field)
{
    uint64_t v = rd_uvarint(rd, field, 5);
    if (v > UINT32_MAX) {
        weir_ignore(weir_rd_fail(rd, field, "varint out of range"));
        return 0;
    }
    return (uint32_t)v;
}

weir_uuid weir_rd_uuid(weir_rd *rd, const char *field)
{
    weir_uuid u = WEIR_UUID_ZERO;
    const uint8_t *p = rd_take(rd, field, sizeof u.b);
    if (p != NULL) {
        memcpy(u.b, p, sizeof u.b);
    }
    return u;
}

/* len bytes as a view; len already checked to be >= 0. */
static const uint8_t *rd_span(weir_rd *rd, const char *field, int64_t len)
{
    if (rd->why != NULL) {
        return NULL;
    }
    if ((uint64_t)len > weir_rd_left(rd)) {
        weir_ignore(weir_rd_fail(rd, field, "length past the end of the frame"));
        return NULL;
    }
    return rd_take(rd, field, (size_t)len);
}

static weir_str rd_str_of(weir_rd *rd, const char *field, int64_t len)
{
    const uint8_t *p = rd_span(rd, field, len);
    if (p == NULL) {
        return (weir_str){"", 0};
    }
    return (weir_str){(const char *)p, (int32_t)len};
}

static weir_str rd_str16(weir_rd *rd, const char *field, bool nullable)
{
    int16_t len = weir_rd_i16(rd, field);
    if (rd->why != NULL) {
        return (weir_str){"", 0};
    }
    if (len == -1 && nullable) {
        return WEIR_STR_NULL;
    }
    if (len < 0) {
        weir_ignore(weir_rd_fail(rd, field, nullable ? "negative length" : "null string"));
        return (weir_str){"", 0};
    }
    return rd_str_of(rd, field, len);
}

weir_str weir_rd_string(weir_rd *rd, const char *field)
{
    return rd_str16(rd, field, false);
}

weir_str weir_rd_nullable_string(weir_rd *rd, const char *field)
{
    return rd_str16(rd, field, true);
}

static weir_str rd_compact_str(weir_rd *rd, const char *field, bool nullable)
{
    uint32_t n = weir_rd_uvarint32(rd, field);
    if (rd->why != NULL) {
        return (weir_str){"", 0};
    }
    if (n == 0) {
        if (nullable) {
            return WEIR_STR_NULL;
        }
        weir_ignore(weir_rd_fail(rd, field, "null string"));
        return (weir_str){"", 0};
    }
    if (n - 1 > INT32_MAX) {
        weir_ignore(weir_rd_fail(rd, field, "length out of range"));
        return (weir_str){"", 0};
    }
    return rd_str_of(rd, field, (int64_t)n - 1);
}

weir_str weir_rd_compact_string(weir_rd *rd, const char *field)
{
    return rd_compact_str(rd, field, false);
}

weir_str weir_rd_compact_nullable_string(weir_rd *rd, const char *field)
{
    return rd_compact_str(rd, field, true);
}

static weir_bytes rd_bytes_of(weir_rd *rd, const char *field, int64_t len)
{
    const uint8_t *p = rd_span(rd, field, len);
    if (p == NULL) {
        return (weir_bytes){rd->p, 0};
    }
    return (weir_bytes){p, (int32_t)len};
}

static weir_bytes rd_bytes32(weir_rd *rd, const char *field, bool nullable)
{
    int32_t len = weir_rd_i32(rd, field);
    if (rd->why != NULL) {
        return (weir_bytes){rd->p, 0};
    }
    if (len == -1 && nullable) {
        return WEIR_BYTES_NULL;
    }
    if (len < 0) {
        weir_ignore(weir_rd_fail(rd, field, nullable ? "negative length" : "null bytes"));
        return (weir_bytes){rd->p, 0};
    }
    return rd_bytes_of(rd, field, len);
}

weir_bytes weir_rd_bytes(weir_rd *rd, const char *field)
{
    return rd_bytes32(rd, field, false);
}

weir_bytes weir_rd_nullable_bytes(weir_rd *rd, const char *field)
{
    return rd_bytes32(rd, field, true);
}

static weir_bytes rd_compact_bytes(weir_rd *rd, const char *field, bool nullable)
{
    uint32_t n = weir_rd_uvarint32(rd, field);
    if (rd->why != NULL) {
        return (weir_bytes){rd->p, 0};
    }
    if (n == 0) {
        if (nullable) {
            return WEIR_BYTES_NULL;
        }
        weir_ignore(weir_rd_fail(rd, field, "null bytes"));
        return (weir_bytes){rd->p, 0};
    }
    if (n - 1 > INT32_MAX) {
        weir_ignore(weir_rd_fail(rd, field, "length out of range"));
        return (weir_bytes){rd->p, 0};
    }
    return rd_bytes_of(rd, field, (int64_t)n - 1);
}

weir_bytes weir_rd_compact_bytes(weir_rd *rd, const char *field)
{
    return rd_compact_bytes(rd, field, false);
}

weir_bytes weir_rd_compact_nullable_bytes(weir_rd *rd, const char *field)
{
    return rd_compact_bytes(rd, field, true);
}

static int32_t rd_check_count(weir_rd *rd, const char *field, int64_t count, bool nullable,
                              size_t elem_bytes_min)
{
    if (rd->why != NULL) {
        return 0;
    }
    if (count == -1) {
        if (nullable) {
            return -1;
        }
        weir_ignore(weir_rd_fail(rd, field, "null array"));
        return 0;
    }
    if (count < 0 || count > INT32_MAX) {
        weir_ignore(weir_rd_fail(rd, field, "array count out of range"));
        return 0;
    }
    if (elem_bytes_min == 0) {
        elem_bytes_min = 1;
    }
    if ((uint64_t)count > weir_rd_left(rd) / elem_bytes_min) {
        weir_ignore(weir_rd_fail(rd, field, "array count past the end of the frame"));
        return 0;
    }
    return (int32_t)count;
}

int32_t weir_rd_array_count(weir_rd *rd, const char *field, bool nullable, size_t elem_bytes_min)
{
    int32_t n = weir_rd_i32(rd, field);
    return rd_check_count(rd, field, n, nullable, elem_bytes_min);
}

int32_t weir_rd_compact_array_count(weir_rd *rd, const char *field, bool nullable,
                                    size_t elem_bytes_min)
{
    uint32_t n = weir_rd_uvarint32(rd, field);
    if (rd->why != NULL) {
        return 0;
    }
    return rd_check_count(rd, field, (int64_t)n - 1, nullable, elem_bytes_min);
}

void weir_rd_skip_tags(weir_rd *rd, const char *field)
{
    uint32_t count = weir_rd_uvarint32(rd, field);
    /* Each tagged field takes at least 2 bytes (tag, size). */
    if (rd->why == NULL && count > weir_rd_left(rd) / 2) {
        weir_ignore(weir_rd_fail(rd, field, "tag count past the end of the frame"));
        return;
    }
    for (uint32_t i = 0; i < count && rd->why == NULL; i++) {
        weir_ignore((int)weir_rd_uvarint32(rd, field));
        uint32_t size = weir_rd_uvarint32(rd, field);
        weir_ignore(rd_span(rd, field, size) == NULL);
    }
}

void *weir_rd_alloc(weir_rd *rd, weir_arena *a, const char *field, int32_t count, size_t elem_size)
{
    if (rd->why != NULL) {
        return NULL;
    }
    if (count < 0) {
        count = 0;
    }
    void *p = weir_arena_alloc_array(a, (size_t)count, elem_size);
    if (p == NULL) {
        weir_ignore(weir_rd_fail_nomem(rd, field));
    }
    return p;
}

/* ---- writer ---- */

void weir_wr_init(weir_wr *w)
{
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->err = 0;
}

void weir_wr_free(weir_wr *w)
{
    free(w->buf);
    weir_wr_init(w);
}

void weir_wr_reset(weir_wr *w)
{
    w->len = 0;
    w->err = 0;
}

uint8_t *weir_wr_take(weir_wr *w, size_t *len_out)
{
    if (w->err != 0 || w->len == 0) {
        *len_out = 0;
        return NULL;
    }
    uint8_t *p = w->buf;
    *len_out = w->len;
    weir_wr_init(w);
    return p;
}

/* Room for n more bytes; false (and the error set) when there is none. */
static bool wr_room(weir_wr *w, size_t n)
{
    if (w->err != 0) {
        return false;
    }
    if (n <= w->cap - w->len) {
        return true;
    }
    if (n > SIZE_MAX / 2 - w->len) {
        w->err = WEIR_E_NOMEM;
        return false;
    }
    size_t cap = w->cap < 256 ? 256 : w->cap;
    while (cap - w->len < n) {
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (b == NULL) {
        w->err = WEIR_E_NOMEM;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

static void wr_invalid(weir_wr *w)
{
    if (w->err == 0) {
        w->err = WEIR_E_INVAL;
    }
}

void weir_wr_raw(weir_wr *w, const void *p, size_t n)
{
    if (n == 0 || !wr_room(w, n)) {
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void weir_wr_i8(weir_wr *w, int8_t v)
{
    if (wr_room(w, 1)) {
        w->buf[w->len++] = (uint8_t)v;
    }
}

void weir_wr_i16(weir_wr *w, int16_t v)
{
    if (wr_room(w, 2)) {
        weir_put_be16(w->buf + w->len, (uint16_t)v);
        w->len += 2;
    }
}

void weir_wr_i32(weir_wr *w, int32_t v)
{
    if (wr_room(w, 4)) {
        weir_put_be32(w->buf + w->len, (uint32_t)v);
        w->len += 4;
    }
}

void weir_wr_i64(weir_wr *w, int64_t v)
{
    if (wr_room(w, 8)) {
        weir_put_be64(w->buf + w->len, (uint64_t)v);
        w->len += 8;
    }
}

void weir_wr_bool(weir_wr *w, bool v)
{
    weir_wr_i8(w, v ? 1 : 0);
}

void weir_wr_uvarint(weir_wr *w, uint64_t v)
{
    if (wr_room(w, 10)) {
        w->len += weir_put_uvarint(w->buf + w->len, v);
    }
}

void weir_wr_uuid(weir_wr *w, weir_uuid u)
{
    weir_wr_raw(w, u.b, sizeof u.b);
}

size_t weir_wr_skip(weir_wr *w, size_t n)
{
    size_t pos = w->len;
    if (wr_room(w, n)) {
        memset(w->buf + w->len, 0, n);
        w->len += n;
    }
    return pos;
}

void weir_wr_put_i32_at(weir_wr *w, size_t pos, int32_t v)
{
    if (w->err == 0) {
        WEIR_ASSERT(pos <= w->len && w->len - pos >= 4);
        weir_put_be32(w->buf + pos, (uint32_t)v);
    }
}

static void wr_str16(weir_wr *w, weir_str s, bool nullable)
{
    if (s.len < 0) {
        if (nullable) {
            weir_wr_i16(w, -1);
        } else {
            wr_invalid(w);
        }
        return;
    }
    if (s.len > INT16_MAX) {
        wr_invalid(w);
        return;
    }
    weir_wr_i16(w, (int16_t)s.len);
    weir_wr_raw(w, s.p, (size_t)s.len);
}

void weir_wr_string(weir_wr *w, weir_str s)
{
    wr_str16(w, s, false);
}

void weir_wr_nullable_string(weir_wr *w, weir_str s)
{
    wr_str16(w, s, true);
}

void weir_wr_compact_string(weir_wr *w, weir_str s)
{
    if (s.len < 0) {
        wr_invalid(w);
        return;
    }
    weir_wr_uvarint(w, (uint64_t)s.len + 1);
    weir_wr_raw(w, s.p, (size_t)s.len);
}

void weir_wr_compact_nullable_string(weir_wr *w, weir_str s)
{
    if (s.len < 0) {
        weir_wr_uvarint(w, 0);
        return;
    }
    weir_wr_compact_string(w, s);
}

void weir_wr_bytes(weir_wr *w, weir_bytes b)
{
    if (b.len < 0) {
        wr_invalid(w);
        return;
    }
    weir_wr_i32(w, b.len);
    weir_wr_raw(w, b.p, (size_t)b.len);
}

void weir_wr_nullable_bytes(weir_wr *w, weir_bytes b)
{
    if (b.len < 0) {
        weir_wr_i32(w, -1);
        return;
    }
    weir_wr_bytes(w, b);
}

void weir_wr_compact_bytes(weir_wr *w, weir_bytes b)
{
    if (b.len < 0) {
        wr_invalid(w);
        return;
    }
    weir_wr_uvarint(w, (uint64_t)b.len + 1);
    weir_wr_raw(w, b.p, (size_t)b.len);
}

void weir_wr_array_count(weir_wr *w, int32_t count)
{
    if (count < -1) {
        wr_invalid(w);
        return;
    }
    weir_wr_i32(w, count);
}

void weir_wr_compact_array_count(weir_wr *w, int32_t count)
{
    if (count < -1) {
        wr_invalid(w);
        return;
    }
    weir_wr_uvarint(w, (uint64_t)((int64_t)count + 1));
}

void weir_wr_tags_empty(weir_wr *w)
{
    weir_wr_uvarint(w, 0);
}
