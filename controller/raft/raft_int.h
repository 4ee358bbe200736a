/* Private state of the Raft core, shared by its modules: raft.c (API and
 * dispatch), log.c, election.c, replication.c, snapshot.c, progress.c and
 * update.c. Never included by the host. */
#ifndef CAIRN_RAFT_INT_H
#define CAIRN_RAFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn_assert.h"
#include "raft.h"

#define RAFT_DEFAULT_MAX_APPEND_ENTRIES 256u
#define RAFT_DEFAULT_MAX_APPEND_BYTES (1u << 20)
#define RAFT_DEFAULT_MAX_UNCOMMITTED_BYTES (16u << 20)
/* Hard caps on what a received message may carry, whatever the sender's
 * configuration; anything larger is refused as invalid. */
#define RAFT_MSG_ENTRIES_MAX 4096u
#define RAFT_MSG_BYTES_MAX (64u << 20)
/* Messages queued for one update; past it new messages are dropped, which
 * Raft tolerates like any network loss (the next heartbeat repairs it). */
#define RAFT_OUTBOX_MAX 4096u
/* A replicating follower may have this many append batches unacknowledged. */
#define RAFT_INFLIGHT_BATCHES_MAX 4u
/* Timeouts above an hour are configuration mistakes; bounding them keeps
 * deadline arithmetic far from overflow. */
#define RAFT_TIMEOUT_MS_MAX (3600u * 1000u)
/* VOTE hint: the candidate runs because the leader asked it to (TIMEOUT_NOW),
 * so voters must not ignore it for leader stickiness (thesis §3.10). */
#define RAFT_VOTE_HINT_TRANSFER 1u
#define RAFT_TRACE_LINE_MAX 320u

_Static_assert(RAFT_DEFAULT_MAX_APPEND_ENTRIES <= RAFT_MSG_ENTRIES_MAX,
               "default batch must be acceptable to every receiver");
_Static_assert(RAFT_MAX_VOTERS <= 32, "vote tallies fit in small counters");

/* Entries after the snapshot base: ents[i] has index snap_index + 1 + i. */
typedef struct raft_log {
    uint64_t snap_index;
    uint64_t snap_term;
    raft_entry_t *ents;
    size_t len;
    size_t cap;
} raft_log_t;

typedef enum {
    RAFT_PR_PROBE = 0,      /* one append at a time until the match is found */
    RAFT_PR_REPLICATE = 1,  /* match known: pipeline new entries */
    RAFT_PR_SNAPSHOT = 2,   /* waiting for a snapshot to be installed */
} raft_pr_state_t;

typedef enum {
    RAFT_VOTE_NONE = 0,
    RAFT_VOTE_GRANTED = 1,
    RAFT_VOTE_REJECTED = 2,
} raft_vote_t;

/* Leader's view of one voter (Raft §5.3), plus the election tally. */
typedef struct raft_progress {
    uint32_t id;
    raft_pr_state_t state;
    uint64_t match_index;
    uint64_t next_index;
    bool probe_sent;
    uint64_t match_at_heartbeat;    /* match_index at the previous heartbeat */
    uint64_t commit_sent;           /* highest commit index sent to it */
    uint64_t snapshot_index;        /* RAFT_PR_SNAPSHOT: what was sent */
    uint64_t snapshot_sent_ms;
    uint64_t last_heard_ms;         /* check-quorum window */
    raft_vote_t vote;
} raft_progress_t;

typedef struct raft_arena_chunk raft_arena_chunk_t;

/* Bump allocator for everything an update points to; freed in one go when
 * the host calls raft_advance. */
typedef struct raft_arena {
    raft_arena_chunk_t *head;
} raft_arena_t;

typedef struct raft_outbox {
    raft_msg_t *msgs;
    size_t n;
    size_t cap;
    raft_arena_t arena;
} raft_outbox_t;

typedef enum {
    RAFT_SEND_NEW = 0,        /* new entries or a reply: send if there is something */
    RAFT_SEND_HEARTBEAT = 1,  /* periodic: always send, retransmit stalled data */
    RAFT_SEND_COMMIT = 2,     /* commit index moved: tell everyone */
} raft_send_reason_t;

struct raft {
    raft_config_t cfg;           /* defaults resolved */
    uint64_t now_ms;
    uint64_t prng;

    /* Durable (Raft figure 2): persisted through update.hard_state. */
    uint64_t term;
    uint32_t voted_for;
    bool hard_state_dirty;

    raft_role_t role;
    uint32_t leader_id;
    raft_log_t log;

    uint64_t commit_index;
    uint64_t applied_index;      /* advanced by the host */
    uint64_t handed_index;       /* committed entries already put in an update */
    uint64_t stable_index;       /* log prefix the host reported durable */
    uint64_t unstable_from;      /* first entry not yet put in an update */
    uint64_t truncated_floor;    /* lowest truncation since the update froze, minus 1 */

