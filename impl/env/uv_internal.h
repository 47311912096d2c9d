/* Internal types and cross-file calls of the real env backend (libuv).
 *
 * Layout: uv_world.c owns the loop, the nodes and the "<node>:<port>" address
 * map; uv_env.c builds each node's env (clocks, timers, log, ops table);
 * uv_net.c handles listeners and connection lifecycles; uv_frames.c the byte
 * streams (framing, output buffers, flushing); uv_fs.c the POSIX files.
 *
 * Ownership: a weir_uv_env lives until it is torn down and released (crash,
 * world destroy) AND every libuv handle it opened has reported its close
 * callback; `handles` counts those. Connections, listeners and files are
 * owned by their env.
 */
#ifndef WEIR_ENV_UV_INTERNAL_H
#define WEIR_ENV_UV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "env/env.h"
#include "env/timer_heap.h"
#include "env/world.h"

/* Longest node name (it is also a host name and a folder name). */
#define WEIR_UV_NAME_MAX 63

typedef struct weir_uv_world weir_uv_world;
typedef struct weir_uv_node weir_uv_node;
typedef struct weir_uv_env weir_uv_env;
typedef struct weir_uv_conn weir_uv_conn;
typedef struct weir_uv_listener weir_uv_listener;
typedef struct weir_uv_file weir_uv_file;

/* A growable byte buffer. */
typedef struct weir_uv_bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} weir_uv_bytes;

struct weir_uv_node {
    char name[WEIR_UV_NAME_MAX + 1];
    const weir_node_type *type;
    void *arg;
    weir_uv_env *env; /* NULL while down */
    char *root_dir;   /* its files' folder if rooted elsewhere, else NULL: <world root>/<name> */
    void *state;
    bool want_up;         /* start it when the world runs */
    uint64_t incarnation; /* starts so far */
};

/* Where a "<node>:<port>" listener really is. */
typedef struct weir_uv_addr {
    char host[WEIR_UV_NAME_MAX + 1];
    int port;
    int real_port;
    weir_uv_listener *listener;
} weir_uv_addr;

struct weir_uv_world {
    weir_world pub;
    uv_loop_t loop;
    char *root;
    uint64_t seed;
    weir_uv_node **nodes;
    size_t node_count;
    size_t node_cap;
    weir_uv_addr *addrs;
    size_t addr_count;
    size_t addr_cap;
    uint64_t conn_id_next;
    weir_uv_conn *dirty;  /* connections with output or a close to push */
    uv_prepare_t prepare; /* both flush `dirty` (before and after polling) */
    uv_check_t check;
    uv_timer_t deadline;  /* ends run() */
    weir_uv_env *current; /* env whose callback runs now, NULL for the driver */
    bool running;
    bool stop_requested;
};

struct weir_uv_env {
    weir_env pub;
    weir_uv_world *world;
    weir_uv_node *node;
    char *root; /* "<world root>/<node name>", or the node's own root_dir */
    weir_timer_heap timers;
    uv_timer_t timer; /* armed for the heap's earliest deadline */
    int64_t armed_ns; /* deadline `timer` is armed for, INT64_MAX if stopped */
    bool in_timers;   /* running due timers: re-arm once at the end */
    weir_uv_conn *conns;
    weir_uv_listener *listeners;
    weir_uv_file *files;
    int handles; /* libuv handles not yet closed */
    bool dead;   /* torn down: no callbacks into the node, writes refused */
};

struct weir_uv_conn {
    weir_conn pub; /* first: a weir_conn * is a weir_uv_conn * */
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    weir_uv_bytes in;   /* received bytes; whole frames are handed out from its start */
    size_t in_need;     /* full size (with prefix) of the partial frame in `in`, or 0 */
    bool in_busy;       /* a read filled the buffer: use the larger size */
    weir_uv_bytes out;  /* frames queued since the last write began */
    weir_uv_bytes wbuf; /* bytes of the write in flight */
    weir_timer *linger; /* waits for the peer's close after our shutdown */
    int reason;         /* for on_close */
    bool reason_set;
    bool notify; /* the node knows this connection: on_close is due */
    bool connected;
    bool writing;
    bool shutdown_started;
    bool handle_closing; /* uv_close called; on_close comes from its callback */
    bool dirty;
    weir_uv_conn *prev, *next;   /* env->conns */
    weir_uv_conn *dprev, *dnext; /* world->dirty */
};

struct weir_uv_listener {
    uv_tcp_t tcp;
    weir_uv_env *env;
    weir_conn_handlers h;
    bool named; /* registered in the world's address map */
    weir_uv_listener *prev, *next;
};

