/* Flow files: every file in flows/ parses and reads back as its comments
 * say; a file that sets every key reads back field by field, and defaults
 * fill what is not written; a definition written out parses back equal
 * (every key, every example); each kind of mistake gives its exact message
 * with line and column; lookups and inherited parameters resolve nearest
 * first; damaged input (every prefix, random byte damage) fails cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/prng.h"
#include "flow/flow_def.h"
#include "flow/flow_parse.h"
#include "yaml_fixture.h"

/* ---- helpers ---- */

/* flows/, from this file's own path (tests/unit/test_flow_parse.c). */
static void flows_dir(char *buf, size_t size)
{
    const char *self = __FILE__;
    const char *cut = strstr(self, "tests/unit/test_flow_parse.c");
    assert_non_null(cut);
    snprintf(buf, size, "%.*sflows", (int)(cut - self), self);
}

/* Parses flows/NAME, which must succeed. */
static void parse_example(const char *name, weir_flow_def *def)
{
    char dir[1024], path[1200];
    flows_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *text = read_file(path, &len);
    char why[1024];
    int rc = weir_flow_parse(text, len, name, def, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    free(text);
}

static void expect_error_text(const char *text, const char *message)
{
    weir_flow_def def;
    char why[1024];
    int rc = weir_flow_parse(text, strlen(text), "f.yaml", &def, why, sizeof why);
    if (rc == 0 || strcmp(why, message) != 0) {
        print_message("expected: %s\n     got: %s\n", message, rc == 0 ? "(parsed)" : why);
    }
    assert_int_equal(rc, WEIR_E_INVAL);
    assert_string_equal(why, message);
    assert_null(def.arena); /* a failed parse leaves nothing to free */
    assert_int_equal(def.processor_count, 0);
    weir_flow_def_free(&def);
}

/* Line numbers matter: the messages below name them. */
static const char BASE[] = "flow: t\n"                                   /* 1 */
                           "parameter_contexts:\n"                       /* 2 */
                           "  - name: common\n"                          /* 3 */
                           "    parameters:\n"                           /* 4 */
                           "      dir: /tmp/out\n"                       /* 5 */
                           "  - name: child\n"                           /* 6 */
                           "    inherits: [common]\n"                    /* 7 */
                           "    parameters:\n"                           /* 8 */
                           "      topic: events\n"                       /* 9 */
                           "parameter_context: common\n"                 /* 10 */
                           "processors:\n"                               /* 11 */
                           "  - name: gen\n"                             /* 12 */
                           "    type: GenerateFlowFile\n"                /* 13 */
                           "    properties:\n"                           /* 14 */
                           "      Batch Size: 10\n"                      /* 15 */
                           "  - name: put\n"                             /* 16 */
                           "    type: PutFile\n"                         /* 17 */
                           "    properties:\n"                           /* 18 */
                           "      Directory: \"#{dir}\"\n"               /* 19 */
                           "    auto_terminate: [success, failure]\n"    /* 20 */
                           "connections:\n"                              /* 21 */
                           "  - from: gen\n"                             /* 22 */
                           "    relationships: [success]\n"              /* 23 */
                           "    to: put\n"                               /* 24 */
                           "  - from: gen\n"                             /* 25 */
                           "    relationships: [success]\n"              /* 26 */
                           "    to: in\n"                                /* 27 */
                           "groups:\n"                                   /* 28 */
                           "  - name: sub\n"                             /* 29 */
                           "    parameter_context: child\n"              /* 30 */
                           "    input_ports: [in]\n"                     /* 31 */
                           "    output_ports: [out]\n"                   /* 32 */
                           "    processors:\n"                           /* 33 */
                           "      - name: pub\n"                         /* 34 */
                           "        type: PublishKafka\n"                /* 35 */
                           "        properties:\n"                       /* 36 */
                           "          Topic Name: \"#{topic}\"\n"        /* 37 */
                           "    connections:\n"                          /* 38 */
                           "      - from: in\n"                          /* 39 */
                           "        to: pub\n"                           /* 40 */
                           "      - from: pub\n"                         /* 41 */
                           "        relationships: [success, failure]\n" /* 42 */
                           "        to: out\n";                          /* 43 */

/* Replaces old by repl in BASE and expects message. */
static void expect_error(const char *old, const char *repl, const char *message)
{
    char *text = with(BASE, old, repl);
    expect_error_text(text, message);
    free(text);
}

/* ---- the example files ---- */

static void test_flow_parse_every_example_file_parses(void **state)
{
    (void)state;
    char dir[1024];
    flows_dir(dir, sizeof dir);
    char *names[64];
    size_t n = yaml_files(dir, names, 64);
    assert_true(n >= 4); /* the issue's four pipelines at least */
    for (size_t i = 0; i < n; i++) {
        weir_flow_def def;
        parse_example(names[i], &def);
        assert_true(def.group_count >= 1);
        assert_int_equal(def.groups[0].parent_index, -1);
        assert_string_equal(def.groups[0].name, def.name);
        assert_true(def.processor_count >= 3);
        assert_true(def.connection_count >= 2);
        weir_flow_def_free(&def);
        assert_null(def.arena);
        free(names[i]);
    }
}

static const weir_flow_connection *connection_to(const weir_flow_def *def, const char *dest)
{
    for (size_t i = 0; i < def->connection_count; i++) {
        if (strcmp(weir_flow_def_endpoint_name(def, def->connections[i].destination), dest) == 0) {
            return &def->connections[i];
        }
    }
    fail_msg("no connection to %s", dest);
    return NULL;
}

static void test_flow_parse_viral_spike_has_a_10000_object_threshold_on_p3s_input(void **state)
{
    (void)state;
    weir_flow_def def;
    parse_example("viral-spike.yaml", &def);
    assert_string_equal(def.name, "viral-spike");
    assert_int_equal(def.processor_count, 3);
    assert_string_equal(def.processors[1].type, "DuplicateFlowFile");
    assert_string_equal(weir_flow_def_property(&def, 1, "Number of Copies"), "999999");
    const weir_flow_connection *c = connection_to(&def, "P3");
    assert_string_equal(c->name, "spike");
    assert_string_equal(weir_flow_def_endpoint_name(&def, c->source), "P2");
    assert_int_equal(c->object_threshold, 10000);
    assert_int_equal(c->size_threshold_bytes, 1ULL << 30);
    assert_int_equal(c->swap_threshold, 20000);
    assert_int_equal(def.processors[0].run_schedule_ns, 3600LL * 1000000000LL);
    weir_flow_def_free(&def);
}

static void test_flow_parse_media_pipelines_inherit_the_common_context(void **state)
{
    (void)state;
    weir_flow_def def;
    parse_example("media-pipelines.yaml", &def);
    assert_int_equal(def.group_count, 4);
    int common = weir_flow_def_context_find(&def, "common");
    assert_true(common >= 0);
    const char *pipelines[] = {"audio-pipeline", "image-pipeline", "video-pipeline"};
    const char *kinds[] = {"audio", "image", "video"};
    for (int i = 0; i < 3; i++) {
        int g = weir_flow_def_group_find(&def, pipelines[i]);
        assert_true(g > 0);
        assert_int_equal(def.groups[g].parent_index, 0);
        int ctx = def.groups[g].context_index;
        assert_int_equal(def.contexts[ctx].inherit_count, 1);
        assert_int_equal(def.contexts[ctx].inherits[0], common);
        /* the shared parameter is common's own, seen through each pipeline */
        assert_ptr_equal(weir_flow_def_param_find(&def, ctx, "output_root"),
                         weir_flow_def_param_find(&def, common, "output_root"));
        assert_string_equal(weir_flow_def_param_find(&def, ctx, "kind")->value, kinds[i]);
    }
    const weir_flow_param *token = weir_flow_def_param_find(&def, common, "api_token");
    assert_true(token->sensitive);
    assert_string_equal(token->description, "the media service's token (never printed)");
    /* the router reaches each group through its input port */
    const weir_flow_connection *c = connection_to(&def, "video-in");
    assert_int_equal(c->destination.kind, WEIR_FLOW_EP_PORT);
    assert_int_equal(def.ports[c->destination.index].kind, WEIR_FLOW_PORT_INPUT);
    assert_string_equal(c->relationships[0], "video");
    assert_string_equal(c->name, "route-by-type:video->video-in");
    weir_flow_def_free(&def);
}

static void test_flow_parse_kafka_to_merge_keeps_kafka_settings_in_properties(void **state)
{
    (void)state;
    weir_flow_def def;
    parse_example("kafka-to-merge.yaml", &def);
    int consume = weir_flow_def_processor_find(&def, "consume");
    int merge = weir_flow_def_processor_find(&def, "merge");
    int publish = weir_flow_def_processor_find(&def, "publish");
    assert_string_equal(def.processors[consume].type, "ConsumeKafka");
    assert_string_equal(def.processors[merge].type, "MergeContent");
    assert_string_equal(def.processors[publish].type, "PublishKafka");
    /* parameter references stay as written: the engine substitutes them */
    assert_string_equal(weir_flow_def_property(&def, consume, "Topic Name(s)"), "#{input_topic}");
    assert_string_equal(weir_flow_def_property(&def, consume, "Offset Reset"), "earliest");
    int retry = weir_flow_def_connection_find(&def, "publish-retries");
    assert_true(retry >= 0);
    const weir_flow_connection *c = &def.connections[retry];
    assert_true(c->source.kind == c->destination.kind && c->source.index == c->destination.index);
    assert_int_equal(c->prioritizers[0], WEIR_FLOW_PRIO_OLDEST_FIRST);
    assert_int_equal(def.processors[publish].penalty_ns, 1000000000LL);
    weir_flow_def_free(&def);
}

static void test_flow_parse_file_pipeline_chains_four_processors(void **state)
{
    (void)state;
    weir_flow_def def;
    parse_example("file-pipeline.yaml", &def);
    const char *chain[] = {"GenerateFlowFile", "UpdateAttribute", "RouteOnAttribute", "PutFile"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(def.processors[i].type, chain[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(def.connections[i].source.index, (int)i);
        assert_int_equal(def.connections[i].destination.index, (int)i + 1);
    }
    const weir_flow_connection *c = &def.connections[2];
    assert_int_equal(c->prioritizer_count, 2);
    assert_int_equal(c->prioritizers[0], WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE);
    assert_int_equal(c->expiration_ns, 600LL * 1000000000LL);
    assert_int_equal(def.processors[3].concurrent_tasks, 2);
    weir_flow_def_free(&def);
}

/* ---- every key reads back; defaults fill the rest ---- */

static const char FULL[] = "flow: full\n"
                           "description: every key\n"
                           "swap_threshold: 30000\n"
                           "defaults:\n"
                           "  object_threshold: 500\n"
                           "  size_threshold: 2 MiB\n"
                           "  expiration: 90s\n"
                           "  penalty_duration: 5s\n"
                           "  yield_duration: 250ms\n"
                           "parameter_contexts:\n"
                           "  - name: base\n"
                           "    description: the bottom\n"
                           "    parameters:\n"
                           "      shared: from-base\n"
                           "      deep: only-base\n"
                           "  - name: mid\n"
                           "    inherits: [base]\n"
                           "    parameters:\n"
                           "      shared: from-mid\n"
                           "  - name: top\n"
                           "    inherits: [mid, base]\n"
                           "    parameters:\n"
                           "      secret: { value: s3cr3t, sensitive: true, description: a key }\n"
                           "      empty:\n"
                           "parameter_context: top\n"
                           "processors:\n"
                           "  - name: a\n"
                           "    type: GenerateFlowFile\n"
                           "    properties:\n"
                           "      Custom Text: \"#{shared} ##{literal} ${filename}\"\n"
                           "      Empty:\n"
                           "    run_schedule: 2s\n"
                           "    concurrent_tasks: 4\n"
                           "    penalty_duration: 45s\n"
                           "    yield_duration: 3s\n"
                           "    auto_terminate: [failure]\n"
                           "    state: stopped\n"
                           "  - { name: b, type: LogAttribute }\n"
                           "connections:\n"
                           "  - name: a-to-b\n"
                           "    from: a\n"
                           "    relationships: [success, retry]\n"
                           "    to: b\n"
                           "    object_threshold: 7\n"
                           "    size_threshold: 3KB\n"
                           "    prioritizers: [newest_first, priority_attribute, fifo, "
                           "oldest_first]\n"
                           "    expiration: 1m\n"
                           "    swap_threshold: 11\n"
                           "  - { from: b, relationships: success, to: g-in }\n"
                           "  - { from: g-out, to: b }\n"
                           "groups:\n"
                           "  - name: g\n"
                           "    parameter_context: base\n"
                           "    input_ports: [g-in]\n"
                           "    output_ports: [g-out]\n"
                           "    processors:\n"
                           "      - { name: c, type: UpdateAttribute, properties: { x: "
                           "\"#{deep}\" } }\n"
                           "    connections:\n"
                           "      - { from: g-in, to: c }\n"
                           "      - { from: c, relationships: [success], to: g-out }\n"
                           "    groups:\n"
                           "      - name: inner\n";

static void test_flow_parse_every_key_reads_back(void **state)
{
    (void)state;
    weir_flow_def def;
    char why[1024];
    int rc = weir_flow_parse(FULL, strlen(FULL), "full.yaml", &def, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n", why);
    }
    assert_int_equal(rc, 0);
    assert_string_equal(def.name, "full");
    assert_string_equal(def.description, "every key");
    assert_int_equal(def.swap_threshold, 30000);
    /* contexts */
    assert_int_equal(def.context_count, 3);
    assert_string_equal(def.contexts[0].description, "the bottom");
    assert_int_equal(def.contexts[2].inherit_count, 2);
    assert_int_equal(def.contexts[2].inherits[0], 1);
    assert_int_equal(def.contexts[2].inherits[1], 0);
    const weir_flow_param *secret = &def.contexts[2].params[0];
    assert_string_equal(secret->name, "secret");
    assert_string_equal(secret->value, "s3cr3t");
    assert_true(secret->sensitive);
    assert_string_equal(secret->description, "a key");
    assert_int_equal(secret->mark.line, 23);
    assert_string_equal(def.contexts[2].params[1].value, "");
    assert_false(def.contexts[2].params[1].sensitive);
    /* groups: root, g, inner (pre-order) */
    assert_int_equal(def.group_count, 3);
    assert_int_equal(def.groups[0].context_index, 2);
    assert_string_equal(def.groups[1].name, "g");
    assert_int_equal(def.groups[1].context_index, 0);
    assert_int_equal(def.groups[1].depth, 1);
    assert_string_equal(def.groups[2].name, "inner");
    assert_int_equal(def.groups[2].parent_index, 1);
    assert_int_equal(def.groups[2].depth, 2);
    assert_int_equal(def.groups[2].context_index, -1); /* no fallback to the parent's */
    /* processors */
    const weir_flow_processor *a = &def.processors[0];
    assert_string_equal(a->type, "GenerateFlowFile");
    assert_int_equal(a->property_count, 2);
    assert_string_equal(a->properties[0].name, "Custom Text");
    assert_string_equal(a->properties[0].value, "#{shared} ##{literal} ${filename}");
    assert_int_equal(a->properties[0].mark.line, 30);
    assert_int_equal(a->properties[0].mark.column, 7);
    assert_string_equal(a->properties[1].value, "");
    assert_int_equal(a->run_schedule_ns, 2000000000LL);
    assert_int_equal(a->concurrent_tasks, 4);
    assert_int_equal(a->penalty_ns, 45000000000LL);
    assert_int_equal(a->yield_ns, 3000000000LL);
    assert_int_equal(a->auto_terminated_count, 1);
    assert_string_equal(a->auto_terminated[0], "failure");
    assert_int_equal(a->state, WEIR_FLOW_STOPPED);
    assert_int_equal(a->mark.line, 27);
    assert_int_equal(a->mark.column, 5);
    /* b takes the file's defaults */
    const weir_flow_processor *b = &def.processors[1];
    assert_int_equal(b->run_schedule_ns, 0);
    assert_int_equal(b->concurrent_tasks, 1);
    assert_int_equal(b->penalty_ns, 5000000000LL);
    assert_int_equal(b->yield_ns, 250000000LL);
    assert_int_equal(b->state, WEIR_FLOW_RUNNING);
    assert_int_equal(def.processors[2].group_index, 1);
    /* connections: every key, then the defaults */
    assert_int_equal(def.connection_count, 5);
    const weir_flow_connection *c = &def.connections[0];
    assert_string_equal(c->name, "a-to-b");
    assert_int_equal(c->group_index, 0);
    assert_int_equal(c->relationship_count, 2);
    assert_string_equal(c->relationships[1], "retry");
    assert_int_equal(c->object_threshold, 7);
    assert_int_equal(c->size_threshold_bytes, 3000);
    assert_int_equal(c->prioritizer_count, 4);
    assert_int_equal(c->prioritizers[0], WEIR_FLOW_PRIO_NEWEST_FIRST);
    assert_int_equal(c->prioritizers[1], WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE);
    assert_int_equal(c->prioritizers[2], WEIR_FLOW_PRIO_FIFO);
    assert_int_equal(c->prioritizers[3], WEIR_FLOW_PRIO_OLDEST_FIRST);
    assert_int_equal(c->expiration_ns, 60000000000LL);
    assert_int_equal(c->swap_threshold, 11);
    const weir_flow_connection *d = &def.connections[1];
    assert_string_equal(d->name, "b:success->g-in");
    assert_int_equal(d->relationship_count, 1); /* a single name for a list of one */
    assert_int_equal(d->object_threshold, 500);
    assert_int_equal(d->size_threshold_bytes, 2ULL << 20);
    assert_int_equal(d->expiration_ns, 90000000000LL);
    assert_int_equal(d->swap_threshold, 30000);
    assert_int_equal(d->prioritizer_count, 0);
    const weir_flow_connection *e = &def.connections[2];
    assert_string_equal(e->name, "g-out->b");
    assert_int_equal(e->source.kind, WEIR_FLOW_EP_PORT);
    assert_int_equal(e->relationship_count, 0);
    assert_int_equal(def.connections[3].group_index, 1);
    /* ports */
    assert_int_equal(def.port_count, 2);
    assert_int_equal(def.ports[1].kind, WEIR_FLOW_PORT_OUTPUT);
    assert_int_equal(def.ports[1].group_index, 1);
    weir_flow_def_free(&def);
    weir_flow_def_free(&def); /* twice is fine */
}

static void test_flow_parse_fills_nifi_defaults(void **state)
{
    (void)state;
    static const char text[] = "flow: d\n"
                               "processors: [{ name: a, type: X }, { name: b, type: Y }]\n"
                               "connections: [{ from: a, relationships: [success], to: b }]\n";
    weir_flow_def def;
    assert_int_equal(weir_flow_parse(text, strlen(text), "d.yaml", &def, NULL, 0), 0);
    assert_string_equal(def.description, "");
    assert_int_equal(def.swap_threshold, 20000);
    assert_int_equal(def.context_count, 0);
    assert_int_equal(def.groups[0].context_index, -1);
    const weir_flow_processor *p = &def.processors[0];
    assert_int_equal(p->run_schedule_ns, 0);
    assert_int_equal(p->concurrent_tasks, 1);
    assert_int_equal(p->penalty_ns, 30LL * 1000000000LL);
    assert_int_equal(p->yield_ns, 1000000000LL);
    assert_int_equal(p->property_count, 0);
    assert_int_equal(p->auto_terminated_count, 0);
    assert_int_equal(p->state, WEIR_FLOW_RUNNING);
    const weir_flow_connection *c = &def.connections[0];
    assert_int_equal(c->object_threshold, 10000);
    assert_int_equal(c->size_threshold_bytes, 1073741824ULL);
    assert_int_equal(c->expiration_ns, 0);
    assert_int_equal(c->swap_threshold, 20000);
    assert_int_equal(c->prioritizer_count, 0);
    weir_flow_def_free(&def);
}

/* ---- lookups ---- */

static void test_flow_def_lookups_and_nearest_parameter_wins(void **state)
{
    (void)state;
    weir_flow_def def;
    assert_int_equal(weir_flow_parse(FULL, strlen(FULL), "full.yaml", &def, NULL, 0), 0);
    assert_int_equal(weir_flow_def_processor_find(&def, "c"), 2);
    assert_int_equal(weir_flow_def_processor_find(&def, "g-in"), -1);
    assert_int_equal(weir_flow_def_port_find(&def, "g-out"), 1);
    assert_int_equal(weir_flow_def_group_find(&def, "inner"), 2);
    assert_int_equal(weir_flow_def_group_find(&def, "full"), 0);
    assert_int_equal(weir_flow_def_context_find(&def, "mid"), 1);
    assert_int_equal(weir_flow_def_connection_find(&def, "g-out->b"), 2);
    assert_int_equal(weir_flow_def_connection_find(&def, "nope"), -1);
    assert_null(weir_flow_def_property(&def, 1, "Custom Text"));
    /* top inherits [mid, base]: mid's "shared" is nearer than base's */
    assert_string_equal(weir_flow_def_param_find(&def, 2, "shared")->value, "from-mid");
    assert_string_equal(weir_flow_def_param_find(&def, 1, "shared")->value, "from-mid");
    assert_string_equal(weir_flow_def_param_find(&def, 0, "shared")->value, "from-base");
    assert_string_equal(weir_flow_def_param_find(&def, 2, "deep")->value, "only-base");
    assert_null(weir_flow_def_param_find(&def, 0, "secret"));
    assert_null(weir_flow_def_param_find(&def, -1, "shared"));
    weir_flow_def_free(&def);
    for (int p = 0; p < WEIR_FLOW_PRIORITIZERS_; p++) {
        weir_flow_prioritizer back;
        assert_int_equal(weir_flow_prioritizer_parse(weir_flow_prioritizer_name(p), &back), 0);
        assert_int_equal(back, p);
    }
    weir_flow_prioritizer none;
    assert_int_equal(weir_flow_prioritizer_parse("lifo", &none), WEIR_E_INVAL);
}

/* ---- the writer: a definition written out parses back equal ---- */

static void assert_names_equal(const char *const *a, const char *const *b, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(a[i], b[i]);
    }
}

/* Every field but the marks. */
static void assert_defs_equal(const weir_flow_def *a, const weir_flow_def *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->description, b->description);
    assert_int_equal(a->swap_threshold, b->swap_threshold);
    assert_int_equal(a->context_count, b->context_count);
    for (size_t i = 0; i < a->context_count; i++) {
        const weir_flow_context *x = &a->contexts[i], *y = &b->contexts[i];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->description, y->description);
        assert_int_equal(x->inherit_count, y->inherit_count);
        assert_memory_equal(x->inherits, y->inherits, x->inherit_count * sizeof *x->inherits);
        assert_int_equal(x->param_count, y->param_count);
        for (size_t k = 0; k < x->param_count; k++) {
            assert_string_equal(x->params[k].name, y->params[k].name);
            assert_string_equal(x->params[k].value, y->params[k].value);
            assert_string_equal(x->params[k].description, y->params[k].description);
            assert_int_equal(x->params[k].sensitive, y->params[k].sensitive);
        }
    }
    assert_int_equal(a->group_count, b->group_count);
    for (size_t i = 0; i < a->group_count; i++) {
        assert_string_equal(a->groups[i].name, b->groups[i].name);
        assert_int_equal(a->groups[i].parent_index, b->groups[i].parent_index);
        assert_int_equal(a->groups[i].context_index, b->groups[i].context_index);
        assert_int_equal(a->groups[i].depth, b->groups[i].depth);
    }
    assert_int_equal(a->port_count, b->port_count);
    for (size_t i = 0; i < a->port_count; i++) {
        assert_string_equal(a->ports[i].name, b->ports[i].name);
        assert_int_equal(a->ports[i].kind, b->ports[i].kind);
        assert_int_equal(a->ports[i].group_index, b->ports[i].group_index);
    }
    assert_int_equal(a->processor_count, b->processor_count);
    for (size_t i = 0; i < a->processor_count; i++) {
        const weir_flow_processor *x = &a->processors[i], *y = &b->processors[i];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->type, y->type);
        assert_int_equal(x->group_index, y->group_index);
        assert_int_equal(x->property_count, y->property_count);
        for (size_t k = 0; k < x->property_count; k++) {
            assert_string_equal(x->properties[k].name, y->properties[k].name);
            assert_string_equal(x->properties[k].value, y->properties[k].value);
        }
        assert_int_equal(x->run_schedule_ns, y->run_schedule_ns);
        assert_int_equal(x->concurrent_tasks, y->concurrent_tasks);
        assert_int_equal(x->penalty_ns, y->penalty_ns);
        assert_int_equal(x->yield_ns, y->yield_ns);
        assert_int_equal(x->auto_terminated_count, y->auto_terminated_count);
        assert_names_equal(x->auto_terminated, y->auto_terminated, x->auto_terminated_count);
        assert_int_equal(x->state, y->state);
    }
    assert_int_equal(a->connection_count, b->connection_count);
    for (size_t i = 0; i < a->connection_count; i++) {
        const weir_flow_connection *x = &a->connections[i], *y = &b->connections[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->group_index, y->group_index);
        assert_memory_equal(&x->source, &y->source, sizeof x->source);
        assert_memory_equal(&x->destination, &y->destination, sizeof x->destination);
        assert_int_equal(x->relationship_count, y->relationship_count);
        assert_names_equal(x->relationships, y->relationships, x->relationship_count);
        assert_int_equal(x->object_threshold, y->object_threshold);
        assert_int_equal(x->size_threshold_bytes, y->size_threshold_bytes);
        assert_int_equal(x->prioritizer_count, y->prioritizer_count);
        assert_memory_equal(x->prioritizers, y->prioritizers,
                            x->prioritizer_count * sizeof x->prioritizers[0]);
        assert_int_equal(x->expiration_ns, y->expiration_ns);
        assert_int_equal(x->swap_threshold, y->swap_threshold);
    }
}

