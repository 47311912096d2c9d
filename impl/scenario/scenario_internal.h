/* Internals of the scenario parser, shared by its files:
 * - scenario.c        arena, lookups, variants, names;
 * - scenario_yaml.c   the parse context over a libyaml document: errors with
 *                     FILE:LINE:COLUMN: PATH, key checks with hints, scalars
 *                     (integers, booleans, durations, sizes, bandwidths, rates);
 * - scenario_settings.c  the table of Kafka settings a scenario may set;
 * - scenario_parse.c  the sections, top to bottom, with the reference checks;
 * - scenario_faults.c the fault schedule and the expectations.
 *
 * Errors stop the parse: every helper returns 0 or a negative WEIR_E_* after
 * writing the message into the context (only the first message is kept).
 */
#ifndef WEIR_SCENARIO_INTERNAL_H
#define WEIR_SCENARIO_INTERNAL_H

#include <stdarg.h>
#include <yaml.h>

#include "scenario/scenario.h"

#define SCN_PATH_MAX 256
#define SCN_MAP_PAIRS_MAX 256 /* keys in one mapping */

typedef struct scn_ctx {
    yaml_document_t *doc;
    const char *file;
    weir_scenario *sc;
    char *why;
    size_t why_size;
    char path[SCN_PATH_MAX]; /* "topics[0].replication_factor" */
    size_t path_len;
} scn_ctx;

/* ---- arena (scenario.c) ---- */

/* Zeroed memory owned by the scenario's arena; NULL when out of memory. */
void *scn_alloc(weir_scenario *sc, size_t size);
/* A copy of the first len bytes of s, NUL-terminated, in the arena. */
char *scn_strndup(weir_scenario *sc, const char *s, size_t len);

/* ---- context and errors (scenario_yaml.c) ---- */

/* Formats "FILE:LINE:COLUMN: PATH: message" at node's start (or line 1 when
 * node is NULL) and returns WEIR_E_INVAL. */
