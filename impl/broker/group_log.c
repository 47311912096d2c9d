/* The group coordinator's records in __consumer_offsets, in Kafka's format
 * (big-endian, int16-length strings), so the partition reads like Kafka's:
 *
 *   key   int16 version 1 (OffsetCommitKey): group, topic, int32 partition
 *   value int16 version 3 (OffsetCommitValue): int64 offset, int32 leader
 *         epoch, string metadata, int64 commit timestamp
 *   key   int16 version 2 (GroupMetadataKey): group
 *   value int16 version 3 (GroupMetadataValue): protocol type, int32
 *         generation, nullable protocol, nullable leader, int64 state
 *         timestamp, members[member id, nullable instance id, client id,
 *         client host, int32 rebalance timeout, int32 session timeout,
 *         bytes subscription, bytes assignment]
 *
 * A null value is a tombstone. Loading replays a partition from its start:
 * later records win; transactional offsets wait per producer id for their
 * control record (COMMIT applies them where newer, ABORT drops them). Older
 * value versions (0-2 of both) are read too. */
#include "broker/group_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/log.h"

enum {
    KEY_OFFSET_V0 = 0,
    KEY_OFFSET_V1 = 1,
    KEY_GROUP = 2,
    OFFSET_VALUE_VERSION = 3,
    GROUP_VALUE_VERSION = 3,
    CONTROL_ABORT = 0,
    CONTROL_COMMIT = 1,
};

/* ---- writing ---- */

void grp_record_offset(weir_batch_builder *bb, int64_t now_ms, const char *group, const char *topic,
                       int32_t partition, int64_t offset, int32_t leader_epoch,
                       const char *metadata, int64_t commit_ts_ms)
{
    weir_wr k;
    weir_wr v;
    weir_wr_init(&k);
    weir_wr_init(&v);
    weir_wr_i16(&k, KEY_OFFSET_V1);
    weir_wr_string(&k, weir_str_from(group));
    weir_wr_string(&k, weir_str_from(topic));
    weir_wr_i32(&k, partition);
    weir_wr_i16(&v, OFFSET_VALUE_VERSION);
    weir_wr_i64(&v, offset);
    weir_wr_i32(&v, leader_epoch);
    weir_wr_string(&v, weir_str_from(metadata));
    weir_wr_i64(&v, commit_ts_ms);
    if (weir_wr_status(&k) == 0 && weir_wr_status(&v) == 0) {
        weir_batch_builder_add(bb, now_ms, k.buf, (int32_t)k.len, v.buf, (int32_t)v.len, NULL, 0);
    } else {
        bb->failed = true;
    }
    weir_wr_free(&k);
    weir_wr_free(&v);
}

int grp_record_group(weir_broker *b, const grp_group *g, const char *const *member_ids,
                     uint8_t *const *assignments, const int32_t *assignment_lens, int n,
                     weir_batch_builder *bb)
{
    weir_wr k;
    weir_wr v;
    weir_wr_init(&k);
    weir_wr_init(&v);
    weir_wr_i16(&k, KEY_GROUP);
    weir_wr_string(&k, weir_str_from(g->group_id));
    weir_wr_i16(&v, GROUP_VALUE_VERSION);
    weir_wr_string(&v, weir_str_from(g->protocol_type != NULL ? g->protocol_type : ""));
    weir_wr_i32(&v, g->generation);
    weir_wr_nullable_string(&v, weir_str_from(g->protocol_name));
    weir_wr_nullable_string(&v, weir_str_from(g->leader_id));
    weir_wr_i64(&v, g->state_ts_ms);
    weir_wr_array_count(&v, g->n_members);
    for (int i = 0; i < g->n_members; i++) {
        const grp_member *m = g->members[i];
        const uint8_t *sub;
        int32_t sub_len;
        grp_member_subscription(g, m, &sub, &sub_len);
        const uint8_t *as = m->assignment;
        int32_t as_len = m->assignment_len;
        if (member_ids != NULL) { /* the leader's new assignment (empty if not named) */
            as = NULL;
            as_len = 0;
            for (int j = 0; j < n; j++) {
                if (strcmp(member_ids[j], m->member_id) == 0) {
                    as = assignments[j];
                    as_len = assignment_lens[j];
                }
            }
        }
        weir_wr_string(&v, weir_str_from(m->member_id));
        weir_wr_nullable_string(&v, weir_str_from(m->group_instance_id));
        weir_wr_string(&v, weir_str_from(m->client_id));
        weir_wr_string(&v, weir_str_from(m->client_host));
        weir_wr_i32(&v, m->rebalance_timeout_ms);
        weir_wr_i32(&v, m->session_timeout_ms);
        weir_wr_bytes(&v, (weir_bytes){sub != NULL ? sub : (const uint8_t *)"", sub_len});
        weir_wr_bytes(&v,
                      (weir_bytes){as != NULL ? as : (const uint8_t *)"", as != NULL ? as_len : 0});
    }
    int err = weir_wr_status(&k);
    if (err == 0) {
        err = weir_wr_status(&v);
    }
    if (err == 0) {
        weir_batch_builder_add(bb, weir_wall_ms(b->env), k.buf, (int32_t)k.len, v.buf,
                               (int32_t)v.len, NULL, 0);
    }
    weir_wr_free(&k);
    weir_wr_free(&v);
    return err;
}

