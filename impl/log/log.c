#include "log/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"
#include "core/units.h"
#include "log/checkpoint.h"
#include "log/snapshot.h"

struct weir_plog {
    weir_env *env;
    char *dir;
    char topic[WEIR_LOG_TOPIC_MAX + 1];
    int32_t partition;
    weir_log_config cfg;
    weir_segment_config seg_cfg;
    weir_segment **segs; /* ascending base offsets, contiguous; the last is active */
    size_t n;
    size_t cap;
    int64_t recovery_point;  /* everything below is synced */
    weir_epoch_cache epochs;
    int64_t hw;              /* last HW checkpointed, -1 if none */
    weir_pstate *ps;         /* producer state after the last batch */
    int64_t *snaps;          /* offsets of the <offset>.snapshot files, ascending */
    size_t n_snaps;
    size_t cap_snaps;
};

void weir_log_config_default(weir_log_config *cfg)
{
    cfg->segment_bytes = 1024ull * 1024 * 1024;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->segment_index_bytes = 10 * 1024 * 1024;
    cfg->index_interval_bytes = 4096;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->max_message_bytes = 1048588;
}

/* Integer settings that accept -1 where Kafka means "unlimited". */
static int parse_setting(const char *value, bool allow_neg1, int64_t min, int64_t max, int64_t *out)
{
    if (allow_neg1 && strcmp(value, "-1") == 0) {
        *out = -1;
        return 0;
    }
    uint64_t v;
    if (weir_parse_u64(value, &v) != 0 || v > (uint64_t)max || (int64_t)v < min) {
        return WEIR_E_INVAL;
    }
    *out = (int64_t)v;
    return 0;
}

int weir_log_config_set(weir_log_config *cfg, const char *key, const char *value, const char **why)
{
    int64_t v = 0;
    int err;
    if (strcmp(key, "segment.bytes") == 0 || strcmp(key, "log.segment.bytes") == 0) {
        err = parse_setting(value, false, 14, UINT32_MAX, &v);
        *why = "segment.bytes must be an integer in [14, 4294967295]";
        if (err == 0) {
            cfg->segment_bytes = (uint64_t)v;
        }
    } else if (strcmp(key, "segment.ms") == 0 || strcmp(key, "log.roll.ms") == 0) {
        err = parse_setting(value, false, 1, INT64_MAX, &v);
        *why = "segment.ms must be a positive integer";
        if (err == 0) {
            cfg->segment_ms = v;
        }
    } else if (strcmp(key, "segment.index.bytes") == 0 ||
               strcmp(key, "log.index.size.max.bytes") == 0) {
        err = parse_setting(value, false, 24, INT32_MAX, &v);
        *why = "segment.index.bytes must be an integer in [24, 2147483647]";
        if (err == 0) {
            cfg->segment_index_bytes = (uint32_t)v;
        }
    } else if (strcmp(key, "index.interval.bytes") == 0 ||
               strcmp(key, "log.index.interval.bytes") == 0) {
        err = parse_setting(value, false, 0, INT32_MAX, &v);
        *why = "index.interval.bytes must be an integer >= 0";
        if (err == 0) {
            cfg->index_interval_bytes = (uint32_t)v;
        }
    } else if (strcmp(key, "retention.ms") == 0 || strcmp(key, "log.retention.ms") == 0) {
        err = parse_setting(value, true, 0, INT64_MAX, &v);
        *why = "retention.ms must be -1 or an integer >= 0";
        if (err == 0) {
            cfg->retention_ms = v;
        }
    } else if (strcmp(key, "retention.bytes") == 0 || strcmp(key, "log.retention.bytes") == 0) {
        err = parse_setting(value, true, 0, INT64_MAX, &v);
        *why = "retention.bytes must be -1 or an integer >= 0";
        if (err == 0) {
            cfg->retention_bytes = v;
        }
    } else if (strcmp(key, "max.message.bytes") == 0 || strcmp(key, "message.max.bytes") == 0) {
        err = parse_setting(value, false, WEIR_BATCH_HEADER_BYTES, INT32_MAX, &v);
        *why = "max.message.bytes must be an integer in [61, 2147483647]";
        if (err == 0) {
            cfg->max_message_bytes = (uint32_t)v;
        }
    } else {
        *why = "unknown log setting";
        return WEIR_E_NOENT;
    }
    return err;
}

int weir_log_parse_dir_name(const char *dir, char *topic, size_t topic_size, int32_t *partition_out)
{
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    const char *dash = strrchr(base, '-');
    if (dash == NULL || dash == base || dash[1] == '\0') {
        return WEIR_E_INVAL;
    }
    size_t tlen = (size_t)(dash - base);
    if (tlen > WEIR_LOG_TOPIC_MAX || tlen >= topic_size) {
        return WEIR_E_INVAL;
    }
    uint64_t p;
    if (weir_parse_u64(dash + 1, &p) != 0 || p > INT32_MAX) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < tlen; i++) {
        char c = base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return WEIR_E_INVAL;
        }
    }
    memcpy(topic, base, tlen);
    topic[tlen] = '\0';
    *partition_out = (int32_t)p;
    return 0;
}

/* ---- accessors ---- */

const char *weir_plog_topic(const weir_plog *log) { return log->topic; }
int32_t weir_plog_partition(const weir_plog *log) { return log->partition; }
const char *weir_plog_dir(const weir_plog *log) { return log->dir; }
size_t weir_plog_segment_count(const weir_plog *log) { return log->n; }
const weir_epoch_cache *weir_plog_epochs(const weir_plog *log) { return &log->epochs; }
int64_t weir_plog_recovery_point(const weir_plog *log) { return log->recovery_point; }

const weir_segment *weir_plog_segment_at(const weir_plog *log, size_t i)
{
    WEIR_ASSERT(i < log->n);
    return log->segs[i];
}

static weir_segment *active(const weir_plog *log)
{
    WEIR_ASSERT(log->n > 0);
    return log->segs[log->n - 1];
}

int64_t weir_plog_start_offset(const weir_plog *log)
{
    return log->segs[0]->base_offset;
}

int64_t weir_plog_end_offset(const weir_plog *log)
{
    return active(log)->next_offset;
}

uint64_t weir_plog_size_bytes(const weir_plog *log)
{
    uint64_t total = 0;
    for (size_t i = 0; i < log->n; i++) {
        total += log->segs[i]->size;
    }
    return total;
}

/* ---- segment list ---- */

static int segs_push(weir_plog *log, weir_segment *seg)
{
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 8;
        weir_segment **ns = realloc(log->segs, cap * sizeof *ns);
        if (ns == NULL) {
            return WEIR_E_NOMEM;
        }
        log->segs = ns;
        log->cap = cap;
    }
    WEIR_ASSERT(log->n == 0 || seg->base_offset == active(log)->next_offset);
    log->segs[log->n++] = seg;
    return 0;
}

