/* Bodies of the consumer-group Kafka messages (messages_group.h):
 * OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
 * LeaveGroup, SyncGroup, DescribeGroups and ListGroups.
 *
 * The same discipline as messages.c: decoders read with the sticky weir_rd,
 * push array elements on the error path, check every count against the bytes
 * left before allocating, set the fields a version lacks to Kafka's default
 * and return the reader's status; encoders write the fields of the version
 * in its order and return the writer's status. Field names in error paths
 * are those of Kafka's JSON message definitions. No version here is
 * flexible, so every string, bytes and array is the classic form.
 *
 * Encoders refuse (WEIR_E_INVAL) a request value that a version would drop
 * and that changes the meaning, as Kafka's own serializer does for
 * non-ignorable fields: a FindCoordinator KeyType other than 0 in v0, and a
 * non-null GroupInstanceId (static membership) below the version that has it.
 */
#include "proto/messages.h"

#include <string.h>

#include "proto/messages_internal.h"

static const weir_str str_empty = {"", 0};

/* Sets WEIR_E_INVAL on the writer (a value the version cannot carry). */
static void wr_refuse(weir_wr *w)
{
    if (w->err == 0) {
        w->err = WEIR_E_INVAL;
    }
}

/* GroupInstanceId: written from version `since`; before it only null fits. */
static void wr_group_instance_id(weir_wr *w, int16_t version, int16_t since, weir_str id)
{
    if (version >= since) {
        weir_wr_nullable_string(w, id);
    } else if (id.len >= 0) {
        wr_refuse(w);
    }
}

static weir_str rd_group_instance_id(weir_rd *rd, int16_t version, int16_t since)
{
    return version >= since ? weir_rd_nullable_string(rd, "GroupInstanceId") : WEIR_STR_NULL;
}

/* ---- OffsetCommit ---- */

static void rd_offset_commit_partition(weir_rd *rd, int16_t version,
                                       weir_offset_commit_partition *p)
{
    p->partition_index = weir_rd_i32(rd, "PartitionIndex");
    p->committed_offset = weir_rd_i64(rd, "CommittedOffset");
    p->committed_leader_epoch = version >= 6 ? weir_rd_i32(rd, "CommittedLeaderEpoch") : -1;
    p->commit_timestamp = version == 1 ? weir_rd_i64(rd, "CommitTimestamp") : -1;
    p->committed_metadata = weir_rd_nullable_string(rd, "CommittedMetadata");
}

int weir_decode_offset_commit_request(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_offset_commit_request *out)
{
    memset(out, 0, sizeof *out);
    out->generation_id = -1;
    out->member_id = str_empty;
    out->group_instance_id = WEIR_STR_NULL;
    out->retention_time_ms = -1;
    int err = rd_begin(rd, WEIR_API_OFFSET_COMMIT, version, "OffsetCommit");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    if (version >= 1) {
        out->generation_id = weir_rd_i32(rd, "GenerationId");
        out->member_id = weir_rd_string(rd, "MemberId");
    }
    out->group_instance_id = rd_group_instance_id(rd, version, 7);
    if (version >= 2 && version <= 4) {
        out->retention_time_ms = weir_rd_i64(rd, "RetentionTimeMs");
    }
    size_t part_min = 4 + 8 + (version >= 6 ? 4 : 0) + (version == 1 ? 8 : 0) + MIN_STR;
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_offset_commit_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_offset_commit_partition *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            rd_offset_commit_partition(rd, version, &ps[j]);
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_offset_commit_request(weir_wr *w, int16_t version,
                                      const weir_offset_commit_request *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_COMMIT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    if (version >= 1) {
        weir_wr_i32(w, r->generation_id);
        weir_wr_string(w, r->member_id);
    }
    wr_group_instance_id(w, version, 7, r->group_instance_id);
    if (version >= 2 && version <= 4) {
        weir_wr_i64(w, r->retention_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_commit_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_offset_commit_partition *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i64(w, p->committed_offset);
            if (version >= 6) {
                weir_wr_i32(w, p->committed_leader_epoch);
            }
            if (version == 1) {
                weir_wr_i64(w, p->commit_timestamp);
            }
            weir_wr_nullable_string(w, p->committed_metadata);
        }
    }
    return weir_wr_status(w);
}

int weir_encode_offset_commit_response(weir_wr *w, int16_t version,
                                       const weir_offset_commit_response *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_COMMIT, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 3) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_commit_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->partitions[j].partition_index);
            weir_wr_i16(w, t->partitions[j].error_code);
        }
    }
    return weir_wr_status(w);
}

