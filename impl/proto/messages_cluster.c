/* Bodies of the inter-broker Kafka messages (messages_cluster.h):
 * LeaderAndIsr, OffsetForLeaderEpoch, AlterPartition, BrokerRegistration and
 * BrokerHeartbeat.
 *
 * The same discipline as messages.c: decoders read with the sticky weir_rd,
 * push array elements on the error path, check every count against the bytes
 * left before allocating, and return the reader's status; encoders write the
 * fields of the version in its order and return the writer's status. Field
 * names in error paths are those of Kafka's JSON message definitions.
 *
 * LeaderAndIsr and OffsetForLeaderEpoch become flexible only at v4, above
 * weir's range, so they use the classic encodings. AlterPartition,
 * BrokerRegistration and BrokerHeartbeat are flexible in every version: compact
 * strings and arrays, a tag buffer after every struct and after the body.
 */
#include "proto/messages.h"

#include <string.h>

#include "proto/messages_internal.h"

/* uint16 (BrokerRegistration's Port): two big-endian bytes. */
static void wr_u16(weir_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)(v & 0xff)};
    weir_wr_raw(w, b, sizeof b);
}

static uint16_t rd_u16(weir_rd *rd, const char *field)
{
    return (uint16_t)weir_rd_i16(rd, field);
}

/* ---- LeaderAndIsr ---- */

static void rd_lai_partition_state(weir_rd *rd, int16_t version, weir_arena *a,
                                   weir_leader_and_isr_partition_state *p)
{
    p->partition_index = weir_rd_i32(rd, "PartitionIndex");
    p->controller_epoch = weir_rd_i32(rd, "ControllerEpoch");
    p->leader = weir_rd_i32(rd, "Leader");
    p->leader_epoch = weir_rd_i32(rd, "LeaderEpoch");
    p->isr = rd_i32_array(rd, a, "Isr", &p->isr_count);
    p->zk_version = weir_rd_i32(rd, "ZkVersion");
    p->replicas = rd_i32_array(rd, a, "Replicas", &p->replica_count);
    if (version >= 3) {
        p->adding_replicas = rd_i32_array(rd, a, "AddingReplicas", &p->adding_replica_count);
        p->removing_replicas = rd_i32_array(rd, a, "RemovingReplicas", &p->removing_replica_count);
    }
    p->is_new = weir_rd_bool(rd, "IsNew");
}

