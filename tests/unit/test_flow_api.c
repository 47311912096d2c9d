/* The flow management API (impl/flow/flow_api.h) against a flow running on
 * the real backend in a temporary folder, and its JSON writer and reader
 * (impl/flow/flow_json.h).
 *
 * The flow: generate (GenerateFlowFile, 5 FlowFiles every 10 ms) -> tag
 * (UpdateAttribute, greeting = #{greeting}) -> sink (LogAttribute, stopped),
 * so FlowFiles pile up in tag-to-sink where the test can look at them.
 * Requests are made between runs of the world, from the test itself. */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "env/uv_world.h"
#include "flow/engine.h"
#include "flow/flow_api.h"
#include "flow/flow_json.h"
#include "flow/flow_node.h"
#include "flow/flow_parse.h"
#include "flow/flowfile.h"
#include "flow/params.h"
#include "flow/queue.h"

#define MS 1000000LL

static const char api_flow[] = "flow: api-test\n"
                               "parameter_contexts:\n"
                               "  - name: common\n"
                               "    parameters:\n"
                               "      greeting: hello\n"
                               "      token:\n"
                               "        value: s3cret-value\n"
                               "        sensitive: true\n"
                               "  - name: child\n"
                               "    inherits: [common]\n"
                               "    parameters:\n"
                               "      kind: audio\n"
                               "parameter_context: child\n"
                               "processors:\n"
                               "  - name: generate\n"
                               "    type: GenerateFlowFile\n"
                               "    properties:\n"
                               "      File Size: 8 B\n"
                               "      Batch Size: 5\n"
                               "    run_schedule: 10ms\n"
                               "  - name: tag\n"
                               "    type: UpdateAttribute\n"
                               "    properties:\n"
                               "      greeting: \"#{greeting}\"\n"
                               "  - name: sink\n"
                               "    type: LogAttribute\n"
                               "    state: stopped\n"
                               "    auto_terminate: [success]\n"
                               "connections:\n"
                               "  - name: gen-to-tag\n"
                               "    from: generate\n"
                               "    relationships: [success]\n"
                               "    to: tag\n"
                               "  - name: tag-to-sink\n"
                               "    from: tag\n"
                               "    relationships: [success]\n"
                               "    to: sink\n";

typedef struct fixture {
    char root[64];
    weir_world *w;
    weir_flow_def def;
    weir_flow_node_config cfg;
    weir_flow_api api;
    weir_flow_api_reply reply;
} fixture;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static weir_flow_engine *engine_of(fixture *f)
{
    return weir_flow_node_engine(weir_world_node_state(f->w, "flow"));
}

static fixture *fixture_new(weir_flow_prov_mode prov)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/weir_flow_api_XXXXXX");
    assert_non_null(mkdtemp(f->root));
    char why[512];
    int rc = weir_flow_parse(api_flow, strlen(api_flow), "api.yaml", &f->def, why, sizeof why);
    if (rc != 0) {
        fail_msg("%s", why);
    }
    weir_flow_engine_config_default(&f->cfg.engine);
    f->cfg.engine.provenance = prov;
    f->cfg.def = &f->def;
    f->w = weir_uv_world_new(f->root, 7);
    assert_non_null(f->w);
    assert_int_equal(weir_world_node_add(f->w, "flow", &weir_flow_node_type, &f->cfg), 0);
    assert_int_equal(weir_world_run(f->w, 150 * MS), 0);
    assert_non_null(engine_of(f));
    f->api = (weir_flow_api){.engine = engine_of(f), .flow_name = "api-test", .def = &f->def};
    return f;
}

