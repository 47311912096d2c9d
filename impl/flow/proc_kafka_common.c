/* What ConsumeKafka and PublishKafka share (proc_kafka_common.h). */
#include "flow/proc_kafka_common.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer.h"
#include "client/producer.h"

const char *const weir_flow_kafka_key_encodings[] = {"utf-8", "hex", "do-not-add", NULL};

weir_flow_kafka_key_enc weir_flow_kafka_key_encoding(const char *value)
{
    if (value != NULL && strcmp(value, "hex") == 0) {
        return WEIR_FLOW_KAFKA_KEY_HEX;
    }
    if (value != NULL && strcmp(value, "do-not-add") == 0) {
        return WEIR_FLOW_KAFKA_KEY_NONE;
    }
    return WEIR_FLOW_KAFKA_KEY_UTF8;
}

/* One "host:port" of a broker list: a non-empty host and a port in 1..65535. */
static bool kc_broker_ok(const char *s, size_t len)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':') {
            colon = s + i;
        } else if (s[i] == ' ' || s[i] == '\t') {
            return false;
        }
    }
    if (colon == NULL || colon == s || colon == s + len - 1) {
        return false;
    }
    long port = 0;
    for (const char *p = colon + 1; p < s + len; p++) {
        if (*p < '0' || *p > '9' || port > 65535) {
            return false;
        }
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

int weir_flow_kafka_brokers_check(weir_flow_ctx *ctx, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0') {
        return weir_flow_ctx_fail(ctx, "property '%s': no broker given (host:port[,host:port...])",
                                  name);
    }
    for (const char *at = value;;) {
        const char *comma = strchr(at, ',');
        size_t len = comma != NULL ? (size_t)(comma - at) : strlen(at);
        if (!kc_broker_ok(at, len)) {
            return weir_flow_ctx_fail(ctx, "property '%s': '%.*s' is not host:port (in '%s')", name,
                                      (int)len, at, value);
        }
        if (comma == NULL) {
            return 0;
        }
        at = comma + 1;
    }
}

int weir_flow_kafka_topic_check(weir_flow_ctx *ctx, const char *name, const char *topic, size_t len)
{
    bool ok = len >= 1 && len <= 249 && !(len == 1 && topic[0] == '.') &&
              !(len == 2 && topic[0] == '.' && topic[1] == '.');
    for (size_t i = 0; ok && i < len; i++) {
        char c = topic[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        return weir_flow_ctx_fail(ctx,
                                  "property '%s': '%.*s' is not a Kafka topic name (1 to 249 "
                                  "of letters, digits, '.', '_', '-')",
                                  name, (int)(len > 300 ? 300 : len), topic);
    }
    return 0;
}

char *weir_flow_kafka_transit_uri(const char *bootstrap, const char *topic, size_t topic_len)
{
    const char *comma = strchr(bootstrap, ',');
    size_t blen = comma != NULL ? (size_t)(comma - bootstrap) : strlen(bootstrap);
    static const char scheme[] = "kafka://";
    size_t n = sizeof scheme - 1 + blen + 1 + topic_len + 1;
    char *uri = malloc(n);
    if (uri == NULL) {
        return NULL;
    }
    memcpy(uri, scheme, sizeof scheme - 1);
    memcpy(uri + sizeof scheme - 1, bootstrap, blen);
    uri[sizeof scheme - 1 + blen] = '/';
    memcpy(uri + sizeof scheme + blen, topic, topic_len);
    uri[n - 1] = '\0';
    return uri;
}

char *weir_flow_kafka_prop_dup(weir_flow_ctx *ctx, const char *name)
{
    const char *v = NULL;
    size_t len = 0;
    if (weir_flow_ctx_prop_eval(ctx, weir_flow_ctx_prop(ctx, name), NULL, &v, &len) != 0) {
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, v != NULL ? v : "", len);
        copy[len] = '\0';
    }
    return copy;
}

void weir_flow_kafka_hex_encode(const uint8_t *src, size_t len, char *dst)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
    dst[2 * len] = '\0';
}

