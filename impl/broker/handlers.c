/* Request handlers: ApiVersions, Metadata, Produce, ListOffsets,
 * CreateTopics, DeleteTopics. Each writes its response body into b->out. */
#include "broker/broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/coord.h"
#include "core/assert.h"

int bk_handle_api_versions(bk_conn *c, const weir_request *r)
{
    weir_api_versions_response resp;
    weir_api_versions_response_supported(&resp);
    if (c->b->cfg.txn_version < 2) {
        /* transaction.version 1: no EndTxn v5, so clients keep one producer
         * epoch for all their transactions (the pre-KIP-890 protocol) */
        weir_api_range *keys =
            weir_arena_alloc_array(&c->b->arena, (size_t)resp.api_key_count, sizeof *keys);
        if (keys == NULL) {
            return WEIR_E_NOMEM;
        }
        memcpy(keys, resp.api_keys, (size_t)resp.api_key_count * sizeof *keys);
        for (int32_t i = 0; i < resp.api_key_count; i++) {
            if (keys[i].api_key == WEIR_API_END_TXN && keys[i].max_version > 4) {
                keys[i].max_version = 4;
            }
        }
        resp.api_keys = keys;
    }
    return weir_encode_api_versions_response(&c->b->out, r->header.api_version, &resp);
}

/* ---- Metadata ---- */

static void fill_partition(weir_broker *b, const weir_partition *p, weir_metadata_partition *out)
{
    (void)b;
    /* No leader (offline, or not told yet): clients retry later. */
    out->error_code = p->leader_id < 0 ? WEIR_KERR_LEADER_NOT_AVAILABLE : WEIR_KERR_NONE;
    out->partition_index = p->index;
    out->leader_id = p->leader_id;
    out->replica_count = p->n_replicas;
    out->replica_nodes = p->replicas;
    out->isr_count = p->n_isr;
    out->isr_nodes = p->isr;
}

static int fill_topic(weir_broker *b, const weir_topic *t, weir_metadata_topic *out)
{
    out->error_code = WEIR_KERR_NONE;
    out->name = (weir_str){t->name, (int32_t)strlen(t->name)};
    out->is_internal = bk_coord_topic_is_internal(t->name, strlen(t->name));
    weir_metadata_partition *parts =
        weir_arena_alloc_array(&b->arena, (size_t)t->partition_count, sizeof *parts);
    if (parts == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < t->partition_count; i++) {
        fill_partition(b, &t->partitions[i], &parts[i]);
    }
    out->partition_count = t->partition_count;
    out->partitions = parts;
    return 0;
}

