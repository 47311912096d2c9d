/* A Hystrix-style circuit breaker as a pure state machine on the caller's clock.
 *
 * Every call that depends on time takes now_ns (from weir_now_ns on a node,
 * or a number a test makes up), so the breaker reads no clock, starts no
 * timer and draws no random number: the same calls give the same states.
 *
 * States (Hystrix's HystrixCircuitBreaker, 1.5):
 * - CLOSED: requests pass. Outcomes are counted in a rolling window of
 *   rolling_window_ms cut into rolling_bucket_count buckets. When the window
 *   holds at least request_volume_threshold requests and at least
 *   error_threshold_percent of them are errors, the breaker opens.
 * - OPEN: requests are refused (short-circuited) until more than
 *   sleep_window_ms has passed since it opened; then the first
 *   weir_flow_breaker_allow_request is granted as the one trial and the
 *   breaker is HALF_OPEN.
 * - HALF_OPEN: every other request is refused while the trial runs. The
 *   trial's success closes the breaker and empties the window; its failure
 *   or timeout opens it again for another sleep window.
 *
 * Disabled or forced (enabled false, force_open, force_closed), the breaker
 * still counts outcomes but its state stays CLOSED; force_open refuses and
 * force_closed allows every request.
 *
 * Health counts (Hystrix's HealthCounts): total = successes + failures +
 * timeouts, errors = failures + timeouts, error_percent = errors * 100 /
 * total rounded down. Short-circuited requests are counted apart and never
 * in the total (Hystrix 1.5; 1.4 counted them as errors).
 *
 * Where weir differs from Hystrix, and why:
 * - Hystrix re-reads the window on a health snapshot every 500 ms
 *   (metrics.healthSnapshot.intervalInMilliseconds), so it may open up to
 *   that much late. weir reads it at every allow_request and every mark, so
 *   the request that crosses the threshold is the one that opens it — in
 *   virtual time the opening point is exact and testable.
 * - Buckets are aligned to the time the breaker was made (now_ns given to
 *   weir_flow_breaker_new), not to when a stream subscribed; the window is
 *   the current bucket and the rolling_bucket_count - 1 before it, so an
 *   outcome counts until its bucket is rolling_window_ms old.
 * - An error percentage is computed in integers (Hystrix uses a double),
 *   so 29 of 100 is 29 %, never 28.
 * - A clock that steps back (weir_sim_clock_set) is held at the last now_ns
 *   seen: the window never rewinds.
 * - The execution timeout (1000 ms) lives with the code that runs the timer:
 *   weir_flow_invoke_config.timeout_ms (flow/invoke.h). The breaker is told
 *   of timeouts through weir_flow_breaker_mark_timeout.
 *
 * Settings, by their Hystrix command-property names (weir_flow_breaker_config_set):
 *   circuitBreaker.enabled                     -> enabled                  true
 *   circuitBreaker.requestVolumeThreshold      -> request_volume_threshold 20
 *   circuitBreaker.errorThresholdPercentage    -> error_threshold_percent  50
 *   circuitBreaker.sleepWindowInMilliseconds   -> sleep_window_ms          5000
 *   circuitBreaker.forceOpen                   -> force_open               false
 *   circuitBreaker.forceClosed                 -> force_closed             false
 *   metrics.rollingStats.timeInMilliseconds    -> rolling_window_ms        10000
 *   metrics.rollingStats.numBuckets            -> rolling_bucket_count     10
 *
 * Threading: one breaker belongs to one node and is used from its events only.
 * Invariants: successes + failures + timeouts of the window == total; the
 * state is HALF_OPEN only between a granted trial and its mark.
 */
#ifndef WEIR_FLOW_BREAKER_H
#define WEIR_FLOW_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define WEIR_FLOW_BREAKER_VOLUME_DEFAULT 20
#define WEIR_FLOW_BREAKER_ERROR_PERCENT_DEFAULT 50
#define WEIR_FLOW_BREAKER_SLEEP_WINDOW_MS_DEFAULT 5000
#define WEIR_FLOW_BREAKER_ROLLING_WINDOW_MS_DEFAULT 10000
#define WEIR_FLOW_BREAKER_ROLLING_BUCKETS_DEFAULT 10
#define WEIR_FLOW_BREAKER_ROLLING_BUCKETS_MAX 1000

typedef enum weir_flow_breaker_state {
    WEIR_FLOW_BREAKER_CLOSED = 0,
    WEIR_FLOW_BREAKER_OPEN = 1,
    WEIR_FLOW_BREAKER_HALF_OPEN = 2,
} weir_flow_breaker_state;

typedef struct weir_flow_breaker_config {
    bool enabled;                     /* false: never refuses, still counts */
    int32_t request_volume_threshold; /* requests in the window before it may open; >= 1 */
    int32_t error_threshold_percent;  /* opens at >= this error percentage; 1..100 */
    int64_t sleep_window_ms;          /* OPEN this long before a trial; >= 0 */
    bool force_open;                  /* refuse everything (wins over force_closed) */
    bool force_closed;                /* allow everything, whatever the counts */
    int64_t rolling_window_ms;        /* > 0, a multiple of rolling_bucket_count */
    int32_t rolling_bucket_count;     /* 1..WEIR_FLOW_BREAKER_ROLLING_BUCKETS_MAX */
} weir_flow_breaker_config;

