/* `weir flow FILE`: a flow file run by the flow engine on the real backend
 * (libuv sockets, real files), with the management API (flow/flow_api.h)
 * served over HTTP on the same loop.
 *
 * The flow is parsed and built once before anything runs, so a bad file is
 * reported as FILE:LINE (--check stops there and prints a summary). The
 * node is rooted at "/": paths in the flow file (PutFile's Directory) are
 * absolute, and the repositories live in --repo DIR, where a restart finds
 * every FlowFile that was queued (after SIGTERM or after kill -9).
 * SIGINT/SIGTERM stop the processors, checkpoint the write-ahead log and
 * print a summary with the conservation check. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_node.h"
#include "core/units.h"
#include "env/uv_http.h"
#include "env/uv_world.h"
#include "flow/flow_api.h"
#include "flow/flow_node.h"
#include "flow/flow_parse.h"

#define FLOW_NODE "flow"
#define FLOW_HTTP_PORT_DEFAULT 8080 /* NiFi's */
#define FLOW_WHY_BYTES 1024

static const char flow_usage[] =
    "usage: weir flow FILE [--repo DIR] [--http [HOST:]PORT] [--no-http]\n"
    "                      [--provenance off|memory|repo] [--check] [--log-level LEVEL]\n"
    "                      [--duration T] [--progress T]\n"
    "\n"
    "  FILE                 a flow file (flows/README.md); paths in it are absolute\n"
    "  --repo DIR           keep the FlowFile write-ahead log, content and provenance\n"
    "                       in DIR: a restart recovers every queued FlowFile\n"
    "                       (default: everything in memory, lost at exit)\n"
    "  --http [HOST:]PORT   serve the management API there (default 127.0.0.1:8080;\n"
    "                       port 0 picks a free one, printed at start)\n"
    "  --no-http            no management API\n"
    "  --provenance MODE    off, memory or repo (default: repo with --repo, else memory)\n"
    "  --check              parse and build the flow, print what it holds, run nothing\n"
    "  --log-level LEVEL    error, warn, info (default) or debug\n"
    "  --duration T         stop cleanly after T (\"30s\", \"2m\"); default: until a signal\n"
    "  --progress T         a progress line on stderr every T (default 5s; 0: none)\n"
    "\n"
    "SIGTERM or SIGINT stops the processors, checkpoints and prints a summary.\n";

typedef struct flow_opts {
    const char *file;
    const char *repo;
    const char *http_host;
    int http_port;  /* -1: no HTTP */
    int provenance; /* weir_flow_prov_mode, or -1: the default */
    bool check;
    weir_log_level log_level;
    int64_t duration_ns; /* 0: until a signal */
    int64_t progress_ns;
} flow_opts;

/* Everything a run needs; outlives the world. */
typedef struct flow_run {
    flow_opts o;
    weir_flow_def def;
    char *repo_dir; /* node-relative (the node is rooted at "/") */
    weir_flow_node_config node_cfg;
    weir_world *w;
} flow_run;

static volatile sig_atomic_t flow_stop;

static void flow_on_signal(int sig)
{
    (void)sig;
    flow_stop = 1;
}

static double flow_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- options ---- */

static int flow_parse_http(flow_opts *o, const char *arg)
{
    static char host[64];
    const char *colon = strrchr(arg, ':');
    const char *port = colon != NULL ? colon + 1 : arg;
    if (colon != NULL) {
        size_t n = (size_t)(colon - arg);
        if (n == 0 || n >= sizeof host) {
            return weir_cli_usage_error("flow", flow_usage, "--http: bad host in '%s'", arg);
        }
        memcpy(host, arg, n);
        host[n] = '\0';
        o->http_host = host;
    }
    uint64_t p;
    if (weir_parse_u64(port, &p) != 0 || p > 65535) {
        return weir_cli_usage_error("flow", flow_usage,
                                    "--http: '%s' is not [HOST:]PORT with PORT in 0..65535", arg);
    }
    o->http_port = (int)p;
    return WEIR_EXIT_OK;
}

static int flow_parse_level(flow_opts *o, const char *arg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const weir_log_level levels[] = {WEIR_LOG_ERROR, WEIR_LOG_WARN, WEIR_LOG_INFO,
                                            WEIR_LOG_DEBUG};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(arg, names[i]) == 0) {
            o->log_level = levels[i];
            return WEIR_EXIT_OK;
        }
    }
    return weir_cli_usage_error("flow", flow_usage,
                                "--log-level: '%s' is not error, warn, info or debug", arg);
}

