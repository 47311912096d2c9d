/* RouteOnAttribute: routes FlowFiles by boolean expressions over their
 * attributes (NiFi's RouteOnAttribute).
 *
 * Each dynamic property is a rule: its name, its value an expression that
 * must render "true" (any case) to match. Strategies ("Routing Strategy"):
 *   Route to Property name            a FlowFile goes to the relationship of
 *                                     every matching rule (a CLONE for each
 *                                     after the first), else to unmatched;
 *   Route to 'matched' if all match   matched when every rule matches;
 *   Route to 'matched' if any matches matched when at least one does.
 * A rule that fails to evaluate counts as not matching (and is logged).
 * Every FlowFile gets the attribute "RouteOnAttribute.Route" = the
 * relationship's name and a ROUTE provenance event, as in NiFi.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/expr.h"
#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define ROA_ROUTE_ATTR "RouteOnAttribute.Route"

enum { ROA_BY_NAME, ROA_ALL, ROA_ANY };

typedef struct roa_state {
    int strategy;
    int rel_matched;
    int rel_unmatched;
    size_t rules;
    int *rule_rel; /* relationship of each rule */
    bool *hit;
    size_t batch_max;
    weir_flowfile **batch;
} roa_state;

static const char *const roa_strategies[] = {"Route to Property name",
                                             "Route to 'matched' if all match",
                                             "Route to 'matched' if any matches", NULL};

static const weir_flow_property_desc roa_props[] = {
    {.name = "Routing Strategy",
     .description = "how rules decide the relationship",
     .default_value = "Route to Property name",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = roa_strategies},
    {0},
};

static const weir_flow_relationship_desc roa_rels[] = {
    {.name = "unmatched", .description = "FlowFiles no rule matched"},
    {.name = "matched",
     .description = "FlowFiles that matched (the matched strategies)",
     .optional = true},
    {0},
};

static void roa_stop(weir_flow_ctx *ctx)
{
    roa_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->rule_rel);
        free(st->hit);
        free(st->batch);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int roa_schedule(weir_flow_ctx *ctx)
{
    roa_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    const char *strategy = weir_flow_ctx_prop_str(ctx, "Routing Strategy");
    st->strategy = strcmp(strategy, roa_strategies[0]) == 0   ? ROA_BY_NAME
                   : strcmp(strategy, roa_strategies[1]) == 0 ? ROA_ALL
                                                              : ROA_ANY;
    st->rel_unmatched = weir_flow_ctx_rel(ctx, "unmatched");
    st->rel_matched = weir_flow_ctx_rel(ctx, "matched");
    st->rules = weir_flow_ctx_dyn_count(ctx);
    st->rule_rel = calloc(st->rules + 1, sizeof *st->rule_rel);
    st->hit = calloc(st->rules + 1, sizeof *st->hit);
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (st->rule_rel == NULL || st->hit == NULL || st->batch == NULL) {
        roa_stop(ctx);
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < st->rules; i++) {
        const weir_flow_prop *p = weir_flow_ctx_dyn(ctx, i);
        st->rule_rel[i] = weir_flow_ctx_rel(ctx, p->name);
        if (p->has_expr && weir_expr_result_type(p->compiled) != WEIR_EXPR_BOOLEAN) {
            int rc = weir_flow_ctx_fail(ctx, "rule '%s' is not a boolean expression", p->name);
            roa_stop(ctx);
            return rc;
        }
    }
    if (st->rules == 0) {
        roa_stop(ctx);
        return weir_flow_ctx_fail(ctx, "RouteOnAttribute needs at least one rule");
    }
    return 0;
}

/* Evaluates every rule for ff; returns how many matched. */
static size_t roa_eval(weir_flow_ctx *ctx, roa_state *st, const weir_flowfile *ff)
{
    size_t hits = 0;
    for (size_t i = 0; i < st->rules; i++) {
        bool b = false;
        if (weir_flow_ctx_prop_eval_bool(ctx, weir_flow_ctx_dyn(ctx, i), ff, &b) != 0) {
            weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: %s", weir_flow_ctx_name(ctx),
                          weir_flow_ctx_last_error(ctx));
            b = false;
        }
        st->hit[i] = b;
        hits += b ? 1 : 0;
    }
    return hits;
}

static int roa_send(weir_flow_session *s, weir_flow_ctx *ctx, weir_flowfile *ff, int rel)
{
    const char *name = weir_flow_ctx_rel_name(ctx, rel);
    int rc = weir_flow_session_put_attr(s, ff, ROA_ROUTE_ATTR, name);
    if (rc != 0) {
        return rc;
    }
    weir_flow_session_transfer(s, ff, rel);
    weir_flow_session_route_event(s, ff, NULL);
    return 0;
}

static int roa_one(weir_flow_session *s, weir_flow_ctx *ctx, roa_state *st, weir_flowfile *ff)
{
    size_t hits = roa_eval(ctx, st, ff);
    if (st->strategy == ROA_ALL || st->strategy == ROA_ANY) {
        bool matched = st->strategy == ROA_ALL ? hits == st->rules : hits > 0;
        return roa_send(s, ctx, ff, matched ? st->rel_matched : st->rel_unmatched);
    }
    if (hits == 0) {
        return roa_send(s, ctx, ff, st->rel_unmatched);
    }
    bool first = true;
    weir_flowfile *orig = ff;
    for (size_t i = 0; i < st->rules; i++) {
        if (!st->hit[i]) {
            continue;
        }
        weir_flowfile *out = orig;
        if (!first) {
            out = weir_flow_session_clone(s, orig);
            if (out == NULL) {
                return WEIR_E_NOMEM;
            }
        }
        first = false;
        int rc = roa_send(s, ctx, out, st->rule_rel[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int roa_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    roa_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        int rc = roa_one(s, ctx, st, st->batch[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_route_on_attribute = {
    .name = "RouteOnAttribute",
    .description = "Routes FlowFiles by boolean expressions (dynamic properties).",
    .relationships = roa_rels,
    .properties = roa_props,
    .dynamic_properties = true,
    .dynamic_relationships = true,
    .on_schedule = roa_schedule,
    .on_trigger = roa_trigger,
    .on_stop = roa_stop,
};
