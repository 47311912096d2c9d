/* The parse context over a libyaml document: error messages that name the
 * file, line, column and key path; key checks with "did you mean" hints;
 * and the scalar forms of scenario files (integers, booleans, durations,
 * sizes, bandwidths, rates, enums, names).
 *
 * libyaml gives every node as text (it resolves no types), so the schema
 * decides what a scalar means: a quoted "3" is read like a plain 3.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "scenario/scenario_internal.h"

static int scn_vfail(scn_ctx *ctx, size_t line, size_t column, const char *fmt, va_list ap)
{
    if (ctx->why[0] != '\0') {
        return WEIR_E_INVAL; /* keep the first message */
    }
    int n = snprintf(ctx->why, ctx->why_size, "%s:%zu:%zu: %s%s", ctx->file, line + 1, column + 1,
                     ctx->path, ctx->path_len > 0 ? ": " : "");
    if (n >= 0 && (size_t)n < ctx->why_size) {
        vsnprintf(ctx->why + n, ctx->why_size - (size_t)n, fmt, ap);
    }
    return WEIR_E_INVAL;
}

int scn_fail(scn_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t line = node != NULL ? node->start_mark.line : 0;
    size_t column = node != NULL ? node->start_mark.column : 0;
    int rc = scn_vfail(ctx, line, column, fmt, ap);
    va_end(ap);
    return rc;
}

int scn_fail_at(scn_ctx *ctx, const yaml_mark_t *mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = scn_vfail(ctx, mark->line, mark->column, fmt, ap);
    va_end(ap);
    return rc;
}

int scn_nomem(scn_ctx *ctx)
{
    snprintf(ctx->why, ctx->why_size, "%s: out of memory", ctx->file);
    return WEIR_E_NOMEM;
}

static size_t scn_path_append(scn_ctx *ctx, const char *fmt, const char *s, size_t i)
{
    size_t old = ctx->path_len;
    char seg[SCN_PATH_MAX];
    if (s != NULL) {
        snprintf(seg, sizeof seg, fmt, s);
    } else {
        snprintf(seg, sizeof seg, fmt, i);
    }
    size_t n = strlen(seg);
    if (old + n < sizeof ctx->path) {
        memcpy(ctx->path + old, seg, n + 1);
        ctx->path_len = old + n;
    }
    return old;
}

size_t scn_path_key(scn_ctx *ctx, const char *key)
{
    return scn_path_append(ctx, ctx->path_len > 0 ? ".%s" : "%s", key, 0);
}

size_t scn_path_index(scn_ctx *ctx, size_t index)
{
    return scn_path_append(ctx, "[%zu]", NULL, index);
}

void scn_path_pop(scn_ctx *ctx, size_t len)
{
    if (len <= ctx->path_len) {
        ctx->path_len = len;
        ctx->path[len] = '\0';
    }
}

weir_scn_mark scn_mark(const yaml_node_t *node)
{
    weir_scn_mark m = {(int)node->start_mark.line + 1, (int)node->start_mark.column + 1};
    return m;
}

yaml_node_t *scn_node(scn_ctx *ctx, int index)
{
    return yaml_document_get_node(ctx->doc, index);
}

const char *scn_node_kind(const yaml_node_t *node)
{
    if (node == NULL || scn_is_null(node)) {
        return "nothing";
    }
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a single value";
    }
}

/* ---- hints ---- */

#define SCN_WORD_MAX 64

/* Optimal string alignment distance (a swap of neighbours counts once). */
static size_t scn_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n >= SCN_WORD_MAX || m >= SCN_WORD_MAX) {
        return SIZE_MAX;
    }
    uint8_t d[SCN_WORD_MAX + 1][SCN_WORD_MAX + 1]; /* distances stay below SCN_WORD_MAX */
    for (size_t i = 0; i <= n; i++) {
        d[i][0] = (uint8_t)i;
    }
    for (size_t j = 0; j <= m; j++) {
        d[0][j] = (uint8_t)j;
    }
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t del = (size_t)d[i - 1][j] + 1, ins = (size_t)d[i][j - 1] + 1;
            size_t sub = (size_t)d[i - 1][j - 1] + cost;
            size_t best = del < ins ? del : ins;
            best = sub < best ? sub : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                (size_t)d[i - 2][j - 2] + 1 < best) {
                best = (size_t)d[i - 2][j - 2] + 1; /* two neighbours swapped */
            }
            d[i][j] = (uint8_t)best;
        }
    }
    return d[n][m];
}

