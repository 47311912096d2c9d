/* HTTP on the world's libuv loop through libmicrohttpd (uv_http.h).
 *
 * libmicrohttpd runs without threads (no MHD_USE_INTERNAL_POLLING_THREAD)
 * in epoll mode: all of its sockets sit in one epoll set whose descriptor
 * becomes readable when any of them has an event. A uv_poll watches that
 * descriptor; a uv_timer follows MHD_get_timeout (connection timeouts) and a
 * uv_idle stands in for a zero timeout (data already read and waiting to be
 * processed), so MHD_run runs again after the next poll instead of inside
 * the timer phase (see uv_env.c on libuv 1.44's zero-delay timers).
 *
 * A request arrives in up to three calls of the access handler: headers,
 * body chunks, end. The body is gathered, then the handler runs once as the
 * node, and its reply is queued. */
#include "env/uv_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/uv_internal.h"

struct weir_uv_http {
    weir_uv_world *world;
    char node[WEIR_UV_NAME_MAX + 1];
    weir_http_handler_fn fn;
    void *arg;
    struct MHD_Daemon *daemon;
    int port;
    uv_poll_t poll;   /* MHD's epoll descriptor */
    uv_timer_t timer; /* MHD_get_timeout > 0 */
    uv_idle_t again;  /* MHD_get_timeout == 0 */
    int handles;      /* libuv handles not yet closed */
    bool stopping;
};

/* One request being received. */
typedef struct uh_request {
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
} uh_request;

static const char uh_body_too_large[] = "{\"error\": \"request body too large\"}";
static const char uh_node_down[] = "{\"error\": \"the node is down\"}";
static const char uh_no_memory[] = "{\"error\": \"out of memory\"}";

/* ---- the loop side ---- */

static void uh_timer_cb(uv_timer_t *h);
static void uh_again_cb(uv_idle_t *h);

/* Runs MHD's pending work, then waits for what it says comes next. */
static void uh_run(weir_uv_http *s)
{
    if (s->stopping) {
        return;
    }
    MHD_run(s->daemon);
    MHD_UNSIGNED_LONG_LONG timeout_ms = 0;
    bool timed = MHD_get_timeout(s->daemon, &timeout_ms) == MHD_YES;
    if (timed && timeout_ms == 0) {
        uv_timer_stop(&s->timer);
        uv_idle_start(&s->again, uh_again_cb);
        return;
    }
    uv_idle_stop(&s->again);
    if (timed) {
        uv_timer_start(&s->timer, uh_timer_cb, (uint64_t)timeout_ms, 0);
    } else {
        uv_timer_stop(&s->timer);
    }
}

static void uh_poll_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    uh_run(h->data);
}

static void uh_timer_cb(uv_timer_t *h)
{
    uh_run(h->data);
}

static void uh_again_cb(uv_idle_t *h)
{
    uh_run(h->data);
}

/* ---- the request side ---- */

static weir_uv_env *uh_node_env(weir_uv_http *s)
{
    for (size_t i = 0; i < s->world->node_count; i++) {
        if (strcmp(s->world->nodes[i]->name, s->node) == 0) {
            return s->world->nodes[i]->env;
        }
    }
    return NULL;
}

static bool uh_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1) {
            c *= 2;
        }
        char *b = realloc(*buf, c);
        if (b == NULL) {
            return false;
        }
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

typedef struct uh_query {
    char *text;
    size_t len;
    size_t cap;
    bool failed;
} uh_query;

/* Appends s percent-encoded (RFC 3986 unreserved characters stay). */
static void uh_query_put(uh_query *q, const char *s)
{
    for (; *s != '\0' && !q->failed; s++) {
        unsigned char c = (unsigned char)*s;
        char enc[4];
        size_t n = 1;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            enc[0] = (char)c;
        } else {
            snprintf(enc, sizeof enc, "%%%02X", c);
            n = 3;
        }
        q->failed = !uh_append(&q->text, &q->len, &q->cap, enc, n);
    }
}

static enum MHD_Result uh_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    uh_query *q = cls;
    if (q->len > 0) {
        q->failed = q->failed || !uh_append(&q->text, &q->len, &q->cap, "&", 1);
    }
    uh_query_put(q, key);
    if (value != NULL) {
        q->failed = q->failed || !uh_append(&q->text, &q->len, &q->cap, "=", 1);
        uh_query_put(q, value);
    }
    return MHD_YES;
}

