/* Unit tests of the partition log on real files: offsets, reads, indexes,
 * rolling, retention, truncation, checkpoints, and recovery from torn,
 * corrupt and missing files. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "core/prng.h"
#include "log/checkpoint.h"
#include "log/log.h"
#include "log/segment.h"
#include "log_fixture.h"

#define DIR "t-0"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static weir_plog *open_log(log_fixture *f, const weir_log_config *cfg, weir_log_recovery *rep)
{
    weir_log_config def;
    if (cfg == NULL) {
        weir_log_config_default(&def);
        cfg = &def;
    }
    weir_plog *log = NULL;
    assert_int_equal(weir_plog_open(f->env, DIR, cfg, rep, &log), 0);
    return log;
}

/* Reads the whole log and checks every batch validates and offsets are contiguous. */
static int64_t check_log_contents(weir_plog *log)
{
    int64_t next = weir_plog_start_offset(log);
    int64_t batches = 0;
    while (next < weir_plog_end_offset(log)) {
        weir_log_read_result r;
        assert_int_equal(weir_plog_read(log, next, 1 << 20, true, &r), 0);
        assert_true(r.len > 0);
        for (size_t at = 0; at < r.len;) {
            weir_batch_header h;
            assert_true(r.len - at >= 61);
            size_t total = (size_t)weir_get_be32(r.data + at + 8) + 12;
            assert_true(total <= r.len - at);
            assert_int_equal(weir_batch_validate(r.data + at, total, &h, NULL), 0);
            assert_true(h.base_offset == next);
            next = weir_batch_last_offset(&h) + 1;
            at += weir_batch_total_bytes(&h);
            batches++;
        }
        weir_log_read_result_free(&r);
    }
    assert_true(next == weir_plog_end_offset(log));
    return batches;
}

static void appends_get_consecutive_offsets_and_read_back_whole_batches(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    assert_true(weir_plog_start_offset(log) == 0 && weir_plog_end_offset(log) == 0);
    for (int i = 0; i < 10; i++) {
        assert_true(append_batch(log, 3, 1000 + i * 10, i, 20, 0) == 3 * i);
    }
    assert_true(weir_plog_end_offset(log) == 30);
    weir_log_read_result r;
    assert_int_equal(weir_plog_read(log, 4, 1 << 20, true, &r), 0);
    assert_true(r.first_offset == 3 && r.next_offset == 30);
    weir_batch_header h;
    weir_batch_header_decode(r.data, &h);
    assert_true(h.base_offset == 3 && h.last_offset_delta == 2 && h.leader_epoch == 0);
    weir_log_read_result_free(&r);
    /* a byte limit smaller than one batch still returns one when asked to */
    assert_int_equal(weir_plog_read(log, 0, 10, true, &r), 0);
    assert_true(r.next_offset == 3);
    weir_log_read_result_free(&r);
    assert_int_equal(weir_plog_read(log, 0, 10, false, &r), 0);
    assert_int_equal(r.len, 0);
    weir_log_read_result_free(&r);
    assert_int_equal(weir_plog_read(log, 30, 1 << 20, true, &r), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(weir_plog_read(log, 31, 1 << 20, true, &r), WEIR_E_RANGE);
    assert_int_equal(weir_plog_read(log, -1, 1 << 20, true, &r), WEIR_E_RANGE);
    assert_int_equal(check_log_contents(log), 10);
    assert_int_equal(weir_plog_close(log), 0);
}

static void segments_roll_by_size_with_twenty_digit_names_and_trimmed_indexes(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_bytes = 2000;
    cfg.index_interval_bytes = 100;
    cfg.segment_index_bytes = 4096;
    weir_plog *log = open_log(f, &cfg, NULL);
    for (int i = 0; i < 20; i++) {
        append_batch(log, 2, 5000 + i, i, 200, 0);
    }
    size_t n = weir_plog_segment_count(log);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        const weir_segment *seg = weir_plog_segment_at(log, i);
        char rel[64];
        snprintf(rel, sizeof rel, DIR "/%020lld.log", (long long)seg->base_offset);
        assert_int_equal(file_size(fixture_path(f, rel)), (long)seg->size);
        assert_true(seg->size <= 2000);
        snprintf(rel, sizeof rel, DIR "/%020lld.index", (long long)seg->base_offset);
        long isize = file_size(fixture_path(f, rel));
        if (i + 1 < n) {
            assert_int_equal(isize, (long)seg->oix.n * 8); /* trimmed at roll */
            assert_true(seg->oix.n > 0);
        } else {
            assert_int_equal(isize, 4096); /* the active index is preallocated */
        }
    }
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000000.log")),
                     (long)weir_plog_segment_at(log, 0)->size);
    assert_int_equal(check_log_contents(log), 20);
    int64_t active_base = weir_plog_segment_at(log, n - 1)->base_offset;
    assert_int_equal(weir_plog_close(log), 0);
    /* after a clean close the active index is trimmed too */
    char rel[64];
    snprintf(rel, sizeof rel, DIR "/%020lld.index", (long long)active_base);
    assert_true(file_size(fixture_path(f, rel)) % 8 == 0 && file_size(fixture_path(f, rel)) < 4096);
}

