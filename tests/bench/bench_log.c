/* Benchmark: the partition log (impl/log) on a real folder through the real
 * env, beside plain POSIX calls on the same bytes in the same run.
 *
 *   bench_log [append_MiB [log_MiB [lookups]]]
 *
 * The log runs inside one node of a weir_uv_world whose root is a fresh
 * temporary folder (under $TMPDIR, else /tmp), removed at the end. The node's
 * start function runs every case. Cases:
 *
 * 1. append: 16 KiB batches of 16 records with 1 KiB values, built once with
 *    the batch builder and re-appended (append_leader stamps base offset and
 *    epoch in place, outside the CRC), segment.bytes 1 GiB; once without any
 *    sync and once with weir_plog_flush every `flush_every` batches. Baseline:
 *    write() of the same batch to a plain file in the node's folder, with
 *    fsync() at the same cadence.
 * 2. sequential read of the whole log (log_MiB, several segments) with
 *    weir_plog_read(max_bytes 1 MiB). Baseline: pread() of the same segment
 *    files in 1 MiB chunks.
 * 3. random lookups: weir_plog_read at uniformly random offsets with a small
 *    max_bytes (61, min_one: the one batch holding the offset comes back), and
 *    with max_bytes 0 (locate only). Baseline: pread() of 61 bytes at uniformly
 *    random positions in the same files. Fixed-seed PRNG (core/prng.h).
 * 4. recovery: the log is flushed and abandoned (no clean-shutdown marker),
 *    its recovery-point-offset-checkpoint deleted, and weir_plog_open timed:
 *    every segment is validated batch by batch and its indexes rebuilt.
 *    Baseline: read() of the same files in 1 MiB chunks with CRC-32C over them.
 *
 * The log of cases 2-4 is the same one, with segment.bytes 128 MiB (log_MiB/8
 * for logs under 1 GiB, so there are always several segments). Each case runs
 * `rounds` times, weir and baseline alternating who goes first; the median is
 * printed. Syncs that only tidy up between runs (closing the log, fsync of the
 * plain file before it is deleted) are not timed. Reads come from the page
 * cache unless WEIR_BENCH_LOG_COLD=1 drops the files' pages before each pass.
 *
 * Environment (argv wins): WEIR_BENCH_LOG_APPEND_MIB (256), WEIR_BENCH_LOG_MIB
 * (1024), WEIR_BENCH_LOG_LOOKUPS (200000), WEIR_BENCH_LOG_FLUSH_EVERY (64),
 * WEIR_BENCH_LOG_ROUNDS (3), WEIR_BENCH_LOG_COLD (0).
 *
 * Exits 1 if a log call fails or returns the wrong batches, 2 on bad usage.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/prng.h"
#include "env/env.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "log/batch.h"
#include "log/checkpoint.h"
#include "log/log.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)
#define BATCH_RECORDS 16
#define RECORD_VALUE_BYTES 1024
#define LEADER_EPOCH 1
#define READ_MAX_BYTES (1024 * 1024)
#define LOOKUP_MAX_BYTES 61
#define PLAIN_CHUNK_BYTES (1024 * 1024)
#define READ_SEGMENT_BYTES (128ull * MIB)
#define ROUNDS_MAX 15
#define SEGMENTS_MAX 4096
#define PRNG_SEED 0x5eedf00dULL

#define APPEND_DIR "append-0"
#define READ_DIR "read-0"
#define PLAIN_APPEND_FILE "plain-append.bin"

typedef struct bench_cfg {
    uint64_t append_bytes;
    uint64_t log_bytes;
    uint64_t lookups;
    uint64_t flush_every; /* batches per flush in the synced append case */
    int rounds;
    bool cold;
} bench_cfg;

/* The segment files of the read log, opened with plain fds for the baselines. */
typedef struct plain_files {
    int fd[SEGMENTS_MAX];
    uint64_t size[SEGMENTS_MAX];
    uint64_t start[SEGMENTS_MAX]; /* byte position of file i in the concatenation */
    size_t count;
    uint64_t total;
} plain_files;

