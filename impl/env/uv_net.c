/* Real env backend, network side: address resolution, listeners, accepting,
 * connecting, and each connection's lifecycle up to on_close (bytes on the
 * wire are in uv_frames.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/uv_internal.h"

#define UN_BACKLOG 511
/* How long a closed connection waits for the peer's FIN before letting go. */
#define UN_LINGER_NS (2 * 1000000000LL)

/* ---- addresses ---- */

/* A real IPv4 literal or "localhost". */
static int un_real_addr(const char *host, int port, struct sockaddr_in *sa)
{
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    if (uv_ip4_addr(host, port, sa) != 0) {
        return WEIR_E_NOENT;
    }
    return 0;
}

static void un_sockaddr_text(const struct sockaddr_in *sa, char *out, size_t size)
{
    char ip[INET_ADDRSTRLEN] = "?";
    uv_ip4_name(sa, ip, sizeof ip);
    snprintf(out, size, "%s:%d", ip, ntohs(sa->sin_port));
}

static int un_err_from_uv(int uverr)
{
    switch (uverr) {
    case UV_ECONNREFUSED:
        return WEIR_E_CONNREFUSED;
    case UV_ETIMEDOUT:
        return WEIR_E_TIMEOUT;
    case UV_EADDRINUSE:
        return WEIR_E_ADDRINUSE;
    case UV_EADDRNOTAVAIL:
        return WEIR_E_NOENT;
    case UV_ENOMEM:
        return WEIR_E_NOMEM;
    case UV_ENOBUFS:
        return WEIR_E_NOMEM;
    case UV_EINVAL:
        return WEIR_E_INVAL;
    case UV_ENETUNREACH:
        return WEIR_E_CONNREFUSED;
    case UV_EHOSTUNREACH:
        return WEIR_E_CONNREFUSED;
    default:
        return WEIR_E_CONNRESET;
    }
}

/* ---- connections ---- */

static weir_uv_conn *un_conn_new(weir_uv_env *e, const weir_conn_handlers *h)
{
    weir_uv_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    if (uv_tcp_init(&e->world->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->creq.data = c;
    c->wreq.data = c;
    c->sreq.data = c;
    c->pub.env = &e->pub;
    if (h != NULL) {
        c->pub.h = *h;
    }
    c->pub.id = e->world->conn_id_next++;
    e->handles++;
    c->next = e->conns;
    if (e->conns != NULL) {
        e->conns->prev = c;
    }
    e->conns = c;
    return c;
}

static void un_conn_unlink(weir_uv_env *e, weir_uv_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        e->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
}

/* The handle is closed: tell the node (unless it is gone) and free. */
static void un_conn_closed(uv_handle_t *h)
{
    weir_uv_conn *c = h->data;
    weir_uv_env *e = (weir_uv_env *)c->pub.env;
    un_conn_unlink(e, c);
    if (!e->dead && c->notify && c->pub.h.on_close != NULL) {
        weir_uv_env *prev = weir_uv_enter(e);
        c->pub.h.on_close(&c->pub, c->reason, c->pub.h.arg);
        weir_uv_leave(e, prev);
    }
    weir_uv_conn_free_buffers(c);
    free(c);
    weir_uv_env_handle_closed(e);
}

static void un_set_reason(weir_uv_conn *c, int reason)
{
    if (!c->reason_set) {
        c->reason = reason;
        c->reason_set = true;
    }
}

void weir_uv_conn_terminate(weir_uv_conn *c, int reason)
{
    if (c->handle_closing) {
        return;
    }
    weir_uv_env *e = (weir_uv_env *)c->pub.env;
    c->handle_closing = true;
    c->pub.closing = true;
    un_set_reason(c, reason);
    weir_uv_conn_unmark_dirty(c);
    if (c->linger != NULL) {
        weir_timer_heap_cancel(&e->timers, c->linger);
        c->linger = NULL;
        weir_uv_env_rearm(e);
    }
    uv_close((uv_handle_t *)&c->tcp, un_conn_closed);
}

static void un_linger_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_uv_conn *c = arg;
    c->linger = NULL;
    weir_uv_conn_terminate(c, 0);
}

static void un_shutdown_cb(uv_shutdown_t *req, int status)
{
    weir_uv_conn *c = req->data;
    if (status < 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET);
        return;
    }
    /* Our side is done; reading goes on (discarding) until the peer's FIN,
     * so no unread bytes turn our close into a reset. */
    weir_uv_env *e = (weir_uv_env *)c->pub.env;
    int64_t deadline = weir_uv_clock_ns() + UN_LINGER_NS;
    c->linger = weir_timer_heap_add(&e->timers, deadline, un_linger_cb, c);
    weir_uv_env_rearm(e);
}

