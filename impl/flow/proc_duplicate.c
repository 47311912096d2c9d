/* DuplicateFlowFile: the original and "Number of Copies" clones of it, all
 * to success, in one session (NiFi's DuplicateFlowFile, a load-testing
 * tool; the viral-spike scenario's P2). Clones share the original's content
 * claim; each is a CLONE provenance event. The whole burst is one session:
 * thresholds are soft, so the destination queue may overshoot by all of it
 * (NiFi's semantics); the FlowFiles are held in memory until the commit.
 */
#include <stdlib.h>

#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define DUP_COPIES_MAX 10000000

static const weir_flow_property_desc dup_props[] = {
    {.name = "Number of Copies",
     .description = "clones made of each FlowFile",
     .default_value = "100",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {0},
};

static const weir_flow_relationship_desc dup_rels[] = {
    {.name = "success", .description = "the original and its copies"},
    {0},
};

static int dup_schedule(weir_flow_ctx *ctx)
{
    int64_t n = 0;
    int rc = weir_flow_ctx_prop_int(ctx, "Number of Copies", &n);
    if (rc != 0) {
        return rc;
    }
    if (n < 0 || n > DUP_COPIES_MAX) {
        return weir_flow_ctx_fail(ctx, "Number of Copies must be 0..%d", DUP_COPIES_MAX);
    }
    return 0;
}

static int dup_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    int64_t n = 0;
    if (weir_flow_ctx_prop_int(ctx, "Number of Copies", &n) != 0) {
        return WEIR_E_INVAL;
    }
    weir_flowfile *ff = weir_flow_session_get(s);
    if (ff == NULL) {
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        weir_flowfile *c = weir_flow_session_clone(s, ff);
        if (c == NULL) {
            return WEIR_E_NOMEM;
        }
        weir_flow_session_transfer(s, c, 0);
    }
    weir_flow_session_transfer(s, ff, 0);
    return 0;
}

const weir_flow_processor_type weir_flow_proc_duplicate = {
    .name = "DuplicateFlowFile",
    .description = "Sends a FlowFile and N clones of it to success (load tests).",
    .relationships = dup_rels,
    .properties = dup_props,
    .on_schedule = dup_schedule,
    .on_trigger = dup_trigger,
};
