/* Processor types: what a processor is (a struct of callbacks filled with
 * designated initializers, Fluent Bit style) and the context an instance sees.
 *
 * A processor type is static, const data: its name, the relationships it
 * declares, its property descriptors and its callbacks. The engine makes an
 * instance (a weir_flow_ctx, NiFi's ProcessContext) per processor in the flow:
 * resolved property values, relationships (declared + dynamic), per-instance
 * state, yield. Types are found by name in a registry: the built-in table
 * (proc_*.c) plus types an engine registers at run time.
 *
 * Callbacks run on the engine's node, one at a time (a node is single
 * threaded): "concurrent tasks" are logical. A trigger either finishes its
 * session before it returns or returns WEIR_FLOW_PENDING and finishes it
 * later from an env callback (asynchronous processors: InvokeService, Kafka).
 *
 *     static const weir_flow_relationship_desc log_rels[] = {
 *         {.name = "success", .description = "every FlowFile"}, {0}};
 *     const weir_flow_processor_type weir_flow_proc_log_attribute = {
 *         .name = "LogAttribute",
 *         .relationships = log_rels,
 *         .properties = log_props,
 *         .on_trigger = log_trigger,
 *     };
 *
 * Invariants: relationship and property names are unique within a type; a
 * type's tables end with an entry whose name is NULL.
 */
#ifndef WEIR_FLOW_PROCESSOR_H
#define WEIR_FLOW_PROCESSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"

typedef struct weir_flow_session weir_flow_session;
typedef struct weir_flow_ctx weir_flow_ctx;
typedef struct weir_flowfile weir_flowfile;

/* on_trigger's return when the session stays open after the call (it is
 * committed or rolled back later, from an env callback). Positive: never a
 * WEIR_E_* code. */
#define WEIR_FLOW_PENDING 1

/* Relationships a processor may name in a flow: `routes` lists the
 * relationship(s) each property's value may name. */
typedef struct weir_flow_relationship_desc {
    const char *name; /* "success"; NULL ends the table */
    const char *description;
    /* May be left unconnected without being auto-terminated (FlowFiles routed
     * to it are then dropped). Otherwise a flow must connect it or
     * auto-terminate it (NiFi's rule). Dynamic relationships are optional. */
    bool optional;
} weir_flow_relationship_desc;

/* Kinds of property value, checked when the flow is built. */
typedef enum weir_flow_prop_kind {
    WEIR_FLOW_PROP_STRING = 0,
    WEIR_FLOW_PROP_INT,      /* a decimal integer (may be negative) */
    WEIR_FLOW_PROP_BOOL,     /* true / false */
    WEIR_FLOW_PROP_BYTES,    /* a data size: "1 KB", "10 MB", "512 B", "1024" */
    WEIR_FLOW_PROP_DURATION, /* "30 sec", "5 mins", "100 ms", "1s" */
    WEIR_FLOW_PROP_CHOICE,   /* one of `choices` */
} weir_flow_prop_kind;

typedef struct weir_flow_property_desc {
    const char *name; /* NiFi's display name: "Batch Size"; NULL ends the table */
    const char *description;
    const char *default_value;  /* NULL: no default */
    bool required;              /* a flow without it (and no default) is refused */
    bool expressions;           /* value may hold ${...}, evaluated per FlowFile */
    weir_flow_prop_kind kind;   /* checked at build time unless the value holds ${...} */
    const char *const *choices; /* for WEIR_FLOW_PROP_CHOICE: NULL-terminated */
} weir_flow_property_desc;

