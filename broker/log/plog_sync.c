/* Group commit of a partition log (plog.h): one fsync in flight per log on
 * the log_io thread; appends made meanwhile are covered by the next one.
 * Completions move the durable offset forward, advance the recovery point,
 * publish the leader-epoch checkpoint and fire durability waiters in order. */
#include "plog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"
#include "pmeta.h"

#define RP_TMP PMETA_RECOVERY_POINT_FILE PMETA_TMP_SUFFIX

void plog_fail(plog_t *l, const char *what, int err)
{
    if (!l->failed)
        LOG_ERROR("log", "%s: %s failed (%s): the log is read-only until restart", l->name,
                  what, strerror(err));
    l->failed = true;
    plog_waiters_finish(l, l->durable_offset, -1);
}

void plog_waiters_finish(plog_t *l, int64_t ok_below, int err)
{
    /* Pop one at a time: a callback may register another waiter. */
    while (l->w_head < l->w_count) {
        plog_waiter_t w = l->waiters[l->w_head++];
        w.fn(w.arg, w.end_offset <= ok_below ? 0 : err);
    }
    l->w_head = l->w_count = 0;
}

static void fire_waiters(plog_t *l)
{
    while (l->w_head < l->w_count && l->waiters[l->w_head].end_offset <= l->durable_offset) {
        plog_waiter_t w = l->waiters[l->w_head++];
        w.fn(w.arg, 0);
    }
    if (l->w_head == l->w_count)
        l->w_head = l->w_count = 0;
}

int plog_when_durable(plog_t *l, int64_t end_offset, plog_durable_fn fn, void *arg)
{
    if (l->failed) {
        fn(arg, -1);
        return 0;
    }
    if (!plog_durable_mode(l) || end_offset <= l->durable_offset) {
        fn(arg, 0);
        return 0;
    }
    if (l->w_count - l->w_head >= PLOG_WAITERS_MAX)
        return -1;
    if (l->w_count == l->w_cap) {
        if (l->w_head > 0) {
            memmove(l->waiters, l->waiters + l->w_head,
                    (l->w_count - l->w_head) * sizeof *l->waiters);
            l->w_count -= l->w_head;
            l->w_head = 0;
        } else {
            size_t cap = l->w_cap ? 2 * l->w_cap : 16;
            plog_waiter_t *w = realloc(l->waiters, cap * sizeof *w);
            if (!w)
                return -1;
            l->waiters = w;
            l->w_cap = cap;
        }
    }
    l->waiters[l->w_count++] = (plog_waiter_t){end_offset, fn, arg};
    return 0;
}

/* Dups the fds of every segment written since the last queued sync. Those
 * segments are a suffix of the list (appends go to the newest; a just
 * rolled, still empty segment may be clean). */
static int collect_fds(plog_t *l, int **out, size_t *n_out)
{
    size_t first = l->n_segs;
    while (first > 0 && (l->segs[first - 1]->dirty || first == l->n_segs))
        first--;
    int *fds = malloc((3 * (l->n_segs - first) + 2) * sizeof *fds);   /* + two tmp files */
    size_t n = 0;
    if (!fds)
        return -1;
    for (size_t i = first; i < l->n_segs; i++) {
        segment_t *s = l->segs[i];
        int src[3] = {(s->dirty & SEGMENT_DIRTY_LOG) ? s->log_fd : -1,
                      (s->dirty & SEGMENT_DIRTY_INDEX) ? s->oidx.fd : -1,
                      (s->dirty & SEGMENT_DIRTY_TIME) ? s->tidx.fd : -1};
        for (int k = 0; k < 3; k++) {
            if (src[k] >= 0 && (fds[n] = dup(src[k])) >= 0)
                n++;
            else if (src[k] >= 0)
                goto fail;
        }
    }
    *out = fds;
    *n_out = n;
    return 0;
fail:
    while (n > 0)
        close(fds[--n]);
    free(fds);
    return -1;
}

static void clear_dirty(plog_t *l)
{
    for (size_t i = l->n_segs; i > 0 && (l->segs[i - 1]->dirty || i == l->n_segs); i--)
        l->segs[i - 1]->dirty = 0;
    l->dir_dirty = false;
    l->flush_wanted = false;
    l->unflushed_messages = 0;
    l->first_unflushed_mono_ms = -1;
}

static bool anything_dirty(const plog_t *l)
{
    if (l->dir_dirty || l->epochs_dirty)
        return true;
    for (size_t i = l->n_segs; i > 0; i--) {
        if (l->segs[i - 1]->dirty)
            return true;
        if (i < l->n_segs)
            break;
    }
    return false;
}

/* The recovery point this sync can establish: the active segment's base,
 * once every older segment is synced. Its text goes to recovery-point.tmp,
 * synced by the same job and renamed into place on completion. */
static int64_t stage_recovery_point(plog_t *l, int *fd)
{
    int64_t rp = plog_active(l)->base_offset;
    *fd = -1;
    if (rp <= l->recovery_point)
        return -1;
    char text[64];
    size_t len = pmeta_recovery_point_text(text, sizeof text, rp);
    *fd = pmeta_write_tmp(l->dir_fd, PMETA_RECOVERY_POINT_FILE, text, len);
    if (*fd < 0) {
        LOG_WARN("log", "%s: cannot write %s: %s", l->name, RP_TMP, strerror(errno));
        return -1;
    }
    return rp;
}

static void on_synced(void *arg, int err);

