/* Kafka's murmur2 (see murmur2.h for the exact variant). */
#include "core/murmur2.h"

#define MURMUR2_SEED 0x9747b28cu
#define MURMUR2_M 0x5bd1e995u
#define MURMUR2_R 24

uint32_t weir_murmur2(const void *data, size_t len)
{
    const uint8_t *p = data;
    /* Java takes the length as an int: the low 32 bits. */
    uint32_t h = MURMUR2_SEED ^ (uint32_t)len;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *b = p + 4 * i;
        uint32_t k =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        k *= MURMUR2_M;
        k ^= k >> MURMUR2_R; /* Java's >>>: a logical shift */
        k *= MURMUR2_M;
        h *= MURMUR2_M;
        h ^= k;
    }
    const uint8_t *tail = p + 4 * blocks;
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)tail[0];
        h *= MURMUR2_M;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= MURMUR2_M;
    h ^= h >> 15;
    return h;
}
