/* Schedules as scenario text: one flow-style YAML entry per fault, and the
 * scenario file rewritten around a schedule. The file's own text is kept
 * (comments included); only its top-level seed, faults and expect blocks
 * are replaced, so the result reads like the file it came from. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"

/* "12.345s" for whole ms, "12s" for whole seconds. */
static void fmt_time(char *buf, size_t size, int64_t ns)
{
    int64_t ms = ns / 1000000;
    if (ms % 1000 == 0) {
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    } else {
        snprintf(buf, size, "%" PRId64 "ms", ms);
    }
}

static void fmt_jump(char *buf, size_t size, int64_t ns)
{
    buf[0] = '-';
    fmt_time(buf + (ns < 0), size - 1, ns < 0 ? -ns : ns);
}

static void fmt_target(char *buf, size_t size, const weir_scenario *sc, const weir_scn_target *t)
{
    if (t->host_index >= 0) {
        snprintf(buf, size, "%s", sc->hosts[t->host_index].name);
    } else if (t->topic_index >= 0) {
        snprintf(buf, size, "leader(%s/%d)", sc->topics[t->topic_index].name, (int)t->partition);
    } else {
        snprintf(buf, size, "all");
    }
}

void weir_chaos_fault_yaml(const weir_scenario *sc, const weir_scn_fault *f, char *buf, size_t size)
{
    char at[32], a[WEIR_SCN_TOPIC_MAX + 16], b[WEIR_SCN_TOPIC_MAX + 16], extra[160] = "";
    fmt_time(at, sizeof at, f->at_ns);
    fmt_target(a, sizeof a, sc, &f->a);
    fmt_target(b, sizeof b, sc, &f->b);
    const char *kind = weir_scn_fault_kind_name(f->kind);
    char what[600];
    switch (f->kind) {
    case WEIR_SCN_CUT:
    case WEIR_SCN_HEAL:
        snprintf(what, sizeof what, "%s: %s %s %s", kind, a, f->one_way ? "->" : "<->", b);
        break;
    case WEIR_SCN_RESET:
    case WEIR_SCN_SLOW_LINK:
        if (f->b.host_index >= 0) {
            snprintf(what, sizeof what, "%s: %s <-> %s", kind, a, b);
        } else {
            snprintf(what, sizeof what, "%s: %s", kind, a);
        }
        break;
    case WEIR_SCN_PARTITION: {
        size_t n = (size_t)snprintf(what, sizeof what, "partition: [");
        for (int g = 0; g < f->group_count && n < sizeof what; g++) {
            n += (size_t)snprintf(what + n, sizeof what - n, "%s[", g ? ", " : "");
            bool first = true;
            for (size_t h = 0; h < sc->host_count && n < sizeof what; h++) {
                if ((f->groups[g] >> h) & 1) {
                    n += (size_t)snprintf(what + n, sizeof what - n, "%s%s", first ? "" : ", ",
                                          sc->hosts[h].name);
                    first = false;
                }
            }
            n += (size_t)snprintf(what + n, sizeof what - n, "]");
        }
        if (n < sizeof what) {
            snprintf(what + n, sizeof what - n, "]");
        }
        break;
    }
    default:
        snprintf(what, sizeof what, "%s: %s", kind, a);
        break;
    }
    size_t e = 0;
    if (f->kind == WEIR_SCN_SLOW_LINK && f->latency_ns >= 0) {
        char t[32];
        fmt_time(t, sizeof t, f->latency_ns);
        e += (size_t)snprintf(extra + e, sizeof extra - e, ", latency: %s", t);
    }
    if (f->kind == WEIR_SCN_SLOW_LINK && f->bandwidth_bps > 0) {
        e += (size_t)snprintf(extra + e, sizeof extra - e, ", bandwidth: %.0fBps", f->bandwidth_bps);
    }
    if (f->kind == WEIR_SCN_SLOW_DISK) {
        if (f->write_bps > 0) {
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", write: %.0fBps", f->write_bps);
        }
        if (f->read_bps > 0) {
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", read: %.0fBps", f->read_bps);
        }
        if (f->fsync_ns >= 0) {
            char t[32];
            fmt_time(t, sizeof t, f->fsync_ns);
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", fsync: %s", t);
        }
    }
    if (f->kind == WEIR_SCN_CRASH && f->torn) {
        e += (size_t)snprintf(extra + e, sizeof extra - e, ", torn: true");
    }
    if (f->kind == WEIR_SCN_CLOCK) {
        char t[32];
        if (f->wall_ns != 0) {
            fmt_jump(t, sizeof t, f->wall_ns);
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", wall: %s", t);
        }
        if (f->monotonic_ns != 0) {
            fmt_jump(t, sizeof t, f->monotonic_ns);
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", monotonic: %s", t);
        }
        if (f->rate > 0) {
            e += (size_t)snprintf(extra + e, sizeof extra - e, ", rate: %.3f", f->rate);
        }
    }
    if (f->kind == WEIR_SCN_BIT_FLIP) {
        static const char *const files[] = {"any", "log", "index"};
        e += (size_t)snprintf(extra + e, sizeof extra - e, ", files: %s", files[f->files]);
    }
    if (f->duration_ns > 0 && e < sizeof extra) {
        char t[32];
        fmt_time(t, sizeof t, f->duration_ns);
        snprintf(extra + e, sizeof extra - e, ", duration: %s", t);
    }
    snprintf(buf, size, "{ at: %s, %s%s }", at, what, extra);
}

