/* The provenance repository (see provenance.h for the contract and format;
 * provenance_codec.c encodes and decodes the records).
 *
 * Segments (files, or chunks in memory mode) are kept oldest first; the last
 * is the active one. In file mode new events are encoded into one buffer and
 * reach the active segment at a flush, a roll, or when the buffer fills; a
 * scan reads every segment and then the buffer, so queries see buffered
 * events too. In memory mode events are encoded straight into the active
 * segment's memory, which is sized for a whole segment when it starts (pages
 * are only touched as events arrive); the memory of a segment dropped by
 * retention is kept for the next one.
 *
 * Invariants: segment first ids increase; the active segment's first id <=
 * next_id; counts[t] = the active segment's base count + its events of type
 * t (written or buffered); total_bytes = the sum of segment sizes; the
 * writer's dictionary and last time describe the active segment plus the
 * buffer.
 */
#include "flow/provenance.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "flow/provenance_codec.h"
#include "log/segment.h"

#define PV_SUFFIX ".prov"

static const char *const pv_names[WEIR_PROV_TYPE_COUNT] = {
    "CREATE",
    "RECEIVE",
    "SEND",
    "FORK",
    "JOIN",
    "CLONE",
    "CONTENT_MODIFIED",
    "ATTRIBUTES_MODIFIED",
    "ROUTE",
    "DROP",
    "EXPIRE",
};

const char *weir_prov_type_name(weir_prov_type type)
{
    if ((int)type < 0 || type >= WEIR_PROV_TYPE_COUNT) {
        return "?";
    }
    return pv_names[type];
}

int weir_prov_type_parse(const char *name, weir_prov_type *out)
{
    for (int i = 0; i < WEIR_PROV_TYPE_COUNT; i++) {
        if (strcmp(name, pv_names[i]) == 0) {
            *out = (weir_prov_type)i;
            return 0;
        }
    }
    return WEIR_E_INVAL;
}

void weir_prov_config_default(weir_prov_config *cfg)
{
    cfg->file_bytes_max = 16u << 20;
    cfg->storage_bytes_max = 1ull << 30;
    cfg->buffer_bytes = 256u << 10;
    cfg->sync = false;
}

typedef struct pv_seg {
    uint64_t first_id;
    uint64_t bytes; /* header included, buffered events not */
    uint64_t base[WEIR_PROV_TYPE_COUNT];
    uint8_t *mem; /* memory mode: the segment's bytes */
    size_t mem_cap;
} pv_seg;

struct weir_prov_repo {
    weir_env *env;
    char *dir; /* NULL: memory mode */
    weir_prov_config cfg;
    pv_seg *segs;
    size_t seg_count;
    size_t seg_cap;
    weir_file *active; /* file mode: the last segment, open for appending */
    uint8_t *buf;      /* file mode: encoded events not yet in the active segment */
    size_t len;
    size_t cap;
    uint8_t *spare; /* memory mode: a retired segment's memory, for the next one */
    size_t spare_cap;
    uint64_t next_id;
    uint64_t counts[WEIR_PROV_TYPE_COUNT];
    uint64_t total_bytes;
    int64_t last_time_ms; /* of the active segment's last event; 0 before the first */
    pv_dict dict;
    pv_name *names; /* handle h is names[h - 1] */
    uint32_t name_count;
    uint32_t name_cap;
    uint32_t *name_table;  /* content hash -> handle; 0: empty */
    size_t name_table_cap; /* a power of two, >= 2 * name_count */
};

/* ---- names ---- */

static void pv_path(const weir_prov_repo *repo, uint64_t first_id, char *out, size_t size)
{
    snprintf(out, size, "%s/%020" PRIu64 PV_SUFFIX, repo->dir, first_id);
}

static uint64_t pv_parse_name(const char *name)
{
    int64_t v = weir_segment_parse_name(name, PV_SUFFIX + 1);
    return v < 0 ? 0 : (uint64_t)v;
}

static int pv_seg_push(weir_prov_repo *repo, const pv_seg *seg)
{
    if (repo->seg_count == repo->seg_cap) {
        size_t cap = repo->seg_cap == 0 ? 8 : repo->seg_cap * 2;
        pv_seg *segs = realloc(repo->segs, cap * sizeof *segs);
        if (segs == NULL) {
            return WEIR_E_NOMEM;
        }
        repo->segs = segs;
        repo->seg_cap = cap;
    }
    repo->segs[repo->seg_count++] = *seg;
    repo->total_bytes += seg->bytes;
    return 0;
}

/* ---- reading segments ---- */

static int pv_slurp(weir_env *env, const char *path, uint8_t **out, size_t *len_out)
{
    weir_file *f;
    int err = weir_file_open(env, path, WEIR_F_RDONLY, &f);
    if (err != 0) {
        return err;
    }
    uint64_t size = 0;
    err = weir_file_size(env, f, &size);
    uint8_t *buf = NULL;
    size_t got = 0;
    if (err == 0 && (buf = malloc(size > 0 ? (size_t)size : 1)) == NULL) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0 && size > 0) {
        err = weir_file_pread(env, f, buf, (size_t)size, 0, &got);
    }
    weir_file_close(env, f);
    if (err != 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *len_out = got;
    return 0;
}

/* Every stored event, oldest first, through fn. The buffer continues the
 * last segment, so that segment's bytes stay until the buffer is read. */
