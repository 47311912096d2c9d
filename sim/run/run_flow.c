/* The flows of a run (run_flow.h): the flow nodes on their hosts, the
 * observer that feeds each flow's ledger, the timed actions, what a host
 * going down or coming back means for a flow, and the flows.tsv samples.
 *
 * Actions run on the flow node's own actor (weir_sim_node_post), between
 * two of its events, as the HTTP API of `weir flow` would change it. A
 * flow keeps its run-time changes across a restart (NiFi saves its flow on
 * every change): the node's start applies again, in order, every action
 * already applied.
 */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "flow/queue.h"
#include "run_flow.h"
#include "run_internal.h"

#define FLOWS_TSV_HEADER                                                                           \
    "t_ms\tflow\tconnection\tqueued\tresident\tswapped\tbytes\tobject_threshold\tpeak_queued\n"

static struct {
    const weir_scenario *sc; /* loaded for */
    run_flow flows[WEIR_SCN_FLOWS_MAX];
    size_t count;
} RF;

run_flow *run_flows(size_t *count_out)
{
    *count_out = RF.count;
    return RF.count > 0 ? RF.flows : NULL;
}

run_flow *run_flow_on_host(const char *host)
{
    for (size_t i = 0; i < RF.count; i++) {
        if (strcmp(RF.sc->hosts[RF.flows[i].spec->host_index].name, host) == 0) {
            return &RF.flows[i];
        }
    }
    return NULL;
}

static const char *flow_host(const run_flow *f)
{
    return RF.sc->hosts[f->spec->host_index].name;
}

weir_flow_engine *run_flow_engine(const run_flow *f)
{
    if (f->down || RS == NULL || RS->w == NULL) {
        return NULL;
    }
    return weir_flow_node_engine(weir_world_node_state(RS->w, flow_host(f)));
}

void run_flows_end(void)
{
    for (size_t i = 0; i < RF.count; i++) {
        run_flow *f = &RF.flows[i];
        run_ledger_free(f->ledger);
        free(f->conns);
        free(f->watches);
        free(f->applied);
        f->ledger = NULL;
        f->conns = NULL;
        f->watches = NULL;
        f->applied = NULL;
    }
}

static void flows_unload(void)
{
    run_flows_end();
    for (size_t i = 0; i < RF.count; i++) {
        weir_flow_def_free(&RF.flows[i].def);
    }
    memset(&RF, 0, sizeof RF);
}

int run_flows_load(const weir_scenario *sc, char *why, size_t why_size)
{
    flows_unload(); /* the files may have changed since a check before the run */
    RF.sc = sc;
    for (size_t i = 0; i < sc->flow_count; i++) {
        run_flow *f = &RF.flows[i];
        f->spec = &sc->flows[i];
        f->index = (int)i;
        RF.count = i + 1;
        int rc = run_flow_load_one(sc, f, why, why_size);
        if (rc != 0) {
            flows_unload();
            return rc;
        }
    }
    return 0;
}

/* ---- the observer ---- */

/* Oracle d: the attribute each FlowFile committed into a watched
 * connection carries, against the value of the phase it was made in. */
static void watch_queued(run_flow_watch *w, uint32_t connection, weir_flowfile *const *ffs,
                         size_t n)
{
    for (int k = 0; k < w->spec->connection_count; k++) {
        if (w->conns[k] != (int)connection) {
            continue;
        }
        const char *want = w->values[w->phase];
        for (size_t i = 0; i < n; i++) {
            const char *got = weir_flowfile_attr_get(ffs[i], w->spec->attribute);
            w->seen[k][w->phase]++;
            if (got != NULL && strcmp(got, want) == 0) {
                continue;
            }
            if (w->wrong[k]++ == 0 && w->first_wrong[0] == '\0') {
                snprintf(w->first_wrong, sizeof w->first_wrong,
                         "a FlowFile into \"%s\" carries %s=\"%s\", expected \"%s\"",
                         w->spec->connections[k], w->spec->attribute, got != NULL ? got : "(none)",
                         want);
            }
        }
    }
}

static void obs_queued(void *arg, uint32_t connection, weir_flowfile *const *ffs, size_t n)
{
    run_flow *f = arg;
    run_ledger_queued(f->ledger, connection, ffs, n);
    for (int i = 0; i < f->watch_count; i++) {
        watch_queued(&f->watches[i], connection, ffs, n);
    }
}

