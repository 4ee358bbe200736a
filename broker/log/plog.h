/* A partition's log (DESIGN §5): Kafka's on-disk layout in one directory
 * <log.dirs>/<topic>-<partition>/ — segments named by their 20-digit base
 * offset (.log, .index, .timeindex), partition.metadata, and a log start
 * offset. Appends stamp baseOffset and partitionLeaderEpoch into batches
 * that were already validated (batch.h) and store them byte for byte.
 * Durability is group commit: fsync runs on the log_io worker thread and
 * reports back; the durable end offset only moves forward.
 *
 * Threads: every plog_* function runs on the broker's loop thread. Blocking
 * work (fsync, deleting segments) is handed to log_io. Opening a log with
 * recovery is blocking and done before the log is used (start-up).
 *
 * Recovery point: the file "recovery-point" in the partition directory
 * ("version: 0\nrecovery_point: <offset>\n", replaced atomically) names the
 * base offset of a segment such that every older segment, indexes
 * included, was fsync'd. It moves forward when a sync that covers a rolled
 * segment completes (its text is staged in recovery-point.tmp, fsync'd by
 * that same job, then renamed into place), is written at plog_close, and is
 * lowered synchronously by plog_truncate_to before truncated offsets can be
 * reused. Missing or unreadable, every segment is validated.
 *
 * Leader-epoch cache (KIP-101): "leader-epoch-checkpoint" in the partition
 * directory, Kafka's text format ("0\n<count>\n<epoch> <start_offset>\n"...),
 * lists the first offset of every leader epoch in the log. It is staged as
 * leader-epoch-checkpoint.tmp in the same sync jobs as the recovery point
 * and renamed on completion; the recovery point never passes an epoch start
 * that a durable checkpoint does not hold yet, so recovery (which rescans
 * from the recovery point) can always rebuild what the file lacks. It is
 * written synchronously at open (when it changed), at plog_close and by
 * plog_truncate_to. At open, entries starting at or after the recovered log
 * end are dropped; a missing or unreadable file is rebuilt from the
 * partitionLeaderEpoch of every batch header.
 *
 * Index files hold exactly their entries (no preallocation), so their size
 * is a multiple of the entry size; see offset_index.h and time_index.h.
 * Callbacks (durability waiters, on_readable) must not close the log. */
#ifndef CAIRN_PLOG_H
#define CAIRN_PLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log_io.h"

typedef struct plog plog_t;

typedef struct plog_config {
    uint64_t segment_bytes;          /* log.segment.bytes / segment.bytes (default 1 GiB) */
    int64_t roll_ms;                 /* log.roll.ms / segment.ms (default 7 days) */
    int64_t retention_ms;            /* log.retention.ms / retention.ms; -1: forever */
    int64_t retention_bytes;         /* log.retention.bytes / retention.bytes; -1: no limit */
    uint32_t index_interval_bytes;   /* log.index.interval.bytes (default 4096) */
    uint32_t index_max_bytes;        /* log.index.size.max.bytes (default 10 MiB): a full
                                        index rolls the segment */
    int64_t flush_interval_messages; /* log.flush.interval.messages: 1 (default) = every
                                        acknowledged batch is fsync'd first (durable);
                                        N > 1 = Kafka's page-cache mode, fsync after N
                                        messages */
    int64_t flush_interval_ms;       /* log.flush.interval.ms: page-cache mode also fsyncs
                                        when the oldest unflushed message is this old; -1: never */
} plog_config_t;

void plog_config_defaults(plog_config_t *c);

/* Opens (creating if absent) the log of topic/partition under dir. topic_id
 * is written to partition.metadata; an existing directory whose
 * partition.metadata names another topic id is an error (the caller deletes
 * it first). clean_shutdown: the caller found the log dir's clean-shutdown
 * marker, so recovery trusts the indexes; otherwise every batch after the
 * recovery point is validated (batch_validate), a torn or corrupt tail is
 * truncated at the last valid batch (logged with the offset and byte
 * position), and the indexes of recovered segments are rebuilt.
 * With clean_shutdown, each segment is still checked cheaply: its index
 * files must exist and be whole, and the batch headers after its last
 * offset index entry must match the entry and the file size; a segment
 * failing that is validated and its indexes rebuilt.
 * io is borrowed and outlives the log. Returns an owned log or NULL with one
 * line in err. Blocking. */
plog_t *plog_open(const char *dir, const char *topic, uint32_t partition,
                  const uint8_t topic_id[16], const plog_config_t *cfg, bool clean_shutdown,
                  log_io_t *io, char *err, size_t err_len);

/* Writes what is pending, fsyncs everything (blocking), writes the
 * recovery point and frees. Pending waiters get 0 once that fsync
 * succeeded, else -1. */
void plog_close(plog_t *l);

/* Closes and removes the directory (topic deleted): the files are renamed
 * away at once and deleted on the io thread. */
void plog_close_and_delete(plog_t *l);

/* Applies changed topic configs (segment/retention/flush). */
void plog_set_config(plog_t *l, const plog_config_t *cfg);

