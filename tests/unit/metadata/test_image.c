/* Unit tests of the metadata image: each record type, validation against
 * the batch's own earlier records, all-or-nothing batches, epochs, and the
 * snapshot round trip. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "md_internal.h"
#include "md_test_util.h"

Suite *image_suite(void);

static const int32_t R123[] = { 1, 2, 3 };

/* Brokers 1..3 registered at indexes 1..3 (epoch == index), unfenced. */
static md_image_t *image_with_brokers(void)
{
    md_image_t *img = md_image_new();
    ck_assert_ptr_nonnull(img);
    tbatch_t b;
    for (uint32_t id = 1; id <= 3; id++) {
        tb_init(&b);
        tb_register(&b, id, (uint8_t)id, "r1");
        ck_assert_int_eq(tb_apply(&b, img), 0);
    }
    tb_init(&b);
    for (uint32_t id = 1; id <= 3; id++)
        tb_unfence(&b, id, id);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    return img;
}

/* Adds topic "t" (id 7) with one partition on brokers 1,2,3 led by 1. */
static void add_topic_t(md_image_t *img)
{
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "t", 7);
    tb_partition(&b, 7, 0, R123, 3, R123, 3, 1);
    ck_assert_int_eq(tb_apply(&b, img), 0);
}

/* The cached partition total (the assignment's rotation) matches a count. */
static void check_partition_total(const md_image_t *img)
{
    size_t n = 0;
    for (size_t i = 0; i < md_image_topic_count(img); i++)
        n += md_image_topic_at(img, i)->n_partitions;
    ck_assert_uint_eq(md_image_partition_total(img), n);
}

static const md_partition_t *part(const md_image_t *img, const char *topic, size_t p)
{
    const md_topic_t *t = md_image_topic(img, topic);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_lt(p, t->n_partitions);
    return &t->partitions[p];
}

START_TEST(test_register_broker)
{
    md_image_t *img = md_image_new();
    tbatch_t b;
    tb_init(&b);
    tb_register(&b, 2, 0xaa, "rack-a");
    ck_assert_int_eq(md_image_apply(img, 5, 1, NULL, 0), 0);   /* empty batch */
    ck_assert_int_eq(tb_apply(&b, img), 0);
    const md_broker_t *br = md_image_broker(img, 2);
    ck_assert_ptr_nonnull(br);
    ck_assert_uint_eq(br->epoch, 6);
    ck_assert(br->fenced);
    ck_assert(!br->in_controlled_shutdown);
    ck_assert(!md_broker_active(br));
    ck_assert_str_eq(br->rack, "rack-a");
    ck_assert_uint_eq(br->n_endpoints, 1);
    ck_assert_str_eq(br->endpoints[0].listener, "PLAINTEXT");
    ck_assert_str_eq(br->endpoints[0].host, "127.0.0.1");
    ck_assert_uint_eq(br->endpoints[0].port, 9093);
    ck_assert_uint_eq(br->incarnation[0], 0xaa);

    /* Unfence, then a new incarnation replaces it: fenced again, new epoch. */
    tb_init(&b);
    tb_unfence(&b, 2, 6);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert(md_broker_active(md_image_broker(img, 2)));
    tb_init(&b);
    tb_register(&b, 2, 0xbb, NULL);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    br = md_image_broker(img, 2);
    ck_assert_uint_eq(br->epoch, 8);
    ck_assert(br->fenced);
    ck_assert_uint_eq(br->incarnation[0], 0xbb);
    ck_assert_str_eq(br->rack, "");
    ck_assert_uint_eq(md_image_broker_count(img), 1);
    md_image_free(img);
}
END_TEST

START_TEST(test_brokers_ordered_by_id)
{
    md_image_t *img = md_image_new();
    tbatch_t b;
    tb_init(&b);
    tb_register(&b, 30, 1, NULL);
    tb_register(&b, 10, 2, NULL);
    tb_register(&b, 20, 3, NULL);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert_uint_eq(md_image_broker_count(img), 3);
    ck_assert_uint_eq(md_image_broker_at(img, 0)->id, 10);
    ck_assert_uint_eq(md_image_broker_at(img, 1)->id, 20);
    ck_assert_uint_eq(md_image_broker_at(img, 2)->id, 30);
    ck_assert_ptr_null(md_image_broker_at(img, 3));
    ck_assert_ptr_null(md_image_broker(img, 15));
    md_image_free(img);
}
END_TEST

