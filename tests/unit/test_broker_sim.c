/* The broker node inside the simulator, driven by a client node that speaks
 * the Kafka protocol through weir's own codec: the same node code that
 * `weir broker` runs on real sockets.
 *
 * The client: ApiVersions, CreateTopics (2 partitions), a Fetch that must wait
 * (min_bytes 1) until a Produce on a second connection appends, Metadata,
 * ListOffsets; then the broker is crashed (unsynced data is lost in the sim;
 * the broker flushes every message here, as log.flush.interval.messages=1
 * asks) and restarted, and a Fetch finds the acknowledged batch. The same seed
 * gives the same trace hash. Each run is a forked child (SimGrid starts once
 * per process). */
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
#include "log/batch.h"
#include "proto/messages.h"
#include "sim.h"
#include "child_exit.h"

#define MS 1000000LL

typedef struct client {
    weir_world *w;
    weir_env *env;
    weir_conn *main;      /* ApiVersions, CreateTopics, Fetch, Metadata, ListOffsets */
    weir_conn *side;      /* the Produce while the Fetch waits */
    int step;
    int32_t next_corr;
    int64_t fetch_sent_ns;
    int64_t produce_acked_ns;
    int64_t fetch_answered_ns;
    int64_t produced_offset;
    size_t batch_len;
    bool after_restart;
    bool done;
    char failure[256];
} client;

static client the_client;

#define FAIL(c, ...)                                                        \
    do {                                                                    \
        if ((c)->failure[0] == '\0') {                                      \
            snprintf((c)->failure, sizeof (c)->failure, __VA_ARGS__);       \
        }                                                                   \
        weir_world_stop((c)->w);                                            \
        return;                                                             \
    } while (0)

static void send_req(client *c, weir_conn *conn, weir_request *r)
{
    r->header.correlation_id = ++c->next_corr;
    r->header.client_id = weir_str_from("sim-client");
    weir_wr w;
    weir_wr_init(&w);
    if (weir_encode_request(&w, r) != 0 || weir_conn_send(conn, w.buf, w.len) != 0) {
        snprintf(c->failure, sizeof c->failure, "could not send %s", weir_api_name(r->header.api_key));
    }
    weir_wr_free(&w);
}

static void send_fetch(client *c)
{
    static weir_fetch_partition fp;
    static weir_fetch_topic ft;
    fp = (weir_fetch_partition){0, -1, 0, -1, 1 << 20};
    ft = (weir_fetch_topic){weir_str_from("t"), 1, &fp};
    weir_request r = {0};
    r.header.api_key = WEIR_API_FETCH;
    r.header.api_version = 11;
    r.body.fetch = (weir_fetch_request){-1, 2000, 1, 1 << 20, 0, 0, -1, 1, &ft, 0, NULL, weir_str_from("")};
    c->fetch_sent_ns = weir_now_ns(c->env);
    send_req(c, c->main, &r);
}

static uint8_t batch_buf[512];

static void send_produce(client *c)
{
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_add(&bb, 1700000000000LL, "k", 1, "hello from the sim", 18, NULL, 0);
    weir_batch_builder_add(&bb, 1700000000001LL, "k", 1, "second", 6, NULL, 0);
    uint8_t *b;
    size_t len;
    if (weir_batch_builder_finish(&bb, &b, &len) != 0 || len > sizeof batch_buf) {
        snprintf(c->failure, sizeof c->failure, "batch builder failed");
        return;
    }
    memcpy(batch_buf, b, len);
    c->batch_len = len;
    weir_batch_builder_free(&bb);
    static weir_produce_partition pp;
    static weir_produce_topic pt;
    pp = (weir_produce_partition){0, {batch_buf, (int32_t)len}};
    pt = (weir_produce_topic){weir_str_from("t"), 1, &pp};
    weir_request r = {0};
    r.header.api_key = WEIR_API_PRODUCE;
    r.header.api_version = 7;
    r.body.produce = (weir_produce_request){WEIR_STR_NULL, -1, 5000, 1, &pt};
    send_req(c, c->side, &r);
}

