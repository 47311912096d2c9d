/* __transaction_state record codec; see txn_log.h. */
#include "broker/txn_log.h"

#include <string.h>

#include "core/assert.h"

const char *weir_txn_status_name(int status)
{
    static const char *names[] = {"Empty",        "Ongoing",          "PrepareCommit",
                                  "PrepareAbort", "CompleteCommit",   "CompleteAbort",
                                  "Dead",         "PrepareEpochFence"};
    return status >= 0 && status < 8 ? names[status] : "Unknown";
}

void weir_txn_log_key_write(weir_wr *w, weir_str transactional_id)
{
    weir_wr_i16(w, 0);
    weir_wr_string(w, transactional_id);
}

void weir_txn_log_value_write(weir_wr *w, const weir_txn_log_value *v)
{
    weir_wr_i16(w, 0);
    weir_wr_i64(w, v->producer_id);
    weir_wr_i16(w, v->producer_epoch);
    weir_wr_i32(w, v->timeout_ms);
    weir_wr_i8(w, v->status);
    if (v->n_parts < 0) {
        weir_wr_array_count(w, -1);
    } else {
        /* one entry per run of equal topics */
        int32_t topics = 0;
        for (int32_t i = 0; i < v->n_parts; i++) {
            topics += i == 0 || !weir_str_eq(v->parts[i].topic, v->parts[i - 1].topic);
        }
        weir_wr_array_count(w, topics);
        for (int32_t i = 0; i < v->n_parts;) {
            int32_t j = i;
            while (j < v->n_parts && weir_str_eq(v->parts[j].topic, v->parts[i].topic)) {
                j++;
            }
            weir_wr_string(w, v->parts[i].topic);
            weir_wr_array_count(w, j - i);
            for (int32_t k = i; k < j; k++) {
                weir_wr_i32(w, v->parts[k].partition);
            }
            i = j;
        }
    }
    weir_wr_i64(w, v->last_update_ms);
    weir_wr_i64(w, v->start_ms);
}

int weir_txn_log_key_read(const uint8_t *buf, size_t len, weir_str *tid_out)
{
    weir_rd rd;
    weir_rd_init(&rd, buf, len);
    int16_t version = weir_rd_i16(&rd, "TransactionLogKey.Version");
    if (weir_rd_ok(&rd) && version != 0) {
        return WEIR_E_UNSUPPORTED;
    }
    *tid_out = weir_rd_string(&rd, "TransactionLogKey.TransactionalId");
    return weir_rd_ok(&rd) ? 0 : WEIR_E_CORRUPT;
}

int weir_txn_log_value_read(const uint8_t *buf, size_t len, weir_arena *a, weir_txn_log_value *out)
{
    memset(out, 0, sizeof *out);
    weir_rd rd;
    weir_rd_init(&rd, buf, len);
    int16_t version = weir_rd_i16(&rd, "TransactionLogValue.Version");
    if (weir_rd_ok(&rd) && version != 0) {
        return WEIR_E_UNSUPPORTED;
    }
    out->producer_id = weir_rd_i64(&rd, "ProducerId");
    out->producer_epoch = weir_rd_i16(&rd, "ProducerEpoch");
    out->timeout_ms = weir_rd_i32(&rd, "TransactionTimeoutMs");
    out->status = weir_rd_i8(&rd, "TransactionStatus");
    int32_t topics = weir_rd_array_count(&rd, "TransactionPartitions", true, 6);
    out->n_parts = topics < 0 ? -1 : 0;
    /* Two passes: count partitions first (the array sizes are bounded by len). */
    size_t mark = weir_rd_pos(&rd);
    int32_t total = 0;
    for (int32_t i = 0; i < topics && weir_rd_ok(&rd); i++) {
        weir_rd_string(&rd, "Topic");
        int32_t n = weir_rd_array_count(&rd, "PartitionIds", false, 4);
        for (int32_t k = 0; k < n && weir_rd_ok(&rd); k++) {
            weir_rd_i32(&rd, "PartitionId");
        }
        total += n;
    }
    if (!weir_rd_ok(&rd)) {
        return WEIR_E_CORRUPT;
    }
    weir_txn_log_tp *parts = NULL;
    if (topics > 0) {
        parts = weir_arena_alloc_array(a, (size_t)total, sizeof *parts);
        if (parts == NULL && total > 0) {
            return WEIR_E_NOMEM;
        }
        weir_rd_init(&rd, buf + mark, len - mark);
        int32_t at = 0;
        for (int32_t i = 0; i < topics; i++) {
            weir_str topic = weir_rd_string(&rd, "Topic");
            int32_t n = weir_rd_array_count(&rd, "PartitionIds", false, 4);
            for (int32_t k = 0; k < n; k++) {
                parts[at].topic = topic;
                parts[at].partition = weir_rd_i32(&rd, "PartitionId");
                at++;
            }
        }
        WEIR_ASSERT(at == total && weir_rd_ok(&rd));
        out->n_parts = total;
    }
    out->parts = parts;
    out->last_update_ms = weir_rd_i64(&rd, "TransactionLastUpdateTimestampMs");
    out->start_ms = weir_rd_i64(&rd, "TransactionStartTimestampMs");
    return weir_rd_ok(&rd) ? 0 : WEIR_E_CORRUPT;
}
