/* SplitText: splits text content into FlowFiles of "Line Split Count"
 * lines each (NiFi's SplitText).
 *
 * Splits are children of the original (one FORK provenance event naming
 * all of them) and share its content claim (a range each: no bytes are
 * copied) unless "Header Line Count" > 0, when each split is the header
 * lines followed by its own lines (new content). Lines end at "\n" (a
 * "\r\n" ending is kept as it is). With "Remove Trailing Newlines" (the
 * default) each split's trailing line endings are cut and a split made of
 * line endings only is not emitted, as in NiFi.
 *
 * Attributes of each split: text.line.count, fragment.identifier (the same
 * random uuid for all splits of one original), fragment.index (1-based),
 * fragment.count, segment.original.filename. The original gets
 * fragment.identifier and fragment.count and goes to "original"; content
 * that cannot be read goes to "failure".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

typedef struct st_state {
    int64_t lines;
    int64_t header_lines;
    bool trim;
    size_t batch_max;
    weir_flowfile **batch;
    weir_flowfile **splits;
    size_t splits_cap;
} st_state;

static const weir_flow_property_desc split_props[] = {
    {.name = "Line Split Count",
     .description = "lines per split",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Header Line Count",
     .default_value = "0",
     .required = true,
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Remove Trailing Newlines",
     .default_value = "true",
     .required = true,
     .kind = WEIR_FLOW_PROP_BOOL},
    {0},
};

enum { REL_ORIGINAL, REL_SPLITS, REL_FAILURE };

static const weir_flow_relationship_desc split_rels[] = {
    {.name = "original", .description = "the FlowFile that was split"},
    {.name = "splits", .description = "the splits"},
    {.name = "failure", .description = "content that could not be read"},
    {0},
};

static void split_stop(weir_flow_ctx *ctx)
{
    st_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->batch);
        free(st->splits);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int split_schedule(weir_flow_ctx *ctx)
{
    st_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    int rc = weir_flow_ctx_prop_int(ctx, "Line Split Count", &st->lines);
    if (rc == 0) {
        rc = weir_flow_ctx_prop_int(ctx, "Header Line Count", &st->header_lines);
    }
    if (rc == 0) {
        rc = weir_flow_ctx_prop_bool(ctx, "Remove Trailing Newlines", &st->trim);
    }
    if (rc == 0 && (st->lines < 1 || st->header_lines < 0)) {
        rc = weir_flow_ctx_fail(ctx, "Line Split Count must be >= 1, Header Line Count >= 0");
    }
    st->batch_max = 64; /* each original may make many splits */
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc != 0 || st->batch == NULL) {
        split_stop(ctx);
        return rc != 0 ? rc : WEIR_E_NOMEM;
    }
    return 0;
}

/* The end of `count` lines from `at` (after the last one's "\n"), and how
 * many there were. */
static size_t split_lines(const uint8_t *d, size_t len, size_t at, int64_t count, int64_t *got)
{
    *got = 0;
    while (at < len && *got < count) {
        const uint8_t *nl = memchr(d + at, '\n', len - at);
        at = nl == NULL ? len : (size_t)(nl - d) + 1;
        (*got)++;
    }
    return at;
}

static int split_attrs(weir_flow_session *s, weir_flowfile *c, const char *fid, size_t index,
                       int64_t lines, const char *filename)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)lines);
    int rc = weir_flow_session_put_attr(s, c, "text.line.count", num);
    snprintf(num, sizeof num, "%zu", index + 1);
    if (rc == 0) {
        rc = weir_flow_session_put_attr(s, c, "fragment.index", num);
    }
    if (rc == 0) {
        rc = weir_flow_session_put_attr(s, c, "fragment.identifier", fid);
    }
    if (rc == 0 && filename != NULL) {
        rc = weir_flow_session_put_attr(s, c, "segment.original.filename", filename);
    }
    return rc;
}

static int split_push(st_state *st, size_t n, weir_flowfile *c)
{
    if (weir_grow((void **)&st->splits, &st->splits_cap, n + 1, sizeof *st->splits) != 0) {
        return WEIR_E_NOMEM;
    }
    st->splits[n] = c;
    return 0;
}

/* Makes one split of [a, b) (b after trimming) with the header when asked. */
static weir_flowfile *split_make(weir_flow_session *s, st_state *st, weir_flowfile *ff,
                                 const uint8_t *d, size_t header_end, size_t a, size_t b)
{
    weir_flowfile *c = weir_flow_session_create_child(s, ff);
    if (c == NULL) {
        return NULL;
    }
    int rc;
    if (st->header_lines > 0) {
        weir_iov iov[2] = {{d, header_end}, {d + a, b - a}};
        rc = weir_flow_session_writev(s, c, iov, 2);
    } else {
        rc = weir_flow_session_copy_content_range(s, c, ff, a, b - a);
    }
    return rc == 0 ? c : NULL;
}

static int split_one(weir_flow_session *s, weir_flow_ctx *ctx, st_state *st, weir_flowfile *ff)
{
    const uint8_t *d;
    size_t len;
    if (weir_flow_session_read_all(s, ff, &d, &len) != 0) {
        weir_flow_session_transfer(s, ff, REL_FAILURE);
        return 0;
    }
    int64_t got;
    size_t header_end = split_lines(d, len, 0, st->header_lines, &got);
    char fid[WEIR_UUID_STR_BYTES];
    weir_uuid u;
    weir_uuid_random(weir_flow_ctx_env(ctx), &u);
    weir_uuid_format(&u, fid);
    const char *filename = weir_flow_session_attr(ff, "filename");
    size_t n = 0;
    for (size_t at = header_end; at < len;) {
        size_t end = split_lines(d, len, at, st->lines, &got);
        size_t b = end;
        if (st->trim) {
            while (b > at && (d[b - 1] == '\n' || d[b - 1] == '\r')) {
                b--;
            }
        }
        if (b > at || !st->trim) {
            weir_flowfile *c = split_make(s, st, ff, d, header_end, at, b);
            if (c == NULL || split_push(st, n, c) != 0 ||
                split_attrs(s, c, fid, n, got, filename) != 0) {
                return WEIR_E_NOMEM;
            }
            n++;
        }
        at = end;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", n);
    for (size_t i = 0; i < n; i++) {
        if (weir_flow_session_put_attr(s, st->splits[i], "fragment.count", count) != 0) {
            return WEIR_E_NOMEM;
        }
        weir_flow_session_transfer(s, st->splits[i], REL_SPLITS);
    }
    if (weir_flow_session_put_attr(s, ff, "fragment.identifier", fid) != 0 ||
        weir_flow_session_put_attr(s, ff, "fragment.count", count) != 0) {
        return WEIR_E_NOMEM;
    }
    weir_flow_session_transfer(s, ff, REL_ORIGINAL);
    return 0;
}

static int split_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    st_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        int rc = split_one(s, ctx, st, st->batch[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_split_text = {
    .name = "SplitText",
    .description = "Splits text into FlowFiles of N lines (FORK provenance).",
    .relationships = split_rels,
    .properties = split_props,
    .on_schedule = split_schedule,
    .on_trigger = split_trigger,
    .on_stop = split_stop,
};
