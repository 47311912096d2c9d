/* Unit tests of the real (libuv) env backend: framing over loopback TCP,
 * connection lifecycles, timers, files, crash and restart. Every test builds
 * its own world under a fresh temporary folder and removes it afterwards. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/uv_http.h"
#include "env/uv_world.h"
#include "env/world.h"

#define MS 1000000LL
#define MAX_FRAMES 64

/* ---- fixture: a world in a temporary folder ---- */

typedef struct fixture {
    char root[64];
    weir_world *w;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/weir_uv_test_XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->w = weir_uv_world_new(f->root, 42);
    assert_non_null(f->w);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->w != NULL) {
        weir_world_destroy(f->w);
    }
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the world in small slices until *counter >= target or timeout_ms. */
static bool run_until(weir_world *w, const int *counter, int target, int64_t timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (*counter < target) {
        if (mono_ms() > end) {
            return false;
        }
        assert_int_equal(weir_world_run(w, 5 * MS), 0);
    }
    return true;
}

/* ---- what the nodes saw ---- */

typedef struct obs {
    weir_world *w;
    weir_env *env;
    const char *addr;    /* listen (server) or connect (client) address */
    uint32_t frame_max;  /* server: frame_bytes_max if non-zero */
    bool echo;           /* server: echo every frame */
    bool close_on_open;  /* client: send nothing more, close in on_open */
    bool close_in_start; /* client: close right after the sends in start() */
    bool close_on_frame; /* close the connection after the first frame */
    bool check_pattern;  /* frames carry pattern(index) */
    size_t sizes[MAX_FRAMES];
    int send_count; /* client: frames sent from start(), before on_open */
    int stop_after; /* stop the world after this many frames (0: never) */
    int starts, destroys, opens, closes, frames, bad_frames;
    int opens_before_sends;
    int reasons[8];
    size_t lens[MAX_FRAMES];
    int sendv_after_close;
    bool close_returned_before_on_close;
    uint64_t conn_ids[8];
    char peer[64];
    int incarnation;
} obs;

typedef struct node {
    obs *o;
    weir_env *env;
    weir_listener *l;
    weir_conn *conn;
    int incarnation;
} node;

static uint8_t pattern(int frame, size_t j)
{
    return (uint8_t)(frame * 131 + (int)(j * 7) + 1);
}

static uint8_t *make_frame(int frame, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    for (size_t j = 0; j < len; j++) {
        p[j] = pattern(frame, j);
    }
    return p;
}

static void record_frame(obs *o, const uint8_t *payload, size_t len)
{
    int i = o->frames;
    if (i < MAX_FRAMES) {
        o->lens[i] = len;
    }
    if (o->check_pattern) {
        for (size_t j = 0; j < len; j++) {
            if (payload[j] != pattern(i, j)) {
                o->bad_frames++;
                break;
            }
        }
    }
    o->frames++;
}

static void on_open(weir_conn *conn, void *arg)
{
    obs *o = arg;
    if (o->opens < 8) {
        o->conn_ids[o->opens] = conn->id;
    }
    snprintf(o->peer, sizeof o->peer, "%s", conn->peer);
    o->opens++;
    if (o->close_on_open) {
        weir_conn_close(conn);
        o->close_returned_before_on_close = o->closes == 0;
        o->sendv_after_close = weir_conn_send(conn, "x", 1);
    }
}

static void on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    obs *o = arg;
    record_frame(o, payload, len);
    if (o->echo) {
        assert_int_equal(weir_conn_send(conn, payload, len), 0);
    }
    if (o->close_on_frame) {
        weir_conn_close(conn);
    }
    if (o->stop_after > 0 && o->frames == o->stop_after) {
        weir_world_stop(o->w);
    }
}

static void on_close(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    obs *o = arg;
    if (o->closes < 8) {
        o->reasons[o->closes] = reason;
    }
    o->closes++;
}

static node *node_new(weir_env *env, obs *o)
{
    node *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->o = o;
    n->env = env;
    o->env = env;
    o->starts++;
    return n;
}

static void node_destroy(void *state)
{
    node *n = state;
    n->o->destroys++;
    free(n);
}

static void *server_start(weir_env *env, void *arg)
{
    obs *o = arg;
    node *n = node_new(env, o);
    if (o->frame_max != 0) {
        env->frame_bytes_max = o->frame_max;
    }
    weir_conn_handlers h = {on_open, on_frame, on_close, o};
    assert_int_equal(weir_listen(env, o->addr ? o->addr : "srv:9000", &h, &n->l), 0);
    return n;
}

static void *client_start(weir_env *env, void *arg)
{
    obs *o = arg;
    node *n = node_new(env, o);
    weir_conn_handlers h = {on_open, on_frame, on_close, o};
    assert_int_equal(weir_connect(env, o->addr ? o->addr : "srv:9000", &h, &n->conn), 0);
    for (int i = 0; i < o->send_count; i++) {
        uint8_t *p = make_frame(i, o->sizes[i]);
        assert_int_equal(weir_conn_send(n->conn, p, o->sizes[i]), 0);
        free(p);
    }
    o->opens_before_sends = o->opens;
    if (o->close_in_start) {
        weir_conn_close(n->conn);
        o->sendv_after_close = weir_conn_send(n->conn, "x", 1);
    }
    assert_int_equal(o->closes, 0); /* never synchronous */
    return n;
}

