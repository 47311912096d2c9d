/* YAML documents read against a schema (yaml_doc.h): loading, messages
 * with the key path, key checks with hints, and scalar forms. Moved here
 * from the scenario reader so the flow reader shares it.
 */
#include "scenario/yaml_doc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"

/* ---- loading ---- */

/* libyaml's own complaint, with its position and context. */
static int ydoc_yaml_error(weir_ydoc *y, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        return weir_ydoc_nomem(y);
    }
    const char *problem = p->problem != NULL ? p->problem : "unreadable input";
    if (p->error == YAML_READER_ERROR) {
        /* The reader counts bytes, not lines: find the line and column. */
        yaml_mark_t at = {p->problem_offset, 0, 0};
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            at.line += text[i] == '\n';
            at.column = text[i] == '\n' ? 0 : at.column + 1;
        }
        return weir_ydoc_fail_at(y, &at, "malformed YAML: %s (byte 0x%02x)", problem,
                                 (unsigned)p->problem_value & 0xffu);
    }
    if (p->context != NULL) {
        return weir_ydoc_fail_at(y, &p->problem_mark, "malformed YAML: %s (%s at line %zu)",
                                 problem, p->context, p->context_mark.line + 1);
    }
    return weir_ydoc_fail_at(y, &p->problem_mark, "malformed YAML: %s", problem);
}

int weir_ydoc_load(weir_ydoc *y, const char *text, size_t len, yaml_document_t *doc, bool *loaded,
                   const char *empty_hint, const char *what)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        return weir_ydoc_nomem(y);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, doc)) {
        rc = ydoc_yaml_error(y, &parser, text, len);
        goto out_parser;
    }
    *loaded = true;
    if (yaml_document_get_root_node(doc) == NULL) {
        yaml_mark_t start = {0, 0, 0};
        rc = weir_ydoc_fail_at(y, &start, "empty file: %s", empty_hint);
        goto out_parser;
    }
    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
        rc = ydoc_yaml_error(y, &parser, text, len);
        goto out_parser;
    }
    if (yaml_document_get_root_node(&next) != NULL) {
        rc = weir_ydoc_fail_at(y, &next.start_mark,
                               "a second YAML document: %s holds one (remove the '---')", what);
    }
    yaml_document_delete(&next);
out_parser:
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- errors and the key path ---- */

int weir_ydoc_vfail(weir_ydoc *y, const yaml_mark_t *mark, const char *fmt, va_list ap)
{
    if (y->why[0] != '\0') {
        return WEIR_E_INVAL; /* keep the first message */
    }
    int n = snprintf(y->why, y->why_size, "%s:%zu:%zu: %s%s", y->file, mark->line + 1,
                     mark->column + 1, y->path, y->path_len > 0 ? ": " : "");
    if (n >= 0 && (size_t)n < y->why_size) {
        vsnprintf(y->why + n, y->why_size - (size_t)n, fmt, ap);
    }
    return WEIR_E_INVAL;
}

int weir_ydoc_fail(weir_ydoc *y, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yaml_mark_t start = {0, 0, 0};
    int rc = weir_ydoc_vfail(y, node != NULL ? &node->start_mark : &start, fmt, ap);
    va_end(ap);
    return rc;
}

int weir_ydoc_fail_at(weir_ydoc *y, const yaml_mark_t *mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = weir_ydoc_vfail(y, mark, fmt, ap);
    va_end(ap);
    return rc;
}

int weir_ydoc_nomem(weir_ydoc *y)
{
    snprintf(y->why, y->why_size, "%s: out of memory", y->file);
    return WEIR_E_NOMEM;
}

static size_t ydoc_path_append(weir_ydoc *y, const char *fmt, const char *s, size_t i)
{
    size_t old = y->path_len;
    char seg[WEIR_YDOC_PATH_MAX];
    if (s != NULL) {
        snprintf(seg, sizeof seg, fmt, s);
    } else {
        snprintf(seg, sizeof seg, fmt, i);
    }
    size_t n = strlen(seg);
    if (old + n < sizeof y->path) {
        memcpy(y->path + old, seg, n + 1);
        y->path_len = old + n;
    }
    return old;
}

size_t weir_ydoc_path_key(weir_ydoc *y, const char *key)
{
    return ydoc_path_append(y, y->path_len > 0 ? ".%s" : "%s", key, 0);
}

size_t weir_ydoc_path_index(weir_ydoc *y, size_t index)
{
    return ydoc_path_append(y, "[%zu]", NULL, index);
}

void weir_ydoc_path_pop(weir_ydoc *y, size_t len)
{
    if (len <= y->path_len) {
        y->path_len = len;
        y->path[len] = '\0';
    }
}

