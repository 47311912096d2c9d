#include "log/batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"
#include "core/crc32c.h"

void weir_batch_header_decode(const uint8_t *b, weir_batch_header *h)
{
    h->base_offset = (int64_t)weir_get_be64(b + 0);
    h->length = (int32_t)weir_get_be32(b + 8);
    h->leader_epoch = (int32_t)weir_get_be32(b + 12);
    h->magic = (int8_t)b[16];
    h->crc = weir_get_be32(b + 17);
    h->attributes = (int16_t)weir_get_be16(b + 21);
    h->last_offset_delta = (int32_t)weir_get_be32(b + 23);
    h->base_timestamp = (int64_t)weir_get_be64(b + 27);
    h->max_timestamp = (int64_t)weir_get_be64(b + 35);
    h->producer_id = (int64_t)weir_get_be64(b + 43);
    h->producer_epoch = (int16_t)weir_get_be16(b + 51);
    h->base_sequence = (int32_t)weir_get_be32(b + 53);
    h->record_count = (int32_t)weir_get_be32(b + 57);
}

int weir_batch_validate(const uint8_t *buf, size_t len, weir_batch_header *out, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    weir_batch_header h;
    if (len < WEIR_BATCH_HEADER_BYTES) {
        *reason = "batch shorter than its 61-byte header";
        return WEIR_E_CORRUPT;
    }
    weir_batch_header_decode(buf, &h);
    if (h.length < 0 || (uint64_t)h.length + WEIR_BATCH_LOG_OVERHEAD != len) {
        *reason = "batch length field does not match its size";
        return WEIR_E_CORRUPT;
    }
    if (h.magic != WEIR_BATCH_MAGIC) {
        *reason = "magic is not 2";
        return WEIR_E_CORRUPT;
    }
    if (weir_crc32c(0, buf + WEIR_BATCH_CRC_START, len - WEIR_BATCH_CRC_START) != h.crc) {
        *reason = "CRC-32C mismatch";
        return WEIR_E_CORRUPT;
    }
    if (h.last_offset_delta < 0 || h.record_count < 0 ||
        (int64_t)h.record_count > (int64_t)h.last_offset_delta + 1) {
        *reason = "record count or last offset delta out of range";
        return WEIR_E_CORRUPT;
    }
    if (h.base_offset < 0 || h.base_offset > INT64_MAX - h.last_offset_delta) {
        *reason = "base offset out of range";
        return WEIR_E_CORRUPT;
    }
    if (out != NULL) {
        *out = h;
    }
    return 0;
}

int weir_batch_validate_records(const uint8_t *buf, size_t len, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    weir_batch_header h;
    int err = weir_batch_validate(buf, len, &h, reason);
    if (err != 0) {
        return err;
    }
    if ((h.attributes & WEIR_BATCH_COMPRESSION_MASK) != 0) {
        return 0;
    }
    weir_record_iter it;
    err = weir_record_iter_init(&it, buf, len);
    WEIR_ASSERT(err == 0);
    weir_record rec;
    int32_t n = 0;
    int32_t last_delta = -1;
    while ((err = weir_record_next(&it, &rec)) == 1) {
        if (rec.offset_delta <= last_delta) {
            *reason = "record offset deltas do not increase";
            return WEIR_E_CORRUPT;
        }
        weir_header_iter hi;
        weir_header_iter_init(&hi, &rec);
        weir_record_header hdr;
        while ((err = weir_header_next(&hi, &hdr)) == 1) {
        }
        if (err < 0) {
            *reason = "malformed record header";
            return err;
        }
        last_delta = rec.offset_delta;
        n++;
    }
    if (err < 0) {
        *reason = "malformed record";
        return err;
    }
    if (it.p != it.end) {
        *reason = "bytes after the last record";
        return WEIR_E_CORRUPT;
    }
    if (n != h.record_count || (n > 0 && last_delta != h.last_offset_delta)) {
        *reason = "records disagree with the batch's count or last offset delta";
        return WEIR_E_CORRUPT;
    }
    return 0;
}

void weir_batch_set_base_offset(uint8_t *buf, int64_t base_offset)
{
    weir_put_be64(buf, (uint64_t)base_offset);
}

