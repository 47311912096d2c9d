/* Internals of the scenario parser, shared by its files:
 * - scenario.c        arena, lookups, variants, names;
 * - yaml_doc.c        (shared with the flow reader) the parse context over a
 *                     libyaml document: errors with FILE:LINE:COLUMN: PATH, key
 *                     checks with hints, scalars (integers, booleans,
 *                     durations, sizes); the scn_* names below map onto it;
 * - scenario_yaml.c   key checks that also accept Kafka settings, names,
 *                     bandwidths and rates;
 * - scenario_settings.c  the table of Kafka settings a scenario may set;
 * - scenario_parse.c  the sections, top to bottom, with the reference checks;
 * - scenario_faults.c the fault schedule and the expectations;
 * - scenario_flow.c   flows and flow actions;
 * - scenario_flow_expect.c  the flow expectations.
 *
 * Errors stop the parse: every helper returns 0 or a negative WEIR_E_* after
 * writing the message into the context (only the first message is kept).
 */
#ifndef WEIR_SCENARIO_INTERNAL_H
#define WEIR_SCENARIO_INTERNAL_H

#include <stdarg.h>
#include <yaml.h>

#include "scenario/scenario.h"
#include "scenario/yaml_doc.h"

typedef struct scn_ctx {
    weir_ydoc y; /* the document, file, message and key path */
    weir_scenario *sc;
} scn_ctx;

/* ---- arena (scenario.c) ---- */

/* Zeroed memory owned by the scenario's arena; NULL when out of memory. */
void *scn_alloc(weir_scenario *sc, size_t size);
/* A copy of the first len bytes of s, NUL-terminated, in the arena. */
char *scn_strndup(weir_scenario *sc, const char *s, size_t len);

/* ---- the generic reader (yaml_doc.h), under the scenario's names ---- */

#define scn_fail(ctx, ...) weir_ydoc_fail(&(ctx)->y, __VA_ARGS__)
#define scn_fail_at(ctx, ...) weir_ydoc_fail_at(&(ctx)->y, __VA_ARGS__)
#define scn_fail_key(ctx, ...) weir_ydoc_fail_key(&(ctx)->y, __VA_ARGS__)
#define scn_nomem(ctx) weir_ydoc_nomem(&(ctx)->y)
#define scn_path_key(ctx, key) weir_ydoc_path_key(&(ctx)->y, (key))
#define scn_path_index(ctx, index) weir_ydoc_path_index(&(ctx)->y, (index))
#define scn_path_pop(ctx, len) weir_ydoc_path_pop(&(ctx)->y, (len))
#define scn_node(ctx, index) weir_ydoc_node(&(ctx)->y, (index))
#define scn_node_kind weir_ydoc_node_kind
#define scn_closest weir_ydoc_closest
#define scn_list weir_ydoc_list
#define scn_hint weir_ydoc_hint
#define scn_hint_as weir_ydoc_hint_as
#define scn_map_get(ctx, ...) weir_ydoc_map_get(&(ctx)->y, __VA_ARGS__)
#define scn_map_need(ctx, ...) weir_ydoc_map_need(&(ctx)->y, __VA_ARGS__)
#define scn_map_key_node(ctx, ...) weir_ydoc_map_key_node(&(ctx)->y, __VA_ARGS__)
#define scn_seq_check(ctx, ...) weir_ydoc_seq_check(&(ctx)->y, __VA_ARGS__)
#define scn_seq_item(ctx, ...) weir_ydoc_seq_item(&(ctx)->y, __VA_ARGS__)
#define scn_is_null weir_ydoc_is_null
#define scn_text weir_ydoc_text
#define scn_scalar(ctx, ...) weir_ydoc_scalar(&(ctx)->y, __VA_ARGS__)
#define scn_string(ctx, ...) weir_ydoc_string(&(ctx)->y, __VA_ARGS__)
#define scn_int(ctx, ...) weir_ydoc_int(&(ctx)->y, __VA_ARGS__)
#define scn_bool(ctx, ...) weir_ydoc_bool(&(ctx)->y, __VA_ARGS__)
#define scn_duration(ctx, ...) weir_ydoc_duration(&(ctx)->y, __VA_ARGS__)
#define scn_size(ctx, ...) weir_ydoc_size(&(ctx)->y, __VA_ARGS__)
#define scn_enum(ctx, ...) weir_ydoc_enum(&(ctx)->y, __VA_ARGS__)
#define scn_opt_int(ctx, ...) weir_ydoc_opt_int(&(ctx)->y, __VA_ARGS__)
#define scn_opt_bool(ctx, ...) weir_ydoc_opt_bool(&(ctx)->y, __VA_ARGS__)
#define scn_opt_duration(ctx, ...) weir_ydoc_opt_duration(&(ctx)->y, __VA_ARGS__)
#define scn_opt_size(ctx, ...) weir_ydoc_opt_size(&(ctx)->y, __VA_ARGS__)
#define scn_parse_size weir_ydoc_parse_size
#define scn_format_ns weir_ydoc_format_ns