typedef struct weir_flow_processor_type {
    const char *name; /* "GenerateFlowFile": the `type` a flow file names */
    const char *description;
    const weir_flow_relationship_desc *relationships; /* declared; may be NULL (none) */
    const weir_flow_property_desc *properties;        /* may be NULL (none) */
    /* Properties not in `properties` are accepted (UpdateAttribute's
     * attributes, RouteOnAttribute's routes); they always allow expressions. */
    bool dynamic_properties;
    /* Each dynamic property is also a relationship of the same name
     * (RouteOnAttribute's "Route to Property name"). */
    bool dynamic_relationships;
    /* Documents that the processor works without input (NiFi's
     * @TriggerWhenEmpty, MergeContent's bin age). The engine triggers a
     * processor with empty input queues only when it asked to be woken
     * (weir_flow_ctx_wake_after) and that time came; a processor with no
     * incoming connection (a source) is always triggered. */
    bool trigger_when_empty;
    /* Triggered when any one relationship has room, instead of all (NiFi's
     * @TriggerWhenAnyDestinationAvailable). */
    bool trigger_when_any_destination_available;

    /* When the processor starts (flow start, or started at run time). Reads
     * its properties, allocates its state (weir_flow_ctx_set_state). A
     * negative WEIR_E_* refuses the start (reason via weir_flow_ctx_fail).
     * May be NULL. */
    int (*on_schedule)(weir_flow_ctx *ctx);
    /* One unit of work: get FlowFiles, transform, transfer, commit. Returns 0
     * (the engine commits the session if the processor did not), a negative
     * WEIR_E_* (the engine rolls the session back and yields the processor
     * for its yield duration), or WEIR_FLOW_PENDING. Required. */
    int (*on_trigger)(weir_flow_session *session, weir_flow_ctx *ctx);
    /* When the processor stops (stopped at run time, flow stop, engine
     * free, and when a crashed engine is abandoned): gives back what it
     * holds and frees its state. Sessions it opened are rolled back by the
     * engine afterwards (after a crash: only freed). When
     * weir_flow_ctx_abandoning(ctx) is true it must free memory only: no
     * env call, no session call. May be NULL. */
    void (*on_stop)(weir_flow_ctx *ctx);
} weir_flow_processor_type;

/* ---- the instance context (NiFi's ProcessContext) ---- */

/* One configured property of an instance. `value` has #{parameters}
 * substituted; `has_expr` says whether it holds ${...} to evaluate per
 * FlowFile. Valid while the processor runs (a parameter swap stops and
 * restarts the processor, as NiFi does). */
typedef struct weir_flow_prop {
    const char *name;
    const char *value; /* NULL: not set and no default */
    bool has_expr;
    bool dynamic;   /* not declared by the type */
    void *compiled; /* the engine's compiled expression (opaque) */
} weir_flow_prop;

/* The processor's name in the flow ("P2"). */
const char *weir_flow_ctx_name(const weir_flow_ctx *ctx);

/* The engine's env: clock, timers, random, files, log. */
weir_env *weir_flow_ctx_env(const weir_flow_ctx *ctx);

/* A property by name (declared or dynamic), NULL if the type neither
 * declares it nor was it set. */
const weir_flow_prop *weir_flow_ctx_prop(const weir_flow_ctx *ctx, const char *name);

/* The property's value with no FlowFile (expressions see no attributes):
 * NULL when unset. The pointer is valid until the next evaluation on this
 * context. */
const char *weir_flow_ctx_prop_str(weir_flow_ctx *ctx, const char *name);

/* Parses a property as an integer / bytes / duration (ns) / bool; *out is
 * left alone when the property is unset. WEIR_E_INVAL names the property
 * (through weir_flow_ctx_fail) when the value does not parse. */
WEIR_MUST_CHECK int weir_flow_ctx_prop_int(weir_flow_ctx *ctx, const char *name, int64_t *out);
WEIR_MUST_CHECK int weir_flow_ctx_prop_bytes(weir_flow_ctx *ctx, const char *name, uint64_t *out);
WEIR_MUST_CHECK int weir_flow_ctx_prop_duration_ns(weir_flow_ctx *ctx, const char *name,
                                                   int64_t *out);
WEIR_MUST_CHECK int weir_flow_ctx_prop_bool(weir_flow_ctx *ctx, const char *name, bool *out);

/* Evaluates a property against a FlowFile's attributes (expressions,
 * parameters already in). *value_out points into ctx-owned memory valid
 * until the next evaluation on this ctx; NULL when the property is unset.
 * ff may be NULL (no attributes). */
WEIR_MUST_CHECK int weir_flow_ctx_prop_eval(weir_flow_ctx *ctx, const weir_flow_prop *prop,
                                            const weir_flowfile *ff, const char **value_out,
                                            size_t *len_out);

/* Same, into the caller's buffer (expr.h), for several values that must
 * all be evaluated before any is used. out->data[0..out->len) on 0. */
struct weir_expr_buf;
WEIR_MUST_CHECK int weir_flow_ctx_prop_eval_into(weir_flow_ctx *ctx, const weir_flow_prop *prop,
                                                 const weir_flowfile *ff,
                                                 struct weir_expr_buf *out);

