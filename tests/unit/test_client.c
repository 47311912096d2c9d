/* weir's own Kafka client (impl/client/): murmur2 and the partitioner against
 * Kafka's published values, then the producer and the consumer against the
 * broker node inside the simulator.
 *
 * Sim runs: a broker (num.partitions 3, topics auto-created, a flush after
 * every message so acknowledged = synced) and a client node holding one
 * producer and one consumer. The producer sends keyed messages (id in the
 * value, CreateTime = base + id); the consumer is assigned all 3 partitions
 * from the earliest offset. Every delivery report and every record read is
 * recorded and checked after the run: reports ok, each acknowledged message
 * read at the offset its report gave, each offset read once and in order, the
 * partition Kafka's formula gives for the key; model/history.c judges too.
 *
 * The runs: steady (10,000 messages); a broker crash and restart in the middle
 * with Produce requests in flight (retries, duplicates counted); a seed sweep
 * of crashes (WEIR_TEST_CLIENT_SEEDS=n); an out-of-range start offset; a late
 * consumer that seeks into a batch, to earliest and to latest and meets a
 * compressed batch written through weir_cluster directly; records expiring
 * while the broker is down and one over max.message.bytes; acks=0; the same
 * seed twice for the trace hash; pause and resume while the producer writes
 * (partition 1 paused from on_record, partition 2 from a timer, then all
 * three, two of them seeking to their own positions: no record of a paused
 * partition, no Fetch while all are paused, positions kept, each partition
 * resumes exactly at its position, the records kept from before the pause
 * delivered without a new Fetch); a group member that pauses everything for
 * longer than its session timeout (its heartbeats keep it in), then a second
 * member joins: the rebalance forgets the pause and the two read on from the
 * committed positions with no gap and no duplicate. Each run is a forked
 * child: SimGrid starts once per process.
 *
 * The cluster layer on its own, against a fake broker that holds answers:
 * with both connections full (in_flight_max requests each), node_ready says
 * no and a metadata refresh finds no connection; once the held answers
 * arrive, the owner is woken and the refresh goes out.
 *
 * WEIR_TEST_CLIENT_LOG=debug|info|warn shows the nodes' log lines.
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
#include "client/cluster.h"
#include "client/consumer.h"
#include "client/partitioner.h"
#include "client/producer.h"
#include "core/murmur2.h"
#include "history.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/kafka.h"
#include "sim.h"
#include "child_exit.h"

#define MS 1000000LL
#define TOPIC "events"
#define PARTITIONS 3
#define MESSAGES_MAX 10000
#define TS_BASE 1700000000000LL
#define VALUE_BYTES 100

/* ---- murmur2 and the partitioner ---- */

/* Kafka's UtilsTest.testMurmur2 expected values (Java ints), plus the
 * librdkafka unit test's values for its Java-compatible murmur2. */
static const struct {
    const char *key;
    int32_t hash;
} murmur2_vectors[] = {
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
    {"kafka", (int32_t)0xd067cf64},
    {"giberish123456789", (int32_t)0x8f552b0c},
    {"1234", (int32_t)0x9fc97b14},
    {"", (int32_t)0x106e08d9},
};

static void test_murmur2_matches_kafkas_published_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof murmur2_vectors / sizeof murmur2_vectors[0]; i++) {
        const char *k = murmur2_vectors[i].key;
        int32_t got = (int32_t)weir_murmur2(k, strlen(k));
        if (got != murmur2_vectors[i].hash) {
            fail_msg("murmur2(\"%s\") = %d, Kafka says %d", k, got, murmur2_vectors[i].hash);
        }
    }
    /* Tail bytes are folded in as unsigned bytes, as Kafka masks them with 0xff. */
    const uint8_t high[3] = {0xff, 0x80, 0xfe};
    assert_int_not_equal(weir_murmur2(high, 3), weir_murmur2("\x7f\x00\x7e", 3));
    assert_int_equal(weir_murmur2_positive(0x80000000u), 0);
    assert_int_equal(weir_murmur2_positive(0xffffffffu), 0x7fffffff);
}

