/* The content repository (see content_repo.h for the contract).
 *
 * Files are kept in an array sorted by id (ids only grow, so a new file goes
 * last); lookups are a binary search behind a one-entry cache, since most
 * references name the active file. The active file's newest bytes sit in
 * one write buffer: `size` counts them, `flushed` does not.
 *
 * Invariants: at most one active file, always the last in the array; a file
 * whose refs is zero and that is not active is counted in `reclaimable`;
 * flushed <= size; in memory mode there is no buffer and no handle.
 */
#include "flow/content_repo.h"
#include "log/segment.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cr_file {
    uint64_t id;
    uint64_t size;    /* bytes claimed in this file (buffered ones included) */
    uint64_t flushed; /* bytes handed to the env */
    uint32_t refs;
    bool active;
    bool dirty;     /* appended to since the last sync */
    bool recovered; /* found at open */
    weir_file *fh;  /* open handle, or NULL */
    uint8_t *mem;   /* memory mode: the chunk */
    uint64_t mem_cap;
} cr_file;

struct weir_content_repo {
    weir_env *env;
    char *dir; /* NULL: memory mode */
    weir_content_repo_config cfg;
    cr_file **files; /* sorted by id */
    size_t file_count;
    size_t file_cap;
    cr_file *active;
    cr_file *last; /* lookup cache */
    uint64_t next_file_id;
    uint8_t *wbuf;
    size_t wlen;
    /* memory mode: the last reclaimed chunk, kept for the next active one
     * (fresh memory costs a page fault per page; reused memory does not) */
    uint8_t *spare;
    uint64_t spare_cap;
    bool recovering;
    uint64_t reclaimable;
    uint64_t refs_total;
    weir_content_repo_stats stats;
};

static void cr_memory_reclaim(weir_content_repo *repo);

void weir_content_repo_config_default(weir_content_repo_config *cfg)
{
    cfg->file_bytes_max = 8u << 20;
    cfg->write_buffer_bytes = 256u << 10;
    cfg->sync = true;
}

static void cr_path(const weir_content_repo *repo, uint64_t id, char *out, size_t size)
{
    snprintf(out, size, "%s/%020" PRIu64 WEIR_CONTENT_FILE_SUFFIX, repo->dir, id);
}

static void cr_name(uint64_t id, char *out, size_t size)
{
    snprintf(out, size, "%020" PRIu64 WEIR_CONTENT_FILE_SUFFIX, id);
}

static cr_file *cr_find(weir_content_repo *repo, uint64_t id)
{
    if (repo->last != NULL && repo->last->id == id) {
        return repo->last;
    }
    size_t lo = 0, hi = repo->file_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (repo->files[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < repo->file_count && repo->files[lo]->id == id) {
        repo->last = repo->files[lo];
        return repo->last;
    }
    return NULL;
}

static int cr_add(weir_content_repo *repo, cr_file *f)
{
    WEIR_ASSERT(repo->file_count == 0 || repo->files[repo->file_count - 1]->id < f->id);
    if (repo->file_count == repo->file_cap) {
        size_t cap = repo->file_cap == 0 ? 16 : repo->file_cap * 2;
        cr_file **files = realloc(repo->files, cap * sizeof *files);
        if (files == NULL) {
            return WEIR_E_NOMEM;
        }
        repo->files = files;
        repo->file_cap = cap;
    }
    repo->files[repo->file_count++] = f;
    repo->stats.files++;
    return 0;
}

static void cr_file_drop(weir_content_repo *repo, size_t index)
{
    cr_file *f = repo->files[index];
    if (f->fh != NULL) {
        weir_file_close(repo->env, f->fh);
    }
    if (f->mem != NULL && f->mem_cap == repo->cfg.file_bytes_max && repo->spare == NULL) {
        repo->spare = f->mem;
        repo->spare_cap = f->mem_cap;
    } else {
        free(f->mem);
    }
    if (repo->last == f) {
        repo->last = NULL;
    }
    memmove(&repo->files[index], &repo->files[index + 1],
            (repo->file_count - index - 1) * sizeof *repo->files);
    repo->file_count--;
    repo->stats.files--;
    free(f);
}

static uint64_t cr_parse_name(const char *name, bool *ok)
{
    int64_t v = weir_segment_parse_name(name, WEIR_CONTENT_FILE_SUFFIX + 1);
    *ok = v > 0;
    return v > 0 ? (uint64_t)v : 0;
}

static bool cr_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cr_scan(weir_content_repo *repo, char *why, size_t why_size)
{
    weir_dirlist list = {0};
    int err = weir_fs_list(repo->env, repo->dir, &list);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot list the folder", repo->dir);
        return err;
    }
    for (size_t i = 0; i < list.count && err == 0; i++) {
        const char *name = list.names[i];
        char path[512];
        snprintf(path, sizeof path, "%s/%s", repo->dir, name);
        if (cr_ends_with(name, WEIR_CONTENT_FILE_SUFFIX ".tmp")) {
            err = weir_fs_unlink(repo->env, path);
            continue;
        }
        if (!cr_ends_with(name, WEIR_CONTENT_FILE_SUFFIX)) {
            continue;
        }
        bool ok;
        uint64_t id = cr_parse_name(name, &ok);
        if (!ok) {
            snprintf(why, why_size, "%s: not a content file name (<20-digit id>%s)", path,
                     WEIR_CONTENT_FILE_SUFFIX);
            err = WEIR_E_CORRUPT;
            break;
        }
        uint64_t size = 0;
        bool is_dir = false;
        err = weir_fs_stat(repo->env, path, &is_dir, &size);
        if (err == 0 && is_dir) {
            snprintf(why, why_size, "%s: a folder where a content file belongs", path);
            err = WEIR_E_CORRUPT;
        }
        if (err != 0) {
            break;
        }
        cr_file *f = calloc(1, sizeof *f);
        if (f == NULL) {
            err = WEIR_E_NOMEM;
            break;
        }
        f->id = id;
        f->size = size;
        f->flushed = size;
        f->recovered = true;
        /* names are sorted and fixed-width, so ids arrive in order */
        err = cr_add(repo, f);
        if (err != 0) {
            free(f);
            break;
        }
        if (id >= repo->next_file_id) {
            repo->next_file_id = id + 1;
        }
    }
    weir_fs_list_free(&list);
    return err;
}