static void index_entries_follow_kafkas_interval_rule_and_point_at_batch_starts(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.index_interval_bytes = 500;
    weir_plog *log = open_log(f, &cfg, NULL);
    for (int i = 0; i < 40; i++) {
        append_batch(log, 1 + i % 3, 100 + i, i, 150, 0);
    }
    const weir_segment *seg = weir_plog_segment_at(log, 0);
    assert_true(seg->oix.n >= 5);
    for (size_t i = 0; i < seg->oix.n; i++) {
        uint32_t rel, pos;
        weir_offset_index_entry(&seg->oix, i, &rel, &pos);
        uint8_t hdr[61];
        FILE *fp = fopen(fixture_path(f, DIR "/00000000000000000000.log"), "rb");
        assert_non_null(fp);
        fseek(fp, pos, SEEK_SET);
        assert_int_equal(fread(hdr, 1, 61, fp), 61);
        fclose(fp);
        weir_batch_header h;
        weir_batch_header_decode(hdr, &h);
        assert_true(weir_batch_last_offset(&h) == (int64_t)rel); /* (last offset, batch start) */
    }
    /* every offset is reachable through the index */
    for (int64_t off = 0; off < weir_plog_end_offset(log); off++) {
        weir_log_read_result r;
        assert_int_equal(weir_plog_read(log, off, 1, true, &r), 0);
        assert_true(r.first_offset <= off && r.next_offset > off);
        weir_log_read_result_free(&r);
    }
    weir_plog_abandon(log);
}

static void segments_roll_by_time_and_when_the_index_is_full(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.segment_ms = 1000;
    weir_plog *log = open_log(f, &cfg, NULL);
    append_batch(log, 1, 10000, 0, 10, 0);
    append_batch(log, 1, 10500, 1, 10, 0);
    assert_int_equal(weir_plog_segment_count(log), 1);
    append_batch(log, 1, 11001, 2, 10, 0); /* more than segment.ms after the first batch */
    assert_int_equal(weir_plog_segment_count(log), 2);
    assert_true(weir_plog_segment_at(log, 1)->base_offset == 2);
    assert_int_equal(weir_plog_truncate_fully(log, 0), 0);

    /* index.interval.bytes 0: an entry per batch after the first; three time
     * entries fit (one slot is kept for the roll), so the fifth batch rolls */
    weir_plog_abandon(log);
    weir_log_config_default(&cfg);
    cfg.index_interval_bytes = 0;
    cfg.segment_index_bytes = 12 * 4;
    log = open_log(f, &cfg, NULL);
    for (int i = 0; i < 5; i++) {
        append_batch(log, 1, 100 + i, i, 10, 0);
    }
    assert_int_equal(weir_plog_segment_count(log), 2);
    assert_true(weir_plog_segment_at(log, 1)->base_offset == 4);
    assert_int_equal(check_log_contents(log), 5);
    weir_plog_abandon(log);
}

static weir_plog *small_segments(log_fixture *f, weir_log_config *cfg, int batches)
{
    weir_log_config_default(cfg);
    cfg->segment_bytes = 1000;
    cfg->index_interval_bytes = 64;
    cfg->segment_index_bytes = 1024;
    weir_plog *log = open_log(f, cfg, NULL);
    for (int i = 0; i < batches; i++) {
        append_batch(log, 2, 1000 * (i + 1), i, 150, 0);
    }
    return log;
}

static void retention_deletes_whole_oldest_segments_by_size_and_time_never_the_active_one(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30);
    size_t n = weir_plog_segment_count(log);
    assert_true(n >= 6);
    weir_plog_abandon(log);

    /* by size: keep at most 2500 bytes */
    cfg.retention_bytes = 2500;
    log = open_log(f, &cfg, NULL);
    weir_log_retention_report rep;
    assert_int_equal(weir_plog_apply_retention(log, 0, &rep), 0);
    assert_true(rep.segments_deleted > 0);
    /* Kafka's rule: delete while the excess is at least the oldest segment */
    assert_true(weir_plog_size_bytes(log) >= 2500);
    assert_true(weir_plog_size_bytes(log) - weir_plog_segment_at(log, 0)->size < 2500);
    assert_true(rep.new_start_offset == weir_plog_start_offset(log));
    assert_true(weir_plog_start_offset(log) > 0 && weir_plog_start_offset(log) % 2 == 0);
    char rel[64];
    snprintf(rel, sizeof rel, DIR "/%020lld.log", 0LL);
    assert_int_equal(file_size(fixture_path(f, rel)), -1);
    weir_log_read_result r;
    assert_int_equal(weir_plog_read(log, 0, 100, true, &r), WEIR_E_RANGE);
    check_log_contents(log);

    /* by time: everything older than retention.ms goes, except the active segment */
    weir_plog_abandon(log);
    cfg.retention_bytes = -1;
    cfg.retention_ms = 1000;
    log = open_log(f, &cfg, NULL);
    assert_int_equal(weir_plog_apply_retention(log, 1000000, &rep), 0);
    assert_int_equal(weir_plog_segment_count(log), 1);
    assert_true(weir_plog_end_offset(log) == 60);
    /* the new start survives a crash and a reopen */
    weir_plog_abandon(log);
    log = open_log(f, &cfg, NULL);
    assert_true(weir_plog_start_offset(log) == rep.new_start_offset);
    assert_int_equal(weir_plog_apply_retention(log, 1000000, &rep), 0);
    assert_int_equal(rep.segments_deleted, 0);
    assert_int_equal(weir_plog_close(log), 0);
}

