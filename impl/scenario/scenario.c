/* Scenario: the arena that owns a parsed scenario, the entry point that
 * runs libyaml over the text, lookups, variants and names.
 *
 * Invariant: everything a weir_scenario points to lives in its arena, so
 * weir_scenario_free is one walk over the arena's blocks, and a failed
 * parse leaves nothing behind.
 */
#include "scenario/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "scenario/scenario_internal.h"

#define SCN_ARENA_BLOCK_BYTES 16384

typedef struct scn_block {
    struct scn_block *next;
    size_t used;
    size_t size;
    max_align_t data[]; /* size bytes */
} scn_block;

struct weir_scn_arena {
    scn_block *head;
};

void *scn_alloc(weir_scenario *sc, size_t size)
{
    WEIR_ASSERT(sc->arena != NULL);
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0) {
        size = align;
    }
    scn_block *b = sc->arena->head;
    if (b == NULL || b->size - b->used < size) {
        size_t cap = size > SCN_ARENA_BLOCK_BYTES ? size : SCN_ARENA_BLOCK_BYTES;
        b = calloc(1, sizeof *b + cap);
        if (b == NULL) {
            return NULL;
        }
        b->size = cap;
        b->next = sc->arena->head;
        sc->arena->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    WEIR_ASSERT(b->used <= b->size);
    return p;
}

char *scn_strndup(weir_scenario *sc, const char *s, size_t len)
{
    char *p = scn_alloc(sc, len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* The reader's allocator (weir_ydoc.alloc): the scenario's arena. */
static void *scn_ydoc_alloc(void *owner, size_t size)
{
    return scn_alloc(owner, size);
}

void weir_scenario_free(weir_scenario *sc)
{
    if (sc == NULL) {
        return;
    }
    if (sc->arena != NULL) {
        scn_block *b = sc->arena->head;
        while (b != NULL) {
            scn_block *next = b->next;
            free(b);
            b = next;
        }
        free(sc->arena);
    }
    memset(sc, 0, sizeof *sc);
    sc->variant_index = -1;
}

int weir_scenario_parse(const char *text, size_t len, const char *file_name, weir_scenario *out,
                        char *why, size_t why_size)
{
    char why_local[256];
    memset(out, 0, sizeof *out);
    out->variant_index = -1;
    if (why == NULL || why_size == 0) {
        why = why_local;
        why_size = sizeof why_local;
    }
    why[0] = '\0';
    scn_ctx ctx = {.y = {.file = file_name != NULL ? file_name : "<scenario>",
                         .why = why,
                         .why_size = why_size,
                         .alloc = scn_ydoc_alloc,
                         .owner = out},
                   .sc = out};
    out->arena = calloc(1, sizeof *out->arena);
    if (out->arena == NULL) {
        return scn_nomem(&ctx);
    }
    int rc;
    out->file_name = scn_strndup(out, ctx.y.file, strlen(ctx.y.file));
    if (out->file_name == NULL) {
        rc = scn_nomem(&ctx);
        goto out_scenario;
    }
    yaml_document_t doc;
    bool loaded = false;
    rc = weir_ydoc_load(&ctx.y, text, len, &doc, &loaded,
                        "a scenario is a mapping (name, duration, ...)", "a scenario file");
    if (rc == 0) {
        ctx.y.doc = &doc;
        rc = scn_parse_document(&ctx, yaml_document_get_root_node(&doc));
    }
    if (loaded) {
        yaml_document_delete(&doc);
    }
out_scenario:
    if (rc != 0) {
        weir_scenario_free(out);
    }
    return rc;
}

int weir_scenario_use_variant(weir_scenario *sc, const char *name, char *why, size_t why_size)
{
    for (size_t i = 0; i < sc->variant_count; i++) {
        if (strcmp(sc->variants[i].name, name) == 0) {
            sc->broker_defaults = sc->variants[i].broker_defaults;
            sc->expect = sc->variants[i].expect;
            sc->variant_index = (int)i;
            return 0;
        }
    }
    if (why != NULL && why_size > 0) {
        size_t n =
            (size_t)snprintf(why, why_size, "%s: no variant named \"%s\"", sc->file_name, name);
        for (size_t i = 0; i < sc->variant_count && n < why_size; i++) {
            n += (size_t)snprintf(why + n, why_size - n, "%s%s", i == 0 ? " (variants: " : ", ",
                                  sc->variants[i].name);
        }
        if (n < why_size) {
            snprintf(why + n, why_size - n, "%s",
                     sc->variant_count > 0 ? ")" : " (the file has no variants)");
        }
    }
    return WEIR_E_NOENT;
}

const weir_scn_setting *scn_settings_find(const weir_scn_settings *s, const char *key)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->items[i].key, key) == 0) {
            return &s->items[i];
        }
    }
    return NULL;
}

const weir_scn_setting *weir_scenario_broker_setting(const weir_scenario *sc, size_t broker_index,
                                                     const char *key)
{
    WEIR_ASSERT(broker_index < sc->broker_count);
    const weir_scn_setting *s = scn_settings_find(&sc->brokers[broker_index].config, key);
    return s != NULL ? s : scn_settings_find(&sc->broker_defaults, key);
}

