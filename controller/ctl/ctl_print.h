/* cairnctl output: each admin response as JSON (shapes of DESIGN §6; fields
 * may be added, never renamed) or as aligned human tables in the style of
 * kafka-topics.sh --describe. */
#ifndef CAIRN_CTL_PRINT_H
#define CAIRN_CTL_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "admin.pb-c.h"
#include "ctl_group_view.h"
#include "group.pb-c.h"
#include "replication.pb-c.h"

/* Each writes one response to out (borrowed); the response is borrowed.
 * Returns 0, or -1 when memory for a table ran out (out may hold part of
 * the output). Write errors on out are left for the caller's ferror(). */
int ctl_print_cluster_status(FILE *out, const Cairn__ClusterStatusResponse *r, bool json);
int ctl_print_topic_list(FILE *out, const Cairn__ListTopicsResponse *r, bool json);
int ctl_print_topic(FILE *out, const Cairn__TopicDescription *t, bool json);
/* 'topic describe': the partitions of shown (those of whole, maybe
 * filtered: see ctl_topic_view_t) plus what their leaders reported,
 * states[i] for shown->partitions[i] (NULL: its leader did not report it);
 * the topic line's counts come from whole. JSON adds "high_watermark" (null
 * while the leader does not know it yet), "log_end_offset" and
 * "replica_lag": [{"id": N, "lag": L or null}] in replica order to each
 * partition reported; the table adds HighWatermark and ReplicaLag cells
 * ("-" when unknown). */
int ctl_print_topic_replicas(FILE *out, const Cairn__TopicDescription *whole,
                             const Cairn__TopicDescription *shown,
                             const Cairn__PartitionReplicaState *const *states, bool json);
int ctl_print_broker_list(FILE *out, const Cairn__ListBrokersResponse *r, bool json);
/* 'group list': GROUP, STATE, PROTOCOL-TYPE, COORDINATOR per group of l
 * (finished: see ctl_group_list_finish), or {"groups": [{"group", "state",
 * "protocol_type", "coordinator"}]}. */
int ctl_print_group_list(FILE *out, const ctl_group_list_t *l, bool json);
/* 'group describe': g as answered by broker coordinator, with rows (built
 * from g, log end offsets filled in where known). The table is
 * kafka-consumer-groups --describe's (GROUP TOPIC PARTITION CURRENT-OFFSET
 * LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID, "-" for what is unknown
 * or absent) after a "Key: value" line for the group, then the members
 * with their assignments. JSON: see docs/operations.md. */
int ctl_print_group(FILE *out, const Cairn__DescribeGroupResponse *g, int32_t coordinator,
                    const ctl_group_rows_t *rows, bool json);

#endif