/* ---- the scenario text ---- */

typedef struct textbuf {
    char *data;
    size_t len, cap;
    bool failed;
} textbuf;

static void tb_add(textbuf *tb, const char *s, size_t n)
{
    if (tb->failed) {
        return;
    }
    if (tb->len + n + 1 > tb->cap) {
        size_t cap = (tb->len + n + 1) * 2;
        char *grown = realloc(tb->data, cap);
        if (grown == NULL) {
            tb->failed = true;
            return;
        }
        tb->data = grown;
        tb->cap = cap;
    }
    memcpy(tb->data + tb->len, s, n);
    tb->len += n;
    tb->data[tb->len] = '\0';
}

static void tb_printf(textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(textbuf *tb, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tb_add(tb, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

/* A top-level key line: "name:" at column 1. */
static bool top_key(const char *line, size_t n, char *key, size_t key_size)
{
    size_t i = 0;
    while (i < n && (line[i] == '_' || line[i] == '.' || line[i] == '-' ||
                     (line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z') ||
                     (line[i] >= '0' && line[i] <= '9'))) {
        i++;
    }
    if (i == 0 || i >= n || line[i] != ':' || i >= key_size) {
        return false;
    }
    memcpy(key, line, i);
    key[i] = '\0';
    return true;
}

/* A YAML double-quoted scalar. */
static void tb_quoted(textbuf *tb, const char *v)
{
    tb_add(tb, "\"", 1);
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\') {
            tb_printf(tb, "\\%c", c);
        } else if (c == '\n') {
            tb_add(tb, "\\n", 2);
        } else if (c == '\t') {
            tb_add(tb, "\\t", 2);
        } else if (c < 0x20) {
            tb_printf(tb, "\\x%02x", c);
        } else {
            tb_add(tb, (const char *)&c, 1);
        }
    }
    tb_add(tb, "\"", 1);
}

/* Provenance recounting (flow_conserved) needs every event: after a stop of
 * the flow's host, only a synced provenance repository has them. */
static bool provenance_survives(const weir_scenario *sc, const weir_chaos_schedule *s)
{
    for (size_t i = 0; i < sc->flow_count; i++) {
        const weir_scn_flow *f = &sc->flows[i];
        if (f->provenance == WEIR_SCN_PROV_REPOSITORY && f->provenance_sync) {
            continue;
        }
        for (size_t j = 0; j < s->count; j++) {
            const weir_scn_fault *x = &s->faults[j];
            if ((x->kind == WEIR_SCN_CRASH || x->kind == WEIR_SCN_CLEAN_SHUTDOWN) &&
                x->a.host_index == f->host_index) {
                return false;
            }
        }
    }
    return true;
}

/* The expectations that hold under any schedule: the scenario's own
 * loss and delivery checks, and the liveness bound where it can judge. */
static void write_expect(textbuf *tb, const weir_scenario *sc, const weir_chaos_schedule *s,
                         int64_t recover_ns)
{
    const weir_scn_expect *e = &sc->expect;
    bool recover = recover_ns > 0 && sc->broker_count > 0 && s->count > 0;
    bool conserved = e->flow_conserved && provenance_survives(sc, s);
    bool any = e->no_acked_loss || e->consumers_read_all_acked || recover || e->flow_no_loss ||
               conserved || e->flow_delivers_count > 0;
    tb_printf(tb, "expect:%s\n", any ? "" : " {}");
    if (e->no_acked_loss) {
        tb_printf(tb, "  no_acked_loss: true\n");
    }
    if (e->consumers_read_all_acked) {
        tb_printf(tb, "  consumers_read_all_acked: true\n");
    }
    if (recover) {
        char t[32];
        fmt_time(t, sizeof t, recover_ns);
        tb_printf(tb, "  recovers_within: %s\n", t);
    }
    if (e->flow_no_loss) {
        tb_printf(tb, "  flow_no_loss: true\n");
    }
    if (conserved) {
        tb_printf(tb, "  flow_conserved: true\n");
    }
    if (e->flow_delivers_count > 0) {
        tb_printf(tb, "  flow_delivers:\n");
    }
    for (int i = 0; i < e->flow_delivers_count; i++) {
        const weir_scn_flow_delivers *d = &e->flow_delivers[i];
        tb_printf(tb, "    - { flow: %s, from: %s, to: %s, demarcator: ", sc->flows[d->flow_index].name,
                  sc->topics[d->from_topic].name, sc->topics[d->to_topic].name);
        tb_quoted(tb, d->demarcator != NULL ? d->demarcator : "");
        tb_printf(tb, " }\n");
    }
}

char *weir_chaos_scenario_text(const char *text, size_t len, const weir_scenario *sc, uint64_t seed,
                               const weir_chaos_schedule *s, int64_t recover_ns, const char *header,
                               char *why, size_t why_size)
{
    textbuf tb = {0};
    bool skipping = false, any_key = false;
    for (size_t at = 0; at < len;) {
        const char *line = text + at;
        const char *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) + 1 : len - at;
        at += n;
        char key[64];
        if (top_key(line, n, key, sizeof key)) {
            any_key = true;
            skipping = strcmp(key, "seed") == 0 || strcmp(key, "faults") == 0 || strcmp(key, "expect") == 0;
        } else if (n > 0 && line[0] == '{') {
            snprintf(why, why_size, "%s: chaos needs a block-style top level (key: value lines), not { ... }",
                     sc->file_name);
            free(tb.data);
            return NULL;
        } else if (skipping && n > 0 && line[0] == '#') {
            continue; /* comments of a replaced block go with it */
        }
        if (!skipping) {
            tb_add(&tb, line, n);
        }
    }
    if (!any_key) {
        snprintf(why, why_size, "%s: no top-level keys found", sc->file_name);
        free(tb.data);
        return NULL;
    }
    if (tb.len > 0 && tb.data[tb.len - 1] != '\n') {
        tb_add(&tb, "\n", 1);
    }
    tb_printf(&tb, "\n%s", header != NULL ? header : "");
    tb_printf(&tb, "seed: %" PRIu64 "\n", seed);
    tb_printf(&tb, "faults:%s\n", s->count == 0 ? " []" : "");
    for (size_t i = 0; i < s->count; i++) {
        char entry[900];
        weir_chaos_fault_yaml(sc, &s->faults[i], entry, sizeof entry);
        tb_printf(&tb, "  - %s\n", entry);
    }
    write_expect(&tb, sc, s, recover_ns);
    if (tb.failed) {
        snprintf(why, why_size, "out of memory");
        free(tb.data);
        return NULL;
    }
    return tb.data;
}
