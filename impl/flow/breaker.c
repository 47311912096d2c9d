/* The circuit breaker's state machine and its rolling window (breaker.h).
 *
 * The window is a ring of buckets indexed by tick (bucket number since the
 * breaker was made). Rolling to a later tick clears every bucket between, so
 * all buckets in the ring are always inside the window and health is their
 * sum. Invariant: tick_now is the tick of now_last_ns; the bucket of tick t is
 * ring[t % count].
 */
#include "flow/breaker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define BRK_NS_PER_MS 1000000LL

typedef struct brk_bucket {
    int64_t successes;
    int64_t failures;
    int64_t timeouts;
    int64_t short_circuits;
} brk_bucket;

struct weir_flow_breaker {
    weir_flow_breaker_config cfg;
    weir_flow_breaker_state state;
    int64_t origin_ns;    /* start of tick 0 */
    int64_t bucket_ns;    /* rolling_window_ms / rolling_bucket_count, in ns */
    int64_t now_last_ns;  /* the latest now_ns seen (the clock never goes back here) */
    int64_t tick_now;     /* tick of now_last_ns */
    int64_t opened_at_ns; /* last transition to OPEN */
    brk_bucket *ring;     /* rolling_bucket_count buckets */
    weir_flow_breaker_observer_fn observer;
    void *observer_arg;
    weir_flow_breaker_stats stats;
};

void weir_flow_breaker_config_default(weir_flow_breaker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = true;
    cfg->request_volume_threshold = WEIR_FLOW_BREAKER_VOLUME_DEFAULT;
    cfg->error_threshold_percent = WEIR_FLOW_BREAKER_ERROR_PERCENT_DEFAULT;
    cfg->sleep_window_ms = WEIR_FLOW_BREAKER_SLEEP_WINDOW_MS_DEFAULT;
    cfg->force_open = false;
    cfg->force_closed = false;
    cfg->rolling_window_ms = WEIR_FLOW_BREAKER_ROLLING_WINDOW_MS_DEFAULT;
    cfg->rolling_bucket_count = WEIR_FLOW_BREAKER_ROLLING_BUCKETS_DEFAULT;
}

int weir_flow_breaker_config_check(const weir_flow_breaker_config *cfg, const char **why)
{
    const char *w = NULL;
    /* Bounds keep every product below in int64 range: a window of at most
     * ~292 years in ns. */
    if (cfg->request_volume_threshold < 1) {
        w = "circuitBreaker.requestVolumeThreshold must be >= 1";
    } else if (cfg->error_threshold_percent < 1 || cfg->error_threshold_percent > 100) {
        w = "circuitBreaker.errorThresholdPercentage must be in [1, 100]";
    } else if (cfg->sleep_window_ms < 0 || cfg->sleep_window_ms > INT64_MAX / BRK_NS_PER_MS / 2) {
        w = "circuitBreaker.sleepWindowInMilliseconds must be >= 0 (and below ~146 years)";
    } else if (cfg->rolling_bucket_count < 1 ||
               cfg->rolling_bucket_count > WEIR_FLOW_BREAKER_ROLLING_BUCKETS_MAX) {
        w = "metrics.rollingStats.numBuckets must be in [1, 1000]";
    } else if (cfg->rolling_window_ms < 1 ||
               cfg->rolling_window_ms > INT64_MAX / BRK_NS_PER_MS / 2) {
        w = "metrics.rollingStats.timeInMilliseconds must be > 0 (and below ~146 years)";
    } else if (cfg->rolling_window_ms % cfg->rolling_bucket_count != 0) {
        w = "metrics.rollingStats.timeInMilliseconds must be a multiple of "
            "metrics.rollingStats.numBuckets";
    }
    if (why != NULL) {
        *why = w;
    }
    return w == NULL ? 0 : WEIR_E_INVAL;
}

static int brk_parse_int(const char *value, int64_t min, int64_t max, int64_t *out)
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

static int brk_parse_bool(const char *value, bool *out)
{
    if (value != NULL && strcmp(value, "true") == 0) {
        *out = true;
        return 0;
    }
    if (value != NULL && strcmp(value, "false") == 0) {
        *out = false;
        return 0;
    }
    return WEIR_E_INVAL;
}

