/* The flow keys of a scenario's expect: mapping (scenario.h "Flow
 * expectations"), and their checks against the rest of the file: flows
 * and topics named exist, the set_parameter actions a parameter
 * expectation follows exist, and conservation and no loss can be judged at
 * all (provenance that survives the crashes the schedule brings). Names
 * inside flow files are checked by the runner (sim/run/run_flow_load.c).
 */
#include <stdio.h>
#include <string.h>

#include "scenario/scenario_internal.h"

/* The items of a value that is one mapping or a list of them. */
static int scn_items(scn_ctx *ctx, const yaml_node_t *node, size_t max, size_t *count)
{
    if (node->type == YAML_MAPPING_NODE) {
        *count = 1;
        return 0;
    }
    return scn_seq_check(ctx, node, max, count);
}

static yaml_node_t *scn_item(scn_ctx *ctx, const yaml_node_t *node, size_t i, size_t *back)
{
    if (node->type == YAML_MAPPING_NODE) {
        *back = ctx->y.path_len;
        return (yaml_node_t *)node;
    }
    *back = scn_path_index(ctx, i);
    return scn_seq_item(ctx, node, i);
}

/* ---- expectations ---- */

static int scn_expect_queue_max(scn_ctx *ctx, const yaml_node_t *item, void *out)
{
    static const char *const keys[] = {"flow", "connection", "objects"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_flow_queue_max *q = out;
    q->mark = scn_mark(item);
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &q->flow_index);
    }
    if (rc == 0) {
        rc = scn_flow_name_key(ctx, item, "connection", "connection", &q->connection, &q->mark);
    }
    yaml_node_t *v;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "objects", &v);
    }
    return rc == 0 ? scn_opt_int(ctx, item, "objects", 1, INT64_MAX, &q->objects) : rc;
}

static int scn_expect_back_pressure(scn_ctx *ctx, const yaml_node_t *item, void *out)
{
    static const char *const keys[] = {"flow", "processor"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_flow_back_pressure *b = out;
    b->mark = scn_mark(item);
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &b->flow_index);
    }
    return rc == 0 ? scn_flow_name_key(ctx, item, "processor", "processor", &b->processor, &b->mark)
                   : rc;
}

static int scn_expect_counts(scn_ctx *ctx, const yaml_node_t *item, void *out)
{
    static const char *const keys[] = {"flow",    "created", "received", "sent",
                                       "dropped", "expired", "queued"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_flow_counts *c = out;
    *c = (weir_scn_flow_counts){.created = -1,
                                .received = -1,
                                .sent = -1,
                                .dropped = -1,
                                .expired = -1,
                                .queued = -1,
                                .mark = scn_mark(item)};
    int64_t *fields[] = {&c->created, &c->received, &c->sent, &c->dropped, &c->expired, &c->queued};
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &c->flow_index);
    }
    bool any = false;
    for (size_t i = 0; i < 6 && rc == 0; i++) {
        rc = scn_opt_int(ctx, item, keys[i + 1], 0, INT64_MAX, fields[i]);
        any = any || scn_map_get(ctx, item, keys[i + 1]) != NULL;
    }
    if (rc == 0 && !any) {
        rc = scn_fail(ctx, item,
                      "give at least one of created, received, sent, dropped, expired, "
                      "queued");
    }
    return rc;
}

/* The set_parameter actions an expectation follows must exist. */
static int scn_expect_parameter_action(scn_ctx *ctx, const yaml_node_t *item,
                                       const weir_scn_flow_parameter *p)
{
    for (size_t i = 0; i < ctx->sc->action_count; i++) {
        const weir_scn_action *a = &ctx->sc->actions[i];
        if (a->kind == WEIR_SCN_ACT_SET_PARAMETER && a->flow_index == p->flow_index &&
            strcmp(a->name, p->parameter) == 0) {
            return 0;
        }
    }
    return scn_fail_key(ctx, item, "parameter",
                        "no set_parameter action of \"%s\" on flow \"%s\" in actions:",
                        p->parameter, ctx->sc->flows[p->flow_index].name);
}

