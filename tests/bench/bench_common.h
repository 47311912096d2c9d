/* What the librdkafka benchmarks (bench_broker, bench_eos) share: one `weir
 * broker` child process in a fresh temporary folder on a free loopback port,
 * failing fast and cleaning up, and the client plumbing around it.
 *
 * One bench program runs at most one weir broker; its state (pid, folder) is
 * process-wide so that bench_die() can stop it and remove the folder from any
 * depth through the atexit handler bench_init() installs. On a failure the
 * broker's output (<folder>/broker.log) is printed before the folder goes.
 * SIGINT and SIGTERM are blocked in every thread and taken by one thread that
 * exits through the same path.
 *
 * Only the main thread may start, stop or check the broker (it reaps the
 * child); the client helpers may run on any thread. */
#ifndef WEIR_BENCH_COMMON_H
#define WEIR_BENCH_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_NS_PER_S 1000000000LL
#define BENCH_NS_PER_MS 1000000LL
#define BENCH_VALUE_HEADER_BYTES 16 /* sequence number, send time */
#define BENCH_ROUNDS_MAX 15
#define BENCH_POLL_EVERY 1024 /* produce calls between rd_kafka_poll */
#define BENCH_PARTITIONS_MAX 64

/* The producer settings the benchmarks share (bench_producer_conf), printed
 * in their output. */
#define BENCH_LINGER_MS "5"
#define BENCH_BATCH_BYTES "1000000"
#define BENCH_BATCH_MESSAGES "10000"
#define BENCH_COMPRESSION "none"

/* Names the program in every message, and its usage line for bench_usage();
 * installs the exit cleanup and the signal thread. Call first, once; both
 * strings must outlive the program (literals). */
void bench_init(const char *prog, const char *usage_line);

/* The name given to bench_init(). */
const char *bench_prog(void);

/* Prints "<prog>: <message>" and exits 1: the broker is killed and its output
 * printed, the folder removed. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Prints "<prog>: why" and the usage line; exits 2. */
void bench_usage(const char *why) __attribute__((noreturn));

int64_t bench_mono_ns(void);
void bench_sleep_ms(int ms);

/* A number in [min, max] from s, else bench_usage() naming `what`. */
double bench_num_parse(const char *s, const char *what, double min, double max);

/* The environment variable `name` as a number in [min, max], dflt when it is
 * unset or empty; a bad value is bench_usage(). */
double bench_env_num(const char *name, double dflt, double min, double max);

/* Reads the command line `[-w WEIR] [positional...]`: the weir binary goes to
 * weir_path (-w, else $WEIR_BIN, else <dir of this program>/../weir, the
 * `weir` of the same build folder) and must be executable (else exit 2 with a
 * hint); more than positional_max further arguments, or -h, is bench_usage().
 * Returns the index in argv of the first further argument. */
int bench_args(int argc, char **argv, int positional_max, char *weir_path, size_t weir_path_size);

/* ---- the weir broker process ---- */

/* Makes $TMPDIR/weir_<prog>.XXXXXX (else under /tmp), writes its
 * server.properties (node.id=1, a free loopback port, log.dirs=<folder>/logs,
 * then props_extra: "key=value\n" lines, may be ""), forks and execs
 * `weir_path broker --config ...` with its output in <folder>/broker.log, and
 * waits until the port accepts connections (10 s). Writes "127.0.0.1:<port>"
 * to bootstrap_out. Any failure is bench_die(). Main thread only. */
void bench_weir_start(const char *weir_path, const char *props_extra, char *bootstrap_out,
                      size_t bootstrap_size);

/* SIGTERM, then waits up to 10 s; a broker that crashes, hangs or exits
 * non-zero fails the run. Main thread only. */
void bench_weir_stop(void);

/* bench_die() at once if the broker has died, rather than after the clients'
 * timeouts. Main thread only. */
void bench_weir_check_alive(void);

/* CPU time (ns) the weir process has used so far, -1 if unknown. */
int64_t bench_weir_cpu_ns(void);

/* The temporary folder ("" before bench_weir_start). */
const char *bench_weir_root(void);

/* ---- librdkafka clients ---- */

/* rd_kafka_conf_set, bench_die() on an error. */
void bench_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* A new configuration with bootstrap.servers and client.id=<prog>. */
rd_kafka_conf_t *bench_client_conf(const char *bootstrap);

/* rd_kafka_new, bench_die() on an error; always takes conf. */
rd_kafka_t *bench_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Waits (10 s) until the topic has `partitions` partitions, each with a
 * leader; bench_die() if not. */
void bench_metadata_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partitions);

/* CreateTopics through `admin` with replication factor 1; bench_die() on any
 * error (an existing topic included). */
void bench_topic_create(rd_kafka_t *admin, const char *topic, int32_t partitions);

/* The delivery reports of one producer; filled by its report callback only. */
typedef struct bench_deliveries {
    int64_t delivered;
    int64_t failed; /* a failed report, or a partition out of range */
    int64_t per_partition[BENCH_PARTITIONS_MAX];
    int64_t offset_max[BENCH_PARTITIONS_MAX]; /* -1: none yet */
} bench_deliveries;

/* Zero reports. */
void bench_deliveries_reset(bench_deliveries *d);

/* A producer configuration: bootstrap.servers, client.id, acks,
 * enable.idempotence, linger.ms, batch.size, batch.num.messages and
 * compression as BENCH_*, message.timeout.ms=30000, and a delivery report
 * callback counting into *d (reset here; it must outlive the producer). */
rd_kafka_conf_t *bench_producer_conf(const char *bootstrap, const char *acks, bool idempotent,
                                     bench_deliveries *d);

/* rd_kafka_produce of a copy of value to any partition, polling while the
 * queue is full; any other error is bench_die(). Main thread only. */
void bench_produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const void *value, size_t len);

/* bench_die() naming `what` unless exactly `count` reports came, all
 * successes, and (when contiguous) each partition's offsets are 0..n-1. */
void bench_deliveries_check(const bench_deliveries *d, int64_t count, bool contiguous,
                            const char *what);

/* rd_kafka_flush in 100 ms steps for up to 60 s, checking meanwhile that the
 * broker lives (main thread only). Returns what the last flush returned. */
rd_kafka_resp_err_t bench_flush_watching(rd_kafka_t *rk);

/* ---- values and figures ---- */

/* Fills len bytes (>= BENCH_VALUE_HEADER_BYTES): the sequence number, sent_ns
 * and a pattern derived from the sequence number. */
void bench_value_fill(uint8_t *buf, size_t len, uint64_t seq, int64_t sent_ns);

/* True if buf is one bench_value_fill wrote, want_len long, for a sequence
 * number below seq_count; its number and stamp go to the _out parameters. */
bool bench_value_check(const uint8_t *buf, size_t len, size_t want_len, uint64_t seq_count,
                       uint64_t *seq_out, int64_t *sent_ns_out);

/* The median of n (1..BENCH_ROUNDS_MAX) values; v is not changed. */
double bench_median(const double *v, int n);

/* Sorts n values in place, ascending. */
void bench_sort_i64(int64_t *v, int64_t n);

/* The q-quantile (0..1, nearest rank) of n >= 1 sorted nanosecond values, in ms. */
double bench_percentile_ms(const int64_t *sorted, int64_t n, double q);

/* "1.23 M", "456 k", "7.8 k" (the unit goes after it), into buf. */
const char *bench_fmt_rate(char *buf, size_t size, double per_s);

#endif
