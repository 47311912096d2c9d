/* The simulated disk: an in-memory file system per host that outlives the
 * node's crashes.
 *
 * Each file keeps two images: `cur`, what reads see, and `dur`, what a crash
 * leaves. weir_file_sync copies the bytes changed since the last sync (from
 * dirty_lo on) into `dur`; a crash copies `dur` back over `cur`. So synced
 * data always survives and unsynced data never does. Namespace operations
 * (create, rename, unlink, mkdir, rmdir) are durable at once, as on a file
 * system that journals metadata synchronously.
 *
 * An image stores only its bytes up to `fill`; from there to `len` it reads
 * as zeros, so preallocated space (index files are sized up front) costs no
 * memory and no copying until something is written there.
 *
 * Once the incarnation is dead (crashed, or the run is over) its handles
 * only read and close: writes, syncs and truncates fail with WEIR_E_IO, so
 * nothing its destroy tries reaches the disk the next incarnation recovers
 * from (a crash has already reset that disk before destroy runs).
 *
 * Invariants: entries are sorted by path (so folder lists come out sorted and
 * lookups are binary searches); bytes_used is the sum of every live file's
 * cur.len; fill <= len and fill <= cap in both images.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef struct sf_bytes {
    uint8_t *data;
    size_t len;  /* the file's size */
    size_t fill; /* bytes held in data; [fill, len) are zeros */
    size_t cap;
} sf_bytes;

typedef struct sf_entry {
    char *path;
    bool is_dir;
    bool unlinked; /* removed from the namespace, still open */
    int open_count;
    size_t dirty_lo; /* lowest offset changed since the last sync; SIZE_MAX if clean */
    sf_bytes cur;
    sf_bytes dur;
} sf_entry;

struct sim_fs {
    sf_entry **entries;
    size_t count;
    size_t cap;
    uint64_t bytes_max;
    uint64_t bytes_used;
};

struct weir_file {
    sim_inc *inc;
    sf_entry *e;
    weir_file *next;
    bool rdonly;
};

/* ---- bytes ---- */

