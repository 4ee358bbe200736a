/* Unit tests of the leader election rules: controlled shutdown (KIP-631),
 * unclean election (unclean.leader.election.enable, controller default and
 * topic override) and preferred leader election. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "md_test_util.h"

Suite *elect_suite(void);

/* Shrinks partition p of topic name to isr through AlterPartition from its
 * leader, as a leader whose followers lag would. */
static void shrink(md_image_t *img, const char *name, uint32_t p, const int32_t *isr,
                   size_t n)
{
    const md_topic_t *t = md_image_topic(img, name);
    const md_partition_t *pp = &t->partitions[p];
    md_alter_item_t it = { t->id, p, pp->leader_epoch, pp->partition_epoch, isr, n };
    md_alter_result_t res;
    md_batch_t batch = { 0 };
    char why[256] = "";
    uint32_t leader = (uint32_t)pp->leader;
    ck_assert_int_eq(md_plan_alter_partition(img, leader, md_image_broker(img, leader)->epoch,
                                             &it, 1, &res, &batch, why, sizeof why),
                     CAIRN_ERR_OK);
    ck_assert_msg(res.code == CAIRN_ERR_OK, "%s", why);
    if (batch.data)
        ck_assert_int_eq(apply_batch(img, &batch), 0);
}

/* ---- controlled shutdown ------------------------------------------------- */

START_TEST(test_shutdown_moves_leaders_and_isr)
{
    md_image_t *img = tu_cluster(3);
    const md_topic_t *t = tu_topic(img, "t", 3, 3, NULL);
    int32_t x = t->partitions[0].leader;
    int32_t want[3];
    uint32_t want_epoch[3];
    for (size_t p = 0; p < 3; p++) {
        const md_partition_t *pp = &t->partitions[p];
        want[p] = pp->leader == x ? pp->replicas[1] : pp->leader;
        want_epoch[p] = pp->leader == x ? 1 : 0;
    }
    ck_assert(md_broker_leads_any(img, (uint32_t)x));
    tu_shutdown(img, (uint32_t)x, false);
    const md_broker_t *b = md_image_broker(img, (uint32_t)x);
    ck_assert(!b->fenced);
    ck_assert(!md_broker_active(b));
    for (uint32_t p = 0; p < 3; p++) {
        const md_partition_t *pp = tu_part(img, "t", p);
        ck_assert_int_eq(pp->leader, want[p]);
        ck_assert_uint_eq(pp->leader_epoch, want_epoch[p]);
        ck_assert_uint_eq(pp->partition_epoch, 1);
        ck_assert(!tu_in_isr(pp, x));
        ck_assert_uint_eq(pp->n_isr, 2);
    }
    ck_assert(!md_broker_leads_any(img, (uint32_t)x));
    md_image_free(img);
}
END_TEST

/* Kafka's rule, as for fencing: the last ISR member stays listed and the
 * partition goes offline, so the broker leads nothing and may exit. */
START_TEST(test_shutdown_last_isr_member)
{
    md_image_t *img = tu_cluster(2);
    const md_topic_t *t = tu_topic(img, "one", 1, 1, NULL);
    int32_t x = t->partitions[0].leader;
    tu_shutdown(img, (uint32_t)x, false);
    const md_partition_t *p = tu_part(img, "one", 0);
    ck_assert_int_eq(p->leader, MD_NO_LEADER);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], x);
    ck_assert_uint_eq(p->leader_epoch, 1);
    ck_assert(!md_broker_leads_any(img, (uint32_t)x));
    md_image_free(img);
}
END_TEST

