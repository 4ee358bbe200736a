/* The leader's side of replication for one partition (DESIGN §5): what each
 * follower has fetched and fsync'd, the high watermark — the smallest
 * progress over the ISR, counting only fsync'd data in durable mode, never
 * moving back — the acks=all waiters it releases, and which ISR change the
 * leader should ask the controller for. Pure state on replica_t; runs on
 * the broker's loop thread. */
#ifndef CAIRN_REPLICA_LEADER_H
#define CAIRN_REPLICA_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replicas.h"

/* The image made this broker leader (at r->leader_epoch): followers start
 * with unknown progress, so the high watermark waits for their fetches. */
void replica_leader_start(replica_t *r, uint64_t now_ms);
/* Leadership ended: every acks=all waiter fails with kafka_error. */
void replica_leader_stop(replica_t *r, int16_t kafka_error);

/* A follower fetched at fetch_offset with durable_offset fsync'd. Returns
 * true when the high watermark moved. */
bool replica_leader_fetched(replica_t *r, int32_t follower, int64_t fetch_offset,
                            int64_t durable_offset, uint64_t now_ms);
/* A follower reported that durable_offset is fsync'd (ReplicaProgress).
 * Counts only up to what it has fetched. Returns true when the high
 * watermark moved. */
bool replica_leader_durable(replica_t *r, int32_t follower, int64_t durable_offset);

/* The leader appended: followers' parked fetches wake, and in page-cache
 * mode, where the leader's own progress is its log end, the high watermark
 * is recomputed (an ISR of one commits at once). In durable mode the
 * leader's fsync moves it instead. */
void replica_leader_appended(replica_t *r);

/* Recomputes the high watermark (after the leader's own fsync, or an ISR
 * change). Returns true when it moved. */
bool replica_leader_update_hw(replica_t *r);

/* acks=all: fn(arg, replica_leader_commit_error(r)) once the high
 * watermark reaches end_offset, or fn(arg, error) if leadership is lost
 * first. Returns 1 when it already has (fn not called: the caller answers
 * replica_leader_commit_error itself), 0 when registered, -1 when the
 * queue is full. */
/* What a write the high watermark passed gets: NONE, or Kafka's
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
 * min.insync.replicas meanwhile. */
int16_t replica_leader_commit_error(const replica_t *r);

int replica_leader_when_committed(replica_t *r, int64_t end_offset,
                                  void (*fn)(void *arg, int16_t kafka_error), void *arg);

/* The ISR the leader should propose, if different from the committed one:
 * followers not caught up for lag_ms leave (never the leader itself);
 * followers that caught up to the high watermark and to the start of the
 * current leader epoch join. Returns true with new_isr filled. */
bool replica_leader_isr_wanted(const replica_t *r, uint64_t now_ms, uint64_t lag_ms,
                               int32_t *new_isr, size_t *n_new_isr);

/* Follower state of id, or NULL. */
const replica_follower_t *replica_leader_follower(const replica_t *r, int32_t id);

#endif
