/* The circuit breaker (flow/breaker.h), the invoker around a dependency call
 * (flow/invoke.h) and its simulated dependency.
 *
 * The breaker is a pure state machine: its tests make up the clock. The
 * invoker's tests run on a fake env whose time moves only when the test
 * advances it. The last tests run an invoker inside the simulator (a forked
 * child per run): a dependency degrades at 10 s and recovers at 30 s; the
 * breaker must open within its window, send traffic to fallback, close after
 * the recovery, and replay with the same trace hash from the same seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child_exit.h"
#include "core/hash.h"
#include "env/timer_heap.h"
#include "env/world.h"
#include "flow/breaker.h"
#include "flow/invoke.h"
#include "sim.h"

#define MS 1000000LL
#define S 1000000000LL

/* ---- breaker helpers ---- */

static weir_flow_breaker *breaker_default(int64_t now_ns)
{
    weir_flow_breaker_config cfg;
    weir_flow_breaker_config_default(&cfg);
    weir_flow_breaker *b = weir_flow_breaker_new(&cfg, now_ns, NULL);
    assert_non_null(b);
    return b;
}

static void fail_n(weir_flow_breaker *b, int n, int64_t now_ns)
{
    for (int i = 0; i < n; i++) {
        assert_true(weir_flow_breaker_allow_request(b, now_ns));
        weir_flow_breaker_mark_failure(b, now_ns);
    }
}

static void succeed_n(weir_flow_breaker *b, int n, int64_t now_ns)
{
    for (int i = 0; i < n; i++) {
        assert_true(weir_flow_breaker_allow_request(b, now_ns));
        weir_flow_breaker_mark_success(b, now_ns);
    }
}

/* Opens a default breaker at `at_ns` with 20 failures; returns it. */
static weir_flow_breaker *breaker_opened_at(int64_t at_ns)
{
    weir_flow_breaker *b = breaker_default(0);
    fail_n(b, 20, at_ns);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), at_ns);
    return b;
}

/* ---- breaker: configuration ---- */

static void test_flow_breaker_defaults_are_hystrix_defaults(void **state)
{
    (void)state;
    weir_flow_breaker_config cfg;
    weir_flow_breaker_config_default(&cfg);
    assert_true(cfg.enabled);
    assert_int_equal(cfg.request_volume_threshold, 20);
    assert_int_equal(cfg.error_threshold_percent, 50);
    assert_int_equal(cfg.sleep_window_ms, 5000);
    assert_int_equal(cfg.rolling_window_ms, 10000);
    assert_int_equal(cfg.rolling_bucket_count, 10);
    assert_false(cfg.force_open);
    assert_false(cfg.force_closed);
    weir_flow_invoke_config icfg;
    weir_flow_invoke_config_default(&icfg);
    assert_int_equal(icfg.timeout_ms, 1000);
    assert_int_equal(icfg.calls_max, 10);
    assert_true(icfg.fallback_enabled);
    assert_memory_equal(&icfg.breaker, &cfg, sizeof cfg);
}

static void test_flow_breaker_config_set_takes_hystrix_names(void **state)
{
    (void)state;
    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    const char *why = NULL;
    static const struct {
        const char *key;
        const char *value;
    } ok[] = {
        {"circuitBreaker.requestVolumeThreshold", "5"},
        {"circuitBreaker.errorThresholdPercentage", "25"},
        {"circuitBreaker.sleepWindowInMilliseconds", "200"},
        {"circuitBreaker.enabled", "false"},
        {"circuitBreaker.forceOpen", "true"},
        {"circuitBreaker.forceClosed", "true"},
        {"metrics.rollingStats.timeInMilliseconds", "2000"},
        {"metrics.rollingStats.numBuckets", "4"},
        {"execution.isolation.thread.timeoutInMilliseconds", "250"},
        {"execution.isolation.semaphore.maxConcurrentRequests", "3"},
        {"fallback.enabled", "false"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(weir_flow_invoke_config_set(&cfg, ok[i].key, ok[i].value, &why), 0);
    }
    assert_int_equal(cfg.breaker.request_volume_threshold, 5);
    assert_int_equal(cfg.breaker.error_threshold_percent, 25);
    assert_int_equal(cfg.breaker.sleep_window_ms, 200);
    assert_false(cfg.breaker.enabled);
    assert_true(cfg.breaker.force_open);
    assert_true(cfg.breaker.force_closed);
    assert_int_equal(cfg.breaker.rolling_window_ms, 2000);
    assert_int_equal(cfg.breaker.rolling_bucket_count, 4);
    assert_int_equal(cfg.timeout_ms, 250);
    assert_int_equal(cfg.calls_max, 3);
    assert_false(cfg.fallback_enabled);
    assert_int_equal(weir_flow_invoke_config_check(&cfg, &why), 0);

    assert_int_equal(weir_flow_invoke_config_set(&cfg, "circuitBreaker.nope", "1", &why),
                     WEIR_E_NOENT);
    assert_int_equal(
        weir_flow_invoke_config_set(&cfg, "circuitBreaker.errorThresholdPercentage", "101", &why),
        WEIR_E_INVAL);
    assert_non_null(strstr(why, "errorThresholdPercentage"));
    assert_int_equal(
        weir_flow_invoke_config_set(&cfg, "circuitBreaker.requestVolumeThreshold", "20x", &why),
        WEIR_E_INVAL);
    assert_int_equal(weir_flow_invoke_config_set(&cfg, "fallback.enabled", "yes", &why),
                     WEIR_E_INVAL);
    assert_int_equal(weir_flow_invoke_config_set(
                         &cfg, "execution.isolation.thread.timeoutInMilliseconds", "0", &why),
                     WEIR_E_INVAL);
    /* A window that the buckets do not divide is refused, as Hystrix does. */
    assert_int_equal(
        weir_flow_invoke_config_set(&cfg, "metrics.rollingStats.numBuckets", "3", &why), 0);
    assert_int_equal(weir_flow_invoke_config_check(&cfg, &why), WEIR_E_INVAL);
    assert_non_null(strstr(why, "multiple"));
    assert_null(weir_flow_breaker_new(&cfg.breaker, 0, &why));
    assert_non_null(why);
}

/* ---- breaker: opening ---- */

static void test_flow_breaker_19_failures_do_not_open_it_the_20th_does(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    fail_n(b, 19, 100 * MS);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 100 * MS, &h);
    assert_int_equal(h.total, 19);
    assert_int_equal(h.errors, 19);
    assert_int_equal(h.error_percent, 100);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    assert_true(weir_flow_breaker_allow_request(b, 200 * MS));
    weir_flow_breaker_mark_failure(b, 200 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), 200 * MS);
    assert_false(weir_flow_breaker_allow_request(b, 200 * MS));
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_opens_at_50_percent_errors_not_below(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    succeed_n(b, 11, 1 * S);
    fail_n(b, 9, 1 * S); /* 20 requests, 45 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    fail_n(b, 1, 1 * S); /* 21 requests, 10 errors: 47 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 1 * S, &h);
    assert_int_equal(h.error_percent, 47);
    assert_true(weir_flow_breaker_allow_request(b, 1 * S));
    weir_flow_breaker_mark_failure(b, 1 * S); /* 22 requests, 11 errors: 50 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_a_success_that_reaches_the_volume_opens_it(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    fail_n(b, 10, 1 * S);
    succeed_n(b, 9, 1 * S); /* 19 requests at 52 %: below the volume */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    assert_true(weir_flow_breaker_allow_request(b, 1 * S));
    weir_flow_breaker_mark_success(b, 1 * S); /* 20 requests at 50 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_timeouts_count_as_failures(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    for (int i = 0; i < 19; i++) {
        assert_true(weir_flow_breaker_allow_request(b, 2 * S));
        weir_flow_breaker_mark_timeout(b, 2 * S);
    }
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 2 * S, &h);
    assert_int_equal(h.timeouts, 19);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.errors, 19);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    assert_true(weir_flow_breaker_allow_request(b, 2 * S));
    weir_flow_breaker_mark_timeout(b, 2 * S);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    /* A timed-out trial opens it again, as a failed one does. */
    assert_true(weir_flow_breaker_allow_request(b, 7 * S + 1));
    weir_flow_breaker_mark_timeout(b, 8 * S);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), 8 * S);
    weir_flow_breaker_free(b);
}

