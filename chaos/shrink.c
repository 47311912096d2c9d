/* Shrinking a failing schedule: delta debugging (Zeller's ddmin), first
 * over the fault kinds (keep only the kinds the failure needs: a bug that
 * needs a crash rarely needs the latency spikes around it), then over single
 * faults, then shorter durations. Faults are self-contained, so every
 * subset is a valid schedule. The caller runs candidates (several at once
 * if it can) and says which is the first that still fails. */
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "core/assert.h"

#define MAX_BATCH 64 /* candidates offered at once */

typedef struct shrinker {
    weir_chaos_first_failing_fn first_failing;
    void *ctx;
    int max_runs;
    weir_chaos_shrink_stats *stats;
} shrinker;

/* Offers up to n candidates (fewer if the budget is short); the first that
 * fails, or -1. */
static int try_batch(shrinker *k, weir_chaos_schedule *const *c, int n)
{
    int budget = k->max_runs - k->stats->runs;
    if (n > budget) {
        n = budget;
    }
    if (n <= 0) {
        return -1;
    }
    int runs = 0;
    int first = k->first_failing(c, n, k->ctx, &runs);
    WEIR_ASSERT(runs >= 1 && first < n);
    k->stats->runs += runs;
    return first;
}

/* The faults of s whose group is in the chosen set (keep) or not in it. */
static void take_groups(const weir_chaos_schedule *s, const int *group_of, const bool *chosen, bool keep,
                        weir_chaos_schedule *c)
{
    c->kinds = s->kinds;
    c->run_seed = s->run_seed;
    c->count = 0;
    for (size_t i = 0; i < s->count; i++) {
        if (chosen[group_of[i]] == keep) {
            c->faults[c->count] = s->faults[i];
            c->kind_of[c->count++] = s->kind_of[i];
        }
    }
}

/* ddmin over groups: group_of[i] in [0, groups) for each fault of s. */
static void ddmin(shrinker *k, weir_chaos_schedule *s, bool by_kind)
{
    static weir_chaos_schedule cands[MAX_BATCH];
    weir_chaos_schedule *ptrs[MAX_BATCH];
    int group_of[WEIR_SCN_FAULTS_MAX];
    size_t n = 2;
    for (;;) {
        /* number the groups present: kinds in order of first use, or faults */
        int groups = 0, id_of_kind[WEIR_CHAOS_KINDS_];
        memset(id_of_kind, -1, sizeof id_of_kind);
        for (size_t i = 0; i < s->count; i++) {
            if (!by_kind) {
                group_of[i] = groups++;
            } else {
                if (id_of_kind[s->kind_of[i]] < 0) {
                    id_of_kind[s->kind_of[i]] = groups++;
                }
                group_of[i] = id_of_kind[s->kind_of[i]];
            }
        }
        if (groups < 2 || k->stats->runs >= k->max_runs) {
            return;
        }
        if (n > (size_t)groups) {
            n = (size_t)groups;
        }
        size_t chunk = ((size_t)groups + n - 1) / n;
        int m = 0;
        /* subsets alone first, then (above two chunks) complements */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1 && n <= 2) {
                break;
            }
            for (size_t i = 0; i < n && m < MAX_BATCH; i++) {
                bool chosen[WEIR_SCN_FAULTS_MAX] = {false};
                size_t from = i * chunk, to = from + chunk < (size_t)groups ? from + chunk : (size_t)groups;
                if (from >= to) {
                    break;
                }
                for (size_t g = from; g < to; g++) {
                    chosen[g] = true;
                }
                take_groups(s, group_of, chosen, pass == 0, &cands[m]);
                ptrs[m] = &cands[m];
                m++;
            }
        }
        int first = try_batch(k, ptrs, m);
        if (first >= 0) {
            bool was_subset = (size_t)first < n;
            *s = cands[first];
            n = was_subset ? 2 : (n - 1 > 2 ? n - 1 : 2);
            continue;
        }
        if (n >= (size_t)groups) {
            return; /* 1-minimal: no single group can go */
        }
        n = n * 2 < (size_t)groups ? n * 2 : (size_t)groups;
    }
}

/* Halves durations while the schedule still fails (two rounds). */
static void shorten(shrinker *k, weir_chaos_schedule *s)
{
    static weir_chaos_schedule c;
    weir_chaos_schedule *p = &c;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < s->count && k->stats->runs < k->max_runs; i++) {
            int64_t d = s->faults[i].duration_ns;
            if (d < 200000000LL) {
                continue; /* under 200 ms: short enough to read */
            }
            c = *s;
            c.faults[i].duration_ns = d / 2 / 1000000 * 1000000;
            if (try_batch(k, &p, 1) == 0) {
                *s = c;
            }
        }
    }
}

void weir_chaos_shrink(weir_chaos_schedule *s, weir_chaos_first_failing_fn first_failing, void *ctx,
                       int max_runs, weir_chaos_shrink_stats *stats)
{
    WEIR_ASSERT(s != NULL && first_failing != NULL && stats != NULL);
    memset(stats, 0, sizeof *stats);
    stats->from_faults = s->count;
    shrinker k = {first_failing, ctx, max_runs, stats};
    ddmin(&k, s, true);
    ddmin(&k, s, false);
    shorten(&k, s);
    stats->to_faults = s->count;
}
