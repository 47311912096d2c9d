/* The provenance repository's on-disk format (WPV2, flow/provenance.h) on a
 * real folder: events read back field for field after a close and a reopen,
 * files rolled and named by their first event id, a dictionary that fills
 * up, retention in memory and on files with lineage answering for what is
 * kept, a torn last record cut at open, and damaged records named with
 * their file and offset without crashing a reader. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "flow/flowfile.h"
#include "flow/provenance.h"
#include "flow/provenance_codec.h"

/* ---- a real env (libuv backend) in a fresh temporary folder ---- */

typedef struct prov_fixture {
    char root[64];
    weir_world *w;
    weir_env *env;
} prov_fixture;

static void *fixture_node_start(weir_env *env, void *arg)
{
    ((prov_fixture *)arg)->env = env;
    return arg;
}

static const weir_node_type fixture_node = {"n", fixture_node_start, NULL};

static int setup(void **state)
{
    prov_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/weir_prov_test_XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->w = weir_uv_world_new(f->root, 42);
    assert_non_null(f->w);
    assert_int_equal(weir_world_node_add(f->w, "n", &fixture_node, f), 0);
    assert_int_equal(weir_world_run(f->w, 1000000), 0);
    assert_non_null(f->env);
    f->env->log_level = WEIR_LOG_ERROR;
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    prov_fixture *f = *state;
    weir_world_destroy(f->w);
    nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- files, reached through the env as the repository reaches them ---- */

/* The repository file whose first event is first_id. */
static const char *file_of(uint64_t first_id)
{
    static char path[2][64];
    static int next;
    char *out = path[next++ % 2];
    snprintf(out, 64, "prov/%020llu.prov", (unsigned long long)first_id);
    return out;
}

static uint8_t *read_file(prov_fixture *f, uint64_t first_id, size_t *len_out)
{
    weir_file *file;
    uint64_t size = 0;
    assert_int_equal(weir_file_open(f->env, file_of(first_id), WEIR_F_RDONLY, &file), 0);
    assert_int_equal(weir_file_size(f->env, file, &size), 0);
    uint8_t *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    size_t got = 0;
    assert_int_equal(weir_file_pread(f->env, file, buf, (size_t)size, 0, &got), 0);
    assert_int_equal(got, size);
    weir_file_close(f->env, file);
    *len_out = got;
    return buf;
}

/* Replaces the file's bytes (trunc) or adds to them. */
static void write_file(prov_fixture *f, uint64_t first_id, const uint8_t *buf, size_t len,
                       bool trunc)
{
    weir_file *file;
    assert_int_equal(weir_file_open(f->env, file_of(first_id), trunc ? WEIR_F_TRUNC : 0, &file), 0);
    assert_int_equal(weir_file_append(f->env, file, buf, len), 0);
    weir_file_close(f->env, file);
}

static long size_of(prov_fixture *f, uint64_t first_id)
{
    bool is_dir = false;
    uint64_t size = 0;
    return weir_fs_stat(f->env, file_of(first_id), &is_dir, &size) == 0 ? (long)size : -1;
}

/* The first event ids the repository's files are named for, ascending. */
static size_t list_files(prov_fixture *f, uint64_t *ids, size_t max)
{
    weir_dirlist list = {0};
    assert_int_equal(weir_fs_list(f->env, "prov", &list), 0);
    size_t count = 0;
    for (size_t i = 0; i < list.count; i++) {
        const char *name = list.names[i];
        if (strlen(name) == 25 && strcmp(name + 20, ".prov") == 0) {
            assert_true(count < max);
            ids[count++] = strtoull(name, NULL, 10);
        }
    }
    weir_fs_list_free(&list);
    return count;
}

/* Offsets of the records of a file's bytes (after the header); returns how
 * many, and checks they end exactly at the end of the file. */
static size_t record_offsets(const uint8_t *bytes, size_t len, size_t *offs, size_t max)
{
    size_t n = 0;
    for (size_t off = PV_HEADER_BYTES; off < len;) {
        uint64_t rl = 0;
        size_t h = weir_get_uvarint(bytes + off, bytes + len, 5, &rl);
        assert_true(h > 0);
        assert_true(n < max);
        offs[n++] = off;
        off += h + 4 + rl;
        assert_true(off <= len);
    }
    return n;
}

/* ---- log lines (damaged files are named there) ---- */

static char g_log[16384];
static weir_env_ops g_log_ops;
static const weir_env_ops *g_log_saved;

static void log_capture(weir_env *env, weir_log_level level, const char *line)
{
    (void)env;
    (void)level;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "%s\n", line);
}

static void log_capture_start(weir_env *env)
{
    g_log[0] = '\0';
    g_log_saved = env->ops;
    g_log_ops = *env->ops;
    g_log_ops.log_write = log_capture;
    env->ops = &g_log_ops;
}

static void log_capture_stop(weir_env *env)
{
    env->ops = g_log_saved;
}

/* ---- the events a test expects to read back ---- */

typedef struct want_event {
    int64_t time_ms; /* 0: stamped by the repository with the wall clock */
    weir_prov_type type;
    weir_uuid flowfile;
    uint64_t size;
    weir_uuid links[6]; /* the parents, then the children */
    uint32_t parent_count;
    uint32_t child_count;
    char *component;
    char *relationship;
    char *details;
} want_event;

