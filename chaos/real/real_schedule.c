/* Fault kinds of `weir chaos --real` and random schedules from a seed.
 *
 * Swarm testing: each seed first picks a random non-empty subset of the
 * allowed kinds, then places faults of those kinds only, each chosen kind at
 * least once. A seed that leaves a kind out tests the others without its
 * noise, so different seeds reach different corners.
 *
 * Invariants of a schedule: every fault starts at or after 10 % of the
 * duration and heals by 60 % (the producers stop at 75 %); kill and skew
 * faults (the ones that take a broker down) never overlap each other, so at
 * most one broker is down at any time; faults are sorted by start time.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "real.h"

static const char *const kind_names[WEIR_REAL_KINDS_] = {"kill", "delay", "reset", "blackhole",
                                                         "skew"};

const char *weir_real_kind_name(weir_real_kind kind)
{
    return (unsigned)kind < WEIR_REAL_KINDS_ ? kind_names[kind] : "?";
}

int weir_real_kinds_parse(const char *text, unsigned *mask_out, char *why, size_t why_size)
{
    unsigned mask = 0;
    const char *p = text;
    while (true) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int k = 0; k < WEIR_REAL_KINDS_; k++) {
            if (n == strlen(kind_names[k]) && strncmp(p, kind_names[k], n) == 0) {
                found = k;
            }
        }
        if (found < 0) {
            char list[96];
            weir_real_kinds_format(WEIR_REAL_KINDS_ALL, list, sizeof list);
            if (n == 0) {
                snprintf(why, why_size, "--faults: empty fault kind in '%s' (kinds: %s)", text,
                         list);
            } else {
                snprintf(why, why_size, "--faults: unknown fault kind '%.*s' (kinds: %s)", (int)n,
                         p, list);
            }
            return WEIR_E_INVAL;
        }
        mask |= 1u << found;
        if (p[n] == '\0') {
            break;
        }
        p += n + 1;
    }
    *mask_out = mask;
    return 0;
}

void weir_real_kinds_format(unsigned mask, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < WEIR_REAL_KINDS_ && at < size; k++) {
        if (mask & (1u << k)) {
            at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? "," : "", kind_names[k]);
        }
    }
    if (at == 0) {
        snprintf(buf, size, "-");
    }
}

/* Uniform in [lo, hi] (hi < lo gives lo). */
static int64_t sch_between(weir_prng *r, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)weir_prng_below(r, (uint64_t)(hi - lo + 1));
}

static int64_t sch_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static bool sch_takes_broker_down(weir_real_kind k)
{
    return k == WEIR_REAL_KILL || k == WEIR_REAL_SKEW;
}

/* How long a fault of this kind lasts, scaled to the run; a broker kept
 * down or cut off sometimes outlasts the controller's session timeout (it is
 * fenced and its partitions move) and sometimes not. */
static int64_t sch_duration(weir_prng *r, weir_real_kind k, int64_t d, int64_t session_ns)
{
    switch (k) {
    case WEIR_REAL_KILL:
        return sch_between(r, sch_clamp(session_ns * 3 / 10, 500 * WEIR_REAL_MS, d / 10),
                           sch_clamp(session_ns * 2, 1 * WEIR_REAL_S, d * 3 / 10));
    case WEIR_REAL_BLACKHOLE:
        return sch_between(r, sch_clamp(session_ns / 10, 300 * WEIR_REAL_MS, d / 10),
                           sch_clamp(session_ns * 2, 1 * WEIR_REAL_S, d / 4));
    case WEIR_REAL_SKEW:
        return sch_between(r, sch_clamp(d / 10, 1 * WEIR_REAL_S, 10 * WEIR_REAL_S),
                           sch_clamp(d / 4, 2 * WEIR_REAL_S, 30 * WEIR_REAL_S));
    case WEIR_REAL_DELAY:
        return sch_between(r, sch_clamp(d / 20, 500 * WEIR_REAL_MS, 5 * WEIR_REAL_S),
                           sch_clamp(d / 5, 1 * WEIR_REAL_S, 30 * WEIR_REAL_S));
    case WEIR_REAL_RESET:
    default:
        return sch_between(r, sch_clamp(d / 20, 300 * WEIR_REAL_MS, 5 * WEIR_REAL_S),
                           sch_clamp(d * 3 / 20, 1 * WEIR_REAL_S, 15 * WEIR_REAL_S));
    }
}

/* The kind's own parameters and a target: a broker, or the leader of a
 * partition at the moment the fault fires (half the time). */
static void sch_details(weir_prng *r, const weir_scenario *sc, weir_real_fault *f)
{
    f->delay_ns = 0;
    f->reset_every_ns = 0;
    f->skew_s = 0;
    if (f->kind == WEIR_REAL_DELAY) {
        f->delay_ns = sch_between(r, 5, 250) * WEIR_REAL_MS;
    } else if (f->kind == WEIR_REAL_RESET) {
        f->reset_every_ns = sch_between(r, 200, 1000) * WEIR_REAL_MS;
    } else if (f->kind == WEIR_REAL_SKEW) {
        f->skew_s = sch_between(r, 1, 300) * (weir_prng_below(r, 2) ? 1 : -1);
    }
    f->broker_index = (int)weir_prng_below(r, sc->broker_count);
    f->topic_index = -1;
    f->partition = -1;
    if (sc->topic_count > 0 && weir_prng_below(r, 2) == 0) {
        f->broker_index = -1;
        f->topic_index = (int)weir_prng_below(r, sc->topic_count);
        f->partition = (int32_t)weir_prng_below(r, (uint64_t)sc->topics[f->topic_index].partitions);
    }
}

