/* `weir chaos SCENARIO --real`: chaos against a loopback cluster of real
 * `weir controller` and `weir broker` processes (README.md beside this file).
 *
 * The pieces, one file each:
 *   real_cli.c       options, the seed loop, progress and summary, index.tsv
 *   real_run.c       one seed: processes, proxies, faults, phases, verdict, records
 *   real_workload.c  the driver's node on a libuv world: admin requests,
 *                    metadata monitor, weir's producer and consumer, history
 *   real_proxy.c     the TCP fault proxy (its own libuv loop on its own thread)
 *   real_proc.c      child processes, signals, free ports, libfaketime
 *   real_schedule.c  fault kinds and random (swarm) schedules from a seed
 *
 * This is a tool that drives processes, not node code: it uses fork/exec,
 * signals, threads, the OS clock and stdio. The client side still runs on
 * weir_env (the real backend), as any node.
 *
 * Threads: everything runs on the main thread except the proxy's loop;
 * the two meet only through weir_real_proxy_* calls (a mutex and a
 * condition variable inside real_proxy.c).
 */
#ifndef WEIR_CHAOS_REAL_H
#define WEIR_CHAOS_REAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/prng.h"
#include "history.h"
#include "scenario/scenario.h"

#define WEIR_REAL_MS 1000000LL
#define WEIR_REAL_S 1000000000LL

#define WEIR_REAL_PATH_MAX 1024
#define WEIR_REAL_FAULTS_MAX 32
#define WEIR_REAL_FAILURES_MAX 8
#define WEIR_REAL_LAT_BUCKETS 40 /* log2 buckets of microseconds */
#define WEIR_REAL_ARGS_MAX 96    /* argv entries of one child */

/* ---- fault kinds and schedules (real_schedule.c) ---- */

typedef enum weir_real_kind {
    WEIR_REAL_KILL,      /* kill -9, later restarted on the same data dir */
    WEIR_REAL_DELAY,     /* the broker's proxies add latency to every chunk */
    WEIR_REAL_RESET,     /* the broker's proxies reset every connection (RST), repeatedly */
    WEIR_REAL_BLACKHOLE, /* the broker's proxies stop forwarding both ways, sockets kept open */
    WEIR_REAL_SKEW,      /* restart under libfaketime with the wall clock offset */
    WEIR_REAL_KINDS_,
} weir_real_kind;

#define WEIR_REAL_KINDS_ALL ((1u << WEIR_REAL_KINDS_) - 1)

const char *weir_real_kind_name(weir_real_kind kind);

/* Parses a comma list of kind names into a bit mask (1 << kind). Returns 0,
 * or WEIR_E_INVAL with why naming the bad entry and listing the kinds. */
WEIR_MUST_CHECK int weir_real_kinds_parse(const char *text, unsigned *mask_out, char *why,
                                          size_t why_size);

/* "kill,delay" for a mask ("-" when empty). */
void weir_real_kinds_format(unsigned mask, char *buf, size_t size);

typedef struct weir_real_fault {
    weir_real_kind kind;
    int64_t at_ns;       /* from the workload's start */
    int64_t duration_ns; /* > 0: healed (or restarted) at at_ns + duration_ns */
    int broker_index;    /* the target, or -1: the leader of (topic_index, partition) then */
    int topic_index;
    int32_t partition;
    int64_t delay_ns;       /* delay: latency added to every chunk */
    int64_t reset_every_ns; /* reset: time between two resets of every connection */
    int64_t skew_s;         /* skew: wall clock offset in seconds (never 0) */
} weir_real_fault;

typedef struct weir_real_schedule {
    unsigned kinds;                               /* the swarm's subset of the allowed kinds */
    weir_real_fault faults[WEIR_REAL_FAULTS_MAX]; /* by at_ns */
    int count;
    int64_t last_end_ns; /* when the last fault heals; 0 with none */
} weir_real_schedule;

