/* Benchmark: `weir broker` against librdkafka's in-process mock cluster
 * (rdkafka_mock.h), driven by the same librdkafka client code and settings in
 * the same run; every figure is printed beside the mock's and the ratio.
 *
 *   bench_broker [-w WEIR] [messages [rate [seconds]]]
 *
 * weir runs as its own process: the bench forks and execs `WEIR broker` with a
 * properties file in a fresh temporary folder (under $TMPDIR, else /tmp; the
 * partition logs go to its logs/ subfolder), on a free loopback port, waits
 * until the port accepts connections, and stops it with SIGTERM at the end (a
 * broker that does not exit cleanly within 10 s fails the run; it gets
 * PR_SET_PDEATHSIG so it dies with the bench). The broker keeps Kafka's flush
 * defaults: pages are written to the segment files, no fsync per write. The
 * mock is one broker (rd_kafka_mock_cluster_new) on its own thread inside this
 * process. Every topic is created before use with `partitions` partitions
 * (default 1) and replication factor 1: on weir through the Admin API
 * (CreateTopics), on the mock with rd_kafka_mock_topic_create (the mock has no
 * CreateTopics).
 *
 * Values are `value_bytes` (100) bytes: a sequence number, a send timestamp
 * and a pattern derived from the sequence number; no keys, no headers. The
 * producer uses linger.ms=5, batch.size=1000000, batch.num.messages=10000,
 * compression none, idempotence off, the default partitioner. The consumer is
 * the plain (non-group) one, all partitions on one queue, fetch.wait.max.ms=5
 * (see 3). Cases:
 *
 * 1. produce: `messages` (1,000,000) values with acks=1 into a new topic, then
 *    as many with acks=all into another. Timed from the first produce call to
 *    the end of rd_kafka_flush (every delivery report in); the producer has
 *    fetched the topic's metadata before the clock starts. Every delivery
 *    report must be a success, and per partition the offsets reported must
 *    be exactly 0..count-1.
 * 2. consume: both topics read back from the log start to the end offsets
 *    queried beforehand, timed from the first message handed to the consumer
 *    to the last. Each value's pattern, partition and offset is checked, and
 *    weir must return every message exactly once from offset 0. The mock keeps
 *    at most 5 MiB per partition (older message sets are dropped as new ones
 *    arrive), so it is read over what it keeps, pass after pass, until as many
 *    messages have been read as weir served.
 * 3. latency: `rate` (10,000) messages/s for `seconds` (3) s, paced by the
 *    clock, acks=all, each value stamped with CLOCK_MONOTONIC just before the
 *    produce call; a consumer thread in this process subtracts the stamp when
 *    the message is handed to it. The first 0.5 s are warm-up and not counted.
 *    fetch.wait.max.ms is 5 because the mock answers a Fetch that finds no
 *    data only after the full wait (it does not wake on new data); weir is
 *    then measured once more alone with the default 500 ms, where only waking
 *    the waiting Fetch keeps the latency low.
 *
 * Cases 1 and 2 run `rounds` (3) times, weir and the mock alternating who goes
 * first, each round on new topics; the medians are printed, with every
 * round's figures. Beside them, each broker's CPU time per million messages
 * (the weir process's CPU clock; the mock's "rdk:mock" thread's): the figure
 * that still compares when other jobs share the machine's cores, since the
 * client threads and the broker then split whatever CPU they get.
 *
 * MB/s counts value bytes only (messages x value_bytes / 1e6). Ratios are
 * weir / mock: above 1 is better for throughput, below 1 for latency and CPU.
 *
 * Environment (argv wins): WEIR_BIN (default: <dir of this program>/../weir,
 * the `weir` of the same build folder), WEIR_BENCH_BROKER_MESSAGES (1000000),
 * WEIR_BENCH_BROKER_RATE (10000), WEIR_BENCH_BROKER_SECONDS (3),
 * WEIR_BENCH_BROKER_ROUNDS (3), WEIR_BENCH_BROKER_PARTITIONS (1),
 * WEIR_BENCH_BROKER_VALUE_BYTES (100).
 *
 * Exits 1 if the broker fails or a message is lost, duplicated, misplaced or
 * damaged, 2 on bad usage.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define PARTITIONS_MAX 64
#define VALUE_HEADER_BYTES 16 /* sequence number, send time */
#define VALUE_BYTES_MAX (512 * 1024)
#define POLL_EVERY 1024        /* produce calls between rd_kafka_poll */
#define SERVE_WAIT_MS 10000    /* for `weir broker` to accept connections */
#define STOP_WAIT_MS 10000     /* for it to exit after SIGTERM */
#define METADATA_WAIT_MS 10000 /* for a new topic to have leaders */
#define FLUSH_TIMEOUT_MS 60000
#define CONSUME_TIMEOUT_NS (60 * NS_PER_S) /* per pass */
#define LATENCY_DRAIN_NS (10 * NS_PER_S)   /* after the last produce */
#define LATENCY_WARMUP_MS 500
#define MOCK_PASSES_MAX 100000
#define ROUNDS_MAX 15
#define ERRORS_SHOWN_MAX 5

/* Client settings, printed in the output. */
#define LINGER_MS "5"
#define BATCH_BYTES "1000000"
#define BATCH_MESSAGES "10000"
#define COMPRESSION "none"
#define FETCH_WAIT_MS "5" /* see the header: the mock does not wake a waiting Fetch */
#define FETCH_WAIT_WAKE_MS "500"