static void test_partitioner_maps_keys_as_kafkas_java_client(void **state)
{
    (void)state;
    /* Expected partitions from Kafka's formula (hash & 0x7fffffff) % n, using
     * the hash values Kafka publishes, not weir's murmur2. */
    static const struct {
        const char *key;
        int32_t n;
        int32_t partition;
    } cases[] = {
        {"21", 3, 0},
        {"21", 7, 3},
        {"foobar", 10, 6},
        {"abc", 7, 4},
        {"abc", 12, 3},
        {"kafka", 3, 1},
        {"kafka", 12, 4},
        {"a-little-bit-long-string", 3, 2},
        {"a-little-bit-longer-string", 10, 9},
        {"1234", 3, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t got = weir_partition_for_key(cases[i].key, strlen(cases[i].key), cases[i].n);
        if (got != cases[i].partition) {
            fail_msg("key \"%s\" over %d partitions: got %d, Kafka gives %d", cases[i].key,
                     cases[i].n, got, cases[i].partition);
        }
    }
    /* Same key, same partition; every partition in range. */
    for (int i = 0; i < 2000; i++) {
        char key[32];
        int len = snprintf(key, sizeof key, "order-%d", i);
        int32_t a = weir_partition_for_key(key, (size_t)len, 6);
        assert_true(a >= 0 && a < 6);
        assert_int_equal(a, weir_partition_for_key(key, (size_t)len, 6));
    }
    /* Null keys: from the counter's start, one step per record, over the
     * partitions that have a leader; over all of them when none has. */
    uint32_t counter = 0x7ffffffe;
    const int32_t avail[] = {0, 2, 5};
    int32_t seq[5];
    for (int i = 0; i < 5; i++) {
        seq[i] = weir_partition_round_robin(&counter, avail, 3, 6);
    }
    /* toPositive(0x7ffffffe) % 3 = 2, 0x7fffffff % 3 = 1, then the counter
     * wraps into negative ints: toPositive(0x80000000) = 0, 1, 2. */
    assert_int_equal(seq[0], avail[2147483646 % 3]);
    assert_int_equal(seq[1], avail[2147483647 % 3]);
    assert_int_equal(seq[2], avail[0]);
    assert_int_equal(seq[3], avail[1]);
    assert_int_equal(seq[4], avail[2]);
    counter = 4;
    assert_int_equal(weir_partition_round_robin(&counter, NULL, 0, 3), 1);
    assert_int_equal(weir_partition_round_robin(&counter, NULL, 0, 3), 2);
    assert_int_equal(counter, 6);
}

/* ---- the simulated runs ---- */

typedef struct scenario {
    uint64_t seed;
    int messages;
    int per_tick;    /* messages sent per tick */
    int64_t tick_ns; /* time between ticks */
    int16_t acks;
    int crash_after;             /* crash the broker once this many are acknowledged; 0 = never */
    int64_t down_ns;             /* how long it stays down */
    int64_t crash_delay_ns;      /* from the first Produce seen in flight to the crash */
    int64_t inflight_wait_ns;    /* longest wait for a Produce in flight; 0: 2 ms */
    bool seek_out_of_range;      /* first position partition 0 far past the end */
    bool late_phase;             /* then a raw compressed batch and a second, seeking consumer */
    bool huge_record;            /* also one record over the broker's max.message.bytes */
    int32_t delivery_timeout_ms; /* 0: the default */
    int32_t request_timeout_ms;  /* 0: the default */
    bool pause_phase;            /* pause 1, then 2, then all; resume all (pause_*) */
    bool group_pause;            /* a group member pauses all, then a second joins (grp_*) */
} scenario;

typedef struct msg_state {
    int32_t partition;
    int64_t offset;
    int16_t error;
    bool reported;
} msg_state;

/* What a run measured, sent from the child through a pipe. */
typedef struct result {
    int ok;
    char failure[256];
    uint64_t hash;
    int64_t sim_ms;
    int64_t acked;
    int64_t failed;
    int64_t consumed;
    int64_t duplicates;      /* copies of an acknowledged message at another offset */
    int64_t unacked_reads;   /* records read whose message was never acknowledged */
    int64_t lost;            /* acknowledged, never read at that offset */
    int64_t misplaced;       /* read at the acknowledged offset, but another message */
    int64_t order_breaks;    /* ids not ascending in a partition's offset order */
    int64_t offset_repeats;  /* an offset read twice or backwards */
    int64_t wrong_partition; /* acknowledged on another partition than the key's */
    int64_t bad_records;     /* timestamp, key or value not what was sent */
    int64_t batches_retried;
    int64_t requests_sent;
    int64_t acked_after_restart;
    int64_t consumer_errors;
    int64_t out_of_range_reports;
    size_t history_counts[5];
    int64_t max_acked_offset[PARTITIONS];
    int64_t raw_offset;             /* where the compressed batch landed (partition 1) */
    int64_t late_first[PARTITIONS]; /* the late consumer's first offset, -1 none */
    int64_t late_count[PARTITIONS];
    int64_t late_gaps;       /* offsets skipped or repeated by the late consumer */
    int64_t late_compressed; /* UNSUPPORTED_COMPRESSION_TYPE reports */
    int64_t late_other_errors;
    int64_t failed_timed_out; /* failed with REQUEST_TIMED_OUT */
    int huge_reports;
    int16_t huge_error;
    /* pause_phase and group_pause */
    int64_t pause_api_errors;         /* pause / resume / paused answers not as documented */
    int64_t paused_reads;             /* records of a partition delivered while it was paused */
    int64_t reads_beside_pause;       /* partition 0's records while 1 and 2 were paused */
    int64_t positions_moved;          /* a paused partition's position changed */
    int64_t fetches_all_paused;       /* Fetches sent while all three were paused (after 50 ms) */
    int64_t pause_at[PARTITIONS];     /* the position when paused */
    int64_t resume_first[PARTITIONS]; /* first offset read after resume, -1 none */
    int64_t held_fetches;             /* Fetches sent from resume to partition 1's next record */
    int64_t revokes_while_paused;     /* group: rebalances before the second member joined */
    int64_t paused_at_assign;         /* group: partitions still paused in on_assign */
    int64_t reads_after_rebalance;    /* group: the first member's, after its new assignment */
    int64_t second_reads;             /* group: the second member's */
} result;

typedef struct run_state {
    const scenario *sc;
    weir_world *w;
    weir_env *env;
    weir_producer *p;
    weir_consumer *c;
    int sent;
    int reported;
    int64_t acked;
    msg_state msgs[MESSAGES_MAX];
    int64_t max_acked_offset[PARTITIONS];
    int64_t next_offset[PARTITIONS]; /* one past the last offset read */
    int32_t *read_ids[PARTITIONS];   /* id read at each offset, -1 none */
    int64_t read_cap[PARTITIONS];
    int64_t last_id[PARTITIONS];
    int64_t armed_ns; /* when crash_after was reached */
    bool crashed;
    bool restarted;
    bool done;
    weir_cluster *raw;
    weir_consumer *late;
    int64_t late_next[PARTITIONS];
    weir_consumer *second;   /* group_pause: the member that joins later */
    bool paused[PARTITIONS]; /* what the test paused */
    int pause_step;          /* how far the pause script went */
    uint64_t fetch_mark;     /* weir_consumer_fetch_count at a step */
    bool resumed;
    bool second_joined;
    bool reassigned; /* group: the first member's assignment after the join */
    result res;
} run_state;

static run_state the_run;
static int huge_marker; /* the opaque of the oversized record */

static void run_fail(run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void run_fail(run_state *r, const char *fmt, ...)
{
    if (r->res.failure[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->res.failure, sizeof r->res.failure, fmt, ap);
        va_end(ap);
    }
    weir_world_stop(r->w);
}

static int key_of(int id, char *buf, size_t size)
{
    return snprintf(buf, size, "key-%d", id % 997);
}

static void value_of(int id, char *buf)
{
    memset(buf, 'a' + id % 26, VALUE_BYTES);
    char head[16];
    int n = snprintf(head, sizeof head, "id=%05d|", id);
    memcpy(buf, head, (size_t)n);
}

static void finish(weir_env *env, void *arg)
{
    (void)env;
    run_state *r = arg;
    weir_producer_stats st;
    weir_producer_stats_get(r->p, &st);
    r->res.batches_retried = st.batches_retried;
    r->res.requests_sent = st.requests_sent;
    if (weir_producer_in_flight(r->p) != 0) {
        run_fail(r, "finished with %lld record(s) in flight",
                 (long long)weir_producer_in_flight(r->p));
    }
    weir_producer_free(r->p); /* the clean way, while the env lives */
    weir_consumer_free(r->c);
    weir_consumer_free(r->second);
    r->p = NULL;
    r->c = NULL;
    r->second = NULL;
    r->res.sim_ms = weir_sim_now_ns(r->w) / MS;
    weir_world_stop(r->w);
}

static void late_begin(weir_env *env, void *arg);

/* Ends the run (from a timer: not inside the clients' callbacks) once every
 * record is reported and every acknowledged offset has been read (with
 * acks=0, once every message has been read). */
static void check_done(run_state *r)
{
    if (r->done || r->reported < r->sc->messages ||
        (r->sc->huge_record && r->res.huge_reports == 0)) {
        return;
    }
    if (r->sc->acks == 0 && r->res.consumed < r->sc->messages) {
        return;
    }
    for (int p = 0; p < PARTITIONS; p++) {
        if (r->next_offset[p] <= r->max_acked_offset[p]) {
            return;
        }
    }
    r->done = true;
    memcpy(r->res.max_acked_offset, r->max_acked_offset, sizeof r->res.max_acked_offset);
    weir_timer_start(r->env, 0, r->sc->late_phase ? late_begin : finish, r);
}

static void on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                        int16_t error, void *opaque)
{
    run_state *r = ctx;
    if (opaque == &huge_marker) {
        r->res.huge_reports++;
        r->res.huge_error = error;
        check_done(r);
        return;
    }
    int id = (int)(intptr_t)opaque - 1;
    if (id < 0 || id >= r->sc->messages || strcmp(topic, TOPIC) != 0 || r->msgs[id].reported) {
        run_fail(r, "delivery report for unknown or repeated message %d", id);
        return;
    }
    msg_state *m = &r->msgs[id];
    m->reported = true;
    m->partition = partition;
    m->offset = offset;
    m->error = error;
    r->reported++;
    if (error != WEIR_KERR_NONE) {
        r->res.failed++;
        r->res.failed_timed_out += error == WEIR_KERR_REQUEST_TIMED_OUT;
        check_done(r);
        return;
    }
    r->acked++;
    r->res.acked++;
    if (r->restarted) {
        r->res.acked_after_restart++;
    }
    char key[32];
    int klen = key_of(id, key, sizeof key);
    if (partition != weir_partition_for_key(key, (size_t)klen, PARTITIONS)) {
        r->res.wrong_partition++;
    }
    if (r->sc->acks != 0) {
        if (partition < 0 || partition >= PARTITIONS || offset < 0) {
            run_fail(r, "message %d acknowledged at %d/%lld", id, partition, (long long)offset);
            return;
        }
        if (offset > r->max_acked_offset[partition]) {
            r->max_acked_offset[partition] = offset;
        }
    } else if (offset != -1) {
        run_fail(r, "acks=0 reported offset %lld", (long long)offset);
        return;
    }
    check_done(r);
}

static void remember_read(run_state *r, int32_t p, int64_t offset, int32_t id)
{
    if (offset >= r->read_cap[p]) {
        int64_t cap = r->read_cap[p] ? r->read_cap[p] : 4096;
        while (cap <= offset) {
            cap *= 2;
        }
        int32_t *ids = realloc(r->read_ids[p], (size_t)cap * sizeof *ids);
        assert_non_null(ids);
        for (int64_t i = r->read_cap[p]; i < cap; i++) {
            ids[i] = -1;
        }
        r->read_ids[p] = ids;
        r->read_cap[p] = cap;
    }
    r->read_ids[p][offset] = id;
}

/* Checks one record read by any consumer of the run and remembers it. */
static void record_read(run_state *r, const weir_consumer_record *rec)
{
    int32_t p = rec->partition;
    if (strcmp(rec->topic, TOPIC) != 0 || p < 0 || p >= PARTITIONS) {
        run_fail(r, "record from %s-%d", rec->topic, p);
        return;
    }
    r->res.consumed++;
    if (rec->offset < r->next_offset[p]) {
        r->res.offset_repeats++;
    }
    int id = -1;
    if (rec->value != NULL && rec->value_len == VALUE_BYTES &&
        sscanf((const char *)rec->value, "id=%05d|", &id) == 1 && id >= 0 && id < r->sc->messages) {
        char key[32];
        char value[VALUE_BYTES];
        int klen = key_of(id, key, sizeof key);
        value_of(id, value);
        if (rec->key_len != klen || memcmp(rec->key, key, (size_t)klen) != 0 ||
            memcmp(rec->value, value, VALUE_BYTES) != 0 || rec->timestamp != TS_BASE + id ||
            rec->header_count != 0) {
            r->res.bad_records++;
        }
    } else {
        r->res.bad_records++;
        id = -1;
    }
    if (id >= 0 && id <= r->last_id[p]) {
        r->res.order_breaks++;
    }
    if (id > r->last_id[p]) {
        r->last_id[p] = id;
    }
    remember_read(r, p, rec->offset, id);
    if (rec->offset + 1 > r->next_offset[p]) {
        r->next_offset[p] = rec->offset + 1;
    }
    check_done(r);
}

/* ---- the pause script (pause_phase) ---- */

static void pause_one(run_state *r, int32_t p)
{
    weir_topic_partition tp = {TOPIC, p};
    if (weir_consumer_pause(r->c, &tp, 1) != 0 ||
        weir_consumer_position(r->c, TOPIC, p, &r->res.pause_at[p]) != 0 ||
        !weir_consumer_paused(r->c, TOPIC, p)) {
        r->res.pause_api_errors++;
    }
    r->paused[p] = true;
}

static void pause_check_positions(run_state *r)
{
    for (int32_t p = 0; p < PARTITIONS; p++) {
        int64_t pos = -1;
        if (r->paused[p] &&
            (weir_consumer_position(r->c, TOPIC, p, &pos) != 0 || pos != r->res.pause_at[p])) {
            r->res.positions_moved++;
        }
    }
}

/* All three have been paused for 300 ms: resume them together. */
static void pause_resume_all(weir_env *env, void *arg)
{
    (void)env;
    run_state *r = arg;
    r->res.fetches_all_paused = (int64_t)(weir_consumer_fetch_count(r->c) - r->fetch_mark);
    pause_check_positions(r);
    weir_topic_partition tps[PARTITIONS];
    for (int32_t p = 0; p < PARTITIONS; p++) {
        tps[p] = (weir_topic_partition){TOPIC, p};
        r->paused[p] = false;
    }
    if (weir_consumer_resume(r->c, tps, PARTITIONS) != 0 || weir_consumer_paused(r->c, TOPIC, 1)) {
        r->res.pause_api_errors++;
    }
    r->fetch_mark = weir_consumer_fetch_count(r->c);
    r->resumed = true;
}

/* Counted from 50 ms after the last pause: a Fetch in flight then has come
 * back. Partitions 0 and 2 seek to their own positions, which drops what
 * they kept: they stay paused, so still nothing may fetch them. */
static void pause_mark_fetches(weir_env *env, void *arg)
{
    run_state *r = arg;
    if (weir_consumer_seek(r->c, TOPIC, 0, r->res.pause_at[0]) != 0 ||
        weir_consumer_seek(r->c, TOPIC, 2, r->res.pause_at[2]) != 0 ||
        !weir_consumer_paused(r->c, TOPIC, 0) || !weir_consumer_paused(r->c, TOPIC, 2)) {
        r->res.pause_api_errors++;
    }
    r->fetch_mark = weir_consumer_fetch_count(r->c);
    weir_timer_start(env, 250 * MS, pause_resume_all, r);
}

/* Partitions 1 and 2 are paused; partition 0 went on. Pause it too. */
static void pause_all(weir_env *env, void *arg)
{
    run_state *r = arg;
    pause_check_positions(r);
    pause_one(r, 0);
    weir_timer_start(env, 50 * MS, pause_mark_fetches, r);
}

/* Partition 2 from a timer (a Fetch is most likely in flight), and the
 * refusals the header promises. */
static void pause_second(weir_env *env, void *arg)
{
    run_state *r = arg;
    pause_one(r, 2);
    weir_topic_partition mixed[2] = {{TOPIC, 0}, {TOPIC, 7}};
    weir_topic_partition nameless = {NULL, 0};
    if (weir_consumer_pause(r->c, mixed, 2) != WEIR_E_NOENT ||
        weir_consumer_paused(r->c, TOPIC, 0) || /* nothing changed */
        weir_consumer_resume(r->c, mixed, 2) != WEIR_E_NOENT ||
        weir_consumer_pause(r->c, mixed, -1) != WEIR_E_INVAL ||
        weir_consumer_pause(r->c, &nameless, 1) != WEIR_E_INVAL ||
        weir_consumer_paused(r->c, "other", 1) || weir_consumer_paused(r->c, TOPIC, 7)) {
        r->res.pause_api_errors++;
    }
    weir_timer_start(env, 300 * MS, pause_all, r);
}

/* After the record is counted: partition 1 pauses from inside on_record,
 * with the rest of the response still undelivered. */
static void pause_script(run_state *r, const weir_consumer_record *rec)
{
    int32_t p = rec->partition;
    if (r->resumed && r->res.resume_first[p] < 0) {
        r->res.resume_first[p] = rec->offset;
        if (p == 1) {
            r->res.held_fetches = (int64_t)(weir_consumer_fetch_count(r->c) - r->fetch_mark);
        }
    }
    if (r->pause_step == 0 && p == 1 && rec->offset >= 300) {
        r->pause_step = 1;
        pause_one(r, 1);
        if (r->res.pause_at[1] != rec->offset + 1) {
            r->res.pause_api_errors++;
        }
        weir_timer_start(r->env, 20 * MS, pause_second, r);
    }
}

static void on_record(void *ctx, const weir_consumer_record *rec)
{
    run_state *r = ctx;
    int32_t p = rec->partition;
    if (p >= 0 && p < PARTITIONS && r->paused[p]) {
        r->res.paused_reads++;
    }
    if (p == 0 && r->paused[1] && r->paused[2] && !r->paused[0]) {
        r->res.reads_beside_pause++;
    }
    record_read(r, rec);
    if (r->sc->pause_phase && p >= 0 && p < PARTITIONS) {
        pause_script(r, rec);
    }
    if (r->reassigned) {
        r->res.reads_after_rebalance++;
    }
}

/* ---- the group script (group_pause) ---- */

static void second_on_record(void *ctx, const weir_consumer_record *rec)
{
    run_state *r = ctx;
    r->res.second_reads++;
    record_read(r, rec);
}

static void group_on_revoke(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    (void)tps;
    (void)count;
    run_state *r = ctx;
    if (!r->second_joined && r->pause_step > 0) {
        r->res.revokes_while_paused++;
    }
    memset(r->paused, 0, sizeof r->paused); /* the rebalance forgets them */
}

static void group_on_assign(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    run_state *r = ctx;
    for (int32_t i = 0; i < count; i++) {
        if (weir_consumer_paused(r->c, tps[i].topic, tps[i].partition)) {
            r->res.paused_at_assign++;
        }
    }
    r->reassigned = r->second_joined;
}

static weir_consumer *group_consumer(run_state *r, const char *client_id,
                                     const weir_consumer_callbacks *cbs)
{
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.client_id = client_id;
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.group_id = "paused-group";
    cc.session_timeout_ms = 1000;
    cc.heartbeat_interval_ms = 300;
    cc.rebalance_timeout_ms = 3000;
    cc.auto_commit_interval_ms = 500;
    const char *topics[] = {TOPIC};
    weir_consumer *c = weir_consumer_new(r->env, &cc, cbs, NULL);
    if (c == NULL || weir_consumer_subscribe(c, topics, 1) != 0) {
        run_fail(r, "group consumer %s setup failed", client_id);
    }
    return c;
}

/* The first member has been paused for longer than its session timeout. */
static void group_second_joins(weir_env *env, void *arg)
{
    (void)env;
    run_state *r = arg;
    pause_check_positions(r);
    r->second_joined = true;
    weir_consumer_callbacks cbs = {.on_record = second_on_record, .ctx = r};
    r->second = group_consumer(r, "second", &cbs);
}

/* From the first member's on_record, once it has read 600 records. */
static void group_pause_all(run_state *r)
{
    const weir_topic_partition *tps;
    int32_t n;
    weir_consumer_assignment(r->c, &tps, &n);
    if (n != PARTITIONS) {
        run_fail(r, "the first member holds %d partitions", (int)n);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        pause_one(r, tps[i].partition);
    }
    r->pause_step = 1;
    weir_timer_start(r->env, 1500 * MS, group_second_joins, r);
}

static void group_on_record(void *ctx, const weir_consumer_record *rec)
{
    run_state *r = ctx;
    on_record(r, rec);
    if (r->pause_step == 0 && r->res.consumed >= 600) {
        group_pause_all(r);
    }
}

static void on_consumer_error(void *ctx, const char *topic, int32_t partition, int16_t error,
                              int64_t offset)
{
    (void)topic;
    (void)partition;
    (void)offset;
    run_state *r = ctx;
    r->res.consumer_errors++;
    if (error == WEIR_KERR_OFFSET_OUT_OF_RANGE) {
        r->res.out_of_range_reports++;
    }
}

static void send_tick(weir_env *env, void *arg)
{
    run_state *r = arg;
    if (r->p == NULL) {
        return;
    }
    if (r->sc->huge_record && r->sent == 0) {
        static char huge[2 * 1024 * 1024];
        if (weir_producer_send(r->p, TOPIC, 0, NULL, 0, huge, (int32_t)sizeof huge, -1,
                               &huge_marker) != 0) {
            run_fail(r, "the huge record was refused");
            return;
        }
    }
    for (int i = 0; i < r->sc->per_tick && r->sent < r->sc->messages; i++) {
        int id = r->sent;
        char key[32];
        char value[VALUE_BYTES];
        int klen = key_of(id, key, sizeof key);
        value_of(id, value);
        int err = weir_producer_send(r->p, TOPIC, -1, key, klen, value, VALUE_BYTES, TS_BASE + id,
                                     (void *)(intptr_t)(id + 1));
        if (err != 0) {
            run_fail(r, "weir_producer_send: %s", weir_err_str(err));
            return;
        }
        r->sent++;
    }
    if (r->sent < r->sc->messages) {
        weir_timer_start(env, r->sc->tick_ns, send_tick, r);
    } else {
        weir_producer_flush(r->p);
    }
}

/* ---- the late phase: weir_cluster used directly, then a consumer that seeks ---- */

static void late_on_record(void *ctx, const weir_consumer_record *rec)
{
    run_state *r = ctx;
    int32_t p = rec->partition;
    if (r->res.late_count[p] == 0) {
        r->res.late_first[p] = rec->offset;
    } else if (rec->offset != r->late_next[p]) {
        r->res.late_gaps++;
    }
    r->res.late_count[p]++;
    r->late_next[p] = rec->offset + 1;
}

static void late_on_error(void *ctx, const char *topic, int32_t partition, int16_t error,
                          int64_t offset)
{
    (void)topic;
    run_state *r = ctx;
    if (error == WEIR_CONSUMER_ERR_UNSUPPORTED_COMPRESSION && partition == 1 &&
        offset == r->res.raw_offset) {
        r->res.late_compressed++;
    } else {
        r->res.late_other_errors++;
    }
}

/* Done when partition 0 and 1 reached their ends and partition 2 sits at
 * the latest offset. */
static void late_poll(weir_env *env, void *arg)
{
    run_state *r = arg;
    int64_t pos[PARTITIONS];
    for (int p = 0; p < PARTITIONS; p++) {
        if (weir_consumer_position(r->late, TOPIC, p, &pos[p]) != 0) {
            pos[p] = -1;
        }
    }
    if (pos[0] == r->max_acked_offset[0] + 1 && pos[1] == r->res.raw_offset + 5 &&
        pos[2] == r->max_acked_offset[2] + 1) {
        weir_consumer_free(r->late);
        weir_cluster_free(r->raw);
        r->late = NULL;
        r->raw = NULL;
        finish(env, r);
        return;
    }
    weir_timer_start(env, 5 * MS, late_poll, r);
}

static void raw_on_produce(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    run_state *r = arg;
    if (err != 0 || resp->body.produce.topic_count != 1 ||
        resp->body.produce.topics[0].partitions[0].error_code != 0) {
        run_fail(r, "raw Produce failed: %s", weir_err_str(err));
        return;
    }
    r->res.raw_offset = resp->body.produce.topics[0].partitions[0].base_offset;
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.client_id = "late";
    weir_consumer_callbacks cbs = {
        .on_record = late_on_record, .on_error = late_on_error, .ctx = r};
    r->late = weir_consumer_new(r->env, &cc, &cbs, NULL);
    weir_topic_partition tps[PARTITIONS];
    for (int p = 0; p < PARTITIONS; p++) {
        tps[p] = (weir_topic_partition){TOPIC, p};
        r->res.late_first[p] = -1;
    }
    if (r->late == NULL || weir_consumer_assign(r->late, tps, PARTITIONS) != 0 ||
        weir_consumer_seek(r->late, TOPIC, 0, 7) != 0 || /* inside the first batch */
        weir_consumer_seek(r->late, TOPIC, 1, WEIR_LOG_TS_EARLIEST) != 0 ||
        weir_consumer_seek(r->late, TOPIC, 2, WEIR_LOG_TS_LATEST) != 0 ||
        weir_consumer_seek(r->late, TOPIC, 3, 0) != WEIR_E_NOENT) {
        run_fail(r, "late consumer setup failed");
        return;
    }
    int64_t pos;
    if (weir_consumer_position(r->late, TOPIC, 1, &pos) != WEIR_E_AGAIN ||
        weir_consumer_position(r->late, TOPIC, 0, &pos) != 0 || pos != 7) {
        run_fail(r, "positions before the lookup are wrong");
        return;
    }
    weir_timer_start(r->env, 5 * MS, late_poll, r);
}

/* Appends a batch marked gzip (its records are plain: the broker stores
 * compressed batches as sent) to partition 1 through weir_cluster itself. */
static void late_begin(weir_env *env, void *arg)
{
    run_state *r = arg;
    weir_cluster_config cfg;
    weir_cluster_config_default(&cfg);
    cfg.bootstrap = "broker:9092";
    cfg.client_id = "raw";
    r->raw = weir_cluster_new(env, &cfg, NULL);
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_set_attributes(&bb, 1); /* gzip */
    for (int i = 0; i < 5; i++) {
        weir_batch_builder_add(&bb, TS_BASE, "raw", 3, "not really gzip", 15, NULL, 0);
    }
    uint8_t *batch;
    size_t len;
    if (r->raw == NULL || weir_batch_builder_finish(&bb, &batch, &len) != 0) {
        weir_batch_builder_free(&bb);
        run_fail(r, "raw batch setup failed");
        return;
    }
    weir_produce_partition pp = {1, {batch, (int32_t)len}};
    weir_produce_topic pt = {weir_str_from(TOPIC), 1, &pp};
    weir_request req;
    memset(&req, 0, sizeof req);
    req.header.api_key = WEIR_API_PRODUCE;
    req.header.api_version = 7;
    req.body.produce = (weir_produce_request){WEIR_STR_NULL, -1, 5000, 1, &pt};
    int err = weir_cluster_send(r->raw, -1, &req, 0, raw_on_produce, r); /* -1: bootstrap */
    weir_batch_builder_free(&bb);
    if (err != 0) {
        run_fail(r, "raw Produce not sent: %s", weir_err_str(err));
    }
}

static void *client_start(weir_env *env, void *arg)
{
    run_state *r = arg;
    r->env = env;
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = "broker:9092";
    pc.acks = r->sc->acks;
    if (r->sc->delivery_timeout_ms > 0) {
        pc.delivery_timeout_ms = r->sc->delivery_timeout_ms;
    }
    if (r->sc->request_timeout_ms > 0) {
        pc.request_timeout_ms = r->sc->request_timeout_ms;
    }
    const char *why = NULL;
    r->p = weir_producer_new(env, &pc, on_delivery, r, &why);
    if (r->sc->group_pause) {
        weir_consumer_callbacks gcbs = {group_on_record, on_consumer_error, r, group_on_revoke,
                                        group_on_assign};
        r->c = group_consumer(r, "first", &gcbs);
        if (r->p == NULL) {
            run_fail(r, "client setup: %s", why ? why : "?");
        }
        weir_timer_start(env, 10 * MS, send_tick, r);
        return r;
    }
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    weir_consumer_callbacks cbs = {.on_record = on_record, .on_error = on_consumer_error, .ctx = r};
    r->c = weir_consumer_new(env, &cc, &cbs, &why);
    if (r->p == NULL || r->c == NULL) {
        run_fail(r, "client setup: %s", why ? why : "?");
        return r;
    }
    weir_topic_partition tps[PARTITIONS];
    for (int p = 0; p < PARTITIONS; p++) {
        tps[p] = (weir_topic_partition){TOPIC, p};
    }
    if (weir_consumer_assign(r->c, tps, PARTITIONS) != 0) {
        run_fail(r, "assign failed");
        return r;
    }
    if (r->sc->seek_out_of_range && weir_consumer_seek(r->c, TOPIC, 0, 1000000) != 0) {
        run_fail(r, "seek failed");
        return r;
    }
    weir_timer_start(env, 10 * MS, send_tick, r);
    return r;
}

static void client_destroy(void *state)
{
    run_state *r = state;
    weir_producer_abandon(r->p); /* the world ended first: memory only */
    weir_consumer_abandon(r->c);
    weir_consumer_abandon(r->second);
    weir_consumer_abandon(r->late);
    weir_cluster_abandon(r->raw);
    r->p = NULL;
    r->c = NULL;
    r->second = NULL;
    r->late = NULL;
    r->raw = NULL;
}

static void chaos_restart(weir_env *env, void *arg)
{
    (void)env;
    run_state *r = arg;
    if (weir_world_restart(r->w, "broker") != 0) {
        run_fail(r, "restart failed");
        return;
    }
    r->restarted = true;
}

static void chaos_crash(weir_env *env, void *arg)
{
    run_state *r = arg;
    if (weir_world_crash(r->w, "broker") != 0) {
        run_fail(r, "crash failed");
        return;
    }
    r->crashed = true;
    weir_timer_start(env, r->sc->down_ns, chaos_restart, r);
}

/* Once crash_after messages are acknowledged, waits for a Produce in flight
 * (at most inflight_wait_ns), then crashes the broker crash_delay_ns later: early, the
 * request is lost on the way; later, the broker has appended it and its
 * answer is lost (the producer's retry then appends the batch again). */
static void chaos_tick(weir_env *env, void *arg)
{
    run_state *r = arg;
    weir_producer_stats st = {0};
    if (r->p != NULL) {
        weir_producer_stats_get(r->p, &st);
    }
    if (r->sc->crash_after > 0 && r->acked >= r->sc->crash_after) {
        if (r->armed_ns == 0) {
            r->armed_ns = weir_now_ns(env);
        }
        int64_t wait_ns = r->sc->inflight_wait_ns > 0 ? r->sc->inflight_wait_ns : 2 * MS;
        if (st.requests_in_flight > 0 || weir_now_ns(env) - r->armed_ns >= wait_ns) {
            weir_timer_start(env, r->sc->crash_delay_ns, chaos_crash, r);
            return;
        }
    }
    weir_timer_start(env, MS / 10, chaos_tick, r);
}

static void *chaos_start(weir_env *env, void *arg)
{
    run_state *r = arg;
    if (r->sc->crash_after > 0) {
        weir_timer_start(env, 1 * MS, chaos_tick, r);
    }
    return r;
}

static const weir_node_type client_node = {"client", client_start, client_destroy};
static const weir_node_type chaos_node = {"chaos", chaos_start, NULL};

/* Compares what the producer was told with what the consumer read. */
static void judge(run_state *r)
{
    result *res = &r->res;
    for (int id = 0; id < r->sc->messages; id++) {
        const msg_state *m = &r->msgs[id];
        if (!m->reported || m->error != WEIR_KERR_NONE || r->sc->acks == 0) {
            continue;
        }
        int32_t p = m->partition;
        if (m->offset >= r->read_cap[p] || r->read_ids[p][m->offset] < 0) {
            res->lost++;
        } else if (r->read_ids[p][m->offset] != id) {
            res->misplaced++;
        }
    }
    weir_history h;
    weir_history_init(&h);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        for (int64_t off = 0; off < r->read_cap[p]; off++) {
            int32_t id = r->read_ids[p][off];
            if (id < 0) {
                continue;
            }
            const msg_state *m = &r->msgs[id];
            if (!m->reported || m->error != WEIR_KERR_NONE) {
                res->unacked_reads++;
            } else if (r->sc->acks != 0 && (m->partition != p || m->offset != off)) {
                res->duplicates++;
            }
            weir_msg_id mid = {1, id};
            weir_history_logged(&h, mid, p, off);
            weir_history_read(&h, mid, p, off);
        }
    }
    if (r->sc->acks != 0) {
        for (int id = 0; id < r->sc->messages; id++) {
            const msg_state *m = &r->msgs[id];
            if (m->reported && m->error == WEIR_KERR_NONE) {
                weir_history_ack(&h, (weir_msg_id){1, id}, m->partition, m->offset, true);
            }
        }
    }
    weir_history_report rep;
    memset(&rep, 0, sizeof rep);
    weir_history_check(&h, &rep);
    memcpy(res->history_counts, rep.counts, sizeof res->history_counts);
    weir_history_report_free(&rep);
    weir_history_free(&h);
}

