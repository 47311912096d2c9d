/* The sections of a scenario file, parsed in dependency order (whatever
 * their order in the file): the top level, platform, broker_defaults,
 * brokers, controller, topics, producers, consumers, flows and actions
 * (scenario_flow.c), then faults and expect (scenario_faults.c), then
 * variants. Brokers and the controller are optional in a file of flows. Each reference is checked where it is
 * read, against the sections already parsed, so every message points at
 * the line that holds the mistake.
 */
#include <stdio.h>
#include <string.h>

#include "core/units.h"
#include "scenario/scenario_internal.h"

/* ---- references ---- */

int scn_host_ref(scn_ctx *ctx, const yaml_node_t *node, const char *name, int *index)
{
    *index = weir_scenario_host_find(ctx->sc, name);
    if (*index >= 0) {
        return 0;
    }
    const char *names[WEIR_SCN_HOSTS_MAX];
    for (size_t i = 0; i < ctx->sc->host_count; i++) {
        names[i] = ctx->sc->hosts[i].name;
    }
    char hint[512];
    scn_hint_as(hint, sizeof hint, name, names, ctx->sc->host_count, "declared:");
    return scn_fail(ctx, node, "no host named \"%s\" in platform.hosts%s", name, hint);
}

int scn_topic_ref(scn_ctx *ctx, const yaml_node_t *node, const char *name, int *index)
{
    *index = weir_scenario_topic_find(ctx->sc, name);
    if (*index >= 0) {
        return 0;
    }
    const char *names[WEIR_SCN_TOPICS_MAX];
    for (size_t i = 0; i < ctx->sc->topic_count; i++) {
        names[i] = ctx->sc->topics[i].name;
    }
    char hint[512];
    scn_hint_as(hint, sizeof hint, name, names, ctx->sc->topic_count, "declared:");
    if (ctx->sc->topic_count == 0) {
        snprintf(hint, sizeof hint, " (the file declares no topics)");
    }
    return scn_fail(ctx, node, "no topic named \"%s\"%s", name, hint);
}

static int scn_host_ref_key(scn_ctx *ctx, const yaml_node_t *map, int *index)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, "host", &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "host");
    const char *name;
    rc = scn_scalar(ctx, v, &name);
    if (rc == 0) {
        rc = scn_host_ref(ctx, v, name, index);
    }
    scn_path_pop(ctx, back);
    return rc;
}

static int scn_topic_ref_key(scn_ctx *ctx, const yaml_node_t *map, int *index)
{
    yaml_node_t *v;
    int rc = scn_map_need(ctx, map, "topic", &v);
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "topic");
    const char *name;
    rc = scn_scalar(ctx, v, &name);
    if (rc == 0) {
        rc = scn_topic_ref(ctx, v, name, index);
    }
    scn_path_pop(ctx, back);
    return rc;
}

/* ---- platform ---- */

static int scn_parse_link(scn_ctx *ctx, const yaml_node_t *node, weir_scn_link *link)
{
    static const char *const keys[] = {"latency", "bandwidth"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_opt_duration(ctx, node, "latency", &link->latency_ns);
    }
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, node, "bandwidth", &link->bandwidth_bps);
    }
    return rc;
}

static int scn_parse_disk(scn_ctx *ctx, const yaml_node_t *node, weir_scn_disk *disk)
{
    static const char *const keys[] = {"write", "read", "fsync", "capacity", "torn_crash"};
    static const scn_keyset ks = KEYSET(keys, 0);
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, node, "write", &disk->write_bps);
    }
    if (rc == 0) {
        rc = scn_opt_bandwidth(ctx, node, "read", &disk->read_bps);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, node, "fsync", &disk->fsync_ns);
    }
    if (rc == 0) {
        rc = scn_opt_size(ctx, node, "capacity", true, 1, UINT64_MAX, &disk->capacity_bytes);
    }
    if (rc == 0) {
        rc = scn_opt_bool(ctx, node, "torn_crash", &disk->torn_crash);
    }
    return rc;
}

/* A sub-mapping (link, disk) of map, if present, parsed over *out. */
static int scn_parse_sub(scn_ctx *ctx, const yaml_node_t *map, const char *key,
                         int (*parse)(scn_ctx *, const yaml_node_t *, void *), void *out)
{
    yaml_node_t *v = scn_map_get(ctx, map, key);
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = parse(ctx, v, out);
    scn_path_pop(ctx, back);
    return rc;
}

static int scn_link_cb(scn_ctx *ctx, const yaml_node_t *n, void *out)
{
    return scn_parse_link(ctx, n, out);
}

static int scn_disk_cb(scn_ctx *ctx, const yaml_node_t *n, void *out)
{
    return scn_parse_disk(ctx, n, out);
}

static int scn_parse_host(scn_ctx *ctx, const yaml_node_t *item, weir_scn_host *h)
{
    static const char *const keys[] = {"name", "link", "disk"};
    static const scn_keyset ks = KEYSET(keys, 0);
    const yaml_node_t *name = item; /* a bare name: the item is the name */
    int rc = 0;
    if (item->type == YAML_MAPPING_NODE) {
        yaml_node_t *named = NULL;
        rc = scn_map_check(ctx, item, &ks);
        if (rc == 0) {
            rc = scn_parse_sub(ctx, item, "link", scn_link_cb, &h->link);
        }
        if (rc == 0) {
            rc = scn_parse_sub(ctx, item, "disk", scn_disk_cb, &h->disk);
        }
        if (rc == 0) {
            rc = scn_map_need(ctx, item, "name", &named);
        }
        if (rc != 0) {
            return rc;
        }
        name = named;
    }
    size_t back = item->type == YAML_MAPPING_NODE ? scn_path_key(ctx, "name") : ctx->y.path_len;
    rc = scn_name(ctx, name, WEIR_SCN_NAME_MAX, "host", &h->name);
    if (rc == 0) {
        int dup = weir_scenario_host_find(ctx->sc, h->name);
        if (dup >= 0) {
            rc = scn_fail(ctx, name, "host \"%s\" is declared twice (first at line %d)", h->name,
                          ctx->sc->hosts[dup].mark.line);
        }
    }
    scn_path_pop(ctx, back);
    return rc;
}

