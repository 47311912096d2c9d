/* LogAttribute: writes each FlowFile's attributes (and optionally its
 * payload) to the node's log through weir_log (NiFi's LogAttribute).
 *
 * One line per FlowFile: "LogAttribute[NAME] PREFIX uuid=... size=N
 * key=value ...", attributes in insertion order; "Attributes to Log" (a
 * comma-separated list) narrows them. "Log Payload" appends the content
 * (up to 1 KiB, non-printable bytes as '.'). Every FlowFile goes to
 * success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define LOG_LINE_BYTES 4096
#define LOG_PAYLOAD_MAX 1024

typedef struct la_state {
    weir_log_level level;
    bool payload;
    const char *prefix;
    const char *only; /* comma-separated names, or NULL for all */
    size_t batch_max;
    weir_flowfile **batch;
    char line[LOG_LINE_BYTES];
} la_state;

static const char *const la_levels[] = {"trace", "debug", "info", "warn", "error", NULL};

static const weir_flow_property_desc la_props[] = {
    {.name = "Log Level",
     .default_value = "info",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = la_levels},
    {.name = "Log Payload",
     .default_value = "false",
     .required = true,
     .kind = WEIR_FLOW_PROP_BOOL},
    {.name = "Attributes to Log", .description = "comma-separated names; all when unset"},
    {.name = "Log prefix", .description = "text at the start of every line"},
    {0},
};

static const weir_flow_relationship_desc la_rels[] = {
    {.name = "success", .description = "every FlowFile, after it was logged"},
    {0},
};

static void la_stop(weir_flow_ctx *ctx)
{
    la_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->batch);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int la_schedule(weir_flow_ctx *ctx)
{
    la_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    const char *lv = weir_flow_ctx_prop_str(ctx, "Log Level");
    st->level = strcmp(lv, "error") == 0  ? WEIR_LOG_ERROR
                : strcmp(lv, "warn") == 0 ? WEIR_LOG_WARN
                : strcmp(lv, "info") == 0 ? WEIR_LOG_INFO
                                          : WEIR_LOG_DEBUG;
    int rc = weir_flow_ctx_prop_bool(ctx, "Log Payload", &st->payload);
    st->prefix = weir_flow_ctx_prop(ctx, "Log prefix")->value;
    st->only = weir_flow_ctx_prop(ctx, "Attributes to Log")->value;
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc != 0 || st->batch == NULL) {
        la_stop(ctx);
        return rc != 0 ? rc : WEIR_E_NOMEM;
    }
    return 0;
}

/* Whether key is in the comma-separated list (blanks around names ignored). */
static bool la_listed(const char *list, const char *key, size_t key_len)
{
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *start = p;
        while (*p != '\0' && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && end[-1] == ' ') {
            end--;
        }
        if ((size_t)(end - start) == key_len && memcmp(start, key, key_len) == 0) {
            return true;
        }
    }
    return false;
}

static void la_append(char *line, size_t *at, const char *fmt, const char *a, size_t alen,
                      const char *b, size_t blen)
{
    if (*at >= LOG_LINE_BYTES - 1) {
        return;
    }
    int n = snprintf(line + *at, LOG_LINE_BYTES - *at, fmt, (int)alen, a, (int)blen, b);
    if (n > 0) {
        *at += (size_t)n < LOG_LINE_BYTES - *at ? (size_t)n : LOG_LINE_BYTES - 1 - *at;
    }
}

static void la_payload(weir_flow_session *s, la_state *st, const weir_flowfile *ff, size_t *at)
{
    char buf[LOG_PAYLOAD_MAX];
    size_t got = 0;
    if (weir_flow_session_read(s, ff, 0, buf, sizeof buf, &got) != 0) {
        la_append(st->line, at, " payload=<%.*s%.*s>", "unreadable", 10, "", 0);
        return;
    }
    for (size_t i = 0; i < got; i++) {
        if (buf[i] < 0x20 || buf[i] > 0x7e) {
            buf[i] = '.';
        }
    }
    la_append(st->line, at, " payload=\"%.*s%.*s\"", buf, got, ff->size > got ? "..." : "",
              ff->size > got ? 3 : 0);
}

static void la_one(weir_flow_session *s, weir_flow_ctx *ctx, la_state *st, weir_flowfile *ff)
{
    size_t at = 0;
    const char *pre = st->prefix != NULL ? st->prefix : "";
    la_append(st->line, &at, "LogAttribute[%.*s] %.*s", weir_flow_ctx_name(ctx),
              strlen(weir_flow_ctx_name(ctx)), pre, strlen(pre));
    char size[32];
    snprintf(size, sizeof size, "%llu", (unsigned long long)ff->size);
    la_append(st->line, &at, " fileSize=%.*s%.*s", size, strlen(size), "", 0);
    size_t n = weir_flowfile_attr_count(ff);
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kl, vl;
        weir_flowfile_attr_at(ff, i, &k, &kl, &v, &vl);
        if (st->only == NULL || la_listed(st->only, k, kl)) {
            la_append(st->line, &at, " %.*s=%.*s", k, kl, v, vl);
        }
    }
    if (st->payload) {
        la_payload(s, st, ff, &at);
    }
    weir_log(weir_flow_ctx_env(ctx), st->level, "%s", st->line);
}

static int la_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    la_state *st = weir_flow_ctx_state(ctx);
    weir_env *env = weir_flow_ctx_env(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    bool logging = st->level <= env->log_level;
    for (size_t i = 0; i < n; i++) {
        if (logging) {
            la_one(s, ctx, st, st->batch[i]);
        }
        weir_flow_session_transfer(s, st->batch[i], 0);
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_log_attribute = {
    .name = "LogAttribute",
    .description = "Logs each FlowFile's attributes through the node's log.",
    .relationships = la_rels,
    .properties = la_props,
    .on_schedule = la_schedule,
    .on_trigger = la_trigger,
    .on_stop = la_stop,
};