static int kc_hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int weir_flow_kafka_hex_decode(const char *src, size_t len, uint8_t *dst)
{
    if (len % 2 != 0) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = kc_hex_digit(src[i]);
        int lo = kc_hex_digit(src[i + 1]);
        if (hi < 0 || lo < 0) {
            return WEIR_E_INVAL;
        }
        dst[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int weir_flow_kafka_topics_split(weir_flow_ctx *ctx, const char *name, const char *list,
                                 char **topics, int32_t max, int32_t *count_out)
{
    *count_out = 0;
    for (const char *at = list != NULL ? list : "";;) {
        const char *comma = strchr(at, ',');
        const char *end = comma != NULL ? comma : at + strlen(at);
        while (at < end && *at == ' ') {
            at++;
        }
        size_t len = (size_t)(end - at);
        while (len > 0 && at[len - 1] == ' ') {
            len--;
        }
        int rc = weir_flow_kafka_topic_check(ctx, name, at, len);
        if (rc != 0) {
            return rc;
        }
        if (*count_out == max) {
            return weir_flow_ctx_fail(ctx, "property '%s': more than %d topics", name, (int)max);
        }
        char *topic = malloc(len + 1);
        if (topic == NULL) {
            return WEIR_E_NOMEM;
        }
        memcpy(topic, at, len);
        topic[len] = '\0';
        topics[(*count_out)++] = topic;
        if (comma == NULL) {
            return 0;
        }
        at = comma + 1;
    }
}

/* ---- a consumer leaving its group ---- */

#define KC_RETIRE_POLL_NS (10LL * 1000 * 1000)
#define KC_RETIRE_WAIT_NS (10LL * 1000 * 1000 * 1000)

typedef struct kc_retiring {
    weir_consumer *consumer;
    void *cb_ctx;
    int64_t deadline_ns;
} kc_retiring;

static void kc_retire_poll(weir_env *env, void *arg)
{
    kc_retiring *r = arg;
    if (!weir_consumer_closed(r->consumer) && weir_now_ns(env) < r->deadline_ns) {
        weir_timer_start(env, KC_RETIRE_POLL_NS, kc_retire_poll, r);
        return;
    }
    weir_consumer_free(r->consumer);
    free(r->cb_ctx);
    free(r);
}

void weir_flow_kafka_consumer_retire(weir_env *env, weir_consumer *c, void *cb_ctx)
{
    weir_consumer_close(c);
    kc_retiring *r = malloc(sizeof *r);
    if (r == NULL) {
        weir_consumer_free(c); /* leaves without LeaveGroup: the session timeout evicts it */
        free(cb_ctx);
        return;
    }
    *r = (kc_retiring){c, cb_ctx, weir_now_ns(env) + KC_RETIRE_WAIT_NS};
    kc_retire_poll(env, r);
}

/* ---- the clients' settings ---- */

int weir_flow_kafka_consumer_config(weir_flow_ctx *ctx, const char *bootstrap, const char *group_id,
                                    weir_consumer_config *cfg)
{
    bool honor = true;
    int rc = weir_flow_ctx_prop_bool(ctx, "Honor Transactions", &honor);
    const char *reset = weir_flow_ctx_prop_str(ctx, "Offset Reset");
    if (rc != 0 || reset == NULL) {
        return WEIR_E_INVAL; /* the reason is recorded */
    }
    if (group_id[0] == '\0') {
        return weir_flow_ctx_fail(ctx, "property 'Group ID': empty");
    }
    weir_consumer_config_default(cfg);
    cfg->bootstrap = bootstrap;
    cfg->client_id = weir_flow_ctx_name(ctx);
    cfg->group_id = group_id;
    cfg->auto_offset_reset = strcmp(reset, "earliest") == 0 ? WEIR_OFFSET_RESET_EARLIEST
                             : strcmp(reset, "none") == 0   ? WEIR_OFFSET_RESET_NONE
                                                            : WEIR_OFFSET_RESET_LATEST;
    cfg->read_committed = honor;
    cfg->enable_auto_commit = false; /* the processor commits after each session */
    return weir_flow_kafka_settings_apply(ctx, weir_flow_kafka_consumer_settings, cfg);
}

/* NiFi's Delivery Guarantee (display names or Kafka's values) as acks. */
static int16_t kc_acks(const char *guarantee)
{
    if (strcmp(guarantee, "Best Effort") == 0 || strcmp(guarantee, "0") == 0) {
        return 0;
    }
    if (strcmp(guarantee, "Guarantee Single Node Delivery") == 0 || strcmp(guarantee, "1") == 0) {
        return 1;
    }
    return -1;
}

/* transactional.id = "Transactional Id Prefix" + the processor's name. */
static int kc_txn_id(weir_flow_ctx *ctx, char **txn_id_out)
{
    const char *prefix = weir_flow_ctx_prop_str(ctx, "Transactional Id Prefix");
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    size_t nlen = strlen(weir_flow_ctx_name(ctx));
    char *id = malloc(plen + nlen + 1);
    if (id == NULL) {
        return WEIR_E_NOMEM;
    }
    memcpy(id, prefix != NULL ? prefix : "", plen);
    memcpy(id + plen, weir_flow_ctx_name(ctx), nlen + 1);
    *txn_id_out = id;
    return 0;
}

int weir_flow_kafka_producer_config(weir_flow_ctx *ctx, const char *bootstrap,
                                    weir_producer_config *cfg, bool *transactions_out,
                                    char **txn_id_out)
{
    const char *guarantee = weir_flow_ctx_prop_str(ctx, "Delivery Guarantee");
    if (guarantee == NULL) {
        return WEIR_E_INVAL; /* the reason is recorded */
    }
    int16_t acks = kc_acks(guarantee); /* before another evaluation reuses its text */
    uint64_t request_max = 0;
    *txn_id_out = NULL;
    int rc = weir_flow_ctx_prop_bool(ctx, "Use Transactions", transactions_out);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_bytes(ctx, "Max Request Size", &request_max);
    if (rc != 0) {
        return rc;
    }
    if (request_max < 1024 || request_max > INT32_MAX) {
        return weir_flow_ctx_fail(ctx, "property 'Max Request Size': not in [1 KB, 2 GB)");
    }
    weir_producer_config_default(cfg);
    cfg->bootstrap = bootstrap;
    cfg->client_id = weir_flow_ctx_name(ctx);
    cfg->acks = acks;
    cfg->enable_idempotence = cfg->acks == -1;
    cfg->request_size_max = (int32_t)request_max;
    rc = weir_flow_kafka_settings_apply(ctx, weir_flow_kafka_producer_settings, cfg);
    if (rc != 0) {
        return rc;
    }
    if (cfg->enable_idempotence && cfg->acks != -1) {
        return weir_flow_ctx_fail(ctx, "property 'enable.idempotence': true needs Delivery "
                                       "Guarantee 'Guarantee Replicated Delivery'");
    }
    if (!*transactions_out) {
        return 0;
    }
    if (cfg->acks != -1) {
        return weir_flow_ctx_fail(ctx, "property 'Use Transactions': needs Delivery Guarantee "
                                       "'Guarantee Replicated Delivery'");
    }
    rc = kc_txn_id(ctx, txn_id_out);
    cfg->transactional_id = *txn_id_out;
    return rc;
}

/* ---- Kafka settings as dynamic properties ---- */

#define KC_C(field) offsetof(weir_consumer_config, field)
#define KC_P(field) offsetof(weir_producer_config, field)

/* Not here on purpose: bootstrap.servers, group.id, acks (the processors'
 * own properties) and enable.auto.commit (ConsumeKafka commits itself,
 * after its session). */
const weir_flow_kafka_setting weir_flow_kafka_consumer_settings[] = {
    {"auto.offset.reset", WEIR_FLOW_KAFKA_OFFSET_RESET, KC_C(auto_offset_reset), 0},
    {"isolation.level", WEIR_FLOW_KAFKA_ISOLATION, KC_C(read_committed), 0},
    {"client.id", WEIR_FLOW_KAFKA_STRING, KC_C(client_id), 0},
    {"fetch.max.wait.ms", WEIR_FLOW_KAFKA_INT32, KC_C(fetch_wait_ms_max), 0},
    {"fetch.min.bytes", WEIR_FLOW_KAFKA_INT32, KC_C(fetch_bytes_min), 0},
    {"fetch.max.bytes", WEIR_FLOW_KAFKA_INT32, KC_C(fetch_bytes_max), 1},
    {"max.partition.fetch.bytes", WEIR_FLOW_KAFKA_INT32, KC_C(partition_fetch_bytes_max), 1},
    {"request.timeout.ms", WEIR_FLOW_KAFKA_INT32, KC_C(request_timeout_ms), 1},
    {"retry.backoff.ms", WEIR_FLOW_KAFKA_INT32, KC_C(retry_backoff_ms), 0},
    {"metadata.max.age.ms", WEIR_FLOW_KAFKA_INT32, KC_C(metadata_max_age_ms), 0},
    {"allow.auto.create.topics", WEIR_FLOW_KAFKA_BOOL, KC_C(allow_auto_create_topics), 0},
    {"session.timeout.ms", WEIR_FLOW_KAFKA_INT32, KC_C(session_timeout_ms), 1},
    {"heartbeat.interval.ms", WEIR_FLOW_KAFKA_INT32, KC_C(heartbeat_interval_ms), 1},
    {"max.poll.interval.ms", WEIR_FLOW_KAFKA_INT32, KC_C(rebalance_timeout_ms), 1},
    {"partition.assignment.strategy", WEIR_FLOW_KAFKA_STRING, KC_C(assignor), 0},
    {NULL, WEIR_FLOW_KAFKA_INT32, 0, 0},
};

const weir_flow_kafka_setting weir_flow_kafka_producer_settings[] = {
    {"client.id", WEIR_FLOW_KAFKA_STRING, KC_P(client_id), 0},
    {"linger.ms", WEIR_FLOW_KAFKA_INT32, KC_P(linger_ms), 0},
    {"batch.size", WEIR_FLOW_KAFKA_INT32, KC_P(batch_size), 1},
    {"max.in.flight.requests.per.connection", WEIR_FLOW_KAFKA_INT32, KC_P(in_flight_max), 1},
    {"retries", WEIR_FLOW_KAFKA_INT32, KC_P(retries), 0},
    {"retry.backoff.ms", WEIR_FLOW_KAFKA_INT32, KC_P(retry_backoff_ms), 0},
    {"request.timeout.ms", WEIR_FLOW_KAFKA_INT32, KC_P(request_timeout_ms), 1},
    {"delivery.timeout.ms", WEIR_FLOW_KAFKA_INT32, KC_P(delivery_timeout_ms), 1},
    {"metadata.max.age.ms", WEIR_FLOW_KAFKA_INT32, KC_P(metadata_max_age_ms), 0},
    {"enable.idempotence", WEIR_FLOW_KAFKA_BOOL, KC_P(enable_idempotence), 0},
    {"transaction.timeout.ms", WEIR_FLOW_KAFKA_INT32, KC_P(transaction_timeout_ms), 1},
    {NULL, WEIR_FLOW_KAFKA_INT32, 0, 0},
};

/* Parses value for setting s into its field of cfg. */
static int kc_setting_set(weir_flow_ctx *ctx, const weir_flow_kafka_setting *s, const char *value,
                          void *cfg)
{
    char *field = (char *)cfg + s->offset;
    switch (s->kind) {
    case WEIR_FLOW_KAFKA_INT32: {
        char *end = NULL;
        long long v = strtoll(value, &end, 10);
        if (value[0] == '\0' || *end != '\0' || v < s->min || v > INT32_MAX) {
            return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not an integer in [%d, %d]",
                                      s->name, value, (int)s->min, INT32_MAX);
        }
        int32_t i = (int32_t)v;
        memcpy(field, &i, sizeof i);
        return 0;
    }
    case WEIR_FLOW_KAFKA_BOOL:
    case WEIR_FLOW_KAFKA_ISOLATION: {
        bool iso = s->kind == WEIR_FLOW_KAFKA_ISOLATION;
        const char *yes = iso ? "read_committed" : "true";
        const char *no = iso ? "read_uncommitted" : "false";
        if (strcmp(value, yes) != 0 && strcmp(value, no) != 0) {
            return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not %s or %s", s->name, value,
                                      yes, no);
        }
        bool b = strcmp(value, yes) == 0;
        memcpy(field, &b, sizeof b);
        return 0;
    }
    case WEIR_FLOW_KAFKA_OFFSET_RESET: {
        weir_offset_reset r = strcmp(value, "earliest") == 0 ? WEIR_OFFSET_RESET_EARLIEST
                              : strcmp(value, "latest") == 0 ? WEIR_OFFSET_RESET_LATEST
                              : strcmp(value, "none") == 0   ? WEIR_OFFSET_RESET_NONE
                                                             : (weir_offset_reset)-1;
        if ((int)r < 0) {
            return weir_flow_ctx_fail(ctx, "property '%s': '%s' is not earliest, latest or none",
                                      s->name, value);
        }
        memcpy(field, &r, sizeof r);
        return 0;
    }
    case WEIR_FLOW_KAFKA_STRING:
        memcpy(field, &value, sizeof value);
        return 0;
    }
    return WEIR_E_INVAL;
}