static int scn_parse_platform(scn_ctx *ctx, const yaml_node_t *node)
{
    static const char *const keys[] = {"link", "disk", "hosts"};
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scn_link link = {.latency_ns = 100000, .bandwidth_bps = 125e6};
    weir_scn_disk disk = {0};
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_parse_sub(ctx, node, "link", scn_link_cb, &link);
    }
    if (rc == 0) {
        rc = scn_parse_sub(ctx, node, "disk", scn_disk_cb, &disk);
    }
    yaml_node_t *hosts;
    if (rc == 0) {
        rc = scn_map_need(ctx, node, "hosts", &hosts);
    }
    if (rc != 0) {
        return rc;
    }
    size_t back = scn_path_key(ctx, "hosts");
    size_t count;
    rc = scn_seq_check(ctx, hosts, WEIR_SCN_HOSTS_MAX, &count);
    if (rc == 0 && count == 0) {
        rc = scn_fail(ctx, hosts, "no hosts: declare one per broker, controller and client");
    }
    if (rc != 0) {
        return rc;
    }
    ctx->sc->hosts = scn_alloc(ctx->sc, count * sizeof *ctx->sc->hosts);
    if (ctx->sc->hosts == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = scn_seq_item(ctx, hosts, i);
        weir_scn_host *h = &ctx->sc->hosts[i];
        h->link = link;
        h->disk = disk;
        h->mark = scn_mark(item);
        size_t b = scn_path_index(ctx, i);
        rc = scn_parse_host(ctx, item, h);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, b);
        ctx->sc->host_count++;
    }
    scn_path_pop(ctx, back);
    return 0;
}

/* ---- brokers and controller ---- */

/* Fails if host already runs a broker or the controller. */
static int scn_host_free(scn_ctx *ctx, const yaml_node_t *map, int host, size_t brokers)
{
    for (size_t j = 0; j < brokers; j++) {
        if (ctx->sc->brokers[j].host_index == host) {
            return scn_fail_key(ctx, map, "host",
                                "host \"%s\" already runs broker %d: one broker or controller "
                                "per host",
                                ctx->sc->hosts[host].name, (int)ctx->sc->brokers[j].id);
        }
    }
    return 0;
}

static int scn_parse_broker(scn_ctx *ctx, const yaml_node_t *item, size_t index)
{
    static const char *const keys[] = {"id", "host"};
    static const scn_keyset ks = KEYSET(keys, SCN_SCOPE_BROKER);
    weir_scn_broker *b = &ctx->sc->brokers[index];
    b->mark = scn_mark(item);
    int rc = scn_map_check(ctx, item, &ks);
    yaml_node_t *id;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "id", &id);
    }
    int64_t v = 0;
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "id", 0, INT32_MAX, &v);
    }
    if (rc != 0) {
        return rc;
    }
    b->id = (int32_t)v;
    int dup = weir_scenario_broker_find(ctx->sc, b->id);
    if (dup >= 0 && (size_t)dup < index) {
        return scn_fail_key(ctx, item, "id", "broker id %d is used twice (first at line %d)",
                            (int)b->id, ctx->sc->brokers[dup].mark.line);
    }
    rc = scn_host_ref_key(ctx, item, &b->host_index);
    if (rc == 0) {
        rc = scn_host_free(ctx, item, b->host_index, index);
    }
    if (rc == 0) {
        rc = scn_settings_parse(ctx, item, SCN_SCOPE_BROKER, &b->config, NULL);
    }
    return rc;
}

static int scn_parse_brokers(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_BROKERS_MAX, &count);
    if (rc == 0 && count == 0) {
        rc = scn_fail(ctx, node, "no brokers: declare at least one");
    }
    if (rc != 0) {
        return rc;
    }
    ctx->sc->brokers = scn_alloc(ctx->sc, count * sizeof *ctx->sc->brokers);
    if (ctx->sc->brokers == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        ctx->sc->brokers[i].id = -1;
        ctx->sc->brokers[i].host_index = -1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        rc = scn_parse_broker(ctx, scn_seq_item(ctx, node, i), i);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
        ctx->sc->broker_count++;
    }
    return 0;
}