int weir_decode_offset_commit_response(weir_rd *rd, int16_t version, weir_arena *a,
                                       weir_offset_commit_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_OFFSET_COMMIT, version, "OffsetCommitResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 3) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_offset_commit_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, 4 + 2);
        weir_offset_commit_partition_response *ps =
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

/* ---- OffsetFetch ---- */

int weir_decode_offset_fetch_request(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_offset_fetch_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_OFFSET_FETCH, version, "OffsetFetch");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    int32_t nt = weir_rd_array_count(rd, "Topics", version >= 2, MIN_STR + MIN_ARRAY);
    weir_offset_fetch_topic *ts = weir_rd_alloc(rd, a, "Topics", nt < 0 ? 0 : nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        ts[i].partition_indexes =
            rd_i32_array(rd, a, "PartitionIndexes", &ts[i].partition_index_count);
    }
    out->topics = nt < 0 ? NULL : ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_offset_fetch_request(weir_wr *w, int16_t version,
                                     const weir_offset_fetch_request *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_FETCH, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    int32_t nt = wr_array(w, r->topic_count, r->topics, version >= 2);
    for (int32_t i = 0; i < nt; i++) {
        weir_wr_string(w, r->topics[i].name);
        wr_i32_array(w, r->topics[i].partition_index_count, r->topics[i].partition_indexes);
    }
    return weir_wr_status(w);
}

int weir_encode_offset_fetch_response(weir_wr *w, int16_t version,
                                      const weir_offset_fetch_response *r)
{
    if (!weir_api_supported(WEIR_API_OFFSET_FETCH, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 3) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_fetch_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_offset_fetch_partition_response *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i64(w, p->committed_offset);
            if (version >= 5) {
                weir_wr_i32(w, p->committed_leader_epoch);
            }
            weir_wr_nullable_string(w, p->metadata);
            weir_wr_i16(w, p->error_code);
        }
    }
    if (version >= 2) {
        weir_wr_i16(w, r->error_code);
    }
    return weir_wr_status(w);
}

int weir_decode_offset_fetch_response(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_offset_fetch_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_OFFSET_FETCH, version, "OffsetFetchResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 3) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    size_t part_min = 4 + 8 + (version >= 5 ? 4 : 0) + MIN_STR + 2;
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_offset_fetch_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_offset_fetch_partition_response *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            weir_offset_fetch_partition_response *p = &ps[j];
            p->partition_index = weir_rd_i32(rd, "PartitionIndex");
            p->committed_offset = weir_rd_i64(rd, "CommittedOffset");
            p->committed_leader_epoch = version >= 5 ? weir_rd_i32(rd, "CommittedLeaderEpoch") : -1;
            p->metadata = weir_rd_nullable_string(rd, "Metadata");
            p->error_code = weir_rd_i16(rd, "ErrorCode");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    if (version >= 2) {
        out->error_code = weir_rd_i16(rd, "ErrorCode");
    }
    return weir_rd_status(rd);
}

/* ---- FindCoordinator ---- */

int weir_decode_find_coordinator_request(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_find_coordinator_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_FIND_COORDINATOR, version, "FindCoordinator");
    if (err != 0) {
        return err;
    }
    out->key = weir_rd_string(rd, "Key");
    out->key_type = version >= 1 ? weir_rd_i8(rd, "KeyType") : WEIR_COORDINATOR_GROUP;
    return weir_rd_status(rd);
}