    uint64_t election_deadline_ms;
    uint64_t heartbeat_due_ms;
    uint64_t leader_contact_ms;  /* last APPEND/SNAPSHOT from the leader */
    bool leader_lost;            /* the host saw the leader's connection die */

    raft_progress_t prs[RAFT_MAX_VOTERS];
    size_t n_prs;
    uint32_t transfer_target;
    uint64_t transfer_deadline_ms;
    bool transfer_sent;
    uint64_t uncommitted_bytes;

    uint8_t *snap_data;          /* newest snapshot, for lagging followers */
    size_t snap_len;
    bool install_pending;        /* snap_data arrived from a leader */

    raft_outbox_t out;           /* filling */
    raft_outbox_t frozen_box;    /* owned by the update the host holds */
    raft_update_t frozen;
    bool frozen_valid;
};

/* raft.c */
void raft_trace(const raft_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *raft_msg_type_name(raft_msg_type_t type);
char raft_term_cmp(uint64_t a, uint64_t b);
void raft_check_invariants(const raft_t *r);
size_t raft_quorum(const raft_t *r);
void raft_set_commit(raft_t *r, uint64_t index);
void *raft_xmalloc(size_t len);
void *raft_xrealloc(void *p, size_t len);

/* log.c */
void raft_log_init(raft_log_t *l, uint64_t snap_index, uint64_t snap_term);
void raft_log_free(raft_log_t *l);
uint64_t raft_log_last_index(const raft_log_t *l);
uint64_t raft_log_last_term(const raft_log_t *l);
bool raft_log_term_at(const raft_log_t *l, uint64_t index, uint64_t *term_out);
const raft_entry_t *raft_log_get(const raft_log_t *l, uint64_t index);
bool raft_log_append(raft_log_t *l, const raft_entry_t *e);
bool raft_log_append_owned(raft_log_t *l, uint64_t term, uint32_t type, uint8_t *data,
                           uint32_t len);
void raft_log_truncate(raft_log_t *l, uint64_t from_index);
void raft_log_compact(raft_log_t *l, uint64_t index);
void raft_log_reset(raft_log_t *l, uint64_t snap_index, uint64_t snap_term);
bool raft_log_up_to_date(const raft_log_t *l, uint64_t last_index, uint64_t last_term);

/* progress.c */
raft_progress_t *raft_progress_find(raft_t *r, uint32_t id);
bool raft_progress_is_voter(const raft_t *r, uint32_t id);
void raft_progress_reset_votes(raft_t *r);
void raft_progress_reset_leader(raft_t *r);
int raft_progress_tally(const raft_t *r, size_t *granted, size_t *rejected);
size_t raft_progress_active(const raft_t *r);
uint64_t raft_progress_quorum_match(const raft_t *r);

/* election.c */
void raft_election_reset_timer(raft_t *r);
bool raft_election_leader_alive(const raft_t *r);
void raft_election_leader_lost(raft_t *r, uint32_t peer);
bool raft_election_in_lease(const raft_t *r);
void raft_become_follower(raft_t *r, uint64_t term, uint32_t leader);
void raft_election_campaign(raft_t *r, bool transfer);
void raft_election_tick(raft_t *r);
void raft_election_handle_prevote(raft_t *r, const raft_msg_t *m);
void raft_election_handle_prevote_resp(raft_t *r, const raft_msg_t *m);
void raft_election_handle_vote(raft_t *r, const raft_msg_t *m);
void raft_election_handle_vote_resp(raft_t *r, const raft_msg_t *m);
void raft_election_handle_timeout_now(raft_t *r, const raft_msg_t *m);

/* replication.c */
void raft_repl_send(raft_t *r, raft_progress_t *pr, raft_send_reason_t reason);
void raft_repl_broadcast(raft_t *r, raft_send_reason_t reason);
bool raft_repl_accept_leader(raft_t *r, const raft_msg_t *m);
void raft_repl_handle_append(raft_t *r, const raft_msg_t *m);
void raft_repl_handle_append_resp(raft_t *r, const raft_msg_t *m);
void raft_repl_maybe_commit(raft_t *r);
void raft_repl_leader_tick(raft_t *r);
void raft_repl_transfer_start(raft_t *r, raft_progress_t *pr);
void raft_repl_ack_snapshot(raft_t *r, raft_progress_t *pr, uint64_t match);
void raft_repl_truncate(raft_t *r, uint64_t from_index);

/* snapshot.c */
void raft_snap_send(raft_t *r, raft_progress_t *pr);
void raft_snap_handle(raft_t *r, const raft_msg_t *m);
void raft_snap_handle_resp(raft_t *r, const raft_msg_t *m);

/* update.c */
void raft_outbox_init(raft_outbox_t *b);
void raft_outbox_free(raft_outbox_t *b);
raft_msg_t *raft_msg_new(raft_t *r, raft_msg_type_t type, uint32_t to);
void raft_msg_copy_entries(raft_t *r, raft_msg_t *m, uint64_t first, size_t n);
void raft_msg_copy_snapshot(raft_t *r, raft_msg_t *m);

#endif