/* text parses, writes out, parses back equal, and writes out the same. */
static void check_round_trip(const char *text, size_t len)
{
    weir_flow_def a, b;
    char why[1024];
    assert_int_equal(weir_flow_parse(text, len, "a.yaml", &a, why, sizeof why), 0);
    char *written, *again;
    size_t written_len, again_len;
    assert_int_equal(weir_flow_def_write(&a, true, &written, &written_len), 0);
    assert_int_equal(strlen(written), written_len);
    int rc = weir_flow_parse(written, written_len, "b.yaml", &b, why, sizeof why);
    if (rc != 0) {
        print_message("%s\n%s\n", why, written);
    }
    assert_int_equal(rc, 0);
    assert_defs_equal(&a, &b);
    assert_int_equal(weir_flow_def_write(&b, true, &again, &again_len), 0);
    assert_string_equal(written, again);
    free(again);
    free(written);
    weir_flow_def_free(&b);
    weir_flow_def_free(&a);
}

static void test_flow_def_write_round_trips_every_key_and_every_example(void **state)
{
    (void)state;
    check_round_trip(FULL, strlen(FULL));
    check_round_trip(BASE, strlen(BASE));
    char dir[1024];
    flows_dir(dir, sizeof dir);
    char *names[64];
    size_t n = yaml_files(dir, names, 64);
    for (size_t i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        check_round_trip(text, len);
        free(text);
        free(names[i]);
    }
    /* every byte a value may hold survives the quoting */
    static const char odd[] =
        "flow: odd\n"
        "processors:\n"
        "  - name: a\n"
        "    type: X\n"
        "    properties:\n"
        "      \"k\\\"ey: #\": \"q\\\" b\\\\ n\\n t\\t \\x01 \\u00e9 ${a:b()}\"\n"
        "      '[not a list]': ''\n";
    check_round_trip(odd, strlen(odd));
    weir_flow_def def;
    assert_int_equal(weir_flow_parse(odd, strlen(odd), "o.yaml", &def, NULL, 0), 0);
    assert_string_equal(def.processors[0].properties[0].name, "k\"ey: #");
    assert_string_equal(def.processors[0].properties[0].value,
                        "q\" b\\ n\n t\t \x01 \xc3\xa9 ${a:b()}");
    assert_string_equal(def.processors[0].properties[1].name, "[not a list]");
    weir_flow_def_free(&def);
}

