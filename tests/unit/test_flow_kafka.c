/* ConsumeKafka and PublishKafka (impl/flow/proc_consume_kafka.c,
 * proc_publish_kafka.c) against a simulated Kafka cluster: a controller and
 * three brokers (b1..b3, replication factor 3, min ISR 2).
 *
 * A loader fills topic "in" (3 partitions) with N records through weir's own
 * producer (key k<i>, value r<i>\n); then the flow ConsumeKafka ->
 * UpdateAttribute -> PublishKafka copies them into topic "out" (3
 * partitions); a checker consumer (read_committed) reads both topics from
 * the start. Every input record must come out with its key and value
 * (nothing lost); copies beyond the first are counted as duplicates and
 * printed. Runs: a clean one (no duplicates either); when a third of the
 * records are out, a crash of the leader of in-0, of the leader of out-1
 * (also with PublishKafka's transactions), or of the flow's own host
 * (restarted from its write-ahead log), each run twice for the same trace
 * hash; ConsumeKafka stopped and started again (it leaves its group, so the
 * new member is assigned at once); a slow downstream (UpdateAttribute every
 * 100 ms behind a 20-FlowFile queue) with Max Poll Records 10, so
 * ConsumeKafka spends most of the run under back pressure: its consumer
 * pauses instead of fetching the same records again and again, which the
 * count of its Fetch requests bounds. Then flows/kafka-to-merge.yaml runs
 * unchanged (topics events -> merged-events, bins of 100) and every record
 * arrives in a merged one. And bad properties are refused when the flow is
 * built, with the property named.
 *
 * Each run is a forked child (SimGrid starts once per process); under ASan
 * the child checks for leaks after the world is destroyed.
 * WEIR_TEST_KAFKA_LOG=1 shows the nodes' log lines; WEIR_TEST_KAFKA_TRACE=FILE
 * appends every run's event trace to FILE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "child_exit.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "controller/controller.h"
#include "flow/engine.h"
#include "flow/flow_node.h"
#include "flow/proc_kafka_common.h"
#include "flow/provenance.h"
#include "sim.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>

/* Messages still in flight when the world is destroyed are SimGrid's
 * communications and the sim network's frames, not the processors': the
 * leak check looks at everything else. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:Mailbox::put_init\nleak:Mailbox::get_init\nleak:CommImpl::irecv\n"
           "leak:ActivityImpl::wait_any_for\nleak:sn_msg_new\n";
}
#endif

#define MS 1000000LL
#define SEC 1000000000LL
#define N_MAX 4000
#define BOOT "b1:9092,b2:9092,b3:9092" /* as flows/kafka-to-merge.yaml */
#define VALUE_BYTES 8                  /* "r000123\n" */

typedef enum kx_crash { CRASH_NONE, CRASH_IN_LEADER, CRASH_OUT_LEADER, CRASH_FLOW } kx_crash;

typedef struct kx_outcome {
    char failure[512];
    uint64_t hash;
    int64_t loaded;
    int64_t in_records, in_distinct;
    int64_t out_records, out_distinct, out_bad;
    int64_t lost, duplicates;
    int64_t received, sent, prov_receive, prov_send;
    int64_t consume_triggers;
    int64_t consume_fetches; /* ConsumeKafka's consumer's Fetch requests */
    int64_t consume_pauses;
    int64_t consume_handed_back;
    int64_t events;
    int64_t restart_ms;
    int32_t crashed;
    int64_t crash_ms, done_ms;
    int conserved;
    char receive_uri[128];
    char send_uri[128];
} kx_outcome;

/* What a run does (set before the fork). */
typedef struct kx_mode {
    bool yaml; /* flows/kafka-to-merge.yaml instead of the built flow */
    kx_crash crash;
    bool restart_consume;   /* stop ConsumeKafka at a third, start it again 500 ms later */
    bool transactions;      /* PublishKafka's Use Transactions */
    int64_t crash_delay_ms; /* after a third is out */
    bool slow;              /* Max Poll Records 10; update every 100 ms behind 20 FlowFiles */
    int32_t n;
} kx_mode;

static struct {
    weir_world *w;
    kx_outcome *out;
    kx_mode mode;
    const char *in_topic;
    const char *out_topic;
    weir_producer *producer;
    int32_t acked;
    bool acked_flag[N_MAX];
    weir_consumer *checker;
    int32_t in_count[N_MAX];
    int32_t out_count[N_MAX];
    bool crashed;
    bool consume_stopped;
    int64_t all_out_ns;
    weir_flow_node_config flow_cfg;
} K;

static char yaml_text[16384];
static size_t yaml_len;