static void run_in_child(const scenario *sc, result *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, sc->seed);
    cfg.log_level = WEIR_LOG_ERROR;
    const char *lvl = getenv("WEIR_TEST_CLIENT_LOG");
    if (lvl != NULL) {
        cfg.log_level = strcmp(lvl, "debug") == 0  ? WEIR_LOG_DEBUG
                        : strcmp(lvl, "info") == 0 ? WEIR_LOG_INFO
                                                   : WEIR_LOG_WARN;
    }
    weir_world *w = weir_sim_world_new(&cfg);
    static weir_broker_config bc;
    weir_broker_config_default(&bc);
    snprintf(bc.listen_host, sizeof bc.listen_host, "broker");
    bc.listen_port = 9092;
    bc.node_id = 1;
    bc.num_partitions = PARTITIONS;
    bc.auto_create_topics = true;
    bc.flush_interval_messages = 1; /* acknowledged = synced: it must survive a crash */
    bc.log_level = -1;
    if (sc->group_pause) {
        bc.offsets_topic_partitions = 3;
        bc.group_initial_rebalance_delay_ms = 200;
        bc.group_session_timeout_ms_min = 1000;
    }
    run_state *r = &the_run;
    memset(r, 0, sizeof *r);
    r->sc = sc;
    r->w = w;
    for (int p = 0; p < PARTITIONS; p++) {
        r->max_acked_offset[p] = -1;
        r->last_id[p] = -1;
        r->res.resume_first[p] = -1;
    }
    if (w == NULL || weir_world_node_add(w, "broker", &weir_broker_node, &bc) != 0 ||
        weir_world_node_add(w, "client", &client_node, r) != 0 ||
        weir_world_node_add(w, "chaos", &chaos_node, r) != 0 ||
        weir_world_run(w, 300000 * MS) != 0) {
        snprintf(out->failure, sizeof out->failure, "world setup failed");
        return;
    }
    if (!r->done && r->res.failure[0] == '\0') {
        snprintf(r->res.failure, sizeof r->res.failure,
                 "did not finish: %d sent, %d reported, %lld acked, %lld read", r->sent,
                 r->reported, (long long)r->acked, (long long)r->res.consumed);
    }
    judge(r);
    r->res.hash = weir_sim_trace_hash(w);
    r->res.ok = r->done && r->res.failure[0] == '\0';
    *out = r->res;
    for (int p = 0; p < PARTITIONS; p++) {
        free(r->read_ids[p]);
    }
}

