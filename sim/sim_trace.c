/* The trace: every event the sim delivers to a node, folded into one hash.
 *
 * A record is (time ns, node index, incarnation, kind, size, connection id),
 * hashed with FNV-1a as four explicit little-endian 64-bit words (node index
 * and incarnation share one, as do kind and size: kind in the top byte), so
 * the hash depends only on what happened and when: never on pointers,
 * allocation order or the machine.
 */
#include "core/hash.h"
#include "sim_internal.h"

static const char *st_kind_name(sim_event_kind kind)
{
    switch (kind) {
    case SIM_EV_START: return "start";
    case SIM_EV_CRASH: return "crash";
    case SIM_EV_RESTART: return "restart";
    case SIM_EV_TIMER: return "timer";
    case SIM_EV_OPEN: return "open";
    case SIM_EV_FRAME: return "frame";
    case SIM_EV_CLOSE: return "close";
    }
    return "?";
}

void sim_trace_event(sim_world *w, const sim_node *node, sim_event_kind kind, uint64_t size,
                     uint64_t conn_id)
{
    int64_t now = sim_now_ns();
    uint32_t inc = node->inc != NULL ? node->inc->number : node->inc_count;
    uint64_t h = w->trace_hash;
    h = weir_fnv1a_u64(h, (uint64_t)now);
    h = weir_fnv1a_u64(h, (uint64_t)node->index << 32 | inc);
    h = weir_fnv1a_u64(h, (uint64_t)kind << 56 ^ size);
    h = weir_fnv1a_u64(h, conn_id);
    w->trace_hash = h;
    w->event_count++;
    if (w->cfg.trace_out != NULL) {
        fprintf(w->cfg.trace_out, "%lld %s#%u %s size=%llu conn=%llu\n", (long long)now,
                node->name, inc, st_kind_name(kind), (unsigned long long)size,
                (unsigned long long)conn_id);
    }
}
