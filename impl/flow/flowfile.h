/* FlowFiles: a set of attributes plus a pointer to content (notes/FLOW.md
 * §1.1; NiFi's FlowFile / FlowFileRecord).
 *
 * A FlowFile has
 *   - an id: a number unique within one flow instance, from the FlowFile
 *     repository's counter (flowfile_repo.h: weir_ffrepo_id_next), which the
 *     write-ahead log persists; an engine without repositories counts itself;
 *   - a uuid (the universal id, also the "uuid" attribute), random v4 drawn
 *     from weir_random, so the simulator replays it;
 *   - attributes: a small string map kept in one packed block, iterated in
 *     insertion order (replacing a value keeps its place; a removed key that
 *     comes back goes last). A new FlowFile's first block is part of the
 *     FlowFile's own allocation, sized for the core attributes and a few
 *     more: making one costs one malloc; only a map that outgrows it gets a
 *     block of its own;
 *   - content: a claim in the content repository (content_repo.h) plus the
 *     range of the claim this FlowFile sees (content_offset, size), so a split
 *     can share its parent's claim. A FlowFile with a claim owns one
 *     reference to it: weir_flowfile_free releases it, clones take their own.
 *     size 0 with no claim (file_id 0) is the empty content;
 *   - dates, on two clocks:
 *       *_ms   wall clock (weir_wall_ms): the entryDate / lineageStartDate
 *              NiFi shows; persisted;
 *       *_ns   monotonic (weir_now_ns of the node's env): entry age for
 *              expiration, lineage order for the prioritizers, queue date and
 *              penalty expiry. Persisted too; a recovery shifts them all by
 *              one amount so they stay ordered and before any new date
 *              (flowfile_repo.h);
 *     and a queue index that breaks ties between equal queue dates (set by
 *     the queue at each offer).
 *
 * Core attributes set at creation (NiFi StandardProcessSession.create):
 * "uuid", "filename" (= the uuid) and "path" ("./"). "entryDate",
 * "lineageStartDate" and "fileSize" are not stored: weir_flowfile_lookup
 * answers them from the fields, as NiFi's expression language does. The
 * "uuid" attribute cannot be set or removed.
 *
 * Encoding (write-ahead log, snapshot, swap files; all numbers unsigned
 * LEB128 varints, signed ones zig-zag):
 *   id | uuid (16 bytes) | entry_date_ms | lineage_start_ms | entry_date_ns |
 *   lineage_start_ns | queue_date_ns | queue_index | penalty_expiry_ns |
 *   claim file_id | claim offset | claim length | content_offset | size |
 *   attribute count | count x (key length, key bytes, value length, value bytes)
 *
 * Threading: a FlowFile is used from its node's event callbacks only.
 */
#ifndef WEIR_FLOW_FLOWFILE_H
#define WEIR_FLOW_FLOWFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/uuid.h"
#include "env/env.h"

typedef struct weir_content_repo weir_content_repo;

/* ---- uuids ---- */

#define WEIR_UUID_STR_BYTES 37 /* 36 characters and the NUL */

/* weir_uuid is core/uuid.h's (shared with Kafka's wire type). */

/* A version 4 (random) uuid from the env's seeded PRNG. */
void weir_uuid_random(weir_env *env, weir_uuid *out);

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case, into out (37 bytes). */
void weir_uuid_format(const weir_uuid *u, char out[WEIR_UUID_STR_BYTES]);

/* Parses the 36-character form (either case). WEIR_E_INVAL otherwise. */
WEIR_MUST_CHECK int weir_uuid_parse(const char *s, weir_uuid *out);

static inline bool weir_uuid_equal(const weir_uuid *a, const weir_uuid *b)
{
    for (int i = 0; i < 16; i++) {
        if (a->b[i] != b->b[i]) {
            return false;
        }
    }
    return true;
}

/* ---- content claims ---- */

/* A range of one content repository file (NiFi's content claim: resource
 * claim + offset + length). file_id 0 means no content; then offset and
 * length are 0. A value type: copying it copies no reference (see
 * weir_content_repo_incref). */
