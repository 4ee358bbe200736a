/* Leader-side replication state: follower progress, the high watermark,
 * acks=all waiters, ISR change decisions (Kafka's Partition and
 * ReplicaManager rules, with fsync'd data only in durable mode). */
#include "leader.h"

#include <stdlib.h>
#include <string.h>

#include "cairn_assert.h"
#include "kafka_error.h"
#include "log.h"

static bool ids_contain(const int32_t *ids, size_t n, int32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == x)
            return true;
    return false;
}

static replica_follower_t *follower_of(replica_t *r, int32_t id)
{
    for (size_t i = 0; i < r->n_followers; i++)
        if (r->followers[i].id == id)
            return &r->followers[i];
    return NULL;
}

const replica_follower_t *replica_leader_follower(const replica_t *r, int32_t id)
{
    return follower_of((replica_t *)r, id);
}

void replica_leader_start(replica_t *r, uint64_t now_ms)
{
    /* KIP-279: the new epoch starts at our log end before anything is
     * appended, so a follower asking where its older epoch ends gets the
     * right answer even across back-to-back elections. */
    if (plog_begin_epoch(r->log, r->leader_epoch) != 0)
        LOG_WARN("replica", "%s-%u: cannot record leader epoch %d", r->topic, r->partition,
                 r->leader_epoch);
    r->n_followers = 0;
    for (size_t i = 0; i < r->n_replicas && r->n_followers < REPLICA_MAX; i++) {
        if (r->replicas[i] == r->leader_id)
            continue;
        replica_follower_t *f = &r->followers[r->n_followers++];
        memset(f, 0, sizeof *f);
        f->id = r->replicas[i];
        f->leo = f->durable = -1;
        f->leader_leo_at_fetch = -1;
        /* A new leader gives every follower a full lag window (Kafka). */
        f->last_caught_up_ms = now_ms;
    }
    r->alter_in_flight = false;
    r->n_pending_isr = 0;
}

void replica_leader_stop(replica_t *r, int16_t kafka_error)
{
    replica_commit_wait_t *w = r->commit_head;
    r->commit_head = r->commit_tail = NULL;
    r->n_commit_waits = 0;
    r->n_followers = 0;
    while (w) {
        replica_commit_wait_t *next = w->next;
        w->fn(w->arg, kafka_error);
        free(w);
        w = next;
    }
}

/* What a member of the ISR has that counts toward the high watermark. */
static int64_t progress_of(replica_t *r, int32_t id)
{
    if (id == r->leader_id)
        return r->durable ? plog_durable_offset(r->log) : plog_end_offset(r->log);
    const replica_follower_t *f = follower_of(r, id);
    if (!f)
        return -1;
    return r->durable ? f->durable : f->leo;
}

/* KIP-497: the high watermark is computed over the maximal ISR — the
 * committed one plus members an AlterPartition in flight would add — so a
 * shrink only counts once committed and an expansion at once. */
static int64_t hw_candidate(replica_t *r)
{
    int64_t hw = progress_of(r, r->leader_id);
    for (size_t i = 0; i < r->isr_size; i++) {
        int64_t p = progress_of(r, r->isr[i]);
        hw = p < hw ? p : hw;
    }
    for (size_t i = 0; r->alter_in_flight && i < r->n_pending_isr; i++) {
        int64_t p = progress_of(r, r->pending_isr[i]);
        hw = p < hw ? p : hw;
    }
    int64_t end = plog_end_offset(r->log);
    return hw > end ? end : hw;
}

int16_t replica_leader_commit_error(const replica_t *r)
{
    return (int64_t)r->isr_size < r->min_insync_replicas
        ? KAFKA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND : KAFKA_ERR_NONE;
}

static void release_waiters(replica_t *r, int64_t hw)
{
    while (r->commit_head && r->commit_head->end_offset <= hw) {
        replica_commit_wait_t *w = r->commit_head;
        r->commit_head = w->next;
        if (!r->commit_head)
            r->commit_tail = NULL;
        r->n_commit_waits--;
        w->fn(w->arg, replica_leader_commit_error(r));
        free(w);
    }
}

