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

/* `weir flow FILE [--repo DIR] [--http [HOST:]PORT] ...`: a flow file on the
 * real backend with its HTTP management API, until a signal or --duration;
 * --check only validates. Exit 1 for a bad flow or a failed conservation
 * check. */
int weir_cli_flow(int argc, char **argv);

/* `weir controller [--config FILE]`: the cluster controller, until a signal. */
int weir_cli_controller(int argc, char **argv);

/* `weir chaos SCENARIO --seeds A..B`: random fault schedules in the simulator. */
int weir_cli_chaos(int argc, char **argv);

/* `weir chaos SCENARIO --real ...`: the same kinds of faults against a
 * loopback cluster of real `weir broker` processes (chaos/real/). */
int weir_cli_chaos_real(int argc, char **argv);

/* `weir report RUN_DIR`: the HTML report and JUnit XML of a run folder (reports/). */
int weir_cli_report(int argc, char **argv);

/* A whole file as NUL-terminated text (malloc'd; *len_out without the NUL),
 * or NULL after printing "weir CMD: cannot open ..." to stderr. */
#include <stddef.h>
char *weir_cli_read_text(const char *cmd, const char *path, size_t *len_out);

/* Prints "weir <cmd>: <message>" and the usage line to stderr; returns 2. */
int weir_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
