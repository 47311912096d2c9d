/* Scenario files: the platform, cluster, workload, flows, timed faults and
 * flow actions, and expectations of one simulated run, parsed from YAML
 * (scenarios/README.md is the reference of the format).
 *
 * weir_scenario_parse checks everything it can without running: types,
 * units, unknown keys (with a "did you mean" hint), references between
 * sections (hosts, broker ids, topics, producers), limits (RF <= brokers,
 * min ISR <= RF, times within the run) and the fault schedule (a restart
 * needs a crashed node, a heal needs a cut). The first problem found is
 * reported as "FILE:LINE:COLUMN: PATH: what is wrong".
 *
 * The parsed scenario is plain data: arrays and strings owned by the
 * scenario (one arena), indexes instead of pointers between sections,
 * times in ns, sizes in bytes, bandwidths in bytes/s. It reads no files and
 * no clock: the caller hands it the file's text.
 */
#ifndef WEIR_SCENARIO_H
#define WEIR_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/log.h"

/* Limits, so every loop over a scenario is bounded. */
#define WEIR_SCN_HOSTS_MAX 64
#define WEIR_SCN_BROKERS_MAX 32
#define WEIR_SCN_TOPICS_MAX 64
#define WEIR_SCN_PARTITIONS_MAX 1024 /* per topic */
#define WEIR_SCN_RF_MAX 16           /* replication factor (WEIR_REPLICAS_MAX) */
#define WEIR_SCN_CLIENTS_MAX 64      /* producers, and consumers, each */
#define WEIR_SCN_FAULTS_MAX 256
#define WEIR_SCN_VARIANTS_MAX 16
#define WEIR_SCN_SETTINGS_MAX 32 /* Kafka settings per broker, topic or defaults */
#define WEIR_SCN_ERRORS_MAX 16   /* names in produce_errors_allowed / _required */
#define WEIR_SCN_VIOLATIONS_MAX 8
#define WEIR_SCN_NAME_MAX 64   /* host, client, scenario and variant names, with the NUL */
#define WEIR_SCN_TOPIC_MAX 250 /* Kafka's limit: 249 characters */
#define WEIR_SCN_FLOWS_MAX 16
#define WEIR_SCN_ACTIONS_MAX 256
#define WEIR_SCN_FLOW_CHECKS_MAX 16 /* entries of each flow expectation list */
#define WEIR_SCN_FLOW_NAME_MAX 128  /* processor, connection, context and parameter names */
#define WEIR_SCN_PRIORITIZERS_MAX 4

/* Where something was written: 1-based line and column, for messages. */
typedef struct weir_scn_mark {
    int line;
    int column;
} weir_scn_mark;

typedef struct weir_scn_link {
    int64_t latency_ns;   /* one way; default 100 us */
    double bandwidth_bps; /* bytes/s; default 125e6 (1 Gbps); 0 = unlimited */
} weir_scn_link;

typedef struct weir_scn_disk {
    double write_bps;        /* bytes/s; 0 = writes take no simulated time (default) */
    double read_bps;         /* bytes/s; 0 = reads take no simulated time (default) */
    int64_t fsync_ns;        /* time one fsync takes; default 0 */
    uint64_t capacity_bytes; /* 0 = unlimited (default) */
    bool torn_crash;         /* a crash keeps a random part of unsynced appends */
} weir_scn_disk;

typedef struct weir_scn_host {
    const char *name;
    weir_scn_link link; /* the platform default with this host's overrides */
    weir_scn_disk disk; /* likewise */
    weir_scn_mark mark;
} weir_scn_host;

/* One Kafka-named setting ("replica.lag.time.max.ms"). The value is
 * normalised text ready for weir_broker_config_set / weir_log_config_set:
 * "10000" (a duration written "10s" becomes milliseconds for a .ms key, a
 * size "1MiB" becomes bytes), "true"/"false", or the enum's word. */
typedef struct weir_scn_setting {
    const char *key;
    const char *value;
    int64_t number; /* the value as a number: integers, ms, bytes; 1/0 for booleans; the
                       enum's index (truncation rule: 0 truncate_to_hw, 1 leader_epoch) */
    weir_scn_mark mark;
} weir_scn_setting;

typedef struct weir_scn_settings {
    weir_scn_setting *items;
    size_t count;
} weir_scn_settings;

