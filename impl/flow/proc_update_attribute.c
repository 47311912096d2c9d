/* UpdateAttribute: sets attributes from expression values (NiFi's
 * UpdateAttribute, basic usage without rules).
 *
 * Every dynamic property is an attribute to set: its name is the
 * attribute's, its value an expression evaluated against the FlowFile as it
 * came in (all values are evaluated before any is set, as NiFi does). A
 * value that fails to evaluate sends the FlowFile to failure (weir's
 * addition: NiFi would throw and roll back). "uuid" cannot be set.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/expr.h"
#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

typedef struct ua_state {
    size_t count;
    struct weir_expr_buf *bufs; /* one per dynamic property */
    size_t batch_max;
    weir_flowfile **batch;
} ua_state;

static const weir_flow_relationship_desc ua_rels[] = {
    {.name = "success", .description = "FlowFiles whose attributes were set"},
    {.name = "failure",
     .description = "FlowFiles for which a value did not evaluate",
     .optional = true},
    {0},
};

static void ua_stop(weir_flow_ctx *ctx)
{
    ua_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->count; i++) {
        weir_expr_buf_free(&st->bufs[i]);
    }
    free(st->bufs);
    free(st->batch);
    free(st);
    weir_flow_ctx_set_state(ctx, NULL);
}

static int ua_schedule(weir_flow_ctx *ctx)
{
    ua_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    st->count = weir_flow_ctx_dyn_count(ctx);
    st->bufs = calloc(st->count + 1, sizeof *st->bufs);
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (st->bufs == NULL || st->batch == NULL) {
        ua_stop(ctx);
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < st->count; i++) {
        weir_expr_buf_init(&st->bufs[i]);
        if (strcmp(weir_flow_ctx_dyn(ctx, i)->name, "uuid") == 0) {
            ua_stop(ctx);
            return weir_flow_ctx_fail(ctx, "the uuid attribute cannot be changed");
        }
    }
    return 0;
}

static int ua_one(weir_flow_session *s, weir_flow_ctx *ctx, ua_state *st, weir_flowfile *ff)
{
    for (size_t i = 0; i < st->count; i++) {
        int rc = weir_flow_ctx_prop_eval_into(ctx, weir_flow_ctx_dyn(ctx, i), ff, &st->bufs[i]);
        if (rc != 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < st->count; i++) {
        int rc = weir_flow_session_put_attr_n(s, ff, weir_flow_ctx_dyn(ctx, i)->name,
                                              st->bufs[i].data, st->bufs[i].len);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int ua_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    ua_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        weir_flowfile *ff = st->batch[i];
        int rc = ua_one(s, ctx, st, ff);
        if (rc == WEIR_E_NOMEM) {
            return rc;
        }
        if (rc != 0) {
            weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: %s", weir_flow_ctx_name(ctx),
                          weir_flow_ctx_last_error(ctx));
            weir_flow_session_transfer(s, ff, 1);
            continue;
        }
        weir_flow_session_transfer(s, ff, 0);
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_update_attribute = {
    .name = "UpdateAttribute",
    .description = "Sets attributes (dynamic properties) to expression values.",
    .relationships = ua_rels,
    .dynamic_properties = true,
    .on_schedule = ua_schedule,
    .on_trigger = ua_trigger,
    .on_stop = ua_stop,
};
