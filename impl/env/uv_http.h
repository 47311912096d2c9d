/* A small HTTP server (libmicrohttpd) on a real world's libuv loop, for
 * management APIs such as `weir flow`'s.
 *
 * Single threaded: libmicrohttpd runs in external-polling epoll mode; its
 * epoll descriptor is watched by a uv_poll and its timeouts by a uv_timer,
 * so every request is handled on the loop, between the node's other events,
 * as if it were one of the node's own callbacks (the handler may call the
 * node directly). A request whose node is down gets 503.
 *
 * Bodies: requests up to WEIR_HTTP_BODY_BYTES_MAX (413 beyond); replies are
 * whatever the handler gives (application/json unless it says otherwise).
 */
#ifndef WEIR_ENV_UV_HTTP_H
#define WEIR_ENV_UV_HTTP_H

#include <stddef.h>

#include "env/world.h"

#define WEIR_HTTP_BODY_BYTES_MAX (1024u * 1024u)

typedef struct weir_http_request {
    const char *method; /* "GET", "PUT", ... */
    const char *path;   /* percent-decoded, without the query */
    const char *query;  /* "k=v&k2=v2", percent-encoded; "" when none */
    const char *body;   /* body_len bytes, NUL-terminated; "" when none */
    size_t body_len;
} weir_http_request;

typedef struct weir_http_reply {
    int status;
    char *body; /* malloc'd, handed to the server; NULL: an empty body */
    size_t body_len;
    const char *content_type; /* static text; NULL: application/json */
} weir_http_reply;

/* Fills *reply for *req; runs as the node (its env is the current one). */
typedef void (*weir_http_handler_fn)(void *arg, const weir_http_request *req,
                                     weir_http_reply *reply);

typedef struct weir_uv_http weir_uv_http;

/* Listens on host:port (an IPv4 literal or "localhost"; port 0 picks a free
 * one) and serves node's requests through fn on world's loop (a real world,
 * weir_uv_world_new). NULL with why on failure (bad address, port in use). */
weir_uv_http *weir_uv_http_start(weir_world *world, const char *node, const char *host, int port,
                                 weir_http_handler_fn fn, void *arg, char *why, size_t why_size);

/* The port really bound. */
int weir_uv_http_port(const weir_uv_http *server);

/* Closes the listener and every connection; the memory goes once the loop
 * has closed the handles (the next run, or the world's destroy). NULL is a
 * no-op. */
void weir_uv_http_stop(weir_uv_http *server);

#endif
