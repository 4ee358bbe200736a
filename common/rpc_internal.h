/* Private helpers shared by the RPC codec, server and client (common/rpc_*.c).
 * Not part of the public API in rpc.h; nothing outside common/ includes this. */
#ifndef CAIRN_RPC_INTERNAL_H
#define CAIRN_RPC_INTERNAL_H

#include <stddef.h>

#include <event2/util.h>

#include "rpc.h"

struct sockaddr;

/* Room for "[ipv6]:port" plus the terminator. */
#define RPC_PEER_LEN 64

/* The frame bound actually applied: 0 means CAIRN_RPC_FRAME_MAX_DEFAULT, and
 * nothing above what a u32 frame_length can express. */
size_t rpc_frame_max_resolve(size_t frame_max);

/* Parses the first frame buffered in `in` without copying more than that
 * frame: the length prefix is validated from a peeked copy, so a peer that
 * announces a frame over frame_max is rejected before any of it is buffered
 * contiguously. On OK the frame points into `in` (pulled up) and *scratch;
 * the caller drains *consumed bytes once done with the frame and frees
 * *scratch with rpc_frame_scratch_free. Same results as rpc_frame_parse. */
rpc_parse_t rpc_frame_next(struct evbuffer *in, size_t frame_max, rpc_frame_t *frame,
                           size_t *consumed, void **scratch, const char **why);

/* Writes "a.b.c.d:port" or "[v6]:port" (or "?" for other families) into out,
 * always NUL-terminated. */
void rpc_format_sockaddr(const struct sockaddr *sa, char *out, size_t out_len);

/* Internal RPC is latency-bound (Raft heartbeats, acks): disable Nagle.
 * Failure only costs latency, so it is ignored. */
void rpc_set_nodelay(evutil_socket_t fd);

#endif
