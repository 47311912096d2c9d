/* `weir controller`: the cluster's controller on real sockets (brokers with
 * controller.quorum.voters=ID@host:port register with it). It keeps its state
 * in memory: restart it only together with the brokers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_node.h"
#include "controller/controller.h"
#include "env/uv_world.h"
#include "env/world.h"

static const char controller_usage[] =
    "usage: weir controller [--config FILE] [--override KEY=VALUE]...\n"
    "\n"
    "  --config FILE        properties: node.id (1000), listeners=CONTROLLER://host:port\n"
    "                       (127.0.0.1:9093), broker.session.timeout.ms (9000),\n"
    "                       unclean.leader.election.enable (false), num.partitions (1),\n"
    "                       default.replication.factor (1)\n"
    "  --override KEY=VALUE a setting that wins over the file (repeatable)\n"
    "\n"
    "Logs go to stderr. SIGTERM or SIGINT stops it.\n";

static int set_cb(void *cfg, const char *key, const char *value, char *why, size_t why_size)
{
    return weir_controller_config_set(cfg, key, value, why, why_size);
}

static bool serving_cb(void *state)
{
    return state != NULL;
}

static void shutdown_cb(void *state)
{
    (void)state; /* nothing on disk to close */
}

int weir_cli_controller(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"override", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static weir_controller_config cfg;
    weir_controller_config_default(&cfg);
    snprintf(cfg.listen_host, sizeof cfg.listen_host, "127.0.0.1");
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
                return weir_cli_usage_error("controller", controller_usage, "too many --override options");
            }
            overrides[n_overrides++] = optarg;
            break;
        case 'h':
            fputs(controller_usage, stdout);
            return WEIR_EXIT_OK;
        case ':':
            return weir_cli_usage_error("controller", controller_usage, "%s needs a value",
                                        argv[optind - 1]);
        default:
            return weir_cli_usage_error("controller", controller_usage, "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return weir_cli_usage_error("controller", controller_usage, "unexpected argument '%s'",
                                    argv[optind]);
    }
    int rc;
    if (config_path != NULL &&
        (rc = weir_cli_load_properties("controller", config_path, set_cb, &cfg)) != WEIR_EXIT_OK) {
        return rc;
    }
    for (int i = 0; i < n_overrides; i++) {
        if ((rc = weir_cli_apply_override("controller", controller_usage, overrides[i], set_cb,
                                          &cfg)) != WEIR_EXIT_OK) {
            return rc;
        }
    }
    weir_world *w = weir_uv_world_new("/tmp", 0);
    if (w == NULL) {
        fprintf(stderr, "weir controller: cannot start the event loop\n");
        return WEIR_EXIT_FAIL;
    }
    /* Rooted at /tmp so nothing is created: the controller writes no files. */
    int err = weir_uv_world_node_add_rooted(w, "controller", "/tmp", &weir_controller_node, &cfg);
    if (err != 0) {
        fprintf(stderr, "weir controller: %s\n", weir_err_str(err));
        weir_world_destroy(w);
        return WEIR_EXIT_FAIL;
    }
    return weir_cli_run_until_signal("controller", w, "controller", serving_cb, shutdown_cb);
}
