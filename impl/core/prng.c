#include "core/prng.h"

#include "core/assert.h"

static uint64_t prng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void weir_prng_seed(weir_prng *prng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++) {
        prng->s[i] = prng_splitmix64(&state);
    }
}

uint64_t weir_prng_next(weir_prng *prng)
{
    uint64_t *s = prng->s;
    uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = prng_rotl(s[3], 45);
    return result;
}

uint64_t weir_prng_below(weir_prng *prng, uint64_t bound)
{
    WEIR_ASSERT(bound > 0);
    /* Reject the top partial range so every value is equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t x;
    do {
        x = weir_prng_next(prng);
    } while (x >= limit);
    return x % bound;
}

double weir_prng_unit(weir_prng *prng)
{
    return (double)(weir_prng_next(prng) >> 11) * 0x1.0p-53;
}