/* ---- breaker: the rolling window ---- */

static void test_flow_breaker_outcomes_roll_off_after_10_s(void **state)
{
    (void)state;
    /* Bucket 0 is [0, 1 s): failures at 0.5 s count until 10 s, not at 10 s. */
    weir_flow_breaker *b = breaker_default(0);
    fail_n(b, 19, 500 * MS);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 10 * S - 1, &h);
    assert_int_equal(h.total, 19);
    assert_true(weir_flow_breaker_allow_request(b, 10 * S - 1));
    weir_flow_breaker_mark_failure(b, 10 * S - 1);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    weir_flow_breaker_free(b);

    b = breaker_default(0);
    fail_n(b, 19, 500 * MS);
    weir_flow_breaker_health_get(b, 10 * S, &h);
    assert_int_equal(h.total, 0);
    assert_true(weir_flow_breaker_allow_request(b, 10 * S));
    weir_flow_breaker_mark_failure(b, 10 * S);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_health_get(b, 10 * S, &h);
    assert_int_equal(h.total, 1);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_buckets_roll_off_one_second_at_a_time(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    for (int sec = 0; sec < 10; sec++) {
        fail_n(b, 1, sec * S + 200 * MS);
        succeed_n(b, 2, sec * S + 300 * MS);
    }
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED); /* 33 % */
    weir_flow_breaker_health h;
    /* The bucket of second k leaves at k + 10 s, not a nanosecond before. */
    for (int sec = 10; sec <= 19; sec++) {
        weir_flow_breaker_health_get(b, sec * S - 1, &h);
        assert_int_equal(h.total, 3 * (20 - sec));
        assert_int_equal(h.errors, 20 - sec);
        weir_flow_breaker_health_get(b, sec * S, &h);
        assert_int_equal(h.total, 3 * (19 - sec));
        assert_int_equal(h.errors, 19 - sec);
    }
    /* A jump far past the window empties it at once. */
    weir_flow_breaker *c = breaker_default(0);
    fail_n(c, 19, 1 * S);
    weir_flow_breaker_health_get(c, 1000 * S, &h);
    assert_int_equal(h.total, 0);
    weir_flow_breaker_free(c);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_opens_when_successes_roll_off_without_new_errors(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    succeed_n(b, 11, 500 * MS);
    succeed_n(b, 10, 1500 * MS);
    fail_n(b, 20, 1500 * MS); /* 41 requests, 20 errors: 48 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    assert_true(weir_flow_breaker_would_allow(b, 10 * S));
    /* At 10 s the 11 successes of bucket 0 leave: 30 requests at 66 %. The
     * next request reads the window and is refused. */
    assert_false(weir_flow_breaker_allow_request(b, 10 * S));
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), 10 * S);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_holds_a_clock_that_steps_back(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_default(0);
    fail_n(b, 10, 5 * S);
    fail_n(b, 9, 1 * S); /* counted at 5 s: the window does not rewind */
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 2 * S, &h);
    assert_int_equal(h.total, 19);
    weir_flow_breaker_health_get(b, 15 * S - 1, &h);
    assert_int_equal(h.total, 19);
    weir_flow_breaker_health_get(b, 15 * S, &h);
    assert_int_equal(h.total, 0);
    weir_flow_breaker_free(b);
}

/* ---- breaker: open, half-open, closed ---- */

