/* The fault schedule and the expectations of a scenario.
 *
 * Faults are listed in time order, one kind per entry. Besides each
 * fault's own form, the schedule is replayed over named hosts to catch
 * what cannot happen: crashing a node that is down, restarting one that is
 * up (or that a duration already restarts), healing a link that nothing
 * cut. Targets given as leader(topic/partition) are only known at run
 * time, so they take part in no such check (give them a duration).
 *
 * Expectations are checked against the rest of the file: an expectation
 * that could never be met (consumers_read_all_acked with no consumer,
 * recovers_within past the end of the run) is an error here, not a
 * failed run later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "scenario/scenario_internal.h"

static const char *const scn_fault_keys[] = {
    [WEIR_SCN_CRASH] = "crash",
    [WEIR_SCN_RESTART] = "restart",
    [WEIR_SCN_CLEAN_SHUTDOWN] = "clean_shutdown",
    [WEIR_SCN_CUT] = "cut",
    [WEIR_SCN_HEAL] = "heal",
    [WEIR_SCN_ISOLATE] = "isolate",
    [WEIR_SCN_SLOW_LINK] = "slow_link",
    [WEIR_SCN_SLOW_DISK] = "slow_disk",
    [WEIR_SCN_PAUSE] = "pause",
    [WEIR_SCN_RESET] = "reset",
    [WEIR_SCN_PARTITION] = "partition",
    [WEIR_SCN_CLOCK] = "clock",
    [WEIR_SCN_DISK_FULL] = "disk_full",
    [WEIR_SCN_FSYNC_ERROR] = "fsync_error",
    [WEIR_SCN_BIT_FLIP] = "bit_flip",
};
#define SCN_FAULT_KINDS (sizeof scn_fault_keys / sizeof scn_fault_keys[0])

/* ---- targets ---- */

/* A node: a host name, or leader(topic/partition) when dynamic_ok. */
static int scn_parse_target(scn_ctx *ctx, const yaml_node_t *node, const char *text,
                            bool dynamic_ok, weir_scn_target *t)
{
    *t = (weir_scn_target){.host_index = -1, .topic_index = -1, .partition = -1};
    size_t len = strlen(text);
    if (strncmp(text, "leader(", 7) != 0) {
        return scn_host_ref(ctx, node, text, &t->host_index);
    }
    if (!dynamic_ok) {
        return scn_fail(ctx, node,
                        "needs a host name, not %s (to restart a node crashed as a partition's "
                        "leader, give the crash a duration)",
                        text);
    }
    const char *slash = strrchr(text, '/');
    char topic[WEIR_SCN_TOPIC_MAX];
    char digits[16];
    if (text[len - 1] != ')' || slash == NULL || slash - (text + 7) <= 0 ||
        (size_t)(slash - (text + 7)) >= sizeof topic || text + len - 1 - (slash + 1) <= 0 ||
        (size_t)(text + len - 1 - (slash + 1)) >= sizeof digits) {
        return scn_fail(ctx, node,
                        "expected leader(TOPIC/PARTITION) such as leader(events/0), "
                        "got \"%s\"",
                        text);
    }
    memcpy(topic, text + 7, (size_t)(slash - (text + 7)));
    topic[slash - (text + 7)] = '\0';
    memcpy(digits, slash + 1, (size_t)(text + len - 1 - (slash + 1)));
    digits[text + len - 1 - (slash + 1)] = '\0';
    int rc = scn_topic_ref(ctx, node, topic, &t->topic_index);
    if (rc != 0) {
        return rc;
    }
    const weir_scn_topic *tp = &ctx->sc->topics[t->topic_index];
    uint64_t p;
    if (weir_parse_u64(digits, &p) != 0 || p >= (uint64_t)tp->partitions) {
        return scn_fail(ctx, node, "topic \"%s\" has no partition %s (it has %d: 0 to %d)",
                        tp->name, digits, (int)tp->partitions, (int)tp->partitions - 1);
    }
    t->partition = (int32_t)p;
    return 0;
}

/* "A <-> B" (both ways), "A B" (both ways), "A -> B" (one way), or, when
 * single_ok, "A" alone (b left empty). */