/* ---- loading ---- */

typedef struct load_ctx {
    weir_broker *b;
    grp_part *part;
    int64_t records;
    int64_t skipped;
} load_ctx;

static char *str_dup(weir_str s)
{
    return strndup(s.len > 0 ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

static grp_group *group_get(grp_part *part, weir_str id)
{
    grp_group *g = grp_find(part, id.len > 0 ? id.p : "", id.len > 0 ? (size_t)id.len : 0);
    return g != NULL ? g
                     : grp_create(part, id.len > 0 ? id.p : "", id.len > 0 ? (size_t)id.len : 0);
}

static int load_offset(load_ctx *lc, const weir_batch_header *h, weir_rd *key,
                       const weir_record *rec)
{
    weir_str group = weir_rd_string(key, "group");
    weir_str topic = weir_rd_string(key, "topic");
    int32_t partition = weir_rd_i32(key, "partition");
    if (!weir_rd_ok(key) || topic.len < 0) {
        return WEIR_E_CORRUPT;
    }
    bool txn = (h->attributes & WEIR_BATCH_TRANSACTIONAL) != 0;
    grp_group *g = group_get(lc->part, group);
    if (g == NULL) {
        return WEIR_E_NOMEM;
    }
    grp_offsets *o = &g->offsets;
    if (txn) {
        grp_txn_pending *t = grp_txn_get(g, h->producer_id, true);
        if (t == NULL) {
            return WEIR_E_NOMEM;
        }
        o = &t->offsets;
    }
    char *topic_c = str_dup(topic);
    if (topic_c == NULL) {
        return WEIR_E_NOMEM;
    }
    if (rec->value == NULL) { /* tombstone */
        grp_offset_remove(o, topic_c, partition);
        free(topic_c);
        return 0;
    }
    weir_rd v;
    weir_rd_init(&v, rec->value, (size_t)rec->value_len);
    int16_t version = weir_rd_i16(&v, "version");
    grp_offset e = {topic_c, partition, -1, -1, NULL, -1, h->base_offset + rec->offset_delta};
    e.offset = weir_rd_i64(&v, "offset");
    if (version >= 3) {
        e.leader_epoch = weir_rd_i32(&v, "leaderEpoch");
    }
    weir_str meta = weir_rd_string(&v, "metadata");
    e.commit_ts_ms = weir_rd_i64(&v, "commitTimestamp");
    if (!weir_rd_ok(&v) || version < 0 || version > 3) {
        free(topic_c);
        return WEIR_E_CORRUPT;
    }
    e.metadata = str_dup(meta);
    if (e.metadata == NULL) {
        free(topic_c);
        return WEIR_E_NOMEM;
    }
    return grp_offset_put(o, &e);
}

static int load_group(load_ctx *lc, weir_rd *key, const weir_record *rec)
{
    weir_str group = weir_rd_string(key, "group");
    if (!weir_rd_ok(key)) {
        return WEIR_E_CORRUPT;
    }
    grp_group *g = group_get(lc->part, group);
    if (g == NULL) {
        return WEIR_E_NOMEM;
    }
    grp_reset_membership(lc->b, g, true, WEIR_KERR_NONE); /* replaced by this record */
    if (rec->value == NULL) {
        return 0; /* tombstone: the metadata goes, offsets stay (as Kafka) */
    }
    weir_rd v;
    weir_rd_init(&v, rec->value, (size_t)rec->value_len);
    int16_t version = weir_rd_i16(&v, "version");
    weir_str ptype = weir_rd_string(&v, "protocolType");
    int32_t generation = weir_rd_i32(&v, "generation");
    weir_str proto = weir_rd_nullable_string(&v, "protocol");
    weir_str leader = weir_rd_nullable_string(&v, "leader");
    int64_t state_ts = version >= 2 ? weir_rd_i64(&v, "currentStateTimestamp") : -1;
    int32_t n = weir_rd_array_count(&v, "members", false, 2);
    if (!weir_rd_ok(&v) || version < 0 || version > 3) {
        return WEIR_E_CORRUPT;
    }
    g->protocol_type = ptype.len > 0 ? str_dup(ptype) : NULL;
    g->protocol_name = proto.len >= 0 ? str_dup(proto) : NULL;
    g->leader_id = leader.len >= 0 ? str_dup(leader) : NULL;
    g->generation = generation;
    g->state_ts_ms = state_ts;
    for (int32_t i = 0; i < n; i++) {
        weir_str mid = weir_rd_string(&v, "memberId");
        weir_str iid =
            version >= 3 ? weir_rd_nullable_string(&v, "groupInstanceId") : WEIR_STR_NULL;
        weir_str cid = weir_rd_string(&v, "clientId");
        weir_str host = weir_rd_string(&v, "clientHost");
        int32_t rebalance_ms = version >= 1 ? weir_rd_i32(&v, "rebalanceTimeout") : -1;
        int32_t session_ms = weir_rd_i32(&v, "sessionTimeout");
        weir_bytes sub = weir_rd_bytes(&v, "subscription");
        weir_bytes as = weir_rd_bytes(&v, "assignment");
        if (!weir_rd_ok(&v)) {
            return WEIR_E_CORRUPT;
        }
        char *mid_c = str_dup(mid);
        char *iid_c = iid.len >= 0 ? str_dup(iid) : NULL;
        char *cid_c = str_dup(cid);
        char *host_c = str_dup(host);
        grp_member *m = NULL;
        if (mid_c != NULL && cid_c != NULL && host_c != NULL && (iid.len < 0 || iid_c != NULL)) {
            m = grp_member_add_loaded(lc->b, g, mid_c, iid_c, cid_c, host_c,
                                      rebalance_ms >= 0 ? rebalance_ms : session_ms, session_ms,
                                      sub.p, sub.len, as.p, as.len);
        }
        free(mid_c);
        free(iid_c);
        free(cid_c);
        free(host_c);
        if (m == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    g->state = g->n_members > 0 ? GRP_STABLE : GRP_EMPTY;
    return 0;
}

static int load_control(load_ctx *lc, const weir_batch_header *h, const weir_record *rec)
{
    weir_rd key;
    weir_rd_init(&key, rec->key, rec->key_len > 0 ? (size_t)rec->key_len : 0);
    (void)weir_rd_i16(&key, "version");
    int16_t type = weir_rd_i16(&key, "type");
    if (!weir_rd_ok(&key)) {
        return WEIR_E_CORRUPT;
    }
    if (type == CONTROL_COMMIT || type == CONTROL_ABORT) {
        for (size_t i = 0; i < lc->part->n_groups; i++) {
            grp_txn_complete(lc->part->groups[i], h->producer_id, type == CONTROL_COMMIT);
        }
    }
    return 0;
}

static int load_batch(void *arg, const weir_batch_header *h, const uint8_t *batch, size_t len)
{
    load_ctx *lc = arg;
    weir_record_iter it;
    if (weir_record_iter_init(&it, batch, len) != 0) {
        lc->skipped++; /* compressed: weir never writes those here */
        return 0;
    }
    weir_record rec;
    int rc;
    while ((rc = weir_record_next(&it, &rec)) == 1) {
        lc->records++;
        if ((h->attributes & WEIR_BATCH_CONTROL) != 0) {
            int err = load_control(lc, h, &rec);
            if (err != 0) {
                return err;
            }
            continue;
        }
        if (rec.key == NULL || rec.key_len < 2) {
            lc->skipped++;
            continue;
        }
        weir_rd key;
        weir_rd_init(&key, rec.key, (size_t)rec.key_len);
        int16_t version = weir_rd_i16(&key, "version");
        int err = 0;
        if (version == KEY_OFFSET_V0 || version == KEY_OFFSET_V1) {
            err = load_offset(lc, h, &key, &rec);
        } else if (version == KEY_GROUP) {
            err = load_group(lc, &key, &rec);
        } else {
            lc->skipped++; /* a record type of Kafka's newer protocols */
        }
        if (err == WEIR_E_CORRUPT) {
            lc->skipped++;
            err = 0;
        }
        if (err != 0) {
            return err;
        }
    }
    return rc < 0 ? rc : 0;
}

static void part_free(weir_broker *b, grp_part *part, bool env_alive)
{
    if (env_alive) {
        WEIR_ASSERT(part->appends == NULL); /* coord.c ends them before unloading */
    }
    grp_appends_abandon(part);
    for (size_t i = 0; i < part->n_groups; i++) {
        grp_free(b, part->groups[i], env_alive, WEIR_KERR_NOT_COORDINATOR);
    }
    free(part->groups);
    free(part);
}

static void groups_release(weir_broker *b)
{
    if (b->groups != NULL && b->groups->n_loaded == 0) {
        free(b->groups->parts);
        free(b->groups);
        b->groups = NULL;
    }
}

int bk_group_load(weir_broker *b, int32_t index, struct weir_plog *log)
{
    if (b->groups == NULL) {
        b->groups = calloc(1, sizeof *b->groups);
        if (b->groups == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    bk_groups *gs = b->groups;
    if (index >= gs->n_parts) {
        grp_part **grown = realloc(gs->parts, (size_t)(index + 1) * sizeof *grown);
        if (grown == NULL) {
            groups_release(b);
            return WEIR_E_NOMEM;
        }
        memset(grown + gs->n_parts, 0, (size_t)(index + 1 - gs->n_parts) * sizeof *grown);
        gs->parts = grown;
        gs->n_parts = index + 1;
    }
    WEIR_ASSERT(gs->parts[index] == NULL);
    grp_part *part = calloc(1, sizeof *part);
    if (part == NULL) {
        groups_release(b);
        return WEIR_E_NOMEM;
    }
    part->b = b;
    part->index = index;
    load_ctx lc = {b, part, 0, 0};
    int err = bk_coord_log_scan(log, weir_plog_start_offset(log), weir_plog_end_offset(log),
                                load_batch, &lc);
    if (err != 0) {
        part_free(b, part, true);
        groups_release(b);
        return err;
    }
    gs->parts[index] = part;
    gs->n_loaded++;
    /* members read back get a full session to heartbeat to the new coordinator */
    for (size_t i = 0; i < part->n_groups; i++) {
        grp_group *g = part->groups[i];
        for (int j = 0; j < g->n_members; j++) {
            grp_member_touch(b, g->members[j]);
        }
    }
    if (lc.records > 0) {
        weir_log_info(b->env, "%s-%d: loaded %zu group(s) from %lld record(s)%s", BK_OFFSETS_TOPIC,
                      index, part->n_groups, (long long)lc.records,
                      lc.skipped > 0 ? " (some skipped: unknown or malformed)" : "");
    }
    return 0;
}

void bk_group_unload(weir_broker *b, int32_t index, bool env_alive)
{
    grp_part *part = grp_part_get(b, index);
    if (part == NULL) {
        return;
    }
    b->groups->parts[index] = NULL;
    b->groups->n_loaded--;
    part_free(b, part, env_alive);
    groups_release(b);
}
