/* 'group list' and 'group describe' (Kafka's kafka-consumer-groups --list
 * and --describe): the controllers give the brokers and the leader of the
 * group's __consumer_offsets partition (its coordinator); the brokers answer
 * ListGroups / DescribeGroup on their REPLICATION listener, and the
 * partition leaders their high watermarks (DescribeReplicas, ctl_describe.h).
 * One private event loop; every wait is bounded by --timeout. */
#ifndef CAIRN_CTL_GROUPS_H
#define CAIRN_CTL_GROUPS_H

#include "ctl_args.h"

#define CTL_GROUP_BROKER_QUERY_MS_MAX 2000u  /* per broker call, within --timeout */
#define CTL_GROUP_RETRY_MS 5000u             /* how long a coordinator that is moving or
                                              * loading is asked again */
#define CTL_GROUP_BACKOFF_MS 200u            /* between those attempts */

/* Runs a->cmd (CTL_CMD_GROUP_LIST or CTL_CMD_GROUP_DESCRIBE; a borrowed):
 * the output goes to stdout, failures and warnings to stderr as one line
 * each. Returns the exit status: 0, or 1 when the command failed. */
int ctl_groups_run(const ctl_args_t *a);

#endif
