/* The flow engine's repositories: FlowFiles (attributes, uuids, clones,
 * encoding), the content repository (claims, files, reference counts,
 * reclaiming), the FlowFile write-ahead log (round trip, torn tails,
 * checkpoints, swap files, corrupt files) and the provenance repository
 * (lineage across FORK and JOIN, counts, torn tails, retention) on real
 * folders; then, in the simulator, crashes that drop or tear unsynced
 * writes: after every restart the FlowFiles are exactly those of a commit
 * at or after the last durable one, their content intact, and no content
 * file is kept that nothing refers to. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_exit.h"
#include "core/prng.h"
#include "env/uv_world.h"
#include "env/world.h"
#include "faulty_env.h"
#include "flow/content_repo.h"
#include "flow/flowfile.h"
#include "flow/flowfile_repo.h"
#include "flow/provenance.h"
#include "sim.h"

/* ---- a real env (libuv backend) rooted in a fresh temporary folder, used
 * directly from the test (file operations are synchronous) ---- */

typedef struct repo_fixture {
    char root[64];
    char node_dir[96]; /* root/n: where the env's relative paths land */
    weir_world *w;
    weir_env *env;
} repo_fixture;

static void *fixture_node_start(weir_env *env, void *arg)
{
    ((repo_fixture *)arg)->env = env;
    return arg;
}

static const weir_node_type fixture_node = {"n", fixture_node_start, NULL};

static repo_fixture *fixture_new(void)
{
    repo_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/weir_flow_repos_XXXXXX");
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

static void fixture_free(repo_fixture *f)
{
    weir_world_destroy(f->w);
    nftw(f->root, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
}

/* Real path of a file the env calls `rel`. */
static const char *fixture_path(const repo_fixture *f, const char *rel)
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

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* ---- helpers ---- */

static weir_content_repo *content_open(weir_env *env, const char *dir, uint64_t file_bytes_max)
{
    weir_content_repo_config cfg;
    weir_content_repo_config_default(&cfg);
    if (file_bytes_max > 0) {
        cfg.file_bytes_max = file_bytes_max;
        cfg.write_buffer_bytes = 256;
    }
    weir_content_repo *c = NULL;
    char why[256] = "";
    int err = weir_content_repo_open(env, dir, &cfg, &c, why, sizeof why);
    if (err != 0) {
        fail_msg("content open: %s (%s)", weir_err_str(err), why);
    }
    return c;
}

/* Opens dir ("ff" when NULL) with cfg (no automatic checkpoints when NULL). */
static weir_ffrepo *ffrepo_open_in(weir_env *env, const char *dir, weir_content_repo *c,
                                   const weir_ffrepo_config *cfg_in, weir_ffrepo_recovered *rec)
{
    weir_ffrepo_config cfg;
    weir_ffrepo_config_default(&cfg);
    cfg.checkpoint_interval_ms = 0;
    cfg.journal_bytes_max = 0;
    if (cfg_in != NULL) {
        cfg = *cfg_in;
    }
    weir_ffrepo *r = NULL;
    char why[256] = "";
    int err = weir_ffrepo_open(env, dir != NULL ? dir : "ff", &cfg, c, rec, &r, why, sizeof why);
    if (err != 0) {
        fail_msg("ffrepo open: %s (%s)", weir_err_str(err), why);
    }
    return r;
}

static weir_ffrepo *ffrepo_open(weir_env *env, weir_content_repo *c, weir_ffrepo_recovered *rec)
{
    return ffrepo_open_in(env, NULL, c, NULL, rec);
}

/* A FlowFile with attribute "n" = tag and content "content-<tag>-...". */
static weir_flowfile *make_ff(weir_env *env, weir_ffrepo *r, weir_content_repo *c, int tag,
                              size_t size)
{
    weir_flowfile *ff =
        weir_flowfile_create(env, r != NULL ? weir_ffrepo_id_next(r) : (uint64_t)tag + 1);
    assert_non_null(ff);
    char v[32];
    snprintf(v, sizeof v, "%d", tag);
    assert_int_equal(weir_flowfile_attr_set(ff, "n", v), 0);
    if (size > 0) {
        char *data = malloc(size);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++) {
            data[i] = (char)('a' + (tag + (int)i) % 26);
        }
        weir_content_claim claim;
        assert_int_equal(weir_content_repo_write(c, data, size, &claim), 0);
        weir_flowfile_set_content(ff, c, &claim);
        free(data);
    }
    return ff;
}

static void check_content(weir_content_repo *c, const weir_flowfile *ff, int tag, size_t size)
{
    assert_int_equal(ff->size, size);
    char *data = malloc(size + 1);
    assert_non_null(data);
    int err = weir_content_repo_read(c, &ff->claim, ff->content_offset, data, size);
    if (err != 0) {
        fail_msg("FlowFile %d: content (file %llu offset %llu length %llu): %s", tag,
                 (unsigned long long)ff->claim.file_id, (unsigned long long)ff->claim.offset,
                 (unsigned long long)ff->claim.length, weir_err_str(err));
    }
    for (size_t i = 0; i < size; i++) {
        assert_int_equal(data[i], (char)('a' + (tag + (int)i) % 26));
    }
    free(data);
}

static int ff_tag(const weir_flowfile *ff)
{
    const char *v = weir_flowfile_attr_get(ff, "n");
    assert_non_null(v);
    return atoi(v);
}

static void corrupt_byte(const char *path, long offset)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_true(c != EOF);
    assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
    fputc(c ^ 0x40, fp);
    fclose(fp);
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        n += e->d_name[0] != '.' && l > s && strcmp(e->d_name + l - s, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* ---- FlowFiles ---- */

static void attributes_keep_insertion_order_and_replacing_keeps_the_place(void **state)
{
    repo_fixture *f = *state;
    weir_flowfile *ff = weir_flowfile_create(f->env, 7);
    assert_non_null(ff);
    assert_int_equal(weir_flowfile_attr_count(ff), 3);
    assert_int_equal(weir_flowfile_attr_set(ff, "a", "1"), 0);
    assert_int_equal(weir_flowfile_attr_set(ff, "b", "22"), 0);
    assert_int_equal(weir_flowfile_attr_set(ff, "c", "333"), 0);
    assert_int_equal(weir_flowfile_attr_set(ff, "b", "a much longer value than before"), 0);
    assert_int_equal(weir_flowfile_attr_set(ff, "c", "3"), 0);
    assert_true(weir_flowfile_attr_remove(ff, "a"));
    assert_false(weir_flowfile_attr_remove(ff, "a"));
    assert_int_equal(weir_flowfile_attr_set(ff, "a", "back"), 0);
    /* grow past the first block: entries and bytes */
    for (int i = 0; i < 40; i++) {
        char k[16], v[64];
        snprintf(k, sizeof k, "k%02d", i);
        snprintf(v, sizeof v, "value number %d of many, long enough to grow", i);
        assert_int_equal(weir_flowfile_attr_set(ff, k, v), 0);
    }
    const char *want[] = {"uuid", "filename", "path", "b", "c", "a", "k00"};
    for (size_t i = 0; i < 7; i++) {
        const char *k, *v;
        size_t kl, vl;
        weir_flowfile_attr_at(ff, i, &k, &kl, &v, &vl);
        assert_string_equal(k, want[i]);
        assert_int_equal(kl, strlen(want[i]));
        assert_int_equal(vl, strlen(v));
    }
    assert_int_equal(weir_flowfile_attr_count(ff), 46);
    assert_string_equal(weir_flowfile_attr_get(ff, "b"), "a much longer value than before");
    assert_string_equal(weir_flowfile_attr_get(ff, "c"), "3");
    assert_string_equal(weir_flowfile_attr_get(ff, "a"), "back");
    assert_string_equal(weir_flowfile_attr_get(ff, "k39"),
                        "value number 39 of many, long enough to grow");
    assert_null(weir_flowfile_attr_get(ff, "missing"));
    /* a value set from another attribute's bytes */
    assert_int_equal(weir_flowfile_attr_set(ff, "k00", weir_flowfile_attr_get(ff, "k39")), 0);
    assert_string_equal(weir_flowfile_attr_get(ff, "k00"), weir_flowfile_attr_get(ff, "k39"));
    /* new keys from values inside the map, through several rebuilds */
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "copy%d", i);
        assert_int_equal(weir_flowfile_attr_set(ff, k, weir_flowfile_attr_get(ff, "k39")), 0);
    }
    assert_string_equal(weir_flowfile_attr_get(ff, "copy99"),
                        "value number 39 of many, long enough to grow");
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "copy%d", i);
        assert_true(weir_flowfile_attr_remove(ff, k));
    }
    /* the uuid attribute is fixed */
    assert_int_equal(weir_flowfile_attr_set(ff, "uuid", "x"), WEIR_E_INVAL);
    assert_false(weir_flowfile_attr_remove(ff, "uuid"));
    assert_int_equal(weir_flowfile_attr_set(ff, "", "x"), WEIR_E_INVAL);
    char scratch[32];
    ff->size = 1234;
    assert_string_equal(weir_flowfile_lookup(ff, "fileSize", scratch, sizeof scratch), "1234");
    char entry[32];
    snprintf(entry, sizeof entry, "%lld", (long long)ff->entry_date_ms);
    assert_string_equal(weir_flowfile_lookup(ff, "entryDate", scratch, sizeof scratch), entry);
    ff->size = 0;
    weir_flowfile_free(ff);
}

static void uuids_are_version_4_from_the_seeded_prng_and_name_the_file(void **state)
{
    repo_fixture *f = *state;
    weir_prng saved = f->env->prng;
    weir_flowfile *a = weir_flowfile_create(f->env, 1);
    f->env->prng = saved;
    weir_flowfile *b = weir_flowfile_create(f->env, 2);
    weir_flowfile *c = weir_flowfile_create(f->env, 3);
    assert_true(weir_uuid_equal(&a->uuid, &b->uuid)); /* same seed, same uuid */
    assert_false(weir_uuid_equal(&a->uuid, &c->uuid));
    const char *s = weir_flowfile_attr_get(a, "uuid");
    assert_int_equal(strlen(s), 36);
    assert_int_equal(s[14], '4');
    assert_non_null(strchr("89ab", s[19]));
    assert_string_equal(weir_flowfile_attr_get(a, "filename"), s);
    assert_string_equal(weir_flowfile_attr_get(a, "path"), "./");
    weir_uuid parsed;
    assert_int_equal(weir_uuid_parse(s, &parsed), 0);
    assert_true(weir_uuid_equal(&parsed, &a->uuid));
    assert_int_equal(weir_uuid_parse("not-a-uuid", &parsed), WEIR_E_INVAL);
    char upper[37];
    for (int i = 0; i < 37; i++) {
        upper[i] = (char)((s[i] >= 'a' && s[i] <= 'f') ? s[i] - 32 : s[i]);
    }
    assert_int_equal(weir_uuid_parse(upper, &parsed), 0);
    assert_true(weir_uuid_equal(&parsed, &a->uuid));
    weir_flowfile_free(a);
    weir_flowfile_free(b);
    weir_flowfile_free(c);
}

static void
a_child_of_several_parents_keeps_their_common_attributes_and_earliest_lineage(void **state)
{
    repo_fixture *f = *state;
    weir_flowfile *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = weir_flowfile_create(f->env, (uint64_t)i + 1);
        assert_int_equal(weir_flowfile_attr_set(p[i], "topic", "events"), 0);
        assert_int_equal(weir_flowfile_attr_set(p[i], "part", i == 2 ? "x" : "y"), 0);
        p[i]->lineage_start_ms = 1000 - i;
        p[i]->lineage_start_ns = 5000 + i;
    }
    weir_flowfile *child =
        weir_flowfile_create_child(f->env, 9, (const weir_flowfile *const *)p, 3);
    assert_non_null(child);
    assert_string_equal(weir_flowfile_attr_get(child, "topic"), "events");
    assert_null(weir_flowfile_attr_get(child, "part"));
    assert_int_equal(child->lineage_start_ms, 998);
    assert_int_equal(child->lineage_start_ns, 5000);
    char s[37];
    weir_uuid_format(&child->uuid, s);
    assert_string_equal(weir_flowfile_attr_get(child, "uuid"), s);
    assert_string_equal(weir_flowfile_attr_get(child, "filename"), s); /* not common */
    weir_flowfile *one = weir_flowfile_create_child(f->env, 10, (const weir_flowfile *const *)p, 1);
    assert_string_equal(weir_flowfile_attr_get(one, "part"), "y");
    assert_string_equal(weir_flowfile_attr_get(one, "filename"),
                        weir_flowfile_attr_get(p[0], "filename"));
    assert_false(weir_uuid_equal(&one->uuid, &p[0]->uuid));
    for (int i = 0; i < 3; i++) {
        weir_flowfile_free(p[i]);
    }
    weir_flowfile_free(child);
    weir_flowfile_free(one);
}

