/* Conformance cases: a node's teardown (after a crash, at the end of a run).
 *
 * A node type's destroy runs after the backend has stopped every callback
 * into the node, but while the files the node holds are still open: destroy
 * may close them, and anything it leaves open the backend closes after it.
 * A write attempted from destroy is refused, so nothing a dead node does can
 * reach the disk its next incarnation recovers from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_cases.h"

#define MS (1000LL * 1000)
#define KEEP_FILES 3

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, why_size, __VA_ARGS__);                                                  \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* ---- a node that keeps files open until it is destroyed ---- */

typedef struct keep_node {
    conf_ctx *c;
    weir_env *env;
    weir_file *files[KEEP_FILES];
    int file_count;
    int incarnation; /* 1 for the first start */
} keep_node;

static keep_node *keep_new(weir_env *env, conf_ctx *c)
{
    keep_node *k = calloc(1, sizeof *k);
    WEIR_ASSERT(k != NULL);
    k->c = c;
    k->env = env;
    k->incarnation = ++c->server_starts;
    return k;
}

static void keep_open(keep_node *k, const char *path, int flags)
{
    WEIR_ASSERT(k->file_count < KEEP_FILES);
    weir_file *f;
    if (weir_file_open(k->env, path, flags, &f) != 0) {
        k->c->errors++;
        return;
    }
    k->files[k->file_count++] = f;
}

/* Closes every file the node holds: the only env call destroy may make. */
static void keep_close_all(keep_node *k)
{
    for (int i = 0; i < k->file_count; i++) {
        weir_file_close(k->env, k->files[i]);
        k->c->files_closed++;
    }
    k->file_count = 0;
}

/* Two files written and synced, and a second, read-only handle on one. */
static void *keep_start(weir_env *env, void *arg)
{
    keep_node *k = keep_new(env, arg);
    keep_open(k, "a.log", WEIR_F_CREATE);
    keep_open(k, "b.log", WEIR_F_CREATE);
    keep_open(k, "a.log", WEIR_F_RDONLY);
    for (int i = 0; i < 2 && i < k->file_count; i++) {
        if (weir_file_append(env, k->files[i], "kept", 4) != 0 ||
            weir_file_sync(env, k->files[i]) != 0) {
            k->c->errors++;
        }
    }
    return k;
}

static void keep_destroy(void *state)
{
    keep_node *k = state;
    k->c->destroys++;
    keep_close_all(k);
    free(k);
}

static const weir_node_type keep_type = {
    .name = "keep", .start = keep_start, .destroy = keep_destroy};

static int keep_check(conf_ctx *c, char *why, size_t why_size)
{
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->server_starts == 1, "the node started %d times, want 1", c->server_starts);
    CHECK(c->destroys == 1, "destroy ran %d times, want 1", c->destroys);
    CHECK(c->files_closed == KEEP_FILES, "destroy closed %d files, want %d", c->files_closed,
          KEEP_FILES);
    return 0;
}

/* ---- case: destroy closes its files after a crash ---- */

static void keep_crash(weir_env *env, void *arg)
{
    conf_ctx *c = arg;
    if (weir_world_crash(c->world, "keep") != 0) {
        c->errors++;
    }
    weir_timer_start(env, 10 * MS, conf_stop_cb, c);
}

static void *keep_ctl_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 20 * MS, keep_crash, arg);
    return arg;
}

static const weir_node_type keep_ctl_type = {.name = "ctl", .start = keep_ctl_start};

void conf_keep_crash_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "keep", &keep_type, c);
    weir_world_node_add(w, "ctl", &keep_ctl_type, c);
}

int conf_keep_crash_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    return keep_check(c, why, why_size);
}

/* ---- case: destroy closes its files when the world ends with the node up ---- */

static void *keep_stopper_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 20 * MS, conf_stop_cb, arg);
    return arg;
}

static const weir_node_type keep_stopper_type = {.name = "stopper", .start = keep_stopper_start};