int weir_content_repo_open(weir_env *env, const char *dir, const weir_content_repo_config *cfg,
                           weir_content_repo **out, char *why, size_t why_size)
{
    char ignored[8];
    if (why == NULL) {
        why = ignored;
        why_size = sizeof ignored;
    }
    why[0] = '\0';
    weir_content_repo *repo = calloc(1, sizeof *repo);
    if (repo == NULL) {
        return WEIR_E_NOMEM;
    }
    repo->env = env;
    if (cfg != NULL) {
        repo->cfg = *cfg;
    } else {
        weir_content_repo_config_default(&repo->cfg);
    }
    if (repo->cfg.file_bytes_max == 0) {
        repo->cfg.file_bytes_max = 1;
    }
    repo->next_file_id = 1;
    int err = 0;
    if (dir != NULL) {
        repo->dir = strdup(dir);
        repo->wbuf = malloc(repo->cfg.write_buffer_bytes > 0 ? repo->cfg.write_buffer_bytes : 1);
        if (repo->dir == NULL || repo->wbuf == NULL) {
            err = WEIR_E_NOMEM;
            goto fail;
        }
        err = weir_fs_mkdirs(env, dir);
        if (err != 0) {
            snprintf(why, why_size, "%s: cannot create the folder", dir);
            goto fail;
        }
        err = cr_scan(repo, why, why_size);
        if (err != 0) {
            goto fail;
        }
        repo->recovering = true;
    }
    *out = repo;
    return 0;
fail:
    weir_content_repo_abandon(repo);
    return err;
}

void weir_content_repo_abandon(weir_content_repo *repo)
{
    if (repo == NULL) {
        return;
    }
    while (repo->file_count > 0) {
        cr_file_drop(repo, repo->file_count - 1);
    }
    free(repo->files);
    free(repo->spare);
    free(repo->wbuf);
    free(repo->dir);
    free(repo);
}

/* Hands the write buffer to the env. */
static int cr_flush(weir_content_repo *repo)
{
    if (repo->wlen == 0) {
        return 0;
    }
    cr_file *f = repo->active;
    WEIR_ASSERT(f != NULL && f->fh != NULL);
    int err = weir_file_append(repo->env, f->fh, repo->wbuf, repo->wlen);
    if (err != 0) {
        return err;
    }
    f->flushed += repo->wlen;
    WEIR_ASSERT(f->flushed == f->size);
    repo->wlen = 0;
    return 0;
}

