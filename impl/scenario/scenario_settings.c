/* The Kafka settings a scenario may write, where, and what values they take.
 *
 * Settings keep Kafka's names (with dots) so a Kafka user can read them;
 * weir's own keys have no dots, so the two never clash. One table says,
 * for each setting, its type, its range and in which mappings it may
 * appear: broker_defaults, a broker, a topic, the controller. A setting
 * written in the wrong place is an error that says where it belongs.
 * Log settings are also checked by weir_log_config_set itself, so the
 * scenario accepts exactly what the log accepts.
 */
#include <stdio.h>
#include <string.h>

#include "core/units.h"
#include "scenario/scenario_internal.h"

typedef enum scn_setting_type {
    SCN_T_INT,   /* an integer */
    SCN_T_MS,    /* milliseconds: an integer, or a duration ("10s") */
    SCN_T_BYTES, /* bytes: an integer, or a size ("1MiB") */
    SCN_T_BOOL,
    SCN_T_ENUM,
} scn_setting_type;

typedef struct scn_setting_def {
    const char *key;
    scn_setting_type type;
    int64_t min;
    int64_t max;
    bool neg1_ok;      /* -1 is also allowed (never / unlimited) */
    bool log;          /* also checked by weir_log_config_set */
    unsigned scopes;   /* SCN_SCOPE_* */
    const char *other; /* the same setting's name in the other place (log.x <-> x) */
} scn_setting_def;

#define BROKER (SCN_SCOPE_DEFAULTS | SCN_SCOPE_BROKER)
#define CLUSTER (SCN_SCOPE_DEFAULTS | SCN_SCOPE_TOPIC)
#define I32 INT32_MAX

/* The words of the one enum setting, replication.truncation.rule, in the
 * order of weir_scn_setting.number (a second enum would need a words field). */
static const char *const scn_truncation_rules[] = {"truncate_to_hw", "leader_epoch"};

