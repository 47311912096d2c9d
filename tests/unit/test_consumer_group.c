/* The consumer's groups and read_committed (impl/client/assignor.c,
 * group_member.c, consumer.c).
 *
 * Pure functions first: the range and round-robin assignors over several
 * member/topic layouts (exact shares as Kafka's assignors give them, then a
 * sweep of generated layouts checking every partition goes to exactly one
 * subscribed member, range's balance, and independence from the members'
 * order), and the ConsumerProtocol Subscription/Assignment codec (round trips,
 * a v1 subscription from a newer client, truncated input).
 *
 * Then simulated runs, each in a forked child (SimGrid starts once per
 * process):
 * - read_committed against a fake broker node that serves a crafted log (plain
 *   batches, committed and aborted transactions of three producers, ABORT and
 *   COMMIT markers, a second aborted transaction of the same producer) three
 *   batches per Fetch, with the aborted-transaction list a broker's
 *   transaction index would give (entries whose marker is at or past the fetch
 *   offset): a read_committed consumer sees exactly the committed records,
 *   also after a seek into an aborted transaction, asks for isolation level 1
 *   and reports the LSO; a read_uncommitted one sees every data record.
 * - a group consumer against a fake broker that leads its partition and
 *   coordinates its group on one connection, answering in request order and
 *   holding OffsetCommits for 1.5 s: the owner's commits fill the connection
 *   past in_flight_max with the Fetch queued behind them; once they are
 *   answered the consumer fetches again and reads every record.
 * - three group consumers on their own hosts share a 6-partition topic on a
 *   weir broker while a producer writes; every partition is owned by exactly
 *   one consumer; then one consumer's host crashes and, after the session
 *   timeout, its partitions move to the other two, which start each at the
 *   group's committed offset: never past the last record read (nothing
 *   skipped), never before the last commit the test saw acknowledged (nothing
 *   re-read before it). Every acknowledged record is read. Same seed, same
 *   trace hash.
 *
 * WEIR_TEST_GROUP_LOG=debug|info|warn shows the nodes' log lines.
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
#include "client/assignor.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/messages.h"
#include "sim.h"
#include "child_exit.h"

#define MS 1000000LL

/* ---- assignors: exact layouts ---- */

static int32_t share_count(const weir_assignor_share *s, const char *topic)
{
    int32_t n = 0;
    for (int32_t i = 0; i < s->count; i++) {
        n += strcmp(s->tps[i].topic, topic) == 0 ? 1 : 0;
    }
    return n;
}

/* Checks share s equals "t0 t1 u0 ..." (topic letter + partition). */
static void assert_share(const weir_assignor_share *s, const char *want)
{
    char got[256] = {0};
    size_t at = 0;
    for (int32_t i = 0; i < s->count; i++) {
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s%d", i > 0 ? " " : "",
                               s->tps[i].topic, s->tps[i].partition);
    }
    if (strcmp(got, want) != 0) {
        fail_msg("share is \"%s\", expected \"%s\"", got, want);
    }
}

static void test_range_gives_contiguous_ranges_per_topic_over_members_sorted_by_id(void **state)
{
    (void)state;
    const char *tu[] = {"t", "u"};
    /* given out of order: the assignor sorts by member id */
    weir_assignor_member members[] = {{"c", 2, tu}, {"a", 2, tu}, {"b", 2, tu}};
    weir_assignor_topic topics[] = {{"t", 7}, {"u", 2}};
    weir_assignor_share shares[3];
    assert_int_equal(weir_assignor_assign("range", members, 3, topics, 2, shares), 0);
    assert_share(&shares[1], "t0 t1 t2 u0"); /* a: 7/3 = 2, plus one of 7%3 = 1 extra */
    assert_share(&shares[2], "t3 t4 u1");    /* b */
    assert_share(&shares[0], "t5 t6");       /* c: u ran out */
    weir_assignor_shares_free(shares, 3);

    /* more members than partitions: the first ones get one each */
    weir_assignor_member five[] = {
        {"m1", 1, tu}, {"m2", 1, tu}, {"m3", 1, tu}, {"m4", 1, tu}, {"m5", 1, tu}};
    weir_assignor_topic t2[] = {{"t", 2}};
    weir_assignor_share s5[5];
    assert_int_equal(weir_assignor_assign("range", five, 5, t2, 1, s5), 0);
    assert_share(&s5[0], "t0");
    assert_share(&s5[1], "t1");
    assert_share(&s5[2], "");
    assert_share(&s5[4], "");
    weir_assignor_shares_free(s5, 5);
}

static void test_range_splits_each_topic_over_its_own_subscribers(void **state)
{
    (void)state;
    const char *t[] = {"t"};
    const char *tu[] = {"t", "u"};
    const char *u[] = {"u"};
    weir_assignor_member members[] = {{"a", 1, t}, {"b", 2, tu}, {"c", 1, u}};
    /* v: nobody wants it; w: no partitions known; u listed twice */
    weir_assignor_topic topics[] = {{"u", 3}, {"t", 4}, {"v", 5}, {"w", 0}, {"u", 3}};
    weir_assignor_share shares[3];
    assert_int_equal(weir_assignor_assign("range", members, 3, topics, 5, shares), 0);
    assert_share(&shares[0], "t0 t1");
    assert_share(&shares[1], "t2 t3 u0 u1");
    assert_share(&shares[2], "u2");
    weir_assignor_shares_free(shares, 3);
}

static void test_roundrobin_deals_sorted_partitions_to_sorted_members(void **state)
{
    (void)state;
    const char *tu[] = {"u", "t"};
    weir_assignor_member members[] = {{"b", 2, tu}, {"c", 2, tu}, {"a", 2, tu}};
    weir_assignor_topic topics[] = {{"u", 2}, {"t", 3}};
    weir_assignor_share shares[3];
    assert_int_equal(weir_assignor_assign("roundrobin", members, 3, topics, 2, shares), 0);
    /* t0 t1 t2 u0 u1 dealt to a b c a b */
    assert_share(&shares[2], "t0 u0");
    assert_share(&shares[0], "t1 u1");
    assert_share(&shares[1], "t2");
    weir_assignor_shares_free(shares, 3);
}

static void test_roundrobin_skips_members_not_subscribed_to_the_topic(void **state)
{
    (void)state;
    const char *t[] = {"t"};
    const char *tu[] = {"t", "u"};
    const char *u[] = {"u"};
    weir_assignor_member members[] = {{"a", 1, t}, {"b", 2, tu}, {"c", 1, u}};
    weir_assignor_topic topics[] = {{"t", 3}, {"u", 3}};
    weir_assignor_share shares[3];
    assert_int_equal(weir_assignor_assign("roundrobin", members, 3, topics, 2, shares), 0);
    /* Kafka's circular iterator: t0 a, t1 b, t2 (c skipped) a, u0 b, u1 c, u2 (a skipped) b */
    assert_share(&shares[0], "t0 t2");
    assert_share(&shares[1], "t1 u0 u2");
    assert_share(&shares[2], "u1");
    weir_assignor_shares_free(shares, 3);
}

static void test_bad_group_settings_are_refused_with_a_reason(void **state)
{
    (void)state;
    weir_consumer_callbacks cbs = {.on_record = (void (*)(void *, const weir_consumer_record *))1};
    const char *why = NULL;
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    assert_null(cc.group_id);
    assert_int_equal(cc.session_timeout_ms, 45000);
    assert_int_equal(cc.heartbeat_interval_ms, 3000);
    assert_int_equal(cc.rebalance_timeout_ms, 300000);
    assert_true(cc.enable_auto_commit);
    assert_int_equal(cc.auto_commit_interval_ms, 5000);
    assert_string_equal(cc.assignor, "range");
    assert_false(cc.read_committed);
    cc.bootstrap = "broker:9092";
    const struct {
        const char *group_id;
        const char *assignor;
        int32_t session_ms, heartbeat_ms;
    } bad[] = {
        {"", "range", 45000, 3000},    /* empty group id */
        {"g", "sticky", 45000, 3000},  /* an assignor weir does not have */
        {"g", "range", 3000, 3000},    /* heartbeat not below the session timeout */
        {"g", "roundrobin", 45000, 0}, /* no heartbeat interval */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc.group_id = bad[i].group_id;
        cc.assignor = bad[i].assignor;
        cc.session_timeout_ms = bad[i].session_ms;
        cc.heartbeat_interval_ms = bad[i].heartbeat_ms;
        why = NULL;
        assert_null(weir_consumer_new(NULL, &cc, &cbs, &why));
        assert_non_null(why);
    }
}

static void test_assignors_refuse_unknown_names_and_duplicate_members(void **state)
{
    (void)state;
    const char *t[] = {"t"};
    weir_assignor_member dup[] = {{"a", 1, t}, {"a", 1, t}};
    weir_assignor_topic topics[] = {{"t", 3}};
    weir_assignor_share shares[2];
    assert_int_equal(weir_assignor_assign("sticky", dup, 1, topics, 1, shares), WEIR_E_INVAL);
    assert_int_equal(weir_assignor_assign("range", dup, 2, topics, 1, shares), WEIR_E_INVAL);
    assert_true(weir_assignor_known("range") && weir_assignor_known("roundrobin"));
    assert_false(weir_assignor_known("cooperative-sticky") || weir_assignor_known(NULL));
    assert_int_equal(weir_assignor_assign("range", NULL, 0, topics, 1, shares), 0);
}

