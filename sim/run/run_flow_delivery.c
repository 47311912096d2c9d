/* The delivery oracle of flows that carry a topic's records into another
 * (expect flow_delivers; kafka-to-merge): every record of the input topic
 * acknowledged to an acks=all producer must be, at the end, in the final
 * log of the output topic — inside a record that merged several, split
 * back at the demarcator. Copies beyond the first are counted (ConsumeKafka
 * commits its offsets after its session, PublishKafka retries: at least
 * once), pieces that are no input record too.
 *
 * The output topic's records never enter the run's history (they are not
 * any producer's own messages): the replica check hands them here as it
 * reads the final logs. Transactional output is read as written (aborted
 * transactions included).
 */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "history.h"
#include "run_flow.h"
#include "run_internal.h"

/* The ids found in one output topic's final log. */
typedef struct delivery_seen {
    int topic;
    weir_msg_id *ids;
    size_t count, cap;
    uint64_t unknown; /* pieces that are no producer's record */
} delivery_seen;

static struct {
    delivery_seen topics[WEIR_SCN_FLOW_CHECKS_MAX];
    int count;
} DS;

/* The demarcator every expectation on this output topic uses. */
static const char *output_demarcator(int topic)
{
    const weir_scn_expect *x = &RS->sc->expect;
    for (int i = 0; i < x->flow_delivers_count; i++) {
        if (x->flow_delivers[i].to_topic == topic) {
            return x->flow_delivers[i].demarcator;
        }
    }
    return NULL;
}

bool run_flows_output_topic(int topic)
{
    return RS != NULL && output_demarcator(topic) != NULL;
}

static delivery_seen *seen_of(int topic)
{
    for (int i = 0; i < DS.count; i++) {
        if (DS.topics[i].topic == topic) {
            return &DS.topics[i];
        }
    }
    WEIR_ASSERT(DS.count < WEIR_SCN_FLOW_CHECKS_MAX);
    delivery_seen *s = &DS.topics[DS.count++];
    memset(s, 0, sizeof *s);
    s->topic = topic;
    return s;
}

static void seen_add(delivery_seen *s, const uint8_t *piece, size_t len)
{
    weir_msg_id id;
    if (len == 0) {
        return;
    }
    if (!weir_msg_id_read(piece, len, &id)) {
        s->unknown++;
        return;
    }
    if (s->count == s->cap) {
        s->cap = s->cap == 0 ? 4096 : s->cap * 2;
        s->ids = realloc(s->ids, s->cap * sizeof *s->ids);
        WEIR_ASSERT(s->ids != NULL);
    }
    s->ids[s->count++] = id;
}

/* The first dem[0..dlen) in v[0..len), or NULL. */
static const uint8_t *find_bytes(const uint8_t *v, size_t len, const char *dem, size_t dlen)
{
    for (size_t i = 0; i + dlen <= len; i++) {
        if (v[i] == (uint8_t)dem[0] && memcmp(v + i, dem, dlen) == 0) {
            return v + i;
        }
    }
    return NULL;
}

void run_flows_output_record(int topic, const uint8_t *value, size_t len)
{
    const char *dem = output_demarcator(topic);
    delivery_seen *s = seen_of(topic);
    size_t dlen = dem != NULL ? strlen(dem) : 0;
    size_t at = 0;
    while (dlen > 0 && at + dlen <= len) {
        const uint8_t *hit = find_bytes(value + at, len - at, dem, dlen);
        if (hit == NULL) {
            break;
        }
        seen_add(s, value + at, (size_t)(hit - (value + at)));
        at = (size_t)(hit - value) + dlen;
    }
    seen_add(s, value + at, len - at);
}

static int id_order(const void *a, const void *b)
{
    const weir_msg_id *x = a, *y = b;
    if (x->producer != y->producer) {
        return x->producer < y->producer ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* How many times id is in the sorted ids. */
static size_t copies_of(const delivery_seen *s, const weir_msg_id *id)
{
    weir_msg_id *at = bsearch(id, s->ids, s->count, sizeof *s->ids, id_order);
    if (at == NULL) {
        return 0;
    }
    while (at > s->ids && id_order(at - 1, id) == 0) {
        at--;
    }
    size_t n = 0;
    while (at + n < s->ids + s->count && id_order(at + n, id) == 0) {
        n++;
    }
    return n;
}

static void judge_one(const weir_scn_flow_delivers *d, weir_scn_flow_outcome *o)
{
    delivery_seen *s = seen_of(d->to_topic);
    qsort(s->ids, s->count, sizeof *s->ids, id_order);
    const weir_history *h = &RS->hist;
    uint64_t inputs = 0, missing = 0, extra = 0;
    for (size_t i = 0; i < h->n_acks; i++) {
        if (!h->acks[i].must_survive || h->acks[i].partition / 100000 != d->from_topic) {
            continue;
        }
        inputs++;
        size_t n = copies_of(s, &h->acks[i].id);
        if (n == 0 && missing++ == 0) {
            run_timeline("ORACLE: flow %s: P%d:%lld of %s is in no record of %s", o->name,
                         h->acks[i].id.producer, (long long)h->acks[i].id.seq,
                         RS->sc->topics[d->from_topic].name, RS->sc->topics[d->to_topic].name);
        }
        extra += n > 1 ? n - 1 : 0;
    }
    o->delivered_inputs += inputs;
    o->delivered_missing += missing;
    o->delivered_duplicates += extra;
    o->delivered_unknown += s->unknown;
    if (missing > 0 || inputs == 0) {
        run_fail("flow_delivers %s: %llu of %llu acknowledged records of %s missing from %s",
                 o->name, (unsigned long long)missing, (unsigned long long)inputs,
                 RS->sc->topics[d->from_topic].name, RS->sc->topics[d->to_topic].name);
        run_record("oracle", "flow %s: %llu records of %s missing from %s", o->name,
                   (unsigned long long)missing, RS->sc->topics[d->from_topic].name,
                   RS->sc->topics[d->to_topic].name);
    }
}

void run_flows_judge_delivery(weir_scn_outcome *out)
{
    const weir_scn_expect *x = &RS->sc->expect;
    for (int i = 0; i < x->flow_delivers_count; i++) {
        const weir_scn_flow_delivers *d = &x->flow_delivers[i];
        if (d->flow_index < out->flow_count) {
            judge_one(d, &out->flows[d->flow_index]);
        }
    }
    for (int i = 0; i < DS.count; i++) {
        free(DS.topics[i].ids);
    }
    memset(&DS, 0, sizeof DS);
}
