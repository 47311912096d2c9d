/* The TCP fault proxy of `weir chaos --real`: one libuv loop on a thread of
 * its own, relaying bytes between loopback listeners and their targets.
 *
 * A route is a listener (127.0.0.1, a free port) whose connections are each
 * relayed to one target port; a group (one broker) holds the routes whose
 * faults go together. Per group: pass, delay (every chunk read is held until
 * its due time, never before the previous chunk's, so order is kept) or
 * blackhole (nothing read or written either way; the sockets stay open, so
 * the kernel's buffers fill and TCP's own flow control stalls the peers).
 * A reset closes both sockets of every connection with RST
 * (uv_tcp_close_reset); this code never calls uv_shutdown, which libuv does
 * not allow to mix with it.
 *
 * A pair (one relayed connection) ends when either side ends: after an
 * orderly close (EOF) once what it sent is written on, with RST at once
 * after a reset or an error, so each peer sees what it would have seen
 * without the proxy. Relaying is bounded: a side is not read while more than
 * PX_BUFFERED_MAX bytes from it wait to be written.
 *
 * Threads: the driver calls weir_real_proxy_* from its thread; each call
 * hands one command to the loop (uv_async_send) and waits until the loop has
 * carried it out. Everything else runs on the loop's thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/assert.h"
#include "real.h"

#define PX_ROUTES_MAX 128
#define PX_READ_BYTES 65536
#define PX_BUFFERED_MAX (4u << 20) /* per direction: bytes read, not yet written */
#define PX_COMMAND_WAIT_S 10

typedef struct px_pair px_pair;
typedef struct px_route px_route;

/* Bytes read from one side, to be written to the other. */
typedef struct px_chunk {
    uv_write_t req;
    px_pair *pair;
    int dir;
    int64_t due_ns;
    struct px_chunk *next;
    size_t len;
    uint8_t data[];
} px_chunk;

struct px_pair {
    px_route *route;
    uv_tcp_t tcp[2]; /* 0: the accepted side; 1: the target */
    uv_connect_t creq;
    uv_timer_t timer[2];         /* timer[d]: releases delayed chunks read from side d */
    px_chunk *head[2], *tail[2]; /* read from side d, waiting for their due time */
    size_t queued_bytes[2];      /* in head[d]... */
    size_t writing_bytes[2];     /* handed to uv_write toward side 1 - d */
    int64_t last_due_ns[2];
    bool connected; /* the target side is connected */
    bool reading[2];
    bool eof[2];
    bool closing;
    int handles; /* open libuv handles; the pair is freed when it reaches 0 */
    px_pair *prev, *next;
};

struct px_route {
    weir_real_proxy *px;
    int group;
    int target_port;
    int listen_port;
    uv_tcp_t listener;
    px_pair *pairs;
    uint64_t bytes;
};

typedef enum px_op { PX_OP_ROUTE, PX_OP_SET, PX_OP_RESET, PX_OP_BYTES, PX_OP_STOP } px_op;

struct weir_real_proxy {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct {
        bool pending, done;
        px_op op;
        int group, target_port, mode;
        int64_t delay_ns;
        int result, port, count;
        uint64_t bytes;
    } cmd;
    px_route *routes[PX_ROUTES_MAX];
    int route_count;
    struct {
        weir_real_link_mode mode;
        int64_t delay_ns;
    } groups[WEIR_REAL_GROUPS_MAX];
    uint8_t readbuf[PX_READ_BYTES]; /* every read lands here first; read_cb copies it out */
};

static int64_t px_now_ns(void)
{
    return (int64_t)uv_hrtime();
}

static weir_real_link_mode px_mode(const px_pair *pr)
{
    return pr->route->px->groups[pr->route->group].mode;
}

/* ---- pair lifetime ---- */

static void px_pair_handle_closed(uv_handle_t *h)
{
    px_pair *pr = h->data;
    if (--pr->handles > 0) {
        return;
    }
    px_route *rt = pr->route;
    if (pr->prev != NULL) {
        pr->prev->next = pr->next;
    } else {
        rt->pairs = pr->next;
    }
    if (pr->next != NULL) {
        pr->next->prev = pr->prev;
    }
    WEIR_ASSERT(pr->writing_bytes[0] == 0 && pr->writing_bytes[1] == 0);
    free(pr);
}

