/* One seed of `weir chaos --real`: start a controller and the brokers behind
 * their proxies, run the workload while the seed's faults fire, let the
 * cluster settle, read the final log, judge, write the run's records, and
 * stop every process.
 *
 * The driver loop runs the libuv world in 20 ms slices; between slices it
 * reaps and restarts processes, fires and heals faults, moves the phase on
 * and checks deadlines, so no step can hang the run: each phase has a bound
 * and the whole run a hard deadline. Every exit path goes through
 * rr_teardown, which stops and reaps every child.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/assert.h"
#include "env/uv_world.h"
#include "proto/kafka.h"
#include "real_run.h"

#define RR_SLICE_NS (20 * WEIR_REAL_MS)
#define RR_SETUP_NS (30 * WEIR_REAL_S) /* the cluster is up and the topics have leaders */
#define RR_DRAIN_EXTRA_NS (5 * WEIR_REAL_S)
#define RR_SETTLE_NS (20 * WEIR_REAL_S) /* leaders and full ISRs again after the workload */
#define RR_READ_NS (30 * WEIR_REAL_S)   /* the final read */
#define RR_REREAD_WAIT_NS (2 * WEIR_REAL_S)
#define RR_STOP_GRACE_NS (5 * WEIR_REAL_S)
#define RR_RESTART_AFTER_NS (1 * WEIR_REAL_S) /* after a broker exited on its own */
#define RR_UNEXPECTED_EXITS_MAX 3

int64_t weir_real_run_now(const weir_real_run *run)
{
    return weir_real_clock_ns() - run->t_start_ns;
}

const char *weir_real_verdict_name(weir_real_verdict v)
{
    return v == WEIR_REAL_PASS ? "PASS" : (v == WEIR_REAL_FAIL ? "FAIL" : "ERROR");
}

void weir_real_event(weir_real_run *run, const char *kind, const char *fmt, ...)
{
    if (run->events == NULL) {
        return;
    }
    fprintf(run->events, "%lld\t%s\t", (long long)weir_real_run_now(run), kind);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(run->events, fmt, ap);
    va_end(ap);
    fputc('\n', run->events);
}

void weir_real_fail(weir_real_run *run, const char *fmt, ...)
{
    weir_real_outcome *o = run->out;
    if (o->n_failures == WEIR_REAL_FAILURES_MAX) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->failures[o->n_failures], sizeof o->failures[0], fmt, ap);
    va_end(ap);
    weir_real_event(run, "note", "FAILURE: %s", o->failures[o->n_failures]);
    o->n_failures++;
}

static const char *rr_host(const weir_real_run *run, int bi)
{
    return run->sc->hosts[run->sc->brokers[bi].host_index].name;
}

static int rr_broker_index(const weir_real_run *run, int32_t id)
{
    return weir_scenario_broker_find(run->sc, id);
}

/* ---- processes ---- */

/* min.insync.replicas for every broker: the largest any topic asks for (a
 * real broker has one value; the scenario may set it per topic). */
static int rr_min_isr(const weir_scenario *sc)
{
    int m = 1;
    for (size_t t = 0; t < sc->topic_count; t++) {
        int v = weir_scenario_topic_min_isr(sc, t);
        m = v > m ? v : m;
    }
    return m;
}

static void rr_settings_write(FILE *f, const weir_scn_settings *s)
{
    for (size_t k = 0; k < s->count; k++) {
        fprintf(f, "%s=%s\n", s->items[k].key, s->items[k].value);
    }
}

/* Writes the process's properties file into the run folder (so the folder
 * says how each process ran) and sets it up to start with --config FILE. */
static int rr_proc_setup(weir_real_run *run, weir_real_proc *p, const char *name, const char *cmd,
                         void (*write)(weir_real_run *run, FILE *f, int bi), int bi)
{
    char conf[WEIR_REAL_PATH_MAX + 64], log_path[WEIR_REAL_PATH_MAX + 64];
    snprintf(conf, sizeof conf, "%s/%s.properties", run->dir, name);
    snprintf(log_path, sizeof log_path, "%s/%s.log", run->dir, name);
    FILE *f = fopen(conf, "we");
    if (f == NULL) {
        return WEIR_E_IO;
    }
    fprintf(f, "# %s of `weir chaos %s --real`, seed %llu\n", name, run->o->scenario_path,
            (unsigned long long)run->seed);
    write(run, f, bi);
    if (fclose(f) != 0) {
        return WEIR_E_IO;
    }
    char *argv[] = {"weir", (char *)cmd, "--config", conf, NULL};
    weir_real_proc_init(p, name, log_path, argv);
    return 0;
}

static void rr_controller_write(weir_real_run *run, FILE *f, int bi)
{
    (void)bi;
    const weir_scenario *sc = run->sc;
    fprintf(f, "listeners=CONTROLLER://127.0.0.1:%d\n", run->controller_port);
    fprintf(f, "broker.session.timeout.ms=%lld\n", (long long)sc->controller.session_timeout_ms);
    fprintf(f, "num.partitions=%d\ndefault.replication.factor=%d\n", sc->topics[0].partitions,
            sc->topics[0].replication_factor);
    bool unclean = false;
    for (size_t t = 0; t < sc->topic_count; t++) {
        unclean = unclean || weir_scenario_topic_unclean(sc, t);
    }
    fprintf(f, "unclean.leader.election.enable=%s\n", unclean ? "true" : "false");
}

