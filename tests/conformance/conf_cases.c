/* Conformance cases: env behaviour every backend must show.
 *
 * Each case adds nodes to a world, runs it, and checks what the nodes
 * observed. The same case code runs on the real backend (libuv, loopback TCP,
 * files in a temp folder) and in the simulator; only the durability case asks
 * more of the sim (unsynced data must be gone after a crash), because a real
 * OS keeps unsynced data in its page cache across a process crash.
 */
#include "conf_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS (1000LL * 1000)

static conf_ctx *ctx_of(void *arg)
{
    return arg;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, why_size, __VA_ARGS__);                                                  \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* ---- shared: an echo server on srv:7000 ---- */

static void echo_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->server_frames++;
    if (weir_conn_send(conn, payload, len) != 0) {
        c->errors++;
    }
}

static void echo_on_open(weir_conn *conn, void *arg)
{
    (void)conn;
    ctx_of(arg)->server_opens++;
}

static void *echo_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->server_starts++;
    weir_conn_handlers h = {.on_open = echo_on_open, .on_frame = echo_on_frame, .arg = c};
    weir_listener *l;
    if (weir_listen(env, "srv:7000", &h, &l) != 0) {
        c->errors++;
    }
    return c;
}

static const weir_node_type echo_type = {.name = "echo", .start = echo_start};

/* ---- case: frames of many sizes arrive whole and in order ---- */

static const size_t frame_sizes[] = {0,     1,    2,     3,      100,          1000,
                                     4095,  4096, 4097,  65535,  65536,        1 << 20,
                                     0,     7,    5 << 20, 12345, (3 << 20) + 1, 1};
#define FRAME_COUNT (sizeof frame_sizes / sizeof frame_sizes[0])

static uint8_t frame_byte(size_t frame, size_t i)
{
    return (uint8_t)(frame * 131 + i * 7 + (i >> 8));
}

static void order_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    size_t k = (size_t)c->client_frames;
    if (k >= FRAME_COUNT || len != frame_sizes[k]) {
        c->errors++;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (payload[i] != frame_byte(k, i)) {
            c->errors++;
            return;
        }
    }
    c->client_frames++;
    if (c->client_frames == FRAME_COUNT) {
        weir_conn_close(conn);
    }
}

static void order_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    conf_ctx *c = ctx_of(arg);
    c->client_closes++;
    c->last_close_reason = reason;
    weir_world_stop(c->world);
}

static void *order_client_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_conn_handlers h = {.on_frame = order_on_frame, .on_close = order_on_close, .arg = c};
    weir_conn *conn;
    if (weir_connect(env, "srv:7000", &h, &conn) != 0) {
        c->errors++;
        return c;
    }
    /* Sent before on_open: the env queues them. */
    uint8_t *buf = malloc(5 << 20);
    WEIR_ASSERT(buf != NULL);
    for (size_t k = 0; k < FRAME_COUNT; k++) {
        for (size_t i = 0; i < frame_sizes[k]; i++) {
            buf[i] = frame_byte(k, i);
        }
        /* Split across iovs to exercise sendv's gathering. */
        size_t half = frame_sizes[k] / 2;
        weir_iov iov[2] = {{buf, half}, {buf + half, frame_sizes[k] - half}};
        if (weir_conn_sendv(conn, iov, 2) != 0) {
            c->errors++;
        }
    }
    free(buf);
    return c;
}

static const weir_node_type order_client_type = {.name = "order", .start = order_client_start};

static void frames_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "srv", &echo_type, c);
    weir_world_node_add(w, "cli", &order_client_type, c);
}

static int frames_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    CHECK(c->errors == 0, "%d errors (a frame was wrong, out of order, or a call failed)",
          c->errors);
    CHECK(c->server_frames == FRAME_COUNT, "server got %d of %zu frames", c->server_frames,
          FRAME_COUNT);
    CHECK(c->client_frames == FRAME_COUNT, "client got %d of %zu echoes", c->client_frames,
          FRAME_COUNT);
    CHECK(c->client_closes == 1 && c->last_close_reason == 0,
          "client close reported %d times, reason %d", c->client_closes, c->last_close_reason);
    return 0;
}

