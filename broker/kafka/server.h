/* The Kafka listener: size-prefixed request framing, one FIFO of requests
 * per connection so responses go out in request order (both clients rely
 * on it), and the bounds that keep one client from exhausting the broker:
 * request size, requests in flight and output bytes per connection, and
 * connection count. Protocol decoding is not done here: every complete
 * frame is handed to the dispatcher as a kafka_request_t. Runs on the
 * broker's loop thread. */
#ifndef CAIRN_KAFKA_SERVER_H
#define CAIRN_KAFKA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

typedef struct kafka_server kafka_server_t;
typedef struct kafka_conn kafka_conn_t;

/* One request, from its frame to its response. Owned by the server; the
 * dispatcher borrows it until it calls kafka_request_complete (now or
 * later, e.g. after an fsync or a long poll). */
typedef struct kafka_request {
    kafka_conn_t *conn;
    const uint8_t *frame;          /* the request after its size: header + body */
    size_t frame_len;
    struct evbuffer *response;     /* the dispatcher writes header + body here */
    uint64_t received_us;
    void *user;                    /* for the dispatcher */
    /* private */
    uint8_t *frame_owned;
    bool done;
    bool no_response;
    struct kafka_request *next;
} kafka_request_t;

typedef void (*kafka_dispatch_fn)(void *ctx, kafka_request_t *req);

typedef struct kafka_server_opts {
    size_t request_max_bytes;      /* socket.request.max.bytes; 0: 100 MiB */
    size_t inflight_max;           /* requests per connection before it stops reading; 0: 256 */
    size_t output_max_bytes;       /* unsent response bytes before it stops reading; 0: 64 MiB */
    size_t connections_max;        /* 0: 4096 */
    uint32_t idle_timeout_ms;      /* connections.max.idle.ms; 0: none */
} kafka_server_opts_t;

/* Listens on host:port (0: ephemeral). ctx and dispatch are borrowed.
 * Returns an owned server or NULL (logged). */
kafka_server_t *kafka_server_new(struct event_base *base, const char *host, uint16_t port,
                                 const kafka_server_opts_t *opts,
                                 kafka_dispatch_fn dispatch, void *ctx);
uint16_t kafka_server_port(const kafka_server_t *srv);
/* Closes every connection; requests still held by the dispatcher stay
 * valid until completed. */
void kafka_server_free(kafka_server_t *srv);

/* The dispatcher is done with req: its response (if any) goes out once
 * every earlier request of the connection has gone. no_response: send
 * nothing (acks=0 produce). Safe after the connection closed. */
void kafka_request_complete(kafka_request_t *req, bool no_response);

/* Closes the request's connection (malformed request): nothing more is
 * read or sent on it. The request must still be completed. */
void kafka_request_close_conn(kafka_request_t *req, const char *why);

bool kafka_conn_open(const kafka_conn_t *conn);
const char *kafka_conn_peer(const kafka_conn_t *conn);   /* "host:port" */
/* Per-connection state of the dispatcher (e.g. SASL); NULL at first. */
void *kafka_conn_user(const kafka_conn_t *conn);
void kafka_conn_set_user(kafka_conn_t *conn, void *user, void (*free_fn)(void *));

#endif