/* The scenario's settings for the broker first, then what the run needs. */
static void rr_broker_write(weir_real_run *run, FILE *f, int bi)
{
    const weir_scenario *sc = run->sc;
    fprintf(f, "# from the scenario\n");
    rr_settings_write(f, &sc->broker_defaults);
    rr_settings_write(f, &sc->brokers[bi].config);
    fprintf(f, "# the run's\n");
    fprintf(f, "node.id=%d\n", sc->brokers[bi].id);
    fprintf(f, "listeners=PLAINTEXT://127.0.0.1:%d\n", run->broker_ports[bi]);
    fprintf(f, "# clients, replicas and the controller reach it through its proxy\n");
    fprintf(f, "advertised.listeners=PLAINTEXT://127.0.0.1:%d\n", run->front_ports[bi]);
    fprintf(f, "log.dirs=%s/data/%s\n", run->dir, rr_host(run, bi));
    fprintf(f, "# the controller, through the broker's proxy\n");
    fprintf(f, "controller.quorum.voters=1000@127.0.0.1:%d\n", run->control_ports[bi]);
    fprintf(f, "broker.heartbeat.interval.ms=%lld\n",
            (long long)sc->controller.heartbeat_interval_ms);
    fprintf(f, "min.insync.replicas=%d\n", rr_min_isr(sc));
    fprintf(f, "num.partitions=%d\ndefault.replication.factor=%d\n", sc->topics[0].partitions,
            sc->topics[0].replication_factor);
}

/* Starts broker bi, under libfaketime when skew_s != 0. */
static int rr_broker_start(weir_real_run *run, int bi, int64_t skew_s, const char *why_start)
{
    char preload[WEIR_REAL_PATH_MAX + 16], faketime[48], asan[512];
    char *env[] = {preload, faketime, "FAKETIME_DONT_FAKE_MONOTONIC=1", asan, NULL};
    char note[160];
    if (skew_s != 0) {
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", run->o->faketime);
        /* a sanitizer build wants its runtime first; libfaketime ahead of it is fine */
        const char *old = getenv("ASAN_OPTIONS");
        snprintf(asan, sizeof asan, "ASAN_OPTIONS=%.400s%sverify_asan_link_order=0", old ? old : "",
                 old && old[0] ? ":" : "");
        snprintf(faketime, sizeof faketime, "FAKETIME=%+llds", (long long)skew_s);
        snprintf(note, sizeof note, "%s, under libfaketime (%s)", why_start, faketime);
    } else {
        snprintf(note, sizeof note, "%s", why_start);
    }
    char why[256];
    int err =
        weir_real_proc_start(&run->brokers[bi], skew_s != 0 ? env : NULL, note, why, sizeof why);
    if (err != 0) {
        weir_real_fail(run, "cannot start broker %d: %s", run->sc->brokers[bi].id, why);
    }
    return err;
}

/* Brings broker bi (back) up, under a skewed clock when skew_s != 0: at once
 * if it is down, else once it has stopped (after sig, unless sig is 0
 * because it is stopping already). */
static void rr_broker_restart(weir_real_run *run, int bi, int64_t skew_s, int sig, const char *why)
{
    weir_real_proc *b = &run->brokers[bi];
    run->restart_at_ns[bi] = -1;
    if (b->state == WEIR_REAL_PROC_DOWN) {
        run->restart_pending[bi] = false;
        weir_ignore(rr_broker_start(run, bi, skew_s, why));
        return;
    }
    if (sig != 0) {
        weir_real_proc_signal(b, sig, RR_STOP_GRACE_NS);
    }
    run->restart_pending[bi] = true;
    run->restart_skew_s[bi] = skew_s;
    run->restart_why[bi] = why;
}

/* The last line a process wrote (its reason to exit, usually), or "". */
static void rr_log_tail(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(line);
        if (n > 0 && strncmp(line, "=== weir chaos", 14) != 0) {
            n = n < size ? n : size - 1;
            memcpy(buf, line, n);
            buf[n] = '\0';
        }
    }
    fclose(f);
}

/* Reaps exits; carries out pending restarts; a process that exits on its
 * own is a failure. Returns false when the run cannot go on. */
static bool rr_supervise(weir_real_run *run)
{
    char st[96];
    if (weir_real_proc_poll(&run->controller) == WEIR_REAL_EXIT_UNEXPECTED) {
        weir_real_status_describe(run->controller.last_status, st, sizeof st);
        char last[160];
        rr_log_tail(run->controller.log_path, last, sizeof last);
        weir_real_fail(run, "%sthe controller exited on its own (%s): %s",
                       run->phase < WEIR_REAL_PH_READY ? "setup: " : "", st,
                       last[0] ? last : "see controller.log");
        if (run->phase < WEIR_REAL_PH_READY) {
            run->out->verdict = WEIR_REAL_ERROR;
        }
        return false;
    }
    int64_t now = weir_real_run_now(run);
    for (size_t i = 0; i < run->sc->broker_count; i++) {
        weir_real_proc *b = &run->brokers[i];
        weir_real_exit ex = weir_real_proc_poll(b);
        if (ex == WEIR_REAL_EXIT_EXPECTED && run->restart_pending[i]) {
            run->restart_pending[i] = false;
            weir_ignore(rr_broker_start(run, (int)i, run->restart_skew_s[i], run->restart_why[i]));
        } else if (ex == WEIR_REAL_EXIT_UNEXPECTED && run->phase < WEIR_REAL_PH_READY) {
            weir_real_status_describe(b->last_status, st, sizeof st);
            char last[160];
            rr_log_tail(b->log_path, last, sizeof last);
            weir_real_fail(run, "setup: broker %d exited (%s): %s", run->sc->brokers[i].id, st,
                           last[0] ? last : "see its log");
            run->out->verdict = WEIR_REAL_ERROR;
            return false;
        } else if (ex == WEIR_REAL_EXIT_UNEXPECTED) {
            weir_real_status_describe(b->last_status, st, sizeof st);
            run->unexpected_exits[i]++;
            weir_real_fail(run, "broker %d exited on its own (%s); see %s.log",
                           run->sc->brokers[i].id, st, b->name);
            if (run->unexpected_exits[i] <= RR_UNEXPECTED_EXITS_MAX &&
                run->phase < WEIR_REAL_PH_DONE) {
                run->restart_at_ns[i] = now + RR_RESTART_AFTER_NS;
            }
        }
        if (run->restart_at_ns[i] >= 0 && now >= run->restart_at_ns[i] &&
            b->state == WEIR_REAL_PROC_DOWN) {
            rr_broker_restart(run, (int)i, 0, 0, "restart after it exited on its own");
        }
    }
    return true;
}