static int flow_parse_option(flow_opts *o, int ch, const char *arg, char **argv)
{
    switch (ch) {
    case 'r':
        o->repo = arg;
        return WEIR_EXIT_OK;
    case 'H':
        return flow_parse_http(o, arg);
    case 'n':
        o->http_port = -1;
        return WEIR_EXIT_OK;
    case 'p':
        o->provenance = strcmp(arg, "off") == 0      ? WEIR_FLOW_PROV_OFF
                        : strcmp(arg, "memory") == 0 ? WEIR_FLOW_PROV_MEMORY
                        : strcmp(arg, "repo") == 0   ? WEIR_FLOW_PROV_REPO
                                                     : -2;
        return o->provenance != -2 ? WEIR_EXIT_OK
                                   : weir_cli_usage_error("flow", flow_usage,
                                                          "--provenance: '%s' is not off, "
                                                          "memory or repo",
                                                          arg);
    case 'c':
        o->check = true;
        return WEIR_EXIT_OK;
    case 'l':
        return flow_parse_level(o, arg);
    case 'd':
    case 'P':
        if (weir_parse_duration_ns(arg, ch == 'd' ? &o->duration_ns : &o->progress_ns) != 0) {
            return weir_cli_usage_error("flow", flow_usage,
                                        "%s: '%s' is not a duration (\"30s\", \"500ms\", \"2m\")",
                                        ch == 'd' ? "--duration" : "--progress", arg);
        }
        return WEIR_EXIT_OK;
    case ':':
        return weir_cli_usage_error("flow", flow_usage, "%s needs a value", argv[optind - 1]);
    default:
        return weir_cli_usage_error("flow", flow_usage, "unknown option '%s'", argv[optind - 1]);
    }
}

/* An exit code, or FLOW_HELP_SHOWN after --help. */
#define FLOW_HELP_SHOWN (-1)

static int flow_parse_args(flow_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"repo", required_argument, NULL, 'r'},     {"http", required_argument, NULL, 'H'},
        {"no-http", no_argument, NULL, 'n'},        {"provenance", required_argument, NULL, 'p'},
        {"check", no_argument, NULL, 'c'},          {"log-level", required_argument, NULL, 'l'},
        {"duration", required_argument, NULL, 'd'}, {"progress", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->http_host = "127.0.0.1";
    o->http_port = FLOW_HTTP_PORT_DEFAULT;
    o->provenance = -1;
    o->log_level = WEIR_LOG_INFO;
    o->progress_ns = 5000000000LL;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(flow_usage, stdout);
            return FLOW_HELP_SHOWN;
        }
        int rc = flow_parse_option(o, ch, optarg, argv);
        if (rc != WEIR_EXIT_OK) {
            return rc;
        }
    }
    if (optind >= argc) {
        return weir_cli_usage_error("flow", flow_usage, "missing FILE");
    }
    o->file = argv[optind++];
    if (optind < argc) {
        return weir_cli_usage_error("flow", flow_usage, "unexpected argument '%s'", argv[optind]);
    }
    if (o->provenance == WEIR_FLOW_PROV_REPO && o->repo == NULL) {
        return weir_cli_usage_error("flow", flow_usage, "--provenance repo needs --repo DIR");
    }
    return WEIR_EXIT_OK;
}

/* ---- building the flow once, to report problems with their line ---- */

typedef struct flow_check {
    const weir_flow_def *def;
    int rc;
    char why[FLOW_WHY_BYTES];
} flow_check;

/* Builds the flow on an in-memory engine and starts it with every processor
 * stopped: types, properties, expressions and connections are checked, and
 * nothing runs. */
static void *flow_check_start(weir_env *env, void *arg)
{
    flow_check *c = arg;
    weir_flow_engine_config cfg;
    weir_flow_engine_config_default(&cfg);
    cfg.provenance = WEIR_FLOW_PROV_OFF;
    weir_flow_engine *e = weir_flow_engine_new(env, &cfg, c->why, sizeof c->why);
    c->rc = e == NULL ? WEIR_E_INVAL : weir_flow_engine_load_def(e, c->def, c->why, sizeof c->why);
    for (size_t i = 0; c->rc == 0 && i < weir_flow_engine_processor_count(e); i++) {
        const char *name = weir_flow_ctx_name(weir_flow_engine_processor(e, i));
        c->rc = weir_flow_engine_processor_stop(e, name);
    }
    if (c->rc == 0) {
        c->rc = weir_flow_engine_start(e, c->why, sizeof c->why);
    }
    weir_flow_engine_free(e);
    return c;
}

/* "FILE:LINE: why" when why starts with "line N: " or names a processor of
 * the definition; else "FILE: why". */
