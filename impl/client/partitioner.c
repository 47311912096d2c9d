/* Kafka's partitioning rules (see partitioner.h). */
#include "client/partitioner.h"

#include "core/assert.h"
#include "core/murmur2.h"

int32_t weir_partition_for_key(const void *key, size_t key_len, int32_t partition_count)
{
    WEIR_ASSERT(partition_count > 0);
    WEIR_ASSERT(key != NULL || key_len == 0);
    return weir_murmur2_positive(weir_murmur2(key, key_len)) % partition_count;
}

int32_t weir_partition_round_robin(uint32_t *counter, const int32_t *available,
                                   int32_t available_count, int32_t partition_count)
{
    WEIR_ASSERT(partition_count > 0 && available_count >= 0);
    /* Java's AtomicInteger.getAndIncrement: use the value, then step (wrapping). */
    int32_t next = weir_murmur2_positive(*counter);
    *counter += 1;
    if (available_count > 0) {
        return available[next % available_count];
    }
    return next % partition_count;
}
