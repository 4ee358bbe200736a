/* The partition replicas this broker hosts, kept in step with the metadata
 * image: a log per assigned partition (opened, recovered, created), the
 * leader epoch and role the image gives it, retention and flush timers, and
 * deletion of logs whose topic is gone. Leadership comes only from the
 * image (DESIGN §5). Runs on the broker's loop thread. */
#ifndef CAIRN_REPLICAS_H
#define CAIRN_REPLICAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "image.h"
#include "log_io.h"
#include "plog.h"

typedef struct replicas replicas_t;

/* Someone waiting for a partition's readable offset to move (a parked
 * Fetch). Intrusive: the waiter owns the node and unlinks it before it
 * goes away. */
typedef struct replica_watch {
    void (*fn)(void *arg);
    void *arg;
    struct replica_watch *prev, *next;
    struct replica *owner;             /* NULL while unlinked */
    struct replica_watch **head;       /* the list it is on */
} replica_watch_t;

#define REPLICA_MAX 16                 /* replicas of one partition we track */
#define REPLICA_COMMIT_WAITERS_MAX 65536

/* What the leader knows of one follower (Kafka's replica state). */
typedef struct replica_follower {
    int32_t id;
    int64_t leo;                       /* fetch offset of its last fetch; -1: unknown */
    int64_t durable;                   /* what it reports fsync'd; -1: unknown */
    uint64_t last_fetch_ms;
    uint64_t last_caught_up_ms;        /* last time it had everything the leader had */
    int64_t leader_leo_at_fetch;       /* the leader's end offset at its last fetch */
} replica_follower_t;

/* A Produce waiting for the high watermark to pass end_offset (acks=all). */
typedef struct replica_commit_wait {
    int64_t end_offset;
    void (*fn)(void *arg, int16_t kafka_error);
    void *arg;
    struct replica_commit_wait *next;
} replica_commit_wait_t;

typedef struct replica {
    char *topic;
    uint32_t partition;
    uint8_t topic_id[MD_UUID_LEN];
    plog_t *log;
    bool leader;                       /* the image names this broker leader */
    int32_t leader_epoch;
    int32_t leader_id;                 /* from the image; -1: none */
    uint32_t partition_epoch;
    int64_t max_message_bytes;         /* max.message.bytes for this topic */
    int64_t min_insync_replicas;       /* min.insync.replicas for this topic */
    bool durable;                      /* replicas count only what they fsync'd */
    int32_t replicas[REPLICA_MAX];     /* from the image */
    size_t n_replicas;
    int32_t isr[REPLICA_MAX];          /* committed ISR, from the image */
    size_t isr_size;
    /* leader role */
    replica_follower_t followers[REPLICA_MAX];
    size_t n_followers;
    int32_t pending_isr[REPLICA_MAX];  /* an AlterPartition in flight */
    size_t n_pending_isr;
    bool alter_in_flight;
    replica_commit_wait_t *commit_head, *commit_tail;
    size_t n_commit_waits;
    replica_watch_t *watchers;         /* readable offset (consumers) */
    replica_watch_t *append_watchers;  /* log end offset (followers' long polls) */
    uint64_t watch_mark;               /* for a watcher with several parts: watch once */
} replica_t;

/* Opens every partition log found under log.dirs (recovering those not
 * cleanly shut down) before the broker registers. cfg and io are borrowed
 * and outlive the set. Returns an owned set or NULL with one line in err. */
replicas_t *replicas_open(struct event_base *base, const cairn_config_t *cfg, log_io_t *io,
                          char *err, size_t err_len);

/* Closes every log (fsync), writes the clean-shutdown marker and frees. */
void replicas_close(replicas_t *rs);

/* Brings the set in step with img for broker self: opens or creates logs of
 * partitions assigned to it, updates roles and epochs and topic configs
 * (leading only once img holds self's registration with this incarnation,
 * unfenced),
 * and — only when caught_up, so a broker with a stale image never deletes
 * anything — deletes logs whose topic is gone or was recreated with a new
 * id or no longer lists this broker. */
void replicas_sync(replicas_t *rs, const md_image_t *img, uint32_t self,
                   const uint8_t *incarnation, bool caught_up);

/* The replica of topic/partition or NULL. Borrowed until the next sync. */
replica_t *replicas_get(replicas_t *rs, const char *topic, int32_t partition);
size_t replicas_count(const replicas_t *rs);
replica_t *replicas_at(replicas_t *rs, size_t i);

/* Registers w on r: w->fn(w->arg) runs once, when r's readable offset next
 * advances or r goes away; w is unlinked before the call. A watcher must
 * hold at most one watch per replica (use watch_mark): notify detaches the
 * list before calling back, so callbacks may watch again. */
void replica_watch(replica_t *r, replica_watch_t *w);
void replica_unwatch(replica_watch_t *w);

/* Tells r's watchers that data may be readable (after an append or an
 * fsync). */
void replica_notify(replica_t *r);

/* The same for the log end offset: w->fn runs once after r's next append
 * (or when r goes away). Followers' fetches park here, so they replicate
 * while the leader's own fsync is still running. */
void replica_watch_appends(replica_t *r, replica_watch_t *w);
void replica_notify_appends(replica_t *r);

#endif