static void truncation_cuts_whole_batches_across_segments_and_below_the_start(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30);
    size_t before = weir_plog_segment_count(log);
    /* offset 25 is inside batch 24..25: the whole batch goes */
    assert_int_equal(weir_plog_truncate_to(log, 25), 0);
    assert_true(weir_plog_end_offset(log) == 24);
    assert_true(weir_plog_segment_count(log) < before);
    check_log_contents(log);
    /* the log goes on from the new end */
    assert_true(append_batch(log, 2, 99, 99, 10, 0) == 24);
    assert_int_equal(weir_plog_truncate_to(log, 1000), 0); /* past the end: nothing */
    assert_true(weir_plog_end_offset(log) == 26);
    /* truncating to an offset that is a segment's base empties that segment */
    int64_t base = weir_plog_segment_at(log, 1)->base_offset;
    assert_int_equal(weir_plog_truncate_to(log, base), 0);
    assert_true(weir_plog_end_offset(log) == base);
    assert_int_equal(weir_plog_segment_count(log), 2);
    check_log_contents(log);
    /* a crash right after a truncation must not bring the batches back */
    weir_plog_abandon(log);
    log = open_log(f, &cfg, NULL);
    assert_true(weir_plog_end_offset(log) == base);
    /* fully, to a new start */
    assert_int_equal(weir_plog_truncate_fully(log, 500), 0);
    assert_true(weir_plog_start_offset(log) == 500 && weir_plog_end_offset(log) == 500);
    assert_true(append_batch(log, 1, 1, 1, 10, 0) == 500);
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000500.log")) > 0, 1);
    assert_int_equal(file_size(fixture_path(f, DIR "/00000000000000000000.log")), -1);
    /* below the start: start over there */
    assert_int_equal(weir_plog_truncate_to(log, 100), 0);
    assert_true(weir_plog_start_offset(log) == 100 && weir_plog_end_offset(log) == 100);
    assert_int_equal(weir_plog_close(log), 0);
    log = open_log(f, &cfg, NULL);
    assert_true(weir_plog_start_offset(log) == 100 && weir_plog_end_offset(log) == 100);
    weir_plog_abandon(log);
}

static void offsets_are_found_by_timestamp_through_the_time_index(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30); /* batch i: offsets 2i, 2i+1 at 1000(i+1), +1 */
    int64_t off;
    assert_int_equal(weir_plog_offset_for_time(log, 0, &off), 0);
    assert_true(off == 0);
    assert_int_equal(weir_plog_offset_for_time(log, 5000, &off), 0);
    assert_true(off == 8);
    assert_int_equal(weir_plog_offset_for_time(log, 5001, &off), 0);
    assert_true(off == 9);
    assert_int_equal(weir_plog_offset_for_time(log, 5002, &off), 0);
    assert_true(off == 10);
    assert_int_equal(weir_plog_offset_for_time(log, 30001, &off), 0);
    assert_true(off == 59);
    assert_int_equal(weir_plog_offset_for_time(log, 30002, &off), 0);
    assert_true(off == -1);
    assert_int_equal(weir_plog_offset_for_time(log, WEIR_LOG_TS_LATEST, &off), 0);
    assert_true(off == 60);
    assert_int_equal(weir_plog_offset_for_time(log, WEIR_LOG_TS_EARLIEST, &off), 0);
    assert_true(off == 0);
    /* the same answers from indexes reloaded after a clean close */
    assert_int_equal(weir_plog_close(log), 0);
    log = open_log(f, &cfg, NULL);
    for (int64_t ts = 900; ts < 31000; ts += 250) {
        int64_t want = ts <= 1000 ? 0 : -1;
        for (int i = 0; i < 30 && want < 0; i++) {
            if (1000 * (i + 1) >= ts) {
                want = 2 * i;
            } else if (1000 * (i + 1) + 1 >= ts) {
                want = 2 * i + 1;
            }
        }
        assert_int_equal(weir_plog_offset_for_time(log, ts, &off), 0);
        assert_true(off == want);
    }
    weir_plog_abandon(log);
}