void weir_batch_set_leader_epoch(uint8_t *buf, int32_t epoch)
{
    weir_put_be32(buf + 12, (uint32_t)epoch);
}

/* ---- records ---- */

int weir_record_iter_init(weir_record_iter *it, const uint8_t *buf, size_t len)
{
    WEIR_ASSERT(len >= WEIR_BATCH_HEADER_BYTES);
    weir_batch_header h;
    weir_batch_header_decode(buf, &h);
    if ((h.attributes & WEIR_BATCH_COMPRESSION_MASK) != 0) {
        return WEIR_E_UNSUPPORTED;
    }
    it->p = buf + WEIR_BATCH_HEADER_BYTES;
    it->end = buf + len;
    it->left = h.record_count < 0 ? 0 : h.record_count;
    return 0;
}

/* A length-prefixed byte string: -1 is null, other negatives are corrupt. */
static const uint8_t *rec_bytes(const uint8_t *p, const uint8_t *end, const uint8_t **data,
                                int32_t *len)
{
    size_t n = weir_get_varint(p, end, len);
    if (n == 0 || *len < -1 || (*len > 0 && (size_t)*len > (size_t)(end - p) - n)) {
        return NULL;
    }
    p += n;
    *data = *len >= 0 ? p : NULL;
    return p + (*len > 0 ? *len : 0);
}

int weir_record_next(weir_record_iter *it, weir_record *r)
{
    if (it->left == 0) {
        return 0;
    }
    int32_t rec_len;
    size_t n = weir_get_varint(it->p, it->end, &rec_len);
    if (n == 0 || rec_len < 1 || (size_t)rec_len > (size_t)(it->end - it->p) - n) {
        return WEIR_E_CORRUPT;
    }
    const uint8_t *p = it->p + n;
    const uint8_t *end = p + rec_len;
    r->attributes = (int8_t)*p++;
    if ((n = weir_get_varlong(p, end, &r->timestamp_delta)) == 0) {
        return WEIR_E_CORRUPT;
    }
    p += n;
    if ((n = weir_get_varint(p, end, &r->offset_delta)) == 0 || r->offset_delta < 0) {
        return WEIR_E_CORRUPT;
    }
    p += n;
    if ((p = rec_bytes(p, end, &r->key, &r->key_len)) == NULL ||
        (p = rec_bytes(p, end, &r->value, &r->value_len)) == NULL) {
        return WEIR_E_CORRUPT;
    }
    if ((n = weir_get_varint(p, end, &r->header_count)) == 0 || r->header_count < 0) {
        return WEIR_E_CORRUPT;
    }
    r->headers = p + n;
    r->headers_end = end;
    it->p = end;
    it->left--;
    return 1;
}

void weir_header_iter_init(weir_header_iter *it, const weir_record *rec)
{
    it->p = rec->headers;
    it->end = rec->headers_end;
    it->left = rec->header_count;
}

int weir_header_next(weir_header_iter *it, weir_record_header *out)
{
    if (it->left == 0) {
        return it->p == it->end ? 0 : WEIR_E_CORRUPT; /* bytes after the last header */
    }
    const uint8_t *p = rec_bytes(it->p, it->end, &out->key, &out->key_len);
    if (p == NULL || out->key_len < 0) {
        return WEIR_E_CORRUPT;
    }
    p = rec_bytes(p, it->end, &out->value, &out->value_len);
    if (p == NULL) {
        return WEIR_E_CORRUPT;
    }
    it->p = p;
    it->left--;
    return 1;
}

/* ---- builder ---- */

void weir_batch_builder_init(weir_batch_builder *b)
{
    memset(b, 0, sizeof *b);
    b->producer_id = -1;
    b->producer_epoch = -1;
    b->base_sequence = -1;
}

void weir_batch_builder_set_producer(weir_batch_builder *b, int64_t producer_id, int16_t epoch,
                                     int32_t base_sequence)
{
    b->producer_id = producer_id;
    b->producer_epoch = epoch;
    b->base_sequence = base_sequence;
}

void weir_batch_builder_set_attributes(weir_batch_builder *b, int16_t attributes)
{
    b->attributes = attributes;
}

