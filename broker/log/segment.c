/* One segment of a partition log (segment.h): file handling, the index
 * entry rule, appends with rollback, sealing, truncation, tail scans. */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "offset_index.h"
#include "time_index.h"
#include "timeutil.h"

static const char *const exts[3] = {".log", ".index", ".timeindex"};

void segment_name(char *out, size_t len, int64_t base, const char *ext)
{
    snprintf(out, len, "%020" PRId64 "%s", base, ext);
}

static int open_index(segment_t *s, int dir_fd, index_file_t *f, const char *ext,
                      uint32_t entry_bytes)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, sizeof name, s->base_offset, ext);
    if (faccessat(dir_fd, name, F_OK, 0) != 0)
        s->index_suspect = true;
    if (index_file_open(f, dir_fd, name, entry_bytes) != 0)
        return -1;
    if (f->torn)
        s->index_suspect = true;
    return 0;
}

segment_t *segment_open(int dir_fd, int64_t base, bool create)
{
    segment_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base_offset = base;
    s->next_offset = base;
    s->max_timestamp = -1;
    s->max_ts_offset = -1;
    s->roll_base_ms = (int64_t)cairn_wall_ms();
    s->oidx.fd = s->tidx.fd = -1;
    char name[SEGMENT_NAME_MAX];
    segment_name(name, sizeof name, base, ".log");
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
    s->log_fd = openat(dir_fd, name, flags, 0644);
    struct stat st;
    if (s->log_fd < 0 || fstat(s->log_fd, &st) != 0)
        goto fail;
    s->size_bytes = (uint64_t)st.st_size;
    if (create) {
        for (int i = 1; i < 3; i++) {
            segment_name(name, sizeof name, base, exts[i]);
            if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT)
                goto fail;
        }
    }
    if (open_index(s, dir_fd, &s->oidx, ".index", OFFSET_INDEX_ENTRY_BYTES) != 0 ||
        open_index(s, dir_fd, &s->tidx, ".timeindex", TIME_INDEX_ENTRY_BYTES) != 0)
        goto fail;
    if (create)
        s->index_suspect = false;
    return s;
fail:;
    int e = errno;
    segment_close(s);
    errno = e;
    return NULL;
}

void segment_close(segment_t *s)
{
    if (!s)
        return;
    if (s->log_fd >= 0)
        close(s->log_fd);
    index_file_close(&s->oidx);
    index_file_close(&s->tidx);
    free(s);
}

