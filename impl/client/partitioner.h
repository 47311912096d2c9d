/* The producer's partitioner, as Kafka's Java client chooses partitions.
 *
 * - An explicit partition wins (the producer checks it against the count).
 * - A record with a key (an empty key included) goes to
 *   toPositive(murmur2(key)) % partition_count (Kafka's Utils.murmur2 and
 *   Utils.toPositive), so keyed records land where the Java producer puts them.
 * - A record without a key follows the older default (Kafka's
 *   DefaultPartitioner before 2.4, i.e. before KIP-480's sticky partitioner,
 *   the rule weir's seed asks for): a per-topic counter that starts at a
 *   random value and takes one step per record; toPositive(counter) picks
 *   among the partitions that have a leader, or among all of them when none
 *   has.
 */
#ifndef WEIR_CLIENT_PARTITIONER_H
#define WEIR_CLIENT_PARTITIONER_H

#include <stddef.h>
#include <stdint.h>

/* Partition of a keyed record; partition_count > 0. key may be NULL only
 * when key_len is 0 (the empty key, which is hashed). */
int32_t weir_partition_for_key(const void *key, size_t key_len, int32_t partition_count);

/* Partition of a record without a key. *counter is the topic's counter
 * (seed it once from weir_random); it advances by one. available lists the
 * partitions with a leader (available_count may be 0); partition_count > 0. */
int32_t weir_partition_round_robin(uint32_t *counter, const int32_t *available,
                                   int32_t available_count, int32_t partition_count);

#endif