static void test_flow_breaker_short_circuits_while_open(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_opened_at(1 * S);
    for (int64_t t = 1 * S; t <= 6 * S; t += 250 * MS) {
        assert_false(weir_flow_breaker_would_allow(b, t));
        assert_false(weir_flow_breaker_allow_request(b, t));
        weir_flow_breaker_mark_rejected(b, t);
    }
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 6 * S, &h);
    assert_int_equal(h.short_circuits, 21);
    assert_int_equal(h.total, 20); /* short circuits are not requests that ran */
    weir_flow_breaker_stats st;
    weir_flow_breaker_stats_get(b, &st);
    assert_int_equal(st.short_circuits, 21);
    assert_int_equal(st.opens, 1);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_half_opens_once_after_the_sleep_window(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_opened_at(1 * S);
    /* Exactly 5 s after opening is still inside the window (strictly after, as Hystrix). */
    assert_false(weir_flow_breaker_would_allow(b, 6 * S));
    assert_false(weir_flow_breaker_allow_request(b, 6 * S));
    assert_true(weir_flow_breaker_would_allow(b, 6 * S + 1));
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_true(weir_flow_breaker_allow_request(b, 6 * S + 1));
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_HALF_OPEN);
    /* One trial only: everyone else is refused while it runs. */
    assert_false(weir_flow_breaker_would_allow(b, 6 * S + 2));
    assert_false(weir_flow_breaker_allow_request(b, 6 * S + 2));
    assert_false(weir_flow_breaker_allow_request(b, 9 * S));
    weir_flow_breaker_stats st;
    weir_flow_breaker_stats_get(b, &st);
    assert_int_equal(st.half_opens, 1);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_trial_success_closes_and_resets_counts(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_opened_at(1 * S);
    assert_true(weir_flow_breaker_allow_request(b, 7 * S));
    weir_flow_breaker_mark_success(b, 7 * S + 20 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 7 * S + 20 * MS, &h);
    assert_int_equal(h.total, 0); /* the 20 failures at 1 s are still in the window's time */
    assert_int_equal(h.errors, 0);
    /* So 19 new failures do not open it again; the 20th does. */
    fail_n(b, 19, 7 * S + 30 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    fail_n(b, 1, 7 * S + 30 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    weir_flow_breaker_stats st;
    weir_flow_breaker_stats_get(b, &st);
    assert_int_equal(st.opens, 2);
    assert_int_equal(st.closes, 1);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_trial_failure_reopens_for_another_sleep_window(void **state)
{
    (void)state;
    weir_flow_breaker *b = breaker_opened_at(1 * S);
    assert_true(weir_flow_breaker_allow_request(b, 7 * S));
    weir_flow_breaker_mark_failure(b, 7 * S + 300 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), 7 * S + 300 * MS);
    assert_false(weir_flow_breaker_allow_request(b, 8 * S));
    assert_false(weir_flow_breaker_allow_request(b, 12 * S + 300 * MS));
    assert_true(weir_flow_breaker_allow_request(b, 12 * S + 300 * MS + 1));
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_HALF_OPEN);
    weir_flow_breaker_mark_success(b, 12 * S + 400 * MS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_free(b);
}

typedef struct trans_log {
    weir_flow_breaker_transition t[16];
    int count;
} trans_log;

static void log_transition(void *arg, const weir_flow_breaker_transition *t)
{
    trans_log *log = arg;
    assert_true(log->count < 16);
    log->t[log->count++] = *t;
}

static void test_flow_breaker_observer_sees_every_transition(void **state)
{
    (void)state;
    trans_log log = {0};
    weir_flow_breaker *b = breaker_default(0);
    weir_flow_breaker_set_observer(b, log_transition, &log);
    fail_n(b, 20, 1 * S);
    assert_true(weir_flow_breaker_allow_request(b, 6 * S + 1));
    weir_flow_breaker_mark_failure(b, 6 * S + 10 * MS);
    assert_true(weir_flow_breaker_allow_request(b, 12 * S));
    weir_flow_breaker_mark_success(b, 12 * S + 10 * MS);
    assert_int_equal(log.count, 5);
    assert_int_equal(log.t[0].from, WEIR_FLOW_BREAKER_CLOSED);
    assert_int_equal(log.t[0].to, WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(log.t[0].at_ns, 1 * S);
    assert_int_equal(log.t[0].health.total, 20);
    assert_int_equal(log.t[0].health.error_percent, 100);
    assert_int_equal(log.t[1].to, WEIR_FLOW_BREAKER_HALF_OPEN);
    assert_int_equal(log.t[1].at_ns, 6 * S + 1);
    assert_int_equal(log.t[2].from, WEIR_FLOW_BREAKER_HALF_OPEN);
    assert_int_equal(log.t[2].to, WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(log.t[2].at_ns, 6 * S + 10 * MS);
    assert_int_equal(log.t[3].to, WEIR_FLOW_BREAKER_HALF_OPEN);
    assert_int_equal(log.t[3].at_ns, 12 * S);
    assert_int_equal(log.t[4].from, WEIR_FLOW_BREAKER_HALF_OPEN);
    assert_int_equal(log.t[4].to, WEIR_FLOW_BREAKER_CLOSED);
    assert_int_equal(log.t[4].at_ns, 12 * S + 10 * MS);
    /* The window just before the reset: the 20 failures at 1 s have rolled
     * off by 12 s; the trial failure and the trial success remain. */
    assert_int_equal(log.t[4].health.total, 2);
    assert_string_equal(weir_flow_breaker_state_name(log.t[4].from), "HALF_OPEN");
    weir_flow_breaker_set_observer(b, NULL, NULL);
    fail_n(b, 20, 13 * S);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(log.count, 5);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_forced_or_disabled_never_changes_state(void **state)
{
    (void)state;
    weir_flow_breaker_config cfg;
    weir_flow_breaker_config_default(&cfg);
    cfg.force_closed = true;
    weir_flow_breaker *b = weir_flow_breaker_new(&cfg, 0, NULL);
    fail_n(b, 100, 1 * S); /* every request allowed */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 1 * S, &h);
    assert_int_equal(h.errors, 100); /* still counted */
    weir_flow_breaker_free(b);

    weir_flow_breaker_config_default(&cfg);
    cfg.enabled = false;
    b = weir_flow_breaker_new(&cfg, 0, NULL);
    fail_n(b, 100, 1 * S);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_free(b);

    weir_flow_breaker_config_default(&cfg);
    cfg.force_open = true;
    cfg.force_closed = true; /* force_open wins */
    b = weir_flow_breaker_new(&cfg, 0, NULL);
    assert_false(weir_flow_breaker_allow_request(b, 1 * S));
    assert_false(weir_flow_breaker_would_allow(b, 100 * S));
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    weir_flow_breaker_free(b);
}

static void test_flow_breaker_smaller_window_and_thresholds_apply(void **state)
{
    (void)state;
    weir_flow_breaker_config cfg;
    weir_flow_breaker_config_default(&cfg);
    cfg.request_volume_threshold = 4;
    cfg.error_threshold_percent = 75;
    cfg.sleep_window_ms = 100;
    cfg.rolling_window_ms = 1000;
    cfg.rolling_bucket_count = 4; /* 250 ms buckets */
    /* Buckets start where the breaker was made: at 3 s. */
    weir_flow_breaker *b = weir_flow_breaker_new(&cfg, 3 * S, NULL);
    fail_n(b, 2, 3 * S + 100 * MS);
    succeed_n(b, 1, 3 * S + 100 * MS);
    fail_n(b, 1, 3 * S + 1100 * MS); /* bucket of 3.0-3.25 s gone: 1 request */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    fail_n(b, 2, 3 * S + 1200 * MS);
    succeed_n(b, 1, 3 * S + 1200 * MS); /* 4 requests, 75 % */
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_false(weir_flow_breaker_allow_request(b, 3 * S + 1300 * MS));
    assert_true(weir_flow_breaker_allow_request(b, 3 * S + 1300 * MS + 1));
    weir_flow_breaker_free(b);
}

/* ---- a fake env: time moves when the test says ---- */

typedef struct fake_env {
    weir_env env;
    weir_env_ops ops;
    weir_timer_heap heap;
    int64_t now_ns;
} fake_env;

static int64_t fake_now(weir_env *env)
{
    return ((fake_env *)env->impl)->now_ns;
}

static weir_timer *fake_timer_start(weir_env *env, int64_t delay_ns, weir_timer_cb cb, void *arg)
{
    fake_env *f = env->impl;
    return weir_timer_heap_add(&f->heap, f->now_ns + delay_ns, cb, arg);
}

static void fake_timer_cancel(weir_env *env, weir_timer *t)
{
    weir_timer_heap_cancel(&((fake_env *)env->impl)->heap, t);
}

static void fake_init(fake_env *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->ops.version = WEIR_ENV_OPS_VERSION;
    f->ops.backend = "fake";
    f->ops.now_ns = fake_now;
    f->ops.timer_start = fake_timer_start;
    f->ops.timer_cancel = fake_timer_cancel;
    f->env.ops = &f->ops;
    f->env.impl = f;
    f->env.name = "fake";
    weir_prng_seed(&f->env.prng, seed);
    weir_timer_heap_init(&f->heap);
}

/* Fires every timer due by to_ns, each at its own deadline, then sets the clock to to_ns. */
static void fake_advance_to(fake_env *f, int64_t to_ns)
{
    weir_timer *t;
    while ((t = weir_timer_heap_pop_due(&f->heap, to_ns)) != NULL) {
        if (t->deadline_ns > f->now_ns) {
            f->now_ns = t->deadline_ns;
        }
        weir_timer_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        cb(&f->env, arg);
    }
    f->now_ns = to_ns;
}

static void fake_free(fake_env *f)
{
    weir_timer_heap_free(&f->heap);
}

/* ---- a dependency the test answers by hand ---- */

typedef struct manual_dep {
    int calls;
    uint64_t last_id;
    int refuse; /* returned by call when nonzero */
} manual_dep;

static int manual_call(void *impl, weir_flow_invoker *inv, uint64_t call_id, const void *request)
{
    (void)inv;
    manual_dep *d = impl;
    assert_string_equal((const char *)request, "req");
    d->calls++;
    d->last_id = call_id;
    return d->refuse;
}

typedef struct done_log {
    weir_flow_invoke_result r[64];
    int count;
} done_log;

static void on_done(void *ctx, const weir_flow_invoke_result *res)
{
    done_log *log = ctx;
    assert_true(log->count < 64);
    log->r[log->count++] = *res;
}

typedef struct inv_fixture {
    fake_env f;
    manual_dep dep;
    done_log log;
    weir_flow_invoker *inv;
} inv_fixture;

static void fixture_init(inv_fixture *x, const weir_flow_invoke_config *cfg)
{
    memset(x, 0, sizeof *x);
    fake_init(&x->f, 1);
    weir_flow_dep dep = {.call = manual_call, .impl = &x->dep};
    weir_flow_invoke_config def;
    if (cfg == NULL) {
        weir_flow_invoke_config_default(&def);
        cfg = &def;
    }
    const char *why = NULL;
    x->inv = weir_flow_invoker_new(&x->f.env, cfg, &dep, on_done, &x->log, &why);
    assert_non_null(x->inv);
}

static void fixture_free(inv_fixture *x)
{
    weir_flow_invoker_free(x->inv);
    assert_int_equal(x->f.heap.count, 0); /* every timer cancelled or fired */
    fake_free(&x->f);
}

static uint64_t start_pending(inv_fixture *x, void *arg)
{
    weir_flow_invoke_result res;
    assert_int_equal(weir_flow_invoker_start(x->inv, "req", arg, &res), 0);
    assert_int_equal(res.outcome, WEIR_FLOW_INVOKE_PENDING);
    assert_int_equal(res.route, WEIR_FLOW_INVOKE_ROUTE_NONE);
    assert_int_equal(res.call_id, x->dep.last_id);
    return res.call_id;
}

/* ---- invoker ---- */

static void test_flow_invoke_reply_in_time_routes_to_success(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    int tag = 7;
    uint64_t id = start_pending(&x, &tag);
    assert_int_equal(x.f.heap.count, 1); /* the timeout */
    fake_advance_to(&x.f, 120 * MS);
    assert_int_equal(x.log.count, 0);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, 0), 0);
    assert_int_equal(x.log.count, 1);
    assert_int_equal(x.log.r[0].outcome, WEIR_FLOW_INVOKE_SUCCESS);
    assert_int_equal(x.log.r[0].route, WEIR_FLOW_INVOKE_ROUTE_SUCCESS);
    assert_int_equal(x.log.r[0].latency_ns, 120 * MS);
    assert_int_equal(x.log.r[0].call_id, id);
    assert_ptr_equal(x.log.r[0].call_arg, &tag);
    assert_int_equal(x.f.heap.count, 0); /* the timeout was cancelled */
    fake_advance_to(&x.f, 5 * S);
    assert_int_equal(x.log.count, 1);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.successes, 1);
    assert_int_equal(st.routed_success, 1);
    assert_int_equal(st.in_flight, 0);
    assert_string_equal(weir_flow_invoke_route_name(x.log.r[0].route), "success");
    fixture_free(&x);
}

static void test_flow_invoke_error_reply_routes_to_fallback_or_failure(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    uint64_t id = start_pending(&x, NULL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, WEIR_E_IO), 0);
    assert_int_equal(x.log.r[0].outcome, WEIR_FLOW_INVOKE_FAILURE);
    assert_int_equal(x.log.r[0].err, WEIR_E_IO);
    assert_int_equal(x.log.r[0].route, WEIR_FLOW_INVOKE_ROUTE_FALLBACK);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(weir_flow_invoker_breaker(x.inv), 0, &h);
    assert_int_equal(h.failures, 1);
    fixture_free(&x);

    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    cfg.fallback_enabled = false;
    fixture_init(&x, &cfg);
    id = start_pending(&x, NULL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, WEIR_E_IO), 0);
    assert_int_equal(x.log.r[0].route, WEIR_FLOW_INVOKE_ROUTE_FAILURE);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.routed_failure, 1);
    assert_int_equal(st.routed_fallback, 0);
    fixture_free(&x);
}

