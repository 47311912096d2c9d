/* Differential test: the segmented log against the reference log in model/,
 * inside the simulator, across thousands of random operation sequences.
 *
 * One node restarts over and over. Each incarnation opens the log (recovering
 * from whatever the previous one left), checks it against the model, runs a
 * random sequence of appends, reads, timestamp lookups, rolls, flushes,
 * retention passes and truncations, checking after every step, then either
 * closes cleanly or is crashed. The simulated disk loses unsynced writes at a
 * crash and tears them (keeps a random part, or zeros) — so recovery must cut
 * exactly the torn tail and never lose what was flushed.
 *
 * SimGrid initialises once per process, so each seed runs in a forked child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/prng.h"
#include "env/env.h"
#include "log/log.h"
#include "ref_log.h"
#include "sim.h"

#define DIR "t-0"
#define MAX_EPOCHS 4096

typedef struct diff_state {
    weir_prng rng;
    weir_ref_log model;
    weir_log_config cfg;
    bool closed_cleanly;   /* the last incarnation closed the log */
    int32_t epoch;
    int64_t ts;            /* timestamps drift upward with jitter */
    int incarnation;
    int64_t sequences;
    int64_t steps;
    int64_t crashes_cut;   /* recoveries that cut a torn tail */
    char failure[512];     /* first failure, if any */
} diff_state;

#define CHECK(st, cond, ...)                                                              \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            snprintf((st)->failure, sizeof (st)->failure, __VA_ARGS__);                   \
            return false;                                                                 \
        }                                                                                 \
    } while (0)

static uint64_t rnd(diff_state *st, uint64_t n)
{
    return weir_prng_below(&st->rng, n);
}

/* Everything the log holds equals the model, batch for batch, byte for byte. */
static bool compare_all(diff_state *st, weir_plog *log, const char *when)
{
    weir_ref_log *m = &st->model;
    CHECK(st, weir_plog_start_offset(log) == m->start && weir_plog_end_offset(log) == m->end,
          "%s: log [%lld, %lld) model [%lld, %lld)", when, (long long)weir_plog_start_offset(log),
          (long long)weir_plog_end_offset(log), (long long)m->start, (long long)m->end);
    weir_log_read_result r;
    int err = weir_plog_read(log, m->start, SIZE_MAX, true, &r);
    CHECK(st, err == 0, "%s: full read failed: %s", when, weir_err_str(err));
    size_t at = 0;
    for (size_t i = 0; i < m->n; i++) {
        bool same = at + m->b[i].len <= r.len && memcmp(r.data + at, m->b[i].bytes, m->b[i].len) == 0;
        at += m->b[i].len;
        if (!same) {
            weir_log_read_result_free(&r);
            CHECK(st, false, "%s: batch at offset %lld differs from the model", when,
                  (long long)m->b[i].base);
        }
    }
    bool exact = at == r.len;
    weir_log_read_result_free(&r);
    CHECK(st, exact, "%s: the log returned bytes beyond the model's batches", when);
    /* epochs: cache entries that start below the end equal what the batches imply */
    int32_t ep[MAX_EPOCHS];
    int64_t so[MAX_EPOCHS];
    size_t n = weir_ref_log_epochs(m, ep, so, MAX_EPOCHS);
    const weir_epoch_cache *c = weir_plog_epochs(log);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].start_offset >= m->end) {
            continue;
        }
        CHECK(st, k < n && c->e[i].epoch == ep[k] && c->e[i].start_offset == so[k],
              "%s: epoch entry %zu (%d @ %lld) disagrees with the batches (%d @ %lld; log [%lld, %lld))",
              when, i, c->e[i].epoch, (long long)c->e[i].start_offset, k < n ? ep[k] : -1,
              k < n ? (long long)so[k] : -1LL, (long long)m->start, (long long)m->end);
        k++;
    }
    CHECK(st, k == n, "%s: epoch cache misses %zu epochs", when, n - k);
    return true;
}