/* Deletes segments [from, n). */
static int segs_delete_tail(weir_plog *log, size_t from)
{
    int first_err = 0;
    while (log->n > from) {
        int err = weir_segment_delete(log->segs[--log->n]);
        if (err != 0 && first_err == 0) {
            first_err = err;
        }
    }
    return first_err;
}

static int write_recovery_point(weir_plog *log, int64_t offset)
{
    int err = weir_offset_checkpoint_write(log->env, log->dir, WEIR_RECOVERY_CHECKPOINT, log->topic,
                                           log->partition, offset);
    if (err == 0) {
        log->recovery_point = offset;
    }
    return err;
}

static int write_epochs(weir_plog *log)
{
    return weir_epoch_checkpoint_write(log->env, log->dir, log->epochs.e, log->epochs.n);
}

/* ---- producer snapshots ---- */

static int snaps_insert(weir_plog *log, int64_t offset)
{
    size_t at = log->n_snaps;
    while (at > 0 && log->snaps[at - 1] >= offset) {
        if (log->snaps[at - 1] == offset) {
            return 0;
        }
        at--;
    }
    if (log->n_snaps == log->cap_snaps) {
        size_t cap = log->cap_snaps ? log->cap_snaps * 2 : 8;
        int64_t *ns = realloc(log->snaps, cap * sizeof *ns);
        if (ns == NULL) {
            return WEIR_E_NOMEM;
        }
        log->snaps = ns;
        log->cap_snaps = cap;
    }
    memmove(log->snaps + at + 1, log->snaps + at, (log->n_snaps - at) * sizeof *log->snaps);
    log->snaps[at] = offset;
    log->n_snaps++;
    return 0;
}

/* The snapshot files in a folder listing. */
static int snaps_from_list(weir_plog *log, const weir_dirlist *list)
{
    for (size_t i = 0; i < list->count; i++) {
        int64_t off = weir_segment_parse_name(list->names[i], "snapshot");
        int err = off >= 0 ? snaps_insert(log, off) : 0;
        if (err != 0) {
            return err;
        }
    }
    return 0;
}

static void snapshot_path(char *out, size_t size, const weir_plog *log, int64_t offset)
{
    snprintf(out, size, "%s/%020lld.snapshot", log->dir, (long long)offset);
}

/* Deletes the i-th snapshot (a missing file counts as deleted). */
static int snapshot_delete_at(weir_plog *log, size_t i)
{
    char path[1100];
    snapshot_path(path, sizeof path, log, log->snaps[i]);
    int err = weir_fs_unlink(log->env, path);
    if (err != 0 && err != WEIR_E_NOENT) {
        return err;
    }
    memmove(log->snaps + i, log->snaps + i + 1, (log->n_snaps - i - 1) * sizeof *log->snaps);
    log->n_snaps--;
    return 0;
}

/* Deletes the snapshots above offset (all of them for offset < 0). */
static int snapshots_drop_after(weir_plog *log, int64_t offset)
{
    int err = 0;
    while (err == 0 && log->n_snaps > 0 && log->snaps[log->n_snaps - 1] > offset) {
        err = snapshot_delete_at(log, log->n_snaps - 1);
    }
    return err;
}

/* Keeps the newest two and the newest at or below the recovery point (where
 * a crash makes the next open replay from). */
static int snapshots_prune(weir_plog *log)
{
    size_t keep_rp = SIZE_MAX;
    for (size_t i = 0; i < log->n_snaps && log->snaps[i] <= log->recovery_point; i++) {
        keep_rp = i;
    }
    int err = 0;
    for (size_t i = log->n_snaps; err == 0 && i-- > 0;) {
        if (i + 2 < log->n_snaps && i != keep_rp) {
            err = snapshot_delete_at(log, i);
        }
    }
    return err;
}

/* Writes <offset>.snapshot of the current state, which must describe exactly
 * the batches below offset. A file of that name is kept as it is: snapshots
 * above the log end are deleted on truncation, so one at an offset always
 * describes the same log prefix (Kafka skips a snapshot it already has too). */
static int snapshot_take(weir_plog *log, int64_t offset)
{
    WEIR_ASSERT(offset == weir_plog_end_offset(log));
    char path[1100];
    snapshot_path(path, sizeof path, log, offset);
    bool is_dir = false;
    uint64_t size = 0;
    int err = 0;
    if (weir_fs_stat(log->env, path, &is_dir, &size) != 0) {
        weir_producer_entry *e;
        size_t n;
        err = weir_pstate_to_entries(log->ps, &e, &n);
        if (err == 0) {
            err = weir_snapshot_write(log->env, log->dir, offset, e, n);
            free(e);
        }
    }
    if (err == 0) {
        err = snaps_insert(log, offset);
    }
    if (err == 0) {
        err = snapshots_prune(log);
    }
    return err;
}

/* A snapshot that only saves replay work later: a failure is logged, not
 * returned (the next open replays from an older one). */
static void snapshot_try(weir_plog *log, int64_t offset)
{
    int err = snapshot_take(log, offset);
    if (err != 0) {
        weir_log_warn(log->env, "%s: producer snapshot at %lld not written: %s", log->dir,
                      (long long)offset, weir_err_str(err));
    }
}

/* ---- producer state ---- */

static size_t segment_for(const weir_plog *log, int64_t offset);

/* Feeds one batch of the log (appended at seg, or replayed) to producer
 * state; an ABORT that closed a transaction goes into seg's .txnindex. Kept
 * out of line: the append path of batches without producer only tests the id. */
__attribute__((noinline)) static int pstate_track(weir_plog *log, weir_segment *seg,
                                                  const weir_batch_header *h, const uint8_t *b,
                                                  size_t len, bool index)
{
    weir_pstate_txn done;
    int rc = weir_pstate_apply_batch(log->ps, h, b, len, &done);
    if (rc <= 0 || !done.aborted || !index) {
        return rc < 0 ? rc : 0;
    }
    weir_aborted_txn t = {done.producer_id, done.first_offset, done.last_offset,
                          done.last_stable_offset};
    return weir_txn_index_append(&seg->txn, &t);
}

/* Replays the batches in [from, end) into producer state, reading each
 * segment in chunks into one buffer; only batches with a producer id are
 * decoded. With `index`, the .txnindex entries from `from` on are written
 * again (after a crash they may be torn or missing) and synced. */
