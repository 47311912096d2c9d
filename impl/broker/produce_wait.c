/* acks=all: a Produce is answered once the high watermark of every partition
 * it appended to has passed its last offset (so every ISR member holds it),
 * or with REQUEST_TIMED_OUT for those that did not get there in time, or
 * NOT_LEADER_OR_FOLLOWER if leadership moved meanwhile. A duplicate of an
 * idempotent batch waits the same way for the original it answers with.
 * The same deferred check settles WriteTxnMarkers waiting for the HW
 * (txn_markers.c). */
#include "broker/broker_internal.h"
#include "broker/txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define MS 1000000LL

void bk_produce_wait_free(weir_env *env, bk_produce_wait *w)
{
    if (w->timer != NULL) {
        weir_timer_cancel(env, w->timer);
    }
    free(w->parts);
    free(w);
}

/* Decides what is settled; true when every part is. */
static bool settle(weir_broker *b, bk_produce_wait *w, bool timed_out)
{
    bool all = true;
    for (int i = 0; i < w->n_parts; i++) {
        bk_produce_part *pp = &w->parts[i];
        if (pp->required_hw < 0) {
            continue;
        }
        weir_topic *t = weir_topics_find(&b->topics, pp->topic, strlen(pp->topic));
        weir_partition *p = weir_topic_partition(t, pp->partition);
        if (p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER) {
            pp->error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
            pp->required_hw = -1;
        } else if (p->high_watermark >= pp->required_hw) {
            pp->required_hw = -1;
        } else if (timed_out) {
            pp->error_code = WEIR_KERR_REQUEST_TIMED_OUT;
            pp->required_hw = -1;
        } else {
            all = false;
        }
    }
    return all;
}

/* Encodes and sends the response from the settled parts, then resumes. */
static void answer(bk_conn *c)
{
    weir_broker *b = c->b;
    bk_produce_wait *w = c->pwait;
    c->pwait = NULL;
    weir_arena_reset(&b->arena);
    weir_wr_reset(&b->out);
    const weir_request_header *h = &w->header;
    int err = weir_encode_response_header(&b->out, h->api_key, h->api_version, h->correlation_id);
    /* Consecutive parts of one topic form one topic entry, as in the request. */
    weir_produce_topic_response *topics = weir_arena_alloc_array(&b->arena, (size_t)w->n_parts, sizeof *topics);
    weir_produce_partition_response *parts =
        weir_arena_alloc_array(&b->arena, (size_t)w->n_parts, sizeof *parts);
    int32_t nt = 0;
    if (topics == NULL || parts == NULL) {
        err = WEIR_E_NOMEM;
    }
    for (int i = 0; err == 0 && i < w->n_parts; i++) {
        bk_produce_part *pp = &w->parts[i];
        if (i == 0 || strcmp(pp->topic, w->parts[i - 1].topic) != 0) {
            topics[nt].name = weir_str_from(pp->topic);
            topics[nt].partition_count = 0;
            topics[nt].partitions = &parts[i];
            nt++;
        }
        parts[i] = (weir_produce_partition_response){pp->partition, pp->error_code,
                                                      pp->base_offset, -1, pp->log_start_offset};
        topics[nt - 1].partition_count++;
    }
    if (err == 0) {
        weir_produce_response resp = {nt, topics, 0};
        err = weir_encode_produce_response(&b->out, h->api_version, &resp);
    }
    weir_request_header hdr = *h;
    bk_send(c, &hdr, err);
    bk_produce_wait_free(b->env, w);
    bk_conn_resume(c);
}

static void on_timeout(weir_env *env, void *arg)
{
    (void)env;
    bk_conn *c = arg;
    if (c->pwait == NULL) {
        return;
    }
    c->pwait->timer = NULL;
    settle(c->b, c->pwait, true);
    answer(c);
}

void bk_produce_park(bk_conn *c, bk_produce_wait *w, int32_t timeout_ms)
{
    WEIR_ASSERT(c->pwait == NULL && c->parked == NULL);
    c->pwait = w;
    int64_t ms = timeout_ms > 0 ? timeout_ms : 0;
    w->timer = weir_timer_start(c->b->env, ms * MS, on_timeout, c);
}

static void check_cb(weir_env *env, void *arg);

void bk_produce_check_all(weir_broker *b)
{
    /* Deferred like fetch wake-ups: the caller may be mid-response. */
    if (b->produce_timer == NULL && !b->shut_down) {
        b->produce_timer = weir_timer_start(b->env, 0, check_cb, b);
    }
}

static void check_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_broker *b = arg;
    b->produce_timer = NULL;
    for (bk_conn *c = b->conns; c != NULL;) {
        bk_conn *next = c->next;
        if (c->pwait != NULL && !c->closing && settle(b, c->pwait, false)) {
            answer(c);
        }
        c = next;
    }
    bk_txn_marker_waits_check(b); /* WriteTxnMarkers wait for the HW the same way */
}
