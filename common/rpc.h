/* Internal RPC over libevent bufferevents (DESIGN §3). A frame is
 *   u32 frame_length | u32 header_length | RpcHeader | optional raw payload
 * (big-endian lengths; frame_length counts everything after itself).
 * All functions run on the thread that owns the event_base. */
#ifndef CAIRN_RPC_H
#define CAIRN_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#define CAIRN_RPC_FRAME_MAX_DEFAULT (64u << 20)

struct evbuffer;

/* ---- Frame codec (pure, no sockets) ----------------------------------- */

/* Appends one frame to out. msg may be NULL (empty body); payload may be
 * NULL. frame_max 0 means CAIRN_RPC_FRAME_MAX_DEFAULT (likewise in parse).
 * Returns 0, or -1 if the frame would exceed frame_max. */
int rpc_frame_write(struct evbuffer *out, uint32_t type, uint64_t correlation_id,
                    bool response, const ProtobufCMessage *msg,
                    const void *payload, size_t payload_len, size_t frame_max);

typedef struct rpc_frame {
    uint32_t type;
    uint64_t correlation_id;
    bool response;
    const uint8_t *body;           /* serialized request/response message */
    size_t body_len;
    const uint8_t *payload;        /* raw payload after the header */
    size_t payload_len;
} rpc_frame_t;

/* Frame parse result. */
typedef enum {
    RPC_PARSE_NEED_MORE = 0,
    RPC_PARSE_OK = 1,
    RPC_PARSE_ERROR = -1,          /* malformed or oversized: close the connection */
} rpc_parse_t;

/* Parses one complete frame at the front of buf[0..len). On OK, *consumed is
 * the frame's size and frame points into buf (and into *scratch, which the
 * caller frees with rpc_frame_scratch_free). On ERROR, why is a static
 * string. */
rpc_parse_t rpc_frame_parse(const uint8_t *buf, size_t len, size_t frame_max,
                            rpc_frame_t *frame, size_t *consumed, void **scratch,
                            const char **why);
void rpc_frame_scratch_free(void *scratch);

/* ---- Server side ------------------------------------------------------- */

typedef struct rpc_server rpc_server_t;
typedef struct rpc_conn rpc_conn_t;

/* Called for every request frame received. frame is valid only during the
 * call. To answer later (long poll, after a commit), take a reference with
 * rpc_conn_ref and answer with rpc_conn_reply; the connection may close in
 * between (rpc_conn_is_open), and the reply is then dropped. */
typedef void (*rpc_request_cb)(rpc_conn_t *conn, const rpc_frame_t *frame, void *arg);

typedef struct rpc_server_opts {
    size_t frame_max;              /* 0: CAIRN_RPC_FRAME_MAX_DEFAULT */
    size_t output_max;             /* per-connection output bytes before replies are dropped; 0: 4 x frame_max */
    size_t connections_max;        /* 0: 1024 */
    uint32_t idle_timeout_ms;      /* 0: none */
} rpc_server_opts_t;

/* Listens on host:port (port 0 picks one: see rpc_server_port). Returns NULL
 * and logs on failure. Returned server is owned by the caller. */
rpc_server_t *rpc_server_new(struct event_base *base, const char *host, uint16_t port,
                             const rpc_server_opts_t *opts, rpc_request_cb on_request,
                             void *arg);
uint16_t rpc_server_port(const rpc_server_t *srv);
/* Closes the listener and every connection. */
void rpc_server_free(rpc_server_t *srv);

/* Sends a response frame with the same type and correlation id. Returns 0,
 * or -1 if the connection is closed or its output is over the bound. */
int rpc_conn_reply(rpc_conn_t *conn, const rpc_frame_t *request_type_and_id,
                   const ProtobufCMessage *msg, const void *payload, size_t payload_len);
int rpc_conn_reply_to(rpc_conn_t *conn, uint32_t type, uint64_t correlation_id,
                      const ProtobufCMessage *msg, const void *payload, size_t payload_len);
void rpc_conn_ref(rpc_conn_t *conn);
void rpc_conn_unref(rpc_conn_t *conn);
bool rpc_conn_is_open(const rpc_conn_t *conn);
/* "127.0.0.1:53412", valid while the connection struct lives. */
const char *rpc_conn_peer(const rpc_conn_t *conn);
/* Closes at once, discarding unsent output. */
void rpc_conn_close(rpc_conn_t *conn);

/* ---- Client side ------------------------------------------------------- */

typedef struct rpc_client rpc_client_t;

/* Outcome of a call: err is 0 (body holds the response), CAIRN_ERR_TIMEOUT,
 * CAIRN_ERR_DISCONNECTED (connection lost or never made while the call was
 * pending) or CAIRN_ERR_CANCELLED (client freed). body and payload are valid
 * only during the callback. */
typedef void (*rpc_response_cb)(int err, const uint8_t *body, size_t body_len,
                                const uint8_t *payload, size_t payload_len, void *arg);

typedef struct rpc_client_opts {
    size_t frame_max;              /* 0: CAIRN_RPC_FRAME_MAX_DEFAULT */
    size_t pending_max;            /* calls in flight; 0: 1024 */
    size_t output_max;             /* queued bytes before one-way sends are dropped; 0: 4 x frame_max */
    uint32_t connect_timeout_ms;   /* 0: 1000 */
    uint32_t backoff_min_ms;       /* 0: 20 */
    uint32_t backoff_max_ms;       /* 0: 1000 */
    bool fail_fast;                /* unsent calls end with DISCONNECTED as soon as a
                                      connect attempt fails, and new calls at once
                                      while the next attempt is pending, instead of
                                      waiting for a later attempt or their timeout */
    /* Called on the loop thread when an established connection is lost (the
     * peer closed or reset it); not for failed connect attempts. It must not
     * free the client. May be NULL. */
    void (*on_disconnect)(void *arg);
    void *on_disconnect_arg;
} rpc_client_opts_t;

/* A client keeps one connection to host:port, connecting lazily and
 * reconnecting with exponential backoff (jittered) after failures. Returned
 * client is owned by the caller. */
rpc_client_t *rpc_client_new(struct event_base *base, const char *host, uint16_t port,
                             const rpc_client_opts_t *opts);
/* Frees the client; pending calls complete with CAIRN_ERR_CANCELLED before
 * this returns. */
void rpc_client_free(rpc_client_t *c);

/* Sends a request; cb runs exactly once, on the loop thread, never from
 * inside this call. timeout_ms 0 means no per-call timeout (the call ends on
 * a response, a disconnect or rpc_client_free). A call that could not be
 * sent before its timeout (the connection never came up) ends with
 * CAIRN_ERR_DISCONNECTED; one sent and not answered, CAIRN_ERR_TIMEOUT.
 * Returns 0, or CAIRN_ERR_QUEUE_FULL / CAIRN_ERR_TOO_LARGE / CAIRN_ERR_NOMEM /
 * CAIRN_ERR_CANCELLED (client being freed); cb is then not called. */
int rpc_client_call(rpc_client_t *c, uint32_t type, const ProtobufCMessage *req,
                    uint32_t timeout_ms, rpc_response_cb cb, void *arg);

/* One-way message (Raft): queued if connected or connecting, dropped
 * (returns -1) when the connection is down or the output is over bound. On
 * an idle client it starts the lazy connect and drops this message. */
int rpc_client_send(rpc_client_t *c, uint32_t type, const ProtobufCMessage *msg,
                    const void *payload, size_t payload_len);

bool rpc_client_connected(const rpc_client_t *c);
const char *rpc_client_address(const rpc_client_t *c);   /* "host:port" */

#endif
