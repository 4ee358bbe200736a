/* Calls "the controller leader": one rpc_client per voter, following
 * NOT_LEADER answers (DESIGN §4) until a leader answers or a deadline passes.
 * Used by brokers (registration, heartbeats, metadata fetch) and cairnctl. */
#ifndef CAIRN_CTRL_CLIENT_H
#define CAIRN_CTRL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "config.h"
#include "rpc.h"
#include "rpc.pb-c.h"

#define CTRL_CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT 1000u
#define CTRL_CLIENT_CALLS_MAX_DEFAULT 64u
#define CTRL_CLIENT_BACKOFF_MIN_MS 20u
#define CTRL_CLIENT_BACKOFF_MAX_MS 50u
/* Reconnect backoff cap of each voter's connection when opts leave it 0. */
#define CTRL_CLIENT_RECONNECT_MAX_MS 250u
/* Longest human message a callback can receive (why). */
#define CTRL_CLIENT_WHY_MAX 512u

typedef struct ctrl_client ctrl_client_t;

typedef struct ctrl_client_opts {
    uint32_t attempt_timeout_ms;   /* cap on one attempt; 0: 1000 */
    size_t calls_max;              /* outstanding ctrl_client_call()s; 0: 64 */
    rpc_client_opts_t rpc;         /* for each voter's connection (zeroes: rpc defaults) */
} ctrl_client_opts_t;

/* Outcome of one ctrl_client_call. Runs exactly once per accepted call, on the
 * loop thread, never from inside ctrl_client_call.
 *   err 0: a controller answered with a Status other than NOT_LEADER (success
 *          or another error); body is its serialized response, which the
 *          caller decodes (its Status is field 1). why is "".
 *   CAIRN_ERR_NO_QUORUM: no leader answered before the deadline; why is
 *          "no quorum: no controller leader reachable within N ms (tried A, B)".
 *   CAIRN_ERR_CORRUPT: a controller sent a body whose Status did not parse.
 *   CAIRN_ERR_TOO_LARGE: a connection refused the request as too large.
 *   CAIRN_ERR_CANCELLED: the client was freed first.
 * body and why are borrowed, valid only during the callback. */
typedef void (*ctrl_client_cb)(int err, const char *why, const uint8_t *body,
                               size_t body_len, void *arg);

/* Creates a client for voters[0..n_voters), 1 <= n_voters <= CAIRN_MAX_VOTERS,
 * each with a non-empty host and non-zero port. voters and opts are borrowed
 * (copied); opts may be NULL. Connections are made lazily. Returns an owned
 * client, or NULL on bad arguments or allocation failure. */
ctrl_client_t *ctrl_client_new(struct event_base *base, const cairn_voter_t *voters,
                               size_t n_voters, const ctrl_client_opts_t *opts);

/* Completes every outstanding call with CAIRN_ERR_CANCELLED, then frees the
 * client. Must not be called from inside one of this client's callbacks.
 * NULL is a no-op. */
void ctrl_client_free(ctrl_client_t *cc);

/* Sends req (a request of RpcType type) to the last known leader (at first
 * the first voter) and follows redirects until timeout_ms (> 0) has passed
 * overall; each attempt waits at most min(remaining, attempt_timeout_ms).
 * req is borrowed only during this call (the client keeps its own copy).
 * Returns 0 (cb will run exactly once), or, with cb never called:
 * CAIRN_ERR_INVALID_REQUEST (timeout_ms 0 or NULL cb/req),
 * CAIRN_ERR_QUEUE_FULL (calls_max outstanding), CAIRN_ERR_TOO_LARGE
 * (request over the frame limit), CAIRN_ERR_NOMEM. */
int ctrl_client_call(ctrl_client_t *cc, uint32_t type, const ProtobufCMessage *req,
                     uint32_t timeout_ms, ctrl_client_cb cb, void *arg);

/* Changes the per-attempt cap for attempts started from now on (0: the
 * default). For a caller that, having found the leader, must not have a
 * non-idempotent request resent elsewhere after a slow answer. */
void ctrl_client_set_attempt_timeout(ctrl_client_t *cc, uint32_t attempt_timeout_ms);

/* Id of the last known leader (from an answer or a NOT_LEADER hint); 0 when
 * none is known yet. */
uint32_t ctrl_client_leader(const ctrl_client_t *cc);

/* Number of calls accepted and not yet completed. */
size_t ctrl_client_outstanding(const ctrl_client_t *cc);

/* Extracts Status (field 1 of every controller response) from a serialized
 * response without knowing its type. Returns 0 with *status_out owned by the
 * caller (free with cairn__status__free_unpacked), or NULL when the body has
 * no field 1 (proto3: an all-default, i.e. OK, Status). Returns -1 when the
 * body is not well-formed protobuf or field 1 is not a valid Status. body is
 * borrowed. */
int ctrl_client_parse_status(const uint8_t *body, size_t body_len,
                             Cairn__Status **status_out);

#endif
