/* The flow engine: a running flow of processors joined by connections
 * (queues with back pressure), scheduled on env timers, with optional
 * repositories (notes/FLOW.md §1; issue 6).
 *
 * Building: weir_flow_engine_load_def takes a parsed flow definition
 * (flow_def.h); tests and tools may instead add processors and connections
 * one by one (weir_flow_engine_add_processor / weir_flow_engine_connect).
 * Either way the flow is checked when it is built: processor types exist,
 * required properties are set, expressions compile, every relationship a
 * processor declares is connected or auto-terminated (NiFi's rule).
 *
 * Repositories: with repo_dir NULL everything lives in memory (content in a
 * memory content repository, no write-ahead log, provenance in memory or
 * off). With repo_dir set the engine keeps <repo_dir>/flowfile (the
 * write-ahead log and swap files), <repo_dir>/content and
 * <repo_dir>/provenance; weir_flow_engine_start recovers them: every FlowFile
 * goes back to the queue the log last saw it in.
 *
 * Group commit: with a write-ahead log, the sessions the engine commits
 * after triggers share log frames: they gather in a group while the
 * scheduler pumps (a processor may run again meanwhile), and the group is
 * written as one frame with one fsync when the pump has nothing more to
 * run, its turn is over, or a bound is reached (64 sessions, 8 MiB of
 * records, or as long as the last flush took, between 1 and 20 ms). Until
 * then a session's FlowFiles are invisible: not queued, no provenance, no
 * observer call; back pressure counts them as queued. A failed write rolls
 * the whole group back. A processor's own weir_flow_session_commit (the
 * asynchronous ones, before an external ack) is durable when it returns.
 *
 * Queue ids in the write-ahead log are connection indexes (the order of
 * weir_flow_engine_connect calls, or of the definition's connections): a
 * restart must build the same flow.
 *
 * Scheduling (scheduler.c): a processor is triggered when it is running, not
 * yielded, has a free task (concurrent tasks), its run schedule is due, it has
 * work (an un-penalized FlowFile in an incoming queue, or no incoming
 * connection, or trigger_when_empty), and every relationship it may route to
 * has room: no connection of it is full (back pressure, checked before each
 * trigger; a session may overshoot — soft limits, as NiFi). A processor that
 * cannot run waits for the event that would change that: an offer to its
 * input, a poll that drains an output below its threshold, a timer at the
 * earliest penalty expiry, the end of its yield or the next run.
 *
 * Conservation (weir_flow_engine_counters): at any point
 *   created + received + recovered = sent + dropped + expired + queued + in_flight
 *                                    + expiring
 * where in_flight counts FlowFiles taken from queues by sessions not yet
 * committed (at a quiescent point, 0) and expiring those a queue expired
 * that the next commit records. recovered counts FlowFiles found in
 * the write-ahead log at start.
 *
 * Observing (weir_flow_observer): an oracle outside the engine (the
 * scenario runner's ledger) can be told, FlowFile by FlowFile, what each
 * commit made durable: FlowFiles put into a queue, FlowFiles that left the
 * flow, what a restart recovered, what queues swapped out and in. Off (no
 * cost) unless the config names an observer.
 *
 * Threading: the engine's node only; every call from its env callbacks.
 */
#ifndef WEIR_FLOW_ENGINE_H
#define WEIR_FLOW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"
#include "flow/flow_def.h"
#include "flow/processor.h"

typedef struct weir_flow_engine weir_flow_engine;
typedef struct weir_prov_repo weir_prov_repo;
typedef struct weir_content_repo weir_content_repo;
typedef struct weir_ffrepo weir_ffrepo;
typedef struct weir_flow_queue weir_flow_queue;
typedef struct weir_flow_dep weir_flow_dep; /* flow/invoke.h */
struct weir_params;

typedef enum weir_flow_prov_mode {
    WEIR_FLOW_PROV_OFF = 0, /* no provenance events */
    WEIR_FLOW_PROV_MEMORY,  /* in memory (lost at exit) */
    WEIR_FLOW_PROV_REPO,    /* <repo_dir>/provenance (needs repo_dir) */
} weir_flow_prov_mode;

/* How a FlowFile left the flow. */
typedef enum weir_flow_end {
    WEIR_FLOW_END_SENT,    /* removed after a SEND in the same session */
    WEIR_FLOW_END_DROPPED, /* removed or auto-terminated otherwise */
    WEIR_FLOW_END_EXPIRED, /* FlowFile expiration */
} weir_flow_end;

/* Callbacks told what the engine committed (see "Observing" above). Each
 * may be NULL. They run on the engine's node after the change is in the
 * write-ahead log (when there is one), must not call the engine, and see
 * the FlowFiles during the call only. Connections are indexes (queue ids).
 * The engine allocates nothing for them: arrays are its own. */
