/* The echo demo: weir's first multi-node program, run by `weir sim demo`.
 *
 * Servers (s1..sN) listen on :9092, echo every frame, and keep a count of
 * echoed frames in a file (written every 10 ms, synced every 100 ms). A client connects to every
 * server, sends frames of random size and checks each echo against what it
 * sent (whole, in order). A chaos node crashes one server and restarts it.
 *
 * What the demo checks (weir_demo_verdict):
 * - every echo matches the oldest frame outstanding on its connection;
 * - a restarted server recovers exactly the count it last synced;
 * - the client reconnects and traffic resumes after the restart.
 *
 * The nodes are ordinary env code: the same functions run on either backend.
 * Observations go to a weir_demo record that outlives node crashes, as an
 * outside observer's notes would.
 */
#ifndef WEIR_DEMO_H
#define WEIR_DEMO_H

#include <stdint.h>

#include "env/world.h"

#define WEIR_DEMO_SERVERS_MAX 8
#define WEIR_DEMO_TIMELINE_MAX 64
#define WEIR_DEMO_RTT_BUCKETS 24 /* log2(µs) buckets */

typedef struct weir_demo_config {
    int server_count;         /* 1..WEIR_DEMO_SERVERS_MAX */
    int64_t send_interval_ns; /* client sends one frame per interval */
    uint32_t frame_bytes_max; /* payload sizes are uniform in [8, max] */
    int crash_server;         /* 0-based index of the server to crash, -1 for none */
    int64_t crash_at_ns;
    int64_t restart_at_ns;
} weir_demo_config;

typedef struct weir_demo_server {
    uint64_t starts;
    uint64_t echoed;           /* in this incarnation */
    uint64_t count;            /* durable counter's current value */
    uint64_t synced;           /* value at the last completed sync */
    uint64_t synced_at_crash;  /* `synced` when the node last went down */
    uint64_t recovered;        /* value read back at the last start */
    bool recovered_checked;    /* a restart happened and was compared */
    bool recovered_ok;
} weir_demo_server;

typedef struct weir_demo_event {
    int64_t at_ns;
    char text[96];
} weir_demo_event;

typedef struct weir_demo weir_demo;

typedef struct weir_demo_server_arg {
    weir_demo *demo;
    int index;
} weir_demo_server_arg;

struct weir_demo {
    weir_demo_config cfg;
    weir_demo_server_arg server_args[WEIR_DEMO_SERVERS_MAX];
    weir_world *world;
    weir_demo_server servers[WEIR_DEMO_SERVERS_MAX];
    uint64_t sent;
    uint64_t echoes;
    uint64_t echo_bytes;
    uint64_t mismatches;       /* echo differs from what was sent: a violation */
    uint64_t lost_in_flight;   /* outstanding frames on a connection that reset */
    uint64_t connects;
    uint64_t disconnects;
    uint64_t echoes_after_restart; /* from the crashed server, once restarted */
    uint64_t rtt_hist[WEIR_DEMO_RTT_BUCKETS];
    weir_demo_event timeline[WEIR_DEMO_TIMELINE_MAX];
    int timeline_count;
};

void weir_demo_config_default(weir_demo_config *cfg);

/* Adds the demo's nodes (s1..sN, client, chaos) to a world. `demo` must
 * outlive the run; it is zeroed and filled with cfg. */
int weir_demo_add_nodes(weir_world *w, weir_demo *demo, const weir_demo_config *cfg);

/* 0 when every check held; otherwise the number of failed checks, with a
 * one-line reason per failure in why (may be NULL). */
int weir_demo_verdict(const weir_demo *demo, char *why, size_t why_size);

#endif