static void obs_ended(void *arg, const weir_flowfile *ff, weir_flow_end how)
{
    (void)how;
    run_ledger_ended(((run_flow *)arg)->ledger, ff);
}

static void obs_recovered(void *arg, uint32_t connection, const weir_flowfile *ff)
{
    run_ledger_recovered(((run_flow *)arg)->ledger, connection, ff);
}

static void obs_recovered_swap(void *arg, uint32_t connection, uint64_t swap_id, uint64_t count,
                               uint64_t bytes)
{
    (void)bytes;
    run_ledger_recovered_swap(((run_flow *)arg)->ledger, connection, swap_id, count);
}

static void obs_swapping(void *arg, uint32_t connection, uint64_t swap_id,
                         weir_flowfile *const *ffs, size_t n)
{
    run_ledger_swapping(((run_flow *)arg)->ledger, connection, swap_id, ffs, n);
}

static void obs_swapped(void *arg, uint32_t connection, uint64_t swap_id, weir_flowfile *const *ffs,
                        size_t n, bool out)
{
    run_ledger_swapped(((run_flow *)arg)->ledger, connection, swap_id, ffs, n, out);
}

/* ---- actions ---- */

static int action_threshold(weir_flow_engine *e, const weir_scn_action *a, run_flow *f)
{
    int c = weir_flow_engine_connection_find(e, a->target);
    WEIR_ASSERT(c >= 0); /* checked when loading */
    const weir_flow_queue_config *qc =
        weir_flow_queue_config_get(weir_flow_engine_queue(e, (size_t)c));
    uint64_t objects = a->objects >= 0 ? (uint64_t)a->objects : qc->object_threshold;
    uint64_t bytes = a->size_bytes >= 0 ? (uint64_t)a->size_bytes : qc->size_threshold_bytes;
    if (objects > f->conns[c].threshold_max) {
        f->conns[c].threshold_max = objects;
    }
    return weir_flow_engine_set_threshold(e, a->target, objects, bytes);
}

static int action_prioritizers(weir_flow_engine *e, const weir_scn_action *a)
{
    weir_flow_prioritizer kinds[WEIR_SCN_PRIORITIZERS_MAX];
    for (int k = 0; k < a->prioritizer_count; k++) {
        int rc = weir_flow_prioritizer_parse(a->prioritizers[k], &kinds[k]);
        WEIR_ASSERT(rc == 0); /* checked when loading */
    }
    return weir_flow_engine_set_prioritizers(e, a->target, kinds, (size_t)a->prioritizer_count);
}

/* Applies a to e; 0 or the engine's error with why. */
static int action_apply(weir_flow_engine *e, const weir_scn_action *a, run_flow *f, char *why,
                        size_t why_size)
{
    why[0] = '\0';
    switch (a->kind) {
    case WEIR_SCN_ACT_START:
        return weir_flow_engine_processor_start(e, a->target, why, why_size);
    case WEIR_SCN_ACT_STOP:
        return weir_flow_engine_processor_stop(e, a->target);
    case WEIR_SCN_ACT_THRESHOLD:
        return action_threshold(e, a, f);
    case WEIR_SCN_ACT_PRIORITIZERS:
        return action_prioritizers(e, a);
    case WEIR_SCN_ACT_EXPIRATION:
        return weir_flow_engine_set_expiration(e, a->target, a->expiration_ns);
    case WEIR_SCN_ACT_SET_PARAMETER:
        return weir_flow_engine_param_set(e, a->target, a->name, a->value, why, why_size);
    case WEIR_SCN_ACT_KINDS_:
        break;
    }
    return WEIR_E_INVAL;
}