static int setup(void **state)
{
    *state = fixture_new(WEIR_FLOW_PROV_MEMORY);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    weir_flow_api_reply_free(&f->reply);
    weir_world_destroy(f->w);
    weir_flow_def_free(&f->def);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Makes one request; the reply stays in f->reply until the next one. */
static int call(fixture *f, const char *method, const char *path, const char *query,
                const char *body)
{
    weir_flow_api_reply_free(&f->reply);
    weir_flow_api_request req = {
        .method = method,
        .path = path,
        .query = query,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
    };
    weir_flow_api_handle(&f->api, &req, &f->reply);
    assert_non_null(f->reply.body);
    assert_int_equal(strlen(f->reply.body), f->reply.body_len);
    return f->reply.status;
}

static void assert_body_has(const fixture *f, const char *text)
{
    if (strstr(f->reply.body, text) == NULL) {
        fail_msg("reply %d %s lacks %s", f->reply.status, f->reply.body, text);
    }
}

static void assert_body_lacks(const fixture *f, const char *text)
{
    if (strstr(f->reply.body, text) != NULL) {
        fail_msg("reply %d %s holds %s", f->reply.status, f->reply.body, text);
    }
}

static weir_flow_queue *queue_of(fixture *f, const char *name)
{
    weir_flow_engine *e = engine_of(f);
    int i = weir_flow_engine_connection_find(e, name);
    assert_true(i >= 0);
    return weir_flow_engine_queue(e, (size_t)i);
}

static bool proc_running(fixture *f, const char *name)
{
    weir_flow_engine *e = engine_of(f);
    int i = weir_flow_engine_processor_find(e, name);
    assert_true(i >= 0);
    weir_flow_proc_stats st;
    weir_flow_engine_processor_stats(e, (size_t)i, &st);
    return st.running;
}

/* ---- GET /flow and the lists ---- */

static void get_flow_shows_counters_processors_and_connections(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, "GET", "/flow", NULL, NULL), 200);
    assert_body_has(f, "\"name\":\"api-test\"");
    assert_body_has(f, "\"status\":\"running\"");
    assert_body_has(f, "\"conserved\":true");
    assert_body_has(f, "\"name\":\"generate\",\"type\":\"GenerateFlowFile\",\"running\":true");
    assert_body_has(f, "\"name\":\"sink\",\"type\":\"LogAttribute\",\"running\":false");
    assert_body_has(f, "\"name\":\"tag-to-sink\",\"source\":\"tag\",\"destination\":\"sink\"");
    assert_body_has(f, "\"inputs\":[\"gen-to-tag\"],\"outputs\":[\"tag-to-sink\"]");
    /* the figures are the engine's */
    weir_flow_counters k;
    weir_flow_engine_counters(engine_of(f), &k);
    assert_true(k.created > 0);
    char want[64];
    snprintf(want, sizeof want, "\"created\":%llu,", (unsigned long long)k.created);
    assert_body_has(f, want);
    snprintf(want, sizeof want, "\"queued\":%llu,",
             (unsigned long long)weir_flow_queue_count(queue_of(f, "tag-to-sink")));
    assert_body_has(f, want);

    assert_int_equal(call(f, "GET", "/processors", NULL, NULL), 200);
    assert_body_has(f, "{\"processors\":[{\"name\":\"generate\"");
    assert_int_equal(call(f, "GET", "/connections", NULL, NULL), 200);
    assert_body_has(f, "{\"connections\":[{\"name\":\"gen-to-tag\"");
}

static void unknown_paths_methods_and_a_missing_flow_are_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, "GET", "/nothing", NULL, NULL), 404);
    assert_body_has(f, "{\"error\":\"no such resource: /nothing\"}");
    assert_int_equal(call(f, "GET", "/flow/", NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "flow", NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/processors/tag/start/now", NULL, NULL), 404);
    assert_int_equal(call(f, "DELETE", "/flow", NULL, NULL), 405);
    assert_body_has(f, "DELETE is not allowed on /flow (allowed: GET)");
    assert_int_equal(call(f, "GET", "/processors/tag/stop", NULL, NULL), 405);
    assert_int_equal(call(f, "POST", "/connections/gen-to-tag", NULL, "{}"), 405);
    f->api.engine = NULL;
    assert_int_equal(call(f, "GET", "/flow", NULL, NULL), 503);
    assert_body_has(f, "no running flow");
}

/* ---- processors ---- */

static void a_processor_stops_and_starts_and_its_queue_grows_while_stopped(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, "GET", "/processors/tag", NULL, NULL), 200);
    assert_body_has(f, "\"name\":\"tag\",\"type\":\"UpdateAttribute\",\"running\":true");
    assert_int_equal(call(f, "POST", "/processors/tag/stop", NULL, NULL), 200);
    assert_body_has(f, "\"running\":false");
    assert_false(proc_running(f, "tag"));
    uint64_t before = weir_flow_queue_count(queue_of(f, "gen-to-tag"));
    assert_int_equal(weir_world_run(f->w, 100 * MS), 0);
    uint64_t after = weir_flow_queue_count(queue_of(f, "gen-to-tag"));
    assert_true(after > before);
    assert_int_equal(call(f, "POST", "/processors/tag/start", NULL, NULL), 200);
    assert_body_has(f, "\"running\":true");
    assert_true(proc_running(f, "tag"));
    assert_int_equal(weir_world_run(f->w, 50 * MS), 0);
    assert_true(weir_flow_queue_count(queue_of(f, "gen-to-tag")) < after);

    assert_int_equal(call(f, "POST", "/processors/nope/start", NULL, NULL), 404);
    assert_body_has(f, "no processor 'nope'");
    assert_int_equal(call(f, "GET", "/processors/nope", NULL, NULL), 404);
}