/* ---- case: a peer's close is reported after its last frames ---- */

static void bye_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)payload;
    (void)len;
    conf_ctx *c = ctx_of(arg);
    c->server_frames++;
    if (weir_conn_send(conn, "bye", 3) != 0) {
        c->errors++;
    }
    weir_conn_close(conn);
    if (weir_conn_send(conn, "late", 4) != WEIR_E_CLOSED) {
        c->errors++; /* sending after close must fail */
    }
}

static void *bye_server_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_conn_handlers h = {.on_frame = bye_on_frame, .arg = c};
    weir_listener *l;
    if (weir_listen(env, "srv:7000", &h, &l) != 0) {
        c->errors++;
    }
    return c;
}

static void bye_client_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)conn;
    conf_ctx *c = ctx_of(arg);
    if (len == 3 && memcmp(payload, "bye", 3) == 0 && c->client_closes == 0) {
        c->client_frames++;
    } else {
        c->errors++;
    }
}

static void bye_client_on_open(weir_conn *conn, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->client_opens++;
    if (weir_conn_send(conn, "hello", 5) != 0) {
        c->errors++;
    }
}

static void *bye_client_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_conn_handlers h = {.on_open = bye_client_on_open,
                            .on_frame = bye_client_on_frame,
                            .on_close = order_on_close,
                            .arg = c};
    weir_conn *conn;
    if (weir_connect(env, "srv:7000", &h, &conn) != 0) {
        c->errors++;
    }
    return c;
}

static const weir_node_type bye_server_type = {.name = "bye-srv", .start = bye_server_start};
static const weir_node_type bye_client_type = {.name = "bye-cli", .start = bye_client_start};

static void close_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "srv", &bye_server_type, c);
    weir_world_node_add(w, "cli", &bye_client_type, c);
}

static int close_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->client_opens == 1, "on_open ran %d times", c->client_opens);
    CHECK(c->client_frames == 1, "the frame sent before close arrived %d times",
          c->client_frames);
    CHECK(c->client_closes == 1, "on_close ran %d times", c->client_closes);
    CHECK(c->last_close_reason == 0, "orderly close reported as %s",
          weir_err_str(c->last_close_reason));
    return 0;
}

/* ---- case: connecting where nobody listens is refused ---- */

static void *refused_client_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_conn_handlers h = {.on_open = bye_client_on_open, .on_close = order_on_close, .arg = c};
    weir_conn *conn;
    if (weir_connect(env, "srv:7001", &h, &conn) != 0) {
        c->errors++;
    }
    return c;
}

static const weir_node_type refused_client_type = {.name = "refused",
                                                   .start = refused_client_start};

static void refused_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "srv", &echo_type, c);
    weir_world_node_add(w, "cli", &refused_client_type, c);
}

static int refused_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->client_opens == 0, "a connection to a closed port opened");
    CHECK(c->client_closes == 1 && c->last_close_reason == WEIR_E_CONNREFUSED,
          "on_close ran %d times, reason %s (want connection refused)", c->client_closes,
          weir_err_str(c->last_close_reason));
    return 0;
}

/* ---- case: timers fire in deadline order; cancelled ones never ---- */

static const int64_t timer_delays_ms[] = {50, 10, 30, 10, 0, 20, 40};
#define TIMER_COUNT (sizeof timer_delays_ms / sizeof timer_delays_ms[0])
#define TIMER_CANCELLED 2 /* the 30 ms one */

typedef struct timer_slot {
    conf_ctx *c;
    int index;
    int64_t deadline_ns;
} timer_slot;

static timer_slot timer_slots[TIMER_COUNT];

static void timer_fired(weir_env *env, void *arg)
{
    timer_slot *s = arg;
    conf_ctx *c = s->c;
    if (weir_now_ns(env) < s->deadline_ns) {
        c->errors++; /* fired early */
    }
    if (c->fired_count < CONF_FIRED_MAX) {
        c->fired[c->fired_count++] = s->index;
    }
    if (c->fired_count == (int)TIMER_COUNT - 1) {
        weir_world_stop(c->world);
    }
}