static int scn_expect_parameter(scn_ctx *ctx, const yaml_node_t *item, void *out)
{
    static const char *const keys[] = {"flow", "parameter", "attribute", "before", "connections"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_flow_parameter *p = out;
    p->mark = scn_mark(item);
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &p->flow_index);
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, item, "parameter", false, &p->parameter);
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, item, "attribute", false, &p->attribute);
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, item, "before", true, &p->before);
    }
    yaml_node_t *v = NULL;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "connections", &v);
    }
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "connections");
    size_t n = 1;
    if (v->type != YAML_SCALAR_NODE) {
        rc = scn_seq_check(ctx, v, WEIR_SCN_FLOW_WATCH_MAX, &n);
    }
    if (rc == 0 && n == 0) {
        rc = scn_fail(ctx, v, "empty: name the connections to watch");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *c = v->type == YAML_SCALAR_NODE ? v : scn_seq_item(ctx, v, i);
        size_t b = v->type == YAML_SCALAR_NODE ? ctx->y.path_len : scn_path_index(ctx, i);
        rc = weir_ydoc_name(&ctx->y, c, WEIR_SCN_FLOW_NAME_MAX, "connection", &p->connections[i]);
        if (rc == 0) {
            p->connection_count++;
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
        rc = scn_expect_parameter_action(ctx, item, p);
    }
    return rc;
}

/* A topic under key of map, written as its name. */
static int scn_topic_key(scn_ctx *ctx, const yaml_node_t *map, const char *key, int *index)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, key, &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, key);
    const char *name;
    rc = scn_scalar(ctx, v, &name);
    if (rc == 0) {
        rc = scn_topic_ref(ctx, v, name, index);
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_expect_delivers(scn_ctx *ctx, const yaml_node_t *item, void *out)
{
    static const char *const keys[] = {"flow", "from", "to", "demarcator"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_flow_delivers *d = out;
    d->mark = scn_mark(item);
    d->demarcator = "";
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &d->flow_index);
    }
    if (rc == 0) {
        rc = scn_topic_key(ctx, item, "from", &d->from_topic);
    }
    if (rc == 0) {
        rc = scn_topic_key(ctx, item, "to", &d->to_topic);
    }
    if (rc == 0 && d->to_topic == d->from_topic) {
        rc = scn_fail_key(ctx, item, "to", "must differ from from:");
    }
    if (rc == 0 && scn_map_get(ctx, item, "demarcator") != NULL) {
        rc = scn_text_key(ctx, item, "demarcator", true, &d->demarcator);
    }
    bool acks_all = false;
    for (size_t i = 0; rc == 0 && i < ctx->sc->producer_count; i++) {
        const weir_scn_producer *p = &ctx->sc->producers[i];
        acks_all = acks_all || (p->topic_index == d->from_topic && p->acks == -1);
    }
    if (rc == 0 && !acks_all) {
        rc = scn_fail_key(ctx, item, "from",
                          "no producer writes topic \"%s\" with acks: all, whose records this "
                          "follows",
                          ctx->sc->topics[d->from_topic].name);
    }
    return rc;
}

/* One flow expectation list: key's value is a mapping or a list of them,
 * each read by parse into an element of elem_size bytes. */