/* ---- assignors: generated layouts ---- */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

#define GEN_MEMBERS_MAX 7
#define GEN_TOPICS_MAX 4

typedef struct gen_layout {
    char ids[GEN_MEMBERS_MAX][16];
    const char *subs[GEN_MEMBERS_MAX][GEN_TOPICS_MAX];
    weir_assignor_member members[GEN_MEMBERS_MAX];
    weir_assignor_topic topics[GEN_TOPICS_MAX];
    int32_t member_count;
    int32_t topic_count;
} gen_layout;

static const char *gen_names[GEN_TOPICS_MAX] = {"alpha", "beta", "gamma", "delta"};

static void gen_make(gen_layout *g, uint64_t *seed)
{
    memset(g, 0, sizeof *g);
    g->member_count = 1 + (int32_t)(lcg(seed) % GEN_MEMBERS_MAX);
    g->topic_count = 1 + (int32_t)(lcg(seed) % GEN_TOPICS_MAX);
    for (int32_t t = 0; t < g->topic_count; t++) {
        g->topics[t] = (weir_assignor_topic){gen_names[t], (int32_t)(lcg(seed) % 13)};
    }
    for (int32_t m = 0; m < g->member_count; m++) {
        snprintf(g->ids[m], sizeof g->ids[m], "m%05d", (int)(lcg(seed) % 1000) * 10 + m);
        int32_t n = 0;
        for (int32_t t = 0; t < g->topic_count; t++) {
            if (lcg(seed) % 3 != 0) {
                g->subs[m][n++] = gen_names[t];
            }
        }
        g->members[m] = (weir_assignor_member){g->ids[m], n, g->subs[m]};
    }
}

/* Every partition of a subscribed topic to exactly one subscribed member. */
static void gen_check_cover(const gen_layout *g, const weir_assignor_share *shares)
{
    for (int32_t t = 0; t < g->topic_count; t++) {
        bool wanted = false;
        for (int32_t m = 0; m < g->member_count; m++) {
            for (int32_t k = 0; k < g->members[m].topic_count; k++) {
                wanted |= strcmp(g->members[m].topics[k], g->topics[t].name) == 0;
            }
        }
        for (int32_t p = 0; p < g->topics[t].partition_count; p++) {
            int owners = 0;
            for (int32_t m = 0; m < g->member_count; m++) {
                for (int32_t i = 0; i < shares[m].count; i++) {
                    if (shares[m].tps[i].partition == p &&
                        strcmp(shares[m].tps[i].topic, g->topics[t].name) == 0) {
                        owners++;
                        bool sub = false;
                        for (int32_t k = 0; k < g->members[m].topic_count; k++) {
                            sub |= strcmp(g->members[m].topics[k], g->topics[t].name) == 0;
                        }
                        assert_true(sub);
                    }
                }
            }
            assert_int_equal(owners, wanted ? 1 : 0);
        }
    }
}

static void test_assignors_give_every_partition_to_one_subscriber_in_generated_layouts(void **st)
{
    (void)st;
    uint64_t seed = 42;
    const char *names[] = {"range", "roundrobin"};
    for (int round = 0; round < 400; round++) {
        gen_layout g;
        gen_make(&g, &seed);
        for (int a = 0; a < 2; a++) {
            weir_assignor_share shares[GEN_MEMBERS_MAX];
            assert_int_equal(weir_assignor_assign(names[a], g.members, g.member_count, g.topics,
                                                  g.topic_count, shares),
                             0);
            gen_check_cover(&g, shares);
            if (a == 0) {
                /* range: per topic, subscribers' counts differ by at most one */
                for (int32_t t = 0; t < g.topic_count; t++) {
                    int32_t lo = INT32_MAX, hi = -1;
                    for (int32_t m = 0; m < g.member_count; m++) {
                        bool sub = false;
                        for (int32_t k = 0; k < g.members[m].topic_count; k++) {
                            sub |= strcmp(g.members[m].topics[k], g.topics[t].name) == 0;
                        }
                        if (sub) {
                            int32_t n = share_count(&shares[m], g.topics[t].name);
                            lo = n < lo ? n : lo;
                            hi = n > hi ? n : hi;
                        }
                    }
                    assert_true(hi < 0 || hi - lo <= 1);
                }
            }
            /* the members' order does not matter: reverse them */
            gen_layout r = g;
            for (int32_t m = 0; m < g.member_count; m++) {
                r.members[m] = g.members[g.member_count - 1 - m];
            }
            weir_assignor_share rs[GEN_MEMBERS_MAX];
            assert_int_equal(weir_assignor_assign(names[a], r.members, r.member_count, r.topics,
                                                  r.topic_count, rs),
                             0);
            for (int32_t m = 0; m < g.member_count; m++) {
                const weir_assignor_share *x = &shares[m];
                const weir_assignor_share *y = &rs[g.member_count - 1 - m];
                assert_int_equal(x->count, y->count);
                for (int32_t i = 0; i < x->count; i++) {
                    assert_string_equal(x->tps[i].topic, y->tps[i].topic);
                    assert_int_equal(x->tps[i].partition, y->tps[i].partition);
                }
            }
            weir_assignor_shares_free(rs, g.member_count);
            weir_assignor_shares_free(shares, g.member_count);
        }
    }
}

/* ---- ConsumerProtocol ---- */

