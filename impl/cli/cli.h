/* The `weir` command: one program, one function per subcommand. */
#ifndef WEIR_CLI_H
#define WEIR_CLI_H

/* Exit codes: 0 success, 1 the run failed its checks, 2 usage error. */
#define WEIR_EXIT_OK 0
#define WEIR_EXIT_FAIL 1
#define WEIR_EXIT_USAGE 2

int weir_cli_sim(int argc, char **argv);
/* `weir log dump|verify PATH`: exit 0 ok, 1 damaged (verify) or unreadable
 * file (dump), 2 usage error or PATH unusable. */
int weir_cli_log(int argc, char **argv);

/* `weir broker [--config FILE] [--override K=V]...`: runs until SIGTERM/SIGINT. */
int weir_cli_broker(int argc, char **argv);

/* `weir controller [--config FILE]`: the cluster controller, until a signal. */
int weir_cli_controller(int argc, char **argv);

/* Prints "weir <cmd>: <message>" and the usage line to stderr; returns 2. */
int weir_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
