/* Conformance cases shared by both backends (see conf_cases.c). */
#ifndef WEIR_CONF_CASES_H
#define WEIR_CONF_CASES_H

#include <stdbool.h>
#include <stddef.h>

#include "env/world.h"

#define CONF_FIRED_MAX 16

/* What the nodes of one case observed. Lives outside the nodes, so it
 * survives their crashes. */
typedef struct conf_ctx {
    weir_world *world;
    weir_env *client_env;
    int errors;
    int step_failed;
    int server_starts;
    int server_opens;
    int server_frames;
    int client_opens;
    int client_frames;
    int client_closes;
    int last_close_reason;
    int fired[CONF_FIRED_MAX];
    int fired_count;
    unsigned char durable[64];
    size_t durable_len;
    int destroys;     /* node type destroy calls */
    int files_closed; /* file handles closed from destroy */
    int late_rcs[4];  /* results of writes tried from destroy after a crash */
    int late_count;
} conf_ctx;

typedef struct conf_case {
    const char *name;
    void (*setup)(weir_world *w, conf_ctx *c);
    /* 0 when the observations are right; else 1 with a reason in why. Runs
     * after the world is destroyed, so it sees what the nodes' destroy did. */
    int (*check)(conf_ctx *c, bool sim, char *why, size_t why_size);
    int64_t duration_ns; /* upper bound; cases stop the world when done */
} conf_case;

extern const conf_case conf_cases[];
extern const size_t conf_case_count;

/* A timer callback that stops the world (arg: the conf_ctx). */
void conf_stop_cb(weir_env *env, void *arg);

/* Teardown cases (conf_teardown.c). */
void conf_keep_crash_setup(weir_world *w, conf_ctx *c);
int conf_keep_crash_check(conf_ctx *c, bool sim, char *why, size_t why_size);
void conf_keep_end_setup(weir_world *w, conf_ctx *c);
int conf_keep_end_check(conf_ctx *c, bool sim, char *why, size_t why_size);
void conf_late_write_setup(weir_world *w, conf_ctx *c);
int conf_late_write_check(conf_ctx *c, bool sim, char *why, size_t why_size);

#endif
