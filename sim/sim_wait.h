/* Deadline waits on a SimGrid receive that survive a timeout (sim_wait.cpp). */
#ifndef WEIR_SIM_WAIT_H
#define WEIR_SIM_WAIT_H

#include <stddef.h>

#include <simgrid/forward.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Waits up to timeout_s for comm. Returns 0 when it completed (the caller then
 * releases it with sg_comm_unref), 1 on timeout (comm stays pending and
 * usable), 2 when the transfer failed (release it and post a new receive).
 * A failure of the caller's own host unwinds the calling actor. */
int sim_wait_keep(sg_comm_t comm, double timeout_s);

/* Waits for the first of n receives: 0 and *which set when one completed, 1
 * on timeout (all stay posted), 2 and *which set when that one failed (its
 * sender went down), 3 on a failure not traced to one receive. */
int sim_wait_any_keep(sg_comm_t *comms, size_t n, double timeout_s, size_t *which);

#ifdef __cplusplus
}
#endif

#endif
