/* The group coordinator (Kafka's classic consumer-group protocol): what the
 * broker's dispatcher and the transaction side call. The state lives per
 * __consumer_offsets partition this broker leads (group_internal.h). */
#ifndef WEIR_BROKER_GROUP_H
#define WEIR_BROKER_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker_internal.h"

/* Handlers, as in broker_internal.h: each writes its response body into b->out
 * and returns 0 (or a WEIR_E_* that closes the connection); those with
 * `parked` may instead park the request (*parked = true) and answer it later
 * through a bk_reply (JoinGroup until the rebalance completes, SyncGroup until
 * the leader's assignment is stored, OffsetCommit and TxnOffsetCommit until
 * the commit is replicated). */
int bk_handle_join_group(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_sync_group(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_heartbeat(bk_conn *c, const weir_request *r);
int bk_handle_leave_group(bk_conn *c, const weir_request *r);
int bk_handle_describe_groups(bk_conn *c, const weir_request *r);
int bk_handle_list_groups(bk_conn *c, const weir_request *r);
int bk_handle_offset_commit(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_offset_fetch(bk_conn *c, const weir_request *r);
int bk_handle_txn_offset_commit(bk_conn *c, const weir_request *r, bool *parked);

/* A transaction marker (control batch) for producer_id was appended to
 * partition `partition_index` of __consumer_offsets, which this broker leads:
 * commit makes that producer's pending transactional offsets (TxnOffsetCommit)
 * of every group in the partition visible (where newer than what is there),
 * abort drops them. Call it after the marker batch is appended to the
 * leader's log. A no-op when the partition is not loaded here (its state is
 * rebuilt from the log, markers included, when it loads). */
void bk_group_on_marker(weir_broker *b, int32_t partition_index, int64_t producer_id, bool commit);

/* bk_coord_type callbacks for __consumer_offsets (coord.c's table). */
int bk_group_load(weir_broker *b, int32_t index, struct weir_plog *log);
void bk_group_unload(weir_broker *b, int32_t index, bool env_alive);

#endif
