/* The flow engine as a weir node: `weir flow FILE` runs it on the real
 * backend, the simulator runs it on a simulated host, from the same code.
 *
 * The node's start builds the flow (from a flow file on the node's file
 * system, flow text, a parsed definition, or a builder callback, in that
 * order of preference), opens its repositories under config.engine.repo_dir
 * (recovering the write-ahead log: after a crash every FlowFile is back
 * where the log last saw it, or further on; none lost, none duplicated) and
 * starts the processors. A crash abandons the node's memory; a restart runs
 * start again from the files. destroy never touches the env.
 *
 * A flow that does not build leaves a node with no engine: weir_flow_node_error
 * says why (and it is logged).
 */
#ifndef WEIR_FLOW_NODE_H
#define WEIR_FLOW_NODE_H

#include <stddef.h>

#include "env/world.h"
#include "flow/engine.h"

typedef struct weir_flow_node weir_flow_node;

typedef struct weir_flow_node_config {
    const char *flow_path; /* a flow file, node-relative; or NULL */
    const char *flow_text; /* the flow file's text; or NULL */
    size_t flow_text_len;
    const weir_flow_def *def; /* a parsed definition (outlives the run); or NULL */
    /* Builds the flow on a new engine (tests); called on every start. */
    int (*build)(weir_flow_engine *e, void *arg, char *why, size_t why_size);
    void *build_arg;
    weir_flow_engine_config engine; /* repository folder, provenance, batching */
    /* Called after every successful start (tests, scenario hooks). */
    void (*on_start)(weir_flow_node *node, void *arg);
    void *on_start_arg;
} weir_flow_node_config;

/* The node type: start's arg is a weir_flow_node_config that outlives the
 * world (it is read again at every restart). */
extern const weir_node_type weir_flow_node_type;

/* The node's engine, NULL when the flow did not build. */
weir_flow_engine *weir_flow_node_engine(const weir_flow_node *node);

/* Why the flow did not build ("" when it did). */
const char *weir_flow_node_error(const weir_flow_node *node);

/* Stops the engine cleanly (checkpoint, repositories closed); from the
 * node's own events (weir_sim_node_post in the simulator). */
WEIR_MUST_CHECK int weir_flow_node_shutdown(weir_flow_node *node);

#endif