static int pstate_replay(weir_plog *log, int64_t from, bool index, int64_t *batches_out)
{
    *batches_out = 0;
    if (from >= weir_plog_end_offset(log)) {
        return 0;
    }
    size_t first_seg = segment_for(log, from);
    int err = 0;
    for (size_t i = first_seg; index && err == 0 && i < log->n; i++) {
        err = weir_txn_index_truncate(&log->segs[i]->txn, from);
    }
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = first_seg; err == 0 && i < log->n; i++) {
        weir_segment *seg = log->segs[i];
        uint64_t pos = 0;
        if (seg->next_offset <= from) {
            continue;
        }
        if (from > seg->base_offset) {
            err = weir_segment_find(seg, from, &pos, NULL);
        }
        while (err == 0 && pos < seg->size) {
            size_t len = 0;
            err = weir_segment_read(seg, pos, 1 << 20, true, NULL, &buf, &len, &cap);
            if (err == 0 && len == 0) {
                err = WEIR_E_CORRUPT; /* no progress */
            }
            /* weir_segment_read returned whole, sanity-checked batches. */
            for (size_t at = 0; err == 0 && at < len;) {
                const uint8_t *b = buf + at;
                size_t total = (size_t)weir_get_be32(b + 8) + WEIR_BATCH_LOG_OVERHEAD;
                if ((int64_t)weir_get_be64(b + 43) >= 0) {
                    weir_batch_header h;
                    weir_batch_header_decode(b, &h);
                    if (weir_batch_last_offset(&h) >= from) {
                        err = pstate_track(log, seg, &h, b, total, index);
                    }
                }
                (*batches_out)++;
                at += total;
            }
            pos += len;
        }
    }
    free(buf);
    for (size_t i = first_seg; index && err == 0 && i < log->n; i++) {
        err = weir_txn_index_sync(&log->segs[i]->txn);
    }
    return err;
}

/* Loads the newest readable snapshot at or below ceiling (deleting unreadable
 * ones) into producer state, or clears it; returns the offset to replay
 * from in *from_out and the snapshot's offset (-1) in *snap_out. */
static int pstate_load(weir_plog *log, int64_t ceiling, int64_t *from_out, int64_t *snap_out,
                       int *dropped)
{
    *snap_out = -1;
    for (size_t i = log->n_snaps; i-- > 0;) {
        int64_t off = log->snaps[i];
        if (off > ceiling) {
            continue;
        }
        weir_producer_entry *e = NULL;
        size_t n = 0;
        const char *why = "";
        int err = weir_snapshot_read(log->env, log->dir, off, &e, &n, &why);
        if (err == 0) {
            err = weir_pstate_load_entries(log->ps, e, n);
            why = "repeated or negative producer id";
            free(e);
        }
        if (err == 0) {
            *snap_out = off;
            break;
        }
        if (err != WEIR_E_CORRUPT && err != WEIR_E_NOENT) {
            return err;
        }
        weir_log_warn(log->env, "%s: %020lld.snapshot: %s; deleting it", log->dir, (long long)off,
                      err == WEIR_E_NOENT ? "gone" : why);
        if ((err = snapshot_delete_at(log, i)) != 0) {
            return err;
        }
        (*dropped)++;
    }
    int64_t start = weir_plog_start_offset(log);
    if (*snap_out < 0) {
        weir_pstate_clear(log->ps);
        *from_out = start;
    } else {
        /* Completed transactions below the snapshot stay (truncation keeps them). */
        weir_pstate_drop_completed_from(log->ps, *snap_out);
        *from_out = *snap_out > start ? *snap_out : start;
    }
    return 0;
}

/* At open: snapshots past the end are stale; load, replay (rewriting the
 * .txnindex after an unclean shutdown), and after a replay that recovered
 * something, snapshot the end so the next crash replays less. */
static int pstate_open(weir_plog *log, int64_t ceiling, bool clean, weir_log_recovery *rep)
{
    int64_t end = weir_plog_end_offset(log);
    size_t before = log->n_snaps;
    int err = snapshots_drop_after(log, end);
    rep->snapshots_dropped += (int)(before - log->n_snaps);
    int64_t from = end;
    if (err == 0) {
        err = pstate_load(log, ceiling < end ? ceiling : end, &from, &rep->snapshot_offset,
                          &rep->snapshots_dropped);
    }
    if (err == 0) {
        err = pstate_replay(log, from, !clean, &rep->batches_replayed);
    }
    if (err == 0 && log->hw >= 0) {
        weir_pstate_forget_completed_below(log->ps, log->hw);
    }
    if (err == 0 && !clean && rep->batches_replayed > 0) {
        snapshot_try(log, end);
    }
    return err;
}

/* After a truncation: reload from the newest snapshot at or below the end. */
static int pstate_reload(weir_plog *log)
{
    int64_t end = weir_plog_end_offset(log);
    int64_t from, snap, replayed;
    int dropped = 0;
    int err = snapshots_drop_after(log, end);
    if (err == 0) {
        err = pstate_load(log, end, &from, &snap, &dropped);
    }
    if (err == 0) {
        err = pstate_replay(log, from, false, &replayed);
    }
    return err;
}

