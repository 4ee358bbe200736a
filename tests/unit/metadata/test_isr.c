/* Unit tests of md_plan_alter_partition (KIP-497 AlterPartition with
 * KIP-841's eligibility rule): every accept and reject rule, and what the
 * committed batch does to the image. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "md_test_util.h"

Suite *isr_suite(void);

/* Four brokers and topic "t" (one partition, three replicas), so one
 * registered broker is not a replica. */
static md_image_t *setup(const md_partition_t **p)
{
    md_image_t *img = tu_cluster(4);
    tu_topic(img, "t", 1, 3, NULL);
    *p = tu_part(img, "t", 0);
    return img;
}

/* An item at the partition's current epochs. */
static md_alter_item_t item_now(const md_image_t *img, const int32_t *isr, size_t n)
{
    const md_topic_t *t = md_image_topic(img, "t");
    const md_partition_t *p = &t->partitions[0];
    md_alter_item_t it = { t->id, 0, p->leader_epoch, p->partition_epoch, isr, n };
    return it;
}

static uint64_t epoch_of(const md_image_t *img, int32_t id)
{
    return md_image_broker(img, (uint32_t)id)->epoch;
}

/* One item from broker id at its current broker epoch: returns the item's
 * code (or the request's, when it fails as a whole). */
static int alter_one(const md_image_t *img, int32_t id, const md_alter_item_t *it,
                     md_batch_t *batch, bool *changed)
{
    md_alter_result_t res = { -1, false };
    char why[256] = "";
    int rc = md_plan_alter_partition(img, (uint32_t)id, epoch_of(img, id), it, 1, &res, batch,
                                     why, sizeof why);
    if (changed)
        *changed = res.changed;
    return rc != CAIRN_ERR_OK ? rc : res.code;
}

/* Applies the item (which must be accepted with a change). */
static void alter_apply(md_image_t *img, int32_t id, const md_alter_item_t *it)
{
    md_batch_t batch = { 0 };
    bool changed = false;
    ck_assert_int_eq(alter_one(img, id, it, &batch, &changed), CAIRN_ERR_OK);
    ck_assert(changed);
    ck_assert_ptr_nonnull(batch.data);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
}

START_TEST(test_shrink_and_expand)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader, f1 = p->replicas[1], f2 = p->replicas[2];
    int32_t shrunk[] = { l, f1 };
    md_alter_item_t it = item_now(img, shrunk, 2);
    alter_apply(img, l, &it);
    p = tu_part(img, "t", 0);
    ck_assert_uint_eq(p->n_isr, 2);
    ck_assert(tu_in_isr(p, l) && tu_in_isr(p, f1) && !tu_in_isr(p, f2));
    ck_assert_int_eq(p->leader, l);
    ck_assert_uint_eq(p->leader_epoch, 0);
    ck_assert_uint_eq(p->partition_epoch, 1);

    int32_t full[] = { f2, l, f1 };        /* any order */
    it = item_now(img, full, 3);
    alter_apply(img, l, &it);
    p = tu_part(img, "t", 0);
    ck_assert_uint_eq(p->n_isr, 3);
    ck_assert_int_eq(p->leader, l);
    ck_assert_uint_eq(p->leader_epoch, 0);
    ck_assert_uint_eq(p->partition_epoch, 2);
    md_image_free(img);
}
END_TEST

/* The same members in another order change nothing: OK, no record. */
START_TEST(test_same_isr_is_noop)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t same[] = { p->replicas[2], p->replicas[0], p->replicas[1] };
    md_alter_item_t it = item_now(img, same, 3);
    md_batch_t batch = { 0 };
    bool changed = true;
    ck_assert_int_eq(alter_one(img, p->leader, &it, &batch, &changed), CAIRN_ERR_OK);
    ck_assert(!changed);
    ck_assert_ptr_null(batch.data);
    md_image_free(img);
}
END_TEST

/* KIP-497: only the current incarnation of an unfenced broker. */
START_TEST(test_stale_broker_epoch)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader;
    int32_t isr[] = { l, p->replicas[1] };
    md_alter_item_t it = item_now(img, isr, 2);
    md_alter_result_t res;
    md_batch_t batch = { 0 };
    char why[256];
    ck_assert_int_eq(md_plan_alter_partition(img, (uint32_t)l, epoch_of(img, l) + 1, &it, 1,
                                             &res, &batch, why, sizeof why),
                     CAIRN_ERR_STALE_BROKER_EPOCH);
    ck_assert_int_eq(md_plan_alter_partition(img, 99, 1, &it, 1, &res, &batch, why, sizeof why),
                     CAIRN_ERR_STALE_BROKER_EPOCH);
    ck_assert_ptr_null(batch.data);
    /* Fenced: its leaderships moved, and it may not change ISRs at all. */
    uint64_t old_epoch = epoch_of(img, l);
    tu_fence(img, (uint32_t)l, false);
    ck_assert_int_eq(md_plan_alter_partition(img, (uint32_t)l, old_epoch, &it, 1, &res, &batch,
                                             why, sizeof why),
                     CAIRN_ERR_STALE_BROKER_EPOCH);
    ck_assert_ptr_null(batch.data);
    md_image_free(img);
}
END_TEST