START_TEST(test_shutdown_refusals_and_restart)
{
    md_image_t *img = tu_cluster(2);
    tu_topic(img, "t", 2, 2, NULL);
    char why[256];
    md_batch_t batch = { 0 };
    ck_assert_int_eq(md_plan_shutdown_broker(img, 9, false, &batch, why, sizeof why),
                     CAIRN_ERR_BROKER_NOT_REGISTERED);
    tu_shutdown(img, 1, false);
    ck_assert_int_eq(md_plan_shutdown_broker(img, 1, false, &batch, why, sizeof why),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_ptr_nonnull(strstr(why, "already in controlled shutdown"));
    tu_fence(img, 2, false);
    ck_assert_int_eq(md_plan_shutdown_broker(img, 2, false, &batch, why, sizeof why),
                     CAIRN_ERR_INVALID_REQUEST);
    ck_assert_ptr_null(batch.data);

    /* The restarted process registers anew and starts over: fenced, not
     * shutting down, unfenced as usual. */
    uint8_t inc[MD_UUID_LEN];
    memset(inc, 0x42, sizeof inc);
    md_endpoint_t ep = { "PLAINTEXT", "127.0.0.1", 9092 };
    ck_assert_int_eq(md_plan_register_broker(img, 1, inc, &ep, 1, NULL, &batch, why,
                                             sizeof why), CAIRN_ERR_OK);
    ck_assert_int_eq(apply_batch(img, &batch), 0);
    const md_broker_t *b = md_image_broker(img, 1);
    ck_assert(b->fenced);
    ck_assert(!b->in_controlled_shutdown);
    tu_unfence(img, 1, false);
    md_image_free(img);
}
END_TEST

/* ---- unclean election ---------------------------------------------------- */

/* Topic "u" (one partition on brokers 1 and 2) whose ISR has shrunk to its
 * leader; returns the leader, *other the out-of-sync replica. */
static int32_t lagging_pair(md_image_t *img, const char *unclean, int32_t *other)
{
    const md_topic_t *t = tu_topic(img, "u", 1, 2, unclean);
    int32_t l = t->partitions[0].leader;
    *other = t->partitions[0].replicas[1];
    int32_t only[] = { l };
    shrink(img, "u", 0, only, 1);
    return l;
}

START_TEST(test_unclean_off_stays_offline)
{
    md_image_t *img = tu_cluster(2);
    int32_t other;
    int32_t l = lagging_pair(img, NULL, &other);
    tu_fence(img, (uint32_t)l, false);
    const md_partition_t *p = tu_part(img, "u", 0);
    ck_assert_int_eq(p->leader, MD_NO_LEADER);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], l);
    md_image_free(img);
}
END_TEST

START_TEST(test_unclean_on_elects_out_of_sync)
{
    md_image_t *img = tu_cluster(2);
    int32_t other;
    int32_t l = lagging_pair(img, NULL, &other);
    uint32_t epoch = tu_part(img, "u", 0)->leader_epoch;
    tu_fence(img, (uint32_t)l, true);      /* the controller's default */
    const md_partition_t *p = tu_part(img, "u", 0);
    ck_assert_int_eq(p->leader, other);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], other);
    ck_assert_uint_eq(p->leader_epoch, epoch + 1);
    md_image_free(img);
}
END_TEST

/* The topic's unclean.leader.election.enable overrides the controller's. */
START_TEST(test_unclean_topic_override)
{
    md_image_t *img = tu_cluster(2);
    int32_t other;
    int32_t l = lagging_pair(img, "false", &other);
    tu_fence(img, (uint32_t)l, true);
    ck_assert_int_eq(tu_part(img, "u", 0)->leader, MD_NO_LEADER);
    md_image_free(img);

    img = tu_cluster(2);
    l = lagging_pair(img, "true", &other);
    tu_shutdown(img, (uint32_t)l, false);  /* controlled shutdown elects the same way */
    const md_partition_t *p = tu_part(img, "u", 0);
    ck_assert_int_eq(p->leader, other);
    ck_assert_int_eq(p->isr[0], other);
    ck_assert(!md_broker_leads_any(img, (uint32_t)l));
    md_image_free(img);
}
END_TEST

/* An offline partition whose in-sync replica stays away: the out-of-sync
 * replica coming back leads only with unclean election; the in-sync one
 * coming back always leads. */
START_TEST(test_unclean_on_unfence)
{
    md_image_t *img = tu_cluster(2);
    int32_t other;
    int32_t l = lagging_pair(img, NULL, &other);
    tu_fence(img, (uint32_t)other, false);
    tu_fence(img, (uint32_t)l, false);
    ck_assert_int_eq(tu_part(img, "u", 0)->leader, MD_NO_LEADER);
    tu_unfence(img, (uint32_t)other, false);
    ck_assert_int_eq(tu_part(img, "u", 0)->leader, MD_NO_LEADER);
    tu_fence(img, (uint32_t)other, false);
    tu_unfence(img, (uint32_t)other, true);
    const md_partition_t *p = tu_part(img, "u", 0);
    ck_assert_int_eq(p->leader, other);
    ck_assert_uint_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], other);
    md_image_free(img);

    img = tu_cluster(2);
    l = lagging_pair(img, NULL, &other);
    tu_fence(img, (uint32_t)l, false);
    tu_unfence(img, (uint32_t)l, true);    /* clean: the in-sync replica */
    p = tu_part(img, "u", 0);
    ck_assert_int_eq(p->leader, l);
    ck_assert_int_eq(p->isr[0], l);
    md_image_free(img);
}
END_TEST