typedef struct bench {
    bench_cfg cfg;
    weir_env *env;
    char node_root[PATH_MAX]; /* the node's real folder */
    uint8_t *batch;           /* owned by builder */
    size_t batch_len;
    weir_batch_builder builder;
    uint8_t *chunk; /* PLAIN_CHUNK_BYTES for the baselines */
    bool ok;
} bench;

#define ROOT_MAX 1024
static char g_root[ROOT_MAX]; /* the temporary folder, removed at exit */
static volatile uint32_t g_sink; /* keeps baseline work from being optimised away */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double secs_since(int64_t t0)
{
    return (double)(mono_ns() - t0) / 1e9;
}

/* ---- errors and cleanup ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_root(void)
{
    if (g_root[0] != '\0') {
        nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        g_root[0] = '\0';
    }
}

static void die(const char *what, int err, const char *why)
{
    fprintf(stderr, "bench_log: %s failed: %s%s%s\n", what,
            err != 0 ? weir_err_str(err) : "bad result", why != NULL ? ": " : "",
            why != NULL ? why : "");
    exit(1); /* remove_root runs at exit */
}

static void must(int err, const char *what)
{
    if (err != 0) {
        die(what, err, NULL);
    }
}

static void die_errno(const char *what, const char *path)
{
    fprintf(stderr, "bench_log: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

/* ---- small helpers ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void real_path(const bench *b, const char *rel, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", b->node_root, rel);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "bench_log: path too long: %s/%s\n", b->node_root, rel);
        exit(1);
    }
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die_errno("write", "plain file");
        }
        p += n;
        len -= (size_t)n;
    }
}

static size_t pread_full(int fd, uint8_t *buf, size_t len, uint64_t pos)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(pos + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            die_errno("pread", "segment file");
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

static void fsync_or_die(int fd)
{
    if (fsync(fd) != 0) {
        die_errno("fsync", "plain file");
    }
}

/* Deletes a partition folder and everything in it through the env. */
static void remove_dir(bench *b, const char *dir)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(b->env, dir, &list);
    if (err == WEIR_E_NOENT) {
        return;
    }
    must(err, "listing a partition folder");
    for (size_t i = 0; i < list.count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, list.names[i]);
        must(weir_fs_unlink(b->env, path), "deleting a log file");
    }
    weir_fs_list_free(&list);
    must(weir_fs_rmdir(b->env, dir), "deleting a partition folder");
}

/* ---- the batch ---- */

static void batch_build(bench *b)
{
    uint8_t value[RECORD_VALUE_BYTES];
    for (size_t i = 0; i < sizeof value; i++) {
        value[i] = (uint8_t)(i * 31 + 7);
    }
    weir_batch_builder_init(&b->builder);
    int64_t ts = 1700000000000LL;
    for (int i = 0; i < BATCH_RECORDS; i++) {
        value[0] = (uint8_t)i;
        weir_batch_builder_add(&b->builder, ts + i, NULL, 0, value, RECORD_VALUE_BYTES, NULL, 0);
    }
    must(weir_batch_builder_finish(&b->builder, &b->batch, &b->batch_len), "building the batch");
}

/* ---- 1. append ---- */

/* Appends `batches` copies of the batch to a fresh log; returns the seconds
 * the appends (and flushes) took. */
static double weir_append_run(bench *b, uint64_t batches, uint64_t flush_every)
{
    weir_log_config cfg;
    weir_log_config_default(&cfg); /* segment.bytes 1 GiB */
    weir_plog *log;
    remove_dir(b, APPEND_DIR);
    must(weir_plog_open(b->env, APPEND_DIR, &cfg, NULL, &log), "weir_plog_open");
    must(weir_plog_assign_epoch(log, LEADER_EPOCH, 0), "weir_plog_assign_epoch");
    int64_t t0 = mono_ns();
    for (uint64_t i = 0; i < batches; i++) {
        const char *why = NULL;
        int err = weir_plog_append_leader(log, b->batch, b->batch_len, LEADER_EPOCH, NULL, &why);
        if (err != 0) {
            die("weir_plog_append_leader", err, why);
        }
        if (flush_every > 0 && (i + 1) % flush_every == 0) {
            must(weir_plog_flush(log), "weir_plog_flush");
        }
    }
    if (flush_every > 0 && batches % flush_every != 0) {
        must(weir_plog_flush(log), "weir_plog_flush");
    }
    double s = secs_since(t0);
    if (weir_plog_end_offset(log) != (int64_t)(batches * BATCH_RECORDS) ||
        weir_plog_size_bytes(log) != batches * b->batch_len) {
        die("append (log end offset or size)", 0, NULL);
    }
    must(weir_plog_close(log), "weir_plog_close");
    remove_dir(b, APPEND_DIR);
    return s;
}