static void flow_print_build_error(const char *file, const weir_flow_def *def, const char *why)
{
    int line = 0, used = 0;
    if (sscanf(why, "line %d: %n", &line, &used) == 1 && used > 0) {
        fprintf(stderr, "weir flow: %s:%d: %s\n", file, line, why + used);
        return;
    }
    const char *q = strstr(why, "processor '");
    if (q != NULL) {
        char name[WEIR_FLOW_NAME_MAX];
        if (sscanf(q, "processor '%127[^']'", name) == 1) {
            int i = weir_flow_def_processor_find(def, name);
            int p = i < 0 ? weir_flow_def_port_find(def, name) : -1;
            line = i >= 0 ? def->processors[i].mark.line : p >= 0 ? def->ports[p].mark.line : 0;
        }
    }
    if (line > 0) {
        fprintf(stderr, "weir flow: %s:%d: %s\n", file, line, why);
    } else {
        fprintf(stderr, "weir flow: %s: %s\n", file, why);
    }
}

static const weir_node_type flow_check_node = {"flow-check", flow_check_start, NULL};

static int flow_build_check(const flow_run *r)
{
    flow_check c = {.def = &r->def};
    weir_world *w = weir_uv_world_new("/", 1);
    int err = w == NULL ? WEIR_E_NOMEM
                        : weir_uv_world_node_add_rooted(w, "check", "/", &flow_check_node, &c);
    if (err == 0) {
        err = weir_world_run(w, 0);
    }
    if (w != NULL) {
        weir_world_destroy(w);
    }
    if (err != 0) {
        fprintf(stderr, "weir flow: cannot check the flow: %s\n", weir_err_str(err));
        return WEIR_EXIT_FAIL;
    }
    if (c.rc != 0) {
        flow_print_build_error(r->o.file, &r->def, c.why);
        return WEIR_EXIT_FAIL;
    }
    return WEIR_EXIT_OK;
}

static void flow_print_check(const weir_flow_def *def)
{
    printf("flow %s: %zu processors, %zu ports, %zu connections, %zu parameter contexts\n",
           def->name, def->processor_count, def->port_count, def->connection_count,
           def->context_count);
    for (size_t i = 0; i < def->processor_count; i++) {
        const weir_flow_processor *p = &def->processors[i];
        printf("  processor %s (%s)%s\n", p->name, p->type,
               p->state == WEIR_FLOW_STOPPED ? " stopped" : "");
    }
    for (size_t i = 0; i < def->connection_count; i++) {
        const weir_flow_connection *c = &def->connections[i];
        printf("  connection %s: %s -> %s, threshold %" PRIu64 " FlowFiles / %" PRIu64 " bytes\n",
               c->name, weir_flow_def_endpoint_name(def, c->source),
               weir_flow_def_endpoint_name(def, c->destination), c->object_threshold,
               c->size_threshold_bytes);
    }
}

/* ---- the HTTP API ---- */

static void flow_http_handle(void *arg, const weir_http_request *req, weir_http_reply *reply)
{
    flow_run *r = arg;
    weir_flow_node *node = weir_world_node_state(r->w, FLOW_NODE);
    weir_flow_api api = {
        .engine = weir_flow_node_engine(node),
        .flow_name = r->def.name,
        .def = &r->def,
    };
    weir_flow_api_request areq = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .body = req->body,
        .body_len = req->body_len,
    };
    weir_flow_api_reply out;
    weir_flow_api_handle(&api, &areq, &out);
    reply->status = out.status;
    reply->body = out.body; /* handed over: the server frees it */
    reply->body_len = out.body_len;
}

/* ---- running ---- */

static void *flow_node_start(weir_env *env, void *arg)
{
    flow_run *r = arg;
    env->log_level = r->o.log_level;
    return weir_flow_node_type.start(env, &r->node_cfg);
}

static void flow_node_destroy(void *state)
{
    weir_flow_node_type.destroy(state);
}

static const weir_node_type flow_cli_node = {"flow", flow_node_start, flow_node_destroy};

static weir_flow_engine *flow_engine_of(flow_run *r)
{
    return weir_flow_node_engine(weir_world_node_state(r->w, FLOW_NODE));
}

typedef struct flow_progress {
    double at_s;
    uint64_t in, out;
} flow_progress;