static void test_flow_def_write_masks_sensitive_values(void **state)
{
    (void)state;
    weir_flow_def def;
    assert_int_equal(weir_flow_parse(FULL, strlen(FULL), "full.yaml", &def, NULL, 0), 0);
    char *text;
    size_t len;
    assert_int_equal(weir_flow_def_write(&def, false, &text, &len), 0);
    assert_null(strstr(text, "s3cr3t"));
    assert_non_null(strstr(text, "\"secret\": { value: \"********\", sensitive: true"));
    assert_non_null(strstr(text, "\"shared\": { value: \"from-base\""));
    free(text);
    assert_int_equal(weir_flow_def_write(&def, true, &text, &len), 0);
    assert_non_null(strstr(text, "s3cr3t"));
    free(text);
    weir_flow_def_free(&def);
}

/* ---- mistakes: the exact message, line and column ---- */

static void test_flow_parse_document_and_key_mistakes_are_named(void **state)
{
    (void)state;
    expect_error_text("", "f.yaml:1:1: empty file: a flow is a mapping (flow, processors, "
                          "connections, ...)");
    expect_error_text("flow: a\n---\nflow: b\n",
                      "f.yaml:2:1: a second YAML document: a flow file holds one (remove the "
                      "'---')");
    expect_error_text("flow: [a\n", "f.yaml:2:1: malformed YAML: did not find expected ',' or "
                                    "']' (while parsing a flow sequence at line 1)");
    expect_error_text("- a\n", "f.yaml:1:1: expected a mapping (key: value lines or { ... }), got "
                               "a list");
    expect_error("flow: t\n", "flw: t\n", "f.yaml:1:1: flw: unknown key (did you mean \"flow\"?)");
    expect_error("\nprocessors:\n", "\nprocesors:\n",
                 "f.yaml:11:1: procesors: unknown key (did you mean \"processors\"?)");
    expect_error("flow: t\n", "flow: t\nflow: u\n",
                 "f.yaml:2:1: flow: written twice (first at line 1)");
    expect_error("flow: t\n", "flow: a b\n",
                 "f.yaml:1:7: flow: \"a b\" is not a valid flow name: use letters, digits, '.', "
                 "'_' and '-', starting with a letter or digit");
    expect_error("flow: t\n", "flow: t\ninput_ports: [x]\n",
                 "f.yaml:2:1: input_ports: unknown key (expected flow, description, "
                 "swap_threshold, defaults, parameter_contexts, parameter_context, processors, "
                 "connections or groups)");
    expect_error("flow: t\n", "flow: t\nswap_threshold: 0\n",
                 "f.yaml:2:17: swap_threshold: expected an integer of at least 1, got \"0\"");
    expect_error("flow: t\n", "flow: t\ndefaults: { object_treshold: 5 }\n",
                 "f.yaml:2:13: defaults.object_treshold: unknown key (did you mean "
                 "\"object_threshold\"?)");
    expect_error("flow: t\n", "flow: t\ndefaults: { size_threshold: 0 }\n",
                 "f.yaml:2:29: defaults.size_threshold: expected a size above 0, got \"0\"");
    expect_error("flow: t\n", "flow: t\ndefaults: { penalty_duration: soon }\n",
                 "f.yaml:2:31: defaults.penalty_duration: expected a duration such as 250ms, "
                 "1.5s or 2m, got \"soon\"");
    expect_error("    inherits: [common]\n", "    inherits: common\n",
                 "f.yaml:7:15: parameter_contexts[1].inherits: expected a list (- item lines or "
                 "[ ... ]), got a single value");
}

