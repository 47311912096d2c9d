#include "scenario_run.h"
#include "run_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "controller/controller.h"
#include "core/assert.h"
#include "history.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/kafka.h"
#include "run_flow.h"
#include "sim.h"

#define SAMPLE_TICKS 5       /* replicas.tsv: every 5th liveness tick (500 ms) */

run_state *RS;
weir_log_level run_log_level = WEIR_LOG_ERROR;

void weir_scn_set_log_level(weir_log_level level)
{
    run_log_level = level;
}

int64_t run_now_ns(void)
{
    return weir_sim_now_ns(RS->w);
}


/* One events.tsv line: the time, the kind, then tab-separated fields. */
void run_record(const char *kind, const char *fmt, ...)
{
    if (RS->rec == NULL || RS->rec->events == NULL) {
        return;
    }
    fprintf(RS->rec->events, "%lld\t%s\t", (long long)run_now_ns(), kind);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(RS->rec->events, fmt, ap);
    va_end(ap);
    fputc('\n', RS->rec->events);
}

void run_timeline(const char *fmt, ...)
{
    if (RS->n_lines == TIMELINE_MAX) {
        return;
    }
    char buf[320];
    int64_t t = run_now_ns();
    int n = snprintf(buf, sizeof buf, "%8lld.%03llds  ", (long long)(t / 1000000000),
                     (long long)(t / 1000000 % 1000));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    RS->lines[RS->n_lines++] = strdup(buf);
}

static const char *host_of_broker(int32_t id)
{
    int bi = weir_scenario_broker_find(RS->sc, id);
    return bi >= 0 ? RS->sc->hosts[RS->sc->brokers[bi].host_index].name : NULL;
}

int run_topic_index(const char *name)
{
    return weir_scenario_topic_find(RS->sc, name);
}

/* ---- observers ---- */

static void obs_leader(void *arg, const char *topic, int32_t partition, int32_t old_leader,
                       int32_t new_leader, int32_t epoch, bool unclean)
{
    (void)arg;
    if (old_leader == -1 && epoch == 0) {
        int ti = run_topic_index(topic);
        if (ti >= 0 && partition < 64) {
            RS->isr_size[ti][partition] = RS->sc->topics[ti].replication_factor; /* all in sync */
        }
        run_timeline("%s/%d created, leader %d", topic, partition, new_leader);
        run_record("leader", "%s\t%d\t%d\t%d\t%d\t0", topic, partition, old_leader, new_leader, epoch);
        return;
    }
    RS->out->leader_changes++;
    if (unclean) {
        RS->out->unclean_elections++;
    }
    if (new_leader < 0) {
        RS->offline_seen = true;
    }
    run_timeline("%s/%d leader %d -> %d (epoch %d)%s%s", topic, partition, old_leader, new_leader, epoch,
             unclean ? ", UNCLEAN election" : "", new_leader < 0 ? ": OFFLINE" : "");
    run_record("leader", "%s\t%d\t%d\t%d\t%d\t%d", topic, partition, old_leader, new_leader, epoch,
           unclean ? 1 : 0);
}

static void obs_isr(void *arg, const char *topic, int32_t partition, const int32_t *isr, int n)
{
    (void)arg;
    int ti = run_topic_index(topic);
    if (ti < 0 || partition >= 64) {
        return;
    }
    int before = RS->isr_size[ti][partition];
    if (before > 0 && n < before) {
        RS->out->isr_shrinks++;
    } else if (before > 0 && n > before) {
        RS->out->isr_expands++;
    }
    RS->isr_size[ti][partition] = n;
    char list[64] = "";
    size_t at = 0;
    for (int i = 0; i < n && at < sizeof list - 8; i++) {
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", i ? "," : "", isr[i]);
    }
    run_record("isr", "%s\t%d\t%s", topic, partition, list);
    run_timeline("%s/%d ISR {%s}%s", topic, partition, list,
             before > 0 && n < before ? " (shrink)" : before > 0 && n > before ? " (expand)" : "");
}

static void obs_fenced(void *arg, int32_t broker)
{
    (void)arg;
    run_timeline("controller fenced broker %d (missed its session timeout)", broker);
    run_record("fenced", "%d", broker);
}

static void obs_truncate(void *arg, int32_t broker, const char *topic, int32_t partition,
                         int64_t from, int64_t to, const char *rule)
{
    (void)arg;
    RS->out->truncations++;
    run_timeline("broker %d truncated %s/%d from offset %lld to %lld (%s)", broker, topic, partition,
             (long long)from, (long long)to, rule);
    run_record("truncate", "%d\t%s\t%d\t%lld\t%lld\t%s", broker, topic, partition, (long long)from,
           (long long)to, rule);
}

/* ---- faults ---- */

static const char *target_host(const weir_scn_target *t)
{
    if (t->host_index >= 0) {
        return RS->sc->hosts[t->host_index].name;
    }
    if (t->topic_index >= 0) {
        int32_t leader, epoch, isr[16];
        int n;
        weir_controller *c = weir_world_node_state(RS->w, RS->controller_host);
        if (c != NULL && weir_controller_partition(c, RS->sc->topics[t->topic_index].name,
                                                   t->partition, &leader, &epoch, isr, &n)) {
            return host_of_broker(leader);
        }
    }
    return NULL;
}

typedef struct fault_event {
    const weir_scn_fault *f;
    bool undo;
    char host_a[64]; /* resolved when it fired */
    char host_b[64]; /* a link's other end, likewise ("" for none) */
} fault_event;

static void set_cut(const char *a, const char *b, bool one_way, bool cut)
{
    weir_ignore(weir_sim_cut(RS->w, a, b, cut));
    if (!one_way) {
        weir_ignore(weir_sim_cut(RS->w, b, a, cut));
    }
}

/* A fault's line in the timeline and in events.tsv. */
static void sample_replicas(void);

