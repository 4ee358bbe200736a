/* Unit tests of the controller's planning functions, each plan applied to
 * an image the way the controller's Raft log would apply it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "md_test_util.h"

Suite *plan_suite(void);

static md_image_t *cluster(uint32_t n_brokers)
{
    md_image_t *img = md_image_new();
    ck_assert_ptr_nonnull(img);
    setup_brokers(img, n_brokers);
    return img;
}

static int plan_topic_cfg(md_image_t *img, const char *name, int32_t partitions, int32_t rf,
                          const md_config_entry_t *cfg, size_t n_cfg, char *why, size_t why_len)
{
    uint8_t id[MD_UUID_LEN];
    /* A distinct id per call: derived from the index the batch will land at. */
    uint64_t seq = md_image_last_index(img) + 1;
    memset(id, 0, sizeof id);
    memcpy(id, &seq, sizeof seq);
    id[15] = 0x5a;
    md_create_topic_t req = { name, partitions, rf, cfg, n_cfg, id };
    md_batch_t batch = { 0 };
    int rc = md_plan_create_topic(img, &req, &batch, why, why_len);
    if (rc == CAIRN_ERR_OK)
        ck_assert_int_eq(apply_batch(img, &batch), 0);
    return rc;
}

static int plan_topic(md_image_t *img, const char *name, int32_t partitions, int32_t rf)
{
    char why[256];
    return plan_topic_cfg(img, name, partitions, rf, NULL, 0, why, sizeof why);
}