static void test_flow_parse_processor_mistakes_are_named(void **state)
{
    (void)state;
    expect_error("  - name: put\n", "  - nme: put\n",
                 "f.yaml:16:5: processors[1].nme: unknown key (did you mean \"name\"?)");
    expect_error("  - name: put\n", "  - name: gen\n",
                 "f.yaml:16:11: processors[1].name: \"gen\" is already the name of a processor "
                 "(line 12): processor and port names are unique in the flow");
    expect_error("    input_ports: [in]\n", "    input_ports: [put]\n",
                 "f.yaml:31:19: groups[0].input_ports[0]: \"put\" is already the name of a "
                 "processor (line 16): processor and port names are unique in the flow");
    expect_error("      - name: pub\n", "      - name: in\n",
                 "f.yaml:34:15: groups[0].processors[0].name: \"in\" is already the name of a "
                 "port (line 31): processor and port names are unique in the flow");
    expect_error("    type: PutFile\n", "", "f.yaml:16:5: processors[1]: missing key \"type\"");
    expect_error("    type: PutFile\n", "    type: Put File\n",
                 "f.yaml:17:11: processors[1].type: \"Put File\" is not a valid processor type "
                 "name: use letters, digits, '.', '_' and '-', starting with a letter or digit");
    expect_error("    type: PutFile\n", "    type: PutFile\n    concurrent_tasks: 0\n",
                 "f.yaml:18:23: processors[1].concurrent_tasks: expected an integer from 1 to "
                 "1024, got \"0\"");
    expect_error("    type: PutFile\n", "    type: PutFile\n    run_schedule: fast\n",
                 "f.yaml:18:19: processors[1].run_schedule: expected a duration such as 250ms, "
                 "1.5s or 2m, got \"fast\"");
    expect_error("    type: PutFile\n", "    type: PutFile\n    yield_duration: -1s\n",
                 "f.yaml:18:21: processors[1].yield_duration: expected a duration such as "
                 "250ms, 1.5s or 2m, got \"-1s\"");
    expect_error("    type: PutFile\n", "    type: PutFile\n    state: runing\n",
                 "f.yaml:18:12: processors[1].state: expected running or stopped, got "
                 "\"runing\" (did you mean \"running\"?)");
    expect_error("    auto_terminate: [success, failure]\n",
                 "    auto_terminate: [success, success]\n",
                 "f.yaml:20:31: processors[1].auto_terminate[1]: \"success\" written twice");
    expect_error("      Batch Size: 10\n", "      Batch Size: [10]\n",
                 "f.yaml:15:19: processors[0].properties.Batch Size: expected a value, got a "
                 "list");
    expect_error("      Batch Size: 10\n", "      Batch Size: 10\n      Batch Size: 11\n",
                 "f.yaml:16:7: processors[0].properties.Batch Size: written twice (first at "
                 "line 15)");
    expect_error("    properties:\n      Batch Size: 10\n", "    properties: 10\n",
                 "f.yaml:14:17: processors[0].properties: expected a mapping (key: value lines "
                 "or { ... }), got a single value");
}

