/* InvokeService: calls a dependency for every FlowFile through a
 * Hystrix-style circuit breaker, with a timeout and a fallback (notes/FLOW.md
 * §3.1; invoke.h, breaker.h).
 *
 * A trigger takes FlowFiles while the invoker has a free call slot ("Max
 * Concurrent Calls", a bulkhead) or the breaker short-circuits anyway, and
 * starts one call per FlowFile. A call the breaker refuses is decided at once
 * (SHORT_CIRCUITED); the others end when the dependency answers or "Timeout"
 * passes. The trigger's session stays open (WEIR_FLOW_PENDING) until its
 * last call ends, then is committed and handed back: a session that started
 * no call is committed by the engine straight away, so an open breaker sends
 * FlowFiles to fallback without waiting for anything.
 *
 * Each FlowFile gets invoke.status (SUCCESS, FAILURE, TIMEOUT,
 * SHORT_CIRCUITED), invoke.latency.ms (0 when decided at once) and
 * invoke.circuit (the breaker after the outcome: closed, open, half-open),
 * and goes to success, or for any other outcome to fallback with
 * invoke.fallback=true ("Fallback" = fallback, Hystrix's getFallback) or to
 * failure ("Fallback" = fail). The dependency answers with a status only, so
 * success carries no response content.
 *
 * The dependency: when the engine has a service registered under the name
 * "Service" gives (weir_flow_engine_service_register), the processor calls
 * that one; "Latency", "Error Rate" and "Seed" are then unused. Otherwise
 * it calls a simulated dependency of its own (invoke.h's weir_flow_simdep),
 * "Service" naming it in logs only: it answers after "Latency" +-50 %
 * (uniform), failing at "Error Rate" percent. Its draws come from the node's
 * seeded PRNG, so a simulated run replays from its seed; with "Seed" set
 * they come from a stream of their own, which nothing else in the node
 * disturbs. proc_invoke_service.h degrades and restores it at run time.
 *
 * A registered dependency may answer a call after the processor stopped (a
 * timed-out call, or one in flight then): the invoker it answers to then
 * stays, its outcomes ignored, until the engine shuts down
 * (flow_engine_keep); the simulated one is freed first, so its answers
 * never come.
 *
 * Settings map to Hystrix's: Timeout -> execution.isolation.thread.
 * timeoutInMilliseconds (1 sec), Request Volume Threshold -> circuitBreaker.
 * requestVolumeThreshold (20), Error Threshold Percentage -> circuitBreaker.
 * errorThresholdPercentage (50), Sleep Window -> circuitBreaker.
 * sleepWindowInMilliseconds (5 sec), Max Concurrent Calls -> execution.
 * isolation.semaphore.maxConcurrentRequests (10).
 *
 * Invariants: every started call belongs to one live task; a task's session
 * is committed (or rolled back) and handed back exactly once, when its
 * pending count reaches 0 after its trigger returned.
 */
#include "flow/proc_invoke_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/engine_internal.h"

#define IS_NS_PER_MS 1000000LL
#define IS_LATENCY_NS_MAX (3600LL * 1000 * IS_NS_PER_MS) /* an hour */
#define IS_TIMEOUT_NS_MAX (24LL * 3600 * 1000 * IS_NS_PER_MS)

enum { REL_SUCCESS, REL_FAILURE, REL_FALLBACK };

static const char *const is_fallback_choices[] = {"fallback", "fail", NULL};

static const weir_flow_property_desc is_props[] = {
    {.name = "Service",
     .description = "the dependency's name (in logs)",
     .default_value = "simulated",
     .required = true},
    {.name = "Timeout",
     .description = "a call not answered by then is a TIMEOUT",
     .default_value = "1 sec",
     .required = true,
     .kind = WEIR_FLOW_PROP_DURATION},
    {.name = "Request Volume Threshold",
     .description = "calls in the rolling window (10 s) before the breaker may open",
     .default_value = "20",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Error Threshold Percentage",
     .description = "the breaker opens at this share of errors in the window",
     .default_value = "50",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Sleep Window",
     .description = "how long an open breaker refuses calls before one trial",
     .default_value = "5 sec",
     .required = true,
     .kind = WEIR_FLOW_PROP_DURATION},
    {.name = "Fallback",
     .description = "where calls that do not succeed go: the fallback relationship, or failure",
     .default_value = "fallback",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = is_fallback_choices},
    {.name = "Max Concurrent Calls",
     .description = "calls in flight at once; more FlowFiles wait in the queue",
     .default_value = "10",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Latency",
     .description = "the simulated dependency's answer time (+-50 %)",
     .default_value = "20 ms",
     .required = true,
     .kind = WEIR_FLOW_PROP_DURATION},
    {.name = "Error Rate",
     .description = "the simulated dependency's share of failed answers, in percent",
     .default_value = "0",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Seed",
     .description = "a random stream of the dependency's own (default: the node's)",
     .kind = WEIR_FLOW_PROP_INT},
    {0},
};

