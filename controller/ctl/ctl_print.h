/* cairnctl output: each admin response as JSON (shapes of DESIGN §6; fields
 * may be added, never renamed) or as aligned human tables in the style of
 * kafka-topics.sh --describe. */
#ifndef CAIRN_CTL_PRINT_H
#define CAIRN_CTL_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "admin.pb-c.h"
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

#endif
