/* Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64.
 *
 * Every node owns one generator; the simulator seeds it from the run's seed,
 * the node's name and its incarnation, so a run replays exactly. Never use
 * rand()/random() above the env.
 */
#ifndef WEIR_CORE_PRNG_H
#define WEIR_CORE_PRNG_H

#include <stdint.h>

typedef struct weir_prng {
    uint64_t s[4];
} weir_prng;

/* Seeds the generator from a 64-bit value (any value, 0 included). */
void weir_prng_seed(weir_prng *prng, uint64_t seed);

/* Next 64 uniformly distributed bits. */
uint64_t weir_prng_next(weir_prng *prng);

/* Uniform integer in [0, bound) without modulo bias; bound must be > 0. */
uint64_t weir_prng_below(weir_prng *prng, uint64_t bound);

/* Uniform double in [0, 1). */
double weir_prng_unit(weir_prng *prng);

#endif