typedef struct weir_scn_broker {
    int32_t id;
    int host_index;
    weir_scn_settings config; /* this broker's own overrides (over broker_defaults) */
    weir_scn_mark mark;
} weir_scn_broker;

typedef struct weir_scn_controller {
    int host_index; /* -1: none (a file of flows only declares no brokers) */
    int64_t session_timeout_ms;    /* broker.session.timeout.ms: 9000 */
    int64_t heartbeat_interval_ms; /* broker.heartbeat.interval.ms: 2000 (every broker's) */
    weir_scn_mark mark;
} weir_scn_controller;

typedef struct weir_scn_topic {
    const char *name;
    int32_t partitions;          /* 1 */
    int16_t replication_factor;  /* 1 */
    int16_t min_insync_replicas; /* the topic's own min.insync.replicas, or -1: see
                                    weir_scenario_topic_min_isr */
    /* Explicit replica assignment: partitions x replication_factor broker ids,
     * row by row (the first of a row is the preferred leader); NULL when the
     * controller assigns. */
    int32_t *assignment;
    weir_log_config log;      /* Kafka's defaults with the topic's segment.*, retention.* ... */
    weir_scn_settings config; /* every Kafka setting written on the topic */
    weir_scn_mark mark;
} weir_scn_topic;

typedef enum weir_scn_keys {
    WEIR_SCN_KEYS_NONE,     /* null keys: the partitioner's round robin */
    WEIR_SCN_KEYS_RANDOM,   /* uniform among key_count keys */
    WEIR_SCN_KEYS_SEQUENCE, /* key i for the i-th message: every key distinct */
} weir_scn_keys;

/* Transactions of a producer or a pipeline (transactional_id: + transaction:). */
typedef struct weir_scn_txn {
    const char *id;          /* transactional.id; NULL: not transactional */
    int32_t messages;        /* records per transaction: 100 */
    int32_t abort_every;     /* every Nth transaction is aborted on purpose; 0: none */
    int64_t timeout_ns;      /* transaction.timeout.ms: 60 s */
    bool epoch_bump;         /* KIP-890 epoch bump per transaction (EndTxn v5): true */
} weir_scn_txn;

typedef struct weir_scn_producer {
    const char *name;
    int host_index;
    int topic_index;
    int32_t partition;           /* explicit partition, or -1 for the partitioner */
    double rate_per_s;           /* messages per second */
    weir_scn_keys keys;          /* none */
    uint64_t key_count;          /* for random(N) */
    int acks;                    /* 0, 1 or -1 (all, the default) */
    uint32_t message_bytes;      /* value size: 100 */
    int64_t start_ns;            /* 0 */
    int64_t stop_ns;             /* the end of the run */
    int64_t linger_ns;           /* linger.ms: 0 */
    uint32_t batch_bytes;        /* batch.size: 16384 */
    int32_t retries;             /* retries: 2147483647 */
    int64_t retry_backoff_ns;    /* retry.backoff.ms: 100 ms */
    int64_t request_timeout_ns;  /* request.timeout.ms: 30 s */
    int64_t delivery_timeout_ns; /* delivery.timeout.ms: 120 s */
    int32_t max_in_flight;       /* max.in.flight.requests.per.connection: 5 */
    bool idempotent;             /* enable.idempotence: false */
    weir_scn_txn txn;            /* transactional_id and transaction: */
    weir_scn_mark mark;
} weir_scn_producer;

typedef struct weir_scn_consumer {
    const char *name;
    int host_index;
    int topic_index;
    int32_t *partitions; /* NULL: all partitions */
    size_t partition_count;
    bool from_earliest; /* from: earliest (default) or latest */
    int64_t start_ns;   /* 0 */
    bool read_committed;        /* isolation: read_committed (default read_uncommitted) */
    const char *group;          /* group.id; NULL: manual assignment */
    int64_t commit_every_ns;    /* group: commit positions this often; 0: auto-commit (5 s) */
    int64_t session_timeout_ns; /* session.timeout.ms: 10 s */
    int64_t heartbeat_ns;       /* heartbeat.interval.ms: 1 s */
    int output_topic_index;     /* pipeline: consume, transform, produce here; -1: none */
    weir_scn_txn txn;           /* pipeline: its transactions */
    weir_scn_mark mark;
} weir_scn_consumer;