typedef struct weir_content_claim {
    uint64_t file_id; /* content/<file_id>.claim; ids start at 1 */
    uint64_t offset;  /* bytes into the file */
    uint64_t length;  /* bytes */
} weir_content_claim;

static inline bool weir_content_claim_is_null(const weir_content_claim *c)
{
    return c->file_id == 0;
}

/* ---- attributes ---- */

/* The packed map. Treat as opaque: use the weir_flowfile_attr_* calls. */
typedef struct weir_attrs {
    uint8_t *block;       /* entries, then string bytes; NULL when empty */
    uint32_t count;       /* live entries, in insertion order */
    uint32_t entries_cap; /* entry slots in block */
    uint32_t bytes_used;  /* string bytes used after the entries */
    uint32_t bytes_cap;
    uint32_t bytes_dead; /* string bytes of replaced or removed values */
    bool block_inline;   /* block lives in its FlowFile's own allocation */
} weir_attrs;

/* ---- FlowFiles ---- */

typedef struct weir_flowfile {
    uint64_t id;
    weir_uuid uuid;
    /* content: the repository holding the claim's reference (NULL when the
     * claim is null), the claim, and the range of it that is this FlowFile's */
    weir_content_repo *content;
    weir_content_claim claim;
    uint64_t content_offset;   /* bytes into the claim */
    uint64_t size;             /* bytes; content_offset + size <= claim.length */
    int64_t entry_date_ms;     /* wall: entered the flow (entryDate) */
    int64_t lineage_start_ms;  /* wall: its oldest ancestor entered the flow */
    int64_t entry_date_ns;     /* monotonic twin of entry_date_ms */
    int64_t lineage_start_ns;  /* monotonic twin of lineage_start_ms */
    int64_t queue_date_ns;     /* set by the queue at each offer */
    uint64_t queue_index;      /* set by the queue at each offer: tie-break */
    int64_t penalty_expiry_ns; /* penalized until then; 0 = not penalized */
    weir_attrs attrs;
} weir_flowfile;

/* A moment on both of a FlowFile's clocks. */
typedef struct weir_flowfile_time {
    int64_t wall_ms; /* weir_wall_ms */
    int64_t mono_ns; /* weir_now_ns */
} weir_flowfile_time;

/* Now, on both clocks. */
void weir_flowfile_time_now(weir_env *env, weir_flowfile_time *out);

/* A new FlowFile: id as given, a fresh uuid, the core attributes, no
 * content, entry and lineage start = now on both clocks. NULL when memory
 * runs out. The caller owns it. */
weir_flowfile *weir_flowfile_create(weir_env *env, uint64_t id);

/* Same, entering the flow at `at` (a batch made in one go shares one
 * reading of the clocks). */
weir_flowfile *weir_flowfile_create_at(weir_env *env, uint64_t id, const weir_flowfile_time *at);

/* A child of parents[0..parent_count) (NiFi create(parent) / create(parents)):
 * a fresh uuid and core attributes, no content, entry date now, lineage
 * start = the earliest of the parents'. With one parent it inherits all of
 * its attributes (but uuid); with several, those every parent has with the
 * same value. parent_count >= 1. NULL when memory runs out. */
weir_flowfile *weir_flowfile_create_child(weir_env *env, uint64_t id,
                                          const weir_flowfile *const *parents, size_t parent_count);

/* A clone (NiFi clone): a fresh id and uuid ("filename" kept), the other
 * attributes, lineage start and content range of src, sharing its claim (one
 * more reference), entry date now. NULL when memory runs out. */
weir_flowfile *weir_flowfile_clone(weir_env *env, uint64_t id, const weir_flowfile *src);

/* A clone that sees only [offset, offset + size) of src's content (NiFi
 * clone(flowFile, offset, size); a split without copying bytes). Asserts
 * offset + size <= src->size. */
weir_flowfile *weir_flowfile_clone_range(weir_env *env, uint64_t id, const weir_flowfile *src,
                                         uint64_t offset, uint64_t size);

/* An exact copy: same id, uuid, dates, attributes and content, one more
 * reference to the claim (a session's undo copy). NULL when memory runs out. */
weir_flowfile *weir_flowfile_dup(const weir_flowfile *src);