/* What the action changes, for events.tsv and the timeline. */
static void action_describe(const weir_scn_action *a, char *buf, size_t size)
{
    switch (a->kind) {
    case WEIR_SCN_ACT_THRESHOLD:
        snprintf(buf, size, "objects %lld, size %lld", (long long)a->objects,
                 (long long)a->size_bytes);
        break;
    case WEIR_SCN_ACT_PRIORITIZERS: {
        size_t at = (size_t)snprintf(buf, size, "use");
        for (int k = 0; k < a->prioritizer_count && at < size; k++) {
            at += (size_t)snprintf(buf + at, size - at, " %s", a->prioritizers[k]);
        }
        if (a->prioritizer_count == 0) {
            snprintf(buf + at, size - at, " (queue order)");
        }
        break;
    }
    case WEIR_SCN_ACT_EXPIRATION:
        snprintf(buf, size, "after %lld ms", (long long)(a->expiration_ns / 1000000));
        break;
    case WEIR_SCN_ACT_SET_PARAMETER:
        snprintf(buf, size, "%s = %s", a->name, a->value);
        break;
    default:
        snprintf(buf, size, "processor");
        break;
    }
}

/* A set_parameter applied: the watches that follow it go to their next phase. */
static void watches_advance(run_flow *f, const weir_scn_action *a)
{
    for (int i = 0; a->kind == WEIR_SCN_ACT_SET_PARAMETER && i < f->watch_count; i++) {
        run_flow_watch *w = &f->watches[i];
        if (strcmp(w->spec->parameter, a->name) == 0 && w->phase + 1 < w->value_count) {
            w->phase++;
        }
    }
}

static void action_on_node(weir_env *env, void *arg)
{
    (void)env;
    size_t i = (size_t)(uintptr_t)arg;
    const weir_scn_action *a = &RF.sc->actions[i];
    run_flow *f = &RF.flows[a->flow_index];
    weir_flow_engine *e = run_flow_engine(f);
    char what[160], why[256] = "";
    action_describe(a, what, sizeof what);
    int rc = e == NULL ? WEIR_E_INVAL : action_apply(e, a, f, why, sizeof why);
    if (e != NULL && rc == 0) {
        f->applied[i] = true;
        watches_advance(f, a);
    }
    const char *result = e == NULL ? "not applied: the flow did not start"
                         : rc != 0 ? (why[0] != '\0' ? why : weir_err_str(rc))
                                   : "applied";
    run_timeline("flow %s: %s %s (%s): %s", f->spec->name, weir_scn_action_kind_name(a->kind),
                 a->target, what, result);
    run_record("flow-action", "%s\t%s\t%s\t%s: %s", f->spec->name,
               weir_scn_action_kind_name(a->kind), a->target, what, result);
}

static void action_fire(weir_env *env, void *arg)
{
    (void)env;
    size_t i = (size_t)(uintptr_t)arg;
    const weir_scn_action *a = &RF.sc->actions[i];
    run_flow *f = &RF.flows[a->flow_index];
    if (f->down || weir_sim_node_post(RS->w, flow_host(f), action_on_node, arg) != 0) {
        run_timeline("flow %s: %s %s: not applied: its host is down", f->spec->name,
                     weir_scn_action_kind_name(a->kind), a->target);
        run_record("flow-action", "%s\t%s\t%s\tnot applied: its host is down", f->spec->name,
                   weir_scn_action_kind_name(a->kind), a->target);
    }
}

void run_flows_schedule(weir_env *env)
{
    for (size_t i = 0; i < RF.sc->action_count; i++) {
        weir_timer_start(env, RF.sc->actions[i].at_ns, action_fire, (void *)(uintptr_t)i);
    }
}

/* ---- starts and stops ---- */

void run_flow_peaks(run_flow *f, weir_flow_engine *e)
{
    for (size_t c = 0; c < f->conn_count; c++) {
        weir_flow_queue_stats qs;
        weir_flow_queue_stats_get(weir_flow_engine_queue(e, c), &qs);
        run_flow_conn *rc = &f->conns[c];
        rc->peak_queued = qs.count_peak > rc->peak_queued ? qs.count_peak : rc->peak_queued;
        rc->peak_resident =
            qs.resident_count_peak > rc->peak_resident ? qs.resident_count_peak : rc->peak_resident;
    }
}

