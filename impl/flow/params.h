/* Parameter contexts (NiFi 1.15+ semantics, notes/FLOW.md §1.7).
 *
 * A registry (struct weir_params, one per flow) owns named contexts. A context
 * holds parameters (name, value, sensitive flag, description) and an ordered
 * list of contexts it inherits. Resolving a name in a context looks at the
 * context's own parameters first, then at each inherited context in list order,
 * depth first (the first inherited context and everything it inherits come
 * before the second): the nearest definition wins, and list order decides
 * between parents.
 *
 * Invariants: the inheritance graph never has a cycle (weir_param_ctx_inherit
 * refuses one and names it: "parameter contexts form a cycle: audio -> common
 * -> audio"); names are unique within a registry and within a context; a
 * parameter's sensitivity is fixed when it is created (NiFi).
 *
 * Sensitive values are never printed: weir_param_display returns "********"
 * for them; weir_param_value is the one accessor for use (passing it to an
 * expression, a connection string). Nothing in this module formats a value
 * into a why message.
 *
 * Versions: the registry keeps a counter bumped by every change (a value set,
 * a parameter added or removed, an inheritance list replaced). Each context
 * records the counter at its last own change; weir_param_ctx_version is the
 * largest such stamp over the context and everything it inherits, so a change
 * in "common" is visible as a new version of "audio". Users of compiled
 * values compare versions to know when to re-resolve or recompile.
 *
 * Pure and deterministic; allocation only when defining or changing. Lookups
 * do not allocate. Not thread-safe (the flow engine runs on one env loop).
 */
#ifndef WEIR_FLOW_PARAMS_H
#define WEIR_FLOW_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define WEIR_PARAM_NAME_BYTES_MAX 256 /* context and parameter names, without NUL */
#define WEIR_PARAM_VALUE_BYTES_MAX (1024u * 1024u)
#define WEIR_PARAM_INHERIT_COUNT_MAX 64 /* inherited contexts per context */
#define WEIR_PARAM_MASK "********"

struct weir_expr_buf; /* expr.h */

struct weir_params;
struct weir_param_ctx;
struct weir_param;

/* Returns a new empty registry (caller owns; weir_params_free), or NULL. */
struct weir_params *weir_params_new(void);
/* Frees the registry, its contexts and their parameters. NULL is fine. */
void weir_params_free(struct weir_params *params);

/* Whether name is a valid parameter name: 1..WEIR_PARAM_NAME_BYTES_MAX bytes
 * of letters, digits, space, '_', '-', '.' (NiFi's set). Context names may
 * hold any bytes but NUL and are 1..WEIR_PARAM_NAME_BYTES_MAX long. */
bool weir_param_name_valid(const char *name, size_t len);

/* Adds an empty context; *ctx_out (may be NULL) points to it, owned by the
 * registry. Returns 0, WEIR_E_EXIST (name taken), WEIR_E_INVAL (bad name) or
 * WEIR_E_NOMEM; why names the context. */
WEIR_MUST_CHECK int weir_params_add_ctx(struct weir_params *params, const char *name,
                                        struct weir_param_ctx **ctx_out, char *why,
                                        size_t why_size);

/* The context with that name, or NULL. */
struct weir_param_ctx *weir_params_find_ctx(const struct weir_params *params, const char *name);
size_t weir_params_ctx_count(const struct weir_params *params);
/* Contexts in the order they were added; index < weir_params_ctx_count. */
struct weir_param_ctx *weir_params_ctx_at(const struct weir_params *params, size_t index);

/* The registry's change counter (starts at 0, +1 per change). */
uint64_t weir_params_version(const struct weir_params *params);

const char *weir_param_ctx_name(const struct weir_param_ctx *ctx);

/* Defines a parameter in ctx, or changes an existing one's value and
 * description (description may be NULL: "" for a new one, unchanged for an
 * existing one). Copies every string. Returns 0; WEIR_E_INVAL for a bad name,
 * a value over WEIR_PARAM_VALUE_BYTES_MAX, or an existing parameter whose
 * sensitivity differs ("parameter 'x' in context 'c' is sensitive; sensitivity
 * cannot change"); WEIR_E_NOMEM. Bumps the version (also when the value is the
 * same). Pointers from earlier weir_param_value calls on this parameter become
 * invalid. */
WEIR_MUST_CHECK int weir_param_ctx_set(struct weir_param_ctx *ctx, const char *name,
                                       const char *value, bool sensitive, const char *description,
                                       char *why, size_t why_size);