static const scn_setting_def scn_settings[] = {
    /* replication, per broker */
    {"replica.lag.time.max.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"replica.fetch.wait.max.ms", SCN_T_MS, 0, I32, false, false, BROKER, NULL},
    {"replica.socket.timeout.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"replica.fetch.max.bytes", SCN_T_BYTES, 1, I32, false, false, BROKER, NULL},
    {"replica.high.watermark.checkpoint.interval.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"replication.truncation.rule", SCN_T_ENUM, 0, 1, false, false, BROKER, NULL},
    {"log.flush.interval.messages", SCN_T_INT, 1, INT64_MAX, true, false, BROKER, NULL},
    {"log.flush.interval.ms", SCN_T_MS, 1, INT64_MAX, true, false, BROKER, NULL},
    /* group and transaction coordinators, per broker */
    {"offsets.topic.num.partitions", SCN_T_INT, 1, 1000, false, false, BROKER, NULL},
    {"offsets.topic.replication.factor", SCN_T_INT, 1, WEIR_SCN_RF_MAX, false, false, BROKER, NULL},
    {"offsets.commit.timeout.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"group.initial.rebalance.delay.ms", SCN_T_MS, 0, I32, false, false, BROKER, NULL},
    {"group.min.session.timeout.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"group.max.session.timeout.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"transaction.state.log.num.partitions", SCN_T_INT, 1, 1000, false, false, BROKER, NULL},
    {"transaction.state.log.replication.factor", SCN_T_INT, 1, WEIR_SCN_RF_MAX, false, false, BROKER,
     NULL},
    {"transaction.max.timeout.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"transactional.id.expiration.ms", SCN_T_MS, 1, I32, false, false, BROKER, NULL},
    {"transaction.version", SCN_T_INT, 1, 2, false, false, BROKER, NULL},
    /* log defaults, per broker */
    {"log.segment.bytes", SCN_T_BYTES, 1, INT64_MAX, false, true, BROKER, "segment.bytes"},
    {"log.roll.ms", SCN_T_MS, 1, INT64_MAX, false, true, BROKER, "segment.ms"},
    {"log.retention.ms", SCN_T_MS, 1, INT64_MAX, true, true, BROKER, "retention.ms"},
    {"log.retention.bytes", SCN_T_BYTES, 1, INT64_MAX, true, true, BROKER, "retention.bytes"},
    {"log.index.size.max.bytes", SCN_T_BYTES, 1, I32, false, true, BROKER, "segment.index.bytes"},
    {"log.index.interval.bytes", SCN_T_BYTES, 0, I32, false, true, BROKER, "index.interval.bytes"},
    {"message.max.bytes", SCN_T_BYTES, 1, I32, false, true, BROKER, "max.message.bytes"},
    /* cluster-wide defaults that a topic may override */
    {"min.insync.replicas", SCN_T_INT, 1, WEIR_SCN_RF_MAX, false, false, CLUSTER, NULL},
    {"unclean.leader.election.enable", SCN_T_BOOL, 0, 1, false, false, CLUSTER, NULL},
    /* per topic */
    {"segment.bytes", SCN_T_BYTES, 1, INT64_MAX, false, true, SCN_SCOPE_TOPIC, "log.segment.bytes"},
    {"segment.ms", SCN_T_MS, 1, INT64_MAX, false, true, SCN_SCOPE_TOPIC, "log.roll.ms"},
    {"retention.ms", SCN_T_MS, 1, INT64_MAX, true, true, SCN_SCOPE_TOPIC, "log.retention.ms"},
    {"retention.bytes", SCN_T_BYTES, 1, INT64_MAX, true, true, SCN_SCOPE_TOPIC,
     "log.retention.bytes"},
    {"segment.index.bytes", SCN_T_BYTES, 1, I32, false, true, SCN_SCOPE_TOPIC,
     "log.index.size.max.bytes"},
    {"index.interval.bytes", SCN_T_BYTES, 0, I32, false, true, SCN_SCOPE_TOPIC,
     "log.index.interval.bytes"},
    {"max.message.bytes", SCN_T_BYTES, 1, I32, false, true, SCN_SCOPE_TOPIC, "message.max.bytes"},
    /* the controller */
    {"broker.session.timeout.ms", SCN_T_MS, 1, I32, false, false, SCN_SCOPE_CONTROLLER, NULL},
    {"broker.heartbeat.interval.ms", SCN_T_MS, 1, I32, false, false, SCN_SCOPE_CONTROLLER, NULL},
};

#define SCN_SETTING_COUNT (sizeof scn_settings / sizeof scn_settings[0])

static const scn_setting_def *scn_setting_def_find(const char *key)
{
    for (size_t i = 0; i < SCN_SETTING_COUNT; i++) {
        if (strcmp(scn_settings[i].key, key) == 0) {
            return &scn_settings[i];
        }
    }
    return NULL;
}

bool scn_setting_known(const char *key, unsigned scope)
{
    const scn_setting_def *d = scn_setting_def_find(key);
    return d != NULL && (d->scopes & scope) != 0;
}

size_t scn_setting_names(unsigned scope, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < SCN_SETTING_COUNT && n < max; i++) {
        if ((scn_settings[i].scopes & scope) != 0) {
            names[n++] = scn_settings[i].key;
        }
    }
    return n;
}

const char *scn_setting_misplaced(const char *key, unsigned scope, char *buf, size_t size)
{
    const scn_setting_def *d = scn_setting_def_find(key);
    if (d == NULL) {
        return NULL;
    }
    if (d->other != NULL && scn_setting_known(d->other, scope)) {
        snprintf(buf, size, "not a setting here: write \"%s\" (\"%s\" is its name %s)", d->other,
                 key, (d->scopes & SCN_SCOPE_TOPIC) ? "on a topic" : "for brokers");
        return buf;
    }
    const char *places[4];
    size_t n = 0;
    if (d->scopes & SCN_SCOPE_DEFAULTS) {
        places[n++] = "broker_defaults";
    }
    if (d->scopes & SCN_SCOPE_BROKER) {
        places[n++] = "a broker";
    }
    if (d->scopes & SCN_SCOPE_TOPIC) {
        places[n++] = "a topic";
    }
    if (d->scopes & SCN_SCOPE_CONTROLLER) {
        places[n++] = "the controller";
    }
    char list[128];
    scn_list(list, sizeof list, places, n);
    snprintf(buf, size, "not a setting here: \"%s\" belongs in %s", key, list);
    return buf;
}

/* Reads the value of one setting; writes its normalised text to text. */
static int scn_setting_value(scn_ctx *ctx, const scn_setting_def *d, const yaml_node_t *node,
                             int64_t *number, char *text, size_t text_size)
{
    const char *raw;
    int rc = scn_scalar(ctx, node, &raw);
    if (rc != 0) {
        return rc;
    }
    int64_t v = 0;
    if (d->type == SCN_T_BOOL) {
        bool b;
        rc = scn_bool(ctx, node, &b);
        if (rc != 0) {
            return rc;
        }
        *number = b;
        snprintf(text, text_size, "%s", b ? "true" : "false");
        return 0;
    }
    if (d->type == SCN_T_ENUM) {
        int i;
        rc = scn_enum(ctx, node, scn_truncation_rules, 2, &i);
        if (rc != 0) {
            return rc;
        }
        *number = i;
        snprintf(text, text_size, "%s", scn_truncation_rules[i]);
        return 0;
    }
    if (d->neg1_ok && strcmp(raw, "-1") == 0) {
        v = -1;
    } else if (d->type == SCN_T_INT) {
        rc = scn_int(ctx, node, d->min, d->max, &v);
        if (rc != 0) {
            return rc;
        }
    } else if (d->type == SCN_T_MS) {
        /* A bare integer is milliseconds here (Kafka's unit), not seconds. */
        uint64_t u;
        int64_t ns = -1;
        if (weir_parse_u64(raw, &u) == 0) {
            ns = u <= (uint64_t)INT64_MAX / 1000000 ? (int64_t)u * 1000000 : -1;
        } else if (raw[0] == '-' || weir_parse_duration_ns(raw, &ns) != 0) {
            ns = -1;
        }
        if (ns < 0 || ns % 1000000 != 0) {
            return scn_fail(ctx, node,
                            "expected whole milliseconds (10000) or a duration (10s), got \"%s\"",
                            raw);
        }
        v = ns / 1000000;
    } else {
        uint64_t bytes;
        if (scn_parse_size(raw, &bytes) != 0 || bytes > (uint64_t)INT64_MAX) {
            return scn_fail(ctx, node, "expected bytes (1048576, or 1MiB), got \"%s\"", raw);
        }
        v = (int64_t)bytes;
    }
    if (v != -1 && (v < d->min || v > d->max)) {
        return scn_fail(ctx, node, "%lld is out of range: %lld to %lld%s", (long long)v,
                        (long long)d->min, (long long)d->max, d->neg1_ok ? ", or -1" : "");
    }
    *number = v;
    snprintf(text, text_size, "%lld", (long long)v);
    return 0;
}

int scn_settings_parse(scn_ctx *ctx, const yaml_node_t *map, unsigned scope, weir_scn_settings *out,
                       weir_log_config *log)
{
    out->items = NULL;
    out->count = 0;
    const yaml_node_pair_t *start = map->data.mapping.pairs.start;
    size_t pairs = (size_t)(map->data.mapping.pairs.top - start);
    size_t n = 0;
    for (size_t i = 0; i < pairs; i++) {
        n += scn_setting_known(scn_text(scn_node(ctx, start[i].key)), scope);
    }
    if (n > WEIR_SCN_SETTINGS_MAX) {
        return scn_fail(ctx, map, "%zu Kafka settings: at most %d", n, WEIR_SCN_SETTINGS_MAX);
    }
    out->items = scn_alloc(ctx->sc, (n > 0 ? n : 1) * sizeof *out->items);
    if (out->items == NULL) {
        return scn_nomem(ctx);
    }
    weir_log_config scratch;
    weir_log_config_default(&scratch);
    for (size_t i = 0; i < pairs; i++) {
        yaml_node_t *key = scn_node(ctx, start[i].key);
        const char *name = scn_text(key);
        if (!scn_setting_known(name, scope)) {
            continue;
        }
        const scn_setting_def *d = scn_setting_def_find(name);
        yaml_node_t *value = scn_node(ctx, start[i].value);
        size_t back = scn_path_key(ctx, name);
        weir_scn_setting *s = &out->items[out->count];
        char text[64];
        int rc = scn_setting_value(ctx, d, value, &s->number, text, sizeof text);
        if (rc != 0) {
            return rc;
        }
        if (d->log) {
            const char *why = NULL;
            rc = weir_log_config_set(log != NULL ? log : &scratch, name, text, &why);
            if (rc != 0) {
                return scn_fail(ctx, value, "%s", why != NULL ? why : "rejected by the log");
            }
        }
        s->key = scn_strndup(ctx->sc, name, strlen(name));
        s->value = scn_strndup(ctx->sc, text, strlen(text));
        if (s->key == NULL || s->value == NULL) {
            return scn_nomem(ctx);
        }
        s->mark = scn_mark(value);
        out->count++;
        scn_path_pop(ctx, back);
    }
    return 0;
}

int scn_settings_merge(scn_ctx *ctx, const weir_scn_settings *base, const weir_scn_settings *over,
                       weir_scn_settings *out)
{
    size_t cap = base->count + over->count;
    weir_scn_setting *items = scn_alloc(ctx->sc, (cap > 0 ? cap : 1) * sizeof *items);
    if (items == NULL) {
        return scn_nomem(ctx);
    }
    size_t n = 0;
    for (size_t i = 0; i < base->count; i++) {
        items[n++] = base->items[i];
    }
    for (size_t i = 0; i < over->count; i++) {
        size_t j = 0;
        while (j < n && strcmp(items[j].key, over->items[i].key) != 0) {
            j++;
        }
        items[j] = over->items[i];
        n += j == n;
    }
    out->items = items;
    out->count = n;
    return 0;
}