static void kx_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void kx_fail(const char *fmt, ...)
{
    if (K.out->failure[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(K.out->failure, sizeof K.out->failure, fmt, ap);
    va_end(ap);
}

static const char *broker_name(int32_t id)
{
    static const char *names[] = {"", "b1", "b2", "b3"};
    return id >= 1 && id <= 3 ? names[id] : "";
}

/* "r000123\n" -> 123, or -1. */
static int32_t value_index(const uint8_t *v, int32_t len)
{
    if (len != VALUE_BYTES || v[0] != 'r' || v[7] != '\n') {
        return -1;
    }
    int32_t idx = 0;
    for (int i = 1; i < 7; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        idx = idx * 10 + (v[i] - '0');
    }
    return idx < K.mode.n ? idx : -1;
}

/* ---- the loader: N records into the input topic ---- */

static void load_send(int32_t i)
{
    char key[16], value[16];
    int klen = snprintf(key, sizeof key, "k%06d", (int)i);
    snprintf(value, sizeof value, "r%06d\n", (int)i);
    if (weir_producer_send(K.producer, K.in_topic, -1, key, klen, value, VALUE_BYTES, -1,
                           (void *)(intptr_t)i) != 0) {
        kx_fail("loader: send %d refused", (int)i);
    }
}

static void load_delivered(void *ctx, const char *topic, int32_t partition, int64_t offset,
                           int16_t error, void *opaque)
{
    (void)ctx;
    (void)topic;
    (void)partition;
    (void)offset;
    int32_t i = (int32_t)(intptr_t)opaque;
    if (error != 0) {
        load_send(i); /* the input must hold every record */
        return;
    }
    if (!K.acked_flag[i]) {
        K.acked_flag[i] = true;
        K.acked++;
    }
    if (K.acked == K.mode.n && K.out->loaded == 0) {
        K.out->loaded = K.acked;
    }
}

static void load_start(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    for (int32_t i = 0; i < K.mode.n; i++) {
        load_send(i);
    }
    weir_producer_flush(K.producer);
}

static void *loader_start(weir_env *env, void *arg)
{
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = BOOT;
    pc.client_id = "loader";
    pc.acks = -1;
    pc.enable_idempotence = true;
    K.producer = weir_producer_new(env, &pc, load_delivered, NULL, NULL);
    if (K.producer == NULL) {
        kx_fail("loader: no producer");
        return arg;
    }
    weir_timer_start(env, 1000 * MS, load_start, NULL);
    return arg;
}

static void loader_destroy(void *state)
{
    (void)state;
    weir_producer_abandon(K.producer);
    K.producer = NULL;
}

/* ---- the checker: reads both topics from the start ---- */

/* An output record holds one input value, or (merged) several, each
 * "r<i>\n", with any newlines between them. */
static void check_out_record(const weir_consumer_record *rec)
{
    if (rec->value_len <= 0) {
        K.out->out_bad++;
        return;
    }
    for (int32_t at = 0; at < rec->value_len;) {
        if (rec->value[at] == '\n') {
            at++;
            continue;
        }
        int32_t idx =
            rec->value_len - at >= VALUE_BYTES ? value_index(rec->value + at, VALUE_BYTES) : -1;
        at += VALUE_BYTES;
        char key[16];
        snprintf(key, sizeof key, "k%06d", (int)idx);
        /* the built flow keeps each record's key; merged records have none */
        bool key_ok = K.mode.yaml || (rec->key_len == 7 && memcmp(rec->key, key, 7) == 0);
        if (idx < 0 || !key_ok) {
            K.out->out_bad++;
            continue;
        }
        K.out->out_records++;
        if (K.out_count[idx]++ == 0) {
            K.out->out_distinct++;
        }
    }
}

static void check_record(void *ctx, const weir_consumer_record *rec)
{
    (void)ctx;
    if (strcmp(rec->topic, K.out_topic) == 0) {
        check_out_record(rec);
        return;
    }
    int32_t idx = value_index(rec->value, rec->value_len);
    if (idx >= 0) {
        K.out->in_records++;
        if (K.in_count[idx]++ == 0) {
            K.out->in_distinct++;
        }
    }
}

static void *checker_start(weir_env *env, void *arg)
{
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = BOOT;
    cc.client_id = "checker";
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.read_committed = true; /* what a downstream consumer would see */
    weir_consumer_callbacks cbs = {check_record, NULL, NULL, NULL, NULL};
    K.checker = weir_consumer_new(env, &cc, &cbs, NULL);
    weir_topic_partition tps[6];
    for (int32_t p = 0; p < 3; p++) {
        tps[p] = (weir_topic_partition){K.in_topic, p};
        tps[3 + p] = (weir_topic_partition){K.out_topic, p};
    }
    if (K.checker == NULL || weir_consumer_assign(K.checker, tps, 6) != 0) {
        kx_fail("checker: no consumer");
    }
    return arg;
}

static void checker_destroy(void *state)
{
    (void)state;
    weir_consumer_abandon(K.checker);
    K.checker = NULL;
}

/* ---- the flow ---- */

#define KV(a, b) ((weir_flow_kv){(a), (b)})
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int add_proc(weir_flow_engine *e, const char *name, const char *type,
                    const weir_flow_kv *props, size_t count, int64_t run_ns, bool stopped,
                    const char *const *auto_term, size_t auto_count, char *why, size_t why_size)
{
    weir_flow_proc_spec spec;
    weir_flow_proc_spec_default(&spec);
    spec.name = name;
    spec.type = type;
    spec.properties = props;
    spec.property_count = count;
    spec.run_schedule_ns = run_ns;
    spec.stopped = stopped;
    spec.penalty_ns = 200 * MS;
    spec.auto_terminated = auto_term;
    spec.auto_terminated_count = auto_count;
    return weir_flow_engine_add_processor(e, &spec, why, why_size);
}

/* object_threshold 0: the default. */
static int add_conn(weir_flow_engine *e, const char *from, const char *rel, const char *to,
                    uint64_t object_threshold, char *why, size_t why_size)
{
    weir_flow_conn_spec spec;
    weir_flow_conn_spec_default(&spec);
    if (object_threshold > 0) {
        spec.object_threshold = object_threshold;
    }
    const char *rels[] = {rel};
    spec.source = from;
    spec.relationships = rels;
    spec.relationship_count = 1;
    spec.destination = to;
    return weir_flow_engine_connect(e, &spec, why, why_size);
}

/* consume -> update -> publish (failures loop back to publish). Kafka
 * settings go in as dynamic properties: auto.offset.reset overrides "Offset
 * Reset" (latest by default, which would read nothing of the full topic). */
static int build_copy_flow(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    (void)arg;
    weir_flow_kv consume[] = {KV("Kafka Brokers", BOOT),
                              KV("Topic Name(s)", "in"),
                              KV("Group ID", "copy"),
                              KV("auto.offset.reset", "earliest"),
                              KV("Max Poll Records", K.mode.slow ? "10" : "100"),
                              KV("session.timeout.ms", "6000"),
                              KV("heartbeat.interval.ms", "1000")};
    weir_flow_kv update[] = {KV("copied.from", "${kafka.topic}-${kafka.partition}")};
    weir_flow_kv publish[] = {KV("Kafka Brokers", BOOT), KV("Topic Name", "out"),
                              KV("Delivery Guarantee", "Guarantee Replicated Delivery"),
                              KV("Use Transactions", K.mode.transactions ? "true" : "false")};
    static const char *const success[] = {"success"};
    int rc = add_proc(e, "consume", "ConsumeKafka", consume, NELEM(consume), 20 * MS, true, NULL, 0,
                      why, why_size);
    rc = rc != 0 ? rc
                 : add_proc(e, "update", "UpdateAttribute", update, NELEM(update),
                            K.mode.slow ? 100 * MS : 0, false, NULL, 0, why, why_size);
    rc = rc != 0 ? rc
                 : add_proc(e, "publish", "PublishKafka", publish, NELEM(publish), 0, false,
                            success, 1, why, why_size);
    rc = rc != 0 ? rc
                 : add_conn(e, "consume", "success", "update", K.mode.slow ? 20 : 0, why, why_size);
    rc = rc != 0 ? rc : add_conn(e, "update", "success", "publish", 0, why, why_size);
    rc = rc != 0 ? rc : add_conn(e, "publish", "failure", "publish", 0, why, why_size);
    return rc;
}

static weir_flow_engine *flow_engine(void)
{
    weir_flow_node *node = weir_world_node_state(K.w, "flow");
    return node != NULL ? weir_flow_node_engine(node) : NULL;
}

/* The built flow's consumer starts once the input is full. */
static void flow_start_consume(weir_env *env, void *arg)
{
    (void)arg;
    if (K.out->loaded == 0) {
        weir_timer_start(env, 10 * MS, flow_start_consume, NULL);
        return;
    }
    char why[256];
    if (weir_flow_engine_processor_start(flow_engine(), "consume", why, sizeof why) != 0) {
        kx_fail("consume did not start: %s", why);
    }
}

static void flow_on_start(weir_flow_node *node, void *arg)
{
    (void)arg;
    if (!K.mode.yaml) {
        weir_timer_start(weir_flow_engine_env(weir_flow_node_engine(node)), 0, flow_start_consume,
                         NULL);
    }
}

/* ---- the driver: crash, restart, finish ---- */

static void drive_restart(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    if (weir_world_restart(K.w, broker_name(K.out->crashed)) != 0) {
        kx_fail("restart of %s failed", broker_name(K.out->crashed));
    }
}

static void drive_flow_restart(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    if (weir_world_restart(K.w, "flow") != 0) {
        kx_fail("restart of the flow failed");
    }
}

static void drive_crash(weir_env *env, void *arg)
{
    (void)arg;
    if (K.mode.crash == CRASH_FLOW) {
        K.out->crash_ms = weir_now_ns(env) / MS;
        if (weir_world_crash(K.w, "flow") != 0) {
            kx_fail("crash of the flow failed");
        }
        weir_timer_start(env, 1 * SEC, drive_flow_restart, NULL);
        return;
    }
    const char *topic = K.mode.crash == CRASH_IN_LEADER ? K.in_topic : K.out_topic;
    int32_t partition = K.mode.crash == CRASH_IN_LEADER ? 0 : 1;
    int32_t leader = -1, epoch, isr[16];
    int n_isr;
    weir_controller *c = weir_world_node_state(K.w, "controller");
    if (c == NULL ||
        !weir_controller_partition(c, topic, partition, &leader, &epoch, isr, &n_isr) ||
        leader < 1) {
        kx_fail("no leader of %s-%d to crash", topic, (int)partition);
        return;
    }
    K.out->crashed = leader;
    K.out->crash_ms = weir_now_ns(env) / MS;
    if (weir_world_crash(K.w, broker_name(leader)) != 0) {
        kx_fail("crash of %s failed", broker_name(leader));
    }
    weir_timer_start(env, 3 * SEC, drive_restart, NULL);
}

static int prov_uris(const weir_prov_event *ev, void *arg)
{
    (void)arg;
    char *dst = ev->type == WEIR_PROV_RECEIVE ? K.out->receive_uri
                : ev->type == WEIR_PROV_SEND  ? K.out->send_uri
                                              : NULL;
    if (dst != NULL && dst[0] == '\0') {
        snprintf(dst, sizeof K.out->receive_uri, "%s", ev->details);
    }
    return 0;
}

static void drive_finish(weir_env *env, weir_flow_engine *e)
{
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    K.out->done_ms = weir_now_ns(env) / MS;
    K.out->received = (int64_t)c.received;
    K.out->sent = (int64_t)c.sent;
    char why[512];
    K.out->conserved = weir_flow_engine_conserved(e, why, sizeof why);
    if (!K.out->conserved) {
        kx_fail("not conserved: %s", why);
    }
    weir_prov_repo *prov = weir_flow_engine_provenance(e);
    K.out->prov_receive = (int64_t)weir_prov_count(prov, WEIR_PROV_RECEIVE);
    K.out->prov_send = (int64_t)weir_prov_count(prov, WEIR_PROV_SEND);
    if (weir_prov_scan(prov, prov_uris, NULL) != 0) {
        kx_fail("provenance scan failed");
    }
    int consume = weir_flow_engine_processor_find(e, "consume");
    weir_flow_proc_stats st;
    weir_flow_engine_processor_stats(e, (size_t)consume, &st);
    K.out->consume_triggers = (int64_t)st.triggers;
    weir_flow_consume_kafka_stats ck;
    if (!weir_flow_consume_kafka_stats_get(weir_flow_engine_processor(e, (size_t)consume), &ck)) {
        kx_fail("no ConsumeKafka counters");
    }
    K.out->consume_fetches = (int64_t)ck.fetches;
    K.out->consume_pauses = (int64_t)ck.pauses;
    K.out->consume_handed_back = (int64_t)ck.handed_back;
    weir_world_stop(K.w);
}

/* From the flow node's own events, as a management call would be. */
static void drive_consume_start(weir_env *env, void *arg)
{
    (void)arg;
    char why[256];
    K.out->restart_ms = weir_now_ns(env) / MS;
    if (weir_flow_engine_processor_start(flow_engine(), "consume", why, sizeof why) != 0) {
        kx_fail("consume did not start again: %s", why);
    }
}

static void drive_consume_stop(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_flow_engine_processor_stop(flow_engine(), "consume") != 0) {
        kx_fail("consume did not stop");
    }
    weir_timer_start(env, 500 * MS, drive_consume_start, NULL);
}

static void drive_tick(weir_env *env, void *arg)
{
    (void)arg;
    int64_t now = weir_now_ns(env);
    if (K.mode.crash != CRASH_NONE && !K.crashed && K.out->out_distinct >= K.mode.n / 3) {
        K.crashed = true;
        /* off the 20 ms grid the flow's own triggers run on */
        weir_timer_start(env, K.mode.crash_delay_ms * MS, drive_crash, NULL);
    }
    if (K.mode.restart_consume && !K.consume_stopped && K.out->out_distinct >= K.mode.n / 3) {
        K.consume_stopped = true;
        if (weir_sim_node_post(K.w, "flow", drive_consume_stop, NULL) != 0) {
            kx_fail("cannot reach the flow node");
        }
    }
    weir_flow_engine *e = flow_engine();
    weir_flow_counters c;
    if (e != NULL && K.out->out_distinct == K.mode.n) {
        weir_flow_engine_counters(e, &c);
        if (c.queued == 0 && c.in_flight == 0) {
            if (K.all_out_ns == 0) {
                K.all_out_ns = now;
            } else if (now - K.all_out_ns >= 1 * SEC) { /* late duplicates, if any, are in */
                drive_finish(env, e);
                return;
            }
        }
    }
    if (now >= 90 * SEC) {
        kx_fail("after 90 s: %lld of %d records out (loaded %lld)", (long long)K.out->out_distinct,
                (int)K.mode.n, (long long)K.out->loaded);
        weir_world_stop(K.w);
        return;
    }
    weir_timer_start(env, 20 * MS, drive_tick, NULL);
}

static void *driver_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 1000 * MS, drive_tick, NULL);
    return arg;
}

