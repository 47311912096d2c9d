/* PutFile: writes each FlowFile's content to a file in a folder of the
 * node's file system, through weir_env files (NiFi's PutFile).
 *
 * The file is "Directory"/<filename attribute> ("Directory" may use
 * expressions). Paths are the node's: a leading '/' is read from the node's
 * root, so a flow file that names /var/out writes there on a node rooted at
 * "/" and under the simulated host's root in the simulator. The content goes to a dot-file beside
 * it, is synced, and is renamed into place, so a reader never sees half a file and a crash leaves
 * at most a stray dot-file. "Conflict Resolution Strategy" when the file
 * exists: replace it, ignore (the FlowFile goes to success, the file is left
 * alone, as NiFi does) or fail (to failure). Missing folders are made when
 * "Create Missing Directories" is true. A SEND provenance event names
 * file://<path>. Write errors and bad names go to failure, penalized.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flowfile.h"
#include "flow/processor.h"
#include "flow/session.h"

#define PUT_PATH_MAX 1024
#define PUT_CHUNK_BYTES (64 * 1024)

enum { REL_SUCCESS, REL_FAILURE };
enum { CONFLICT_REPLACE, CONFLICT_IGNORE, CONFLICT_FAIL };

typedef struct pf_state {
    int conflict;
    bool mkdirs;
    const weir_flow_prop *dir;
    uint8_t *chunk;
    weir_flowfile **batch;
    size_t batch_max;
} pf_state;

static const char *const pf_conflicts[] = {"replace", "ignore", "fail", NULL};

static const weir_flow_property_desc pf_props[] = {
    {.name = "Directory",
     .description = "folder to write to (node-relative)",
     .required = true,
     .expressions = true},
    {.name = "Conflict Resolution Strategy",
     .default_value = "fail",
     .required = true,
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = pf_conflicts},
    {.name = "Create Missing Directories",
     .default_value = "true",
     .required = true,
     .kind = WEIR_FLOW_PROP_BOOL},
    {0},
};

static const weir_flow_relationship_desc pf_rels[] = {
    {.name = "success", .description = "written (or ignored as a conflict)"},
    {.name = "failure", .description = "not written"},
    {0},
};

static void pf_stop(weir_flow_ctx *ctx)
{
    pf_state *st = weir_flow_ctx_state(ctx);
    if (st != NULL) {
        free(st->chunk);
        free(st->batch);
        free(st);
    }
    weir_flow_ctx_set_state(ctx, NULL);
}

static int pf_schedule(weir_flow_ctx *ctx)
{
    pf_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_flow_ctx_set_state(ctx, st);
    const char *c = weir_flow_ctx_prop_str(ctx, "Conflict Resolution Strategy");
    st->conflict = strcmp(c, "replace") == 0  ? CONFLICT_REPLACE
                   : strcmp(c, "ignore") == 0 ? CONFLICT_IGNORE
                                              : CONFLICT_FAIL;
    int rc = weir_flow_ctx_prop_bool(ctx, "Create Missing Directories", &st->mkdirs);
    st->dir = weir_flow_ctx_prop(ctx, "Directory");
    st->chunk = malloc(PUT_CHUNK_BYTES);
    st->batch_max = 64;
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc != 0 || st->chunk == NULL || st->batch == NULL) {
        pf_stop(ctx);
        return rc != 0 ? rc : WEIR_E_NOMEM;
    }
    return 0;
}

/* Writes ff's content to tmp, synced. */
static int pf_write(weir_flow_session *s, weir_env *env, pf_state *st, const weir_flowfile *ff,
                    const char *tmp)
{
    weir_file *f;
    int rc = weir_file_open(env, tmp, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    if (rc != 0) {
        return rc;
    }
    for (uint64_t off = 0; rc == 0 && off < ff->size;) {
        size_t got = 0;
        rc = weir_flow_session_read(s, ff, off, st->chunk, PUT_CHUNK_BYTES, &got);
        if (rc == 0 && got == 0) {
            rc = WEIR_E_CORRUPT;
        }
        if (rc == 0) {
            rc = weir_file_append(env, f, st->chunk, got);
        }
        off += got;
    }
    if (rc == 0) {
        rc = weir_file_sync(env, f);
    }
    weir_file_close(env, f);
    if (rc != 0) {
        weir_ignore(weir_fs_unlink(env, tmp));
    }
    return rc;
}

static int pf_paths(weir_flow_ctx *ctx, pf_state *st, const weir_flowfile *ff, char *dir,
                    char *path, char *tmp)
{
    const char *d;
    size_t dlen;
    int rc = weir_flow_ctx_prop_eval(ctx, st->dir, ff, &d, &dlen);
    if (rc != 0) {
        return rc;
    }
    const char *name = weir_flowfile_attr_get(ff, "filename");
    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0 || dlen == 0 || dlen >= PUT_PATH_MAX) {
        return WEIR_E_INVAL;
    }
    while (dlen > 1 && d[dlen - 1] == '/') {
        dlen--;
    }
    while (dlen > 1 && d[0] == '/') { /* node-relative */
        d++;
        dlen--;
    }
    snprintf(dir, PUT_PATH_MAX, "%.*s", (int)dlen, d);
    int n1 = snprintf(path, PUT_PATH_MAX, "%s/%s", dir, name);
    int n2 = snprintf(tmp, PUT_PATH_MAX, "%s/.%s", dir, name);
    if (n1 >= PUT_PATH_MAX || n2 >= PUT_PATH_MAX || !weir_path_is_valid(path, false)) {
        return WEIR_E_INVAL;
    }
    return 0;
}

