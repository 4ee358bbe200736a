/* Durable file primitives for the controller's Raft storage (see
 * store_file.h). Every write retries short writes and EINTR; nothing here
 * logs, callers name the file in their own one-line message. */
#include "store_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_file_writev_all(int fd, struct iovec *iov, int n_iov)
{
    while (n_iov > 0) {
        if (iov[0].iov_len == 0) {
            iov++;
            n_iov--;
            continue;
        }
        ssize_t w = writev(fd, iov, n_iov > IOV_MAX ? IOV_MAX : n_iov);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t done = (size_t)w;
        while (n_iov > 0 && done >= iov[0].iov_len) {
            done -= iov[0].iov_len;
            iov++;
            n_iov--;
        }
        if (n_iov > 0) {
            iov[0].iov_base = (uint8_t *)iov[0].iov_base + done;
            iov[0].iov_len -= done;
        }
    }
    return 0;
}

int store_file_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = ENODATA;
            return -1;
        }
        p += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int store_file_fsync_dir(int dir_fd)
{
    while (fsync(dir_fd) != 0) {
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

int store_file_fsync_dir_path(const char *dir_path)
{
    int fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = store_file_fsync_dir(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int fsync_retry(int fd)
{
    while (fsync(fd) != 0) {
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

store_file_rc_t store_file_replace(int dir_fd, const char *name, struct iovec *iov,
                                   int n_iov)
{
    char tmp[NAME_MAX + 1];
    int n = snprintf(tmp, sizeof tmp, "%s%s", name, STORE_FILE_TMP_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return STORE_FILE_ERR;
    }
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return STORE_FILE_ERR;
    if (store_file_writev_all(fd, iov, n_iov) != 0 || fsync_retry(fd) != 0) {
        int saved = errno;
        close(fd);
        unlinkat(dir_fd, tmp, 0);
        errno = saved;
        return STORE_FILE_ERR;
    }
    if (close(fd) != 0 || renameat(dir_fd, tmp, dir_fd, name) != 0) {
        int saved = errno;
        unlinkat(dir_fd, tmp, 0);
        errno = saved;
        return STORE_FILE_ERR;
    }
    if (store_file_fsync_dir(dir_fd) != 0)
        return STORE_FILE_ERR_AFTER_RENAME;
    return STORE_FILE_OK;
}

/* fsyncs the directory holding path[0..len) 's last component. */
static int fsync_parent(const char *path, size_t len)
{
    char parent[PATH_MAX];
    size_t cut = len;
    while (cut > 0 && path[cut - 1] != '/')
        cut--;
    if (cut == 0) {
        parent[0] = '.';
        parent[1] = '\0';
    } else {
        memcpy(parent, path, cut);
        parent[cut] = '\0';
    }
    return store_file_fsync_dir_path(parent);
}

int store_file_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = len == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    /* Each prefix ending before a '/' (and the whole path) is one level. */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && buf[i] != '/')
            continue;
        if (buf[i - 1] == '/')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        int rc = mkdir(buf, 0755);
        if (rc != 0 && errno != EEXIST)
            return -1;
        if (rc == 0 && fsync_parent(buf, i) != 0)
            return -1;
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int store_file_unlink(int dir_fd, const char *name)
{
    if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT)
        return -1;
    return 0;
}
