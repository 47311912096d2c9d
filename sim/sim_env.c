/* The sim backend's env table: SimGrid's clock, per-incarnation timers, log
 * lines stamped with simulated time, and the node's dispatch loop.
 *
 * The dispatch loop is the only place a node's actor blocks: it waits on the
 * incarnation's mailbox with a timeout equal to the next timer deadline, so a
 * node reacts to exactly two things, a message or a due timer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_internal.h"
#include "sim_wait.h"

/* What a skewed clock has gained (or lost) since its rate was set. */
static int64_t se_drift_ns(const sim_node_faults *f, int64_t now)
{
    return f->clock_rate == 1.0 ? 0 : (int64_t)((f->clock_rate - 1.0) * (double)(now - f->rate_since_ns));
}

static int64_t se_now_ns(weir_env *env)
{
    const sim_node_faults *f = &sim_inc_of(env)->node->faults;
    int64_t now = sim_now_ns();
    return now + f->mono_offset_ns + se_drift_ns(f, now);
}

static int64_t se_wall_ms(weir_env *env)
{
    const sim_node_faults *f = &sim_inc_of(env)->node->faults;
    int64_t now = sim_now_ns();
    return sim_world_of(env)->cfg.wall_epoch_ms + (now + f->wall_offset_ns + se_drift_ns(f, now)) / 1000000;
}

/* A delay is measured by the node's own clock: a fast clock fires early. */
static weir_timer *se_timer_start(weir_env *env, int64_t delay_ns, weir_timer_cb cb, void *arg)
{
    sim_inc *inc = sim_inc_of(env);
    double rate = inc->node->faults.clock_rate;
    /* Rounded up, and at least 1 ns: rounded down, a fast clock's timer
     * fires just before the node's own deadline, is re-armed with 0 ns and
     * spins for ever. */
    int64_t true_delay = delay_ns;
    if (rate != 1.0 && delay_ns > 0) {
        true_delay = (int64_t)ceil((double)delay_ns / rate);
        if (true_delay < 1) {
            true_delay = 1;
        }
    }
    return weir_timer_heap_add(&inc->timers, sim_now_ns() + true_delay, cb, arg);
}

static void se_timer_cancel(weir_env *env, weir_timer *timer)
{
    weir_timer_heap_cancel(&sim_inc_of(env)->timers, timer);
}

static void se_log_write(weir_env *env, weir_log_level level, const char *line)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    int64_t now = sim_now_ns();
    fprintf(stderr, "[%4lld.%06llds] %-5s %s: %s\n", (long long)(now / 1000000000),
            (long long)(now % 1000000000 / 1000), names[level], env->name, line);
}

const weir_env_ops sim_env_ops = {
    .version = WEIR_ENV_OPS_VERSION,
    .backend = "sim",
    .now_ns = se_now_ns,
    .wall_ms = se_wall_ms,
    .timer_start = se_timer_start,
    .timer_cancel = se_timer_cancel,
    .listen = sim_net_listen,
    .listener_close = sim_net_listener_close,
    .connect = sim_net_connect,
    .sendv = sim_net_sendv,
    .close = sim_net_close,
    .file_open = sim_fs_open,
    .file_pread = sim_fs_pread,
    .file_pwrite = sim_fs_pwrite,
    .file_append = sim_fs_append,
    .file_sync = sim_fs_sync,
    .file_truncate = sim_fs_truncate,
    .file_size = sim_fs_size,
    .file_close = sim_fs_close,
    .fs_rename = sim_fs_rename,
    .fs_unlink = sim_fs_unlink,
    .fs_mkdir = sim_fs_mkdir,
    .fs_rmdir = sim_fs_rmdir,
    .fs_list = sim_fs_list,
    .fs_stat = sim_fs_stat,
    .log_write = se_log_write,
};

static void se_run_due_timers(sim_inc *inc)
{
    weir_timer *t;
    while (!inc->dead && (t = weir_timer_heap_pop_due(&inc->timers, sim_now_ns())) != NULL) {
        weir_timer_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        sim_trace_event(inc->node->world, inc->node, SIM_EV_TIMER, 0, 0);
        cb(&inc->env, arg);
    }
}

/* Longest single wait when no timer is pending (SimGrid needs a finite one). */
#define SE_IDLE_WAIT_S 3600.0

/* Receives posted at once: a long transfer (a big frame on a slow link)
 * holds back only its own receive, not every frame to this node, as separate
 * TCP connections would not wait for each other. Every wait registers with
 * each of them, so each one costs time on every event; 8 covers the
 * transfers a node has in flight at once in the scenarios. */
#define SE_RECEIVES 8

void sim_env_dispatch_loop(sim_inc *inc)
{
    sim_world *w = inc->node->world;
    void *slot[SE_RECEIVES] = {NULL};
    sg_comm_t pending[SE_RECEIVES] = {NULL};
    for (;;) {
        se_run_due_timers(inc);
        if (w->stopping || inc->dead) {
            break; /* posted receives are released with the actor */
        }
        int64_t next_ns = weir_timer_heap_next_ns(&inc->timers);
        double timeout_s = SE_IDLE_WAIT_S;
        if (next_ns != INT64_MAX) {
            int64_t wait_ns = next_ns - sim_now_ns();
            timeout_s = wait_ns > 0 ? (double)wait_ns / 1e9 : 0.0;
        }
        for (size_t i = 0; i < SE_RECEIVES; i++) {
            if (pending[i] == NULL) {
                pending[i] = sg_mailbox_get_async(inc->mailbox, &slot[i]);
            }
        }
        size_t which = 0;
        int rc = sim_wait_any_keep(pending, SE_RECEIVES, timeout_s, &which);
        int64_t paused_until = inc->node->faults.paused_until_ns;
        if (paused_until > sim_now_ns()) {
            /* a stall: what woke us waits until it ends (arrivals stay in their slots) */
            sim_charge_ns(paused_until - sim_now_ns());
            if (w->stopping || inc->dead) {
                break;
            }
        }
        if (rc == 1 || rc == 3) {
            continue; /* a timer is due; the receives stay posted */
        }
        sg_comm_unref(pending[which]);
        pending[which] = NULL;
        if (rc != 0) {
            continue; /* lost in transfer: the sender crashed */
        }
        void *msg = slot[which];
        slot[which] = NULL;
        sim_net_handle(inc, msg);
    }
}