static const weir_node_type server_type = {"server", server_start, node_destroy};
static const weir_node_type client_type = {"client", client_start, node_destroy};

/* ---- raw sockets ---- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void raw_write(int fd, const void *buf, size_t len)
{
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A loopback port nobody listens on (bound, then released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Starts a server node alone and returns its real port. */
static int start_server(fixture *f, obs *srv)
{
    srv->w = f->w;
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, srv), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    int port = weir_uv_world_port_of(f->w, "srv:9000");
    assert_true(port > 0);
    return port;
}

/* ---- network tests ---- */

static void test_uv_frames_of_many_sizes_arrive_whole_and_in_order(void **state)
{
    fixture *f = *state;
    obs srv = {.w = f->w, .echo = true, .check_pattern = true};
    obs cli = {.w = f->w, .check_pattern = true, .send_count = 6, .stop_after = 6};
    size_t sizes[] = {0, 1, 100, 64 * 1024, 5 * 1024 * 1024, 3};
    memcpy(cli.sizes, sizes, sizeof sizes);
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_int_equal(weir_world_run(f->w, 10000 * MS), 0);
    assert_int_equal(cli.frames, 6);
    assert_int_equal(srv.frames, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(srv.lens[i], sizes[i]);
        assert_int_equal(cli.lens[i], sizes[i]);
    }
    assert_int_equal(srv.bad_frames, 0);
    assert_int_equal(cli.bad_frames, 0);
    assert_int_equal(cli.opens, 1);
    assert_int_equal(srv.opens, 1);
    assert_int_equal(cli.closes, 0);
    assert_true(cli.conn_ids[0] != srv.conn_ids[0]);
    assert_int_equal(strncmp(cli.peer, "127.0.0.1:", 10), 0);
    assert_int_equal(strncmp(srv.peer, "127.0.0.1:", 10), 0);
    assert_string_equal(cli.env->ops->backend, "real");
}

static void test_uv_frames_sent_before_open_are_delivered(void **state)
{
    fixture *f = *state;
    obs srv = {.w = f->w, .check_pattern = true, .stop_after = 3};
    obs cli = {.w = f->w, .send_count = 3, .sizes = {10, 20, 30}};
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_int_equal(weir_world_run(f->w, 5000 * MS), 0);
    assert_int_equal(cli.opens_before_sends, 0);
    assert_int_equal(cli.opens, 1);
    assert_int_equal(srv.frames, 3);
    assert_int_equal(srv.bad_frames, 0);
    assert_int_equal(srv.lens[0], 10);
    assert_int_equal(srv.lens[2], 30);
}

static void test_uv_connect_to_closed_port_is_refused(void **state)
{
    fixture *f = *state;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    obs cli = {.w = f->w, .addr = addr, .send_count = 1, .sizes = {5}};
    obs named = {.w = f->w, .addr = "cli:1"}; /* a node of the world, nobody listening */
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli2", &client_type, &named), 0);
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
    assert_true(run_until(f->w, &named.closes, 1, 3000));
    assert_int_equal(cli.reasons[0], WEIR_E_CONNREFUSED);
    assert_int_equal(named.reasons[0], WEIR_E_CONNREFUSED);
    assert_int_equal(cli.opens, 0);
    assert_int_equal(named.opens, 0);
    assert_int_equal(weir_world_run(f->w, 20 * MS), 0);
    assert_int_equal(cli.closes, 1);
}

static void expect_frame_size_close(fixture *f, uint32_t prefix, uint32_t frame_max)
{
    obs srv = {.frame_max = frame_max};
    int port = start_server(f, &srv);
    int fd = raw_connect(port);
    uint8_t hdr[4];
    put_be32(hdr, prefix);
    raw_write(fd, hdr, sizeof hdr);
    assert_true(run_until(f->w, &srv.closes, 1, 3000));
    assert_int_equal(srv.reasons[0], WEIR_E_FRAME_SIZE);
    assert_int_equal(srv.frames, 0);
    char b;
    assert_true(read(fd, &b, 1) <= 0); /* the server hung up */
    close(fd);
}

static void test_uv_frame_over_limit_closes_connection(void **state)
{
    expect_frame_size_close(*state, 0x7fffffffu, 0);
}

static void test_uv_negative_frame_size_closes_connection(void **state)
{
    expect_frame_size_close(*state, 0x80000000u, 0);
}

static void test_uv_frame_one_over_custom_limit_closes_connection(void **state)
{
    expect_frame_size_close(*state, 1001, 1000);
}

static void test_uv_frame_at_custom_limit_is_delivered(void **state)
{
    fixture *f = *state;
    obs srv = {.frame_max = 1000};
    int port = start_server(f, &srv);
    int fd = raw_connect(port);
    uint8_t buf[1004] = {0};
    put_be32(buf, 1000);
    raw_write(fd, buf, sizeof buf);
    assert_true(run_until(f->w, &srv.frames, 1, 3000));
    assert_int_equal(srv.lens[0], 1000);
    assert_int_equal(srv.closes, 0);
    close(fd);
    assert_true(run_until(f->w, &srv.closes, 1, 3000));
    assert_int_equal(srv.reasons[0], 0);
}