static int scn_parse_link_spec(scn_ctx *ctx, const yaml_node_t *node, bool single_ok,
                               bool dynamic_ok, weir_scn_fault *f)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    char buf[2 * WEIR_SCN_TOPIC_MAX + 16];
    if (strlen(text) >= sizeof buf) {
        return scn_fail(ctx, node, "too long");
    }
    snprintf(buf, sizeof buf, "%s", text);
    char *tok[4];
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(buf, " \t", &save); p != NULL;
         p = strtok_r(NULL, " \t", &save)) {
        if (n < 4) {
            tok[n] = p;
        }
        n++;
    }
    bool arrow = n == 3 && (strcmp(tok[1], "<->") == 0 || strcmp(tok[1], "->") == 0);
    if (!(n == 2 || arrow || (n == 1 && single_ok))) {
        return scn_fail(ctx, node,
                        "expected \"A <-> B\" (both ways) or \"A -> B\" (one way)%s, "
                        "got \"%s\"",
                        single_ok ? ", or one host for all its links" : "", text);
    }
    f->one_way = arrow && strcmp(tok[1], "->") == 0;
    rc = scn_parse_target(ctx, node, tok[0], dynamic_ok, &f->a);
    if (rc != 0 || n == 1) {
        return rc;
    }
    rc = scn_parse_target(ctx, node, tok[n - 1], dynamic_ok, &f->b);
    if (rc == 0 && f->a.host_index >= 0 && f->a.host_index == f->b.host_index) {
        rc = scn_fail(ctx, node, "a link joins two different hosts, got \"%s\" twice", tok[0]);
    }
    return rc;
}

/* ---- one fault ---- */

static int scn_fault_kind(scn_ctx *ctx, const yaml_node_t *item, weir_scn_fault_kind *kind)
{
    int found = -1;
    for (size_t k = 0; k < SCN_FAULT_KINDS; k++) {
        if (scn_map_get(ctx, item, scn_fault_keys[k]) == NULL) {
            continue;
        }
        if (found >= 0) {
            return scn_fail(ctx, scn_map_key_node(ctx, item, scn_fault_keys[k]),
                            "two faults in one entry (%s and %s): write one entry per fault",
                            scn_fault_keys[found], scn_fault_keys[k]);
        }
        found = (int)k;
    }
    if (found < 0) {
        char list[256];
        scn_list(list, sizeof list, scn_fault_keys, SCN_FAULT_KINDS);
        return scn_fail(ctx, item, "no fault in this entry: write one of %s", list);
    }
    *kind = (weir_scn_fault_kind)found;
    return 0;
}

/* A jump of a clock: a duration with an optional sign ("-30s", "+2s", "5s"). */
static int scn_opt_jump(scn_ctx *ctx, const yaml_node_t *item, const char *key, int64_t *ns_out)
{
    yaml_node_t *v = scn_map_get(ctx, item, key);
    const char *text;
    if (v == NULL) {
        return 0;
    }
    int rc = scn_scalar(ctx, v, &text);
    if (rc != 0) {
        return rc;
    }
    bool back = text[0] == '-';
    int64_t ns;
    if (weir_parse_duration_ns(text + (back || text[0] == '+'), &ns) != 0) {
        return scn_fail_key(ctx, item, key,
                            "expected a jump such as 30s (forward) or -30s (back), got \"%s\"", text);
    }
    *ns_out = back ? -ns : ns;
    return 0;
}

/* Keys that only one kind of fault takes. */
static const struct {
    const char *key;
    weir_scn_fault_kind owner;
} scn_fault_param_keys[] = {
    {"latency", WEIR_SCN_SLOW_LINK}, {"bandwidth", WEIR_SCN_SLOW_LINK},
    {"write", WEIR_SCN_SLOW_DISK},   {"read", WEIR_SCN_SLOW_DISK},
    {"fsync", WEIR_SCN_SLOW_DISK},   {"torn", WEIR_SCN_CRASH},
    {"wall", WEIR_SCN_CLOCK},        {"monotonic", WEIR_SCN_CLOCK},
    {"rate", WEIR_SCN_CLOCK},
    {"files", WEIR_SCN_BIT_FLIP},
};

