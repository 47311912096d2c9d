/* Test fixture: a real env (libuv backend) rooted in a fresh temporary folder,
 * used directly from the test (file operations are synchronous), plus batch
 * helpers. Included by the log tests only. */
#ifndef WEIR_TEST_LOG_FIXTURE_H
#define WEIR_TEST_LOG_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/env.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "log/batch.h"
#include "log/log.h"

typedef struct log_fixture {
    char root[64];
    char node_dir[96]; /* root/n: where the env's relative paths land */
    weir_world *w;
    weir_env *env;
} log_fixture;

static void *fixture_node_start(weir_env *env, void *arg)
{
    ((log_fixture *)arg)->env = env;
    return arg;
}

static const weir_node_type fixture_node = {"n", fixture_node_start, NULL};

static log_fixture *fixture_new(void)
{
    log_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/weir_log_test_XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->node_dir, sizeof f->node_dir, "%s/n", f->root);
    f->w = weir_uv_world_new(f->root, 42);
    assert_non_null(f->w);
    assert_int_equal(weir_world_node_add(f->w, "n", &fixture_node, f), 0);
    assert_int_equal(weir_world_run(f->w, 1000000), 0);
    assert_non_null(f->env);
    f->env->log_level = WEIR_LOG_ERROR;
    return f;
}

static int fixture_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fixture_free(log_fixture *f)
{
    weir_world_destroy(f->w);
    nftw(f->root, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
}

/* Real path of a file the env calls `rel`. */
static const char *fixture_path(const log_fixture *f, const char *rel)
{
    static char buf[4][512];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, 512, "%s/%s", f->node_dir, rel);
    return out;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A batch of `records` records with timestamps ts0, ts0+1, ...; values tagged
 * with `tag` so batches differ. Caller frees. */
static uint8_t *make_batch(int records, int64_t ts0, int tag, size_t value_bytes, size_t *len)
{
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    char *val = malloc(value_bytes + 32);
    assert_non_null(val);
    for (int i = 0; i < records; i++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d-%d", tag, i);
        memset(val, 'a' + (tag + i) % 26, value_bytes + 32);
        int n = snprintf(val, value_bytes + 32, "t%d r%d ", tag, i);
        val[n] = 'x';
        weir_batch_builder_add(&bb, ts0 + i, key, (int32_t)strlen(key), val,
                               (int32_t)value_bytes, NULL, 0);
    }
    free(val);
    uint8_t *buf;
    assert_int_equal(weir_batch_builder_finish(&bb, &buf, len), 0);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, buf, *len);
    weir_batch_builder_free(&bb);
    return copy;
}

/* Appends one batch as leader; returns its base offset. */
static int64_t append_batch(weir_plog *log, int records, int64_t ts0, int tag, size_t value_bytes,
                            int32_t epoch)
{
    size_t len;
    uint8_t *b = make_batch(records, ts0, tag, value_bytes, &len);
    weir_log_append_info info;
    const char *why = NULL;
    int err = weir_plog_append_leader(log, b, len, epoch, &info, &why);
    if (err != 0) {
        fail_msg("append failed: %s (%s)", weir_err_str(err), why ? why : "");
    }
    free(b);
    return info.first_offset;
}

#endif
