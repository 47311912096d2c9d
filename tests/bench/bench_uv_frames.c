/* Benchmark: frame throughput of the real env over loopback TCP, against a
 * plain blocking-socket sender and receiver doing the same framing.
 *
 * Each case runs twice, each time as two processes (fork): a receiver that
 * listens on a free 127.0.0.1 port and checks every frame (size, sequence
 * number at both ends of the payload), and a sender. The weir pair are nodes
 * in their own weir_uv_world; the receiver acks every ~256 KiB and the sender
 * keeps at most a window of bytes unacked (the env has no other back
 * pressure). The plain sender writes through a 64 KiB user-space buffer; the
 * plain receiver read()s into a buffer and parses the int32 sizes. Time is
 * the receiver's, from accepting the connection to the last frame.
 *
 *   bench_uv_frames [frames_100B [frames_64KiB]]   (defaults 20000000 and 40000,
 *                                                  about a second each here)
 *
 * Prints one line per case; exits 1 if any receiver missed or misread a frame.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env/env.h"
#include "env/uv_world.h"
#include "env/world.h"

#define BENCH_WINDOW_BYTES (8u * 1024u * 1024u)
#define BENCH_ACK_BYTES (256u * 1024u)
#define BENCH_PLAIN_WBUF (64u * 1024u)
#define BENCH_RBUF (256u * 1024u)
#define BENCH_TAIL_XOR 0x5a5aa5a5c3c33c3cULL
#define BENCH_TIMEOUT_S 300

typedef struct bench_cfg {
    int port;
    size_t size;
    uint64_t count;
} bench_cfg;

typedef struct bench_result {
    int64_t elapsed_ns;
    uint64_t frames;
    int ok;
} bench_result;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- payloads: sequence number first, its mirror last ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint8_t *payload_template(size_t size)
{
    uint8_t *p = malloc(size + 16);
    if (p == NULL) {
        exit(2);
    }
    for (size_t i = 0; i < size + 16; i++) {
        p[i] = (uint8_t)(i * 13 + 7);
    }
    return p;
}

static void payload_stamp(uint8_t *p, size_t size, uint64_t seq)
{
    if (size >= 8) {
        put_u64(p, seq);
    }
    if (size >= 16) {
        put_u64(p + size - 8, seq ^ BENCH_TAIL_XOR);
    }
}

static bool payload_ok(const uint8_t *p, size_t len, size_t size, uint64_t seq)
{
    if (len != size) {
        return false;
    }
    if (size >= 8 && get_u64(p) != seq) {
        return false;
    }
    return size < 16 || get_u64(p + size - 8) == (seq ^ BENCH_TAIL_XOR);
}

/* ---- weir receiver ---- */

typedef struct wrx {
    const bench_cfg *cfg;
    weir_world *w;
    int64_t t0, t1;
    uint64_t got;
    size_t unacked;
    bool bad;
} wrx;

static void wrx_send_ack(weir_conn *conn, wrx *r)
{
    uint8_t ack[8];
    put_u64(ack, r->got);
    if (weir_conn_send(conn, ack, sizeof ack) != 0) {
        r->bad = true;
    }
    r->unacked = 0;
}

static void wrx_open(weir_conn *conn, void *arg)
{
    wrx *r = arg;
    r->t0 = weir_now_ns(conn->env);
}

static void wrx_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    wrx *r = arg;
    if (r->bad || !payload_ok(payload, len, r->cfg->size, r->got)) {
        r->bad = true;
        weir_conn_close(conn);
        return;
    }
    r->got++;
    r->unacked += len + 4;
    if (r->got == r->cfg->count) {
        r->t1 = weir_now_ns(conn->env);
        wrx_send_ack(conn, r);
    } else if (r->unacked >= BENCH_ACK_BYTES) {
        wrx_send_ack(conn, r);
    }
}

static void wrx_close(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    (void)reason;
    wrx *r = arg;
    weir_world_stop(r->w);
}

static void *wrx_start(weir_env *env, void *arg)
{
    wrx *r = arg;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", r->cfg->port);
    weir_conn_handlers h = {wrx_open, wrx_frame, wrx_close, r};
    weir_listener *l = NULL;
    if (weir_listen(env, addr, &h, &l) != 0) {
        fprintf(stderr, "bench: weir receiver cannot listen on %s\n", addr);
        exit(2);
    }
    return NULL;
}

/* ---- weir sender ---- */

typedef struct wtx {
    const bench_cfg *cfg;
    weir_world *w;
    weir_conn *conn;
    uint8_t *payload;
    uint64_t sent;
    uint64_t acked;
    bool bad;
} wtx;

static void wtx_pump(wtx *s)
{
    size_t frame = s->cfg->size + 4;
    while (s->sent < s->cfg->count && (s->sent - s->acked) * frame < BENCH_WINDOW_BYTES) {
        payload_stamp(s->payload, s->cfg->size, s->sent);
        weir_iov iov = {s->payload, s->cfg->size};
        if (weir_conn_sendv(s->conn, &iov, 1) != 0) {
            s->bad = true;
            return;
        }
        s->sent++;
    }
}