static result run_forked(const scenario *sc)
{
    int fds[2];
    result r;
    memset(&r, 0, sizeof r);
    if (pipe(fds) != 0) {
        snprintf(r.failure, sizeof r.failure, "pipe failed");
        return r;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        result mine;
        memset(&mine, 0, sizeof mine);
        run_in_child(sc, &mine);
        if (write(fds[1], &mine, sizeof mine) != (ssize_t)sizeof mine) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof r) != (ssize_t)sizeof r) {
        snprintf(r.failure, sizeof r.failure, "child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return r;
}

static void print_result(const char *name, const result *r)
{
    print_message("%s: %lld ms simulated, %lld acked, %lld failed, %lld read, %lld duplicate(s), "
                  "%lld retried batch(es), %lld request(s), %lld acked after the restart; "
                  "history: lost %zu moved %zu duplicated %zu reordered %zu; hash %016llx\n",
                  name, (long long)r->sim_ms, (long long)r->acked, (long long)r->failed,
                  (long long)r->consumed, (long long)r->duplicates, (long long)r->batches_retried,
                  (long long)r->requests_sent, (long long)r->acked_after_restart,
                  r->history_counts[WEIR_FINDING_LOST], r->history_counts[WEIR_FINDING_MOVED],
                  r->history_counts[WEIR_FINDING_DUPLICATED],
                  r->history_counts[WEIR_FINDING_REORDERED], (unsigned long long)r->hash);
}

static const scenario steady = {
    .seed = 11,
    .messages = 10000,
    .per_tick = 500,
    .tick_ns = 5 * MS,
    .acks = -1,
};

static const scenario crash = {
    .seed = 23,
    .messages = 10000,
    .per_tick = 100,
    .tick_ns = 10 * MS,
    .acks = -1,
    .crash_after = 4000,
    .down_ns = 1500 * MS,
    .crash_delay_ns = 250 * 1000,
    .inflight_wait_ns = 100 * MS,
};

static void test_producer_and_consumer_move_10000_keyed_messages_through_the_broker(void **state)
{
    (void)state;
    result r = run_forked(&steady);
    print_result("steady", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.acked, steady.messages); /* every delivery report ok */
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.consumed, steady.messages); /* every message read once */
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.misplaced, 0); /* at the offset its report gave */
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.unacked_reads, 0);
    assert_int_equal(r.offset_repeats, 0);
    assert_int_equal(r.order_breaks, 0);    /* per-partition order kept */
    assert_int_equal(r.wrong_partition, 0); /* Kafka's key -> partition */
    assert_int_equal(r.bad_records, 0);
    assert_int_equal(r.batches_retried, 0);
    assert_int_equal(r.consumer_errors, 0);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(r.history_counts[k], 0);
    }
}

