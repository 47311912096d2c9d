/* Parameter contexts: a registry of named contexts, each with its own
 * parameters and an ordered, acyclic list of inherited contexts.
 *
 * Contexts and parameters are held by pointer (arrays of pointers), so a
 * struct weir_param_ctx or struct weir_param handed out stays put while
 * others are added. Cycles are refused when an inheritance list is set, so
 * every walk below terminates; walks still carry a visited set so a diamond
 * (two parents sharing a grandparent) costs linear time.
 */
#include "flow/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "flow/expr.h"

struct weir_param {
    char *name;
    char *value;
    char *description;
    bool sensitive;
};

struct weir_param_ctx {
    struct weir_params *owner;
    char *name;
    size_t index; /* in owner->ctxs */
    struct weir_param **params;
    size_t param_count;
    size_t param_cap;
    struct weir_param_ctx **inherited;
    size_t inherited_count;
    uint64_t stamp; /* owner->version at this context's last own change */
};

struct weir_params {
    struct weir_param_ctx **ctxs;
    size_t ctx_count;
    size_t ctx_cap;
    uint64_t version;
};

static void pm_why(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pm_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || !why_size) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

static char *pm_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n + 1);
    }
    return p;
}

static void pm_touch(struct weir_param_ctx *ctx)
{
    ctx->stamp = ++ctx->owner->version;
}

struct weir_params *weir_params_new(void)
{
    return calloc(1, sizeof(struct weir_params));
}

static void pm_param_free(struct weir_param *p)
{
    if (!p) {
        return;
    }
    free(p->name);
    free(p->value);
    free(p->description);
    free(p);
}

void weir_params_free(struct weir_params *params)
{
    if (!params) {
        return;
    }
    for (size_t k = 0; k < params->ctx_count; k++) {
        struct weir_param_ctx *ctx = params->ctxs[k];
        for (size_t j = 0; j < ctx->param_count; j++) {
            pm_param_free(ctx->params[j]);
        }
        free(ctx->params);
        free(ctx->inherited);
        free(ctx->name);
        free(ctx);
    }
    free(params->ctxs);
    free(params);
}

