/* `weir log dump|verify PATH`: read-only tools for a partition folder
 * `<topic>-<partition>` on the real file system.
 *
 * The log code reads files only through a weir_env, so the command builds a
 * real (libuv) world with one node rooted at the folder that holds the
 * partition folder, does all its work from that node's start function with
 * paths relative to that root, and stops the world. Nothing is written:
 * files are opened without CREATE/TRUNC and only read, and weir_plog_open
 * (which recovers and rewrites) is never called.
 *
 * dump prints what is there, as Kafka's kafka-dump-log.sh does, damage
 * included; verify (impl/log/verify.c) judges it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/bytes.h"
#include "core/crc32c.h"
#include "env/uv_world.h"
#include "log/batch.h"
#include "log/checkpoint.h"
#include "log/index.h"
#include "log/log.h"
#include "log/segment.h"
#include "log/snapshot.h"
#include "log/verify.h"

static const char log_usage[] = "usage: weir log dump PATH [--records] [--indexes]\n"
                                "       weir log verify PATH\n"
                                "`weir log --help` describes them.\n";

static const char log_help[] =
    "usage: weir log dump PATH [--records] [--indexes]\n"
    "       weir log verify PATH\n"
    "\n"
    "Read-only tools for a partition folder <topic>-<partition> in Kafka's format\n"
    "(segments <20-digit base offset>.log/.index/.timeindex and metadata files).\n"
    "Neither changes anything in the folder.\n"
    "\n"
    "  dump PATH     print every batch of every segment, in offset order, like\n"
    "                kafka-dump-log.sh, then the metadata files (leader epochs,\n"
    "                checkpoints, producer snapshots) and a summary line. PATH may\n"
    "                also be one .log, .index, .timeindex or .snapshot file, or a\n"
    "                leader-epoch-checkpoint. Damage is shown inline ('damaged: ...')\n"
    "  --records     dump: also print every record (key and payload as text when\n"
    "                printable, else hex, cut after 64 characters)\n"
    "  --indexes     dump: also print each segment's .index and .timeindex entries\n"
    "  verify PATH   check the folder: every batch (CRC-32C, lengths, records, offset\n"
    "                continuity), segments continuing each other, indexes matching\n"
    "                their .log, leader-epoch-checkpoint, offset checkpoints and\n"
    "                snapshots; no orphan index. One line per problem naming the file\n"
    "                and the byte, offset or line, then 'ok: ...' or 'damaged: ...'\n"
    "\n"
    "exit status: 0 dumped / healthy; 1 verify found damage, or dump could not read\n"
    "a file; 2 usage error, or PATH missing or not a partition folder or segment file.\n";

#define LOG_TEXT_MAX 64 /* printable keys and payloads are cut after this many characters */
#define LOG_HEX_MAX 32  /* other ones after this many bytes */
#define LOG_FILE_BYTES_MAX ((size_t)1 << 31)

typedef enum log_kind {
    LOG_KIND_FOLDER,
    LOG_KIND_SEGMENT,
    LOG_KIND_OFFSET_INDEX,
    LOG_KIND_TIME_INDEX,
    LOG_KIND_SNAPSHOT,
    LOG_KIND_EPOCHS,
} log_kind;

typedef struct log_job {
    const char *cmd; /* "dump" or "verify" */
    const char *who; /* "log dump" or "log verify", for messages */
    const char *path;
    bool records;
    bool indexes;
    log_kind kind;
    char root[PATH_MAX];     /* the node's root: the folder holding the partition folder */
    char dir[NAME_MAX + 1];  /* the partition folder, relative to root */
    char file[NAME_MAX + 1]; /* the file inside it, for a one-file dump */
    weir_world *world;
    int exit_code;
    bool read_failed;
    /* dump totals */
    int segments;
    int64_t batches;
    int64_t records_total;
    uint64_t bytes;
    int64_t start_offset;
    int64_t end_offset;
} log_job;

/* ---- arguments ---- */

