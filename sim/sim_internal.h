/* Internal structures of the sim backend, shared by its files:
 * sim_world.c (nodes, incarnations, actors, crash/restart, platform),
 * sim_env.c (clock, timers, log, the dispatch loop), sim_net.c (connections
 * over mailboxes), sim_fs.c (the per-host durable file system) and
 * sim_trace.c (trace hash).
 *
 * Ownership: the world owns nodes; a node owns its file system (which
 * outlives crashes) and its current incarnation; an incarnation owns its env,
 * timers, endpoints, listeners and open files, all freed when it dies.
 */
#ifndef WEIR_SIM_INTERNAL_H
#define WEIR_SIM_INTERNAL_H

#include <simgrid/actor.h>
#include <simgrid/comm.h>
#include <simgrid/host.h>
#include <simgrid/mailbox.h>

#include "env/timer_heap.h"
#include "sim.h"

typedef struct sim_world sim_world;
typedef struct sim_node sim_node;
typedef struct sim_inc sim_inc;
typedef struct sim_fs sim_fs;

/* ---- trace ---- */

typedef enum sim_event_kind {
    SIM_EV_START = 1,
    SIM_EV_CRASH = 2,
    SIM_EV_RESTART = 3,
    SIM_EV_TIMER = 4,
    SIM_EV_OPEN = 5,
    SIM_EV_FRAME = 6,
    SIM_EV_CLOSE = 7,
} sim_event_kind;

void sim_trace_event(sim_world *w, const sim_node *node, sim_event_kind kind, uint64_t size,
                     uint64_t conn_id);

/* ---- network messages (one SimGrid mailbox message each) ---- */

typedef enum sim_msg_kind {
    SIM_MSG_SYN = 1,    /* open a connection to a listener (addr in payload) */
    SIM_MSG_SYNACK = 2, /* accepted: src_conn is the acceptor's endpoint */
    SIM_MSG_REFUSED = 3,/* nobody listens there */
    SIM_MSG_DATA = 4,   /* one frame's payload */
    SIM_MSG_FIN = 5,    /* orderly close, after all earlier DATA */
    SIM_MSG_RESET = 6,  /* the peer crashed */
    SIM_MSG_WAKE = 7,   /* no payload: ends the node's wait so it runs its due timers */
} sim_msg_kind;

typedef struct sim_msg {
    sim_msg_kind kind;
    uint32_t src_node; /* sender's node index */
    uint32_t src_inc;  /* sender's incarnation */
    uint32_t dst_inc;  /* incarnation it is addressed to */
    uint64_t dst_conn; /* receiving endpoint id (0 for SYN) */
    uint64_t src_conn; /* sending endpoint id */
    uint64_t seq;      /* per-endpoint order of DATA and FIN */
    size_t len;
    struct sim_msg *next; /* reorder buffer link */
    uint8_t payload[];
} sim_msg;

/* Size charged on the links for control messages (a TCP/IP header). */
#define SIM_CONTROL_BYTES 40

typedef enum sim_conn_state {
    SIM_CONN_CONNECTING = 1,
    SIM_CONN_OPEN = 2,
    SIM_CONN_CLOSING = 3, /* local close requested; on_close pending */
    SIM_CONN_DEAD = 4,    /* on_close pending after a peer close or reset */
} sim_conn_state;

typedef struct sim_conn {
    weir_conn base; /* first: weir_conn * converts to sim_conn * */
    sim_inc *inc;
    sim_conn_state state;
    int close_reason;
    sim_node *peer_node;
    uint32_t peer_inc;
    uint64_t peer_conn;   /* 0 until SYNACK */
    uint64_t send_seq;    /* next seq to send */
    uint64_t recv_seq;    /* next seq expected */
    sim_msg *reorder;     /* early arrivals, sorted by seq */
    sim_msg *queued;      /* frames sent before open, in order */
    sim_msg **queued_tail;
    weir_timer *timer;    /* connect timeout or pending on_close */
    bool close_on_open;   /* closed while connecting: flush queued frames, then FIN */
    struct sim_conn *next; /* in the incarnation's list */
} sim_conn;

struct weir_listener {
    sim_inc *inc;
    int port;
    weir_conn_handlers h;
    struct weir_listener *next;
};

void sim_net_handle(sim_inc *inc, sim_msg *msg); /* takes msg */
void sim_net_teardown(sim_inc *inc);             /* frees endpoints and listeners, no SimGrid calls */
void sim_net_reset_peers(sim_inc *inc);          /* tell live peers the node crashed */
void sim_net_reset_with(sim_inc *inc, const sim_node *peer); /* reset every connection to peer */
extern const weir_env_ops sim_env_ops;
int sim_net_listen(weir_env *env, const char *addr, const weir_conn_handlers *h,
                   weir_listener **out);
void sim_net_listener_close(weir_listener *l);
int sim_net_connect(weir_env *env, const char *addr, const weir_conn_handlers *h,
                    weir_conn **out);
int sim_net_sendv(weir_conn *conn, const weir_iov *iov, int iov_count);
void sim_net_close(weir_conn *conn);

/* ---- files ---- */

