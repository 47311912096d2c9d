/* Deadline waits on a SimGrid receive that survive a timeout (sim_wait.cpp). */
#ifndef WEIR_SIM_WAIT_H
#define WEIR_SIM_WAIT_H

#include <simgrid/forward.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Waits up to timeout_s for comm. Returns 0 when it completed (the caller then
 * releases it with sg_comm_unref), 1 on timeout (comm stays pending and
 * usable), 2 when the transfer failed (release it and post a new receive).
 * A failure of the caller's own host unwinds the calling actor. */
int sim_wait_keep(sg_comm_t comm, double timeout_s);

#ifdef __cplusplus
}
#endif

#endif