static void rd_lai_topic_states(weir_rd *rd, int16_t version, weir_arena *a,
                                weir_leader_and_isr_request *out)
{
    /* 4 int32s, Isr, ZkVersion, Replicas, (v3: 2 arrays), IsNew */
    size_t part_min = 4 * 4 + MIN_ARRAY + 4 + MIN_ARRAY + (version >= 3 ? 2 * MIN_ARRAY : 0) + 1;
    int32_t nt = weir_rd_array_count(rd, "TopicStates", false, MIN_STR + MIN_ARRAY);
    weir_leader_and_isr_topic_state *ts = weir_rd_alloc(rd, a, "TopicStates", nt, sizeof *ts);
    RD_EACH(rd, "TopicStates", i, nt)
    {
        ts[i].topic_name = weir_rd_string(rd, "TopicName");
        int32_t np = weir_rd_array_count(rd, "PartitionStates", false, part_min);
        weir_leader_and_isr_partition_state *ps =
            weir_rd_alloc(rd, a, "PartitionStates", np, sizeof *ps);
        RD_EACH(rd, "PartitionStates", j, np)
        {
            rd_lai_partition_state(rd, version, a, &ps[j]);
        }
        ts[i].partition_states = ps;
        ts[i].partition_state_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topic_states = ts;
    out->topic_state_count = weir_rd_ok(rd) ? nt : 0;
}

int weir_decode_leader_and_isr_request(weir_rd *rd, int16_t version, weir_arena *a,
                                       weir_leader_and_isr_request *out)
{
    memset(out, 0, sizeof *out);
    out->broker_epoch = -1;
    int err = rd_begin(rd, WEIR_API_LEADER_AND_ISR, version, "LeaderAndIsr");
    if (err != 0) {
        return err;
    }
    out->controller_id = weir_rd_i32(rd, "ControllerId");
    out->controller_epoch = weir_rd_i32(rd, "ControllerEpoch");
    out->broker_epoch = weir_rd_i64(rd, "BrokerEpoch"); /* v2+ */
    rd_lai_topic_states(rd, version, a, out);
    int32_t nl = weir_rd_array_count(rd, "LiveLeaders", false, 4 + MIN_STR + 4);
    weir_leader_and_isr_live_leader *ls = weir_rd_alloc(rd, a, "LiveLeaders", nl, sizeof *ls);
    RD_EACH(rd, "LiveLeaders", i, nl)
    {
        ls[i].broker_id = weir_rd_i32(rd, "BrokerId");
        ls[i].host_name = weir_rd_string(rd, "HostName");
        ls[i].port = weir_rd_i32(rd, "Port");
    }
    out->live_leaders = ls;
    out->live_leader_count = weir_rd_ok(rd) ? nl : 0;
    return weir_rd_status(rd);
}

static void wr_lai_partition_state(weir_wr *w, int16_t version,
                                   const weir_leader_and_isr_partition_state *p)
{
    weir_wr_i32(w, p->partition_index);
    weir_wr_i32(w, p->controller_epoch);
    weir_wr_i32(w, p->leader);
    weir_wr_i32(w, p->leader_epoch);
    wr_i32_array(w, p->isr_count, p->isr);
    weir_wr_i32(w, p->zk_version);
    wr_i32_array(w, p->replica_count, p->replicas);
    if (version >= 3) {
        wr_i32_array(w, p->adding_replica_count, p->adding_replicas);
        wr_i32_array(w, p->removing_replica_count, p->removing_replicas);
    }
    weir_wr_bool(w, p->is_new);
}

int weir_encode_leader_and_isr_request(weir_wr *w, int16_t version,
                                       const weir_leader_and_isr_request *r)
{
    if (!weir_api_supported(WEIR_API_LEADER_AND_ISR, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->controller_id);
    weir_wr_i32(w, r->controller_epoch);
    weir_wr_i64(w, r->broker_epoch);
    int32_t nt = wr_array(w, r->topic_state_count, r->topic_states, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_leader_and_isr_topic_state *t = &r->topic_states[i];
        weir_wr_string(w, t->topic_name);
        int32_t np = wr_array(w, t->partition_state_count, t->partition_states, false);
        for (int32_t j = 0; j < np; j++) {
            wr_lai_partition_state(w, version, &t->partition_states[j]);
        }
    }
    int32_t nl = wr_array(w, r->live_leader_count, r->live_leaders, false);
    for (int32_t i = 0; i < nl; i++) {
        weir_wr_i32(w, r->live_leaders[i].broker_id);
        weir_wr_string(w, r->live_leaders[i].host_name);
        weir_wr_i32(w, r->live_leaders[i].port);
    }
    return weir_wr_status(w);
}

int weir_encode_leader_and_isr_response(weir_wr *w, int16_t version,
                                        const weir_leader_and_isr_response *r)
{
    if (!weir_api_supported(WEIR_API_LEADER_AND_ISR, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i16(w, r->error_code);
    int32_t n = wr_array(w, r->partition_error_count, r->partition_errors, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->partition_errors[i].topic_name);
        weir_wr_i32(w, r->partition_errors[i].partition_index);
        weir_wr_i16(w, r->partition_errors[i].error_code);
    }
    return weir_wr_status(w);
}

int weir_decode_leader_and_isr_response(weir_rd *rd, int16_t version, weir_arena *a,
                                        weir_leader_and_isr_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LEADER_AND_ISR, version, "LeaderAndIsrResponse");
    if (err != 0) {
        return err;
    }
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    int32_t n = weir_rd_array_count(rd, "PartitionErrors", false, MIN_STR + 4 + 2);
    weir_leader_and_isr_partition_error *es =
        weir_rd_alloc(rd, a, "PartitionErrors", n, sizeof *es);
    RD_EACH(rd, "PartitionErrors", i, n)
    {
        es[i].topic_name = weir_rd_string(rd, "TopicName");
        es[i].partition_index = weir_rd_i32(rd, "PartitionIndex");
        es[i].error_code = weir_rd_i16(rd, "ErrorCode");
    }
    out->partition_errors = es;
    out->partition_error_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

/* ---- OffsetForLeaderEpoch ---- */

int weir_decode_offset_for_leader_epoch_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                weir_offset_for_leader_epoch_request *out)
{
    memset(out, 0, sizeof *out);
    out->replica_id = -2;
    int err = rd_begin(rd, WEIR_API_OFFSET_FOR_LEADER_EPOCH, version, "OffsetForLeaderEpoch");
    if (err != 0) {
        return err;
    }
    if (version >= 3) {
        out->replica_id = weir_rd_i32(rd, "ReplicaId");
    }
    size_t part_min = 4 + 4 + (version >= 2 ? 4 : 0);
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_offset_for_leader_epoch_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Topic");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_offset_for_leader_epoch_partition *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "Partition");
            ps[j].current_leader_epoch = version >= 2 ? weir_rd_i32(rd, "CurrentLeaderEpoch") : -1;
            ps[j].leader_epoch = weir_rd_i32(rd, "LeaderEpoch");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_offset_for_leader_epoch_request(weir_wr *w, int16_t version,
                                                const weir_offset_for_leader_epoch_request *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_FOR_LEADER_EPOCH, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 3) {
        weir_wr_i32(w, r->replica_id);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_for_leader_epoch_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->partitions[j].partition_index);
            if (version >= 2) {
                weir_wr_i32(w, t->partitions[j].current_leader_epoch);
            }
            weir_wr_i32(w, t->partitions[j].leader_epoch);
        }
    }
    return weir_wr_status(w);
}