static int pv_scan_raw(weir_prov_repo *repo, pv_raw_fn fn, void *arg)
{
    pv_dec *d = malloc(sizeof *d);
    if (d == NULL) {
        return WEIR_E_NOMEM;
    }
    pv_dec_start(d, repo->next_id);
    int rc = 0;
    uint8_t *owned = NULL;
    for (size_t i = 0; i < repo->seg_count && rc == 0; i++) {
        pv_seg *seg = &repo->segs[i];
        uint8_t *bytes = seg->mem;
        size_t len = (size_t)seg->bytes;
        char path[512] = "(memory)";
        free(owned);
        owned = NULL;
        if (repo->dir != NULL) {
            pv_path(repo, seg->first_id, path, sizeof path);
            rc = pv_slurp(repo->env, path, &owned, &len);
            if (rc != 0) {
                weir_log_error(repo->env, "provenance %s: cannot read: %s", path, weir_err_str(rc));
                break;
            }
            bytes = owned;
            if (len > seg->bytes) {
                len = (size_t)seg->bytes; /* appended after our count: not ours yet */
            }
        }
        pv_dec_start(d, seg->first_id);
        size_t off = 0;
        const char *bad = NULL;
        if (len < PV_HEADER_BYTES) {
            bad = "torn file header";
        } else {
            rc = pv_walk(bytes, len, PV_HEADER_BYTES, repo->dir != NULL, d, fn, arg, &off, &bad);
        }
        if (rc == 0 && bad != NULL) {
            weir_log_error(repo->env, "provenance %s: offset %zu: %s", path, off, bad);
            rc = WEIR_E_CORRUPT;
        }
    }
    if (rc == 0) {
        size_t off;
        const char *bad;
        rc = pv_walk(repo->buf, repo->len, 0, true, d, fn, arg, &off, &bad);
        WEIR_ASSERT(rc != 0 || bad == NULL); /* we encoded the buffer */
    }
    free(owned);
    free(d);
    return rc;
}

/* ---- opening ---- */

typedef struct pv_count_ctx {
    uint64_t counts[WEIR_PROV_TYPE_COUNT];
    uint64_t events;
} pv_count_ctx;

static int pv_count_fn(const pv_raw *raw, void *arg)
{
    pv_count_ctx *c = arg;
    c->counts[raw->ev.type]++;
    c->events++;
    return 0;
}

/* Reads the last segment whole: counts, next id, the writer's dictionary,
 * torn tail cut. */
static int pv_open_last(weir_prov_repo *repo, weir_prov_recovery *rep, char *why, size_t why_size)
{
    pv_seg *seg = &repo->segs[repo->seg_count - 1];
    char path[512];
    pv_path(repo, seg->first_id, path, sizeof path);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int err = pv_slurp(repo->env, path, &bytes, &len);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot read: %s", path, weir_err_str(err));
        return err;
    }
    const char *bad = pv_header_decode(bytes, len, seg->first_id, seg->base);
    pv_dec *d = bad == NULL ? malloc(sizeof *d) : NULL;
    if (bad != NULL || d == NULL) {
        free(bytes);
        if (bad == NULL) {
            return WEIR_E_NOMEM;
        }
        snprintf(why, why_size, "%s: offset 0: %s", path, bad);
        return WEIR_E_CORRUPT;
    }
    pv_dec_start(d, seg->first_id);
    pv_count_ctx c = {{0}, 0};
    size_t off = 0;
    err = pv_walk(bytes, len, PV_HEADER_BYTES, true, d, pv_count_fn, &c, &off, &bad);
    WEIR_ASSERT(err == 0);
    err = pv_dict_restore(&repo->dict, d);
    repo->last_time_ms = d->time_ms;
    free(d);
    free(bytes);
    if (err != 0) {
        return err;
    }
    err = weir_file_open(repo->env, path, 0, &repo->active);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot open: %s", path, weir_err_str(err));
        return err;
    }
    if (bad != NULL) {
        err = weir_file_truncate(repo->env, repo->active, off);
        if (err == 0) {
            err = weir_file_sync(repo->env, repo->active);
        }
        if (err != 0) {
            snprintf(why, why_size, "%s: cannot cut the torn tail at %zu: %s", path, off,
                     weir_err_str(err));
            return err;
        }
        rep->cut = true;
        snprintf(rep->cut_file, sizeof rep->cut_file, "%020" PRIu64 PV_SUFFIX, seg->first_id);
        rep->cut_offset = off;
        rep->cut_reason = bad;
        weir_log_warn(repo->env, "provenance %s: offset %zu: %s: cut", path, off, bad);
    }
    repo->total_bytes -= seg->bytes;
    seg->bytes = off;
    repo->total_bytes += seg->bytes;
    for (int t = 0; t < WEIR_PROV_TYPE_COUNT; t++) {
        repo->counts[t] = seg->base[t] + c.counts[t];
    }
    repo->next_id = seg->first_id + c.events;
    return 0;
}

