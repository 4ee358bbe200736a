/* The group coordinator (DESIGN §5): Kafka's classic consumer-group
 * protocol. The coordinator of a group is the leader of partition
 * group_partition_for(group, N) of __consumer_offsets, whose records hold
 * the group's committed offsets and metadata (Kafka's formats, so Kafka's
 * tools read them). When this broker becomes leader of such a partition it
 * loads the groups from the log before answering for them
 * (COORDINATOR_LOAD_IN_PROGRESS meanwhile); when it stops leading, it drops
 * them and answers NOT_COORDINATOR. Runs on the broker's loop thread. */
#ifndef CAIRN_GROUP_COORDINATOR_H
#define CAIRN_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;

#define GROUP_OFFSETS_TOPIC "__consumer_offsets"

typedef struct group_coord group_coord_t;

/* A coordinator for broker b (borrowed; outlives it). Owned by the caller;
 * NULL when out of memory. */
group_coord_t *group_coord_new(struct broker *b);
/* Fails every parked request (NOT_COORDINATOR) and frees. */
void group_coord_free(group_coord_t *gc);

/* After every metadata change: starts loading the __consumer_offsets
 * partitions this broker now leads, drops those it no longer leads. */
void group_coord_sync(group_coord_t *gc);

/* Kafka's choice of partition (common/group_partition.h), so a group
 * lands where Kafka would put it. n > 0. */
int32_t group_partition_for(const char *group, int32_t n);

/* ---- read-only views (DescribeGroups, ListGroups, cairnctl) ------------------ */

/* A topic and partitions, decoded from a member's ConsumerProtocolAssignment. */
typedef struct group_topic_parts {
    const char *topic;
    const int32_t *partitions;
    size_t n_partitions;
} group_topic_parts_t;

typedef struct group_member_view {
    const char *member_id;
    const char *group_instance_id;     /* NULL: dynamic member */
    const char *client_id;
    const char *client_host;
    const uint8_t *metadata;           /* the chosen protocol's metadata */
    size_t metadata_len;
    const uint8_t *assignment;         /* as the leader sent it; may be empty */
    size_t assignment_len;
    /* The assignment decoded when the protocol type is "consumer" and it
     * parses; otherwise n_assigned is 0. */
    const group_topic_parts_t *assigned;
    size_t n_assigned;
} group_member_view_t;

typedef struct group_offset_view {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;              /* -1: not given */
    const char *metadata;              /* never NULL */
    int64_t commit_timestamp_ms;
} group_offset_view_t;

typedef struct group_view {
    const char *group_id;
    const char *state;                 /* Empty, PreparingRebalance, CompletingRebalance,
                                        * Stable, Dead */
    const char *protocol_type;         /* "" when none */
    const char *protocol;              /* "" when none */
    int32_t generation;
    const char *leader;                /* "" when none */
    group_member_view_t *members;
    size_t n_members;
    group_offset_view_t *offsets;
    size_t n_offsets;
    void *owned;                       /* private: what group_view_release frees */
} group_view_t;

/* Fills out with group's state. Strings and arrays point into the
 * coordinator's state: valid until control returns to the event loop, or
 * until group_view_release (which frees the arrays; always call it after
 * a 0 return). Returns a Kafka error code: 0 (NONE; a group not known here
 * is reported as state "Dead" with no members and offsets),
 * NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS (14), or
 * COORDINATOR_NOT_AVAILABLE (15) when __consumer_offsets does not exist yet.
 * On a non-zero return out is untouched and nothing needs releasing. */
int16_t group_coord_describe(group_coord_t *gc, const char *group, group_view_t *out);
void group_view_release(group_view_t *v);

typedef struct group_listing {
    const char *group_id;
    const char *protocol_type;
    const char *state;
} group_listing_t;

/* The groups this broker coordinates (loaded partitions only), at most max
 * of them into out. Strings are borrowed as in group_coord_describe.
 * Returns the number of groups there are (may exceed max). */
size_t group_coord_list(group_coord_t *gc, group_listing_t *out, size_t max);

#endif