static void test_producer_retries_through_a_broker_crash_and_no_acked_message_is_lost(void **state)
{
    (void)state;
    result r = run_forked(&crash);
    print_result("crash", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.acked + r.failed, crash.messages);
    assert_int_equal(r.failed, 0);          /* delivery.timeout.ms is far away */
    assert_true(r.acked_after_restart > 0); /* the producer recovered */
    assert_true(r.batches_retried > 0);     /* the outage was felt */
    assert_int_equal(r.lost, 0);            /* no acknowledged message lost */
    assert_int_equal(r.misplaced, 0);
    assert_int_equal(r.offset_repeats, 0); /* each offset read exactly once */
    assert_int_equal(r.unacked_reads, 0);
    assert_int_equal(r.wrong_partition, 0);
    assert_int_equal(r.bad_records, 0);
    assert_int_equal(r.consumed, r.acked + r.duplicates);
    /* model/history.c counts the same duplicates (retries without idempotence) */
    assert_int_equal(r.history_counts[WEIR_FINDING_DUPLICATED], r.duplicates);
    assert_int_equal(r.history_counts[WEIR_FINDING_LOST], 0);
    assert_int_equal(r.history_counts[WEIR_FINDING_MOVED], 0);
    assert_int_equal(r.history_counts[WEIR_FINDING_DIRTY_READ], 0);
}