START_TEST(test_fence_unfence_shutdown_records)
{
    md_image_t *img = image_with_brokers();
    tbatch_t b;
    tb_init(&b);
    tb_shutdown(&b, 2, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    const md_broker_t *br = md_image_broker(img, 2);
    ck_assert(br->in_controlled_shutdown);
    ck_assert(!br->fenced);
    ck_assert(!md_broker_active(br));
    tb_init(&b);
    tb_fence(&b, 2, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert(md_image_broker(img, 2)->fenced);
    tb_init(&b);
    tb_unfence(&b, 2, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    br = md_image_broker(img, 2);
    ck_assert(!br->fenced);
    ck_assert(!br->in_controlled_shutdown);

    /* A stale epoch or an unknown broker invalidates the batch. */
    tb_init(&b);
    tb_fence(&b, 2, 1);
    ck_assert_int_eq(tb_apply(&b, img), -1);
    ck_assert(!md_image_broker(img, 2)->fenced);
    tb_init(&b);
    tb_unfence(&b, 9, 1);
    ck_assert_int_eq(tb_apply(&b, img), -1);
    tb_init(&b);
    tb_shutdown(&b, 3, 4);
    ck_assert_int_eq(tb_apply(&b, img), -1);
    ck_assert(!md_image_broker(img, 3)->in_controlled_shutdown);
    md_image_free(img);
}
END_TEST

START_TEST(test_topic_and_partitions_in_one_batch)
{
    md_image_t *img = image_with_brokers();
    static const int32_t r21[] = { 2, 1 };
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "orders", 1);
    tb_partition(&b, 1, 0, R123, 3, R123, 3, 1);
    tb_partition(&b, 1, 1, r21, 2, r21, 1, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    const md_topic_t *t = md_image_topic(img, "orders");
    ck_assert_ptr_nonnull(t);
    uint8_t id[MD_UUID_LEN];
    tid(1, id);
    ck_assert_ptr_eq(md_image_topic_by_id(img, id), t);
    ck_assert_mem_eq(t->id, id, MD_UUID_LEN);
    ck_assert_uint_eq(t->n_partitions, 2);
    ck_assert_uint_eq(t->partitions[1].partition, 1);
    ck_assert_uint_eq(t->partitions[1].n_replicas, 2);
    ck_assert_int_eq(t->partitions[1].replicas[0], 2);
    ck_assert_uint_eq(t->partitions[1].n_isr, 1);
    ck_assert_int_eq(t->partitions[1].leader, 2);
    ck_assert_int_eq(t->partitions[0].leader, 1);

    /* More partitions later, in a separate batch. */
    tb_init(&b);
    tb_partition(&b, 1, 2, R123, 3, R123, 3, MD_NO_LEADER);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert_uint_eq(md_image_topic(img, "orders")->n_partitions, 3);
    ck_assert_int_eq(part(img, "orders", 2)->leader, MD_NO_LEADER);
    md_image_free(img);
}
END_TEST

START_TEST(test_topics_ordered_by_name)
{
    md_image_t *img = image_with_brokers();
    const char *names[] = { "m", "b", "z", "a", "k" };
    tbatch_t b;
    for (size_t i = 0; i < 5; i++) {
        tb_init(&b);
        tb_topic(&b, names[i], (uint8_t)(10 + i));
        ck_assert_int_eq(tb_apply(&b, img), 0);
    }
    const char *want[] = { "a", "b", "k", "m", "z" };
    ck_assert_uint_eq(md_image_topic_count(img), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(md_image_topic_at(img, i)->name, want[i]);
    for (size_t i = 0; i < 5; i++) {
        uint8_t id[MD_UUID_LEN];
        tid((uint8_t)(10 + i), id);
        ck_assert_str_eq(md_image_topic_by_id(img, id)->name, names[i]);
    }
    ck_assert_ptr_null(md_image_topic(img, "c"));
    ck_assert_ptr_null(md_image_topic_at(img, 5));
    md_image_free(img);
}
END_TEST

/* Each bad record alone: rejected, content unchanged, index still advances. */
static void expect_rejected(md_image_t *img, tbatch_t *b)
{
    uint8_t *before;
    size_t before_len;
    content_of(img, &before, &before_len);
    uint64_t index = md_image_last_index(img);
    ck_assert_int_eq(tb_apply(b, img), -1);
    ck_assert_uint_eq(md_image_last_index(img), index + 1);
    ck_assert(same_content(img, before, before_len));
    free(before);
}

START_TEST(test_invalid_records_rejected)
{
    md_image_t *img = image_with_brokers();
    add_topic_t(img);
    static const int32_t r14[] = { 1, 4 }, r11[] = { 1, 1 }, i4[] = { 4 }, i12[] = { 1, 2 };
    static const int32_t r12[] = { 1, 2 };
    tbatch_t b;
    tb_init(&b); tb_topic(&b, "t", 8); expect_rejected(img, &b);          /* name taken */
    tb_init(&b); tb_topic(&b, "u", 7); expect_rejected(img, &b);          /* id taken */
    tb_init(&b); tb_topic(&b, "bad name", 9); expect_rejected(img, &b);
    tb_init(&b); tb_topic(&b, "..", 9); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 9, 0, R123, 3, R123, 3, 1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 2, R123, 3, R123, 3, 1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 0, R123, 3, R123, 3, 1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, r14, 2, r14, 1, 1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, r11, 2, r11, 1, 1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, R123, 0, R123, 0, -1); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, R123, 3, i4, 1, 4); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, R123, 3, i12, 2, 3); expect_rejected(img, &b);
    tb_init(&b); tb_partition(&b, 7, 1, r12, 2, R123, 3, 1); expect_rejected(img, &b);
    tb_init(&b); tb_change(&b, 7, 1, true, 2, NULL, 0, NULL, 0); expect_rejected(img, &b);
    tb_init(&b); tb_change(&b, 9, 0, true, 2, NULL, 0, NULL, 0); expect_rejected(img, &b);
    /* The new ISR drops the current leader without a new one. */
    static const int32_t i23[] = { 2, 3 };
    tb_init(&b); tb_change(&b, 7, 0, false, 0, i23, 2, NULL, 0); expect_rejected(img, &b);
    /* New replicas leave an ISR member behind. */
    tb_init(&b); tb_change(&b, 7, 0, false, 0, NULL, 0, r12, 2); expect_rejected(img, &b);
    tb_init(&b); tb_remove_topic(&b, 9); expect_rejected(img, &b);
    tb_init(&b); tb_config(&b, 9, "retention.ms", "1", false); expect_rejected(img, &b);
    tb_init(&b); tb_config(&b, 7, "", "1", false); expect_rejected(img, &b);
    tb_init(&b); tb_register(&b, 0x80000000u, 1, NULL); expect_rejected(img, &b);
    md_image_free(img);
}
END_TEST

START_TEST(test_batch_all_or_nothing)
{
    md_image_t *img = image_with_brokers();
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "x", 3);
    tb_partition(&b, 3, 0, R123, 3, R123, 3, 1);
    tb_partition(&b, 3, 2, R123, 3, R123, 3, 1);   /* 3rd record: skips partition 1 */
    ck_assert_int_eq(tb_apply(&b, img), -1);
    ck_assert_ptr_null(md_image_topic(img, "x"));
    ck_assert_uint_eq(md_image_topic_count(img), 0);
    ck_assert_uint_eq(md_image_last_index(img), 5);
    ck_assert_uint_eq(md_image_last_term(img), 1);

    /* The same topic goes in cleanly afterwards. */
    tb_init(&b);
    tb_topic(&b, "x", 3);
    tb_partition(&b, 3, 0, R123, 3, R123, 3, 1);
    tb_partition(&b, 3, 1, R123, 3, R123, 3, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert_uint_eq(md_image_topic(img, "x")->n_partitions, 2);
    md_image_free(img);
}
END_TEST

/* One batch touching every kind of state, then a bad record: everything,
 * including replaced brokers and removed topics, is back as it was. */
START_TEST(test_rollback_every_record_kind)
{
    md_image_t *img = image_with_brokers();
    add_topic_t(img);
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "gone", 40);
    tb_partition(&b, 40, 0, R123, 3, R123, 3, 2);
    tb_config(&b, 40, "retention.ms", "1000", false);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    uint8_t *before;
    size_t before_len;
    content_of(img, &before, &before_len);

    static const int32_t i12[] = { 1, 2 };
    tb_init(&b);
    tb_register(&b, 4, 4, NULL);                       /* new broker */
    tb_register(&b, 3, 0x33, "r9");                    /* replaces broker 3 */
    tb_shutdown(&b, 1, 1);
    tb_fence(&b, 2, 2);
    tb_topic(&b, "new", 41);
    tb_partition(&b, 41, 0, R123, 3, R123, 3, 3);
    tb_partition(&b, 7, 1, R123, 3, R123, 3, 1);
    tb_change(&b, 7, 0, true, 2, i12, 2, NULL, 0);
    tb_config(&b, 7, "segment.bytes", "1024", false);
    tb_config(&b, 40, "retention.ms", NULL, true);
    tb_change(&b, 40, 0, true, 1, NULL, 0, NULL, 0);
    tb_remove_topic(&b, 40);
    tb_topic(&b, "gone", 42);                          /* name reused in-batch */
    tb_remove_topic(&b, 41);
    tb_partition(&b, 7, 5, R123, 3, R123, 3, 1);       /* invalid: not next */
    ck_assert_int_eq(tb_apply(&b, img), -1);
    ck_assert(same_content(img, before, before_len));
    ck_assert_uint_eq(md_image_broker_count(img), 3);
    ck_assert_uint_eq(md_image_broker(img, 3)->epoch, 3);
    ck_assert_uint_eq(md_image_topic(img, "gone")->n_configs, 1);
    check_partition_total(img);
    ck_assert_uint_eq(md_image_partition_total(img), 2);
    free(before);
    md_image_free(img);
}
END_TEST

