/* libFuzzer target: the Kafka wire codec (impl/proto).
 *
 * The input is one request frame payload (without the 4-byte size), copied
 * to a heap block of its exact size so ASan sees any read past it.
 *
 * (a) Requests. weir_decode_request reads the header and the body of
 *     whichever API/version the header names. Checked: the reader stays in
 *     the buffer; an error comes with a reason ("<Message>.<Field>: ...");
 *     WEIR_E_UNSUPPORTED only for (key, version) outside weir_api_table (and
 *     for ApiVersions the unsupported-version reply encodes to its fixed
 *     bytes). A decoded request re-encodes without error into no more bytes
 *     than were read, and decode -> encode of that is a fixed point (same
 *     bytes, all consumed).
 * (b) Responses. The bytes after the header are also decoded as the response
 *     body of the same (key, version), with the same fixed-point check.
 * (c) Broker side. From each decoded request a response is built the way a
 *     broker (or, for the inter-broker APIs, a leader or controller) would:
 *     one entry per requested topic and partition, names taken from the
 *     request; it is encoded, and decoding it must give the same names.
 *
 * WEIR_FUZZ_WRITE_SEEDS=<dir> writes the seed corpus (every version of every
 * API from tests/unit/proto_samples.h, plus the kcat captures) and exits.
 */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kafka.h"
#include "proto/messages.h"
#include "proto/wire.h"

#include "../unit/proto_samples.h"

#define FZ_ARENA_BYTES_MAX (16u * 1024 * 1024)