static void test_flow_parse_parameter_mistakes_are_named(void **state)
{
    (void)state;
    expect_error("\"#{dir}\"", "\"#{dri}\"",
                 "f.yaml:19:18: processors[1].properties.Directory: no parameter \"dri\" in "
                 "context \"common\" or the contexts it inherits (did you mean \"dir\"?)");
    expect_error("\"#{topic}\"", "\"#{dir}/#{tpoic}\"",
                 "f.yaml:37:23: groups[0].processors[0].properties.Topic Name: no parameter "
                 "\"tpoic\" in context \"child\" or the contexts it inherits (did you mean "
                 "\"topic\"?)");
    expect_error("\"#{dir}\"", "\"#{dir\"",
                 "f.yaml:19:18: processors[1].properties.Directory: \"#{\" without its closing "
                 "'}' (write \"##{\" for a literal \"#{\")");
    expect_error("\"#{dir}\"", "\"#{}\"",
                 "f.yaml:19:18: processors[1].properties.Directory: \"#{...}\" needs a parameter "
                 "name of 1 to 127 characters");
    expect_error("\"#{dir}\"", "\"#{a/b}\"",
                 "f.yaml:19:18: processors[1].properties.Directory: \"#{a/b}\": not a valid "
                 "parameter name");
    expect_error("parameter_context: common\n", "",
                 "f.yaml:18:18: processors[1].properties.Directory: \"#{dir}\" needs a parameter "
                 "context, and group \"t\" has none (set its parameter_context)");
    expect_error("parameter_context: common\n", "parameter_context: comon\n",
                 "f.yaml:10:20: parameter_context: no parameter context named \"comon\" (did you "
                 "mean \"common\"?)");
    expect_error("    parameter_context: child\n", "    parameter_context: kid\n",
                 "f.yaml:30:24: groups[0].parameter_context: no parameter context named \"kid\" "
                 "(declared: common or child)");
    expect_error("    inherits: [common]\n", "    inherits: [common, comon]\n",
                 "f.yaml:7:24: parameter_contexts[1].inherits[1]: no parameter context named "
                 "\"comon\" (did you mean \"common\"?)");
    expect_error("    inherits: [common]\n", "    inherits: [common, common]\n",
                 "f.yaml:7:24: parameter_contexts[1].inherits[1]: \"common\" written twice");
    expect_error("  - name: common\n", "  - name: common\n    inherits: [child]\n",
                 "f.yaml:8:16: parameter_contexts[1].inherits[0]: parameter contexts form a "
                 "cycle: common -> child -> common");
    expect_error("    inherits: [common]\n", "    inherits: [child]\n",
                 "f.yaml:7:16: parameter_contexts[1].inherits[0]: parameter contexts form a "
                 "cycle: child -> child");
    expect_error("  - name: child\n", "  - name: common\n",
                 "f.yaml:6:11: parameter_contexts[1].name: parameter context \"common\" is "
                 "declared twice (first at line 3)");
    expect_error("      dir: /tmp/out\n", "      d/r: /tmp/out\n",
                 "f.yaml:5:7: parameter_contexts[0].parameters.d/r: \"d/r\" is not a valid "
                 "parameter name: use letters, digits, spaces, '_', '-' and '.' (at most 127 "
                 "characters)");
    expect_error("      dir: /tmp/out\n", "      dir: { value: /tmp/out, sensitive: maybe }\n",
                 "f.yaml:5:42: parameter_contexts[0].parameters.dir.sensitive: expected true or "
                 "false, got \"maybe\"");
    expect_error("      dir: /tmp/out\n", "      dir: { valeu: /tmp/out }\n",
                 "f.yaml:5:14: parameter_contexts[0].parameters.dir.valeu: unknown key (did you "
                 "mean \"value\"?)");
    /* ##{ is a literal, not a reference */
    char *ok = with(BASE, "\"#{dir}\"", "\"##{nothing} #{dir}\"");
    weir_flow_def def;
    assert_int_equal(weir_flow_parse(ok, strlen(ok), "f.yaml", &def, NULL, 0), 0);
    weir_flow_def_free(&def);
    free(ok);
}

