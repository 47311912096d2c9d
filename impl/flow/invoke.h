/* Calling a dependency through a circuit breaker, with a timeout and a
 * fallback decision: the logic an InvokeService processor wraps around each
 * FlowFile, and a simulated dependency for tests and scenarios.
 *
 * An invoker owns one breaker (flow/breaker.h) and an in-flight table of at
 * most calls_max calls. weir_flow_invoker_start asks the breaker; if it
 * refuses, the call is SHORT_CIRCUITED at once (the dependency never hears of
 * it). Otherwise the dependency is called asynchronously through its
 * weir_flow_dep interface and a timer of timeout_ms starts. Whichever comes
 * first decides the outcome:
 * - the dependency's reply (weir_flow_invoker_reply): SUCCESS for 0, FAILURE
 *   for a WEIR_E_* code;
 * - the timer: TIMEOUT. The call leaves the table; its reply, if one still
 *   comes, is a late reply: counted and ignored, never a second outcome.
 * Each outcome is reported to the breaker (mark_success / mark_failure /
 * mark_timeout / mark_rejected) and gets a route: SUCCESS goes to the
 * success relationship; every other outcome to fallback when
 * fallback_enabled (Hystrix's getFallback runs on failure, timeout and short
 * circuit), else to failure. The caller moves the FlowFile accordingly.
 *
 * The breaker's HALF_OPEN trial is an ordinary call (result.trial tells it).
 * Whatever call ends first while HALF_OPEN decides, as in Hystrix; with
 * sleep_window_ms >= timeout_ms (the defaults) that is always the trial, since
 * calls started before the breaker opened have ended by then.
 *
 * Every started call ends in exactly one outcome, delivered once through the
 * done callback, always from an env event (a timer or the dependency's reply),
 * never from inside weir_flow_invoker_start. Calls decided at once
 * (short-circuited, or refused by the dependency) are returned by
 * weir_flow_invoker_start itself and get no callback.
 *
 * Settings, by their Hystrix command-property names (weir_flow_invoke_config_set;
 * circuitBreaker.* and metrics.rollingStats.* go to the breaker's config):
 *   execution.isolation.thread.timeoutInMilliseconds    -> timeout_ms        1000
 *   execution.isolation.semaphore.maxConcurrentRequests -> calls_max         10
 *   fallback.enabled                                    -> fallback_enabled  true
 * calls_max is a bulkhead with back pressure instead of Hystrix's rejection:
 * when it is full, start returns WEIR_E_AGAIN and counts nothing, so the
 * processor leaves the FlowFile queued and yields (NiFi's way) rather than
 * sending it to fallback. An open breaker still short-circuits when full.
 *
 * Threading: one node's events only. Timers come from the node's env, so the
 * whole thing is deterministic in the simulator.
 */
#ifndef WEIR_FLOW_INVOKE_H
#define WEIR_FLOW_INVOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"
#include "flow/breaker.h"

#define WEIR_FLOW_INVOKE_TIMEOUT_MS_DEFAULT 1000
#define WEIR_FLOW_INVOKE_CALLS_MAX_DEFAULT 10
#define WEIR_FLOW_INVOKE_CALLS_MAX_LIMIT 65535

typedef struct weir_flow_invoker weir_flow_invoker;

typedef struct weir_flow_invoke_config {
    weir_flow_breaker_config breaker;
    int64_t timeout_ms;    /* a call not answered by then is a TIMEOUT; >= 1 */
    int32_t calls_max;     /* calls in flight at once; 1..WEIR_FLOW_INVOKE_CALLS_MAX_LIMIT */
    bool fallback_enabled; /* non-successes route to fallback (else to failure) */
} weir_flow_invoke_config;

typedef enum weir_flow_invoke_outcome {
    WEIR_FLOW_INVOKE_PENDING = 0, /* started: the outcome comes through the done callback */
    WEIR_FLOW_INVOKE_SUCCESS,
    WEIR_FLOW_INVOKE_FAILURE,
    WEIR_FLOW_INVOKE_TIMEOUT,
    WEIR_FLOW_INVOKE_SHORT_CIRCUITED,
} weir_flow_invoke_outcome;

/* Where the caller sends the FlowFile. */
typedef enum weir_flow_invoke_route {
    WEIR_FLOW_INVOKE_ROUTE_NONE = 0, /* no outcome yet (PENDING) */
    WEIR_FLOW_INVOKE_ROUTE_SUCCESS,
    WEIR_FLOW_INVOKE_ROUTE_FAILURE,
    WEIR_FLOW_INVOKE_ROUTE_FALLBACK,
} weir_flow_invoke_route;

