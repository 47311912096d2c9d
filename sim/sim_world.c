/* The sim world: builds the SimGrid platform from the added nodes, runs one
 * actor per node incarnation, and crashes and restarts nodes.
 *
 * Invariants: a node has at most one live incarnation (node->inc); only a
 * live incarnation's mailbox receives messages (sim_send checks the
 * incarnation number, so frames for a crashed one are dropped, as a reset TCP
 * connection would drop them).
 */
#include <simgrid/engine.h>
#include <simgrid/link.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "sim_internal.h"

/* SimGrid's engine is a process-wide singleton, so the sim world is too. */
static sim_world *sim_the_world;
static bool sim_world_created;

static void sw_actor_main(int argc, char *argv[]);

void weir_sim_config_default(weir_sim_config *cfg, uint64_t seed)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = seed;
    cfg->link_latency_ns = 100 * 1000;
    cfg->link_bandwidth_bps = 125e6;
    cfg->connect_timeout_ns = 1000LL * 1000 * 1000;
    cfg->wall_epoch_ms = 1767225600000LL; /* 2026-01-01T00:00:00Z */
    cfg->log_level = WEIR_LOG_WARN;
}

int64_t sim_now_ns(void)
{
    return (int64_t)llround(simgrid_get_clock() * 1e9);
}

void sim_charge_ns(int64_t ns)
{
    if (ns > 0) {
        sg_actor_sleep_for((double)ns / 1e9);
    }
}

sim_world *sim_world_of(weir_env *env)
{
    return sim_inc_of(env)->node->world;
}

sim_inc *sim_inc_of(weir_env *env)
{
    /* By backend name, not table address: a decorator (fault injection) may
     * wrap the ops table of a copy that keeps this env's impl. */
    WEIR_ASSERT(env->ops == &sim_env_ops || strcmp(env->ops->backend, sim_env_ops.backend) == 0);
    return env->impl;
}

sim_node *sim_world_node_by_name(sim_world *w, const char *name)
{
    for (size_t i = 0; i < w->node_count; i++) {
        if (strcmp(w->nodes[i]->name, name) == 0) {
            return w->nodes[i];
        }
    }
    return NULL;
}

static bool sw_name_is_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(((sim_node *)0)->name)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* ---- platform ---- */

/* Writes the platform as SimGrid XML: one host and one private link per
 * node, and a route between every pair through both private links. */
static int sw_platform_write(sim_world *w, FILE *out)
{
    double lat_s = (double)w->cfg.link_latency_ns / 2e9; /* half per private link */
    fprintf(out, "<?xml version='1.0'?>\n"
                 "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                 "<platform version=\"4.1\">\n<zone id=\"weir\" routing=\"Full\">\n");
    for (size_t i = 0; i < w->node_count; i++) {
        const char *n = w->nodes[i]->name;
        fprintf(out, "  <host id=\"%s\" speed=\"1Gf\"/>\n", n);
        fprintf(out, "  <link id=\"%s.nic\" bandwidth=\"%.0fBps\" latency=\"%.9fs\"/>\n", n,
                w->cfg.link_bandwidth_bps, lat_s);
        fprintf(out, "  <link id=\"%s.lo\" bandwidth=\"10GBps\" latency=\"0s\"/>\n", n);
    }
    /* every pair also has a link of its own, fast until a fault slows it */
    for (size_t i = 0; i < w->node_count; i++) {
        for (size_t j = i + 1; j < w->node_count; j++) {
            fprintf(out, "  <link id=\"%s~%s\" bandwidth=\"1TBps\" latency=\"0s\"/>\n",
                    w->nodes[i]->name, w->nodes[j]->name);
        }
    }
    for (size_t i = 0; i < w->node_count; i++) {
        const char *a = w->nodes[i]->name;
        fprintf(out, "  <route src=\"%s\" dst=\"%s\"><link_ctn id=\"%s.lo\"/></route>\n", a, a, a);
        for (size_t j = i + 1; j < w->node_count; j++) {
            const char *b = w->nodes[j]->name;
            fprintf(out,
                    "  <route src=\"%s\" dst=\"%s\"><link_ctn id=\"%s.nic\"/>"
                    "<link_ctn id=\"%s~%s\"/><link_ctn id=\"%s.nic\"/></route>\n",
                    a, b, a, a, b, b);
        }
    }
    fprintf(out, "</zone>\n</platform>\n");
    return ferror(out) ? WEIR_E_IO : 0;
}

