/* The scheduler: when each processor is triggered (engine.h "Scheduling").
 *
 * Event driven on env timers. A ready ring holds processors that may have
 * something to do; one zero-delay timer (the pump) takes them in turn,
 * looks at each (sched_consider) and triggers it when it may run, at most
 * triggers_per_pump times before letting other events in. A processor that
 * cannot run now is not polled: it is woken by what would change that —
 * an offer into one of its queues (flow_engine_offer_pending), a commit that
 * polled one of its full output queues below its threshold (session.c), a
 * task finishing, or its own timer, armed at the earliest of its yield end,
 * next run (run schedule), penalty expiry and wake_after deadline.
 *
 * Back pressure is checked before every trigger (soft limits): a session may
 * take the queue past its threshold, and the processor then waits until a
 * consumer drains it below. Run schedule > 0: at most concurrent_tasks
 * triggers per period. Run schedule 0: triggered again as long as it has
 * work, taking turns with the others in the ring. A source (no incoming
 * connection) with run schedule 0 runs as fast as back pressure lets it; in
 * the simulator that takes no simulated time, so give sources a run schedule
 * there.
 *
 * Group commit (engine.h): the session of each trigger joins the commit
 * group; the pump flushes the group (one log write, one fsync) when it
 * reaches a bound, and before it lets other events in, so the group is
 * always empty between pumps. The flush queues the group's FlowFiles,
 * which wakes their consumers, and the pump goes on while its turn lasts.
 *
 * Concurrent tasks are logical: a trigger runs to completion on the node's
 * one thread unless it returns WEIR_FLOW_PENDING; then its task stays busy
 * until weir_flow_ctx_task_done.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/engine_internal.h"

static void sched_pump(weir_env *env, void *arg);

/* On the real backend a busy pump works up to PUMP_REAL_NS (its last group
 * flush included), then re-arms itself with zero delay: the env runs a
 * timer started from a timer callback in its next batch, after the loop
 * has polled its sockets (impl/env/uv_env.c), so other work on the loop
 * gets a turn at least that often. In the simulator time does not move
 * during a callback, so the pump counts triggers (triggers_per_pump)
 * instead. */
#define PUMP_REAL_NS (20LL * 1000 * 1000)

static void sched_arm_pump(weir_flow_engine *e)
{
    if (e->pump == NULL && !e->in_pump && !e->shut && !e->abandoning) {
        e->pump = weir_timer_start(e->env, 0, sched_pump, e);
    }
}

void flow_sched_wake(weir_flow_ctx *p)
{
    weir_flow_engine *e = p->e;
    if (p->in_ready || !p->running || !e->started || e->shut) {
        return;
    }
    if (e->ready_count == e->ready_cap) {
        size_t ncap = e->ready_cap == 0 ? 16 : e->ready_cap * 2;
        int *n = malloc(ncap * sizeof *n);
        if (n == NULL) {
            /* cannot queue it: its timer brings it back */
            flow_sched_wake_at(p, weir_now_ns(e->env) + 1000000);
            return;
        }
        for (size_t i = 0; i < e->ready_count; i++) {
            n[i] = e->ready[(e->ready_head + i) % e->ready_cap];
        }
        free(e->ready);
        e->ready = n;
        e->ready_cap = ncap;
        e->ready_head = 0;
    }
    e->ready[(e->ready_head + e->ready_count) % e->ready_cap] = p->index;
    e->ready_count++;
    p->in_ready = true;
    sched_arm_pump(e);
}

static void sched_timer_fired(weir_env *env, void *arg)
{
    (void)env;
    weir_flow_ctx *p = arg;
    p->timer = NULL;
    flow_sched_wake(p);
}

void flow_sched_wake_at(weir_flow_ctx *p, int64_t t_ns)
{
    weir_flow_engine *e = p->e;
    if (!e->started || e->shut || e->abandoning) {
        return;
    }
    if (p->timer != NULL) {
        if (p->timer_at_ns <= t_ns) {
            return;
        }
        weir_timer_cancel(e->env, p->timer);
        p->timer = NULL;
    }
    int64_t now = weir_now_ns(e->env);
    p->timer_at_ns = t_ns;
    p->timer = weir_timer_start(e->env, t_ns > now ? t_ns - now : 0, sched_timer_fired, p);
}

bool flow_conn_is_full(const flow_conn *c)
{
    if (c->staged_count == 0) {
        return weir_flow_queue_is_full(c->q);
    }
    const weir_flow_queue_config *cfg = weir_flow_queue_config_get(c->q);
    uint64_t count = weir_flow_queue_count(c->q) + c->staged_count;
    uint64_t bytes = weir_flow_queue_bytes(c->q) + c->staged_bytes;
    return (cfg->object_threshold > 0 && count >= cfg->object_threshold) ||
           (cfg->size_threshold_bytes > 0 && bytes >= cfg->size_threshold_bytes);
}

