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

/* A transactional client's progress (a producer's or a pipeline's). */
typedef enum run_txn_phase {
    RUN_TXN_NONE,   /* not transactional, or no producer yet */
    RUN_TXN_INIT,   /* InitProducerId in flight */
    RUN_TXN_READY,  /* between transactions */
    RUN_TXN_OPEN,   /* sending */
    RUN_TXN_ENDING, /* commit or abort in flight */
} run_txn_phase;

typedef struct run_txn_msg {
    weir_msg_id id;
    int32_t partition; /* PART_KEY; -1 until acknowledged */
    int64_t offset;
} run_txn_msg;

typedef struct run_txn {
    int32_t owner;     /* the client's history producer id: transactions are owner:count */
    run_txn_phase phase;
    void *end_ctx;     /* the commit/abort in flight */
    int64_t begun;     /* transactions begun so far */
    int64_t history_id; /* of the open one */
    bool aborting;     /* the open one ends in an abort (on purpose or after an error) */
    bool failed;       /* a record of the open one failed */
    run_txn_msg *msgs; /* records of the open one */
    size_t n_msgs, cap_msgs;
    int64_t committed, aborted, unknown; /* outcomes */
} run_txn;

typedef struct producer_state {
    const weir_scn_producer *spec;
    int index;
    weir_producer *p; /* of the current incarnation of its host */
    int64_t seq;      /* next sequence number */
    int64_t *sent_ns; /* send time by sequence number, for latency */
    size_t sent_cap;
    uint64_t latency[LAT_BUCKETS]; /* acknowledgements by log2(latency in us) */
    run_txn txn;                   /* spec->txn.id: its transactions */
} producer_state;

/* Positions of a member's partitions (a commit, or a transaction's offsets). */
typedef struct run_positions {
    int32_t n;
    struct {
        int32_t partition;
        int64_t offset;
    } at[64];
} run_positions;

/* A pipeline's output records are numbered by producer RUN_PIPELINE_ID_BASE
 * + its consumer index, so they never clash with producers' ids. */
#define RUN_PIPELINE_ID_BASE 1000

typedef struct consumer_state {
    const weir_scn_consumer *spec;
    int index;
    int32_t incarnation;  /* starts of its host so far */
    weir_consumer *c;
    weir_producer *out;   /* a pipeline's transactional producer */
    run_txn txn;          /* a pipeline's transactions */
    weir_timer *commit_timer;
    int64_t commits_ok;
    bool sealing;          /* a pipeline's transaction is ending: new records wait */
    run_positions sealed;  /* the offsets that transaction commits */
    size_t sealed_reads_before; /* the history's reads when they were sealed */
    int64_t opened_ns;     /* when it began */
    /* a pipeline: where each assigned partition restarts after an abort */
    struct run_rewind {
        int32_t partition;
        int64_t offset; /* the last committed position, or the first offset read */
    } rewind[64];
    int n_rewind;
    /* a pipeline's output record n (id RUN_PIPELINE_ID_BASE + index : n) came
     * from input out_src[n] */
    weir_msg_id *out_src;
    size_t n_out_src, cap_out_src;
    /* records read while a transaction ends, produced in the next one */
    struct run_held {
        int32_t partition;
        int64_t offset;
        weir_msg_id id;
    } *held;
    size_t n_held, cap_held;
} consumer_state;

#define RUN_ROLE_FLOW 4

typedef struct host_state {
    int role; /* 0 idle, 1 broker, 2 controller, 3 clients, RUN_ROLE_FLOW a flow engine */
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
/* A failure of the run's verdict (at most WEIR_SCN_FAILURES_MAX are kept). */
void run_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int run_topic_index(const char *name);
/* Reads are held to the final log only where every producer used acks=all. */
bool run_topic_all_acks_all(int ti);

/* ---- transactions (run_txn.c) ---- */

/* Creates the producer of a transactional client and starts InitProducerId. */
weir_producer *run_txn_producer_new(weir_env *env, run_txn *t, const weir_scn_txn *spec,
                                    const weir_scn_producer *ps, const char *client_id,
                                    weir_producer_delivery_cb cb, void *ctx);
/* Counts a Produce attempt's error (retried or not) for the verdict. */
void run_on_attempt_error(void *ctx, const char *topic, int32_t partition, int16_t error);
/* A record of the open transaction was handed to the producer. */
void run_txn_sent(run_txn *t, weir_msg_id id);
/* Its delivery report. */
void run_txn_delivered(run_txn *t, weir_msg_id id, int32_t part_key, int64_t offset, int16_t error);
/* Begins a transaction when ready; true when one is open. */
bool run_txn_begin(run_txn *t, weir_producer *p);
/* Ends the open transaction (commit, or abort when it must); done(ctx, committed) follows. */
void run_txn_end(run_txn *t, weir_producer *p, const weir_scn_txn *spec,
                 void (*done)(void *ctx, bool committed), void *ctx);
/* The host crashed: the open transaction's outcome is unknown. */
void run_txn_lost(run_txn *t);
void run_txn_free(run_txn *t);

/* ---- group members and pipelines (run_group.c) ---- */

/* Starts a consumer with group: (and, for a pipeline, its transactional producer). */
void run_group_member_start(weir_env *env, consumer_state *cs);
/* The host crashed or the run ends: frees the consumer (and producer) without env calls. */
void run_group_member_destroy(consumer_state *cs);

/* The node type of a host that runs clients (its arg: the host index). */
extern const weir_node_type run_client_type;

#endif
