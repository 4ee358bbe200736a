/* The Raft core's public API (raft.h): creation from durable state, message
 * validation and dispatch, time, proposals and queries. The rules live in
 * election.c, replication.c and snapshot.c; the host hand-off in update.c. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "raft_int.h"

/* Allocation failure after creation is fatal: every queue is bounded, so it
 * means the process is out of memory, and a half-applied step would break
 * the Raft state far worse than stopping. */
void *raft_xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);
    CAIRN_ASSERT(p != NULL);
    return p;
}

void *raft_xrealloc(void *p, size_t len)
{
    void *q = realloc(p, len ? len : 1);
    CAIRN_ASSERT(q != NULL);
    return q;
}

void raft_trace(const raft_t *r, const char *fmt, ...)
{
    if (!r->cfg.trace)
        return;
    char line[RAFT_TRACE_LINE_MAX];
    int n = snprintf(line, sizeof line, "t=%" PRIu64 " n%" PRIu32 " ", r->now_ms, r->cfg.id);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    r->cfg.trace(r->cfg.trace_ctx, line);
}

const char *raft_msg_type_name(raft_msg_type_t type)
{
    switch (type) {
    case RAFT_MSG_PREVOTE: return "PREVOTE";
    case RAFT_MSG_PREVOTE_RESP: return "PREVOTE_RESP";
    case RAFT_MSG_VOTE: return "VOTE";
    case RAFT_MSG_VOTE_RESP: return "VOTE_RESP";
    case RAFT_MSG_APPEND: return "APPEND";
    case RAFT_MSG_APPEND_RESP: return "APPEND_RESP";
    case RAFT_MSG_SNAPSHOT: return "SNAPSHOT";
    case RAFT_MSG_SNAPSHOT_RESP: return "SNAPSHOT_RESP";
    case RAFT_MSG_TIMEOUT_NOW: return "TIMEOUT_NOW";
    }
    return "UNKNOWN";
}

const char *raft_role_name(raft_role_t role)
{
    switch (role) {
    case RAFT_LEADER: return "leader";
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE:
    case RAFT_PRECANDIDATE: return "candidate";
    }
    return "unknown";
}

/* For traces: "term 3>2" reads as message term 3, ours 2. */
char raft_term_cmp(uint64_t a, uint64_t b)
{
    return a > b ? '>' : a < b ? '<' : '=';
}

size_t raft_quorum(const raft_t *r)
{
    return r->n_prs / 2 + 1;
}

void raft_set_commit(raft_t *r, uint64_t index)
{
    CAIRN_ASSERT(index >= r->commit_index);
    CAIRN_ASSERT(index <= raft_log_last_index(&r->log));
    r->commit_index = index;
}

void raft_check_invariants(const raft_t *r)
{
    uint64_t last = raft_log_last_index(&r->log);
    CAIRN_ASSERT(r->commit_index <= last);
    CAIRN_ASSERT(r->applied_index <= r->handed_index);
    CAIRN_ASSERT(r->handed_index <= r->commit_index);
    CAIRN_ASSERT(r->log.snap_index <= r->commit_index);
    CAIRN_ASSERT(r->stable_index <= last);
    CAIRN_ASSERT(r->unstable_from > r->log.snap_index && r->unstable_from <= last + 1);
    CAIRN_ASSERT(raft_log_last_term(&r->log) <= r->term);
    if (r->role == RAFT_LEADER) {
        /* A leader leads only the term it won, having voted for itself. */
        CAIRN_ASSERT(r->leader_id == r->cfg.id && r->voted_for == r->cfg.id);
        CAIRN_ASSERT(raft_log_last_term(&r->log) == r->term);
    }
    if (r->role == RAFT_CANDIDATE)
        CAIRN_ASSERT(r->voted_for == r->cfg.id && r->leader_id == RAFT_NO_NODE);
    if (r->role == RAFT_PRECANDIDATE)
        CAIRN_ASSERT(r->leader_id == RAFT_NO_NODE);
}

/* Time comes from the host; a clock that steps back is held, never obeyed. */
static void set_time(raft_t *r, uint64_t now_ms)
{
    if (now_ms > r->now_ms)
        r->now_ms = now_ms;
}

