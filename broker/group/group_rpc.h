/* ListGroups and DescribeGroup on the REPLICATION listener (cairnctl group
 * list / group describe): the group coordinator's read-only views turned
 * into group.proto answers, bounded in count and bytes. Runs on the
 * broker's loop thread. */
#ifndef CAIRN_GROUP_RPC_H
#define CAIRN_GROUP_RPC_H

#include "coordinator.h"
#include "rpc.h"

#define GROUP_RPC_NAME_MAX 32767u          /* bytes of a requested group id (a Kafka string) */
#define GROUP_RPC_LIST_MAX 10000u          /* groups per ListGroups answer */
#define GROUP_RPC_MEMBERS_MAX 10000u       /* members per DescribeGroup answer */
#define GROUP_RPC_OFFSETS_MAX 100000u      /* committed offsets per DescribeGroup answer */
#define GROUP_RPC_ANSWER_BYTES_MAX (16u << 20)   /* encoded groups, members or offsets */

/* Answer frame (an RPC_LIST_GROUPS / RPC_DESCRIBE_GROUP request) on conn
 * from gc (borrowed). An undecodable or oversized request is answered with
 * Status CAIRN_ERR_INVALID_REQUEST. */
void group_rpc_list_answer(group_coord_t *gc, rpc_conn_t *conn, const rpc_frame_t *frame);
void group_rpc_describe_answer(group_coord_t *gc, rpc_conn_t *conn, const rpc_frame_t *frame);

#endif
