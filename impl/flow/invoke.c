/* Dependency calls through a breaker, with timeout and fallback, and the
 * simulated dependency (invoke.h).
 *
 * Calls in flight live in a fixed table of calls_max slots. A call's id is
 * (sequence << 16) | slot, so a reply finds its slot at once, and an id whose
 * slot holds another call (or none) but whose sequence was issued is a late
 * reply. Invariants: a used slot has a nonzero id and a pending timer (except
 * inside dep.call); in_flight == calls_max - free_count.
 */
#include "flow/invoke.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define INV_NS_PER_MS 1000000LL
#define INV_SLOT_BITS 16
#define INV_SLOT_MASK ((1ULL << INV_SLOT_BITS) - 1)

typedef struct inv_call {
    weir_flow_invoker *inv;
    uint64_t id; /* 0 when the slot is free */
    weir_timer *timer;
    int64_t started_ns;
    void *call_arg;
    bool trial;
    bool starting; /* inside dep.call: a reply now breaks the dependency's contract */
} inv_call;

struct weir_flow_invoker {
    weir_env *env;
    weir_flow_invoke_config cfg;
    weir_flow_dep dep;
    weir_flow_invoke_done_fn done;
    void *ctx;
    weir_flow_breaker *breaker;
    inv_call *calls;     /* calls_max slots */
    int32_t *free_slots; /* a stack of free slot indexes */
    int32_t free_count;
    uint64_t seq_next; /* the next call's sequence; from 1, so no id is 0 */
    weir_flow_invoke_stats stats;
};

/* ---- config ---- */

void weir_flow_invoke_config_default(weir_flow_invoke_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    weir_flow_breaker_config_default(&cfg->breaker);
    cfg->timeout_ms = WEIR_FLOW_INVOKE_TIMEOUT_MS_DEFAULT;
    cfg->calls_max = WEIR_FLOW_INVOKE_CALLS_MAX_DEFAULT;
    cfg->fallback_enabled = true;
}

int weir_flow_invoke_config_check(const weir_flow_invoke_config *cfg, const char **why)
{
    const char *w = NULL;
    if (cfg->timeout_ms < 1 || cfg->timeout_ms > INT64_MAX / INV_NS_PER_MS / 2) {
        w = "execution.isolation.thread.timeoutInMilliseconds must be >= 1";
    } else if (cfg->calls_max < 1 || cfg->calls_max > WEIR_FLOW_INVOKE_CALLS_MAX_LIMIT) {
        w = "execution.isolation.semaphore.maxConcurrentRequests must be in [1, 65535]";
    } else if (weir_flow_breaker_config_check(&cfg->breaker, &w) != 0) {
        WEIR_ASSERT(w != NULL);
    }
    if (why != NULL) {
        *why = w;
    }
    return w == NULL ? 0 : WEIR_E_INVAL;
}

static int inv_parse_int(const char *value, int64_t min, int64_t max, int64_t *out)
{
    if (value == NULL || *value == '\0') {
        return WEIR_E_INVAL;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return WEIR_E_INVAL;
    }
    *out = v;
    return 0;
}

int weir_flow_invoke_config_set(weir_flow_invoke_config *cfg, const char *key, const char *value,
                                const char **why)
{
    int64_t v = 0;
    int err;
    const char *w;
    if (strcmp(key, "execution.isolation.thread.timeoutInMilliseconds") == 0) {
        err = inv_parse_int(value, 1, INT64_MAX / INV_NS_PER_MS / 2, &v);
        w = "execution.isolation.thread.timeoutInMilliseconds must be an integer >= 1";
        if (err == 0) {
            cfg->timeout_ms = v;
        }
    } else if (strcmp(key, "execution.isolation.semaphore.maxConcurrentRequests") == 0) {
        err = inv_parse_int(value, 1, WEIR_FLOW_INVOKE_CALLS_MAX_LIMIT, &v);
        w = "execution.isolation.semaphore.maxConcurrentRequests must be an integer in "
            "[1, 65535]";
        if (err == 0) {
            cfg->calls_max = (int32_t)v;
        }
    } else if (strcmp(key, "fallback.enabled") == 0) {
        err = 0;
        w = "fallback.enabled must be true or false";
        if (value != NULL && strcmp(value, "true") == 0) {
            cfg->fallback_enabled = true;
        } else if (value != NULL && strcmp(value, "false") == 0) {
            cfg->fallback_enabled = false;
        } else {
            err = WEIR_E_INVAL;
        }
    } else {
        return weir_flow_breaker_config_set(&cfg->breaker, key, value, why);
    }
    if (why != NULL) {
        *why = err == 0 ? NULL : w;
    }
    return err;
}

