/* What the coordinator shows of a member (DescribeGroups, the leader's
 * JoinGroup response, cairnctl) and what it reads of the opaque consumer
 * protocol bytes: the topics of a subscription, the partitions of an
 * assignment (ConsumerProtocolSubscription / ConsumerProtocolAssignment;
 * newer versions than the ones known are read as the newest known, as
 * Kafka does). */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "group.h"
#include "kafka_messages.h"

#define CONSUMER_PROTOCOL_TYPE "consumer"
#define CONSUMER_PROTOCOL_MAX_VERSION 3
#define VIEW_ARENA_BYTES (16u << 20)      /* decoded assignments of one view */

struct group_view_owned {
    kafka_arena_t arena;
};

group_view_owned_t *group_view_owned_new(void)
{
    group_view_owned_t *own = calloc(1, sizeof *own);
    if (own)
        kafka_arena_init(&own->arena, VIEW_ARENA_BYTES);
    return own;
}

void group_view_owned_free(group_view_owned_t *own)
{
    if (!own)
        return;
    kafka_arena_free(&own->arena);
    free(own);
}

/* The version prefix of a consumer-protocol blob; rd then reads the body. */
static int consumer_version(kafka_rd_t *rd, const uint8_t *p, size_t len)
{
    if (!p || len < 2)
        return -1;
    kafka_rd_init(rd, p, len);
    int16_t v = kafka_rd_int16(rd);
    if (rd->failed || v < 0)
        return -1;
    return v > CONSUMER_PROTOCOL_MAX_VERSION ? CONSUMER_PROTOCOL_MAX_VERSION : v;
}

static void decode_assignment(group_view_owned_t *own, const uint8_t *p, size_t len,
                              group_member_view_t *out)
{
    kafka_rd_t rd;
    int v = consumer_version(&rd, p, len);
    kafka_ConsumerProtocolAssignment_t a;
    if (v < 0 || kafka_ConsumerProtocolAssignment_decode(&rd, (int16_t)v, &own->arena, &a) != 0)
        return;
    int32_t n = a.AssignedPartitions_count > 0 ? a.AssignedPartitions_count : 0;
    group_topic_parts_t *tps = kafka_arena_alloc_array(&own->arena, n ? (size_t)n : 1,
                                                       sizeof *tps);
    if (!tps)
        return;
    for (int32_t i = 0; i < n; i++) {
        const kafka_ConsumerProtocolAssignment_TopicPartition_t *tp = &a.AssignedPartitions[i];
        tps[i] = (group_topic_parts_t){ tp->Topic, tp->Partitions,
                                        tp->Partitions_count > 0 ? (size_t)tp->Partitions_count
                                                                 : 0 };
    }
    out->assigned = tps;
    out->n_assigned = (size_t)n;
}

const group_protocol_t *group_member_protocol(const group_t *g, const group_member_t *m)
{
    for (size_t i = 0; g->protocol && i < m->n_protocols; i++)
        if (strcmp(m->protocols[i].name, g->protocol) == 0)
            return &m->protocols[i];
    return NULL;
}

void group_member_view_fill(const group_t *g, const group_member_t *m, group_view_owned_t *own,
                            group_member_view_t *out)
{
    *out = (group_member_view_t){
        .member_id = m->member_id,
        .group_instance_id = m->instance_id,
        .client_id = m->client_id,
        .client_host = m->client_host,
        .metadata = (const uint8_t *)"",
        .assignment = m->assignment ? m->assignment : (const uint8_t *)"",
        .assignment_len = m->assignment_len,
    };
    const group_protocol_t *p = group_member_protocol(g, m);
    if (p) {
        out->metadata = p->metadata;
        out->metadata_len = p->metadata_len;
    }
    if (own && m->assignment_len > 0 && g->protocol_type &&
        strcmp(g->protocol_type, CONSUMER_PROTOCOL_TYPE) == 0)
        decode_assignment(own, m->assignment, m->assignment_len, out);
}

bool group_subscription_has_topic(const uint8_t *metadata, size_t len, const char *topic)
{
    kafka_rd_t rd;
    int v = consumer_version(&rd, metadata, len);
    kafka_arena_t a;
    kafka_arena_init(&a, 4 * len + 4096);
    kafka_ConsumerProtocolSubscription_t s;
    bool found = true;                  /* unreadable: assume subscribed */
    if (v >= 0 && kafka_ConsumerProtocolSubscription_decode(&rd, (int16_t)v, &a, &s) == 0) {
        found = false;
        for (int32_t i = 0; i < s.Topics_count && !found; i++)
            found = strcmp(s.Topics[i], topic) == 0;
    }
    kafka_arena_free(&a);
    return found;
}
