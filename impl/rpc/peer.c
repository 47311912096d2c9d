#include "rpc/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define MS 1000000LL

typedef struct peer_req {
    struct peer_req *next;
    int32_t corr;
    int16_t api_key;
    int16_t api_version;
    weir_peer_cb cb;
    void *arg;
    int64_t deadline_ns;
    uint8_t *frame; /* kept until the connection is open */
    size_t len;
} peer_req;

struct weir_peer {
    weir_env *env;
    char addr[160];
    char client_id[64];
    weir_conn *conn;
    bool open;
    int32_t next_corr;
    peer_req *head; /* in send order */
    peer_req *tail;
    size_t n;
    weir_timer *timer; /* the earliest deadline */
    weir_timer *fail_timer; /* delivers failures from an event, not inside a call */
    int fail_err;
    weir_arena arena;
    int depth;  /* callbacks running: a free inside one is deferred */
    bool freed; /* weir_peer_free was called from a callback */
};

static void req_free(peer_req *r)
{
    free(r->frame);
    free(r);
}

static void arm(weir_peer *p);
static void peer_release(weir_peer *p);

/* Calls a request's callback. A callback may free the peer (a follower that
 * stops following): then false, and the peer is gone once the outermost
 * callback returns. */
static bool deliver(weir_peer *p, peer_req *r, int err, weir_rd *rd, weir_arena *a)
{
    p->depth++;
    r->cb(r->arg, err, rd, a);
    p->depth--;
    if (p->freed) {
        if (p->depth == 0) {
            peer_release(p);
        }
        return false;
    }
    return true;
}

/* Fails every pending request with err (from an env event). False if a
 * callback freed the peer. */
static bool fail_all(weir_peer *p, int err)
{
    peer_req *r = p->head;
    p->head = p->tail = NULL;
    p->n = 0;
    bool alive = true;
    while (r != NULL) {
        peer_req *next = r->next;
        if (alive) {
            alive = deliver(p, r, err, NULL, NULL);
        }
        req_free(r);
        r = next;
    }
    return alive;
}

static void on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    weir_peer *p = arg;
    if (conn != p->conn || p->head == NULL) {
        return;
    }
    peer_req *r = p->head;
    weir_rd rd;
    weir_rd_init(&rd, payload, len);
    int32_t corr = -1;
    int err = weir_decode_response_header(&rd, r->api_key, r->api_version, &corr);
    if (err != 0 || corr != r->corr) {
        weir_log_warn(p->env, "%s: response out of order or malformed (correlation id %d, expected %d)",
                      p->addr, corr, r->corr);
        p->conn = NULL;
        p->open = false;
        weir_conn_close(conn);
        fail_all(p, WEIR_E_CORRUPT);
        return;
    }
    p->head = r->next;
    if (p->head == NULL) {
        p->tail = NULL;
    }
    p->n--;
    weir_arena_reset(&p->arena);
    bool alive = deliver(p, r, 0, &rd, &p->arena);
    req_free(r);
    if (alive) {
        arm(p);
    }
}

static void on_open(weir_conn *conn, void *arg)
{
    weir_peer *p = arg;
    if (conn != p->conn) {
        return;
    }
    p->open = true;
    for (peer_req *r = p->head; r != NULL; r = r->next) {
        if (r->frame != NULL) {
            if (weir_conn_send(conn, r->frame, r->len) != 0) {
                break; /* on_close follows */
            }
            free(r->frame);
            r->frame = NULL;
        }
    }
}

static void on_close(weir_conn *conn, int reason, void *arg)
{
    weir_peer *p = arg;
    if (conn != p->conn) {
        return;
    }
    p->conn = NULL;
    p->open = false;
    fail_all(p, reason == WEIR_E_CONNREFUSED ? WEIR_E_CONNREFUSED : WEIR_E_CONNRESET);
}

static void on_deadline(weir_env *env, void *arg)
{
    (void)env;
    weir_peer *p = arg;
    p->timer = NULL;
    if (p->head != NULL && weir_now_ns(p->env) >= p->head->deadline_ns) {
        /* As Kafka clients do: a timed-out request takes its connection down. */
        peer_req *r = p->head;
        p->head = r->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        p->n--;
        weir_conn *c = p->conn;
        p->conn = NULL;
        p->open = false;
        if (c != NULL) {
            weir_conn_close(c);
        }
        bool alive = deliver(p, r, WEIR_E_TIMEOUT, NULL, NULL);
        req_free(r);
        if (alive) {
            fail_all(p, WEIR_E_CONNRESET);
        }
        return;
    }
    arm(p);
}

