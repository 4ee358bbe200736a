/* Reads of a partition log (plog.h): the consumer hot path. The offset
 * index narrows the search to about index_interval_bytes of batches, whose
 * headers are read ahead with one pread; bodies are never read. Also the
 * timestamp lookup of ListOffsets. */
#include "plog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "offset_index.h"
#include "time_index.h"

void plog_read_forget(plog_t *l)
{
    l->rbuf_seg = NULL;
    l->rbuf_len = 0;
}

static int fill(plog_t *l, const segment_t *s, uint64_t pos)
{
    if (!l->rbuf && !(l->rbuf = malloc(PLOG_READ_BUF_BYTES)))
        return -1;
    uint64_t want = s->size_bytes - pos;
    if (want > PLOG_READ_BUF_BYTES)
        want = PLOG_READ_BUF_BYTES;
    ssize_t r;
    do {
        r = pread(s->log_fd, l->rbuf, (size_t)want, (off_t)pos);
    } while (r < 0 && errno == EINTR);
    if (r < BATCH_HEADER_BYTES)
        return r < 0 ? -1 : -2;
    l->rbuf_seg = s;
    l->rbuf_pos = pos;
    l->rbuf_len = (size_t)r;
    return 0;
}

/* The header of the batch at pos. 0; -1 on an I/O error; -2 when the bytes
 * are not a plausible batch (the file changed under us or rotted). */
static int read_header(plog_t *l, const segment_t *s, uint64_t pos, batch_header_t *h,
                       size_t *total)
{
    if (pos + BATCH_HEADER_BYTES > s->size_bytes)
        return -2;
    if (l->rbuf_seg != s || pos < l->rbuf_pos ||
        pos + BATCH_HEADER_BYTES > l->rbuf_pos + l->rbuf_len) {
        int rc = fill(l, s, pos);
        if (rc != 0)
            return rc;
    }
    batch_header_decode(l->rbuf + (pos - l->rbuf_pos), BATCH_HEADER_BYTES, h);
    *total = BATCH_LOG_OVERHEAD + (size_t)(h->batch_length < 0 ? 0 : h->batch_length);
    if (h->magic != BATCH_MAGIC || *total < BATCH_HEADER_BYTES ||
        pos + *total > s->size_bytes || h->last_offset_delta < 0)
        return -2;
    return 0;
}

static int bad_data(const plog_t *l, const segment_t *s, uint64_t pos, int rc)
{
    LOG_ERROR("log", "%s: %s reading segment %" PRId64 " at byte %" PRIu64, l->name,
              rc == -1 ? "I/O error" : "corrupt batch header", s->base_offset, pos);
    return -2;
}

int plog_locate(plog_t *l, segment_t *s, int64_t offset, uint64_t *pos,
                batch_header_t *h, size_t *total)
{
    offset_index_entry_t e;
    ssize_t k = offset_index_floor(&s->oidx, offset - s->base_offset);
    const uint8_t *d = k >= 0 ? index_file_data(&s->oidx) : NULL;
    *pos = 0;
    if (d) {
        offset_index_get(d, (size_t)k, &e);
        *pos = e.position;
    }
    for (;;) {
        int rc = read_header(l, s, *pos, h, total);
        if (rc != 0)
            return bad_data(l, s, *pos, rc);
        if (batch_last_offset(h) >= offset)
            return 0;
        *pos += *total;
    }
}

/* Jumps *end forward to the last index entry that is below upper and
 * within limit: every batch before it is part of the slice. */
static void index_jump(segment_t *s, int64_t upper, uint64_t limit, uint64_t *end)
{
    ssize_t a = offset_index_floor(&s->oidx, upper - 1 - s->base_offset);
    ssize_t b = offset_index_floor_position(&s->oidx, limit);
    ssize_t k = a < b ? a : b;
    const uint8_t *d = k >= 0 ? index_file_data(&s->oidx) : NULL;
    if (d) {
        offset_index_entry_t e;
        offset_index_get(d, (size_t)k, &e);
        if (e.position > *end)
            *end = e.position;
    }
}

/* Adds whole batches after *end while they end below upper and limit. */
static int extend(plog_t *l, segment_t *s, int64_t upper, uint64_t limit, uint64_t *end,
                  int64_t *next)
{
    index_jump(s, upper, limit, end);
    while (*end < s->size_bytes) {
        batch_header_t h;
        size_t total;
        int rc = read_header(l, s, *end, &h, &total);
        if (rc != 0)
            return bad_data(l, s, *end, rc);
        *next = h.base_offset;              /* also right after an index jump */
        if (batch_last_offset(&h) >= upper || *end + total > limit)
            break;
        *end += total;
        *next = batch_last_offset(&h) + 1;
    }
    if (*end == s->size_bytes)
        *next = s->next_offset;
    return 0;
}

