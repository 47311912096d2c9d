/* The real weir_world: nodes on one libuv loop in this process. Holds the
 * node table (start, crash, restart), run/stop, and the map from
 * "<node>:<port>" listen addresses to the loopback ports really bound. */
#include "env/uv_world.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "env/uv_internal.h"

/* ---- address map ---- */

bool weir_uv_world_has_node(const weir_uv_world *w, const char *name)
{
    for (size_t i = 0; i < w->node_count; i++) {
        if (strcmp(w->nodes[i]->name, name) == 0) {
            return true;
        }
    }
    return false;
}

int weir_uv_world_addr_lookup(const weir_uv_world *w, const char *host, int port)
{
    for (size_t i = 0; i < w->addr_count; i++) {
        if (w->addrs[i].port == port && strcmp(w->addrs[i].host, host) == 0) {
            return w->addrs[i].real_port;
        }
    }
    return -1;
}

int weir_uv_world_addr_add(weir_uv_world *w, const char *host, int port, int real_port,
                           weir_uv_listener *l)
{
    WEIR_ASSERT(strlen(host) <= WEIR_UV_NAME_MAX);
    if (weir_uv_world_addr_lookup(w, host, port) >= 0) {
        return WEIR_E_ADDRINUSE;
    }
    if (w->addr_count == w->addr_cap) {
        size_t cap = w->addr_cap ? w->addr_cap * 2 : 8;
        weir_uv_addr *addrs = realloc(w->addrs, cap * sizeof *addrs);
        if (addrs == NULL) {
            return WEIR_E_NOMEM;
        }
        w->addrs = addrs;
        w->addr_cap = cap;
    }
    weir_uv_addr *a = &w->addrs[w->addr_count++];
    snprintf(a->host, sizeof a->host, "%s", host);
    a->port = port;
    a->real_port = real_port;
    a->listener = l;
    return 0;
}

void weir_uv_world_addr_remove(weir_uv_world *w, weir_uv_listener *l)
{
    for (size_t i = 0; i < w->addr_count; i++) {
        if (w->addrs[i].listener == l) {
            w->addrs[i] = w->addrs[w->addr_count - 1];
            w->addr_count--;
            return;
        }
    }
}

int weir_uv_world_port_of(weir_world *world, const char *addr)
{
    weir_uv_world *w = world->impl;
    char host[WEIR_UV_NAME_MAX + 1];
    int port;
    if (addr == NULL || weir_addr_split(addr, host, sizeof host, &port) != 0) {
        return -1;
    }
    return weir_uv_world_addr_lookup(w, host, port);
}

/* ---- nodes ---- */

static weir_uv_node *uw_find(weir_uv_world *w, const char *name)
{
    for (size_t i = 0; name != NULL && i < w->node_count; i++) {
        if (strcmp(w->nodes[i]->name, name) == 0) {
            return w->nodes[i];
        }
    }
    return NULL;
}

static int uw_node_start(weir_uv_world *w, weir_uv_node *n)
{
    WEIR_ASSERT(n->env == NULL);
    n->incarnation++;
    int err = 0;
    weir_uv_env *e = weir_uv_env_new(w, n, &err);
    if (e == NULL) {
        return err;
    }
    n->env = e;
    weir_uv_env *prev = weir_uv_enter(e);
    n->state = n->type->start(&e->pub, n->arg);
    weir_uv_leave(e, prev);
    return 0;
}

/* In the simulator's order: the env dies first (no callback can reach the
 * node any more, writes are refused), then destroy frees the node's state and
 * may close the files it holds, then the env closes whatever it left open.
 * Closing the files before destroy would leave the node holding freed
 * handles, which its own close would free again. */
static void uw_node_down(weir_uv_node *n)
{
    weir_uv_env *e = n->env;
    WEIR_ASSERT(e != NULL);
    n->env = NULL;
    weir_uv_env_teardown(e);
    void *state = n->state;
    n->state = NULL;
    if (n->type->destroy != NULL && state != NULL) {
        n->type->destroy(state);
    }
    weir_uv_env_release(e);
}