int segment_track(segment_t *s, const batch_header_t *h, uint64_t pos, size_t size,
                  uint32_t index_interval_bytes)
{
    int64_t last = batch_last_offset(h);
    CAIRN_ASSERT(h->base_offset == s->next_offset);       /* offsets contiguous */
    CAIRN_ASSERT(pos == s->size_bytes);
    CAIRN_ASSERT(last - s->base_offset <= INT32_MAX && pos + size <= UINT32_MAX);
    if (h->max_timestamp > s->max_timestamp) {
        s->max_timestamp = h->max_timestamp;
        s->max_ts_offset = last;
    }
    if (s->bytes_since_index > index_interval_bytes) {
        if (offset_index_push(&s->oidx, (int32_t)(last - s->base_offset), (uint32_t)pos) != 0)
            return -1;
        size_t before = s->tidx.count;
        if (time_index_maybe_push(&s->tidx, s->max_timestamp,
                                  (int32_t)(s->max_ts_offset - s->base_offset)) != 0)
            return -1;
        s->dirty |= SEGMENT_DIRTY_INDEX | (s->tidx.count > before ? SEGMENT_DIRTY_TIME : 0);
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += size;
    s->next_offset = last + 1;
    s->size_bytes = pos + size;
    return 0;
}

typedef struct seg_state {
    int64_t next_offset, max_timestamp, max_ts_offset;
    uint64_t size_bytes, bytes_since_index;
    size_t oidx_count, tidx_count;
    unsigned dirty;
} seg_state_t;

static void save_state(const segment_t *s, seg_state_t *st)
{
    *st = (seg_state_t){s->next_offset, s->max_timestamp, s->max_ts_offset, s->size_bytes,
                        s->bytes_since_index, s->oidx.count, s->tidx.count, s->dirty};
}

/* Puts memory and files back as they were before a failed append. */
static int rollback(segment_t *s, const seg_state_t *st)
{
    int rc = 0;
    index_file_drop_unwritten(&s->oidx);
    index_file_drop_unwritten(&s->tidx);
    if (s->oidx.count > st->oidx_count && index_file_truncate(&s->oidx, st->oidx_count) != 0)
        rc = -2;
    if (s->tidx.count > st->tidx_count && index_file_truncate(&s->tidx, st->tidx_count) != 0)
        rc = -2;
    if (ftruncate(s->log_fd, (off_t)st->size_bytes) != 0)
        rc = -2;
    s->next_offset = st->next_offset;
    s->max_timestamp = st->max_timestamp;
    s->max_ts_offset = st->max_ts_offset;
    s->size_bytes = st->size_bytes;
    s->bytes_since_index = st->bytes_since_index;
    s->dirty = st->dirty;
    return rc;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int segment_append(segment_t *s, const uint8_t *data, size_t len,
                   uint32_t index_interval_bytes)
{
    seg_state_t st;
    save_state(s, &st);
    int e = 0;
    for (size_t off = 0; off < len;) {
        batch_header_t h;
        size_t total = batch_total_bytes(data + off, len - off);
        CAIRN_ASSERT(total >= BATCH_HEADER_BYTES && total <= len - off);
        batch_header_decode(data + off, total, &h);
        if (segment_track(s, &h, st.size_bytes + off, total, index_interval_bytes) != 0) {
            e = ENOMEM;
            break;
        }
        off += total;
    }
    if (e == 0 && pwrite_all(s->log_fd, data, len, st.size_bytes) != 0)
        e = errno;
    if (e == 0 && (index_file_write(&s->oidx) != 0 || index_file_write(&s->tidx) != 0))
        e = errno;
    if (e != 0) {
        int rc = rollback(s, &st);
        errno = e;
        return rc ? rc : -1;
    }
    s->dirty |= SEGMENT_DIRTY_LOG;
    return 0;
}

bool segment_index_full(const segment_t *s, uint32_t index_max_bytes, size_t n)
{
    return (s->oidx.count + n) * OFFSET_INDEX_ENTRY_BYTES > index_max_bytes ||
           (s->tidx.count + n + 1) * TIME_INDEX_ENTRY_BYTES > index_max_bytes;
}

int segment_seal(segment_t *s)
{
    if (s->max_timestamp >= 0) {
        size_t before = s->tidx.count;
        if (time_index_maybe_push(&s->tidx, s->max_timestamp,
                                  (int32_t)(s->max_ts_offset - s->base_offset)) != 0 ||
            index_file_write(&s->tidx) != 0)
            return -1;
        if (s->tidx.count > before)
            s->dirty |= SEGMENT_DIRTY_TIME;
    }
    index_file_seal(&s->oidx);
    index_file_seal(&s->tidx);
    return 0;
}

int segment_unseal(segment_t *s)
{
    return index_file_unseal(&s->oidx) == 0 && index_file_unseal(&s->tidx) == 0 ? 0 : -1;
}

int segment_truncate(segment_t *s, uint64_t pos, int64_t next)
{
    int64_t rel = next - s->base_offset;
    if (index_file_truncate(&s->oidx, offset_index_count_below(&s->oidx, rel)) != 0 ||
        index_file_truncate(&s->tidx, time_index_count_below(&s->tidx, rel)) != 0 ||
        ftruncate(s->log_fd, (off_t)pos) != 0)
        return -1;
    s->size_bytes = pos;
    s->next_offset = next;
    s->dirty |= SEGMENT_DIRTY_LOG | SEGMENT_DIRTY_INDEX | SEGMENT_DIRTY_TIME;
    return 0;
}

int segment_read_header(const segment_t *s, uint64_t pos, batch_header_t *h, size_t *total)
{
    uint8_t buf[BATCH_HEADER_BYTES];
    if (pos + BATCH_HEADER_BYTES > s->size_bytes)
        return -2;
    ssize_t r;
    do {
        r = pread(s->log_fd, buf, sizeof buf, (off_t)pos);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (r != (ssize_t)sizeof buf)
        return -2;
    batch_header_decode(buf, sizeof buf, h);
    *total = BATCH_LOG_OVERHEAD + (size_t)(h->batch_length < 0 ? 0 : h->batch_length);
    if (h->magic != BATCH_MAGIC || *total < BATCH_HEADER_BYTES ||
        pos + *total > s->size_bytes || h->last_offset_delta < 0)
        return -2;
    return 0;
}

/* Starting point of a tail scan: the batch named by the last offset index
 * entry, with the time index's last maximum. */
static int tail_start(segment_t *s, uint64_t *pos, int64_t *expect_last)
{
    *pos = 0;
    *expect_last = -1;
    s->max_timestamp = -1;
    s->max_ts_offset = -1;
    const uint8_t *od = index_file_data(&s->oidx);
    if (s->oidx.count > 0) {
        offset_index_entry_t e;
        if (!od)
            return -1;
        offset_index_get(od, s->oidx.count - 1, &e);
        if (e.position >= s->size_bytes || e.rel_offset < 0)
            return -2;
        *pos = e.position;
        *expect_last = s->base_offset + e.rel_offset;
    }
    const uint8_t *td = index_file_data(&s->tidx);
    if (s->tidx.count > 0) {
        time_index_entry_t t;
        if (!td)
            return -1;
        time_index_get(td, s->tidx.count - 1, &t);
        if (t.rel_offset < 0)
            return -2;
        s->max_timestamp = t.timestamp;
        s->max_ts_offset = s->base_offset + t.rel_offset;
    }
    return 0;
}

int segment_scan_tail(segment_t *s)
{
    uint64_t pos;
    int64_t expect_last;
    int rc = tail_start(s, &pos, &expect_last);
    if (rc != 0)
        return rc;
    s->bytes_since_index = s->size_bytes - pos;
    int64_t next = pos == 0 ? s->base_offset : -1;
    while (pos < s->size_bytes) {
        batch_header_t h;
        size_t total;
        rc = segment_read_header(s, pos, &h, &total);
        if (rc != 0)
            return rc;
        int64_t last = batch_last_offset(&h);
        if ((next >= 0 && h.base_offset != next) || (next < 0 && last != expect_last))
            return -2;
        if (h.max_timestamp > s->max_timestamp) {
            s->max_timestamp = h.max_timestamp;
            s->max_ts_offset = last;
        }
        next = last + 1;
        pos += total;
    }
    if (next < 0 || (s->max_ts_offset >= next))
        return -2;
    s->next_offset = next;
    return 0;
}

static int fdatasync_retry(int fd)
{
    while (fdatasync(fd) != 0) {
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

int segment_sync(segment_t *s)
{
    if (fdatasync_retry(s->log_fd) != 0 || fdatasync_retry(s->oidx.fd) != 0 ||
        fdatasync_retry(s->tidx.fd) != 0)
        return -1;
    s->dirty = 0;
    return 0;
}

int segment_rename_deleted(const segment_t *s, int dir_fd,
                           char path_out[3][SEGMENT_NAME_MAX])
{
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        char name[SEGMENT_NAME_MAX];
        segment_name(name, sizeof name, s->base_offset, exts[i]);
        snprintf(path_out[i], SEGMENT_NAME_MAX, "%020" PRId64 "%s.deleted", s->base_offset,
                 exts[i]);
        if (renameat(dir_fd, name, dir_fd, path_out[i]) != 0 && errno != ENOENT)
            rc = -1;
    }
    return rc;
}