yaml_node_t *weir_ydoc_node(weir_ydoc *y, int index)
{
    return yaml_document_get_node(y->doc, index);
}

const char *weir_ydoc_node_kind(const yaml_node_t *node)
{
    if (node == NULL || weir_ydoc_is_null(node)) {
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

#define YDOC_WORD_MAX 64

/* Optimal string alignment distance (a swap of neighbours counts once). */
static size_t ydoc_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n >= YDOC_WORD_MAX || m >= YDOC_WORD_MAX) {
        return SIZE_MAX;
    }
    uint8_t d[YDOC_WORD_MAX + 1][YDOC_WORD_MAX + 1]; /* distances stay below YDOC_WORD_MAX */
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

const char *weir_ydoc_closest(const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t len = strlen(word);
    for (size_t i = 0; i < count; i++) {
        size_t d = ydoc_distance(word, candidates[i]);
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

void weir_ydoc_list(char *buf, size_t size, const char *const *names, size_t count)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && n < size; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, names[i]);
    }
}

void weir_ydoc_hint(char *buf, size_t size, const char *word, const char *const *candidates,
                    size_t count)
{
    weir_ydoc_hint_as(buf, size, word, candidates, count, "expected");
}

void weir_ydoc_hint_as(char *buf, size_t size, const char *word, const char *const *candidates,
                       size_t count, const char *lead)
{
    buf[0] = '\0';
    const char *close = weir_ydoc_closest(word, candidates, count);
    if (close != NULL) {
        snprintf(buf, size, " (did you mean \"%s\"?)", close);
        return;
    }
    if (count == 0 || count > 24) {
        return;
    }
    char list[768];
    weir_ydoc_list(list, sizeof list, candidates, count);
    snprintf(buf, size, " (%s %s)", lead, list);
}

/* ---- mappings and sequences ---- */

static const char *ydoc_key_text(weir_ydoc *y, const yaml_node_pair_t *pair)
{
    return weir_ydoc_text(weir_ydoc_node(y, pair->key));
}

/* Whether key is one of keys; else the unknown-key error with a hint. */
static int ydoc_key_known(weir_ydoc *y, const yaml_node_t *key, const char *text,
                          const char *const *keys, size_t count, weir_ydoc_key_fn other, void *arg)
{
    for (size_t k = 0; k < count; k++) {
        if (strcmp(keys[k], text) == 0) {
            return 0;
        }
    }
    if (other != NULL) {
        return other(y, key, text, arg);
    }
    char hint[512];
    weir_ydoc_hint(hint, sizeof hint, text, keys, count);
    return weir_ydoc_fail(y, key, "unknown key%s", hint);
}

int weir_ydoc_map_check(weir_ydoc *y, const yaml_node_t *node, const char *const *keys,
                        size_t count, weir_ydoc_key_fn other, void *arg)
{
    if (node->type != YAML_MAPPING_NODE) {
        return weir_ydoc_fail(y, node, "expected a mapping (key: value lines or { ... }), got %s",
                              weir_ydoc_node_kind(node));
    }
    const yaml_node_pair_t *start = node->data.mapping.pairs.start;
    size_t pairs = (size_t)(node->data.mapping.pairs.top - start);
    if (pairs > WEIR_YDOC_PAIRS_MAX) {
        return weir_ydoc_fail(y, node, "more than %d keys", WEIR_YDOC_PAIRS_MAX);
    }
    for (size_t i = 0; i < pairs; i++) {
        yaml_node_t *key = weir_ydoc_node(y, start[i].key);
        const char *text = weir_ydoc_text(key);
        if (text == NULL || text[0] == '\0') {
            return weir_ydoc_fail(y, key, "expected a key (a word before ':'), got %s",
                                  weir_ydoc_node_kind(key));
        }
        size_t back = weir_ydoc_path_key(y, text);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ydoc_key_text(y, &start[j]), text) == 0) {
                yaml_node_t *first = weir_ydoc_node(y, start[j].key);
                return weir_ydoc_fail(y, key, "written twice (first at line %zu)",
                                      first->start_mark.line + 1);
            }
        }
        int rc = ydoc_key_known(y, key, text, keys, count, other, arg);
        if (rc != 0) {
            return rc;
        }
        weir_ydoc_path_pop(y, back);
    }
    return 0;
}

int weir_ydoc_key_any(weir_ydoc *y, const yaml_node_t *key, const char *text, void *arg)
{
    (void)y, (void)key, (void)text, (void)arg;
    return 0;
}

