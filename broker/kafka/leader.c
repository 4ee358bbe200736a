/* Finding the leader replica a partition request needs, with the errors
 * Kafka clients expect for every way it can be missing (shared by Produce,
 * Fetch and ListOffsets). */
#include "handlers.h"

#include "kafka_error.h"

int16_t kafka_find_leader(broker_t *b, const char *topic, int32_t partition,
                          int32_t current_leader_epoch, replica_t **out)
{
    replica_t *r = replicas_get(b->replicas, topic, partition);
    *out = NULL;
    if (!r || !r->leader) {
        const md_topic_t *t = topic ? md_image_topic(b->image, topic) : NULL;
        bool exists = t && partition >= 0 && (size_t)partition < t->n_partitions;
        return exists ? KAFKA_ERR_NOT_LEADER_OR_FOLLOWER : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    /* KIP-320: a client that knows a different epoch must refresh first. */
    if (current_leader_epoch >= 0 && current_leader_epoch < r->leader_epoch)
        return KAFKA_ERR_FENCED_LEADER_EPOCH;
    if (current_leader_epoch > r->leader_epoch)
        return KAFKA_ERR_UNKNOWN_LEADER_EPOCH;
    *out = r;
    return KAFKA_ERR_NONE;
}