#define TOPIC_LATENCY "bench-latency"
#define TOPIC_LATENCY_WAKE "bench-latency-wake"

typedef struct bench_cfg {
    int64_t message_count; /* per produce case */
    int64_t rate_per_s;    /* latency case */
    double latency_s;
    int32_t partition_count;
    size_t value_bytes;
    int rounds; /* of the throughput cases */
    char weir_path[PATH_MAX];
} bench_cfg;

/* One broker under test: weir (a child process) or the mock (in process). */
typedef struct target {
    const char *name;
    char bootstrap[256];
    rd_kafka_t *admin;             /* weir: CreateTopics; mock: owns the cluster */
    rd_kafka_mock_cluster_t *mock; /* NULL for weir */
    pid_t mock_tid;                /* the mock's I/O thread, for its CPU time */
} target;

/* One throughput measurement: rate and the broker's CPU time for it. */
typedef struct sample {
    double rate_per_s;
    double cpu_s_per_million; /* < 0: not known */
} sample;

enum { CASE_ACKS_1, CASE_ACKS_ALL, CASE_CONSUME, CASE_COUNT };

typedef struct produce_result {
    int64_t delivered;
    int64_t failed;
    int64_t per_partition[PARTITIONS_MAX];
    int64_t offset_max[PARTITIONS_MAX];
    double seconds;
    double cpu_s; /* the broker's, < 0 if not known */
} produce_result;

/* What a consumer expects and has seen; filled by on_message only. */
typedef struct consume_pass {
    size_t value_bytes;
    int32_t partition_count;
    int64_t next[PARTITIONS_MAX]; /* offset expected next, per partition */
    uint64_t seq_count;           /* sequence numbers are below this */
    uint8_t *seen;                /* per sequence number, or NULL: no duplicate check */
    int64_t *lat_ns;              /* latency case: per sequence number, else NULL */
    uint64_t lat_seq_min;         /* warm-up: latencies below this seq are not kept */
    int64_t first_ns, last_ns;    /* when the first and the last good message came */
    int64_t got;
    int64_t bad;
} consume_pass;

typedef struct consume_result {
    int64_t messages;
    double seconds;
    int passes;
    int64_t window; /* messages per pass (mock: what it keeps) */
    double cpu_s;   /* the broker's, < 0 if not known */
} consume_result;

typedef struct latency_result {
    double p50_ms, p99_ms, max_ms;
    double rate_sent_per_s;
    int64_t measured;
} latency_result;

/* A consumer thread of the latency case. */
typedef struct latency_run {
    const char *bootstrap;
    const char *topic;
    const char *fetch_wait_ms;
    consume_pass cp;
    int64_t want;
    atomic_int state; /* 0 starting, 1 consuming, 2 done */
    atomic_llong deadline_ns;
} latency_run;

static pid_t g_broker_pid = -1;
static char g_root[PATH_MAX]; /* the temporary folder, removed at exit */
static bool g_failed;         /* print the broker's log at exit */

/* ---- time, errors, cleanup ---- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * NS_PER_MS};
    nanosleep(&ts, NULL);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_broker: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_failed = true;
    exit(1); /* cleanup runs at exit */
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
    fprintf(stderr, "bench_broker: the weir broker's output:\n");
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

/* ---- configuration ---- */

static void usage(const char *why)
{
    fprintf(stderr, "bench_broker: %s\nusage: bench_broker [-w WEIR] [messages [rate [seconds]]]\n",
            why);
    exit(2);
}

static double parse_num(const char *s, const char *what, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        char why[128];
        snprintf(why, sizeof why, "bad %s '%s' (%g to %g)", what, s, min, max);
        usage(why);
    }
    return v;
}

static double env_num(const char *name, double dflt, double min, double max)
{
    const char *s = getenv(name);
    return s != NULL && *s != '\0' ? parse_num(s, name, min, max) : dflt;
}

/* The weir next to this build: <dir of /proc/self/exe>/../weir. */
static void default_weir_path(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, size, "weir");
        return;
    }
    self[n] = '\0';
    snprintf(out, size, "%s/../weir", dirname(self));
}

static void cfg_load(bench_cfg *cfg, int argc, char **argv)
{
    cfg->message_count = (int64_t)env_num("WEIR_BENCH_BROKER_MESSAGES", 1000000, 1, 1e9);
    cfg->rate_per_s = (int64_t)env_num("WEIR_BENCH_BROKER_RATE", 10000, 10, 1e7);
    cfg->latency_s = env_num("WEIR_BENCH_BROKER_SECONDS", 3, 0.1, 3600);
    cfg->partition_count = (int32_t)env_num("WEIR_BENCH_BROKER_PARTITIONS", 1, 1, PARTITIONS_MAX);
    cfg->value_bytes =
        (size_t)env_num("WEIR_BENCH_BROKER_VALUE_BYTES", 100, VALUE_HEADER_BYTES, VALUE_BYTES_MAX);
    cfg->rounds = (int)env_num("WEIR_BENCH_BROKER_ROUNDS", 3, 1, ROUNDS_MAX);
    const char *weir = getenv("WEIR_BIN");
    if (weir != NULL && *weir != '\0') {
        snprintf(cfg->weir_path, sizeof cfg->weir_path, "%s", weir);
    } else {
        default_weir_path(cfg->weir_path, sizeof cfg->weir_path);
    }
    int ch;
    while ((ch = getopt(argc, argv, "w:h")) != -1) {
        if (ch == 'w') {
            snprintf(cfg->weir_path, sizeof cfg->weir_path, "%s", optarg);
        } else {
            usage(ch == 'h' ? "help" : "unknown option");
        }
    }
    int left = argc - optind;
    if (left > 3) {
        usage("too many arguments");
    }
    if (left > 0) {
        cfg->message_count = (int64_t)parse_num(argv[optind], "messages", 1, 1e9);
    }
    if (left > 1) {
        cfg->rate_per_s = (int64_t)parse_num(argv[optind + 1], "rate", 10, 1e7);
    }
    if (left > 2) {
        cfg->latency_s = parse_num(argv[optind + 2], "seconds", 0.1, 3600);
    }
    if (access(cfg->weir_path, X_OK) != 0) {
        fprintf(stderr, "bench_broker: no weir binary at %s (give -w PATH or WEIR_BIN)\n",
                cfg->weir_path);
        exit(2);
    }
}