weir_flow_invoke_route weir_flow_invoke_route_for(const weir_flow_invoke_config *cfg,
                                                  weir_flow_invoke_outcome outcome)
{
    switch (outcome) {
    case WEIR_FLOW_INVOKE_PENDING:
        return WEIR_FLOW_INVOKE_ROUTE_NONE;
    case WEIR_FLOW_INVOKE_SUCCESS:
        return WEIR_FLOW_INVOKE_ROUTE_SUCCESS;
    case WEIR_FLOW_INVOKE_FAILURE:
    case WEIR_FLOW_INVOKE_TIMEOUT:
    case WEIR_FLOW_INVOKE_SHORT_CIRCUITED:
        return cfg->fallback_enabled ? WEIR_FLOW_INVOKE_ROUTE_FALLBACK
                                     : WEIR_FLOW_INVOKE_ROUTE_FAILURE;
    }
    WEIR_ASSERT(false);
    return WEIR_FLOW_INVOKE_ROUTE_NONE;
}

const char *weir_flow_invoke_outcome_name(weir_flow_invoke_outcome outcome)
{
    switch (outcome) {
    case WEIR_FLOW_INVOKE_PENDING:
        return "PENDING";
    case WEIR_FLOW_INVOKE_SUCCESS:
        return "SUCCESS";
    case WEIR_FLOW_INVOKE_FAILURE:
        return "FAILURE";
    case WEIR_FLOW_INVOKE_TIMEOUT:
        return "TIMEOUT";
    case WEIR_FLOW_INVOKE_SHORT_CIRCUITED:
        return "SHORT_CIRCUITED";
    }
    return "?";
}

const char *weir_flow_invoke_route_name(weir_flow_invoke_route route)
{
    switch (route) {
    case WEIR_FLOW_INVOKE_ROUTE_NONE:
        return "none";
    case WEIR_FLOW_INVOKE_ROUTE_SUCCESS:
        return "success";
    case WEIR_FLOW_INVOKE_ROUTE_FAILURE:
        return "failure";
    case WEIR_FLOW_INVOKE_ROUTE_FALLBACK:
        return "fallback";
    }
    return "?";
}

/* ---- the invoker ---- */

weir_flow_invoker *weir_flow_invoker_new(weir_env *env, const weir_flow_invoke_config *cfg,
                                         const weir_flow_dep *dep, weir_flow_invoke_done_fn done,
                                         void *ctx, const char **why)
{
    const char *w = NULL;
    weir_flow_invoker *inv = NULL;
    if (weir_flow_invoke_config_check(cfg, &w) != 0) {
        goto fail;
    }
    if (dep == NULL || dep->call == NULL || done == NULL) {
        w = "an invoker needs a dependency and a done callback";
        goto fail;
    }
    w = "out of memory";
    inv = calloc(1, sizeof *inv);
    if (inv == NULL) {
        goto fail;
    }
    inv->calls = calloc((size_t)cfg->calls_max, sizeof *inv->calls);
    inv->free_slots = calloc((size_t)cfg->calls_max, sizeof *inv->free_slots);
    inv->breaker = weir_flow_breaker_new(&cfg->breaker, weir_now_ns(env), &w);
    if (inv->calls == NULL || inv->free_slots == NULL || inv->breaker == NULL) {
        goto fail_free;
    }
    inv->env = env;
    inv->cfg = *cfg;
    inv->dep = *dep;
    inv->done = done;
    inv->ctx = ctx;
    inv->seq_next = 1;
    /* Pop order is lowest slot first: a stack filled from the top down. */
    for (int32_t i = 0; i < cfg->calls_max; i++) {
        inv->calls[i].inv = inv;
        inv->free_slots[i] = cfg->calls_max - 1 - i;
    }
    inv->free_count = cfg->calls_max;
    return inv;

fail_free:
    weir_flow_breaker_free(inv->breaker);
    free(inv->free_slots);
    free(inv->calls);
    free(inv);
fail:
    if (why != NULL) {
        *why = w;
    }
    return NULL;
}

