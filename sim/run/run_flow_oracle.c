/* The flow oracles at the end of a run (run_flow.h). Each judges what
 * happened, not what the engine says about itself:
 *
 * (a) conservation: the engine's own rule at every moment a host went down
 *     and at the end, restarts that recover exactly what was queued when
 *     the host went down, and the same sums recounted from the provenance
 *     repository's events (CREATE, RECEIVE, FORK / JOIN / CLONE children in;
 *     DROP, EXPIRE out — a SEND is no end: NiFi's DROP follows it when the
 *     FlowFile is removed) against the counters and what is queued;
 * (b) no loss: the ledger's verdict (run_flow_ledger.c), from the ends the
 *     engine reported, the provenance repository's ends (when it holds
 *     every event) and the write-ahead log's live FlowFiles;
 * (c) the queue bound: a connection's peak never passes its threshold by
 *     more than the most one commit put into it (soft limits), and with a
 *     repository a queue holds at most its swap threshold plus one session
 *     (or one swap batch) in memory;
 * (d) a parameter change reaches every watched connection (run_flow.c
 *     checks each FlowFile as it is committed).
 * Provenance judges only what it holds: it must survive the run's crashes
 * (a repository, synced) to be recounted after one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "flow/flowfile_repo.h"
#include "flow/provenance.h"
#include "flow/queue.h"
#include "run_flow.h"
#include "run_internal.h"

/* What a provenance scan found. */
typedef struct prov_sums {
    uint64_t by_type[WEIR_PROV_TYPE_COUNT];
    uint64_t made;     /* CREATE + FORK, JOIN and CLONE children */
    uint64_t received; /* RECEIVE */
    run_ends ends;     /* DROP and EXPIRE uuids */
    size_t ends_cap;
} prov_sums;

static int prov_count_event(const weir_prov_event *ev, void *arg)
{
    prov_sums *p = arg;
    p->by_type[ev->type]++;
    switch (ev->type) {
    case WEIR_PROV_CREATE:
        p->made++;
        break;
    case WEIR_PROV_RECEIVE:
        p->received++;
        break;
    case WEIR_PROV_FORK:
    case WEIR_PROV_JOIN:
    case WEIR_PROV_CLONE:
        p->made += ev->child_count;
        break;
    case WEIR_PROV_DROP:
    case WEIR_PROV_EXPIRE:
        if (p->ends.count == p->ends_cap) {
            p->ends_cap = p->ends_cap == 0 ? 4096 : p->ends_cap * 2;
            p->ends.uuids = realloc(p->ends.uuids, p->ends_cap * sizeof *p->ends.uuids);
            WEIR_ASSERT(p->ends.uuids != NULL);
        }
        p->ends.uuids[p->ends.count++] = ev->flowfile;
        break;
    default:
        break;
    }
    return 0;
}

static int uuid_order(const void *a, const void *b)
{
    return memcmp(((const weir_uuid *)a)->b, ((const weir_uuid *)b)->b, 16);
}

/* Whether f's provenance holds every event of the run. */
static bool prov_complete(const run_flow *f)
{
    if (f->spec->provenance == WEIR_SCN_PROV_OFF) {
        return false;
    }
    if (f->starts <= 1) {
        return true;
    }
    return f->spec->provenance == WEIR_SCN_PROV_REPOSITORY && f->spec->provenance_sync;
}