const char *scn_closest(const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t len = strlen(word);
    for (size_t i = 0; i < count; i++) {
        size_t d = scn_distance(word, candidates[i]);
        if (d < best_d && d < len) {
            best = candidates[i];
            best_d = d;
        }
    }
    /* A key written without its unit: "replica.lag.time.max" for "...max.ms". */
    for (size_t i = 0; i < count && best == NULL && len >= 4; i++) {
        if (strncmp(candidates[i], word, len) == 0 && candidates[i][len] == '.') {
            best = candidates[i];
        }
    }
    return best;
}

void scn_list(char *buf, size_t size, const char *const *names, size_t count)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && n < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, names[i]);
    }
}

void scn_hint(char *buf, size_t size, const char *word, const char *const *candidates, size_t count)
{
    scn_hint_as(buf, size, word, candidates, count, "expected");
}

void scn_hint_as(char *buf, size_t size, const char *word, const char *const *candidates,
                 size_t count, const char *lead)
{
    buf[0] = '\0';
    const char *close = scn_closest(word, candidates, count);
    if (close != NULL) {
        snprintf(buf, size, " (did you mean \"%s\"?)", close);
        return;
    }
    if (count == 0 || count > 24) {
        return;
    }
    char list[768];
    scn_list(list, sizeof list, candidates, count);
    snprintf(buf, size, " (%s %s)", lead, list);
}

/* ---- mappings and sequences ---- */

static const char *scn_key_text(scn_ctx *ctx, const yaml_node_pair_t *pair)
{
    return scn_text(scn_node(ctx, pair->key));
}

int scn_map_check(scn_ctx *ctx, const yaml_node_t *node, const scn_keyset *ks)
{
    if (node->type != YAML_MAPPING_NODE) {
        return scn_fail(ctx, node, "expected a mapping (key: value lines or { ... }), got %s",
                        scn_node_kind(node));
    }
    const yaml_node_pair_t *start = node->data.mapping.pairs.start;
    size_t count = (size_t)(node->data.mapping.pairs.top - start);
    if (count > SCN_MAP_PAIRS_MAX) {
        return scn_fail(ctx, node, "more than %d keys", SCN_MAP_PAIRS_MAX);
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *key = scn_node(ctx, start[i].key);
        const char *text = scn_text(key);
        if (text == NULL || text[0] == '\0') {
            return scn_fail(ctx, key, "expected a key (a word before ':'), got %s",
                            scn_node_kind(key));
        }
        size_t back = scn_path_key(ctx, text);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(scn_key_text(ctx, &start[j]), text) == 0) {
                yaml_node_t *first = scn_node(ctx, start[j].key);
                return scn_fail(ctx, key, "written twice (first at line %zu)",
                                first->start_mark.line + 1);
            }
        }
        bool known = false;
        for (size_t k = 0; k < ks->count && !known; k++) {
            known = strcmp(ks->keys[k], text) == 0;
        }
        if (!known && ks->kafka_scope != 0 && scn_setting_known(text, ks->kafka_scope)) {
            known = true;
        }
        if (!known) {
            char why[256];
            const char *misplaced =
                ks->kafka_scope != 0 ? scn_setting_misplaced(text, ks->kafka_scope, why, sizeof why)
                                     : NULL;
            if (misplaced != NULL) {
                return scn_fail(ctx, key, "%s", misplaced);
            }
            const char *names[SCN_MAP_PAIRS_MAX];
            size_t n = 0;
            for (size_t k = 0; k < ks->count; k++) {
                names[n++] = ks->keys[k];
            }
            if (ks->kafka_scope != 0) {
                n += scn_setting_names(ks->kafka_scope, names + n, SCN_MAP_PAIRS_MAX - n);
            }
            char hint[512];
            scn_hint(hint, sizeof hint, text, names, n);
            return scn_fail(ctx, key, "unknown key%s", hint);
        }
        scn_path_pop(ctx, back);
    }
    return 0;
}

yaml_node_t *scn_map_get(scn_ctx *ctx, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *text = scn_key_text(ctx, p);
        if (text != NULL && strcmp(text, key) == 0) {
            return scn_node(ctx, p->value);
        }
    }
    return NULL;
}

yaml_node_t *scn_map_key_node(scn_ctx *ctx, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *text = scn_key_text(ctx, p);
        if (text != NULL && strcmp(text, key) == 0) {
            return scn_node(ctx, p->key);
        }
    }
    return NULL;
}

