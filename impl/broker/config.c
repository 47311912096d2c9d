#include "broker/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/properties.h"
#include "core/units.h"
#include "env/env.h"
#include "replication/replica.h"

void weir_broker_config_default(weir_broker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->node_id = 0;
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 9092;
    snprintf(cfg->log_dir, sizeof cfg->log_dir, "/tmp/kafka-logs");
    cfg->num_partitions = 1;
    cfg->default_replication_factor = 1;
    cfg->auto_create_topics = true;
    cfg->socket_request_max_bytes = 104857600;
    cfg->retention_check_interval_ms = 300000;
    cfg->flush_interval_messages = -1;
    cfg->flush_interval_ms = -1;
    cfg->fetch_max_wait_cap_ms = 30000;
    snprintf(cfg->cluster_id, sizeof cfg->cluster_id, "weir");
    cfg->log_level = -1;
    cfg->min_insync_replicas = 1;
    cfg->replica_lag_time_max_ms = 30000;
    cfg->replica_fetch_wait_max_ms = 500;
    cfg->replica_fetch_max_bytes = 1048576;
    cfg->replica_socket_timeout_ms = 30000;
    cfg->heartbeat_interval_ms = 2000;
    cfg->hw_checkpoint_interval_ms = 5000;
    cfg->truncate_by_epoch = true;
    cfg->offsets_topic_partitions = 50;
    cfg->offsets_topic_replication = 3;
    cfg->offsets_commit_timeout_ms = 5000;
    cfg->offset_metadata_bytes_max = 4096;
    cfg->group_initial_rebalance_delay_ms = 3000;
    cfg->group_session_timeout_ms_min = 6000;
    cfg->group_session_timeout_ms_max = 1800000;
    cfg->txn_topic_partitions = 50;
    cfg->txn_topic_replication = 3;
    cfg->txn_timeout_ms_max = 900000;
    cfg->txn_id_expiration_ms = 604800000;
    cfg->txn_version = 2;
    weir_log_config_default(&cfg->log);
}

static int bad(char *why, size_t size, const char *key, const char *what)
{
    snprintf(why, size, "%s: %s", key, what);
    return WEIR_E_INVAL;
}