void weir_flow_invoker_abandon(weir_flow_invoker *inv)
{
    if (inv == NULL) {
        return;
    }
    weir_flow_breaker_free(inv->breaker);
    free(inv->free_slots);
    free(inv->calls);
    free(inv);
}

void weir_flow_invoker_free(weir_flow_invoker *inv)
{
    if (inv == NULL) {
        return;
    }
    for (int32_t i = 0; i < inv->cfg.calls_max; i++) {
        inv_call *c = &inv->calls[i];
        if (c->id != 0 && c->timer != NULL) {
            weir_timer_cancel(inv->env, c->timer);
            c->timer = NULL;
        }
    }
    weir_flow_invoker_abandon(inv);
}

weir_flow_breaker *weir_flow_invoker_breaker(weir_flow_invoker *inv)
{
    return inv->breaker;
}

void weir_flow_invoker_stats_get(const weir_flow_invoker *inv, weir_flow_invoke_stats *out)
{
    *out = inv->stats;
}

static void inv_count_route(weir_flow_invoker *inv, weir_flow_invoke_route route)
{
    switch (route) {
    case WEIR_FLOW_INVOKE_ROUTE_SUCCESS:
        inv->stats.routed_success++;
        break;
    case WEIR_FLOW_INVOKE_ROUTE_FAILURE:
        inv->stats.routed_failure++;
        break;
    case WEIR_FLOW_INVOKE_ROUTE_FALLBACK:
        inv->stats.routed_fallback++;
        break;
    case WEIR_FLOW_INVOKE_ROUTE_NONE:
        WEIR_ASSERT(false);
        break;
    }
}

/* Reports an outcome to the breaker and the counters, and routes it. */
static void inv_decide(weir_flow_invoker *inv, weir_flow_invoke_result *res,
                       weir_flow_invoke_outcome outcome, int err, int64_t now_ns)
{
    res->outcome = outcome;
    res->err = err;
    res->route = weir_flow_invoke_route_for(&inv->cfg, outcome);
    switch (outcome) {
    case WEIR_FLOW_INVOKE_SUCCESS:
        weir_flow_breaker_mark_success(inv->breaker, now_ns);
        inv->stats.successes++;
        break;
    case WEIR_FLOW_INVOKE_FAILURE:
        weir_flow_breaker_mark_failure(inv->breaker, now_ns);
        inv->stats.failures++;
        break;
    case WEIR_FLOW_INVOKE_TIMEOUT:
        weir_flow_breaker_mark_timeout(inv->breaker, now_ns);
        inv->stats.timeouts++;
        break;
    case WEIR_FLOW_INVOKE_SHORT_CIRCUITED:
        weir_flow_breaker_mark_rejected(inv->breaker, now_ns);
        inv->stats.short_circuits++;
        break;
    case WEIR_FLOW_INVOKE_PENDING:
        WEIR_ASSERT(false);
        break;
    }
    inv_count_route(inv, res->route);
}