static double plain_append_run(bench *b, uint64_t batches, uint64_t flush_every)
{
    char path[PATH_MAX];
    real_path(b, PLAIN_APPEND_FILE, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        die_errno("open", path);
    }
    int64_t t0 = mono_ns();
    for (uint64_t i = 0; i < batches; i++) {
        write_all(fd, b->batch, b->batch_len);
        if (flush_every > 0 && (i + 1) % flush_every == 0) {
            fsync_or_die(fd);
        }
    }
    if (flush_every > 0 && batches % flush_every != 0) {
        fsync_or_die(fd);
    }
    double s = secs_since(t0);
    fsync_or_die(fd); /* like the log's close: nothing dirty is left for the next run */
    close(fd);
    unlink(path);
    return s;
}

static void bench_append(bench *b, uint64_t flush_every)
{
    uint64_t batches = (b->cfg.append_bytes + b->batch_len - 1) / b->batch_len;
    double bytes = (double)batches * (double)b->batch_len;
    double w[ROUNDS_MAX], p[ROUNDS_MAX];
    for (int r = 0; r < b->cfg.rounds; r++) {
        if (r % 2 == 0) {
            w[r] = weir_append_run(b, batches, flush_every);
            p[r] = plain_append_run(b, batches, flush_every);
        } else {
            p[r] = plain_append_run(b, batches, flush_every);
            w[r] = weir_append_run(b, batches, flush_every);
        }
    }
    double wm = bytes / median(w, b->cfg.rounds) / 1e6;
    double pm = bytes / median(p, b->cfg.rounds) / 1e6;
    char mode[64], plain[64];
    if (flush_every == 0) {
        snprintf(mode, sizeof mode, "no fsync");
        snprintf(plain, sizeof plain, "plain write()");
    } else {
        snprintf(mode, sizeof mode, "weir_plog_flush every %llu", (unsigned long long)flush_every);
        snprintf(plain, sizeof plain, "plain write() + fsync() every %llu",
                 (unsigned long long)flush_every);
    }
    printf("log append 16KiB batches (%d x %d B values, %zu B), %.0f MiB, %s: %.1f MB/s  "
           "(%s: %.1f MB/s, ratio %.2f)\n",
           BATCH_RECORDS, RECORD_VALUE_BYTES, b->batch_len, bytes / (double)MIB, mode, wm, plain,
           pm, wm / pm);
    fflush(stdout);
}

/* ---- the read log (cases 2-4) ---- */

static void read_log_config(const bench *b, weir_log_config *cfg)
{
    weir_log_config_default(cfg);
    cfg->segment_bytes = READ_SEGMENT_BYTES;
    if (b->cfg.log_bytes < 8 * READ_SEGMENT_BYTES) {
        uint64_t seg = b->cfg.log_bytes / 8;
        cfg->segment_bytes = seg < MIB ? MIB : seg;
    }
}

static weir_plog *read_log_build(bench *b, const weir_log_config *cfg)
{
    weir_plog *log;
    remove_dir(b, READ_DIR);
    must(weir_plog_open(b->env, READ_DIR, cfg, NULL, &log), "weir_plog_open");
    uint64_t batches = (b->cfg.log_bytes + b->batch_len - 1) / b->batch_len;
    for (uint64_t i = 0; i < batches; i++) {
        const char *why = NULL;
        int err = weir_plog_append_leader(log, b->batch, b->batch_len, LEADER_EPOCH, NULL, &why);
        if (err != 0) {
            die("weir_plog_append_leader", err, why);
        }
    }
    must(weir_plog_flush(log), "weir_plog_flush");
    if (weir_plog_segment_count(log) > SEGMENTS_MAX) {
        die("building the read log (too many segments)", 0, NULL);
    }
    return log;
}