/* A random schedule for one seed: a random non-empty subset of `allowed`
 * (swarm testing), each chosen kind at least once, faults placed between
 * 10 % and 60 % of duration_ns so everything heals well before the
 * producers stop (75 %); kill and skew never overlap each other. The same
 * seed, allowed kinds, scenario and duration give the same schedule. */
void weir_real_schedule_make(const weir_scenario *sc, uint64_t seed, unsigned allowed,
                             int64_t duration_ns, weir_real_schedule *out);

/* One line describing a fault, for listings ("kill leader(events/0) at 3.2s for 2.1s"). */
void weir_real_fault_describe(const weir_scenario *sc, const weir_real_fault *f, char *buf,
                              size_t size);

/* ---- child processes, signals, ports (real_proc.c) ---- */

typedef enum weir_real_proc_state {
    WEIR_REAL_PROC_DOWN,
    WEIR_REAL_PROC_UP,
    WEIR_REAL_PROC_STOPPING, /* signalled by us; its exit is expected */
} weir_real_proc_state;

/* One child: `weir controller` or `weir broker`, run from /proc/self/exe. */
typedef struct weir_real_proc {
    char name[32];                     /* "controller", "b1" */
    char log_path[WEIR_REAL_PATH_MAX]; /* stdout and stderr, appended across starts */
    char *argv[WEIR_REAL_ARGS_MAX];    /* owned, NULL-terminated; argv[0] is "weir" */
    pid_t pid;                         /* > 0 while UP or STOPPING */
    weir_real_proc_state state;
    int64_t kill_at_ns; /* STOPPING: SIGKILL after this (monotonic) */
    int starts;
    int last_status; /* wait status of the last exit */
} weir_real_proc;

/* Sets the name, log file and arguments (copied). */
void weir_real_proc_init(weir_real_proc *p, const char *name, const char *log_path,
                         char *const argv[]);
void weir_real_proc_free(weir_real_proc *p);

/* Starts the process (it must be DOWN): /proc/self/exe with p->argv, the
 * environment plus extra_env ("K=V" strings, NULL-terminated, may be NULL),
 * output appended to the log file after a header line naming the start and
 * `note`. The child dies with this process (PR_SET_PDEATHSIG). Returns 0 or
 * a WEIR_E_* with why. */
WEIR_MUST_CHECK int weir_real_proc_start(weir_real_proc *p, char *const extra_env[],
                                         const char *note, char *why, size_t why_size);

/* Sends sig (an UP process becomes STOPPING); SIGKILL follows after
 * grace_ns if it has not exited by then (weir_real_proc_poll does it). */
void weir_real_proc_signal(weir_real_proc *p, int sig, int64_t grace_ns);

typedef enum weir_real_exit {
    WEIR_REAL_EXIT_NONE,       /* still running (or down) */
    WEIR_REAL_EXIT_EXPECTED,   /* a STOPPING process exited */
    WEIR_REAL_EXIT_UNEXPECTED, /* an UP process exited on its own */
} weir_real_exit;

/* Reaps the process if it exited (never blocks); escalates to SIGKILL past
 * the grace time. The wait status goes to p->last_status. */
weir_real_exit weir_real_proc_poll(weir_real_proc *p);

/* Stops and reaps it, blocking: sig, up to grace_ns, then SIGKILL. */
void weir_real_proc_stop_wait(weir_real_proc *p, int sig, int64_t grace_ns);

/* "exit 1", "killed by signal 6 (Aborted)". */
void weir_real_status_describe(int status, char *buf, size_t size);

/* SIGINT/SIGTERM: the first sets the interrupted flag (the run stops and
 * cleans up), a second kills every child and exits at once. */
void weir_real_signals_install(void);
void weir_real_signals_restore(void);
bool weir_real_interrupted(void);

/* count distinct loopback TCP ports that are free now, outside the kernel's
 * ephemeral range (so no outgoing connection takes one while its broker
 * restarts). Returns 0 or WEIR_E_ADDRINUSE with why. */
WEIR_MUST_CHECK int weir_real_ports_pick(int count, int *ports_out, char *why, size_t why_size);

/* The path of Debian's libfaketime preload library, or NULL if absent. */
const char *weir_real_faketime_lib(void);

