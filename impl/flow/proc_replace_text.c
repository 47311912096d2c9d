/* ReplaceText: rewrites content (NiFi's ReplaceText, without regular
 * expressions).
 *
 * "Replacement Strategy":
 *   Literal Replace  every occurrence of "Search Value" becomes the
 *                    replacement (an empty search value changes nothing);
 *   Prepend / Append the replacement goes before / after the text;
 *   Always Replace   the text becomes the replacement.
 * "Evaluation Mode" Entire text (the default) or Line-by-Line (the strategy
 * applies to each line, its line ending kept). The replacement is an
 * expression evaluated per FlowFile. Content bigger than "Maximum Buffer
 * Size" (1 MB) goes to failure unchanged; so does a replacement that fails
 * to evaluate. NiFi's default strategy is Regex Replace, which weir does not
 * have: Literal Replace is weir's default.
 */
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

enum { RT_LITERAL, RT_PREPEND, RT_APPEND, RT_ALWAYS };

typedef struct rt_state {
    int strategy;
    bool by_line;
    uint64_t buffer_max;
    const char *search;
    size_t search_len;
    const weir_flow_prop *replacement;
    uint8_t *out;
    size_t out_len;
    size_t out_cap;
    size_t batch_max;
    weir_flowfile **batch;
} rt_state;

static const char *const rt_strategies[] = {"Literal Replace", "Prepend", "Append",
                                            "Always Replace", NULL};
static const char *const rt_modes[] = {"Entire text", "Line-by-Line", NULL};

static const weir_flow_property_desc rt_props[] = {
    {.name = "Replacement Strategy",
     .default_value = "Literal Replace",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = rt_strategies},
    {.name = "Search Value", .description = "literal text to find (Literal Replace)"},
    {.name = "Replacement Value", .default_value = "", .expressions = true},
    {.name = "Evaluation Mode",
     .default_value = "Entire text",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = rt_modes},
    {.name = "Maximum Buffer Size",
     .default_value = "1 MB",
     .required = true,
     .kind = WEIR_FLOW_PROP_BYTES},
    {0},
};

static const weir_flow_relationship_desc rt_rels[] = {
    {.name = "success", .description = "FlowFiles whose content was rewritten"},
    {.name = "failure", .description = "too big, or the replacement did not evaluate"},
    {0},
};

static void rt_stop(weir_flow_ctx *ctx)
{
    rt_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->out);
        free(st->batch);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int rt_schedule(weir_flow_ctx *ctx)
{
    rt_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    const char *strategy = weir_flow_ctx_prop_str(ctx, "Replacement Strategy");
    for (int i = 0; rt_strategies[i] != NULL; i++) {
        if (strcmp(strategy, rt_strategies[i]) == 0) {
            st->strategy = i;
        }
    }
    st->by_line = strcmp(weir_flow_ctx_prop_str(ctx, "Evaluation Mode"), "Line-by-Line") == 0;
    int rc = weir_flow_ctx_prop_bytes(ctx, "Maximum Buffer Size", &st->buffer_max);
    st->search = weir_flow_ctx_prop(ctx, "Search Value")->value;
    st->search_len = st->search != NULL ? strlen(st->search) : 0;
    st->replacement = weir_flow_ctx_prop(ctx, "Replacement Value");
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc != 0 || st->batch == NULL) {
        rt_stop(ctx);
        return rc != 0 ? rc : WEIR_E_NOMEM;
    }
    return 0;
}

static int rt_put(rt_state *st, const void *p, size_t n)
{
    if (weir_grow((void **)&st->out, &st->out_cap, st->out_len + n, 1) != 0) {
        return WEIR_E_NOMEM;
    }
    memcpy(st->out + st->out_len, p, n);
    st->out_len += n;
    return 0;
}

/* Applies the strategy to text[0..n) (one line without its ending, or all). */
static int rt_apply(rt_state *st, const uint8_t *text, size_t n, const char *rep, size_t rep_len)
{
    switch (st->strategy) {
    case RT_PREPEND:
        return rt_put(st, rep, rep_len) != 0 ? WEIR_E_NOMEM : rt_put(st, text, n);
    case RT_APPEND:
        return rt_put(st, text, n) != 0 ? WEIR_E_NOMEM : rt_put(st, rep, rep_len);
    case RT_ALWAYS:
        return rt_put(st, rep, rep_len);
    default:
        break;
    }
    if (st->search_len == 0) {
        return rt_put(st, text, n);
    }
    size_t i = 0, from = 0;
    while (i + st->search_len <= n) {
        if (memcmp(text + i, st->search, st->search_len) == 0) {
            if (rt_put(st, text + from, i - from) != 0 || rt_put(st, rep, rep_len) != 0) {
                return WEIR_E_NOMEM;
            }
            i += st->search_len;
            from = i;
        } else {
            i++;
        }
    }
    return rt_put(st, text + from, n - from);
}

static int rt_rewrite(rt_state *st, const uint8_t *data, size_t len, const char *rep,
                      size_t rep_len)
{
    st->out_len = 0;
    if (!st->by_line) {
        return rt_apply(st, data, len, rep, rep_len);
    }
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && data[end] != '\n') {
            end++;
        }
        size_t body = end;
        if (body > start && data[body - 1] == '\r') {
            body--;
        }
        size_t eol_end = end < len ? end + 1 : end;
        if (rt_apply(st, data + start, body - start, rep, rep_len) != 0 ||
            rt_put(st, data + body, eol_end - body) != 0) {
            return WEIR_E_NOMEM;
        }
        start = eol_end;
    }
    return 0;
}

static int rt_one(weir_flow_session *s, weir_flow_ctx *ctx, rt_state *st, weir_flowfile *ff)
{
    if (ff->size > st->buffer_max) {
        weir_flow_session_transfer(s, ff, 1);
        return 0;
    }
    const char *rep;
    size_t rep_len;
    int rc = weir_flow_ctx_prop_eval(ctx, st->replacement, ff, &rep, &rep_len);
    if (rc != 0) {
        weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: %s", weir_flow_ctx_name(ctx),
                      weir_flow_ctx_last_error(ctx));
        weir_flow_session_transfer(s, ff, 1);
        return 0;
    }
    const uint8_t *data;
    size_t len;
    rc = weir_flow_session_read_all(s, ff, &data, &len);
    if (rc == 0) {
        rc = rt_rewrite(st, data, len, rep != NULL ? rep : "", rep != NULL ? rep_len : 0);
    }
    if (rc == 0) {
        rc = weir_flow_session_write(s, ff, st->out, st->out_len);
    }
    if (rc != 0) {
        return rc;
    }
    weir_flow_session_transfer(s, ff, 0);
    return 0;
}

static int rt_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    rt_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        int rc = rt_one(s, ctx, st, st->batch[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_replace_text = {
    .name = "ReplaceText",
    .description = "Replaces literal text in content, or prepends/appends to it.",
    .relationships = rt_rels,
    .properties = rt_props,
    .on_schedule = rt_schedule,
    .on_trigger = rt_trigger,
    .on_stop = rt_stop,
};
