/* The echo demo's three node types: server, client and chaos. See demo.h. */
#include "demo/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define DEMO_PORT 9092
#define DEMO_WRITE_INTERVAL_NS (10LL * 1000 * 1000)
#define DEMO_WRITES_PER_SYNC 10
#define DEMO_RECONNECT_NS (200LL * 1000 * 1000)
#define DEMO_OUTSTANDING_MAX 4096
#define DEMO_COUNT_FILE "echo.count"

static void demo_note(weir_demo *d, weir_env *env, const char *fmt, const char *who)
{
    if (d->timeline_count == WEIR_DEMO_TIMELINE_MAX) {
        return;
    }
    weir_demo_event *ev = &d->timeline[d->timeline_count++];
    ev->at_ns = weir_now_ns(env);
    snprintf(ev->text, sizeof ev->text, fmt, who);
}

void weir_demo_config_default(weir_demo_config *cfg)
{
    cfg->server_count = 3;
    cfg->send_interval_ns = 1000LL * 1000; /* 1 ms */
    cfg->frame_bytes_max = 16 * 1024;
    cfg->crash_server = 1;
    cfg->crash_at_ns = 2055LL * 1000 * 1000; /* between syncs: unsynced writes exist */
    cfg->restart_at_ns = 3000LL * 1000 * 1000;
}

/* ---- server ---- */

typedef struct demo_server {
    weir_env *env;
    weir_demo *demo;
    weir_demo_server *stats;
    weir_listener *listener;
    weir_file *file;
    weir_timer *sync_timer;
    uint64_t ticks;
} demo_server;

static void ds_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    demo_server *s = arg;
    if (weir_conn_send(conn, payload, len) == 0) {
        s->stats->echoed++;
        s->stats->count++;
    }
}

/* Every 10 ms the count is written to its file, every 100 ms it is synced:
 * a crash must roll the file back to the last synced value. */
static void ds_tick(weir_env *env, void *arg)
{
    demo_server *s = arg;
    s->sync_timer = weir_timer_start(env, DEMO_WRITE_INTERVAL_NS, ds_tick, s);
    s->ticks++;
    uint64_t value = s->stats->count;
    uint8_t buf[8];
    for (int i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(value >> (8 * i));
    }
    if (weir_file_pwrite(env, s->file, buf, sizeof buf, 0) != 0) {
        weir_log_error(env, "cannot write %s", DEMO_COUNT_FILE);
        return;
    }
    if (s->ticks % DEMO_WRITES_PER_SYNC != 0) {
        return;
    }
    if (weir_file_sync(env, s->file) != 0) {
        weir_log_error(env, "cannot sync %s", DEMO_COUNT_FILE);
        return;
    }
    s->stats->synced = value;
}

static uint64_t ds_recover(demo_server *s)
{
    uint8_t buf[8] = {0};
    size_t got = 0;
    if (weir_file_pread(s->env, s->file, buf, sizeof buf, 0, &got) != 0 || got != sizeof buf) {
        return 0; /* a new or empty file: nothing was synced yet */
    }
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        value |= (uint64_t)buf[i] << (8 * i);
    }
    return value;
}

static void *ds_start(weir_env *env, void *arg)
{
    weir_demo_server_arg *a = arg;
    demo_server *s = calloc(1, sizeof *s);
    WEIR_ASSERT(s != NULL);
    s->env = env;
    s->demo = a->demo;
    s->stats = &a->demo->servers[a->index];
    s->stats->starts++;
    s->stats->echoed = 0;
    if (weir_file_open(env, DEMO_COUNT_FILE, WEIR_F_CREATE, &s->file) != 0) {
        weir_log_error(env, "cannot open %s", DEMO_COUNT_FILE);
        return s;
    }
    uint64_t recovered = ds_recover(s);
    s->stats->recovered = recovered;
    if (s->stats->starts > 1) {
        s->stats->recovered_checked = true;
        s->stats->recovered_ok = recovered == s->stats->synced_at_crash;
    }
    s->stats->count = recovered;
    s->stats->synced = recovered;
    char addr[80];
    snprintf(addr, sizeof addr, "%s:%d", env->name, DEMO_PORT);
    weir_conn_handlers h = {.on_frame = ds_on_frame, .arg = s};
    if (weir_listen(env, addr, &h, &s->listener) != 0) {
        weir_log_error(env, "cannot listen on %s", addr);
    }
    s->sync_timer = weir_timer_start(env, DEMO_WRITE_INTERVAL_NS, ds_tick, s);
    return s;
}

static void ds_destroy(void *state)
{
    free(state);
}

static const weir_node_type demo_server_type = {
    .name = "demo-server", .start = ds_start, .destroy = ds_destroy};

/* ---- client ---- */