static bool config_valid(const raft_config_t *cfg)
{
    if (!cfg || cfg->id == RAFT_NO_NODE || cfg->n_voters == 0 ||
        cfg->n_voters > RAFT_MAX_VOTERS)
        return false;
    if (cfg->election_timeout_ms == 0 || cfg->election_timeout_ms > RAFT_TIMEOUT_MS_MAX ||
        cfg->heartbeat_interval_ms == 0 ||
        cfg->heartbeat_interval_ms >= cfg->election_timeout_ms ||
        cfg->check_quorum_timeout_ms > RAFT_TIMEOUT_MS_MAX ||
        cfg->max_append_entries > RAFT_MSG_ENTRIES_MAX ||
        cfg->max_append_bytes > RAFT_MSG_BYTES_MAX)
        return false;
    bool self = false;
    for (size_t i = 0; i < cfg->n_voters; i++) {
        if (cfg->voters[i] == RAFT_NO_NODE)
            return false;
        for (size_t j = 0; j < i; j++)
            if (cfg->voters[j] == cfg->voters[i])
                return false;
        self |= cfg->voters[i] == cfg->id;
    }
    return self;
}

static bool voter_listed(const raft_config_t *cfg, uint32_t id)
{
    for (size_t i = 0; i < cfg->n_voters; i++)
        if (cfg->voters[i] == id)
            return true;
    return false;
}

static bool restore_valid(const raft_config_t *cfg, const raft_restore_t *rs)
{
    if (rs->voted_for != RAFT_NO_NODE && !voter_listed(cfg, rs->voted_for))
        return false;
    if ((rs->snapshot_len && !rs->snapshot) || (rs->n_entries && !rs->entries))
        return false;
    if ((rs->snapshot_index == 0) != (rs->snapshot_term == 0) || rs->snapshot_term > rs->term)
        return false;
    uint64_t prev_term = rs->snapshot_term;
    for (size_t i = 0; i < rs->n_entries; i++) {
        const raft_entry_t *e = &rs->entries[i];
        if (e->index != rs->snapshot_index + 1 + i || e->term < prev_term || e->term == 0 ||
            e->term > rs->term || e->type > RAFT_ENTRY_LEADER_CHANGE ||
            (e->len && !e->data))
            return false;
        prev_term = e->term;
    }
    return true;
}

static void apply_defaults(raft_config_t *c)
{
    if (c->check_quorum_timeout_ms == 0)
        c->check_quorum_timeout_ms = 2 * c->election_timeout_ms;
    if (c->max_append_entries == 0)
        c->max_append_entries = RAFT_DEFAULT_MAX_APPEND_ENTRIES;
    if (c->max_append_bytes == 0)
        c->max_append_bytes = RAFT_DEFAULT_MAX_APPEND_BYTES;
    if (c->max_uncommitted_bytes == 0)
        c->max_uncommitted_bytes = RAFT_DEFAULT_MAX_UNCOMMITTED_BYTES;
}

static bool load_restore(raft_t *r, const raft_restore_t *rs)
{
    r->term = rs->term;
    r->voted_for = rs->voted_for;
    raft_log_init(&r->log, rs->snapshot_index, rs->snapshot_term);
    if (rs->snapshot_len) {
        r->snap_data = malloc(rs->snapshot_len);
        if (!r->snap_data)
            return false;
        memcpy(r->snap_data, rs->snapshot, rs->snapshot_len);
        r->snap_len = rs->snapshot_len;
    }
    for (size_t i = 0; i < rs->n_entries; i++)
        if (!raft_log_append(&r->log, &rs->entries[i]))
            return false;
    return true;
}

