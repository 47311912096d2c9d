/* MergeContent: merges FlowFiles into bins and bins into one FlowFile each
 * (NiFi's MergeContent, Bin-Packing Algorithm, binary concatenation).
 *
 * A FlowFile goes to the open bin of its "Correlation Attribute Name" value
 * (all share one key when unset) that still has room: fewer than "Maximum
 * Number of Entries" FlowFiles and, with "Maximum Group Size", room for its
 * bytes. Each bin is a session of its own (weir_flow_ctx_session_open): its
 * FlowFiles stay in their queue in the write-ahead log until the bin is
 * merged, so a crash puts them back, and stopping the processor rolls them
 * back. A bin is merged when
 *   - it is full (max entries or max size reached);
 *   - it is older than "Max Bin Age" (NiFi's TIMEOUT; the processor asks to
 *     be woken when the oldest bin comes of age);
 *   - a new bin is needed and "Maximum number of Bins" are open: the oldest
 *     is merged (BIN_MANAGER_FULL), whatever its minimums;
 *   - the input has nothing more for now and it meets "Minimum Number of
 *     Entries" and "Minimum Group Size".
 * The merged FlowFile is a JOIN of the bin's FlowFiles: header, contents
 * with the demarcator between them, footer ("Delimiter Strategy" Text; the
 * default Do Not Use puts nothing between). It gets the attributes every
 * entry shares, merge.count and merge.bin.age (ms), and goes to "merged";
 * the entries go to "original".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

enum { REL_MERGED, REL_ORIGINAL, REL_FAILURE };

typedef struct mc_bin {
    weir_flow_session *s;
    char *key;
    weir_flowfile **ffs;
    size_t count;
    size_t cap;
    uint64_t bytes;
    int64_t created_ns;
} mc_bin;

typedef struct mc_state {
    const char *corr;
    int64_t min_entries;
    int64_t max_entries;
    uint64_t min_bytes;
    uint64_t max_bytes; /* 0: no limit */
    int64_t max_age_ns; /* 0: none */
    int64_t max_bins;
    bool delimit;
    const char *header;
    const char *footer;
    const char *demarcator;
    mc_bin *bins; /* oldest first */
    size_t bin_count;
    weir_iov *iov;
    size_t iov_cap;
    weir_flowfile **batch;
    size_t batch_max;
} mc_state;

static const char *const mc_delims[] = {"Do Not Use", "Text", NULL};
static const char *const mc_strategies[] = {"Bin-Packing Algorithm", NULL};

static const weir_flow_property_desc mc_props[] = {
    {.name = "Merge Strategy",
     .default_value = "Bin-Packing Algorithm",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = mc_strategies},
    {.name = "Correlation Attribute Name", .description = "bins by this attribute's value"},
    {.name = "Minimum Number of Entries",
     .default_value = "1",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Maximum Number of Entries",
     .default_value = "1000",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Minimum Group Size",
     .default_value = "0 B",
     .required = true,
     .kind = WEIR_FLOW_PROP_BYTES},
    {.name = "Maximum Group Size", .kind = WEIR_FLOW_PROP_BYTES},
    {.name = "Max Bin Age", .kind = WEIR_FLOW_PROP_DURATION},
    {.name = "Maximum number of Bins",
     .default_value = "5",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Delimiter Strategy",
     .default_value = "Do Not Use",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = mc_delims},
    {.name = "Header"},
    {.name = "Footer"},
    {.name = "Demarcator"},
    {0},
};

static const weir_flow_relationship_desc mc_rels[] = {
    {.name = "merged", .description = "the merged FlowFiles"},
    {.name = "original", .description = "the FlowFiles that were merged"},
    {.name = "failure", .description = "bins that could not be merged", .optional = true},
    {0},
};

static void mc_bin_free(mc_bin *b)
{
    free(b->key);
    free(b->ffs);
}

static void mc_stop(weir_flow_ctx *ctx)
{
    mc_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL) {
        return;
    }
    /* the bins' sessions are rolled back (or, after a crash, freed) by the engine */
    for (size_t i = 0; i < st->bin_count; i++) {
        mc_bin_free(&st->bins[i]);
    }
    free(st->bins);
    free(st->iov);
    free(st->batch);
    free(st);
    weir_flow_ctx_set_state(ctx, NULL);
}