static void test_consumer_reports_an_out_of_range_offset_and_resets_to_earliest(void **state)
{
    (void)state;
    scenario sc = steady;
    sc.seed = 5;
    sc.messages = 2000;
    sc.seek_out_of_range = true;
    result r = run_forked(&sc);
    print_result("out of range", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_true(r.out_of_range_reports >= 1);
    assert_int_equal(r.consumed, sc.messages);
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.misplaced, 0);
    assert_int_equal(r.offset_repeats, 0);
}

static void
test_consumer_seeks_into_a_batch_to_earliest_and_latest_and_skips_compressed(void **state)
{
    (void)state;
    scenario sc = steady;
    sc.seed = 17;
    sc.messages = 2000;
    sc.late_phase = true;
    result r = run_forked(&sc);
    print_result("late seek", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    /* Partition 0 from offset 7: the batch holding 0..6 came whole, its
     * first records were skipped. */
    assert_true(r.max_acked_offset[0] > 7);
    assert_int_equal(r.late_first[0], 7);
    assert_int_equal(r.late_count[0], r.max_acked_offset[0] + 1 - 7);
    /* Partition 1 from the earliest offset, then the compressed batch:
     * reported once and skipped, its records never delivered. */
    assert_int_equal(r.late_first[1], 0);
    assert_int_equal(r.late_count[1], r.max_acked_offset[1] + 1);
    assert_int_equal(r.raw_offset, r.max_acked_offset[1] + 1);
    assert_int_equal(r.late_compressed, 1);
    /* Partition 2 from the latest offset: nothing to read. */
    assert_int_equal(r.late_count[2], 0);
    assert_int_equal(r.late_gaps, 0);
    assert_int_equal(r.late_other_errors, 0);
}

static void test_expired_and_rejected_records_are_reported_once(void **state)
{
    (void)state;
    scenario sc = crash;
    sc.seed = 31;
    sc.messages = 3000;
    sc.per_tick = 5; /* 6 s of sending: past the restart */
    sc.tick_ns = 10 * MS;
    sc.crash_after = 1000;
    sc.down_ns = 2500 * MS; /* longer than delivery.timeout.ms */
    sc.delivery_timeout_ms = 1500;
    sc.request_timeout_ms = 1000;
    sc.huge_record = true;
    result r = run_forked(&sc);
    print_result("expiry", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure); /* a second report for a record fails the run */
    }
    assert_int_equal(r.acked + r.failed, sc.messages);
    assert_true(r.failed > 0);
    assert_int_equal(r.failed_timed_out, r.failed);
    assert_true(r.acked_after_restart > 0); /* new records go through again */
    assert_int_equal(r.lost, 0);
    assert_int_equal(r.misplaced, 0);
    assert_int_equal(r.offset_repeats, 0);
    /* Over max.message.bytes: not retriable, reported once. */
    assert_int_equal(r.huge_reports, 1);
    assert_int_equal(r.huge_error, WEIR_KERR_MESSAGE_TOO_LARGE);
}

static void test_acks_0_reports_on_send_and_the_records_arrive(void **state)
{
    (void)state;
    scenario sc = steady;
    sc.seed = 9;
    sc.messages = 3000;
    sc.acks = 0;
    result r = run_forked(&sc);
    print_result("acks=0", &r);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.acked, sc.messages);
    assert_int_equal(r.consumed, sc.messages); /* no loss without faults */
    assert_int_equal(r.offset_repeats, 0);
    assert_int_equal(r.bad_records, 0);
}

/* Crashes at different points and outages of different lengths, one seed
 * each (WEIR_TEST_CLIENT_SEEDS=n for more). */
static void test_no_acked_message_is_lost_across_crashes_over_many_seeds(void **state)
{
    (void)state;
    int seeds = 8;
    const char *env_seeds = getenv("WEIR_TEST_CLIENT_SEEDS");
    if (env_seeds != NULL && atoi(env_seeds) > 0) {
        seeds = atoi(env_seeds);
    }
    int64_t duplicates = 0;
    int64_t retried = 0;
    for (int i = 0; i < seeds; i++) {
        scenario sc = crash;
        sc.seed = 100 + (uint64_t)i;
        sc.messages = 4000;
        sc.per_tick = 20 + (i * 37) % 200;
        sc.tick_ns = (1 + i % 5) * MS;
        sc.crash_after = 100 + (i * 613) % (sc.messages / 4); /* while sending goes on */
        sc.down_ns = (50 + (i * 389) % 3000) * MS;
        sc.crash_delay_ns = (i * 97) % 1200 * 1000;
        result r = run_forked(&sc);
        if (!r.ok || r.failed != 0 || r.lost != 0 || r.misplaced != 0 || r.offset_repeats != 0 ||
            r.unacked_reads != 0 || r.bad_records != 0 || r.acked_after_restart == 0 ||
            r.history_counts[WEIR_FINDING_LOST] != 0 || r.history_counts[WEIR_FINDING_MOVED] != 0) {
            print_result("failing seed", &r);
            fail_msg("seed %llu (crash after %d acked, down %lld ms): %s",
                     (unsigned long long)sc.seed, sc.crash_after, (long long)(sc.down_ns / MS),
                     r.ok ? "checks failed" : r.failure);
        }
        duplicates += r.duplicates;
        retried += r.batches_retried;
    }
    print_message(
        "%d seeds: no acknowledged message lost; %lld retried batch(es), %lld duplicate(s) "
        "from retries\n",
        seeds, (long long)retried, (long long)duplicates);
}