typedef struct weir_flow_invoke_result {
    uint64_t call_id; /* 0 when no call was started */
    weir_flow_invoke_outcome outcome;
    weir_flow_invoke_route route;
    int err;            /* FAILURE: the dependency's WEIR_E_*; TIMEOUT: WEIR_E_TIMEOUT; else 0 */
    int64_t started_ns; /* weir_now_ns when start was called */
    int64_t latency_ns; /* from start to the outcome (0 when decided at once) */
    void *call_arg;     /* as given to weir_flow_invoker_start */
    bool trial;         /* the call was the breaker's HALF_OPEN trial */
} weir_flow_invoke_result;

/* Gets each started call's outcome, once. The result is valid only during the
 * call. It may start new calls; it must not free the invoker. */
typedef void (*weir_flow_invoke_done_fn)(void *ctx, const weir_flow_invoke_result *res);

/* A dependency, seen from the invoker. `call` starts one call identified by
 * call_id and returns 0, or a negative WEIR_E_* when the call cannot start
 * (it is then a FAILURE at once). After a 0 it answers later, from an env
 * event and never from inside `call`, with weir_flow_invoker_reply(inv,
 * call_id, result), at most once; it may also never answer (the timeout
 * covers that). `request` belongs to the caller and is valid only during
 * `call`. */
typedef struct weir_flow_dep {
    int (*call)(void *impl, weir_flow_invoker *inv, uint64_t call_id, const void *request);
    void *impl;
} weir_flow_dep;

/* Lifetime counts of one invoker. */
typedef struct weir_flow_invoke_stats {
    uint64_t started; /* calls handed to the dependency */
    uint64_t successes;
    uint64_t failures; /* replies with an error, and calls the dependency refused */
    uint64_t timeouts;
    uint64_t short_circuits;
    uint64_t late_replies; /* replies after the call's timeout: ignored */
    uint64_t busy;         /* starts refused with WEIR_E_AGAIN (calls_max in flight) */
    uint64_t routed_success;
    uint64_t routed_failure;
    uint64_t routed_fallback;
    int32_t in_flight;
    int32_t in_flight_max;
} weir_flow_invoke_stats;

/* Hystrix defaults: the breaker's (flow/breaker.h), timeout 1000 ms, 10 calls
 * in flight, fallback on. */
void weir_flow_invoke_config_default(weir_flow_invoke_config *cfg);

/* Checks ranges, the breaker's included. 0, or WEIR_E_INVAL with *why. */
WEIR_MUST_CHECK int weir_flow_invoke_config_check(const weir_flow_invoke_config *cfg,
                                                  const char **why);

/* Sets one setting by its Hystrix name (table above, and the breaker's).
 * Returns 0, WEIR_E_NOENT for an unknown name, WEIR_E_INVAL with *why. */
WEIR_MUST_CHECK int weir_flow_invoke_config_set(weir_flow_invoke_config *cfg, const char *key,
                                                const char *value, const char **why);

/* Makes an invoker on env calling dep (copied; dep.impl must outlive the
 * invoker), reporting outcomes to done(ctx, ...). Its breaker's window starts
 * at weir_now_ns(env). Returns NULL with *why (static; why may be NULL) on a
 * bad config or when memory runs out. */
weir_flow_invoker *weir_flow_invoker_new(weir_env *env, const weir_flow_invoke_config *cfg,
                                         const weir_flow_dep *dep, weir_flow_invoke_done_fn done,
                                         void *ctx, const char **why);

/* Cancels the timers of the calls in flight and frees everything; those calls
 * get no callback and their replies must not come (free the dependency's
 * pending calls first). NULL is fine. */
void weir_flow_invoker_free(weir_flow_invoker *inv);

/* Frees memory only, without calling the env: for a node's destroy after a
 * crash or at the end of a run (the backend has dropped the timers). */
void weir_flow_invoker_abandon(weir_flow_invoker *inv);

/* Starts one call of the dependency with `request` (passed through to
 * dep.call) and `call_arg` (given back in the result). Always fills *res_out:
 * - returns 0 with outcome PENDING: started; the done callback follows;
 * - returns 0 with outcome SHORT_CIRCUITED (the breaker refused) or FAILURE
 *   (dep.call refused): decided now, routed in *res_out, no callback;
 * - returns WEIR_E_AGAIN: calls_max calls are in flight and the breaker would
 *   let this one through; nothing was counted; try again after an outcome.
 */
WEIR_MUST_CHECK int weir_flow_invoker_start(weir_flow_invoker *inv, const void *request,
                                            void *call_arg, weir_flow_invoke_result *res_out);

/* The dependency's answer to call_id: result 0 for success, a negative
 * WEIR_E_* for failure. A call in flight ends now (its timer is cancelled and
 * the done callback runs before this returns). An answer after the call's
 * timeout is counted in late_replies and ignored. Returns 0 for both, or
 * WEIR_E_INVAL for an id this invoker never issued. */