int weir_flow_kafka_settings_apply(weir_flow_ctx *ctx, const weir_flow_kafka_setting *table,
                                   void *cfg)
{
    for (size_t i = 0; i < weir_flow_ctx_dyn_count(ctx); i++) {
        const weir_flow_prop *p = weir_flow_ctx_dyn(ctx, i);
        const weir_flow_kafka_setting *s = table;
        while (s->name != NULL && strcmp(s->name, p->name) != 0) {
            s++;
        }
        if (s->name == NULL) {
            return weir_flow_ctx_fail(ctx,
                                      "property '%s': not a property of this processor nor a "
                                      "Kafka client setting it takes",
                                      p->name);
        }
        /* taken as written (parameters substituted): string values must
         * stay put until the client copies them */
        if (p->has_expr) {
            return weir_flow_ctx_fail(ctx, "property '%s': a Kafka setting takes no ${...}",
                                      p->name);
        }
        int rc = kc_setting_set(ctx, s, p->value != NULL ? p->value : "", cfg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

bool weir_flow_kafka_setting_given(const weir_flow_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < weir_flow_ctx_dyn_count(ctx); i++) {
        if (strcmp(weir_flow_ctx_dyn(ctx, i)->name, name) == 0) {
            return true;
        }
    }
    return false;
}