static void clones_share_the_claim_with_a_reference_each(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, NULL, 0);
    weir_flowfile *ff = make_ff(f->env, NULL, c, 5, 100);
    uint64_t file = ff->claim.file_id;
    assert_int_equal(weir_content_repo_refs(c, file), 1);
    weir_flowfile *cl = weir_flowfile_clone(f->env, 77, ff);
    weir_flowfile *part = weir_flowfile_clone_range(f->env, 78, ff, 10, 20);
    weir_flowfile *dup = weir_flowfile_dup(ff);
    assert_int_equal(weir_content_repo_refs(c, file), 4);
    assert_int_equal(cl->id, 77);
    assert_false(weir_uuid_equal(&cl->uuid, &ff->uuid));
    assert_string_equal(weir_flowfile_attr_get(cl, "n"), "5");
    assert_true(weir_uuid_equal(&dup->uuid, &ff->uuid));
    assert_int_equal(dup->id, ff->id);
    char buf[20];
    assert_int_equal(weir_content_repo_read(c, &part->claim, part->content_offset, buf, 20), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(buf[i], (char)('a' + (5 + 10 + i) % 26));
    }
    const uint8_t *peek;
    assert_int_equal(weir_content_repo_peek(c, &ff->claim, 0, 100, &peek), 0);
    assert_int_equal(peek[3], 'a' + 8);
    assert_int_equal(weir_content_repo_peek(c, &ff->claim, 1, 100, &peek), WEIR_E_RANGE);
    /* assign: the target's old claim goes, the source's is shared */
    weir_flowfile *other = make_ff(f->env, NULL, c, 6, 10);
    assert_int_equal(weir_flowfile_assign(other, ff), 0);
    assert_int_equal(weir_content_repo_refs(c, file), 5);
    weir_flowfile_free(other);
    weir_flowfile_free(cl);
    weir_flowfile_free(part);
    weir_flowfile_free(dup);
    assert_int_equal(weir_content_repo_refs(c, file), 1);
    weir_flowfile_free(ff);
    assert_int_equal(weir_content_repo_refs(c, file), 0);
    weir_content_repo_stats st;
    weir_content_repo_stats_get(c, &st);
    assert_int_equal(st.refs, 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

static void an_encoded_flowfile_decodes_to_the_same_and_every_cut_is_refused(void **state)
{
    repo_fixture *f = *state;
    weir_flowfile *ff = weir_flowfile_create(f->env, 123456789);
    assert_int_equal(weir_flowfile_attr_set(ff, "mime.type", "text/plain"), 0);
    assert_int_equal(weir_flowfile_attr_set(ff, "empty", ""), 0);
    ff->claim = (weir_content_claim){3, 4096, 500};
    ff->content_offset = 100;
    ff->size = 400;
    ff->queue_date_ns = -5;
    ff->queue_index = 99;
    ff->penalty_expiry_ns = 1ll << 40;
    uint8_t *buf = malloc(weir_flowfile_encoded_size_max(ff));
    size_t n = weir_flowfile_encode(ff, buf);
    assert_true(n <= weir_flowfile_encoded_size_max(ff));
    weir_flowfile *back = NULL;
    const char *why = NULL;
    assert_int_equal(weir_flowfile_decode(buf, n, NULL, &back, &why), 0);
    assert_int_equal(back->id, ff->id);
    assert_true(weir_uuid_equal(&back->uuid, &ff->uuid));
    assert_memory_equal(&back->claim, &ff->claim, sizeof ff->claim);
    assert_int_equal(back->content_offset, 100);
    assert_int_equal(back->size, 400);
    assert_int_equal(back->entry_date_ms, ff->entry_date_ms);
    assert_int_equal(back->lineage_start_ns, ff->lineage_start_ns);
    assert_int_equal(back->queue_date_ns, -5);
    assert_int_equal(back->queue_index, 99);
    assert_int_equal(back->penalty_expiry_ns, 1ll << 40);
    assert_int_equal(weir_flowfile_attr_count(back), weir_flowfile_attr_count(ff));
    for (size_t i = 0; i < weir_flowfile_attr_count(ff); i++) {
        const char *k1, *v1, *k2, *v2;
        weir_flowfile_attr_at(ff, i, &k1, NULL, &v1, NULL);
        weir_flowfile_attr_at(back, i, &k2, NULL, &v2, NULL);
        assert_string_equal(k1, k2);
        assert_string_equal(v1, v2);
    }
    weir_flowfile_free_keep_claim(back);
    for (size_t cut = 0; cut < n; cut++) {
        weir_flowfile *x = NULL;
        why = NULL;
        assert_int_equal(weir_flowfile_decode(buf, cut, NULL, &x, &why), WEIR_E_CORRUPT);
        assert_non_null(why);
    }
    /* content outside the claim */
    ff->size = 401;
    n = weir_flowfile_encode(ff, buf);
    assert_int_equal(weir_flowfile_decode(buf, n, NULL, &back, &why), WEIR_E_CORRUPT);
    assert_string_equal(why, "flowfile: content range outside its claim");
    free(buf);
    ff->claim = (weir_content_claim){0, 0, 0};
    ff->size = 0;
    ff->content_offset = 0;
    weir_flowfile_free(ff);
}

/* ---- content repository ---- */

static void claims_fill_files_that_roll_and_read_back_from_buffer_and_disk(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 1000);
    weir_content_claim claims[30];
    for (int i = 0; i < 30; i++) {
        char data[200];
        memset(data, 'A' + i % 26, sizeof data);
        assert_int_equal(weir_content_repo_write(c, data, 50 + (size_t)i * 5, &claims[i]), 0);
        assert_true(claims[i].file_id >= 1);
    }
    /* a claim bigger than a file gets one of its own */
    char big[3000];
    memset(big, 'z', sizeof big);
    weir_content_claim bc;
    assert_int_equal(weir_content_repo_write(c, big, sizeof big, &bc), 0);
    assert_int_equal(bc.offset, 0);
    assert_int_equal(bc.length, 3000);
    weir_content_claim empty;
    assert_int_equal(weir_content_repo_write(c, big, 0, &empty), 0);
    assert_true(weir_content_claim_is_null(&empty));
    for (int i = 0; i < 30; i++) {
        char data[200];
        size_t len = 50 + (size_t)i * 5;
        assert_int_equal(weir_content_repo_read(c, &claims[i], 0, data, len), 0);
        for (size_t k = 0; k < len; k++) {
            assert_int_equal(data[k], 'A' + i % 26);
        }
        assert_true(claims[i].offset + claims[i].length <= 1000);
        assert_int_equal(weir_content_repo_read(c, &claims[i], 1, data, len), WEIR_E_RANGE);
    }
    assert_true(claims[29].file_id > claims[0].file_id);
    assert_int_equal(weir_content_repo_sync(c), 0);
    char rb[3000];
    assert_int_equal(weir_content_repo_read(c, &bc, 0, rb, sizeof rb), 0);
    assert_memory_equal(rb, big, sizeof big);
    int files = count_files(fixture_path(f, "content"), ".claim");
    assert_int_equal(files, (int)bc.file_id);
    weir_content_repo_stats st;
    weir_content_repo_stats_get(c, &st);
    assert_int_equal(st.claims_written, 31);
    assert_int_equal(st.refs, 31);
    for (int i = 0; i < 30; i++) {
        weir_content_repo_decref(c, &claims[i]);
    }
    weir_content_repo_decref(c, &bc);
    assert_int_equal(weir_content_repo_close(c), 0);
}

static void a_file_goes_once_all_its_claims_are_released_but_not_while_active(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 300);
    weir_content_claim a, b, d;
    char data[200] = {0};
    assert_int_equal(weir_content_repo_write(c, data, 100, &a), 0);
    assert_int_equal(weir_content_repo_write(c, data, 100, &b), 0);
    assert_int_equal(a.file_id, b.file_id);
    /* a fresh repository is recovering until told otherwise */
    int n = 0;
    assert_int_equal(weir_content_repo_recovery_finish(c, &n), 0);
    assert_int_equal(n, 0);
    weir_content_repo_incref(c, &a);
    weir_content_repo_decref(c, &a);
    weir_content_repo_decref(c, &a);
    weir_content_repo_decref(c, &b);
    assert_int_equal(weir_content_repo_refs(c, a.file_id), 0);
    n = 0;
    assert_int_equal(weir_content_repo_reclaim(c, &n), 0);
    assert_int_equal(n, 0); /* still the active file */
    assert_int_equal(count_files(fixture_path(f, "content"), ".claim"), 1);
    assert_int_equal(weir_content_repo_write(c, data, 200, &d), 0); /* rolls */
    assert_true(d.file_id > a.file_id);
    assert_int_equal(weir_content_repo_sync(c), 0);
    assert_int_equal(count_files(fixture_path(f, "content"), ".claim"), 2);
    assert_int_equal(weir_content_repo_reclaim(c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(count_files(fixture_path(f, "content"), ".claim"), 1);
    assert_int_equal(weir_content_repo_read(c, &a, 0, data, 10), WEIR_E_NOENT);
    weir_content_repo_stats st;
    weir_content_repo_stats_get(c, &st);
    assert_int_equal(st.files_reclaimed, 1);
    assert_int_equal(st.bytes_reclaimed, 200);
    weir_content_repo_decref(c, &d);
    assert_int_equal(weir_content_repo_close(c), 0);
}

/* ---- FlowFile repository ---- */

typedef struct expect_ff {
    int tag;
    size_t size;
    uint32_t queue;
} expect_ff;

static void check_recovered(weir_content_repo *c, weir_ffrepo_recovered *rec, const expect_ff *want,
                            size_t n)
{
    assert_int_equal(rec->count, n);
    bool *seen = calloc(n + 1, 1);
    for (size_t i = 0; i < rec->count; i++) {
        int tag = ff_tag(rec->entries[i].ff);
        size_t k = 0;
        while (k < n && want[k].tag != tag) {
            k++;
        }
        if (k == n) {
            fail_msg("FlowFile %d recovered, not expected", tag);
        }
        assert_false(seen[k]); /* no duplicates */
        seen[k] = true;
        assert_int_equal(rec->entries[i].queue_id, want[k].queue);
        check_content(c, rec->entries[i].ff, tag, want[k].size);
        if (i > 0) {
            assert_true(rec->entries[i - 1].queue_id <= rec->entries[i].queue_id);
        }
    }
    free(seen);
}

static void commits_survive_a_restart_with_queues_attributes_and_content(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 4096);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 0);
    assert_false(rec.snapshot_loaded);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    weir_flowfile *ffs[10];
    for (int i = 0; i < 10; i++) {
        ffs[i] = make_ff(f->env, r, c, i, (size_t)(i * 37));
        ffs[i]->queue_date_ns = 1000 - i;
        ffs[i]->queue_index = (uint64_t)i;
        weir_ffrepo_batch_put(&b, (uint32_t)(i % 3), ffs[i]);
    }
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    assert_int_equal(b.len, 0);
    /* a second commit moves, updates and deletes */
    weir_ffrepo_batch_move(&b, ffs[0]->id, 7);
    assert_int_equal(weir_flowfile_attr_set(ffs[1], "changed", "yes"), 0);
    weir_ffrepo_batch_put(&b, 5, ffs[1]);
    weir_ffrepo_batch_delete(&b, ffs[2]->id);
    weir_ffrepo_batch_delete(&b, 999999); /* not live: ignored */
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    uint32_t q;
    assert_true(weir_ffrepo_lookup(r, ffs[0]->id, &q));
    assert_int_equal(q, 7);
    assert_false(weir_ffrepo_lookup(r, ffs[2]->id, NULL));
    uint64_t max_id = ffs[9]->id;
    weir_ffrepo_stats st;
    weir_ffrepo_stats_get(r, &st);
    assert_int_equal(st.live_count, 9);
    assert_int_equal(st.commits, 2);
    assert_int_equal(st.records, 14);
    for (int i = 0; i < 10; i++) {
        weir_flowfile_free(ffs[i]);
    }
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);

    c = content_open(f->env, "content", 4096);
    r = ffrepo_open(f->env, c, &rec);
    expect_ff want[9] = {{0, 0, 7}, {1, 37, 5}};
    size_t n = 2;
    for (int i = 3; i < 10; i++) {
        want[n++] = (expect_ff){i, (size_t)(i * 37), (uint32_t)(i % 3)};
    }
    check_recovered(c, &rec, want, n);
    assert_true(rec.next_id > max_id);
    assert_false(rec.cut);
    assert_int_equal(rec.journals_replayed, 1);
    assert_int_equal(rec.frames_replayed, 2);
    /* queue order inside a queue: queue date, then index */
    for (size_t i = 1; i < rec.count; i++) {
        if (rec.entries[i - 1].queue_id == rec.entries[i].queue_id) {
            assert_true(rec.entries[i - 1].ff->queue_date_ns <= rec.entries[i].ff->queue_date_ns);
        }
    }
    for (size_t i = 0; i < rec.count; i++) {
        if (ff_tag(rec.entries[i].ff) == 1) {
            assert_string_equal(weir_flowfile_attr_get(rec.entries[i].ff, "changed"), "yes");
        }
    }
    /* every recovered claim holds exactly one reference */
    weir_content_repo_stats cst;
    weir_content_repo_stats_get(c, &cst);
    uint64_t with_content = 0;
    for (size_t i = 0; i < rec.count; i++) {
        with_content += !weir_content_claim_is_null(&rec.entries[i].ff->claim);
    }
    assert_int_equal(cst.refs, with_content);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch_free(&b);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