int plog_read(plog_t *l, int64_t offset, int64_t upper_offset, uint32_t max_bytes,
              bool min_one_batch, plog_slice_t *out)
{
    if (offset < plog_start_offset(l) || offset > l->end_offset)
        return -1;
    if (upper_offset > l->end_offset)
        upper_offset = l->end_offset;
    segment_t *s = l->segs[plog_find_segment(l, offset)];
    *out = (plog_slice_t){s->log_fd, 0, 0, offset, offset};
    if (offset >= upper_offset || offset >= s->next_offset)
        return 0;
    uint64_t pos;
    batch_header_t h;
    size_t total;
    if (plog_locate(l, s, offset, &pos, &h, &total) != 0)
        return -2;
    if (batch_last_offset(&h) >= upper_offset || (total > max_bytes && !min_one_batch))
        return 0;
    uint64_t end = pos + total;
    int64_t next = batch_last_offset(&h) + 1;
    uint64_t limit = pos + (total > max_bytes ? total : max_bytes);
    if (extend(l, s, upper_offset, limit, &end, &next) != 0)
        return -2;
    out->file_pos = pos;
    out->length = (uint32_t)(end - pos);
    out->first_offset = h.base_offset;
    out->next_offset = next;
    return 0;
}

/* Where to start scanning s for the first batch with max timestamp >= ts:
 * the batch holding the last time index entry below ts (every batch up to
 * it has smaller timestamps), found through the offset index. */
static uint64_t time_scan_start(segment_t *s, int64_t ts)
{
    ssize_t k = time_index_floor_below(&s->tidx, ts);
    const uint8_t *td = k >= 0 ? index_file_data(&s->tidx) : NULL;
    if (!td)
        return 0;
    time_index_entry_t t;
    time_index_get(td, (size_t)k, &t);
    ssize_t j = offset_index_floor(&s->oidx, t.rel_offset);
    const uint8_t *od = j >= 0 ? index_file_data(&s->oidx) : NULL;
    if (!od)
        return 0;
    offset_index_entry_t e;
    offset_index_get(od, (size_t)j, &e);
    return e.position;
}

/* Kafka answers with the first record at or after ts, not its batch: walk
 * an uncompressed batch's records. A compressed batch (not decompressed
 * here) answers with its first offset, and with its base timestamp when
 * that already qualifies. Returns the offset. */
static int64_t record_for_timestamp(const segment_t *s, uint64_t pos, size_t total,
                                    const batch_header_t *h, int64_t ts_ms,
                                    int64_t *found_ts_ms)
{
    *found_ts_ms = h->base_timestamp >= ts_ms ? h->base_timestamp : h->max_timestamp;
    if ((h->attributes & BATCH_ATTR_CODEC_MASK) != BATCH_CODEC_NONE ||
        (h->attributes & BATCH_ATTR_LOG_APPEND_TIME))
        return h->base_offset;
    uint8_t *buf = malloc(total);
    ssize_t r = buf ? pread(s->log_fd, buf, total, (off_t)pos) : -1;
    int64_t found = h->base_offset;
    if (r == (ssize_t)total) {
        batch_iter_t it;
        batch_record_t rec;
        batch_iter_init(&it, buf, total);
        while (batch_iter_next(&it, &rec) == 1) {
            if (rec.timestamp >= ts_ms) {
                found = rec.offset;
                *found_ts_ms = rec.timestamp;
                break;
            }
        }
    }
    free(buf);
    return found;
}

int64_t plog_offset_for_timestamp(plog_t *l, int64_t ts_ms, int64_t upper_offset,
                                  int64_t *found_ts_ms)
{
    if (upper_offset > l->end_offset)
        upper_offset = l->end_offset;
    for (size_t i = 0; i < l->n_segs && l->segs[i]->base_offset < upper_offset; i++) {
        segment_t *s = l->segs[i];
        if (s->max_timestamp < ts_ms)
            continue;
        for (uint64_t pos = time_scan_start(s, ts_ms); pos < s->size_bytes;) {
            batch_header_t h;
            size_t total;
            int rc = read_header(l, s, pos, &h, &total);
            if (rc != 0) {
                bad_data(l, s, pos, rc);
                return -1;
            }
            if (h.max_timestamp >= ts_ms) {
                if (batch_last_offset(&h) >= upper_offset)
                    return -1;
                return record_for_timestamp(s, pos, total, &h, ts_ms, found_ts_ms);
            }
            pos += total;
        }
    }
    return -1;
}