START_TEST(test_partition_change_epochs)
{
    md_image_t *img = image_with_brokers();
    add_topic_t(img);
    static const int32_t i12[] = { 1, 2 }, i2[] = { 2 }, r32[] = { 3, 2 };
    tbatch_t b;

    /* ISR shrink: partition epoch only. */
    tb_init(&b);
    tb_change(&b, 7, 0, false, 0, i12, 2, NULL, 0);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    const md_partition_t *p = part(img, "t", 0);
    ck_assert_uint_eq(p->partition_epoch, 1);
    ck_assert_uint_eq(p->leader_epoch, 0);
    ck_assert_uint_eq(p->n_isr, 2);
    ck_assert_int_eq(p->leader, 1);

    /* New leader: both epochs. */
    tb_init(&b);
    tb_change(&b, 7, 0, true, 2, i2, 1, NULL, 0);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    p = part(img, "t", 0);
    ck_assert_int_eq(p->leader, 2);
    ck_assert_uint_eq(p->leader_epoch, 1);
    ck_assert_uint_eq(p->partition_epoch, 2);
    ck_assert_uint_eq(p->n_isr, 1);

    /* leader_changed naming the same leader is not a new leader. */
    tb_init(&b);
    tb_change(&b, 7, 0, true, 2, NULL, 0, NULL, 0);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    p = part(img, "t", 0);
    ck_assert_uint_eq(p->leader_epoch, 1);
    ck_assert_uint_eq(p->partition_epoch, 3);

    /* Offline, then back: each leader change bumps the leader epoch. */
    tb_init(&b);
    tb_change(&b, 7, 0, true, MD_NO_LEADER, NULL, 0, NULL, 0);
    tb_change(&b, 7, 0, true, 2, NULL, 0, NULL, 0);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    p = part(img, "t", 0);
    ck_assert_uint_eq(p->leader_epoch, 3);
    ck_assert_uint_eq(p->partition_epoch, 5);

    /* Replica reassignment. */
    tb_init(&b);
    tb_change(&b, 7, 0, false, 0, NULL, 0, r32, 2);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    p = part(img, "t", 0);
    ck_assert_uint_eq(p->n_replicas, 2);
    ck_assert_int_eq(p->replicas[0], 3);
    ck_assert_uint_eq(p->partition_epoch, 6);
    md_image_free(img);
}
END_TEST