static int scn_fault_params(scn_ctx *ctx, const yaml_node_t *item, weir_scn_fault *f)
{
    int given = 0;
    for (size_t i = 0; i < sizeof scn_fault_param_keys / sizeof scn_fault_param_keys[0]; i++) {
        const char *key = scn_fault_param_keys[i].key;
        weir_scn_fault_kind owner = scn_fault_param_keys[i].owner;
        if (scn_map_get(ctx, item, key) == NULL) {
            continue;
        }
        if (f->kind != owner) {
            return scn_fail_key(ctx, item, key, "only %s takes %s", scn_fault_keys[owner], key);
        }
        given++;
    }
    static const char *const files[] = {"any", "log", "index"};
    int rc = scn_opt_bool(ctx, item, "torn", &f->torn);
    if (rc == 0) {
        rc = scn_opt_jump(ctx, item, "wall", &f->wall_ns);
    }
    if (rc == 0) {
        rc = scn_opt_jump(ctx, item, "monotonic", &f->monotonic_ns);
    }
    if (rc == 0 && scn_map_get(ctx, item, "files") != NULL) {
        int which = 0;
        size_t back = scn_path_key(ctx, "files");
        rc = scn_enum(ctx, scn_map_get(ctx, item, "files"), files, 3, &which);
        f->files = (weir_scn_flip_files)which;
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    }
    yaml_node_t *rate = scn_map_get(ctx, item, "rate");
    if (rc == 0 && rate != NULL) {
        const char *text;
        char *end = NULL;
        rc = scn_scalar(ctx, rate, &text);
        f->rate = rc == 0 ? strtod(text, &end) : 0;
        if (rc == 0 && (end == text || *end != '\0' || !(f->rate >= 0.5 && f->rate <= 2.0))) {
            return scn_fail_key(ctx, item, "rate",
                                "expected a clock rate from 0.5 to 2 (1.01 runs 1%% fast), got \"%s\"", text);
        }
    }
    if (rc == 0 && f->kind == WEIR_SCN_CLOCK && f->wall_ns == 0 && f->monotonic_ns == 0 && f->rate == 0) {
        return scn_fail_key(ctx, item, "clock",
                            "say how the clock goes wrong: a jump (wall, monotonic) and/or a rate");
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "latency", &f->latency_ns);
    }
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, item, "bandwidth", &f->bandwidth_bps);
    }
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, item, "write", &f->write_bps);
    }
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, item, "read", &f->read_bps);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "fsync", &f->fsync_ns);
    }
    if (rc == 0 && given == 0 && (f->kind == WEIR_SCN_SLOW_LINK || f->kind == WEIR_SCN_SLOW_DISK)) {
        rc = scn_fail_key(ctx, item, scn_fault_keys[f->kind], "say how slow: %s",
                          f->kind == WEIR_SCN_SLOW_LINK ? "latency and/or bandwidth"
                                                        : "write, read and/or fsync");
    }
    return rc;
}

/* partition: [[a, b], [c, d, e]]: two or more groups of hosts; a host in
 * two groups is a bridge that reaches both. */
static int scn_parse_groups(scn_ctx *ctx, const yaml_node_t *v, weir_scn_fault *f)
{
    size_t n;
    int rc = scn_seq_check(ctx, v, WEIR_SCN_GROUPS_MAX, &n);
    if (rc == 0 && n < 2) {
        rc = scn_fail(ctx, v, "a partition needs two or more groups of hosts, e.g. [[b1, b2], [b3, ctl]]");
    }
    f->a = (weir_scn_target){.host_index = -1, .topic_index = -1, .partition = -1};
    for (size_t g = 0; rc == 0 && g < n; g++) {
        size_t back = scn_path_index(ctx, g);
        yaml_node_t *group = scn_seq_item(ctx, v, g);
        size_t m;
        rc = scn_seq_check(ctx, group, WEIR_SCN_HOSTS_MAX, &m);
        if (rc == 0 && m == 0) {
            rc = scn_fail(ctx, group, "an empty group");
        }
        for (size_t k = 0; rc == 0 && k < m; k++) {
            const char *text;
            int host = -1;
            size_t back_k = scn_path_index(ctx, k);
            yaml_node_t *h = scn_seq_item(ctx, group, k);
            rc = scn_scalar(ctx, h, &text);
            if (rc == 0) {
                rc = scn_host_ref(ctx, h, text, &host);
            }
            if (rc == 0) {
                f->groups[g] |= 1ULL << host;
                scn_path_pop(ctx, back_k);
            }
        }
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    }
    f->group_count = (int)n;
    return rc;
}