/* Event i has id i + 1. */
typedef struct model {
    want_event *ev;
    size_t count;
    size_t cap;
    int64_t wall_lo_ms; /* the span stamped times fall in */
    int64_t wall_hi_ms;
} model;

static void model_free(model *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->ev[i].component);
        free(m->ev[i].relationship);
        free(m->ev[i].details);
    }
    free(m->ev);
    *m = (model){0};
}

static uint64_t model_count(const model *m, weir_prov_type type)
{
    uint64_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        n += m->ev[i].type == type;
    }
    return n;
}

typedef enum put_how {
    BY_STRING, /* weir_prov_record */
    BY_NAME,   /* weir_prov_intern + weir_prov_record_names */
    BY_FF,     /* weir_prov_record_ff */
} put_how;

/* What to record; strings may be NULL. */
typedef struct event_spec {
    int64_t time_ms;
    weir_prov_type type;
    weir_uuid flowfile;
    uint64_t size;
    const weir_uuid *parents;
    uint32_t parent_count;
    const weir_uuid *children;
    uint32_t child_count;
    const char *component;
    const char *relationship;
    const char *details;
} event_spec;

static char *dup_or_empty(const char *s)
{
    char *d = strdup(s != NULL ? s : "");
    assert_non_null(d);
    return d;
}

static void model_add(model *m, const event_spec *s)
{
    if (m->count == m->cap) {
        m->cap = m->cap == 0 ? 64 : m->cap * 2;
        m->ev = realloc(m->ev, m->cap * sizeof *m->ev);
        assert_non_null(m->ev);
    }
    want_event *w = &m->ev[m->count++];
    *w = (want_event){.time_ms = s->time_ms,
                      .type = s->type,
                      .flowfile = s->flowfile,
                      .size = s->size,
                      .parent_count = s->parent_count,
                      .child_count = s->child_count,
                      .component = dup_or_empty(s->component),
                      .relationship = dup_or_empty(s->relationship),
                      .details = dup_or_empty(s->details)};
    assert_true(s->parent_count + s->child_count <= 6);
    if (s->parent_count > 0) {
        memcpy(w->links, s->parents, s->parent_count * sizeof *s->parents);
    }
    if (s->child_count > 0) {
        memcpy(w->links + s->parent_count, s->children, s->child_count * sizeof *s->children);
    }
}

/* Records s with one of the three calls and expects the next id. */
static void put(prov_fixture *f, weir_prov_repo *p, model *m, put_how how, const event_spec *s)
{
    weir_prov_event ev = {.time_ms = s->time_ms,
                          .type = s->type,
                          .flowfile = s->flowfile,
                          .size = s->size,
                          .parents = s->parents,
                          .parent_count = s->parent_count,
                          .children = s->children,
                          .child_count = s->child_count,
                          .component = s->component,
                          .relationship = s->relationship,
                          .details = s->details};
    uint64_t id = 0;
    if (m->wall_lo_ms == 0) {
        m->wall_lo_ms = weir_wall_ms(f->env);
    }
    assert_int_equal(weir_prov_next_id(p), m->count + 1);
    if (how == BY_STRING) {
        assert_int_equal(weir_prov_record(p, &ev, &id), 0);
    } else if (how == BY_NAME) {
        weir_prov_name c, r, d;
        assert_int_equal(weir_prov_intern(p, s->component, &c), 0);
        assert_int_equal(weir_prov_intern(p, s->relationship, &r), 0);
        assert_int_equal(weir_prov_intern(p, s->details, &d), 0);
        assert_int_equal(weir_prov_record_names(p, &ev, c, r, d, &id), 0);
    } else {
        assert_int_equal(s->time_ms, 0);
        assert_int_equal(s->parent_count + s->child_count, 0);
        weir_flowfile ff = {.uuid = s->flowfile, .size = s->size};
        assert_int_equal(
            weir_prov_record_ff(p, s->type, &ff, s->component, s->relationship, s->details), 0);
        id = m->count + 1;
    }
    m->wall_hi_ms = weir_wall_ms(f->env);
    model_add(m, s);
    assert_int_equal(id, m->count);
    assert_int_equal(weir_prov_next_id(p), m->count + 1);
}

/* Events of one type for ffs (weir_prov_record_ffs), names interned. */
static void put_ffs(weir_prov_repo *p, model *m, weir_prov_type type, int64_t time_ms,
                    const char *component, const char *relationship,
                    const weir_flowfile *const *ffs, size_t count)
{
    weir_prov_name c, r;
    assert_int_equal(weir_prov_intern(p, component, &c), 0);
    assert_int_equal(weir_prov_intern(p, relationship, &r), 0);
    assert_int_equal(weir_prov_record_ffs(p, type, time_ms, c, r, 0, ffs, count), 0);
    for (size_t i = 0; i < count; i++) {
        event_spec s = {.time_ms = time_ms,
                        .type = type,
                        .flowfile = ffs[i]->uuid,
                        .size = ffs[i]->size,
                        .component = component,
                        .relationship = relationship};
        model_add(m, &s);
    }
    assert_int_equal(weir_prov_next_id(p), m->count + 1);
}

