/* The sim backend: determinism of whole runs, and the crash model of its disk.
 * Every run happens in a forked child (SimGrid sets up once per process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "demo/demo.h"
#include "sim.h"

typedef struct run_result {
    uint64_t hash;
    uint64_t events;
    int verdict_failed;
    uint64_t echoes;
} run_result;

static void demo_in_child(uint64_t seed, int64_t duration_ns, run_result *out)
{
    static weir_demo demo;
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    weir_world *w = weir_sim_world_new(&cfg);
    weir_demo_config dcfg;
    weir_demo_config_default(&dcfg);
    if (weir_demo_add_nodes(w, &demo, &dcfg) != 0 || weir_world_run(w, duration_ns) != 0) {
        out->verdict_failed = -1;
        return;
    }
    out->hash = weir_sim_trace_hash(w);
    out->events = weir_sim_event_count(w);
    out->verdict_failed = weir_demo_verdict(&demo, NULL, 0);
    out->echoes = demo.echoes;
    weir_world_destroy(w);
}

/* Runs fn in a child process and returns what it wrote to *out. */
static run_result run_forked(uint64_t seed, int64_t duration_ns)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        run_result r = {0};
        demo_in_child(seed, duration_ns, &r);
        ssize_t n = write(fds[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    run_result r;
    assert_int_equal(read(fds[0], &r, sizeof r), (ssize_t)sizeof r);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return r;
}

static void test_sim_same_seed_gives_same_trace_hash(void **state)
{
    (void)state;
    run_result a = run_forked(42, 3000000000LL);
    run_result b = run_forked(42, 3000000000LL);
    assert_true(a.events > 1000);
    assert_int_equal(a.events, b.events);
    assert_int_equal(a.hash, b.hash);
}

static void test_sim_other_seed_gives_other_trace_hash(void **state)
{
    (void)state;
    run_result a = run_forked(42, 3000000000LL);
    run_result b = run_forked(43, 3000000000LL);
    assert_true(a.hash != b.hash);
}

static void test_sim_demo_with_crash_and_restart_passes_its_checks(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run_result r = run_forked(seed, 5000000000LL);
        assert_int_equal(r.verdict_failed, 0);
        assert_true(r.echoes > 1000);
    }
}

static void test_sim_demo_too_short_to_restart_fails_its_checks(void **state)
{
    (void)state;
    /* Stopping before the restart (at 3 s) must be caught by the verdict. */
    run_result r = run_forked(1, 2500000000LL);
    assert_true(r.verdict_failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_same_seed_gives_same_trace_hash),
        cmocka_unit_test(test_sim_other_seed_gives_other_trace_hash),
        cmocka_unit_test(test_sim_demo_with_crash_and_restart_passes_its_checks),
        cmocka_unit_test(test_sim_demo_too_short_to_restart_fails_its_checks),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
