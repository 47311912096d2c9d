/* Real env backend: a node's env (creation, teardown), the OS clocks, timers
 * (the shared timer heap driving one uv_timer_t per env), log lines, and the
 * ops table that ties in the network and file functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "env/uv_internal.h"

#define UE_NS_PER_MS 1000000LL

int64_t weir_uv_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ue_now_ns(weir_env *env)
{
    (void)env;
    return weir_uv_clock_ns();
}

static int64_t ue_wall_ms(weir_env *env)
{
    (void)env;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- timers ----
 *
 * Each env keeps its timers in a heap and drives them with two libuv handles:
 * a uv_timer armed for the earliest future deadline, and a uv_idle running
 * while a timer is due now. Why the idle: libuv 1.44 runs a uv_timer started
 * with 0 ms from inside a timer callback again in the same loop pass, so a
 * node that re-arms a zero-delay timer (the flow scheduler's pump) would
 * never let the loop poll its sockets or see uv_stop. An active idle handle
 * makes the poll non-blocking and its callback runs once per loop iteration,
 * so every batch of due timers is followed by a poll for I/O.
 *
 * A batch runs the timers due when it starts, in heap order (deadline, then
 * start order). Timers they start, even with zero delay, wait for the next
 * batch. */

/* The env with the handle only this file uses; `base` first, so a
 * weir_uv_env * from the other files is the start of this block. */
typedef struct ue_env {
    weir_uv_env base;
    uv_idle_t due; /* active while the heap's earliest timer is due now */
    bool due_active;
} ue_env;

static ue_env *ue_of(weir_uv_env *e)
{
    return (ue_env *)e;
}

static void ue_timer_cb(uv_timer_t *h);
static void ue_due_cb(uv_idle_t *h);

static void ue_due_set(weir_uv_env *e, bool active)
{
    ue_env *x = ue_of(e);
    if (active && !x->due_active) {
        uv_idle_start(&x->due, ue_due_cb);
    } else if (!active && x->due_active) {
        uv_idle_stop(&x->due);
    }
    x->due_active = active;
}

void weir_uv_env_rearm(weir_uv_env *e)
{
    if (e->dead || e->in_timers) {
        return;
    }
    int64_t next = weir_timer_heap_next_ns(&e->timers);
    int64_t now = weir_uv_clock_ns();
    bool due_now = next != INT64_MAX && next <= now;
    ue_due_set(e, due_now);
    if (due_now || next == INT64_MAX) {
        if (e->armed_ns != INT64_MAX) {
            uv_timer_stop(&e->timer);
            e->armed_ns = INT64_MAX;
        }
        return;
    }
    if (next == e->armed_ns) {
        return;
    }
    e->armed_ns = next;
    /* libuv counts whole ms from its cached loop time: refresh it, round up.
     * If the timer still fires a little early, the batch finds nothing due
     * and re-arms. */
    uv_update_time(&e->world->loop);
    int64_t delta = next - weir_uv_clock_ns();
    uint64_t ms = delta <= 0 ? 1 : (uint64_t)((delta + UE_NS_PER_MS - 1) / UE_NS_PER_MS);
    uv_timer_start(&e->timer, ue_timer_cb, ms, 0);
}

/* Runs one batch: the timers due now that were started before it began. */
static void ue_run_due(weir_uv_env *e)
{
    e->in_timers = true;
    int64_t now = weir_uv_clock_ns();
    /* A timer started during the batch has a sequence number >= seq_end and,
     * started at or after `now`, sorts after every older due timer: once the
     * heap's head is such a timer, nothing older is due. */
    uint64_t seq_end = e->timers.seq_next;
    while (!e->dead && e->timers.count > 0 && e->timers.items[0]->seq < seq_end) {
        weir_timer *t = weir_timer_heap_pop_due(&e->timers, now);
        if (t == NULL) {
            break;
        }
        weir_timer_cb cb = t->cb;
        void *arg = t->arg;
        free(t);
        weir_uv_env *prev = weir_uv_enter(e);
        cb(&e->pub, arg);
        weir_uv_leave(e, prev);
    }
    e->in_timers = false;
    weir_uv_env_rearm(e);
}

static void ue_timer_cb(uv_timer_t *h)
{
    weir_uv_env *e = h->data;
    e->armed_ns = INT64_MAX;
    ue_run_due(e);
}

static void ue_due_cb(uv_idle_t *h)
{
    ue_run_due(h->data);
}

static weir_timer *ue_timer_start(weir_env *env, int64_t delay_ns, weir_timer_cb cb, void *arg)
{
    weir_uv_env *e = env->impl;
    WEIR_ASSERT(!e->dead);
    int64_t now = weir_uv_clock_ns();
    /* INT64_MAX means "no timer" to the heap, so cap below it. */
    int64_t deadline = delay_ns >= INT64_MAX - 1 - now ? INT64_MAX - 1 : now + delay_ns;
    weir_timer *t = weir_timer_heap_add(&e->timers, deadline, cb, arg);
    weir_uv_env_rearm(e);
    return t;
}

static void ue_timer_cancel(weir_env *env, weir_timer *timer)
{
    weir_uv_env *e = env->impl;
    if (e->dead) {
        return; /* the timer went with the heap at teardown */
    }
    weir_timer_heap_cancel(&e->timers, timer);
    weir_uv_env_rearm(e);
}

/* ---- log ---- */

static const char *ue_level_name(weir_log_level level)
{
    switch (level) {
    case WEIR_LOG_ERROR:
        return "ERROR";
    case WEIR_LOG_WARN:
        return "WARN";
    case WEIR_LOG_INFO:
        return "INFO";
    case WEIR_LOG_DEBUG:
        return "DEBUG";
    }
    return "?";
}