bool flow_sched_outputs_available(const weir_flow_ctx *p)
{
    const weir_flow_engine *e = p->e;
    bool any = false, all = true, some_connected = false;
    for (size_t r = 0; r < p->rel_count; r++) {
        const flow_rel *rel = &p->rels[r];
        if (rel->conn_count == 0) {
            continue; /* dropped or auto-terminated: always room */
        }
        some_connected = true;
        bool room = true;
        for (size_t k = 0; k < rel->conn_count; k++) {
            const flow_conn *c = e->conns[rel->conns[k]];
            if (!c->self_loop && flow_conn_is_full(c)) {
                room = false;
                break;
            }
        }
        any = any || room;
        all = all && room;
    }
    if (!some_connected) {
        return true;
    }
    return p->type->trigger_when_any_destination_available ? any : all;
}

/* Whether p has work at now; arms its timer for the earliest penalty expiry
 * when all it has is penalized. */
static bool sched_has_work(weir_flow_ctx *p, int64_t now)
{
    weir_flow_engine *e = p->e;
    if (p->in_count == 0) {
        return true;
    }
    if (p->wake_at_ns != 0 && now >= p->wake_at_ns) {
        return true;
    }
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < p->in_count; i++) {
        const weir_flow_queue *q = e->conns[p->in[i]]->q;
        if (weir_flow_queue_has_ready(q, now)) {
            return true;
        }
        int64_t t;
        if (weir_flow_queue_penalty_expiry_next(q, &t) && t < earliest) {
            earliest = t;
        }
    }
    if (earliest != INT64_MAX) {
        flow_sched_wake_at(p, earliest);
    }
    return false;
}

/* Decides whether p runs now; if not, arranges to be woken. */
static bool sched_consider(weir_flow_ctx *p, int64_t now)
{
    if (!p->running || p->tasks_active >= p->concurrent_tasks) {
        return false;
    }
    if (p->yield_until_ns > now) {
        flow_sched_wake_at(p, p->yield_until_ns);
        return false;
    }
    if (p->run_schedule_ns > 0 && now < p->next_run_ns) {
        flow_sched_wake_at(p, p->next_run_ns);
        return false;
    }
    if (!flow_sched_outputs_available(p)) {
        if (!p->bp_blocked) {
            p->stats.bp_waits++;
        }
        p->bp_blocked = true;
        p->bp_waited = true;
        return false;
    }
    p->bp_blocked = false;
    if (!sched_has_work(p, now)) {
        if (p->wake_at_ns != 0) {
            flow_sched_wake_at(p, p->wake_at_ns);
        }
        return false;
    }
    p->stats.bp_resumes += p->bp_waited;
    p->bp_waited = false;
    return true;
}

static weir_flow_session *sched_task_session(weir_flow_ctx *p)
{
    if (p->main != NULL && flow_session_is_empty(p->main)) {
        return p->main;
    }
    return NULL;
}

/* One trigger of p: its session, then commit or rollback. */
static void sched_trigger(weir_flow_ctx *p)
{
    weir_flow_engine *e = p->e;
    weir_flow_session *s = sched_task_session(p);
    if (s == NULL) {
        return;
    }
    if (p->wake_at_ns != 0 && weir_now_ns(e->env) >= p->wake_at_ns) {
        p->wake_at_ns = 0;
    }
    p->tasks_active++;
    p->stats.triggers++;
    e->counters.triggers++;
    p->fail[0] = '\0';
    p->triggering = s;
    int rc = p->type->on_trigger(s, p);
    p->triggering = NULL;
    if (rc != WEIR_FLOW_PENDING && flow_session_waiting(s)) {
        /* marked, then finished after all: it waits for nothing */
        flow_session_set_waiting(s, false);
        p->tasks_waiting--;
    }
    if (rc == WEIR_FLOW_PENDING) {
        /* the session belongs to the task now; the next trigger gets a fresh one */
        weir_flow_session *fresh = weir_flow_ctx_session_open(p);
        if (fresh != NULL) {
            /* swap roles: the pending one is tracked as open, fresh becomes main */
            for (size_t i = 0; i < p->open_count; i++) {
                if (p->open[i] == fresh) {
                    p->open[i] = s;
                }
            }
            p->main = fresh;
        }
        return;
    }
    p->tasks_active--;
    if (rc == 0) {
        /* joins the commit group (an empty session just resets) */
        rc = flow_session_commit_grouped(s);
        if (rc != 0) {
            weir_log_error(e->env, "flow: %s: session not committed: %s", p->name,
                           weir_err_str(rc));
        }
    }
    if (rc != 0) {
        if (p->fail[0] != '\0') {
            weir_log_warn(e->env, "flow: %s failed: %s", p->name, p->fail);
        }
        weir_flow_session_rollback(s, true);
        p->stats.failures++;
        weir_flow_ctx_yield(p);
    }
}