static int scn_fault_target(scn_ctx *ctx, const yaml_node_t *item, weir_scn_fault *f)
{
    const char *key = scn_fault_keys[f->kind];
    yaml_node_t *v = scn_map_get(ctx, item, key);
    size_t back = scn_path_key(ctx, key);
    int rc = 0;
    const char *text = NULL;
    f->b = (weir_scn_target){.host_index = -1, .topic_index = -1, .partition = -1};
    switch (f->kind) {
    case WEIR_SCN_CUT:
        rc = scn_parse_link_spec(ctx, v, false, true, f);
        break;
    case WEIR_SCN_SLOW_LINK:
    case WEIR_SCN_RESET:
        rc = scn_parse_link_spec(ctx, v, true, true, f);
        break;
    case WEIR_SCN_PARTITION:
        rc = scn_parse_groups(ctx, v, f);
        break;
    case WEIR_SCN_HEAL:
        rc = scn_scalar(ctx, v, &text);
        if (rc == 0 && strcmp(text, "all") == 0) {
            f->a = (weir_scn_target){.host_index = -1, .topic_index = -1, .all = true};
        } else if (rc == 0) {
            rc = scn_parse_link_spec(ctx, v, true, false, f);
        }
        break;
    default:
        rc = scn_scalar(ctx, v, &text);
        if (rc == 0) {
            rc = scn_parse_target(ctx, v, text, f->kind != WEIR_SCN_RESTART, &f->a);
        }
        break;
    }
    bool power = f->kind == WEIR_SCN_CRASH || f->kind == WEIR_SCN_RESTART ||
                 f->kind == WEIR_SCN_CLEAN_SHUTDOWN;
    if (rc == 0 && power && f->a.host_index >= 0 &&
        f->a.host_index == ctx->sc->controller.host_index) {
        rc = scn_fail(ctx, v,
                      "the controller cannot %s: its state lives in memory (one controller, no "
                      "quorum yet); cut or isolate it instead",
                      f->kind == WEIR_SCN_RESTART ? "restart" : "stop");
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_fault_times(scn_ctx *ctx, const yaml_node_t *item, weir_scn_fault *f,
                           int64_t prev_at_ns)
{
    char a[32], b[32];
    yaml_node_t *at;
    int rc = scn_map_need(ctx, item, "at", &at);
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "at", &f->at_ns);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "duration", &f->duration_ns);
    }
    if (rc != 0) {
        return rc;
    }
    scn_format_ns(a, sizeof a, f->at_ns);
    scn_format_ns(b, sizeof b, ctx->sc->duration_ns);
    if (f->at_ns >= ctx->sc->duration_ns) {
        return scn_fail_key(ctx, item, "at", "%s is not before the end of the run (%s)", a, b);
    }
    if (f->at_ns < prev_at_ns) {
        scn_format_ns(b, sizeof b, prev_at_ns);
        return scn_fail_key(ctx, item, "at",
                            "%s is earlier than the fault before it (%s): list faults in time "
                            "order",
                            a, b);
    }
    yaml_node_t *d = scn_map_get(ctx, item, "duration");
    if (d == NULL && f->kind == WEIR_SCN_PAUSE) {
        return scn_fail_key(ctx, item, "pause", "a pause needs a duration (how long the node stalls)");
    }
    if (d == NULL) {
        return 0;
    }
    if (f->kind == WEIR_SCN_RESTART || f->kind == WEIR_SCN_HEAL || f->kind == WEIR_SCN_BIT_FLIP ||
        f->kind == WEIR_SCN_RESET) {
        return scn_fail_key(ctx, item, "duration", "%s takes no duration", scn_fault_keys[f->kind]);
    }
    if (f->duration_ns <= 0) {
        return scn_fail_key(ctx, item, "duration",
                            "must be longer than 0s (leave it out for a "
                            "fault that lasts)");
    }
    if (f->at_ns + f->duration_ns > ctx->sc->duration_ns) {
        scn_format_ns(a, sizeof a, f->at_ns + f->duration_ns);
        return scn_fail_key(ctx, item, "duration",
                            "the fault would end at %s, after the end of the run (%s)", a, b);
    }
    return 0;
}

/* ---- the schedule over named hosts ---- */

typedef struct scn_sched {
    int64_t down_until_ns[WEIR_SCN_HOSTS_MAX]; /* 0: up; INT64_MAX: until a restart */
    size_t down_by[WEIR_SCN_HOSTS_MAX];        /* the fault that took it down */
    bool net_active[WEIR_SCN_FAULTS_MAX];      /* lasting cuts, isolations, slow links */
} scn_sched;

/* Whether heal (not heal: all) undoes net, a lasting cut, isolation or
 * slow link. heal: A undoes everything that involves A; heal: A <-> B
 * undoes what joins A and B, either way; heal: A -> B only a one-way
 * A -> B. Ends given as leader(...) are reached by heal: all alone. */
static bool scn_heals(const weir_scn_fault *net, const weir_scn_fault *heal)
{
    int na = net->a.host_index, nb = net->b.host_index;
    int ha = heal->a.host_index, hb = heal->b.host_index;
    if (na < 0 || net->b.topic_index >= 0) {
        return false;
    }
    if (hb < 0) {
        return na == ha || nb == ha;
    }
    if (heal->one_way) {
        return net->one_way && na == ha && nb == hb;
    }
    return (na == ha && nb == hb) || (na == hb && nb == ha);
}

static int scn_sched_power(scn_ctx *ctx, const yaml_node_t *item, scn_sched *s, size_t i)
{
    const weir_scn_fault *f = &ctx->sc->faults[i];
    int h = f->a.host_index;
    const char *key = scn_fault_keys[f->kind];
    char a[32], b[32];
    scn_format_ns(a, sizeof a, f->at_ns);
    bool down = s->down_until_ns[h] > f->at_ns;
    if (f->kind == WEIR_SCN_RESTART) {
        if (s->down_until_ns[h] == INT64_MAX) {
            s->down_until_ns[h] = 0;
            return 0;
        }
        if (down) {
            scn_format_ns(b, sizeof b, s->down_until_ns[h]);
            return scn_fail_key(ctx, item, key,
                                "host \"%s\" is already restarted at %s by the duration of "
                                "faults[%zu]",
                                ctx->sc->hosts[h].name, b, s->down_by[h]);
        }
        return scn_fail_key(ctx, item, key,
                            "host \"%s\" is not down at %s: restart follows a crash or "
                            "clean_shutdown that has no duration",
                            ctx->sc->hosts[h].name, a);
    }
    if (down) {
        return scn_fail_key(ctx, item, key, "host \"%s\" is already down at %s (faults[%zu])",
                            ctx->sc->hosts[h].name, a, s->down_by[h]);
    }
    s->down_until_ns[h] = f->duration_ns > 0 ? f->at_ns + f->duration_ns : INT64_MAX;
    s->down_by[h] = i;
    return 0;
}