static void a_clean_close_skips_the_scan_and_an_unclean_one_scans_after_the_recovery_point(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30);
    size_t segs = weir_plog_segment_count(log);
    assert_int_equal(weir_plog_close(log), 0);
    assert_true(file_size(fixture_path(f, DIR "/.kafka_cleanshutdown")) == 0);
    weir_log_recovery rep;
    log = open_log(f, &cfg, &rep);
    assert_true(rep.clean);
    assert_int_equal(rep.segments_scanned, 0);
    assert_false(rep.cut);
    assert_int_equal(file_size(fixture_path(f, DIR "/.kafka_cleanshutdown")), -1);
    assert_true(weir_plog_end_offset(log) == 60);
    append_batch(log, 2, 99999, 77, 10, 0);
    weir_plog_abandon(log); /* crash: no marker */
    log = open_log(f, &cfg, &rep);
    assert_false(rep.clean);
    /* only the segment(s) past the recovery point are scanned */
    assert_true(rep.segments_scanned >= 1 && (size_t)rep.segments_scanned < segs);
    assert_false(rep.cut);
    assert_true(weir_plog_end_offset(log) == 62);
    check_log_contents(log);
    weir_plog_abandon(log);
    /* no recovery-point checkpoint at all: every segment is scanned */
    assert_int_equal(unlink(fixture_path(f, DIR "/recovery-point-offset-checkpoint")), 0);
    log = open_log(f, &cfg, &rep);
    assert_int_equal((size_t)rep.segments_scanned, weir_plog_segment_count(log));
    assert_true(rep.batches_scanned == 31);
    weir_plog_abandon(log);
}

/* ---- corruption of real files ---- */

static void patch_file(const char *path, long at, const void *bytes, size_t n)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    if (at < 0) {
        fseek(fp, 0, SEEK_END);
    } else {
        fseek(fp, at, SEEK_SET);
    }
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    fclose(fp);
}

static void a_torn_tail_is_cut_at_the_last_whole_batch(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    for (int i = 0; i < 10; i++) {
        append_batch(log, 2, i, i, 100, 0);
    }
    const weir_segment *seg = weir_plog_segment_at(log, 0);
    long size = (long)seg->size;
    weir_plog_abandon(log);
    const char *path = fixture_path(f, DIR "/00000000000000000000.log");
    long batch = size / 10;
    assert_int_equal(truncate(path, size - batch / 2), 0);
    weir_log_recovery rep;
    log = open_log(f, NULL, &rep);
    assert_true(rep.cut);
    assert_true(rep.cut_offset == 18);
    assert_true(rep.cut_position == (uint64_t)(size - batch));
    assert_true(rep.cut_bytes == (uint64_t)(batch - batch / 2));
    assert_string_equal(rep.cut_segment, "00000000000000000000.log");
    assert_non_null(strstr(rep.cut_reason, "torn"));
    assert_true(weir_plog_end_offset(log) == 18);
    assert_int_equal(file_size(path), size - batch);
    assert_int_equal(check_log_contents(log), 9);
    weir_plog_abandon(log);
}

static void a_bit_flip_cuts_from_the_damaged_batch_and_drops_later_segments(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30);
    assert_true(weir_plog_segment_count(log) >= 4);
    int64_t base1 = weir_plog_segment_at(log, 1)->base_offset;
    weir_plog_abandon(log);
    assert_int_equal(unlink(fixture_path(f, DIR "/recovery-point-offset-checkpoint")), 0);
    char rel[64];
    snprintf(rel, sizeof rel, DIR "/%020lld.log", (long long)base1);
    /* flip one bit in the value of the second batch of segment 1 */
    long batch = file_size(fixture_path(f, rel)) / 2;
    uint8_t b;
    FILE *fp = fopen(fixture_path(f, rel), "rb");
    fseek(fp, batch + 100, SEEK_SET);
    assert_int_equal(fread(&b, 1, 1, fp), 1);
    fclose(fp);
    b ^= 0x04;
    weir_log_recovery rep;
    patch_file(fixture_path(f, rel), batch + 100, &b, 1);
    log = open_log(f, &cfg, &rep);
    assert_true(rep.cut);
    assert_non_null(strstr(rep.cut_reason, "CRC"));
    assert_true(rep.cut_offset == base1 + 2);
    assert_true(weir_plog_end_offset(log) == base1 + 2);
    assert_true(rep.segments_deleted >= 2);
    assert_int_equal(weir_plog_segment_count(log), 2);
    check_log_contents(log);
    /* and the log goes on from there */
    assert_true(append_batch(log, 1, 5, 5, 10, 0) == base1 + 2);
    weir_plog_abandon(log);
}

