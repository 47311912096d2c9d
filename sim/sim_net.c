/* Simulated TCP: framed connections over SimGrid mailboxes.
 *
 * A connection is two endpoints, each with a world-unique id. A frame is one
 * DATA message whose simulated size is its payload plus the 4-byte Kafka size,
 * so SimGrid charges latency and bandwidth for it. SimGrid may deliver a small
 * message before a larger one sent earlier, so every DATA and FIN carries a
 * per-endpoint sequence number and the receiver reorders: frames reach the
 * node whole, once, in order, like TCP's byte stream.
 *
 * Handshake: SYN (to the listener's node) -> SYNACK or REFUSED. A connect to a
 * node that is down gets no answer and fails after connect_timeout_ns. A crash
 * sends RESET to every live peer; a frame sent to a dead incarnation resets
 * the sender's endpoint (as the RST a rebooted host answers with).
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* ---- endpoints ---- */

static sim_conn *sn_conn_new(sim_inc *inc, const weir_conn_handlers *h, sim_conn_state state)
{
    sim_world *w = inc->node->world;
    sim_conn *c = calloc(1, sizeof *c);
    WEIR_ASSERT(c != NULL);
    c->base.env = &inc->env;
    c->base.h = *h;
    c->base.id = w->conn_next_id++;
    c->inc = inc;
    c->state = state;
    c->queued_tail = &c->queued;
    if (c->base.id >= w->conn_cap) {
        size_t cap = w->conn_cap ? w->conn_cap * 2 : 256;
        while (cap <= c->base.id) {
            cap *= 2;
        }
        sim_conn **conns = realloc(w->conns, cap * sizeof *conns);
        WEIR_ASSERT(conns != NULL);
        memset(conns + w->conn_cap, 0, (cap - w->conn_cap) * sizeof *conns);
        w->conns = conns;
        w->conn_cap = cap;
    }
    w->conns[c->base.id] = c;
    c->next = inc->conns;
    inc->conns = c;
    return c;
}

static void sn_msg_list_free(sim_msg *m)
{
    while (m != NULL) {
        sim_msg *next = m->next;
        free(m);
        m = next;
    }
}

/* Unregisters and frees an endpoint. cancel_timer is false during teardown,
 * when the timer heap is freed wholesale. */