int weir_flow_breaker_config_set(weir_flow_breaker_config *cfg, const char *key, const char *value,
                                 const char **why)
{
    int64_t v = 0;
    int err;
    const char *w;
    if (strcmp(key, "circuitBreaker.enabled") == 0) {
        err = brk_parse_bool(value, &cfg->enabled);
        w = "circuitBreaker.enabled must be true or false";
    } else if (strcmp(key, "circuitBreaker.forceOpen") == 0) {
        err = brk_parse_bool(value, &cfg->force_open);
        w = "circuitBreaker.forceOpen must be true or false";
    } else if (strcmp(key, "circuitBreaker.forceClosed") == 0) {
        err = brk_parse_bool(value, &cfg->force_closed);
        w = "circuitBreaker.forceClosed must be true or false";
    } else if (strcmp(key, "circuitBreaker.requestVolumeThreshold") == 0) {
        err = brk_parse_int(value, 1, INT32_MAX, &v);
        w = "circuitBreaker.requestVolumeThreshold must be an integer >= 1";
        if (err == 0) {
            cfg->request_volume_threshold = (int32_t)v;
        }
    } else if (strcmp(key, "circuitBreaker.errorThresholdPercentage") == 0) {
        err = brk_parse_int(value, 1, 100, &v);
        w = "circuitBreaker.errorThresholdPercentage must be an integer in [1, 100]";
        if (err == 0) {
            cfg->error_threshold_percent = (int32_t)v;
        }
    } else if (strcmp(key, "circuitBreaker.sleepWindowInMilliseconds") == 0) {
        err = brk_parse_int(value, 0, INT64_MAX / BRK_NS_PER_MS / 2, &v);
        w = "circuitBreaker.sleepWindowInMilliseconds must be an integer >= 0";
        if (err == 0) {
            cfg->sleep_window_ms = v;
        }
    } else if (strcmp(key, "metrics.rollingStats.timeInMilliseconds") == 0) {
        err = brk_parse_int(value, 1, INT64_MAX / BRK_NS_PER_MS / 2, &v);
        w = "metrics.rollingStats.timeInMilliseconds must be an integer > 0";
        if (err == 0) {
            cfg->rolling_window_ms = v;
        }
    } else if (strcmp(key, "metrics.rollingStats.numBuckets") == 0) {
        err = brk_parse_int(value, 1, WEIR_FLOW_BREAKER_ROLLING_BUCKETS_MAX, &v);
        w = "metrics.rollingStats.numBuckets must be an integer in [1, 1000]";
        if (err == 0) {
            cfg->rolling_bucket_count = (int32_t)v;
        }
    } else {
        err = WEIR_E_NOENT;
        w = "not a circuit breaker setting";
    }
    if (why != NULL) {
        *why = err == 0 ? NULL : w;
    }
    return err;
}

weir_flow_breaker *weir_flow_breaker_new(const weir_flow_breaker_config *cfg, int64_t now_ns,
                                         const char **why)
{
    const char *w = NULL;
    if (weir_flow_breaker_config_check(cfg, &w) != 0) {
        if (why != NULL) {
            *why = w;
        }
        return NULL;
    }
    weir_flow_breaker *b = calloc(1, sizeof *b);
    brk_bucket *ring = calloc((size_t)cfg->rolling_bucket_count, sizeof *ring);
    if (b == NULL || ring == NULL) {
        free(b);
        free(ring);
        if (why != NULL) {
            *why = "out of memory";
        }
        return NULL;
    }
    b->cfg = *cfg;
    b->state = WEIR_FLOW_BREAKER_CLOSED;
    b->origin_ns = now_ns;
    b->bucket_ns = cfg->rolling_window_ms / cfg->rolling_bucket_count * BRK_NS_PER_MS;
    b->now_last_ns = now_ns;
    b->tick_now = 0;
    b->opened_at_ns = 0;
    b->ring = ring;
    WEIR_ASSERT(b->bucket_ns > 0);
    return b;
}

void weir_flow_breaker_free(weir_flow_breaker *b)
{
    if (b == NULL) {
        return;
    }
    free(b->ring);
    free(b);
}

void weir_flow_breaker_set_observer(weir_flow_breaker *b, weir_flow_breaker_observer_fn fn,
                                    void *arg)
{
    b->observer = fn;
    b->observer_arg = fn != NULL ? arg : NULL;
}

/* Moves the window to now_ns: clears the buckets of the ticks passed since
 * the last call (all of them at most once). */