static int sw_platform_load(sim_world *w)
{
    char path[] = "/tmp/weir-platform-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        return WEIR_E_IO;
    }
    FILE *out = fdopen(fd, "w");
    if (out == NULL) {
        close(fd);
        unlink(path);
        return WEIR_E_IO;
    }
    int rc = sw_platform_write(w, out);
    if (fclose(out) != 0 && rc == 0) {
        rc = WEIR_E_IO;
    }
    if (rc == 0) {
        simgrid_load_platform(path);
    }
    unlink(path);
    for (size_t i = 0; rc == 0 && i < w->node_count; i++) {
        w->nodes[i]->host = sg_host_by_name(w->nodes[i]->name);
        WEIR_ASSERT(w->nodes[i]->host != NULL);
    }
    return rc;
}

/* ---- incarnations ---- */

static sim_inc *sw_inc_new(sim_node *node)
{
    sim_inc *inc = calloc(1, sizeof *inc);
    WEIR_ASSERT(inc != NULL);
    inc->node = node;
    inc->number = ++node->inc_count;
    inc->env.ops = &sim_env_ops;
    inc->env.impl = inc;
    inc->env.name = node->name;
    inc->env.frame_bytes_max = WEIR_FRAME_BYTES_MAX_DEFAULT;
    inc->env.log_level = node->world->cfg.log_level;
    uint64_t seed = weir_fnv1a_u64(WEIR_FNV_OFFSET, node->world->cfg.seed);
    seed = weir_fnv1a_str(seed, node->name);
    seed = weir_fnv1a_u64(seed, inc->number);
    weir_prng_seed(&inc->env.prng, seed);
    weir_timer_heap_init(&inc->timers);
    char mbox[96];
    snprintf(mbox, sizeof mbox, "%s#%u", node->name, inc->number);
    inc->mailbox = sg_mailbox_by_name(mbox);
    return inc;
}

/* Frees everything an incarnation holds. Runs from sg_actor_on_exit, so it
 * must not call SimGrid; env calls made by type->destroy are inert. */
static void sw_inc_teardown(int failed, void *arg)
{
    (void)failed;
    if (sim_the_world == NULL) {
        return; /* the engine is shutting down after the world was destroyed */
    }
    sim_inc *inc = arg;
    sim_node *node = inc->node;
    inc->dead = true;
    if (node->type->destroy != NULL && inc->state != NULL) {
        node->type->destroy(inc->state);
    }
    inc->state = NULL;
    sim_net_teardown(inc);
    sim_fs_close_all(inc);
    weir_timer_heap_free(&inc->timers);
    if (node->inc == inc) {
        node->inc = NULL;
    }
    free(inc);
}

static int sw_inc_spawn(sim_node *node)
{
    WEIR_ASSERT(node->inc == NULL);
    sim_inc *inc = sw_inc_new(node);
    node->inc = inc;
    node->up = true;
    char name[96];
    snprintf(name, sizeof name, "%s#%u", node->name, inc->number);
    sg_actor_t actor = sg_actor_init(name, node->host);
    sg_actor_set_data(actor, inc);
    sg_actor_set_stacksize(actor, 256 * 1024);
    inc->actor = actor;
    sg_actor_start(actor, sw_actor_main, 0, NULL);
    return 0;
}

static void sw_actor_main(int argc, char *argv[])
{
    (void)argc;
    (void)argv;
    sim_inc *inc = sg_actor_self_get_data();
    sim_node *node = inc->node;
    sg_actor_on_exit(sw_inc_teardown, inc);
    sg_mailbox_set_receiver(sg_mailbox_get_name(inc->mailbox));
    sim_trace_event(node->world, node, inc->number == 1 ? SIM_EV_START : SIM_EV_RESTART, 0, 0);
    inc->state = node->type->start(&inc->env, node->arg);
    sim_env_dispatch_loop(inc);
}

/* ---- world ops ---- */

