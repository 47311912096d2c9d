/* Runs scenario texts in child processes, several at once (SimGrid runs
 * once per process): the process side of `weir chaos`. */
#ifndef WEIR_CLI_CHAOS_POOL_H
#define WEIR_CLI_CHAOS_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "run_dir.h"
#include "scenario_run.h"

typedef struct chaos_job {
    /* in */
    const char *text;      /* the scenario file (NUL-terminated) */
    const char *file_name; /* for messages */
    const char *variant;   /* NULL: none */
    uint64_t seed;
    const char *out_dir; /* record into out_dir/run_id (NULL: no records) */
    char run_id[256];
    char replay[WEIR_RUN_PATH_MAX + 600]; /* the command that replays it, for meta.tsv */
    /* out */
    bool done;
    bool error; /* could not run (the child says why in failures[0]) */
    weir_scn_outcome outcome;
} chaos_job;

/* Runs every job, at most `parallel` at a time; on_done (may be NULL) is
 * called in the parent as each finishes, in completion order. */
void chaos_pool_run(chaos_job *jobs, int n, int parallel, void (*on_done)(chaos_job *job, void *ctx),
                    void *ctx);

#endif
