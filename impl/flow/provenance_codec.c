/* The provenance record format, WPV2 (see provenance_codec.h; the layout
 * is in provenance.h).
 *
 * Invariants: the writer's dictionary holds at most PV_DICT_ENTRIES_MAX
 * entries of 1..PV_DICT_STR_BYTES_MAX bytes, its table at most half full; a
 * record's payload never exceeds the bound pv_payload_bound gave for it; the
 * reader never reads past the bytes it was given.
 */
#include "flow/provenance_codec.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"
#include "core/crc32c.h"

/* ---- file headers ---- */

void pv_header_encode(uint64_t first_id, const uint64_t base[WEIR_PROV_TYPE_COUNT],
                      uint8_t out[PV_HEADER_BYTES])
{
    memcpy(out, PV_MAGIC, 4);
    weir_put_be64(out + 4, first_id);
    for (int t = 0; t < WEIR_PROV_TYPE_COUNT; t++) {
        weir_put_be64(out + 12 + 8 * t, base[t]);
    }
    weir_put_be32(out + PV_HEADER_BYTES - 4, weir_crc32c(0, out, PV_HEADER_BYTES - 4));
}

const char *pv_header_decode(const uint8_t *p, size_t len, uint64_t first_id,
                             uint64_t base_out[WEIR_PROV_TYPE_COUNT])
{
    if (len < PV_HEADER_BYTES) {
        return "torn file header";
    }
    if (memcmp(p, PV_MAGIC, 4) != 0) {
        return "not a provenance file (magic)";
    }
    if (weir_crc32c(0, p, PV_HEADER_BYTES - 4) != weir_get_be32(p + PV_HEADER_BYTES - 4)) {
        return "file header CRC mismatch";
    }
    if (weir_get_be64(p + 4) != first_id) {
        return "first event id differs from the file name";
    }
    for (int t = 0; t < WEIR_PROV_TYPE_COUNT; t++) {
        base_out[t] = weir_get_be64(p + 12 + 8 * t);
    }
    return NULL;
}

/* ---- the dictionary rule, both sides ---- */

/* Whether a string of len bytes written out in full enters a dictionary
 * that holds count entries. Reader and writer must agree. */
static bool pv_dict_admits(uint32_t count, size_t len)
{
    return len > 0 && len <= PV_DICT_STR_BYTES_MAX && count < PV_DICT_ENTRIES_MAX;
}

/* String field tags: 0 = empty; 2n + 1 = n bytes follow (which enter the
 * dictionary when pv_dict_admits); 2k + 2 = dictionary entry k. */
#define PV_TAG_REF(k) (2 * (uint64_t)(k) + 2)
#define PV_TAG_BYTES(n) (2 * (uint64_t)(n) + 1)

/* ---- the writer's dictionary ---- */

#define PV_NO_ENTRY UINT32_MAX
#define PV_TABLE_SLOTS (2 * PV_DICT_ENTRIES_MAX) /* a power of two */

uint32_t pv_str_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

static size_t pv_ptr_slot(const char *s)
{
    uint64_t x = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 58) & (PV_PTR_CACHE - 1);
}

/* Whether the NUL-terminated s equals entry e (reads s no further than its NUL). */
static bool pv_dict_same(const pv_dict *d, uint32_t e, const char *s)
{
    const char *t = d->bytes + d->off[e];
    uint32_t n = d->slen[e];
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] != t[i]) {
            return false;
        }
    }
    return s[n] == '\0';
}

void pv_dict_init(pv_dict *d)
{
    *d = (pv_dict){0};
    d->gen = 1; /* generation 0 is "in no dictionary" (pv_name) */
}

void pv_dict_reset(pv_dict *d)
{
    d->len = 0;
    d->count = 0;
    d->gen++;
    if (d->table != NULL) {
        memset(d->table, 0, PV_TABLE_SLOTS * sizeof *d->table);
    }
    memset(d->seen, 0, sizeof d->seen);
}

void pv_dict_free(pv_dict *d)
{
    free(d->bytes);
    free(d->off);
    free(d->slen);
    free(d->table);
    uint64_t gen = d->gen;
    *d = (pv_dict){0};
    d->gen = gen + 1;
}

/* The entry holding s (len bytes), or PV_NO_ENTRY. */
static uint32_t pv_dict_find(pv_dict *d, const char *s, size_t len)
{
    if (d->count == 0 || len == 0 || len > PV_DICT_STR_BYTES_MAX) {
        return PV_NO_ENTRY;
    }
    for (size_t i = pv_str_hash(s, len) & (PV_TABLE_SLOTS - 1); d->table[i] != 0;
         i = (i + 1) & (PV_TABLE_SLOTS - 1)) {
        uint32_t e = d->table[i] - 1;
        if (d->slen[e] == len && memcmp(d->bytes + d->off[e], s, len) == 0) {
            return e;
        }
    }
    return PV_NO_ENTRY;
}