/* Three frames (300 B, 0 B, 5 B) trickle in one byte per loop round. */
static void test_uv_frame_split_across_one_byte_writes_arrives_whole(void **state)
{
    fixture *f = *state;
    obs srv = {.check_pattern = true};
    int port = start_server(f, &srv);
    size_t sizes[] = {300, 0, 5};
    uint8_t wire[400];
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        put_be32(wire + len, (uint32_t)sizes[i]);
        len += 4;
        for (size_t j = 0; j < sizes[i]; j++) {
            wire[len++] = pattern(i, j);
        }
    }
    int fd = raw_connect(port);
    for (size_t k = 0; k < len; k++) {
        raw_write(fd, wire + k, 1);
        assert_int_equal(weir_world_run(f->w, 0), 0);
        if (k + 1 < 304) {
            assert_int_equal(srv.frames, 0);
        }
    }
    assert_true(run_until(f->w, &srv.frames, 3, 3000));
    assert_int_equal(srv.lens[0], 300);
    assert_int_equal(srv.lens[1], 0);
    assert_int_equal(srv.lens[2], 5);
    assert_int_equal(srv.bad_frames, 0);
    close(fd);
}

static void test_uv_garbage_then_hangup_does_not_crash(void **state)
{
    fixture *f = *state;
    obs srv = {0};
    int port = start_server(f, &srv);
    int fd = raw_connect(port);
    uint8_t junk[] = {0, 0, 0, 9, 1, 2}; /* a 9-byte frame cut short */
    raw_write(fd, junk, sizeof junk);
    close(fd);
    assert_true(run_until(f->w, &srv.closes, 1, 3000));
    assert_int_equal(srv.frames, 0);
    assert_int_equal(srv.reasons[0], 0);
}

static void test_uv_peer_close_is_reported_after_queued_frames(void **state)
{
    fixture *f = *state;
    obs srv = {.w = f->w, .check_pattern = true};
    obs cli = {.w = f->w, .close_on_open = true, .send_count = 3, .sizes = {1, 70000, 2}};
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_true(run_until(f->w, &srv.closes, 1, 3000));
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
    assert_int_equal(srv.frames, 3);
    assert_int_equal(srv.lens[1], 70000);
    assert_int_equal(srv.bad_frames, 0);
    assert_int_equal(srv.reasons[0], 0);
    assert_int_equal(cli.reasons[0], 0);
    assert_true(cli.close_returned_before_on_close);
    assert_int_equal(cli.sendv_after_close, WEIR_E_CLOSED);
    assert_int_equal(weir_world_run(f->w, 50 * MS), 0);
    assert_int_equal(cli.closes, 1);
    assert_int_equal(srv.closes, 1);
}

static void test_uv_close_before_open_still_delivers_queued_frames(void **state)
{
    fixture *f = *state;
    obs srv = {.w = f->w, .check_pattern = true};
    obs cli = {.w = f->w, .close_in_start = true, .send_count = 2, .sizes = {3, 4}};
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_true(run_until(f->w, &srv.closes, 1, 3000));
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
    assert_int_equal(srv.frames, 2);
    assert_int_equal(srv.bad_frames, 0);
    assert_int_equal(srv.reasons[0], 0);
    assert_int_equal(cli.reasons[0], 0);
    assert_int_equal(cli.opens, 0); /* closed before it opened: no on_open */
    assert_int_equal(cli.sendv_after_close, WEIR_E_CLOSED);
}

/* The raw peer reads our FIN but never hangs up: the close still completes. */
static void test_uv_close_completes_when_peer_never_hangs_up(void **state)
{
    fixture *f = *state;
    obs srv = {.echo = true, .close_on_frame = true};
    int port = start_server(f, &srv);
    int fd = raw_connect(port);
    uint8_t frame[6] = {0, 0, 0, 2, 'h', 'i'};
    raw_write(fd, frame, sizeof frame);
    assert_true(run_until(f->w, &srv.frames, 1, 3000));
    assert_int_equal(weir_world_run(f->w, 50 * MS), 0);
    uint8_t back[16];
    assert_int_equal(read(fd, back, sizeof back), 6); /* the echo went out first */
    assert_memory_equal(back, frame, 6);
    assert_int_equal(read(fd, back, sizeof back), 0); /* then our FIN */
    assert_int_equal(srv.closes, 0);
    assert_true(run_until(f->w, &srv.closes, 1, 5000));
    assert_int_equal(srv.reasons[0], 0);
    close(fd);
}

static void *closer_start(weir_env *env, void *arg)
{
    node *n = server_start(env, arg);
    weir_listener_close(env, n->l);
    return n;
}