static void test_subscription_and_assignment_round_trip(void **state)
{
    (void)state;
    const char *topics[] = {"orders", "payments"};
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_assignor_subscription_encode(&w, topics, 2), 0);
    /* version 0, 2 topics, "orders", "payments", null user data */
    assert_int_equal(w.len, 2 + 4 + (2 + 6) + (2 + 8) + 4);
    assert_int_equal(w.buf[0] << 8 | w.buf[1], 0);
    weir_arena a;
    weir_arena_init(&a, 0);
    const weir_str *got = NULL;
    int32_t n = 0;
    assert_int_equal(
        weir_assignor_subscription_decode((weir_bytes){w.buf, (int32_t)w.len}, &a, &got, &n), 0);
    assert_int_equal(n, 2);
    assert_true(weir_str_eq_cstr(got[0], "orders") && weir_str_eq_cstr(got[1], "payments"));
    /* truncated anywhere: corrupt */
    for (size_t cut = 0; cut < 2 + 4 + 8 + 10; cut++) {
        assert_int_equal(
            weir_assignor_subscription_decode((weir_bytes){w.buf, (int32_t)cut}, &a, &got, &n),
            WEIR_E_CORRUPT);
    }
    weir_wr_reset(&w);

    weir_topic_partition tps[] = {{"orders", 3}, {"payments", 0}, {"orders", 1}, {"orders", 3}};
    assert_int_equal(weir_assignor_assignment_encode(&w, tps, 4), 0);
    weir_topic_partition *back = NULL;
    int32_t count = 0;
    assert_int_equal(
        weir_assignor_assignment_decode((weir_bytes){w.buf, (int32_t)w.len}, &back, &count), 0);
    /* grouped by topic in first-appearance order, the duplicate dropped */
    assert_int_equal(count, 3);
    assert_string_equal(back[0].topic, "orders");
    assert_int_equal(back[0].partition, 3);
    assert_string_equal(back[1].topic, "orders");
    assert_int_equal(back[1].partition, 1);
    assert_string_equal(back[2].topic, "payments");
    assert_int_equal(back[2].partition, 0);
    weir_assignor_tps_free(back, count);
    for (size_t cut = 1; cut < w.len - 4; cut++) {
        back = NULL;
        assert_int_equal(
            weir_assignor_assignment_decode((weir_bytes){w.buf, (int32_t)cut}, &back, &count),
            WEIR_E_CORRUPT);
        assert_null(back);
    }
    /* an empty assignment (the leader gave this member nothing) */
    assert_int_equal(weir_assignor_assignment_decode((weir_bytes){NULL, 0}, &back, &count), 0);
    assert_int_equal(count, 0);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_a_newer_subscription_version_is_read_by_its_v0_prefix(void **state)
{
    (void)state;
    /* Subscription v1 (Kafka 2.4+): v0 fields, then OwnedPartitions */
    weir_wr w;
    weir_wr_init(&w);
    weir_wr_i16(&w, 1);
    weir_wr_array_count(&w, 1);
    weir_wr_string(&w, weir_str_from("t"));
    weir_wr_nullable_bytes(&w, (weir_bytes){(const uint8_t *)"ud", 2});
    weir_wr_array_count(&w, 1); /* OwnedPartitions: t [0] */
    weir_wr_string(&w, weir_str_from("t"));
    weir_wr_array_count(&w, 1);
    weir_wr_i32(&w, 0);
    weir_arena a;
    weir_arena_init(&a, 0);
    const weir_str *got = NULL;
    int32_t n = 0;
    assert_int_equal(
        weir_assignor_subscription_decode((weir_bytes){w.buf, (int32_t)w.len}, &a, &got, &n), 0);
    assert_int_equal(n, 1);
    assert_true(weir_str_eq_cstr(got[0], "t"));
    /* a negative version is refused */
    w.buf[0] = 0xff;
    assert_int_equal(
        weir_assignor_subscription_decode((weir_bytes){w.buf, (int32_t)w.len}, &a, &got, &n),
        WEIR_E_CORRUPT);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

/* ---- forked sim runs ---- */

typedef void (*child_fn)(uint64_t seed, void *out);

static weir_log_level sim_log_level(void)
{
    const char *lvl = getenv("WEIR_TEST_GROUP_LOG");
    if (lvl == NULL) {
        return WEIR_LOG_ERROR;
    }
    return strcmp(lvl, "debug") == 0  ? WEIR_LOG_DEBUG
           : strcmp(lvl, "info") == 0 ? WEIR_LOG_INFO
                                      : WEIR_LOG_WARN;
}

static void run_forked(child_fn fn, uint64_t seed, void *out, size_t size)
{
    int fds[2];
    memset(out, 0, size);
    if (pipe(fds) != 0) {
        fail_msg("pipe failed");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        void *mine = calloc(1, size);
        fn(seed, mine);
        if (write(fds[1], mine, size) != (ssize_t)size) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fds[0], (char *)out + got, size - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != size) {
        fail_msg("the simulated run died (status %d)", status);
    }
}

/* ---- read_committed against a fake broker ---- */

#define TX_TOPIC "tx"
#define TX_BATCHES_MAX 32
#define TX_PER_FETCH 3 /* batches per Fetch answer */
#define TX_END 16

typedef struct tx_batch {
    uint8_t *buf;
    size_t len;
    int64_t base;
    int64_t last;
} tx_batch;

/* An aborted transaction as the broker's transaction index holds it. */
typedef struct tx_abort {
    int64_t producer_id;
    int64_t first_offset;
    int64_t marker_offset;
} tx_abort;

typedef struct tx_outcome {
    char failure[200];
    int64_t committed_read[TX_END + 1];
    int32_t committed_count;
    int64_t after_seek_read[TX_END + 1];
    int32_t after_seek_count;
    int64_t uncommitted_read[TX_END + 1];
    int32_t uncommitted_count;
    int64_t committed_position;
    int64_t committed_lso;
    int64_t uncommitted_position;
    int8_t fetch_isolation[2]; /* seen from the rc / ru consumer: max level asked */
    int8_t list_isolation;
    int64_t fetches;
} tx_outcome;

static struct {
    tx_batch batches[TX_BATCHES_MAX];
    int32_t batch_count;
    tx_abort aborts[4];
    int32_t abort_count;
    tx_outcome *out;
    weir_consumer *rc;
    weir_consumer *ru;
    int phase;
} TX;

static void tx_add(int64_t base, int16_t attrs, int64_t pid, int count, int control_type)
{
    weir_batch_builder b;
    weir_batch_builder_init(&b);
    if (pid >= 0) {
        weir_batch_builder_set_producer(&b, pid, 0, 0);
    }
    weir_batch_builder_set_attributes(&b, attrs);
    for (int i = 0; i < count; i++) {
        if (control_type >= 0) {
            uint8_t key[4] = {0, 0, 0, (uint8_t)control_type};
            uint8_t val[6] = {0};
            weir_batch_builder_add(&b, 1700000000000LL, key, 4, val, 6, NULL, 0);
        } else {
            char v[16];
            int n = snprintf(v, sizeof v, "v%lld", (long long)(base + i));
            weir_batch_builder_add(&b, 1700000000000LL, NULL, 0, v, n, NULL, 0);
        }
    }
    uint8_t *buf;
    size_t len;
    assert_int_equal(weir_batch_builder_finish(&b, &buf, &len), 0);
    tx_batch *t = &TX.batches[TX.batch_count++];
    t->buf = malloc(len);
    memcpy(t->buf, buf, len);
    t->len = len;
    weir_batch_set_base_offset(t->buf, base);
    t->base = base;
    t->last = base + count - 1;
    weir_batch_builder_free(&b);
}

/* The log: the comment gives each batch's fate under read_committed. */
static void tx_build_log(void)
{
    const int16_t TXN = WEIR_BATCH_TRANSACTIONAL;
    const int16_t CTRL = WEIR_BATCH_TRANSACTIONAL | WEIR_BATCH_CONTROL;
    TX.batch_count = 0;
    tx_add(0, 0, -1, 2, -1);     /* 0-1 plain: read */
    tx_add(2, TXN, 100, 2, -1);  /* 2-3 pid 100, aborted below */
    tx_add(4, TXN, 200, 1, -1);  /* 4 pid 200, committed: read */
    tx_add(5, TXN, 100, 1, -1);  /* 5 pid 100, same aborted transaction */
    tx_add(6, CTRL, 100, 1, 0);  /* 6 ABORT pid 100 */
    tx_add(7, CTRL, 200, 1, 1);  /* 7 COMMIT pid 200 */
    tx_add(8, TXN, 100, 1, -1);  /* 8 pid 100, a new transaction, committed: read */
    tx_add(9, CTRL, 100, 1, 1);  /* 9 COMMIT pid 100 */
    tx_add(10, TXN, 300, 1, -1); /* 10 pid 300, aborted */
    tx_add(11, 0, -1, 1, -1);    /* 11 plain, inside 300's transaction: read */
    tx_add(12, CTRL, 300, 1, 0); /* 12 ABORT pid 300 */
    tx_add(13, TXN, 100, 1, -1); /* 13 pid 100 again, aborted (its second entry) */
    tx_add(14, CTRL, 100, 1, 0); /* 14 ABORT pid 100 */
    tx_add(15, 0, -1, 1, -1);    /* 15 plain: read */
    TX.aborts[0] = (tx_abort){100, 2, 6};
    TX.aborts[1] = (tx_abort){300, 10, 12};
    TX.aborts[2] = (tx_abort){100, 13, 14};
    TX.abort_count = 3;
}

typedef struct tx_pending {
    weir_conn *conn;
    uint8_t *buf;
    size_t len;
} tx_pending;

static void tx_send_later(weir_env *env, void *arg)
{
    (void)env;
    tx_pending *p = arg;
    weir_ignore(weir_conn_send(p->conn, p->buf, p->len));
    free(p->buf);
    free(p);
}

static int tx_answer_fetch(weir_wr *w, weir_arena *a, const weir_fetch_request *f, bool *empty)
{
    TX.out->fetches++;
    int k = f->isolation_level > 0 ? 0 : 1;
    if (f->topic_count == 1 && f->topics[0].partition_count == 1) {
        /* which consumer asked is told by the isolation level */
        if (f->isolation_level > TX.out->fetch_isolation[k]) {
            TX.out->fetch_isolation[k] = f->isolation_level;
        }
    }
    int64_t from = f->topics[0].partitions[0].fetch_offset;
    weir_wr data;
    weir_wr_init(&data);
    int n = 0;
    int64_t upto = -1;
    for (int32_t i = 0; i < TX.batch_count && n < TX_PER_FETCH; i++) {
        if (TX.batches[i].last >= from) {
            weir_wr_raw(&data, TX.batches[i].buf, TX.batches[i].len);
            upto = TX.batches[i].last;
            n++;
        }
    }
    weir_fetch_aborted_txn *ab = weir_arena_alloc_array(a, 4, sizeof *ab);
    int32_t ab_count = 0;
    for (int32_t i = 0; f->isolation_level > 0 && i < TX.abort_count; i++) {
        /* the transaction index: entries overlapping [from, upto] */
        if (TX.aborts[i].marker_offset >= from && TX.aborts[i].first_offset <= upto) {
            ab[ab_count++] =
                (weir_fetch_aborted_txn){TX.aborts[i].producer_id, TX.aborts[i].first_offset};
        }
    }
    weir_fetch_partition_response pr = {0};
    pr.partition_index = 0;
    pr.high_watermark = TX_END + 2; /* a transaction still open past the LSO */
    pr.last_stable_offset = TX_END;
    pr.log_start_offset = 0;
    pr.aborted_count = f->isolation_level > 0 ? ab_count : -1;
    pr.aborted = ab;
    pr.preferred_read_replica = -1;
    pr.records = (weir_bytes){data.buf, (int32_t)data.len};
    weir_fetch_topic_response tr = {weir_str_from(TX_TOPIC), 1, &pr};
    weir_fetch_response fr = {0, 0, 0, 1, &tr};
    int err = weir_encode_fetch_response(w, 11, &fr);
    *empty = n == 0;
    weir_wr_free(&data);
    return err;
}

static void tx_on_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    (void)arg;
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request req;
    weir_wr w;
    weir_wr_init(&w);
    bool empty = false;
    int err = weir_decode_request(&rd, &a, &req);
    if (err == 0) {
        err = weir_encode_response_header(&w, req.header.api_key, req.header.api_version,
                                          req.header.correlation_id);
    }
    if (err == 0 && req.header.api_key == WEIR_API_METADATA) {
        weir_metadata_broker br = {1, weir_str_from("broker"), 9092, WEIR_STR_NULL};
        int32_t replicas[1] = {1};
        weir_metadata_partition mp = {0, 0, 1, 1, replicas, 1, replicas};
        weir_metadata_topic mt = {0, weir_str_from(TX_TOPIC), false, 1, &mp};
        weir_metadata_response mr = {0, 1, &br, WEIR_STR_NULL, 1, 1, &mt};
        err = weir_encode_metadata_response(&w, req.header.api_version, &mr);
    } else if (err == 0 && req.header.api_key == WEIR_API_LIST_OFFSETS) {
        const weir_list_offsets_request *lo = &req.body.list_offsets;
        TX.out->list_isolation = lo->isolation_level;
        int64_t ts = lo->topics[0].partitions[0].timestamp;
        weir_list_offsets_partition_response lp = {0};
        lp.offset =
            ts == WEIR_LOG_TS_EARLIEST ? 0 : (lo->isolation_level > 0 ? TX_END : TX_END + 2);
        lp.timestamp = -1;
        weir_list_offsets_topic_response lt = {weir_str_from(TX_TOPIC), 1, &lp};
        weir_list_offsets_response lr = {0, 1, &lt};
        err = weir_encode_list_offsets_response(&w, req.header.api_version, &lr);
    } else if (err == 0 && req.header.api_key == WEIR_API_FETCH) {
        err = tx_answer_fetch(&w, &a, &req.body.fetch, &empty);
    } else if (err == 0) {
        err = WEIR_E_UNSUPPORTED;
    }
    if (err != 0) {
        snprintf(TX.out->failure, sizeof TX.out->failure, "fake broker: %s (%s)", weir_err_str(err),
                 rd.why ? rd.why : "");
        weir_conn_close(conn);
    } else if (empty) {
        tx_pending *pend = malloc(sizeof *pend);
        pend->conn = conn;
        pend->buf = weir_wr_take(&w, &pend->len);
        weir_timer_start(conn->env, 100 * MS, tx_send_later, pend); /* a long poll */
    } else {
        weir_ignore(weir_conn_send(conn, w.buf, w.len));
    }
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void *tx_broker_start(weir_env *env, void *arg)
{
    static weir_listener *l;
    weir_conn_handlers h = {NULL, tx_on_frame, NULL, NULL};
    if (weir_listen(env, "broker:9092", &h, &l) != 0) {
        snprintf(TX.out->failure, sizeof TX.out->failure, "fake broker cannot listen");
    }
    return arg;
}

static void tx_on_record(void *ctx, const weir_consumer_record *rec)
{
    tx_outcome *o = TX.out;
    if (ctx == &TX.rc) {
        if (TX.phase == 0 && o->committed_count <= TX_END) {
            o->committed_read[o->committed_count++] = rec->offset;
        } else if (TX.phase == 1 && o->after_seek_count <= TX_END) {
            o->after_seek_read[o->after_seek_count++] = rec->offset;
        }
    } else if (o->uncommitted_count <= TX_END) {
        o->uncommitted_read[o->uncommitted_count++] = rec->offset;
    }
}

static void tx_phase2(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    tx_outcome *o = TX.out;
    if (weir_consumer_position(TX.rc, TX_TOPIC, 0, &o->committed_position) != 0 ||
        weir_consumer_high_watermark(TX.rc, TX_TOPIC, 0, &o->committed_lso) != 0 ||
        weir_consumer_position(TX.ru, TX_TOPIC, 0, &o->uncommitted_position) != 0) {
        snprintf(o->failure, sizeof o->failure, "no positions after phase 1");
    }
    TX.phase = 1;
    if (weir_consumer_seek(TX.rc, TX_TOPIC, 0, 5) != 0) {
        snprintf(o->failure, sizeof o->failure, "seek failed");
    }
}

static void *tx_client_start(weir_env *env, void *arg)
{
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.read_committed = true;
    weir_consumer_callbacks cbs = {tx_on_record, NULL, &TX.rc, NULL, NULL};
    TX.rc = weir_consumer_new(env, &cc, &cbs, NULL);
    cc.read_committed = false;
    cc.auto_offset_reset = WEIR_OFFSET_RESET_LATEST;
    cbs.ctx = &TX.ru;
    TX.ru = weir_consumer_new(env, &cc, &cbs, NULL);
    weir_topic_partition tp = {TX_TOPIC, 0};
    if (TX.rc == NULL || TX.ru == NULL || weir_consumer_assign(TX.rc, &tp, 1) != 0 ||
        weir_consumer_assign(TX.ru, &tp, 1) != 0 ||
        weir_consumer_seek(TX.ru, TX_TOPIC, 0, 0) != 0) {
        snprintf(TX.out->failure, sizeof TX.out->failure, "consumer setup failed");
        return arg;
    }
    /* no group: the group calls are refused */
    const char *topics[] = {TX_TOPIC};
    const char *gid = "x", *mid = "x";
    int32_t gen = 0;
    weir_consumer_group_metadata(TX.rc, &gid, &gen, &mid);
    if (weir_consumer_subscribe(TX.rc, topics, 1) != WEIR_E_INVAL ||
        weir_consumer_commit(TX.rc, NULL, NULL) != WEIR_E_INVAL || gid != NULL || gen != -1 ||
        mid != NULL || weir_consumer_assignment_epoch(TX.rc) != 1) {
        snprintf(TX.out->failure, sizeof TX.out->failure, "group calls without a group");
    }
    weir_timer_start(env, 2000 * MS, tx_phase2, NULL);
    return arg;
}

static void tx_client_destroy(void *state)
{
    (void)state;
    weir_consumer_abandon(TX.rc);
    weir_consumer_abandon(TX.ru);
    TX.rc = TX.ru = NULL;
}

static void tx_child(uint64_t seed, void *out)
{
    TX.out = out;
    tx_build_log();
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = sim_log_level();
    weir_world *w = weir_sim_world_new(&cfg);
    static const weir_node_type broker = {"fake-broker", tx_broker_start, NULL};
    static const weir_node_type client = {"client", tx_client_start, tx_client_destroy};
    if (w == NULL || weir_world_node_add(w, "broker", &broker, NULL) != 0 ||
        weir_world_node_add(w, "client", &client, NULL) != 0 || weir_world_run(w, 4000 * MS) != 0) {
        snprintf(TX.out->failure, sizeof TX.out->failure, "world failed");
    }
}

static void assert_offsets(const char *what, const int64_t *got, int32_t n, const int64_t *want,
                           int32_t wn)
{
    char g[200] = {0};
    size_t at = 0;
    for (int32_t i = 0; i < n && at < sizeof g - 8; i++) {
        at += (size_t)snprintf(g + at, sizeof g - at, " %lld", (long long)got[i]);
    }
    bool same = n == wn;
    for (int32_t i = 0; same && i < n; i++) {
        same = got[i] == want[i];
    }
    if (!same) {
        fail_msg("%s read offsets:%s", what, g);
    }
}

static void test_read_committed_skips_aborted_transactions_and_markers(void **state)
{
    (void)state;
    tx_outcome o;
    run_forked(tx_child, 5, &o, sizeof o);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    const int64_t committed[] = {0, 1, 4, 8, 11, 15};
    assert_offsets("read_committed", o.committed_read, o.committed_count, committed, 6);
    const int64_t after_seek[] = {8, 11, 15}; /* 5 is inside pid 100's aborted transaction */
    assert_offsets("read_committed after seek(5)", o.after_seek_read, o.after_seek_count,
                   after_seek, 3);
    const int64_t all[] = {0, 1, 2, 3, 4, 5, 8, 10, 11, 13, 15};
    assert_offsets("read_uncommitted", o.uncommitted_read, o.uncommitted_count, all, 11);
    assert_int_equal(o.committed_position, TX_END); /* past the last marker */
    assert_int_equal(o.committed_lso, TX_END);      /* the LSO, not the HW */
    assert_int_equal(o.uncommitted_position, TX_END);
    assert_int_equal(o.fetch_isolation[0], 1);
    assert_int_equal(o.fetch_isolation[1], 0);
    assert_int_equal(o.list_isolation, 1); /* only the read_committed one asked */
}

/* ---- a fetch behind commits a coordinator holds ---- */

/* A fake broker that is the partition's leader and the group's coordinator on
 * one connection, as Kafka's is: it answers each connection's requests in the
 * order they came. OffsetCommits arriving between HOL_HOLD_FROM_MS and
 * HOL_HOLD_UNTIL_MS are answered at HOL_HOLD_UNTIL_MS (a coordinator whose
 * offsets partition waits for a dead ISR member), so the owner's commits,
 * sent every 100 ms without asking for room, fill the connection past
 * in_flight_max and hold the Fetch queued behind them. When they are all
 * answered the consumer must fetch again. */
#define HOL_TOPIC "h"
#define HOL_RECORDS 400
#define HOL_RECORD_EVERY_MS 10 /* record i appears at i * 10 ms */
#define HOL_PER_FETCH 50
#define HOL_HOLD_FROM_MS 1000
#define HOL_HOLD_UNTIL_MS 2500
#define HOL_RUN_MS 5000
#define HOL_QUEUE_MAX 64
#define HOL_CONNS_MAX 8

typedef struct hol_outcome {
    char failure[200];
    int32_t read_count;
    int32_t out_of_order;
    int32_t read_at_release; /* records read when the held commits were answered */
    int64_t last_read_ms;
    int32_t queued_max; /* most requests waiting for an answer on one connection */
    int32_t commits_ok;
} hol_outcome;

typedef struct hol_pending {
    uint8_t *buf;
    size_t len;
    int64_t ready_ns;
} hol_pending;

/* One connection's answers, in request order. */
typedef struct hol_conn {
    weir_conn *conn;
    hol_pending q[HOL_QUEUE_MAX];
    int32_t head;
    int32_t count;
    weir_timer *timer;
    bool closed;
} hol_conn;

static struct {
    hol_outcome *out;
    hol_conn conns[HOL_CONNS_MAX];
    int32_t conn_count;
    weir_consumer *c;
} HOL;

static void hol_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hol_fail(const char *fmt, ...)
{
    if (HOL.out->failure[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(HOL.out->failure, sizeof HOL.out->failure, fmt, ap);
    va_end(ap);
}

static void hol_drain(hol_conn *hc);

static void hol_drain_cb(weir_env *env, void *arg)
{
    (void)env;
    hol_conn *hc = arg;
    hc->timer = NULL;
    hol_drain(hc);
}

/* Sends the answers whose time has come, oldest first; never one out of turn. */
static void hol_drain(hol_conn *hc)
{
    weir_env *env = hc->conn->env;
    int64_t now = weir_now_ns(env);
    while (hc->count > 0 && hc->q[hc->head].ready_ns <= now) {
        hol_pending *p = &hc->q[hc->head];
        if (!hc->closed) {
            weir_ignore(weir_conn_send(hc->conn, p->buf, p->len));
        }
        free(p->buf);
        hc->head = (hc->head + 1) % HOL_QUEUE_MAX;
        hc->count--;
    }
    if (hc->count > 0 && hc->timer == NULL) {
        hc->timer = weir_timer_start(env, hc->q[hc->head].ready_ns - now, hol_drain_cb, hc);
    }
}

static void hol_queue(hol_conn *hc, weir_wr *w, int64_t ready_ns)
{
    if (hc->count == HOL_QUEUE_MAX) {
        hol_fail("fake broker: more than %d requests waiting", HOL_QUEUE_MAX);
        return;
    }
    hol_pending *p = &hc->q[(hc->head + hc->count) % HOL_QUEUE_MAX];
    p->buf = weir_wr_take(w, &p->len);
    p->ready_ns = ready_ns;
    hc->count++;
    if (hc->count > HOL.out->queued_max) {
        HOL.out->queued_max = hc->count;
    }
    hol_drain(hc);
}

/* Records [from, from + n) as one batch, values "v<offset>". */
static int hol_fetch_answer(weir_wr *w, int16_t version, const weir_fetch_request *f,
                            int64_t now_ms, bool *empty)
{
    int64_t from = f->topics[0].partitions[0].fetch_offset;
    int64_t available = now_ms / HOL_RECORD_EVERY_MS + 1;
    if (available > HOL_RECORDS) {
        available = HOL_RECORDS;
    }
    int64_t n = available - from;
    n = n > HOL_PER_FETCH ? HOL_PER_FETCH : n;
    weir_batch_builder b;
    weir_batch_builder_init(&b);
    uint8_t *buf = NULL;
    size_t len = 0;
    for (int64_t i = 0; i < n; i++) {
        char v[16];
        int vn = snprintf(v, sizeof v, "v%lld", (long long)(from + i));
        weir_batch_builder_add(&b, 1700000000000LL, NULL, 0, v, vn, NULL, 0);
    }
    if (n > 0 && weir_batch_builder_finish(&b, &buf, &len) == 0) {
        weir_batch_set_base_offset(buf, from);
    }
    weir_fetch_partition_response pr = {0};
    pr.partition_index = 0;
    pr.high_watermark = available;
    pr.last_stable_offset = available;
    pr.log_start_offset = 0;
    pr.aborted_count = -1;
    pr.preferred_read_replica = -1;
    pr.records = (weir_bytes){buf, (int32_t)len};
    weir_fetch_topic_response tr = {weir_str_from(HOL_TOPIC), 1, &pr};
    weir_fetch_response fr = {0, 0, 0, 1, &tr};
    int err = weir_encode_fetch_response(w, version, &fr);
    weir_batch_builder_free(&b);
    *empty = n <= 0;
    return err;
}

/* The group's answers: one member, "m-1", always the leader of generation 1. */
static int hol_group_answer(weir_wr *w, const weir_request *req, bool *held)
{
    int16_t v = req->header.api_version;
    switch (req->header.api_key) {
    case WEIR_API_FIND_COORDINATOR: {
        weir_find_coordinator_response r = {0, 0, WEIR_STR_NULL, 1, weir_str_from("broker"), 9092};
        return weir_encode_find_coordinator_response(w, v, &r);
    }
    case WEIR_API_JOIN_GROUP: {
        const weir_join_group_request *j = &req->body.join_group;
        weir_join_group_member m = {weir_str_from("m-1"), WEIR_STR_NULL, j->protocols[0].metadata};
        /* generation 1, the member's own protocol, "m-1" the leader and itself */
        weir_join_group_response r = {
            0, 0, 1, j->protocols[0].name, weir_str_from("m-1"), weir_str_from("m-1"), 1, &m};
        return weir_encode_join_group_response(w, v, &r);
    }
    case WEIR_API_SYNC_GROUP: {
        const weir_sync_group_request *s = &req->body.sync_group;
        weir_sync_group_response r = {0, 0, {NULL, 0}};
        for (int32_t i = 0; i < s->assignment_count; i++) {
            if (weir_str_eq_cstr(s->assignments[i].member_id, "m-1")) {
                r.assignment = s->assignments[i].assignment;
            }
        }
        return weir_encode_sync_group_response(w, v, &r);
    }
    case WEIR_API_OFFSET_FETCH: {
        weir_offset_fetch_partition_response p = {0, -1, -1, WEIR_STR_NULL, 0};
        weir_offset_fetch_topic_response t = {weir_str_from(HOL_TOPIC), 1, &p};
        weir_offset_fetch_response r = {0, 1, &t, 0};
        return weir_encode_offset_fetch_response(w, v, &r);
    }
    case WEIR_API_HEARTBEAT: {
        weir_heartbeat_response r = {0, 0};
        return weir_encode_heartbeat_response(w, v, &r);
    }
    case WEIR_API_OFFSET_COMMIT: {
        weir_offset_commit_partition_response p = {0, 0};
        weir_offset_commit_topic_response t = {weir_str_from(HOL_TOPIC), 1, &p};
        weir_offset_commit_response r = {0, 1, &t};
        *held = true;
        return weir_encode_offset_commit_response(w, v, &r);
    }
    default:
        return WEIR_E_UNSUPPORTED;
    }
}

static int hol_cluster_answer(weir_wr *w, const weir_request *req)
{
    int16_t v = req->header.api_version;
    if (req->header.api_key == WEIR_API_METADATA) {
        weir_metadata_broker br = {1, weir_str_from("broker"), 9092, WEIR_STR_NULL};
        int32_t replicas[1] = {1};
        weir_metadata_partition mp = {0, 0, 1, 1, replicas, 1, replicas};
        weir_metadata_topic mt = {0, weir_str_from(HOL_TOPIC), false, 1, &mp};
        weir_metadata_response mr = {0, 1, &br, WEIR_STR_NULL, 1, 1, &mt};
        return weir_encode_metadata_response(w, v, &mr);
    }
    weir_list_offsets_partition_response lp = {0};
    lp.offset = 0; /* the consumer starts at the earliest offset */
    lp.timestamp = -1;
    weir_list_offsets_topic_response lt = {weir_str_from(HOL_TOPIC), 1, &lp};
    weir_list_offsets_response lr = {0, 1, &lt};
    return weir_encode_list_offsets_response(w, v, &lr);
}

static void hol_on_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    (void)arg;
    hol_conn *hc = conn->data;
    if (hc == NULL) {
        if (HOL.conn_count == HOL_CONNS_MAX) {
            hol_fail("fake broker: too many connections");
            weir_conn_close(conn);
            return;
        }
        hc = &HOL.conns[HOL.conn_count++];
        hc->conn = conn;
        conn->data = hc;
    }
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request req;
    weir_wr w;
    weir_wr_init(&w);
    int64_t now = weir_now_ns(conn->env);
    int64_t ready = now;
    int err = weir_decode_request(&rd, &a, &req);
    if (err == 0) {
        err = weir_encode_response_header(&w, req.header.api_key, req.header.api_version,
                                          req.header.correlation_id);
    }
    int16_t key = err == 0 ? req.header.api_key : -1;
    if (key == WEIR_API_METADATA || key == WEIR_API_LIST_OFFSETS) {
        err = hol_cluster_answer(&w, &req);
    } else if (key == WEIR_API_FETCH) {
        bool empty = false;
        err = hol_fetch_answer(&w, req.header.api_version, &req.body.fetch, now / MS, &empty);
        if (empty) {
            ready = now + (int64_t)req.body.fetch.max_wait_ms * MS; /* a long poll */
        }
    } else if (err == 0) {
        bool commit = false;
        err = hol_group_answer(&w, &req, &commit);
        int64_t now_ms = now / MS;
        if (commit && now_ms >= HOL_HOLD_FROM_MS && now_ms < HOL_HOLD_UNTIL_MS) {
            ready = HOL_HOLD_UNTIL_MS * MS;
        }
    }
    if (err != 0) {
        hol_fail("fake broker: %s (%s)", weir_err_str(err), rd.why ? rd.why : "");
        weir_conn_close(conn);
    } else {
        hol_queue(hc, &w, ready);
    }
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void hol_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)reason;
    (void)arg;
    hol_conn *hc = conn->data;
    if (hc != NULL) {
        hc->closed = true;
    }
}

static void *hol_broker_start(weir_env *env, void *arg)
{
    static weir_listener *l;
    weir_conn_handlers h = {NULL, hol_on_frame, hol_on_close, NULL};
    if (weir_listen(env, "broker:9092", &h, &l) != 0) {
        hol_fail("fake broker cannot listen");
    }
    return arg;
}

static void hol_on_record(void *ctx, const weir_consumer_record *rec)
{
    weir_env *env = ctx;
    hol_outcome *o = HOL.out;
    if (rec->offset != o->read_count) {
        o->out_of_order++;
    }
    o->read_count++;
    o->last_read_ms = weir_now_ns(env) / MS;
}

static void hol_on_commit(void *ctx, int16_t error)
{
    (void)ctx;
    if (error == WEIR_KERR_NONE) {
        HOL.out->commits_ok++;
    }
}

static void hol_commit_tick(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_consumer_assignment_epoch(HOL.c) > 0 &&
        weir_consumer_commit(HOL.c, hol_on_commit, NULL) != 0) {
        hol_fail("commit refused");
    }
    weir_timer_start(env, 100 * MS, hol_commit_tick, NULL);
}

