/* Fault kinds and random schedules (swarm testing): per seed a random
 * subset of the allowed kinds and an intensity, then random times, targets
 * and strengths. Pure: the seed decides everything (weir_prng). */
#include <stdio.h>
#include <string.h>

#include "chaos.h"
#include "core/assert.h"
#include "core/err.h"
#include "core/prng.h"

#define MS 1000000LL
#define S 1000000000LL

static const char *const kind_names[WEIR_CHAOS_KINDS_] = {
    [WEIR_CHAOS_CRASH] = "crash",
    [WEIR_CHAOS_TORN] = "torn",
    [WEIR_CHAOS_CLEAN_SHUTDOWN] = "clean_shutdown",
    [WEIR_CHAOS_PAUSE] = "pause",
    [WEIR_CHAOS_PARTITION] = "partition",
    [WEIR_CHAOS_ISOLATE] = "isolate",
    [WEIR_CHAOS_ONE_WAY] = "one_way",
    [WEIR_CHAOS_BRIDGE] = "bridge",
    [WEIR_CHAOS_RESET] = "reset",
    [WEIR_CHAOS_LATENCY] = "latency",
    [WEIR_CHAOS_BANDWIDTH] = "bandwidth",
    [WEIR_CHAOS_CLOCK] = "clock",
    [WEIR_CHAOS_BIT_FLIP] = "bit_flip",
    [WEIR_CHAOS_FSYNC_ERROR] = "fsync_error",
    [WEIR_CHAOS_DISK_FULL] = "disk_full",
    [WEIR_CHAOS_SLOW_DISK] = "slow_disk",
};

const char *weir_chaos_kind_name(weir_chaos_kind kind)
{
    return kind < WEIR_CHAOS_KINDS_ ? kind_names[kind] : "?";
}

int weir_chaos_kinds_parse(const char *text, uint32_t *kinds, char *why, size_t why_size)
{
    *kinds = 0;
    if (strcmp(text, "all") == 0) {
        *kinds = (1u << WEIR_CHAOS_KINDS_) - 1;
        return 0;
    }
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf) {
        snprintf(why, why_size, "--faults: too long");
        return WEIR_E_INVAL;
    }
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int k = 0; k < WEIR_CHAOS_KINDS_; k++) {
            found = strcmp(w, kind_names[k]) == 0 ? k : found;
        }
        if (found < 0) {
            char all[400];
            weir_chaos_kinds_format((1u << WEIR_CHAOS_KINDS_) - 1, all, sizeof all);
            snprintf(why, why_size, "--faults: unknown fault kind \"%s\"; the kinds are all, %s", w, all);
            return WEIR_E_INVAL;
        }
        *kinds |= 1u << found;
    }
    if (*kinds == 0) {
        snprintf(why, why_size, "--faults: no fault kind given");
        return WEIR_E_INVAL;
    }
    return 0;
}

void weir_chaos_kinds_format(uint32_t kinds, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < WEIR_CHAOS_KINDS_ && at < size; k++) {
        if (kinds & (1u << k)) {
            at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? "," : "", kind_names[k]);
        }
    }
}

void weir_chaos_options_default(weir_chaos_options *o)
{
    *o = (weir_chaos_options){
        .kinds = (1u << WEIR_CHAOS_KINDS_) - 1,
        .faults_min = 1,
        .faults_max = 10,
        .recover_ns = 20 * S,
    };
}

void weir_chaos_window(const weir_scenario *sc, weir_chaos_options *o)
{
    if (o->window_start_ns == 0) {
        o->window_start_ns = sc->duration_ns / 10;
    }
    if (o->window_end_ns == 0) {
        int64_t stop = 0;
        for (size_t i = 0; i < sc->producer_count; i++) {
            stop = sc->producers[i].stop_ns > stop ? sc->producers[i].stop_ns : stop;
        }
        int64_t end = sc->duration_ns - o->recover_ns;
        if (stop > 0 && stop - o->recover_ns < end) {
            end = stop - o->recover_ns;
        }
        o->window_end_ns = end;
    }
    if (o->window_end_ns < o->window_start_ns + S) {
        o->window_end_ns = o->window_start_ns + S; /* a short run: crowd the faults */
    }
}

/* ---- the cluster's nodes, by role ---- */

