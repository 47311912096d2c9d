#include "cli/cli_node.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static volatile sig_atomic_t node_stop;

static void on_signal(int sig)
{
    (void)sig;
    node_stop = 1;
}

static void warn_unknown(const char *source, int line, const char *key, void *arg)
{
    const char *cmd = arg;
    if (line > 0) {
        fprintf(stderr, "weir %s: warning: %s:%d: unknown setting '%s' (ignored)\n", cmd, source,
                line, key);
    } else {
        fprintf(stderr, "weir %s: warning: %s: unknown setting '%s' (ignored)\n", cmd, source, key);
    }
}

int weir_cli_load_properties(const char *cmd, const char *path, weir_properties_set_fn set,
                             void *cfg)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "weir %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return WEIR_EXIT_USAGE;
    }
    size_t cap = 4096, len = 0, n;
    char *text = malloc(cap);
    while (text != NULL && (n = fread(text + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            char *grown = realloc(text, cap *= 2);
            if (grown == NULL) {
                free(text);
            }
            text = grown;
        }
    }
    fclose(fp);
    if (text == NULL) {
        fprintf(stderr, "weir %s: out of memory reading %s\n", cmd, path);
        return WEIR_EXIT_FAIL;
    }
    char why[512];
    int err = weir_properties_parse(text, len, path, set, cfg, warn_unknown, (void *)cmd, why,
                                    sizeof why);
    free(text);
    if (err != 0) {
        fprintf(stderr, "weir %s: %s\n", cmd, why);
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

int weir_cli_apply_override(const char *cmd, const char *usage, const char *kv,
                            weir_properties_set_fn set, void *cfg)
{
    const char *eq = strchr(kv, '=');
    char key[256];
    if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof key) {
        return weir_cli_usage_error(cmd, usage, "--override: expected KEY=VALUE, got '%s'", kv);
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    char why[512];
    int err = set(cfg, key, eq + 1, why, sizeof why);
    if (err == WEIR_E_NOENT) {
        warn_unknown("--override", 0, key, (void *)cmd);
        return WEIR_EXIT_OK;
    }
    if (err != 0) {
        fprintf(stderr, "weir %s: --override %s\n", cmd, why);
        return WEIR_EXIT_USAGE;
    }
    return WEIR_EXIT_OK;
}

int weir_cli_run_until_signal(const char *cmd, weir_world *w, const char *node,
                              bool (*serving)(void *state), void (*shutdown)(void *state))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = WEIR_EXIT_OK;
    while (!node_stop) {
        int err = weir_world_run(w, 100000000); /* check for signals every 100 ms */
        if (err != 0 || !serving(weir_world_node_state(w, node))) {
            fprintf(stderr, "weir %s: not serving (see the log above)\n", cmd);
            rc = WEIR_EXIT_FAIL;
            break;
        }
    }
    shutdown(weir_world_node_state(w, node));
    weir_world_run(w, 0); /* let the closes go out */
    weir_world_destroy(w);
    return rc;
}

int weir_cli_make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
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