static bool uw_name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= WEIR_UV_NAME_MAX && strchr(name, '/') == NULL &&
           strchr(name, ':') == NULL && weir_path_is_valid(name, false);
}

/* Adds a node whose files live in root_dir (copied), or in "<world root>/<name>"
 * when root_dir is NULL. */
static int uw_node_insert(weir_uv_world *w, const char *name, const char *root_dir,
                          const weir_node_type *type, void *arg)
{
    if (name == NULL || type == NULL || type->start == NULL || !uw_name_ok(name)) {
        return WEIR_E_INVAL;
    }
    if (uw_find(w, name) != NULL) {
        return WEIR_E_EXIST;
    }
    if (w->node_count == w->node_cap) {
        size_t cap = w->node_cap ? w->node_cap * 2 : 8;
        weir_uv_node **nodes = realloc(w->nodes, cap * sizeof *nodes);
        if (nodes == NULL) {
            return WEIR_E_NOMEM;
        }
        w->nodes = nodes;
        w->node_cap = cap;
    }
    weir_uv_node *n = calloc(1, sizeof *n);
    char *root_copy = root_dir != NULL ? strdup(root_dir) : NULL;
    if (n == NULL || (root_dir != NULL && root_copy == NULL)) {
        free(n);
        free(root_copy);
        return WEIR_E_NOMEM;
    }
    snprintf(n->name, sizeof n->name, "%s", name);
    n->root_dir = root_copy;
    n->type = type;
    n->arg = arg;
    n->want_up = true;
    w->nodes[w->node_count++] = n;
    return w->running ? uw_node_start(w, n) : 0;
}

static int uw_node_add(weir_world *world, const char *name, const weir_node_type *type, void *arg)
{
    return uw_node_insert(world->impl, name, NULL, type, arg);
}

int weir_uv_world_node_add_rooted(weir_world *world, const char *name, const char *root_dir,
                                  const weir_node_type *type, void *arg)
{
    if (root_dir == NULL || root_dir[0] == '\0') {
        return WEIR_E_INVAL;
    }
    struct stat st;
    if (stat(root_dir, &st) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        return WEIR_E_NOTDIR;
    }
    return uw_node_insert(world->impl, name, root_dir, type, arg);
}

static int uw_crash(weir_world *world, const char *name)
{
    weir_uv_world *w = world->impl;
    weir_uv_node *n = uw_find(w, name);
    if (n == NULL) {
        return WEIR_E_NOENT;
    }
    if (n->env == NULL || n->env == w->current) {
        return WEIR_E_INVAL; /* down already, or crashing itself */
    }
    n->want_up = false;
    uw_node_down(n);
    return 0;
}

/* Only a node that is down restarts (as in the sim). Outside run() the start
 * waits for run. */
static int uw_restart(weir_world *world, const char *name)
{
    weir_uv_world *w = world->impl;
    weir_uv_node *n = uw_find(w, name);
    if (n == NULL) {
        return WEIR_E_NOENT;
    }
    if (n->env != NULL || n->want_up) {
        return WEIR_E_INVAL;
    }
    n->want_up = true;
    return w->running ? uw_node_start(w, n) : 0;
}

static void *uw_node_state(weir_world *world, const char *name)
{
    weir_uv_node *n = uw_find(world->impl, name);
    return n != NULL && n->env != NULL ? n->state : NULL;
}

/* ---- run ---- */

static void uw_deadline_cb(uv_timer_t *h)
{
    weir_uv_world *w = h->data;
    w->stop_requested = true;
    uv_stop(&w->loop);
}

static void uw_prepare_cb(uv_prepare_t *h)
{
    weir_uv_world_flush(h->data);
}

static void uw_check_cb(uv_check_t *h)
{
    weir_uv_world_flush(h->data);
}

static int uw_start_pending(weir_uv_world *w)
{
    for (size_t i = 0; i < w->node_count && !w->stop_requested; i++) {
        weir_uv_node *n = w->nodes[i];
        if (n->want_up && n->env == NULL) {
            int err = uw_node_start(w, n);
            if (err != 0) {
                return err;
            }
        }
    }
    return 0;
}