static void flow_print_progress(weir_flow_engine *e, flow_progress *last, double start_s)
{
    double now = flow_mono_s();
    weir_flow_counters k;
    weir_flow_engine_counters(e, &k);
    uint64_t in = k.created + k.received + k.recovered;
    uint64_t out = k.sent + k.dropped + k.expired;
    double dt = now - last->at_s > 0 ? now - last->at_s : 1;
    char blocked[256] = "";
    size_t n = 0;
    for (size_t i = 0; i < weir_flow_engine_processor_count(e) && n < sizeof blocked; i++) {
        weir_flow_proc_stats st;
        weir_flow_engine_processor_stats(e, i, &st);
        if (st.running && st.blocked_by_back_pressure) {
            n += (size_t)snprintf(blocked + n, sizeof blocked - n, "%s%s", n ? ", " : "",
                                  weir_flow_ctx_name(weir_flow_engine_processor(e, i)));
        }
    }
    fprintf(stderr,
            "weir flow: %.0fs: in %.0f/s, out %.0f/s, queued %" PRIu64 ", in flight %" PRIu64
            ", blocked by back pressure: %s\n",
            now - start_s, (double)(in - last->in) / dt, (double)(out - last->out) / dt, k.queued,
            k.in_flight, n ? blocked : "none");
    *last = (flow_progress){.at_s = now, .in = in, .out = out};
}

/* A processor's type as the flow file names it ("port" for a group port). */
static const char *flow_type_of(const weir_flow_def *def, const char *name)
{
    int i = weir_flow_def_processor_find(def, name);
    return i >= 0 ? def->processors[i].type : "port";
}

static bool flow_print_summary(weir_flow_engine *e, const weir_flow_def *def, double ran_s,
                               bool kept)
{
    weir_flow_counters k;
    weir_flow_engine_counters(e, &k);
    char why[FLOW_WHY_BYTES] = "";
    bool ok = weir_flow_engine_conserved(e, why, sizeof why);
    printf("flow %s: ran %.1fs\n", def->name, ran_s);
    printf("  created %" PRIu64 ", received %" PRIu64 ", recovered %" PRIu64 ", sent %" PRIu64
           ", dropped %" PRIu64 ", expired %" PRIu64 ", queued %" PRIu64 "%s\n",
           k.created, k.received, k.recovered, k.sent, k.dropped, k.expired, k.queued,
           kept ? " (kept in the repository)" : " (lost: no --repo)");
    printf("  commits %" PRIu64 ", rollbacks %" PRIu64 ", triggers %" PRIu64 "\n", k.commits,
           k.rollbacks, k.triggers);
    if (ok) {
        printf("  conservation: ok (created + received + recovered = sent + dropped + expired + "
               "queued = %" PRIu64 ")\n",
               k.created + k.received + k.recovered);
    } else {
        printf("  conservation: FAILED: %s\n", why);
    }
    printf("  %-24s %-20s %10s %10s %12s %9s %9s\n", "processor", "type", "triggers", "taken",
           "transferred", "bp_waits", "failures");
    for (size_t i = 0; i < weir_flow_engine_processor_count(e); i++) {
        weir_flow_proc_stats st;
        weir_flow_engine_processor_stats(e, i, &st);
        const char *pname = weir_flow_ctx_name(weir_flow_engine_processor(e, i));
        printf("  %-24s %-20s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 " %9" PRIu64 " %9" PRIu64
               "\n",
               pname, flow_type_of(def, pname), st.triggers, st.taken, st.transferred, st.bp_waits,
               st.failures);
    }
    fflush(stdout);
    return ok;
}

/* Runs until a signal, --duration, or a failure; returns an exit code. */
static int flow_loop(flow_run *r)
{
    double start_s = flow_mono_s();
    flow_progress last = {.at_s = start_s};
    double next_progress_s = start_s + (double)r->o.progress_ns / 1e9;
    while (!flow_stop) {
        if (weir_world_run(r->w, 100000000) != 0) { /* signals are checked every 100 ms */
            fprintf(stderr, "weir flow: the event loop failed\n");
            return WEIR_EXIT_FAIL;
        }
        weir_flow_node *node = weir_world_node_state(r->w, FLOW_NODE);
        if (weir_flow_node_engine(node) == NULL) {
            fprintf(stderr, "weir flow: %s\n",
                    node != NULL ? weir_flow_node_error(node) : "the flow node did not start");
            return WEIR_EXIT_FAIL;
        }
        double now = flow_mono_s();
        if (r->o.progress_ns > 0 && now >= next_progress_s) {
            flow_print_progress(weir_flow_node_engine(node), &last, start_s);
            next_progress_s = now + (double)r->o.progress_ns / 1e9;
        }
        if (r->o.duration_ns > 0 && now - start_s >= (double)r->o.duration_ns / 1e9) {
            break;
        }
    }
    return WEIR_EXIT_OK;
}

