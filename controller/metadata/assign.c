/* Replica assignment for new topics and new partitions of a topic:
 * Kafka-style round-robin over the active brokers, deterministic so every
 * test and every replay agrees. */
#include "md_internal.h"

#include <stdlib.h>

#include "cairn_assert.h"

size_t md_active_broker_count(const md_image_t *img)
{
    size_t n = 0;
    for (size_t i = 0; i < md_image_broker_count(img); i++)
        if (md_broker_active(md_image_broker_at(img, i)))
            n++;
    return n;
}

/* The active broker ids in id order; owned, *n_out of them (>= 1). */
static int32_t *active_ids(const md_image_t *img, size_t *n_out)
{
    size_t n = md_active_broker_count(img);
    CAIRN_ASSERT(n >= 1);
    int32_t *active = md_xcalloc(n, sizeof *active);
    size_t k = 0;
    for (size_t i = 0; i < md_image_broker_count(img); i++) {
        const md_broker_t *b = md_image_broker_at(img, i);
        if (md_broker_active(b))
            active[k++] = (int32_t)b->id;
    }
    *n_out = n;
    return active;
}

/* With the active brokers b[0..n) sorted by id and start s, replica j of
 * partition p is b[(s + p + j) % n], for p = first .. first + count - 1.
 * Leaders (j = 0) walk the brokers one step per partition, so any n
 * consecutive partitions have n distinct leaders, and the followers of a
 * partition are the brokers after its leader. Kafka's extra follower shift
 * and rack awareness are not applied. */
static void assign_from(const int32_t *active, size_t n, size_t start, int32_t first,
                        int32_t count, int32_t rf, int32_t *replicas)
{
    for (size_t i = 0; i < (size_t)count; i++)
        for (size_t j = 0; j < (size_t)rf; j++)
            replicas[i * (size_t)rf + j] = active[(start + (size_t)first + i + j) % n];
}

void md_assign_replicas(const md_image_t *img, int32_t partitions, int32_t rf,
                        int32_t *replicas)
{
    size_t n = md_active_broker_count(img);
    CAIRN_ASSERT(partitions >= 1 && rf >= 1 && (size_t)rf <= n);
    int32_t *active = active_ids(img, &n);
    /* Existing partitions over all topics: successive topics continue the
     * round-robin where the last one stopped instead of all leading on the
     * lowest id (the role of Kafka's random start index). */
    size_t start = md_image_partition_total(img) % n;
    assign_from(active, n, start, 0, partitions, rf, replicas);
    free(active);
}

void md_assign_more_replicas(const md_image_t *img, const md_topic_t *t, int32_t count,
                             int32_t rf, int32_t *replicas)
{
    size_t n = md_active_broker_count(img);
    CAIRN_ASSERT(t->n_partitions >= 1 && t->n_partitions <= MD_PARTITIONS_MAX);
    CAIRN_ASSERT(count >= 1 && rf >= 1 && (size_t)rf <= n);
    int32_t *active = active_ids(img, &n);
    /* Kafka's AdminUtils for added partitions: the topic's start is where
     * partition 0's first replica sits among the brokers (the first broker
     * with an id at least as large when it is no longer active), so
     * partition p gets the leader it would have had if the topic had been
     * created with p + 1 partitions. */
    int32_t head = t->partitions[0].replicas[0];
    size_t start = 0;
    while (start < n && active[start] < head)
        start++;
    if (start == n)
        start = 0;
    assign_from(active, n, start, (int32_t)t->n_partitions, count, rf, replicas);
    free(active);
}