static void test_uv_closed_listener_refuses_connections(void **state)
{
    fixture *f = *state;
    obs srv = {.w = f->w};
    obs cli = {.w = f->w};
    static const weir_node_type closer_type = {"closer", closer_start, node_destroy};
    assert_int_equal(weir_world_node_add(f->w, "srv", &closer_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
    assert_int_equal(cli.reasons[0], WEIR_E_CONNREFUSED);
    assert_int_equal(weir_uv_world_port_of(f->w, "srv:9000"), -1);
    assert_int_equal(srv.opens, 0);
}

static void test_uv_listen_twice_on_same_name_fails(void **state)
{
    fixture *f = *state;
    obs srv = {0};
    start_server(f, &srv);
    weir_listener *l = NULL;
    weir_conn_handlers h = {0};
    assert_int_equal(weir_listen(srv.env, "srv:9000", &h, &l), WEIR_E_ADDRINUSE);
    assert_int_equal(weir_listen(srv.env, "srv", &h, &l), WEIR_E_INVAL);
    weir_conn *c = NULL;
    assert_int_equal(weir_connect(srv.env, "no-such-host:1", &h, &c), WEIR_E_NOENT);
}

static void test_uv_real_address_listen_and_localhost_connect(void **state)
{
    fixture *f = *state;
    int port = free_port();
    char listen_addr[32];
    char connect_addr[32];
    snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%d", port);
    snprintf(connect_addr, sizeof connect_addr, "localhost:%d", port);
    obs srv = {.w = f->w, .addr = listen_addr, .echo = true};
    obs cli = {.w = f->w,
               .addr = connect_addr,
               .check_pattern = true,
               .send_count = 2,
               .sizes = {7, 0},
               .stop_after = 2};
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_int_equal(weir_world_run(f->w, 5000 * MS), 0);
    assert_int_equal(cli.frames, 2);
    assert_int_equal(cli.bad_frames, 0);
    assert_int_equal(cli.lens[0], 7);
    assert_int_equal(cli.lens[1], 0);
    char expected_peer[32];
    snprintf(expected_peer, sizeof expected_peer, "127.0.0.1:%d", port);
    assert_string_equal(cli.peer, expected_peer);
}

/* ---- timers ---- */

typedef struct timer_obs {
    weir_world *w;
    int order[16];
    int count;
    int64_t started_ns;
    int64_t fired_ns[16];
    int64_t delays_ns[16];
} timer_obs;

typedef struct timer_arg {
    timer_obs *t;
    int id;
} timer_arg;

static timer_arg timer_args[8];

static void timer_fired(weir_env *env, void *arg)
{
    timer_arg *a = arg;
    timer_obs *t = a->t;
    t->fired_ns[t->count] = weir_now_ns(env);
    t->order[t->count++] = a->id;
    if (a->id == 1) {
        weir_world_stop(t->w);
    }
}

/* Timers: 1@30ms, 2@10ms, 3@20ms (cancelled), 4@10ms, 5@20ms, 6@0. */
static void *timer_start(weir_env *env, void *arg)
{
    timer_obs *t = arg;
    int64_t delays[] = {30 * MS, 10 * MS, 20 * MS, 10 * MS, 20 * MS, 0};
    weir_timer *handles[6];
    t->started_ns = weir_now_ns(env);
    for (int i = 0; i < 6; i++) {
        timer_args[i] = (timer_arg){t, i + 1};
        t->delays_ns[i + 1] = delays[i];
        handles[i] = weir_timer_start(env, delays[i], timer_fired, &timer_args[i]);
    }
    weir_timer_cancel(env, handles[2]);
    return NULL;
}

static void test_uv_timers_fire_in_deadline_then_start_order(void **state)
{
    fixture *f = *state;
    timer_obs t = {.w = f->w};
    static const weir_node_type type = {"timers", timer_start, NULL};
    assert_int_equal(weir_world_node_add(f->w, "tim", &type, &t), 0);
    assert_int_equal(weir_world_run(f->w, 3000 * MS), 0);
    int expected[] = {6, 2, 4, 5, 1};
    assert_int_equal(t.count, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(t.order[i], expected[i]);
        assert_true(t.fired_ns[i] - t.started_ns >= t.delays_ns[expected[i]]);
    }
    assert_int_equal(weir_world_run(f->w, 50 * MS), 0);
    assert_int_equal(t.count, 5); /* the cancelled one never fires */
}

/* A node that keeps a zero-delay timer busy forever: re-armed from its own
 * callback, it must still let a 1 ms timer fire and a socket be read, and
 * the world's run must end (libuv 1.44 runs a zero-delay timer re-armed in a
 * timer callback again in the same loop pass, which would starve both). */
typedef struct spin_obs {
    weir_world *w;
    weir_env *env;
    uint64_t spins;
    bool tick_fired;
    int frames;
    bool stopped;
} spin_obs;

static void spin_check_done(spin_obs *s)
{
    if (s->tick_fired && s->frames > 0 && !s->stopped) {
        s->stopped = true;
        weir_world_stop(s->w);
    }
}

static void spin_again(weir_env *env, void *arg)
{
    spin_obs *s = arg;
    s->spins++;
    weir_timer_start(env, 0, spin_again, s);
}

static void spin_tick(weir_env *env, void *arg)
{
    (void)env;
    spin_obs *s = arg;
    s->tick_fired = true;
    spin_check_done(s);
}

static void spin_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)conn;
    (void)payload;
    (void)len;
    spin_obs *s = arg;
    s->frames++;
    spin_check_done(s);
}

