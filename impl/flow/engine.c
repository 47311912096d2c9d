/* The flow engine (engine.h): building a flow, its repositories, recovery,
 * run-time changes, the processor context calls of processor.h, counters.
 * The session is in session.c, the scheduler in scheduler.c.
 */
#include "flow/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow/engine_internal.h"

#define FLOW_BATCH_MAX_DEFAULT 1000
#define FLOW_PUMP_DEFAULT 64
#define FLOW_ADMIN_YIELD_NS (30LL * 1000000000LL)

static void why_set(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t why_size, const char *fmt, ...)
{
    if (why == NULL || why_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

static char *str_dup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* ---- defaults ---- */

void weir_flow_engine_config_default(weir_flow_engine_config *cfg)
{
    *cfg = (weir_flow_engine_config){
        .repo_dir = NULL,
        .provenance = WEIR_FLOW_PROV_MEMORY,
        .wal_sync = true,
        .prov_sync = false,
        .checkpoint_interval_ms = 20000,
        .batch_max = FLOW_BATCH_MAX_DEFAULT,
        .triggers_per_pump = FLOW_PUMP_DEFAULT,
        .admin_yield_ns = FLOW_ADMIN_YIELD_NS,
        .swap_threshold = WEIR_FLOW_SWAP_THRESHOLD_DEFAULT,
    };
}

void weir_flow_proc_spec_default(weir_flow_proc_spec *spec)
{
    *spec = (weir_flow_proc_spec){
        .concurrent_tasks = 1,
        .penalty_ns = WEIR_FLOW_PENALTY_NS_DEFAULT,
        .yield_ns = WEIR_FLOW_YIELD_NS_DEFAULT,
    };
}

void weir_flow_conn_spec_default(weir_flow_conn_spec *spec)
{
    *spec = (weir_flow_conn_spec){
        .object_threshold = WEIR_FLOW_OBJECT_THRESHOLD_DEFAULT,
        .size_threshold_bytes = WEIR_FLOW_SIZE_THRESHOLD_DEFAULT,
    };
}

/* ---- the engine ---- */

weir_flow_engine *weir_flow_engine_new(weir_env *env, const weir_flow_engine_config *cfg, char *why,
                                       size_t why_size)
{
    weir_flow_engine_config c;
    if (cfg == NULL) {
        weir_flow_engine_config_default(&c);
    } else {
        c = *cfg;
    }
    if (c.provenance == WEIR_FLOW_PROV_REPO && c.repo_dir == NULL) {
        why_set(why, why_size, "provenance in a repository needs repo_dir");
        return NULL;
    }
    if (c.batch_max == 0) {
        c.batch_max = FLOW_BATCH_MAX_DEFAULT;
    }
    if (c.triggers_per_pump == 0) {
        c.triggers_per_pump = FLOW_PUMP_DEFAULT;
    }
    if (c.repo_dir != NULL && !weir_path_is_valid(c.repo_dir, false)) {
        why_set(why, why_size, "repository folder '%s' is not a valid node path", c.repo_dir);
        return NULL;
    }
    weir_flow_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        why_set(why, why_size, "out of memory");
        return NULL;
    }
    e->env = env;
    e->cfg = c;
    e->repo_dir = str_dup(c.repo_dir);
    e->cfg.repo_dir = e->repo_dir;
    e->params = weir_params_new();
    e->next_id = 1;
    weir_ffrepo_batch_init(&e->batch);
    if (e->params == NULL || (c.repo_dir != NULL && e->repo_dir == NULL)) {
        why_set(why, why_size, "out of memory");
        free(e->repo_dir);
        weir_params_free(e->params);
        free(e);
        return NULL;
    }
    return e;
}

int weir_flow_engine_register(weir_flow_engine *e, const weir_flow_processor_type *type)
{
    char why[128];
    if (weir_flow_processor_type_check(type, why, sizeof why) != 0) {
        weir_log_error(e->env, "flow: cannot register a processor type: %s", why);
        return WEIR_E_INVAL;
    }
    if (weir_flow_builtin_find(type->name) != NULL) {
        return WEIR_E_EXIST;
    }
    for (size_t i = 0; i < e->extra_count; i++) {
        if (strcmp(e->extra_types[i]->name, type->name) == 0) {
            return WEIR_E_EXIST;
        }
    }
    size_t cap = e->extra_count;
    if (weir_grow((void **)&e->extra_types, &cap, e->extra_count + 1, sizeof *e->extra_types) !=
        0) {
        return WEIR_E_NOMEM;
    }
    e->extra_types[e->extra_count++] = type;
    return 0;
}

static const weir_flow_processor_type *engine_type_find(const weir_flow_engine *e, const char *name)
{
    const weir_flow_processor_type *t = weir_flow_builtin_find(name);
    if (t == NULL && strcmp(name, WEIR_FLOW_PORT_TYPE) == 0) {
        t = &weir_flow_proc_port;
    }
    for (size_t i = 0; t == NULL && i < e->extra_count; i++) {
        if (strcmp(e->extra_types[i]->name, name) == 0) {
            t = e->extra_types[i];
        }
    }
    return t;
}

/* ---- named services ---- */

int weir_flow_engine_service_register(weir_flow_engine *e, const char *name,
                                      const weir_flow_dep *dep)
{
    if (e->started || name == NULL || name[0] == '\0' || dep == NULL || dep->call == NULL) {
        return WEIR_E_INVAL;
    }
    if (weir_flow_engine_service_find(e, name) != NULL) {
        return WEIR_E_EXIST;
    }
    if (weir_grow((void **)&e->services, &e->service_cap, e->service_count + 1,
                  sizeof *e->services) != 0) {
        return WEIR_E_NOMEM;
    }
    char *copy = str_dup(name);
    if (copy == NULL) {
        return WEIR_E_NOMEM;
    }
    e->services[e->service_count++] = (flow_service){copy, *dep};
    return 0;
}

const weir_flow_dep *weir_flow_engine_service_find(const weir_flow_engine *e, const char *name)
{
    for (size_t i = 0; name != NULL && i < e->service_count; i++) {
        if (strcmp(e->services[i].name, name) == 0) {
            return &e->services[i].dep;
        }
    }
    return NULL;
}

void flow_engine_keep(weir_flow_engine *e, void *obj, void (*free_fn)(void *obj, bool abandon))
{
    if (weir_grow((void **)&e->kept, &e->kept_cap, e->kept_count + 1, sizeof *e->kept) != 0) {
        free_fn(obj, e->abandoning);
        return;
    }
    e->kept[e->kept_count++] = (flow_kept){obj, free_fn};
}

/* Frees what stopped processors left (flow_engine_keep), newest first. */
static void engine_kept_free(weir_flow_engine *e, bool abandon)
{
    while (e->kept_count > 0) {
        flow_kept *k = &e->kept[--e->kept_count];
        k->free_fn(k->obj, abandon);
    }
}

struct weir_params *weir_flow_engine_params(weir_flow_engine *e)
{
    return e->params;
}

uint64_t flow_engine_id_next(weir_flow_engine *e)
{
    return e->ffrepo != NULL ? weir_ffrepo_id_next(e->ffrepo) : e->next_id++;
}

weir_env *weir_flow_engine_env(const weir_flow_engine *e)
{
    return e->env;
}

/* Checks a literal value against its descriptor's kind. */
static int prop_kind_check(const weir_flow_property_desc *d, const char *value, char *why,
                           size_t why_size)
{
    int64_t i;
    uint64_t u;
    bool b;
    int rc = 0;
    switch (d->kind) {
    case WEIR_FLOW_PROP_INT:
        rc = flow_parse_int(value, &i);
        break;
    case WEIR_FLOW_PROP_BOOL:
        rc = flow_parse_bool(value, &b);
        break;
    case WEIR_FLOW_PROP_BYTES:
        rc = flow_parse_bytes(value, &u);
        break;
    case WEIR_FLOW_PROP_DURATION:
        rc = flow_parse_duration(value, &i);
        break;
    case WEIR_FLOW_PROP_CHOICE:
        rc = WEIR_E_INVAL;
        for (size_t k = 0; d->choices != NULL && d->choices[k] != NULL; k++) {
            if (strcmp(d->choices[k], value) == 0) {
                rc = 0;
            }
        }
        break;
    default:
        break;
    }
    if (rc != 0) {
        why_set(why, why_size, "property '%s': '%s' is not a valid %s", d->name, value,
                d->kind == WEIR_FLOW_PROP_INT        ? "integer"
                : d->kind == WEIR_FLOW_PROP_BOOL     ? "boolean (true/false)"
                : d->kind == WEIR_FLOW_PROP_BYTES    ? "data size (\"10 MB\")"
                : d->kind == WEIR_FLOW_PROP_DURATION ? "time period (\"30 sec\")"
                                                     : "choice");
    }
    return rc;
}

/* ---- processors: properties ---- */

static const char *raw_value(const weir_flow_ctx *p, const char *name)
{
    for (size_t i = 0; i < p->raw_count; i++) {
        if (strcmp(p->raw[i].name, name) == 0) {
            return p->raw[i].value;
        }
    }
    return NULL;
}

static void props_clear(weir_flow_ctx *p)
{
    for (size_t i = 0; i < p->prop_count; i++) {
        weir_expr_free(p->props[i].compiled);
        free(p->prop_values[i]);
    }
    free(p->props);
    free(p->prop_values);
    p->props = NULL;
    p->prop_values = NULL;
    p->prop_count = 0;
    p->declared_count = 0;
}

/* Resolves one property: parameters substituted, expression compiled. */
static int prop_resolve(weir_flow_ctx *p, weir_flow_prop *prop, char **value_slot,
                        const weir_flow_property_desc *d, const char *raw, char *why,
                        size_t why_size)
{
    prop->value = NULL;
    if (raw == NULL) {
        return 0;
    }
    char w[FLOW_WHY_BYTES];
    const char *text = raw;
    struct weir_expr_buf buf;
    weir_expr_buf_init(&buf);
    if (strstr(raw, "#{") != NULL) {
        if (p->pctx == NULL) {
            why_set(why, why_size,
                    "property '%s' uses a parameter but the processor has no "
                    "parameter context",
                    prop->name);
            return WEIR_E_INVAL;
        }
        int rc = weir_params_substitute(p->pctx, raw, &buf, NULL, w, sizeof w);
        if (rc != 0) {
            why_set(why, why_size, "property '%s': %s", prop->name, w);
            weir_expr_buf_free(&buf);
            return rc;
        }
        text = buf.data;
    }
    struct weir_expr *x = NULL;
    int rc = weir_expr_compile(text, &x, w, sizeof w);
    if (rc != 0) {
        why_set(why, why_size, "property '%s': %s", prop->name, w);
        weir_expr_buf_free(&buf);
        return rc;
    }
    bool literal = weir_expr_is_literal(x);
    *value_slot = str_dup(literal ? weir_expr_literal(x) : text);
    weir_expr_buf_free(&buf);
    if (*value_slot == NULL) {
        weir_expr_free(x);
        return WEIR_E_NOMEM;
    }
    prop->value = *value_slot;
    prop->has_expr = !literal;
    prop->compiled = x;
    if (d != NULL && literal && d->kind != WEIR_FLOW_PROP_STRING) {
        return prop_kind_check(d, prop->value, why, why_size);
    }
    return 0;
}

static size_t type_prop_count(const weir_flow_processor_type *t)
{
    size_t n = 0;
    while (t->properties != NULL && t->properties[n].name != NULL) {
        n++;
    }
    return n;
}

static const weir_flow_property_desc *type_prop(const weir_flow_processor_type *t, const char *name)
{
    for (size_t i = 0; t->properties != NULL && t->properties[i].name != NULL; i++) {
        if (strcmp(t->properties[i].name, name) == 0) {
            return &t->properties[i];
        }
    }
    return NULL;
}

/* Builds props[] from raw[] (again after a parameter change). */
static int props_build(weir_flow_ctx *p, char *why, size_t why_size)
{
    const weir_flow_processor_type *t = p->type;
    size_t declared = type_prop_count(t);
    size_t dynamic = 0;
    for (size_t i = 0; i < p->raw_count; i++) {
        if (type_prop(t, p->raw[i].name) == NULL) {
            if (!t->dynamic_properties) {
                why_set(why, why_size, "%s has no property '%s'", t->name, p->raw[i].name);
                return WEIR_E_INVAL;
            }
            dynamic++;
        }
    }
    props_clear(p);
    size_t n = declared + dynamic;
    p->props = calloc(n + 1, sizeof *p->props);
    p->prop_values = calloc(n + 1, sizeof *p->prop_values);
    if (p->props == NULL || p->prop_values == NULL) {
        return WEIR_E_NOMEM;
    }
    p->prop_count = n;
    p->declared_count = declared;
    for (size_t i = 0; i < declared; i++) {
        const weir_flow_property_desc *d = &t->properties[i];
        p->props[i].name = d->name;
        const char *raw = raw_value(p, d->name);
        if (raw == NULL) {
            raw = d->default_value;
        }
        if (raw == NULL && d->required) {
            why_set(why, why_size, "required property '%s' is not set", d->name);
            return WEIR_E_INVAL;
        }
        int rc = prop_resolve(p, &p->props[i], &p->prop_values[i], d, raw, why, why_size);
        if (rc != 0) {
            return rc;
        }
    }
    size_t k = declared;
    for (size_t i = 0; i < p->raw_count; i++) {
        if (type_prop(t, p->raw[i].name) != NULL) {
            continue;
        }
        p->props[k].name = p->raw[i].name;
        p->props[k].dynamic = true;
        int rc =
            prop_resolve(p, &p->props[k], &p->prop_values[k], NULL, p->raw[i].value, why, why_size);
        if (rc != 0) {
            return rc;
        }
        k++;
    }
    if (p->pctx != NULL) {
        p->pctx_version = weir_param_ctx_version(p->pctx);
    }
    return 0;
}

static int rels_build(weir_flow_ctx *p)
{
    const weir_flow_processor_type *t = p->type;
    size_t declared = 0;
    while (t->relationships != NULL && t->relationships[declared].name != NULL) {
        declared++;
    }
    size_t dynamic = 0;
    if (t->dynamic_relationships) {
        for (size_t i = p->declared_count; i < p->prop_count; i++) {
            dynamic++;
        }
    }
    p->rels = calloc(declared + dynamic + 1, sizeof *p->rels);
    if (p->rels == NULL) {
        return WEIR_E_NOMEM;
    }
    p->rel_count = declared + dynamic;
    for (size_t i = 0; i < declared; i++) {
        p->rels[i].name = str_dup(t->relationships[i].name);
        p->rels[i].optional = t->relationships[i].optional;
        if (p->rels[i].name == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    for (size_t i = 0; i < dynamic; i++) {
        p->rels[declared + i].name = str_dup(p->props[p->declared_count + i].name);
        p->rels[declared + i].optional = true;
        if (p->rels[declared + i].name == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    return 0;
}

static void proc_free(weir_flow_ctx *p)
{
    if (p == NULL) {
        return;
    }
    props_clear(p);
    for (size_t i = 0; i < p->raw_count; i++) {
        free(p->raw[i].name);
        free(p->raw[i].value);
    }
    free(p->raw);
    for (size_t i = 0; i < p->rel_count; i++) {
        free(p->rels[i].name);
        free(p->rels[i].conns);
    }
    free(p->rels);
    for (size_t i = 0; i < p->auto_terminated_count; i++) {
        free(p->auto_terminated[i]);
    }
    free(p->auto_terminated);
    free(p->in);
    weir_expr_buf_free(&p->evalbuf);
    flow_session_free(p->main, true);
    for (size_t i = 0; i < p->open_count; i++) {
        flow_session_free(p->open[i], true);
    }
    free(p->open);
    for (size_t i = 0; i < p->spare_count; i++) {
        flow_session_free(p->spare[i], true);
    }
    free(p->spare);
    free(p->name);
    free(p);
}

int weir_flow_engine_processor_find(const weir_flow_engine *e, const char *name)
{
    for (size_t i = 0; i < e->proc_count; i++) {
        if (strcmp(e->procs[i]->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int weir_flow_engine_add_processor(weir_flow_engine *e, const weir_flow_proc_spec *spec, char *why,
                                   size_t why_size)
{
    if (e->started) {
        why_set(why, why_size, "the flow is running: processors are added before start");
        return WEIR_E_INVAL;
    }
    if (spec->name == NULL || spec->name[0] == '\0' || spec->type == NULL) {
        why_set(why, why_size, "a processor needs a name and a type");
        return WEIR_E_INVAL;
    }
    if (weir_flow_engine_processor_find(e, spec->name) >= 0) {
        why_set(why, why_size, "processor '%s' is defined twice", spec->name);
        return WEIR_E_INVAL;
    }
    const weir_flow_processor_type *t = engine_type_find(e, spec->type);
    if (t == NULL) {
        why_set(why, why_size, "processor '%s': unknown type '%s'", spec->name, spec->type);
        return WEIR_E_INVAL;
    }
    if (spec->concurrent_tasks < 1 || spec->run_schedule_ns < 0 || spec->penalty_ns < 0 ||
        spec->yield_ns < 0) {
        why_set(why, why_size, "processor '%s': concurrent tasks must be >= 1 and durations >= 0",
                spec->name);
        return WEIR_E_INVAL;
    }
    if (weir_grow((void **)&e->procs, &e->proc_cap, e->proc_count + 1, sizeof *e->procs) != 0) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return WEIR_E_NOMEM;
    }
    p->e = e;
    p->type = t;
    p->index = (int)e->proc_count;
    p->name = str_dup(spec->name);
    p->run_schedule_ns = spec->run_schedule_ns;
    p->concurrent_tasks = spec->concurrent_tasks;
    p->penalty_ns = spec->penalty_ns;
    p->yield_ns = spec->yield_ns;
    p->start_stopped = spec->stopped;
    weir_expr_buf_init(&p->evalbuf);
    p->raw = calloc(spec->property_count + 1, sizeof *p->raw);
    p->auto_terminated = calloc(spec->auto_terminated_count + 1, sizeof *p->auto_terminated);
    p->main = flow_session_new(p);
    int rc = WEIR_E_NOMEM;
    if (p->name == NULL || p->raw == NULL || p->auto_terminated == NULL || p->main == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < spec->property_count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(spec->properties[j].name, spec->properties[i].name) == 0) {
                why_set(why, why_size, "processor '%s': property '%s' given twice", spec->name,
                        spec->properties[i].name);
                rc = WEIR_E_INVAL;
                goto fail;
            }
        }
        p->raw[i].name = str_dup(spec->properties[i].name);
        p->raw[i].value =
            str_dup(spec->properties[i].value != NULL ? spec->properties[i].value : "");
        p->raw_count = i + 1;
        if (p->raw[i].name == NULL || p->raw[i].value == NULL) {
            goto fail;
        }
    }
    for (size_t i = 0; i < spec->auto_terminated_count; i++) {
        p->auto_terminated[i] = str_dup(spec->auto_terminated[i]);
        p->auto_terminated_count = i + 1;
        if (p->auto_terminated[i] == NULL) {
            goto fail;
        }
    }
    if (spec->param_context != NULL) {
        p->pctx = weir_params_find_ctx(e->params, spec->param_context);
        if (p->pctx == NULL) {
            why_set(why, why_size, "processor '%s': no parameter context '%s'", spec->name,
                    spec->param_context);
            rc = WEIR_E_INVAL;
            goto fail;
        }
    }
    char w[FLOW_WHY_BYTES];
    rc = props_build(p, w, sizeof w);
    if (rc != 0) {
        why_set(why, why_size, "processor '%s': %s", spec->name, w);
        goto fail;
    }
    rc = rels_build(p);
    if (rc != 0) {
        goto fail;
    }
    for (size_t i = 0; i < p->auto_terminated_count; i++) {
        int r = weir_flow_ctx_rel(p, p->auto_terminated[i]);
        if (r < 0) {
            why_set(why, why_size,
                    "processor '%s': cannot auto-terminate '%s': %s has no such "
                    "relationship",
                    spec->name, p->auto_terminated[i], t->name);
            rc = WEIR_E_INVAL;
            goto fail;
        }
        p->rels[r].auto_terminated = true;
    }
    e->procs[e->proc_count++] = p;
    return 0;
fail:
    if (rc == WEIR_E_NOMEM) {
        why_set(why, why_size, "out of memory");
    }
    proc_free(p);
    return rc;
}

/* ---- connections ---- */

int weir_flow_engine_connection_find(const weir_flow_engine *e, const char *name)
{
    for (size_t i = 0; i < e->conn_count; i++) {
        if (strcmp(e->conns[i]->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void engine_on_expired(void *arg, weir_flowfile *ff);
static int engine_swap_out(void *arg, weir_flowfile *const *ffs, size_t count, uint64_t *loc);
static int engine_swap_in(void *arg, uint64_t loc, weir_flowfile **ffs, size_t count);

static int int_push(int **arr, size_t *count, int v)
{
    size_t cap = *count;
    if (weir_grow((void **)arr, &cap, *count + 1, sizeof **arr) != 0) {
        return WEIR_E_NOMEM;
    }
    (*arr)[(*count)++] = v;
    return 0;
}

int weir_flow_engine_connect(weir_flow_engine *e, const weir_flow_conn_spec *spec, char *why,
                             size_t why_size)
{
    if (e->started) {
        why_set(why, why_size, "the flow is running: connections are added before start");
        return WEIR_E_INVAL;
    }
    int src = spec->source ? weir_flow_engine_processor_find(e, spec->source) : -1;
    int dst = spec->destination ? weir_flow_engine_processor_find(e, spec->destination) : -1;
    if (src < 0 || dst < 0) {
        why_set(why, why_size, "connection %s -> %s: no processor '%s'",
                spec->source ? spec->source : "?", spec->destination ? spec->destination : "?",
                src < 0 ? (spec->source ? spec->source : "?")
                        : (spec->destination ? spec->destination : "?"));
        return WEIR_E_INVAL;
    }
    weir_flow_ctx *ps = e->procs[src];
    char name[2 * WEIR_FLOW_NAME_MAX + 8];
    if (spec->name != NULL) {
        snprintf(name, sizeof name, "%s", spec->name);
    } else {
        snprintf(name, sizeof name, "%s->%s", spec->source, spec->destination);
    }
    if (weir_flow_engine_connection_find(e, name) >= 0) {
        why_set(why, why_size, "connection '%s' is defined twice", name);
        return WEIR_E_INVAL;
    }
    if (spec->relationship_count == 0) {
        why_set(why, why_size, "connection '%s' names no relationship", name);
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < spec->relationship_count; i++) {
        if (weir_flow_ctx_rel(ps, spec->relationships[i]) < 0) {
            why_set(why, why_size, "connection '%s': %s ('%s') has no relationship '%s'", name,
                    ps->name, ps->type->name, spec->relationships[i]);
            return WEIR_E_INVAL;
        }
    }
    weir_flow_queue_config qc;
    weir_flow_queue_config_default(&qc);
    qc.object_threshold = spec->object_threshold;
    qc.size_threshold_bytes = spec->size_threshold_bytes;
    qc.expiration_ns = spec->expiration_ns;
    qc.swap_threshold = spec->swap_threshold != 0 ? spec->swap_threshold : e->cfg.swap_threshold;
    if (qc.swap_batch_count > qc.swap_threshold) {
        qc.swap_batch_count = qc.swap_threshold;
    }
    if (weir_prioritizers_set(&qc.prioritizers, spec->prioritizers, spec->prioritizer_count) != 0) {
        why_set(why, why_size, "connection '%s': bad prioritizer list", name);
        return WEIR_E_INVAL;
    }
    if (weir_grow((void **)&e->conns, &e->conn_cap, e->conn_count + 1, sizeof *e->conns) != 0) {
        return WEIR_E_NOMEM;
    }
    flow_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return WEIR_E_NOMEM;
    }
    c->name = str_dup(name);
    c->index = (uint32_t)e->conn_count;
    c->src = src;
    c->dst = dst;
    c->self_loop = src == dst;
    c->e = e;
    /* without a FlowFile repository there is nowhere to swap to */
    weir_flow_queue_hooks hooks = {.swap_out = e->repo_dir != NULL ? engine_swap_out : NULL,
                                   .swap_in = e->repo_dir != NULL ? engine_swap_in : NULL,
                                   .on_expired = engine_on_expired,
                                   .arg = c};
    int err = 0;
    c->q = weir_flow_queue_new(&qc, &hooks, &err);
    if (c->q == NULL || c->name == NULL) {
        why_set(why, why_size, "connection '%s': %s", name,
                err == WEIR_E_INVAL ? "invalid settings" : "out of memory");
        weir_flow_queue_free(c->q);
        free(c->name);
        free(c);
        return err != 0 ? err : WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < spec->relationship_count; i++) {
        flow_rel *r = &ps->rels[weir_flow_ctx_rel(ps, spec->relationships[i])];
        if (int_push(&r->conns, &r->conn_count, (int)c->index) != 0) {
            return WEIR_E_NOMEM; /* the engine is unusable; freed by the caller */
        }
    }
    weir_flow_ctx *pd = e->procs[dst];
    if (int_push(&pd->in, &pd->in_count, (int)c->index) != 0) {
        return WEIR_E_NOMEM;
    }
    e->conns[e->conn_count++] = c;
    return 0;
}

size_t weir_flow_engine_connection_count(const weir_flow_engine *e)
{
    return e->conn_count;
}

const char *weir_flow_engine_connection_name(const weir_flow_engine *e, size_t index)
{
    WEIR_ASSERT(index < e->conn_count);
    return e->conns[index]->name;
}

weir_flow_queue *weir_flow_engine_queue(const weir_flow_engine *e, size_t index)
{
    WEIR_ASSERT(index < e->conn_count);
    return e->conns[index]->q;
}

/* ---- queue hooks ---- */

static void engine_on_expired(void *arg, weir_flowfile *ff)
{
    flow_conn *c = arg;
    weir_flow_engine *e = c->e;
    if (e->abandoning || weir_grow((void **)&e->expired, &e->expired_cap, e->expired_count + 1,
                                   sizeof *e->expired) != 0) {
        /* no room to remember it: it is gone from the queue all the same */
        e->counters.expired++;
        weir_flowfile_free(ff);
        return;
    }
    e->expired[e->expired_count++] = ff;
}

static void engine_observe_swap(flow_conn *c, uint64_t loc, weir_flowfile *const *ffs, size_t count,
                                bool out)
{
    const weir_flow_observer *o = c->e->cfg.observer;
    if (o != NULL && o->swapped != NULL) {
        o->swapped(o->arg, c->index, loc, ffs, count, out);
    }
}

static int engine_swap_out(void *arg, weir_flowfile *const *ffs, size_t count, uint64_t *loc)
{
    flow_conn *c = arg;
    if (c->e->ffrepo == NULL) {
        return WEIR_E_UNSUPPORTED;
    }
    const weir_flow_observer *o = c->e->cfg.observer;
    if (o != NULL && o->swapping != NULL) {
        o->swapping(o->arg, c->index, weir_ffrepo_next_swap_id(c->e->ffrepo), ffs, count);
    }
    int rc = weir_ffrepo_swap_out(c->e->ffrepo, c->index, ffs, count, loc);
    if (rc == 0) {
        engine_observe_swap(c, *loc, ffs, count, true);
    }
    return rc;
}

static int engine_swap_in(void *arg, uint64_t loc, weir_flowfile **ffs, size_t count)
{
    flow_conn *c = arg;
    if (c->e->ffrepo == NULL) {
        return WEIR_E_UNSUPPORTED;
    }
    int rc = weir_ffrepo_swap_in(c->e->ffrepo, loc, ffs, count);
    if (rc == 0) {
        engine_observe_swap(c, loc, ffs, count, false);
    }
    return rc;
}

void flow_engine_expired_to_batch(weir_flow_engine *e)
{
    for (size_t i = 0; i < e->expired_count; i++) {
        weir_ffrepo_batch_delete(&e->batch, e->expired[i]->id);
    }
}

void flow_engine_observe_end(weir_flow_engine *e, const weir_flowfile *ff, weir_flow_end how)
{
    const weir_flow_observer *o = e->cfg.observer;
    if (o != NULL && o->ended != NULL) {
        o->ended(o->arg, ff, how);
    }
}

void flow_engine_expired_finish(weir_flow_engine *e)
{
    for (size_t i = 0; i < e->expired_count; i++) {
        weir_flowfile *ff = e->expired[i];
        flow_engine_observe_end(e, ff, WEIR_FLOW_END_EXPIRED);
        if (e->prov != NULL) {
            int err = weir_prov_record_ff(e->prov, WEIR_PROV_EXPIRE, ff, "flow", NULL,
                                          "FlowFile expiration");
            if (err != 0) {
                weir_log_warn(e->env, "flow: provenance event lost: %s", weir_err_str(err));
            }
        }
        e->counters.expired++;
        weir_flowfile_free(ff);
    }
    e->expired_count = 0;
}

int flow_engine_expired_flush(weir_flow_engine *e)
{
    if (e->expired_count == 0 || e->group_count > 0 || e->group_flushing) {
        return 0; /* a group's flush records them */
    }
    if (e->ffrepo != NULL) {
        weir_ffrepo_batch_reset(&e->batch);
        flow_engine_expired_to_batch(e);
        int err = weir_ffrepo_commit(e->ffrepo, &e->batch);
        if (err != 0) {
            return err; /* kept for the next commit */
        }
    }
    flow_engine_expired_finish(e);
    return 0;
}

/* ---- offering ---- */

int flow_conn_pend(weir_flow_engine *e, flow_conn *c, weir_flowfile *ff)
{
    if (weir_grow((void **)&c->pending, &c->pending_cap, c->pending_count + 1,
                  sizeof *c->pending) != 0) {
        return WEIR_E_NOMEM;
    }
    if (!c->touched) {
        if (weir_grow((void **)&e->touched, &e->touched_cap, e->touched_count + 1,
                      sizeof *e->touched) != 0) {
            return WEIR_E_NOMEM;
        }
        e->touched[e->touched_count++] = c;
        c->touched = true;
    }
    c->pending[c->pending_count++] = ff;
    return 0;
}

void flow_engine_offer_pending(weir_flow_engine *e)
{
    int64_t now = weir_now_ns(e->env);
    const weir_flow_observer *o = e->cfg.observer;
    for (size_t t = 0; t < e->touched_count; t++) {
        flow_conn *c = e->touched[t];
        if (o != NULL && o->queued != NULL) {
            /* before the offer: it may swap them out (and free them) at once */
            o->queued(o->arg, c->index, c->pending, c->pending_count);
        }
        /* One at a time: an offer that swaps out waits for an fsync, and a
         * crash during that wait must find each FlowFile in exactly one
         * place, the queue (which counts it as soon as it is offered) or
         * pending[offer_next..) (counted as queued, freed by the abandon). */
        c->offering = true;
        for (size_t k = 0; k < c->pending_count; k++) {
            c->offer_next = k + 1;
            int err = weir_flow_queue_offer(c->q, c->pending[k], now);
            /* the log holds them: a FlowFile that cannot be queued now would be lost */
            WEIR_ASSERT(err == 0);
        }
        c->offering = false;
        c->offer_next = 0;
        c->pending_count = 0;
        c->touched = false;
        flow_sched_wake(e->procs[c->dst]);
    }
    e->touched_count = 0;
}

/* ---- loading a definition ---- */

static int load_contexts(weir_flow_engine *e, const weir_flow_def *def, char *why, size_t why_size)
{
    char w[FLOW_WHY_BYTES];
    for (size_t i = 0; i < def->context_count; i++) {
        const weir_flow_context *c = &def->contexts[i];
        struct weir_param_ctx *pc = NULL;
        int rc = weir_params_add_ctx(e->params, c->name, &pc, w, sizeof w);
        for (size_t k = 0; rc == 0 && k < c->param_count; k++) {
            const weir_flow_param *pa = &c->params[k];
            rc = weir_param_ctx_set(pc, pa->name, pa->value, pa->sensitive, pa->description, w,
                                    sizeof w);
        }
        if (rc != 0) {
            why_set(why, why_size, "parameter context '%s': %s", c->name, w);
            return rc;
        }
    }
    for (size_t i = 0; i < def->context_count; i++) {
        const weir_flow_context *c = &def->contexts[i];
        if (c->inherit_count == 0) {
            continue;
        }
        const char *names[WEIR_FLOW_INHERITS_MAX];
        for (size_t k = 0; k < c->inherit_count && k < WEIR_FLOW_INHERITS_MAX; k++) {
            names[k] = def->contexts[c->inherits[k]].name;
        }
        struct weir_param_ctx *pc = weir_params_find_ctx(e->params, c->name);
        int rc = weir_param_ctx_inherit(pc, names, c->inherit_count, w, sizeof w);
        if (rc != 0) {
            why_set(why, why_size, "%s", w);
            return rc;
        }
    }
    return 0;
}

static int load_processor(weir_flow_engine *e, const weir_flow_def *def, size_t i, char *why,
                          size_t why_size)
{
    const weir_flow_processor *dp = &def->processors[i];
    weir_flow_kv *kv = calloc(dp->property_count + 1, sizeof *kv);
    if (kv == NULL) {
        return WEIR_E_NOMEM;
    }
    for (size_t k = 0; k < dp->property_count; k++) {
        kv[k] = (weir_flow_kv){dp->properties[k].name, dp->properties[k].value};
    }
    int ctx_index = def->groups[dp->group_index].context_index;
    weir_flow_proc_spec spec = {
        .name = dp->name,
        .type = dp->type,
        .properties = kv,
        .property_count = dp->property_count,
        .run_schedule_ns = dp->run_schedule_ns,
        .concurrent_tasks = dp->concurrent_tasks,
        .penalty_ns = dp->penalty_ns,
        .yield_ns = dp->yield_ns,
        .auto_terminated = dp->auto_terminated,
        .auto_terminated_count = dp->auto_terminated_count,
        .stopped = dp->state == WEIR_FLOW_STOPPED,
        .param_context = ctx_index >= 0 ? def->contexts[ctx_index].name : NULL,
    };
    char w[FLOW_WHY_BYTES];
    int rc = weir_flow_engine_add_processor(e, &spec, w, sizeof w);
    free(kv);
    if (rc != 0) {
        why_set(why, why_size, "line %d: %s", dp->mark.line, w);
    } else {
        e->procs[e->proc_count - 1]->def_line = dp->mark.line;
    }
    return rc;
}

static const char *const port_out_rel[] = {WEIR_FLOW_PORT_RELATIONSHIP};

int weir_flow_engine_load_def(weir_flow_engine *e, const weir_flow_def *def, char *why,
                              size_t why_size)
{
    if (e->started || e->proc_count != 0) {
        why_set(why, why_size, "a definition is loaded into a new engine only");
        return WEIR_E_INVAL;
    }
    int rc = load_contexts(e, def, why, why_size);
    for (size_t i = 0; rc == 0 && i < def->processor_count; i++) {
        rc = load_processor(e, def, i, why, why_size);
    }
    for (size_t i = 0; rc == 0 && i < def->port_count; i++) {
        const weir_flow_port *port = &def->ports[i];
        weir_flow_proc_spec spec;
        weir_flow_proc_spec_default(&spec);
        spec.name = port->name;
        spec.type = WEIR_FLOW_PORT_TYPE;
        rc = weir_flow_engine_add_processor(e, &spec, why, why_size);
        if (rc == 0) {
            e->procs[e->proc_count - 1]->def_line = port->mark.line;
        }
    }
    for (size_t i = 0; rc == 0 && i < def->connection_count; i++) {
        const weir_flow_connection *dc = &def->connections[i];
        weir_flow_conn_spec spec = {
            .name = dc->name,
            .source = weir_flow_def_endpoint_name(def, dc->source),
            .destination = weir_flow_def_endpoint_name(def, dc->destination),
            .relationships =
                dc->source.kind == WEIR_FLOW_EP_PORT ? port_out_rel : dc->relationships,
            .relationship_count = dc->source.kind == WEIR_FLOW_EP_PORT ? 1 : dc->relationship_count,
            .object_threshold = dc->object_threshold,
            .size_threshold_bytes = dc->size_threshold_bytes,
            .expiration_ns = dc->expiration_ns,
            .prioritizer_count = dc->prioritizer_count,
            .swap_threshold = dc->swap_threshold != 0 ? dc->swap_threshold : def->swap_threshold,
        };
        memcpy(spec.prioritizers, dc->prioritizers, sizeof spec.prioritizers);
        char w[FLOW_WHY_BYTES];
        rc = weir_flow_engine_connect(e, &spec, w, sizeof w);
        if (rc != 0) {
            why_set(why, why_size, "line %d: %s", dc->mark.line, w);
        }
    }
    return rc;
}

/* ---- start, recovery ---- */

static int engine_check_flow(weir_flow_engine *e, char *why, size_t why_size)
{
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        for (size_t r = 0; r < p->rel_count; r++) {
            flow_rel *rel = &p->rels[r];
            if (rel->conn_count == 0 && !rel->auto_terminated && !rel->optional) {
                char line[24] = "";
                if (p->def_line > 0) {
                    snprintf(line, sizeof line, "line %d: ", p->def_line);
                }
                why_set(why, why_size,
                        "%sprocessor '%s': relationship '%s' is neither connected nor "
                        "auto-terminated",
                        line, p->name, rel->name);
                return WEIR_E_INVAL;
            }
        }
    }
    return 0;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s != NULL) {
        snprintf(s, n, "%s/%s", a, b);
    }
    return s;
}

static int engine_recover(weir_flow_engine *e, weir_ffrepo_recovered *rec, char *why,
                          size_t why_size)
{
    const weir_flow_observer *o = e->cfg.observer;
    for (size_t i = 0; i < rec->swap_count; i++) {
        const weir_ffrepo_swap_info *sw = &rec->swaps[i];
        if (sw->queue_id >= e->conn_count) {
            why_set(why, why_size,
                    "the FlowFile repository has a swap file of queue %u, which "
                    "this flow does not have (the flow changed?)",
                    sw->queue_id);
            return WEIR_E_CORRUPT;
        }
        int rc = weir_flow_queue_restore_swapped(e->conns[sw->queue_id]->q, sw->swap_id, sw->count,
                                                 sw->bytes);
        if (rc != 0) {
            why_set(why, why_size, "cannot restore a swap file: %s", weir_err_str(rc));
            return rc;
        }
        e->counters.recovered += sw->count;
        if (o != NULL && o->recovered_swap != NULL) {
            o->recovered_swap(o->arg, sw->queue_id, sw->swap_id, sw->count, sw->bytes);
        }
    }
    for (size_t i = 0; i < rec->count; i++) {
        weir_ffrepo_entry *en = &rec->entries[i];
        if (en->queue_id >= e->conn_count) {
            why_set(why, why_size,
                    "the FlowFile repository has FlowFiles in queue %u, which this "
                    "flow does not have (the flow changed?)",
                    en->queue_id);
            return WEIR_E_CORRUPT;
        }
        if (o != NULL && o->recovered != NULL) {
            o->recovered(o->arg, en->queue_id, en->ff); /* before the queue may swap it out */
        }
        int rc = weir_flow_queue_restore(e->conns[en->queue_id]->q, en->ff);
        if (rc != 0) {
            why_set(why, why_size, "cannot restore a FlowFile: %s", weir_err_str(rc));
            return rc;
        }
        en->ff = NULL;
        e->counters.recovered++;
    }
    return 0;
}

static int engine_open_repos(weir_flow_engine *e, char *why, size_t why_size)
{
    weir_content_repo_config cc;
    weir_content_repo_config_default(&cc);
    char *content_dir = NULL, *ff_dir = NULL, *prov_dir = NULL;
    int rc = WEIR_E_NOMEM;
    if (e->repo_dir != NULL) {
        content_dir = path_join(e->repo_dir, "content");
        ff_dir = path_join(e->repo_dir, "flowfile");
        prov_dir = path_join(e->repo_dir, "provenance");
        if (content_dir == NULL || ff_dir == NULL || prov_dir == NULL) {
            goto out;
        }
        rc = weir_fs_mkdirs(e->env, e->repo_dir);
        if (rc != 0) {
            why_set(why, why_size, "cannot make %s: %s", e->repo_dir, weir_err_str(rc));
            goto out;
        }
        cc.sync = e->cfg.wal_sync;
    }
    rc = weir_content_repo_open(e->env, content_dir, &cc, &e->content, why, why_size);
    if (rc != 0) {
        goto out;
    }
    if (e->repo_dir != NULL) {
        weir_ffrepo_config fc;
        weir_ffrepo_config_default(&fc);
        fc.sync = e->cfg.wal_sync;
        fc.checkpoint_interval_ms = e->cfg.checkpoint_interval_ms;
        weir_ffrepo_recovered rec;
        memset(&rec, 0, sizeof rec);
        rc = weir_ffrepo_open(e->env, ff_dir, &fc, e->content, &rec, &e->ffrepo, why, why_size);
        if (rc != 0) {
            goto out;
        }
        rc = engine_recover(e, &rec, why, why_size);
        if (rec.count + rec.swap_count > 0) {
            weir_log_info(e->env, "flow: recovered %zu FlowFiles and %zu swap files%s", rec.count,
                          rec.swap_count, rec.cut ? " (a torn log tail was cut)" : "");
        }
        weir_ffrepo_recovered_free(&rec);
        if (rc != 0) {
            goto out;
        }
    }
    if (e->cfg.provenance != WEIR_FLOW_PROV_OFF) {
        weir_prov_config pc;
        weir_prov_config_default(&pc);
        pc.sync = e->cfg.prov_sync;
        const char *dir = e->cfg.provenance == WEIR_FLOW_PROV_REPO ? prov_dir : NULL;
        rc = weir_prov_open(e->env, dir, &pc, NULL, &e->prov, why, why_size);
        if (rc != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    free(content_dir);
    free(ff_dir);
    free(prov_dir);
    return rc;
}

/* Calls on_schedule and makes the processor schedulable. */
static int proc_schedule(weir_flow_ctx *p, char *why, size_t why_size)
{
    if (p->running) {
        return 0;
    }
    p->fail[0] = '\0';
    if (p->type->on_schedule != NULL) {
        int rc = p->type->on_schedule(p);
        if (rc != 0) {
            why_set(why, why_size, "processor '%s' (%s) cannot start: %s", p->name, p->type->name,
                    p->fail[0] != '\0' ? p->fail : weir_err_str(rc));
            return rc;
        }
    }
    p->running = true;
    p->stats.running = true;
    p->yield_until_ns = 0;
    p->next_run_ns = 0;
    p->period_triggers = 0;
    flow_sched_wake(p);
    return 0;
}

/* Stops p: no more triggers; on_stop; its open sessions rolled back. */
static void proc_unschedule(weir_flow_ctx *p)
{
    if (!p->running) {
        return;
    }
    if (p->staged > 0) {
        /* its main session waits in the commit group: let it land first */
        weir_ignore(flow_group_flush(p->e, NULL));
    }
    p->running = false;
    p->stats.running = false;
    flow_sched_stop_proc(p);
    if (p->type->on_stop != NULL) {
        p->type->on_stop(p);
    }
    p->state = NULL;
    while (p->open_count > 0) {
        weir_flow_session_close(p->open[p->open_count - 1]);
    }
    p->tasks_active = 0;
    p->tasks_waiting = 0; /* its sessions were closed above */
    p->stats.tasks_active = 0;
}

int weir_flow_engine_start(weir_flow_engine *e, char *why, size_t why_size)
{
    if (e->started) {
        return 0;
    }
    int rc = engine_check_flow(e, why, why_size);
    if (rc != 0) {
        return rc;
    }
    rc = engine_open_repos(e, why, why_size);
    if (rc != 0) {
        return rc;
    }
    e->started = true;
    flow_sched_start(e);
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        if (p->start_stopped) {
            continue;
        }
        rc = proc_schedule(p, why, why_size);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- shutdown, free, abandon ---- */

static void engine_free_memory(weir_flow_engine *e)
{
    for (size_t i = 0; i < e->proc_count; i++) {
        proc_free(e->procs[i]);
    }
    free(e->procs);
    for (size_t i = 0; i < e->conn_count; i++) {
        flow_conn *c = e->conns[i];
        for (size_t k = c->offering ? c->offer_next : 0; k < c->pending_count; k++) {
            weir_flowfile_free(c->pending[k]);
        }
        free(c->pending);
        weir_flow_queue_free(c->q);
        free(c->name);
        free(c);
    }
    free(e->conns);
    for (size_t i = 0; i < e->expired_count; i++) {
        weir_flowfile_free(e->expired[i]);
    }
    free(e->expired);
    free(e->extra_types);
    free(e->ready);
    free(e->touched);
    free(e->group);
    free(e->uuids);
    engine_kept_free(e, true); /* after a shutdown there is nothing left */
    free(e->kept);
    for (size_t i = 0; i < e->service_count; i++) {
        free(e->services[i].name);
    }
    free(e->services);
    weir_ffrepo_batch_free(&e->batch);
    weir_params_free(e->params);
    free(e->repo_dir);
}

int weir_flow_engine_shutdown(weir_flow_engine *e)
{
    if (!e->started || e->shut) {
        return 0;
    }
    if (e->group_count > 0) {
        weir_ignore(flow_group_flush(e, NULL)); /* only when called from a trigger */
    }
    for (size_t i = 0; i < e->proc_count; i++) {
        proc_unschedule(e->procs[i]);
    }
    engine_kept_free(e, false);
    flow_sched_abandon(e);
    int rc = flow_engine_expired_flush(e);
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    e->queued_final = c.queued;
    if (e->ffrepo != NULL) {
        int r = weir_ffrepo_checkpoint(e->ffrepo);
        rc = rc != 0 ? rc : r;
    }
    /* queued FlowFiles hold content references: free them before the repository */
    for (size_t i = 0; i < e->conn_count; i++) {
        weir_flow_queue_free(e->conns[i]->q);
        e->conns[i]->q = NULL;
    }
    if (e->ffrepo != NULL) {
        int r = weir_ffrepo_close(e->ffrepo);
        rc = rc != 0 ? rc : r;
        e->ffrepo = NULL;
    }
    if (e->prov != NULL) {
        int r = weir_prov_close(e->prov);
        rc = rc != 0 ? rc : r;
        e->prov = NULL;
    }
    if (e->content != NULL) {
        int r = weir_content_repo_close(e->content);
        rc = rc != 0 ? rc : r;
        e->content = NULL;
    }
    e->shut = true;
    return rc;
}

void weir_flow_engine_free(weir_flow_engine *e)
{
    if (e == NULL) {
        return;
    }
    weir_ignore(weir_flow_engine_shutdown(e));
    engine_free_memory(e);
    free(e);
}

void weir_flow_engine_abandon(weir_flow_engine *e)
{
    if (e == NULL) {
        return;
    }
    e->abandoning = true;
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        p->abandoning = true;
        if (p->running && p->type->on_stop != NULL) {
            p->type->on_stop(p);
        }
        p->running = false;
        p->timer = NULL; /* torn down by the backend */
    }
    e->pump = NULL;
    flow_group_abandon(e);
    /* FlowFiles first (they hold content references), then the repositories */
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        flow_session_free(p->main, true);
        p->main = NULL;
        for (size_t k = 0; k < p->open_count; k++) {
            flow_session_free(p->open[k], true);
        }
        p->open_count = 0;
    }
    for (size_t i = 0; i < e->conn_count; i++) {
        flow_conn *c = e->conns[i];
        for (size_t k = c->offering ? c->offer_next : 0; k < c->pending_count; k++) {
            weir_flowfile_free(c->pending[k]); /* not offered yet: not the queue's */
        }
        c->pending_count = 0;
        weir_flow_queue_free(c->q);
        c->q = NULL;
    }
    for (size_t i = 0; i < e->expired_count; i++) {
        weir_flowfile_free(e->expired[i]);
    }
    e->expired_count = 0;
    if (e->ffrepo != NULL) {
        weir_ffrepo_abandon(e->ffrepo);
    }
    if (e->prov != NULL) {
        weir_prov_abandon(e->prov);
    }
    if (e->content != NULL) {
        weir_content_repo_abandon(e->content);
    }
    e->ffrepo = NULL;
    e->prov = NULL;
    e->content = NULL;
    e->shut = true;
    engine_free_memory(e);
    free(e);
}

/* ---- run-time management ---- */

int weir_flow_engine_processor_start(weir_flow_engine *e, const char *name, char *why,
                                     size_t why_size)
{
    int i = weir_flow_engine_processor_find(e, name);
    if (i < 0) {
        why_set(why, why_size, "no processor '%s'", name);
        return WEIR_E_NOENT;
    }
    if (!e->started || e->shut) {
        e->procs[i]->start_stopped = false;
        return 0;
    }
    return proc_schedule(e->procs[i], why, why_size);
}

int weir_flow_engine_processor_stop(weir_flow_engine *e, const char *name)
{
    int i = weir_flow_engine_processor_find(e, name);
    if (i < 0) {
        return WEIR_E_NOENT;
    }
    if (!e->started || e->shut) {
        e->procs[i]->start_stopped = true;
        return 0;
    }
    proc_unschedule(e->procs[i]);
    return 0;
}

static flow_conn *conn_by_name(weir_flow_engine *e, const char *name)
{
    int i = weir_flow_engine_connection_find(e, name);
    return i < 0 || e->conns[i]->q == NULL ? NULL : e->conns[i];
}

int weir_flow_engine_set_threshold(weir_flow_engine *e, const char *connection,
                                   uint64_t object_threshold, uint64_t size_threshold_bytes)
{
    flow_conn *c = conn_by_name(e, connection);
    if (c == NULL) {
        return WEIR_E_NOENT;
    }
    weir_flow_queue_set_thresholds(c->q, object_threshold, size_threshold_bytes);
    flow_sched_wake(e->procs[c->src]);
    return 0;
}

int weir_flow_engine_set_prioritizers(weir_flow_engine *e, const char *connection,
                                      const weir_flow_prioritizer *kinds, size_t count)
{
    flow_conn *c = conn_by_name(e, connection);
    if (c == NULL) {
        return WEIR_E_NOENT;
    }
    weir_prioritizers p;
    int rc = weir_prioritizers_set(&p, kinds, count);
    if (rc != 0) {
        return rc;
    }
    return weir_flow_queue_set_prioritizers(c->q, &p);
}

int weir_flow_engine_set_expiration(weir_flow_engine *e, const char *connection,
                                    int64_t expiration_ns)
{
    flow_conn *c = conn_by_name(e, connection);
    if (c == NULL) {
        return WEIR_E_NOENT;
    }
    int rc = weir_flow_queue_set_expiration(c->q, expiration_ns);
    flow_sched_wake(e->procs[c->dst]);
    return rc;
}

int weir_flow_engine_param_set(weir_flow_engine *e, const char *context, const char *name,
                               const char *value, char *why, size_t why_size)
{
    struct weir_param_ctx *pc = weir_params_find_ctx(e->params, context);
    if (pc == NULL) {
        why_set(why, why_size, "no parameter context '%s'", context);
        return WEIR_E_NOENT;
    }
    int rc = weir_param_ctx_set_value(pc, name, value, why, why_size);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        if (p->pctx == NULL || weir_param_ctx_version(p->pctx) == p->pctx_version) {
            continue;
        }
        bool uses = false;
        for (size_t k = 0; k < p->raw_count && !uses; k++) {
            uses = strstr(p->raw[k].value, "#{") != NULL;
        }
        if (!uses) {
            p->pctx_version = weir_param_ctx_version(p->pctx);
            continue;
        }
        bool was_running = p->running;
        proc_unschedule(p);
        char w[FLOW_WHY_BYTES];
        rc = props_build(p, w, sizeof w);
        if (rc != 0) {
            why_set(why, why_size, "processor '%s' stays stopped: %s", p->name, w);
            if (e->env != NULL) { /* NULL: a flow checked before any run */
                weir_log_error(e->env, "flow: %s", why != NULL ? why : w);
            }
            continue; /* the others still get the new value */
        }
        if (was_running && e->started && !e->shut) {
            rc = proc_schedule(p, why, why_size);
        }
    }
    return rc;
}

/* ---- looking ---- */

void weir_flow_engine_counters(const weir_flow_engine *e, weir_flow_counters *out)
{
    *out = e->counters;
    out->queued = 0;
    out->expiring = e->expired_count;
    if (e->shut) {
        out->queued = e->queued_final;
        return;
    }
    for (size_t i = 0; i < e->conn_count; i++) {
        flow_conn *c = e->conns[i];
        if (c->q != NULL) {
            out->queued += weir_flow_queue_count(c->q);
        }
        if (c->offering) {
            out->queued += c->pending_count - c->offer_next; /* committed, not offered yet */
        }
    }
}

bool weir_flow_engine_conserved(const weir_flow_engine *e, char *why, size_t why_size)
{
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    uint64_t in = c.created + c.received + c.recovered;
    uint64_t out = c.sent + c.dropped + c.expired + c.queued + c.in_flight + c.expiring;
    if (in != out) {
        why_set(why, why_size,
                "created %llu + received %llu + recovered %llu = %llu, but sent %llu + dropped "
                "%llu + expired %llu + queued %llu + in flight %llu + expiring %llu = %llu",
                (unsigned long long)c.created, (unsigned long long)c.received,
                (unsigned long long)c.recovered, (unsigned long long)in, (unsigned long long)c.sent,
                (unsigned long long)c.dropped, (unsigned long long)c.expired,
                (unsigned long long)c.queued, (unsigned long long)c.in_flight,
                (unsigned long long)c.expiring, (unsigned long long)out);
        return false;
    }
    for (size_t i = 0; !e->shut && i < e->conn_count; i++) {
        if (weir_flow_queue_check(e->conns[i]->q) != 0) {
            why_set(why, why_size, "queue '%s' fails its own check", e->conns[i]->name);
            return false;
        }
    }
    return true;
}

size_t weir_flow_engine_processor_count(const weir_flow_engine *e)
{
    return e->proc_count;
}

weir_flow_ctx *weir_flow_engine_processor(const weir_flow_engine *e, size_t index)
{
    WEIR_ASSERT(index < e->proc_count);
    return e->procs[index];
}

const char *weir_flow_engine_processor_type(const weir_flow_engine *e, size_t index)
{
    WEIR_ASSERT(index < e->proc_count);
    return e->procs[index]->type->name;
}

void weir_flow_engine_connection_ends(const weir_flow_engine *e, size_t index, size_t *src_out,
                                      size_t *dst_out)
{
    WEIR_ASSERT(index < e->conn_count);
    const flow_conn *c = e->conns[index];
    WEIR_ASSERT(c->src >= 0 && c->dst >= 0);
    if (src_out != NULL) {
        *src_out = (size_t)c->src;
    }
    if (dst_out != NULL) {
        *dst_out = (size_t)c->dst;
    }
}

bool weir_flow_engine_running(const weir_flow_engine *e)
{
    return e->started && !e->shut;
}

void weir_flow_engine_processor_stats(const weir_flow_engine *e, size_t index,
                                      weir_flow_proc_stats *out)
{
    WEIR_ASSERT(index < e->proc_count);
    const weir_flow_ctx *p = e->procs[index];
    *out = p->stats;
    out->yielded_until_ns = p->yield_until_ns;
    out->blocked_by_back_pressure = p->bp_blocked;
    out->tasks_active = p->tasks_active;
}

weir_prov_repo *weir_flow_engine_provenance(const weir_flow_engine *e)
{
    return e->prov;
}

weir_content_repo *weir_flow_engine_content(const weir_flow_engine *e)
{
    return e->content;
}

weir_ffrepo *weir_flow_engine_flowfile_repo(const weir_flow_engine *e)
{
    return e->ffrepo;
}