int weir_scenario_topic_min_isr(const weir_scenario *sc, size_t topic_index)
{
    WEIR_ASSERT(topic_index < sc->topic_count);
    if (sc->topics[topic_index].min_insync_replicas > 0) {
        return sc->topics[topic_index].min_insync_replicas;
    }
    const weir_scn_setting *s = scn_settings_find(&sc->broker_defaults, "min.insync.replicas");
    return s != NULL ? (int)s->number : 1;
}

bool weir_scenario_topic_unclean(const weir_scenario *sc, size_t topic_index)
{
    WEIR_ASSERT(topic_index < sc->topic_count);
    const char *key = "unclean.leader.election.enable";
    const weir_scn_setting *s = scn_settings_find(&sc->topics[topic_index].config, key);
    if (s == NULL) {
        s = scn_settings_find(&sc->broker_defaults, key);
    }
    return s != NULL && s->number != 0;
}

int weir_scenario_host_find(const weir_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->host_count; i++) {
        if (strcmp(sc->hosts[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int weir_scenario_broker_find(const weir_scenario *sc, int32_t id)
{
    for (size_t i = 0; i < sc->broker_count; i++) {
        if (sc->brokers[i].id == id) {
            return (int)i;
        }
    }
    return -1;
}

int weir_scenario_topic_find(const weir_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->topic_count; i++) {
        if (strcmp(sc->topics[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int weir_scenario_producer_find(const weir_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->producer_count; i++) {
        if (strcmp(sc->producers[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int weir_scenario_flow_find(const weir_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->flow_count; i++) {
        if (strcmp(sc->flows[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int64_t weir_scenario_last_fault_end_ns(const weir_scenario *sc)
{
    int64_t end = 0;
    for (size_t i = 0; i < sc->fault_count; i++) {
        int64_t e = sc->faults[i].at_ns + sc->faults[i].duration_ns;
        end = e > end ? e : end;
    }
    return end;
}

const char *weir_scn_fault_kind_name(weir_scn_fault_kind kind)
{
    switch (kind) {
    case WEIR_SCN_PAUSE:
        return "pause";
    case WEIR_SCN_RESET:
        return "reset";
    case WEIR_SCN_PARTITION:
        return "partition";
    case WEIR_SCN_CLOCK:
        return "clock";
    case WEIR_SCN_DISK_FULL:
        return "disk_full";
    case WEIR_SCN_FSYNC_ERROR:
        return "fsync_error";
    case WEIR_SCN_BIT_FLIP:
        return "bit_flip";
    case WEIR_SCN_FAULT_KINDS_:
        break;
    case WEIR_SCN_CRASH:
        return "crash";
    case WEIR_SCN_RESTART:
        return "restart";
    case WEIR_SCN_CLEAN_SHUTDOWN:
        return "clean_shutdown";
    case WEIR_SCN_CUT:
        return "cut";
    case WEIR_SCN_HEAL:
        return "heal";
    case WEIR_SCN_ISOLATE:
        return "isolate";
    case WEIR_SCN_SLOW_LINK:
        return "slow_link";
    case WEIR_SCN_SLOW_DISK:
        return "slow_disk";
    }
    return "?";
}

const char *weir_scn_action_kind_name(weir_scn_action_kind kind)
{
    static const char *const names[WEIR_SCN_ACT_KINDS_] = {
        [WEIR_SCN_ACT_START] = "start",
        [WEIR_SCN_ACT_STOP] = "stop",
        [WEIR_SCN_ACT_THRESHOLD] = "threshold",
        [WEIR_SCN_ACT_PRIORITIZERS] = "prioritizers",
        [WEIR_SCN_ACT_EXPIRATION] = "expiration",
        [WEIR_SCN_ACT_SET_PARAMETER] = "set_parameter",
    };
    return (unsigned)kind < WEIR_SCN_ACT_KINDS_ ? names[kind] : "?";
}

const char *weir_scn_violation_name(weir_scn_violation_kind kind)
{
    static const char *const names[WEIR_SCN_V_COUNT_] = {
        [WEIR_SCN_V_ACKED_LOSS] = "acked_loss",       [WEIR_SCN_V_DIVERGENCE] = "divergence",
        [WEIR_SCN_V_DUPLICATE] = "duplicate",         [WEIR_SCN_V_REORDER] = "reorder",
        [WEIR_SCN_V_READ_ABOVE_HW] = "read_above_hw", [WEIR_SCN_V_HW_ABOVE_LEO] = "hw_above_leo",
        [WEIR_SCN_V_OFFSET_GAP] = "offset_gap",
        [WEIR_SCN_V_INCONSISTENT_OFFSETS] = "inconsistent_offsets",
        [WEIR_SCN_V_POLL_SKIP] = "poll_skip",
        [WEIR_SCN_V_NONMONOTONIC_POLL] = "nonmonotonic_poll",
        [WEIR_SCN_V_REREAD_BEYOND_COMMIT] = "reread_beyond_commit",
        [WEIR_SCN_V_ABORTED_READ] = "aborted_read",
        [WEIR_SCN_V_TORN_TRANSACTION] = "torn_transaction",
        [WEIR_SCN_V_NOT_EXACTLY_ONCE] = "not_exactly_once",
    };
    return (unsigned)kind < WEIR_SCN_V_COUNT_ ? names[kind] : "?";
}
