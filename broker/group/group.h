/* The coordinator's state, shared by its parts (not used outside
 * broker/group): the __consumer_offsets partitions this broker leads and
 * the groups they hold, each group's members and committed offsets.
 * Ownership: the coordinator owns its partitions and groups, a group its
 * members and offsets; every string here is owned by the struct holding it.
 * Runs on the broker's loop thread. */
#ifndef CAIRN_GROUP_H
#define CAIRN_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "coordinator.h"
#include "group_api.h"

struct broker;
struct replica;

typedef enum {
    GROUP_EMPTY,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
} group_state_t;

const char *group_state_name(group_state_t s);

typedef struct group_protocol {
    char *name;
    uint8_t *metadata;
    size_t metadata_len;
} group_protocol_t;

typedef struct group group_t;

typedef struct group_member {
    group_t *g;
    char *member_id;
    char *instance_id;                 /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    group_protocol_t *protocols;       /* in the member's order of preference */
    size_t n_protocols;
    uint8_t *assignment;               /* from the leader's SyncGroup */
    size_t assignment_len;
    /* A parked JoinGroup / SyncGroup (at most one each). */
    group_join_fn join_fn;
    void *join_arg;
    group_sync_fn sync_fn;
    void *sync_arg;
    struct event *session_timer;
} group_member_t;

typedef struct group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp_ms;
} group_offset_t;

typedef struct group {
    struct group_coord *gc;
    int32_t part;                      /* its __consumer_offsets partition */
    char *id;
    group_state_t state;
    int32_t generation;
    char *protocol_type;               /* NULL: none yet */
    char *protocol;                    /* chosen in the last rebalance; NULL: none */
    char *leader_id;                   /* NULL: none */
    group_member_t **members;
    size_t n_members, cap_members;
    group_offset_t *offsets;           /* sorted by (topic, partition) */
    size_t n_offsets, cap_offsets;
    int64_t state_since_ms;            /* wall clock of the last state change */
    struct event *rebalance_timer;
    bool initial_delay;                /* the rebalance waits group.initial.rebalance.delay.ms */
    bool new_member_added;             /* a member joined during the initial delay */
    uint64_t rebalance_deadline_ms;    /* monotonic: the initial delay never passes it */
    bool storing;                      /* the leader's assignment is being written */
    struct commit_op *commits;         /* OffsetCommits being written (offsets.c) */
    uint32_t refs;                     /* writes in flight that point at it */
    bool removed;                      /* gone from the table; freed when refs is 0 */
    struct group *next;                /* hash chain */
} group_t;

typedef enum {
    PART_NOT_LEADER,
    PART_LOADING,
    PART_LOADED,
} part_state_t;

typedef struct coord_part {
    part_state_t state;
    int32_t epoch;                     /* leader epoch it was loaded in */
    int64_t load_next;                 /* loading: next offset to read */
    int64_t load_end;                  /* loading: read up to here */
    uint64_t load_retry_ms;            /* loading: monotonic; a failed read waits until then */
} coord_part_t;

#define GROUP_BUCKETS 1024u

struct group_coord {
    struct broker *b;
    coord_part_t *parts;               /* one per __consumer_offsets partition */
    int32_t n_parts;                   /* 0: the topic does not exist yet */
    group_t *buckets[GROUP_BUCKETS];
    struct event *load_ev;             /* loads one chunk per loop turn */
    struct event *expire_timer;
    uint8_t *load_buf;
    size_t load_buf_len;
};

/* ---- coordinator.c ----------------------------------------------------------- */

/* Where group's requests go: KAFKA_ERR_NONE with *part set when this broker
 * coordinates it and has loaded its partition, else NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE. */
int16_t coord_route(struct group_coord *gc, const char *group, int32_t *part);
/* The __consumer_offsets replica of partition part, if this broker leads it. */
struct replica *coord_leader_replica(struct group_coord *gc, int32_t part);

group_t *coord_group_find(struct group_coord *gc, const char *id);
/* A new Empty group in the table, or NULL when out of memory. */
group_t *coord_group_add(struct group_coord *gc, const char *id, int32_t part);
/* Takes g out of the table; answers its parked requests with kafka_error
 * (0 only where none can be parked: a load, or an Empty or Dead group,
 * which has no members) and frees it once no write points at it. */
void coord_group_remove(struct group_coord *gc, group_t *g, int16_t kafka_error);
/* A write pointing at g is done (see group_t.refs). */
void coord_group_unref(group_t *g);