static bool builder_reserve(weir_batch_builder *b, size_t more)
{
    if (b->failed) {
        return false;
    }
    if (b->len == 0) {
        b->len = WEIR_BATCH_HEADER_BYTES; /* header written by finish */
    }
    if (b->len + more <= b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        cap *= 2;
    }
    uint8_t *nb = realloc(b->buf, cap);
    if (nb == NULL) {
        b->failed = true;
        return false;
    }
    b->buf = nb;
    b->cap = cap;
    return true;
}

static uint8_t *put_bytes(uint8_t *p, const void *data, int32_t len)
{
    if (data == NULL) {
        return p + weir_put_varint(p, -1);
    }
    p += weir_put_varint(p, len);
    memcpy(p, data, (size_t)len);
    return p + len;
}

void weir_batch_builder_add(weir_batch_builder *b, int64_t timestamp, const void *key,
                            int32_t key_len, const void *value, int32_t value_len,
                            const weir_record_header *headers, int32_t header_count)
{
    WEIR_ASSERT((key == NULL || key_len >= 0) && (value == NULL || value_len >= 0));
    WEIR_ASSERT(header_count >= 0);
    if (key == NULL) {
        key_len = 0;
    }
    if (value == NULL) {
        value_len = 0;
    }
    if (b->count == 0) {
        b->base_timestamp = timestamp;
        b->max_timestamp = timestamp;
    }
    if (timestamp > b->max_timestamp) {
        b->max_timestamp = timestamp;
    }
    size_t body = 1 + weir_varlong_size(timestamp - b->base_timestamp) +
                  weir_varlong_size(b->count) + 5 + (size_t)key_len + 5 + (size_t)value_len + 5;
    for (int32_t i = 0; i < header_count; i++) {
        body += 10 + (size_t)headers[i].key_len + (headers[i].value ? (size_t)headers[i].value_len : 0);
    }
    if (!builder_reserve(b, body + 5)) {
        return;
    }
    /* Encode the body after a 5-byte gap, then move it behind its real length. */
    uint8_t *start = b->buf + b->len;
    uint8_t *p = start + 5;
    *p++ = 0; /* record attributes: unused */
    p += weir_put_varlong(p, timestamp - b->base_timestamp);
    p += weir_put_varint(p, b->count);
    p = put_bytes(p, key, key_len);
    p = put_bytes(p, value, value_len);
    p += weir_put_varint(p, header_count);
    for (int32_t i = 0; i < header_count; i++) {
        p = put_bytes(p, headers[i].key, headers[i].key_len);
        p = put_bytes(p, headers[i].value, headers[i].value_len);
    }
    size_t body_len = (size_t)(p - (start + 5));
    uint8_t lenbuf[5];
    size_t n = weir_put_varint(lenbuf, (int32_t)body_len);
    memmove(start + n, start + 5, body_len);
    memcpy(start, lenbuf, n);
    b->len += n + body_len;
    b->count++;
}

int weir_batch_builder_finish(weir_batch_builder *b, uint8_t **buf_out, size_t *len_out)
{
    if (b->failed) {
        return WEIR_E_NOMEM;
    }
    if (b->count == 0) {
        return WEIR_E_INVAL;
    }
    uint8_t *h = b->buf;
    weir_put_be64(h + 0, 0);
    weir_put_be32(h + 8, (uint32_t)(b->len - WEIR_BATCH_LOG_OVERHEAD));
    weir_put_be32(h + 12, 0);
    h[16] = WEIR_BATCH_MAGIC;
    weir_put_be16(h + 21, (uint16_t)b->attributes);
    weir_put_be32(h + 23, (uint32_t)(b->count - 1));
    weir_put_be64(h + 27, (uint64_t)b->base_timestamp);
    weir_put_be64(h + 35, (uint64_t)b->max_timestamp);
    weir_put_be64(h + 43, (uint64_t)b->producer_id);
    weir_put_be16(h + 51, (uint16_t)b->producer_epoch);
    weir_put_be32(h + 53, (uint32_t)b->base_sequence);
    weir_put_be32(h + 57, (uint32_t)b->count);
    weir_put_be32(h + 17, weir_crc32c(0, h + WEIR_BATCH_CRC_START, b->len - WEIR_BATCH_CRC_START));
    *buf_out = b->buf;
    *len_out = b->len;
    return 0;
}

void weir_batch_builder_free(weir_batch_builder *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}
