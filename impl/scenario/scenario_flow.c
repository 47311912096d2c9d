/* The flow sections of a scenario file: `flows:` (flow engines on hosts)
 * and `actions:` (timed run-time changes to them); the flow keys of
 * `expect:` are in scenario_flow_expect.c.
 *
 * The parser reads no files, so the flow files themselves, and every name
 * that lives in them (processors, connections, parameter contexts), are
 * checked by the runner before the run starts (sim/run/run_flow_load.c),
 * with the marks kept here. What can be checked here is: hosts exist and
 * run nothing else, flow names are unique and referenced flows exist,
 * actions are in time order within the run, one kind per action, values
 * have their types.
 */
#include <stdio.h>
#include <string.h>

#include "scenario/scenario_internal.h"

/* ---- small readers ---- */

/* A flow name under key of map, which must be declared in flows:. */
int scn_flow_ref_key(scn_ctx *ctx, const yaml_node_t *map, int *index)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, "flow", &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "flow");
    const char *name;
    rc = scn_scalar(ctx, v, &name);
    if (rc == 0) {
        *index = weir_scenario_flow_find(ctx->sc, name);
        if (*index < 0) {
            const char *names[WEIR_SCN_FLOWS_MAX];
            for (size_t i = 0; i < ctx->sc->flow_count; i++) {
                names[i] = ctx->sc->flows[i].name;
            }
            char hint[512];
            scn_hint_as(hint, sizeof hint, name, names, ctx->sc->flow_count, "declared:");
            if (ctx->sc->flow_count == 0) {
                snprintf(hint, sizeof hint, " (the file declares no flows)");
            }
            rc = scn_fail(ctx, v, "no flow named \"%s\"%s", name, hint);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

/* A processor, connection or context name of a flow file under key of map. */
int scn_flow_name_key(scn_ctx *ctx, const yaml_node_t *map, const char *key, const char *what,
                      const char **out, weir_scn_mark *mark)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, key, &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, key);
    rc = weir_ydoc_name(&ctx->y, v, WEIR_SCN_FLOW_NAME_MAX, what, out);
    if (rc == 0) {
        scn_path_pop(ctx, back);
        if (mark != NULL) {
            *mark = scn_mark(v);
        }
    }
    return rc;
}

/* A free-text value under key (parameter names hold spaces; values may be empty). */
int scn_text_key(scn_ctx *ctx, const yaml_node_t *map, const char *key, bool empty_ok,
                 const char **out)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, key, &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, key);
    rc = empty_ok ? weir_ydoc_text_or_empty(&ctx->y, v, 65536, out)
                  : scn_string(ctx, v, WEIR_SCN_FLOW_NAME_MAX, out);
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

/* ---- flows ---- */

/* Fails if host already runs a broker, the controller, clients or a flow. */
static int scn_flow_host_free(scn_ctx *ctx, const yaml_node_t *item, int host)
{
    const weir_scenario *sc = ctx->sc;
    const char *name = sc->hosts[host].name;
    const char *what = NULL;
    for (size_t i = 0; i < sc->broker_count && what == NULL; i++) {
        what = sc->brokers[i].host_index == host ? "a broker" : NULL;
    }
    what = what == NULL && sc->controller.host_index == host ? "the controller" : what;
    for (size_t i = 0; i < sc->producer_count && what == NULL; i++) {
        what = sc->producers[i].host_index == host ? "a producer" : NULL;
    }
    for (size_t i = 0; i < sc->consumer_count && what == NULL; i++) {
        what = sc->consumers[i].host_index == host ? "a consumer" : NULL;
    }
    for (size_t i = 0; i < sc->flow_count && what == NULL; i++) {
        what = sc->flows[i].host_index == host ? "another flow" : NULL;
    }
    if (what == NULL) {
        return 0;
    }
    return scn_fail_key(ctx, item, "host",
                        "host \"%s\" already runs %s: a flow has a host of its own", name, what);
}

