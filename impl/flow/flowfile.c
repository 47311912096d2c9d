/* FlowFiles: uuids, the packed attribute map, creation, clones, encoding.
 *
 * The attribute block is [entries_cap x ff_entry][bytes_cap string bytes];
 * each key and value is stored NUL-terminated in the string area, entries
 * point at them by offset. Replacing a value by a shorter one reuses its
 * bytes; anything else appends and counts the old bytes as dead. A block
 * that must grow is rebuilt compacted, so the dead bytes never exceed what
 * the block would need anyway. A block may be inline (block_inline: it is
 * the tail of the FlowFile's allocation, freed with it, never on its own).
 */
#include "flow/flowfile.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "flow/content_repo.h"

typedef struct ff_entry {
    uint32_t key_off;
    uint32_t key_len;
    uint32_t val_off;
    uint32_t val_len;
} ff_entry;

#define FF_ATTR_LEN_MAX (1u << 30)
#define FF_ENTRIES_MIN 8u
#define FF_BYTES_MIN 128u
/* The first block of a new FlowFile, inside its allocation: the core
 * attributes take FF_CORE_BYTES (96); the rest is room for what the first
 * processors add. */
#define FF_INLINE_ENTRIES 8u
#define FF_INLINE_BYTES 288u

/* ---- uuids ---- */

void weir_uuid_random(weir_env *env, weir_uuid *out)
{
    uint64_t hi = weir_random(env);
    uint64_t lo = weir_random(env);
    weir_put_be64(out->b, hi);
    weir_put_be64(out->b + 8, lo);
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* Every byte's two hex digits, byte b at 2 * b (uuids are formatted for
 * every FlowFile made: a table lookup per byte, not two). */
static const char ff_hex_pairs[512] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void weir_uuid_format(const weir_uuid *u, char out[WEIR_UUID_STR_BYTES])
{
    /* where each byte's two digits go: the dashes sit at 8, 13, 18 and 23 */
    static const uint8_t at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    for (int i = 0; i < 16; i++) {
        memcpy(out + at[i], ff_hex_pairs + 2 * u->b[i], 2);
    }
    out[8] = out[13] = out[18] = out[23] = '-';
    out[36] = '\0';
}

static int ff_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int weir_uuid_parse(const char *s, weir_uuid *out)
{
    weir_uuid u;
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[o++] != '-') {
                return WEIR_E_INVAL;
            }
        }
        int h = ff_hex(s[o]);
        int l = h < 0 ? -1 : ff_hex(s[o + 1]);
        if (l < 0) {
            return WEIR_E_INVAL;
        }
        u.b[i] = (uint8_t)(h << 4 | l);
        o += 2;
    }
    if (s[o] != '\0') {
        return WEIR_E_INVAL;
    }
    *out = u;
    return 0;
}

/* ---- the attribute block ---- */

static ff_entry *attrs_entries(const weir_attrs *a)
{
    return (ff_entry *)(void *)a->block;
}

static char *attrs_strings(const weir_attrs *a)
{
    return (char *)a->block + (size_t)a->entries_cap * sizeof(ff_entry);
}

static size_t attrs_live_bytes(const weir_attrs *a)
{
    return a->bytes_used - a->bytes_dead;
}

static void attrs_block_free(weir_attrs *a)
{
    if (!a->block_inline) {
        free(a->block);
    }
    a->block = NULL;
    a->block_inline = false;
}

/* Rebuilds the block compacted with room for entries_cap entries and
 * bytes_cap string bytes (both at least what is live). */
