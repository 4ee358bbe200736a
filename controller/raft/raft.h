/* Pure Raft core for the metadata quorum (DESIGN §4): no sockets, clocks or
 * disk inside. The host feeds it messages (raft_step), time (raft_tick) and
 * proposals, then drains one update at a time:
 *
 *   raft_get_update(r, &u);
 *   persist u.hard_state and u.snapshot/u.entries, fsync     (1: persist)
 *   send u.msgs                                              (2: send)
 *   apply u.committed in order                               (3: apply)
 *   raft_advance(r, &u);
 *
 * Messages in an update may depend on its persisted state (a vote grant, an
 * append acknowledgement), so they are sent only after the fsync. A leader
 * counts its own log toward the commit only up to what raft_advance has
 * reported persisted; nothing is committed before a majority fsync'd it.
 *
 * Single-threaded: every function runs on the host's loop thread. */
#ifndef CAIRN_RAFT_H
#define CAIRN_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct raft raft_t;             /* opaque */

#define RAFT_MAX_VOTERS 9
#define RAFT_NO_NODE 0u            /* node ids are 1-based */

typedef enum {
    RAFT_FOLLOWER = 0,
    RAFT_PRECANDIDATE = 1,         /* PreVote phase: term not yet bumped */
    RAFT_CANDIDATE = 2,
    RAFT_LEADER = 3,
} raft_role_t;

typedef enum {
    RAFT_ENTRY_NORMAL = 0,         /* host data (a MetadataBatch) */
    RAFT_ENTRY_LEADER_CHANGE = 1,  /* appended by a new leader; lets it commit (Raft §5.4.2) */
} raft_entry_type_t;

typedef struct raft_entry {
    uint64_t term;
    uint64_t index;
    uint32_t type;                 /* raft_entry_type_t */
    uint32_t len;
    uint8_t *data;                 /* len bytes; NULL when len == 0 */
} raft_entry_t;

typedef enum {
    RAFT_MSG_PREVOTE = 1,          /* term = candidate's term + 1, not persisted */
    RAFT_MSG_PREVOTE_RESP = 2,     /* term = the PREVOTE's term, whatever the responder's */
    RAFT_MSG_VOTE = 3,             /* log_index/log_term = candidate's last entry;
                                      hint = 1: leadership transfer (ignores leader stickiness) */
    RAFT_MSG_VOTE_RESP = 4,        /* reject = vote denied */
    RAFT_MSG_APPEND = 5,           /* log_index/log_term = entry before entries[0]; commit */
    RAFT_MSG_APPEND_RESP = 6,      /* !reject: hint = match index; reject: hint = follower last index,
                                      or lower where its term <= the rejected log_term, and
                                      log_term = its term at hint; log_index echoes the APPEND's */
    RAFT_MSG_SNAPSHOT = 7,         /* log_index/log_term = snapshot's last entry; snapshot bytes */
    RAFT_MSG_SNAPSHOT_RESP = 8,    /* hint = snapshot index installed */
    RAFT_MSG_TIMEOUT_NOW = 9,      /* leadership transfer: start an election now */
} raft_msg_type_t;

typedef struct raft_msg {
    raft_msg_type_t type;
    uint32_t from;
    uint32_t to;
    uint64_t term;
    uint64_t log_index;
    uint64_t log_term;
    uint64_t commit;
    bool reject;
    uint64_t hint;
    size_t n_entries;
    raft_entry_t *entries;
    const uint8_t *snapshot;
    size_t snapshot_len;
} raft_msg_t;

typedef void (*raft_trace_fn)(void *ctx, const char *line);

typedef struct raft_config {
    uint32_t id;                           /* this node, 1-based */
    uint32_t voters[RAFT_MAX_VOTERS];      /* every voter, this node included */
    size_t n_voters;
    uint64_t election_timeout_ms;          /* randomized in [t, 2t) per election */
    uint64_t heartbeat_interval_ms;        /* leader sends appends at least this often */
    uint64_t check_quorum_timeout_ms;      /* 0: 2 x election_timeout_ms */
    bool prevote;
    bool check_quorum;
    uint64_t seed;                         /* PRNG seed for the timeouts */
    size_t max_append_entries;             /* per APPEND; 0: 256 */
    size_t max_append_bytes;               /* per APPEND; 0: 1 MiB */
    size_t max_uncommitted_bytes;          /* proposals refused past this; 0: 16 MiB */
    raft_trace_fn trace;                   /* one line per decision; may be NULL */
    void *trace_ctx;
} raft_config_t;

/* Durable state the host loaded at start. All pointers are borrowed for the
 * duration of raft_create, which copies what it keeps. */