static int scn_parse_controller(scn_ctx *ctx, const yaml_node_t *node)
{
    static const char *const keys[] = {"host"};
    static const scn_keyset ks = KEYSET(keys, SCN_SCOPE_CONTROLLER);
    weir_scn_controller *c = &ctx->sc->controller;
    c->mark = scn_mark(node);
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_host_ref_key(ctx, node, &c->host_index);
    }
    if (rc == 0) {
        rc = scn_host_free(ctx, node, c->host_index, ctx->sc->broker_count);
    }
    weir_scn_settings s;
    if (rc == 0) {
        rc = scn_settings_parse(ctx, node, SCN_SCOPE_CONTROLLER, &s, NULL);
    }
    if (rc != 0) {
        return rc;
    }
    const weir_scn_setting *session = scn_settings_find(&s, "broker.session.timeout.ms");
    const weir_scn_setting *beat = scn_settings_find(&s, "broker.heartbeat.interval.ms");
    c->session_timeout_ms = session != NULL ? session->number : 9000;
    c->heartbeat_interval_ms = beat != NULL ? beat->number : 2000;
    if (c->heartbeat_interval_ms >= c->session_timeout_ms) {
        const char *key =
            beat != NULL ? "broker.heartbeat.interval.ms" : "broker.session.timeout.ms";
        return scn_fail_key(ctx, node, key,
                            "the heartbeat interval (%lld ms) must be shorter than the session "
                            "timeout (%lld ms), or every broker is fenced",
                            (long long)c->heartbeat_interval_ms, (long long)c->session_timeout_ms);
    }
    return 0;
}

/* ---- topics ---- */

int scn_check_topics_min_isr(scn_ctx *ctx, const weir_scn_settings *defaults,
                             const yaml_node_t *defaults_node)
{
    const weir_scn_setting *d = scn_settings_find(defaults, "min.insync.replicas");
    if (d == NULL) {
        return 0;
    }
    for (size_t i = 0; i < ctx->sc->topic_count; i++) {
        const weir_scn_topic *t = &ctx->sc->topics[i];
        if (t->min_insync_replicas < 0 && d->number > t->replication_factor) {
            return scn_fail_key(ctx, defaults_node, "min.insync.replicas",
                                "%lld is larger than the replication factor %d of topic \"%s\" "
                                "(set min.insync.replicas on the topic)",
                                (long long)d->number, (int)t->replication_factor, t->name);
        }
    }
    return 0;
}

/* One row of an explicit assignment: rf distinct declared broker ids. */
static int scn_parse_assignment_row(scn_ctx *ctx, const yaml_node_t *row, size_t rf, int32_t *out)
{
    size_t n;
    int rc = scn_seq_check(ctx, row, WEIR_SCN_RF_MAX, &n);
    if (rc == 0 && n != rf) {
        rc = scn_fail(ctx, row, "%zu replicas, but the replication factor is %zu", n, rf);
    }
    for (size_t j = 0; j < n && rc == 0; j++) {
        yaml_node_t *item = scn_seq_item(ctx, row, j);
        size_t back = scn_path_index(ctx, j);
        int64_t id;
        rc = scn_int(ctx, item, 0, INT32_MAX, &id);
        if (rc == 0 && weir_scenario_broker_find(ctx->sc, (int32_t)id) < 0) {
            rc = scn_fail(ctx, item, "no broker with id %lld", (long long)id);
        }
        for (size_t k = 0; k < j && rc == 0; k++) {
            if (out[k] == (int32_t)id) {
                rc = scn_fail(ctx, item, "broker %lld is already a replica of this partition",
                              (long long)id);
            }
        }
        out[j] = (int32_t)id;
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_parse_assignment(scn_ctx *ctx, const yaml_node_t *item, weir_scn_topic *t,
                                bool has_partitions, bool has_rf)
{
    yaml_node_t *node = scn_map_get(ctx, item, "assignment");
    size_t back = scn_path_key(ctx, "assignment");
    size_t rows;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_PARTITIONS_MAX, &rows);
    if (rc == 0 && rows == 0) {
        rc = scn_fail(ctx, node, "empty: give one row of broker ids per partition");
    }
    if (rc == 0 && has_partitions && rows != (size_t)t->partitions) {
        rc = scn_fail(ctx, node, "%zu rows for %d partitions: one row per partition", rows,
                      (int)t->partitions);
    }
    if (rc != 0) {
        return rc;
    }
    t->partitions = (int32_t)rows;
    yaml_node_t *first = scn_seq_item(ctx, node, 0);
    if (!has_rf && first->type == YAML_SEQUENCE_NODE) {
        size_t rf = (size_t)(first->data.sequence.items.top - first->data.sequence.items.start);
        t->replication_factor = (int16_t)(rf > 0 && rf <= WEIR_SCN_RF_MAX ? rf : 1);
    }
    t->assignment = scn_alloc(ctx->sc, rows * (size_t)t->replication_factor * sizeof(int32_t));
    if (t->assignment == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < rows && rc == 0; i++) {
        size_t b = scn_path_index(ctx, i);
        rc =
            scn_parse_assignment_row(ctx, scn_seq_item(ctx, node, i), (size_t)t->replication_factor,
                                     t->assignment + i * (size_t)t->replication_factor);
        if (rc == 0) {
            scn_path_pop(ctx, b);
        }
    }
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_parse_topic(scn_ctx *ctx, const yaml_node_t *item, weir_scn_topic *t)
{
    static const char *const keys[] = {"name", "partitions", "replication_factor", "assignment"};
    static const scn_keyset ks = KEYSET(keys, SCN_SCOPE_TOPIC);
    t->mark = scn_mark(item);
    t->partitions = 1;
    t->replication_factor = 1;
    t->min_insync_replicas = -1;
    weir_log_config_default(&t->log);
    int rc = scn_map_check(ctx, item, &ks);
    yaml_node_t *name;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "name", &name);
    }
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "name");
        rc = scn_name(ctx, name, WEIR_SCN_TOPIC_MAX, "topic", &t->name);
        int dup = rc == 0 ? weir_scenario_topic_find(ctx->sc, t->name) : -1;
        if (dup >= 0) {
            rc = scn_fail(ctx, name, "topic \"%s\" is declared twice (first at line %d)", t->name,
                          ctx->sc->topics[dup].mark.line);
        }
        scn_path_pop(ctx, back);
    }
    int64_t partitions = 1, rf = 1;
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "partitions", 1, WEIR_SCN_PARTITIONS_MAX, &partitions);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "replication_factor", 1, WEIR_SCN_RF_MAX, &rf);
    }
    if (rc != 0) {
        return rc;
    }
    t->partitions = (int32_t)partitions;
    t->replication_factor = (int16_t)rf;
    if ((size_t)rf > ctx->sc->broker_count) {
        return scn_fail_key(ctx, item, "replication_factor", "%lld is larger than the %zu broker%s",
                            (long long)rf, ctx->sc->broker_count,
                            ctx->sc->broker_count == 1 ? "" : "s");
    }
    if (scn_map_get(ctx, item, "assignment") != NULL) {
        rc = scn_parse_assignment(ctx, item, t, scn_map_get(ctx, item, "partitions") != NULL,
                                  scn_map_get(ctx, item, "replication_factor") != NULL);
        if (rc != 0) {
            return rc;
        }
    }
    rc = scn_settings_parse(ctx, item, SCN_SCOPE_TOPIC, &t->config, &t->log);
    if (rc != 0) {
        return rc;
    }
    const weir_scn_setting *min_isr = scn_settings_find(&t->config, "min.insync.replicas");
    if (min_isr != NULL) {
        t->min_insync_replicas = (int16_t)min_isr->number;
        if (min_isr->number > t->replication_factor) {
            return scn_fail_key(ctx, item, "min.insync.replicas",
                                "%lld is larger than the replication factor (%d): acks=all "
                                "could never succeed",
                                (long long)min_isr->number, (int)t->replication_factor);
        }
    }
    return 0;
}

