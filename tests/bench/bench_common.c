/* The librdkafka benchmarks' shared plumbing (see bench_common.h): the weir
 * broker child process, exit cleanup, signals, client helpers, values and
 * figures. Keeps one invariant: while g_broker_pid > 0 the child is ours and
 * unreaped, and only the main thread reaps it. */
#define _GNU_SOURCE 1
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SERVE_WAIT_MS 10000    /* for `weir broker` to accept connections */
#define STOP_WAIT_MS 10000     /* for it to exit after SIGTERM */
#define METADATA_WAIT_MS 10000 /* for a new topic to have leaders */
#define FLUSH_TIMEOUT_MS 60000
#define CREATE_TIMEOUT_MS 15000
#define ERRORS_SHOWN_MAX 5

static const char *g_prog = "bench";
static const char *g_usage = "";
static pid_t g_broker_pid = -1;
static char g_root[PATH_MAX]; /* the temporary folder, removed at exit */
static bool g_failed;         /* print the broker's log at exit */

/* ---- time, errors, cleanup ---- */

int64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec;
}

void bench_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * BENCH_NS_PER_MS};
    nanosleep(&ts, NULL);
}

const char *bench_prog(void)
{
    return g_prog;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_failed = true;
    exit(1); /* cleanup runs at exit */
}

void bench_usage(const char *why)
{
    fprintf(stderr, "%s: %s\nusage: %s\n", g_prog, why, g_usage);
    exit(2);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void print_broker_log(void)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/broker.log", g_root);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    fprintf(stderr, "%s: the weir broker's output:\n", g_prog);
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        fprintf(stderr, "  | %s", line);
    }
    fclose(f);
}

static void cleanup(void)
{
    if (g_broker_pid > 0) {
        kill(g_broker_pid, SIGKILL);
        waitpid(g_broker_pid, NULL, 0);
        g_broker_pid = -1;
    }
    if (g_root[0] != '\0') {
        if (g_failed) {
            print_broker_log();
        }
        nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        g_root[0] = '\0';
    }
}

/* SIGINT and SIGTERM are blocked in every thread and taken here, so that the
 * broker is stopped and the folder removed by the normal exit path. */
static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    fprintf(stderr, "%s: %s, stopping\n", g_prog, strsignal(sig));
    exit(1);
}

static void signals_take(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_t th;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        pthread_create(&th, NULL, signal_thread, &set) != 0) {
        bench_die("cannot set up signal handling");
    }
    pthread_detach(th);
}

void bench_init(const char *prog, const char *usage_line)
{
    g_prog = prog;
    g_usage = usage_line;
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(cleanup);
    signals_take();
}

/* ---- configuration ---- */

double bench_num_parse(const char *s, const char *what, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        char why[128];
        snprintf(why, sizeof why, "bad %s '%s' (%g to %g)", what, s, min, max);
        bench_usage(why);
    }
    return v;
}

double bench_env_num(const char *name, double dflt, double min, double max)
{
    const char *s = getenv(name);
    return s != NULL && *s != '\0' ? bench_num_parse(s, name, min, max) : dflt;
}

static void weir_path_default(char *out, size_t size)
{
    const char *weir = getenv("WEIR_BIN");
    if (weir != NULL && *weir != '\0') {
        snprintf(out, size, "%s", weir);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, size, "weir");
        return;
    }
    self[n] = '\0';
    snprintf(out, size, "%s/../weir", dirname(self));
}

int bench_args(int argc, char **argv, int positional_max, char *weir_path, size_t weir_path_size)
{
    weir_path_default(weir_path, weir_path_size);
    int ch;
    while ((ch = getopt(argc, argv, "w:h")) != -1) {
        if (ch == 'w') {
            snprintf(weir_path, weir_path_size, "%s", optarg);
        } else {
            bench_usage(ch == 'h' ? "help" : "unknown option");
        }
    }
    if (argc - optind > positional_max) {
        bench_usage("too many arguments");
    }
    if (access(weir_path, X_OK) != 0) {
        fprintf(stderr, "%s: no weir binary at %s (give -w PATH or WEIR_BIN)\n", g_prog, weir_path);
        exit(2);
    }
    return optind;
}

/* ---- the weir process ---- */

/* "exit code 3", "signal 9 (Killed)" */
static const char *status_str(int status, char *buf, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, size, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, size, "status 0x%x", status);
    }
    return buf;
}

void bench_weir_check_alive(void)
{
    int status;
    if (g_broker_pid > 0 && waitpid(g_broker_pid, &status, WNOHANG) == g_broker_pid) {
        g_broker_pid = -1;
        char why[96];
        bench_die("the weir broker died: %s", status_str(status, why, sizeof why));
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        bench_die("finding a free port: %s", strerror(errno));
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static void write_properties(const char *path, int port, const char *props_extra)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        bench_die("cannot write %s: %s", path, strerror(errno));
    }
    fprintf(f,
            "# written by %s\nnode.id=1\nlisteners=PLAINTEXT://127.0.0.1:%d\nlog.dirs=%s/logs\n%s",
            g_prog, port, g_root, props_extra);
    if (fclose(f) != 0) {
        bench_die("cannot write %s: %s", path, strerror(errno));
    }
}

