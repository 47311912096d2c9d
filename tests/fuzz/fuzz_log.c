/* libFuzzer target: record-batch decoding and partition-log recovery.
 *
 * Input: one control byte, with bit 5 set five bytes of index damage, then a
 * payload.
 *
 * (a) Decoders. weir_batch_validate, weir_batch_validate_records and the
 *     record and header iterators run on the whole input, on the payload, and
 *     on each batch framed in the payload (copied to a heap buffer of its exact
 *     size, so ASan sees any read past it). Checked: results stay inside the
 *     buffer, a valid batch is length + 12 bytes, and validate_records accepts
 *     an uncompressed batch exactly when validate does and the iterators walk
 *     it cleanly (count, increasing deltas, last delta, no trailing bytes).
 *
 * (b) Recovery. `n/t-0/00000000000000000000.log` is written under a real
 *     temporary folder: 0-3 known-good batches from the batch builder, then
 *     the payload. weir_plog_open runs on the real (libuv) env, and an oracle
 *     that re-frames the bytes says where recovery must cut: after the last
 *     batch that validates and continues the offsets. Checked: open succeeds;
 *     the end offset, the size and the cut report match the oracle (so the
 *     known-good prefix is never cut); reading from the start returns, batch
 *     by batch, exactly the bytes kept, each batch valid and the offsets
 *     contiguous up to the end; a read at any offset finds its batch; a
 *     lookup by timestamp gives what a plain walk of the kept batches gives.
 *
 * Control byte:
 *   bits 0-1  good batches before the payload (2 records each, so offsets 0..2k-1)
 *   bit 2     the payload goes to a second segment, based after the good batches
 *   bit 3     repair: recompute the CRC of each batch framed in the payload
 *             (a fuzzer cannot, so without this it rarely gets past the CRC)
 *   bit 4     with bit 3: also renumber those batches to continue the offsets
 *   bit 5     afterwards: close cleanly, damage the last segment's index as the
 *             next five bytes say, reopen (no scan, or a rebuild) and compare:
 *             byte 0 bit 0 picks .timeindex over .index, bit 1 truncates the
 *             file to (byte 0 >> 2) * 4 bytes, else bytes 1-4 are written at
 *             that position; byte 0 == 0 leaves the index alone
 *   bit 6     afterwards: append a batch as leader (the payload's first batch if
 *             its records are valid, else a built one), "crash", recover, find it
 *   bit 7     tiny indexes (96 bytes, an entry per batch) instead of 4 KiB
 *
 * One world with one node "n" serves the whole process; every input runs in a
 * timer callback on that node's env, and the partition folder is removed after
 * each input. WEIR_FUZZ_TMPDIR picks the parent folder (default /dev/shm if
 * writable, else $TMPDIR or /tmp). WEIR_FUZZ_WRITE_SEEDS=<dir> writes the seed
 * corpus into <dir> and exits.
 */
#define _GNU_SOURCE 1
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "env/env.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "log/batch.h"
#include "log/log.h"

#define FZ_DIR "t-0"
#define FZ_GOOD_RECORDS 2      /* records per known-good batch */
#define FZ_READ_BYTES_MAX 200  /* small, so reads both cut at the budget and return one big batch */
#define FZ_POINT_READS_MAX 64  /* batches probed with a read at an inner offset */
#define FZ_TIME_PROBES_MAX 16  /* batches whose timestamps are looked up by time */

#define FZ_DAMAGE_BYTES 5