/* Commits `batches` batches of two new FlowFiles each (tags 2k, 2k+1, queue
 * k) and returns the journal size after each in sizes[]. */
static void commit_pairs(repo_fixture *f, weir_ffrepo *r, weir_content_repo *c, int batches,
                         uint64_t *sizes)
{
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    for (int k = 0; k < batches; k++) {
        for (int j = 0; j < 2; j++) {
            weir_flowfile *ff = make_ff(f->env, r, c, 2 * k + j, 64);
            weir_ffrepo_batch_put(&b, (uint32_t)k, ff);
            weir_flowfile_free(ff);
        }
        assert_int_equal(weir_ffrepo_commit(r, &b), 0);
        weir_ffrepo_stats st;
        weir_ffrepo_stats_get(r, &st);
        sizes[k] = st.journal_bytes;
    }
    weir_ffrepo_batch_free(&b);
}

static void a_torn_last_frame_is_cut_and_the_commits_before_it_are_kept(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 0);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    uint64_t sizes[3];
    commit_pairs(f, r, c, 3, sizes);
    weir_ffrepo_abandon(r); /* the process dies */
    weir_content_repo_abandon(c);
    const char *journal = fixture_path(f, "ff/journal/00000000000000000001.journal");
    assert_int_equal(file_size(journal), (long)sizes[2]);
    assert_int_equal(truncate(journal, (off_t)sizes[2] - 5), 0);

    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    expect_ff want[4] = {{0, 64, 0}, {1, 64, 0}, {2, 64, 1}, {3, 64, 1}};
    check_recovered(c, &rec, want, 4);
    assert_true(rec.cut);
    assert_string_equal(rec.cut_file, "journal/00000000000000000001.journal");
    assert_int_equal(rec.cut_offset, sizes[1]);
    assert_string_equal(rec.cut_reason, "torn frame");
    /* the recovery checkpointed: the torn journal is gone */
    assert_int_equal(count_files(fixture_path(f, "ff/journal"), ".journal"), 1);
    assert_int_equal(file_size(journal), -1);
    /* garbage after whole frames: cut there, everything kept */
    commit_pairs(f, r, c, 1, sizes);
    weir_ffrepo_abandon(r);
    weir_ffrepo_recovered_free(&rec); /* the recovered FlowFiles held their content */
    weir_content_repo_abandon(c);
    journal = fixture_path(f, "ff/journal/00000000000000000002.journal");
    FILE *fp = fopen(journal, "ab");
    assert_non_null(fp);
    fputs("garbage after the last frame", fp);
    fclose(fp);
    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 6);
    assert_true(rec.cut);
    assert_int_equal(rec.cut_offset, sizes[0]);
    assert_true(rec.snapshot_loaded);
    assert_int_equal(rec.snapshot_records, 4);
    weir_ffrepo_recovered_free(&rec);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

static void a_checkpoint_snapshots_the_live_set_and_the_journal_restarts(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 0);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    uint64_t sizes[2];
    commit_pairs(f, r, c, 2, sizes);
    assert_int_equal(weir_ffrepo_checkpoint(r), 0);
    weir_ffrepo_stats st;
    weir_ffrepo_stats_get(r, &st);
    assert_int_equal(st.journal_seq, 2);
    assert_int_equal(st.checkpoints, 1);
    assert_int_equal(count_files(fixture_path(f, "ff/journal"), ".journal"), 1);
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    weir_ffrepo_batch_delete(&b, 1); /* tag 0 */
    weir_flowfile *ff = make_ff(f->env, r, c, 50, 10);
    weir_ffrepo_batch_put(&b, 9, ff);
    weir_flowfile_free(ff);
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);

    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    expect_ff want[4] = {{1, 64, 0}, {2, 64, 1}, {3, 64, 1}, {50, 10, 9}};
    check_recovered(c, &rec, want, 4);
    assert_true(rec.snapshot_loaded);
    assert_int_equal(rec.snapshot_records, 4);
    assert_int_equal(rec.journals_replayed, 1);
    assert_int_equal(rec.frames_replayed, 1);
    assert_false(rec.cut);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch_free(&b);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);

    /* checkpoints come by themselves once the journal passes its limit */
    weir_ffrepo_config cfg;
    weir_ffrepo_config_default(&cfg);
    cfg.checkpoint_interval_ms = 0;
    cfg.journal_bytes_max = 600;
    c = content_open(f->env, "content", 0);
    r = ffrepo_open_in(f->env, NULL, c, &cfg, &rec);
    uint64_t more[6];
    commit_pairs(f, r, c, 6, more);
    weir_ffrepo_stats_get(r, &st);
    assert_true(st.checkpoints >= 2);
    assert_true(st.journal_bytes < 600 + 600);
    weir_ffrepo_abandon(r);
    weir_ffrepo_recovered_free(&rec);
    weir_content_repo_abandon(c);
    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 4 + 12);
    weir_ffrepo_recovered_free(&rec);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

static void a_crash_inside_a_checkpoint_replays_both_journals(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 0);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    uint64_t sizes[2];
    commit_pairs(f, r, c, 2, sizes);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);
    /* the crash came after journal 2 was created, before the snapshot's
     * rename: a half-written snapshot.partial and an empty journal 2 */
    uint8_t h[12] = {'W', 'F', 'J', '1', 0, 0, 0, 0, 0, 0, 0, 2};
    FILE *fp = fopen(fixture_path(f, "ff/journal/00000000000000000002.journal"), "wb");
    fwrite(h, 1, sizeof h, fp);
    fclose(fp);
    fp = fopen(fixture_path(f, "ff/snapshot.partial"), "wb");
    fputs("WFS1 half", fp);
    fclose(fp);
    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 4);
    assert_int_equal(rec.journals_replayed, 2);
    assert_int_equal(file_size(fixture_path(f, "ff/snapshot.partial")), -1);
    commit_pairs(f, r, c, 1, sizes);
    weir_ffrepo_abandon(r);
    weir_ffrepo_recovered_free(&rec);
    weir_content_repo_abandon(c);

    /* the same with a damaged frame in the older journal: corruption, named */
    const char *j3 = fixture_path(f, "ff/journal/00000000000000000003.journal");
    assert_true(file_size(j3) > 20);
    h[11] = 4;
    fp = fopen(fixture_path(f, "ff/journal/00000000000000000004.journal"), "wb");
    fwrite(h, 1, sizeof h, fp);
    fclose(fp);
    corrupt_byte(j3, 30);
    c = content_open(f->env, "content", 0);
    weir_ffrepo_config cfg;
    weir_ffrepo_config_default(&cfg);
    char why[256] = "";
    assert_int_equal(weir_ffrepo_open(f->env, "ff", &cfg, c, &rec, &r, why, sizeof why),
                     WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "ff/journal/00000000000000000003.journal: offset 12: "));
    assert_non_null(strstr(why, "not the newest journal"));
    weir_content_repo_abandon(c);
}

static void swapped_flowfiles_come_back_in_order_and_survive_a_restart(void **state)
{
    repo_fixture *f = *state;
    weir_content_repo *c = content_open(f->env, "content", 0);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    weir_flowfile *ffs[6];
    for (int i = 0; i < 6; i++) {
        ffs[i] = make_ff(f->env, r, c, i, 30 + (size_t)i);
        ffs[i]->queue_index = (uint64_t)i;
        weir_ffrepo_batch_put(&b, 4, ffs[i]);
    }
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    uint64_t swap_id = 0;
    assert_int_equal(weir_ffrepo_swap_out(r, 5, ffs, 5, &swap_id), WEIR_E_INVAL); /* wrong queue */
    assert_int_equal(weir_ffrepo_swap_out(r, 4, ffs, 5, &swap_id), 0);
    assert_true(swap_id > 0);
    assert_false(weir_ffrepo_lookup(r, ffs[0]->id, NULL));
    assert_true(weir_ffrepo_lookup(r, ffs[5]->id, NULL));
    assert_int_equal(weir_ffrepo_swap_out(r, 4, ffs, 1, &swap_id), WEIR_E_INVAL); /* not live */
    assert_int_equal(weir_content_repo_refs(c, ffs[0]->claim.file_id), 6 + 5);
    weir_ffrepo_stats st;
    weir_ffrepo_stats_get(r, &st);
    assert_int_equal(st.swap_count, 1);
    assert_int_equal(st.swapped_count, 5);
    assert_int_equal(st.live_count, 1);
    for (int i = 0; i < 6; i++) {
        weir_flowfile_free(ffs[i]); /* the queue forgets them; the swap file holds the claims */
    }
    assert_int_equal(weir_content_repo_refs(c, 1), 5);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);

    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 1);
    assert_int_equal(rec.swap_count, 1);
    assert_int_equal(rec.swaps[0].swap_id, swap_id);
    assert_int_equal(rec.swaps[0].queue_id, 4);
    assert_int_equal(rec.swaps[0].count, 5);
    assert_int_equal(rec.swaps[0].bytes, 30 + 31 + 32 + 33 + 34);
    assert_int_equal(weir_content_repo_refs(c, 1), 6);
    weir_flowfile *back[5];
    assert_int_equal(weir_ffrepo_swap_in(r, swap_id, back, 4), WEIR_E_INVAL);
    assert_int_equal(weir_ffrepo_swap_in(r, swap_id + 1, back, 5), WEIR_E_NOENT);
    assert_int_equal(count_files(fixture_path(f, "ff/swap"), ".swap"), 1);
    assert_int_equal(weir_ffrepo_swap_in(r, swap_id, back, 5), 0);
    assert_int_equal(count_files(fixture_path(f, "ff/swap"), ".swap"), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ff_tag(back[i]), i);
        assert_int_equal(back[i]->queue_index, (uint64_t)i);
        check_content(c, back[i], i, 30 + (size_t)i);
        uint32_t q = 0;
        assert_true(weir_ffrepo_lookup(r, back[i]->id, &q));
        assert_int_equal(q, 4);
    }
    assert_int_equal(weir_content_repo_refs(c, 1), 6);
    assert_int_equal(weir_ffrepo_swap_in(r, swap_id, back, 5), WEIR_E_NOENT);
    for (int i = 0; i < 5; i++) {
        weir_flowfile_free(back[i]);
    }
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);

    /* swapped in is live for good; stray swap files are removed */
    FILE *fp = fopen(fixture_path(f, "ff/swap/00000000000000000099.swap"), "wb");
    fputs("a swap file whose SWAP_OUT never became durable", fp);
    fclose(fp);
    fp = fopen(fixture_path(f, "ff/swap/00000000000000000100.swap.tmp"), "wb");
    fclose(fp);
    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 6);
    assert_int_equal(rec.swap_count, 0);
    assert_int_equal(rec.swap_files_removed, 2);
    assert_int_equal(count_files(fixture_path(f, "ff/swap"), ""), 0);
    /* new swap ids never reuse one seen on disk */
    weir_flowfile *one = rec.entries[0].ff;
    assert_int_equal(weir_ffrepo_swap_out(r, rec.entries[0].queue_id, &one, 1, &swap_id), 0);
    assert_true(swap_id > 100);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch_free(&b);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

