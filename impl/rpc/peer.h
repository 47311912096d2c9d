/* One outgoing Kafka-protocol connection to one address, for weir's own
 * nodes talking to each other (broker → controller, controller → broker,
 * follower → leader): requests go out with correlation ids, responses come
 * back in order and are handed to each request's callback with the body still
 * to decode (the caller knows which decoder). Connects lazily, reconnects on
 * the next send after a close, times requests out.
 */
#ifndef WEIR_RPC_PEER_H
#define WEIR_RPC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "proto/messages.h"

typedef struct weir_peer weir_peer;

/* err is 0 and rd is positioned at the response body (after the header), or
 * err is WEIR_E_CONNRESET / WEIR_E_CONNREFUSED / WEIR_E_TIMEOUT /
 * WEIR_E_CORRUPT and rd is NULL. The arena lives until the callback returns. */
typedef void (*weir_peer_cb)(void *arg, int err, weir_rd *rd, weir_arena *a);

weir_peer *weir_peer_new(weir_env *env, const char *addr, const char *client_id);

/* Points the peer at another address (the leader moved): the current
 * connection closes and its requests fail with WEIR_E_CONNRESET. */
void weir_peer_set_addr(weir_peer *p, const char *addr);
const char *weir_peer_addr(const weir_peer *p);

/* Sends r (its correlation id and client id are filled in). The callback runs
 * exactly once, always from an env event, never inside this call. */
WEIR_MUST_CHECK int weir_peer_send(weir_peer *p, weir_request *r, int32_t timeout_ms,
                                   weir_peer_cb cb, void *arg);

size_t weir_peer_in_flight(const weir_peer *p);

/* Closes the connection; pending callbacks are dropped without being called. */
void weir_peer_free(weir_peer *p);

/* Frees memory only, for an owner whose env is already gone (a crash). */
void weir_peer_abandon(weir_peer *p);

#endif