static void test_flow_parse_connection_mistakes_are_named(void **state)
{
    (void)state;
    expect_error("  - from: gen\n    relationships: [success]\n    to: put\n",
                 "  - from: gne\n    relationships: [success]\n    to: put\n",
                 "f.yaml:22:11: connections[0].from: no processor or port named \"gne\" (did you "
                 "mean \"gen\"?)");
    expect_error("        to: pub\n", "        to: put\n",
                 "f.yaml:40:13: groups[0].connections[0].to: processor \"put\" is in group \"t\": "
                 "a connection in group \"sub\" reaches its own processors and ports and its "
                 "child groups' ports");
    expect_error("    to: in\n", "    to: out\n",
                 "f.yaml:27:9: connections[1].to: \"out\" is an output port of the child group "
                 "\"sub\": it can only be a source (from) here");
    expect_error("        to: pub\n", "        to: in\n",
                 "f.yaml:40:13: groups[0].connections[0].to: \"in\" is an input port of this "
                 "group \"sub\": it can only be a source (from) here");
    expect_error("      - from: in\n", "      - from: out\n",
                 "f.yaml:39:15: groups[0].connections[0].from: \"out\" is an output port of this "
                 "group \"sub\": it can only be a destination (to) here");
    /* a grandchild's port is out of reach */
    char *deeper = with(BASE, "    connections:\n      - from: in\n",
                        "    groups:\n      - { name: deep, input_ports: [deep-in] }\n"
                        "    connections:\n      - from: in\n");
    char *text = with(deeper, "    to: in\n", "    to: deep-in\n");
    expect_error_text(text, "f.yaml:27:9: connections[1].to: port \"deep-in\" is in group "
                            "\"deep\": a connection in group \"t\" reaches its own processors "
                            "and ports and its child groups' ports");
    free(text);
    free(deeper);
    expect_error("  - from: gen\n    relationships: [success]\n    to: in\n",
                 "  - from: gen\n    relationships: [success]\n    to: deep-in\n",
                 "f.yaml:27:9: connections[1].to: no processor or port named \"deep-in\" "
                 "(declared: gen, put, pub, in or out)");
    expect_error("    relationships: [success]\n    to: put\n", "    to: put\n",
                 "f.yaml:22:5: connections[0].relationships: a connection from processor \"gen\" "
                 "needs its relationships (such as [success])");
    expect_error("    relationships: [success]\n    to: put\n",
                 "    relationships: []\n    to: put\n",
                 "f.yaml:23:20: connections[0].relationships: an empty list: a connection from "
                 "processor \"gen\" needs at least one relationship");
    expect_error("    relationships: [success]\n    to: put\n",
                 "    relationships: [success, success]\n    to: put\n",
                 "f.yaml:23:30: connections[0].relationships[1]: \"success\" written twice");
    expect_error("        to: pub\n", "        relationships: [success]\n        to: pub\n",
                 "f.yaml:40:24: groups[0].connections[0].relationships: a connection from port "
                 "\"in\" takes no relationships");
    expect_error("    to: in\n", "    to: put\n",
                 "f.yaml:26:21: connections[1].relationships[0]: \"success\" of \"gen\" already "
                 "goes to \"put\" (connection \"gen:success->put\", line 22)");
    expect_error("        to: pub\n", "        to: pub\n      - { from: in, to: pub }\n",
                 "f.yaml:41:25: groups[0].connections[1].to: port \"in\" already goes to \"pub\" "
                 "(connection \"in->pub\", line 39)");
    expect_error("    to: in\n",
                 "    to: in\n  - { from: put, relationships: [failure], to: gen }\n",
                 "f.yaml:28:34: connections[2].relationships[0]: \"failure\" of \"put\" is "
                 "auto-terminated (auto_terminate, line 16): connect it or terminate it, not "
                 "both");
    char *named = with(BASE, "    to: put\n", "    to: put\n    name: x\n");
    char *twice = with(named, "    to: in\n", "    to: in\n    name: x\n");
    expect_error_text(twice, "f.yaml:29:11: connections[1].name: connection \"x\" is declared "
                             "twice (first at line 22)");
    free(twice);
    free(named);
    expect_error("    to: put\n", "    to: put\n    object_threshold: 0\n",
                 "f.yaml:25:23: connections[0].object_threshold: expected an integer of at least "
                 "1, got \"0\"");
    expect_error("    to: put\n", "    to: put\n    size_threshold: 0 B\n",
                 "f.yaml:25:21: connections[0].size_threshold: expected a size above 0, got "
                 "\"0 B\"");
    expect_error("    to: put\n", "    to: put\n    size_threshold: lots\n",
                 "f.yaml:25:21: connections[0].size_threshold: expected a size such as 100B, "
                 "16KiB, 1MiB or 2GB, got \"lots\"");
    expect_error("    to: put\n", "    to: put\n    prioritizers: [lifo]\n",
                 "f.yaml:25:20: connections[0].prioritizers[0]: expected fifo, oldest_first, "
                 "newest_first or priority_attribute, got \"lifo\" (did you mean \"fifo\"?)");
    expect_error("    to: put\n", "    to: put\n    prioritizers: [fifo, fifo]\n",
                 "f.yaml:25:26: connections[0].prioritizers[1]: \"fifo\" written twice");
    expect_error("    to: put\n", "    to: put\n    expiration: never\n",
                 "f.yaml:25:17: connections[0].expiration: expected a duration such as 250ms, "
                 "1.5s or 2m, got \"never\"");
    expect_error("    to: put\n", "    to: put\n    swap_threshold: -5\n",
                 "f.yaml:25:21: connections[0].swap_threshold: expected an integer of at least "
                 "1, got \"-5\"");
    expect_error("    to: put\n", "    to: put\n    back_pressure: 5\n",
                 "f.yaml:25:5: connections[0].back_pressure: unknown key (expected name, from, "
                 "relationships, to, object_threshold, size_threshold, prioritizers, expiration "
                 "or swap_threshold)");
}

