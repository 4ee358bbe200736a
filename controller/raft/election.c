/* Leader election (Raft §5.2) with PreVote (thesis §9.6, KIP-996), leader
 * stickiness (thesis §4.2.3) and leadership transfer (thesis §3.10):
 * randomized timers, role transitions, vote granting and tallying. */
#include <inttypes.h>

#include "log.h"
#include "raft_int.h"

/* splitmix64: tiny, seedable, and the same sequence on every platform, so a
 * simulation seed replays exactly. */
static uint64_t next_random(raft_t *r)
{
    uint64_t z = (r->prng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Raft §5.2: a timeout drawn from [t, 2t) each time, so split votes resolve. */
void raft_election_reset_timer(raft_t *r)
{
    uint64_t t = r->cfg.election_timeout_ms;
    r->election_deadline_ms = r->now_ms + t + next_random(r) % t;
}

/* Heard from a leader within the election timeout (or is the leader). */
bool raft_election_leader_alive(const raft_t *r)
{
    if (r->role == RAFT_LEADER)
        return true;
    return r->leader_id != RAFT_NO_NODE && !r->leader_lost &&
           r->now_ms - r->leader_contact_ms < r->cfg.election_timeout_ms;
}

/* The host saw its connection to the leader die (the leader's process is
 * gone, so the kernel closed its sockets). End the leader's lease and move
 * the election timer close: a random delay in [0, t/4) keeps followers that
 * noticed together from splitting the vote. Safety is untouched: PreVote
 * still needs a majority that no longer hears the leader, and a leader that
 * is alive keeps other followers' leases and reasserts itself with its next
 * APPEND. */
void raft_election_leader_lost(raft_t *r, uint32_t peer)
{
    if (r->role != RAFT_FOLLOWER || peer == RAFT_NO_NODE || peer != r->leader_id ||
        r->leader_lost)
        return;
    r->leader_lost = true;
    uint64_t soon = r->now_ms + next_random(r) % (r->cfg.election_timeout_ms / 4 + 1);
    if (soon < r->election_deadline_ms)
        r->election_deadline_ms = soon;
    raft_trace(r, "lost leader n%u term %" PRIu64 ": election at t=%" PRIu64, peer, r->term,
               r->election_deadline_ms);
}

/* With check-quorum a live leader holds a lease: votes that would depose it
 * are ignored, since check-quorum already removes a leader that lost its
 * majority. */
bool raft_election_in_lease(const raft_t *r)
{
    return r->cfg.check_quorum && raft_election_leader_alive(r);
}

void raft_become_follower(raft_t *r, uint64_t term, uint32_t leader)
{
    CAIRN_ASSERT(term >= r->term);
    bool changed = term != r->term || r->role != RAFT_FOLLOWER || leader != r->leader_id;
    uint64_t old_term = r->term;
    if (term > r->term) {
        r->term = term;
        r->voted_for = RAFT_NO_NODE;
        r->hard_state_dirty = true;
    }
    if (r->role == RAFT_LEADER) {
        r->uncommitted_bytes = 0;
        LOG_INFO("raft", "node %u: no longer leader of term %" PRIu64 " (now term %" PRIu64
                 ", leader %u)", r->cfg.id, old_term, term, leader);
    }
    r->role = RAFT_FOLLOWER;
    r->leader_id = leader;
    r->transfer_target = RAFT_NO_NODE;
    if (leader != RAFT_NO_NODE)
        r->leader_contact_ms = r->now_ms;
    if (leader != RAFT_NO_NODE || changed)
        r->leader_lost = false;
    raft_election_reset_timer(r);
    if (changed && leader != RAFT_NO_NODE)
        raft_trace(r, "became follower term %" PRIu64 " leader n%u", r->term, leader);
    else if (changed)
        raft_trace(r, "became follower term %" PRIu64 ", no leader", r->term);
}

static void become_leader(raft_t *r)
{
    CAIRN_ASSERT(r->role == RAFT_CANDIDATE && r->voted_for == r->cfg.id);
    r->role = RAFT_LEADER;
    r->leader_id = r->cfg.id;
    r->transfer_target = RAFT_NO_NODE;
    r->uncommitted_bytes = 0;
    raft_progress_reset_leader(r);
    raft_trace(r, "became leader term %" PRIu64 " last %" PRIu64 "/%" PRIu64, r->term,
               raft_log_last_index(&r->log), raft_log_last_term(&r->log));
    LOG_INFO("raft", "node %u: leader of term %" PRIu64 " (last index %" PRIu64 ")",
             r->cfg.id, r->term, raft_log_last_index(&r->log));
    /* Raft §5.4.2 / KRaft LeaderChangeMessage: an entry of the new term, so
     * the leader can commit without waiting for a client proposal. */
    bool ok = raft_log_append_owned(&r->log, r->term, RAFT_ENTRY_LEADER_CHANGE, NULL, 0);
    CAIRN_ASSERT(ok);
    r->heartbeat_due_ms = r->now_ms + r->cfg.heartbeat_interval_ms;
    raft_repl_broadcast(r, RAFT_SEND_HEARTBEAT);
    raft_repl_maybe_commit(r);
}

static void send_vote_requests(raft_t *r, raft_msg_type_t type, uint64_t term, bool transfer)
{
    for (size_t i = 0; i < r->n_prs; i++) {
        if (r->prs[i].id == r->cfg.id)
            continue;
        raft_msg_t *m = raft_msg_new(r, type, r->prs[i].id);
        if (!m)
            continue;
        m->term = term;
        m->log_index = raft_log_last_index(&r->log);
        m->log_term = raft_log_last_term(&r->log);
        m->hint = transfer ? RAFT_VOTE_HINT_TRANSFER : 0;
    }
}

static void become_candidate(raft_t *r, bool transfer)
{
    r->term++;
    r->voted_for = r->cfg.id;
    r->hard_state_dirty = true;
    r->role = RAFT_CANDIDATE;
    r->leader_id = RAFT_NO_NODE;
    raft_election_reset_timer(r);
    raft_progress_reset_votes(r);
    raft_progress_find(r, r->cfg.id)->vote = RAFT_VOTE_GRANTED;
    raft_trace(r, "became candidate term %" PRIu64 "%s", r->term, transfer ? " (transfer)" : "");
    size_t g, rj;
    if (raft_progress_tally(r, &g, &rj) > 0) {
        become_leader(r);
        return;
    }
    /* The grant we need rides on these messages, which the host sends only
     * after persisting the new term and self-vote. */
    send_vote_requests(r, RAFT_MSG_VOTE, r->term, transfer);
}

/* PreVote: ask whether we could win term+1 before disturbing anyone; the
 * term is neither bumped nor persisted. */
static void become_precandidate(raft_t *r)
{
    r->role = RAFT_PRECANDIDATE;
    r->leader_id = RAFT_NO_NODE;
    raft_election_reset_timer(r);
    raft_progress_reset_votes(r);
    raft_progress_find(r, r->cfg.id)->vote = RAFT_VOTE_GRANTED;
    raft_trace(r, "became precandidate term %" PRIu64 " prevote term %" PRIu64, r->term,
               r->term + 1);
    size_t g, rj;
    if (raft_progress_tally(r, &g, &rj) > 0) {
        become_candidate(r, false);
        return;
    }
    send_vote_requests(r, RAFT_MSG_PREVOTE, r->term + 1, false);
}

void raft_election_campaign(raft_t *r, bool transfer)
{
    CAIRN_ASSERT(r->role != RAFT_LEADER);
    if (r->cfg.prevote && !transfer)
        become_precandidate(r);
    else
        become_candidate(r, transfer);
}

void raft_election_tick(raft_t *r)
{
    if (r->role == RAFT_LEADER || r->now_ms < r->election_deadline_ms)
        return;
    raft_trace(r, "election timeout term %" PRIu64 " %s", r->term, raft_role_name(r->role));
    raft_election_campaign(r, false);
}

static void reply_vote(raft_t *r, raft_msg_type_t type, const raft_msg_t *req, bool grant)
{
    raft_msg_t *m = raft_msg_new(r, type, req->from);
    if (!m)
        return;
    /* A prevote answer names the term asked about, so the asker can match it
     * to its current campaign; it never reveals or changes ours. */
    if (type == RAFT_MSG_PREVOTE_RESP)
        m->term = req->term;
    m->reject = !grant;
}

void raft_election_handle_prevote(raft_t *r, const raft_msg_t *m)
{
    bool up = raft_log_up_to_date(&r->log, m->log_index, m->log_term);
    bool alive = raft_election_leader_alive(r);
    bool grant = m->term > r->term && up && !alive;
    const char *why = grant ? "grant" : m->term <= r->term ? "reject stale term"
                      : !up ? "reject stale log" : "reject live leader";
    raft_trace(r, "recv PREVOTE from n%u term %" PRIu64 "%c%" PRIu64 " log %" PRIu64 "/%" PRIu64
               " %s", m->from, m->term, raft_term_cmp(m->term, r->term), r->term,
               m->log_index, m->log_term, why);
    reply_vote(r, RAFT_MSG_PREVOTE_RESP, m, grant);
}

static void record_vote(raft_t *r, const raft_msg_t *m)
{
    raft_progress_t *pr = raft_progress_find(r, m->from);
    if (pr->vote == RAFT_VOTE_NONE)
        pr->vote = m->reject ? RAFT_VOTE_REJECTED : RAFT_VOTE_GRANTED;
}

void raft_election_handle_prevote_resp(raft_t *r, const raft_msg_t *m)
{
    if (r->role != RAFT_PRECANDIDATE || m->term != r->term + 1) {
        raft_trace(r, "ignore PREVOTE_RESP from n%u term %" PRIu64 ": not campaigning for it",
                   m->from, m->term);
        return;
    }
    record_vote(r, m);
    size_t g, rj;
    int result = raft_progress_tally(r, &g, &rj);
    raft_trace(r, "recv PREVOTE_RESP from n%u term %" PRIu64 " %s (%zu granted, %zu rejected)",
               m->from, m->term, m->reject ? "reject" : "grant", g, rj);
    if (result > 0)
        become_candidate(r, false);
    else if (result < 0)
        raft_become_follower(r, r->term, RAFT_NO_NODE);
}

/* Raft §5.2/§5.4.1: one vote per term, only for a log at least as up to
 * date. The vote reaches the candidate only after the update carrying it
 * (hard_state_changed) has been persisted. */
void raft_election_handle_vote(raft_t *r, const raft_msg_t *m)
{
    CAIRN_ASSERT(m->term == r->term);
    bool up = raft_log_up_to_date(&r->log, m->log_index, m->log_term);
    bool free_vote = r->voted_for == m->from ||
                     (r->voted_for == RAFT_NO_NODE && r->leader_id == RAFT_NO_NODE);
    bool grant = up && free_vote;
    if (grant && r->voted_for != m->from) {
        r->voted_for = m->from;
        r->hard_state_dirty = true;
        raft_election_reset_timer(r);
    }
    const char *why = grant ? "grant" : !free_vote ? "reject already voted" : "reject stale log";
    raft_trace(r, "recv VOTE from n%u term %" PRIu64 " log %" PRIu64 "/%" PRIu64 " %s (vote n%u)",
               m->from, m->term, m->log_index, m->log_term, why, r->voted_for);
    reply_vote(r, RAFT_MSG_VOTE_RESP, m, grant);
}

void raft_election_handle_vote_resp(raft_t *r, const raft_msg_t *m)
{
    if (r->role != RAFT_CANDIDATE) {
        raft_trace(r, "ignore VOTE_RESP from n%u: %s", m->from, raft_role_name(r->role));
        return;
    }
    record_vote(r, m);
    size_t g, rj;
    int result = raft_progress_tally(r, &g, &rj);
    raft_trace(r, "recv VOTE_RESP from n%u term %" PRIu64 " %s (%zu granted, %zu rejected)",
               m->from, m->term, m->reject ? "reject" : "grant", g, rj);
    if (result > 0)
        become_leader(r);
    else if (result < 0)
        raft_become_follower(r, r->term, RAFT_NO_NODE);
}

/* Thesis §3.10: the leader asks us to take over; skip PreVote, since the
 * leader's followers would refuse it while the leader is alive. */
void raft_election_handle_timeout_now(raft_t *r, const raft_msg_t *m)
{
    if (r->role != RAFT_FOLLOWER || m->from != r->leader_id) {
        raft_trace(r, "ignore TIMEOUT_NOW from n%u: %s, leader n%u", m->from,
                   raft_role_name(r->role), r->leader_id);
        return;
    }
    raft_trace(r, "recv TIMEOUT_NOW from n%u term %" PRIu64 ": campaign", m->from, m->term);
    raft_election_campaign(r, true);
}