static const weir_flow_relationship_desc is_rels[] = {
    {.name = "success", .description = "FlowFiles whose call succeeded"},
    {.name = "failure", .description = "calls that did not succeed, when Fallback is fail"},
    {.name = "fallback",
     .description = "calls that failed, timed out or were short-circuited (invoke.fallback)"},
    {0},
};

typedef struct is_state is_state;
typedef struct is_task is_task;

/* The invoker's callback context: outlives the state when the invoker is
 * kept after a stop (st is NULL then: outcomes are ignored). */
typedef struct is_link {
    is_state *st;
    weir_flow_invoker *inv;
} is_link;

/* One call in flight: the FlowFile it is for, in its task's session. */
typedef struct is_call {
    is_task *task;
    weir_flowfile *ff;
} is_call;

/* One trigger's session and its calls in flight. */
struct is_task {
    is_state *st;
    weir_flow_session *s;
    is_task *prev;
    is_task *next;
    size_t pending;  /* calls not ended yet */
    int err;         /* a FlowFile could not be routed: roll back */
    bool returned;   /* the trigger returned WEIR_FLOW_PENDING */
    is_call calls[]; /* Max Concurrent Calls */
};

struct is_state {
    weir_flow_ctx *ctx;
    weir_flow_invoke_config cfg;
    weir_env dep_env;      /* the node's env; with a PRNG of its own when Seed is set */
    weir_env *dep_on;      /* &dep_env or the node's env */
    weir_flow_simdep *dep; /* NULL when a registered service is called */
    weir_flow_invoker *inv;
    is_link *link;
    is_task *tasks; /* live tasks, newest first */
};

/* ---- properties ---- */

static int is_prop_range(weir_flow_ctx *ctx, const char *name, int64_t v, int64_t min, int64_t max)
{
    if (v < min || v > max) {
        return weir_flow_ctx_fail(ctx, "property '%s': %lld is out of range [%lld, %lld]", name,
                                  (long long)v, (long long)min, (long long)max);
    }
    return 0;
}

/* The invoker's settings from the properties. */
static int is_read_invoke(weir_flow_ctx *ctx, weir_flow_invoke_config *cfg)
{
    int64_t timeout_ns = 0, sleep_ns = 0, volume = 0, percent = 0, calls = 0;
    int rc = weir_flow_ctx_prop_duration_ns(ctx, "Timeout", &timeout_ns);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_duration_ns(ctx, "Sleep Window", &sleep_ns);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Request Volume Threshold", &volume);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Error Threshold Percentage", &percent);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Max Concurrent Calls", &calls);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Timeout", timeout_ns, IS_NS_PER_MS, IS_TIMEOUT_NS_MAX);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Sleep Window", sleep_ns, 0, IS_TIMEOUT_NS_MAX);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Request Volume Threshold", volume, 1, INT32_MAX);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Error Threshold Percentage", percent, 1, 100);
    rc = rc != 0 ? rc
                 : is_prop_range(ctx, "Max Concurrent Calls", calls, 1,
                                 WEIR_FLOW_INVOKE_CALLS_MAX_LIMIT);
    if (rc != 0) {
        return rc;
    }
    weir_flow_invoke_config_default(cfg);
    cfg->timeout_ms = timeout_ns / IS_NS_PER_MS;
    cfg->breaker.sleep_window_ms = sleep_ns / IS_NS_PER_MS;
    cfg->breaker.request_volume_threshold = (int32_t)volume;
    cfg->breaker.error_threshold_percent = (int32_t)percent;
    cfg->calls_max = (int32_t)calls;
    const char *fallback = weir_flow_ctx_prop_str(ctx, "Fallback");
    cfg->fallback_enabled = fallback == NULL || strcmp(fallback, "fallback") == 0;
    const char *why = NULL;
    if (weir_flow_invoke_config_check(cfg, &why) != 0) {
        return weir_flow_ctx_fail(ctx, "%s", why);
    }
    return 0;
}

/* A simulated dependency's health: error_rate (0..1), latency +-50 %. */
static weir_flow_simdep_profile is_profile(double error_rate, int64_t latency_ns)
{
    weir_flow_simdep_profile p = {.error_rate = error_rate,
                                  .latency_ns_min = latency_ns - latency_ns / 2,
                                  .latency_ns_max = latency_ns + latency_ns / 2};
    return p;
}

