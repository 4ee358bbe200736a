/* The controller process: one loop owning the Raft host (quorum), the
 * metadata image, the RPC server and the broker sessions. This header is
 * private to controller/ and shared by its parts: host.c (server and
 * dispatch), admin.c (admin RPC), brokers.c (broker RPC and sessions),
 * partitions.c (AlterPartition and preferred leader election). */
#ifndef CAIRN_CONTROLLER_H
#define CAIRN_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "image.h"
#include "quorum.h"
#include "rpc.h"
#include "rpc.pb-c.h"

typedef struct brokers brokers_t;
typedef struct admin admin_t;
typedef struct partitions partitions_t;

typedef struct controller {
    struct event_base *base;
    const cairn_config_t *cfg;        /* borrowed, read-only after start */
    cairn_voter_t voters[CAIRN_MAX_VOTERS];
    size_t n_voters;
    md_image_t *image;
    quorum_t *quorum;
    rpc_server_t *server;
    brokers_t *brokers;
    admin_t *admin;
    partitions_t *partitions;
    struct event *sig_term;
    struct event *sig_int;
    struct event *stop_ev;
    bool stopping;
} controller_t;

/* Creates the controller on base: opens the quorum and listens. Returns an
 * owned controller or NULL with one line in err. cfg is borrowed. */
controller_t *controller_start(struct event_base *base, const cairn_config_t *cfg,
                               char *err, size_t err_len);
/* Runs the loop with its flush phase until a stop signal. */
void controller_run(controller_t *c);
void controller_free(controller_t *c);

/* Fills st for an answer with code. For CAIRN_ERR_NOT_LEADER it names the
 * leader this node knows. message is copied into a static-duration buffer
 * owned by c only for the next reply: use it right away. */
void controller_status(controller_t *c, Cairn__Status *st, int code, const char *message);

/* A request answered after the callback returns (long poll, after commit):
 * holds a reference on the connection until reply_done. */
typedef struct deferred_reply {
    rpc_conn_t *conn;
    uint32_t type;
    uint64_t correlation_id;
} deferred_reply_t;

void deferred_reply_init(deferred_reply_t *d, rpc_conn_t *conn, const rpc_frame_t *frame);
/* Sends msg (if the connection is still open) and drops the reference. */
void deferred_reply_send(deferred_reply_t *d, const ProtobufCMessage *msg);

/* admin.c */
admin_t *admin_new(controller_t *c);
void admin_free(admin_t *a);
/* Returns true when frame->type is an admin RPC (and it was handled). */
bool admin_handle(admin_t *a, rpc_conn_t *conn, const rpc_frame_t *frame);

/* brokers.c */
brokers_t *brokers_new(controller_t *c);
void brokers_free(brokers_t *b);
bool brokers_handle(brokers_t *b, rpc_conn_t *conn, const rpc_frame_t *frame);
void brokers_on_applied(brokers_t *b, uint64_t applied_index);
void brokers_on_leadership(brokers_t *b, bool is_leader);

/* partitions.c: runs on the controller loop; the rebalance timer acts only
 * while this node is a ready leader. */
partitions_t *partitions_new(controller_t *c);
void partitions_free(partitions_t *pt);
/* Returns true when frame->type is RPC_ALTER_PARTITION (and it was handled). */
bool partitions_handle(partitions_t *pt, rpc_conn_t *conn, const rpc_frame_t *frame);

#endif