static void sf_bytes_reserve(sf_bytes *b, size_t need)
{
    if (need <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    WEIR_ASSERT(data != NULL);
    b->data = data;
    b->cap = cap;
}

/* Writes n bytes at off (src NULL: zeros), growing len to off + n. Zeros
 * past fill are not stored; a gap between fill and off is zeroed. */
static void sf_store(sf_bytes *b, size_t off, const void *src, size_t n)
{
    size_t end = off + n;
    if (end > b->len) {
        b->len = end;
    }
    if (src == NULL) {
        if (off < b->fill) {
            size_t to = end < b->fill ? end : b->fill;
            memset(b->data + off, 0, to - off);
        }
        return;
    }
    if (n == 0) {
        return;
    }
    sf_bytes_reserve(b, end);
    if (off > b->fill) {
        memset(b->data + b->fill, 0, off - b->fill);
    }
    memcpy(b->data + off, src, n);
    if (end > b->fill) {
        b->fill = end;
    }
}

/* Reads n bytes at off, which must lie within len. */
static void sf_load(const sf_bytes *b, size_t off, void *dst, size_t n)
{
    size_t held = off < b->fill ? b->fill - off : 0;
    if (held > n) {
        held = n;
    }
    if (held > 0) {
        memcpy(dst, b->data + off, held);
    }
    if (n > held) {
        memset((uint8_t *)dst + held, 0, n - held);
    }
}

/* Sets the size; bytes past a shrunk size are gone, a grown one reads zeros. */
static void sf_set_len(sf_bytes *b, size_t len)
{
    b->len = len;
    if (b->fill > len) {
        b->fill = len;
    }
}

/* Copies src's bytes [lo, hi) over dst's at the same offsets. */
static void sf_copy_range(sf_bytes *dst, const sf_bytes *src, size_t lo, size_t hi)
{
    size_t held = hi < src->fill ? hi : src->fill;
    if (held > lo) {
        sf_store(dst, lo, src->data + lo, held - lo);
        lo = held;
    }
    if (hi > lo) {
        sf_store(dst, lo, NULL, hi - lo);
    }
}

static void sf_entry_free(sf_entry *e)
{
    free(e->path);
    free(e->cur.data);
    free(e->dur.data);
    free(e);
}

/* ---- namespace ---- */

sim_fs *sim_fs_new(uint64_t bytes_max)
{
    sim_fs *fs = calloc(1, sizeof *fs);
    WEIR_ASSERT(fs != NULL);
    fs->bytes_max = bytes_max;
    return fs;
}

void sim_fs_free(sim_fs *fs)
{
    for (size_t i = 0; i < fs->count; i++) {
        sf_entry_free(fs->entries[i]);
    }
    free(fs->entries);
    free(fs);
}

/* Index of path, or of where it would be inserted (with *found false). */
static size_t sf_find(const sim_fs *fs, const char *path, bool *found)
{
    size_t lo = 0, hi = fs->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(fs->entries[mid]->path, path);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static sf_entry *sf_get(const sim_fs *fs, const char *path)
{
    bool found;
    size_t i = sf_find(fs, path, &found);
    return found ? fs->entries[i] : NULL;
}

/* The entries below folder dir (dir_len bytes; paths "dir/..."), which sort
 * together: [*lo_out, *hi_out). */
static void sf_below(const sim_fs *fs, const char *dir, size_t dir_len, size_t *lo_out,
                     size_t *hi_out)
{
    size_t lo = 0, hi = fs->count;
    while (lo < hi) { /* the first path >= "dir/" */
        size_t mid = lo + (hi - lo) / 2;
        const char *p = fs->entries[mid]->path;
        int cmp = strncmp(p, dir, dir_len);
        if (cmp < 0 || (cmp == 0 && (uint8_t)p[dir_len] < '/')) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (hi = lo; hi < fs->count; hi++) {
        const char *p = fs->entries[hi]->path;
        if (strncmp(p, dir, dir_len) != 0 || p[dir_len] != '/') {
            break;
        }
    }
    *lo_out = lo;
    *hi_out = hi;
}

static void sf_insert(sim_fs *fs, sf_entry *e)
{
    bool found;
    size_t i = sf_find(fs, e->path, &found);
    WEIR_ASSERT(!found);
    if (fs->count == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 32;
        sf_entry **entries = realloc(fs->entries, cap * sizeof *entries);
        WEIR_ASSERT(entries != NULL);
        fs->entries = entries;
        fs->cap = cap;
    }
    memmove(fs->entries + i + 1, fs->entries + i, (fs->count - i) * sizeof *fs->entries);
    fs->entries[i] = e;
    fs->count++;
}

/* Takes the entry out of the namespace; frees it unless a handle holds it. */
static void sf_remove(sim_fs *fs, sf_entry *e)
{
    bool found;
    size_t i = sf_find(fs, e->path, &found);
    WEIR_ASSERT(found && fs->entries[i] == e);
    memmove(fs->entries + i, fs->entries + i + 1, (fs->count - i - 1) * sizeof *fs->entries);
    fs->count--;
    if (e->open_count > 0) {
        e->unlinked = true;
        return;
    }
    fs->bytes_used -= e->cur.len;
    sf_entry_free(e);
}

/* 0 if the folder holding path exists (the root always does). */
static int sf_parent_check(const sim_fs *fs, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return 0;
    }
    char parent[512];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof parent) {
        return WEIR_E_INVAL;
    }
    memcpy(parent, path, n);
    parent[n] = '\0';
    const sf_entry *p = sf_get(fs, parent);
    if (p == NULL) {
        return WEIR_E_NOENT;
    }
    return p->is_dir ? 0 : WEIR_E_NOTDIR;
}

static bool sf_has_children(const sim_fs *fs, const char *dir)
{
    size_t lo, hi;
    sf_below(fs, dir, strlen(dir), &lo, &hi);
    return lo < hi;
}

static sf_entry *sf_entry_new(const char *path, bool is_dir)
{
    sf_entry *e = calloc(1, sizeof *e);
    WEIR_ASSERT(e != NULL);
    e->path = strdup(path);
    WEIR_ASSERT(e->path != NULL);
    e->is_dir = is_dir;
    e->dirty_lo = SIZE_MAX;
    return e;
}

static sim_fs *sf_of(weir_env *env)
{
    return sim_inc_of(env)->node->fs;
}

/* ---- crash ---- */

/* Keeps dur plus a random prefix of cur's bytes past dirty_lo (or zeros). */
static void sf_crash_torn(sim_fs *fs, sf_entry *e, weir_prng *torn)
{
    size_t from = e->dirty_lo;
    size_t keep = (size_t)weir_prng_below(torn, (uint64_t)(e->cur.len - from) + 1);
    bool zeros = weir_prng_below(torn, 2) == 0;
    fs->bytes_used -= e->cur.len;
    /* cur[0, from) already equals dur; the torn part overwrites or extends it. */
    if (zeros && keep > 0) {
        sf_store(&e->cur, from, NULL, keep);
    }
    size_t len = e->dur.len > from + keep ? e->dur.len : from + keep;
    if (e->dur.len > from + keep) {
        sf_copy_range(&e->cur, &e->dur, from + keep, e->dur.len);
    }
    sf_set_len(&e->cur, len);
    fs->bytes_used += e->cur.len;
    /* What survived is on disk now. */
    sf_set_len(&e->dur, 0);
    sf_copy_range(&e->dur, &e->cur, 0, len);
    e->dirty_lo = SIZE_MAX;
}

void sim_fs_crash(sim_fs *fs, weir_prng *torn)
{
    for (size_t i = 0; i < fs->count; i++) {
        sf_entry *e = fs->entries[i];
        if (e->is_dir) {
            continue;
        }
        if (torn != NULL && e->dirty_lo != SIZE_MAX && e->dirty_lo <= e->dur.len &&
            e->cur.len > e->dirty_lo && e->cur.len >= e->dur.len) {
            sf_crash_torn(fs, e, torn);
            continue;
        }
        fs->bytes_used -= e->cur.len;
        sf_set_len(&e->cur, 0);
        sf_copy_range(&e->cur, &e->dur, 0, e->dur.len);
        e->dirty_lo = SIZE_MAX;
        fs->bytes_used += e->cur.len;
    }
}

static bool sf_affixed(const char *path, const char *prefix, const char *suffix)
{
    size_t n = strlen(path), ns = strlen(suffix);
    return strncmp(path, prefix, strlen(prefix)) == 0 && n >= ns && strcmp(path + n - ns, suffix) == 0;
}

int sim_fs_bit_flip(sim_fs *fs, weir_prng *prng, const char *prefix, const char *suffix, char *what,
                    size_t what_size)
{
    size_t candidates = 0;
    for (size_t i = 0; i < fs->count; i++) {
        const sf_entry *e = fs->entries[i];
        candidates += !e->is_dir && e->dur.len > 0 && sf_affixed(e->path, prefix, suffix);
    }
    if (candidates == 0) {
        return WEIR_E_NOENT;
    }
    size_t pick = (size_t)weir_prng_below(prng, candidates);
    for (size_t i = 0; i < fs->count; i++) {
        sf_entry *e = fs->entries[i];
        if (e->is_dir || e->dur.len == 0 || !sf_affixed(e->path, prefix, suffix) || pick-- > 0) {
            continue;
        }
        size_t at = (size_t)weir_prng_below(prng, e->dur.len);
        int bit = (int)weir_prng_below(prng, 8);
        uint8_t byte;
        sf_load(&e->dur, at, &byte, 1);
        byte ^= (uint8_t)(1u << bit);
        sf_store(&e->dur, at, &byte, 1);
        if (at < e->cur.len) {
            sf_load(&e->cur, at, &byte, 1);
            byte ^= (uint8_t)(1u << bit);
            sf_store(&e->cur, at, &byte, 1); /* the page cache reads the disk's byte */
        }
        if (what != NULL) {
            snprintf(what, what_size, "%s @ %zu bit %d", e->path, at, bit);
        }
        return 0;
    }
    WEIR_ASSERT(!"unreachable");
    return WEIR_E_NOENT;
}

/* ---- files ---- */

int sim_fs_open(weir_env *env, const char *path, int flags, weir_file **out)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(path, false) ||
        ((flags & WEIR_F_RDONLY) && (flags & (WEIR_F_CREATE | WEIR_F_TRUNC)))) {
        return WEIR_E_INVAL;
    }
    sf_entry *e = sf_get(fs, path);
    if (e != NULL && (flags & WEIR_F_CREATE) && (flags & WEIR_F_EXCL)) {
        return WEIR_E_EXIST;
    }
    if (e != NULL && e->is_dir) {
        return WEIR_E_ISDIR;
    }
    if (e == NULL) {
        if (!(flags & WEIR_F_CREATE)) {
            return WEIR_E_NOENT;
        }
        int rc = sf_parent_check(fs, path);
        if (rc != 0) {
            return rc;
        }
        e = sf_entry_new(path, false);
        sf_insert(fs, e);
    }
    if ((flags & WEIR_F_TRUNC) && e->cur.len > 0) {
        fs->bytes_used -= e->cur.len;
        sf_set_len(&e->cur, 0);
        e->dirty_lo = 0;
    }
    weir_file *f = calloc(1, sizeof *f);
    WEIR_ASSERT(f != NULL);
    sim_inc *inc = sim_inc_of(env);
    f->inc = inc;
    f->e = e;
    f->rdonly = (flags & WEIR_F_RDONLY) != 0;
    e->open_count++;
    f->next = inc->files;
    inc->files = f;
    *out = f;
    return 0;
}