/* The simulated dependency from Latency, Error Rate and Seed. */
static int is_make_dep(is_state *st)
{
    weir_flow_ctx *ctx = st->ctx;
    int64_t latency_ns = 0, percent = 0, seed = 0;
    bool seeded = weir_flow_ctx_prop_str(ctx, "Seed") != NULL;
    int rc = weir_flow_ctx_prop_duration_ns(ctx, "Latency", &latency_ns);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Error Rate", &percent);
    rc = rc != 0 || !seeded ? rc : weir_flow_ctx_prop_int(ctx, "Seed", &seed);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Latency", latency_ns, 0, IS_LATENCY_NS_MAX);
    rc = rc != 0 ? rc : is_prop_range(ctx, "Error Rate", percent, 0, 100);
    if (rc != 0) {
        return rc;
    }
    st->dep_on = weir_flow_ctx_env(ctx);
    if (seeded) {
        /* a copy of the node's env (same clock and timers) drawing apart */
        st->dep_env = *st->dep_on;
        weir_prng_seed(&st->dep_env.prng, (uint64_t)seed);
        st->dep_on = &st->dep_env;
    }
    weir_flow_simdep_config dc;
    dc.normal = is_profile((double)percent / 100.0, latency_ns);
    dc.degraded = dc.normal;
    const char *why = NULL;
    st->dep = weir_flow_simdep_new(st->dep_on, &dc, &why);
    if (st->dep == NULL) {
        return weir_flow_ctx_fail(ctx, "property 'Latency' or 'Error Rate': %s",
                                  why != NULL ? why : "out of memory");
    }
    return 0;
}

/* ---- routing one FlowFile ---- */

static const char *is_circuit_name(weir_flow_breaker_state s)
{
    switch (s) {
    case WEIR_FLOW_BREAKER_CLOSED:
        return "closed";
    case WEIR_FLOW_BREAKER_OPEN:
        return "open";
    case WEIR_FLOW_BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}

/* Records res on ff and transfers it where res routes it. */
static int is_route(is_state *st, weir_flow_session *s, weir_flowfile *ff,
                    const weir_flow_invoke_result *res)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)(res->latency_ns / IS_NS_PER_MS));
    weir_flow_breaker_state circuit =
        weir_flow_breaker_state_get(weir_flow_invoker_breaker(st->inv));
    int rc = weir_flow_session_put_attr(s, ff, "invoke.status",
                                        weir_flow_invoke_outcome_name(res->outcome));
    rc = rc != 0 ? rc : weir_flow_session_put_attr(s, ff, "invoke.latency.ms", ms);
    rc = rc != 0 ? rc
                 : weir_flow_session_put_attr(s, ff, "invoke.circuit", is_circuit_name(circuit));
    int rel = REL_SUCCESS;
    if (res->route == WEIR_FLOW_INVOKE_ROUTE_FALLBACK) {
        rel = REL_FALLBACK;
        rc = rc != 0 ? rc : weir_flow_session_put_attr(s, ff, "invoke.fallback", "true");
    } else if (res->route == WEIR_FLOW_INVOKE_ROUTE_FAILURE) {
        rel = REL_FAILURE;
    }
    WEIR_ASSERT(res->route != WEIR_FLOW_INVOKE_ROUTE_NONE);
    if (rc == 0) {
        weir_flow_session_transfer(s, ff, rel);
    }
    return rc;
}

/* ---- tasks ---- */

static is_task *is_task_new(is_state *st, weir_flow_session *s)
{
    is_task *t = calloc(1, sizeof *t + (size_t)st->cfg.calls_max * sizeof(is_call));
    if (t != NULL) {
        t->st = st;
        t->s = s;
    }
    return t;
}

static void is_task_unlink(is_state *st, is_task *t)
{
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        st->tasks = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
}

/* The task's last call ended: its session is committed (rolled back when a
 * FlowFile could not be routed, or the commit fails) and handed back. */
static void is_task_finish(is_task *t)
{
    is_state *st = t->st;
    weir_flow_ctx *ctx = st->ctx;
    WEIR_ASSERT(t->pending == 0 && t->returned);
    int rc = t->err != 0 ? t->err : weir_flow_session_commit(t->s);
    if (rc != 0) {
        weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: calls not committed: %s",
                      weir_flow_ctx_name(ctx), weir_err_str(rc));
        weir_flow_session_rollback(t->s, true);
    }
    is_task_unlink(st, t);
    weir_flow_session *s = t->s;
    free(t);
    weir_flow_ctx_task_done(ctx, s);
}