static void wtx_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    wtx *s = arg;
    if (len != 8) {
        s->bad = true;
        weir_conn_close(conn);
        return;
    }
    s->acked = get_u64(payload);
    if (s->acked >= s->cfg->count) {
        weir_conn_close(conn);
        return;
    }
    wtx_pump(s);
}

static void wtx_close(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    wtx *s = arg;
    if (reason != 0 || s->acked != s->cfg->count) {
        s->bad = true;
    }
    weir_world_stop(s->w);
}

static void *wtx_start(weir_env *env, void *arg)
{
    wtx *s = arg;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", s->cfg->port);
    weir_conn_handlers h = {NULL, wtx_frame, wtx_close, s};
    if (weir_connect(env, addr, &h, &s->conn) != 0) {
        fprintf(stderr, "bench: weir sender cannot connect to %s\n", addr);
        exit(2);
    }
    wtx_pump(s); /* queued until the connection opens */
    return NULL;
}

/* ---- weir processes ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static weir_world *bench_world(char *root, size_t root_size)
{
    snprintf(root, root_size, "/tmp/weir_bench_XXXXXX");
    if (mkdtemp(root) == NULL) {
        exit(2);
    }
    weir_world *w = weir_uv_world_new(root, 1);
    if (w == NULL) {
        exit(2);
    }
    return w;
}

static void bench_world_done(weir_world *w, const char *root)
{
    weir_world_destroy(w);
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static bench_result weir_receive(const bench_cfg *cfg, int ready_fd)
{
    char root[64];
    weir_world *w = bench_world(root, sizeof root);
    wrx r = {.cfg = cfg, .w = w};
    static const weir_node_type type = {"bench-rx", wrx_start, NULL};
    if (weir_world_node_add(w, "rx", &type, &r) != 0 || weir_world_run(w, 0) != 0) {
        exit(2);
    }
    if (write(ready_fd, "r", 1) != 1) {
        exit(2);
    }
    weir_world_run(w, (int64_t)BENCH_TIMEOUT_S * 1000000000LL);
    bench_world_done(w, root);
    bench_result res = {r.t1 - r.t0, r.got, !r.bad && r.got == cfg->count};
    return res;
}

static int weir_send(const bench_cfg *cfg)
{
    char root[64];
    weir_world *w = bench_world(root, sizeof root);
    wtx s = {.cfg = cfg, .w = w, .payload = payload_template(cfg->size)};
    static const weir_node_type type = {"bench-tx", wtx_start, NULL};
    if (weir_world_node_add(w, "tx", &type, &s) != 0) {
        exit(2);
    }
    weir_world_run(w, (int64_t)BENCH_TIMEOUT_S * 1000000000LL);
    bench_world_done(w, root);
    free(s.payload);
    return s.bad || s.acked != cfg->count;
}

/* ---- plain sockets ---- */

static void write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            perror("bench: plain write");
            exit(1);
        }
        p += n;
        len -= (size_t)n;
    }
}

/* A 64 KiB user-space buffer in front of write(2). */
typedef struct bwriter {
    int fd;
    uint8_t buf[BENCH_PLAIN_WBUF];
    size_t len;
} bwriter;

static void bw_put(bwriter *b, const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t n = sizeof b->buf - b->len < len ? sizeof b->buf - b->len : len;
        memcpy(b->buf + b->len, p, n);
        b->len += n;
        p += n;
        len -= n;
        if (b->len == sizeof b->buf) {
            write_all(b->fd, b->buf, b->len);
            b->len = 0;
        }
    }
}

static int loopback_socket(struct sockaddr_in *sa, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        exit(2);
    }
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    return fd;
}