size_t weir_ydoc_map_count(const yaml_node_t *map)
{
    return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

yaml_node_t *weir_ydoc_map_key(weir_ydoc *y, const yaml_node_t *map, size_t i)
{
    return weir_ydoc_node(y, map->data.mapping.pairs.start[i].key);
}

yaml_node_t *weir_ydoc_map_value(weir_ydoc *y, const yaml_node_t *map, size_t i)
{
    return weir_ydoc_node(y, map->data.mapping.pairs.start[i].value);
}

yaml_node_t *weir_ydoc_map_get(weir_ydoc *y, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *text = ydoc_key_text(y, p);
        if (text != NULL && strcmp(text, key) == 0) {
            return weir_ydoc_node(y, p->value);
        }
    }
    return NULL;
}

yaml_node_t *weir_ydoc_map_key_node(weir_ydoc *y, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *text = ydoc_key_text(y, p);
        if (text != NULL && strcmp(text, key) == 0) {
            return weir_ydoc_node(y, p->key);
        }
    }
    return NULL;
}

int weir_ydoc_map_need(weir_ydoc *y, const yaml_node_t *map, const char *key, yaml_node_t **out)
{
    *out = weir_ydoc_map_get(y, map, key);
    if (*out == NULL) {
        return weir_ydoc_fail(y, map, "missing key \"%s\"", key);
    }
    return 0;
}

int weir_ydoc_seq_check(weir_ydoc *y, const yaml_node_t *node, size_t max, size_t *count)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        return weir_ydoc_fail(y, node, "expected a list (- item lines or [ ... ]), got %s",
                              weir_ydoc_node_kind(node));
    }
    *count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (*count > max) {
        return weir_ydoc_fail(y, node, "%zu items: at most %zu", *count, max);
    }
    return 0;
}

yaml_node_t *weir_ydoc_seq_item(weir_ydoc *y, const yaml_node_t *node, size_t i)
{
    return weir_ydoc_node(y, node->data.sequence.items.start[i]);
}

/* ---- scalars ---- */

const char *weir_ydoc_text(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)node->data.scalar.value;
}

bool weir_ydoc_is_null(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE ||
        node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    const char *t = (const char *)node->data.scalar.value;
    return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 ||
           strcmp(t, "Null") == 0 || strcmp(t, "NULL") == 0;
}

int weir_ydoc_scalar(weir_ydoc *y, const yaml_node_t *node, const char **text)
{
    if (node->type != YAML_SCALAR_NODE || weir_ydoc_is_null(node)) {
        return weir_ydoc_fail(y, node, "expected a value, got %s", weir_ydoc_node_kind(node));
    }
    *text = (const char *)node->data.scalar.value;
    if (strlen(*text) != node->data.scalar.length) {
        return weir_ydoc_fail(y, node, "a NUL character inside the value");
    }
    return 0;
}

int weir_ydoc_string(weir_ydoc *y, const yaml_node_t *node, size_t size_max, const char **out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
    if (rc != 0) {
        return rc;
    }
    size_t len = strlen(text);
    if (len >= size_max) {
        return weir_ydoc_fail(y, node, "%zu characters: at most %zu", len, size_max - 1);
    }
    char *copy = y->alloc(y->owner, len + 1);
    if (copy == NULL) {
        return weir_ydoc_nomem(y);
    }
    memcpy(copy, text, len + 1);
    *out = copy;
    return 0;
}

int weir_ydoc_text_or_empty(weir_ydoc *y, const yaml_node_t *node, size_t size_max,
                            const char **out)
{
    if (weir_ydoc_is_null(node)) {
        *out = "";
        return 0;
    }
    return weir_ydoc_string(y, node, size_max, out);
}

int weir_ydoc_name(weir_ydoc *y, const yaml_node_t *node, size_t size_max, const char *what,
                   const char **out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
    if (rc != 0) {
        return rc;
    }
    bool ok = isalnum((unsigned char)text[0]);
    for (const char *p = text; *p != '\0' && ok; p++) {
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
    }
    if (!ok) {
        return weir_ydoc_fail(y, node,
                              "\"%s\" is not a valid %s name: use letters, digits, '.', '_' and "
                              "'-', starting with a letter or digit",
                              text, what);
    }
    return weir_ydoc_string(y, node, size_max, out);
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

int weir_ydoc_int(weir_ydoc *y, const yaml_node_t *node, int64_t min, int64_t max, int64_t *out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
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
        return weir_ydoc_fail(y, node, "expected an integer of at least %lld, got \"%s\"",
                              (long long)min, text);
    }
    return weir_ydoc_fail(y, node, "expected an integer from %lld to %lld, got \"%s\"",
                          (long long)min, (long long)max, text);
}

int weir_ydoc_bool(weir_ydoc *y, const yaml_node_t *node, bool *out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *out = text[0] == 't';
        return 0;
    }
    return weir_ydoc_fail(y, node, "expected true or false, got \"%s\"", text);
}