static void hol_release_mark(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    HOL.out->read_at_release = HOL.out->read_count;
}

static void *hol_client_start(weir_env *env, void *arg)
{
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.group_id = "hol";
    cc.enable_auto_commit = false; /* the owner commits, as the scenario runner does */
    cc.session_timeout_ms = 3000;
    cc.heartbeat_interval_ms = 300;
    cc.rebalance_timeout_ms = 3000;
    cc.fetch_wait_ms_max = 100;
    weir_consumer_callbacks cbs = {hol_on_record, NULL, env, NULL, NULL};
    const char *why = NULL;
    HOL.c = weir_consumer_new(env, &cc, &cbs, &why);
    const char *topics[] = {HOL_TOPIC};
    if (HOL.c == NULL || weir_consumer_subscribe(HOL.c, topics, 1) != 0) {
        hol_fail("consumer setup: %s", why ? why : "subscribe failed");
        return arg;
    }
    weir_timer_start(env, 100 * MS, hol_commit_tick, NULL);
    weir_timer_start(env, HOL_HOLD_UNTIL_MS * MS, hol_release_mark, NULL);
    return arg;
}

static void hol_client_destroy(void *state)
{
    (void)state;
    weir_consumer_abandon(HOL.c);
    HOL.c = NULL;
}

