/* The real world: nodes on one libuv loop in this process, real TCP, real
 * files under <root_dir>/<node name>/ (or a folder of the node's own, see
 * weir_uv_world_node_add_rooted), the OS clocks.
 *
 * Addresses: a node listening on "<node name>:<port>" is bound to 127.0.0.1
 * on a free port chosen by the OS, and other nodes of the same world that
 * connect to "<node name>:<port>" reach it (the name is resolved inside the
 * world). Any other "host:port" is a real address (IPv4 literal or
 * "localhost"), so `weir broker` listens on e.g. "0.0.0.0:9092".
 */
#ifndef WEIR_ENV_UV_WORLD_H
#define WEIR_ENV_UV_WORLD_H

#include <stdint.h>

#include "env/world.h"

/* Creates a world whose nodes keep their files under root_dir (created if
 * missing). seed 0 seeds node PRNGs from the OS; another value makes them
 * repeatable. Returns NULL on failure. */
weir_world *weir_uv_world_new(const char *root_dir, uint64_t seed);

/* Adds a node like weir_world_node_add, but whose file paths are relative to
 * root_dir itself (an existing folder, e.g. a Kafka log dir to inspect)
 * instead of "<world root>/<name>". root_dir is copied and never created:
 * WEIR_E_NOENT if it is missing, WEIR_E_NOTDIR if it is not a folder (both
 * checked here and again at each start). */
WEIR_MUST_CHECK int weir_uv_world_node_add_rooted(weir_world *w, const char *name,
                                                  const char *root_dir, const weir_node_type *type,
                                                  void *arg);

/* The TCP port a node's "<name>:<port>" listener is really bound to, or -1. */
int weir_uv_world_port_of(weir_world *w, const char *addr);

#endif
