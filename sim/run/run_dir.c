#include "run_dir.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

static int rd_mkdirs(const char *path, char *why, size_t why_size)
{
    char buf[WEIR_RUN_PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(why, why_size, "%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                snprintf(why, why_size, "cannot create folder %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (c == '\0') {
                struct stat st;
                if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                    snprintf(why, why_size, "%s exists and is not a folder", buf);
                    return -1;
                }
                return 0;
            }
        }
    }
}

int weir_rundir_create(const char *root, char *why, size_t why_size)
{
    return rd_mkdirs(root, why, why_size);
}

void weir_rundir_run_id(char *buf, size_t size, const weir_scenario *sc, uint64_t seed)
{
    if (sc->variant_index >= 0) {
        snprintf(buf, size, "%s@%s-s%" PRIu64, sc->name, sc->variants[sc->variant_index].name, seed);
    } else {
        snprintf(buf, size, "%s-s%" PRIu64, sc->name, seed);
    }
}

static FILE *rd_open(const weir_run_files *rf, const char *name, char *why, size_t why_size)
{
    char path[WEIR_RUN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", rf->dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
    }
    return f;
}

int weir_rundir_begin(const char *root, const char *run_id, const char *text, size_t len,
                      weir_run_files *rf, char *why, size_t why_size)
{
    memset(rf, 0, sizeof *rf);
    if (snprintf(rf->dir, sizeof rf->dir, "%s/%s", root, run_id) >= (int)sizeof rf->dir) {
        snprintf(why, why_size, "%s: path too long", root);
        return -1;
    }
    if (rd_mkdirs(rf->dir, why, why_size) != 0) {
        return -1;
    }
    FILE *yaml = rd_open(rf, "scenario.yaml", why, why_size);
    if (yaml == NULL) {
        return -1;
    }
    bool ok = fwrite(text, 1, len, yaml) == len;
    ok = fclose(yaml) == 0 && ok;
    if (!ok) {
        snprintf(why, why_size, "cannot write %s/scenario.yaml", rf->dir);
        return -1;
    }
    if ((rf->report = rd_open(rf, "report.txt", why, why_size)) == NULL ||
        (rf->rec.events = rd_open(rf, "events.tsv", why, why_size)) == NULL ||
        (rf->rec.replicas = rd_open(rf, "replicas.tsv", why, why_size)) == NULL ||
        (rf->rec.latency = rd_open(rf, "latency.tsv", why, why_size)) == NULL ||
        (rf->rec.flows = rd_open(rf, "flows.tsv", why, why_size)) == NULL) {
        weir_rundir_end(rf);
        return -1;
    }
    return 0;
}

/* dir + "/" + rel with "." and ".." resolved lexically; -1 when rel is
 * absolute or climbs more than `up` levels above dir. */
static int rd_resolve(const char *dir, const char *rel, int up, char *out, size_t size)
{
    if (rel[0] == '/' || snprintf(out, size, "%s", dir) >= (int)size) {
        return -1;
    }
    size_t len = strlen(out);
    int climbed = 0;
    for (const char *p = rel; *p != '\0';) {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(out, '/');
            if (slash == NULL || ++climbed > up) {
                return -1;
            }
            *slash = '\0';
            len = (size_t)(slash - out);
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len + 1 + n >= size) {
                return -1;
            }
            out[len++] = '/';
            memcpy(out + len, p, n);
            out[len += n] = '\0';
        }
        p += n + (end != NULL);
    }
    return 0;
}

static int rd_copy(const char *from, const char *to, char *why, size_t why_size)
{
    char folder[WEIR_RUN_PATH_MAX];
    snprintf(folder, sizeof folder, "%s", to);
    char *slash = strrchr(folder, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (rd_mkdirs(folder, why, why_size) != 0) {
            return -1;
        }
    }
    FILE *in = fopen(from, "rb");
    FILE *out = in != NULL ? fopen(to, "wb") : NULL;
    bool ok = in != NULL && out != NULL;
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        ok = fwrite(buf, 1, n, out) == n;
    }
    ok = ok && ferror(in) == 0;
    if (in != NULL) {
        fclose(in);
    }
    if (out != NULL) {
        ok = fclose(out) == 0 && ok;
    }
    if (!ok) {
        snprintf(why, why_size, "cannot copy %s to %s: %s", from, to, strerror(errno));
        return -1;
    }
    return 0;
}

int weir_rundir_copy_flows(const weir_run_files *rf, const weir_scenario *sc,
                           const char *scenario_path, char *why, size_t why_size)
{
    const char *slash = strrchr(scenario_path, '/');
    for (size_t i = 0; i < sc->flow_count; i++) {
        const char *file = sc->flows[i].file;
        char from[WEIR_RUN_PATH_MAX], to[WEIR_RUN_PATH_MAX];
        if (file[0] == '/' || slash == NULL) {
            snprintf(from, sizeof from, "%s", file);
        } else {
            snprintf(from, sizeof from, "%.*s/%s", (int)(slash - scenario_path), scenario_path,
                     file);
        }
        /* the run folder's parent is the deepest place scenario.yaml may reach */
        if (rd_resolve(rf->dir, file, 1, to, sizeof to) != 0) {
            snprintf(why, why_size,
                     "flow file %s is not copied into the run folder (an absolute path, or "
                     "more than one \"..\"): the run replays only from the original place",
                     file);
            return -1;
        }
        if (rd_copy(from, to, why, why_size) != 0) {
            return -1;
        }
    }
    return 0;
}