static void sched_after_trigger(weir_flow_ctx *p, int64_t now)
{
    if (p->run_schedule_ns > 0) {
        if (++p->period_triggers >= p->concurrent_tasks) {
            p->period_triggers = 0;
            p->next_run_ns = now + p->run_schedule_ns;
        }
    }
    flow_sched_wake(p);
}

/* Whether this pump has had its turn. */
static bool sched_pump_over(const weir_flow_engine *e, bool real, int64_t start_ns, uint32_t budget)
{
    return e->shut || budget == 0 || (real && weir_now_ns(e->env) - start_ns >= PUMP_REAL_NS);
}

/* Triggers ready processors until the ring is empty or the pump's turn is
 * over; sessions commit into the group, which is flushed when it reaches a
 * bound and, at the latest, when nothing more can run: its FlowFiles then
 * wake their consumers, and the pump goes on. */
static void sched_pump(weir_env *env, void *arg)
{
    weir_flow_engine *e = arg;
    e->pump = NULL;
    e->in_pump = true;
    bool real = strcmp(env->ops->backend, "real") == 0;
    int64_t start = weir_now_ns(env);
    uint32_t budget = real ? UINT32_MAX : e->cfg.triggers_per_pump;
    for (;;) {
        while (e->ready_count > 0 && !sched_pump_over(e, real, start, budget)) {
            int idx = e->ready[e->ready_head];
            e->ready_head = (e->ready_head + 1) % e->ready_cap;
            e->ready_count--;
            weir_flow_ctx *p = e->procs[idx];
            p->in_ready = false;
            int64_t now = weir_now_ns(env);
            if (!sched_consider(p, now)) {
                continue;
            }
            sched_trigger(p);
            budget--;
            sched_after_trigger(p, now);
            if (flow_group_due(e)) {
                weir_ignore(flow_group_flush(e, NULL)); /* a failure rolls the group back */
            }
        }
        if (!flow_group_pending(e) || flow_group_flush(e, NULL) != 0 ||
            sched_pump_over(e, real, start, budget)) {
            break; /* a failed flush rolled the group back; the yields bring it back */
        }
    }
    WEIR_ASSERT(e->group_count == 0);
    e->in_pump = false;
    if (e->ready_count > 0) {
        sched_arm_pump(e);
    }
}

void flow_sched_start(weir_flow_engine *e)
{
    for (size_t i = 0; i < e->proc_count; i++) {
        flow_sched_wake(e->procs[i]);
    }
}

void flow_sched_stop_proc(weir_flow_ctx *p)
{
    weir_flow_engine *e = p->e;
    if (p->timer != NULL) {
        weir_timer_cancel(e->env, p->timer);
        p->timer = NULL;
    }
    if (p->in_ready) {
        /* take it out of the ring, keeping the others' order */
        size_t w = 0;
        for (size_t i = 0; i < e->ready_count; i++) {
            int v = e->ready[(e->ready_head + i) % e->ready_cap];
            if (v != p->index) {
                e->ready[(e->ready_head + w) % e->ready_cap] = v;
                w++;
            }
        }
        e->ready_count = w;
        p->in_ready = false;
    }
    p->bp_blocked = false;
    p->wake_at_ns = 0;
}

void flow_sched_abandon(weir_flow_engine *e)
{
    if (e->pump != NULL && !e->abandoning) {
        weir_timer_cancel(e->env, e->pump);
    }
    e->pump = NULL;
    e->ready_count = 0;
    for (size_t i = 0; i < e->proc_count; i++) {
        weir_flow_ctx *p = e->procs[i];
        if (p->timer != NULL && !e->abandoning) {
            weir_timer_cancel(e->env, p->timer);
        }
        p->timer = NULL;
        p->in_ready = false;
    }
}

void weir_flow_ctx_task_done(weir_flow_ctx *ctx, weir_flow_session *session)
{
    WEIR_ASSERT(ctx->tasks_active > 0);
    if (session != NULL && flow_session_waiting(session)) {
        flow_session_set_waiting(session, false);
        ctx->tasks_waiting--;
    }
    ctx->tasks_active--;
    WEIR_ASSERT(ctx->tasks_waiting >= 0 && ctx->tasks_waiting <= ctx->tasks_active);
    if (session != NULL) {
        weir_flow_session_close(session);
    }
    flow_sched_wake(ctx);
}

bool weir_flow_engine_idle(const weir_flow_engine *e)
{
    if (e->ready_count > 0 || e->group_count > 0) {
        return false;
    }
    for (size_t i = 0; i < e->proc_count; i++) {
        const weir_flow_ctx *p = e->procs[i];
        if (p->tasks_active > p->tasks_waiting) {
            return false; /* a task that waits for outside input is idle */
        }
        for (size_t k = 0; p->running && k < p->in_count; k++) {
            if (!weir_flow_queue_is_empty(e->conns[p->in[k]]->q) && !p->bp_blocked) {
                return false;
            }
        }
    }
    return true;
}
