/* `weir`: dispatches to subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char weir_usage[] =
    "usage: weir <command> [options]\n"
    "\n"
    "commands:\n"
    "  broker [--config FILE] [--override KEY=VALUE]...\n"
    "                 run a Kafka-compatible broker on real sockets and files\n"
    "  controller [--config FILE] [--override KEY=VALUE]...\n"
    "                 run the controller of a replicated cluster of brokers\n"
    "  flow FILE [--repo DIR] [--http [HOST:]PORT] [--check] [--duration T]\n"
    "                 run a flow file (NiFi-style) on real files and sockets, with an\n"
    "                 HTTP management API\n"
    "  sim SCENARIO [--seed N] [--duration T] [--trace FILE]\n"
    "                 run a scenario in the simulator (built-in: demo)\n"
    "  chaos SCENARIO --seeds A..B [--faults KINDS] [-j N] [--out DIR] [--real]\n"
    "                 random fault schedules over a seed range: verdicts, a summary,\n"
    "                 failing schedules shrunk to a replayable scenario file\n"
    "  report RUN_DIR [--coverage FILE.info]\n"
    "                 write RUN_DIR/report.html and RUN_DIR/junit.xml from a run folder\n"
    "  log dump PATH [--records] [--indexes]\n"
    "                 print a partition folder (or one of its files) like\n"
    "                 kafka-dump-log.sh: batches, records, index entries, metadata\n"
    "  log verify PATH\n"
    "                 check a partition folder without changing it (exit 1 if damaged)\n"
    "  version        print weir's version\n"
    "  help           print this help\n"
    "\n"
    "`weir <command> --help` describes one command.\n";

int weir_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "weir%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return WEIR_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return weir_cli_usage_error(NULL, weir_usage, "missing command");
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(weir_usage, stdout);
        return WEIR_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("weir %s\n", WEIR_VERSION);
        return WEIR_EXIT_OK;
    }
    if (strcmp(cmd, "broker") == 0) {
        return weir_cli_broker(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "controller") == 0) {
        return weir_cli_controller(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "flow") == 0) {
        return weir_cli_flow(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "sim") == 0) {
        return weir_cli_sim(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "chaos") == 0) {
        return weir_cli_chaos(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "report") == 0) {
        return weir_cli_report(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "log") == 0) {
        return weir_cli_log(argc - 1, argv + 1);
    }
    return weir_cli_usage_error(NULL, weir_usage, "unknown command '%s'", cmd);
}