bool weir_param_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > WEIR_PARAM_NAME_BYTES_MAX) {
        return false;
    }
    for (size_t k = 0; k < len; k++) {
        char c = name[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == ' ' || c == '_' || c == '-' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

int weir_params_add_ctx(struct weir_params *params, const char *name,
                        struct weir_param_ctx **ctx_out, char *why, size_t why_size)
{
    if (ctx_out) {
        *ctx_out = NULL;
    }
    size_t len = strlen(name);
    if (len == 0 || len > WEIR_PARAM_NAME_BYTES_MAX) {
        pm_why(why, why_size, "parameter context name must be 1 to %d bytes, got %zu",
               WEIR_PARAM_NAME_BYTES_MAX, len);
        return WEIR_E_INVAL;
    }
    if (weir_params_find_ctx(params, name)) {
        pm_why(why, why_size, "parameter context '%s' already exists", name);
        return WEIR_E_EXIST;
    }
    if (params->ctx_count == params->ctx_cap) {
        size_t ncap = params->ctx_cap ? params->ctx_cap * 2 : 8;
        void *p = realloc(params->ctxs, ncap * sizeof *params->ctxs);
        if (!p) {
            goto nomem;
        }
        params->ctxs = p;
        params->ctx_cap = ncap;
    }
    struct weir_param_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        goto nomem;
    }
    ctx->name = pm_strdup(name);
    if (!ctx->name) {
        free(ctx);
        goto nomem;
    }
    ctx->owner = params;
    ctx->index = params->ctx_count;
    params->ctxs[params->ctx_count++] = ctx;
    pm_touch(ctx);
    if (ctx_out) {
        *ctx_out = ctx;
    }
    return 0;
nomem:
    pm_why(why, why_size, "out of memory adding parameter context '%s'", name);
    return WEIR_E_NOMEM;
}

struct weir_param_ctx *weir_params_find_ctx(const struct weir_params *params, const char *name)
{
    for (size_t k = 0; k < params->ctx_count; k++) {
        if (strcmp(params->ctxs[k]->name, name) == 0) {
            return params->ctxs[k];
        }
    }
    return NULL;
}

size_t weir_params_ctx_count(const struct weir_params *params)
{
    return params->ctx_count;
}

struct weir_param_ctx *weir_params_ctx_at(const struct weir_params *params, size_t index)
{
    return index < params->ctx_count ? params->ctxs[index] : NULL;
}

uint64_t weir_params_version(const struct weir_params *params)
{
    return params->version;
}

const char *weir_param_ctx_name(const struct weir_param_ctx *ctx)
{
    return ctx->name;
}

static struct weir_param *pm_own(const struct weir_param_ctx *ctx, const char *name,
                                 size_t *index_out)
{
    for (size_t k = 0; k < ctx->param_count; k++) {
        if (strcmp(ctx->params[k]->name, name) == 0) {
            if (index_out) {
                *index_out = k;
            }
            return ctx->params[k];
        }
    }
    return NULL;
}

/* Replaces p's value (and description if given); all or nothing. */
static int pm_update(struct weir_param_ctx *ctx, struct weir_param *p, const char *value,
                     const char *description, char *why, size_t why_size)
{
    char *v = pm_strdup(value);
    char *d = description ? pm_strdup(description) : NULL;
    if (!v || (description && !d)) {
        free(v);
        free(d);
        pm_why(why, why_size, "out of memory setting parameter '%s' in context '%s'", p->name,
               ctx->name);
        return WEIR_E_NOMEM;
    }
    free(p->value);
    p->value = v;
    if (d) {
        free(p->description);
        p->description = d;
    }
    pm_touch(ctx);
    return 0;
}

int weir_param_ctx_set(struct weir_param_ctx *ctx, const char *name, const char *value,
                       bool sensitive, const char *description, char *why, size_t why_size)
{
    size_t len = strlen(name);
    if (!weir_param_name_valid(name, len)) {
        pm_why(why, why_size,
               "bad parameter name '%.*s' in context '%s': 1 to %d bytes of letters, digits, "
               "space, '_', '-', '.'",
               len > 64 ? 64 : (int)len, name, ctx->name, WEIR_PARAM_NAME_BYTES_MAX);
        return WEIR_E_INVAL;
    }
    if (strlen(value) > WEIR_PARAM_VALUE_BYTES_MAX) {
        pm_why(why, why_size, "value of parameter '%s' in context '%s' is longer than %u bytes",
               name, ctx->name, WEIR_PARAM_VALUE_BYTES_MAX);
        return WEIR_E_INVAL;
    }
    struct weir_param *p = pm_own(ctx, name, NULL);
    if (p) {
        if (p->sensitive != sensitive) {
            pm_why(why, why_size, "parameter '%s' in context '%s' is %s; sensitivity cannot change",
                   name, ctx->name, p->sensitive ? "sensitive" : "not sensitive");
            return WEIR_E_INVAL;
        }
        return pm_update(ctx, p, value, description, why, why_size);
    }
    if (ctx->param_count == ctx->param_cap) {
        size_t ncap = ctx->param_cap ? ctx->param_cap * 2 : 8;
        void *arr = realloc(ctx->params, ncap * sizeof *ctx->params);
        if (!arr) {
            goto nomem;
        }
        ctx->params = arr;
        ctx->param_cap = ncap;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        goto nomem;
    }
    p->name = pm_strdup(name);
    p->value = pm_strdup(value);
    p->description = pm_strdup(description ? description : "");
    p->sensitive = sensitive;
    if (!p->name || !p->value || !p->description) {
        pm_param_free(p);
        goto nomem;
    }
    ctx->params[ctx->param_count++] = p;
    pm_touch(ctx);
    return 0;
nomem:
    pm_why(why, why_size, "out of memory adding parameter '%s' to context '%s'", name, ctx->name);
    return WEIR_E_NOMEM;
}

int weir_param_ctx_set_value(struct weir_param_ctx *ctx, const char *name, const char *value,
                             char *why, size_t why_size)
{
    struct weir_param *p = pm_own(ctx, name, NULL);
    if (!p) {
        pm_why(why, why_size, "context '%s' defines no parameter '%s'", ctx->name, name);
        return WEIR_E_NOENT;
    }
    if (strlen(value) > WEIR_PARAM_VALUE_BYTES_MAX) {
        pm_why(why, why_size, "value of parameter '%s' in context '%s' is longer than %u bytes",
               name, ctx->name, WEIR_PARAM_VALUE_BYTES_MAX);
        return WEIR_E_INVAL;
    }
    return pm_update(ctx, p, value, NULL, why, why_size);
}

int weir_param_ctx_remove(struct weir_param_ctx *ctx, const char *name)
{
    size_t k;
    struct weir_param *p = pm_own(ctx, name, &k);
    if (!p) {
        return WEIR_E_NOENT;
    }
    pm_param_free(p);
    memmove(&ctx->params[k], &ctx->params[k + 1], (ctx->param_count - k - 1) * sizeof *ctx->params);
    ctx->param_count--;
    pm_touch(ctx);
    return 0;
}

/* Depth-first search from `from` for `target` along inheritance edges.
 * path[0..*depth) holds the current path; on success it ends with target. */
static bool pm_reaches(const struct weir_param_ctx *from, const struct weir_param_ctx *target,
                       bool *seen, const struct weir_param_ctx **path, size_t *depth)
{
    path[(*depth)++] = from;
    if (from == target) {
        return true;
    }
    if (!seen[from->index]) {
        seen[from->index] = true;
        for (size_t k = 0; k < from->inherited_count; k++) {
            if (pm_reaches(from->inherited[k], target, seen, path, depth)) {
                return true;
            }
        }
    }
    (*depth)--;
    return false;
}

/* "parameter contexts form a cycle: a -> b -> a" from path[0..n). */
static void pm_cycle_why(char *why, size_t why_size, const struct weir_param_ctx *const *path,
                         size_t n)
{
    if (!why || !why_size) {
        return;
    }
    int k = snprintf(why, why_size, "parameter contexts form a cycle: ");
    for (size_t j = 0; j < n && k >= 0 && (size_t)k < why_size; j++) {
        int w = snprintf(why + k, why_size - (size_t)k, "%s%s", j ? " -> " : "", path[j]->name);
        if (w < 0) {
            break;
        }
        k += w;
    }
}

int weir_param_ctx_inherit(struct weir_param_ctx *ctx, const char *const *names, size_t count,
                           char *why, size_t why_size)
{
    struct weir_params *params = ctx->owner;
    if (count > WEIR_PARAM_INHERIT_COUNT_MAX) {
        pm_why(why, why_size, "context '%s' inherits %zu contexts, more than %d", ctx->name, count,
               WEIR_PARAM_INHERIT_COUNT_MAX);
        return WEIR_E_INVAL;
    }
    struct weir_param_ctx **list = NULL;
    bool *seen = NULL;
    const struct weir_param_ctx **path = NULL;
    int rc = WEIR_E_NOMEM;
    if (count) {
        list = malloc(count * sizeof *list);
        seen = malloc(params->ctx_count * sizeof *seen);
        path = malloc((params->ctx_count + 1) * sizeof *path);
        if (!list || !seen || !path) {
            pm_why(why, why_size, "out of memory setting the inheritance of context '%s'",
                   ctx->name);
            goto free_all;
        }
    }
    for (size_t k = 0; k < count; k++) {
        struct weir_param_ctx *parent = weir_params_find_ctx(params, names[k]);
        if (!parent) {
            pm_why(why, why_size, "context '%s' inherits '%s', which does not exist", ctx->name,
                   names[k]);
            rc = WEIR_E_NOENT;
            goto free_all;
        }
        for (size_t j = 0; j < k; j++) {
            if (list[j] == parent) {
                pm_why(why, why_size, "context '%s' inherits '%s' twice", ctx->name, names[k]);
                rc = WEIR_E_INVAL;
                goto free_all;
            }
        }
        /* ctx -> parent -> ... -> ctx would close a cycle */
        memset(seen, 0, params->ctx_count * sizeof *seen);
        size_t depth = 1;
        path[0] = ctx;
        if (pm_reaches(parent, ctx, seen, path, &depth)) {
            pm_cycle_why(why, why_size, path, depth);
            rc = WEIR_E_INVAL;
            goto free_all;
        }
        list[k] = parent;
    }
    free(ctx->inherited);
    ctx->inherited = list;
    ctx->inherited_count = count;
    list = NULL;
    pm_touch(ctx);
    rc = 0;
free_all:
    free(list);
    free(seen);
    free(path);
    return rc;
}

size_t weir_param_ctx_param_count(const struct weir_param_ctx *ctx)
{
    return ctx->param_count;
}

const struct weir_param *weir_param_ctx_param_at(const struct weir_param_ctx *ctx, size_t index)
{
    WEIR_ASSERT(index < ctx->param_count);
    return ctx->params[index];
}

size_t weir_param_ctx_inherited_count(const struct weir_param_ctx *ctx)
{
    return ctx->inherited_count;
}

struct weir_param_ctx *weir_param_ctx_inherited_at(const struct weir_param_ctx *ctx, size_t index)
{
    return index < ctx->inherited_count ? ctx->inherited[index] : NULL;
}

/* Colours: 0 unvisited, 1 on the current path, 2 done. */
static bool pm_find_cycle(const struct weir_param_ctx *c, unsigned char *colour,
                          const struct weir_param_ctx **path, size_t *depth)
{
    path[(*depth)++] = c;
    if (colour[c->index] == 1) {
        return true;
    }
    if (colour[c->index] == 0) {
        colour[c->index] = 1;
        for (size_t k = 0; k < c->inherited_count; k++) {
            if (pm_find_cycle(c->inherited[k], colour, path, depth)) {
                return true;
            }
        }
        colour[c->index] = 2;
    }
    (*depth)--;
    return false;
}

int weir_params_check(const struct weir_params *params, char *why, size_t why_size)
{
    size_t n = params->ctx_count;
    if (n == 0) {
        return 0;
    }
    unsigned char *colour = calloc(n, 1);
    const struct weir_param_ctx **path = malloc((n + 1) * sizeof *path);
    int rc = 0;
    if (!colour || !path) {
        pm_why(why, why_size, "out of memory checking parameter contexts");
        rc = WEIR_E_NOMEM;
        goto free_all;
    }
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t depth = 0;
        if (pm_find_cycle(params->ctxs[k], colour, path, &depth)) {
            /* path ends with a repeat of an earlier entry: print from there */
            size_t start = 0;
            while (path[start] != path[depth - 1]) {
                start++;
            }
            pm_cycle_why(why, why_size, path + start, depth - start);
            rc = WEIR_E_INVAL;
        }
    }
free_all:
    free(colour);
    free(path);
    return rc;
}

