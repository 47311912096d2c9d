/* Range and round-robin assignors and the ConsumerProtocol codec (see
 * assignor.h). Pure functions: no env, no clock, no randomness, so the same
 * members and topics give the same shares on every node and every run.
 *
 * Invariant of weir_assignor_assign: every partition of a topic some member
 * subscribes to goes to exactly one member, and only to a member subscribed
 * to its topic.
 */
#include "client/assignor.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define AS_PROTOCOL_VERSION 0

bool weir_assignor_known(const char *name)
{
    return name != NULL && (strcmp(name, "range") == 0 || strcmp(name, "roundrobin") == 0);
}

/* ---- helpers ---- */

static bool as_subscribed(const weir_assignor_member *m, const char *topic)
{
    for (int32_t i = 0; i < m->topic_count; i++) {
        if (strcmp(m->topics[i], topic) == 0) {
            return true;
        }
    }
    return false;
}

static int as_cmp_member(const void *a, const void *b)
{
    const weir_assignor_member *x = *(const weir_assignor_member *const *)a;
    const weir_assignor_member *y = *(const weir_assignor_member *const *)b;
    return strcmp(x->member_id, y->member_id);
}

static int as_cmp_topic(const void *a, const void *b)
{
    const weir_assignor_topic *x = *(const weir_assignor_topic *const *)a;
    const weir_assignor_topic *y = *(const weir_assignor_topic *const *)b;
    return strcmp(x->name, y->name);
}

/* Appends one pair to a share; capacity is the topic's partition total, set
 * up front, so this never reallocates. */
static void as_give(weir_assignor_share *s, const char *topic, int32_t partition)
{
    s->tps[s->count].topic = topic;
    s->tps[s->count].partition = partition;
    s->count++;
}

/* Topics someone subscribes to, with partitions, sorted by name, duplicates
 * (same name twice in topics[]) dropped. *out is malloc'd. */
static int as_live_topics(const weir_assignor_member *members, int32_t member_count,
                          const weir_assignor_topic *topics, int32_t topic_count,
                          const weir_assignor_topic ***out, int32_t *count_out,
                          int64_t *partitions_out)
{
    const weir_assignor_topic **live =
        calloc((size_t)(topic_count > 0 ? topic_count : 1), sizeof *live);
    if (live == NULL) {
        return WEIR_E_NOMEM;
    }
    int32_t n = 0;
    int64_t total = 0;
    for (int32_t t = 0; t < topic_count; t++) {
        if (topics[t].name == NULL || topics[t].partition_count <= 0) {
            continue;
        }
        bool wanted = false;
        for (int32_t m = 0; m < member_count && !wanted; m++) {
            wanted = as_subscribed(&members[m], topics[t].name);
        }
        bool dup = false;
        for (int32_t k = 0; k < n && !dup; k++) {
            dup = strcmp(live[k]->name, topics[t].name) == 0;
        }
        if (wanted && !dup) {
            live[n++] = &topics[t];
            total += topics[t].partition_count;
        }
    }
    qsort(live, (size_t)n, sizeof *live, as_cmp_topic);
    *out = live;
    *count_out = n;
    *partitions_out = total;
    return 0;
}

/* ---- the two assignors ---- */

/* Kafka's RangeAssignor: per topic, n partitions over the c subscribed
 * members in id order; member i gets n/c, plus one while i < n%c. */
static void as_range(const weir_assignor_member *const *sorted, int32_t member_count,
                     const weir_assignor_topic *const *live, int32_t live_count,
                     weir_assignor_share *const *share_of)
{
    for (int32_t t = 0; t < live_count; t++) {
        const weir_assignor_topic *topic = live[t];
        int32_t subscribed = 0;
        for (int32_t m = 0; m < member_count; m++) {
            subscribed += as_subscribed(sorted[m], topic->name) ? 1 : 0;
        }
        WEIR_ASSERT(subscribed > 0);
        int32_t per = topic->partition_count / subscribed;
        int32_t extra = topic->partition_count % subscribed;
        int32_t i = 0; /* index among the subscribed members */
        int32_t next = 0;
        for (int32_t m = 0; m < member_count; m++) {
            if (!as_subscribed(sorted[m], topic->name)) {
                continue;
            }
            int32_t len = per + (i < extra ? 1 : 0);
            for (int32_t p = next; p < next + len; p++) {
                as_give(share_of[m], topic->name, p);
            }
            next += len;
            i++;
        }
        WEIR_ASSERT(next == topic->partition_count);
    }
}