raft_t *raft_create(const raft_config_t *cfg, const raft_restore_t *restore, uint64_t now_ms)
{
    static const raft_restore_t empty;
    const raft_restore_t *rs = restore ? restore : &empty;
    if (!config_valid(cfg) || !restore_valid(cfg, rs)) {
        LOG_WARN("raft", "node %u: invalid configuration or restored state",
                 cfg ? cfg->id : 0);
        return NULL;
    }
    raft_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *cfg;
    apply_defaults(&r->cfg);
    r->now_ms = now_ms;
    r->prng = cfg->seed;
    r->n_prs = cfg->n_voters;
    for (size_t i = 0; i < r->n_prs; i++)
        r->prs[i].id = cfg->voters[i];
    raft_outbox_init(&r->out);
    raft_outbox_init(&r->frozen_box);
    if (!load_restore(r, rs)) {
        raft_destroy(r);
        return NULL;
    }
    /* Only the snapshot is known committed; the rest is learnt from a leader. */
    r->commit_index = r->applied_index = r->handed_index = rs->snapshot_index;
    r->stable_index = raft_log_last_index(&r->log);
    r->unstable_from = r->stable_index + 1;
    r->truncated_floor = UINT64_MAX;
    r->role = RAFT_FOLLOWER;
    raft_election_reset_timer(r);
    raft_trace(r, "start term %" PRIu64 " vote n%" PRIu32 " snapshot %" PRIu64 "/%" PRIu64
               " last %" PRIu64 "/%" PRIu64, r->term, r->voted_for, r->log.snap_index,
               r->log.snap_term, raft_log_last_index(&r->log), raft_log_last_term(&r->log));
    raft_check_invariants(r);
    return r;
}

void raft_destroy(raft_t *r)
{
    if (!r)
        return;
    raft_log_free(&r->log);
    raft_outbox_free(&r->out);
    raft_outbox_free(&r->frozen_box);
    free(r->snap_data);
    free(r);
}

/* Entries must continue the message's prev entry, with terms that never
 * decrease and never exceed the sender's term. */
static const char *entries_invalid(const raft_msg_t *m)
{
    if (m->n_entries > RAFT_MSG_ENTRIES_MAX)
        return "too many entries";
    if (m->n_entries && !m->entries)
        return "entries missing";
    uint64_t prev_term = m->log_term;
    size_t bytes = 0;
    for (size_t i = 0; i < m->n_entries; i++) {
        const raft_entry_t *e = &m->entries[i];
        if (e->index != m->log_index + 1 + i)
            return "entry index not consecutive";
        if (e->term < prev_term || e->term > m->term || e->term == 0)
            return "entry term out of order";
        if (e->type > RAFT_ENTRY_LEADER_CHANGE || (e->len && !e->data))
            return "bad entry";
        bytes += e->len;
        if (bytes > RAFT_MSG_BYTES_MAX)
            return "entries too large";
        prev_term = e->term;
    }
    return NULL;
}

static const char *type_invalid(const raft_msg_t *m)
{
    if (m->type != RAFT_MSG_APPEND && m->n_entries)
        return "entries on a non-append message";
    if (m->type != RAFT_MSG_SNAPSHOT && m->snapshot_len)
        return "snapshot on a non-snapshot message";
    switch (m->type) {
    case RAFT_MSG_PREVOTE:
    case RAFT_MSG_VOTE:
        return m->log_term > m->term ? "candidate log term above its term" : NULL;
    case RAFT_MSG_APPEND:
        if (m->log_term > m->term || (m->log_index == 0) != (m->log_term == 0))
            return "bad previous entry";
        return entries_invalid(m);
    case RAFT_MSG_SNAPSHOT:
        if (m->log_index == 0 || m->log_term == 0 || m->log_term > m->term)
            return "bad snapshot id";
        return m->snapshot_len && !m->snapshot ? "snapshot data missing" : NULL;
    case RAFT_MSG_PREVOTE_RESP:
    case RAFT_MSG_VOTE_RESP:
    case RAFT_MSG_APPEND_RESP:
    case RAFT_MSG_SNAPSHOT_RESP:
    case RAFT_MSG_TIMEOUT_NOW:
        return NULL;
    }
    return "unknown type";
}

static const char *msg_invalid(const raft_t *r, const raft_msg_t *m)
{
    if (!m)
        return "null message";
    if (m->to != r->cfg.id)
        return "addressed to another node";
    if (m->from == r->cfg.id)
        return "from self";
    if (!raft_progress_is_voter(r, m->from))
        return "sender not a voter";
    if (m->term == 0)
        return "term 0";
    return type_invalid(m);
}

/* A message from an older term: tell a stale leader or candidate our term
 * so it steps down (Raft §5.1); a prevote only learns it lost. */
