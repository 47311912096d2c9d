/* Test helper: how a forked test child ends. _exit skips atexit handlers,
 * and with them gcov's: in a coverage build (WEIR_COVERAGE) the child writes
 * its counters first, so what runs in forked simulator children counts. */
#ifndef WEIR_TEST_CHILD_EXIT_H
#define WEIR_TEST_CHILD_EXIT_H

#include <unistd.h>

#ifdef WEIR_COVERAGE
void __gcov_dump(void);
#endif

static inline void test_child_exit(int code)
{
#ifdef WEIR_COVERAGE
    __gcov_dump();
#endif
    _exit(code);
}

#endif