/* Where a flow keeps its provenance events. */
typedef enum weir_scn_provenance {
    WEIR_SCN_PROV_OFF,
    WEIR_SCN_PROV_MEMORY,
    WEIR_SCN_PROV_REPOSITORY, /* on the host's disk (needs repository: true) */
} weir_scn_provenance;

/* A parameter of a flow file given another value by the scenario. */
typedef struct weir_scn_flow_param {
    const char *context;
    const char *name;
    const char *value;
    weir_scn_mark mark;
} weir_scn_flow_param;

#define WEIR_SCN_FLOW_PARAMS_MAX 64

/* A flow engine running a flow file on a host (`weir flow` in the
 * simulator). The file is read by the runner, not by the parser. */
typedef struct weir_scn_flow {
    const char *name;
    int host_index;
    const char *file;                 /* as written: relative to the scenario file's folder */
    bool repository;                  /* write-ahead log, content, provenance on disk: false */
    weir_scn_provenance provenance;   /* repository with a repository, else memory */
    bool wal_sync;                    /* fsync every commit: true */
    bool provenance_sync;             /* fsync provenance at every commit: false */
    int64_t checkpoint_interval_ns;   /* write-ahead log checkpoints: 20 s */
    int64_t batch_size;               /* FlowFiles a processor takes per session: 1000 */
    int64_t swap_threshold;           /* 0: the flow file's own */
    const weir_scn_flow_param *params; /* set before every start */
    size_t param_count;
    weir_scn_mark mark;
    weir_scn_mark file_mark;
} weir_scn_flow;

typedef enum weir_scn_action_kind {
    WEIR_SCN_ACT_START,         /* start a processor */
    WEIR_SCN_ACT_STOP,          /* stop a processor */
    WEIR_SCN_ACT_THRESHOLD,     /* new back-pressure thresholds of a connection */
    WEIR_SCN_ACT_PRIORITIZERS,  /* a new prioritizer chain on a connection */
    WEIR_SCN_ACT_EXPIRATION,    /* a new FlowFile expiration on a connection */
    WEIR_SCN_ACT_SET_PARAMETER, /* a parameter's new value in a context */
    WEIR_SCN_ACT_KINDS_,
} weir_scn_action_kind;

/* A timed change to a running flow (issue 6's run-time management).
 * Names of processors, connections, contexts and parameters are checked
 * against the flow file by the runner, before the run. */
typedef struct weir_scn_action {
    weir_scn_action_kind kind;
    int64_t at_ns;
    int flow_index;
    const char *target;   /* the processor, connection or (set_parameter) context */
    const char *name;     /* set_parameter: the parameter */
    const char *value;    /* set_parameter: its new value */
    int64_t objects;      /* threshold: the object threshold, -1 unchanged */
    int64_t size_bytes;   /* threshold: the data size threshold, -1 unchanged */
    int64_t expiration_ns; /* expiration: 0 never */
    const char *prioritizers[WEIR_SCN_PRIORITIZERS_MAX]; /* prioritizers: names, first decides */
    int prioritizer_count;
    weir_scn_mark mark;
    weir_scn_mark target_mark; /* the value naming the target */
} weir_scn_action;

typedef enum weir_scn_fault_kind {
    WEIR_SCN_CRASH,          /* power off: unsynced data is lost */
    WEIR_SCN_RESTART,        /* power on: a fresh node recovers from its disk */
    WEIR_SCN_CLEAN_SHUTDOWN, /* the node closes its logs and stops */
    WEIR_SCN_CUT,            /* frames on a link are dropped */
    WEIR_SCN_HEAL,           /* undo cuts, isolations and slow links */
    WEIR_SCN_ISOLATE,        /* cut a node from every other host */
    WEIR_SCN_SLOW_LINK,      /* change a link's latency and/or bandwidth */
    WEIR_SCN_SLOW_DISK,      /* change a disk's speeds */
    WEIR_SCN_PAUSE,          /* the node stalls (a long GC pause): handles nothing for duration */
    WEIR_SCN_RESET,          /* every connection between two nodes (or of one node) is reset */
    WEIR_SCN_PARTITION,      /* groups of hosts cut from each other (a host in two groups bridges) */
    WEIR_SCN_CLOCK,          /* the node's wall and/or monotonic clock jumps by an offset */
    WEIR_SCN_DISK_FULL,      /* writes that need space fail with ENOSPC */
    WEIR_SCN_FSYNC_ERROR,    /* fsync fails with EIO and makes nothing durable */
    WEIR_SCN_BIT_FLIP,       /* one bit of a durable byte at rest flips */
    WEIR_SCN_FAULT_KINDS_,
} weir_scn_fault_kind;

