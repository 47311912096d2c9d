/* Runs every conformance case against one backend: `test_conformance sim`
 * or `test_conformance real`. Each case runs in a forked child, because the
 * SimGrid engine can be set up only once per process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_cases.h"
#include "env/uv_world.h"
#include "sim.h"

static bool conf_sim;

static int conf_rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* In the child: builds the world, runs the case, checks it; exit code 0 = pass. */
static int conf_child(const conf_case *cc)
{
    static conf_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    char root[] = "/tmp/weir-conf-XXXXXX";
    weir_world *w;
    if (conf_sim) {
        weir_sim_config cfg;
        weir_sim_config_default(&cfg, 7);
        w = weir_sim_world_new(&cfg);
    } else {
        if (mkdtemp(root) == NULL) {
            return 3;
        }
        w = weir_uv_world_new(root, 7);
    }
    if (w == NULL) {
        return 3;
    }
    ctx.world = w;
    cc->setup(w, &ctx);
    int rc = weir_world_run(w, cc->duration_ns);
    /* Destroyed first: the nodes still up are destroyed too, and the check
     * sees that (ctx lives outside the world). */
    weir_world_destroy(w);
    ctx.world = NULL;
    ctx.client_env = NULL;
    char why[256] = "";
    int failed = rc != 0 ? 1 : cc->check(&ctx, conf_sim, why, sizeof why);
    if (rc != 0) {
        snprintf(why, sizeof why, "run failed: %s", weir_err_str(rc));
    }
    if (failed) {
        fprintf(stderr, "  %s [%s]: %s\n", cc->name, conf_sim ? "sim" : "real", why);
    }
    if (!conf_sim) {
        conf_rm_rf(root);
    }
    return failed ? 1 : 0;
}

static void conf_run_case(void **state)
{
    const conf_case *cc = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(conf_child(cc));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sim") != 0 && strcmp(argv[1], "real") != 0)) {
        fprintf(stderr, "usage: test_conformance sim|real\n");
        return 2;
    }
    conf_sim = strcmp(argv[1], "sim") == 0;
    struct CMUnitTest tests[32];
    char names[32][128];
    size_t n = conf_case_count < 32 ? conf_case_count : 32;
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "test_%s_%s", conf_cases[i].name, argv[1]);
        tests[i] = (struct CMUnitTest){names[i], conf_run_case, NULL, NULL,
                                       (void *)&conf_cases[i]};
    }
    return _cmocka_run_group_tests(conf_sim ? "conformance_sim" : "conformance_real", tests, n,
                                   NULL, NULL);
}
