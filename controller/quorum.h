/* The Raft host of one controller: drives the pure core (controller/raft)
 * with real time, its durable store and the peer connections, and applies
 * committed entries to the metadata image. Loop phases (STYLE.md): callbacks
 * step the core; quorum_flush, called once per loop turn, persists and
 * fsyncs, then sends, then applies. Runs on the controller's loop thread. */
#ifndef CAIRN_QUORUM_H
#define CAIRN_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "image.h"
#include "raft.h"

typedef struct quorum quorum_t;

/* Outcome of a proposal: err is CAIRN_ERR_OK once the entry is committed and
 * applied (apply_rc is md_image_apply's result: -1 means the batch was
 * rejected by the state machine, e.g. a concurrent conflicting change),
 * CAIRN_ERR_NOT_LEADER if another entry took its index, CAIRN_ERR_NO_QUORUM
 * if it was not committed within the timeout (it may still commit later),
 * CAIRN_ERR_CANCELLED at shutdown. */
typedef void (*quorum_commit_cb)(int err, uint64_t index, int apply_rc, void *arg);

/* Called after each loop turn that applied entries (to wake long polls) and
 * when this node gains or loses leadership. */
typedef struct quorum_listener {
    void (*applied)(void *ctx, uint64_t applied_index);
    void (*leadership)(void *ctx, bool is_leader);
    void *ctx;
} quorum_listener_t;

/* Opens the store under cfg->metadata_log_dir, restores the image and starts
 * the core. image is borrowed (owned by the caller, outlives the quorum).
 * Returns an owned quorum or NULL with one line in err. */
quorum_t *quorum_open(struct event_base *base, const cairn_config_t *cfg,
                      const cairn_voter_t *voters, size_t n_voters,
                      md_image_t *image, const quorum_listener_t *listener,
                      char *err, size_t err_len);
void quorum_close(quorum_t *q);

/* A RaftMessage frame body from a peer. */
void quorum_receive(quorum_t *q, const uint8_t *body, size_t len);

/* Proposes a serialized MetadataBatch (copied). Returns 0 (cb will run
 * exactly once, never from inside this call) or CAIRN_ERR_NOT_LEADER /
 * CAIRN_ERR_TOO_LARGE (cb not called). */
int quorum_propose(quorum_t *q, const uint8_t *data, size_t len, uint32_t timeout_ms,
                   quorum_commit_cb cb, void *arg);

/* Persist, send, apply: once per loop turn, after callbacks ran. */
void quorum_flush(quorum_t *q);

/* Graceful shutdown: hand leadership to the most caught-up voter. */
void quorum_resign(quorum_t *q);

bool quorum_is_leader(const quorum_t *q);
/* Leader that has applied an entry of its own term, so its image holds
 * every committed change (safe to serve reads). */
bool quorum_leader_ready(const quorum_t *q);
uint32_t quorum_leader_id(const quorum_t *q);
/* host:port of a voter's controller listener; "" when unknown. */
const char *quorum_voter_address(const quorum_t *q, uint32_t id);
uint64_t quorum_term(const quorum_t *q);
uint64_t quorum_commit_index(const quorum_t *q);
uint64_t quorum_applied_index(const quorum_t *q);
uint64_t quorum_first_index(const quorum_t *q);

typedef struct quorum_voter_view {
    uint32_t id;
    const char *address;
    const char *role;             /* leader|follower|candidate|unreachable */
    uint64_t log_end_offset;
} quorum_voter_view_t;

/* This node's view of voter i (0-based, config order). */
void quorum_voter_view(const quorum_t *q, size_t i, quorum_voter_view_t *out);
size_t quorum_voter_count(const quorum_t *q);

/* Committed entry i if still in the log (not compacted), else NULL.
 * Borrowed until the next flush. */
const raft_entry_t *quorum_committed_entry(const quorum_t *q, uint64_t index);

#endif