typedef struct raft_restore {
    uint64_t term;
    uint32_t voted_for;                    /* RAFT_NO_NODE: none */
    uint64_t snapshot_index;               /* 0: no snapshot */
    uint64_t snapshot_term;
    const uint8_t *snapshot;
    size_t snapshot_len;
    const raft_entry_t *entries;           /* consecutive, from snapshot_index + 1 */
    size_t n_entries;
} raft_restore_t;

/* What the host must do next. Everything pointed to is owned by the core
 * and valid until raft_advance. */
typedef struct raft_update {
    bool hard_state_changed;               /* persist (term, voted_for) first */
    uint64_t term;
    uint32_t voted_for;

    bool snapshot_install;                 /* a leader sent a snapshot: persist it, */
    uint64_t snapshot_index;               /* drop the whole log, reset the state */
    uint64_t snapshot_term;                /* machine from it */
    const uint8_t *snapshot;
    size_t snapshot_len;

    /* Entries to persist. If entries[0].index <= the host's last index, the
     * host first truncates its log from entries[0].index on. */
    const raft_entry_t *entries;
    size_t n_entries;

    const raft_msg_t *msgs;                /* send after persisting */
    size_t n_msgs;

    const raft_entry_t *committed;         /* apply after persisting, in order */
    size_t n_committed;
} raft_update_t;

typedef enum {
    RAFT_OK = 0,
    RAFT_ERR_NOT_LEADER = -1,
    RAFT_ERR_TOO_BIG = -2,                 /* uncommitted bytes over the bound */
    RAFT_ERR_INVALID = -3,                 /* bad message or argument; ignored */
    RAFT_ERR_NOMEM = -4,
} raft_err_t;

/* Returns an owned core, or NULL (bad config, out of memory). */
raft_t *raft_create(const raft_config_t *cfg, const raft_restore_t *restore, uint64_t now_ms);
void raft_destroy(raft_t *r);

/* Feeds a received message. msg and its entries are borrowed. */
int raft_step(raft_t *r, const raft_msg_t *msg, uint64_t now_ms);
/* Advances time: election timeouts, heartbeats, check-quorum. */
void raft_tick(raft_t *r, uint64_t now_ms);

/* The host's connection to peer died (reset or closed by the peer's
 * kernel: its process is gone). If peer is this follower's leader, the
 * election starts within a quarter of the election timeout instead of a
 * whole one. Only a hint: safety never depends on it. */
void raft_peer_down(raft_t *r, uint32_t peer, uint64_t now_ms);

/* Appends data (copied) as a NORMAL entry; *index_out gets its index.
 * It is committed when raft_update.committed contains that index in the
 * current term; if leadership is lost first it may never commit. */
int raft_propose(raft_t *r, const uint8_t *data, size_t len, uint64_t now_ms,
                 uint64_t *index_out);

bool raft_has_update(const raft_t *r);
void raft_get_update(raft_t *r, raft_update_t *out);
void raft_advance(raft_t *r, const raft_update_t *u);

/* The host took a snapshot of its state machine covering every entry up to
 * index (<= the applied index). The core copies data for lagging followers
 * and drops its log entries up to index. The host may then delete them. */
int raft_compact(raft_t *r, uint64_t index, const uint8_t *data, size_t len);

/* Leader steps down cleanly, asking the most caught-up voter to take over. */
int raft_transfer_leadership(raft_t *r, uint64_t now_ms);

/* Queries. */
raft_role_t raft_role(const raft_t *r);
const char *raft_role_name(raft_role_t role);   /* "leader", "follower", "candidate" (pre-candidate too) */
uint32_t raft_id(const raft_t *r);
uint64_t raft_term(const raft_t *r);
uint32_t raft_leader(const raft_t *r);          /* RAFT_NO_NODE when unknown */
uint64_t raft_commit_index(const raft_t *r);
uint64_t raft_applied_index(const raft_t *r);   /* last committed index handed to the host and advanced */
uint64_t raft_first_index(const raft_t *r);     /* first entry held in memory (snapshot_index + 1) */
uint64_t raft_last_index(const raft_t *r);
uint64_t raft_last_term(const raft_t *r);
uint64_t raft_snapshot_index(const raft_t *r);
/* Entry by index if held (first_index..last_index), else NULL. Borrowed
 * until the next call that changes the core. */
const raft_entry_t *raft_entry_at(const raft_t *r, uint64_t index);
/* Leader only: a voter's match index, and whether it was heard from within
 * the check-quorum window. Other roles: 0 / false. */
uint64_t raft_match_index(const raft_t *r, uint32_t voter);
bool raft_voter_active(const raft_t *r, uint32_t voter, uint64_t now_ms);

#endif