static bool op_append(diff_state *st, weir_plog *log)
{
    if (rnd(st, 8) == 0 && st->epoch < 1000) {
        st->epoch += 1 + (int32_t)rnd(st, 2);
    }
    int nb = 1 + (int)rnd(st, 3);
    uint8_t *set = NULL;
    size_t set_len = 0;
    int32_t counts[3];
    int64_t ts[3][8];
    for (int b = 0; b < nb; b++) {
        weir_batch_builder bb;
        weir_batch_builder_init(&bb);
        counts[b] = 1 + (int32_t)rnd(st, 5);
        for (int32_t r = 0; r < counts[b]; r++) {
            st->ts += (int64_t)rnd(st, 400) - 100;
            ts[b][r] = st->ts;
            uint8_t val[400];
            size_t vlen = (size_t)rnd(st, sizeof val);
            for (size_t i = 0; i < vlen; i++) {
                val[i] = (uint8_t)rnd(st, 256);
            }
            char key[16];
            int klen = snprintf(key, sizeof key, "k%llu", (unsigned long long)rnd(st, 100));
            weir_batch_builder_add(&bb, ts[b][r], rnd(st, 4) == 0 ? NULL : key, klen, val,
                                   (int32_t)vlen, NULL, 0);
        }
        uint8_t *buf;
        size_t len;
        if (weir_batch_builder_finish(&bb, &buf, &len) != 0) {
            weir_batch_builder_free(&bb);
            CHECK(st, false, "builder failed");
        }
        set = realloc(set, set_len + len);
        memcpy(set + set_len, buf, len);
        set_len += len;
        weir_batch_builder_free(&bb);
    }
    weir_log_append_info info;
    const char *why = "";
    int64_t end = st->model.end;
    int err = weir_plog_append_leader(log, set, set_len, st->epoch, &info, &why);
    if (err != 0) {
        free(set);
        CHECK(st, false, "append failed: %s (%s)", weir_err_str(err), why);
    }
    int64_t total = 0;
    size_t at = 0;
    for (int b = 0; b < nb; b++) {
        size_t len = (size_t)((uint32_t)set[at + 8] << 24 | (uint32_t)set[at + 9] << 16 |
                              (uint32_t)set[at + 10] << 8 | set[at + 11]) + 12;
        weir_ref_log_append(&st->model, set + at, len, counts[b], st->epoch, ts[b]);
        at += len;
        total += counts[b];
    }
    free(set);
    CHECK(st, info.first_offset == end && info.last_offset == end + total - 1 && info.batches == nb,
          "append info [%lld, %lld] for %d batches, expected from %lld", (long long)info.first_offset,
          (long long)info.last_offset, info.batches, (long long)end);
    CHECK(st, weir_plog_end_offset(log) == st->model.end, "end after append");
    return true;
}

static bool op_read(diff_state *st, weir_plog *log)
{
    weir_ref_log *m = &st->model;
    int64_t span = m->end - m->start + 5;
    int64_t off = m->start - 2 + (int64_t)rnd(st, (uint64_t)span);
    size_t max = rnd(st, 2) ? (size_t)rnd(st, 3000) : SIZE_MAX;
    bool min_one = rnd(st, 4) != 0;
    size_t first, last;
    bool in_range = weir_ref_log_read(m, off, max, min_one, &first, &last);
    weir_log_read_result r;
    int err = weir_plog_read(log, off, max, min_one, &r);
    if (!in_range) {
        CHECK(st, err == WEIR_E_RANGE, "read at %lld outside [%lld, %lld]: %s", (long long)off,
              (long long)m->start, (long long)m->end, weir_err_str(err));
        return true;
    }
    CHECK(st, err == 0, "read at %lld failed: %s", (long long)off, weir_err_str(err));
    size_t at = 0;
    bool same = true;
    for (size_t i = first; i < last && same; i++) {
        same = at + m->b[i].len <= r.len && memcmp(r.data + at, m->b[i].bytes, m->b[i].len) == 0;
        at += m->b[i].len;
    }
    same = same && at == r.len;
    size_t got = r.len;
    weir_log_read_result_free(&r);
    CHECK(st, same, "read at %lld max %zu min_one %d: %zu bytes, model wants batches [%zu, %zu)",
          (long long)off, max, min_one, got, first, last);
    return true;
}

static bool op_time(diff_state *st, weir_plog *log)
{
    int64_t ts = st->ts - (int64_t)rnd(st, 20000) + 500;
    int64_t got = -2;
    int err = weir_plog_offset_for_time(log, ts, &got);
    int64_t want = weir_ref_log_offset_for_time(&st->model, ts);
    CHECK(st, err == 0 && got == want, "offset for time %lld: %lld, model %lld",
          (long long)ts, (long long)got, (long long)want);
    return true;
}

static bool op_retention(diff_state *st, weir_plog *log)
{
    int64_t old_start = st->model.start;
    weir_log_retention_report rep;
    int64_t now = st->ts + (int64_t)rnd(st, 5000);
    int err = weir_plog_apply_retention(log, now, &rep);
    CHECK(st, err == 0, "retention failed: %s", weir_err_str(err));
    int64_t start = weir_plog_start_offset(log);
    const weir_segment *act = weir_plog_segment_at(log, weir_plog_segment_count(log) - 1);
    CHECK(st, start >= old_start && start <= act->base_offset &&
                  weir_ref_log_is_boundary(&st->model, start),
          "retention moved the start from %lld to %lld (active segment at %lld)",
          (long long)old_start, (long long)start, (long long)act->base_offset);
    weir_ref_log_drop_before(&st->model, start);
    return true;
}