static void fz_fail(const char *expr, const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

static void fz_fail(const char *expr, const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "fuzz_proto: check failed at %s:%d: %s\n  ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fz_fail(#cond, __FILE__, __LINE__, __VA_ARGS__);                                       \
        }                                                                                          \
    } while (0)

static uint8_t *fz_dup(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len == 0 ? 1 : len);
    FZ_CHECK(c != NULL, "out of memory");
    if (len > 0) {
        memcpy(c, p, len);
    }
    return c;
}

static void fz_check_reader(const weir_rd *rd, int err)
{
    FZ_CHECK(rd->start <= rd->p && rd->p <= rd->end, "reader out of its buffer");
    if (err == WEIR_E_CORRUPT || err == WEIR_E_NOMEM) {
        FZ_CHECK(rd->why != NULL && strstr(rd->why, ": ") != NULL, "error %d without a reason",
                 err);
    }
}

/* ---- (a) requests ---- */

static void fz_request_fixed_point(const weir_request *req, size_t consumed)
{
    weir_wr w1, w2;
    weir_wr_init(&w1);
    weir_wr_init(&w2);
    int err = weir_encode_request(&w1, req);
    FZ_CHECK(err == 0, "%s v%d: a decoded request does not encode: %d",
             weir_api_name(req->header.api_key), req->header.api_version, err);
    FZ_CHECK(w1.len <= consumed, "re-encoded %zu bytes from %zu read", w1.len, consumed);
    uint8_t *copy = fz_dup(w1.buf, w1.len);
    weir_arena a;
    weir_arena_init(&a, FZ_ARENA_BYTES_MAX);
    weir_rd rd;
    weir_rd_init(&rd, copy, w1.len);
    weir_request again;
    err = weir_decode_request(&rd, &a, &again);
    FZ_CHECK(err == 0, "re-decode failed: %d %s", err, rd.why ? rd.why : "");
    FZ_CHECK(weir_rd_left(&rd) == 0, "re-decode left %zu bytes", weir_rd_left(&rd));
    FZ_CHECK(weir_encode_request(&w2, &again) == 0, "second encode failed");
    FZ_CHECK(w1.len == w2.len && memcmp(w1.buf, w2.buf, w1.len) == 0, "not a fixed point");
    weir_arena_free(&a);
    free(copy);
    weir_wr_free(&w1);
    weir_wr_free(&w2);
}

static void fz_unsupported(const weir_request_header *h)
{
    FZ_CHECK(!weir_api_supported(h->api_key, h->api_version), "supported version refused");
    if (h->api_key != WEIR_API_API_VERSIONS) {
        return;
    }
    weir_wr w;
    weir_wr_init(&w);
    FZ_CHECK(weir_encode_api_versions_unsupported(&w, h->correlation_id) == 0, "encode failed");
    FZ_CHECK(w.len == 16 && w.buf[5] == 35 && w.buf[11] == 18, "unexpected unsupported reply");
    weir_wr_free(&w);
}

/* ---- (b) responses ---- */

static void fz_response(const uint8_t *body, size_t len, int16_t key, int16_t v)
{
    uint8_t *copy = fz_dup(body, len);
    weir_arena a;
    weir_arena_init(&a, FZ_ARENA_BYTES_MAX);
    weir_rd rd;
    weir_rd_init(&rd, copy, len);
    proto_response r;
    memset(&r, 0, sizeof r);
    int err = ps_decode_response_body(&rd, &a, key, v, &r);
    fz_check_reader(&rd, err);
    if (err == 0) {
        /* An UNSUPPORTED_VERSION ApiVersions reply is read as v0 whatever was asked. */
        if (key == WEIR_API_API_VERSIONS &&
            r.body.api_versions.error_code == WEIR_KERR_UNSUPPORTED_VERSION) {
            r.api_version = 0;
        }
        weir_wr w1, w2;
        weir_wr_init(&w1);
        weir_wr_init(&w2);
        r.correlation_id = 1;
        FZ_CHECK(ps_encode_response(&w1, &r) == 0, "%s v%d: decoded response does not encode",
                 weir_api_name(key), v);
        uint8_t *c1 = fz_dup(w1.buf, w1.len);
        weir_arena b;
        weir_arena_init(&b, FZ_ARENA_BYTES_MAX);
        weir_rd_init(&rd, c1, w1.len);
        proto_response again;
        err = ps_decode_response(&rd, &b, key, r.api_version, &again);
        FZ_CHECK(err == 0, "response re-decode failed: %s", rd.why ? rd.why : "");
        FZ_CHECK(weir_rd_left(&rd) == 0, "response re-decode left bytes");
        FZ_CHECK(ps_encode_response(&w2, &again) == 0, "second response encode failed");
        FZ_CHECK(w1.len == w2.len && memcmp(w1.buf, w2.buf, w1.len) == 0,
                 "response not a fixed point");
        weir_arena_free(&b);
        free(c1);
        weir_wr_free(&w1);
        weir_wr_free(&w2);
    }
    weir_arena_free(&a);
    free(copy);
}

/* ---- (c) the broker side: responses built from a request ---- */

/* Allocates count elements from the arena (count < 0 gives 0). */
static void *fz_alloc(weir_arena *a, int32_t count, size_t size)
{
    void *p = weir_arena_alloc_array(a, count < 0 ? 0 : (size_t)count, size);
    FZ_CHECK(p != NULL, "arena exhausted");
    return p;
}

/* The inter-broker APIs: what a leader or controller would answer. */
static void fz_build_lai_response(const weir_leader_and_isr_request *l, weir_arena *a,
                                  weir_leader_and_isr_response *out)
{
    int32_t n = 0;
    for (int32_t i = 0; i < l->topic_state_count; i++) {
        n += l->topic_states[i].partition_state_count;
    }
    weir_leader_and_isr_partition_error *es = fz_alloc(a, n, sizeof *es);
    int32_t k = 0;
    for (int32_t i = 0; i < l->topic_state_count; i++) {
        const weir_leader_and_isr_topic_state *t = &l->topic_states[i];
        for (int32_t j = 0; j < t->partition_state_count; j++) {
            es[k++] = (weir_leader_and_isr_partition_error){
                t->topic_name, t->partition_states[j].partition_index, 0};
        }
    }
    *out = (weir_leader_and_isr_response){0, n, es};
}

static void fz_build_ole_response(const weir_offset_for_leader_epoch_request *o, int16_t v,
                                  weir_arena *a, weir_offset_for_leader_epoch_response *out)
{
    weir_offset_for_leader_epoch_topic_response *ts = fz_alloc(a, o->topic_count, sizeof *ts);
    for (int32_t i = 0; i < o->topic_count; i++) {
        const weir_offset_for_leader_epoch_topic *t = &o->topics[i];
        weir_offset_for_leader_epoch_partition_response *ps =
            fz_alloc(a, t->partition_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_count; j++) {
            const weir_offset_for_leader_epoch_partition *p = &t->partitions[j];
            ps[j] = (weir_offset_for_leader_epoch_partition_response){
                0, p->partition_index, v >= 1 ? p->leader_epoch : -1, 100};
        }
        ts[i] = (weir_offset_for_leader_epoch_topic_response){t->name, t->partition_count, ps};
    }
    *out = (weir_offset_for_leader_epoch_response){0, o->topic_count, ts};
}

static void fz_build_alter_partition_response(const weir_alter_partition_request *r, weir_arena *a,
                                              weir_alter_partition_response *out)
{
    weir_alter_partition_topic_response *ts = fz_alloc(a, r->topic_count, sizeof *ts);
    for (int32_t i = 0; i < r->topic_count; i++) {
        const weir_alter_partition_topic *t = &r->topics[i];
        weir_alter_partition_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_count; j++) {
            const weir_alter_partition_partition *p = &t->partitions[j];
            ps[j] = (weir_alter_partition_partition_response){p->partition_index,
                                                              0,
                                                              r->broker_id,
                                                              p->leader_epoch,
                                                              p->new_isr_count,
                                                              p->new_isr,
                                                              p->leader_recovery_state,
                                                              p->partition_epoch};
        }
        ts[i] = (weir_alter_partition_topic_response){t->name, t->partition_count, ps};
    }
    *out = (weir_alter_partition_response){0, 0, r->topic_count, ts};
}