static int scn_parse_topics(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_TOPICS_MAX, &count);
    if (rc != 0) {
        return rc;
    }
    ctx->sc->topics = scn_alloc(ctx->sc, (count > 0 ? count : 1) * sizeof *ctx->sc->topics);
    if (ctx->sc->topics == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        rc = scn_parse_topic(ctx, scn_seq_item(ctx, node, i), &ctx->sc->topics[i]);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
        ctx->sc->topic_count++;
    }
    return 0;
}

/* ---- producers and consumers ---- */

/* The client's name (given, or "producer-3"), unique among all clients. */
static int scn_client_name(scn_ctx *ctx, const yaml_node_t *item, const char *kind, size_t index,
                           const char **out)
{
    yaml_node_t *v = scn_map_get(ctx, item, "name");
    if (v == NULL) {
        char buf[WEIR_SCN_NAME_MAX];
        snprintf(buf, sizeof buf, "%s-%zu", kind, index + 1);
        *out = scn_strndup(ctx->sc, buf, strlen(buf));
        return *out != NULL ? 0 : scn_nomem(ctx);
    }
    size_t back = scn_path_key(ctx, "name");
    int rc = scn_name(ctx, v, WEIR_SCN_NAME_MAX, kind, out);
    scn_path_pop(ctx, back);
    if (rc != 0) {
        return rc;
    }
    const weir_scenario *sc = ctx->sc;
    int line = -1;
    for (size_t i = 0; i < sc->producer_count && line < 0; i++) {
        line = strcmp(sc->producers[i].name, *out) == 0 ? sc->producers[i].mark.line : -1;
    }
    for (size_t i = 0; i < sc->consumer_count && line < 0; i++) {
        line = strcmp(sc->consumers[i].name, *out) == 0 ? sc->consumers[i].mark.line : -1;
    }
    if (line >= 0) {
        return scn_fail_key(ctx, item, "name",
                            "client name \"%s\" is used twice (first at line %d)", *out, line);
    }
    return 0;
}

/* keys: none | sequence | random(N) */
static int scn_parse_keys(scn_ctx *ctx, const yaml_node_t *item, weir_scn_producer *p)
{
    yaml_node_t *v = scn_map_get(ctx, item, "keys");
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, "keys");
    const char *text;
    int rc = scn_scalar(ctx, v, &text);
    if (rc != 0) {
        return rc;
    }
    size_t len = strlen(text);
    uint64_t n = 0;
    if (strcmp(text, "none") == 0) {
        p->keys = WEIR_SCN_KEYS_NONE;
    } else if (strcmp(text, "sequence") == 0) {
        p->keys = WEIR_SCN_KEYS_SEQUENCE;
    } else if (len > 8 && len < 40 && strncmp(text, "random(", 7) == 0 && text[len - 1] == ')') {
        char digits[40];
        memcpy(digits, text + 7, len - 8);
        digits[len - 8] = '\0';
        if (weir_parse_u64(digits, &n) != 0 || n == 0 || n > UINT32_MAX) {
            return scn_fail(ctx, v, "random(N) needs N from 1 to 4294967295 keys, got \"%s\"",
                            text);
        }
        p->keys = WEIR_SCN_KEYS_RANDOM;
        p->key_count = n;
    } else {
        return scn_fail(ctx, v,
                        "expected none, sequence or random(N) (N distinct keys, drawn uniformly), "
                        "got \"%s\"",
                        text);
    }
    scn_path_pop(ctx, back);
    return 0;
}

