// Waiting on a receive with a deadline, without losing the message.
//
// SimGrid's C sg_comm_wait_for fails the communication itself on timeout: a
// frame already in transfer to us is then dropped. A wait_any with a timeout
// only stops waiting and leaves the communication intact, but the C wrapper
// releases the caller's reference on timeout. This one-function shim calls the
// C++ API directly so the caller keeps its receive across timeouts, and turns
// a transfer cut by the sender's crash into a return code instead of an
// exception through C frames.
#include <simgrid/Exception.hpp>
#include <simgrid/comm.h>
#include <simgrid/s4u/Comm.hpp>

#include <vector>

#include "sim_wait.h"

extern "C" int sim_wait_keep(sg_comm_t comm, double timeout_s)
{
    std::vector<simgrid::s4u::CommPtr> comms{simgrid::s4u::CommPtr(comm)};
    try {
        return simgrid::s4u::Comm::wait_any_for(comms, timeout_s) == 0 ? 0 : 1;
    } catch (const simgrid::NetworkFailureException &) {
        return 2; // the sender's host went down mid-transfer: the frame is lost
    } catch (const simgrid::CancelException &) {
        return 2;
    }
}

extern "C" int sim_wait_any_keep(sg_comm_t *comms, size_t n, double timeout_s, size_t *which)
{
    std::vector<simgrid::s4u::CommPtr> v;
    v.reserve(n);
    for (size_t i = 0; i < n; i++) {
        v.emplace_back(comms[i]);
    }
    try {
        ssize_t i = simgrid::s4u::Comm::wait_any_for(v, timeout_s);
        if (i < 0) {
            return 1;
        }
        *which = (size_t)i;
        return 0;
    } catch (const simgrid::Exception &) {
        // A sender's host went down mid-transfer: find the receive that failed.
        for (size_t i = 0; i < n; i++) {
            auto state = v[i]->get_state();
            if (state == simgrid::s4u::Activity::State::FAILED ||
                state == simgrid::s4u::Activity::State::CANCELED) {
                *which = i;
                return 2;
            }
        }
        return 3;
    }
}
