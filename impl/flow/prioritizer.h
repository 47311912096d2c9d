/* Prioritizers: the order in which a connection hands out its FlowFiles
 * (notes/FLOW.md §1.4; NiFi's nifi-standard-prioritizers).
 *
 * A connection has a chain of up to WEIR_FLOW_PRIORITIZERS_MAX prioritizers
 * (the enum is flow_def.h's weir_flow_prioritizer): the first decides, each
 * later one breaks the ties of those before it, and whatever is still tied
 * goes by (queue date, queue index), so the order is total and the same on
 * every run. An empty chain is plain FIFO.
 *
 *   FIFO             earlier queue date first, then lower queue index
 *   OLDEST_FIRST     earlier lineage start date first (older in the flow)
 *   NEWEST_FIRST     later lineage start date first
 *   PRIORITY_ATTRIBUTE  the "priority" attribute (NiFi HEAD's
 *                    PriorityAttributePrioritizer): values that are integers
 *                    (see weir_prio_classify) come before all others and
 *                    compare numerically, lower first, equal numbers then by
 *                    their text; other values compare as byte strings (UTF-8
 *                    byte order = code point order, so "A-100" before
 *                    "A-99"; Java compares UTF-16 units, which differs only
 *                    above U+FFFF); a FlowFile without the attribute comes
 *                    after every FlowFile that has it.
 *
 * Comparing FlowFiles directly would parse the priority attribute on every
 * comparison, so the queue computes a weir_prio_key once per FlowFile when it
 * enters the active queue and sorts keys. A key borrows the attribute's
 * string from its FlowFile: it is valid while the FlowFile lives and its
 * attributes do not change (FlowFiles in a queue are immutable, as in NiFi).
 */
#ifndef WEIR_FLOW_PRIORITIZER_H
#define WEIR_FLOW_PRIORITIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/flow_def.h"

typedef struct weir_flowfile weir_flowfile;

/* The attribute PriorityAttributePrioritizer reads (NiFi CoreAttributes.PRIORITY). */
#define WEIR_PRIO_ATTRIBUTE "priority"

/* A chain of prioritizers, first decides. count 0 = FIFO. */
typedef struct weir_prioritizers {
    weir_flow_prioritizer kinds[WEIR_FLOW_PRIORITIZERS_MAX];
    size_t count;
} weir_prioritizers;

/* What the priority attribute holds. The order of the values is the order
 * of the classes: numbers, then strings, then missing. */
typedef enum weir_prio_class {
    WEIR_PRIO_NUMBER = 0,
    WEIR_PRIO_STRING = 1,
    WEIR_PRIO_MISSING = 2,
} weir_prio_class;

/* Everything the prioritizers compare, taken from one FlowFile. */
typedef struct weir_prio_key {
    int64_t queue_date;          /* when it entered the queue (FlowFile clock) */
    uint64_t queue_index;        /* tie-break among equal queue dates */
    int64_t lineage_start_date;  /* OLDEST_FIRST / NEWEST_FIRST */
    int64_t priority_number;     /* when priority_class is NUMBER */
    const char *priority_string; /* the value (NUMBER or STRING); borrowed */
    weir_prio_class priority_class;
} weir_prio_key;

/* Fills *out from kinds[0..count). WEIR_E_INVAL when count exceeds
 * WEIR_FLOW_PRIORITIZERS_MAX or a kind is out of range (*out unchanged).
 * A kind listed twice is allowed and has no further effect. */
WEIR_MUST_CHECK int weir_prioritizers_set(weir_prioritizers *out,
                                          const weir_flow_prioritizer *kinds, size_t count);

/* Fills *key_out from ff's queue date and index, lineage start date and
 * "priority" attribute. Borrows the attribute string (see above). */
void weir_prio_key_make(const weir_flowfile *ff, weir_prio_key *key_out);

/* Classifies a priority attribute value (NULL = missing). A number is,
 * after trimming bytes <= ' ' at both ends (Java's String.trim), an optional
 * '-' and one or more decimal digits whose value fits int64 (NiFi's
 * "-?\\d+" then Long.parseLong; an overflow makes it a string). */
weir_prio_class weir_prio_classify(const char *value, int64_t *number_out);

/* < 0 when a goes before b, > 0 when after, 0 only when both keys have the
 * same queue date and queue index (the same FlowFile). Pure; any thread. */
int weir_prioritizers_compare(const weir_prioritizers *p, const weir_prio_key *a,
                              const weir_prio_key *b);

/* Human-readable chain for logs and reports: "fifo", "priority_attribute,fifo";
 * writes at most cap bytes with the NUL; returns the length it wanted. */
size_t weir_prioritizers_format(const weir_prioritizers *p, char *buf, size_t cap);

#endif