static int scn_parse_acks(scn_ctx *ctx, const yaml_node_t *item, weir_scn_producer *p)
{
    static const char *const names[] = {"0", "1", "all", "-1"};
    static const int values[] = {0, 1, -1, -1};
    yaml_node_t *v = scn_map_get(ctx, item, "acks");
    if (v == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, "acks");
    int i = 3; /* "-1" (Kafka's spelling of all) is accepted, not advertised */
    const char *text = scn_text(v);
    int rc = text != NULL && strcmp(text, "-1") == 0 ? 0 : scn_enum(ctx, v, names, 3, &i);
    if (rc == 0) {
        p->acks = values[i];
        scn_path_pop(ctx, back);
    }
    return rc;
}

/* start < stop <= duration; linger + request timeout <= delivery timeout. */
static int scn_check_producer_times(scn_ctx *ctx, const yaml_node_t *item,
                                    const weir_scn_producer *p)
{
    char a[32], b[32];
    if (p->stop_ns > ctx->sc->duration_ns) {
        scn_format_ns(a, sizeof a, p->stop_ns);
        scn_format_ns(b, sizeof b, ctx->sc->duration_ns);
        return scn_fail_key(ctx, item, "stop", "%s is after the end of the run (%s)", a, b);
    }
    if (p->start_ns >= p->stop_ns) {
        scn_format_ns(a, sizeof a, p->start_ns);
        scn_format_ns(b, sizeof b, p->stop_ns);
        return scn_fail_key(ctx, item, "start", "%s is not before the producer's stop (%s)", a, b);
    }
    if (p->delivery_timeout_ns < p->linger_ns + p->request_timeout_ns) {
        return scn_fail_key(ctx, item, "delivery_timeout",
                            "must be at least linger + request_timeout (as Kafka requires)");
    }
    return 0;
}

static int scn_parse_producer_numbers(scn_ctx *ctx, const yaml_node_t *item, weir_scn_producer *p)
{
    const weir_scn_topic *t = &ctx->sc->topics[p->topic_index];
    uint64_t size = p->message_bytes, batch = p->batch_bytes;
    int64_t retries = p->retries, in_flight = p->max_in_flight, partition = -1;
    yaml_node_t *rate;
    int rc = scn_map_need(ctx, item, "rate", &rate);
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "rate");
        rc = scn_rate(ctx, rate, &p->rate_per_s);
        scn_path_pop(ctx, back);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "partition", 0, INT32_MAX, &partition);
    }
    if (rc == 0 && partition >= t->partitions) {
        rc = scn_fail_key(ctx, item, "partition", "topic \"%s\" has %d partition%s (0 to %d)",
                          t->name, (int)t->partitions, t->partitions == 1 ? "" : "s",
                          (int)t->partitions - 1);
    }
    p->partition = (int32_t)partition;
    if (rc == 0) {
        rc = scn_opt_size(ctx, item, "size", false, 0, INT32_MAX, &size);
    }
    if (rc == 0 && size > t->log.max_message_bytes) {
        rc = scn_fail_key(ctx, item, "size",
                          "%llu bytes is larger than max.message.bytes of topic \"%s\" (%u)",
                          (unsigned long long)size, t->name, (unsigned)t->log.max_message_bytes);
    }
    if (rc == 0) {
        rc = scn_opt_size(ctx, item, "batch", false, 1, INT32_MAX, &batch);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "retries", 0, INT32_MAX, &retries);
    }
    if (rc == 0) {
        rc = scn_opt_int(ctx, item, "max_in_flight", 1, 100, &in_flight);
    }
    p->message_bytes = (uint32_t)size;
    p->batch_bytes = (uint32_t)batch;
    p->retries = (int32_t)retries;
    p->max_in_flight = (int32_t)in_flight;
    return rc;
}

/* The producer's durations and flag, then the checks that tie them. */
static int scn_parse_producer_times(scn_ctx *ctx, const yaml_node_t *item, weir_scn_producer *p)
{
    static const char *const durations[] = {
        "start", "stop", "linger", "retry_backoff", "request_timeout", "delivery_timeout"};
    int64_t *fields[] = {&p->start_ns,           &p->stop_ns,
                         &p->linger_ns,          &p->retry_backoff_ns,
                         &p->request_timeout_ns, &p->delivery_timeout_ns};
    int rc = 0;
    for (size_t i = 0; i < 6 && rc == 0; i++) {
        rc = scn_opt_duration(ctx, item, durations[i], fields[i]);
    }
    if (rc == 0) {
        rc = scn_opt_bool(ctx, item, "idempotent", &p->idempotent);
    }
    if (rc == 0) {
        rc = scn_parse_txn(ctx, item, &p->txn);
    }
    if (rc == 0 && p->txn.id != NULL && scn_map_get(ctx, item, "idempotent") != NULL &&
        !p->idempotent) {
        rc = scn_fail_key(ctx, item, "idempotent", "a transactional producer is idempotent");
    }
    p->idempotent = p->idempotent || p->txn.id != NULL;
    if (rc == 0 && p->idempotent && (p->acks != -1 || p->max_in_flight > 5)) {
        rc = scn_fail_key(ctx, item, "idempotent",
                          "an idempotent producer needs acks: all and max_in_flight <= 5");
    }
    if (rc == 0) {
        rc = scn_check_producer_times(ctx, item, p);
    }
    return rc;
}