/* ---- connections ---- */

static void a_connection_put_changes_thresholds_prioritizers_and_expiration(void **state)
{
    fixture *f = *state;
    weir_flow_queue *q = queue_of(f, "tag-to-sink");
    uint64_t queued = weir_flow_queue_count(q);
    assert_true(queued > 2);
    assert_false(weir_flow_queue_is_full(q));
    assert_int_equal(call(f, "GET", "/connections/tag-to-sink", NULL, NULL), 200);
    assert_body_has(f, "\"object_threshold\":10000,\"size_threshold_bytes\":1073741824");
    assert_body_has(f, "\"full\":false");

    assert_int_equal(call(f, "PUT", "/connections/tag-to-sink", NULL,
                          "{\"object_threshold\": 2, \"size_threshold\": \"1 MiB\",\n"
                          " \"prioritizers\": [\"newest_first\", \"fifo\"],"
                          " \"expiration\": \"30 sec\"}"),
                     200);
    const weir_flow_queue_config *qc = weir_flow_queue_config_get(q);
    assert_int_equal(qc->object_threshold, 2);
    assert_int_equal(qc->size_threshold_bytes, 1048576);
    assert_int_equal(qc->prioritizers.count, 2);
    assert_int_equal(qc->prioritizers.kinds[0], WEIR_FLOW_PRIO_NEWEST_FIRST);
    assert_int_equal(qc->prioritizers.kinds[1], WEIR_FLOW_PRIO_FIFO);
    assert_int_equal(qc->expiration_ns, 30000 * MS);
    assert_true(weir_flow_queue_is_full(q));
    assert_body_has(f, "\"full\":true,\"object_threshold\":2,\"size_threshold_bytes\":1048576,"
                       "\"expiration_ms\":30000,\"prioritizers\":[\"newest_first\",\"fifo\"]");

    /* a subset leaves the rest alone; a size may be a number of bytes */
    assert_int_equal(call(f, "PUT", "/connections/tag-to-sink", NULL, "{\"size_threshold\": 4096}"),
                     200);
    assert_int_equal(qc->object_threshold, 2);
    assert_int_equal(qc->size_threshold_bytes, 4096);
    assert_int_equal(qc->prioritizers.count, 2);

    /* back pressure: tag stops being scheduled once its output is full */
    assert_int_equal(weir_world_run(f->w, 100 * MS), 0);
    assert_int_equal(call(f, "GET", "/processors/tag", NULL, NULL), 200);
    assert_body_has(f, "\"blocked_by_back_pressure\":true");
    assert_int_equal(call(f, "PUT", "/connections/tag-to-sink", NULL, "{\"object_threshold\": 0}"),
                     200);
    assert_false(weir_flow_queue_is_full(q));
}

