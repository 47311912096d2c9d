/* The process session (session.h): records of the FlowFiles a processor's
 * unit of work holds, applied at commit, undone at rollback.
 *
 * Each FlowFile a session holds has a record: the live FlowFile the
 * processor changes in place, its origin (taken from a queue, created,
 * received, child, join, clone), where it goes (a relationship, back, or
 * removed), flags (attributes / content changed, penalize, sent).
 *
 * Undo, for a FlowFile taken from a queue and then changed, in two forms:
 * - a log (the hot path): before each attribute set the old value (or its
 *   absence), before each content change the old claim (with its
 *   reference), in the session's own buffers, so a change costs no
 *   allocation. Rollback replays the log backwards: replacing a value keeps
 *   its place in the map, so the attributes come back in the same order.
 * - a copy (removals, migration): the FlowFile exactly as polled (same id,
 *   uuid, dates, queue date and index, attributes, a claim reference), made
 *   by copying the live one and replaying its log backwards onto the copy
 *   (a removed key that came back would go last, so removals cannot be
 *   logged). Rollback requeues the copy and frees the live one.
 * Commit drops the log (and its claim references) and frees the copies.
 *
 * Records are found from a FlowFile pointer through a hint (processors
 * mostly touch FlowFiles in the order they got them) and an open-addressing
 * map stamped with a generation, so a reset clears nothing. The map is built
 * on the first lookup the hint misses and kept up to date from then on: a
 * processor that goes through its FlowFiles in order never pays for it. The
 * map is only for lookups: everything that iterates goes over the record
 * array, in the order records were made, so no order depends on pointer
 * values.
 *
 * Invariants: live = records whose ff is not NULL; taken = records with
 * origin TAKEN and ff not NULL (what the session adds to in_flight).
 */
#include <stdlib.h>
#include <string.h>

#include "flow/engine_internal.h"

enum {
    REL_NONE = -1,
    REL_BACK = -2,
    REL_REMOVED = -3,
};

enum {
    ORIGIN_TAKEN = 0,
    ORIGIN_CREATE,
    ORIGIN_RECEIVE,
    ORIGIN_CHILD,
    ORIGIN_JOIN,
    ORIGIN_CLONE,
};

enum {
    F_ATTRS = 1 << 0,
    F_CONTENT = 1 << 1,
    F_PENALIZE = 1 << 2,
    F_SENT = 1 << 3,
};

#define NO_REC UINT32_MAX

typedef struct sess_rec {
    weir_flowfile *ff;   /* NULL once migrated away */
    weir_flowfile *undo; /* TAKEN and changed: the FlowFile as polled */
    const void *key;     /* the pointer the map knows this record by */
    int32_t src_conn;    /* TAKEN: the connection it came from; else -1 */
    int32_t rel;
    uint8_t origin;
    uint8_t flags;
    uint32_t parent; /* CHILD / CLONE: parent record; JOIN: first in join_parents */
    uint32_t join_count;
    uint32_t first_child; /* FORK children of this record, linked */
    uint32_t next_sibling;
    uint32_t detail; /* RECEIVE: offset + 1 into strs, 0 for none */
    int32_t dest;    /* at commit (sess_check): the first connection, or -1 */
} sess_rec;

/* One undo-log entry (see the header). */
enum { UNDO_ATTR, UNDO_CONTENT };

typedef struct sess_undo {
    uint32_t rec; /* NO_REC once folded into a copy */
    uint8_t kind;
    uint32_t key; /* UNDO_ATTR: offset + 1 into strs */
    uint32_t old; /* UNDO_ATTR: old value, offset + 1; 0 when absent */
    uint32_t old_len;
    weir_content_repo *content; /* UNDO_CONTENT: the old content, with a reference */
    weir_content_claim claim;
    uint64_t content_offset;
    uint64_t size;
} sess_undo;

typedef struct sess_event {
    uint32_t rec;
    uint8_t type;    /* WEIR_PROV_ROUTE or WEIR_PROV_SEND */
    uint32_t detail; /* offset + 1 into strs, 0 for none */
} sess_event;

typedef struct sess_slot {
    uint32_t gen;
    uint32_t rec;
} sess_slot;

/* A clone made at commit for an extra connection of a relationship. */
typedef struct sess_fanout {
    weir_flowfile *ff;
    uint32_t rec;
    int32_t conn;
} sess_fanout;

typedef struct sess_chunk {
    struct sess_chunk *next;
    size_t used;
    size_t cap;
    uint8_t data[];
} sess_chunk;

struct weir_flow_session {
    weir_flow_ctx *p;
    weir_flow_engine *e;
    sess_rec *recs;
    size_t count;
    size_t cap;
    size_t live;
    size_t taken;
    size_t hint;
    sess_slot *map;
    size_t map_cap;   /* power of two, >= 2 * map_count */
    size_t map_count; /* records [0, map_count) are in the map */
    uint32_t gen;
    uint32_t *join_parents;
    size_t jp_count;
    size_t jp_cap;
    sess_event *events;
    size_t ev_count;
    size_t ev_cap;
    sess_undo *undo;
    size_t undo_count;
    size_t undo_cap;
    char *strs;
    size_t strs_len;
    size_t strs_cap;
    sess_chunk *chunks; /* read_all buffers (folder repositories) */
    uint32_t *polled;   /* connection indexes polled in this session */
    size_t polled_count;
    size_t polled_cap;
    int64_t commit_ms;             /* wall time of the commit being applied: its events' time */
    const weir_flowfile **run_ffs; /* a run of provenance events being gathered */
    size_t run_cap;
    /* the entry time of FlowFiles this trigger creates (sess_entry_time) */
    weir_flowfile_time made_at;
    uint64_t made_at_trigger; /* e->counters.triggers when read; 0: not read */
    /* in the commit group: checked and logged, applied at the flush */
    bool staged;
    bool held;        /* staged beyond the commit call: counted in staged_count */
    bool detached;    /* was the processor's main session; a spare once applied */
    bool waiting;     /* its task waits for outside input (weir_flow_ctx_task_waiting) */
    sess_fanout *fan; /* its fan-out clones, made when it joined */
    size_t fan_count;
};

/* ---- small helpers ---- */

static size_t sess_hash(const void *ptr, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)ptr;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

static void sess_map_put(weir_flow_session *s, const void *key, uint32_t rec)
{
    size_t i = sess_hash(key, s->map_cap);
    while (s->map[i].gen == s->gen) {
        i = (i + 1) & (s->map_cap - 1);
    }
    s->map[i].gen = s->gen;
    s->map[i].rec = rec;
}

/* Brings the map up to date with every record: false when it cannot grow
 * (out of memory; lookups then scan the records). */
static bool sess_map_sync(weir_flow_session *s)
{
    if (s->map_count == s->count) {
        return true;
    }
    if (s->count * 2 > s->map_cap) {
        size_t n = s->map_cap == 0 ? 64 : s->map_cap;
        while (n < s->count * 2) {
            n *= 2;
        }
        sess_slot *m = calloc(n, sizeof *m);
        if (m == NULL) {
            return false;
        }
        free(s->map);
        s->map = m;
        s->map_cap = n;
        s->gen = 1;
        s->map_count = 0;
    }
    for (; s->map_count < s->count; s->map_count++) {
        sess_map_put(s, s->recs[s->map_count].key, (uint32_t)s->map_count);
    }
    return true;
}

/* The record holding ff, or NULL (a FlowFile this session does not hold). */
static sess_rec *sess_find(weir_flow_session *s, const weir_flowfile *ff)
{
    if (ff == NULL || s->count == 0) {
        return NULL;
    }
    size_t h = s->hint;
    if (h < s->count && s->recs[h].ff == ff) {
        return &s->recs[h];
    }
    if (h + 1 < s->count && s->recs[h + 1].ff == ff) {
        s->hint = h + 1;
        return &s->recs[h + 1];
    }
    if (!sess_map_sync(s)) {
        for (size_t r = 0; r < s->count; r++) {
            if (s->recs[r].ff == ff) {
                s->hint = r;
                return &s->recs[r];
            }
        }
        return NULL;
    }
    size_t i = sess_hash(ff, s->map_cap);
    while (s->map[i].gen == s->gen) {
        uint32_t r = s->map[i].rec;
        if (s->recs[r].ff == ff) {
            s->hint = r;
            return &s->recs[r];
        }
        i = (i + 1) & (s->map_cap - 1);
    }
    return NULL;
}