struct weir_uv_file {
    weir_uv_env *env;
    int fd;
    bool rdonly; /* opened with WEIR_F_RDONLY */
    weir_uv_file *prev, *next;
};

/* ---- uv_world.c ---- */
bool weir_uv_world_has_node(const weir_uv_world *w, const char *name);
/* Real port of a "<host>:<port>" listener of this world, or -1. */
int weir_uv_world_addr_lookup(const weir_uv_world *w, const char *host, int port);
WEIR_MUST_CHECK int weir_uv_world_addr_add(weir_uv_world *w, const char *host, int port,
                                           int real_port, weir_uv_listener *l);
void weir_uv_world_addr_remove(weir_uv_world *w, weir_uv_listener *l);

/* ---- uv_env.c ---- */
/* Creates a node's env (its folder too, unless the node is rooted at a
 * folder of its own, which must exist). Returns NULL with *err set. */
weir_uv_env *weir_uv_env_new(weir_uv_world *w, weir_uv_node *n, int *err);
/* Kills the env: connections reset, listeners closed, timers dropped. No
 * callback reaches the node afterwards. The node's files stay open (its
 * destroy may close them) and e stays valid until weir_uv_env_release. */
void weir_uv_env_teardown(weir_uv_env *e);
/* After teardown: closes the files the node left open, then e's own
 * handles. Memory goes once every handle has closed (from the loop). */
void weir_uv_env_release(weir_uv_env *e);
/* One of e's libuv handles has closed. */
void weir_uv_env_handle_closed(weir_uv_env *e);
/* Points e->timer at the heap's earliest deadline. */
void weir_uv_env_rearm(weir_uv_env *e);
int64_t weir_uv_clock_ns(void);

/* Marks e as the node whose code runs now; returns the previous one. */
static inline weir_uv_env *weir_uv_enter(weir_uv_env *e)
{
    weir_uv_env *prev = e->world->current;
    e->world->current = e;
    return prev;
}

static inline void weir_uv_leave(weir_uv_env *e, weir_uv_env *prev)
{
    e->world->current = prev;
}

/* ---- uv_net.c ---- */
int weir_uv_listen(weir_env *env, const char *addr, const weir_conn_handlers *h,
                   weir_listener **out);
void weir_uv_listener_close(weir_listener *listener);
int weir_uv_connect(weir_env *env, const char *addr, const weir_conn_handlers *h, weir_conn **out);
void weir_uv_close(weir_conn *conn);
/* Closes the socket now; on_close(reason) follows from the loop (the first
 * reason recorded wins). Idempotent. */
void weir_uv_conn_terminate(weir_uv_conn *c, int reason);
/* Sends our FIN once a closed connection's output is all written. */
void weir_uv_conn_shutdown(weir_uv_conn *c);
void weir_uv_net_teardown(weir_uv_env *e);

/* ---- uv_frames.c ---- */
int weir_uv_sendv(weir_conn *conn, const weir_iov *iov, int iov_count);
void weir_uv_conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);
void weir_uv_conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
/* Queues c for the next flush (output to write or a shutdown to start). */
void weir_uv_conn_mark_dirty(weir_uv_conn *c);
void weir_uv_conn_unmark_dirty(weir_uv_conn *c);
/* Pushes every dirty connection's output to its socket. */
void weir_uv_world_flush(weir_uv_world *w);
void weir_uv_conn_free_buffers(weir_uv_conn *c);

/* ---- uv_fs.c ---- */
int weir_uv_file_open(weir_env *env, const char *path, int flags, weir_file **out);
int weir_uv_file_pread(weir_file *f, void *buf, size_t len, uint64_t offset, size_t *got_out);
int weir_uv_file_pwrite(weir_file *f, const void *buf, size_t len, uint64_t offset);
int weir_uv_file_append(weir_file *f, const void *buf, size_t len);
int weir_uv_file_sync(weir_file *f);
int weir_uv_file_truncate(weir_file *f, uint64_t size);
int weir_uv_file_size(weir_file *f, uint64_t *size_out);
void weir_uv_file_close(weir_file *f);
int weir_uv_fs_rename(weir_env *env, const char *from, const char *to);
int weir_uv_fs_unlink(weir_env *env, const char *path);
int weir_uv_fs_mkdir(weir_env *env, const char *path);
int weir_uv_fs_rmdir(weir_env *env, const char *path);
int weir_uv_fs_list(weir_env *env, const char *dir, weir_dirlist *out);
int weir_uv_fs_stat(weir_env *env, const char *path, bool *is_dir_out, uint64_t *size_out);
void weir_uv_fs_teardown(weir_uv_env *e);
/* Maps an errno value to a WEIR_E_* code. */
int weir_uv_err_from_errno(int err);

#endif