/* ---- faults ---- */

static const char *rr_leader_text(const weir_real_run *run, int bi, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t at = 0;
    int shown = 0;
    for (size_t t = 0; t < run->sc->topic_count; t++) {
        for (int32_t p = 0; p < run->sc->topics[t].partitions && at < size - 1; p++) {
            const weir_real_part *v = &run->parts[run->part_base[t] + (size_t)p];
            if (v->known && v->leader == run->sc->brokers[bi].id) {
                if (shown++ < 4) {
                    at += (size_t)snprintf(buf + at, size - at, "%s%s/%d", at ? "," : "",
                                           run->sc->topics[t].name, p);
                } else if (shown == 5) {
                    at += (size_t)snprintf(buf + at, size - at, ",...");
                }
            }
        }
    }
    return buf;
}

/* The broker a fault hits: its own, or the leader of its partition now; a
 * broker that already has a fault (or is down, for kill and skew) passes
 * the fault to the next one. -1 if none can take it. */
static int rr_fault_target(weir_real_run *run, const weir_real_fault *f)
{
    int n = (int)run->sc->broker_count;
    int bi = f->broker_index;
    if (bi < 0) {
        const weir_real_part *v =
            &run->parts[run->part_base[f->topic_index] + (size_t)f->partition];
        bi = v->known && v->leader >= 0 ? rr_broker_index(run, v->leader) : -1;
    }
    if (bi < 0) {
        bi = (int)weir_prng_below(&run->prng, (uint64_t)n);
    }
    bool needs_up = f->kind == WEIR_REAL_KILL || f->kind == WEIR_REAL_SKEW;
    for (int k = 0; k < n; k++) {
        int c = (bi + k) % n;
        if (run->broker_fault[c] < 0 && (!needs_up || (run->brokers[c].state == WEIR_REAL_PROC_UP &&
                                                       !run->restart_pending[c]))) {
            return c;
        }
    }
    return -1;
}

static void rr_fault_start(weir_real_run *run, int i)
{
    const weir_real_fault *f = &run->schedule.faults[i];
    const char *kind = weir_real_kind_name(f->kind);
    int bi = rr_fault_target(run, f);
    run->fault_broker[i] = bi;
    if (bi < 0) {
        weir_real_event(run, "note", "fault %d (%s) skipped: no broker can take it now", i, kind);
        return;
    }
    run->broker_fault[bi] = i;
    run->faults_fired++;
    run->kind_counts[f->kind]++;
    int32_t id = run->sc->brokers[bi].id;
    char leads[160], what[192] = "";
    rr_leader_text(run, bi, leads, sizeof leads);
    if (leads[0] != '\0') {
        snprintf(what, sizeof what, ", leader of %s", leads);
    }
    int conns = 0;
    int err = 0;
    switch (f->kind) {
    case WEIR_REAL_KILL:
        weir_real_event(run, "fault", "kill\t%s\tstart\tkill -9 broker %d (pid %d)%s",
                        rr_host(run, bi), id, (int)run->brokers[bi].pid, what);
        weir_real_proc_signal(&run->brokers[bi], SIGKILL, 0);
        run->restart_pending[bi] = false;
        break;
    case WEIR_REAL_SKEW:
        weir_real_event(run, "fault",
                        "skew\t%s\tstart\trestart broker %d with its wall clock %+llds "
                        "(libfaketime)%s",
                        rr_host(run, bi), id, (long long)f->skew_s, what);
        rr_broker_restart(run, bi, f->skew_s, SIGTERM, "restart under a skewed clock");
        break;
    case WEIR_REAL_DELAY:
        err = weir_real_proxy_set(run->proxy, bi, WEIR_REAL_LINK_DELAY, f->delay_ns, &conns);
        weir_real_event(run, "fault",
                        "delay\t%s\tstart\t+%lld ms on every chunk to and from broker "
                        "%d (%d connection(s))%s",
                        rr_host(run, bi), (long long)(f->delay_ns / WEIR_REAL_MS), id, conns, what);
        break;
    case WEIR_REAL_BLACKHOLE:
        err = weir_real_proxy_set(run->proxy, bi, WEIR_REAL_LINK_BLACKHOLE, 0, &conns);
        weir_real_event(run, "fault",
                        "blackhole\t%s\tstart\tnothing forwarded to or from broker %d, "
                        "%d connection(s) held open%s",
                        rr_host(run, bi), id, conns, what);
        break;
    case WEIR_REAL_RESET:
        err = weir_real_proxy_reset(run->proxy, bi, &conns);
        run->fault_resets[i] = 1;
        run->fault_reset_conns[i] = conns;
        run->fault_next_reset_ns[i] = weir_real_run_now(run) + f->reset_every_ns;
        weir_real_event(run, "fault",
                        "reset\t%s\tstart\tRST on %d connection(s) of broker %d, again "
                        "every %lld ms%s",
                        rr_host(run, bi), conns, id, (long long)(f->reset_every_ns / WEIR_REAL_MS),
                        what);
        break;
    default:
        break;
    }
    if (err != 0) {
        weir_real_fail(run, "the proxy did not take fault %d (%s): %s", i, kind, weir_err_str(err));
    }
}