static int scn_sched_heal(scn_ctx *ctx, const yaml_node_t *item, scn_sched *s, size_t i)
{
    const weir_scn_fault *heal = &ctx->sc->faults[i];
    int healed = 0;
    for (size_t j = 0; j < i; j++) {
        if (s->net_active[j] && (heal->a.all || scn_heals(&ctx->sc->faults[j], heal))) {
            s->net_active[j] = false;
            healed++;
        }
    }
    if (healed > 0) {
        return 0;
    }
    char a[32];
    scn_format_ns(a, sizeof a, heal->at_ns);
    return scn_fail_key(ctx, item, "heal",
                        "nothing to heal at %s: no earlier cut, isolate or slow_link of this %s "
                        "without a duration",
                        a, heal->a.all ? "network" : "link");
}

static int scn_sched_step(scn_ctx *ctx, const yaml_node_t *item, scn_sched *s, size_t i)
{
    const weir_scn_fault *f = &ctx->sc->faults[i];
    switch (f->kind) {
    case WEIR_SCN_CRASH:
    case WEIR_SCN_RESTART:
    case WEIR_SCN_CLEAN_SHUTDOWN:
        return f->a.host_index >= 0 ? scn_sched_power(ctx, item, s, i) : 0;
    case WEIR_SCN_CUT:
    case WEIR_SCN_ISOLATE:
    case WEIR_SCN_SLOW_LINK:
    case WEIR_SCN_PARTITION:
        s->net_active[i] = f->duration_ns == 0;
        return 0;
    case WEIR_SCN_HEAL:
        return scn_sched_heal(ctx, item, s, i);
    default:
        return 0;
    }
}

static int scn_parse_fault(scn_ctx *ctx, const yaml_node_t *item, weir_scn_fault *f,
                           int64_t prev_at_ns)
{
    static const char *const keys[] = {
        "at",      "duration",  "crash",       "restart",  "clean_shutdown",
        "cut",     "heal",      "isolate",     "slow_link", "slow_disk",
        "latency", "bandwidth", "write",       "read",      "fsync",
        "pause",   "reset",     "partition",   "clock",     "disk_full",
        "fsync_error", "bit_flip", "torn",     "wall",      "monotonic",
        "files",   "rate",
    };
    static const scn_keyset ks = {keys, sizeof keys / sizeof keys[0], 0};
    *f = (weir_scn_fault){.latency_ns = -1,
                          .bandwidth_bps = -1,
                          .write_bps = -1,
                          .read_bps = -1,
                          .fsync_ns = -1,
                          .mark = scn_mark(item)};
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_fault_kind(ctx, item, &f->kind);
    }
    if (rc == 0) {
        rc = scn_fault_times(ctx, item, f, prev_at_ns);
    }
    if (rc == 0) {
        rc = scn_fault_params(ctx, item, f);
    }
    if (rc == 0) {
        rc = scn_fault_target(ctx, item, f);
    }
    return rc;
}

int scn_parse_faults(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_FAULTS_MAX, &count);
    if (rc != 0) {
        return rc;
    }
    weir_scenario *sc = ctx->sc;
    sc->faults = scn_alloc(sc, (count > 0 ? count : 1) * sizeof *sc->faults);
    scn_sched *sched = scn_alloc(sc, sizeof *sched);
    if (sc->faults == NULL || sched == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        yaml_node_t *item = scn_seq_item(ctx, node, i);
        int64_t prev = i > 0 ? sc->faults[i - 1].at_ns : 0;
        rc = scn_parse_fault(ctx, item, &sc->faults[i], prev);
        sc->fault_count += rc == 0;
        if (rc == 0) {
            rc = scn_sched_step(ctx, item, sched, i);
        }
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
    }
    return 0;
}

/* ---- expectations ---- */