static void flow_on_start(weir_flow_node *node, void *arg)
{
    run_flow *f = arg;
    weir_flow_engine *e = weir_flow_node_engine(node);
    f->starts++;
    f->down = false;
    f->stopping = false;
    f->start_failed = false;
    for (size_t c = 0; c < f->conn_count; c++) {
        const weir_flow_queue_config *qc = weir_flow_queue_config_get(weir_flow_engine_queue(e, c));
        run_flow_conn *rc = &f->conns[c];
        rc->threshold_max =
            qc->object_threshold > rc->threshold_max ? qc->object_threshold : rc->threshold_max;
        rc->swap_threshold = qc->swap_threshold;
        rc->swap_batch = qc->swap_batch_count;
    }
    if (f->starts == 1) {
        run_timeline("flow %s started on %s (%zu processors, %zu connections, repository %s)",
                     f->spec->name, flow_host(f), weir_flow_engine_processor_count(e),
                     f->conn_count, f->spec->repository ? "on" : "off");
        run_record("note", "flow %s started on %s", f->spec->name, flow_host(f));
        return;
    }
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    /* what was queued, plus what unheard frames made, less what they ended
     * (those are judged by the ledger, one by one) */
    uint64_t missing = run_ledger_missing(f->ledger);
    run_ledger_restarted(f->ledger);
    uint64_t unheard_new = run_ledger_unheard(f->ledger) - f->unheard_at_down;
    uint64_t missing_new = run_ledger_missing(f->ledger) - missing;
    uint64_t want = f->queued_at_down + unheard_new;
    want = want > missing_new ? want - missing_new : 0;
    f->recovery_gap += c.recovered > want ? c.recovered - want : want - c.recovered;
    int again = 0;
    for (size_t i = 0; i < RF.sc->action_count; i++) {
        char why[256];
        if (f->applied[i] && action_apply(e, &RF.sc->actions[i], f, why, sizeof why) == 0) {
            again++;
        }
    }
    run_timeline("flow %s: started again, %llu FlowFiles recovered from its write-ahead log%s",
                 f->spec->name, (unsigned long long)c.recovered,
                 again > 0 ? ", its run-time changes applied again" : "");
    run_record("note", "flow %s started again: %llu FlowFiles recovered", f->spec->name,
               (unsigned long long)c.recovered);
}

