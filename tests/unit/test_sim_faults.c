/* The sim backend's faults (sim.h): a pause holds a node's events, a cut
 * holds frames until the heal, a reset closes connections, clock jumps,
 * fsync errors, a full disk, bit flips at rest, and work posted to a node's
 * own actor. Two nodes: "pinger" sends a numbered frame every 10 ms to
 * "echo", which sends it back; "chaos" applies the fault under test.
 * Each run happens in a forked child (SimGrid sets up once per process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "sim.h"

#define MS 1000000LL
#define S 1000000000LL
#define FRAMES_MAX 400

typedef enum fault { F_NONE, F_PAUSE, F_CUT, F_RESET, F_CLOCK, F_SKEW, F_DISK, F_POST } fault;

/* What the child reports. */
typedef struct result {
    int sent;
    int echoed;
    int32_t echo_seq[FRAMES_MAX];    /* in the order echoes came back */
    int64_t echo_at[FRAMES_MAX];     /* when (true simulated time) */
    int64_t echo_handled[FRAMES_MAX]; /* when "echo" handled the frame */
    int pinger_closed;
    int pinger_close_reason;
    int echo_closed;
    int echo_close_reason;
    int64_t clock_wall_delta_ms; /* echo's wall clock minus the true one, after the jump */
    int64_t clock_mono_delta_ns;
    int64_t skew_mono_gain_ns;  /* what echo's clock read over 500 ms of true time at rate 2 */
    int64_t skew_timer_true_ns; /* true time a 100 ms echo timer took at rate 2 */
    int sync_rc;
    int full_rc;
    uint64_t after_crash_size;
    int flipped_bits;
    int post_ran_on_echo;
    int64_t post_ran_at;
} result;

static result R;
static fault F;
static weir_world *W;

/* ---- echo ---- */

static void echo_frame(weir_conn *c, const uint8_t *p, size_t len, void *arg)
{
    (void)arg;
    int32_t seq;
    memcpy(&seq, p, sizeof seq);
    if (seq >= 0 && seq < FRAMES_MAX) {
        R.echo_handled[seq] = weir_sim_now_ns(W);
    }
    weir_ignore(weir_conn_send(c, p, len));
}

static void echo_close(weir_conn *c, int reason, void *arg)
{
    (void)c;
    (void)arg;
    R.echo_closed++;
    R.echo_close_reason = reason;
}

static void *echo_start(weir_env *env, void *arg)
{
    (void)arg;
    weir_conn_handlers h = {NULL, echo_frame, echo_close, NULL};
    weir_listener *l;
    assert_int_equal(weir_listen(env, "echo:7", &h, &l), 0);
    return env;
}

static const weir_node_type echo_type = {"echo", echo_start, NULL};

/* ---- pinger ---- */

typedef struct pinger {
    weir_env *env;
    weir_conn *conn;
} pinger;

static pinger P;

static void pinger_frame(weir_conn *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    (void)len;
    (void)arg;
    int32_t seq;
    memcpy(&seq, p, sizeof seq);
    if (R.echoed < FRAMES_MAX) {
        R.echo_seq[R.echoed] = seq;
        R.echo_at[R.echoed++] = weir_sim_now_ns(W);
    }
}

static void pinger_close(weir_conn *c, int reason, void *arg)
{
    (void)c;
    (void)arg;
    R.pinger_closed++;
    R.pinger_close_reason = reason;
    P.conn = NULL;
}

static void pinger_tick(weir_env *env, void *arg)
{
    (void)arg;
    if (P.conn != NULL && R.sent < FRAMES_MAX) {
        int32_t seq = R.sent++;
        weir_ignore(weir_conn_send(P.conn, &seq, sizeof seq));
    }
    weir_timer_start(env, 10 * MS, pinger_tick, NULL);
}

static void *pinger_start(weir_env *env, void *arg)
{
    (void)arg;
    P.env = env;
    weir_conn_handlers h = {NULL, pinger_frame, pinger_close, NULL};
    assert_int_equal(weir_connect(env, "echo:7", &h, &P.conn), 0);
    weir_timer_start(env, 10 * MS, pinger_tick, NULL);
    return env;
}

static const weir_node_type pinger_type = {"pinger", pinger_start, NULL};

/* ---- chaos ---- */

static weir_env *echo_env(void)
{
    return weir_world_node_state(W, "echo");
}

static int64_t skew_started_true, skew_started_mono;

static void skew_timer(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    R.skew_timer_true_ns = weir_sim_now_ns(W) - skew_started_true;
}

static void on_echo_node(weir_env *env, void *arg)
{
    (void)arg;
    R.post_ran_on_echo = env == echo_env();
    R.post_ran_at = weir_sim_now_ns(W);
}

