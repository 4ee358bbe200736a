/* The controller's decisions, as metadata records (pure: image in, records
 * out). Each plan_* function validates against the current image and, on
 * success, returns an owned serialized MetadataBatch to propose through
 * Raft; the change happens when that batch is committed and applied. */
#ifndef CAIRN_MD_PLAN_H
#define CAIRN_MD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* A serialized MetadataBatch, owned by whoever holds it (md_batch_free). */
typedef struct md_batch {
    uint8_t *data;
    size_t len;
} md_batch_t;

void md_batch_free(md_batch_t *b);

typedef struct md_create_topic {
    const char *name;
    int32_t partitions;
    int32_t replication_factor;
    const md_config_entry_t *configs;  /* borrowed */
    size_t n_configs;
    const uint8_t *topic_id;           /* 16 random bytes chosen by the caller */
} md_create_topic_t;

/* All plan functions return a cairn_err_t (0 = ok) and on error write a
 * one-line reason into why. */

/* TopicRecord + one PartitionRecord per partition. Replicas spread evenly
 * over active brokers (round-robin from a rotating start, leaders balanced);
 * leader = first replica, isr = all replicas, epochs 0. Errors:
 * TOPIC_EXISTS, INVALID_TOPIC (Kafka's name rules: [a-zA-Z0-9._-], 1..249,
 * not "." or ".."), INVALID_PARTITIONS (1..10000), INVALID_REPLICATION
 * (> active brokers, or < 1), NOT_ENOUGH_BROKERS. */
int md_plan_create_topic(const md_image_t *img, const md_create_topic_t *req,
                         md_batch_t *out, char *why, size_t why_len);

/* RemoveTopicRecord. Error: UNKNOWN_TOPIC. */
int md_plan_delete_topic(const md_image_t *img, const char *name,
                         md_batch_t *out, char *why, size_t why_len);

/* Kafka's CreatePartitions: grows topic name to total_count partitions with
 * one PartitionRecord per new partition n..total_count-1 (n = its current
 * count). Each copies partition 0's replication factor and is assigned like
 * a new topic's, the round-robin continuing from the topic's existing
 * partitions so leaders stay balanced; leader = first replica, isr = all
 * replicas, epochs 0. Errors: UNKNOWN_TOPIC, INVALID_PARTITIONS
 * (total_count <= current count, or > 10000), INVALID_REPLICATION (fewer
 * active brokers than the replication factor), NOT_ENOUGH_BROKERS (none
 * active). (plan_partitions.c) */
int md_plan_create_partitions(const md_image_t *img, const char *name, int32_t total_count,
                              md_batch_t *out, char *why, size_t why_len);

/* RegisterBrokerRecord (the broker starts fenced). */
int md_plan_register_broker(const md_image_t *img, uint32_t broker_id,
                            const uint8_t incarnation[MD_UUID_LEN],
                            const md_endpoint_t *endpoints, size_t n_endpoints,
                            const char *rack, md_batch_t *out, char *why, size_t why_len);

/* FenceBrokerRecord, and for every partition that lists the broker in its
 * ISR a PartitionChangeRecord removing it; partitions it led get the first
 * other replica that is in the ISR and active (leader_epoch + 1 on apply) or
 * MD_NO_LEADER. An ISR never becomes empty: the last member stays listed
 * (Kafka's rule, so an unclean election is never implied). */
int md_plan_fence_broker(const md_image_t *img, uint32_t broker_id,
                         md_batch_t *out, char *why, size_t why_len);

/* UnfenceBrokerRecord, and leadership for offline partitions whose ISR holds
 * the broker. */
int md_plan_unfence_broker(const md_image_t *img, uint32_t broker_id,
                           md_batch_t *out, char *why, size_t why_len);

#endif