static enum MHD_Result uh_queue(struct MHD_Connection *conn, int status, char *body, size_t len,
                                bool owned, const char *content_type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (owned) {
            free(body);
        }
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type != NULL ? content_type : "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result uh_static(struct MHD_Connection *conn, int status, const char *text)
{
    return uh_queue(conn, status, (char *)text, strlen(text), false, NULL);
}

/* The whole request is in: hand it to the node. */
static enum MHD_Result uh_answer(weir_uv_http *s, struct MHD_Connection *conn, const char *url,
                                 const char *method, uh_request *r)
{
    if (r->too_large) {
        return uh_static(conn, MHD_HTTP_CONTENT_TOO_LARGE, uh_body_too_large);
    }
    weir_uv_env *env = uh_node_env(s);
    if (env == NULL) {
        return uh_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE, uh_node_down);
    }
    uh_query q = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, uh_query_arg, &q);
    if (q.failed) {
        free(q.text);
        return uh_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, uh_no_memory);
    }
    weir_http_request req = {
        .method = method,
        .path = url,
        .query = q.text != NULL ? q.text : "",
        .body = r->body != NULL ? r->body : "",
        .body_len = r->len,
    };
    weir_http_reply reply = {.status = 500};
    weir_uv_env *prev = weir_uv_enter(env);
    s->fn(s->arg, &req, &reply);
    weir_uv_leave(env, prev);
    free(q.text);
    if (reply.body == NULL) {
        return uh_queue(conn, reply.status, (char *)"", 0, false, reply.content_type);
    }
    return uh_queue(conn, reply.status, reply.body, reply.body_len, true, reply.content_type);
}

static enum MHD_Result uh_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    uh_request *r = *con_cls;
    if (r == NULL) { /* the headers: make room for the body */
        r = calloc(1, sizeof *r);
        *con_cls = r;
        return r != NULL ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > WEIR_HTTP_BODY_BYTES_MAX ||
            !uh_append(&r->body, &r->len, &r->cap, upload_data, n)) {
            r->too_large = true; /* read the rest, answer 413 at the end */
        }
        return MHD_YES;
    }
    return uh_answer(cls, conn, url, method, r);
}

static void uh_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    uh_request *r = *con_cls;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* ---- start and stop ---- */

static bool uh_address(const char *host, int port, struct sockaddr_in *sa, char *why,
                       size_t why_size)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (port < 0 || port > 65535) {
        snprintf(why, why_size, "port %d is not in 0..65535", port);
        return false;
    }
    sa->sin_port = htons((uint16_t)port);
    const char *ip = host == NULL || strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
        snprintf(why, why_size, "'%s' is not an IPv4 address or localhost", host);
        return false;
    }
    return true;
}

static void uh_closed(uv_handle_t *h)
{
    weir_uv_http *s = h->data;
    if (--s->handles == 0) {
        free(s);
    }
}

weir_uv_http *weir_uv_http_start(weir_world *world, const char *node, const char *host, int port,
                                 weir_http_handler_fn fn, void *arg, char *why, size_t why_size)
{
    WEIR_ASSERT(world != NULL && fn != NULL && node != NULL);
    if (strcmp(world->ops->backend, "real") != 0 || strlen(node) > WEIR_UV_NAME_MAX) {
        snprintf(why, why_size, "HTTP needs a real world and a node name");
        return NULL;
    }
    struct sockaddr_in sa;
    if (!uh_address(host, port, &sa, why, why_size)) {
        return NULL;
    }
    weir_uv_http *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    s->world = world->impl;
    snprintf(s->node, sizeof s->node, "%s", node);
    s->fn = fn;
    s->arg = arg;
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, uh_access, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, uh_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    const union MHD_DaemonInfo *epoll_info =
        s->daemon != NULL ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    const union MHD_DaemonInfo *port_info =
        s->daemon != NULL ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (epoll_info == NULL || port_info == NULL) {
        snprintf(why, why_size, "cannot listen on %s:%d (in use, or not allowed)",
                 host != NULL ? host : "127.0.0.1", port);
        if (s->daemon != NULL) {
            MHD_stop_daemon(s->daemon);
        }
        free(s);
        return NULL;
    }
    s->port = port_info->port;
    uv_loop_t *loop = &s->world->loop;
    uv_poll_init(loop, &s->poll, epoll_info->epoll_fd);
    uv_timer_init(loop, &s->timer);
    uv_idle_init(loop, &s->again);
    s->poll.data = s->timer.data = s->again.data = s;
    s->handles = 3;
    uv_poll_start(&s->poll, UV_READABLE, uh_poll_cb);
    uh_run(s);
    return s;
}

int weir_uv_http_port(const weir_uv_http *server)
{
    return server->port;
}

void weir_uv_http_stop(weir_uv_http *server)
{
    if (server == NULL || server->stopping) {
        return;
    }
    server->stopping = true;
    /* stop watching the epoll descriptor before MHD closes it */
    uv_close((uv_handle_t *)&server->poll, uh_closed);
    uv_close((uv_handle_t *)&server->timer, uh_closed);
    uv_close((uv_handle_t *)&server->again, uh_closed);
    MHD_stop_daemon(server->daemon);
    server->daemon = NULL;
}