/* One line on stderr: "2024-05-01T12:00:00.123Z WARN  node: message", written
 * with a single write(2) so lines of concurrent processes do not interleave. */
static void ue_log_write(weir_env *env, weir_log_level level, const char *line)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char buf[1400];
    int n = snprintf(buf, sizeof buf, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000,
                     ue_level_name(level), env->name, line);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    buf[len - 1] = '\n';
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(STDERR_FILENO, buf + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        off += (size_t)w;
    }
}

static const weir_env_ops ue_ops = {
    .version = WEIR_ENV_OPS_VERSION,
    .backend = "real",
    .now_ns = ue_now_ns,
    .wall_ms = ue_wall_ms,
    .timer_start = ue_timer_start,
    .timer_cancel = ue_timer_cancel,
    .listen = weir_uv_listen,
    .listener_close = weir_uv_listener_close,
    .connect = weir_uv_connect,
    .sendv = weir_uv_sendv,
    .close = weir_uv_close,
    .file_open = weir_uv_file_open,
    .file_pread = weir_uv_file_pread,
    .file_pwrite = weir_uv_file_pwrite,
    .file_append = weir_uv_file_append,
    .file_sync = weir_uv_file_sync,
    .file_truncate = weir_uv_file_truncate,
    .file_size = weir_uv_file_size,
    .file_close = weir_uv_file_close,
    .fs_rename = weir_uv_fs_rename,
    .fs_unlink = weir_uv_fs_unlink,
    .fs_mkdir = weir_uv_fs_mkdir,
    .fs_rmdir = weir_uv_fs_rmdir,
    .fs_list = weir_uv_fs_list,
    .fs_stat = weir_uv_fs_stat,
    .log_write = ue_log_write,
};

/* ---- lifecycle ---- */

/* seed != 0: repeatable, from the seed, the node's name and its incarnation.
 * seed == 0: from the OS. */
static uint64_t ue_node_seed(const weir_uv_world *w, const weir_uv_node *n)
{
    if (w->seed != 0) {
        uint64_t h = weir_fnv1a_u64(WEIR_FNV_OFFSET, w->seed);
        h = weir_fnv1a_str(h, n->name);
        return weir_fnv1a_u64(h, n->incarnation);
    }
    uint64_t v = 0;
    while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        if (errno != EINTR) {
            return weir_fnv1a_u64(weir_fnv1a_str(WEIR_FNV_OFFSET, n->name),
                                  (uint64_t)weir_uv_clock_ns());
        }
    }
    return v;
}

/* "<world root>/<name>", made if missing; or the node's own root_dir, which
 * must be an existing folder (a rooted node never creates it). */
static int ue_node_root(const weir_uv_world *w, const weir_uv_node *n, char **out)
{
    struct stat st;
    if (n->root_dir != NULL) {
        if (stat(n->root_dir, &st) != 0) {
            return weir_uv_err_from_errno(errno);
        }
        if (!S_ISDIR(st.st_mode)) {
            return WEIR_E_NOTDIR;
        }
        *out = strdup(n->root_dir);
        return *out != NULL ? 0 : WEIR_E_NOMEM;
    }
    size_t root_len = strlen(w->root) + 1 + strlen(n->name) + 1;
    char *root = malloc(root_len);
    if (root == NULL) {
        return WEIR_E_NOMEM;
    }
    snprintf(root, root_len, "%s/%s", w->root, n->name);
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        int err = weir_uv_err_from_errno(errno);
        free(root);
        return err;
    }
    *out = root;
    return 0;
}

weir_uv_env *weir_uv_env_new(weir_uv_world *w, weir_uv_node *n, int *err)
{
    ue_env *x = calloc(1, sizeof *x);
    weir_uv_env *e = x != NULL ? &x->base : NULL;
    char *root = NULL;
    *err = e == NULL ? WEIR_E_NOMEM : ue_node_root(w, n, &root);
    if (*err != 0) {
        free(x);
        return NULL;
    }
    e->pub.ops = &ue_ops;
    e->pub.impl = e;
    e->pub.name = n->name;
    weir_prng_seed(&e->pub.prng, ue_node_seed(w, n));
    e->pub.frame_bytes_max = WEIR_FRAME_BYTES_MAX_DEFAULT;
    e->pub.log_level = WEIR_LOG_INFO;
    e->world = w;
    e->node = n;
    e->root = root;
    weir_timer_heap_init(&e->timers);
    e->armed_ns = INT64_MAX;
    uv_timer_init(&w->loop, &e->timer);
    e->timer.data = e;
    uv_idle_init(&w->loop, &x->due);
    x->due.data = e;
    e->handles = 2; /* timer, due */
    return e;
}

void weir_uv_env_handle_closed(weir_uv_env *e)
{
    WEIR_ASSERT(e->handles > 0);
    e->handles--;
    if (e->dead && e->handles == 0) {
        free(e->root);
        free(ue_of(e));
    }
}

static void ue_handle_closed(uv_handle_t *h)
{
    weir_uv_env_handle_closed(h->data);
}

void weir_uv_env_teardown(weir_uv_env *e)
{
    WEIR_ASSERT(!e->dead);
    e->dead = true;
    weir_uv_net_teardown(e);
    weir_timer_heap_free(&e->timers);
    /* Stopped, not closed: their count keeps e alive until the release. */
    uv_timer_stop(&e->timer);
    e->armed_ns = INT64_MAX;
    ue_due_set(e, false);
}

void weir_uv_env_release(weir_uv_env *e)
{
    WEIR_ASSERT(e->dead);
    weir_uv_fs_teardown(e);
    uv_close((uv_handle_t *)&e->timer, ue_handle_closed);
    uv_close((uv_handle_t *)&ue_of(e)->due, ue_handle_closed);
}
