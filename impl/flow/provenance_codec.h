/* The provenance repository's record format, WPV2 (the layout is in
 * provenance.h): file headers, the dictionary of strings a segment repeats,
 * records encoded into room the repository found, and records walked back
 * out of a segment's bytes. Internal to provenance.c and provenance_codec.c.
 *
 * A segment is read from its start: an event's id is the segment's first id
 * plus its position, its time a difference from the previous event's, and
 * its strings may name an entry of the segment's dictionary. The writer's
 * side of the dictionary is pv_dict, the reader's pv_dec; both apply one rule
 * for what enters it (pv_dict_admits), so they agree entry by entry.
 *
 * Threading: one node's event callbacks only (no shared state here).
 */
#ifndef WEIR_FLOW_PROVENANCE_CODEC_H
#define WEIR_FLOW_PROVENANCE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flowfile.h"
#include "flow/provenance.h"

#define PV_MAGIC "WPV2"
#define PV_HEADER_BYTES (4 + 8 + 8 * WEIR_PROV_TYPE_COUNT + 4)
#define PV_RECORD_BYTES_MAX (64u << 20)
#define PV_RECORD_HEADER_MAX (5 + 4) /* uvarint payload length, CRC-32C */
#define PV_DICT_ENTRIES_MAX 4096u    /* strings a segment's dictionary holds */
#define PV_DICT_STR_BYTES_MAX 255u   /* longer strings are always written out */
#define PV_PTR_CACHE 64u             /* recently seen string pointers (a power of two) */

/* The most a pv_encode_ffs record takes: its one-byte length, the CRC, the
 * payload with three references (2 bytes each, copied as 8). */
#define PV_FF_RECORD_BYTES_MAX (1 + 4 + 1 + 10 + 16 + 10 + 1 + 1 + 8)

/* ---- file headers ---- */

/* "WPV2" | first_id | base counts | CRC-32C of what precedes. */
void pv_header_encode(uint64_t first_id, const uint64_t base[WEIR_PROV_TYPE_COUNT],
                      uint8_t out[PV_HEADER_BYTES]);

/* Checks a header read from a file named for first_id: NULL and base_out
 * filled, or what is wrong (static text; base_out untouched). */
const char *pv_header_decode(const uint8_t *p, size_t len, uint64_t first_id,
                             uint64_t base_out[WEIR_PROV_TYPE_COUNT]);

/* ---- the writer's dictionary ---- */

/* FNV-1a of len bytes (also the repository's table of interned names). */
uint32_t pv_str_hash(const char *s, size_t len);

/* The dictionary of the segment being written: entry k is the k-th string
 * that entered it. Strings are found by content (an open-addressing table)
 * and, faster, by the pointer last seen for them (checked against the
 * content, so a reused pointer cannot mislead it). */
typedef struct pv_dict {
    char *bytes; /* the entries' strings, each NUL-terminated */
    size_t len;
    size_t cap;
    uint32_t *off; /* entry -> offset in bytes */
    uint32_t *slen;
    uint32_t count;
    uint32_t *table; /* content hash -> entry + 1; 0: empty */
    uint64_t gen;    /* changes at every reset; never 0 (pv_name) */
    struct {
        const char *ptr;
        uint32_t entry;
    } seen[PV_PTR_CACHE];
} pv_dict;

/* An interned string (weir_prov_intern), for the life of the repository;
 * it remembers its entry in the dictionary of generation `gen`. */
typedef struct pv_name {
    char *s;
    uint32_t len;
    uint32_t entry;
    uint64_t gen; /* 0: in no dictionary */
} pv_name;

/* An empty dictionary that allocates on first use. */
void pv_dict_init(pv_dict *d);

/* Empties it for a new segment (interned names' entries go stale). */
void pv_dict_reset(pv_dict *d);

/* Frees its memory; it stays usable, empty, in a new generation. */
void pv_dict_free(pv_dict *d);

/* ---- encoding ---- */

/* The string fields of one event: strings, or interned names (non-NULL). */
typedef struct pv_fields {
    const char *strs[3];
    pv_name *names[3];
    bool by_name;
} pv_fields;

/* An upper bound of ev's payload with fields f: every string written out. */
size_t pv_payload_bound(pv_dict *d, const weir_prov_event *ev, const pv_fields *f);

/* Room for the dictionary entries one record with fields f may add, so that
 * pv_encode cannot fail. 0 or WEIR_E_NOMEM. */
WEIR_MUST_CHECK int pv_dict_prepare(pv_dict *d, const pv_fields *f);

/* Encodes one record at `at`, which has room for PV_RECORD_HEADER_MAX +
 * payload_bound bytes (payload_bound from pv_payload_bound, then
 * pv_dict_prepare): its time is dt_ms after the previous record's, its CRC
 * 0 unless crc. Adds the strings it writes out to d as a reader will.
 * Returns the record's bytes. */
size_t pv_encode(pv_dict *d, uint8_t *at, size_t payload_bound, const weir_prov_event *ev,
                 int64_t dt_ms, const pv_fields *f, bool crc);

/* The string fields of names as references into d, into tags (at most 3 x
 * 2 bytes; 8 are written); false when one is not in d. */
bool pv_tags(const pv_dict *d, pv_name *const names[3], uint8_t tags[8], size_t *len_out);

/* Records of type for ffs[0..count) (no parents or children, the strings
 * given by tags from pv_tags), the first dt_ms after the previous record and
 * the rest at the same time, written at dst + used while one more of
 * PV_FF_RECORD_BYTES_MAX fits below limit. Returns where the records end;
 * *done_out is how many were written. */
size_t pv_encode_ffs(uint8_t *dst, size_t used, size_t limit, weir_prov_type type, int64_t dt_ms,
                     const uint8_t tags[8], size_t tags_len, bool crc,
                     const weir_flowfile *const *ffs, size_t count, size_t *done_out);

/* ---- decoding ---- */

/* The reader's state within one segment: the next event's id, the last
 * event's time, the dictionary (pointers into the bytes being read, which
 * must outlive the state). About 48 KiB: allocate it. */
typedef struct pv_dec {
    uint64_t next_id;
    int64_t time_ms;
    uint32_t count;
    const uint8_t *str[PV_DICT_ENTRIES_MAX];
    uint32_t str_len[PV_DICT_ENTRIES_MAX];
} pv_dec;

void pv_dec_start(pv_dec *d, uint64_t first_id);

/* The writer continues the segment the reader d has read: the same
 * entries, in order. 0 or WEIR_E_NOMEM. */
WEIR_MUST_CHECK int pv_dict_restore(pv_dict *dict, const pv_dec *d);

/* A decoded event: strings are (pointer, length) into the records read,
 * uuid arrays point into them too. */
typedef struct pv_raw {
    weir_prov_event ev; /* string fields unset */
    const uint8_t *str[3];
    uint64_t str_len[3];
} pv_raw;

typedef int (*pv_raw_fn)(const pv_raw *raw, void *arg);

/* Walks the records of bytes[start, len) with the reader d, calling fn for
 * each until it returns non-zero (returned, *off_out the record's offset).
 * Otherwise returns 0 with *off_out where the whole records end and
 * *bad_out NULL, or what is wrong with the record there (static text).
 * crc: check each record's CRC (files; memory records carry none). */
int pv_walk(const uint8_t *bytes, size_t len, size_t start, bool crc, pv_dec *d, pv_raw_fn fn,
            void *arg, size_t *off_out, const char **bad_out);

#endif