/* The window's counts at one instant. */
typedef struct weir_flow_breaker_health {
    int64_t total;         /* successes + failures + timeouts */
    int64_t errors;        /* failures + timeouts */
    int32_t error_percent; /* errors * 100 / total rounded down; 0 when total is 0 */
    int64_t successes;
    int64_t failures;
    int64_t timeouts;
    int64_t short_circuits; /* refused requests reported by mark_rejected; not in total */
} weir_flow_breaker_health;

/* One change of state, for observers (reports, logs, tests). */
typedef struct weir_flow_breaker_transition {
    weir_flow_breaker_state from;
    weir_flow_breaker_state to;
    int64_t at_ns;                   /* the now_ns of the call that made the change */
    weir_flow_breaker_health health; /* the window just before the change */
} weir_flow_breaker_transition;

/* Called synchronously inside the breaker call that changes the state. It
 * may read the breaker (state, health) but must not mark, allow or free it. */
typedef void (*weir_flow_breaker_observer_fn)(void *arg, const weir_flow_breaker_transition *t);

/* Lifetime counts, never reset (the window is). */
typedef struct weir_flow_breaker_stats {
    uint64_t opens;      /* CLOSED or HALF_OPEN -> OPEN */
    uint64_t half_opens; /* OPEN -> HALF_OPEN: trials granted */
    uint64_t closes;     /* HALF_OPEN -> CLOSED */
    uint64_t successes;
    uint64_t failures;
    uint64_t timeouts;
    uint64_t short_circuits;
} weir_flow_breaker_stats;

typedef struct weir_flow_breaker weir_flow_breaker;

/* Fills cfg with Hystrix's defaults (table above). */
void weir_flow_breaker_config_default(weir_flow_breaker_config *cfg);

/* Checks a config's ranges. Returns 0, or WEIR_E_INVAL with *why (static
 * text) naming the setting. */
WEIR_MUST_CHECK int weir_flow_breaker_config_check(const weir_flow_breaker_config *cfg,
                                                   const char **why);

/* Sets one setting from text by its Hystrix name (table above; booleans are
 * "true"/"false", numbers decimal). Returns 0, WEIR_E_NOENT for a name that
 * is not a breaker setting, or WEIR_E_INVAL with *why for a bad value. Ranges
 * that involve two settings are checked by weir_flow_breaker_config_check. */
WEIR_MUST_CHECK int weir_flow_breaker_config_set(weir_flow_breaker_config *cfg, const char *key,
                                                 const char *value, const char **why);

/* Makes a CLOSED breaker with an empty window whose first bucket starts at
 * now_ns. The config is copied. Returns NULL with *why (static text; why may
 * be NULL) on a bad config or when memory runs out. */
weir_flow_breaker *weir_flow_breaker_new(const weir_flow_breaker_config *cfg, int64_t now_ns,
                                         const char **why);

/* Frees the breaker; NULL is fine. */
void weir_flow_breaker_free(weir_flow_breaker *b);

/* Registers the one observer (NULL removes it). */
void weir_flow_breaker_set_observer(weir_flow_breaker *b, weir_flow_breaker_observer_fn fn,
                                    void *arg);

/* Asks to run one request now (Hystrix's attemptExecution). Not idempotent:
 * true in OPEN after the sleep window is the one trial and makes the breaker
 * HALF_OPEN, so whoever gets true must report the request's outcome with a
 * mark. False means short-circuited: report it with mark_rejected. In CLOSED
 * it first re-reads the window, which may open the breaker. */
bool weir_flow_breaker_allow_request(weir_flow_breaker *b, int64_t now_ns);

/* Would allow_request grant a request now? (Hystrix's allowRequest.) Changes
 * nothing: no roll, no transition. */
bool weir_flow_breaker_would_allow(const weir_flow_breaker *b, int64_t now_ns);

/* Outcome reports for a request that allow_request let through. A success in
 * HALF_OPEN closes the breaker and empties the window; a failure or timeout in
 * HALF_OPEN opens it again (a new sleep window from now_ns); in CLOSED each
 * mark re-reads the window and may open it. In OPEN they are only counted. */
void weir_flow_breaker_mark_success(weir_flow_breaker *b, int64_t now_ns);
void weir_flow_breaker_mark_failure(weir_flow_breaker *b, int64_t now_ns);
void weir_flow_breaker_mark_timeout(weir_flow_breaker *b, int64_t now_ns);

/* Counts one request that allow_request refused (short-circuited). */
void weir_flow_breaker_mark_rejected(weir_flow_breaker *b, int64_t now_ns);

/* The state now. OPEN stays OPEN after the sleep window until a request asks. */
weir_flow_breaker_state weir_flow_breaker_state_get(const weir_flow_breaker *b);

/* When the breaker last opened (meaningful in OPEN and HALF_OPEN). */
int64_t weir_flow_breaker_opened_at_ns(const weir_flow_breaker *b);

/* The window's counts as of now_ns (rolls the window first: not const). */
void weir_flow_breaker_health_get(weir_flow_breaker *b, int64_t now_ns,
                                  weir_flow_breaker_health *out);

void weir_flow_breaker_stats_get(const weir_flow_breaker *b, weir_flow_breaker_stats *out);

const weir_flow_breaker_config *weir_flow_breaker_config_get(const weir_flow_breaker *b);

/* "CLOSED", "OPEN", "HALF_OPEN" (static). */
const char *weir_flow_breaker_state_name(weir_flow_breaker_state s);

#endif
