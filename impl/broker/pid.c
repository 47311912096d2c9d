/* Producer id blocks; see pid.h. The file holds two lines, "0\n<block end>\n"
 * (format version, then the exclusive end of the last reserved block). */
#include "broker/pid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/checkpoint.h"

#define PID_FILE_TMP WEIR_PID_FILE ".tmp"

void weir_pid_init(weir_pid_alloc *a, int32_t node_id)
{
    WEIR_ASSERT(node_id >= 0);
    memset(a, 0, sizeof *a);
    a->range_start = (int64_t)node_id << WEIR_PID_RANGE_BITS;
    a->range_end = a->range_start + ((int64_t)1 << WEIR_PID_RANGE_BITS);
    a->next = a->range_start;
    a->block_end = a->range_start; /* nothing reserved yet */
}

/* Reads the recorded block end; a missing file means a fresh range. */
static int pid_load(weir_pid_alloc *a, weir_env *env)
{
    char *text = NULL;
    size_t len = 0;
    int err = weir_checkpoint_slurp(env, WEIR_PID_FILE, 256, &text, &len);
    if (err == WEIR_E_NOENT) {
        a->loaded = true;
        return 0;
    }
    if (err != 0) {
        return err;
    }
    char *end = NULL;
    long version = strtol(text, &end, 10);
    long long block_end = -1;
    if (end != text && *end == '\n' && version == 0) {
        char *p = end + 1;
        block_end = strtoll(p, &end, 10);
        if (end == p || *end != '\n') {
            block_end = -1;
        }
    }
    free(text);
    if (block_end < a->range_start || block_end > a->range_end) {
        return WEIR_E_CORRUPT; /* not ours, or damaged: handing out ids could repeat one */
    }
    a->next = block_end;
    a->block_end = block_end;
    a->loaded = true;
    return 0;
}

/* Makes [a->block_end, new_end) ours: durable before any id of it is used. */
static int pid_reserve(weir_pid_alloc *a, weir_env *env, int64_t new_end)
{
    char text[48];
    int n = snprintf(text, sizeof text, "0\n%lld\n", (long long)new_end);
    weir_file *f;
    int err = weir_file_open(env, PID_FILE_TMP, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    if (err != 0) {
        return err;
    }
    err = weir_file_pwrite(env, f, text, (size_t)n, 0);
    if (err == 0) {
        err = weir_file_sync(env, f);
    }
    weir_file_close(env, f);
    if (err == 0) {
        err = weir_fs_rename(env, PID_FILE_TMP, WEIR_PID_FILE);
    }
    if (err != 0) {
        weir_ignore(weir_fs_unlink(env, PID_FILE_TMP));
        return err;
    }
    a->block_end = new_end;
    return 0;
}

int weir_pid_next(weir_pid_alloc *a, weir_env *env, int64_t *pid_out)
{
    if (!a->loaded) {
        int err = pid_load(a, env);
        if (err != 0) {
            return err;
        }
    }
    if (a->next >= a->block_end) {
        if (a->range_end - a->next < WEIR_PID_BLOCK_SIZE) {
            return WEIR_E_RANGE;
        }
        int err = pid_reserve(a, env, a->next + WEIR_PID_BLOCK_SIZE);
        if (err != 0) {
            return err;
        }
    }
    WEIR_ASSERT(a->next >= a->range_start && a->next < a->block_end && a->next >= 0);
    *pid_out = a->next++;
    return 0;
}
