/* Snapshots (Raft §7, KIP-630): compacting the log behind the host's
 * state-machine snapshot, sending it whole to a follower whose next entry
 * was compacted away, and installing one received from the leader. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "raft_int.h"

int raft_compact(raft_t *r, uint64_t index, const uint8_t *data, size_t len)
{
    if (index <= r->log.snap_index || index > r->applied_index || (len && !data))
        return RAFT_ERR_INVALID;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return RAFT_ERR_NOMEM;
        memcpy(copy, data, len);
    }
    raft_log_compact(&r->log, index);
    free(r->snap_data);
    r->snap_data = copy;
    r->snap_len = len;
    raft_trace(r, "compact to %" PRIu64 "/%" PRIu64 " len %zu", index, r->log.snap_term, len);
    raft_check_invariants(r);
    return RAFT_OK;
}

void raft_snap_send(raft_t *r, raft_progress_t *pr)
{
    CAIRN_ASSERT(r->role == RAFT_LEADER && r->log.snap_index > 0);
    pr->state = RAFT_PR_SNAPSHOT;
    pr->probe_sent = false;
    pr->snapshot_index = r->log.snap_index;
    pr->snapshot_sent_ms = r->now_ms;
    raft_msg_t *m = raft_msg_new(r, RAFT_MSG_SNAPSHOT, pr->id);
    if (!m)
        return;
    m->log_index = r->log.snap_index;
    m->log_term = r->log.snap_term;
    m->commit = r->commit_index;
    raft_msg_copy_snapshot(r, m);
    raft_trace(r, "send SNAPSHOT to n%u index %" PRIu64 "/%" PRIu64 " len %zu", pr->id,
               m->log_index, m->log_term, m->snapshot_len);
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Replaces the whole log; the host learns it through update.snapshot_install
 * and persists it before the SNAPSHOT_RESP goes out. */
static void install(raft_t *r, const raft_msg_t *m)
{
    uint8_t *copy = NULL;
    if (m->snapshot_len) {
        copy = raft_xmalloc(m->snapshot_len);
        memcpy(copy, m->snapshot, m->snapshot_len);
    }
    uint64_t old_commit = r->commit_index;
    CAIRN_ASSERT(m->log_index > old_commit);
    raft_log_reset(&r->log, m->log_index, m->log_term);
    free(r->snap_data);
    r->snap_data = copy;
    r->snap_len = m->snapshot_len;
    raft_set_commit(r, m->log_index);
    r->handed_index = m->log_index;
    /* Only the old committed prefix is known to agree with the snapshot. */
    r->stable_index = u64_min(r->stable_index, old_commit);
    r->truncated_floor = u64_min(r->truncated_floor, old_commit);
    r->unstable_from = m->log_index + 1;
    r->install_pending = true;
}

void raft_snap_handle(raft_t *r, const raft_msg_t *m)
{
    if (!raft_repl_accept_leader(r, m))
        return;
    uint64_t term;
    if (m->log_index <= r->commit_index) {
        raft_trace(r, "recv SNAPSHOT from n%u index %" PRIu64 "/%" PRIu64
                   ": ignore, commit %" PRIu64, m->from, m->log_index, m->log_term,
                   r->commit_index);
    } else if (raft_log_term_at(&r->log, m->log_index, &term) && term == m->log_term) {
        /* Raft §7: we hold the snapshot's last entry, so our log matches the
         * leader's up to it; keep what follows (we may have acknowledged it)
         * and just commit. */
        raft_set_commit(r, m->log_index);
        raft_trace(r, "recv SNAPSHOT from n%u index %" PRIu64 "/%" PRIu64
                   ": entry held, commit", m->from, m->log_index, m->log_term);
    } else {
        install(r, m);
        raft_trace(r, "recv SNAPSHOT from n%u index %" PRIu64 "/%" PRIu64 " len %zu: install",
                   m->from, m->log_index, m->log_term, m->snapshot_len);
        LOG_INFO("raft", "node %u: installing snapshot %" PRIu64 "/%" PRIu64 " (%zu bytes)"
                 " from leader %u", r->cfg.id, m->log_index, m->log_term, m->snapshot_len,
                 m->from);
    }
    /* Either way everything up to the snapshot index matches the leader. */
    raft_msg_t *resp = raft_msg_new(r, RAFT_MSG_SNAPSHOT_RESP, m->from);
    if (resp)
        resp->hint = m->log_index;
}

void raft_snap_handle_resp(raft_t *r, const raft_msg_t *m)
{
    if (r->role != RAFT_LEADER)
        return;
    raft_progress_t *pr = raft_progress_find(r, m->from);
    if (pr->state == RAFT_PR_SNAPSHOT && m->hint < pr->snapshot_index) {
        raft_trace(r, "ignore SNAPSHOT_RESP from n%u index %" PRIu64 ": sent %" PRIu64,
                   m->from, m->hint, pr->snapshot_index);
        return;
    }
    raft_trace(r, "recv SNAPSHOT_RESP from n%u index %" PRIu64, m->from, m->hint);
    raft_repl_ack_snapshot(r, pr, m->hint);
}
