/* Countdown fault injection: the same scripted workload runs again and again,
 * and the n-th file-system operation fails (EIO or ENOSPC; a failing write
 * lands half its bytes first), for n = 1, 2, ... until the workload runs
 * through without reaching its fault. After every failure the log is dropped
 * as a crashing process would, reopened on the healthy file system, and must
 * hold every acknowledged batch, byte for byte, with at most the failed
 * operation half-done — never a lost, damaged or reordered batch.
 *
 * It runs inside the simulator (an in-memory disk, so thousands of runs take
 * seconds), in a forked child because SimGrid initialises once per process. */
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

#include "core/bytes.h"
#include "core/prng.h"
#include "env/env.h"
#include "log/log.h"
#include "ref_log.h"
#include "sim.h"

#include "faulty_env.h"

/* ---- the workload ---- */

typedef struct run {
    weir_ref_log before; /* the model before the operation that failed */
    weir_ref_log after;  /* ... and as it would be had it succeeded */
    bool failed;
    bool in_retention;   /* the failed operation deleted old segments: any prefix may be gone */
    char failure[400];   /* a broken promise, if any */
} run;

static void model_copy(weir_ref_log *dst, const weir_ref_log *src)
{
    weir_ref_log_free(dst);
    weir_ref_log_init(dst, src->start);
    for (size_t i = 0; i < src->n; i++) {
        weir_ref_log_append(dst, src->b[i].bytes, src->b[i].len, src->b[i].count, src->b[i].epoch,
                            src->b[i].ts);
    }
    dst->start = src->start;
    dst->end = src->end;
}

static uint8_t *make_set(weir_prng *rng, int batches, int64_t *ts, int32_t *counts, size_t *len)
{
    uint8_t *set = NULL;
    *len = 0;
    for (int b = 0; b < batches; b++) {
        weir_batch_builder bb;
        weir_batch_builder_init(&bb);
        counts[b] = 1 + (int32_t)weir_prng_below(rng, 4);
        for (int32_t r = 0; r < counts[b]; r++) {
            *ts += 10;
            uint8_t val[200];
            size_t vlen = (size_t)weir_prng_below(rng, sizeof val);
            memset(val, (int)weir_prng_below(rng, 256), vlen);
            weir_batch_builder_add(&bb, *ts, "k", 1, val, (int32_t)vlen, NULL, 0);
        }
        uint8_t *buf;
        size_t blen;
        assert_int_equal(weir_batch_builder_finish(&bb, &buf, &blen), 0);
        set = realloc(set, *len + blen);
        memcpy(set + *len, buf, blen);
        *len += blen;
        weir_batch_builder_free(&bb);
    }
    return set;
}

/* Runs the scripted workload on env until an operation fails. The model is
 * updated only for operations that succeed. */
static void workload(weir_env *env, const char *dir, run *rn, weir_ref_log *model)
{
    weir_prng rng;
    weir_prng_seed(&rng, 99); /* the same script every time */
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 1500;
    cfg.index_interval_bytes = 100;
    cfg.segment_index_bytes = 240;
    cfg.retention_bytes = 4000;
    weir_plog *log = NULL;
    if (weir_plog_open(env, dir, &cfg, NULL, &log) != 0) {
        model_copy(&rn->before, model);
        model_copy(&rn->after, model);
        rn->failed = true;
        return;
    }
    int64_t ts = 1000;
    for (int step = 0; step < 60 && !rn->failed; step++) {
        model_copy(&rn->before, model);
        model_copy(&rn->after, model);
        uint64_t pick = weir_prng_below(&rng, 10);
        int err = 0;
        if (pick < 6) {
            int32_t counts[3];
            int64_t first_ts = ts;
            int nb = 1 + (int)weir_prng_below(&rng, 3);
            size_t len;
            uint8_t *set = make_set(&rng, nb, &ts, counts, &len);
            err = weir_plog_append_leader(log, set, len, (int32_t)(step / 10), NULL, NULL);
            /* the model of success: the stamped batches */
            int64_t t = first_ts;
            int64_t tss[8];
            for (size_t at = 0, b = 0; at < len; b++) {
                size_t blen = (size_t)weir_get_be32(set + at + 8) + 12;
                for (int32_t r = 0; r < counts[b]; r++) {
                    tss[r] = (t += 10);
                }
                weir_batch_set_base_offset(set + at, rn->after.end);
                weir_batch_set_leader_epoch(set + at, (int32_t)(step / 10));
                weir_ref_log_append(&rn->after, set + at, blen, counts[b], step / 10, tss);
                at += blen;
            }
            free(set);
        } else if (pick < 7) {
            err = weir_plog_flush(log);
            weir_ref_log_flushed(&rn->after);
        } else if (pick < 8) {
            weir_log_retention_report rep;
            rn->in_retention = true;
            err = weir_plog_apply_retention(log, ts, &rep);
            if (err == 0) {
                weir_ref_log_drop_before(&rn->after, rep.new_start_offset);
            }
        } else if (pick < 9) {
            int64_t off = model->start + (int64_t)weir_prng_below(&rng, (uint64_t)(model->end - model->start + 1));
            err = weir_plog_truncate_to(log, off);
            weir_ref_log_truncate_to(&rn->after, off);
        } else {
            err = weir_plog_roll(log);
        }
        if (err != 0) {
            rn->failed = true;
            break;
        }
        rn->in_retention = false;
        model_copy(model, &rn->after);
    }
    if (!rn->failed && weir_plog_close(log) != 0) {
        rn->failed = true;
        return;
    }
    if (rn->failed) {
        weir_plog_abandon(log); /* the process dies on the error */
    }
}