static void test_flow_invoke_times_out_at_timeout_ms_and_ignores_the_late_reply(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    fake_advance_to(&x.f, 1 * S);
    uint64_t id = start_pending(&x, NULL);
    fake_advance_to(&x.f, 2 * S - 1);
    assert_int_equal(x.log.count, 0);
    fake_advance_to(&x.f, 2 * S);
    assert_int_equal(x.log.count, 1);
    assert_int_equal(x.log.r[0].outcome, WEIR_FLOW_INVOKE_TIMEOUT);
    assert_int_equal(x.log.r[0].err, WEIR_E_TIMEOUT);
    assert_int_equal(x.log.r[0].route, WEIR_FLOW_INVOKE_ROUTE_FALLBACK);
    assert_int_equal(x.log.r[0].latency_ns, 1 * S);
    /* The answer comes after all: counted, ignored, no second outcome. */
    fake_advance_to(&x.f, 3 * S);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, 0), 0);
    assert_int_equal(x.log.count, 1);
    /* Even when its slot already holds a newer call. */
    uint64_t id2 = start_pending(&x, NULL);
    assert_int_equal(id2 & 0xffff, id & 0xffff);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, 0), 0);
    assert_int_equal(x.log.count, 1);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.late_replies, 2);
    assert_int_equal(st.successes, 0);
    assert_int_equal(st.in_flight, 1);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(weir_flow_invoker_breaker(x.inv), 3 * S, &h);
    assert_int_equal(h.timeouts, 1);
    assert_int_equal(h.successes, 0);
    fixture_free(&x); /* frees with a call in flight: its timer is cancelled */
}

static void test_flow_invoke_reply_with_an_id_never_issued_is_invalid(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    uint64_t id = start_pending(&x, NULL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, 0, 0), WEIR_E_INVAL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id + (1ULL << 16), 0), WEIR_E_INVAL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, (id & ~0xffffULL) | 0xfff, 0), WEIR_E_INVAL);
    assert_int_equal(x.log.count, 0);
    assert_int_equal(weir_flow_invoker_reply(x.inv, id, 0), 0);
    assert_int_equal(x.log.count, 1);
    fixture_free(&x);
}

static void test_flow_invoke_dependency_refusing_to_start_is_a_failure_at_once(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    x.dep.refuse = WEIR_E_CONNREFUSED;
    weir_flow_invoke_result res;
    assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), 0);
    assert_int_equal(res.outcome, WEIR_FLOW_INVOKE_FAILURE);
    assert_int_equal(res.err, WEIR_E_CONNREFUSED);
    assert_int_equal(res.route, WEIR_FLOW_INVOKE_ROUTE_FALLBACK);
    assert_int_equal(x.log.count, 0); /* decided at once: no callback */
    assert_int_equal(x.f.heap.count, 0);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.in_flight, 0);
    fixture_free(&x);
}

static void test_flow_invoke_short_circuits_while_open_without_calling(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    for (int i = 0; i < 20; i++) {
        uint64_t id = start_pending(&x, NULL);
        assert_int_equal(weir_flow_invoker_reply(x.inv, id, WEIR_E_IO), 0);
    }
    weir_flow_breaker *b = weir_flow_invoker_breaker(x.inv);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    int calls = x.dep.calls;
    weir_flow_invoke_result res;
    assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), 0);
    assert_int_equal(res.outcome, WEIR_FLOW_INVOKE_SHORT_CIRCUITED);
    assert_int_equal(res.route, WEIR_FLOW_INVOKE_ROUTE_FALLBACK);
    assert_int_equal(res.call_id, 0);
    assert_int_equal(x.dep.calls, calls);
    assert_int_equal(x.log.count, 20);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(b, 0, &h);
    assert_int_equal(h.short_circuits, 1);

    /* After the sleep window: one trial reaches the dependency; the rest
     * short-circuit; its success closes the breaker. */
    fake_advance_to(&x.f, 5 * S + 1);
    uint64_t trial = start_pending(&x, NULL);
    assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), 0);
    assert_int_equal(res.outcome, WEIR_FLOW_INVOKE_SHORT_CIRCUITED);
    assert_int_equal(x.dep.calls, calls + 1);
    fake_advance_to(&x.f, 5 * S + 40 * MS);
    assert_int_equal(weir_flow_invoker_reply(x.inv, trial, 0), 0);
    assert_true(x.log.r[20].trial);
    assert_int_equal(x.log.r[20].outcome, WEIR_FLOW_INVOKE_SUCCESS);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_CLOSED);
    uint64_t after = start_pending(&x, NULL);
    assert_int_equal(weir_flow_invoker_reply(x.inv, after, 0), 0);
    assert_false(x.log.r[21].trial);
    fixture_free(&x);
}