static int scn_parse_producer(scn_ctx *ctx, const yaml_node_t *item, size_t index,
                              weir_scn_producer *p)
{
    static const char *const keys[] = {
        "name",
        "host",
        "topic",
        "partition",
        "rate",
        "keys",
        "acks",
        "size",
        "start",
        "stop",
        "linger",
        "batch",
        "retries",
        "retry_backoff",
        "request_timeout",
        "delivery_timeout",
        "max_in_flight",
        "idempotent",
        "transactional_id",
        "transaction",
    };
    static const scn_keyset ks = KEYSET(keys, 0);
    *p = (weir_scn_producer){.partition = -1,
                             .acks = -1,
                             .message_bytes = 100,
                             .stop_ns = ctx->sc->duration_ns,
                             .batch_bytes = 16384,
                             .retries = INT32_MAX,
                             .retry_backoff_ns = 100000000,
                             .request_timeout_ns = 30000000000,
                             .delivery_timeout_ns = 120000000000,
                             .max_in_flight = 5,
                             .mark = scn_mark(item)};
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_client_name(ctx, item, "producer", index, &p->name);
    }
    if (rc == 0) {
        rc = scn_host_ref_key(ctx, item, &p->host_index);
    }
    if (rc == 0) {
        rc = scn_topic_ref_key(ctx, item, &p->topic_index);
    }
    if (rc == 0) {
        rc = scn_parse_producer_numbers(ctx, item, p);
    }
    if (rc == 0) {
        rc = scn_parse_keys(ctx, item, p);
    }
    if (rc == 0) {
        rc = scn_parse_acks(ctx, item, p);
    }
    if (rc == 0) {
        rc = scn_parse_producer_times(ctx, item, p);
    }
    return rc;
}

static int scn_parse_consumer_partitions(scn_ctx *ctx, const yaml_node_t *item,
                                         weir_scn_consumer *c)
{
    yaml_node_t *v = scn_map_get(ctx, item, "partitions");
    const weir_scn_topic *t = &ctx->sc->topics[c->topic_index];
    if (v == NULL || (v->type == YAML_SCALAR_NODE && strcmp(scn_text(v), "all") == 0)) {
        return 0;
    }
    size_t back = scn_path_key(ctx, "partitions");
    if (v->type == YAML_SCALAR_NODE) {
        return scn_fail(ctx, v, "expected all, or a list of partitions such as [0, 2], got \"%s\"",
                        scn_text(v));
    }
    size_t n;
    int rc = scn_seq_check(ctx, v, WEIR_SCN_PARTITIONS_MAX, &n);
    if (rc == 0 && n == 0) {
        rc = scn_fail(ctx, v, "empty: write all, or a list of partitions");
    }
    if (rc != 0) {
        return rc;
    }
    c->partitions = scn_alloc(ctx->sc, n * sizeof *c->partitions);
    if (c->partitions == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *p = scn_seq_item(ctx, v, i);
        size_t b = scn_path_index(ctx, i);
        int64_t x;
        rc = scn_int(ctx, p, 0, t->partitions - 1, &x);
        for (size_t j = 0; j < i && rc == 0; j++) {
            if (c->partitions[j] == (int32_t)x) {
                rc = scn_fail(ctx, p, "partition %lld is listed twice", (long long)x);
            }
        }
        if (rc != 0) {
            return rc;
        }
        c->partitions[i] = (int32_t)x;
        c->partition_count++;
        scn_path_pop(ctx, b);
    }
    scn_path_pop(ctx, back);
    return 0;
}

/* A pipeline: output: names the topic a consumer writes its transformed
 * records to, in transactions, with its offsets in the same transactions. */
static int scn_parse_pipeline_output(scn_ctx *ctx, const yaml_node_t *item, weir_scn_consumer *c)
{
    yaml_node_t *v = scn_map_get(ctx, item, "output");
    if (v == NULL) {
        return c->txn.id == NULL ? 0
                                 : scn_fail_key(ctx, item, "transactional_id",
                                                "only for a pipeline (add output: TOPIC)");
    }
    size_t back = scn_path_key(ctx, "output");
    const char *name;
    int rc = scn_scalar(ctx, v, &name);
    if (rc == 0) {
        rc = scn_topic_ref(ctx, v, name, &c->output_topic_index);
    }
    scn_path_pop(ctx, back);
    if (rc == 0 && c->output_topic_index == c->topic_index) {
        rc = scn_fail_key(ctx, item, "output", "must differ from topic:");
    }
    if (rc == 0 && (c->group == NULL || c->txn.id == NULL)) {
        rc = scn_fail_key(ctx, item, "output",
                          "a pipeline needs group: and transactional_id: (exactly-once "
                          "consume-transform-produce)");
    }
    return rc;
}

static int scn_parse_consumer(scn_ctx *ctx, const yaml_node_t *item, size_t index,
                              weir_scn_consumer *c)
{
    static const char *const keys[] = {
        "name",         "host",      "topic",           "partitions", "from",
        "start",        "isolation", "group",           "commit_every", "session_timeout",
        "heartbeat",    "output",    "transactional_id", "transaction",
    };
    static const char *const from[] = {"earliest", "latest"};
    static const scn_keyset ks = KEYSET(keys, 0);
    *c = (weir_scn_consumer){.from_earliest = true, .output_topic_index = -1, .mark = scn_mark(item)};
    int rc = scn_map_check(ctx, item, &ks);
    if (rc == 0) {
        rc = scn_client_name(ctx, item, "consumer", index, &c->name);
    }
    if (rc == 0) {
        rc = scn_host_ref_key(ctx, item, &c->host_index);
    }
    if (rc == 0) {
        rc = scn_topic_ref_key(ctx, item, &c->topic_index);
    }
    if (rc == 0) {
        rc = scn_parse_consumer_partitions(ctx, item, c);
    }
    yaml_node_t *v = scn_map_get(ctx, item, "from");
    if (rc == 0 && v != NULL) {
        size_t back = scn_path_key(ctx, "from");
        int i = 0;
        rc = scn_enum(ctx, v, from, 2, &i);
        c->from_earliest = i == 0;
        scn_path_pop(ctx, back);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, item, "start", &c->start_ns);
    }
    if (rc == 0 && c->start_ns >= ctx->sc->duration_ns) {
        char a[32];
        scn_format_ns(a, sizeof a, ctx->sc->duration_ns);
        rc = scn_fail_key(ctx, item, "start", "not before the end of the run (%s)", a);
    }
    if (rc == 0) {
        rc = scn_parse_consumer_group(ctx, item, c);
    }
    return rc == 0 ? scn_parse_pipeline_output(ctx, item, c) : rc;
}