int weir_encode_find_coordinator_request(weir_wr *w, int16_t version,
                                         const weir_find_coordinator_request *r)
{
    if (!weir_api_supported(WEIR_API_FIND_COORDINATOR, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->key);
    if (version >= 1) {
        weir_wr_i8(w, r->key_type);
    } else if (r->key_type != WEIR_COORDINATOR_GROUP) {
        wr_refuse(w); /* v0 would ask for a group coordinator instead */
    }
    return weir_wr_status(w);
}

int weir_encode_find_coordinator_response(weir_wr *w, int16_t version,
                                          const weir_find_coordinator_response *r)
{
    if (!weir_api_supported(WEIR_API_FIND_COORDINATOR, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 1) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    weir_wr_i16(w, r->error_code);
    if (version >= 1) {
        weir_wr_nullable_string(w, r->error_message);
    }
    weir_wr_i32(w, r->node_id);
    weir_wr_string(w, r->host);
    weir_wr_i32(w, r->port);
    return weir_wr_status(w);
}

int weir_decode_find_coordinator_response(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_find_coordinator_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->error_message = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_FIND_COORDINATOR, version, "FindCoordinatorResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 1) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    if (version >= 1) {
        out->error_message = weir_rd_nullable_string(rd, "ErrorMessage");
    }
    out->node_id = weir_rd_i32(rd, "NodeId");
    out->host = weir_rd_string(rd, "Host");
    out->port = weir_rd_i32(rd, "Port");
    return weir_rd_status(rd);
}

/* ---- JoinGroup ---- */

int weir_decode_join_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                   weir_join_group_request *out)
{
    memset(out, 0, sizeof *out);
    out->rebalance_timeout_ms = -1;
    out->group_instance_id = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_JOIN_GROUP, version, "JoinGroup");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    out->session_timeout_ms = weir_rd_i32(rd, "SessionTimeoutMs");
    if (version >= 1) {
        out->rebalance_timeout_ms = weir_rd_i32(rd, "RebalanceTimeoutMs");
    }
    out->member_id = weir_rd_string(rd, "MemberId");
    out->group_instance_id = rd_group_instance_id(rd, version, 5);
    out->protocol_type = weir_rd_string(rd, "ProtocolType");
    int32_t n = weir_rd_array_count(rd, "Protocols", false, MIN_STR + 4);
    weir_join_group_protocol *ps = weir_rd_alloc(rd, a, "Protocols", n, sizeof *ps);
    RD_EACH(rd, "Protocols", i, n)
    {
        ps[i].name = weir_rd_string(rd, "Name");
        ps[i].metadata = weir_rd_bytes(rd, "Metadata");
    }
    out->protocols = ps;
    out->protocol_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