static int sw_node_add(weir_world *ww, const char *name, const weir_node_type *type, void *arg)
{
    sim_world *w = ww->impl;
    if (w->running || !sw_name_is_valid(name) || sim_world_node_by_name(w, name) != NULL) {
        return WEIR_E_INVAL;
    }
    sim_node **nodes = realloc(w->nodes, (w->node_count + 1) * sizeof *nodes);
    WEIR_ASSERT(nodes != NULL);
    w->nodes = nodes;
    sim_node *node = calloc(1, sizeof *node);
    WEIR_ASSERT(node != NULL);
    node->world = w;
    node->index = (uint32_t)w->node_count;
    snprintf(node->name, sizeof node->name, "%s", name);
    node->type = type;
    node->arg = arg;
    node->fs = sim_fs_new(w->cfg.disk_bytes_max);
    node->faults.clock_rate = 1.0;
    node->faults.disk_write_bps = w->cfg.disk_write_bps;
    node->faults.disk_read_bps = w->cfg.disk_read_bps;
    node->faults.disk_sync_ns = w->cfg.disk_sync_ns;
    w->nodes[w->node_count++] = node;
    return 0;
}

static int sw_run(weir_world *ww, int64_t duration_ns)
{
    sim_world *w = ww->impl;
    if (w->running) {
        return WEIR_E_INVAL;
    }
    int rc = sw_platform_load(w);
    if (rc != 0) {
        return rc;
    }
    w->running = true;
    for (size_t i = 0; i < w->node_count; i++) {
        sw_inc_spawn(w->nodes[i]);
    }
    simgrid_run_until((double)duration_ns / 1e9);
    return 0;
}

static void sw_stop(weir_world *ww)
{
    sim_world *w = ww->impl;
    w->stopping = true; /* the caller's loop ends when its callback returns */
    sg_actor_kill_all();
}