static int plain_send(const bench_cfg *cfg)
{
    struct sockaddr_in sa;
    int fd = loopback_socket(&sa, cfg->port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("bench: plain connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bwriter *b = calloc(1, sizeof *b);
    uint8_t *payload = payload_template(cfg->size);
    b->fd = fd;
    for (uint64_t seq = 0; seq < cfg->count; seq++) {
        uint8_t hdr[4];
        uint32_t size = htonl((uint32_t)cfg->size);
        memcpy(hdr, &size, 4);
        payload_stamp(payload, cfg->size, seq);
        bw_put(b, hdr, 4);
        bw_put(b, payload, cfg->size);
    }
    write_all(fd, b->buf, b->len);
    shutdown(fd, SHUT_WR);
    char c;
    while (read(fd, &c, 1) > 0) { /* wait for the receiver to hang up */
    }
    close(fd);
    free(b);
    free(payload);
    return 0;
}

/* Parses whole frames at the start of buf; returns bytes used, or -1 on a bad frame. */
static ssize_t plain_parse(const uint8_t *buf, size_t len, const bench_cfg *cfg, uint64_t *got)
{
    size_t pos = 0;
    while (len - pos >= 4) {
        uint32_t size;
        memcpy(&size, buf + pos, 4);
        size = ntohl(size);
        if (size != cfg->size) {
            return -1;
        }
        if (len - pos - 4 < size) {
            break;
        }
        if (!payload_ok(buf + pos + 4, size, cfg->size, *got)) {
            return -1;
        }
        (*got)++;
        pos += 4 + size;
    }
    return (ssize_t)pos;
}

static bench_result plain_receive(const bench_cfg *cfg, int ready_fd)
{
    struct sockaddr_in sa;
    int lfd = loopback_socket(&sa, cfg->port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0 ||
        write(ready_fd, "r", 1) != 1) {
        exit(2);
    }
    int fd = accept(lfd, NULL, NULL);
    bench_result res = {0, 0, 0};
    int64_t t0 = mono_ns();
    uint8_t *buf = malloc(BENCH_RBUF);
    size_t len = 0;
    while (fd >= 0 && res.frames < cfg->count) {
        ssize_t n = read(fd, buf + len, BENCH_RBUF - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        ssize_t used = plain_parse(buf, len, cfg, &res.frames);
        if (used < 0) {
            break;
        }
        memmove(buf, buf + used, len - (size_t)used);
        len -= (size_t)used;
    }
    res.elapsed_ns = mono_ns() - t0;
    res.ok = res.frames == cfg->count && len == 0;
    free(buf);
    close(fd);
    close(lfd);
    return res;
}

/* ---- driver ---- */

static int free_port(void)
{
    struct sockaddr_in sa;
    int fd = loopback_socket(&sa, 0);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        exit(2);
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static bool wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs one receiver and one sender process; false if anything went wrong. */
static bool run_pair(bool weir, bench_cfg cfg, bench_result *res)
{
    cfg.port = free_port();
    int ready[2], result[2];
    if (pipe(ready) != 0 || pipe(result) != 0) {
        return false;
    }
    fflush(NULL);
    pid_t rx = fork();
    if (rx == 0) {
        alarm(BENCH_TIMEOUT_S);
        bench_result r = weir ? weir_receive(&cfg, ready[1]) : plain_receive(&cfg, ready[1]);
        _exit(write(result[1], &r, sizeof r) == (ssize_t)sizeof r && r.ok ? 0 : 1);
    }
    char c;
    if (rx < 0 || read(ready[0], &c, 1) != 1) {
        return false;
    }
    pid_t tx = fork();
    if (tx == 0) {
        alarm(BENCH_TIMEOUT_S);
        _exit(weir ? weir_send(&cfg) : plain_send(&cfg));
    }
    bool ok = tx > 0 && read(result[0], res, sizeof *res) == (ssize_t)sizeof *res;
    ok = wait_child(rx) && ok;
    ok = tx > 0 && wait_child(tx) && ok;
    close(ready[0]);
    close(ready[1]);
    close(result[0]);
    close(result[1]);
    return ok && res->ok;
}

static bool run_case(size_t size, uint64_t count)
{
    bench_cfg cfg = {0, size, count};
    bench_result wr = {0}, pr = {0};
    bool ok_w = run_pair(true, cfg, &wr);
    bool ok_p = run_pair(false, cfg, &pr);
    double ws = (double)wr.elapsed_ns / 1e9, ps = (double)pr.elapsed_ns / 1e9;
    double wfps = ws > 0 ? (double)count / ws : 0, pfps = ps > 0 ? (double)count / ps : 0;
    printf("uv_frames size=%zuB frames=%llu weir=%.2f Mfps %.1f MB/s plain=%.2f Mfps %.1f MB/s "
           "ratio=%.2f\n",
           size, (unsigned long long)count, wfps / 1e6, wfps * (double)size / 1e6, pfps / 1e6,
           pfps * (double)size / 1e6, pfps > 0 ? wfps / pfps : 0);
    if (!ok_w || !ok_p) {
        fprintf(stderr, "bench: size=%zu FAILED: weir got %llu/%llu (%s), plain got %llu (%s)\n",
                size, (unsigned long long)wr.frames, (unsigned long long)count, ok_w ? "ok" : "bad",
                (unsigned long long)pr.frames, ok_p ? "ok" : "bad");
    }
    fflush(stdout);
    return ok_w && ok_p;
}

static uint64_t arg_count(int argc, char **argv, int i, uint64_t def)
{
    if (argc <= i) {
        return def;
    }
    char *end = NULL;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || v == 0) {
        fprintf(stderr, "usage: %s [frames_100B [frames_64KiB]]\n", argv[0]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    uint64_t small = arg_count(argc, argv, 1, 20000000);
    uint64_t large = arg_count(argc, argv, 2, 40000);
    bool ok = run_case(100, small);
    ok = run_case(64 * 1024, large) && ok;
    return ok ? 0 : 1;
}