static int attrs_rebuild(weir_attrs *a, uint32_t entries_cap, uint32_t bytes_cap)
{
    WEIR_ASSERT(entries_cap >= a->count);
    WEIR_ASSERT(bytes_cap >= attrs_live_bytes(a));
    uint8_t *block = malloc((size_t)entries_cap * sizeof(ff_entry) + bytes_cap);
    if (block == NULL) {
        return WEIR_E_NOMEM;
    }
    ff_entry *dst = (ff_entry *)(void *)block;
    char *strings = (char *)block + (size_t)entries_cap * sizeof(ff_entry);
    const ff_entry *src = attrs_entries(a);
    const char *old = a->block == NULL ? NULL : attrs_strings(a);
    uint32_t used = 0;
    for (uint32_t i = 0; i < a->count; i++) {
        dst[i].key_off = used;
        dst[i].key_len = src[i].key_len;
        memcpy(strings + used, old + src[i].key_off, src[i].key_len + 1);
        used += src[i].key_len + 1;
        dst[i].val_off = used;
        dst[i].val_len = src[i].val_len;
        memcpy(strings + used, old + src[i].val_off, src[i].val_len + 1);
        used += src[i].val_len + 1;
    }
    attrs_block_free(a);
    a->block = block;
    a->block_inline = false;
    a->entries_cap = entries_cap;
    a->bytes_cap = bytes_cap;
    a->bytes_used = used;
    a->bytes_dead = 0;
    return 0;
}

/* Room for extra_entries more entries and extra_bytes more string bytes. */
static int attrs_reserve(weir_attrs *a, uint32_t extra_entries, uint32_t extra_bytes)
{
    if (a->block != NULL && a->count + extra_entries <= a->entries_cap &&
        a->bytes_used + extra_bytes <= a->bytes_cap) {
        return 0;
    }
    uint64_t need_entries = (uint64_t)a->count + extra_entries;
    uint64_t need_bytes = attrs_live_bytes(a) + (uint64_t)extra_bytes;
    uint64_t ec = a->entries_cap < FF_ENTRIES_MIN ? FF_ENTRIES_MIN : a->entries_cap;
    while (ec < need_entries) {
        ec *= 2;
    }
    uint64_t bc = a->bytes_cap < FF_BYTES_MIN ? FF_BYTES_MIN : a->bytes_cap;
    while (bc < need_bytes) {
        bc *= 2;
    }
    if (ec > UINT32_MAX / sizeof(ff_entry) || bc > UINT32_MAX) {
        return WEIR_E_NOMEM;
    }
    return attrs_rebuild(a, (uint32_t)ec, (uint32_t)bc);
}

