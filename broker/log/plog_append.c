/* Appends to a partition log (plog.h): a leader's appends stamp offsets and
 * the leader epoch, a follower's (plog_append_replica) are checked and kept
 * as fetched; both roll the active segment, feed the leader-epoch cache and
 * request the group-commit sync. */
#include "plog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cairn_assert.h"
#include "log.h"
#include "timeutil.h"

/* Shape of an append: batches and records. The batches were validated by
 * the caller, so a malformed buffer here is a broken precondition. */
static void count_batches(const uint8_t *p, size_t len, size_t *n_batches, int64_t *n_records)
{
    *n_batches = 0;
    *n_records = 0;
    for (size_t off = 0; off < len;) {
        size_t total = batch_total_bytes(p + off, len - off);
        CAIRN_ASSERT(total >= BATCH_HEADER_BYTES && total <= len - off);
        batch_header_t h;
        batch_header_decode(p + off, total, &h);
        CAIRN_ASSERT(h.magic == BATCH_MAGIC && h.last_offset_delta >= 0);
        (*n_batches)++;
        *n_records += (int64_t)h.last_offset_delta + 1;
        off += total;
    }
}

static bool needs_roll(const plog_t *l, size_t len, size_t n_batches, int64_t n_records)
{
    const segment_t *a = plog_active(l);
    if (a->size_bytes == 0)
        return false;
    int64_t age_ms = (int64_t)cairn_wall_ms() - a->roll_base_ms;
    return a->size_bytes + len > l->cfg.segment_bytes ||
           a->size_bytes + len > UINT32_MAX ||
           (l->cfg.roll_ms >= 0 && age_ms >= l->cfg.roll_ms) ||
           segment_index_full(a, l->cfg.index_max_bytes, n_batches) ||
           l->end_offset + n_records - 1 - a->base_offset > INT32_MAX;
}

/* Seals the active segment and starts a new one at the end offset. */
static int roll(plog_t *l)
{
    segment_t *old = plog_active(l);
    if (segment_seal(old) != 0) {
        LOG_ERROR("log", "%s: cannot seal segment %" PRId64 ": %s", l->name,
                  old->base_offset, strerror(errno));
        return -1;
    }
    segment_t *s = segment_open(l->dir_fd, l->end_offset, true);
    if (!s || segment_unseal(s) != 0 || plog_push_segment(l, s) != 0) {
        LOG_ERROR("log", "%s: cannot roll to segment %" PRId64 ": %s", l->name,
                  l->end_offset, strerror(errno));
        segment_close(s);
        if (segment_unseal(old) != 0)
            plog_fail(l, "reopening the active segment", errno);
        return -1;
    }
    l->dir_dirty = true;
    l->flush_wanted = true;          /* the sealed segment, so the recovery point moves */
    LOG_DEBUG("log", "%s: rolled to segment %" PRId64, l->name, s->base_offset);
    return 0;
}

/* Rewrites baseOffset and partitionLeaderEpoch; returns the next offset. */
static int64_t stamp(uint8_t *p, size_t len, int64_t next, int32_t leader_epoch)
{
    for (size_t off = 0; off < len;) {
        batch_header_t h;
        size_t total = batch_total_bytes(p + off, len - off);
        batch_header_decode(p + off, total, &h);
        batch_set_base_offset(p + off, next);
        batch_set_leader_epoch(p + off, leader_epoch);
        next += (int64_t)h.last_offset_delta + 1;
        off += total;
    }
    return next;
}

static void note_unflushed(plog_t *l, int64_t n_records)
{
    if (plog_durable_mode(l)) {
        l->flush_wanted = true;
        return;
    }
    if (l->first_unflushed_mono_ms < 0)
        l->first_unflushed_mono_ms = (int64_t)cairn_mono_ms();
    l->unflushed_messages += n_records;
    if (l->unflushed_messages >= l->cfg.flush_interval_messages)
        l->flush_wanted = true;
}

