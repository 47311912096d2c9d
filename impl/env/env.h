/* weir_env: the I/O + clock layer every node is written against.
 *
 * Broker, replication, controller, client and flow code never call the OS.
 * They call the inline wrappers below, which dispatch through a versioned
 * table of operations (weir_env_ops). Two backends fill the table: the real
 * one on libuv (impl/env/uv_*.c) and the simulated one on SimGrid
 * (sim/sim_env.c). Backend state hangs off env->impl; there are no globals, so
 * many nodes share one process.
 *
 * Threading: a node's env is used only from that node's event callbacks
 * (real: the libuv loop thread; sim: the node's actor). Nothing here blocks on
 * the network. File calls are synchronous (in the sim they take simulated time).
 *
 * Events a node receives: connection opened, frame received, connection
 * closed, timer fired. Every callback runs to completion before the next.
 */
#ifndef WEIR_ENV_ENV_H
#define WEIR_ENV_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/assert.h"
#include "core/err.h"
#include "core/prng.h"

#define WEIR_ENV_OPS_VERSION 1

/* Default upper bound on a frame's payload (Kafka's socket.request.max.bytes). */
#define WEIR_FRAME_BYTES_MAX_DEFAULT (100 * 1024 * 1024)

typedef struct weir_env weir_env;
typedef struct weir_timer weir_timer;
typedef struct weir_conn weir_conn;
typedef struct weir_listener weir_listener;
typedef struct weir_file weir_file;

typedef void (*weir_timer_cb)(weir_env *env, void *arg);

/* Connection events. All three are optional (NULL = ignore).
 * - on_open: an outbound connect completed, or an inbound one was accepted.
 * - on_frame: one whole frame's payload (without its 4-byte size); the bytes
 *   are valid only during the call.
 * - on_close: called exactly once per connection, for every cause (peer
 *   closed, reset, refused, frame too large, local weir_conn_close); reason is
 *   0 for an orderly close by either side, else a WEIR_E_* code. Never called
 *   from inside weir_conn_close or weir_conn_send: always from the event loop.
 *   After it returns the connection handle is invalid. */
typedef struct weir_conn_handlers {
    void (*on_open)(weir_conn *conn, void *arg);
    void (*on_frame)(weir_conn *conn, const uint8_t *payload, size_t len, void *arg);
    void (*on_close)(weir_conn *conn, int reason, void *arg);
    void *arg;
} weir_conn_handlers;

/* One piece of a frame's payload for weir_conn_sendv. */
typedef struct weir_iov {
    const void *base;
    size_t len;
} weir_iov;

/* Open flags for weir_file_open. */
enum {
    WEIR_F_CREATE = 1 << 0, /* create if missing */
    WEIR_F_EXCL = 1 << 1,   /* with CREATE: fail with WEIR_E_EXIST if present */
    WEIR_F_TRUNC = 1 << 2,  /* cut to 0 bytes on open */
    WEIR_F_RDONLY = 1 << 3, /* reading only (works on read-only files and mounts);
                               writes, truncation and sync fail with WEIR_E_INVAL */
};

/* Names in a folder, sorted by byte order (so iteration is deterministic).
 * Free with weir_fs_list_free. */
typedef struct weir_dirlist {
    char **names;
    size_t count;
} weir_dirlist;

typedef enum weir_log_level {
    WEIR_LOG_ERROR = 0,
    WEIR_LOG_WARN = 1,
    WEIR_LOG_INFO = 2,
    WEIR_LOG_DEBUG = 3,
} weir_log_level;

/* The backend's table. Paths are relative to the node's own root ("a/b.log",
 * no leading '/', no ".." components); addresses are "host:port". */
typedef struct weir_env_ops {
    int version; /* WEIR_ENV_OPS_VERSION */
    const char *backend; /* "real" or "sim" */

    /* clock */
    int64_t (*now_ns)(weir_env *env);  /* monotonic, ns since an arbitrary origin */
    int64_t (*wall_ms)(weir_env *env); /* Unix epoch ms, for record timestamps */

    /* timers: fire once, in deadline order; equal deadlines fire in start order */
    weir_timer *(*timer_start)(weir_env *env, int64_t delay_ns, weir_timer_cb cb, void *arg);
    void (*timer_cancel)(weir_env *env, weir_timer *timer);

    /* network */
    int (*listen)(weir_env *env, const char *addr, const weir_conn_handlers *h,
                  weir_listener **out);
    void (*listener_close)(weir_listener *listener);
    int (*connect)(weir_env *env, const char *addr, const weir_conn_handlers *h,
                   weir_conn **out);
    int (*sendv)(weir_conn *conn, const weir_iov *iov, int iov_count);
    void (*close)(weir_conn *conn);

    /* files */
    int (*file_open)(weir_env *env, const char *path, int flags, weir_file **out);
    int (*file_pread)(weir_file *f, void *buf, size_t len, uint64_t offset, size_t *got_out);
    int (*file_pwrite)(weir_file *f, const void *buf, size_t len, uint64_t offset);
    int (*file_append)(weir_file *f, const void *buf, size_t len);
    int (*file_sync)(weir_file *f);
    int (*file_truncate)(weir_file *f, uint64_t size);
    int (*file_size)(weir_file *f, uint64_t *size_out);
    void (*file_close)(weir_file *f);
    int (*fs_rename)(weir_env *env, const char *from, const char *to);
    int (*fs_unlink)(weir_env *env, const char *path);
    int (*fs_mkdir)(weir_env *env, const char *path);
    int (*fs_rmdir)(weir_env *env, const char *path);
    int (*fs_list)(weir_env *env, const char *dir, weir_dirlist *out);
    int (*fs_stat)(weir_env *env, const char *path, bool *is_dir_out, uint64_t *size_out);

    /* one formatted log line (no trailing newline) */
    void (*log_write)(weir_env *env, weir_log_level level, const char *line);
} weir_env_ops;