typedef struct weir_flow_observer {
    /* A commit put ffs[0..count) into the connection's queue (transfers,
     * clones for extra connections, FlowFiles sent back to their queue). */
    void (*queued)(void *arg, uint32_t connection, weir_flowfile *const *ffs, size_t count);
    /* A commit ended ff's life. Expirations are reported; FlowFiles a
     * session removes or auto-terminates are reported where the session
     * calls flow_engine_observe_end (engine_internal.h), and always have a
     * DROP provenance event. */
    void (*ended)(void *arg, const weir_flowfile *ff, weir_flow_end how);
    /* Start found ff in the write-ahead log, in the connection's queue. */
    void (*recovered)(void *arg, uint32_t connection, const weir_flowfile *ff);
    /* Start found a swap file of count FlowFiles (bytes of content) of the
     * connection's queue. */
    void (*recovered_swap)(void *arg, uint32_t connection, uint64_t swap_id, uint64_t count,
                           uint64_t bytes);
    /* The queue is about to write ffs to swap file swap_id. Told before the
     * swap is durable: a crash during its fsync may leave the swap file in
     * place with `swapped` never called. */
    void (*swapping)(void *arg, uint32_t connection, uint64_t swap_id, weir_flowfile *const *ffs,
                     size_t count);
    /* The queue wrote ffs to swap file swap_id (out) or read them back (in). */
    void (*swapped)(void *arg, uint32_t connection, uint64_t swap_id, weir_flowfile *const *ffs,
                    size_t count, bool out);
    void *arg;
} weir_flow_observer;

typedef struct weir_flow_engine_config {
    const char *repo_dir;               /* NULL: in memory only; copied */
    weir_flow_prov_mode provenance;     /* default: REPO with repo_dir, else MEMORY */
    bool wal_sync;                      /* fsync each log frame (a group's): true */
    bool prov_sync;                     /* fsync provenance at each commit: false (NiFi) */
    int64_t checkpoint_interval_ms;     /* write-ahead log checkpoint: 20000 */
    uint32_t batch_max;                 /* FlowFiles a processor takes per session: 1000 */
    uint32_t triggers_per_pump;         /* triggers before other events get a turn: 64 */
    int64_t admin_yield_ns;             /* yield after a failed trigger: 30 s (NiFi admin guide) */
    uint64_t swap_threshold;            /* default of connections that do not set one: 20,000 */
    const weir_flow_observer *observer; /* NULL: none; must outlive the engine */
} weir_flow_engine_config;

void weir_flow_engine_config_default(weir_flow_engine_config *cfg);

/* A property given to a processor. */
typedef struct weir_flow_kv {
    const char *name;
    const char *value;
} weir_flow_kv;

/* A processor to add (weir_flow_proc_spec_default fills NiFi's defaults). */
typedef struct weir_flow_proc_spec {
    const char *name; /* unique in the flow */
    const char *type; /* a built-in or registered type name */
    const weir_flow_kv *properties;
    size_t property_count;
    int64_t run_schedule_ns;  /* 0: as fast as possible */
    int32_t concurrent_tasks; /* >= 1 */
    int64_t penalty_ns;       /* 30 s */
    int64_t yield_ns;         /* 1 s */
    const char *const *auto_terminated;
    size_t auto_terminated_count;
    bool stopped;              /* not started with the flow */
    const char *param_context; /* a context of weir_flow_engine_params, or NULL */
} weir_flow_proc_spec;

void weir_flow_proc_spec_default(weir_flow_proc_spec *spec);

/* A connection to add (weir_flow_conn_spec_default fills NiFi's defaults;
 * a threshold of 0 means none). */
typedef struct weir_flow_conn_spec {
    const char *name;                 /* NULL: "SOURCE->DESTINATION"; unique */
    const char *source;               /* processor name */
    const char *const *relationships; /* >= 1 of the source's */
    size_t relationship_count;
    const char *destination;       /* processor name (may be the source: a self-loop) */
    uint64_t object_threshold;     /* 10,000 */
    uint64_t size_threshold_bytes; /* 1 GiB */
    int64_t expiration_ns;         /* 0: never */
    weir_flow_prioritizer prioritizers[WEIR_FLOW_PRIORITIZERS_MAX];
    size_t prioritizer_count; /* 0: FIFO */
    uint64_t swap_threshold;  /* 0: the engine's */
} weir_flow_conn_spec;

void weir_flow_conn_spec_default(weir_flow_conn_spec *spec);

