/* Flow definitions: the parsed, validated form of a flow file (flows/README.md
 * is the reference of the format) — parameter contexts, process groups,
 * processors, ports and connections, as NiFi names them (notes/FLOW.md
 * §1.3-§1.9).
 *
 * A definition is plain data and says nothing about running: the engine
 * builds its queues and processor instances from it. Every array and string
 * lives in the definition's arena (weir_flow_def_free releases it all); links
 * between parts are indexes into the flat arrays of weir_flow_def, never
 * pointers, so a definition can be copied into a report or compared.
 *
 * Invariants after a successful weir_flow_parse (flow_parse.h):
 * - groups[0] is the root group (the flow itself, parent_index -1); every
 *   other group's parent_index is smaller than its own index;
 * - processor and port names are unique within the whole flow (one
 *   namespace), as are context names and group names, and connection names;
 * - every connection's endpoints exist and are visible from the connection's
 *   group (NiFi's rule: its own processors and ports, and the ports of its
 *   child groups); a processor source has >= 1 relationship, a port source
 *   has none; no two connections share (source, relationship, destination),
 *   nor (port source, destination); no connected relationship is also
 *   auto-terminated;
 * - every #{param} in a property resolves in the processor's group context;
 * - parameter-context inheritance has no cycle;
 * - thresholds, concurrent tasks and swap thresholds are > 0; durations >= 0.
 * Processor types, property names and relationship names are not checked
 * here (the processor catalog knows them): they are kept as written.
 */
#ifndef WEIR_FLOW_DEF_H
#define WEIR_FLOW_DEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct weir_arena; /* proto/wire.h: flow_def.c and flow_parse.c allocate through it */

/* Limits, so every loop over a definition is bounded. */
#define WEIR_FLOW_NAME_MAX 128         /* names, with the NUL */
#define WEIR_FLOW_CONTEXTS_MAX 256     /* parameter contexts */
#define WEIR_FLOW_INHERITS_MAX 16      /* contexts one context inherits */
#define WEIR_FLOW_PARAMS_MAX 1024      /* parameters in one context */
#define WEIR_FLOW_GROUPS_MAX 256       /* process groups, the root included */
#define WEIR_FLOW_GROUP_DEPTH_MAX 16   /* nesting below the root */
#define WEIR_FLOW_PROCESSORS_MAX 4096  /* in the whole flow */
#define WEIR_FLOW_PORTS_MAX 1024       /* input and output ports, whole flow */
#define WEIR_FLOW_CONNECTIONS_MAX 8192 /* in the whole flow */
#define WEIR_FLOW_PROPERTIES_MAX 256   /* properties of one processor */
#define WEIR_FLOW_RELATIONSHIPS_MAX 64 /* on one connection, or auto-terminated */
#define WEIR_FLOW_PRIORITIZERS_MAX 4   /* chained on one connection */
#define WEIR_FLOW_VALUE_MAX 65536      /* a property or parameter value, with the NUL */
#define WEIR_FLOW_TASKS_MAX 1024       /* concurrent tasks of one processor */

/* Defaults (NiFi's). */
#define WEIR_FLOW_OBJECT_THRESHOLD_DEFAULT 10000ULL        /* nifi.queue.backpressure.count */
#define WEIR_FLOW_SIZE_THRESHOLD_DEFAULT (1ULL << 30)      /* nifi.queue.backpressure.size: 1 GiB */
#define WEIR_FLOW_SWAP_THRESHOLD_DEFAULT 20000ULL          /* nifi.queue.swap.threshold */
#define WEIR_FLOW_PENALTY_NS_DEFAULT (30LL * 1000000000LL) /* Penalty Duration: 30 s */
#define WEIR_FLOW_YIELD_NS_DEFAULT (1LL * 1000000000LL)    /* Yield Duration: 1 s */

/* Where something was written: 1-based line and column, for messages. */
typedef struct weir_flow_mark {
    int line;
    int column;
} weir_flow_mark;