/* Kafka's RoundRobinAssignor: a circular iterator over the sorted members;
 * each partition goes to the next member subscribed to its topic. */
static void as_roundrobin(const weir_assignor_member *const *sorted, int32_t member_count,
                          const weir_assignor_topic *const *live, int32_t live_count,
                          weir_assignor_share *const *share_of)
{
    int32_t at = 0;
    for (int32_t t = 0; t < live_count; t++) {
        for (int32_t p = 0; p < live[t]->partition_count; p++) {
            /* live topics have a subscriber, so this ends within one lap */
            int32_t tries = 0;
            while (!as_subscribed(sorted[at], live[t]->name)) {
                at = (at + 1) % member_count;
                tries++;
                WEIR_ASSERT(tries <= member_count);
            }
            as_give(share_of[at], live[t]->name, p);
            at = (at + 1) % member_count;
        }
    }
}

int weir_assignor_assign(const char *name, const weir_assignor_member *members,
                         int32_t member_count, const weir_assignor_topic *topics,
                         int32_t topic_count, weir_assignor_share *shares)
{
    if (!weir_assignor_known(name) || member_count < 0 || topic_count < 0) {
        return WEIR_E_INVAL;
    }
    for (int32_t m = 0; m < member_count; m++) {
        shares[m].tps = NULL;
        shares[m].count = 0;
        for (int32_t k = 0; k < m; k++) {
            if (strcmp(members[k].member_id, members[m].member_id) == 0) {
                return WEIR_E_INVAL;
            }
        }
    }
    if (member_count == 0) {
        return 0;
    }
    const weir_assignor_topic **live = NULL;
    int32_t live_count = 0;
    int64_t total = 0;
    int err =
        as_live_topics(members, member_count, topics, topic_count, &live, &live_count, &total);
    if (err != 0) {
        return err;
    }
    const weir_assignor_member **sorted = calloc((size_t)member_count, sizeof *sorted);
    weir_assignor_share **share_of = calloc((size_t)member_count, sizeof *share_of);
    if (sorted == NULL || share_of == NULL) {
        err = WEIR_E_NOMEM;
        goto free_scratch;
    }
    for (int32_t m = 0; m < member_count; m++) {
        sorted[m] = &members[m];
    }
    qsort(sorted, (size_t)member_count, sizeof *sorted, as_cmp_member);
    for (int32_t m = 0; m < member_count; m++) {
        share_of[m] = &shares[sorted[m] - members];
        share_of[m]->tps = calloc((size_t)(total > 0 ? total : 1), sizeof(weir_topic_partition));
        if (share_of[m]->tps == NULL) {
            weir_assignor_shares_free(shares, member_count);
            err = WEIR_E_NOMEM;
            goto free_scratch;
        }
    }
    if (strcmp(name, "range") == 0) {
        as_range(sorted, member_count, live, live_count, share_of);
    } else {
        as_roundrobin(sorted, member_count, live, live_count, share_of);
    }
free_scratch:
    free(share_of);
    free(sorted);
    free(live);
    return err;
}

void weir_assignor_shares_free(weir_assignor_share *shares, int32_t member_count)
{
    for (int32_t m = 0; shares != NULL && m < member_count; m++) {
        free(shares[m].tps);
        shares[m].tps = NULL;
        shares[m].count = 0;
    }
}

/* ---- ConsumerProtocol ---- */

int weir_assignor_subscription_encode(weir_wr *w, const char *const *topics, int32_t count)
{
    weir_wr_i16(w, AS_PROTOCOL_VERSION);
    weir_wr_array_count(w, count);
    for (int32_t i = 0; i < count; i++) {
        weir_wr_string(w, weir_str_from(topics[i]));
    }
    weir_wr_nullable_bytes(w, WEIR_BYTES_NULL);
    return weir_wr_status(w);
}

int weir_assignor_subscription_decode(weir_bytes b, weir_arena *a, const weir_str **topics_out,
                                      int32_t *count_out)
{
    weir_rd rd;
    weir_rd_init(&rd, b.p, b.len > 0 ? (size_t)b.len : 0);
    weir_rd_scope(&rd, "ConsumerProtocolSubscription");
    int16_t version = weir_rd_i16(&rd, "Version");
    if (weir_rd_ok(&rd) && version < 0) {
        return weir_rd_fail(&rd, "Version", "negative");
    }
    int32_t n = weir_rd_array_count(&rd, "Topics", false, 2);
    weir_str *topics = weir_rd_alloc(&rd, a, "Topics", n, sizeof *topics);
    for (int32_t i = 0; i < n && weir_rd_ok(&rd); i++) {
        topics[i] = weir_rd_string(&rd, "Topics");
    }
    /* UserData and any later-version fields follow: not needed. */
    int err = weir_rd_status(&rd);
    if (err != 0) {
        return err;
    }
    *topics_out = topics;
    *count_out = n;
    return 0;
}