/* Called by uv_frames.c once all queued output is written after a close. */
void weir_uv_conn_shutdown(weir_uv_conn *c)
{
    WEIR_ASSERT(!c->shutdown_started && !c->writing);
    c->shutdown_started = true;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, un_shutdown_cb) != 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET);
    }
}

void weir_uv_close(weir_conn *conn)
{
    weir_uv_conn *c = (weir_uv_conn *)conn;
    if (c->pub.closing) {
        return;
    }
    c->pub.closing = true;
    un_set_reason(c, 0);
    weir_uv_conn_mark_dirty(c);
}

/* Connected (either way): read, no Nagle, flush anything queued. */
static int un_conn_established(weir_uv_conn *c)
{
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, weir_uv_conn_alloc_cb, weir_uv_conn_read_cb);
    if (rc != 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET);
        return rc;
    }
    weir_uv_conn_mark_dirty(c);
    return 0;
}

static void un_dispatch_open(weir_uv_conn *c)
{
    weir_uv_env *e = (weir_uv_env *)c->pub.env;
    if (c->pub.closing || c->pub.h.on_open == NULL) {
        return;
    }
    weir_uv_env *prev = weir_uv_enter(e);
    c->pub.h.on_open(&c->pub, c->pub.h.arg);
    weir_uv_leave(e, prev);
}

static void un_connect_cb(uv_connect_t *req, int status)
{
    weir_uv_conn *c = req->data;
    if (status == UV_ECANCELED || c->handle_closing) {
        return;
    }
    if (status < 0) {
        c->reason_set = false; /* even after a local close: it never opened */
        weir_uv_conn_terminate(c, un_err_from_uv(status));
        return;
    }
    if (un_conn_established(c) == 0) {
        un_dispatch_open(c);
    }
}

int weir_uv_connect(weir_env *env, const char *addr, const weir_conn_handlers *h, weir_conn **out)
{
    weir_uv_env *e = env->impl;
    WEIR_ASSERT(!e->dead);
    char host[256];
    int port;
    if (addr == NULL || weir_addr_split(addr, host, sizeof host, &port) != 0) {
        return WEIR_E_INVAL;
    }
    struct sockaddr_in sa;
    bool refused = false;
    if (weir_uv_world_has_node(e->world, host)) {
        int real = weir_uv_world_addr_lookup(e->world, host, port);
        refused = real < 0;
        uv_ip4_addr("127.0.0.1", real < 0 ? 0 : real, &sa);
    } else {
        int err = un_real_addr(host, port, &sa);
        if (err != 0) {
            return err;
        }
    }
    weir_uv_conn *c = un_conn_new(e, h);
    if (c == NULL) {
        return WEIR_E_NOMEM;
    }
    c->notify = true;
    if (refused) {
        snprintf(c->pub.peer, sizeof c->pub.peer, "%s", addr);
    } else {
        un_sockaddr_text(&sa, c->pub.peer, sizeof c->pub.peer);
    }
    int rc = refused ? UV_ECONNREFUSED : 0;
    if (rc == 0) {
        rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, un_connect_cb);
    }
    if (rc != 0) {
        weir_uv_conn_terminate(c, un_err_from_uv(rc));
    }
    *out = &c->pub;
    return 0;
}

/* ---- listeners ---- */

static void un_accept_cb(uv_stream_t *server, int status)
{
    weir_uv_listener *l = server->data;
    weir_uv_env *e = l->env;
    if (status < 0) {
        weir_log_warn(&e->pub, "accept failed: %s", uv_strerror(status));
        return;
    }
    weir_uv_conn *c = un_conn_new(e, &l->h);
    if (c == NULL) {
        weir_log_warn(&e->pub, "accept: out of memory");
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET); /* never shown to the node */
        return;
    }
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET) {
        un_sockaddr_text((const struct sockaddr_in *)&ss, c->pub.peer, sizeof c->pub.peer);
    } else {
        snprintf(c->pub.peer, sizeof c->pub.peer, "?");
    }
    if (un_conn_established(c) == 0) {
        c->notify = true;
        un_dispatch_open(c);
    }
}