/* Counters since the engine started (see the conservation rule above). */
typedef struct weir_flow_counters {
    uint64_t created;   /* CREATE, FORK/JOIN children, clones (session and fan-out) */
    uint64_t received;  /* RECEIVE */
    uint64_t recovered; /* found in the write-ahead log at start */
    uint64_t sent;      /* removed after a SEND in the same session */
    uint64_t dropped;   /* removed or auto-terminated otherwise */
    uint64_t expired;   /* FlowFile expiration */
    uint64_t queued;    /* in connection queues now (swapped included) */
    uint64_t in_flight; /* taken by open sessions now */
    uint64_t expiring;  /* expired by their queue, recorded at the next commit */
    uint64_t commits;
    uint64_t rollbacks;
    uint64_t triggers;
} weir_flow_counters;

/* Per-processor figures. */
typedef struct weir_flow_proc_stats {
    uint64_t triggers;
    uint64_t taken;       /* FlowFiles taken from its queues and committed */
    uint64_t transferred; /* FlowFiles it sent to connections */
    uint64_t bp_waits;    /* times it was not triggered because an output was full */
    uint64_t bp_resumes;  /* times it was triggered again after such a wait */
    uint64_t yields;
    uint64_t failures; /* triggers that returned an error or failed to commit */
    int64_t yielded_until_ns;
    bool running;
    bool blocked_by_back_pressure;
    int tasks_active;
} weir_flow_proc_stats;

/* Creates an engine on env; nothing runs until weir_flow_engine_start.
 * env may be NULL for an engine that is only built, to check a flow, and
 * never started.
 * NULL with a reason in why when cfg is invalid or memory runs out. */
weir_flow_engine *weir_flow_engine_new(weir_env *env, const weir_flow_engine_config *cfg, char *why,
                                       size_t why_size);

/* Registers a processor type beyond the built-ins (tests, plugins); the
 * type must outlive the engine. WEIR_E_EXIST for a name taken. */
WEIR_MUST_CHECK int weir_flow_engine_register(weir_flow_engine *e,
                                              const weir_flow_processor_type *type);

/* Registers a dependency under name for InvokeService processors whose
 * "Service" property names it: they call it instead of their simulated
 * dependency (proc_invoke_service.c). name and *dep are copied; dep->impl
 * must outlive the engine and answer no call (weir_flow_invoker_reply)
 * once the engine has shut down or been abandoned. Only before start.
 * WEIR_E_EXIST for a name taken, WEIR_E_INVAL for an empty name, a dep
 * without call, or a started engine; WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_flow_engine_service_register(weir_flow_engine *e, const char *name,
                                                      const weir_flow_dep *dep);

/* The dependency registered under name, or NULL. Owned by the engine. */
const weir_flow_dep *weir_flow_engine_service_find(const weir_flow_engine *e, const char *name);

/* The engine's parameter contexts (params.h), for building before start and
 * for looking at while running. Owned by the engine. */
struct weir_params *weir_flow_engine_params(weir_flow_engine *e);

/* Builds the whole flow of def (processors, ports as pass-through
 * processors, connections, parameter contexts). Only before start, on an
 * empty engine. WEIR_E_INVAL with "processor 'P2': ..." in why. */
WEIR_MUST_CHECK int weir_flow_engine_load_def(weir_flow_engine *e, const weir_flow_def *def,
                                              char *why, size_t why_size);

/* Adds one processor. Only before start. Returns 0 or WEIR_E_INVAL (why). */
WEIR_MUST_CHECK int weir_flow_engine_add_processor(weir_flow_engine *e,
                                                   const weir_flow_proc_spec *spec, char *why,
                                                   size_t why_size);

/* Adds one connection between processors added before. Only before start. */
WEIR_MUST_CHECK int weir_flow_engine_connect(weir_flow_engine *e, const weir_flow_conn_spec *spec,
                                             char *why, size_t why_size);

/* Checks the flow, opens and recovers the repositories, starts the
 * processors not marked stopped and schedules them. WEIR_E_INVAL (flow),
 * WEIR_E_CORRUPT (repositories) or I/O errors, with why. */
WEIR_MUST_CHECK int weir_flow_engine_start(weir_flow_engine *e, char *why, size_t why_size);

/* Stops every processor (on_stop; open sessions rolled back), writes a
 * checkpoint and closes the repositories. FlowFiles stay queued (and in
 * the log). Idempotent. */
WEIR_MUST_CHECK int weir_flow_engine_shutdown(weir_flow_engine *e);

/* Frees the engine: shuts down cleanly first if it still runs. */
void weir_flow_engine_free(weir_flow_engine *e);

/* Frees the engine's memory after a crash without touching the env: no
 * timer, no file, no log line (world destroy callbacks). */
void weir_flow_engine_abandon(weir_flow_engine *e);

/* ---- run-time management (the HTTP API and scenario actions call these) ---- */

