/* The pieces of the transaction side that need no broker: the producer id
 * allocator (blocks reserved durably before use, never reused after a
 * restart, a damaged file refused) and the __transaction_state record codec
 * (Kafka's TransactionLogKey/TransactionLogValue v0, byte for byte). */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function" /* the log tests' helpers */
#include "log_fixture.h"
#pragma GCC diagnostic pop

#include "broker/pid.h"
#include "broker/txn_log.h"
#include "log/checkpoint.h"

/* ---- producer ids ---- */

static void producer_ids_come_from_the_broker_range_and_survive_a_restart(void **state)
{
    (void)state;
    log_fixture *f = fixture_new();
    weir_pid_alloc a;
    weir_pid_init(&a, 3);
    int64_t base = (int64_t)3 << 40;
    for (int i = 0; i < 1500; i++) {
        int64_t pid = -1;
        assert_int_equal(weir_pid_next(&a, f->env, &pid), 0);
        assert_true(pid == base + i);
    }
    /* two blocks reserved: the file says where the next block starts */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(weir_checkpoint_slurp(f->env, WEIR_PID_FILE, 256, &text, &len), 0);
    char want[64];
    snprintf(want, sizeof want, "0\n%lld\n", (long long)(base + 2000));
    assert_string_equal(text, want);
    free(text);
    /* a new allocator (a restart) never hands out an id of the old blocks */
    weir_pid_alloc b;
    weir_pid_init(&b, 3);
    int64_t pid = -1;
    assert_int_equal(weir_pid_next(&b, f->env, &pid), 0);
    assert_true(pid == base + 2000);
    fixture_free(f);
}

static void a_damaged_producer_id_file_is_refused(void **state)
{
    (void)state;
    log_fixture *f = fixture_new();
    FILE *fp = fopen(fixture_path(f, WEIR_PID_FILE), "w");
    assert_non_null(fp);
    fputs("0\n12", fp); /* torn: no newline */
    fclose(fp);
    weir_pid_alloc a;
    weir_pid_init(&a, 1);
    int64_t pid = -7;
    assert_int_equal(weir_pid_next(&a, f->env, &pid), WEIR_E_CORRUPT);
    assert_true(pid == -7);
    /* another broker's range is refused too */
    fp = fopen(fixture_path(f, WEIR_PID_FILE), "w");
    assert_non_null(fp);
    fprintf(fp, "0\n%lld\n", (long long)((int64_t)3 << 40));
    fclose(fp);
    weir_pid_init(&a, 1);
    assert_int_equal(weir_pid_next(&a, f->env, &pid), WEIR_E_CORRUPT);
    /* a used-up range stays used up */
    fp = fopen(fixture_path(f, WEIR_PID_FILE), "w");
    assert_non_null(fp);
    fprintf(fp, "0\n%lld\n", (long long)(((int64_t)2 << 40) - 10));
    fclose(fp);
    weir_pid_init(&a, 1);
    assert_int_equal(weir_pid_next(&a, f->env, &pid), WEIR_E_RANGE);
    assert_true(pid == -7);
    fixture_free(f);
}

/* ---- __transaction_state records ---- */

static void the_key_is_version_0_and_the_id(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    weir_txn_log_key_write(&w, weir_str_from("app-1"));
    static const uint8_t want[] = {0, 0, 0, 5, 'a', 'p', 'p', '-', '1'};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.buf, want, sizeof want);
    weir_str tid;
    assert_int_equal(weir_txn_log_key_read(w.buf, w.len, &tid), 0);
    assert_true(weir_str_eq_cstr(tid, "app-1"));
    /* a group record's key (version 2) is not a transaction record */
    static const uint8_t group_key[] = {0, 2, 0, 1, 'g'};
    assert_int_equal(weir_txn_log_key_read(group_key, sizeof group_key, &tid), WEIR_E_UNSUPPORTED);
    weir_wr_free(&w);
}

static void the_value_has_kafkas_layout_and_round_trips(void **state)
{
    (void)state;
    weir_txn_log_tp parts[] = {
        {weir_str_from("a"), 0}, {weir_str_from("a"), 2}, {weir_str_from("b"), 1}};
    weir_txn_log_value v = {
        0x0102030405060708LL, 7, 60000, WEIR_TXN_PREPARE_COMMIT, 3, parts, 1700000000123LL,
        1700000000000LL};
    weir_wr w;
    weir_wr_init(&w);
    weir_txn_log_value_write(&w, &v);
    static const uint8_t want[] = {
        0, 0,                                                          /* version 0 */
        1, 2, 3,    4,    5,    6,    7,    8,                         /* producer id */
        0, 7,                                                          /* epoch */
        0, 0, 0xEA, 0x60,                                              /* timeout 60000 */
        2,                                                             /* PrepareCommit */
        0, 0, 0,    2,                                                 /* two topics */
        0, 1, 'a',  0,    0,    0,    2,    0,    0, 0, 0, 0, 0, 0, 2, /* a: [0, 2] */
        0, 1, 'b',  0,    0,    0,    1,    0,    0, 0, 1,             /* b: [1] */
        0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B, /* last update 1700000000123 */
        0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, /* start 1700000000000 */
    };
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.buf, want, sizeof want);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_txn_log_value back;
    assert_int_equal(weir_txn_log_value_read(w.buf, w.len, &a, &back), 0);
    assert_true(back.producer_id == v.producer_id && back.producer_epoch == 7 &&
                back.timeout_ms == 60000 && back.status == WEIR_TXN_PREPARE_COMMIT &&
                back.n_parts == 3 && back.last_update_ms == v.last_update_ms &&
                back.start_ms == v.start_ms);
    assert_true(weir_str_eq_cstr(back.parts[1].topic, "a") && back.parts[1].partition == 2);
    assert_true(weir_str_eq_cstr(back.parts[2].topic, "b") && back.parts[2].partition == 1);
    /* every truncation is refused, never read past the end */
    for (size_t n = 0; n < w.len; n++) {
        assert_int_equal(weir_txn_log_value_read(w.buf, n, &a, &back), WEIR_E_CORRUPT);
    }
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void an_empty_state_has_a_null_partition_array(void **state)
{
    (void)state;
    weir_txn_log_value v = {5, 0, 1000, WEIR_TXN_EMPTY, -1, NULL, 10, -1};
    weir_wr w;
    weir_wr_init(&w);
    weir_txn_log_value_write(&w, &v);
    assert_int_equal(w.len, 2 + 8 + 2 + 4 + 1 + 4 + 8 + 8);
    static const uint8_t null_array[] = {0xFF, 0xFF, 0xFF, 0xFF};
    assert_memory_equal(w.buf + 17, null_array, 4);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_txn_log_value back;
    assert_int_equal(weir_txn_log_value_read(w.buf, w.len, &a, &back), 0);
    assert_int_equal(back.n_parts, -1);
    assert_int_equal(back.start_ms, -1);
    weir_arena_free(&a);
    weir_wr_free(&w);
    assert_string_equal(weir_txn_status_name(WEIR_TXN_PREPARE_EPOCH_FENCE), "PrepareEpochFence");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(producer_ids_come_from_the_broker_range_and_survive_a_restart),
        cmocka_unit_test(a_damaged_producer_id_file_is_refused),
        cmocka_unit_test(the_key_is_version_0_and_the_id),
        cmocka_unit_test(the_value_has_kafkas_layout_and_round_trips),
        cmocka_unit_test(an_empty_state_has_a_null_partition_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
