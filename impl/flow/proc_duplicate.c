/* DuplicateFlowFile: the original and "Number of Copies" clones of it, all
 * to success (NiFi's DuplicateFlowFile, a load-testing tool; the
 * viral-spike scenario's P2). Clones share the original's content claim;
 * each is a CLONE provenance event.
 *
 * By default the whole burst is one session, as in NiFi: thresholds are
 * soft, so the destination queue may overshoot by all of it, and the
 * FlowFiles are held in memory until the commit. With "Copies per Session"
 * set, a trigger makes at most that many copies and sends the original back
 * to its queue with the count made so far in the attribute
 * duplicate.copies.made (in the write-ahead log with it, so a restart
 * resumes where the last commit left off); the trigger that makes the last
 * copies removes the attribute and sends the original to success. Between
 * two sessions back pressure applies as to any processor (the pattern of
 * NIFI-4146's capped splits).
 */
#include <stdio.h>
#include <stdlib.h>

#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define DUP_COPIES_MAX 10000000
#define DUP_MADE_ATTR "duplicate.copies.made"

static const weir_flow_property_desc dup_props[] = {
    {.name = "Number of Copies",
     .description = "clones made of each FlowFile",
     .default_value = "100",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Copies per Session",
     .description = "at most this many clones per trigger; unset: all in one session",
     .kind = WEIR_FLOW_PROP_INT},
    {0},
};

static const weir_flow_relationship_desc dup_rels[] = {
    {.name = "success", .description = "the original and its copies"},
    {0},
};

/* Number of Copies, and Copies per Session (0: all at once). */
static int dup_settings(weir_flow_ctx *ctx, int64_t *copies, int64_t *per_session)
{
    *copies = 0;
    *per_session = 0;
    int rc = weir_flow_ctx_prop_int(ctx, "Number of Copies", copies);
    if (rc == 0) {
        rc = weir_flow_ctx_prop_int(ctx, "Copies per Session", per_session);
    }
    if (rc != 0) {
        return rc;
    }
    if (*copies < 0 || *copies > DUP_COPIES_MAX) {
        return weir_flow_ctx_fail(ctx, "Number of Copies must be 0..%d", DUP_COPIES_MAX);
    }
    if (weir_flow_ctx_prop_str(ctx, "Copies per Session") != NULL &&
        (*per_session < 1 || *per_session > DUP_COPIES_MAX)) {
        return weir_flow_ctx_fail(ctx, "Copies per Session must be 1..%d", DUP_COPIES_MAX);
    }
    return 0;
}

static int dup_schedule(weir_flow_ctx *ctx)
{
    int64_t copies, per_session;
    return dup_settings(ctx, &copies, &per_session);
}

/* The copies already made of ff by earlier sessions (its progress attribute). */
static int64_t dup_made(const weir_flowfile *ff, int64_t copies)
{
    const char *v = weir_flow_session_attr(ff, DUP_MADE_ATTR);
    if (v == NULL) {
        return 0;
    }
    char *end = NULL;
    long long made = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || made < 0 || made > copies) {
        return 0; /* not ours to trust: start over */
    }
    return (int64_t)made;
}

static int dup_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    int64_t copies, per_session;
    if (dup_settings(ctx, &copies, &per_session) != 0) {
        return WEIR_E_INVAL;
    }
    weir_flowfile *ff = weir_flow_session_get(s);
    if (ff == NULL) {
        return 0;
    }
    int64_t made = dup_made(ff, copies);
    int64_t todo = copies - made;
    if (per_session > 0 && todo > per_session) {
        todo = per_session;
    }
    /* the copies must not inherit the original's progress */
    if (weir_flow_session_attr(ff, DUP_MADE_ATTR) != NULL &&
        weir_flow_session_remove_attr(s, ff, DUP_MADE_ATTR) != 0) {
        return WEIR_E_NOMEM;
    }
    for (int64_t i = 0; i < todo; i++) {
        weir_flowfile *c = weir_flow_session_clone(s, ff);
        if (c == NULL) {
            return WEIR_E_NOMEM;
        }
        weir_flow_session_transfer(s, c, 0);
    }
    made += todo;
    if (made < copies) {
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)made);
        if (weir_flow_session_put_attr(s, ff, DUP_MADE_ATTR, text) != 0) {
            return WEIR_E_NOMEM;
        }
        weir_flow_session_transfer_back(s, ff);
        return 0;
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