static void plain_files_open(bench *b, weir_plog *log, plain_files *pf)
{
    memset(pf, 0, sizeof *pf);
    pf->count = weir_plog_segment_count(log);
    for (size_t i = 0; i < pf->count; i++) {
        const weir_segment *seg = weir_plog_segment_at(log, i);
        char rel[PATH_MAX], path[PATH_MAX];
        snprintf(rel, sizeof rel, "%s.log", seg->prefix);
        real_path(b, rel, path, sizeof path);
        pf->fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (pf->fd[i] < 0) {
            die_errno("open", path);
        }
        struct stat st;
        if (fstat(pf->fd[i], &st) != 0) {
            die_errno("fstat", path);
        }
        pf->size[i] = (uint64_t)st.st_size;
        pf->start[i] = pf->total;
        pf->total += pf->size[i];
    }
}

static void plain_files_close(plain_files *pf)
{
    for (size_t i = 0; i < pf->count; i++) {
        close(pf->fd[i]);
    }
    pf->count = 0;
}

/* With WEIR_BENCH_LOG_COLD=1, evicts the segment files' (clean) pages. */
static void maybe_drop_cache(const bench *b, const plain_files *pf)
{
    if (!b->cfg.cold) {
        return;
    }
    for (size_t i = 0; i < pf->count; i++) {
        posix_fadvise(pf->fd[i], 0, 0, POSIX_FADV_DONTNEED);
    }
}

/* ---- 2. sequential read ---- */

static double weir_read_run(bench *b, weir_plog *log, const plain_files *pf)
{
    maybe_drop_cache(b, pf);
    int64_t off = weir_plog_start_offset(log), end = weir_plog_end_offset(log);
    uint64_t bytes = 0;
    int64_t t0 = mono_ns();
    while (off < end) {
        weir_log_read_result r;
        must(weir_plog_read(log, off, READ_MAX_BYTES, true, &r), "weir_plog_read");
        if (r.len == 0 || r.len > READ_MAX_BYTES || r.first_offset != off ||
            r.next_offset <= off) {
            die("weir_plog_read (sequential: wrong batches)", 0, NULL);
        }
        bytes += r.len;
        off = r.next_offset;
        weir_log_read_result_free(&r);
    }
    double s = secs_since(t0);
    if (bytes != pf->total) {
        die("weir_plog_read (sequential: byte count)", 0, NULL);
    }
    return s;
}

static double plain_read_run(bench *b, const plain_files *pf)
{
    maybe_drop_cache(b, pf);
    uint64_t bytes = 0;
    uint32_t x = 0;
    int64_t t0 = mono_ns();
    for (size_t i = 0; i < pf->count; i++) {
        for (uint64_t pos = 0; pos < pf->size[i];) {
            size_t got = pread_full(pf->fd[i], b->chunk, PLAIN_CHUNK_BYTES, pos);
            if (got == 0) {
                break;
            }
            x ^= b->chunk[got - 1];
            pos += got;
            bytes += got;
        }
    }
    double s = secs_since(t0);
    g_sink ^= x;
    if (bytes != pf->total) {
        die("pread (sequential: byte count)", 0, NULL);
    }
    return s;
}

static void bench_read(bench *b, weir_plog *log, const plain_files *pf)
{
    double w[ROUNDS_MAX], p[ROUNDS_MAX];
    for (int r = 0; r < b->cfg.rounds; r++) {
        if (r % 2 == 0) {
            w[r] = weir_read_run(b, log, pf);
            p[r] = plain_read_run(b, pf);
        } else {
            p[r] = plain_read_run(b, pf);
            w[r] = weir_read_run(b, log, pf);
        }
    }
    double bytes = (double)pf->total;
    double wm = bytes / median(w, b->cfg.rounds) / 1e6;
    double pm = bytes / median(p, b->cfg.rounds) / 1e6;
    printf("log sequential read, %.0f MiB in %zu segments, max_bytes 1 MiB: %.1f MB/s  "
           "(plain pread() 1 MiB chunks: %.1f MB/s, ratio %.2f)\n",
           bytes / (double)MIB, pf->count, wm, pm, wm / pm);
    fflush(stdout);
}

