/* Log replication (Raft §5.3) and commitment (§5.4.2): the leader's append
 * pipeline with fast back-off on rejection, the follower's consistency check
 * and truncation, heartbeats, check-quorum and the commit rule. */
#include <inttypes.h>

#include "log.h"
#include "raft_int.h"

static uint64_t u64_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* How many entries from next fit one APPEND: at least one if any exist, so
 * a single large entry still moves. */
static size_t batch_len(const raft_t *r, uint64_t next)
{
    uint64_t last = raft_log_last_index(&r->log);
    size_t n = 0, bytes = 0;
    if (next <= r->log.snap_index)
        return 0;   /* compacted: the caller falls back to a snapshot */
    while (next + n <= last && n < r->cfg.max_append_entries) {
        const raft_entry_t *e = raft_log_get(&r->log, next + n);
        if (n > 0 && bytes + e->len > r->cfg.max_append_bytes)
            break;
        bytes += e->len;
        n++;
    }
    return n;
}

/* Sends entries [prev+1, prev+n]; false when prev is no longer in the log
 * (compacted), so only a snapshot can help. */
static bool send_append_at(raft_t *r, raft_progress_t *pr, uint64_t prev, size_t n)
{
    uint64_t prev_term;
    if (!raft_log_term_at(&r->log, prev, &prev_term))
        return false;
    raft_msg_t *m = raft_msg_new(r, RAFT_MSG_APPEND, pr->id);
    if (!m)
        return true;
    m->log_index = prev;
    m->log_term = prev_term;
    m->commit = r->commit_index;
    raft_msg_copy_entries(r, m, prev + 1, n);
    pr->commit_sent = u64_max(pr->commit_sent, u64_min(r->commit_index, prev + n));
    return true;
}

static void send_probe(raft_t *r, raft_progress_t *pr)
{
    uint64_t prev = pr->next_index - 1;
    if (!send_append_at(r, pr, prev, batch_len(r, pr->next_index))) {
        raft_snap_send(r, pr);
        return;
    }
    pr->probe_sent = true;
}

static bool inflight_full(const raft_t *r, const raft_progress_t *pr)
{
    uint64_t window = (uint64_t)r->cfg.max_append_entries * RAFT_INFLIGHT_BATCHES_MAX;
    return pr->next_index - 1 - pr->match_index >= window;
}

/* Pipelining: new entries go out at once; a heartbeat that finds no
 * acknowledgement progress since the last one retransmits from the match,
 * since the batches may have been lost. */
static void send_replicate(raft_t *r, raft_progress_t *pr, raft_send_reason_t reason)
{
    uint64_t last = raft_log_last_index(&r->log);
    if (reason == RAFT_SEND_HEARTBEAT) {
        if (pr->match_index < last && pr->match_index == pr->match_at_heartbeat)
            pr->next_index = pr->match_index + 1;
        pr->match_at_heartbeat = pr->match_index;
    }
    bool sent = false;
    while (pr->next_index <= last && !inflight_full(r, pr)) {
        size_t n = batch_len(r, pr->next_index);
        if (!send_append_at(r, pr, pr->next_index - 1, n)) {
            raft_snap_send(r, pr);
            return;
        }
        CAIRN_ASSERT(n > 0);
        pr->next_index += n;
        sent = true;
    }
    /* An empty append at the known match carries the commit index and keeps
     * the follower's election timer quiet. */
    if (!sent && reason != RAFT_SEND_NEW && !send_append_at(r, pr, pr->match_index, 0))
        raft_snap_send(r, pr);
}

void raft_repl_send(raft_t *r, raft_progress_t *pr, raft_send_reason_t reason)
{
    CAIRN_ASSERT(r->role == RAFT_LEADER && pr->id != r->cfg.id);
    switch (pr->state) {
    case RAFT_PR_SNAPSHOT:
        /* Resend only when the previous one looks lost. */
        if (reason == RAFT_SEND_HEARTBEAT &&
            r->now_ms - pr->snapshot_sent_ms >= r->cfg.election_timeout_ms)
            raft_snap_send(r, pr);
        return;
    case RAFT_PR_PROBE:
        if (pr->probe_sent && reason != RAFT_SEND_HEARTBEAT)
            return;
        send_probe(r, pr);
        return;
    case RAFT_PR_REPLICATE:
        send_replicate(r, pr, reason);
        return;
    }
}