/* ---- one run ---- */

static int add_cluster(weir_world *w)
{
    static weir_controller_config cc;
    weir_controller_config_default(&cc);
    cc.session_timeout_ms = 1500;
    cc.n_topics = 2;
    cc.log_level = WEIR_LOG_ERROR;
    const char *topics[] = {K.in_topic, K.out_topic};
    for (int t = 0; t < 2; t++) {
        snprintf(cc.topics[t].name, sizeof cc.topics[t].name, "%s", topics[t]);
        cc.topics[t].partitions = 3;
        cc.topics[t].replication_factor = 3;
    }
    static weir_broker_config bc[3];
    int rc = weir_world_node_add(w, "controller", &weir_controller_node, &cc);
    for (int i = 0; i < 3 && rc == 0; i++) {
        weir_broker_config_default(&bc[i]);
        bc[i].node_id = i + 1;
        snprintf(bc[i].listen_host, sizeof bc[i].listen_host, "%s", broker_name(i + 1));
        bc[i].listen_port = 9092;
        snprintf(bc[i].controller_addr, sizeof bc[i].controller_addr, "controller:9093");
        bc[i].min_insync_replicas = 2;
        bc[i].heartbeat_interval_ms = 300;
        bc[i].replica_lag_time_max_ms = 1000;
        bc[i].hw_checkpoint_interval_ms = 200;
        bc[i].offsets_topic_partitions = 3;
        bc[i].group_initial_rebalance_delay_ms = 100;
        bc[i].offsets_commit_timeout_ms = 500;
        bc[i].log_level = WEIR_LOG_ERROR;
        rc = weir_world_node_add(w, broker_name(i + 1), &weir_broker_node, &bc[i]);
    }
    return rc;
}