static void sf_charge(sim_inc *inc, size_t len, bool write)
{
    double bps = write ? inc->node->faults.disk_write_bps : inc->node->faults.disk_read_bps;
    if (bps > 0 && len > 0) {
        sim_charge_ns((int64_t)((double)len / bps * 1e9));
    }
}

int sim_fs_pread(weir_file *f, void *buf, size_t len, uint64_t offset, size_t *got_out)
{
    const sf_bytes *b = &f->e->cur;
    size_t got = 0;
    if (offset < b->len) {
        got = b->len - (size_t)offset;
        if (got > len) {
            got = len;
        }
        sf_load(b, (size_t)offset, buf, got);
    }
    *got_out = got;
    sf_charge(f->inc, got, false);
    return 0;
}

/* 0 if f may change: WEIR_E_IO once its incarnation is dead (checked before
 * any disk time is charged: destroy runs where SimGrid may not be called),
 * WEIR_E_INVAL if read-only. */
static int sf_writable(const weir_file *f)
{
    if (f->inc->dead) {
        return WEIR_E_IO;
    }
    return f->rdonly ? WEIR_E_INVAL : 0;
}

int sim_fs_pwrite(weir_file *f, const void *buf, size_t len, uint64_t offset)
{
    int rc = sf_writable(f);
    if (rc != 0) {
        return rc;
    }
    sf_entry *e = f->e;
    sim_fs *fs = f->inc->node->fs;
    size_t end = (size_t)offset + len;
    if (end > e->cur.len) {
        uint64_t grow = end - e->cur.len;
        if (f->inc->node->faults.disk_full ||
            (fs->bytes_max != 0 && fs->bytes_used + grow > fs->bytes_max)) {
            return WEIR_E_NOSPC;
        }
        fs->bytes_used += grow;
    }
    sf_store(&e->cur, (size_t)offset, len > 0 ? buf : NULL, len);
    size_t lo = (size_t)offset;
    if (lo < e->dirty_lo) {
        e->dirty_lo = lo;
    }
    sf_charge(f->inc, len, true);
    return 0;
}