/* (a) against provenance; true when it could judge. */
static bool check_provenance(run_flow *f, const weir_flow_counters *t, const prov_sums *p,
                             weir_scn_flow_outcome *o)
{
    uint64_t in = p->made + p->received;
    uint64_t out = p->by_type[WEIR_PROV_DROP] + p->by_type[WEIR_PROV_EXPIRE];
    uint64_t held = t->queued + t->in_flight + t->expiring;
    /* frames in flight at a crash: their events may be in provenance while
     * the counters of the life that wrote them never counted them; the
     * ledger says how many FlowFiles they made (unheard) and ended (missing) */
    uint64_t unheard = run_ledger_unheard(f->ledger), missing = run_ledger_missing(f->ledger);
    uint64_t ends = t->sent + t->dropped + t->expired;
    uint64_t made = t->created + t->received;
    if (unheard == 0 && missing == 0) {
        o->conserved = p->made == t->created && p->received == t->received &&
                       p->by_type[WEIR_PROV_DROP] == t->sent + t->dropped &&
                       p->by_type[WEIR_PROV_EXPIRE] == t->expired && in == out + held;
    } else {
        o->conserved = in >= made && in - made <= unheard && out >= ends &&
                       out - ends <= missing && in == out + held;
    }
    if (!o->conserved) {
        run_fail("flow %s: provenance disagrees: CREATE+children %llu, RECEIVE %llu, DROP %llu, "
                 "EXPIRE %llu; counters created %llu, received %llu, sent+dropped %llu, expired "
                 "%llu, queued %llu",
                 f->spec->name, (unsigned long long)p->made, (unsigned long long)p->received,
                 (unsigned long long)p->by_type[WEIR_PROV_DROP],
                 (unsigned long long)p->by_type[WEIR_PROV_EXPIRE], (unsigned long long)t->created,
                 (unsigned long long)t->received, (unsigned long long)(t->sent + t->dropped),
                 (unsigned long long)t->expired, (unsigned long long)held);
    }
    return true;
}

/* (a) the engine's own rule and the restarts. */
static void check_engine(run_flow *f, weir_flow_engine *e)
{
    char why[240];
    if (e != NULL && !weir_flow_engine_conserved(e, why, sizeof why) && !f->conserved_failed) {
        f->conserved_failed = true;
        snprintf(f->conserved_why, sizeof f->conserved_why, "at the end: %s", why);
    }
    if (f->conserved_failed) {
        run_fail("flow %s: not conserved %s", f->spec->name, f->conserved_why);
    }
    if (f->recovery_gap > 0) {
        run_fail("flow %s: restarts recovered %llu FlowFiles more or fewer than were queued when "
                 "the host went down",
                 f->spec->name, (unsigned long long)f->recovery_gap);
    }
}

static bool live_in_log(void *arg, uint64_t id, uint32_t *connection_out)
{
    return weir_ffrepo_lookup(arg, id, connection_out);
}

/* (b) */
static void check_ledger(run_flow *f, weir_flow_engine *e, const prov_sums *p,
                         const weir_flow_counters *t, weir_scn_flow_outcome *o)
{
    uint64_t *queued = NULL;
    if (e != NULL) {
        queued = calloc(f->conn_count + 1, sizeof *queued);
        WEIR_ASSERT(queued != NULL);
        for (size_t c = 0; c < f->conn_count; c++) {
            queued[c] = weir_flow_queue_count(weir_flow_engine_queue(e, c));
        }
    }
    weir_ffrepo *log = e != NULL ? weir_flow_engine_flowfile_repo(e) : NULL;
    run_ledger_verdict v;
    run_ledger_judge(f->ledger, &p->ends, queued, t->in_flight + t->expiring,
                     log != NULL ? live_in_log : NULL, log, &v);
    free(queued);
    o->ledger_judged = true;
    o->committed = v.committed;
    o->lost = v.lost;
    o->duplicated = v.duplicated;
    if (v.lost > 0 || v.duplicated > 0) {
        run_fail("flow %s: %llu FlowFiles lost, %llu duplicated of %llu committed (first: %s)",
                 f->spec->name, (unsigned long long)v.lost, (unsigned long long)v.duplicated,
                 (unsigned long long)v.committed, v.first);
        run_record("oracle", "flow %s: %llu lost, %llu duplicated: %s", f->spec->name,
                   (unsigned long long)v.lost, (unsigned long long)v.duplicated, v.first);
    }
}