static void on_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    client *c = arg;
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena a;
    weir_arena_init(&a, 0);
    int32_t corr = 0;
    int16_t key, ver;
    /* Responses come back in request order; the step says which is next. */
    if (conn == c->side) {
        key = WEIR_API_PRODUCE;
        ver = 7;
    } else {
        static const int16_t keys[] = {WEIR_API_API_VERSIONS, WEIR_API_CREATE_TOPICS, WEIR_API_FETCH,
                                       WEIR_API_METADATA, WEIR_API_LIST_OFFSETS, WEIR_API_FETCH};
        static const int16_t vers[] = {3, 4, 11, 4, 3, 11};
        key = keys[c->step];
        ver = vers[c->step];
    }
    if (weir_decode_response_header(&rd, key, ver, &corr) != 0) {
        weir_arena_free(&a);
        FAIL(c, "bad response header for %s", weir_api_name(key));
    }
    int err = 0;
    if (key == WEIR_API_API_VERSIONS) {
        weir_api_versions_response r;
        err = weir_decode_api_versions_response(&rd, ver, &a, &r);
        if (err || r.error_code != 0 || r.api_key_count < 7) {
            weir_arena_free(&a);
            FAIL(c, "ApiVersions: err %d code %d count %d", err, r.error_code, r.api_key_count);
        }
        weir_request cr = {0};
        static weir_create_topics_topic ct;
        ct = (weir_create_topics_topic){weir_str_from("t"), 2, 1, 0, NULL, 0, NULL};
        cr.header.api_key = WEIR_API_CREATE_TOPICS;
        cr.header.api_version = 4;
        cr.body.create_topics = (weir_create_topics_request){1, &ct, 5000, false};
        c->step = 1;
        send_req(c, c->main, &cr);
    } else if (key == WEIR_API_CREATE_TOPICS) {
        weir_create_topics_response r;
        err = weir_decode_create_topics_response(&rd, ver, &a, &r);
        if (err || r.topic_count != 1 || r.topics[0].error_code != 0) {
            weir_arena_free(&a);
            FAIL(c, "CreateTopics failed");
        }
        c->step = 2;
        send_fetch(c); /* nothing there yet: it must wait */
        weir_conn_handlers h = {NULL, on_frame, NULL, c};
        if (weir_connect(c->env, "broker:9092", &h, &c->side) != 0) {
            weir_arena_free(&a);
            FAIL(c, "second connect failed");
        }
        send_produce(c);
    } else if (key == WEIR_API_PRODUCE) {
        weir_produce_response r;
        err = weir_decode_produce_response(&rd, ver, &a, &r);
        if (err || r.topics[0].partitions[0].error_code != 0) {
            weir_arena_free(&a);
            FAIL(c, "Produce failed: %d", err ? err : r.topics[0].partitions[0].error_code);
        }
        c->produced_offset = r.topics[0].partitions[0].base_offset;
        c->produce_acked_ns = weir_now_ns(c->env);
    } else if (key == WEIR_API_FETCH) {
        weir_fetch_response r;
        err = weir_decode_fetch_response(&rd, ver, &a, &r);
        if (err || r.topic_count != 1 || r.topics[0].partitions[0].error_code != 0) {
            weir_arena_free(&a);
            FAIL(c, "Fetch failed");
        }
        const weir_fetch_partition_response *fp = &r.topics[0].partitions[0];
        weir_batch_header h;
        if (fp->records.len != (int32_t)c->batch_len ||
            weir_batch_validate(fp->records.p, (size_t)fp->records.len, &h, NULL) != 0 ||
            h.base_offset != 0 || h.record_count != 2 || fp->high_watermark != 2) {
            weir_arena_free(&a);
            FAIL(c, "Fetch returned %d bytes (want %zu), hw %lld", fp->records.len, c->batch_len,
                 (long long)fp->high_watermark);
        }
        if (!c->after_restart) {
            c->fetch_answered_ns = weir_now_ns(c->env);
            if (c->produce_acked_ns == 0 || c->fetch_answered_ns < c->produce_acked_ns - 1 * MS) {
                weir_arena_free(&a);
                FAIL(c, "the fetch did not wait for the produce");
            }
            weir_request mr = {0};
            static weir_str topics[1];
            topics[0] = weir_str_from("t");
            mr.header.api_key = WEIR_API_METADATA;
            mr.header.api_version = 4;
            mr.body.metadata = (weir_metadata_request){1, topics, false, false};
            c->step = 3;
            send_req(c, c->main, &mr);
        } else {
            c->done = true;
            weir_world_stop(c->w);
        }
    } else if (key == WEIR_API_METADATA) {
        weir_metadata_response r;
        err = weir_decode_metadata_response(&rd, ver, &a, &r);
        if (err || r.broker_count != 1 || r.topic_count != 1 || r.topics[0].partition_count != 2 ||
            r.topics[0].partitions[0].leader_id != r.brokers[0].node_id) {
            weir_arena_free(&a);
            FAIL(c, "Metadata wrong");
        }
        static weir_list_offsets_partition lp;
        static weir_list_offsets_topic lt;
        lp = (weir_list_offsets_partition){0, -1, 1};
        lt = (weir_list_offsets_topic){weir_str_from("t"), 1, &lp};
        weir_request lr = {0};
        lr.header.api_key = WEIR_API_LIST_OFFSETS;
        lr.header.api_version = 3;
        lr.body.list_offsets = (weir_list_offsets_request){-1, 0, 1, &lt};
        c->step = 4;
        send_req(c, c->main, &lr);
    } else if (key == WEIR_API_LIST_OFFSETS) {
        weir_list_offsets_response r;
        err = weir_decode_list_offsets_response(&rd, ver, &a, &r);
        if (err || r.topics[0].partitions[0].offset != 2) {
            weir_arena_free(&a);
            FAIL(c, "ListOffsets latest is not 2");
        }
        c->step = 5; /* the chaos node crashes the broker now */
    }
    weir_arena_free(&a);
}

