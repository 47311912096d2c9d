/* The scenario side of the YAML reader (the generic part is yaml_doc.c):
 * marks, key checks that also accept the Kafka settings of a scope, names
 * (Kafka's internal topics allowed), bandwidths and rates.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "scenario/scenario_internal.h"

weir_scn_mark scn_mark(const yaml_node_t *node)
{
    weir_scn_mark m = {(int)node->start_mark.line + 1, (int)node->start_mark.column + 1};
    return m;
}

/* Keys of a scenario mapping beyond its own: the Kafka settings of a scope. */
static int scn_key_setting(weir_ydoc *y, const yaml_node_t *key, const char *text, void *arg)
{
    const scn_keyset *ks = arg;
    if (ks->kafka_scope != 0 && scn_setting_known(text, ks->kafka_scope)) {
        return 0;
    }
    char why[256];
    const char *misplaced =
        ks->kafka_scope != 0 ? scn_setting_misplaced(text, ks->kafka_scope, why, sizeof why) : NULL;
    if (misplaced != NULL) {
        return weir_ydoc_fail(y, key, "%s", misplaced);
    }
    const char *names[WEIR_YDOC_PAIRS_MAX];
    size_t n = 0;
    for (size_t k = 0; k < ks->count; k++) {
        names[n++] = ks->keys[k];
    }
    if (ks->kafka_scope != 0) {
        n += scn_setting_names(ks->kafka_scope, names + n, WEIR_YDOC_PAIRS_MAX - n);
    }
    char hint[512];
    weir_ydoc_hint(hint, sizeof hint, text, names, n);
    return weir_ydoc_fail(y, key, "unknown key%s", hint);
}

int scn_map_check(scn_ctx *ctx, const yaml_node_t *node, const scn_keyset *ks)
{
    return weir_ydoc_map_check(&ctx->y, node, ks->keys, ks->count, scn_key_setting, (void *)ks);
}

int scn_name(scn_ctx *ctx, const yaml_node_t *node, size_t size_max, const char *what,
             const char **out)
{
    /* Kafka's internal topics, declared to fix their layout or to aim a fault
     * at their leaders (leader(__transaction_state/0)) */
    const char *text = scn_text(node);
    bool internal =
        text != NULL && strcmp(what, "topic") == 0 &&
        (strcmp(text, "__consumer_offsets") == 0 || strcmp(text, "__transaction_state") == 0);
    if (internal) {
        return scn_string(ctx, node, size_max, out);
    }
    return weir_ydoc_name(&ctx->y, node, size_max, what, out);
}

int scn_parse_bandwidth(const char *text, double *bps_out)
{
    static const struct {
        const char *suffix;
        double bytes_per_s;
    } units[] = {
        {"bps", 1.0 / 8},        {"Kbps", 1e3 / 8}, {"kbps", 1e3 / 8}, {"Mbps", 1e6 / 8},
        {"Gbps", 1e9 / 8},       {"Bps", 1},        {"KBps", 1e3},     {"kBps", 1e3},
        {"MBps", 1e6},           {"GBps", 1e9},     {"KiBps", 1024.0}, {"MiBps", 1048576.0},
        {"GiBps", 1073741824.0},
    };
    if (strcmp(text, "unlimited") == 0) {
        *bps_out = 0;
        return 0;
    }
    double v;
    const char *end;
    if (!weir_ydoc_parse_number(text, &v, &end) || v <= 0) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            *bps_out = v * units[i].bytes_per_s;
            return 0;
        }
    }
    return WEIR_E_INVAL;
}

int scn_bandwidth(scn_ctx *ctx, const yaml_node_t *node, double *bps_out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (scn_parse_bandwidth(text, bps_out) != 0) {
        return scn_fail(ctx, node,
                        "expected a bandwidth such as 1Gbps or 100Mbps (bits/s), 125MBps or "
                        "50MiBps (bytes/s), or unlimited, got \"%s\"",
                        text);
    }
    return 0;
}

int scn_rate(scn_ctx *ctx, const yaml_node_t *node, double *per_s_out)
{
    static const struct {
        const char *suffix;
        double per_s;
    } units[] = {{"", 1}, {"/s", 1}, {"/ms", 1000}, {"/m", 1.0 / 60}, {"/h", 1.0 / 3600}};
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    double v;
    const char *end;
    if (weir_ydoc_parse_number(text, &v, &end) && v > 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcmp(end, units[i].suffix) == 0 && v * units[i].per_s <= 1e8) {
                *per_s_out = v * units[i].per_s;
                return 0;
            }
        }
    }
    return scn_fail(ctx, node,
                    "expected a rate above 0 and at most 100000000/s such as 1000/s or 50/ms, "
                    "got \"%s\"",
                    text);
}

int scn_opt_bandwidth(scn_ctx *ctx, const yaml_node_t *map, const char *key, double *bps_out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = scn_bandwidth(ctx, v, bps_out);
    scn_path_pop(ctx, back);
    return rc;
}