static int scn_flow_settings(scn_ctx *ctx, const yaml_node_t *item, weir_scn_flow *f)
{
    static const char *const provs[] = {"off", "memory", "repository"};
    int rc = scn_opt_bool(ctx, item, "repository", &f->repository);
    f->provenance = f->repository ? WEIR_SCN_PROV_REPOSITORY : WEIR_SCN_PROV_MEMORY;
    yaml_node_t *v = scn_map_get(ctx, item, "provenance");
    if (rc == 0 && v != NULL) {
        size_t back = scn_path_key(ctx, "provenance");
        int k = 0;
        rc = scn_enum(ctx, v, provs, 3, &k);
        f->provenance = (weir_scn_provenance)k;
        if (rc == 0 && f->provenance == WEIR_SCN_PROV_REPOSITORY && !f->repository) {
            rc = scn_fail(ctx, v, "a provenance repository needs repository: true");
        }
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    }
    if (rc == 0) {
        rc = scn_opt_bool(ctx, item, "wal_sync", &f->wal_sync);
    }
    if (rc == 0) {
        rc = scn_opt_bool(ctx, item, "provenance_sync", &f->provenance_sync);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "checkpoint_interval", &f->checkpoint_interval_ns);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "batch_size", 1, 100000, &f->batch_size);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "swap_threshold", 1, INT32_MAX, &f->swap_threshold);
    }
    const char *needs_repo[] = {"wal_sync", "checkpoint_interval"};
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        if (!f->repository && scn_map_get(ctx, item, needs_repo[i]) != NULL) {
            rc = scn_fail_key(ctx, item, needs_repo[i], "only with repository: true");
        }
    }
    if (rc == 0 && f->provenance != WEIR_SCN_PROV_REPOSITORY &&
        scn_map_get(ctx, item, "provenance_sync") != NULL) {
        rc = scn_fail_key(ctx, item, "provenance_sync", "only with provenance: repository");
    }
    return rc;
}

/* parameters: [{ context, name, value }]: the flow file's values replaced. */
static int scn_flow_params(scn_ctx *ctx, const yaml_node_t *item, weir_scn_flow *f)
{
    static const char *const keys[] = {"context", "name", "value"};
    static const scn_keyset ks = KEYSET(keys, 0);
    yaml_node_t *v = scn_map_get(ctx, item, "parameters");
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, "parameters");
    size_t n = 0;
    int rc = scn_seq_check(ctx, v, WEIR_SCN_FLOW_PARAMS_MAX, &n);
    weir_scn_flow_param *ps = rc == 0 ? scn_alloc(ctx->sc, (n + 1) * sizeof *ps) : NULL;
    if (rc == 0 && ps == NULL) {
        rc = scn_nomem(ctx);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t b = scn_path_index(ctx, i);
        yaml_node_t *p = scn_seq_item(ctx, v, i);
        ps[i].mark = scn_mark(p);
        rc = scn_map_check(ctx, p, &ks);
        if (rc == 0) {
            rc = scn_flow_name_key(ctx, p, "context", "parameter context", &ps[i].context, NULL);
        }
        if (rc == 0) {
            rc = scn_text_key(ctx, p, "name", false, &ps[i].name);
        }
        if (rc == 0) {
            rc = scn_text_key(ctx, p, "value", true, &ps[i].value);
        }
        if (rc == 0) {
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
        f->params = ps;
        f->param_count = n;
    }
    return rc;
}

static int scn_parse_flow(scn_ctx *ctx, const yaml_node_t *item, weir_scn_flow *f)
{
    static const char *const keys[] = {
        "name",
        "host",
        "file",
        "repository",
        "provenance",
        "wal_sync",
        "provenance_sync",
        "batch_size",
        "checkpoint_interval",
        "swap_threshold",
        "parameters",
    };
    static const scn_keyset ks = KEYSET(keys, 0);
    *f = (weir_scn_flow){.wal_sync = true,
                         .checkpoint_interval_ns = 20000000000LL,
                         .batch_size = 1000,
                         .mark = scn_mark(item)};
    int rc = scn_map_check(ctx, item, &ks);
    yaml_node_t *v = NULL;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "name", &v);
    }
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "name");
        rc = scn_name(ctx, v, WEIR_SCN_NAME_MAX, "flow", &f->name);
        int dup = rc == 0 ? weir_scenario_flow_find(ctx->sc, f->name) : -1;
        if (dup >= 0) {
            rc = scn_fail(ctx, v, "flow \"%s\" is declared twice (first at line %d)", f->name,
                          ctx->sc->flows[dup].mark.line);
        }
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    }
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "host", &v);
    }
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "host");
        const char *host;
        rc = scn_scalar(ctx, v, &host);
        if (rc == 0) {
            rc = scn_host_ref(ctx, v, host, &f->host_index);
        }
        if (rc == 0) {
            scn_path_pop(ctx, back);
            rc = scn_flow_host_free(ctx, item, f->host_index);
        }
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, item, "file", false, &f->file);
    }
    if (rc == 0) {
        f->file_mark = scn_mark(scn_map_get(ctx, item, "file"));
        rc = scn_flow_settings(ctx, item, f);
    }
    return rc == 0 ? scn_flow_params(ctx, item, f) : rc;
}

