#include "chaos_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_dir.h"

/* The child: parse, run (recording if asked), send the outcome up the pipe. */
static void child_run(chaos_job *job, int fd)
{
    weir_scn_outcome out;
    memset(&out, 0, sizeof out);
    static weir_scenario sc;
    char why[512];
    int rc = WEIR_E_INVAL;
    snprintf(why, sizeof why, "no scenario text");
    if (job->text != NULL) {
        rc = weir_scenario_parse(job->text, strlen(job->text), job->file_name, &sc, why, sizeof why);
    }
    if (rc == 0 && job->variant != NULL) {
        rc = weir_scenario_use_variant(&sc, job->variant, why, sizeof why);
    }
    weir_run_files rf = {0};
    if (rc == 0 && job->out_dir != NULL) {
        rc = weir_rundir_begin(job->out_dir, job->run_id, job->text, strlen(job->text), &rf, why, sizeof why);
    }
    /* the nodes' log lines go to the run's folder, not over the progress lines */
    char log_path[WEIR_RUN_PATH_MAX + 16];
    snprintf(log_path, sizeof log_path, "%s/nodes.log", rf.dir);
    if (freopen(job->out_dir != NULL && rc == 0 ? log_path : "/dev/null", "w", stderr) == NULL) {
        rc = rc != 0 ? rc : WEIR_E_IO;
    }
    if (rc == 0) {
        rc = weir_scn_run(&sc, job->seed, rf.report, NULL, job->out_dir != NULL ? &rf.rec : NULL, &out);
        if (rc != 0) {
            snprintf(why, sizeof why, "the simulation could not run: %s", weir_err_str(rc));
        }
    }
    if (rc != 0) {
        out.pass = false;
        out.n_failures = 1;
        snprintf(out.failures[0], sizeof out.failures[0], "ERROR: %.220s", why);
        out.trace_hash = 0;
    } else if (job->out_dir != NULL) {
        weir_scn_print_summary(rf.report, &out);
        weir_ignore(weir_rundir_meta(&rf, &sc, job->seed, &out, job->replay));
    }
    weir_rundir_end(&rf);
    /* the outcome is far smaller than a pipe's buffer: one write, no deadlock */
    ssize_t w = write(fd, &out, sizeof out);
    _exit(w == (ssize_t)sizeof out ? (rc == 0 ? 0 : 3) : 4);
}

typedef struct slot {
    pid_t pid;
    int fd;
    chaos_job *job;
} slot;

static bool spawn(slot *s, chaos_job *job)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(job, fds[1]);
    }
    close(fds[1]);
    *s = (slot){pid, fds[0], job};
    return true;
}

static void collect(slot *s, int status)
{
    chaos_job *job = s->job;
    size_t got = 0;
    while (got < sizeof job->outcome) {
        ssize_t r = read(s->fd, (char *)&job->outcome + got, sizeof job->outcome - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        got += (size_t)r;
    }
    close(s->fd);
    job->done = true;
    if (got != sizeof job->outcome) {
        memset(&job->outcome, 0, sizeof job->outcome);
        job->outcome.n_failures = 1;
        if (WIFSIGNALED(status)) {
            snprintf(job->outcome.failures[0], sizeof job->outcome.failures[0],
                     "ERROR: the run died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        } else {
            snprintf(job->outcome.failures[0], sizeof job->outcome.failures[0],
                     "ERROR: the run ended without an outcome (exit %d)", WEXITSTATUS(status));
        }
    }
    job->error = strncmp(job->outcome.failures[0], "ERROR:", 6) == 0 && job->outcome.n_failures > 0;
    s->pid = 0;
}

void chaos_pool_run(chaos_job *jobs, int n, int parallel, void (*on_done)(chaos_job *job, void *ctx), void *ctx)
{
    slot slots[64] = {{0}};
    parallel = parallel < 1 ? 1 : parallel > 64 ? 64 : parallel;
    int next = 0, running = 0;
    while (next < n || running > 0) {
        while (running < parallel && next < n) {
            int k = 0;
            while (slots[k].pid != 0) {
                k++;
            }
            if (!spawn(&slots[k], &jobs[next])) {
                jobs[next].done = true;
                jobs[next].error = true;
                jobs[next].outcome.n_failures = 1;
                snprintf(jobs[next].outcome.failures[0], sizeof jobs[next].outcome.failures[0],
                         "ERROR: cannot start a run: %s", strerror(errno));
                if (on_done != NULL) {
                    on_done(&jobs[next], ctx);
                }
                next++;
                continue;
            }
            next++;
            running++;
        }
        if (running == 0) {
            continue;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int k = 0; k < parallel; k++) {
            if (slots[k].pid == pid) {
                collect(&slots[k], status);
                running--;
                if (on_done != NULL) {
                    on_done(slots[k].job, ctx);
                }
                break;
            }
        }
    }
}