WEIR_MUST_CHECK int weir_flow_invoker_reply(weir_flow_invoker *inv, uint64_t call_id, int result);

/* The invoker's breaker: for observers and reports (set_observer, health,
 * stats). Owned by the invoker. */
weir_flow_breaker *weir_flow_invoker_breaker(weir_flow_invoker *inv);

void weir_flow_invoker_stats_get(const weir_flow_invoker *inv, weir_flow_invoke_stats *out);

/* The route an outcome takes under cfg (SUCCESS -> success; others ->
 * fallback, or failure when fallback is off; PENDING -> NONE). */
weir_flow_invoke_route weir_flow_invoke_route_for(const weir_flow_invoke_config *cfg,
                                                  weir_flow_invoke_outcome outcome);

/* "SUCCESS", "FAILURE", "TIMEOUT", "SHORT_CIRCUITED", "PENDING" (static). */
const char *weir_flow_invoke_outcome_name(weir_flow_invoke_outcome outcome);

/* "success", "failure", "fallback", "none": the relationship names (static). */
const char *weir_flow_invoke_route_name(weir_flow_invoke_route route);

/* ---- a simulated dependency ----
 *
 * Answers each call after a latency drawn from the node's seeded PRNG
 * (weir_random: so a run replays from its seed), with an error at error_rate.
 * Two profiles, normal and degraded; weir_flow_simdep_degrade switches
 * between them at run time (a dependency that degrades and recovers), and
 * weir_flow_simdep_profile_set changes either one. A call's outcome and
 * latency are drawn when it starts, under the profile active then.
 *
 * Each call draws, in this order: error, lost, slow (three units in [0, 1)),
 * then a latency uniform in [latency_ns_min, latency_ns_max]; a slow call
 * takes slow_latency_ns instead. A lost call is never answered. */
typedef struct weir_flow_simdep_profile {
    double error_rate;      /* share of answers that are errors (WEIR_E_IO); [0, 1] */
    double lost_rate;       /* share of calls never answered; [0, 1] */
    double slow_rate;       /* share of calls that take slow_latency_ns; [0, 1] */
    int64_t latency_ns_min; /* >= 0 */
    int64_t latency_ns_max; /* >= latency_ns_min */
    int64_t slow_latency_ns;
} weir_flow_simdep_profile;

typedef struct weir_flow_simdep_config {
    weir_flow_simdep_profile normal;
    weir_flow_simdep_profile degraded;
} weir_flow_simdep_config;

typedef struct weir_flow_simdep_stats {
    uint64_t calls;
    uint64_t answered_ok;
    uint64_t answered_error;
    uint64_t lost;
    int64_t pending; /* answers scheduled, not yet given */
} weir_flow_simdep_stats;

typedef struct weir_flow_simdep weir_flow_simdep;

/* normal: no errors, 5..50 ms; degraded: 50 % errors, 5..50 ms, 20 % of calls
 * taking 3 s (they time out under the default 1 s). */
void weir_flow_simdep_config_default(weir_flow_simdep_config *cfg);

/* Checks a profile's ranges: 0, or WEIR_E_INVAL with *why. */
WEIR_MUST_CHECK int weir_flow_simdep_profile_check(const weir_flow_simdep_profile *p,
                                                   const char **why);

/* Makes a simulated dependency on env (its timers and PRNG). NULL with *why on
 * a bad profile or when memory runs out. */
weir_flow_simdep *weir_flow_simdep_new(weir_env *env, const weir_flow_simdep_config *cfg,
                                       const char **why);

/* Cancels every answer still pending (they never come) and frees. NULL is fine. */
void weir_flow_simdep_free(weir_flow_simdep *dep);

/* Memory only, without the env (a node's destroy). */
void weir_flow_simdep_abandon(weir_flow_simdep *dep);

/* The weir_flow_dep to give weir_flow_invoker_new. */
weir_flow_dep weir_flow_simdep_dep(weir_flow_simdep *dep);

/* Switches to the degraded profile (on) or back to normal (off). */
void weir_flow_simdep_degrade(weir_flow_simdep *dep, bool on);

bool weir_flow_simdep_degraded(const weir_flow_simdep *dep);

/* Replaces one profile (degraded or normal); takes effect for calls started
 * from now on. 0, or WEIR_E_INVAL with *why. */
WEIR_MUST_CHECK int weir_flow_simdep_profile_set(weir_flow_simdep *dep, bool degraded,
                                                 const weir_flow_simdep_profile *p,
                                                 const char **why);

void weir_flow_simdep_stats_get(const weir_flow_simdep *dep, weir_flow_simdep_stats *out);

#endif