int weir_encode_offset_for_leader_epoch_response(weir_wr *w, int16_t version,
                                                 const weir_offset_for_leader_epoch_response *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_FOR_LEADER_EPOCH, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 2) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_for_leader_epoch_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_offset_for_leader_epoch_partition_response *p = &t->partitions[j];
            weir_wr_i16(w, p->error_code);
            weir_wr_i32(w, p->partition_index);
            if (version >= 1) {
                weir_wr_i32(w, p->leader_epoch);
            }
            weir_wr_i64(w, p->end_offset);
        }
    }
    return weir_wr_status(w);
}

int weir_decode_offset_for_leader_epoch_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                 weir_offset_for_leader_epoch_response *out)
{
    memset(out, 0, sizeof *out);
    int err =
        rd_begin(rd, WEIR_API_OFFSET_FOR_LEADER_EPOCH, version, "OffsetForLeaderEpochResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 2) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    size_t part_min = 2 + 4 + (version >= 1 ? 4 : 0) + 8;
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_offset_for_leader_epoch_topic_response *ts =
        weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Topic");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_offset_for_leader_epoch_partition_response *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            ps[j].error_code = weir_rd_i16(rd, "ErrorCode");
            ps[j].partition_index = weir_rd_i32(rd, "Partition");
            ps[j].leader_epoch = version >= 1 ? weir_rd_i32(rd, "LeaderEpoch") : -1;
            ps[j].end_offset = weir_rd_i64(rd, "EndOffset");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- AlterPartition (flexible in every version) ---- */

int weir_decode_alter_partition_request(weir_rd *rd, int16_t version, weir_arena *a,
                                        weir_alter_partition_request *out)
{
    memset(out, 0, sizeof *out);
    out->broker_epoch = -1;
    int err = rd_begin(rd, WEIR_API_ALTER_PARTITION, version, "AlterPartition");
    if (err != 0) {
        return err;
    }
    out->broker_id = weir_rd_i32(rd, "BrokerId");
    out->broker_epoch = weir_rd_i64(rd, "BrokerEpoch");
    size_t part_min = 4 + 4 + MIN_CARRAY + (version >= 1 ? 1 : 0) + 4 + MIN_TAGS;
    int32_t nt = weir_rd_compact_array_count(rd, "Topics", false, MIN_CSTR + MIN_CARRAY + MIN_TAGS);
    weir_alter_partition_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_compact_string(rd, "Name");
        int32_t np = weir_rd_compact_array_count(rd, "Partitions", false, part_min);
        weir_alter_partition_partition *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            weir_alter_partition_partition *p = &ps[j];
            p->partition_index = weir_rd_i32(rd, "PartitionIndex");
            p->leader_epoch = weir_rd_i32(rd, "LeaderEpoch");
            p->new_isr = rd_i32_array_of(rd, a, true, "NewIsr", &p->new_isr_count);
            p->leader_recovery_state = version >= 1 ? weir_rd_i8(rd, "LeaderRecoveryState") : 0;
            p->partition_epoch = weir_rd_i32(rd, "PartitionEpoch");
            weir_rd_skip_tags(rd, "TaggedFields");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    weir_rd_skip_tags(rd, "TaggedFields");
    return weir_rd_status(rd);
}

int weir_encode_alter_partition_request(weir_wr *w, int16_t version,
                                        const weir_alter_partition_request *r)
{
    if (!weir_api_supported(WEIR_API_ALTER_PARTITION, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->broker_id);
    weir_wr_i64(w, r->broker_epoch);
    int32_t nt = wr_compact_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_alter_partition_topic *t = &r->topics[i];
        weir_wr_compact_string(w, t->name);
        int32_t np = wr_compact_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_alter_partition_partition *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i32(w, p->leader_epoch);
            wr_i32_array_of(w, true, p->new_isr_count, p->new_isr);
            if (version >= 1) {
                weir_wr_i8(w, p->leader_recovery_state);
            }
            weir_wr_i32(w, p->partition_epoch);
            weir_wr_tags_empty(w);
        }
        weir_wr_tags_empty(w);
    }
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

int weir_encode_alter_partition_response(weir_wr *w, int16_t version,
                                         const weir_alter_partition_response *r)
{
    if (!weir_api_supported(WEIR_API_ALTER_PARTITION, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    int32_t nt = wr_compact_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_alter_partition_topic_response *t = &r->topics[i];
        weir_wr_compact_string(w, t->name);
        int32_t np = wr_compact_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_alter_partition_partition_response *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i16(w, p->error_code);
            weir_wr_i32(w, p->leader_id);
            weir_wr_i32(w, p->leader_epoch);
            wr_i32_array_of(w, true, p->isr_count, p->isr);
            if (version >= 1) {
                weir_wr_i8(w, p->leader_recovery_state);
            }
            weir_wr_i32(w, p->partition_epoch);
            weir_wr_tags_empty(w);
        }
        weir_wr_tags_empty(w);
    }
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

static void rd_alter_partition_partition(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_alter_partition_partition_response *p)
{
    p->partition_index = weir_rd_i32(rd, "PartitionIndex");
    p->error_code = weir_rd_i16(rd, "ErrorCode");
    p->leader_id = weir_rd_i32(rd, "LeaderId");
    p->leader_epoch = weir_rd_i32(rd, "LeaderEpoch");
    p->isr = rd_i32_array_of(rd, a, true, "Isr", &p->isr_count);
    p->leader_recovery_state = version >= 1 ? weir_rd_i8(rd, "LeaderRecoveryState") : 0;
    p->partition_epoch = weir_rd_i32(rd, "PartitionEpoch");
    weir_rd_skip_tags(rd, "TaggedFields");
}

int weir_decode_alter_partition_response(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_alter_partition_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_ALTER_PARTITION, version, "AlterPartitionResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    size_t part_min = 4 + 2 + 4 + 4 + MIN_CARRAY + (version >= 1 ? 1 : 0) + 4 + MIN_TAGS;
    int32_t nt = weir_rd_compact_array_count(rd, "Topics", false, MIN_CSTR + MIN_CARRAY + MIN_TAGS);
    weir_alter_partition_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_compact_string(rd, "Name");
        int32_t np = weir_rd_compact_array_count(rd, "Partitions", false, part_min);
        weir_alter_partition_partition_response *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            rd_alter_partition_partition(rd, version, a, &ps[j]);
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    weir_rd_skip_tags(rd, "TaggedFields");
    return weir_rd_status(rd);
}

/* ---- BrokerRegistration (flexible) ---- */

static void rd_broker_registration_lists(weir_rd *rd, weir_arena *a,
                                         weir_broker_registration_request *out)
{
    int32_t nl =
        weir_rd_compact_array_count(rd, "Listeners", false, MIN_CSTR + MIN_CSTR + 2 + 2 + MIN_TAGS);
    weir_broker_registration_listener *ls = weir_rd_alloc(rd, a, "Listeners", nl, sizeof *ls);
    RD_EACH(rd, "Listeners", i, nl)
    {
        ls[i].name = weir_rd_compact_string(rd, "Name");
        ls[i].host = weir_rd_compact_string(rd, "Host");
        ls[i].port = rd_u16(rd, "Port");
        ls[i].security_protocol = weir_rd_i16(rd, "SecurityProtocol");
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    out->listeners = ls;
    out->listener_count = weir_rd_ok(rd) ? nl : 0;
    int32_t nf = weir_rd_compact_array_count(rd, "Features", false, MIN_CSTR + 2 + 2 + MIN_TAGS);
    weir_broker_registration_feature *fs = weir_rd_alloc(rd, a, "Features", nf, sizeof *fs);
    RD_EACH(rd, "Features", i, nf)
    {
        fs[i].name = weir_rd_compact_string(rd, "Name");
        fs[i].min_supported_version = weir_rd_i16(rd, "MinSupportedVersion");
        fs[i].max_supported_version = weir_rd_i16(rd, "MaxSupportedVersion");
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    out->features = fs;
    out->feature_count = weir_rd_ok(rd) ? nf : 0;
}

int weir_decode_broker_registration_request(weir_rd *rd, int16_t version, weir_arena *a,
                                            weir_broker_registration_request *out)
{
    memset(out, 0, sizeof *out);
    out->cluster_id = (weir_str){"", 0};
    out->rack = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_BROKER_REGISTRATION, version, "BrokerRegistration");
    if (err != 0) {
        return err;
    }
    out->broker_id = weir_rd_i32(rd, "BrokerId");
    out->cluster_id = weir_rd_compact_string(rd, "ClusterId");
    out->incarnation_id = weir_rd_uuid(rd, "IncarnationId");
    rd_broker_registration_lists(rd, a, out);
    out->rack = weir_rd_compact_nullable_string(rd, "Rack");
    weir_rd_skip_tags(rd, "TaggedFields"); /* tag 0 ZkMigrationReady (later brokers): skipped */
    return weir_rd_status(rd);
}

int weir_encode_broker_registration_request(weir_wr *w, int16_t version,
                                            const weir_broker_registration_request *r)
{
    if (!weir_api_supported(WEIR_API_BROKER_REGISTRATION, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->broker_id);
    weir_wr_compact_string(w, r->cluster_id);
    weir_wr_uuid(w, r->incarnation_id);
    int32_t nl = wr_compact_array(w, r->listener_count, r->listeners, false);
    for (int32_t i = 0; i < nl; i++) {
        const weir_broker_registration_listener *l = &r->listeners[i];
        weir_wr_compact_string(w, l->name);
        weir_wr_compact_string(w, l->host);
        wr_u16(w, l->port);
        weir_wr_i16(w, l->security_protocol);
        weir_wr_tags_empty(w);
    }
    int32_t nf = wr_compact_array(w, r->feature_count, r->features, false);
    for (int32_t i = 0; i < nf; i++) {
        weir_wr_compact_string(w, r->features[i].name);
        weir_wr_i16(w, r->features[i].min_supported_version);
        weir_wr_i16(w, r->features[i].max_supported_version);
        weir_wr_tags_empty(w);
    }
    weir_wr_compact_nullable_string(w, r->rack);
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

int weir_encode_broker_registration_response(weir_wr *w, int16_t version,
                                             const weir_broker_registration_response *r)
{
    if (!weir_api_supported(WEIR_API_BROKER_REGISTRATION, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    weir_wr_i64(w, r->broker_epoch);
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

int weir_decode_broker_registration_response(weir_rd *rd, int16_t version, weir_arena *a,
                                             weir_broker_registration_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->broker_epoch = -1;
    int err = rd_begin(rd, WEIR_API_BROKER_REGISTRATION, version, "BrokerRegistrationResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    out->broker_epoch = weir_rd_i64(rd, "BrokerEpoch");
    weir_rd_skip_tags(rd, "TaggedFields");
    return weir_rd_status(rd);
}

/* ---- BrokerHeartbeat (flexible) ---- */

int weir_decode_broker_heartbeat_request(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_broker_heartbeat_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->broker_epoch = -1;
    int err = rd_begin(rd, WEIR_API_BROKER_HEARTBEAT, version, "BrokerHeartbeat");
    if (err != 0) {
        return err;
    }
    out->broker_id = weir_rd_i32(rd, "BrokerId");
    out->broker_epoch = weir_rd_i64(rd, "BrokerEpoch");
    out->current_metadata_offset = weir_rd_i64(rd, "CurrentMetadataOffset");
    out->want_fence = weir_rd_bool(rd, "WantFence");
    out->want_shut_down = weir_rd_bool(rd, "WantShutDown");
    weir_rd_skip_tags(rd, "TaggedFields");
    return weir_rd_status(rd);
}

int weir_encode_broker_heartbeat_request(weir_wr *w, int16_t version,
                                         const weir_broker_heartbeat_request *r)
{
    if (!weir_api_supported(WEIR_API_BROKER_HEARTBEAT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->broker_id);
    weir_wr_i64(w, r->broker_epoch);
    weir_wr_i64(w, r->current_metadata_offset);
    weir_wr_bool(w, r->want_fence);
    weir_wr_bool(w, r->want_shut_down);
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

int weir_encode_broker_heartbeat_response(weir_wr *w, int16_t version,
                                          const weir_broker_heartbeat_response *r)
{
    if (!weir_api_supported(WEIR_API_BROKER_HEARTBEAT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    weir_wr_i16(w, r->error_code);
    weir_wr_bool(w, r->is_caught_up);
    weir_wr_bool(w, r->is_fenced);
    weir_wr_bool(w, r->should_shut_down);
    weir_wr_tags_empty(w);
    return weir_wr_status(w);
}

int weir_decode_broker_heartbeat_response(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_broker_heartbeat_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->is_fenced = true; /* Kafka's default */
    int err = rd_begin(rd, WEIR_API_BROKER_HEARTBEAT, version, "BrokerHeartbeatResponse");
    if (err != 0) {
        return err;
    }
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    out->is_caught_up = weir_rd_bool(rd, "IsCaughtUp");
    out->is_fenced = weir_rd_bool(rd, "IsFenced");
    out->should_shut_down = weir_rd_bool(rd, "ShouldShutDown");
    weir_rd_skip_tags(rd, "TaggedFields");
    return weir_rd_status(rd);
}