/* Changes the value of a parameter defined in ctx itself (the run-time
 * "swap a parameter"): WEIR_E_NOENT if ctx has no own parameter of that name
 * (an inherited one is changed in the context that defines it). Otherwise as
 * weir_param_ctx_set with the sensitivity and description kept. */
WEIR_MUST_CHECK int weir_param_ctx_set_value(struct weir_param_ctx *ctx, const char *name,
                                             const char *value, char *why, size_t why_size);

/* Removes ctx's own parameter: 0 or WEIR_E_NOENT. Bumps the version. */
WEIR_MUST_CHECK int weir_param_ctx_remove(struct weir_param_ctx *ctx, const char *name);

/* Replaces ctx's inherited list with the contexts named in names[0..count),
 * highest priority first. Returns 0; WEIR_E_NOENT for an unknown name
 * ("context 'audio' inherits 'comon', which does not exist"); WEIR_E_INVAL for
 * a repeated name, count > WEIR_PARAM_INHERIT_COUNT_MAX, or a cycle, with why
 * = "parameter contexts form a cycle: audio -> common -> audio" (a context
 * inheriting itself: "... cycle: audio -> audio"); WEIR_E_NOMEM. On error the
 * old list stays. A flow loader adds every context first, then sets lists. */
WEIR_MUST_CHECK int weir_param_ctx_inherit(struct weir_param_ctx *ctx, const char *const *names,
                                           size_t count, char *why, size_t why_size);

/* ctx's own parameters (not inherited ones), in the order they were first
 * defined; index < weir_param_ctx_param_count. Valid until one is removed. */
size_t weir_param_ctx_param_count(const struct weir_param_ctx *ctx);
const struct weir_param *weir_param_ctx_param_at(const struct weir_param_ctx *ctx, size_t index);

size_t weir_param_ctx_inherited_count(const struct weir_param_ctx *ctx);
struct weir_param_ctx *weir_param_ctx_inherited_at(const struct weir_param_ctx *ctx, size_t index);

/* Checks the whole registry again (every inheritance resolved, no cycle):
 * 0 or WEIR_E_INVAL naming the cycle. Cheap; for loaders and tests. */
WEIR_MUST_CHECK int weir_params_check(const struct weir_params *params, char *why, size_t why_size);

/* Resolves name through ctx and its inheritance; NULL if undefined.
 * *owner_out (may be NULL) gets the context that defines it. The parameter
 * stays valid until it is removed or its registry freed. */
const struct weir_param *weir_param_ctx_find(const struct weir_param_ctx *ctx, const char *name,
                                             const struct weir_param_ctx **owner_out);

/* The largest change stamp of ctx and all it inherits (see the header). */
uint64_t weir_param_ctx_version(const struct weir_param_ctx *ctx);

/* An expression parameter lookup (expr.h weir_expr_lookup_fn) over a
 * context: ctx is a struct weir_param_ctx *. Returns the value for use,
 * sensitive or not, or NULL. */
const char *weir_param_ctx_lookup(void *ctx, const char *name);

const char *weir_param_name(const struct weir_param *param);
/* The real value, for use only: never log or print it. */
const char *weir_param_value(const struct weir_param *param);
/* The value for display: WEIR_PARAM_MASK if sensitive, else the value. */
const char *weir_param_display(const struct weir_param *param);
bool weir_param_sensitive(const struct weir_param *param);
const char *weir_param_description(const struct weir_param *param);

/* Replaces every #{name} in text with the parameter's value resolved through
 * ctx, applying NiFi's '#' escaping (##{x} -> #{x}), into out (growable or
 * fixed, expr.h; previous content discarded). This is NiFi's order (parameters
 * first, then EL): compile the result with weir_expr_compile. Returns 0;
 * WEIR_E_NOENT for an undefined parameter ("position 7: no parameter 'x' in
 * context 'audio'"); WEIR_E_INVAL for a bad name; WEIR_E_NOSPC; WEIR_E_NOMEM.
 * sensitive_out (may be NULL) is set true if any referenced parameter is
 * sensitive, so the caller knows not to print the result. */
WEIR_MUST_CHECK int weir_params_substitute(const struct weir_param_ctx *ctx, const char *text,
                                           struct weir_expr_buf *out, bool *sensitive_out,
                                           char *why, size_t why_size);

#endif
