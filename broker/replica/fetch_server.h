/* The leader side of the replication protocol: a listener (the broker's
 * REPLICATION listener) answering ReplicaFetch from followers with their
 * partitions' records as the frame's raw payload, divergence answers
 * (KIP-101/KIP-279), epoch fencing (KIP-320), and long polls parked until
 * the leader appends. Followers' fetches move the high watermark
 * (leader.h). Runs on the broker's loop thread. */
#ifndef CAIRN_FETCH_SERVER_H
#define CAIRN_FETCH_SERVER_H

#include <stdint.h>

#include <event2/event.h>

#include "replicas.h"

typedef struct fetch_server fetch_server_t;
struct group_coord;

/* Listens on host:port; rs and gc (whose views answer ListGroups and
 * DescribeGroup: cairnctl group list / describe) are borrowed and outlive
 * the server. Returns an owned server or NULL (logged). frame_max bounds
 * one fetch response. */
fetch_server_t *fetch_server_new(struct event_base *base, const char *host, uint16_t port,
                                 replicas_t *rs, struct group_coord *gc, size_t frame_max);
/* Answers every parked fetch, closes the listener and connections. */
void fetch_server_free(fetch_server_t *fs);

#endif