static void garbage_after_the_last_batch_is_cut_and_reported(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        append_batch(log, 1, i, i, 50, 0);
    }
    long size = (long)weir_plog_segment_at(log, 0)->size;
    weir_plog_abandon(log);
    uint8_t zeros[300] = {0};
    patch_file(fixture_path(f, DIR "/00000000000000000000.log"), -1, zeros, sizeof zeros);
    weir_log_recovery rep;
    log = open_log(f, NULL, &rep);
    assert_true(rep.cut && rep.cut_bytes == 300 && rep.cut_position == (uint64_t)size);
    assert_true(weir_plog_end_offset(log) == 5);
    weir_plog_abandon(log);
    /* random garbage this time, which may look like a header */
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)(i * 37 + 11);
    }
    patch_file(fixture_path(f, DIR "/00000000000000000000.log"), -1, junk, sizeof junk);
    log = open_log(f, NULL, &rep);
    assert_true(rep.cut && rep.cut_bytes == 200);
    assert_int_equal(check_log_contents(log), 5);
    weir_plog_abandon(log);
}

static void missing_or_damaged_indexes_are_rebuilt_even_after_a_clean_close(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_plog *log = small_segments(f, &cfg, 30);
    const weir_segment *seg0 = weir_plog_segment_at(log, 0);
    size_t entries = seg0->oix.n;
    assert_true(entries >= 1);
    assert_int_equal(weir_plog_close(log), 0);
    assert_int_equal(unlink(fixture_path(f, DIR "/00000000000000000000.index")), 0);
    uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    patch_file(fixture_path(f, DIR "/00000000000000000000.timeindex"), 0, junk, sizeof junk);
    weir_log_recovery rep;
    log = open_log(f, &cfg, &rep);
    assert_true(rep.clean);
    assert_int_equal(rep.indexes_rebuilt, 1);
    assert_false(rep.cut);
    assert_int_equal(weir_plog_segment_at(log, 0)->oix.n, entries);
    check_log_contents(log);
    int64_t off;
    assert_int_equal(weir_plog_offset_for_time(log, 3000, &off), 0);
    assert_true(off == 4);
    assert_int_equal(weir_plog_close(log), 0);
    /* an index entry pointing into the middle of a batch */
    uint8_t bad[8] = {0, 0, 0, 1, 0, 0, 0, 7};
    patch_file(fixture_path(f, DIR "/00000000000000000000.index"), 0, bad, sizeof bad);
    log = open_log(f, &cfg, &rep);
    assert_int_equal(rep.indexes_rebuilt, 1);
    check_log_contents(log);
    weir_plog_abandon(log);
}