static int pv_open_dir(weir_prov_repo *repo, weir_prov_recovery *rep, char *why, size_t why_size)
{
    int err = weir_fs_mkdirs(repo->env, repo->dir);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot create the folder: %s", repo->dir, weir_err_str(err));
        return err;
    }
    weir_dirlist list = {0};
    err = weir_fs_list(repo->env, repo->dir, &list);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot list: %s", repo->dir, weir_err_str(err));
        return err;
    }
    for (size_t i = 0; i < list.count && err == 0; i++) {
        uint64_t first = pv_parse_name(list.names[i]);
        if (first == 0) {
            continue; /* not ours */
        }
        char path[600];
        snprintf(path, sizeof path, "%s/%s", repo->dir, list.names[i]);
        pv_seg seg = {.first_id = first};
        bool is_dir = false;
        err = weir_fs_stat(repo->env, path, &is_dir, &seg.bytes);
        if (err == 0 && is_dir) {
            snprintf(why, why_size, "%s: a folder where a provenance file belongs", path);
            err = WEIR_E_CORRUPT;
        }
        if (err == 0) {
            err = pv_seg_push(repo, &seg);
        }
    }
    weir_fs_list_free(&list);
    if (err != 0) {
        return err;
    }
    /* a newest file without a whole, valid header is a roll the crash tore
     * (the header is synced before any event goes in: nothing is lost) */
    for (int once = 0; once < 1 && repo->seg_count > 0; once++) {
        pv_seg *seg = &repo->segs[repo->seg_count - 1];
        char path[512];
        pv_path(repo, seg->first_id, path, sizeof path);
        if (seg->bytes >= PV_HEADER_BYTES) {
            weir_file *f;
            uint8_t h[PV_HEADER_BYTES];
            size_t got = 0;
            err = weir_file_open(repo->env, path, WEIR_F_RDONLY, &f);
            if (err == 0) {
                err = weir_file_pread(repo->env, f, h, sizeof h, 0, &got);
                weir_file_close(repo->env, f);
            }
            if (err != 0) {
                snprintf(why, why_size, "%s: cannot read: %s", path, weir_err_str(err));
                return err;
            }
            uint64_t base[WEIR_PROV_TYPE_COUNT];
            if (pv_header_decode(h, got, seg->first_id, base) == NULL) {
                break;
            }
        }
        weir_log_warn(repo->env, "provenance %s: offset 0: torn file header: removed", path);
        err = weir_fs_unlink(repo->env, path);
        if (err != 0) {
            snprintf(why, why_size, "%s: cannot remove a torn file: %s", path, weir_err_str(err));
            return err;
        }
        repo->total_bytes -= seg->bytes;
        repo->seg_count--;
        rep->cut = true;
        snprintf(rep->cut_file, sizeof rep->cut_file, "%020" PRIu64 PV_SUFFIX, seg->first_id);
        rep->cut_offset = 0;
        rep->cut_reason = "torn file header";
    }
    if (repo->seg_count > 0) {
        err = pv_open_last(repo, rep, why, why_size);
        /* an older file's header is checked now; its records at query time */
        for (size_t i = 0; err == 0 && i + 1 < repo->seg_count; i++) {
            pv_seg *seg = &repo->segs[i];
            char path[512];
            pv_path(repo, seg->first_id, path, sizeof path);
            weir_file *f;
            uint8_t h[PV_HEADER_BYTES];
            size_t got = 0;
            err = weir_file_open(repo->env, path, WEIR_F_RDONLY, &f);
            if (err == 0) {
                err = weir_file_pread(repo->env, f, h, sizeof h, 0, &got);
                weir_file_close(repo->env, f);
            }
            const char *bad = err == 0 ? pv_header_decode(h, got, seg->first_id, seg->base) : NULL;
            if (bad != NULL) {
                snprintf(why, why_size, "%s: offset 0: %s", path, bad);
                err = WEIR_E_CORRUPT;
            }
        }
        return err;
    }
    return 0;
}

int weir_prov_open(weir_env *env, const char *dir, const weir_prov_config *cfg,
                   weir_prov_recovery *report, weir_prov_repo **out, char *why, size_t why_size)
{
    char ignored[8];
    weir_prov_recovery dummy;
    if (why == NULL) {
        why = ignored;
        why_size = sizeof ignored;
    }
    why[0] = '\0';
    if (report == NULL) {
        report = &dummy;
    }
    *report = (weir_prov_recovery){0};
    weir_prov_repo *repo = calloc(1, sizeof *repo);
    if (repo == NULL) {
        return WEIR_E_NOMEM;
    }
    repo->env = env;
    if (cfg != NULL) {
        repo->cfg = *cfg;
    } else {
        weir_prov_config_default(&repo->cfg);
    }
    if (repo->cfg.buffer_bytes == 0) {
        repo->cfg.buffer_bytes = 1;
    }
    repo->next_id = 1;
    pv_dict_init(&repo->dict);
    int err = 0;
    if (dir != NULL) {
        repo->dir = strdup(dir);
        err = repo->dir == NULL ? WEIR_E_NOMEM : pv_open_dir(repo, report, why, why_size);
    }
    if (err != 0) {
        weir_prov_abandon(repo);
        return err;
    }
    report->files = (int)repo->seg_count;
    report->next_id = repo->next_id;
    report->events = repo->next_id - (repo->seg_count > 0 ? repo->segs[0].first_id : 1);
    *out = repo;
    return 0;
}

void weir_prov_abandon(weir_prov_repo *repo)
{
    if (repo == NULL) {
        return;
    }
    if (repo->active != NULL) {
        weir_file_close(repo->env, repo->active);
    }
    for (size_t i = 0; i < repo->seg_count; i++) {
        free(repo->segs[i].mem);
    }
    free(repo->segs);
    free(repo->buf);
    free(repo->spare);
    free(repo->dir);
    pv_dict_free(&repo->dict);
    for (uint32_t i = 0; i < repo->name_count; i++) {
        free(repo->names[i].s);
    }
    free(repo->names);
    free(repo->name_table);
    free(repo);
}

/* ---- writing ---- */

/* File mode: moves the buffer into the active segment (memory mode encodes
 * into the segment and never buffers). */
static int pv_write_buffer(weir_prov_repo *repo)
{
    if (repo->len == 0) {
        return 0;
    }
    WEIR_ASSERT(repo->seg_count > 0 && repo->dir != NULL);
    pv_seg *seg = &repo->segs[repo->seg_count - 1];
    int err = weir_file_append(repo->env, repo->active, repo->buf, repo->len);
    if (err != 0) {
        /* cut back to whole records so the file stays readable */
        weir_ignore(weir_file_truncate(repo->env, repo->active, seg->bytes));
        return err;
    }
    seg->bytes += repo->len;
    repo->total_bytes += repo->len;
    repo->len = 0;
    return 0;
}

/* Deletes the oldest segments while over storage_bytes_max (never the
 * active one); in memory mode the last one's memory is kept as the spare. */
