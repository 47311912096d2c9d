/* Child processes of `weir chaos --real`, and the process-level helpers
 * around them: signals, free ports, libfaketime, folders.
 *
 * Every child is /proc/self/exe (the running weir) in a process group of its
 * own, with PR_SET_PDEATHSIG so it cannot outlive the driver even if the
 * driver is killed with SIGKILL. Live children are also kept in a table that
 * a second SIGINT/SIGTERM empties with SIGKILL before exiting.
 *
 * The driver has a second thread (the proxy's), so between fork and exec the
 * child only makes async-signal-safe calls: everything it needs (argv, envp,
 * paths) is built before fork.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/assert.h"
#include "real.h"
#include "run_dir.h"

extern char **environ;

#define PROC_TABLE_MAX 64

/* Live children, for the emergency exit of a second signal. */
static volatile pid_t proc_table[PROC_TABLE_MAX];
static volatile sig_atomic_t proc_interrupted;
static struct sigaction proc_old_int, proc_old_term;

int64_t weir_real_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * WEIR_REAL_S + ts.tv_nsec;
}

static void proc_table_add(pid_t pid)
{
    for (int i = 0; i < PROC_TABLE_MAX; i++) {
        if (proc_table[i] == 0) {
            proc_table[i] = pid;
            return;
        }
    }
}

static void proc_table_remove(pid_t pid)
{
    for (int i = 0; i < PROC_TABLE_MAX; i++) {
        if (proc_table[i] == pid) {
            proc_table[i] = 0;
        }
    }
}

/* ---- signals ---- */

static void proc_on_signal(int sig)
{
    if (proc_interrupted) {
        /* The second one: no more waiting for an orderly stop. */
        for (int i = 0; i < PROC_TABLE_MAX; i++) {
            if (proc_table[i] > 0) {
                kill(proc_table[i], SIGKILL);
            }
        }
        static const char msg[] = "weir chaos: killed every child process; exiting\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)n;
        _exit(128 + sig);
    }
    proc_interrupted = 1;
}

void weir_real_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = proc_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &proc_old_int);
    sigaction(SIGTERM, &sa, &proc_old_term);
    signal(SIGPIPE, SIG_IGN);
}

void weir_real_signals_restore(void)
{
    sigaction(SIGINT, &proc_old_int, NULL);
    sigaction(SIGTERM, &proc_old_term, NULL);
}

bool weir_real_interrupted(void)
{
    return proc_interrupted != 0;
}

/* ---- processes ---- */

void weir_real_proc_init(weir_real_proc *p, const char *name, const char *log_path,
                         char *const argv[])
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->log_path, sizeof p->log_path, "%s", log_path);
    for (int i = 0; argv[i] != NULL && i < WEIR_REAL_ARGS_MAX - 1; i++) {
        p->argv[i] = strdup(argv[i]);
        WEIR_ASSERT(p->argv[i] != NULL);
    }
    p->state = WEIR_REAL_PROC_DOWN;
}

void weir_real_proc_free(weir_real_proc *p)
{
    WEIR_ASSERT(p->state == WEIR_REAL_PROC_DOWN);
    for (int i = 0; i < WEIR_REAL_ARGS_MAX && p->argv[i] != NULL; i++) {
        free(p->argv[i]);
        p->argv[i] = NULL;
    }
}

/* The environment of the child: ours, less any variable extra_env sets, plus
 * extra_env. Returns a malloc'd array (strings not copied) or NULL. */
static char **proc_env_build(char *const extra_env[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env] != NULL) {
        n_env++;
    }
    while (extra_env != NULL && extra_env[n_extra] != NULL) {
        n_extra++;
    }
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    if (envp == NULL) {
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < n_env; i++) {
        bool replaced = false;
        for (size_t k = 0; k < n_extra; k++) {
            size_t key_len = strcspn(extra_env[k], "=");
            replaced = replaced || (strncmp(environ[i], extra_env[k], key_len + 1) == 0);
        }
        if (!replaced) {
            envp[at++] = environ[i];
        }
    }
    for (size_t k = 0; k < n_extra; k++) {
        envp[at++] = extra_env[k];
    }
    envp[at] = NULL;
    return envp;
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void proc_child(int log_fd, pid_t parent, char *const argv[], char *const envp[])
{
    setpgid(0, 0); /* a Ctrl-C at the terminal reaches the driver, which stops us */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(127); /* the driver died before prctl took effect */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
        _exit(127);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
    {
        for (int fd = 3; fd < 4096; fd++) {
            close(fd);
        }
    }
    execve("/proc/self/exe", argv, envp);
    static const char msg[] = "weir chaos: exec of /proc/self/exe failed\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    _exit(127);
}