bool replica_leader_update_hw(replica_t *r)
{
    if (!r->leader)
        return false;
    int64_t hw = hw_candidate(r);
    int64_t old = plog_high_watermark(r->log);
    if (hw <= old)
        return false;
    plog_set_high_watermark(r->log, hw);
    release_waiters(r, hw);
    return true;
}

void replica_leader_appended(replica_t *r)
{
    replica_notify_appends(r);
    if (!r->durable)
        replica_leader_update_hw(r);
}

bool replica_leader_fetched(replica_t *r, int32_t follower, int64_t fetch_offset,
                            int64_t durable_offset, uint64_t now_ms)
{
    replica_follower_t *f = follower_of(r, follower);
    if (!f)
        return false;
    int64_t leader_end = plog_end_offset(r->log);
    /* Kafka's rule: caught up if it has what the leader had now, or what
     * the leader had at its previous fetch. */
    if (fetch_offset >= leader_end)
        f->last_caught_up_ms = now_ms;
    else if (f->leader_leo_at_fetch >= 0 && fetch_offset >= f->leader_leo_at_fetch)
        f->last_caught_up_ms = f->last_fetch_ms;
    f->leader_leo_at_fetch = leader_end;
    f->last_fetch_ms = now_ms;
    f->leo = fetch_offset;
    f->durable = durable_offset < fetch_offset ? durable_offset : fetch_offset;
    return replica_leader_update_hw(r);
}

bool replica_leader_durable(replica_t *r, int32_t follower, int64_t durable_offset)
{
    replica_follower_t *f = follower_of(r, follower);
    if (!f || !r->leader)
        return false;
    if (durable_offset > f->leo)
        durable_offset = f->leo;
    if (durable_offset <= f->durable)
        return false;
    f->durable = durable_offset;
    return replica_leader_update_hw(r);
}

int replica_leader_when_committed(replica_t *r, int64_t end_offset,
                                  void (*fn)(void *arg, int16_t kafka_error), void *arg)
{
    if (plog_high_watermark(r->log) >= end_offset)
        return 1;
    if (r->n_commit_waits >= REPLICA_COMMIT_WAITERS_MAX)
        return -1;
    replica_commit_wait_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->end_offset = end_offset;
    w->fn = fn;
    w->arg = arg;
    /* Appends come in offset order, so the queue stays sorted. */
    CAIRN_ASSERT(!r->commit_tail || r->commit_tail->end_offset <= end_offset);
    if (r->commit_tail)
        r->commit_tail->next = w;
    else
        r->commit_head = w;
    r->commit_tail = w;
    r->n_commit_waits++;
    return 0;
}

bool replica_leader_isr_wanted(const replica_t *r, uint64_t now_ms, uint64_t lag_ms,
                               int32_t *new_isr, size_t *n_new_isr)
{
    size_t n = 0;
    bool changed = false;
    int64_t hw = plog_high_watermark(r->log);
    int64_t epoch_start = plog_epoch_start_offset(r->log, r->leader_epoch);
    for (size_t i = 0; i < r->n_replicas; i++) {
        int32_t id = r->replicas[i];
        bool in = ids_contain(r->isr, r->isr_size, id);
        const replica_follower_t *f = id == r->leader_id ? NULL : follower_of((replica_t *)r, id);
        bool keep;
        if (id == r->leader_id)
            keep = true;
        else if (in)
            keep = !f || now_ms - f->last_caught_up_ms <= lag_ms;
        else
            keep = f && f->leo >= 0 && f->leo >= hw && f->leo >= epoch_start &&
                   now_ms - f->last_caught_up_ms <= lag_ms;
        if (keep != in)
            changed = true;
        if (keep)
            new_isr[n++] = id;
    }
    *n_new_isr = n;
    return changed;
}
