/* The pure half of 'group list' and 'group describe': the union of the
 * brokers' group lists, and the rows of kafka-consumer-groups --describe
 * (committed offset, log end offset, lag, owner) built from a
 * coordinator's answer. No I/O. (Which partition of __consumer_offsets
 * coordinates a group is common/group_partition.h.) */
#ifndef CAIRN_CTL_GROUP_VIEW_H
#define CAIRN_CTL_GROUP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "group.pb-c.h"

#define CTL_GROUP_OFFSETS_TOPIC "__consumer_offsets"

/* ---- group list ------------------------------------------------------------- */

typedef struct ctl_group_entry {
    const char *group_id;          /* borrowed from the answer it came in */
    const char *protocol_type;
    const char *state;
    int32_t coordinator;           /* id of the broker that listed it */
} ctl_group_entry_t;

typedef struct ctl_group_list {
    ctl_group_entry_t *groups;     /* owned array; the strings are borrowed */
    size_t n_groups, cap;
} ctl_group_list_t;

/* Adds the groups of r (borrowed: must outlive l), answered by broker
 * coordinator. l starts zeroed. Returns 0, or -1 when out of memory. */
int ctl_group_list_add(ctl_group_list_t *l, int32_t coordinator,
                       const Cairn__ListGroupsResponse *r);
/* Sorts by group id and keeps one entry per group: a group two brokers
 * list (while its coordinator moves) keeps the entry that is not Dead,
 * else the one of the lower broker id. */
void ctl_group_list_finish(ctl_group_list_t *l);
void ctl_group_list_free(ctl_group_list_t *l);

/* ---- group describe ------------------------------------------------------------ */

/* One line of the describe table: a partition the group committed an
 * offset for or a member owns, or a member that owns none. */
typedef struct ctl_group_row {
    const char *topic;                            /* NULL: a member with no partition */
    int32_t partition;
    const Cairn__GroupOffset *offset;             /* NULL: nothing committed */
    const Cairn__GroupMemberDescription *member;  /* NULL: no current owner */
    bool has_log_end;                             /* set by the caller once known */
    int64_t log_end_offset;                       /* the partition leader's high watermark */
} ctl_group_row_t;

typedef struct ctl_group_rows {
    ctl_group_row_t *rows;         /* owned; borrow from the answer */
    size_t n_rows;
} ctl_group_rows_t;

/* Rows for g (borrowed: must outlive r): one per (topic, partition) that
 * has a committed offset or an owner, sorted by topic then partition, then
 * one per member without partitions, in g's order. Returns 0, or -1 when
 * out of memory (r is then empty). */
int ctl_group_rows_init(ctl_group_rows_t *r, const Cairn__DescribeGroupResponse *g);
void ctl_group_rows_free(ctl_group_rows_t *r);

/* The committed offset of row (a negative one counts as none, as Kafka's
 * tool has it). */
bool ctl_group_row_committed(const ctl_group_row_t *row, int64_t *offset);
/* Lag = log end offset - committed offset, when both are known. */
bool ctl_group_row_lag(const ctl_group_row_t *row, int64_t *lag);

/* How many partitions m is assigned, over all its topics. */
size_t ctl_group_member_partition_count(const Cairn__GroupMemberDescription *m);

#endif
