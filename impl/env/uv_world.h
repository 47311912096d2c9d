/* The real world: nodes on one libuv loop in this process, real TCP, real
 * files under <root_dir>/<node name>/, the OS clocks.
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

/* The TCP port a node's "<name>:<port>" listener is really bound to, or -1. */
int weir_uv_world_port_of(weir_world *w, const char *addr);

#endif
