/* Growing a topic (Kafka's CreatePartitions): PartitionRecords for the new
 * partitions only; the existing ones are untouched, so their data and
 * leaders stay where they are. */
#include "md_internal.h"

#include <stdlib.h>

#include "cairn_assert.h"
#include "errors.h"

/* Kafka's checks and wording (AdminZkClient.addPartitions): the count only
 * grows, and the new partitions copy partition 0's replication factor,
 * which must still fit on the active brokers. */
static int create_partitions_check(const md_image_t *img, const md_topic_t *t,
                                   int32_t total_count, char *why, size_t why_len)
{
    size_t have = t->n_partitions;
    if (total_count >= 0 && (size_t)total_count == have)
        return md_plan_fail(CAIRN_ERR_INVALID_PARTITIONS, why, why_len,
                            "topic %s already has %zu partitions", t->name, have);
    if (total_count < 0 || (size_t)total_count < have)
        return md_plan_fail(CAIRN_ERR_INVALID_PARTITIONS, why, why_len,
                            "topic %s currently has %zu partitions, which is higher than "
                            "the requested %d", t->name, have, total_count);
    if (total_count > MD_PARTITIONS_MAX)
        return md_plan_fail(CAIRN_ERR_INVALID_PARTITIONS, why, why_len,
                            "%d partitions, want at most %d", total_count, MD_PARTITIONS_MAX);
    /* A TopicRecord without partitions is valid in the log, but gives no
     * replication factor to copy. */
    if (have == 0)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "topic %s has no partition to take a replication factor from",
                            t->name);
    size_t rf = t->partitions[0].n_replicas;
    size_t active = md_active_broker_count(img);
    if (active == 0)
        return md_plan_fail(CAIRN_ERR_NOT_ENOUGH_BROKERS, why, why_len, "no active brokers");
    if (rf > active)
        return md_plan_fail(CAIRN_ERR_INVALID_REPLICATION, why, why_len,
                            "replication factor %zu of topic %s larger than %zu active brokers",
                            rf, t->name, active);
    return CAIRN_ERR_OK;
}

/* PartitionRecords first .. first + count - 1 in order (the image requires
 * partitions dense from 0); leader = first replica, isr = replicas, epochs
 * 0, as for a new topic. The records borrow t's id and replicas. */
static int create_partitions_encode(const md_topic_t *t, int32_t count, int32_t rf,
                                    int32_t *replicas, md_batch_t *out)
{
    Cairn__PartitionRecord *prs = calloc((size_t)count, sizeof *prs);
    md_rec_list_t l;
    int rc = md_rec_list_init(&l, (size_t)count);
    if (rc == CAIRN_ERR_OK && prs == NULL)
        rc = CAIRN_ERR_NOMEM;
    for (size_t i = 0; rc == CAIRN_ERR_OK && i < (size_t)count; i++) {
        Cairn__PartitionRecord *pr = &prs[i];
        cairn__partition_record__init(pr);
        pr->topic_id.len = MD_UUID_LEN;
        pr->topic_id.data = (uint8_t *)t->id;
        pr->partition = (uint32_t)(t->n_partitions + i);
        pr->n_replicas = pr->n_isr = (size_t)rf;
        pr->replicas = pr->isr = &replicas[i * (size_t)rf];
        pr->leader = pr->replicas[0];
        Cairn__MetadataRecord *r = md_rec_list_add(&l);
        r->record_case = CAIRN__METADATA_RECORD__RECORD_PARTITION;
        r->partition = pr;
    }
    if (rc == CAIRN_ERR_OK)
        rc = md_rec_list_pack(&l, out);
    md_rec_list_free(&l);
    free(prs);
    return rc;
}

int md_plan_create_partitions(const md_image_t *img, const char *name, int32_t total_count,
                              md_batch_t *out, char *why, size_t why_len)
{
    if (out == NULL)
        return md_plan_fail(CAIRN_ERR_INVALID_REQUEST, why, why_len,
                            "create partitions without output");
    const md_topic_t *t = name ? md_image_topic(img, name) : NULL;
    if (t == NULL)
        return md_plan_fail(CAIRN_ERR_UNKNOWN_TOPIC, why, why_len, "unknown topic %s",
                            name ? name : "(null)");
    int rc = create_partitions_check(img, t, total_count, why, why_len);
    if (rc != CAIRN_ERR_OK)
        return rc;
    int32_t count = total_count - (int32_t)t->n_partitions;
    int32_t rf = (int32_t)t->partitions[0].n_replicas;
    CAIRN_ASSERT(count >= 1 && rf >= 1);
    int32_t *replicas = calloc((size_t)count * (size_t)rf, sizeof *replicas);
    if (replicas == NULL)
        return md_plan_fail(CAIRN_ERR_NOMEM, why, why_len, "out of memory");
    md_assign_more_replicas(img, t, count, rf, replicas);
    rc = create_partitions_encode(t, count, rf, replicas, out);
    free(replicas);
    if (rc != CAIRN_ERR_OK)
        return md_plan_fail(rc, why, why_len, "%s", cairn_strerror(rc));
    return CAIRN_ERR_OK;
}