static void run_child(uint64_t seed, kx_outcome *out)
{
    K.out = out;
    K.in_topic = K.mode.yaml ? "events" : "in";
    K.out_topic = K.mode.yaml ? "merged-events" : "out";
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = getenv("WEIR_TEST_KAFKA_LOG") != NULL ? WEIR_LOG_INFO : WEIR_LOG_ERROR;
    const char *trace = getenv("WEIR_TEST_KAFKA_TRACE"); /* a file: a line per event, appended */
    cfg.trace_out = trace != NULL ? fopen(trace, "a") : NULL;
    K.w = weir_sim_world_new(&cfg);
    weir_flow_engine_config_default(&K.flow_cfg.engine);
    if (K.mode.crash == CRASH_FLOW) {
        K.flow_cfg.engine.repo_dir = "repo"; /* the write-ahead log keeps the queues */
    }
    if (K.mode.yaml) {
        K.flow_cfg.flow_text = yaml_text;
        K.flow_cfg.flow_text_len = yaml_len;
    } else {
        K.flow_cfg.build = build_copy_flow;
    }
    K.flow_cfg.on_start = flow_on_start;
    static const weir_node_type loader = {"loader", loader_start, loader_destroy};
    static const weir_node_type checker = {"checker", checker_start, checker_destroy};
    static const weir_node_type driver = {"driver", driver_start, NULL};
    if (K.w == NULL || add_cluster(K.w) != 0 ||
        weir_world_node_add(K.w, "flow", &weir_flow_node_type, &K.flow_cfg) != 0 ||
        weir_world_node_add(K.w, "loader", &loader, NULL) != 0 ||
        weir_world_node_add(K.w, "checker", &checker, NULL) != 0 ||
        weir_world_node_add(K.w, "driver", &driver, NULL) != 0 ||
        weir_world_run(K.w, 100 * SEC) != 0) {
        kx_fail("world failed");
    }
    weir_flow_node *node = weir_world_node_state(K.w, "flow");
    if (node != NULL && weir_flow_node_engine(node) == NULL) {
        kx_fail("the flow did not build: %s", weir_flow_node_error(node));
    }
    out->lost = K.mode.n - out->out_distinct;
    out->duplicates = out->out_records - out->out_distinct;
    out->hash = weir_sim_trace_hash(K.w);
    out->events = (int64_t)weir_sim_event_count(K.w);
    weir_world_destroy(K.w);
    if (cfg.trace_out != NULL) {
        fclose(cfg.trace_out);
    }
}

