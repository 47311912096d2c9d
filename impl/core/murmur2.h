/* MurmurHash2, 32-bit, exactly as Kafka's Java client computes it
 * (org.apache.kafka.common.utils.Utils.murmur2), so keyed records land on the
 * same partitions as with the Java producer.
 *
 * Kafka's variant: seed 0x9747b28c, h = seed ^ length, little-endian 4-byte
 * blocks, then the 1 to 3 trailing bytes folded in as unsigned bytes (falling
 * through from the third to the first, then one multiply), then the final
 * avalanche. Java computes in `int`; the same bits come out of uint32_t
 * arithmetic, so the result is returned unsigned: cast it to int32_t to
 * compare with Java's values.
 */
#ifndef WEIR_CORE_MURMUR2_H
#define WEIR_CORE_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's murmur2 of len bytes at data (data may be NULL when len is 0). */
uint32_t weir_murmur2(const void *data, size_t len);

/* Kafka's Utils.toPositive: clears the sign bit (not abs: 0x80000000 gives 0). */
static inline int32_t weir_murmur2_positive(uint32_t h)
{
    return (int32_t)(h & 0x7fffffffu);
}

#endif