/* Checks every field of ev against the model's event of its id. */
static void check_event(const model *m, const weir_prov_event *ev)
{
    assert_in_range(ev->id, 1, m->count);
    const want_event *w = &m->ev[ev->id - 1];
    if (w->time_ms == 0) {
        assert_in_range(ev->time_ms, m->wall_lo_ms, m->wall_hi_ms);
    } else {
        assert_int_equal(ev->time_ms, w->time_ms);
    }
    assert_int_equal(ev->type, w->type);
    assert_memory_equal(ev->flowfile.b, w->flowfile.b, 16);
    assert_int_equal(ev->size, w->size);
    assert_int_equal(ev->parent_count, w->parent_count);
    assert_int_equal(ev->child_count, w->child_count);
    for (uint32_t i = 0; i < w->parent_count; i++) {
        assert_memory_equal(ev->parents[i].b, w->links[i].b, 16);
    }
    for (uint32_t i = 0; i < w->child_count; i++) {
        assert_memory_equal(ev->children[i].b, w->links[w->parent_count + i].b, 16);
    }
    assert_string_equal(ev->component, w->component);
    assert_string_equal(ev->relationship, w->relationship);
    assert_string_equal(ev->details, w->details);
}

typedef struct scan_state {
    const model *m;
    uint64_t first_id;
    uint64_t next_id;
} scan_state;

static int scan_check(const weir_prov_event *ev, void *arg)
{
    scan_state *s = arg;
    if (s->next_id == 0) {
        s->first_id = ev->id;
    } else {
        assert_int_equal(ev->id, s->next_id);
    }
    check_event(s->m, ev);
    s->next_id = ev->id + 1;
    return 0;
}

/* The stored events are exactly the model's from first_id on, and the
 * counts are the model's (all events ever). */
static void check_stored(weir_prov_repo *p, const model *m, uint64_t first_id)
{
    scan_state s = {m, 0, 0};
    assert_int_equal(weir_prov_scan(p, scan_check, &s), 0);
    assert_int_equal(s.first_id, first_id);
    assert_int_equal(s.next_id, m->count + 1);
    assert_int_equal(weir_prov_next_id(p), m->count + 1);
    for (int t = 0; t < WEIR_PROV_TYPE_COUNT; t++) {
        assert_int_equal(weir_prov_count(p, (weir_prov_type)t), model_count(m, (weir_prov_type)t));
    }
}

static weir_prov_repo *open_repo(prov_fixture *f, const char *dir, uint64_t file_bytes_max,
                                 uint64_t storage_bytes_max, weir_prov_recovery *rep)
{
    weir_prov_config cfg;
    weir_prov_config_default(&cfg);
    cfg.file_bytes_max = file_bytes_max;
    cfg.storage_bytes_max = storage_bytes_max;
    cfg.buffer_bytes = 700; /* written out now and then between flushes */
    weir_prov_repo *p = NULL;
    char why[256] = "";
    int err = weir_prov_open(f->env, dir, &cfg, rep, &p, why, sizeof why);
    if (err != 0) {
        fail_msg("provenance open: %s (%s)", weir_err_str(err), why);
    }
    return p;
}

static weir_uuid new_uuid(prov_fixture *f)
{
    weir_uuid u;
    weir_uuid_random(f->env, &u);
    return u;
}

/* A mix of every type, all three record calls, links, sizes up to 2^64 - 1,
 * times that go back, stamped times, empty and long strings. */
