/* Unit tests of the on-disk formats: CRC-32C, varints, v2 record batches and
 * producer snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/prng.h"
#include "log/batch.h"
#include "log/snapshot.h"

static void crc32c_matches_the_standard_check_value(void **state)
{
    (void)state;
    assert_int_equal(weir_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(weir_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    if (weir_crc32c_hw_available()) {
        assert_int_equal(weir_crc32c_hw(0, "123456789", 9), 0xE3069283u);
    }
}

/* RFC 3720 (iSCSI) appendix B.4 vectors. */
static void crc32c_matches_the_iscsi_vectors(void **state)
{
    (void)state;
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(weir_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(weir_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    assert_int_equal(weir_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    assert_int_equal(weir_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void crc32c_hardware_and_table_agree_on_random_buffers_and_splits(void **state)
{
    (void)state;
    weir_prng rng;
    weir_prng_seed(&rng, 7);
    uint8_t buf[4099];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)weir_prng_next(&rng);
    }
    for (int round = 0; round < 200; round++) {
        size_t off = (size_t)weir_prng_below(&rng, 64);
        size_t len = (size_t)weir_prng_below(&rng, sizeof buf - off);
        uint32_t sw = weir_crc32c_sw(0, buf + off, len);
        if (weir_crc32c_hw_available()) {
            assert_int_equal(weir_crc32c_hw(0, buf + off, len), sw);
        }
        size_t cut = len ? (size_t)weir_prng_below(&rng, len) : 0;
        uint32_t split = weir_crc32c(weir_crc32c(0, buf + off, cut), buf + off + cut, len - cut);
        assert_int_equal(split, sw);
    }
}

static void varints_use_zigzag_as_kafka_records_do(void **state)
{
    (void)state;
    uint8_t b[10];
    assert_int_equal(weir_put_varint(b, -1), 1);
    assert_int_equal(b[0], 0x01);
    assert_int_equal(weir_put_varint(b, 150), 2);
    assert_int_equal(b[0], 0xAC);
    assert_int_equal(b[1], 0x02);
    int64_t values[] = {0, 1, -1, 63, -64, 64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t n = weir_put_varlong(b, values[i]);
        assert_int_equal(n, weir_varlong_size(values[i]));
        int64_t back = 0;
        assert_int_equal(weir_get_varlong(b, b + n, &back), n);
        assert_true(back == values[i]);
        assert_int_equal(weir_get_varlong(b, b + n - 1, &back), 0); /* truncated */
    }
    int32_t v32;

    weir_put_varlong(b, (int64_t)INT32_MAX + 1);
    assert_int_equal(weir_get_varint(b, b + 10, &v32), 0);
}

static uint8_t *build(weir_batch_builder *bb, int records, int64_t ts0, size_t *len)
{
    weir_batch_builder_init(bb);
    weir_record_header hdr = {(const uint8_t *)"h", 1, (const uint8_t *)"value", 5};
    for (int i = 0; i < records; i++) {
        char key[16], val[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        weir_batch_builder_add(bb, ts0 + i, i == 1 ? NULL : key, (int32_t)strlen(key), val,
                               (int32_t)strlen(val), i == 2 ? &hdr : NULL, i == 2 ? 1 : 0);
    }
    uint8_t *buf;
    assert_int_equal(weir_batch_builder_finish(bb, &buf, len), 0);
    return buf;
}

static void a_built_batch_has_kafkas_header_layout_and_validates(void **state)
{
    (void)state;
    weir_batch_builder bb;
    size_t len;
    uint8_t *buf = build(&bb, 5, 1000, &len);
    weir_batch_header h;
    const char *why = NULL;
    assert_int_equal(weir_batch_validate(buf, len, &h, &why), 0);
    assert_int_equal(h.magic, 2);
    assert_int_equal(h.length, (int32_t)len - 12);
    assert_int_equal(h.record_count, 5);
    assert_int_equal(h.last_offset_delta, 4);
    assert_true(h.base_timestamp == 1000 && h.max_timestamp == 1004);
    assert_true(h.producer_id == -1 && h.producer_epoch == -1 && h.base_sequence == -1);
    assert_int_equal(weir_get_be32(buf + 17), weir_crc32c(0, buf + 21, len - 21));
    assert_int_equal(weir_batch_validate_records(buf, len, &why), 0);
    /* offset and epoch live outside the CRC */
    weir_batch_set_base_offset(buf, 12345);
    weir_batch_set_leader_epoch(buf, 7);
    assert_int_equal(weir_batch_validate(buf, len, &h, &why), 0);
    assert_true(h.base_offset == 12345 && h.leader_epoch == 7);
    weir_batch_builder_free(&bb);
}

static void records_decode_with_null_keys_and_headers(void **state)
{
    (void)state;
    weir_batch_builder bb;
    size_t len;
    uint8_t *buf = build(&bb, 3, 50, &len);
    weir_record_iter it;
    assert_int_equal(weir_record_iter_init(&it, buf, len), 0);
    weir_record r;
    assert_int_equal(weir_record_next(&it, &r), 1);
    assert_int_equal(r.key_len, 2);
    assert_memory_equal(r.key, "k0", 2);
    assert_int_equal(r.offset_delta, 0);
    assert_int_equal(weir_record_next(&it, &r), 1);
    assert_int_equal(r.key_len, -1);
    assert_null(r.key);
    assert_true(r.timestamp_delta == 1);
    assert_int_equal(weir_record_next(&it, &r), 1);
    assert_int_equal(r.header_count, 1);
    weir_header_iter hi;
    weir_header_iter_init(&hi, &r);
    weir_record_header hd;
    assert_int_equal(weir_header_next(&hi, &hd), 1);
    assert_memory_equal(hd.key, "h", 1);
    assert_memory_equal(hd.value, "value", 5);
    assert_int_equal(weir_header_next(&hi, &hd), 0);
    assert_int_equal(weir_record_next(&it, &r), 0);
    weir_batch_builder_free(&bb);
}

static void every_single_bit_flip_under_the_crc_is_detected(void **state)
{
    (void)state;
    weir_batch_builder bb;
    size_t len;
    uint8_t *buf = build(&bb, 4, 0, &len);
    for (size_t byte = 16; byte < len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[byte] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(weir_batch_validate(buf, len, NULL, NULL), 0);
            buf[byte] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(weir_batch_validate(buf, len, NULL, NULL), 0);
    weir_batch_builder_free(&bb);
}

static void malformed_batches_are_rejected_with_a_reason(void **state)
{
    (void)state;
    weir_batch_builder bb;
    size_t len;
    uint8_t *buf = build(&bb, 2, 0, &len);
    const char *why = NULL;
    assert_int_equal(weir_batch_validate(buf, 60, NULL, &why), WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "61-byte"));
    assert_int_equal(weir_batch_validate(buf, len - 1, NULL, &why), WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "length"));
    buf[16] = 1;
    assert_int_equal(weir_batch_validate(buf, len, NULL, &why), WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "magic"));
    buf[16] = 2;
    /* a record count that disagrees with the records, CRC recomputed */
    weir_put_be32(buf + 57, 1);
    weir_put_be32(buf + 17, weir_crc32c(0, buf + 21, len - 21));
    assert_int_equal(weir_batch_validate(buf, len, NULL, &why), 0);
    assert_int_equal(weir_batch_validate_records(buf, len, &why), WEIR_E_CORRUPT);
    weir_batch_builder_free(&bb);
}

static void compressed_batches_are_kept_as_sent(void **state)
{
    (void)state;
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_set_attributes(&bb, 4 /* zstd */);
    weir_batch_builder_add(&bb, 1, "k", 1, "opaque", 6, NULL, 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(weir_batch_builder_finish(&bb, &buf, &len), 0);
    weir_record_iter it;
    assert_int_equal(weir_record_iter_init(&it, buf, len), WEIR_E_UNSUPPORTED);
    assert_int_equal(weir_batch_validate_records(buf, len, NULL), 0);
    weir_batch_builder_free(&bb);
}

static void producer_snapshots_round_trip_and_detect_damage(void **state)
{
    (void)state;
    weir_producer_entry in[3] = {
        {1000, 2, 41, 500, 4, 1700000000000, -1, -1},
        {1001, 0, 0, 501, 0, 1700000000001, 3, 480},
        {INT64_MAX, INT16_MAX, INT32_MAX, INT64_MAX, 7, -1, INT32_MAX, 0},
    };
    uint8_t *buf;
    size_t len;
    assert_int_equal(weir_snapshot_encode(in, 3, &buf, &len), 0);
    assert_int_equal(len, 10 + 3 * 46);
    assert_int_equal(weir_get_be16(buf), 1);
    weir_producer_entry *out;
    size_t n;
    const char *why;
    assert_int_equal(weir_snapshot_decode(buf, len, &out, &n, &why), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) { /* field by field: padding bytes differ */
        assert_true(out[i].producer_id == in[i].producer_id && out[i].epoch == in[i].epoch);
        assert_true(out[i].last_sequence == in[i].last_sequence);
        assert_true(out[i].last_offset == in[i].last_offset);
        assert_true(out[i].offset_delta == in[i].offset_delta);
        assert_true(out[i].timestamp == in[i].timestamp);
        assert_true(out[i].coordinator_epoch == in[i].coordinator_epoch);
        assert_true(out[i].current_txn_first_offset == in[i].current_txn_first_offset);
    }
    free(out);
    buf[40] ^= 0x10;
    assert_int_equal(weir_snapshot_decode(buf, len, &out, &n, &why), WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "CRC"));
    buf[40] ^= 0x10;
    assert_int_equal(weir_snapshot_decode(buf, len - 46, &out, &n, &why), WEIR_E_CORRUPT);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_matches_the_standard_check_value),
        cmocka_unit_test(crc32c_matches_the_iscsi_vectors),
        cmocka_unit_test(crc32c_hardware_and_table_agree_on_random_buffers_and_splits),
        cmocka_unit_test(varints_use_zigzag_as_kafka_records_do),
        cmocka_unit_test(a_built_batch_has_kafkas_header_layout_and_validates),
        cmocka_unit_test(records_decode_with_null_keys_and_headers),
        cmocka_unit_test(every_single_bit_flip_under_the_crc_is_detected),
        cmocka_unit_test(malformed_batches_are_rejected_with_a_reason),
        cmocka_unit_test(compressed_batches_are_kept_as_sent),
        cmocka_unit_test(producer_snapshots_round_trip_and_detect_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