/* ---- parameter contexts (§1.7) ---- */

typedef struct weir_flow_param {
    const char *name;
    const char *value;       /* text as written; "" when empty; never NULL */
    const char *description; /* "" when none */
    bool sensitive;          /* never printed: messages and dumps show "********" */
    weir_flow_mark mark;
} weir_flow_param;

typedef struct weir_flow_context {
    const char *name;
    const char *description; /* "" when none */
    int *inherits;           /* context indexes, in priority order (first wins) */
    size_t inherit_count;
    weir_flow_param *params; /* this context's own parameters, in file order */
    size_t param_count;
    weir_flow_mark mark;
} weir_flow_context;

/* ---- process groups and ports (§1.8) ---- */

typedef struct weir_flow_group {
    const char *name;  /* the root group carries the flow's name */
    int parent_index;  /* -1 for the root */
    int context_index; /* its parameter context, or -1 (no parameters: NiFi does not
                          fall back to the parent's context) */
    int depth;         /* 0 for the root */
    weir_flow_mark mark;
} weir_flow_group;

typedef enum weir_flow_port_kind {
    WEIR_FLOW_PORT_INPUT,  /* data enters the group here (from the parent group) */
    WEIR_FLOW_PORT_OUTPUT, /* data leaves the group here (to the parent group) */
} weir_flow_port_kind;

typedef struct weir_flow_port {
    const char *name;
    weir_flow_port_kind kind;
    int group_index; /* the group the port belongs to (never the root) */
    weir_flow_mark mark;
} weir_flow_port;

/* ---- processors (§1.5, §1.9) ---- */

typedef struct weir_flow_property {
    const char *name;  /* as written: "Batch Size", "topic" */
    const char *value; /* uncompiled text: ${expr} and #{param} kept as written */
    weir_flow_mark mark;
} weir_flow_property;

typedef enum weir_flow_state {
    WEIR_FLOW_RUNNING, /* scheduled from the start (the default) */
    WEIR_FLOW_STOPPED, /* defined but not scheduled until started */
} weir_flow_state;

typedef struct weir_flow_processor {
    const char *name; /* unique in the flow */
    const char *type; /* "GenerateFlowFile", "ConsumeKafka", ... as written */
    int group_index;
    weir_flow_property *properties; /* in file order; names unique */
    size_t property_count;
    int64_t run_schedule_ns;      /* time between triggers; 0 = as fast as possible (default) */
    int32_t concurrent_tasks;     /* >= 1; default 1 */
    int64_t penalty_ns;           /* Penalty Duration: 30 s */
    int64_t yield_ns;             /* Yield Duration: 1 s */
    const char **auto_terminated; /* relationship names dropped when unconnected */
    size_t auto_terminated_count;
    weir_flow_state state; /* initial state */
    weir_flow_mark mark;
} weir_flow_processor;

/* ---- connections (§1.3, §1.4) ---- */

typedef enum weir_flow_prioritizer {
    WEIR_FLOW_PRIO_FIFO,               /* FirstInFirstOutPrioritizer */
    WEIR_FLOW_PRIO_OLDEST_FIRST,       /* OldestFlowFileFirstPrioritizer */
    WEIR_FLOW_PRIO_NEWEST_FIRST,       /* NewestFlowFileFirstPrioritizer */
    WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE, /* PriorityAttributePrioritizer */
    WEIR_FLOW_PRIORITIZERS_,
} weir_flow_prioritizer;

typedef enum weir_flow_endpoint_kind {
    WEIR_FLOW_EP_PROCESSOR, /* index into processors */
    WEIR_FLOW_EP_PORT,      /* index into ports */
} weir_flow_endpoint_kind;

typedef struct weir_flow_endpoint {
    weir_flow_endpoint_kind kind;
    int index;
} weir_flow_endpoint;

