/* Unit tests of log directory helpers (broker/log/logdir.h, pmeta.h): the
 * clean-shutdown marker, listing partition directories, topic ids in
 * Kafka's base64url form, and the recovery-point file. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logdir.h"
#include "pmeta.h"
#include "tlog.h"

START_TEST(test_clean_marker)
{
    char dir[256];
    tlog_new_dir(dir, sizeof dir);
    ck_assert_int_eq(logdir_clean_marker_take(dir), 0);
    ck_assert_int_eq(logdir_clean_marker_write(dir), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/.cairn-clean-shutdown", dir);
    ck_assert_int_eq(tlog_file_size(path), 0);
    ck_assert_int_eq(logdir_clean_marker_take(dir), 1);
    ck_assert_int_eq(tlog_file_size(path), -1);
    ck_assert_int_eq(logdir_clean_marker_take(dir), 0);
    ck_assert_int_eq(logdir_clean_marker_take("/nonexistent/dir"), 0);
}
END_TEST

START_TEST(test_parse_name)
{
    char topic[LOGDIR_TOPIC_MAX + 1];
    uint32_t p;
    ck_assert_int_eq(logdir_parse_name("orders-0", topic, &p), 0);
    ck_assert_str_eq(topic, "orders");
    ck_assert_uint_eq(p, 0);
    ck_assert_int_eq(logdir_parse_name("my-topic.v2-17", topic, &p), 0);
    ck_assert_str_eq(topic, "my-topic.v2");
    ck_assert_uint_eq(p, 17);
    ck_assert_int_eq(logdir_parse_name("__consumer_offsets-49", topic, &p), 0);
    ck_assert_str_eq(topic, "__consumer_offsets");
    ck_assert_int_eq(logdir_parse_name("orders", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("-3", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("orders-", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("orders-01", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("orders-x1", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("orders-0.1a2b-delete", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("ord ers-0", topic, &p), -1);
    ck_assert_int_eq(logdir_parse_name("orders-99999999999", topic, &p), -1);
}
END_TEST

typedef struct seen {
    int n;
    char names[8][300];
    bool has_id[8];
    uint8_t id[8][16];
} seen_t;

static int collect(void *arg, const logdir_entry_t *e)
{
    seen_t *s = arg;
    snprintf(s->names[s->n], sizeof s->names[0], "%s|%u", e->topic, e->partition);
    s->has_id[s->n] = e->has_topic_id;
    memcpy(s->id[s->n], e->topic_id, 16);
    s->n++;
    return 0;
}

START_TEST(test_scan)
{
    tlog_env_t env;
    tlog_env_init(&env);
    plog_config_t cfg;
    tlog_small_config(&cfg);
    plog_close(tlog_open(&env, &cfg, true));          /* orders.eu-west-3 */
    char path[512];
    snprintf(path, sizeof path, "%s/no-id-5", env.dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/gone-1.abc123-delete", env.dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/file-2", env.dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    ck_assert_int_eq(logdir_clean_marker_write(env.dir), 0);
    seen_t s = {0};
    ck_assert_int_eq(logdir_scan(env.dir, collect, &s), 2);
    int a = strcmp(s.names[0], "no-id|5") == 0 ? 1 : 0;
    ck_assert_str_eq(s.names[a], TLOG_TOPIC "|3");
    ck_assert(s.has_id[a]);
    ck_assert_int_eq(memcmp(s.id[a], tlog_topic_id, 16), 0);
    ck_assert_str_eq(s.names[1 - a], "no-id|5");
    ck_assert(!s.has_id[1 - a]);
    ck_assert_int_eq(logdir_scan("/nonexistent/dir", collect, &s), -1);
    tlog_env_free(&env);
}
END_TEST

START_TEST(test_topic_id_format)
{
    uint8_t zero[16] = {0}, id[16], back[16];
    char text[PMETA_TOPIC_ID_CHARS + 1];
    pmeta_topic_id_format(zero, text);
    ck_assert_str_eq(text, "AAAAAAAAAAAAAAAAAAAAAA");        /* Kafka's Uuid.ZERO_UUID */
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xf7 * i + 3);
    pmeta_topic_id_format(id, text);
    ck_assert_int_eq(pmeta_topic_id_parse(text, strlen(text), back), 0);
    ck_assert_int_eq(memcmp(id, back, 16), 0);
    ck_assert_int_eq(pmeta_topic_id_parse("AAAAAAAAAAAAAAAAAAAAAB", 22, back), -1);
    ck_assert_int_eq(pmeta_topic_id_parse("AAAAAAAAAAAAAAAAAAAAA", 21, back), -1);
    ck_assert_int_eq(pmeta_topic_id_parse("AAAAAAAAAAAAAAAAAAAAA=", 22, back), -1);
}
END_TEST

START_TEST(test_recovery_point_file)
{
    char dir[256];
    tlog_new_dir(dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int64_t rp = -5;
    ck_assert_int_eq(pmeta_read_recovery_point(fd, &rp), 1);
    char text[64];
    size_t len = pmeta_recovery_point_text(text, sizeof text, 12345);
    ck_assert_str_eq(text, "version: 0\nrecovery_point: 12345\n");
    ck_assert_int_eq(pmeta_write_atomic(fd, "recovery-point", text, len), 0);
    ck_assert_int_eq(pmeta_read_recovery_point(fd, &rp), 0);
    ck_assert_int_eq(rp, 12345);
    ck_assert_int_eq(pmeta_write_atomic(fd, "recovery-point", "version: 1\n", 11), 0);
    ck_assert_int_eq(pmeta_read_recovery_point(fd, &rp), -1);
    ck_assert_int_eq(pmeta_write_atomic(fd, "recovery-point", "version: 0\nrecovery_point: 1x\n",
                                        30), 0);
    ck_assert_int_eq(pmeta_read_recovery_point(fd, &rp), -1);
    close(fd);
}
END_TEST

static Suite *logdir_suite(void)
{
    Suite *s = suite_create("log-logdir");
    TCase *tc = tcase_create("logdir");
    tcase_add_unchecked_fixture(tc, tlog_scratch_setup, tlog_scratch_teardown);
    tcase_add_test(tc, test_clean_marker);
    tcase_add_test(tc, test_parse_name);
    tcase_add_test(tc, test_scan);
    tcase_add_test(tc, test_topic_id_format);
    tcase_add_test(tc, test_recovery_point_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tlog_run_suite(logdir_suite(), CAIRN_LOG_WARN);
}
