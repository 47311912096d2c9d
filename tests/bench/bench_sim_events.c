/* Sim backend throughput: delivered events per wall-clock second.
 *
 *   bench_sim_events [round_trips] [all_to_all_sim_seconds]
 *
 * 1. ping-pong: two weir nodes bounce a 100-byte frame; beside it, in the
 *    same run, the same ping-pong written directly on SimGrid mailboxes (no
 *    weir env), so the ratio shows what weir's layer costs.
 * 2. all-to-all: ten weir nodes, each sends a 100-byte frame to each of the
 *    other nine every millisecond of simulated time.
 * Each case runs in its own child process (SimGrid sets up once per process).
 */
#include <simgrid/actor.h>
#include <simgrid/comm.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/mailbox.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

typedef struct bench_result {
    double seconds;
    uint64_t events;
    uint64_t round_trips;
} bench_result;

static double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- weir ping-pong ---- */

typedef struct pp_ctx {
    weir_world *world;
    uint64_t round_trips;
    uint64_t target;
} pp_ctx;

static void pp_server_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    (void)arg;
    if (weir_conn_send(conn, p, len) != 0) {
        abort();
    }
}

static void *pp_server_start(weir_env *env, void *arg)
{
    weir_conn_handlers h = {.on_frame = pp_server_frame, .arg = arg};
    weir_listener *l;
    if (weir_listen(env, "pong:9000", &h, &l) != 0) {
        abort();
    }
    return arg;
}

static void pp_client_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    pp_ctx *c = arg;
    if (++c->round_trips == c->target) {
        weir_world_stop(c->world);
        return;
    }
    if (weir_conn_send(conn, p, len) != 0) {
        abort();
    }
}

static void *pp_client_start(weir_env *env, void *arg)
{
    static uint8_t frame[100];
    weir_conn_handlers h = {.on_frame = pp_client_frame, .arg = arg};
    weir_conn *conn;
    if (weir_connect(env, "pong:9000", &h, &conn) != 0 || weir_conn_send(conn, frame, 100) != 0) {
        abort();
    }
    return arg;
}

static const weir_node_type pp_server = {.name = "pong", .start = pp_server_start};
static const weir_node_type pp_client = {.name = "ping", .start = pp_client_start};

static void bench_weir_pingpong(uint64_t round_trips, bench_result *r)
{
    static pp_ctx ctx;
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, 1);
    weir_world *w = weir_sim_world_new(&cfg);
    ctx.world = w;
    ctx.target = round_trips;
    weir_world_node_add(w, "pong", &pp_server, &ctx);
    weir_world_node_add(w, "ping", &pp_client, &ctx);
    double t0 = bench_now_s();
    weir_world_run(w, 1000000LL * 1000000000LL);
    r->seconds = bench_now_s() - t0;
    r->events = weir_sim_event_count(w);
    r->round_trips = ctx.round_trips;
}

/* ---- raw SimGrid ping-pong: the baseline ---- */

static uint64_t raw_target;
static uint64_t raw_round_trips;

static void raw_pong(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sg_mailbox_t in = sg_mailbox_by_name("pong");
    sg_mailbox_t out = sg_mailbox_by_name("ping");
    for (;;) {
        void *msg = sg_mailbox_get(in);
        sg_mailbox_put(out, msg, 104);
    }
}

static void raw_ping(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static char frame[100];
    sg_mailbox_t in = sg_mailbox_by_name("ping");
    sg_mailbox_t out = sg_mailbox_by_name("pong");
    for (raw_round_trips = 0; raw_round_trips < raw_target; raw_round_trips++) {
        sg_mailbox_put(out, frame, 104);
        (void)sg_mailbox_get(in);
    }
    sg_actor_kill_all();
}

static void bench_raw_pingpong(uint64_t round_trips, bench_result *r)
{
    char a0[] = "bench", a1[] = "--log=root.thresh:critical", a2[] = "--cfg=network/model:CM02";
    char *argv[] = {a0, a1, a2, NULL};
    int argc = 3;
    simgrid_init(&argc, argv);
    char path[] = "/tmp/weir-bench-platform-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
               "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">\n"
               "<host id=\"ping\" speed=\"1Gf\"/><host id=\"pong\" speed=\"1Gf\"/>\n"
               "<link id=\"a\" bandwidth=\"125MBps\" latency=\"50us\"/>"
               "<link id=\"b\" bandwidth=\"125MBps\" latency=\"50us\"/>\n"
               "<route src=\"ping\" dst=\"pong\"><link_ctn id=\"a\"/><link_ctn id=\"b\"/></route>\n"
               "</zone></platform>\n");
    fclose(f);
    simgrid_load_platform(path);
    unlink(path);
    raw_target = round_trips;
    sg_actor_t pong = sg_actor_create("pong", sg_host_by_name("pong"), raw_pong, 0, NULL);
    sg_actor_daemonize(pong);
    sg_actor_create("ping", sg_host_by_name("ping"), raw_ping, 0, NULL);
    double t0 = bench_now_s();
    simgrid_run();
    r->seconds = bench_now_s() - t0;
    r->events = raw_round_trips * 2; /* one delivery each way */
    r->round_trips = raw_round_trips;
}