static void test_flow_invoke_timed_out_trial_reopens_the_breaker(void **state)
{
    (void)state;
    inv_fixture x;
    fixture_init(&x, NULL);
    weir_flow_breaker *b = weir_flow_invoker_breaker(x.inv);
    x.dep.refuse = WEIR_E_IO;
    weir_flow_invoke_result res;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), 0);
    }
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    x.dep.refuse = 0;
    fake_advance_to(&x.f, 6 * S);
    start_pending(&x, NULL);
    fake_advance_to(&x.f, 7 * S);
    assert_int_equal(x.log.count, 1);
    assert_int_equal(x.log.r[0].outcome, WEIR_FLOW_INVOKE_TIMEOUT);
    assert_true(x.log.r[0].trial);
    assert_int_equal(weir_flow_breaker_state_get(b), WEIR_FLOW_BREAKER_OPEN);
    assert_int_equal(weir_flow_breaker_opened_at_ns(b), 7 * S);
    fixture_free(&x);
}

static void test_flow_invoke_full_table_waits_unless_the_breaker_is_open(void **state)
{
    (void)state;
    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    cfg.calls_max = 2;
    inv_fixture x;
    fixture_init(&x, &cfg);
    uint64_t a = start_pending(&x, NULL);
    start_pending(&x, NULL);
    weir_flow_invoke_result res;
    assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), WEIR_E_AGAIN);
    assert_int_equal(x.dep.calls, 2);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.busy, 1);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(st.in_flight_max, 2);
    weir_flow_breaker_health h;
    weir_flow_breaker_health_get(weir_flow_invoker_breaker(x.inv), 0, &h);
    assert_int_equal(h.total + h.short_circuits, 0); /* nothing counted */
    assert_int_equal(weir_flow_invoker_reply(x.inv, a, 0), 0);
    start_pending(&x, NULL); /* a slot is free again */

    /* Full, and the breaker opens meanwhile: answer at once instead of waiting. */
    weir_flow_breaker *b = weir_flow_invoker_breaker(x.inv);
    for (int i = 0; i < 20; i++) {
        weir_flow_breaker_mark_failure(b, 0);
    }
    assert_int_equal(weir_flow_invoker_start(x.inv, "req", NULL, &res), 0);
    assert_int_equal(res.outcome, WEIR_FLOW_INVOKE_SHORT_CIRCUITED);
    fixture_free(&x);
}

typedef struct chain {
    weir_flow_invoker *inv;
    manual_dep *dep;
    int done;
} chain;

static void chain_done(void *ctx, const weir_flow_invoke_result *res)
{
    chain *c = ctx;
    assert_int_equal(res->outcome, WEIR_FLOW_INVOKE_TIMEOUT);
    c->done++;
    if (c->done < 3) {
        weir_flow_invoke_result next;
        assert_int_equal(weir_flow_invoker_start(c->inv, "req", NULL, &next), 0);
        assert_int_equal(next.outcome, WEIR_FLOW_INVOKE_PENDING);
    }
}

static void test_flow_invoke_done_callback_may_start_the_next_call(void **state)
{
    (void)state;
    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    cfg.calls_max = 1;
    fake_env f;
    fake_init(&f, 1);
    manual_dep dep = {0};
    chain c = {0};
    weir_flow_dep d = {.call = manual_call, .impl = &dep};
    c.inv = weir_flow_invoker_new(&f.env, &cfg, &d, chain_done, &c, NULL);
    assert_non_null(c.inv);
    weir_flow_invoke_result res;
    assert_int_equal(weir_flow_invoker_start(c.inv, "req", NULL, &res), 0);
    fake_advance_to(&f, 10 * S);
    assert_int_equal(c.done, 3);
    assert_int_equal(dep.calls, 3);
    weir_flow_invoker_free(c.inv);
    assert_int_equal(f.heap.count, 0);
    fake_free(&f);
}

/* ---- the simulated dependency ---- */

typedef struct simdep_fixture {
    fake_env f;
    weir_flow_simdep *dep;
    weir_flow_invoker *inv;
    done_log log; /* only the first 64 */
    uint64_t outcomes[5];
    int64_t latency_ns_min;
    int64_t latency_ns_max;
} simdep_fixture;

static void simdep_done(void *ctx, const weir_flow_invoke_result *res)
{
    simdep_fixture *x = ctx;
    x->outcomes[res->outcome]++;
    if (res->outcome == WEIR_FLOW_INVOKE_SUCCESS || res->outcome == WEIR_FLOW_INVOKE_FAILURE) {
        if (x->latency_ns_min == 0 || res->latency_ns < x->latency_ns_min) {
            x->latency_ns_min = res->latency_ns;
        }
        if (res->latency_ns > x->latency_ns_max) {
            x->latency_ns_max = res->latency_ns;
        }
    }
}

static void simdep_init(simdep_fixture *x, const weir_flow_simdep_config *dcfg, uint64_t seed)
{
    memset(x, 0, sizeof *x);
    fake_init(&x->f, seed);
    const char *why = NULL;
    x->dep = weir_flow_simdep_new(&x->f.env, dcfg, &why);
    assert_non_null(x->dep);
    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    cfg.breaker.enabled = false; /* measure the dependency itself */
    cfg.calls_max = 4096;
    weir_flow_dep d = weir_flow_simdep_dep(x->dep);
    x->inv = weir_flow_invoker_new(&x->f.env, &cfg, &d, simdep_done, x, &why);
    assert_non_null(x->inv);
}

static void simdep_free(simdep_fixture *x)
{
    weir_flow_simdep_free(x->dep); /* its answers first: they point at the invoker */
    weir_flow_invoker_free(x->inv);
    assert_int_equal(x->f.heap.count, 0);
    fake_free(&x->f);
}

/* One call per ms from the current time for n ms. */
static void simdep_drive(simdep_fixture *x, int n)
{
    for (int i = 0; i < n; i++) {
        weir_flow_invoke_result res;
        assert_int_equal(weir_flow_invoker_start(x->inv, "req", NULL, &res), 0);
        fake_advance_to(&x->f, x->f.now_ns + 1 * MS);
    }
}

static void test_flow_simdep_answers_with_its_error_rate_and_latency(void **state)
{
    (void)state;
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    dcfg.normal.error_rate = 0.3;
    dcfg.normal.latency_ns_min = 5 * MS;
    dcfg.normal.latency_ns_max = 50 * MS;
    simdep_fixture x;
    simdep_init(&x, &dcfg, 42);
    simdep_drive(&x, 10000);
    fake_advance_to(&x.f, x.f.now_ns + 1 * S);
    uint64_t ok = x.outcomes[WEIR_FLOW_INVOKE_SUCCESS];
    uint64_t err = x.outcomes[WEIR_FLOW_INVOKE_FAILURE];
    assert_int_equal(ok + err, 10000);
    assert_int_equal(x.outcomes[WEIR_FLOW_INVOKE_TIMEOUT], 0);
    assert_in_range(err, 2800, 3200); /* 30 % of 10,000; sd ~46 */
    assert_in_range(x.latency_ns_min, 5 * MS, 6 * MS);
    assert_in_range(x.latency_ns_max, 49 * MS, 50 * MS);
    weir_flow_simdep_stats st;
    weir_flow_simdep_stats_get(x.dep, &st);
    assert_int_equal(st.calls, 10000);
    assert_int_equal(st.answered_error, err);
    assert_int_equal(st.pending, 0);
    simdep_free(&x);
}