static int mc_schedule(weir_flow_ctx *ctx)
{
    mc_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    int rc = weir_flow_ctx_prop_int(ctx, "Minimum Number of Entries", &st->min_entries);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Maximum Number of Entries", &st->max_entries);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_bytes(ctx, "Minimum Group Size", &st->min_bytes);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_bytes(ctx, "Maximum Group Size", &st->max_bytes);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_duration_ns(ctx, "Max Bin Age", &st->max_age_ns);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Maximum number of Bins", &st->max_bins);
    if (rc == 0 && (st->min_entries < 1 || st->max_entries < st->min_entries || st->max_bins < 1 ||
                    (st->max_bytes != 0 && st->max_bytes < st->min_bytes))) {
        rc = weir_flow_ctx_fail(ctx, "need 1 <= minimum entries <= maximum entries, at least one "
                                     "bin, and minimum group size <= maximum");
    }
    st->corr = weir_flow_ctx_prop(ctx, "Correlation Attribute Name")->value;
    st->delimit = strcmp(weir_flow_ctx_prop_str(ctx, "Delimiter Strategy"), "Text") == 0;
    st->header = weir_flow_ctx_prop(ctx, "Header")->value;
    st->footer = weir_flow_ctx_prop(ctx, "Footer")->value;
    st->demarcator = weir_flow_ctx_prop(ctx, "Demarcator")->value;
    st->bins = calloc((size_t)(st->max_bins > 0 ? st->max_bins : 1), sizeof *st->bins);
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc != 0 || st->bins == NULL || st->batch == NULL) {
        mc_stop(ctx);
        return rc != 0 ? rc : WEIR_E_NOMEM;
    }
    return 0;
}

static int mc_iov_push(mc_state *st, size_t *n, const void *p, size_t len)
{
    if (weir_grow((void **)&st->iov, &st->iov_cap, *n + 1, sizeof *st->iov) != 0) {
        return WEIR_E_NOMEM;
    }
    st->iov[(*n)++] = (weir_iov){p, len};
    return 0;
}

/* The merged content's pieces into st->iov. */
static int mc_gather(weir_flow_session *s, mc_state *st, mc_bin *b, size_t *n_out)
{
    size_t n = 0;
    const char *h = st->delimit ? st->header : NULL;
    const char *f = st->delimit ? st->footer : NULL;
    const char *m = st->delimit ? st->demarcator : NULL;
    int rc = 0;
    if (h != NULL) {
        rc = mc_iov_push(st, &n, h, strlen(h));
    }
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        const uint8_t *d;
        size_t len;
        rc = weir_flow_session_read_all(s, b->ffs[i], &d, &len);
        if (rc == 0 && i > 0 && m != NULL) {
            rc = mc_iov_push(st, &n, m, strlen(m));
        }
        if (rc == 0) {
            rc = mc_iov_push(st, &n, d, len);
        }
    }
    if (rc == 0 && f != NULL) {
        rc = mc_iov_push(st, &n, f, strlen(f));
    }
    *n_out = n;
    return rc;
}

static int mc_build(weir_flow_session *s, weir_flow_ctx *ctx, mc_state *st, mc_bin *b)
{
    size_t n;
    int rc = mc_gather(s, st, b, &n);
    if (rc != 0) {
        return rc;
    }
    weir_flowfile *merged = weir_flow_session_create_joined(s, b->ffs, b->count);
    if (merged == NULL) {
        return WEIR_E_NOMEM;
    }
    rc = weir_flow_session_writev(s, merged, st->iov, (int)n);
    char num[32];
    snprintf(num, sizeof num, "%zu", b->count);
    rc = rc != 0 ? rc : weir_flow_session_put_attr(s, merged, "merge.count", num);
    int64_t age_ms = (weir_now_ns(weir_flow_ctx_env(ctx)) - b->created_ns) / 1000000;
    snprintf(num, sizeof num, "%lld", (long long)age_ms);
    rc = rc != 0 ? rc : weir_flow_session_put_attr(s, merged, "merge.bin.age", num);
    if (rc != 0) {
        return rc;
    }
    weir_flow_session_transfer(s, merged, REL_MERGED);
    for (size_t i = 0; i < b->count; i++) {
        weir_flow_session_transfer(s, b->ffs[i], REL_ORIGINAL);
    }
    return 0;
}

/* Merges bin i and closes it; on a failure its FlowFiles go back to their
 * queues (rollback) and the bin is gone all the same. */