/* (c) */
static void check_queues(run_flow *f, weir_scn_flow_outcome *o)
{
    for (size_t c = 0; c < f->conn_count; c++) {
        const run_flow_conn *rc = &f->conns[c];
        uint64_t session = run_ledger_session_max(f->ledger, (uint32_t)c);
        const char *name = f->def.connections[c].name;
        if (!rc->self_loop && rc->threshold_max > 0 &&
            rc->peak_queued > rc->threshold_max + session) {
            o->overshoots++;
            run_fail("flow %s: queue %s peaked at %llu, past its threshold %llu + one session "
                     "(%llu)",
                     f->spec->name, name, (unsigned long long)rc->peak_queued,
                     (unsigned long long)rc->threshold_max, (unsigned long long)session);
        }
        uint64_t step = session > rc->swap_batch ? session : rc->swap_batch;
        if (f->spec->repository && rc->swap_threshold > 0 &&
            rc->peak_resident > rc->swap_threshold + step) {
            o->overshoots++;
            run_fail("flow %s: queue %s held %llu FlowFiles in memory, past its swap threshold "
                     "%llu + %llu",
                     f->spec->name, name, (unsigned long long)rc->peak_resident,
                     (unsigned long long)rc->swap_threshold, (unsigned long long)step);
        }
    }
}

/* (d) */
static void check_watches(run_flow *f)
{
    for (int i = 0; i < f->watch_count; i++) {
        const run_flow_watch *w = &f->watches[i];
        for (int k = 0; k < w->spec->connection_count; k++) {
            const char *conn = w->spec->connections[k];
            if (w->wrong[k] > 0) {
                run_fail("flow %s: parameter %s: %llu FlowFiles into %s carry another value (%s)",
                         f->spec->name, w->spec->parameter, (unsigned long long)w->wrong[k], conn,
                         w->first_wrong);
            }
            if (w->seen[k][0] == 0 || w->seen[k][w->value_count - 1] == 0 ||
                w->phase != w->value_count - 1) {
                run_fail("flow %s: parameter %s: %s saw %llu FlowFiles before the change and %llu "
                         "after the last (%d of %d changes applied)",
                         f->spec->name, w->spec->parameter, conn, (unsigned long long)w->seen[k][0],
                         (unsigned long long)w->seen[k][w->value_count - 1], w->phase,
                         w->value_count - 1);
            }
        }
    }
}

/* The flow expectations of the scenario that name f. */
static void check_expect(run_flow *f, weir_flow_engine *e, const weir_flow_counters *t,
                         const weir_scn_flow_outcome *o)
{
    const weir_scn_expect *x = &RS->sc->expect;
    for (int i = 0; i < x->flow_queue_max_count; i++) {
        const weir_scn_flow_queue_max *q = &x->flow_queue_max[i];
        int c =
            q->flow_index == f->index ? weir_flow_def_connection_find(&f->def, q->connection) : -1;
        if (c >= 0 && f->conns[c].peak_queued > (uint64_t)q->objects) {
            run_fail("flow_queue_max %s/%s %lld: peaked at %llu", f->spec->name, q->connection,
                     (long long)q->objects, (unsigned long long)f->conns[c].peak_queued);
        }
    }
    for (int i = 0; i < x->flow_back_pressure_count; i++) {
        const weir_scn_flow_back_pressure *b = &x->flow_back_pressure[i];
        int p = b->flow_index == f->index && e != NULL
                    ? weir_flow_engine_processor_find(e, b->processor)
                    : -1;
        weir_flow_proc_stats ps = {0};
        if (p >= 0) {
            weir_flow_engine_processor_stats(e, (size_t)p, &ps);
        }
        if (b->flow_index == f->index && (ps.bp_waits == 0 || ps.bp_resumes == 0)) {
            run_fail("flow_back_pressure %s/%s: held back %llu times, resumed %llu times",
                     f->spec->name, b->processor, (unsigned long long)ps.bp_waits,
                     (unsigned long long)ps.bp_resumes);
        }
    }
    for (int i = 0; i < x->flow_counts_count; i++) {
        const weir_scn_flow_counts *n = &x->flow_counts[i];
        const int64_t want[] = {n->created, n->received, n->sent,
                                n->dropped, n->expired,  n->queued};
        const uint64_t got[] = {t->created, t->received, t->sent,
                                t->dropped, t->expired,  t->queued};
        static const char *const names[] = {"created", "received", "sent",
                                            "dropped", "expired",  "queued"};
        for (int k = 0; k < 6 && n->flow_index == f->index; k++) {
            if (want[k] >= 0 && got[k] != (uint64_t)want[k]) {
                run_fail("flow_counts %s: %s %llu, expected %lld", f->spec->name, names[k],
                         (unsigned long long)got[k], (long long)want[k]);
            }
        }
    }
    if (x->flow_conserved && !o->conserved_judged) {
        run_fail("flow_conserved: flow %s's provenance could not be recounted", f->spec->name);
    }
    if (x->flow_no_loss && (!o->ledger_judged || o->committed == 0)) {
        run_fail("flow_no_loss: flow %s: %s", f->spec->name,
                 o->ledger_judged ? "no FlowFile was committed" : "its ledger could not judge");
    }
}