static void disk_test(void)
{
    /* files of the "echo" host, through its env: one synced, one not */
    weir_env *env = echo_env();
    weir_file *f;
    assert_int_equal(weir_file_open(env, "kept", WEIR_F_CREATE, &f), 0);
    uint8_t data[4096];
    memset(data, 0x5a, sizeof data);
    assert_int_equal(weir_file_append(env, f, data, sizeof data), 0);
    assert_int_equal(weir_file_sync(env, f), 0);
    assert_int_equal(weir_sim_disk_fault(W, "echo", true, false), 0);
    assert_int_equal(weir_file_append(env, f, data, sizeof data), 0);
    R.sync_rc = weir_file_sync(env, f); /* fails: the second 4 KiB is not durable */
    assert_int_equal(weir_sim_disk_fault(W, "echo", false, true), 0);
    R.full_rc = weir_file_append(env, f, data, 10);
    assert_int_equal(weir_sim_disk_fault(W, "echo", false, false), 0);
    weir_file_close(env, f);
    char what[200];
    assert_int_equal(weir_sim_bit_flip(W, "echo", "", "kept", what, sizeof what), 0);
    assert_int_equal(weir_sim_bit_flip(W, "echo", "", "nothing-like-this", what, sizeof what), WEIR_E_NOENT);
}

static void disk_after_crash(void)
{
    weir_env *env = echo_env();
    weir_file *f;
    assert_int_equal(weir_file_open(env, "kept", WEIR_F_RDONLY, &f), 0);
    assert_int_equal(weir_file_size(env, f, &R.after_crash_size), 0);
    uint8_t data[4096];
    size_t got;
    assert_int_equal(weir_file_pread(env, f, data, sizeof data, 0, &got), 0);
    for (size_t i = 0; i < got; i++) {
        R.flipped_bits += __builtin_popcount((unsigned)(data[i] ^ 0x5a));
    }
    weir_file_close(env, f);
}

static void chaos_step(weir_env *env, void *arg)
{
    int step = (int)(intptr_t)arg;
    switch (F) {
    case F_PAUSE:
        assert_int_equal(weir_sim_pause(W, "echo", 1 * S), 0);
        break;
    case F_CUT:
        assert_int_equal(weir_sim_cut(W, "pinger", "echo", step == 0), 0);
        if (step == 0) {
            weir_timer_start(env, 500 * MS, chaos_step, (void *)1);
        }
        break;
    case F_RESET:
        assert_int_equal(weir_sim_reset(W, "pinger", "echo"), 0);
        break;
    case F_CLOCK: {
        weir_env *e = echo_env();
        int64_t wall0 = weir_wall_ms(e), mono0 = weir_now_ns(e);
        assert_int_equal(weir_sim_clock_set(W, "echo", 30 * S, -5 * S), 0);
        R.clock_wall_delta_ms = weir_wall_ms(e) - wall0;
        R.clock_mono_delta_ns = weir_now_ns(e) - mono0;
        break;
    }
    case F_SKEW:
        if (step == 0) {
            assert_int_equal(weir_sim_clock_rate(W, "echo", 2.0), 0);
            assert_int_equal(weir_sim_clock_rate(W, "echo", 0.0), WEIR_E_INVAL);
            skew_started_true = weir_sim_now_ns(W);
            skew_started_mono = weir_now_ns(echo_env());
            weir_timer_start(echo_env(), 100 * MS, skew_timer, NULL); /* by echo's own clock */
            weir_timer_start(env, 500 * MS, chaos_step, (void *)1);
        } else {
            R.skew_mono_gain_ns = weir_now_ns(echo_env()) - skew_started_mono;
        }
        break;
    case F_DISK:
        if (step == 0) {
            disk_test();
            weir_timer_start(env, 10 * MS, chaos_step, (void *)1);
        } else if (step == 1) {
            assert_int_equal(weir_world_crash(W, "echo"), 0);
            weir_timer_start(env, 10 * MS, chaos_step, (void *)2);
        } else if (step == 2) {
            assert_int_equal(weir_world_restart(W, "echo"), 0);
            weir_timer_start(env, 10 * MS, chaos_step, (void *)3);
        } else {
            disk_after_crash();
        }
        break;
    case F_POST:
        assert_int_equal(weir_sim_node_post(W, "echo", on_echo_node, NULL), 0);
        assert_int_equal(weir_sim_node_post(W, "nobody", on_echo_node, NULL), WEIR_E_NOENT);
        break;
    case F_NONE:
        break;
    }
}

static void *chaos_start(weir_env *env, void *arg)
{
    (void)arg;
    weir_timer_start(env, 1 * S, chaos_step, (void *)0);
    return env;
}

static const weir_node_type chaos_type = {"chaos", chaos_start, NULL};

/* ---- runs ---- */

static result run(fault f, int64_t duration_ns)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        F = f;
        weir_sim_config cfg;
        weir_sim_config_default(&cfg, 7);
        W = weir_sim_world_new(&cfg);
        int rc = weir_world_node_add(W, "echo", &echo_type, NULL);
        rc = rc ? rc : weir_world_node_add(W, "pinger", &pinger_type, NULL);
        rc = rc ? rc : weir_world_node_add(W, "chaos", &chaos_type, NULL);
        rc = rc ? rc : weir_world_run(W, duration_ns);
        ssize_t n = write(fds[1], &R, sizeof R);
        _exit(rc == 0 && n == (ssize_t)sizeof R ? 0 : 1);
    }
    close(fds[1]);
    static result r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return r;
}