/* Writes stamped batches at the end, rolling first when needed. */
static int write_batches(plog_t *l, const uint8_t *batches, size_t len, size_t n_batches,
                         int64_t n_records, int64_t next, plog_append_info_t *out)
{
    if (needs_roll(l, len, n_batches, n_records) && roll(l) != 0)
        return -1;
    segment_t *a = plog_active(l);
    if (a->size_bytes == 0)
        a->roll_base_ms = (int64_t)cairn_wall_ms();
    int rc = segment_append(a, batches, len, l->cfg.index_interval_bytes);
    if (rc != 0) {
        if (rc == -2)
            plog_fail(l, "rolling back a failed write", errno);
        else
            LOG_ERROR("log", "%s: append of %zu bytes at offset %" PRId64 " failed: %s",
                      l->name, len, l->end_offset, strerror(errno));
        return -1;
    }
    CAIRN_ASSERT(a->next_offset == next);             /* offsets contiguous */
    out->base_offset = l->end_offset;
    out->last_offset = next - 1;
    out->log_append_time_ms = -1;
    return 0;
}

/* After a write: moves the end, requests the sync, tells readers. */
static void appended(plog_t *l, int64_t next, int64_t n_records, int64_t readable)
{
    l->end_offset = next;
    note_unflushed(l, n_records);
    plog_sync_kick(l);
    plog_readable_grew(l, readable);
}

int plog_append(plog_t *l, uint8_t *batches, size_t len, int32_t leader_epoch,
                plog_append_info_t *out)
{
    if (l->failed)
        return -1;
    CAIRN_ASSERT(len > 0 && len <= INT32_MAX);
    /* A leader's epoch only grows (the controller bumps it; KIP-101). */
    CAIRN_ASSERT(leader_epoch >= 0 && leader_epoch >= epoch_cache_latest(&l->epochs));
    bool new_epoch = leader_epoch > epoch_cache_latest(&l->epochs);
    if (new_epoch && epoch_cache_reserve(&l->epochs, 1) != 0) {
        LOG_ERROR("log", "%s: append at offset %" PRId64 ": out of memory", l->name,
                  l->end_offset);
        return -1;
    }
    size_t n_batches;
    int64_t n_records;
    count_batches(batches, len, &n_batches, &n_records);
    int64_t readable = plog_readable_offset(l);
    int64_t next = stamp(batches, len, l->end_offset, leader_epoch);
    if (write_batches(l, batches, len, n_batches, n_records, next, out) != 0)
        return -1;
    if (new_epoch) {
        int added = epoch_cache_assign(&l->epochs, leader_epoch, l->end_offset);
        CAIRN_ASSERT(added == 1);                    /* room was reserved */
        plog_epochs_changed(l, l->end_offset);
    }
    appended(l, next, n_records, readable);
    return 0;
}

/* The latest epoch of which this log holds data: an entry starting at the
 * log end is an epoch in which this replica, as leader, wrote nothing. */
static int32_t epoch_with_data(const plog_t *l)
{
    const epoch_cache_t *c = &l->epochs;
    size_t n = c->n;
    while (n > 0 && c->v[n - 1].start_offset >= l->end_offset)
        n--;
    return n ? c->v[n - 1].epoch : EPOCH_UNDEFINED;
}

typedef struct replica_shape {
    size_t n_batches;
    int64_t n_records;
    size_t n_epochs;                 /* epochs the batches start */
    int32_t first_epoch;
} replica_shape_t;

/* Checks fetched batches before anything is written: whole valid batches,
 * offsets contiguous from the log end, epochs that never go down. */
static int check_replica(const plog_t *l, const uint8_t *p, size_t len, replica_shape_t *sh)
{
    int64_t next = l->end_offset;
    int32_t epoch = epoch_with_data(l);
    *sh = (replica_shape_t){0, 0, 0, EPOCH_UNDEFINED};
    if (len == 0 || len > INT32_MAX)
        return PLOG_REPLICA_BAD_BATCH;
    for (size_t off = 0; off < len;) {
        batch_header_t h;
        size_t total;
        if (batch_validate_frame(p + off, len - off, (size_t)INT32_MAX + BATCH_LOG_OVERHEAD, &h,
                                 &total) != BATCH_OK)
            return PLOG_REPLICA_BAD_BATCH;
        if (h.base_offset != next)
            return PLOG_REPLICA_BAD_OFFSET;
        if (h.partition_leader_epoch < 0 || h.partition_leader_epoch < epoch)
            return PLOG_REPLICA_BAD_EPOCH;
        if (off == 0)
            sh->first_epoch = h.partition_leader_epoch;
        if (h.partition_leader_epoch > epoch)
            sh->n_epochs++;
        epoch = h.partition_leader_epoch;
        next = batch_last_offset(&h) + 1;
        sh->n_batches++;
        sh->n_records += (int64_t)h.last_offset_delta + 1;
        off += total;
    }
    return 0;
}