static kx_outcome run_forked(kx_mode mode, uint64_t seed)
{
    kx_outcome o;
    memset(&o, 0, sizeof o);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(o.failure, sizeof o.failure, "pipe failed");
        return o;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        kx_outcome *mine = calloc(1, sizeof *mine);
        memset(&K, 0, sizeof K);
        K.mode = mode;
        run_child(seed, mine);
        if (write(fds[1], mine, sizeof *mine) != (ssize_t)sizeof *mine) {
            _exit(3);
        }
        free(mine);
#ifdef __SANITIZE_ADDRESS__
        __lsan_do_leak_check(); /* _exit skips it; a leak exits non-zero */
#endif
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &o, sizeof o) != (ssize_t)sizeof o) {
        snprintf(o.failure, sizeof o.failure, "child died");
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (o.failure[0] == '\0' && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        snprintf(o.failure, sizeof o.failure, "child exited with status %d (a leak?)", status);
    }
    return o;
}

static void print_outcome(const char *what, const kx_outcome *o)
{
    char crash[48] = "no crash";
    if (o->crashed > 0) {
        snprintf(crash, sizeof crash, "b%d crashed at %lld ms", (int)o->crashed,
                 (long long)o->crash_ms);
    } else if (o->crash_ms > 0) {
        snprintf(crash, sizeof crash, "the flow host crashed at %lld ms", (long long)o->crash_ms);
    }
    fprintf(stderr,
            "%s: in %lld (%lld distinct), out %lld (%lld distinct, %lld bad): lost %lld, "
            "duplicates %lld; flow received %lld sent %lld; consume triggers %lld; %s; "
            "consume restarted at %lld ms; done at %lld ms; %lld sim events; hash %016llx\n",
            what, (long long)o->in_records, (long long)o->in_distinct, (long long)o->out_records,
            (long long)o->out_distinct, (long long)o->out_bad, (long long)o->lost,
            (long long)o->duplicates, (long long)o->received, (long long)o->sent,
            (long long)o->consume_triggers, crash, (long long)o->restart_ms, (long long)o->done_ms,
            (long long)o->events, (unsigned long long)o->hash);
}

