/* The Kafka API handlers, one per ApiKey, called by the dispatcher once the
 * request header is decoded and its version is known to be in range. Each
 * decodes its body, does its work and ends the call (call.h). */
#ifndef CAIRN_KAFKA_HANDLERS_H
#define CAIRN_KAFKA_HANDLERS_H

#include "call.h"

void kafka_handle_ApiVersions(kafka_call_t *call);
void kafka_handle_Metadata(kafka_call_t *call);
void kafka_handle_Produce(kafka_call_t *call);
void kafka_handle_Fetch(kafka_call_t *call);
void kafka_handle_ListOffsets(kafka_call_t *call);
void kafka_handle_CreateTopics(kafka_call_t *call);
void kafka_handle_DeleteTopics(kafka_call_t *call);
void kafka_handle_CreatePartitions(kafka_call_t *call);
void kafka_handle_DescribeConfigs(kafka_call_t *call);
void kafka_handle_DescribeCluster(kafka_call_t *call);
void kafka_handle_FindCoordinator(kafka_call_t *call);
void kafka_handle_JoinGroup(kafka_call_t *call);
void kafka_handle_SyncGroup(kafka_call_t *call);
void kafka_handle_Heartbeat(kafka_call_t *call);
void kafka_handle_LeaveGroup(kafka_call_t *call);
void kafka_handle_DescribeGroups(kafka_call_t *call);
void kafka_handle_ListGroups(kafka_call_t *call);
void kafka_handle_DeleteGroups(kafka_call_t *call);
void kafka_handle_OffsetCommit(kafka_call_t *call);
void kafka_handle_OffsetFetch(kafka_call_t *call);
void kafka_handle_OffsetDelete(kafka_call_t *call);

/* ApiVersions for a version this broker does not implement (KIP-511): the
 * v0-shaped body with UNSUPPORTED_VERSION and the supported ranges, so the
 * client can retry with one it knows. */
void kafka_reply_unsupported_api_versions(kafka_call_t *call);

/* The leader replica of topic/partition on this broker, or the error for
 * the client: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, and for a
 * current_leader_epoch (-1: not given) older or newer than the leader's
 * FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH (KIP-320). *out is set only on
 * success. */
int16_t kafka_find_leader(broker_t *b, const char *topic, int32_t partition,
                          int32_t current_leader_epoch, replica_t **out);

/* Asks the controller to create topic name (rf capped at the live brokers,
 * configs as name/value pairs, copied), once at a time per name; errors
 * are logged, and the caller finds the topic in a later image. */
void kafka_create_topic_once(broker_t *b, const char *name, int32_t partitions, int32_t rf,
                             const char *const (*configs)[2], size_t n_configs);

/* The endpoint Kafka clients use on broker mb (the first that is not the
 * replication listener), or NULL. */
const md_endpoint_t *kafka_client_endpoint(const md_broker_t *mb);
/* The same for a live broker (unfenced, with such a listener): the ones
 * Metadata lists. NULL otherwise. */
const md_endpoint_t *kafka_live_endpoint(const md_broker_t *mb);

/* auto.create.topics.enable: asks the controller to create name with the
 * broker's num.partitions and default.replication.factor (capped at the live
 * brokers), once at a time per name; the client's retry finds it. */
void kafka_auto_create_topic(broker_t *b, const char *name);

/* Parked Fetch requests (api_fetch.c): answered at once, for shutdown. */
void kafka_fetch_release_all(broker_t *b);

#endif
