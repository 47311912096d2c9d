/* `weir broker`: one broker node on real sockets and files (the libuv
 * backend), configured like Kafka's server.properties. SIGTERM and SIGINT
 * stop it cleanly (the next start skips recovery); kill -9 leaves logs that
 * recover on the next start. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "cli/cli.h"
#include "cli/cli_node.h"
#include "env/uv_world.h"
#include "env/world.h"

static const char broker_usage[] =
    "usage: weir broker [--config FILE] [--override KEY=VALUE]... [--log-level LEVEL]\n"
    "\n"
    "  --config FILE        Kafka-style properties (key=value lines, # comments):\n"
    "                       node.id, listeners=PLAINTEXT://host:port,\n"
    "                       advertised.listeners, log.dirs, num.partitions,\n"
    "                       default.replication.factor, auto.create.topics.enable,\n"
    "                       socket.request.max.bytes, log.segment.bytes,\n"
    "                       log.roll.ms, log.retention.ms, log.retention.bytes,\n"
    "                       log.index.interval.bytes, log.index.size.max.bytes,\n"
    "                       log.retention.check.interval.ms,\n"
    "                       log.flush.interval.messages, log.flush.interval.ms,\n"
    "                       message.max.bytes, cluster.id\n"
    "  --override KEY=VALUE a setting that wins over the file (repeatable)\n"
    "  --log-level LEVEL    error, warn, info (default) or debug\n"
    "\n"
    "Logs go to stderr. SIGTERM or SIGINT shuts down cleanly.\n";

static int set_cb(void *cfg, const char *key, const char *value, char *why, size_t why_size)
{
    return weir_broker_config_set(cfg, key, value, why, why_size);
}

static bool serving_cb(void *state)
{
    return weir_broker_is_serving(state);
}

static void shutdown_cb(void *state)
{
    weir_broker_shutdown(state);
}

int weir_cli_broker(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"override", required_argument, NULL, 'o'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    weir_broker_config cfg;
    weir_broker_config_default(&cfg);
    cfg.log_level = WEIR_LOG_INFO;
    const char *config_path = NULL;
    const char *overrides[64];
    int n_overrides = 0;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            if (n_overrides == 64) {
                return weir_cli_usage_error("broker", broker_usage, "too many --override options");
            }
            overrides[n_overrides++] = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "error") == 0) {
                cfg.log_level = WEIR_LOG_ERROR;
            } else if (strcmp(optarg, "warn") == 0) {
                cfg.log_level = WEIR_LOG_WARN;
            } else if (strcmp(optarg, "info") == 0) {
                cfg.log_level = WEIR_LOG_INFO;
            } else if (strcmp(optarg, "debug") == 0) {
                cfg.log_level = WEIR_LOG_DEBUG;
            } else {
                return weir_cli_usage_error("broker", broker_usage,
                                            "--log-level: '%s' is not error, warn, info or debug",
                                            optarg);
            }
            break;
        case 'h':
            fputs(broker_usage, stdout);
            return WEIR_EXIT_OK;
        case ':':
            return weir_cli_usage_error("broker", broker_usage, "%s needs a value", argv[optind - 1]);
        default:
            return weir_cli_usage_error("broker", broker_usage, "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return weir_cli_usage_error("broker", broker_usage, "unexpected argument '%s'", argv[optind]);
    }
    int rc;
    if (config_path != NULL &&
        (rc = weir_cli_load_properties("broker", config_path, set_cb, &cfg)) != WEIR_EXIT_OK) {
        return rc;
    }
    for (int i = 0; i < n_overrides; i++) {
        if ((rc = weir_cli_apply_override("broker", broker_usage, overrides[i], set_cb, &cfg)) !=
            WEIR_EXIT_OK) {
            return rc;
        }
    }
    if (weir_cli_make_dirs(cfg.log_dir) != 0) {
        fprintf(stderr, "weir broker: cannot create log dir %s: %s\n", cfg.log_dir, strerror(errno));
        return WEIR_EXIT_FAIL;
    }
    weir_world *w = weir_uv_world_new(cfg.log_dir, 0);
    if (w == NULL) {
        fprintf(stderr, "weir broker: cannot start the event loop\n");
        return WEIR_EXIT_FAIL;
    }
    int err = weir_uv_world_node_add_rooted(w, "broker", cfg.log_dir, &weir_broker_node, &cfg);
    if (err != 0) {
        fprintf(stderr, "weir broker: %s: %s\n", cfg.log_dir, weir_err_str(err));
        weir_world_destroy(w);
        return WEIR_EXIT_FAIL;
    }
    return weir_cli_run_until_signal("broker", w, "broker", serving_cb, shutdown_cb);
}
