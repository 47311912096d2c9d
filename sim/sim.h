/* The simulated world: weir nodes as SimGrid actors on simulated hosts.
 *
 * Every node gets its own host; hosts are joined by one private link each
 * (latency and bandwidth from the config), so a frame between two nodes
 * crosses two links and SimGrid charges both. Files live in an in-memory file
 * system per host that survives crashes: fsync makes data durable, a crash
 * drops what was not synced. Time is SimGrid's clock; randomness comes from
 * the config's seed, the node's name and its incarnation.
 *
 * SimGrid's engine is a process-wide singleton: create at most one sim world
 * per process (tests fork a child per run).
 *
 * Every delivered event (node start, crash, restart, timer, connection open,
 * frame, close) is added to a trace hash; the same config + seed gives the
 * same hash.
 */
#ifndef WEIR_SIM_H
#define WEIR_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "env/world.h"

typedef struct weir_sim_config {
    uint64_t seed;
    int64_t link_latency_ns;      /* one-way, host to host; default 100 us */
    double link_bandwidth_bps;    /* bytes/s per host link; default 125e6 (1 Gbps) */
    double disk_write_bps;        /* 0 = writes take no simulated time */
    double disk_read_bps;         /* 0 = reads take no simulated time */
    int64_t disk_sync_ns;         /* time one fsync takes; default 0 */
    uint64_t disk_bytes_max;      /* per host; 0 = unlimited, else ENOSPC past it */
    bool disk_torn_crash;         /* a crash keeps a random part of unsynced appends (below) */
    int64_t connect_timeout_ns;   /* connect to a dead host fails after this; default 1 s */
    int64_t wall_epoch_ms;        /* wall clock at time 0; default 2026-01-01T00:00:00Z */
    weir_log_level log_level;     /* node log lines to stderr; default WARN */
    FILE *trace_out;              /* if set, one line per traced event */
} weir_sim_config;

/* Fills a config with the defaults above and the given seed. */
void weir_sim_config_default(weir_sim_config *cfg, uint64_t seed);

/* Creates the sim world (and initialises SimGrid). The config is copied.
 * Returns NULL if a sim world already exists in this process. */
weir_world *weir_sim_world_new(const weir_sim_config *cfg);

/* The trace hash of everything delivered so far. */
uint64_t weir_sim_trace_hash(weir_world *w);

/* Events delivered so far (the trace's length). */
uint64_t weir_sim_event_count(weir_world *w);

/* Simulated time now, in ns. */
int64_t weir_sim_now_ns(weir_world *w);

/* Changes a node's link at run time (slow link / limping node). */
int weir_sim_link_set(weir_world *w, const char *node, int64_t latency_ns, double bandwidth_bps);

/* Stops (cut) or lets through again (!cut) every frame from node `from` to
 * node `to`: one way; cut both ways for a partition. As TCP behind a
 * partition: frames of open connections wait and arrive after the heal (in
 * order; the owners' own timeouts may give up first), new connections time
 * out. */
int weir_sim_cut(weir_world *w, const char *from, const char *to, bool cut);

/* The link between two nodes only (both directions): extra one-way latency
 * and a bandwidth cap, on top of each node's own link. Defaults: 0 and 1 TB/s. */
int weir_sim_pair_set(weir_world *w, const char *a, const char *b, int64_t latency_ns,
                      double bandwidth_bps);

/* Undoes every cut. */
void weir_sim_heal_all(weir_world *w);

/* Changes every host's disk speed (0 = takes no simulated time), e.g. before
 * oracles read the logs once the run is over. */
void weir_sim_disk_set(weir_world *w, double write_bps, double read_bps, int64_t sync_ns);

/* ---- faults on one node (chaos/, scenario faults) ----
 * Each returns WEIR_E_NOENT for an unknown node name. */

/* One node's disk speed (slow disk); 0 = takes no simulated time. */
int weir_sim_node_disk_set(weir_world *w, const char *node, double write_bps, double read_bps,
                           int64_t sync_ns);

/* A stall (a long GC pause, a frozen VM): from now until now + duration the
 * node handles nothing; frames and timers that come due wait and are handled
 * when it resumes. Its peers see a silent node, not a closed connection. */
int weir_sim_pause(weir_world *w, const char *node, int64_t duration_ns);

/* Offsets added to what the node reads from its clocks: the wall clock
 * (weir_wall_ms) and the monotonic clock (weir_now_ns). Absolute values, so
 * 0, 0 puts it right again; negative is a jump back. Survives restarts (it
 * is the host's clock). Timers still fire after the delay they were given. */
int weir_sim_clock_set(weir_world *w, const char *node, int64_t wall_offset_ns,
                       int64_t mono_offset_ns);

/* Skews the node's clocks: from now on both run `rate` times as fast as
 * true time (1.01: 1 % fast), and its timers, measured by its own clock,
 * fire that much sooner. What it gained before stays (the clock goes on
 * from where it is); weir_sim_clock_set steps it back. 0 < rate <= 10. */
int weir_sim_clock_rate(weir_world *w, const char *node, double rate);

/* Resets every open connection between nodes a and b: both ends see a
 * connection reset, as after a TCP RST. The nodes stay up. */
int weir_sim_reset(weir_world *w, const char *a, const char *b);

/* Disk faults of a node's disk while on: every fsync fails with EIO and makes
 * nothing durable (the data stays in the page cache); every write that would
 * grow the disk's use fails with ENOSPC. */
int weir_sim_disk_fault(weir_world *w, const char *node, bool fsync_eio, bool full);

/* Runs cb(env, arg) on the node's own actor, as soon as it is between two
 * events, as if a timer of delay 0 fired there. Code that changes a node's
 * state from outside (a clean shutdown) must go through this: the node may
 * be in the middle of a handler, waiting on its disk. WEIR_E_INVAL if the
 * node is down. */
int weir_sim_node_post(weir_world *w, const char *node, weir_timer_cb cb, void *arg);

/* The node's next crash tears its unsynced appends (see disk_torn_crash). */
int weir_sim_tear_next_crash(weir_world *w, const char *node);

/* Flips one bit of a durable byte at rest, chosen from the seed among the
 * node's files whose path starts with prefix ("" for any) and ends with
 * suffix ("" for any); what (may be NULL) gets "path @ offset bit b".
 * WEIR_E_NOENT if no such non-empty file. */
int weir_sim_bit_flip(weir_world *w, const char *node, const char *prefix, const char *suffix,
                      char *what, size_t what_size);

#endif
