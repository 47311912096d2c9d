/* Flow definitions: release, lookups by name, effective parameters, names
 * of prioritizers and connections, and the writer that turns a definition
 * back into a flow file. A definition is read-only once parsed; nothing
 * here changes one.
 */
#include "flow/flow_def.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "proto/wire.h"
#include "scenario/yaml_doc.h" /* weir_ydoc_format_ns */

void weir_flow_def_free(weir_flow_def *def)
{
    if (def == NULL) {
        return;
    }
    if (def->arena != NULL) {
        weir_arena_free(def->arena);
        free(def->arena);
    }
    memset(def, 0, sizeof *def);
}

/* The index of the item whose name (at offset name_off of each item of
 * size item_size) is name, or -1. */
static int fdef_find(const void *items, size_t count, size_t item_size, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        const char *const *item_name = (const char *const *)((const char *)items + i * item_size);
        if (*item_name != NULL && strcmp(*item_name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Every part's name is its first field: fdef_find relies on that. */
_Static_assert(offsetof(weir_flow_processor, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_port, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_group, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_context, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_connection, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_property, name) == 0, "name first");
_Static_assert(offsetof(weir_flow_param, name) == 0, "name first");

int weir_flow_def_processor_find(const weir_flow_def *def, const char *name)
{
    return fdef_find(def->processors, def->processor_count, sizeof *def->processors, name);
}

int weir_flow_def_port_find(const weir_flow_def *def, const char *name)
{
    return fdef_find(def->ports, def->port_count, sizeof *def->ports, name);
}

int weir_flow_def_group_find(const weir_flow_def *def, const char *name)
{
    return fdef_find(def->groups, def->group_count, sizeof *def->groups, name);
}

int weir_flow_def_context_find(const weir_flow_def *def, const char *name)
{
    return fdef_find(def->contexts, def->context_count, sizeof *def->contexts, name);
}

int weir_flow_def_connection_find(const weir_flow_def *def, const char *name)
{
    return fdef_find(def->connections, def->connection_count, sizeof *def->connections, name);
}

const char *weir_flow_def_property(const weir_flow_def *def, int processor_index, const char *name)
{
    WEIR_ASSERT(processor_index >= 0 && (size_t)processor_index < def->processor_count);
    const weir_flow_processor *p = &def->processors[processor_index];
    int i = fdef_find(p->properties, p->property_count, sizeof *p->properties, name);
    return i >= 0 ? p->properties[i].value : NULL;
}

/* Depth-first through the inheritance list, each context once (a context
 * reached twice through a diamond was searched already; a hand-built cycle
 * ends too). */
static const weir_flow_param *fdef_param_walk(const weir_flow_def *def, int ctx_index,
                                              const char *name, bool *visited)
{
    WEIR_ASSERT(ctx_index >= 0 && (size_t)ctx_index < def->context_count);
    if (visited[ctx_index]) {
        return NULL;
    }
    visited[ctx_index] = true;
    const weir_flow_context *c = &def->contexts[ctx_index];
    int i = fdef_find(c->params, c->param_count, sizeof *c->params, name);
    if (i >= 0) {
        return &c->params[i];
    }
    for (size_t k = 0; k < c->inherit_count; k++) {
        const weir_flow_param *p = fdef_param_walk(def, c->inherits[k], name, visited);
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}

const weir_flow_param *weir_flow_def_param_find(const weir_flow_def *def, int ctx_index,
                                                const char *name)
{
    if (ctx_index < 0) {
        return NULL;
    }
    WEIR_ASSERT(def->context_count <= WEIR_FLOW_CONTEXTS_MAX);
    bool visited[WEIR_FLOW_CONTEXTS_MAX] = {false};
    return fdef_param_walk(def, ctx_index, name, visited);
}

const char *weir_flow_def_endpoint_name(const weir_flow_def *def, weir_flow_endpoint ep)
{
    if (ep.kind == WEIR_FLOW_EP_PROCESSOR) {
        WEIR_ASSERT(ep.index >= 0 && (size_t)ep.index < def->processor_count);
        return def->processors[ep.index].name;
    }
    WEIR_ASSERT(ep.index >= 0 && (size_t)ep.index < def->port_count);
    return def->ports[ep.index].name;
}

static const char *const fdef_prioritizer_names[WEIR_FLOW_PRIORITIZERS_] = {
    [WEIR_FLOW_PRIO_FIFO] = "fifo",
    [WEIR_FLOW_PRIO_OLDEST_FIRST] = "oldest_first",
    [WEIR_FLOW_PRIO_NEWEST_FIRST] = "newest_first",
    [WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE] = "priority_attribute",
};

const char *weir_flow_prioritizer_name(weir_flow_prioritizer p)
{
    WEIR_ASSERT((unsigned)p < WEIR_FLOW_PRIORITIZERS_);
    return fdef_prioritizer_names[p];
}

int weir_flow_prioritizer_parse(const char *name, weir_flow_prioritizer *out)
{
    for (int i = 0; i < WEIR_FLOW_PRIORITIZERS_; i++) {
        if (strcmp(name, fdef_prioritizer_names[i]) == 0) {
            *out = (weir_flow_prioritizer)i;
            return 0;
        }
    }
    return WEIR_E_INVAL;
}

void weir_flow_connection_default_name(const weir_flow_def *def, const weir_flow_connection *c,
                                       char *buf, size_t size)
{
    WEIR_ASSERT(size > 0);
    size_t n = (size_t)snprintf(buf, size, "%s", weir_flow_def_endpoint_name(def, c->source));
    for (size_t i = 0; i < c->relationship_count && n < size; i++) {
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i == 0 ? ":" : ",", c->relationships[i]);
    }
    if (n < size) {
        snprintf(buf + n, size - n, "->%s", weir_flow_def_endpoint_name(def, c->destination));
    }
}

/* ---- the writer ---- */

typedef struct fdw_out {
    char *text;
    size_t len;
    size_t cap;
    bool failed; /* out of memory: later writes do nothing */
} fdw_out;

static void fdw_printf(fdw_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fdw_printf(fdw_out *o, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !o->failed; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->text + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *text = n < 0 ? NULL : realloc(o->text, cap);
        if (text == NULL) {
            o->failed = true;
            return;
        }
        o->text = text;
        o->cap = cap;
    }
}

/* s as a YAML double-quoted scalar: every byte survives a parse back. */
static void fdw_quoted(fdw_out *o, const char *s)
{
    fdw_printf(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fdw_printf(o, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            fdw_printf(o, "\\x%02x", *p);
        } else {
            fdw_printf(o, "%c", *p);
        }
    }
    fdw_printf(o, "\"");
}

static void fdw_names(fdw_out *o, const char *const *names, size_t count)
{
    fdw_printf(o, "[");
    for (size_t i = 0; i < count; i++) {
        fdw_printf(o, "%s", i == 0 ? "" : ", ");
        fdw_quoted(o, names[i]);
    }
    fdw_printf(o, "]\n");
}

static void fdw_duration(fdw_out *o, const char *pad, const char *key, int64_t ns)
{
    char text[32];
    weir_ydoc_format_ns(text, sizeof text, ns);
    fdw_printf(o, "%s%s: %s\n", pad, key, text);
}

static void fdw_contexts(fdw_out *o, const weir_flow_def *def, bool with_sensitive)
{
    if (def->context_count > 0) {
        fdw_printf(o, "parameter_contexts:\n");
    }
    for (size_t i = 0; i < def->context_count; i++) {
        const weir_flow_context *c = &def->contexts[i];
        fdw_printf(o, "  - name: ");
        fdw_quoted(o, c->name);
        fdw_printf(o, "\n    description: ");
        fdw_quoted(o, c->description);
        fdw_printf(o, "\n    inherits: [");
        for (size_t k = 0; k < c->inherit_count; k++) {
            fdw_printf(o, "%s", k == 0 ? "" : ", ");
            fdw_quoted(o, def->contexts[c->inherits[k]].name);
        }
        fdw_printf(o, "]\n    parameters:%s\n", c->param_count == 0 ? " {}" : "");
        for (size_t k = 0; k < c->param_count; k++) {
            const weir_flow_param *p = &c->params[k];
            fdw_printf(o, "      ");
            fdw_quoted(o, p->name);
            fdw_printf(o, ": { value: ");
            fdw_quoted(o, p->sensitive && !with_sensitive ? "********" : p->value);
            fdw_printf(o, ", sensitive: %s, description: ", p->sensitive ? "true" : "false");
            fdw_quoted(o, p->description);
            fdw_printf(o, " }\n");
        }
    }
}

static void fdw_processor(fdw_out *o, const weir_flow_processor *p, const char *pad)
{
    static const char *const states[] = {
        [WEIR_FLOW_RUNNING] = "running", [WEIR_FLOW_STOPPED] = "stopped"};
    fdw_printf(o, "%s- name: ", pad);
    fdw_quoted(o, p->name);
    fdw_printf(o, "\n%s  type: ", pad);
    fdw_quoted(o, p->type);
    fdw_printf(o, "\n%s  properties:%s\n", pad, p->property_count == 0 ? " {}" : "");
    for (size_t k = 0; k < p->property_count; k++) {
        fdw_printf(o, "%s    ", pad);
        fdw_quoted(o, p->properties[k].name);
        fdw_printf(o, ": ");
        fdw_quoted(o, p->properties[k].value);
        fdw_printf(o, "\n");
    }
    char in[160]; /* pad grows 2 per nesting level, at most 16 levels */
    snprintf(in, sizeof in, "%.150s  ", pad);
    fdw_duration(o, in, "run_schedule", p->run_schedule_ns);
    fdw_printf(o, "%sconcurrent_tasks: %d\n", in, (int)p->concurrent_tasks);
    fdw_duration(o, in, "penalty_duration", p->penalty_ns);
    fdw_duration(o, in, "yield_duration", p->yield_ns);
    fdw_printf(o, "%sauto_terminate: ", in);
    fdw_names(o, p->auto_terminated, p->auto_terminated_count);
    fdw_printf(o, "%sstate: %s\n", in, states[p->state]);
}

static void fdw_connection(fdw_out *o, const weir_flow_def *def, const weir_flow_connection *c,
                           const char *pad)
{
    char generated[WEIR_FLOW_NAME_MAX * 4];
    weir_flow_connection_default_name(def, c, generated, sizeof generated);
    fdw_printf(o, "%s- from: ", pad);
    fdw_quoted(o, weir_flow_def_endpoint_name(def, c->source));
    fdw_printf(o, "\n%s  to: ", pad);
    fdw_quoted(o, weir_flow_def_endpoint_name(def, c->destination));
    fdw_printf(o, "\n");
    if (strcmp(generated, c->name) != 0) {
        fdw_printf(o, "%s  name: ", pad);
        fdw_quoted(o, c->name);
        fdw_printf(o, "\n");
    }
    if (c->source.kind == WEIR_FLOW_EP_PROCESSOR) {
        fdw_printf(o, "%s  relationships: ", pad);
        fdw_names(o, c->relationships, c->relationship_count);
    }
    fdw_printf(o, "%s  object_threshold: %llu\n", pad, (unsigned long long)c->object_threshold);
    fdw_printf(o, "%s  size_threshold: %llu\n", pad, (unsigned long long)c->size_threshold_bytes);
    fdw_printf(o, "%s  prioritizers: [", pad);
    for (size_t k = 0; k < c->prioritizer_count; k++) {
        fdw_printf(o, "%s%s", k == 0 ? "" : ", ", weir_flow_prioritizer_name(c->prioritizers[k]));
    }
    fdw_printf(o, "]\n");
    char in[160]; /* pad grows 2 per nesting level, at most 16 levels */
    snprintf(in, sizeof in, "%.150s  ", pad);
    fdw_duration(o, in, "expiration", c->expiration_ns);
    fdw_printf(o, "%sswap_threshold: %llu\n", in, (unsigned long long)c->swap_threshold);
}

/* Group g's contents at depth (the root's keys at the top level), then its
 * child groups, recursively. */
static void fdw_group(fdw_out *o, const weir_flow_def *def, int g)
{
    const weir_flow_group *group = &def->groups[g];
    char pad[2 * WEIR_FLOW_GROUP_DEPTH_MAX * 2 + 8];
    int width = group->depth * 4; /* "groups:" + "  - " per level */
    snprintf(pad, sizeof pad, "%*s", width, "");
    if (group->context_index >= 0) {
        fdw_printf(o, "%sparameter_context: ", pad);
        fdw_quoted(o, def->contexts[group->context_index].name);
        fdw_printf(o, "\n");
    }
    static const char *const port_keys[] = {
        [WEIR_FLOW_PORT_INPUT] = "input_ports", [WEIR_FLOW_PORT_OUTPUT] = "output_ports"};
    for (int kind = WEIR_FLOW_PORT_INPUT; kind <= WEIR_FLOW_PORT_OUTPUT && g > 0; kind++) {
        fdw_printf(o, "%s%s: [", pad, port_keys[kind]);
        size_t written = 0;
        for (size_t i = 0; i < def->port_count; i++) {
            if (def->ports[i].group_index == g && (int)def->ports[i].kind == kind) {
                fdw_printf(o, "%s", written++ == 0 ? "" : ", ");
                fdw_quoted(o, def->ports[i].name);
            }
        }
        fdw_printf(o, "]\n");
    }
    char item[sizeof pad + 2];
    snprintf(item, sizeof item, "%s  ", pad);
    fdw_printf(o, "%sprocessors:\n", pad);
    for (size_t i = 0; i < def->processor_count; i++) {
        if (def->processors[i].group_index == g) {
            fdw_processor(o, &def->processors[i], item);
        }
    }
    fdw_printf(o, "%sconnections:\n", pad);
    for (size_t i = 0; i < def->connection_count; i++) {
        if (def->connections[i].group_index == g) {
            fdw_connection(o, def, &def->connections[i], item);
        }
    }
    fdw_printf(o, "%sgroups:\n", pad);
    for (size_t i = 0; i < def->group_count; i++) {
        if (def->groups[i].parent_index == g) {
            fdw_printf(o, "%s- name: ", item);
            fdw_quoted(o, def->groups[i].name);
            fdw_printf(o, "\n");
            fdw_group(o, def, (int)i);
        }
    }
}

int weir_flow_def_write(const weir_flow_def *def, bool with_sensitive, char **text_out,
                        size_t *len_out)
{
    WEIR_ASSERT(def->group_count > 0);
    fdw_out o = {0};
    fdw_printf(&o, "flow: ");
    fdw_quoted(&o, def->name);
    fdw_printf(&o, "\ndescription: ");
    fdw_quoted(&o, def->description);
    fdw_printf(&o, "\nswap_threshold: %llu\n", (unsigned long long)def->swap_threshold);
    fdw_contexts(&o, def, with_sensitive);
    fdw_group(&o, def, 0);
    if (o.failed) {
        free(o.text);
        *text_out = NULL;
        *len_out = 0;
        return WEIR_E_NOMEM;
    }
    *text_out = o.text;
    *len_out = o.len;
    return 0;
}