/* ---- 3. random lookups ---- */

static double weir_lookup_run(bench *b, weir_plog *log, size_t max_bytes, bool min_one)
{
    weir_prng prng;
    weir_prng_seed(&prng, PRNG_SEED);
    int64_t start = weir_plog_start_offset(log);
    uint64_t span = (uint64_t)(weir_plog_end_offset(log) - start);
    int64_t t0 = mono_ns();
    for (uint64_t i = 0; i < b->cfg.lookups; i++) {
        int64_t off = start + (int64_t)weir_prng_below(&prng, span);
        weir_log_read_result r;
        must(weir_plog_read(log, off, max_bytes, min_one, &r), "weir_plog_read");
        bool ok = r.first_offset <= off && off - r.first_offset < BATCH_RECORDS;
        if (min_one) {
            ok = ok && r.len == b->batch_len && r.next_offset > off;
        } else {
            ok = ok && r.len <= max_bytes;
        }
        if (!ok) {
            die("weir_plog_read (lookup: wrong batch)", 0, NULL);
        }
        weir_log_read_result_free(&r);
    }
    return secs_since(t0);
}

static double plain_lookup_run(bench *b, const plain_files *pf)
{
    weir_prng prng;
    weir_prng_seed(&prng, PRNG_SEED);
    uint8_t buf[LOOKUP_MAX_BYTES];
    uint32_t x = 0;
    int64_t t0 = mono_ns();
    for (uint64_t i = 0; i < b->cfg.lookups; i++) {
        uint64_t pos = weir_prng_below(&prng, pf->total);
        size_t lo = 0, hi = pf->count; /* the last file starting at or before pos */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (pf->start[mid] <= pos) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        uint64_t at = pos - pf->start[lo];
        if (at + sizeof buf > pf->size[lo]) {
            at = pf->size[lo] - sizeof buf;
        }
        if (pread_full(pf->fd[lo], buf, sizeof buf, at) != sizeof buf) {
            die("pread (lookup: short read)", 0, NULL);
        }
        x ^= buf[0];
    }
    double s = secs_since(t0);
    g_sink ^= x;
    return s;
}

static void bench_lookups(bench *b, weir_plog *log, const plain_files *pf)
{
    double w[ROUNDS_MAX], l[ROUNDS_MAX], p[ROUNDS_MAX];
    for (int r = 0; r < b->cfg.rounds; r++) {
        if (r % 2 == 0) {
            w[r] = weir_lookup_run(b, log, LOOKUP_MAX_BYTES, true);
            l[r] = weir_lookup_run(b, log, 0, false);
            p[r] = plain_lookup_run(b, pf);
        } else {
            p[r] = plain_lookup_run(b, pf);
            l[r] = weir_lookup_run(b, log, 0, false);
            w[r] = weir_lookup_run(b, log, LOOKUP_MAX_BYTES, true);
        }
    }
    double n = (double)b->cfg.lookups;
    double wm = n / median(w, b->cfg.rounds);
    double lm = n / median(l, b->cfg.rounds);
    double pm = n / median(p, b->cfg.rounds);
    printf("log random lookups, %llu in %zu segments, max_bytes %d + min_one (one %zu B batch "
           "back): %.1f k/s  (plain pread() of %d B at random positions: %.1f k/s, ratio %.2f)\n",
           (unsigned long long)b->cfg.lookups, pf->count, LOOKUP_MAX_BYTES, b->batch_len,
           wm / 1e3, LOOKUP_MAX_BYTES, pm / 1e3, wm / pm);
    printf("log random lookups, locate only (max_bytes 0, no batch back): %.1f k/s  "
           "(same baseline: %.1f k/s, ratio %.2f)\n",
           lm / 1e3, pm / 1e3, lm / pm);
    fflush(stdout);
}