/* Child side of the fork: output to broker.log, die with the parent, exec. */
static void broker_exec(const char *weir, const char *props)
{
    char log_path[PATH_MAX + 16];
    snprintf(log_path, sizeof log_path, "%s/broker.log", g_root);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_UNBLOCK, &all, NULL); /* the bench blocks SIGTERM: weir must not */
    execl(weir, weir, "broker", "--config", props, (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", weir, strerror(errno));
    _exit(127);
}

/* Waits until the child serves on port, fails if it ends or takes too long. */
static void serve_wait(pid_t pid, int port)
{
    int64_t deadline = bench_mono_ns() + SERVE_WAIT_MS * BENCH_NS_PER_MS;
    while (!port_accepts(port)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g_broker_pid = -1;
            char why[96];
            bench_die("weir broker ended before serving: %s", status_str(status, why, sizeof why));
        }
        if (bench_mono_ns() > deadline) {
            bench_die("weir broker does not accept connections on port %d after %d ms", port,
                      SERVE_WAIT_MS);
        }
        bench_sleep_ms(20);
    }
}

void bench_weir_start(const char *weir_path, const char *props_extra, char *bootstrap_out,
                      size_t bootstrap_size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/weir_%s.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
             g_prog);
    if (mkdtemp(g_root) == NULL) {
        int e = errno;
        g_root[0] = '\0';
        bench_die("mkdtemp: %s", strerror(e));
    }
    int port = free_port();
    char props[PATH_MAX + 32];
    snprintf(props, sizeof props, "%s/server.properties", g_root);
    write_properties(props, port, props_extra);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        bench_die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        broker_exec(weir_path, props);
    }
    g_broker_pid = pid;
    serve_wait(pid, port);
    snprintf(bootstrap_out, bootstrap_size, "127.0.0.1:%d", port);
}

void bench_weir_stop(void)
{
    kill(g_broker_pid, SIGTERM);
    int64_t deadline = bench_mono_ns() + STOP_WAIT_MS * BENCH_NS_PER_MS;
    int status = 0;
    while (waitpid(g_broker_pid, &status, WNOHANG) != g_broker_pid) {
        if (bench_mono_ns() > deadline) {
            bench_die("weir broker did not exit within %d ms of SIGTERM", STOP_WAIT_MS);
        }
        bench_sleep_ms(10);
    }
    g_broker_pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[96];
        bench_die("weir broker ended with %s after SIGTERM", status_str(status, why, sizeof why));
    }
}

int64_t bench_weir_cpu_ns(void)
{
    clockid_t id;
    struct timespec ts;
    if (g_broker_pid <= 0 || clock_getcpuclockid(g_broker_pid, &id) != 0 ||
        clock_gettime(id, &ts) != 0) {
        return -1;
    }
    return (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec;
}

const char *bench_weir_root(void)
{
    return g_root;
}

/* ---- librdkafka clients ---- */

void bench_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        bench_die("%s=%s: %s", key, value, err);
    }
}

rd_kafka_conf_t *bench_client_conf(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "bootstrap.servers", bootstrap);
    bench_conf_set(conf, "client.id", g_prog);
    return conf;
}

rd_kafka_t *bench_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == NULL) {
        bench_die("rd_kafka_new: %s", err);
    }
    return rk;
}

/* NULL if the metadata shows the topic with `partitions` partitions, each led;
 * else why not. */
static const char *metadata_why_not(const rd_kafka_metadata_t *md, int32_t partitions)
{
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic";
    }
    if (md->topics[0].partition_cnt != partitions) {
        return "wrong partition count";
    }
    for (int i = 0; i < partitions; i++) {
        if (md->topics[0].partitions[i].leader < 0) {
            return "a partition has no leader";
        }
    }
    return NULL;
}

void bench_metadata_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partitions)
{
    int64_t deadline = bench_mono_ns() + METADATA_WAIT_MS * BENCH_NS_PER_MS;
    const char *why = "no answer";
    while (bench_mono_ns() < deadline) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        why = err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(err)
                                                : metadata_why_not(md, partitions);
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
        }
        if (why == NULL) {
            return;
        }
        bench_sleep_ms(50);
    }
    bench_die("metadata for %s: %s", rd_kafka_topic_name(rkt), why);
}