static bool parse_int(const char *value, int64_t min, int64_t max, int64_t *out)
{
    if (strcmp(value, "-1") == 0 && min <= -1) {
        *out = -1;
        return true;
    }
    uint64_t v;
    if (weir_parse_u64(value, &v) != 0 || v > (uint64_t)max || (int64_t)v < min) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* "PLAINTEXT://host:port" (the first of a comma-separated list). */
static bool parse_listener(const char *value, char *host, size_t host_size, int *port)
{
    const char *p = strstr(value, "://");
    p = p ? p + 3 : value;
    size_t n = strcspn(p, ",");
    char one[WEIR_BROKER_HOST_MAX + 16];
    if (n == 0 || n >= sizeof one) {
        return false;
    }
    memcpy(one, p, n);
    one[n] = '\0';
    if (one[0] == ':') { /* "PLAINTEXT://:9092": all interfaces */
        memmove(one + 7, one, n + 1);
        memcpy(one, "0.0.0.0", 7);
    }
    return weir_addr_split(one, host, host_size, port) == 0 && *port > 0 && *port < 65536;
}

/* Integer settings of the coordinators: Kafka name -> field, bounds. */
typedef struct coord_key {
    const char *key;
    size_t offset; /* into weir_broker_config */
    int size;      /* 2, 4 or 8 bytes */
    int64_t min;
    int64_t max;
} coord_key;

#define COORD_KEY(k, field, lo, hi)                                                                \
    {k, offsetof(weir_broker_config, field), (int)sizeof(((weir_broker_config *)0)->field), lo, hi}

static const coord_key coord_keys[] = {
    COORD_KEY("offsets.topic.num.partitions", offsets_topic_partitions, 1, 100000),
    COORD_KEY("offsets.topic.replication.factor", offsets_topic_replication, 1, WEIR_REPLICAS_MAX),
    COORD_KEY("offsets.commit.timeout.ms", offsets_commit_timeout_ms, 1, INT32_MAX),
    COORD_KEY("offset.metadata.max.bytes", offset_metadata_bytes_max, 0, INT32_MAX),
    COORD_KEY("group.initial.rebalance.delay.ms", group_initial_rebalance_delay_ms, 0, INT32_MAX),
    COORD_KEY("group.min.session.timeout.ms", group_session_timeout_ms_min, 0, INT32_MAX),
    COORD_KEY("group.max.session.timeout.ms", group_session_timeout_ms_max, 0, INT32_MAX),
    COORD_KEY("transaction.state.log.num.partitions", txn_topic_partitions, 1, 100000),
    COORD_KEY("transaction.state.log.replication.factor", txn_topic_replication, 1, WEIR_REPLICAS_MAX),
    COORD_KEY("transaction.max.timeout.ms", txn_timeout_ms_max, 1, INT32_MAX),
    COORD_KEY("transactional.id.expiration.ms", txn_id_expiration_ms, 1, INT32_MAX),
    COORD_KEY("transaction.version", txn_version, 1, 2),
};

/* 0 when key is a coordinator setting and was applied, WEIR_E_NOENT when it
 * is not one, WEIR_E_INVAL (why set) for a bad value. */
static int coord_key_set(weir_broker_config *cfg, const char *key, const char *value, char *why,
                         size_t why_size)
{
    for (size_t i = 0; i < sizeof coord_keys / sizeof coord_keys[0]; i++) {
        const coord_key *k = &coord_keys[i];
        if (strcmp(k->key, key) != 0) {
            continue;
        }
        int64_t v;
        if (!parse_int(value, k->min, k->max, &v)) {
            snprintf(why, why_size, "%s: must be an integer in [%lld, %lld]", key, (long long)k->min,
                     (long long)k->max);
            return WEIR_E_INVAL;
        }
        char *field = (char *)cfg + k->offset;
        if (k->size == 2) {
            int16_t x = (int16_t)v;
            memcpy(field, &x, sizeof x);
        } else if (k->size == 4) {
            int32_t x = (int32_t)v;
            memcpy(field, &x, sizeof x);
        } else {
            memcpy(field, &v, sizeof v);
        }
        return 0;
    }
    return WEIR_E_NOENT;
}

int weir_broker_config_set(weir_broker_config *cfg, const char *key, const char *value, char *why,
                           size_t why_size)
{
    int64_t v;
    int cerr = coord_key_set(cfg, key, value, why, why_size);
    if (cerr != WEIR_E_NOENT) {
        return cerr;
    }
    if (strcmp(key, "node.id") == 0 || strcmp(key, "broker.id") == 0) {
        if (!parse_int(value, 0, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [0, 2147483647]");
        }
        cfg->node_id = (int32_t)v;
    } else if (strcmp(key, "listeners") == 0) {
        if (!parse_listener(value, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port)) {
            return bad(why, why_size, key, "expected PLAINTEXT://host:port");
        }
    } else if (strcmp(key, "advertised.listeners") == 0) {
        if (!parse_listener(value, cfg->advertised_host, sizeof cfg->advertised_host,
                            &cfg->advertised_port)) {
            return bad(why, why_size, key, "expected PLAINTEXT://host:port");
        }
    } else if (strcmp(key, "log.dirs") == 0 || strcmp(key, "log.dir") == 0) {
        size_t n = strcspn(value, ",");
        if (n == 0 || n >= sizeof cfg->log_dir) {
            return bad(why, why_size, key, "expected a folder path");
        }
        memcpy(cfg->log_dir, value, n);
        cfg->log_dir[n] = '\0';
    } else if (strcmp(key, "num.partitions") == 0) {
        if (!parse_int(value, 1, 100000, &v)) {
            return bad(why, why_size, key, "must be an integer in [1, 100000]");
        }
        cfg->num_partitions = (int32_t)v;
    } else if (strcmp(key, "default.replication.factor") == 0) {
        if (!parse_int(value, 1, INT16_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [1, 32767]");
        }
        cfg->default_replication_factor = (int16_t)v;
    } else if (strcmp(key, "auto.create.topics.enable") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            return bad(why, why_size, key, "must be true or false");
        }
        cfg->auto_create_topics = strcmp(value, "true") == 0;
    } else if (strcmp(key, "socket.request.max.bytes") == 0) {
        if (!parse_int(value, 1024, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [1024, 2147483647]");
        }
        cfg->socket_request_max_bytes = (uint32_t)v;
    } else if (strcmp(key, "log.retention.check.interval.ms") == 0) {
        if (!parse_int(value, 1, INT64_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->retention_check_interval_ms = v;
    } else if (strcmp(key, "log.flush.interval.messages") == 0) {
        if (!parse_int(value, -1, INT64_MAX, &v) || v == 0) {
            return bad(why, why_size, key, "must be -1 or a positive integer");
        }
        cfg->flush_interval_messages = v;
    } else if (strcmp(key, "log.flush.interval.ms") == 0) {
        if (!parse_int(value, -1, INT64_MAX, &v) || v == 0) {
            return bad(why, why_size, key, "must be -1 or a positive integer");
        }
        cfg->flush_interval_ms = v;
    } else if (strcmp(key, "controller.quorum.voters") == 0) {
        const char *at = strchr(value, '@');
        const char *addr = at ? at + 1 : value;
        char host[WEIR_BROKER_HOST_MAX];
        int port;
        if (strchr(addr, ',') != NULL) {
            return bad(why, why_size, key, "one controller for now: expected ID@host:port");
        }
        if (weir_addr_split(addr, host, sizeof host, &port) != 0) {
            return bad(why, why_size, key, "expected ID@host:port");
        }
        snprintf(cfg->controller_addr, sizeof cfg->controller_addr, "%s:%d", host, port);
    } else if (strcmp(key, "min.insync.replicas") == 0) {
        if (!parse_int(value, 1, WEIR_REPLICAS_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [1, 16]");
        }
        cfg->min_insync_replicas = (int16_t)v;
    } else if (strcmp(key, "replica.lag.time.max.ms") == 0) {
        if (!parse_int(value, 1, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->replica_lag_time_max_ms = v;
    } else if (strcmp(key, "replica.fetch.wait.max.ms") == 0) {
        if (!parse_int(value, 0, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer >= 0");
        }
        cfg->replica_fetch_wait_max_ms = (int32_t)v;
    } else if (strcmp(key, "replica.fetch.max.bytes") == 0) {
        if (!parse_int(value, 1024, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer >= 1024");
        }
        cfg->replica_fetch_max_bytes = (int32_t)v;
    } else if (strcmp(key, "replica.socket.timeout.ms") == 0) {
        if (!parse_int(value, 1, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->replica_socket_timeout_ms = (int32_t)v;
    } else if (strcmp(key, "broker.heartbeat.interval.ms") == 0) {
        if (!parse_int(value, 1, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->heartbeat_interval_ms = v;
    } else if (strcmp(key, "replica.high.watermark.checkpoint.interval.ms") == 0) {
        if (!parse_int(value, 1, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->hw_checkpoint_interval_ms = v;
    } else if (strcmp(key, "replication.truncation.rule") == 0) {
        if (strcmp(value, "leader_epoch") == 0) {
            cfg->truncate_by_epoch = true;
        } else if (strcmp(value, "truncate_to_hw") == 0) {
            cfg->truncate_by_epoch = false;
        } else {
            return bad(why, why_size, key, "must be leader_epoch or truncate_to_hw");
        }
    } else if (strcmp(key, "cluster.id") == 0) {
        if (value[0] == '\0' || strlen(value) >= sizeof cfg->cluster_id) {
            return bad(why, why_size, key, "must be 1 to 63 characters");
        }
        snprintf(cfg->cluster_id, sizeof cfg->cluster_id, "%s", value);
    } else {
        const char *reason = NULL;
        int err = weir_log_config_set(&cfg->log, key, value, &reason);
        if (err == WEIR_E_INVAL) {
            return bad(why, why_size, key, reason);
        }
        return err; /* 0, or WEIR_E_NOENT: unknown */
    }
    return 0;
}

static int set_cb(void *cfg, const char *key, const char *value, char *why, size_t why_size)
{
    return weir_broker_config_set(cfg, key, value, why, why_size);
}

int weir_broker_config_parse(weir_broker_config *cfg, const char *text, size_t len,
                             const char *source,
                             void (*warn)(const char *source, int line, const char *key, void *arg),
                             void *arg, char *why, size_t why_size)
{
    return weir_properties_parse(text, len, source, set_cb, cfg, warn, arg, why, why_size);
}
