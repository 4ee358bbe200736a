/* Fixed-size entry files (index_file.h): in-memory copy while writable,
 * read-only mapping once sealed; appends with pwrite. */
#include "index_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn_assert.h"
#include "log.h"

int index_file_open(index_file_t *f, int dir_fd, const char *name, uint32_t entry_bytes)
{
    memset(f, 0, sizeof *f);
    f->entry_bytes = entry_bytes;
    f->sealed = true;
    f->fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return -1;
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        int e = errno;
        close(f->fd);
        f->fd = -1;
        errno = e;
        return -1;
    }
    f->count = (size_t)st.st_size / entry_bytes;
    f->written = f->count;
    f->torn = (size_t)st.st_size % entry_bytes != 0;
    return 0;
}

static void unmap(index_file_t *f)
{
    if (f->map)
        munmap((void *)f->map, f->count * f->entry_bytes);
    f->map = NULL;
}

void index_file_close(index_file_t *f)
{
    unmap(f);
    free(f->mem);
    f->mem = NULL;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

const uint8_t *index_file_data(index_file_t *f)
{
    if (f->count == 0)
        return NULL;
    if (!f->sealed)
        return f->mem;
    if (!f->map) {
        void *m = mmap(NULL, f->count * f->entry_bytes, PROT_READ, MAP_SHARED, f->fd, 0);
        if (m == MAP_FAILED) {
            LOG_WARN("log", "cannot map an index file: %s", strerror(errno));
            return NULL;
        }
        f->map = m;
    }
    return f->map;
}

static int reserve(index_file_t *f, size_t n)
{
    if (n <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 64;
    while (cap < n)
        cap *= 2;
    uint8_t *m = realloc(f->mem, cap * f->entry_bytes);
    if (!m)
        return -1;
    f->mem = m;
    f->cap = cap;
    return 0;
}

int index_file_unseal(index_file_t *f)
{
    if (!f->sealed)
        return 0;
    unmap(f);
    if (reserve(f, f->count) != 0)
        return -1;
    size_t len = f->count * f->entry_bytes, done = 0;
    while (done < len) {
        ssize_t r = pread(f->fd, f->mem + done, len - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ENODATA;
            return -1;
        }
        done += (size_t)r;
    }
    f->sealed = false;
    return 0;
}

void index_file_seal(index_file_t *f)
{
    CAIRN_ASSERT(f->written == f->count);
    free(f->mem);
    f->mem = NULL;
    f->cap = 0;
    f->sealed = true;
}

int index_file_push(index_file_t *f, const uint8_t *entry)
{
    CAIRN_ASSERT(!f->sealed);
    if (reserve(f, f->count + 1) != 0)
        return -1;
    memcpy(f->mem + f->count * f->entry_bytes, entry, f->entry_bytes);
    f->count++;
    return 0;
}

int index_file_write(index_file_t *f)
{
    CAIRN_ASSERT(!f->sealed);
    size_t off = f->written * f->entry_bytes;
    size_t len = (f->count - f->written) * f->entry_bytes, done = 0;
    while (done < len) {
        ssize_t w = pwrite(f->fd, f->mem + off + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (ftruncate(f->fd, (off_t)off) != 0)
                LOG_WARN("log", "cannot cut back an index file: %s", strerror(errno));
            index_file_drop_unwritten(f);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    f->written = f->count;
    return 0;
}

void index_file_drop_unwritten(index_file_t *f)
{
    f->count = f->written;
}

int index_file_truncate(index_file_t *f, size_t count)
{
    CAIRN_ASSERT(!f->sealed && count <= f->written);
    if (ftruncate(f->fd, (off_t)(count * f->entry_bytes)) != 0)
        return -1;
    f->count = count;
    f->written = count;
    f->torn = false;
    return 0;
}
