/* The transaction and consumer-group keys of producers and consumers:
 *
 *   transactional_id: tx-1
 *   transaction: { messages: 100, abort_every: 5, timeout: 60s, epoch_bump: true }
 *
 * and, for a consumer, group:, isolation:, commit_every:, session_timeout:,
 * heartbeat: (the output: of a pipeline is read in scenario_parse.c, which
 * knows the topics).
 */
#include "scenario/scenario_internal.h"

#include <string.h>

int scn_parse_txn(scn_ctx *ctx, const yaml_node_t *item, weir_scn_txn *txn)
{
    static const char *const keys[] = {"messages", "abort_every", "timeout", "epoch_bump"};
    static const scn_keyset ks = KEYSET(keys, 0);
    *txn = (weir_scn_txn){.messages = 100, .timeout_ns = 60000000000LL, .epoch_bump = true};
    yaml_node_t *id = scn_map_get(ctx, item, "transactional_id");
    yaml_node_t *t = scn_map_get(ctx, item, "transaction");
    if (id == NULL) {
        return t == NULL ? 0
                         : scn_fail_key(ctx, item, "transaction",
                                        "needs transactional_id: (the producer's transactional.id)");
    }
    size_t back = scn_path_key(ctx, "transactional_id");
    int rc = scn_name(ctx, id, WEIR_SCN_NAME_MAX, "transactional id", &txn->id);
    scn_path_pop(ctx, back);
    if (rc != 0 || t == NULL) {
        return rc;
    }
    back = scn_path_key(ctx, "transaction");
    rc = scn_map_check(ctx, t, &ks);
    int64_t messages = txn->messages, abort_every = 0;
    if (rc == 0) {
        rc = scn_opt_int(ctx, t, "messages", 1, 1000000, &messages);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, t, "abort_every", 0, 1000000, &abort_every);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, t, "timeout", &txn->timeout_ns);
    }
    if (rc == 0 && (txn->timeout_ns < 1000000 || txn->timeout_ns > 900000000000LL)) {
        rc = scn_fail_key(ctx, t, "timeout",
                          "must be 1ms to 15min (transaction.max.timeout.ms is 900000)");
    }
    if (rc == 0) {
        rc = scn_opt_bool(ctx, t, "epoch_bump", &txn->epoch_bump);
    }
    txn->messages = (int32_t)messages;
    txn->abort_every = (int32_t)abort_every;
    scn_path_pop(ctx, back);
    return rc;
}

int scn_parse_consumer_group(scn_ctx *ctx, const yaml_node_t *item, weir_scn_consumer *c)
{
    static const char *const isolation[] = {"read_uncommitted", "read_committed"};
    c->session_timeout_ns = 10000000000LL;
    c->heartbeat_ns = 1000000000LL;
    int rc = 0;
    yaml_node_t *v = scn_map_get(ctx, item, "isolation");
    if (v != NULL) {
        size_t back = scn_path_key(ctx, "isolation");
        int i = 0;
        rc = scn_enum(ctx, v, isolation, 2, &i);
        c->read_committed = i == 1;
        scn_path_pop(ctx, back);
    }
    v = scn_map_get(ctx, item, "group");
    if (rc == 0 && v != NULL) {
        size_t back = scn_path_key(ctx, "group");
        rc = scn_name(ctx, v, WEIR_SCN_NAME_MAX, "group id", &c->group);
        scn_path_pop(ctx, back);
    }
    if (rc == 0 && c->group != NULL && scn_map_get(ctx, item, "partitions") != NULL) {
        rc = scn_fail_key(ctx, item, "partitions",
                          "a group member gets its partitions from the group: drop partitions: or group:");
    }
    static const char *const group_only[] = {"commit_every", "session_timeout", "heartbeat"};
    for (size_t i = 0; rc == 0 && c->group == NULL && i < 3; i++) {
        if (scn_map_get(ctx, item, group_only[i]) != NULL) {
            rc = scn_fail_key(ctx, item, group_only[i], "only for a group member (add group:)");
        }
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "commit_every", &c->commit_every_ns);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "session_timeout", &c->session_timeout_ns);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "heartbeat", &c->heartbeat_ns);
    }
    if (rc == 0 && c->group != NULL && c->heartbeat_ns >= c->session_timeout_ns) {
        rc = scn_fail_key(ctx, item, "heartbeat", "must be shorter than session_timeout");
    }
    if (rc == 0) {
        rc = scn_parse_txn(ctx, item, &c->txn);
    }
    return rc;
}