static int scn_parse_clients(scn_ctx *ctx, const yaml_node_t *root, bool producers)
{
    const char *key = producers ? "producers" : "consumers";
    yaml_node_t *node = scn_map_get(ctx, root, key);
    if (node == NULL) {
        return 0;
    }
    size_t back = scn_path_key(ctx, key);
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_CLIENTS_MAX, &count);
    if (rc != 0) {
        return rc;
    }
    weir_scenario *sc = ctx->sc;
    if (count > 0 && sc->topic_count == 0) {
        return scn_fail(ctx, node, "%s need topics, and the file declares none", key);
    }
    size_t size = producers ? sizeof *sc->producers : sizeof *sc->consumers;
    void *arr = scn_alloc(sc, (count > 0 ? count : 1) * size);
    if (arr == NULL) {
        return scn_nomem(ctx);
    }
    if (producers) {
        sc->producers = arr;
    } else {
        sc->consumers = arr;
    }
    for (size_t i = 0; i < count; i++) {
        size_t b = scn_path_index(ctx, i);
        yaml_node_t *item = scn_seq_item(ctx, node, i);
        rc = producers ? scn_parse_producer(ctx, item, i, &sc->producers[i])
                       : scn_parse_consumer(ctx, item, i, &sc->consumers[i]);
        if (rc != 0) {
            return rc;
        }
        *(producers ? &sc->producer_count : &sc->consumer_count) += 1;
        scn_path_pop(ctx, b);
    }
    scn_path_pop(ctx, back);
    return 0;
}

/* ---- variants ---- */

static int scn_parse_variant(scn_ctx *ctx, const yaml_node_t *item, weir_scn_variant *v)
{
    static const char *const keys[] = {"name", "description", "broker_defaults", "expect"};
    static const scn_keyset ks = KEYSET(keys, 0);
    static const scn_keyset defaults_ks = {NULL, 0, SCN_SCOPE_DEFAULTS};
    v->mark = scn_mark(item);
    v->description = "";
    v->broker_defaults = ctx->sc->broker_defaults;
    v->expect = ctx->sc->expect;
    int rc = scn_map_check(ctx, item, &ks);
    yaml_node_t *name = NULL;
    if (rc == 0) {
        rc = scn_map_need(ctx, item, "name", &name);
    }
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "name");
        rc = scn_name(ctx, name, WEIR_SCN_NAME_MAX, "variant", &v->name);
        for (size_t i = 0; i < ctx->sc->variant_count && rc == 0; i++) {
            if (strcmp(ctx->sc->variants[i].name, v->name) == 0) {
                rc = scn_fail(ctx, name, "variant \"%s\" is declared twice (first at line %d)",
                              v->name, ctx->sc->variants[i].mark.line);
            }
        }
        scn_path_pop(ctx, back);
    }
    yaml_node_t *desc = scn_map_get(ctx, item, "description");
    if (rc == 0 && desc != NULL) {
        size_t back = scn_path_key(ctx, "description");
        rc = scn_string(ctx, desc, 4096, &v->description);
        scn_path_pop(ctx, back);
    }
    yaml_node_t *defaults = scn_map_get(ctx, item, "broker_defaults");
    if (rc == 0 && defaults != NULL) {
        size_t back = scn_path_key(ctx, "broker_defaults");
        weir_scn_settings own;
        rc = scn_map_check(ctx, defaults, &defaults_ks);
        if (rc == 0) {
            rc = scn_settings_parse(ctx, defaults, SCN_SCOPE_DEFAULTS, &own, NULL);
        }
        if (rc == 0) {
            rc = scn_settings_merge(ctx, &ctx->sc->broker_defaults, &own, &v->broker_defaults);
        }
        if (rc == 0) {
            rc = scn_check_topics_min_isr(ctx, &v->broker_defaults, defaults);
        }
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
    }
    yaml_node_t *expect = scn_map_get(ctx, item, "expect");
    if (rc == 0 && expect != NULL) {
        size_t back = scn_path_key(ctx, "expect");
        rc = scn_parse_expect(ctx, expect, &v->broker_defaults, &v->expect);
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    } else if (rc == 0) {
        rc = scn_expect_check(ctx, item, &v->broker_defaults, &v->expect);
    }
    return rc;
}

static int scn_parse_variants(scn_ctx *ctx, const yaml_node_t *node)
{
    size_t count;
    int rc = scn_seq_check(ctx, node, WEIR_SCN_VARIANTS_MAX, &count);
    if (rc != 0) {
        return rc;
    }
    ctx->sc->variants = scn_alloc(ctx->sc, (count > 0 ? count : 1) * sizeof *ctx->sc->variants);
    if (ctx->sc->variants == NULL) {
        return scn_nomem(ctx);
    }
    for (size_t i = 0; i < count; i++) {
        size_t back = scn_path_index(ctx, i);
        rc = scn_parse_variant(ctx, scn_seq_item(ctx, node, i), &ctx->sc->variants[i]);
        if (rc != 0) {
            return rc;
        }
        scn_path_pop(ctx, back);
        ctx->sc->variant_count++;
    }
    return 0;
}