static void a_bad_connection_put_names_the_field_and_changes_nothing(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *body;
        const char *error;
    } cases[] = {
        {"{\"object_threshold\": -1}", "field 'object_threshold': expected a whole number"},
        {"{\"object_threshold\": 1.5}", "field 'object_threshold': expected a whole number"},
        {"{\"object_threshold\": \"5\"}", "field 'object_threshold': expected a whole number"},
        {"{\"size_threshold\": \"lots\"}", "field 'size_threshold': expected a data size"},
        {"{\"size_threshold\": true}", "field 'size_threshold': expected a data size"},
        {"{\"prioritizers\": \"fifo\"}",
         "field 'prioritizers': expected an array of prioritizer names, got a string"},
        {"{\"prioritizers\": [\"fifo\", \"loudest\"]}",
         "field 'prioritizers': item 2: unknown prioritizer 'loudest'"},
        {"{\"prioritizers\": [\"fifo\", 3]}", "field 'prioritizers': item 2: expected a string"},
        {"{\"prioritizers\": [\"fifo\",\"fifo\",\"fifo\",\"fifo\",\"fifo\"]}",
         "field 'prioritizers': at most 4 prioritizers"},
        {"{\"expiration\": \"soon\"}", "field 'expiration': expected a time period"},
        {"{\"expiration\": 30}", "field 'expiration': expected a time period"},
        {"{\"object_threshold\": 5, \"colour\": \"red\"}",
         "field 'colour': unknown (expected object_threshold, size_threshold, prioritizers or "
         "expiration)"},
        {"{\"object_threshold\": 5, \"object_threshold\": 6}",
         "field 'object_threshold': given twice"},
        {"{\"object_threshold\": {\"n\": 5}}", "field 'object_threshold': nested objects"},
        {"{}", "nothing to change"},
        {"", "offset 0: expected a JSON object"},
        {"{\"object_threshold\" 5}", "offset 20: expected ':' after \\\"object_threshold\\\""},
        {"{\"object_threshold\": 5} x", "unexpected text after the object"},
        {"[1]", "expected a JSON object"},
    };
    weir_flow_queue *q = queue_of(f, "tag-to-sink");
    weir_flow_queue_config before = *weir_flow_queue_config_get(q);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = call(f, "PUT", "/connections/tag-to-sink", NULL, cases[i].body);
        if (status != 400 || strstr(f->reply.body, cases[i].error) == NULL) {
            fail_msg("body %s: got %d %s, want 400 with %s", cases[i].body, status, f->reply.body,
                     cases[i].error);
        }
        const weir_flow_queue_config *now = weir_flow_queue_config_get(q);
        assert_int_equal(now->object_threshold, before.object_threshold);
        assert_int_equal(now->size_threshold_bytes, before.size_threshold_bytes);
        assert_int_equal(now->expiration_ns, before.expiration_ns);
        assert_int_equal(now->prioritizers.count, before.prioritizers.count);
    }
    assert_int_equal(call(f, "PUT", "/connections/nope", NULL, "{\"object_threshold\": 5}"), 404);
    assert_body_has(f, "no connection 'nope'");
}

/* ---- parameter contexts ---- */

static void parameter_contexts_are_listed_with_sensitive_values_masked(void **state)
{
    fixture *f = *state;
    assert_int_equal(call(f, "GET", "/parameter-contexts", NULL, NULL), 200);
    assert_body_has(f, "{\"name\":\"common\",\"inherits\":[],\"parameters\":["
                       "{\"name\":\"greeting\",\"value\":\"hello\",\"sensitive\":false,"
                       "\"description\":\"\"},"
                       "{\"name\":\"token\",\"value\":\"********\",\"sensitive\":true,");
    assert_body_has(f, "{\"name\":\"child\",\"inherits\":[\"common\"],\"parameters\":["
                       "{\"name\":\"kind\",\"value\":\"audio\"");
    assert_body_lacks(f, "s3cret");
    /* the parameters come from the engine: one defined at run time shows,
     * and without the definition nothing changes */
    struct weir_param_ctx *child =
        weir_params_find_ctx(weir_flow_engine_params(engine_of(f)), "child");
    assert_int_equal(weir_param_ctx_set(child, "late", "added", false, "at run time", NULL, 0), 0);
    f->api.def = NULL;
    assert_int_equal(call(f, "GET", "/parameter-contexts", NULL, NULL), 200);
    assert_body_has(f, "{\"name\":\"child\",\"inherits\":[\"common\"],\"parameters\":["
                       "{\"name\":\"kind\",\"value\":\"audio\",\"sensitive\":false,"
                       "\"description\":\"\"},"
                       "{\"name\":\"late\",\"value\":\"added\",\"sensitive\":false,"
                       "\"description\":\"at run time\"}]}");
    assert_body_has(f, "\"name\":\"token\",\"value\":\"********\"");
    assert_body_lacks(f, "s3cret");
    assert_int_equal(weir_param_ctx_param_count(child), 2);
    assert_string_equal(weir_param_name(weir_param_ctx_param_at(child, 1)), "late");
}

/* ---- the engine's public accessors the API is built on ---- */