/* ---- values ---- */

static void value_fill(uint8_t *buf, size_t len, uint64_t seq, int64_t sent_ns)
{
    memcpy(buf, &seq, sizeof seq);
    memcpy(buf + 8, &sent_ns, sizeof sent_ns);
    uint8_t b = (uint8_t)(seq * 131u);
    for (size_t i = VALUE_HEADER_BYTES; i < len; i++) {
        buf[i] = (uint8_t)(b + i);
    }
}

/* True if the value is one value_fill wrote for a sequence number below seq_count. */
static bool value_check(const uint8_t *buf, size_t len, size_t want_len, uint64_t seq_count,
                        uint64_t *seq_out, int64_t *sent_ns_out)
{
    if (buf == NULL || len != want_len) {
        return false;
    }
    uint64_t seq;
    memcpy(&seq, buf, sizeof seq);
    memcpy(sent_ns_out, buf + 8, sizeof *sent_ns_out);
    uint8_t b = (uint8_t)(seq * 131u);
    for (size_t i = VALUE_HEADER_BYTES; i < len; i++) {
        if (buf[i] != (uint8_t)(b + i)) {
            return false;
        }
    }
    *seq_out = seq;
    return seq < seq_count;
}

/* ---- the weir process and signals ---- */

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

/* Fails the run at once if the weir broker has died, rather than after the
 * clients' timeouts. Main thread only (it reaps the child). */
static void weir_check_alive(void)
{
    int status;
    if (g_broker_pid > 0 && waitpid(g_broker_pid, &status, WNOHANG) == g_broker_pid) {
        g_broker_pid = -1;
        char why[96];
        die("the weir broker died: %s", status_str(status, why, sizeof why));
    }
}

/* SIGINT and SIGTERM are blocked in every thread and taken here, so that the
 * broker is stopped and the folder removed by the normal exit path. */
static void *signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    fprintf(stderr, "bench_broker: %s, stopping\n", strsignal(sig));
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
        die("cannot set up signal handling");
    }
    pthread_detach(th);
}

/* ---- librdkafka clients ---- */

static void conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        die("%s=%s: %s", key, value, err);
    }
}

static rd_kafka_conf_t *client_conf(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", bootstrap);
    conf_set(conf, "client.id", "bench_broker");
    return conf;
}

static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == NULL) {
        die("rd_kafka_new: %s", err);
    }
    return rk;
}

/* Waits until the topic has `partitions` partitions, each with a leader. */
static void metadata_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partitions)
{
    int64_t deadline = mono_ns() + METADATA_WAIT_MS * NS_PER_MS;
    const char *why = "no answer";
    while (mono_ns() < deadline) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        bool ok = false;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            why = rd_kafka_err2str(err);
        } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            why = md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic";
        } else if (md->topics[0].partition_cnt != partitions) {
            why = "wrong partition count";
        } else {
            ok = true;
            for (int i = 0; i < partitions; i++) {
                ok = ok && md->topics[0].partitions[i].leader >= 0;
            }
            why = ok ? why : "a partition has no leader";
        }
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
        }
        if (ok) {
            return;
        }
        sleep_ms(50);
    }
    die("metadata for %s: %s", rd_kafka_topic_name(rkt), why);
}

/* ---- the two targets ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        die("finding a free port: %s", strerror(errno));
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

static void write_properties(const char *path, int port, int32_t partitions)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        die("cannot write %s: %s", path, strerror(errno));
    }
    fprintf(f,
            "# written by bench_broker\nnode.id=1\nlisteners=PLAINTEXT://127.0.0.1:%d\n"
            "log.dirs=%s/logs\nnum.partitions=%d\n",
            port, g_root, partitions);
    if (fclose(f) != 0) {
        die("cannot write %s: %s", path, strerror(errno));
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

/* Starts `weir broker` in a fresh folder and waits until it accepts connections. */
static void weir_start(const bench_cfg *cfg, target *t)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/weir_bench_broker.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(g_root) == NULL) {
        int e = errno;
        g_root[0] = '\0';
        die("mkdtemp: %s", strerror(e));
    }
    int port = free_port();
    char props[PATH_MAX + 32];
    snprintf(props, sizeof props, "%s/server.properties", g_root);
    write_properties(props, port, cfg->partition_count);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        broker_exec(cfg->weir_path, props);
    }
    g_broker_pid = pid;
    int64_t deadline = mono_ns() + SERVE_WAIT_MS * NS_PER_MS;
    while (!port_accepts(port)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            g_broker_pid = -1;
            char why[96];
            die("weir broker ended before serving: %s", status_str(status, why, sizeof why));
        }
        if (mono_ns() > deadline) {
            die("weir broker does not accept connections on port %d after %d ms", port,
                SERVE_WAIT_MS);
        }
        sleep_ms(20);
    }
    t->name = "weir";
    snprintf(t->bootstrap, sizeof t->bootstrap, "127.0.0.1:%d", port);
    t->admin = client_new(RD_KAFKA_PRODUCER, client_conf(t->bootstrap));
    t->mock = NULL;
    t->mock_tid = -1;
}

