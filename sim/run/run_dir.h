/* Run folders: what `weir sim --out DIR` and `weir chaos --out DIR` write,
 * and `weir report DIR` reads (reports/README.md has the formats):
 *
 *   DIR/index.tsv            one row per run
 *   DIR/<run>/scenario.yaml  the file that was run: it replays
 *   DIR/<run>/report.txt     the timeline, summary and verdict
 *   DIR/<run>/meta.tsv       key<TAB>value: counters, verdict, replay command
 *   DIR/<run>/events.tsv     faults, leaders, ISRs, truncations, oracles
 *   DIR/<run>/replicas.tsv   every replica's LEO and HW over time
 *   DIR/<run>/latency.tsv    produce latency histogram
 *   DIR/<run>/flows.tsv      flow connections' queues over time (runs with flows)
 *   DIR/flows/...            the flow files the runs' scenarios name, where
 *                            DIR/<run>/scenario.yaml finds them
 */
#ifndef WEIR_SIM_RUN_DIR_H
#define WEIR_SIM_RUN_DIR_H

#include <stdint.h>
#include <stdio.h>

#include "scenario_run.h"

#define WEIR_RUN_PATH_MAX 1024

/* index.tsv's first line (weir chaos --real writes the same format). */
#define WEIR_RUNDIR_INDEX_HEADER \
    "run\tscenario\tvariant\tseed\tverdict\ttrace_hash\tevents\tsim_s\twall_s\tfaults\tfailure\n"

typedef struct weir_run_files {
    char dir[WEIR_RUN_PATH_MAX]; /* DIR/<run> */
    FILE *report;                /* report.txt */
    weir_scn_record rec;         /* events, replicas, latency, flows */
} weir_run_files;

/* "<scenario>[@<variant>]-s<seed>": a run's folder name. */
void weir_rundir_run_id(char *buf, size_t size, const weir_scenario *sc, uint64_t seed);

/* Creates the folder root and its parents. */
int weir_rundir_create(const char *root, char *why, size_t why_size);

/* Creates root (and parents) and root/<run>, writes scenario.yaml (len
 * bytes of text) and opens the record files. why gets the path and reason
 * on failure. */
int weir_rundir_begin(const char *root, const char *run_id, const char *text, size_t len,
                      weir_run_files *rf, char *why, size_t why_size);

/* Copies the flow files sc names (relative to scenario_path's folder) to
 * where rf->dir/scenario.yaml finds them, so the run folder replays; a
 * path that would leave the run folder's parent is refused (why). */
int weir_rundir_copy_flows(const weir_run_files *rf, const weir_scenario *sc,
                           const char *scenario_path, char *why, size_t why_size);

/* Closes what begin opened (safe on a zeroed or half-opened one). */
void weir_rundir_end(weir_run_files *rf);

/* Writes the run's meta.tsv (its standard keys) in rf->dir; -1 if it
 * cannot. Callers may append their own keys afterwards. */
int weir_rundir_meta(const weir_run_files *rf, const weir_scenario *sc, uint64_t seed,
                     const weir_scn_outcome *o, const char *replay);

/* Opens root/index.tsv for appending, writing the header line if it is new. */
FILE *weir_rundir_index_open(const char *root);

/* One index.tsv row; faults: the number of faults in the run's schedule. */
void weir_rundir_index_row(FILE *index, const char *run_id, const weir_scenario *sc, uint64_t seed,
                           const char *verdict, const weir_scn_outcome *o, size_t faults);

/* A comma list of the fault kinds in sc's schedule ("crash,cut"), or "-". */
void weir_rundir_fault_kinds(char *buf, size_t size, const weir_scenario *sc);

#endif