int scn_map_need(scn_ctx *ctx, const yaml_node_t *map, const char *key, yaml_node_t **out)
{
    *out = scn_map_get(ctx, map, key);
    if (*out == NULL) {
        return scn_fail(ctx, map, "missing key \"%s\"", key);
    }
    return 0;
}

int scn_seq_check(scn_ctx *ctx, const yaml_node_t *node, size_t max, size_t *count)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        return scn_fail(ctx, node, "expected a list (- item lines or [ ... ]), got %s",
                        scn_node_kind(node));
    }
    *count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (*count > max) {
        return scn_fail(ctx, node, "%zu items: at most %zu", *count, max);
    }
    return 0;
}

yaml_node_t *scn_seq_item(scn_ctx *ctx, const yaml_node_t *node, size_t i)
{
    return scn_node(ctx, node->data.sequence.items.start[i]);
}

/* ---- scalars ---- */

const char *scn_text(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)node->data.scalar.value;
}

bool scn_is_null(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE ||
        node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    const char *t = (const char *)node->data.scalar.value;
    return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
           strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

int scn_scalar(scn_ctx *ctx, const yaml_node_t *node, const char **text)
{
    if (node->type != YAML_SCALAR_NODE || scn_is_null(node)) {
        return scn_fail(ctx, node, "expected a value, got %s", scn_node_kind(node));
    }
    *text = (const char *)node->data.scalar.value;
    if (strlen(*text) != node->data.scalar.length) {
        return scn_fail(ctx, node, "a NUL character inside the value");
    }
    return 0;
}

int scn_string(scn_ctx *ctx, const yaml_node_t *node, size_t size_max, const char **out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    size_t len = strlen(text);
    if (len >= size_max) {
        return scn_fail(ctx, node, "%zu characters: at most %zu", len, size_max - 1);
    }
    *out = scn_strndup(ctx->sc, text, len);
    return *out != NULL ? 0 : scn_nomem(ctx);
}

int scn_name(scn_ctx *ctx, const yaml_node_t *node, size_t size_max, const char *what,
             const char **out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    /* Kafka's internal topics, declared to fix their layout or to aim a fault
     * at their leaders (leader(__transaction_state/0)) */
    bool internal = strcmp(what, "topic") == 0 &&
                    (strcmp(text, "__consumer_offsets") == 0 || strcmp(text, "__transaction_state") == 0);
    bool ok = isalnum((unsigned char)text[0]) || internal;
    for (const char *p = text; *p != '\0' && ok; p++) {
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
    }
    if (!ok) {
        return scn_fail(ctx, node,
                        "\"%s\" is not a valid %s name: use letters, digits, '.', '_' and '-', "
                        "starting with a letter or digit",
                        text, what);
    }
    return scn_string(ctx, node, size_max, out);
}

/* An optional '-' and decimal digits, nothing else. */
static bool scn_parse_i64(const char *text, int64_t *out)
{
    bool neg = text[0] == '-';
    uint64_t v;
    if (weir_parse_u64(text + (neg ? 1 : 0), &v) != 0 || v > (uint64_t)INT64_MAX) {
        return false;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

int scn_int(scn_ctx *ctx, const yaml_node_t *node, int64_t min, int64_t max, int64_t *out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    int64_t v;
    bool ok = scn_parse_i64(text, &v);
    if (ok && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    if (max == INT64_MAX || max == INT32_MAX) {
        return scn_fail(ctx, node, "expected an integer of at least %lld, got \"%s\"",
                        (long long)min, text);
    }
    return scn_fail(ctx, node, "expected an integer from %lld to %lld, got \"%s\"", (long long)min,
                    (long long)max, text);
}

int scn_bool(scn_ctx *ctx, const yaml_node_t *node, bool *out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *out = text[0] == 't';
        return 0;
    }
    return scn_fail(ctx, node, "expected true or false, got \"%s\"", text);
}

int scn_duration(scn_ctx *ctx, const yaml_node_t *node, int64_t *ns_out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (weir_parse_duration_ns(text, ns_out) != 0 || text[0] == '-' || text[0] == '+' ||
        isspace((unsigned char)text[0])) {
        return scn_fail(ctx, node, "expected a duration such as 250ms, 1.5s or 2m, got \"%s\"",
                        text);
    }
    return 0;
}

/* A plain non-negative decimal number at the start of text: digits with an
 * optional fraction (no sign, exponent, hex, inf or nan). */
static bool scn_parse_number(const char *text, double *v, const char **end)
{
    const char *p = text;
    bool digits = false;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits) {
        return false;
    }
    char buf[64];
    size_t n = (size_t)(p - text);
    if (n >= sizeof buf) {
        return false;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    *end = p;
    return isfinite(*v);
}

int scn_parse_size(const char *text, uint64_t *bytes_out)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1e3},
        {"kB", 1e3},
        {"MB", 1e6},
        {"GB", 1e9},
        {"TB", 1e12},
        {"KiB", 1024.0},
        {"MiB", 1048576.0},
        {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
    };
    double v;
    const char *end;
    if (!scn_parse_number(text, &v, &end)) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double bytes = v * units[i].mult;
            if (bytes > 9.0e18 || fabs(bytes - nearbyint(bytes)) > 1e-6) {
                return WEIR_E_INVAL;
            }
            *bytes_out = (uint64_t)nearbyint(bytes);
            return 0;
        }
    }
    return WEIR_E_INVAL;
}

