/* Always-on invariant checks.
 *
 * WEIR_ASSERT(cond): an invariant of weir's own state (HW <= LEO, queue
 * counts, bounds). A failure prints the place and the registered context
 * (the simulator registers its seed and trace hash so far), then aborts.
 * WEIR_DEBUG_ASSERT: expensive cross-checks, compiled only without NDEBUG.
 * WEIR_ALWAYS / WEIR_NEVER: for "cannot happen" conditions on input that
 * comes from outside (a peer's frame, bytes on disk): the caller still
 * handles the failure (returns WEIR_E_CORRUPT); debug builds trap first.
 */
#ifndef WEIR_CORE_ASSERT_H
#define WEIR_CORE_ASSERT_H

#include <stdbool.h>

void weir_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* Registers a function that prints extra context (seed, trace hash) when an
 * assertion fails. Pass NULL to remove it. Not thread-safe: set at start-up. */
void weir_assert_set_context(void (*print)(void *arg), void *arg);

#define WEIR_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0)) {                                                        \
            weir_assert_fail(#cond, __FILE__, __LINE__);                                           \
        }                                                                                          \
    } while (0)

#ifdef NDEBUG
#define WEIR_DEBUG_ASSERT(cond) ((void)0)
#define WEIR_ALWAYS(cond) (!!(cond))
#define WEIR_NEVER(cond) (!!(cond))
#else
#define WEIR_DEBUG_ASSERT(cond) WEIR_ASSERT(cond)
#define WEIR_ALWAYS(cond) ((cond) ? true : (weir_assert_fail(#cond, __FILE__, __LINE__), false))
#define WEIR_NEVER(cond) ((cond) ? (weir_assert_fail(#cond, __FILE__, __LINE__), true) : false)
#endif

#endif
