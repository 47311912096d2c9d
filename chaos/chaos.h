/* Chaos in the simulator: random fault schedules from a seed, written as
 * scenario files, and the shrinking of a failing schedule.
 *
 * A schedule is a list of faults, each self-contained (it undoes itself
 * after its duration), so any subset of a schedule is a valid schedule: the
 * shrinker relies on that. Generation is swarm testing: each seed first
 * picks a random subset of the allowed fault kinds and an intensity (how
 * many faults, how long), then random times and targets. Everything comes
 * from the seed: the same scenario, kinds and seed give the same schedule.
 *
 * Schedules become runs as text: weir_chaos_scenario_text rewrites the
 * scenario file with the schedule as its `faults:` section, so every run,
 * random or shrunk, is a scenario file that `weir sim` replays.
 */
#ifndef WEIR_CHAOS_H
#define WEIR_CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"

/* The kinds a sweep draws from (--faults names them). */
typedef enum weir_chaos_kind {
    WEIR_CHAOS_CRASH,          /* power off a broker or flow host, restart it later (unsynced data lost) */
    WEIR_CHAOS_TORN,           /* the same, and the unsynced appends tear */
    WEIR_CHAOS_CLEAN_SHUTDOWN, /* stop a broker or flow engine cleanly, start it later */
    WEIR_CHAOS_PAUSE,          /* stall a node (GC pause): broker, controller, flow */
    WEIR_CHAOS_PARTITION,      /* random halves of the cluster */
    WEIR_CHAOS_ISOLATE,        /* cut one node (often the leader) from everyone */
    WEIR_CHAOS_ONE_WAY,        /* a one-way cut between two nodes */
    WEIR_CHAOS_BRIDGE,         /* two halves that only one node reaches both of */
    WEIR_CHAOS_RESET,          /* reset the connections between two nodes */
    WEIR_CHAOS_LATENCY,        /* a latency spike on a node's link */
    WEIR_CHAOS_BANDWIDTH,      /* a bandwidth cut on a node's link */
    WEIR_CHAOS_CLOCK,          /* a node's wall and monotonic clocks jump */
    WEIR_CHAOS_BIT_FLIP,       /* a bit flips in a broker's log at rest */
    WEIR_CHAOS_FSYNC_ERROR,    /* fsyncs fail with EIO (a broker, or a flow with a repository) */
    WEIR_CHAOS_DISK_FULL,      /* a disk is full (the same hosts) */
    WEIR_CHAOS_SLOW_DISK,      /* a disk slows down (the same hosts) */
    WEIR_CHAOS_KINDS_,
} weir_chaos_kind;

const char *weir_chaos_kind_name(weir_chaos_kind kind);

/* Parses "crash,partition,clock" or "all" into a bit set of kinds. On an
 * unknown name, why names it and lists the kinds. */
int weir_chaos_kinds_parse(const char *text, uint32_t *kinds, char *why, size_t why_size);

/* The kinds this scenario has a target for: power, pause and clock faults
 * need a broker, the controller or a flow host; disk faults a broker or a
 * flow with a repository; bit flips a broker; network faults at least two
 * hosts that talk (brokers, the controller, clients and flows, when there
 * are brokers: a file of flows only has no network between its nodes). */
uint32_t weir_chaos_kinds_possible(const weir_scenario *sc);

/* "crash,partition" for a bit set. */
void weir_chaos_kinds_format(uint32_t kinds, char *buf, size_t size);

typedef struct weir_chaos_options {
    uint32_t kinds;          /* the allowed kinds (bits of weir_chaos_kind) */
    int faults_min;          /* per seed: 1 */
    int faults_max;          /* per seed: 10 */
    int64_t window_start_ns; /* faults start in [window_start, window_end): 10% of the run */
    int64_t window_end_ns;   /* and end by window_end (0: derived, see weir_chaos_window) */
    int64_t recover_ns;      /* liveness bound after the last fault ends: 20 s */
} weir_chaos_options;

void weir_chaos_options_default(weir_chaos_options *o);

/* Fills the window from the scenario where it is 0: faults end early enough
 * that producers still run for recover_ns after the last one, and the run
 * has recover_ns left. */
void weir_chaos_window(const weir_scenario *sc, weir_chaos_options *o);

/* A generated schedule. Faults refer to the scenario's hosts by index. */
typedef struct weir_chaos_schedule {
    weir_scn_fault faults[WEIR_SCN_FAULTS_MAX];
    weir_chaos_kind kind_of[WEIR_SCN_FAULTS_MAX]; /* the chaos kind behind each fault */
    size_t count;
    uint32_t kinds;    /* the swarm's choice for this seed */
    uint64_t run_seed; /* the seed the run uses (the schedule's seed, unless shrinking changed it) */
} weir_chaos_schedule;

/* The schedule of one seed. The scenario gives hosts, roles and topics.
 * Only allowed kinds the scenario has a target for are drawn; with none,
 * the schedule is empty. */
void weir_chaos_generate(const weir_scenario *sc, const weir_chaos_options *o, uint64_t seed,
                         weir_chaos_schedule *out);

/* The scenario file's text with seed, faults and expect replaced: the
 * schedule, the scenario's own no_acked_loss, consumers_read_all_acked,
 * flow_no_loss, flow_delivers and flow_conserved (kept only where the
 * provenance survives the schedule's stops of the flow's host), and
 * recovers_within as the liveness bound (recover_ns; 0 or a file without
 * brokers leaves it out). Returns a malloc'd NUL-terminated text, or NULL with why set (the
 * file's top level is not a block mapping, or out of memory). */
char *weir_chaos_scenario_text(const char *text, size_t len, const weir_scenario *sc, uint64_t seed,
                               const weir_chaos_schedule *s, int64_t recover_ns, const char *header,
                               char *why, size_t why_size);

/* One fault as a flow-style YAML entry: "{ at: 12.5s, crash: b2, duration: 3s }". */
void weir_chaos_fault_yaml(const weir_scenario *sc, const weir_scn_fault *f, char *buf, size_t size);

/* ---- shrinking ---- */

/* Runs candidates in order (several at once if it can) and returns the
 * index of the first that still fails, or -1; *runs gets how many it ran
 * (at least 1, all of them if none failed: it may stop after the first
 * failure). It may try a candidate under other run seeds too (timing
 * matters: a schedule that fails under one seed is worth keeping) and then
 * sets the failing candidate's run_seed. */
typedef int (*weir_chaos_first_failing_fn)(weir_chaos_schedule *const *candidates, int n, void *ctx,
                                           int *runs);

typedef struct weir_chaos_shrink_stats {
    int runs;           /* candidates tried */
    size_t from_faults; /* the failing schedule's size */
    size_t to_faults;   /* the minimal one's */
} weir_chaos_shrink_stats;

/* Delta debugging (ddmin) over the fault kinds, then over the faults, then
 * shorter durations, while the schedule still fails; s becomes the smallest
 * failing schedule found (1-minimal in faults: dropping any one fault makes
 * it pass, unless the budget ran out). max_runs bounds the runs. */
void weir_chaos_shrink(weir_chaos_schedule *s, weir_chaos_first_failing_fn first_failing, void *ctx,
                       int max_runs, weir_chaos_shrink_stats *stats);

#endif