static void arm(weir_peer *p)
{
    if (p->timer != NULL) {
        weir_timer_cancel(p->env, p->timer);
        p->timer = NULL;
    }
    if (p->head != NULL) {
        int64_t delay = p->head->deadline_ns - weir_now_ns(p->env);
        p->timer = weir_timer_start(p->env, delay > 0 ? delay : 0, on_deadline, p);
    }
}

weir_peer *weir_peer_new(weir_env *env, const char *addr, const char *client_id)
{
    weir_peer *p = calloc(1, sizeof *p);
    WEIR_ASSERT(p != NULL);
    p->env = env;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    snprintf(p->client_id, sizeof p->client_id, "%s", client_id ? client_id : "weir");
    weir_arena_init(&p->arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    return p;
}

const char *weir_peer_addr(const weir_peer *p)
{
    return p->addr;
}

static void fail_later(weir_env *env, void *arg)
{
    (void)env;
    weir_peer *p = arg;
    p->fail_timer = NULL;
    fail_all(p, p->fail_err);
}

void weir_peer_set_addr(weir_peer *p, const char *addr)
{
    if (strcmp(p->addr, addr) == 0) {
        return;
    }
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    if (p->conn != NULL) {
        weir_conn *c = p->conn;
        p->conn = NULL;
        p->open = false;
        weir_conn_close(c);
    }
    if (p->head != NULL && p->fail_timer == NULL) {
        p->fail_err = WEIR_E_CONNRESET;
        p->fail_timer = weir_timer_start(p->env, 0, fail_later, p);
    }
}

int weir_peer_send(weir_peer *p, weir_request *r, int32_t timeout_ms, weir_peer_cb cb, void *arg)
{
    if (p->fail_timer != NULL) {
        return WEIR_E_AGAIN; /* the old address's requests are still being failed */
    }
    r->header.correlation_id = ++p->next_corr;
    r->header.client_id = weir_str_from(p->client_id);
    weir_wr w;
    weir_wr_init(&w);
    int err = weir_encode_request(&w, r);
    if (err != 0) {
        weir_wr_free(&w);
        return err;
    }
    peer_req *q = calloc(1, sizeof *q);
    if (q == NULL) {
        weir_wr_free(&w);
        return WEIR_E_NOMEM;
    }
    q->corr = r->header.correlation_id;
    q->api_key = r->header.api_key;
    q->api_version = r->header.api_version;
    q->cb = cb;
    q->arg = arg;
    q->deadline_ns = weir_now_ns(p->env) + (int64_t)timeout_ms * MS;
    if (p->conn == NULL) {
        weir_conn_handlers h = {on_open, on_frame, on_close, p};
        err = weir_connect(p->env, p->addr, &h, &p->conn);
        if (err != 0) {
            p->conn = NULL;
            weir_wr_free(&w);
            free(q);
            return err;
        }
    }
    if (p->open) {
        err = weir_conn_send(p->conn, w.buf, w.len);
        weir_wr_free(&w);
        if (err != 0) {
            free(q);
            return err;
        }
    } else {
        q->frame = weir_wr_take(&w, &q->len); /* sent when the connection opens */
    }
    if (p->tail != NULL) {
        p->tail->next = q;
    } else {
        p->head = q;
    }
    p->tail = q;
    p->n++;
    if (p->n == 1) {
        arm(p);
    }
    return 0;
}

size_t weir_peer_in_flight(const weir_peer *p)
{
    return p->n;
}

/* Drops timers, requests and the connection: nothing calls back after this. */
static void peer_quiesce(weir_peer *p)
{
    if (p->timer != NULL) {
        weir_timer_cancel(p->env, p->timer);
        p->timer = NULL;
    }
    if (p->fail_timer != NULL) {
        weir_timer_cancel(p->env, p->fail_timer);
        p->fail_timer = NULL;
    }
    peer_req *r = p->head;
    while (r != NULL) {
        peer_req *next = r->next;
        req_free(r);
        r = next;
    }
    p->head = p->tail = NULL;
    p->n = 0;
    if (p->conn != NULL) {
        weir_conn_detach(p->conn);
        weir_conn_close(p->conn);
        p->conn = NULL;
        p->open = false;
    }
}

static void peer_release(weir_peer *p)
{
    peer_quiesce(p);
    weir_arena_free(&p->arena);
    free(p);
}

void weir_peer_free(weir_peer *p)
{
    if (p == NULL) {
        return;
    }
    if (p->depth > 0) {
        peer_quiesce(p); /* inside one of its callbacks: freed when that returns */
        p->freed = true;
        return;
    }
    peer_release(p);
}

void weir_peer_abandon(weir_peer *p)
{
    if (p == NULL) {
        return;
    }
    peer_req *r = p->head;
    while (r != NULL) {
        peer_req *next = r->next;
        req_free(r);
        r = next;
    }
    weir_arena_free(&p->arena);
    free(p);
}
