/* Loading a scenario's flows before the run (run_flow.h): each flow file
 * read from the scenario file's folder and parsed, built once on a
 * throwaway engine (so an unknown processor type or a bad property is a
 * usage error, not a node that never starts), and every name the
 * scenario's actions and flow expectations use looked up in it. Errors are
 * "FILE:LINE:COLUMN: PATH: reason", as the parser's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_parse.h"
#include "flow/params.h"
#include "run_flow.h"
#include "scenario/yaml_doc.h"

#define FLOW_FILE_BYTES_MAX (16u << 20)

/* What the name checks need. */
typedef struct run_load_ctx {
    const weir_scenario *sc;
    const run_flow *f;
    const weir_flow_engine *e;
    char *why;
    size_t why_size;
} run_load_ctx;

static int load_fail(char *why, size_t why_size, const weir_scenario *sc, weir_scn_mark m,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int load_fail(char *why, size_t why_size, const weir_scenario *sc, weir_scn_mark m,
                     const char *fmt, ...)
{
    int n = snprintf(why, why_size, "%s:%d:%d: ", sc->file_name, m.line, m.column);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < why_size) {
        vsnprintf(why + n, why_size - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return WEIR_E_INVAL;
}

/* The flow file's path: relative to the scenario file's folder. */
static void flow_path(const weir_scenario *sc, const weir_scn_flow *spec, char *out, size_t size)
{
    const char *slash = strrchr(sc->file_name, '/');
    if (spec->file[0] == '/' || slash == NULL) {
        snprintf(out, size, "%s", spec->file);
    } else {
        snprintf(out, size, "%.*s/%s", (int)(slash - sc->file_name), sc->file_name, spec->file);
    }
}

static int read_text(const char *path, char **text_out, size_t *len_out, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return WEIR_E_IO;
    }
    char *text = malloc(FLOW_FILE_BYTES_MAX + 1);
    size_t len = text != NULL ? fread(text, 1, FLOW_FILE_BYTES_MAX + 1, f) : 0;
    bool bad = ferror(f) != 0 || text == NULL;
    fclose(f);
    if (bad || len > FLOW_FILE_BYTES_MAX) {
        snprintf(why, why_size, "cannot read %s: %s", path,
                 bad ? "read error" : "larger than 16 MiB");
        free(text);
        return WEIR_E_IO;
    }
    text[len] = '\0';
    *text_out = text;
    *len_out = len;
    return 0;
}

/* " (did you mean "x"?)" among the names of a kind in e. */
static void name_hint(char *buf, size_t size, const char *word, const weir_flow_engine *e,
                      bool connections)
{
    const char *names[256];
    size_t n =
        connections ? weir_flow_engine_connection_count(e) : weir_flow_engine_processor_count(e);
    n = n < 256 ? n : 256;
    for (size_t i = 0; i < n; i++) {
        names[i] = connections ? weir_flow_engine_connection_name(e, i)
                               : weir_flow_ctx_name(weir_flow_engine_processor(e, i));
    }
    weir_ydoc_hint(buf, size, word, names, n);
}

static int check_processor(const run_load_ctx *lc, weir_scn_mark m, const char *path,
                           const char *name)
{
    if (weir_flow_engine_processor_find(lc->e, name) >= 0) {
        return 0;
    }
    char hint[256];
    name_hint(hint, sizeof hint, name, lc->e, false);
    return load_fail(lc->why, lc->why_size, lc->sc, m,
                     "%s: flow \"%s\" (%s) has no processor \"%s\"%s", path, lc->f->spec->name,
                     lc->f->path, name, hint);
}

static int check_connection(const run_load_ctx *lc, weir_scn_mark m, const char *path,
                            const char *name, int *index_out)
{
    int i = weir_flow_engine_connection_find(lc->e, name);
    if (index_out != NULL) {
        *index_out = i;
    }
    if (i >= 0) {
        return 0;
    }
    char hint[256];
    name_hint(hint, sizeof hint, name, lc->e, true);
    return load_fail(lc->why, lc->why_size, lc->sc, m,
                     "%s: flow \"%s\" (%s) has no connection \"%s\"%s", path, lc->f->spec->name,
                     lc->f->path, name, hint);
}

/* A parameter the scenario gives a value to (it changes values, it adds none). */
static int check_parameter(const run_load_ctx *lc, weir_scn_mark m, const char *path,
                           const char *context, const char *name)
{
    struct weir_param_ctx *pc =
        weir_params_find_ctx(weir_flow_engine_params((weir_flow_engine *)lc->e), context);
    if (pc == NULL) {
        return load_fail(lc->why, lc->why_size, lc->sc, m,
                         "%s.context: flow \"%s\" (%s) has no parameter context \"%s\"", path,
                         lc->f->spec->name, lc->f->path, context);
    }
    if (weir_param_ctx_find(pc, name, NULL) == NULL) {
        return load_fail(lc->why, lc->why_size, lc->sc, m,
                         "%s.name: parameter context \"%s\" of flow \"%s\" has no parameter "
                         "\"%s\" (a scenario changes values, it adds none)",
                         path, context, lc->f->spec->name, name);
    }
    return 0;
}

static int check_action(const run_load_ctx *lc, size_t i)
{
    const weir_scn_action *a = &lc->sc->actions[i];
    char path[64];
    snprintf(path, sizeof path, "actions[%zu].%s", i, weir_scn_action_kind_name(a->kind));
    switch (a->kind) {
    case WEIR_SCN_ACT_START:
    case WEIR_SCN_ACT_STOP:
        return check_processor(lc, a->target_mark, path, a->target);
    case WEIR_SCN_ACT_PRIORITIZERS:
        for (int k = 0; k < a->prioritizer_count; k++) {
            weir_flow_prioritizer p;
            if (weir_flow_prioritizer_parse(a->prioritizers[k], &p) != 0) {
                return load_fail(lc->why, lc->why_size, lc->sc, a->mark,
                                 "%s.use[%d]: \"%s\" is not a prioritizer (fifo, oldest_first, "
                                 "newest_first or priority_attribute)",
                                 path, k, a->prioritizers[k]);
            }
        }
        return check_connection(lc, a->target_mark, path, a->target, NULL);
    case WEIR_SCN_ACT_THRESHOLD:
    case WEIR_SCN_ACT_EXPIRATION:
        return check_connection(lc, a->target_mark, path, a->target, NULL);
    case WEIR_SCN_ACT_SET_PARAMETER:
        return check_parameter(lc, a->target_mark, path, a->target, a->name);
    case WEIR_SCN_ACT_KINDS_:
        break;
    }
    return 0;
}

/* The flow expectations that name this flow. */
static int check_expect(run_load_ctx *lc, const weir_scn_expect *x, const char *where)
{
    char path[96];
    int rc = 0;
    for (int i = 0; rc == 0 && i < x->flow_queue_max_count; i++) {
        const weir_scn_flow_queue_max *q = &x->flow_queue_max[i];
        snprintf(path, sizeof path, "%sflow_queue_max[%d].connection", where, i);
        rc = q->flow_index == lc->f->index
                 ? check_connection(lc, q->mark, path, q->connection, NULL)
                 : 0;
    }
    for (int i = 0; rc == 0 && i < x->flow_back_pressure_count; i++) {
        const weir_scn_flow_back_pressure *b = &x->flow_back_pressure[i];
        snprintf(path, sizeof path, "%sflow_back_pressure[%d].processor", where, i);
        rc = b->flow_index == lc->f->index ? check_processor(lc, b->mark, path, b->processor) : 0;
    }
    for (int i = 0; rc == 0 && i < x->flow_parameter_count; i++) {
        const weir_scn_flow_parameter *p = &x->flow_parameter[i];
        for (int k = 0; rc == 0 && p->flow_index == lc->f->index && k < p->connection_count; k++) {
            snprintf(path, sizeof path, "%sflow_parameter[%d].connections[%d]", where, i, k);
            rc = check_connection(lc, p->mark, path, p->connections[k], NULL);
        }
    }
    return rc;
}

static int check_names(run_load_ctx *lc)
{
    const weir_scenario *sc = lc->sc;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < lc->f->spec->param_count; i++) {
        const weir_scn_flow_param *p = &lc->f->spec->params[i];
        char path[64];
        snprintf(path, sizeof path, "flows[%d].parameters[%zu]", lc->f->index, i);
        rc = check_parameter(lc, p->mark, path, p->context, p->name);
    }
    for (size_t i = 0; rc == 0 && i < sc->action_count; i++) {
        rc = sc->actions[i].flow_index == lc->f->index ? check_action(lc, i) : 0;
    }
    if (rc == 0) {
        rc = check_expect(lc, &sc->expect, "expect.");
    }
    for (size_t v = 0; rc == 0 && v < sc->variant_count; v++) {
        char where[96];
        snprintf(where, sizeof where, "variants[%zu].expect.", v);
        rc = check_expect(lc, &sc->variants[v].expect, where);
    }
    return rc;
}