/* The consumer-group and transaction APIs: what a coordinator or a partition
 * leader would answer, one entry per requested topic and partition. False for
 * other keys. */
static void fz_build_offset_commit_response(const weir_offset_commit_request *r, weir_arena *a,
                                            weir_offset_commit_response *out)
{
    weir_offset_commit_topic_response *ts = fz_alloc(a, r->topic_count, sizeof *ts);
    for (int32_t i = 0; i < r->topic_count; i++) {
        const weir_offset_commit_topic *t = &r->topics[i];
        weir_offset_commit_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_count; j++) {
            ps[j] = (weir_offset_commit_partition_response){t->partitions[j].partition_index, 0};
        }
        ts[i] = (weir_offset_commit_topic_response){t->name, t->partition_count, ps};
    }
    *out = (weir_offset_commit_response){0, r->topic_count, ts};
}

static void fz_build_offset_fetch_response(const weir_offset_fetch_request *r, int16_t v,
                                           weir_arena *a, weir_offset_fetch_response *out)
{
    int32_t n = r->topic_count < 0 ? 0 : r->topic_count;
    weir_offset_fetch_topic_response *ts = fz_alloc(a, n, sizeof *ts);
    for (int32_t i = 0; i < n; i++) {
        const weir_offset_fetch_topic *t = &r->topics[i];
        weir_offset_fetch_partition_response *ps =
            fz_alloc(a, t->partition_index_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_index_count; j++) {
            ps[j] =
                (weir_offset_fetch_partition_response){t->partition_indexes[j], -1, -1, {"", 0}, 0};
        }
        ts[i] = (weir_offset_fetch_topic_response){t->name, t->partition_index_count, ps};
    }
    (void)v;
    *out = (weir_offset_fetch_response){0, n, ts, 0};
}