static int attrs_find(const weir_attrs *a, const char *key, size_t key_len)
{
    const ff_entry *e = attrs_entries(a);
    const char *s = a->block == NULL ? NULL : attrs_strings(a);
    for (uint32_t i = 0; i < a->count; i++) {
        /* lengths, then first bytes, rule most keys out before a memcmp */
        if (e[i].key_len == key_len && s[e[i].key_off] == key[0] &&
            memcmp(s + e[i].key_off, key, key_len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Sets without the "uuid" rule (creation and decoding set it). key and
 * value may point into this map (a value copied from another attribute). */
static int attrs_put_fresh(weir_attrs *a, int at, const char *key, size_t key_len,
                           const char *value, size_t value_len)
{
    if (at >= 0) {
        ff_entry *e = &attrs_entries(a)[at];
        if (value_len <= e->val_len) {
            char *v = attrs_strings(a) + e->val_off;
            memmove(v, value, value_len);
            v[value_len] = '\0';
            a->bytes_dead += e->val_len - (uint32_t)value_len;
            e->val_len = (uint32_t)value_len;
            return 0;
        }
        int err = attrs_reserve(a, 0, (uint32_t)value_len + 1);
        if (err != 0) {
            return err;
        }
        e = &attrs_entries(a)[at];
        char *dst = attrs_strings(a) + a->bytes_used;
        memcpy(dst, value, value_len);
        dst[value_len] = '\0';
        a->bytes_dead += e->val_len + 1;
        e->val_off = a->bytes_used;
        e->val_len = (uint32_t)value_len;
        a->bytes_used += (uint32_t)value_len + 1;
        return 0;
    }
    int err = attrs_reserve(a, 1, (uint32_t)(key_len + value_len + 2));
    if (err != 0) {
        return err;
    }
    ff_entry *e = &attrs_entries(a)[a->count];
    char *s = attrs_strings(a);
    e->key_off = a->bytes_used;
    e->key_len = (uint32_t)key_len;
    memcpy(s + e->key_off, key, key_len);
    s[e->key_off + key_len] = '\0';
    e->val_off = e->key_off + (uint32_t)key_len + 1;
    e->val_len = (uint32_t)value_len;
    memcpy(s + e->val_off, value, value_len);
    s[e->val_off + value_len] = '\0';
    a->bytes_used += (uint32_t)(key_len + value_len + 2);
    a->count++;
    return 0;
}

static bool attrs_holds(const weir_attrs *a, const char *p)
{
    const char *b = (const char *)a->block;
    size_t size = (size_t)a->entries_cap * sizeof(ff_entry) + a->bytes_cap;
    return b != NULL && p >= b && p < b + size;
}

/* Sets key (found at index `at`, or -1 when absent) to value. */
static int attrs_put_at(weir_attrs *a, int at, const char *key, size_t key_len, const char *value,
                        size_t value_len)
{
    if (key_len == 0 || key_len > FF_ATTR_LEN_MAX || value_len > FF_ATTR_LEN_MAX) {
        return WEIR_E_INVAL;
    }
    /* a rebuild would move bytes the arguments point at: copy them first */
    char *copy = NULL;
    if (attrs_holds(a, key) || attrs_holds(a, value)) {
        copy = malloc(key_len + value_len + 1);
        if (copy == NULL) {
            return WEIR_E_NOMEM;
        }
        memcpy(copy, key, key_len);
        memcpy(copy + key_len, value, value_len);
        key = copy;
        value = copy + key_len;
    }
    int err = attrs_put_fresh(a, at, key, key_len, value, value_len);
    free(copy);
    return err;
}

static int attrs_put(weir_attrs *a, const char *key, size_t key_len, const char *value,
                     size_t value_len)
{
    return attrs_put_at(a, attrs_find(a, key, key_len), key, key_len, value, value_len);
}

/* A compacted copy of src with a little slack for the changes that follow. */
static int attrs_copy(weir_attrs *dst, const weir_attrs *src)
{
    weir_attrs out = {0};
    out.count = src->count;
    uint32_t ec = src->count + 4;
    uint32_t bc = (uint32_t)attrs_live_bytes(src) + 64;
    uint8_t *block = malloc((size_t)ec * sizeof(ff_entry) + bc);
    if (block == NULL) {
        return WEIR_E_NOMEM;
    }
    out.block = block;
    out.entries_cap = ec;
    out.bytes_cap = bc;
    ff_entry *de = attrs_entries(&out);
    char *ds = attrs_strings(&out);
    const ff_entry *se = attrs_entries(src);
    const char *ss = src->block == NULL ? NULL : attrs_strings(src);
    uint32_t used = 0;
    for (uint32_t i = 0; i < src->count; i++) {
        de[i].key_off = used;
        de[i].key_len = se[i].key_len;
        memcpy(ds + used, ss + se[i].key_off, se[i].key_len + 1);
        used += se[i].key_len + 1;
        de[i].val_off = used;
        de[i].val_len = se[i].val_len;
        memcpy(ds + used, ss + se[i].val_off, se[i].val_len + 1);
        used += se[i].val_len + 1;
    }
    out.bytes_used = used;
    *dst = out;
    return 0;
}

/* ---- FlowFiles ---- */

static weir_flowfile *ff_alloc(void)
{
    weir_flowfile *ff = calloc(1, sizeof *ff);
    return ff;
}

/* A FlowFile whose first attribute block is inline; fields other than the
 * block are zero. */
static weir_flowfile *ff_alloc_inline(void)
{
    size_t block_size = FF_INLINE_ENTRIES * sizeof(ff_entry) + FF_INLINE_BYTES;
    weir_flowfile *ff = malloc(sizeof *ff + block_size);
    if (ff == NULL) {
        return NULL;
    }
    *ff = (weir_flowfile){0};
    ff->attrs.block = (uint8_t *)(ff + 1);
    ff->attrs.block_inline = true;
    ff->attrs.entries_cap = FF_INLINE_ENTRIES;
    ff->attrs.bytes_cap = FF_INLINE_BYTES;
    return ff;
}

/* The core attributes of a new FlowFile, laid out once: uuid, filename
 * (both the uuid's text, written in at the two zero runs) and path. */
#define FF_CORE_BYTES (5 + 37 + 9 + 37 + 5 + 3)
static const char ff_core_strings[FF_CORE_BYTES] =
    "uuid\0....................................\0"
    "filename\0....................................\0"
    "path\0./";
static const ff_entry ff_core_entries[3] = {
    {.key_off = 0, .key_len = 4, .val_off = 5, .val_len = 36},
    {.key_off = 42, .key_len = 8, .val_off = 51, .val_len = 36},
    {.key_off = 88, .key_len = 4, .val_off = 93, .val_len = 2},
};

/* Fills an empty inline map with the core attributes of a FlowFile of uuid u. */
static void ff_core_attrs(weir_attrs *a, const weir_uuid *u)
{
    WEIR_ASSERT(a->count == 0 && a->entries_cap >= 3 && a->bytes_cap >= FF_CORE_BYTES);
    memcpy(attrs_entries(a), ff_core_entries, sizeof ff_core_entries);
    char *s = attrs_strings(a);
    memcpy(s, ff_core_strings, FF_CORE_BYTES); /* the literal's last NUL ends "./" */
    weir_uuid_format(u, s + 5);                /* its NUL lands where uuid's value ends */
    memcpy(s + 51, s + 5, 36);
    a->count = 3;
    a->bytes_used = FF_CORE_BYTES;
}

/* Sets the uuid and its attribute (replaced in place when present). */
static int ff_set_uuid(weir_flowfile *ff, const weir_uuid *u)
{
    char s[WEIR_UUID_STR_BYTES];
    ff->uuid = *u;
    weir_uuid_format(u, s);
    return attrs_put(&ff->attrs, "uuid", 4, s, 36);
}

static void ff_dates_now(weir_env *env, weir_flowfile *ff)
{
    ff->entry_date_ms = weir_wall_ms(env);
    ff->entry_date_ns = weir_now_ns(env);
    ff->lineage_start_ms = ff->entry_date_ms;
    ff->lineage_start_ns = ff->entry_date_ns;
}

void weir_flowfile_time_now(weir_env *env, weir_flowfile_time *out)
{
    out->wall_ms = weir_wall_ms(env);
    out->mono_ns = weir_now_ns(env);
}

weir_flowfile *weir_flowfile_create_at(weir_env *env, uint64_t id, const weir_flowfile_time *at)
{
    weir_flowfile *ff = ff_alloc_inline();
    if (ff == NULL) {
        return NULL;
    }
    ff->id = id;
    ff->entry_date_ms = at->wall_ms;
    ff->entry_date_ns = at->mono_ns;
    ff->lineage_start_ms = at->wall_ms;
    ff->lineage_start_ns = at->mono_ns;
    weir_uuid_random(env, &ff->uuid);
    ff_core_attrs(&ff->attrs, &ff->uuid);
    return ff;
}

weir_flowfile *weir_flowfile_create(weir_env *env, uint64_t id)
{
    weir_flowfile_time now;
    weir_flowfile_time_now(env, &now);
    return weir_flowfile_create_at(env, id, &now);
}

weir_flowfile *weir_flowfile_create_child(weir_env *env, uint64_t id,
                                          const weir_flowfile *const *parents, size_t parent_count)
{
    WEIR_ASSERT(parent_count >= 1);
    weir_flowfile *ff = ff_alloc();
    if (ff == NULL) {
        return NULL;
    }
    ff->id = id;
    ff_dates_now(env, ff);
    ff->lineage_start_ms = parents[0]->lineage_start_ms;
    ff->lineage_start_ns = parents[0]->lineage_start_ns;
    for (size_t p = 1; p < parent_count; p++) {
        if (parents[p]->lineage_start_ms < ff->lineage_start_ms) {
            ff->lineage_start_ms = parents[p]->lineage_start_ms;
        }
        if (parents[p]->lineage_start_ns < ff->lineage_start_ns) {
            ff->lineage_start_ns = parents[p]->lineage_start_ns;
        }
    }
    int err = 0;
    if (parent_count == 1) {
        err = attrs_copy(&ff->attrs, &parents[0]->attrs);
    } else {
        const weir_flowfile *first = parents[0];
        for (size_t i = 0; i < first->attrs.count && err == 0; i++) {
            const char *k, *v;
            size_t kl, vl;
            weir_flowfile_attr_at(first, i, &k, &kl, &v, &vl);
            bool common = true;
            for (size_t p = 1; p < parent_count && common; p++) {
                const char *o = weir_flowfile_attr_get(parents[p], k);
                common = o != NULL && strlen(o) == vl && memcmp(o, v, vl) == 0;
            }
            if (common) {
                err = attrs_put(&ff->attrs, k, kl, v, vl);
            }
        }
    }
    weir_uuid u;
    weir_uuid_random(env, &u);
    char s[WEIR_UUID_STR_BYTES];
    weir_uuid_format(&u, s);
    ff->uuid = u;
    if (err == 0) {
        err = attrs_put(&ff->attrs, "uuid", 4, s, 36);
    }
    if (err == 0 && attrs_find(&ff->attrs, "filename", 8) < 0) {
        err = attrs_put(&ff->attrs, "filename", 8, s, 36);
    }
    if (err == 0 && attrs_find(&ff->attrs, "path", 4) < 0) {
        err = attrs_put(&ff->attrs, "path", 4, "./", 2);
    }
    if (err != 0) {
        weir_flowfile_free(ff);
        return NULL;
    }
    return ff;
}

weir_flowfile *weir_flowfile_dup(const weir_flowfile *src)
{
    weir_flowfile *ff = ff_alloc();
    if (ff == NULL) {
        return NULL;
    }
    *ff = *src;
    ff->attrs = (weir_attrs){0};
    if (attrs_copy(&ff->attrs, &src->attrs) != 0) {
        free(ff);
        return NULL;
    }
    if (ff->content != NULL) {
        weir_content_repo_incref(ff->content, &ff->claim);
    }
    return ff;
}

int weir_flowfile_assign(weir_flowfile *dst, const weir_flowfile *src)
{
    WEIR_ASSERT(dst != src);
    weir_attrs attrs;
    int err = attrs_copy(&attrs, &src->attrs);
    if (err != 0) {
        return err;
    }
    if (src->content != NULL) {
        weir_content_repo_incref(src->content, &src->claim);
    }
    if (dst->content != NULL) {
        weir_content_repo_decref(dst->content, &dst->claim);
    }
    attrs_block_free(&dst->attrs);
    *dst = *src;
    dst->attrs = attrs;
    return 0;
}

weir_flowfile *weir_flowfile_clone_range(weir_env *env, uint64_t id, const weir_flowfile *src,
                                         uint64_t offset, uint64_t size)
{
    WEIR_ASSERT(offset <= src->size && size <= src->size - offset);
    weir_flowfile *ff = weir_flowfile_dup(src);
    if (ff == NULL) {
        return NULL;
    }
    ff->id = id;
    ff->entry_date_ms = weir_wall_ms(env);
    ff->entry_date_ns = weir_now_ns(env);
    ff->queue_date_ns = 0;
    ff->queue_index = 0;
    ff->penalty_expiry_ns = 0;
    ff->content_offset = src->content_offset + offset;
    ff->size = size;
    weir_uuid u;
    weir_uuid_random(env, &u);
    if (ff_set_uuid(ff, &u) != 0) {
        weir_flowfile_free(ff);
        return NULL;
    }
    return ff;
}

weir_flowfile *weir_flowfile_clone(weir_env *env, uint64_t id, const weir_flowfile *src)
{
    return weir_flowfile_clone_range(env, id, src, 0, src->size);
}

void weir_flowfile_free(weir_flowfile *ff)
{
    if (ff == NULL) {
        return;
    }
    if (ff->content != NULL) {
        weir_content_repo_decref(ff->content, &ff->claim);
    }
    attrs_block_free(&ff->attrs);
    free(ff);
}

void weir_flowfile_free_keep_claim(weir_flowfile *ff)
{
    if (ff == NULL) {
        return;
    }
    attrs_block_free(&ff->attrs);
    free(ff);
}

void weir_flowfile_set_content(weir_flowfile *ff, weir_content_repo *repo,
                               const weir_content_claim *claim)
{
    bool null = weir_content_claim_is_null(claim);
    WEIR_ASSERT(null || repo != NULL);
    if (ff->content != NULL) {
        weir_content_repo_decref(ff->content, &ff->claim);
    }
    ff->content = null ? NULL : repo;
    ff->claim = null ? (weir_content_claim){0, 0, 0} : *claim;
    ff->content_offset = 0;
    ff->size = ff->claim.length;
}

/* ---- attribute calls ---- */

const char *weir_flowfile_attr_get(const weir_flowfile *ff, const char *key)
{
    int at = attrs_find(&ff->attrs, key, strlen(key));
    if (at < 0) {
        return NULL;
    }
    return attrs_strings(&ff->attrs) + attrs_entries(&ff->attrs)[at].val_off;
}

const char *weir_flowfile_lookup(const weir_flowfile *ff, const char *key, char *scratch,
                                 size_t scratch_size)
{
    const char *v = weir_flowfile_attr_get(ff, key);
    if (v != NULL) {
        return v;
    }
    int64_t n;
    if (strcmp(key, "entryDate") == 0) {
        n = ff->entry_date_ms;
    } else if (strcmp(key, "lineageStartDate") == 0) {
        n = ff->lineage_start_ms;
    } else if (strcmp(key, "fileSize") == 0) {
        n = (int64_t)ff->size;
    } else {
        return NULL;
    }
    /* decimal by hand: no stdio formatting needed, and no locale */
    char tmp[24];
    size_t len = 0;
    bool neg = n < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do {
        tmp[len++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (neg) {
        tmp[len++] = '-';
    }
    if (scratch_size < len + 1) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        scratch[i] = tmp[len - 1 - i];
    }
    scratch[len] = '\0';
    return scratch;
}

int weir_flowfile_attr_set_n(weir_flowfile *ff, const char *key, size_t key_len, const char *value,
                             size_t value_len)
{
    if (key_len == 4 && memcmp(key, "uuid", 4) == 0) {
        return WEIR_E_INVAL;
    }
    return attrs_put(&ff->attrs, key, key_len, value, value_len);
}

int weir_flowfile_attr_index(const weir_flowfile *ff, const char *key, size_t key_len)
{
    return attrs_find(&ff->attrs, key, key_len);
}

int weir_flowfile_attr_set_at(weir_flowfile *ff, int index, const char *key, size_t key_len,
                              const char *value, size_t value_len)
{
    WEIR_DEBUG_ASSERT(index == attrs_find(&ff->attrs, key, key_len));
    if (key_len == 4 && memcmp(key, "uuid", 4) == 0) {
        return WEIR_E_INVAL;
    }
    return attrs_put_at(&ff->attrs, index, key, key_len, value, value_len);
}

int weir_flowfile_attr_set(weir_flowfile *ff, const char *key, const char *value)
{
    return weir_flowfile_attr_set_n(ff, key, strlen(key), value, strlen(value));
}

bool weir_flowfile_attr_remove(weir_flowfile *ff, const char *key)
{
    size_t key_len = strlen(key);
    if (key_len == 4 && memcmp(key, "uuid", 4) == 0) {
        return false;
    }
    weir_attrs *a = &ff->attrs;
    int at = attrs_find(a, key, key_len);
    if (at < 0) {
        return false;
    }
    ff_entry *e = attrs_entries(a);
    a->bytes_dead += e[at].key_len + e[at].val_len + 2;
    memmove(&e[at], &e[at + 1], (a->count - (uint32_t)at - 1) * sizeof(ff_entry));
    a->count--;
    return true;
}

void weir_flowfile_attr_at(const weir_flowfile *ff, size_t i, const char **key_out,
                           size_t *key_len_out, const char **value_out, size_t *value_len_out)
{
    WEIR_ASSERT(i < ff->attrs.count);
    const ff_entry *e = &attrs_entries(&ff->attrs)[i];
    const char *s = attrs_strings(&ff->attrs);
    *key_out = s + e->key_off;
    *value_out = s + e->val_off;
    if (key_len_out != NULL) {
        *key_len_out = e->key_len;
    }
    if (value_len_out != NULL) {
        *value_len_out = e->val_len;
    }
}

size_t weir_flowfile_attr_bytes(const weir_flowfile *ff)
{
    return attrs_live_bytes(&ff->attrs) - 2 * (size_t)ff->attrs.count;
}

/* ---- encoding ---- */

size_t weir_flowfile_encoded_size_max(const weir_flowfile *ff)
{
    /* 16 uuid bytes, 15 varints of <= 10 bytes, two length varints (<= 5
     * bytes each) per attribute, the string bytes (without their NULs) */
    return 16 + 15 * 10 + (size_t)ff->attrs.count * 10 + weir_flowfile_attr_bytes(ff);
}

size_t weir_flowfile_encode(const weir_flowfile *ff, uint8_t *out)
{
    uint8_t *p = out;
    p += weir_put_uvarint(p, ff->id);
    memcpy(p, ff->uuid.b, 16);
    p += 16;
    p += weir_put_varlong(p, ff->entry_date_ms);
    p += weir_put_varlong(p, ff->lineage_start_ms);
    p += weir_put_varlong(p, ff->entry_date_ns);
    p += weir_put_varlong(p, ff->lineage_start_ns);
    p += weir_put_varlong(p, ff->queue_date_ns);
    p += weir_put_uvarint(p, ff->queue_index);
    p += weir_put_varlong(p, ff->penalty_expiry_ns);
    p += weir_put_uvarint(p, ff->claim.file_id);
    p += weir_put_uvarint(p, ff->claim.offset);
    p += weir_put_uvarint(p, ff->claim.length);
    p += weir_put_uvarint(p, ff->content_offset);
    p += weir_put_uvarint(p, ff->size);
    p += weir_put_uvarint(p, ff->attrs.count);
    const ff_entry *e = attrs_entries(&ff->attrs);
    const char *s = ff->attrs.block == NULL ? NULL : attrs_strings(&ff->attrs);
    for (uint32_t i = 0; i < ff->attrs.count; i++) {
        p += weir_put_uvarint(p, e[i].key_len);
        memcpy(p, s + e[i].key_off, e[i].key_len);
        p += e[i].key_len;
        p += weir_put_uvarint(p, e[i].val_len);
        memcpy(p, s + e[i].val_off, e[i].val_len);
        p += e[i].val_len;
    }
    WEIR_DEBUG_ASSERT((size_t)(p - out) <= weir_flowfile_encoded_size_max(ff));
    return (size_t)(p - out);
}

#define FF_CORRUPT(what)                                                                           \
    do {                                                                                           \
        *why = (what);                                                                             \
        err = WEIR_E_CORRUPT;                                                                      \
        goto fail;                                                                                 \
    } while (0)

int weir_flowfile_decode(const uint8_t *p, size_t len, weir_content_repo *repo, weir_flowfile **out,
                         const char **why)
{
    static const char *ignored;
    if (why == NULL) {
        why = &ignored;
    }
    int err = 0;
    weir_reader r = weir_reader_of(p, len);
    weir_flowfile *ff = ff_alloc();
    if (ff == NULL) {
        return WEIR_E_NOMEM;
    }
    ff->id = weir_reader_uvarint(&r);
    const uint8_t *uuid = weir_reader_take(&r, 16);
    if (uuid == NULL) {
        FF_CORRUPT("flowfile: truncated before the uuid");
    }
    memcpy(ff->uuid.b, uuid, 16);
    ff->entry_date_ms = weir_reader_varlong(&r);
    ff->lineage_start_ms = weir_reader_varlong(&r);
    ff->entry_date_ns = weir_reader_varlong(&r);
    ff->lineage_start_ns = weir_reader_varlong(&r);
    ff->queue_date_ns = weir_reader_varlong(&r);
    ff->queue_index = weir_reader_uvarint(&r);
    ff->penalty_expiry_ns = weir_reader_varlong(&r);
    ff->claim.file_id = weir_reader_uvarint(&r);
    ff->claim.offset = weir_reader_uvarint(&r);
    ff->claim.length = weir_reader_uvarint(&r);
    ff->content_offset = weir_reader_uvarint(&r);
    ff->size = weir_reader_uvarint(&r);
    uint64_t count = weir_reader_uvarint(&r);
    if (r.bad) {
        FF_CORRUPT("flowfile: truncated in the fixed fields");
    }
    if (ff->claim.file_id == 0 && (ff->claim.offset != 0 || ff->claim.length != 0 ||
                                   ff->content_offset != 0 || ff->size != 0)) {
        FF_CORRUPT("flowfile: content without a claim");
    }
    if (ff->content_offset > ff->claim.length || ff->size > ff->claim.length - ff->content_offset) {
        FF_CORRUPT("flowfile: content range outside its claim");
    }
    if (count > weir_reader_left(&r) / 2) {
        FF_CORRUPT("flowfile: attribute count larger than the record");
    }
    /* string bytes are at most the record's bytes plus two NULs each */
    size_t bytes = weir_reader_left(&r) + 2 * (size_t)count;
    if (bytes > UINT32_MAX || count > UINT32_MAX / sizeof(ff_entry)) {
        FF_CORRUPT("flowfile: attributes too large");
    }
    err = attrs_rebuild(&ff->attrs, (uint32_t)(count == 0 ? 1 : count), (uint32_t)bytes);
    if (err != 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t kl = weir_reader_uvarint(&r);
        const char *k = (const char *)weir_reader_take(&r, kl);
        if (k == NULL || kl == 0) {
            FF_CORRUPT("flowfile: attribute key length");
        }
        uint64_t vl = weir_reader_uvarint(&r);
        const char *v = (const char *)weir_reader_take(&r, vl);
        if (v == NULL) {
            FF_CORRUPT("flowfile: attribute value length");
        }
        if (memchr(k, 0, kl) != NULL || memchr(v, 0, vl) != NULL) {
            FF_CORRUPT("flowfile: NUL byte in an attribute");
        }
        if (attrs_find(&ff->attrs, k, kl) >= 0) {
            FF_CORRUPT("flowfile: attribute key twice");
        }
        err = attrs_put(&ff->attrs, k, kl, v, vl);
        if (err != 0) {
            goto fail;
        }
    }
    if (weir_reader_left(&r) != 0) {
        FF_CORRUPT("flowfile: bytes after the attributes");
    }
    ff->content = weir_content_claim_is_null(&ff->claim) ? NULL : repo;
    *out = ff;
    return 0;
fail:
    weir_flowfile_free_keep_claim(ff);
    return err;
}