static void test_flow_simdep_same_seed_same_answers_other_seed_others(void **state)
{
    (void)state;
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    dcfg.normal.error_rate = 0.5;
    uint64_t errs[3];
    uint64_t seeds[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        simdep_fixture x;
        simdep_init(&x, &dcfg, seeds[i]);
        simdep_drive(&x, 2000);
        fake_advance_to(&x.f, x.f.now_ns + 1 * S);
        errs[i] = x.outcomes[WEIR_FLOW_INVOKE_FAILURE];
        simdep_free(&x);
    }
    assert_int_equal(errs[0], errs[1]);
    assert_true(errs[0] != errs[2]);
}

static void test_flow_simdep_degrade_switch_changes_errors_and_latency(void **state)
{
    (void)state;
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg); /* normal: no errors; degraded: 50 %, 20 % slow */
    simdep_fixture x;
    simdep_init(&x, &dcfg, 3);
    simdep_drive(&x, 1000);
    fake_advance_to(&x.f, x.f.now_ns + 1 * S);
    assert_int_equal(x.outcomes[WEIR_FLOW_INVOKE_SUCCESS], 1000);
    assert_false(weir_flow_simdep_degraded(x.dep));

    weir_flow_simdep_degrade(x.dep, true);
    assert_true(weir_flow_simdep_degraded(x.dep));
    simdep_drive(&x, 1000);
    fake_advance_to(&x.f, x.f.now_ns + 4 * S);
    uint64_t timeouts = x.outcomes[WEIR_FLOW_INVOKE_TIMEOUT];
    uint64_t failures = x.outcomes[WEIR_FLOW_INVOKE_FAILURE];
    assert_in_range(timeouts, 150, 250); /* the 3 s calls, 20 % */
    assert_in_range(failures, 330, 470); /* 50 % of the other 80 % */
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.late_replies, timeouts); /* every slow answer came after its timeout */

    weir_flow_simdep_degrade(x.dep, false);
    uint64_t ok_before = x.outcomes[WEIR_FLOW_INVOKE_SUCCESS];
    simdep_drive(&x, 500);
    fake_advance_to(&x.f, x.f.now_ns + 1 * S);
    assert_int_equal(x.outcomes[WEIR_FLOW_INVOKE_SUCCESS] - ok_before, 500);

    /* A profile can be replaced at run time too. */
    weir_flow_simdep_profile p = dcfg.normal;
    p.error_rate = 1.0;
    const char *why = NULL;
    assert_int_equal(weir_flow_simdep_profile_set(x.dep, false, &p, &why), 0);
    uint64_t fail_before = x.outcomes[WEIR_FLOW_INVOKE_FAILURE];
    simdep_drive(&x, 100);
    fake_advance_to(&x.f, x.f.now_ns + 1 * S);
    assert_int_equal(x.outcomes[WEIR_FLOW_INVOKE_FAILURE] - fail_before, 100);
    p.error_rate = 1.5;
    assert_int_equal(weir_flow_simdep_profile_set(x.dep, false, &p, &why), WEIR_E_INVAL);
    simdep_free(&x);
}

static void test_flow_simdep_lost_calls_time_out_with_no_late_reply(void **state)
{
    (void)state;
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    dcfg.normal.lost_rate = 1.0;
    simdep_fixture x;
    simdep_init(&x, &dcfg, 5);
    simdep_drive(&x, 100);
    fake_advance_to(&x.f, x.f.now_ns + 2 * S);
    assert_int_equal(x.outcomes[WEIR_FLOW_INVOKE_TIMEOUT], 100);
    weir_flow_invoke_stats st;
    weir_flow_invoker_stats_get(x.inv, &st);
    assert_int_equal(st.late_replies, 0);
    weir_flow_simdep_stats ds;
    weir_flow_simdep_stats_get(x.dep, &ds);
    assert_int_equal(ds.lost, 100);
    assert_int_equal(ds.pending, 0);
    simdep_free(&x);
}

static void test_flow_simdep_free_cancels_answers_still_pending(void **state)
{
    (void)state;
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    simdep_fixture x;
    simdep_init(&x, &dcfg, 9);
    simdep_drive(&x, 3); /* 3 ms: answers of 5..50 ms still pending */
    weir_flow_simdep_stats ds;
    weir_flow_simdep_stats_get(x.dep, &ds);
    assert_true(ds.pending > 0);
    simdep_free(&x); /* heap empty: both sides cancelled their timers */
}

static void test_flow_simdep_bad_profiles_are_refused(void **state)
{
    (void)state;
    fake_env f;
    fake_init(&f, 1);
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    const char *why = NULL;
    dcfg.degraded.latency_ns_max = dcfg.degraded.latency_ns_min - 1;
    assert_null(weir_flow_simdep_new(&f.env, &dcfg, &why));
    assert_non_null(strstr(why, "latency"));
    weir_flow_simdep_config_default(&dcfg);
    dcfg.normal.lost_rate = -0.1;
    assert_null(weir_flow_simdep_new(&f.env, &dcfg, &why));
    fake_free(&f);
}

/* ---- in the simulator: degrade at 10 s, recover at 30 s ---- */

#define RUN_TRANSITIONS_MAX 64
#define RUN_DEGRADE_NS (10 * S)
#define RUN_RECOVER_NS (30 * S)
#define RUN_END_NS (45 * S)
#define RUN_TICK_NS (10 * MS)

typedef struct run_phase {
    uint64_t requests; /* starts in the phase (busy ones included) */
    uint64_t outcomes[5];
    uint64_t routes[4];
} run_phase;

typedef struct run_result {
    bool ok;
    char failure[160];
    uint64_t trace_hash;
    uint64_t events;
    uint64_t outcome_hash; /* every outcome and transition, in order */
    weir_flow_breaker_transition trans[RUN_TRANSITIONS_MAX];
    int trans_count;
    run_phase phase[4]; /* [0,10) [10,30) [30,37) [37,45] s, by outcome time */
    bool frozen;        /* after the snapshot at 44.999 s: nothing more is counted */
    uint64_t requests;
    uint64_t decided_at_once;
    uint64_t callbacks;
    uint64_t requests_after_open_before_recovery;
    uint64_t short_circuits_after_open_before_recovery;
    weir_flow_invoke_stats inv;
    weir_flow_breaker_stats brk;
    weir_flow_simdep_stats dep;
    weir_flow_breaker_state state_at_end;
} run_result;

typedef struct svc_node {
    weir_env *env;
    run_result *r;
    int64_t t0_ns;
    weir_flow_simdep *dep;
    weir_flow_invoker *inv;
} svc_node;

static run_result the_run;

static int run_phase_of(int64_t t_ns)
{
    if (t_ns < RUN_DEGRADE_NS) {
        return 0;
    }
    if (t_ns < RUN_RECOVER_NS) {
        return 1;
    }
    if (t_ns < RUN_RECOVER_NS + 7 * S) {
        return 2;
    }
    return 3;
}

static void run_fail(run_result *r, const char *what)
{
    if (r->failure[0] == '\0') {
        snprintf(r->failure, sizeof r->failure, "%s", what);
    }
}

static void run_note_outcome(svc_node *n, const weir_flow_invoke_result *res)
{
    run_result *r = n->r;
    int64_t t = weir_now_ns(n->env) - n->t0_ns;
    run_phase *ph = &r->phase[run_phase_of(t)];
    ph->outcomes[res->outcome]++;
    ph->routes[res->route]++;
    uint64_t h = r->outcome_hash;
    h = weir_fnv1a_u64(h, (uint64_t)t);
    h = weir_fnv1a_u64(h, res->call_id);
    h = weir_fnv1a_u64(h, (uint64_t)res->outcome);
    r->outcome_hash = h;
}