/* ---- weir all-to-all ---- */

#define A2A_NODES 10

typedef struct a2a_node {
    weir_conn *out[A2A_NODES];
    int index;
} a2a_node;

static void a2a_tick(weir_env *env, void *arg)
{
    static uint8_t frame[100];
    a2a_node *n = arg;
    for (int i = 0; i < A2A_NODES; i++) {
        if (n->out[i] != NULL && weir_conn_send(n->out[i], frame, sizeof frame) != 0) {
            abort();
        }
    }
    weir_timer_start(env, 1000000, a2a_tick, n);
}

static void *a2a_start(weir_env *env, void *arg)
{
    a2a_node *n = calloc(1, sizeof *n);
    n->index = (int)(intptr_t)arg;
    weir_conn_handlers h = {0};
    weir_listener *l;
    char addr[32];
    snprintf(addr, sizeof addr, "n%d:9000", n->index);
    if (weir_listen(env, addr, &h, &l) != 0) {
        abort();
    }
    for (int i = 0; i < A2A_NODES; i++) {
        snprintf(addr, sizeof addr, "n%d:9000", i);
        if (i != n->index && weir_connect(env, addr, &h, &n->out[i]) != 0) {
            abort();
        }
    }
    weir_timer_start(env, 1000000, a2a_tick, n);
    return n;
}

static void a2a_destroy(void *state)
{
    free(state);
}

static const weir_node_type a2a_type = {.name = "a2a", .start = a2a_start, .destroy = a2a_destroy};

static void bench_weir_all_to_all(int64_t sim_ns, bench_result *r)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, 1);
    weir_world *w = weir_sim_world_new(&cfg);
    for (int i = 0; i < A2A_NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        weir_world_node_add(w, name, &a2a_type, (void *)(intptr_t)i);
    }
    double t0 = bench_now_s();
    weir_world_run(w, sim_ns);
    r->seconds = bench_now_s() - t0;
    r->events = weir_sim_event_count(w);
}

/* ---- driver ---- */

typedef enum { CASE_WEIR_PP, CASE_RAW_PP, CASE_A2A } bench_case;

static bench_result bench_forked(bench_case which, uint64_t n)
{
    int fds[2];
    if (pipe(fds) != 0) {
        abort();
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        bench_result r = {0};
        if (which == CASE_WEIR_PP) {
            bench_weir_pingpong(n, &r);
        } else if (which == CASE_RAW_PP) {
            bench_raw_pingpong(n, &r);
        } else {
            bench_weir_all_to_all((int64_t)n * 1000000000LL, &r);
        }
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    bench_result r = {0};
    if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r) {
        fprintf(stderr, "bench child failed\n");
        exit(1);
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return r;
}

int main(int argc, char **argv)
{
    uint64_t round_trips = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    uint64_t a2a_seconds = argc > 2 ? strtoull(argv[2], NULL, 10) : 2;
    bench_result weir = bench_forked(CASE_WEIR_PP, round_trips);
    bench_result raw = bench_forked(CASE_RAW_PP, round_trips);
    if (weir.round_trips != round_trips || raw.round_trips != round_trips) {
        fprintf(stderr, "ping-pong did not complete: weir %llu raw %llu of %llu\n",
                (unsigned long long)weir.round_trips, (unsigned long long)raw.round_trips,
                (unsigned long long)round_trips);
        return 1;
    }
    double weir_rt = (double)weir.round_trips / weir.seconds;
    double raw_rt = (double)raw.round_trips / raw.seconds;
    printf("sim_pingpong round_trips=%llu weir=%.0f events/s (%.0f round trips/s) "
           "raw_simgrid=%.0f round trips/s ratio=%.2f\n",
           (unsigned long long)round_trips, (double)weir.events / weir.seconds, weir_rt, raw_rt,
           weir_rt / raw_rt);
    bench_result a2a = bench_forked(CASE_A2A, a2a_seconds);
    printf("sim_all_to_all nodes=%d sim_seconds=%llu events=%llu wall=%.2fs weir=%.0f events/s\n",
           A2A_NODES, (unsigned long long)a2a_seconds, (unsigned long long)a2a.events, a2a.seconds,
           (double)a2a.events / a2a.seconds);
    return 0;
}