/* Own parameters, then each parent in order, depth first. Recursion depth is
 * bounded by the number of contexts (the graph is acyclic). */
static const struct weir_param *pm_find(const struct weir_param_ctx *ctx, const char *name,
                                        const struct weir_param_ctx **owner_out)
{
    const struct weir_param *p = pm_own(ctx, name, NULL);
    if (p) {
        if (owner_out) {
            *owner_out = ctx;
        }
        return p;
    }
    for (size_t k = 0; k < ctx->inherited_count; k++) {
        p = pm_find(ctx->inherited[k], name, owner_out);
        if (p) {
            return p;
        }
    }
    return NULL;
}

const struct weir_param *weir_param_ctx_find(const struct weir_param_ctx *ctx, const char *name,
                                             const struct weir_param_ctx **owner_out)
{
    if (owner_out) {
        *owner_out = NULL;
    }
    return pm_find(ctx, name, owner_out);
}

uint64_t weir_param_ctx_version(const struct weir_param_ctx *ctx)
{
    uint64_t v = ctx->stamp;
    for (size_t k = 0; k < ctx->inherited_count; k++) {
        uint64_t p = weir_param_ctx_version(ctx->inherited[k]);
        if (p > v) {
            v = p;
        }
    }
    return v;
}

const char *weir_param_ctx_lookup(void *ctx, const char *name)
{
    const struct weir_param *p = pm_find(ctx, name, NULL);
    return p ? p->value : NULL;
}

