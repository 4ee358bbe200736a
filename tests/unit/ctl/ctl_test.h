/* What the cairnctl argument tests share. */
#ifndef CAIRN_CTL_TEST_H
#define CAIRN_CTL_TEST_H

#include <check.h>
#include <string.h>

#include "ctl_args.h"

#define CTL_TEST_ARGS_MAX 16

/* Case i: cairnctl with args (NULL-terminated) must fail to parse, with an
 * error that contains why. */
static inline void ctl_expect_parse_error(size_t i, const char *const *args, const char *why)
{
    static const ctl_env_t no_env = { NULL, NULL, NULL };
    char *argv[CTL_TEST_ARGS_MAX + 1] = { "cairnctl" };
    int argc = 1;
    for (size_t k = 0; args[k]; k++) {
        ck_assert_int_lt(argc, CTL_TEST_ARGS_MAX);
        argv[argc++] = (char *)args[k];
    }
    static ctl_args_t a;
    char err[256] = "";
    ck_assert_msg(ctl_args_parse(argc, argv, &no_env, &a, err, sizeof err) == -1,
                  "case %zu accepted", i);
    ck_assert_msg(strstr(err, why) != NULL, "case %zu: '%s' lacks '%s'", i, err, why);
}

#endif
