/* Opening a partition log's segments (plog.h). The recovery point (pmeta.h)
 * is the base offset of a segment such that every older segment was fully
 * fsync'd, indexes included. Segments before it are trusted after a cheap
 * tail check; from it on, unless the shutdown was clean, every batch is
 * validated, a torn or corrupt tail is cut at the last valid batch, later
 * segments are removed and the indexes of the scanned segments rebuilt.
 * Then the leader-epoch cache is loaded against the recovered log
 * (plog_epochs.c). Blocking; start-up only. */
#include "plog_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pmeta.h"

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "<20 digits>.log" -> base offset. */
static int parse_log_name(const char *name, int64_t *base)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted base offsets of the .log files; removes leftovers of deletions
 * and of unfinished atomic writes. */
static int list_segments(plog_t *l, int64_t **bases_out, size_t *n_out)
{
    int fd = dup(l->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int64_t *bases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t base;
        if (has_suffix(de->d_name, ".deleted") || has_suffix(de->d_name, PMETA_TMP_SUFFIX)) {
            unlinkat(l->dir_fd, de->d_name, 0);
            continue;
        }
        if (parse_log_name(de->d_name, &base) != 0)
            continue;
        if (n == cap) {
            int64_t *b = realloc(bases, (cap = cap ? 2 * cap : 16) * sizeof *b);
            if (!b) {
                free(bases);
                closedir(d);
                return -1;
            }
            bases = b;
        }
        bases[n++] = base;
    }
    closedir(d);
    if (n)
        qsort(bases, n, sizeof *bases, cmp_i64);
    *bases_out = bases;
    *n_out = n;
    return 0;
}

static int open_segments(plog_t *l, char *err, size_t err_len)
{
    int64_t *bases;
    size_t n;
    if (list_segments(l, &bases, &n) != 0) {
        snprintf(err, err_len, "cannot list %s: %s", l->dir, strerror(errno));
        return -1;
    }
    bool fresh = n == 0;
    l->segs = calloc(fresh ? 1 : n, sizeof *l->segs);
    l->cap_segs = fresh ? 1 : n;
    for (size_t i = 0; l->segs && i < (fresh ? 1 : n); i++) {
        segment_t *s = segment_open(l->dir_fd, fresh ? 0 : bases[i], fresh);
        if (!s) {
            snprintf(err, err_len, "cannot open segment %" PRId64 " in %s: %s",
                     fresh ? 0 : bases[i], l->dir, strerror(errno));
            free(bases);
            return -1;
        }
        l->segs[l->n_segs++] = s;
    }
    free(bases);
    if (!l->segs) {
        snprintf(err, err_len, "cannot open %s: out of memory", l->dir);
        return -1;
    }
    l->dir_dirty = fresh;
    return 0;
}

static void drop_from(plog_t *l, size_t first, const char *why)
{
    for (size_t i = first; i < l->n_segs; i++) {
        LOG_WARN("log", "%s: recovery removes segment %" PRId64 ": %s", l->name,
                 l->segs[i]->base_offset, why);
        plog_drop_segment_files(l, l->segs[i]);
    }
    l->n_segs = first;
}

static void reset_segment(segment_t *s)
{
    s->next_offset = s->base_offset;
    s->size_bytes = 0;
    s->max_timestamp = -1;
    s->max_ts_offset = -1;
    s->bytes_since_index = 0;
}

/* Validates the batches of the mapped file from byte 0, accounting each in
 * s (whose indexes are empty and writable). Returns the end of the valid
 * prefix; *why says what stopped the scan before the end. */
static int scan_batches(plog_t *l, segment_t *s, const uint8_t *map, uint64_t size,
                        uint64_t *valid, const char **why, char *gap, size_t gap_len)
{
    uint64_t pos = 0;
    *why = NULL;
    while (pos < size) {
        batch_header_t h;
        size_t total;
        batch_err_t e = batch_validate(map + pos, (size_t)(size - pos),
                                       (size_t)INT32_MAX + BATCH_LOG_OVERHEAD, &h, &total);
        if (e != BATCH_OK) {
            *why = batch_err_name(e);
            break;
        }
        if (h.base_offset != s->next_offset) {
            snprintf(gap, gap_len, "base offset %" PRId64 " where %" PRId64 " follows",
                     h.base_offset, s->next_offset);
            *why = gap;
            break;
        }
        if (batch_last_offset(&h) - s->base_offset > INT32_MAX || pos + total > UINT32_MAX) {
            *why = "beyond the segment's offset or byte range";
            break;
        }
        if (segment_track(s, &h, pos, total, l->cfg.index_interval_bytes) != 0)
            return -1;
        pos += total;
    }
    *valid = pos;
    return 0;
}

/* Validates every batch of s, rebuilds its indexes, and cuts the .log after
 * the last valid batch. Returns 0 when the file was whole, 1 when it was
 * cut (later segments must go), -1 on an I/O error. */