static const struct {
    const char *name;
    int16_t code;
} scn_kafka_errors[] = {
    {"CORRUPT_MESSAGE", 2},
    {"UNKNOWN_TOPIC_OR_PARTITION", 3},
    {"LEADER_NOT_AVAILABLE", 5},
    {"NOT_LEADER_OR_FOLLOWER", 6},
    {"REQUEST_TIMED_OUT", 7},
    {"BROKER_NOT_AVAILABLE", 8},
    {"MESSAGE_TOO_LARGE", 10},
    {"NETWORK_EXCEPTION", 13},
    {"RECORD_LIST_TOO_LARGE", 18},
    {"NOT_ENOUGH_REPLICAS", 19},
    {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", 20},
    {"INVALID_REQUIRED_ACKS", 21},
    {"OUT_OF_ORDER_SEQUENCE_NUMBER", 45},
    {"DUPLICATE_SEQUENCE_NUMBER", 46},
    {"KAFKA_STORAGE_ERROR", 56},
    {"FENCED_LEADER_EPOCH", 74},
    {"UNKNOWN_LEADER_EPOCH", 75},
};
#define SCN_KAFKA_ERROR_COUNT (sizeof scn_kafka_errors / sizeof scn_kafka_errors[0])

const char *weir_scn_kafka_error_name(int16_t code)
{
    for (size_t i = 0; i < SCN_KAFKA_ERROR_COUNT; i++) {
        if (scn_kafka_errors[i].code == code) {
            return scn_kafka_errors[i].name;
        }
    }
    return NULL;
}

void scn_expect_default(weir_scn_expect *e)
{
    *e = (weir_scn_expect){.lost_acked_max = -1, .recovers_within_ns = -1};
}

/* A list of Kafka error names, or none (unchecked, for produce_errors_allowed). */
static int scn_parse_errors(scn_ctx *ctx, const yaml_node_t *map, const char *key, int16_t *codes,
                            int *count, bool *checked)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    if (checked != NULL && v->type == YAML_SCALAR_NODE && strcmp(scn_text(v), "none") == 0) {
        *checked = false;
        *count = 0;
        scn_path_pop(ctx, back);
        return 0;
    }
    size_t n;
    int rc = scn_seq_check(ctx, v, WEIR_SCN_ERRORS_MAX, &n);
    if (rc != 0) {
        return rc;
    }
    const char *names[SCN_KAFKA_ERROR_COUNT];
    for (size_t i = 0; i < SCN_KAFKA_ERROR_COUNT; i++) {
        names[i] = scn_kafka_errors[i].name;
    }
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = scn_seq_item(ctx, v, i);
        size_t b = scn_path_index(ctx, i);
        int k;
        rc = scn_enum(ctx, item, names, SCN_KAFKA_ERROR_COUNT, &k);
        for (int j = 0; j < *count && rc == 0; j++) {
            if (codes[j] == scn_kafka_errors[k].code) {
                rc = scn_fail(ctx, item, "%s is listed twice", names[k]);
            }
        }
        if (rc != 0) {
            return rc;
        }
        codes[(*count)++] = scn_kafka_errors[k].code;
        scn_path_pop(ctx, b);
    }
    if (checked != NULL) {
        *checked = true;
    }
    scn_path_pop(ctx, back);
    return 0;
}

/* One violation: "divergence" or "divergence(topic)". */
static int scn_parse_violation(scn_ctx *ctx, const yaml_node_t *node, weir_scn_violation *out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    const char *names[WEIR_SCN_V_COUNT_];
    for (int i = 0; i < WEIR_SCN_V_COUNT_; i++) {
        names[i] = weir_scn_violation_name((weir_scn_violation_kind)i);
    }
    char kind[32];
    const char *paren = strchr(text, '(');
    size_t klen = paren != NULL ? (size_t)(paren - text) : strlen(text);
    snprintf(kind, sizeof kind, "%.*s", (int)(klen < sizeof kind ? klen : sizeof kind - 1), text);
    out->topic_index = -1;
    for (int i = 0; i < WEIR_SCN_V_COUNT_; i++) {
        if (strcmp(kind, names[i]) == 0) {
            out->kind = (weir_scn_violation_kind)i;
            if (paren == NULL) {
                return 0;
            }
            size_t tlen = strlen(paren + 1);
            if (tlen < 2 || paren[tlen] != ')' || tlen > WEIR_SCN_TOPIC_MAX) {
                break;
            }
            char topic[WEIR_SCN_TOPIC_MAX + 1];
            snprintf(topic, sizeof topic, "%.*s", (int)(tlen - 1), paren + 1);
            return scn_topic_ref(ctx, node, topic, &out->topic_index);
        }
    }
    char list[256];
    scn_list(list, sizeof list, names, WEIR_SCN_V_COUNT_);
    const char *close = scn_closest(kind, names, WEIR_SCN_V_COUNT_);
    char hint[64] = "";
    if (close != NULL) {
        snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", close);
    }
    return scn_fail(ctx, node,
                    "expected one of %s, optionally with a topic: acked_loss(events); "
                    "got \"%s\"%s",
                    list, text, hint);
}