/* ---- open and recovery ---- */

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static void join(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* Removes leftovers of interrupted operations; returns how many. */
static int remove_strays(weir_plog *log, const weir_dirlist *list)
{
    int removed = 0;
    char path[1024];
    for (size_t i = 0; i < list->count; i++) {
        const char *name = list->names[i];
        bool stray = has_suffix(name, ".tmp") || has_suffix(name, ".deleted") ||
                     has_suffix(name, ".cleaned") || has_suffix(name, ".swap");
        int64_t base = weir_segment_parse_name(name, "index");
        if (base < 0) {
            base = weir_segment_parse_name(name, "timeindex");
        }
        if (base < 0) {
            base = weir_segment_parse_name(name, "txnindex");
        }
        if (base >= 0) {
            char log_name[40];
            snprintf(log_name, sizeof log_name, "%020lld.log", (long long)base);
            bool found = false;
            for (size_t j = 0; j < list->count && !found; j++) {
                found = strcmp(list->names[j], log_name) == 0;
            }
            stray = !found; /* an index whose .log is gone */
        }
        if (stray) {
            join(path, sizeof path, log->dir, name);
            if (weir_fs_unlink(log->env, path) == 0) {
                removed++;
                weir_log_info(log->env, "%s: removed leftover file %s", log->dir, name);
            }
        }
    }
    return removed;
}

typedef struct epoch_rebuild {
    weir_epoch_cache *c;
    int err;
} epoch_rebuild;

static void epoch_each(const weir_batch_header *h, uint64_t pos, const uint8_t *b, void *arg)
{
    (void)pos;
    (void)b;
    epoch_rebuild *r = arg;
    bool changed;
    if (r->err == 0 && h->leader_epoch >= 0) {
        r->err = weir_epoch_cache_assign(r->c, h->leader_epoch, h->base_offset, &changed);
    }
}

/* Loads leader-epoch-checkpoint, or rebuilds it from the batches' epochs. */
static int load_epochs(weir_plog *log, weir_log_recovery *rep)
{
    char why[160];
    weir_epoch_entry *e = NULL;
    size_t n = 0;
    int err = weir_epoch_checkpoint_read(log->env, log->dir, &e, &n, why, sizeof why);
    if (err == 0) {
        log->epochs.e = e;
        log->epochs.n = n;
        log->epochs.cap = n;
        bool a = weir_epoch_cache_truncate_end(&log->epochs, weir_plog_end_offset(log));
        bool b = weir_epoch_cache_truncate_start(&log->epochs, weir_plog_start_offset(log));
        return a || b ? write_epochs(log) : 0;
    }
    if (err == WEIR_E_CORRUPT) {
        weir_log_warn(log->env, "%s: %s; rebuilding it from the batches", log->dir, why);
    } else if (err != WEIR_E_NOENT) {
        return err;
    }
    rep->epochs_rebuilt = weir_plog_end_offset(log) > weir_plog_start_offset(log);
    epoch_rebuild r = {&log->epochs, 0};
    for (size_t i = 0; i < log->n && r.err == 0; i++) {
        weir_segment_scan scan;
        err = weir_segment_scan_file(log->env, log->segs[i]->log, log->segs[i]->base_offset, &scan,
                                     epoch_each, &r);
        if (err != 0) {
            return err;
        }
    }
    return r.err != 0 ? r.err : write_epochs(log);
}

static void report_cut(weir_log_recovery *rep, const weir_segment *seg, uint64_t pos,
                       uint64_t bytes, int64_t offset, const char *why)
{
    if (!rep->cut) {
        rep->cut = true;
        rep->cut_offset = offset;
        rep->cut_position = pos;
        rep->cut_reason = why;
        const char *slash = strrchr(seg->prefix, '/');
        snprintf(rep->cut_segment, sizeof rep->cut_segment, "%s.log", slash ? slash + 1 : seg->prefix);
    }
    rep->cut_bytes += bytes;
}

static int open_segments(weir_plog *log, const weir_dirlist *list, bool clean, weir_log_recovery *rep)
{
    for (size_t i = 0; i < list->count; i++) {
        int64_t base = weir_segment_parse_name(list->names[i], "log");
        if (base < 0) {
            continue;
        }
        if (rep->cut) {
            /* Everything after a cut is unreachable: offsets must stay contiguous. */
            char path[1024];
            weir_segment *doomed;
            bool rebuilt;
            if (weir_segment_open(log->env, log->dir, base, &log->seg_cfg, false, NULL, &rebuilt,
                                  &doomed) == 0) {
                rep->cut_bytes += doomed->size;
                weir_ignore(weir_segment_delete(doomed));
            } else {
                snprintf(path, sizeof path, "%s/%s", log->dir, list->names[i]);
                weir_ignore(weir_fs_unlink(log->env, path));
            }
            rep->segments_deleted++;
            continue;
        }
        /* The next .log's base bounds this segment's offsets: recover it if it
         * may hold anything at or past the recovery point. */
        int64_t next_base = INT64_MAX;
        for (size_t j = i + 1; j < list->count; j++) {
            int64_t b = weir_segment_parse_name(list->names[j], "log");
            if (b >= 0) {
                next_base = b;
                break;
            }
        }
        bool recover = !clean && next_base > log->recovery_point;
        weir_segment_scan scan;
        bool rebuilt = false;
        weir_segment *seg;
        int err = weir_segment_open(log->env, log->dir, base, &log->seg_cfg, recover, &scan,
                                    &rebuilt, &seg);
        if (err != 0) {
            return err;
        }
        rep->segments++;
        if (rebuilt) {
            rep->indexes_rebuilt++;
            rep->segments_scanned++;
            rep->batches_scanned += scan.batches;
            rep->bytes_scanned += scan.valid_bytes;
        }
        if (log->n > 0 && base != active(log)->next_offset) {
            /* A gap or overlap between segments: keep the prefix that is contiguous. */
            report_cut(rep, seg, 0, seg->size, active(log)->next_offset,
                       "segment does not continue the previous one's offsets");
            weir_ignore(weir_segment_delete(seg));
            rep->segments_deleted++;
            continue;
        }
        if (scan.damaged) {
            report_cut(rep, seg, scan.valid_bytes, scan.file_bytes - scan.valid_bytes,
                       scan.next_offset, scan.why);
        }
        if (log->n > 0) {
            /* The previous segment is no longer active. */
            if ((err = weir_segment_seal(active(log))) != 0) {
                weir_segment_free(seg);
                return err;
            }
        }
        if ((err = segs_push(log, seg)) != 0) {
            weir_segment_free(seg);
            return err;
        }
    }
    return 0;
}

static void log_free(weir_plog *log)
{
    for (size_t i = 0; i < log->n; i++) {
        weir_segment_free(log->segs[i]);
    }
    free(log->segs);
    weir_epoch_cache_free(&log->epochs);
    weir_pstate_free(log->ps);
    free(log->snaps);
    free(log->dir);
    free(log);
}

void weir_plog_abandon(weir_plog *log)
{
    if (log != NULL) {
        log_free(log);
    }
}

int weir_plog_open(weir_env *env, const char *dir, const weir_log_config *cfg,
                  weir_log_recovery *report, weir_plog **out)
{
    weir_log_recovery local;
    weir_log_recovery *rep = report != NULL ? report : &local;
    memset(rep, 0, sizeof *rep);
    rep->cut_offset = -1;
    rep->snapshot_offset = -1;
    weir_plog *log = calloc(1, sizeof *log);
    if (log == NULL || (log->dir = strdup(dir)) == NULL || (log->ps = weir_pstate_new()) == NULL) {
        if (log != NULL) {
            free(log->dir);
        }
        free(log);
        return WEIR_E_NOMEM;
    }
    log->env = env;
    log->cfg = *cfg;
    log->seg_cfg.index_interval_bytes = cfg->index_interval_bytes;
    log->seg_cfg.index_bytes = cfg->segment_index_bytes;
    log->hw = -1;
    int err = weir_log_parse_dir_name(dir, log->topic, sizeof log->topic, &log->partition);
    if (err != 0) {
        weir_log_error(env, "%s: a partition folder is named <topic>-<partition>", dir);
        log_free(log);
        return err;
    }
    bool is_dir = false;
    bool created = false;
    uint64_t size;
    err = weir_fs_stat(env, dir, &is_dir, &size);
    if (err == WEIR_E_NOENT) {
        err = weir_fs_mkdir(env, dir);
        is_dir = err == 0;
        created = is_dir;
    }
    if (err == 0 && !is_dir) {
        err = WEIR_E_NOTDIR;
    }
    weir_dirlist list = {0};
    if (err == 0) {
        err = weir_fs_list(env, dir, &list);
    }
    if (err != 0) {
        log_free(log);
        return err;
    }
    rep->stray_files_removed = remove_strays(log, &list);

    char path[1024];
    join(path, sizeof path, dir, WEIR_CLEAN_SHUTDOWN);
    bool clean = false;
    for (size_t i = 0; i < list.count; i++) {
        clean = clean || strcmp(list.names[i], WEIR_CLEAN_SHUTDOWN) == 0;
    }
    if (clean) {
        /* Gone before the first new write, so a crash from here on recovers. */
        err = weir_fs_unlink(env, path);
    }
    rep->clean = clean || created; /* a new folder has nothing to recover */
    clean = rep->clean;

    char why[160] = "";
    log->recovery_point = 0;
    if (err == 0 && !clean) {
        int rerr = weir_offset_checkpoint_read(env, dir, WEIR_RECOVERY_CHECKPOINT, log->topic,
                                               log->partition, &log->recovery_point, why, sizeof why);
        if (rerr == WEIR_E_CORRUPT) {
            weir_log_warn(env, "%s: %s; recovering every segment", dir, why);
        }
        if (rerr != 0) {
            log->recovery_point = 0;
        }
    }
    /* Producer state replays from a snapshot at or below where recovery starts. */
    int64_t replay_ceiling = clean ? INT64_MAX : log->recovery_point;
    if (err == 0) {
        err = snaps_from_list(log, &list);
    }
    if (err == 0) {
        err = open_segments(log, &list, clean, rep);
    }
    if (err == 0 && log->n == 0) {
        int64_t start = 0;
        if (weir_offset_checkpoint_read(env, dir, WEIR_LOG_START_CHECKPOINT, log->topic,
                                        log->partition, &start, why, sizeof why) != 0) {
            start = 0;
        }
        weir_segment *seg;
        err = weir_segment_create(env, dir, start, &log->seg_cfg, &seg);
        if (err == 0 && (err = segs_push(log, seg)) != 0) {
            weir_segment_free(seg);
        }
    }
    weir_fs_list_free(&list);
    if (err == 0) {
        err = weir_segment_unseal(active(log));
    }
    if (err == 0) {
        err = load_epochs(log, rep);
    }
    if (err == 0 && !clean) {
        /* What recovery kept is now checked; make it durable and move the point. */
        err = weir_segment_sync(active(log));
        if (err == 0) {
            err = write_recovery_point(log, weir_plog_end_offset(log));
        }
    } else if (err == 0) {
        log->recovery_point = weir_plog_end_offset(log);
    }
    if (err == 0) {
        int64_t hw;
        if (weir_plog_hw_read(log, &hw) == 0 && hw > weir_plog_end_offset(log)) {
            err = weir_plog_hw_write(log, weir_plog_end_offset(log));
        }
    }
    if (err == 0) {
        err = pstate_open(log, replay_ceiling, clean, rep);
    }
    if (err != 0) {
        log_free(log);
        return err;
    }
    if (rep->cut) {
        weir_log_warn(env,
                      "%s: recovery cut %llu bytes at %s byte %llu (%s); log now ends at offset "
                      "%lld, %d later segment(s) deleted",
                      dir, (unsigned long long)rep->cut_bytes, rep->cut_segment,
                      (unsigned long long)rep->cut_position, rep->cut_reason,
                      (long long)rep->cut_offset, rep->segments_deleted);
    }
    *out = log;
    return 0;
}

int weir_plog_close(weir_plog *log)
{
    int err = weir_segment_seal(active(log));
    if (err == 0) {
        err = write_recovery_point(log, weir_plog_end_offset(log));
    }
    if (err == 0) {
        err = snapshot_take(log, weir_plog_end_offset(log));
    }
    if (err == 0) {
        err = weir_checkpoint_replace(log->env, log->dir, WEIR_CLEAN_SHUTDOWN, "", 0);
    }
    log_free(log);
    return err;
}

/* ---- append ---- */

/* Checks every batch of a record set; stops at the first error. *batches_out
 * is their number; *producer_out says whether producer state must look at
 * the set (a producer id, or the transactional or control bit). */
static int validate_set(weir_plog *log, const uint8_t *p, size_t len, bool leader,
                        int64_t expect_base, int *batches_out, bool *producer_out, const char **why)
{
    size_t at = 0;
    int batches = 0;
    bool producer = false;
    while (at < len) {
        if (len - at < WEIR_BATCH_HEADER_BYTES) {
            *why = "record set ends inside a batch header";
            return WEIR_E_CORRUPT;
        }
        weir_batch_header h;
        weir_batch_header_decode(p + at, &h);
        uint64_t total = h.length < 0 ? 0 : weir_batch_total_bytes(&h);
        if (total < WEIR_BATCH_HEADER_BYTES || total > len - at) {
            *why = "batch length field runs past the record set";
            return WEIR_E_CORRUPT;
        }
        if (total > log->cfg.max_message_bytes) {
            *why = "batch larger than max.message.bytes";
            return WEIR_E_INVAL;
        }
        int err = leader ? weir_batch_validate_records(p + at, (size_t)total, why)
                         : weir_batch_validate(p + at, (size_t)total, &h, why);
        if (err != 0) {
            return err;
        }
        if (!leader) {
            if (h.base_offset != expect_base) {
                *why = "follower batch does not start at the log end";
                return WEIR_E_INVAL;
            }
            expect_base = weir_batch_last_offset(&h) + 1;
        }
        producer |= h.producer_id >= 0 ||
                    (h.attributes & (WEIR_BATCH_TRANSACTIONAL | WEIR_BATCH_CONTROL)) != 0;
        at += (size_t)total;
        batches++;
    }
    if (batches == 0) {
        *why = "empty record set";
        return WEIR_E_INVAL;
    }
    *batches_out = batches;
    *producer_out = producer;
    return 0;
}

static int roll_to(weir_plog *log, int64_t base)
{
    weir_segment *old = active(log);
    WEIR_ASSERT(base == old->next_offset);
    int err = weir_segment_seal(old);
    if (err != 0) {
        return err;
    }
    /* The sealed segment is synced: the recovery point moves to its end, and
     * producer state (which describes exactly the batches below) is saved
     * (Kafka's snapshot on roll). */
    if ((err = write_recovery_point(log, base)) != 0) {
        return err;
    }
    snapshot_try(log, base);
    weir_segment *seg;
    if ((err = weir_segment_create(log->env, log->dir, base, &log->seg_cfg, &seg)) != 0) {
        return err;
    }
    if ((err = segs_push(log, seg)) != 0) {
        weir_ignore(weir_segment_delete(seg));
        return err;
    }
    return 0;
}

static int append_one(weir_plog *log, const uint8_t *b, size_t len, const weir_batch_header *h,
                      weir_log_append_info *info)
{
    weir_segment *seg = active(log);
    int err;
    if (weir_segment_roll_due(seg, h, len, log->cfg.segment_bytes, log->cfg.segment_ms,
                              weir_wall_ms(log->env))) {
        if ((err = roll_to(log, h->base_offset)) != 0) {
            return err;
        }
        info->rolled++;
        seg = active(log);
    }
    if ((err = weir_plog_assign_epoch(log, h->leader_epoch, h->base_offset)) != 0) {
        return err;
    }
    if ((err = weir_segment_append(seg, b, len, h)) != 0) {
        return err;
    }
    if (h->producer_id >= 0 && (err = pstate_track(log, seg, h, b, len, true)) != 0) {
        return err;
    }
    if (info->batches == 0) {
        info->first_offset = h->base_offset;
    }
    info->last_offset = weir_batch_last_offset(h);
    if (h->max_timestamp > info->max_timestamp) {
        info->max_timestamp = h->max_timestamp;
    }
    info->batches++;
    return 0;
}

static void info_init(weir_log_append_info *info, const weir_plog *log)
{
    memset(info, 0, sizeof *info);
    info->first_offset = weir_plog_end_offset(log);
    info->last_offset = info->first_offset - 1;
    info->max_timestamp = -1;
}

/* What Kafka's LogValidator refuses from clients whatever the state. */
static weir_pstate_result client_batch_rule(const weir_batch_header *h)
{
    if ((h->attributes & WEIR_BATCH_CONTROL) != 0 ||
        (h->producer_id < 0 && (h->attributes & WEIR_BATCH_TRANSACTIONAL) != 0) ||
        (h->producer_id >= 0 && h->base_sequence < 0)) {
        return WEIR_PSTATE_INVALID_RECORD;
    }
    return WEIR_PSTATE_OK;
}

static int producer_refused(weir_log_append_info *in, weir_pstate_result r, const char **why)
{
    in->producer_error = (int)r;
    *why = weir_pstate_result_str(r);
    return WEIR_E_PRODUCER;
}

/* Checks a leader's record set against producer state before anything is
 * appended. Each producer's batches are checked against a scratch copy of
 * its entry that the batches before them in the set have advanced. Returns 0
 * to append, 1 for a set of one duplicate batch (info filled with the
 * original's offsets), WEIR_E_PRODUCER or WEIR_E_NOMEM. */
__attribute__((noinline)) static int check_producers(weir_plog *log, const uint8_t *p, size_t len,
                                                     int count, weir_log_append_info *in,
                                                     const char **why)
{
    weir_pstate_entry stack[2];
    weir_pstate_entry *scratch = stack;
    size_t n = 0;
    if ((size_t)count > sizeof stack / sizeof stack[0] &&
        (scratch = malloc((size_t)count * sizeof *scratch)) == NULL) {
        return WEIR_E_NOMEM;
    }
    int err = 0;
    int64_t offset = weir_plog_end_offset(log); /* where each batch will land */
    for (size_t at = 0; err == 0 && at < len;) {
        weir_batch_header h;
        weir_batch_header_decode(p + at, &h);
        at += (size_t)weir_batch_total_bytes(&h);
        int64_t first = offset;
        offset += (int64_t)h.last_offset_delta + 1;
        weir_pstate_result r = client_batch_rule(&h);
        if (r != WEIR_PSTATE_OK || h.producer_id < 0) {
            err = r != WEIR_PSTATE_OK ? producer_refused(in, r, why) : 0;
            continue;
        }
        size_t k = 0;
        while (k < n && scratch[k].producer_id != h.producer_id) {
            k++;
        }
        if (k == n) {
            const weir_pstate_entry *e = weir_pstate_find(log->ps, h.producer_id);
            if (e != NULL) {
                scratch[n++] = *e;
            } else {
                /* No state: an empty entry checks the same way (any sequence). */
                memset(&scratch[n], 0, sizeof scratch[n]);
                scratch[n].producer_id = h.producer_id;
                scratch[n].epoch = -1;
                scratch[n].coordinator_epoch = -1;
                scratch[n].current_txn_first_offset = -1;
                scratch[n++].last_timestamp = -1;
            }
        }
        bool txn = (h.attributes & WEIR_BATCH_TRANSACTIONAL) != 0;
        weir_pstate_batch dup;
        int32_t last_seq = weir_batch_last_seq(&h);
        r = weir_pstate_entry_check(&scratch[k], h.producer_epoch, h.base_sequence, last_seq, txn,
                                    &dup);
        if (r == WEIR_PSTATE_DUPLICATE && count == 1) {
            in->duplicate = true;
            in->first_offset = dup.last_offset - dup.offset_delta;
            in->last_offset = dup.last_offset;
            in->max_timestamp = dup.timestamp;
            err = 1;
        } else if (r != WEIR_PSTATE_OK) {
            err = producer_refused(
                in, r == WEIR_PSTATE_DUPLICATE ? WEIR_PSTATE_DUPLICATE_SEQUENCE : r, why);
        } else {
            weir_pstate_entry_add_batch(&scratch[k], h.producer_epoch, h.base_sequence, last_seq,
                                        first, offset - 1, h.max_timestamp);
            if (txn && scratch[k].current_txn_first_offset < 0) {
                scratch[k].current_txn_first_offset = first;
            }
        }
    }
    if (scratch != stack) {
        free(scratch);
    }
    return err;
}

int weir_plog_append_leader(weir_plog *log, uint8_t *batches, size_t len, int32_t leader_epoch,
                           weir_log_append_info *info, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    weir_log_append_info local;
    weir_log_append_info *in = info != NULL ? info : &local;
    info_init(in, log);
    int count;
    bool producer;
    int err = validate_set(log, batches, len, true, 0, &count, &producer, reason);
    if (err == 0 && producer) {
        err = check_producers(log, batches, len, count, in, reason);
        if (err == 1) {
            return 0; /* a retry of a batch already in the log */
        }
    }
    if (err != 0) {
        return err;
    }
    for (size_t at = 0; at < len;) {
        weir_batch_header h;
        weir_batch_header_decode(batches + at, &h);
        size_t total = (size_t)weir_batch_total_bytes(&h);
        h.base_offset = weir_plog_end_offset(log);
        h.leader_epoch = leader_epoch;
        weir_batch_set_base_offset(batches + at, h.base_offset);
        weir_batch_set_leader_epoch(batches + at, leader_epoch);
        if ((err = append_one(log, batches + at, total, &h, in)) != 0) {
            *reason = "write failed";
            return err;
        }
        at += total;
    }
    return 0;
}

int weir_plog_append_follower(weir_plog *log, const uint8_t *batches, size_t len,
                             weir_log_append_info *info, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    weir_log_append_info local;
    weir_log_append_info *in = info != NULL ? info : &local;
    info_init(in, log);
    int count;
    bool producer;
    int err = validate_set(log, batches, len, false, weir_plog_end_offset(log), &count, &producer,
                           reason);
    if (err != 0) {
        return err;
    }
    for (size_t at = 0; at < len;) {
        weir_batch_header h;
        weir_batch_header_decode(batches + at, &h);
        size_t total = (size_t)weir_batch_total_bytes(&h);
        if ((err = append_one(log, batches + at, total, &h, in)) != 0) {
            *reason = "write failed";
            return err;
        }
        at += total;
    }
    return 0;
}

int weir_plog_append_marker(weir_plog *log, int64_t producer_id, int16_t producer_epoch,
                            int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                            weir_log_append_info *info, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    weir_log_append_info local;
    weir_log_append_info *in = info != NULL ? info : &local;
    info_init(in, log);
    if (producer_id < 0) {
        *reason = "a transaction marker needs a producer id";
        return WEIR_E_INVAL;
    }
    weir_pstate_result r =
        weir_pstate_check_marker(log->ps, producer_id, producer_epoch, coordinator_epoch);
    if (r != WEIR_PSTATE_OK) {
        return producer_refused(in, r, reason);
    }
    uint8_t key[4], value[6];
    weir_put_be16(key, 0); /* version */
    weir_put_be16(key + 2, commit ? WEIR_CONTROL_COMMIT : WEIR_CONTROL_ABORT);
    weir_put_be16(value, 0);
    weir_put_be32(value + 2, (uint32_t)coordinator_epoch);
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_set_attributes(&bb, WEIR_BATCH_TRANSACTIONAL | WEIR_BATCH_CONTROL);
    weir_batch_builder_set_producer(&bb, producer_id, producer_epoch, -1);
    weir_batch_builder_add(&bb, weir_wall_ms(log->env), key, sizeof key, value, sizeof value, NULL,
                           0);
    uint8_t *b;
    size_t len;
    int err = weir_batch_builder_finish(&bb, &b, &len);
    if (err == 0) {
        weir_batch_header h;
        weir_batch_header_decode(b, &h);
        h.base_offset = weir_plog_end_offset(log);
        h.leader_epoch = leader_epoch;
        weir_batch_set_base_offset(b, h.base_offset);
        weir_batch_set_leader_epoch(b, leader_epoch);
        err = append_one(log, b, len, &h, in);
        if (err != 0) {
            *reason = "write failed";
        }
    }
    weir_batch_builder_free(&bb);
    return err;
}

/* ---- producer state and transactions ---- */

int64_t weir_plog_lso(weir_plog *log, int64_t hw)
{
    weir_pstate_forget_completed_below(log->ps, hw);
    int64_t first = weir_pstate_first_unstable_offset(log->ps);
    return first >= 0 && first < hw ? first : hw;
}

int weir_plog_aborted_txns(const weir_plog *log, int64_t fetch_offset, int64_t upper_bound,
                          weir_aborted_txn **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t cap = 0;
    size_t i = fetch_offset <= weir_plog_start_offset(log) ? 0 : segment_for(log, fetch_offset);
    bool complete = false;
    int err = 0;
    for (; err == 0 && !complete && i < log->n; i++) {
        err = weir_txn_index_collect(&log->segs[i]->txn, fetch_offset, upper_bound, out, n_out,
                                     &cap, &complete);
    }
    if (err != 0 || *n_out == 0) {
        free(*out);
        *out = NULL;
        *n_out = 0;
    }
    return err;
}

bool weir_plog_producer(const weir_plog *log, int64_t producer_id, weir_pstate_entry *out)
{
    const weir_pstate_entry *e = weir_pstate_find(log->ps, producer_id);
    if (e != NULL) {
        *out = *e;
    }
    return e != NULL;
}

const weir_pstate *weir_plog_producer_state(const weir_plog *log)
{
    return log->ps;
}

/* ---- read ---- */

/* Index of the segment whose range holds offset (largest base <= offset). */
static size_t segment_for(const weir_plog *log, int64_t offset)
{
    size_t lo = 0, hi = log->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base_offset <= offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    WEIR_ASSERT(lo > 0);
    return lo - 1;
}

int weir_plog_read(weir_plog *log, int64_t offset, size_t max_bytes, bool min_one,
                  weir_log_read_result *out)
{
    memset(out, 0, sizeof *out);
    out->first_offset = offset;
    out->next_offset = offset;
    int64_t end = weir_plog_end_offset(log);
    if (offset < weir_plog_start_offset(log) || offset > end) {
        return WEIR_E_RANGE;
    }
    if (offset == end) {
        return 0;
    }
    size_t i = segment_for(log, offset);
    while (i < log->n && log->segs[i]->next_offset <= offset) {
        i++; /* an empty segment */
    }
    WEIR_ASSERT(i < log->n);
    weir_segment *seg = log->segs[i];
    uint64_t pos;
    weir_batch_header h;
    int err = weir_segment_find(seg, offset, &pos, &h);
    if (err == 0) {
        err = weir_segment_read(seg, pos, max_bytes, min_one, &h, &out->data, &out->len,
                                &out->cap);
    }
    /* Go on into the next segments while the budget lasts and every batch so
     * far fitted (the result stays one contiguous run of batches). */
    bool whole = err == 0 && out->len == seg->size - pos;
    while (whole && out->len < max_bytes && i + 1 < log->n) {
        size_t before = out->len;
        seg = log->segs[++i];
        err = weir_segment_read(seg, 0, max_bytes - out->len, false, NULL, &out->data,
                                &out->len, &out->cap);
        whole = err == 0 && out->len - before == seg->size;
    }
    if (err != 0) {
        weir_log_error(log->env, "%s: reading offset %lld from %020lld.log failed: %s", log->dir,
                       (long long)offset, (long long)seg->base_offset, weir_err_str(err));
        weir_log_read_result_free(out);
        return err;
    }
    out->first_offset = h.base_offset;
    /* Walk what was read to find where it ends. */
    for (size_t at = 0; at < out->len;) {
        weir_batch_header bh;
        weir_batch_header_decode(out->data + at, &bh);
        out->next_offset = weir_batch_last_offset(&bh) + 1;
        at += (size_t)weir_batch_total_bytes(&bh);
    }
    return 0;
}

void weir_log_read_result_free(weir_log_read_result *r)
{
    free(r->data);
    r->data = NULL;
    r->len = r->cap = 0;
}

int weir_plog_offset_for_time(weir_plog *log, int64_t ts, int64_t *offset_out)
{
    if (ts == WEIR_LOG_TS_LATEST) {
        *offset_out = weir_plog_end_offset(log);
        return 0;
    }
    if (ts == WEIR_LOG_TS_EARLIEST) {
        *offset_out = weir_plog_start_offset(log);
        return 0;
    }
    *offset_out = -1;
    for (size_t i = 0; i < log->n; i++) {
        int err = weir_segment_offset_for_time(log->segs[i], ts, offset_out);
        if (err != 0 || *offset_out >= 0) {
            return err;
        }
    }
    return 0;
}

/* ---- roll, flush, retention, truncation ---- */

int weir_plog_roll(weir_plog *log)
{
    if (active(log)->size == 0) {
        return 0;
    }
    return roll_to(log, weir_plog_end_offset(log));
}

int weir_plog_flush(weir_plog *log)
{
    /* Sealed segments were synced when they rolled: only the active .log has
     * unsynced bytes. The recovery point moves in memory; its checkpoint is
     * written at roll, truncation and close (a stale one only means a longer
     * scan after a crash, never lost data). */
    int err = weir_segment_sync_log(active(log));
    if (err == 0) {
        log->recovery_point = weir_plog_end_offset(log);
    }
    return err;
}

int weir_plog_apply_retention(weir_plog *log, int64_t now_ms, weir_log_retention_report *report)
{
    weir_log_retention_report local;
    weir_log_retention_report *rep = report != NULL ? report : &local;
    memset(rep, 0, sizeof *rep);
    uint64_t total = weir_plog_size_bytes(log);
    size_t drop = 0;
    while (drop + 1 < log->n) {
        const weir_segment *seg = log->segs[drop];
        int64_t newest = seg->max_timestamp >= 0 ? seg->max_timestamp : seg->created_ms;
        int64_t age;
        bool by_time = log->cfg.retention_ms >= 0 && !__builtin_sub_overflow(now_ms, newest, &age) &&
                       age > log->cfg.retention_ms;
        bool by_size = log->cfg.retention_bytes >= 0 &&
                       total - seg->size >= (uint64_t)log->cfg.retention_bytes &&
                       total > (uint64_t)log->cfg.retention_bytes;
        if (!by_time && !by_size) {
            break;
        }
        total -= seg->size;
        rep->bytes_deleted += seg->size;
        drop++;
    }
    if (drop == 0) {
        rep->new_start_offset = weir_plog_start_offset(log);
        return 0;
    }
    int64_t new_start = log->segs[drop]->base_offset;
    /* Record the new start first: a crash mid-way then never resurrects data. */
    int err = weir_offset_checkpoint_write(log->env, log->dir, WEIR_LOG_START_CHECKPOINT, log->topic,
                                           log->partition, new_start);
    for (size_t i = 0; err == 0 && i < drop; i++) {
        err = weir_segment_delete(log->segs[i]);
        log->segs[i] = NULL;
        rep->segments_deleted++;
    }
    size_t done = (size_t)rep->segments_deleted;
    memmove(log->segs, log->segs + done, (log->n - done) * sizeof *log->segs);
    log->n -= done;
    if (err == 0 && weir_epoch_cache_truncate_start(&log->epochs, weir_plog_start_offset(log))) {
        err = write_epochs(log);
    }
    rep->new_start_offset = weir_plog_start_offset(log);
    return err;
}

/* Deletes <offset>.snapshot files above the new log end. */
static int drop_snapshots_after(weir_plog *log, int64_t end)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(log->env, log->dir, &list);
    for (size_t i = 0; err == 0 && i < list.count; i++) {
        int64_t off = weir_segment_parse_name(list.names[i], "snapshot");
        if (off > end) {
            char path[1024];
            join(path, sizeof path, log->dir, list.names[i]);
            err = weir_fs_unlink(log->env, path);
        }
    }
    weir_fs_list_free(&list);
    return err;
}