static int log_parse(int argc, char **argv, log_job *j)
{
    static const struct option longopts[] = {
        {"records", no_argument, NULL, 'r'},
        {"indexes", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r':
            j->records = true;
            break;
        case 'i':
            j->indexes = true;
            break;
        case 'h':
            fputs(log_help, stdout);
            return -1;
        default:
            return weir_cli_usage_error(j->who, log_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (strcmp(j->cmd, "verify") == 0 && (j->records || j->indexes)) {
        return weir_cli_usage_error(j->who, log_usage, "%s is an option of dump only",
                                    j->records ? "--records" : "--indexes");
    }
    if (optind != argc - 1) {
        return weir_cli_usage_error(j->who, log_usage,
                                    optind == argc ? "missing PATH" : "too many arguments");
    }
    j->path = argv[optind];
    return 0;
}

static bool log_copy(char *out, size_t size, const char *from, size_t len)
{
    if (len >= size) {
        return false;
    }
    memcpy(out, from, len);
    out[len] = '\0';
    return true;
}

/* Splits an absolute path into its folder ("/" for the top) and last name. */
static bool log_split(const char *abs, char *parent, size_t parent_size, char *name,
                      size_t name_size)
{
    const char *slash = strrchr(abs, '/');
    if (slash == NULL || slash[1] == '\0') {
        return false;
    }
    size_t plen = slash == abs ? 1 : (size_t)(slash - abs);
    return log_copy(parent, parent_size, abs, plen) &&
           log_copy(name, name_size, slash + 1, strlen(slash + 1));
}

static bool log_kind_of_file(const char *name, log_kind *kind)
{
    size_t n = strlen(name);
    struct {
        const char *suffix;
        log_kind kind;
    } kinds[] = {
        {".log", LOG_KIND_SEGMENT},
        {".index", LOG_KIND_OFFSET_INDEX},
        {".timeindex", LOG_KIND_TIME_INDEX},
        {".snapshot", LOG_KIND_SNAPSHOT},
        {WEIR_EPOCH_CHECKPOINT, LOG_KIND_EPOCHS},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t s = strlen(kinds[i].suffix);
        if (n >= s && strcmp(name + n - s, kinds[i].suffix) == 0) {
            *kind = kinds[i].kind;
            return true;
        }
    }
    return false;
}

/* Finds the node's root and the relative names for PATH. */
static int log_resolve(log_job *j)
{
    char *real = realpath(j->path, NULL);
    if (real == NULL) {
        fprintf(stderr, "weir %s: cannot open '%s': %s\n", j->who, j->path, strerror(errno));
        return WEIR_EXIT_USAGE;
    }
    struct stat st;
    bool is_dir = stat(real, &st) == 0 && S_ISDIR(st.st_mode);
    char folder[PATH_MAX];
    bool ok;
    if (is_dir) {
        j->kind = LOG_KIND_FOLDER;
        ok = log_split(real, j->root, sizeof j->root, j->dir, sizeof j->dir);
    } else {
        /* Rooted one level higher, so readers that take a folder work too. */
        ok = log_split(real, folder, sizeof folder, j->file, sizeof j->file) &&
             log_split(folder, j->root, sizeof j->root, j->dir, sizeof j->dir);
    }
    free(real);
    if (!ok) {
        return weir_cli_usage_error(j->who, log_usage, "'%s' is not inside a partition folder",
                                    j->path);
    }
    char topic[WEIR_LOG_TOPIC_MAX + 1];
    int32_t partition;
    if (is_dir && weir_log_parse_dir_name(j->dir, topic, sizeof topic, &partition) != 0) {
        return weir_cli_usage_error(
            j->who, log_usage, "'%s' is not a partition folder (<topic>-<partition>)", j->path);
    }
    if (!is_dir && strcmp(j->cmd, "verify") == 0) {
        return weir_cli_usage_error(j->who, log_usage, "'%s' is a file; give its partition folder",
                                    j->path);
    }
    if (!is_dir && !log_kind_of_file(j->file, &j->kind)) {
        return weir_cli_usage_error(j->who, log_usage,
                                    "cannot dump '%s': give a partition folder or a .log, .index, "
                                    ".timeindex, .snapshot or leader-epoch-checkpoint",
                                    j->path);
    }
    return 0;
}

/* ---- printing values ---- */

static const char *log_codec_name(int16_t attributes)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    int codec = attributes & WEIR_BATCH_COMPRESSION_MASK;
    return codec < 5 ? names[codec] : "unknown";
}

/* Kafka's DefaultRecordBatch.incrementSequence: sequences wrap at INT32_MAX. */
static int32_t log_sequence_add(int32_t base, int32_t delta)
{
    if (base < 0) {
        return -1;
    }
    if (base > INT32_MAX - delta) {
        return delta - (INT32_MAX - base) - 1;
    }
    return base + delta;
}

/* Key, payload or header key: text when every byte is printable ASCII, else hex. */
static void log_print_bytes(const uint8_t *p, int32_t len)
{
    if (p == NULL) {
        fputs("null", stdout);
        return;
    }
    bool text = true;
    for (int32_t i = 0; i < len && text; i++) {
        text = p[i] >= 0x20 && p[i] < 0x7f;
    }
    int32_t shown =
        text ? (len < LOG_TEXT_MAX ? len : LOG_TEXT_MAX) : (len < LOG_HEX_MAX ? len : LOG_HEX_MAX);
    if (text) {
        fwrite(p, 1, (size_t)shown, stdout);
    } else {
        fputs("0x", stdout);
        for (int32_t i = 0; i < shown; i++) {
            printf("%02x", p[i]);
        }
    }
    if (shown < len) {
        printf("...(%d bytes)", len);
    }
}

static void log_print_header_keys(const weir_record *rec)
{
    weir_header_iter hi;
    weir_header_iter_init(&hi, rec);
    weir_record_header hdr;
    int rc;
    fputs("headerKeys: [", stdout);
    for (int i = 0; (rc = weir_header_next(&hi, &hdr)) == 1; i++) {
        fputs(i > 0 ? "," : "", stdout);
        log_print_bytes(hdr.key, hdr.key_len);
    }
    fputs(rc < 0 ? ",<damaged>]" : "]", stdout);
}

static void log_print_records(const uint8_t *batch, size_t len, const weir_batch_header *h)
{
    weir_record_iter it;
    if (weir_record_iter_init(&it, batch, len) != 0) {
        printf("| records not shown: the batch is %s-compressed\n", log_codec_name(h->attributes));
        return;
    }
    bool log_append = (h->attributes & WEIR_BATCH_LOG_APPEND_TIME) != 0;
    weir_record r;
    int rc;
    while ((rc = weir_record_next(&it, &r)) == 1) {
        int64_t ts = log_append ? h->max_timestamp : h->base_timestamp + r.timestamp_delta;
        printf("| offset: %lld %s: %lld keySize: %d valueSize: %d sequence: %d ",
               (long long)(h->base_offset + r.offset_delta),
               log_append ? "LogAppendTime" : "CreateTime", (long long)ts, r.key_len, r.value_len,
               log_sequence_add(h->base_sequence, r.offset_delta));
        log_print_header_keys(&r);
        fputs(" key: ", stdout);
        log_print_bytes(r.key, r.key_len);
        fputs(" payload: ", stdout);
        log_print_bytes(r.value, r.value_len);
        fputs("\n", stdout);
    }
    if (rc < 0) {
        printf("| damaged record after offset delta %d: %s\n", r.offset_delta, weir_err_str(rc));
    }
}

static void log_print_batch(const weir_batch_header *h, uint64_t pos, bool crc_ok)
{
    printf("baseOffset: %lld lastOffset: %lld count: %d baseSequence: %d lastSequence: %d "
           "producerId: %lld producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s "
           "isControl: %s position: %llu %s: %lld size: %llu magic: %d compresscodec: %s "
           "crcValid: %s\n",
           (long long)h->base_offset, (long long)weir_batch_last_offset(h), h->record_count,
           h->base_sequence, log_sequence_add(h->base_sequence, h->last_offset_delta),
           (long long)h->producer_id, h->producer_epoch, h->leader_epoch,
           (h->attributes & WEIR_BATCH_TRANSACTIONAL) ? "true" : "false",
           (h->attributes & WEIR_BATCH_CONTROL) ? "true" : "false", (unsigned long long)pos,
           (h->attributes & WEIR_BATCH_LOG_APPEND_TIME) ? "LogAppendTime" : "CreateTime",
           (long long)h->max_timestamp, (unsigned long long)weir_batch_total_bytes(h), h->magic,
           log_codec_name(h->attributes), crc_ok ? "true" : "false");
}

/* ---- dump: files ---- */

static bool log_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n > 0 && (size_t)n < size;
}

/* "Dumping <file>", with the file as the user named it (or PATH/name). */
static void log_print_dumping(const log_job *j, const char *name)
{
    if (j->kind != LOG_KIND_FOLDER) {
        printf("Dumping %s\n", j->path);
        return;
    }
    size_t n = strlen(j->path);
    while (n > 1 && j->path[n - 1] == '/') {
        n--;
    }
    printf("Dumping %.*s%s%s\n", (int)n, j->path, j->path[n - 1] == '/' ? "" : "/", name);
}

static void log_read_failed(log_job *j, const char *name, int err)
{
    fprintf(stderr, "weir %s: cannot read %s/%s: %s\n", j->who, j->dir, name, weir_err_str(err));
    j->read_failed = true;
}

/* Why the batch header at pos cannot start a batch, or NULL. */
static const char *log_header_why(const weir_batch_header *h, uint64_t pos, uint64_t size)
{
    if (h->magic != WEIR_BATCH_MAGIC) {
        return "magic is not 2 (only v2 record batches can be shown)";
    }
    if (h->length < WEIR_BATCH_HEADER_BYTES - WEIR_BATCH_LOG_OVERHEAD) {
        return "batch length field too small";
    }
    if (weir_batch_total_bytes(h) > size - pos) {
        return "torn batch: its length runs past the end of the file";
    }
    return NULL;
}

/* Walks the batches one by one, going on past a bad CRC (shown as
 * crcValid: false) and stopping where no batch can start. */
static void log_dump_batches(weir_env *env, log_job *j, weir_file *f, uint64_t size)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint64_t pos = 0;
    while (pos < size && !ferror(stdout)) {
        uint8_t head[WEIR_BATCH_HEADER_BYTES];
        size_t got = 0;
        weir_batch_header h;
        const char *why = "torn batch header at the end";
        int err = 0;
        if (size - pos >= sizeof head &&
            (err = weir_file_pread(env, f, head, sizeof head, pos, &got)) == 0 &&
            got == sizeof head) {
            weir_batch_header_decode(head, &h);
            why = log_header_why(&h, pos, size);
        }
        uint64_t total = why == NULL ? weir_batch_total_bytes(&h) : 0;
        if (why == NULL && total > cap) {
            uint8_t *nb = realloc(buf, (size_t)total);
            err = nb == NULL ? WEIR_E_NOMEM : 0;
            buf = nb != NULL ? nb : buf;
            cap = nb != NULL ? (size_t)total : cap;
        }
        if (why == NULL && err == 0) {
            err = weir_file_pread(env, f, buf, (size_t)total, pos, &got);
            why = err == 0 && got != total ? "the file shrank while it was read" : NULL;
        }
        if (err != 0) {
            printf("damaged: position: %llu: reading failed: %s\n", (unsigned long long)pos,
                   weir_err_str(err));
            j->read_failed = true;
            break;
        }
        if (why != NULL) {
            printf("damaged: position: %llu: %s (%llu bytes not shown)\n", (unsigned long long)pos,
                   why, (unsigned long long)(size - pos));
            break;
        }
        bool crc_ok = weir_crc32c(0, buf + WEIR_BATCH_CRC_START,
                                  (size_t)total - WEIR_BATCH_CRC_START) == h.crc;
        log_print_batch(&h, pos, crc_ok);
        if (j->records) {
            log_print_records(buf, (size_t)total, &h);
        }
        j->batches++;
        j->records_total += h.record_count;
        j->end_offset = weir_batch_last_offset(&h) + 1;
        pos += total;
    }
    free(buf);
}