static void brk_roll(weir_flow_breaker *b, int64_t now_ns)
{
    if (now_ns <= b->now_last_ns) {
        return; /* same instant, or a clock that stepped back: held */
    }
    b->now_last_ns = now_ns;
    int64_t tick = (now_ns - b->origin_ns) / b->bucket_ns;
    WEIR_ASSERT(tick >= b->tick_now);
    int64_t count = b->cfg.rolling_bucket_count;
    int64_t passed = tick - b->tick_now;
    if (passed >= count) {
        memset(b->ring, 0, (size_t)count * sizeof *b->ring);
    } else {
        for (int64_t t = b->tick_now + 1; t <= tick; t++) {
            memset(&b->ring[t % count], 0, sizeof *b->ring);
        }
    }
    b->tick_now = tick;
}

static brk_bucket *brk_current(weir_flow_breaker *b)
{
    return &b->ring[b->tick_now % b->cfg.rolling_bucket_count];
}

static void brk_sum(const weir_flow_breaker *b, weir_flow_breaker_health *out)
{
    memset(out, 0, sizeof *out);
    for (int32_t i = 0; i < b->cfg.rolling_bucket_count; i++) {
        out->successes += b->ring[i].successes;
        out->failures += b->ring[i].failures;
        out->timeouts += b->ring[i].timeouts;
        out->short_circuits += b->ring[i].short_circuits;
    }
    out->total = out->successes + out->failures + out->timeouts;
    out->errors = out->failures + out->timeouts;
    out->error_percent = out->total > 0 ? (int32_t)(out->errors * 100 / out->total) : 0;
    WEIR_ASSERT(out->errors <= out->total);
    WEIR_ASSERT(out->error_percent >= 0 && out->error_percent <= 100);
}

static void brk_move(weir_flow_breaker *b, weir_flow_breaker_state to, int64_t now_ns)
{
    weir_flow_breaker_transition t;
    t.from = b->state;
    t.to = to;
    t.at_ns = now_ns;
    brk_sum(b, &t.health);
    WEIR_ASSERT(t.from != t.to);
    b->state = to;
    switch (to) {
    case WEIR_FLOW_BREAKER_OPEN:
        b->opened_at_ns = now_ns;
        b->stats.opens++;
        break;
    case WEIR_FLOW_BREAKER_HALF_OPEN:
        WEIR_ASSERT(t.from == WEIR_FLOW_BREAKER_OPEN);
        b->stats.half_opens++;
        break;
    case WEIR_FLOW_BREAKER_CLOSED:
        WEIR_ASSERT(t.from == WEIR_FLOW_BREAKER_HALF_OPEN);
        /* Hystrix resets its metrics stream: old errors must not re-open it. */
        memset(b->ring, 0, (size_t)b->cfg.rolling_bucket_count * sizeof *b->ring);
        b->stats.closes++;
        break;
    }
    if (b->observer != NULL) {
        b->observer(b->observer_arg, &t);
    }
}

/* CLOSED and not forced only: opens when the window has the volume and the error share. */
static void brk_check(weir_flow_breaker *b, int64_t now_ns)
{
    if (b->state != WEIR_FLOW_BREAKER_CLOSED || !b->cfg.enabled || b->cfg.force_open ||
        b->cfg.force_closed) {
        return; /* forced or disabled: counts only, the state stays CLOSED */
    }
    weir_flow_breaker_health h;
    brk_sum(b, &h);
    if (h.total >= b->cfg.request_volume_threshold &&
        h.error_percent >= b->cfg.error_threshold_percent) {
        brk_move(b, WEIR_FLOW_BREAKER_OPEN, now_ns);
    }
}

static bool brk_after_sleep_window(const weir_flow_breaker *b, int64_t now_ns)
{
    /* Strictly after, as Hystrix's isAfterSleepWindow. */
    return now_ns > b->opened_at_ns + b->cfg.sleep_window_ms * BRK_NS_PER_MS;
}

static int64_t brk_clamp(const weir_flow_breaker *b, int64_t now_ns)
{
    return now_ns < b->now_last_ns ? b->now_last_ns : now_ns;
}

