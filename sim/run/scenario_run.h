/* Runs a scenario file in the simulator: the platform, a controller, brokers,
 * producers and consumers (weir's own client) and flow engines on their
 * hosts, the timed faults and flow actions; records a timeline (faults,
 * leader and ISR changes, truncations, flow actions); then checks the
 * oracles (history checker, replica agreement below the HW, HW <= LEO; the
 * flow oracles of run_flow.h) and the scenario's expectations.
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
#define WEIR_SCN_OUT_FLOWS_MAX 8 /* flows with figures in the outcome */
#define WEIR_SCN_OUT_CONNS_MAX 16 /* connections per flow with figures in the outcome */

/* A connection of a flow, over the run. */
typedef struct weir_scn_flow_conn_outcome {
    char name[48];
    uint64_t peak_queued;      /* FlowFiles queued at the highest */
    uint64_t peak_resident;    /* FlowFiles its queue held in memory at the highest */
    uint64_t object_threshold; /* the largest it had */
    uint64_t session_max;      /* the most one commit put into it */
} weir_scn_flow_conn_outcome;

/* A flow over the run: counters summed over its incarnations. */
typedef struct weir_scn_flow_outcome {
    char name[64];
    uint64_t created, received, sent, dropped, expired, queued, in_flight;
    uint64_t recovered; /* found in the write-ahead log by restarts */
    int starts;
    uint64_t peak_resident;     /* FlowFiles its queues held in memory, at the highest sample */
    uint64_t peak_memory_bytes; /* content bytes of those */
    bool conserved_judged, conserved; /* against the provenance repository */
    bool ledger_judged;
    uint64_t committed, lost, duplicated; /* the ledger */
    uint64_t overshoots;                  /* connections past threshold + one session */
    char held_back[48];                   /* the processor back pressure held back most */
    uint64_t held_back_waits, held_back_resumes;
    /* flow_delivers: acknowledged input records, those in no output
     * record, copies beyond the first, output pieces that are no record */
    uint64_t delivered_inputs, delivered_missing, delivered_duplicates, delivered_unknown;
    int conn_count;                       /* in conns (at most WEIR_SCN_OUT_CONNS_MAX) */
    int conn_total;
    weir_scn_flow_conn_outcome conns[WEIR_SCN_OUT_CONNS_MAX];
} weir_scn_flow_outcome;

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
    int flow_count; /* in flows (at most WEIR_SCN_OUT_FLOWS_MAX) */
    weir_scn_flow_outcome flows[WEIR_SCN_OUT_FLOWS_MAX];
} weir_scn_outcome;

/* Machine-readable records of a run, for `weir report` (reports/README.md
 * has the formats). Each may be NULL. */
typedef struct weir_scn_record {
    FILE *events;   /* events.tsv: faults, leaders, ISRs, fencing, truncations, oracles */
    FILE *replicas; /* replicas.tsv: every replica's LEO and HW, every 250 ms */
    FILE *latency;  /* latency.tsv: produce acknowledgement latency, log2 buckets */
    FILE *flows;    /* flows.tsv: every flow connection's queue, every 100 ms */
} weir_scn_record;

/* Reads and checks the flow files sc names (relative to its file's
 * folder), with every processor, connection and parameter the scenario
 * refers to in them; weir_scn_run does it too. 0, or WEIR_E_INVAL / IO
 * with why as "FILE:LINE:COLUMN: PATH: reason". */
int weir_scn_flows_load(const weir_scenario *sc, char *why, size_t why_size);

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
