#include "log/txn_index.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"

#define TXN_INDEX_FILE_MAX ((uint64_t)1 << 30) /* 31 million entries: anything bigger is damage */

void weir_txn_index_entry_encode(uint8_t *out, const weir_aborted_txn *t)
{
    weir_put_be16(out, WEIR_TXN_INDEX_VERSION);
    weir_put_be64(out + 2, (uint64_t)t->producer_id);
    weir_put_be64(out + 10, (uint64_t)t->first_offset);
    weir_put_be64(out + 18, (uint64_t)t->last_offset);
    weir_put_be64(out + 26, (uint64_t)t->last_stable_offset);
}

void weir_txn_index_entry_decode(const uint8_t *in, weir_aborted_txn *t)
{
    t->producer_id = (int64_t)weir_get_be64(in + 2);
    t->first_offset = (int64_t)weir_get_be64(in + 10);
    t->last_offset = (int64_t)weir_get_be64(in + 18);
    t->last_stable_offset = (int64_t)weir_get_be64(in + 26);
}

int weir_txn_index_decode(const uint8_t *buf, size_t len, int64_t min_last_offset,
                          weir_aborted_txn **out, size_t *n_out, const char **why)
{
    static const char *unused;
    const char **reason = why != NULL ? why : &unused;
    *out = NULL;
    *n_out = 0;
    size_t whole = len / WEIR_TXN_INDEX_ENTRY_BYTES;
    weir_aborted_txn *e = whole > 0 ? malloc(whole * sizeof *e) : NULL;
    if (whole > 0 && e == NULL) {
        return WEIR_E_NOMEM;
    }
    size_t n = 0;
    int64_t prev = min_last_offset - 1;
    const char *bad = NULL;
    for (; n < whole; n++) {
        const uint8_t *p = buf + n * WEIR_TXN_INDEX_ENTRY_BYTES;
        weir_txn_index_entry_decode(p, &e[n]);
        if (weir_get_be16(p) != WEIR_TXN_INDEX_VERSION) {
            bad = "entry version is not 0";
        } else if (e[n].producer_id < 0 || e[n].first_offset < 0 ||
                   e[n].first_offset >= e[n].last_offset) {
            /* A transaction has data before its marker: first < last, which
             * also rejects an entry of zeros (a torn write). */
            bad = "entry with a negative producer id or a first offset not before its last";
        } else if (e[n].last_offset <= prev) {
            bad = "last offsets do not increase";
        }
        if (bad != NULL) {
            break;
        }
        prev = e[n].last_offset;
    }
    if (bad == NULL && n * WEIR_TXN_INDEX_ENTRY_BYTES != len) {
        bad = "torn entry at the end (size not a multiple of 34)";
    }
    if (n == 0) {
        free(e);
        e = NULL;
    }
    *out = e;
    *n_out = n;
    if (bad != NULL) {
        *reason = bad;
        return WEIR_E_CORRUPT;
    }
    return 0;
}

static int txn_index_init(weir_env *env, const char *path, weir_txn_index *out)
{
    memset(out, 0, sizeof *out);
    out->env = env;
    out->path = strdup(path);
    return out->path != NULL ? 0 : WEIR_E_NOMEM;
}

/* Reads the whole file into the entries; cuts a damaged tail. */
static int txn_index_load(weir_txn_index *ix, int64_t base, bool *damaged)
{
    uint64_t size;
    int err = weir_file_size(ix->env, ix->file, &size);
    if (err != 0) {
        return err;
    }
    if (size == 0) {
        return 0;
    }
    if (size > TXN_INDEX_FILE_MAX) {
        size = TXN_INDEX_FILE_MAX - TXN_INDEX_FILE_MAX % WEIR_TXN_INDEX_ENTRY_BYTES;
    }
    uint8_t *buf = malloc((size_t)size);
    if (buf == NULL) {
        return WEIR_E_NOMEM;
    }
    size_t got = 0;
    err = weir_file_pread(ix->env, ix->file, buf, (size_t)size, 0, &got);
    const char *why = NULL;
    int derr = 0;
    if (err == 0) {
        derr = weir_txn_index_decode(buf, got, base, &ix->e, &ix->n, &why);
        ix->cap = ix->n;
    }
    free(buf);
    if (err == 0 && derr == WEIR_E_NOMEM) {
        err = derr;
    }
    if (err == 0 && derr != 0) {
        weir_log_warn(ix->env, "%s: %s; keeping the %zu entries before it", ix->path, why, ix->n);
        *damaged = true;
        err = weir_file_truncate(ix->env, ix->file, (uint64_t)ix->n * WEIR_TXN_INDEX_ENTRY_BYTES);
        ix->dirty = true;
    }
    return err;
}