sim_fs *sim_fs_new(uint64_t bytes_max);
void sim_fs_free(sim_fs *fs);
/* Drops every unsynced change. With `torn` (NULL: clean loss), a file that
 * grew since its last sync keeps a random prefix of the new bytes, and half
 * the time zeros instead of them (the size reached the disk, the data did
 * not): the torn tails and garbage a real crash leaves. */
void sim_fs_crash(sim_fs *fs, weir_prng *torn);
/* Flips one bit of a durable byte in a file chosen with prng (see weir_sim_bit_flip). */
int sim_fs_bit_flip(sim_fs *fs, weir_prng *prng, const char *prefix, const char *suffix, char *what,
                    size_t what_size);
void sim_fs_close_all(sim_inc *inc);

int sim_fs_open(weir_env *env, const char *path, int flags, weir_file **out);
int sim_fs_pread(weir_file *f, void *buf, size_t len, uint64_t offset, size_t *got_out);
int sim_fs_pwrite(weir_file *f, const void *buf, size_t len, uint64_t offset);
int sim_fs_append(weir_file *f, const void *buf, size_t len);
int sim_fs_sync(weir_file *f);
int sim_fs_truncate(weir_file *f, uint64_t size);
int sim_fs_size(weir_file *f, uint64_t *size_out);
void sim_fs_close(weir_file *f);
int sim_fs_rename(weir_env *env, const char *from, const char *to);
int sim_fs_unlink(weir_env *env, const char *path);
int sim_fs_mkdir(weir_env *env, const char *path);
int sim_fs_rmdir(weir_env *env, const char *path);
int sim_fs_list(weir_env *env, const char *dir, weir_dirlist *out);
int sim_fs_stat(weir_env *env, const char *path, bool *is_dir_out, uint64_t *size_out);

/* ---- nodes and incarnations ---- */

struct sim_inc {
    sim_node *node;
    uint32_t number; /* 1 for the first start, +1 per restart */
    weir_env env;
    weir_timer_heap timers;
    sg_mailbox_t mailbox;
    sim_conn *conns;
    weir_listener *listeners;
    weir_file *files; /* open handles (sim_fs's type), freed at death */
    void *state;      /* the node's, from type->start */
    bool dead;        /* crashed or ended: env calls are inert */
    int port_next;    /* next ephemeral port for outbound connections */
    sg_actor_t actor;
};

/* A node's faults and disk, set by the chaos API (sim.h); they belong to the
 * host, so they outlive incarnations. */
typedef struct sim_node_faults {
    int64_t paused_until_ns; /* 0: running */
    int64_t wall_offset_ns;
    int64_t mono_offset_ns;
    double clock_rate;     /* the node's clocks run this fast (skew); 1 by default */
    int64_t rate_since_ns; /* when clock_rate took effect (its drift counts from here) */
    bool fsync_eio;
    bool disk_full;
    bool tear_next_crash;
    double disk_write_bps; /* 0: no simulated time */
    double disk_read_bps;
    int64_t disk_sync_ns;
} sim_node_faults;

struct sim_node {
    sim_world *world;
    sim_node_faults faults;
    uint32_t index; /* order of node_add: stable across runs */
    char name[64];
    const weir_node_type *type;
    void *arg;
    sg_host_t host;
    sim_fs *fs;      /* survives crashes */
    sim_inc *inc;    /* NULL while down */
    uint32_t inc_count;
    bool up;
};

struct sim_world {
    weir_world base;
    weir_sim_config cfg;
    sim_node **nodes;
    size_t node_count;
    sim_conn **conns; /* by endpoint id; NULL once freed */
    size_t conn_cap;
    uint64_t conn_next_id;
    uint64_t trace_hash;
    uint64_t event_count;
    weir_prng crash_prng; /* torn-crash choices, from the seed */
    uint64_t *cuts;       /* one-way cuts: (from node index << 32) | to node index */
    size_t n_cuts;
    size_t cap_cuts;
    struct sim_held *held; /* frames waiting on a cut link, in send order */
    size_t n_held;
    size_t cap_held;
    bool running;
    bool stopping;
};

/* Runs the incarnation's events until it dies or the world stops (sim_env.c). */
void sim_env_dispatch_loop(sim_inc *inc);

sim_world *sim_world_of(weir_env *env);
sim_inc *sim_inc_of(weir_env *env);
sim_node *sim_world_node_by_name(sim_world *w, const char *name);
int64_t sim_now_ns(void);

/* True if frames from node index `from` to node index `to` are dropped. */
bool sim_world_is_cut(const sim_world *w, uint32_t from, uint32_t to);

/* Sends a message to a node's current incarnation, if it is the one named.
 * On a cut link, connection traffic (data, close, reset) is held and goes
 * out when the link heals, as TCP retransmits through a partition; opening
 * handshakes are dropped (the connect times out). */
void sim_send(sim_node *to, uint32_t to_inc, sim_msg *msg, size_t sim_bytes);

typedef struct sim_held {
    sim_node *to;
    uint32_t to_inc;
    sim_msg *msg;
    size_t bytes;
} sim_held;

/* Sends the held frames whose link is no longer cut (sim_net.c). */
void sim_net_release_held(sim_world *w);

/* Charges simulated time on the calling actor (disk, fsync). */
void sim_charge_ns(int64_t ns);

#endif
