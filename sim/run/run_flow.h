/* The flow part of the scenario runner: flow engines on simulated hosts
 * (the same weir_flow_node as `weir flow`), their timed actions, the
 * flows.tsv samples, and the flow oracles.
 *
 *   run_flow_load.c    reading the flow files, checking the names the
 *                      scenario uses in them;
 *   run_flow.c         the flows of the run: nodes, actions, crashes and
 *                      restarts, samples;
 *   run_flow_ledger.c  the ledger: every FlowFile the engines committed,
 *                      kept outside the nodes' memory (oracle b);
 *   run_flow_delivery.c  flows between topics: every input record in the
 *                      output (expect flow_delivers);
 *   run_flow_oracle.c  the end of the run: conservation against the
 *                      provenance repository (a), the ledger's verdict (b),
 *                      the queue bound (c), the parameter change (d), the
 *                      flow expectations, the outcome.
 *
 * One run per process, as the rest of the runner: the state is a static of
 * run_flow.c reached through run_flows().
 */
#ifndef WEIR_SIM_RUN_FLOW_H
#define WEIR_SIM_RUN_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow/engine.h"
#include "flow/flow_def.h"
#include "flow/flow_node.h"
#include "flow/flowfile.h"
#include "scenario/scenario.h"
#include "scenario_run.h"

/* ---- the ledger (run_flow_ledger.c) ---- */

typedef struct run_ledger run_ledger;

/* What the ledger found at the end (run_ledger_judge). */
typedef struct run_ledger_verdict {
    uint64_t committed; /* FlowFiles ever committed into a queue */
    uint64_t ended;     /* of those, ended (an ended event, or DROP / EXPIRE in provenance) */
    uint64_t queued;    /* of those, in a queue at the end */
    uint64_t lost;      /* neither: gone without a trace, or missing after a restart */
    uint64_t
        duplicated; /* recovered twice, alive after their end, ended twice, or extra in a queue */
    uint64_t recovered; /* found again by restarts */
    uint64_t unheard;   /* of those, from frames in flight at a crash (never reported committed) */
    char first[200];    /* the first lost or duplicated FlowFile, described */
} run_ledger_verdict;

/* The provenance repository's ends, for the verdict: uuids of DROP and
 * EXPIRE events, sorted, with repeats (run_flow_oracle.c builds it). */
typedef struct run_ends {
    weir_uuid *uuids;
    size_t count;
} run_ends;

/* Where the write-ahead log says a FlowFile is (weir_ffrepo_lookup), for
 * the verdict; NULL when the flow has no repository. */
typedef bool (*run_live_fn)(void *arg, uint64_t id, uint32_t *connection_out);

run_ledger *run_ledger_new(size_t connection_count);
void run_ledger_free(run_ledger *l);

/* The engine observer's events (weir_flow_observer). */
void run_ledger_queued(run_ledger *l, uint32_t connection, weir_flowfile *const *ffs, size_t n);
void run_ledger_ended(run_ledger *l, const weir_flowfile *ff);
/* The engine is about to write ffs to swap file swap_id (observer). */
void run_ledger_swapping(run_ledger *l, uint32_t connection, uint64_t swap_id,
                         weir_flowfile *const *ffs, size_t n);
void run_ledger_swapped(run_ledger *l, uint32_t connection, uint64_t swap_id,
                        weir_flowfile *const *ffs, size_t n, bool out);
void run_ledger_recovered(run_ledger *l, uint32_t connection, const weir_flowfile *ff);
void run_ledger_recovered_swap(run_ledger *l, uint32_t connection, uint64_t swap_id,
                               uint64_t count);

/* The host went down (a clean shutdown): every FlowFile queued now must
 * come back at the next start, and nothing else. */
void run_ledger_down(run_ledger *l);
/* The host lost power: the same, and the restart may also bring back the
 * FlowFiles of a commit whose frame was being synced (unheard). */
void run_ledger_crashed(run_ledger *l);
/* FlowFiles restarts brought back from unheard frames, so far. */
uint64_t run_ledger_unheard(const run_ledger *l);
/* FlowFiles restarts did not bring back, so far (ended in an unheard
 * frame, then only provenance knows their end; else lost). */
uint64_t run_ledger_missing(const run_ledger *l);
/* The node started again and its recovery is over: what did not come back
 * is missing (an end recorded only in provenance, or a loss). */
void run_ledger_restarted(run_ledger *l);

/* Content bytes of the connection's FlowFiles in swap files now. */
uint64_t run_ledger_swapped_bytes(const run_ledger *l, uint32_t connection);
/* The largest count one commit put into the connection. */
uint64_t run_ledger_session_max(const run_ledger *l, uint32_t connection);

/* The verdict at the end: queued[c] is the engine's count of connection c
 * (NULL when the node is down), in_flight what open sessions hold; ends may
 * have count 0 (no provenance). */
void run_ledger_judge(run_ledger *l, const run_ends *ends, const uint64_t *queued,
                      uint64_t in_flight, run_live_fn live, void *live_arg,
                      run_ledger_verdict *out);

/* ---- one flow of the run (run_flow.c) ---- */

typedef struct run_flow_conn {
    uint64_t peak_queued;    /* over every incarnation */
    uint64_t peak_resident;  /* FlowFiles its queue held in memory, at most */
    uint64_t threshold_max;  /* the largest object threshold it had */
    uint64_t swap_threshold; /* its queue's */
    uint64_t swap_batch;
    bool self_loop;
} run_flow_conn;