static void sn_conn_free(sim_conn *c, bool cancel_timer)
{
    sim_world *w = c->inc->node->world;
    if (cancel_timer && c->timer != NULL) {
        weir_timer_cancel(&c->inc->env, c->timer);
    }
    w->conns[c->base.id] = NULL;
    for (sim_conn **p = &c->inc->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    sn_msg_list_free(c->reorder);
    sn_msg_list_free(c->queued);
    free(c);
}

static sim_conn *sn_conn_lookup(sim_inc *inc, uint64_t id)
{
    sim_world *w = inc->node->world;
    if (id == 0 || id >= w->conn_cap) {
        return NULL;
    }
    sim_conn *c = w->conns[id];
    return (c != NULL && c->inc == inc) ? c : NULL;
}

/* Reports the close to the node and frees the endpoint. */
static void sn_conn_finish(sim_conn *c, int reason)
{
    sim_inc *inc = c->inc;
    sim_trace_event(inc->node->world, inc->node, SIM_EV_CLOSE, 0, c->base.id);
    c->state = SIM_CONN_DEAD;
    c->base.closing = true;
    if (c->base.h.on_close != NULL) {
        c->base.h.on_close(&c->base, reason, c->base.h.arg);
    }
    sn_conn_free(c, true);
}

static void sn_close_due(weir_env *env, void *arg)
{
    (void)env;
    sim_conn *c = arg;
    c->timer = NULL;
    sn_conn_finish(c, c->close_reason);
}

/* Ends the endpoint with `reason`, reported from the loop (never inline). */
static void sn_conn_fail_later(sim_conn *c, int reason)
{
    if (c->state == SIM_CONN_DEAD) {
        return;
    }
    if (c->timer != NULL) {
        weir_timer_cancel(&c->inc->env, c->timer);
    }
    c->state = SIM_CONN_DEAD;
    c->base.closing = true;
    c->close_reason = reason;
    c->timer = weir_timer_start(&c->inc->env, 0, sn_close_due, c);
}

/* ---- messages ---- */

static sim_msg *sn_msg_new(sim_msg_kind kind, const sim_inc *from, size_t len)
{
    sim_msg *m = malloc(sizeof *m + len);
    WEIR_ASSERT(m != NULL);
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->src_node = from->node->index;
    m->src_inc = from->number;
    m->len = len;
    return m;
}

static bool sn_inc_is_live(const sim_node *node, uint32_t number)
{
    return node->up && node->inc != NULL && node->inc->number == number && !node->inc->dead;
}

static void sn_hold(sim_node *to, uint32_t to_inc, sim_msg *msg, size_t sim_bytes)
{
    sim_world *w = to->world;
    if (w->n_held == w->cap_held) {
        w->cap_held = w->cap_held ? w->cap_held * 2 : 64;
        w->held = realloc(w->held, w->cap_held * sizeof *w->held);
        WEIR_ASSERT(w->held != NULL);
    }
    w->held[w->n_held++] = (sim_held){to, to_inc, msg, sim_bytes};
}

void sim_send(sim_node *to, uint32_t to_inc, sim_msg *msg, size_t sim_bytes)
{
    if (!sn_inc_is_live(to, to_inc)) {
        free(msg);
        return;
    }
    if (sim_world_is_cut(to->world, msg->src_node, to->index)) {
        bool stream = msg->kind == SIM_MSG_DATA || msg->kind == SIM_MSG_FIN || msg->kind == SIM_MSG_RESET;
        if (stream) {
            sn_hold(to, to_inc, msg, sim_bytes);
        } else {
            free(msg);
        }
        return;
    }
    msg->dst_inc = to_inc;
    sg_comm_t comm = sg_mailbox_put_init(to->inc->mailbox, msg, (long)sim_bytes);
    sg_comm_detach(comm, free);
}

static void sn_send_control(sim_inc *from, sim_node *to, uint32_t to_inc, sim_msg_kind kind,
                            uint64_t dst_conn, uint64_t src_conn, uint64_t seq)
{
    sim_msg *m = sn_msg_new(kind, from, 0);
    m->dst_conn = dst_conn;
    m->src_conn = src_conn;
    m->seq = seq;
    sim_send(to, to_inc, m, SIM_CONTROL_BYTES);
}

/* Sends one DATA or FIN now; resets the endpoint if the peer is gone. */
static void sn_transmit(sim_conn *c, sim_msg *m)
{
    if (!sn_inc_is_live(c->peer_node, c->peer_inc)) {
        free(m);
        sn_conn_fail_later(c, WEIR_E_CONNRESET);
        return;
    }
    m->dst_conn = c->peer_conn;
    m->src_conn = c->base.id;
    size_t bytes = m->kind == SIM_MSG_DATA ? m->len + 4 : SIM_CONTROL_BYTES;
    sim_send(c->peer_node, c->peer_inc, m, bytes);
}

/* ---- env operations ---- */

int sim_net_listen(weir_env *env, const char *addr, const weir_conn_handlers *h,
                   weir_listener **out)
{
    sim_inc *inc = sim_inc_of(env);
    char host[64];
    int port;
    if (weir_addr_split(addr, host, sizeof host, &port) != 0 || port == 0) {
        return WEIR_E_INVAL;
    }
    if (strcmp(host, inc->node->name) != 0 && strcmp(host, "0.0.0.0") != 0 &&
        strcmp(host, "localhost") != 0) {
        return WEIR_E_INVAL;
    }
    for (weir_listener *l = inc->listeners; l != NULL; l = l->next) {
        if (l->port == port) {
            return WEIR_E_ADDRINUSE;
        }
    }
    weir_listener *l = calloc(1, sizeof *l);
    WEIR_ASSERT(l != NULL);
    l->inc = inc;
    l->port = port;
    l->h = *h;
    l->next = inc->listeners;
    inc->listeners = l;
    *out = l;
    return 0;
}

void sim_net_listener_close(weir_listener *l)
{
    for (weir_listener **p = &l->inc->listeners; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    free(l);
}

static void sn_connect_timeout(weir_env *env, void *arg)
{
    (void)env;
    sim_conn *c = arg;
    c->timer = NULL;
    sn_conn_finish(c, WEIR_E_TIMEOUT);
}

int sim_net_connect(weir_env *env, const char *addr, const weir_conn_handlers *h,
                    weir_conn **out)
{
    sim_inc *inc = sim_inc_of(env);
    sim_world *w = inc->node->world;
    char host[64];
    int port;
    if (weir_addr_split(addr, host, sizeof host, &port) != 0 || port == 0) {
        return WEIR_E_INVAL;
    }
    sim_node *to = sim_world_node_by_name(w, strcmp(host, "localhost") ? host : inc->node->name);
    if (to == NULL) {
        return WEIR_E_NOENT; /* no such host: a name-resolution failure */
    }
    sim_conn *c = sn_conn_new(inc, h, SIM_CONN_CONNECTING);
    snprintf(c->base.peer, sizeof c->base.peer, "%.40s:%d", to->name, port);
    c->peer_node = to;
    c->timer = weir_timer_start(env, w->cfg.connect_timeout_ns, sn_connect_timeout, c);
    if (to->inc != NULL && to->up) {
        c->peer_inc = to->inc->number;
        sim_msg *m = sn_msg_new(SIM_MSG_SYN, inc, sizeof port);
        memcpy(m->payload, &port, sizeof port);
        m->src_conn = c->base.id;
        sim_send(to, c->peer_inc, m, SIM_CONTROL_BYTES);
    }
    *out = &c->base;
    return 0;
}

int sim_net_sendv(weir_conn *conn, const weir_iov *iov, int iov_count)
{
    sim_conn *c = (sim_conn *)conn;
    if (c->base.closing || c->state == SIM_CONN_DEAD || c->state == SIM_CONN_CLOSING) {
        return WEIR_E_CLOSED;
    }
    size_t len = 0;
    for (int i = 0; i < iov_count; i++) {
        len += iov[i].len;
    }
    if (len > INT32_MAX) {
        return WEIR_E_FRAME_SIZE;
    }
    sim_msg *m = sn_msg_new(SIM_MSG_DATA, c->inc, len);
    size_t at = 0;
    for (int i = 0; i < iov_count; i++) {
        if (iov[i].len > 0) {
            memcpy(m->payload + at, iov[i].base, iov[i].len);
            at += iov[i].len;
        }
    }
    m->seq = c->send_seq++;
    if (c->state == SIM_CONN_CONNECTING) {
        *c->queued_tail = m;
        c->queued_tail = &m->next;
        return 0;
    }
    sn_transmit(c, m);
    return 0;
}

void sim_net_close(weir_conn *conn)
{
    sim_conn *c = (sim_conn *)conn;
    if (c->base.closing) {
        return;
    }
    c->base.closing = true;
    if (c->state == SIM_CONN_CONNECTING) {
        c->close_on_open = true; /* queued frames and FIN go out once connected */
        return;
    }
    if (c->state == SIM_CONN_OPEN) {
        sim_msg *fin = sn_msg_new(SIM_MSG_FIN, c->inc, 0);
        fin->seq = c->send_seq++;
        sn_transmit(c, fin);
    }
    if (c->state != SIM_CONN_DEAD) {
        sn_conn_fail_later(c, 0);
    }
}

/* ---- arrivals ---- */

static void sn_on_syn(sim_inc *inc, const sim_msg *m)
{
    sim_world *w = inc->node->world;
    sim_node *from = w->nodes[m->src_node];
    int port;
    memcpy(&port, m->payload, sizeof port);
    weir_listener *l = inc->listeners;
    while (l != NULL && l->port != port) {
        l = l->next;
    }
    if (l == NULL) {
        sn_send_control(inc, from, m->src_inc, SIM_MSG_REFUSED, m->src_conn, 0, 0);
        return;
    }
    sim_conn *c = sn_conn_new(inc, &l->h, SIM_CONN_OPEN);
    c->peer_node = from;
    c->peer_inc = m->src_inc;
    c->peer_conn = m->src_conn;
    snprintf(c->base.peer, sizeof c->base.peer, "%.40s:%d", from->name, 40000 + (int)(m->src_conn % 20000));
    sn_send_control(inc, from, m->src_inc, SIM_MSG_SYNACK, m->src_conn, c->base.id, 0);
    sim_trace_event(w, inc->node, SIM_EV_OPEN, 0, c->base.id);
    if (c->base.h.on_open != NULL) {
        c->base.h.on_open(&c->base, c->base.h.arg);
    }
}

static void sn_deliver_in_order(sim_conn *c);

static void sn_on_synack(sim_inc *inc, const sim_msg *m)
{
    sim_conn *c = sn_conn_lookup(inc, m->dst_conn);
    if (c == NULL || c->state != SIM_CONN_CONNECTING) {
        /* We gave up on it: tell the acceptor so its endpoint does not linger. */
        sn_send_control(inc, inc->node->world->nodes[m->src_node], m->src_inc, SIM_MSG_RESET,
                        m->src_conn, 0, 0);
        return;
    }
    weir_timer_cancel(&inc->env, c->timer);
    c->timer = NULL;
    c->peer_conn = m->src_conn;
    c->state = SIM_CONN_OPEN;
    sim_msg *q = c->queued;
    c->queued = NULL;
    c->queued_tail = &c->queued;
    while (q != NULL) {
        sim_msg *next = q->next;
        q->next = NULL;
        sn_transmit(c, q);
        q = next;
    }
    if (c->close_on_open) {
        c->base.closing = false;
        sim_net_close(&c->base);
        return;
    }
    sim_trace_event(inc->node->world, inc->node, SIM_EV_OPEN, 0, c->base.id);
    if (c->base.h.on_open != NULL) {
        c->base.h.on_open(&c->base, c->base.h.arg);
    }
    sn_deliver_in_order(c);
}

static void sn_reorder_insert(sim_conn *c, sim_msg *m)
{
    sim_msg **p = &c->reorder;
    while (*p != NULL && (*p)->seq < m->seq) {
        p = &(*p)->next;
    }
    m->next = *p;
    *p = m;
}

/* Delivers buffered DATA/FIN that are next in sequence, while the endpoint
 * is open (a callback may close it). */
static void sn_deliver_in_order(sim_conn *c)
{
    sim_inc *inc = c->inc;
    while (c->state == SIM_CONN_OPEN && c->reorder != NULL && c->reorder->seq == c->recv_seq) {
        sim_msg *m = c->reorder;
        c->reorder = m->next;
        c->recv_seq++;
        if (m->kind == SIM_MSG_FIN) {
            free(m);
            sn_conn_finish(c, 0);
            return;
        }
        if (m->len > c->base.env->frame_bytes_max) {
            weir_log_warn(&inc->env, "closing connection from %s: frame of %zu bytes over limit %u",
                          c->base.peer, m->len, c->base.env->frame_bytes_max);
            free(m);
            sn_conn_fail_later(c, WEIR_E_FRAME_SIZE);
            return;
        }
        sim_trace_event(inc->node->world, inc->node, SIM_EV_FRAME, m->len, c->base.id);
        if (!c->base.closing && c->base.h.on_frame != NULL) {
            c->base.h.on_frame(&c->base, m->payload, m->len, c->base.h.arg);
        }
        free(m);
    }
}

/* Takes ownership of msg. */
void sim_net_handle(sim_inc *inc, sim_msg *m)
{
    if (m->dst_inc != inc->number) {
        free(m);
        return;
    }
    if (m->kind == SIM_MSG_WAKE) {
        free(m); /* the dispatch loop runs the due timers next */
        return;
    }
    if (m->kind == SIM_MSG_SYN) {
        sn_on_syn(inc, m);
        free(m);
        return;
    }
    if (m->kind == SIM_MSG_SYNACK) {
        sn_on_synack(inc, m);
        free(m);
        return;
    }
    sim_conn *c = sn_conn_lookup(inc, m->dst_conn);
    if (c == NULL || c->state == SIM_CONN_DEAD) {
        free(m);
        return;
    }
    switch (m->kind) {
    case SIM_MSG_REFUSED:
        if (c->state == SIM_CONN_CONNECTING) {
            weir_timer_cancel(&inc->env, c->timer);
            c->timer = NULL;
            sn_conn_finish(c, WEIR_E_CONNREFUSED);
        }
        free(m);
        return;
    case SIM_MSG_RESET:
        free(m);
        if (c->timer != NULL) {
            weir_timer_cancel(&inc->env, c->timer);
            c->timer = NULL;
        }
        sn_conn_finish(c, WEIR_E_CONNRESET);
        return;
    default:
        sn_reorder_insert(c, m);
        sn_deliver_in_order(c);
        return;
    }
}

void sim_net_reset_peers(sim_inc *inc)
{
    for (sim_conn *c = inc->conns; c != NULL; c = c->next) {
        if (c->peer_conn != 0 && c->state != SIM_CONN_DEAD) {
            sn_send_control(inc, c->peer_node, c->peer_inc, SIM_MSG_RESET, c->peer_conn,
                            c->base.id, 0);
        }
    }
}

void sim_net_release_held(sim_world *w)
{
    size_t kept = 0, n = w->n_held;
    sim_held *h = w->held;
    for (size_t i = 0; i < n; i++) {
        if (sim_world_is_cut(w, h[i].msg->src_node, h[i].to->index)) {
            h[kept++] = h[i]; /* still cut: keeps its place in the order */
        } else if (!sn_inc_is_live(h[i].to, h[i].to_inc)) {
            free(h[i].msg);
        } else {
            h[i].msg->dst_inc = h[i].to_inc;
            sg_comm_t comm = sg_mailbox_put_init(h[i].to->inc->mailbox, h[i].msg, (long)h[i].bytes);
            sg_comm_detach(comm, free);
        }
    }
    w->n_held = kept;
}

void sim_net_reset_with(sim_inc *inc, const sim_node *peer)
{
    for (sim_conn *c = inc->conns; c != NULL; c = c->next) {
        if (c->peer_node != peer || c->state == SIM_CONN_DEAD) {
            continue;
        }
        if (c->peer_conn != 0) {
            sn_send_control(inc, c->peer_node, c->peer_inc, SIM_MSG_RESET, c->peer_conn,
                            c->base.id, 0);
        }
        /* this end hears of it by a message too: its actor may be blocked
         * in a wait that a new timer would not cut short */
        sn_send_control(inc, inc->node, inc->number, SIM_MSG_RESET, c->base.id, c->peer_conn, 0);
    }
}

void sim_net_teardown(sim_inc *inc)
{
    while (inc->conns != NULL) {
        sn_conn_free(inc->conns, false);
    }
    while (inc->listeners != NULL) {
        weir_listener *l = inc->listeners;
        inc->listeners = l->next;
        free(l);
    }
}