static void put_mixed(prov_fixture *f, weir_prov_repo *p, model *m, int rounds)
{
    char long_text[400];
    memset(long_text, 'L', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    for (int r = 0; r < rounds; r++) {
        weir_uuid a = new_uuid(f), b = new_uuid(f), c = new_uuid(f), d = new_uuid(f);
        int64_t t = 1700000000000 + 10 * r;
        event_spec create = {.time_ms = t,
                             .type = WEIR_PROV_CREATE,
                             .flowfile = a,
                             .size = 10,
                             .component = "Generate",
                             .relationship = "success"};
        put(f, p, m, BY_STRING, &create);
        weir_uuid kids[2] = {b, c};
        event_spec fork = {.time_ms = t + 1,
                           .type = WEIR_PROV_FORK,
                           .flowfile = a,
                           .size = 10,
                           .parents = &a,
                           .parent_count = 1,
                           .children = kids,
                           .child_count = 2,
                           .component = "Split"};
        put(f, p, m, BY_NAME, &fork);
        event_spec clone = {.time_ms = t - 5, /* earlier than the one before */
                            .type = WEIR_PROV_CLONE,
                            .flowfile = b,
                            .size = UINT64_MAX,
                            .parents = &b,
                            .parent_count = 1,
                            .children = &d,
                            .child_count = 1,
                            .component = "Duplicate",
                            .details = r % 2 ? long_text : "copy"};
        put(f, p, m, BY_STRING, &clone);
        weir_uuid merged[3] = {b, c, d};
        event_spec join = {.time_ms = t + 2,
                           .type = WEIR_PROV_JOIN,
                           .flowfile = a,
                           .size = 30,
                           .parents = merged,
                           .parent_count = 3,
                           .children = &a,
                           .child_count = 1,
                           .component = "Merge",
                           .relationship = "merged"};
        put(f, p, m, BY_NAME, &join);
        for (int k = WEIR_PROV_SEND; k < WEIR_PROV_TYPE_COUNT; k++) {
            if (k == WEIR_PROV_FORK || k == WEIR_PROV_JOIN || k == WEIR_PROV_CLONE) {
                continue;
            }
            event_spec one = {.type = (weir_prov_type)k,
                              .flowfile = k % 2 ? c : d,
                              .size = (uint64_t)k << (7 * (k % 9)),
                              .component = k % 3 ? "Route" : long_text,
                              .relationship = k == WEIR_PROV_ROUTE ? "matched" : NULL,
                              .details = k == WEIR_PROV_SEND ? "kafka://b1:9092/events" : NULL};
            put(f, p, m, (put_how)(k % 3), &one); /* BY_FF: stamped by the repository */
        }
    }
}

/* ---- the tests ---- */

static void events_read_back_field_for_field_after_a_close_and_a_reopen(void **state)
{
    prov_fixture *f = *state;
    /* memory mode first: the same records, read from memory */
    model m = {0};
    weir_prov_repo *p = open_repo(f, NULL, 1u << 20, 0, NULL);
    put_mixed(f, p, &m, 12);
    check_stored(p, &m, 1);
    assert_int_equal(weir_prov_close(p), 0);
    model_free(&m);

    p = open_repo(f, "prov", 1u << 20, 0, NULL);
    put_mixed(f, p, &m, 12);
    check_stored(p, &m, 1); /* some still buffered */
    assert_int_equal(weir_prov_close(p), 0);
    weir_prov_recovery rep;
    p = open_repo(f, "prov", 1u << 20, 0, &rep);
    assert_false(rep.cut);
    assert_int_equal(rep.files, 1);
    assert_int_equal(rep.events, m.count);
    assert_int_equal(rep.next_id, m.count + 1);
    check_stored(p, &m, 1);

    /* the writer continues the file: names it wrote before the reopen are
     * referenced, new ones written out; all read back after another */
    put_mixed(f, p, &m, 3);
    weir_flowfile a = {.uuid = new_uuid(f), .size = 5}, b = {.uuid = new_uuid(f), .size = 6};
    const weir_flowfile *ffs[2] = {&a, &b};
    put_ffs(p, &m, WEIR_PROV_ROUTE, 1700000001000, "Route", "matched", ffs, 2);
    put_ffs(p, &m, WEIR_PROV_DROP, 1700000001001, "Sink", "never-seen-before", ffs, 2);
    assert_int_equal(weir_prov_close(p), 0);
    p = open_repo(f, "prov", 1u << 20, 0, &rep);
    assert_int_equal(rep.files, 1);
    check_stored(p, &m, 1);

    /* the events of one FlowFile, in id order */
    weir_prov_events of;
    assert_int_equal(weir_prov_events_of(p, &m.ev[0].flowfile, &of), 0);
    assert_int_equal(of.count, 3); /* CREATE, FORK, JOIN */
    for (size_t i = 0; i < of.count; i++) {
        check_event(&m, &of.events[i]);
        assert_true(i == 0 || of.events[i - 1].id < of.events[i].id);
    }
    weir_prov_events_free(&of);
    assert_int_equal(weir_prov_close(p), 0);
    model_free(&m);
}

static void a_full_file_rolls_to_a_new_file_named_by_its_first_event_id(void **state)
{
    prov_fixture *f = *state;
    const uint64_t file_bytes_max = 900;
    model m = {0};
    weir_prov_repo *p = open_repo(f, "prov", file_bytes_max, 0, NULL);
    put_mixed(f, p, &m, 6);
    /* one record larger than a whole file: it gets a file of its own */
    char huge[2000];
    memset(huge, 'H', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    event_spec big = {.time_ms = 5,
                      .type = WEIR_PROV_SEND,
                      .flowfile = new_uuid(f),
                      .component = "Put",
                      .details = huge};
    put(f, p, &m, BY_STRING, &big);
    uint64_t big_id = m.count;
    put_mixed(f, p, &m, 2);
    assert_int_equal(weir_prov_close(p), 0);

    uint64_t ids[64];
    size_t files = list_files(f, ids, 64);
    assert_true(files >= 4);
    assert_int_equal(ids[0], 1);
    bool big_alone = false;
    for (size_t i = 0; i < files; i++) {
        size_t len;
        uint8_t *bytes = read_file(f, ids[i], &len);
        /* the header names the file's first event; the records fill it */
        assert_memory_equal(bytes, "WPV2", 4);
        assert_int_equal(weir_get_be64(bytes + 4), ids[i]);
        size_t offs[256];
        size_t records = record_offsets(bytes, len, offs, 256);
        uint64_t next = i + 1 < files ? ids[i + 1] : m.count + 1;
        assert_int_equal(records, next - ids[i]);
        if (ids[i] == big_id) {
            big_alone = records == 1;
            assert_true(len > file_bytes_max);
        } else {
            assert_true(len <= file_bytes_max);
        }
        free(bytes);
    }
    assert_true(big_alone);

    weir_prov_recovery rep;
    p = open_repo(f, "prov", file_bytes_max, 0, &rep);
    assert_int_equal(rep.files, (int)files);
    assert_int_equal(rep.next_id, m.count + 1);
    check_stored(p, &m, 1);
    assert_int_equal(weir_prov_close(p), 0);

    /* each file is read from its own start: without the first one, the
     * others still read back whole (their dictionaries and times are theirs) */
    assert_int_equal(weir_fs_unlink(f->env, file_of(1)), 0);
    p = open_repo(f, "prov", file_bytes_max, 0, &rep);
    assert_int_equal(rep.files, (int)files - 1);
    scan_state s = {&m, 0, 0};
    assert_int_equal(weir_prov_scan(p, scan_check, &s), 0);
    assert_int_equal(s.first_id, ids[1]);
    assert_int_equal(s.next_id, m.count + 1);
    assert_int_equal(weir_prov_close(p), 0);
    model_free(&m);
}

/* File bytes the next event adds, once flushed. */
static long bytes_added(prov_fixture *f, weir_prov_repo *p, model *m, put_how how,
                        const event_spec *s)
{
    assert_int_equal(weir_prov_flush(p), 0);
    long before = size_of(f, 1);
    put(f, p, m, how, s);
    assert_int_equal(weir_prov_flush(p), 0);
    return size_of(f, 1) - before;
}

/* Fills a new file's dictionary with names given as `fill` says, then
 * reads back what names in it and past it turned into. */
static void fill_the_dictionary_and_read_back(prov_fixture *f, put_how fill)
{
    model m = {0};
    weir_prov_repo *p = open_repo(f, "prov", 64u << 20, 0, NULL);
    weir_uuid u = new_uuid(f);
    char name[64];
    /* each new name takes an entry, until the dictionary is full */
    const int distinct = (int)PV_DICT_ENTRIES_MAX + 300;
    for (int i = 0; i < distinct; i++) {
        snprintf(name, sizeof name, "processor-%05d", i);
        event_spec s = {.time_ms = 1000 + i,
                        .type = WEIR_PROV_ROUTE,
                        .flowfile = u,
                        .component = name,
                        .relationship = "success"};
        put(f, p, &m, fill, &s);
    }
    /* both sides of the boundary: the name that took the last entry ("success"
     * took one) is a reference, the next one is written out, every time (all
     * at one time: the same one-byte time difference) */
    char last_in[64], first_out[64];
    snprintf(last_in, sizeof last_in, "processor-%05u", PV_DICT_ENTRIES_MAX - 2);
    snprintf(first_out, sizeof first_out, "processor-%05u", PV_DICT_ENTRIES_MAX - 1);
    event_spec at_9000 = {.time_ms = 9000, .type = WEIR_PROV_DROP, .flowfile = u};
    event_spec early = at_9000;
    early.component = last_in;
    event_spec late = early;
    late.component = first_out;
    put(f, p, &m, BY_STRING, &at_9000);
    long early_bytes = bytes_added(f, p, &m, BY_STRING, &early);
    long late_bytes = bytes_added(f, p, &m, BY_STRING, &late);
    /* a two-byte reference against a one-byte length and the bytes */
    assert_int_equal(late_bytes - early_bytes, (long)strlen(late.component) - 1);
    assert_int_equal(bytes_added(f, p, &m, BY_STRING, &late), late_bytes);
    assert_int_equal(bytes_added(f, p, &m, BY_NAME, &late), late_bytes);
    /* every name once more: those in the dictionary, up to its last entry,
     * as references; the rest written out again */
    for (int i = 0; i < distinct; i++) {
        snprintf(name, sizeof name, "processor-%05d", i);
        event_spec s = {.time_ms = 5000, .type = WEIR_PROV_DROP, .flowfile = u, .component = name};
        put(f, p, &m, BY_STRING, &s);
    }
    weir_flowfile ff = {.uuid = u, .size = 3};
    const weir_flowfile *ffs[1] = {&ff};
    put_ffs(p, &m, WEIR_PROV_ROUTE, 9001, "processor-04300", "success", ffs, 1);
    put_ffs(p, &m, WEIR_PROV_ROUTE, 9002, "processor-00008", "success", ffs, 1);
    assert_int_equal(weir_prov_close(p), 0);

    weir_prov_recovery rep;
    p = open_repo(f, "prov", 64u << 20, 0, &rep);
    assert_int_equal(rep.files, 1);
    check_stored(p, &m, 1);
    /* after the reopen the writer's dictionary is the reader's: full, with
     * the same entries */
    put(f, p, &m, BY_STRING, &at_9000);
    assert_int_equal(bytes_added(f, p, &m, BY_STRING, &early), early_bytes);
    assert_int_equal(bytes_added(f, p, &m, BY_STRING, &late), late_bytes);
    assert_int_equal(weir_prov_close(p), 0);
    p = open_repo(f, "prov", 64u << 20, 0, &rep);
    check_stored(p, &m, 1);
    assert_int_equal(weir_prov_close(p), 0);
    assert_int_equal(weir_fs_unlink(f->env, file_of(1)), 0);
    model_free(&m);
}

static void
more_distinct_names_than_the_dictionary_holds_are_written_out_and_read_back(void **state)
{
    prov_fixture *f = *state;
    /* strings and interned names enter the dictionary along two paths */
    fill_the_dictionary_and_read_back(f, BY_STRING);
    fill_the_dictionary_and_read_back(f, BY_NAME);
}

/* Ids of the events stored, ascending, into ids (at most max). */
typedef struct id_list {
    uint64_t *ids;
    size_t count;
    size_t max;
} id_list;

static int collect_id(const weir_prov_event *ev, void *arg)
{
    id_list *l = arg;
    assert_true(l->count < l->max);
    l->ids[l->count++] = ev->id;
    return 0;
}

/* The lineage of u is exactly the events with the given ids that are
 * still stored (ids >= first_kept), in (time, id) order. */
static void check_lineage(weir_prov_repo *p, const model *m, const weir_uuid *u,
                          const uint64_t *ids, size_t n, uint64_t first_kept)
{
    weir_prov_events l;
    assert_int_equal(weir_prov_lineage(p, u, &l), 0);
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        want += ids[i] >= first_kept;
    }
    assert_int_equal(l.count, want);
    for (size_t i = 0; i < l.count; i++) {
        check_event(m, &l.events[i]);
        bool listed = false;
        for (size_t k = 0; k < n; k++) {
            listed = listed || ids[k] == l.events[i].id;
        }
        assert_true(listed);
        if (i > 0) {
            const weir_prov_event *a = &l.events[i - 1], *b = &l.events[i];
            assert_true(a->time_ms < b->time_ms || (a->time_ms == b->time_ms && a->id < b->id));
        }
    }
    weir_prov_events_free(&l);
}

/* Unrelated CREATE + DROP pairs, n of them. */
static void put_filler(prov_fixture *f, weir_prov_repo *p, model *m, int64_t t, int n)
{
    for (int i = 0; i < n; i++) {
        event_spec s = {.time_ms = t,
                        .type = i % 2 ? WEIR_PROV_DROP : WEIR_PROV_CREATE,
                        .flowfile = new_uuid(f),
                        .size = 1,
                        .component = "Filler"};
        put(f, p, m, BY_STRING, &s);
    }
}

static void retention_drops_the_oldest_segments_and_lineage_answers_for_what_is_kept(void **state)
{
    prov_fixture *f = *state;
    const uint64_t file_bytes_max = 1200, storage_bytes_max = 4000;
    const char *dirs[2] = {NULL, "prov"}; /* memory, then files */
    for (int d = 0; d < 2; d++) {
        model m = {0};
        weir_prov_repo *p = open_repo(f, dirs[d], file_bytes_max, storage_bytes_max, NULL);
        /* A forks into B and C; B is modified; B and C join into D; D is
         * sent; C dropped. Filler after the fork carries it out of retention. */
        weir_uuid a = new_uuid(f), b = new_uuid(f), c = new_uuid(f), dd = new_uuid(f);
        weir_uuid pair[2] = {b, c};
        const event_spec specs[6] = {
            {.time_ms = 100, .type = WEIR_PROV_CREATE, .flowfile = a, .component = "Gen"},
            {.time_ms = 101,
             .type = WEIR_PROV_FORK,
             .flowfile = a,
             .parents = &a,
             .parent_count = 1,
             .children = pair,
             .child_count = 2,
             .component = "Split"},
            {.time_ms = 300,
             .type = WEIR_PROV_ATTRIBUTES_MODIFIED,
             .flowfile = b,
             .component = "Update"},
            {.time_ms = 301,
             .type = WEIR_PROV_JOIN,
             .flowfile = dd,
             .parents = pair,
             .parent_count = 2,
             .children = &dd,
             .child_count = 1,
             .component = "Merge"},
            {.time_ms = 299,
             .type = WEIR_PROV_SEND,
             .flowfile = dd,
             .component = "Publish",
             .details = "kafka://b1/events"},
            {.time_ms = 302, .type = WEIR_PROV_DROP, .flowfile = c, .component = "Sink"},
        };
        uint64_t ids[6];
        for (int k = 0; k < 6; k++) {
            put(f, p, &m, k % 2 ? BY_NAME : BY_STRING, &specs[k]);
            ids[k] = m.count;
            if (k == 1) {
                put_filler(f, p, &m, 102, 200);
            }
        }
        put_filler(f, p, &m, 400, 30);
        assert_int_equal(weir_prov_flush(p), 0);

        uint64_t kept[2048];
        id_list l = {kept, 0, 2048};
        assert_int_equal(weir_prov_scan(p, collect_id, &l), 0);
        uint64_t first_kept = kept[0];
        /* the fork is gone, the join and after are kept */
        assert_true(first_kept > ids[1] && first_kept < ids[2]);
        check_stored(p, &m, first_kept);
        weir_prov_events of;
        assert_int_equal(weir_prov_events_of(p, &a, &of), 0);
        assert_int_equal(of.count, 0);
        weir_prov_events_free(&of);
        /* D's lineage: its parents' kept events (the join links them), not
         * A's (the fork that linked A is gone) */
        check_lineage(p, &m, &dd, ids, 6, first_kept);
        /* B's: its own and D's (not C's, a sibling) */
        check_lineage(p, &m, &b, ids, 5, first_kept);
        if (dirs[d] != NULL) {
            uint64_t files[64];
            size_t n = list_files(f, files, 64);
            assert_int_equal(files[0], first_kept);
            long total = 0;
            for (size_t i = 0; i < n; i++) {
                total += size_of(f, files[i]);
            }
            /* within the limit but for the active file's growth since its roll */
            assert_true(total <= (long)(storage_bytes_max + file_bytes_max));
            assert_true(total > (long)(storage_bytes_max - file_bytes_max));
            assert_int_equal(weir_prov_close(p), 0);
            weir_prov_recovery rep;
            p = open_repo(f, "prov", file_bytes_max, storage_bytes_max, &rep);
            assert_int_equal(rep.files, (int)n);
            assert_int_equal(rep.events, m.count + 1 - first_kept);
            check_stored(p, &m, first_kept);
            check_lineage(p, &m, &dd, ids, 6, first_kept);
        }
        assert_int_equal(weir_prov_close(p), 0);
        model_free(&m);
    }
}

static void a_torn_last_record_is_cut_at_open_and_the_records_before_it_read_back(void **state)
{
    prov_fixture *f = *state;
    model m = {0};
    weir_prov_repo *p = open_repo(f, "prov", 1u << 20, 0, NULL);
    put_mixed(f, p, &m, 2);
    assert_int_equal(weir_prov_flush(p), 0);
    long whole = size_of(f, 1);
    /* the last record brings a name of its own into the dictionary */
    event_spec last = {.time_ms = 77,
                       .type = WEIR_PROV_ROUTE,
                       .flowfile = new_uuid(f),
                       .size = 12345,
                       .component = "LateComer",
                       .relationship = "late"};
    put(f, p, &m, BY_STRING, &last);
    assert_int_equal(weir_prov_flush(p), 0);
    weir_prov_abandon(p); /* the process dies */
    size_t len;
    uint8_t *bytes = read_file(f, 1, &len);
    assert_true((long)len > whole + 2);
    want_event torn = m.ev[m.count - 1];
    m.count--; /* the torn event is not expected back */

    /* every cut inside the last record, and garbage after a whole file */
    uint8_t garbage[3] = {0x85, 0x01, 0x00}; /* a length of 133, then too little */
    for (size_t cut = (size_t)whole + 1; cut <= len; cut++) {
        bool tail = cut == len;
        write_file(f, 1, bytes, cut, true);
        if (tail) {
            write_file(f, 1, garbage, sizeof garbage, false);
        }
        weir_prov_recovery rep;
        p = open_repo(f, "prov", 1u << 20, 0, &rep);
        assert_true(rep.cut);
        assert_string_equal(rep.cut_file, "00000000000000000001.prov");
        assert_int_equal(rep.cut_offset, tail ? len : (size_t)whole);
        assert_non_null(rep.cut_reason);
        assert_int_equal(size_of(f, 1), tail ? (long)len : whole);
        if (tail) {
            m.count++; /* the whole record stays */
        }
        assert_int_equal(rep.next_id, m.count + 1);
        check_stored(p, &m, 1);
        weir_prov_abandon(p);
        if (tail) {
            m.count--;
        }
    }
    /* after a cut, writing goes on where the whole records end: the name
     * the cut record brought in is written out again, not referenced */
    write_file(f, 1, bytes, len - 1, true);
    p = open_repo(f, "prov", 1u << 20, 0, NULL);
    event_spec again = {.time_ms = 78,
                        .type = WEIR_PROV_ROUTE,
                        .flowfile = torn.flowfile,
                        .component = "LateComer",
                        .relationship = "late"};
    put(f, p, &m, BY_STRING, &again);
    assert_int_equal(weir_prov_close(p), 0);
    weir_prov_recovery rep;
    p = open_repo(f, "prov", 1u << 20, 0, &rep);
    assert_false(rep.cut);
    check_stored(p, &m, 1);
    assert_int_equal(weir_prov_close(p), 0);
    free(torn.component);
    free(torn.relationship);
    free(torn.details);
    free(bytes);
    model_free(&m);
}

/* Opens, scans and queries; each answers 0 or WEIR_E_CORRUPT. */
static int open_and_read(prov_fixture *f, const weir_uuid *u)
{
    weir_prov_config cfg;
    weir_prov_config_default(&cfg);
    cfg.file_bytes_max = 600;
    weir_prov_repo *p = NULL;
    char why[256] = "";
    int err = weir_prov_open(f->env, "prov", &cfg, NULL, &p, why, sizeof why);
    if (err != 0) {
        assert_int_equal(err, WEIR_E_CORRUPT);
        assert_non_null(strstr(why, "00000000000000000001.prov: offset 0: "));
        return err;
    }
    uint64_t ids[512];
    id_list l = {ids, 0, 512};
    int rc = weir_prov_scan(p, collect_id, &l);
    assert_true(rc == 0 || rc == WEIR_E_CORRUPT);
    weir_prov_events ev;
    int rc2 = weir_prov_lineage(p, u, &ev);
    assert_int_equal(rc2, rc);
    assert_true(rc2 == 0 || ev.events == NULL);
    weir_prov_events_free(&ev);
    weir_prov_abandon(p);
    return rc;
}

static void
damaged_records_are_named_with_their_file_and_offset_and_read_nothing_wrong(void **state)
{
    prov_fixture *f = *state;
    model m = {0};
    weir_prov_repo *p = open_repo(f, "prov", 600, 0, NULL);
    put_mixed(f, p, &m, 4);
    assert_int_equal(weir_prov_close(p), 0);
    uint64_t files[64];
    size_t nfiles = list_files(f, files, 64);
    assert_true(nfiles >= 3);
    size_t len;
    uint8_t *bytes = read_file(f, 1, &len);
    size_t offs[128];
    size_t records = record_offsets(bytes, len, offs, 128);
    assert_true(records >= 4);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);

    /* a flipped bit in a record of an older file: the open succeeds (older
     * records are checked when read), every query fails naming the place */
    memcpy(copy, bytes, len);
    copy[offs[2] + 7] ^= 0x10;
    write_file(f, 1, copy, len, true);
    weir_prov_recovery rep;
    p = open_repo(f, "prov", 600, 0, &rep);
    assert_false(rep.cut);
    log_capture_start(f->env);
    char want[128];
    snprintf(want, sizeof want, "prov/00000000000000000001.prov: offset %zu: record CRC mismatch",
             offs[2]);
    uint64_t ids[512];
    id_list l = {ids, 0, 512};
    assert_int_equal(weir_prov_scan(p, collect_id, &l), WEIR_E_CORRUPT);
    assert_int_equal(l.count, 2); /* the records before it were read */
    weir_prov_events ev;
    assert_int_equal(weir_prov_lineage(p, &m.ev[0].flowfile, &ev), WEIR_E_CORRUPT);
    assert_null(ev.events);
    assert_int_equal(weir_prov_events_of(p, &m.ev[0].flowfile, &ev), WEIR_E_CORRUPT);
    assert_null(ev.events);
    log_capture_stop(f->env);
    assert_non_null(strstr(g_log, want));
    /* the repository still records, and counts everything */
    event_spec more = {.time_ms = 5, .type = WEIR_PROV_DROP, .flowfile = new_uuid(f)};
    put(f, p, &m, BY_STRING, &more);
    for (int t = 0; t < WEIR_PROV_TYPE_COUNT; t++) {
        assert_int_equal(weir_prov_count(p, (weir_prov_type)t), model_count(&m, (weir_prov_type)t));
    }
    assert_int_equal(weir_prov_close(p), 0);

    /* a record whose CRC matches but whose payload does not parse (a type
     * out of range): named the same way */
    memcpy(copy, bytes, len);
    uint64_t rl = 0;
    size_t h = weir_get_uvarint(copy + offs[1], copy + len, 5, &rl);
    copy[offs[1] + h + 4] = 200;
    weir_put_be32(copy + offs[1] + h, weir_crc32c(0, copy + offs[1] + h + 4, (size_t)rl));
    write_file(f, 1, copy, len, true);
    p = open_repo(f, "prov", 600, 0, NULL);
    log_capture_start(f->env);
    l.count = 0;
    assert_int_equal(weir_prov_scan(p, collect_id, &l), WEIR_E_CORRUPT);
    assert_int_equal(l.count, 1);
    log_capture_stop(f->env);
    snprintf(want, sizeof want, "prov/00000000000000000001.prov: offset %zu: event: type", offs[1]);
    assert_non_null(strstr(g_log, want));
    weir_prov_abandon(p);

    /* every byte of the file changed in turn, with the record CRCs made to
     * match so the decoder sees the damage: a clean error or a clean read */
    int corrupt = 0, clean = 0;
    log_capture_start(f->env); /* quiet: the messages were checked above */
    for (size_t at = 0; at < len; at++) {
        memcpy(copy, bytes, len);
        copy[at] ^= 0xA5;
        for (size_t r = 0; r < records && at >= PV_HEADER_BYTES; r++) {
            size_t n = weir_get_uvarint(copy + offs[r], copy + len, 5, &rl);
            if (n == 0 || offs[r] + n + 4 + rl > len) {
                break; /* the damage hit a length: nothing to re-sum */
            }
            weir_put_be32(copy + offs[r] + n, weir_crc32c(0, copy + offs[r] + n + 4, (size_t)rl));
        }
        write_file(f, 1, copy, len, true);
        int rc = open_and_read(f, &m.ev[0].flowfile);
        corrupt += rc == WEIR_E_CORRUPT;
        clean += rc == 0;
    }
    log_capture_stop(f->env);
    assert_int_equal(corrupt + clean, (int)len);
    assert_true(corrupt >= PV_HEADER_BYTES); /* the header's bytes all count */
    assert_true(clean > 0);                  /* e.g. a changed uuid byte is still an event */

    /* damage in the last file is a torn tail: cut there, and reported */
    write_file(f, 1, bytes, len, true);
    uint64_t last = files[nfiles - 1];
    size_t last_len;
    uint8_t *last_bytes = read_file(f, last, &last_len);
    size_t last_offs[128];
    size_t last_records = record_offsets(last_bytes, last_len, last_offs, 128);
    assert_true(last_records >= 2);
    last_bytes[last_offs[1] + 6] ^= 0x01;
    write_file(f, last, last_bytes, last_len, true);
    p = open_repo(f, "prov", 600, 0, &rep);
    assert_true(rep.cut);
    assert_int_equal(rep.cut_offset, last_offs[1]);
    char name[32];
    snprintf(name, sizeof name, "%020llu.prov", (unsigned long long)last);
    assert_string_equal(rep.cut_file, name);
    assert_string_equal(rep.cut_reason, "record CRC mismatch");
    assert_int_equal(rep.next_id, last + 1);
    weir_prov_abandon(p);
    free(last_bytes);
    free(copy);
    free(bytes);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(events_read_back_field_for_field_after_a_close_and_a_reopen,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_file_rolls_to_a_new_file_named_by_its_first_event_id,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            more_distinct_names_than_the_dictionary_holds_are_written_out_and_read_back, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            retention_drops_the_oldest_segments_and_lineage_answers_for_what_is_kept, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_torn_last_record_is_cut_at_open_and_the_records_before_it_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(
            damaged_records_are_named_with_their_file_and_offset_and_read_nothing_wrong, setup,
            teardown),
    };
    return cmocka_run_group_tests_name("flow_provenance", tests, NULL, NULL);
}