static void inv_slot_release(weir_flow_invoker *inv, inv_call *c)
{
    int32_t slot = (int32_t)(c->id & INV_SLOT_MASK);
    WEIR_ASSERT(slot >= 0 && slot < inv->cfg.calls_max && &inv->calls[slot] == c);
    WEIR_ASSERT(inv->free_count < inv->cfg.calls_max);
    c->id = 0;
    c->timer = NULL;
    c->call_arg = NULL;
    c->trial = false;
    c->starting = false;
    inv->free_slots[inv->free_count++] = slot;
    inv->stats.in_flight--;
    WEIR_ASSERT(inv->stats.in_flight == inv->cfg.calls_max - inv->free_count);
}

/* Ends a call in flight: frees its slot, then reports (the callback may start
 * new calls, even in the same slot). */
static void inv_finish(weir_flow_invoker *inv, inv_call *c, weir_flow_invoke_outcome outcome,
                       int err)
{
    int64_t now_ns = weir_now_ns(inv->env);
    weir_flow_invoke_result res;
    memset(&res, 0, sizeof res);
    res.call_id = c->id;
    res.started_ns = c->started_ns;
    res.latency_ns = now_ns - c->started_ns;
    res.call_arg = c->call_arg;
    res.trial = c->trial;
    inv_slot_release(inv, c);
    inv_decide(inv, &res, outcome, err, now_ns);
    inv->done(inv->ctx, &res);
}

static void inv_on_timeout(weir_env *env, void *arg)
{
    (void)env;
    inv_call *c = arg;
    WEIR_ASSERT(c->id != 0 && c->timer != NULL);
    c->timer = NULL; /* fired: no longer cancellable */
    inv_finish(c->inv, c, WEIR_FLOW_INVOKE_TIMEOUT, WEIR_E_TIMEOUT);
}

int weir_flow_invoker_start(weir_flow_invoker *inv, const void *request, void *call_arg,
                            weir_flow_invoke_result *res_out)
{
    int64_t now_ns = weir_now_ns(inv->env);
    memset(res_out, 0, sizeof *res_out);
    res_out->started_ns = now_ns;
    res_out->call_arg = call_arg;
    res_out->outcome = WEIR_FLOW_INVOKE_PENDING;
    if (inv->free_count == 0) {
        /* Full: an open breaker still answers at once; otherwise wait. */
        if (!weir_flow_breaker_would_allow(inv->breaker, now_ns)) {
            inv_decide(inv, res_out, WEIR_FLOW_INVOKE_SHORT_CIRCUITED, 0, now_ns);
            return 0;
        }
        inv->stats.busy++;
        return WEIR_E_AGAIN;
    }
    weir_flow_breaker_state before = weir_flow_breaker_state_get(inv->breaker);
    if (!weir_flow_breaker_allow_request(inv->breaker, now_ns)) {
        inv_decide(inv, res_out, WEIR_FLOW_INVOKE_SHORT_CIRCUITED, 0, now_ns);
        return 0;
    }
    bool trial = before == WEIR_FLOW_BREAKER_OPEN &&
                 weir_flow_breaker_state_get(inv->breaker) == WEIR_FLOW_BREAKER_HALF_OPEN;
    int32_t slot = inv->free_slots[--inv->free_count];
    inv_call *c = &inv->calls[slot];
    WEIR_ASSERT(c->id == 0);
    WEIR_ASSERT(inv->seq_next < (1ULL << (64 - INV_SLOT_BITS)));
    c->id = (inv->seq_next++ << INV_SLOT_BITS) | (uint64_t)slot;
    c->started_ns = now_ns;
    c->call_arg = call_arg;
    c->trial = trial;
    c->starting = true;
    inv->stats.in_flight++;
    if (inv->stats.in_flight > inv->stats.in_flight_max) {
        inv->stats.in_flight_max = inv->stats.in_flight;
    }
    inv->stats.started++;
    int rc = inv->dep.call(inv->dep.impl, inv, c->id, request);
    WEIR_ASSERT(c->starting); /* no reply from inside dep.call */
    c->starting = false;
    res_out->call_id = c->id;
    res_out->trial = trial;
    if (rc != 0) {
        inv_slot_release(inv, c);
        inv_decide(inv, res_out, WEIR_FLOW_INVOKE_FAILURE, rc, now_ns);
        return 0;
    }
    c->timer = weir_timer_start(inv->env, inv->cfg.timeout_ms * INV_NS_PER_MS, inv_on_timeout, c);
    return 0;
}