static void rr_fault_end(weir_real_run *run, int i)
{
    const weir_real_fault *f = &run->schedule.faults[i];
    int bi = run->fault_broker[i];
    if (bi < 0) {
        return;
    }
    run->broker_fault[bi] = -1;
    int32_t id = run->sc->brokers[bi].id;
    int err = 0;
    switch (f->kind) {
    case WEIR_REAL_KILL:
        rr_broker_restart(run, bi, 0, 0, "restart after kill -9"); /* now, or once reaped */
        weir_real_event(run, "fault", "kill\t%s\tend\trestarted broker %d (pid %d) on its data dir",
                        rr_host(run, bi), id, (int)run->brokers[bi].pid);
        break;
    case WEIR_REAL_SKEW:
        rr_broker_restart(run, bi, 0, SIGTERM, "restart with the true clock");
        weir_real_event(run, "fault", "skew\t%s\tend\trestart broker %d with the true clock",
                        rr_host(run, bi), id);
        break;
    case WEIR_REAL_DELAY:
        err = weir_real_proxy_set(run->proxy, bi, WEIR_REAL_LINK_PASS, 0, NULL);
        weir_real_event(run, "fault", "delay\t%s\tend\tno added latency", rr_host(run, bi));
        break;
    case WEIR_REAL_BLACKHOLE:
        err = weir_real_proxy_set(run->proxy, bi, WEIR_REAL_LINK_PASS, 0, NULL);
        weir_real_event(run, "fault", "blackhole\t%s\tend\tforwarding again", rr_host(run, bi));
        break;
    case WEIR_REAL_RESET:
        weir_real_event(run, "fault", "reset\t%s\tend\t%d reset(s), %d connection(s) reset",
                        rr_host(run, bi), run->fault_resets[i], run->fault_reset_conns[i]);
        break;
    default:
        break;
    }
    if (err != 0) {
        weir_real_fail(run, "the proxy did not heal fault %d: %s", i, weir_err_str(err));
    }
}

/* Starts, repeats and heals the schedule's faults; notes when all healed. */
static void rr_faults(weir_real_run *run)
{
    int64_t now = weir_real_run_now(run);
    bool all_ended = true;
    for (int i = 0; i < run->schedule.count; i++) {
        const weir_real_fault *f = &run->schedule.faults[i];
        int64_t at = run->t_work_ns + f->at_ns;
        if (!run->fault_started[i] && now >= at) {
            run->fault_started[i] = true;
            rr_fault_start(run, i);
        }
        if (run->fault_started[i] && !run->fault_ended[i] && f->kind == WEIR_REAL_RESET &&
            run->fault_broker[i] >= 0 && now >= run->fault_next_reset_ns[i]) {
            int conns = 0;
            if (weir_real_proxy_reset(run->proxy, run->fault_broker[i], &conns) == 0) {
                run->fault_resets[i]++;
                run->fault_reset_conns[i] += conns;
            }
            run->fault_next_reset_ns[i] = now + f->reset_every_ns;
        }
        if (run->fault_started[i] && !run->fault_ended[i] && now >= at + f->duration_ns) {
            run->fault_ended[i] = true;
            rr_fault_end(run, i);
        }
        all_ended = all_ended && run->fault_ended[i];
    }
    /* healed: every fault ended and no broker is still on its way back */
    for (size_t b = 0; all_ended && b < run->sc->broker_count; b++) {
        all_ended = !run->restart_pending[b] && run->brokers[b].state == WEIR_REAL_PROC_UP;
    }
    if (all_ended && run->heal_ns < 0) {
        run->heal_ns = now;
        if (run->schedule.count > 0) {
            weir_real_event(run, "note", "every fault healed, every broker up");
        }
    }
}

static void rr_liveness(weir_real_run *run, bool final)
{
    if (run->liveness_judged || run->heal_ns < 0 || run->recovered_ns >= 0) {
        return;
    }
    int64_t now = weir_real_run_now(run);
    if (final || now > run->heal_ns + run->o->liveness_ns) {
        run->liveness_judged = true;
        if (run->last_sent_ns < run->heal_ns) {
            weir_real_event(run, "note",
                            "liveness not judged: no message was sent after the last "
                            "fault healed");
            return;
        }
        weir_real_fail(run,
                       "liveness: no message sent after the last fault healed (at %.1fs) was "
                       "acknowledged within %.0fs",
                       (double)run->heal_ns / 1e9, (double)run->o->liveness_ns / 1e9);
    }
}

/* ---- setup ---- */