/* ---- 4. recovery ---- */

/* Crashes the log (flushed, so the time is validation, not writeback), drops
 * its recovery point and times the reopen. *log is replaced. */
static double weir_recover_run(bench *b, weir_plog **log, const weir_log_config *cfg,
                               const plain_files *pf)
{
    uint64_t size = weir_plog_size_bytes(*log);
    size_t segments = weir_plog_segment_count(*log);
    must(weir_plog_flush(*log), "weir_plog_flush");
    weir_plog_abandon(*log);
    *log = NULL;
    must(weir_fs_unlink(b->env, READ_DIR "/" WEIR_RECOVERY_CHECKPOINT),
         "deleting " WEIR_RECOVERY_CHECKPOINT);
    maybe_drop_cache(b, pf);
    weir_log_recovery rep;
    int64_t t0 = mono_ns();
    must(weir_plog_open(b->env, READ_DIR, cfg, &rep, log), "weir_plog_open (recovery)");
    double s = secs_since(t0);
    if (rep.clean || rep.cut || rep.segments != (int)segments ||
        rep.segments_scanned != (int)segments || rep.bytes_scanned != size ||
        weir_plog_size_bytes(*log) != size) {
        fprintf(stderr,
                "bench_log: recovery scanned %d of %d segments, %llu of %llu bytes, clean %d, "
                "cut %d\n",
                rep.segments_scanned, (int)segments, (unsigned long long)rep.bytes_scanned,
                (unsigned long long)size, rep.clean, rep.cut);
        die("weir_plog_open (recovery report)", 0, NULL);
    }
    return s;
}

static double plain_recover_run(bench *b, const plain_files *pf)
{
    maybe_drop_cache(b, pf);
    uint32_t crc = 0;
    uint64_t bytes = 0;
    int64_t t0 = mono_ns();
    for (size_t i = 0; i < pf->count; i++) {
        if (lseek(pf->fd[i], 0, SEEK_SET) != 0) {
            die_errno("lseek", "segment file");
        }
        for (;;) {
            ssize_t n = read(pf->fd[i], b->chunk, PLAIN_CHUNK_BYTES);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                die_errno("read", "segment file");
            }
            if (n == 0) {
                break;
            }
            crc = weir_crc32c(crc, b->chunk, (size_t)n);
            bytes += (uint64_t)n;
        }
    }
    double s = secs_since(t0);
    g_sink ^= crc;
    if (bytes != pf->total) {
        die("read (recovery baseline: byte count)", 0, NULL);
    }
    return s;
}

static void bench_recovery(bench *b, weir_plog **log, const weir_log_config *cfg,
                           const plain_files *pf)
{
    double w[ROUNDS_MAX], p[ROUNDS_MAX];
    for (int r = 0; r < b->cfg.rounds; r++) {
        if (r % 2 == 0) {
            w[r] = weir_recover_run(b, log, cfg, pf);
            p[r] = plain_recover_run(b, pf);
        } else {
            p[r] = plain_recover_run(b, pf);
            w[r] = weir_recover_run(b, log, cfg, pf);
        }
    }
    double gib = (double)pf->total / (double)GIB;
    double ws = median(w, b->cfg.rounds) / gib, ps = median(p, b->cfg.rounds) / gib;
    printf("log recovery (unclean, no recovery point), %.0f MiB in %zu segments: %.3f s/GiB, "
           "%.2f GiB/s  (read() + crc32c: %.3f s/GiB, %.2f GiB/s, ratio %.2f)\n",
           (double)pf->total / (double)MIB, pf->count, ws, 1 / ws, ps, 1 / ps, ps / ws);
    fflush(stdout);
}

/* ---- driver ---- */