int weir_encode_join_group_request(weir_wr *w, int16_t version, const weir_join_group_request *r)
{
    if (!weir_api_supported(WEIR_API_JOIN_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    weir_wr_i32(w, r->session_timeout_ms);
    if (version >= 1) {
        weir_wr_i32(w, r->rebalance_timeout_ms);
    }
    weir_wr_string(w, r->member_id);
    wr_group_instance_id(w, version, 5, r->group_instance_id);
    weir_wr_string(w, r->protocol_type);
    int32_t n = wr_array(w, r->protocol_count, r->protocols, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->protocols[i].name);
        weir_wr_bytes(w, r->protocols[i].metadata);
    }
    return weir_wr_status(w);
}

int weir_encode_join_group_response(weir_wr *w, int16_t version, const weir_join_group_response *r)
{
    if (!weir_api_supported(WEIR_API_JOIN_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 2) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    weir_wr_i16(w, r->error_code);
    weir_wr_i32(w, r->generation_id);
    weir_wr_string(w, r->protocol_name);
    weir_wr_string(w, r->leader);
    weir_wr_string(w, r->member_id);
    int32_t n = wr_array(w, r->member_count, r->members, false);
    for (int32_t i = 0; i < n; i++) {
        const weir_join_group_member *m = &r->members[i];
        weir_wr_string(w, m->member_id);
        if (version >= 5) {
            weir_wr_nullable_string(w, m->group_instance_id);
        }
        weir_wr_bytes(w, m->metadata);
    }
    return weir_wr_status(w);
}

int weir_decode_join_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                    weir_join_group_response *out)
{
    memset(out, 0, sizeof *out);
    out->generation_id = -1;
    int err = rd_begin(rd, WEIR_API_JOIN_GROUP, version, "JoinGroupResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 2) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    out->generation_id = weir_rd_i32(rd, "GenerationId");
    out->protocol_name = weir_rd_string(rd, "ProtocolName");
    out->leader = weir_rd_string(rd, "Leader");
    out->member_id = weir_rd_string(rd, "MemberId");
    size_t member_min = MIN_STR + (version >= 5 ? MIN_STR : 0) + 4;
    int32_t n = weir_rd_array_count(rd, "Members", false, member_min);
    weir_join_group_member *ms = weir_rd_alloc(rd, a, "Members", n, sizeof *ms);
    RD_EACH(rd, "Members", i, n)
    {
        ms[i].member_id = weir_rd_string(rd, "MemberId");
        ms[i].group_instance_id = rd_group_instance_id(rd, version, 5);
        ms[i].metadata = weir_rd_bytes(rd, "Metadata");
    }
    out->members = ms;
    out->member_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

/* ---- Heartbeat ---- */

int weir_decode_heartbeat_request(weir_rd *rd, int16_t version, weir_arena *a,
                                  weir_heartbeat_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    out->group_instance_id = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_HEARTBEAT, version, "Heartbeat");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    out->generation_id = weir_rd_i32(rd, "GenerationId");
    out->member_id = weir_rd_string(rd, "MemberId");
    out->group_instance_id = rd_group_instance_id(rd, version, 3);
    return weir_rd_status(rd);
}

int weir_encode_heartbeat_request(weir_wr *w, int16_t version, const weir_heartbeat_request *r)
{
    if (!weir_api_supported(WEIR_API_HEARTBEAT, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    weir_wr_i32(w, r->generation_id);
    weir_wr_string(w, r->member_id);
    wr_group_instance_id(w, version, 3, r->group_instance_id);
    return weir_wr_status(w);
}

/* Heartbeat, LeaveGroup: [ThrottleTimeMs (v1+)], ErrorCode. */
static void wr_throttle_error(weir_wr *w, int16_t version, int32_t throttle_time_ms,
                              int16_t error_code)
{
    if (version >= 1) {
        weir_wr_i32(w, throttle_time_ms);
    }
    weir_wr_i16(w, error_code);
}

static void rd_throttle_error(weir_rd *rd, int16_t version, int32_t *throttle_time_ms,
                              int16_t *error_code)
{
    *throttle_time_ms = version >= 1 ? weir_rd_i32(rd, "ThrottleTimeMs") : 0;
    *error_code = weir_rd_i16(rd, "ErrorCode");
}

int weir_encode_heartbeat_response(weir_wr *w, int16_t version, const weir_heartbeat_response *r)
{
    if (!weir_api_supported(WEIR_API_HEARTBEAT, version)) {
        return WEIR_E_INVAL;
    }
    wr_throttle_error(w, version, r->throttle_time_ms, r->error_code);
    return weir_wr_status(w);
}

int weir_decode_heartbeat_response(weir_rd *rd, int16_t version, weir_arena *a,
                                   weir_heartbeat_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_HEARTBEAT, version, "HeartbeatResponse");
    if (err != 0) {
        return err;
    }
    rd_throttle_error(rd, version, &out->throttle_time_ms, &out->error_code);
    return weir_rd_status(rd);
}

/* ---- LeaveGroup ---- */

int weir_decode_leave_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                    weir_leave_group_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LEAVE_GROUP, version, "LeaveGroup");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    out->member_id = weir_rd_string(rd, "MemberId");
    return weir_rd_status(rd);
}

int weir_encode_leave_group_request(weir_wr *w, int16_t version, const weir_leave_group_request *r)
{
    if (!weir_api_supported(WEIR_API_LEAVE_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    weir_wr_string(w, r->member_id);
    return weir_wr_status(w);
}

int weir_encode_leave_group_response(weir_wr *w, int16_t version,
                                     const weir_leave_group_response *r)
{
    if (!weir_api_supported(WEIR_API_LEAVE_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    wr_throttle_error(w, version, r->throttle_time_ms, r->error_code);
    return weir_wr_status(w);
}

int weir_decode_leave_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_leave_group_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LEAVE_GROUP, version, "LeaveGroupResponse");
    if (err != 0) {
        return err;
    }
    rd_throttle_error(rd, version, &out->throttle_time_ms, &out->error_code);
    return weir_rd_status(rd);
}

/* ---- SyncGroup ---- */

int weir_decode_sync_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                   weir_sync_group_request *out)
{
    memset(out, 0, sizeof *out);
    out->group_instance_id = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_SYNC_GROUP, version, "SyncGroup");
    if (err != 0) {
        return err;
    }
    out->group_id = weir_rd_string(rd, "GroupId");
    out->generation_id = weir_rd_i32(rd, "GenerationId");
    out->member_id = weir_rd_string(rd, "MemberId");
    out->group_instance_id = rd_group_instance_id(rd, version, 3);
    int32_t n = weir_rd_array_count(rd, "Assignments", false, MIN_STR + 4);
    weir_sync_group_assignment *as = weir_rd_alloc(rd, a, "Assignments", n, sizeof *as);
    RD_EACH(rd, "Assignments", i, n)
    {
        as[i].member_id = weir_rd_string(rd, "MemberId");
        as[i].assignment = weir_rd_bytes(rd, "Assignment");
    }
    out->assignments = as;
    out->assignment_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

int weir_encode_sync_group_request(weir_wr *w, int16_t version, const weir_sync_group_request *r)
{
    if (!weir_api_supported(WEIR_API_SYNC_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_string(w, r->group_id);
    weir_wr_i32(w, r->generation_id);
    weir_wr_string(w, r->member_id);
    wr_group_instance_id(w, version, 3, r->group_instance_id);
    int32_t n = wr_array(w, r->assignment_count, r->assignments, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->assignments[i].member_id);
        weir_wr_bytes(w, r->assignments[i].assignment);
    }
    return weir_wr_status(w);
}

int weir_encode_sync_group_response(weir_wr *w, int16_t version, const weir_sync_group_response *r)
{
    if (!weir_api_supported(WEIR_API_SYNC_GROUP, version)) {
        return WEIR_E_INVAL;
    }
    wr_throttle_error(w, version, r->throttle_time_ms, r->error_code);
    weir_wr_bytes(w, r->assignment);
    return weir_wr_status(w);
}

int weir_decode_sync_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                    weir_sync_group_response *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_SYNC_GROUP, version, "SyncGroupResponse");
    if (err != 0) {
        return err;
    }
    rd_throttle_error(rd, version, &out->throttle_time_ms, &out->error_code);
    out->assignment = weir_rd_bytes(rd, "Assignment");
    return weir_rd_status(rd);
}

/* ---- DescribeGroups ---- */

int weir_decode_describe_groups_request(weir_rd *rd, int16_t version, weir_arena *a,
                                        weir_describe_groups_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_DESCRIBE_GROUPS, version, "DescribeGroups");
    if (err != 0) {
        return err;
    }
    int32_t n = weir_rd_array_count(rd, "Groups", false, MIN_STR);
    weir_str *gs = weir_rd_alloc(rd, a, "Groups", n, sizeof *gs);
    RD_EACH(rd, "Groups", i, n)
    {
        gs[i] = weir_rd_string(rd, NULL);
    }
    out->groups = gs;
    out->group_count = weir_rd_ok(rd) ? n : 0;
    if (version >= 3) {
        out->include_authorized_operations = weir_rd_bool(rd, "IncludeAuthorizedOperations");
    }
    return weir_rd_status(rd);
}