int scn_parse_flows(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_FLOWS_MAX, &count);
    if (rc == 0 && count == 0) {
        rc = scn_fail(ctx, node, "no flows: leave the key out, or declare one");
    }
    if (rc != 0) {
        return rc;
    }
    ctx->sc->flows = scn_alloc(ctx->sc, count * sizeof *ctx->sc->flows);
    if (ctx->sc->flows == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        rc = scn_parse_flow(ctx, scn_seq_item(ctx, node, i), &ctx->sc->flows[i]);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
        ctx->sc->flow_count++;
    }
    return 0;
}

/* ---- actions ---- */

static int scn_action_kind(scn_ctx *ctx, const yaml_node_t *item, weir_scn_action_kind *kind)
{
    int found = -1;
    for (int k = 0; k < WEIR_SCN_ACT_KINDS_; k++) {
        if (scn_map_get(ctx, item, weir_scn_action_kind_name((weir_scn_action_kind)k)) == NULL) {
            continue;
        }
        if (found >= 0) {
            return scn_fail_key(ctx, item, weir_scn_action_kind_name((weir_scn_action_kind)k),
                                "one action per entry (this one also has %s)",
                                weir_scn_action_kind_name((weir_scn_action_kind)found));
        }
        found = k;
    }
    if (found < 0) {
        return scn_fail(ctx, item,
                        "no action: give one of start, stop, threshold, prioritizers, "
                        "expiration or set_parameter");
    }
    *kind = (weir_scn_action_kind)found;
    return 0;
}

static int scn_action_threshold(scn_ctx *ctx, const yaml_node_t *v, weir_scn_action *a)
{
    static const char *const keys[] = {"connection", "objects", "size"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, v, &ks);
    if (rc == 0) {
        rc = scn_flow_name_key(ctx, v, "connection", "connection", &a->target, &a->target_mark);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, v, "objects", 1, INT64_MAX, &a->objects);
    }
    uint64_t size = 0;
    if (rc == 0) {
        rc = scn_opt_size(ctx, v, "size", false, 1, INT64_MAX, &size);
        a->size_bytes = scn_map_get(ctx, v, "size") != NULL ? (int64_t)size : -1;
    }
    if (rc == 0 && a->objects < 0 && a->size_bytes < 0) {
        rc = scn_fail(ctx, v, "give objects:, size: or both (the new thresholds)");
    }
    return rc;
}

static int scn_action_prioritizers(scn_ctx *ctx, const yaml_node_t *v, weir_scn_action *a)
{
    static const char *const keys[] = {"connection", "use"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, v, &ks);
    if (rc == 0) {
        rc = scn_flow_name_key(ctx, v, "connection", "connection", &a->target, &a->target_mark);
    }
    yaml_node_t *use = NULL;
    if (rc == 0) {
        rc = scn_map_need(ctx, v, "use", &use);
    }
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "use");
    size_t n;
    rc = scn_seq_check(ctx, use, WEIR_SCN_PRIORITIZERS_MAX, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t b = scn_path_index(ctx, i);
        yaml_node_t *p = scn_seq_item(ctx, use, i);
        rc = weir_ydoc_name(&ctx->y, p, WEIR_SCN_FLOW_NAME_MAX, "prioritizer", &a->prioritizers[i]);
        for (size_t j = 0; j < i && rc == 0; j++) {
            if (strcmp(a->prioritizers[j], a->prioritizers[i]) == 0) {
                rc = scn_fail(ctx, p, "prioritizer \"%s\" is listed twice", a->prioritizers[i]);
            }
        }
        if (rc == 0) {
            a->prioritizer_count++;
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_action_expiration(scn_ctx *ctx, const yaml_node_t *v, weir_scn_action *a)
{
    static const char *const keys[] = {"connection", "after"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, v, &ks);
    if (rc == 0) {
        rc = scn_flow_name_key(ctx, v, "connection", "connection", &a->target, &a->target_mark);
    }
    yaml_node_t *after;
    if (rc == 0) {
        rc = scn_map_need(ctx, v, "after", &after);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, v, "after", &a->expiration_ns);
    }
    return rc;
}

static int scn_action_parameter(scn_ctx *ctx, const yaml_node_t *v, weir_scn_action *a)
{
    static const char *const keys[] = {"context", "name", "value"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, v, &ks);
    if (rc == 0) {
        rc = scn_flow_name_key(ctx, v, "context", "parameter context", &a->target, &a->target_mark);
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, v, "name", false, &a->name);
    }
    if (rc == 0) {
        rc = scn_text_key(ctx, v, "value", true, &a->value);
    }
    return rc;
}