static void outcome_fill(const run_flow *f, const weir_flow_counters *t, weir_scn_flow_outcome *o)
{
    snprintf(o->name, sizeof o->name, "%s", f->spec->name);
    o->created = t->created;
    o->received = t->received;
    o->sent = t->sent;
    o->dropped = t->dropped;
    o->expired = t->expired;
    o->queued = t->queued;
    o->in_flight = t->in_flight;
    o->recovered = t->recovered;
    o->starts = f->starts;
    o->peak_resident = f->peak_resident; /* sampled: at least one queue's own peak */
    for (size_t c = 0; c < f->conn_count; c++) {
        if (f->conns[c].peak_resident > o->peak_resident) {
            o->peak_resident = f->conns[c].peak_resident;
        }
    }
    o->peak_memory_bytes = f->peak_memory_bytes;
    o->conn_total = (int)f->conn_count;
    for (size_t c = 0; c < f->conn_count && c < WEIR_SCN_OUT_CONNS_MAX; c++) {
        weir_scn_flow_conn_outcome *oc = &o->conns[o->conn_count++];
        snprintf(oc->name, sizeof oc->name, "%s", f->def.connections[c].name);
        oc->peak_queued = f->conns[c].peak_queued;
        oc->peak_resident = f->conns[c].peak_resident;
        oc->object_threshold = f->conns[c].threshold_max;
        oc->session_max = run_ledger_session_max(f->ledger, (uint32_t)c);
    }
}

/* The processor back pressure held back most, as the engine counted it. */
static void outcome_held_back(weir_flow_engine *e, weir_scn_flow_outcome *o)
{
    for (size_t i = 0; e != NULL && i < weir_flow_engine_processor_count(e); i++) {
        weir_flow_proc_stats ps;
        weir_flow_engine_processor_stats(e, i, &ps);
        if (ps.bp_waits > o->held_back_waits) {
            snprintf(o->held_back, sizeof o->held_back, "%s",
                     weir_flow_ctx_name(weir_flow_engine_processor(e, i)));
            o->held_back_waits = ps.bp_waits;
            o->held_back_resumes = ps.bp_resumes;
        }
    }
}

static void finish_one(run_flow *f, weir_scn_flow_outcome *o)
{
    weir_flow_engine *e = run_flow_engine(f);
    const weir_flow_node *node =
        weir_world_node_state(RS->w, RS->sc->hosts[f->spec->host_index].name);
    if (node != NULL && weir_flow_node_engine(node) == NULL) {
        run_fail("flow %s did not start%s: %s", f->spec->name, f->starts > 0 ? " again" : "",
                 weir_flow_node_error(node));
    }
    if (e != NULL) {
        run_flow_peaks(f, e);
    }
    weir_flow_counters t;
    run_flow_counters_total(f, &t);
    outcome_fill(f, &t, o);
    outcome_held_back(e, o);
    check_engine(f, e);
    prov_sums p;
    memset(&p, 0, sizeof p);
    weir_prov_repo *prov = e != NULL ? weir_flow_engine_provenance(e) : NULL;
    bool judged =
        prov != NULL && prov_complete(f) && weir_prov_scan(prov, prov_count_event, &p) == 0;
    if (judged) {
        qsort(p.ends.uuids, p.ends.count, sizeof *p.ends.uuids, uuid_order);
        o->conserved_judged = check_provenance(f, &t, &p, o);
    }
    check_ledger(f, e, &p, &t, o); /* provenance's ends, when it holds them, besides the engine's */
    check_queues(f, o);
    check_watches(f);
    check_expect(f, e, &t, o);
    free(p.ends.uuids);
}