/* SIGTERM, then waits; a broker that crashes or hangs fails the run. */
static void weir_stop(target *t)
{
    rd_kafka_destroy(t->admin);
    t->admin = NULL;
    kill(g_broker_pid, SIGTERM);
    int64_t deadline = mono_ns() + STOP_WAIT_MS * NS_PER_MS;
    int status = 0;
    while (waitpid(g_broker_pid, &status, WNOHANG) != g_broker_pid) {
        if (mono_ns() > deadline) {
            die("weir broker did not exit within %d ms of SIGTERM", STOP_WAIT_MS);
        }
        sleep_ms(10);
    }
    g_broker_pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char why[96];
        die("weir broker ended with %s after SIGTERM", status_str(status, why, sizeof why));
    }
}

/* The thread of this process named `name` (librdkafka names its threads), or -1. */
static pid_t thread_find(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fgets(comm, sizeof comm, f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            found = strcmp(comm, name) == 0 ? (pid_t)atoi(e->d_name) : -1;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

/* CPU time (ns) the broker has used so far: the whole weir process, or the mock's
 * I/O thread. -1 if the clock cannot be read. */
static int64_t broker_cpu_ns(const target *t)
{
    clockid_t id;
    if (t->mock == NULL) {
        if (clock_getcpuclockid(g_broker_pid, &id) != 0) {
            return -1;
        }
    } else if (t->mock_tid > 0) {
        /* Linux's clock of one thread by id, as glibc's pthread_getcpuclockid builds
         * it: (~tid << 3) | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2). */
        id = (clockid_t)((~(unsigned)t->mock_tid << 3) | 6u);
    } else {
        return -1;
    }
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return -1;
    }
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static double cpu_s_between(int64_t before_ns, int64_t after_ns)
{
    return before_ns < 0 || after_ns < 0 ? -1 : (double)(after_ns - before_ns) / NS_PER_S;
}

static void mock_start(target *t)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "client.id", "bench_broker_mock");
    conf_set(conf, "log_level", "3"); /* quiet about having no bootstrap.servers */
    t->admin = client_new(RD_KAFKA_PRODUCER, conf);
    t->mock = rd_kafka_mock_cluster_new(t->admin, 1);
    if (t->mock == NULL) {
        die("rd_kafka_mock_cluster_new failed");
    }
    t->name = "librdkafka mock";
    snprintf(t->bootstrap, sizeof t->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(t->mock));
    /* The thread names itself once it runs: wait for that, briefly. */
    t->mock_tid = thread_find("rdk:mock");
    for (int i = 0; i < 200 && t->mock_tid < 0; i++) {
        sleep_ms(5);
        t->mock_tid = thread_find("rdk:mock");
    }
}

static void mock_stop(target *t)
{
    rd_kafka_mock_cluster_destroy(t->mock);
    rd_kafka_destroy(t->admin);
    t->mock = NULL;
    t->admin = NULL;
}

/* Creates the topic with RF 1: CreateTopics on weir, the mock's own call on the mock. */
static void topic_create(const target *t, const char *topic, int32_t partitions)
{
    if (t->mock != NULL) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(t->mock, topic, partitions, 1);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            die("mock: creating %s: %s", topic, rd_kafka_err2str(err));
        }
        return;
    }
    char why[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, why, sizeof why);
    if (nt == NULL) {
        die("NewTopic %s: %s", topic, why);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(t->admin);
    rd_kafka_CreateTopics(t->admin, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    if (res == NULL || rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("weir: CreateTopics %s: %s", topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
    }
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    if (n != 1 || rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("weir: CreateTopics %s: %s", topic,
            n == 1 ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

/* ---- produce ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    produce_result *r = opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->partition < 0 ||
        m->partition >= PARTITIONS_MAX) {
        if (r->failed++ < ERRORS_SHOWN_MAX) {
            fprintf(stderr, "bench_broker: delivery failed: %s (partition %d)\n",
                    rd_kafka_err2str(m->err), (int)m->partition);
        }
        return;
    }
    r->delivered++;
    r->per_partition[m->partition]++;
    if (m->offset > r->offset_max[m->partition]) {
        r->offset_max[m->partition] = m->offset;
    }
}

/* A producer whose delivery reports go to *res, with the topic's metadata in. */
static rd_kafka_t *producer_open(const char *bootstrap, const char *acks, const char *topic,
                                 int32_t partitions, produce_result *res, rd_kafka_topic_t **rkt)
{
    memset(res, 0, sizeof *res);
    for (int p = 0; p < PARTITIONS_MAX; p++) {
        res->offset_max[p] = -1;
    }
    rd_kafka_conf_t *conf = client_conf(bootstrap);
    conf_set(conf, "acks", acks);
    conf_set(conf, "linger.ms", LINGER_MS);
    conf_set(conf, "batch.size", BATCH_BYTES);
    conf_set(conf, "batch.num.messages", BATCH_MESSAGES);
    conf_set(conf, "compression.codec", COMPRESSION);
    conf_set(conf, "enable.idempotence", "false");
    conf_set(conf, "message.timeout.ms", "30000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, res);
    rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf);
    *rkt = rd_kafka_topic_new(rk, topic, NULL);
    metadata_wait(rk, *rkt, partitions);
    return rk;
}

static void produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, uint8_t *value, size_t len)
{
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, len, NULL, 0,
                            NULL) != 0) {
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            die("produce: %s", rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 1);
        weir_check_alive();
    }
}

/* rd_kafka_flush in short steps, watching the weir process meanwhile. */
static rd_kafka_resp_err_t flush_watching(rd_kafka_t *rk)
{
    int64_t deadline = mono_ns() + FLUSH_TIMEOUT_MS * NS_PER_MS;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_flush(rk, 100)) == RD_KAFKA_RESP_ERR__TIMED_OUT &&
           mono_ns() < deadline) {
        weir_check_alive();
    }
    return err;
}

