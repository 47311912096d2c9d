/* Bodies of the idempotence and transaction Kafka messages (messages_txn.h):
 * InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * WriteTxnMarkers and TxnOffsetCommit.
 *
 * The same discipline as messages.c: decoders read with the sticky weir_rd,
 * push array elements on the error path, check every count against the bytes
 * left before allocating, and return the reader's status; encoders write the
 * fields of the version in its order and return the writer's status. Field
 * names in error paths are those of Kafka's JSON message definitions (for
 * AddPartitionsToTxn the v0-v3 names, before KIP-890 renamed them
 * "V3AndBelow...").
 *
 * Only EndTxn v3+ is flexible: a compact TransactionalId and a tag buffer
 * after the body, in the request and in the response.
 */
#include "proto/messages.h"

#include <string.h>

#include "proto/messages_internal.h"

/* ---- InitProducerId ---- */

int weir_decode_init_producer_id_request(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_init_producer_id_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->transactional_id = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_INIT_PRODUCER_ID, version, "InitProducerId");
    if (err != 0) {
        return err;
    }
    out->transactional_id = weir_rd_nullable_string(rd, "TransactionalId");
    out->transaction_timeout_ms = weir_rd_i32(rd, "TransactionTimeoutMs");
    return weir_rd_status(rd);
}