static void damaged_snapshots_swap_files_and_missing_content_are_named_with_offsets(void **state)
{
    repo_fixture *f = *state;
    weir_ffrepo_config cfg;
    weir_ffrepo_config_default(&cfg);
    weir_content_repo *c = content_open(f->env, "content", 0);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    uint64_t sizes[2];
    commit_pairs(f, r, c, 2, sizes);
    assert_int_equal(weir_ffrepo_checkpoint(r), 0);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);
    const char *snap = fixture_path(f, "ff/snapshot");
    corrupt_byte(snap, 70); /* inside the first record (the header is 52 bytes) */
    c = content_open(f->env, "content", 0);
    char why[256] = "";
    assert_int_equal(weir_ffrepo_open(f->env, "ff", &cfg, c, &rec, &r, why, sizeof why),
                     WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "ff/snapshot: offset 52: record CRC mismatch"));
    weir_content_repo_abandon(c);
    corrupt_byte(snap, 70); /* put it back */

    /* a swap file the log names, damaged */
    c = content_open(f->env, "content", 0);
    r = ffrepo_open(f->env, c, &rec);
    assert_int_equal(rec.count, 4);
    weir_flowfile *two[2] = {rec.entries[0].ff, rec.entries[1].ff};
    uint64_t swap_id;
    assert_int_equal(weir_ffrepo_swap_out(r, rec.entries[0].queue_id, two, 2, &swap_id), 0);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);
    char swap_rel[64];
    snprintf(swap_rel, sizeof swap_rel, "ff/swap/%020llu.swap", (unsigned long long)swap_id);
    corrupt_byte(fixture_path(f, swap_rel), 30);
    c = content_open(f->env, "content", 0);
    assert_int_equal(weir_ffrepo_open(f->env, "ff", &cfg, c, &rec, &r, why, sizeof why),
                     WEIR_E_CORRUPT);
    char want[128];
    snprintf(want, sizeof want, "%s: offset 20: record CRC mismatch", swap_rel);
    assert_non_null(strstr(why, want));
    weir_content_repo_abandon(c);
    corrupt_byte(fixture_path(f, swap_rel), 30);

    /* content the log refers to, gone */
    assert_int_equal(unlink(fixture_path(f, "content/00000000000000000001.claim")), 0);
    c = content_open(f->env, "content", 0);
    assert_int_equal(weir_ffrepo_open(f->env, "ff", &cfg, c, &rec, &r, why, sizeof why),
                     WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "content/00000000000000000001.claim: missing"));
    weir_content_repo_abandon(c);
}