static void px_close_tcp(px_pair *pr, int side, bool reset)
{
    uv_handle_t *h = (uv_handle_t *)&pr->tcp[side];
    if (uv_is_closing(h)) {
        return;
    }
    bool open = side == 0 || pr->connected;
    if (reset && open && uv_tcp_close_reset(&pr->tcp[side], px_pair_handle_closed) == 0) {
        return;
    }
    uv_close(h, px_pair_handle_closed);
}

/* Ends the pair: queued chunks are dropped; writes in flight come back with
 * UV_ECANCELED before the handles' close callbacks. */
static void px_pair_close(px_pair *pr, bool reset)
{
    if (pr->closing) {
        return;
    }
    pr->closing = true;
    for (int d = 0; d < 2; d++) {
        if (pr->reading[d]) {
            uv_read_stop((uv_stream_t *)&pr->tcp[d]);
            pr->reading[d] = false;
        }
        while (pr->head[d] != NULL) {
            px_chunk *c = pr->head[d];
            pr->head[d] = c->next;
            free(c);
        }
        pr->tail[d] = NULL;
        pr->queued_bytes[d] = 0;
        uv_close((uv_handle_t *)&pr->timer[d], px_pair_handle_closed);
    }
    px_close_tcp(pr, 0, reset);
    px_close_tcp(pr, 1, reset);
}

/* ---- relaying ---- */

static void px_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void px_pump(px_pair *pr, int d);

static void px_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    px_pair *pr = h->data;
    weir_real_proxy *px = pr->route->px;
    /* libuv calls read_cb after each alloc_cb, before the next: one buffer serves all. */
    buf->base = (char *)px->readbuf;
    buf->len = sizeof px->readbuf;
}

/* Starts or stops reading side d as the pair's state asks. */
static void px_update_reading(px_pair *pr, int d)
{
    bool want = !pr->closing && !pr->eof[d] && px_mode(pr) != WEIR_REAL_LINK_BLACKHOLE &&
                (d == 0 || pr->connected) &&
                pr->queued_bytes[d] + pr->writing_bytes[d] < PX_BUFFERED_MAX;
    if (want && !pr->reading[d]) {
        if (uv_read_start((uv_stream_t *)&pr->tcp[d], px_alloc_cb, px_read_cb) == 0) {
            pr->reading[d] = true;
        }
    } else if (!want && pr->reading[d]) {
        uv_read_stop((uv_stream_t *)&pr->tcp[d]);
        pr->reading[d] = false;
    }
}

static void px_write_cb(uv_write_t *req, int status)
{
    px_chunk *c = req->data;
    px_pair *pr = c->pair;
    int d = c->dir;
    WEIR_ASSERT(pr->writing_bytes[d] >= c->len);
    pr->writing_bytes[d] -= c->len;
    if (status == 0) {
        pr->route->bytes += c->len;
    }
    free(c);
    if (pr->closing) {
        return;
    }
    if (status < 0) {
        px_pair_close(pr, true);
        return;
    }
    px_pump(pr, d);
}

static void px_timer_cb(uv_timer_t *t)
{
    px_pair *pr = t->data;
    int d = t == &pr->timer[0] ? 0 : 1;
    px_pump(pr, d);
}

/* Writes every due chunk read from side d to the other side, arms the timer
 * for the next one, and closes the pair after an EOF once all is written. */