/* Room for the entries one event may add (three strings), so that adding
 * them cannot fail half way. */
static int pv_dict_reserve(pv_dict *d)
{
    if (d->table == NULL) {
        d->table = calloc(PV_TABLE_SLOTS, sizeof *d->table);
        d->off = malloc(PV_DICT_ENTRIES_MAX * sizeof *d->off);
        d->slen = malloc(PV_DICT_ENTRIES_MAX * sizeof *d->slen);
        if (d->table == NULL || d->off == NULL || d->slen == NULL) {
            pv_dict_free(d);
            return WEIR_E_NOMEM;
        }
    }
    size_t need = d->len + 3 * (PV_DICT_STR_BYTES_MAX + 1);
    if (need > d->cap) {
        size_t cap = d->cap == 0 ? 4096 : d->cap * 2;
        while (cap < need) {
            cap *= 2;
        }
        char *bytes = realloc(d->bytes, cap);
        if (bytes == NULL) {
            return WEIR_E_NOMEM;
        }
        d->bytes = bytes;
        d->cap = cap;
    }
    return 0;
}

/* Adds s as the next entry: the caller checked pv_dict_admits and reserved
 * room (pv_dict_reserve) since the last string it added. */
static void pv_dict_add(pv_dict *d, const char *s, size_t len)
{
    WEIR_ASSERT(pv_dict_admits(d->count, len));
    WEIR_ASSERT(d->table != NULL && d->len + len + 1 <= d->cap);
    uint32_t e = d->count++;
    d->off[e] = (uint32_t)d->len;
    d->slen[e] = (uint32_t)len;
    memcpy(d->bytes + d->len, s, len);
    d->bytes[d->len + len] = '\0';
    d->len += len + 1;
    size_t i = pv_str_hash(s, len) & (PV_TABLE_SLOTS - 1);
    while (d->table[i] != 0) {
        i = (i + 1) & (PV_TABLE_SLOTS - 1);
    }
    d->table[i] = e + 1;
}

/* A string field about to be written: its entry, or its bytes. */
typedef struct pv_str {
    const char *s;
    size_t len;
    uint32_t entry; /* PV_NO_ENTRY: written out */
} pv_str;

/* Looks s up (NULL is ""): the pointer cache first, then the content. */
static pv_str pv_dict_resolve(pv_dict *d, const char *s)
{
    pv_str r = {s, 0, PV_NO_ENTRY};
    if (s == NULL || s[0] == '\0') {
        r.s = NULL;
        return r;
    }
    size_t slot = pv_ptr_slot(s);
    uint32_t e = d->seen[slot].entry;
    if (d->seen[slot].ptr == s && e < d->count && pv_dict_same(d, e, s)) {
        r.len = d->slen[e];
        r.entry = e;
        return r;
    }
    r.len = strlen(s);
    r.entry = pv_dict_find(d, s, r.len);
    if (r.entry != PV_NO_ENTRY) {
        d->seen[slot].ptr = s;
        d->seen[slot].entry = r.entry;
    }
    return r;
}

/* ---- encoding ---- */

/* Writes one string field (format in provenance.h) and keeps the
 * dictionary in step with what a reader will rebuild. */
static uint8_t *pv_put_str(pv_dict *d, uint8_t *p, const char *s)
{
    pv_str r = pv_dict_resolve(d, s);
    if (r.s == NULL) {
        *p++ = 0;
        return p;
    }
    if (r.entry != PV_NO_ENTRY) {
        return p + weir_put_uvarint(p, PV_TAG_REF(r.entry));
    }
    p += weir_put_uvarint(p, PV_TAG_BYTES(r.len));
    memcpy(p, r.s, r.len);
    if (pv_dict_admits(d->count, r.len)) {
        pv_dict_add(d, r.s, r.len);
        d->seen[pv_ptr_slot(s)].ptr = s;
        d->seen[pv_ptr_slot(s)].entry = d->count - 1;
    }
    return p + r.len;
}

/* Same for an interned string: no string work once it is in the
 * dictionary. */
static uint8_t *pv_put_name(pv_dict *d, uint8_t *p, pv_name *n)
{
    if (n == NULL) {
        *p++ = 0;
        return p;
    }
    if (n->gen == d->gen) {
        return p + weir_put_uvarint(p, PV_TAG_REF(n->entry));
    }
    p += weir_put_uvarint(p, PV_TAG_BYTES(n->len));
    memcpy(p, n->s, n->len);
    if (pv_dict_admits(d->count, n->len)) {
        pv_dict_add(d, n->s, n->len);
        n->gen = d->gen;
        n->entry = d->count - 1;
    }
    return p + n->len;
}

