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

// ---- C++ allocations: per-thread free lists ----
//
// SimGrid allocates and frees a dozen small C++ objects per message (comms,
// actions, simcall observers, vectors), about 20 per frame: malloc's own
// caches hold only a few blocks per size, so most of those frees go the slow
// way. Blocks of up to 512 bytes are kept on per-thread lists by size class
// (16-byte steps) and reused; a 16-byte header holds the class, so plain
// delete finds its list. Larger blocks go straight to malloc. Blocks kept on
// the lists stay with the process. Not built under the sanitizers, which
// need to see every allocation.
#if !defined(WEIR_SIM_THREAD_CONTEXTS) && !defined(__SANITIZE_ADDRESS__)
#include <cstdlib>
#include <new>

namespace {

constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kClassBytes = 16;
constexpr std::size_t kClasses = 32; // sizes up to 512 bytes
constexpr std::size_t kLarge = kClasses;

struct FreeBlock {
    FreeBlock *next;
};

thread_local FreeBlock *free_lists[kClasses];

inline void *block_new(std::size_t n) noexcept
{
    std::size_t cls = n == 0 ? 0 : (n - 1) / kClassBytes;
    if (cls < kClasses) {
        FreeBlock *b = free_lists[cls];
        if (b != nullptr) {
            free_lists[cls] = b->next;
            return b;
        }
        auto *raw = static_cast<unsigned char *>(std::malloc(kHeaderBytes + (cls + 1) * kClassBytes));
        if (raw == nullptr) {
            return nullptr;
        }
        *reinterpret_cast<std::size_t *>(raw) = cls;
        return raw + kHeaderBytes;
    }
    auto *raw = static_cast<unsigned char *>(std::malloc(kHeaderBytes + n));
    if (raw == nullptr) {
        return nullptr;
    }
    *reinterpret_cast<std::size_t *>(raw) = kLarge;
    return raw + kHeaderBytes;
}

inline void block_delete(void *p) noexcept
{
    if (p == nullptr) {
        return;
    }
    auto *raw = static_cast<unsigned char *>(p) - kHeaderBytes;
    std::size_t cls = *reinterpret_cast<std::size_t *>(raw);
    if (cls < kClasses) {
        auto *b = static_cast<FreeBlock *>(p);
        b->next = free_lists[cls];
        free_lists[cls] = b;
        return;
    }
    std::free(raw);
}

inline void *block_new_or_throw(std::size_t n)
{
    void *p = block_new(n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

} // namespace

void *operator new(std::size_t n) { return block_new_or_throw(n); }
void *operator new[](std::size_t n) { return block_new_or_throw(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return block_new(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return block_new(n); }
void operator delete(void *p) noexcept { block_delete(p); }
void operator delete[](void *p) noexcept { block_delete(p); }
void operator delete(void *p, std::size_t) noexcept { block_delete(p); }
void operator delete[](void *p, std::size_t) noexcept { block_delete(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { block_delete(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { block_delete(p); }
#endif