int sim_fs_append(weir_file *f, const void *buf, size_t len)
{
    return sim_fs_pwrite(f, buf, len, f->e->cur.len);
}

int sim_fs_sync(weir_file *f)
{
    int rc = sf_writable(f);
    if (rc != 0) {
        return rc;
    }
    sf_entry *e = f->e;
    if (f->inc->node->faults.fsync_eio) {
        sim_charge_ns(f->inc->node->faults.disk_sync_ns);
        return WEIR_E_IO; /* nothing became durable */
    }
    if (e->dirty_lo != SIZE_MAX || e->dur.len != e->cur.len) {
        size_t lo = e->dirty_lo < e->cur.len ? e->dirty_lo : e->cur.len;
        if (lo > e->dur.len) {
            lo = e->dur.len; /* bytes between dur.len and lo are new too */
        }
        sf_set_len(&e->dur, lo);
        sf_copy_range(&e->dur, &e->cur, lo, e->cur.len);
        e->dirty_lo = SIZE_MAX;
    }
    sim_charge_ns(f->inc->node->faults.disk_sync_ns);
    return 0;
}

int sim_fs_truncate(weir_file *f, uint64_t size)
{
    int rc = sf_writable(f);
    if (rc != 0) {
        return rc;
    }
    sf_entry *e = f->e;
    if (size >= e->cur.len) {
        return size == e->cur.len ? 0 : sim_fs_pwrite(f, "", 0, size);
    }
    f->inc->node->fs->bytes_used -= e->cur.len - size;
    sf_set_len(&e->cur, (size_t)size);
    if ((size_t)size < e->dirty_lo) {
        e->dirty_lo = (size_t)size;
    }
    return 0;
}