size_t pv_payload_bound(pv_dict *d, const weir_prov_event *ev, const pv_fields *f)
{
    size_t links = (size_t)ev->parent_count + ev->child_count;
    size_t most = 1 + 10 + 16 + 10 + 5 + 5 + 16 * links + 3 * 5;
    for (int i = 0; i < 3; i++) {
        if (f->by_name) {
            most += f->names[i] != NULL ? f->names[i]->len : 0;
        } else {
            most += pv_dict_resolve(d, f->strs[i]).len;
        }
    }
    return most;
}

int pv_dict_prepare(pv_dict *d, const pv_fields *f)
{
    bool may_grow = !f->by_name;
    for (int i = 0; i < 3 && f->by_name; i++) {
        may_grow = may_grow || (f->names[i] != NULL && f->names[i]->gen != d->gen);
    }
    return may_grow ? pv_dict_reserve(d) : 0;
}

size_t pv_encode(pv_dict *d, uint8_t *at, size_t payload_bound, const weir_prov_event *ev,
                 int64_t dt_ms, const pv_fields *f, bool crc)
{
    WEIR_ASSERT((int)ev->type >= 0 && ev->type < WEIR_PROV_TYPE_COUNT);
    /* a payload that surely fits 127 bytes has a one-byte length: written in
     * place; a longer one goes after the widest length and moves up */
    size_t head = payload_bound <= 127 ? 1 + 4 : PV_RECORD_HEADER_MAX;
    uint8_t *payload = at + head;
    uint8_t *p = payload;
    *p++ = (uint8_t)ev->type;
    p += weir_put_varlong(p, dt_ms);
    memcpy(p, ev->flowfile.b, 16);
    p += 16;
    p += weir_put_uvarint(p, ev->size);
    *p++ = 0; /* the counts, rewritten below when there are links */
    *p++ = 0;
    if ((size_t)ev->parent_count + ev->child_count > 0) {
        p -= 2;
        p += weir_put_uvarint(p, ev->parent_count);
        if (ev->parent_count > 0) {
            memcpy(p, ev->parents, 16 * (size_t)ev->parent_count);
            p += 16 * (size_t)ev->parent_count;
        }
        p += weir_put_uvarint(p, ev->child_count);
        if (ev->child_count > 0) {
            memcpy(p, ev->children, 16 * (size_t)ev->child_count);
            p += 16 * (size_t)ev->child_count;
        }
    }
    for (int i = 0; i < 3; i++) {
        p = f->by_name ? pv_put_name(d, p, f->names[i]) : pv_put_str(d, p, f->strs[i]);
    }
    size_t len = (size_t)(p - payload);
    WEIR_ASSERT(len <= payload_bound);
    size_t n = 1;
    if (head == 1 + 4) {
        at[0] = (uint8_t)len;
    } else {
        uint8_t lenbuf[5];
        n = weir_put_uvarint(lenbuf, len);
        memmove(at + n + 4, payload, len);
        memcpy(at, lenbuf, n);
        payload = at + n + 4;
    }
    /* memory cannot tear or rot: only files carry the CRC */
    weir_put_be32(at + n, crc ? weir_crc32c(0, payload, len) : 0);
    return n + 4 + len;
}

bool pv_tags(const pv_dict *d, pv_name *const names[3], uint8_t tags[8], size_t *len_out)
{
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        if (names[i] == NULL) {
            tags[n++] = 0;
        } else if (names[i]->gen == d->gen) {
            n += weir_put_uvarint(tags + n, PV_TAG_REF(names[i]->entry));
        } else {
            return false;
        }
    }
    *len_out = n;
    return true;
}

size_t pv_encode_ffs(uint8_t *dst, size_t used, size_t limit, weir_prov_type type, int64_t dt_ms,
                     const uint8_t tags[8], size_t tags_len, bool crc,
                     const weir_flowfile *const *ffs, size_t count, size_t *done_out)
{
    WEIR_ASSERT(tags_len <= 8);
    /* fixed-shape records, their one-byte length in place (state in
     * locals: the byte stores would otherwise make the compiler reload it) */
    size_t i = 0, at = used;
    int64_t dt = dt_ms;
    for (; i < count && at + PV_FF_RECORD_BYTES_MAX <= limit; i++) {
        uint8_t *h = dst + at;
        uint8_t *p = h + 1 + 4;
        *p++ = (uint8_t)type;
        p += weir_put_varlong(p, dt);
        memcpy(p, ffs[i]->uuid.b, 16);
        p += 16;
        p += weir_put_uvarint(p, ffs[i]->size);
        *p++ = 0;           /* no parents */
        *p++ = 0;           /* no children */
        memcpy(p, tags, 8); /* a fixed size: two stores */
        p += tags_len;
        size_t len = (size_t)(p - (h + 1 + 4));
        WEIR_ASSERT(len <= 127);
        h[0] = (uint8_t)len;
        weir_put_be32(h + 1, crc ? weir_crc32c(0, h + 1 + 4, len) : 0);
        at += 1 + 4 + len;
        dt = 0;
    }
    *done_out = i;
    return at;
}