typedef struct demo_sent {
    uint64_t seq;
    uint32_t len;
    uint64_t sum;
    int64_t sent_ns;
} demo_sent;

typedef struct demo_link {
    struct demo_client *client;
    int index;
    weir_conn *conn;
    bool open;
    demo_sent *ring; /* outstanding frames, oldest at head */
    size_t head;
    size_t count;
} demo_link;

typedef struct demo_client {
    weir_env *env;
    weir_demo *demo;
    demo_link links[WEIR_DEMO_SERVERS_MAX];
    uint64_t seq_next;
    uint8_t *buf;
} demo_client;

static void dc_connect(weir_env *env, void *arg);

static uint64_t dc_sum(const uint8_t *p, size_t len)
{
    return weir_fnv1a(WEIR_FNV_OFFSET, p, len);
}

static void dc_on_open(weir_conn *conn, void *arg)
{
    demo_link *l = arg;
    (void)conn;
    l->open = true;
    l->client->demo->connects++;
}

static void dc_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    demo_link *l = arg;
    weir_demo *d = l->client->demo;
    (void)conn;
    if (l->count == 0) {
        d->mismatches++;
        return;
    }
    demo_sent *s = &l->ring[l->head];
    l->head = (l->head + 1) % DEMO_OUTSTANDING_MAX;
    l->count--;
    uint64_t seq = 0;
    if (len >= 8) {
        memcpy(&seq, payload, 8);
    }
    if (len != s->len || seq != s->seq || dc_sum(payload, len) != s->sum) {
        d->mismatches++;
        return;
    }
    d->echoes++;
    d->echo_bytes += len;
    if (l->index == d->cfg.crash_server && d->servers[l->index].starts > 1) {
        d->echoes_after_restart++;
    }
    int64_t rtt_us = (weir_now_ns(l->client->env) - s->sent_ns) / 1000;
    int bucket = 0;
    while (bucket < WEIR_DEMO_RTT_BUCKETS - 1 && (1LL << (bucket + 1)) <= rtt_us) {
        bucket++;
    }
    d->rtt_hist[bucket]++;
}

static void dc_on_close(weir_conn *conn, int reason, void *arg)
{
    demo_link *l = arg;
    weir_demo *d = l->client->demo;
    (void)conn;
    char who[48];
    snprintf(who, sizeof who, "s%d (%.30s)", l->index + 1, weir_err_str(reason));
    demo_note(d, l->client->env, "client: connection to %s closed", who);
    d->disconnects++;
    d->lost_in_flight += l->count;
    l->head = 0;
    l->count = 0;
    l->conn = NULL;
    l->open = false;
    weir_timer_start(l->client->env, DEMO_RECONNECT_NS, dc_connect, l);
}

static void dc_connect(weir_env *env, void *arg)
{
    demo_link *l = arg;
    char addr[32];
    snprintf(addr, sizeof addr, "s%d:%d", l->index + 1, DEMO_PORT);
    weir_conn_handlers h = {
        .on_open = dc_on_open, .on_frame = dc_on_frame, .on_close = dc_on_close, .arg = l};
    if (weir_connect(env, addr, &h, &l->conn) != 0) {
        weir_log_error(env, "cannot connect to %s", addr);
        l->conn = NULL;
    }
}

static void dc_send(weir_env *env, void *arg)
{
    demo_client *c = arg;
    weir_demo *d = c->demo;
    weir_timer_start(env, d->cfg.send_interval_ns, dc_send, c);
    demo_link *l = &c->links[weir_random_below(env, (uint64_t)d->cfg.server_count)];
    if (!l->open || l->count == DEMO_OUTSTANDING_MAX) {
        return;
    }
    uint32_t len = 8 + (uint32_t)weir_random_below(env, d->cfg.frame_bytes_max - 7);
    uint64_t seq = c->seq_next++;
    memcpy(c->buf, &seq, 8);
    for (uint32_t i = 8; i < len; i++) {
        c->buf[i] = (uint8_t)(seq * 31 + i);
    }
    if (weir_conn_send(l->conn, c->buf, len) != 0) {
        return;
    }
    demo_sent *s = &l->ring[(l->head + l->count) % DEMO_OUTSTANDING_MAX];
    s->seq = seq;
    s->len = len;
    s->sum = dc_sum(c->buf, len);
    s->sent_ns = weir_now_ns(env);
    l->count++;
    d->sent++;
}