/* Flushes, then checks every report: all delivered, offsets 0..n-1 per partition. */
static void producer_close(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const produce_result *res,
                           int64_t count, const char *what)
{
    rd_kafka_resp_err_t err = flush_watching(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("%s: flush: %s (%d still queued)", what, rd_kafka_err2str(err), rd_kafka_outq_len(rk));
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (res->delivered != count || res->failed != 0) {
        die("%s: %" PRId64 " of %" PRId64 " messages delivered, %" PRId64 " failed", what,
            res->delivered, count, res->failed);
    }
    for (int p = 0; p < PARTITIONS_MAX; p++) {
        if (res->offset_max[p] + 1 != res->per_partition[p]) {
            die("%s: partition %d: %" PRId64 " messages delivered but the last offset is %" PRId64,
                what, p, res->per_partition[p], res->offset_max[p]);
        }
    }
}

static produce_result produce_throughput(const bench_cfg *cfg, const target *t, const char *topic,
                                         const char *acks)
{
    char what[128];
    snprintf(what, sizeof what, "%s, produce acks=%s", t->name, acks);
    topic_create(t, topic, cfg->partition_count);
    produce_result res;
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk = producer_open(t->bootstrap, acks, topic, cfg->partition_count, &res, &rkt);
    uint8_t *value = malloc(cfg->value_bytes);
    if (value == NULL) {
        die("out of memory");
    }
    int64_t cpu0 = broker_cpu_ns(t);
    int64_t t0 = mono_ns();
    for (int64_t i = 0; i < cfg->message_count; i++) {
        value_fill(value, cfg->value_bytes, (uint64_t)i, 0);
        produce_one(rk, rkt, value, cfg->value_bytes);
        if (i % POLL_EVERY == 0) {
            rd_kafka_poll(rk, 0);
            weir_check_alive();
        }
    }
    rd_kafka_resp_err_t err = flush_watching(rk);
    res.seconds = (double)(mono_ns() - t0) / NS_PER_S;
    res.cpu_s = cpu_s_between(cpu0, broker_cpu_ns(t));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("%s: flush: %s", what, rd_kafka_err2str(err));
    }
    producer_close(rk, rkt, &res, cfg->message_count, what);
    free(value);
    return res;
}

/* ---- consume ---- */

static void on_message(rd_kafka_message_t *m, void *opaque)
{
    consume_pass *cp = opaque;
    int64_t now = mono_ns();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return;
    }
    const char *why = NULL;
    int32_t p = m->partition;
    uint64_t seq = 0;
    int64_t sent_ns = 0;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        why = rd_kafka_message_errstr(m);
    } else if (p < 0 || p >= cp->partition_count) {
        why = "partition out of range";
    } else if (m->offset != cp->next[p]) {
        why = "offset out of order";
    } else if (!value_check(m->payload, m->len, cp->value_bytes, cp->seq_count, &seq, &sent_ns)) {
        why = "damaged value";
    } else if (cp->seen != NULL && cp->seen[seq]++ != 0) {
        why = "duplicate";
    }
    if (why != NULL) {
        if (cp->bad++ < ERRORS_SHOWN_MAX) {
            fprintf(stderr,
                    "bench_broker: partition %d offset %" PRId64 " (expected %" PRId64 "): %s\n",
                    (int)p, m->offset, p >= 0 && p < cp->partition_count ? cp->next[p] : -1, why);
        }
        return;
    }
    cp->next[p]++;
    cp->first_ns = cp->got == 0 ? now : cp->first_ns;
    cp->last_ns = now;
    if (cp->lat_ns != NULL && seq >= cp->lat_seq_min) {
        cp->lat_ns[seq] = now - sent_ns;
    }
    cp->got++;
}

static rd_kafka_t *consumer_open(const char *bootstrap, const char *fetch_wait_ms,
                                 rd_kafka_queue_t **q)
{
    rd_kafka_conf_t *conf = client_conf(bootstrap);
    conf_set(conf, "fetch.wait.max.ms", fetch_wait_ms);
    conf_set(conf, "enable.partition.eof", "false");
    rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf);
    *q = rd_kafka_queue_new(rk);
    return rk;
}

/* Reads every partition from cp->next[p] to end[p] on one queue; returns the seconds
 * from the first message to the last. */