static void un_listener_closed(uv_handle_t *h)
{
    weir_uv_listener *l = h->data;
    weir_uv_env *e = l->env;
    free(l);
    weir_uv_env_handle_closed(e);
}

static void un_listener_unlink_close(weir_uv_listener *l)
{
    weir_uv_env *e = l->env;
    if (l->named) {
        weir_uv_world_addr_remove(e->world, l);
    }
    if (l->prev != NULL) {
        l->prev->next = l->next;
    } else if (e->listeners == l) {
        e->listeners = l->next;
    }
    if (l->next != NULL) {
        l->next->prev = l->prev;
    }
    l->prev = l->next = NULL;
    uv_close((uv_handle_t *)&l->tcp, un_listener_closed);
}

/* Binds and listens; registers a "<node>:<port>" address in the world. */
static int un_listener_open(weir_uv_listener *l, const char *host, int port, bool named)
{
    weir_uv_env *e = l->env;
    struct sockaddr_in sa;
    int err = named ? 0 : un_real_addr(host, port, &sa);
    if (err != 0) {
        return err;
    }
    if (named) {
        uv_ip4_addr("127.0.0.1", 0, &sa);
    }
    int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&sa, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&l->tcp, UN_BACKLOG, un_accept_cb);
    }
    if (rc != 0) {
        return un_err_from_uv(rc);
    }
    if (!named) {
        return 0;
    }
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
    if (rc != 0) {
        return un_err_from_uv(rc);
    }
    int real = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    err = weir_uv_world_addr_add(e->world, host, port, real, l);
    l->named = err == 0;
    return err;
}

int weir_uv_listen(weir_env *env, const char *addr, const weir_conn_handlers *h,
                   weir_listener **out)
{
    weir_uv_env *e = env->impl;
    WEIR_ASSERT(!e->dead);
    char host[256];
    int port;
    if (addr == NULL || weir_addr_split(addr, host, sizeof host, &port) != 0) {
        return WEIR_E_INVAL;
    }
    bool named = weir_uv_world_has_node(e->world, host);
    if (named && weir_uv_world_addr_lookup(e->world, host, port) >= 0) {
        return WEIR_E_ADDRINUSE;
    }
    weir_uv_listener *l = calloc(1, sizeof *l);
    if (l == NULL || uv_tcp_init(&e->world->loop, &l->tcp) != 0) {
        free(l);
        return WEIR_E_NOMEM;
    }
    l->tcp.data = l;
    l->env = e;
    if (h != NULL) {
        l->h = *h;
    }
    e->handles++;
    l->next = e->listeners;
    if (e->listeners != NULL) {
        e->listeners->prev = l;
    }
    e->listeners = l;
    int err = un_listener_open(l, host, port, named);
    if (err != 0) {
        un_listener_unlink_close(l);
        return err;
    }
    *out = (weir_listener *)l;
    return 0;
}

void weir_uv_listener_close(weir_listener *listener)
{
    weir_uv_listener *l = (weir_uv_listener *)listener;
    WEIR_ASSERT(!l->env->dead);
    un_listener_unlink_close(l);
}

/* ---- teardown (crash, world destroy) ---- */

void weir_uv_net_teardown(weir_uv_env *e)
{
    WEIR_ASSERT(e->dead);
    while (e->listeners != NULL) {
        un_listener_unlink_close(e->listeners);
    }
    for (weir_uv_conn *c = e->conns; c != NULL; c = c->next) {
        if (c->handle_closing) {
            continue;
        }
        c->handle_closing = true;
        c->pub.closing = true;
        c->linger = NULL; /* the heap goes with the env */
        weir_uv_conn_unmark_dirty(c);
        /* A crash resets; after our shutdown a reset is not allowed: plain close. */
        if (uv_tcp_close_reset(&c->tcp, un_conn_closed) != 0) {
            uv_close((uv_handle_t *)&c->tcp, un_conn_closed);
        }
    }
}