enum {
    FZ_GOOD_MASK = 0x03,
    FZ_SPLIT = 0x04,
    FZ_REPAIR = 0x08,
    FZ_RENUMBER = 0x10,
    FZ_REOPEN = 0x20,
    FZ_APPEND = 0x40,
    FZ_TINY_INDEX = 0x80,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- failing loudly ---- */

static void fz_fail(const char *expr, const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

static void fz_fail(const char *expr, const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "fuzz_log: check failed at %s:%d: %s\n  ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fz_fail(#cond, __FILE__, __LINE__, __VA_ARGS__);                                       \
        }                                                                                          \
    } while (0)

static uint8_t *fz_dup(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len > 0 ? len : 1);
    FZ_CHECK(c != NULL, "out of memory");
    if (len > 0) {
        memcpy(c, p, len);
    }
    return c;
}

/* Reading every byte a decoder hands out lets ASan flag a pointer past the buffer. */
static volatile uint8_t fz_sink;

static void fz_touch(const uint8_t *lo, const uint8_t *hi, const uint8_t *p, int32_t len)
{
    if (p == NULL) {
        FZ_CHECK(len == -1, "NULL bytes with length %d", (int)len);
        return;
    }
    FZ_CHECK(len >= 0, "bytes with negative length %d", (int)len);
    FZ_CHECK(p >= lo && (size_t)len <= (size_t)(hi - p), "bytes [%p, +%d) outside [%p, %p)",
             (const void *)p, (int)len, (const void *)lo, (const void *)hi);
    uint8_t acc = 0;
    for (int32_t i = 0; i < len; i++) {
        acc ^= p[i];
    }
    fz_sink ^= acc;
}

/* ==== (a) decoders ==== */

/* What walking a batch's records with the iterators found. */
typedef struct fz_walk {
    bool clean;         /* every record and header decoded, nothing left over */
    int32_t count;
    int32_t last_delta;
    bool increasing;    /* offset deltas strictly increase */
} fz_walk;

/* Walks one record's headers; false on a malformed one. */
static bool fz_walk_headers(const weir_record *rec, const uint8_t *hi)
{
    FZ_CHECK(rec->headers <= rec->headers_end && rec->headers_end <= hi, "headers outside record");
    weir_header_iter hit;
    weir_header_iter_init(&hit, rec);
    weir_record_header hdr;
    int rc;
    int32_t seen = 0;
    while ((rc = weir_header_next(&hit, &hdr)) == 1) {
        FZ_CHECK(hdr.key != NULL, "header without a key");
        fz_touch(rec->headers, rec->headers_end, hdr.key, hdr.key_len);
        fz_touch(rec->headers, rec->headers_end, hdr.value, hdr.value_len);
        FZ_CHECK(++seen <= rec->header_count, "more headers than header_count");
        FZ_CHECK(hit.p <= rec->headers_end, "header iterator ran past its record");
    }
    FZ_CHECK(rc == 0 || rc == WEIR_E_CORRUPT, "weir_header_next returned %d", rc);
    return rc == 0;
}

static void fz_walk_records(const uint8_t *buf, size_t len, fz_walk *w)
{
    memset(w, 0, sizeof *w);
    w->last_delta = -1;
    w->increasing = true;
    weir_record_iter it;
    int rc = weir_record_iter_init(&it, buf, len);
    if (rc != 0) {
        FZ_CHECK(rc == WEIR_E_UNSUPPORTED && (buf[22] & WEIR_BATCH_COMPRESSION_MASK) != 0,
                 "weir_record_iter_init returned %d", rc);
        return;
    }
    const uint8_t *lo = buf + WEIR_BATCH_HEADER_BYTES;
    const uint8_t *hi = buf + len;
    bool headers_ok = true;
    weir_record rec;
    for (;;) {
        const uint8_t *before = it.p;
        rc = weir_record_next(&it, &rec);
        if (rc != 1) {
            break;
        }
        FZ_CHECK(it.p > before && it.p <= hi, "record iterator did not move forward inside the batch");
        fz_touch(lo, hi, rec.key, rec.key_len);
        fz_touch(lo, hi, rec.value, rec.value_len);
        headers_ok = fz_walk_headers(&rec, hi) && headers_ok;
        w->increasing = w->increasing && rec.offset_delta > w->last_delta;
        w->last_delta = rec.offset_delta;
        w->count++;
    }
    FZ_CHECK(rc == 0 || rc == WEIR_E_CORRUPT, "weir_record_next returned %d", rc);
    w->clean = rc == 0 && headers_ok && it.p == it.end;
}

/* Every check on one buffer holding exactly the bytes under test. */
static void fz_check_decoders(const uint8_t *buf, size_t len)
{
    weir_batch_header h;
    const char *why = NULL;
    int rc = weir_batch_validate(buf, len, &h, &why);
    if (rc == 0) {
        FZ_CHECK(weir_batch_total_bytes(&h) == len, "valid batch of %zu bytes has length %d", len,
                 (int)h.length);
        FZ_CHECK(h.magic == WEIR_BATCH_MAGIC && h.base_offset >= 0 && h.last_offset_delta >= 0,
                 "valid batch with magic %d, base %lld, delta %d", h.magic,
                 (long long)h.base_offset, (int)h.last_offset_delta);
        FZ_CHECK(h.record_count >= 0 && (int64_t)h.record_count <= (int64_t)h.last_offset_delta + 1,
                 "valid batch with %d records for delta %d", (int)h.record_count,
                 (int)h.last_offset_delta);
    } else {
        FZ_CHECK(rc == WEIR_E_CORRUPT && why != NULL, "weir_batch_validate: %d without a reason", rc);
    }
    const char *why_records = NULL;
    int rv = weir_batch_validate_records(buf, len, &why_records);
    FZ_CHECK(rv == 0 || (rv == WEIR_E_CORRUPT && why_records != NULL),
             "weir_batch_validate_records: %d without a reason", rv);
    FZ_CHECK(rv != 0 || rc == 0, "records valid in a batch that does not validate");
    if (len < WEIR_BATCH_HEADER_BYTES) {
        return;
    }
    fz_walk w;
    fz_walk_records(buf, len, &w);
    bool compressed = (buf[22] & WEIR_BATCH_COMPRESSION_MASK) != 0;
    if (rc != 0 || compressed) {
        FZ_CHECK(rc != 0 || rv == 0, "compressed valid batch rejected by validate_records: %s",
                 why_records);
        return;
    }
    /* Uncompressed and valid: validate_records must agree with the iterators. */
    bool agree = w.clean && w.increasing && w.count == h.record_count &&
                 (w.count == 0 || w.last_delta == h.last_offset_delta);
    FZ_CHECK(agree == (rv == 0),
             "validate_records says %d (%s) but the iterators found clean=%d count=%d/%d "
             "last_delta=%d/%d increasing=%d",
             rv, why_records ? why_records : "-", w.clean, (int)w.count, (int)h.record_count,
             (int)w.last_delta, (int)h.last_offset_delta, w.increasing);
}

static void fz_check_copy(const uint8_t *p, size_t len)
{
    uint8_t *c = fz_dup(p, len);
    fz_check_decoders(c, len);
    free(c);
}

/* The payload read as a record set: each framed batch on its own, then the tail. */
static void fz_check_record_set(const uint8_t *p, size_t len)
{
    size_t at = 0;
    while (at < len) {
        size_t left = len - at;
        if (left < WEIR_BATCH_HEADER_BYTES) {
            fz_check_copy(p + at, left);
            return;
        }
        int32_t length = (int32_t)weir_get_be32(p + at + 8);
        uint64_t total = length < 0 ? 0 : (uint64_t)length + WEIR_BATCH_LOG_OVERHEAD;
        if (total < WEIR_BATCH_HEADER_BYTES || total > left) {
            fz_check_copy(p + at, left);
            return;
        }
        fz_check_copy(p + at, (size_t)total);
        at += (size_t)total;
    }
}

/* ==== (b) recovery ==== */

typedef struct fz_bytes {
    uint8_t *p;
    size_t len;
} fz_bytes;

static void fz_bytes_add(fz_bytes *b, const uint8_t *p, size_t len)
{
    uint8_t *np = realloc(b->p, b->len + len + 1);
    FZ_CHECK(np != NULL, "out of memory");
    b->p = np;
    if (len > 0) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;
}

/* One batch from the builder: `records` records, index i varying the contents. */
static void fz_build_batch(fz_bytes *out, int i, int records, int64_t base, int32_t epoch,
                           int16_t attributes)
{
    weir_batch_builder b;
    weir_batch_builder_init(&b);
    weir_batch_builder_set_attributes(&b, attributes);
    if (i % 2 == 1) {
        weir_batch_builder_set_producer(&b, 1000 + i, 0, i * 10);
    }
    for (int r = 0; r < records; r++) {
        char key[32], value[128];
        int klen = snprintf(key, sizeof key, "k%d.%d", i, r);
        int vlen = snprintf(value, sizeof value, "value %d of batch %d %.*s", r, i, 8 * (i % 8),
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        FZ_CHECK(klen > 0 && (size_t)klen < sizeof key && vlen > 0 && (size_t)vlen < sizeof value,
                 "record text does not fit");
        weir_record_header hdr = {(const uint8_t *)"h", 1, (const uint8_t *)key, klen};
        bool null_key = r == 1;
        weir_batch_builder_add(&b, 1700000000000LL + i * 10 + r, null_key ? NULL : key,
                               null_key ? 0 : klen, value, vlen, &hdr, r % 2 == 0 ? 1 : 0);
    }
    uint8_t *buf;
    size_t len;
    FZ_CHECK(weir_batch_builder_finish(&b, &buf, &len) == 0, "builder failed");
    size_t at = out->len;
    fz_bytes_add(out, buf, len);
    weir_batch_builder_free(&b);
    weir_batch_set_base_offset(out->p + at, base);
    weir_batch_set_leader_epoch(out->p + at, epoch);
}

static void fz_build_good(fz_bytes *out, int count)
{
    for (int i = 0; i < count; i++) {
        fz_build_batch(out, i, FZ_GOOD_RECORDS, (int64_t)i * FZ_GOOD_RECORDS, i / 2, 0);
    }
}

/* Recomputes the CRC of each batch framed in p (and renumbers it from next). */
static void fz_repair(uint8_t *p, size_t len, bool renumber, int64_t next)
{
    size_t at = 0;
    while (len - at >= WEIR_BATCH_HEADER_BYTES) {
        int32_t length = (int32_t)weir_get_be32(p + at + 8);
        uint64_t total = length < 0 ? 0 : (uint64_t)length + WEIR_BATCH_LOG_OVERHEAD;
        if (total < WEIR_BATCH_HEADER_BYTES || total > len - at) {
            return; /* a torn tail stays torn */
        }
        if (renumber) {
            weir_batch_set_base_offset(p + at, next);
            int32_t delta = (int32_t)weir_get_be32(p + at + 23);
            next += delta >= 0 ? (int64_t)delta + 1 : 1;
        }
        uint32_t crc = weir_crc32c(0, p + at + WEIR_BATCH_CRC_START,
                                   (size_t)total - WEIR_BATCH_CRC_START);
        weir_put_be32(p + at + 17, crc);
        at += (size_t)total;
    }
}

/* The oracle: what a validating scan of one segment file must keep. Mirrors
 * the documented rule (whole batches that validate, with contiguous offsets
 * from the segment's base, within 2^31 of it), not the scan's code. */
typedef struct fz_expect {
    uint64_t valid_bytes;
    int64_t next_offset;
} fz_expect;

static void fz_expect_scan(const uint8_t *p, size_t len, int64_t base, fz_expect *e)
{
    e->valid_bytes = 0;
    e->next_offset = base;
    size_t at = 0;
    while (len - at >= WEIR_BATCH_HEADER_BYTES) {
        int32_t length = (int32_t)weir_get_be32(p + at + 8);
        uint64_t total = length < 0 ? 0 : (uint64_t)length + WEIR_BATCH_LOG_OVERHEAD;
        if (total < WEIR_BATCH_HEADER_BYTES || total > len - at) {
            return;
        }
        weir_batch_header h;
        if (weir_batch_validate(p + at, (size_t)total, &h, NULL) != 0 ||
            h.base_offset != e->next_offset || weir_batch_last_offset(&h) - base > INT32_MAX) {
            return;
        }
        at += (size_t)total;
        e->valid_bytes = at;
        e->next_offset = weir_batch_last_offset(&h) + 1;
    }
}

/* One input's recovery case. */
typedef struct fz_case {
    uint8_t ctrl;
    weir_log_config cfg;
    fz_bytes files[2];      /* segment files as written */
    int64_t bases[2];
    int nfiles;
    int64_t good_end;       /* offsets [0, good_end) are the known-good batches */
    fz_bytes kept;          /* what recovery must keep: the valid prefix of each file */
    int64_t expect_end;
    uint64_t written_bytes;
    const uint8_t *damage;  /* FZ_DAMAGE_BYTES, or NULL */
    size_t payload_at;      /* where the (repaired) payload starts in the last file */
} fz_case;

/* Where the payload starts: after the control byte and any damage bytes. */
static size_t fz_payload_at(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    return (data[0] & FZ_REOPEN) && size >= 1 + FZ_DAMAGE_BYTES ? 1 + FZ_DAMAGE_BYTES : 1;
}

static void fz_case_build(fz_case *c, const uint8_t *payload, size_t plen)
{
    int good = c->ctrl & FZ_GOOD_MASK;
    c->good_end = (int64_t)good * FZ_GOOD_RECORDS;
    weir_log_config_default(&c->cfg);
    c->cfg.segment_index_bytes = (c->ctrl & FZ_TINY_INDEX) ? 96 : 4096;
    c->cfg.index_interval_bytes = (c->ctrl & FZ_TINY_INDEX) ? 0 : 256;
    bool split = (c->ctrl & FZ_SPLIT) && good > 0;
    c->nfiles = split ? 2 : 1;
    c->bases[0] = 0;
    c->bases[1] = c->good_end;
    fz_build_good(&c->files[0], good);
    fz_bytes *tail = &c->files[c->nfiles - 1];
    size_t at = tail->len;
    c->payload_at = at;
    fz_bytes_add(tail, payload, plen);
    if (c->ctrl & FZ_REPAIR) {
        fz_repair(tail->p + at, plen, (c->ctrl & FZ_RENUMBER) != 0, c->good_end);
    }
    c->expect_end = 0;
    for (int i = 0; i < c->nfiles; i++) {
        fz_expect e;
        fz_expect_scan(c->files[i].p, c->files[i].len, c->bases[i], &e);
        FZ_CHECK(i == c->nfiles - 1 || e.valid_bytes == c->files[i].len, "good batches invalid");
        fz_bytes_add(&c->kept, c->files[i].p, (size_t)e.valid_bytes);
        c->expect_end = e.next_offset;
        c->written_bytes += c->files[i].len;
    }
    FZ_CHECK(c->expect_end >= c->good_end, "oracle cut the known-good batches");
}

static void fz_case_free(fz_case *c)
{
    free(c->files[0].p);
    free(c->files[1].p);
    free(c->kept.p);
}

static void fz_write_file(weir_env *env, int64_t base, const fz_bytes *b)
{
    char path[128];
    FZ_CHECK(weir_segment_path(path, sizeof path, FZ_DIR, base, ".log"), "path too long");
    weir_file *f;
    int rc = weir_file_open(env, path, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    FZ_CHECK(rc == 0, "open %s: %s", path, weir_err_str(rc));
    if (b->len > 0) {
        rc = weir_file_pwrite(env, f, b->p, b->len, 0);
        FZ_CHECK(rc == 0, "write %s: %s", path, weir_err_str(rc));
    }
    weir_file_close(env, f);
}

/* Removes the partition folder and everything in it. */
static void fz_clean_dir(weir_env *env)
{
    weir_dirlist list = {0};
    int rc = weir_fs_list(env, FZ_DIR, &list);
    if (rc == WEIR_E_NOENT) {
        return;
    }
    FZ_CHECK(rc == 0, "list %s: %s", FZ_DIR, weir_err_str(rc));
    for (size_t i = 0; i < list.count; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", FZ_DIR, list.names[i]);
        rc = weir_fs_unlink(env, path);
        FZ_CHECK(rc == 0, "unlink %s: %s", path, weir_err_str(rc));
    }
    weir_fs_list_free(&list);
    rc = weir_fs_rmdir(env, FZ_DIR);
    FZ_CHECK(rc == 0, "rmdir %s: %s", FZ_DIR, weir_err_str(rc));
}

/* Reads the whole log from its start: every batch valid, offsets contiguous,
 * and the bytes exactly `kept`. */
static void fz_read_all(weir_plog *log, const fz_bytes *kept)
{
    int64_t end = weir_plog_end_offset(log);
    int64_t off = weir_plog_start_offset(log);
    size_t at = 0; /* position in kept */
    while (off < end) {
        weir_log_read_result r;
        int rc = weir_plog_read(log, off, FZ_READ_BYTES_MAX, true, &r);
        FZ_CHECK(rc == 0, "read at %lld of [0, %lld): %s", (long long)off, (long long)end,
                 weir_err_str(rc));
        FZ_CHECK(r.len > 0 && r.first_offset == off, "read at %lld: %zu bytes from %lld",
                 (long long)off, r.len, (long long)r.first_offset);
        FZ_CHECK(r.len <= kept->len - at && memcmp(r.data, kept->p + at, r.len) == 0,
                 "read at %lld returned bytes that differ from the file's at %zu", (long long)off,
                 at);
        for (size_t p = 0; p < r.len;) {
            FZ_CHECK(r.len - p >= WEIR_BATCH_HEADER_BYTES, "partial batch header in a read");
            weir_batch_header h;
            weir_batch_header_decode(r.data + p, &h);
            uint64_t total = weir_batch_total_bytes(&h);
            FZ_CHECK(total <= r.len - p, "partial batch in a read");
            const char *why = NULL;
            rc = weir_batch_validate(r.data + p, (size_t)total, &h, &why);
            FZ_CHECK(rc == 0, "batch read back at %lld does not validate: %s", (long long)off, why);
            FZ_CHECK(h.base_offset == off, "batch at %lld where %lld was next",
                     (long long)h.base_offset, (long long)off);
            off = weir_batch_last_offset(&h) + 1;
            p += (size_t)total;
        }
        FZ_CHECK(r.next_offset == off, "next_offset %lld, batches end at %lld",
                 (long long)r.next_offset, (long long)off);
        at += r.len;
        weir_log_read_result_free(&r);
    }
    FZ_CHECK(off == end && at == kept->len, "read %zu of %zu kept bytes, up to offset %lld of %lld",
             at, kept->len, (long long)off, (long long)end);
}

/* A read at an inner offset of each batch finds that batch; reads at and past the end. */
static void fz_read_points(weir_plog *log, const fz_bytes *kept)
{
    int n = 0;
    for (size_t at = 0; at < kept->len && n < FZ_POINT_READS_MAX; n++) {
        weir_batch_header h;
        weir_batch_header_decode(kept->p + at, &h);
        int64_t inner = h.base_offset + h.last_offset_delta / 2;
        weir_log_read_result r;
        int rc = weir_plog_read(log, inner, 1, true, &r);
        FZ_CHECK(rc == 0 && r.first_offset == h.base_offset &&
                     r.len == weir_batch_total_bytes(&h),
                 "read at %lld: rc %d, %zu bytes from %lld; expected the batch at %lld",
                 (long long)inner, rc, r.len, (long long)r.first_offset, (long long)h.base_offset);
        weir_log_read_result_free(&r);
        at += (size_t)weir_batch_total_bytes(&h);
    }
    int64_t end = weir_plog_end_offset(log);
    weir_log_read_result r;
    int rc = weir_plog_read(log, end, 1000, true, &r);
    FZ_CHECK(rc == 0 && r.len == 0, "read at the end: rc %d, %zu bytes", rc, r.len);
    weir_log_read_result_free(&r);
    rc = weir_plog_read(log, end + 1, 1000, true, &r);
    FZ_CHECK(rc == WEIR_E_RANGE, "read past the end: rc %d", rc);
    weir_log_read_result_free(&r);
}

/* The oracle for weir_plog_offset_for_time: the first batch whose max timestamp
 * is >= ts, then its first record at or after ts (the batch's base offset if
 * it is compressed or no record qualifies); -1 if no batch does. */
static int64_t fz_expect_time(const fz_bytes *kept, int64_t ts)
{
    for (size_t at = 0; at < kept->len;) {
        weir_batch_header h;
        weir_batch_header_decode(kept->p + at, &h);
        size_t total = (size_t)weir_batch_total_bytes(&h);
        if (h.max_timestamp >= ts) {
            weir_record_iter it;
            weir_record r;
            if (weir_record_iter_init(&it, kept->p + at, total) != 0) {
                return h.base_offset;
            }
            while (weir_record_next(&it, &r) == 1) {
                /* wraps like two's complement; UBSan flags the library if it overflows */
                int64_t t = (int64_t)((uint64_t)h.base_timestamp + (uint64_t)r.timestamp_delta);
                if (t >= ts) {
                    return h.base_offset + r.offset_delta;
                }
            }
            return h.base_offset;
        }
        at += total;
    }
    return -1;
}

static void fz_check_time(weir_plog *log, const fz_bytes *kept, int64_t ts, bool exact)
{
    int64_t off = -7;
    int rc = weir_plog_offset_for_time(log, ts, &off);
    FZ_CHECK(rc == 0, "offset for time %lld: %s", (long long)ts, weir_err_str(rc));
    int64_t want = ts == WEIR_LOG_TS_LATEST     ? weir_plog_end_offset(log)
                   : ts == WEIR_LOG_TS_EARLIEST ? weir_plog_start_offset(log)
                                                : fz_expect_time(kept, ts);
    FZ_CHECK(!exact || off == want, "offset for time %lld is %lld, expected %lld", (long long)ts,
             (long long)off, (long long)want);
}

/* Lookups by time at the kept batches' timestamps and at the extremes. With
 * `exact` false (a damaged index was trusted) only that they do not fail. */
static void fz_check_times(weir_plog *log, const fz_bytes *kept, bool exact)
{
    static const int64_t fixed[] = {INT64_MIN, -3, WEIR_LOG_TS_EARLIEST, WEIR_LOG_TS_LATEST, 0,
                                    INT64_MAX};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        fz_check_time(log, kept, fixed[i], exact);
    }
    int n = 0;
    for (size_t at = 0; at < kept->len && n < FZ_TIME_PROBES_MAX; n++) {
        weir_batch_header h;
        weir_batch_header_decode(kept->p + at, &h);
        fz_check_time(log, kept, h.base_timestamp, exact);
        fz_check_time(log, kept, h.max_timestamp, exact);
        if (h.max_timestamp < INT64_MAX) {
            fz_check_time(log, kept, h.max_timestamp + 1, exact);
        }
        at += (size_t)weir_batch_total_bytes(&h);
    }
}

static weir_plog *fz_open(weir_env *env, const fz_case *c, weir_log_recovery *rep)
{
    weir_plog *log = NULL;
    int rc = weir_plog_open(env, FZ_DIR, &c->cfg, rep, &log);
    FZ_CHECK(rc == 0 && log != NULL, "weir_plog_open: %s", weir_err_str(rc));
    return log;
}

static void fz_check_recovered(weir_plog *log, const fz_case *c, const weir_log_recovery *rep)
{
    int64_t end = weir_plog_end_offset(log);
    FZ_CHECK(end >= c->good_end, "recovery cut known-good batches: end %lld < %lld",
             (long long)end, (long long)c->good_end);
    FZ_CHECK(weir_plog_start_offset(log) == 0, "log starts at %lld",
             (long long)weir_plog_start_offset(log));
    FZ_CHECK(end == c->expect_end, "log ends at %lld, the oracle says %lld (cut: %s)",
             (long long)end, (long long)c->expect_end, rep->cut_reason ? rep->cut_reason : "-");
    FZ_CHECK(weir_plog_size_bytes(log) == c->kept.len, "log holds %llu bytes, expected %zu",
             (unsigned long long)weir_plog_size_bytes(log), c->kept.len);
    FZ_CHECK(weir_plog_segment_count(log) == (size_t)c->nfiles, "%zu segments from %d files",
             weir_plog_segment_count(log), c->nfiles);
    bool damaged = c->kept.len < c->written_bytes;
    FZ_CHECK(rep->cut == damaged, "cut reported %d, bytes dropped %d", rep->cut, damaged);
    FZ_CHECK(!rep->cut || (rep->cut_offset == end &&
                           rep->cut_bytes == c->written_bytes - c->kept.len),
             "cut at %lld of %llu bytes; expected %lld, %llu", (long long)rep->cut_offset,
             (unsigned long long)rep->cut_bytes, (long long)end,
             (unsigned long long)(c->written_bytes - c->kept.len));
    fz_read_all(log, &c->kept);
    fz_read_points(log, &c->kept);
    fz_check_times(log, &c->kept, true);
}

/* Damages the last segment's .index or .timeindex as c->damage says; false if untouched. */
static bool fz_damage_index(weir_env *env, const fz_case *c)
{
    const uint8_t *d = c->damage;
    if (d == NULL || d[0] == 0) {
        return false;
    }
    char path[128];
    const char *suffix = (d[0] & 1) ? ".timeindex" : ".index";
    FZ_CHECK(weir_segment_path(path, sizeof path, FZ_DIR, c->bases[c->nfiles - 1], suffix),
             "path too long");
    weir_file *f;
    int rc = weir_file_open(env, path, 0, &f);
    FZ_CHECK(rc == 0, "open %s: %s", path, weir_err_str(rc));
    uint64_t at = (uint64_t)(d[0] >> 2) * 4;
    rc = (d[0] & 2) ? weir_file_truncate(env, f, at) : weir_file_pwrite(env, f, d + 1, 4, at);
    FZ_CHECK(rc == 0, "damaging %s: %s", path, weir_err_str(rc));
    weir_file_close(env, f);
    return true;
}

/* Close cleanly (perhaps damage an index), reopen without a scan: the same log. */
static weir_plog *fz_reopen_clean(weir_env *env, weir_plog *log, const fz_case *c)
{
    size_t n = weir_plog_segment_count(log);
    int64_t max_ts[2] = {-1, -1};
    for (size_t i = 0; i < n && i < 2; i++) {
        max_ts[i] = weir_plog_segment_at(log, i)->max_timestamp;
    }
    int rc = weir_plog_close(log);
    FZ_CHECK(rc == 0, "weir_plog_close: %s", weir_err_str(rc));
    bool damaged = fz_damage_index(env, c);
    weir_log_recovery rep;
    log = fz_open(env, c, &rep);
    FZ_CHECK(rep.clean && !rep.cut && rep.segments_deleted == 0, "clean reopen: clean %d cut %d",
             rep.clean, rep.cut);
    FZ_CHECK(weir_plog_end_offset(log) == c->expect_end && weir_plog_segment_count(log) == n &&
                 weir_plog_size_bytes(log) == c->kept.len,
             "clean reopen: end %lld (was %lld), %zu segments", (long long)weir_plog_end_offset(log),
             (long long)c->expect_end, weir_plog_segment_count(log));
    for (size_t i = 0; i < n && i < 2 && !damaged; i++) {
        const weir_segment *seg = weir_plog_segment_at(log, i);
        FZ_CHECK(seg->max_timestamp == max_ts[i],
                 "segment %zu: max timestamp %lld after a clean reopen, %lld before", i,
                 (long long)seg->max_timestamp, (long long)max_ts[i]);
    }
    fz_read_all(log, &c->kept);
    fz_read_points(log, &c->kept);
    fz_check_times(log, &c->kept, !damaged);
    return log;
}

/* Append as leader, drop the log without closing, recover: the batch is there. */
/* The batch to append: the payload's first one if a leader would take it. */
static void fz_pick_append(const fz_case *c, fz_bytes *out)
{
    const fz_bytes *tail = &c->files[c->nfiles - 1];
    const uint8_t *p = tail->p + c->payload_at;
    size_t left = tail->len - c->payload_at;
    if (left >= WEIR_BATCH_HEADER_BYTES) {
        int32_t length = (int32_t)weir_get_be32(p + 8);
        uint64_t total = length < 0 ? 0 : (uint64_t)length + WEIR_BATCH_LOG_OVERHEAD;
        /* a plain batch: a producer's or a control batch would meet the
         * producer-state checks, which the recovery cases do not model */
        bool plain = (int64_t)weir_get_be64(p + 43) == -1 && (weir_get_be16(p + 21) & 0x30) == 0;
        if (plain && total >= WEIR_BATCH_HEADER_BYTES && total <= left &&
            total <= c->cfg.max_message_bytes &&
            weir_batch_validate_records(p, (size_t)total, NULL) == 0) {
            fz_bytes_add(out, p, (size_t)total);
            return;
        }
    }
    fz_build_batch(out, 7, 3, 0, 0, 0);
}

static weir_plog *fz_append_and_crash(weir_env *env, weir_plog *log, fz_case *c)
{
    fz_bytes b = {0};
    fz_pick_append(c, &b);
    weir_batch_header h;
    weir_batch_header_decode(b.p, &h);
    int64_t end = weir_plog_end_offset(log);
    int64_t last = end + h.last_offset_delta;
    weir_log_append_info info;
    const char *why = NULL;
    int rc = weir_plog_append_leader(log, b.p, b.len, 9, &info, &why);
    FZ_CHECK(rc == 0, "append after recovery: %s (%s)", weir_err_str(rc), why ? why : "-");
    FZ_CHECK(info.first_offset == end && info.last_offset == last &&
                 weir_plog_end_offset(log) == last + 1,
             "append at %lld of a batch ending %lld gave offsets %lld..%lld, end %lld",
             (long long)end, (long long)last, (long long)info.first_offset,
             (long long)info.last_offset, (long long)weir_plog_end_offset(log));
    fz_bytes_add(&c->kept, b.p, b.len); /* stamped in place by the append */
    c->expect_end = last + 1;
    free(b.p);
    weir_plog_abandon(log);
    weir_log_recovery rep;
    log = fz_open(env, c, &rep);
    FZ_CHECK(!rep.cut && weir_plog_end_offset(log) == c->expect_end,
             "after append and crash: end %lld, expected %lld, cut %d (%s)",
             (long long)weir_plog_end_offset(log), (long long)c->expect_end, rep.cut,
             rep.cut_reason ? rep.cut_reason : "-");
    fz_read_all(log, &c->kept);
    return log;
}

static void fz_recovery(weir_env *env, const uint8_t *data, size_t size)
{
    fz_case c;
    memset(&c, 0, sizeof c);
    c.ctrl = data[0];
    size_t at = fz_payload_at(data, size);
    c.damage = at > 1 ? data + 1 : NULL;
    fz_case_build(&c, data + at, size - at);
    fz_clean_dir(env);
    int rc = weir_fs_mkdir(env, FZ_DIR);
    FZ_CHECK(rc == 0, "mkdir %s: %s", FZ_DIR, weir_err_str(rc));
    for (int i = 0; i < c.nfiles; i++) {
        fz_write_file(env, c.bases[i], &c.files[i]);
    }
    weir_log_recovery rep;
    weir_plog *log = fz_open(env, &c, &rep);
    fz_check_recovered(log, &c, &rep);
    if (c.ctrl & FZ_REOPEN) {
        log = fz_reopen_clean(env, log, &c);
    }
    if (c.ctrl & FZ_APPEND) {
        log = fz_append_and_crash(env, log, &c);
    }
    weir_plog_abandon(log);
    fz_clean_dir(env);
    fz_case_free(&c);
}

/* ==== the world: one node for the whole process ==== */

static struct {
    char root[PATH_MAX];
    weir_world *world;
    weir_env *env;
    const uint8_t *data;
    size_t size;
    bool done;
} fz;

static void *fz_node_start(weir_env *env, void *arg)
{
    (void)arg;
    fz.env = env;
    env->log_level = WEIR_LOG_ERROR; /* recovery warns about every cut */
    return &fz;
}

static const weir_node_type fz_node = {.name = "fuzz", .start = fz_node_start, .destroy = NULL};

static void fz_input_cb(weir_env *env, void *arg)
{
    (void)arg;
    fz_recovery(env, fz.data, fz.size);
    fz.done = true;
    weir_world_stop(fz.world);
}

static int fz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_at_exit(void)
{
    if (fz.world != NULL) {
        weir_world_destroy(fz.world);
        fz.world = NULL;
    }
    if (fz.root[0] != '\0') {
        nftw(fz.root, fz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static const char *fz_tmp_parent(void)
{
    const char *dir = getenv("WEIR_FUZZ_TMPDIR");
    if (dir != NULL && dir[0] != '\0') {
        return dir;
    }
    if (access("/dev/shm", W_OK) == 0) {
        return "/dev/shm"; /* tmpfs: fsync is free */
    }
    dir = getenv("TMPDIR");
    return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

static void fz_world_start(void)
{
    snprintf(fz.root, sizeof fz.root, "%s/weir_fuzz_XXXXXX", fz_tmp_parent());
    FZ_CHECK(mkdtemp(fz.root) != NULL, "mkdtemp %s failed", fz.root);
    atexit(fz_at_exit);
    fz.world = weir_uv_world_new(fz.root, 1);
    FZ_CHECK(fz.world != NULL, "weir_uv_world_new(%s) failed", fz.root);
    int rc = weir_world_node_add(fz.world, "n", &fz_node, NULL);
    FZ_CHECK(rc == 0, "node_add: %s", weir_err_str(rc));
    rc = weir_world_run(fz.world, 0); /* starts the node */
    FZ_CHECK(rc == 0 && fz.env != NULL, "world did not start its node: %s", weir_err_str(rc));
}

/* ==== seeds ==== */

static void fz_seed_write(const char *dir, const char *name, uint8_t ctrl, const uint8_t *damage,
                          const fz_bytes *payload)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL, "cannot write %s", path);
    size_t damage_len = damage != NULL ? FZ_DAMAGE_BYTES : 0;
    FZ_CHECK((ctrl & FZ_REOPEN) == 0 || damage != NULL, "reopen seeds need damage bytes");
    FZ_CHECK(fputc(ctrl, f) != EOF &&
                 (damage_len == 0 || fwrite(damage, 1, damage_len, f) == damage_len) &&
                 fwrite(payload->p, 1, payload->len, f) == payload->len &&
                 fclose(f) == 0,
             "cannot write %s", path);
}

static void fz_seeds_write(const char *dir)
{
    fz_bytes b = {0};
    fz_build_batch(&b, 0, 3, 0, 0, 0);
    fz_seed_write(dir, "valid-batch", 0x00, NULL, &b);
    fz_build_batch(&b, 1, 2, 3, 0, 0);
    fz_seed_write(dir, "two-batches", 0x00, NULL, &b);
    b.len = 0;
    fz_build_batch(&b, 3, 4, 2, 1, 0); /* continues one good batch, then torn */
    b.len = b.len * 2 / 3;
    fz_seed_write(dir, "truncated-batch", 0x01, NULL, &b);
    b.len = 0;
    fz_build_batch(&b, 4, 2, 77, 0, 0); /* wrong base and CRC: repair and renumber fix both */
    b.p[40] ^= 0x5a;
    fz_seed_write(dir, "repair-renumber", FZ_REPAIR | FZ_RENUMBER, NULL, &b);
    b.len = 0;
    fz_build_batch(&b, 5, 1, 4, 1, 0); /* second segment after two good batches, garbage after */
    fz_bytes_add(&b, (const uint8_t *)"\xff\xff\xff\xff\x00\x00\x00\x10garbage", 15);
    fz_seed_write(dir, "split-segment", 0x02 | FZ_SPLIT, NULL, &b);
    b.len = 0;
    fz_build_batch(&b, 6, 5, 6, 2, 0); /* three good, one more, zero fill: reopen and append */
    uint8_t zeros[100] = {0};
    fz_bytes_add(&b, zeros, sizeof zeros);
    static const uint8_t intact[FZ_DAMAGE_BYTES] = {0, 0, 0, 0, 0};
    static const uint8_t entry_changed[FZ_DAMAGE_BYTES] = {1 << 2, 0, 0, 0, 1};
    static const uint8_t time_cut[FZ_DAMAGE_BYTES] = {(3 << 2) | 2 | 1, 0, 0, 0, 0};
    fz_seed_write(dir, "reopen-append-tiny-index", 0x03 | FZ_REOPEN | FZ_APPEND | FZ_TINY_INDEX,
                  intact, &b);
    fz_seed_write(dir, "reopen-index-entry-changed", 0x03 | FZ_REOPEN | FZ_TINY_INDEX,
                  entry_changed, &b);
    fz_seed_write(dir, "reopen-timeindex-cut", 0x03 | FZ_REOPEN | FZ_TINY_INDEX, time_cut, &b);
    b.len = 0;
    for (int i = 0; i < 14; i++) { /* more batches than the tiny indexes hold */
        fz_build_batch(&b, 10 + i, 1, 6 + i, 3, 0);
    }
    fz_seed_write(dir, "reopen-many-batches-tiny-index", 0x03 | FZ_REOPEN | FZ_TINY_INDEX, intact,
                  &b);
    b.len = 0;
    fz_build_batch(&b, 8, 2, 0, 0, 1); /* says gzip: validate_records does not look inside */
    fz_seed_write(dir, "compressed", 0x00, NULL, &b);
    free(b.p);
}

/* ==== libFuzzer entry points ==== */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seeds = getenv("WEIR_FUZZ_WRITE_SEEDS");
    if (seeds != NULL && seeds[0] != '\0') {
        fz_seeds_write(seeds);
        exit(0);
    }
    fz_world_start();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_check_decoders(data, size);
    if (size == 0) {
        return 0;
    }
    size_t at = fz_payload_at(data, size);
    fz_check_decoders(data + at, size - at);
    fz_check_record_set(data + at, size - at);
    fz.data = data;
    fz.size = size;
    fz.done = false;
    weir_timer_start(fz.env, 0, fz_input_cb, NULL);
    int rc = weir_world_run(fz.world, INT64_MAX);
    FZ_CHECK(rc == 0 && fz.done, "world run: %s, input done %d", weir_err_str(rc), fz.done);
    return 0;
}
