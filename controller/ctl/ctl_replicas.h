/* The pure half of 'topic describe' / 'topic list' beyond the controller's
 * answer: the --under-replicated filter (Kafka's kafka-topics
 * --under-replicated-partitions: ISR smaller than the replica set), and
 * matching a partition leader's DescribeReplicas answer to the controller's
 * partitions to get each replica's lag. No I/O. */
#ifndef CAIRN_CTL_REPLICAS_H
#define CAIRN_CTL_REPLICAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "replication.pb-c.h"

bool ctl_partition_under_replicated(const Cairn__PartitionDescription *p);
bool ctl_topic_under_replicated(const Cairn__TopicDescription *t);

/* A shallow copy of a topic whose partition list may be filtered: topic
 * borrows everything from the original but its partitions array (owned). */
typedef struct ctl_topic_view {
    Cairn__TopicDescription topic;
} ctl_topic_view_t;

/* Fills v from t (borrowed; must outlive v), keeping only under-replicated
 * partitions when under_replicated. Returns 0, or -1 when out of memory. */
int ctl_topic_view_init(ctl_topic_view_t *v, const Cairn__TopicDescription *t,
                        bool under_replicated);
void ctl_topic_view_free(ctl_topic_view_t *v);

/* The same for a topic list: only topics with an under-replicated partition
 * when under_replicated (their partition counts stay whole). */
typedef struct ctl_topics_view {
    Cairn__ListTopicsResponse list;
} ctl_topics_view_t;

int ctl_topics_view_init(ctl_topics_view_t *v, const Cairn__ListTopicsResponse *r,
                         bool under_replicated);
void ctl_topics_view_free(ctl_topics_view_t *v);

/* The state r (a leader's answer) gives for topic/p, or NULL when it has
 * none at the leader epoch the controller names (that broker does not lead
 * the partition, or its metadata is behind). */
const Cairn__PartitionReplicaState *ctl_find_replica_state(
    const Cairn__DescribeReplicasResponse *r, const char *topic,
    const Cairn__PartitionDescription *p);

/* Lag of replica id of p per its leader's state s: the leader's log end
 * minus the replica's (the leader's own is 0). Returns false when unknown:
 * a follower the leader has not heard from (or does not track). */
bool ctl_replica_lag(const Cairn__PartitionDescription *p, const Cairn__PartitionReplicaState *s,
                     int32_t id, int64_t *lag);

#endif