START_TEST(test_epoch_and_leader_checks)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader, f1 = p->replicas[1];
    int32_t isr[] = { l, f1 };
    md_batch_t batch = { 0 };

    md_alter_item_t it = item_now(img, isr, 2);
    it.leader_epoch = 1;                   /* ahead of the controller */
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_FENCED_LEADER_EPOCH);

    it = item_now(img, isr, 2);
    it.partition_epoch = 5;
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_UPDATE_VERSION);

    it = item_now(img, isr, 2);            /* a follower, at the right epochs */
    ck_assert_int_eq(alter_one(img, f1, &it, &batch, NULL), CAIRN_ERR_NOT_LEADER_OR_FOLLOWER);

    /* A fenced leader's successor leads at epoch 1: the old epoch is fenced. */
    it = item_now(img, isr, 2);
    tu_fence(img, (uint32_t)l, false);
    p = tu_part(img, "t", 0);
    ck_assert_int_eq(p->leader, f1);
    int32_t now_isr[] = { f1 };
    md_alter_item_t old = { it.topic_id, 0, 0, p->partition_epoch, now_isr, 1 };
    ck_assert_int_eq(alter_one(img, f1, &old, &batch, NULL), CAIRN_ERR_FENCED_LEADER_EPOCH);
    ck_assert_ptr_null(batch.data);
    md_image_free(img);
}
END_TEST

START_TEST(test_unknown_partition)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader;
    int32_t isr[] = { l };
    md_batch_t batch = { 0 };
    md_alter_item_t it = item_now(img, isr, 1);
    uint8_t other[MD_UUID_LEN];
    memset(other, 0x77, sizeof other);
    it.topic_id = other;
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_UNKNOWN_TOPIC);
    it = item_now(img, isr, 1);
    it.partition = 1;
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_UNKNOWN_PARTITION);
    it.topic_id = NULL;                    /* not 16 bytes on the wire */
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    md_image_free(img);
}
END_TEST

/* KIP-497's ISR shape: non-empty, with the leader, replicas only, no
 * duplicates. */
START_TEST(test_isr_shape)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader, f1 = p->replicas[1], f2 = p->replicas[2];
    int32_t outsider = 0;
    for (int32_t id = 1; id <= 4; id++)
        if (id != l && id != f1 && id != f2)
            outsider = id;
    md_batch_t batch = { 0 };
    int32_t without_leader[] = { f1, f2 };
    int32_t non_replica[] = { l, outsider };
    int32_t dup[] = { l, f1, f1 };
    int32_t too_many[] = { l, f1, f2, outsider };
    md_alter_item_t it = item_now(img, NULL, 0);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    it = item_now(img, without_leader, 2);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    it = item_now(img, non_replica, 2);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    it = item_now(img, dup, 3);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    it = item_now(img, too_many, 4);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INVALID_REQUEST);
    ck_assert_ptr_null(batch.data);
    md_image_free(img);
}
END_TEST

/* KIP-841: a fenced or shutting-down replica can never join the ISR; one
 * already in it may stay listed. */
START_TEST(test_ineligible_replicas)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader, f1 = p->replicas[1], f2 = p->replicas[2];
    int32_t shrunk[] = { l };
    md_alter_item_t it = item_now(img, shrunk, 1);
    alter_apply(img, l, &it);              /* ISR {l} */

    tu_shutdown(img, (uint32_t)f1, false);
    tu_fence(img, (uint32_t)f2, false);
    md_batch_t batch = { 0 };
    int32_t with_f1[] = { l, f1 }, with_f2[] = { l, f2 };
    it = item_now(img, with_f1, 2);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INELIGIBLE_REPLICA);
    it = item_now(img, with_f2, 2);
    ck_assert_int_eq(alter_one(img, l, &it, &batch, NULL), CAIRN_ERR_INELIGIBLE_REPLICA);
    ck_assert_ptr_null(batch.data);

    tu_unfence(img, (uint32_t)f2, false);  /* active again: eligible */
    it = item_now(img, with_f2, 2);
    alter_apply(img, l, &it);
    ck_assert(tu_in_isr(tu_part(img, "t", 0), f2));
    md_image_free(img);
}
END_TEST