void plog_sync_kick(plog_t *l)
{
    if (l->failed || l->inflight || !l->flush_wanted)
        return;
    if (!anything_dirty(l)) {
        l->flush_wanted = false;
        return;
    }
    plog_sync_job_t *job = calloc(1, sizeof *job);
    int *fds = NULL;
    size_t n = 0;
    if (!job || collect_fds(l, &fds, &n) != 0) {
        LOG_WARN("log", "%s: cannot queue an fsync now (%s); retried later", l->name,
                 strerror(errno));
        free(job);
        return;
    }
    int rp_fd, ckpt_fd = plog_epochs_stage(l, job);
    if (ckpt_fd >= 0)
        fds[n++] = ckpt_fd;
    job->recovery_point = stage_recovery_point(l, &rp_fd);
    if (rp_fd >= 0)
        fds[n++] = rp_fd;
    int dir_fd = l->dir_dirty ? dup(l->dir_fd) : -1;   /* entries created or renamed */
    job->dir_ckpt_seq = l->dir_dirty ? l->ckpt_renamed_seq : 0;
    job->log = l;
    job->end_offset = l->end_offset;
    job->generation = l->generation;
    if (l->dir_dirty && dir_fd < 0) {
        while (n > 0)
            close(fds[--n]);
    }
    /* log_io_sync takes the fds even when it fails. */
    if ((l->dir_dirty && dir_fd < 0) ||
        log_io_sync(l->io, fds, n, dir_fd, on_synced, job) != 0) {
        LOG_WARN("log", "%s: cannot queue an fsync now; retried later", l->name);
        free(fds);
        free(job);
        return;
    }
    free(fds);
    clear_dirty(l);
    if (job->ckpt_seq != 0)
        l->epochs_dirty = false;
    l->inflight = job;
}

/* Renames the staged recovery point into place; the next sync makes the
 * rename durable. Not while an epoch starting below it may be missing from
 * the durable leader-epoch checkpoint: recovery rescans batches only from
 * the recovery point on, so it would never find that epoch again. The next
 * sync stages it again. */
static void publish_recovery_point(plog_t *l, int64_t rp)
{
    if (rp <= l->recovery_point)
        return;
    if (rp > l->epochs_unsafe_from) {
        l->flush_wanted = true;
        return;
    }
    if (renameat(l->dir_fd, RP_TMP, l->dir_fd, PMETA_RECOVERY_POINT_FILE) != 0) {
        LOG_WARN("log", "%s: cannot rename %s: %s", l->name, RP_TMP, strerror(errno));
        return;
    }
    l->recovery_point = rp;
    l->dir_dirty = true;
    l->flush_wanted = true;
}

static void on_synced(void *arg, int err)
{
    plog_sync_job_t *job = arg;
    plog_t *l = job->log;
    if (!l) {                         /* the log was closed meanwhile */
        free(job);
        return;
    }
    CAIRN_ASSERT(l->inflight == job);
    l->inflight = NULL;
    if (err != 0) {
        free(job);
        plog_fail(l, "fsync", err);
        return;
    }
    int64_t readable = plog_readable_offset(l);
    int64_t durable = l->durable_offset;
    if (job->generation == l->generation) {
        CAIRN_ASSERT(job->end_offset >= l->durable_offset);   /* durable never moves back */
        CAIRN_ASSERT(job->end_offset <= l->end_offset);
        l->durable_offset = job->end_offset;
        plog_epochs_synced(l, job);
        publish_recovery_point(l, job->recovery_point);
    } else {
        plog_epochs_job_lost(l, job);
    }
    free(job);
    fire_waiters(l);
    if (l->durable_offset > durable && l->on_readable)
        l->on_readable(l->on_readable_arg);
    else
        plog_readable_grew(l, readable);
    if (plog_durable_mode(l) && l->end_offset > l->durable_offset)
        l->flush_wanted = true;
    plog_sync_kick(l);
}

void plog_detach_inflight(plog_t *l)
{
    if (l->inflight)
        l->inflight->log = NULL;
    l->inflight = NULL;
    l->generation++;
}

void plog_maybe_flush(plog_t *l, int64_t now_mono_ms)
{
    if (!plog_durable_mode(l) && l->first_unflushed_mono_ms >= 0 &&
        l->cfg.flush_interval_ms >= 0 &&
        now_mono_ms - l->first_unflushed_mono_ms >= l->cfg.flush_interval_ms)
        l->flush_wanted = true;
    plog_sync_kick(l);               /* also retries a sync that could not be queued */
}

int plog_sync_blocking(plog_t *l)
{
    /* Dirty segments, and those an in-flight job may not have synced yet. */
    for (size_t i = 0; i < l->n_segs; i++) {
        segment_t *s = l->segs[i];
        if ((s->dirty || s->next_offset > l->durable_offset) && segment_sync(s) != 0)
            return -1;
    }
    if (fsync(l->dir_fd) != 0)
        return -1;
    l->dir_dirty = false;
    l->flush_wanted = false;
    l->unflushed_messages = 0;
    l->first_unflushed_mono_ms = -1;
    l->generation++;                 /* an in-flight job's end offset is now stale */
    return 0;
}

int plog_write_recovery_point(plog_t *l, int64_t rp)
{
    char text[64];
    size_t len = pmeta_recovery_point_text(text, sizeof text, rp);
    if (pmeta_write_atomic(l->dir_fd, PMETA_RECOVERY_POINT_FILE, text, len) != 0)
        return -1;
    l->recovery_point = rp;
    return 0;
}