static void fz_build_txn_offset_commit_response(const weir_txn_offset_commit_request *r,
                                                weir_arena *a, weir_txn_offset_commit_response *out)
{
    weir_txn_offset_commit_topic_response *ts = fz_alloc(a, r->topic_count, sizeof *ts);
    for (int32_t i = 0; i < r->topic_count; i++) {
        const weir_txn_offset_commit_topic *t = &r->topics[i];
        weir_txn_offset_commit_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_count; j++) {
            ps[j] =
                (weir_txn_offset_commit_partition_response){t->partitions[j].partition_index, 0};
        }
        ts[i] = (weir_txn_offset_commit_topic_response){t->name, t->partition_count, ps};
    }
    *out = (weir_txn_offset_commit_response){0, r->topic_count, ts};
}

static void fz_build_add_partitions_response(const weir_add_partitions_to_txn_request *r,
                                             weir_arena *a,
                                             weir_add_partitions_to_txn_response *out)
{
    weir_add_partitions_to_txn_topic_result *ts = fz_alloc(a, r->topic_count, sizeof *ts);
    for (int32_t i = 0; i < r->topic_count; i++) {
        const weir_add_partitions_to_txn_topic *t = &r->topics[i];
        weir_add_partitions_to_txn_partition_result *ps =
            fz_alloc(a, t->partition_count, sizeof *ps);
        for (int32_t j = 0; j < t->partition_count; j++) {
            ps[j] = (weir_add_partitions_to_txn_partition_result){t->partitions[j], 0};
        }
        ts[i] = (weir_add_partitions_to_txn_topic_result){t->name, t->partition_count, ps};
    }
    *out = (weir_add_partitions_to_txn_response){0, r->topic_count, ts};
}

static void fz_build_write_txn_markers_response(const weir_write_txn_markers_request *r,
                                                weir_arena *a, weir_write_txn_markers_response *out)
{
    weir_write_txn_markers_marker_result *ms = fz_alloc(a, r->marker_count, sizeof *ms);
    for (int32_t i = 0; i < r->marker_count; i++) {
        const weir_write_txn_markers_marker *m = &r->markers[i];
        weir_write_txn_markers_topic_result *ts = fz_alloc(a, m->topic_count, sizeof *ts);
        for (int32_t j = 0; j < m->topic_count; j++) {
            const weir_write_txn_markers_topic *t = &m->topics[j];
            weir_write_txn_markers_partition_result *ps =
                fz_alloc(a, t->partition_index_count, sizeof *ps);
            for (int32_t k = 0; k < t->partition_index_count; k++) {
                ps[k] = (weir_write_txn_markers_partition_result){t->partition_indexes[k], 0};
            }
            ts[j] = (weir_write_txn_markers_topic_result){t->name, t->partition_index_count, ps};
        }
        ms[i] = (weir_write_txn_markers_marker_result){m->producer_id, m->topic_count, ts};
    }
    *out = (weir_write_txn_markers_response){r->marker_count, ms};
}

