/* Appends to a partition log (plog.h): stamping offsets and the leader
 * epoch, rolling the active segment, and requesting the group-commit sync. */
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

int plog_append(plog_t *l, uint8_t *batches, size_t len, int32_t leader_epoch,
                plog_append_info_t *out)
{
    if (l->failed)
        return -1;
    CAIRN_ASSERT(len > 0 && len <= INT32_MAX);
    size_t n_batches;
    int64_t n_records;
    count_batches(batches, len, &n_batches, &n_records);
    if (needs_roll(l, len, n_batches, n_records) && roll(l) != 0)
        return -1;
    segment_t *a = plog_active(l);
    if (a->size_bytes == 0)
        a->roll_base_ms = (int64_t)cairn_wall_ms();
    int64_t next = stamp(batches, len, l->end_offset, leader_epoch);
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
    l->end_offset = next;
    note_unflushed(l, n_records);
    plog_sync_kick(l);
    if (!plog_durable_mode(l) && l->on_readable)
        l->on_readable(l->on_readable_arg);
    return 0;
}
