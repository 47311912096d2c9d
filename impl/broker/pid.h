/* Producer ids: unique in the cluster and never handed out twice, across
 * restarts and crashes included.
 *
 * Broker n owns the range [n * 2^40, (n + 1) * 2^40). Ids are reserved in
 * blocks of WEIR_PID_BLOCK_SIZE: before the first id of a block is used, the
 * block's end is written to `producer-id-block` in the broker's log dir and
 * synced (tmp + sync + rename). After a restart allocation resumes at the
 * recorded end, so the unused rest of a block is skipped, never reused.
 * Kafka's ProducerIdManager reserves blocks of 1000 from the controller; a
 * per-broker range gives the same guarantee without a round trip.
 *
 * Invariants: range_start <= next <= block_end <= range_end; every id below
 * block_end was durably reserved before it was returned; -1 is never returned.
 */
#ifndef WEIR_BROKER_PID_H
#define WEIR_BROKER_PID_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"

#define WEIR_PID_BLOCK_SIZE 1000
#define WEIR_PID_RANGE_BITS 40
#define WEIR_PID_FILE "producer-id-block"

typedef struct weir_pid_alloc {
    int64_t range_start;
    int64_t range_end; /* exclusive */
    int64_t next;      /* the next id to hand out */
    int64_t block_end; /* exclusive end of the durably reserved block */
    bool loaded;       /* the file was read */
} weir_pid_alloc;

/* Sets up the allocator of broker node_id (>= 0); reads nothing yet. */
void weir_pid_init(weir_pid_alloc *a, int32_t node_id);

/* Hands out the next id. Reads the file on first use and reserves a new
 * block (write + sync) when the current one is used up. Returns 0, or the
 * env's error (WEIR_E_IO, WEIR_E_NOSPC) when the reservation cannot be made
 * durable, WEIR_E_CORRUPT for a damaged file, WEIR_E_RANGE when the range is
 * exhausted; *pid_out is then untouched and nothing was handed out. */
WEIR_MUST_CHECK int weir_pid_next(weir_pid_alloc *a, weir_env *env, int64_t *pid_out);

#endif