/* Every acknowledged message read once, in order, at its offset. */
static void assert_read_exactly_once(const result *r, int messages)
{
    assert_int_equal(r->acked, messages);
    assert_int_equal(r->consumed, messages);
    assert_int_equal(r->lost, 0);
    assert_int_equal(r->misplaced, 0);
    assert_int_equal(r->duplicates, 0);
    assert_int_equal(r->offset_repeats, 0);
    assert_int_equal(r->order_breaks, 0);
    assert_int_equal(r->bad_records, 0);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(r->history_counts[k], 0);
    }
}

static void test_a_paused_partition_gets_nothing_and_resumes_exactly_at_its_position(void **state)
{
    (void)state;
    scenario sc = steady;
    sc.seed = 41;
    sc.messages = 6000;
    sc.per_tick = 50; /* 1.2 s of writing: the pauses happen while it goes on */
    sc.tick_ns = 10 * MS;
    sc.pause_phase = true;
    result r = run_forked(&sc);
    print_result("pause", &r);
    print_message("pause: paused at %lld/%lld/%lld, resumed at %lld/%lld/%lld; partition 0 read "
                  "%lld while 1 and 2 were paused; %lld Fetch(es) while all were paused; %lld "
                  "from resume to partition 1's next record\n",
                  (long long)r.pause_at[0], (long long)r.pause_at[1], (long long)r.pause_at[2],
                  (long long)r.resume_first[0], (long long)r.resume_first[1],
                  (long long)r.resume_first[2], (long long)r.reads_beside_pause,
                  (long long)r.fetches_all_paused, (long long)r.held_fetches);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.pause_api_errors, 0);
    assert_int_equal(r.paused_reads, 0);    /* nothing of a paused partition */
    assert_true(r.reads_beside_pause > 0);  /* the others went on */
    assert_int_equal(r.positions_moved, 0); /* positions kept */
    assert_int_equal(r.fetches_all_paused, 0);
    for (int p = 0; p < PARTITIONS; p++) {
        assert_true(r.pause_at[p] > 0);
        assert_int_equal(r.resume_first[p], r.pause_at[p]); /* on exactly where it stopped */
    }
    /* partition 1 paused from on_record: the rest of that response was kept
     * and comes out before any new Fetch */
    assert_int_equal(r.held_fetches, 0);
    assert_read_exactly_once(&r, sc.messages);
    assert_int_equal(r.consumer_errors, 0);
}

static void test_a_group_rebalance_forgets_the_pause_and_loses_nothing(void **state)
{
    (void)state;
    scenario sc = steady;
    sc.seed = 43;
    sc.messages = 6000;
    sc.per_tick = 20; /* 3 s of writing: past the pause and the rebalance */
    sc.tick_ns = 10 * MS;
    sc.group_pause = true;
    result r = run_forked(&sc);
    print_result("group pause", &r);
    print_message("group pause: paused at %lld/%lld/%lld; %lld rebalance(s) while paused; "
                  "after the second member joined: first read %lld, second read %lld\n",
                  (long long)r.pause_at[0], (long long)r.pause_at[1], (long long)r.pause_at[2],
                  (long long)r.revokes_while_paused, (long long)r.reads_after_rebalance,
                  (long long)r.second_reads);
    if (!r.ok) {
        fail_msg("%s", r.failure);
    }
    assert_int_equal(r.pause_api_errors, 0);
    assert_int_equal(r.paused_reads, 0);
    assert_int_equal(r.positions_moved, 0);
    /* 1.5 s paused with a 1 s session timeout: heartbeats kept it a member */
    assert_int_equal(r.revokes_while_paused, 0);
    assert_int_equal(r.paused_at_assign, 0); /* the rebalance forgot the pause */
    assert_true(r.reads_after_rebalance > 0);
    assert_true(r.second_reads > 0);
    /* the revoke committed the paused positions: the second member goes on there */
    assert_read_exactly_once(&r, sc.messages);
}

static void test_bad_configs_are_refused_with_a_reason(void **state)
{
    (void)state;
    static int ctx;
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    const char *why = NULL;
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why)); /* no bootstrap */
    assert_non_null(why);
    pc.bootstrap = "broker";
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why));
    assert_string_equal(why, "bootstrap address is not host:port");
    pc.bootstrap = "b1:9092, b2:9092";
    pc.acks = 2;
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why));
    pc.acks = 1;
    assert_null(weir_producer_new(NULL, &pc, NULL, &ctx, &why));
    assert_string_equal(why, "no delivery callback");
    weir_producer *p = weir_producer_new(NULL, &pc, on_delivery, &ctx, &why);
    assert_non_null(p);
    assert_int_equal(weir_producer_in_flight(p), 0);
    weir_producer_free(p); /* nothing started: the env is never touched */

    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    weir_consumer_callbacks cbs = {0};
    assert_null(weir_consumer_new(NULL, &cc, &cbs, &why));
    assert_string_equal(why, "no on_record callback");
    cbs.on_record = on_record;
    cc.partition_fetch_bytes_max = 0;
    assert_null(weir_consumer_new(NULL, &cc, &cbs, &why));
    cc.partition_fetch_bytes_max = 1 << 20;
    cc.bootstrap = ",";
    assert_null(weir_consumer_new(NULL, &cc, &cbs, &why));
    assert_string_equal(why, "no bootstrap address");
}

/* ---- the cluster layer: connections full of requests ---- */

/* A fake broker (node 1, leader of "t"/0) that answers every request with
 * Metadata, in order per connection, holding the answers to requests that
 * arrive between FULL_HOLD_FROM_MS and FULL_HOLD_UNTIL_MS until the latter.
 * The client fills both of its connections (bootstrap node -1 and node 1) to
 * in_flight_max with held requests, then asks node_ready and a metadata
 * refresh: both must be answered once the held requests are. */
#define FULL_HOLD_FROM_MS 150 /* after the first metadata answer (at 100 ms) */
#define FULL_HOLD_UNTIL_MS 1000
#define FULL_QUEUE_MAX 16

typedef struct full_outcome {
    char failure[160];
    int32_t answers;
    bool ready_when_full;
    int32_t in_flight_when_full;
    int32_t wakes_after_release;
    int32_t metadata_after_release; /* Metadata requests the broker got after the release */
} full_outcome;

typedef struct full_conn {
    weir_conn *conn;
    uint8_t *bufs[FULL_QUEUE_MAX];
    size_t lens[FULL_QUEUE_MAX];
    int64_t ready_ns[FULL_QUEUE_MAX];
    int32_t count;
    weir_timer *timer;
    bool closed;
} full_conn;

static struct {
    full_outcome *out;
    full_conn conns[4];
    int32_t conn_count;
    weir_cluster *cl;
} FULL;

static void full_fail(const char *what)
{
    if (FULL.out->failure[0] == '\0') {
        snprintf(FULL.out->failure, sizeof FULL.out->failure, "%s", what);
    }
}

static void full_drain(full_conn *fc);

static void full_drain_cb(weir_env *env, void *arg)
{
    (void)env;
    full_conn *fc = arg;
    fc->timer = NULL;
    full_drain(fc);
}

/* Sends the answers whose time has come, in request order. */
static void full_drain(full_conn *fc)
{
    weir_env *env = fc->conn->env;
    int64_t now = weir_now_ns(env);
    int32_t sent = 0;
    while (sent < fc->count && fc->ready_ns[sent] <= now) {
        if (!fc->closed) {
            weir_ignore(weir_conn_send(fc->conn, fc->bufs[sent], fc->lens[sent]));
        }
        free(fc->bufs[sent]);
        sent++;
    }
    fc->count -= sent;
    memmove(fc->bufs, fc->bufs + sent, (size_t)fc->count * sizeof fc->bufs[0]);
    memmove(fc->lens, fc->lens + sent, (size_t)fc->count * sizeof fc->lens[0]);
    memmove(fc->ready_ns, fc->ready_ns + sent, (size_t)fc->count * sizeof fc->ready_ns[0]);
    if (fc->count > 0 && fc->timer == NULL) {
        fc->timer = weir_timer_start(env, fc->ready_ns[0] - now, full_drain_cb, fc);
    }
}