int sim_fs_size(weir_file *f, uint64_t *size_out)
{
    *size_out = f->e->cur.len;
    return 0;
}

void sim_fs_close(weir_file *f)
{
    sim_inc *inc = f->inc;
    for (weir_file **p = &inc->files; *p != NULL; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    sf_entry *e = f->e;
    WEIR_ASSERT(e->open_count > 0);
    if (--e->open_count == 0 && e->unlinked) {
        inc->node->fs->bytes_used -= e->cur.len;
        sf_entry_free(e);
    }
    free(f);
}

void sim_fs_close_all(sim_inc *inc)
{
    while (inc->files != NULL) {
        sim_fs_close(inc->files);
    }
}

/* ---- folders and names ---- */

int sim_fs_mkdir(weir_env *env, const char *path)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(path, false)) {
        return WEIR_E_INVAL;
    }
    if (sf_get(fs, path) != NULL) {
        return WEIR_E_EXIST;
    }
    int rc = sf_parent_check(fs, path);
    if (rc != 0) {
        return rc;
    }
    sf_insert(fs, sf_entry_new(path, true));
    return 0;
}

int sim_fs_rmdir(weir_env *env, const char *path)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(path, false)) {
        return WEIR_E_INVAL;
    }
    sf_entry *e = sf_get(fs, path);
    if (e == NULL) {
        return WEIR_E_NOENT;
    }
    if (!e->is_dir) {
        return WEIR_E_NOTDIR;
    }
    if (sf_has_children(fs, path)) {
        return WEIR_E_NOTEMPTY;
    }
    sf_remove(fs, e);
    return 0;
}

int sim_fs_unlink(weir_env *env, const char *path)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(path, false)) {
        return WEIR_E_INVAL;
    }
    sf_entry *e = sf_get(fs, path);
    if (e == NULL) {
        return WEIR_E_NOENT;
    }
    if (e->is_dir) {
        return WEIR_E_ISDIR;
    }
    sf_remove(fs, e);
    return 0;
}

/* Gives e the path `to` followed by what its path has past its first
 * from_len bytes. */
static void sf_repath(sf_entry *e, size_t from_len, const char *to)
{
    size_t n = strlen(to) + strlen(e->path + from_len) + 1;
    char *path = malloc(n);
    WEIR_ASSERT(path != NULL);
    snprintf(path, n, "%s%s", to, e->path + from_len);
    free(e->path);
    e->path = path;
}

/* Renames entries[at] to `to` and, for a folder, everything below it. The
 * moved entries leave the sorted array and go back in at their new places:
 * the order is the sorted one, as a full re-sort would give, but a file's
 * rename costs two binary searches and two moves of the array's tail
 * rather than a sort of every entry (a flow writing thousands of files). */