static void reply_stale(raft_t *r, const raft_msg_t *m)
{
    raft_msg_type_t reply;
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_SNAPSHOT: reply = RAFT_MSG_APPEND_RESP; break;
    case RAFT_MSG_VOTE: reply = RAFT_MSG_VOTE_RESP; break;
    case RAFT_MSG_PREVOTE: reply = RAFT_MSG_PREVOTE_RESP; break;
    default:
        raft_trace(r, "ignore %s from n%u term %" PRIu64 "<%" PRIu64,
                   raft_msg_type_name(m->type), m->from, m->term, r->term);
        return;
    }
    raft_trace(r, "recv %s from n%u term %" PRIu64 "<%" PRIu64 " reject stale",
               raft_msg_type_name(m->type), m->from, m->term, r->term);
    raft_msg_t *out = raft_msg_new(r, reply, m->from);
    if (!out)
        return;
    out->reject = true;
    out->log_index = m->log_index;
    out->hint = raft_log_last_index(&r->log);
    if (reply == RAFT_MSG_PREVOTE_RESP)
        out->term = m->term;
}

/* Returns false when the message is fully handled by its term alone. */
static bool step_term(raft_t *r, const raft_msg_t *m)
{
    if (m->term < r->term) {
        reply_stale(r, m);
        return false;
    }
    if (m->term == r->term || m->type == RAFT_MSG_PREVOTE ||
        m->type == RAFT_MSG_PREVOTE_RESP)
        return true;   /* prevotes never change terms (thesis §9.6) */
    if (m->type == RAFT_MSG_VOTE && m->hint != RAFT_VOTE_HINT_TRANSFER &&
        raft_election_in_lease(r)) {
        /* Leader stickiness (thesis §4.2.3): a live leader is not deposed
         * by a node that merely lost touch with it. */
        raft_trace(r, "ignore VOTE from n%u term %" PRIu64 ">%" PRIu64 ": leader n%u alive",
                   m->from, m->term, r->term, r->leader_id);
        return false;
    }
    bool from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_SNAPSHOT ||
                       m->type == RAFT_MSG_TIMEOUT_NOW;
    raft_become_follower(r, m->term, from_leader ? m->from : RAFT_NO_NODE);
    return true;
}

static void dispatch(raft_t *r, const raft_msg_t *m)
{
    switch (m->type) {
    case RAFT_MSG_PREVOTE: raft_election_handle_prevote(r, m); break;
    case RAFT_MSG_PREVOTE_RESP: raft_election_handle_prevote_resp(r, m); break;
    case RAFT_MSG_VOTE: raft_election_handle_vote(r, m); break;
    case RAFT_MSG_VOTE_RESP: raft_election_handle_vote_resp(r, m); break;
    case RAFT_MSG_APPEND: raft_repl_handle_append(r, m); break;
    case RAFT_MSG_APPEND_RESP: raft_repl_handle_append_resp(r, m); break;
    case RAFT_MSG_SNAPSHOT: raft_snap_handle(r, m); break;
    case RAFT_MSG_SNAPSHOT_RESP: raft_snap_handle_resp(r, m); break;
    case RAFT_MSG_TIMEOUT_NOW: raft_election_handle_timeout_now(r, m); break;
    }
}

int raft_step(raft_t *r, const raft_msg_t *m, uint64_t now_ms)
{
    set_time(r, now_ms);
    const char *why = msg_invalid(r, m);
    if (why) {
        raft_trace(r, "drop invalid %s from n%u: %s",
                   m ? raft_msg_type_name(m->type) : "message", m ? m->from : 0, why);
        return RAFT_ERR_INVALID;
    }
    if (step_term(r, m)) {
        if (r->role == RAFT_LEADER && m->term == r->term) {
            raft_progress_t *pr = raft_progress_find(r, m->from);
            pr->last_heard_ms = r->now_ms;
        }
        dispatch(r, m);
    }
    raft_check_invariants(r);
    return RAFT_OK;
}

void raft_tick(raft_t *r, uint64_t now_ms)
{
    set_time(r, now_ms);
    if (r->role == RAFT_LEADER)
        raft_repl_leader_tick(r);
    else
        raft_election_tick(r);
    raft_check_invariants(r);
}

void raft_peer_down(raft_t *r, uint32_t peer, uint64_t now_ms)
{
    set_time(r, now_ms);
    raft_election_leader_lost(r, peer);
    raft_check_invariants(r);
}

