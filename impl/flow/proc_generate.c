/* GenerateFlowFile: makes FlowFiles out of nothing (NiFi's
 * GenerateFlowFile), for load and tests.
 *
 * Each trigger creates "Batch Size" FlowFiles with "File Size" bytes of
 * content, or the "Custom Text" (evaluated once per trigger, no FlowFile
 * attributes). Data is random (from the env's seeded PRNG, so the simulator
 * replays it): printable when "Data Format" is Text. Unless "Unique
 * FlowFiles" is true the bytes are made once when the processor starts and
 * written once per trigger; the batch shares that one claim (content is
 * immutable, so sharing is invisible). Dynamic properties become attributes
 * (evaluated per FlowFile). CREATE provenance per FlowFile.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define GEN_BATCH_MAX 100000

typedef struct gen_state {
    int64_t batch;
    uint64_t size;
    bool unique;
    bool text;
    uint8_t *data; /* the shared bytes when not unique */
    const weir_flow_prop *custom;
    const weir_flow_prop *mime;
    weir_flowfile **made; /* one trigger's FlowFiles */
} gen_state;

static const char *const gen_formats[] = {"Text", "Binary", NULL};

static const weir_flow_property_desc gen_props[] = {
    {.name = "File Size",
     .description = "bytes of content per FlowFile",
     .default_value = "0B",
     .required = true,
     .kind = WEIR_FLOW_PROP_BYTES},
    {.name = "Batch Size",
     .description = "FlowFiles per trigger",
     .default_value = "1",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Data Format",
     .description = "Text (printable) or Binary",
     .default_value = "Text",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = gen_formats},
    {.name = "Unique FlowFiles",
     .description = "new random bytes for every FlowFile",
     .default_value = "false",
     .required = true,
     .kind = WEIR_FLOW_PROP_BOOL},
    {.name = "Custom Text", .description = "content instead of random bytes", .expressions = true},
    {.name = "Mime Type", .description = "value of the mime.type attribute"},
    {0},
};

static const weir_flow_relationship_desc gen_rels[] = {
    {.name = "success", .description = "every FlowFile made"},
    {0},
};

static void gen_fill(weir_env *env, uint8_t *p, uint64_t n, bool text)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;:-_!?";
    uint64_t i = 0;
    while (i < n) {
        uint64_t r = weir_random(env);
        for (int k = 0; k < 8 && i < n; k++, i++) {
            uint8_t b = (uint8_t)(r >> (8 * k));
            p[i] = text ? (uint8_t)alphabet[b % (sizeof alphabet - 1)] : b;
        }
    }
}

static void gen_stop(weir_flow_ctx *ctx)
{
    gen_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->data);
        free(st->made);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int gen_schedule(weir_flow_ctx *ctx)
{
    gen_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    int rc = weir_flow_ctx_prop_int(ctx, "Batch Size", &st->batch);
    if (rc == 0) {
        rc = weir_flow_ctx_prop_bytes(ctx, "File Size", &st->size);
    }
    if (rc == 0) {
        rc = weir_flow_ctx_prop_bool(ctx, "Unique FlowFiles", &st->unique);
    }
    if (rc != 0) {
        gen_stop(ctx);
        return rc;
    }
    if (st->batch < 1 || st->batch > GEN_BATCH_MAX) {
        gen_stop(ctx);
        return weir_flow_ctx_fail(ctx, "Batch Size must be 1..%d", GEN_BATCH_MAX);
    }
    if (st->size > (64u << 20)) {
        gen_stop(ctx);
        return weir_flow_ctx_fail(ctx, "File Size above 64 MB is not supported");
    }
    const char *fmt = weir_flow_ctx_prop_str(ctx, "Data Format");
    st->text = fmt != NULL && strcmp(fmt, "Text") == 0;
    st->custom = weir_flow_ctx_prop(ctx, "Custom Text");
    if (st->custom != NULL && st->custom->value == NULL) {
        st->custom = NULL;
    }
    st->mime = weir_flow_ctx_prop(ctx, "Mime Type");
    st->made = calloc((size_t)st->batch, sizeof *st->made);
    if (st->size > 0) {
        st->data = malloc(st->size);
    }
    if (st->made == NULL || (st->size > 0 && st->data == NULL)) {
        gen_stop(ctx);
        return WEIR_E_NOMEM;
    }
    if (st->size > 0) {
        gen_fill(weir_flow_ctx_env(ctx), st->data, st->size, st->text);
    }
    return 0;
}

/* The content every FlowFile of this trigger gets (not unique). */
static int gen_content(weir_flow_session *s, weir_flow_ctx *ctx, gen_state *st, weir_flowfile *ff)
{
    if (st->custom != NULL) {
        const char *v;
        size_t len;
        int rc = weir_flow_ctx_prop_eval(ctx, st->custom, NULL, &v, &len);
        return rc != 0 ? rc : weir_flow_session_write(s, ff, v, len);
    }
    if (st->size == 0) {
        return 0;
    }
    if (st->unique) {
        gen_fill(weir_flow_ctx_env(ctx), st->data, st->size, st->text);
    }
    return weir_flow_session_write(s, ff, st->data, st->size);
}

static int gen_attrs(weir_flow_session *s, weir_flow_ctx *ctx, gen_state *st, weir_flowfile *ff)
{
    int rc = 0;
    if (st->mime != NULL && st->mime->value != NULL) {
        rc = weir_flow_session_put_attr(s, ff, "mime.type", st->mime->value);
    }
    size_t n = weir_flow_ctx_dyn_count(ctx);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const weir_flow_prop *p = weir_flow_ctx_dyn(ctx, i);
        const char *v;
        size_t len;
        rc = weir_flow_ctx_prop_eval(ctx, p, ff, &v, &len);
        if (rc == 0) {
            rc = weir_flow_session_put_attr_n(s, ff, p->name, v, len);
        }
    }
    return rc;
}

static int gen_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    gen_state *st = weir_flow_ctx_state(ctx);
    for (int64_t i = 0; i < st->batch; i++) {
        weir_flowfile *ff = weir_flow_session_create(s);
        if (ff == NULL) {
            return WEIR_E_NOMEM;
        }
        int rc;
        if (i == 0 || st->unique) {
            rc = gen_content(s, ctx, st, ff);
        } else {
            rc = weir_flow_session_copy_content(s, ff, st->made[0]);
        }
        if (rc == 0) {
            rc = gen_attrs(s, ctx, st, ff);
        }
        if (rc != 0) {
            return rc;
        }
        st->made[i] = ff;
        weir_flow_session_transfer(s, ff, 0);
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_generate = {
    .name = "GenerateFlowFile",
    .description = "Creates FlowFiles with random or custom content (load and tests).",
    .relationships = gen_rels,
    .properties = gen_props,
    .dynamic_properties = true,
    .on_schedule = gen_schedule,
    .on_trigger = gen_trigger,
    .on_stop = gen_stop,
};