/* Starts / stops one processor by name. Stopping calls on_stop and rolls
 * back its open sessions; FlowFiles stay queued. WEIR_E_NOENT for an
 * unknown name, WEIR_E_INVAL if on_schedule refused (why). Idempotent. */
WEIR_MUST_CHECK int weir_flow_engine_processor_start(weir_flow_engine *e, const char *name,
                                                     char *why, size_t why_size);
WEIR_MUST_CHECK int weir_flow_engine_processor_stop(weir_flow_engine *e, const char *name);

/* New back-pressure thresholds on a connection (by name); 0 = none. Passive:
 * nothing queued moves; a source waiting on it is reconsidered. */
WEIR_MUST_CHECK int weir_flow_engine_set_threshold(weir_flow_engine *e, const char *connection,
                                                   uint64_t object_threshold,
                                                   uint64_t size_threshold_bytes);

/* New prioritizer chain on a connection (count 0 = FIFO). */
WEIR_MUST_CHECK int weir_flow_engine_set_prioritizers(weir_flow_engine *e, const char *connection,
                                                      const weir_flow_prioritizer *kinds,
                                                      size_t count);

/* New FlowFile expiration on a connection (0 = never). */
WEIR_MUST_CHECK int weir_flow_engine_set_expiration(weir_flow_engine *e, const char *connection,
                                                    int64_t expiration_ns);

/* Changes a parameter's value in a context (weir_param_ctx_set_value), then
 * restarts every running processor whose properties see a changed context
 * (NiFi stops and restarts referencing components). WEIR_E_NOENT for an
 * unknown context or parameter; why. */
WEIR_MUST_CHECK int weir_flow_engine_param_set(weir_flow_engine *e, const char *context,
                                               const char *name, const char *value, char *why,
                                               size_t why_size);

/* NiFi's value formats, as processor properties take them: a data size
 * ("1 GiB", "512 MB", "1024") in bytes, a time period ("30 sec", "5 mins",
 * "100 ms") in ns. 0, or WEIR_E_INVAL when text is not one. */
WEIR_MUST_CHECK int weir_flow_parse_bytes(const char *text, uint64_t *bytes_out);
WEIR_MUST_CHECK int weir_flow_parse_duration_ns(const char *text, int64_t *ns_out);

/* ---- looking at it ---- */

void weir_flow_engine_counters(const weir_flow_engine *e, weir_flow_counters *out);

/* Whether the conservation rule holds now (and every queue's own check);
 * why gets the failing sums. */
bool weir_flow_engine_conserved(const weir_flow_engine *e, char *why, size_t why_size);

/* Processors and connections, by index (the order they were added). */
size_t weir_flow_engine_processor_count(const weir_flow_engine *e);
int weir_flow_engine_processor_find(const weir_flow_engine *e, const char *name);
weir_flow_ctx *weir_flow_engine_processor(const weir_flow_engine *e, size_t index);
void weir_flow_engine_processor_stats(const weir_flow_engine *e, size_t index,
                                      weir_flow_proc_stats *out);

/* The processor's type name ("UpdateAttribute"; "weir.Port" for a process
 * group's port). index < weir_flow_engine_processor_count. */
const char *weir_flow_engine_processor_type(const weir_flow_engine *e, size_t index);

size_t weir_flow_engine_connection_count(const weir_flow_engine *e);
/* The processor indexes a connection joins (source, destination); either
 * out pointer may be NULL. index < weir_flow_engine_connection_count. */
void weir_flow_engine_connection_ends(const weir_flow_engine *e, size_t index, size_t *src_out,
                                      size_t *dst_out);
int weir_flow_engine_connection_find(const weir_flow_engine *e, const char *name);
const char *weir_flow_engine_connection_name(const weir_flow_engine *e, size_t index);
/* The connection's queue (queue.h: counts, peaks, stats). */
weir_flow_queue *weir_flow_engine_queue(const weir_flow_engine *e, size_t index);

/* The repositories (NULL when off). */
weir_prov_repo *weir_flow_engine_provenance(const weir_flow_engine *e);
weir_content_repo *weir_flow_engine_content(const weir_flow_engine *e);
weir_ffrepo *weir_flow_engine_flowfile_repo(const weir_flow_engine *e);

weir_env *weir_flow_engine_env(const weir_flow_engine *e);

/* True between a successful weir_flow_engine_start and its shutdown (or
 * abandon): processors may run, queues and repositories are open. */
bool weir_flow_engine_running(const weir_flow_engine *e);

/* True when nothing can run now or later without new input: no processor
 * ready, no timer pending but run schedules of sources, and no task busy
 * but those waiting for input from outside the flow
 * (weir_flow_ctx_task_waiting: an idle ConsumeKafka). For tests that drain
 * a flow. */
bool weir_flow_engine_idle(const weir_flow_engine *e);

#endif