/* Adds a record for ff; NULL when out of memory (ff untouched). */
static sess_rec *sess_add(weir_flow_session *s, weir_flowfile *ff, uint8_t origin, int32_t src)
{
    if (weir_grow((void **)&s->recs, &s->cap, s->count + 1, sizeof *s->recs) != 0) {
        return NULL;
    }
    uint32_t idx = (uint32_t)s->count++;
    sess_rec *r = &s->recs[idx];
    *r = (sess_rec){.ff = ff,
                    .key = ff,
                    .src_conn = src,
                    .rel = REL_NONE,
                    .origin = origin,
                    .parent = NO_REC,
                    .first_child = NO_REC,
                    .next_sibling = NO_REC};
    if (s->map_count == idx && s->map_count > 0 && idx * 2 < s->map_cap) {
        sess_map_put(s, ff, idx); /* the map is in use: keep it up to date */
        s->map_count++;
    }
    s->live++;
    if (origin == ORIGIN_TAKEN) {
        s->taken++;
        s->e->counters.in_flight++;
    }
    return r;
}

static uint32_t sess_str(weir_flow_session *s, const char *text)
{
    if (text == NULL) {
        return 0;
    }
    size_t n = strlen(text) + 1;
    if (weir_grow((void **)&s->strs, &s->strs_cap, s->strs_len + n, 1) != 0) {
        return 0;
    }
    memcpy(s->strs + s->strs_len, text, n);
    uint32_t off = (uint32_t)s->strs_len + 1;
    s->strs_len += n;
    return off;
}

static uint32_t sess_str_n(weir_flow_session *s, const char *text, size_t n)
{
    if (weir_grow((void **)&s->strs, &s->strs_cap, s->strs_len + n + 1, 1) != 0) {
        return 0;
    }
    memcpy(s->strs + s->strs_len, text, n);
    s->strs[s->strs_len + n] = '\0';
    uint32_t off = (uint32_t)s->strs_len + 1;
    s->strs_len += n + 1;
    return off;
}

static const char *sess_str_at(const weir_flow_session *s, uint32_t off)
{
    return off == 0 ? NULL : s->strs + off - 1;
}

static void *sess_alloc(weir_flow_session *s, size_t len)
{
    len = (len + 15) & ~(size_t)15;
    sess_chunk *c = s->chunks;
    if (c == NULL || c->cap - c->used < len) {
        size_t cap = len > 65536 ? len : 65536;
        sess_chunk *n = malloc(sizeof *n + cap);
        if (n == NULL) {
            return NULL;
        }
        n->next = c;
        n->used = 0;
        n->cap = cap;
        s->chunks = n;
        c = n;
    }
    void *p = c->data + c->used;
    c->used += len;
    return p;
}

static void sess_chunks_reset(weir_flow_session *s, bool release)
{
    sess_chunk *c = s->chunks;
    if (c == NULL) {
        return;
    }
    /* keep the newest chunk for reuse unless releasing */
    sess_chunk *rest = c->next;
    c->next = NULL;
    c->used = 0;
    while (rest != NULL) {
        sess_chunk *n = rest->next;
        free(rest);
        rest = n;
    }
    if (release) {
        free(c);
        s->chunks = NULL;
    }
}

static void sess_reset(weir_flow_session *s)
{
    s->count = 0;
    s->live = 0;
    s->taken = 0;
    s->hint = 0;
    s->map_count = 0;
    s->jp_count = 0;
    s->ev_count = 0;
    s->undo_count = 0;
    s->strs_len = 0;
    s->polled_count = 0;
    s->made_at_trigger = 0;
    if (++s->gen == 0) { /* wrapped: old stamps could match again */
        memset(s->map, 0, s->map_cap * sizeof *s->map);
        s->gen = 1;
    }
    sess_chunks_reset(s, false);
}

weir_flow_session *flow_session_new(weir_flow_ctx *p)
{
    weir_flow_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->p = p;
    s->e = p->e;
    s->gen = 1;
    return s;
}

bool flow_session_waiting(const weir_flow_session *s)
{
    return s->waiting;
}

void flow_session_set_waiting(weir_flow_session *s, bool waiting)
{
    s->waiting = waiting;
}

bool flow_session_is_empty(const weir_flow_session *s)
{
    return s->count == 0 && s->ev_count == 0;
}

static void sess_fan_free(sess_fanout *fan, size_t count);

/* Frees the session. abandon: after a crash, every FlowFile is just freed
 * (no queue, no counter); otherwise the caller rolled back first. */
void flow_session_free(weir_flow_session *s, bool abandon)
{
    if (s == NULL) {
        return;
    }
    if (abandon) {
        for (size_t i = 0; i < s->undo_count; i++) {
            if (s->undo[i].kind == UNDO_CONTENT && s->undo[i].rec != NO_REC &&
                s->undo[i].content != NULL) {
                weir_content_repo_decref(s->undo[i].content, &s->undo[i].claim);
            }
        }
        for (size_t i = 0; i < s->count; i++) {
            weir_flowfile_free(s->recs[i].ff);
            weir_flowfile_free(s->recs[i].undo);
        }
    } else {
        WEIR_ASSERT(s->live == 0 && !s->staged);
    }
    sess_fan_free(s->fan, s->fan_count); /* a crash in a group's flush */
    free(s->recs);
    free(s->map);
    free(s->join_parents);
    free(s->events);
    free(s->undo);
    free(s->strs);
    free(s->polled);
    free(s->run_ffs);
    sess_chunks_reset(s, true);
    free(s);
}

/* ---- taking ---- */

static void sess_note_polled(weir_flow_session *s, uint32_t conn)
{
    for (size_t i = 0; i < s->polled_count; i++) {
        if (s->polled[i] == conn) {
            return;
        }
    }
    if (weir_grow((void **)&s->polled, &s->polled_cap, s->polled_count + 1, sizeof *s->polled) ==
        0) {
        s->polled[s->polled_count++] = conn;
    }
}

size_t weir_flow_session_get_batch(weir_flow_session *s, weir_flowfile **out, size_t max)
{
    weir_flow_ctx *p = s->p;
    weir_flow_engine *e = s->e;
    size_t got = 0;
    if (p->in_count == 0 || max == 0) {
        return 0;
    }
    if (weir_grow((void **)&s->recs, &s->cap, s->count + max, sizeof *s->recs) != 0) {
        return 0;
    }
    int64_t now = weir_now_ns(e->env);
    for (size_t tried = 0; tried < p->in_count && got < max; tried++) {
        size_t which = (p->in_next + tried) % p->in_count;
        flow_conn *c = e->conns[p->in[which]];
        size_t n = 0;
        int err = weir_flow_queue_poll_batch(c->q, now, out + got, max - got, &n);
        if (err != 0) {
            weir_log_warn(e->env, "flow: %s: cannot read queue %s: %s", p->name, c->name,
                          weir_err_str(err));
        }
        /* even when it gave nothing: the poll may have expired FlowFiles */
        sess_note_polled(s, c->index);
        for (size_t i = 0; i < n; i++) {
            sess_rec *r = sess_add(s, out[got + i], ORIGIN_TAKEN, (int32_t)c->index);
            WEIR_ASSERT(r != NULL); /* room reserved above */
        }
        got += n;
    }
    p->in_next = (p->in_next + 1) % p->in_count;
    return got;
}

weir_flowfile *weir_flow_session_get(weir_flow_session *s)
{
    weir_flowfile *ff = NULL;
    return weir_flow_session_get_batch(s, &ff, 1) == 1 ? ff : NULL;
}