const char *plog_dir(const plog_t *l);
int64_t plog_start_offset(const plog_t *l);    /* log start offset */
int64_t plog_end_offset(const plog_t *l);      /* log end offset: next offset to assign */
int64_t plog_durable_offset(const plog_t *l);  /* every offset below it is fsync'd */
uint64_t plog_size_bytes(const plog_t *l);     /* all segments */
size_t plog_segment_count(const plog_t *l);

/* Result of an append: the first and last offsets assigned. */
typedef struct plog_append_info {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time_ms;      /* -1: the batches keep CreateTime */
} plog_append_info_t;

/* Appends len bytes of whole, already validated batches (taken as they are;
 * the buffer is modified in place: baseOffset and partitionLeaderEpoch are
 * rewritten). Offsets are contiguous from plog_end_offset. Rolls a segment
 * first when it would exceed segment_bytes, when roll_ms passed since its
 * first batch (appended by this process; a segment reopened at start-up
 * counts from the open), or when its index is full. leader_epoch (>= 0, never
 * below plog_latest_epoch: asserted) is stamped into every batch; a new one
 * gets an epoch-cache entry at the first offset appended. Returns 0, or -1
 * on an I/O error (nothing was appended: a partial write is truncated away;
 * logged), when out of memory or when the log failed. */
int plog_append(plog_t *l, uint8_t *batches, size_t len, int32_t leader_epoch,
                plog_append_info_t *out);

/* What plog_append_replica returns besides 0. Nothing is appended when it
 * fails. */
typedef enum {
    PLOG_REPLICA_IO = -1,            /* I/O error, out of memory or the log failed */
    PLOG_REPLICA_BAD_BATCH = -2,     /* empty, not whole batches, or batch_validate failed */
    PLOG_REPLICA_BAD_OFFSET = -3,    /* first baseOffset != plog_end_offset, or a gap or
                                        overlap between batches */
    PLOG_REPLICA_BAD_EPOCH = -4,     /* a negative partitionLeaderEpoch, or one below the
                                        batch before it or below plog_latest_epoch */
} plog_replica_err_t;

/* Follower append (replication): stores len bytes of record batches fetched
 * from the leader exactly as they are — baseOffset and partitionLeaderEpoch
 * are kept, the buffer is borrowed and not modified. Every batch is checked
 * first (batch_validate, whole batches only: a Cairn leader never sends a
 * partial one), the first baseOffset must be plog_end_offset and the offsets
 * contiguous, and epochs must not go down. Each batch whose epoch is above
 * the latest cached one adds an epoch-cache entry at its baseOffset. Rolls
 * like plog_append, at segment boundaries inside the buffer too. Returns 0
 * with *out, or a plog_replica_err_t: nothing is appended on a validation
 * error; on an I/O error the whole batches before the failed segment stay. */
int plog_append_replica(plog_t *l, const uint8_t *batches, size_t len,
                        plog_append_info_t *out);

/* Calls fn(arg, 0) once every offset below end_offset is durable — at once
 * if already so — or fn(arg, -1) after an fsync failure, or fn(arg, -2)
 * when plog_truncate_to removed offsets below end_offset. Waiters fire in
 * the order registered. In page-cache mode (flush_interval_messages > 1)
 * it is called at once. Returns 0, or -1 when the waiter queue is full
 * (bounded; nothing registered). */
typedef void (*plog_durable_fn)(void *arg, int err);
#define PLOG_WAITERS_MAX 65536           /* per log */
int plog_when_durable(plog_t *l, int64_t end_offset, plog_durable_fn fn, void *arg);

/* fn(arg) runs on the loop thread whenever plog_readable_offset grows (after
 * an fsync completes in durable mode, after an append in page-cache mode,
 * when plog_set_high_watermark raises it), and whenever an fsync moves the
 * durable offset even if the readable offset stays (a leader's high
 * watermark may then move); parked Fetch requests wait on it. One
 * listener; NULL removes it. */
void plog_set_on_readable(plog_t *l, void (*fn)(void *arg), void *arg);

/* Offsets below which a consumer may see data: the durable offset in
 * durable mode, the end offset in page-cache mode; once a high watermark
 * was set, the smaller of that and the high watermark. */
int64_t plog_readable_offset(const plog_t *l);

/* Replication's high watermark (DESIGN §5): hw is clamped to the log end
 * offset (a follower's HW is min(leader HW, own log end), as in Kafka) and
 * must not move back (asserted). Only plog_truncate_to lowers it: to the
 * new end when it cut below it. In memory only; the replica module sets it
 * again after a restart. Fires on_readable when the readable offset grew.
 * Until it is first called the log behaves as a single replica. */
void plog_set_high_watermark(plog_t *l, int64_t hw);
int64_t plog_high_watermark(const plog_t *l);   /* -1 until set */

/* Leader-epoch cache (KIP-101), kept by appends, truncation and retention. */
int32_t plog_latest_epoch(const plog_t *l);     /* -1 when the cache is empty */
/* The first offset of epoch in this log, -1 when it has no entry. */
int64_t plog_epoch_start_offset(const plog_t *l, int32_t epoch);

