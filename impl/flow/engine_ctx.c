/* The processor context of processor.h (properties, expressions,
 * relationships, state, yield, wake-ups) and NiFi's value formats: data
 * sizes ("10 MB", 1024-based as NiFi's DataUnit) and time periods
 * ("30 sec"). Split from engine.c, which builds and runs the flow.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/engine_internal.h"

/* ---- values: NiFi's data sizes and time periods ---- */

static bool unit_is(const char *u, size_t n, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strlen(names[i]) == n && strncasecmp(u, names[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* "<digits>[.<digits>] <unit>": *num_out, the unit's start and length. */
static int value_split(const char *text, double *num_out, const char **unit_out, size_t *ulen_out)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    const char *start = p;
    double v = 0;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        digits = true;
    }
    if (*p == '.') {
        p++;
        double f = 0.1;
        while (*p >= '0' && *p <= '9') {
            v += f * (*p++ - '0');
            f /= 10;
            digits = true;
        }
    }
    if (!digits || p == start) {
        return WEIR_E_INVAL;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    const char *u = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') {
        p++;
    }
    size_t ulen = (size_t)(p - u);
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p != '\0') {
        return WEIR_E_INVAL;
    }
    *num_out = v;
    *unit_out = u;
    *ulen_out = ulen;
    return 0;
}

/* NiFi data sizes: "10 MB" (1024-based, as NiFi's DataUnit), "512 B", "1024". */
int flow_parse_bytes(const char *text, uint64_t *out)
{
    static const char *const b[] = {"", "b", "byte", "bytes", NULL};
    static const char *const kb[] = {"k", "kb", "kib", NULL};
    static const char *const mb[] = {"m", "mb", "mib", NULL};
    static const char *const gb[] = {"g", "gb", "gib", NULL};
    static const char *const tb[] = {"t", "tb", "tib", NULL};
    double v;
    const char *u;
    size_t n;
    if (value_split(text, &v, &u, &n) != 0) {
        return WEIR_E_INVAL;
    }
    double mul = unit_is(u, n, b)    ? 1.0
                 : unit_is(u, n, kb) ? 1024.0
                 : unit_is(u, n, mb) ? 1048576.0
                 : unit_is(u, n, gb) ? 1073741824.0
                 : unit_is(u, n, tb) ? 1099511627776.0
                                     : -1.0;
    if (mul < 0 || v * mul > 1.8e19) {
        return WEIR_E_INVAL;
    }
    *out = (uint64_t)(v * mul);
    return 0;
}

/* NiFi time periods: "30 sec", "5 mins", "100 ms", "1s", "2 hours". */
int flow_parse_duration(const char *text, int64_t *out)
{
    static const char *const ns[] = {"ns", "nanos", "nanosecond", "nanoseconds", NULL};
    static const char *const us[] = {"us", "micros", "microsecond", "microseconds", NULL};
    static const char *const ms[] = {"ms", "millis", "millisecond", "milliseconds", NULL};
    static const char *const s[] = {"", "s", "sec", "secs", "second", "seconds", NULL};
    static const char *const m[] = {"m", "min", "mins", "minute", "minutes", NULL};
    static const char *const h[] = {"h", "hr", "hrs", "hour", "hours", NULL};
    static const char *const d[] = {"d", "day", "days", NULL};
    double v;
    const char *u;
    size_t n;
    if (value_split(text, &v, &u, &n) != 0) {
        return WEIR_E_INVAL;
    }
    double mul = unit_is(u, n, ns)   ? 1.0
                 : unit_is(u, n, us) ? 1e3
                 : unit_is(u, n, ms) ? 1e6
                 : unit_is(u, n, s)  ? 1e9
                 : unit_is(u, n, m)  ? 60e9
                 : unit_is(u, n, h)  ? 3600e9
                 : unit_is(u, n, d)  ? 86400e9
                                     : -1.0;
    if (mul < 0 || v * mul > 9.2e18) {
        return WEIR_E_INVAL;
    }
    *out = (int64_t)(v * mul);
    return 0;
}

int weir_flow_parse_bytes(const char *text, uint64_t *bytes_out)
{
    return flow_parse_bytes(text, bytes_out);
}

int weir_flow_parse_duration_ns(const char *text, int64_t *ns_out)
{
    return flow_parse_duration(text, ns_out);
}

