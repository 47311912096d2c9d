/* The reader of flow files (flow_parse.h; flows/README.md is the format).
 *
 * Three passes over one libyaml document, each reference checked where it
 * is read so that every message points at the line holding the mistake:
 *   1. the top level, defaults, and the parameter contexts (names, then
 *      inheritance: unknown names, then cycles);
 *   2. the tree of process groups in pre-order: groups, their ports and
 *      processors (names unique in the flow, #{param} references resolved
 *      against the group's context);
 *   3. the same tree again for the connections, which may name anything in
 *      the flow (child groups' ports included), so they come after every
 *      name is known.
 * A counting walk before pass 2 sizes the arrays; it follows the same
 * pre-order and limits as pass 2, which asserts it never runs past them.
 */
#include "flow/flow_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "flow/params.h"
#include "proto/wire.h"
#include "scenario/yaml_doc.h"

typedef struct fp_ctx {
    weir_ydoc y;
    weir_flow_def *def;
    const yaml_node_t *contexts_node; /* parameter_contexts, or NULL */
    /* Array sizes from the counting walk. */
    size_t groups_cap, processors_cap, ports_cap, connections_cap;
    /* The file's defaults (defaults:), else NiFi's. */
    uint64_t object_threshold;
    uint64_t size_threshold_bytes;
    int64_t expiration_ns;
    int64_t penalty_ns;
    int64_t yield_ns;
    /* Pass 3: the group index pass 2 gave to the group now visited. */
    int next_group_index;
} fp_ctx;

static const char *const fp_root_keys[] = {
    "flow",       "description",        "swap_threshold",
    "defaults",   "parameter_contexts", "parameter_context",
    "processors", "connections",        "groups",
};
static const char *const fp_group_keys[] = {
    "name",       "parameter_context", "input_ports", "output_ports",
    "processors", "connections",       "groups",
};
static const char *const fp_defaults_keys[] = {
    "object_threshold", "size_threshold", "expiration", "penalty_duration", "yield_duration",
};
static const char *const fp_context_keys[] = {"name", "description", "inherits", "parameters"};
static const char *const fp_param_keys[] = {"value", "sensitive", "description"};
static const char *const fp_processor_keys[] = {
    "name",
    "type",
    "properties",
    "run_schedule",
    "concurrent_tasks",
    "penalty_duration",
    "yield_duration",
    "auto_terminate",
    "state",
};
static const char *const fp_connection_keys[] = {
    "name",         "from",       "relationships",  "to", "object_threshold", "size_threshold",
    "prioritizers", "expiration", "swap_threshold",
};

#define FP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void *fp_alloc(void *owner, size_t size)
{
    return weir_arena_alloc(owner, size);
}

static weir_flow_mark fp_mark(const yaml_node_t *node)
{
    weir_flow_mark m = {(int)node->start_mark.line + 1, (int)node->start_mark.column + 1};
    return m;
}

/* Zeroed arena memory for count items, or the out-of-memory error. */
static int fp_array(fp_ctx *fp, size_t count, size_t size, void *out)
{
    void *p = weir_arena_alloc_array(fp->def->arena, count, size);
    if (p == NULL) {
        return weir_ydoc_nomem(&fp->y);
    }
    memcpy(out, &p, sizeof p);
    return 0;
}

/* ---- small helpers over keys ---- */

/* The list under key, or none (count 0) when the key is absent. */
static int fp_opt_seq(fp_ctx *fp, const yaml_node_t *map, const char *key, size_t max,
                      yaml_node_t **seq, size_t *count)
{
    *count = 0;
    *seq = weir_ydoc_map_get(&fp->y, map, key);
    if (*seq == NULL || weir_ydoc_is_null(*seq)) {
        *seq = NULL;
        return 0;
    }
    size_t back = weir_ydoc_path_key(&fp->y, key);
    int rc = weir_ydoc_seq_check(&fp->y, *seq, max, count);
    weir_ydoc_path_pop(&fp->y, back);
    return rc;
}