static void test_flow_parse_group_mistakes_are_named(void **state)
{
    (void)state;
    expect_error("  - name: sub\n", "  - name: sub\n    ports: []\n",
                 "f.yaml:30:5: groups[0].ports: unknown key (expected name, parameter_context, "
                 "input_ports, output_ports, processors, connections or groups)");
    expect_error("  - name: sub\n", "  - name: sub\n    output_port: [x]\n",
                 "f.yaml:30:5: groups[0].output_port: unknown key (did you mean "
                 "\"output_ports\"?)");
    expect_error("groups:\n  - name: sub\n", "groups:\n  - sub\n  - name: sub\n",
                 "f.yaml:29:5: groups[0]: expected a mapping (key: value lines or { ... }), got "
                 "a single value");
    expect_error("    output_ports: [out]\n", "    output_ports: [out]\n  - name: sub\n",
                 "f.yaml:33:11: groups[1].name: group \"sub\" is declared twice (first at line "
                 "29)");
    expect_error("  - name: sub\n", "  - name: t\n",
                 "f.yaml:29:11: groups[0].name: group \"t\" is declared twice (first at line 1)");
    /* 17 levels below the root */
    char deep[4096] = "flow: d\n";
    size_t n = strlen(deep);
    for (int i = 0; i <= WEIR_FLOW_GROUP_DEPTH_MAX; i++) {
        n += (size_t)snprintf(deep + n, sizeof deep - n, "%*sgroups:\n%*s- name: g%d\n", 2 * i, "",
                              2 * i, "", i);
    }
    expect_error_text(deep, "f.yaml:35:35: groups[0].groups[0].groups[0].groups[0].groups[0]."
                            "groups[0].groups[0].groups[0].groups[0].groups[0].groups[0]."
                            "groups[0].groups[0].groups[0].groups[0].groups[0].groups[0]: "
                            "groups nested more than 16 deep");
}

