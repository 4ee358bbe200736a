/* Assertion failure: log one line naming the broken invariant, then abort so
 * a core dump (or the test harness) catches the state. */
#include "cairn_assert.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

_Noreturn void cairn_assert_fail(const char *expr, const char *file, int line,
                                 const char *func)
{
    cairn_log(CAIRN_LOG_ERROR, "assert", "invariant violated: %s at %s:%d (%s)",
              expr, file, line, func);
    fflush(stderr);
    abort();
}