static void *timers_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_timer *handles[TIMER_COUNT];
    int64_t now = weir_now_ns(env);
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        timer_slots[i] = (timer_slot){c, (int)i, now + timer_delays_ms[i] * MS};
        handles[i] = weir_timer_start(env, timer_delays_ms[i] * MS, timer_fired, &timer_slots[i]);
    }
    weir_timer_cancel(env, handles[TIMER_CANCELLED]);
    return c;
}

static const weir_node_type timers_type = {.name = "timers", .start = timers_start};

static void timers_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "tim", &timers_type, c);
}

static int timers_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    static const int want[] = {4, 1, 3, 5, 6, 0}; /* by deadline, ties in start order */
    CHECK(c->errors == 0, "a timer fired before its deadline");
    CHECK(c->fired_count == 6, "%d timers fired, want 6 (one was cancelled)", c->fired_count);
    for (int i = 0; i < 6; i++) {
        CHECK(c->fired[i] == want[i], "timer #%d fired at position %d, want #%d", c->fired[i], i,
              want[i]);
    }
    return 0;
}

/* ---- case: files ---- */

static int files_exercise(weir_env *env)
{
    weir_file *f;
    if (weir_fs_mkdir(env, "t-0") != 0 || weir_fs_mkdir(env, "t-0") != WEIR_E_EXIST) {
        return 1;
    }
    if (weir_file_open(env, "t-0/b.log", 0, &f) != WEIR_E_NOENT) {
        return 2;
    }
    if (weir_file_open(env, "nope/b.log", WEIR_F_CREATE, &f) != WEIR_E_NOENT) {
        return 3;
    }
    if (weir_file_open(env, "t-0/b.log", WEIR_F_CREATE, &f) != 0) {
        return 4;
    }
    uint8_t got[16];
    size_t n = 0;
    uint64_t size = 0;
    if (weir_file_append(env, f, "hello ", 6) != 0 || weir_file_append(env, f, "world", 5) != 0 ||
        weir_file_pwrite(env, f, "W", 1, 6) != 0 || weir_file_sync(env, f) != 0 ||
        weir_file_pread(env, f, got, sizeof got, 0, &n) != 0 || n != 11 ||
        memcmp(got, "hello World", 11) != 0) {
        return 5;
    }
    if (weir_file_pread(env, f, got, 4, 9, &n) != 0 || n != 2 || weir_file_pwrite(env, f, "!", 1, 13) != 0 ||
        weir_file_size(env, f, &size) != 0 || size != 14) {
        return 6;
    }
    if (weir_file_truncate(env, f, 5) != 0 || weir_file_size(env, f, &size) != 0 || size != 5) {
        return 7;
    }
    weir_file_close(env, f);
    /* read-only handles read, and refuse every change */
    if (weir_file_open(env, "t-0/b.log", WEIR_F_RDONLY | WEIR_F_CREATE, &f) != WEIR_E_INVAL ||
        weir_file_open(env, "t-0/b.log", WEIR_F_RDONLY, &f) != 0) {
        return 15;
    }
    if (weir_file_pread(env, f, got, sizeof got, 0, &n) != 0 || n != 5 ||
        weir_file_pwrite(env, f, "x", 1, 0) != WEIR_E_INVAL ||
        weir_file_append(env, f, "x", 1) != WEIR_E_INVAL ||
        weir_file_truncate(env, f, 1) != WEIR_E_INVAL || weir_file_sync(env, f) != WEIR_E_INVAL ||
        weir_file_size(env, f, &size) != 0 || size != 5) {
        weir_file_close(env, f);
        return 16;
    }
    weir_file_close(env, f);
    if (weir_file_open(env, "t-0/a.idx", WEIR_F_CREATE | WEIR_F_EXCL, &f) != 0) {
        return 8;
    }
    weir_file_close(env, f);
    if (weir_file_open(env, "t-0/a.idx", WEIR_F_CREATE | WEIR_F_EXCL, &f) != WEIR_E_EXIST) {
        return 9;
    }
    if (weir_fs_rename(env, "t-0/a.idx", "t-0/c.idx") != 0 || weir_fs_rmdir(env, "t-0") != WEIR_E_NOTEMPTY) {
        return 10;
    }
    weir_dirlist list;
    if (weir_fs_list(env, "t-0", &list) != 0 || list.count != 2 ||
        strcmp(list.names[0], "b.log") != 0 || strcmp(list.names[1], "c.idx") != 0) {
        weir_fs_list_free(&list);
        return 11;
    }
    weir_fs_list_free(&list);
    bool is_dir = false;
    if (weir_fs_stat(env, "t-0/b.log", &is_dir, &size) != 0 || is_dir || size != 5 ||
        weir_fs_stat(env, "t-0", &is_dir, &size) != 0 || !is_dir) {
        return 12;
    }
    if (weir_fs_unlink(env, "t-0/b.log") != 0 || weir_fs_unlink(env, "t-0/b.log") != WEIR_E_NOENT ||
        weir_fs_unlink(env, "t-0/c.idx") != 0 || weir_fs_rmdir(env, "t-0") != 0) {
        return 13;
    }
    if (weir_file_open(env, "../escape", WEIR_F_CREATE, &f) != WEIR_E_INVAL) {
        return 14;
    }
    return 0;
}