static void fault_note(const fault_event *ev, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fault_note(const fault_event *ev, const char *target, const char *fmt, ...)
{
    char text[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    run_timeline("%s", text);
    run_record("fault", "%s\t%s\t%s\t%s", weir_scn_fault_kind_name(ev->f->kind), target,
           ev->undo ? "end" : "start", text);
}

/* partition: whether hosts x and y end up on different sides (they share no group). */
static bool partition_splits(const weir_scn_fault *f, size_t x, size_t y)
{
    bool x_in = false, y_in = false;
    for (int g = 0; g < f->group_count; g++) {
        bool gx = (f->groups[g] >> x) & 1, gy = (f->groups[g] >> y) & 1;
        if (gx && gy) {
            return false;
        }
        x_in = x_in || gx;
        y_in = y_in || gy;
    }
    return x_in && y_in;
}

static void fire_partition(const fault_event *ev)
{
    const weir_scn_fault *f = ev->f;
    const weir_scenario *sc = RS->sc;
    char text[200] = "";
    size_t at = 0;
    for (int g = 0; g < f->group_count && at < sizeof text - 70; g++) {
        at += (size_t)snprintf(text + at, sizeof text - at, "%s[", g ? " | " : "");
        for (size_t h = 0; h < sc->host_count && at < sizeof text - 70; h++) {
            if ((f->groups[g] >> h) & 1) {
                at += (size_t)snprintf(text + at, sizeof text - at, "%s%s", text[at - 1] == '[' ? "" : " ",
                                       sc->hosts[h].name);
            }
        }
        at += (size_t)snprintf(text + at, sizeof text - at, "]");
    }
    for (size_t x = 0; x < sc->host_count; x++) {
        for (size_t y = 0; y < sc->host_count; y++) {
            if (x != y && partition_splits(f, x, y) && RS->hosts[x].role != 0 && RS->hosts[y].role != 0) {
                weir_ignore(weir_sim_cut(RS->w, sc->hosts[x].name, sc->hosts[y].name, !ev->undo));
            }
        }
    }
    fault_note(ev, "-", "%s %s", ev->undo ? "heal partition" : "partition", text);
}

static void fire_slow_link(const fault_event *ev, const char *a, const char *b)
{
    const weir_scn_fault *f = ev->f;
    int hi = weir_scenario_host_find(RS->sc, a);
    const weir_scn_link *def = &RS->sc->hosts[hi].link;
    if (b != NULL) {
        /* the pair's own link: slowed both ways (one-way is approximated) */
        int64_t lat = ev->undo || f->latency_ns < 0 ? 0 : f->latency_ns;
        double bw = ev->undo || f->bandwidth_bps <= 0 ? 1e12 : f->bandwidth_bps;
        weir_ignore(weir_sim_pair_set(RS->w, a, b, lat, bw));
        fault_note(ev, a, "%s link %s <-> %s: +%lld us, %.0f B/s", ev->undo ? "restore" : "slow", a, b,
                   (long long)(lat / 1000), bw);
    } else {
        int64_t lat = ev->undo || f->latency_ns < 0 ? def->latency_ns : f->latency_ns;
        double bw = ev->undo || f->bandwidth_bps < 0 ? def->bandwidth_bps : f->bandwidth_bps;
        weir_ignore(weir_sim_link_set(RS->w, a, lat, bw > 0 ? bw : 1e12));
        fault_note(ev, a, "%s link of %s: latency %lld us, %.0f B/s", ev->undo ? "restore" : "slow", a,
                   (long long)(lat / 1000), bw);
    }
}

static void fire_slow_disk(const fault_event *ev, const char *a)
{
    const weir_scn_fault *f = ev->f;
    const weir_scn_disk *def = &RS->sc->hosts[weir_scenario_host_find(RS->sc, a)].disk;
    double wr = ev->undo || f->write_bps < 0 ? def->write_bps : f->write_bps;
    double rd = ev->undo || f->read_bps < 0 ? def->read_bps : f->read_bps;
    int64_t sy = ev->undo || f->fsync_ns < 0 ? def->fsync_ns : f->fsync_ns;
    weir_ignore(weir_sim_node_disk_set(RS->w, a, wr, rd, sy));
    fault_note(ev, a, "%s disk of %s: write %.0f B/s, read %.0f B/s, fsync %lld us",
               ev->undo ? "restore" : "slow", a, wr, rd, (long long)(sy / 1000));
}

static void fire_bit_flip(const fault_event *ev, const char *a)
{
    static const char *const suffix[] = {[WEIR_SCN_FLIP_ANY] = "", [WEIR_SCN_FLIP_LOG] = ".log",
                                         [WEIR_SCN_FLIP_INDEX] = "index"};
    char what[200];
    if (weir_sim_bit_flip(RS->w, a, "", suffix[ev->f->files], what, sizeof what) == 0) {
        fault_note(ev, a, "bit flip at rest on %s: %s", a, what);
    } else {
        fault_note(ev, a, "bit flip on %s: no such file to flip", a);
    }
}

/* Clean shutdown, part 1: on the broker's own actor. */
static void shutdown_on_node(weir_env *env, void *arg)
{
    (void)env;
    int hi = (int)(intptr_t)arg;
    const char *host = RS->sc->hosts[hi].name;
    if (RS->hosts[hi].role == RUN_ROLE_FLOW) {
        run_flows_host_down(host, true); /* the engine checkpoints and closes its repositories */
    } else {
        weir_broker_shutdown(weir_world_node_state(RS->w, host));
    }
    RS->stopped[hi] = true;
}

/* Part 2, from the chaos node: once it has stopped, the host goes down
 * (everything was synced: nothing is lost), and up again if its restart
 * came due meanwhile. */
static void shutdown_poll(weir_env *env, void *arg)
{
    int hi = (int)(intptr_t)arg;
    const char *a = RS->sc->hosts[hi].name;
    if (!RS->stopped[hi]) {
        weir_timer_start(env, MS, shutdown_poll, arg);
        return;
    }
    weir_ignore(weir_world_crash(RS->w, a));
    RS->stopping[hi] = false;
    if (RS->restart_after_stop[hi]) {
        RS->restart_after_stop[hi] = false;
        int err = weir_world_restart(RS->w, a);
        run_timeline("restart %s%s", a, err ? " (failed)" : "");
        run_record("fault", "clean_shutdown\t%s\tend\trestart %s", a, a);
    }
}

static void fault_fire(weir_env *env, void *arg)
{
    fault_event *ev = arg;
    const weir_scn_fault *f = ev->f;
    const char *a = ev->undo ? ev->host_a : target_host(&f->a);
    const char *b = ev->undo ? (ev->host_b[0] != '\0' ? ev->host_b : NULL) : target_host(&f->b);
    const weir_scenario *sc = RS->sc;
    if (a == NULL && f->kind != WEIR_SCN_HEAL && f->kind != WEIR_SCN_PARTITION) {
        fault_note(ev, "-", "fault %s: no target (no leader?)", weir_scn_fault_kind_name(f->kind));
        free(ev);
        return;
    }
    if (!ev->undo && a != NULL) {
        snprintf(ev->host_a, sizeof ev->host_a, "%s", a);
    }
    if (!ev->undo && b != NULL) {
        snprintf(ev->host_b, sizeof ev->host_b, "%s", b);
    }
    int err = 0;
    switch (f->kind) {
    case WEIR_SCN_CRASH:
        if (ev->undo) {
            err = weir_world_restart(RS->w, a);
            fault_note(ev, a, "restart %s%s", a, err ? " (failed)" : "");
        } else {
            if (f->torn) {
                weir_ignore(weir_sim_tear_next_crash(RS->w, a));
            }
            run_flows_host_down(a, false);
            err = weir_world_crash(RS->w, a);
            fault_note(ev, a, "crash %s (power off: unsynced data %s)%s", a, f->torn ? "torn" : "lost",
                       err ? " (failed)" : "");
        }
        break;
    case WEIR_SCN_RESTART:
        err = weir_world_restart(RS->w, a);
        fault_note(ev, a, "restart %s%s", a, err ? " (failed)" : "");
        break;
    case WEIR_SCN_CLEAN_SHUTDOWN: {
        int hi = weir_scenario_host_find(sc, a);
        if (ev->undo && RS->stopping[hi]) {
            RS->restart_after_stop[hi] = true; /* still shutting down: restart when it is down */
        } else if (ev->undo) {
            err = weir_world_restart(RS->w, a);
            fault_note(ev, a, "restart %s%s", a, err ? " (failed)" : "");
        } else if (weir_sim_node_post(RS->w, a, shutdown_on_node, (void *)(intptr_t)hi) == 0) {
            /* the broker stops itself, in its own actor; then it goes down */
            RS->stopping[hi] = true;
            RS->stopped[hi] = false;
            weir_timer_start(env, MS, shutdown_poll, (void *)(intptr_t)hi);
            fault_note(ev, a, "clean shutdown of %s", a);
        } else {
            fault_note(ev, a, "clean shutdown of %s: it is down", a);
        }
        break;
    }
    case WEIR_SCN_CUT:
        set_cut(a, b, f->one_way, !ev->undo);
        fault_note(ev, a, "%s link %s %s %s", ev->undo ? "heal" : "cut", a, f->one_way ? "->" : "<->", b);
        break;
    case WEIR_SCN_ISOLATE:
        for (size_t h = 0; h < sc->host_count; h++) {
            if (strcmp(sc->hosts[h].name, a) != 0) {
                set_cut(a, sc->hosts[h].name, false, !ev->undo);
            }
        }
        fault_note(ev, a, "%s %s", ev->undo ? "reconnect" : "isolate", a);
        break;
    case WEIR_SCN_PARTITION:
        fire_partition(ev);
        break;
    case WEIR_SCN_HEAL:
        if (f->a.all || a == NULL) {
            weir_sim_heal_all(RS->w);
            fault_note(ev, "all", "heal every link");
        } else if (b != NULL) {
            set_cut(a, b, f->one_way, false);
            fault_note(ev, a, "heal link %s %s %s", a, f->one_way ? "->" : "<->", b);
        }
        break;
    case WEIR_SCN_SLOW_LINK:
        fire_slow_link(ev, a, b);
        break;
    case WEIR_SCN_SLOW_DISK:
        fire_slow_disk(ev, a);
        break;
    case WEIR_SCN_PAUSE:
        if (!ev->undo) {
            weir_ignore(weir_sim_pause(RS->w, a, f->duration_ns));
        }
        fault_note(ev, a, "%s %s", ev->undo ? "resume" : "pause (stall)", a);
        break;
    case WEIR_SCN_RESET:
        if (b != NULL) {
            weir_ignore(weir_sim_reset(RS->w, a, b));
        } else {
            for (size_t h = 0; h < sc->host_count; h++) {
                if (strcmp(sc->hosts[h].name, a) != 0 && RS->hosts[h].role != 0) {
                    weir_ignore(weir_sim_reset(RS->w, a, sc->hosts[h].name));
                }
            }
        }
        fault_note(ev, a, "reset connections %s <-> %s", a, b != NULL ? b : "every peer");
        break;
    case WEIR_SCN_CLOCK:
        if (ev->undo || f->rate > 0) {
            weir_ignore(weir_sim_clock_rate(RS->w, a, ev->undo ? 1.0 : f->rate));
        }
        if (ev->undo || f->wall_ns != 0 || f->monotonic_ns != 0) {
            weir_ignore(weir_sim_clock_set(RS->w, a, ev->undo ? 0 : f->wall_ns, ev->undo ? 0 : f->monotonic_ns));
        }
        fault_note(ev, a, "%s clock of %s: wall %+.3fs, monotonic %+.3fs, rate %.3f", ev->undo ? "correct" : "skew",
                   a, ev->undo ? 0.0 : (double)f->wall_ns / 1e9, ev->undo ? 0.0 : (double)f->monotonic_ns / 1e9,
                   ev->undo || f->rate == 0 ? 1.0 : f->rate);
        break;
    case WEIR_SCN_DISK_FULL:
    case WEIR_SCN_FSYNC_ERROR: {
        int hi = weir_scenario_host_find(sc, a);
        bool *flag = f->kind == WEIR_SCN_DISK_FULL ? &RS->disk_full[hi] : &RS->fsync_eio[hi];
        *flag = !ev->undo;
        weir_ignore(weir_sim_disk_fault(RS->w, a, RS->fsync_eio[hi], RS->disk_full[hi]));
        fault_note(ev, a, "%s %s on %s", ev->undo ? "end of" : "begin",
                   f->kind == WEIR_SCN_DISK_FULL ? "disk full (ENOSPC)" : "fsync errors (EIO)", a);
        break;
    }
    case WEIR_SCN_BIT_FLIP:
        fire_bit_flip(ev, a);
        break;
    case WEIR_SCN_FAULT_KINDS_:
        break;
    }
    if (!ev->undo && f->duration_ns > 0) {
        fault_event *u = calloc(1, sizeof *u);
        WEIR_ASSERT(u != NULL);
        *u = *ev;
        u->undo = true;
        weir_timer_start(env, f->duration_ns, fault_fire, u);
    }
    free(ev);
}

static void liveness_tick(weir_env *env, void *arg)
{
    (void)arg;
    int64_t now = run_now_ns();
    if (RS->rec != NULL && RS->rec->replicas != NULL && RS->ticks++ % SAMPLE_TICKS == 0) {
        sample_replicas();
    }
    run_flows_sample();
    if (RS->sc->broker_count > 0 && RS->recovered_ns < 0 && now >= RS->last_fault_end_ns) {
        weir_controller *c = weir_world_node_state(RS->w, RS->controller_host);
        bool all = c != NULL;
        for (size_t t = 0; all && t < RS->sc->topic_count; t++) {
            for (int32_t p = 0; all && p < RS->sc->topics[t].partitions; p++) {
                int32_t leader, epoch, isr[16];
                int n;
                all = weir_controller_partition(c, RS->sc->topics[t].name, p, &leader, &epoch, isr, &n) &&
                      leader >= 0 && n == RS->sc->topics[t].replication_factor;
            }
        }
        /* and producers make progress again: an acknowledgement after the last fault */
        all = all && (!RS->producers_after_faults || RS->last_ack_ns >= RS->last_fault_end_ns);
        if (all) {
            RS->recovered_ns = now;
            if (RS->last_fault_end_ns > 0) {
                run_timeline("every partition has a leader and a full ISR again%s",
                         RS->producers_after_faults ? ", and producers make progress" : "");
                run_record("note", "recovered: every partition has a leader and a full ISR");
            }
        }
    }
    weir_timer_start(env, 100 * MS, liveness_tick, NULL);
}

/* replicas.tsv: every replica's LEO and HW (-1 while its broker is down).
 * Sampled from the liveness tick, so recording adds no event to the trace. */
static void sample_replicas(void)
{
    const weir_scenario *sc = RS->sc;
    FILE *f = RS->rec->replicas;
    for (size_t t = 0; t < sc->topic_count; t++) {
        for (int32_t p = 0; p < sc->topics[t].partitions; p++) {
            for (size_t i = 0; i < sc->broker_count; i++) {
                weir_broker *b = weir_world_node_state(RS->w, sc->hosts[sc->brokers[i].host_index].name);
                weir_broker_partition_info info;
                if (b == NULL) {
                    fprintf(f, "%lld\t%s\t%d\t%d\t0\t-1\t-1\n", (long long)run_now_ns(), sc->topics[t].name, p,
                            sc->brokers[i].id);
                } else if (weir_broker_partition(b, sc->topics[t].name, p, &info) && info.hosted) {
                    fprintf(f, "%lld\t%s\t%d\t%d\t1\t%lld\t%lld\n", (long long)run_now_ns(), sc->topics[t].name,
                            p, sc->brokers[i].id, (long long)info.log_end, (long long)info.high_watermark);
                }
            }
        }
    }
}

static void *chaos_start(weir_env *env, void *arg)
{
    const weir_scenario *sc = RS->sc;
    for (size_t h = 0; h < sc->host_count; h++) {
        if (RS->hosts[h].role != 0) {
            weir_ignore(weir_sim_link_set(RS->w, sc->hosts[h].name, sc->hosts[h].link.latency_ns,
                                          sc->hosts[h].link.bandwidth_bps > 0 ? sc->hosts[h].link.bandwidth_bps : 1e12));
            const weir_scn_disk *d = &sc->hosts[h].disk;
            weir_ignore(weir_sim_node_disk_set(RS->w, sc->hosts[h].name, d->write_bps, d->read_bps, d->fsync_ns));
        }
    }

    for (size_t i = 0; i < sc->fault_count; i++) {
        fault_event *ev = calloc(1, sizeof *ev);
        ev->f = &sc->faults[i];
        weir_timer_start(env, sc->faults[i].at_ns, fault_fire, ev);
    }
    run_flows_schedule(env);
    weir_timer_start(env, 100 * MS, liveness_tick, NULL);
    return arg;
}

static const weir_node_type chaos_type = {"chaos", chaos_start, NULL};

/* ---- oracles at the end ---- */

/* Transactional records of the final log waiting for their producer's marker. */
typedef struct pending_txn_records {
    struct {
        int64_t producer_id;
        weir_msg_id id;
        int64_t offset;
    } *v;
    size_t n, cap;
} pending_txn_records;

/* One batch of the final log into the history, with each record's
 * visibility to read_committed readers: plain records at once, transactional
 * ones when their producer's COMMIT or ABORT marker comes. */
static void log_batch_into_history(const uint8_t *batch, size_t len, const weir_batch_header *h,
                                   int32_t part_key, pending_txn_records *pend)
{
    weir_record_iter it;
    weir_record rec;
    if (weir_record_iter_init(&it, batch, len) != 0) {
        return;
    }
    bool txn = (h->attributes & 0x10) != 0;
    bool control = (h->attributes & 0x20) != 0;
    bool flow_output = run_flows_output_topic(part_key / 100000);
    while (weir_record_next(&it, &rec) == 1) {
        if (flow_output) {
            /* a flow's output: its own oracle reads it (run_flow_delivery.c) */
            if (!control && rec.value_len > 0) {
                run_flows_output_record(part_key / 100000, rec.value, (size_t)rec.value_len);
            }
            continue;
        }
        if (control) {
            /* key: int16 version, int16 type (0 abort, 1 commit) */
            bool commit = rec.key_len >= 4 && rec.key[3] == 1 && rec.key[2] == 0;
            size_t keep = 0;
            for (size_t i = 0; i < pend->n; i++) {
                if (pend->v[i].producer_id == h->producer_id) {
                    weir_history_logged_vis(&RS->hist, pend->v[i].id, part_key, pend->v[i].offset,
                                            commit ? WEIR_VIS_COMMITTED : WEIR_VIS_ABORTED);
                } else {
                    pend->v[keep++] = pend->v[i];
                }
            }
            pend->n = keep;
            continue;
        }
        weir_msg_id id;
        if (!weir_msg_id_read(rec.value, (size_t)rec.value_len, &id)) {
            continue;
        }
        int64_t offset = h->base_offset + rec.offset_delta;
        if (!txn) {
            weir_history_logged(&RS->hist, id, part_key, offset);
            continue;
        }
        if (pend->n == pend->cap) {
            pend->cap = pend->cap ? pend->cap * 2 : 256;
            pend->v = realloc(pend->v, pend->cap * sizeof *pend->v);
            WEIR_ASSERT(pend->v != NULL);
        }
        pend->v[pend->n].producer_id = h->producer_id;
        pend->v[pend->n].id = id;
        pend->v[pend->n].offset = offset;
        pend->n++;
    }
}

static uint64_t batch_sums(struct weir_plog *log, int64_t below, bool into_history, int32_t part_key)
{
    uint64_t sum = 1469598103934665603ULL;
    pending_txn_records pend = {0};
    int64_t expect = weir_plog_start_offset(log);
    for (int64_t off = weir_plog_start_offset(log); off < weir_plog_end_offset(log);) {
        weir_log_read_result rr;
        if (weir_plog_read(log, off, 1 << 20, true, &rr) != 0) {
            free(pend.v);
            return 0;
        }
        for (size_t at = 0; at < rr.len;) {
            weir_batch_header h;
            weir_batch_header_decode(rr.data + at, &h);
            size_t total = (size_t)weir_batch_total_bytes(&h);
            if (weir_batch_last_offset(&h) < below) {
                /* a follower holds the leader's batches byte for byte: the CRC
                 * covers the records, the epoch and offset are outside it */
                sum = (sum ^ h.crc) * 1099511628211ULL ^ (uint64_t)h.base_offset;
                sum = (sum ^ (uint32_t)h.leader_epoch) * 1099511628211ULL;
            }
            if (h.base_offset != expect) {
                RS->out->offset_gaps++; /* offsets must be dense and increasing */
            }
            expect = weir_batch_last_offset(&h) + 1;
            if (into_history) {
                log_batch_into_history(rr.data + at, total, &h, part_key, &pend);
            }
            at += total;
        }
        off = rr.next_offset;
        weir_log_read_result_free(&rr);
    }
    if (into_history) {
        for (size_t i = 0; i < pend.n; i++) { /* no marker yet */
            weir_history_logged_vis(&RS->hist, pend.v[i].id, part_key, pend.v[i].offset, WEIR_VIS_OPEN);
        }
    }
    free(pend.v);
    return sum;
}

static void check_replicas(void)
{
    const weir_scenario *sc = RS->sc;
    weir_controller *c = weir_world_node_state(RS->w, RS->controller_host);
    for (size_t t = 0; t < sc->topic_count; t++) {
        for (int32_t p = 0; p < sc->topics[t].partitions; p++) {
            int32_t leader = -1, epoch, isr[16];
            int n = 0;
            if (c != NULL) {
                weir_controller_partition(c, sc->topics[t].name, p, &leader, &epoch, isr, &n);
            }
            /* the replicas that are up, their HWs */
            weir_broker *reps[WEIR_SCN_BROKERS_MAX];
            int ids[WEIR_SCN_BROKERS_MAX];
            int nr = 0;
            int64_t hw_min = INT64_MAX;
            for (size_t bi = 0; bi < sc->broker_count; bi++) {
                weir_broker *b = weir_world_node_state(RS->w, sc->hosts[sc->brokers[bi].host_index].name);
                weir_broker_partition_info info;
                if (b == NULL || !weir_broker_partition(b, sc->topics[t].name, p, &info) || !info.hosted) {
                    continue;
                }
                if (info.high_watermark > info.log_end) {
                    RS->out->hw_above_leo++;
                    run_timeline("ORACLE: broker %d %s/%d HW %lld above its log end %lld", sc->brokers[bi].id,
                             sc->topics[t].name, p, (long long)info.high_watermark, (long long)info.log_end);
                }
                if (info.high_watermark < hw_min) {
                    hw_min = info.high_watermark;
                }
                reps[nr] = b;
                ids[nr] = sc->brokers[bi].id;
                nr++;
            }
            if (nr == 0) {
                continue;
            }
            /* the history's final log: the leader's replica, else the first up */
            int chosen = 0;
            for (int k = 0; k < nr; k++) {
                if (ids[k] == leader) {
                    chosen = k;
                }
            }
            uint64_t first = 0;
            bool diverged = false;
            for (int k = 0; k < nr; k++) {
                struct weir_plog *log = weir_broker_partition_log(reps[k], sc->topics[t].name, p);
                uint64_t s = batch_sums(log, hw_min, k == chosen, PART_KEY((int)t, p));
                if (k == 0) {
                    first = s;
                } else if (s != first) {
                    diverged = true;
                }
            }
            if (diverged) {
                RS->out->divergent++;
                run_timeline("ORACLE: the replicas of %s/%d disagree below HW %lld", sc->topics[t].name, p,
                         (long long)hw_min);
                run_record("oracle", "divergence: the replicas of %s/%d disagree below HW %lld", sc->topics[t].name,
                       p, (long long)hw_min);
            }
        }
    }
}

void run_fail(const char *fmt, ...)
{
    weir_scn_outcome *o = RS->out;
    if (o->n_failures < WEIR_SCN_FAILURES_MAX) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->failures[o->n_failures], sizeof o->failures[0], fmt, ap);
        va_end(ap);
        o->n_failures++;
    }
}