static void hol_child(uint64_t seed, void *out)
{
    memset(&HOL, 0, sizeof HOL);
    HOL.out = out;
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = sim_log_level();
    weir_world *w = weir_sim_world_new(&cfg);
    static const weir_node_type broker = {"fake-broker", hol_broker_start, NULL};
    static const weir_node_type client = {"client", hol_client_start, hol_client_destroy};
    if (w == NULL || weir_world_node_add(w, "broker", &broker, NULL) != 0 ||
        weir_world_node_add(w, "client", &client, NULL) != 0 ||
        weir_world_run(w, HOL_RUN_MS * MS) != 0) {
        hol_fail("world failed");
    }
}

static void test_a_fetch_queued_behind_held_commits_resumes_once_they_are_answered(void **state)
{
    (void)state;
    hol_outcome o;
    run_forked(hol_child, 7, &o, sizeof o);
    print_message("read %d (%d when the commits were answered, last at %lld ms), most requests "
                  "waiting on one connection %d, commits ok %d\n",
                  o.read_count, o.read_at_release, (long long)o.last_read_ms, o.queued_max,
                  o.commits_ok);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    /* the state the test is about: more requests waiting than in_flight_max
     * (5), and records still unread when they were answered */
    assert_true(o.queued_max > 5);
    assert_true(o.read_at_release < HOL_RECORDS);
    assert_true(o.commits_ok > 10);
    /* the fetch went on: every record read, in order, soon after the last
     * one appeared (at 4 s) */
    assert_int_equal(o.out_of_order, 0);
    assert_int_equal(o.read_count, HOL_RECORDS);
    assert_true(o.last_read_ms < (HOL_RECORDS * HOL_RECORD_EVERY_MS) + 500);
}