/* The invoker's outcome of one call (from a timer or the dependency's answer). */
static void is_on_done(void *arg, const weir_flow_invoke_result *res)
{
    is_link *link = arg;
    is_state *st = link->st;
    if (st == NULL) {
        return; /* stopped: the engine rolled the call's session back */
    }
    is_call *c = res->call_arg;
    is_task *t = c->task;
    WEIR_ASSERT(t->st == st && t->pending > 0);
    int rc = is_route(st, t->s, c->ff, res);
    if (rc != 0 && t->err == 0) {
        t->err = rc;
    }
    if (--t->pending == 0 && t->returned) {
        is_task_finish(t);
    }
}

/* Whether a call could start now: a free slot, or a breaker that refuses
 * (a short circuit needs no slot). */
static bool is_can_call(is_state *st)
{
    weir_flow_invoke_stats stats;
    weir_flow_invoker_stats_get(st->inv, &stats);
    if (stats.in_flight < st->cfg.calls_max) {
        return true;
    }
    int64_t now_ns = weir_now_ns(weir_flow_ctx_env(st->ctx));
    return !weir_flow_breaker_would_allow(weir_flow_invoker_breaker(st->inv), now_ns);
}

/* ---- the processor ---- */

static void is_link_free(void *obj, bool abandon)
{
    is_link *link = obj;
    if (abandon) {
        weir_flow_invoker_abandon(link->inv);
    } else {
        weir_flow_invoker_free(link->inv);
    }
    free(link);
}

/* Whether a registered dependency may still answer one of inv's calls: one
 * is in flight, or one timed out (its answer may come late). */
static bool is_answers_may_come(weir_flow_invoker *inv)
{
    weir_flow_invoke_stats stats;
    weir_flow_invoker_stats_get(inv, &stats);
    return stats.in_flight > 0 || stats.timeouts > 0;
}

static void is_stop(weir_flow_ctx *ctx)
{
    is_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL) {
        return;
    }
    /* the engine rolls the tasks' sessions back; their calls never end */
    bool abandon = weir_flow_ctx_abandoning(ctx);
    if (abandon) {
        weir_flow_simdep_abandon(st->dep);
    } else {
        weir_flow_simdep_free(st->dep); /* its answers first: they name the invoker's calls */
    }
    if (st->link != NULL) {
        st->link->st = NULL;
        if (!abandon && st->dep == NULL && st->inv != NULL && is_answers_may_come(st->inv)) {
            flow_engine_keep(ctx->e, st->link, is_link_free);
        } else {
            is_link_free(st->link, abandon);
        }
    }
    while (st->tasks != NULL) {
        is_task *t = st->tasks;
        st->tasks = t->next;
        free(t);
    }
    free(st);
    weir_flow_ctx_set_state(ctx, NULL);
}

static int is_schedule(weir_flow_ctx *ctx)
{
    is_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    st->ctx = ctx;
    weir_flow_ctx_set_state(ctx, st);
    st->link = calloc(1, sizeof *st->link);
    int rc = st->link == NULL ? WEIR_E_NOMEM : is_read_invoke(ctx, &st->cfg);
    const weir_flow_dep *named =
        weir_flow_engine_service_find(ctx->e, weir_flow_ctx_prop_str(ctx, "Service"));
    if (rc == 0 && named == NULL) {
        rc = is_make_dep(st);
    }
    if (rc == 0) {
        const char *why = NULL;
        weir_flow_dep dep = named != NULL ? *named : weir_flow_simdep_dep(st->dep);
        st->link->st = st;
        st->inv = weir_flow_invoker_new(weir_flow_ctx_env(ctx), &st->cfg, &dep, is_on_done,
                                        st->link, &why);
        st->link->inv = st->inv;
        if (st->inv == NULL) {
            rc = weir_flow_ctx_fail(ctx, "%s", why != NULL ? why : "out of memory");
        }
    }
    if (rc != 0) {
        is_stop(ctx);
    }
    return rc;
}

/* Starts a call for ff; a call decided at once is routed now. */
static int is_call_one(is_state *st, is_task *t, weir_flowfile *ff)
{
    is_call *c = &t->calls[t->pending];
    *c = (is_call){t, ff};
    weir_flow_invoke_result res;
    int rc = weir_flow_invoker_start(st->inv, NULL, c, &res);
    if (rc != 0) {
        return rc;
    }
    if (res.outcome == WEIR_FLOW_INVOKE_PENDING) {
        t->pending++;
        return 0;
    }
    return is_route(st, t->s, ff, &res);
}