void bench_topic_create(rd_kafka_t *admin, const char *topic, int32_t partitions)
{
    char why[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, why, sizeof why);
    if (nt == NULL) {
        bench_die("NewTopic %s: %s", topic, why);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin);
    rd_kafka_CreateTopics(admin, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, CREATE_TIMEOUT_MS);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    if (res == NULL || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("weir: CreateTopics %s: %s", topic,
                  ev ? rd_kafka_event_error_string(ev) : "timed out");
    }
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n != 1 || rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("weir: CreateTopics %s: %s", topic,
                  n == 1 ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

void bench_deliveries_reset(bench_deliveries *d)
{
    memset(d, 0, sizeof *d);
    for (int p = 0; p < BENCH_PARTITIONS_MAX; p++) {
        d->offset_max[p] = -1;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    bench_deliveries *d = opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->partition < 0 ||
        m->partition >= BENCH_PARTITIONS_MAX) {
        if (d->failed++ < ERRORS_SHOWN_MAX) {
            fprintf(stderr, "%s: delivery failed: %s (partition %d)\n", g_prog,
                    rd_kafka_err2str(m->err), (int)m->partition);
        }
        return;
    }
    d->delivered++;
    d->per_partition[m->partition]++;
    if (m->offset > d->offset_max[m->partition]) {
        d->offset_max[m->partition] = m->offset;
    }
}

rd_kafka_conf_t *bench_producer_conf(const char *bootstrap, const char *acks, bool idempotent,
                                     bench_deliveries *d)
{
    bench_deliveries_reset(d);
    rd_kafka_conf_t *conf = bench_client_conf(bootstrap);
    bench_conf_set(conf, "acks", acks);
    bench_conf_set(conf, "linger.ms", BENCH_LINGER_MS);
    bench_conf_set(conf, "batch.size", BENCH_BATCH_BYTES);
    bench_conf_set(conf, "batch.num.messages", BENCH_BATCH_MESSAGES);
    bench_conf_set(conf, "compression.codec", BENCH_COMPRESSION);
    bench_conf_set(conf, "enable.idempotence", idempotent ? "true" : "false");
    bench_conf_set(conf, "message.timeout.ms", "30000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, d);
    return conf;
}

void bench_produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const void *value, size_t len)
{
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, len,
                            NULL, 0, NULL) != 0) {
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            bench_die("produce: %s", rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 1);
        bench_weir_check_alive();
    }
}

void bench_deliveries_check(const bench_deliveries *d, int64_t count, bool contiguous,
                            const char *what)
{
    if (d->delivered != count || d->failed != 0) {
        bench_die("%s: %" PRId64 " of %" PRId64 " messages delivered, %" PRId64 " failed", what,
                  d->delivered, count, d->failed);
    }
    for (int p = 0; p < BENCH_PARTITIONS_MAX && contiguous; p++) {
        if (d->offset_max[p] + 1 != d->per_partition[p]) {
            bench_die("%s: partition %d: %" PRId64
                      " messages delivered but the last offset is %" PRId64,
                      what, p, d->per_partition[p], d->offset_max[p]);
        }
    }
}

rd_kafka_resp_err_t bench_flush_watching(rd_kafka_t *rk)
{
    int64_t deadline = bench_mono_ns() + FLUSH_TIMEOUT_MS * BENCH_NS_PER_MS;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_flush(rk, 100)) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
           bench_mono_ns() < deadline) {
        bench_weir_check_alive();
    }
    return err;
}

/* ---- values and figures ---- */

void bench_value_fill(uint8_t *buf, size_t len, uint64_t seq, int64_t sent_ns)
{
    memcpy(buf, &seq, sizeof seq);
    memcpy(buf + 8, &sent_ns, sizeof sent_ns);
    uint8_t b = (uint8_t)(seq * 131u);
    for (size_t i = BENCH_VALUE_HEADER_BYTES; i < len; i++) {
        buf[i] = (uint8_t)(b + i);
    }
}

bool bench_value_check(const uint8_t *buf, size_t len, size_t want_len, uint64_t seq_count,
                       uint64_t *seq_out, int64_t *sent_ns_out)
{
    if (buf == NULL || len != want_len) {
        return false;
    }
    uint64_t seq;
    memcpy(&seq, buf, sizeof seq);
    memcpy(sent_ns_out, buf + 8, sizeof *sent_ns_out);
    uint8_t b = (uint8_t)(seq * 131u);
    for (size_t i = BENCH_VALUE_HEADER_BYTES; i < len; i++) {
        if (buf[i] != (uint8_t)(b + i)) {
            return false;
        }
    }
    *seq_out = seq;
    return seq < seq_count;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(const double *v, int n)
{
    double s[BENCH_ROUNDS_MAX];
    memcpy(s, v, sizeof s[0] * (size_t)n);
    qsort(s, (size_t)n, sizeof s[0], cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_sort_i64(int64_t *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_i64);
}

double bench_percentile_ms(const int64_t *sorted, int64_t n, double q)
{
    int64_t i = (int64_t)(q * (double)n + 0.999999) - 1;
    i = i < 0 ? 0 : (i >= n ? n - 1 : i);
    return (double)sorted[i] / BENCH_NS_PER_MS;
}

const char *bench_fmt_rate(char *buf, size_t size, double per_s)
{
    if (per_s >= 1e6) {
        snprintf(buf, size, "%.2f M", per_s / 1e6);
    } else if (per_s >= 1e4) {
        snprintf(buf, size, "%.0f k", per_s / 1e3);
    } else {
        snprintf(buf, size, "%.1f k", per_s / 1e3);
    }
    return buf;
}