/* An exhausted epoch is bad input, not a broken invariant: rejected. */
START_TEST(test_epoch_exhaustion_rejected)
{
    md_image_t *img = image_with_brokers();
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "e", 5);
    tb_partition(&b, 5, 0, R123, 3, R123, 3, 1);
    b.recs[1]->partition->leader_epoch = UINT32_MAX;
    ck_assert_int_eq(tb_apply(&b, img), 0);
    tb_init(&b);
    tb_change(&b, 5, 0, true, 2, NULL, 0, NULL, 0);
    ck_assert_int_eq(tb_apply(&b, img), -1);
    ck_assert_int_eq(part(img, "e", 0)->leader, 1);
    md_image_free(img);
}
END_TEST

START_TEST(test_remove_topic_and_configs)
{
    md_image_t *img = image_with_brokers();
    add_topic_t(img);
    tbatch_t b;
    tb_init(&b);
    tb_config(&b, 7, "retention.ms", "100", false);
    tb_config(&b, 7, "cleanup.policy", "compact", false);
    tb_config(&b, 7, "retention.ms", "200", false);
    tb_config(&b, 7, "nothing.here", NULL, true);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    const md_topic_t *t = md_image_topic(img, "t");
    ck_assert_uint_eq(t->n_configs, 2);
    ck_assert_str_eq(t->configs[0].name, "retention.ms");
    ck_assert_str_eq(t->configs[0].value, "200");
    ck_assert_str_eq(t->configs[1].value, "compact");
    tb_init(&b);
    tb_config(&b, 7, "retention.ms", NULL, true);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    t = md_image_topic(img, "t");
    ck_assert_uint_eq(t->n_configs, 1);
    ck_assert_str_eq(t->configs[0].name, "cleanup.policy");

    tb_init(&b);
    tb_remove_topic(&b, 7);
    ck_assert_int_eq(tb_apply(&b, img), 0);
    ck_assert_ptr_null(md_image_topic(img, "t"));
    uint8_t id[MD_UUID_LEN];
    tid(7, id);
    ck_assert_ptr_null(md_image_topic_by_id(img, id));
    ck_assert_uint_eq(md_image_topic_count(img), 0);
    ck_assert_uint_eq(md_image_partition_total(img), 0);
    tb_init(&b);
    tb_remove_topic(&b, 7);
    ck_assert_int_eq(tb_apply(&b, img), -1);
    md_image_free(img);
}
END_TEST