static bool fz_build_group_txn_response(const weir_request *req, weir_arena *a, proto_response *out)
{
    int16_t v = req->header.api_version;
    static const weir_str none = {"", 0};
    switch (req->header.api_key) {
    case WEIR_API_OFFSET_COMMIT:
        fz_build_offset_commit_response(&req->body.offset_commit, a, &out->body.offset_commit);
        return true;
    case WEIR_API_OFFSET_FETCH:
        fz_build_offset_fetch_response(&req->body.offset_fetch, v, a, &out->body.offset_fetch);
        return true;
    case WEIR_API_FIND_COORDINATOR:
        out->body.find_coordinator =
            (weir_find_coordinator_response){0, 0, {NULL, -1}, 1, {"127.0.0.1", 9}, 9092};
        return true;
    case WEIR_API_JOIN_GROUP: {
        const weir_join_group_request *j = &req->body.join_group;
        weir_join_group_member *ms = fz_alloc(a, 1, sizeof *ms);
        ms[0] = (weir_join_group_member){
            j->member_id, v >= 5 ? j->group_instance_id : (weir_str){NULL, -1},
            j->protocol_count > 0 ? j->protocols[0].metadata : (weir_bytes){NULL, 0}};
        if (ms[0].metadata.p == NULL) {
            ms[0].metadata = (weir_bytes){(const uint8_t *)"", 0};
        }
        weir_str proto = j->protocol_count > 0 ? j->protocols[0].name : none;
        out->body.join_group =
            (weir_join_group_response){0, 0, 1, proto, j->member_id, j->member_id, 1, ms};
        return true;
    }
    case WEIR_API_HEARTBEAT:
        out->body.heartbeat = (weir_heartbeat_response){0, 0};
        return true;
    case WEIR_API_LEAVE_GROUP:
        out->body.leave_group = (weir_leave_group_response){0, 0};
        return true;
    case WEIR_API_SYNC_GROUP: {
        const weir_sync_group_request *s = &req->body.sync_group;
        weir_bytes mine = {(const uint8_t *)"", 0};
        for (int32_t i = 0; i < s->assignment_count; i++) {
            if (weir_str_eq(s->assignments[i].member_id, s->member_id)) {
                mine = s->assignments[i].assignment;
            }
        }
        out->body.sync_group = (weir_sync_group_response){0, 0, mine};
        return true;
    }
    case WEIR_API_DESCRIBE_GROUPS: {
        const weir_describe_groups_request *d = &req->body.describe_groups;
        weir_describe_groups_group *gs = fz_alloc(a, d->group_count, sizeof *gs);
        for (int32_t i = 0; i < d->group_count; i++) {
            gs[i] = (weir_describe_groups_group){
                69,          d->groups[i],
                {"Dead", 4}, none,
                none,        0,
                NULL,        v >= 3 ? 0 : WEIR_AUTHORIZED_OPERATIONS_UNKNOWN};
        }
        out->body.describe_groups = (weir_describe_groups_response){0, d->group_count, gs};
        return true;
    }
    case WEIR_API_LIST_GROUPS:
        out->body.list_groups = (weir_list_groups_response){0, 0, 0, NULL};
        return true;
    case WEIR_API_INIT_PRODUCER_ID:
        out->body.init_producer_id = (weir_init_producer_id_response){0, 0, 1000, 0};
        return true;
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        fz_build_add_partitions_response(&req->body.add_partitions_to_txn, a,
                                         &out->body.add_partitions_to_txn);
        return true;
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        out->body.add_offsets_to_txn = (weir_add_offsets_to_txn_response){0, 0};
        return true;
    case WEIR_API_END_TXN: {
        const weir_end_txn_request *e = &req->body.end_txn;
        out->body.end_txn = (weir_end_txn_response){0, 0, v >= 5 ? e->producer_id : -1,
                                                    v >= 5 ? (int16_t)(e->producer_epoch + 1) : -1};
        return true;
    }
    case WEIR_API_WRITE_TXN_MARKERS:
        fz_build_write_txn_markers_response(&req->body.write_txn_markers, a,
                                            &out->body.write_txn_markers);
        return true;
    case WEIR_API_TXN_OFFSET_COMMIT:
        fz_build_txn_offset_commit_response(&req->body.txn_offset_commit, a,
                                            &out->body.txn_offset_commit);
        return true;
    default:
        return false;
    }
}

static void fz_build_cluster_response(const weir_request *req, weir_arena *a, proto_response *out)
{
    int16_t v = req->header.api_version;
    switch (req->header.api_key) {
    case WEIR_API_LEADER_AND_ISR:
        fz_build_lai_response(&req->body.leader_and_isr, a, &out->body.leader_and_isr);
        break;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        fz_build_ole_response(&req->body.offset_for_leader_epoch, v, a,
                              &out->body.offset_for_leader_epoch);
        break;
    case WEIR_API_ALTER_PARTITION:
        fz_build_alter_partition_response(&req->body.alter_partition, a,
                                          &out->body.alter_partition);
        break;
    case WEIR_API_BROKER_REGISTRATION:
        out->body.broker_registration = (weir_broker_registration_response){0, 0, 1};
        break;
    case WEIR_API_BROKER_HEARTBEAT: {
        const weir_broker_heartbeat_request *h = &req->body.broker_heartbeat;
        out->body.broker_heartbeat =
            (weir_broker_heartbeat_response){0, 0, true, h->want_fence, h->want_shut_down};
        break;
    }
    default:
        FZ_CHECK(fz_build_group_txn_response(req, a, out), "decoded an unknown key %d",
                 req->header.api_key);
    }
}