int weir_content_repo_sync(weir_content_repo *repo)
{
    if (repo->dir == NULL) {
        return 0;
    }
    int err = cr_flush(repo);
    if (err != 0) {
        return err;
    }
    for (size_t i = 0; i < repo->file_count; i++) {
        cr_file *f = repo->files[i];
        if (!f->dirty) {
            continue;
        }
        if (repo->cfg.sync) {
            err = weir_file_sync(repo->env, f->fh);
            if (err != 0) {
                return err;
            }
            repo->stats.syncs++;
        }
        f->dirty = false;
        if (!f->active && f->fh != NULL) {
            /* a rolled file is only read from now on: reopened when needed */
            weir_file_close(repo->env, f->fh);
            f->fh = NULL;
        }
    }
    return 0;
}

int weir_content_repo_close(weir_content_repo *repo)
{
    int err = weir_content_repo_sync(repo);
    weir_content_repo_abandon(repo);
    return err;
}

/* The active file stops taking content; unreferenced, it waits for reclaim. */
static int cr_retire_active(weir_content_repo *repo)
{
    cr_file *f = repo->active;
    if (f == NULL) {
        return 0;
    }
    int err = cr_flush(repo);
    if (err != 0) {
        return err;
    }
    f->active = false;
    repo->active = NULL;
    if (f->refs == 0) {
        repo->reclaimable++;
        cr_memory_reclaim(repo);
    }
    return 0;
}

static int cr_new_active(weir_content_repo *repo, uint64_t bytes)
{
    cr_file *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return WEIR_E_NOMEM;
    }
    f->id = repo->next_file_id;
    int err = 0;
    if (repo->dir == NULL) {
        f->mem_cap = bytes > repo->cfg.file_bytes_max ? bytes : repo->cfg.file_bytes_max;
        if (repo->spare != NULL && repo->spare_cap == f->mem_cap) {
            f->mem = repo->spare;
            repo->spare = NULL;
        } else {
            f->mem = malloc(f->mem_cap);
        }
        if (f->mem == NULL) {
            err = WEIR_E_NOMEM;
        }
    } else {
        char path[512];
        cr_path(repo, f->id, path, sizeof path);
        err = weir_file_open(repo->env, path, WEIR_F_CREATE | WEIR_F_TRUNC, &f->fh);
    }
    if (err == 0) {
        err = cr_add(repo, f);
    }
    if (err != 0) {
        if (f->fh != NULL) {
            weir_file_close(repo->env, f->fh);
        }
        free(f->mem);
        free(f);
        return err;
    }
    repo->next_file_id++;
    f->active = true;
    repo->active = f;
    return 0;
}

/* Appends bytes to the active file (through the buffer). */
static int cr_append(weir_content_repo *repo, const void *data, size_t len)
{
    cr_file *f = repo->active;
    if (repo->dir == NULL) {
        memcpy(f->mem + f->size, data, len);
        f->size += len;
        f->flushed = f->size;
        return 0;
    }
    if (repo->wlen + len > repo->cfg.write_buffer_bytes) {
        int err = cr_flush(repo);
        if (err != 0) {
            return err;
        }
    }
    if (len > repo->cfg.write_buffer_bytes) {
        int err = weir_file_append(repo->env, f->fh, data, len);
        if (err != 0) {
            return err;
        }
        f->size += len;
        f->flushed += len;
    } else {
        memcpy(repo->wbuf + repo->wlen, data, len);
        repo->wlen += len;
        f->size += len;
    }
    f->dirty = true;
    return 0;
}

int weir_content_repo_writev(weir_content_repo *repo, const weir_iov *iov, int count,
                             weir_content_claim *claim_out)
{
    uint64_t total = 0;
    for (int i = 0; i < count; i++) {
        total += iov[i].len;
    }
    if (total == 0) {
        *claim_out = (weir_content_claim){0, 0, 0};
        return 0;
    }
    cr_file *f = repo->active;
    bool full = f != NULL &&
                (repo->dir == NULL ? f->size + total > f->mem_cap
                                   : f->size > 0 && f->size + total > repo->cfg.file_bytes_max);
    if (full) {
        int err = cr_retire_active(repo);
        if (err != 0) {
            return err;
        }
        f = NULL;
    }
    if (f == NULL) {
        int err = cr_new_active(repo, total);
        if (err != 0) {
            return err;
        }
        f = repo->active;
    }
    uint64_t start = f->size;
    for (int i = 0; i < count; i++) {
        if (iov[i].len == 0) {
            continue;
        }
        int err = cr_append(repo, iov[i].base, iov[i].len);
        if (err != 0) {
            /* the bytes already appended stay as unclaimed garbage in the
             * file; nothing refers to them */
            return err;
        }
    }
    f->refs++;
    repo->refs_total++;
    repo->stats.claims_written++;
    repo->stats.bytes_written += total;
    *claim_out = (weir_content_claim){f->id, start, total};
    return 0;
}