/* After a failure, the reopened log holds `before` or `after` (or, for an
 * append of several batches, something between), never anything else. */
static bool check_reopened(weir_env *env, const char *dir, run *rn)
{
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 1500;
    cfg.index_interval_bytes = 100;
    cfg.segment_index_bytes = 240;
    weir_plog *log = NULL;
    int err = weir_plog_open(env, dir, &cfg, NULL, &log);
    if (err != 0) {
        snprintf(rn->failure, sizeof rn->failure, "reopen failed: %s", weir_err_str(err));
        return false;
    }
    const weir_ref_log *longer = rn->after.end > rn->before.end ? &rn->after : &rn->before;
    int64_t lo = rn->after.end < rn->before.end ? rn->after.end : rn->before.end;
    int64_t start = weir_plog_start_offset(log), end = weir_plog_end_offset(log);
    bool start_ok = start == rn->before.start || start == rn->after.start ||
                    (rn->in_retention && start > rn->before.start &&
                     weir_ref_log_is_boundary(longer, start));
    bool ok = start_ok && end >= lo && end <= longer->end;
    if (!ok) {
        snprintf(rn->failure, sizeof rn->failure,
                 "reopened log is [%lld, %lld); before the failed operation [%lld, %lld), after [%lld, %lld)",
                 (long long)start, (long long)end, (long long)rn->before.start,
                 (long long)rn->before.end, (long long)rn->after.start, (long long)rn->after.end);
    }
    for (int64_t off = start; ok && off < end;) {
        weir_log_read_result r;
        err = weir_plog_read(log, off, 1, true, &r);
        long i = weir_ref_log_find(longer, off);
        ok = err == 0 && i >= 0 && r.len == longer->b[i].len &&
             memcmp(r.data, longer->b[i].bytes, r.len) == 0;
        if (!ok) {
            snprintf(rn->failure, sizeof rn->failure, "batch at offset %lld differs after reopen (%s)",
                     (long long)off, weir_err_str(err));
        }
        off = r.next_offset;
        weir_log_read_result_free(&r);
    }
    weir_plog_abandon(log);
    return ok;
}

/* Removes a run's folder so the simulated disk stays small. */
static void remove_dir(weir_env *env, const char *dir)
{
    weir_dirlist list = {0};
    if (weir_fs_list(env, dir, &list) == 0) {
        for (size_t i = 0; i < list.count; i++) {
            char path[128];
            snprintf(path, sizeof path, "%s/%s", dir, list.names[i]);
            weir_ignore(weir_fs_unlink(env, path));
        }
        weir_fs_list_free(&list);
    }
    weir_ignore(weir_fs_rmdir(env, dir));
}

typedef struct fault_result {
    int runs;
    long ops;
    char failure[512];
} fault_result;

static void *faults_start(weir_env *env, void *arg)
{
    fault_result *res = arg;
    env->log_level = WEIR_LOG_ERROR;
    for (long n = 1; n < 100000; n++) {
        char dir[32];
        snprintf(dir, sizeof dir, "c%ld-0", n);
        run rn;
        memset(&rn, 0, sizeof rn);
        weir_ref_log model;
        weir_ref_log_init(&model, 0);
        weir_ref_log_init(&rn.before, 0);
        weir_ref_log_init(&rn.after, 0);
        weir_env *fenv = faulty_wrap(env, n, n % 2 ? WEIR_E_IO : WEIR_E_NOSPC);
        workload(fenv, dir, &rn, &model);
        bool fired = the_faulty.fired;
        res->runs++;
        if (!fired) {
            res->ops = the_faulty.ops_done; /* the workload ran through: every point tried */
        } else if (!check_reopened(env, dir, &rn)) {
            snprintf(res->failure, sizeof res->failure, "fault at operation %ld (%s): %s", n,
                     weir_err_str(n % 2 ? WEIR_E_IO : WEIR_E_NOSPC), rn.failure);
        }
        remove_dir(env, dir);
        weir_ref_log_free(&model);
        weir_ref_log_free(&rn.before);
        weir_ref_log_free(&rn.after);
        if (!fired || res->failure[0] != '\0') {
            break;
        }
    }
    return res;
}

static const weir_node_type faults_node = {"faults", faults_start, NULL};

static int run_child(void)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, 1);
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    fault_result res = {0};
    if (w == NULL || weir_world_node_add(w, "n", &faults_node, &res) != 0 ||
        weir_world_run(w, 1000000000) != 0) {
        return 1;
    }
    if (res.failure[0] != '\0') {
        fprintf(stderr, "%s\n", res.failure);
        return 1;
    }
    if (res.ops == 0) {
        fprintf(stderr, "the workload never ran through (%d runs)\n", res.runs);
        return 1;
    }
    fprintf(stderr, "%d runs: a fault at each of the workload's %ld file operations\n", res.runs,
            res.ops);
    return 0;
}

static void every_failed_file_operation_leaves_a_log_that_reopens_with_all_acked_batches(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        _exit(run_child());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_failed_file_operation_leaves_a_log_that_reopens_with_all_acked_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