static void the_engine_names_types_and_connection_ends_and_says_whether_it_runs(void **state)
{
    fixture *f = *state;
    weir_flow_engine *e = engine_of(f);
    assert_true(weir_flow_engine_running(e));
    int gen = weir_flow_engine_processor_find(e, "generate");
    int tag = weir_flow_engine_processor_find(e, "tag");
    int sink = weir_flow_engine_processor_find(e, "sink");
    assert_true(gen >= 0 && tag >= 0 && sink >= 0);
    assert_string_equal(weir_flow_engine_processor_type(e, (size_t)gen), "GenerateFlowFile");
    assert_string_equal(weir_flow_engine_processor_type(e, (size_t)sink), "LogAttribute");
    int c = weir_flow_engine_connection_find(e, "tag-to-sink");
    assert_true(c >= 0);
    size_t src = 99, dst = 99;
    weir_flow_engine_connection_ends(e, (size_t)c, &src, &dst);
    assert_int_equal(src, (size_t)tag);
    assert_int_equal(dst, (size_t)sink);
    weir_flow_engine_connection_ends(e, (size_t)c, NULL, &dst); /* either may be NULL */
    assert_int_equal(dst, (size_t)sink);
    assert_int_equal(call(f, "GET", "/connections/tag-to-sink", NULL, NULL), 200);
    assert_body_has(f, "\"source\":\"tag\",\"destination\":\"sink\"");
    /* after a shutdown it no longer runs, and the API says so */
    assert_int_equal(weir_flow_engine_shutdown(e), 0);
    assert_false(weir_flow_engine_running(e));
    assert_int_equal(call(f, "GET", "/flow", NULL, NULL), 503);
}

static void a_parameter_put_changes_the_value_the_processors_use(void **state)
{
    fixture *f = *state;
    /* newest first, so the queue's head is the latest FlowFile tagged */
    assert_int_equal(
        call(f, "PUT", "/connections/tag-to-sink", NULL, "{\"prioritizers\": [\"newest_first\"]}"),
        200);
    assert_int_equal(call(f, "PUT", "/parameter-contexts/common/parameters/greeting", NULL,
                          "{\"value\": \"bonjour \\u00e0 \\\"tous\\\"\"}"),
                     200);
    assert_body_has(f, "{\"context\":\"common\",\"parameter\":{\"name\":\"greeting\","
                       "\"value\":\"bonjour \xc3\xa0 \\\"tous\\\"\"");
    struct weir_param_ctx *ctx =
        weir_params_find_ctx(weir_flow_engine_params(engine_of(f)), "common");
    assert_string_equal(weir_param_value(weir_param_ctx_find(ctx, "greeting", NULL)),
                        "bonjour \xc3\xa0 \"tous\"");
    assert_int_equal(weir_world_run(f->w, 100 * MS), 0);
    const weir_flowfile *head = NULL;
    assert_int_equal(weir_flow_queue_peek(queue_of(f, "tag-to-sink"),
                                          weir_now_ns(weir_flow_engine_env(engine_of(f))), &head),
                     0);
    assert_non_null(head);
    assert_string_equal(weir_flowfile_attr_get(head, "greeting"), "bonjour \xc3\xa0 \"tous\"");

    /* a sensitive one is changed and still not shown */
    assert_int_equal(call(f, "PUT", "/parameter-contexts/common/parameters/token", NULL,
                          "{\"value\": \"new-secret\"}"),
                     200);
    assert_body_has(f, "\"value\":\"********\",\"sensitive\":true");
    assert_body_lacks(f, "new-secret");
    assert_string_equal(weir_param_value(weir_param_ctx_find(ctx, "token", NULL)), "new-secret");
}

static void a_bad_parameter_put_is_refused_with_a_reason(void **state)
{
    fixture *f = *state;
    const char *path = "/parameter-contexts/common/parameters/greeting";
    assert_int_equal(call(f, "PUT", path, NULL, "{}"), 400);
    assert_body_has(f, "field 'value': missing");
    assert_int_equal(call(f, "PUT", path, NULL, "{\"value\": 5}"), 400);
    assert_body_has(f, "field 'value': expected a string, got a number");
    assert_int_equal(call(f, "PUT", path, NULL, "{\"value\": \"x\", \"sensitive\": true}"), 400);
    assert_body_has(f, "field 'sensitive': unknown (expected value)");
    assert_int_equal(call(f, "PUT", path, NULL, "{\"value\": \"a\\u0000b\"}"), 400);
    assert_body_has(f, "field 'value': \\\\u0000 is not accepted");
    assert_int_equal(
        call(f, "PUT", "/parameter-contexts/nope/parameters/greeting", NULL, "{\"value\": \"x\"}"),
        404);
    assert_body_has(f, "no parameter context 'nope'");
    assert_int_equal(
        call(f, "PUT", "/parameter-contexts/common/parameters/nope", NULL, "{\"value\": \"x\"}"),
        404);
    assert_body_has(f, "no parameter 'nope' in context 'common'");
    assert_int_equal(
        call(f, "PUT", "/parameter-contexts/child/parameters/greeting", NULL, "{\"value\": \"x\"}"),
        404);
    assert_body_has(f, "inherited from 'common'");
    assert_int_equal(call(f, "GET", path, NULL, NULL), 405);
    struct weir_param_ctx *ctx =
        weir_params_find_ctx(weir_flow_engine_params(engine_of(f)), "common");
    assert_string_equal(weir_param_value(weir_param_ctx_find(ctx, "greeting", NULL)), "hello");
}