static int rebuild_segment(plog_t *l, segment_t *s)
{
    struct stat st;
    if (fstat(s->log_fd, &st) != 0 || segment_unseal(s) != 0 ||
        index_file_truncate(&s->oidx, 0) != 0 || index_file_truncate(&s->tidx, 0) != 0)
        return -1;
    uint64_t size = (uint64_t)st.st_size, valid = 0;
    const char *why = NULL;
    char gap[96];
    reset_segment(s);
    if (size > 0) {
        void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, s->log_fd, 0);
        if (map == MAP_FAILED)
            return -1;
        int rc = scan_batches(l, s, map, size, &valid, &why, gap, sizeof gap);
        munmap(map, (size_t)size);
        if (rc != 0)
            return -1;
    }
    if (index_file_write(&s->oidx) != 0 || index_file_write(&s->tidx) != 0)
        return -1;
    s->dirty = SEGMENT_DIRTY_LOG | SEGMENT_DIRTY_INDEX | SEGMENT_DIRTY_TIME;
    s->index_suspect = false;
    if (valid == size)
        return 0;
    LOG_WARN("log", "%s: recovery truncates segment %" PRId64 " at offset %" PRId64
             ", byte %" PRIu64 " of %" PRIu64 ": %s", l->name, s->base_offset,
             s->next_offset, valid, size, why);
    return ftruncate(s->log_fd, (off_t)valid) == 0 ? 1 : -1;
}

/* Index of the first segment to validate: the one holding the recovery
 * point (every segment when it is unknown). */
static size_t first_to_scan(plog_t *l, bool clean_shutdown)
{
    int64_t rp = 0;
    int rc = pmeta_read_recovery_point(l->dir_fd, &rp);
    if (rc < 0)
        LOG_WARN("log", "%s: unreadable %s; validating every segment", l->name,
                 PMETA_RECOVERY_POINT_FILE);
    l->recovery_point = rc == 0 ? rp : -1;
    if (clean_shutdown)
        return l->n_segs;
    ssize_t i = rc == 0 ? plog_find_segment(l, rp) : 0;
    return i < 0 ? 0 : (size_t)i;
}

/* Checks or rebuilds segment i; returns 1 when later segments must go. */
static int recover_segment(plog_t *l, size_t i, bool scan)
{
    segment_t *s = l->segs[i];
    if (!scan) {
        int rc = segment_scan_tail(s);
        if (rc == -1)
            return -1;
        if (rc == 0)
            return 0;
        LOG_WARN("log", "%s: the indexes of segment %" PRId64 " do not match its batches; "
                 "rebuilding", l->name, s->base_offset);
    }
    int rc = rebuild_segment(l, s);
    if (rc >= 0 && i + 1 < l->n_segs) {
        index_file_seal(&s->oidx);          /* the last segment is unsealed later */
        index_file_seal(&s->tidx);
    }
    return rc;
}

/* *rescan_from: the first offset whose batches were validated from the
 * recovery point on (INT64_MAX when none were). */
static int recover_all(plog_t *l, bool clean_shutdown, int64_t *rescan_from)
{
    size_t first_scan = first_to_scan(l, clean_shutdown);
    *rescan_from = first_scan < l->n_segs ? l->segs[first_scan]->base_offset : INT64_MAX;
    for (size_t i = 0; i < l->n_segs; i++) {
        segment_t *s = l->segs[i];
        if (i > 0 && s->base_offset != l->segs[i - 1]->next_offset) {
            drop_from(l, i, "it does not follow the previous segment");
            break;
        }
        if (s->index_suspect && i < first_scan)
            LOG_WARN("log", "%s: an index of segment %" PRId64 " is missing or torn; "
                     "rebuilding", l->name, s->base_offset);
        int rc = recover_segment(l, i, i >= first_scan || s->index_suspect);
        if (rc < 0)
            return -1;
        if (rc == 1 && i + 1 < l->n_segs)
            drop_from(l, i + 1, "it follows a corrupt segment");
    }
    return 0;
}

int plog_recover(plog_t *l, bool clean_shutdown, char *err, size_t err_len)
{
    int64_t rescan_from;
    if (open_segments(l, err, err_len) != 0)
        return -1;
    if (recover_all(l, clean_shutdown, &rescan_from) != 0 ||
        segment_unseal(plog_active(l)) != 0) {
        snprintf(err, err_len, "cannot recover %s: %s", l->dir, strerror(errno));
        return -1;
    }
    l->end_offset = plog_active(l)->next_offset;
    /* Before the recovery point moves: it may only pass epochs the
     * checkpoint on disk holds. */
    if (plog_epochs_load(l, rescan_from, err, err_len) != 0)
        return -1;
    /* Trusted segments were synced before; rebuilt ones are dirty. */
    l->durable_offset = l->end_offset;
    int64_t rp = plog_active(l)->base_offset;
    if (plog_sync_blocking(l) != 0 ||
        (rp != l->recovery_point && plog_write_recovery_point(l, rp) != 0)) {
        snprintf(err, err_len, "cannot sync %s: %s", l->dir, strerror(errno));
        return -1;
    }
    return 0;
}