void run_flows_finish(weir_scn_outcome *out)
{
    size_t n;
    run_flow *flows = run_flows(&n);
    for (size_t i = 0; i < n; i++) {
        weir_scn_flow_outcome scratch;
        weir_scn_flow_outcome *o = i < WEIR_SCN_OUT_FLOWS_MAX ? &out->flows[i] : &scratch;
        memset(o, 0, sizeof *o);
        finish_one(&flows[i], o);
        out->flow_count = (int)(i < WEIR_SCN_OUT_FLOWS_MAX ? i + 1 : WEIR_SCN_OUT_FLOWS_MAX);
    }
}

void run_flows_print(FILE *f, const weir_scn_outcome *out)
{
    for (int i = 0; i < out->flow_count; i++) {
        const weir_scn_flow_outcome *o = &out->flows[i];
        fprintf(f,
                "  flow %s: created %llu, received %llu, sent %llu, dropped %llu, expired %llu, "
                "queued %llu (started %d time%s, %llu recovered)\n",
                o->name, (unsigned long long)o->created, (unsigned long long)o->received,
                (unsigned long long)o->sent, (unsigned long long)o->dropped,
                (unsigned long long)o->expired, (unsigned long long)o->queued, o->starts,
                o->starts == 1 ? "" : "s", (unsigned long long)o->recovered);
        fprintf(f,
                "    memory: at most %llu FlowFiles resident in its queues, %.1f MB of content\n",
                (unsigned long long)o->peak_resident, (double)o->peak_memory_bytes / 1e6);
        fprintf(f, "    oracles: provenance %s; ledger %s",
                !o->conserved_judged ? "not recounted"
                : o->conserved       ? "agrees"
                                     : "DISAGREES",
                o->ledger_judged ? "" : "not judged");
        if (o->ledger_judged) {
            fprintf(f, "%llu committed, %llu lost, %llu duplicated",
                    (unsigned long long)o->committed, (unsigned long long)o->lost,
                    (unsigned long long)o->duplicated);
        }
        fprintf(f, "; %llu queue%s past its bound\n", (unsigned long long)o->overshoots,
                o->overshoots == 1 ? "" : "s");
        if (o->held_back_waits > 0) {
            fprintf(f, "    back pressure: held %s back %llu times, triggered again %llu times\n",
                    o->held_back, (unsigned long long)o->held_back_waits,
                    (unsigned long long)o->held_back_resumes);
        }
        if (o->delivered_inputs > 0) {
            fprintf(f,
                    "    delivered: %llu acknowledged input records, %llu missing from the output, "
                    "%llu copies beyond the first, %llu output pieces that are no record\n",
                    (unsigned long long)o->delivered_inputs,
                    (unsigned long long)o->delivered_missing,
                    (unsigned long long)o->delivered_duplicates,
                    (unsigned long long)o->delivered_unknown);
        }
        for (int c = 0; c < o->conn_count; c++) {
            const weir_scn_flow_conn_outcome *q = &o->conns[c];
            fprintf(f,
                    "    queue %s: peak %llu (threshold %llu, one commit put in up to %llu), "
                    "resident peak %llu\n",
                    q->name, (unsigned long long)q->peak_queued,
                    (unsigned long long)q->object_threshold, (unsigned long long)q->session_max,
                    (unsigned long long)q->peak_resident);
        }
        if (o->conn_total > o->conn_count) {
            fprintf(f, "    (%d more connections)\n", o->conn_total - o->conn_count);
        }
    }
}