/* ---- groups on a weir broker ---- */

#define G_TOPIC "g"
#define G_PARTS 6
#define G_CONSUMERS 3
#define G_MSGS 6000
#define G_READS_MAX 20000

typedef struct g_read {
    int32_t offset;
    int8_t consumer;
    int64_t epoch;
} g_read;

typedef struct g_outcome {
    char failure[240];
    uint64_t hash;
    int64_t acked;
    int64_t reads;
    int64_t rereads;             /* the same offset read again */
    int64_t rereads_kept;        /* ... on a partition no crash touched */
    int64_t gaps;                /* within one assignment, an offset skipped */
    int64_t lost;                /* acknowledged, never read */
    int64_t assigns;             /* on_assign calls */
    int64_t overlap;             /* on_assign while another live consumer held the partition */
    int64_t start_past_read;     /* started beyond the last offset read + 1: skipped */
    int64_t start_before_commit; /* started before an acknowledged commit */
    int64_t commits_ok;
    int32_t owners_before[G_PARTS]; /* consumer index owning each partition before the crash */
    int32_t owners_after[G_PARTS];
    int32_t crashed;
    int32_t moved; /* partitions of the crashed consumer read by another afterwards */
    int64_t crash_ms;
    int64_t closed_ms;
    int64_t first_read_after_crash_ms;
    int64_t generation_after;
} g_outcome;

typedef struct g_consumer {
    int32_t index;
    weir_env *env;
    weir_consumer *c;
    bool up;
    bool closing;
    int64_t epoch;
    int32_t owned[G_PARTS]; /* 1 while assigned */
    int64_t start[G_PARTS]; /* the position at on_assign (-1 none) */
    int64_t next[G_PARTS];  /* the offset expected next in this assignment */
} g_consumer;

static struct {
    weir_world *w;
    g_outcome *out;
    g_consumer cons[G_CONSUMERS];
    weir_producer *producer;
    int32_t sent;
    int64_t acked_offset[G_MSGS];
    int32_t acked_partition[G_MSGS];
    int32_t *read_count[G_PARTS]; /* per offset: reads */
    int32_t read_cap;
    int64_t max_read[G_PARTS];     /* highest offset read so far, -1 none */
    int64_t acked_commit[G_PARTS]; /* highest commit acknowledged, -1 none */
    bool crash_touched[G_PARTS];
    bool crash_done;
} G;

/* What the chaos node does at 12 s: crash consumer 1's host, close consumer
 * 1 (LeaveGroup), or crash the broker (the coordinator) for 2 s. Set before
 * the fork. */
typedef enum g_mode { G_CRASH_CONSUMER, G_CLOSE_CONSUMER, G_RESTART_BROKER } g_mode;
static g_mode g_chaos_mode = G_CRASH_CONSUMER;
static const char *g_assignor = "range";

static void g_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void g_fail(const char *fmt, ...)
{
    if (G.out->failure[0] != '\0') {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(G.out->failure, sizeof G.out->failure, fmt, ap);
    va_end(ap);
}

static void g_on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                          int16_t error, void *opaque)
{
    (void)ctx;
    (void)topic;
    intptr_t id = (intptr_t)opaque;
    if (error == 0 && id >= 0 && id < G_MSGS) {
        G.acked_offset[id] = offset;
        G.acked_partition[id] = partition;
        G.out->acked++;
    }
}

static void g_send_tick(weir_env *env, void *arg)
{
    for (int i = 0; i < 1 && G.sent < G_MSGS; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "%d", G.sent);
        int32_t p = G.sent % G_PARTS;
        if (weir_producer_send(G.producer, G_TOPIC, p, NULL, 0, v, n, -1,
                               (void *)(intptr_t)G.sent) != 0) {
            g_fail("send failed");
            return;
        }
        G.sent++;
    }
    if (G.sent < G_MSGS) {
        weir_timer_start(env, 4 * MS, g_send_tick, arg);
    }
}

static void *g_producer_start(weir_env *env, void *arg)
{
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = "broker:9092";
    G.producer = weir_producer_new(env, &pc, g_on_delivery, NULL, NULL);
    if (G.producer == NULL) {
        g_fail("producer setup failed");
        return arg;
    }
    weir_timer_start(env, 1000 * MS, g_send_tick, NULL);
    return arg;
}