int weir_ydoc_duration(weir_ydoc *y, const yaml_node_t *node, int64_t *ns_out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (weir_parse_duration_ns(text, ns_out) != 0 || text[0] == '-' || text[0] == '+' ||
        isspace((unsigned char)text[0])) {
        return weir_ydoc_fail(y, node, "expected a duration such as 250ms, 1.5s or 2m, got \"%s\"",
                              text);
    }
    return 0;
}

/* A plain non-negative decimal number at the start of text: digits with an
 * optional fraction (no sign, exponent, hex, inf or nan). */
bool weir_ydoc_parse_number(const char *text, double *v, const char **end)
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

int weir_ydoc_parse_size(const char *text, uint64_t *bytes_out)
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
    if (!weir_ydoc_parse_number(text, &v, &end)) {
        return WEIR_E_INVAL;
    }
    if (end[0] == ' ' && end[1] != '\0') {
        end++; /* "1 GiB", as NiFi writes sizes */
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

int weir_ydoc_size(weir_ydoc *y, const yaml_node_t *node, bool unlimited_ok, uint64_t *bytes_out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
    if (rc != 0) {
        return rc;
    }
    if (unlimited_ok && strcmp(text, "unlimited") == 0) {
        *bytes_out = 0;
        return 0;
    }
    if (weir_ydoc_parse_size(text, bytes_out) != 0) {
        return weir_ydoc_fail(y, node,
                              "expected a size such as 100B, 16KiB, 1MiB or 2GB%s, got \"%s\"",
                              unlimited_ok ? ", or unlimited" : "", text);
    }
    return 0;
}

int weir_ydoc_enum(weir_ydoc *y, const yaml_node_t *node, const char *const *names, size_t count,
                   int *out)
{
    const char *text;
    int rc = weir_ydoc_scalar(y, node, &text);
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
    weir_ydoc_list(list, sizeof list, names, count);
    const char *close = weir_ydoc_closest(text, names, count);
    if (close != NULL) {
        return weir_ydoc_fail(y, node, "expected %s, got \"%s\" (did you mean \"%s\"?)", list, text,
                              close);
    }
    return weir_ydoc_fail(y, node, "expected %s, got \"%s\"", list, text);
}

void weir_ydoc_format_ns(char *buf, size_t size, int64_t ns)
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

int weir_ydoc_fail_key(weir_ydoc *y, const yaml_node_t *map, const char *key, const char *fmt, ...)
{
    yaml_node_t *value = weir_ydoc_map_get(y, map, key);
    size_t back = weir_ydoc_path_key(y, key);
    va_list ap;
    va_start(ap, fmt);
    const yaml_node_t *at = value != NULL ? value : map;
    int rc = weir_ydoc_vfail(y, &at->start_mark, fmt, ap);
    va_end(ap);
    weir_ydoc_path_pop(y, back);
    return rc;
}

int weir_ydoc_opt_int(weir_ydoc *y, const yaml_node_t *map, const char *key, int64_t min,
                      int64_t max, int64_t *out)
{
    yaml_node_t *v = weir_ydoc_map_get(y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, key);
    int rc = weir_ydoc_int(y, v, min, max, out);
    weir_ydoc_path_pop(y, back);
    return rc;
}

int weir_ydoc_opt_bool(weir_ydoc *y, const yaml_node_t *map, const char *key, bool *out)
{
    yaml_node_t *v = weir_ydoc_map_get(y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, key);
    int rc = weir_ydoc_bool(y, v, out);
    weir_ydoc_path_pop(y, back);
    return rc;
}

int weir_ydoc_opt_duration(weir_ydoc *y, const yaml_node_t *map, const char *key, int64_t *ns_out)
{
    yaml_node_t *v = weir_ydoc_map_get(y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, key);
    int rc = weir_ydoc_duration(y, v, ns_out);
    weir_ydoc_path_pop(y, back);
    return rc;
}

int weir_ydoc_opt_size(weir_ydoc *y, const yaml_node_t *map, const char *key, bool unlimited_ok,
                       uint64_t min, uint64_t max, uint64_t *bytes_out)
{
    yaml_node_t *v = weir_ydoc_map_get(y, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = weir_ydoc_path_key(y, key);
    uint64_t bytes;
    int rc = weir_ydoc_size(y, v, unlimited_ok, &bytes);
    if (rc == 0 && !(unlimited_ok && bytes == 0) && (bytes < min || bytes > max)) {
        rc = weir_ydoc_fail(y, v, "%llu bytes is out of range: %llu to %llu",
                            (unsigned long long)bytes, (unsigned long long)min,
                            (unsigned long long)max);
    }
    if (rc == 0) {
        *bytes_out = bytes;
    }
    weir_ydoc_path_pop(y, back);
    return rc;
}
