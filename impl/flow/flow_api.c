/* The flow management API (flow_api.h): routing, the JSON views of the
 * flow, and the checked changes. */
#include "flow/flow_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/units.h"
#include "flow/flow_json.h"
#include "flow/params.h"
#include "flow/provenance.h"
#include "flow/queue.h"

#define API_PATH_BYTES_MAX 1024
#define API_SEGMENTS_MAX 6
#define API_WHY_BYTES 512

enum {
    API_OK = 200,
    API_BAD_REQUEST = 400,
    API_NOT_FOUND = 404,
    API_BAD_METHOD = 405,
    API_CONFLICT = 409,
    API_SERVER_ERROR = 500,
    API_UNAVAILABLE = 503,
};

typedef struct api_call {
    const weir_flow_api *api;
    weir_flow_engine *e;
    const weir_flow_api_request *req;
    weir_flow_api_reply *out;
    char *seg[API_SEGMENTS_MAX];
    size_t seg_count;
} api_call;

/* ---- replies ---- */

static void api_reply(api_call *c, int status, weir_json_writer *w)
{
    c->out->status = status;
    c->out->body = weir_json_take(w, &c->out->body_len);
    if (c->out->body == NULL) {
        c->out->status = API_SERVER_ERROR;
    }
}

static void api_error(api_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void api_error(api_call *c, int status, const char *fmt, ...)
{
    char msg[API_WHY_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_json_writer w;
    weir_json_init(&w);
    weir_json_object_begin(&w);
    weir_json_field_string(&w, "error", msg);
    weir_json_object_end(&w);
    api_reply(c, status, &w);
}

void weir_flow_api_reply_free(weir_flow_api_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}

/* The names of the processors a connection joins. */
static void api_conn_ends(const weir_flow_engine *e, size_t index, const char **src,
                          const char **dst)
{
    size_t s = 0, d = 0;
    weir_flow_engine_connection_ends(e, index, &s, &d);
    *src = weir_flow_ctx_name(weir_flow_engine_processor(e, s));
    *dst = weir_flow_ctx_name(weir_flow_engine_processor(e, d));
}

/* ---- views ---- */

static void api_write_counters(weir_json_writer *w, const weir_flow_engine *e)
{
    weir_flow_counters k;
    weir_flow_engine_counters(e, &k);
    char why[API_WHY_BYTES] = "";
    bool conserved = weir_flow_engine_conserved(e, why, sizeof why);
    weir_json_object_begin(w);
    weir_json_field_u64(w, "created", k.created);
    weir_json_field_u64(w, "received", k.received);
    weir_json_field_u64(w, "recovered", k.recovered);
    weir_json_field_u64(w, "sent", k.sent);
    weir_json_field_u64(w, "dropped", k.dropped);
    weir_json_field_u64(w, "expired", k.expired);
    weir_json_field_u64(w, "queued", k.queued);
    weir_json_field_u64(w, "in_flight", k.in_flight);
    weir_json_field_u64(w, "commits", k.commits);
    weir_json_field_u64(w, "rollbacks", k.rollbacks);
    weir_json_field_u64(w, "triggers", k.triggers);
    /* created + received + recovered = sent + dropped + expired + queued + in_flight */
    weir_json_field_bool(w, "conserved", conserved);
    if (!conserved) {
        weir_json_field_string(w, "conservation_error", why);
    }
    weir_json_object_end(w);
}

/* Names of the connections into (incoming) or out of processor index. */
static void api_write_proc_conns(weir_json_writer *w, const weir_flow_engine *e, size_t index,
                                 bool incoming)
{
    const char *self = weir_flow_ctx_name(weir_flow_engine_processor(e, index));
    weir_json_array_begin(w);
    for (size_t i = 0; i < weir_flow_engine_connection_count(e); i++) {
        const char *src, *dst;
        api_conn_ends(e, i, &src, &dst);
        if (strcmp(incoming ? dst : src, self) == 0) {
            weir_json_string(w, weir_flow_engine_connection_name(e, i));
        }
    }
    weir_json_array_end(w);
}

static void api_write_processor(weir_json_writer *w, const weir_flow_engine *e, size_t index)
{
    weir_flow_ctx *p = weir_flow_engine_processor(e, index);
    weir_flow_proc_stats st;
    weir_flow_engine_processor_stats(e, index, &st);
    int64_t now = weir_now_ns(weir_flow_engine_env(e));
    weir_json_object_begin(w);
    weir_json_field_string(w, "name", weir_flow_ctx_name(p));
    weir_json_field_string(w, "type", weir_flow_engine_processor_type(e, index));
    weir_json_field_bool(w, "running", st.running);
    weir_json_field_bool(w, "blocked_by_back_pressure", st.blocked_by_back_pressure);
    weir_json_field_bool(w, "yielded", st.yielded_until_ns > now);
    weir_json_field_i64(w, "tasks_active", st.tasks_active);
    weir_json_key(w, "stats");
    weir_json_object_begin(w);
    weir_json_field_u64(w, "triggers", st.triggers);
    weir_json_field_u64(w, "taken", st.taken);
    weir_json_field_u64(w, "transferred", st.transferred);
    weir_json_field_u64(w, "bp_waits", st.bp_waits);
    weir_json_field_u64(w, "yields", st.yields);
    weir_json_field_u64(w, "failures", st.failures);
    weir_json_object_end(w);
    weir_json_key(w, "relationships");
    weir_json_array_begin(w);
    for (size_t r = 0; r < weir_flow_ctx_rel_count(p); r++) {
        weir_json_string(w, weir_flow_ctx_rel_name(p, (int)r));
    }
    weir_json_array_end(w);
    weir_json_key(w, "inputs");
    api_write_proc_conns(w, e, index, true);
    weir_json_key(w, "outputs");
    api_write_proc_conns(w, e, index, false);
    weir_json_object_end(w);
}

static void api_write_connection(weir_json_writer *w, const weir_flow_engine *e, size_t index)
{
    const weir_flow_queue *q = weir_flow_engine_queue(e, index);
    WEIR_ASSERT(q != NULL);
    weir_flow_queue_stats qs;
    weir_flow_queue_stats_get(q, &qs);
    const weir_flow_queue_config *qc = weir_flow_queue_config_get(q);
    const char *src, *dst;
    api_conn_ends(e, index, &src, &dst);
    weir_json_object_begin(w);
    weir_json_field_string(w, "name", weir_flow_engine_connection_name(e, index));
    weir_json_field_string(w, "source", src);
    weir_json_field_string(w, "destination", dst);
    weir_json_field_u64(w, "queued", qs.count);
    weir_json_field_u64(w, "queued_bytes", qs.bytes);
    weir_json_field_u64(w, "peak", qs.count_peak);
    weir_json_field_u64(w, "peak_bytes", qs.bytes_peak);
    weir_json_field_bool(w, "full", weir_flow_queue_is_full(q));
    weir_json_field_u64(w, "object_threshold", qc->object_threshold);
    weir_json_field_u64(w, "size_threshold_bytes", qc->size_threshold_bytes);
    weir_json_field_i64(w, "expiration_ms", qc->expiration_ns / 1000000);
    weir_json_key(w, "prioritizers");
    weir_json_array_begin(w);
    for (size_t i = 0; i < qc->prioritizers.count; i++) {
        weir_json_string(w, weir_flow_prioritizer_name(qc->prioritizers.kinds[i]));
    }
    weir_json_array_end(w);
    weir_json_field_u64(w, "penalized", qs.penalized_count);
    weir_json_field_u64(w, "swapped", qs.swapped_count);
    weir_json_field_u64(w, "in", qs.in_count);
    weir_json_field_u64(w, "out", qs.out_count);
    weir_json_field_u64(w, "expired", qs.expired_count);
    weir_json_object_end(w);
}

static const char *api_status(const weir_flow_engine *e)
{
    for (size_t i = 0; i < weir_flow_engine_processor_count(e); i++) {
        weir_flow_proc_stats st;
        weir_flow_engine_processor_stats(e, i, &st);
        if (st.running) {
            return "running";
        }
    }
    return "stopped";
}

static void api_write_processors(weir_json_writer *w, const weir_flow_engine *e)
{
    weir_json_array_begin(w);
    for (size_t i = 0; i < weir_flow_engine_processor_count(e); i++) {
        api_write_processor(w, e, i);
    }
    weir_json_array_end(w);
}

static void api_write_connections(weir_json_writer *w, const weir_flow_engine *e)
{
    weir_json_array_begin(w);
    for (size_t i = 0; i < weir_flow_engine_connection_count(e); i++) {
        api_write_connection(w, e, i);
    }
    weir_json_array_end(w);
}

/* ---- GET /flow, /processors, /connections ---- */

static void api_get_flow(api_call *c)
{
    weir_json_writer w;
    weir_json_init(&w);
    weir_json_object_begin(&w);
    weir_json_field_string(&w, "name", c->api->flow_name != NULL ? c->api->flow_name : "");
    weir_json_field_string(&w, "status", api_status(c->e));
    weir_json_key(&w, "counters");
    api_write_counters(&w, c->e);
    weir_json_key(&w, "processors");
    api_write_processors(&w, c->e);
    weir_json_key(&w, "connections");
    api_write_connections(&w, c->e);
    weir_json_object_end(&w);
    api_reply(c, API_OK, &w);
}

static void api_list(api_call *c, bool processors)
{
    weir_json_writer w;
    weir_json_init(&w);
    weir_json_object_begin(&w);
    weir_json_key(&w, processors ? "processors" : "connections");
    if (processors) {
        api_write_processors(&w, c->e);
    } else {
        api_write_connections(&w, c->e);
    }
    weir_json_object_end(&w);
    api_reply(c, API_OK, &w);
}

/* ---- processors ---- */

static int api_find_processor(api_call *c, const char *name)
{
    int i = weir_flow_engine_processor_find(c->e, name);
    if (i < 0) {
        api_error(c, API_NOT_FOUND, "no processor '%s'", name);
    }
    return i;
}

static void api_reply_processor(api_call *c, size_t index)
{
    weir_json_writer w;
    weir_json_init(&w);
    api_write_processor(&w, c->e, index);
    api_reply(c, API_OK, &w);
}

static void api_processor_action(api_call *c, const char *name, const char *action)
{
    int i = api_find_processor(c, name);
    if (i < 0) {
        return;
    }
    if (action == NULL) {
        api_reply_processor(c, (size_t)i);
        return;
    }
    char why[API_WHY_BYTES] = "";
    int rc = strcmp(action, "start") == 0
                 ? weir_flow_engine_processor_start(c->e, name, why, sizeof why)
                 : weir_flow_engine_processor_stop(c->e, name);
    if (rc != 0) {
        api_error(c, API_CONFLICT, "processor '%s' did not %s: %s", name, action,
                  why[0] != '\0' ? why : weir_err_str(rc));
        return;
    }
    api_reply_processor(c, (size_t)i);
}

/* ---- connections ---- */

/* The checked form of a PUT /connections/NAME body. */
typedef struct api_conn_change {
    bool has_object, has_size, has_prioritizers, has_expiration;
    uint64_t object_threshold;
    uint64_t size_threshold_bytes;
    weir_flow_prioritizer prioritizers[WEIR_FLOW_PRIORITIZERS_MAX];
    size_t prioritizer_count;
    int64_t expiration_ns;
} api_conn_change;

static int api_field_fail(char *why, size_t why_size, const weir_json_field *f, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

static int api_field_fail(char *why, size_t why_size, const weir_json_field *f, const char *fmt,
                          ...)
{
    int n = snprintf(why, why_size, "field '%s': ", f->name);
    if (n >= 0 && (size_t)n < why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, why_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return WEIR_E_INVAL;
}

static int api_read_prioritizers(const weir_json_field *f, api_conn_change *ch, char *why,
                                 size_t why_size)
{
    if (f->kind != WEIR_JSON_STRING_ARRAY) {
        return api_field_fail(why, why_size, f, "expected an array of prioritizer names, got %s",
                              weir_json_kind_name(f->kind));
    }
    if (f->item_count > WEIR_FLOW_PRIORITIZERS_MAX) {
        return api_field_fail(why, why_size, f, "at most %d prioritizers",
                              WEIR_FLOW_PRIORITIZERS_MAX);
    }
    for (size_t i = 0; i < f->item_count; i++) {
        if (weir_flow_prioritizer_parse(f->items[i], &ch->prioritizers[i]) != 0) {
            return api_field_fail(why, why_size, f,
                                  "item %zu: unknown prioritizer '%s' (expected fifo, "
                                  "oldest_first, newest_first or priority_attribute)",
                                  i + 1, f->items[i]);
        }
    }
    ch->prioritizer_count = f->item_count;
    ch->has_prioritizers = true;
    return 0;
}

static int api_read_conn_field(const weir_json_field *f, api_conn_change *ch, char *why,
                               size_t why_size)
{
    if (strcmp(f->name, "object_threshold") == 0) {
        if (f->kind != WEIR_JSON_NUMBER || weir_parse_u64(f->text, &ch->object_threshold) != 0) {
            return api_field_fail(why, why_size, f,
                                  "expected a whole number of FlowFiles >= 0 (0: none)");
        }
        ch->has_object = true;
        return 0;
    }
    if (strcmp(f->name, "size_threshold") == 0) {
        bool ok = f->kind == WEIR_JSON_NUMBER
                      ? weir_parse_u64(f->text, &ch->size_threshold_bytes) == 0
                      : f->kind == WEIR_JSON_STRING &&
                            weir_flow_parse_bytes(f->text, &ch->size_threshold_bytes) == 0;
        if (!ok) {
            return api_field_fail(why, why_size, f,
                                  "expected a data size (\"1 GiB\", \"512 MB\") or a whole number "
                                  "of bytes (0: none)");
        }
        ch->has_size = true;
        return 0;
    }
    if (strcmp(f->name, "prioritizers") == 0) {
        return api_read_prioritizers(f, ch, why, why_size);
    }
    if (strcmp(f->name, "expiration") == 0) {
        if (f->kind != WEIR_JSON_STRING ||
            weir_flow_parse_duration_ns(f->text, &ch->expiration_ns) != 0) {
            return api_field_fail(
                why, why_size, f,
                "expected a time period (\"30 sec\", \"5 mins\", \"0 sec\": never)");
        }
        ch->has_expiration = true;
        return 0;
    }
    return api_field_fail(why, why_size, f,
                          "unknown (expected object_threshold, size_threshold, prioritizers or "
                          "expiration)");
}

static void api_put_connection(api_call *c, int index, const char *name)
{
    weir_json_flat body;
    char why[API_WHY_BYTES] = "";
    api_conn_change ch;
    memset(&ch, 0, sizeof ch);
    int rc = weir_json_flat_parse(c->req->body, c->req->body_len, &body, why, sizeof why);
    for (size_t i = 0; rc == 0 && i < body.count; i++) {
        rc = api_read_conn_field(&body.fields[i], &ch, why, sizeof why);
    }
    if (rc == 0 && body.count == 0) {
        snprintf(why, sizeof why,
                 "nothing to change: give object_threshold, size_threshold, "
                 "prioritizers or expiration");
        rc = WEIR_E_INVAL;
    }
    weir_json_flat_free(&body);
    if (rc != 0) {
        api_error(c, rc == WEIR_E_NOMEM ? API_SERVER_ERROR : API_BAD_REQUEST, "%s", why);
        return;
    }
    const weir_flow_queue_config *qc =
        weir_flow_queue_config_get(weir_flow_engine_queue(c->e, (size_t)index));
    if (ch.has_object || ch.has_size) {
        rc = weir_flow_engine_set_threshold(
            c->e, name, ch.has_object ? ch.object_threshold : qc->object_threshold,
            ch.has_size ? ch.size_threshold_bytes : qc->size_threshold_bytes);
    }
    if (rc == 0 && ch.has_prioritizers) {
        rc = weir_flow_engine_set_prioritizers(c->e, name, ch.prioritizers, ch.prioritizer_count);
    }
    if (rc == 0 && ch.has_expiration) {
        rc = weir_flow_engine_set_expiration(c->e, name, ch.expiration_ns);
    }
    if (rc != 0) {
        api_error(c, API_CONFLICT, "connection '%s' refused the change: %s", name,
                  weir_err_str(rc));
        return;
    }
    weir_json_writer w;
    weir_json_init(&w);
    api_write_connection(&w, c->e, (size_t)index);
    api_reply(c, API_OK, &w);
}

static void api_connection(api_call *c, const char *name, bool put)
{
    int i = weir_flow_engine_connection_find(c->e, name);
    if (i < 0) {
        api_error(c, API_NOT_FOUND, "no connection '%s'", name);
        return;
    }
    if (put) {
        api_put_connection(c, i, name);
        return;
    }
    weir_json_writer w;
    weir_json_init(&w);
    api_write_connection(&w, c->e, (size_t)i);
    api_reply(c, API_OK, &w);
}

/* ---- parameter contexts ---- */

static void api_write_param(weir_json_writer *w, const struct weir_param *p)
{
    weir_json_object_begin(w);
    weir_json_field_string(w, "name", weir_param_name(p));
    weir_json_field_string(w, "value", weir_param_display(p));
    weir_json_field_bool(w, "sensitive", weir_param_sensitive(p));
    weir_json_field_string(w, "description", weir_param_description(p));
    weir_json_object_end(w);
}

/* ctx's own parameters as the engine holds them now, in definition order. */
static void api_write_own_params(weir_json_writer *w, const struct weir_param_ctx *ctx)
{
    weir_json_array_begin(w);
    for (size_t k = 0; k < weir_param_ctx_param_count(ctx); k++) {
        api_write_param(w, weir_param_ctx_param_at(ctx, k));
    }
    weir_json_array_end(w);
}

static void api_get_contexts(api_call *c)
{
    struct weir_params *params = weir_flow_engine_params(c->e);
    weir_json_writer w;
    weir_json_init(&w);
    weir_json_object_begin(&w);
    weir_json_key(&w, "parameter_contexts");
    weir_json_array_begin(&w);
    for (size_t i = 0; i < weir_params_ctx_count(params); i++) {
        const struct weir_param_ctx *ctx = weir_params_ctx_at(params, i);
        weir_json_object_begin(&w);
        weir_json_field_string(&w, "name", weir_param_ctx_name(ctx));
        weir_json_key(&w, "inherits");
        weir_json_array_begin(&w);
        for (size_t k = 0; k < weir_param_ctx_inherited_count(ctx); k++) {
            weir_json_string(&w, weir_param_ctx_name(weir_param_ctx_inherited_at(ctx, k)));
        }
        weir_json_array_end(&w);
        weir_json_key(&w, "parameters");
        api_write_own_params(&w, ctx);
        weir_json_object_end(&w);
    }
    weir_json_array_end(&w);
    weir_json_object_end(&w);
    api_reply(c, API_OK, &w);
}

/* The "value" of a PUT parameter body, or NULL after replying 400. */
static char *api_read_value(api_call *c, weir_json_flat *body)
{
    char why[API_WHY_BYTES] = "";
    int rc = weir_json_flat_parse(c->req->body, c->req->body_len, body, why, sizeof why);
    for (size_t i = 0; rc == 0 && i < body->count; i++) {
        const weir_json_field *f = &body->fields[i];
        if (strcmp(f->name, "value") != 0) {
            rc = api_field_fail(why, sizeof why, f, "unknown (expected value)");
        } else if (f->kind != WEIR_JSON_STRING) {
            rc = api_field_fail(why, sizeof why, f, "expected a string, got %s",
                                weir_json_kind_name(f->kind));
        } else if (strlen(f->text) > WEIR_PARAM_VALUE_BYTES_MAX) {
            rc = api_field_fail(why, sizeof why, f, "longer than %u bytes",
                                WEIR_PARAM_VALUE_BYTES_MAX);
        }
    }
    const weir_json_field *v = rc == 0 ? weir_json_flat_find(body, "value") : NULL;
    if (rc == 0 && v == NULL) {
        snprintf(why, sizeof why, "field 'value': missing");
        rc = WEIR_E_INVAL;
    }
    if (rc != 0) {
        api_error(c, rc == WEIR_E_NOMEM ? API_SERVER_ERROR : API_BAD_REQUEST, "%s", why);
        return NULL;
    }
    return v->text;
}

static void api_put_param(api_call *c, const char *context, const char *name)
{
    struct weir_param_ctx *ctx = weir_params_find_ctx(weir_flow_engine_params(c->e), context);
    if (ctx == NULL) {
        api_error(c, API_NOT_FOUND, "no parameter context '%s'", context);
        return;
    }
    const struct weir_param_ctx *owner = NULL;
    const struct weir_param *p = weir_param_ctx_find(ctx, name, &owner);
    if (p == NULL || owner != ctx) {
        if (p != NULL) {
            api_error(c, API_NOT_FOUND,
                      "parameter '%s' is not defined in context '%s' but inherited from '%s': "
                      "change it there",
                      name, context, weir_param_ctx_name(owner));
        } else {
            api_error(c, API_NOT_FOUND, "no parameter '%s' in context '%s'", name, context);
        }
        return;
    }
    weir_json_flat body;
    const char *value = api_read_value(c, &body);
    if (value != NULL) {
        char why[API_WHY_BYTES] = "";
        int rc = weir_flow_engine_param_set(c->e, context, name, value, why, sizeof why);
        p = weir_param_ctx_find(ctx, name, NULL);
        if (rc != 0) {
            api_error(c, API_CONFLICT, "parameter '%s' of context '%s' changed, but: %s", name,
                      context, why[0] != '\0' ? why : weir_err_str(rc));
        } else {
            weir_json_writer w;
            weir_json_init(&w);
            weir_json_object_begin(&w);
            weir_json_field_string(&w, "context", context);
            weir_json_key(&w, "parameter");
            api_write_param(&w, p);
            weir_json_object_end(&w);
            api_reply(c, API_OK, &w);
        }
    }
    weir_json_flat_free(&body);
}

/* ---- provenance ---- */

static int api_hex(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into out; false when malformed. */
static bool api_unescape(const char *s, size_t n, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= out_size) {
            return false;
        }
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < n ? api_hex(s[i + 1]) : -1;
            int lo = i + 2 < n ? api_hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return false; /* a cut escape, or %00 */
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = ch == '+' ? ' ' : ch;
        }
    }
    out[o] = '\0';
    return true;
}

/* The uuid=... of the query, or false after replying 400. */
static bool api_query_uuid(api_call *c, weir_uuid *out)
{
    const char *q = c->req->query != NULL ? c->req->query : "";
    char key[64], value[128];
    bool found = false;
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t kn = eq != NULL ? (size_t)(eq - q) : n;
        if (!api_unescape(q, kn, key, sizeof key) ||
            (eq != NULL && !api_unescape(eq + 1, n - kn - 1, value, sizeof value))) {
            api_error(c, API_BAD_REQUEST, "query: malformed near '%.*s'", (int)n, q);
            return false;
        }
        if (strcmp(key, "uuid") != 0) {
            api_error(c, API_BAD_REQUEST, "query '%s': unknown (expected uuid)", key);
            return false;
        }
        if (eq == NULL || weir_uuid_parse(value, out) != 0) {
            api_error(c, API_BAD_REQUEST,
                      "query 'uuid': expected a FlowFile uuid "
                      "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
            return false;
        }
        found = true;
        q += n + (q[n] == '&');
    }
    if (!found) {
        api_error(c, API_BAD_REQUEST, "query 'uuid': missing (GET /provenance?uuid=UUID)");
    }
    return found;
}

static void api_write_uuids(weir_json_writer *w, const weir_uuid *u, uint32_t count)
{
    weir_json_array_begin(w);
    for (uint32_t i = 0; i < count; i++) {
        char s[WEIR_UUID_STR_BYTES];
        weir_uuid_format(&u[i], s);
        weir_json_string(w, s);
    }
    weir_json_array_end(w);
}

static void api_write_event(weir_json_writer *w, const weir_prov_event *ev)
{
    char s[WEIR_UUID_STR_BYTES];
    weir_uuid_format(&ev->flowfile, s);
    weir_json_object_begin(w);
    weir_json_field_u64(w, "id", ev->id);
    weir_json_field_i64(w, "time_ms", ev->time_ms);
    weir_json_field_string(w, "type", weir_prov_type_name(ev->type));
    weir_json_field_string(w, "flowfile", s);
    weir_json_field_u64(w, "size", ev->size);
    weir_json_field_string(w, "component", ev->component);
    weir_json_field_string(w, "relationship", ev->relationship);
    weir_json_field_string(w, "details", ev->details);
    weir_json_key(w, "parents");
    api_write_uuids(w, ev->parents, ev->parent_count);
    weir_json_key(w, "children");
    api_write_uuids(w, ev->children, ev->child_count);
    weir_json_object_end(w);
}

static void api_get_provenance(api_call *c)
{
    weir_prov_repo *prov = weir_flow_engine_provenance(c->e);
    weir_uuid uuid;
    if (!api_query_uuid(c, &uuid)) {
        return;
    }
    char s[WEIR_UUID_STR_BYTES];
    weir_uuid_format(&uuid, s);
    if (prov == NULL) {
        api_error(c, API_CONFLICT, "provenance is off (run with --provenance memory or repo)");
        return;
    }
    weir_prov_events list;
    memset(&list, 0, sizeof list);
    int rc = weir_prov_lineage(prov, &uuid, &list);
    if (rc != 0) {
        api_error(c, API_SERVER_ERROR, "lineage of %s: %s", s, weir_err_str(rc));
    } else if (list.count == 0) {
        api_error(c, API_NOT_FOUND, "no provenance event names FlowFile %s", s);
    } else {
        weir_json_writer w;
        weir_json_init(&w);
        weir_json_object_begin(&w);
        weir_json_field_string(&w, "uuid", s);
        weir_json_key(&w, "events");
        weir_json_array_begin(&w);
        for (size_t i = 0; i < list.count; i++) {
            api_write_event(&w, &list.events[i]);
        }
        weir_json_array_end(&w);
        weir_json_object_end(&w);
        api_reply(c, API_OK, &w);
    }
    weir_prov_events_free(&list);
}

/* ---- routing ---- */

/* Splits the path into segments (in path_buf); false when it is not
 * "/a/b/..." with non-empty segments. */
static bool api_split(api_call *c, char *path_buf, size_t size)
{
    const char *path = c->req->path;
    if (path == NULL || path[0] != '/' || strlen(path) >= size) {
        return false;
    }
    snprintf(path_buf, size, "%s", path + 1);
    char *p = path_buf;
    while (true) {
        if (c->seg_count == API_SEGMENTS_MAX || *p == '\0' || *p == '/') {
            return false;
        }
        c->seg[c->seg_count++] = p;
        char *slash = strchr(p, '/');
        if (slash == NULL) {
            return true;
        }
        *slash = '\0';
        p = slash + 1;
    }
}

static bool api_is(const api_call *c, size_t count, const char *first)
{
    return c->seg_count == count && strcmp(c->seg[0], first) == 0;
}

/* Whether the method is `want`; otherwise replies 405. */
static bool api_method(api_call *c, const char *want)
{
    if (strcmp(c->req->method, want) == 0) {
        return true;
    }
    api_error(c, API_BAD_METHOD, "%s is not allowed on %s (allowed: %s)", c->req->method,
              c->req->path, want);
    return false;
}

static void api_route(api_call *c)
{
    const char *m = c->req->method;
    if (api_is(c, 1, "flow")) {
        if (api_method(c, "GET")) {
            api_get_flow(c);
        }
    } else if (api_is(c, 1, "processors") || api_is(c, 1, "connections")) {
        if (api_method(c, "GET")) {
            api_list(c, strcmp(c->seg[0], "processors") == 0);
        }
    } else if (api_is(c, 2, "processors")) {
        if (api_method(c, "GET")) {
            api_processor_action(c, c->seg[1], NULL);
        }
    } else if (api_is(c, 3, "processors") &&
               (strcmp(c->seg[2], "start") == 0 || strcmp(c->seg[2], "stop") == 0)) {
        if (api_method(c, "POST")) {
            api_processor_action(c, c->seg[1], c->seg[2]);
        }
    } else if (api_is(c, 2, "connections")) {
        if (strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0) {
            api_connection(c, c->seg[1], strcmp(m, "PUT") == 0);
        } else {
            api_error(c, API_BAD_METHOD, "%s is not allowed on %s (allowed: GET, PUT)", m,
                      c->req->path);
        }
    } else if (api_is(c, 1, "parameter-contexts")) {
        if (api_method(c, "GET")) {
            api_get_contexts(c);
        }
    } else if (api_is(c, 4, "parameter-contexts") && strcmp(c->seg[2], "parameters") == 0) {
        if (api_method(c, "PUT")) {
            api_put_param(c, c->seg[1], c->seg[3]);
        }
    } else if (api_is(c, 1, "provenance")) {
        if (api_method(c, "GET")) {
            api_get_provenance(c);
        }
    } else {
        api_error(c, API_NOT_FOUND, "no such resource: %s", c->req->path);
    }
}

void weir_flow_api_handle(const weir_flow_api *api, const weir_flow_api_request *req,
                          weir_flow_api_reply *out)
{
    memset(out, 0, sizeof *out);
    api_call c = {.api = api, .e = api->engine, .req = req, .out = out};
    char path_buf[API_PATH_BYTES_MAX];
    if (req->method == NULL || !api_split(&c, path_buf, sizeof path_buf)) {
        api_error(&c, API_NOT_FOUND, "no such resource: %s", req->path != NULL ? req->path : "");
    } else if (c.e == NULL || !weir_flow_engine_running(c.e)) {
        api_error(&c, API_UNAVAILABLE, "no running flow");
    } else {
        api_route(&c);
    }
    WEIR_ASSERT(out->status != 0);
}