uint64_t weir_flow_session_queued(const weir_flow_session *s)
{
    const weir_flow_ctx *p = s->p;
    uint64_t n = 0;
    for (size_t i = 0; i < p->in_count; i++) {
        weir_flow_queue_stats st;
        weir_flow_queue_stats_get(s->e->conns[p->in[i]]->q, &st);
        n += st.count - st.penalized_count;
    }
    return n;
}

/* ---- making ---- */

static weir_flowfile *sess_new_ff(weir_flow_session *s, weir_flowfile *ff, uint8_t origin)
{
    if (ff == NULL) {
        return NULL;
    }
    if (sess_add(s, ff, origin, -1) == NULL) {
        weir_flowfile_free(ff);
        return NULL;
    }
    return ff;
}

/* When the FlowFiles this session makes now enter the flow. A synchronous
 * trigger runs within one event of the node, so what it creates in one go
 * shares one reading of the clocks (a simulated clock does not move during
 * an event either). Anything else (a pending task's session, a session
 * after its trigger) reads the clocks each time. */
static const weir_flowfile_time *sess_entry_time(weir_flow_session *s)
{
    uint64_t trigger = s->e->counters.triggers;
    bool in_trigger = s == s->p->main && s->p->tasks_active > 0;
    if (!in_trigger || s->made_at_trigger != trigger) {
        weir_flowfile_time_now(s->e->env, &s->made_at);
        s->made_at_trigger = in_trigger ? trigger : 0;
    }
    return &s->made_at;
}

weir_flowfile *weir_flow_session_create(weir_flow_session *s)
{
    weir_flowfile *ff =
        weir_flowfile_create_at(s->e->env, flow_engine_id_next(s->e), sess_entry_time(s));
    return sess_new_ff(s, ff, ORIGIN_CREATE);
}

weir_flowfile *weir_flow_session_receive(weir_flow_session *s, const char *transit_uri)
{
    weir_flowfile *ff =
        weir_flowfile_create_at(s->e->env, flow_engine_id_next(s->e), sess_entry_time(s));
    ff = sess_new_ff(s, ff, ORIGIN_RECEIVE);
    if (ff != NULL) {
        s->recs[s->count - 1].detail = sess_str(s, transit_uri);
    }
    return ff;
}

weir_flowfile *weir_flow_session_create_child(weir_flow_session *s, weir_flowfile *parent)
{
    sess_rec *pr = sess_find(s, parent);
    WEIR_ASSERT(pr != NULL);
    uint32_t pidx = (uint32_t)(pr - s->recs);
    const weir_flowfile *parents[1] = {parent};
    weir_flowfile *ff =
        weir_flowfile_create_child(s->e->env, flow_engine_id_next(s->e), parents, 1);
    ff = sess_new_ff(s, ff, ORIGIN_CHILD);
    if (ff == NULL) {
        return NULL;
    }
    sess_rec *r = &s->recs[s->count - 1];
    pr = &s->recs[pidx]; /* the array may have moved */
    r->parent = pidx;
    /* append to the parent's child list (kept in creation order) */
    if (pr->first_child == NO_REC) {
        pr->first_child = (uint32_t)(s->count - 1);
    } else {
        uint32_t c = pr->first_child;
        while (s->recs[c].next_sibling != NO_REC) {
            c = s->recs[c].next_sibling;
        }
        s->recs[c].next_sibling = (uint32_t)(s->count - 1);
    }
    return ff;
}

weir_flowfile *weir_flow_session_create_joined(weir_flow_session *s, weir_flowfile *const *parents,
                                               size_t count)
{
    WEIR_ASSERT(count >= 1);
    if (weir_grow((void **)&s->join_parents, &s->jp_cap, s->jp_count + count,
                  sizeof *s->join_parents) != 0) {
        return NULL;
    }
    size_t first = s->jp_count;
    for (size_t i = 0; i < count; i++) {
        sess_rec *pr = sess_find(s, parents[i]);
        WEIR_ASSERT(pr != NULL);
        s->join_parents[first + i] = (uint32_t)(pr - s->recs);
    }
    weir_flowfile *ff = weir_flowfile_create_child(s->e->env, flow_engine_id_next(s->e),
                                                   (const weir_flowfile *const *)parents, count);
    ff = sess_new_ff(s, ff, ORIGIN_JOIN);
    if (ff == NULL) {
        return NULL;
    }
    s->jp_count += count;
    sess_rec *r = &s->recs[s->count - 1];
    r->parent = (uint32_t)first;
    r->join_count = (uint32_t)count;
    return ff;
}

weir_flowfile *weir_flow_session_clone(weir_flow_session *s, weir_flowfile *ff)
{
    sess_rec *pr = sess_find(s, ff);
    WEIR_ASSERT(pr != NULL);
    uint32_t pidx = (uint32_t)(pr - s->recs);
    weir_flowfile *c = weir_flowfile_clone(s->e->env, flow_engine_id_next(s->e), ff);
    c = sess_new_ff(s, c, ORIGIN_CLONE);
    if (c != NULL) {
        s->recs[s->count - 1].parent = pidx;
    }
    return c;
}

static int sess_keep_undo(weir_flow_session *s, sess_rec *r);

int weir_flow_session_migrate(weir_flow_session *from, weir_flow_session *to, weir_flowfile *ff)
{
    sess_rec *r = sess_find(from, ff);
    if (r == NULL || from->p != to->p || from == to) {
        return WEIR_E_INVAL;
    }
    /* only FlowFiles whose history is their own move: no lineage links */
    if (r->origin != ORIGIN_TAKEN || r->first_child != NO_REC) {
        return WEIR_E_INVAL;
    }
    if ((r->flags & (F_ATTRS | F_CONTENT)) != 0) {
        int err = sess_keep_undo(from, r); /* the log stays behind: carry a copy */
        if (err != 0) {
            return err;
        }
    }
    sess_rec copy = *r;
    sess_rec *n = sess_add(to, ff, ORIGIN_TAKEN, copy.src_conn);
    if (n == NULL) {
        return WEIR_E_NOMEM;
    }
    to->e->counters.in_flight--; /* sess_add counted it again */
    n->undo = copy.undo;
    n->rel = copy.rel;
    n->flags = copy.flags;
    sess_note_polled(to, (uint32_t)copy.src_conn);
    r = sess_find(from, ff);
    r->ff = NULL;
    r->undo = NULL;
    from->live--;
    from->taken--;
    return 0;
}

/* ---- content ---- */

/* Replays one undo entry onto ff (which is the record's live FlowFile or
 * its copy being made). Takes the entry's claim reference. */
static void sess_undo_apply(weir_flow_session *s, sess_undo *u, weir_flowfile *ff)
{
    if (u->kind == UNDO_CONTENT) {
        weir_flowfile_set_content(ff, u->content, &u->claim);
        ff->content_offset = u->content_offset;
        ff->size = u->size;
        return;
    }
    const char *key = sess_str_at(s, u->key);
    if (u->old == 0) {
        (void)weir_flowfile_attr_remove(ff, key);
        return;
    }
    int err = weir_flowfile_attr_set_n(ff, key, strlen(key), sess_str_at(s, u->old), u->old_len);
    WEIR_ASSERT(err == 0); /* putting back a value cannot be left half done */
}

static sess_undo *sess_undo_push(weir_flow_session *s, sess_rec *r, uint8_t kind)
{
    if (weir_grow((void **)&s->undo, &s->undo_cap, s->undo_count + 1, sizeof *s->undo) != 0) {
        return NULL;
    }
    sess_undo *u = &s->undo[s->undo_count++];
    *u = (sess_undo){.rec = (uint32_t)(r - s->recs), .kind = kind};
    return u;
}

/* Whether changes of r need undo information at all (a FlowFile taken from
 * a queue, not yet copied). */
static bool sess_logs(const sess_rec *r)
{
    return r->origin == ORIGIN_TAKEN && r->undo == NULL;
}

