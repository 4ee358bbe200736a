/* The log's worker thread: fsync and file deletion off the event loop
 * (DESIGN §1). Jobs are queued by the loop thread; each job's completion
 * runs back on the loop thread. One log_io per broker serves every
 * partition, so one thread's fsyncs cover all of them in turn. */
#ifndef CAIRN_LOG_IO_H
#define CAIRN_LOG_IO_H

#include <stddef.h>

#include <event2/event.h>

typedef struct log_io log_io_t;

/* Jobs waiting or running at once, over every log of the broker; a full
 * queue makes log_io_sync / log_io_remove fail rather than grow. */
#define LOG_IO_QUEUE_MAX 65536

/* Starts the thread. base is borrowed. Returns NULL on failure. */
log_io_t *log_io_new(struct event_base *base);
/* Finishes every queued job (running their completions), joins the thread.
 * Call after every log using it was closed (completions must not queue new
 * jobs). */
void log_io_free(log_io_t *io);

/* fsyncs (fdatasync) each of fds[0..n) — taken: closed by the io thread after
 * the sync — and then dir_fd if >= 0 (taken likewise; for new or renamed
 * files). done(arg, err) runs on the loop thread: err 0, or the errno of
 * the first failure; done may be NULL. Jobs run one at a time in the order
 * queued. Returns 0, or -1 when the queue is full (bounded; fds are still
 * taken and closed, done is not called). */
typedef void (*log_io_done_fn)(void *arg, int err);
int log_io_sync(log_io_t *io, const int *fds, size_t n, int dir_fd,
                log_io_done_fn done, void *arg);

/* Removes a file or a whole directory tree (path copied). No completion. */
int log_io_remove(log_io_t *io, const char *path);

/* Jobs queued or running. */
size_t log_io_pending(const log_io_t *io);

/* Test hook (fault injection): the call that syncs each fd, fdatasync by
 * default (also used for dir_fd: fdatasync of a directory syncs its
 * entries on Linux). NULL restores the default. Call before queueing jobs. */
typedef int (*log_io_sync_fn)(int fd);
void log_io_set_sync_fn(log_io_t *io, log_io_sync_fn fn);

#endif