/* Makes *dst an exact copy of *src, releasing dst's old claim and taking a
 * reference to src's. dst and src must differ. WEIR_E_NOMEM leaves dst as it was. */
WEIR_MUST_CHECK int weir_flowfile_assign(weir_flowfile *dst, const weir_flowfile *src);

/* Releases ff's claim reference (if any) and frees it. NULL is a no-op. */
void weir_flowfile_free(weir_flowfile *ff);

/* Frees ff without touching its claim's reference count (the reference has
 * been handed on, e.g. to a swap file). NULL is a no-op. */
void weir_flowfile_free_keep_claim(weir_flowfile *ff);

/* Replaces ff's content: always takes the reference the caller holds on
 * *claim (from weir_content_repo_write, or an incref), releases ff's old one,
 * and sets content_offset 0 and size claim->length. repo may be NULL only
 * with a null claim. */
void weir_flowfile_set_content(weir_flowfile *ff, weir_content_repo *repo,
                               const weir_content_claim *claim);

/* ---- attribute map ---- */

/* The value of key, or NULL. Valid until ff's attributes next change. */
const char *weir_flowfile_attr_get(const weir_flowfile *ff, const char *key);

/* Like attr_get, then the virtual attributes "entryDate", "lineageStartDate"
 * (wall ms, decimal) and "fileSize", formatted into scratch (>= 24 bytes). */
const char *weir_flowfile_lookup(const weir_flowfile *ff, const char *key, char *scratch,
                                 size_t scratch_size);

/* Sets key to value (NUL-terminated). WEIR_E_INVAL for the key "uuid", an
 * empty key or lengths over 2^31; WEIR_E_NOMEM leaves the map as it was. */
WEIR_MUST_CHECK int weir_flowfile_attr_set(weir_flowfile *ff, const char *key, const char *value);

/* Same with explicit lengths (neither may contain a NUL byte). */
WEIR_MUST_CHECK int weir_flowfile_attr_set_n(weir_flowfile *ff, const char *key, size_t key_len,
                                             const char *value, size_t value_len);

/* The index of key (key_len bytes) in insertion order, or -1 when absent;
 * valid until the attributes next change. */
int weir_flowfile_attr_index(const weir_flowfile *ff, const char *key, size_t key_len);

/* weir_flowfile_attr_set_n for a key whose index weir_flowfile_attr_index
 * just gave (-1: absent), without searching again. */
WEIR_MUST_CHECK int weir_flowfile_attr_set_at(weir_flowfile *ff, int index, const char *key,
                                              size_t key_len, const char *value, size_t value_len);

/* Removes key; false when absent (or "uuid", which stays). */
bool weir_flowfile_attr_remove(weir_flowfile *ff, const char *key);

/* Live attributes (uuid, filename and path included). */
static inline size_t weir_flowfile_attr_count(const weir_flowfile *ff)
{
    return ff->attrs.count;
}

/* The i-th attribute in insertion order, 0 <= i < count. The strings are
 * NUL-terminated and valid until the attributes next change. */
void weir_flowfile_attr_at(const weir_flowfile *ff, size_t i, const char **key_out,
                           size_t *key_len_out, const char **value_out, size_t *value_len_out);

/* Bytes the attribute map holds (keys and values, without overhead), for
 * memory accounting. */
size_t weir_flowfile_attr_bytes(const weir_flowfile *ff);

/* ---- encoding ---- */

/* An upper bound on weir_flowfile_encode's output for ff. */
size_t weir_flowfile_encoded_size_max(const weir_flowfile *ff);

/* Encodes ff (format above) into out, which has room for
 * weir_flowfile_encoded_size_max(ff) bytes; returns the bytes written. */
size_t weir_flowfile_encode(const weir_flowfile *ff, uint8_t *out);

/* Decodes one FlowFile from exactly len bytes. The result's content is set
 * to repo when it has a claim, but no reference is taken: the caller
 * accounts for it (a recovery re-references, a swap-in inherits the swap
 * file's). WEIR_E_CORRUPT with *why (static text naming the field) when the
 * bytes do not parse; WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_flowfile_decode(const uint8_t *p, size_t len, weir_content_repo *repo,
                                         weir_flowfile **out, const char **why);

#endif