int weir_assignor_assignment_encode(weir_wr *w, const weir_topic_partition *tps, int32_t count)
{
    weir_wr_i16(w, AS_PROTOCOL_VERSION);
    int32_t topic_count = 0;
    for (int32_t i = 0; i < count; i++) {
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) {
            seen = strcmp(tps[j].topic, tps[i].topic) == 0;
        }
        topic_count += seen ? 0 : 1;
    }
    weir_wr_array_count(w, topic_count);
    for (int32_t i = 0; i < count; i++) {
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) {
            seen = strcmp(tps[j].topic, tps[i].topic) == 0;
        }
        if (seen) {
            continue;
        }
        int32_t n = 0;
        for (int32_t j = i; j < count; j++) {
            n += strcmp(tps[j].topic, tps[i].topic) == 0 ? 1 : 0;
        }
        weir_wr_string(w, weir_str_from(tps[i].topic));
        weir_wr_array_count(w, n);
        for (int32_t j = i; j < count; j++) {
            if (strcmp(tps[j].topic, tps[i].topic) == 0) {
                weir_wr_i32(w, tps[j].partition);
            }
        }
    }
    weir_wr_nullable_bytes(w, WEIR_BYTES_NULL);
    return weir_wr_status(w);
}

void weir_assignor_tps_free(weir_topic_partition *tps, int32_t count)
{
    for (int32_t i = 0; tps != NULL && i < count; i++) {
        free((char *)tps[i].topic);
    }
    free(tps);
}

static bool as_tps_has(const weir_topic_partition *tps, int32_t n, weir_str topic,
                       int32_t partition)
{
    for (int32_t i = 0; i < n; i++) {
        if (tps[i].partition == partition && weir_str_eq_cstr(topic, tps[i].topic)) {
            return true;
        }
    }
    return false;
}

/* Reads the AssignedPartitions array into tps (room for every i32 in b). */
static int as_assignment_read(weir_rd *rd, weir_topic_partition *tps, int32_t *n)
{
    int32_t topic_count = weir_rd_array_count(rd, "AssignedPartitions", false, 6);
    for (int32_t t = 0; t < topic_count && weir_rd_ok(rd); t++) {
        weir_str topic = weir_rd_string(rd, "Topic");
        int32_t pc = weir_rd_array_count(rd, "Partitions", false, 4);
        for (int32_t k = 0; k < pc && weir_rd_ok(rd); k++) {
            int32_t partition = weir_rd_i32(rd, "Partitions");
            if (!weir_rd_ok(rd)) {
                break;
            }
            if (partition < 0) {
                return weir_rd_fail(rd, "Partitions", "negative partition");
            }
            if (as_tps_has(tps, *n, topic, partition)) {
                continue;
            }
            char *name = malloc((size_t)topic.len + 1);
            if (name == NULL) {
                return WEIR_E_NOMEM;
            }
            memcpy(name, topic.p, (size_t)topic.len);
            name[topic.len] = '\0';
            tps[*n].topic = name;
            tps[*n].partition = partition;
            (*n)++;
        }
    }
    return weir_rd_status(rd);
}

int weir_assignor_assignment_decode(weir_bytes b, weir_topic_partition **tps_out,
                                    int32_t *count_out)
{
    *tps_out = NULL;
    *count_out = 0;
    if (b.len <= 0) {
        return 0; /* no assignment at all */
    }
    /* At most one pair per 4 bytes: a bound that needs no second pass. */
    weir_topic_partition *tps = calloc((size_t)b.len / 4 + 1, sizeof *tps);
    if (tps == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_rd rd;
    weir_rd_init(&rd, b.p, (size_t)b.len);
    weir_rd_scope(&rd, "ConsumerProtocolAssignment");
    int16_t version = weir_rd_i16(&rd, "Version");
    int err = weir_rd_status(&rd);
    if (err == 0 && version < 0) {
        err = weir_rd_fail(&rd, "Version", "negative");
    }
    int32_t n = 0;
    if (err == 0) {
        err = as_assignment_read(&rd, tps, &n);
    }
    if (err != 0) {
        weir_assignor_tps_free(tps, n);
        return err;
    }
    *tps_out = tps;
    *count_out = n;
    return 0;
}