/* ---- decoding ---- */

void pv_dec_start(pv_dec *d, uint64_t first_id)
{
    d->next_id = first_id;
    d->time_ms = 0;
    d->count = 0;
}

/* One string field; false when it does not parse. */
static bool pv_decode_str(weir_reader *r, pv_dec *d, const uint8_t **str, uint64_t *len)
{
    uint64_t tag = weir_reader_uvarint(r);
    *str = r->p; /* "" (never NULL: readers copy from it) */
    *len = 0;
    if (r->bad || tag == 0) {
        return !r->bad;
    }
    if ((tag & 1) == 0) {
        uint64_t k = tag / 2 - 1;
        if (k >= d->count) {
            return false;
        }
        *str = d->str[k];
        *len = d->str_len[k];
        return true;
    }
    *len = tag / 2;
    *str = weir_reader_take(r, *len);
    if (*str == NULL) {
        return false;
    }
    if (pv_dict_admits(d->count, *len)) {
        d->str[d->count] = *str;
        d->str_len[d->count] = (uint32_t)*len;
        d->count++;
    }
    return true;
}

/* Decodes one record's payload at the reader's position d. */
static const char *pv_decode(const uint8_t *p, size_t len, pv_dec *d, pv_raw *out)
{
    weir_reader r = weir_reader_of(p, len);
    weir_prov_event *ev = &out->ev;
    *out = (pv_raw){0};
    const uint8_t *type = weir_reader_take(&r, 1);
    if (type == NULL || *type >= WEIR_PROV_TYPE_COUNT) {
        return "event: type";
    }
    ev->type = (weir_prov_type)*type;
    int64_t dt = weir_reader_varlong(&r);
    if (r.bad) {
        return "event: time";
    }
    const uint8_t *u = weir_reader_take(&r, 16);
    if (u == NULL) {
        return "event: uuid";
    }
    memcpy(ev->flowfile.b, u, 16);
    ev->size = weir_reader_uvarint(&r);
    uint64_t np = weir_reader_uvarint(&r);
    if (r.bad || np > weir_reader_left(&r) / 16) {
        return "event: parent count";
    }
    ev->parents = (const weir_uuid *)(const void *)weir_reader_take(&r, np * 16);
    ev->parent_count = (uint32_t)np;
    uint64_t nc = weir_reader_uvarint(&r);
    if (r.bad || nc > weir_reader_left(&r) / 16) {
        return "event: child count";
    }
    ev->children = (const weir_uuid *)(const void *)weir_reader_take(&r, nc * 16);
    ev->child_count = (uint32_t)nc;
    for (int i = 0; i < 3; i++) {
        if (!pv_decode_str(&r, d, &out->str[i], &out->str_len[i])) {
            return "event: string field";
        }
    }
    if (weir_reader_left(&r) != 0) {
        return "event: bytes after the fields";
    }
    ev->id = d->next_id++;
    d->time_ms += dt;
    ev->time_ms = d->time_ms;
    return NULL;
}

int pv_walk(const uint8_t *bytes, size_t len, size_t start, bool crc, pv_dec *d, pv_raw_fn fn,
            void *arg, size_t *off_out, const char **bad_out)
{
    size_t off = start;
    *bad_out = NULL;
    while (off < len) {
        uint64_t rl = 0;
        size_t n = weir_get_uvarint(bytes + off, bytes + len, 5, &rl);
        if (n == 0 || len - off - n < 4) {
            *bad_out = "torn record header";
            break;
        }
        if (rl > len - off - n - 4 || rl > PV_RECORD_BYTES_MAX) {
            *bad_out = "torn record";
            break;
        }
        const uint8_t *payload = bytes + off + n + 4;
        if (crc && weir_crc32c(0, payload, rl) != weir_get_be32(bytes + off + n)) {
            *bad_out = "record CRC mismatch";
            break;
        }
        pv_raw raw;
        const char *bad = pv_decode(payload, rl, d, &raw);
        if (bad != NULL) {
            *bad_out = bad;
            break;
        }
        int rc = fn(&raw, arg);
        if (rc != 0) {
            *off_out = off;
            return rc;
        }
        off += n + 4 + rl;
    }
    *off_out = off;
    return 0;
}

int pv_dict_restore(pv_dict *dict, const pv_dec *d)
{
    pv_dict_reset(dict);
    for (uint32_t k = 0; k < d->count; k++) {
        int err = pv_dict_reserve(dict);
        if (err != 0) {
            return err;
        }
        pv_dict_add(dict, (const char *)d->str[k], d->str_len[k]);
    }
    return 0;
}