static void bench_all(bench *b)
{
    batch_build(b);
    b->chunk = malloc(PLAIN_CHUNK_BYTES);
    if (b->chunk == NULL) {
        die("malloc", WEIR_E_NOMEM, NULL);
    }
    bench_append(b, 0);
    bench_append(b, b->cfg.flush_every);

    weir_log_config cfg;
    read_log_config(b, &cfg);
    weir_plog *log = read_log_build(b, &cfg);
    plain_files *pf = calloc(1, sizeof *pf);
    if (pf == NULL) {
        die("malloc", WEIR_E_NOMEM, NULL);
    }
    plain_files_open(b, log, pf);
    bench_read(b, log, pf);
    bench_lookups(b, log, pf);
    bench_recovery(b, &log, &cfg, pf);
    must(weir_plog_close(log), "weir_plog_close");
    plain_files_close(pf);
    free(pf);
    remove_dir(b, READ_DIR);
    free(b->chunk);
    weir_batch_builder_free(&b->builder);
    b->ok = true;
}

static void *bench_node_start(weir_env *env, void *arg)
{
    bench *b = arg;
    b->env = env;
    bench_all(b);
    return b;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [append_MiB [log_MiB [lookups]]]\n", argv0);
    exit(2);
}

/* argv[i] if given, else the environment variable `var`, else def. */
static uint64_t setting(int argc, char **argv, int i, const char *var, uint64_t def, uint64_t min,
                        uint64_t max)
{
    bool from_argv = i > 0 && argc > i;
    const char *text = from_argv ? argv[i] : getenv(var);
    if (text == NULL || text[0] == '\0') {
        return def;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || text[0] == '-' || v < min || v > max) {
        fprintf(stderr, "bench_log: %s must be an integer in [%llu, %llu], not \"%s\"\n",
                from_argv ? "argument" : var, (unsigned long long)min, (unsigned long long)max,
                text);
        usage(argv[0]);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 4) {
        usage(argv[0]);
    }
    bench *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return 1;
    }
    uint64_t mib_max = 1 << 20;
    b->cfg.append_bytes =
        setting(argc, argv, 1, "WEIR_BENCH_LOG_APPEND_MIB", 256, 1, mib_max) * MIB;
    b->cfg.log_bytes = setting(argc, argv, 2, "WEIR_BENCH_LOG_MIB", 1024, 1, mib_max) * MIB;
    b->cfg.lookups = setting(argc, argv, 3, "WEIR_BENCH_LOG_LOOKUPS", 200000, 1, UINT32_MAX);
    b->cfg.flush_every = setting(argc, argv, 0, "WEIR_BENCH_LOG_FLUSH_EVERY", 64, 1, UINT32_MAX);
    b->cfg.rounds = (int)setting(argc, argv, 0, "WEIR_BENCH_LOG_ROUNDS", 3, 1, ROUNDS_MAX);
    b->cfg.cold = setting(argc, argv, 0, "WEIR_BENCH_LOG_COLD", 0, 0, 1) != 0;

    const char *tmp = getenv("TMPDIR");
    int n = snprintf(g_root, sizeof g_root, "%s/weir_bench_log_XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof g_root || mkdtemp(g_root) == NULL) {
        fprintf(stderr, "bench_log: mkdtemp %s: %s\n", g_root, strerror(errno));
        return 1;
    }
    atexit(remove_root);
    weir_world *w = weir_uv_world_new(g_root, 1);
    if (w == NULL) {
        fprintf(stderr, "bench_log: cannot create a world in %s\n", g_root);
        return 1;
    }
    snprintf(b->node_root, sizeof b->node_root, "%s/bench", g_root);
    printf("bench_log: folder %s, median of %d round(s), page cache %s, crc32c %s\n", g_root,
           b->cfg.rounds, b->cfg.cold ? "dropped before each read pass" : "warm",
           weir_crc32c_hw_available() ? "SSE4.2" : "table");
    fflush(stdout);
    static const weir_node_type type = {"bench-log", bench_node_start, NULL};
    int err = weir_world_node_add(w, "bench", &type, b);
    if (err == 0) {
        err = weir_world_run(w, 0); /* starts the node, which runs every case */
    }
    weir_world_destroy(w);
    bool ok = err == 0 && b->ok;
    if (err != 0) {
        fprintf(stderr, "bench_log: world: %s\n", weir_err_str(err));
    }
    free(b);
    remove_root();
    return ok ? 0 : 1;
}