static int after_truncation(weir_plog *log)
{
    int64_t end = weir_plog_end_offset(log);
    int err = 0;
    if (weir_epoch_cache_truncate_end(&log->epochs, end)) {
        err = write_epochs(log);
    }
    if (err == 0 && log->recovery_point > end) {
        err = write_recovery_point(log, end);
    }
    if (err == 0 && log->hw > end) {
        err = weir_plog_hw_write(log, end);
    }
    if (err == 0) {
        err = drop_snapshots_after(log, end);
    }
    if (err == 0) {
        err = pstate_reload(log);
    }
    return err;
}

int weir_plog_truncate_to(weir_plog *log, int64_t offset)
{
    if (offset < 0) {
        return WEIR_E_INVAL;
    }
    if (offset >= weir_plog_end_offset(log)) {
        return 0;
    }
    if (offset < weir_plog_start_offset(log)) {
        return weir_plog_truncate_fully(log, offset);
    }
    size_t keep = segment_for(log, offset);
    bool was_active = keep == log->n - 1;
    int err = segs_delete_tail(log, keep + 1);
    if (err == 0) {
        err = weir_segment_truncate(active(log), offset);
    }
    if (err == 0 && !was_active) {
        err = weir_segment_unseal(active(log));
    }
    if (err == 0) {
        err = after_truncation(log);
    }
    return err;
}