static void released_content_is_reclaimed_after_the_commit_and_at_restart(void **state)
{
    repo_fixture *f = *state;
    const char *cdir = fixture_path(f, "content");
    weir_content_repo *c = content_open(f->env, "content", 100);
    weir_ffrepo_recovered rec;
    weir_ffrepo *r = ffrepo_open(f->env, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    weir_flowfile *ffs[4];
    for (int i = 0; i < 4; i++) {
        ffs[i] = make_ff(f->env, r, c, i, 100); /* one file each */
        weir_ffrepo_batch_put(&b, 1, ffs[i]);
    }
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    assert_int_equal(count_files(cdir, ".claim"), 4);
    /* dropped: the file stays until a durable commit follows the release */
    weir_ffrepo_batch_delete(&b, ffs[0]->id);
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    weir_flowfile_free(ffs[0]);
    assert_int_equal(count_files(cdir, ".claim"), 4);
    assert_int_equal(weir_ffrepo_commit(r, &b), 0); /* an empty commit */
    assert_int_equal(count_files(cdir, ".claim"), 3);
    /* dropped again, then the process dies before another commit */
    weir_ffrepo_batch_delete(&b, ffs[1]->id);
    assert_int_equal(weir_ffrepo_commit(r, &b), 0);
    weir_flowfile_free(ffs[1]);
    weir_content_claim orphan; /* written, never committed */
    assert_int_equal(weir_content_repo_write(c, "orphan", 6, &orphan), 0);
    assert_int_equal(weir_content_repo_sync(c), 0);
    assert_int_equal(count_files(cdir, ".claim"), 4);
    weir_flowfile_free_keep_claim(ffs[2]);
    weir_flowfile_free_keep_claim(ffs[3]);
    weir_ffrepo_abandon(r);
    weir_content_repo_abandon(c);

    c = content_open(f->env, "content", 100);
    r = ffrepo_open(f->env, c, &rec);
    expect_ff want[2] = {{2, 100, 1}, {3, 100, 1}};
    check_recovered(c, &rec, want, 2);
    assert_int_equal(rec.content_files_reclaimed, 2);
    assert_int_equal(count_files(cdir, ".claim"), 2);
    for (size_t i = 0; i < rec.count; i++) {
        assert_int_equal(weir_content_repo_refs(c, rec.entries[i].ff->claim.file_id), 1);
    }
    /* new content goes to a new file after the old ones */
    weir_content_claim fresh;
    assert_int_equal(weir_content_repo_write(c, "new", 3, &fresh), 0);
    assert_int_equal(fresh.file_id, 6);
    weir_content_repo_decref(c, &fresh);
    weir_ffrepo_recovered_free(&rec);
    weir_ffrepo_batch_free(&b);
    assert_int_equal(weir_ffrepo_close(r), 0);
    assert_int_equal(weir_content_repo_close(c), 0);
}

/* ---- provenance ---- */

static weir_prov_repo *prov_open(weir_env *env, const char *dir, uint64_t file_bytes_max,
                                 uint64_t storage_bytes_max, weir_prov_recovery *rep)
{
    weir_prov_config cfg;
    weir_prov_config_default(&cfg);
    if (file_bytes_max > 0) {
        cfg.file_bytes_max = file_bytes_max;
        cfg.buffer_bytes = 300;
    }
    cfg.storage_bytes_max = storage_bytes_max;
    weir_prov_repo *p = NULL;
    char why[256] = "";
    int err = weir_prov_open(env, dir, &cfg, rep, &p, why, sizeof why);
    if (err != 0) {
        fail_msg("prov open: %s (%s)", weir_err_str(err), why);
    }
    return p;
}

static void record(weir_prov_repo *p, weir_prov_type type, const weir_uuid *ff, int64_t t,
                   const weir_uuid *parents, uint32_t np, const weir_uuid *children, uint32_t nc,
                   const char *details)
{
    weir_prov_event ev = {.time_ms = t,
                          .type = type,
                          .flowfile = *ff,
                          .parents = parents,
                          .parent_count = np,
                          .children = children,
                          .child_count = nc,
                          .component = "proc",
                          .details = details};
    assert_int_equal(weir_prov_record(p, &ev, NULL), 0);
}

/* Checks that the lineage of u is exactly the events whose details are in
 * want (space-separated, in order). */
static void check_lineage(weir_prov_repo *p, const weir_uuid *u, const char *want)
{
    weir_prov_events list;
    assert_int_equal(weir_prov_lineage(p, u, &list), 0);
    char got[512] = "";
    for (size_t i = 0; i < list.count; i++) {
        if (i > 0) {
            strcat(got, " ");
        }
        strcat(got, list.events[i].details);
        if (i > 0) {
            assert_true(list.events[i - 1].time_ms <= list.events[i].time_ms);
        }
    }
    assert_string_equal(got, want);
    weir_prov_events_free(&list);
}

/* A, B, C created; a JOIN merges them into M; M forks into X and Y; X is
 * sent, Y dropped; an unrelated D is created and dropped. */
static void record_merge_and_split(repo_fixture *f, weir_prov_repo *p, weir_uuid u[7])
{
    for (int i = 0; i < 7; i++) {
        weir_uuid_random(f->env, &u[i]);
    }
    enum { A, B, C, M, X, Y, D };
    record(p, WEIR_PROV_CREATE, &u[A], 100, NULL, 0, NULL, 0, "createA");
    record(p, WEIR_PROV_CREATE, &u[B], 101, NULL, 0, NULL, 0, "createB");
    record(p, WEIR_PROV_CREATE, &u[D], 102, NULL, 0, NULL, 0, "createD");
    record(p, WEIR_PROV_CREATE, &u[C], 103, NULL, 0, NULL, 0, "createC");
    record(p, WEIR_PROV_ATTRIBUTES_MODIFIED, &u[B], 104, NULL, 0, NULL, 0, "attrsB");
    weir_uuid parents[3] = {u[A], u[B], u[C]};
    record(p, WEIR_PROV_JOIN, &u[M], 110, parents, 3, &u[M], 1, "joinM");
    for (int i = 0; i < 3; i++) {
        record(p, WEIR_PROV_DROP, &parents[i], 111 + i, NULL, 0, NULL, 0,
               i == 0   ? "dropA"
               : i == 1 ? "dropB"
                        : "dropC");
    }
    weir_uuid kids[2] = {u[X], u[Y]};
    record(p, WEIR_PROV_FORK, &u[M], 120, &u[M], 1, kids, 2, "forkM");
    record(p, WEIR_PROV_DROP, &u[D], 121, NULL, 0, NULL, 0, "dropD");
    record(p, WEIR_PROV_SEND, &u[X], 130, NULL, 0, NULL, 0, "sendX");
    record(p, WEIR_PROV_ROUTE, &u[Y], 125, NULL, 0, NULL, 0, "routeY"); /* earlier time, later id */
    record(p, WEIR_PROV_DROP, &u[Y], 131, NULL, 0, NULL, 0, "dropY");
    record(p, WEIR_PROV_DROP, &u[M], 122, NULL, 0, NULL, 0, "dropM");
}

static void lineage_follows_parents_through_joins_and_children_through_forks(void **state)
{
    repo_fixture *f = *state;
    const char *dirs[2] = {"prov", NULL}; /* on files, then in memory */
    for (int d = 0; d < 2; d++) {
        weir_prov_repo *p = prov_open(f->env, dirs[d], 0, 0, NULL);
        weir_uuid u[7];
        record_merge_and_split(f, p, u);
        enum { A, B, C, M, X, Y, D };
        /* the merged child: its parents' whole history and its children's */
        check_lineage(p, &u[M],
                      "createA createB createC attrsB joinM dropA dropB dropC forkM "
                      "dropM routeY sendX dropY");
        /* a fork child: ancestors back to the CREATEs, not its sibling */
        check_lineage(p, &u[X],
                      "createA createB createC attrsB joinM dropA dropB dropC forkM "
                      "dropM sendX");
        /* a parent: its descendants, not the other parents */
        check_lineage(p, &u[A], "createA joinM dropA forkM dropM routeY sendX dropY");
        check_lineage(p, &u[D], "createD dropD");
        weir_uuid nobody;
        weir_uuid_random(f->env, &nobody);
        check_lineage(p, &nobody, "");
        weir_prov_events of;
        assert_int_equal(weir_prov_events_of(p, &u[M], &of), 0);
        assert_int_equal(of.count, 3);
        assert_int_equal(of.events[0].type, WEIR_PROV_JOIN);
        assert_int_equal(of.events[0].parent_count, 3);
        assert_true(weir_uuid_equal(&of.events[0].parents[1], &u[B]));
        assert_int_equal(of.events[1].type, WEIR_PROV_FORK);
        assert_int_equal(of.events[1].child_count, 2);
        assert_true(weir_uuid_equal(&of.events[1].children[1], &u[Y]));
        assert_string_equal(of.events[1].component, "proc");
        assert_string_equal(of.events[1].relationship, "");
        assert_true(of.events[0].id < of.events[1].id);
        weir_prov_events_free(&of);
        /* conservation: 4 created = 1 sent + 5 dropped - ... counted per type */
        assert_int_equal(weir_prov_count(p, WEIR_PROV_CREATE), 4);
        assert_int_equal(weir_prov_count(p, WEIR_PROV_DROP), 6);
        assert_int_equal(weir_prov_count(p, WEIR_PROV_SEND), 1);
        assert_int_equal(weir_prov_count(p, WEIR_PROV_JOIN), 1);
        assert_int_equal(weir_prov_next_id(p), 16);
        assert_int_equal(weir_prov_close(p), 0);
    }
    weir_prov_type t;
    assert_int_equal(weir_prov_type_parse("ATTRIBUTES_MODIFIED", &t), 0);
    assert_int_equal(t, WEIR_PROV_ATTRIBUTES_MODIFIED);
    assert_string_equal(weir_prov_type_name(WEIR_PROV_EXPIRE), "EXPIRE");
    assert_int_equal(weir_prov_type_parse("create", &t), WEIR_E_INVAL);
}

static int count_scan(const weir_prov_event *ev, void *arg)
{
    uint64_t *n = arg;
    assert_int_equal(ev->id, *n + 1);
    (*n)++;
    return 0;
}

static void
provenance_survives_restarts_cuts_a_torn_tail_and_keeps_counts_past_retention(void **state)
{
    repo_fixture *f = *state;
    const char *dir = fixture_path(f, "prov");
    weir_prov_repo *p = prov_open(f->env, "prov", 600, 0, NULL);
    weir_uuid u[7];
    record_merge_and_split(f, p, u);
    assert_int_equal(weir_prov_flush(p), 0);
    int files = count_files(dir, ".prov");
    assert_true(files >= 2); /* rolled */
    weir_prov_abandon(p);
    weir_prov_recovery rep;
    p = prov_open(f->env, "prov", 600, 0, &rep);
    assert_false(rep.cut);
    assert_int_equal(rep.files, files);
    assert_int_equal(rep.next_id, 16);
    assert_int_equal(rep.events, 15);
    assert_int_equal(weir_prov_count(p, WEIR_PROV_DROP), 6);
    check_lineage(p, &u[4],
                  "createA createB createC attrsB joinM dropA dropB dropC forkM "
                  "dropM sendX");
    uint64_t n = 0;
    assert_int_equal(weir_prov_scan(p, count_scan, &n), 0);
    assert_int_equal(n, 15);

    /* a torn tail: the last event is cut, the others stay */
    for (int i = 0; i < 3; i++) {
        record(p, WEIR_PROV_CREATE, &u[6], 200 + i, NULL, 0, NULL, 0, "more");
    }
    assert_int_equal(weir_prov_flush(p), 0);
    weir_prov_abandon(p);
    char last[600];
    DIR *dh = opendir(dir);
    struct dirent *e;
    char newest[256] = "";
    while ((e = readdir(dh)) != NULL) {
        if (e->d_name[0] != '.' && strcmp(e->d_name, newest) > 0) {
            snprintf(newest, sizeof newest, "%s", e->d_name);
        }
    }
    closedir(dh);
    snprintf(last, sizeof last, "%s/%s", dir, newest);
    assert_int_equal(truncate(last, file_size(last) - 3), 0);
    p = prov_open(f->env, "prov", 600, 0, &rep);
    assert_true(rep.cut);
    assert_string_equal(rep.cut_file, newest);
    assert_int_equal(rep.next_id, 18);
    assert_int_equal(weir_prov_count(p, WEIR_PROV_CREATE), 6);
    weir_prov_abandon(p);

    /* retention: old files go, the counts stay (across a restart too) */
    p = prov_open(f->env, "prov", 600, 1500, &rep);
    for (int i = 0; i < 60; i++) {
        record(p, WEIR_PROV_CREATE, &u[6], 300 + i, NULL, 0, NULL, 0, "bulk");
    }
    assert_int_equal(weir_prov_flush(p), 0);
    assert_int_equal(weir_prov_count(p, WEIR_PROV_CREATE), 66);
    n = 0;
    weir_prov_events of;
    assert_int_equal(weir_prov_events_of(p, &u[6], &of), 0);
    assert_true(of.count < 62); /* the oldest of D's events are gone */
    assert_true(of.events[0].id > 1);
    weir_prov_events_free(&of);
    assert_int_equal(weir_prov_close(p), 0);
    p = prov_open(f->env, "prov", 600, 1500, &rep);
    assert_int_equal(weir_prov_count(p, WEIR_PROV_CREATE), 66);
    assert_int_equal(weir_prov_count(p, WEIR_PROV_DROP), 6);
    assert_int_equal(rep.next_id, 78);
    weir_prov_abandon(p);
}

static void damaged_provenance_files_are_named_with_their_offset(void **state)
{
    repo_fixture *f = *state;
    const char *dir = fixture_path(f, "prov");
    weir_prov_repo *p = prov_open(f->env, "prov", 600, 0, NULL);
    weir_uuid u[7];
    record_merge_and_split(f, p, u);
    assert_int_equal(weir_prov_close(p), 0);
    char first[600];
    snprintf(first, sizeof first, "%s/%020d.prov", dir, 1);
    /* a record in an older file: queries fail, naming it (in the log) */
    corrupt_byte(first, 104 + 8 + 3);
    weir_prov_recovery rep;
    p = prov_open(f->env, "prov", 600, 0, &rep);
    weir_prov_events list;
    assert_int_equal(weir_prov_lineage(p, &u[0], &list), WEIR_E_CORRUPT);
    assert_null(list.events);
    weir_prov_abandon(p);
    corrupt_byte(first, 104 + 8 + 3);
    /* a file header: the open fails */
    corrupt_byte(first, 20);
    weir_prov_config cfg;
    weir_prov_config_default(&cfg);
    char why[256] = "";
    assert_int_equal(weir_prov_open(f->env, "prov", &cfg, &rep, &p, why, sizeof why),
                     WEIR_E_CORRUPT);
    assert_non_null(strstr(why, "prov/00000000000000000001.prov: offset 0: file header CRC"));
}

/* ---- countdown faults: the n-th file operation fails ---- */

/* What a workload left: (tag, queue, attribute "v") of every FlowFile, live
 * or swapped, sorted by tag. */
typedef struct fault_state {
    int n;
    int tag[32];
    uint32_t queue[32];
    int v[32];
} fault_state;

typedef struct fault_ff {
    weir_flowfile *ff;
    uint32_t queue;
} fault_ff;

typedef struct fault_run {
    fault_ff live[32];
    int nlive;
    uint64_t swap_id;
    int swap_count;
    fault_state swapped; /* what the swap file holds */
} fault_run;

static void fault_state_add(fault_state *s, const weir_flowfile *ff, uint32_t queue)
{
    const char *v = weir_flowfile_attr_get(ff, "v");
    int i = s->n++;
    s->tag[i] = ff_tag(ff);
    s->queue[i] = queue;
    s->v[i] = v != NULL ? atoi(v) : 0;
    while (i > 0 && s->tag[i - 1] > s->tag[i]) { /* insertion sort by tag */
        int t = s->tag[i], vv = s->v[i];
        uint32_t q = s->queue[i];
        s->tag[i] = s->tag[i - 1], s->queue[i] = s->queue[i - 1], s->v[i] = s->v[i - 1];
        s->tag[i - 1] = t, s->queue[i - 1] = q, s->v[i - 1] = vv;
        i--;
    }
}

static fault_state fault_state_of(const fault_run *run)
{
    fault_state s = {0};
    for (int i = 0; i < run->nlive; i++) {
        fault_state_add(&s, run->live[i].ff, run->live[i].queue);
    }
    for (int i = 0; i < run->swapped.n; i++) {
        int k = s.n++;
        s.tag[k] = run->swapped.tag[i], s.queue[k] = run->swapped.queue[i];
        s.v[k] = run->swapped.v[i];
        while (k > 0 && s.tag[k - 1] > s.tag[k]) {
            int t = s.tag[k], vv = s.v[k];
            uint32_t q = s.queue[k];
            s.tag[k] = s.tag[k - 1], s.queue[k] = s.queue[k - 1], s.v[k] = s.v[k - 1];
            s.tag[k - 1] = t, s.queue[k - 1] = q, s.v[k - 1] = vv;
            k--;
        }
    }
    return s;
}

static int fault_create(weir_env *env, weir_ffrepo *r, weir_content_repo *c, fault_run *run,
                        int tag0, int n, uint32_t queue)
{
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    int err = 0;
    int first = run->nlive;
    for (int i = 0; i < n && err == 0; i++) {
        weir_flowfile *ff = weir_flowfile_create(env, weir_ffrepo_id_next(r));
        char v[16], data[40];
        snprintf(v, sizeof v, "%d", tag0 + i);
        for (size_t k = 0; k < sizeof data; k++) {
            data[k] = (char)('a' + (tag0 + i + (int)k) % 26);
        }
        weir_content_claim claim;
        err = weir_flowfile_attr_set(ff, "n", v);
        if (err == 0) {
            err = weir_content_repo_write(c, data, sizeof data, &claim);
        }
        if (err != 0) {
            weir_flowfile_free(ff);
            break;
        }
        weir_flowfile_set_content(ff, c, &claim);
        weir_ffrepo_batch_put(&b, queue, ff);
        run->live[run->nlive++] = (fault_ff){ff, queue};
    }
    err = err != 0 ? err : weir_ffrepo_commit(r, &b);
    weir_ffrepo_batch_free(&b);
    (void)first;
    return err;
}

/* Opens dir (which holds *prior) and runs the scripted steps; after each
 * success *done = the state now, *attempt = the state the failing step would
 * have made. */
static int fault_workload(weir_env *env, const char *dir, const fault_state *prior,
                          fault_state *done, fault_state *attempt)
{
    *done = *prior;
    *attempt = *prior;
    fault_run run = {0};
    weir_content_repo *c = NULL;
    weir_ffrepo *r = NULL;
    weir_ffrepo_recovered rec = {0};
    char cdir[64];
    snprintf(cdir, sizeof cdir, "%s-c", dir);
    int err = weir_content_repo_open(env, cdir, NULL, &c, NULL, 0);
    if (err == 0) {
        err = weir_ffrepo_open(env, dir, NULL, c, &rec, &r, NULL, 0);
    }
    if (err == 0) {
        for (size_t i = 0; i < rec.count; i++) {
            run.live[run.nlive++] = (fault_ff){rec.entries[i].ff, rec.entries[i].queue_id};
            rec.entries[i].ff = NULL;
        }
        for (size_t s = 0; s < rec.swap_count; s++) {
            weir_flowfile *back[8];
            err = err != 0 ? err
                           : weir_ffrepo_swap_in(r, rec.swaps[s].swap_id, back, rec.swaps[s].count);
            for (uint32_t k = 0; err == 0 && k < rec.swaps[s].count; k++) {
                run.live[run.nlive++] = (fault_ff){back[k], rec.swaps[s].queue_id};
            }
        }
        weir_ffrepo_recovered_free(&rec);
    }
    if (err == 0) {
        *done = fault_state_of(&run);
        *attempt = *done;
    }
    for (int step = 0; err == 0 && step < 6; step++) {
        fault_state before = fault_state_of(&run);
        weir_ffrepo_batch b;
        weir_ffrepo_batch_init(&b);
        if (step == 0) {
            err = fault_create(env, r, c, &run, 100, 3, 1);
        } else if (step == 1) {
            /* drop the first, change the second */
            weir_flowfile *gone = run.live[0].ff;
            weir_ffrepo_batch_delete(&b, gone->id);
            run.live[0] = run.live[--run.nlive];
            err = weir_flowfile_attr_set(run.live[0].ff, "v", "7");
            weir_ffrepo_batch_put(&b, run.live[0].queue, run.live[0].ff);
            *attempt = fault_state_of(&run);
            err = err != 0 ? err : weir_ffrepo_commit(&*r, &b);
            weir_flowfile_free(gone);
        } else if (step == 2) {
            weir_flowfile *out[2];
            int n = 0;
            for (int i = 0; i < run.nlive && n < 2; i++) {
                if (run.live[i].queue == 1) {
                    out[n++] = run.live[i].ff;
                }
            }
            run.swapped = (fault_state){0};
            for (int i = 0; i < n; i++) {
                fault_state_add(&run.swapped, out[i], 1);
            }
            err = weir_ffrepo_swap_out(r, 1, out, (size_t)n, &run.swap_id);
            if (err == 0) {
                for (int k = 0; k < n; k++) {
                    for (int i = 0; i < run.nlive; i++) {
                        if (run.live[i].ff == out[k]) {
                            run.live[i] = run.live[--run.nlive];
                            break;
                        }
                    }
                    weir_flowfile_free(out[k]);
                }
                run.swap_count = n;
            } else {
                run.swapped = (fault_state){0};
            }
        } else if (step == 3) {
            err = weir_ffrepo_checkpoint(r);
        } else if (step == 4) {
            weir_flowfile *back[2];
            err = weir_ffrepo_swap_in(r, run.swap_id, back, (size_t)run.swap_count);
            for (int k = 0; err == 0 && k < run.swap_count; k++) {
                run.live[run.nlive++] = (fault_ff){back[k], 1};
            }
            if (err == 0) {
                run.swapped = (fault_state){0};
            }
        } else {
            err = fault_create(env, r, c, &run, 200 + run.nlive, 2, 2);
        }
        weir_ffrepo_batch_free(&b);
        if (step != 1) {
            *attempt = fault_state_of(&run);
        }
        if (err == 0) {
            *done = fault_state_of(&run);
            *attempt = *done;
        } else {
            *done = before;
        }
    }
    if (err == 0) {
        err = weir_ffrepo_close(r);
        r = NULL;
    }
    for (int i = 0; i < run.nlive; i++) {
        weir_flowfile_free(run.live[i].ff);
    }
    if (r != NULL) {
        weir_ffrepo_abandon(r); /* the process dies on the error */
    }
    if (c != NULL) {
        if (err == 0) {
            err = weir_content_repo_close(c);
        } else {
            weir_content_repo_abandon(c);
        }
    }
    return err;
}

static void every_failed_file_operation_leaves_a_state_before_or_after_that_commit(void **state)
{
    repo_fixture *f = *state;
    long n = 1;
    int fired = 0;
    for (;; n++) {
        char dir[32];
        snprintf(dir, sizeof dir, "run%ld", n);
        /* a repository with something in it, written without faults */
        fault_state none = {0}, base, ignored;
        assert_int_equal(fault_workload(f->env, dir, &none, &base, &ignored), 0);
        weir_env *env = faulty_wrap(f->env, n, n % 2 ? WEIR_E_IO : WEIR_E_NOSPC);
        fault_state done, attempt;
        int err = fault_workload(env, dir, &base, &done, &attempt);
        bool hit = the_faulty.fired;
        if (!hit) {
            assert_int_equal(err, 0);
            break;
        }
        /* a failed reclaim or delete of a used swap file is only logged: the
         * workload goes on, and its state must still come back */
        fired += err != 0;
        /* the restart, with a good disk: one of the two states, content readable */
        fault_state got;
        weir_content_repo *c = NULL;
        char cdir[64];
        snprintf(cdir, sizeof cdir, "%s-c", dir);
        char why[256] = "";
        assert_int_equal(weir_content_repo_open(f->env, cdir, NULL, &c, why, sizeof why), 0);
        weir_ffrepo *r = NULL;
        weir_ffrepo_recovered rec;
        err = weir_ffrepo_open(f->env, dir, NULL, c, &rec, &r, why, sizeof why);
        if (err != 0) {
            fail_msg("fault %ld: reopen: %s (%s)", n, weir_err_str(err), why);
        }
        got = (fault_state){0};
        weir_flowfile *held[32];
        int nheld = 0;
        for (size_t i = 0; i < rec.count; i++) {
            fault_state_add(&got, rec.entries[i].ff, rec.entries[i].queue_id);
            check_content(c, rec.entries[i].ff, ff_tag(rec.entries[i].ff), 40);
        }
        for (size_t s = 0; s < rec.swap_count; s++) {
            weir_flowfile *back[8];
            assert_int_equal(weir_ffrepo_swap_in(r, rec.swaps[s].swap_id, back, rec.swaps[s].count),
                             0);
            for (uint32_t k = 0; k < rec.swaps[s].count; k++) {
                fault_state_add(&got, back[k], rec.swaps[s].queue_id);
                check_content(c, back[k], ff_tag(back[k]), 40);
                held[nheld++] = back[k];
            }
        }
        bool is_done = memcmp(&got, &done, sizeof got) == 0;
        bool is_attempt = memcmp(&got, &attempt, sizeof got) == 0;
        if (!is_done && !is_attempt) {
            fail_msg("fault %ld (after %ld operations): recovered %d FlowFiles, expected %d or "
                     "%d",
                     n, the_faulty.ops_done, got.n, done.n, attempt.n);
        }
        for (int i = 0; i < nheld; i++) {
            weir_flowfile_free(held[i]);
        }
        weir_ffrepo_recovered_free(&rec);
        assert_int_equal(weir_ffrepo_close(r), 0);
        assert_int_equal(weir_content_repo_close(c), 0);
    }
    fprintf(stderr, "%ld countdowns, %d failed the workload\n", n, fired);
    assert_true(fired > 20); /* every file operation of the workload got its turn */
}

/* ---- in the simulator: crashes that drop or tear unsynced writes ---- */

/* One node runs a random sequence of commits (creates, moves, attribute and
 * content updates, deletes, swap-outs and swap-ins, checkpoints), some
 * synced and some not, then closes cleanly or not; a driver node crashes and
 * restarts it every millisecond, and the simulated disk keeps a random part
 * of every unsynced write (or zeros). After every restart the recovered
 * FlowFiles (swapped ones read back) must be exactly the state after one of
 * the commits since the last durable one, each with its queue, attributes
 * and content; every content file must be referenced, and every reference
 * counted once. Runs in a forked child (SimGrid initialises once per
 * process) and reports through `failure`. */

typedef struct sr_entry {
    uint64_t id;
    uint32_t queue;
    uint32_t v;     /* attribute "v" */
    uint32_t cv;    /* attribute "c": which content */
    uint64_t where; /* 0: live, else the swap id */
} sr_entry;

typedef struct sr_state {
    sr_entry *e;
    size_t n;
} sr_state;

typedef struct sr_swap {
    uint64_t swap_id;
    uint32_t queue;
    size_t count;
    uint64_t ids[3];
    uint32_t v[3], cv[3];
} sr_swap;

#define SR_CANDS 64
#define SR_LIVE 512

typedef struct sim_run {
    weir_prng rng;
    sr_state cands[SR_CANDS];
    size_t ncands;
    int incarnation;
    int sequences;
    int commits;
    int unsynced;
    int swap_outs;
    int swap_ins;
    int checkpoints;
    int cuts;
    int older_state; /* recoveries that found a state before the last commit */
    int reclaimed;
    int stray_swaps;
    uint64_t prov_creates;
    char failure[700];
    /* the incarnation's memory */
    weir_flowfile *live[SR_LIVE];
    uint32_t live_queue[SR_LIVE];
    size_t nlive;
    sr_swap swaps[64];
    size_t nswaps;
} sim_run;

#define SIM_FAIL(st, ...)                                                                          \
    do {                                                                                           \
        snprintf((st)->failure, sizeof(st)->failure, __VA_ARGS__);                                 \
        return false;                                                                              \
    } while (0)

static uint64_t sim_rnd(sim_run *st, uint64_t n)
{
    return weir_prng_below(&st->rng, n);
}

static size_t sr_content_len(uint64_t id, uint32_t cv)
{
    return 20 + (size_t)((id * 7 + cv * 13) % 200);
}

static uint8_t sr_content_byte(uint64_t id, uint32_t cv, size_t i)
{
    return (uint8_t)(id + cv * 3 + i);
}

static int sr_entry_cmp(const void *a, const void *b)
{
    const sr_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static uint32_t sr_attr(const weir_flowfile *ff, const char *key)
{
    const char *v = weir_flowfile_attr_get(ff, key);
    return v == NULL ? UINT32_MAX : (uint32_t)strtoul(v, NULL, 10);
}

/* The state held in memory now. */
static sr_state sr_current(sim_run *st)
{
    size_t n = st->nlive;
    for (size_t i = 0; i < st->nswaps; i++) {
        n += st->swaps[i].count;
    }
    sr_state s = {calloc(n + 1, sizeof(sr_entry)), 0};
    for (size_t i = 0; i < st->nlive; i++) {
        const weir_flowfile *ff = st->live[i];
        s.e[s.n++] = (sr_entry){ff->id, st->live_queue[i], sr_attr(ff, "v"), sr_attr(ff, "c"), 0};
    }
    for (size_t i = 0; i < st->nswaps; i++) {
        const sr_swap *sw = &st->swaps[i];
        for (size_t k = 0; k < sw->count; k++) {
            s.e[s.n++] = (sr_entry){sw->ids[k], sw->queue, sw->v[k], sw->cv[k], sw->swap_id};
        }
    }
    qsort(s.e, s.n, sizeof *s.e, sr_entry_cmp);
    return s;
}

static void sr_cands_clear(sim_run *st)
{
    for (size_t i = 0; i < st->ncands; i++) {
        free(st->cands[i].e);
    }
    st->ncands = 0;
}

/* After a commit: durable replaces the candidates, otherwise adds one. */
static void sr_committed(sim_run *st, bool durable)
{
    if (durable) {
        sr_cands_clear(st);
    }
    WEIR_ASSERT(st->ncands < SR_CANDS);
    st->cands[st->ncands++] = sr_current(st);
    st->commits++;
    st->unsynced += !durable;
}

static bool sr_equal(const sr_state *a, const sr_state *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(&a->e[i], &b->e[i], sizeof a->e[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool sr_check_content(sim_run *st, weir_content_repo *c, const weir_flowfile *ff)
{
    uint32_t cv = sr_attr(ff, "c");
    size_t len = sr_content_len(ff->id, cv);
    uint8_t buf[256];
    if (ff->size != len) {
        SIM_FAIL(st, "FlowFile %llu: size %llu, expected %zu", (unsigned long long)ff->id,
                 (unsigned long long)ff->size, len);
    }
    int err = weir_content_repo_read(c, &ff->claim, ff->content_offset, buf, len);
    if (err != 0) {
        SIM_FAIL(st, "FlowFile %llu: content read: %s", (unsigned long long)ff->id,
                 weir_err_str(err));
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != sr_content_byte(ff->id, cv, i)) {
            SIM_FAIL(st, "FlowFile %llu: content byte %zu differs", (unsigned long long)ff->id, i);
        }
    }
    return true;
}

static bool sr_live_add(sim_run *st, weir_flowfile *ff, uint32_t queue)
{
    if (st->nlive == SR_LIVE) {
        SIM_FAIL(st, "too many live FlowFiles");
    }
    st->live[st->nlive] = ff;
    st->live_queue[st->nlive] = queue;
    st->nlive++;
    return true;
}

static void sr_live_remove(sim_run *st, size_t i)
{
    st->live[i] = st->live[st->nlive - 1];
    st->live_queue[i] = st->live_queue[st->nlive - 1];
    st->nlive--;
}

static int sr_write_content(weir_content_repo *c, weir_flowfile *ff, uint32_t cv)
{
    uint8_t buf[256];
    size_t len = sr_content_len(ff->id, cv);
    for (size_t i = 0; i < len; i++) {
        buf[i] = sr_content_byte(ff->id, cv, i);
    }
    weir_content_claim claim;
    int err = weir_content_repo_write(c, buf, len, &claim);
    if (err == 0) {
        weir_flowfile_set_content(ff, c, &claim);
        char v[16];
        snprintf(v, sizeof v, "%u", cv);
        err = weir_flowfile_attr_set(ff, "c", v);
    }
    return err;
}

/* After an open: reads every swap file back, compares with the candidates,
 * checks content and reference counts. */
static bool sr_check_recovery(sim_run *st, weir_env *env, weir_ffrepo *r, weir_content_repo *c,
                              weir_ffrepo_recovered *rec)
{
    st->cuts += rec->cut;
    st->reclaimed += rec->content_files_reclaimed;
    st->stray_swaps += rec->swap_files_removed;
    for (size_t i = 0; i < rec->count; i++) {
        if (!sr_live_add(st, rec->entries[i].ff, rec->entries[i].queue_id)) {
            return false;
        }
        rec->entries[i].ff = NULL;
    }
    sr_state got = {calloc(st->nlive + 512, sizeof(sr_entry)), 0};
    for (size_t i = 0; i < st->nlive; i++) {
        const weir_flowfile *ff = st->live[i];
        got.e[got.n++] =
            (sr_entry){ff->id, st->live_queue[i], sr_attr(ff, "v"), sr_attr(ff, "c"), 0};
    }
    for (size_t s = 0; s < rec->swap_count; s++) {
        const weir_ffrepo_swap_info *sw = &rec->swaps[s];
        weir_flowfile *ffs[8];
        if (sw->count > 8) {
            free(got.e);
            SIM_FAIL(st, "swap file %llu holds %u FlowFiles", (unsigned long long)sw->swap_id,
                     sw->count);
        }
        int err = weir_ffrepo_swap_in(r, sw->swap_id, ffs, sw->count);
        if (err != 0) {
            free(got.e);
            SIM_FAIL(st, "swap-in of %llu after the restart: %s", (unsigned long long)sw->swap_id,
                     weir_err_str(err));
        }
        for (uint32_t k = 0; k < sw->count; k++) {
            got.e[got.n++] = (sr_entry){ffs[k]->id, sw->queue_id, sr_attr(ffs[k], "v"),
                                        sr_attr(ffs[k], "c"), sw->swap_id};
            if (!sr_live_add(st, ffs[k], sw->queue_id)) {
                free(got.e);
                return false;
            }
        }
    }
    qsort(got.e, got.n, sizeof *got.e, sr_entry_cmp);
    bool ok = st->ncands == 0 && got.n == 0;
    for (size_t i = 0; i < st->ncands && !ok; i++) {
        ok = sr_equal(&got, &st->cands[i]);
        if (ok && i + 1 < st->ncands) {
            st->older_state++;
        }
    }
    for (size_t i = 1; ok && i < got.n; i++) {
        ok = got.e[i - 1].id != got.e[i].id;
    }
    if (!ok) {
        size_t last_n = st->ncands > 0 ? st->cands[st->ncands - 1].n : 0;
        size_t first_n = st->ncands > 0 ? st->cands[0].n : 0;
        free(got.e);
        SIM_FAIL(st,
                 "recovered %zu FlowFiles (%zu swapped), which is no committed state since "
                 "the last durable one (%zu candidates, from %zu to %zu FlowFiles)",
                 got.n, rec->swap_count, st->ncands, first_n, last_n);
    }
    free(got.e);
    /* content: intact, every reference counted once, no file unreferenced */
    for (size_t i = 0; i < st->nlive; i++) {
        if (!sr_check_content(st, c, st->live[i])) {
            return false;
        }
    }
    weir_dirlist list = {0};
    if (weir_fs_list(env, "c", &list) != 0) {
        SIM_FAIL(st, "cannot list the content folder");
    }
    bool files_ok = true;
    uint64_t bad_file = 0;
    for (size_t i = 0; i < list.count && files_ok; i++) {
        uint64_t id = strtoull(list.names[i], NULL, 10);
        uint32_t refs = weir_content_repo_refs(c, id);
        uint32_t held = 0;
        for (size_t k = 0; k < st->nlive; k++) {
            held += st->live[k]->claim.file_id == id;
        }
        files_ok = refs > 0 && refs == held;
        bad_file = id;
    }
    weir_fs_list_free(&list);
    if (!files_ok) {
        SIM_FAIL(st, "content file %llu: references do not match the FlowFiles holding it",
                 (unsigned long long)bad_file);
    }
    /* no swap file is left over: the ones named were read back, the rest removed */
    if (weir_fs_list(env, "f/swap", &list) != 0) {
        SIM_FAIL(st, "cannot list the swap folder");
    }
    size_t left = list.count;
    weir_fs_list_free(&list);
    if (left != 0) {
        SIM_FAIL(st, "%zu swap files left after reading back %zu", left, rec->swap_count);
    }
    /* reading the swap files back was synced: this is durable */
    sr_cands_clear(st);
    st->cands[st->ncands++] = sr_current(st);
    return true;
}

static bool sim_step(sim_run *st, weir_env *env, weir_ffrepo *r, weir_content_repo *c,
                     weir_prov_repo *p, weir_ffrepo_batch *b)
{
    uint64_t pick = sim_rnd(st, 100);
    if (pick < 30 && st->nlive > 60) {
        pick = 55; /* keep the flow small: delete instead */
    }
    bool sync = sim_rnd(st, 3) != 0;
    weir_ffrepo_set_sync(r, sync);
    int err = 0;
    if (pick < 30 || st->nlive == 0) {
        int n = 1 + (int)sim_rnd(st, 3);
        for (int i = 0; i < n && err == 0; i++) {
            weir_flowfile *ff = weir_flowfile_create(env, weir_ffrepo_id_next(r));
            err = weir_flowfile_attr_set(ff, "v", "0");
            if (err == 0) {
                err = sr_write_content(c, ff, 0);
            }
            uint32_t q = (uint32_t)sim_rnd(st, 3);
            weir_ffrepo_batch_put(b, q, ff);
            if (!sr_live_add(st, ff, q)) {
                return false;
            }
            if (err == 0) {
                err = weir_prov_record_ff(p, WEIR_PROV_CREATE, ff, "gen", NULL, NULL);
                st->prov_creates++;
            }
        }
        err = err != 0 ? err : weir_ffrepo_commit(r, b);
        sr_committed(st, sync);
    } else if (pick < 50) {
        size_t i = (size_t)sim_rnd(st, st->nlive);
        weir_flowfile *ff = st->live[i];
        uint64_t how = sim_rnd(st, 3);
        if (how == 0) {
            st->live_queue[i] = (st->live_queue[i] + 1) % 3;
            weir_ffrepo_batch_move(b, ff->id, st->live_queue[i]);
        } else if (how == 1) {
            char v[16];
            snprintf(v, sizeof v, "%u", sr_attr(ff, "v") + 1);
            err = weir_flowfile_attr_set(ff, "v", v);
            weir_ffrepo_batch_put(b, st->live_queue[i], ff);
        } else {
            err = sr_write_content(c, ff, sr_attr(ff, "c") + 1);
            weir_ffrepo_batch_put(b, st->live_queue[i], ff);
        }
        err = err != 0 ? err : weir_ffrepo_commit(r, b);
        sr_committed(st, sync);
    } else if (pick < 65) {
        weir_flowfile *gone[2];
        size_t n = 1 + (size_t)sim_rnd(st, 2);
        if (n > st->nlive) {
            n = st->nlive;
        }
        for (size_t k = 0; k < n; k++) {
            size_t i = (size_t)sim_rnd(st, st->nlive);
            gone[k] = st->live[i];
            sr_live_remove(st, i);
            weir_ffrepo_batch_delete(b, gone[k]->id);
            err = err != 0 ? err
                           : weir_prov_record_ff(p, WEIR_PROV_DROP, gone[k], "sink", NULL, NULL);
        }
        err = err != 0 ? err : weir_ffrepo_commit(r, b);
        for (size_t k = 0; k < n; k++) {
            weir_flowfile_free(gone[k]); /* after the commit, as a session does */
        }
        sr_committed(st, sync);
    } else if (pick < 75 && st->nswaps < 64) {
        uint32_t q = st->live_queue[0];
        sr_swap sw = {.queue = q};
        weir_flowfile *out[3];
        for (size_t i = 0; i < st->nlive && sw.count < 3; i++) {
            if (st->live_queue[i] == q) {
                out[sw.count] = st->live[i];
                sw.ids[sw.count] = st->live[i]->id;
                sw.v[sw.count] = sr_attr(st->live[i], "v");
                sw.cv[sw.count] = sr_attr(st->live[i], "c");
                sw.count++;
            }
        }
        err = weir_ffrepo_swap_out(r, q, out, sw.count, &sw.swap_id);
        if (err == 0) {
            for (size_t k = 0; k < sw.count; k++) {
                for (size_t i = 0; i < st->nlive; i++) {
                    if (st->live[i] == out[k]) {
                        sr_live_remove(st, i);
                        break;
                    }
                }
                weir_flowfile_free(out[k]);
            }
            st->swaps[st->nswaps++] = sw;
            st->swap_outs++;
            sr_committed(st, sync);
        }
    } else if (pick < 82 && st->nswaps > 0) {
        size_t s = (size_t)sim_rnd(st, st->nswaps);
        sr_swap sw = st->swaps[s];
        weir_flowfile *back[3];
        err = weir_ffrepo_swap_in(r, sw.swap_id, back, sw.count);
        if (err == 0) {
            st->swaps[s] = st->swaps[--st->nswaps];
            for (size_t k = 0; k < sw.count; k++) {
                if (back[k]->id != sw.ids[k] || !sr_live_add(st, back[k], sw.queue)) {
                    SIM_FAIL(st, "swap-in of %llu: FlowFile %zu is %llu, not %llu",
                             (unsigned long long)sw.swap_id, k, (unsigned long long)back[k]->id,
                             (unsigned long long)sw.ids[k]);
                }
            }
            st->swap_ins++;
            sr_committed(st, true);
        }
    } else if (pick < 86) {
        err = weir_ffrepo_checkpoint(r);
        st->checkpoints++;
        sr_committed(st, true);
    } else if (pick < 92) {
        err = weir_ffrepo_commit(r, b); /* empty */
        sr_committed(st, sync);
    } else {
        /* content of a session that rolls back: written, never committed */
        weir_content_claim claim;
        err = weir_content_repo_write(c, "rolled back", 11, &claim);
        if (err == 0) {
            weir_content_repo_decref(c, &claim);
        }
    }
    if (err == 0) {
        err = weir_prov_flush(p);
    }
    if (err != 0) {
        SIM_FAIL(st, "step (pick %llu) failed: %s", (unsigned long long)pick, weir_err_str(err));
    }
    return true;
}

static void sr_forget(sim_run *st)
{
    for (size_t i = 0; i < st->nlive; i++) {
        weir_flowfile_free(st->live[i]);
    }
    st->nlive = 0;
    st->nswaps = 0;
}

static bool sim_incarnation(weir_env *env, sim_run *st)
{
    weir_content_repo_config ccfg;
    weir_content_repo_config_default(&ccfg);
    ccfg.file_bytes_max = 600 + sim_rnd(st, 1500);
    ccfg.write_buffer_bytes = 300;
    weir_ffrepo_config fcfg;
    weir_ffrepo_config_default(&fcfg);
    fcfg.checkpoint_interval_ms = 0;
    fcfg.journal_bytes_max = 1000 + sim_rnd(st, 6000);
    weir_prov_config pcfg;
    weir_prov_config_default(&pcfg);
    pcfg.file_bytes_max = 2000;
    pcfg.storage_bytes_max = 20000;
    char why[512] = "";
    weir_content_repo *c = NULL;
    weir_ffrepo *r = NULL;
    weir_prov_repo *p = NULL;
    weir_ffrepo_recovered rec;
    int err = weir_content_repo_open(env, "c", &ccfg, &c, why, sizeof why);
    if (err == 0) {
        err = weir_ffrepo_open(env, "f", &fcfg, c, &rec, &r, why, sizeof why);
        if (err != 0) {
            weir_content_repo_abandon(c);
        }
    }
    if (err != 0) {
        SIM_FAIL(st, "open: %s (%s)", weir_err_str(err), why);
    }
    err = weir_prov_open(env, "p", &pcfg, NULL, &p, why, sizeof why);
    bool ok = err == 0;
    if (!ok) {
        snprintf(st->failure, sizeof st->failure, "provenance open: %s (%s)", weir_err_str(err),
                 why);
    }
    ok = ok && sr_check_recovery(st, env, r, c, &rec);
    weir_ffrepo_recovered_free(&rec);
    if (ok && weir_prov_count(p, WEIR_PROV_CREATE) > st->prov_creates) {
        snprintf(st->failure, sizeof st->failure, "provenance counts more CREATEs than recorded");
        ok = false;
    }
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    int steps = 1 + (int)sim_rnd(st, 25);
    for (int i = 0; ok && i < steps; i++) {
        ok = sim_step(st, env, r, c, p, &b);
    }
    weir_ffrepo_batch_free(&b);
    st->sequences++;
    bool clean = ok && sim_rnd(st, 3) == 0;
    sr_forget(st); /* the process lets go of its FlowFiles (no commit follows) */
    if (clean) {
        int e1 = weir_ffrepo_close(r);
        int e2 = weir_content_repo_close(c);
        int e3 = weir_prov_close(p);
        if (e1 != 0 || e2 != 0 || e3 != 0) {
            SIM_FAIL(st, "close failed: %s %s %s", weir_err_str(e1), weir_err_str(e2),
                     weir_err_str(e3));
        }
        sr_state last = st->cands[st->ncands - 1];
        st->cands[st->ncands - 1].e = NULL;
        sr_cands_clear(st);
        st->cands[st->ncands++] = last; /* a clean close syncs the journal */
    } else {
        weir_ffrepo_abandon(r); /* the crash comes from the driver */
        weir_content_repo_abandon(c);
        weir_prov_abandon(p);
    }
    return ok;
}

static void *sim_node_start(weir_env *env, void *arg)
{
    sim_run *st = arg;
    st->incarnation++;
    if (st->failure[0] == '\0') {
        sim_incarnation(env, st);
    }
    return st;
}

static const weir_node_type sim_node = {"flow", sim_node_start, NULL};

typedef struct sim_driver {
    weir_world *w;
    sim_run *st;
    int left;
    bool down;
} sim_driver;

static void sim_driver_tick(weir_env *env, void *arg)
{
    sim_driver *d = arg;
    if (d->st->failure[0] != '\0' || d->left == 0) {
        weir_world_stop(d->w);
        return;
    }
    int err = d->down ? weir_world_restart(d->w, "n") : weir_world_crash(d->w, "n");
    if (err != 0) {
        snprintf(d->st->failure, sizeof d->st->failure, "driver: %s", weir_err_str(err));
    }
    d->left -= d->down;
    d->down = !d->down;
    weir_timer_start(env, 1000000, sim_driver_tick, d);
}

static void *sim_driver_start(weir_env *env, void *arg)
{
    weir_timer_start(env, 1000000, sim_driver_tick, arg);
    return arg;
}

static const weir_node_type sim_driver_node = {"driver", sim_driver_start, NULL};

static int sim_run_seed(uint64_t seed, int sequences)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.disk_torn_crash = true;
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    sim_run *st = calloc(1, sizeof *st);
    if (w == NULL || st == NULL) {
        return 1;
    }
    weir_prng_seed(&st->rng, seed);
    sim_driver d = {w, st, sequences, false};
    if (weir_world_node_add(w, "n", &sim_node, st) != 0 ||
        weir_world_node_add(w, "driver", &sim_driver_node, &d) != 0 ||
        weir_world_run(w, (int64_t)sequences * 3000000 + 1000000000) != 0) {
        fprintf(stderr, "seed %llu: the world did not run\n", (unsigned long long)seed);
        return 1;
    }
    if (st->failure[0] != '\0') {
        fprintf(stderr, "seed %llu, incarnation %d: %s\n", (unsigned long long)seed,
                st->incarnation, st->failure);
        return 1;
    }
    if (d.left != 0 || st->unsynced == 0 || st->swap_outs == 0 || st->swap_ins == 0 ||
        st->cuts == 0 || st->older_state == 0 || st->reclaimed == 0 || st->checkpoints == 0 ||
        st->stray_swaps == 0) {
        fprintf(stderr,
                "seed %llu: too little happened (%d sequences left, %d unsynced commits, %d "
                "swap-outs, %d swap-ins, %d cuts, %d older states, %d files reclaimed, %d "
                "checkpoints, %d stray swap files)\n",
                (unsigned long long)seed, d.left, st->unsynced, st->swap_outs, st->swap_ins,
                st->cuts, st->older_state, st->reclaimed, st->checkpoints, st->stray_swaps);
        return 1;
    }
    fprintf(stderr,
            "seed %llu: %d sequences, %d commits (%d unsynced), %d swap-outs, %d swap-ins, %d "
            "checkpoints, %d torn tails cut, %d recoveries before the last commit, %d content "
            "files reclaimed at restart, %d stray swap files\n",
            (unsigned long long)seed, st->sequences, st->commits, st->unsynced, st->swap_outs,
            st->swap_ins, st->checkpoints, st->cuts, st->older_state, st->reclaimed,
            st->stray_swaps);
    sr_cands_clear(st);
    free(st);
    return 0;
}

static void crashes_keep_exactly_a_committed_state_with_its_content(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            test_child_exit(sim_run_seed(seed, 300));
        }
        int status = 0;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* The scripted case: commit A synced, commit B not synced, crash: A only.
 * Then C and D synced, crash: A, C and D. */
typedef struct script_run {
    int incarnation;
    size_t recovered[3];
    int tags[3][16];
    char failure[300];
} script_run;

static int script_commit(weir_env *env, weir_ffrepo *r, weir_content_repo *c, int tag0, int n)
{
    weir_ffrepo_batch b;
    weir_ffrepo_batch_init(&b);
    for (int i = 0; i < n; i++) {
        weir_flowfile *ff = weir_flowfile_create(env, weir_ffrepo_id_next(r));
        char v[16];
        snprintf(v, sizeof v, "%d", tag0 + i);
        weir_content_claim claim;
        if (weir_flowfile_attr_set(ff, "n", v) != 0 ||
            weir_content_repo_write(c, v, strlen(v), &claim) != 0) {
            return WEIR_E_NOMEM;
        }
        weir_flowfile_set_content(ff, c, &claim);
        weir_ffrepo_batch_put(&b, 1, ff);
        weir_flowfile_free(ff);
    }
    int err = weir_ffrepo_commit(r, &b);
    weir_ffrepo_batch_free(&b);
    return err;
}

static void *script_start(weir_env *env, void *arg)
{
    script_run *st = arg;
    int inc = st->incarnation++;
    if (inc > 2) {
        return st;
    }
    weir_content_repo *c = NULL;
    weir_ffrepo *r = NULL;
    weir_ffrepo_recovered rec;
    char why[256] = "";
    int err = weir_content_repo_open(env, "c", NULL, &c, why, sizeof why);
    if (err == 0) {
        err = weir_ffrepo_open(env, "f", NULL, c, &rec, &r, why, sizeof why);
    }
    if (err != 0) {
        snprintf(st->failure, sizeof st->failure, "open %d: %s (%s)", inc, weir_err_str(err), why);
        return st;
    }
    st->recovered[inc] = rec.count;
    for (size_t i = 0; i < rec.count && i < 16; i++) {
        char v[16] = "";
        weir_content_repo_read(c, &rec.entries[i].ff->claim, 0, v, rec.entries[i].ff->size) == 0
            ? (void)0
            : (void)snprintf(st->failure, sizeof st->failure, "content lost");
        st->tags[inc][i] = atoi(v) == ff_tag(rec.entries[i].ff) ? atoi(v) : -1;
    }
    if (inc == 0) {
        err = script_commit(env, r, c, 0, 3); /* A */
        weir_ffrepo_set_sync(r, false);
        err = err != 0 ? err : script_commit(env, r, c, 10, 2); /* B, never synced */
    } else if (inc == 1) {
        err = script_commit(env, r, c, 20, 1);                  /* C */
        err = err != 0 ? err : script_commit(env, r, c, 30, 2); /* D */
    }
    if (err != 0) {
        snprintf(st->failure, sizeof st->failure, "commit %d: %s", inc, weir_err_str(err));
    }
    weir_ffrepo_abandon(r);
    weir_ffrepo_recovered_free(&rec); /* held the content of the recovered FlowFiles */
    weir_content_repo_abandon(c);
    return st;
}

static const weir_node_type script_node = {"flow", script_start, NULL};

static int script_check(void)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, 7);
    cfg.log_level = WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    script_run st = {0};
    sim_run dummy = {0};
    sim_driver d = {w, &dummy, 2, false};
    if (w == NULL || weir_world_node_add(w, "n", &script_node, &st) != 0 ||
        weir_world_node_add(w, "driver", &sim_driver_node, &d) != 0 ||
        weir_world_run(w, 1000000000) != 0) {
        return 1;
    }
    if (st.failure[0] != '\0' || dummy.failure[0] != '\0') {
        fprintf(stderr, "%s%s\n", st.failure, dummy.failure);
        return 1;
    }
    int want1[] = {0, 1, 2}, want2[] = {0, 1, 2, 20, 30, 31};
    bool ok =
        st.incarnation == 3 && st.recovered[0] == 0 && st.recovered[1] == 3 && st.recovered[2] == 6;
    for (int i = 0; ok && i < 3; i++) {
        ok = st.tags[1][i] == want1[i];
    }
    for (int i = 0; ok && i < 6; i++) {
        ok = st.tags[2][i] == want2[i];
    }
    if (!ok) {
        fprintf(stderr, "recovered %zu, %zu, %zu FlowFiles over %d incarnations\n", st.recovered[0],
                st.recovered[1], st.recovered[2], st.incarnation);
    }
    return ok ? 0 : 1;
}

static void a_crash_keeps_synced_commits_and_loses_only_the_unsynced_batch(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_child_exit(script_check());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            attributes_keep_insertion_order_and_replacing_keeps_the_place, setup, teardown),
        cmocka_unit_test_setup_teardown(uuids_are_version_4_from_the_seeded_prng_and_name_the_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_child_of_several_parents_keeps_their_common_attributes_and_earliest_lineage, setup,
            teardown),
        cmocka_unit_test_setup_teardown(clones_share_the_claim_with_a_reference_each, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            an_encoded_flowfile_decodes_to_the_same_and_every_cut_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            claims_fill_files_that_roll_and_read_back_from_buffer_and_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_file_goes_once_all_its_claims_are_released_but_not_while_active, setup, teardown),
        cmocka_unit_test_setup_teardown(
            commits_survive_a_restart_with_queues_attributes_and_content, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_last_frame_is_cut_and_the_commits_before_it_are_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_checkpoint_snapshots_the_live_set_and_the_journal_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(a_crash_inside_a_checkpoint_replays_both_journals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(swapped_flowfiles_come_back_in_order_and_survive_a_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            damaged_snapshots_swap_files_and_missing_content_are_named_with_offsets, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            released_content_is_reclaimed_after_the_commit_and_at_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(
            every_failed_file_operation_leaves_a_state_before_or_after_that_commit, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            lineage_follows_parents_through_joins_and_children_through_forks, setup, teardown),
        cmocka_unit_test_setup_teardown(
            provenance_survives_restarts_cuts_a_torn_tail_and_keeps_counts_past_retention, setup,
            teardown),
        cmocka_unit_test_setup_teardown(damaged_provenance_files_are_named_with_their_offset, setup,
                                        teardown),
        cmocka_unit_test(a_crash_keeps_synced_commits_and_loses_only_the_unsynced_batch),
        cmocka_unit_test(crashes_keep_exactly_a_committed_state_with_its_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
