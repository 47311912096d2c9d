/* Shared between the scenario runner's files: the state of the one run in
 * progress (a run per process) and the helpers that record what happens. */
#ifndef WEIR_SIM_RUN_INTERNAL_H
#define WEIR_SIM_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "broker/broker.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "controller/controller.h"
#include "history.h"
#include "scenario_run.h"
#include "sim.h"

#define MS 1000000LL
#define TIMELINE_MAX 4000
#define TICK_NS (1 * MS)
/* The history's partition key: topic index and partition in one int. */
#define PART_KEY(topic, partition) ((int32_t)((topic) * 100000 + (partition)))
#define LAT_BUCKETS 40 /* log2 microsecond buckets: up to ~12 days */

/* ---- run state (one run per process) ---- */

typedef struct producer_state {
    const weir_scn_producer *spec;
    int index;
    weir_producer *p; /* of the current incarnation of its host */
    int64_t seq;      /* next sequence number */
    int64_t *sent_ns; /* send time by sequence number, for latency */
    size_t sent_cap;
    uint64_t latency[LAT_BUCKETS]; /* acknowledgements by log2(latency in us) */
} producer_state;

typedef struct consumer_state {
    const weir_scn_consumer *spec;
    weir_consumer *c;
} consumer_state;

typedef struct host_state {
    int role; /* 0 idle, 1 broker, 2 controller, 3 clients */
    int broker_index;
} host_state;

typedef struct run_state {
    weir_scenario *sc;
    weir_world *w;
    const weir_scn_record *rec; /* NULL: no records */
    host_state hosts[WEIR_SCN_HOSTS_MAX];
    weir_broker_config bcfg[WEIR_SCN_BROKERS_MAX];
    weir_controller_config ccfg;
    producer_state producers[WEIR_SCN_CLIENTS_MAX];
    consumer_state consumers[WEIR_SCN_CLIENTS_MAX];
    weir_history hist;
    char bootstrap[1024];
    char controller_host[64];
    /* timeline */
    char *lines[TIMELINE_MAX];
    int n_lines;
    /* observed */
    weir_scn_outcome *out;
    bool errors_seen[128];
    int isr_size[WEIR_SCN_TOPICS_MAX][64];
    bool offline_seen;
    bool disk_full[WEIR_SCN_HOSTS_MAX]; /* disk faults in force, per host */
    bool stopping[WEIR_SCN_HOSTS_MAX];  /* clean shutdown under way */
    bool stopped[WEIR_SCN_HOSTS_MAX];   /* ... and the broker has stopped */
    bool restart_after_stop[WEIR_SCN_HOSTS_MAX];
    bool fsync_eio[WEIR_SCN_HOSTS_MAX];
    uint64_t ticks;                     /* liveness ticks so far */
    int64_t last_ack_ns;                /* the latest acknowledgement: producers make progress */
    bool producers_after_faults;        /* some producer sends after the last fault ends */
    int64_t last_fault_end_ns;
    int64_t recovered_ns;
    bool reads_checked[WEIR_SCN_TOPICS_MAX]; /* every producer of the topic uses acks=all */
} run_state;

extern run_state *RS;
extern weir_log_level run_log_level;
#define RUN_LOG_LEVEL run_log_level

int64_t run_now_ns(void);
/* A line of the report's timeline, stamped with the simulated time. */
void run_timeline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One events.tsv line: the time, the kind, then tab-separated fields. */
void run_record(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int run_topic_index(const char *name);
/* Reads are held to the final log only where every producer used acks=all. */
bool run_topic_all_acks_all(int ti);

/* The node type of a host that runs clients (its arg: the host index). */
extern const weir_node_type run_client_type;

#endif