int weir_flow_invoker_reply(weir_flow_invoker *inv, uint64_t call_id, int result)
{
    uint64_t slot = call_id & INV_SLOT_MASK;
    uint64_t seq = call_id >> INV_SLOT_BITS;
    if (seq == 0 || seq >= inv->seq_next || slot >= (uint64_t)inv->cfg.calls_max) {
        return WEIR_E_INVAL;
    }
    inv_call *c = &inv->calls[slot];
    if (c->id != call_id) {
        inv->stats.late_replies++; /* timed out (or refused at start) before */
        return 0;
    }
    WEIR_ASSERT(!c->starting && c->timer != NULL);
    weir_timer_cancel(inv->env, c->timer);
    c->timer = NULL;
    inv_finish(inv, c, result == 0 ? WEIR_FLOW_INVOKE_SUCCESS : WEIR_FLOW_INVOKE_FAILURE, result);
    return 0;
}

/* ---- the simulated dependency ---- */

typedef struct sd_pending {
    struct sd_pending *prev;
    struct sd_pending *next;
    weir_flow_simdep *dep;
    weir_flow_invoker *inv;
    uint64_t call_id;
    int result;
    weir_timer *timer;
} sd_pending;

struct weir_flow_simdep {
    weir_env *env;
    weir_flow_simdep_config cfg;
    bool degraded;
    sd_pending *head; /* answers scheduled, newest first */
    weir_flow_simdep_stats stats;
};

void weir_flow_simdep_config_default(weir_flow_simdep_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->normal.latency_ns_min = 5 * INV_NS_PER_MS;
    cfg->normal.latency_ns_max = 50 * INV_NS_PER_MS;
    cfg->degraded = cfg->normal;
    cfg->degraded.error_rate = 0.5;
    cfg->degraded.slow_rate = 0.2;
    cfg->degraded.slow_latency_ns = 3000 * INV_NS_PER_MS;
}

static bool sd_rate_ok(double r)
{
    return r >= 0.0 && r <= 1.0; /* false for NaN too */
}

int weir_flow_simdep_profile_check(const weir_flow_simdep_profile *p, const char **why)
{
    const char *w = NULL;
    if (!sd_rate_ok(p->error_rate) || !sd_rate_ok(p->lost_rate) || !sd_rate_ok(p->slow_rate)) {
        w = "simulated dependency: rates must be in [0, 1]";
    } else if (p->latency_ns_min < 0 || p->latency_ns_max < p->latency_ns_min) {
        w = "simulated dependency: need 0 <= latency_ns_min <= latency_ns_max";
    } else if (p->slow_latency_ns < 0) {
        w = "simulated dependency: slow_latency_ns must be >= 0";
    }
    if (why != NULL) {
        *why = w;
    }
    return w == NULL ? 0 : WEIR_E_INVAL;
}

weir_flow_simdep *weir_flow_simdep_new(weir_env *env, const weir_flow_simdep_config *cfg,
                                       const char **why)
{
    const char *w = NULL;
    if (weir_flow_simdep_profile_check(&cfg->normal, &w) != 0 ||
        weir_flow_simdep_profile_check(&cfg->degraded, &w) != 0) {
        if (why != NULL) {
            *why = w;
        }
        return NULL;
    }
    weir_flow_simdep *dep = calloc(1, sizeof *dep);
    if (dep == NULL) {
        if (why != NULL) {
            *why = "out of memory";
        }
        return NULL;
    }
    dep->env = env;
    dep->cfg = *cfg;
    return dep;
}

static void sd_unlink(weir_flow_simdep *dep, sd_pending *p)
{
    if (p->prev != NULL) {
        p->prev->next = p->next;
    } else {
        WEIR_ASSERT(dep->head == p);
        dep->head = p->next;
    }
    if (p->next != NULL) {
        p->next->prev = p->prev;
    }
    dep->stats.pending--;
    WEIR_ASSERT(dep->stats.pending >= 0);
}