int flow_parse_int(const char *text, int64_t *out)
{
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (*p == '\0') {
        return WEIR_E_INVAL;
    }
    uint64_t v = 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_C(1) << 62)) {
            return WEIR_E_INVAL;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX) {
        return WEIR_E_INVAL;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int flow_parse_bool(const char *text, bool *out)
{
    if (strcasecmp(text, "true") == 0) {
        *out = true;
    } else if (strcasecmp(text, "false") == 0) {
        *out = false;
    } else {
        return WEIR_E_INVAL;
    }
    return 0;
}

/* ---- the processor context (processor.h) ---- */

const char *weir_flow_ctx_name(const weir_flow_ctx *ctx)
{
    return ctx->name;
}

weir_env *weir_flow_ctx_env(const weir_flow_ctx *ctx)
{
    return ctx->e->env;
}

const weir_flow_prop *weir_flow_ctx_prop(const weir_flow_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->prop_count; i++) {
        if (strcmp(ctx->props[i].name, name) == 0) {
            return &ctx->props[i];
        }
    }
    return NULL;
}

typedef struct ctx_lookup {
    weir_flow_ctx *ctx;
    const weir_flowfile *ff;
} ctx_lookup;

static const char *ctx_attr_lookup(void *arg, const char *name)
{
    ctx_lookup *l = arg;
    if (l->ff == NULL) {
        return NULL;
    }
    char *scratch = l->ctx->scratch[l->ctx->scratch_next++ % FLOW_SCRATCH_COUNT];
    return weir_flowfile_lookup(l->ff, name, scratch, FLOW_SCRATCH_BYTES);
}

int weir_flow_ctx_prop_eval(weir_flow_ctx *ctx, const weir_flow_prop *prop, const weir_flowfile *ff,
                            const char **value_out, size_t *len_out)
{
    *value_out = NULL;
    if (len_out != NULL) {
        *len_out = 0;
    }
    if (prop == NULL || prop->value == NULL) {
        return 0;
    }
    if (!prop->has_expr) {
        *value_out = prop->value;
        if (len_out != NULL) {
            *len_out = strlen(prop->value);
        }
        return 0;
    }
    ctx_lookup l = {ctx, ff};
    struct weir_expr_env env = {.attr = ctx_attr_lookup, .attr_ctx = &l};
    char w[FLOW_WHY_BYTES];
    int rc = weir_expr_eval(prop->compiled, &env, &ctx->evalbuf, w, sizeof w);
    if (rc != 0) {
        snprintf(ctx->fail, sizeof ctx->fail, "property '%s': %s", prop->name, w);
        return rc;
    }
    *value_out = ctx->evalbuf.data;
    if (len_out != NULL) {
        *len_out = ctx->evalbuf.len;
    }
    return 0;
}

int weir_flow_ctx_prop_eval_into(weir_flow_ctx *ctx, const weir_flow_prop *prop,
                                 const weir_flowfile *ff, struct weir_expr_buf *out)
{
    if (prop == NULL || prop->value == NULL) {
        return WEIR_E_NOENT;
    }
    ctx_lookup l = {ctx, ff};
    struct weir_expr_env env = {.attr = ctx_attr_lookup, .attr_ctx = &l};
    char w[FLOW_WHY_BYTES];
    int rc = weir_expr_eval(prop->compiled, &env, out, w, sizeof w);
    if (rc != 0) {
        snprintf(ctx->fail, sizeof ctx->fail, "property '%s': %s", prop->name, w);
    }
    return rc;
}

int weir_flow_ctx_prop_eval_bool(weir_flow_ctx *ctx, const weir_flow_prop *prop,
                                 const weir_flowfile *ff, bool *result_out)
{
    *result_out = false;
    if (prop == NULL || prop->value == NULL) {
        return 0;
    }
    if (!prop->has_expr) {
        *result_out = strcasecmp(prop->value, "true") == 0;
        return 0;
    }
    ctx_lookup l = {ctx, ff};
    struct weir_expr_env env = {.attr = ctx_attr_lookup, .attr_ctx = &l};
    char w[FLOW_WHY_BYTES];
    int rc = weir_expr_eval_bool(prop->compiled, &env, &ctx->evalbuf, result_out, w, sizeof w);
    if (rc != 0) {
        snprintf(ctx->fail, sizeof ctx->fail, "property '%s': %s", prop->name, w);
    }
    return rc;
}

const char *weir_flow_ctx_prop_str(weir_flow_ctx *ctx, const char *name)
{
    const char *v = NULL;
    if (weir_flow_ctx_prop_eval(ctx, weir_flow_ctx_prop(ctx, name), NULL, &v, NULL) != 0) {
        return NULL;
    }
    return v;
}