/* Items are independent: each gets its own code, the valid ones share one
 * batch, and a second item for the same partition is refused. */
START_TEST(test_items_independent)
{
    md_image_t *img = tu_cluster(3);
    const md_topic_t *t = tu_topic(img, "m", 3, 3, NULL);
    int32_t l = t->partitions[0].leader;
    uint32_t other = 0;                    /* a partition led by someone else */
    for (uint32_t k = 1; k < 3; k++)
        if (t->partitions[k].leader != l)
            other = k;
    ck_assert_uint_ne(other, 0);
    const md_partition_t *p0 = &t->partitions[0];
    int32_t isr0[] = { l, p0->replicas[1] };
    int32_t isr_other[] = { t->partitions[other].leader };
    md_alter_item_t items[3] = {
        { t->id, 0, 0, 0, isr0, 2 },
        { t->id, other, 0, 0, isr_other, 1 },  /* l does not lead it */
        { t->id, 0, 0, 0, isr0, 2 },           /* partition 0 again */
    };
    md_alter_result_t res[3];
    md_batch_t batch = { 0 };
    char why[256] = "";
    ck_assert_int_eq(md_plan_alter_partition(img, (uint32_t)l, epoch_of(img, l), items, 3, res,
                                             &batch, why, sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(res[0].code, CAIRN_ERR_OK);
    ck_assert(res[0].changed);
    ck_assert_int_eq(res[1].code, CAIRN_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert(!res[1].changed);
    ck_assert_int_eq(res[2].code, CAIRN_ERR_INVALID_REQUEST);
    ck_assert(!res[2].changed);
    ck_assert_ptr_nonnull(strstr(why, "not the leader"));
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    t = md_image_topic(img, "m");
    ck_assert_uint_eq(t->partitions[0].n_isr, 2);
    ck_assert_uint_eq(t->partitions[0].partition_epoch, 1);
    ck_assert_uint_eq(t->partitions[other].n_isr, 3);
    ck_assert_uint_eq(t->partitions[other].partition_epoch, 0);
    md_image_free(img);
}
END_TEST

/* A batch planned before a conflicting change committed is refused by the
 * image: the partition-epoch guard, and KIP-841 re-checked at apply. */
START_TEST(test_stale_plan_refused_at_apply)
{
    const md_partition_t *p;
    md_image_t *img = setup(&p);
    int32_t l = p->leader, f1 = p->replicas[1], f2 = p->replicas[2];
    int32_t shrunk[] = { l, f1 };
    md_alter_item_t it = item_now(img, shrunk, 2);
    md_batch_t stale = { 0 };
    ck_assert_int_eq(alter_one(img, l, &it, &stale, NULL), CAIRN_ERR_OK);
    tu_fence(img, (uint32_t)f2, false);    /* commits first: partition epoch 1 */
    uint8_t *before;
    size_t before_len;
    content_of(img, &before, &before_len);
    ck_assert_int_eq(apply_batch(img, &stale), -1);
    ck_assert(same_content(img, before, before_len));
    free(before);
    /* f2 re-joins; f1 is fenced after the plan that would add it back. */
    tu_unfence(img, (uint32_t)f2, false);
    int32_t only_l_f2[] = { l, f2 };
    it = item_now(img, only_l_f2, 2);
    alter_apply(img, l, &it);              /* ISR {l, f2}: f1 out */
    int32_t all[] = { l, f1, f2 };
    it = item_now(img, all, 3);
    ck_assert_int_eq(alter_one(img, l, &it, &stale, NULL), CAIRN_ERR_OK);
    tu_fence(img, (uint32_t)f1, false);    /* f1 in no ISR: partition untouched */
    ck_assert_uint_eq(tu_part(img, "t", 0)->partition_epoch, 2);
    ck_assert_int_eq(apply_batch(img, &stale), -1);
    ck_assert(!tu_in_isr(tu_part(img, "t", 0), f1));
    md_image_free(img);
}
END_TEST

Suite *isr_suite(void)
{
    Suite *s = suite_create("metadata_isr");
    TCase *tc = tcase_create("alter_partition");
    tcase_add_test(tc, test_shrink_and_expand);
    tcase_add_test(tc, test_same_isr_is_noop);
    tcase_add_test(tc, test_stale_broker_epoch);
    tcase_add_test(tc, test_epoch_and_leader_checks);
    tcase_add_test(tc, test_unknown_partition);
    tcase_add_test(tc, test_isr_shape);
    tcase_add_test(tc, test_ineligible_replicas);
    tcase_add_test(tc, test_items_independent);
    tcase_add_test(tc, test_stale_plan_refused_at_apply);
    suite_add_tcase(s, tc);
    return s;
}