int bk_handle_metadata(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_metadata_request *req = &r->body.metadata;
    weir_metadata_broker self = {
        b->cfg.node_id,
        {b->cfg.advertised_host, (int32_t)strlen(b->cfg.advertised_host)},
        b->cfg.advertised_port,
        WEIR_STR_NULL,
    };
    weir_metadata_response resp = {0};
    /* This broker, and in cluster mode every live broker the controller named. */
    weir_metadata_broker *brokers =
        weir_arena_alloc_array(&b->arena, (size_t)b->cl.n_live + 1, sizeof *brokers);
    if (brokers == NULL) {
        return WEIR_E_NOMEM;
    }
    brokers[0] = self;
    int32_t nb = 1;
    for (int i = 0; i < b->cl.n_live; i++) {
        const bk_live_broker *lb = &b->cl.live[i];
        if (!lb->up) {
            continue;
        }
        brokers[nb++] = (weir_metadata_broker){lb->id, {lb->host, (int32_t)strlen(lb->host)},
                                               lb->port, WEIR_STR_NULL};
    }
    resp.broker_count = nb;
    resp.brokers = brokers;
    resp.cluster_id = (weir_str){b->cfg.cluster_id, (int32_t)strlen(b->cfg.cluster_id)};
    resp.controller_id = b->cfg.node_id;
    size_t n = req->all_topics ? b->topics.n : (size_t)(req->topic_count > 0 ? req->topic_count : 0);
    weir_metadata_topic *topics = weir_arena_alloc_array(&b->arena, n, sizeof *topics);
    if (topics == NULL) {
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (req->all_topics) {
            int err = fill_topic(b, b->topics.t[i], &topics[i]);
            if (err != 0) {
                return err;
            }
            continue;
        }
        weir_str name = req->topics[i];
        topics[i].name = name;
        if (name.len < 0 || !weir_topic_name_valid(name.p, (size_t)name.len)) {
            topics[i].error_code = WEIR_KERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        weir_topic *t = weir_topics_find(&b->topics, name.p, (size_t)name.len);
        if (t == NULL && req->allow_auto_topic_creation &&
            bk_coord_topic_is_internal(name.p, (size_t)name.len)) {
            /* internal topics get their own partition count and replication */
            bk_coord_kind kind = strncmp(name.p, BK_OFFSETS_TOPIC, (size_t)name.len) == 0
                                     ? BK_COORD_GROUP
                                     : BK_COORD_TXN;
            t = bk_coord_topic(b, kind, true);
            if (t == NULL) {
                topics[i].error_code = WEIR_KERR_LEADER_NOT_AVAILABLE;
                continue;
            }
        }
        if (t == NULL && req->allow_auto_topic_creation && b->cfg.auto_create_topics && b->cl.enabled) {
            /* The controller decides; until its push arrives, no leader yet. */
            bk_cluster_create_topic(b, name.p, (size_t)name.len, b->cfg.num_partitions,
                                    b->cfg.default_replication_factor);
            topics[i].error_code = WEIR_KERR_LEADER_NOT_AVAILABLE;
            continue;
        }
        if (t == NULL && req->allow_auto_topic_creation && b->cfg.auto_create_topics) {
            int err = weir_topics_create(&b->topics, name.p, (size_t)name.len, b->cfg.num_partitions,
                                         &t);
            if (err != 0) {
                weir_log_error(b->env, "auto-creating topic %.*s failed: %s", name.len, name.p,
                               weir_err_str(err));
                topics[i].error_code = WEIR_KERR_KAFKA_STORAGE_ERROR;
                t = NULL;
                continue;
            }
        }
        if (t == NULL) {
            topics[i].error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        int err = fill_topic(b, t, &topics[i]);
        if (err != 0) {
            return err;
        }
    }
    resp.topic_count = (int32_t)n;
    resp.topics = topics;
    return weir_encode_metadata_response(&b->out, r->header.api_version, &resp);
}

/* ---- Produce ---- */

/* A batch refused by producer state, as Kafka answers it (producer_state.h).
 * UNKNOWN_PRODUCER_ID never comes from here: as in Kafka since KIP-360, a
 * producer the partition has no state for may start at any sequence. */
static int16_t produce_pstate_code(int producer_error)
{
    switch (producer_error) {
    case WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE: return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case WEIR_PSTATE_DUPLICATE_SEQUENCE: return WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER;
    case WEIR_PSTATE_INVALID_PRODUCER_EPOCH: return WEIR_KERR_INVALID_PRODUCER_EPOCH;
    case WEIR_PSTATE_INVALID_TXN_STATE: return WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_PSTATE_COORDINATOR_FENCED: return WEIR_KERR_TRANSACTION_COORDINATOR_FENCED;
    case WEIR_PSTATE_INVALID_RECORD: return 87; /* INVALID_RECORD */
    default: return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* Appends one partition's records as leader. *required_hw: the HW that
 * acknowledges them under acks=all (-1 if nothing to wait for). A batch with
 * a producer id is checked against the partition's producer state first: a
 * refusal appends nothing and leaves the state as it was; a retry of one of
 * the producer's last five batches appends nothing and answers with the
 * original offsets (*appended false), waiting under acks=all until the HW
 * passes the original, as Kafka does. */
static int16_t produce_one(weir_broker *b, weir_topic *t, const weir_produce_partition *pp,
                           int16_t acks, int64_t *base_offset, int64_t *log_start,
                           int64_t *required_hw, bool *appended)
{
    *required_hw = -1;
    *appended = false;
    weir_partition *p = weir_topic_partition(t, pp->partition_index);
    if (p == NULL) {
        return WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (bk_coord_topic_is_internal(t->name, strlen(t->name))) {
        /* only the coordinators write there, as in Kafka */
        return WEIR_KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (p->log == NULL || p->role != WEIR_ROLE_LEADER) {
        return WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
    }
    if (pp->records.len <= 0) {
        return WEIR_KERR_CORRUPT_MESSAGE;
    }
    int16_t min_isr = b->cfg.min_insync_replicas;
    for (int i = 0; i < b->cfg.n_topic_min_isr; i++) {
        if (strcmp(b->cfg.topic_min_isr[i].topic, t->name) == 0) {
            min_isr = b->cfg.topic_min_isr[i].min_insync_replicas;
        }
    }
    if (acks == -1 && p->lead.n_isr < min_isr) {
        return WEIR_KERR_NOT_ENOUGH_REPLICAS; /* refused before anything is appended */
    }
    /* The log stamps offsets and the leader epoch in place: append a copy. */
    uint8_t *copy = malloc((size_t)pp->records.len);
    if (copy == NULL) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    memcpy(copy, pp->records.p, (size_t)pp->records.len);
    weir_log_append_info info;
    const char *why = NULL;
    int err = weir_plog_append_leader(p->log, copy, (size_t)pp->records.len, p->leader_epoch, &info,
                                      &why);
    free(copy);
    *log_start = weir_plog_start_offset(p->log);
    if (err == WEIR_E_PRODUCER) {
        int16_t code = produce_pstate_code(info.producer_error);
        weir_log_info(b->env, "produce to %s-%d refused: %s (%s)", t->name, p->index,
                      weir_kerr_name(code), why ? why : "");
        return code;
    }
    if (err != 0) {
        weir_log_warn(b->env, "produce to %s-%d rejected: %s (%s)", t->name, p->index,
                      why ? why : "", weir_err_str(err));
        return err == WEIR_E_INVAL && why != NULL && strstr(why, "max.message.bytes")
                   ? WEIR_KERR_MESSAGE_TOO_LARGE
                   : bk_kerr_from(err);
    }
    *base_offset = info.first_offset;
    if (info.duplicate) {
        if (acks == -1 && p->high_watermark <= info.last_offset) {
            *required_hw = info.last_offset + 1; /* the original is not replicated yet */
        }
        return WEIR_KERR_NONE;
    }
    *appended = true;
    /* The HW moves when every ISR member has it (at once with an ISR of one). */
    if (weir_leader_update_hw(&p->lead, weir_plog_end_offset(p->log))) {
        p->high_watermark = p->lead.hw;
        bk_hw_advanced(b, p);
    }
    if (acks == -1 && p->high_watermark <= info.last_offset) {
        *required_hw = info.last_offset + 1;
    }
    int64_t records = info.last_offset - info.first_offset + 1;
    p->unflushed_messages += records;
    if (b->cfg.flush_interval_messages > 0 &&
        p->unflushed_messages >= b->cfg.flush_interval_messages) {
        err = weir_plog_flush(p->log);
        if (err != 0) {
            char what[300];
            snprintf(what, sizeof what, "%s-%d: flush", t->name, p->index);
            bk_log_dir_failed(b, what, err);
            return WEIR_KERR_KAFKA_STORAGE_ERROR;
        }
        p->unflushed_messages = 0;
    }
    return WEIR_KERR_NONE;
}

int bk_handle_produce(bk_conn *c, const weir_request *r, bool *no_response, bool *parked)
{
    weir_broker *b = c->b;
    const weir_produce_request *req = &r->body.produce;
    bool acks_ok = req->acks == 0 || req->acks == 1 || req->acks == -1;
    int32_t nt = req->topic_count > 0 ? req->topic_count : 0;
    weir_produce_topic_response *topics =
        weir_arena_alloc_array(&b->arena, (size_t)nt, sizeof *topics);
    int64_t **required_by_topic =
        weir_arena_alloc_array(&b->arena, (size_t)nt, sizeof *required_by_topic);
    if (topics == NULL || required_by_topic == NULL) {
        return WEIR_E_NOMEM;
    }
    bool appended = false;
    int n_parts = 0;
    int n_waiting = 0;
    for (int32_t i = 0; i < nt; i++) {
        const weir_produce_topic *pt = &req->topics[i];
        int32_t np = pt->partition_count > 0 ? pt->partition_count : 0;
        weir_produce_partition_response *parts =
            weir_arena_alloc_array(&b->arena, (size_t)np, sizeof *parts);
        int64_t *required = weir_arena_alloc_array(&b->arena, (size_t)np, sizeof *required);
        if (parts == NULL || required == NULL) {
            return WEIR_E_NOMEM;
        }
        weir_topic *t = pt->name.len > 0 ? weir_topics_find(&b->topics, pt->name.p, (size_t)pt->name.len)
                                         : NULL;
        for (int32_t j = 0; j < np; j++) {
            weir_produce_partition_response *out = &parts[j];
            out->partition_index = pt->partitions[j].partition_index;
            out->base_offset = -1;
            out->log_append_time_ms = -1;
            out->log_start_offset = -1;
            required[j] = -1;
            if (!acks_ok) {
                out->error_code = WEIR_KERR_INVALID_REQUIRED_ACKS;
            } else if (t == NULL) {
                out->error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else {
                bool one_appended;
                out->error_code = produce_one(b, t, &pt->partitions[j], req->acks, &out->base_offset,
                                              &out->log_start_offset, &required[j], &one_appended);
                appended = appended || one_appended;
                n_waiting += required[j] >= 0;
            }
            n_parts++;
        }
        topics[i].name = pt->name;
        topics[i].partition_count = np;
        topics[i].partitions = parts;
        required_by_topic[i] = required;
    }
    if (appended) {
        bk_fetch_wake_all(b);
    }
    if (req->acks == 0) {
        *no_response = true; /* Kafka sends nothing for acks=0 */
        return 0;
    }
    if (n_waiting > 0) {
        bk_produce_wait *w = calloc(1, sizeof *w);
        bk_produce_part *pp = calloc((size_t)n_parts, sizeof *pp);
        if (w == NULL || pp == NULL) {
            free(w);
            free(pp);
            return WEIR_E_NOMEM;
        }
        w->header = r->header;
        w->header.client_id = WEIR_STR_NULL;
        w->parts = pp;
        int k = 0;
        for (int32_t i = 0; i < nt; i++) {
            for (int32_t j = 0; j < topics[i].partition_count; j++, k++) {
                const weir_produce_partition_response *out = &topics[i].partitions[j];
                int32_t len = topics[i].name.len > 0 ? topics[i].name.len : 0;
                if ((size_t)len >= sizeof pp[k].topic) {
                    len = (int32_t)sizeof pp[k].topic - 1;
                }
                memcpy(pp[k].topic, topics[i].name.p, (size_t)len);
                pp[k].topic[len] = '\0';
                pp[k].partition = out->partition_index;
                pp[k].error_code = out->error_code;
                pp[k].base_offset = out->base_offset;
                pp[k].log_start_offset = out->log_start_offset;
                pp[k].required_hw = required_by_topic[i][j];
            }
        }
        w->n_parts = k;
        bk_produce_park(c, w, req->timeout_ms);
        bk_produce_check_all(b);
        *parked = true;
        return 0;
    }
    weir_produce_response resp = {nt, topics, 0};
    return weir_encode_produce_response(&b->out, r->header.api_version, &resp);
}

/* ---- ListOffsets ---- */

int bk_handle_list_offsets(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_list_offsets_request *req = &r->body.list_offsets;
    weir_list_offsets_topic_response *topics =
        weir_arena_alloc_array(&b->arena, (size_t)(req->topic_count > 0 ? req->topic_count : 0),
                               sizeof *topics);
    if (topics == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_list_offsets_topic *lt = &req->topics[i];
        weir_list_offsets_partition_response *parts = weir_arena_alloc_array(
            &b->arena, (size_t)(lt->partition_count > 0 ? lt->partition_count : 0), sizeof *parts);
        int64_t *olds = weir_arena_alloc_array(
            &b->arena, (size_t)(lt->partition_count > 0 ? lt->partition_count : 0), sizeof *olds);
        if (parts == NULL || olds == NULL) {
            return WEIR_E_NOMEM;
        }
        weir_topic *t = lt->name.len > 0 ? weir_topics_find(&b->topics, lt->name.p, (size_t)lt->name.len)
                                         : NULL;
        for (int32_t j = 0; j < lt->partition_count; j++) {
            const weir_list_offsets_partition *lp = &lt->partitions[j];
            weir_list_offsets_partition_response *out = &parts[j];
            out->partition_index = lp->partition_index;
            out->timestamp = -1;
            out->offset = -1;
            weir_partition *p = weir_topic_partition(t, lp->partition_index);
            if (p == NULL) {
                out->error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (p->log == NULL || p->role != WEIR_ROLE_LEADER) {
                out->error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
                continue;
            }
            int64_t off = -1;
            int err = 0;
            /* read_committed sees up to the last stable offset (txn: fetch.c) */
            int64_t visible = req->isolation_level == 1 ? weir_plog_lso(p->log, p->high_watermark)
                                                        : p->high_watermark;
            if (lp->timestamp == WEIR_LOG_TS_LATEST) {
                off = visible;
            } else if (lp->timestamp == WEIR_LOG_TS_EARLIEST) {
                off = weir_plog_start_offset(p->log);
            } else if (lp->timestamp < 0) {
                out->error_code = WEIR_KERR_INVALID_REQUEST;
                continue;
            } else {
                err = weir_plog_offset_for_time(p->log, lp->timestamp, &off);
                if (off >= visible) {
                    off = -1;
                }
                out->timestamp = off >= 0 ? lp->timestamp : -1;
            }
            out->error_code = bk_kerr_from(err);
            out->offset = off;
            if (r->header.api_version == 0) {
                olds[j] = off;
                out->old_style_offset_count = off >= 0 ? 1 : 0;
                out->old_style_offsets = &olds[j];
            }
        }
        topics[i].name = lt->name;
        topics[i].partition_count = lt->partition_count;
        topics[i].partitions = parts;
    }
    weir_list_offsets_response resp = {0, req->topic_count, topics};
    return weir_encode_list_offsets_response(&b->out, r->header.api_version, &resp);
}

/* ---- CreateTopics / DeleteTopics ---- */

int bk_handle_create_topics(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_create_topics_request *req = &r->body.create_topics;
    weir_create_topics_topic_response *out =
        weir_arena_alloc_array(&b->arena, (size_t)(req->topic_count > 0 ? req->topic_count : 0),
                               sizeof *out);
    if (out == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_create_topics_topic *ct = &req->topics[i];
        out[i].name = ct->name;
        out[i].error_message = WEIR_STR_NULL;
        int32_t partitions = ct->num_partitions;
        int16_t rf = ct->replication_factor;
        if (ct->assignment_count > 0) {
            partitions = ct->assignment_count;
            rf = (int16_t)ct->assignments[0].broker_id_count;
        }
        if (partitions == -1) {
            partitions = b->cfg.num_partitions;
        }
        if (rf == -1) {
            rf = b->cfg.default_replication_factor;
        }
        const char *msg = NULL;
        if (ct->name.len < 0 || !weir_topic_name_valid(ct->name.p, (size_t)ct->name.len)) {
            out[i].error_code = WEIR_KERR_INVALID_TOPIC_EXCEPTION;
            msg = "topic names are 1 to 249 characters of [a-zA-Z0-9._-]";
        } else if (weir_topics_find(&b->topics, ct->name.p, (size_t)ct->name.len) != NULL) {
            out[i].error_code = WEIR_KERR_TOPIC_ALREADY_EXISTS;
            msg = "topic already exists";
        } else if (partitions < 1 || partitions > 100000) {
            out[i].error_code = WEIR_KERR_INVALID_PARTITIONS;
            msg = "number of partitions must be in [1, 100000]";
        } else if (b->cl.enabled) {
            int32_t brokers = 1;
            for (int k = 0; k < b->cl.n_live; k++) {
                brokers += b->cl.live[k].up;
            }
            if (rf < 1 || rf > brokers) {
                out[i].error_code = WEIR_KERR_INVALID_REPLICATION_FACTOR;
                msg = "replication factor larger than the live brokers";
            } else if (!req->validate_only) {
                /* The controller assigns replicas; its push creates the logs. */
                bk_cluster_create_topic(b, ct->name.p, (size_t)ct->name.len, partitions, rf);
                out[i].error_code = WEIR_KERR_NONE;
            }
        } else if (rf != 1) {
            out[i].error_code = WEIR_KERR_INVALID_REPLICATION_FACTOR;
            msg = "replication factor must be 1: this cluster has one broker";
        } else if (!req->validate_only) {
            int err = weir_topics_create(&b->topics, ct->name.p, (size_t)ct->name.len, partitions, NULL);
            out[i].error_code = err == 0 ? WEIR_KERR_NONE : WEIR_KERR_KAFKA_STORAGE_ERROR;
            msg = err == 0 ? NULL : "creating the partition folders failed";
        }
        if (msg != NULL) {
            out[i].error_message = weir_str_from(msg);
        }
    }
    weir_create_topics_response resp = {0, req->topic_count, out};
    return weir_encode_create_topics_response(&b->out, r->header.api_version, &resp);
}

int bk_handle_delete_topics(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_delete_topics_request *req = &r->body.delete_topics;
    weir_delete_topics_topic_response *out = weir_arena_alloc_array(
        &b->arena, (size_t)(req->topic_name_count > 0 ? req->topic_name_count : 0), sizeof *out);
    if (out == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < req->topic_name_count; i++) {
        weir_str name = req->topic_names[i];
        out[i].name = name;
        int err = name.len > 0 ? weir_topics_delete(&b->topics, name.p, (size_t)name.len) : WEIR_E_NOENT;
        out[i].error_code = err == 0              ? WEIR_KERR_NONE
                            : err == WEIR_E_NOENT ? WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                  : WEIR_KERR_KAFKA_STORAGE_ERROR;
    }
    weir_delete_topics_response resp = {0, req->topic_name_count, out};
    return weir_encode_delete_topics_response(&b->out, r->header.api_version, &resp);
}