static int propose_check(const raft_t *r, const uint8_t *data, size_t len)
{
    if (r->role != RAFT_LEADER || r->transfer_target != RAFT_NO_NODE)
        return RAFT_ERR_NOT_LEADER;
    if (len && !data)
        return RAFT_ERR_INVALID;
    if (len > UINT32_MAX || len > r->cfg.max_uncommitted_bytes)
        return RAFT_ERR_TOO_BIG;
    if (r->uncommitted_bytes > 0 &&
        r->uncommitted_bytes + len > r->cfg.max_uncommitted_bytes)
        return RAFT_ERR_TOO_BIG;
    return RAFT_OK;
}

int raft_propose(raft_t *r, const uint8_t *data, size_t len, uint64_t now_ms,
                 uint64_t *index_out)
{
    set_time(r, now_ms);
    int rc = propose_check(r, data, len);
    if (rc != RAFT_OK)
        return rc;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return RAFT_ERR_NOMEM;
        memcpy(copy, data, len);
    }
    if (!raft_log_append_owned(&r->log, r->term, RAFT_ENTRY_NORMAL, copy, (uint32_t)len)) {
        free(copy);
        return RAFT_ERR_NOMEM;
    }
    r->uncommitted_bytes += len;
    uint64_t index = raft_log_last_index(&r->log);
    raft_trace(r, "propose index %" PRIu64 " len %zu", index, len);
    if (index_out)
        *index_out = index;
    raft_repl_broadcast(r, RAFT_SEND_NEW);
    raft_check_invariants(r);
    return RAFT_OK;
}

static raft_progress_t *most_caught_up(raft_t *r)
{
    raft_progress_t *best = NULL;
    for (size_t i = 0; i < r->n_prs; i++) {
        raft_progress_t *pr = &r->prs[i];
        if (pr->id != r->cfg.id && (!best || pr->match_index > best->match_index))
            best = pr;
    }
    return best;
}

int raft_transfer_leadership(raft_t *r, uint64_t now_ms)
{
    set_time(r, now_ms);
    if (r->role != RAFT_LEADER)
        return RAFT_ERR_NOT_LEADER;
    if (r->n_prs == 1)
        return RAFT_ERR_INVALID;
    if (r->transfer_target != RAFT_NO_NODE)
        return RAFT_OK;
    raft_progress_t *pr = most_caught_up(r);
    r->transfer_target = pr->id;
    r->transfer_deadline_ms = r->now_ms + r->cfg.election_timeout_ms;
    r->transfer_sent = false;
    raft_trace(r, "transfer leadership to n%u match %" PRIu64 "/%" PRIu64, pr->id,
               pr->match_index, raft_log_last_index(&r->log));
    /* Thesis §3.10: bring the target up to date, then TIMEOUT_NOW. */
    raft_repl_transfer_start(r, pr);
    raft_check_invariants(r);
    return RAFT_OK;
}

raft_role_t raft_role(const raft_t *r) { return r->role; }
uint32_t raft_id(const raft_t *r) { return r->cfg.id; }
uint64_t raft_term(const raft_t *r) { return r->term; }
uint32_t raft_leader(const raft_t *r) { return r->leader_id; }
uint64_t raft_commit_index(const raft_t *r) { return r->commit_index; }
uint64_t raft_applied_index(const raft_t *r) { return r->applied_index; }
uint64_t raft_first_index(const raft_t *r) { return r->log.snap_index + 1; }
uint64_t raft_last_index(const raft_t *r) { return raft_log_last_index(&r->log); }
uint64_t raft_last_term(const raft_t *r) { return raft_log_last_term(&r->log); }
uint64_t raft_snapshot_index(const raft_t *r) { return r->log.snap_index; }

const raft_entry_t *raft_entry_at(const raft_t *r, uint64_t index)
{
    return raft_log_get(&r->log, index);
}

uint64_t raft_match_index(const raft_t *r, uint32_t voter)
{
    if (r->role != RAFT_LEADER)
        return 0;
    if (voter == r->cfg.id)
        return r->stable_index;
    for (size_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == voter)
            return r->prs[i].match_index;
    return 0;
}

bool raft_voter_active(const raft_t *r, uint32_t voter, uint64_t now_ms)
{
    if (r->role != RAFT_LEADER)
        return false;
    if (voter == r->cfg.id)
        return true;
    for (size_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == voter)
            return now_ms < r->prs[i].last_heard_ms + r->cfg.check_quorum_timeout_ms;
    return false;
}