int scn_fail(scn_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int scn_fail_at(scn_ctx *ctx, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int scn_nomem(scn_ctx *ctx);

/* The path stack: push returns the length to pop back to. */
size_t scn_path_key(scn_ctx *ctx, const char *key);
size_t scn_path_index(scn_ctx *ctx, size_t index);
void scn_path_pop(scn_ctx *ctx, size_t len);

weir_scn_mark scn_mark(const yaml_node_t *node);
yaml_node_t *scn_node(scn_ctx *ctx, int index);
const char *scn_node_kind(const yaml_node_t *node);

/* The closest of candidates to word (optimal string alignment distance at
 * most 2 and smaller than the word; else a candidate that is the word plus
 * a dotted suffix, as "x.ms" for "x"), or NULL. */
const char *scn_closest(const char *word, const char *const *candidates, size_t count);
/* "a, b or c". */
void scn_list(char *buf, size_t size, const char *const *names, size_t count);
/* Writes " (did you mean \"x\"?)", else " (expected a, b or c)" for short lists. */
void scn_hint(char *buf, size_t size, const char *word, const char *const *candidates,
              size_t count);
/* The same with another lead-in for the list: " (declared: a, b or c)". */
void scn_hint_as(char *buf, size_t size, const char *word, const char *const *candidates,
                 size_t count, const char *lead);

/* ---- mappings ---- */

typedef struct scn_keyset {
    const char *const *keys; /* weir's own keys for this mapping */
    size_t count;
    unsigned kafka_scope; /* SCN_SCOPE_* bits of Kafka settings also allowed here, or 0 */
} scn_keyset;

/* A keyset from a static array of key names. */
#define KEYSET(arr, scope) {arr, sizeof arr / sizeof arr[0], scope}

/* Checks that node is a mapping whose keys are plain scalars, each once,
 * each in the keyset. */
WEIR_MUST_CHECK int scn_map_check(scn_ctx *ctx, const yaml_node_t *node, const scn_keyset *ks);
/* The value under key, or NULL (node must have passed scn_map_check). */
yaml_node_t *scn_map_get(scn_ctx *ctx, const yaml_node_t *map, const char *key);
/* Like scn_map_get, but an error "missing key" when absent. */
WEIR_MUST_CHECK int scn_map_need(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                 yaml_node_t **out);
/* The key node of a pair whose value is node (for marks); NULL if none. */
yaml_node_t *scn_map_key_node(scn_ctx *ctx, const yaml_node_t *map, const char *key);

/* Sequence helpers: the count, and the item i. */
WEIR_MUST_CHECK int scn_seq_check(scn_ctx *ctx, const yaml_node_t *node, size_t max, size_t *count);
yaml_node_t *scn_seq_item(scn_ctx *ctx, const yaml_node_t *node, size_t i);

/* ---- scalars: each fails with the expected form and what was found ---- */

bool scn_is_null(const yaml_node_t *node);
const char *scn_text(const yaml_node_t *node); /* the scalar's text, or NULL */
WEIR_MUST_CHECK int scn_scalar(scn_ctx *ctx, const yaml_node_t *node, const char **text);
WEIR_MUST_CHECK int scn_string(scn_ctx *ctx, const yaml_node_t *node, size_t size_max,
                               const char **out);
WEIR_MUST_CHECK int scn_name(scn_ctx *ctx, const yaml_node_t *node, size_t size_max,
                             const char *what, const char **out);
WEIR_MUST_CHECK int scn_int(scn_ctx *ctx, const yaml_node_t *node, int64_t min, int64_t max,
                            int64_t *out);
WEIR_MUST_CHECK int scn_bool(scn_ctx *ctx, const yaml_node_t *node, bool *out);
WEIR_MUST_CHECK int scn_duration(scn_ctx *ctx, const yaml_node_t *node, int64_t *ns_out);
WEIR_MUST_CHECK int scn_size(scn_ctx *ctx, const yaml_node_t *node, bool unlimited_ok,
                             uint64_t *bytes_out);
WEIR_MUST_CHECK int scn_bandwidth(scn_ctx *ctx, const yaml_node_t *node, double *bps_out);
WEIR_MUST_CHECK int scn_rate(scn_ctx *ctx, const yaml_node_t *node, double *per_s_out);
WEIR_MUST_CHECK int scn_enum(scn_ctx *ctx, const yaml_node_t *node, const char *const *names,
                             size_t count, int *out);

/* The same, for an optional key of map (absent: 0, *out untouched), with
 * the key pushed on the path for messages. */
WEIR_MUST_CHECK int scn_opt_int(scn_ctx *ctx, const yaml_node_t *map, const char *key, int64_t min,
                                int64_t max, int64_t *out);
WEIR_MUST_CHECK int scn_opt_bool(scn_ctx *ctx, const yaml_node_t *map, const char *key, bool *out);
WEIR_MUST_CHECK int scn_opt_duration(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                     int64_t *ns_out);
WEIR_MUST_CHECK int scn_opt_size(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                 bool unlimited_ok, uint64_t min, uint64_t max,
                                 uint64_t *bytes_out);
WEIR_MUST_CHECK int scn_opt_bandwidth(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                      double *bps_out);
/* An error about map's value under key (at the value, or at map when the
 * key is absent), with the key on the path. */
int scn_fail_key(scn_ctx *ctx, const yaml_node_t *map, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Plain text forms, shared with the parse of targets and values. */
int scn_parse_size(const char *text, uint64_t *bytes_out);
int scn_parse_bandwidth(const char *text, double *bps_out);
/* "10s" -> "10s"; for messages: a duration in the most readable unit. */
void scn_format_ns(char *buf, size_t size, int64_t ns);

/* ---- transactions and groups (scenario_txn.c) ---- */

/* transactional_id: and transaction: of item into txn (defaults when absent). */
WEIR_MUST_CHECK int scn_parse_txn(scn_ctx *ctx, const yaml_node_t *item, weir_scn_txn *txn);
/* A consumer's isolation:, group:, commit_every:, session_timeout:,
 * heartbeat:, transactional_id: and transaction:. */
WEIR_MUST_CHECK int scn_parse_consumer_group(scn_ctx *ctx, const yaml_node_t *item,
                                             weir_scn_consumer *c);

/* ---- Kafka settings (scenario_settings.c) ---- */

enum {
    SCN_SCOPE_DEFAULTS = 1u << 0,   /* broker_defaults (and variants' broker_defaults) */
    SCN_SCOPE_BROKER = 1u << 1,     /* brokers[i] */
    SCN_SCOPE_TOPIC = 1u << 2,      /* topics[i] */
    SCN_SCOPE_CONTROLLER = 1u << 3, /* controller */
};

/* Whether key is a Kafka setting allowed in scope. */
bool scn_setting_known(const char *key, unsigned scope);
/* The names allowed in scope (for hints); returns the count. */
size_t scn_setting_names(unsigned scope, const char **names, size_t max);
/* Why key is not allowed in scope when it is a setting elsewhere ("not a
 * setting here: ... belongs in broker_defaults or a topic"), written to buf
 * and returned; NULL if key is no setting at all. */
const char *scn_setting_misplaced(const char *key, unsigned scope, char *buf, size_t size);

/* Parses the values of every Kafka key (dotted) in map into settings (the
 * arena), checking each value's type and range. `log`, when not NULL,
 * receives the log.* / segment.* settings through weir_log_config_set. */
WEIR_MUST_CHECK int scn_settings_parse(scn_ctx *ctx, const yaml_node_t *map, unsigned scope,
                                       weir_scn_settings *out, weir_log_config *log);
/* Merges over (later wins, key by key) into a new list in the arena. */
WEIR_MUST_CHECK int scn_settings_merge(scn_ctx *ctx, const weir_scn_settings *base,
                                       const weir_scn_settings *over, weir_scn_settings *out);
const weir_scn_setting *scn_settings_find(const weir_scn_settings *s, const char *key);

/* ---- sections ---- */

/* The index of the host called name (written at node); an error with a
 * hint when there is none. */
WEIR_MUST_CHECK int scn_host_ref(scn_ctx *ctx, const yaml_node_t *node, const char *name,
                                 int *index);
/* The index of the topic called name (written at node); an error with a
 * hint when there is none. */
WEIR_MUST_CHECK int scn_topic_ref(scn_ctx *ctx, const yaml_node_t *node, const char *name,
                                  int *index);

WEIR_MUST_CHECK int scn_parse_document(scn_ctx *ctx, const yaml_node_t *root);
WEIR_MUST_CHECK int scn_parse_faults(scn_ctx *ctx, const yaml_node_t *node);
/* Parses an expect mapping over *expect (keys present replace fields), then
 * checks it against the scenario and the given broker defaults. */
WEIR_MUST_CHECK int scn_parse_expect(scn_ctx *ctx, const yaml_node_t *node,
                                     const weir_scn_settings *broker_defaults,
                                     weir_scn_expect *expect);
/* Only the checks, for a variant that changes broker_defaults and keeps the
 * expectations: errors point at node's keys, or at node. */
WEIR_MUST_CHECK int scn_expect_check(scn_ctx *ctx, const yaml_node_t *node,
                                     const weir_scn_settings *defaults, const weir_scn_expect *e);
void scn_expect_default(weir_scn_expect *e);
/* Checks min.insync.replicas <= RF for every topic under these defaults. */
WEIR_MUST_CHECK int scn_check_topics_min_isr(scn_ctx *ctx, const weir_scn_settings *defaults,
                                             const yaml_node_t *defaults_node);

#endif