static void fence(md_image_t *img, uint32_t id)
{
    char why[256];
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_fence_broker(img, id, false, &batch, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    ck_assert(md_image_broker(img, id)->fenced);
}

static void unfence(md_image_t *img, uint32_t id)
{
    char why[256];
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_unfence_broker(img, id, false, &batch, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    ck_assert(md_broker_active(md_image_broker(img, id)));
}

static bool in_isr(const md_partition_t *p, int32_t id)
{
    for (size_t i = 0; i < p->n_isr; i++)
        if (p->isr[i] == id)
            return true;
    return false;
}

START_TEST(test_create_topic)
{
    md_image_t *img = cluster(3);
    ck_assert_int_eq(plan_topic(img, "events", 4, 3), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "events");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->n_partitions, 4);
    for (size_t p = 0; p < 4; p++) {
        const md_partition_t *pp = &t->partitions[p];
        ck_assert_uint_eq(pp->n_replicas, 3);
        ck_assert_uint_eq(pp->n_isr, 3);
        ck_assert_mem_eq(pp->isr, pp->replicas, 3 * sizeof(int32_t));
        ck_assert_int_eq(pp->leader, pp->replicas[0]);
        ck_assert_uint_eq(pp->leader_epoch, 0);
        ck_assert_uint_eq(pp->partition_epoch, 0);
    }
    ck_assert_int_eq(plan_topic(img, "events", 1, 1), CAIRN_ERR_TOPIC_EXISTS);
    md_image_free(img);
}
END_TEST

START_TEST(test_assignment_balanced)
{
    md_image_t *img = cluster(3);
    int lead_total[4] = { 0 }, repl_total[4] = { 0 };
    const char *names[] = { "a", "b", "c", "d" };
    for (size_t k = 0; k < 4; k++) {
        int32_t rf = k % 2 ? 2 : 3;
        ck_assert_int_eq(plan_topic(img, names[k], 6, rf), CAIRN_ERR_OK);
        const md_topic_t *t = md_image_topic(img, names[k]);
        int lead[4] = { 0 }, repl[4] = { 0 };
        for (size_t p = 0; p < t->n_partitions; p++) {
            lead[t->partitions[p].leader]++;
            for (size_t j = 0; j < t->partitions[p].n_replicas; j++)
                repl[t->partitions[p].replicas[j]]++;
        }
        for (int b = 1; b <= 3; b++) {
            ck_assert_int_eq(lead[b], 2);
            ck_assert_int_eq(repl[b], 2 * rf);
            lead_total[b] += lead[b];
            repl_total[b] += repl[b];
        }
    }
    ck_assert_int_eq(lead_total[1], lead_total[3]);
    ck_assert_int_eq(repl_total[1], repl_total[2]);

    /* Single-partition topics: the start rotates so leaders do too. */
    int lead1[4] = { 0 };
    const char *singles[] = { "s1", "s2", "s3", "s4", "s5", "s6" };
    for (size_t k = 0; k < 6; k++) {
        ck_assert_int_eq(plan_topic(img, singles[k], 1, 2), CAIRN_ERR_OK);
        lead1[md_image_topic(img, singles[k])->partitions[0].leader]++;
    }
    ck_assert_int_eq(lead1[1], 2);
    ck_assert_int_eq(lead1[2], 2);
    ck_assert_int_eq(lead1[3], 2);
    md_image_free(img);
}
END_TEST

START_TEST(test_assignment_uses_active_brokers_only)
{
    md_image_t *img = cluster(4);
    fence(img, 2);
    ck_assert_int_eq(plan_topic(img, "t", 6, 3), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "t");
    for (size_t p = 0; p < t->n_partitions; p++)
        for (size_t j = 0; j < t->partitions[p].n_replicas; j++)
            ck_assert_int_ne(t->partitions[p].replicas[j], 2);
    char why[256];
    ck_assert_int_eq(plan_topic_cfg(img, "u", 1, 4, NULL, 0, why, sizeof why),
                     CAIRN_ERR_INVALID_REPLICATION);
    ck_assert_ptr_nonnull(strstr(why, "3 active"));
    md_image_free(img);
}
END_TEST

START_TEST(test_create_topic_refusals)
{
    md_image_t *img = md_image_new();
    ck_assert_int_eq(plan_topic(img, "t", 1, 1), CAIRN_ERR_NOT_ENOUGH_BROKERS);
    setup_brokers(img, 3);
    ck_assert_int_eq(plan_topic(img, "t", 3, 4), CAIRN_ERR_INVALID_REPLICATION);
    ck_assert_int_eq(plan_topic(img, "t", 3, 0), CAIRN_ERR_INVALID_REPLICATION);
    ck_assert_int_eq(plan_topic(img, "t", 0, 1), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(plan_topic(img, "t", 10001, 1), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(plan_topic(img, "t", -3, 1), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_uint_eq(md_image_topic_count(img), 0);
    ck_assert_int_eq(plan_topic(img, "t", 10000, 1), CAIRN_ERR_OK);
    ck_assert_uint_eq(md_image_topic(img, "t")->n_partitions, 10000);
    md_image_free(img);
}
END_TEST

START_TEST(test_topic_name_rules)
{
    md_image_t *img = cluster(1);
    char long_name[251];
    memset(long_name, 'x', 250);
    long_name[250] = '\0';
    const char *bad[] = { "", ".", "..", "a b", "a/b", "caf\xc3\xa9", "x:y", long_name };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(plan_topic(img, bad[i], 1, 1), CAIRN_ERR_INVALID_TOPIC);
    ck_assert_int_eq(plan_topic(img, NULL, 1, 1), CAIRN_ERR_INVALID_TOPIC);
    long_name[249] = '\0';
    ck_assert_int_eq(plan_topic(img, long_name, 1, 1), CAIRN_ERR_OK);
    ck_assert_int_eq(plan_topic(img, "Ok-name_1.x", 1, 1), CAIRN_ERR_OK);
    ck_assert_int_eq(plan_topic(img, "...", 1, 1), CAIRN_ERR_OK);
    /* '.' and '_' collide in Kafka's metric names. */
    char why[256];
    ck_assert_int_eq(plan_topic_cfg(img, "Ok-name.1_x", 1, 1, NULL, 0, why, sizeof why),
                     CAIRN_ERR_INVALID_TOPIC);
    ck_assert_ptr_nonnull(strstr(why, "Ok-name_1.x"));
    md_image_free(img);
}
END_TEST

START_TEST(test_topic_configs)
{
    md_image_t *img = cluster(1);
    char why[256];
    md_config_entry_t good[] = {
        { "retention.ms", "-1" }, { "retention.bytes", "1073741824" },
        { "segment.bytes", "1048576" }, { "segment.ms", "604800000" },
        { "cleanup.policy", "compact" }, { "min.insync.replicas", "2" },
        { "max.message.bytes", "1048588" }, { "unclean.leader.election.enable", "false" },
    };
    ck_assert_int_eq(plan_topic_cfg(img, "c", 1, 1, good, 8, why, sizeof why), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "c");
    ck_assert_uint_eq(t->n_configs, 8);
    ck_assert_str_eq(t->configs[4].name, "cleanup.policy");
    ck_assert_str_eq(t->configs[4].value, "compact");

    md_config_entry_t unknown = { "retention.hours", "1" };
    ck_assert_int_eq(plan_topic_cfg(img, "d", 1, 1, &unknown, 1, why, sizeof why),
                     CAIRN_ERR_INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(why, "retention.hours"));
    md_config_entry_t bad[] = {
        { "retention.ms", "abc" }, { "retention.ms", "-2" }, { "segment.bytes", "3000000000" },
        { "cleanup.policy", "forever" }, { "min.insync.replicas", "0" },
        { "unclean.leader.election.enable", "yes" }, { "segment.ms", "" },
        { "max.message.bytes", "12x" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(plan_topic_cfg(img, "d", 1, 1, &bad[i], 1, why, sizeof why),
                         CAIRN_ERR_INVALID_CONFIG);
        ck_assert_ptr_nonnull(strstr(why, bad[i].name));
    }
    md_config_entry_t twice[] = { { "retention.ms", "1" }, { "retention.ms", "2" } };
    ck_assert_int_eq(plan_topic_cfg(img, "d", 1, 1, twice, 2, why, sizeof why),
                     CAIRN_ERR_INVALID_CONFIG);
    ck_assert_ptr_null(md_image_topic(img, "d"));
    md_image_free(img);
}
END_TEST

START_TEST(test_fence_moves_leadership)
{
    md_image_t *img = cluster(3);
    ck_assert_int_eq(plan_topic(img, "t", 3, 3), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "t");
    int32_t victim = t->partitions[0].leader;
    int32_t want[3];
    for (size_t p = 0; p < 3; p++) {
        const md_partition_t *pp = &t->partitions[p];
        want[p] = pp->leader;
        if (pp->leader == victim)   /* next replica in assignment order */
            want[p] = pp->replicas[1];
    }
    fence(img, (uint32_t)victim);
    t = md_image_topic(img, "t");
    for (size_t p = 0; p < 3; p++) {
        const md_partition_t *pp = &t->partitions[p];
        ck_assert_int_eq(pp->leader, want[p]);
        ck_assert(!in_isr(pp, victim));
        ck_assert_uint_eq(pp->n_isr, 2);
        ck_assert_uint_eq(pp->n_replicas, 3);
        ck_assert_uint_eq(pp->partition_epoch, 1);
        ck_assert_uint_eq(pp->leader_epoch, p == 0 ? 1 : 0);
    }
    char why[256];
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_fence_broker(img, (uint32_t)victim, false, &batch, why, sizeof why),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_ptr_nonnull(strstr(why, "already fenced"));
    ck_assert_int_eq(md_plan_fence_broker(img, 42, false, &batch, why, sizeof why),
                     CAIRN_ERR_BROKER_NOT_REGISTERED);
    ck_assert_ptr_null(batch.data);
    md_image_free(img);
}
END_TEST

/* The new leader must be active: a replica in controlled shutdown is passed
 * over for the next one in assignment order. */
START_TEST(test_fence_skips_inactive_candidates)
{
    md_image_t *img = cluster(3);
    ck_assert_int_eq(plan_topic(img, "t", 3, 3), CAIRN_ERR_OK);
    const md_partition_t *p = &md_image_topic(img, "t")->partitions[0];
    int32_t leader = p->leader, second = p->replicas[1], third = p->replicas[2];
    tbatch_t b;
    tb_init(&b);
    tb_shutdown(&b, (uint32_t)second, md_image_broker(img, (uint32_t)second)->epoch);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    fence(img, (uint32_t)leader);
    p = &md_image_topic(img, "t")->partitions[0];
    ck_assert_int_eq(p->leader, third);
    ck_assert(in_isr(p, second));
    ck_assert(!in_isr(p, leader));
    md_image_free(img);
}
END_TEST

START_TEST(test_last_isr_member_stays)
{
    md_image_t *img = cluster(2);
    ck_assert_int_eq(plan_topic(img, "one", 1, 1), CAIRN_ERR_OK);
    ck_assert_int_eq(plan_topic(img, "two", 1, 2), CAIRN_ERR_OK);
    int32_t only = md_image_topic(img, "one")->partitions[0].leader;
    const md_partition_t *two = &md_image_topic(img, "two")->partitions[0];
    int32_t first = two->leader, second = two->replicas[1];

    fence(img, (uint32_t)only);
    const md_partition_t *p = &md_image_topic(img, "one")->partitions[0];
    ck_assert_int_eq(p->leader, MD_NO_LEADER);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], only);
    ck_assert_uint_eq(p->leader_epoch, 1);

    /* Both replicas of "two" fenced in turn: the last one stays in the ISR. */
    int32_t other = only == first ? second : first;
    fence(img, (uint32_t)other);
    p = &md_image_topic(img, "two")->partitions[0];
    ck_assert_int_eq(p->leader, MD_NO_LEADER);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], other);
    md_image_free(img);
}
END_TEST

START_TEST(test_unfence_restores_offline_partitions)
{
    md_image_t *img = cluster(2);
    ck_assert_int_eq(plan_topic(img, "one", 2, 1), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "one");
    int32_t a = t->partitions[0].leader, b = t->partitions[1].leader;
    ck_assert_int_ne(a, b);
    fence(img, (uint32_t)a);
    ck_assert_int_eq(md_image_topic(img, "one")->partitions[0].leader, MD_NO_LEADER);
    ck_assert_int_eq(md_image_topic(img, "one")->partitions[1].leader, b);

    unfence(img, (uint32_t)a);
    t = md_image_topic(img, "one");
    ck_assert_int_eq(t->partitions[0].leader, a);
    ck_assert_uint_eq(t->partitions[0].leader_epoch, 2);
    ck_assert_uint_eq(t->partitions[0].partition_epoch, 2);
    ck_assert_uint_eq(t->partitions[1].partition_epoch, 0);

    char why[256];
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_unfence_broker(img, (uint32_t)a, false, &batch, why, sizeof why),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_int_eq(md_plan_unfence_broker(img, 99, false, &batch, why, sizeof why),
                     CAIRN_ERR_BROKER_NOT_REGISTERED);
    md_image_free(img);
}
END_TEST

START_TEST(test_register_and_delete_plans)
{
    md_image_t *img = md_image_new();
    char why[256];
    uint8_t inc[MD_UUID_LEN] = { 1, 2, 3 };
    md_endpoint_t eps[] = { { "PLAINTEXT", "h1", 9092 }, { "REPLICATION", "h1", 9093 } };
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_register_broker(img, 7, inc, eps, 2, "r", &batch, why,
                                             sizeof why), CAIRN_ERR_OK);
    md_image_skip(img, 9, 1);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    const md_broker_t *br = md_image_broker(img, 7);
    ck_assert_ptr_nonnull(br);
    ck_assert_uint_eq(br->epoch, 10);
    ck_assert(br->fenced);
    ck_assert_uint_eq(br->n_endpoints, 2);
    ck_assert_str_eq(br->endpoints[1].listener, "REPLICATION");
    ck_assert_uint_eq(br->endpoints[1].port, 9093);
    ck_assert_mem_eq(br->incarnation, inc, MD_UUID_LEN);

    ck_assert_int_eq(md_plan_register_broker(img, 7, inc, eps, 0, NULL, &batch, why,
                                             sizeof why), CAIRN_ERR_INVALID_REQUEST);
    md_endpoint_t dup[] = { { "PLAINTEXT", "h1", 1 }, { "PLAINTEXT", "h2", 2 } };
    ck_assert_int_eq(md_plan_register_broker(img, 7, inc, dup, 2, NULL, &batch, why,
                                             sizeof why), CAIRN_ERR_INVALID_REQUEST);
    ck_assert_int_eq(md_plan_register_broker(img, 0x80000000u, inc, eps, 1, NULL, &batch,
                                             why, sizeof why), CAIRN_ERR_INVALID_REQUEST);

    unfence(img, 7);
    ck_assert_int_eq(plan_topic(img, "doomed", 2, 1), CAIRN_ERR_OK);
    ck_assert_int_eq(md_plan_delete_topic(img, "doomed", &batch, why, sizeof why),
                     CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    ck_assert_ptr_null(md_image_topic(img, "doomed"));
    ck_assert_int_eq(md_plan_delete_topic(img, "doomed", &batch, why, sizeof why),
                     CAIRN_ERR_UNKNOWN_TOPIC);
    ck_assert_ptr_nonnull(strstr(why, "doomed"));
    md_image_free(img);
}
END_TEST

/* ---- create partitions ----------------------------------------------------- */

static int plan_grow(md_image_t *img, const char *name, int32_t total, char *why,
                     size_t why_len)
{
    md_batch_t batch = { 0 };
    int rc = md_plan_create_partitions(img, name, total, &batch, why, why_len);
    if (rc == CAIRN_ERR_OK)
        ck_assert_int_eq(apply_batch(img, &batch), 0);
    else
        ck_assert_ptr_null(batch.data);
    return rc;
}

/* Kafka's partition invariants for a partition planned fresh: rf distinct,
 * active replicas, isr == replicas, leader first, epochs 0. */
static void check_fresh_partition(const md_image_t *img, const md_partition_t *pp, size_t rf)
{
    ck_assert_uint_eq(pp->n_replicas, rf);
    ck_assert_uint_eq(pp->n_isr, rf);
    ck_assert_mem_eq(pp->isr, pp->replicas, rf * sizeof(int32_t));
    ck_assert_int_eq(pp->leader, pp->replicas[0]);
    ck_assert_uint_eq(pp->leader_epoch, 0);
    ck_assert_uint_eq(pp->partition_epoch, 0);
    for (size_t j = 0; j < rf; j++) {
        const md_broker_t *b = md_image_broker(img, (uint32_t)pp->replicas[j]);
        ck_assert_ptr_nonnull(b);
        ck_assert(md_broker_active(b));
        for (size_t k = 0; k < j; k++)
            ck_assert_int_ne(pp->replicas[j], pp->replicas[k]);
    }
}

START_TEST(test_create_partitions)
{
    md_image_t *img = cluster(3);
    /* An earlier topic moves the rotation, so "grow" does not start on broker 1. */
    ck_assert_int_eq(plan_topic(img, "first", 1, 1), CAIRN_ERR_OK);
    ck_assert_int_eq(plan_topic(img, "grow", 2, 2), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "grow");
    md_partition_t old[2];
    int32_t old_replicas[2][2];
    for (size_t p = 0; p < 2; p++) {
        old[p] = t->partitions[p];
        memcpy(old_replicas[p], t->partitions[p].replicas, sizeof old_replicas[p]);
    }
    char why[256];
    ck_assert_int_eq(plan_grow(img, "grow", 5, why, sizeof why), CAIRN_ERR_OK);
    t = md_image_topic(img, "grow");
    ck_assert_uint_eq(t->n_partitions, 5);
    int lead[4] = { 0 };
    for (size_t p = 0; p < 5; p++) {
        const md_partition_t *pp = &t->partitions[p];
        ck_assert_uint_eq(pp->partition, p);        /* dense from 0 */
        check_fresh_partition(img, pp, 2);
        lead[pp->leader]++;
        /* The round-robin continues: neighbours never share a leader. */
        if (p > 0)
            ck_assert_int_ne(pp->leader, t->partitions[p - 1].leader);
    }
    for (size_t p = 0; p < 2; p++) {
        ck_assert_int_eq(t->partitions[p].leader, old[p].leader);
        ck_assert_mem_eq(t->partitions[p].replicas, old_replicas[p], sizeof old_replicas[p]);
    }
    ck_assert_int_eq(lead[1] + lead[2] + lead[3], 5);
    for (int b = 1; b <= 3; b++)
        ck_assert(lead[b] == 1 || lead[b] == 2);
    /* The topic ends as if created with 5 partitions: 6 total, 2 per broker. */
    ck_assert_int_eq(plan_grow(img, "grow", 6, why, sizeof why), CAIRN_ERR_OK);
    memset(lead, 0, sizeof lead);
    for (size_t p = 0; p < 6; p++)
        lead[md_image_topic(img, "grow")->partitions[p].leader]++;
    ck_assert(lead[1] == 2 && lead[2] == 2 && lead[3] == 2);
    md_image_free(img);
}
END_TEST

/* Partition 0's first replica fenced: the new partitions use active brokers
 * only, starting from the next one. */
START_TEST(test_create_partitions_active_brokers_only)
{
    md_image_t *img = cluster(4);
    ck_assert_int_eq(plan_topic(img, "t", 1, 3), CAIRN_ERR_OK);
    int32_t head = md_image_topic(img, "t")->partitions[0].replicas[0];
    fence(img, (uint32_t)head);
    char why[256];
    ck_assert_int_eq(plan_grow(img, "t", 4, why, sizeof why), CAIRN_ERR_OK);
    const md_topic_t *t = md_image_topic(img, "t");
    ck_assert_uint_eq(t->n_partitions, 4);
    int lead[5] = { 0 };
    for (size_t p = 1; p < 4; p++) {
        check_fresh_partition(img, &t->partitions[p], 3);
        lead[t->partitions[p].leader]++;
    }
    ck_assert_int_eq(lead[head], 0);
    for (int b = 1; b <= 4; b++)
        ck_assert(b == head || lead[b] == 1);
    md_image_free(img);
}
END_TEST

START_TEST(test_create_partitions_refusals)
{
    md_image_t *img = cluster(3);
    char why[256];
    ck_assert_int_eq(plan_grow(img, "nope", 3, why, sizeof why), CAIRN_ERR_UNKNOWN_TOPIC);
    ck_assert_ptr_nonnull(strstr(why, "nope"));
    ck_assert_int_eq(plan_grow(img, NULL, 3, why, sizeof why), CAIRN_ERR_UNKNOWN_TOPIC);
    ck_assert_int_eq(plan_topic(img, "t", 2, 3), CAIRN_ERR_OK);
    ck_assert_int_eq(plan_grow(img, "t", 2, why, sizeof why), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_str_eq(why, "topic t already has 2 partitions");
    ck_assert_int_eq(plan_grow(img, "t", 1, why, sizeof why), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_str_eq(why, "topic t currently has 2 partitions, which is higher than the "
                          "requested 1");
    ck_assert_int_eq(plan_grow(img, "t", 0, why, sizeof why), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(plan_grow(img, "t", -5, why, sizeof why), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(plan_grow(img, "t", 10001, why, sizeof why), CAIRN_ERR_INVALID_PARTITIONS);
    ck_assert_ptr_nonnull(strstr(why, "at most 10000"));
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_create_partitions(img, "t", 3, NULL, why, sizeof why),
                     CAIRN_ERR_INVALID_REQUEST);

    fence(img, 3);
    ck_assert_int_eq(plan_grow(img, "t", 3, why, sizeof why), CAIRN_ERR_INVALID_REPLICATION);
    ck_assert_ptr_nonnull(strstr(why, "replication factor 3"));
    ck_assert_ptr_nonnull(strstr(why, "2 active brokers"));
    fence(img, 1);
    fence(img, 2);
    ck_assert_int_eq(plan_grow(img, "t", 3, why, sizeof why), CAIRN_ERR_NOT_ENOUGH_BROKERS);
    ck_assert_uint_eq(md_image_topic(img, "t")->n_partitions, 2);

    /* At the limit: every broker back, 10000 partitions in one batch. */
    unfence(img, 1);
    unfence(img, 2);
    unfence(img, 3);
    ck_assert_int_eq(md_plan_create_partitions(img, "t", 10000, &batch, why, sizeof why),
                     CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    ck_assert_uint_eq(md_image_topic(img, "t")->n_partitions, 10000);
    md_image_free(img);
}
END_TEST

/* Two grows planned against the same image (two admin requests in flight):
 * the image applies the first and refuses the second whole, since its
 * partition numbers are no longer next. */
START_TEST(test_create_partitions_stale_plan_rejected)
{
    md_image_t *img = cluster(3);
    ck_assert_int_eq(plan_topic(img, "t", 1, 2), CAIRN_ERR_OK);
    char why[256];
    md_batch_t a = { 0 }, b = { 0 };
    ck_assert_int_eq(md_plan_create_partitions(img, "t", 3, &a, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(md_plan_create_partitions(img, "t", 4, &b, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &a), 0);
    uint8_t *before;
    size_t before_len;
    content_of(img, &before, &before_len);
    ck_assert_int_eq(apply_batch(img, &b), -1);
    ck_assert(same_content(img, before, before_len));
    ck_assert_uint_eq(md_image_topic(img, "t")->n_partitions, 3);
    free(before);
    md_image_free(img);
}
END_TEST

/* 1,000 topics, one plan+apply each: sorted-array insertion stays cheap
 * (no per-apply copy of the whole image). */
START_TEST(test_thousand_topics_fast)
{
    md_image_t *img = cluster(3);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int lead[4] = { 0 };
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "topic-%04d", (i * 7919) % 1000);
        ck_assert_int_eq(plan_topic(img, name, 3, 3), CAIRN_ERR_OK);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_uint_eq(md_image_topic_count(img), 1000);
    for (size_t i = 0; i < 1000; i++) {
        const md_topic_t *t = md_image_topic_at(img, i);
        char want[32];
        snprintf(want, sizeof want, "topic-%04zu", i);
        ck_assert_str_eq(t->name, want);
        for (size_t p = 0; p < t->n_partitions; p++)
            lead[t->partitions[p].leader]++;
    }
    ck_assert_int_eq(lead[1], 1000);
    ck_assert_int_eq(lead[2], 1000);
    ck_assert_int_eq(lead[3], 1000);
    ck_assert_msg(elapsed_s < 2.0, "1000 topics took %.2f s", elapsed_s);
    md_image_free(img);
}
END_TEST

Suite *plan_suite(void)
{
    Suite *s = suite_create("metadata_plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_create_topic);
    tcase_add_test(tc, test_assignment_balanced);
    tcase_add_test(tc, test_assignment_uses_active_brokers_only);
    tcase_add_test(tc, test_create_topic_refusals);
    tcase_add_test(tc, test_topic_name_rules);
    tcase_add_test(tc, test_topic_configs);
    tcase_add_test(tc, test_fence_moves_leadership);
    tcase_add_test(tc, test_fence_skips_inactive_candidates);
    tcase_add_test(tc, test_last_isr_member_stays);
    tcase_add_test(tc, test_unfence_restores_offline_partitions);
    tcase_add_test(tc, test_register_and_delete_plans);
    tcase_add_test(tc, test_create_partitions);
    tcase_add_test(tc, test_create_partitions_active_brokers_only);
    tcase_add_test(tc, test_create_partitions_refusals);
    tcase_add_test(tc, test_create_partitions_stale_plan_rejected);
    tcase_add_test(tc, test_thousand_topics_fast);
    suite_add_tcase(s, tc);
    return s;
}