/* Monotonic clock, ns. */
int64_t weir_real_clock_ns(void);

/* mkdir -p; 0 or WEIR_E_*. rm -rf (no symlinks followed); 0 or WEIR_E_*. */
WEIR_MUST_CHECK int weir_real_mkdirs(const char *path);
WEIR_MUST_CHECK int weir_real_rmtree(const char *path);

/* ---- the TCP fault proxy (real_proxy.c) ---- */

#define WEIR_REAL_GROUPS_MAX 64

typedef enum weir_real_link_mode {
    WEIR_REAL_LINK_PASS,      /* forward at once */
    WEIR_REAL_LINK_DELAY,     /* hold every chunk for delay_ns, in order */
    WEIR_REAL_LINK_BLACKHOLE, /* forward nothing either way; connections stay open */
} weir_real_link_mode;

typedef struct weir_real_proxy weir_real_proxy;

/* Starts the proxy's thread and loop. NULL with why on failure. */
weir_real_proxy *weir_real_proxy_new(char *why, size_t why_size);

/* Adds a route: a listener on 127.0.0.1 (a free port, *listen_port_out)
 * whose every connection is relayed to 127.0.0.1:target_port. Routes of one
 * group (a broker) share their faults. Returns 0 or a WEIR_E_*. */
WEIR_MUST_CHECK int weir_real_proxy_route(weir_real_proxy *px, int group, int target_port,
                                          int *listen_port_out);

/* Sets a group's mode; *conns_out (may be NULL) gets its open connections. */
WEIR_MUST_CHECK int weir_real_proxy_set(weir_real_proxy *px, int group, weir_real_link_mode mode,
                                        int64_t delay_ns, int *conns_out);

/* Closes every connection of the group with RST on both ends; *conns_out
 * (may be NULL) gets how many. */
WEIR_MUST_CHECK int weir_real_proxy_reset(weir_real_proxy *px, int group, int *conns_out);

/* Bytes relayed so far by the group's routes, both ways. */
uint64_t weir_real_proxy_bytes(weir_real_proxy *px, int group);

/* Closes everything and joins the thread. NULL is fine. */
void weir_real_proxy_free(weir_real_proxy *px);

/* ---- one run (real_run.c, real_workload.c) ---- */

typedef struct weir_real_opts {
    const char *scenario_path;
    uint64_t seed_first, seed_last;
    unsigned kinds;       /* allowed fault kinds */
    bool kinds_given;     /* --faults was given */
    int64_t duration_ns;  /* the workload's length (producers stop at 75 %) */
    int64_t liveness_ns;  /* after the last heal, a produce must succeed within this */
    const char *out_dir;  /* the run folder root */
    bool keep;            /* keep data dirs */
    const char *faketime; /* libfaketime path, NULL if absent */
} weir_real_opts;

typedef enum weir_real_verdict {
    WEIR_REAL_PASS,
    WEIR_REAL_FAIL,
    WEIR_REAL_ERROR,
} weir_real_verdict;

typedef struct weir_real_outcome {
    weir_real_verdict verdict;
    char name[128]; /* the run's folder under out_dir */
    int faults_fired;
    unsigned kinds_fired;
    char kinds_text[96]; /* "kill×1,delay×2" */
    int64_t sent, acked, acked_all, produce_errors, read;
    int64_t lost_all, lost_any, duplicated, reordered;
    double recovered_s; /* first good produce after the last heal; < 0 never */
    double run_s;       /* from the run's start to the end of the checks */
    double wall_s;      /* with setup and teardown */
    char failures[WEIR_REAL_FAILURES_MAX][256];
    int n_failures;
} weir_real_outcome;

/* Runs one seed. Never leaves a child process behind. Returns 0 (see
 * out->verdict) or WEIR_E_INVAL when interrupted (out->verdict is ERROR). */
int weir_real_run_seed(const weir_real_opts *o, const weir_scenario *sc, uint64_t seed,
                       weir_real_outcome *out);

const char *weir_real_verdict_name(weir_real_verdict v);

#endif