int weir_content_repo_write(weir_content_repo *repo, const void *data, size_t len,
                            weir_content_claim *claim_out)
{
    weir_iov iov = {data, len};
    return weir_content_repo_writev(repo, &iov, 1, claim_out);
}

int weir_content_repo_read(weir_content_repo *repo, const weir_content_claim *claim,
                           uint64_t offset, void *buf, size_t len)
{
    if (len == 0) {
        return offset <= claim->length ? 0 : WEIR_E_RANGE;
    }
    if (weir_content_claim_is_null(claim) || offset > claim->length ||
        len > claim->length - offset) {
        return WEIR_E_RANGE;
    }
    cr_file *f = cr_find(repo, claim->file_id);
    if (f == NULL) {
        return WEIR_E_NOENT;
    }
    uint64_t pos = claim->offset + offset;
    if (pos + len > f->size) {
        weir_log_error(repo->env,
                       "content %s/%020" PRIu64 "%s: claim at offset %" PRIu64 " length %" PRIu64
                       " past the end %" PRIu64,
                       repo->dir ? repo->dir : "(memory)", f->id, WEIR_CONTENT_FILE_SUFFIX,
                       claim->offset, claim->length, f->size);
        return WEIR_E_CORRUPT;
    }
    if (repo->dir == NULL) {
        memcpy(buf, f->mem + pos, len);
        return 0;
    }
    uint8_t *out = buf;
    size_t from_file =
        pos >= f->flushed ? 0 : (size_t)(f->flushed - pos < len ? f->flushed - pos : len);
    if (from_file > 0) {
        if (f->fh == NULL) {
            char path[512];
            cr_path(repo, f->id, path, sizeof path);
            int err = weir_file_open(repo->env, path, WEIR_F_RDONLY, &f->fh);
            if (err != 0) {
                return err;
            }
        }
        size_t got = 0;
        int err = weir_file_pread(repo->env, f->fh, out, from_file, pos, &got);
        if (err != 0) {
            return err;
        }
        if (got != from_file) {
            weir_log_error(repo->env,
                           "content %s/%020" PRIu64 "%s: offset %" PRIu64
                           ": file ends %zu bytes into a %zu-byte read",
                           repo->dir, f->id, WEIR_CONTENT_FILE_SUFFIX, pos, got, from_file);
            return WEIR_E_CORRUPT;
        }
    }
    if (from_file < len) {
        WEIR_ASSERT(f == repo->active);
        uint64_t at = pos + from_file - f->flushed;
        memcpy(out + from_file, repo->wbuf + at, len - from_file);
    }
    return 0;
}

int weir_content_repo_peek(weir_content_repo *repo, const weir_content_claim *claim,
                           uint64_t offset, size_t len, const uint8_t **data_out)
{
    if (repo->dir != NULL) {
        return WEIR_E_UNSUPPORTED;
    }
    if (offset > claim->length || len > claim->length - offset) {
        return WEIR_E_RANGE;
    }
    if (weir_content_claim_is_null(claim)) {
        *data_out = (const uint8_t *)"";
        return 0;
    }
    cr_file *f = cr_find(repo, claim->file_id);
    if (f == NULL) {
        return WEIR_E_NOENT;
    }
    *data_out = f->mem + claim->offset + offset;
    return 0;
}

void weir_content_repo_incref(weir_content_repo *repo, const weir_content_claim *claim)
{
    if (weir_content_claim_is_null(claim)) {
        return;
    }
    cr_file *f = cr_find(repo, claim->file_id);
    WEIR_ASSERT(f != NULL);
    if (f->refs == 0 && !f->active && !(repo->recovering && f->recovered)) {
        /* back from zero before a reclaim ran (files found at open are not
         * counted as reclaimable until recovery ends) */
        WEIR_ASSERT(repo->reclaimable > 0);
        repo->reclaimable--;
    }
    f->refs++;
    repo->refs_total++;
}