static int scn_expect_list(scn_ctx *ctx, const yaml_node_t *node, const char *key, size_t elem_size,
                           int (*parse)(scn_ctx *, const yaml_node_t *, void *), const void **out,
                           int *count_out)
{
    yaml_node_t *v = scn_map_get(ctx, node, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    size_t n = 0;
    int rc = scn_items(ctx, v, WEIR_SCN_FLOW_CHECKS_MAX, &n);
    if (rc == 0 && ctx->sc->flow_count == 0) {
        rc = scn_fail(ctx, v, "the file declares no flows");
    }
    char *arr = rc == 0 ? scn_alloc(ctx->sc, (n > 0 ? n : 1) * elem_size) : NULL;
    if (rc == 0 && arr == NULL) {
        rc = scn_nomem(ctx);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t b;
        yaml_node_t *item = scn_item(ctx, v, i, &b);
        if (item->type != YAML_MAPPING_NODE) {
            rc = scn_fail(ctx, item, "expected a mapping, got %s", scn_node_kind(item));
        }
        if (rc == 0) {
            rc = parse(ctx, item, arr + i * elem_size);
        }
        if (rc == 0) {
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
        *out = arr;
        *count_out = (int)n;
    }
    return rc;
}

int scn_parse_flow_expect(scn_ctx *ctx, const yaml_node_t *node, weir_scn_expect *e)
{
    int rc = scn_opt_bool(ctx, node, "flow_conserved", &e->flow_conserved);
    if (rc == 0) {
        rc = scn_opt_bool(ctx, node, "flow_no_loss", &e->flow_no_loss);
    }
    if (rc == 0) {
        rc = scn_expect_list(ctx, node, "flow_queue_max", sizeof *e->flow_queue_max,
                             scn_expect_queue_max, (const void **)&e->flow_queue_max,
                             &e->flow_queue_max_count);
    }
    if (rc == 0) {
        rc = scn_expect_list(ctx, node, "flow_back_pressure", sizeof *e->flow_back_pressure,
                             scn_expect_back_pressure, (const void **)&e->flow_back_pressure,
                             &e->flow_back_pressure_count);
    }
    if (rc == 0) {
        rc = scn_expect_list(ctx, node, "flow_counts", sizeof *e->flow_counts, scn_expect_counts,
                             (const void **)&e->flow_counts, &e->flow_counts_count);
    }
    if (rc == 0) {
        rc = scn_expect_list(ctx, node, "flow_parameter", sizeof *e->flow_parameter,
                             scn_expect_parameter, (const void **)&e->flow_parameter,
                             &e->flow_parameter_count);
    }
    if (rc == 0) {
        rc = scn_expect_list(ctx, node, "flow_delivers", sizeof *e->flow_delivers,
                             scn_expect_delivers, (const void **)&e->flow_delivers,
                             &e->flow_delivers_count);
    }
    return rc;
}

/* Whether the host of flow f loses power or shuts down in the schedule. */
static bool scn_flow_host_stops(const weir_scenario *sc, const weir_scn_flow *f)
{
    for (size_t i = 0; i < sc->fault_count; i++) {
        const weir_scn_fault *x = &sc->faults[i];
        if ((x->kind == WEIR_SCN_CRASH || x->kind == WEIR_SCN_CLEAN_SHUTDOWN) &&
            x->a.host_index == f->host_index) {
            return true;
        }
    }
    return false;
}

int scn_flow_expect_check(scn_ctx *ctx, const yaml_node_t *node, const weir_scn_expect *e)
{
    const weir_scenario *sc = ctx->sc;
    if (e->flow_no_loss && sc->flow_count == 0) {
        return scn_fail_key(ctx, node, "flow_no_loss", "the file declares no flows");
    }
    if (!e->flow_conserved) {
        return 0;
    }
    if (sc->flow_count == 0) {
        return scn_fail_key(ctx, node, "flow_conserved", "the file declares no flows");
    }
    /* recounted from the provenance repository: it must hold every event,
     * across the crashes of the schedule too */
    for (size_t i = 0; i < sc->flow_count; i++) {
        const weir_scn_flow *f = &sc->flows[i];
        if (f->provenance == WEIR_SCN_PROV_OFF) {
            return scn_fail_key(ctx, node, "flow_conserved",
                                "flow \"%s\" keeps no provenance (provenance: off), which this "
                                "recounts",
                                f->name);
        }
        if (scn_flow_host_stops(sc, f) &&
            (f->provenance != WEIR_SCN_PROV_REPOSITORY || !f->provenance_sync)) {
            return scn_fail_key(ctx, node, "flow_conserved",
                                "the host of flow \"%s\" stops in faults:, so its provenance must "
                                "survive: repository: true with provenance_sync: true",
                                f->name);
        }
    }
    return 0;
}