/* ---- provenance ---- */

static void provenance_gives_the_lineage_of_one_flowfile(void **state)
{
    fixture *f = *state;
    const weir_flowfile *head = NULL;
    assert_int_equal(weir_flow_queue_peek(queue_of(f, "tag-to-sink"),
                                          weir_now_ns(weir_flow_engine_env(engine_of(f))), &head),
                     0);
    assert_non_null(head);
    char uuid[WEIR_UUID_STR_BYTES];
    weir_uuid_format(&head->uuid, uuid);
    char query[80];
    snprintf(query, sizeof query, "uuid=%s", uuid);
    assert_int_equal(call(f, "GET", "/provenance", query, NULL), 200);
    char want[128];
    snprintf(want, sizeof want, "{\"uuid\":\"%s\",\"events\":[{\"id\":", uuid);
    assert_body_has(f, want);
    assert_body_has(f, "\"type\":\"CREATE\"");
    assert_body_has(f, "\"component\":\"generate\"");
    assert_body_has(f, "\"type\":\"ATTRIBUTES_MODIFIED\"");
    assert_body_has(f, "\"component\":\"tag\"");

    assert_int_equal(call(f, "GET", "/provenance", NULL, NULL), 400);
    assert_body_has(f, "query 'uuid': missing");
    assert_int_equal(call(f, "GET", "/provenance", "uuid=12345", NULL), 400);
    assert_body_has(f, "query 'uuid': expected a FlowFile uuid");
    assert_int_equal(call(f, "GET", "/provenance", "id=1", NULL), 400);
    assert_body_has(f, "query 'id': unknown (expected uuid)");
    assert_int_equal(call(f, "GET", "/provenance", "uuid=%zz", NULL), 400);
    assert_body_has(f, "query: malformed");
    assert_int_equal(
        call(f, "GET", "/provenance", "uuid=00000000-0000-4000-8000-000000000000", NULL), 404);
    assert_body_has(f, "no provenance event names FlowFile 00000000-0000-4000-8000-000000000000");
    /* percent-encoded keys and values are decoded */
    snprintf(query, sizeof query, "%%75uid=%.8s%%2D%s", uuid, uuid + 9);
    assert_int_equal(call(f, "GET", "/provenance", query, NULL), 200);
}

static void provenance_off_is_a_conflict(void **state)
{
    (void)state;
    fixture *f = fixture_new(WEIR_FLOW_PROV_OFF);
    assert_int_equal(
        call(f, "GET", "/provenance", "uuid=00000000-0000-4000-8000-000000000000", NULL), 409);
    assert_body_has(f, "provenance is off");
    void *st = f;
    teardown(&st);
}

/* ---- JSON ---- */

static void the_json_writer_escapes_everything_a_flowfile_may_hold(void **state)
{
    (void)state;
    weir_json_writer w;
    weir_json_init(&w);
    weir_json_object_begin(&w);
    weir_json_field_string(&w, "q\"k", "a\"b\\c\n\t\x01/");
    weir_json_key(&w, "bad utf8");
    weir_json_string_len(&w, "x\xff\xc3(\xe2\x82\xacy", 8);
    weir_json_field_i64(&w, "neg", -42);
    weir_json_key(&w, "list");
    weir_json_array_begin(&w);
    weir_json_null(&w);
    weir_json_bool(&w, false);
    weir_json_array_begin(&w);
    weir_json_array_end(&w);
    weir_json_string(&w, NULL);
    weir_json_array_end(&w);
    weir_json_object_end(&w);
    size_t len = 0;
    char *text = weir_json_take(&w, &len);
    assert_non_null(text);
    assert_string_equal(text, "{\"q\\\"k\":\"a\\\"b\\\\c\\n\\t\\u0001/\","
                              "\"bad utf8\":\"x\\ufffd\\ufffd(\xe2\x82\xacy\","
                              "\"neg\":-42,\"list\":[null,false,[],null]}");
    assert_int_equal(len, strlen(text));
    free(text);
}

