/* Shared by txn_coord.c (the transaction coordinator's state machine) and
 * txn_markers.c (markers out to partition leaders, and the leader side of
 * WriteTxnMarkers).
 *
 * State: one bk_txn per transactional id, held by the bk_txn_part of its
 * __transaction_state partition, sorted by id. A transaction changes state
 * only once the record describing the new state is replicated (the HW passed
 * it): until then `write` holds the target and every other request for the
 * id gets CONCURRENT_TRANSACTIONS. Invariants:
 *   - write != NULL exactly while a state record of the id is in flight;
 *   - in PrepareCommit/PrepareAbort with no write, every partition is either
 *     done (its leader acknowledged the marker) or has a marker pending or in
 *     flight; when all are done the Complete record is written;
 *   - parts are sorted by (topic, partition) and unique.
 */
#ifndef WEIR_BROKER_TXN_INTERNAL_H
#define WEIR_BROKER_TXN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/coord.h"
#include "broker/pid.h"
#include "broker/txn.h"
#include "broker/txn_log.h"

#define TXN_MS 1000000LL
#define TXN_EPOCH_MAX 32767         /* Short.MaxValue */
#define TXN_EPOCH_EXHAUSTED 32766   /* Kafka: isEpochExhausted = epoch >= Short.MaxValue - 1 */
#define TXN_APPEND_TIMEOUT_MS 30000 /* request.timeout.ms, as Kafka's txn log appends */
#define TXN_MARKER_RETRY_MS 100
#define TXN_MARKER_TIMEOUT_MS 30000
#define TXN_ABORT_SCAN_MS 1000 /* transaction.abort.timed.out.transaction.cleanup.interval.ms */

/* Kafka codes not in weir_kerr. */
enum {
    TXN_KERR_OPERATION_NOT_ATTEMPTED = 55,
    TXN_KERR_INVALID_RECORD = 87,
};

/* Marker progress of one partition of a transaction being completed. */
enum { TXN_MARKER_PENDING = 0, TXN_MARKER_IN_FLIGHT = 1, TXN_MARKER_DONE = 2 };

typedef struct bk_txn_tp {
    char topic[WEIR_TOPIC_NAME_MAX + 1];
    int32_t partition;
    uint8_t marker; /* TXN_MARKER_* while in PrepareX; in an AddPartitionsToTxn request's
                       list: 1 unknown partition, 2 not attempted (another is unknown) */
} bk_txn_tp;

/* The persistent part of a transaction: what a record carries (plus the
 * in-memory companions of the ids). */
typedef struct bk_txn_meta {
    int64_t producer_id;
    int64_t last_producer_id; /* the id before an epoch-overflow rotation, else -1 */
    int64_t next_producer_id; /* TV2: the id the Complete record moves to, else -1 */
    int16_t producer_epoch;
    int32_t timeout_ms;
    int8_t state; /* weir_txn_status */
    bk_txn_tp *tps;
    int n_tps;
    int64_t start_ms;
    int64_t update_ms;
} bk_txn_meta;

typedef struct bk_txn_write bk_txn_write;

typedef struct bk_txn {
    char *tid; /* NUL-terminated copy */
    int32_t tid_len;
    int32_t index; /* its __transaction_state partition */
    bk_txn_meta m;
    bk_txn_write *write;     /* the state record in flight, if any */
    bool failed_epoch_fence; /* a fence bump was not written: do not bump again */
    int markers_in_flight;   /* WriteTxnMarkers requests out for it */
} bk_txn;

typedef struct bk_txn_part {
    bool loaded;
    int32_t coordinator_epoch; /* the partition's leader epoch at load */
    bk_txn **txns;             /* sorted by tid */
    int n;
    int cap;
} bk_txn_part;

/* What a state record in flight was written for: decides the reply. */
typedef enum txn_write_kind {
    TXN_WRITE_INIT,     /* InitProducerId: reply the id and epoch */
    TXN_WRITE_ADD,      /* AddPartitionsToTxn / AddOffsetsToTxn: reply NONE */
    TXN_WRITE_END,      /* EndTxn: reply NONE (v5: the new id/epoch), then markers */
    TXN_WRITE_FENCE,    /* InitProducerId found it Ongoing: abort, reply CONCURRENT_TRANSACTIONS */
    TXN_WRITE_TIMEOUT,  /* the timeout scan aborts it: no reply */
    TXN_WRITE_COMPLETE, /* markers done: CompleteCommit/CompleteAbort, no reply */
} txn_write_kind;

struct bk_txn_write {
    bk_txn_write *prev; /* in bk_txn_state.writes (for a crash, which runs no callbacks) */
    bk_txn_write *next;
    weir_broker *b;
    bk_txn *txn; /* NULL once its partition unloaded */
    int32_t index;
    txn_write_kind kind;
    bk_txn_meta target; /* owns target.tps */
    bk_reply *reply;    /* the request to answer, or NULL */
    int16_t api_key;
    /* AddPartitionsToTxn: the partitions the request named, for the reply */
    bk_txn_tp *asked;
    int n_asked;
};

typedef struct bk_txn_peer {
    int32_t broker_id;
    weir_peer *peer;
} bk_txn_peer;

typedef struct bk_marker_call bk_marker_call;
typedef struct bk_marker_wait bk_marker_wait;

typedef struct bk_txn_state {
    weir_broker *b;
    weir_pid_alloc pids;
    bk_txn_part *parts;
    int32_t n_parts;
    bk_txn_write writes;      /* list head */
    weir_timer *scan_timer;   /* transaction timeouts */
    weir_timer *marker_timer; /* pending markers (re)sent */
    bk_txn_peer *peers;
    int n_peers;
    bk_marker_call *calls;  /* WriteTxnMarkers out (coordinator side) */
    bk_marker_wait *mwaits; /* WriteTxnMarkers in, waiting for the HW (leader side) */
} bk_txn_state;

/* The state, created on first use (NULL only when out of memory). */
bk_txn_state *bk_txn_state_get(weir_broker *b);

/* ---- txn_coord.c, for txn_markers.c ---- */

/* Every marker of txn is done: writes its Complete record. */
void bk_txn_markers_done(bk_txn_state *s, bk_txn *txn);

/* ---- txn_markers.c, for txn_coord.c ---- */

/* Schedules a pass that sends the pending markers of every transaction in
 * PrepareCommit/PrepareAbort (after delay_ms). */
void bk_txn_markers_schedule(bk_txn_state *s, int64_t delay_ms);
/* Forgets the calls in flight for txn (it is going away: partition unload). */
void bk_txn_markers_forget(bk_txn_state *s, const bk_txn *txn);
/* Closes the peers, drops calls and marker waits. env_alive: cancel timers,
 * answer nothing (connections are gone). */
void bk_txn_markers_free(bk_txn_state *s, bool env_alive);

#endif