static void *dc_start(weir_env *env, void *arg)
{
    weir_demo *d = arg;
    demo_client *c = calloc(1, sizeof *c);
    WEIR_ASSERT(c != NULL);
    c->env = env;
    c->demo = d;
    c->buf = malloc(d->cfg.frame_bytes_max);
    WEIR_ASSERT(c->buf != NULL);
    for (int i = 0; i < d->cfg.server_count; i++) {
        demo_link *l = &c->links[i];
        l->client = c;
        l->index = i;
        l->ring = calloc(DEMO_OUTSTANDING_MAX, sizeof *l->ring);
        WEIR_ASSERT(l->ring != NULL);
        dc_connect(env, l);
    }
    weir_timer_start(env, d->cfg.send_interval_ns, dc_send, c);
    return c;
}

static void dc_destroy(void *state)
{
    demo_client *c = state;
    for (int i = 0; i < WEIR_DEMO_SERVERS_MAX; i++) {
        free(c->links[i].ring);
    }
    free(c->buf);
    free(c);
}

static const weir_node_type demo_client_type = {
    .name = "demo-client", .start = dc_start, .destroy = dc_destroy};

/* ---- chaos ---- */

static void dx_crash(weir_env *env, void *arg)
{
    weir_demo *d = arg;
    char name[16];
    snprintf(name, sizeof name, "s%d", d->cfg.crash_server + 1);
    weir_demo_server *s = &d->servers[d->cfg.crash_server];
    s->synced_at_crash = s->synced;
    demo_note(d, env, "chaos: crash %s", name);
    if (weir_world_crash(d->world, name) != 0) {
        demo_note(d, env, "chaos: crash of %s failed", name);
    }
}

static void dx_restart(weir_env *env, void *arg)
{
    weir_demo *d = arg;
    char name[16];
    snprintf(name, sizeof name, "s%d", d->cfg.crash_server + 1);
    demo_note(d, env, "chaos: restart %s", name);
    if (weir_world_restart(d->world, name) != 0) {
        demo_note(d, env, "chaos: restart of %s failed", name);
    }
}

static void *dx_start(weir_env *env, void *arg)
{
    weir_demo *d = arg;
    if (d->cfg.crash_server >= 0) {
        int64_t now = weir_now_ns(env);
        weir_timer_start(env, d->cfg.crash_at_ns - now, dx_crash, d);
        weir_timer_start(env, d->cfg.restart_at_ns - now, dx_restart, d);
    }
    return d;
}

static const weir_node_type demo_chaos_type = {.name = "demo-chaos", .start = dx_start};

/* ---- setup and verdict ---- */

int weir_demo_add_nodes(weir_world *w, weir_demo *demo, const weir_demo_config *cfg)
{
    if (cfg->server_count < 1 || cfg->server_count > WEIR_DEMO_SERVERS_MAX ||
        cfg->frame_bytes_max < 8 || cfg->send_interval_ns <= 0 ||
        cfg->crash_server >= cfg->server_count ||
        (cfg->crash_server >= 0 && cfg->restart_at_ns <= cfg->crash_at_ns)) {
        return WEIR_E_INVAL;
    }
    memset(demo, 0, sizeof *demo);
    demo->cfg = *cfg;
    demo->world = w;
    for (int i = 0; i < cfg->server_count; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i + 1);
        demo->server_args[i].demo = demo;
        demo->server_args[i].index = i;
        int rc = weir_world_node_add(w, name, &demo_server_type, &demo->server_args[i]);
        if (rc != 0) {
            return rc;
        }
    }
    int rc = weir_world_node_add(w, "client", &demo_client_type, demo);
    return rc != 0 ? rc : weir_world_node_add(w, "chaos", &demo_chaos_type, demo);
}

int weir_demo_verdict(const weir_demo *d, char *why, size_t why_size)
{
    int failed = 0;
    size_t at = 0;
#define DEMO_FAIL(...)                                                                             \
    do {                                                                                           \
        failed++;                                                                                  \
        if (why != NULL && at < why_size) {                                                        \
            at += (size_t)snprintf(why + at, why_size - at, __VA_ARGS__);                          \
        }                                                                                          \
    } while (0)
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (d->mismatches != 0) {
        DEMO_FAIL("%llu echoes differ from what was sent\n", (unsigned long long)d->mismatches);
    }
    if (d->echoes == 0) {
        DEMO_FAIL("no echo arrived\n");
    }
    if (d->cfg.crash_server >= 0) {
        const weir_demo_server *s = &d->servers[d->cfg.crash_server];
        if (!s->recovered_checked) {
            DEMO_FAIL("s%d never restarted\n", d->cfg.crash_server + 1);
        } else if (!s->recovered_ok) {
            DEMO_FAIL("s%d recovered count %llu, last synced %llu\n", d->cfg.crash_server + 1,
                      (unsigned long long)s->recovered, (unsigned long long)s->synced_at_crash);
        }
        if (d->echoes_after_restart == 0) {
            DEMO_FAIL("no traffic after the restart\n");
        }
    }
#undef DEMO_FAIL
    return failed;
}
