/* The broker side of idempotence and transactions: what the dispatcher, the
 * coordinator plumbing (coord.c) and the acks=all waits call.
 *
 *   InitProducerId      any broker for an idempotent producer (a producer id
 *                       from pid.h); the transaction coordinator of the
 *                       transactional id otherwise (txn_coord.c)
 *   AddPartitionsToTxn, AddOffsetsToTxn, EndTxn   the transaction coordinator
 *   WriteTxnMarkers     partition leaders: coordinator -> leader (txn_markers.c)
 *
 * The coordinator's state lives per __transaction_state partition this broker
 * leads and loads through bk_txn_load / bk_txn_unload (coord.c's table).
 */
#ifndef WEIR_BROKER_TXN_H
#define WEIR_BROKER_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker_internal.h"

struct weir_plog;

/* Handlers, as in broker_internal.h: the response body goes to b->out and 0
 * is returned, or the request is parked (*parked = true) and answered later
 * through a bk_reply; a WEIR_E_* closes the connection. */
int bk_handle_init_producer_id(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_add_partitions_to_txn(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_add_offsets_to_txn(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_end_txn(bk_conn *c, const weir_request *r, bool *parked);
int bk_handle_write_txn_markers(bk_conn *c, const weir_request *r, bool *parked);

/* bk_coord_type callbacks for __transaction_state (coord.c's table). */
int bk_txn_load(weir_broker *b, int32_t index, struct weir_plog *log);
void bk_txn_unload(weir_broker *b, int32_t index, bool env_alive);

/* Clean stop or halt (after bk_coord_stop, env alive): cancels timers, closes
 * the marker connections, frees everything. Safe when nothing was set up. */
void bk_txn_stop(weir_broker *b);
/* After a crash (after bk_coord_abandon): frees memory only, no env calls. */
void bk_txn_abandon(weir_broker *b);

/* WriteTxnMarkers waiting for the HW: answers those that are settled (HW
 * passed, leadership lost). Called from produce_wait.c's deferred check, which
 * runs whenever a HW moves or leadership changes. */
void bk_txn_marker_waits_check(weir_broker *b);

#endif