static bool op_truncate(diff_state *st, weir_plog *log)
{
    weir_ref_log *m = &st->model;
    int64_t off = m->start - 3 + (int64_t)rnd(st, (uint64_t)(m->end - m->start + 6));
    if (off < 0) {
        off = 0;
    }
    int err = weir_plog_truncate_to(log, off);
    CHECK(st, err == 0, "truncate to %lld failed: %s", (long long)off, weir_err_str(err));
    weir_ref_log_truncate_to(m, off);
    return true;
}

static void trace_state(diff_state *st, weir_plog *log, uint64_t pick)
{
    if (getenv("WEIR_LOG_DIFF_TRACE") == NULL) {
        return;
    }
    const weir_epoch_cache *c = weir_plog_epochs(log);
    fprintf(stderr, "inc %d op %llu: log [%lld, %lld) epoch %d cache:", st->incarnation,
            (unsigned long long)pick, (long long)weir_plog_start_offset(log),
            (long long)weir_plog_end_offset(log), st->epoch);
    for (size_t i = 0; i < c->n; i++) {
        fprintf(stderr, " %d@%lld", c->e[i].epoch, (long long)c->e[i].start_offset);
    }
    fprintf(stderr, "\n");
}

static bool run_step(diff_state *st, weir_plog *log)
{
    uint64_t pick = rnd(st, 100);
    trace_state(st, log, pick);
    bool ok;
    if (pick < 45) {
        ok = op_append(st, log);
    } else if (pick < 65) {
        ok = op_read(st, log);
    } else if (pick < 75) {
        ok = op_time(st, log);
    } else if (pick < 80) {
        int err = weir_plog_roll(log);
        CHECK(st, err == 0, "roll failed: %s", weir_err_str(err));
        ok = true;
    } else if (pick < 90) {
        int err = weir_plog_flush(log);
        CHECK(st, err == 0, "flush failed: %s", weir_err_str(err));
        weir_ref_log_flushed(&st->model);
        ok = true;
    } else if (pick < 95) {
        ok = op_retention(st, log);
    } else if (pick < 99) {
        ok = op_truncate(st, log);
    } else {
        int64_t start = (int64_t)rnd(st, 1000);
        int err = weir_plog_truncate_fully(log, start);
        CHECK(st, err == 0, "truncate fully failed: %s", weir_err_str(err));
        weir_ref_log_truncate_fully(&st->model, start);
        ok = true;
    }
    st->steps++;
    return ok;
}

static void random_config(diff_state *st)
{
    weir_log_config_default(&st->cfg);
    st->cfg.segment_bytes = 300 + rnd(st, 4000);
    st->cfg.index_interval_bytes = (uint32_t)rnd(st, 600);
    st->cfg.segment_index_bytes = (uint32_t)(36 + rnd(st, 1000));
    st->cfg.segment_ms = rnd(st, 3) == 0 ? (int64_t)(500 + rnd(st, 5000)) : 7LL * 24 * 3600 * 1000;
    st->cfg.retention_ms = rnd(st, 2) ? (int64_t)(1000 + rnd(st, 20000)) : -1;
    st->cfg.retention_bytes = rnd(st, 2) ? (int64_t)(500 + rnd(st, 8000)) : -1;
}