/* Parses the flow file and builds it once, on no env (nothing starts). */
int run_flow_load_one(const weir_scenario *sc, run_flow *f, char *why, size_t why_size)
{
    flow_path(sc, f->spec, f->path, sizeof f->path);
    char *text = NULL;
    size_t len = 0;
    char w[1024];
    int rc = read_text(f->path, &text, &len, w, sizeof w);
    if (rc != 0) {
        return load_fail(why, why_size, sc, f->spec->file_mark, "flows[%d].file: %s", f->index, w);
    }
    rc = weir_flow_parse(text, len, f->path, &f->def, why, why_size);
    free(text);
    if (rc != 0) {
        return rc;
    }
    if (f->spec->swap_threshold > 0) {
        /* the file's default: connections that inherit it get the new one */
        uint64_t old = f->def.swap_threshold, now = (uint64_t)f->spec->swap_threshold;
        for (size_t c = 0; c < f->def.connection_count; c++) {
            if (f->def.connections[c].swap_threshold == old) {
                f->def.connections[c].swap_threshold = now;
            }
        }
        f->def.swap_threshold = now;
    }
    weir_flow_engine_config cfg;
    weir_flow_engine_config_default(&cfg);
    weir_flow_engine *e = weir_flow_engine_new(NULL, &cfg, w, sizeof w);
    rc = e == NULL ? WEIR_E_NOMEM : weir_flow_engine_load_def(e, &f->def, w, sizeof w);
    if (rc != 0) {
        weir_flow_engine_free(e);
        return load_fail(why, why_size, sc, f->spec->file_mark, "flows[%d].file: %s: %s", f->index,
                         f->path, w);
    }
    run_load_ctx lc = {.sc = sc, .f = f, .e = e, .why = why, .why_size = why_size};
    rc = check_names(&lc);
    if (rc == 0 && run_flow_set_params(e, f, w, sizeof w) != 0) {
        rc = load_fail(why, why_size, sc, f->spec->mark, "flows[%d].parameters: %s", f->index, w);
    }
    weir_flow_engine_free(e);
    return rc;
}