static void *spin_start(weir_env *env, void *arg)
{
    spin_obs *s = arg;
    s->env = env;
    weir_conn_handlers h = {NULL, spin_frame, NULL, s};
    weir_listener *l = NULL;
    assert_int_equal(weir_listen(env, "spin:9000", &h, &l), 0);
    weir_timer_start(env, 0, spin_again, s);
    weir_timer_start(env, 1 * MS, spin_tick, s);
    return NULL;
}

static void test_uv_zero_delay_timer_rearmed_forever_does_not_starve_io_or_timers(void **state)
{
    fixture *f = *state;
    spin_obs s = {.w = f->w};
    static const weir_node_type type = {"spin", spin_start, NULL};
    assert_int_equal(weir_world_node_add(f->w, "spin", &type, &s), 0);
    alarm(20); /* a starved loop never returns: end the test instead of hanging */
    assert_int_equal(weir_world_run(f->w, 0), 0);
    int port = weir_uv_world_port_of(f->w, "spin:9000");
    assert_true(port > 0);
    int fd = raw_connect(port);
    uint8_t frame[4 + 5];
    put_be32(frame, 5);
    memcpy(frame + 4, "hello", 5);
    raw_write(fd, frame, sizeof frame);
    assert_int_equal(weir_world_run(f->w, 10000 * MS), 0);
    alarm(0);
    close(fd);
    assert_true(s.tick_fired);
    assert_int_equal(s.frames, 1);
    assert_true(s.stopped);   /* stopped by the node, not by the deadline */
    assert_true(s.spins > 0); /* and the spinning timer kept running */
    /* a bounded run also ends while it spins */
    uint64_t before = s.spins;
    assert_int_equal(weir_world_run(f->w, 20 * MS), 0);
    assert_true(s.spins > before);
}

/* ---- HTTP on the loop (uv_http.h) ---- */

typedef struct http_obs {
    int calls;
    char method[16];
    char path[64];
    char query[64];
    char body[64];
    weir_world *w;
    int crash_rc; /* a node cannot crash itself: WEIR_E_INVAL proves the handler ran as "web" */
} http_obs;

static void *http_node_start(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    return NULL;
}

static void http_handle(void *arg, const weir_http_request *req, weir_http_reply *reply)
{
    http_obs *h = arg;
    h->calls++;
    snprintf(h->method, sizeof h->method, "%s", req->method);
    snprintf(h->path, sizeof h->path, "%s", req->path);
    snprintf(h->query, sizeof h->query, "%s", req->query);
    snprintf(h->body, sizeof h->body, "%.*s", (int)req->body_len, req->body);
    h->crash_rc = weir_world_crash(h->w, "web");
    reply->status = 201;
    reply->body = strdup("{\"ok\":true}");
    reply->body_len = strlen(reply->body);
}

/* Sends a whole request on a fresh connection; returns the socket. */
static int http_send(int port, const char *request)
{
    int fd = raw_connect(port);
    raw_write(fd, request, strlen(request));
    return fd;
}

static void http_read(int fd, char *buf, size_t size)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0) {
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
}

static void test_uv_http_requests_are_answered_on_the_loop(void **state)
{
    fixture *f = *state;
    http_obs h = {.w = f->w};
    static const weir_node_type type = {"web", http_node_start, NULL};
    assert_int_equal(weir_world_node_add(f->w, "web", &type, &h), 0);
    char why[128];
    weir_uv_http *srv =
        weir_uv_http_start(f->w, "web", "127.0.0.1", 0, http_handle, &h, why, sizeof why);
    assert_non_null(srv);
    weir_uv_http *ghost =
        weir_uv_http_start(f->w, "nobody", "localhost", 0, http_handle, &h, why, sizeof why);
    assert_non_null(ghost);
    assert_null(weir_uv_http_start(f->w, "web", "10.0.0.300", 0, http_handle, &h, why, sizeof why));
    assert_non_null(strstr(why, "'10.0.0.300' is not an IPv4 address"));
    int port = weir_uv_http_port(srv);
    assert_true(port > 0);
    assert_null(
        weir_uv_http_start(f->w, "web", "127.0.0.1", port, http_handle, &h, why, sizeof why));

    int fd = http_send(port, "PUT /a/b%20c?x=1%262&y HTTP/1.1\r\nHost: t\r\n"
                             "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    int fd2 = http_send(weir_uv_http_port(ghost),
                        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_int_equal(weir_world_run(f->w, 200 * MS), 0);
    char reply[512];
    http_read(fd, reply, sizeof reply);
    assert_non_null(strstr(reply, "HTTP/1.1 201"));
    assert_non_null(strstr(reply, "Content-Type: application/json"));
    assert_non_null(strstr(reply, "\r\n\r\n{\"ok\":true}"));
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.crash_rc, WEIR_E_INVAL);
    assert_string_equal(h.method, "PUT");
    assert_string_equal(h.path, "/a/b c");
    assert_string_equal(h.query, "x=1%262&y");
    assert_string_equal(h.body, "hello");
    http_read(fd2, reply, sizeof reply);
    assert_non_null(strstr(reply, "HTTP/1.1 503"));
    assert_non_null(strstr(reply, "the node is down"));
    assert_int_equal(h.calls, 1);
    weir_uv_http_stop(srv);
    weir_uv_http_stop(ghost);
    assert_int_equal(weir_world_run(f->w, 10 * MS), 0);
}

