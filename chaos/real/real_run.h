/* The state of one `weir chaos --real` run, shared by the driver loop
 * (real_run.c) and the driver's node on the libuv world (real_workload.c).
 *
 * Both run on the main thread: the driver calls weir_world_run in short
 * slices and acts between them (processes, faults, phase changes); the node
 * acts inside them (admin requests, the metadata monitor, producers, the
 * final read). Phases only move forward, except SETTLE..READ_DONE, which
 * repeat once when the first read misses acknowledged messages.
 *
 * Times are ns since the run's start (weir_real_run_now), one monotonic
 * clock for both sides.
 */
#ifndef WEIR_CHAOS_REAL_RUN_H
#define WEIR_CHAOS_REAL_RUN_H

#include "client/cluster.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "env/world.h"
#include "real.h"

/* history partition keys: topic index and partition in one int32 (as the simulator's runner) */
#define WEIR_REAL_PART_KEY(topic, partition) ((int32_t)((topic)*100000 + (partition)))

typedef enum weir_real_phase {
    WEIR_REAL_PH_BROKERS,   /* node: waits until Metadata lists every broker */
    WEIR_REAL_PH_TOPICS,    /* node: CreateTopics until each topic exists */
    WEIR_REAL_PH_LEADERS,   /* node: waits for a leader and a full ISR everywhere */
    WEIR_REAL_PH_READY,     /* set by the node; the driver starts the workload */
    WEIR_REAL_PH_PRODUCE,   /* producers send at their rates; faults fire */
    WEIR_REAL_PH_DRAIN,     /* producers flushed; waiting for their last reports */
    WEIR_REAL_PH_SETTLE,    /* node: waits for a leader and a full ISR everywhere again */
    WEIR_REAL_PH_SETTLED,   /* set by the node */
    WEIR_REAL_PH_READ,      /* node: reads every partition from its start to its end */
    WEIR_REAL_PH_READ_DONE, /* set by the node */
    WEIR_REAL_PH_DONE,      /* node: frees its clients */
} weir_real_phase;

/* The latest Metadata view of one partition. */
typedef struct weir_real_part {
    bool known;
    int32_t leader;
    int32_t isr[16];
    int n_isr;
} weir_real_part;

typedef struct weir_real_run weir_real_run;

typedef struct weir_real_producer {
    weir_real_run *run;
    const weir_scn_producer *spec;
    int index;
    weir_producer *p;
    int64_t seq;      /* next sequence number */
    int64_t *sent_ns; /* send time by sequence number */
    size_t sent_cap;
    uint64_t latency[WEIR_REAL_LAT_BUCKETS]; /* acknowledgements by log2(latency in us) */
} weir_real_producer;

struct weir_real_run {
    const weir_real_opts *o;
    const weir_scenario *sc;
    uint64_t seed;
    char dir[WEIR_REAL_PATH_MAX]; /* this run's folder */
    int64_t t_start_ns;           /* monotonic clock at the run's start */
    weir_real_phase phase;
    weir_prng prng; /* choices made while running (fault targets without a leader) */
    FILE *events;

    /* processes and proxies */
    weir_real_proc controller;
    weir_real_proc brokers[WEIR_SCN_BROKERS_MAX];
    int controller_port;
    int broker_ports[WEIR_SCN_BROKERS_MAX];  /* where each broker listens */
    int front_ports[WEIR_SCN_BROKERS_MAX];   /* its proxy: what it advertises */
    int control_ports[WEIR_SCN_BROKERS_MAX]; /* its proxy to the controller */
    weir_real_proxy *proxy;
    uint64_t proxied_bytes; /* relayed by every route, both ways, at the end */
    char bootstrap[1024];

    /* faults */
    weir_real_schedule schedule;
    int fault_broker[WEIR_REAL_FAULTS_MAX]; /* resolved target, -1 before or if skipped */
    bool fault_started[WEIR_REAL_FAULTS_MAX];
    bool fault_ended[WEIR_REAL_FAULTS_MAX];
    int64_t fault_next_reset_ns[WEIR_REAL_FAULTS_MAX];
    int fault_resets[WEIR_REAL_FAULTS_MAX];
    int fault_reset_conns[WEIR_REAL_FAULTS_MAX];
    int broker_fault[WEIR_SCN_BROKERS_MAX]; /* the active fault on a broker, or -1 */
    bool restart_pending[WEIR_SCN_BROKERS_MAX];
    int64_t restart_skew_s[WEIR_SCN_BROKERS_MAX];  /* for the pending restart; 0 = none */
    const char *restart_why[WEIR_SCN_BROKERS_MAX]; /* for the pending restart's log header */
    int64_t restart_at_ns[WEIR_SCN_BROKERS_MAX];   /* after an unexpected exit, or -1 */
    int unexpected_exits[WEIR_SCN_BROKERS_MAX];
    int faults_fired;
    int kind_counts[WEIR_REAL_KINDS_];

    /* the workload (the node's side) */
    weir_world *world;
    weir_env *env; /* the node's env while it runs */
    weir_cluster *admin;
    int admin_next;        /* bootstrap rotation */
    bool admin_busy;       /* an admin request is in flight */
    int64_t admin_last_ns; /* when the last one went */
    bool admin_failed;     /* setup cannot go on (why in admin_why) */
    char admin_why[256];
    int brokers_listed;
    bool *topic_created;
    weir_real_part *parts; /* every partition of every topic, topic by topic */
    size_t *part_base;     /* index of a topic's partition 0 in parts */
    size_t part_count;
    bool monitor_settled; /* the last Metadata showed leaders and full ISRs everywhere */
    weir_real_producer producers[WEIR_SCN_CLIENTS_MAX];
    bool producers_started, producers_flushed;
    int64_t t_work_ns; /* the workload's start */
    weir_consumer *consumer;
    int64_t caught_up_since_ns; /* -1: some partition is behind */
    int reads_done;             /* complete reads of the final log */
    weir_history hist;

    /* observations */
    int64_t heal_ns;      /* when the last fault healed, -1 before */
    int64_t recovered_ns; /* first acknowledgement of a message sent after heal_ns, or -1 */
    int64_t last_sent_ns; /* when the producers last sent a message */
    bool liveness_judged;
    char first_lost[WEIR_SCN_TOPIC_MAX + 96]; /* the first lost or moved message, for the failure */
    int64_t sent, acked, acked_all, produce_errors, read, foreign;
    int64_t errors_by_code[128];
    weir_real_outcome *out;
};

/* ns since the run's start. */
int64_t weir_real_run_now(const weir_real_run *run);

/* One events.tsv line: the time, the kind, then tab-separated fields. */
void weir_real_event(weir_real_run *run, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure of the run (kept once, in order, up to WEIR_REAL_FAILURES_MAX). */
void weir_real_fail(weir_real_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The node: adds it to run->world. */
WEIR_MUST_CHECK int weir_real_workload_add(weir_real_run *run);

/* Producers' records accepted and not reported yet. */
int64_t weir_real_workload_in_flight(const weir_real_run *run);

/* Runs the history oracles on the acknowledgements and the final log read
 * (weir_history_check twice: acks=all, then every acknowledgement), filling
 * run->out's lost/duplicated/reordered counts; writes the first findings as
 * oracle events. */
void weir_real_workload_check(weir_real_run *run);

#endif
