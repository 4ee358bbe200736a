/* 'topic describe' beyond the controller: asks every partition leader, on
 * its REPLICATION listener, for DescribeReplicas (high watermark, log end,
 * followers' progress), all leaders at once on one private event loop. A
 * leader that does not answer only costs its partitions those fields, with
 * one warning line on stderr. */
#ifndef CAIRN_CTL_DESCRIBE_H
#define CAIRN_CTL_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "ctl_broker_client.h"
#include "replication.pb-c.h"

typedef struct ctl_leader_states {
    const Cairn__PartitionReplicaState **states;  /* per partition of the topic; NULL: unknown */
    ctl_broker_call_t *calls;                     /* owned; the states point into their answers */
    size_t n_calls;
} ctl_leader_states_t;

/* Fills out for t's partitions (t and brokers borrowed; brokers gives each
 * leader's replication_address). Every call is bounded by timeout_ms (> 0).
 * Returns 0, or -1 when out of memory (out is then empty). Free out with
 * ctl_leader_states_free either way. */
int ctl_leader_states_fetch(const Cairn__TopicDescription *t,
                            const Cairn__ListBrokersResponse *brokers, uint32_t timeout_ms,
                            ctl_leader_states_t *out);
void ctl_leader_states_free(ctl_leader_states_t *ls);

#endif