/* ---- the top level ---- */

/* Runs parse on root's value under key, with the key on the path. */
static int scn_section(scn_ctx *ctx, const yaml_node_t *root, const char *key, bool required,
                       int (*parse)(scn_ctx *, const yaml_node_t *))
{
    yaml_node_t *v = scn_map_get(ctx, root, key);
    if (v == NULL) {
        return required ? scn_fail(ctx, root, "missing key \"%s\"", key) : 0;
    }
    size_t back = scn_path_key(ctx, key);
    int rc = parse(ctx, v);
    if (rc == 0) {
        scn_path_pop(ctx, back);
    }
    return rc;
}

static int scn_parse_broker_defaults(scn_ctx *ctx, const yaml_node_t *node)
{
    static const scn_keyset ks = {NULL, 0, SCN_SCOPE_DEFAULTS};
    int rc = scn_map_check(ctx, node, &ks);
    if (rc == 0) {
        rc = scn_settings_parse(ctx, node, SCN_SCOPE_DEFAULTS, &ctx->sc->broker_defaults, NULL);
    }
    return rc;
}

static int scn_parse_header(scn_ctx *ctx, const yaml_node_t *root)
{
    weir_scenario *sc = ctx->sc;
    yaml_node_t *v;
    int rc = scn_map_need(ctx, root, "name", &v);
    if (rc == 0) {
        size_t back = scn_path_key(ctx, "name");
        rc = scn_name(ctx, v, WEIR_SCN_NAME_MAX, "scenario", &sc->name);
        scn_path_pop(ctx, back);
    }
    sc->description = "";
    v = scn_map_get(ctx, root, "description");
    if (rc == 0 && v != NULL) {
        size_t back = scn_path_key(ctx, "description");
        rc = scn_string(ctx, v, 4096, &sc->description);
        scn_path_pop(ctx, back);
    }
    sc->seed = 1;
    v = scn_map_get(ctx, root, "seed");
    if (rc == 0 && v != NULL) {
        size_t back = scn_path_key(ctx, "seed");
        const char *text;
        rc = scn_scalar(ctx, v, &text);
        if (rc == 0 && weir_parse_u64(text, &sc->seed) != 0) {
            rc = scn_fail(ctx, v, "expected an integer from 0 to 18446744073709551615, got \"%s\"",
                          text);
        }
        scn_path_pop(ctx, back);
    }
    if (rc == 0) {
        rc = scn_map_need(ctx, root, "duration", &v);
    }
    if (rc == 0) {
        rc = scn_opt_duration(ctx, root, "duration", &sc->duration_ns);
    }
    if (rc == 0 && sc->duration_ns <= 0) {
        rc = scn_fail_key(ctx, root, "duration", "must be longer than 0s");
    }
    return rc;
}

int scn_parse_document(scn_ctx *ctx, const yaml_node_t *root)
{
    static const char *const keys[] = {
        "name",    "description", "seed",   "duration",  "platform",  "broker_defaults",
        "brokers", "controller",  "topics", "producers", "consumers", "flows",
        "actions", "faults",      "expect", "variants",
    };
    static const scn_keyset ks = KEYSET(keys, 0);
    weir_scenario *sc = ctx->sc;
    scn_expect_default(&sc->expect);
    int rc = scn_map_check(ctx, root, &ks);
    if (rc == 0) {
        rc = scn_parse_header(ctx, root);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "platform", true, scn_parse_platform);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "broker_defaults", false, scn_parse_broker_defaults);
    }
    /* a file of flows alone has no cluster; a cluster needs both */
    bool flows = scn_map_get(ctx, root, "flows") != NULL;
    bool brokers = scn_map_get(ctx, root, "brokers") != NULL;
    sc->controller.host_index = -1;
    if (rc == 0) {
        rc = scn_section(ctx, root, "brokers", !flows, scn_parse_brokers);
    }
    if (rc == 0 && !brokers && scn_map_get(ctx, root, "controller") != NULL) {
        rc = scn_fail_key(ctx, root, "controller", "no brokers to control: declare brokers too");
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "controller", brokers, scn_parse_controller);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "topics", false, scn_parse_topics);
    }
    yaml_node_t *defaults = scn_map_get(ctx, root, "broker_defaults");
    if (rc == 0 && defaults != NULL) {
        size_t back = scn_path_key(ctx, "broker_defaults");
        rc = scn_check_topics_min_isr(ctx, &sc->broker_defaults, defaults);
        scn_path_pop(ctx, back);
    }
    if (rc == 0) {
        rc = scn_parse_clients(ctx, root, true);
    }
    if (rc == 0) {
        rc = scn_parse_clients(ctx, root, false);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "flows", false, scn_parse_flows);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "actions", false, scn_parse_actions);
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "faults", false, scn_parse_faults);
    }
    yaml_node_t *expect = scn_map_get(ctx, root, "expect");
    if (rc == 0 && expect != NULL) {
        size_t back = scn_path_key(ctx, "expect");
        rc = scn_parse_expect(ctx, expect, &sc->broker_defaults, &sc->expect);
        if (rc == 0) {
            scn_path_pop(ctx, back);
        }
    }
    if (rc == 0) {
        rc = scn_section(ctx, root, "variants", false, scn_parse_variants);
    }
    return rc;
}