static int sw_crash(weir_world *ww, const char *name)
{
    sim_world *w = ww->impl;
    sim_node *node = sim_world_node_by_name(w, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    if (!node->up) {
        return WEIR_E_INVAL;
    }
    sim_inc *inc = node->inc;
    WEIR_ASSERT(inc != NULL);
    if (inc->actor == sg_actor_self()) {
        return WEIR_E_INVAL; /* a node may not crash itself */
    }
    sim_trace_event(w, node, SIM_EV_CRASH, 0, 0);
    node->up = false;
    inc->dead = true;
    sim_net_reset_peers(inc);
    bool torn = w->cfg.disk_torn_crash || node->faults.tear_next_crash;
    node->faults.tear_next_crash = false;
    sim_fs_crash(node->fs, torn ? &w->crash_prng : NULL);
    node->inc = NULL; /* the incarnation frees itself from its on_exit */
    sg_host_turn_off(node->host);
    return 0;
}

static int sw_restart(weir_world *ww, const char *name)
{
    sim_world *w = ww->impl;
    sim_node *node = sim_world_node_by_name(w, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    if (node->up) {
        return WEIR_E_INVAL;
    }
    sg_host_turn_on(node->host);
    return sw_inc_spawn(node);
}

static void *sw_node_state(weir_world *ww, const char *name)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    return (node != NULL && node->inc != NULL) ? node->inc->state : NULL;
}

static void sw_destroy(weir_world *ww)
{
    sim_world *w = ww->impl;
    for (size_t i = 0; i < w->node_count; i++) {
        sim_node *node = w->nodes[i];
        if (node->inc != NULL) {
            sw_inc_teardown(0, node->inc);
        }
        sim_fs_free(node->fs);
        free(node);
    }
    free(w->nodes);
    free(w->conns);
    free(w->cuts);
    for (size_t i = 0; i < w->n_held; i++) {
        free(w->held[i].msg);
    }
    free(w->held);
    free(w);
    sim_the_world = NULL;
}

static const weir_world_ops sw_ops = {
    .backend = "sim",
    .node_add = sw_node_add,
    .run = sw_run,
    .stop = sw_stop,
    .crash = sw_crash,
    .restart = sw_restart,
    .node_state = sw_node_state,
    .destroy = sw_destroy,
};

weir_world *weir_sim_world_new(const weir_sim_config *cfg)
{
    if (sim_world_created) {
        return NULL;
    }
    sim_world_created = true;
    sim_world *w = calloc(1, sizeof *w);
    WEIR_ASSERT(w != NULL);
    w->cfg = *cfg;
    w->base.ops = &sw_ops;
    w->base.impl = w;
    w->conn_next_id = 1;
    w->trace_hash = WEIR_FNV_OFFSET;
    weir_prng_seed(&w->crash_prng, weir_fnv1a_str(weir_fnv1a_u64(WEIR_FNV_OFFSET, cfg->seed), "torn"));
    sim_the_world = w;

    char arg0[] = "weir-sim";
    char arg1[] = "--log=root.thresh:critical";
    char arg2[] = "--cfg=contexts/stack-size:256";
    /* CM02: plain max-min sharing, so a link's latency is what the config says
     * (the default LV08 model multiplies it by 13 to mimic TCP slow start). */
    char arg3[] = "--cfg=network/model:CM02";
#ifdef WEIR_SIM_THREAD_CONTEXTS
    /* AddressSanitizer cannot follow SimGrid's hand-made stack switches. */
    char arg4[] = "--cfg=contexts/factory:thread";
#else
    char arg4[] = "--cfg=contexts/factory:raw";
#endif
    char *argv[] = {arg0, arg1, arg2, arg3, arg4, NULL};
    int argc = 5;
    simgrid_init(&argc, argv);
    return &w->base;
}

uint64_t weir_sim_trace_hash(weir_world *ww)
{
    return ((sim_world *)ww->impl)->trace_hash;
}

uint64_t weir_sim_event_count(weir_world *ww)
{
    return ((sim_world *)ww->impl)->event_count;
}

int64_t weir_sim_now_ns(weir_world *ww)
{
    (void)ww;
    return sim_now_ns();
}

int weir_sim_pair_set(weir_world *ww, const char *a, const char *b, int64_t latency_ns,
                      double bandwidth_bps)
{
    sim_world *w = ww->impl;
    sim_node *na = sim_world_node_by_name(w, a);
    sim_node *nb = sim_world_node_by_name(w, b);
    if (na == NULL || nb == NULL || na == nb || latency_ns < 0 || bandwidth_bps <= 0) {
        return WEIR_E_INVAL;
    }
    if (na->index > nb->index) {
        sim_node *t = na;
        na = nb;
        nb = t;
    }
    char link[160];
    snprintf(link, sizeof link, "%s~%s", na->name, nb->name);
    sg_link_t l = sg_link_by_name(link);
    if (l == NULL) {
        return WEIR_E_NOENT;
    }
    sg_link_set_latency(l, (double)latency_ns / 1e9);
    sg_link_set_bandwidth(l, bandwidth_bps);
    return 0;
}

bool sim_world_is_cut(const sim_world *w, uint32_t from, uint32_t to)
{
    uint64_t key = (uint64_t)from << 32 | to;
    for (size_t i = 0; i < w->n_cuts; i++) {
        if (w->cuts[i] == key) {
            return true;
        }
    }
    return false;
}

int weir_sim_cut(weir_world *ww, const char *from, const char *to, bool cut)
{
    sim_world *w = ww->impl;
    sim_node *a = sim_world_node_by_name(w, from);
    sim_node *b = sim_world_node_by_name(w, to);
    if (a == NULL || b == NULL || a == b) {
        return WEIR_E_INVAL;
    }
    uint64_t key = (uint64_t)a->index << 32 | b->index;
    for (size_t i = 0; i < w->n_cuts; i++) {
        if (w->cuts[i] == key) {
            if (!cut) {
                w->cuts[i] = w->cuts[--w->n_cuts];
                sim_net_release_held(w);
            }
            return 0;
        }
    }
    if (cut) {
        if (w->n_cuts == w->cap_cuts) {
            w->cap_cuts = w->cap_cuts ? w->cap_cuts * 2 : 16;
            w->cuts = realloc(w->cuts, w->cap_cuts * sizeof *w->cuts);
            WEIR_ASSERT(w->cuts != NULL);
        }
        w->cuts[w->n_cuts++] = key;
    }
    return 0;
}

void weir_sim_disk_set(weir_world *ww, double write_bps, double read_bps, int64_t sync_ns)
{
    sim_world *w = ww->impl;
    w->cfg.disk_write_bps = write_bps;
    w->cfg.disk_read_bps = read_bps;
    w->cfg.disk_sync_ns = sync_ns;
    for (size_t i = 0; i < w->node_count; i++) {
        w->nodes[i]->faults.disk_write_bps = write_bps;
        w->nodes[i]->faults.disk_read_bps = read_bps;
        w->nodes[i]->faults.disk_sync_ns = sync_ns;
    }
}

int weir_sim_node_disk_set(weir_world *ww, const char *name, double write_bps, double read_bps,
                           int64_t sync_ns)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    node->faults.disk_write_bps = write_bps;
    node->faults.disk_read_bps = read_bps;
    node->faults.disk_sync_ns = sync_ns;
    return 0;
}