int weir_txn_index_open(weir_env *env, const char *path, int64_t base, weir_txn_index *out,
                        bool *damaged)
{
    bool local;
    bool *dmg = damaged != NULL ? damaged : &local;
    *dmg = false;
    int err = txn_index_init(env, path, out);
    if (err == 0) {
        err = weir_file_open(env, path, 0, &out->file);
        if (err == WEIR_E_NOENT) {
            out->file = NULL; /* no aborted transaction in this segment yet */
            return 0;
        }
    }
    if (err == 0) {
        err = txn_index_load(out, base, dmg);
    }
    if (err != 0) {
        weir_txn_index_close(out);
    }
    return err;
}

int weir_txn_index_create(weir_env *env, const char *path, weir_txn_index *out)
{
    int err = txn_index_init(env, path, out);
    bool is_dir = false;
    uint64_t size = 0;
    if (err == 0 && weir_fs_stat(env, path, &is_dir, &size) == 0) {
        err = weir_fs_unlink(env, path); /* left by a segment deleted half-way */
    }
    if (err != 0) {
        weir_txn_index_close(out);
    }
    return err;
}

void weir_txn_index_close(weir_txn_index *ix)
{
    if (ix->file != NULL) {
        weir_file_close(ix->env, ix->file);
    }
    free(ix->e);
    free(ix->path);
    memset(ix, 0, sizeof *ix);
}

int weir_txn_index_append(weir_txn_index *ix, const weir_aborted_txn *t)
{
    if (ix->n > 0 && t->last_offset <= ix->e[ix->n - 1].last_offset) {
        weir_log_error(
            ix->env, "%s: aborted transaction at %lld is not after the last entry (%lld)", ix->path,
            (long long)t->last_offset, (long long)ix->e[ix->n - 1].last_offset);
        return WEIR_E_INVAL;
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 4;
        weir_aborted_txn *ne = realloc(ix->e, cap * sizeof *ne);
        if (ne == NULL) {
            return WEIR_E_NOMEM;
        }
        ix->e = ne;
        ix->cap = cap;
    }
    int err = 0;
    if (ix->file == NULL) {
        /* First entry: no file yet, or one emptied by a truncation. */
        err = weir_file_open(ix->env, ix->path, WEIR_F_CREATE | WEIR_F_TRUNC, &ix->file);
        if (err != 0) {
            ix->file = NULL;
            return err;
        }
    }
    uint8_t raw[WEIR_TXN_INDEX_ENTRY_BYTES];
    weir_txn_index_entry_encode(raw, t);
    uint64_t at = (uint64_t)ix->n * WEIR_TXN_INDEX_ENTRY_BYTES;
    ix->dirty = true;
    err = weir_file_pwrite(ix->env, ix->file, raw, sizeof raw, at);
    if (err != 0) {
        weir_ignore(weir_file_truncate(ix->env, ix->file, at));
        return err;
    }
    ix->e[ix->n++] = *t;
    return 0;
}

int weir_txn_index_truncate(weir_txn_index *ix, int64_t offset)
{
    size_t keep = ix->n;
    while (keep > 0 && ix->e[keep - 1].last_offset >= offset) {
        keep--;
    }
    if (keep == ix->n) {
        return 0;
    }
    WEIR_ASSERT(ix->file != NULL);
    int err = weir_file_truncate(ix->env, ix->file, (uint64_t)keep * WEIR_TXN_INDEX_ENTRY_BYTES);
    if (err == 0) {
        ix->n = keep;
        ix->dirty = true;
    }
    return err;
}

int weir_txn_index_sync(weir_txn_index *ix)
{
    if (ix->file == NULL || !ix->dirty) {
        return 0;
    }
    int err = weir_file_sync(ix->env, ix->file);
    if (err == 0) {
        ix->dirty = false;
    }
    return err;
}

int weir_txn_index_collect(const weir_txn_index *ix, int64_t fetch_offset, int64_t upper_bound,
                           weir_aborted_txn **out, size_t *n, size_t *cap, bool *complete)
{
    *complete = false;
    for (size_t i = 0; i < ix->n; i++) {
        const weir_aborted_txn *t = &ix->e[i];
        if (t->last_offset >= fetch_offset && t->first_offset < upper_bound) {
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;
                weir_aborted_txn *no = realloc(*out, ncap * sizeof *no);
                if (no == NULL) {
                    return WEIR_E_NOMEM;
                }
                *out = no;
                *cap = ncap;
            }
            (*out)[(*n)++] = *t;
        }
        if (t->last_stable_offset >= upper_bound) {
            *complete = true;
            return 0;
        }
    }
    return 0;
}
