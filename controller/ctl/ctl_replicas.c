/* Under-replicated filters as shallow views over decoded responses, and
 * the lag of each replica from a leader's DescribeReplicas answer. */
#include "ctl_replicas.h"

#include <stdlib.h>
#include <string.h>

bool ctl_partition_under_replicated(const Cairn__PartitionDescription *p)
{
    return p->n_isr < p->n_replicas;
}

bool ctl_topic_under_replicated(const Cairn__TopicDescription *t)
{
    for (size_t i = 0; i < t->n_partitions; i++)
        if (ctl_partition_under_replicated(t->partitions[i]))
            return true;
    return false;
}

int ctl_topic_view_init(ctl_topic_view_t *v, const Cairn__TopicDescription *t,
                        bool under_replicated)
{
    v->topic = *t;
    v->topic.n_partitions = 0;
    v->topic.partitions = calloc(t->n_partitions ? t->n_partitions : 1,
                                 sizeof *v->topic.partitions);
    if (!v->topic.partitions)
        return -1;
    for (size_t i = 0; i < t->n_partitions; i++)
        if (!under_replicated || ctl_partition_under_replicated(t->partitions[i]))
            v->topic.partitions[v->topic.n_partitions++] = t->partitions[i];
    return 0;
}

void ctl_topic_view_free(ctl_topic_view_t *v)
{
    free(v->topic.partitions);
    v->topic.partitions = NULL;
    v->topic.n_partitions = 0;
}

int ctl_topics_view_init(ctl_topics_view_t *v, const Cairn__ListTopicsResponse *r,
                         bool under_replicated)
{
    v->list = *r;
    v->list.n_topics = 0;
    v->list.topics = calloc(r->n_topics ? r->n_topics : 1, sizeof *v->list.topics);
    if (!v->list.topics)
        return -1;
    for (size_t i = 0; i < r->n_topics; i++)
        if (!under_replicated || ctl_topic_under_replicated(r->topics[i]))
            v->list.topics[v->list.n_topics++] = r->topics[i];
    return 0;
}

void ctl_topics_view_free(ctl_topics_view_t *v)
{
    free(v->list.topics);
    v->list.topics = NULL;
    v->list.n_topics = 0;
}

const Cairn__PartitionReplicaState *ctl_find_replica_state(
    const Cairn__DescribeReplicasResponse *r, const char *topic,
    const Cairn__PartitionDescription *p)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n_partitions; i++) {
        const Cairn__PartitionReplicaState *s = r->partitions[i];
        if (s->partition == p->partition && s->topic && strcmp(s->topic, topic) == 0)
            return s->leader_epoch >= 0 && (uint32_t)s->leader_epoch == p->leader_epoch
                   ? s : NULL;
    }
    return NULL;
}

bool ctl_replica_lag(const Cairn__PartitionDescription *p, const Cairn__PartitionReplicaState *s,
                     int32_t id, int64_t *lag)
{
    if (!s)
        return false;
    if (id == p->leader) {
        *lag = 0;
        return true;
    }
    for (size_t i = 0; i < s->n_followers; i++) {
        const Cairn__FollowerReplicaState *f = s->followers[i];
        if (f->id != id)
            continue;
        if (f->log_end_offset < 0)
            return false;
        *lag = s->log_end_offset - f->log_end_offset;
        return true;
    }
    return false;
}