static void px_pump(px_pair *pr, int d)
{
    if (pr->closing) {
        return;
    }
    bool can_write = pr->connected && px_mode(pr) != WEIR_REAL_LINK_BLACKHOLE;
    int64_t now = px_now_ns();
    while (can_write && pr->head[d] != NULL) {
        px_chunk *c = pr->head[d];
        if (c->due_ns > now) {
            uint64_t ms = (uint64_t)((c->due_ns - now + WEIR_REAL_MS - 1) / WEIR_REAL_MS);
            uv_timer_start(&pr->timer[d], px_timer_cb, ms, 0);
            break;
        }
        pr->head[d] = c->next;
        if (pr->head[d] == NULL) {
            pr->tail[d] = NULL;
        }
        pr->queued_bytes[d] -= c->len;
        pr->writing_bytes[d] += c->len;
        uv_buf_t b = uv_buf_init((char *)c->data, (unsigned)c->len);
        c->req.data = c;
        if (uv_write(&c->req, (uv_stream_t *)&pr->tcp[1 - d], &b, 1, px_write_cb) != 0) {
            pr->writing_bytes[d] -= c->len;
            free(c);
            px_pair_close(pr, true);
            return;
        }
    }
    if (pr->eof[d] && pr->head[d] == NULL && pr->writing_bytes[d] == 0) {
        px_pair_close(pr, false); /* an orderly close, passed on */
        return;
    }
    px_update_reading(pr, d);
}

static void px_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    px_pair *pr = s->data;
    int d = s == (uv_stream_t *)&pr->tcp[0] ? 0 : 1;
    weir_real_proxy *px = pr->route->px;
    if (nread == 0 || pr->closing) {
        return;
    }
    if (nread == UV_EOF) {
        pr->eof[d] = true;
        px_pump(pr, d);
        return;
    }
    if (nread < 0) {
        px_pair_close(pr, true); /* a reset (or error) on one side resets the other */
        return;
    }
    px_chunk *c = malloc(sizeof *c + (size_t)nread);
    if (c == NULL) {
        px_pair_close(pr, true);
        return;
    }
    memcpy(c->data, buf->base, (size_t)nread);
    c->len = (size_t)nread;
    c->pair = pr;
    c->dir = d;
    c->next = NULL;
    int64_t due = px_now_ns();
    if (px->groups[pr->route->group].mode == WEIR_REAL_LINK_DELAY) {
        due += px->groups[pr->route->group].delay_ns;
    }
    c->due_ns = due > pr->last_due_ns[d] ? due : pr->last_due_ns[d];
    pr->last_due_ns[d] = c->due_ns;
    if (pr->tail[d] != NULL) {
        pr->tail[d]->next = c;
    } else {
        pr->head[d] = c;
    }
    pr->tail[d] = c;
    pr->queued_bytes[d] += c->len;
    px_pump(pr, d);
}

static void px_connect_cb(uv_connect_t *req, int status)
{
    px_pair *pr = req->data;
    if (pr->closing) {
        return;
    }
    if (status < 0) {
        px_pair_close(pr, true); /* the target is down: the client sees a reset */
        return;
    }
    pr->connected = true;
    uv_tcp_nodelay(&pr->tcp[1], 1);
    px_pump(pr, 0);
    px_pump(pr, 1);
}

static void px_accept_cb(uv_stream_t *server, int status)
{
    px_route *rt = server->data;
    if (status < 0) {
        return;
    }
    px_pair *pr = calloc(1, sizeof *pr);
    if (pr == NULL) {
        return;
    }
    pr->route = rt;
    uv_loop_t *loop = &rt->px->loop;
    uv_tcp_init(loop, &pr->tcp[0]);
    uv_tcp_init(loop, &pr->tcp[1]);
    uv_timer_init(loop, &pr->timer[0]);
    uv_timer_init(loop, &pr->timer[1]);
    pr->handles = 4;
    pr->tcp[0].data = pr->tcp[1].data = pr->timer[0].data = pr->timer[1].data = pr;
    pr->creq.data = pr;
    pr->next = rt->pairs;
    if (rt->pairs != NULL) {
        rt->pairs->prev = pr;
    }
    rt->pairs = pr;
    if (uv_accept(server, (uv_stream_t *)&pr->tcp[0]) != 0) {
        px_pair_close(pr, false);
        return;
    }
    uv_tcp_nodelay(&pr->tcp[0], 1);
    struct sockaddr_in to;
    uv_ip4_addr("127.0.0.1", rt->target_port, &to);
    if (uv_tcp_connect(&pr->creq, &pr->tcp[1], (const struct sockaddr *)&to, px_connect_cb) != 0) {
        px_pair_close(pr, true);
        return;
    }
    px_update_reading(pr, 0);
}

/* ---- commands, on the loop's thread ---- */

