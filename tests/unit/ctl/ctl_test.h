/* What the cairnctl unit tests (test_ctl.c, test_ctl_groups.c) share:
 * parsing argument lists and capturing what a printer writes. */
#ifndef CAIRN_CTL_TEST_H
#define CAIRN_CTL_TEST_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ctl_args.h"

#define CTL_TEST_ARGS_MAX 16

static const ctl_env_t no_env = { NULL, NULL, NULL };

/* PARSE(env, out, args...): ctl_args_parse of "cairnctl args..." into out,
 * with the caller's char err[] for the message. */
#define ARGV(...) ((char *const[]){ "cairnctl", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *const[]){ "cairnctl", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(env, out, ...) \
    ctl_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (env), (out), err, sizeof err)

/* Case i: cairnctl with args (NULL-terminated) must fail to parse, with an
 * error that contains why. */
static inline void ctl_expect_parse_error(size_t i, const char *const *args, const char *why)
{
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

/* An in-memory stream for a printer's output. */
typedef struct capture {
    FILE *f;
    char *buf;
    size_t len;
} capture_t;

static inline void capture_open(capture_t *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
}

/* Closes the stream and returns what was written; the caller frees c->buf. */
static inline const char *capture_close(capture_t *c)
{
    ck_assert_int_eq(fclose(c->f), 0);
    return c->buf;
}

#endif