/* Records the epochs the written batches start (room was reserved). */
static void add_replica_epochs(plog_t *l, const uint8_t *p, size_t len, int32_t first_epoch)
{
    /* The leader's history replaces epochs in which this replica wrote
     * nothing; the disk may still name them until the next checkpoint. */
    if (first_epoch < epoch_cache_latest(&l->epochs) &&
        epoch_cache_truncate_from_end(&l->epochs, l->end_offset))
        plog_epochs_changed(l, l->end_offset);
    for (size_t off = 0; off < len;) {
        batch_header_t h;
        size_t total = batch_total_bytes(p + off, len - off);
        batch_header_decode(p + off, total, &h);
        if (h.partition_leader_epoch > epoch_cache_latest(&l->epochs)) {
            int added = epoch_cache_assign(&l->epochs, h.partition_leader_epoch, h.base_offset);
            CAIRN_ASSERT(added == 1);
            plog_epochs_changed(l, h.base_offset);
        }
        off += total;
    }
}

/* The leading batches of p that go into one segment: those that fit in the
 * active segment's room, or — when not even the first does — in a fresh
 * segment (write_batches rolls then). Always at least one batch. A leader
 * sends up to replica.fetch.max.bytes at once; a follower still rolls at
 * segment.bytes like its leader. */
static size_t segment_chunk(const plog_t *l, const uint8_t *p, size_t len, size_t *n_batches,
                            int64_t *n_records)
{
    uint64_t size = plog_active(l)->size_bytes, max = l->cfg.segment_bytes;
    size_t off = 0;
    *n_batches = 0;
    *n_records = 0;
    while (off < len) {
        batch_header_t h;
        size_t total = batch_total_bytes(p + off, len - off);
        if (*n_batches > 0 && size + off + total > max)
            break;
        if (*n_batches == 0 && size > 0 && size + total > max)
            size = 0;                   /* rolls first: count from an empty segment */
        batch_header_decode(p + off, total, &h);
        *n_records += (int64_t)h.last_offset_delta + 1;
        (*n_batches)++;
        off += total;
    }
    return off;
}

int plog_append_replica(plog_t *l, const uint8_t *batches, size_t len,
                        plog_append_info_t *out)
{
    if (l->failed)
        return PLOG_REPLICA_IO;
    replica_shape_t sh;
    int rc = check_replica(l, batches, len, &sh);
    if (rc != 0) {
        LOG_WARN("log", "%s: replica append of %zu bytes at offset %" PRId64 " rejected (%d)",
                 l->name, len, l->end_offset, rc);
        return rc;
    }
    if (epoch_cache_reserve(&l->epochs, sh.n_epochs) != 0) {
        LOG_ERROR("log", "%s: replica append at offset %" PRId64 ": out of memory", l->name,
                  l->end_offset);
        return PLOG_REPLICA_IO;
    }
    int64_t base = l->end_offset;
    for (size_t off = 0; off < len;) {
        size_t n_batches;
        int64_t n_records;
        size_t clen = segment_chunk(l, batches + off, len - off, &n_batches, &n_records);
        int64_t readable = plog_readable_offset(l);
        int64_t next = l->end_offset + n_records;
        plog_append_info_t part;
        if (write_batches(l, batches + off, clen, n_batches, n_records, next, &part) != 0)
            return PLOG_REPLICA_IO;   /* earlier chunks stay: whole, contiguous batches */
        int32_t first_epoch = off == 0 ? sh.first_epoch : epoch_cache_latest(&l->epochs);
        add_replica_epochs(l, batches + off, clen, first_epoch);
        appended(l, next, n_records, readable);
        off += clen;
    }
    out->base_offset = base;
    out->last_offset = l->end_offset - 1;
    out->log_append_time_ms = -1;
    return 0;
}