#define WEIR_SCN_GROUPS_MAX 8 /* partition: groups of hosts */

/* bit_flip: which files it may hit. */
typedef enum weir_scn_flip_files {
    WEIR_SCN_FLIP_ANY,     /* any file of the host */
    WEIR_SCN_FLIP_LOG,     /* log segments (*.log) */
    WEIR_SCN_FLIP_INDEX,   /* offset and time indexes */
} weir_scn_flip_files;

/* A fault's target: a host by index, or the host that leads a partition at
 * the moment the fault fires (leader(topic/partition)), or every host
 * (heal: all). */
typedef struct weir_scn_target {
    int host_index;    /* >= 0 for a named host, else -1 */
    int topic_index;   /* >= 0 for leader(topic/partition), else -1 */
    int32_t partition; /* with topic_index */
    bool all;          /* heal: all */
} weir_scn_target;

typedef struct weir_scn_fault {
    weir_scn_fault_kind kind;
    int64_t at_ns;
    int64_t duration_ns;  /* > 0: undone after that long (restart, heal, restore); 0: lasts */
    weir_scn_target a;    /* the node, or a link's first end */
    weir_scn_target b;    /* a link's other end; host_index = topic_index = -1 for a node's
                             whole link (slow_link A) or a node */
    bool one_way;         /* cut/slow/heal only frames from a to b */
    int64_t latency_ns;   /* slow_link: new one-way latency, or -1 unchanged */
    double bandwidth_bps; /* slow_link: new bandwidth in bytes/s, or -1 unchanged */
    double write_bps;     /* slow_disk: -1 unchanged */
    double read_bps;      /* slow_disk: -1 unchanged */
    int64_t fsync_ns;     /* slow_disk: -1 unchanged */
    bool torn;            /* crash: a random part of the unsynced appends survives */
    int64_t wall_ns;      /* clock: jump of the wall clock (negative: back) */
    int64_t monotonic_ns; /* clock: jump of the monotonic clock */
    double rate;          /* clock: skew, both clocks run this fast (1.01: 1 % fast); 0 unchanged */
    weir_scn_flip_files files;                 /* bit_flip */
    uint64_t groups[WEIR_SCN_GROUPS_MAX];      /* partition: host index bit masks */
    int group_count;
    weir_scn_mark mark;
} weir_scn_fault;

/* What the oracles can find (model/); expect_violation names them. */
typedef enum weir_scn_violation_kind {
    WEIR_SCN_V_ACKED_LOSS,    /* a message acknowledged under acks=all is not in the final log */
    WEIR_SCN_V_DIVERGENCE,    /* replicas disagree on an offset below the HW */
    WEIR_SCN_V_DUPLICATE,     /* an acknowledged message is in the log twice */
    WEIR_SCN_V_REORDER,       /* one producer's messages to a partition out of order */
    WEIR_SCN_V_READ_ABOVE_HW, /* a consumer read at or above the HW of that moment */
    WEIR_SCN_V_HW_ABOVE_LEO,  /* a replica's HW above its log end */
    WEIR_SCN_V_OFFSET_GAP,    /* offsets not dense and increasing */
    /* Jepsen's names (model/history.h has the definitions) */
    WEIR_SCN_V_INCONSISTENT_OFFSETS, /* one offset, two messages */
    WEIR_SCN_V_POLL_SKIP,            /* a consumer jumped over data */
    WEIR_SCN_V_NONMONOTONIC_POLL,    /* a consumer went backwards */
    WEIR_SCN_V_REREAD_BEYOND_COMMIT, /* a new owner re-read what the group had committed */
    WEIR_SCN_V_ABORTED_READ,         /* G1a: read_committed read aborted data */
    WEIR_SCN_V_TORN_TRANSACTION,     /* a transaction partly visible */
    WEIR_SCN_V_NOT_EXACTLY_ONCE,     /* a pipeline's input not exactly once in its output */
    WEIR_SCN_V_COUNT_,
} weir_scn_violation_kind;