static void svc_on_transition(void *arg, const weir_flow_breaker_transition *t)
{
    svc_node *n = arg;
    run_result *r = n->r;
    if (r->trans_count == RUN_TRANSITIONS_MAX) {
        run_fail(r, "too many transitions");
        return;
    }
    weir_flow_breaker_transition rec = *t;
    rec.at_ns -= n->t0_ns;
    r->trans[r->trans_count++] = rec;
    r->outcome_hash = weir_fnv1a_u64(r->outcome_hash, (uint64_t)rec.at_ns * 4 + (uint64_t)rec.to);
}

static void svc_done(void *ctx, const weir_flow_invoke_result *res)
{
    svc_node *n = ctx;
    if (n->r->frozen) {
        return;
    }
    n->r->callbacks++;
    run_note_outcome(n, res);
}

static void svc_tick(weir_env *env, void *arg)
{
    svc_node *n = arg;
    run_result *r = n->r;
    if (r->frozen) {
        return;
    }
    int64_t t = weir_now_ns(env) - n->t0_ns;
    bool open_seen = r->trans_count > 0;
    weir_flow_invoke_result res;
    int rc = weir_flow_invoker_start(n->inv, "req", NULL, &res);
    r->requests++;
    r->phase[run_phase_of(t)].requests++;
    if (rc == 0 && res.outcome != WEIR_FLOW_INVOKE_PENDING) {
        r->decided_at_once++;
        run_note_outcome(n, &res);
    } else if (rc != 0 && rc != WEIR_E_AGAIN) {
        run_fail(r, "start failed");
    }
    if (open_seen && t < RUN_RECOVER_NS) {
        r->requests_after_open_before_recovery++;
        if (rc == 0 && res.outcome == WEIR_FLOW_INVOKE_SHORT_CIRCUITED) {
            r->short_circuits_after_open_before_recovery++;
        }
    }
    if (t + RUN_TICK_NS < RUN_END_NS) {
        weir_timer_start(env, RUN_TICK_NS, svc_tick, n);
    }
}

static void svc_degrade(weir_env *env, void *arg)
{
    (void)env;
    weir_flow_simdep_degrade(((svc_node *)arg)->dep, true);
}

static void svc_recover(weir_env *env, void *arg)
{
    (void)env;
    weir_flow_simdep_degrade(((svc_node *)arg)->dep, false);
}

static void svc_snapshot(weir_env *env, void *arg)
{
    (void)env;
    svc_node *n = arg;
    weir_flow_invoker_stats_get(n->inv, &n->r->inv);
    weir_flow_breaker_stats_get(weir_flow_invoker_breaker(n->inv), &n->r->brk);
    weir_flow_simdep_stats_get(n->dep, &n->r->dep);
    n->r->state_at_end = weir_flow_breaker_state_get(weir_flow_invoker_breaker(n->inv));
    n->r->frozen = true;
}

static void *svc_start(weir_env *env, void *arg)
{
    run_result *r = arg;
    svc_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        run_fail(r, "out of memory");
        return NULL;
    }
    n->env = env;
    n->r = r;
    n->t0_ns = weir_now_ns(env);
    weir_flow_simdep_config dcfg;
    weir_flow_simdep_config_default(&dcfg);
    dcfg.normal.error_rate = 0.01;
    dcfg.degraded.error_rate = 0.8;
    dcfg.degraded.slow_rate = 0.2; /* 3 s: they time out, answers come late */
    const char *why = NULL;
    n->dep = weir_flow_simdep_new(env, &dcfg, &why);
    weir_flow_invoke_config cfg;
    weir_flow_invoke_config_default(&cfg);
    if (weir_flow_invoke_config_set(&cfg, "execution.isolation.semaphore.maxConcurrentRequests",
                                    "64", &why) != 0) {
        run_fail(r, why);
    }
    weir_flow_dep d = weir_flow_simdep_dep(n->dep);
    n->inv = n->dep ? weir_flow_invoker_new(env, &cfg, &d, svc_done, n, &why) : NULL;
    if (n->inv == NULL) {
        run_fail(r, why != NULL ? why : "setup");
        return n;
    }
    weir_flow_breaker_set_observer(weir_flow_invoker_breaker(n->inv), svc_on_transition, n);
    r->outcome_hash = WEIR_FNV_OFFSET;
    weir_timer_start(env, RUN_TICK_NS, svc_tick, n);
    weir_timer_start(env, RUN_DEGRADE_NS, svc_degrade, n);
    weir_timer_start(env, RUN_RECOVER_NS, svc_recover, n);
    weir_timer_start(env, RUN_END_NS - 1 * MS, svc_snapshot, n);
    return n;
}

static void svc_destroy(void *state)
{
    svc_node *n = state;
    if (n == NULL) {
        return;
    }
    weir_flow_simdep_abandon(n->dep);
    weir_flow_invoker_abandon(n->inv);
    free(n);
}

static const weir_node_type svc_type = {"svc", svc_start, svc_destroy};

static void run_in_child(uint64_t seed, run_result *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    run_result *r = &the_run;
    memset(r, 0, sizeof *r);
    if (w == NULL || weir_world_node_add(w, "svc", &svc_type, r) != 0 ||
        weir_world_run(w, RUN_END_NS) != 0) {
        run_fail(r, "world setup failed");
    }
    if (w != NULL) {
        r->trace_hash = weir_sim_trace_hash(w);
        r->events = weir_sim_event_count(w);
    }
    r->ok = r->failure[0] == '\0';
    *out = *r;
    if (w != NULL) {
        weir_world_destroy(w);
    }
}

static run_result run_forked(uint64_t seed)
{
    run_result r;
    memset(&r, 0, sizeof r);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        run_result mine;
        run_in_child(seed, &mine);
        ssize_t n = write(fds[1], &mine, sizeof mine);
        test_child_exit(n == (ssize_t)sizeof mine ? 0 : 3);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(got, sizeof r);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return r;
}

static void print_run(uint64_t seed, const run_result *r)
{
    print_message("seed %llu: %llu requests, trace %016llx, outcomes %016llx; transitions:",
                  (unsigned long long)seed, (unsigned long long)r->requests,
                  (unsigned long long)r->trace_hash, (unsigned long long)r->outcome_hash);
    for (int i = 0; i < r->trans_count; i++) {
        print_message(" %s@%.3fs", weir_flow_breaker_state_name(r->trans[i].to),
                      (double)r->trans[i].at_ns / 1e9);
    }
    print_message("\n  late replies %llu, busy %llu, in flight max %d\n",
                  (unsigned long long)r->inv.late_replies, (unsigned long long)r->inv.busy,
                  r->inv.in_flight_max);
}

/* Checks one run's story: opens within the window after the degradation,
 * short-circuits to fallback while it lasts, closes after the recovery. */