static void px_route_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static int px_do_route(weir_real_proxy *px, int group, int target_port, int *port_out)
{
    if (px->route_count == PX_ROUTES_MAX || group < 0 || group >= WEIR_REAL_GROUPS_MAX) {
        return WEIR_E_INVAL;
    }
    px_route *rt = calloc(1, sizeof *rt);
    if (rt == NULL) {
        return WEIR_E_NOMEM;
    }
    rt->px = px;
    rt->group = group;
    rt->target_port = target_port;
    uv_tcp_init(&px->loop, &rt->listener);
    rt->listener.data = rt;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_tcp_bind(&rt->listener, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&rt->listener, 128, px_accept_cb) != 0 ||
        uv_tcp_getsockname(&rt->listener, (struct sockaddr *)&bound, &len) != 0) {
        uv_close((uv_handle_t *)&rt->listener, px_route_free_cb);
        return WEIR_E_ADDRINUSE;
    }
    rt->listen_port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    px->routes[px->route_count++] = rt;
    *port_out = rt->listen_port;
    return 0;
}

static int px_do_set(weir_real_proxy *px, int group, weir_real_link_mode mode, int64_t delay_ns)
{
    if (group < 0 || group >= WEIR_REAL_GROUPS_MAX) {
        return WEIR_E_INVAL;
    }
    px->groups[group].mode = mode;
    px->groups[group].delay_ns = mode == WEIR_REAL_LINK_DELAY ? delay_ns : 0;
    int conns = 0;
    for (int i = 0; i < px->route_count; i++) {
        if (px->routes[i]->group != group) {
            continue;
        }
        for (px_pair *pr = px->routes[i]->pairs, *next; pr != NULL; pr = next) {
            next = pr->next;
            conns += !pr->closing;
            for (int d = 0; d < 2 && !pr->closing; d++) {
                uv_timer_stop(&pr->timer[d]);
                px_pump(pr, d); /* starts or stops reading, releases what is due */
            }
        }
    }
    return conns;
}

static int px_do_reset(weir_real_proxy *px, int group)
{
    int conns = 0;
    for (int i = 0; i < px->route_count; i++) {
        if (px->routes[i]->group != group) {
            continue;
        }
        for (px_pair *pr = px->routes[i]->pairs; pr != NULL; pr = pr->next) {
            if (!pr->closing) {
                px_pair_close(pr, true);
                conns++;
            }
        }
    }
    return conns;
}

static void px_do_stop(weir_real_proxy *px)
{
    for (int i = 0; i < px->route_count; i++) {
        px_route *rt = px->routes[i];
        for (px_pair *pr = rt->pairs; pr != NULL; pr = pr->next) {
            px_pair_close(pr, false);
        }
        uv_close((uv_handle_t *)&rt->listener, NULL);
    }
    uv_close((uv_handle_t *)&px->async, NULL);
}

static void px_async_cb(uv_async_t *a)
{
    weir_real_proxy *px = a->data;
    pthread_mutex_lock(&px->mu);
    if (px->cmd.pending) {
        px->cmd.pending = false;
        px->cmd.result = 0;
        switch (px->cmd.op) {
        case PX_OP_ROUTE:
            px->cmd.result = px_do_route(px, px->cmd.group, px->cmd.target_port, &px->cmd.port);
            break;
        case PX_OP_SET: {
            int n =
                px_do_set(px, px->cmd.group, (weir_real_link_mode)px->cmd.mode, px->cmd.delay_ns);
            px->cmd.result = n < 0 ? n : 0;
            px->cmd.count = n < 0 ? 0 : n;
            break;
        }
        case PX_OP_RESET:
            px->cmd.count = px_do_reset(px, px->cmd.group);
            break;
        case PX_OP_BYTES:
            px->cmd.bytes = 0;
            for (int i = 0; i < px->route_count; i++) {
                px->cmd.bytes += px->routes[i]->group == px->cmd.group ? px->routes[i]->bytes : 0;
            }
            break;
        case PX_OP_STOP:
            px_do_stop(px);
            break;
        }
        px->cmd.done = true;
        pthread_cond_signal(&px->cv);
    }
    pthread_mutex_unlock(&px->mu);
}

