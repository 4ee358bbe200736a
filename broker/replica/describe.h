/* DescribeReplicas on the REPLICATION listener (cairnctl topic describe):
 * for each partition this broker leads, its high watermark, log range and
 * what it knows of every follower's progress. Runs on the broker's loop
 * thread. */
#ifndef CAIRN_REPLICA_DESCRIBE_H
#define CAIRN_REPLICA_DESCRIBE_H

#include "replicas.h"
#include "rpc.h"

#define DESCRIBE_PARTITIONS_MAX 10000u   /* per answer */
#define DESCRIBE_TOPICS_MAX 10000u       /* per request */

/* Answers frame (an RPC_DESCRIBE_REPLICAS request) on conn from rs
 * (borrowed). An undecodable or oversized request is answered with
 * CAIRN_ERR_INVALID_REQUEST. */
void describe_replicas_answer(replicas_t *rs, rpc_conn_t *conn, const rpc_frame_t *frame);

#endif