void weir_content_repo_decref(weir_content_repo *repo, const weir_content_claim *claim)
{
    if (weir_content_claim_is_null(claim)) {
        return;
    }
    cr_file *f = cr_find(repo, claim->file_id);
    WEIR_ASSERT(f != NULL);
    WEIR_ASSERT(f->refs > 0);
    f->refs--;
    repo->refs_total--;
    if (f->refs == 0 && !f->active) {
        repo->reclaimable++;
        cr_memory_reclaim(repo);
    }
}

uint32_t weir_content_repo_refs(const weir_content_repo *repo, uint64_t file_id)
{
    cr_file *f = cr_find((weir_content_repo *)repo, file_id);
    return f == NULL ? 0 : f->refs;
}

/* Deletes file index i (unreferenced, not active). */
static int cr_delete(weir_content_repo *repo, size_t i)
{
    cr_file *f = repo->files[i];
    WEIR_ASSERT(f->refs == 0 && !f->active);
    if (f->fh != NULL) {
        weir_file_close(repo->env, f->fh);
        f->fh = NULL;
    }
    if (repo->dir != NULL) {
        char path[512];
        cr_path(repo, f->id, path, sizeof path);
        int err = weir_fs_unlink(repo->env, path);
        if (err != 0 && err != WEIR_E_NOENT) {
            return err;
        }
    }
    repo->stats.files_reclaimed++;
    repo->stats.bytes_reclaimed += f->size;
    cr_file_drop(repo, i);
    return 0;
}

int weir_content_repo_reclaim(weir_content_repo *repo, int *files_out)
{
    if (repo->reclaimable == 0 || repo->recovering) {
        return 0;
    }
    int err = 0;
    for (size_t i = repo->file_count; i-- > 0;) {
        cr_file *f = repo->files[i];
        if (f->refs != 0 || f->active) {
            continue;
        }
        err = cr_delete(repo, i);
        if (err != 0) {
            break;
        }
        repo->reclaimable--;
        if (files_out != NULL) {
            (*files_out)++;
        }
    }
    return err;
}

/* Memory mode: no log has to be synced first, so a chunk nothing refers to
 * goes at once (and becomes the spare). */
static void cr_memory_reclaim(weir_content_repo *repo)
{
    if (repo->dir == NULL) {
        int err = weir_content_repo_reclaim(repo, NULL);
        WEIR_ASSERT(err == 0); /* no I/O in memory mode */
    }
}

int weir_content_repo_ref_recovered(weir_content_repo *repo, const weir_content_claim *claim,
                                    char *why, size_t why_size)
{
    if (weir_content_claim_is_null(claim)) {
        return 0;
    }
    if (!repo->recovering) {
        return WEIR_E_INVAL;
    }
    char name[64];
    cr_name(claim->file_id, name, sizeof name);
    cr_file *f = cr_find(repo, claim->file_id);
    if (f == NULL || !f->recovered) {
        snprintf(why, why_size,
                 "%s/%s: missing (a claim at offset %" PRIu64 " length %" PRIu64 " refers to it)",
                 repo->dir ? repo->dir : "(memory)", name, claim->offset, claim->length);
        return WEIR_E_CORRUPT;
    }
    if (claim->offset > f->size || claim->length > f->size - claim->offset) {
        snprintf(why, why_size,
                 "%s/%s: claim at offset %" PRIu64 " length %" PRIu64 " past the end %" PRIu64,
                 repo->dir, name, claim->offset, claim->length, f->size);
        return WEIR_E_CORRUPT;
    }
    f->refs++;
    repo->refs_total++;
    return 0;
}

int weir_content_repo_recovery_finish(weir_content_repo *repo, int *files_out)
{
    if (files_out != NULL) {
        *files_out = 0;
    }
    if (!repo->recovering) {
        return 0;
    }
    int err = 0;
    for (size_t i = repo->file_count; i-- > 0;) {
        cr_file *f = repo->files[i];
        if (!f->recovered || f->refs != 0) {
            continue;
        }
        err = cr_delete(repo, i);
        if (err != 0) {
            return err;
        }
        if (files_out != NULL) {
            (*files_out)++;
        }
    }
    repo->recovering = false;
    return 0;
}

void weir_content_repo_stats_get(const weir_content_repo *repo, weir_content_repo_stats *out)
{
    *out = repo->stats;
    out->refs = repo->refs_total;
}

const char *weir_content_repo_dir(const weir_content_repo *repo)
{
    return repo->dir;
}