/* What every run must show: the input whole, nothing lost, nothing foreign. */
static void assert_nothing_lost(const kx_outcome *o, int32_t n)
{
    if (o->failure[0] != '\0') {
        fail_msg("%s", o->failure);
    }
    assert_int_equal(o->loaded, n);
    assert_int_equal(o->in_distinct, n);
    assert_int_equal(o->out_distinct, n);
    assert_int_equal(o->lost, 0);
    assert_int_equal(o->out_bad, 0);
    assert_true(o->conserved);
    assert_int_equal(o->prov_receive, o->received);
}

/* ================================================================ */

static void the_copy_flow_moves_every_record_with_its_key_once(void **state)
{
    (void)state;
    kx_mode mode = {.n = 3000};
    kx_outcome o = run_forked(mode, 7);
    print_outcome("clean", &o);
    assert_nothing_lost(&o, mode.n);
    assert_int_equal(o.in_records, mode.n);
    assert_int_equal(o.duplicates, 0);
    assert_int_equal(o.received, mode.n);
    assert_int_equal(o.sent, mode.n);
    assert_int_equal(o.prov_send, mode.n);
    assert_string_equal(o.receive_uri, "kafka://b1:9092/in");
    assert_string_equal(o.send_uri, "kafka://b1:9092/out");
    /* the consumer waits for records instead of being triggered empty:
     * 3000 records at 100 per trigger (20 ms run schedule) */
    assert_true(o.consume_triggers >= 30 && o.consume_triggers < 200);
}

static void crash_run(kx_crash crash, bool transactions, const char *what)
{
    kx_mode mode = {.n = 3000, .crash = crash, .transactions = transactions, .crash_delay_ms = 7};
    kx_outcome a = run_forked(mode, 11);
    print_outcome(what, &a);
    assert_nothing_lost(&a, mode.n);
    assert_true(a.crashed >= 1 && a.crashed <= 3);
    assert_true(a.sent >= mode.n);
    kx_outcome b = run_forked(mode, 11);
    assert_true(a.hash == b.hash);
    assert_int_equal(a.duplicates, b.duplicates);
}

static void a_crash_of_the_input_leader_loses_nothing(void **state)
{
    (void)state;
    crash_run(CRASH_IN_LEADER, false, "input leader crash");
}

static void a_crash_of_an_output_leader_loses_nothing(void **state)
{
    (void)state;
    crash_run(CRASH_OUT_LEADER, false, "output leader crash");
}

static void a_crash_of_an_output_leader_under_transactions_loses_nothing(void **state)
{
    (void)state;
    crash_run(CRASH_OUT_LEADER, true, "output leader crash, transactions");
}

/* The flow's host crashes when a third is out and restarts 1 s later from
 * its write-ahead log: records consumed but not in a committed session were
 * not committed to the group either, so they are read again; FlowFiles
 * queued or being published are recovered and sent (again). Nothing is
 * lost; what was sent twice is counted. */
