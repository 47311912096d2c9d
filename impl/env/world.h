/* weir_world: a set of nodes run together, on either backend.
 *
 * A node is an event-driven state machine created by a weir_node_type's
 * start function against its own env. The world runs the nodes (real: one
 * libuv loop in this process; sim: one SimGrid actor per node), crashes and
 * restarts them, and stops when asked or when its duration is over. The same
 * node code and the same test cases run on both (tests/conformance).
 *
 * World calls may be made from the test driver before run, and from inside
 * node callbacks while running (to stop, crash or restart another node).
 */
#ifndef WEIR_ENV_WORLD_H
#define WEIR_ENV_WORLD_H

#include <stdint.h>

#include "env/env.h"

typedef struct weir_world weir_world;

typedef struct weir_node_type {
    const char *name;
    /* Creates the node's state and registers its listeners and timers.
     * Runs on every (re)start: a restarted node sees only its durable files. */
    void *(*start)(weir_env *env, void *arg);
    /* Frees the node's memory after a crash or at the end of the run. Runs
     * once the env is dead: its connections, listeners and timers are gone
     * already, and no callback reaches the node any more. It may close the
     * files it holds (the backend closes the ones it leaves open); it makes
     * no other env call. A write to a held file is refused (WEIR_E_IO), so
     * nothing it does reaches the disk a restarted node recovers from.
     * May be NULL. */
    void (*destroy)(void *state);
} weir_node_type;

typedef struct weir_world_ops {
    const char *backend; /* "real" or "sim" */
    /* Adds a node named `name` (also its host name) before run. */
    int (*node_add)(weir_world *w, const char *name, const weir_node_type *type, void *arg);
    /* Runs until weir_world_stop or until duration_ns of (wall or simulated)
     * time has passed. Returns 0, or a negative WEIR_E_* if the world broke. */
    int (*run)(weir_world *w, int64_t duration_ns);
    void (*stop)(weir_world *w);
    /* Crash: the node's memory is gone, its connections reset; in the sim
     * unsynced file data is lost. WEIR_E_INVAL if the node is down already or
     * is the caller; WEIR_E_NOENT for an unknown name. */
    int (*crash)(weir_world *w, const char *name);
    /* Restart: a fresh node object starts from the node's files. WEIR_E_INVAL
     * if the node is up (crash it first); WEIR_E_NOENT for an unknown name. */
    int (*restart)(weir_world *w, const char *name);
    /* The node's current state (from its start function), NULL if down. */
    void *(*node_state)(weir_world *w, const char *name);
    void (*destroy)(weir_world *w);
} weir_world_ops;

struct weir_world {
    const weir_world_ops *ops;
    void *impl;
};

static inline int weir_world_node_add(weir_world *w, const char *name,
                                      const weir_node_type *type, void *arg)
{
    return w->ops->node_add(w, name, type, arg);
}

static inline int weir_world_run(weir_world *w, int64_t duration_ns)
{
    return w->ops->run(w, duration_ns);
}

static inline void weir_world_stop(weir_world *w)
{
    w->ops->stop(w);
}

static inline int weir_world_crash(weir_world *w, const char *name)
{
    return w->ops->crash(w, name);
}

static inline int weir_world_restart(weir_world *w, const char *name)
{
    return w->ops->restart(w, name);
}

static inline void *weir_world_node_state(weir_world *w, const char *name)
{
    return w->ops->node_state(w, name);
}

static inline void weir_world_destroy(weir_world *w)
{
    w->ops->destroy(w);
}

#endif