int weir_encode_init_producer_id_request(weir_wr *w, int16_t version,
                                         const weir_init_producer_id_request *r)
{
    if (!weir_api_supported(WEIR_API_INIT_PRODUCER_ID, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_nullable_string(w, r->transactional_id);
    weir_wr_i32(w, r->transaction_timeout_ms);
    return weir_wr_status(w);
}

int weir_encode_init_producer_id_response(weir_wr *w, int16_t version,
                                          const weir_init_producer_id_response *r)
{
    if (!weir_api_supported(WEIR_API_INIT_PRODUCER_ID, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    weir_wr_i64(w, r->producer_id);
    weir_wr_i16(w, r->producer_epoch);
    return weir_wr_status(w);
}

int weir_decode_init_producer_id_response(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_init_producer_id_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_INIT_PRODUCER_ID, version, "InitProducerIdResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    out->producer_id = weir_rd_i64(rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    return weir_rd_status(rd);
}

/* ---- AddPartitionsToTxn ---- */

int weir_decode_add_partitions_to_txn_request(weir_rd *rd, int16_t version, weir_arena *a,
                                              weir_add_partitions_to_txn_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_ADD_PARTITIONS_TO_TXN, version, "AddPartitionsToTxn");
    if (err != 0) {
        return err;
    }
    out->transactional_id = weir_rd_string(rd, "TransactionalId");
    out->producer_id = weir_rd_i64(rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_add_partitions_to_txn_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        ts[i].partitions = rd_i32_array(rd, a, "Partitions", &ts[i].partition_count);
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_add_partitions_to_txn_request(weir_wr *w, int16_t version,
                                              const weir_add_partitions_to_txn_request *r)
{
    if (!weir_api_supported(WEIR_API_ADD_PARTITIONS_TO_TXN, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->transactional_id);
    weir_wr_i64(w, r->producer_id);
    weir_wr_i16(w, r->producer_epoch);
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        weir_wr_string(w, r->topics[i].name);
        wr_i32_array(w, r->topics[i].partition_count, r->topics[i].partitions);
    }
    return weir_wr_status(w);
}

int weir_encode_add_partitions_to_txn_response(weir_wr *w, int16_t version,
                                               const weir_add_partitions_to_txn_response *r)
{
    if (!weir_api_supported(WEIR_API_ADD_PARTITIONS_TO_TXN, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    int32_t nt = wr_array(w, r->result_count, r->results, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_add_partitions_to_txn_topic_result *t = &r->results[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->result_count, t->results, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->results[j].partition_index);
            weir_wr_i16(w, t->results[j].error_code);
        }
    }
    return weir_wr_status(w);
}

int weir_decode_add_partitions_to_txn_response(weir_rd *rd, int16_t version, weir_arena *a,
                                               weir_add_partitions_to_txn_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_ADD_PARTITIONS_TO_TXN, version, "AddPartitionsToTxnResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    int32_t nt = weir_rd_array_count(rd, "Results", false, MIN_STR + MIN_ARRAY);
    weir_add_partitions_to_txn_topic_result *ts = weir_rd_alloc(rd, a, "Results", nt, sizeof *ts);
    RD_EACH(rd, "Results", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Results", false, 4 + 2);
        weir_add_partitions_to_txn_partition_result *ps =
            weir_rd_alloc(rd, a, "Results", np, sizeof *ps);
        RD_EACH(rd, "Results", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "PartitionIndex");
            ps[j].error_code = weir_rd_i16(rd, "ErrorCode");
        }
        ts[i].results = ps;
        ts[i].result_count = weir_rd_ok(rd) ? np : 0;
    }
    out->results = ts;
    out->result_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- AddOffsetsToTxn ---- */

int weir_decode_add_offsets_to_txn_request(weir_rd *rd, int16_t version, weir_arena *a,
                                           weir_add_offsets_to_txn_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_ADD_OFFSETS_TO_TXN, version, "AddOffsetsToTxn");
    if (err != 0) {
        return err;
    }
    out->transactional_id = weir_rd_string(rd, "TransactionalId");
    out->producer_id = weir_rd_i64(rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    out->group_id = weir_rd_string(rd, "GroupId");
    return weir_rd_status(rd);
}

int weir_encode_add_offsets_to_txn_request(weir_wr *w, int16_t version,
                                           const weir_add_offsets_to_txn_request *r)
{
    if (!weir_api_supported(WEIR_API_ADD_OFFSETS_TO_TXN, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->transactional_id);
    weir_wr_i64(w, r->producer_id);
    weir_wr_i16(w, r->producer_epoch);
    weir_wr_string(w, r->group_id);
    return weir_wr_status(w);
}

int weir_encode_add_offsets_to_txn_response(weir_wr *w, int16_t version,
                                            const weir_add_offsets_to_txn_response *r)
{
    if (!weir_api_supported(WEIR_API_ADD_OFFSETS_TO_TXN, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    return weir_wr_status(w);
}

int weir_decode_add_offsets_to_txn_response(weir_rd *rd, int16_t version, weir_arena *a,
                                            weir_add_offsets_to_txn_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_ADD_OFFSETS_TO_TXN, version, "AddOffsetsToTxnResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    return weir_rd_status(rd);
}

/* ---- EndTxn (v3+ flexible) ---- */

int weir_decode_end_txn_request(weir_rd *rd, int16_t version, weir_arena *a,
                                weir_end_txn_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_END_TXN, version, "EndTxn");
    if (err != 0) {
        return err;
    }
    bool flexible = version >= 3;
    out->transactional_id = flexible ? weir_rd_compact_string(rd, "TransactionalId")
                                     : weir_rd_string(rd, "TransactionalId");
    out->producer_id = weir_rd_i64(rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    out->committed = weir_rd_bool(rd, "Committed");
    if (flexible) {
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

int weir_encode_end_txn_request(weir_wr *w, int16_t version, const weir_end_txn_request *r)
{
    if (!weir_api_supported(WEIR_API_END_TXN, version)) {
        return WEIR_E_INVAL;
    }
    bool flexible = version >= 3;
    if (flexible) {
        weir_wr_compact_string(w, r->transactional_id);
    } else {
        weir_wr_string(w, r->transactional_id);
    }
    weir_wr_i64(w, r->producer_id);
    weir_wr_i16(w, r->producer_epoch);
    weir_wr_bool(w, r->committed);
    if (flexible) {
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_encode_end_txn_response(weir_wr *w, int16_t version, const weir_end_txn_response *r)
{
    if (!weir_api_supported(WEIR_API_END_TXN, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    if (version >= 5) {
        weir_wr_i64(w, r->producer_id);
        weir_wr_i16(w, r->producer_epoch);
    }
    if (version >= 3) {
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_decode_end_txn_response(weir_rd *rd, int16_t version, weir_arena *a,
                                 weir_end_txn_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->producer_id = -1;
    out->producer_epoch = -1;
    int err = rd_begin(rd, WEIR_API_END_TXN, version, "EndTxnResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    if (version >= 5) {
        out->producer_id = weir_rd_i64(rd, "ProducerId");
        out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    }
    if (version >= 3) {
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

/* ---- WriteTxnMarkers (v0) ---- */

static void rd_write_txn_markers_marker(weir_rd *rd, weir_arena *a,
                                        weir_write_txn_markers_marker *m)
{
    m->producer_id = weir_rd_i64(rd, "ProducerId");
    m->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    m->transaction_result = weir_rd_bool(rd, "TransactionResult");
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_write_txn_markers_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        ts[i].partition_indexes =
            rd_i32_array(rd, a, "PartitionIndexes", &ts[i].partition_index_count);
    }
    m->topics = ts;
    m->topic_count = weir_rd_ok(rd) ? nt : 0;
    m->coordinator_epoch = weir_rd_i32(rd, "CoordinatorEpoch");
}

int weir_decode_write_txn_markers_request(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_write_txn_markers_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_WRITE_TXN_MARKERS, version, "WriteTxnMarkers");
    if (err != 0) {
        return err;
    }
    int32_t n = weir_rd_array_count(rd, "Markers", false, 8 + 2 + 1 + MIN_ARRAY + 4);
    weir_write_txn_markers_marker *ms = weir_rd_alloc(rd, a, "Markers", n, sizeof *ms);
    RD_EACH(rd, "Markers", i, n)
    {
        rd_write_txn_markers_marker(rd, a, &ms[i]);
    }
    out->markers = ms;
    out->marker_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

int weir_encode_write_txn_markers_request(weir_wr *w, int16_t version,
                                          const weir_write_txn_markers_request *r)
{
    if (!weir_api_supported(WEIR_API_WRITE_TXN_MARKERS, version)) {
        return WEIR_E_INVAL;
    }
    int32_t n = wr_array(w, r->marker_count, r->markers, false);
    for (int32_t i = 0; i < n; i++) {
        const weir_write_txn_markers_marker *m = &r->markers[i];
        weir_wr_i64(w, m->producer_id);
        weir_wr_i16(w, m->producer_epoch);
        weir_wr_bool(w, m->transaction_result);
        int32_t nt = wr_array(w, m->topic_count, m->topics, false);
        for (int32_t j = 0; j < nt; j++) {
            weir_wr_string(w, m->topics[j].name);
            wr_i32_array(w, m->topics[j].partition_index_count, m->topics[j].partition_indexes);
        }
        weir_wr_i32(w, m->coordinator_epoch);
    }
    return weir_wr_status(w);
}

int weir_encode_write_txn_markers_response(weir_wr *w, int16_t version,
                                           const weir_write_txn_markers_response *r)
{
    if (!weir_api_supported(WEIR_API_WRITE_TXN_MARKERS, version)) {
        return WEIR_E_INVAL;
    }
    int32_t n = wr_array(w, r->marker_count, r->markers, false);
    for (int32_t i = 0; i < n; i++) {
        const weir_write_txn_markers_marker_result *m = &r->markers[i];
        weir_wr_i64(w, m->producer_id);
        int32_t nt = wr_array(w, m->topic_count, m->topics, false);
        for (int32_t j = 0; j < nt; j++) {
            const weir_write_txn_markers_topic_result *t = &m->topics[j];
            weir_wr_string(w, t->name);
            int32_t np = wr_array(w, t->partition_count, t->partitions, false);
            for (int32_t k = 0; k < np; k++) {
                weir_wr_i32(w, t->partitions[k].partition_index);
                weir_wr_i16(w, t->partitions[k].error_code);
            }
        }
    }
    return weir_wr_status(w);
}

static void rd_write_txn_markers_result(weir_rd *rd, weir_arena *a,
                                        weir_write_txn_markers_marker_result *m)
{
    m->producer_id = weir_rd_i64(rd, "ProducerId");
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_write_txn_markers_topic_result *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, 4 + 2);
        weir_write_txn_markers_partition_result *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "PartitionIndex");
            ps[j].error_code = weir_rd_i16(rd, "ErrorCode");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    m->topics = ts;
    m->topic_count = weir_rd_ok(rd) ? nt : 0;
}

int weir_decode_write_txn_markers_response(weir_rd *rd, int16_t version, weir_arena *a,
                                           weir_write_txn_markers_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_WRITE_TXN_MARKERS, version, "WriteTxnMarkersResponse");
    if (err != 0) {
        return err;
    }
    int32_t n = weir_rd_array_count(rd, "Markers", false, 8 + MIN_ARRAY);
    weir_write_txn_markers_marker_result *ms = weir_rd_alloc(rd, a, "Markers", n, sizeof *ms);
    RD_EACH(rd, "Markers", i, n)
    {
        rd_write_txn_markers_result(rd, a, &ms[i]);
    }
    out->markers = ms;
    out->marker_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

/* ---- TxnOffsetCommit ---- */

int weir_decode_txn_offset_commit_request(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_txn_offset_commit_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_TXN_OFFSET_COMMIT, version, "TxnOffsetCommit");
    if (err != 0) {
        return err;
    }
    out->transactional_id = weir_rd_string(rd, "TransactionalId");
    out->group_id = weir_rd_string(rd, "GroupId");
    out->producer_id = weir_rd_i64(rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(rd, "ProducerEpoch");
    size_t part_min = 4 + 8 + (version >= 2 ? 4 : 0) + MIN_STR;
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_txn_offset_commit_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_txn_offset_commit_partition *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            weir_txn_offset_commit_partition *p = &ps[j];
            p->partition_index = weir_rd_i32(rd, "PartitionIndex");
            p->committed_offset = weir_rd_i64(rd, "CommittedOffset");
            p->committed_leader_epoch = version >= 2 ? weir_rd_i32(rd, "CommittedLeaderEpoch") : -1;
            p->committed_metadata = weir_rd_nullable_string(rd, "CommittedMetadata");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_txn_offset_commit_request(weir_wr *w, int16_t version,
                                          const weir_txn_offset_commit_request *r)
{
    if (!weir_api_supported(WEIR_API_TXN_OFFSET_COMMIT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->transactional_id);
    weir_wr_string(w, r->group_id);
    weir_wr_i64(w, r->producer_id);
    weir_wr_i16(w, r->producer_epoch);
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_txn_offset_commit_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_txn_offset_commit_partition *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i64(w, p->committed_offset);
            if (version >= 2) {
                weir_wr_i32(w, p->committed_leader_epoch);
            }
            weir_wr_nullable_string(w, p->committed_metadata);
        }
    }
    return weir_wr_status(w);
}

int weir_encode_txn_offset_commit_response(weir_wr *w, int16_t version,
                                           const weir_txn_offset_commit_response *r)
{
    if (!weir_api_supported(WEIR_API_TXN_OFFSET_COMMIT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_txn_offset_commit_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->partitions[j].partition_index);
            weir_wr_i16(w, t->partitions[j].error_code);
        }
    }
    return weir_wr_status(w);
}

int weir_decode_txn_offset_commit_response(weir_rd *rd, int16_t version, weir_arena *a,
                                           weir_txn_offset_commit_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_TXN_OFFSET_COMMIT, version, "TxnOffsetCommitResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_txn_offset_commit_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, 4 + 2);
        weir_txn_offset_commit_partition_response *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "PartitionIndex");
            ps[j].error_code = weir_rd_i16(rd, "ErrorCode");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}