static void log_dump_segment(weir_env *env, log_job *j, const char *name)
{
    char path[PATH_MAX];
    weir_file *f = NULL;
    uint64_t size = 0;
    int64_t base = weir_segment_parse_name(name, "log");
    log_print_dumping(j, name);
    if (base >= 0) {
        printf("Log starting offset: %lld\n", (long long)base);
    }
    int err = log_join(path, sizeof path, j->dir, name) ? 0 : WEIR_E_INVAL;
    if (err == 0) {
        err = weir_file_open(env, path, WEIR_F_RDONLY, &f);
    }
    if (err == 0) {
        err = weir_file_size(env, f, &size);
    }
    if (err == 0) {
        if (j->segments++ == 0) {
            j->start_offset = base;
        }
        j->end_offset = base;
        j->bytes += size;
        log_dump_batches(env, j, f, size);
    }
    if (f != NULL) {
        weir_file_close(env, f);
    }
    if (err != 0) {
        log_read_failed(j, name, err);
    }
}

/* Reads a whole file of the partition folder; false (after saying so) if it cannot. */
static bool log_slurp(weir_env *env, log_job *j, const char *name, uint8_t **raw, size_t *len)
{
    char path[PATH_MAX];
    char *buf = NULL;
    int err = log_join(path, sizeof path, j->dir, name) ? 0 : WEIR_E_INVAL;
    if (err == 0) {
        err = weir_checkpoint_slurp(env, path, LOG_FILE_BYTES_MAX, &buf, len);
    }
    if (err == WEIR_E_NOENT) {
        printf("(no such file)\n");
        return false;
    }
    if (err != 0) {
        log_read_failed(j, name, err);
        return false;
    }
    *raw = (uint8_t *)buf;
    return true;
}

