/* `weir broker`: one broker node on real sockets and files (the libuv
 * backend), configured like Kafka's server.properties. SIGTERM and SIGINT
 * stop it cleanly (the next start skips recovery); kill -9 leaves logs that
 * recover on the next start. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "cli/cli.h"
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

static volatile sig_atomic_t broker_stop;

static void on_signal(int sig)
{
    (void)sig;
    broker_stop = 1;
}

static void warn_unknown(const char *source, int line, const char *key, void *arg)
{
    (void)arg;
    fprintf(stderr, "weir broker: warning: %s:%d: unknown setting '%s' (ignored)\n", source, line,
            key);
}

static int load_file(weir_broker_config *cfg, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "weir broker: cannot open %s: %s\n", path, strerror(errno));
        return WEIR_EXIT_USAGE;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text != NULL && (n = fread(text + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            char *nt = realloc(text, cap *= 2);
            if (nt == NULL) {
                free(text);
            }
            text = nt;
        }
    }
    fclose(fp);
    if (text == NULL) {
        fprintf(stderr, "weir broker: out of memory reading %s\n", path);
        return WEIR_EXIT_FAIL;
    }
    char why[512];
    int err = weir_broker_config_parse(cfg, text, len, path, warn_unknown, NULL, why, sizeof why);
    free(text);
    if (err != 0) {
        fprintf(stderr, "weir broker: %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

static int apply_override(weir_broker_config *cfg, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv) {
        return weir_cli_usage_error("broker", broker_usage, "--override: expected KEY=VALUE, got '%s'",
                                    kv);
    }
    char key[256];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key) {
        return weir_cli_usage_error("broker", broker_usage, "--override: key too long");
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    char why[512];
    int err = weir_broker_config_set(cfg, key, eq + 1, why, sizeof why);
    if (err == WEIR_E_NOENT) {
        warn_unknown("--override", 0, key, NULL);
        return WEIR_EXIT_OK;
    }
    if (err != 0) {
        fprintf(stderr, "weir broker: --override %s\n", why);
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[WEIR_BROKER_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
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
    if (config_path != NULL && (rc = load_file(&cfg, config_path)) != WEIR_EXIT_OK) {
        return rc;
    }
    for (int i = 0; i < n_overrides; i++) {
        if ((rc = apply_override(&cfg, overrides[i])) != WEIR_EXIT_OK) {
            return rc;
        }
    }
    if (make_dirs(cfg.log_dir) != 0) {
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = WEIR_EXIT_OK;
    while (!broker_stop) {
        err = weir_world_run(w, 100000000); /* check for signals every 100 ms */
        weir_broker *b = weir_world_node_state(w, "broker");
        if (err != 0 || !weir_broker_is_serving(b)) {
            fprintf(stderr, "weir broker: not serving (see the log above)\n");
            rc = WEIR_EXIT_FAIL;
            break;
        }
    }
    weir_broker_shutdown(weir_world_node_state(w, "broker"));
    weir_world_run(w, 0); /* let the closes go out */
    weir_world_destroy(w);
    return rc;
}
