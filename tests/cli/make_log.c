/* make_log: writes a partition folder through weir_plog_* on the real env, for
 * tests/cli/test_log_cli.sh.
 *
 *   make_log DIR [--batches N] [--records R] [--segment-bytes B]
 *                [--index-interval-bytes I]
 *
 * DIR is "<parent>/<topic>-<partition>"; <parent> must exist. Batch i holds R
 * records with offsets i*R .. i*R+R-1, keys "key-<offset>" and payloads
 * "value-<i>-<j>", timestamps 1700000000000 + 1000*i + j. Batch 0's first
 * record has a header "h1"; every batch i with i % 4 == 3 has a binary payload
 * in its first record; odd batches come from idempotent producer 1000. The
 * first half is written in leader epoch 0, the rest in epoch 1. Then the high
 * watermark is set to the log end, a producer snapshot is written at the log
 * end and the log is closed cleanly. Exits 0 on success.
 *
 * It writes through a node rooted at <parent> (weir_uv_world_node_add_rooted)
 * and first checks that a node rooted at a missing folder fails with
 * WEIR_E_NOENT without creating it. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/units.h"
#include "env/uv_world.h"
#include "log/batch.h"
#include "log/log.h"
#include "log/snapshot.h"

#define ML_TS0 1700000000000LL
#define ML_PRODUCER 1000

typedef struct ml_opts {
    char parent[PATH_MAX];
    char name[NAME_MAX + 1];
    uint64_t batches;
    uint64_t records;
    weir_log_config cfg;
    weir_world *world;
    int rc;
} ml_opts;

static int ml_append(weir_plog *log, uint64_t i, const ml_opts *o, int32_t *seq)
{
    weir_batch_builder b;
    weir_batch_builder_init(&b);
    bool idempotent = i % 2 == 1;
    if (idempotent) {
        weir_batch_builder_set_producer(&b, ML_PRODUCER, 0, *seq);
        *seq += (int32_t)o->records;
    }
    int64_t base = weir_plog_end_offset(log);
    for (uint64_t r = 0; r < o->records; r++) {
        char key[32], value[48];
        int klen = snprintf(key, sizeof key, "key-%lld", (long long)(base + (int64_t)r));
        int vlen = snprintf(value, sizeof value, "value-%llu-%llu", (unsigned long long)i,
                            (unsigned long long)r);
        static const uint8_t binary[] = {0x00, 0x01, 0x02, 0xff, 0xfe};
        weir_record_header h = {(const uint8_t *)"h1", 2, (const uint8_t *)"v1", 2};
        bool bin = i % 4 == 3 && r == 0;
        weir_batch_builder_add(&b, ML_TS0 + 1000 * (int64_t)i + (int64_t)r, key, klen,
                               bin ? (const void *)binary : value,
                               bin ? (int32_t)sizeof binary : vlen, &h, i == 0 && r == 0 ? 1 : 0);
    }
    uint8_t *buf;
    size_t len;
    int err = weir_batch_builder_finish(&b, &buf, &len);
    const char *why = NULL;
    if (err == 0) {
        err = weir_plog_append_leader(log, buf, len, i * 2 < o->batches ? 0 : 1, NULL, &why);
    }
    if (err != 0) {
        fprintf(stderr, "make_log: append %llu: %s (%s)\n", (unsigned long long)i,
                weir_err_str(err), why ? why : "-");
    }
    weir_batch_builder_free(&b);
    return err;
}

static int ml_write(weir_env *env, ml_opts *o)
{
    weir_plog *log;
    int err = weir_plog_open(env, o->name, &o->cfg, NULL, &log);
    if (err != 0) {
        fprintf(stderr, "make_log: open %s: %s\n", o->name, weir_err_str(err));
        return err;
    }
    int32_t seq = 0;
    for (uint64_t i = 0; i < o->batches && err == 0; i++) {
        err = ml_append(log, i, o, &seq);
    }
    int64_t end = weir_plog_end_offset(log);
    if (err == 0) {
        err = weir_plog_hw_write(log, end);
    }
    if (err == 0 && seq > 0) {
        weir_producer_entry e = {
            .producer_id = ML_PRODUCER,
            .epoch = 0,
            .last_sequence = seq - 1,
            .last_offset = end - 1,
            .offset_delta = (int32_t)o->records - 1,
            .timestamp = ML_TS0,
            .coordinator_epoch = -1,
            .current_txn_first_offset = -1,
        };
        err = weir_snapshot_write(env, o->name, end, &e, 1);
    }
    if (err != 0) {
        weir_plog_abandon(log);
        return err;
    }
    return weir_plog_close(log);
}

static void *ml_start(weir_env *env, void *arg)
{
    ml_opts *o = arg;
    o->rc = ml_write(env, o) == 0 ? 0 : 1;
    weir_world_stop(o->world);
    return o;
}

static const weir_node_type ml_node = {.name = "make_log", .start = ml_start, .destroy = NULL};

static int ml_parse(int argc, char **argv, ml_opts *o)
{
    static const struct option longopts[] = {
        {"batches", required_argument, NULL, 'b'},
        {"records", required_argument, NULL, 'r'},
        {"segment-bytes", required_argument, NULL, 's'},
        {"index-interval-bytes", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    o->batches = 10;
    o->records = 3;
    weir_log_config_default(&o->cfg);
    int ch;
    const char *why = NULL;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int err = 0;
        switch (ch) {
        case 'b':
            err = weir_parse_u64(optarg, &o->batches);
            break;
        case 'r':
            err = weir_parse_u64(optarg, &o->records);
            err = err == 0 && (o->records == 0 || o->records > 1000) ? WEIR_E_INVAL : err;
            break;
        case 's':
            err = weir_log_config_set(&o->cfg, "segment.bytes", optarg, &why);
            break;
        case 'i':
            err = weir_log_config_set(&o->cfg, "index.interval.bytes", optarg, &why);
            break;
        default:
            err = WEIR_E_INVAL;
        }
        if (err != 0) {
            fprintf(stderr, "make_log: bad option %s\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: make_log DIR [--batches N] [--records R] [--segment-bytes B] "
                        "[--index-interval-bytes I]\n");
        return 2;
    }
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", argv[optind]);
    snprintf(b, sizeof b, "%s", argv[optind]);
    snprintf(o->parent, sizeof o->parent, "%s", dirname(a));
    snprintf(o->name, sizeof o->name, "%s", basename(b));
    return 0;
}

/* The contract `weir log` relies on: a rooted node never creates its root. */
static bool ml_rooted_root_is_never_created(weir_world *w, const char *parent)
{
    char missing[PATH_MAX + 32];
    snprintf(missing, sizeof missing, "%s/make_log-missing-root", parent);
    struct stat st;
    int err = weir_uv_world_node_add_rooted(w, "missing", missing, &ml_node, NULL);
    if (err != WEIR_E_NOENT || stat(missing, &st) == 0) {
        fprintf(stderr, "make_log: a rooted node with a missing root gave '%s'\n",
                weir_err_str(err));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    static ml_opts o;
    int rc = ml_parse(argc, argv, &o);
    if (rc != 0) {
        return rc;
    }
    o.world = weir_uv_world_new(o.parent, 1);
    if (o.world == NULL) {
        fprintf(stderr, "make_log: cannot use %s\n", o.parent);
        return 1;
    }
    o.rc = 1;
    rc = ml_rooted_root_is_never_created(o.world, o.parent) ? 0 : WEIR_E_INVAL;
    if (rc == 0) {
        rc = weir_uv_world_node_add_rooted(o.world, "make_log", o.parent, &ml_node, &o);
    }
    if (rc == 0) {
        rc = weir_world_run(o.world, INT64_MAX);
    }
    weir_world_destroy(o.world);
    if (rc != 0) {
        fprintf(stderr, "make_log: %s: %s\n", o.parent, weir_err_str(rc));
        return 1;
    }
    return o.rc;
}
