/* Real env backend, bytes on the wire: Kafka framing (int32 big-endian size,
 * then the payload) in both directions.
 *
 * Receiving: one read buffer per connection; libuv reads into its free tail,
 * whole frames are handed to on_frame straight from the buffer, and the tail
 * of a partial frame moves to the front. The buffer grows for big frames (at
 * most doubling, and only as bytes really arrive) and shrinks afterwards; a
 * connection whose reads fill the buffer gets a larger one (fewer syscalls).
 *
 * Sending: sendv appends size + payload to `out`. Connections with something
 * to push sit on the world's dirty list, which a prepare and a check handle
 * flush once per loop phase: `out` becomes the in-flight buffer of a single
 * uv_write, and everything sent meanwhile is coalesced into the next one.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "env/uv_internal.h"

#define UF_IN_DEFAULT (64u * 1024u) /* read buffer of a quiet connection */
#define UF_IN_BUSY (256u * 1024u)   /* once a read has filled the buffer */
#define UF_OUT_MIN (16u * 1024u)
#define UF_KEEP_MAX (1u * 1024u * 1024u) /* larger idle buffers are given back */

/* ---- buffers ---- */

static bool uf_reserve(weir_uv_bytes *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len) {
        return false;
    }
    size_t need = b->len + extra;
    if (need <= b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : UF_OUT_MIN;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

static void uf_bytes_free(weir_uv_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void weir_uv_conn_free_buffers(weir_uv_conn *c)
{
    uf_bytes_free(&c->in);
    uf_bytes_free(&c->out);
    uf_bytes_free(&c->wbuf);
}

static uint32_t uf_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void uf_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- receiving ---- */

static size_t uf_in_base(const weir_uv_conn *c)
{
    return c->in_busy ? UF_IN_BUSY : UF_IN_DEFAULT;
}

/* Size of the read buffer for the next read: the base size, or for a frame
 * larger than the buffer, up to double once it is half full. */
static size_t uf_in_target(const weir_uv_conn *c)
{
    const weir_uv_bytes *b = &c->in;
    if (b->cap < uf_in_base(c)) {
        return uf_in_base(c);
    }
    if (c->in_need > b->cap && b->len > b->cap / 2) {
        size_t doubled = b->cap * 2;
        return c->in_need < doubled ? c->in_need : doubled;
    }
    return b->cap;
}

void weir_uv_conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    weir_uv_conn *c = h->data;
    weir_uv_bytes *b = &c->in;
    size_t cap = uf_in_target(c);
    if (cap != b->cap) {
        uint8_t *data = realloc(b->data, cap);
        if (data == NULL) {
            buf->base = NULL; /* read_cb gets UV_ENOBUFS */
            buf->len = 0;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    WEIR_ASSERT(b->len < b->cap);
    buf->base = (char *)b->data + b->len;
    buf->len = b->cap - b->len;
}

static void uf_frame_size_error(weir_uv_conn *c, uint32_t raw)
{
    weir_env *env = c->pub.env;
    weir_log_warn(env, "closing connection %llu with %s: frame size %lld out of range 0..%u",
                  (unsigned long long)c->pub.id, c->pub.peer, (long long)(int32_t)raw,
                  env->frame_bytes_max);
    weir_uv_conn_terminate(c, WEIR_E_FRAME_SIZE);
}

/* Hands every whole frame at the start of `in` to on_frame, then keeps the
 * partial rest. Stops once the connection is closing (by the node or us). */
static void uf_parse(weir_uv_conn *c)
{
    weir_uv_env *e = (weir_uv_env *)c->pub.env;
    weir_uv_bytes *b = &c->in;
    size_t pos = 0;
    c->in_need = 0;
    while (!c->pub.closing && b->len - pos >= 4) {
        uint32_t size = uf_get_be32(b->data + pos);
        if (size > INT32_MAX || size > e->pub.frame_bytes_max) {
            uf_frame_size_error(c, size);
            break;
        }
        size_t need = 4 + (size_t)size;
        if (b->len - pos < need) {
            c->in_need = need;
            break;
        }
        if (c->pub.h.on_frame != NULL) {
            weir_uv_env *prev = weir_uv_enter(e);
            c->pub.h.on_frame(&c->pub, b->data + pos + 4, size, c->pub.h.arg);
            weir_uv_leave(e, prev);
        }
        pos += need;
    }
    if (c->pub.closing) {
        b->len = 0; /* from now on input is only drained */
        c->in_need = 0;
        return;
    }
    if (pos > 0) {
        memmove(b->data, b->data + pos, b->len - pos);
        b->len -= pos;
    }
    size_t base = uf_in_base(c);
    if (b->cap > UF_KEEP_MAX && b->len < base && c->in_need < base) {
        uint8_t *data = realloc(b->data, base);
        if (data != NULL) {
            b->data = data;
            b->cap = base;
        }
    }
}

void weir_uv_conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    weir_uv_conn *c = s->data;
    if (nread == 0 || c->handle_closing) {
        return;
    }
    if (nread < 0) {
        int reason = nread == UV_EOF ? 0 : nread == UV_ENOBUFS ? WEIR_E_NOMEM : WEIR_E_CONNRESET;
        weir_uv_conn_terminate(c, reason);
        return;
    }
    if ((size_t)nread == buf->len) {
        c->in_busy = true;
    }
    c->in.len += (size_t)nread;
    WEIR_ASSERT(c->in.len <= c->in.cap);
    if (c->pub.closing) {
        c->in.len = 0;
        return;
    }
    uf_parse(c);
}

/* ---- sending ---- */

void weir_uv_conn_mark_dirty(weir_uv_conn *c)
{
    if (c->dirty || c->handle_closing) {
        return;
    }
    weir_uv_world *w = ((weir_uv_env *)c->pub.env)->world;
    c->dirty = true;
    c->dprev = NULL;
    c->dnext = w->dirty;
    if (w->dirty != NULL) {
        w->dirty->dprev = c;
    }
    w->dirty = c;
}

void weir_uv_conn_unmark_dirty(weir_uv_conn *c)
{
    if (!c->dirty) {
        return;
    }
    weir_uv_world *w = ((weir_uv_env *)c->pub.env)->world;
    if (c->dprev != NULL) {
        c->dprev->dnext = c->dnext;
    } else {
        w->dirty = c->dnext;
    }
    if (c->dnext != NULL) {
        c->dnext->dprev = c->dprev;
    }
    c->dirty = false;
    c->dprev = c->dnext = NULL;
}

int weir_uv_sendv(weir_conn *conn, const weir_iov *iov, int iov_count)
{
    weir_uv_conn *c = (weir_uv_conn *)conn;
    if (c->pub.closing) {
        return WEIR_E_CLOSED;
    }
    size_t total = 0;
    for (int i = 0; i < iov_count; i++) {
        if (iov[i].len > INT32_MAX - total) {
            return WEIR_E_FRAME_SIZE;
        }
        total += iov[i].len;
    }
    if (total > c->pub.env->frame_bytes_max) {
        return WEIR_E_FRAME_SIZE;
    }
    if (!uf_reserve(&c->out, 4 + total)) {
        return WEIR_E_NOMEM;
    }
    uint8_t *p = c->out.data + c->out.len;
    uf_put_be32(p, (uint32_t)total);
    p += 4;
    for (int i = 0; i < iov_count; i++) {
        if (iov[i].len > 0) {
            memcpy(p, iov[i].base, iov[i].len);
            p += iov[i].len;
        }
    }
    c->out.len += 4 + total;
    if (c->connected && !c->writing) {
        weir_uv_conn_mark_dirty(c);
    }
    return 0;
}

static void uf_write_cb(uv_write_t *req, int status)
{
    weir_uv_conn *c = req->data;
    c->writing = false;
    /* A big buffer stays while writes keep filling a good part of it. */
    if (c->wbuf.cap > UF_KEEP_MAX && c->wbuf.len < c->wbuf.cap / 4) {
        uf_bytes_free(&c->wbuf);
    }
    c->wbuf.len = 0;
    if (status < 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET);
        return;
    }
    if (c->out.len > 0 || c->pub.closing) {
        weir_uv_conn_mark_dirty(c);
    }
}

/* Starts one write of everything queued: `out` and the empty `wbuf` swap. */
static void uf_write(weir_uv_conn *c)
{
    weir_uv_bytes tmp = c->wbuf;
    c->wbuf = c->out;
    c->out = tmp;
    uv_buf_t b;
    b.base = (char *)c->wbuf.data;
    b.len = c->wbuf.len;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, uf_write_cb);
    if (rc != 0) {
        weir_uv_conn_terminate(c, WEIR_E_CONNRESET);
        return;
    }
    c->writing = true;
}

static void uf_progress(weir_uv_conn *c)
{
    if (c->handle_closing || !c->connected || c->writing) {
        return;
    }
    if (c->out.len > 0) {
        uf_write(c);
    } else if (c->pub.closing && !c->shutdown_started) {
        weir_uv_conn_shutdown(c);
    }
}

void weir_uv_world_flush(weir_uv_world *w)
{
    while (w->dirty != NULL) {
        weir_uv_conn *c = w->dirty;
        weir_uv_conn_unmark_dirty(c);
        uf_progress(c);
    }
}