/* ---- preferred leader election ------------------------------------------- */

static size_t preferred(md_image_t *img, size_t max_changes)
{
    md_batch_t batch = { 0 };
    size_t n = 99;
    char why[256];
    ck_assert_int_eq(md_plan_preferred_leaders(img, max_changes, &batch, &n, why, sizeof why),
                     CAIRN_ERR_OK);
    if (n == 0)
        ck_assert_ptr_null(batch.data);
    else
        ck_assert_int_eq(apply_batch(img, &batch), 0);
    return n;
}

START_TEST(test_preferred_leader_restored)
{
    md_image_t *img = tu_cluster(3);
    const md_topic_t *t = tu_topic(img, "t", 3, 3, NULL);
    int32_t x = t->partitions[0].leader;
    ck_assert_uint_eq(preferred(img, 100), 0);
    tu_fence(img, (uint32_t)x, false);
    tu_unfence(img, (uint32_t)x, false);
    /* Back, but not in the ISR yet: not a candidate. */
    ck_assert_uint_eq(preferred(img, 100), 0);
    const md_partition_t *p = tu_part(img, "t", 0);
    int32_t all[] = { p->leader, p->replicas[2], x };
    shrink(img, "t", 0, all, 3);           /* x caught up and rejoined */
    p = tu_part(img, "t", 0);
    uint32_t epoch = p->leader_epoch, pepoch = p->partition_epoch;
    ck_assert_int_ne(p->leader, x);
    ck_assert_uint_eq(preferred(img, 100), 1);
    p = tu_part(img, "t", 0);
    ck_assert_int_eq(p->leader, x);
    ck_assert_uint_eq(p->leader_epoch, epoch + 1);
    ck_assert_uint_eq(p->partition_epoch, pepoch + 1);
    ck_assert_uint_eq(p->n_isr, 3);
    ck_assert_uint_eq(preferred(img, 100), 0);
    md_image_free(img);
}
END_TEST

/* An inactive preferred replica is passed over; max_changes bounds a pass. */
START_TEST(test_preferred_skips_inactive_and_bounds)
{
    md_image_t *img = tu_cluster(2);
    const md_topic_t *one = tu_topic(img, "one", 1, 1, NULL);
    uint32_t alone = (uint32_t)one->partitions[0].leader;
    tu_fence(img, alone, false);           /* offline, ISR {alone}: inactive */
    ck_assert_uint_eq(preferred(img, 100), 0);
    tu_unfence(img, alone, false);

    const md_topic_t *t = tu_topic(img, "t", 4, 2, NULL);
    tu_fence(img, 1, false);
    tu_unfence(img, 1, false);
    size_t displaced = 0;
    t = md_image_topic(img, "t");
    for (uint32_t k = 0; k < 4; k++) {
        const md_partition_t *p = &t->partitions[k];
        if (p->replicas[0] != 1)
            continue;
        int32_t both[] = { 2, 1 };
        shrink(img, "t", k, both, 2);      /* broker 1 rejoined the ISR */
        displaced++;
        t = md_image_topic(img, "t");
    }
    ck_assert_uint_eq(displaced, 2);
    ck_assert_uint_eq(preferred(img, 1), 1);
    ck_assert_uint_eq(preferred(img, 1), 1);
    ck_assert_uint_eq(preferred(img, 1), 0);
    t = md_image_topic(img, "t");
    for (uint32_t k = 0; k < 4; k++)
        ck_assert_int_eq(t->partitions[k].leader, t->partitions[k].replicas[0]);
    md_image_free(img);
}
END_TEST

Suite *elect_suite(void)
{
    Suite *s = suite_create("metadata_elect");
    TCase *tc = tcase_create("elect");
    tcase_add_test(tc, test_shutdown_moves_leaders_and_isr);
    tcase_add_test(tc, test_shutdown_last_isr_member);
    tcase_add_test(tc, test_shutdown_refusals_and_restart);
    tcase_add_test(tc, test_unclean_off_stays_offline);
    tcase_add_test(tc, test_unclean_on_elects_out_of_sync);
    tcase_add_test(tc, test_unclean_topic_override);
    tcase_add_test(tc, test_unclean_on_unfence);
    tcase_add_test(tc, test_preferred_leader_restored);
    tcase_add_test(tc, test_preferred_skips_inactive_and_bounds);
    suite_add_tcase(s, tc);
    return s;
}