void raft_repl_broadcast(raft_t *r, raft_send_reason_t reason)
{
    for (size_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id != r->cfg.id)
            raft_repl_send(r, &r->prs[i], reason);
}

/* Entering the leader's term as its follower: candidates give up (Raft
 * §5.2), and the election timer restarts. False if another node claims to
 * lead the same term, which a correct quorum never produces. */
bool raft_repl_accept_leader(raft_t *r, const raft_msg_t *m)
{
    CAIRN_ASSERT(m->term == r->term);
    if (r->role == RAFT_LEADER ||
        (r->leader_id != RAFT_NO_NODE && r->leader_id != m->from)) {
        raft_trace(r, "drop %s from n%u: n%u leads term %" PRIu64,
                   raft_msg_type_name(m->type), m->from, r->leader_id, r->term);
        return false;
    }
    if (r->role != RAFT_FOLLOWER || r->leader_id != m->from)
        raft_become_follower(r, r->term, m->from);
    r->leader_contact_ms = r->now_ms;
    r->leader_lost = false;
    raft_election_reset_timer(r);
    return true;
}

static void send_append_resp(raft_t *r, const raft_msg_t *req, bool reject, uint64_t hint,
                             uint64_t hint_term)
{
    raft_msg_t *m = raft_msg_new(r, RAFT_MSG_APPEND_RESP, req->from);
    if (!m)
        return;
    m->log_index = req->log_index;
    m->reject = reject;
    m->hint = hint;
    m->log_term = hint_term;
}

/* Fast back-off (etcd's findConflictByTerm): the largest index <= index
 * whose term is <= term; everything above it cannot match. */
static uint64_t conflict_probe(const raft_t *r, uint64_t index, uint64_t term, uint64_t floor)
{
    index = u64_min(index, raft_log_last_index(&r->log));
    uint64_t t;
    while (index > floor && raft_log_term_at(&r->log, index, &t) && t > term)
        index--;
    return index;
}

static void reject_append(raft_t *r, const raft_msg_t *m)
{
    uint64_t hint = conflict_probe(r, m->log_index, m->log_term, r->commit_index);
    uint64_t hint_term = 0;
    raft_log_term_at(&r->log, hint, &hint_term);
    raft_trace(r, "recv APPEND from n%u term %" PRIu64 " prev %" PRIu64 "/%" PRIu64
               " reject hint %" PRIu64 "/%" PRIu64, m->from, m->term, m->log_index,
               m->log_term, hint, hint_term);
    send_append_resp(r, m, true, hint, hint_term);
}

/* Drops a conflicting suffix. Committed entries never conflict (Raft §5.4),
 * so reaching one here means safety is already broken. */
void raft_repl_truncate(raft_t *r, uint64_t from_index)
{
    CAIRN_ASSERT(from_index > r->commit_index);
    raft_trace(r, "truncate from %" PRIu64 " (last %" PRIu64 ")", from_index,
               raft_log_last_index(&r->log));
    raft_log_truncate(&r->log, from_index);
    r->stable_index = u64_min(r->stable_index, from_index - 1);
    r->unstable_from = u64_min(r->unstable_from, from_index);
    r->truncated_floor = u64_min(r->truncated_floor, from_index - 1);
}

/* Appends ents after the matching prev; returns the last index verified. */
static uint64_t append_entries(raft_t *r, uint64_t prev, const raft_entry_t *ents, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        uint64_t t;
        if (!raft_log_term_at(&r->log, ents[i].index, &t))
            break;
        if (t != ents[i].term) {
            raft_repl_truncate(r, ents[i].index);
            break;
        }
    }
    for (; i < n; i++)
        CAIRN_ASSERT(raft_log_append(&r->log, &ents[i]));
    return prev + n;
}

