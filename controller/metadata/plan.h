/* The controller's decisions, as metadata records (pure: image in, records
 * out). Each plan_* function validates against the current image and, on
 * success, returns an owned serialized MetadataBatch to propose through
 * Raft; the change happens when that batch is committed and applied. */
#ifndef CAIRN_MD_PLAN_H
#define CAIRN_MD_PLAN_H

#include <stdbool.h>
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

/* unclean_default is the controller's unclean.leader.election.enable; a
 * topic's own unclean.leader.election.enable overrides it. */

/* FenceBrokerRecord, and for every partition that lists the broker in its
 * ISR a PartitionChangeRecord removing it; partitions it led get the first
 * other replica that is in the ISR and active (leader_epoch + 1 on apply).
 * An ISR never becomes empty: the last member stays listed (Kafka's rule).
 * When no in-sync replica is active the partition goes offline
 * (MD_NO_LEADER), unless unclean election is enabled for its topic: then
 * the first active out-of-sync replica leads with ISR = {it} (data written
 * only to the old ISR may be lost). Errors: BROKER_NOT_REGISTERED,
 * INVALID_REQUEST (already fenced), NOMEM. (plan_broker.c) */
int md_plan_fence_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                         md_batch_t *out, char *why, size_t why_len);

/* Controlled shutdown (KIP-631): BrokerShutdownRecord, then the same
 * partition changes as a fence — every leadership moves to another
 * in-sync active replica (or offline, or unclean as above) and the broker
 * leaves every ISR, the last member staying. Afterwards the broker leads
 * nothing and, being inactive, is never elected nor re-added to an ISR
 * (KIP-841). Errors: BROKER_NOT_REGISTERED, INVALID_REQUEST (fenced or
 * already shutting down), NOMEM. (plan_broker.c) */
int md_plan_shutdown_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                            md_batch_t *out, char *why, size_t why_len);

/* UnfenceBrokerRecord, and leadership for offline partitions whose ISR holds
 * the broker; with unclean election enabled for the topic, also for offline
 * partitions where it is an out-of-sync replica and no ISR member is active
 * (ISR = {it}). Errors: BROKER_NOT_REGISTERED, INVALID_REQUEST (active).
 * (plan_broker.c) */
int md_plan_unfence_broker(const md_image_t *img, uint32_t broker_id, bool unclean_default,
                           md_batch_t *out, char *why, size_t why_len);

/* True when the broker leads at least one partition. */
bool md_broker_leads_any(const md_image_t *img, uint32_t broker_id);

/* Preferred leader election (Kafka's auto.leader.rebalance.enable): a
 * leader change back to the first replica for every partition whose leader
 * is another broker (or none) while the first replica is active and in the
 * ISR; at most max_changes of them, in topic and partition order. Sets
 * *n_changes; with none, out stays empty and the result is OK. Errors:
 * NOMEM, TOO_LARGE. (plan_elect.c) */
int md_plan_preferred_leaders(const md_image_t *img, size_t max_changes, md_batch_t *out,
                              size_t *n_changes, char *why, size_t why_len);

/* One partition of an AlterPartition request (KIP-497). Borrowed. */
typedef struct md_alter_item {
    const uint8_t *topic_id;       /* MD_UUID_LEN bytes; NULL when malformed */
    uint32_t partition;
    uint32_t leader_epoch;
    uint32_t partition_epoch;
    const int32_t *new_isr;
    size_t n_new_isr;
} md_alter_item_t;

typedef struct md_alter_result {
    int code;                      /* cairn_err_t of this item */
    bool changed;                  /* a PartitionChangeRecord is in the batch */
} md_alter_result_t;

/* Kafka's AlterPartition, validated item by item (plan_isr.c). The
 * requester must be registered, unfenced and at broker_epoch, else the
 * request fails as a whole with STALE_BROKER_EPOCH. Each item then gets its
 * own code in results[i]: UNKNOWN_TOPIC / UNKNOWN_PARTITION;
 * FENCED_LEADER_EPOCH (leader_epoch is not current); NOT_LEADER_OR_FOLLOWER
 * (the requester does not lead it); INVALID_UPDATE_VERSION (partition_epoch
 * is not current); INVALID_REQUEST (ISR empty, without the leader, with a
 * non-replica or a duplicate, or a second item for the same partition);
 * INELIGIBLE_REPLICA (KIP-841: a member being added is fenced or in
 * controlled shutdown). Accepted items whose ISR differs become one
 * PartitionChangeRecord each (isr_changed, guarded by the partition epoch:
 * partition_epoch + 1 on apply, leader_epoch unchanged), all in out;
 * accepted no-ops get OK without a record. out stays empty when no item
 * changes anything. Returns OK, STALE_BROKER_EPOCH, INVALID_REQUEST (too
 * many items) or NOMEM; why names the first refusal. */
int md_plan_alter_partition(const md_image_t *img, uint32_t broker_id, uint64_t broker_epoch,
                            const md_alter_item_t *items, size_t n_items,
                            md_alter_result_t *results, md_batch_t *out,
                            char *why, size_t why_len);

#endif