bool weir_flow_breaker_allow_request(weir_flow_breaker *b, int64_t now_ns)
{
    now_ns = brk_clamp(b, now_ns);
    brk_roll(b, now_ns);
    if (b->cfg.force_open) {
        return false;
    }
    if (b->cfg.force_closed || !b->cfg.enabled) {
        return true;
    }
    brk_check(b, now_ns);
    switch (b->state) {
    case WEIR_FLOW_BREAKER_CLOSED:
        return true;
    case WEIR_FLOW_BREAKER_OPEN:
        if (brk_after_sleep_window(b, now_ns)) {
            brk_move(b, WEIR_FLOW_BREAKER_HALF_OPEN, now_ns);
            return true;
        }
        return false;
    case WEIR_FLOW_BREAKER_HALF_OPEN:
        return false;
    }
    WEIR_ASSERT(false);
    return false;
}

bool weir_flow_breaker_would_allow(const weir_flow_breaker *b, int64_t now_ns)
{
    now_ns = brk_clamp(b, now_ns);
    if (b->cfg.force_open) {
        return false;
    }
    if (b->cfg.force_closed || !b->cfg.enabled) {
        return true;
    }
    switch (b->state) {
    case WEIR_FLOW_BREAKER_CLOSED:
        return true;
    case WEIR_FLOW_BREAKER_OPEN:
        return brk_after_sleep_window(b, now_ns);
    case WEIR_FLOW_BREAKER_HALF_OPEN:
        return false;
    }
    WEIR_ASSERT(false);
    return false;
}

void weir_flow_breaker_mark_success(weir_flow_breaker *b, int64_t now_ns)
{
    now_ns = brk_clamp(b, now_ns);
    brk_roll(b, now_ns);
    brk_current(b)->successes++;
    b->stats.successes++;
    if (b->state == WEIR_FLOW_BREAKER_HALF_OPEN) {
        brk_move(b, WEIR_FLOW_BREAKER_CLOSED, now_ns); /* empties the window */
        return;
    }
    /* A success raises the volume too: 10 errors + 9 successes, then one more
     * success, is 20 requests at 50 %. */
    brk_check(b, now_ns);
}

static void brk_mark_error(weir_flow_breaker *b, int64_t now_ns, bool timeout)
{
    now_ns = brk_clamp(b, now_ns);
    brk_roll(b, now_ns);
    if (timeout) {
        brk_current(b)->timeouts++;
        b->stats.timeouts++;
    } else {
        brk_current(b)->failures++;
        b->stats.failures++;
    }
    if (b->state == WEIR_FLOW_BREAKER_HALF_OPEN) {
        brk_move(b, WEIR_FLOW_BREAKER_OPEN, now_ns); /* a new sleep window */
        return;
    }
    brk_check(b, now_ns);
}

void weir_flow_breaker_mark_failure(weir_flow_breaker *b, int64_t now_ns)
{
    brk_mark_error(b, now_ns, false);
}

void weir_flow_breaker_mark_timeout(weir_flow_breaker *b, int64_t now_ns)
{
    brk_mark_error(b, now_ns, true);
}

void weir_flow_breaker_mark_rejected(weir_flow_breaker *b, int64_t now_ns)
{
    now_ns = brk_clamp(b, now_ns);
    brk_roll(b, now_ns);
    brk_current(b)->short_circuits++;
    b->stats.short_circuits++;
}

weir_flow_breaker_state weir_flow_breaker_state_get(const weir_flow_breaker *b)
{
    return b->state;
}

int64_t weir_flow_breaker_opened_at_ns(const weir_flow_breaker *b)
{
    return b->opened_at_ns;
}

void weir_flow_breaker_health_get(weir_flow_breaker *b, int64_t now_ns,
                                  weir_flow_breaker_health *out)
{
    brk_roll(b, brk_clamp(b, now_ns));
    brk_sum(b, out);
}

void weir_flow_breaker_stats_get(const weir_flow_breaker *b, weir_flow_breaker_stats *out)
{
    *out = b->stats;
}

const weir_flow_breaker_config *weir_flow_breaker_config_get(const weir_flow_breaker *b)
{
    return &b->cfg;
}

const char *weir_flow_breaker_state_name(weir_flow_breaker_state s)
{
    switch (s) {
    case WEIR_FLOW_BREAKER_CLOSED:
        return "CLOSED";
    case WEIR_FLOW_BREAKER_OPEN:
        return "OPEN";
    case WEIR_FLOW_BREAKER_HALF_OPEN:
        return "HALF_OPEN";
    }
    return "?";
}