/* ---- view.c: what describe and join show of a member ---------------------------- */

/* m's entry for the group's chosen protocol (borrowed), or NULL when the
 * group has none or m does not list it. */
const group_protocol_t *group_member_protocol(const group_t *g, const group_member_t *m);
/* What a view owns (decoded assignments). */
typedef struct group_view_owned group_view_owned_t;
/* Fills out from m: its metadata for the group's protocol, its assignment
 * and, for protocol type "consumer", the assignment decoded (allocated in
 * own, which may be NULL to skip decoding). */
void group_member_view_fill(const group_t *g, const group_member_t *m, group_view_owned_t *own,
                            group_member_view_t *out);
void group_view_owned_free(group_view_owned_t *own);
group_view_owned_t *group_view_owned_new(void);
/* The topics of a ConsumerProtocolSubscription (protocol type "consumer"):
 * true when topic is among them or the bytes do not parse (so callers err
 * on the side of keeping offsets). */
bool group_subscription_has_topic(const uint8_t *metadata, size_t len, const char *topic);

/* ---- rebalance.c ------------------------------------------------------------- */

group_member_t *group_member_find(const group_t *g, const char *member_id);
/* Kafka's member checks: FENCED_INSTANCE_ID when instance_id (may be NULL)
 * belongs to another member, else UNKNOWN_MEMBER_ID or NONE with *out set. */
int16_t group_member_check(const group_t *g, const char *member_id, const char *instance_id,
                           group_member_t **out);
/* Removes m (leave, session expiry, fencing): answers its parked requests
 * with kafka_error and rebalances what remains. */
void group_member_remove(group_t *g, group_member_t *m, int16_t kafka_error);
/* The rebalance timer's callback (arg: the group). */
void group_on_rebalance_timer(evutil_socket_t fd, short what, void *arg);
/* A member known from the log after a load: its session starts now. */
void group_member_start_session(group_member_t *m);
void group_member_free(group_member_t *m);
/* Frees every member without answering anything (replay). */
void group_members_clear(group_t *g);
/* Adds a member as a GroupMetadataValue record describes it, with the
 * group's protocol (set first) and its subscription for it. Its session
 * starts when the partition has loaded. Out of memory: the member is
 * skipped (it rejoins). Copies everything. */
void group_member_restore(group_t *g, const char *member_id, const char *instance_id,
                          const char *client_id, const char *client_host,
                          int32_t session_timeout_ms, int32_t rebalance_timeout_ms,
                          const uint8_t *subscription, size_t subscription_len,
                          const uint8_t *assignment, size_t assignment_len);
/* Answers every parked request of g with kafka_error and stops its timers
 * (unload, deletion); kafka_error 0 asserts nothing is parked. */
void group_fail_parked(group_t *g, int16_t kafka_error);

/* ---- offsets.c --------------------------------------------------------------- */

group_offset_t *group_offset_find(const group_t *g, const char *topic, int32_t partition);
/* Sets (or with offset < 0 removes) the committed offset. -1 when out of
 * memory. */
int group_offset_set(group_t *g, const char *topic, int32_t partition, int64_t offset,
                     int32_t leader_epoch, const char *metadata, int64_t commit_ts_ms);
void group_offsets_free(group_t *g);
/* Periodic: expires offsets of groups without members (offsets.retention.minutes). */
void group_offsets_expire(struct group_coord *gc);

/* ---- store.c: __consumer_offsets records --------------------------------------- */

typedef void (*store_done_fn)(void *arg, int16_t kafka_error);

/* Appends the group's metadata (members, assignments) or, with tombstone,
 * its deletion, and calls fn once the partition's high watermark passed it
 * or it failed (errors as the coordinator reports them:
 * COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR). 0, or -1 with nothing
 * written and fn not called (out of memory). */
int store_group(group_t *g, bool tombstone, store_done_fn fn, void *arg);

/* What a commit writes is what OffsetFetch shows; an offset < 0 is a
 * tombstone. */
typedef group_offset_view_t store_offset_t;
int store_offsets(group_t *g, const store_offset_t *offs, size_t n, store_done_fn fn, void *arg);

/* Applies the records of the batches in buf (whole batches, as read from
 * the log) to the coordinator's groups in partition part. Records it does
 * not understand are skipped. */
void store_replay(struct group_coord *gc, int32_t part, const uint8_t *buf, size_t len);

#endif