typedef struct nodes {
    int brokers[WEIR_SCN_HOSTS_MAX]; /* host indexes */
    int n_brokers;
    int flows[WEIR_SCN_HOSTS_MAX]; /* hosts of flow engines */
    int n_flows;
    int disks[WEIR_SCN_HOSTS_MAX]; /* brokers, and flows that keep a repository */
    int n_disks;
    int nodes[WEIR_SCN_HOSTS_MAX]; /* pause and clock: brokers, the controller, flows */
    int n_nodes;
    int net[WEIR_SCN_HOSTS_MAX]; /* every host with a role: brokers, controller, clients, flows */
    int n_net;
    int controller; /* -1: none (flows only) */
} nodes;

static void nodes_of(const weir_scenario *sc, nodes *n)
{
    bool used[WEIR_SCN_HOSTS_MAX] = {false};
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < sc->broker_count; i++) {
        n->brokers[n->n_brokers++] = sc->brokers[i].host_index;
        n->disks[n->n_disks++] = sc->brokers[i].host_index;
        n->nodes[n->n_nodes++] = sc->brokers[i].host_index;
        used[sc->brokers[i].host_index] = true;
    }
    n->controller = sc->controller.host_index;
    if (n->controller >= 0) {
        n->nodes[n->n_nodes++] = n->controller;
        used[n->controller] = true;
    }
    for (size_t i = 0; i < sc->flow_count; i++) {
        int h = sc->flows[i].host_index;
        WEIR_ASSERT(h >= 0 && (size_t)h < sc->host_count);
        n->flows[n->n_flows++] = h;
        n->nodes[n->n_nodes++] = h;
        if (sc->flows[i].repository) {
            n->disks[n->n_disks++] = h; /* without one the engine never touches its disk */
        }
        used[h] = true;
    }
    for (size_t i = 0; i < sc->producer_count; i++) {
        used[sc->producers[i].host_index] = true;
    }
    for (size_t i = 0; i < sc->consumer_count; i++) {
        used[sc->consumers[i].host_index] = true;
    }
    /* network faults need someone to talk to: with flows only, nobody */
    for (size_t h = 0; sc->broker_count > 0 && h < sc->host_count; h++) {
        if (used[h]) {
            n->net[n->n_net++] = (int)h;
        }
    }
}

/* Whether the scenario has a target for kind (make() may still find none
 * free at a given time: power faults on one host never overlap). */
static bool kind_possible(const nodes *n, weir_chaos_kind kind)
{
    switch (kind) {
    case WEIR_CHAOS_CRASH:
    case WEIR_CHAOS_TORN:
    case WEIR_CHAOS_CLEAN_SHUTDOWN:
        return n->n_brokers + n->n_flows > 0;
    case WEIR_CHAOS_PAUSE:
    case WEIR_CHAOS_CLOCK:
        return n->n_nodes > 0;
    case WEIR_CHAOS_PARTITION:
    case WEIR_CHAOS_ISOLATE:
    case WEIR_CHAOS_ONE_WAY:
    case WEIR_CHAOS_RESET:
    case WEIR_CHAOS_LATENCY:
    case WEIR_CHAOS_BANDWIDTH:
        return n->n_net >= 2;
    case WEIR_CHAOS_BRIDGE:
        return n->n_net >= 3;
    case WEIR_CHAOS_BIT_FLIP:
        return n->n_brokers > 0; /* a flipped bit in a flow's repository is loss the oracles would blame */
    case WEIR_CHAOS_FSYNC_ERROR:
    case WEIR_CHAOS_DISK_FULL:
    case WEIR_CHAOS_SLOW_DISK:
        return n->n_disks > 0;
    case WEIR_CHAOS_KINDS_:
        break;
    }
    return false;
}

uint32_t weir_chaos_kinds_possible(const weir_scenario *sc)
{
    nodes n;
    nodes_of(sc, &n);
    uint32_t kinds = 0;
    for (int k = 0; k < WEIR_CHAOS_KINDS_; k++) {
        kinds |= kind_possible(&n, (weir_chaos_kind)k) ? 1u << k : 0;
    }
    return kinds;
}

/* ---- generation ---- */