static double consume_range(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic,
                            consume_pass *cp, const int64_t *end)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t want = cp->got;
    for (int32_t p = 0; p < cp->partition_count; p++) {
        want += end[p] - cp->next[p];
    }
    int64_t t0 = mono_ns();
    for (int32_t p = 0; p < cp->partition_count; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, cp->next[p], q) != 0) {
            die("consume_start %s [%d]: %s", topic, p, rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    int64_t deadline = t0 + CONSUME_TIMEOUT_NS;
    while (cp->got < want && cp->bad == 0 && mono_ns() < deadline) {
        rd_kafka_consume_callback_queue(q, 100, on_message, cp);
        weir_check_alive();
    }
    double s = (double)(cp->last_ns - cp->first_ns) / NS_PER_S;
    for (int32_t p = 0; p < cp->partition_count; p++) {
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    if (cp->got != want || cp->bad != 0) {
        die("%s: consumed %" PRId64 " of %" PRId64 " messages, %" PRId64 " wrong", topic, cp->got,
            want, cp->bad);
    }
    return s;
}

/* Reads back one topic that received `count` messages. weir must hold all of them
 * from offset 0 (each seen once); the mock is read over what it keeps, pass after
 * pass, until `count` messages have been read. */
static void consume_topic(const bench_cfg *cfg, const target *t, rd_kafka_t *rk,
                          rd_kafka_queue_t *q, const char *topic, consume_result *out)
{
    int32_t np = cfg->partition_count;
    int64_t lo[PARTITIONS_MAX], hi[PARTITIONS_MAX], window = 0, end_total = 0;
    for (int32_t p = 0; p < np; p++) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo[p], &hi[p], 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            die("%s: watermarks of %s [%d]: %s", t->name, topic, p, rd_kafka_err2str(err));
        }
        window += hi[p] - lo[p];
        end_total += hi[p];
    }
    uint64_t count = (uint64_t)cfg->message_count;
    if (end_total != (int64_t)count || window <= 0 || (t->mock == NULL && window != end_total)) {
        die("%s: %s ends at %" PRId64 " messages and holds %" PRId64 ", expected %" PRIu64, t->name,
            topic, end_total, window, count);
    }
    consume_pass cp = {.value_bytes = cfg->value_bytes, .partition_count = np, .seq_count = count};
    cp.seen = window == end_total ? calloc(count, 1) : NULL; /* holds all: each once */
    int64_t read = 0;
    while (read < (int64_t)count && out->passes < MOCK_PASSES_MAX) {
        memcpy(cp.next, lo, sizeof lo[0] * (size_t)np);
        cp.got = 0;
        out->seconds += consume_range(rk, q, topic, &cp, hi);
        read += cp.got;
        out->passes++;
    }
    if (cp.seen != NULL) {
        for (uint64_t s = 0; s < count; s++) {
            if (cp.seen[s] != 1) {
                die("%s: %s: message %" PRIu64 " seen %d times", t->name, topic, s, cp.seen[s]);
            }
        }
        free(cp.seen);
    }
    out->messages += read;
    out->window = window;
}

/* Reads back the two topics the produce cases wrote. */
static consume_result consume_throughput(const bench_cfg *cfg, const target *t, char topics[2][64])
{
    consume_result res = {0};
    rd_kafka_queue_t *q;
    rd_kafka_t *rk = consumer_open(t->bootstrap, FETCH_WAIT_MS, &q);
    int64_t cpu0 = broker_cpu_ns(t);
    consume_topic(cfg, t, rk, q, topics[0], &res);
    consume_topic(cfg, t, rk, q, topics[1], &res);
    res.cpu_s = cpu_s_between(cpu0, broker_cpu_ns(t));
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return res;
}

/* ---- latency ---- */

