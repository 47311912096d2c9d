/* Runs a scenario file in the simulator: the platform, a controller, brokers,
 * producers and consumers (weir's own client) on their hosts, the timed
 * faults; records a timeline (faults, leader and ISR changes, truncations);
 * then checks the oracles (history checker, replica agreement below the HW,
 * HW <= LEO) and the scenario's expectations.
 *
 * One run per process (SimGrid starts once): callers fork for several.
 */
#ifndef WEIR_SIM_SCENARIO_RUN_H
#define WEIR_SIM_SCENARIO_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/scenario.h"

#define WEIR_SCN_FAILURES_MAX 16

typedef struct weir_scn_outcome {
    bool pass;
    int n_failures;
    char failures[WEIR_SCN_FAILURES_MAX][240]; /* named, with the simulated time */
    uint64_t trace_hash;
    uint64_t events;
    double wall_s;
    double sim_s;
    int64_t sent;
    int64_t acked;
    int64_t acked_all;      /* under acks=all */
    int64_t produce_errors; /* error reports and retried error responses seen */
    int64_t lost_all;       /* acks=all messages not in the final logs (lost or moved) */
    int64_t lost_any;       /* any acknowledged message */
    int64_t duplicated;
    int64_t reordered;
    int64_t dirty_reads;
    int64_t divergent;      /* partitions whose replicas disagree below the HW */
    int64_t hw_above_leo;   /* replicas whose HW passed their log end */
    int64_t offset_gaps;    /* replicas whose offsets are not dense and increasing */
    int64_t reads;
    int64_t anomalies[16];      /* per weir_finding_kind (model/history.h) */
    int64_t duplicated_idempotent; /* duplicates of idempotent or transactional producers */
    int64_t not_exactly_once;   /* pipeline inputs missing from, or repeated in, the output */
    int64_t txn_committed, txn_aborted, txn_unknown;
    int leader_changes;
    int isr_shrinks;
    int isr_expands;
    int truncations;
    int unclean_elections;
    int64_t recovered_after_ns; /* after the last fault ended; -1 never */
} weir_scn_outcome;

/* Machine-readable records of a run, for `weir report` (reports/README.md
 * has the formats). Each may be NULL. */
typedef struct weir_scn_record {
    FILE *events;   /* events.tsv: faults, leaders, ISRs, fencing, truncations, oracles */
    FILE *replicas; /* replicas.tsv: every replica's LEO and HW, every 250 ms */
    FILE *latency;  /* latency.tsv: produce acknowledgement latency, log2 buckets */
} weir_scn_record;

/* Runs sc (its variant already chosen) with seed; writes the timeline to
 * report (may be NULL), trace lines to trace (may be NULL) and the records
 * to rec (may be NULL). Returns 0 (see out->pass) or a WEIR_E_* if the
 * world could not be built. */
int weir_scn_run(weir_scenario *sc, uint64_t seed, FILE *report, FILE *trace,
                 const weir_scn_record *rec, weir_scn_outcome *out);

/* The level of the nodes' log lines (to stderr, stamped with simulated
 * time) in the runs that follow; WEIR_LOG_ERROR by default. */
void weir_scn_set_log_level(weir_log_level level);

/* The summary, verdict and trace lines `weir sim` prints after the timeline. */
void weir_scn_print_summary(FILE *f, const weir_scn_outcome *out);

#endif