void raft_repl_handle_append(raft_t *r, const raft_msg_t *m)
{
    if (!raft_repl_accept_leader(r, m))
        return;
    uint64_t prev = m->log_index, prev_term = m->log_term;
    const raft_entry_t *ents = m->entries;
    size_t n = m->n_entries;
    if (prev < r->commit_index) {
        /* Raft §5.4: our committed prefix matches every leader's; skip it. */
        size_t skip = (size_t)u64_min(n, r->commit_index - prev);
        ents += skip;
        n -= skip;
        prev += skip;
        if (prev < r->commit_index) {
            send_append_resp(r, m, false, prev, 0);
            return;
        }
        CAIRN_ASSERT(raft_log_term_at(&r->log, prev, &prev_term));
    }
    uint64_t t;
    if (!raft_log_term_at(&r->log, prev, &t) || t != prev_term) {
        reject_append(r, m);
        return;
    }
    uint64_t last_new = append_entries(r, prev, ents, n);
    /* Raft figure 2: commit = min(leaderCommit, index of last new entry). */
    uint64_t commit = u64_min(m->commit, last_new);
    if (commit > r->commit_index) {
        raft_set_commit(r, commit);
        raft_trace(r, "commit %" PRIu64 " from leader n%u", commit, m->from);
    }
    if (n)
        raft_trace(r, "recv APPEND from n%u term %" PRIu64 " prev %" PRIu64 "/%" PRIu64
                   " n=%zu accept match %" PRIu64, m->from, m->term, prev, prev_term, n,
                   last_new);
    /* Queued with the entries it acknowledges: sent only once they are durable. */
    send_append_resp(r, m, false, last_new, 0);
}

/* Leadership transfer: once the target holds the whole log, tell it to
 * campaign (thesis §3.10). */
static void maybe_send_timeout_now(raft_t *r, raft_progress_t *pr)
{
    if (r->transfer_target != pr->id || r->transfer_sent ||
        pr->match_index != raft_log_last_index(&r->log))
        return;
    raft_msg_t *m = raft_msg_new(r, RAFT_MSG_TIMEOUT_NOW, pr->id);
    if (!m)
        return;
    r->transfer_sent = true;
    raft_trace(r, "send TIMEOUT_NOW to n%u match %" PRIu64, pr->id, pr->match_index);
}

/* A follower confirmed it holds everything up to match. */
static void ack_progress(raft_t *r, raft_progress_t *pr, uint64_t match)
{
    bool advanced = match > pr->match_index;
    if (advanced) {
        raft_trace(r, "progress n%u match %" PRIu64 " (was %" PRIu64 ")", pr->id, match,
                   pr->match_index);
        pr->match_index = match;
    }
    pr->next_index = u64_max(pr->next_index, match + 1);
    if (pr->state != RAFT_PR_REPLICATE) {
        pr->state = RAFT_PR_REPLICATE;
        pr->probe_sent = false;
        pr->match_at_heartbeat = pr->match_index;
    }
    if (advanced)
        raft_repl_maybe_commit(r);
    maybe_send_timeout_now(r, pr);
    /* A follower that just caught up may not know the commit index yet. */
    bool stale_commit = pr->commit_sent < u64_min(r->commit_index, pr->match_index);
    raft_repl_send(r, pr, stale_commit ? RAFT_SEND_COMMIT : RAFT_SEND_NEW);
}

void raft_repl_transfer_start(raft_t *r, raft_progress_t *pr)
{
    CAIRN_ASSERT(r->transfer_target == pr->id);
    maybe_send_timeout_now(r, pr);
    if (!r->transfer_sent)
        raft_repl_send(r, pr, RAFT_SEND_HEARTBEAT);
}

/* The follower's hint names an entry we hold with the same term, so by Log
 * Matching (Raft §5.3) its log equals ours up to there: it is only behind
 * (lost or reordered batches), not diverging. Its answer left after that
 * prefix was durable, so the prefix counts as matched. */
static bool reject_means_behind(const raft_t *r, const raft_progress_t *pr,
                                const raft_msg_t *m)
{
    uint64_t term;
    return m->log_term > 0 && m->hint > pr->match_index && m->hint < m->log_index &&
           raft_log_term_at(&r->log, m->hint, &term) && term == m->log_term;
}

/* Follower lacks or disagrees at prev: jump next back using its hint. */
static void handle_reject(raft_t *r, raft_progress_t *pr, const raft_msg_t *m)
{
    bool stale = m->log_index <= pr->match_index || pr->state == RAFT_PR_SNAPSHOT ||
                 (pr->state == RAFT_PR_PROBE && m->log_index != pr->next_index - 1);
    if (stale) {
        raft_trace(r, "ignore stale APPEND_RESP reject from n%u prev %" PRIu64, m->from,
                   m->log_index);
        return;
    }
    if (reject_means_behind(r, pr, m)) {
        raft_trace(r, "recv APPEND_RESP from n%u reject prev %" PRIu64 ": behind at %" PRIu64
                   "/%" PRIu64 ", resend", m->from, m->log_index, m->hint, m->log_term);
        pr->next_index = m->hint + 1;
        ack_progress(r, pr, m->hint);
        return;
    }
    uint64_t probe = m->hint;
    if (m->log_term > 0)
        probe = conflict_probe(r, m->hint, m->log_term, r->log.snap_index);
    uint64_t next = u64_min(m->log_index, probe + 1);
    pr->next_index = u64_max(next, pr->match_index + 1);
    pr->state = RAFT_PR_PROBE;
    pr->probe_sent = false;
    raft_trace(r, "recv APPEND_RESP from n%u reject prev %" PRIu64 " hint %" PRIu64 "/%" PRIu64
               ": next %" PRIu64, m->from, m->log_index, m->hint, m->log_term,
               pr->next_index);
    raft_repl_send(r, pr, RAFT_SEND_NEW);
}