static void full_on_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    (void)arg;
    full_conn *fc = conn->data;
    if (fc == NULL && FULL.conn_count < 4) {
        fc = &FULL.conns[FULL.conn_count++];
        fc->conn = conn;
        conn->data = fc;
    }
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request req;
    weir_wr w;
    weir_wr_init(&w);
    int err = weir_decode_request(&rd, &a, &req);
    if (err == 0 && req.header.api_key != WEIR_API_METADATA) {
        err = WEIR_E_UNSUPPORTED;
    }
    if (err == 0) {
        err = weir_encode_response_header(&w, req.header.api_key, req.header.api_version,
                                          req.header.correlation_id);
    }
    if (err == 0) {
        weir_metadata_broker br = {1, weir_str_from("broker"), 9092, WEIR_STR_NULL};
        int32_t replicas[1] = {1};
        weir_metadata_partition mp = {0, 0, 1, 1, replicas, 1, replicas};
        weir_metadata_topic mt = {0, weir_str_from("t"), false, 1, &mp};
        weir_metadata_response mr = {0, 1, &br, WEIR_STR_NULL, 1, 1, &mt};
        err = weir_encode_metadata_response(&w, req.header.api_version, &mr);
    }
    int64_t now = weir_now_ns(conn->env);
    if (err != 0 || fc == NULL || fc->count == FULL_QUEUE_MAX) {
        full_fail("fake broker: a request it cannot answer");
        weir_conn_close(conn);
    } else {
        if (now >= FULL_HOLD_UNTIL_MS * MS) {
            FULL.out->metadata_after_release++;
        }
        bool hold = now >= FULL_HOLD_FROM_MS * MS && now < FULL_HOLD_UNTIL_MS * MS;
        fc->bufs[fc->count] = weir_wr_take(&w, &fc->lens[fc->count]);
        fc->ready_ns[fc->count] = hold ? FULL_HOLD_UNTIL_MS * MS : now;
        fc->count++;
        full_drain(fc);
    }
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void full_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)reason;
    (void)arg;
    if (conn->data != NULL) {
        ((full_conn *)conn->data)->closed = true;
    }
}

static void *full_broker_start(weir_env *env, void *arg)
{
    static weir_listener *l;
    weir_conn_handlers h = {NULL, full_on_frame, full_on_close, NULL};
    if (weir_listen(env, "broker:9092", &h, &l) != 0) {
        full_fail("fake broker cannot listen");
    }
    return arg;
}

static void full_on_wake(void *arg)
{
    weir_env *env = arg;
    if (weir_now_ns(env) >= FULL_HOLD_UNTIL_MS * MS) {
        FULL.out->wakes_after_release++;
    }
}

static void full_on_answer(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    (void)resp;
    (void)arg;
    if (err != 0) {
        full_fail("a held request failed");
    }
    FULL.out->answers++;
}

/* Fills nodes -1 and 1 with in_flight_max (5) held Metadata requests. */
static void full_fill(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    weir_str topic = weir_str_from("t");
    for (int32_t node = -1; node <= 1; node += 2) {
        for (int i = 0; i < 5; i++) {
            weir_request r;
            memset(&r, 0, sizeof r);
            r.header.api_key = WEIR_API_METADATA;
            r.header.api_version = 4;
            r.body.metadata.topic_count = 1;
            r.body.metadata.topics = &topic;
            if (weir_cluster_send(FULL.cl, node, &r, 0, full_on_answer, NULL) != 0) {
                full_fail("a filler request was not sent");
            }
        }
    }
}

static void full_ask(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    FULL.out->in_flight_when_full = weir_cluster_in_flight(FULL.cl, 1);
    FULL.out->ready_when_full = weir_cluster_node_ready(FULL.cl, 1);
    weir_cluster_metadata_request(FULL.cl);
}

static void *full_client_start(weir_env *env, void *arg)
{
    weir_cluster_config cc;
    weir_cluster_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.on_wake = full_on_wake;
    cc.arg = env;
    FULL.cl = weir_cluster_new(env, &cc, NULL);
    if (FULL.cl == NULL || weir_cluster_topic_want(FULL.cl, "t") != 0) {
        full_fail("cluster setup failed");
        return arg;
    }
    weir_timer_start(env, 200 * MS, full_fill, NULL);
    weir_timer_start(env, 300 * MS, full_ask, NULL);
    return arg;
}

static void full_client_destroy(void *state)
{
    (void)state;
    weir_cluster_abandon(FULL.cl);
    FULL.cl = NULL;
}

static void
test_a_full_connection_wakes_its_owner_and_sends_the_waiting_metadata_once_it_drains(void **state)
{
    (void)state;
    full_outcome o;
    memset(&o, 0, sizeof o);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        memset(&FULL, 0, sizeof FULL);
        full_outcome mine;
        memset(&mine, 0, sizeof mine);
        FULL.out = &mine;
        weir_sim_config cfg;
        weir_sim_config_default(&cfg, 3);
        cfg.log_level = WEIR_LOG_ERROR;
        weir_world *w = weir_sim_world_new(&cfg);
        static const weir_node_type broker = {"fake-broker", full_broker_start, NULL};
        static const weir_node_type client = {"client", full_client_start, full_client_destroy};
        if (w == NULL || weir_world_node_add(w, "broker", &broker, NULL) != 0 ||
            weir_world_node_add(w, "client", &client, NULL) != 0 ||
            weir_world_run(w, 2000 * MS) != 0) {
            full_fail("world failed");
        }
        if (write(fds[1], &mine, sizeof mine) != (ssize_t)sizeof mine) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &o, sizeof o);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    assert_int_equal(got, (ssize_t)sizeof o);
    print_message("in flight when full %d, answers %d, wakes after release %d, metadata "
                  "requests after release %d\n",
                  o.in_flight_when_full, o.answers, o.wakes_after_release,
                  o.metadata_after_release);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    assert_int_equal(o.in_flight_when_full, 5);
    assert_false(o.ready_when_full);
    assert_int_equal(o.answers, 10);
    assert_true(o.wakes_after_release >= 1);    /* node_ready's refusal is paid back */
    assert_true(o.metadata_after_release >= 1); /* the refresh that found no room went out */
}

static void test_the_same_seed_gives_the_same_trace_hash(void **state)
{
    (void)state;
    result a = run_forked(&crash);
    result b = run_forked(&crash);
    if (!a.ok || !b.ok) {
        fail_msg("%s / %s", a.failure, b.failure);
    }
    assert_true(a.hash != 0);
    if (a.hash != b.hash) {
        fail_msg("seed %llu: hash %016llx then %016llx", (unsigned long long)crash.seed,
                 (unsigned long long)a.hash, (unsigned long long)b.hash);
    }
    assert_int_equal(a.duplicates, b.duplicates);
    assert_int_equal(a.batches_retried, b.batches_retried);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_matches_kafkas_published_vectors),
        cmocka_unit_test(test_partitioner_maps_keys_as_kafkas_java_client),
        cmocka_unit_test(test_producer_and_consumer_move_10000_keyed_messages_through_the_broker),
        cmocka_unit_test(test_producer_retries_through_a_broker_crash_and_no_acked_message_is_lost),
        cmocka_unit_test(test_consumer_reports_an_out_of_range_offset_and_resets_to_earliest),
        cmocka_unit_test(
            test_consumer_seeks_into_a_batch_to_earliest_and_latest_and_skips_compressed),
        cmocka_unit_test(test_expired_and_rejected_records_are_reported_once),
        cmocka_unit_test(test_acks_0_reports_on_send_and_the_records_arrive),
        cmocka_unit_test(test_no_acked_message_is_lost_across_crashes_over_many_seeds),
        cmocka_unit_test(test_the_same_seed_gives_the_same_trace_hash),
        cmocka_unit_test(test_a_paused_partition_gets_nothing_and_resumes_exactly_at_its_position),
        cmocka_unit_test(test_a_group_rebalance_forgets_the_pause_and_loses_nothing),
        cmocka_unit_test(
            test_a_full_connection_wakes_its_owner_and_sends_the_waiting_metadata_once_it_drains),
        cmocka_unit_test(test_bad_configs_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
