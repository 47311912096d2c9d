/* Prioritizers (prioritizer.h): sort keys taken from FlowFiles and the chain
 * comparison. The final (queue date, queue index) tie-break makes the order
 * total, so a queue's order never depends on how its heap was built. */
#include "flow/prioritizer.h"

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "flow/flowfile.h"

int weir_prioritizers_set(weir_prioritizers *out, const weir_flow_prioritizer *kinds, size_t count)
{
    WEIR_ASSERT(out != NULL);
    if (count > WEIR_FLOW_PRIORITIZERS_MAX || (count > 0 && kinds == NULL)) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < count; i++) {
        if ((int)kinds[i] < 0 || kinds[i] >= WEIR_FLOW_PRIORITIZERS_) {
            return WEIR_E_INVAL;
        }
    }
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < count; i++) {
        out->kinds[i] = kinds[i];
    }
    out->count = count;
    return 0;
}

weir_prio_class weir_prio_classify(const char *value, int64_t *number_out)
{
    if (value == NULL) {
        return WEIR_PRIO_MISSING;
    }
    const unsigned char *p = (const unsigned char *)value;
    const unsigned char *end = p + strlen(value);
    while (p < end && *p <= ' ') { /* Java String.trim */
        p++;
    }
    while (end > p && end[-1] <= ' ') {
        end--;
    }
    bool negative = false;
    if (p < end && *p == '-') {
        negative = true;
        p++;
    }
    if (p == end) {
        return WEIR_PRIO_STRING;
    }
    /* Accumulate as a negative number so INT64_MIN fits. */
    int64_t acc = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return WEIR_PRIO_STRING;
        }
        int digit = *p - '0';
        if (acc < (INT64_MIN + digit) / 10) {
            return WEIR_PRIO_STRING; /* Long.parseLong would throw */
        }
        acc = acc * 10 - digit;
    }
    if (!negative) {
        if (acc == INT64_MIN) {
            return WEIR_PRIO_STRING;
        }
        acc = -acc;
    }
    if (number_out != NULL) {
        *number_out = acc;
    }
    return WEIR_PRIO_NUMBER;
}

void weir_prio_key_make(const weir_flowfile *ff, weir_prio_key *key_out)
{
    WEIR_ASSERT(ff != NULL && key_out != NULL);
    key_out->queue_date = ff->queue_date_ns;
    key_out->queue_index = ff->queue_index;
    key_out->lineage_start_date = ff->lineage_start_ns;
    key_out->priority_string = weir_flowfile_attr_get(ff, WEIR_PRIO_ATTRIBUTE);
    key_out->priority_number = 0;
    key_out->priority_class =
        weir_prio_classify(key_out->priority_string, &key_out->priority_number);
}

static int prio_cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int prio_cmp_fifo(const weir_prio_key *a, const weir_prio_key *b)
{
    int c = prio_cmp_i64(a->queue_date, b->queue_date);
    if (c != 0) {
        return c;
    }
    return (a->queue_index > b->queue_index) - (a->queue_index < b->queue_index);
}

static int prio_cmp_attribute(const weir_prio_key *a, const weir_prio_key *b)
{
    if (a->priority_class != b->priority_class) {
        return (int)a->priority_class - (int)b->priority_class;
    }
    switch (a->priority_class) {
    case WEIR_PRIO_MISSING:
        return 0;
    case WEIR_PRIO_NUMBER: {
        int c = prio_cmp_i64(a->priority_number, b->priority_number);
        if (c != 0) {
            return c;
        }
        break; /* equal numbers ("7", " 7"): by text, as NiFi's thenComparing */
    }
    case WEIR_PRIO_STRING:
        break;
    }
    int c = strcmp(a->priority_string, b->priority_string);
    return (c > 0) - (c < 0);
}

int weir_prioritizers_compare(const weir_prioritizers *p, const weir_prio_key *a,
                              const weir_prio_key *b)
{
    for (size_t i = 0; i < p->count; i++) {
        int c = 0;
        switch (p->kinds[i]) {
        case WEIR_FLOW_PRIO_FIFO:
            return prio_cmp_fifo(a, b); /* total: nothing after it can matter */
        case WEIR_FLOW_PRIO_OLDEST_FIRST:
            c = prio_cmp_i64(a->lineage_start_date, b->lineage_start_date);
            break;
        case WEIR_FLOW_PRIO_NEWEST_FIRST:
            c = prio_cmp_i64(b->lineage_start_date, a->lineage_start_date);
            break;
        case WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE:
            c = prio_cmp_attribute(a, b);
            break;
        default:
            WEIR_ASSERT(!"prioritizer out of range");
        }
        if (c != 0) {
            return c;
        }
    }
    return prio_cmp_fifo(a, b);
}

size_t weir_prioritizers_format(const weir_prioritizers *p, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap > 0) {
        buf[0] = '\0';
    }
    if (p->count == 0) {
        int n = snprintf(buf, cap, "fifo");
        return n < 0 ? 0 : (size_t)n;
    }
    for (size_t i = 0; i < p->count; i++) {
        const char *name = weir_flow_prioritizer_name(p->kinds[i]);
        int n = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s",
                         i > 0 ? "," : "", name);
        if (n < 0) {
            return len;
        }
        len += (size_t)n;
    }
    return len;
}