static int rr_setup(weir_real_run *run, char *why, size_t why_size)
{
    const weir_scenario *sc = run->sc;
    size_t nb = sc->broker_count;
    char path[WEIR_REAL_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/data", run->dir);
    if (weir_real_mkdirs(path) != 0) {
        snprintf(why, why_size, "cannot create %.300s: %s", path, strerror(errno));
        return WEIR_E_IO;
    }
    int ports[WEIR_SCN_BROKERS_MAX + 1];
    int err = weir_real_ports_pick((int)nb + 1, ports, why, why_size);
    if (err != 0) {
        return err;
    }
    run->controller_port = ports[0];
    run->proxy = weir_real_proxy_new(why, why_size);
    if (run->proxy == NULL) {
        return WEIR_E_IO;
    }
    size_t at = 0;
    for (size_t i = 0; i < nb; i++) {
        run->broker_ports[i] = ports[i + 1];
        if ((err = weir_real_proxy_route(run->proxy, (int)i, run->broker_ports[i],
                                         &run->front_ports[i])) != 0 ||
            (err = weir_real_proxy_route(run->proxy, (int)i, run->controller_port,
                                         &run->control_ports[i])) != 0) {
            snprintf(why, why_size, "proxy: cannot listen: %s", weir_err_str(err));
            return err;
        }
        at += (size_t)snprintf(run->bootstrap + at, sizeof run->bootstrap - at, "%s127.0.0.1:%d",
                               i ? "," : "", run->front_ports[i]);
    }
    if (rr_proc_setup(run, &run->controller, "controller", "controller", rr_controller_write, 0) !=
        0) {
        snprintf(why, why_size, "cannot write %.300s/controller.properties", run->dir);
        return WEIR_E_IO;
    }
    for (size_t i = 0; i < nb; i++) {
        if (rr_proc_setup(run, &run->brokers[i], rr_host(run, (int)i), "broker", rr_broker_write,
                          (int)i) != 0) {
            snprintf(why, why_size, "cannot write %.300s/%s.properties", run->dir,
                     rr_host(run, (int)i));
            return WEIR_E_IO;
        }
    }
    if ((err = weir_real_proc_start(&run->controller, NULL, "chaos run", why, why_size)) != 0) {
        return err;
    }
    weir_real_event(run, "note", "controller started (pid %d) on 127.0.0.1:%d",
                    (int)run->controller.pid, run->controller_port);
    for (size_t i = 0; i < nb; i++) {
        if ((err = weir_real_proc_start(&run->brokers[i], NULL, "chaos run", why, why_size)) != 0) {
            return err;
        }
        weir_real_event(run, "note",
                        "broker %d started (pid %d) on 127.0.0.1:%d; its proxy: "
                        "clients and replicas at :%d, to the controller at :%d",
                        sc->brokers[i].id, (int)run->brokers[i].pid, run->broker_ports[i],
                        run->front_ports[i], run->control_ports[i]);
    }
    snprintf(path, sizeof path, "%s/data/.driver", run->dir); /* no broker host starts with '.' */
    run->world = weir_uv_world_new(path, run->seed);
    if (run->world == NULL) {
        snprintf(why, why_size, "cannot start the driver's event loop");
        return WEIR_E_IO;
    }
    if ((err = weir_real_workload_add(run)) != 0) {
        snprintf(why, why_size, "cannot add the driver's node: %s", weir_err_str(err));
        return err;
    }
    return 0;
}

/* ---- the loop ---- */

static const char *rr_phase_name(weir_real_phase p)
{
    static const char *const names[] = {"waiting for the brokers to register",
                                        "creating topics",
                                        "waiting for leaders and full ISRs",
                                        "ready",
                                        "producing",
                                        "draining the producers",
                                        "waiting for leaders and full ISRs after the workload",
                                        "settled",
                                        "reading the final log",
                                        "read",
                                        "done"};
    return (unsigned)p <= WEIR_REAL_PH_DONE ? names[p] : "?";
}

static void rr_lost_failure(weir_real_run *run)
{
    weir_real_outcome *o = run->out;
    if (o->lost_all > 0) {
        weir_real_fail(run,
                       "acknowledged loss: %lld acks=all message(s) lost or moved (first: "
                       "%.200s)",
                       (long long)o->lost_all, run->first_lost);
    }
}

/* DRAIN: waits for the producers' last reports until the end of the
 * duration (longer while faults have not healed, bounded), then SETTLE. */
static void rr_drain_step(weir_real_run *run, int64_t *deadline_ns)
{
    const weir_real_opts *o = run->o;
    int64_t now = weir_real_run_now(run);
    int64_t run_end = run->t_work_ns + o->duration_ns;
    rr_faults(run);
    int64_t healed_by = run->heal_ns + o->liveness_ns;
    int64_t give_up = (run_end > healed_by ? run_end : healed_by) + RR_DRAIN_EXTRA_NS;
    int64_t in_flight = weir_real_workload_in_flight(run);
    bool healed = run->heal_ns >= 0;
    if ((healed && in_flight == 0 && now >= run_end) || (healed && now >= give_up) ||
        now >= run_end + 30 * WEIR_REAL_S) {
        if (in_flight > 0) {
            weir_real_event(run, "note", "%lld message(s) still unreported; not waiting longer",
                            (long long)in_flight);
        }
        if (!healed) {
            weir_real_fail(run, "the faults did not heal: a broker did not come back up");
        }
        rr_liveness(run, true);
        run->phase = WEIR_REAL_PH_SETTLE;
        *deadline_ns = now + RR_SETTLE_NS;
    }
}

/* READ_DONE: the oracles; a read that misses acks=all messages is done once
 * more after a pause (a high watermark may lag just after a leader change)
 * before the loss counts. False when the run is judged. */
static bool rr_judge_step(weir_real_run *run, int64_t *deadline_ns, int64_t *reread_at_ns)
{
    int64_t now = weir_real_run_now(run);
    if (*reread_at_ns < 0) {
        weir_real_workload_check(run);
        if (run->out->lost_all == 0 || run->reads_done > 1) {
            rr_lost_failure(run);
            return false;
        }
        weir_real_event(run, "note",
                        "%lld acks=all message(s) missing from the final read; reading again in "
                        "%.0fs",
                        (long long)run->out->lost_all, (double)RR_REREAD_WAIT_NS / 1e9);
        *reread_at_ns = now + RR_REREAD_WAIT_NS;
    } else if (now >= *reread_at_ns) {
        *reread_at_ns = -1;
        run->phase = WEIR_REAL_PH_SETTLE;
        *deadline_ns = now + RR_SETTLE_NS;
    }
    return true;
}

/* Moves the phase on; false when the run is over (read, judged, or failed). */
static bool rr_step(weir_real_run *run, int64_t *deadline_ns, int64_t *reread_at_ns)
{
    const weir_real_opts *o = run->o;
    int64_t now = weir_real_run_now(run);
    int64_t produce_end = run->t_work_ns + o->duration_ns * 3 / 4;
    switch (run->phase) {
    case WEIR_REAL_PH_BROKERS:
    case WEIR_REAL_PH_TOPICS:
    case WEIR_REAL_PH_LEADERS:
        if (run->admin_failed || now > *deadline_ns) {
            if (run->admin_failed) {
                weir_real_fail(run, "setup: %s", run->admin_why);
            } else {
                weir_real_fail(run,
                               "setup: the cluster was not ready after %.0fs (%s; %d of %zu "
                               "brokers listed)",
                               (double)RR_SETUP_NS / 1e9, rr_phase_name(run->phase),
                               run->brokers_listed, run->sc->broker_count);
            }
            run->out->verdict = WEIR_REAL_ERROR;
            return false;
        }
        break;
    case WEIR_REAL_PH_READY:
        run->t_work_ns = now;
        run->phase = WEIR_REAL_PH_PRODUCE;
        if (run->schedule.count == 0) {
            run->heal_ns = now;
        }
        weir_real_event(run, "note",
                        "workload started: %zu producer(s) for %.1fs, %d fault(s) "
                        "scheduled",
                        run->sc->producer_count, (double)(o->duration_ns * 3 / 4) / 1e9,
                        run->schedule.count);
        break;
    case WEIR_REAL_PH_PRODUCE:
        rr_faults(run);
        if (now >= produce_end) {
            run->phase = WEIR_REAL_PH_DRAIN;
            weir_real_event(run, "note", "producers stopped after %lld message(s)",
                            (long long)run->sent);
        }
        break;
    case WEIR_REAL_PH_DRAIN:
        rr_drain_step(run, deadline_ns);
        break;
    case WEIR_REAL_PH_SETTLE:
        if (now > *deadline_ns) {
            weir_real_fail(run,
                           "not settled: some partition had no leader or a short ISR %.0fs "
                           "after the workload (see the isr events)",
                           (double)RR_SETTLE_NS / 1e9);
            run->phase = WEIR_REAL_PH_SETTLED;
        }
        break;
    case WEIR_REAL_PH_SETTLED:
        run->phase = WEIR_REAL_PH_READ;
        *deadline_ns = now + RR_READ_NS;
        break;
    case WEIR_REAL_PH_READ:
        if (now > *deadline_ns) {
            weir_real_fail(run, "final read: not every partition read to its end within %.0fs",
                           (double)RR_READ_NS / 1e9);
            return false;
        }
        break;
    case WEIR_REAL_PH_READ_DONE:
        return rr_judge_step(run, deadline_ns, reread_at_ns);
    default:
        return false;
    }
    if (run->phase >= WEIR_REAL_PH_PRODUCE) {
        rr_liveness(run, false);
    }
    return true;
}

static void rr_loop(weir_real_run *run)
{
    int64_t deadline = weir_real_run_now(run) + RR_SETUP_NS;
    int64_t reread_at = -1;
    /* The hard bound: every phase's own bound, with room to spare. */
    int64_t hard = weir_real_run_now(run) + RR_SETUP_NS + run->o->duration_ns +
                   run->o->liveness_ns + RR_DRAIN_EXTRA_NS +
                   2 * (RR_SETTLE_NS + RR_READ_NS + RR_REREAD_WAIT_NS) + 60 * WEIR_REAL_S;
    while (true) {
        if (weir_real_interrupted()) {
            weir_real_fail(run, "interrupted (%s)", rr_phase_name(run->phase));
            run->out->verdict = WEIR_REAL_ERROR;
            return;
        }
        int err = weir_world_run(run->world, RR_SLICE_NS);
        if (err != 0) {
            weir_real_fail(run, "the driver's event loop failed: %s", weir_err_str(err));
            run->out->verdict = WEIR_REAL_ERROR;
            return;
        }
        if (!rr_supervise(run) || !rr_step(run, &deadline, &reread_at)) {
            return;
        }
        if (weir_real_run_now(run) > hard) {
            weir_real_fail(run, "the run's deadline passed while %s", rr_phase_name(run->phase));
            return;
        }
    }
}

/* ---- teardown ---- */

/* `weir log verify` on every partition folder of every broker that shut down
 * cleanly: a damaged replica fails the run. */
static void rr_verify_logs(weir_real_run *run)
{
    char log_path[WEIR_REAL_PATH_MAX + 32];
    snprintf(log_path, sizeof log_path, "%s/verify.log", run->dir);
    for (size_t i = 0; i < run->sc->broker_count; i++) {
        if (run->brokers[i].starts == 0 || !WIFEXITED(run->brokers[i].last_status) ||
            WEXITSTATUS(run->brokers[i].last_status) != 0) {
            weir_real_event(run, "note",
                            "broker %d did not shut down cleanly: its logs are not "
                            "verified",
                            run->sc->brokers[i].id);
            continue;
        }
        char dir[WEIR_REAL_PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/data/%s", run->dir, rr_host(run, (int)i));
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            char part[WEIR_REAL_PATH_MAX + 320];
            struct stat st;
            snprintf(part, sizeof part, "%s/%s", dir, e->d_name);
            if (e->d_name[0] == '.' || stat(part, &st) != 0 || !S_ISDIR(st.st_mode)) {
                continue;
            }
            char *argv[] = {"weir", "log", "verify", part, NULL};
            weir_real_proc v;
            weir_real_proc_init(&v, "verify", log_path, argv);
            char why[256];
            if (weir_real_proc_start(&v, NULL, part, why, sizeof why) == 0) {
                weir_real_proc_stop_wait(&v, 0, 30 * WEIR_REAL_S); /* signal 0: just wait */
                if (!WIFEXITED(v.last_status) || WEXITSTATUS(v.last_status) != 0) {
                    weir_real_fail(run,
                                   "broker %d: %s does not verify (weir log verify; see "
                                   "verify.log)",
                                   run->sc->brokers[i].id, e->d_name);
                }
            }
            weir_real_proc_free(&v);
        }
        if (d != NULL) {
            closedir(d);
        }
    }
}

static void rr_teardown(weir_real_run *run, bool verify)
{
    if (run->world != NULL) {
        run->phase = WEIR_REAL_PH_DONE;
        for (int i = 0; i < 5 && run->env != NULL; i++) {
            weir_ignore(weir_world_run(run->world, 10 * WEIR_REAL_MS));
        }
        weir_world_destroy(run->world);
        run->world = NULL;
    }
    /* brokers first (in parallel), then the controller */
    for (size_t i = 0; i < run->sc->broker_count; i++) {
        run->restart_pending[i] = false;
        weir_real_proc_signal(&run->brokers[i], SIGTERM, RR_STOP_GRACE_NS);
    }
    for (size_t i = 0; i < run->sc->broker_count; i++) {
        weir_real_proc_stop_wait(&run->brokers[i], SIGTERM, RR_STOP_GRACE_NS);
    }
    weir_real_proc_stop_wait(&run->controller, SIGTERM, RR_STOP_GRACE_NS);
    for (size_t i = 0; run->proxy != NULL && i < run->sc->broker_count; i++) {
        run->proxied_bytes += weir_real_proxy_bytes(run->proxy, (int)i);
    }
    weir_real_proxy_free(run->proxy);
    run->proxy = NULL;
    if (verify) {
        rr_verify_logs(run);
    }
}

/* ---- records ---- */

static void rr_write_meta(weir_real_run *run)
{
    const weir_real_opts *o = run->o;
    weir_real_outcome *out = run->out;
    char path[WEIR_REAL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/meta.tsv", run->dir);
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        return;
    }
    char kinds[96];
    weir_real_kinds_format(o->kinds, kinds, sizeof kinds);
    fprintf(f, "scenario\t%s\nvariant\t-\nseed\t%llu\nverdict\t%s\n", run->sc->name,
            (unsigned long long)run->seed, weir_real_verdict_name(out->verdict));
    fprintf(f,
            "sent\t%lld\nacked\t%lld\nacked_all\t%lld\nlost_all\t%lld\nlost_any\t%lld\n"
            "duplicated\t%lld\nreordered\t%lld\nread\t%lld\nproduce_errors\t%lld\n",
            (long long)out->sent, (long long)out->acked, (long long)out->acked_all,
            (long long)out->lost_all, (long long)out->lost_any, (long long)out->duplicated,
            (long long)out->reordered, (long long)out->read, (long long)out->produce_errors);
    for (int code = 1; code < 128; code++) {
        if (run->errors_by_code[code] > 0) {
            const char *name = code == WEIR_PRODUCER_ERR_NETWORK ? "NETWORK_EXCEPTION"
                                                                 : weir_kerr_name((int16_t)code);
            fprintf(f, "produce_error\t%s (%d) %lld\n", name, code,
                    (long long)run->errors_by_code[code]);
        }
    }
    fprintf(f, "replay\tweir chaos %s --real --seeds %llu..%llu --faults %s --duration %llds\n",
            o->scenario_path, (unsigned long long)run->seed, (unsigned long long)run->seed, kinds,
            (long long)(o->duration_ns / WEIR_REAL_S));
    char fired[96];
    weir_real_kinds_format(out->kinds_fired, fired, sizeof fired);
    fprintf(f, "fault_kinds\t%s\n", fired);
    char swarm[96];
    weir_real_kinds_format(run->schedule.kinds, swarm, sizeof swarm);
    fprintf(f, "swarm_kinds\t%s\nfaults\t%d\nworld\treal\nproxied_bytes\t%llu\n", swarm,
            out->faults_fired, (unsigned long long)run->proxied_bytes);
    fprintf(f, "duration_s\t%.3f\nrun_s\t%.3f\nwall_s\t%.3f\n", (double)o->duration_ns / 1e9,
            out->run_s, out->wall_s);
    if (out->recovered_s >= 0) {
        fprintf(f, "recovered_s\t%.3f\n", out->recovered_s);
    }
    for (int i = 0; i < out->n_failures; i++) {
        fprintf(f, "failure\t%s\n", out->failures[i]);
    }
    fclose(f);
}

static void rr_write_latency(weir_real_run *run)
{
    char path[WEIR_REAL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/latency.tsv", run->dir);
    FILE *f = fopen(path, "we");
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        const weir_real_producer *wp = &run->producers[i];
        for (int b = 0; b < WEIR_REAL_LAT_BUCKETS; b++) {
            if (wp->latency[b] > 0) {
                fprintf(f, "%s\t%lld\t%lld\t%llu\n", run->sc->producers[i].name,
                        b == 0 ? 0LL : 1LL << b, 1LL << (b + 1),
                        (unsigned long long)wp->latency[b]);
            }
        }
    }
    fclose(f);
}

/* ---- one seed ---- */

static void rr_outcome(weir_real_run *run)
{
    weir_real_outcome *o = run->out;
    o->faults_fired = run->faults_fired;
    size_t at = 0;
    o->kinds_text[0] = '\0';
    for (int k = 0; k < WEIR_REAL_KINDS_; k++) {
        if (run->kind_counts[k] > 0) {
            o->kinds_fired |= 1u << k;
            at += (size_t)snprintf(o->kinds_text + at, sizeof o->kinds_text - at, "%s%s:%d",
                                   at ? "," : "", weir_real_kind_name((weir_real_kind)k),
                                   run->kind_counts[k]);
        }
    }
    if (at == 0) {
        snprintf(o->kinds_text, sizeof o->kinds_text, "none");
    }
    o->sent = run->sent;
    o->acked = run->acked;
    o->acked_all = run->acked_all;
    o->produce_errors = run->produce_errors;
    o->read = run->read;
    o->recovered_s = run->recovered_ns >= 0 && run->heal_ns >= 0
                         ? (double)(run->recovered_ns - run->heal_ns) / 1e9
                         : -1;
    if (o->verdict != WEIR_REAL_ERROR) {
        o->verdict = o->n_failures > 0 || o->lost_all > 0 ? WEIR_REAL_FAIL : WEIR_REAL_PASS;
    }
}

static bool rr_init(weir_real_run *run, const weir_real_opts *o, const weir_scenario *sc,
                    uint64_t seed, weir_real_outcome *out)
{
    run->o = o;
    run->sc = sc;
    run->seed = seed;
    run->out = out;
    run->t_start_ns = weir_real_clock_ns();
    run->heal_ns = -1;
    run->recovered_ns = -1;
    run->t_work_ns = -1;
    run->caught_up_since_ns = -1;
    weir_prng_seed(&run->prng, seed ^ 0x7461726765747321ULL);
    weir_history_init(&run->hist);
    for (int i = 0; i < WEIR_REAL_FAULTS_MAX; i++) {
        run->fault_broker[i] = -1;
    }
    for (int i = 0; i < WEIR_SCN_BROKERS_MAX; i++) {
        run->broker_fault[i] = -1;
        run->restart_at_ns[i] = -1;
    }
    run->topic_created = calloc(sc->topic_count + 1, sizeof *run->topic_created);
    run->part_base = calloc(sc->topic_count + 1, sizeof *run->part_base);
    for (size_t t = 0; run->part_base != NULL && t < sc->topic_count; t++) {
        run->part_base[t] = run->part_count;
        run->part_count += (size_t)sc->topics[t].partitions;
    }
    run->parts = calloc(run->part_count + 1, sizeof *run->parts);
    snprintf(out->name, sizeof out->name, "%s-real-s%llu", sc->name, (unsigned long long)seed);
    snprintf(run->dir, sizeof run->dir, "%s/%s", o->out_dir, out->name);
    weir_real_schedule_make(sc, seed, o->kinds, o->duration_ns, &run->schedule);
    return run->topic_created != NULL && run->part_base != NULL && run->parts != NULL;
}

static void rr_free(weir_real_run *run)
{
    weir_real_proc_free(&run->controller);
    for (size_t i = 0; i < run->sc->broker_count; i++) {
        weir_real_proc_free(&run->brokers[i]);
    }
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        free(run->producers[i].sent_ns);
    }
    weir_history_free(&run->hist);
    free(run->topic_created);
    free(run->part_base);
    free(run->parts);
    if (run->events != NULL) {
        fclose(run->events);
    }
    free(run);
}