static void the_json_reader_reads_flat_objects_strictly(void **state)
{
    (void)state;
    weir_json_flat o;
    char why[256];
    const char *ok = " {\"s\": \"\\u00e9\\ud83d\\ude00\\/\\b\", \"n\": -1.5e3, \"t\": true,"
                     " \"f\": false, \"z\": null, \"a\": [], \"b\": [\"x\", \"y\"]} ";
    assert_int_equal(weir_json_flat_parse(ok, strlen(ok), &o, why, sizeof why), 0);
    assert_int_equal(o.count, 7);
    assert_string_equal(weir_json_flat_find(&o, "s")->text, "\xc3\xa9\xf0\x9f\x98\x80/\b");
    assert_string_equal(weir_json_flat_find(&o, "n")->text, "-1.5e3");
    assert_true(weir_json_flat_find(&o, "t")->boolean);
    assert_int_equal(weir_json_flat_find(&o, "f")->kind, WEIR_JSON_BOOL);
    assert_false(weir_json_flat_find(&o, "f")->boolean);
    assert_int_equal(weir_json_flat_find(&o, "z")->kind, WEIR_JSON_NULL);
    assert_int_equal(weir_json_flat_find(&o, "a")->item_count, 0);
    assert_int_equal(weir_json_flat_find(&o, "b")->item_count, 2);
    assert_string_equal(weir_json_flat_find(&o, "b")->items[1], "y");
    assert_null(weir_json_flat_find(&o, "nope"));
    weir_json_flat_free(&o);

    static const struct {
        const char *text;
        const char *error;
    } bad[] = {
        {"{\"a\": 01}", "expected ',' or '}'"},
        {"{\"a\": 1.}", "field 'a': a number needs digits after '.'"},
        {"{\"a\": -}", "field 'a': expected a value"},
        {"{\"a\": \"\\x\"}", "unknown escape"},
        {"{\"a\": \"\\ud800\"}", "a high surrogate without its low one"},
        {"{\"a\": \"\\udc00\"}", "a lone low surrogate"},
        {"{\"a\": \"x\ny\"}", "a control character in a string"},
        {"{\"a\": \"open}", "field 'a': a string is not closed"},
        {"{\"a\": tru}", "field 'a': expected a value"},
        {"{\"a\": 1,}", "expected a field name"},
        {"{a: 1}", "offset 1: expected a field name in double quotes"},
        {"{\"a\": [\"x\" \"y\"]}", "field 'a': expected ',' or ']' after item 1"},
        {"{\"a\": [[]]}", "field 'a': item 1: expected a string"},
        {"{\"a\": 1", "expected ',' or '}'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        int rc = weir_json_flat_parse(bad[i].text, strlen(bad[i].text), &o, why, sizeof why);
        if (rc != WEIR_E_INVAL || strstr(why, bad[i].error) == NULL) {
            fail_msg("%s: got %d '%s', want '%s'", bad[i].text, rc, why, bad[i].error);
        }
        weir_json_flat_free(&o);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(get_flow_shows_counters_processors_and_connections),
        T(unknown_paths_methods_and_a_missing_flow_are_errors),
        T(a_processor_stops_and_starts_and_its_queue_grows_while_stopped),
        T(a_connection_put_changes_thresholds_prioritizers_and_expiration),
        T(a_bad_connection_put_names_the_field_and_changes_nothing),
        T(parameter_contexts_are_listed_with_sensitive_values_masked),
        T(a_parameter_put_changes_the_value_the_processors_use),
        T(a_bad_parameter_put_is_refused_with_a_reason),
        T(the_engine_names_types_and_connection_ends_and_says_whether_it_runs),
        T(provenance_gives_the_lineage_of_one_flowfile),
        cmocka_unit_test(provenance_off_is_a_conflict),
        cmocka_unit_test(the_json_writer_escapes_everything_a_flowfile_may_hold),
        cmocka_unit_test(the_json_reader_reads_flat_objects_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
