/* The flow engine's private structures, shared by engine.c, session.c and
 * scheduler.c only (processors see processor.h and session.h).
 *
 * Invariants:
 * - every connection's source and destination are processor indexes of the
 *   same engine; a processor's in[] and each relationship's conns[] hold
 *   connection indexes, in the order connections were added;
 * - a processor is in the ready ring iff in_ready;
 * - tasks_waiting <= tasks_active <= concurrent_tasks; tasks_waiting counts
 *   the processor's sessions marked waiting;
 * - counters.in_flight = Σ over open sessions of FlowFiles taken and not yet
 *   committed or rolled back (sessions in the commit group included);
 * - group_count = Σ over processors of staged; the group is empty whenever
 *   control is back in the env's loop (the pump flushes it before it ends).
 */
#ifndef WEIR_FLOW_ENGINE_INTERNAL_H
#define WEIR_FLOW_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/grow.h"
#include "flow/content_repo.h"
#include "flow/engine.h"
#include "flow/expr.h"
#include "flow/flowfile.h"
#include "flow/flowfile_repo.h"
#include "flow/invoke.h"
#include "flow/params.h"
#include "flow/processor.h"
#include "flow/provenance.h"
#include "flow/queue.h"
#include "flow/session.h"

#define FLOW_WHY_BYTES 256

/* Ports of process groups run as pass-through processors of this internal
 * type, whose one relationship is WEIR_FLOW_PORT_RELATIONSHIP. */
#define WEIR_FLOW_PORT_TYPE "weir.Port"
#define WEIR_FLOW_PORT_RELATIONSHIP "out"
extern const weir_flow_processor_type weir_flow_proc_port;
#define FLOW_SCRATCH_COUNT 8 /* virtual-attribute scratch buffers per evaluation */
#define FLOW_SCRATCH_BYTES 32

/* A relationship of one processor instance. */
typedef struct flow_rel {
    char *name;
    int *conns; /* connection indexes */
    size_t conn_count;
    bool auto_terminated;
    bool optional;
} flow_rel;

/* One connection: a queue between two processors. */
typedef struct flow_conn {
    char *name;
    uint32_t index; /* also its queue id in the write-ahead log */
    int src;        /* processor index */
    int dst;
    bool self_loop;
    weir_flow_queue *q;
    weir_flow_engine *e;
    /* FlowFiles sessions in the commit group will put into q: back
     * pressure counts them as queued */
    uint64_t staged_count;
    uint64_t staged_bytes;
    /* commit scratch: FlowFiles to offer, gathered per connection */
    weir_flowfile **pending;
    size_t pending_count;
    size_t pending_cap;
    /* While flow_engine_offer_pending offers pending[] (an offer may wait
     * on a swap file's fsync): pending[0..offer_next) are the queue's. */
    size_t offer_next;
    bool offering;
    bool touched; /* in e->touched */
} flow_conn;

/* A raw property as given (kept to rebuild after a parameter change). */
typedef struct flow_raw_prop {
    char *name;
    char *value;
} flow_raw_prop;

struct weir_flow_ctx {
    weir_flow_engine *e;
    const weir_flow_processor_type *type;
    char *name;
    int index;
    int def_line; /* its line in the flow definition; 0: added by a call */

    flow_raw_prop *raw; /* as given */
    size_t raw_count;
    struct weir_param_ctx *pctx; /* NULL: no parameters */
    uint64_t pctx_version;

    weir_flow_prop *props; /* declared (type order) then dynamic (given order) */
    size_t prop_count;
    size_t declared_count;
    char **prop_values; /* owned strings behind props[i].value */

    flow_rel *rels; /* declared then dynamic */
    size_t rel_count;
    char **auto_terminated; /* as given, checked at start */
    size_t auto_terminated_count;

    int *in; /* incoming connection indexes */
    size_t in_count;
    size_t in_next; /* round robin among inputs */