/* Before an attribute of a taken FlowFile changes: log its old value (the
 * attribute at index `at`, or -1 when absent). */
static int sess_log_attr(weir_flow_session *s, sess_rec *r, const char *key, size_t key_len, int at)
{
    if (!sess_logs(r)) {
        return 0;
    }
    const char *old = NULL;
    size_t old_len = 0;
    if (at >= 0) {
        const char *k;
        weir_flowfile_attr_at(r->ff, (size_t)at, &k, NULL, &old, &old_len);
    }
    uint32_t ko = sess_str_n(s, key, key_len);
    uint32_t o = old != NULL ? sess_str_n(s, old, old_len) : 0;
    sess_undo *u = ko == 0 || (old != NULL && o == 0) ? NULL : sess_undo_push(s, r, UNDO_ATTR);
    if (u == NULL) {
        return WEIR_E_NOMEM;
    }
    u->key = ko;
    u->old = o;
    u->old_len = (uint32_t)old_len;
    return 0;
}

/* Before the content of a taken FlowFile changes: keep the old one. */
static int sess_log_content(weir_flow_session *s, sess_rec *r)
{
    if (!sess_logs(r)) {
        return 0;
    }
    sess_undo *u = sess_undo_push(s, r, UNDO_CONTENT);
    if (u == NULL) {
        return WEIR_E_NOMEM;
    }
    const weir_flowfile *ff = r->ff;
    u->content = ff->content;
    u->claim = ff->claim;
    u->content_offset = ff->content_offset;
    u->size = ff->size;
    if (ff->content != NULL) {
        weir_content_repo_incref(ff->content, &ff->claim);
    }
    return 0;
}

/* Switches r to the copy form: the FlowFile as polled, rebuilt from the
 * live one and its log. */
static int sess_keep_undo(weir_flow_session *s, sess_rec *r)
{
    if (!sess_logs(r)) {
        return 0;
    }
    weir_flowfile *copy = weir_flowfile_dup(r->ff);
    if (copy == NULL) {
        return WEIR_E_NOMEM;
    }
    uint32_t idx = (uint32_t)(r - s->recs);
    for (size_t i = s->undo_count; i-- > 0;) {
        sess_undo *u = &s->undo[i];
        if (u->rec == idx) {
            sess_undo_apply(s, u, copy);
            u->rec = NO_REC;
        }
    }
    r->undo = copy;
    return 0;
}

/* Rollback: every logged change undone, newest first. */
static void sess_undo_all(weir_flow_session *s)
{
    for (size_t i = s->undo_count; i-- > 0;) {
        sess_undo *u = &s->undo[i];
        if (u->rec != NO_REC && s->recs[u->rec].ff != NULL) {
            sess_undo_apply(s, u, s->recs[u->rec].ff);
        } else if (u->rec != NO_REC && u->kind == UNDO_CONTENT && u->content != NULL) {
            weir_content_repo_decref(u->content, &u->claim);
        }
    }
    s->undo_count = 0;
}

/* Commit: the old contents the log kept are no longer needed. */
static void sess_undo_drop(weir_flow_session *s)
{
    for (size_t i = 0; i < s->undo_count; i++) {
        sess_undo *u = &s->undo[i];
        if (u->rec != NO_REC && u->kind == UNDO_CONTENT && u->content != NULL) {
            weir_content_repo_decref(u->content, &u->claim);
        }
    }
    s->undo_count = 0;
}

int weir_flow_session_writev(weir_flow_session *s, weir_flowfile *ff, const weir_iov *iov,
                             int count)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    weir_content_claim claim;
    int err = weir_content_repo_writev(s->e->content, iov, count, &claim);
    if (err != 0) {
        return err;
    }
    err = sess_log_content(s, r);
    if (err != 0) {
        weir_content_repo_decref(s->e->content, &claim);
        return err;
    }
    weir_flowfile_set_content(ff, s->e->content, &claim);
    r->flags |= F_CONTENT;
    return 0;
}

int weir_flow_session_write(weir_flow_session *s, weir_flowfile *ff, const void *data, size_t len)
{
    weir_iov iov = {data, len};
    return weir_flow_session_writev(s, ff, &iov, 1);
}

int weir_flow_session_copy_content_range(weir_flow_session *s, weir_flowfile *dst,
                                         const weir_flowfile *src, uint64_t offset, uint64_t size)
{
    sess_rec *r = sess_find(s, dst);
    WEIR_ASSERT(r != NULL);
    WEIR_ASSERT(offset <= src->size && size <= src->size - offset);
    int err = sess_log_content(s, r);
    if (err != 0) {
        return err;
    }
    weir_content_claim claim = src->claim;
    uint64_t base = src->content_offset;
    if (src->content != NULL) {
        weir_content_repo_incref(src->content, &claim);
    }
    weir_flowfile_set_content(dst, src->content, &claim);
    if (size == 0) {
        weir_content_claim null = {0, 0, 0};
        weir_flowfile_set_content(dst, NULL, &null);
    } else {
        dst->content_offset = base + offset;
        dst->size = size;
    }
    r->flags |= F_CONTENT;
    return 0;
}

int weir_flow_session_copy_content(weir_flow_session *s, weir_flowfile *dst,
                                   const weir_flowfile *src)
{
    return weir_flow_session_copy_content_range(s, dst, src, 0, src->size);
}

int weir_flow_session_read(weir_flow_session *s, const weir_flowfile *ff, uint64_t offset,
                           void *buf, size_t len, size_t *got_out)
{
    *got_out = 0;
    if (offset >= ff->size || len == 0) {
        return 0;
    }
    uint64_t left = ff->size - offset;
    size_t n = left < len ? (size_t)left : len;
    int err = weir_content_repo_read(ff->content, &ff->claim, ff->content_offset + offset, buf, n);
    if (err != 0) {
        return err;
    }
    (void)s;
    *got_out = n;
    return 0;
}

int weir_flow_session_read_all(weir_flow_session *s, const weir_flowfile *ff,
                               const uint8_t **data_out, size_t *len_out)
{
    *data_out = NULL;
    *len_out = 0;
    if (ff->size == 0) {
        static const uint8_t empty[1];
        *data_out = empty;
        return 0;
    }
    int err =
        weir_content_repo_peek(ff->content, &ff->claim, ff->content_offset, ff->size, data_out);
    if (err == 0) {
        *len_out = ff->size;
        return 0;
    }
    if (err != WEIR_E_UNSUPPORTED) {
        return err;
    }
    uint8_t *buf = sess_alloc(s, ff->size);
    if (buf == NULL) {
        return WEIR_E_NOMEM;
    }
    err = weir_content_repo_read(ff->content, &ff->claim, ff->content_offset, buf, ff->size);
    if (err != 0) {
        return err;
    }
    *data_out = buf;
    *len_out = ff->size;
    return 0;
}

uint64_t weir_flow_session_size(const weir_flowfile *ff)
{
    return ff->size;
}

/* ---- attributes ---- */

const char *weir_flow_session_attr(const weir_flowfile *ff, const char *key)
{
    return weir_flowfile_attr_get(ff, key);
}

int weir_flow_session_put_attr_n(weir_flow_session *s, weir_flowfile *ff, const char *key,
                                 const char *value, size_t value_len)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    size_t key_len = strlen(key);
    if (key_len == 4 && memcmp(key, "uuid", 4) == 0) {
        return WEIR_E_INVAL;
    }
    int at = weir_flowfile_attr_index(ff, key, key_len);
    int err = sess_log_attr(s, r, key, key_len, at);
    if (err != 0) {
        return err;
    }
    err = weir_flowfile_attr_set_at(ff, at, key, key_len, value, value_len);
    if (err == 0) {
        r->flags |= F_ATTRS;
    }
    return err;
}

int weir_flow_session_put_attr(weir_flow_session *s, weir_flowfile *ff, const char *key,
                               const char *value)
{
    return weir_flow_session_put_attr_n(s, ff, key, value, strlen(value));
}