/* One incarnation: recover, check, run a sequence, maybe close cleanly. */
static bool incarnation(weir_env *env, diff_state *st)
{
    if (rnd(st, 10) == 0) {
        random_config(st); /* settings may change between restarts, as on a broker */
    }
    weir_log_recovery rep;
    weir_plog *log = NULL;
    int err = weir_plog_open(env, DIR, &st->cfg, &rep, &log);
    CHECK(st, err == 0, "open failed: %s", weir_err_str(err));
    weir_ref_log *m = &st->model;
    if (st->closed_cleanly) {
        if (!rep.clean || rep.cut) {
            weir_plog_abandon(log);
            CHECK(st, false, "a clean close was not recognised (clean %d cut %d)", rep.clean, rep.cut);
        }
    } else {
        int64_t end = weir_plog_end_offset(log);
        bool ok = weir_plog_start_offset(log) == m->start && end >= m->durable_end &&
                  end <= m->end && weir_ref_log_is_boundary(m, end);
        if (!ok) {
            snprintf(st->failure, sizeof st->failure,
                     "after a crash the log is [%lld, %lld); model [%lld, %lld) flushed to %lld",
                     (long long)weir_plog_start_offset(log), (long long)end, (long long)m->start,
                     (long long)m->end, (long long)m->durable_end);
            weir_plog_abandon(log);
            return false;
        }
        st->crashes_cut += rep.cut ? 1 : 0;
        weir_ref_log_truncate_to(m, end);
        m->durable_end = end; /* recovery syncs what it kept */
    }
    bool ok = compare_all(st, log, "after open");
    int steps = 1 + (int)rnd(st, 30);
    for (int i = 0; ok && i < steps; i++) {
        ok = run_step(st, log) && (rnd(st, 8) != 0 || compare_all(st, log, "after a step"));
    }
    ok = ok && compare_all(st, log, "at the end of the sequence");
    st->sequences++;
    st->closed_cleanly = ok && rnd(st, 3) == 0;
    if (st->closed_cleanly) {
        err = weir_plog_close(log);
        CHECK(st, err == 0, "close failed: %s", weir_err_str(err));
        weir_ref_log_flushed(m);
    } else {
        weir_plog_abandon(log); /* the crash comes from the driver */
    }
    return ok;
}

static void *diff_start(weir_env *env, void *arg)
{
    diff_state *st = arg;
    st->incarnation++;
    if (st->failure[0] == '\0') {
        incarnation(env, st);
    }
    return st;
}

static const weir_node_type diff_node = {"logdiff", diff_start, NULL};

/* The driver node crashes and restarts the log node every millisecond. */
typedef struct driver {
    weir_world *w;
    diff_state *st;
    int left;
    bool down;
} driver;

static void driver_tick(weir_env *env, void *arg)
{
    driver *d = arg;
    if (d->st->failure[0] != '\0' || d->left == 0) {
        weir_world_stop(d->w);
        return;
    }
    int err = d->down ? weir_world_restart(d->w, "n") : weir_world_crash(d->w, "n");
    if (err != 0) {
        snprintf(d->st->failure, sizeof d->st->failure, "driver: %s failed: %s",
                 d->down ? "restart" : "crash", weir_err_str(err));
    }
    if (d->down) {
        d->left--;
    }
    d->down = !d->down;
    weir_timer_start(env, 1000000, driver_tick, d);
}

static void *driver_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 1000000, driver_tick, arg);
    return arg;
}

static const weir_node_type driver_node = {"driver", driver_start, NULL};

/* Runs `sequences` incarnations from one seed; returns 0 or 1 (and prints why). */
static int run_seed(uint64_t seed, int sequences)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.disk_torn_crash = true;
    cfg.log_level = WEIR_LOG_ERROR; /* recovery warnings are expected here */
    weir_world *w = weir_sim_world_new(&cfg);
    if (w == NULL) {
        return 1;
    }
    diff_state *st = calloc(1, sizeof *st);
    weir_prng_seed(&st->rng, seed);
    weir_ref_log_init(&st->model, 0);
    random_config(st);
    st->ts = 1700000000000LL;
    driver d = {w, st, sequences, false};
    if (weir_world_node_add(w, "n", &diff_node, st) != 0 ||
        weir_world_node_add(w, "driver", &driver_node, &d) != 0 ||
        weir_world_run(w, (int64_t)sequences * 3000000 + 1000000000) != 0) {
        fprintf(stderr, "seed %llu: the world did not run\n", (unsigned long long)seed);
        return 1;
    }
    int rc = 0;
    if (st->failure[0] != '\0') {
        fprintf(stderr, "seed %llu, incarnation %d: %s\n", (unsigned long long)seed,
                st->incarnation, st->failure);
        rc = 1;
    } else if (d.left != 0) {
        fprintf(stderr, "seed %llu: only %d of %d sequences ran\n", (unsigned long long)seed,
                sequences - d.left, sequences);
        rc = 1;
    } else {
        fprintf(stderr, "seed %llu: %lld sequences, %lld steps, %lld torn tails cut\n",
                (unsigned long long)seed, (long long)st->sequences, (long long)st->steps,
                (long long)st->crashes_cut);
    }
    return rc;
}

static int run_forked(uint64_t seed, int sequences)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(run_seed(seed, sequences));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void the_log_agrees_with_the_model_across_crashes_and_torn_writes(void **state)
{
    (void)state;
    const char *env_seeds = getenv("WEIR_LOG_DIFF_SEEDS");
    int seeds = env_seeds ? atoi(env_seeds) : 8;
    for (int s = 1; s <= seeds; s++) {
        assert_int_equal(run_forked((uint64_t)s, 500), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_log_agrees_with_the_model_across_crashes_and_torn_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