    /* schedule */
    int64_t run_schedule_ns;
    int32_t concurrent_tasks;
    int64_t penalty_ns;
    int64_t yield_ns;
    bool start_stopped;
    bool running; /* scheduled (on_schedule succeeded) */
    bool abandoning;
    int64_t yield_until_ns;
    int64_t next_run_ns;
    int32_t period_triggers;
    int32_t tasks_active;
    int32_t tasks_waiting;         /* of tasks_active: waiting for outside input */
    weir_flow_session *triggering; /* the session of the trigger running now */
    int32_t staged;                /* its sessions waiting in the commit group */
    int64_t wake_at_ns;            /* weir_flow_ctx_wake_after; 0: none */
    bool in_ready;
    bool bp_blocked;
    bool bp_waited; /* blocked by back pressure since its last trigger */
    weir_timer *timer;
    int64_t timer_at_ns;

    void *state;
    char fail[2 * FLOW_WHY_BYTES];
    struct weir_expr_buf evalbuf;
    char scratch[FLOW_SCRATCH_COUNT][FLOW_SCRATCH_BYTES];
    unsigned scratch_next;

    weir_flow_session *main;  /* reused by every synchronous trigger */
    weir_flow_session **open; /* every session of this processor now open
                                 (main excluded): bins, pending tasks */
    size_t open_count;
    size_t open_cap;
    weir_flow_session **spare; /* closed sessions kept for reuse */
    size_t spare_count;
    size_t spare_cap;

    weir_flow_proc_stats stats;
};

/* A dependency registered by name (weir_flow_engine_service_register). */
typedef struct flow_service {
    char *name;
    weir_flow_dep dep;
} flow_service;

/* Something a stopped processor left for the engine to free (flow_engine_keep). */
typedef struct flow_kept {
    void *obj;
    void (*free_fn)(void *obj, bool abandon);
} flow_kept;

struct weir_flow_engine {
    weir_env *env;
    weir_flow_engine_config cfg;
    char *repo_dir;

    flow_service *services;
    size_t service_count;
    size_t service_cap;
    flow_kept *kept;
    size_t kept_count;
    size_t kept_cap;

    const weir_flow_processor_type **extra_types;
    size_t extra_count;
    struct weir_params *params;

    weir_flow_ctx **procs;
    size_t proc_count;
    size_t proc_cap;
    flow_conn **conns;
    size_t conn_count;
    size_t conn_cap;

    bool started;
    bool shut;
    bool abandoning;

    weir_content_repo *content;
    weir_ffrepo *ffrepo;
    weir_prov_repo *prov;
    uint64_t next_id; /* without a FlowFile repository */

    weir_flow_counters counters;
    uint64_t queued_final; /* queued at shutdown */

    /* scheduler */
    int *ready; /* ring of processor indexes */
    size_t ready_head;
    size_t ready_count;
    size_t ready_cap;
    weir_timer *pump;
    bool in_pump; /* wakes during the pump do not arm it again */

    /* FlowFiles the queues expired, waiting for the next commit */
    weir_flowfile **expired;
    size_t expired_count;
    size_t expired_cap;

    /* the commit group (session.c): sessions committed but not yet
     * applied, their log records gathered in `batch` for one write and one
     * fsync; empty outside the pump and outside weir_flow_session_commit */
    weir_flow_session **group;
    size_t group_count;
    size_t group_cap;
    int64_t group_start_ns;
    int64_t group_flush_ns_last; /* how long the last flush's log write took */
    bool group_flushing;

    /* commit scratch */
    weir_ffrepo_batch batch;
    flow_conn **touched;
    size_t touched_count;
    size_t touched_cap;
    weir_uuid *uuids;
    size_t uuid_cap;
};

/* ---- engine.c ---- */

/* A new FlowFile id. */
uint64_t flow_engine_id_next(weir_flow_engine *e);

/* Tells the observer (if any) that a commit ended ff's life: expirations
 * (engine.c), and the FlowFiles a session's commit removes or
 * auto-terminates (for session.c's sess_apply). */
void flow_engine_observe_end(weir_flow_engine *e, const weir_flowfile *ff, weir_flow_end how);

/* Takes obj, which a stopping processor cannot free yet (an InvokeService's
 * invoker, which a registered dependency may still answer), and frees it
 * with free_fn when the engine shuts down (abandon false) or is abandoned
 * (true: no env call). When memory runs out obj is freed at once. */
