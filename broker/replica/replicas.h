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
} replica_watch_t;

typedef struct replica {
    char *topic;
    uint32_t partition;
    uint8_t topic_id[MD_UUID_LEN];
    plog_t *log;
    bool leader;                       /* the image names this broker leader */
    int32_t leader_epoch;
    int64_t max_message_bytes;         /* max.message.bytes for this topic */
    int64_t min_insync_replicas;       /* min.insync.replicas for this topic */
    size_t isr_size;                   /* in the image */
    replica_watch_t *watchers;
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
 * partitions assigned to it, updates roles and epochs and topic configs,
 * and — only when caught_up, so a broker with a stale image never deletes
 * anything — deletes logs whose topic is gone or was recreated with a new
 * id or no longer lists this broker. */
void replicas_sync(replicas_t *rs, const md_image_t *img, uint32_t self, bool caught_up);

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

#endif