void weir_rundir_end(weir_run_files *rf)
{
    /* a run without flows leaves no flows.tsv */
    if (rf->rec.flows != NULL && ftell(rf->rec.flows) == 0) {
        fclose(rf->rec.flows);
        rf->rec.flows = NULL;
        char path[WEIR_RUN_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/flows.tsv", rf->dir);
        remove(path);
    }
    FILE **files[] = {&rf->report, &rf->rec.events, &rf->rec.replicas, &rf->rec.latency,
                      &rf->rec.flows};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (*files[i] != NULL) {
            fclose(*files[i]);
            *files[i] = NULL;
        }
    }
}

void weir_rundir_fault_kinds(char *buf, size_t size, const weir_scenario *sc)
{
    bool seen[WEIR_SCN_FAULT_KINDS_] = {false};
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->fault_count; i++) {
        weir_scn_fault_kind k = sc->faults[i].kind;
        if (!seen[k] && at < size) {
            seen[k] = true;
            at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? "," : "", weir_scn_fault_kind_name(k));
        }
    }
    if (at == 0) {
        snprintf(buf, size, "-");
    }
}

int weir_rundir_meta(const weir_run_files *rf, const weir_scenario *sc, uint64_t seed,
                     const weir_scn_outcome *o, const char *replay)
{
    char path[WEIR_RUN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.tsv", rf->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    char kinds[256];
    weir_rundir_fault_kinds(kinds, sizeof kinds, sc);
    fprintf(f, "scenario\t%s\nvariant\t%s\nseed\t%" PRIu64 "\nverdict\t%s\ntrace_hash\t%016" PRIx64 "\n",
            sc->name, sc->variant_index >= 0 ? sc->variants[sc->variant_index].name : "-", seed,
            o->pass ? "PASS" : "FAIL", o->trace_hash);
    fprintf(f, "events\t%" PRIu64 "\nsim_s\t%.3f\nwall_s\t%.3f\n", o->events, o->sim_s, o->wall_s);
    const struct {
        const char *key;
        int64_t value;
    } counts[] = {
        {"sent", o->sent},
        {"acked", o->acked},
        {"acked_all", o->acked_all},
        {"produce_errors", o->produce_errors},
        {"lost_all", o->lost_all},
        {"lost_any", o->lost_any},
        {"duplicated", o->duplicated},
        {"reordered", o->reordered},
        {"dirty_reads", o->dirty_reads},
        {"divergent", o->divergent},
        {"hw_above_leo", o->hw_above_leo},
        {"offset_gaps", o->offset_gaps},
        {"reads", o->reads},
        {"leader_changes", o->leader_changes},
        {"isr_shrinks", o->isr_shrinks},
        {"isr_expands", o->isr_expands},
        {"truncations", o->truncations},
        {"unclean_elections", o->unclean_elections},
        {"recovered_after_ns", o->recovered_after_ns},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        fprintf(f, "%s\t%" PRId64 "\n", counts[i].key, counts[i].value);
    }
    for (int i = 0; i < o->flow_count; i++) {
        const weir_scn_flow_outcome *fl = &o->flows[i];
        fprintf(f,
                "flow.%s.created\t%" PRIu64 "\nflow.%s.dropped\t%" PRIu64 "\nflow.%s.sent\t%" PRIu64
                "\nflow.%s.queued\t%" PRIu64 "\nflow.%s.peak_resident\t%" PRIu64
                "\nflow.%s.lost\t%" PRIu64 "\nflow.%s.duplicated\t%" PRIu64 "\n",
                fl->name, fl->created, fl->name, fl->dropped, fl->name, fl->sent, fl->name,
                fl->queued, fl->name, fl->peak_resident, fl->name, fl->lost, fl->name,
                fl->duplicated);
    }
    fprintf(f, "faults\t%zu\nfault_kinds\t%s\nreplay\t%s\n", sc->fault_count, kinds, replay);
    for (int i = 0; i < o->n_failures; i++) {
        fprintf(f, "failure\t%s\n", o->failures[i]);
    }
    return fclose(f) == 0 ? 0 : -1;
}

FILE *weir_rundir_index_open(const char *root)
{
    char path[WEIR_RUN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/index.tsv", root);
    FILE *f = fopen(path, "a");
    if (f != NULL && ftell(f) == 0) {
        fputs(WEIR_RUNDIR_INDEX_HEADER, f);
    }
    return f;
}

void weir_rundir_index_row(FILE *index, const char *run_id, const weir_scenario *sc, uint64_t seed,
                           const char *verdict, const weir_scn_outcome *o, size_t faults)
{
    char failure[256];
    snprintf(failure, sizeof failure, "%s", o->n_failures > 0 ? o->failures[0] : "-");
    for (char *p = failure; *p != '\0'; p++) {
        if (*p == '\t' || *p == '\n') {
            *p = ' ';
        }
    }
    fprintf(index, "%s\t%s\t%s\t%" PRIu64 "\t%s\t%016" PRIx64 "\t%" PRIu64 "\t%.3f\t%.3f\t%zu\t%s\n", run_id,
            sc->name, sc->variant_index >= 0 ? sc->variants[sc->variant_index].name : "-", seed, verdict,
            o->trace_hash, o->events, o->sim_s, o->wall_s, faults, failure);
}