START_TEST(test_undecodable_batch_and_skip)
{
    md_image_t *img = md_image_new();
    const uint8_t junk[] = { 0x0a, 0x7f, 0x01 };
    ck_assert_int_eq(md_image_apply(img, 3, 2, junk, sizeof junk), -1);
    ck_assert_uint_eq(md_image_last_index(img), 3);
    ck_assert_uint_eq(md_image_last_term(img), 2);
    md_image_skip(img, 4, 3);
    ck_assert_uint_eq(md_image_last_index(img), 4);
    ck_assert_uint_eq(md_image_last_term(img), 3);
    md_image_free(img);
}
END_TEST

START_TEST(test_apply_stale_index_asserts)
{
    md_image_t *img = md_image_new();
    md_image_skip(img, 5, 1);
    md_image_apply(img, 5, 1, NULL, 0);
}
END_TEST

static md_image_t *rich_image(void)
{
    md_image_t *img = image_with_brokers();
    add_topic_t(img);
    static const int32_t i13[] = { 1, 3 };
    tbatch_t b;
    tb_init(&b);
    tb_topic(&b, "alpha", 20);
    tb_partition(&b, 20, 0, R123, 3, i13, 2, 3);
    tb_partition(&b, 20, 1, R123, 3, R123, 3, MD_NO_LEADER);
    tb_config(&b, 20, "retention.bytes", "4096", false);
    tb_change(&b, 7, 0, true, 3, i13, 2, NULL, 0);
    tb_shutdown(&b, 2, 2);
    tb_register(&b, 9, 9, "rack-9");
    ck_assert_int_eq(tb_apply(&b, img), 0);
    return img;
}