/* The part of a connection both backends share; backends embed it first. */
struct weir_conn {
    weir_env *env;
    weir_conn_handlers h;
    void *data;        /* the node's per-connection state */
    uint64_t id;       /* unique within the world, stable across runs in the sim */
    char peer[64];     /* "host:port" of the other side, for log lines */
    bool closing;      /* weir_conn_close called or close pending */
};

struct weir_env {
    const weir_env_ops *ops;
    void *impl;             /* backend state */
    const char *name;       /* node name, for logs and traces */
    weir_prng prng;         /* seeded by the backend */
    uint32_t frame_bytes_max; /* inbound frames larger than this close the connection */
    weir_log_level log_level;
};

/* ---- thin wrappers: the only way code above the env reaches the backend ---- */

/* Monotonic time in ns. */
static inline int64_t weir_now_ns(weir_env *env)
{
    return env->ops->now_ns(env);
}

/* Wall clock, Unix epoch ms (may jump; do not measure intervals with it). */
static inline int64_t weir_wall_ms(weir_env *env)
{
    return env->ops->wall_ms(env);
}

/* Starts a one-shot timer. delay_ns >= 0. The handle stays valid until the
 * callback begins or weir_timer_cancel is called; never NULL. */
static inline weir_timer *weir_timer_start(weir_env *env, int64_t delay_ns, weir_timer_cb cb,
                                           void *arg)
{
    WEIR_ASSERT(delay_ns >= 0);
    WEIR_ASSERT(cb != NULL);
    return env->ops->timer_start(env, delay_ns, cb, arg);
}

/* Cancels a pending timer; its callback will never run. */
static inline void weir_timer_cancel(weir_env *env, weir_timer *timer)
{
    WEIR_ASSERT(timer != NULL);
    env->ops->timer_cancel(env, timer);
}

static inline uint64_t weir_random(weir_env *env)
{
    return weir_prng_next(&env->prng);
}

static inline uint64_t weir_random_below(weir_env *env, uint64_t bound)
{
    return weir_prng_below(&env->prng, bound);
}

/* Listens on addr ("host:port"); accepted connections get h. */
WEIR_MUST_CHECK static inline int weir_listen(weir_env *env, const char *addr,
                                              const weir_conn_handlers *h, weir_listener **out)
{
    return env->ops->listen(env, addr, h, out);
}

static inline void weir_listener_close(weir_env *env, weir_listener *listener)
{
    env->ops->listener_close(listener);
}

/* Starts connecting to addr. On 0, *out is a connection that reports
 * on_open or on_close later; frames sent before on_open are queued. */
WEIR_MUST_CHECK static inline int weir_connect(weir_env *env, const char *addr,
                                               const weir_conn_handlers *h, weir_conn **out)
{
    return env->ops->connect(env, addr, h, out);
}

/* Sends one frame whose payload is the concatenation of iov; the backend adds
 * the 4-byte size and copies the bytes (the caller keeps its buffers).
 * Returns WEIR_E_CLOSED after close, WEIR_E_FRAME_SIZE over the limit. */
WEIR_MUST_CHECK static inline int weir_conn_sendv(weir_conn *conn, const weir_iov *iov,
                                                  int iov_count)
{
    WEIR_ASSERT(iov_count >= 0);
    return conn->env->ops->sendv(conn, iov, iov_count);
}

WEIR_MUST_CHECK static inline int weir_conn_send(weir_conn *conn, const void *payload, size_t len)
{
    weir_iov iov = {payload, len};
    return weir_conn_sendv(conn, &iov, 1);
}

/* Closes the connection: queued frames are still delivered, then the peer
 * sees an orderly close. on_close follows later from the event loop. */
static inline void weir_conn_close(weir_conn *conn)
{
    conn->env->ops->close(conn);
}

/* No more callbacks for this connection (not even on_close): for an owner
 * that goes away before the connection's close completes. */