void flow_engine_keep(weir_flow_engine *e, void *obj, void (*free_fn)(void *obj, bool abandon));

/* Appends ff to conn's pending list for the commit being applied. */
WEIR_MUST_CHECK int flow_conn_pend(weir_flow_engine *e, flow_conn *c, weir_flowfile *ff);

/* Offers every connection's pending FlowFiles, wakes their destinations. */
void flow_engine_offer_pending(weir_flow_engine *e);

/* Records the expired FlowFiles gathered so far: log DELETE records (added
 * to the batch when batch_only, else committed now), EXPIRE events,
 * counters. */
void flow_engine_expired_to_batch(weir_flow_engine *e);
void flow_engine_expired_finish(weir_flow_engine *e);
int flow_engine_expired_flush(weir_flow_engine *e);

/* NiFi's value formats (engine_ctx.c): 0 or WEIR_E_INVAL. */
WEIR_MUST_CHECK int flow_parse_int(const char *text, int64_t *out);
WEIR_MUST_CHECK int flow_parse_bool(const char *text, bool *out);
WEIR_MUST_CHECK int flow_parse_bytes(const char *text, uint64_t *out);
WEIR_MUST_CHECK int flow_parse_duration(const char *text, int64_t *out);

/* ---- session.c ---- */

weir_flow_session *flow_session_new(weir_flow_ctx *p);
void flow_session_free(weir_flow_session *s, bool abandon);
bool flow_session_is_empty(const weir_flow_session *s);
/* Whether the session's task waits for outside input (weir_flow_ctx_task_waiting). */
bool flow_session_waiting(const weir_flow_session *s);
void flow_session_set_waiting(weir_flow_session *s, bool waiting);

/* Group commit. With a FlowFile repository, the engine's own commit after a
 * trigger (flow_session_commit_grouped) checks the session and adds its log
 * records to the group's batch; the session then waits, its FlowFiles
 * invisible (not queued, no provenance, no observer call), until
 * flow_group_flush writes the batch as one frame with one fsync and
 * applies every session of the group in the order they joined. The
 * processor gets a fresh main session and may run again meanwhile; back
 * pressure counts what its waiting sessions will queue (staged_count), so
 * a queue still overshoots its threshold by one session at most.
 * weir_flow_session_commit (a processor's own) joins the group and flushes
 * it at once, so it is durable on return. Without a repository a grouped
 * commit is an ordinary one. Returns as weir_flow_session_commit. */
WEIR_MUST_CHECK int flow_session_commit_grouped(weir_flow_session *s);

/* Whether the group has reached a bound (sessions, bytes, age): flush it. */
bool flow_group_due(const weir_flow_engine *e);

/* Writes the group (and the expirations gathered so far) and applies it.
 * On an error every session of the group but own is rolled back
 * (penalized; its processor yields), own is left as it was before it
 * joined (its caller rolls it back), and the error is returned. */
WEIR_MUST_CHECK int flow_group_flush(weir_flow_engine *e, weir_flow_session *own);

/* Whether anything waits for flow_group_flush. */
bool flow_group_pending(const weir_flow_engine *e);

/* After a crash: frees the group's sessions that only the group holds (the
 * others are processors' main ones) and empties it. No env call. */
void flow_group_abandon(weir_flow_engine *e);

/* ---- scheduler.c ---- */

/* Puts p on the ready ring (if it runs and is not there yet). */
void flow_sched_wake(weir_flow_ctx *p);
/* Arms p's timer for t (keeps an earlier one). */
void flow_sched_wake_at(weir_flow_ctx *p, int64_t t_ns);
/* Starts / stops scheduling. */
void flow_sched_start(weir_flow_engine *e);
void flow_sched_stop_proc(weir_flow_ctx *p);
void flow_sched_abandon(weir_flow_engine *e);
/* Whether p may route now: every relationship (any one, with
 * trigger_when_any_destination_available) has room. */
bool flow_sched_outputs_available(const weir_flow_ctx *p);
/* Back pressure on c: its queue is full, counting what the commit group
 * will put into it. */
bool flow_conn_is_full(const flow_conn *c);

#endif