static void leftover_files_are_removed_and_unknown_ones_kept(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    append_batch(log, 1, 1, 1, 10, 0);
    assert_int_equal(weir_plog_close(log), 0);
    const char *names[] = {DIR "/00000000000000000099.index", DIR "/00000000000000000099.timeindex",
                           DIR "/leader-epoch-checkpoint.tmp", DIR "/00000000000000000000.log.deleted"};
    for (size_t i = 0; i < 4; i++) {
        FILE *fp = fopen(fixture_path(f, names[i]), "wb");
        assert_non_null(fp);
        fclose(fp);
    }
    FILE *fp = fopen(fixture_path(f, DIR "/notes.txt"), "wb");
    fclose(fp);
    weir_log_recovery rep;
    log = open_log(f, NULL, &rep);
    assert_int_equal(rep.stray_files_removed, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(file_size(fixture_path(f, names[i])), -1);
    }
    assert_int_equal(file_size(fixture_path(f, DIR "/notes.txt")), 0);
    assert_true(weir_plog_end_offset(log) == 1);
    weir_plog_abandon(log);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void leader_epochs_are_checkpointed_in_kafkas_text_format(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    append_batch(log, 2, 1, 1, 10, 0);
    append_batch(log, 2, 1, 2, 10, 0);
    append_batch(log, 2, 1, 3, 10, 1);
    append_batch(log, 2, 1, 4, 10, 3);
    append_batch(log, 2, 1, 5, 10, 3);
    assert_string_equal(slurp(fixture_path(f, DIR "/leader-epoch-checkpoint")), "0\n3\n0 0\n1 4\n3 6\n");
    int32_t e;
    int64_t end;
    weir_plog_epoch_end_offset(log, 0, &e, &end);
    assert_true(e == 0 && end == 4);
    weir_plog_epoch_end_offset(log, 2, &e, &end); /* unknown epoch: the largest below it */
    assert_true(e == 1 && end == 6);
    weir_plog_epoch_end_offset(log, 3, &e, &end);
    assert_true(e == 3 && end == 10);
    /* truncation forgets epochs that start at or after the new end */
    assert_int_equal(weir_plog_truncate_to(log, 6), 0);
    assert_string_equal(slurp(fixture_path(f, DIR "/leader-epoch-checkpoint")), "0\n2\n0 0\n1 4\n");
    /* batches record the epoch they were written in */
    weir_log_read_result r;
    assert_int_equal(weir_plog_read(log, 4, 1000, true, &r), 0);
    weir_batch_header h;
    weir_batch_header_decode(r.data, &h);
    assert_int_equal(h.leader_epoch, 1);
    weir_log_read_result_free(&r);
    weir_plog_abandon(log);
    /* a damaged checkpoint is rebuilt from the batches */
    patch_file(fixture_path(f, DIR "/leader-epoch-checkpoint"), 4, "x", 1);
    weir_log_recovery rep;
    log = open_log(f, NULL, &rep);
    assert_true(rep.epochs_rebuilt);
    assert_string_equal(slurp(fixture_path(f, DIR "/leader-epoch-checkpoint")), "0\n2\n0 0\n1 4\n");
    weir_plog_abandon(log);
}

static void the_hw_checkpoint_round_trips_and_bad_checkpoints_name_their_line(void **state)
{
    log_fixture *f = *state;
    weir_plog *log = open_log(f, NULL, NULL);
    int64_t hw = 0;
    assert_int_equal(weir_plog_hw_read(log, &hw), WEIR_E_NOENT);
    append_batch(log, 5, 1, 1, 10, 0);
    assert_int_equal(weir_plog_hw_write(log, 3), 0);
    assert_string_equal(slurp(fixture_path(f, DIR "/replication-offset-checkpoint")), "0\n1\nt 0 3\n");
    assert_int_equal(weir_plog_hw_read(log, &hw), 0);
    assert_true(hw == 3);
    char why[160];
    FILE *fp = fopen(fixture_path(f, DIR "/replication-offset-checkpoint"), "wb");
    fputs("0\n1\nt 0 banana\n", fp);
    fclose(fp);
    assert_int_equal(weir_offset_checkpoint_read(f->env, DIR, WEIR_HW_CHECKPOINT, "t", 0, &hw, why,
                                                 sizeof why),
                     WEIR_E_CORRUPT);
    assert_string_equal(why, "replication-offset-checkpoint:3: expected '<topic> <partition> <offset>'");
    fp = fopen(fixture_path(f, DIR "/leader-epoch-checkpoint"), "wb");
    fputs("0\n2\n3 10\n2 20\n", fp);
    fclose(fp);
    weir_epoch_entry *e;
    size_t n;
    assert_int_equal(weir_epoch_checkpoint_read(f->env, DIR, &e, &n, why, sizeof why), WEIR_E_CORRUPT);
    assert_string_equal(why, "leader-epoch-checkpoint:4: epochs and start offsets must increase");
    /* an HW above the log end (its data lost in a crash) is clamped at open */
    assert_int_equal(weir_plog_hw_write(log, 5), 0);
    weir_plog_abandon(log);
    log = open_log(f, NULL, NULL);
    assert_int_equal(weir_plog_truncate_to(log, 2), 0);
    assert_int_equal(weir_plog_hw_read(log, &hw), 0);
    assert_true(hw == 0);
    weir_plog_abandon(log);
}

static void bad_appends_are_rejected_whole_and_leave_the_log_unchanged(void **state)
{
    log_fixture *f = *state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    cfg.max_message_bytes = 2000;
    weir_plog *log = open_log(f, &cfg, NULL);
    append_batch(log, 1, 1, 1, 10, 0);
    size_t l1, l2;
    uint8_t *a = make_batch(2, 1, 2, 10, &l1);
    uint8_t *b = make_batch(2, 1, 3, 10, &l2);
    uint8_t *set = malloc(l1 + l2);
    memcpy(set, a, l1);
    memcpy(set + l1, b, l2);
    set[l1 + 70] ^= 1; /* the second batch is corrupt: neither goes in */
    const char *why = NULL;
    weir_log_append_info info;
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2, 0, &info, &why), WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "CRC"));
    assert_true(weir_plog_end_offset(log) == 1);
    set[l1 + 70] ^= 1;
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2 - 1, 0, &info, &why), WEIR_E_CORRUPT);
    assert_int_equal(weir_plog_append_leader(log, set, l1 + l2, 0, &info, &why), 0);
    assert_true(info.first_offset == 1 && info.last_offset == 4 && info.batches == 2);
    size_t lbig;
    uint8_t *big = make_batch(1, 1, 4, 3000, &lbig);
    assert_int_equal(weir_plog_append_leader(log, big, lbig, 0, &info, &why), WEIR_E_INVAL);
    assert_non_null(strstr(why, "max.message.bytes"));
    /* a follower must continue exactly at the log end */
    weir_batch_set_base_offset(a, 7);
    assert_int_equal(weir_plog_append_follower(log, a, l1, &info, &why), WEIR_E_INVAL);
    weir_batch_set_base_offset(a, 5);
    weir_batch_set_leader_epoch(a, 4);
    assert_int_equal(weir_plog_append_follower(log, a, l1, &info, &why), 0);
    assert_true(weir_plog_end_offset(log) == 7);
    assert_int_equal(weir_epoch_cache_latest(weir_plog_epochs(log)), 4);
    assert_int_equal(weir_plog_append_leader(log, set, 0, 0, &info, &why), WEIR_E_INVAL);
    assert_true(weir_plog_end_offset(log) == 7);
    free(a);
    free(b);
    free(set);
    free(big);
    weir_plog_abandon(log);
    /* a folder that is not <topic>-<partition> */
    weir_plog *bad = NULL;
    assert_int_equal(weir_plog_open(f->env, "nodash", &cfg, NULL, &bad), WEIR_E_INVAL);
    assert_int_equal(weir_plog_open(f->env, "t-x", &cfg, NULL, &bad), WEIR_E_INVAL);
}