typedef struct gen {
    const weir_scenario *sc;
    const weir_chaos_options *o;
    weir_prng prng;
    nodes n;
    /* power faults per host may not overlap: busy until (ns) */
    int64_t power_from[WEIR_SCN_FAULTS_MAX];
    int64_t power_to[WEIR_SCN_FAULTS_MAX];
    int power_host[WEIR_SCN_FAULTS_MAX];
    int n_power;
} gen;

static int64_t between(gen *g, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)weir_prng_below(&g->prng, (uint64_t)(hi - lo));
}

/* A duration in whole ms within [lo, hi]. */
static int64_t dur_ms(gen *g, int64_t lo_ms, int64_t hi_ms)
{
    return between(g, lo_ms, hi_ms + 1) * MS;
}

static weir_scn_target host_target(int host)
{
    return (weir_scn_target){.host_index = host, .topic_index = -1, .partition = -1};
}

static weir_scn_target none_target(void)
{
    return host_target(-1);
}

static int pick(gen *g, const int *from, int n)
{
    WEIR_ASSERT(n > 0);
    return from[weir_prng_below(&g->prng, (uint64_t)n)];
}

/* Half the time the leader of a random partition (resolved when the fault
 * fires), else a random node of the given set. */
static weir_scn_target leader_or(gen *g, const int *from, int n)
{
    if (g->sc->topic_count > 0 && weir_prng_below(&g->prng, 2) == 0) {
        int t = (int)weir_prng_below(&g->prng, g->sc->topic_count);
        int32_t p = (int32_t)weir_prng_below(&g->prng, (uint64_t)g->sc->topics[t].partitions);
        return (weir_scn_target){.host_index = -1, .topic_index = t, .partition = p};
    }
    return host_target(pick(g, from, n));
}

static bool power_free(const gen *g, int host, int64_t from, int64_t to)
{
    for (int i = 0; i < g->n_power; i++) {
        if (g->power_host[i] == host && from < g->power_to[i] && g->power_from[i] < to) {
            return false;
        }
    }
    return true;
}

/* Two distinct network nodes. */
static bool pair(gen *g, int *a, int *b)
{
    if (g->n.n_net < 2) {
        return false;
    }
    *a = pick(g, g->n.net, g->n.n_net);
    do {
        *b = pick(g, g->n.net, g->n.n_net);
    } while (*b == *a);
    return true;
}

/* Random halves of the network nodes (each non-empty); with a bridge, one
 * more node in both. */
static bool halves(gen *g, weir_scn_fault *f, bool bridge)
{
    int n = g->n.n_net;
    if (n < (bridge ? 3 : 2)) {
        return false;
    }
    int order[WEIR_SCN_HOSTS_MAX];
    memcpy(order, g->n.net, (size_t)n * sizeof order[0]);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)weir_prng_below(&g->prng, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int rest = bridge ? n - 1 : n; /* the bridge is order[n - 1] */
    int cut = 1 + (int)weir_prng_below(&g->prng, (uint64_t)rest - 1);
    f->group_count = 2;
    f->groups[0] = f->groups[1] = 0;
    for (int i = 0; i < rest; i++) {
        f->groups[i < cut ? 0 : 1] |= 1ULL << order[i];
    }
    if (bridge) {
        f->groups[0] |= 1ULL << order[n - 1];
        f->groups[1] |= 1ULL << order[n - 1];
    }
    return true;
}

/* Fills f (time and duration already set) for kind; false if the kind
 * cannot apply here (no free broker, too few nodes). */
