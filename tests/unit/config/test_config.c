/* Unit tests of the configuration table: parsing, validation errors that
 * name the key, required keys, defaults and the address parsers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static int load_text(const char *text, unsigned role, cairn_config_t *cfg, char *err, size_t len)
{
    strcpy(path, "/tmp/cairn-config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    cairn_config_defaults(cfg);
    int rc = cairn_config_load(path, role, cfg, err, len);
    unlink(path);
    return rc;
}

#define CONTROLLER_BASE \
    "# a comment\n" \
    "node.id = 2\n" \
    "listeners=CONTROLLER://127.0.0.1:9193\n" \
    "controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@localhost:9194\n" \
    "metadata.log.dir=/tmp/x\n"

START_TEST(test_valid_file_and_defaults)
{
    cairn_config_t cfg;
    char err[256] = "";
    ck_assert_int_eq(load_text(CONTROLLER_BASE "broker.session.timeout.ms=3000\n",
                               CAIRN_ROLE_CONTROLLER, &cfg, err, sizeof err), 0);
    ck_assert_int_eq(cfg.node_id, 2);
    ck_assert_int_eq(cfg.broker_session_timeout_ms, 3000);
    ck_assert_int_eq(cfg.broker_heartbeat_interval_ms, 250);
    ck_assert_int_eq(cfg.num_partitions, 1);
    ck_assert_str_eq(cfg.metadata_log_dir, "/tmp/x");
    cairn_config_free(&cfg);
}
END_TEST

START_TEST(test_unknown_key_named)
{
    cairn_config_t cfg;
    char err[256] = "";
    ck_assert_int_eq(load_text(CONTROLLER_BASE "log.retention.hourz=3\n",
                               CAIRN_ROLE_CONTROLLER, &cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'log.retention.hourz'"));
    ck_assert_ptr_nonnull(strstr(err, "line 6"));
    ck_assert_ptr_null(strchr(err, '\n'));
    cairn_config_free(&cfg);
}
END_TEST

START_TEST(test_bad_values_named)
{
    static const char *const bad[][2] = {
        { "broker.session.timeout.ms=fast\n", "broker.session.timeout.ms" },
        { "broker.session.timeout.ms=5\n", "broker.session.timeout.ms" },
        { "num.partitions=99999999999999999999\n", "num.partitions" },
        { "log.level=loud\n", "log.level" },
        { "process.roles=broker\n", "process.roles" },
        { "listeners=127.0.0.1:9092\n", "listeners" },
        { "controller.quorum.voters=1@a:1,1@b:2\n", "controller.quorum.voters" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cairn_config_t cfg;
        char err[256] = "";
        char text[1024];
        snprintf(text, sizeof text, "%s%s", CONTROLLER_BASE, bad[i][0]);
        ck_assert_int_eq(load_text(text, CAIRN_ROLE_CONTROLLER, &cfg, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "'%s' does not name %s", err, bad[i][1]);
        cairn_config_free(&cfg);
    }
}
END_TEST

START_TEST(test_missing_required)
{
    cairn_config_t cfg;
    char err[256] = "";
    ck_assert_int_eq(load_text("node.id=1\nlisteners=PLAINTEXT://h:1\n"
                               "controller.quorum.voters=1@h:2\n",
                               CAIRN_ROLE_BROKER, &cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'log.dirs'"));
    cairn_config_free(&cfg);
    /* Required keys depend on the role: a controller needs metadata.log.dir. */
    ck_assert_int_eq(load_text("node.id=1\nlisteners=CONTROLLER://h:1\n"
                               "controller.quorum.voters=1@h:2\nlog.dirs=/d\n",
                               CAIRN_ROLE_CONTROLLER, &cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'metadata.log.dir'"));
    cairn_config_free(&cfg);
}
END_TEST

START_TEST(test_parsers)
{
    cairn_voter_t v[CAIRN_MAX_VOTERS];
    size_t n = 0;
    ck_assert_int_eq(cairn_parse_voters("1@127.0.0.1:9192, 3@host:1", v, CAIRN_MAX_VOTERS, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(v[1].id, 3);
    ck_assert_str_eq(v[1].host, "host");
    ck_assert_uint_eq(v[1].port, 1);
    ck_assert_int_eq(cairn_parse_voters("", v, CAIRN_MAX_VOTERS, &n), -1);
    ck_assert_int_eq(cairn_parse_voters("0@h:1", v, CAIRN_MAX_VOTERS, &n), -1);
    ck_assert_int_eq(cairn_parse_voters("1@h:70000", v, CAIRN_MAX_VOTERS, &n), -1);
    ck_assert_int_eq(cairn_parse_voters("1@h:1,2@h:2", v, 1, &n), -1);
    char name[16], host[64];
    uint16_t port;
    ck_assert_int_eq(cairn_parse_listener("PLAINTEXT://10.0.0.1:9092,SSL://x:1", name, sizeof name,
                                          host, sizeof host, &port), 0);
    ck_assert_str_eq(name, "PLAINTEXT");
    ck_assert_str_eq(host, "10.0.0.1");
    ck_assert_uint_eq(port, 9092);
    ck_assert_int_eq(cairn_parse_listener("://h:1", NULL, 0, host, sizeof host, &port), -1);
    ck_assert_int_eq(cairn_parse_hostport("h:", host, sizeof host, &port), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_valid_file_and_defaults);
    tcase_add_test(tc, test_unknown_key_named);
    tcase_add_test(tc, test_bad_values_named);
    tcase_add_test(tc, test_missing_required);
    tcase_add_test(tc, test_parsers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
