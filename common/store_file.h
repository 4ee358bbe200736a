/* Durable file primitives shared by the controller's Raft storage and the
 * broker's partition logs: full writes and reads, fsync of directories,
 * atomic replace (write tmp, fsync, rename, fsync dir) and durable directory
 * creation. Errors come back as -1 with errno set. */
#ifndef CAIRN_STORE_FILE_H
#define CAIRN_STORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Suffix of a file still being written; open removes leftovers. */
#define STORE_FILE_TMP_SUFFIX ".tmp"

/* Writes every byte of iov[0..n_iov) at the file offset, retrying short
 * writes and EINTR. iov is borrowed and consumed (its entries are advanced). */
int store_file_writev_all(int fd, struct iovec *iov, int n_iov);

/* Reads exactly len bytes at off. A short read (file ended) is -1 with
 * errno = ENODATA. */
int store_file_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* fsync of a directory, so entries created, renamed or removed in it are
 * durable. */
int store_file_fsync_dir(int dir_fd);
/* The same for a directory named by path. */
int store_file_fsync_dir_path(const char *dir_path);

typedef enum {
    STORE_FILE_OK = 0,
    STORE_FILE_ERR = -1,                 /* nothing replaced; the old file is intact */
    STORE_FILE_ERR_AFTER_RENAME = -2,    /* renamed, but the directory fsync failed */
} store_file_rc_t;

/* Atomically replaces name (relative to dir_fd) with the bytes of iov:
 * writes name.tmp, fsyncs it, renames it over name, fsyncs dir_fd. iov is
 * borrowed (consumed as in store_file_writev_all). On STORE_FILE_ERR the
 * tmp file is removed. */
store_file_rc_t store_file_replace(int dir_fd, const char *name, struct iovec *iov,
                                   int n_iov);

/* Creates path and any missing parents (mode 0755), fsyncing each parent
 * whose entries changed so the new directories survive a crash. An existing
 * directory is fine. */
int store_file_mkdirs(const char *path);

/* Removes name (relative to dir_fd); a missing file is not an error. */
int store_file_unlink(int dir_fd, const char *name);

#endif