static int ctx_prop_parsed(weir_flow_ctx *ctx, const char *name, const char **v_out)
{
    *v_out = NULL;
    const weir_flow_prop *p = weir_flow_ctx_prop(ctx, name);
    int rc = weir_flow_ctx_prop_eval(ctx, p, NULL, v_out, NULL);
    if (rc != 0) {
        return rc;
    }
    return 0;
}

int weir_flow_ctx_prop_int(weir_flow_ctx *ctx, const char *name, int64_t *out)
{
    const char *v;
    int rc = ctx_prop_parsed(ctx, name, &v);
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if (flow_parse_int(v, out) != 0) {
        return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not an integer", name, v);
    }
    return 0;
}

int weir_flow_ctx_prop_bytes(weir_flow_ctx *ctx, const char *name, uint64_t *out)
{
    const char *v;
    int rc = ctx_prop_parsed(ctx, name, &v);
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if (flow_parse_bytes(v, out) != 0) {
        return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not a data size", name, v);
    }
    return 0;
}

int weir_flow_ctx_prop_duration_ns(weir_flow_ctx *ctx, const char *name, int64_t *out)
{
    const char *v;
    int rc = ctx_prop_parsed(ctx, name, &v);
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if (flow_parse_duration(v, out) != 0) {
        return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not a time period", name, v);
    }
    return 0;
}

int weir_flow_ctx_prop_bool(weir_flow_ctx *ctx, const char *name, bool *out)
{
    const char *v;
    int rc = ctx_prop_parsed(ctx, name, &v);
    if (rc != 0 || v == NULL) {
        return rc;
    }
    if (flow_parse_bool(v, out) != 0) {
        return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not true or false", name, v);
    }
    return 0;
}

size_t weir_flow_ctx_dyn_count(const weir_flow_ctx *ctx)
{
    return ctx->prop_count - ctx->declared_count;
}

const weir_flow_prop *weir_flow_ctx_dyn(const weir_flow_ctx *ctx, size_t index)
{
    WEIR_ASSERT(index < ctx->prop_count - ctx->declared_count);
    return &ctx->props[ctx->declared_count + index];
}

int weir_flow_ctx_rel(const weir_flow_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->rel_count; i++) {
        if (strcmp(ctx->rels[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

size_t weir_flow_ctx_rel_count(const weir_flow_ctx *ctx)
{
    return ctx->rel_count;
}

const char *weir_flow_ctx_rel_name(const weir_flow_ctx *ctx, int rel_index)
{
    WEIR_ASSERT(rel_index >= 0 && (size_t)rel_index < ctx->rel_count);
    return ctx->rels[rel_index].name;
}

const char *weir_flow_ctx_last_error(const weir_flow_ctx *ctx)
{
    return ctx->fail;
}

size_t weir_flow_ctx_batch_max(const weir_flow_ctx *ctx)
{
    return ctx->e->cfg.batch_max;
}

void *weir_flow_ctx_state(const weir_flow_ctx *ctx)
{
    return ctx->state;
}

void weir_flow_ctx_set_state(weir_flow_ctx *ctx, void *state)
{
    ctx->state = state;
}

bool weir_flow_ctx_abandoning(const weir_flow_ctx *ctx)
{
    return ctx->abandoning;
}

void weir_flow_ctx_yield(weir_flow_ctx *ctx)
{
    ctx->yield_until_ns = weir_now_ns(ctx->e->env) + ctx->yield_ns;
    ctx->stats.yields++;
}

void weir_flow_ctx_task_waiting(weir_flow_ctx *ctx, bool waiting)
{
    weir_flow_session *s = ctx->triggering;
    if (s == NULL || flow_session_waiting(s) == waiting) {
        return;
    }
    flow_session_set_waiting(s, waiting);
    ctx->tasks_waiting += waiting ? 1 : -1;
    WEIR_ASSERT(ctx->tasks_waiting >= 0 && ctx->tasks_waiting <= ctx->tasks_active);
}

void weir_flow_ctx_wake_after(weir_flow_ctx *ctx, int64_t delay_ns)
{
    if (delay_ns < 0) {
        delay_ns = 0;
    }
    int64_t at = weir_now_ns(ctx->e->env) + delay_ns;
    if (ctx->wake_at_ns == 0 || at < ctx->wake_at_ns) {
        ctx->wake_at_ns = at;
    }
    flow_sched_wake_at(ctx, ctx->wake_at_ns);
}

int weir_flow_ctx_fail(weir_flow_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->fail, sizeof ctx->fail, fmt, ap);
    va_end(ap);
    return WEIR_E_INVAL;
}