static void *latency_consumer(void *arg)
{
    latency_run *lr = arg;
    rd_kafka_queue_t *q;
    rd_kafka_t *rk = consumer_open(lr->bootstrap, lr->fetch_wait_ms, &q);
    int64_t lo, hi;
    (void)rd_kafka_query_watermark_offsets(rk, lr->topic, 0, &lo, &hi, 10000); /* connects */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, lr->topic, NULL);
    for (int32_t p = 0; p < lr->cp.partition_count; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, 0, q) != 0) { /* the count check fails */
            fprintf(stderr, "bench_broker: consume_start %s [%d]: %s\n", lr->topic, p,
                    rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    atomic_store(&lr->state, 1);
    while (lr->cp.got < lr->want && mono_ns() < atomic_load(&lr->deadline_ns)) {
        rd_kafka_consume_callback_queue(q, 100, on_message, &lr->cp);
    }
    for (int32_t p = 0; p < lr->cp.partition_count; p++) {
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    atomic_store(&lr->state, 2);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank over sorted values. */
static double percentile_ms(const int64_t *sorted, int64_t n, double q)
{
    int64_t i = (int64_t)(q * (double)n + 0.999999) - 1;
    i = i < 0 ? 0 : (i >= n ? n - 1 : i);
    return (double)sorted[i] / NS_PER_MS;
}

/* Sends `rate` messages/s, each stamped just before its produce call. Returns the
 * rate achieved. */
static double latency_produce(const bench_cfg *cfg, const target *t, const char *topic,
                              int64_t total)
{
    char what[128];
    snprintf(what, sizeof what, "%s, latency produce", t->name);
    produce_result res;
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk = producer_open(t->bootstrap, "all", topic, cfg->partition_count, &res, &rkt);
    uint8_t *value = malloc(cfg->value_bytes);
    if (value == NULL) {
        die("out of memory");
    }
    int64_t interval_ns = NS_PER_S / cfg->rate_per_s;
    int64_t t0 = mono_ns();
    for (int64_t i = 0; i < total; i++) {
        int64_t due = t0 + i * interval_ns;
        if (mono_ns() < due) {
            struct timespec ts = {due / NS_PER_S, due % NS_PER_S};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
        value_fill(value, cfg->value_bytes, (uint64_t)i, mono_ns());
        produce_one(rk, rkt, value, cfg->value_bytes);
        rd_kafka_poll(rk, 0);
        if (i % POLL_EVERY == 0) {
            weir_check_alive();
        }
    }
    double rate = (double)total * NS_PER_S / (double)(mono_ns() - t0);
    producer_close(rk, rkt, &res, total, what);
    free(value);
    return rate;
}

static latency_result latency_measure(const bench_cfg *cfg, const target *t, const char *topic,
                                      const char *fetch_wait_ms)
{
    topic_create(t, topic, cfg->partition_count);
    int64_t total = (int64_t)((double)cfg->rate_per_s * cfg->latency_s);
    int64_t warm = cfg->rate_per_s * LATENCY_WARMUP_MS / 1000;
    total += warm;
    latency_run *lr = calloc(1, sizeof *lr);
    if (lr == NULL) {
        die("out of memory");
    }
    lr->bootstrap = t->bootstrap;
    lr->topic = topic;
    lr->fetch_wait_ms = fetch_wait_ms;
    lr->want = total;
    lr->cp = (consume_pass){.value_bytes = cfg->value_bytes,
                            .partition_count = cfg->partition_count,
                            .seq_count = (uint64_t)total,
                            .lat_seq_min = (uint64_t)warm};
    lr->cp.seen = calloc((size_t)total, 1);
    lr->cp.lat_ns = calloc((size_t)total, sizeof *lr->cp.lat_ns);
    atomic_init(&lr->state, 0);
    atomic_init(&lr->deadline_ns, INT64_MAX);
    pthread_t th;
    if (lr->cp.seen == NULL || lr->cp.lat_ns == NULL ||
        pthread_create(&th, NULL, latency_consumer, lr) != 0) {
        die("cannot start the consumer thread");
    }
    while (atomic_load(&lr->state) == 0) {
        sleep_ms(1);
    }
    latency_result res = {0};
    res.rate_sent_per_s = latency_produce(cfg, t, topic, total);
    atomic_store(&lr->deadline_ns, mono_ns() + LATENCY_DRAIN_NS);
    pthread_join(th, NULL);
    if (lr->cp.got != total || lr->cp.bad != 0) {
        die("%s: latency: consumed %" PRId64 " of %" PRId64 " messages, %" PRId64 " wrong", t->name,
            lr->cp.got, total, lr->cp.bad);
    }
    res.measured = total - warm;
    int64_t *v = lr->cp.lat_ns + warm;
    qsort(v, (size_t)res.measured, sizeof *v, cmp_i64);
    res.p50_ms = percentile_ms(v, res.measured, 0.50);
    res.p99_ms = percentile_ms(v, res.measured, 0.99);
    res.max_ms = (double)v[res.measured - 1] / NS_PER_MS;
    free(lr->cp.seen);
    free(lr->cp.lat_ns);
    free(lr);
    return res;
}

/* ---- reporting ---- */

static const char *fmt_rate(char *buf, size_t size, double per_s)
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[ROUNDS_MAX];
    memcpy(s, v, sizeof s[0] * (size_t)n);
    qsort(s, (size_t)n, sizeof s[0], cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median rate and CPU of one target over the rounds (CPU < 0 if any is unknown). */
static sample sample_median(const sample *v, int n)
{
    double rate[ROUNDS_MAX] = {0}, cpu[ROUNDS_MAX] = {0};
    bool cpu_known = true;
    for (int i = 0; i < n; i++) {
        rate[i] = v[i].rate_per_s;
        cpu[i] = v[i].cpu_s_per_million;
        cpu_known = cpu_known && cpu[i] >= 0;
    }
    return (sample){median(rate, n), cpu_known ? median(cpu, n) : -1};
}

static sample sample_of(int64_t messages, double seconds, double cpu_s)
{
    return (sample){(double)messages / seconds, cpu_s < 0 ? -1 : cpu_s * 1e6 / (double)messages};
}

/* The headline (medians, ratio), then each round and the brokers' CPU per message. */
static void report_throughput(const bench_cfg *cfg, const char *label, const sample *w_rounds,
                              const sample *m_rounds)
{
    sample w = sample_median(w_rounds, cfg->rounds), m = sample_median(m_rounds, cfg->rounds);
    char a[32], b[32];
    printf("broker %s: %s msg/s, %.1f MB/s  (librdkafka mock: %s msg/s, ratio %.2f)\n", label,
           fmt_rate(a, sizeof a, w.rate_per_s), w.rate_per_s * (double)cfg->value_bytes / 1e6,
           fmt_rate(b, sizeof b, m.rate_per_s), w.rate_per_s / m.rate_per_s);
    printf("  median of %d; k msg/s weir/mock per round:", cfg->rounds);
    for (int r = 0; r < cfg->rounds; r++) {
        printf(" %.0f/%.0f", w_rounds[r].rate_per_s / 1e3, m_rounds[r].rate_per_s / 1e3);
    }
    if (w.cpu_s_per_million >= 0 && m.cpu_s_per_million >= 0) {
        printf("; broker CPU per million messages: weir %.3f s, mock thread %.3f s (ratio %.2f)",
               w.cpu_s_per_million, m.cpu_s_per_million, w.cpu_s_per_million / m.cpu_s_per_million);
    }
    printf("\n");
}

static void report_latency(const bench_cfg *cfg, const latency_result *w, const latency_result *m)
{
    printf("broker latency %zu B at %" PRId64 " msg/s for %g s, acks=all, fetch.wait.max.ms=%s: "
           "p50 %.2f ms, p99 %.2f ms  (librdkafka mock: p50 %.2f ms, p99 %.2f ms; ratio p50 %.2f, "
           "p99 %.2f)\n",
           cfg->value_bytes, cfg->rate_per_s, cfg->latency_s, FETCH_WAIT_MS, w->p50_ms, w->p99_ms,
           m->p50_ms, m->p99_ms, w->p50_ms / m->p50_ms, w->p99_ms / m->p99_ms);
    printf("  max %.2f ms (mock %.2f ms) over %" PRId64 " messages each after %d ms of warm-up; "
           "sent at %.0f msg/s (mock run %.0f msg/s)\n",
           w->max_ms, m->max_ms, w->measured, LATENCY_WARMUP_MS, w->rate_sent_per_s,
           m->rate_sent_per_s);
}

static uint64_t g_seg_bytes;

static int add_segment(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 4 && strcmp(path + n - 4, ".log") == 0) {
        g_seg_bytes += (uint64_t)st->st_size;
    }
    return 0;
}

/* Bytes in weir's segment files (*.log under logs/). */
static uint64_t weir_segment_bytes(void)
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/logs", g_root);
    g_seg_bytes = 0;
    nftw(dir, add_segment, 16, FTW_PHYS);
    return g_seg_bytes;
}

static void print_setup(const bench_cfg *cfg, const target *w)
{
    printf("bench_broker: librdkafka %s, one producer and one consumer over loopback; "
           "%d partition(s), RF 1, %zu B values, no keys\n",
           rd_kafka_version_str(), cfg->partition_count, cfg->value_bytes);
    printf("  producer: linger.ms=%s batch.size=%s batch.num.messages=%s compression=%s "
           "idempotence off; consumer: legacy API, one queue, fetch.wait.max.ms=%s\n",
           LINGER_MS, BATCH_BYTES, BATCH_MESSAGES, COMPRESSION, FETCH_WAIT_MS);
    printf("  weir: %s broker at %s, log dir %s/logs (Kafka flush defaults: no fsync); "
           "mock: 1 broker in this process\n",
           cfg->weir_path, w->bootstrap, g_root);
}

/* Runs the throughput cases of one round on both targets; who goes first alternates. */
static void run_round(const bench_cfg *cfg, target *both[2], int round,
                      sample out[CASE_COUNT][2][ROUNDS_MAX], consume_result *mock_consume)
{
    static const char *acks[2] = {"1", "all"};
    char topics[2][64];
    snprintf(topics[0], sizeof topics[0], "bench-acks1-%d", round);
    snprintf(topics[1], sizeof topics[1], "bench-acksall-%d", round);
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) {
            int who = (k + round) % 2; /* 0 weir, 1 mock */
            produce_result pr = produce_throughput(cfg, both[who], topics[i], acks[i]);
            out[CASE_ACKS_1 + i][who][round] = sample_of(pr.delivered, pr.seconds, pr.cpu_s);
        }
    }
    for (int k = 0; k < 2; k++) {
        int who = (k + round) % 2;
        consume_result cr = consume_throughput(cfg, both[who], topics);
        out[CASE_CONSUME][who][round] = sample_of(cr.messages, cr.seconds, cr.cpu_s);
        if (who == 1) {
            *mock_consume = cr;
        }
    }
}

int main(int argc, char **argv)
{
    bench_cfg cfg;
    cfg_load(&cfg, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(cleanup);
    signals_take();
    target weir, mock;
    weir_start(&cfg, &weir);
    mock_start(&mock);
    print_setup(&cfg, &weir);

    static sample samples[CASE_COUNT][2][ROUNDS_MAX];
    target *both[2] = {&weir, &mock};
    consume_result mock_consume = {0};
    for (int r = 0; r < cfg.rounds; r++) {
        run_round(&cfg, both, r, samples, &mock_consume);
    }
    char label[96];
    snprintf(label, sizeof label, "produce %zu B, acks=1", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_ACKS_1][0], samples[CASE_ACKS_1][1]);
    snprintf(label, sizeof label, "produce %zu B, acks=all", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_ACKS_ALL][0], samples[CASE_ACKS_ALL][1]);
    printf("  every message delivered, with offsets 0..n-1 per partition, on both; weir's segment "
           "files hold %.1f MB after %d round(s)\n",
           (double)weir_segment_bytes() / 1e6, cfg.rounds);
    snprintf(label, sizeof label, "consume %zu B", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_CONSUME][0], samples[CASE_CONSUME][1]);
    printf("  weir returned every message of both topics exactly once, from offset 0; the mock "
           "keeps at most 5 MiB per partition (%" PRId64 " of a topic's %" PRId64
           " messages) and was read over that in %d passes per round\n",
           mock_consume.window, cfg.message_count, mock_consume.passes);

    latency_result lw = latency_measure(&cfg, &weir, TOPIC_LATENCY, FETCH_WAIT_MS);
    latency_result lm = latency_measure(&cfg, &mock, TOPIC_LATENCY, FETCH_WAIT_MS);
    report_latency(&cfg, &lw, &lm);
    latency_result lx = latency_measure(&cfg, &weir, TOPIC_LATENCY_WAKE, FETCH_WAIT_WAKE_MS);
    printf("broker latency, weir alone with fetch.wait.max.ms=%s (waiting fetches wake on new "
           "data): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           FETCH_WAIT_WAKE_MS, lx.p50_ms, lx.p99_ms, lx.max_ms);

    mock_stop(&mock);
    weir_stop(&weir);
    return 0;
}