static void mc_merge(weir_flow_ctx *ctx, mc_state *st, size_t i)
{
    mc_bin b = st->bins[i];
    memmove(&st->bins[i], &st->bins[i + 1], (st->bin_count - i - 1) * sizeof *st->bins);
    st->bin_count--;
    int rc = mc_build(b.s, ctx, st, &b);
    if (rc == 0) {
        rc = weir_flow_session_commit(b.s);
    }
    if (rc != 0) {
        weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: bin of %zu not merged: %s",
                      weir_flow_ctx_name(ctx), b.count, weir_err_str(rc));
        weir_flow_session_rollback(b.s, true);
    }
    weir_flow_session_close(b.s);
    mc_bin_free(&b);
}

static mc_bin *mc_bin_for(weir_flow_ctx *ctx, mc_state *st, const char *key, uint64_t size)
{
    for (size_t i = 0; i < st->bin_count; i++) {
        mc_bin *b = &st->bins[i];
        if (strcmp(b->key, key) == 0 && (int64_t)b->count < st->max_entries &&
            (st->max_bytes == 0 || b->bytes + size <= st->max_bytes || b->count == 0)) {
            return b;
        }
    }
    if ((int64_t)st->bin_count == st->max_bins) {
        mc_merge(ctx, st, 0); /* BIN_MANAGER_FULL: the oldest goes */
    }
    mc_bin *b = &st->bins[st->bin_count];
    *b = (mc_bin){.key = malloc(strlen(key) + 1),
                  .s = weir_flow_ctx_session_open(ctx),
                  .created_ns = weir_now_ns(weir_flow_ctx_env(ctx))};
    if (b->key == NULL || b->s == NULL) {
        free(b->key);
        if (b->s != NULL) {
            weir_flow_session_close(b->s);
        }
        return NULL;
    }
    memcpy(b->key, key, strlen(key) + 1);
    st->bin_count++;
    return b;
}

static bool mc_full(const mc_state *st, const mc_bin *b)
{
    return (int64_t)b->count >= st->max_entries ||
           (st->max_bytes != 0 && b->bytes >= st->max_bytes);
}

static int mc_add(weir_flow_session *s, weir_flow_ctx *ctx, mc_state *st, weir_flowfile *ff)
{
    const char *key = st->corr != NULL ? weir_flow_session_attr(ff, st->corr) : NULL;
    mc_bin *b = mc_bin_for(ctx, st, key != NULL ? key : "", ff->size);
    if (b == NULL || weir_grow((void **)&b->ffs, &b->cap, b->count + 1, sizeof *b->ffs) != 0) {
        return WEIR_E_NOMEM;
    }
    int rc = weir_flow_session_migrate(s, b->s, ff);
    if (rc != 0) {
        return rc;
    }
    b->ffs[b->count++] = ff;
    b->bytes += ff->size;
    if (mc_full(st, b)) {
        mc_merge(ctx, st, (size_t)(b - st->bins));
    }
    return 0;
}

/* Bins that are old enough, or (input drained) meet their minimums. */
static void mc_sweep(weir_flow_session *s, weir_flow_ctx *ctx, mc_state *st)
{
    int64_t now = weir_now_ns(weir_flow_ctx_env(ctx));
    bool drained = weir_flow_session_queued(s) == 0;
    for (size_t i = 0; i < st->bin_count;) {
        mc_bin *b = &st->bins[i];
        bool old = st->max_age_ns > 0 && now - b->created_ns >= st->max_age_ns;
        bool min_ok = (int64_t)b->count >= st->min_entries && b->bytes >= st->min_bytes;
        if (old || (drained && min_ok)) {
            mc_merge(ctx, st, i);
        } else {
            i++;
        }
    }
    if (st->max_age_ns > 0 && st->bin_count > 0) {
        weir_flow_ctx_wake_after(ctx, st->bins[0].created_ns + st->max_age_ns - now);
    }
}

static int mc_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    mc_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        int rc = mc_add(s, ctx, st, st->batch[i]);
        if (rc != 0) {
            /* the rest stays in s and goes back to the queue with the rollback */
            return rc;
        }
    }
    mc_sweep(s, ctx, st);
    return 0;
}

const weir_flow_processor_type weir_flow_proc_merge_content = {
    .name = "MergeContent",
    .description = "Merges FlowFiles into bins (by a correlation attribute) and each bin into one.",
    .relationships = mc_rels,
    .properties = mc_props,
    .trigger_when_empty = true,
    .on_schedule = mc_schedule,
    .on_trigger = mc_trigger,
    .on_stop = mc_stop,
};