/* The action's own value: a processor name, or the mapping of its kind. */
static int scn_action_body(scn_ctx *ctx, const yaml_node_t *item, weir_scn_action *a)
{
    const char *key = weir_scn_action_kind_name(a->kind);
    yaml_node_t *v = scn_map_get(ctx, item, key);
    size_t back = scn_path_key(ctx, key);
    int rc;
    if (a->kind == WEIR_SCN_ACT_START || a->kind == WEIR_SCN_ACT_STOP) {
        rc = weir_ydoc_name(&ctx->y, v, WEIR_SCN_FLOW_NAME_MAX, "processor", &a->target);
        a->target_mark = scn_mark(v);
    } else if (v->type != YAML_MAPPING_NODE) {
        rc = scn_fail(ctx, v, "expected a mapping (%s), got %s",
                      a->kind == WEIR_SCN_ACT_THRESHOLD      ? "connection, objects, size"
                      : a->kind == WEIR_SCN_ACT_PRIORITIZERS ? "connection, use"
                      : a->kind == WEIR_SCN_ACT_EXPIRATION   ? "connection, after"
                                                             : "context, name, value",
                      scn_node_kind(v));
    } else if (a->kind == WEIR_SCN_ACT_THRESHOLD) {
        rc = scn_action_threshold(ctx, v, a);
    } else if (a->kind == WEIR_SCN_ACT_PRIORITIZERS) {
        rc = scn_action_prioritizers(ctx, v, a);
    } else if (a->kind == WEIR_SCN_ACT_EXPIRATION) {
        rc = scn_action_expiration(ctx, v, a);
    } else {
        rc = scn_action_parameter(ctx, v, a);
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_parse_action(scn_ctx *ctx, const yaml_node_t *item, weir_scn_action *a,
                            int64_t prev_at_ns)
{
    static const char *const keys[] = {"at",        "flow",         "start",      "stop",
                                       "threshold", "prioritizers", "expiration", "set_parameter"};
    static const scn_keyset ks = KEYSET(keys, 0);
    *a = (weir_scn_action){.objects = -1, .size_bytes = -1, .mark = scn_mark(item)};
    int rc = scn_map_check(ctx, item, &ks);
    yaml_node_t *at;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "at", &at);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "at", &a->at_ns);
    }
    char t[32], u[32];
    if (rc == 0 && a->at_ns >= ctx->sc->duration_ns) {
        scn_format_ns(t, sizeof t, a->at_ns);
        scn_format_ns(u, sizeof u, ctx->sc->duration_ns);
        rc = scn_fail_key(ctx, item, "at", "%s is not before the end of the run (%s)", t, u);
    }
    if (rc == 0 && a->at_ns < prev_at_ns) {
        scn_format_ns(t, sizeof t, a->at_ns);
        scn_format_ns(u, sizeof u, prev_at_ns);
        rc = scn_fail_key(ctx, item, "at",
                          "%s is earlier than the action before it (%s): list actions in time "
                          "order",
                          t, u);
    }
    if (rc == 0) {
        rc = scn_flow_ref_key(ctx, item, &a->flow_index);
    }
    if (rc == 0) {
        rc = scn_action_kind(ctx, item, &a->kind);
    }
    return rc == 0 ? scn_action_body(ctx, item, a) : rc;
}

int scn_parse_actions(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_ACTIONS_MAX, &count);
    if (rc != 0) {
        return rc;
    }
    weir_scenario *sc = ctx->sc;
    if (count > 0 && sc->flow_count == 0) {
        return scn_fail(ctx, node, "actions change flows, and the file declares none");
    }
    sc->actions = scn_alloc(sc, (count > 0 ? count : 1) * sizeof *sc->actions);
    if (sc->actions == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        int64_t prev = i > 0 ? sc->actions[i - 1].at_ns : 0;
        rc = scn_parse_action(ctx, scn_seq_item(ctx, node, i), &sc->actions[i], prev);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
        sc->action_count++;
    }
    return 0;
}