const char *weir_param_name(const struct weir_param *param)
{
    return param->name;
}

const char *weir_param_value(const struct weir_param *param)
{
    return param->value;
}

const char *weir_param_display(const struct weir_param *param)
{
    return param->sensitive ? WEIR_PARAM_MASK : param->value;
}

bool weir_param_sensitive(const struct weir_param *param)
{
    return param->sensitive;
}

const char *weir_param_description(const struct weir_param *param)
{
    return param->description;
}

/* One '#' run at text[i] (the caller saw '#'); *i moves past what it used. */
static int pm_subst_run(const struct weir_param_ctx *ctx, const char *text, size_t *i,
                        struct weir_expr_buf *out, bool *sensitive, char *why, size_t why_size)
{
    static const char hashes[] = "################################";
    size_t at = *i;
    size_t end = at;
    while (text[end] == '#') {
        end++;
    }
    size_t k = end - at;
    const char *close = text[end] == '{' ? strchr(text + end, '}') : NULL;
    if (!close) {
        *i = end;
        return weir_expr_buf_append(out, text + at, k);
    }
    for (size_t left = k / 2; left;) {
        size_t piece = left < sizeof hashes - 1 ? left : sizeof hashes - 1;
        int rc = weir_expr_buf_append(out, hashes, piece);
        if (rc) {
            return rc;
        }
        left -= piece;
    }
    size_t after = (size_t)(close - text) + 1;
    *i = after;
    if (k % 2 == 0) {
        return weir_expr_buf_append(out, text + end, after - end);
    }
    const char *name = text + end + 1;
    size_t len = (size_t)(close - name);
    if (!weir_param_name_valid(name, len)) {
        pm_why(why, why_size, "position %zu: bad parameter name '%.*s'", end,
               len > 64 ? 64 : (int)len, name);
        return WEIR_E_INVAL;
    }
    char buf[WEIR_PARAM_NAME_BYTES_MAX + 1];
    memcpy(buf, name, len);
    buf[len] = '\0';
    const struct weir_param *p = pm_find(ctx, buf, NULL);
    if (!p) {
        pm_why(why, why_size, "position %zu: no parameter '%s' in context '%s'", end, buf,
               ctx->name);
        return WEIR_E_NOENT;
    }
    *sensitive = *sensitive || p->sensitive;
    return weir_expr_buf_append(out, p->value, strlen(p->value));
}

