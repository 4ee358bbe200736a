/* Replica assignment for new topics: Kafka-style round-robin over the
 * active brokers, deterministic so every test and every replay agrees. */
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

/* With the active brokers b[0..n) sorted by id and start s, replica j of
 * partition p is b[(s + p + j) % n]. Leaders (j = 0) walk the brokers one
 * step per partition, so any n consecutive partitions have n distinct
 * leaders, and the followers of a partition are the brokers after its
 * leader. Kafka's extra follower shift and rack awareness are not applied. */
void md_assign_replicas(const md_image_t *img, int32_t partitions, int32_t rf,
                        int32_t *replicas)
{
    size_t n = md_active_broker_count(img);
    CAIRN_ASSERT(partitions >= 1 && rf >= 1 && (size_t)rf <= n);
    int32_t *active = md_xcalloc(n, sizeof *active);
    size_t k = 0;
    for (size_t i = 0; i < md_image_broker_count(img); i++) {
        const md_broker_t *b = md_image_broker_at(img, i);
        if (md_broker_active(b))
            active[k++] = (int32_t)b->id;
    }
    /* Existing partitions over all topics: successive topics continue the
     * round-robin where the last one stopped instead of all leading on the
     * lowest id (the role of Kafka's random start index). */
    size_t start = md_image_partition_total(img) % n;
    for (size_t p = 0; p < (size_t)partitions; p++)
        for (size_t j = 0; j < (size_t)rf; j++)
            replicas[p * (size_t)rf + j] = active[(start + p + j) % n];
    free(active);
}
