/* Removing data from a partition log (plog.h): retention by time and size,
 * which deletes whole old segments and advances the log start offset, and
 * truncation of the tail for replication (KIP-101); both keep the
 * leader-epoch cache in step. */
#include "plog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cairn_assert.h"
#include "log.h"

static bool expired(const plog_t *l, const segment_t *s, int64_t now_ms, uint64_t total)
{
    bool by_time = l->cfg.retention_ms >= 0 && s->max_timestamp >= 0 &&
                   now_ms - s->max_timestamp > l->cfg.retention_ms;
    bool by_size = l->cfg.retention_bytes >= 0 &&
                   total - s->size_bytes >= (uint64_t)l->cfg.retention_bytes;
    return by_time || by_size;
}

/* Kafka deletes only segments wholly below the high watermark: data not yet
 * committed may still be needed by followers (and is not acknowledged). */
static bool below_hw(const plog_t *l, size_t i)
{
    return l->high_watermark < 0 || l->segs[i + 1]->base_offset <= l->high_watermark;
}

size_t plog_apply_retention(plog_t *l, int64_t now_ms)
{
    uint64_t total = plog_size_bytes(l);
    size_t n = 0;
    int64_t old_start = plog_start_offset(l);
    while (n + 1 < l->n_segs && below_hw(l, n) && expired(l, l->segs[n], now_ms, total)) {
        total -= l->segs[n]->size_bytes;
        plog_drop_segment_files(l, l->segs[n]);
        n++;
    }
    if (n == 0)
        return 0;
    memmove(l->segs, l->segs + n, (l->n_segs - n) * sizeof *l->segs);
    l->n_segs -= n;
    CAIRN_ASSERT(plog_start_offset(l) > old_start);     /* log start only moves forward */
    /* The older entries' data is gone; the epoch covering the new start is
     * kept, starting there (Kafka's truncateFromStart). A stale checkpoint
     * is harmless: open trims it to the log start again. */
    if (epoch_cache_truncate_from_start(&l->epochs, plog_start_offset(l))) {
        plog_epochs_changed(l, -1);
        plog_sync_kick(l);
    }
    LOG_INFO("log", "%s: retention deleted %zu segment(s), log start %" PRId64 " -> %" PRId64,
             l->name, n, old_start, plog_start_offset(l));
    return n;
}

/* Drops the segments after index keep. */
static void drop_after(plog_t *l, size_t keep)
{
    for (size_t i = keep + 1; i < l->n_segs; i++)
        plog_drop_segment_files(l, l->segs[i]);
    l->n_segs = keep + 1;
}

/* Cuts segment s at the batch holding end_offset; returns the new end. */
static int cut_segment(plog_t *l, segment_t *s, int64_t end_offset, int64_t *new_end)
{
    uint64_t pos = s->size_bytes;
    *new_end = s->next_offset;
    if (end_offset < s->next_offset) {
        batch_header_t h;
        size_t total;
        if (plog_locate(l, s, end_offset, &pos, &h, &total) != 0)
            return -1;
        *new_end = h.base_offset;
    }
    plog_read_forget(l);
    if (segment_unseal(s) != 0 || segment_truncate(s, pos, *new_end) != 0 ||
        segment_scan_tail(s) != 0)
        return -1;
    CAIRN_ASSERT(s->next_offset == *new_end && s->size_bytes == pos);
    return 0;
}

int plog_truncate_to(plog_t *l, int64_t end_offset)
{
    if (end_offset < plog_start_offset(l) || end_offset > l->end_offset || l->failed)
        return -1;
    if (end_offset == l->end_offset)
        return 0;
    int64_t old_end = l->end_offset;
    size_t keep = (size_t)plog_find_segment(l, end_offset);
    drop_after(l, keep);
    segment_t *s = plog_active(l);
    int64_t new_end;
    if (cut_segment(l, s, end_offset, &new_end) != 0) {
        plog_fail(l, "truncation", errno ? errno : EIO);
        return -1;
    }
    l->end_offset = new_end;
    if (l->high_watermark > new_end)
        l->high_watermark = new_end; /* the one place the HW moves back */
    /* KIP-101: epochs starting at or after the new end go with their data. */
    if (epoch_cache_truncate_from_end(&l->epochs, new_end))
        l->epochs_durable = false;
    /* Everything kept is made durable and the recovery point lowered before
     * new data can reuse the truncated offsets. */
    if (plog_sync_blocking(l) != 0 ||
        (l->recovery_point > s->base_offset &&
         plog_write_recovery_point(l, s->base_offset) != 0)) {
        plog_fail(l, "fsync after truncation", errno);
        return -1;
    }
    /* The checkpoint too, so a crash never leaves it naming an epoch for
     * offsets written again later. */
    if (plog_epochs_write_sync(l) != 0) {
        plog_fail(l, "writing the leader-epoch checkpoint after truncation", errno);
        return -1;
    }
    l->durable_offset = new_end;     /* the one place it moves back: data was removed */
    l->dir_dirty = false;
    plog_waiters_finish(l, new_end, -2);
    LOG_INFO("log", "%s: truncated from %" PRId64 " to %" PRId64, l->name, old_end, new_end);
    return 0;
}

/* Kafka's truncateFullyAndStartAt: a follower whose log ends below the
 * leader's log start (retention removed what it lacks) drops everything and
 * starts empty at offset. The new segment, the recovery point and the
 * emptied epoch cache are durable before it returns. Blocking. */
int plog_reset_to(plog_t *l, int64_t offset)
{
    if (offset < 0 || l->failed)
        return -1;
    int64_t old_start = plog_start_offset(l), old_end = l->end_offset;
    plog_read_forget(l);
    for (size_t i = 0; i < l->n_segs; i++)
        plog_drop_segment_files(l, l->segs[i]);
    l->n_segs = 0;
    segment_t *s = segment_open(l->dir_fd, offset, true);
    if (!s || segment_unseal(s) != 0 || plog_push_segment(l, s) != 0) {
        segment_close(s);
        plog_fail(l, "starting over", errno ? errno : EIO);
        return -1;
    }
    l->end_offset = offset;
    if (l->high_watermark > offset)
        l->high_watermark = offset;
    epoch_cache_clear(&l->epochs);
    l->epochs_durable = false;
    l->dir_dirty = true;
    if (plog_sync_blocking(l) != 0 || plog_write_recovery_point(l, offset) != 0 ||
        plog_epochs_write_sync(l) != 0) {
        plog_fail(l, "starting over", errno ? errno : EIO);
        return -1;
    }
    l->durable_offset = offset;
    plog_waiters_finish(l, old_start - 1, -2);     /* their offsets are gone */
    LOG_INFO("log", "%s: started over at %" PRId64 " (was %" PRId64 "..%" PRId64 ")", l->name,
             offset, old_start, old_end);
    return 0;
}