static bool make(gen *g, weir_chaos_kind kind, weir_scn_fault *f)
{
    const nodes *n = &g->n;
    f->a = none_target();
    f->b = none_target();
    switch (kind) {
    case WEIR_CHAOS_CRASH:
    case WEIR_CHAOS_TORN:
    case WEIR_CHAOS_CLEAN_SHUTDOWN: {
        int who[2 * WEIR_SCN_HOSTS_MAX];
        int n_who = n->n_brokers + n->n_flows;
        if (n_who == 0 || g->n_power == WEIR_SCN_FAULTS_MAX) {
            return false;
        }
        memcpy(who, n->brokers, (size_t)n->n_brokers * sizeof who[0]);
        memcpy(who + n->n_brokers, n->flows, (size_t)n->n_flows * sizeof who[0]);
        int host = pick(g, who, n_who);
        /* a second of margin: the restarted node is up before the next power fault */
        if (!power_free(g, host, f->at_ns, f->at_ns + f->duration_ns + S)) {
            return false;
        }
        g->power_host[g->n_power] = host;
        g->power_from[g->n_power] = f->at_ns;
        g->power_to[g->n_power++] = f->at_ns + f->duration_ns + S;
        f->kind = kind == WEIR_CHAOS_CLEAN_SHUTDOWN ? WEIR_SCN_CLEAN_SHUTDOWN : WEIR_SCN_CRASH;
        f->torn = kind == WEIR_CHAOS_TORN;
        f->a = host_target(host);
        return true;
    }
    case WEIR_CHAOS_PAUSE:
        if (n->n_nodes == 0) {
            return false;
        }
        f->kind = WEIR_SCN_PAUSE;
        f->a = leader_or(g, n->nodes, n->n_nodes);
        return true;
    case WEIR_CHAOS_PARTITION:
    case WEIR_CHAOS_BRIDGE:
        f->kind = WEIR_SCN_PARTITION;
        return halves(g, f, kind == WEIR_CHAOS_BRIDGE);
    case WEIR_CHAOS_ISOLATE:
        if (n->n_net < 2) {
            return false;
        }
        f->kind = WEIR_SCN_ISOLATE;
        f->a = leader_or(g, n->net, n->n_net);
        return true;
    case WEIR_CHAOS_ONE_WAY: {
        int a, b;
        if (!pair(g, &a, &b)) {
            return false;
        }
        f->kind = WEIR_SCN_CUT;
        f->one_way = true;
        f->a = host_target(a);
        f->b = host_target(b);
        return true;
    }
    case WEIR_CHAOS_RESET: {
        int a, b;
        if (!pair(g, &a, &b)) {
            return false;
        }
        f->kind = WEIR_SCN_RESET;
        f->duration_ns = 0; /* instant */
        f->a = host_target(a);
        f->b = weir_prng_below(&g->prng, 3) == 0 ? none_target() : host_target(b);
        return true;
    }
    case WEIR_CHAOS_LATENCY:
    case WEIR_CHAOS_BANDWIDTH:
        if (n->n_net < 2) {
            return false;
        }
        f->kind = WEIR_SCN_SLOW_LINK;
        f->a = host_target(pick(g, n->net, n->n_net));
        if (kind == WEIR_CHAOS_LATENCY) {
            f->latency_ns = dur_ms(g, 20, 800);
        } else {
            f->bandwidth_bps = (double)between(g, 50, 20000) * 1000.0; /* 50 kB/s .. 20 MB/s */
        }
        return true;
    case WEIR_CHAOS_CLOCK: {
        if (n->n_nodes == 0) {
            return false;
        }
        f->kind = WEIR_SCN_CLOCK;
        f->a = host_target(pick(g, n->nodes, n->n_nodes));
        /* a jump, a skew (the clock runs 2-20 % fast or slow), or both */
        int how = (int)weir_prng_below(&g->prng, 3);
        if (how != 1) {
            f->wall_ns = dur_ms(g, 1000, 120000) * (weir_prng_below(&g->prng, 2) ? 1 : -1);
            if (weir_prng_below(&g->prng, 2) == 0) {
                f->monotonic_ns = dur_ms(g, 100, 10000) * (weir_prng_below(&g->prng, 2) ? 1 : -1);
            }
        }
        if (how != 0) {
            int permille = 20 + (int)weir_prng_below(&g->prng, 181); /* 2 .. 20 % */
            f->rate = 1.0 + (weir_prng_below(&g->prng, 2) ? 1 : -1) * permille / 1000.0;
        }
        return true;
    }
    case WEIR_CHAOS_BIT_FLIP:
        if (n->n_brokers == 0) {
            return false;
        }
        f->kind = WEIR_SCN_BIT_FLIP;
        f->duration_ns = 0;
        f->a = host_target(pick(g, n->brokers, n->n_brokers));
        f->files = (weir_scn_flip_files)weir_prng_below(&g->prng, 3);
        return true;
    case WEIR_CHAOS_FSYNC_ERROR:
    case WEIR_CHAOS_DISK_FULL:
    case WEIR_CHAOS_SLOW_DISK:
        if (n->n_disks == 0) {
            return false;
        }
        f->a = host_target(pick(g, n->disks, n->n_disks));
        if (kind == WEIR_CHAOS_SLOW_DISK) {
            f->kind = WEIR_SCN_SLOW_DISK;
            f->write_bps = (double)between(g, 1, 50) * 1e6;
            f->fsync_ns = dur_ms(g, 10, 300);
        } else {
            f->kind = kind == WEIR_CHAOS_DISK_FULL ? WEIR_SCN_DISK_FULL : WEIR_SCN_FSYNC_ERROR;
        }
        return true;
    case WEIR_CHAOS_KINDS_:
        break;
    }
    return false;
}

