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

/* Listens on host:port; rs is borrowed and outlives the server. Returns an
 * owned server or NULL (logged). frame_max bounds one fetch response. */
fetch_server_t *fetch_server_new(struct event_base *base, const char *host, uint16_t port,
                                 replicas_t *rs, size_t frame_max);
/* Answers every parked fetch, closes the listener and connections. */
void fetch_server_free(fetch_server_t *fs);

/* The group coordinator whose views answer ListGroups and DescribeGroup
 * (cairnctl group list / describe) on this listener. gc is borrowed: it must
 * outlive the server, or be unset (NULL) before it is freed. Until one is
 * set those requests are answered COORDINATOR_NOT_AVAILABLE. */
void fetch_server_set_groups(fetch_server_t *fs, struct group_coord *gc);

#endif