/* ---- files ---- */

static void *idle_start(weir_env *env, void *arg)
{
    return node_new(env, arg);
}

static const weir_node_type idle_type = {"idle", idle_start, node_destroy};

static void file_basic_io(weir_env *env)
{
    weir_file *fl = NULL;
    assert_int_equal(weir_file_open(env, "a.log", 0, &fl), WEIR_E_NOENT);
    assert_int_equal(weir_file_open(env, "a.log", WEIR_F_CREATE, &fl), 0);
    assert_int_equal(weir_file_append(env, fl, "hello", 5), 0);
    assert_int_equal(weir_file_append(env, fl, " world", 6), 0);
    assert_int_equal(weir_file_pwrite(env, fl, "W", 1, 6), 0);
    char buf[32] = {0};
    size_t got = 0;
    assert_int_equal(weir_file_pread(env, fl, buf, sizeof buf, 0, &got), 0);
    assert_int_equal(got, 11);
    assert_memory_equal(buf, "hello World", 11);
    assert_int_equal(weir_file_pwrite(env, fl, "!", 1, 20), 0); /* hole is zero-filled */
    uint64_t size = 0;
    assert_int_equal(weir_file_size(env, fl, &size), 0);
    assert_int_equal(size, 21);
    assert_int_equal(weir_file_pread(env, fl, buf, 4, 15, &got), 0);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "\0\0\0\0", 4);
    assert_int_equal(weir_file_truncate(env, fl, 5), 0);
    assert_int_equal(weir_file_size(env, fl, &size), 0);
    assert_int_equal(size, 5);
    assert_int_equal(weir_file_append(env, fl, "!", 1), 0);
    assert_int_equal(weir_file_pread(env, fl, buf, sizeof buf, 0, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "hello!", 6);
    assert_int_equal(weir_file_sync(env, fl), 0);
    weir_file_close(env, fl);
    assert_int_equal(weir_file_open(env, "a.log", WEIR_F_CREATE | WEIR_F_EXCL, &fl), WEIR_E_EXIST);
    assert_int_equal(weir_file_open(env, "a.log", WEIR_F_TRUNC, &fl), 0);
    assert_int_equal(weir_file_size(env, fl, &size), 0);
    assert_int_equal(size, 0);
    weir_file_close(env, fl);
}

static void file_names(weir_env *env)
{
    weir_file *fl = NULL;
    assert_int_equal(weir_fs_mkdir(env, "d"), 0);
    assert_int_equal(weir_fs_mkdir(env, "d"), WEIR_E_EXIST);
    assert_int_equal(weir_fs_mkdir(env, "x/y"), WEIR_E_NOENT);
    const char *names[] = {"d/b", "d/a", "d/c10", "d/c2"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(weir_file_open(env, names[i], WEIR_F_CREATE, &fl), 0);
        assert_int_equal(weir_file_append(env, fl, "xyz", (size_t)i), 0);
        weir_file_close(env, fl);
    }
    weir_dirlist list = {0};
    assert_int_equal(weir_fs_list(env, "d", &list), 0);
    assert_int_equal(list.count, 4);
    assert_string_equal(list.names[0], "a");
    assert_string_equal(list.names[1], "b");
    assert_string_equal(list.names[2], "c10");
    assert_string_equal(list.names[3], "c2");
    weir_fs_list_free(&list);
    assert_int_equal(weir_fs_rename(env, "d/c2", "d/a"), 0);
    bool is_dir = true;
    uint64_t size = 0;
    assert_int_equal(weir_fs_stat(env, "d/a", &is_dir, &size), 0);
    assert_false(is_dir);
    assert_int_equal(size, 3);
    assert_int_equal(weir_fs_stat(env, "d", &is_dir, &size), 0);
    assert_true(is_dir);
    assert_int_equal(weir_fs_stat(env, "d/c2", &is_dir, &size), WEIR_E_NOENT);
    assert_int_equal(weir_fs_rmdir(env, "d"), WEIR_E_NOTEMPTY);
    assert_int_equal(weir_fs_unlink(env, "d/zz"), WEIR_E_NOENT);
    assert_int_equal(weir_fs_rename(env, "d/zz", "d/q"), WEIR_E_NOENT);
    assert_int_equal(weir_file_open(env, "d/a/x", WEIR_F_CREATE, &fl), WEIR_E_NOTDIR);
    assert_int_equal(weir_file_open(env, "d", 0, &fl), WEIR_E_ISDIR);
    assert_int_equal(weir_fs_list(env, "", &list), 0);
    assert_int_equal(list.count, 2); /* a.log, d */
    weir_fs_list_free(&list);
    assert_int_equal(weir_fs_list(env, "nope", &list), WEIR_E_NOENT);
    const char *names_left[] = {"d/a", "d/b", "d/c10"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(weir_fs_unlink(env, names_left[i]), 0);
    }
    assert_int_equal(weir_fs_rmdir(env, "d"), 0);
}