static void sd_release_all(weir_flow_simdep *dep, bool cancel)
{
    sd_pending *p = dep->head;
    while (p != NULL) {
        sd_pending *next = p->next;
        if (cancel) {
            weir_timer_cancel(dep->env, p->timer);
        }
        free(p);
        p = next;
    }
    dep->head = NULL;
    dep->stats.pending = 0;
}

void weir_flow_simdep_free(weir_flow_simdep *dep)
{
    if (dep == NULL) {
        return;
    }
    sd_release_all(dep, true);
    free(dep);
}

void weir_flow_simdep_abandon(weir_flow_simdep *dep)
{
    if (dep == NULL) {
        return;
    }
    sd_release_all(dep, false);
    free(dep);
}

static void sd_on_answer(weir_env *env, void *arg)
{
    (void)env;
    sd_pending *p = arg;
    weir_flow_simdep *dep = p->dep;
    weir_flow_invoker *inv = p->inv;
    uint64_t call_id = p->call_id;
    int result = p->result;
    sd_unlink(dep, p);
    free(p);
    if (result == 0) {
        dep->stats.answered_ok++;
    } else {
        dep->stats.answered_error++;
    }
    /* Only ids the invoker issued reach here: anything else is a bug. */
    int rc = weir_flow_invoker_reply(inv, call_id, result);
    WEIR_ASSERT(rc == 0);
}

static int sd_call(void *impl, weir_flow_invoker *inv, uint64_t call_id, const void *request)
{
    (void)request;
    weir_flow_simdep *dep = impl;
    const weir_flow_simdep_profile *pr = dep->degraded ? &dep->cfg.degraded : &dep->cfg.normal;
    /* Always the same four draws, so a profile change shifts no later call. */
    double u_error = weir_prng_unit(&dep->env->prng);
    double u_lost = weir_prng_unit(&dep->env->prng);
    double u_slow = weir_prng_unit(&dep->env->prng);
    uint64_t span = (uint64_t)(pr->latency_ns_max - pr->latency_ns_min) + 1;
    int64_t latency_ns = pr->latency_ns_min + (int64_t)weir_random_below(dep->env, span);
    dep->stats.calls++;
    if (u_lost < pr->lost_rate) {
        dep->stats.lost++;
        return 0; /* never answered: the invoker's timeout ends it */
    }
    if (u_slow < pr->slow_rate) {
        latency_ns = pr->slow_latency_ns;
    }
    sd_pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return WEIR_E_NOMEM;
    }
    p->dep = dep;
    p->inv = inv;
    p->call_id = call_id;
    p->result = u_error < pr->error_rate ? WEIR_E_IO : 0;
    p->next = dep->head;
    if (dep->head != NULL) {
        dep->head->prev = p;
    }
    dep->head = p;
    dep->stats.pending++;
    p->timer = weir_timer_start(dep->env, latency_ns, sd_on_answer, p);
    return 0;
}

weir_flow_dep weir_flow_simdep_dep(weir_flow_simdep *dep)
{
    weir_flow_dep d = {.call = sd_call, .impl = dep};
    return d;
}

void weir_flow_simdep_degrade(weir_flow_simdep *dep, bool on)
{
    dep->degraded = on;
}

bool weir_flow_simdep_degraded(const weir_flow_simdep *dep)
{
    return dep->degraded;
}

int weir_flow_simdep_profile_set(weir_flow_simdep *dep, bool degraded,
                                 const weir_flow_simdep_profile *p, const char **why)
{
    int err = weir_flow_simdep_profile_check(p, why);
    if (err != 0) {
        return err;
    }
    if (degraded) {
        dep->cfg.degraded = *p;
    } else {
        dep->cfg.normal = *p;
    }
    return 0;
}

void weir_flow_simdep_stats_get(const weir_flow_simdep *dep, weir_flow_simdep_stats *out)
{
    *out = dep->stats;
}