static bool violation_expected(weir_scn_violation_kind k)
{
    for (int i = 0; i < RS->sc->expect.violation_count; i++) {
        if (RS->sc->expect.violations[i].kind == k) {
            return true;
        }
    }
    return false;
}

static void judge(void)
{
    const weir_scn_expect *e = &RS->sc->expect;
    weir_scn_outcome *o = RS->out;
    double t = (double)run_now_ns() / 1e9;
    bool found[WEIR_SCN_V_COUNT_] = {false};
    found[WEIR_SCN_V_ACKED_LOSS] = o->lost_all > 0;
    found[WEIR_SCN_V_DIVERGENCE] = o->divergent > 0;
    found[WEIR_SCN_V_DUPLICATE] = o->duplicated_idempotent > 0;
    found[WEIR_SCN_V_REORDER] = o->reordered > 0;
    found[WEIR_SCN_V_READ_ABOVE_HW] = o->dirty_reads > 0;
    found[WEIR_SCN_V_HW_ABOVE_LEO] = o->hw_above_leo > 0;
    found[WEIR_SCN_V_OFFSET_GAP] = o->offset_gaps > 0;
    found[WEIR_SCN_V_INCONSISTENT_OFFSETS] = o->anomalies[WEIR_FINDING_INCONSISTENT_OFFSETS] > 0;
    found[WEIR_SCN_V_POLL_SKIP] = o->anomalies[WEIR_FINDING_POLL_SKIP] > 0;
    found[WEIR_SCN_V_NONMONOTONIC_POLL] = o->anomalies[WEIR_FINDING_NONMONOTONIC_POLL] > 0;
    found[WEIR_SCN_V_REREAD_BEYOND_COMMIT] = o->anomalies[WEIR_FINDING_REREAD_BEYOND_COMMIT] > 0;
    found[WEIR_SCN_V_ABORTED_READ] = o->anomalies[WEIR_FINDING_ABORTED_READ] > 0;
    found[WEIR_SCN_V_TORN_TRANSACTION] = o->anomalies[WEIR_FINDING_TORN_TXN] > 0;
    found[WEIR_SCN_V_NOT_EXACTLY_ONCE] = o->not_exactly_once > 0;
    for (int k = 0; k < WEIR_SCN_V_COUNT_; k++) {
        if (k == WEIR_SCN_V_REORDER) {
            continue; /* with retries and several requests in flight, Kafka reorders too */
        }
        if (found[k] && !violation_expected((weir_scn_violation_kind)k)) {
            run_fail("violated at %.3fs: %s", t, weir_scn_violation_name((weir_scn_violation_kind)k));
        }
    }
    for (int i = 0; i < e->violation_count; i++) {
        if (!found[e->violations[i].kind]) {
            run_fail("expected violation not found: %s", weir_scn_violation_name(e->violations[i].kind));
        }
    }
    if (e->no_acked_loss && (o->lost_all > 0 || o->acked_all == 0)) {
        run_fail("no_acked_loss: %lld of %lld acks=all messages lost", (long long)o->lost_all,
                 (long long)o->acked_all);
    }
    if (e->lost_acked_max >= 0 && o->lost_any > e->lost_acked_max) {
        run_fail("max_lost_acked %lld: %lld acknowledged messages lost", (long long)e->lost_acked_max,
                 (long long)o->lost_any);
    }
    if (o->leader_changes < e->leader_changes_min) {
        run_fail("leader_changes_min %d: saw %d", e->leader_changes_min, o->leader_changes);
    }
    if (o->isr_shrinks < e->isr_shrinks_min) {
        run_fail("isr_shrinks_min %d: saw %d", e->isr_shrinks_min, o->isr_shrinks);
    }
    if (o->isr_expands < e->isr_expands_min) {
        run_fail("isr_expands_min %d: saw %d", e->isr_expands_min, o->isr_expands);
    }
    if (o->truncations < e->truncations_min) {
        run_fail("truncations_min %d: saw %d", e->truncations_min, o->truncations);
    }
    if (o->unclean_elections < e->unclean_elections_min) {
        run_fail("unclean_elections_min %d: saw %d", e->unclean_elections_min, o->unclean_elections);
    }
    if (e->produce_errors_checked) {
        for (int code = 1; code < 128; code++) {
            bool allowed = false;
            for (int k = 0; k < e->produce_errors_allowed_count; k++) {
                allowed = allowed || e->produce_errors_allowed[k] == code;
            }
            if (RS->errors_seen[code] && !allowed) {
                run_fail("produce error %s is not in produce_errors_allowed", weir_kerr_name((int16_t)code));
            }
        }
    }
    for (int k = 0; k < e->produce_errors_required_count; k++) {
        int code = e->produce_errors_required[k];
        if (code >= 0 && code < 128 && !RS->errors_seen[code]) {
            run_fail("produce_errors_required: %s never seen", weir_kerr_name((int16_t)code));
        }
    }
    if (e->offline_until_restart && !RS->offline_seen) {
        run_fail("offline_until_restart: no partition went offline");
    }
    if (e->recovers_within_ns >= 0) {
        if (RS->recovered_ns < 0) {
            run_fail("recovers_within %.3fs: never fully recovered after the last fault",
                     (double)e->recovers_within_ns / 1e9);
        } else if (RS->recovered_ns - RS->last_fault_end_ns > e->recovers_within_ns) {
            run_fail("recovers_within %.3fs: took %.3fs", (double)e->recovers_within_ns / 1e9,
                     (double)(RS->recovered_ns - RS->last_fault_end_ns) / 1e9);
        }
    }
    o->recovered_after_ns = RS->recovered_ns < 0 ? -1 : RS->recovered_ns - RS->last_fault_end_ns;
    o->pass = o->n_failures == 0;
}

