/* Core helpers: PRNG, timer heap ordering, unit and address parsing, paths,
 * the byte reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "core/prng.h"
#include "core/units.h"
#include "env/env.h"
#include "env/timer_heap.h"

static void test_prng_same_seed_gives_same_sequence_and_other_seed_another(void **state)
{
    (void)state;
    weir_prng a, b, c;
    weir_prng_seed(&a, 7);
    weir_prng_seed(&b, 7);
    weir_prng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = weir_prng_next(&a);
        assert_int_equal(x, weir_prng_next(&b));
        differ += x != weir_prng_next(&c);
    }
    assert_true(differ > 990);
}

static void test_prng_below_stays_in_bound_and_covers_it(void **state)
{
    (void)state;
    weir_prng p;
    weir_prng_seed(&p, 1);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint64_t v = weir_prng_below(&p, 10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++) {
        assert_true(seen[i] > 800 && seen[i] < 1200); /* roughly uniform */
    }
    double u = weir_prng_unit(&p);
    assert_true(u >= 0.0 && u < 1.0);
}

static int fired_order[64];
static int fired_count;

static void record_cb(weir_env *env, void *arg)
{
    (void)env;
    fired_order[fired_count++] = (int)(intptr_t)arg;
}

/* Pops and runs every timer due at now_ns, as the backends' loops do. */
static int run_due(weir_timer_heap *h, int64_t now_ns)
{
    int ran = 0;
    weir_timer *t;
    while ((t = weir_timer_heap_pop_due(h, now_ns)) != NULL) {
        t->cb(NULL, t->arg);
        free(t);
        ran++;
    }
    return ran;
}

static void test_timer_heap_pops_by_deadline_then_start_order(void **state)
{
    (void)state;
    weir_timer_heap h;
    weir_timer_heap_init(&h);
    /* deadlines chosen so ties and cancels in the middle of the heap occur */
    static const int64_t deadlines[] = {50, 10, 30, 10, 0, 20, 40, 10, 5, 30};
    weir_timer *t[10];
    for (int i = 0; i < 10; i++) {
        t[i] = weir_timer_heap_add(&h, deadlines[i], record_cb, (void *)(intptr_t)i);
    }
    weir_timer_heap_cancel(&h, t[2]);
    weir_timer_heap_cancel(&h, t[7]);
    assert_int_equal(weir_timer_heap_next_ns(&h), 0);
    fired_count = 0;
    assert_int_equal(run_due(&h, 10), 4); /* 0, 5, 10, 10 */
    assert_int_equal(run_due(&h, 100), 4);
    static const int want[] = {4, 8, 1, 3, 5, 9, 6, 0};
    assert_int_equal(fired_count, 8);
    assert_memory_equal(fired_order, want, sizeof want);
    assert_int_equal(weir_timer_heap_next_ns(&h), INT64_MAX);
    weir_timer_heap_free(&h);
}

static void test_timer_heap_survives_many_random_adds_and_cancels(void **state)
{
    (void)state;
    weir_timer_heap h;
    weir_timer_heap_init(&h);
    weir_prng p;
    weir_prng_seed(&p, 3);
    weir_timer *live[256];
    int64_t when[256];
    int n = 0;
    for (int i = 0; i < 5000; i++) {
        if (n < 256 && (n == 0 || weir_prng_below(&p, 3) != 0)) {
            when[n] = (int64_t)weir_prng_below(&p, 1000);
            live[n] = weir_timer_heap_add(&h, when[n], record_cb, NULL);
            n++;
        } else {
            int k = (int)weir_prng_below(&p, (uint64_t)n);
            weir_timer_heap_cancel(&h, live[k]);
            live[k] = live[n - 1];
            when[k] = when[n - 1];
            n--;
        }
        int64_t min = INT64_MAX;
        for (int j = 0; j < n; j++) {
            min = when[j] < min ? when[j] : min;
        }
        assert_int_equal(weir_timer_heap_next_ns(&h), min);
    }
    weir_timer_heap_free(&h);
}