int weir_encode_describe_groups_request(weir_wr *w, int16_t version,
                                        const weir_describe_groups_request *r)
{
    if (!weir_api_supported(WEIR_API_DESCRIBE_GROUPS, version)) {
        return WEIR_E_INVAL;
    }
    int32_t n = wr_array(w, r->group_count, r->groups, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->groups[i]);
    }
    if (version >= 3) {
        weir_wr_bool(w, r->include_authorized_operations);
    }
    return weir_wr_status(w);
}

static void wr_describe_groups_group(weir_wr *w, int16_t version,
                                     const weir_describe_groups_group *g)
{
    weir_wr_i16(w, g->error_code);
    weir_wr_string(w, g->group_id);
    weir_wr_string(w, g->group_state);
    weir_wr_string(w, g->protocol_type);
    weir_wr_string(w, g->protocol_data);
    int32_t n = wr_array(w, g->member_count, g->members, false);
    for (int32_t i = 0; i < n; i++) {
        const weir_describe_groups_member *m = &g->members[i];
        weir_wr_string(w, m->member_id);
        if (version >= 4) {
            weir_wr_nullable_string(w, m->group_instance_id);
        }
        weir_wr_string(w, m->client_id);
        weir_wr_string(w, m->client_host);
        weir_wr_bytes(w, m->member_metadata);
        weir_wr_bytes(w, m->member_assignment);
    }
    if (version >= 3) {
        weir_wr_i32(w, g->authorized_operations);
    }
}