static int cmp_msg_id(const void *a, const void *b)
{
    const weir_msg_id *x = a, *y = b;
    if (x->producer != y->producer) {
        return x->producer < y->producer ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* Duplicates only count against producers that promise none. */
static bool producer_idempotent(int32_t producer)
{
    if (producer >= RUN_PIPELINE_ID_BASE) {
        return true; /* a pipeline's transactional output */
    }
    return producer >= 0 && (size_t)producer < RS->sc->producer_count &&
           RS->sc->producers[producer].idempotent;
}

static bool visible(uint8_t vis)
{
    return vis == WEIR_VIS_PLAIN || vis == WEIR_VIS_COMMITTED;
}

/* Exactly once: every input record visible in a pipeline's input topic is in
 * its output exactly once (visible to read_committed), whatever the crashes
 * and aborts on the way. Output records name their input through the
 * pipeline's out_src table. */
static void pipelines_exactly_once(void)
{
    const weir_history *h = &RS->hist;
    for (size_t k = 0; k < RS->sc->consumer_count; k++) {
        const weir_scn_consumer *c = &RS->sc->consumers[k];
        if (c->output_topic_index < 0) {
            continue;
        }
        /* the inputs behind every visible output record of any pipeline
         * reading the same topic into the same output */
        weir_msg_id *srcs = malloc((h->n_log + 1) * sizeof *srcs);
        WEIR_ASSERT(srcs != NULL);
        size_t n = 0;
        for (size_t i = 0; i < h->n_log; i++) {
            const struct weir_hist_entry *e = &h->log[i];
            int owner = e->id.producer - RUN_PIPELINE_ID_BASE;
            if (!visible(e->vis) || owner < 0 || (size_t)owner >= RS->sc->consumer_count ||
                RS->sc->consumers[owner].topic_index != c->topic_index ||
                RS->sc->consumers[owner].output_topic_index != c->output_topic_index ||
                (size_t)e->id.seq >= RS->consumers[owner].n_out_src) {
                continue;
            }
            srcs[n++] = RS->consumers[owner].out_src[e->id.seq];
        }
        qsort(srcs, n, sizeof *srcs, cmp_msg_id);
        for (size_t i = 0; i < h->n_log; i++) {
            const struct weir_hist_entry *in = &h->log[i];
            if (!visible(in->vis) || in->partition / 100000 != c->topic_index ||
                in->id.producer >= RUN_PIPELINE_ID_BASE) {
                continue;
            }
            weir_msg_id *at = bsearch(&in->id, srcs, n, sizeof *srcs, cmp_msg_id);
            size_t copies = 0;
            if (at != NULL) {
                while (at > srcs && cmp_msg_id(at - 1, &in->id) == 0) {
                    at--;
                }
                for (; at < srcs + n && cmp_msg_id(at, &in->id) == 0; at++) {
                    copies++;
                }
            }
            if (copies != 1 && RS->out->not_exactly_once++ < 4) {
                run_timeline("ORACLE: pipeline %s: input P%d:%lld (%s/%d offset %lld) is %zu times in %s",
                             c->name, in->id.producer, (long long)in->id.seq,
                             RS->sc->topics[c->topic_index].name, in->partition % 100000,
                             (long long)in->offset, copies, RS->sc->topics[c->output_topic_index].name);
            }
        }
        free(srcs);
        /* the pipelines sharing this input and output were all checked */
        while (k + 1 < RS->sc->consumer_count &&
               RS->sc->consumers[k + 1].output_topic_index == c->output_topic_index &&
               RS->sc->consumers[k + 1].topic_index == c->topic_index) {
            k++;
        }
    }
}

static void consumers_read_all(void)
{
    /* every acks=all acknowledged message was read by some consumer */
    if (!RS->sc->expect.consumers_read_all_acked) {
        return;
    }
    weir_history *h = &RS->hist;
    weir_msg_id *read = malloc((h->n_reads + 1) * sizeof *read);
    WEIR_ASSERT(read != NULL);
    for (size_t j = 0; j < h->n_reads; j++) {
        read[j] = h->reads[j].id;
    }
    qsort(read, h->n_reads, sizeof *read, cmp_msg_id);
    int64_t missing = 0;
    for (size_t i = 0; i < h->n_acks; i++) {
        /* only topics a consumer reads, and only acks=all messages */
        bool consumed = false;
        for (size_t k = 0; k < RS->sc->consumer_count; k++) {
            consumed = consumed || RS->sc->consumers[k].topic_index == h->acks[i].partition / 100000;
        }
        if (!h->acks[i].must_survive || !consumed) {
            continue;
        }
        if (bsearch(&h->acks[i].id, read, h->n_reads, sizeof *read, cmp_msg_id) == NULL &&
            missing++ == 0) {
            run_fail("consumers_read_all_acked: message P%d:%lld (acked at %s/%d offset %lld) never read",
                     h->acks[i].id.producer, (long long)h->acks[i].id.seq,
                     RS->sc->topics[h->acks[i].partition / 100000].name, h->acks[i].partition % 100000,
                     (long long)h->acks[i].offset);
        }
    }
    free(read);
}

/* ---- building and running ---- */

static int apply_broker_settings(weir_broker_config *bc, const weir_scn_settings *s, char *why, size_t n)
{
    for (size_t i = 0; i < s->count; i++) {
        int err = weir_broker_config_set(bc, s->items[i].key, s->items[i].value, why, n);
        if (err != 0 && err != WEIR_E_NOENT) {
            return err;
        }
    }
    return 0;
}

/* The controller and the brokers (a file of flows alone has none). */
static int cluster_add(const weir_scenario *sc, FILE *report)
{
    run_state *rs = RS;
    rs->hosts[sc->controller.host_index].role = 2;
    snprintf(rs->controller_host, sizeof rs->controller_host, "%s", sc->hosts[sc->controller.host_index].name);
    /* controller */
    weir_controller_config_default(&rs->ccfg);
    snprintf(rs->ccfg.listen_host, sizeof rs->ccfg.listen_host, "%s", rs->controller_host);
    rs->ccfg.session_timeout_ms = sc->controller.session_timeout_ms;
    rs->ccfg.log_level = RUN_LOG_LEVEL;
    rs->ccfg.observer = (weir_controller_observer){obs_leader, obs_isr, obs_fenced, NULL, NULL};
    for (size_t t = 0; t < sc->topic_count && t < WEIR_CONTROLLER_TOPICS_MAX; t++) {
        weir_controller_topic_spec *ts = &rs->ccfg.topics[rs->ccfg.n_topics++];
        snprintf(ts->name, sizeof ts->name, "%s", sc->topics[t].name);
        ts->partitions = sc->topics[t].partitions;
        ts->replication_factor = sc->topics[t].replication_factor;
        ts->assignment = sc->topics[t].assignment;
        rs->ccfg.unclean_election = rs->ccfg.unclean_election || weir_scenario_topic_unclean(sc, t);
    }
    char why[256];
    int err = weir_world_node_add(rs->w, rs->controller_host, &weir_controller_node, &rs->ccfg);
    /* brokers */
    for (size_t i = 0; err == 0 && i < sc->broker_count; i++) {
        weir_broker_config *bc = &rs->bcfg[i];
        weir_broker_config_default(bc);
        bc->node_id = sc->brokers[i].id;
        snprintf(bc->listen_host, sizeof bc->listen_host, "%s", sc->hosts[sc->brokers[i].host_index].name);
        bc->listen_port = 9092;
        snprintf(bc->controller_addr, sizeof bc->controller_addr, "%s:9093", rs->controller_host);
        bc->heartbeat_interval_ms = sc->controller.heartbeat_interval_ms;
        bc->log_level = RUN_LOG_LEVEL;
        bc->on_truncate = obs_truncate;
        for (size_t t = 0; t < sc->topic_count && t < 16; t++) {
            snprintf(bc->topic_min_isr[t].topic, sizeof bc->topic_min_isr[t].topic, "%s", sc->topics[t].name);
            bc->topic_min_isr[t].min_insync_replicas = (int16_t)weir_scenario_topic_min_isr(sc, t);
            bc->n_topic_min_isr = (int)t + 1;
        }
        if (apply_broker_settings(bc, &sc->broker_defaults, why, sizeof why) != 0 ||
            apply_broker_settings(bc, &sc->brokers[i].config, why, sizeof why) != 0) {
            if (report) {
                fprintf(report, "broker %d: %s\n", bc->node_id, why);
            }
            return WEIR_E_INVAL;
        }
        err = weir_world_node_add(rs->w, sc->hosts[sc->brokers[i].host_index].name, &weir_broker_node, bc);
    }
    return err;
}

int weir_scn_flows_load(const weir_scenario *sc, char *why, size_t why_size)
{
    return run_flows_load(sc, why, why_size);
}

int weir_scn_run(weir_scenario *sc, uint64_t seed, FILE *report, FILE *trace,
                 const weir_scn_record *rec, weir_scn_outcome *out)
{
    static run_state rs;
    memset(&rs, 0, sizeof rs);
    memset(out, 0, sizeof *out);
    RS = &rs;
    rs.sc = sc;
    rs.out = out;
    rs.rec = rec;
    rs.recovered_ns = -1;
    rs.last_ack_ns = -1;
    rs.last_fault_end_ns = weir_scenario_last_fault_end_ns(sc);
    char flow_why[512];
    if (run_flows_load(sc, flow_why, sizeof flow_why) != 0) {
        if (report != NULL) {
            fprintf(report, "%s\n", flow_why);
        }
        return WEIR_E_INVAL;
    }
    weir_history_init(&rs.hist);

    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = RUN_LOG_LEVEL;
    cfg.trace_out = trace;
    if (sc->host_count > 0) {
        cfg.link_latency_ns = sc->hosts[0].link.latency_ns;
        cfg.link_bandwidth_bps = sc->hosts[0].link.bandwidth_bps > 0 ? sc->hosts[0].link.bandwidth_bps : 1e12;
        cfg.disk_write_bps = sc->hosts[0].disk.write_bps;
        cfg.disk_read_bps = sc->hosts[0].disk.read_bps;
        cfg.disk_sync_ns = sc->hosts[0].disk.fsync_ns;
        cfg.disk_bytes_max = sc->hosts[0].disk.capacity_bytes;
        for (size_t h = 0; h < sc->host_count; h++) {
            cfg.disk_torn_crash = cfg.disk_torn_crash || sc->hosts[h].disk.torn_crash;
        }
    }
    rs.w = weir_sim_world_new(&cfg);
    if (rs.w == NULL) {
        return WEIR_E_INVAL;
    }
    /* roles */
    for (size_t h = 0; h < sc->host_count; h++) {
        rs.hosts[h].broker_index = -1;
    }
    size_t at = 0;
    for (size_t i = 0; i < sc->broker_count; i++) {
        rs.hosts[sc->brokers[i].host_index].role = 1;
        rs.hosts[sc->brokers[i].host_index].broker_index = (int)i;
        at += (size_t)snprintf(rs.bootstrap + at, sizeof rs.bootstrap - at, "%s%s:9092", i ? "," : "",
                               sc->hosts[sc->brokers[i].host_index].name);
    }
    int err = 0;
    if (sc->broker_count > 0) {
        err = cluster_add(sc, report);
    }
    /* clients */
    for (size_t i = 0; i < sc->producer_count; i++) {
        rs.producers[i] = (producer_state){.spec = &sc->producers[i], .index = (int)i};
        rs.producers_after_faults = rs.producers_after_faults || sc->producers[i].stop_ns > rs.last_fault_end_ns;
        rs.hosts[sc->producers[i].host_index].role = rs.hosts[sc->producers[i].host_index].role ? rs.hosts[sc->producers[i].host_index].role : 3;
    }
    for (size_t t = 0; t < sc->topic_count && t < WEIR_SCN_TOPICS_MAX; t++) {
        rs.reads_checked[t] = run_topic_all_acks_all((int)t);
    }
    for (size_t i = 0; i < sc->consumer_count; i++) {
        rs.consumers[i].spec = &sc->consumers[i];
        rs.consumers[i].index = (int)i;
        rs.hosts[sc->consumers[i].host_index].role = rs.hosts[sc->consumers[i].host_index].role ? rs.hosts[sc->consumers[i].host_index].role : 3;
    }
    for (size_t h = 0; err == 0 && h < sc->host_count; h++) {
        if (rs.hosts[h].role == 3) {
            err = weir_world_node_add(rs.w, sc->hosts[h].name, &run_client_type, (void *)(intptr_t)h);
        }
    }
    for (size_t i = 0; i < sc->flow_count; i++) {
        rs.hosts[sc->flows[i].host_index].role = RUN_ROLE_FLOW;
    }
    if (err == 0) {
        err = run_flows_add_nodes(rs.w);
    }
    if (err == 0) {
        err = weir_world_node_add(rs.w, "chaos", &chaos_type, NULL);
    }
    if (err != 0) {
        return err;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = weir_world_run(rs.w, sc->duration_ns);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err != 0) {
        return err;
    }
    out->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    out->sim_s = (double)sc->duration_ns / 1e9;
    out->trace_hash = weir_sim_trace_hash(rs.w);
    out->events = weir_sim_event_count(rs.w);
    /* oracles: read the logs as they are, with no simulated disk time */
    weir_sim_disk_set(rs.w, 0, 0, 0);
    check_replicas();
    /* every finding kept, to tell idempotent producers' duplicates apart */
    weir_history_report hr = {.max_findings = 100000};
    weir_history_check(&rs.hist, &hr);
    out->lost_all = (int64_t)(hr.counts[WEIR_FINDING_LOST] + hr.counts[WEIR_FINDING_MOVED]);
    out->duplicated = (int64_t)hr.counts[WEIR_FINDING_DUPLICATED];
    out->reordered = (int64_t)hr.counts[WEIR_FINDING_REORDERED];
    out->dirty_reads = (int64_t)hr.counts[WEIR_FINDING_DIRTY_READ];
    for (int k = 0; k < WEIR_FINDING_KINDS_ && k < 16; k++) {
        out->anomalies[k] = (int64_t)hr.counts[k];
    }
    for (size_t i = 0; i < hr.n_findings; i++) {
        const weir_finding *f = &hr.findings[i];
        if (f->kind == WEIR_FINDING_DUPLICATED && producer_idempotent(f->id.producer)) {
            out->duplicated_idempotent++;
        }
        if (i >= 8 || report == NULL) {
            continue;
        }
        char more[96] = "";
        if (f->kind == WEIR_FINDING_POLL_SKIP || f->kind == WEIR_FINDING_NONMONOTONIC_POLL ||
            f->kind == WEIR_FINDING_REREAD_BEYOND_COMMIT) {
            snprintf(more, sizeof more, " by %s, expected offset %lld",
                     f->consumer >= 0 && (size_t)f->consumer < sc->consumer_count
                         ? sc->consumers[f->consumer].name
                         : "?",
                     (long long)f->other_offset);
        } else if (f->other_offset >= 0) {
            snprintf(more, sizeof more, " (other copy at offset %lld)", (long long)f->other_offset);
        }
        run_timeline("ORACLE: %s: P%d:%lld at %s/%d offset %lld%s", weir_finding_name(f->kind),
                     f->id.producer, (long long)f->id.seq, sc->topics[f->partition / 100000].name,
                     f->partition % 100000, (long long)f->offset, more);
        run_record("oracle", "%s: P%d:%lld at %s/%d offset %lld", weir_finding_name(f->kind),
                   f->id.producer, (long long)f->id.seq, sc->topics[f->partition / 100000].name,
                   f->partition % 100000, (long long)f->offset);
    }
    weir_history_report_free(&hr);
    /* the same for every acknowledged message, whatever its acks */
    bool *keep = malloc((rs.hist.n_acks + 1) * sizeof *keep);
    WEIR_ASSERT(keep != NULL);
    for (size_t i = 0; i < rs.hist.n_acks; i++) {
        keep[i] = rs.hist.acks[i].must_survive;
        rs.hist.acks[i].must_survive = true;
    }
    weir_history_report all = {.max_findings = 0};
    weir_history_check(&rs.hist, &all);
    out->lost_any = (int64_t)(all.counts[WEIR_FINDING_LOST] + all.counts[WEIR_FINDING_MOVED]);
    weir_history_report_free(&all);
    for (size_t i = 0; i < rs.hist.n_acks; i++) {
        rs.hist.acks[i].must_survive = keep[i];
    }
    free(keep);
    pipelines_exactly_once();
    for (size_t i = 0; i < sc->producer_count; i++) {
        out->txn_committed += rs.producers[i].txn.committed;
        out->txn_aborted += rs.producers[i].txn.aborted;
        out->txn_unknown += rs.producers[i].txn.unknown;
    }
    for (size_t i = 0; i < sc->consumer_count; i++) {
        out->txn_committed += rs.consumers[i].txn.committed;
        out->txn_aborted += rs.consumers[i].txn.aborted;
        out->txn_unknown += rs.consumers[i].txn.unknown;
    }
    consumers_read_all();
    run_flows_finish(out);
    run_flows_judge_delivery(out);
    judge();
    if (report != NULL) {
        fprintf(report, "timeline\n");
        for (int i = 0; i < rs.n_lines; i++) {
            fprintf(report, "  %s\n", rs.lines[i]);
        }
    }
    for (int i = 0; i < rs.n_lines; i++) {
        free(rs.lines[i]);
    }
    for (size_t i = 0; i < sc->producer_count; i++) {
        for (int k = 0; rec != NULL && rec->latency != NULL && k < LAT_BUCKETS; k++) {
            if (rs.producers[i].latency[k] > 0) {
                fprintf(rec->latency, "%s\t%lld\t%lld\t%llu\n", sc->producers[i].name, k == 0 ? 0LL : 1LL << k,
                        (1LL << (k + 1)) - 1, (unsigned long long)rs.producers[i].latency[k]);
            }
        }
        free(rs.producers[i].sent_ns);
        run_txn_free(&rs.producers[i].txn);
    }
    for (size_t i = 0; i < sc->consumer_count; i++) {
        run_txn_free(&rs.consumers[i].txn);
        free(rs.consumers[i].held);
        free(rs.consumers[i].out_src);
    }
    weir_history_free(&rs.hist);
    run_flows_end();
    return 0;
}

/* The cluster's lines of the summary. */
static void print_cluster_summary(FILE *f, const weir_scn_outcome *out)
{
    fprintf(f, "  messages sent %lld, acknowledged %lld (acks=all %lld), produce errors %lld, read %lld\n",
            (long long)out->sent, (long long)out->acked, (long long)out->acked_all,
            (long long)out->produce_errors, (long long)out->reads);
    fprintf(f, "  acks=all lost %lld, any acknowledged lost %lld, duplicated %lld, reordered %lld, "
               "dirty reads %lld, divergent partitions %lld, HW above LEO %lld, offset gaps %lld\n",
            (long long)out->lost_all, (long long)out->lost_any, (long long)out->duplicated,
            (long long)out->reordered, (long long)out->dirty_reads, (long long)out->divergent,
            (long long)out->hw_above_leo, (long long)out->offset_gaps);
    static const int jepsen[] = {WEIR_FINDING_INCONSISTENT_OFFSETS, WEIR_FINDING_POLL_SKIP,
                                 WEIR_FINDING_NONMONOTONIC_POLL, WEIR_FINDING_REREAD_BEYOND_COMMIT,
                                 WEIR_FINDING_ABORTED_READ, WEIR_FINDING_UNSEEN, WEIR_FINDING_TORN_TXN};
    fprintf(f, "  lost-write %lld, duplicate %lld (of idempotent producers %lld)", (long long)out->lost_any,
            (long long)out->duplicated, (long long)out->duplicated_idempotent);
    for (size_t i = 0; i < sizeof jepsen / sizeof jepsen[0]; i++) {
        fprintf(f, ", %s %lld", weir_finding_name((weir_finding_kind)jepsen[i]),
                (long long)out->anomalies[jepsen[i]]);
    }
    fprintf(f, "\n");
    if (out->txn_committed + out->txn_aborted + out->txn_unknown > 0 || out->not_exactly_once > 0) {
        fprintf(f, "  transactions committed %lld, aborted %lld, outcome unknown %lld; pipeline inputs "
                   "not exactly once in the output %lld\n",
                (long long)out->txn_committed, (long long)out->txn_aborted, (long long)out->txn_unknown,
                (long long)out->not_exactly_once);
    }
    fprintf(f, "  leader changes %d (unclean %d), ISR shrinks %d, expands %d, truncations %d\n",
            out->leader_changes, out->unclean_elections, out->isr_shrinks, out->isr_expands,
            out->truncations);
    if (out->recovered_after_ns >= 0) {
        fprintf(f, "  fully in sync %.3fs after the last fault ended\n", (double)out->recovered_after_ns / 1e9);
    }
}

void weir_scn_print_summary(FILE *f, const weir_scn_outcome *out)
{
    fprintf(f, "\nsummary\n");
    if (out->flow_count == 0 || out->sent > 0 || out->reads > 0 || out->leader_changes > 0) {
        print_cluster_summary(f, out);
    }
    run_flows_print(f, out);
    fprintf(f, "  %.1f simulated s in %.2f wall s (%.0fx), %llu events (%.0f/s)\n", out->sim_s, out->wall_s,
            out->wall_s > 0 ? out->sim_s / out->wall_s : 0, (unsigned long long)out->events,
            out->wall_s > 0 ? (double)out->events / out->wall_s : 0);
    fprintf(f, "\nverdict: %s\n", out->pass ? "PASS" : "FAIL");
    for (int i = 0; i < out->n_failures; i++) {
        fprintf(f, "  - %s\n", out->failures[i]);
    }
    fprintf(f, "trace: %llu events, hash %016llx\n", (unsigned long long)out->events,
            (unsigned long long)out->trace_hash);
}