static bool log_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Prints the entries up to the first all-zero one (preallocated space). */
static void log_dump_index(weir_env *env, log_job *j, const char *name, bool time_index)
{
    size_t entry = time_index ? WEIR_TIME_INDEX_ENTRY : WEIR_OFFSET_INDEX_ENTRY;
    int64_t base = weir_segment_parse_name(name, time_index ? "timeindex" : "index");
    log_print_dumping(j, name);
    if (base < 0) {
        printf("(the name holds no base offset: offsets are shown relative)\n");
        base = 0;
    }
    uint8_t *raw;
    size_t len;
    if (!log_slurp(env, j, name, &raw, &len)) {
        return;
    }
    size_t i = 0;
    for (; (i + 1) * entry <= len && !log_zero(raw + i * entry, entry); i++) {
        const uint8_t *e = raw + i * entry;
        if (time_index) {
            printf("timestamp: %lld offset: %lld\n", (long long)(int64_t)weir_get_be64(e),
                   (long long)(base + weir_get_be32(e + 8)));
        } else {
            printf("offset: %lld position: %u\n", (long long)(base + weir_get_be32(e)),
                   weir_get_be32(e + 4));
        }
    }
    if (!log_zero(raw + i * entry, len - i * entry)) {
        printf("damaged: non-zero bytes after the last entry (from byte %zu)\n", i * entry);
    }
    free(raw);
}