int weir_real_run_seed(const weir_real_opts *o, const weir_scenario *sc, uint64_t seed,
                       weir_real_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->recovered_s = -1;
    weir_real_run *run = calloc(1, sizeof *run);
    if (run == NULL || !rr_init(run, o, sc, seed, out)) {
        snprintf(out->failures[out->n_failures++], sizeof out->failures[0], "out of memory");
        out->verdict = WEIR_REAL_ERROR;
        if (run != NULL) {
            rr_free(run);
        }
        return 0;
    }
    char why[512] = "";
    char events_path[WEIR_REAL_PATH_MAX + 32];
    snprintf(events_path, sizeof events_path, "%s/events.tsv", run->dir);
    int err = weir_real_rmtree(run->dir);
    if (err == 0) {
        err = weir_real_mkdirs(run->dir);
    }
    if (err == 0 && (run->events = fopen(events_path, "we")) == NULL) {
        err = WEIR_E_IO;
    }
    if (err != 0) {
        snprintf(why, sizeof why, "cannot create the run folder %.400s", run->dir);
    }
    for (int i = 0; err == 0 && i < run->schedule.count; i++) {
        char line[256];
        weir_real_fault_describe(sc, &run->schedule.faults[i], line, sizeof line);
        weir_real_event(run, "note", "scheduled: %s (from the workload's start)", line);
    }
    if (err == 0) {
        err = rr_setup(run, why, sizeof why);
    }
    if (err != 0) {
        snprintf(out->failures[out->n_failures++], sizeof out->failures[0], "setup: %.240s", why);
        out->verdict = WEIR_REAL_ERROR;
    } else {
        rr_loop(run);
    }
    out->run_s = (double)weir_real_run_now(run) / 1e9;
    bool clean = out->verdict != WEIR_REAL_ERROR && run->phase >= WEIR_REAL_PH_READ_DONE;
    rr_teardown(run, clean);
    if (clean && out->lost_all == 0 && run->reads_done == 0) {
        weir_real_fail(run, "no final read");
    }
    rr_outcome(run);
    out->wall_s = (double)weir_real_run_now(run) / 1e9;
    weir_real_event(run, "note", "verdict %s", weir_real_verdict_name(out->verdict));
    rr_write_meta(run);
    rr_write_latency(run);
    if (!o->keep) {
        char data[WEIR_REAL_PATH_MAX + 16];
        snprintf(data, sizeof data, "%s/data", run->dir);
        weir_ignore(weir_real_rmtree(data));
    }
    bool interrupted = weir_real_interrupted();
    rr_free(run);
    return interrupted ? WEIR_E_INVAL : 0;
}