static void fz_build_response(const weir_request *req, weir_arena *a, proto_response *out)
{
    int16_t v = req->header.api_version;
    memset(out, 0, sizeof *out);
    out->api_key = req->header.api_key;
    out->api_version = v;
    out->correlation_id = req->header.correlation_id;
    switch (req->header.api_key) {
    case WEIR_API_API_VERSIONS:
        weir_api_versions_response_supported(&out->body.api_versions);
        break;
    case WEIR_API_METADATA: {
        const weir_metadata_request *m = &req->body.metadata;
        int32_t n = m->topic_count < 0 ? 0 : m->topic_count;
        weir_metadata_topic *ts = fz_alloc(a, n, sizeof *ts);
        for (int32_t i = 0; i < n; i++) {
            ts[i].error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            ts[i].name = m->topics[i];
        }
        static const weir_metadata_broker self = {1, {"127.0.0.1", 9}, 9092, {NULL, -1}};
        out->body.metadata = (weir_metadata_response){0, 1, &self, {"c", 1}, 1, n, ts};
        break;
    }
    case WEIR_API_PRODUCE: {
        const weir_produce_request *p = &req->body.produce;
        weir_produce_topic_response *ts = fz_alloc(a, p->topic_count, sizeof *ts);
        for (int32_t i = 0; i < p->topic_count; i++) {
            const weir_produce_topic *t = &p->topics[i];
            weir_produce_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
            for (int32_t j = 0; j < t->partition_count; j++) {
                ps[j] = (weir_produce_partition_response){t->partitions[j].partition_index, 0, j,
                                                          -1, v >= 5 ? 0 : -1};
            }
            ts[i] = (weir_produce_topic_response){t->name, t->partition_count, ps};
        }
        out->body.produce = (weir_produce_response){p->topic_count, ts, 0};
        break;
    }
    case WEIR_API_FETCH: {
        const weir_fetch_request *f = &req->body.fetch;
        weir_fetch_topic_response *ts = fz_alloc(a, f->topic_count, sizeof *ts);
        for (int32_t i = 0; i < f->topic_count; i++) {
            const weir_fetch_topic *t = &f->topics[i];
            weir_fetch_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
            for (int32_t j = 0; j < t->partition_count; j++) {
                ps[j] = (weir_fetch_partition_response){t->partitions[j].partition_index,
                                                        0,
                                                        10,
                                                        10,
                                                        v >= 5 ? 0 : -1,
                                                        -1,
                                                        NULL,
                                                        v >= 11 ? -1 : -1,
                                                        (weir_bytes){(const uint8_t *)"", 0}};
            }
            ts[i] = (weir_fetch_topic_response){t->name, t->partition_count, ps};
        }
        out->body.fetch = (weir_fetch_response){0, 0, 0, f->topic_count, ts};
        break;
    }
    case WEIR_API_LIST_OFFSETS: {
        const weir_list_offsets_request *l = &req->body.list_offsets;
        weir_list_offsets_topic_response *ts = fz_alloc(a, l->topic_count, sizeof *ts);
        for (int32_t i = 0; i < l->topic_count; i++) {
            const weir_list_offsets_topic *t = &l->topics[i];
            weir_list_offsets_partition_response *ps = fz_alloc(a, t->partition_count, sizeof *ps);
            for (int32_t j = 0; j < t->partition_count; j++) {
                ps[j].partition_index = t->partitions[j].partition_index;
                ps[j].timestamp = v >= 1 ? t->partitions[j].timestamp : -1;
                ps[j].offset = v >= 1 ? 0 : -1;
            }
            ts[i] = (weir_list_offsets_topic_response){t->name, t->partition_count, ps};
        }
        out->body.list_offsets = (weir_list_offsets_response){0, l->topic_count, ts};
        break;
    }
    case WEIR_API_CREATE_TOPICS: {
        const weir_create_topics_request *c = &req->body.create_topics;
        weir_create_topics_topic_response *ts = fz_alloc(a, c->topic_count, sizeof *ts);
        for (int32_t i = 0; i < c->topic_count; i++) {
            ts[i] = (weir_create_topics_topic_response){c->topics[i].name, 0, {NULL, -1}};
        }
        out->body.create_topics = (weir_create_topics_response){0, c->topic_count, ts};
        break;
    }
    case WEIR_API_DELETE_TOPICS: {
        const weir_delete_topics_request *d = &req->body.delete_topics;
        weir_delete_topics_topic_response *rs = fz_alloc(a, d->topic_name_count, sizeof *rs);
        for (int32_t i = 0; i < d->topic_name_count; i++) {
            rs[i] = (weir_delete_topics_topic_response){d->topic_names[i], 3};
        }
        out->body.delete_topics = (weir_delete_topics_response){0, d->topic_name_count, rs};
        break;
    }
    default:
        fz_build_cluster_response(req, a, out);
    }
}