typedef struct weir_flow_connection {
    const char *name; /* as written, else weir_flow_connection_default_name */
    int group_index;  /* the group the connection is written in */
    weir_flow_endpoint source;
    weir_flow_endpoint destination; /* may equal source: a self-loop (never full) */
    const char **relationships;     /* processor source: >= 1 names; port source: none */
    size_t relationship_count;
    uint64_t object_threshold;     /* back pressure: FlowFiles queued; default 10,000 */
    uint64_t size_threshold_bytes; /* back pressure: bytes queued; default 1 GiB */
    weir_flow_prioritizer prioritizers[WEIR_FLOW_PRIORITIZERS_MAX]; /* first decides, later break
                                                                       ties */
    size_t prioritizer_count; /* 0: the engine's order (FIFO by enqueue sequence) */
    int64_t expiration_ns;    /* FlowFile expiration; 0 = never (default) */
    uint64_t swap_threshold;  /* FlowFiles kept in memory; default the flow's */
    weir_flow_mark mark;
} weir_flow_connection;

typedef struct weir_flow_def {
    const char *name;        /* the flow's name (also groups[0].name) */
    const char *description; /* "" when none */
    uint64_t swap_threshold; /* the global default of connections: 20,000 */

    weir_flow_context *contexts;
    size_t context_count;
    weir_flow_group *groups; /* [0] is the root */
    size_t group_count;
    weir_flow_processor *processors;
    size_t processor_count;
    weir_flow_port *ports;
    size_t port_count;
    weir_flow_connection *connections;
    size_t connection_count;

    struct weir_arena *arena; /* owns every array and string above (heap) */
} weir_flow_def;

/* Releases everything def owns and zeroes it; safe on a zeroed or already
 * freed definition. */
void weir_flow_def_free(weir_flow_def *def);

/* Lookups by name: the index, or -1 when there is none. */
int weir_flow_def_processor_find(const weir_flow_def *def, const char *name);
int weir_flow_def_port_find(const weir_flow_def *def, const char *name);
int weir_flow_def_group_find(const weir_flow_def *def, const char *name);
int weir_flow_def_context_find(const weir_flow_def *def, const char *name);
int weir_flow_def_connection_find(const weir_flow_def *def, const char *name);
/* The value of property name of processor p, or NULL when not written. */
const char *weir_flow_def_property(const weir_flow_def *def, int processor_index, const char *name);

/* The effective parameter called name in context ctx_index: the context's
 * own first, then each inherited context in order, depth first (NiFi: the
 * nearest definition wins). NULL when none (or ctx_index is -1). */
const weir_flow_param *weir_flow_def_param_find(const weir_flow_def *def, int ctx_index,
                                                const char *name);

/* The name of an endpoint (a processor's or a port's). */
const char *weir_flow_def_endpoint_name(const weir_flow_def *def, weir_flow_endpoint ep);

/* The name a connection gets when its file gives none, into buf (cut to
 * size): "SOURCE:rel,rel->DESTINATION" from a processor, "PORT->DESTINATION"
 * from a port. Never a valid written name (':' and '>' are not allowed
 * there), so it cannot clash with one. */
void weir_flow_connection_default_name(const weir_flow_def *def, const weir_flow_connection *c,
                                       char *buf, size_t size);

/* The definition as a flow file (flows/README.md) that parses back to an
 * equal definition: every value written out, defaults included; connection
 * names only when written in the first place. Sensitive parameter values
 * are written as "********" unless with_sensitive. *text_out is malloc'd and
 * NUL-terminated (the caller frees it), *len_out its length. Returns 0 or
 * WEIR_E_NOMEM (then *text_out is NULL). */
WEIR_MUST_CHECK int weir_flow_def_write(const weir_flow_def *def, bool with_sensitive,
                                        char **text_out, size_t *len_out);

/* "fifo", "oldest_first", "newest_first", "priority_attribute". */
const char *weir_flow_prioritizer_name(weir_flow_prioritizer p);
/* The prioritizer called name; WEIR_E_INVAL when none. */
WEIR_MUST_CHECK int weir_flow_prioritizer_parse(const char *name, weir_flow_prioritizer *out);

#endif