START_TEST(test_snapshot_round_trip)
{
    md_image_t *img = rich_image();
    uint8_t *snap;
    size_t len;
    ck_assert_int_eq(md_image_snapshot(img, &snap, &len), 0);
    md_image_t *copy = md_image_new();
    tbatch_t b;
    tb_init(&b);
    tb_register(&b, 50, 5, NULL);   /* replaced by the load */
    ck_assert_int_eq(tb_apply(&b, copy), 0);
    ck_assert_int_eq(md_image_load(copy, snap, len), 0);
    uint8_t *snap2;
    size_t len2;
    ck_assert_int_eq(md_image_snapshot(copy, &snap2, &len2), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(snap, snap2, len);
    ck_assert_uint_eq(md_image_last_index(copy), md_image_last_index(img));
    ck_assert_uint_eq(md_image_last_term(copy), 1);
    ck_assert_ptr_null(md_image_broker(copy, 50));
    const md_broker_t *br = md_image_broker(copy, 2);
    ck_assert(br->in_controlled_shutdown);
    ck_assert_uint_eq(br->epoch, 2);
    ck_assert(md_image_broker(copy, 9)->fenced);
    ck_assert_str_eq(md_image_broker(copy, 9)->rack, "rack-9");
    const md_partition_t *p = part(copy, "t", 0);
    ck_assert_int_eq(p->leader, 3);
    ck_assert_uint_eq(p->leader_epoch, 1);
    ck_assert_uint_eq(p->partition_epoch, 1);
    ck_assert_str_eq(md_image_topic_at(copy, 0)->name, "alpha");
    ck_assert_str_eq(md_image_topic(copy, "alpha")->configs[0].value, "4096");
    uint8_t id[MD_UUID_LEN];
    tid(20, id);
    ck_assert_ptr_eq(md_image_topic_by_id(copy, id), md_image_topic(copy, "alpha"));

    /* The loaded image keeps applying from where the snapshot ends. */
    tb_init(&b);
    tb_partition(&b, 20, 2, R123, 3, R123, 3, 1);
    ck_assert_int_eq(tb_apply(&b, copy), 0);
    ck_assert_uint_eq(md_image_topic(copy, "alpha")->n_partitions, 3);
    check_partition_total(copy);
    ck_assert_uint_eq(md_image_partition_total(copy), 4);
    free(snap);
    free(snap2);
    md_image_free(copy);
    md_image_free(img);
}
END_TEST

START_TEST(test_load_rejects_bad_snapshot)
{
    md_image_t *img = rich_image();
    uint8_t *before;
    size_t before_len;
    content_of(img, &before, &before_len);
    uint64_t index = md_image_last_index(img);
    const uint8_t junk[] = { 0x22, 0x05, 0x01 };
    ck_assert_int_eq(md_image_load(img, junk, sizeof junk), -1);

    /* Decodable but inconsistent: a replica that is not a registered broker. */
    uint8_t *snap;
    size_t len;
    ck_assert_int_eq(md_image_snapshot(img, &snap, &len), 0);
    Cairn__MetadataImage *m = cairn__metadata_image__unpack(NULL, len, snap);
    ck_assert_ptr_nonnull(m);
    m->topics[0]->partitions[0]->replicas[0] = 77;
    size_t bad_len = cairn__metadata_image__get_packed_size(m);
    uint8_t *bad = malloc(bad_len);
    cairn__metadata_image__pack(m, bad);
    ck_assert_int_eq(md_image_load(img, bad, bad_len), -1);
    free(bad);

    /* Two topics with the same name. */
    free(m->topics[1]->name);
    m->topics[1]->name = strdup(m->topics[0]->name);
    m->topics[0]->partitions[0]->replicas[0] = 1;
    bad_len = cairn__metadata_image__get_packed_size(m);
    bad = malloc(bad_len);
    cairn__metadata_image__pack(m, bad);
    ck_assert_int_eq(md_image_load(img, bad, bad_len), -1);
    free(bad);
    cairn__metadata_image__free_unpacked(m, NULL);

    ck_assert(same_content(img, before, before_len));
    ck_assert_uint_eq(md_image_last_index(img), index);
    free(snap);
    free(before);
    md_image_free(img);
}
END_TEST

START_TEST(test_uuid_format)
{
    uint8_t id[MD_UUID_LEN];
    for (size_t i = 0; i < MD_UUID_LEN; i++)
        id[i] = (uint8_t)(0x10 * (i % 16) + i);
    char s[37];
    md_uuid_format(id, s);
    ck_assert_str_eq(s, "00112233-4455-6677-8899-aabbccddeeff");
}
END_TEST

Suite *image_suite(void)
{
    Suite *s = suite_create("metadata_image");
    TCase *tc = tcase_create("image");
    tcase_add_test(tc, test_register_broker);
    tcase_add_test(tc, test_brokers_ordered_by_id);
    tcase_add_test(tc, test_fence_unfence_shutdown_records);
    tcase_add_test(tc, test_topic_and_partitions_in_one_batch);
    tcase_add_test(tc, test_topics_ordered_by_name);
    tcase_add_test(tc, test_invalid_records_rejected);
    tcase_add_test(tc, test_batch_all_or_nothing);
    tcase_add_test(tc, test_rollback_every_record_kind);
    tcase_add_test(tc, test_partition_change_epochs);
    tcase_add_test(tc, test_epoch_exhaustion_rejected);
    tcase_add_test(tc, test_remove_topic_and_configs);
    tcase_add_test(tc, test_undecodable_batch_and_skip);
    tcase_add_test(tc, test_snapshot_round_trip);
    tcase_add_test(tc, test_load_rejects_bad_snapshot);
    tcase_add_test(tc, test_uuid_format);
    suite_add_tcase(s, tc);
    /* Separate case, so the rest can run unforked (CK_FORK=no) under LSan. */
    TCase *inv = tcase_create("invariants");
    tcase_add_test_raise_signal(inv, test_apply_stale_index_asserts, SIGABRT);
    suite_add_tcase(s, inv);
    return s;
}