static void test_uv_files_read_write_list_and_report_errors(void **state)
{
    fixture *f = *state;
    obs o = {0};
    assert_int_equal(weir_world_node_add(f->w, "fs", &idle_type, &o), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    assert_non_null(o.env);
    file_basic_io(o.env);
    file_names(o.env);
    char path[128];
    snprintf(path, sizeof path, "%s/fs/a.log", f->root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* really under <root>/<node>/ */
}

static void test_uv_invalid_paths_are_rejected(void **state)
{
    fixture *f = *state;
    obs o = {0};
    assert_int_equal(weir_world_node_add(f->w, "fs", &idle_type, &o), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    weir_file *fl = NULL;
    const char *bad[] = {"", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(weir_file_open(o.env, bad[i], WEIR_F_CREATE, &fl), WEIR_E_INVAL);
        assert_int_equal(weir_fs_mkdir(o.env, bad[i]), WEIR_E_INVAL);
    }
    weir_dirlist list = {0};
    assert_int_equal(weir_fs_list(o.env, "..", &list), WEIR_E_INVAL);
}

/* ---- env basics: PRNG seeding, clocks, log lines ---- */

static uint64_t first_random(const char *root, uint64_t seed, const char *name)
{
    weir_world *w = weir_uv_world_new(root, seed);
    assert_non_null(w);
    obs o = {0};
    assert_int_equal(weir_world_node_add(w, name, &idle_type, &o), 0);
    assert_int_equal(weir_world_run(w, 0), 0);
    uint64_t v = weir_random(o.env);
    weir_world_destroy(w);
    return v;
}

static void test_uv_node_prng_depends_on_seed_and_name(void **state)
{
    fixture *f = *state;
    uint64_t a1 = first_random(f->root, 7, "a");
    uint64_t a2 = first_random(f->root, 7, "a");
    uint64_t b = first_random(f->root, 7, "b");
    uint64_t a_other = first_random(f->root, 8, "a");
    uint64_t os1 = first_random(f->root, 0, "a");
    uint64_t os2 = first_random(f->root, 0, "a");
    assert_true(a1 == a2);
    assert_true(a1 != b);
    assert_true(a1 != a_other);
    assert_true(os1 != os2);
}

static void test_uv_clocks_are_monotonic_and_unix_epoch(void **state)
{
    fixture *f = *state;
    obs o = {0};
    assert_int_equal(weir_world_node_add(f->w, "n", &idle_type, &o), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    int64_t t0 = weir_now_ns(o.env);
    usleep(2000);
    int64_t t1 = weir_now_ns(o.env);
    assert_true(t1 - t0 >= 2 * MS);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wall = weir_wall_ms(o.env);
    int64_t os_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true(wall >= os_ms && wall - os_ms < 1000);
    assert_int_equal(o.env->frame_bytes_max, WEIR_FRAME_BYTES_MAX_DEFAULT);
    assert_int_equal(o.env->log_level, WEIR_LOG_INFO);
}

/* Captures what the env writes to stderr while `fn` runs. */
static void capture_stderr(void (*fn)(weir_env *), weir_env *env, char *out, size_t size)
{
    char path[] = "/tmp/weir_uv_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn(env);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    ssize_t n = pread(fd, out, size - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static void log_some(weir_env *env)
{
    weir_log_debug(env, "hidden %d", 1);
    weir_log_warn(env, "hello %d", 5);
}

static void test_uv_log_line_has_time_level_and_node(void **state)
{
    fixture *f = *state;
    obs o = {0};
    assert_int_equal(weir_world_node_add(f->w, "logger", &idle_type, &o), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    char text[512];
    capture_stderr(log_some, o.env, text, sizeof text);
    /* e.g. "2024-05-01T12:00:00.123Z WARN  logger: hello 5\n" */
    assert_int_equal(strlen(text), 47);
    assert_true(text[4] == '-' && text[10] == 'T' && text[19] == '.' && text[23] == 'Z');
    assert_non_null(strstr(text, " WARN "));
    assert_non_null(strstr(text, "logger: hello 5\n"));
    assert_null(strstr(text, "hidden"));
}

/* ---- crash and restart ---- */

static void *persistent_start(weir_env *env, void *arg)
{
    node *n = server_start(env, arg);
    weir_file *fl = NULL;
    assert_int_equal(weir_file_open(env, "inc", WEIR_F_CREATE, &fl), 0);
    uint64_t size = 0;
    assert_int_equal(weir_file_size(env, fl, &size), 0);
    assert_int_equal(weir_file_append(env, fl, "x", 1), 0);
    n->incarnation = (int)size + 1; /* the file is left open: the crash closes it */
    n->o->incarnation = n->incarnation;
    return n;
}

static void test_uv_crash_resets_peers_and_restart_keeps_files(void **state)
{
    fixture *f = *state;
    static const weir_node_type ptype = {"persistent", persistent_start, node_destroy};
    obs srv = {.w = f->w};
    obs cli = {.w = f->w};
    assert_int_equal(weir_world_node_add(f->w, "srv", &ptype, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_true(run_until(f->w, &srv.opens, 1, 3000));
    assert_true(run_until(f->w, &cli.opens, 1, 3000));
    node *before = weir_world_node_state(f->w, "srv");
    assert_non_null(before);
    assert_int_equal(before->incarnation, 1);
    assert_int_equal(weir_world_crash(f->w, "srv"), 0);
    assert_null(weir_world_node_state(f->w, "srv"));
    assert_int_equal(srv.destroys, 1);
    assert_int_equal(weir_world_crash(f->w, "srv"), WEIR_E_INVAL);
    assert_int_equal(weir_world_crash(f->w, "nobody"), WEIR_E_NOENT);
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
    assert_true(cli.reasons[0] == WEIR_E_CONNRESET || cli.reasons[0] == 0);
    assert_int_equal(srv.closes, 0); /* a crashed node hears nothing */
    assert_int_equal(weir_uv_world_port_of(f->w, "srv:9000"), -1);
    assert_int_equal(weir_world_restart(f->w, "srv"), 0);
    assert_int_equal(weir_world_run(f->w, 0), 0);
    node *after = weir_world_node_state(f->w, "srv");
    assert_non_null(after);
    assert_int_equal(srv.starts, 2);
    assert_int_equal(srv.incarnation, 2); /* it found its file */
    assert_true(weir_uv_world_port_of(f->w, "srv:9000") > 0);
}

typedef struct crasher {
    weir_world *w;
    int self_result;
    int other_result;
    int done;
} crasher;

static void crasher_tick(weir_env *env, void *arg)
{
    (void)env;
    crasher *c = arg;
    c->self_result = weir_world_crash(c->w, "crasher");
    c->other_result = weir_world_crash(c->w, "srv");
    c->done = 1;
}

static void *crasher_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 10 * MS, crasher_tick, arg);
    return NULL;
}

static void test_uv_node_crashes_another_from_a_callback(void **state)
{
    fixture *f = *state;
    static const weir_node_type ctype = {"crasher", crasher_start, NULL};
    obs srv = {.w = f->w};
    obs cli = {.w = f->w};
    crasher c = {.w = f->w};
    assert_int_equal(weir_world_node_add(f->w, "srv", &server_type, &srv), 0);
    assert_int_equal(weir_world_node_add(f->w, "cli", &client_type, &cli), 0);
    assert_int_equal(weir_world_node_add(f->w, "crasher", &ctype, &c), 0);
    assert_true(run_until(f->w, &c.done, 1, 3000));
    assert_int_equal(c.self_result, WEIR_E_INVAL);
    assert_int_equal(c.other_result, 0);
    assert_int_equal(srv.destroys, 1);
    assert_true(run_until(f->w, &cli.closes, 1, 3000));
}

static void test_uv_node_names_are_checked(void **state)
{
    fixture *f = *state;
    obs o = {0};
    assert_int_equal(weir_world_node_add(f->w, "a", &idle_type, &o), 0);
    assert_int_equal(weir_world_node_add(f->w, "a", &idle_type, &o), WEIR_E_EXIST);
    assert_int_equal(weir_world_node_add(f->w, "a/b", &idle_type, &o), WEIR_E_INVAL);
    assert_int_equal(weir_world_node_add(f->w, "a:1", &idle_type, &o), WEIR_E_INVAL);
    assert_int_equal(weir_world_node_add(f->w, "..", &idle_type, &o), WEIR_E_INVAL);
    assert_int_equal(weir_world_node_add(f->w, "", &idle_type, &o), WEIR_E_INVAL);
    assert_null(weir_world_node_state(f->w, "a")); /* not started before run */
    assert_int_equal(weir_world_run(f->w, 0), 0);
    assert_non_null(weir_world_node_state(f->w, "a"));
    assert_int_equal(o.starts, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_uv_frames_of_many_sizes_arrive_whole_and_in_order),
        T(test_uv_frames_sent_before_open_are_delivered),
        T(test_uv_connect_to_closed_port_is_refused),
        T(test_uv_frame_over_limit_closes_connection),
        T(test_uv_negative_frame_size_closes_connection),
        T(test_uv_frame_one_over_custom_limit_closes_connection),
        T(test_uv_frame_at_custom_limit_is_delivered),
        T(test_uv_frame_split_across_one_byte_writes_arrives_whole),
        T(test_uv_garbage_then_hangup_does_not_crash),
        T(test_uv_peer_close_is_reported_after_queued_frames),
        T(test_uv_close_before_open_still_delivers_queued_frames),
        T(test_uv_close_completes_when_peer_never_hangs_up),
        T(test_uv_closed_listener_refuses_connections),
        T(test_uv_listen_twice_on_same_name_fails),
        T(test_uv_real_address_listen_and_localhost_connect),
        T(test_uv_timers_fire_in_deadline_then_start_order),
        T(test_uv_zero_delay_timer_rearmed_forever_does_not_starve_io_or_timers),
        T(test_uv_http_requests_are_answered_on_the_loop),
        T(test_uv_files_read_write_list_and_report_errors),
        T(test_uv_invalid_paths_are_rejected),
        T(test_uv_node_prng_depends_on_seed_and_name),
        T(test_uv_clocks_are_monotonic_and_unix_epoch),
        T(test_uv_log_line_has_time_level_and_node),
        T(test_uv_crash_resets_peers_and_restart_keeps_files),
        T(test_uv_node_crashes_another_from_a_callback),
        T(test_uv_node_names_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