static void log_dump_snapshot(weir_env *env, log_job *j, const char *name)
{
    log_print_dumping(j, name);
    uint8_t *raw;
    size_t len;
    if (!log_slurp(env, j, name, &raw, &len)) {
        return;
    }
    weir_producer_entry *e = NULL;
    size_t n = 0;
    const char *why = NULL;
    int err = weir_snapshot_decode(raw, len, &e, &n, &why);
    free(raw);
    if (err != 0) {
        printf("damaged: %s\n", err == WEIR_E_CORRUPT ? why : weir_err_str(err));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("producerId: %lld producerEpoch: %d coordinatorEpoch: %d currentTxnFirstOffset: "
               "%lld lastTimestamp: %lld lastSequence: %d lastOffset: %lld offsetDelta: %d\n",
               (long long)e[i].producer_id, e[i].epoch, e[i].coordinator_epoch,
               (long long)e[i].current_txn_first_offset, (long long)e[i].timestamp,
               e[i].last_sequence, (long long)e[i].last_offset, e[i].offset_delta);
    }
    free(e);
}

static void log_dump_epochs(weir_env *env, log_job *j)
{
    log_print_dumping(j, WEIR_EPOCH_CHECKPOINT);
    weir_epoch_entry *e = NULL;
    size_t n = 0;
    char why[200];
    int err = weir_epoch_checkpoint_read(env, j->dir, &e, &n, why, sizeof why);
    if (err != 0) {
        printf("damaged: %s\n", err == WEIR_E_CORRUPT ? why : weir_err_str(err));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("epoch: %d startOffset: %lld\n", e[i].epoch, (long long)e[i].start_offset);
    }
    free(e);
}

