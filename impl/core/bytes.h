/* Big-endian integers and Kafka's zig-zag varints, for on-disk and wire formats.
 *
 * Fixed-width readers take a pointer the caller has bounds-checked. Varint
 * readers check bounds themselves and return the bytes consumed, or 0 when the
 * input is truncated or the varint is too long: decoding untrusted bytes must
 * never read past `end`. weir_reader wraps them in a cursor that keeps its
 * first error, for decoders that read a run of fields and check once.
 */
#ifndef WEIR_CORE_BYTES_H
#define WEIR_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void weir_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void weir_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void weir_put_be64(uint8_t *p, uint64_t v)
{
    weir_put_be32(p, (uint32_t)(v >> 32));
    weir_put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t weir_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t weir_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t weir_get_be64(const uint8_t *p)
{
    return (uint64_t)weir_get_be32(p) << 32 | weir_get_be32(p + 4);
}

/* Unsigned LEB128 varint (at most 10 bytes). Returns bytes written. */
static inline size_t weir_put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Zig-zag signed varint, as Kafka's records use: -1 → 0x01, 150 → 0xAC 0x02. */
static inline size_t weir_put_varlong(uint8_t *p, int64_t v)
{
    return weir_put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline size_t weir_put_varint(uint8_t *p, int32_t v)
{
    return weir_put_varlong(p, v);
}

/* Bytes weir_put_varlong would write. */
static inline size_t weir_varlong_size(int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

static inline size_t weir_get_uvarint(const uint8_t *p, const uint8_t *end, int max_bytes,
                                      uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes && p + i < end; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *out = v;
            return (size_t)i + 1;
        }
    }
    return 0;
}

static inline size_t weir_get_varlong(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    uint64_t u = 0;
    size_t n = weir_get_uvarint(p, end, 10, &u);
    if (n != 0) {
        *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    }
    return n;
}

/* A varint must fit in int32 (at most 5 bytes, value in range). */
static inline size_t weir_get_varint(const uint8_t *p, const uint8_t *end, int32_t *out)
{
    uint64_t u = 0;
    size_t n = weir_get_uvarint(p, end, 5, &u);
    if (n == 0 || u > UINT32_MAX) {
        return 0;
    }
    *out = (int32_t)((uint32_t)(u >> 1) ^ -(uint32_t)(u & 1));
    return n;
}

/* A cursor over untrusted bytes [p, end) with a sticky error: the first read
 * that does not fit (a truncated or over-long varint, fewer bytes left than
 * asked for) sets bad and leaves p where it was; from then on every read
 * returns 0 (NULL for weir_reader_take) and p stays. Invariant: p <= end. */
typedef struct weir_reader {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} weir_reader;

/* A reader of the len bytes at p (p may be NULL when len is 0). */
static inline weir_reader weir_reader_of(const uint8_t *p, size_t len)
{
    weir_reader r = {p, len > 0 ? p + len : p, false};
    return r;
}

/* Bytes not read yet. */
static inline size_t weir_reader_left(const weir_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* An unsigned LEB128 varint of at most 10 bytes. */
static inline uint64_t weir_reader_uvarint(weir_reader *r)
{
    uint64_t v = 0;
    size_t n = r->bad ? 0 : weir_get_uvarint(r->p, r->end, 10, &v);
    if (n == 0) {
        r->bad = true;
        return 0;
    }
    r->p += n;
    return v;
}

/* A zig-zag varint of at most 10 bytes (weir_put_varlong). */
static inline int64_t weir_reader_varlong(weir_reader *r)
{
    int64_t v = 0;
    size_t n = r->bad ? 0 : weir_get_varlong(r->p, r->end, &v);
    if (n == 0) {
        r->bad = true;
        return 0;
    }
    r->p += n;
    return v;
}

/* The next n bytes (a pointer into the input; for n == 0 the position), or
 * NULL when fewer are left. */
static inline const uint8_t *weir_reader_take(weir_reader *r, uint64_t n)
{
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

#endif
