/* Per-voter bookkeeping and quorum arithmetic: match/next indexes for the
 * leader (Raft §5.3), vote tallies for elections, check-quorum activity. */
#include <string.h>

#include "raft_int.h"

raft_progress_t *raft_progress_find(raft_t *r, uint32_t id)
{
    for (size_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == id)
            return &r->prs[i];
    return NULL;
}

bool raft_progress_is_voter(const raft_t *r, uint32_t id)
{
    for (size_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == id)
            return true;
    return false;
}

void raft_progress_reset_votes(raft_t *r)
{
    for (size_t i = 0; i < r->n_prs; i++)
        r->prs[i].vote = RAFT_VOTE_NONE;
}

/* A new leader knows nothing about the followers: probe each from its own
 * last index (Raft §5.3) and treat them all as just heard from, so
 * check-quorum gives them a full window. */
void raft_progress_reset_leader(raft_t *r)
{
    uint64_t last = raft_log_last_index(&r->log);
    for (size_t i = 0; i < r->n_prs; i++) {
        raft_progress_t *pr = &r->prs[i];
        uint32_t id = pr->id;
        memset(pr, 0, sizeof *pr);
        pr->id = id;
        pr->state = RAFT_PR_PROBE;
        pr->next_index = last + 1;
        pr->last_heard_ms = r->now_ms;
    }
}

/* Returns 1 when the votes won, -1 when they can no longer win, 0 otherwise. */
int raft_progress_tally(const raft_t *r, size_t *granted, size_t *rejected)
{
    size_t g = 0, rj = 0;
    for (size_t i = 0; i < r->n_prs; i++) {
        if (r->prs[i].vote == RAFT_VOTE_GRANTED)
            g++;
        else if (r->prs[i].vote == RAFT_VOTE_REJECTED)
            rj++;
    }
    *granted = g;
    *rejected = rj;
    size_t q = raft_quorum(r);
    if (g >= q)
        return 1;
    if (rj > r->n_prs - q)
        return -1;
    return 0;
}

/* Voters heard from within the check-quorum window, the leader included. */
size_t raft_progress_active(const raft_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_prs; i++) {
        const raft_progress_t *pr = &r->prs[i];
        if (pr->id == r->cfg.id ||
            r->now_ms - pr->last_heard_ms < r->cfg.check_quorum_timeout_ms)
            n++;
    }
    return n;
}

/* The highest index stored on a majority. The leader counts only what the
 * host reported durable (raft_advance), never what is merely in memory. */
uint64_t raft_progress_quorum_match(const raft_t *r)
{
    uint64_t m[RAFT_MAX_VOTERS];
    size_t n = r->n_prs;
    for (size_t i = 0; i < n; i++)
        m[i] = r->prs[i].id == r->cfg.id ? r->stable_index : r->prs[i].match_index;
    /* Insertion sort, descending: at most RAFT_MAX_VOTERS values. */
    for (size_t i = 1; i < n; i++) {
        uint64_t v = m[i];
        size_t j = i;
        while (j > 0 && m[j - 1] < v) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = v;
    }
    return m[raft_quorum(r) - 1];
}