static void log_dump_offset_checkpoint(weir_env *env, log_job *j, const char *name,
                                       const char *label)
{
    log_print_dumping(j, name);
    char topic[WEIR_LOG_TOPIC_MAX + 1];
    int32_t partition = 0;
    char why[200];
    int64_t off = -1;
    int err = weir_log_parse_dir_name(j->dir, topic, sizeof topic, &partition);
    if (err == 0) {
        err =
            weir_offset_checkpoint_read(env, j->dir, name, topic, partition, &off, why, sizeof why);
    }
    if (err == 0) {
        printf("%s: %lld\n", label, (long long)off);
    } else if (err == WEIR_E_NOENT) {
        printf("(no entry for %s-%d)\n", topic, partition);
    } else if (err == WEIR_E_CORRUPT) {
        printf("damaged: %s\n", why);
    } else {
        log_read_failed(j, name, err);
    }
}

/* The metadata files beside the segments, in name order. */
static void log_dump_metadata(weir_env *env, log_job *j, const weir_dirlist *list)
{
    for (size_t i = 0; i < list->count && !ferror(stdout); i++) {
        const char *name = list->names[i];
        if (strcmp(name, WEIR_EPOCH_CHECKPOINT) == 0) {
            log_dump_epochs(env, j);
        } else if (strcmp(name, WEIR_HW_CHECKPOINT) == 0) {
            log_dump_offset_checkpoint(env, j, name, "highWatermark");
        } else if (strcmp(name, WEIR_RECOVERY_CHECKPOINT) == 0) {
            log_dump_offset_checkpoint(env, j, name, "recoveryPoint");
        } else if (strcmp(name, WEIR_LOG_START_CHECKPOINT) == 0) {
            log_dump_offset_checkpoint(env, j, name, "logStartOffset");
        } else if (weir_segment_parse_name(name, "snapshot") >= 0) {
            log_dump_snapshot(env, j, name);
        } else if (strcmp(name, WEIR_CLEAN_SHUTDOWN) == 0) {
            log_print_dumping(j, name);
            printf("clean shutdown marker: the log was closed cleanly\n");
        }
    }
}

static void log_dump_folder(weir_env *env, log_job *j)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(env, j->dir, &list);
    if (err != 0) {
        log_read_failed(j, "", err);
        return;
    }
    j->start_offset = -1;
    j->end_offset = -1;
    for (size_t i = 0; i < list.count && !ferror(stdout); i++) {
        int64_t base = weir_segment_parse_name(list.names[i], "log");
        if (base < 0) {
            continue;
        }
        log_dump_segment(env, j, list.names[i]);
        if (j->indexes) {
            char name[NAME_MAX + 1];
            snprintf(name, sizeof name, "%020lld.index", (long long)base);
            log_dump_index(env, j, name, false);
            snprintf(name, sizeof name, "%020lld.timeindex", (long long)base);
            log_dump_index(env, j, name, true);
        }
    }
    log_dump_metadata(env, j, &list);
    weir_fs_list_free(&list);
    printf("Summary: segments: %d batches: %lld records: %lld bytes: %llu startOffset: %lld "
           "endOffset: %lld\n",
           j->segments, (long long)j->batches, (long long)j->records_total,
           (unsigned long long)j->bytes, (long long)j->start_offset, (long long)j->end_offset);
}

static int log_dump(weir_env *env, log_job *j)
{
    switch (j->kind) {
    case LOG_KIND_FOLDER:
        log_dump_folder(env, j);
        break;
    case LOG_KIND_SEGMENT:
        log_dump_segment(env, j, j->file);
        break;
    case LOG_KIND_OFFSET_INDEX:
        log_dump_index(env, j, j->file, false);
        break;
    case LOG_KIND_TIME_INDEX:
        log_dump_index(env, j, j->file, true);
        break;
    case LOG_KIND_SNAPSHOT:
        log_dump_snapshot(env, j, j->file);
        break;
    case LOG_KIND_EPOCHS:
        log_dump_epochs(env, j);
        break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return WEIR_EXIT_FAIL;
    }
    return j->read_failed ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}