static void on_close(weir_conn *conn, int reason, void *arg)
{
    (void)reason;
    client *c = arg;
    if (conn == c->main) {
        c->main = NULL;
    }
    if (conn == c->side) {
        c->side = NULL;
    }
}

static void client_connect(weir_env *env, void *arg)
{
    client *c = arg;
    weir_conn_handlers h = {NULL, on_frame, on_close, c};
    if (weir_connect(env, "broker:9092", &h, &c->main) != 0) {
        snprintf(c->failure, sizeof c->failure, "connect failed");
        return;
    }
    if (!c->after_restart) {
        weir_request r = {0};
        r.header.api_key = WEIR_API_API_VERSIONS;
        r.header.api_version = 3;
        r.body.api_versions = (weir_api_versions_request){weir_str_from("weir-test"), weir_str_from("1")};
        send_req(c, c->main, &r);
    } else {
        send_fetch(c);
    }
}

/* The chaos part: crash the broker once the client is through step 4. */
static void chaos_tick(weir_env *env, void *arg)
{
    client *c = arg;
    if (c->step == 5 && !c->after_restart) {
        if (weir_world_crash(c->w, "broker") != 0 || weir_world_restart(c->w, "broker") != 0) {
            snprintf(c->failure, sizeof c->failure, "crash/restart failed");
            return;
        }
        c->after_restart = true;
        c->step = 5;
        weir_timer_start(c->env, 100 * MS, client_connect, c);
        return;
    }
    weir_timer_start(env, 10 * MS, chaos_tick, c);
}

static void *client_start(weir_env *env, void *arg)
{
    client *c = arg;
    c->env = env;
    weir_timer_start(env, 10 * MS, client_connect, c);
    return c;
}

static void *chaos_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 10 * MS, chaos_tick, arg);
    return arg;
}

static const weir_node_type client_node = {"client", client_start, NULL};
static const weir_node_type chaos_node = {"chaos", chaos_start, NULL};

typedef struct result {
    uint64_t hash;
    int ok;
    char failure[256];
} result;

static void run_in_child(uint64_t seed, result *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    static weir_broker_config bc;
    weir_broker_config_default(&bc);
    snprintf(bc.listen_host, sizeof bc.listen_host, "broker");
    bc.listen_port = 9092;
    bc.node_id = 1;
    bc.flush_interval_messages = 1; /* acked = synced: it must survive the crash */
    bc.log_level = WEIR_LOG_ERROR;
    client *c = &the_client;
    memset(c, 0, sizeof *c);
    c->w = w;
    if (weir_world_node_add(w, "broker", &weir_broker_node, &bc) != 0 ||
        weir_world_node_add(w, "client", &client_node, c) != 0 ||
        weir_world_node_add(w, "chaos", &chaos_node, c) != 0 || weir_world_run(w, 20000 * MS) != 0) {
        snprintf(out->failure, sizeof out->failure, "world setup failed");
        return;
    }
    out->hash = weir_sim_trace_hash(w);
    out->ok = c->done && c->failure[0] == '\0';
    snprintf(out->failure, sizeof out->failure, "%.200s", c->done ? c->failure : c->failure[0] ? c->failure : "did not finish");
}

static result run_forked(uint64_t seed)
{
    int fds[2];
    result r = {0};
    if (pipe(fds) != 0) {
        return r;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        result mine = {0};
        run_in_child(seed, &mine);
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

static void the_broker_serves_a_protocol_client_in_the_simulator_across_a_crash(void **state)
{
    (void)state;
    result a = run_forked(7);
    if (!a.ok) {
        fail_msg("%s", a.failure);
    }
    result b = run_forked(7);
    assert_true(b.ok);
    assert_true(a.hash == b.hash); /* deterministic */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_broker_serves_a_protocol_client_in_the_simulator_across_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
