/* Assertion failure reporting: the one place core code writes to stderr
 * itself, because the process is about to abort. */
#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>

static void (*assert_context_print)(void *arg);
static void *assert_context_arg;

void weir_assert_set_context(void (*print)(void *arg), void *arg)
{
    assert_context_print = print;
    assert_context_arg = arg;
}

void weir_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "weir: assertion failed: %s (%s:%d)\n", expr, file, line);
    if (assert_context_print != NULL) {
        assert_context_print(assert_context_arg);
    }
    fflush(stderr);
    abort();
}
