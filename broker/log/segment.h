/* One segment of a partition log: <base>.log and its two indexes, the rule
 * for adding index entries (every index_interval_bytes of batches, as in
 * Kafka), appends, sealing at roll and truncation. A segment owns its fds
 * and index memory. Loop thread only; blocking calls say so. */
#ifndef CAIRN_SEGMENT_H
#define CAIRN_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "index_file.h"

#define SEGMENT_NAME_MAX 40           /* 20 digits + ".timeindex.deleted" + NUL */

/* What was written since the last sync was queued. */
#define SEGMENT_DIRTY_LOG 1u
#define SEGMENT_DIRTY_INDEX 2u
#define SEGMENT_DIRTY_TIME 4u

typedef struct segment {
    int64_t base_offset;
    int64_t next_offset;          /* last offset + 1; base_offset when empty */
    uint64_t size_bytes;          /* bytes of whole batches in the .log */
    int64_t max_timestamp;        /* -1 when no batch has one */
    int64_t max_ts_offset;        /* last offset of the batch holding max_timestamp */
    uint64_t bytes_since_index;   /* batch bytes since the last offset index entry */
    int64_t roll_base_ms;         /* wall clock that roll_ms counts from */
    int log_fd;                   /* owned */
    index_file_t oidx;            /* .index */
    index_file_t tidx;            /* .timeindex */
    bool index_suspect;           /* an index file was missing or torn at open */
    unsigned dirty;               /* SEGMENT_DIRTY_* */
} segment_t;

/* "<20-digit base><ext>", e.g. ".log". */
void segment_name(char *out, size_t len, int64_t base, const char *ext);

/* Opens the segment's files in dir_fd (create: a new, empty segment; the
 * .log is created or emptied). Sizes come from the files; the indexes stay
 * sealed (mapped on use). Returns an owned segment or NULL with errno. */
segment_t *segment_open(int dir_fd, int64_t base, bool create);
void segment_close(segment_t *s);

/* Accounts one batch stored at pos (its offsets must follow next_offset):
 * maximum timestamp, end, and index entries pushed in memory when
 * index_interval_bytes of batches have passed. Indexes must be writable. */
int segment_track(segment_t *s, const batch_header_t *h, uint64_t pos, size_t size,
                  uint32_t index_interval_bytes);

/* Appends whole, stamped batches at the end. Returns 0; -1 when nothing was
 * appended (rolled back, errno set); -2 when the rollback itself failed
 * (the files may hold bytes beyond size_bytes). */
int segment_append(segment_t *s, const uint8_t *data, size_t len,
                   uint32_t index_interval_bytes);

/* True when the indexes cannot take entries for n more batches. */
bool segment_index_full(const segment_t *s, uint32_t index_max_bytes, size_t n);

/* Roll: adds the final time index entry (the segment's max timestamp) and
 * seals both indexes. */
int segment_seal(segment_t *s);

/* Makes the indexes writable (the active segment). */
int segment_unseal(segment_t *s);

/* Forgets everything past byte pos / offset next: cuts the .log at pos and
 * the indexes after their entries below next, and resets the end (max
 * timestamp is recomputed by the caller's scan). Indexes must be writable. */
int segment_truncate(segment_t *s, uint64_t pos, int64_t next);

/* Reads the header of the batch at pos. Returns 0; -1 on an I/O error; -2
 * when the bytes there are not a plausible batch within size_bytes. */
int segment_read_header(const segment_t *s, uint64_t pos, batch_header_t *h,
                        size_t *total);

/* Recomputes next_offset, max_timestamp and bytes_since_index from the
 * last index entries and the batch headers after the last offset index
 * entry (cheap: at most about index_interval_bytes of batches), trusting
 * size_bytes. Returns 0; -1 on an I/O error; -2 when the headers or the
 * indexes do not agree (the caller rebuilds the segment). */
int segment_scan_tail(segment_t *s);

/* Blocking fdatasync of the .log and both indexes. */
int segment_sync(segment_t *s);

/* Renames the three files to "<name>.deleted" (removed later by the io
 * thread); path_out receives each new path relative to dir (3 entries). */
int segment_rename_deleted(const segment_t *s, int dir_fd,
                           char path_out[3][SEGMENT_NAME_MAX]);

#endif