/* Evaluates a property as a condition (expr.h weir_expr_eval_bool: true
 * iff the value is "true", ignoring case). */
WEIR_MUST_CHECK int weir_flow_ctx_prop_eval_bool(weir_flow_ctx *ctx, const weir_flow_prop *prop,
                                                 const weir_flowfile *ff, bool *result_out);

/* Dynamic properties in the order the flow file gives them. */
size_t weir_flow_ctx_dyn_count(const weir_flow_ctx *ctx);
const weir_flow_prop *weir_flow_ctx_dyn(const weir_flow_ctx *ctx, size_t index);

/* Relationships of this instance: declared ones first (in the type's order),
 * then dynamic ones (in property order). Index is what
 * weir_flow_session_transfer takes. -1 if there is no such relationship. */
int weir_flow_ctx_rel(const weir_flow_ctx *ctx, const char *name);
size_t weir_flow_ctx_rel_count(const weir_flow_ctx *ctx);
const char *weir_flow_ctx_rel_name(const weir_flow_ctx *ctx, int rel_index);

/* FlowFiles a processor should take per session (the engine's batch_max,
 * 1000 by default): batching is what makes the hot path cheap. */
size_t weir_flow_ctx_batch_max(const weir_flow_ctx *ctx);

/* Per-instance state: set by on_schedule, freed by on_stop. */
void *weir_flow_ctx_state(const weir_flow_ctx *ctx);
void weir_flow_ctx_set_state(weir_flow_ctx *ctx, void *state);

/* True while a crashed engine is being abandoned (see on_stop). */
bool weir_flow_ctx_abandoning(const weir_flow_ctx *ctx);

/* Asks not to be triggered again for the processor's yield duration (NiFi's
 * context.yield()): "nothing to do now" without a FlowFile to penalize. */
void weir_flow_ctx_yield(weir_flow_ctx *ctx);

/* Asks to be triggered again after delay_ns even without new input (a timer
 * for a processor with trigger_when_empty, e.g. a bin's age). */
void weir_flow_ctx_wake_after(weir_flow_ctx *ctx, int64_t delay_ns);

/* The last reason recorded by weir_flow_ctx_fail or by a failed
 * evaluation ("property 'X': position 3: ..."); "" when none. */
const char *weir_flow_ctx_last_error(const weir_flow_ctx *ctx);

/* Records why on_schedule refused or a property did not parse (one line,
 * kept in the instance, logged by the engine). Returns WEIR_E_INVAL. */
int weir_flow_ctx_fail(weir_flow_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fresh session of this processor, for work that outlives one trigger
 * (MergeContent's bins: FlowFiles migrated into a bin's session stay in
 * their queues in the write-ahead log until the bin is committed). Free it
 * with weir_flow_session_close. NULL when out of memory. */
weir_flow_session *weir_flow_ctx_session_open(weir_flow_ctx *ctx);

/* Asynchronous processors: a session the trigger left open
 * (WEIR_FLOW_PENDING) is committed or rolled back by the processor, then
 * handed back with this call, which frees the task slot. */
void weir_flow_ctx_task_done(weir_flow_ctx *ctx, weir_flow_session *session);

/* Marks the task of the trigger running now (call it from on_trigger,
 * before returning WEIR_FLOW_PENDING) as waiting for input from outside
 * the flow, or not (false): ConsumeKafka's long poll on an empty buffer.
 * weir_flow_engine_idle does not count waiting tasks. The mark ends when
 * the task is handed back (weir_flow_ctx_task_done) or the processor
 * stops. Outside a trigger the call does nothing. */
void weir_flow_ctx_task_waiting(weir_flow_ctx *ctx, bool waiting);

/* ---- the registry ---- */

/* The built-in types (proc_*.c), NULL-terminated, in name order. */
extern const weir_flow_processor_type *const weir_flow_builtin_types[];

/* A built-in type by name (exact, case-sensitive), or NULL. */
const weir_flow_processor_type *weir_flow_builtin_find(const char *name);

/* Checks a type's tables (names unique, tables terminated, on_trigger set).
 * Returns 0 or WEIR_E_INVAL with the reason in why. */
WEIR_MUST_CHECK int weir_flow_processor_type_check(const weir_flow_processor_type *type, char *why,
                                                   size_t why_size);

#endif