static void a_crash_of_the_flow_host_loses_nothing_and_counts_duplicates(void **state)
{
    (void)state;
    kx_mode mode = {.n = 3000, .crash = CRASH_FLOW, .crash_delay_ms = 13};
    kx_outcome a = run_forked(mode, 17);
    print_outcome("flow host crash", &a);
    if (a.failure[0] != '\0') {
        fail_msg("%s", a.failure);
    }
    assert_int_equal(a.in_distinct, mode.n);
    assert_int_equal(a.out_distinct, mode.n);
    assert_int_equal(a.lost, 0);
    assert_int_equal(a.out_bad, 0);
    assert_true(a.crash_ms > 0);
    kx_outcome b = run_forked(mode, 17);
    assert_true(a.hash == b.hash);
}

/* Long back pressure: 1,000 records at 200 a second through a 20-FlowFile
 * queue, 10 per ConsumeKafka session. The full buffer pauses the consumer,
 * the drained one resumes it, and the records fetched meanwhile come out of
 * the consumer without another Fetch. (Handing every record that finds the
 * buffer full back with a seek instead fetches about 46,000 times in this
 * run, each Fetch bringing the same records again.) */
static void a_slow_downstream_pauses_the_consumer_instead_of_refetching(void **state)
{
    (void)state;
    kx_mode mode = {.n = 1000, .slow = true};
    kx_outcome o = run_forked(mode, 19);
    print_outcome("slow downstream", &o);
    fprintf(stderr,
            "slow downstream: %lld Fetch requests, %lld pauses, %lld records handed back in "
            "%lld ms\n",
            (long long)o.consume_fetches, (long long)o.consume_pauses,
            (long long)o.consume_handed_back, (long long)o.done_ms);
    assert_nothing_lost(&o, mode.n);
    assert_int_equal(o.duplicates, 0);
    assert_int_equal(o.received, mode.n); /* no record consumed twice */
    assert_true(o.done_ms > 5000);        /* the downstream really was the bottleneck */
    assert_true(o.consume_pauses >= mode.n / 20);
    assert_int_equal(o.consume_handed_back, 0);
    /* a Fetch per leader and long poll (fetch.max.wait.ms 500) while idle,
     * plus one per drained response: tens, not thousands */
    assert_true(o.consume_fetches > 0 && o.consume_fetches < 100);
}

/* Stopping ConsumeKafka leaves the group (LeaveGroup), so the restarted
 * consumer is assigned at once instead of after the old member's session
 * timeout, and starts at the offsets committed after each session. */
static void a_stopped_consumer_leaves_its_group_and_its_restart_resumes(void **state)
{
    (void)state;
    kx_mode mode = {.n = 3000, .restart_consume = true};
    kx_outcome o = run_forked(mode, 13);
    print_outcome("consume stopped and started", &o);
    assert_nothing_lost(&o, mode.n);
    assert_true(o.restart_ms > 0);
    /* without a LeaveGroup the group would wait out the old member's
     * session.timeout.ms (6 s here) before assigning the new one */
    assert_true(o.done_ms - o.restart_ms < 4000);
}

static int yaml_load(void)
{
    char path[512];
    const char *me = __FILE__;
    const char *cut = strstr(me, "tests/unit/");
    snprintf(path, sizeof path, "%.*sflows/kafka-to-merge.yaml", cut != NULL ? (int)(cut - me) : 0,
             me);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    yaml_len = fread(yaml_text, 1, sizeof yaml_text - 1, f);
    fclose(f);
    yaml_text[yaml_len] = '\0';
    return 0;
}

static void the_kafka_to_merge_flow_file_runs_as_written(void **state)
{
    (void)state;
    assert_int_equal(yaml_load(), 0);
    kx_mode mode = {.yaml = true, .n = 1000};
    kx_outcome o = run_forked(mode, 5);
    print_outcome("kafka-to-merge.yaml", &o);
    assert_nothing_lost(&o, mode.n);
    assert_int_equal(o.received, mode.n);
    /* merged in bins of at most 100 (fewer when a bin came of age first) */
    assert_true(o.sent >= mode.n / 100 && o.sent < mode.n / 10);
    /* run schedule 0: an idle consumer waits for records, it is not re-triggered */
    assert_true(o.consume_triggers < 100);
    assert_string_equal(o.receive_uri, "kafka://b1:9092/events");
    assert_string_equal(o.send_uri, "kafka://b1:9092/merged-events");
}

/* ---- bad properties, refused when the flow is built ---- */

typedef struct bad_case {
    const char *type;
    weir_flow_kv props[6];
    size_t count;
    const char *why; /* what the reason must contain */
} bad_case;