/* 0 written; 1 ignored (conflict); < 0 failed. */
static int pf_put(weir_flow_session *s, weir_flow_ctx *ctx, pf_state *st, const weir_flowfile *ff,
                  char *path)
{
    weir_env *env = weir_flow_ctx_env(ctx);
    char dir[PUT_PATH_MAX], tmp[PUT_PATH_MAX];
    int rc = pf_paths(ctx, st, ff, dir, path, tmp);
    if (rc != 0) {
        return rc;
    }
    bool is_dir;
    uint64_t size;
    if (weir_fs_stat(env, dir, &is_dir, &size) != 0) {
        if (!st->mkdirs) {
            return WEIR_E_NOENT;
        }
        rc = weir_fs_mkdirs(env, dir);
        if (rc != 0) {
            return rc;
        }
    }
    if (weir_fs_stat(env, path, &is_dir, &size) == 0) {
        if (st->conflict == CONFLICT_IGNORE) {
            return 1;
        }
        if (st->conflict == CONFLICT_FAIL || is_dir) {
            return WEIR_E_EXIST;
        }
    }
    rc = pf_write(s, env, st, ff, tmp);
    if (rc == 0) {
        rc = weir_fs_rename(env, tmp, path);
    }
    return rc;
}

static int pf_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    pf_state *st = weir_flow_ctx_state(ctx);
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    for (size_t i = 0; i < n; i++) {
        weir_flowfile *ff = st->batch[i];
        char path[PUT_PATH_MAX] = "";
        int rc = pf_put(s, ctx, st, ff, path);
        if (rc < 0) {
            weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: cannot write '%s': %s",
                          weir_flow_ctx_name(ctx), path, weir_err_str(rc));
            weir_flow_session_penalize(s, ff);
            weir_flow_session_transfer(s, ff, REL_FAILURE);
            continue;
        }
        if (rc == 0) {
            char uri[PUT_PATH_MAX + 8];
            snprintf(uri, sizeof uri, "file://%s", path);
            weir_flow_session_send(s, ff, uri);
        }
        weir_flow_session_transfer(s, ff, REL_SUCCESS);
    }
    return 0;
}

const weir_flow_processor_type weir_flow_proc_put_file = {
    .name = "PutFile",
    .description = "Writes content to files in a folder (atomic rename, synced).",
    .relationships = pf_rels,
    .properties = pf_props,
    .on_schedule = pf_schedule,
    .on_trigger = pf_trigger,
    .on_stop = pf_stop,
};