/* OffsetsForLeaderEpoch / DivergingEpoch, Kafka's rules exactly
 * (LeaderEpochFileCache.endOffsetFor, KIP-279): the largest cached epoch
 * <= epoch goes to *epoch_out and the end offset of that epoch is returned:
 * the start offset of the next larger cached epoch, or plog_end_offset when
 * epoch is the latest one. epoch == -1 (UNDEFINED_EPOCH), an empty cache or
 * an epoch above the latest answer (-1, -1) (UNDEFINED_EPOCH_OFFSET). An
 * epoch below every cached epoch answers (epoch, start offset of the first
 * entry), as Kafka does: that history was removed, so a follower truncates
 * to where the leader's log begins. */
int64_t plog_end_offset_for_epoch(const plog_t *l, int32_t epoch, int32_t *epoch_out);

/* A new leader records that epoch starts at its log end offset before it
 * appends anything (KIP-279, apache/kafka PR 5678), so OffsetsForLeaderEpoch
 * for the previous epoch is answered right across back-to-back elections.
 * epoch must be >= plog_latest_epoch (asserted; equal: nothing happens); an
 * entry already starting at the log end (an epoch in which nothing was
 * written) is replaced. Persisted like appends. Returns 0, or -1 when out
 * of memory. */
int plog_begin_epoch(plog_t *l, int32_t epoch);

/* A run of whole batches in one segment file, for a Fetch response.
 * fd is borrowed: valid until the next plog_* call that may delete or roll
 * a segment; dup() it to send later (sendfile). */
typedef struct plog_slice {
    int fd;
    uint64_t file_pos;
    uint32_t length;
    int64_t first_offset;            /* base offset of the first batch */
    int64_t next_offset;             /* offset after the last batch included */
} plog_slice_t;

/* Finds the batch containing offset and returns the run of whole batches
 * from it, ending before upper_offset (exclusive; batches whose last offset
 * is >= upper_offset are not included) and within max_bytes — but always at
 * least one whole batch when min_one_batch, even above max_bytes (Kafka's
 * rule, so a consumer never stalls on a large batch). Batches never span
 * segments: a read stops at the end of one segment; the caller reads again
 * from next_offset for more.
 * Returns 0 with a slice (length 0 when nothing is readable yet, or when
 * the first batch is above max_bytes without min_one_batch), or
 * -1 when offset < log start or offset > end offset (OFFSET_OUT_OF_RANGE),
 * or -2 on an I/O error or a corrupt batch header (logged). */
int plog_read(plog_t *l, int64_t offset, int64_t upper_offset, uint32_t max_bytes,
              bool min_one_batch, plog_slice_t *out);

/* ListOffsets: the first record whose timestamp is >= ts_ms, with its
 * timestamp, found through the time index and the batches' max timestamps;
 * inside an uncompressed batch the records are walked for the exact one, a
 * compressed batch answers with its first offset. -1 when no batch that is
 * readable (below upper_offset) has such a timestamp. */
int64_t plog_offset_for_timestamp(plog_t *l, int64_t ts_ms, int64_t upper_offset,
                                  int64_t *found_ts_ms);

/* Retention (run periodically by the caller): deletes whole non-active
 * segments whose max timestamp is older than retention_ms before now_ms,
 * and oldest segments while the log stays above retention_bytes without
 * them; advances the log start offset to the next segment's base offset.
 * Once a high watermark was set, only segments wholly below it go (Kafka's
 * rule: uncommitted data is never deleted). The epoch cache keeps the last
 * entry at or below the new log start, moved to start there.
 * Returns the number of segments deleted. Files go to the io thread. */
size_t plog_apply_retention(plog_t *l, int64_t now_ms);

/* Page-cache mode: starts an fsync when flush_interval_ms has passed since
 * the oldest unflushed append. Called periodically by the caller, in both
 * modes: it also retries a sync that could not be queued (io queue full,
 * out of fds). */
void plog_maybe_flush(plog_t *l, int64_t now_mono_ms);

/* Drops every offset and starts the log empty at offset (Kafka's
 * truncateFullyAndStartAt): a follower behind its leader's log start.
 * Durable before it returns (blocking); waiters get -2. 0 or -1. */
int plog_reset_to(plog_t *l, int64_t offset);

/* Truncates the log so its end offset is end_offset (for replication:
 * KIP-101 truncation). When end_offset falls inside a batch, that whole
 * batch goes too (the end becomes its base offset), as in Kafka. The kept
 * data is fsync'd, the recovery point lowered and the leader-epoch
 * checkpoint rewritten before it returns (blocking), so truncated offsets
 * are never reused while the disk still describes them. The durable offset
 * becomes the new end; epoch-cache entries starting at or after it are
 * removed (a cut inside an epoch keeps that epoch's entry); a high
 * watermark above it is lowered to it. Durability waiters for offsets
 * above the new end get -2. Truncating to the end offset changes nothing.
 * Returns 0, or -1 when end_offset is outside [log start, end], on an I/O
 * error (the log then fails) or when the log already failed. */
int plog_truncate_to(plog_t *l, int64_t end_offset);

#endif
