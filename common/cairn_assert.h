/* Always-on invariant checks. Never compiled out: they are the Raft and
 * replication rules written down. Bad input is an error, never an assert. */
#ifndef CAIRN_ASSERT_H
#define CAIRN_ASSERT_H

_Noreturn void cairn_assert_fail(const char *expr, const char *file, int line,
                                 const char *func);

#define CAIRN_ASSERT(expr) \
    ((expr) ? (void)0 : cairn_assert_fail(#expr, __FILE__, __LINE__, __func__))

#endif