/* The first topic name of a response, for the comparison (NULL if none). */
static const weir_str *fz_first_name(const proto_response *r)
{
    switch (r->api_key) {
    case WEIR_API_METADATA:
        return r->body.metadata.topic_count > 0 ? &r->body.metadata.topics[0].name : NULL;
    case WEIR_API_PRODUCE:
        return r->body.produce.topic_count > 0 ? &r->body.produce.topics[0].name : NULL;
    case WEIR_API_FETCH:
        return r->body.fetch.topic_count > 0 ? &r->body.fetch.topics[0].name : NULL;
    case WEIR_API_LIST_OFFSETS:
        return r->body.list_offsets.topic_count > 0 ? &r->body.list_offsets.topics[0].name : NULL;
    case WEIR_API_CREATE_TOPICS:
        return r->body.create_topics.topic_count > 0 ? &r->body.create_topics.topics[0].name : NULL;
    case WEIR_API_DELETE_TOPICS:
        return r->body.delete_topics.response_count > 0 ? &r->body.delete_topics.responses[0].name
                                                        : NULL;
    case WEIR_API_LEADER_AND_ISR:
        return r->body.leader_and_isr.partition_error_count > 0
                   ? &r->body.leader_and_isr.partition_errors[0].topic_name
                   : NULL;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return r->body.offset_for_leader_epoch.topic_count > 0
                   ? &r->body.offset_for_leader_epoch.topics[0].name
                   : NULL;
    case WEIR_API_ALTER_PARTITION:
        return r->body.alter_partition.topic_count > 0 ? &r->body.alter_partition.topics[0].name
                                                       : NULL;
    case WEIR_API_OFFSET_COMMIT:
        return r->body.offset_commit.topic_count > 0 ? &r->body.offset_commit.topics[0].name : NULL;
    case WEIR_API_OFFSET_FETCH:
        return r->body.offset_fetch.topic_count > 0 ? &r->body.offset_fetch.topics[0].name : NULL;
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return r->body.add_partitions_to_txn.result_count > 0
                   ? &r->body.add_partitions_to_txn.results[0].name
                   : NULL;
    case WEIR_API_TXN_OFFSET_COMMIT:
        return r->body.txn_offset_commit.topic_count > 0 ? &r->body.txn_offset_commit.topics[0].name
                                                         : NULL;
    default:
        return NULL;
    }
}