static int pv_retain(weir_prov_repo *repo)
{
    while (repo->cfg.storage_bytes_max > 0 && repo->seg_count > 1 &&
           repo->total_bytes > repo->cfg.storage_bytes_max) {
        pv_seg *seg = &repo->segs[0];
        if (repo->dir != NULL) {
            char path[512];
            pv_path(repo, seg->first_id, path, sizeof path);
            int err = weir_fs_unlink(repo->env, path);
            if (err != 0 && err != WEIR_E_NOENT) {
                return err;
            }
        }
        repo->total_bytes -= seg->bytes;
        if (seg->mem != NULL && seg->mem_cap > repo->spare_cap) {
            free(repo->spare);
            repo->spare = seg->mem;
            repo->spare_cap = seg->mem_cap;
        } else {
            free(seg->mem);
        }
        memmove(&repo->segs[0], &repo->segs[1], (repo->seg_count - 1) * sizeof *repo->segs);
        repo->seg_count--;
    }
    return 0;
}

/* Memory mode: room for a whole segment (the spare when it is big enough). */
static uint8_t *pv_mem_segment(weir_prov_repo *repo, size_t *cap_out)
{
    size_t cap = repo->cfg.file_bytes_max < 4096 ? 4096 : (size_t)repo->cfg.file_bytes_max;
    if (repo->spare != NULL && repo->spare_cap >= cap) {
        uint8_t *mem = repo->spare;
        *cap_out = repo->spare_cap;
        repo->spare = NULL;
        repo->spare_cap = 0;
        return mem;
    }
    *cap_out = cap;
    return malloc(cap);
}