/* A required name under key. */
static int fp_name_key(fp_ctx *fp, const yaml_node_t *map, const char *key, const char *what,
                       const char **out)
{
    yaml_node_t *v;
    int rc = weir_ydoc_map_need(&fp->y, map, key, &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = weir_ydoc_path_key(&fp->y, key);
    rc = weir_ydoc_name(&fp->y, v, WEIR_FLOW_NAME_MAX, what, out);
    weir_ydoc_path_pop(&fp->y, back);
    return rc;
}

/* Optional text under key: "" when absent or empty. */
static int fp_text_key(fp_ctx *fp, const yaml_node_t *map, const char *key, const char **out)
{
    *out = "";
    yaml_node_t *v = weir_ydoc_map_get(&fp->y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(&fp->y, key);
    int rc = weir_ydoc_text_or_empty(&fp->y, v, WEIR_FLOW_VALUE_MAX, out);
    weir_ydoc_path_pop(&fp->y, back);
    return rc;
}

/* An optional count >= 1 under key. */
static int fp_opt_count(fp_ctx *fp, const yaml_node_t *map, const char *key, int64_t max,
                        uint64_t *out)
{
    int64_t v = (int64_t)*out;
    int rc = weir_ydoc_opt_int(&fp->y, map, key, 1, max, &v);
    if (rc == 0) {
        *out = (uint64_t)v;
    }
    return rc;
}

/* An optional size above 0 under key. */
static int fp_opt_threshold_size(fp_ctx *fp, const yaml_node_t *map, const char *key,
                                 uint64_t *bytes_out)
{
    yaml_node_t *v = weir_ydoc_map_get(&fp->y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(&fp->y, key);
    uint64_t bytes;
    int rc = weir_ydoc_size(&fp->y, v, false, &bytes);
    if (rc == 0 && bytes == 0) {
        rc = weir_ydoc_fail(&fp->y, v, "expected a size above 0, got \"%s\"", weir_ydoc_text(v));
    }
    if (rc == 0) {
        *bytes_out = bytes;
    }
    weir_ydoc_path_pop(&fp->y, back);
    return rc;
}

/* The names in a list of names (each checked, none twice) into an arena
 * array; what names one in messages. */
static int fp_name_list(fp_ctx *fp, const yaml_node_t *seq, size_t count, const char *what,
                        const char ***out)
{
    int rc = fp_array(fp, count, sizeof **out, out);
    for (size_t i = 0; i < count && rc == 0; i++) {
        yaml_node_t *item = weir_ydoc_seq_item(&fp->y, seq, i);
        size_t back = weir_ydoc_path_index(&fp->y, i);
        rc = weir_ydoc_name(&fp->y, item, WEIR_FLOW_NAME_MAX, what, &(*out)[i]);
        for (size_t j = 0; j < i && rc == 0; j++) {
            if (strcmp((*out)[j], (*out)[i]) == 0) {
                rc = weir_ydoc_fail(&fp->y, item, "\"%s\" written twice", (*out)[i]);
            }
        }
        weir_ydoc_path_pop(&fp->y, back);
    }
    return rc;
}

/* " (did you mean ...?)" or " (declared: ...)" over count names taken by
 * name_at; "" when out of memory. */
static void fp_hint(char *buf, size_t size, const char *word, size_t count,
                    const char *(*name_at)(const weir_flow_def *, size_t), const weir_flow_def *def)
{
    buf[0] = '\0';
    const char **names = malloc((count + 1) * sizeof *names);
    if (names == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        names[i] = name_at(def, i);
    }
    weir_ydoc_hint_as(buf, size, word, names, count, "declared:");
    free(names);
}

static const char *fp_context_name_at(const weir_flow_def *def, size_t i)
{
    return def->contexts[i].name;
}

/* The index of the context called name (written at node), or the error. */
static int fp_context_ref(fp_ctx *fp, const yaml_node_t *node, const char *name, int *index)
{
    *index = weir_flow_def_context_find(fp->def, name);
    if (*index >= 0) {
        return 0;
    }
    char hint[512];
    fp_hint(hint, sizeof hint, name, fp->def->context_count, fp_context_name_at, fp->def);
    if (fp->def->context_count == 0) {
        snprintf(hint, sizeof hint, " (the file declares no parameter_contexts)");
    }
    return weir_ydoc_fail(&fp->y, node, "no parameter context named \"%s\"%s", name, hint);
}

/* ---- pass 1: defaults and parameter contexts ---- */

static int fp_parse_defaults(fp_ctx *fp, const yaml_node_t *root)
{
    weir_ydoc *y = &fp->y;
    yaml_node_t *d = weir_ydoc_map_get(y, root, "defaults");
    if (d == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, "defaults");
    int rc = weir_ydoc_map_check(y, d, fp_defaults_keys, FP_COUNT(fp_defaults_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_opt_count(fp, d, "object_threshold", INT64_MAX, &fp->object_threshold);
    }
    if (rc == 0) {
        rc = fp_opt_threshold_size(fp, d, "size_threshold", &fp->size_threshold_bytes);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, d, "expiration", &fp->expiration_ns);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, d, "penalty_duration", &fp->penalty_ns);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, d, "yield_duration", &fp->yield_ns);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* One parameter: `name: value` or `name: {value, sensitive, description}`. */
static int fp_parse_param(fp_ctx *fp, const yaml_node_t *key, const yaml_node_t *v,
                          weir_flow_param *p)
{
    weir_ydoc *y = &fp->y;
    const char *name = weir_ydoc_text(key);
    if (!weir_param_name_valid(name, strlen(name)) || strlen(name) >= WEIR_FLOW_NAME_MAX) {
        return weir_ydoc_fail(y, key,
                              "\"%s\" is not a valid parameter name: use letters, digits, spaces, "
                              "'_', '-' and '.' (at most %d characters)",
                              name, WEIR_FLOW_NAME_MAX - 1);
    }
    int rc = weir_ydoc_string(y, key, WEIR_FLOW_NAME_MAX, &p->name);
    p->mark = fp_mark(key);
    p->description = "";
    if (rc != 0 || v->type != YAML_MAPPING_NODE) {
        return rc != 0 ? rc : weir_ydoc_text_or_empty(y, v, WEIR_FLOW_VALUE_MAX, &p->value);
    }
    rc = weir_ydoc_map_check(y, v, fp_param_keys, FP_COUNT(fp_param_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_text_key(fp, v, "value", &p->value);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_bool(y, v, "sensitive", &p->sensitive);
    }
    if (rc == 0) {
        rc = fp_text_key(fp, v, "description", &p->description);
    }
    return rc;
}

static int fp_parse_context(fp_ctx *fp, const yaml_node_t *item, weir_flow_context *c)
{
    weir_ydoc *y = &fp->y;
    int rc = weir_ydoc_map_check(y, item, fp_context_keys, FP_COUNT(fp_context_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_name_key(fp, item, "name", "parameter context", &c->name);
    }
    int first = rc == 0 ? weir_flow_def_context_find(fp->def, c->name) : -1;
    if (first >= 0) {
        rc = weir_ydoc_fail_key(y, item, "name",
                                "parameter context \"%s\" is declared twice (first at line %d)",
                                c->name, fp->def->contexts[first].mark.line);
    }
    if (rc == 0) {
        rc = fp_text_key(fp, item, "description", &c->description);
    }
    c->mark = fp_mark(item);
    yaml_node_t *params = weir_ydoc_map_get(y, item, "parameters");
    if (rc != 0 || params == NULL || weir_ydoc_is_null(params)) {
        return rc;
    }
    size_t back = weir_ydoc_path_key(y, "parameters");
    rc = weir_ydoc_map_check(y, params, NULL, 0, weir_ydoc_key_any, NULL);
    c->param_count = rc == 0 ? weir_ydoc_map_count(params) : 0;
    if (rc == 0) {
        rc = fp_array(fp, c->param_count, sizeof *c->params, &c->params);
    }
    for (size_t i = 0; i < c->param_count && rc == 0; i++) {
        yaml_node_t *key = weir_ydoc_map_key(y, params, i);
        size_t b = weir_ydoc_path_key(y, weir_ydoc_text(key));
        rc = fp_parse_param(fp, key, weir_ydoc_map_value(y, params, i), &c->params[i]);
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* contexts[i].inherits as indexes (every context is known by now). */
static int fp_resolve_inherits(fp_ctx *fp, size_t i, const yaml_node_t *item)
{
    weir_ydoc *y = &fp->y;
    weir_flow_context *c = &fp->def->contexts[i];
    yaml_node_t *seq;
    size_t count;
    int rc = fp_opt_seq(fp, item, "inherits", WEIR_FLOW_INHERITS_MAX, &seq, &count);
    if (rc != 0 || count == 0) {
        return rc;
    }
    size_t back = weir_ydoc_path_key(y, "inherits");
    const char **names;
    rc = fp_name_list(fp, seq, count, "parameter context", &names);
    if (rc == 0) {
        rc = fp_array(fp, count, sizeof *c->inherits, &c->inherits);
    }
    for (size_t k = 0; k < count && rc == 0; k++) {
        size_t b = weir_ydoc_path_index(y, k);
        rc = fp_context_ref(fp, weir_ydoc_seq_item(y, seq, k), names[k], &c->inherits[k]);
        weir_ydoc_path_pop(y, b);
    }
    c->inherit_count = rc == 0 ? count : 0;
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* Depth-first search for a cycle through context i. state: 0 unseen, 1 on
 * the stack, 2 done. On a cycle, the error names it ("a -> b -> a") at the
 * inherits item that closes it. */
static int fp_cycle_visit(fp_ctx *fp, int i, unsigned char *state, int *stack, size_t depth)
{
    const weir_flow_context *c = &fp->def->contexts[i];
    state[i] = 1;
    stack[depth] = i;
    for (size_t k = 0; k < c->inherit_count; k++) {
        int next = c->inherits[k];
        if (state[next] == 2) {
            continue;
        }
        if (state[next] == 0) {
            int rc = fp_cycle_visit(fp, next, state, stack, depth + 1);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        /* next is on the stack: the cycle runs from it to i and back. */
        char path[1024];
        size_t n = 0, from = 0;
        while (stack[from] != next) {
            from++;
        }
        for (size_t s = from; s <= depth && n < sizeof path; s++) {
            n += (size_t)snprintf(path + n, sizeof path - n, "%s -> ",
                                  fp->def->contexts[stack[s]].name);
        }
        if (n < sizeof path) {
            snprintf(path + n, sizeof path - n, "%s", fp->def->contexts[next].name);
        }
        weir_ydoc *y = &fp->y;
        const yaml_node_t *item = weir_ydoc_seq_item(y, fp->contexts_node, (size_t)i);
        const yaml_node_t *seq = weir_ydoc_map_get(y, item, "inherits");
        size_t b0 = weir_ydoc_path_key(y, "parameter_contexts");
        weir_ydoc_path_index(y, (size_t)i);
        weir_ydoc_path_key(y, "inherits");
        weir_ydoc_path_index(y, k);
        int rc = weir_ydoc_fail(y, weir_ydoc_seq_item(y, seq, k),
                                "parameter contexts form a cycle: %s", path);
        weir_ydoc_path_pop(y, b0);
        return rc;
    }
    state[i] = 2;
    return 0;
}

static int fp_check_cycles(fp_ctx *fp)
{
    size_t count = fp->def->context_count;
    unsigned char *state = calloc(count + 1, 1);
    int *stack = calloc(count + 1, sizeof *stack);
    int rc = state == NULL || stack == NULL ? weir_ydoc_nomem(&fp->y) : 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (state[i] == 0) {
            rc = fp_cycle_visit(fp, (int)i, state, stack, 0);
        }
    }
    free(state);
    free(stack);
    return rc;
}

static int fp_parse_contexts(fp_ctx *fp, const yaml_node_t *root)
{
    weir_ydoc *y = &fp->y;
    yaml_node_t *seq;
    size_t count;
    int rc = fp_opt_seq(fp, root, "parameter_contexts", WEIR_FLOW_CONTEXTS_MAX, &seq, &count);
    fp->contexts_node = seq;
    if (rc != 0 || count == 0) {
        return rc;
    }
    rc = fp_array(fp, count, sizeof *fp->def->contexts, &fp->def->contexts);
    size_t back = weir_ydoc_path_key(y, "parameter_contexts");
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_parse_context(fp, weir_ydoc_seq_item(y, seq, i), &fp->def->contexts[i]);
        fp->def->context_count = i + 1;
        weir_ydoc_path_pop(y, b);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_resolve_inherits(fp, i, weir_ydoc_seq_item(y, seq, i));
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc == 0 ? fp_check_cycles(fp) : rc;
}

/* ---- the counting walk ---- */

static size_t fp_seq_len(fp_ctx *fp, const yaml_node_t *map, const char *key)
{
    const yaml_node_t *v = weir_ydoc_map_get(&fp->y, map, key);
    if (v == NULL || v->type != YAML_SEQUENCE_NODE) {
        return 0;
    }
    return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
}

/* Counts what pass 2 may register under group node g (itself included),
 * in its order: groups beyond the limits are errors there, so the walk
 * stops at them. */
static void fp_count(fp_ctx *fp, const yaml_node_t *g, int depth)
{
    if (g->type != YAML_MAPPING_NODE || depth > WEIR_FLOW_GROUP_DEPTH_MAX ||
        fp->groups_cap >= WEIR_FLOW_GROUPS_MAX) {
        return;
    }
    fp->groups_cap++;
    fp->processors_cap += fp_seq_len(fp, g, "processors");
    fp->ports_cap += fp_seq_len(fp, g, "input_ports") + fp_seq_len(fp, g, "output_ports");
    fp->connections_cap += fp_seq_len(fp, g, "connections");
    const yaml_node_t *groups = weir_ydoc_map_get(&fp->y, g, "groups");
    size_t n = fp_seq_len(fp, g, "groups");
    for (size_t i = 0; i < n; i++) {
        fp_count(fp, weir_ydoc_seq_item(&fp->y, groups, i), depth + 1);
    }
}

/* The arrays of pass 2 and 3, sized by the counting walk (capped by the
 * limits: pass 2 stops with an error at the first item over one). */
static int fp_alloc_arrays(fp_ctx *fp, const yaml_node_t *root)
{
    fp_count(fp, root, 0);
    weir_flow_def *def = fp->def;
#define FP_CAP(v, max) ((v) = (v) < (max) ? (v) : (max))
    FP_CAP(fp->processors_cap, WEIR_FLOW_PROCESSORS_MAX);
    FP_CAP(fp->ports_cap, WEIR_FLOW_PORTS_MAX);
    FP_CAP(fp->connections_cap, WEIR_FLOW_CONNECTIONS_MAX);
#undef FP_CAP
    int rc = fp_array(fp, fp->groups_cap, sizeof *def->groups, &def->groups);
    if (rc == 0) {
        rc = fp_array(fp, fp->processors_cap, sizeof *def->processors, &def->processors);
    }
    if (rc == 0) {
        rc = fp_array(fp, fp->ports_cap, sizeof *def->ports, &def->ports);
    }
    if (rc == 0) {
        rc = fp_array(fp, fp->connections_cap, sizeof *def->connections, &def->connections);
    }
    return rc;
}

/* Room for one more of `what` (have of cap, the limit max), or the error. */
static int fp_room(fp_ctx *fp, const yaml_node_t *node, size_t have, size_t cap, size_t max,
                   const char *what)
{
    if (have < cap) {
        return 0;
    }
    WEIR_ASSERT(cap == max); /* the counting walk saw everything else */
    return weir_ydoc_fail(&fp->y, node, "more than %zu %s in the flow", max, what);
}

/* ---- pass 2: groups, ports, processors ---- */

/* name must be new among processors and ports (one namespace: connections
 * name either). */
static int fp_component_name_new(fp_ctx *fp, const yaml_node_t *node, const char *name)
{
    const weir_flow_def *def = fp->def;
    int p = weir_flow_def_processor_find(def, name);
    if (p >= 0) {
        return weir_ydoc_fail(&fp->y, node,
                              "\"%s\" is already the name of a processor (line %d): processor "
                              "and port names are unique in the flow",
                              name, def->processors[p].mark.line);
    }
    int q = weir_flow_def_port_find(def, name);
    if (q >= 0) {
        return weir_ydoc_fail(&fp->y, node,
                              "\"%s\" is already the name of a port (line %d): processor and "
                              "port names are unique in the flow",
                              name, def->ports[q].mark.line);
    }
    return 0;
}

static int fp_parse_ports(fp_ctx *fp, const yaml_node_t *g, int group_index, const char *key,
                          weir_flow_port_kind kind)
{
    weir_ydoc *y = &fp->y;
    weir_flow_def *def = fp->def;
    yaml_node_t *seq;
    size_t count;
    int rc = fp_opt_seq(fp, g, key, WEIR_FLOW_PORTS_MAX, &seq, &count);
    size_t back = weir_ydoc_path_key(y, key);
    for (size_t i = 0; i < count && rc == 0; i++) {
        yaml_node_t *item = weir_ydoc_seq_item(y, seq, i);
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_room(fp, item, def->port_count, fp->ports_cap, WEIR_FLOW_PORTS_MAX, "ports");
        weir_flow_port *port = &def->ports[def->port_count];
        if (rc == 0) {
            rc = weir_ydoc_name(y, item, WEIR_FLOW_NAME_MAX, "port", &port->name);
        }
        if (rc == 0) {
            rc = fp_component_name_new(fp, item, port->name);
        }
        if (rc == 0) {
            port->kind = kind;
            port->group_index = group_index;
            port->mark = fp_mark(item);
            def->port_count++;
        }
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

#define FP_PARAM_HINT_NAMES_MAX 4096

/* The parameter names visible from context i (its own, then what it
 * inherits, each context once), at most FP_PARAM_HINT_NAMES_MAX. */
static void fp_param_names(const weir_flow_def *def, int i, const char **names, size_t *n,
                           bool *visited)
{
    if (visited[i]) {
        return;
    }
    visited[i] = true;
    const weir_flow_context *c = &def->contexts[i];
    for (size_t k = 0; k < c->param_count && *n < FP_PARAM_HINT_NAMES_MAX; k++) {
        names[(*n)++] = c->params[k].name;
    }
    for (size_t k = 0; k < c->inherit_count; k++) {
        fp_param_names(def, c->inherits[k], names, n, visited);
    }
}

/* " (did you mean ...?)" or " (declared: ...)" for a missing parameter. */
static void fp_param_hint(const weir_flow_def *def, int ctx_index, const char *name, char *buf,
                          size_t size)
{
    buf[0] = '\0';
    const char **names = malloc(FP_PARAM_HINT_NAMES_MAX * sizeof *names);
    if (names == NULL) {
        return;
    }
    size_t n = 0;
    bool visited[WEIR_FLOW_CONTEXTS_MAX] = {false};
    fp_param_names(def, ctx_index, names, &n, visited);
    weir_ydoc_hint_as(buf, size, name, names, n, "declared:");
    free(names);
}

/* Every #{name} in value resolves in the group's context; "##" is a
 * literal '#'. */
static int fp_check_param_refs(fp_ctx *fp, const yaml_node_t *node, const char *value,
                               int group_index)
{
    const weir_flow_def *def = fp->def;
    int ctx_index = def->groups[group_index].context_index;
    for (const char *p = value; *p != '\0'; p++) {
        if (p[0] == '#' && p[1] == '#') {
            p++;
            continue;
        }
        if (p[0] != '#' || p[1] != '{') {
            continue;
        }
        const char *end = strchr(p + 2, '}');
        if (end == NULL) {
            return weir_ydoc_fail(&fp->y, node,
                                  "\"#{\" without its closing '}' (write \"##{\" "
                                  "for a literal \"#{\")");
        }
        char name[WEIR_FLOW_NAME_MAX];
        size_t len = (size_t)(end - (p + 2));
        if (len == 0 || len >= sizeof name) {
            return weir_ydoc_fail(&fp->y, node,
                                  "\"#{...}\" needs a parameter name of 1 to %d "
                                  "characters",
                                  WEIR_FLOW_NAME_MAX - 1);
        }
        memcpy(name, p + 2, len);
        name[len] = '\0';
        if (!weir_param_name_valid(name, len)) {
            return weir_ydoc_fail(&fp->y, node, "\"#{%s}\": not a valid parameter name", name);
        }
        if (ctx_index < 0) {
            return weir_ydoc_fail(&fp->y, node,
                                  "\"#{%s}\" needs a parameter context, and group \"%s\" has none "
                                  "(set its parameter_context)",
                                  name, def->groups[group_index].name);
        }
        if (weir_flow_def_param_find(def, ctx_index, name) == NULL) {
            char hint[512];
            fp_param_hint(def, ctx_index, name, hint, sizeof hint);
            return weir_ydoc_fail(&fp->y, node,
                                  "no parameter \"%s\" in context \"%s\" or the contexts it "
                                  "inherits%s",
                                  name, def->contexts[ctx_index].name, hint);
        }
        p = end;
    }
    return 0;
}

static int fp_parse_properties(fp_ctx *fp, const yaml_node_t *item, weir_flow_processor *proc)
{
    weir_ydoc *y = &fp->y;
    yaml_node_t *props = weir_ydoc_map_get(y, item, "properties");
    if (props == NULL || weir_ydoc_is_null(props)) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, "properties");
    int rc = weir_ydoc_map_check(y, props, NULL, 0, weir_ydoc_key_any, NULL);
    size_t count = rc == 0 ? weir_ydoc_map_count(props) : 0;
    if (rc == 0 && count > WEIR_FLOW_PROPERTIES_MAX) {
        rc =
            weir_ydoc_fail(y, props, "%zu properties: at most %d", count, WEIR_FLOW_PROPERTIES_MAX);
    }
    if (rc == 0) {
        rc = fp_array(fp, count, sizeof *proc->properties, &proc->properties);
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        yaml_node_t *key = weir_ydoc_map_key(y, props, i);
        yaml_node_t *v = weir_ydoc_map_value(y, props, i);
        weir_flow_property *prop = &proc->properties[i];
        size_t b = weir_ydoc_path_key(y, weir_ydoc_text(key));
        rc = weir_ydoc_string(y, key, WEIR_FLOW_NAME_MAX, &prop->name);
        if (rc == 0) {
            rc = weir_ydoc_text_or_empty(y, v, WEIR_FLOW_VALUE_MAX, &prop->value);
        }
        if (rc == 0) {
            rc = fp_check_param_refs(fp, v, prop->value, proc->group_index);
        }
        prop->mark = fp_mark(key);
        proc->property_count = i + 1;
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

static int fp_parse_schedule(fp_ctx *fp, const yaml_node_t *item, weir_flow_processor *proc)
{
    weir_ydoc *y = &fp->y;
    static const char *const states[] = {
        [WEIR_FLOW_RUNNING] = "running", [WEIR_FLOW_STOPPED] = "stopped"};
    int64_t tasks = 1;
    proc->penalty_ns = fp->penalty_ns;
    proc->yield_ns = fp->yield_ns;
    int rc = weir_ydoc_opt_duration(y, item, "run_schedule", &proc->run_schedule_ns);
    if (rc == 0) {
        rc = weir_ydoc_opt_int(y, item, "concurrent_tasks", 1, WEIR_FLOW_TASKS_MAX, &tasks);
    }
    proc->concurrent_tasks = (int32_t)tasks;
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, item, "penalty_duration", &proc->penalty_ns);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, item, "yield_duration", &proc->yield_ns);
    }
    yaml_node_t *state = weir_ydoc_map_get(y, item, "state");
    if (rc == 0 && state != NULL) {
        size_t back = weir_ydoc_path_key(y, "state");
        int v = 0;
        rc = weir_ydoc_enum(y, state, states, FP_COUNT(states), &v);
        proc->state = (weir_flow_state)v;
        weir_ydoc_path_pop(y, back);
    }
    yaml_node_t *seq;
    size_t count;
    if (rc == 0) {
        rc = fp_opt_seq(fp, item, "auto_terminate", WEIR_FLOW_RELATIONSHIPS_MAX, &seq, &count);
    }
    if (rc == 0 && count > 0) {
        size_t back = weir_ydoc_path_key(y, "auto_terminate");
        rc = fp_name_list(fp, seq, count, "relationship", &proc->auto_terminated);
        proc->auto_terminated_count = rc == 0 ? count : 0;
        weir_ydoc_path_pop(y, back);
    }
    return rc;
}

static int fp_parse_processor(fp_ctx *fp, const yaml_node_t *item, int group_index)
{
    weir_ydoc *y = &fp->y;
    weir_flow_def *def = fp->def;
    int rc = fp_room(fp, item, def->processor_count, fp->processors_cap, WEIR_FLOW_PROCESSORS_MAX,
                     "processors");
    if (rc != 0) {
        return rc;
    }
    weir_flow_processor *proc = &def->processors[def->processor_count];
    proc->group_index = group_index;
    proc->mark = fp_mark(item);
    rc = weir_ydoc_map_check(y, item, fp_processor_keys, FP_COUNT(fp_processor_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_name_key(fp, item, "name", "processor", &proc->name);
    }
    if (rc == 0) {
        size_t back = weir_ydoc_path_key(y, "name");
        rc = fp_component_name_new(fp, weir_ydoc_map_get(y, item, "name"), proc->name);
        weir_ydoc_path_pop(y, back);
    }
    if (rc == 0) {
        rc = fp_name_key(fp, item, "type", "processor type", &proc->type);
    }
    if (rc == 0) {
        rc = fp_parse_properties(fp, item, proc);
    }
    if (rc == 0) {
        rc = fp_parse_schedule(fp, item, proc);
    }
    if (rc == 0) {
        def->processor_count++;
    }
    return rc;
}

static int fp_parse_group_tree(fp_ctx *fp, const yaml_node_t *g, int parent, int depth);

/* The group's name and context (the root's name is the flow's). */
static int fp_group_head(fp_ctx *fp, const yaml_node_t *g, weir_flow_group *group)
{
    weir_ydoc *y = &fp->y;
    int rc = 0;
    if (group->parent_index >= 0) {
        rc = fp_name_key(fp, g, "name", "group", &group->name);
        int first = rc == 0 ? weir_flow_def_group_find(fp->def, group->name) : -1;
        if (first >= 0) {
            rc = weir_ydoc_fail_key(y, g, "name",
                                    "group \"%s\" is declared twice (first at line %d)",
                                    group->name, fp->def->groups[first].mark.line);
        }
    }
    group->context_index = -1;
    yaml_node_t *c = weir_ydoc_map_get(y, g, "parameter_context");
    if (rc == 0 && c != NULL && !weir_ydoc_is_null(c)) {
        size_t back = weir_ydoc_path_key(y, "parameter_context");
        const char *name;
        rc = weir_ydoc_scalar(y, c, &name);
        if (rc == 0) {
            rc = fp_context_ref(fp, c, name, &group->context_index);
        }
        weir_ydoc_path_pop(y, back);
    }
    return rc;
}

static int fp_parse_group_tree(fp_ctx *fp, const yaml_node_t *g, int parent, int depth)
{
    weir_ydoc *y = &fp->y;
    weir_flow_def *def = fp->def;
    if (depth > WEIR_FLOW_GROUP_DEPTH_MAX) {
        return weir_ydoc_fail(y, g, "groups nested more than %d deep", WEIR_FLOW_GROUP_DEPTH_MAX);
    }
    /* the root's keys were checked with the top level's */
    int rc = parent < 0
                 ? 0
                 : weir_ydoc_map_check(y, g, fp_group_keys, FP_COUNT(fp_group_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_room(fp, g, def->group_count, fp->groups_cap, WEIR_FLOW_GROUPS_MAX, "groups");
    }
    if (rc != 0) {
        return rc;
    }
    int index = (int)def->group_count;
    weir_flow_group *group = &def->groups[index];
    group->parent_index = parent;
    group->depth = depth;
    group->name = def->name;
    group->mark = fp_mark(g);
    rc = fp_group_head(fp, g, group);
    if (rc != 0) {
        return rc;
    }
    def->group_count++;
    rc = fp_parse_ports(fp, g, index, "input_ports", WEIR_FLOW_PORT_INPUT);
    if (rc == 0) {
        rc = fp_parse_ports(fp, g, index, "output_ports", WEIR_FLOW_PORT_OUTPUT);
    }
    yaml_node_t *seq = NULL;
    size_t count = 0;
    if (rc == 0) {
        rc = fp_opt_seq(fp, g, "processors", WEIR_FLOW_PROCESSORS_MAX, &seq, &count);
    }
    size_t back = weir_ydoc_path_key(y, "processors");
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_parse_processor(fp, weir_ydoc_seq_item(y, seq, i), index);
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    if (rc == 0) {
        rc = fp_opt_seq(fp, g, "connections", WEIR_FLOW_CONNECTIONS_MAX, &seq, &count);
    }
    if (rc == 0) {
        rc = fp_opt_seq(fp, g, "groups", WEIR_FLOW_GROUPS_MAX, &seq, &count);
    }
    back = weir_ydoc_path_key(y, "groups");
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_parse_group_tree(fp, weir_ydoc_seq_item(y, seq, i), index, depth + 1);
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* ---- pass 3: connections ---- */

static const char *fp_component_name_at(const weir_flow_def *def, size_t i)
{
    return i < def->processor_count ? def->processors[i].name
                                    : def->ports[i - def->processor_count].name;
}

/* The endpoint called name, visible from a connection in group g: its own
 * processors, its own ports (input as a source, output as a destination),
 * and its child groups' ports (output as a source, input as a
 * destination) — NiFi's rule. */
static int fp_endpoint(fp_ctx *fp, const yaml_node_t *node, int g, bool source,
                       weir_flow_endpoint *ep)
{
    const weir_flow_def *def = fp->def;
    const char *name = weir_ydoc_text(node);
    int p = weir_flow_def_processor_find(def, name);
    if (p >= 0) {
        *ep = (weir_flow_endpoint){WEIR_FLOW_EP_PROCESSOR, p};
        int owner = def->processors[p].group_index;
        if (owner == g) {
            return 0;
        }
        return weir_ydoc_fail(&fp->y, node,
                              "processor \"%s\" is in group \"%s\": a connection in group \"%s\" "
                              "reaches its own processors and ports and its child groups' ports",
                              name, def->groups[owner].name, def->groups[g].name);
    }
    int q = weir_flow_def_port_find(def, name);
    if (q < 0) {
        char hint[512];
        fp_hint(hint, sizeof hint, name, def->processor_count + def->port_count,
                fp_component_name_at, def);
        return weir_ydoc_fail(&fp->y, node, "no processor or port named \"%s\"%s", name, hint);
    }
    *ep = (weir_flow_endpoint){WEIR_FLOW_EP_PORT, q};
    const weir_flow_port *port = &def->ports[q];
    bool own = port->group_index == g;
    bool child = def->groups[port->group_index].parent_index == g;
    bool input = port->kind == WEIR_FLOW_PORT_INPUT;
    if ((own && input == source) || (child && input != source)) {
        return 0;
    }
    if (own || child) {
        return weir_ydoc_fail(&fp->y, node,
                              "\"%s\" is an %s port of %s group \"%s\": it can only be a %s here",
                              name, input ? "input" : "output", own ? "this" : "the child",
                              def->groups[port->group_index].name,
                              input == own ? "source (from)" : "destination (to)");
    }
    return weir_ydoc_fail(&fp->y, node,
                          "port \"%s\" is in group \"%s\": a connection in group \"%s\" reaches "
                          "its own processors and ports and its child groups' ports",
                          name, def->groups[port->group_index].name, def->groups[g].name);
}

static int fp_endpoint_key(fp_ctx *fp, const yaml_node_t *item, const char *key, int g, bool source,
                           weir_flow_endpoint *ep)
{
    yaml_node_t *v;
    int rc = weir_ydoc_map_need(&fp->y, item, key, &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = weir_ydoc_path_key(&fp->y, key);
    const char *name;
    rc = weir_ydoc_scalar(&fp->y, v, &name);
    if (rc == 0) {
        rc = fp_endpoint(fp, v, g, source, ep);
    }
    weir_ydoc_path_pop(&fp->y, back);
    return rc;
}

static bool fp_has(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool fp_ep_eq(weir_flow_endpoint a, weir_flow_endpoint b)
{
    return a.kind == b.kind && a.index == b.index;
}

/* relationships: a name or a list; required from a processor, refused from
 * a port; none auto-terminated, none already going to the same place. */
static int fp_relationships(fp_ctx *fp, const yaml_node_t *item, weir_flow_connection *c)
{
    weir_ydoc *y = &fp->y;
    const weir_flow_def *def = fp->def;
    const char *src = weir_flow_def_endpoint_name(def, c->source);
    yaml_node_t *v = weir_ydoc_map_get(y, item, "relationships");
    if (c->source.kind == WEIR_FLOW_EP_PORT) {
        if (v != NULL) {
            return weir_ydoc_fail_key(y, item, "relationships",
                                      "a connection from port \"%s\" takes no relationships", src);
        }
        return 0;
    }
    if (v == NULL || weir_ydoc_is_null(v)) {
        return weir_ydoc_fail_key(y, item, "relationships",
                                  "a connection from processor \"%s\" needs its relationships "
                                  "(such as [success])",
                                  src);
    }
    size_t back = weir_ydoc_path_key(y, "relationships");
    int rc = 0;
    if (v->type == YAML_SCALAR_NODE) {
        rc = fp_array(fp, 1, sizeof *c->relationships, &c->relationships);
        if (rc == 0) {
            rc = weir_ydoc_name(y, v, WEIR_FLOW_NAME_MAX, "relationship", &c->relationships[0]);
        }
        c->relationship_count = 1;
    } else {
        rc = weir_ydoc_seq_check(y, v, WEIR_FLOW_RELATIONSHIPS_MAX, &c->relationship_count);
        if (rc == 0 && c->relationship_count == 0) {
            rc = weir_ydoc_fail(y, v,
                                "an empty list: a connection from processor \"%s\" needs "
                                "at least one relationship",
                                src);
        }
        if (rc == 0) {
            rc = fp_name_list(fp, v, c->relationship_count, "relationship", &c->relationships);
        }
    }
    const weir_flow_processor *proc = &def->processors[c->source.index];
    for (size_t i = 0; i < c->relationship_count && rc == 0; i++) {
        const char *rel = c->relationships[i];
        const yaml_node_t *at = v->type == YAML_SCALAR_NODE ? v : weir_ydoc_seq_item(y, v, i);
        size_t b = v->type == YAML_SCALAR_NODE ? y->path_len : weir_ydoc_path_index(y, i);
        if (fp_has(proc->auto_terminated, proc->auto_terminated_count, rel)) {
            rc = weir_ydoc_fail(y, at,
                                "\"%s\" of \"%s\" is auto-terminated (auto_terminate, line %d): "
                                "connect it or terminate it, not both",
                                rel, src, proc->mark.line);
        }
        for (size_t k = 0; k < def->connection_count && rc == 0; k++) {
            const weir_flow_connection *e = &def->connections[k];
            if (fp_ep_eq(e->source, c->source) && fp_ep_eq(e->destination, c->destination) &&
                fp_has(e->relationships, e->relationship_count, rel)) {
                rc = weir_ydoc_fail(y, at,
                                    "\"%s\" of \"%s\" already goes to \"%s\" (connection \"%s\", "
                                    "line %d)",
                                    rel, src, weir_flow_def_endpoint_name(def, c->destination),
                                    e->name, e->mark.line);
            }
        }
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* A connection from a port may not repeat (same source and destination). */
static int fp_port_connection_new(fp_ctx *fp, const yaml_node_t *item,
                                  const weir_flow_connection *c)
{
    const weir_flow_def *def = fp->def;
    for (size_t k = 0; k < def->connection_count && c->source.kind == WEIR_FLOW_EP_PORT; k++) {
        const weir_flow_connection *e = &def->connections[k];
        if (fp_ep_eq(e->source, c->source) && fp_ep_eq(e->destination, c->destination)) {
            return weir_ydoc_fail_key(&fp->y, item, "to",
                                      "port \"%s\" already goes to \"%s\" (connection \"%s\", "
                                      "line %d)",
                                      weir_flow_def_endpoint_name(def, c->source),
                                      weir_flow_def_endpoint_name(def, c->destination), e->name,
                                      e->mark.line);
        }
    }
    return 0;
}

static int fp_prioritizers(fp_ctx *fp, const yaml_node_t *item, weir_flow_connection *c)
{
    weir_ydoc *y = &fp->y;
    const char *names[WEIR_FLOW_PRIORITIZERS_];
    for (int k = 0; k < WEIR_FLOW_PRIORITIZERS_; k++) {
        names[k] = weir_flow_prioritizer_name((weir_flow_prioritizer)k);
    }
    yaml_node_t *seq;
    size_t count;
    int rc = fp_opt_seq(fp, item, "prioritizers", WEIR_FLOW_PRIORITIZERS_MAX, &seq, &count);
    size_t back = weir_ydoc_path_key(y, "prioritizers");
    for (size_t i = 0; i < count && rc == 0; i++) {
        yaml_node_t *v = weir_ydoc_seq_item(y, seq, i);
        size_t b = weir_ydoc_path_index(y, i);
        int kind = 0;
        rc = weir_ydoc_enum(y, v, names, FP_COUNT(names), &kind);
        for (size_t k = 0; k < i && rc == 0; k++) {
            if ((int)c->prioritizers[k] == kind) {
                rc = weir_ydoc_fail(y, v, "\"%s\" written twice", names[kind]);
            }
        }
        c->prioritizers[i] = (weir_flow_prioritizer)kind;
        c->prioritizer_count = i + 1;
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* The generated name, in the arena. */
static int fp_default_name(fp_ctx *fp, weir_flow_connection *c)
{
    char buf[WEIR_FLOW_NAME_MAX * 4];
    weir_flow_connection_default_name(fp->def, c, buf, sizeof buf);
    size_t n = strlen(buf);
    char *name = weir_arena_alloc(fp->def->arena, n + 1);
    if (name == NULL) {
        return weir_ydoc_nomem(&fp->y);
    }
    memcpy(name, buf, n + 1);
    c->name = name;
    return 0;
}

static int fp_connection_name(fp_ctx *fp, const yaml_node_t *item, weir_flow_connection *c)
{
    int rc = weir_ydoc_map_get(&fp->y, item, "name") != NULL
                 ? fp_name_key(fp, item, "name", "connection", &c->name)
                 : fp_default_name(fp, c);
    int first = rc == 0 ? weir_flow_def_connection_find(fp->def, c->name) : -1;
    if (first >= 0) {
        rc = weir_ydoc_fail_key(&fp->y, item, "name",
                                "connection \"%s\" is declared twice (first at line %d)", c->name,
                                fp->def->connections[first].mark.line);
    }
    return rc;
}

static int fp_parse_connection(fp_ctx *fp, const yaml_node_t *item, int g)
{
    weir_ydoc *y = &fp->y;
    weir_flow_def *def = fp->def;
    int rc = fp_room(fp, item, def->connection_count, fp->connections_cap,
                     WEIR_FLOW_CONNECTIONS_MAX, "connections");
    if (rc != 0) {
        return rc;
    }
    weir_flow_connection *c = &def->connections[def->connection_count];
    c->group_index = g;
    c->mark = fp_mark(item);
    c->object_threshold = fp->object_threshold;
    c->size_threshold_bytes = fp->size_threshold_bytes;
    c->expiration_ns = fp->expiration_ns;
    c->swap_threshold = def->swap_threshold;
    rc = weir_ydoc_map_check(y, item, fp_connection_keys, FP_COUNT(fp_connection_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_endpoint_key(fp, item, "from", g, true, &c->source);
    }
    if (rc == 0) {
        rc = fp_endpoint_key(fp, item, "to", g, false, &c->destination);
    }
    if (rc == 0) {
        rc = fp_relationships(fp, item, c);
    }
    if (rc == 0) {
        rc = fp_port_connection_new(fp, item, c);
    }
    if (rc == 0) {
        rc = fp_connection_name(fp, item, c);
    }
    if (rc == 0) {
        rc = fp_opt_count(fp, item, "object_threshold", INT64_MAX, &c->object_threshold);
    }
    if (rc == 0) {
        rc = fp_opt_threshold_size(fp, item, "size_threshold", &c->size_threshold_bytes);
    }
    if (rc == 0) {
        rc = fp_prioritizers(fp, item, c);
    }
    if (rc == 0) {
        rc = weir_ydoc_opt_duration(y, item, "expiration", &c->expiration_ns);
    }
    if (rc == 0) {
        rc = fp_opt_count(fp, item, "swap_threshold", INT64_MAX, &c->swap_threshold);
    }
    if (rc == 0) {
        def->connection_count++;
    }
    return rc;
}

/* The same pre-order as fp_parse_group_tree (which succeeded, so every
 * group here is registered and well formed). */
static int fp_parse_connections_tree(fp_ctx *fp, const yaml_node_t *g)
{
    weir_ydoc *y = &fp->y;
    int index = fp->next_group_index++;
    WEIR_ASSERT((size_t)index < fp->def->group_count);
    yaml_node_t *seq = weir_ydoc_map_get(y, g, "connections");
    size_t count =
        seq != NULL && seq->type == YAML_SEQUENCE_NODE ? fp_seq_len(fp, g, "connections") : 0;
    size_t back = weir_ydoc_path_key(y, "connections");
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_parse_connection(fp, weir_ydoc_seq_item(y, seq, i), index);
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    seq = weir_ydoc_map_get(y, g, "groups");
    count = seq != NULL && seq->type == YAML_SEQUENCE_NODE ? fp_seq_len(fp, g, "groups") : 0;
    back = weir_ydoc_path_key(y, "groups");
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t b = weir_ydoc_path_index(y, i);
        rc = fp_parse_connections_tree(fp, weir_ydoc_seq_item(y, seq, i));
        weir_ydoc_path_pop(y, b);
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}

/* ---- the document ---- */

static int fp_parse_document(fp_ctx *fp, const yaml_node_t *root)
{
    weir_ydoc *y = &fp->y;
    weir_flow_def *def = fp->def;
    int rc = weir_ydoc_map_check(y, root, fp_root_keys, FP_COUNT(fp_root_keys), NULL, NULL);
    if (rc == 0) {
        rc = fp_name_key(fp, root, "flow", "flow", &def->name);
    }
    if (rc == 0) {
        rc = fp_text_key(fp, root, "description", &def->description);
    }
    if (rc == 0) {
        rc = fp_opt_count(fp, root, "swap_threshold", INT64_MAX, &def->swap_threshold);
    }
    if (rc == 0) {
        rc = fp_parse_defaults(fp, root);
    }
    if (rc == 0) {
        rc = fp_parse_contexts(fp, root);
    }
    if (rc == 0) {
        rc = fp_alloc_arrays(fp, root);
    }
    if (rc == 0) {
        rc = fp_parse_group_tree(fp, root, -1, 0);
    }
    if (rc == 0) {
        rc = fp_parse_connections_tree(fp, root);
    }
    return rc;
}

int weir_flow_parse(const char *text, size_t len, const char *file_name, weir_flow_def *out,
                    char *why, size_t why_size)
{
    char why_local[256];
    memset(out, 0, sizeof *out);
    if (why == NULL || why_size == 0) {
        why = why_local;
        why_size = sizeof why_local;
    }
    why[0] = '\0';
    out->swap_threshold = WEIR_FLOW_SWAP_THRESHOLD_DEFAULT;
    out->description = "";
    fp_ctx fp = {
        .y = {.file = file_name != NULL ? file_name : "<flow>",
              .why = why,
              .why_size = why_size,
              .alloc = fp_alloc,
              .owner = NULL},
        .def = out,
        .object_threshold = WEIR_FLOW_OBJECT_THRESHOLD_DEFAULT,
        .size_threshold_bytes = WEIR_FLOW_SIZE_THRESHOLD_DEFAULT,
        .penalty_ns = WEIR_FLOW_PENALTY_NS_DEFAULT,
        .yield_ns = WEIR_FLOW_YIELD_NS_DEFAULT,
    };
    out->arena = malloc(sizeof *out->arena);
    if (out->arena == NULL) {
        return weir_ydoc_nomem(&fp.y);
    }
    weir_arena_init(out->arena, 0);
    fp.y.owner = out->arena;
    yaml_document_t doc;
    bool loaded = false;
    int rc =
        weir_ydoc_load(&fp.y, text, len, &doc, &loaded,
                       "a flow is a mapping (flow, processors, connections, ...)", "a flow file");
    if (rc == 0) {
        fp.y.doc = &doc;
        rc = fp_parse_document(&fp, yaml_document_get_root_node(&doc));
    }
    if (loaded) {
        yaml_document_delete(&doc);
    }
    if (rc != 0) {
        weir_flow_def_free(out);
    }
    return rc;
}