int weir_flow_session_remove_attr(weir_flow_session *s, weir_flowfile *ff, const char *key)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    if (strcmp(key, "uuid") == 0) {
        return WEIR_E_INVAL;
    }
    if (weir_flowfile_attr_get(ff, key) == NULL) {
        return 0;
    }
    int err = sess_keep_undo(s, r);
    if (err != 0) {
        return err;
    }
    (void)weir_flowfile_attr_remove(ff, key);
    r->flags |= F_ATTRS;
    return 0;
}

/* ---- routing ---- */

void weir_flow_session_transfer(weir_flow_session *s, weir_flowfile *ff, int rel_index)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    WEIR_ASSERT(rel_index >= 0 && (size_t)rel_index < s->p->rel_count);
    r->rel = rel_index;
}

void weir_flow_session_transfer_back(weir_flow_session *s, weir_flowfile *ff)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL && r->origin == ORIGIN_TAKEN);
    r->rel = REL_BACK;
}

void weir_flow_session_remove(weir_flow_session *s, weir_flowfile *ff)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    r->rel = REL_REMOVED;
}

void weir_flow_session_penalize(weir_flow_session *s, weir_flowfile *ff)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    r->flags |= F_PENALIZE;
}

static void sess_event_add(weir_flow_session *s, weir_flowfile *ff, uint8_t type,
                           const char *details)
{
    sess_rec *r = sess_find(s, ff);
    WEIR_ASSERT(r != NULL);
    if (type == WEIR_PROV_SEND) {
        r->flags |= F_SENT;
    }
    if (s->e->prov == NULL) {
        return;
    }
    if (weir_grow((void **)&s->events, &s->ev_cap, s->ev_count + 1, sizeof *s->events) != 0) {
        return; /* provenance is best effort under memory pressure */
    }
    s->events[s->ev_count++] =
        (sess_event){.rec = (uint32_t)(r - s->recs), .type = type, .detail = sess_str(s, details)};
}

void weir_flow_session_send(weir_flow_session *s, weir_flowfile *ff, const char *transit_uri)
{
    sess_event_add(s, ff, WEIR_PROV_SEND, transit_uri);
}

void weir_flow_session_route_event(weir_flow_session *s, weir_flowfile *ff, const char *details)
{
    sess_event_add(s, ff, WEIR_PROV_ROUTE, details);
}

size_t weir_flow_session_held(const weir_flow_session *s)
{
    return s->live;
}

weir_flow_ctx *weir_flow_session_ctx(const weir_flow_session *s)
{
    return s->p;
}

/* ---- commit ---- */

/* Where a record's FlowFile ends up: the first connection (or -1: it leaves
 * the flow). */
static int32_t sess_dest_of(const weir_flow_session *s, const sess_rec *r)
{
    if (r->rel == REL_BACK) {
        return r->src_conn;
    }
    if (r->rel == REL_REMOVED) {
        return -1;
    }
    const flow_rel *rel = &s->p->rels[r->rel];
    return rel->conn_count == 0 ? -1 : rel->conns[0];
}

/* The same, as sess_check worked it out for the commit. */
static int32_t sess_dest(const weir_flow_session *s, const sess_rec *r)
{
    WEIR_DEBUG_ASSERT(r->dest == sess_dest_of(s, r));
    (void)s;
    return r->dest;
}

static bool sess_is_new(const sess_rec *r)
{
    return r->origin != ORIGIN_TAKEN;
}

/* A new FlowFile that also ends in this session leaves no trace (NiFi). */
static bool sess_vanishes(const weir_flow_session *s, const sess_rec *r)
{
    return r->ff != NULL && sess_is_new(r) && sess_dest(s, r) < 0;
}

/* Checks the rules before a commit and works out every live record's
 * destination (sess_dest). */
static int sess_check(weir_flow_session *s)
{
    for (size_t i = 0; i < s->count; i++) {
        sess_rec *r = &s->recs[i];
        if (r->ff == NULL) {
            continue;
        }
        if (r->rel == REL_NONE) {
            char u[WEIR_UUID_STR_BYTES];
            weir_uuid_format(&r->ff->uuid, u);
            weir_log_error(s->e->env, "flow: %s: FlowFile %s was neither transferred nor removed",
                           s->p->name, u);
            return WEIR_E_INVAL;
        }
        r->dest = sess_dest_of(s, r);
    }
    return 0;
}

/* Fan-out: a FlowFile routed to a relationship with several connections
 * gets a clone per extra connection (NiFi: CLONE). Clones are pended after
 * the log commit; here they are made and logged. */

static int sess_make_fanout(weir_flow_session *s, sess_fanout **out, size_t *count_out)
{
    *out = NULL;
    *count_out = 0;
    size_t n = 0, cap = 0;
    sess_fanout *f = NULL;
    for (size_t i = 0; i < s->count; i++) {
        const sess_rec *r = &s->recs[i];
        if (r->ff == NULL || r->rel < 0) {
            continue;
        }
        const flow_rel *rel = &s->p->rels[r->rel];
        for (size_t k = 1; k < rel->conn_count; k++) {
            weir_flowfile *c = weir_flowfile_clone(s->e->env, flow_engine_id_next(s->e), r->ff);
            if (c == NULL || weir_grow((void **)&f, &cap, n + 1, sizeof *f) != 0) {
                weir_flowfile_free(c);
                for (size_t j = 0; j < n; j++) {
                    weir_flowfile_free(f[j].ff);
                }
                free(f);
                return WEIR_E_NOMEM;
            }
            f[n++] = (sess_fanout){c, (uint32_t)i, rel->conns[k]};
        }
    }
    *out = f;
    *count_out = n;
    return 0;
}

static void sess_log_records(weir_flow_session *s, const sess_fanout *fan, size_t fan_count)
{
    weir_ffrepo_batch *b = &s->e->batch;
    for (size_t i = 0; i < s->count; i++) {
        const sess_rec *r = &s->recs[i];
        if (r->ff == NULL || sess_vanishes(s, r)) {
            continue;
        }
        int32_t dest = sess_dest(s, r);
        if (dest < 0) {
            weir_ffrepo_batch_delete(b, r->ff->id); /* taken: was live */
        } else if (sess_is_new(r) || (r->flags & (F_ATTRS | F_CONTENT)) != 0) {
            weir_ffrepo_batch_put(b, (uint32_t)dest, r->ff);
        } else if (dest != r->src_conn) {
            weir_ffrepo_batch_move(b, r->ff->id, (uint32_t)dest);
        }
    }
    for (size_t i = 0; i < fan_count; i++) {
        weir_ffrepo_batch_put(b, (uint32_t)fan[i].conn, fan[i].ff);
    }
}

static int sess_uuids_room(weir_flow_engine *e, size_t n)
{
    return weir_grow((void **)&e->uuids, &e->uuid_cap, n, sizeof *e->uuids);
}

/* What a commit's provenance needs: the strings its events repeat,
 * interned once per commit (the processor's name, each relationship's,
 * "Auto-Terminated"), and the run of events being gathered: consecutive
 * events that differ only in their FlowFile are recorded in one call. */
typedef struct sess_prov_ctx {
    weir_prov_name component;
    weir_prov_name auto_terminated;
    weir_prov_name *rels; /* by relationship index */
    weir_prov_type run_type;
    int32_t run_rel;
    weir_prov_name run_why;
    size_t run_count; /* FlowFiles in s->run_ffs */
} sess_prov_ctx;

static void sess_prov_lost(weir_flow_session *s, int err)
{
    weir_log_warn(s->e->env, "flow: %s: provenance event lost: %s", s->p->name, weir_err_str(err));
}

/* Records the gathered run. */
static void sess_run_flush(weir_flow_session *s, sess_prov_ctx *n)
{
    if (n->run_count == 0) {
        return;
    }
    int err = weir_prov_record_ffs(s->e->prov, n->run_type, s->commit_ms, n->component,
                                   n->run_rel >= 0 ? n->rels[n->run_rel] : 0, n->run_why,
                                   s->run_ffs, n->run_count);
    if (err != 0) {
        sess_prov_lost(s, err);
    }
    n->run_count = 0;
}