int scn_size(scn_ctx *ctx, const yaml_node_t *node, bool unlimited_ok, uint64_t *bytes_out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (unlimited_ok && strcmp(text, "unlimited") == 0) {
        *bytes_out = 0;
        return 0;
    }
    if (scn_parse_size(text, bytes_out) != 0) {
        return scn_fail(ctx, node, "expected a size such as 100B, 16KiB, 1MiB or 2GB%s, got \"%s\"",
                        unlimited_ok ? ", or unlimited" : "", text);
    }
    return 0;
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
    if (!scn_parse_number(text, &v, &end) || v <= 0) {
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
    if (scn_parse_number(text, &v, &end) && v > 0) {
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

int scn_enum(scn_ctx *ctx, const yaml_node_t *node, const char *const *names, size_t count,
             int *out)
{
    const char *text;
    int rc = scn_scalar(ctx, node, &text);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    char list[512];
    scn_list(list, sizeof list, names, count);
    const char *close = scn_closest(text, names, count);
    if (close != NULL) {
        return scn_fail(ctx, node, "expected %s, got \"%s\" (did you mean \"%s\"?)", list, text,
                        close);
    }
    return scn_fail(ctx, node, "expected %s, got \"%s\"", list, text);
}

void scn_format_ns(char *buf, size_t size, int64_t ns)
{
    if (ns % 1000000000 == 0) {
        snprintf(buf, size, "%llds", (long long)(ns / 1000000000));
    } else if (ns % 1000000 == 0) {
        snprintf(buf, size, "%lldms", (long long)(ns / 1000000));
    } else if (ns % 1000 == 0) {
        snprintf(buf, size, "%lldus", (long long)(ns / 1000));
    } else {
        snprintf(buf, size, "%lldns", (long long)ns);
    }
}

/* ---- optional fields: absent leaves *out alone ---- */

int scn_fail_key(scn_ctx *ctx, const yaml_node_t *map, const char *key, const char *fmt, ...)
{
    yaml_node_t *value = scn_map_get(ctx, map, key);
    size_t back = scn_path_key(ctx, key);
    va_list ap;
    va_start(ap, fmt);
    const yaml_node_t *at = value != NULL ? value : map;
    int rc = scn_vfail(ctx, at->start_mark.line, at->start_mark.column, fmt, ap);
    va_end(ap);
    scn_path_pop(ctx, back);
    return rc;
}

int scn_opt_int(scn_ctx *ctx, const yaml_node_t *map, const char *key, int64_t min, int64_t max,
                int64_t *out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = scn_int(ctx, v, min, max, out);
    scn_path_pop(ctx, back);
    return rc;
}

int scn_opt_bool(scn_ctx *ctx, const yaml_node_t *map, const char *key, bool *out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = scn_bool(ctx, v, out);
    scn_path_pop(ctx, back);
    return rc;
}

int scn_opt_duration(scn_ctx *ctx, const yaml_node_t *map, const char *key, int64_t *ns_out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = scn_duration(ctx, v, ns_out);
    scn_path_pop(ctx, back);
    return rc;
}

int scn_opt_size(scn_ctx *ctx, const yaml_node_t *map, const char *key, bool unlimited_ok,
                 uint64_t min, uint64_t max, uint64_t *bytes_out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    uint64_t bytes;
    int rc = scn_size(ctx, v, unlimited_ok, &bytes);
    if (rc == 0 && !(unlimited_ok && bytes == 0) && (bytes < min || bytes > max)) {
        rc = scn_fail(ctx, v, "%llu bytes is out of range: %llu to %llu", (unsigned long long)bytes,
                      (unsigned long long)min, (unsigned long long)max);
    }
    if (rc == 0) {
        *bytes_out = bytes;
    }
    scn_path_pop(ctx, back);
    return rc;
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