static int flow_serve(flow_run *r)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = flow_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    weir_uv_http *http = NULL;
    if (r->o.http_port >= 0) {
        char why[256];
        http = weir_uv_http_start(r->w, FLOW_NODE, r->o.http_host, r->o.http_port, flow_http_handle,
                                  r, why, sizeof why);
        if (http == NULL) {
            fprintf(stderr, "weir flow: --http: %s\n", why);
            return WEIR_EXIT_FAIL;
        }
        fprintf(stderr, "weir flow: management API on http://%s:%d/flow\n", r->o.http_host,
                weir_uv_http_port(http));
    }
    double start_s = flow_mono_s();
    int rc = flow_loop(r);
    weir_uv_http_stop(http);
    weir_flow_engine *e = flow_engine_of(r);
    if (e != NULL) {
        int err = weir_flow_node_shutdown(weir_world_node_state(r->w, FLOW_NODE));
        if (err != 0) {
            fprintf(stderr, "weir flow: clean shutdown failed: %s\n", weir_err_str(err));
            rc = WEIR_EXIT_FAIL;
        }
        if (!flow_print_summary(e, &r->def, flow_mono_s() - start_s, r->repo_dir != NULL)) {
            rc = WEIR_EXIT_FAIL;
        }
    }
    weir_ignore(weir_world_run(r->w, 0)); /* let the closes go out */
    return rc;
}

/* --repo DIR: made if missing, as a path from "/" (the node's root). */
static int flow_repo_dir(flow_run *r)
{
    if (r->o.repo == NULL) {
        return WEIR_EXIT_OK;
    }
    char abs[PATH_MAX];
    if (weir_cli_make_dirs(r->o.repo) != 0 || realpath(r->o.repo, abs) == NULL) {
        fprintf(stderr, "weir flow: --repo %s: %s\n", r->o.repo, strerror(errno));
        return WEIR_EXIT_FAIL;
    }
    r->repo_dir = strdup(abs + 1);
    if (r->repo_dir == NULL || r->repo_dir[0] == '\0') {
        fprintf(stderr, "weir flow: --repo %s: not usable (the root folder?)\n", r->o.repo);
        return WEIR_EXIT_FAIL;
    }
    return WEIR_EXIT_OK;
}

static int flow_run_all(flow_run *r)
{
    int rc = flow_repo_dir(r);
    if (rc != WEIR_EXIT_OK) {
        return rc;
    }
    weir_flow_engine_config_default(&r->node_cfg.engine);
    r->node_cfg.engine.repo_dir = r->repo_dir;
    if (r->o.provenance >= 0) {
        r->node_cfg.engine.provenance = (weir_flow_prov_mode)r->o.provenance;
    } else {
        r->node_cfg.engine.provenance =
            r->repo_dir != NULL ? WEIR_FLOW_PROV_REPO : WEIR_FLOW_PROV_MEMORY;
    }
    r->node_cfg.def = &r->def;
    r->w = weir_uv_world_new("/", 0);
    if (r->w == NULL) {
        fprintf(stderr, "weir flow: cannot start the event loop\n");
        return WEIR_EXIT_FAIL;
    }
    int err = weir_uv_world_node_add_rooted(r->w, FLOW_NODE, "/", &flow_cli_node, r);
    if (err != 0) {
        fprintf(stderr, "weir flow: %s\n", weir_err_str(err));
        rc = WEIR_EXIT_FAIL;
    } else {
        rc = flow_serve(r);
    }
    weir_world_destroy(r->w);
    return rc;
}

int weir_cli_flow(int argc, char **argv)
{
    flow_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return WEIR_EXIT_FAIL;
    }
    int rc = flow_parse_args(&r->o, argc, argv);
    if (rc != WEIR_EXIT_OK) {
        free(r);
        return rc == FLOW_HELP_SHOWN ? WEIR_EXIT_OK : rc;
    }
    size_t len = 0;
    char *text = weir_cli_read_text("flow", r->o.file, &len);
    if (text == NULL) {
        free(r);
        return WEIR_EXIT_USAGE;
    }
    char why[FLOW_WHY_BYTES];
    if (weir_flow_parse(text, len, r->o.file, &r->def, why, sizeof why) != 0) {
        fprintf(stderr, "weir flow: %s\n", why);
        rc = WEIR_EXIT_FAIL;
    } else {
        rc = flow_build_check(r);
    }
    free(text);
    if (rc == WEIR_EXIT_OK && r->o.check) {
        flow_print_check(&r->def);
    } else if (rc == WEIR_EXIT_OK) {
        rc = flow_run_all(r);
    }
    weir_flow_def_free(&r->def);
    free(r->repo_dir);
    free(r);
    return rc;
}