static const bad_case bad_cases[] = {
    {"ConsumeKafka",
     {KV("Topic Name(s)", "in"), KV("Group ID", "g")},
     2,
     "required property 'Kafka Brokers' is not set"},
    {"PublishKafka", {KV("Topic Name", "out")}, 1, "required property 'Kafka Brokers' is not set"},
    {"PublishKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name", "out"), KV("Delivery Guarantee", "Maybe")},
     3,
     "property 'Delivery Guarantee': 'Maybe' is not a valid choice"},
    {"ConsumeKafka",
     {KV("Kafka Brokers", "b1"), KV("Topic Name(s)", "in"), KV("Group ID", "g")},
     3,
     "property 'Kafka Brokers': 'b1' is not host:port"},
    {"ConsumeKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name(s)", "in, bad topic"), KV("Group ID", "g")},
     3,
     "property 'Topic Name(s)': 'bad topic' is not a Kafka topic name"},
    {"ConsumeKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name(s)", "in"), KV("Group ID", "g"),
      KV("enable.auto.commit", "true")},
     4,
     "property 'enable.auto.commit': not a property of this processor"},
    {"ConsumeKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name(s)", "in"), KV("Group ID", "g"),
      KV("auto.offset.reset", "soonest")},
     4,
     "property 'auto.offset.reset': 'soonest' is not earliest, latest or none"},
    {"PublishKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name", "out"), KV("Delivery Guarantee", "Best Effort"),
      KV("Use Transactions", "true")},
     4,
     "property 'Use Transactions': needs Delivery Guarantee"},
    {"PublishKafka",
     {KV("Kafka Brokers", BOOT), KV("Topic Name", "out"), KV("Delivery Guarantee", "1"),
      KV("enable.idempotence", "true")},
     4,
     "property 'enable.idempotence': true needs"},
};

#define BAD_COUNT (sizeof bad_cases / sizeof bad_cases[0])

static char bad_why[BAD_COUNT][512];

/* Builds and starts a one-processor flow per case; keeps the reason. */
static void *bad_start(weir_env *env, void *arg)
{
    static const char *const rels[] = {"success", "failure"};
    for (size_t i = 0; i < BAD_COUNT; i++) {
        const bad_case *c = &bad_cases[i];
        weir_flow_engine_config ec;
        weir_flow_engine_config_default(&ec);
        weir_flow_engine *e = weir_flow_engine_new(env, &ec, bad_why[i], sizeof bad_why[i]);
        size_t rel_count = strcmp(c->type, "PublishKafka") == 0 ? 2 : 1;
        if (e != NULL &&
            add_proc(e, "p", c->type, c->props, c->count, 0, false, rels, rel_count, bad_why[i],
                     sizeof bad_why[i]) == 0 &&
            weir_flow_engine_start(e, bad_why[i], sizeof bad_why[i]) == 0) {
            snprintf(bad_why[i], sizeof bad_why[i], "accepted");
        }
        weir_flow_engine_free(e);
    }
    weir_world_stop(K.w);
    return arg;
}

static void bad_properties_are_refused_with_the_property_named(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        weir_sim_config cfg;
        weir_sim_config_default(&cfg, 1);
        cfg.log_level = WEIR_LOG_ERROR;
        K.w = weir_sim_world_new(&cfg);
        static const weir_node_type bad = {"bad", bad_start, NULL};
        if (K.w == NULL || weir_world_node_add(K.w, "bad", &bad, NULL) != 0 ||
            weir_world_run(K.w, 10 * SEC) != 0) {
            snprintf(bad_why[0], sizeof bad_why[0], "world failed");
        }
        weir_world_destroy(K.w);
        if (write(fds[1], bad_why, sizeof bad_why) != (ssize_t)sizeof bad_why) {
            _exit(3);
        }
#ifdef __SANITIZE_ADDRESS__
        __lsan_do_leak_check();
#endif
        test_child_exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], bad_why, sizeof bad_why), (ssize_t)sizeof bad_why);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (size_t i = 0; i < BAD_COUNT; i++) {
        if (strstr(bad_why[i], bad_cases[i].why) == NULL) {
            fail_msg("case %zu (%s): got \"%s\", wanted \"%s\"", i, bad_cases[i].type, bad_why[i],
                     bad_cases[i].why);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_properties_are_refused_with_the_property_named),
        cmocka_unit_test(the_copy_flow_moves_every_record_with_its_key_once),
        cmocka_unit_test(a_crash_of_the_input_leader_loses_nothing),
        cmocka_unit_test(a_crash_of_an_output_leader_loses_nothing),
        cmocka_unit_test(a_crash_of_an_output_leader_under_transactions_loses_nothing),
        cmocka_unit_test(a_stopped_consumer_leaves_its_group_and_its_restart_resumes),
        cmocka_unit_test(a_slow_downstream_pauses_the_consumer_instead_of_refetching),
        cmocka_unit_test(a_crash_of_the_flow_host_loses_nothing_and_counts_duplicates),
        cmocka_unit_test(the_kafka_to_merge_flow_file_runs_as_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