weir_scn_mark scn_mark(const yaml_node_t *node);

/* ---- mappings ---- */

typedef struct scn_keyset {
    const char *const *keys; /* weir's own keys for this mapping */
    size_t count;
    unsigned kafka_scope; /* SCN_SCOPE_* bits of Kafka settings also allowed here, or 0 */
} scn_keyset;

/* A keyset from a static array of key names. */
#define KEYSET(arr, scope) {arr, sizeof arr / sizeof arr[0], scope}

/* Checks that node is a mapping whose keys are plain scalars, each once,
 * each in the keyset (or a Kafka setting of its scope). */
WEIR_MUST_CHECK int scn_map_check(scn_ctx *ctx, const yaml_node_t *node, const scn_keyset *ks);
/* A name (weir_ydoc_name), where a topic may also be one of Kafka's internal
 * topics (__consumer_offsets, __transaction_state). */
WEIR_MUST_CHECK int scn_name(scn_ctx *ctx, const yaml_node_t *node, size_t size_max,
                             const char *what, const char **out);
WEIR_MUST_CHECK int scn_bandwidth(scn_ctx *ctx, const yaml_node_t *node, double *bps_out);
WEIR_MUST_CHECK int scn_rate(scn_ctx *ctx, const yaml_node_t *node, double *per_s_out);
WEIR_MUST_CHECK int scn_opt_bandwidth(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                      double *bps_out);
/* "1Gbps", "125MBps", "unlimited" (0): bytes/s. */
int scn_parse_bandwidth(const char *text, double *bps_out);

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
/* scenario_flow.c: flows: and actions: (after the hosts and clients), the
 * flow keys of an expect mapping, and their checks against the file. */
WEIR_MUST_CHECK int scn_parse_flows(scn_ctx *ctx, const yaml_node_t *node);
WEIR_MUST_CHECK int scn_parse_actions(scn_ctx *ctx, const yaml_node_t *node);
WEIR_MUST_CHECK int scn_parse_flow_expect(scn_ctx *ctx, const yaml_node_t *node,
                                          weir_scn_expect *e);
WEIR_MUST_CHECK int scn_flow_expect_check(scn_ctx *ctx, const yaml_node_t *node,
                                          const weir_scn_expect *e);
/* Shared by the two: the flow named under map's "flow" key (its index);
 * a flow file's name under key (checked as a name only; mark may be NULL);
 * free text under key (empty_ok: "" allowed). */
WEIR_MUST_CHECK int scn_flow_ref_key(scn_ctx *ctx, const yaml_node_t *map, int *index);
WEIR_MUST_CHECK int scn_flow_name_key(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                      const char *what, const char **out, weir_scn_mark *mark);
WEIR_MUST_CHECK int scn_text_key(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                                 bool empty_ok, const char **out);
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