static int is_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    is_state *st = weir_flow_ctx_state(ctx);
    is_task *t = is_task_new(st, s);
    if (t == NULL) {
        return WEIR_E_NOMEM;
    }
    size_t max = weir_flow_ctx_batch_max(ctx), taken = 0;
    int rc = 0;
    for (; rc == 0 && taken < max && t->pending < (size_t)st->cfg.calls_max && is_can_call(st);
         taken++) {
        weir_flowfile *ff = weir_flow_session_get(s);
        if (ff == NULL) {
            break;
        }
        rc = is_call_one(st, t, ff);
        if (rc == WEIR_E_AGAIN) { /* cannot happen after is_can_call; harmless if it does */
            weir_flow_session_transfer_back(s, ff);
            rc = 0;
            break;
        }
    }
    if (taken == 0 && rc == 0 && weir_flow_session_queued(s) > 0) {
        weir_flow_ctx_yield(ctx); /* every slot busy with other tasks' calls */
    }
    if (rc != 0 && t->pending > 0) {
        t->err = rc; /* rolled back once the calls in flight have ended */
        rc = 0;
    }
    if (t->pending == 0) {
        /* nothing in flight: the engine commits (or, on an error, rolls back) */
        free(t);
        return rc;
    }
    t->returned = true;
    t->next = st->tasks;
    if (st->tasks != NULL) {
        st->tasks->prev = t;
    }
    st->tasks = t;
    return WEIR_FLOW_PENDING;
}

const weir_flow_processor_type weir_flow_proc_invoke_service = {
    .name = WEIR_FLOW_INVOKE_SERVICE_TYPE,
    .description = "Calls a dependency for each FlowFile through a circuit breaker, with a "
                   "timeout and a fallback (Hystrix).",
    .relationships = is_rels,
    .properties = is_props,
    .on_schedule = is_schedule,
    .on_trigger = is_trigger,
    .on_stop = is_stop,
};

/* ---- run-time control (proc_invoke_service.h) ---- */

/* The running state of the InvokeService named `processor`, or NULL with
 * *err_out. */
static is_state *is_find(weir_flow_engine *e, const char *processor, int *err_out)
{
    int index = weir_flow_engine_processor_find(e, processor);
    if (index < 0) {
        *err_out = WEIR_E_NOENT;
        return NULL;
    }
    weir_flow_ctx *ctx = weir_flow_engine_processor(e, (size_t)index);
    if (ctx->type != &weir_flow_proc_invoke_service) {
        *err_out = WEIR_E_INVAL;
        return NULL;
    }
    is_state *st = weir_flow_ctx_state(ctx);
    *err_out = st == NULL ? WEIR_E_AGAIN : 0;
    return st;
}

/* The running simulated dependency of `processor`, or NULL with *err_out
 * (WEIR_E_UNSUPPORTED when it calls a registered service). */
static is_state *is_find_simulated(weir_flow_engine *e, const char *processor, int *err_out)
{
    is_state *st = is_find(e, processor, err_out);
    if (st != NULL && st->dep == NULL) {
        *err_out = WEIR_E_UNSUPPORTED;
        return NULL;
    }
    return st;
}

int weir_flow_invoke_service_set_health(weir_flow_engine *e, const char *processor,
                                        double error_rate, int64_t latency_ns)
{
    int err = 0;
    is_state *st = is_find_simulated(e, processor, &err);
    if (st == NULL) {
        return err;
    }
    if (!(error_rate >= 0.0 && error_rate <= 1.0) || latency_ns < 0 ||
        latency_ns > IS_LATENCY_NS_MAX) {
        return WEIR_E_INVAL;
    }
    weir_flow_simdep_profile p = is_profile(error_rate, latency_ns);
    err = weir_flow_simdep_profile_set(st->dep, true, &p, NULL);
    if (err == 0) {
        weir_flow_simdep_degrade(st->dep, true);
    }
    return err;
}

int weir_flow_invoke_service_restore(weir_flow_engine *e, const char *processor)
{
    int err = 0;
    is_state *st = is_find_simulated(e, processor, &err);
    if (st != NULL) {
        weir_flow_simdep_degrade(st->dep, false);
    }
    return err;
}

weir_flow_invoker *weir_flow_invoke_service_invoker(weir_flow_engine *e, const char *processor)
{
    int err = 0;
    is_state *st = is_find(e, processor, &err);
    return st != NULL ? st->inv : NULL;
}