static inline void weir_conn_detach(weir_conn *conn)
{
    conn->h.on_open = NULL;
    conn->h.on_frame = NULL;
    conn->h.on_close = NULL;
    conn->h.arg = NULL;
}

WEIR_MUST_CHECK static inline int weir_file_open(weir_env *env, const char *path, int flags,
                                                 weir_file **out)
{
    return env->ops->file_open(env, path, flags, out);
}

/* Reads up to len bytes at offset; *got_out < len only at end of file. */
WEIR_MUST_CHECK static inline int weir_file_pread(weir_env *env, weir_file *f, void *buf,
                                                  size_t len, uint64_t offset, size_t *got_out)
{
    return env->ops->file_pread(f, buf, len, offset, got_out);
}

/* Writes len bytes at offset, growing the file (zero-filled) if needed. */
WEIR_MUST_CHECK static inline int weir_file_pwrite(weir_env *env, weir_file *f, const void *buf,
                                                   size_t len, uint64_t offset)
{
    return env->ops->file_pwrite(f, buf, len, offset);
}

WEIR_MUST_CHECK static inline int weir_file_append(weir_env *env, weir_file *f, const void *buf,
                                                   size_t len)
{
    return env->ops->file_append(f, buf, len);
}

/* Makes the file's data durable: in the sim only synced bytes survive a crash. */
WEIR_MUST_CHECK static inline int weir_file_sync(weir_env *env, weir_file *f)
{
    return env->ops->file_sync(f);
}

WEIR_MUST_CHECK static inline int weir_file_truncate(weir_env *env, weir_file *f, uint64_t size)
{
    return env->ops->file_truncate(f, size);
}

WEIR_MUST_CHECK static inline int weir_file_size(weir_env *env, weir_file *f, uint64_t *size_out)
{
    return env->ops->file_size(f, size_out);
}

static inline void weir_file_close(weir_env *env, weir_file *f)
{
    env->ops->file_close(f);
}

/* Namespace changes (creating a file, rename, unlink, mkdir, rmdir) are
 * durable when they return, on both backends: the real one syncs the folder,
 * the simulated disk never loses them at a crash. File data needs
 * weir_file_sync. */

/* Renames atomically, replacing an existing file at `to`. */
WEIR_MUST_CHECK static inline int weir_fs_rename(weir_env *env, const char *from, const char *to)
{
    return env->ops->fs_rename(env, from, to);
}

WEIR_MUST_CHECK static inline int weir_fs_unlink(weir_env *env, const char *path)
{
    return env->ops->fs_unlink(env, path);
}

/* Makes one folder; its parent must exist. WEIR_E_EXIST if it does already. */
WEIR_MUST_CHECK static inline int weir_fs_mkdir(weir_env *env, const char *path)
{
    return env->ops->fs_mkdir(env, path);
}

/* mkdir -p: makes every folder of path (relative to the node's root) that
 * does not exist yet; existing ones are fine. WEIR_E_INVAL for an empty path
 * or one of 1024 bytes or more; else the first error weir_fs_mkdir gives. */
WEIR_MUST_CHECK int weir_fs_mkdirs(weir_env *env, const char *path);

WEIR_MUST_CHECK static inline int weir_fs_rmdir(weir_env *env, const char *path)
{
    return env->ops->fs_rmdir(env, path);
}

/* Lists a folder ("" is the node's root), names sorted. */
WEIR_MUST_CHECK static inline int weir_fs_list(weir_env *env, const char *dir, weir_dirlist *out)
{
    return env->ops->fs_list(env, dir, out);
}

WEIR_MUST_CHECK static inline int weir_fs_stat(weir_env *env, const char *path, bool *is_dir_out,
                                               uint64_t *size_out)
{
    return env->ops->fs_stat(env, path, is_dir_out, size_out);
}

/* Frees a list filled by weir_fs_list; safe on a zeroed list. */
void weir_fs_list_free(weir_dirlist *list);

/* Logs one line at a level (printf-style) if level <= env->log_level. */
void weir_log(weir_env *env, weir_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define weir_log_error(env, ...) weir_log((env), WEIR_LOG_ERROR, __VA_ARGS__)
#define weir_log_warn(env, ...) weir_log((env), WEIR_LOG_WARN, __VA_ARGS__)
#define weir_log_info(env, ...) weir_log((env), WEIR_LOG_INFO, __VA_ARGS__)
#define weir_log_debug(env, ...) weir_log((env), WEIR_LOG_DEBUG, __VA_ARGS__)

/* Splits "host:port" into its parts. host_out has room for host_size bytes.
 * Returns WEIR_E_INVAL on a missing ':' or a port outside 0..65535. */
WEIR_MUST_CHECK int weir_addr_split(const char *addr, char *host_out, size_t host_size,
                                    int *port_out);

/* Shared by both backends: checks a node-relative path (non-empty unless
 * allow_root, no leading '/', no "." or ".." components, no empty components). */
bool weir_path_is_valid(const char *path, bool allow_root);

#endif