int weir_plog_truncate_fully(weir_plog *log, int64_t new_start)
{
    if (new_start < 0) {
        return WEIR_E_INVAL;
    }
    int err = weir_offset_checkpoint_write(log->env, log->dir, WEIR_LOG_START_CHECKPOINT, log->topic,
                                           log->partition, new_start);
    if (err == 0) {
        err = segs_delete_tail(log, 0);
    }
    weir_segment *seg = NULL;
    if (err == 0) {
        err = weir_segment_create(log->env, log->dir, new_start, &log->seg_cfg, &seg);
    }
    if (err == 0 && (err = segs_push(log, seg)) != 0) {
        weir_segment_free(seg);
    }
    if (err != 0) {
        return err;
    }
    log->epochs.n = 0;
    err = write_epochs(log);
    if (err == 0) {
        err = write_recovery_point(log, new_start);
    }
    if (err == 0 && log->hw >= 0) {
        err = weir_plog_hw_write(log, new_start);
    }
    if (err == 0) {
        err = drop_snapshots_after(log, -1);
    }
    if (err == 0) {
        err = snapshots_drop_after(log, -1);
    }
    weir_pstate_clear(log->ps);
    return err;
}

/* ---- epochs and HW ---- */

int weir_plog_assign_epoch(weir_plog *log, int32_t epoch, int64_t start_offset)
{
    bool changed = false;
    int err = weir_epoch_cache_assign(&log->epochs, epoch, start_offset, &changed);
    if (err == 0 && changed) {
        err = write_epochs(log);
        if (err != 0) {
            /* Not durable: reload what is, so the next append retries. */
            weir_epoch_cache_free(&log->epochs);
            char why[160];
            if (weir_epoch_checkpoint_read(log->env, log->dir, &log->epochs.e, &log->epochs.n, why,
                                           sizeof why) == 0) {
                log->epochs.cap = log->epochs.n;
            }
        }
    }
    return err;
}

void weir_plog_epoch_end_offset(const weir_plog *log, int32_t epoch, int32_t *epoch_out,
                               int64_t *end_out)
{
    weir_epoch_cache_end_offset(&log->epochs, epoch, weir_plog_end_offset(log), epoch_out, end_out);
}

int weir_plog_hw_write(weir_plog *log, int64_t hw)
{
    int err = weir_offset_checkpoint_write(log->env, log->dir, WEIR_HW_CHECKPOINT, log->topic,
                                           log->partition, hw);
    if (err == 0) {
        log->hw = hw;
        weir_pstate_forget_completed_below(log->ps, hw);
    }
    return err;
}

int weir_plog_hw_read(weir_plog *log, int64_t *hw_out)
{
    char why[160];
    int err = weir_offset_checkpoint_read(log->env, log->dir, WEIR_HW_CHECKPOINT, log->topic,
                                          log->partition, hw_out, why, sizeof why);
    if (err == WEIR_E_CORRUPT) {
        weir_log_warn(log->env, "%s: %s", log->dir, why);
    }
    if (err == 0) {
        log->hw = *hw_out;
    }
    return err;
}