static void sort_by_time(weir_chaos_schedule *s)
{
    for (size_t i = 1; i < s->count; i++) { /* insertion sort: stable, n <= 256 */
        weir_scn_fault f = s->faults[i];
        weir_chaos_kind k = s->kind_of[i];
        size_t j = i;
        while (j > 0 && s->faults[j - 1].at_ns > f.at_ns) {
            s->faults[j] = s->faults[j - 1];
            s->kind_of[j] = s->kind_of[j - 1];
            j--;
        }
        s->faults[j] = f;
        s->kind_of[j] = k;
    }
}

void weir_chaos_generate(const weir_scenario *sc, const weir_chaos_options *o, uint64_t seed,
                         weir_chaos_schedule *out)
{
    gen g = {.sc = sc, .o = o};
    weir_prng_seed(&g.prng, seed ^ 0x6368616f73ULL); /* not the run's own stream */
    nodes_of(sc, &g.n);
    memset(out, 0, sizeof *out);
    out->run_seed = seed;
    /* swarm: each allowed kind joins with probability 1/2, at least one;
     * kinds with no target in this scenario are never chosen */
    int allowed[WEIR_CHAOS_KINDS_], n_allowed = 0;
    for (int k = 0; k < WEIR_CHAOS_KINDS_; k++) {
        if ((o->kinds & (1u << k)) && kind_possible(&g.n, (weir_chaos_kind)k)) {
            allowed[n_allowed++] = k;
        }
    }
    if (n_allowed == 0) {
        return; /* an empty schedule: weir_chaos_kinds_possible tells callers beforehand */
    }
    for (int i = 0; i < n_allowed; i++) {
        if (weir_prng_below(&g.prng, 2) == 0) {
            out->kinds |= 1u << allowed[i];
        }
    }
    if (out->kinds == 0) {
        out->kinds = 1u << allowed[weir_prng_below(&g.prng, (uint64_t)n_allowed)];
    }
    int chosen[WEIR_CHAOS_KINDS_], n_chosen = 0;
    for (int k = 0; k < WEIR_CHAOS_KINDS_; k++) {
        if (out->kinds & (1u << k)) {
            chosen[n_chosen++] = k;
        }
    }
    /* intensity: how many faults, and how long they tend to last */
    int lo = o->faults_min > 0 ? o->faults_min : 1;
    int hi = o->faults_max >= lo ? o->faults_max : lo;
    hi = hi < WEIR_SCN_FAULTS_MAX ? hi : WEIR_SCN_FAULTS_MAX;
    int want = lo + (int)weir_prng_below(&g.prng, (uint64_t)(hi - lo + 1));
    int64_t longest_ms = 2000 + (int64_t)weir_prng_below(&g.prng, 9000); /* 2 .. 11 s */
    int64_t ws = o->window_start_ns, we = o->window_end_ns;
    for (int tries = 0; (int)out->count < want && tries < want * 20; tries++) {
        weir_chaos_kind kind = (weir_chaos_kind)chosen[weir_prng_below(&g.prng, (uint64_t)n_chosen)];
        weir_scn_fault f = {.kind = WEIR_SCN_CRASH,
                            .latency_ns = -1,
                            .bandwidth_bps = -1,
                            .write_bps = -1,
                            .read_bps = -1,
                            .fsync_ns = -1};
        f.duration_ns = dur_ms(&g, 300, longest_ms);
        if (f.duration_ns > we - ws) {
            f.duration_ns = (we - ws) / MS * MS;
        }
        f.at_ns = between(&g, ws / MS, (we - f.duration_ns) / MS + 1) * MS;
        if (make(&g, kind, &f)) {
            out->faults[out->count] = f;
            out->kind_of[out->count++] = kind;
        }
    }
    sort_by_time(out);
}