/* ---- verify ---- */

static const char *log_plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* "FILE[:LINE][: byte N][, offset M]: message", notes prefixed with "note: ". */
static void log_print_issue(const weir_verify_issue *is, void *arg)
{
    const log_job *j = arg;
    printf("%s%s", is->severity == WEIR_VERIFY_NOTE ? "note: " : "",
           is->file[0] != '\0' ? is->file : j->dir);
    if (is->line > 0) {
        printf(":%d", is->line);
    }
    if (is->position >= 0) {
        printf(": byte %lld", (long long)is->position);
    }
    if (is->offset >= 0) {
        printf("%s offset %lld", is->position >= 0 ? "," : ":", (long long)is->offset);
    }
    printf(": %s\n", is->message);
}

static int log_verify(weir_env *env, log_job *j)
{
    weir_verify_report r;
    int err = weir_log_verify(env, j->dir, log_print_issue, j, &r);
    if (err != 0) {
        fprintf(stderr, "weir %s: cannot check '%s': %s\n", j->who, j->path, weir_err_str(err));
        return WEIR_EXIT_USAGE;
    }
    if (r.problems > 0) {
        printf("damaged: %d %s", r.problems, log_plural(r.problems, "problem", "problems"));
    } else {
        printf("ok: %d %s, %lld %s, ", r.segments, log_plural(r.segments, "segment", "segments"),
               (long long)r.batches, log_plural(r.batches, "batch", "batches"));
        if (r.end_offset > r.start_offset) {
            printf("offsets %lld..%lld", (long long)r.start_offset, (long long)r.end_offset - 1);
        } else {
            printf("no offsets (log end %lld)", (long long)r.end_offset);
        }
    }
    if (r.notes > 0) {
        printf(" (%d %s)", r.notes, log_plural(r.notes, "note", "notes"));
    }
    printf("\n");
    return r.problems > 0 ? WEIR_EXIT_FAIL : WEIR_EXIT_OK;
}

/* ---- the node ---- */

/* Does the whole job at start, then stops the world (its run returns). */
static void *log_node_start(weir_env *env, void *arg)
{
    log_job *j = arg;
    j->exit_code = strcmp(j->cmd, "verify") == 0 ? log_verify(env, j) : log_dump(env, j);
    weir_world_stop(j->world);
    return j;
}

static const weir_node_type log_node = {.name = "log", .start = log_node_start, .destroy = NULL};

int weir_cli_log(int argc, char **argv)
{
    if (argc < 2) {
        return weir_cli_usage_error("log", log_usage, "missing subcommand (dump or verify)");
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(log_help, stdout);
        return WEIR_EXIT_OK;
    }
    if (strcmp(sub, "dump") != 0 && strcmp(sub, "verify") != 0) {
        return weir_cli_usage_error("log", log_usage, "unknown subcommand '%s'", sub);
    }
    static log_job j; /* large (paths); one per process */
    memset(&j, 0, sizeof j);
    j.cmd = sub;
    j.who = strcmp(sub, "dump") == 0 ? "log dump" : "log verify";
    j.exit_code = WEIR_EXIT_USAGE;
    int rc = log_parse(argc - 1, argv + 1, &j);
    if (rc == 0) {
        rc = log_resolve(&j);
    }
    if (rc != 0) {
        return rc < 0 ? WEIR_EXIT_OK : rc;
    }
    /* The world's own root is the same existing folder: nothing is created. */
    j.world = weir_uv_world_new(j.root, 1);
    if (j.world == NULL) {
        fprintf(stderr, "weir %s: cannot set up the file env at '%s'\n", j.who, j.root);
        return WEIR_EXIT_USAGE;
    }
    rc = weir_uv_world_node_add_rooted(j.world, "log", j.root, &log_node, &j);
    if (rc == 0) {
        rc = weir_world_run(j.world, INT64_MAX);
    }
    weir_world_destroy(j.world);
    if (rc != 0) {
        fprintf(stderr, "weir %s: %s: %s\n", j.who, j.root, weir_err_str(rc));
        return WEIR_EXIT_USAGE;
    }
    return j.exit_code;
}