typedef struct weir_scn_violation {
    weir_scn_violation_kind kind;
    int topic_index; /* -1: on any topic */
} weir_scn_violation;

/* Flow expectations (each a list in expect:). Processor and connection
 * names are checked against the flow file by the runner. */
typedef struct weir_scn_flow_queue_max {
    int flow_index;
    const char *connection;
    int64_t objects; /* the connection's peak queued FlowFiles is at most this */
    weir_scn_mark mark;
} weir_scn_flow_queue_max;

typedef struct weir_scn_flow_back_pressure {
    int flow_index;
    const char *processor; /* held back by back pressure, then triggered again */
    weir_scn_mark mark;
} weir_scn_flow_back_pressure;

/* Counters at the end of the run, summed over the flow's incarnations;
 * -1 unchecked. */
typedef struct weir_scn_flow_counts {
    int flow_index;
    int64_t created, received, sent, dropped, expired, queued;
    weir_scn_mark mark;
} weir_scn_flow_counts;

/* A flow carries a topic's records into another (kafka-to-merge): every
 * record of `from` acknowledged to an acks=all producer is, at the end, in
 * the final log of `to`, inside some record split at `demarcator` ("" for
 * one record per record); copies beyond the first are counted. */
typedef struct weir_scn_flow_delivers {
    int flow_index;
    int from_topic;
    int to_topic;
    const char *demarcator;
    weir_scn_mark mark;
} weir_scn_flow_delivers;

#define WEIR_SCN_FLOW_WATCH_MAX 16 /* connections one parameter expectation watches */

/* A set_parameter action reaches the FlowFiles: those committed into each
 * watched connection carry, in `attribute`, `before` until the first
 * set_parameter of `parameter` on the flow and then each new value. */
typedef struct weir_scn_flow_parameter {
    int flow_index;
    const char *parameter;
    const char *attribute;
    const char *before;
    const char *connections[WEIR_SCN_FLOW_WATCH_MAX];
    int connection_count;
    weir_scn_mark mark;
} weir_scn_flow_parameter;

/* The expectations; every field's "unchecked" value is what an absent key
 * gives. The oracles run in every run: a violation not listed in
 * violations[] fails it. */
typedef struct weir_scn_expect {
    bool no_acked_loss;     /* acks=all messages were acknowledged and none is lost */
    int64_t lost_acked_max; /* max_lost_acked, any acks; -1 unchecked */
    weir_scn_violation violations[WEIR_SCN_VIOLATIONS_MAX]; /* expect_violation: each must
                                                               be found */
    int violation_count;
    int32_t leader_changes_min;                          /* 0 */
    int32_t isr_shrinks_min;                             /* 0 */
    int32_t isr_expands_min;                             /* 0 */
    int32_t truncations_min;                             /* 0 */
    int32_t unclean_elections_min;                       /* 0 */
    bool produce_errors_checked;                         /* produce_errors_allowed was given */
    int16_t produce_errors_allowed[WEIR_SCN_ERRORS_MAX]; /* Kafka error codes */
    int produce_errors_allowed_count;
    int16_t produce_errors_required[WEIR_SCN_ERRORS_MAX];
    int produce_errors_required_count;
    bool offline_until_restart;
    bool consumers_read_all_acked;
    int64_t recovers_within_ns; /* -1 unchecked */
    /* flows: the oracles (conservation, no loss, the queue bound) run in
     * every run with flows; these demand that they could judge */
    bool flow_conserved; /* provenance recounted and agreeing, for every flow */
    bool flow_no_loss;   /* FlowFiles were committed, and none was lost or duplicated */
    const weir_scn_flow_queue_max *flow_queue_max;
    int flow_queue_max_count;
    const weir_scn_flow_back_pressure *flow_back_pressure;
    int flow_back_pressure_count;
    const weir_scn_flow_counts *flow_counts;
    int flow_counts_count;
    const weir_scn_flow_parameter *flow_parameter;
    int flow_parameter_count;
    const weir_scn_flow_delivers *flow_delivers;
    int flow_delivers_count;
    weir_scn_mark mark;
} weir_scn_expect;