static void g_producer_destroy(void *state)
{
    (void)state;
    weir_producer_abandon(G.producer);
    G.producer = NULL;
}

static void g_on_record(void *ctx, const weir_consumer_record *rec)
{
    g_consumer *k = ctx;
    int32_t p = rec->partition;
    G.out->reads++;
    if (p < 0 || p >= G_PARTS || rec->offset >= G.read_cap || !k->owned[p]) {
        g_fail("consumer %d read %s-%d@%lld it does not own", k->index, rec->topic, p,
               (long long)rec->offset);
        return;
    }
    if (k->next[p] >= 0 && rec->offset != k->next[p]) {
        G.out->gaps++;
    }
    k->next[p] = rec->offset + 1;
    if (G.read_count[p][rec->offset]++ > 0) {
        G.out->rereads++;
        if (!G.crash_touched[p]) {
            G.out->rereads_kept++;
        }
    }
    if (rec->offset > G.max_read[p]) {
        G.max_read[p] = rec->offset;
    }
    if (G.crash_done && G.crash_touched[p] && G.out->first_read_after_crash_ms == 0) {
        G.out->first_read_after_crash_ms = weir_now_ns(k->env) / MS;
    }
}

static void g_on_revoke(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    g_consumer *k = ctx;
    for (int32_t i = 0; i < count; i++) {
        if (!k->owned[tps[i].partition]) {
            g_fail("consumer %d revoked %d it did not own", k->index, tps[i].partition);
        }
        k->owned[tps[i].partition] = 0;
    }
    for (int32_t p = 0; p < G_PARTS; p++) {
        if (k->owned[p]) {
            g_fail("consumer %d kept partition %d after on_revoke", k->index, p);
        }
    }
}

static void g_on_assign(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    g_consumer *k = ctx;
    G.out->assigns++;
    k->epoch = weir_consumer_assignment_epoch(k->c);
    for (int32_t i = 0; i < count; i++) {
        int32_t p = tps[i].partition;
        if (strcmp(tps[i].topic, G_TOPIC) != 0 || p < 0 || p >= G_PARTS) {
            g_fail("assigned %s-%d", tps[i].topic, p);
            return;
        }
        for (int32_t j = 0; j < G_CONSUMERS; j++) {
            if (j != k->index && G.cons[j].up && G.cons[j].owned[p]) {
                G.out->overlap++;
            }
        }
        k->owned[p] = 1;
        int64_t pos = -1;
        int rc = weir_consumer_position(k->c, G_TOPIC, p, &pos);
        k->start[p] = rc == 0 ? pos : -1;
        k->next[p] = rc == 0 ? pos : -1;
        if (rc == 0 && pos > G.max_read[p] + 1) {
            G.out->start_past_read++;
        }
        if (rc == 0 && pos < G.acked_commit[p]) {
            G.out->start_before_commit++;
        }
        if (rc != 0 && G.acked_commit[p] >= 0) {
            G.out->start_before_commit++; /* a commit exists but was not used */
        }
    }
}

typedef struct g_commit {
    int64_t offsets[G_PARTS];
} g_commit;

static void g_on_commit(void *ctx, int16_t error)
{
    g_commit *gc = ctx;
    if (error == 0) {
        G.out->commits_ok++;
        for (int32_t p = 0; p < G_PARTS; p++) {
            if (gc->offsets[p] > G.acked_commit[p]) {
                G.acked_commit[p] = gc->offsets[p];
            }
        }
    }
    free(gc);
}

/* The test's own commits next to auto-commit: it knows what they carried. */
static void g_commit_tick(weir_env *env, void *arg)
{
    g_consumer *k = arg;
    if (!k->up || k->closing) {
        return;
    }
    weir_timer_start(env, 700 * MS, g_commit_tick, k);
    if (weir_consumer_assignment_epoch(k->c) == 0) {
        return;
    }
    g_commit *gc = malloc(sizeof *gc);
    for (int32_t p = 0; p < G_PARTS; p++) {
        gc->offsets[p] = -1;
        if (k->owned[p]) {
            weir_ignore(weir_consumer_position(k->c, G_TOPIC, p, &gc->offsets[p]));
        }
    }
    if (weir_consumer_commit(k->c, g_on_commit, gc) != 0) {
        free(gc);
        g_fail("consumer %d: commit refused", k->index);
    }
}

static void *g_consumer_start(weir_env *env, void *arg)
{
    g_consumer *k = arg;
    k->env = env;
    k->up = true;
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "broker:9092";
    char id[32];
    snprintf(id, sizeof id, "consumer-%d", k->index);
    cc.client_id = id;
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.group_id = "grp";
    cc.session_timeout_ms = 3000;
    cc.heartbeat_interval_ms = 300;
    cc.rebalance_timeout_ms = 6000;
    cc.auto_commit_interval_ms = 1000;
    cc.request_timeout_ms = 5000;
    cc.assignor = g_assignor;
    weir_consumer_callbacks cbs = {g_on_record, NULL, k, g_on_revoke, g_on_assign};
    const char *why = NULL;
    k->c = weir_consumer_new(env, &cc, &cbs, &why);
    const char *topics[] = {G_TOPIC};
    if (k->c == NULL || weir_consumer_subscribe(k->c, topics, 1) != 0) {
        g_fail("consumer %d setup: %s", k->index, why ? why : "subscribe failed");
        return k;
    }
    weir_timer_start(env, 700 * MS + k->index * 100 * MS, g_commit_tick, k);
    return k;
}

static void g_consumer_destroy(void *state)
{
    g_consumer *k = state;
    k->up = false;
    weir_consumer_abandon(k->c);
    k->c = NULL;
}

static void g_snapshot(int32_t *owners)
{
    for (int32_t p = 0; p < G_PARTS; p++) {
        owners[p] = -1;
        for (int32_t j = 0; j < G_CONSUMERS; j++) {
            if (G.cons[j].up && G.cons[j].owned[p]) {
                owners[p] = owners[p] == -1 ? j : -2; /* -2: two owners */
            }
        }
    }
}

/* Close mode: frees the consumer once its leave is over. */
static void g_closed_poll(weir_env *env, void *arg)
{
    g_consumer *k = arg;
    if (!weir_consumer_closed(k->c)) {
        weir_timer_start(env, 10 * MS, g_closed_poll, k);
        return;
    }
    G.out->closed_ms = weir_now_ns(env) / MS;
    const weir_topic_partition *tps;
    int32_t n;
    weir_consumer_assignment(k->c, &tps, &n);
    if (n != 0) {
        g_fail("a closed consumer still has %d partition(s)", n);
    }
    weir_consumer_free(k->c);
    k->c = NULL;
    k->up = false;
}

static void g_broker_restart(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    if (weir_world_restart(G.w, "broker") != 0) {
        g_fail("broker restart failed");
    }
}

static void g_crash(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    g_snapshot(G.out->owners_before);
    int32_t victim = 1;
    for (int32_t p = 0; p < G_PARTS; p++) {
        G.crash_touched[p] = G.cons[victim].owned[p] != 0;
    }
    G.out->crashed = victim;
    G.out->crash_ms = weir_now_ns(env) / MS;
    if (g_chaos_mode == G_RESTART_BROKER) {
        G.out->crashed = -1;
        if (weir_world_crash(G.w, "broker") != 0) {
            g_fail("broker crash failed");
        }
        weir_timer_start(env, 2000 * MS, g_broker_restart, NULL);
        return;
    }
    if (g_chaos_mode == G_CLOSE_CONSUMER) {
        G.cons[victim].closing = true;
        weir_consumer_close(G.cons[victim].c);
        if (weir_consumer_commit(G.cons[victim].c, NULL, NULL) != WEIR_E_INVAL ||
            weir_consumer_subscribe(G.cons[victim].c, (const char *const[]){G_TOPIC}, 1) !=
                WEIR_E_INVAL) {
            g_fail("commit or subscribe accepted after close");
        }
        G.crash_done = true;
        weir_timer_start(env, 10 * MS, g_closed_poll, &G.cons[victim]);
        return;
    }
    char name[16];
    snprintf(name, sizeof name, "c%d", victim);
    if (weir_world_crash(G.w, name) != 0) {
        g_fail("crash failed");
    }
    G.cons[victim].up = false;
    for (int32_t p = 0; p < G_PARTS; p++) {
        G.cons[victim].owned[p] = 0;
    }
    G.crash_done = true;
}

static void g_finish(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    g_snapshot(G.out->owners_after);
    for (int32_t j = 0; j < G_CONSUMERS; j++) {
        if (G.cons[j].up) {
            const char *gid, *mid;
            int32_t gen;
            weir_consumer_group_metadata(G.cons[j].c, &gid, &gen, &mid);
            G.out->generation_after = gen;
        }
    }
    weir_world_stop(G.w);
}

static void *g_chaos_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 12000 * MS, g_crash, NULL);
    weir_timer_start(env, 32000 * MS, g_finish, NULL);
    return arg;
}