static void *files_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->step_failed = files_exercise(env);
    c->client_frames = 1; /* ran */
    weir_world_stop(c->world);
    return c;
}

static const weir_node_type files_type = {.name = "files", .start = files_start};

static void files_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "fs", &files_type, c);
}

static int files_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    CHECK(c->client_frames == 1, "the file node never ran");
    CHECK(c->step_failed == 0, "file step %d gave the wrong result", c->step_failed);
    return 0;
}

/* ---- case: synced data survives a crash (and, in the sim, unsynced does not) ---- */

static void *durable_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->server_starts++;
    weir_file *f;
    if (weir_file_open(env, "data", WEIR_F_CREATE, &f) != 0) {
        c->errors++;
        return c;
    }
    if (c->server_starts == 1) {
        /* Unsynced: an overwrite inside the synced bytes and an append. */
        if (weir_file_append(env, f, "synced|", 7) != 0 || weir_file_sync(env, f) != 0 ||
            weir_file_pwrite(env, f, "XX", 2, 0) != 0 ||
            weir_file_append(env, f, "unsynced", 8) != 0) {
            c->errors++;
        }
    } else {
        size_t n = 0;
        c->durable_len = 0;
        if (weir_file_pread(env, f, c->durable, sizeof c->durable, 0, &n) != 0) {
            c->errors++;
        }
        c->durable_len = n;
    }
    weir_file_close(env, f);
    return c;
}

static void durable_crash(weir_env *env, void *arg)
{
    (void)env;
    conf_ctx *c = ctx_of(arg);
    if (weir_world_crash(c->world, "disk") != 0 || weir_world_restart(c->world, "disk") != 0) {
        c->errors++;
    }
    weir_timer_start(env, 10 * MS, conf_stop_cb, c);
}

static void *durable_ctl_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 20 * MS, durable_crash, arg);
    return arg;
}

static const weir_node_type durable_type = {.name = "disk", .start = durable_start};
static const weir_node_type durable_ctl_type = {.name = "ctl", .start = durable_ctl_start};

static void durable_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "disk", &durable_type, c);
    weir_world_node_add(w, "ctl", &durable_ctl_type, c);
}

static int durable_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->server_starts == 2, "the node started %d times, want 2", c->server_starts);
    if (sim) {
        CHECK(c->durable_len == 7 && memcmp(c->durable, "synced|", 7) == 0,
              "after a crash the sim disk holds %zu bytes '%.*s', want exactly the synced "
              "'synced|'",
              c->durable_len, (int)c->durable_len, (const char *)c->durable);
    } else {
        /* A process crash keeps the OS page cache: every write is still there. */
        CHECK(c->durable_len == 15 && memcmp(c->durable, "XXnced|unsynced", 15) == 0,
              "after a process crash the file holds %zu bytes, want 15", c->durable_len);
    }
    return 0;
}