void conf_keep_end_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "keep", &keep_type, c);
    weir_world_node_add(w, "ctl", &keep_stopper_type, c);
}

int conf_keep_end_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    return keep_check(c, why, why_size);
}

/* ---- case: a write from destroy after a crash is refused ---- */

static void late_read(weir_env *env, void *arg)
{
    conf_ctx *c = arg;
    weir_file *f;
    size_t n = 0;
    if (weir_file_open(env, "data", WEIR_F_RDONLY, &f) != 0) {
        c->errors++;
        return;
    }
    if (weir_file_pread(env, f, c->durable, sizeof c->durable, 0, &n) != 0) {
        c->errors++;
    }
    c->durable_len = n;
    weir_file_close(env, f);
}

/* The first incarnation writes and syncs "synced|" and keeps the file open;
 * the second reads what is there once the first one's destroy has run. */
static void *late_start(weir_env *env, void *arg)
{
    keep_node *k = keep_new(env, arg);
    if (k->incarnation == 1) {
        keep_open(k, "data", WEIR_F_CREATE);
        if (k->file_count != 1 || weir_file_append(env, k->files[0], "synced|", 7) != 0 ||
            weir_file_sync(env, k->files[0]) != 0) {
            k->c->errors++;
        }
    } else {
        weir_timer_start(env, 5 * MS, late_read, k->c);
    }
    return k;
}

/* Tries every kind of write on the file it holds, then closes it. */
static void late_destroy(void *state)
{
    keep_node *k = state;
    conf_ctx *c = k->c;
    c->destroys++;
    if (k->incarnation == 1 && k->file_count == 1) {
        weir_file *f = k->files[0];
        c->late_rcs[c->late_count++] = weir_file_pwrite(k->env, f, "LATE", 4, 0);
        c->late_rcs[c->late_count++] = weir_file_append(k->env, f, "late", 4);
        c->late_rcs[c->late_count++] = weir_file_truncate(k->env, f, 2);
        c->late_rcs[c->late_count++] = weir_file_sync(k->env, f);
    }
    keep_close_all(k);
    free(k);
}

static const weir_node_type late_type = {
    .name = "late", .start = late_start, .destroy = late_destroy};

static void late_crash(weir_env *env, void *arg)
{
    conf_ctx *c = arg;
    if (weir_world_crash(c->world, "disk") != 0 || weir_world_restart(c->world, "disk") != 0) {
        c->errors++;
    }
    weir_timer_start(env, 30 * MS, conf_stop_cb, c);
}

static void *late_ctl_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 20 * MS, late_crash, arg);
    return arg;
}

static const weir_node_type late_ctl_type = {.name = "ctl", .start = late_ctl_start};

void conf_late_write_setup(weir_world *w, conf_ctx *c)
{
    weir_world_node_add(w, "disk", &late_type, c);
    weir_world_node_add(w, "ctl", &late_ctl_type, c);
}

int conf_late_write_check(conf_ctx *c, bool sim, char *why, size_t why_size)
{
    (void)sim;
    static const char *const what[] = {"pwrite", "append", "truncate", "sync"};
    CHECK(c->errors == 0, "%d errors", c->errors);
    CHECK(c->server_starts == 2, "the node started %d times, want 2", c->server_starts);
    CHECK(c->destroys == 2, "destroy ran %d times, want 2 (crash, end of run)", c->destroys);
    CHECK(c->late_count == 4, "destroy after the crash tried %d writes, want 4", c->late_count);
    CHECK(c->durable_len == 7 && memcmp(c->durable, "synced|", 7) == 0,
          "the restarted node reads %zu bytes '%.*s', want exactly 'synced|'", c->durable_len,
          (int)c->durable_len, (const char *)c->durable);
    for (int i = 0; i < c->late_count; i++) {
        CHECK(c->late_rcs[i] == WEIR_E_IO, "%s from destroy after a crash returned %s, want %s",
              what[i], weir_err_str(c->late_rcs[i]), weir_err_str(WEIR_E_IO));
    }
    return 0;
}