static void sf_rename_tree(sim_fs *fs, size_t at, const char *to)
{
    sf_entry *root = fs->entries[at];
    size_t from_len = strlen(root->path);
    sf_entry **moved = &root;
    size_t moved_count = 1;
    if (root->is_dir) {
        size_t lo, hi;
        sf_below(fs, root->path, from_len, &lo, &hi);
        moved_count = 1 + (hi - lo);
        moved = malloc(moved_count * sizeof *moved);
        WEIR_ASSERT(moved != NULL);
        moved[0] = root;
        memcpy(moved + 1, fs->entries + lo, (hi - lo) * sizeof *moved);
        WEIR_ASSERT(at < lo); /* "from" sorts before "from/" */
        memmove(fs->entries + lo, fs->entries + hi, (fs->count - hi) * sizeof *fs->entries);
        fs->count -= hi - lo;
    }
    memmove(fs->entries + at, fs->entries + at + 1, (fs->count - at - 1) * sizeof *fs->entries);
    fs->count--;
    for (size_t i = 0; i < moved_count; i++) {
        sf_repath(moved[i], from_len, to);
        sf_insert(fs, moved[i]);
    }
    if (moved != &root) {
        free(moved);
    }
}

int sim_fs_rename(weir_env *env, const char *from, const char *to)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(from, false) || !weir_path_is_valid(to, false)) {
        return WEIR_E_INVAL;
    }
    sf_entry *src = sf_get(fs, from);
    if (src == NULL) {
        return WEIR_E_NOENT;
    }
    int rc = sf_parent_check(fs, to);
    if (rc != 0) {
        return rc;
    }
    size_t from_len = strlen(from);
    if (src->is_dir && strncmp(to, from, from_len) == 0 && to[from_len] == '/') {
        return WEIR_E_INVAL; /* into itself */
    }
    sf_entry *dst = sf_get(fs, to);
    if (dst == src) {
        return 0;
    }
    if (dst != NULL) {
        if (dst->is_dir != src->is_dir) {
            return dst->is_dir ? WEIR_E_ISDIR : WEIR_E_NOTDIR;
        }
        if (dst->is_dir && sf_has_children(fs, to)) {
            return WEIR_E_NOTEMPTY;
        }
        sf_remove(fs, dst);
    }
    bool found;
    size_t at = sf_find(fs, from, &found);
    WEIR_ASSERT(found && fs->entries[at] == src);
    sf_rename_tree(fs, at, to);
    return 0;
}

int sim_fs_list(weir_env *env, const char *dir, weir_dirlist *out)
{
    sim_fs *fs = sf_of(env);
    out->names = NULL;
    out->count = 0;
    if (!weir_path_is_valid(dir, true)) {
        return WEIR_E_INVAL;
    }
    size_t n = strlen(dir);
    if (n > 0) {
        const sf_entry *d = sf_get(fs, dir);
        if (d == NULL) {
            return WEIR_E_NOENT;
        }
        if (!d->is_dir) {
            return WEIR_E_NOTDIR;
        }
    }
    size_t cap = 0;
    size_t lo = 0, hi = fs->count;
    if (n > 0) {
        sf_below(fs, dir, n, &lo, &hi);
    }
    for (size_t i = lo; i < hi; i++) {
        const char *p = fs->entries[i]->path;
        const char *name = n > 0 ? p + n + 1 : p;
        if (strchr(name, '/') != NULL) {
            continue;
        }
        if (out->count == cap) {
            cap = cap ? cap * 2 : 16;
            char **names = realloc(out->names, cap * sizeof *names);
            WEIR_ASSERT(names != NULL);
            out->names = names;
        }
        out->names[out->count] = strdup(name);
        WEIR_ASSERT(out->names[out->count] != NULL);
        out->count++;
    }
    return 0;
}

int sim_fs_stat(weir_env *env, const char *path, bool *is_dir_out, uint64_t *size_out)
{
    sim_fs *fs = sf_of(env);
    if (!weir_path_is_valid(path, true)) {
        return WEIR_E_INVAL;
    }
    if (path[0] == '\0') {
        *is_dir_out = true;
        *size_out = 0;
        return 0;
    }
    const sf_entry *e = sf_get(fs, path);
    if (e == NULL) {
        return WEIR_E_NOENT;
    }
    *is_dir_out = e->is_dir;
    *size_out = e->is_dir ? 0 : e->cur.len;
    return 0;
}