/* An event of ff with no parents or children: rel is a relationship index
 * or -1; why an interned detail; details, when not NULL, this session's
 * text (written out as is, not part of a run). */
static void sess_prov(weir_flow_session *s, sess_prov_ctx *n, weir_prov_type type,
                      const weir_flowfile *ff, int32_t rel, weir_prov_name why, const char *details)
{
    if (n->run_count > 0 &&
        (details != NULL || n->run_type != type || n->run_rel != rel || n->run_why != why)) {
        sess_run_flush(s, n);
    }
    if (details == NULL &&
        weir_grow((void **)&s->run_ffs, &s->run_cap, n->run_count + 1, sizeof *s->run_ffs) == 0) {
        n->run_type = type;
        n->run_rel = rel;
        n->run_why = why;
        s->run_ffs[n->run_count++] = ff;
        return;
    }
    weir_prov_event ev = {.time_ms = s->commit_ms,
                          .type = type,
                          .flowfile = ff->uuid,
                          .size = ff->size,
                          .component = s->p->name,
                          .relationship = rel >= 0 ? s->p->rels[rel].name : NULL,
                          .details = details};
    int err = details != NULL ? weir_prov_record(s->e->prov, &ev, NULL)
                              : weir_prov_record_names(s->e->prov, &ev, n->component,
                                                       rel >= 0 ? n->rels[rel] : 0, why, NULL);
    if (err != 0) {
        sess_prov_lost(s, err);
    }
}

static void sess_prov_lineage(weir_flow_session *s, sess_prov_ctx *n, weir_prov_type type,
                              const weir_flowfile *ff, const weir_uuid *parents, uint32_t np,
                              const weir_uuid *children, uint32_t nc)
{
    sess_run_flush(s, n);
    weir_prov_event ev = {.time_ms = s->commit_ms,
                          .type = type,
                          .flowfile = ff->uuid,
                          .size = ff->size,
                          .parents = parents,
                          .parent_count = np,
                          .children = children,
                          .child_count = nc};
    int err = weir_prov_record_names(s->e->prov, &ev, n->component, 0, 0, NULL);
    if (err != 0) {
        sess_prov_lost(s, err);
    }
}

static void sess_prov_fork(weir_flow_session *s, sess_prov_ctx *names, const sess_rec *r)
{
    weir_flow_engine *e = s->e;
    size_t n = 0;
    for (uint32_t c = r->first_child; c != NO_REC; c = s->recs[c].next_sibling) {
        if (s->recs[c].ff != NULL && !sess_vanishes(s, &s->recs[c])) {
            if (sess_uuids_room(e, n + 2) != 0) {
                return;
            }
            e->uuids[1 + n++] = s->recs[c].ff->uuid;
        }
    }
    if (n == 0) {
        return;
    }
    e->uuids[0] = r->ff->uuid;
    sess_prov_lineage(s, names, WEIR_PROV_FORK, r->ff, e->uuids, 1, e->uuids + 1, (uint32_t)n);
}

static void sess_prov_origin(weir_flow_session *s, sess_prov_ctx *n, const sess_rec *r)
{
    weir_flow_engine *e = s->e;
    switch (r->origin) {
    case ORIGIN_CREATE:
        sess_prov(s, n, WEIR_PROV_CREATE, r->ff, -1, 0, NULL);
        break;
    case ORIGIN_RECEIVE:
        sess_prov(s, n, WEIR_PROV_RECEIVE, r->ff, -1, 0, sess_str_at(s, r->detail));
        break;
    case ORIGIN_JOIN:
        if (sess_uuids_room(e, r->join_count + 1) == 0) {
            for (uint32_t k = 0; k < r->join_count; k++) {
                e->uuids[k] =
                    s->recs[s->join_parents[r->parent + k]].key == NULL
                        ? (weir_uuid){{0}}
                        : ((const weir_flowfile *)s->recs[s->join_parents[r->parent + k]].key)
                              ->uuid;
            }
            e->uuids[r->join_count] = r->ff->uuid;
            sess_prov_lineage(s, n, WEIR_PROV_JOIN, r->ff, e->uuids, r->join_count,
                              e->uuids + r->join_count, 1);
        }
        break;
    case ORIGIN_CLONE: {
        weir_uuid u[2] = {((const weir_flowfile *)s->recs[r->parent].key)->uuid, r->ff->uuid};
        sess_prov_lineage(s, n, WEIR_PROV_CLONE, (const weir_flowfile *)s->recs[r->parent].key, u,
                          1, u + 1, 1);
        break;
    }
    default:
        break;
    }
}

/* Provenance of the whole session, in record order (before anything is
 * freed: parents may be removed in this very session). Every event of one
 * commit carries the commit's time (NiFi stamps them at commit too). */
static void sess_provenance(weir_flow_session *s, const sess_fanout *fan, size_t fan_count,
                            sess_prov_ctx *n)
{
    s->commit_ms = weir_wall_ms(s->e->env);
    for (size_t i = 0; i < s->count; i++) {
        const sess_rec *r = &s->recs[i];
        if (r->ff == NULL || sess_vanishes(s, r)) {
            continue;
        }
        sess_prov_origin(s, n, r);
        if (r->first_child != NO_REC) {
            sess_prov_fork(s, n, r);
        }
        if (r->origin == ORIGIN_TAKEN && (r->flags & F_CONTENT) != 0) {
            sess_prov(s, n, WEIR_PROV_CONTENT_MODIFIED, r->ff, -1, 0, NULL);
        } else if (r->origin == ORIGIN_TAKEN && (r->flags & F_ATTRS) != 0) {
            sess_prov(s, n, WEIR_PROV_ATTRIBUTES_MODIFIED, r->ff, -1, 0, NULL);
        }
    }
    for (size_t i = 0; i < s->ev_count; i++) {
        const sess_event *ev = &s->events[i];
        const sess_rec *r = &s->recs[ev->rec];
        if (r->ff == NULL || sess_vanishes(s, r)) {
            continue;
        }
        int32_t rel = (ev->type == WEIR_PROV_ROUTE && r->rel >= 0) ? r->rel : -1;
        sess_prov(s, n, (weir_prov_type)ev->type, r->ff, rel, 0, sess_str_at(s, ev->detail));
    }
    for (size_t i = 0; i < fan_count; i++) {
        const weir_flowfile *orig = s->recs[fan[i].rec].ff;
        weir_uuid u[2] = {orig->uuid, fan[i].ff->uuid};
        sess_prov_lineage(s, n, WEIR_PROV_CLONE, orig, u, 1, u + 1, 1);
    }
    for (size_t i = 0; i < s->count; i++) {
        const sess_rec *r = &s->recs[i];
        if (r->ff == NULL || sess_vanishes(s, r) || sess_dest(s, r) >= 0) {
            continue;
        }
        weir_prov_name why = r->rel == REL_REMOVED ? 0 : n->auto_terminated;
        sess_prov(s, n, WEIR_PROV_DROP, r->ff, r->rel >= 0 ? r->rel : -1, why, NULL);
    }
    sess_run_flush(s, n);
}

/* Interns the commit's names into n (rels: room for rel_count). */
static int sess_prov_ctx_make(weir_flow_session *s, sess_prov_ctx *n)
{
    weir_prov_repo *prov = s->e->prov;
    int err = weir_prov_intern(prov, s->p->name, &n->component);
    if (err == 0) {
        err = weir_prov_intern(prov, "Auto-Terminated", &n->auto_terminated);
    }
    for (size_t i = 0; err == 0 && i < s->p->rel_count; i++) {
        err = weir_prov_intern(prov, s->p->rels[i].name, &n->rels[i]);
    }
    return err;
}