static void test_duration_parser_accepts_units_and_rejects_garbage(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(weir_parse_duration_ns("250ms", &ns), 0);
    assert_int_equal(ns, 250000000);
    assert_int_equal(weir_parse_duration_ns("1.5s", &ns), 0);
    assert_int_equal(ns, 1500000000);
    assert_int_equal(weir_parse_duration_ns("100us", &ns), 0);
    assert_int_equal(ns, 100000);
    assert_int_equal(weir_parse_duration_ns("2", &ns), 0);
    assert_int_equal(ns, 2000000000);
    assert_int_equal(weir_parse_duration_ns("2m", &ns), 0);
    assert_int_equal(ns, 120000000000LL);
    assert_int_equal(weir_parse_duration_ns("5 s", &ns), WEIR_E_INVAL);
    assert_int_equal(weir_parse_duration_ns("-1s", &ns), WEIR_E_INVAL);
    assert_int_equal(weir_parse_duration_ns("ms", &ns), WEIR_E_INVAL);
    assert_int_equal(weir_parse_duration_ns("3days", &ns), WEIR_E_INVAL);
    uint64_t v;
    assert_int_equal(weir_parse_u64("18446744073709551615", &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(weir_parse_u64("18446744073709551616", &v), WEIR_E_INVAL);
    assert_int_equal(weir_parse_u64("12a", &v), WEIR_E_INVAL);
}

static void test_addr_split_and_path_rules(void **state)
{
    (void)state;
    char host[16];
    int port;
    assert_int_equal(weir_addr_split("b1:9092", host, sizeof host, &port), 0);
    assert_string_equal(host, "b1");
    assert_int_equal(port, 9092);
    assert_int_equal(weir_addr_split("b1:", host, sizeof host, &port), WEIR_E_INVAL);
    assert_int_equal(weir_addr_split("b1:65536", host, sizeof host, &port), WEIR_E_INVAL);
    assert_int_equal(weir_addr_split(":80", host, sizeof host, &port), WEIR_E_INVAL);
    assert_int_equal(weir_addr_split("a-very-long-host-name:1", host, sizeof host, &port),
                     WEIR_E_INVAL);
    assert_true(weir_path_is_valid("events-0/00000000000000000000.log", false));
    assert_false(weir_path_is_valid("", false));
    assert_true(weir_path_is_valid("", true));
    assert_false(weir_path_is_valid("/etc/passwd", false));
    assert_false(weir_path_is_valid("a/../b", false));
    assert_false(weir_path_is_valid("a//b", false));
    assert_false(weir_path_is_valid("a/", false));
    assert_false(weir_path_is_valid("./a", false));
}

static void test_reader_reads_varints_and_bytes_in_order_to_the_end(void **state)
{
    (void)state;
    static const uint64_t u[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX};
    static const int64_t s[] = {0, -1, 1, 150, -65, INT64_MIN, INT64_MAX};
    uint8_t buf[256];
    size_t n = 0;
    for (size_t i = 0; i < 7; i++) {
        n += weir_put_uvarint(buf + n, u[i]);
        n += weir_put_varlong(buf + n, s[i]);
    }
    memcpy(buf + n, "0123456789abcdef", 16);
    n += 16;
    weir_reader r = weir_reader_of(buf, n);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(weir_reader_uvarint(&r), u[i]);
        assert_int_equal(weir_reader_varlong(&r), s[i]);
    }
    assert_int_equal(weir_reader_left(&r), 16);
    const uint8_t *at = weir_reader_take(&r, 0);
    assert_ptr_equal(at, buf + n - 16); /* nothing taken: the position */
    assert_memory_equal(weir_reader_take(&r, 16), "0123456789abcdef", 16);
    assert_int_equal(weir_reader_left(&r), 0);
    assert_false(r.bad);
    /* Kafka's zig-zag bytes: 150 is 0xAC 0x02, -1 is 0x01 */
    static const uint8_t kafka[] = {0xAC, 0x02, 0x01};
    r = weir_reader_of(kafka, sizeof kafka);
    assert_int_equal(weir_reader_uvarint(&r), 300);
    assert_int_equal(weir_reader_varlong(&r), -1);
    assert_false(r.bad);
}

static void test_reader_keeps_its_first_error_and_reads_zero_after_it(void **state)
{
    (void)state;
    /* a varint cut short: nothing consumed, and every later read fails */
    static const uint8_t cut[] = {0x05, 0x80, 0x80};
    weir_reader r = weir_reader_of(cut, sizeof cut);
    assert_int_equal(weir_reader_uvarint(&r), 5);
    assert_int_equal(weir_reader_uvarint(&r), 0);
    assert_true(r.bad);
    assert_ptr_equal(r.p, cut + 1);
    assert_null(weir_reader_take(&r, 0));
    assert_int_equal(weir_reader_varlong(&r), 0);
    assert_ptr_equal(r.p, cut + 1);
    /* more bytes asked for than are left: the same, the bytes stay */
    static const uint8_t three[] = {0x01, 0x02, 0x03};
    r = weir_reader_of(three, sizeof three);
    assert_null(weir_reader_take(&r, 4));
    assert_true(r.bad);
    assert_int_equal(weir_reader_left(&r), 3);
    assert_int_equal(weir_reader_uvarint(&r), 0); /* 0x01 would read as 1 */
    assert_int_equal(weir_reader_varlong(&r), 0); /* and as -1 here */
    assert_int_equal(weir_reader_left(&r), 3);
    /* a varint longer than ten bytes */
    uint8_t longer[11];
    memset(longer, 0x80, sizeof longer);
    longer[10] = 0x01;
    r = weir_reader_of(longer, sizeof longer);
    assert_int_equal(weir_reader_uvarint(&r), 0);
    assert_true(r.bad);
    r = weir_reader_of(longer, sizeof longer);
    assert_int_equal(weir_reader_varlong(&r), 0);
    assert_true(r.bad);
    /* nothing at all */
    r = weir_reader_of(NULL, 0);
    assert_int_equal(weir_reader_left(&r), 0);
    assert_int_equal(weir_reader_uvarint(&r), 0);
    assert_true(r.bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prng_same_seed_gives_same_sequence_and_other_seed_another),
        cmocka_unit_test(test_prng_below_stays_in_bound_and_covers_it),
        cmocka_unit_test(test_timer_heap_pops_by_deadline_then_start_order),
        cmocka_unit_test(test_timer_heap_survives_many_random_adds_and_cancels),
        cmocka_unit_test(test_duration_parser_accepts_units_and_rejects_garbage),
        cmocka_unit_test(test_addr_split_and_path_rules),
        cmocka_unit_test(test_reader_reads_varints_and_bytes_in_order_to_the_end),
        cmocka_unit_test(test_reader_keeps_its_first_error_and_reads_zero_after_it),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
