/* The inside of a partition log, shared by plog.c (open, close, accessors),
 * plog_append.c (appends, roll), plog_sync.c (group commit, waiters),
 * plog_readable.c (readable offset, high watermark), plog_read.c (reads,
 * time lookups), plog_recovery.c, plog_retention.c (retention, truncation)
 * and plog_epochs.c (the leader-epoch cache and its checkpoint). Not a
 * public header. */
#ifndef CAIRN_PLOG_INTERNAL_H
#define CAIRN_PLOG_INTERNAL_H

#include <sys/types.h>

#include "epoch_cache.h"
#include "plog.h"
#include "segment.h"

#define PLOG_READ_BUF_BYTES 8192       /* batch headers read ahead by one pread */

typedef struct plog_waiter {
    int64_t end_offset;
    plog_durable_fn fn;
    void *arg;
} plog_waiter_t;

/* One queued fsync. Owned by the completion; the log points at it while it
 * runs and detaches it (log = NULL) when it closes first. */
typedef struct plog_sync_job {
    plog_t *log;
    int64_t end_offset;                /* every offset below it is covered */
    uint64_t generation;               /* l->generation when queued */
    int64_t recovery_point;            /* written to recovery-point.tmp and synced, or -1 */
    uint64_t ckpt_seq;                 /* epoch checkpoint staged in its .tmp and synced, or 0 */
    uint64_t dir_ckpt_seq;             /* the dir sync makes this checkpoint's rename
                                          durable (0: none or no dir sync) */
} plog_sync_job_t;

struct plog {
    char *dir;                         /* owned: <log.dirs>/<topic>-<partition> */
    char *name;                        /* owned: "<topic>-<partition>", for log lines */
    int dir_fd;                        /* owned */
    plog_config_t cfg;
    log_io_t *io;                      /* borrowed */

    segment_t **segs;                  /* owned, ascending base offsets; never empty */
    size_t n_segs, cap_segs;
    int64_t end_offset;                /* == segs[n_segs - 1]->next_offset */
    int64_t durable_offset;            /* only moves forward, except in truncate_to */
    int64_t recovery_point;            /* the value in the recovery-point file */
    bool failed;                       /* an fsync or a rollback failed: read-only */

    plog_sync_job_t *inflight;         /* at most one sync per log */
    uint64_t generation;               /* bumped when a blocking sync or truncation
                                          makes the in-flight job's result stale */
    bool dir_dirty;                    /* entries created or renamed since the last sync */
    bool flush_wanted;                 /* a sync should be queued when possible */
    int64_t unflushed_messages;        /* page-cache mode */
    int64_t first_unflushed_mono_ms;   /* page-cache mode; -1: nothing unflushed */

    void (*on_readable)(void *arg);    /* plog_set_on_readable; may be NULL */
    void *on_readable_arg;
    int64_t high_watermark;            /* -1 until plog_set_high_watermark */

    epoch_cache_t epochs;              /* leader-epoch cache */
    bool epochs_dirty;                 /* changed since its checkpoint was last staged */
    bool epochs_durable;               /* the durable checkpoint holds exactly the cache */
    int64_t epochs_unsafe_from;        /* every entry starting below it is in a durable
                                          checkpoint: the recovery point may not pass it */
    uint64_t ckpt_staged_seq;          /* last checkpoint staged in a sync job */
    uint64_t ckpt_renamed_seq;         /* last staged checkpoint renamed into place */

    plog_waiter_t *waiters;            /* owned; [w_head, w_count) pending, FIFO */
    size_t w_head, w_count, w_cap;

    uint8_t *rbuf;                     /* owned, lazily allocated read-ahead of headers */
    const segment_t *rbuf_seg;         /* segment whose bytes rbuf holds, or NULL */
    uint64_t rbuf_pos;
    size_t rbuf_len;
};

static inline segment_t *plog_active(const plog_t *l)
{
    return l->segs[l->n_segs - 1];
}

static inline bool plog_durable_mode(const plog_t *l)
{
    return l->cfg.flush_interval_messages <= 1;
}

/* plog.c */
ssize_t plog_find_segment(const plog_t *l, int64_t offset);  /* last base <= offset */
int plog_push_segment(plog_t *l, segment_t *s);
/* Renames a segment's files away, closes it and queues their removal. */
void plog_drop_segment_files(plog_t *l, segment_t *s);

/* plog_sync.c */
void plog_sync_kick(plog_t *l);              /* queues a sync if wanted and none runs */
int plog_sync_blocking(plog_t *l);           /* fsyncs every dirty segment and the dir */
int plog_write_recovery_point(plog_t *l, int64_t rp);   /* blocking, atomic */
void plog_fail(plog_t *l, const char *what, int err);
/* Fires every pending waiter: 0 when its offset is <= ok_below, else err. */
void plog_waiters_finish(plog_t *l, int64_t ok_below, int err);
void plog_detach_inflight(plog_t *l);

/* plog_read.c */
/* Finds the first batch of s whose last offset is >= offset (< next_offset). */
int plog_locate(plog_t *l, segment_t *s, int64_t offset, uint64_t *pos,
                batch_header_t *h, size_t *total);
void plog_read_forget(plog_t *l);            /* drops read-ahead (truncation, deletion) */

/* plog_readable.c */
/* Calls on_readable when plog_readable_offset is now above before. */
void plog_readable_grew(plog_t *l, int64_t before);

/* plog_recovery.c */
int plog_recover(plog_t *l, bool clean_shutdown, char *err, size_t err_len);

/* plog_epochs.c */
/* At open, after the segments were recovered: reads the checkpoint, drops
 * what the log does not hold, re-reads the epochs of the batches from
 * rescan_from on (every batch when the file is missing or unreadable) and
 * writes the result (blocking). */
int plog_epochs_load(plog_t *l, int64_t rescan_from, char *err, size_t err_len);
/* The cache changed; the disk may disagree from start_offset on (an entry
 * added or replaced there; -1: only trimmed at the front, which open redoes).
 * The next sync stages the checkpoint (durable mode asks for one now). */
void plog_epochs_changed(plog_t *l, int64_t start_offset);
/* Stages the checkpoint for a sync job when it changed: returns the fd of
 * the .tmp (owned by the caller) and sets job->ckpt_seq, or -1. */
int plog_epochs_stage(plog_t *l, plog_sync_job_t *job);
/* Completion of a current job: notes what it made durable, renames its
 * staged checkpoint. */
void plog_epochs_synced(plog_t *l, const plog_sync_job_t *job);
/* A blocking sync made an in-flight job stale: restage what it staged. */
void plog_epochs_job_lost(plog_t *l, const plog_sync_job_t *job);
/* Writes the checkpoint now (blocking, atomic) unless it is durable. */
int plog_epochs_write_sync(plog_t *l);

#endif