int run_flow_set_params(weir_flow_engine *e, const run_flow *f, char *why, size_t why_size)
{
    for (size_t i = 0; i < f->spec->param_count; i++) {
        const weir_scn_flow_param *p = &f->spec->params[i];
        int rc = weir_flow_engine_param_set(e, p->context, p->name, p->value, why, why_size);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* The node's build: the flow file's definition, then the scenario's values. */
static int flow_build(weir_flow_engine *e, void *arg, char *why, size_t why_size)
{
    run_flow *f = arg;
    int rc = weir_flow_engine_load_def(e, &f->def, why, why_size);
    return rc == 0 ? run_flow_set_params(e, f, why, why_size) : rc;
}

static void flow_config(run_flow *f)
{
    const weir_scn_flow *s = f->spec;
    weir_flow_node_config *cfg = &f->cfg;
    memset(cfg, 0, sizeof *cfg);
    cfg->build = flow_build;
    cfg->build_arg = f;
    weir_flow_engine_config_default(&cfg->engine);
    cfg->engine.repo_dir = s->repository ? "flow" : NULL;
    cfg->engine.provenance = s->provenance == WEIR_SCN_PROV_OFF      ? WEIR_FLOW_PROV_OFF
                             : s->provenance == WEIR_SCN_PROV_MEMORY ? WEIR_FLOW_PROV_MEMORY
                                                                     : WEIR_FLOW_PROV_REPO;
    cfg->engine.wal_sync = s->wal_sync;
    cfg->engine.prov_sync = s->provenance_sync;
    cfg->engine.checkpoint_interval_ms = s->checkpoint_interval_ns / 1000000;
    cfg->engine.batch_max = (uint32_t)s->batch_size;
    f->observer = (weir_flow_observer){.queued = obs_queued,
                                       .ended = obs_ended,
                                       .recovered = obs_recovered,
                                       .recovered_swap = obs_recovered_swap,
                                       .swapping = obs_swapping,
                                       .swapped = obs_swapped,
                                       .arg = f};
    cfg->engine.observer = &f->observer;
    cfg->on_start = flow_on_start;
    cfg->on_start_arg = f;
}

/* The watches of the parameter expectations on f (oracle d). */
static void flow_watches(run_flow *f)
{
    const weir_scn_expect *x = &RF.sc->expect;
    f->watches = calloc((size_t)x->flow_parameter_count + 1, sizeof *f->watches);
    WEIR_ASSERT(f->watches != NULL);
    for (int i = 0; i < x->flow_parameter_count; i++) {
        const weir_scn_flow_parameter *p = &x->flow_parameter[i];
        if (p->flow_index != f->index) {
            continue;
        }
        run_flow_watch *w = &f->watches[f->watch_count++];
        w->spec = p;
        for (int k = 0; k < p->connection_count; k++) {
            w->conns[k] = weir_flow_def_connection_find(&f->def, p->connections[k]);
        }
        w->values[w->value_count++] = p->before;
        for (size_t a = 0; a < RF.sc->action_count && w->value_count < RUN_PARAM_PHASES_MAX; a++) {
            const weir_scn_action *act = &RF.sc->actions[a];
            if (act->kind == WEIR_SCN_ACT_SET_PARAMETER && act->flow_index == f->index &&
                strcmp(act->name, p->parameter) == 0) {
                w->values[w->value_count++] = act->value;
            }
        }
    }
}

int run_flows_add_nodes(weir_world *w)
{
    for (size_t i = 0; i < RF.count; i++) {
        run_flow *f = &RF.flows[i];
        f->conn_count = f->def.connection_count;
        f->conns = calloc(f->conn_count + 1, sizeof *f->conns);
        f->applied = calloc(RF.sc->action_count + 1, sizeof *f->applied);
        WEIR_ASSERT(f->conns != NULL && f->applied != NULL);
        for (size_t c = 0; c < f->conn_count; c++) {
            const weir_flow_connection *dc = &f->def.connections[c];
            f->conns[c].self_loop = dc->source.kind == dc->destination.kind &&
                                    dc->source.index == dc->destination.index;
        }
        f->ledger = run_ledger_new(f->conn_count);
        memset(&f->sum, 0, sizeof f->sum);
        f->starts = 0;
        f->down = false;
        f->stopping = false;
        f->start_failed = false;
        f->start_retries = 0;
        f->recovery_gap = 0;
        f->unheard_at_down = 0;
        f->conserved_failed = false;
        f->peak_resident = f->peak_memory_bytes = 0;
        f->watch_count = 0;
        flow_config(f);
        flow_watches(f);
        int err = weir_world_node_add(w, flow_host(f), &weir_flow_node_type, &f->cfg);
        if (err != 0) {
            return err;
        }
    }
    if (RF.count > 0 && RS->rec != NULL && RS->rec->flows != NULL) {
        fputs(FLOWS_TSV_HEADER, RS->rec->flows);
    }
    return 0;
}

void run_flow_counters_total(const run_flow *f, weir_flow_counters *out)
{
    *out = f->sum;
    weir_flow_engine *e = run_flow_engine(f);
    if (e == NULL) {
        out->queued = f->down ? f->queued_at_down : 0;
        return;
    }
    weir_flow_counters c;
    weir_flow_engine_counters(e, &c);
    out->created += c.created;
    out->received += c.received;
    out->recovered += c.recovered;
    out->sent += c.sent;
    out->dropped += c.dropped;
    out->expired += c.expired;
    out->queued = c.queued;
    out->in_flight = c.in_flight;
    out->expiring = c.expiring;
    out->commits += c.commits;
    out->rollbacks += c.rollbacks;
    out->triggers += c.triggers;
}

void run_flows_host_down(const char *host, bool shutdown)
{
    run_flow *f = run_flow_on_host(host);
    weir_flow_engine *e = f != NULL ? run_flow_engine(f) : NULL;
    if (f == NULL || f->down) {
        return;
    }
    if (e != NULL) {
        /* a crash in the middle of a clean shutdown finds queues half freed */
        bool mid_stop = f->stopping;
        if (!mid_stop) {
            run_flow_peaks(f, e); /* before a shutdown frees the queues */
        }
        if (shutdown) {
            f->stopping = true;
            weir_ignore(weir_flow_node_shutdown(weir_world_node_state(RS->w, host)));
            f->stopping = false;
        }
        char why[200];
        if (!mid_stop && !weir_flow_engine_conserved(e, why, sizeof why) && !f->conserved_failed) {
            f->conserved_failed = true;
            snprintf(f->conserved_why, sizeof f->conserved_why, "when %s went down: %s", host, why);
        }
        weir_flow_counters total;
        run_flow_counters_total(f, &total);
        /* what the log holds: queued, taken by open sessions, expired not yet recorded */
        f->queued_at_down = total.queued + total.in_flight + total.expiring;
        total.queued = total.in_flight = total.expiring = 0;
        f->sum = total;
    }
    f->down = true;
    f->stopping = false;
    f->unheard_at_down = run_ledger_unheard(f->ledger);
    if (shutdown) {
        run_ledger_down(f->ledger);
    } else {
        run_ledger_crashed(f->ledger);
    }
}

/* ---- the supervisor ---- */

#define START_RETRY_NS 1000000000LL /* systemd's RestartSec: 1 s */

/* A flow node up with no engine failed its start. Its recovery may have
 * found FlowFiles before the failure: the host goes down again (the ledger
 * expects them back, once, from the next start) and comes back up. The
 * restart is a power cycle, harsher than a process restart (unsynced
 * writes of the failed start are lost), which recovery must survive too. */
static void flow_supervise(run_flow *f)
{
    const char *host = flow_host(f);
    const weir_flow_node *node = weir_world_node_state(RS->w, host);
    if (node == NULL || weir_flow_node_engine(node) != NULL) {
        return; /* down, or running */
    }
    int64_t now = run_now_ns();
    if (!f->start_failed) {
        f->start_failed = true;
        f->start_retry_ns = now + START_RETRY_NS;
        snprintf(f->start_error, sizeof f->start_error, "%s", weir_flow_node_error(node));
        run_timeline("flow %s did not start: %s; restarting it in 1s", f->spec->name,
                     f->start_error);
        run_record("note", "flow %s did not start: %s", f->spec->name, f->start_error);
        return;
    }
    if (now < f->start_retry_ns) {
        return;
    }
    f->start_retries++;
    /* down since the crash before the failed start (or never up): what
     * that start recovered is expected again */
    f->down = true; /* unheard_at_down stays: the failed start's finds are this down's */
    run_ledger_crashed(f->ledger); /* the restart is a power cycle */
    int err = weir_world_crash(RS->w, host);
    err = err != 0 ? err : weir_world_restart(RS->w, host);
    run_timeline("flow %s: restart %s after a failed start%s", f->spec->name, host,
                 err != 0 ? " (failed)" : "");
    f->start_failed = false;
}

/* ---- samples ---- */

void run_flows_sample(void)
{
    FILE *tsv = RS->rec != NULL ? RS->rec->flows : NULL;
    long long t_ms = (long long)(run_now_ns() / 1000000);
    for (size_t i = 0; i < RF.count; i++) {
        run_flow *f = &RF.flows[i];
        flow_supervise(f);
        weir_flow_engine *e = run_flow_engine(f);
        if (e == NULL || f->stopping) {
            continue; /* down, or going down: no row */
        }
        run_flow_peaks(f, e);
        uint64_t resident = 0, memory = 0;
        for (size_t c = 0; c < f->conn_count; c++) {
            weir_flow_queue_stats qs;
            weir_flow_queue *q = weir_flow_engine_queue(e, c);
            weir_flow_queue_stats_get(q, &qs);
            uint64_t swapped_bytes = run_ledger_swapped_bytes(f->ledger, (uint32_t)c);
            resident += qs.resident_count;
            memory += qs.bytes > swapped_bytes ? qs.bytes - swapped_bytes : 0;
            if (tsv != NULL) {
                fprintf(tsv, "%lld\t%s\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n", t_ms,
                        f->spec->name, weir_flow_engine_connection_name(e, c),
                        (unsigned long long)qs.count, (unsigned long long)qs.resident_count,
                        (unsigned long long)qs.swapped_count, (unsigned long long)qs.bytes,
                        (unsigned long long)weir_flow_queue_config_get(q)->object_threshold,
                        (unsigned long long)f->conns[c].peak_queued);
            }
        }
        f->peak_resident = resident > f->peak_resident ? resident : f->peak_resident;
        f->peak_memory_bytes = memory > f->peak_memory_bytes ? memory : f->peak_memory_bytes;
    }
}