int weir_params_substitute(const struct weir_param_ctx *ctx, const char *text,
                           struct weir_expr_buf *out, bool *sensitive_out, char *why,
                           size_t why_size)
{
    bool sensitive = false;
    int rc = 0;
    out->len = 0;
    if (why && why_size) {
        why[0] = '\0';
    }
    rc = weir_expr_buf_append(out, "", 0);
    size_t i = 0;
    while (rc == 0 && text[i]) {
        const char *hash = strchr(text + i, '#');
        size_t plain = hash ? (size_t)(hash - (text + i)) : strlen(text + i);
        rc = weir_expr_buf_append(out, text + i, plain);
        i += plain;
        if (rc == 0 && hash) {
            rc = pm_subst_run(ctx, text, &i, out, &sensitive, why, why_size);
        }
    }
    if (rc == WEIR_E_NOSPC && why && why_size && !why[0]) {
        pm_why(why, why_size, "substituted value does not fit in the output");
    } else if (rc == WEIR_E_NOMEM && why && why_size && !why[0]) {
        pm_why(why, why_size, "out of memory substituting parameters");
    }
    if (rc) {
        out->len = 0;
        if (out->data && out->cap) {
            out->data[0] = '\0';
        }
    }
    if (sensitive_out) {
        *sensitive_out = rc == 0 && sensitive;
    }
    return rc;
}