/* Every frame sent came back exactly once, in order. */
static void assert_all_echoed_in_order(const result *r)
{
    assert_true(r->sent > 100);
    assert_true(r->echoed >= r->sent - 2); /* the last ones may be in flight at the end */
    for (int i = 0; i < r->echoed; i++) {
        assert_int_equal(r->echo_seq[i], i);
    }
}

static void test_sim_pause_holds_a_nodes_events_until_it_resumes(void **state)
{
    (void)state;
    result r = run(F_PAUSE, 3 * S);
    assert_all_echoed_in_order(&r);
    assert_int_equal(r.pinger_closed + r.echo_closed, 0); /* silence, not a close */
    int held = 0;
    for (int i = 0; i < r.echoed; i++) {
        assert_false(r.echo_handled[i] > 1 * S + MS && r.echo_handled[i] < 2 * S); /* nothing while paused */
        held += r.echo_handled[i] >= 2 * S && r.echo_handled[i] < 2 * S + MS;
    }
    assert_true(held >= 90); /* about a second of frames, handled as it resumes */
}

static void test_sim_a_cut_holds_frames_and_delivers_them_after_the_heal(void **state)
{
    (void)state;
    result r = run(F_CUT, 3 * S);
    assert_all_echoed_in_order(&r); /* nothing lost, nothing reordered */
    assert_int_equal(r.pinger_closed + r.echo_closed, 0);
    int during = 0, burst = 0;
    for (int i = 0; i < r.echoed; i++) {
        during += r.echo_handled[i] > 1 * S + MS && r.echo_handled[i] < 1500 * MS;
        burst += r.echo_handled[i] >= 1500 * MS && r.echo_handled[i] < 1510 * MS;
    }
    assert_int_equal(during, 0);
    assert_true(burst >= 45); /* half a second of frames arrives right after the heal */
}

static void test_sim_reset_closes_both_ends_of_a_connection(void **state)
{
    (void)state;
    result r = run(F_RESET, 2 * S);
    assert_int_equal(r.pinger_closed, 1);
    assert_int_equal(r.pinger_close_reason, WEIR_E_CONNRESET);
    assert_int_equal(r.echo_closed, 1);
    assert_int_equal(r.echo_close_reason, WEIR_E_CONNRESET);
    assert_true(r.sent >= 95 && r.sent <= 105); /* nothing more once the connection is gone */
}

static void test_sim_clock_jumps_move_what_a_node_reads(void **state)
{
    (void)state;
    result r = run(F_CLOCK, 2 * S);
    assert_int_equal(r.clock_wall_delta_ms, 30000);
    assert_int_equal(r.clock_mono_delta_ns, -5 * S);
    assert_all_echoed_in_order(&r); /* the node's timers and traffic go on */
}

static void test_sim_a_skewed_clock_runs_fast_and_fires_timers_early(void **state)
{
    (void)state;
    result r = run(F_SKEW, 2 * S);
    assert_int_equal(r.skew_mono_gain_ns, 1 * S); /* 500 ms of true time read as 1 s */
    assert_int_equal(r.skew_timer_true_ns, 50 * MS);
    assert_all_echoed_in_order(&r);
}

static void test_sim_disk_faults_fsync_eio_full_disk_and_bit_flips(void **state)
{
    (void)state;
    result r = run(F_DISK, 2 * S);
    assert_int_equal(r.sync_rc, WEIR_E_IO);
    assert_int_equal(r.full_rc, WEIR_E_NOSPC);
    assert_int_equal(r.after_crash_size, 4096); /* what the failed fsync did not make durable is gone */
    assert_int_equal(r.flipped_bits, 1);
}

static void test_sim_post_runs_work_on_the_nodes_own_actor(void **state)
{
    (void)state;
    result r = run(F_POST, 2 * S);
    assert_true(r.post_ran_on_echo);
    assert_true(r.post_ran_at >= 1 * S && r.post_ran_at < 1 * S + MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_pause_holds_a_nodes_events_until_it_resumes),
        cmocka_unit_test(test_sim_a_cut_holds_frames_and_delivers_them_after_the_heal),
        cmocka_unit_test(test_sim_reset_closes_both_ends_of_a_connection),
        cmocka_unit_test(test_sim_clock_jumps_move_what_a_node_reads),
        cmocka_unit_test(test_sim_a_skewed_clock_runs_fast_and_fires_timers_early),
        cmocka_unit_test(test_sim_disk_faults_fsync_eio_full_disk_and_bit_flips),
        cmocka_unit_test(test_sim_post_runs_work_on_the_nodes_own_actor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