static void log_settings_parse_with_kafkas_names_and_reject_bad_values(void **state)
{
    (void)state;
    weir_log_config cfg;
    weir_log_config_default(&cfg);
    assert_true(cfg.segment_bytes == 1073741824ull && cfg.index_interval_bytes == 4096);
    assert_true(cfg.retention_ms == 604800000LL && cfg.retention_bytes == -1);
    const char *why;
    assert_int_equal(weir_log_config_set(&cfg, "segment.bytes", "1048576", &why), 0);
    assert_true(cfg.segment_bytes == 1048576);
    assert_int_equal(weir_log_config_set(&cfg, "retention.bytes", "-1", &why), 0);
    assert_int_equal(weir_log_config_set(&cfg, "log.retention.ms", "60000", &why), 0);
    assert_true(cfg.retention_ms == 60000);
    assert_int_equal(weir_log_config_set(&cfg, "segment.bytes", "ten", &why), WEIR_E_INVAL);
    assert_non_null(strstr(why, "segment.bytes"));
    assert_int_equal(weir_log_config_set(&cfg, "segment.ms", "-1", &why), WEIR_E_INVAL);
    assert_int_equal(weir_log_config_set(&cfg, "no.such.key", "1", &why), WEIR_E_NOENT);
}

/* Where each batch lives, learned from the log before damaging it. */
typedef struct batch_loc {
    int64_t base;
    int64_t last;
    int seg;
    long pos;
    long len;
} batch_loc;