/* duration_ns == 0 runs one round without blocking; INT64_MAX means until stop. */
static int uw_run(weir_world *world, int64_t duration_ns)
{
    weir_uv_world *w = world->impl;
    if (w->running || duration_ns < 0) {
        return WEIR_E_INVAL;
    }
    w->running = true;
    w->stop_requested = false;
    uv_update_time(&w->loop);
    if (duration_ns > 0 && duration_ns < INT64_MAX) {
        uint64_t ms = (uint64_t)(duration_ns / 1000000) + (duration_ns % 1000000 != 0);
        uv_timer_start(&w->deadline, uw_deadline_cb, ms, 0);
    }
    int err = uw_start_pending(w);
    if (duration_ns == 0) {
        uv_run(&w->loop, UV_RUN_NOWAIT);
    }
    while (err == 0 && duration_ns != 0 && !w->stop_requested) {
        if (uv_run(&w->loop, UV_RUN_DEFAULT) == 0) {
            break; /* nothing left that could ever wake the loop */
        }
    }
    uv_timer_stop(&w->deadline);
    w->running = false;
    return err;
}

static void uw_stop(weir_world *world)
{
    weir_uv_world *w = world->impl;
    w->stop_requested = true;
    if (w->running) {
        uv_stop(&w->loop);
    }
}

static void uw_destroy(weir_world *world)
{
    weir_uv_world *w = world->impl;
    WEIR_ASSERT(!w->running);
    for (size_t i = 0; i < w->node_count; i++) {
        if (w->nodes[i]->env != NULL) {
            uw_node_down(w->nodes[i]);
        }
    }
    uv_close((uv_handle_t *)&w->prepare, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->deadline, NULL);
    /* Let every close callback run, so each env frees itself. */
    for (int round = 0; uv_loop_close(&w->loop) == UV_EBUSY; round++) {
        WEIR_ASSERT(round < 100);
        uv_run(&w->loop, UV_RUN_NOWAIT);
    }
    for (size_t i = 0; i < w->node_count; i++) {
        free(w->nodes[i]->root_dir);
        free(w->nodes[i]);
    }
    free(w->nodes);
    free(w->addrs);
    free(w->root);
    free(w);
}

static const weir_world_ops uw_ops = {
    .backend = "real",
    .node_add = uw_node_add,
    .run = uw_run,
    .stop = uw_stop,
    .crash = uw_crash,
    .restart = uw_restart,
    .node_state = uw_node_state,
    .destroy = uw_destroy,
};

/* mkdir -p */
static bool uw_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return false;
            }
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool uw_init_loop(weir_uv_world *w)
{
    if (uv_loop_init(&w->loop) != 0) {
        return false;
    }
    uv_prepare_init(&w->loop, &w->prepare);
    uv_check_init(&w->loop, &w->check);
    uv_timer_init(&w->loop, &w->deadline);
    w->prepare.data = w;
    w->check.data = w;
    w->deadline.data = w;
    uv_prepare_start(&w->prepare, uw_prepare_cb);
    uv_check_start(&w->check, uw_check_cb);
    /* Flushing alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&w->prepare);
    uv_unref((uv_handle_t *)&w->check);
    return true;
}

weir_world *weir_uv_world_new(const char *root_dir, uint64_t seed)
{
    if (root_dir == NULL || !uw_mkdirs(root_dir)) {
        return NULL;
    }
    weir_uv_world *w = calloc(1, sizeof *w);
    char *root = strdup(root_dir);
    if (w == NULL || root == NULL || !uw_init_loop(w)) {
        free(w);
        free(root);
        return NULL;
    }
    /* A peer that vanishes must give EPIPE, not kill the process. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        signal(SIGPIPE, SIG_IGN);
    }
    w->pub.ops = &uw_ops;
    w->pub.impl = w;
    w->root = root;
    w->seed = seed;
    w->conn_id_next = 1;
    return &w->pub;
}