static void g_child(uint64_t seed, void *outp)
{
    g_outcome *out = outp;
    memset(&G, 0, sizeof G);
    G.out = out;
    G.read_cap = G_MSGS * 2;
    for (int32_t p = 0; p < G_PARTS; p++) {
        G.read_count[p] = calloc((size_t)G.read_cap, sizeof(int32_t));
        G.max_read[p] = -1;
        G.acked_commit[p] = -1;
    }
    for (int i = 0; i < G_MSGS; i++) {
        G.acked_offset[i] = -1;
    }
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = sim_log_level();
    G.w = weir_sim_world_new(&cfg);
    static weir_broker_config bc;
    weir_broker_config_default(&bc);
    snprintf(bc.listen_host, sizeof bc.listen_host, "broker");
    bc.listen_port = 9092;
    bc.node_id = 1;
    bc.num_partitions = G_PARTS;
    bc.auto_create_topics = true;
    bc.offsets_topic_partitions = 3;
    bc.group_initial_rebalance_delay_ms = 500;
    bc.group_session_timeout_ms_min = 1000;
    bc.log_level = cfg.log_level > WEIR_LOG_ERROR ? (int)cfg.log_level : -1;
    bc.flush_interval_messages = 1; /* acknowledged = synced: commits survive a crash */
    static const weir_node_type producer = {"producer", g_producer_start, g_producer_destroy};
    static const weir_node_type consumer = {"consumer", g_consumer_start, g_consumer_destroy};
    static const weir_node_type chaos = {"chaos", g_chaos_start, NULL};
    int rc = G.w == NULL ? -1 : weir_world_node_add(G.w, "broker", &weir_broker_node, &bc);
    for (int32_t j = 0; j < G_CONSUMERS && rc == 0; j++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", j);
        G.cons[j].index = j;
        rc = weir_world_node_add(G.w, name, &consumer, &G.cons[j]);
    }
    if (rc != 0 || weir_world_node_add(G.w, "producer", &producer, NULL) != 0 ||
        weir_world_node_add(G.w, "chaos", &chaos, NULL) != 0 ||
        weir_world_run(G.w, 40000 * MS) != 0) {
        g_fail("world failed");
    }
    for (int i = 0; i < G_MSGS; i++) {
        int64_t off = G.acked_offset[i];
        int32_t p = G.acked_partition[i];
        if (off >= 0 && (off >= G.read_cap || G.read_count[p][off] == 0)) {
            out->lost++;
        }
    }
    for (int32_t p = 0; p < G_PARTS; p++) {
        if (G.crash_touched[p] && out->owners_after[p] >= 0) {
            out->moved++;
        }
    }
    out->hash = weir_sim_trace_hash(G.w);
}

static void print_group(const g_outcome *o)
{
    char before[64] = {0}, after[64] = {0};
    size_t a = 0, b = 0;
    for (int32_t p = 0; p < G_PARTS; p++) {
        a += (size_t)snprintf(before + a, sizeof before - a, " %d", o->owners_before[p]);
        b += (size_t)snprintf(after + b, sizeof after - b, " %d", o->owners_after[p]);
    }
    print_message(
        "acked %lld, reads %lld (re-reads %lld, %lld on untouched partitions), gaps %lld, "
        "lost %lld; assigns %lld, overlaps %lld; starts past read %lld, before commit "
        "%lld; commits ok %lld; owners before [%s ] after [%s ] (crashed %d at %lld ms, "
        "moved %d, first read after %lld ms, closed at %lld ms, generation %lld)\n",
        (long long)o->acked, (long long)o->reads, (long long)o->rereads, (long long)o->rereads_kept,
        (long long)o->gaps, (long long)o->lost, (long long)o->assigns, (long long)o->overlap,
        (long long)o->start_past_read, (long long)o->start_before_commit, (long long)o->commits_ok,
        before, after, o->crashed, (long long)o->crash_ms, o->moved,
        (long long)o->first_read_after_crash_ms, (long long)o->closed_ms,
        (long long)o->generation_after);
}

static void test_group_shares_partitions_and_survivors_resume_at_committed_offsets(void **state)
{
    (void)state;
    g_outcome o;
    run_forked(g_child, 17, &o, sizeof o);
    print_group(&o);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    /* before the crash: three consumers, every partition owned by exactly one,
     * two each (range over 6 partitions) */
    int32_t per[G_CONSUMERS] = {0};
    for (int32_t p = 0; p < G_PARTS; p++) {
        assert_true(o.owners_before[p] >= 0);
        per[o.owners_before[p]]++;
    }
    for (int32_t j = 0; j < G_CONSUMERS; j++) {
        assert_int_equal(per[j], G_PARTS / G_CONSUMERS);
    }
    /* after: the crashed consumer's partitions went to the others */
    for (int32_t p = 0; p < G_PARTS; p++) {
        assert_true(o.owners_after[p] >= 0 && o.owners_after[p] != o.crashed);
    }
    assert_int_equal(o.moved, G_PARTS / G_CONSUMERS);
    assert_int_equal(o.overlap, 0);
    assert_int_equal(o.acked, G_MSGS);
    assert_int_equal(o.lost, 0);
    assert_int_equal(o.gaps, 0);
    assert_int_equal(o.start_past_read, 0);     /* nothing skipped */
    assert_int_equal(o.start_before_commit, 0); /* nothing re-read before the last commit */
    assert_int_equal(o.rereads_kept, 0);        /* survivors commit before giving partitions up */
    assert_true(o.commits_ok > 10);
    /* the move waited for the session timeout (3 s from the last heartbeat) */
    assert_true(o.first_read_after_crash_ms - o.crash_ms >= 2500);
    g_outcome again;
    run_forked(g_child, 17, &again, sizeof again);
    assert_true(o.hash == again.hash);
}

static void test_a_closing_consumer_commits_and_leaves_so_nothing_is_read_twice(void **state)
{
    (void)state;
    g_chaos_mode = G_CLOSE_CONSUMER;
    g_assignor = "roundrobin";
    g_outcome o;
    run_forked(g_child, 23, &o, sizeof o);
    g_chaos_mode = G_CRASH_CONSUMER;
    g_assignor = "range";
    print_group(&o);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    for (int32_t p = 0; p < G_PARTS; p++) {
        assert_true(o.owners_before[p] >= 0);
        assert_int_equal(o.owners_before[p], p % G_CONSUMERS); /* round robin over 3 */
        assert_true(o.owners_after[p] >= 0 && o.owners_after[p] != o.crashed);
    }
    assert_int_equal(o.moved, G_PARTS / G_CONSUMERS);
    assert_int_equal(o.overlap, 0);
    assert_int_equal(o.lost, 0);
    assert_int_equal(o.gaps, 0);
    assert_int_equal(o.start_past_read, 0);
    assert_int_equal(o.start_before_commit, 0);
    assert_int_equal(o.rereads, 0); /* the leaver committed its positions first */
    assert_true(o.closed_ms > 0 && o.closed_ms - o.crash_ms < 1000);
    /* no session timeout to wait for */
    assert_true(o.first_read_after_crash_ms - o.crash_ms < 2000);
}

static void test_members_find_the_coordinator_again_after_a_broker_restart(void **state)
{
    (void)state;
    g_chaos_mode = G_RESTART_BROKER;
    g_outcome o;
    run_forked(g_child, 29, &o, sizeof o);
    g_chaos_mode = G_CRASH_CONSUMER;
    print_group(&o);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    for (int32_t p = 0; p < G_PARTS; p++) {
        assert_true(o.owners_before[p] >= 0);
        assert_true(o.owners_after[p] >= 0); /* still every partition owned once */
    }
    assert_int_equal(o.overlap, 0);
    assert_int_equal(o.acked, G_MSGS);
    assert_int_equal(o.lost, 0);
    assert_int_equal(o.gaps, 0);
    assert_int_equal(o.start_past_read, 0);
    assert_int_equal(o.start_before_commit, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_gives_contiguous_ranges_per_topic_over_members_sorted_by_id),
        cmocka_unit_test(test_range_splits_each_topic_over_its_own_subscribers),
        cmocka_unit_test(test_roundrobin_deals_sorted_partitions_to_sorted_members),
        cmocka_unit_test(test_roundrobin_skips_members_not_subscribed_to_the_topic),
        cmocka_unit_test(test_assignors_refuse_unknown_names_and_duplicate_members),
        cmocka_unit_test(test_bad_group_settings_are_refused_with_a_reason),
        cmocka_unit_test(
            test_assignors_give_every_partition_to_one_subscriber_in_generated_layouts),
        cmocka_unit_test(test_subscription_and_assignment_round_trip),
        cmocka_unit_test(test_a_newer_subscription_version_is_read_by_its_v0_prefix),
        cmocka_unit_test(test_read_committed_skips_aborted_transactions_and_markers),
        cmocka_unit_test(test_a_fetch_queued_behind_held_commits_resumes_once_they_are_answered),
        cmocka_unit_test(test_group_shares_partitions_and_survivors_resume_at_committed_offsets),
        cmocka_unit_test(test_a_closing_consumer_commits_and_leaves_so_nothing_is_read_twice),
        cmocka_unit_test(test_members_find_the_coordinator_again_after_a_broker_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