/* Starts a segment whose first event is next_id; the buffer must be empty. */
static int pv_roll(weir_prov_repo *repo)
{
    WEIR_ASSERT(repo->len == 0);
    pv_seg seg = {.first_id = repo->next_id, .bytes = PV_HEADER_BYTES};
    memcpy(seg.base, repo->counts, sizeof seg.base);
    uint8_t h[PV_HEADER_BYTES];
    pv_header_encode(seg.first_id, seg.base, h);
    int err = 0;
    weir_file *f = NULL;
    if (repo->dir == NULL) {
        seg.mem = pv_mem_segment(repo, &seg.mem_cap);
        if (seg.mem == NULL) {
            return WEIR_E_NOMEM;
        }
        memcpy(seg.mem, h, sizeof h);
    } else {
        char path[512];
        pv_path(repo, seg.first_id, path, sizeof path);
        err = weir_file_open(repo->env, path, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
        if (err == 0) {
            err = weir_file_append(repo->env, f, h, sizeof h);
        }
        if (err == 0) {
            err = weir_file_sync(repo->env, f); /* a file is never without its header */
        }
        if (err == 0 && repo->active != NULL) {
            err = weir_file_sync(repo->env, repo->active); /* older files stay whole */
        }
        if (err != 0) {
            if (f != NULL) {
                weir_file_close(repo->env, f);
                weir_ignore(weir_fs_unlink(repo->env, path));
            }
            return err;
        }
    }
    err = pv_seg_push(repo, &seg);
    if (err != 0) {
        free(seg.mem);
        if (f != NULL) {
            weir_file_close(repo->env, f);
        }
        return err;
    }
    if (repo->dir != NULL) {
        if (repo->active != NULL) {
            weir_file_close(repo->env, repo->active);
        }
        repo->active = f;
    }
    pv_dict_reset(&repo->dict);
    repo->last_time_ms = 0;
    return pv_retain(repo);
}

/* Where the next record of at most need bytes goes: the end of the active
 * memory segment, or the buffer (rolling and writing out first as needed). */
static int pv_room(weir_prov_repo *repo, size_t need, uint8_t **at_out)
{
    pv_seg *active = repo->seg_count > 0 ? &repo->segs[repo->seg_count - 1] : NULL;
    int err = 0;
    if (active == NULL || (active->bytes + repo->len + need > repo->cfg.file_bytes_max &&
                           active->bytes + repo->len > PV_HEADER_BYTES)) {
        err = pv_write_buffer(repo);
        if (err == 0) {
            err = pv_roll(repo);
        }
        active = &repo->segs[repo->seg_count - 1];
    } else if (repo->dir != NULL && repo->len + need > repo->cfg.buffer_bytes) {
        err = pv_write_buffer(repo);
    }
    if (err != 0) {
        return err;
    }
    uint8_t **mem = repo->dir == NULL ? &active->mem : &repo->buf;
    size_t *cap = repo->dir == NULL ? &active->mem_cap : &repo->cap;
    size_t used = repo->dir == NULL ? (size_t)active->bytes : repo->len;
    if (used + need > *cap) {
        size_t n = *cap == 0 ? 4096 : *cap;
        while (n < used + need) {
            n *= 2;
        }
        uint8_t *grown = realloc(*mem, n);
        if (grown == NULL) {
            return WEIR_E_NOMEM;
        }
        *mem = grown;
        *cap = n;
    }
    *at_out = *mem + used;
    return 0;
}

static int pv_record(weir_prov_repo *repo, const weir_prov_event *ev, const pv_fields *f,
                     uint64_t *id_out)
{
    if ((int)ev->type < 0 || ev->type >= WEIR_PROV_TYPE_COUNT) {
        return WEIR_E_INVAL;
    }
    size_t most = pv_payload_bound(&repo->dict, ev, f);
    if (most > PV_RECORD_BYTES_MAX) {
        return WEIR_E_INVAL;
    }
    uint8_t *h = NULL;
    int err = pv_room(repo, PV_RECORD_HEADER_MAX + most, &h);
    if (err == 0) {
        err = pv_dict_prepare(&repo->dict, f); /* after pv_room: a roll starts a new dictionary */
    }
    if (err != 0) {
        return err;
    }
    int64_t t = ev->time_ms != 0 ? ev->time_ms : weir_wall_ms(repo->env);
    size_t n = pv_encode(&repo->dict, h, most, ev, t - repo->last_time_ms, f, repo->dir != NULL);
    if (repo->dir == NULL) {
        repo->segs[repo->seg_count - 1].bytes += n;
        repo->total_bytes += n;
    } else {
        repo->len += n;
    }
    repo->last_time_ms = t;
    uint64_t id = repo->next_id++;
    repo->counts[ev->type]++;
    if (id_out != NULL) {
        *id_out = id;
    }
    return 0;
}

int weir_prov_record(weir_prov_repo *repo, const weir_prov_event *ev, uint64_t *id_out)
{
    pv_fields f = {.strs = {ev->component, ev->relationship, ev->details}};
    return pv_record(repo, ev, &f, id_out);
}

/* Grows the names' hash table to hold one more. */
static int pv_names_room(weir_prov_repo *repo)
{
    if (((size_t)repo->name_count + 1) * 2 <= repo->name_table_cap) {
        return 0;
    }
    size_t cap = repo->name_table_cap == 0 ? 64 : repo->name_table_cap * 2;
    uint32_t *table = calloc(cap, sizeof *table);
    if (table == NULL) {
        return WEIR_E_NOMEM;
    }
    for (uint32_t h = 1; h <= repo->name_count; h++) {
        const pv_name *n = &repo->names[h - 1];
        size_t i = pv_str_hash(n->s, n->len) & (cap - 1);
        while (table[i] != 0) {
            i = (i + 1) & (cap - 1);
        }
        table[i] = h;
    }
    free(repo->name_table);
    repo->name_table = table;
    repo->name_table_cap = cap;
    return 0;
}

int weir_prov_intern(weir_prov_repo *repo, const char *s, weir_prov_name *out)
{
    *out = 0;
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    size_t len = strlen(s);
    uint32_t hash = pv_str_hash(s, len);
    size_t mask = repo->name_table_cap - 1;
    for (size_t i = hash & mask; repo->name_table_cap > 0 && repo->name_table[i] != 0;
         i = (i + 1) & mask) {
        const pv_name *n = &repo->names[repo->name_table[i] - 1];
        if (n->len == len && memcmp(n->s, s, len) == 0) {
            *out = repo->name_table[i];
            return 0;
        }
    }
    if (len > PV_RECORD_BYTES_MAX || repo->name_count >= WEIR_PROV_NAMES_MAX) {
        return WEIR_E_INVAL;
    }
    if (pv_names_room(repo) != 0) {
        return WEIR_E_NOMEM;
    }
    if (repo->name_count == repo->name_cap) {
        uint32_t cap = repo->name_cap == 0 ? 16 : repo->name_cap * 2;
        pv_name *names = realloc(repo->names, cap * sizeof *names);
        if (names == NULL) {
            return WEIR_E_NOMEM;
        }
        repo->names = names;
        repo->name_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return WEIR_E_NOMEM;
    }
    memcpy(copy, s, len + 1);
    repo->names[repo->name_count] = (pv_name){copy, (uint32_t)len, 0, 0};
    uint32_t h = ++repo->name_count;
    size_t i = hash & (repo->name_table_cap - 1);
    while (repo->name_table[i] != 0) {
        i = (i + 1) & (repo->name_table_cap - 1);
    }
    repo->name_table[i] = h;
    *out = h;
    return 0;
}

static pv_name *pv_name_at(weir_prov_repo *repo, weir_prov_name h)
{
    WEIR_ASSERT(h <= repo->name_count);
    return h == 0 ? NULL : &repo->names[h - 1];
}

int weir_prov_record_names(weir_prov_repo *repo, const weir_prov_event *ev,
                           weir_prov_name component, weir_prov_name relationship,
                           weir_prov_name details, uint64_t *id_out)
{
    pv_fields f = {.by_name = true,
                   .names = {pv_name_at(repo, component), pv_name_at(repo, relationship),
                             pv_name_at(repo, details)}};
    return pv_record(repo, ev, &f, id_out);
}

/* Where records can go without a roll, a write or a realloc: *dst_out
 * with *used_out bytes used, room up to *limit_out. False when there is
 * none for one record of `need` bytes (pv_record then does what is needed). */
static bool pv_open_room(weir_prov_repo *repo, size_t need, uint8_t **dst_out, size_t *used_out,
                         size_t *limit_out)
{
    if (repo->seg_count == 0) {
        return false;
    }
    pv_seg *active = &repo->segs[repo->seg_count - 1];
    size_t limit;
    if (repo->dir == NULL) {
        *dst_out = active->mem;
        *used_out = (size_t)active->bytes;
        limit = active->mem_cap < repo->cfg.file_bytes_max ? active->mem_cap
                                                           : (size_t)repo->cfg.file_bytes_max;
    } else {
        *dst_out = repo->buf;
        *used_out = repo->len;
        limit = repo->cap < repo->cfg.buffer_bytes ? repo->cap : repo->cfg.buffer_bytes;
        uint64_t file_left =
            repo->cfg.file_bytes_max > active->bytes ? repo->cfg.file_bytes_max - active->bytes : 0;
        limit = limit < file_left ? limit : (size_t)file_left;
    }
    *limit_out = limit;
    return *dst_out != NULL && *used_out + need <= limit;
}

int weir_prov_record_ffs(weir_prov_repo *repo, weir_prov_type type, int64_t time_ms,
                         weir_prov_name component, weir_prov_name relationship,
                         weir_prov_name details, const weir_flowfile *const *ffs, size_t count)
{
    if ((int)type < 0 || type >= WEIR_PROV_TYPE_COUNT) {
        return WEIR_E_INVAL;
    }
    pv_fields f = {.by_name = true,
                   .names = {pv_name_at(repo, component), pv_name_at(repo, relationship),
                             pv_name_at(repo, details)}};
    weir_prov_event ev = {.type = type,
                          .time_ms = time_ms != 0 ? time_ms : weir_wall_ms(repo->env)};
    uint8_t tags[8] = {0};
    size_t tags_len = 0;
    bool crc = repo->dir != NULL;
    size_t i = 0;
    while (i < count) {
        uint8_t *dst = NULL;
        size_t used = 0, limit = 0;
        if (!pv_tags(&repo->dict, f.names, tags, &tags_len) ||
            !pv_open_room(repo, PV_FF_RECORD_BYTES_MAX, &dst, &used, &limit)) {
            /* one event the general way: it rolls, writes out, or writes
             * the names this dictionary lacks */
            ev.flowfile = ffs[i]->uuid;
            ev.size = ffs[i]->size;
            int err = pv_record(repo, &ev, &f, NULL);
            if (err != 0) {
                return err;
            }
            i++;
            continue;
        }
        /* the common case: as many fixed-shape records as fit */
        size_t done = 0;
        size_t at = pv_encode_ffs(dst, used, limit, type, ev.time_ms - repo->last_time_ms, tags,
                                  tags_len, crc, ffs + i, count - i, &done);
        WEIR_ASSERT(done > 0); /* pv_open_room found room for one */
        i += done;
        if (repo->dir == NULL) {
            repo->segs[repo->seg_count - 1].bytes += at - used;
            repo->total_bytes += at - used;
        } else {
            repo->len = at;
        }
        repo->last_time_ms = ev.time_ms;
        repo->next_id += done;
        repo->counts[type] += done;
    }
    return 0;
}

int weir_prov_record_ff(weir_prov_repo *repo, weir_prov_type type, const weir_flowfile *ff,
                        const char *component, const char *relationship, const char *details)
{
    weir_prov_event ev = {
        .type = type,
        .flowfile = ff->uuid,
        .size = ff->size,
        .component = component,
        .relationship = relationship,
        .details = details,
    };
    return weir_prov_record(repo, &ev, NULL);
}

int weir_prov_flush(weir_prov_repo *repo)
{
    int err = pv_write_buffer(repo);
    if (err == 0 && repo->dir != NULL && repo->cfg.sync && repo->active != NULL) {
        err = weir_file_sync(repo->env, repo->active);
    }
    return err;
}

int weir_prov_close(weir_prov_repo *repo)
{
    int err = pv_write_buffer(repo);
    if (err == 0 && repo->active != NULL) {
        err = weir_file_sync(repo->env, repo->active);
    }
    weir_prov_abandon(repo);
    return err;
}

uint64_t weir_prov_count(const weir_prov_repo *repo, weir_prov_type type)
{
    WEIR_ASSERT((int)type >= 0 && type < WEIR_PROV_TYPE_COUNT);
    return repo->counts[type];
}

uint64_t weir_prov_next_id(const weir_prov_repo *repo)
{
    return repo->next_id;
}

/* ---- queries ---- */

void weir_prov_events_free(weir_prov_events *list)
{
    free(list->events);
    free(list->mem);
    *list = (weir_prov_events){0};
}

/* Builds a weir_prov_events: events with string/uuid offsets into one data
 * buffer, turned into pointers at the end. */
typedef struct pv_list {
    weir_prov_event *events;
    size_t count;
    size_t cap;
    uint8_t *data;
    size_t len;
    size_t data_cap;
    int err;
} pv_list;

static size_t pv_list_put(pv_list *l, const void *bytes, size_t n, bool nul)
{
    size_t need = n + (nul ? 1 : 0);
    need = (need + 7) & ~(size_t)7;
    if (l->len + need > l->data_cap) {
        size_t cap = l->data_cap == 0 ? 4096 : l->data_cap;
        while (cap < l->len + need) {
            cap *= 2;
        }
        uint8_t *data = realloc(l->data, cap);
        if (data == NULL) {
            l->err = WEIR_E_NOMEM;
            return 0;
        }
        l->data = data;
        l->data_cap = cap;
    }
    size_t at = l->len;
    if (n > 0) {
        memcpy(l->data + at, bytes, n);
    }
    if (nul) {
        l->data[at + n] = 0;
    }
    l->len += need;
    return at;
}

static void pv_list_add(pv_list *l, const pv_raw *raw)
{
    if (l->err != 0) {
        return;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        weir_prov_event *events = realloc(l->events, cap * sizeof *events);
        if (events == NULL) {
            l->err = WEIR_E_NOMEM;
            return;
        }
        l->events = events;
        l->cap = cap;
    }
    weir_prov_event ev = raw->ev;
    /* offsets now, pointers in pv_list_finish */
    ev.parents = (const weir_uuid *)(uintptr_t)pv_list_put(
        l, raw->ev.parents, 16 * (size_t)raw->ev.parent_count, false);
    ev.children = (const weir_uuid *)(uintptr_t)pv_list_put(
        l, raw->ev.children, 16 * (size_t)raw->ev.child_count, false);
    ev.component = (const char *)(uintptr_t)pv_list_put(l, raw->str[0], raw->str_len[0], true);
    ev.relationship = (const char *)(uintptr_t)pv_list_put(l, raw->str[1], raw->str_len[1], true);
    ev.details = (const char *)(uintptr_t)pv_list_put(l, raw->str[2], raw->str_len[2], true);
    if (l->err == 0) {
        l->events[l->count++] = ev;
    }
}

static int pv_event_cmp(const void *a, const void *b)
{
    const weir_prov_event *x = a, *y = b;
    if (x->time_ms != y->time_ms) {
        return x->time_ms < y->time_ms ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static int pv_list_finish(pv_list *l, bool by_time, weir_prov_events *out)
{
    if (l->err != 0) {
        free(l->events);
        free(l->data);
        return l->err;
    }
    for (size_t i = 0; i < l->count; i++) {
        weir_prov_event *ev = &l->events[i];
        ev->parents = (const weir_uuid *)(void *)(l->data + (uintptr_t)ev->parents);
        ev->children = (const weir_uuid *)(void *)(l->data + (uintptr_t)ev->children);
        ev->component = (const char *)l->data + (uintptr_t)ev->component;
        ev->relationship = (const char *)l->data + (uintptr_t)ev->relationship;
        ev->details = (const char *)l->data + (uintptr_t)ev->details;
    }
    if (by_time && l->count > 1) {
        qsort(l->events, l->count, sizeof *l->events, pv_event_cmp);
    }
    out->events = l->events;
    out->count = l->count;
    out->mem = l->data;
    return 0;
}

typedef struct pv_of_ctx {
    const weir_uuid *uuid;
    pv_list list;
} pv_of_ctx;

static int pv_of_fn(const pv_raw *raw, void *arg)
{
    pv_of_ctx *c = arg;
    if (weir_uuid_equal(&raw->ev.flowfile, c->uuid)) {
        pv_list_add(&c->list, raw);
    }
    return c->list.err;
}

int weir_prov_events_of(weir_prov_repo *repo, const weir_uuid *uuid, weir_prov_events *out)
{
    *out = (weir_prov_events){0};
    pv_of_ctx c = {uuid, {0}};
    int err = pv_scan_raw(repo, pv_of_fn, &c);
    if (err != 0) {
        c.list.err = err;
    }
    return pv_list_finish(&c.list, false, out);
}

/* ---- lineage: a graph of uuids ---- */

typedef struct pv_node {
    weir_uuid uuid; /* all zero: empty slot */
    uint32_t index;
    bool used;
} pv_node;

typedef struct pv_edge {
    uint32_t from;
    uint32_t to;
} pv_edge;

typedef struct pv_graph {
    pv_node *slots;
    size_t cap; /* power of two */
    uint32_t nodes;
    pv_edge *edges;
    size_t edge_count;
    size_t edge_cap;
    int err;
} pv_graph;

static size_t pv_uuid_hash(const weir_uuid *u)
{
    uint64_t a = weir_get_be64(u->b), b = weir_get_be64(u->b + 8);
    return (size_t)((a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull >> 20);
}

/* The node index of u, added if new; UINT32_MAX on allocation failure. */
static uint32_t pv_node_of(pv_graph *g, const weir_uuid *u, bool add)
{
    if (g->err != 0) {
        return UINT32_MAX;
    }
    if (add && ((size_t)g->nodes + 1) * 2 > g->cap) {
        size_t cap = g->cap == 0 ? 1024 : g->cap * 2;
        pv_node *slots = calloc(cap, sizeof *slots);
        if (slots == NULL) {
            g->err = WEIR_E_NOMEM;
            return UINT32_MAX;
        }
        for (size_t i = 0; i < g->cap; i++) {
            if (!g->slots[i].used) {
                continue;
            }
            size_t j = pv_uuid_hash(&g->slots[i].uuid) & (cap - 1);
            while (slots[j].used) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = g->slots[i];
        }
        free(g->slots);
        g->slots = slots;
        g->cap = cap;
    }
    if (g->cap == 0) {
        return UINT32_MAX;
    }
    for (size_t i = pv_uuid_hash(u) & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
        pv_node *n = &g->slots[i];
        if (!n->used) {
            if (!add) {
                return UINT32_MAX;
            }
            *n = (pv_node){*u, g->nodes++, true};
            return n->index;
        }
        if (weir_uuid_equal(&n->uuid, u)) {
            return n->index;
        }
    }
}

static void pv_edge_add(pv_graph *g, uint32_t from, uint32_t to)
{
    if (g->err != 0 || from == to) {
        return;
    }
    if (g->edge_count == g->edge_cap) {
        size_t cap = g->edge_cap == 0 ? 256 : g->edge_cap * 2;
        pv_edge *edges = realloc(g->edges, cap * sizeof *edges);
        if (edges == NULL) {
            g->err = WEIR_E_NOMEM;
            return;
        }
        g->edges = edges;
        g->edge_cap = cap;
    }
    g->edges[g->edge_count++] = (pv_edge){from, to};
}

static int pv_graph_fn(const pv_raw *raw, void *arg)
{
    pv_graph *g = arg;
    if (raw->ev.parent_count == 0 && raw->ev.child_count == 0) {
        return 0;
    }
    uint32_t u = pv_node_of(g, &raw->ev.flowfile, true);
    for (uint32_t i = 0; i < raw->ev.parent_count; i++) {
        weir_uuid p;
        memcpy(p.b, raw->ev.parents[i].b, 16);
        pv_edge_add(g, pv_node_of(g, &p, true), u);
    }
    for (uint32_t i = 0; i < raw->ev.child_count; i++) {
        weir_uuid c;
        memcpy(c.b, raw->ev.children[i].b, 16);
        pv_edge_add(g, u, pv_node_of(g, &c, true));
    }
    return g->err;
}

static int pv_edge_cmp_from(const void *a, const void *b)
{
    const pv_edge *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* Marks every node reachable from start along edges (sorted by `from`). */
static int pv_reach(const pv_edge *edges, size_t n, uint32_t nodes, uint32_t start, bool *mark)
{
    size_t *first = malloc(((size_t)nodes + 1) * sizeof *first);
    uint32_t *stack = malloc(((size_t)nodes + 1) * sizeof *stack);
    if (first == NULL || stack == NULL) {
        free(first);
        free(stack);
        return WEIR_E_NOMEM;
    }
    size_t e = 0;
    for (uint32_t v = 0; v <= nodes; v++) {
        while (e < n && edges[e].from < v) {
            e++;
        }
        first[v] = e;
    }
    size_t top = 0;
    bool *seen = calloc(nodes, sizeof *seen);
    if (seen == NULL) {
        free(first);
        free(stack);
        return WEIR_E_NOMEM;
    }
    stack[top++] = start;
    seen[start] = true;
    while (top > 0) {
        uint32_t v = stack[--top];
        mark[v] = true;
        for (size_t k = first[v]; k < first[v + 1]; k++) {
            uint32_t w = edges[k].to;
            if (!seen[w]) {
                seen[w] = true;
                stack[top++] = w;
            }
        }
    }
    free(seen);
    free(first);
    free(stack);
    return 0;
}

typedef struct pv_lineage_ctx {
    pv_graph *g;
    const bool *in;
    const weir_uuid *uuid;
    pv_list list;
} pv_lineage_ctx;

static int pv_lineage_fn(const pv_raw *raw, void *arg)
{
    pv_lineage_ctx *c = arg;
    bool take = weir_uuid_equal(&raw->ev.flowfile, c->uuid);
    if (!take) {
        uint32_t v = pv_node_of(c->g, &raw->ev.flowfile, false);
        take = v != UINT32_MAX && c->in != NULL && c->in[v];
    }
    if (take) {
        pv_list_add(&c->list, raw);
    }
    return c->list.err;
}

int weir_prov_lineage(weir_prov_repo *repo, const weir_uuid *uuid, weir_prov_events *out)
{
    *out = (weir_prov_events){0};
    pv_graph g = {0};
    int err = pv_scan_raw(repo, pv_graph_fn, &g);
    if (err == 0) {
        err = g.err;
    }
    bool *in = NULL;
    uint32_t start = err == 0 ? pv_node_of(&g, uuid, false) : UINT32_MAX;
    if (err == 0 && start != UINT32_MAX) {
        in = calloc(g.nodes, sizeof *in);
        err = in == NULL ? WEIR_E_NOMEM : 0;
        /* descendants along the edges, ancestors along the reversed edges */
        if (err == 0) {
            if (g.edge_count > 1) {
                qsort(g.edges, g.edge_count, sizeof *g.edges, pv_edge_cmp_from);
            }
            err = pv_reach(g.edges, g.edge_count, g.nodes, start, in);
        }
        if (err == 0) {
            for (size_t i = 0; i < g.edge_count; i++) {
                uint32_t t = g.edges[i].from;
                g.edges[i].from = g.edges[i].to;
                g.edges[i].to = t;
            }
            if (g.edge_count > 1) {
                qsort(g.edges, g.edge_count, sizeof *g.edges, pv_edge_cmp_from);
            }
            err = pv_reach(g.edges, g.edge_count, g.nodes, start, in);
        }
    }
    pv_lineage_ctx c = {&g, in, uuid, {0}};
    if (err == 0) {
        /* in == NULL: the FlowFile has no links, its own events only */
        err = pv_scan_raw(repo, pv_lineage_fn, &c);
    }
    free(in);
    free(g.slots);
    free(g.edges);
    if (err != 0) {
        c.list.err = err;
    }
    return pv_list_finish(&c.list, true, out);
}

/* ---- scan ---- */

typedef struct pv_user_ctx {
    int (*fn)(const weir_prov_event *ev, void *arg);
    void *arg;
    char *scratch;
    size_t scratch_cap;
} pv_user_ctx;

static int pv_user_fn(const pv_raw *raw, void *arg)
{
    pv_user_ctx *c = arg;
    size_t need = (size_t)(raw->str_len[0] + raw->str_len[1] + raw->str_len[2] + 3 +
                           16 * ((uint64_t)raw->ev.parent_count + raw->ev.child_count));
    if (need > c->scratch_cap) {
        size_t cap = c->scratch_cap == 0 ? 1024 : c->scratch_cap;
        while (cap < need) {
            cap *= 2;
        }
        char *s = realloc(c->scratch, cap);
        if (s == NULL) {
            return WEIR_E_NOMEM;
        }
        c->scratch = s;
        c->scratch_cap = cap;
    }
    weir_prov_event ev = raw->ev;
    char *p = c->scratch;
    /* uuids first: the scratch buffer is malloc-aligned */
    /* memcpy's source must not be NULL even for 0 bytes (UBSan checks) */
    if (ev.parent_count > 0) {
        memcpy(p, raw->ev.parents, 16 * (size_t)ev.parent_count);
    }
    ev.parents = (const weir_uuid *)(void *)p;
    p += 16 * (size_t)ev.parent_count;
    if (ev.child_count > 0) {
        memcpy(p, raw->ev.children, 16 * (size_t)ev.child_count);
    }
    ev.children = (const weir_uuid *)(void *)p;
    p += 16 * (size_t)ev.child_count;
    const char **dst[3] = {&ev.component, &ev.relationship, &ev.details};
    for (int i = 0; i < 3; i++) {
        if (raw->str_len[i] > 0) {
            memcpy(p, raw->str[i], (size_t)raw->str_len[i]);
        }
        p[raw->str_len[i]] = '\0';
        *dst[i] = p;
        p += raw->str_len[i] + 1;
    }
    return c->fn(&ev, c->arg);
}

int weir_prov_scan(weir_prov_repo *repo, int (*fn)(const weir_prov_event *ev, void *arg), void *arg)
{
    pv_user_ctx c = {fn, arg, NULL, 0};
    int rc = pv_scan_raw(repo, pv_user_fn, &c);
    free(c.scratch);
    return rc;
}