int weir_sim_pause(weir_world *ww, const char *name, int64_t duration_ns)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    node->faults.paused_until_ns = duration_ns > 0 ? sim_now_ns() + duration_ns : 0;
    return 0;
}

int weir_sim_clock_set(weir_world *ww, const char *name, int64_t wall_offset_ns, int64_t mono_offset_ns)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    node->faults.wall_offset_ns = wall_offset_ns;
    node->faults.mono_offset_ns = mono_offset_ns;
    node->faults.rate_since_ns = sim_now_ns(); /* the drift so far is stepped away too */
    return 0;
}

int weir_sim_clock_rate(weir_world *ww, const char *name, double rate)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    if (!(rate > 0.0 && rate <= 10.0)) {
        return WEIR_E_INVAL;
    }
    /* what the old rate gained so far stays in the offsets: the clock goes on from there */
    sim_node_faults *f = &node->faults;
    int64_t now = sim_now_ns();
    int64_t gained = f->clock_rate == 1.0 ? 0 : (int64_t)((f->clock_rate - 1.0) * (double)(now - f->rate_since_ns));
    f->wall_offset_ns += gained;
    f->mono_offset_ns += gained;
    f->clock_rate = rate;
    f->rate_since_ns = now;
    return 0;
}

int weir_sim_reset(weir_world *ww, const char *a, const char *b)
{
    sim_world *w = ww->impl;
    sim_node *na = sim_world_node_by_name(w, a);
    sim_node *nb = sim_world_node_by_name(w, b);
    if (na == NULL || nb == NULL) {
        return WEIR_E_NOENT;
    }
    if (na->inc != NULL && !na->inc->dead) {
        sim_net_reset_with(na->inc, nb);
    }
    if (nb->inc != NULL && !nb->inc->dead) {
        sim_net_reset_with(nb->inc, na);
    }
    return 0;
}

int weir_sim_disk_fault(weir_world *ww, const char *name, bool fsync_eio, bool full)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    node->faults.fsync_eio = fsync_eio;
    node->faults.disk_full = full;
    return 0;
}

int weir_sim_node_post(weir_world *ww, const char *name, weir_timer_cb cb, void *arg)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    sim_inc *inc = node->inc;
    if (!node->up || inc == NULL || inc->dead) {
        return WEIR_E_INVAL;
    }
    (void)weir_timer_heap_add(&inc->timers, sim_now_ns(), cb, arg);
    sim_msg *m = calloc(1, sizeof *m);
    WEIR_ASSERT(m != NULL);
    m->kind = SIM_MSG_WAKE;
    m->src_node = node->index;
    m->src_inc = inc->number;
    sim_send(node, inc->number, m, SIM_CONTROL_BYTES);
    return 0;
}

int weir_sim_tear_next_crash(weir_world *ww, const char *name)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    node->faults.tear_next_crash = true;
    return 0;
}

int weir_sim_bit_flip(weir_world *ww, const char *name, const char *prefix, const char *suffix,
                      char *what, size_t what_size)
{
    sim_world *w = ww->impl;
    sim_node *node = sim_world_node_by_name(w, name);
    if (node == NULL) {
        return WEIR_E_NOENT;
    }
    return sim_fs_bit_flip(node->fs, &w->crash_prng, prefix, suffix, what, what_size);
}

void weir_sim_heal_all(weir_world *ww)
{
    sim_world *w = ww->impl;
    w->n_cuts = 0;
    sim_net_release_held(w);
}

int weir_sim_link_set(weir_world *ww, const char *name, int64_t latency_ns, double bandwidth_bps)
{
    sim_node *node = sim_world_node_by_name(ww->impl, name);
    if (node == NULL || latency_ns < 0 || bandwidth_bps <= 0) {
        return WEIR_E_INVAL;
    }
    char link[80];
    snprintf(link, sizeof link, "%s.nic", node->name);
    sg_link_t l = sg_link_by_name(link);
    WEIR_ASSERT(l != NULL);
    sg_link_set_latency(l, (double)latency_ns / 2e9);
    sg_link_set_bandwidth(l, bandwidth_bps);
    return 0;
}
