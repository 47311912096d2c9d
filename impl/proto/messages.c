/* Headers and bodies of the Kafka client messages in weir_api_table, and the
 * request dispatch for every API in it (the other bodies are in
 * messages_cluster.c: inter-broker, messages_group.c: consumer groups, and
 * messages_txn.c: idempotence and transactions).
 *
 * Each decoder reads with the sticky weir_rd: it reads the fields the version
 * has, enters arrays with a path element so an error names its place
 * ("Fetch.Topics[0].Partitions[2].FetchOffset: truncated"), allocates arrays
 * only after their count passed the bytes-left check, and returns the
 * reader's status. Each encoder writes the fields the version has, in its
 * order, and returns the writer's status. Field names in error paths are the
 * names of Kafka's JSON message definitions.
 */
#include "proto/messages.h"

#include <string.h>

#include "proto/messages_internal.h"

static const weir_str str_empty = {"", 0};

/* ---- headers ---- */

int weir_decode_request_header(weir_rd *rd, weir_request_header *out)
{
    memset(out, 0, sizeof *out);
    out->api_key = -1;
    out->api_version = -1;
    out->client_id = WEIR_STR_NULL;
    if (!weir_rd_ok(rd)) {
        return rd->err;
    }
    weir_rd_scope(rd, "RequestHeader");
    int16_t key = weir_rd_i16(rd, "RequestApiKey");
    int16_t version = weir_rd_i16(rd, "RequestApiVersion");
    int32_t correlation_id = weir_rd_i32(rd, "CorrelationId");
    if (!weir_rd_ok(rd)) {
        return rd->err;
    }
    out->api_key = key;
    out->api_version = version;
    out->correlation_id = correlation_id;
    out->client_id = weir_rd_nullable_string(rd, "ClientId");
    out->flexible = weir_api_flexible(key, version);
    if (out->flexible) {
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

int weir_encode_request_header(weir_wr *w, const weir_request_header *h)
{
    weir_wr_i16(w, h->api_key);
    weir_wr_i16(w, h->api_version);
    weir_wr_i32(w, h->correlation_id);
    weir_wr_nullable_string(w, h->client_id);
    if (weir_api_flexible(h->api_key, h->api_version)) {
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_encode_response_header(weir_wr *w, int16_t api_key, int16_t version,
                                int32_t correlation_id)
{
    weir_wr_i32(w, correlation_id);
    if (weir_api_response_header_tagged(api_key, version)) {
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_decode_response_header(weir_rd *rd, int16_t api_key, int16_t version,
                                int32_t *correlation_id_out)
{
    if (!weir_rd_ok(rd)) {
        return rd->err;
    }
    weir_rd_scope(rd, "ResponseHeader");
    *correlation_id_out = weir_rd_i32(rd, "CorrelationId");
    if (weir_api_response_header_tagged(api_key, version)) {
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

/* ---- ApiVersions ---- */

void weir_api_versions_response_supported(weir_api_versions_response *out)
{
    out->error_code = WEIR_KERR_NONE;
    out->api_key_count = weir_api_table_count;
    out->api_keys = weir_api_table;
    out->throttle_time_ms = 0;
}

int weir_decode_api_versions_request(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_api_versions_request *out)
{
    (void)a;
    out->client_software_name = str_empty;
    out->client_software_version = str_empty;
    int err = rd_begin(rd, WEIR_API_API_VERSIONS, version, "ApiVersions");
    if (err != 0) {
        return err;
    }
    if (version >= 3) {
        out->client_software_name = weir_rd_compact_string(rd, "ClientSoftwareName");
        out->client_software_version = weir_rd_compact_string(rd, "ClientSoftwareVersion");
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

int weir_encode_api_versions_request(weir_wr *w, int16_t version,
                                     const weir_api_versions_request *r)
{
    if (!weir_api_supported(WEIR_API_API_VERSIONS, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 3) {
        weir_wr_compact_string(w, r->client_software_name);
        weir_wr_compact_string(w, r->client_software_version);
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_encode_api_versions_response(weir_wr *w, int16_t version,
                                      const weir_api_versions_response *r)
{
    if (!weir_api_supported(WEIR_API_API_VERSIONS, version)) {
        return WEIR_E_INVAL;
    }
    bool flexible = version >= 3;
    weir_wr_i16(w, r->error_code);
    int32_t n = flexible ? wr_compact_array(w, r->api_key_count, r->api_keys, false)
                         : wr_array(w, r->api_key_count, r->api_keys, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_i16(w, r->api_keys[i].api_key);
        weir_wr_i16(w, r->api_keys[i].min_version);
        weir_wr_i16(w, r->api_keys[i].max_version);
        if (flexible) {
            weir_wr_tags_empty(w);
        }
    }
    if (version >= 1) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    if (flexible) {
        weir_wr_tags_empty(w);
    }
    return weir_wr_status(w);
}

int weir_encode_api_versions_unsupported(weir_wr *w, int32_t correlation_id)
{
    const weir_api_range *self = weir_api_find(WEIR_API_API_VERSIONS);
    weir_api_range entry = {WEIR_API_API_VERSIONS, 0, self->max_version, self->flex_from};
    weir_api_versions_response r = {
        .error_code = WEIR_KERR_UNSUPPORTED_VERSION,
        .api_key_count = 1,
        .api_keys = &entry,
    };
    weir_wr_i32(w, correlation_id); /* response header v0, always */
    return weir_encode_api_versions_response(w, 0, &r);
}

int weir_decode_api_versions_response(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_api_versions_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_API_VERSIONS, version, "ApiVersionsResponse");
    if (err != 0) {
        return err;
    }
    out->error_code = weir_rd_i16(rd, "ErrorCode");
    /* A broker that does not know the requested version answers with a v0
     * body (KIP-511); Kafka's clients parse an UNSUPPORTED_VERSION reply so. */
    if (out->error_code == WEIR_KERR_UNSUPPORTED_VERSION) {
        version = 0;
    }
    bool flexible = version >= 3;
    int32_t n = flexible ? weir_rd_compact_array_count(rd, "ApiKeys", false, 7)
                         : weir_rd_array_count(rd, "ApiKeys", false, 6);
    weir_api_range *keys = weir_rd_alloc(rd, a, "ApiKeys", n, sizeof *keys);
    RD_EACH(rd, "ApiKeys", i, n)
    {
        keys[i].api_key = weir_rd_i16(rd, "ApiKey");
        keys[i].min_version = weir_rd_i16(rd, "MinVersion");
        keys[i].max_version = weir_rd_i16(rd, "MaxVersion");
        keys[i].flex_from = -1;
        if (flexible) {
            weir_rd_skip_tags(rd, "TaggedFields");
        }
    }
    out->api_keys = keys;
    out->api_key_count = weir_rd_ok(rd) ? n : 0;
    if (version >= 1) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    if (flexible) {
        weir_rd_skip_tags(rd, "TaggedFields");
    }
    return weir_rd_status(rd);
}

/* ---- Metadata ---- */

int weir_decode_metadata_request(weir_rd *rd, int16_t version, weir_arena *a,
                                 weir_metadata_request *out)
{
    memset(out, 0, sizeof *out);
    out->allow_auto_topic_creation = true;
    int err = rd_begin(rd, WEIR_API_METADATA, version, "Metadata");
    if (err != 0) {
        return err;
    }
    int32_t n = weir_rd_array_count(rd, "Topics", version >= 1, MIN_STR);
    weir_str *topics = weir_rd_alloc(rd, a, "Topics", n, sizeof *topics);
    RD_EACH(rd, "Topics", i, n)
    {
        topics[i] = weir_rd_string(rd, "Name");
    }
    out->topics = topics;
    out->topic_count = n;
    out->all_topics = version == 0 ? n == 0 : n == -1;
    if (version >= 4) {
        out->allow_auto_topic_creation = weir_rd_bool(rd, "AllowAutoTopicCreation");
    }
    return weir_rd_status(rd);
}

int weir_encode_metadata_request(weir_wr *w, int16_t version, const weir_metadata_request *r)
{
    if (!weir_api_supported(WEIR_API_METADATA, version)) {
        return WEIR_E_INVAL;
    }
    int32_t n = wr_array(w, r->topic_count, r->topics, version >= 1);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->topics[i]);
    }
    if (version >= 4) {
        weir_wr_bool(w, r->allow_auto_topic_creation);
    }
    return weir_wr_status(w);
}

int weir_encode_metadata_response(weir_wr *w, int16_t version, const weir_metadata_response *r)
{
    if (!weir_api_supported(WEIR_API_METADATA, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 3) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nb = wr_array(w, r->broker_count, r->brokers, false);
    for (int32_t i = 0; i < nb; i++) {
        const weir_metadata_broker *b = &r->brokers[i];
        weir_wr_i32(w, b->node_id);
        weir_wr_string(w, b->host);
        weir_wr_i32(w, b->port);
        if (version >= 1) {
            weir_wr_nullable_string(w, b->rack);
        }
    }
    if (version >= 2) {
        weir_wr_nullable_string(w, r->cluster_id);
    }
    if (version >= 1) {
        weir_wr_i32(w, r->controller_id);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_metadata_topic *t = &r->topics[i];
        weir_wr_i16(w, t->error_code);
        weir_wr_string(w, t->name);
        if (version >= 1) {
            weir_wr_bool(w, t->is_internal);
        }
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_metadata_partition *p = &t->partitions[j];
            weir_wr_i16(w, p->error_code);
            weir_wr_i32(w, p->partition_index);
            weir_wr_i32(w, p->leader_id);
            wr_i32_array(w, p->replica_count, p->replica_nodes);
            wr_i32_array(w, p->isr_count, p->isr_nodes);
        }
    }
    return weir_wr_status(w);
}

static void rd_metadata_partitions(weir_rd *rd, weir_arena *a, weir_metadata_topic *t)
{
    int32_t n = weir_rd_array_count(rd, "Partitions", false, 2 + 4 + 4 + 4 + 4);
    weir_metadata_partition *ps = weir_rd_alloc(rd, a, "Partitions", n, sizeof *ps);
    RD_EACH(rd, "Partitions", i, n)
    {
        weir_metadata_partition *p = &ps[i];
        p->error_code = weir_rd_i16(rd, "ErrorCode");
        p->partition_index = weir_rd_i32(rd, "PartitionIndex");
        p->leader_id = weir_rd_i32(rd, "LeaderId");
        p->replica_nodes = rd_i32_array(rd, a, "ReplicaNodes", &p->replica_count);
        p->isr_nodes = rd_i32_array(rd, a, "IsrNodes", &p->isr_count);
    }
    t->partitions = ps;
    t->partition_count = weir_rd_ok(rd) ? n : 0;
}

int weir_decode_metadata_response(weir_rd *rd, int16_t version, weir_arena *a,
                                  weir_metadata_response *out)
{
    memset(out, 0, sizeof *out);
    out->cluster_id = WEIR_STR_NULL;
    out->controller_id = -1;
    int err = rd_begin(rd, WEIR_API_METADATA, version, "MetadataResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 3) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    int32_t nb = weir_rd_array_count(rd, "Brokers", false, 4 + MIN_STR + 4);
    weir_metadata_broker *bs = weir_rd_alloc(rd, a, "Brokers", nb, sizeof *bs);
    RD_EACH(rd, "Brokers", i, nb)
    {
        bs[i].node_id = weir_rd_i32(rd, "NodeId");
        bs[i].host = weir_rd_string(rd, "Host");
        bs[i].port = weir_rd_i32(rd, "Port");
        bs[i].rack = version >= 1 ? weir_rd_nullable_string(rd, "Rack") : WEIR_STR_NULL;
    }
    out->brokers = bs;
    out->broker_count = weir_rd_ok(rd) ? nb : 0;
    if (version >= 2) {
        out->cluster_id = weir_rd_nullable_string(rd, "ClusterId");
    }
    if (version >= 1) {
        out->controller_id = weir_rd_i32(rd, "ControllerId");
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, 2 + MIN_STR + MIN_ARRAY);
    weir_metadata_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].error_code = weir_rd_i16(rd, "ErrorCode");
        ts[i].name = weir_rd_string(rd, "Name");
        if (version >= 1) {
            ts[i].is_internal = weir_rd_bool(rd, "IsInternal");
        }
        rd_metadata_partitions(rd, a, &ts[i]);
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- Produce ---- */

int weir_decode_produce_request(weir_rd *rd, int16_t version, weir_arena *a,
                                weir_produce_request *out)
{
    memset(out, 0, sizeof *out);
    out->transactional_id = WEIR_STR_NULL;
    int err = rd_begin(rd, WEIR_API_PRODUCE, version, "Produce");
    if (err != 0) {
        return err;
    }
    out->transactional_id = weir_rd_nullable_string(rd, "TransactionalId");
    out->acks = weir_rd_i16(rd, "Acks");
    out->timeout_ms = weir_rd_i32(rd, "TimeoutMs");
    int32_t nt = weir_rd_array_count(rd, "TopicData", false, MIN_STR + MIN_ARRAY);
    weir_produce_topic *ts = weir_rd_alloc(rd, a, "TopicData", nt, sizeof *ts);
    RD_EACH(rd, "TopicData", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "PartitionData", false, 4 + 4);
        weir_produce_partition *ps = weir_rd_alloc(rd, a, "PartitionData", np, sizeof *ps);
        RD_EACH(rd, "PartitionData", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "Index");
            ps[j].records = weir_rd_nullable_bytes(rd, "Records");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_produce_request(weir_wr *w, int16_t version, const weir_produce_request *r)
{
    if (!weir_api_supported(WEIR_API_PRODUCE, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_nullable_string(w, r->transactional_id);
    weir_wr_i16(w, r->acks);
    weir_wr_i32(w, r->timeout_ms);
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_produce_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->partitions[j].partition_index);
            weir_wr_nullable_bytes(w, t->partitions[j].records);
        }
    }
    return weir_wr_status(w);
}

int weir_encode_produce_response(weir_wr *w, int16_t version, const weir_produce_response *r)
{
    if (!weir_api_supported(WEIR_API_PRODUCE, version)) {
        return WEIR_E_INVAL;
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_produce_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_produce_partition_response *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i16(w, p->error_code);
            weir_wr_i64(w, p->base_offset);
            weir_wr_i64(w, p->log_append_time_ms); /* v2+ */
            if (version >= 5) {
                weir_wr_i64(w, p->log_start_offset);
            }
        }
    }
    weir_wr_i32(w, r->throttle_time_ms); /* v1+, last */
    return weir_wr_status(w);
}

int weir_decode_produce_response(weir_rd *rd, int16_t version, weir_arena *a,
                                 weir_produce_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_PRODUCE, version, "ProduceResponse");
    if (err != 0) {
        return err;
    }
    int32_t nt = weir_rd_array_count(rd, "Responses", false, MIN_STR + MIN_ARRAY);
    weir_produce_topic_response *ts = weir_rd_alloc(rd, a, "Responses", nt, sizeof *ts);
    RD_EACH(rd, "Responses", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "PartitionResponses", false,
                                         version >= 5 ? 4 + 2 + 24 : 4 + 2 + 16);
        weir_produce_partition_response *ps =
            weir_rd_alloc(rd, a, "PartitionResponses", np, sizeof *ps);
        RD_EACH(rd, "PartitionResponses", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "Index");
            ps[j].error_code = weir_rd_i16(rd, "ErrorCode");
            ps[j].base_offset = weir_rd_i64(rd, "BaseOffset");
            ps[j].log_append_time_ms = weir_rd_i64(rd, "LogAppendTimeMs");
            ps[j].log_start_offset = version >= 5 ? weir_rd_i64(rd, "LogStartOffset") : -1;
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    return weir_rd_status(rd);
}

/* ---- Fetch ---- */

static void rd_fetch_topics(weir_rd *rd, int16_t version, weir_arena *a, weir_fetch_request *out)
{
    size_t part_min = 4 + 8 + 4 + (version >= 9 ? 4 : 0) + (version >= 5 ? 8 : 0);
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_fetch_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Topic");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_fetch_partition *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            weir_fetch_partition *p = &ps[j];
            p->partition_index = weir_rd_i32(rd, "Partition");
            p->current_leader_epoch = version >= 9 ? weir_rd_i32(rd, "CurrentLeaderEpoch") : -1;
            p->fetch_offset = weir_rd_i64(rd, "FetchOffset");
            p->log_start_offset = version >= 5 ? weir_rd_i64(rd, "LogStartOffset") : -1;
            p->partition_max_bytes = weir_rd_i32(rd, "PartitionMaxBytes");
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
}

static void rd_fetch_forgotten(weir_rd *rd, weir_arena *a, weir_fetch_request *out)
{
    int32_t n = weir_rd_array_count(rd, "ForgottenTopicsData", false, MIN_STR + MIN_ARRAY);
    weir_fetch_forgotten_topic *fs = weir_rd_alloc(rd, a, "ForgottenTopicsData", n, sizeof *fs);
    RD_EACH(rd, "ForgottenTopicsData", i, n)
    {
        fs[i].name = weir_rd_string(rd, "Topic");
        fs[i].partitions = rd_i32_array(rd, a, "Partitions", &fs[i].partition_count);
    }
    out->forgotten = fs;
    out->forgotten_count = weir_rd_ok(rd) ? n : 0;
}

int weir_decode_fetch_request(weir_rd *rd, int16_t version, weir_arena *a, weir_fetch_request *out)
{
    memset(out, 0, sizeof *out);
    out->session_epoch = -1;
    out->rack_id = str_empty;
    int err = rd_begin(rd, WEIR_API_FETCH, version, "Fetch");
    if (err != 0) {
        return err;
    }
    out->replica_id = weir_rd_i32(rd, "ReplicaId");
    out->max_wait_ms = weir_rd_i32(rd, "MaxWaitMs");
    out->min_bytes = weir_rd_i32(rd, "MinBytes");
    out->max_bytes = weir_rd_i32(rd, "MaxBytes");
    out->isolation_level = weir_rd_i8(rd, "IsolationLevel");
    if (version >= 7) {
        out->session_id = weir_rd_i32(rd, "SessionId");
        out->session_epoch = weir_rd_i32(rd, "SessionEpoch");
    }
    rd_fetch_topics(rd, version, a, out);
    if (version >= 7) {
        rd_fetch_forgotten(rd, a, out);
    }
    if (version >= 11) {
        out->rack_id = weir_rd_string(rd, "RackId");
    }
    return weir_rd_status(rd);
}

int weir_encode_fetch_request(weir_wr *w, int16_t version, const weir_fetch_request *r)
{
    if (!weir_api_supported(WEIR_API_FETCH, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->replica_id);
    weir_wr_i32(w, r->max_wait_ms);
    weir_wr_i32(w, r->min_bytes);
    weir_wr_i32(w, r->max_bytes);
    weir_wr_i8(w, r->isolation_level);
    if (version >= 7) {
        weir_wr_i32(w, r->session_id);
        weir_wr_i32(w, r->session_epoch);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_fetch_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_fetch_partition *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            if (version >= 9) {
                weir_wr_i32(w, p->current_leader_epoch);
            }
            weir_wr_i64(w, p->fetch_offset);
            if (version >= 5) {
                weir_wr_i64(w, p->log_start_offset);
            }
            weir_wr_i32(w, p->partition_max_bytes);
        }
    }
    if (version >= 7) {
        int32_t nf = wr_array(w, r->forgotten_count, r->forgotten, false);
        for (int32_t i = 0; i < nf; i++) {
            weir_wr_string(w, r->forgotten[i].name);
            wr_i32_array(w, r->forgotten[i].partition_count, r->forgotten[i].partitions);
        }
    }
    if (version >= 11) {
        weir_wr_string(w, r->rack_id);
    }
    return weir_wr_status(w);
}

static void wr_fetch_partition(weir_wr *w, int16_t version, const weir_fetch_partition_response *p)
{
    weir_wr_i32(w, p->partition_index);
    weir_wr_i16(w, p->error_code);
    weir_wr_i64(w, p->high_watermark);
    weir_wr_i64(w, p->last_stable_offset); /* v4+ */
    if (version >= 5) {
        weir_wr_i64(w, p->log_start_offset);
    }
    int32_t na = wr_array(w, p->aborted_count, p->aborted, true); /* v4+ */
    for (int32_t k = 0; k < na; k++) {
        weir_wr_i64(w, p->aborted[k].producer_id);
        weir_wr_i64(w, p->aborted[k].first_offset);
    }
    if (version >= 11) {
        weir_wr_i32(w, p->preferred_read_replica);
    }
    /* Never -1: librdkafka treats a negative size as a parse failure. */
    if (p->records.len <= 0) {
        weir_wr_i32(w, 0);
    } else {
        weir_wr_bytes(w, p->records);
    }
}

int weir_encode_fetch_response(weir_wr *w, int16_t version, const weir_fetch_response *r)
{
    if (!weir_api_supported(WEIR_API_FETCH, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->throttle_time_ms);
    if (version >= 7) {
        weir_wr_i16(w, r->error_code);
        weir_wr_i32(w, r->session_id);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_fetch_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            wr_fetch_partition(w, version, &t->partitions[j]);
        }
    }
    return weir_wr_status(w);
}

static void rd_fetch_partition(weir_rd *rd, int16_t version, weir_arena *a,
                               weir_fetch_partition_response *p)
{
    p->partition_index = weir_rd_i32(rd, "PartitionIndex");
    p->error_code = weir_rd_i16(rd, "ErrorCode");
    p->high_watermark = weir_rd_i64(rd, "HighWatermark");
    p->last_stable_offset = weir_rd_i64(rd, "LastStableOffset");
    p->log_start_offset = version >= 5 ? weir_rd_i64(rd, "LogStartOffset") : -1;
    int32_t na = weir_rd_array_count(rd, "AbortedTransactions", true, 16);
    weir_fetch_aborted_txn *ab = weir_rd_alloc(rd, a, "AbortedTransactions", na, sizeof *ab);
    RD_EACH(rd, "AbortedTransactions", k, na)
    {
        ab[k].producer_id = weir_rd_i64(rd, "ProducerId");
        ab[k].first_offset = weir_rd_i64(rd, "FirstOffset");
    }
    p->aborted = na < 0 ? NULL : ab;
    p->aborted_count = weir_rd_ok(rd) ? na : 0;
    p->preferred_read_replica = version >= 11 ? weir_rd_i32(rd, "PreferredReadReplica") : -1;
    p->records = weir_rd_nullable_bytes(rd, "Records");
}

int weir_decode_fetch_response(weir_rd *rd, int16_t version, weir_arena *a,
                               weir_fetch_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_FETCH, version, "FetchResponse");
    if (err != 0) {
        return err;
    }
    size_t part_min = 4 + 2 + 8 + 8 + 4 + 4 + (version >= 5 ? 8 : 0) + (version >= 11 ? 4 : 0);
    out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    if (version >= 7) {
        out->error_code = weir_rd_i16(rd, "ErrorCode");
        out->session_id = weir_rd_i32(rd, "SessionId");
    }
    int32_t nt = weir_rd_array_count(rd, "Responses", false, MIN_STR + MIN_ARRAY);
    weir_fetch_topic_response *ts = weir_rd_alloc(rd, a, "Responses", nt, sizeof *ts);
    RD_EACH(rd, "Responses", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Topic");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, part_min);
        weir_fetch_partition_response *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            rd_fetch_partition(rd, version, a, &ps[j]);
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- ListOffsets ---- */

int weir_decode_list_offsets_request(weir_rd *rd, int16_t version, weir_arena *a,
                                     weir_list_offsets_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LIST_OFFSETS, version, "ListOffsets");
    if (err != 0) {
        return err;
    }
    out->replica_id = weir_rd_i32(rd, "ReplicaId");
    if (version >= 2) {
        out->isolation_level = weir_rd_i8(rd, "IsolationLevel");
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_list_offsets_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, version == 0 ? 16 : 12);
        weir_list_offsets_partition *ps = weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            ps[j].partition_index = weir_rd_i32(rd, "PartitionIndex");
            ps[j].timestamp = weir_rd_i64(rd, "Timestamp");
            ps[j].max_num_offsets = version == 0 ? weir_rd_i32(rd, "MaxNumOffsets") : 1;
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

int weir_encode_list_offsets_request(weir_wr *w, int16_t version,
                                     const weir_list_offsets_request *r)
{
    if (!weir_api_supported(WEIR_API_LIST_OFFSETS, version)) {
        return WEIR_E_INVAL;
    }
    weir_wr_i32(w, r->replica_id);
    if (version >= 2) {
        weir_wr_i8(w, r->isolation_level);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_list_offsets_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            weir_wr_i32(w, t->partitions[j].partition_index);
            weir_wr_i64(w, t->partitions[j].timestamp);
            if (version == 0) {
                weir_wr_i32(w, t->partitions[j].max_num_offsets);
            }
        }
    }
    return weir_wr_status(w);
}

int weir_encode_list_offsets_response(weir_wr *w, int16_t version,
                                      const weir_list_offsets_response *r)
{
    if (!weir_api_supported(WEIR_API_LIST_OFFSETS, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 2) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_list_offsets_topic_response *t = &r->topics[i];
        weir_wr_string(w, t->name);
        int32_t np = wr_array(w, t->partition_count, t->partitions, false);
        for (int32_t j = 0; j < np; j++) {
            const weir_list_offsets_partition_response *p = &t->partitions[j];
            weir_wr_i32(w, p->partition_index);
            weir_wr_i16(w, p->error_code);
            if (version == 0) {
                int32_t no = wr_array(w, p->old_style_offset_count, p->old_style_offsets, false);
                for (int32_t k = 0; k < no; k++) {
                    weir_wr_i64(w, p->old_style_offsets[k]);
                }
            } else {
                weir_wr_i64(w, p->timestamp);
                weir_wr_i64(w, p->offset);
            }
        }
    }
    return weir_wr_status(w);
}

int weir_decode_list_offsets_response(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_list_offsets_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_LIST_OFFSETS, version, "ListOffsetsResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 2) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + MIN_ARRAY);
    weir_list_offsets_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        int32_t np = weir_rd_array_count(rd, "Partitions", false, version == 0 ? 10 : 22);
        weir_list_offsets_partition_response *ps =
            weir_rd_alloc(rd, a, "Partitions", np, sizeof *ps);
        RD_EACH(rd, "Partitions", j, np)
        {
            weir_list_offsets_partition_response *p = &ps[j];
            p->partition_index = weir_rd_i32(rd, "PartitionIndex");
            p->error_code = weir_rd_i16(rd, "ErrorCode");
            p->timestamp = -1;
            p->offset = -1;
            if (version == 0) {
                int32_t no = weir_rd_array_count(rd, "OldStyleOffsets", false, 8);
                int64_t *offs = weir_rd_alloc(rd, a, "OldStyleOffsets", no, sizeof *offs);
                for (int32_t k = 0; k < no && weir_rd_ok(rd); k++) {
                    offs[k] = weir_rd_i64(rd, "OldStyleOffsets");
                }
                p->old_style_offsets = offs;
                p->old_style_offset_count = weir_rd_ok(rd) ? no : 0;
            } else {
                p->timestamp = weir_rd_i64(rd, "Timestamp");
                p->offset = weir_rd_i64(rd, "Offset");
            }
        }
        ts[i].partitions = ps;
        ts[i].partition_count = weir_rd_ok(rd) ? np : 0;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- CreateTopics ---- */

static void rd_create_topic(weir_rd *rd, weir_arena *a, weir_create_topics_topic *t)
{
    t->name = weir_rd_string(rd, "Name");
    t->num_partitions = weir_rd_i32(rd, "NumPartitions");
    t->replication_factor = weir_rd_i16(rd, "ReplicationFactor");
    int32_t na = weir_rd_array_count(rd, "Assignments", false, 4 + MIN_ARRAY);
    weir_create_topics_assignment *as = weir_rd_alloc(rd, a, "Assignments", na, sizeof *as);
    RD_EACH(rd, "Assignments", j, na)
    {
        as[j].partition_index = weir_rd_i32(rd, "PartitionIndex");
        as[j].broker_ids = rd_i32_array(rd, a, "BrokerIds", &as[j].broker_id_count);
    }
    t->assignments = as;
    t->assignment_count = weir_rd_ok(rd) ? na : 0;
    int32_t nc = weir_rd_array_count(rd, "Configs", false, MIN_STR + 2);
    weir_create_topics_config *cs = weir_rd_alloc(rd, a, "Configs", nc, sizeof *cs);
    RD_EACH(rd, "Configs", j, nc)
    {
        cs[j].name = weir_rd_string(rd, "Name");
        cs[j].value = weir_rd_nullable_string(rd, "Value");
    }
    t->configs = cs;
    t->config_count = weir_rd_ok(rd) ? nc : 0;
}

int weir_decode_create_topics_request(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_create_topics_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_CREATE_TOPICS, version, "CreateTopics");
    if (err != 0) {
        return err;
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + 4 + 2 + 2 * MIN_ARRAY);
    weir_create_topics_topic *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        rd_create_topic(rd, a, &ts[i]);
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    out->timeout_ms = weir_rd_i32(rd, "TimeoutMs");
    if (version >= 1) {
        out->validate_only = weir_rd_bool(rd, "ValidateOnly");
    }
    return weir_rd_status(rd);
}

int weir_encode_create_topics_request(weir_wr *w, int16_t version,
                                      const weir_create_topics_request *r)
{
    if (!weir_api_supported(WEIR_API_CREATE_TOPICS, version)) {
        return WEIR_E_INVAL;
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        const weir_create_topics_topic *t = &r->topics[i];
        weir_wr_string(w, t->name);
        weir_wr_i32(w, t->num_partitions);
        weir_wr_i16(w, t->replication_factor);
        int32_t na = wr_array(w, t->assignment_count, t->assignments, false);
        for (int32_t j = 0; j < na; j++) {
            weir_wr_i32(w, t->assignments[j].partition_index);
            wr_i32_array(w, t->assignments[j].broker_id_count, t->assignments[j].broker_ids);
        }
        int32_t nc = wr_array(w, t->config_count, t->configs, false);
        for (int32_t j = 0; j < nc; j++) {
            weir_wr_string(w, t->configs[j].name);
            weir_wr_nullable_string(w, t->configs[j].value);
        }
    }
    weir_wr_i32(w, r->timeout_ms);
    if (version >= 1) {
        weir_wr_bool(w, r->validate_only);
    }
    return weir_wr_status(w);
}

int weir_encode_create_topics_response(weir_wr *w, int16_t version,
                                       const weir_create_topics_response *r)
{
    if (!weir_api_supported(WEIR_API_CREATE_TOPICS, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 2) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t nt = wr_array(w, r->topic_count, r->topics, false);
    for (int32_t i = 0; i < nt; i++) {
        weir_wr_string(w, r->topics[i].name);
        weir_wr_i16(w, r->topics[i].error_code);
        if (version >= 1) {
            weir_wr_nullable_string(w, r->topics[i].error_message);
        }
    }
    return weir_wr_status(w);
}

int weir_decode_create_topics_response(weir_rd *rd, int16_t version, weir_arena *a,
                                       weir_create_topics_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_CREATE_TOPICS, version, "CreateTopicsResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 2) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    int32_t nt = weir_rd_array_count(rd, "Topics", false, MIN_STR + 2 + (version >= 1 ? 2 : 0));
    weir_create_topics_topic_response *ts = weir_rd_alloc(rd, a, "Topics", nt, sizeof *ts);
    RD_EACH(rd, "Topics", i, nt)
    {
        ts[i].name = weir_rd_string(rd, "Name");
        ts[i].error_code = weir_rd_i16(rd, "ErrorCode");
        ts[i].error_message =
            version >= 1 ? weir_rd_nullable_string(rd, "ErrorMessage") : WEIR_STR_NULL;
    }
    out->topics = ts;
    out->topic_count = weir_rd_ok(rd) ? nt : 0;
    return weir_rd_status(rd);
}

/* ---- DeleteTopics ---- */

int weir_decode_delete_topics_request(weir_rd *rd, int16_t version, weir_arena *a,
                                      weir_delete_topics_request *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_DELETE_TOPICS, version, "DeleteTopics");
    if (err != 0) {
        return err;
    }
    int32_t n = weir_rd_array_count(rd, "TopicNames", false, MIN_STR);
    weir_str *names = weir_rd_alloc(rd, a, "TopicNames", n, sizeof *names);
    RD_EACH(rd, "TopicNames", i, n)
    {
        names[i] = weir_rd_string(rd, NULL);
    }
    out->topic_names = names;
    out->topic_name_count = weir_rd_ok(rd) ? n : 0;
    out->timeout_ms = weir_rd_i32(rd, "TimeoutMs");
    return weir_rd_status(rd);
}

int weir_encode_delete_topics_request(weir_wr *w, int16_t version,
                                      const weir_delete_topics_request *r)
{
    if (!weir_api_supported(WEIR_API_DELETE_TOPICS, version)) {
        return WEIR_E_INVAL;
    }
    int32_t n = wr_array(w, r->topic_name_count, r->topic_names, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->topic_names[i]);
    }
    weir_wr_i32(w, r->timeout_ms);
    return weir_wr_status(w);
}

int weir_encode_delete_topics_response(weir_wr *w, int16_t version,
                                       const weir_delete_topics_response *r)
{
    if (!weir_api_supported(WEIR_API_DELETE_TOPICS, version)) {
        return WEIR_E_INVAL;
    }
    if (version >= 1) {
        weir_wr_i32(w, r->throttle_time_ms);
    }
    int32_t n = wr_array(w, r->response_count, r->responses, false);
    for (int32_t i = 0; i < n; i++) {
        weir_wr_string(w, r->responses[i].name);
        weir_wr_i16(w, r->responses[i].error_code);
    }
    return weir_wr_status(w);
}

int weir_decode_delete_topics_response(weir_rd *rd, int16_t version, weir_arena *a,
                                       weir_delete_topics_response *out)
{
    memset(out, 0, sizeof *out);
    int err = rd_begin(rd, WEIR_API_DELETE_TOPICS, version, "DeleteTopicsResponse");
    if (err != 0) {
        return err;
    }
    if (version >= 1) {
        out->throttle_time_ms = weir_rd_i32(rd, "ThrottleTimeMs");
    }
    int32_t n = weir_rd_array_count(rd, "Responses", false, MIN_STR + 2);
    weir_delete_topics_topic_response *rs = weir_rd_alloc(rd, a, "Responses", n, sizeof *rs);
    RD_EACH(rd, "Responses", i, n)
    {
        rs[i].name = weir_rd_string(rd, "Name");
        rs[i].error_code = weir_rd_i16(rd, "ErrorCode");
    }
    out->responses = rs;
    out->response_count = weir_rd_ok(rd) ? n : 0;
    return weir_rd_status(rd);
}

/* ---- any request ---- */

int weir_decode_request(weir_rd *rd, weir_arena *a, weir_request *out)
{
    memset(&out->body, 0, sizeof out->body);
    int err = weir_decode_request_header(rd, &out->header);
    if (err != 0) {
        return err;
    }
    int16_t v = out->header.api_version;
    if (!weir_api_supported(out->header.api_key, v)) {
        return WEIR_E_UNSUPPORTED;
    }
    switch (out->header.api_key) {
    case WEIR_API_API_VERSIONS:
        return weir_decode_api_versions_request(rd, v, a, &out->body.api_versions);
    case WEIR_API_METADATA:
        return weir_decode_metadata_request(rd, v, a, &out->body.metadata);
    case WEIR_API_PRODUCE:
        return weir_decode_produce_request(rd, v, a, &out->body.produce);
    case WEIR_API_FETCH:
        return weir_decode_fetch_request(rd, v, a, &out->body.fetch);
    case WEIR_API_LIST_OFFSETS:
        return weir_decode_list_offsets_request(rd, v, a, &out->body.list_offsets);
    case WEIR_API_CREATE_TOPICS:
        return weir_decode_create_topics_request(rd, v, a, &out->body.create_topics);
    case WEIR_API_DELETE_TOPICS:
        return weir_decode_delete_topics_request(rd, v, a, &out->body.delete_topics);
    case WEIR_API_LEADER_AND_ISR:
        return weir_decode_leader_and_isr_request(rd, v, a, &out->body.leader_and_isr);
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return weir_decode_offset_for_leader_epoch_request(rd, v, a,
                                                           &out->body.offset_for_leader_epoch);
    case WEIR_API_ALTER_PARTITION:
        return weir_decode_alter_partition_request(rd, v, a, &out->body.alter_partition);
    case WEIR_API_BROKER_REGISTRATION:
        return weir_decode_broker_registration_request(rd, v, a, &out->body.broker_registration);
    case WEIR_API_BROKER_HEARTBEAT:
        return weir_decode_broker_heartbeat_request(rd, v, a, &out->body.broker_heartbeat);
    case WEIR_API_OFFSET_COMMIT:
        return weir_decode_offset_commit_request(rd, v, a, &out->body.offset_commit);
    case WEIR_API_OFFSET_FETCH:
        return weir_decode_offset_fetch_request(rd, v, a, &out->body.offset_fetch);
    case WEIR_API_FIND_COORDINATOR:
        return weir_decode_find_coordinator_request(rd, v, a, &out->body.find_coordinator);
    case WEIR_API_JOIN_GROUP:
        return weir_decode_join_group_request(rd, v, a, &out->body.join_group);
    case WEIR_API_HEARTBEAT:
        return weir_decode_heartbeat_request(rd, v, a, &out->body.heartbeat);
    case WEIR_API_LEAVE_GROUP:
        return weir_decode_leave_group_request(rd, v, a, &out->body.leave_group);
    case WEIR_API_SYNC_GROUP:
        return weir_decode_sync_group_request(rd, v, a, &out->body.sync_group);
    case WEIR_API_DESCRIBE_GROUPS:
        return weir_decode_describe_groups_request(rd, v, a, &out->body.describe_groups);
    case WEIR_API_LIST_GROUPS:
        return weir_decode_list_groups_request(rd, v, a, &out->body.list_groups);
    case WEIR_API_INIT_PRODUCER_ID:
        return weir_decode_init_producer_id_request(rd, v, a, &out->body.init_producer_id);
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return weir_decode_add_partitions_to_txn_request(rd, v, a,
                                                         &out->body.add_partitions_to_txn);
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return weir_decode_add_offsets_to_txn_request(rd, v, a, &out->body.add_offsets_to_txn);
    case WEIR_API_END_TXN:
        return weir_decode_end_txn_request(rd, v, a, &out->body.end_txn);
    case WEIR_API_WRITE_TXN_MARKERS:
        return weir_decode_write_txn_markers_request(rd, v, a, &out->body.write_txn_markers);
    case WEIR_API_TXN_OFFSET_COMMIT:
        return weir_decode_txn_offset_commit_request(rd, v, a, &out->body.txn_offset_commit);
    default:
        return WEIR_E_UNSUPPORTED; /* in the table but without a codec: cannot happen */
    }
}

int weir_encode_request(weir_wr *w, const weir_request *r)
{
    int16_t v = r->header.api_version;
    if (!weir_api_supported(r->header.api_key, v)) {
        return WEIR_E_INVAL;
    }
    int err = weir_encode_request_header(w, &r->header);
    if (err != 0) {
        return err;
    }
    switch (r->header.api_key) {
    case WEIR_API_API_VERSIONS:
        return weir_encode_api_versions_request(w, v, &r->body.api_versions);
    case WEIR_API_METADATA:
        return weir_encode_metadata_request(w, v, &r->body.metadata);
    case WEIR_API_PRODUCE:
        return weir_encode_produce_request(w, v, &r->body.produce);
    case WEIR_API_FETCH:
        return weir_encode_fetch_request(w, v, &r->body.fetch);
    case WEIR_API_LIST_OFFSETS:
        return weir_encode_list_offsets_request(w, v, &r->body.list_offsets);
    case WEIR_API_CREATE_TOPICS:
        return weir_encode_create_topics_request(w, v, &r->body.create_topics);
    case WEIR_API_DELETE_TOPICS:
        return weir_encode_delete_topics_request(w, v, &r->body.delete_topics);
    case WEIR_API_LEADER_AND_ISR:
        return weir_encode_leader_and_isr_request(w, v, &r->body.leader_and_isr);
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return weir_encode_offset_for_leader_epoch_request(w, v, &r->body.offset_for_leader_epoch);
    case WEIR_API_ALTER_PARTITION:
        return weir_encode_alter_partition_request(w, v, &r->body.alter_partition);
    case WEIR_API_BROKER_REGISTRATION:
        return weir_encode_broker_registration_request(w, v, &r->body.broker_registration);
    case WEIR_API_BROKER_HEARTBEAT:
        return weir_encode_broker_heartbeat_request(w, v, &r->body.broker_heartbeat);
    case WEIR_API_OFFSET_COMMIT:
        return weir_encode_offset_commit_request(w, v, &r->body.offset_commit);
    case WEIR_API_OFFSET_FETCH:
        return weir_encode_offset_fetch_request(w, v, &r->body.offset_fetch);
    case WEIR_API_FIND_COORDINATOR:
        return weir_encode_find_coordinator_request(w, v, &r->body.find_coordinator);
    case WEIR_API_JOIN_GROUP:
        return weir_encode_join_group_request(w, v, &r->body.join_group);
    case WEIR_API_HEARTBEAT:
        return weir_encode_heartbeat_request(w, v, &r->body.heartbeat);
    case WEIR_API_LEAVE_GROUP:
        return weir_encode_leave_group_request(w, v, &r->body.leave_group);
    case WEIR_API_SYNC_GROUP:
        return weir_encode_sync_group_request(w, v, &r->body.sync_group);
    case WEIR_API_DESCRIBE_GROUPS:
        return weir_encode_describe_groups_request(w, v, &r->body.describe_groups);
    case WEIR_API_LIST_GROUPS:
        return weir_encode_list_groups_request(w, v, &r->body.list_groups);
    case WEIR_API_INIT_PRODUCER_ID:
        return weir_encode_init_producer_id_request(w, v, &r->body.init_producer_id);
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return weir_encode_add_partitions_to_txn_request(w, v, &r->body.add_partitions_to_txn);
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return weir_encode_add_offsets_to_txn_request(w, v, &r->body.add_offsets_to_txn);
    case WEIR_API_END_TXN:
        return weir_encode_end_txn_request(w, v, &r->body.end_txn);
    case WEIR_API_WRITE_TXN_MARKERS:
        return weir_encode_write_txn_markers_request(w, v, &r->body.write_txn_markers);
    case WEIR_API_TXN_OFFSET_COMMIT:
        return weir_encode_txn_offset_commit_request(w, v, &r->body.txn_offset_commit);
    default:
        return WEIR_E_INVAL;
    }
}