/* ---- case: a crash resets the peers' connections; a restart serves again ---- */

static void reset_client_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)conn;
    (void)payload;
    (void)len;
    ctx_of(arg)->client_frames++;
}

static void reset_connect(weir_env *env, void *arg);

static void reset_client_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    conf_ctx *c = ctx_of(arg);
    c->client_closes++;
    c->last_close_reason = reason;
    if (c->client_closes == 1) {
        weir_timer_start(c->client_env, 50 * MS, reset_connect, c);
    }
}

static void reset_client_on_open(weir_conn *conn, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->client_opens++;
    if (weir_conn_send(conn, "ping", 4) != 0) {
        c->errors++;
    }
}

static void reset_connect(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    weir_conn_handlers h = {.on_open = reset_client_on_open,
                            .on_frame = reset_client_on_frame,
                            .on_close = reset_client_on_close,
                            .arg = c};
    weir_conn *conn;
    if (weir_connect(env, "srv:7000", &h, &conn) != 0) {
        c->errors++;
    }
}

static void reset_restart(weir_env *env, void *arg)
{
    (void)env;
    conf_ctx *c = ctx_of(arg);
    if (weir_world_restart(c->world, "srv") != 0) {
        c->errors++;
    }
}

static void reset_crash(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    if (weir_world_crash(c->world, "srv") != 0) {
        c->errors++;
    }
    weir_timer_start(env, 20 * MS, reset_restart, c);
    weir_timer_start(env, 400 * MS, conf_stop_cb, c);
}

static void *reset_client_start(weir_env *env, void *arg)
{
    conf_ctx *c = ctx_of(arg);
    c->client_env = env;
    reset_connect(env, c);
    weir_timer_start(env, 100 * MS, reset_crash, c);
    return c;
}

static const weir_node_type reset_client_type = {.name = "reset", .start = reset_client_start};

static void reset_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "srv", &echo_type, c);
    weir_world_node_add(w, "cli", &reset_client_type, c);
}

static int reset_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->server_starts == 2, "server started %d times, want 2", c->server_starts);
    CHECK(c->client_closes == 1, "the crash was reported %d times, want 1", c->client_closes);
    CHECK(c->last_close_reason == WEIR_E_CONNRESET || c->last_close_reason == 0,
          "crash reported as %s", weir_err_str(c->last_close_reason));
    CHECK(c->client_opens == 2 && c->client_frames == 2,
          "after restart: %d opens, %d echoes (want 2 and 2)", c->client_opens, c->client_frames);
    return 0;
}

/* ---- the table ---- */

void conf_stop_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_world_stop(ctx_of(arg)->world);
}

const conf_case conf_cases[] = {
    {"frames_of_many_sizes_arrive_whole_and_in_order", frames_setup, frames_check, 60000 * MS},
    {"peer_close_is_reported_after_its_last_frame", close_setup, close_check, 10000 * MS},
    {"connect_to_a_closed_port_is_refused", refused_setup, refused_check, 10000 * MS},
    {"timers_fire_in_deadline_order_and_cancelled_never", timers_setup, timers_check, 10000 * MS},
    {"file_operations_behave_alike", files_setup, files_check, 10000 * MS},
    {"synced_data_survives_a_crash_and_unsynced_writes_not_in_sim", durable_setup, durable_check,
     10000 * MS},
    {"crash_resets_peer_connections_and_restart_serves_again", reset_setup, reset_check,
     10000 * MS},
    {"node_destroy_closes_its_open_files_after_a_crash", conf_keep_crash_setup,
     conf_keep_crash_check, 10000 * MS},
    {"node_destroy_closes_its_open_files_when_the_world_ends", conf_keep_end_setup,
     conf_keep_end_check, 10000 * MS},
    {"write_from_destroy_after_a_crash_is_refused_and_never_reaches_the_disk",
     conf_late_write_setup, conf_late_write_check, 10000 * MS},
};

const size_t conf_case_count = sizeof conf_cases / sizeof conf_cases[0];
