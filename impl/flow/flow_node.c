/* The flow engine as a weir node (flow_node.h). */
#include "flow/flow_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_parse.h"

#define NODE_FLOW_BYTES_MAX (16u * 1024u * 1024u)

struct weir_flow_node {
    weir_env *env;
    const weir_flow_node_config *cfg;
    weir_flow_engine *engine;
    weir_flow_def def; /* parsed here from a file or text */
    char error[512];
};

weir_flow_engine *weir_flow_node_engine(const weir_flow_node *node)
{
    return node != NULL ? node->engine : NULL;
}

const char *weir_flow_node_error(const weir_flow_node *node)
{
    return node->error;
}

/* Reads a whole node-relative file into a malloc'd buffer. */
static int node_read_file(weir_env *env, const char *path, char **out, size_t *len_out)
{
    weir_file *f;
    int rc = weir_file_open(env, path, WEIR_F_RDONLY, &f);
    if (rc != 0) {
        return rc;
    }
    uint64_t size = 0;
    rc = weir_file_size(env, f, &size);
    char *buf = NULL;
    if (rc == 0 && size > NODE_FLOW_BYTES_MAX) {
        rc = WEIR_E_INVAL;
    }
    if (rc == 0) {
        buf = malloc(size + 1);
        rc = buf == NULL ? WEIR_E_NOMEM : 0;
    }
    size_t got = 0;
    if (rc == 0) {
        rc = weir_file_pread(env, f, buf, size, 0, &got);
    }
    weir_file_close(env, f);
    if (rc != 0 || got != size) {
        free(buf);
        return rc != 0 ? rc : WEIR_E_IO;
    }
    buf[size] = '\0';
    *out = buf;
    *len_out = size;
    return 0;
}

static int node_build(weir_flow_node *n, char *why, size_t why_size)
{
    const weir_flow_node_config *c = n->cfg;
    if (c->flow_path != NULL || c->flow_text != NULL) {
        char *text = NULL;
        size_t len = c->flow_text_len;
        const char *src = c->flow_text;
        if (c->flow_path != NULL) {
            int rc = node_read_file(n->env, c->flow_path, &text, &len);
            if (rc != 0) {
                snprintf(why, why_size, "cannot read %s: %s", c->flow_path, weir_err_str(rc));
                return rc;
            }
            src = text;
        }
        int rc = weir_flow_parse(src, len, c->flow_path != NULL ? c->flow_path : "flow", &n->def,
                                 why, why_size);
        free(text);
        if (rc != 0) {
            return rc;
        }
        return weir_flow_engine_load_def(n->engine, &n->def, why, why_size);
    }
    if (c->def != NULL) {
        return weir_flow_engine_load_def(n->engine, c->def, why, why_size);
    }
    if (c->build != NULL) {
        return c->build(n->engine, c->build_arg, why, why_size);
    }
    snprintf(why, why_size, "no flow given");
    return WEIR_E_INVAL;
}

static void *node_start(weir_env *env, void *arg)
{
    weir_flow_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        weir_log_error(env, "flow node: out of memory");
        return NULL;
    }
    n->env = env;
    n->cfg = arg;
    n->engine = weir_flow_engine_new(env, &n->cfg->engine, n->error, sizeof n->error);
    int rc = n->engine == NULL ? WEIR_E_INVAL : node_build(n, n->error, sizeof n->error);
    if (rc == 0) {
        rc = weir_flow_engine_start(n->engine, n->error, sizeof n->error);
    }
    if (rc != 0) {
        weir_log_error(env, "flow node: %s", n->error);
        weir_flow_engine_free(n->engine); /* cancels what start armed */
        n->engine = NULL;
        return n;
    }
    n->error[0] = '\0';
    if (n->cfg->on_start != NULL) {
        n->cfg->on_start(n, n->cfg->on_start_arg);
    }
    return n;
}

static void node_destroy(void *state)
{
    weir_flow_node *n = state;
    if (n == NULL) {
        return;
    }
    weir_flow_engine_abandon(n->engine);
    weir_flow_def_free(&n->def);
    free(n);
}

int weir_flow_node_shutdown(weir_flow_node *node)
{
    if (node->engine == NULL) {
        return 0;
    }
    return weir_flow_engine_shutdown(node->engine);
}

const weir_node_type weir_flow_node_type = {
    .name = "flow",
    .start = node_start,
    .destroy = node_destroy,
};
