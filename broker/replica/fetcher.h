/* The follower side of replication: one fetcher per leader broker, each
 * with one connection to that broker's REPLICATION listener, fetching every
 * partition this broker follows from it (DESIGN §5). A fetch carries (fetch
 * offset, last fetched epoch) and what is fsync'd; a divergence answer makes
 * the follower truncate before fetching on (KIP-101/KIP-279); an offset
 * below the leader's log start makes it start over there. In durable mode
 * fetching goes on while the fetched records are fsync'd; when an fsync
 * completes, a one-way ReplicaProgress tells the leader, so its high
 * watermark moves at once. Runs on the broker's loop thread. */
#ifndef CAIRN_FETCHER_H
#define CAIRN_FETCHER_H

#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "image.h"
#include "replicas.h"

typedef struct fetchers fetchers_t;

/* rs, img and cfg are borrowed and outlive the set. */
fetchers_t *fetchers_new(struct event_base *base, const cairn_config_t *cfg, replicas_t *rs,
                         const md_image_t *img, uint32_t self);
/* After a metadata change: starts fetchers for new leaders, drops those no
 * partition follows any more, and wakes idle ones. */
void fetchers_sync(fetchers_t *fs);
void fetchers_free(fetchers_t *fs);

#endif