static void fz_broker_reply(const weir_request *req)
{
    weir_arena a, b;
    weir_arena_init(&a, FZ_ARENA_BYTES_MAX);
    weir_arena_init(&b, FZ_ARENA_BYTES_MAX);
    proto_response resp, got;
    fz_build_response(req, &a, &resp);
    weir_wr w;
    weir_wr_init(&w);
    int err = ps_encode_response(&w, &resp);
    FZ_CHECK(err == 0, "%s v%d: broker reply does not encode: %d", weir_api_name(resp.api_key),
             resp.api_version, err);
    uint8_t *copy = fz_dup(w.buf, w.len);
    weir_rd rd;
    weir_rd_init(&rd, copy, w.len);
    err = ps_decode_response(&rd, &b, resp.api_key, resp.api_version, &got);
    FZ_CHECK(err == 0, "broker reply does not decode: %s", rd.why ? rd.why : "");
    FZ_CHECK(got.correlation_id == req->header.correlation_id, "correlation id changed");
    const weir_str *x = fz_first_name(&resp);
    const weir_str *y = fz_first_name(&got);
    FZ_CHECK((x == NULL) == (y == NULL) && (x == NULL || weir_str_eq(*x, *y)),
             "topic name changed on the way");
    free(copy);
    weir_wr_free(&w);
    weir_arena_free(&a);
    weir_arena_free(&b);
}

/* ---- seeds ---- */

static void fz_write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL, "cannot write %s", path);
    FZ_CHECK(fwrite(p, 1, len, f) == len, "short write to %s", path);
    fclose(f);
}

static void fz_write_seeds(const char *dir)
{
    static const uint8_t kcat_av3[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00,
                                       0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',  0x00,
                                       0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',  'f',
                                       'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2',  0x00};
    static const uint8_t kcat_md4[] = {0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04,
                                       0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',
                                       'a',  0xff, 0xff, 0xff, 0xff, 0x01};
    fz_write_file(dir, "kcat-api-versions-v3", kcat_av3, sizeof kcat_av3);
    fz_write_file(dir, "kcat-metadata-v4-all", kcat_md4, sizeof kcat_md4);
    int count = 2;
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        const weir_api_range *e = &weir_api_table[i];
        for (int16_t v = e->min_version; v <= e->max_version; v++) {
            for (int variant = 0; variant < PS_VARIANTS; variant++) {
                weir_request r;
                ps_request(e->api_key, v, variant, &r);
                weir_wr w;
                weir_wr_init(&w);
                FZ_CHECK(weir_encode_request(&w, &r) == 0, "sample does not encode");
                char name[64];
                snprintf(name, sizeof name, "%s-v%d-%d", weir_api_name(e->api_key), v, variant);
                fz_write_file(dir, name, w.buf, w.len);
                weir_wr_free(&w);
                count++;
            }
        }
    }
    fprintf(stderr, "fuzz_proto: wrote %d seeds to %s\n", count, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("WEIR_FUZZ_WRITE_SEEDS");
    if (dir != NULL && dir[0] != '\0') {
        fz_write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fz_dup(data, size);
    weir_arena a;
    weir_arena_init(&a, FZ_ARENA_BYTES_MAX);
    weir_rd rd;
    weir_rd_init(&rd, buf, size);
    weir_request req;
    int err = weir_decode_request(&rd, &a, &req);
    fz_check_reader(&rd, err);
    FZ_CHECK(err == 0 || err == WEIR_E_CORRUPT || err == WEIR_E_NOMEM || err == WEIR_E_UNSUPPORTED,
             "unexpected error %d", err);
    if (err == WEIR_E_UNSUPPORTED) {
        fz_unsupported(&req.header);
    }
    if (err == 0) {
        fz_request_fixed_point(&req, weir_rd_pos(&rd));
        fz_broker_reply(&req);
    }
    /* (b): the body bytes as a response of the same key and version. */
    weir_rd hd;
    weir_rd_init(&hd, buf, size);
    weir_request_header h;
    if (weir_decode_request_header(&hd, &h) == 0 && weir_api_supported(h.api_key, h.api_version)) {
        fz_response(buf + weir_rd_pos(&hd), weir_rd_left(&hd), h.api_key, h.api_version);
    }
    weir_arena_free(&a);
    free(buf);
    return 0;
}