static int scn_parse_violations(scn_ctx *ctx, const yaml_node_t *map, weir_scn_expect *e)
{
    yaml_node_t *v = scn_map_get(ctx, map, "expect_violation");
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, "expect_violation");
    size_t n = 1;
    int rc = 0;
    if (v->type != YAML_SCALAR_NODE) {
        rc = scn_seq_check(ctx, v, WEIR_SCN_VIOLATIONS_MAX, &n);
    }
    e->violation_count = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *item = v->type == YAML_SCALAR_NODE ? v : scn_seq_item(ctx, v, i);
        size_t b = v->type == YAML_SCALAR_NODE ? ctx->y.path_len : scn_path_index(ctx, i);
        weir_scn_violation w;
        rc = scn_parse_violation(ctx, item, &w);
        for (int j = 0; j < e->violation_count && rc == 0; j++) {
            if (e->violations[j].kind == w.kind && e->violations[j].topic_index == w.topic_index) {
                rc = scn_fail(ctx, item, "listed twice");
            }
        }
        if (rc == 0) {
            e->violations[e->violation_count++] = w;
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

/* An integer >= 0, or none for -1 (a variant clearing the base's bound). */
static int scn_opt_bound(scn_ctx *ctx, const yaml_node_t *map, const char *key, int64_t *out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v != NULL && v->type == YAML_SCALAR_NODE && strcmp(scn_text(v), "none") == 0) {
        *out = -1;
        return 0;
    }
    return scn_opt_int(ctx, map, key, 0, INT64_MAX, out);
}

static int scn_expect_values(scn_ctx *ctx, const yaml_node_t *node, weir_scn_expect *e)
{
    const char *mins[] = {"leader_changes_min", "isr_shrinks_min", "isr_expands_min",
                          "truncations_min", "unclean_elections_min"};
    int32_t *fields[] = {&e->leader_changes_min, &e->isr_shrinks_min, &e->isr_expands_min,
                         &e->truncations_min, &e->unclean_elections_min};
    int rc = 0;
    for (size_t i = 0; i < 5 && rc == 0; i++) {
        int64_t v = *fields[i];
        rc = scn_opt_int(ctx, node, mins[i], 0, INT32_MAX, &v);
        *fields[i] = (int32_t)v;
    }
    const char *flags[] = {"no_acked_loss", "offline_until_restart", "consumers_read_all_acked"};
    bool *bools[] = {&e->no_acked_loss, &e->offline_until_restart, &e->consumers_read_all_acked};
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        rc = scn_opt_bool(ctx, node, flags[i], bools[i]);
    }
    if (rc == 0) {
        rc = scn_opt_bound(ctx, node, "max_lost_acked", &e->lost_acked_max);
    }
    yaml_node_t *rw = scn_map_get(ctx, node, "recovers_within");
    if (rc == 0 && rw != NULL && rw->type == YAML_SCALAR_NODE &&
        strcmp(scn_text(rw), "none") == 0) {
        e->recovers_within_ns = -1;
    } else if (rc == 0) {
        rc = scn_opt_duration(ctx, node, "recovers_within", &e->recovers_within_ns);
    }
    if (rc == 0) {
        rc = scn_parse_violations(ctx, node, e);
    }
    if (rc == 0) {
        rc = scn_parse_errors(ctx, node, "produce_errors_allowed", e->produce_errors_allowed,
                              &e->produce_errors_allowed_count, &e->produce_errors_checked);
    }
    if (rc == 0) {
        rc = scn_parse_errors(ctx, node, "produce_errors_required", e->produce_errors_required,
                              &e->produce_errors_required_count, NULL);
    }
    return rc == 0 ? scn_parse_flow_expect(ctx, node, e) : rc;
}

/* Is unclean election on for topic t under these broker defaults? */
static bool scn_unclean(const weir_scenario *sc, size_t t, const weir_scn_settings *defaults)
{
    const char *key = "unclean.leader.election.enable";
    const weir_scn_setting *s = scn_settings_find(&sc->topics[t].config, key);
    s = s != NULL ? s : scn_settings_find(defaults, key);
    return s != NULL && s->number != 0;
}

static bool scn_has_crash_then_restart(const weir_scenario *sc)
{
    for (size_t i = 0; i < sc->fault_count; i++) {
        const weir_scn_fault *f = &sc->faults[i];
        bool down = f->kind == WEIR_SCN_CRASH || f->kind == WEIR_SCN_CLEAN_SHUTDOWN;
        if ((down && f->duration_ns > 0) || f->kind == WEIR_SCN_RESTART) {
            return true;
        }
    }
    return false;
}

