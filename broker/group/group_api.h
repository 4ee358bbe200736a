/* The coordinator's requests, as the Kafka handlers (broker/kafka/
 * api_group*.c) pass them in: the group protocol's rules live here, the
 * wire formats there. Request fields are borrowed for the duration of the
 * call (the coordinator copies what it keeps). Results passed to a callback
 * are borrowed for the duration of that callback. A callback may run before
 * the function returns or later, from the loop; it runs exactly once.
 * Errors are Kafka error codes. */
#ifndef CAIRN_GROUP_API_H
#define CAIRN_GROUP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator.h"

typedef struct group_protocol_in {
    const char *name;
    const uint8_t *metadata;
    size_t metadata_len;
} group_protocol_in_t;

typedef struct group_join_req {
    const char *group_id;
    const char *member_id;             /* "" on a first join */
    const char *instance_id;           /* NULL: dynamic membership */
    const char *protocol_type;
    const group_protocol_in_t *protocols;
    size_t n_protocols;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;      /* -1 (v0): the session timeout */
    const char *client_id;
    const char *client_host;
} group_join_req_t;

typedef struct group_join_result {
    int16_t error;
    int32_t generation;                /* -1 on error */
    const char *protocol;              /* "" on error */
    const char *leader;
    const char *member_id;             /* the member's (new) id; "" on error */
    /* For the leader only: every member with its metadata for protocol. */
    const group_member_view_t *members;
    size_t n_members;
} group_join_result_t;

typedef void (*group_join_fn)(void *arg, const group_join_result_t *res);
void group_coord_join(group_coord_t *gc, const group_join_req_t *req, group_join_fn fn,
                      void *arg);

typedef struct group_assignment_in {
    const char *member_id;
    const uint8_t *assignment;
    size_t assignment_len;
} group_assignment_in_t;

typedef struct group_sync_req {
    const char *group_id;
    const char *member_id;
    const char *instance_id;
    int32_t generation;
    const group_assignment_in_t *assignments;   /* the leader's */
    size_t n_assignments;
} group_sync_req_t;

typedef void (*group_sync_fn)(void *arg, int16_t error, const uint8_t *assignment,
                              size_t assignment_len);
void group_coord_sync_group(group_coord_t *gc, const group_sync_req_t *req, group_sync_fn fn,
                            void *arg);

int16_t group_coord_heartbeat(group_coord_t *gc, const char *group_id, const char *member_id,
                              const char *instance_id, int32_t generation);
int16_t group_coord_leave(group_coord_t *gc, const char *group_id, const char *member_id);

/* ---- offsets ------------------------------------------------------------------ */

typedef struct group_commit_part {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    const char *metadata;              /* NULL: "" */
    int16_t error;                     /* out */
} group_commit_part_t;

typedef struct group_commit_req {
    const char *group_id;
    const char *member_id;
    const char *instance_id;
    int32_t generation;                /* -1: not a group member (manual assignment) */
    group_commit_part_t *parts;        /* errors are written here */
    size_t n_parts;
} group_commit_req_t;

/* fn(arg) once every part's error is set; req->parts must stay valid until
 * then (the rest of req is copied). */
void group_coord_commit(group_coord_t *gc, const group_commit_req_t *req,
                        void (*fn)(void *arg), void *arg);

/* The committed offset of (topic, partition): NONE with *out filled (offset
 * -1 when none; strings borrowed until control returns to the loop), or the
 * coordinator's routing error. */
int16_t group_coord_fetch_offset(group_coord_t *gc, const char *group_id, const char *topic,
                                 int32_t partition, group_offset_view_t *out);
/* Routing check alone (NONE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE). */
int16_t group_coord_check(group_coord_t *gc, const char *group_id);

/* DeleteGroups for one group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, routing
 * errors, or NONE once its tombstones are committed. */
void group_coord_delete(group_coord_t *gc, const char *group_id,
                        void (*fn)(void *arg, int16_t error), void *arg);

typedef struct group_offset_delete_part {
    const char *topic;
    int32_t partition;
    int16_t error;                     /* out: GROUP_SUBSCRIBED_TO_TOPIC or NONE */
} group_offset_delete_part_t;

/* OffsetDelete: fn(arg, group_error) once done; parts' errors are set when
 * group_error is NONE. parts must stay valid until then. */
void group_coord_offset_delete(group_coord_t *gc, const char *group_id,
                               group_offset_delete_part_t *parts, size_t n_parts,
                               void (*fn)(void *arg, int16_t error), void *arg);

#endif