static void check_degrade_recover_run(const run_result *r)
{
    assert_true(r->ok);
    /* Healthy until 10 s: no transition, everything routed to success but the 1 % errors. */
    const run_phase *a = &r->phase[0];
    assert_true(r->trans_count >= 3);
    assert_true(r->trans[0].at_ns > RUN_DEGRADE_NS);
    assert_int_equal(a->outcomes[WEIR_FLOW_INVOKE_SHORT_CIRCUITED], 0);
    assert_int_equal(a->outcomes[WEIR_FLOW_INVOKE_TIMEOUT], 0);
    assert_true(a->routes[WEIR_FLOW_INVOKE_ROUTE_SUCCESS] * 100 >= a->requests * 95);
    /* Opens within one rolling window of the degradation, on >= 20 requests at >= 50 %. */
    assert_int_equal(r->trans[0].from, WEIR_FLOW_BREAKER_CLOSED);
    assert_int_equal(r->trans[0].to, WEIR_FLOW_BREAKER_OPEN);
    assert_true(r->trans[0].at_ns <= RUN_DEGRADE_NS + 10 * S);
    assert_true(r->trans[0].health.total >= 20);
    assert_true(r->trans[0].health.error_percent >= 50);
    /* Every transition is legal; each trial waits out the sleep window. */
    int64_t opened_ns = 0;
    for (int i = 0; i < r->trans_count; i++) {
        const weir_flow_breaker_transition *t = &r->trans[i];
        if (i > 0) {
            assert_int_equal(t->from, r->trans[i - 1].to);
        }
        if (t->to == WEIR_FLOW_BREAKER_OPEN) {
            opened_ns = t->at_ns;
        } else if (t->to == WEIR_FLOW_BREAKER_HALF_OPEN) {
            assert_int_equal(t->from, WEIR_FLOW_BREAKER_OPEN);
            assert_true(t->at_ns > opened_ns + 5 * S);
        } else {
            assert_int_equal(t->from, WEIR_FLOW_BREAKER_HALF_OPEN);
        }
    }
    /* While degraded and open, traffic is short-circuited to fallback. */
    assert_true(r->requests_after_open_before_recovery > 0);
    assert_true(r->short_circuits_after_open_before_recovery * 100 >=
                r->requests_after_open_before_recovery * 90);
    const run_phase *b = &r->phase[1];
    assert_true(b->routes[WEIR_FLOW_INVOKE_ROUTE_FALLBACK] >
                b->routes[WEIR_FLOW_INVOKE_ROUTE_SUCCESS]);
    assert_true(r->inv.late_replies > 0); /* slow answers after their timeout, ignored */
    /* Closes after the recovery: at most a sleep window, a timeout and a tick later. */
    const weir_flow_breaker_transition *last = &r->trans[r->trans_count - 1];
    assert_int_equal(last->to, WEIR_FLOW_BREAKER_CLOSED);
    assert_true(last->at_ns > RUN_RECOVER_NS);
    /* Worst case: a trial started just before 30 s times out at ~31 s; the
     * next one, ~5 s later, answers within 50 ms. */
    assert_true(last->at_ns <= RUN_RECOVER_NS + 1 * S + 5 * S + 50 * MS + 2 * RUN_TICK_NS);
    assert_int_equal(r->state_at_end, WEIR_FLOW_BREAKER_CLOSED);
    const run_phase *d = &r->phase[3];
    assert_int_equal(d->outcomes[WEIR_FLOW_INVOKE_SHORT_CIRCUITED], 0);
    assert_int_equal(d->outcomes[WEIR_FLOW_INVOKE_TIMEOUT], 0);
    assert_true(d->routes[WEIR_FLOW_INVOKE_ROUTE_SUCCESS] * 100 >= d->requests * 95);
    /* Every request is accounted for: routed, still in flight, or refused as busy. */
    uint64_t routed = r->inv.routed_success + r->inv.routed_failure + r->inv.routed_fallback;
    assert_int_equal(r->inv.routed_failure, 0); /* fallback is on */
    assert_int_equal(routed + (uint64_t)r->inv.in_flight + r->inv.busy, r->requests);
    assert_int_equal(r->decided_at_once + r->callbacks, routed);
    assert_int_equal(r->inv.short_circuits, r->brk.short_circuits);
}

static void test_flow_breaker_in_sim_opens_on_degradation_and_closes_after_recovery(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run_result r = run_forked(seed);
        print_run(seed, &r);
        check_degrade_recover_run(&r);
    }
}

static void test_flow_breaker_in_sim_same_seed_gives_same_trace_hash(void **state)
{
    (void)state;
    run_result a = run_forked(11);
    run_result b = run_forked(11);
    run_result c = run_forked(12);
    assert_true(a.ok && b.ok && c.ok);
    assert_true(a.events > 4000);
    assert_int_equal(a.events, b.events);
    assert_int_equal(a.trace_hash, b.trace_hash);
    assert_int_equal(a.outcome_hash, b.outcome_hash);
    assert_int_equal(a.trans_count, b.trans_count);
    assert_memory_equal(a.trans, b.trans, sizeof a.trans);
    assert_true(a.outcome_hash != c.outcome_hash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_breaker_defaults_are_hystrix_defaults),
        cmocka_unit_test(test_flow_breaker_config_set_takes_hystrix_names),
        cmocka_unit_test(test_flow_breaker_19_failures_do_not_open_it_the_20th_does),
        cmocka_unit_test(test_flow_breaker_opens_at_50_percent_errors_not_below),
        cmocka_unit_test(test_flow_breaker_a_success_that_reaches_the_volume_opens_it),
        cmocka_unit_test(test_flow_breaker_timeouts_count_as_failures),
        cmocka_unit_test(test_flow_breaker_outcomes_roll_off_after_10_s),
        cmocka_unit_test(test_flow_breaker_buckets_roll_off_one_second_at_a_time),
        cmocka_unit_test(test_flow_breaker_opens_when_successes_roll_off_without_new_errors),
        cmocka_unit_test(test_flow_breaker_holds_a_clock_that_steps_back),
        cmocka_unit_test(test_flow_breaker_short_circuits_while_open),
        cmocka_unit_test(test_flow_breaker_half_opens_once_after_the_sleep_window),
        cmocka_unit_test(test_flow_breaker_trial_success_closes_and_resets_counts),
        cmocka_unit_test(test_flow_breaker_trial_failure_reopens_for_another_sleep_window),
        cmocka_unit_test(test_flow_breaker_observer_sees_every_transition),
        cmocka_unit_test(test_flow_breaker_forced_or_disabled_never_changes_state),
        cmocka_unit_test(test_flow_breaker_smaller_window_and_thresholds_apply),
        cmocka_unit_test(test_flow_invoke_reply_in_time_routes_to_success),
        cmocka_unit_test(test_flow_invoke_error_reply_routes_to_fallback_or_failure),
        cmocka_unit_test(test_flow_invoke_times_out_at_timeout_ms_and_ignores_the_late_reply),
        cmocka_unit_test(test_flow_invoke_reply_with_an_id_never_issued_is_invalid),
        cmocka_unit_test(test_flow_invoke_dependency_refusing_to_start_is_a_failure_at_once),
        cmocka_unit_test(test_flow_invoke_short_circuits_while_open_without_calling),
        cmocka_unit_test(test_flow_invoke_timed_out_trial_reopens_the_breaker),
        cmocka_unit_test(test_flow_invoke_full_table_waits_unless_the_breaker_is_open),
        cmocka_unit_test(test_flow_invoke_done_callback_may_start_the_next_call),
        cmocka_unit_test(test_flow_simdep_answers_with_its_error_rate_and_latency),
        cmocka_unit_test(test_flow_simdep_same_seed_same_answers_other_seed_others),
        cmocka_unit_test(test_flow_simdep_degrade_switch_changes_errors_and_latency),
        cmocka_unit_test(test_flow_simdep_lost_calls_time_out_with_no_late_reply),
        cmocka_unit_test(test_flow_simdep_free_cancels_answers_still_pending),
        cmocka_unit_test(test_flow_simdep_bad_profiles_are_refused),
        cmocka_unit_test(test_flow_breaker_in_sim_opens_on_degradation_and_closes_after_recovery),
        cmocka_unit_test(test_flow_breaker_in_sim_same_seed_gives_same_trace_hash),
    };
    return cmocka_run_group_tests_name("flow_breaker", tests, NULL, NULL);
}
