/* The log's worker thread (log_io.h): a bounded FIFO of fsync and removal
 * jobs run by one pthread; finished jobs go to a done list and an eventfd
 * wakes the loop thread, which runs their completions. */
#include "log_io.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"

typedef struct io_job {
    struct io_job *next;
    int *fds;                 /* sync: taken */
    size_t n_fds;
    int dir_fd;
    char *path;               /* remove: owned */
    log_io_done_fn done;
    void *arg;
    int err;
} io_job_t;

typedef struct job_list {
    io_job_t *head, *tail;
} job_list_t;

struct log_io {
    struct event_base *base;
    struct event *wake_ev;
    int wake_fd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_list_t queue;         /* guarded by mu */
    job_list_t done;          /* guarded by mu */
    size_t queued;            /* guarded by mu: jobs in queue */
    bool stopping;            /* guarded by mu */
    atomic_size_t pending;    /* queued or running */
    log_io_sync_fn sync_fn;   /* guarded by mu (a test hook; fdatasync otherwise) */
};

static void list_push(job_list_t *l, io_job_t *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static io_job_t *list_take_all(job_list_t *l)
{
    io_job_t *h = l->head;
    l->head = l->tail = NULL;
    return h;
}

static int default_sync(int fd)
{
    return fdatasync(fd);
}

static int sync_retry(log_io_sync_fn fn, int fd)
{
    while (fn(fd) != 0) {
        if (errno != EINTR)
            return errno ? errno : EIO;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        LOG_WARN("log_io", "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Runs on the io thread. */
static void run_job(log_io_sync_fn sync_fn, io_job_t *j)
{
    if (j->path) {
        if (nftw(j->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
            LOG_WARN("log_io", "cannot remove %s: %s", j->path, strerror(errno));
        return;
    }
    for (size_t i = 0; i < j->n_fds; i++) {
        int e = sync_retry(sync_fn, j->fds[i]);
        if (e && !j->err)
            j->err = e;
        close(j->fds[i]);
    }
    if (j->dir_fd >= 0) {
        int e = sync_retry(sync_fn, j->dir_fd);
        if (e && !j->err)
            j->err = e;
        close(j->dir_fd);
    }
}

static void *io_thread(void *arg)
{
    log_io_t *io = arg;
    pthread_mutex_lock(&io->mu);
    for (;;) {
        while (!io->queue.head && !io->stopping)
            pthread_cond_wait(&io->cv, &io->mu);
        io_job_t *j = io->queue.head;
        if (!j)
            break;                          /* stopping and drained */
        io->queue.head = j->next;
        if (!io->queue.head)
            io->queue.tail = NULL;
        io->queued--;
        log_io_sync_fn sync_fn = io->sync_fn;
        pthread_mutex_unlock(&io->mu);
        run_job(sync_fn, j);
        pthread_mutex_lock(&io->mu);
        list_push(&io->done, j);
        atomic_fetch_sub(&io->pending, 1);
        uint64_t one = 1;
        ssize_t w = write(io->wake_fd, &one, sizeof one);
        (void)w;                            /* EAGAIN: a wake-up is already pending */
    }
    pthread_mutex_unlock(&io->mu);
    return NULL;
}

static void free_job(io_job_t *j)
{
    free(j->fds);
    free(j->path);
    free(j);
}

/* Loop thread: runs the completions of every finished job, in order. */
static void run_completions(log_io_t *io)
{
    pthread_mutex_lock(&io->mu);
    io_job_t *j = list_take_all(&io->done);
    pthread_mutex_unlock(&io->mu);
    while (j) {
        io_job_t *next = j->next;
        if (j->done)
            j->done(j->arg, j->err);
        free_job(j);
        j = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof n);
    (void)r;
    run_completions(arg);
}

log_io_t *log_io_new(struct event_base *base)
{
    log_io_t *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    io->base = base;
    io->sync_fn = default_sync;
    atomic_init(&io->pending, 0);
    io->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (io->wake_fd < 0)
        goto fail;
    io->wake_ev = event_new(base, io->wake_fd, EV_READ | EV_PERSIST, on_wake, io);
    if (!io->wake_ev || event_add(io->wake_ev, NULL) != 0)
        goto fail;
    pthread_mutex_init(&io->mu, NULL);
    pthread_cond_init(&io->cv, NULL);
    if (pthread_create(&io->thread, NULL, io_thread, io) != 0) {
        pthread_mutex_destroy(&io->mu);
        pthread_cond_destroy(&io->cv);
        goto fail;
    }
    return io;
fail:
    LOG_ERROR("log_io", "cannot start the io thread: %s", strerror(errno));
    if (io->wake_ev)
        event_free(io->wake_ev);
    if (io->wake_fd >= 0)
        close(io->wake_fd);
    free(io);
    return NULL;
}

void log_io_free(log_io_t *io)
{
    if (!io)
        return;
    pthread_mutex_lock(&io->mu);
    io->stopping = true;
    pthread_cond_signal(&io->cv);
    pthread_mutex_unlock(&io->mu);
    pthread_join(io->thread, NULL);
    run_completions(io);
    event_free(io->wake_ev);
    close(io->wake_fd);
    pthread_mutex_destroy(&io->mu);
    pthread_cond_destroy(&io->cv);
    free(io);
}

static int enqueue(log_io_t *io, io_job_t *j)
{
    pthread_mutex_lock(&io->mu);
    CAIRN_ASSERT(!io->stopping);
    if (io->queued >= LOG_IO_QUEUE_MAX) {
        pthread_mutex_unlock(&io->mu);
        return -1;
    }
    list_push(&io->queue, j);
    io->queued++;
    atomic_fetch_add(&io->pending, 1);
    pthread_cond_signal(&io->cv);
    pthread_mutex_unlock(&io->mu);
    return 0;
}

static void close_all(const int *fds, size_t n, int dir_fd)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    if (dir_fd >= 0)
        close(dir_fd);
}

int log_io_sync(log_io_t *io, const int *fds, size_t n, int dir_fd,
                log_io_done_fn done, void *arg)
{
    io_job_t *j = calloc(1, sizeof *j);
    int *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (!j || (n && !copy)) {
        free(j);
        free(copy);
        close_all(fds, n, dir_fd);
        return -1;
    }
    if (n)
        memcpy(copy, fds, n * sizeof *copy);
    j->fds = copy;
    j->n_fds = n;
    j->dir_fd = dir_fd;
    j->done = done;
    j->arg = arg;
    if (enqueue(io, j) != 0) {
        free_job(j);
        close_all(fds, n, dir_fd);
        return -1;
    }
    return 0;
}

int log_io_remove(log_io_t *io, const char *path)
{
    io_job_t *j = calloc(1, sizeof *j);
    char *copy = strdup(path);
    if (!j || !copy) {
        free(j);
        free(copy);
        return -1;
    }
    j->path = copy;
    j->dir_fd = -1;
    if (enqueue(io, j) != 0) {
        free_job(j);
        return -1;
    }
    return 0;
}

size_t log_io_pending(const log_io_t *io)
{
    return atomic_load(&((log_io_t *)io)->pending);
}

void log_io_set_sync_fn(log_io_t *io, log_io_sync_fn fn)
{
    pthread_mutex_lock(&io->mu);
    io->sync_fn = fn ? fn : default_sync;
    pthread_mutex_unlock(&io->mu);
}