/* Applies a committed session: counters, queues, frees. Cannot fail. */
static void sess_apply(weir_flow_session *s, sess_fanout *fan, size_t fan_count)
{
    weir_flow_engine *e = s->e;
    weir_flow_ctx *p = s->p;
    int64_t now = weir_now_ns(e->env);
    sess_undo_drop(s);
    for (size_t i = 0; i < s->count; i++) {
        sess_rec *r = &s->recs[i];
        if (r->ff == NULL) {
            continue;
        }
        weir_flowfile_free(r->undo);
        r->undo = NULL;
        bool vanishes = sess_vanishes(s, r);
        int32_t dest = sess_dest(s, r);
        if (r->origin == ORIGIN_TAKEN) {
            p->stats.taken++;
        } else if (!vanishes) {
            if (r->origin == ORIGIN_RECEIVE) {
                e->counters.received++;
            } else {
                e->counters.created++;
            }
        }
        if (dest < 0) {
            if (!vanishes) {
                bool sent = (r->flags & F_SENT) != 0;
                if (sent) {
                    e->counters.sent++;
                } else {
                    e->counters.dropped++;
                }
                flow_engine_observe_end(e, r->ff,
                                        sent ? WEIR_FLOW_END_SENT : WEIR_FLOW_END_DROPPED);
            }
            continue; /* freed below, after every record was looked at */
        }
        if ((r->flags & F_PENALIZE) != 0) {
            r->ff->penalty_expiry_ns = now + p->penalty_ns;
        }
        if (r->rel != REL_BACK) {
            p->stats.transferred++;
        }
        int err = flow_conn_pend(e, e->conns[dest], r->ff);
        WEIR_ASSERT(err == 0); /* after the log commit there is no way back */
        r->ff = NULL;
    }
    for (size_t i = 0; i < s->count; i++) {
        if (s->recs[i].ff != NULL) {
            weir_flowfile_free(s->recs[i].ff);
            s->recs[i].ff = NULL;
        }
    }
    for (size_t i = 0; i < fan_count; i++) {
        e->counters.created++;
        p->stats.transferred++;
        int err = flow_conn_pend(e, e->conns[fan[i].conn], fan[i].ff);
        WEIR_ASSERT(err == 0);
    }
    e->counters.in_flight -= s->taken;
}

/* Sources waiting on queues this session drained get another look. */
static void sess_wake_upstream(weir_flow_session *s)
{
    weir_flow_engine *e = s->e;
    for (size_t i = 0; i < s->polled_count; i++) {
        flow_conn *c = e->conns[s->polled[i]];
        weir_flow_ctx *src = e->procs[c->src];
        if (src->bp_blocked && !weir_flow_queue_is_full(c->q)) {
            flow_sched_wake(src);
        }
    }
}

/* ---- the commit group (engine_internal.h) ---- */

/* Bounds of a group: it is flushed when one is reached, or when the pump
 * has nothing more to trigger (or its turn is over). Sessions and bytes
 * bound the memory a group holds back. The age adapts: a group gathers for
 * as long as the last flush took (within [MIN, MAX]), so at least about
 * half the time goes to work when fsync is slow, and a fast disk keeps the
 * added latency small. */
#define GROUP_SESSIONS_MAX 64
#define GROUP_BYTES_MAX (8u << 20)
#define GROUP_AGE_NS_MIN (1LL * 1000 * 1000)
#define GROUP_AGE_NS_MAX (20LL * 1000 * 1000)

static void sess_fan_free(sess_fanout *fan, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        weir_flowfile_free(fan[i].ff);
    }
    free(fan);
}

/* Adds sign x what s will put into each connection to the connections'
 * staged counts (back pressure sees them while s waits in the group). */
static void sess_count_staged(weir_flow_session *s, int sign)
{
    weir_flow_engine *e = s->e;
    for (size_t i = 0; i < s->count; i++) {
        const sess_rec *r = &s->recs[i];
        int32_t dest = r->ff != NULL ? sess_dest(s, r) : -1;
        if (dest >= 0) {
            flow_conn *c = e->conns[dest];
            c->staged_count += (uint64_t)(int64_t)sign;
            c->staged_bytes += (uint64_t)(sign * (int64_t)r->ff->size);
        }
    }
    for (size_t i = 0; i < s->fan_count; i++) {
        flow_conn *c = e->conns[s->fan[i].conn];
        c->staged_count += (uint64_t)(int64_t)sign;
        c->staged_bytes += (uint64_t)(sign * (int64_t)s->fan[i].ff->size);
    }
}

/* A session of a flushed (or failed) group that had been the processor's
 * main one goes to its spares; any other stays its owner's. */
static void sess_recycle(weir_flow_session *s)
{
    weir_flow_ctx *p = s->p;
    if (!s->detached) {
        return;
    }
    s->detached = false;
    WEIR_ASSERT(flow_session_is_empty(s) && s != p->main);
    if (weir_grow((void **)&p->spare, &p->spare_cap, p->spare_count + 1, sizeof *p->spare) == 0) {
        p->spare[p->spare_count++] = s;
    } else {
        flow_session_free(s, false);
    }
}

/* Checks s, makes its fan-out clones and adds its log records to the
 * group's batch; s joins the group (held: to wait beyond this call, its
 * output counted for back pressure). On an error nothing joined: s is as
 * it was. */
static int sess_stage(weir_flow_session *s, bool held)
{
    weir_flow_engine *e = s->e;
    WEIR_ASSERT(!s->staged && !e->group_flushing);
    int err = sess_check(s);
    if (err == 0) {
        err = weir_grow((void **)&e->group, &e->group_cap, e->group_count + 1, sizeof *e->group);
    }
    sess_fanout *fan = NULL;
    size_t fan_count = 0;
    if (err == 0) {
        err = sess_make_fanout(s, &fan, &fan_count);
    }
    if (err != 0) {
        return err;
    }
    if (e->ffrepo != NULL) {
        weir_ffrepo_batch *b = &e->batch;
        if (e->group_count == 0) {
            weir_ffrepo_batch_reset(b);
            e->group_start_ns = weir_now_ns(e->env);
        }
        size_t len = b->len;
        uint32_t records = b->records;
        sess_log_records(s, fan, fan_count);
        if (b->err != 0) {
            /* out of memory: take this session's records back out */
            err = b->err;
            b->len = len;
            b->records = records;
            b->err = 0;
            sess_fan_free(fan, fan_count);
            return err;
        }
    }
    s->fan = fan;
    s->fan_count = fan_count;
    s->staged = true;
    s->held = held;
    s->p->staged++;
    if (held) {
        sess_count_staged(s, 1);
    }
    e->group[e->group_count++] = s;
    return 0;
}

/* Leaves the group without being applied (a failed flush). */
static void sess_unstage(weir_flow_session *s)
{
    WEIR_ASSERT(s->staged && s->p->staged > 0);
    if (s->held) {
        sess_count_staged(s, -1);
    }
    sess_fan_free(s->fan, s->fan_count);
    s->fan = NULL;
    s->fan_count = 0;
    s->staged = false;
    s->p->staged--;
}

/* Provenance of a session of a flushed group. */
static void sess_record_provenance(weir_flow_session *s)
{
    weir_prov_name rels[64];
    sess_prov_ctx n = {.rels = rels};
    if (s->p->rel_count > 64) {
        n.rels = malloc(s->p->rel_count * sizeof *n.rels);
    }
    int perr = n.rels == NULL ? WEIR_E_NOMEM : sess_prov_ctx_make(s, &n);
    if (perr == 0) {
        sess_provenance(s, s->fan, s->fan_count, &n);
    } else {
        weir_log_warn(s->e->env, "flow: %s: provenance events lost: %s", s->p->name,
                      weir_err_str(perr));
    }
    if (n.rels != rels) {
        free(n.rels);
    }
}