/* Watching a parameter change reach FlowFiles (oracle d): per watched
 * connection, per phase (0 before the first change), FlowFiles seen and
 * FlowFiles whose attribute was not the value of their phase. */
#define RUN_PARAM_PHASES_MAX 8
typedef struct run_flow_watch {
    const weir_scn_flow_parameter *spec;
    int conns[WEIR_SCN_FLOW_WATCH_MAX]; /* connection indexes */
    const char *values[RUN_PARAM_PHASES_MAX];
    int value_count; /* phases the actions lead through */
    int phase;       /* now */
    uint64_t seen[WEIR_SCN_FLOW_WATCH_MAX][RUN_PARAM_PHASES_MAX];
    uint64_t wrong[WEIR_SCN_FLOW_WATCH_MAX];
    char first_wrong[160];
} run_flow_watch;

typedef struct run_flow {
    const weir_scn_flow *spec;
    int index;
    char path[512]; /* the flow file, as opened */
    weir_flow_def def;
    weir_flow_node_config cfg; /* read again at every start */
    weir_flow_observer observer;
    run_ledger *ledger;
    size_t conn_count;
    run_flow_conn *conns;
    run_flow_watch *watches;
    int watch_count;
    int starts;
    bool down;     /* host off (or shut down) */
    bool stopping; /* a clean shutdown is under way: its disk calls take simulated time, and
                      it frees the queues before it returns */
    bool start_failed;        /* its last start failed (a disk fault): a restart is due */
    int64_t start_retry_ns;   /* when the supervisor restarts it */
    int start_retries;        /* restarts after failed starts, over the run */
    char start_error[256];
    weir_flow_counters sum;  /* counters of the incarnations that ended */
    uint64_t queued_at_down; /* queued + in flight when the host went down */
    uint64_t unheard_at_down; /* the ledger's unheard count when the host went down */
    uint64_t recovery_gap;   /* Σ |queued at a down ± unheard frames - recovered at the next start| */
    bool conserved_failed;   /* the engine's own check failed at some point */
    char conserved_why[400];
    uint64_t peak_resident; /* Σ over its queues, at the highest sample */
    uint64_t peak_memory_bytes;
    bool *applied; /* per scenario action: applied (replayed after a restart) */
} run_flow;

/* Reads, parses and checks the flow file of f (run_flow_load.c): its
 * path, def, and the names the scenario uses in it. */
int run_flow_load_one(const weir_scenario *sc, run_flow *f, char *why, size_t why_size);

/* Gives the built flow e the parameter values of f's scenario (before
 * start, at every start). */
int run_flow_set_params(weir_flow_engine *e, const run_flow *f, char *why, size_t why_size);

/* Reads and checks every flow file of sc (again at every call; weir_scn_run
 * calls it too): paths relative to the scenario file's folder; processor,
 * connection, context and parameter names of actions and expectations.
 * why gets "FILE:LINE:COLUMN: PATH: reason". */
int run_flows_load(const weir_scenario *sc, char *why, size_t why_size);

/* The flows (index = the scenario's); NULL count 0 when none. */
run_flow *run_flows(size_t *count_out);
/* The flow on host, or NULL. */
run_flow *run_flow_on_host(const char *host);
/* Its engine, NULL when the node is down or did not build. */
weir_flow_engine *run_flow_engine(const run_flow *f);

/* Adds the flow nodes to the world (after the brokers). */
int run_flows_add_nodes(weir_world *w);
/* Arms the actions' timers (from the runner's own node). */
void run_flows_schedule(weir_env *env);
/* The peaks of f's connections, from its engine's queues. */
void run_flow_peaks(run_flow *f, weir_flow_engine *e);
/* One flows.tsv row per connection, and the peaks (every 100 ms); and the
 * supervisor: a flow whose start failed (its repository could not be
 * recovered or checkpointed: a full or failing disk) is restarted a second
 * later, again until it starts, as systemd's Restart=on-failure would. From
 * the runner's own node. */
void run_flows_sample(void);
/* The host of a flow goes down: its counters and peaks are kept, its
 * ledger expects the queues back. shutdown: from the node's own actor, a
 * clean stop first. */
void run_flows_host_down(const char *host, bool shutdown);

/* ---- the end (run_flow_oracle.c) ---- */

/* Every flow oracle and expectation; failures through run_fail; fills the
 * outcome's flows. After the world stopped, with the disks timeless. */
void run_flows_finish(weir_scn_outcome *out);
/* ---- topics a flow writes (run_flow_delivery.c) ---- */

/* Whether topic is the output of a flow_delivers expectation. */
bool run_flows_output_topic(int topic);
/* One record of such a topic's final log. */
void run_flows_output_record(int topic, const uint8_t *value, size_t len);
/* flow_delivers: every acknowledged input record in the output (after
 * run_flows_finish filled the outcome's flows). */
void run_flows_judge_delivery(weir_scn_outcome *out);

/* The summary lines of the outcome's flows. */
void run_flows_print(FILE *f, const weir_scn_outcome *out);
/* Frees what the flows hold (the definitions stay until the next load). */
void run_flows_end(void);

/* Counters of a flow over its whole run: the incarnations that ended and
 * the one running now. */
void run_flow_counters_total(const run_flow *f, weir_flow_counters *out);

#endif
