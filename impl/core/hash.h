/* FNV-1a 64-bit hashing, used for trace hashes and seeding.
 * Stable across runs and machines: inputs are fed as explicit little-endian
 * bytes, never as in-memory structs. */
#ifndef WEIR_CORE_HASH_H
#define WEIR_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WEIR_FNV_OFFSET 0xcbf29ce484222325ULL

static inline uint64_t weir_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline uint64_t weir_fnv1a_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
    return weir_fnv1a(h, b, sizeof b);
}

static inline uint64_t weir_fnv1a_str(uint64_t h, const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    /* Length first, so ("ab","c") and ("a","bc") hash apart. */
    return weir_fnv1a(weir_fnv1a_u64(h, n), s, n);
}

#endif