int weir_real_proc_start(weir_real_proc *p, char *const extra_env[], const char *note, char *why,
                         size_t why_size)
{
    WEIR_ASSERT(p->state == WEIR_REAL_PROC_DOWN);
    int log_fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        snprintf(why, why_size, "%s: cannot open %s: %s", p->name, p->log_path, strerror(errno));
        return WEIR_E_IO;
    }
    char header[512];
    int n = snprintf(header, sizeof header, "=== weir chaos: start #%d of %s%s%s ===\n",
                     p->starts + 1, p->name, note && note[0] ? ": " : "", note ? note : "");
    if (write(log_fd, header, (size_t)n) != n) {
        /* the log is for people; the run goes on without the header */
    }
    char **envp = proc_env_build(extra_env);
    if (envp == NULL) {
        close(log_fd);
        snprintf(why, why_size, "%s: out of memory", p->name);
        return WEIR_E_NOMEM;
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        proc_child(log_fd, parent, p->argv, envp);
    }
    int fork_errno = errno;
    free(envp);
    close(log_fd);
    if (pid < 0) {
        snprintf(why, why_size, "%s: fork failed: %s", p->name, strerror(fork_errno));
        return WEIR_E_IO;
    }
    p->pid = pid;
    p->state = WEIR_REAL_PROC_UP;
    p->starts++;
    proc_table_add(pid);
    return 0;
}

void weir_real_proc_signal(weir_real_proc *p, int sig, int64_t grace_ns)
{
    if (p->state == WEIR_REAL_PROC_DOWN || p->pid <= 0) {
        return;
    }
    kill(p->pid, sig);
    if (p->state == WEIR_REAL_PROC_UP || sig == SIGKILL) {
        p->kill_at_ns = sig == SIGKILL ? INT64_MAX : weir_real_clock_ns() + grace_ns;
    }
    p->state = WEIR_REAL_PROC_STOPPING;
}

weir_real_exit weir_real_proc_poll(weir_real_proc *p)
{
    if (p->state == WEIR_REAL_PROC_DOWN || p->pid <= 0) {
        return WEIR_REAL_EXIT_NONE;
    }
    int status = 0;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == 0) {
        if (p->state == WEIR_REAL_PROC_STOPPING && weir_real_clock_ns() >= p->kill_at_ns) {
            kill(p->pid, SIGKILL);
            p->kill_at_ns = INT64_MAX;
        }
        return WEIR_REAL_EXIT_NONE;
    }
    /* r == pid, or an error (ECHILD: someone reaped it): either way it is gone */
    bool expected = p->state == WEIR_REAL_PROC_STOPPING;
    proc_table_remove(p->pid);
    p->last_status = r == p->pid ? status : 0;
    p->pid = 0;
    p->state = WEIR_REAL_PROC_DOWN;
    return expected ? WEIR_REAL_EXIT_EXPECTED : WEIR_REAL_EXIT_UNEXPECTED;
}

void weir_real_proc_stop_wait(weir_real_proc *p, int sig, int64_t grace_ns)
{
    if (p->state == WEIR_REAL_PROC_DOWN) {
        return;
    }
    weir_real_proc_signal(p, sig, grace_ns);
    while (weir_real_proc_poll(p) == WEIR_REAL_EXIT_NONE) {
        struct timespec ts = {0, 5 * WEIR_REAL_MS};
        nanosleep(&ts, NULL);
    }
}

void weir_real_status_describe(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, size, "wait status %d", status);
    }
}

/* ---- ports ---- */

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0;
    close(fd);
    return ok;
}

int weir_real_ports_pick(int count, int *ports_out, char *why, size_t why_size)
{
    int lo = 10000, hi = 32767;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    if (f != NULL) {
        int a, b;
        if (fscanf(f, "%d %d", &a, &b) == 2) {
            hi = a - 1 > lo + 1000 ? a - 1 : hi; /* below the ephemeral range */
        }
        fclose(f);
    }
    weir_prng r;
    weir_prng_seed(&r, (uint64_t)weir_real_clock_ns() ^ ((uint64_t)getpid() << 32));
    int found = 0;
    for (int attempt = 0; attempt < 2000 && found < count; attempt++) {
        int port = lo + (int)weir_prng_below(&r, (uint64_t)(hi - lo + 1));
        bool dup = false;
        for (int i = 0; i < found; i++) {
            dup = dup || ports_out[i] == port;
        }
        if (!dup && port_free(port)) {
            ports_out[found++] = port;
        }
    }
    if (found < count) {
        snprintf(why, why_size, "found only %d free loopback ports in %d..%d (needed %d)", found,
                 lo, hi, count);
        return WEIR_E_ADDRINUSE;
    }
    return 0;
}

/* ---- libfaketime ---- */

const char *weir_real_faketime_lib(void)
{
    static char found[WEIR_REAL_PATH_MAX];
    static const char *const patterns[] = {
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/*-linux-gnu*/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
        "/usr/lib64/faketime/libfaketime.so.1",
        "/usr/local/lib/faketime/libfaketime.so.1",
    };
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        glob_t g;
        if (glob(patterns[i], 0, NULL, &g) == 0 && g.gl_pathc > 0) {
            snprintf(found, sizeof found, "%s", g.gl_pathv[0]);
            globfree(&g);
            return found;
        }
        globfree(&g);
    }
    return NULL;
}

/* ---- folders ---- */

int weir_real_mkdirs(const char *path)
{
    char why[256];
    return weir_rundir_create(path, why, sizeof why) == 0 ? 0 : WEIR_E_IO;
}

int weir_real_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : WEIR_E_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0 ? 0 : WEIR_E_IO;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        return WEIR_E_IO;
    }
    int err = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char child[WEIR_REAL_PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int)sizeof child) {
            err = WEIR_E_INVAL;
            continue;
        }
        int e2 = weir_real_rmtree(child);
        err = err ? err : e2;
    }
    closedir(d);
    if (rmdir(path) != 0 && err == 0) {
        err = WEIR_E_IO;
    }
    return err;
}
