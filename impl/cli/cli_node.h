/* Shared by `weir broker` and `weir controller`: properties files and
 * overrides, and running one node on the real backend until SIGTERM/SIGINT. */
#ifndef WEIR_CLI_NODE_H
#define WEIR_CLI_NODE_H

#include <stdbool.h>

#include "core/properties.h"
#include "env/world.h"

/* Loads a properties file into cfg through set; returns an exit code. */
int weir_cli_load_properties(const char *cmd, const char *path, weir_properties_set_fn set,
                             void *cfg);

/* Applies one KEY=VALUE override; returns an exit code. */
int weir_cli_apply_override(const char *cmd, const char *usage, const char *kv,
                            weir_properties_set_fn set, void *cfg);

/* Runs the world until a signal (or until serving(state) turns false), then
 * calls shutdown(state) and destroys the world. Returns an exit code. */
int weir_cli_run_until_signal(const char *cmd, weir_world *w, const char *node,
                              bool (*serving)(void *state), void (*shutdown)(void *state));

/* mkdir -p; 0 or -1 with errno. */
int weir_cli_make_dirs(const char *path);

#endif