/* Applies a session of a flushed group: its FlowFiles become visible. */
static void sess_publish(weir_flow_session *s)
{
    weir_flow_engine *e = s->e;
    WEIR_ASSERT(s->staged);
    if (s->held) {
        sess_count_staged(s, -1);
    }
    sess_apply(s, s->fan, s->fan_count);
    free(s->fan); /* the clones are queued now */
    s->fan = NULL;
    s->fan_count = 0;
    s->staged = false;
    s->p->staged--;
    e->counters.commits++;
    flow_engine_offer_pending(e);
    sess_wake_upstream(s);
    sess_reset(s);
}

/* A failed flush: every session leaves the group; all but own are rolled
 * back as a failed trigger's would be. */
static void sess_group_fail(weir_flow_engine *e, weir_flow_session *own, int err)
{
    weir_log_error(e->env, "flow: %zu session(s) not committed: the log write failed: %s",
                   e->group_count, weir_err_str(err));
    for (size_t i = 0; i < e->group_count; i++) {
        weir_flow_session *s = e->group[i];
        sess_unstage(s);
        if (s != own) {
            weir_flow_session_rollback(s, true);
            s->p->stats.failures++;
            weir_flow_ctx_yield(s->p);
            sess_recycle(s);
        }
    }
    e->group_count = 0;
}

void flow_group_abandon(weir_flow_engine *e)
{
    for (size_t i = 0; i < e->group_count; i++) {
        weir_flow_session *s = e->group[i];
        if (s->detached) {
            flow_session_free(s, true); /* nobody else holds it */
        }
    }
    e->group_count = 0;
}

bool flow_group_pending(const weir_flow_engine *e)
{
    return e->group_count > 0 || (e->ffrepo != NULL && e->expired_count > 0);
}

bool flow_group_due(const weir_flow_engine *e)
{
    if (e->group_count == 0) {
        return false;
    }
    int64_t age_max = e->group_flush_ns_last;
    age_max = age_max < GROUP_AGE_NS_MIN ? GROUP_AGE_NS_MIN : age_max;
    age_max = age_max > GROUP_AGE_NS_MAX ? GROUP_AGE_NS_MAX : age_max;
    return e->group_count >= GROUP_SESSIONS_MAX || e->batch.len >= GROUP_BYTES_MAX ||
           weir_now_ns(e->env) - e->group_start_ns >= age_max;
}

int flow_group_flush(weir_flow_engine *e, weir_flow_session *own)
{
    if (e->group_count == 0 && e->expired_count == 0) {
        return 0;
    }
    WEIR_ASSERT(!e->group_flushing);
    e->group_flushing = true;
    int err = 0;
    if (e->ffrepo != NULL) {
        if (e->group_count == 0) {
            weir_ffrepo_batch_reset(&e->batch);
        }
        flow_engine_expired_to_batch(e);
        int64_t t0 = weir_now_ns(e->env);
        err = weir_ffrepo_commit(e->ffrepo, &e->batch); /* one write, one fsync */
        e->group_flush_ns_last = weir_now_ns(e->env) - t0;
    }
    if (err != 0) {
        sess_group_fail(e, own, err); /* the expirations wait for the next flush */
        e->group_flushing = false;
        return err;
    }
    /* durable: provenance first (as a single commit did), then the queues */
    for (size_t i = 0; e->prov != NULL && i < e->group_count; i++) {
        sess_record_provenance(e->group[i]);
    }
    flow_engine_expired_finish(e);
    if (e->prov != NULL) {
        int perr = weir_prov_flush(e->prov);
        if (perr != 0) {
            weir_log_warn(e->env, "flow: provenance not written: %s", weir_err_str(perr));
        }
    }
    for (size_t i = 0; i < e->group_count; i++) {
        weir_flow_session *s = e->group[i];
        sess_publish(s);
        sess_recycle(s);
    }
    e->group_count = 0;
    e->group_flushing = false;
    return 0;
}

int flow_session_commit_grouped(weir_flow_session *s)
{
    if (s->e->ffrepo == NULL) {
        return weir_flow_session_commit(s);
    }
    if (flow_session_is_empty(s)) {
        /* nothing to log; expirations are recorded by the pump's flush */
        sess_wake_upstream(s);
        sess_reset(s);
        return 0;
    }
    int err = sess_stage(s, true);
    weir_flow_ctx *p = s->p;
    if (err != 0 || s != p->main) {
        return err;
    }
    /* the processor goes on with a fresh main session while s waits */
    weir_flow_session *fresh =
        p->spare_count > 0 ? p->spare[--p->spare_count] : flow_session_new(p);
    if (fresh == NULL) {
        /* s lands now instead: applied, or rolled back with its group */
        weir_ignore(flow_group_flush(s->e, NULL));
        return 0;
    }
    s->detached = true;
    p->main = fresh;
    return 0;
}

int weir_flow_session_commit(weir_flow_session *s)
{
    weir_flow_engine *e = s->e;
    if (flow_session_is_empty(s) && e->expired_count == 0) {
        sess_wake_upstream(s);
        sess_reset(s);
        return 0;
    }
    int err = sess_stage(s, false);
    if (err != 0) {
        return err;
    }
    return flow_group_flush(e, s);
}

void weir_flow_session_rollback(weir_flow_session *s, bool penalize)
{
    weir_flow_engine *e = s->e;
    WEIR_ASSERT(!s->staged); /* a session in the group is the engine's */
    int64_t now = weir_now_ns(e->env);
    weir_flow_ctx *p = s->p;
    sess_undo_all(s);
    /* requeue, grouped per source connection, in record order */
    for (size_t i = 0; i < s->count; i++) {
        sess_rec *r = &s->recs[i];
        if (r->ff == NULL) {
            continue;
        }
        if (r->origin != ORIGIN_TAKEN) {
            weir_flowfile_free(r->ff);
            r->ff = NULL;
            continue;
        }
        weir_flowfile *back = r->ff;
        if (r->undo != NULL) {
            weir_flowfile_free(r->ff);
            back = r->undo;
            r->undo = NULL;
        }
        if (penalize) {
            back->penalty_expiry_ns = now + p->penalty_ns;
        }
        r->ff = NULL;
        int err = flow_conn_pend(e, e->conns[r->src_conn], back);
        WEIR_ASSERT(err == 0);
    }
    for (size_t t = 0; t < e->touched_count; t++) {
        flow_conn *c = e->touched[t];
        size_t taken = 0;
        int err = weir_flow_queue_requeue(c->q, c->pending, c->pending_count, &taken);
        WEIR_ASSERT(err == 0 && taken == c->pending_count);
        c->pending_count = 0;
        c->touched = false;
        flow_sched_wake(e->procs[c->dst]);
    }
    e->touched_count = 0;
    e->counters.in_flight -= s->taken;
    e->counters.rollbacks++;
    if (e->expired_count > 0) {
        weir_ignore(flow_engine_expired_flush(e));
    }
    sess_reset(s);
}

void weir_flow_session_close(weir_flow_session *s)
{
    if (s == NULL) {
        return;
    }
    weir_flow_ctx *p = s->p;
    if (!flow_session_is_empty(s) && !p->abandoning) {
        weir_flow_session_rollback(s, false);
    }
    s->waiting = false; /* a spare waits for nothing */
    for (size_t i = 0; i < p->open_count; i++) {
        if (p->open[i] == s) {
            p->open[i] = p->open[--p->open_count];
            break;
        }
    }
    if (p->abandoning) {
        flow_session_free(s, true);
        return;
    }
    if (weir_grow((void **)&p->spare, &p->spare_cap, p->spare_count + 1, sizeof *p->spare) == 0) {
        p->spare[p->spare_count++] = s;
    } else {
        flow_session_free(s, false);
    }
}

weir_flow_session *weir_flow_ctx_session_open(weir_flow_ctx *p)
{
    weir_flow_session *s = p->spare_count > 0 ? p->spare[--p->spare_count] : flow_session_new(p);
    if (s == NULL) {
        return NULL;
    }
    if (weir_grow((void **)&p->open, &p->open_cap, p->open_count + 1, sizeof *p->open) != 0) {
        flow_session_free(s, false);
        return NULL;
    }
    p->open[p->open_count++] = s;
    return s;
}