/* A named variant: the same scenario with other broker defaults and
 * expectations, both already merged over the base's. */
typedef struct weir_scn_variant {
    const char *name;
    const char *description; /* "" if none */
    weir_scn_settings broker_defaults;
    weir_scn_expect expect;
    weir_scn_mark mark;
} weir_scn_variant;

typedef struct weir_scn_arena weir_scn_arena;

typedef struct weir_scenario {
    const char *file_name;
    const char *name;
    const char *description; /* "" if none */
    uint64_t seed;           /* 1 */
    int64_t duration_ns;

    weir_scn_host *hosts;
    size_t host_count;
    weir_scn_settings broker_defaults; /* Kafka settings for every broker */
    weir_scn_broker *brokers;
    size_t broker_count;
    weir_scn_controller controller;
    weir_scn_topic *topics;
    size_t topic_count;
    weir_scn_producer *producers;
    size_t producer_count;
    weir_scn_consumer *consumers;
    size_t consumer_count;
    weir_scn_flow *flows;
    size_t flow_count;
    weir_scn_action *actions; /* in time order */
    size_t action_count;
    weir_scn_fault *faults; /* in time order */
    size_t fault_count;
    weir_scn_expect expect;
    weir_scn_variant *variants;
    size_t variant_count;
    int variant_index; /* the variant in use (weir_scenario_use_variant), or -1 */

    weir_scn_arena *arena; /* owns every array and string above */
} weir_scenario;

/* Parses and validates a scenario from text (len bytes; no NUL needed).
 * file_name prefixes messages. On success *out owns its memory (release with
 * weir_scenario_free). On failure *out is left empty (safe to free) and why
 * holds "FILE:LINE:COLUMN: PATH: what is wrong". Returns 0, WEIR_E_INVAL for
 * a bad file, WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_scenario_parse(const char *text, size_t len, const char *file_name,
                                        weir_scenario *out, char *why, size_t why_size);

/* Releases everything the scenario owns and zeroes it. NULL is fine. */
void weir_scenario_free(weir_scenario *sc);

/* Switches to a variant: its broker defaults and expectations (the base's
 * with the variant's keys merged over) replace the scenario's. Switching
 * again to another variant is fine; the base's own values are not kept
 * (parse again to get them). Returns WEIR_E_NOENT, with why listing the
 * variants, if there is no variant of that name. */
WEIR_MUST_CHECK int weir_scenario_use_variant(weir_scenario *sc, const char *name, char *why,
                                              size_t why_size);

/* A broker's value for a Kafka setting: its own override, else
 * broker_defaults, else NULL (the broker's built-in default). */
const weir_scn_setting *weir_scenario_broker_setting(const weir_scenario *sc, size_t broker_index,
                                                     const char *key);

/* The topic's min.insync.replicas: its own, else broker_defaults', else 1. */
int weir_scenario_topic_min_isr(const weir_scenario *sc, size_t topic_index);

/* Whether the controller may elect an out-of-sync replica for a topic: the
 * topic's unclean.leader.election.enable, else broker_defaults', else false. */
bool weir_scenario_topic_unclean(const weir_scenario *sc, size_t topic_index);

/* The index of the host, broker (by id), topic, producer, flow; -1 if none. */
int weir_scenario_host_find(const weir_scenario *sc, const char *name);
int weir_scenario_flow_find(const weir_scenario *sc, const char *name);
int weir_scenario_broker_find(const weir_scenario *sc, int32_t id);
int weir_scenario_topic_find(const weir_scenario *sc, const char *name);
int weir_scenario_producer_find(const weir_scenario *sc, const char *name);

/* The end of the last fault's effect (its time, plus its duration if it
 * has one); 0 with no faults. recovers_within counts from here. */
int64_t weir_scenario_last_fault_end_ns(const weir_scenario *sc);

/* Names as written in scenario files ("clean_shutdown", "acked_loss"). */
const char *weir_scn_fault_kind_name(weir_scn_fault_kind kind);
const char *weir_scn_violation_name(weir_scn_violation_kind kind);
const char *weir_scn_action_kind_name(weir_scn_action_kind kind); /* "set_parameter" */
/* Kafka's name of an error code that produce_errors_* accept, or NULL. */
const char *weir_scn_kafka_error_name(int16_t code);

#endif