static void *px_thread_main(void *arg)
{
    weir_real_proxy *px = arg;
    uv_run(&px->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Hands one command to the loop and waits for it (the command slot is
 * filled by the caller under the lock). */
static int px_command(weir_real_proxy *px)
{
    px->cmd.pending = true;
    px->cmd.done = false;
    uv_async_send(&px->async);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PX_COMMAND_WAIT_S;
    while (!px->cmd.done) {
        if (pthread_cond_timedwait(&px->cv, &px->mu, &until) == ETIMEDOUT) {
            px->cmd.pending = false;
            return WEIR_E_TIMEOUT;
        }
    }
    return px->cmd.result;
}

/* ---- the driver's side ---- */

weir_real_proxy *weir_real_proxy_new(char *why, size_t why_size)
{
    weir_real_proxy *px = calloc(1, sizeof *px);
    if (px == NULL) {
        snprintf(why, why_size, "proxy: out of memory");
        return NULL;
    }
    if (uv_loop_init(&px->loop) != 0) {
        free(px);
        snprintf(why, why_size, "proxy: cannot start an event loop");
        return NULL;
    }
    uv_async_init(&px->loop, &px->async, px_async_cb);
    px->async.data = px;
    pthread_mutex_init(&px->mu, NULL);
    pthread_cond_init(&px->cv, NULL);
    /* Signals go to the driver's thread, never to the proxy's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = pthread_create(&px->thread, NULL, px_thread_main, px);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        snprintf(why, why_size, "proxy: cannot start its thread: %s", strerror(err));
        uv_close((uv_handle_t *)&px->async, NULL);
        uv_run(&px->loop, UV_RUN_DEFAULT);
        uv_loop_close(&px->loop);
        free(px);
        return NULL;
    }
    px->thread_started = true;
    return px;
}

int weir_real_proxy_route(weir_real_proxy *px, int group, int target_port, int *listen_port_out)
{
    pthread_mutex_lock(&px->mu);
    px->cmd.op = PX_OP_ROUTE;
    px->cmd.group = group;
    px->cmd.target_port = target_port;
    int err = px_command(px);
    *listen_port_out = px->cmd.port;
    pthread_mutex_unlock(&px->mu);
    return err;
}

int weir_real_proxy_set(weir_real_proxy *px, int group, weir_real_link_mode mode, int64_t delay_ns,
                        int *conns_out)
{
    pthread_mutex_lock(&px->mu);
    px->cmd.op = PX_OP_SET;
    px->cmd.group = group;
    px->cmd.mode = (int)mode;
    px->cmd.delay_ns = delay_ns;
    int err = px_command(px);
    if (conns_out != NULL) {
        *conns_out = px->cmd.count;
    }
    pthread_mutex_unlock(&px->mu);
    return err;
}

int weir_real_proxy_reset(weir_real_proxy *px, int group, int *conns_out)
{
    pthread_mutex_lock(&px->mu);
    px->cmd.op = PX_OP_RESET;
    px->cmd.group = group;
    int err = px_command(px);
    if (conns_out != NULL) {
        *conns_out = px->cmd.count;
    }
    pthread_mutex_unlock(&px->mu);
    return err;
}

uint64_t weir_real_proxy_bytes(weir_real_proxy *px, int group)
{
    pthread_mutex_lock(&px->mu);
    px->cmd.op = PX_OP_BYTES;
    px->cmd.group = group;
    uint64_t bytes = px_command(px) == 0 ? px->cmd.bytes : 0;
    pthread_mutex_unlock(&px->mu);
    return bytes;
}

void weir_real_proxy_free(weir_real_proxy *px)
{
    if (px == NULL) {
        return;
    }
    pthread_mutex_lock(&px->mu);
    px->cmd.op = PX_OP_STOP;
    int err = px_command(px);
    pthread_mutex_unlock(&px->mu);
    if (err != 0) {
        /* The loop is stuck: leave it to process exit rather than free what it uses. */
        return;
    }
    pthread_join(px->thread, NULL);
    uv_loop_close(&px->loop);
    for (int i = 0; i < px->route_count; i++) {
        free(px->routes[i]);
    }
    pthread_mutex_destroy(&px->mu);
    pthread_cond_destroy(&px->cv);
    free(px);
}