int weir_encode_describe_groups_response(weir_wr *w, int16_t version,
                                         const weir_describe_groups_response *r)
{
    if (!weir_api_supported(WEIR_API_DESCRIBE_GROUPS, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 1) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t n = wr_array(w, r->group_count, r->groups, false);
    for (int32_t i = 0; i < n; i++) {
        wr_describe_groups_group(w, version, &r->groups[i]);
    }
    return weir_wr_status(w);
}

static void rd_describe_groups_group(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_describe_groups_group *g)
{
    g->error_code = weir_rd_i16(rd, "ErrorCode");
    g->group_id = weir_rd_string(rd, "GroupId");
    g->group_state = weir_rd_string(rd, "GroupState");
    g->protocol_type = weir_rd_string(rd, "ProtocolType");
    g->protocol_data = weir_rd_string(rd, "ProtocolData");
    size_t member_min = MIN_STR * (version >= 4 ? 4 : 3) + 4 + 4;
    int32_t n = weir_rd_array_count(rd, "Members", false, member_min);
    weir_describe_groups_member *ms = weir_rd_alloc(rd, a, "Members", n, sizeof *ms);
    RD_EACH(rd, "Members", i, n)
    {
        weir_describe_groups_member *m = &ms[i];
        m->member_id = weir_rd_string(rd, "MemberId");
        m->group_instance_id = rd_group_instance_id(rd, version, 4);
        m->client_id = weir_rd_string(rd, "ClientId");
        m->client_host = weir_rd_string(rd, "ClientHost");
        m->member_metadata = weir_rd_bytes(rd, "MemberMetadata");
        m->member_assignment = weir_rd_bytes(rd, "MemberAssignment");
    }
    g->members = ms;
    g->member_count = weir_rd_ok(rd) ? n : 0;
    g->authorized_operations =
        version >= 3 ? weir_rd_i32(rd, "AuthorizedOperations") : WEIR_AUTHORIZED_OPERATIONS_UNKNOWN;
}

int weir_decode_describe_groups_response(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_describe_groups_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_DESCRIBE_GROUPS, version, "DescribeGroupsResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 1) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    size_t group_min = 2 + 4 * MIN_STR + MIN_ARRAY + (version >= 3 ? 4 : 0);
    int32_t n = weir_rd_array_count(rd, "Groups", false, group_min);
    weir_describe_groups_group *gs = weir_rd_alloc(rd, a, "Groups", n, sizeof *gs);
    RD_EACH(rd, "Groups", i, n)
    {
        rd_describe_groups_group(rd, version, a, &gs[i]);
    }
    out->groups = gs;
    out->group_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

/* ---- ListGroups ---- */

int weir_decode_list_groups_request(weir_rd *rd, int16_t version, weir_arena *a,
                                    weir_list_groups_request *out)
{
    (void)a;
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LIST_GROUPS, version, "ListGroups");
    if (err != 0) {
        return err;
    }
    return weir_rd_status(rd); /* an empty body in v0-v2 */
}

int weir_encode_list_groups_request(weir_wr *w, int16_t version, const weir_list_groups_request *r)
{
    (void)r;
    if (!weir_api_supported(WEIR_API_LIST_GROUPS, version)) {
        return WEIR_E_INVAL;
    }
    return weir_wr_status(w);
}

int weir_encode_list_groups_response(weir_wr *w, int16_t version,
                                     const weir_list_groups_response *r)
{
    if (!weir_api_supported(WEIR_API_LIST_GROUPS, version)) {
        return WEIR_E_INVAL;
    }
    wr_throttle_error(w, version, r->throttle_time_ms, r->error_code);
    int32_t n = wr_array(w, r->group_count, r->groups, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->groups[i].group_id);
        weir_wr_string(w, r->groups[i].protocol_type);
    }
    return weir_wr_status(w);
}

int weir_decode_list_groups_response(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_list_groups_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LIST_GROUPS, version, "ListGroupsResponse");
    if (err != 0) {
        return err;
    }
    rd_throttle_error(rd, version, &out->throttle_time_ms, &out->error_code);
    int32_t n = weir_rd_array_count(rd, "Groups", false, MIN_STR + MIN_STR);
    weir_list_groups_group *gs = weir_rd_alloc(rd, a, "Groups", n, sizeof *gs);
    RD_EACH(rd, "Groups", i, n)
    {
        gs[i].group_id = weir_rd_string(rd, "GroupId");
        gs[i].protocol_type = weir_rd_string(rd, "ProtocolType");
    }
    out->groups = gs;
    out->group_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}