/* The checks against the workload. */
static int scn_expect_check_clients(scn_ctx *ctx, const yaml_node_t *node, const weir_scn_expect *e)
{
    const weir_scenario *sc = ctx->sc;
    bool acks_all = false;
    for (size_t i = 0; i < sc->producer_count; i++) {
        acks_all = acks_all || sc->producers[i].acks == -1;
    }
    for (int i = 0; i < e->violation_count; i++) {
        if (e->no_acked_loss && e->violations[i].kind == WEIR_SCN_V_ACKED_LOSS) {
            return scn_fail_key(ctx, node, "no_acked_loss",
                                "true, but expect_violation expects acked_loss: choose one");
        }
    }
    if (e->no_acked_loss && !acks_all) {
        return scn_fail_key(ctx, node, "no_acked_loss", "no producer uses acks: all");
    }
    if (e->consumers_read_all_acked && sc->consumer_count == 0) {
        return scn_fail_key(ctx, node, "consumers_read_all_acked",
                            "the file declares no consumers");
    }
    if ((e->produce_errors_required_count > 0 || e->produce_errors_checked) &&
        sc->producer_count == 0) {
        return scn_fail_key(ctx, node,
                            e->produce_errors_checked ? "produce_errors_allowed"
                                                      : "produce_errors_required",
                            "the file declares no producers");
    }
    for (int i = 0; i < e->produce_errors_required_count && e->produce_errors_checked; i++) {
        bool found = false;
        for (int j = 0; j < e->produce_errors_allowed_count; j++) {
            found = found || e->produce_errors_allowed[j] == e->produce_errors_required[i];
        }
        if (!found) {
            return scn_fail_key(ctx, node, "produce_errors_required",
                                "%s is required but not in produce_errors_allowed",
                                weir_scn_kafka_error_name(e->produce_errors_required[i]));
        }
    }
    return 0;
}

/* The checks against the cluster and the fault schedule. */
static int scn_expect_check_schedule(scn_ctx *ctx, const yaml_node_t *node,
                                     const weir_scn_settings *defaults, const weir_scn_expect *e)
{
    const weir_scenario *sc = ctx->sc;
    bool any_unclean = false;
    for (size_t t = 0; t < sc->topic_count; t++) {
        any_unclean = any_unclean || scn_unclean(sc, t, defaults);
    }
    if (e->offline_until_restart && any_unclean) {
        return scn_fail_key(ctx, node, "offline_until_restart",
                            "unclean.leader.election.enable is true: an unclean election would "
                            "end the wait");
    }
    if (e->offline_until_restart && !scn_has_crash_then_restart(sc)) {
        return scn_fail_key(ctx, node, "offline_until_restart",
                            "no crash is followed by a restart (a restart fault, or a duration)");
    }
    if (e->unclean_elections_min > 0 && !any_unclean) {
        return scn_fail_key(ctx, node, "unclean_elections_min",
                            "unclean.leader.election.enable is false for every topic");
    }
    if (e->recovers_within_ns >= 0) {
        if (sc->fault_count == 0) {
            return scn_fail_key(ctx, node, "recovers_within", "the file declares no faults");
        }
        if (sc->broker_count == 0) {
            return scn_fail_key(ctx, node, "recovers_within",
                                "judges partitions and producers, and the file declares no "
                                "brokers");
        }
        int64_t end = weir_scenario_last_fault_end_ns(sc);
        if (end + e->recovers_within_ns > sc->duration_ns) {
            char a[32], b[32], c[32];
            scn_format_ns(a, sizeof a, end);
            scn_format_ns(b, sizeof b, e->recovers_within_ns);
            scn_format_ns(c, sizeof c, sc->duration_ns);
            return scn_fail_key(ctx, node, "recovers_within",
                                "the last fault ends at %s; %s later is after the end of the run "
                                "(%s)",
                                a, b, c);
        }
    }
    return 0;
}

/* The checks that tie expectations to the rest of the file; errors point
 * at the key in node (or at node when the key came from elsewhere). */
int scn_expect_check(scn_ctx *ctx, const yaml_node_t *node, const weir_scn_settings *defaults,
                     const weir_scn_expect *e)
{
    int rc = scn_expect_check_clients(ctx, node, e);
    if (rc == 0) {
        rc = scn_expect_check_schedule(ctx, node, defaults, e);
    }
    return rc == 0 ? scn_flow_expect_check(ctx, node, e) : rc;
}

int scn_parse_expect(scn_ctx *ctx, const yaml_node_t *node, const weir_scn_settings *defaults,
                     weir_scn_expect *expect)
{
    static const char *const keys[] = {
        "no_acked_loss",           "max_lost_acked",        "expect_violation",
        "leader_changes_min",      "isr_shrinks_min",       "isr_expands_min",
        "truncations_min",         "unclean_elections_min", "produce_errors_allowed",
        "produce_errors_required", "offline_until_restart", "consumers_read_all_acked",
        "recovers_within",         "flow_conserved",        "flow_no_loss",
        "flow_queue_max",          "flow_back_pressure",    "flow_counts",
        "flow_parameter",          "flow_delivers",
    };
    static const scn_keyset ks = {keys, sizeof keys / sizeof keys[0], 0};
    expect->mark = scn_mark(node);
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_expect_values(ctx, node, expect);
    }
    if (rc == 0) {
        rc = scn_expect_check(ctx, node, defaults, expect);
    }
    return rc;
}