/* Limits: one item over each gives its message. */
static void test_flow_parse_limits_are_named(void **state)
{
    (void)state;
    size_t size = 1 << 20;
    char *text = malloc(size);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, size, "flow: big\nprocessors:\n");
    for (int i = 0; i <= WEIR_FLOW_PROCESSORS_MAX; i++) {
        n += (size_t)snprintf(text + n, size - n, "  - { name: p%d, type: X }\n", i);
    }
    char message[256];
    snprintf(message, sizeof message, "f.yaml:3:3: processors: %d items: at most %d",
             WEIR_FLOW_PROCESSORS_MAX + 1, WEIR_FLOW_PROCESSORS_MAX);
    expect_error_text(text, message);
    /* the flow-wide limit, across groups */
    n = (size_t)snprintf(text, size, "flow: big\ngroups:\n");
    for (int g = 0; g < 2; g++) {
        n += (size_t)snprintf(text + n, size - n, "  - name: g%d\n    processors:\n", g);
        for (int i = 0; i < WEIR_FLOW_PROCESSORS_MAX / 2 + (g == 1); i++) {
            n += (size_t)snprintf(text + n, size - n, "      - { name: p%d-%d, type: X }\n", g, i);
        }
    }
    snprintf(message, sizeof message,
             "f.yaml:%d:9: groups[1].processors[%d]: more than %d processors in the flow",
             3 + 2 + WEIR_FLOW_PROCESSORS_MAX / 2 + 2 + WEIR_FLOW_PROCESSORS_MAX / 2,
             WEIR_FLOW_PROCESSORS_MAX / 2, WEIR_FLOW_PROCESSORS_MAX);
    expect_error_text(text, message);
    free(text);
}

/* ---- damaged input fails cleanly ---- */

static void check_clean_failure(const char *text, size_t len)
{
    weir_flow_def def;
    char why[256];
    int rc = weir_flow_parse(text, len, "d.yaml", &def, why, sizeof why);
    if (rc == 0) {
        assert_non_null(def.arena);
        weir_flow_def_free(&def);
        return;
    }
    assert_int_equal(rc, WEIR_E_INVAL);
    assert_memory_equal(why, "d.yaml:", 7);
    assert_null(def.arena);
}

static void test_flow_parse_every_prefix_and_random_damage_fail_cleanly(void **state)
{
    (void)state;
    const char *texts[] = {FULL, BASE};
    weir_prng prng;
    weir_prng_seed(&prng, 6);
    static const char bytes[] = ":-[]{},#&*!|>'\"%@` \t\n0aZ.}\x80\xff";
    for (size_t t = 0; t < 2; t++) {
        size_t len = strlen(texts[t]);
        for (size_t n = 0; n < len; n++) {
            check_clean_failure(texts[t], n);
        }
        char *copy = malloc(len);
        assert_non_null(copy);
        for (int round = 0; round < 3000; round++) {
            memcpy(copy, texts[t], len);
            int flips = 1 + (int)weir_prng_below(&prng, 3);
            for (int i = 0; i < flips; i++) {
                copy[weir_prng_below(&prng, len)] = bytes[weir_prng_below(&prng, sizeof bytes - 1)];
            }
            check_clean_failure(copy, len);
        }
        free(copy);
    }
    static const char nul[] = "flow: a\0b\n";
    check_clean_failure(nul, sizeof nul - 1);
    weir_flow_def def;
    assert_int_equal(weir_flow_parse("x: [", 4, NULL, &def, NULL, 0), WEIR_E_INVAL);
    char tiny[8];
    assert_int_equal(weir_flow_parse("x: 1", 4, "a-long-file-name.yaml", &def, tiny, sizeof tiny),
                     WEIR_E_INVAL);
    assert_int_equal(strlen(tiny), sizeof tiny - 1); /* cut, still terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_parse_every_example_file_parses),
        cmocka_unit_test(test_flow_parse_viral_spike_has_a_10000_object_threshold_on_p3s_input),
        cmocka_unit_test(test_flow_parse_media_pipelines_inherit_the_common_context),
        cmocka_unit_test(test_flow_parse_kafka_to_merge_keeps_kafka_settings_in_properties),
        cmocka_unit_test(test_flow_parse_file_pipeline_chains_four_processors),
        cmocka_unit_test(test_flow_parse_every_key_reads_back),
        cmocka_unit_test(test_flow_parse_fills_nifi_defaults),
        cmocka_unit_test(test_flow_def_lookups_and_nearest_parameter_wins),
        cmocka_unit_test(test_flow_def_write_round_trips_every_key_and_every_example),
        cmocka_unit_test(test_flow_def_write_masks_sensitive_values),
        cmocka_unit_test(test_flow_parse_document_and_key_mistakes_are_named),
        cmocka_unit_test(test_flow_parse_processor_mistakes_are_named),
        cmocka_unit_test(test_flow_parse_parameter_mistakes_are_named),
        cmocka_unit_test(test_flow_parse_connection_mistakes_are_named),
        cmocka_unit_test(test_flow_parse_group_mistakes_are_named),
        cmocka_unit_test(test_flow_parse_limits_are_named),
        cmocka_unit_test(test_flow_parse_every_prefix_and_random_damage_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