void raft_repl_handle_append_resp(raft_t *r, const raft_msg_t *m)
{
    if (r->role != RAFT_LEADER)
        return;
    raft_progress_t *pr = raft_progress_find(r, m->from);
    if (m->reject) {
        handle_reject(r, pr, m);
        return;
    }
    if (m->hint > raft_log_last_index(&r->log)) {
        raft_trace(r, "drop APPEND_RESP from n%u: match %" PRIu64 " beyond our log", m->from,
                   m->hint);
        return;
    }
    if (pr->state == RAFT_PR_SNAPSHOT && m->hint < pr->snapshot_index)
        return;   /* an answer from before the snapshot was sent */
    ack_progress(r, pr, m->hint);
}

/* Raft §5.4.2: only an entry of the leader's current term is committed by
 * counting replicas; earlier entries commit with it. Counting older terms
 * lets a later leader overwrite a "committed" entry (figure 8). */
void raft_repl_maybe_commit(raft_t *r)
{
    CAIRN_ASSERT(r->role == RAFT_LEADER);
    uint64_t n = raft_progress_quorum_match(r);
    if (n <= r->commit_index)
        return;
    uint64_t term;
    CAIRN_ASSERT(raft_log_term_at(&r->log, n, &term));
#ifndef CAIRN_RAFT_BUG_COMMIT_OLD_TERM
    if (term != r->term)
        return;
#endif
    for (uint64_t i = r->commit_index + 1; i <= n; i++) {
        uint32_t len = raft_log_get(&r->log, i)->len;
        r->uncommitted_bytes -= u64_min(r->uncommitted_bytes, len);
    }
    raft_set_commit(r, n);
    raft_trace(r, "commit %" PRIu64 " term %" PRIu64, n, term);
    raft_repl_broadcast(r, RAFT_SEND_COMMIT);
}

/* Check-quorum: a leader cut off from a majority steps down instead of
 * serving stale state forever (KRaft's resign after 1.5x fetch timeout). */
static bool check_quorum(raft_t *r)
{
    if (!r->cfg.check_quorum)
        return true;
    size_t active = raft_progress_active(r);
    if (active >= raft_quorum(r))
        return true;
    raft_trace(r, "check quorum failed: %zu of %zu active, step down", active, r->n_prs);
    LOG_WARN("raft", "node %u: heard from %zu of %zu voters within %" PRIu64
             " ms, leaving leadership of term %" PRIu64, r->cfg.id, active, r->n_prs,
             r->cfg.check_quorum_timeout_ms, r->term);
    raft_become_follower(r, r->term, RAFT_NO_NODE);
    return false;
}

void raft_repl_leader_tick(raft_t *r)
{
    CAIRN_ASSERT(r->role == RAFT_LEADER);
    if (!check_quorum(r))
        return;
    if (r->transfer_target != RAFT_NO_NODE && r->now_ms >= r->transfer_deadline_ms) {
        raft_trace(r, "transfer to n%u timed out", r->transfer_target);
        r->transfer_target = RAFT_NO_NODE;
    }
    if (r->now_ms < r->heartbeat_due_ms)
        return;
    r->heartbeat_due_ms = r->now_ms + r->cfg.heartbeat_interval_ms;
    raft_repl_broadcast(r, RAFT_SEND_HEARTBEAT);
}

/* A follower installed (or already covered) the snapshot up to match. */
void raft_repl_ack_snapshot(raft_t *r, raft_progress_t *pr, uint64_t match)
{
    CAIRN_ASSERT(r->role == RAFT_LEADER);
    if (match > raft_log_last_index(&r->log))
        return;
    ack_progress(r, pr, match);
}