/* Places f (its duration set) in [lo, hi - duration] so that a fault taking
 * a broker down overlaps no other such fault (with a 500 ms gap); where it
 * does not fit, it is shortened (down to 500 ms) rather than dropped. */
static bool sch_place(weir_prng *r, const weir_real_schedule *s, weir_real_fault *f, int64_t lo,
                      int64_t hi)
{
    for (int attempt = 0; attempt < 192; attempt++) {
        if (attempt > 0 && attempt % 64 == 0 && f->duration_ns > 1000 * WEIR_REAL_MS) {
            f->duration_ns /= 2;
        }
        if (hi - f->duration_ns < lo) {
            f->duration_ns = (hi - lo) / 2; /* a short run: shrink rather than fail */
        }
        f->at_ns = sch_between(r, lo, hi - f->duration_ns);
        bool clash = false;
        for (int i = 0; i < s->count && sch_takes_broker_down(f->kind); i++) {
            const weir_real_fault *g = &s->faults[i];
            if (sch_takes_broker_down(g->kind) &&
                f->at_ns < g->at_ns + g->duration_ns + 500 * WEIR_REAL_MS &&
                g->at_ns < f->at_ns + f->duration_ns + 500 * WEIR_REAL_MS) {
                clash = true;
            }
        }
        if (!clash) {
            return true;
        }
    }
    return false;
}

void weir_real_schedule_make(const weir_scenario *sc, uint64_t seed, unsigned allowed,
                             int64_t duration_ns, weir_real_schedule *out)
{
    WEIR_ASSERT(sc->broker_count > 0);
    memset(out, 0, sizeof *out);
    weir_prng r;
    weir_prng_seed(&r, seed ^ 0x6368616f732d7265ULL); /* "chaos-re" */
    allowed &= WEIR_REAL_KINDS_ALL;
    if (allowed == 0) {
        return;
    }
    unsigned subset = 0;
    while (subset == 0) {
        subset = (unsigned)weir_prng_below(&r, WEIR_REAL_KINDS_ALL + 1) & allowed;
    }
    out->kinds = subset;
    weir_real_kind chosen[WEIR_REAL_KINDS_];
    int n_chosen = 0;
    for (int k = 0; k < WEIR_REAL_KINDS_; k++) {
        if (subset & (1u << k)) {
            chosen[n_chosen++] = (weir_real_kind)k;
        }
    }
    int64_t lo = sch_clamp(duration_ns / 10, 1 * WEIR_REAL_S, 60 * WEIR_REAL_S);
    int64_t hi = duration_ns * 6 / 10;
    int total = n_chosen + (int)weir_prng_below(&r, 3);
    for (int i = 0; i < total && out->count < WEIR_REAL_FAULTS_MAX; i++) {
        weir_real_fault f;
        memset(&f, 0, sizeof f);
        f.kind = i < n_chosen ? chosen[i] : chosen[weir_prng_below(&r, (uint64_t)n_chosen)];
        f.duration_ns =
            sch_duration(&r, f.kind, duration_ns, sc->controller.session_timeout_ms * WEIR_REAL_MS);
        sch_details(&r, sc, &f);
        if (hi - lo < 200 * WEIR_REAL_MS || !sch_place(&r, out, &f, lo, hi)) {
            continue; /* no room left for it */
        }
        out->faults[out->count++] = f;
    }
    /* by start time (insertion sort: at most WEIR_REAL_FAULTS_MAX) */
    for (int i = 1; i < out->count; i++) {
        weir_real_fault f = out->faults[i];
        int j = i;
        while (j > 0 && out->faults[j - 1].at_ns > f.at_ns) {
            out->faults[j] = out->faults[j - 1];
            j--;
        }
        out->faults[j] = f;
    }
    for (int i = 0; i < out->count; i++) {
        int64_t end = out->faults[i].at_ns + out->faults[i].duration_ns;
        out->last_end_ns = end > out->last_end_ns ? end : out->last_end_ns;
    }
}

void weir_real_fault_describe(const weir_scenario *sc, const weir_real_fault *f, char *buf,
                              size_t size)
{
    char target[WEIR_SCN_TOPIC_MAX + 32];
    if (f->broker_index >= 0) {
        snprintf(target, sizeof target, "%s",
                 sc->hosts[sc->brokers[f->broker_index].host_index].name);
    } else {
        snprintf(target, sizeof target, "leader(%s/%d)", sc->topics[f->topic_index].name,
                 f->partition);
    }
    char extra[48] = "";
    if (f->kind == WEIR_REAL_DELAY) {
        snprintf(extra, sizeof extra, " +%lldms", (long long)(f->delay_ns / WEIR_REAL_MS));
    } else if (f->kind == WEIR_REAL_RESET) {
        snprintf(extra, sizeof extra, " every %lldms",
                 (long long)(f->reset_every_ns / WEIR_REAL_MS));
    } else if (f->kind == WEIR_REAL_SKEW) {
        snprintf(extra, sizeof extra, " %+llds", (long long)f->skew_s);
    }
    snprintf(buf, size, "%s %s%s at %.1fs for %.1fs", weir_real_kind_name(f->kind), target, extra,
             (double)f->at_ns / 1e9, (double)f->duration_ns / 1e9);
}