static void random_corruption_of_real_segment_files_keeps_exactly_the_valid_prefix(void **state)
{
    log_fixture *f = *state;
    weir_prng rng;
    weir_prng_seed(&rng, 2024);
    for (int round = 0; round < 150; round++) {
        char dir[32];
        snprintf(dir, sizeof dir, "r%d-0", round);
        weir_log_config cfg;
        weir_log_config_default(&cfg);
        cfg.segment_bytes = 600 + weir_prng_below(&rng, 1500);
        cfg.index_interval_bytes = (uint32_t)weir_prng_below(&rng, 300);
        weir_plog *log = NULL;
        assert_int_equal(weir_plog_open(f->env, dir, &cfg, NULL, &log), 0);
        int nb = 5 + (int)weir_prng_below(&rng, 20);
        for (int i = 0; i < nb; i++) {
            append_batch(log, 1 + (int)weir_prng_below(&rng, 3), 100 * i, i,
                         (size_t)weir_prng_below(&rng, 200), 0);
        }
        batch_loc locs[32];
        int nsegs = (int)weir_plog_segment_count(log);
        int n = 0;
        long seg_size[32];
        int64_t seg_base[32];
        for (int s = 0; s < nsegs; s++) {
            const weir_segment *seg = weir_plog_segment_at(log, (size_t)s);
            seg_size[s] = (long)seg->size;
            seg_base[s] = seg->base_offset;
            long pos = 0;
            for (int64_t off = seg->base_offset; off < seg->next_offset;) {
                weir_log_read_result r;
                assert_int_equal(weir_plog_read(log, off, 1, true, &r), 0);
                locs[n] = (batch_loc){r.first_offset, r.next_offset - 1, s, pos, (long)r.len};
                pos += (long)r.len;
                off = r.next_offset;
                n++;
                weir_log_read_result_free(&r);
            }
        }
        assert_int_equal(n, nb);
        weir_plog_abandon(log);
        char rel[96];
        snprintf(rel, sizeof rel, "%s/recovery-point-offset-checkpoint", dir);
        unlink(fixture_path(f, rel)); /* validate every segment (absent if it never rolled) */

        int s = (int)weir_prng_below(&rng, (uint64_t)nsegs);
        snprintf(rel, sizeof rel, "%s/%020lld.log", dir, (long long)seg_base[s]);
        const char *path = fixture_path(f, rel);
        int kind = (int)weir_prng_below(&rng, 4);
        int64_t want_end = locs[n - 1].last + 1; /* nothing lost */
        long at = 0;
        if (kind == 0 && seg_size[s] > 0) { /* one bit flipped */
            at = (long)weir_prng_below(&rng, (uint64_t)seg_size[s]);
            FILE *fp = fopen(path, "r+b");
            fseek(fp, at, SEEK_SET);
            int ch = fgetc(fp);
            fseek(fp, at, SEEK_SET);
            fputc(ch ^ (1 << weir_prng_below(&rng, 8)), fp);
            fclose(fp);
            for (int i = 0; i < n; i++) {
                long rel_at = at - locs[i].pos;
                if (locs[i].seg == s && rel_at >= 0 && rel_at < locs[i].len) {
                    /* the leader epoch (bytes 12..15) is outside the CRC, as in Kafka */
                    want_end = rel_at >= 12 && rel_at < 16 ? want_end : locs[i].base;
                }
            }
        } else if (kind == 1) { /* cut short */
            at = (long)weir_prng_below(&rng, (uint64_t)seg_size[s] + 1);
            assert_int_equal(truncate(path, at), 0);
            for (int i = n - 1; i >= 0; i--) {
                if (locs[i].seg == s && locs[i].pos + locs[i].len > at) {
                    want_end = locs[i].base;
                }
            }
        } else if (kind == 2) { /* garbage appended */
            uint8_t junk[97];
            for (size_t i = 0; i < sizeof junk; i++) {
                junk[i] = (uint8_t)weir_prng_next(&rng);
            }
            patch_file(path, -1, junk, 1 + weir_prng_below(&rng, sizeof junk));
            if (s + 1 < nsegs) {
                want_end = seg_base[s + 1];
            }
        } else { /* an index deleted */
            snprintf(rel, sizeof rel, "%s/%020lld.%s", dir, (long long)seg_base[s],
                     weir_prng_below(&rng, 2) ? "index" : "timeindex");
            unlink(fixture_path(f, rel));
        }
        weir_log_recovery rep;
        assert_int_equal(weir_plog_open(f->env, dir, &cfg, &rep, &log), 0);
        if (weir_plog_end_offset(log) != want_end) {
            fail_msg("round %d kind %d segment %d byte %ld: log ends at %lld, expected %lld", round,
                     kind, s, at, (long long)weir_plog_end_offset(log), (long long)want_end);
        }
        bool lost = want_end != locs[n - 1].last + 1;
        bool at_boundary = false; /* a last segment cut exactly between batches looks whole */
        for (int i = 0; i < n; i++) {
            at_boundary = at_boundary || (locs[i].seg == s && locs[i].pos == at);
        }
        bool want_cut = kind == 2 || (lost && !(kind == 1 && s == nsegs - 1 && at_boundary));
        if (rep.cut != want_cut) {
            fail_msg("round %d kind %d segment %d/%d byte %ld of %ld: cut %d", round, kind, s, nsegs, at,
                     seg_size[s], rep.cut);
        }
        if (rep.cut) {
            assert_true(rep.cut_offset == want_end);
        }
        assert_int_equal(rep.segments_scanned, nsegs - rep.segments_deleted);
        check_log_contents(log);
        /* what is left is byte for byte what was written */
        for (int i = 0; i < n && locs[i].base < want_end; i++) {
            weir_log_read_result r;
            assert_int_equal(weir_plog_read(log, locs[i].base, 1, true, &r), 0);
            assert_int_equal((long)r.len, locs[i].len);
            weir_log_read_result_free(&r);
        }
        weir_plog_abandon(log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(appends_get_consecutive_offsets_and_read_back_whole_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_roll_by_size_with_twenty_digit_names_and_trimmed_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(index_entries_follow_kafkas_interval_rule_and_point_at_batch_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_roll_by_time_and_when_the_index_is_full, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_deletes_whole_oldest_segments_by_size_and_time_never_the_active_one, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_cuts_whole_batches_across_segments_and_below_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(offsets_are_found_by_timestamp_through_the_time_index, setup, teardown),
        cmocka_unit_test_setup_teardown(a_clean_close_skips_the_scan_and_an_unclean_one_scans_after_the_recovery_point, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_tail_is_cut_at_the_last_whole_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(a_bit_flip_cuts_from_the_damaged_batch_and_drops_later_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_after_the_last_batch_is_cut_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_damaged_indexes_are_rebuilt_even_after_a_clean_close, setup, teardown),
        cmocka_unit_test_setup_teardown(leftover_files_are_removed_and_unknown_ones_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(leader_epochs_are_checkpointed_in_kafkas_text_format, setup, teardown),
        cmocka_unit_test_setup_teardown(the_hw_checkpoint_round_trips_and_bad_checkpoints_name_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_appends_are_rejected_whole_and_leave_the_log_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(random_corruption_of_real_segment_files_keeps_exactly_the_valid_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(log_settings_parse_with_kafkas_names_and_reject_bad_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
