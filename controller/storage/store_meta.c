/* The quorum-state and snapshot files of the controller's Raft storage: a
 * CRC-guarded protobuf message (QuorumState / SnapshotHeader, see
 * proto/storage.proto), followed in a snapshot by the image bytes. */
#include "store_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "storage.pb-c.h"
#include "store_frame.h"

/* The CRC covers the length field too: an all-zero file (a length of 0 and
 * a CRC of 0) must not pass as term 0 with no vote. */
static uint32_t prefix_crc(const uint8_t *prefix, const uint8_t *msg, size_t msg_len)
{
    return crc32c(crc32c(0, prefix, 4), msg, msg_len);
}

static void encode_prefix(uint8_t prefix[STORE_META_PREFIX_BYTES], const uint8_t *msg,
                          size_t msg_len)
{
    store_put_u32le(prefix, (uint32_t)msg_len);
    store_put_u32le(prefix + 4, prefix_crc(prefix, msg, msg_len));
}

/* Reads the length-prefixed, CRC-checked message at the start of fd, whose
 * file is size bytes long, into msg (STORE_META_MESSAGE_MAX_BYTES). */
static int read_message(int fd, uint64_t size, uint8_t *msg, size_t *msg_len, char *why,
                        size_t why_len)
{
    uint8_t prefix[STORE_META_PREFIX_BYTES];
    if (size < sizeof prefix) {
        snprintf(why, why_len, "%" PRIu64 " bytes, shorter than its header", size);
        return -1;
    }
    if (store_file_pread_all(fd, prefix, sizeof prefix, 0) != 0) {
        snprintf(why, why_len, "read failed: %s", strerror(errno));
        return -1;
    }
    uint32_t len = store_get_u32le(prefix);
    if (len > STORE_META_MESSAGE_MAX_BYTES || len > size - sizeof prefix) {
        snprintf(why, why_len, "header length %" PRIu32 " out of bounds", len);
        return -1;
    }
    if (store_file_pread_all(fd, msg, len, sizeof prefix) != 0) {
        snprintf(why, why_len, "read failed: %s", strerror(errno));
        return -1;
    }
    if (prefix_crc(prefix, msg, len) != store_get_u32le(prefix + 4)) {
        snprintf(why, why_len, "CRC32C mismatch");
        return -1;
    }
    *msg_len = len;
    return 0;
}

store_file_rc_t store_meta_write_quorum(int dir_fd, uint64_t term, uint32_t voted_for)
{
    Cairn__QuorumState qs = CAIRN__QUORUM_STATE__INIT;
    qs.term = term;
    qs.voted_for = voted_for;
    uint8_t msg[STORE_META_MESSAGE_MAX_BYTES];
    _Static_assert(STORE_META_MESSAGE_MAX_BYTES >= 2 + 10 + 1 + 5,
                   "a QuorumState of two full varints fits");
    size_t msg_len = cairn__quorum_state__pack(&qs, msg);
    uint8_t prefix[STORE_META_PREFIX_BYTES];
    encode_prefix(prefix, msg, msg_len);
    struct iovec iov[2] = { { prefix, sizeof prefix }, { msg, msg_len } };
    return store_file_replace(dir_fd, STORE_META_QUORUM_FILE, iov, 2);
}

static int decode_quorum(int fd, uint64_t *term, uint32_t *voted_for, char *why,
                         size_t why_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_len, "stat failed: %s", strerror(errno));
        return -1;
    }
    uint8_t msg[STORE_META_MESSAGE_MAX_BYTES];
    size_t msg_len;
    if (read_message(fd, (uint64_t)st.st_size, msg, &msg_len, why, why_len) != 0)
        return -1;
    if ((uint64_t)st.st_size != STORE_META_PREFIX_BYTES + msg_len) {
        snprintf(why, why_len, "%jd bytes where %zu were expected", (intmax_t)st.st_size,
                 STORE_META_PREFIX_BYTES + msg_len);
        return -1;
    }
    Cairn__QuorumState *qs = cairn__quorum_state__unpack(NULL, msg_len, msg);
    if (qs == NULL) {
        snprintf(why, why_len, "QuorumState does not decode");
        return -1;
    }
    *term = qs->term;
    *voted_for = qs->voted_for;
    cairn__quorum_state__free_unpacked(qs, NULL);
    return 0;
}

int store_meta_read_quorum(int dir_fd, uint64_t *term, uint32_t *voted_for,
                           char *why, size_t why_len)
{
    int fd = openat(dir_fd, STORE_META_QUORUM_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, why_len, "open failed: %s", strerror(errno));
        return -1;
    }
    int rc = decode_quorum(fd, term, voted_for, why, why_len);
    close(fd);
    return rc == 0 ? 1 : -1;
}

store_file_rc_t store_meta_write_snapshot(int raft_fd, const char *name, uint64_t index,
                                          uint64_t term, const uint8_t *data, size_t len)
{
    Cairn__SnapshotHeader sh = CAIRN__SNAPSHOT_HEADER__INIT;
    sh.index = index;
    sh.term = term;
    sh.image_crc32c = len > 0 ? crc32c(0, data, len) : 0;
    sh.image_length = len;
    uint8_t msg[STORE_META_MESSAGE_MAX_BYTES];
    _Static_assert(STORE_META_MESSAGE_MAX_BYTES >= 4 * 11,
                   "a SnapshotHeader of four full varints fits");
    size_t msg_len = cairn__snapshot_header__pack(&sh, msg);
    uint8_t prefix[STORE_META_PREFIX_BYTES];
    encode_prefix(prefix, msg, msg_len);
    /* iovec has no const variant; the image is only read. */
    struct iovec iov[3] = { { prefix, sizeof prefix }, { msg, msg_len },
                            { (void *)(uintptr_t)data, len } };
    return store_file_replace(raft_fd, name, iov, 3);
}

/* Checks the decoded header against the file name, the image bytes the
 * file holds after it, and the bound. */
static int check_snapshot_header(const Cairn__SnapshotHeader *sh, uint64_t index,
                                  uint64_t term, uint64_t image_bytes, size_t max_bytes,
                                  char *why, size_t why_len)
{
    if (sh->index != index || sh->term != term) {
        snprintf(why, why_len, "header says index %" PRIu64 " term %" PRIu64
                 ", the name %" PRIu64 "-%" PRIu64, sh->index, sh->term, index, term);
        return -1;
    }
    if (sh->image_length != image_bytes) {
        snprintf(why, why_len, "image of %" PRIu64 " bytes where the header says %" PRIu64,
                 image_bytes, sh->image_length);
        return -1;
    }
    if (image_bytes > max_bytes) {
        snprintf(why, why_len, "image of %" PRIu64 " bytes over the %zu bound", image_bytes,
                 max_bytes);
        return -1;
    }
    return 0;
}

static int read_snapshot_fd(int fd, uint64_t index, uint64_t term, size_t max_bytes,
                            uint8_t **data, size_t *len, char *why, size_t why_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_len, "stat failed: %s", strerror(errno));
        return -1;
    }
    uint8_t msg[STORE_META_MESSAGE_MAX_BYTES];
    size_t msg_len;
    if (read_message(fd, (uint64_t)st.st_size, msg, &msg_len, why, why_len) != 0)
        return -1;
    Cairn__SnapshotHeader *sh = cairn__snapshot_header__unpack(NULL, msg_len, msg);
    if (sh == NULL) {
        snprintf(why, why_len, "SnapshotHeader does not decode");
        return -1;
    }
    uint64_t image_off = STORE_META_PREFIX_BYTES + msg_len;
    uint64_t image_bytes = (uint64_t)st.st_size - image_off;
    uint32_t image_crc = sh->image_crc32c;
    int rc = check_snapshot_header(sh, index, term, image_bytes, max_bytes, why, why_len);
    cairn__snapshot_header__free_unpacked(sh, NULL);
    if (rc != 0)
        return -1;
    uint8_t *image = malloc(image_bytes > 0 ? (size_t)image_bytes : 1);
    if (image == NULL) {
        snprintf(why, why_len, "out of memory for %" PRIu64 " bytes", image_bytes);
        return -1;
    }
    if (store_file_pread_all(fd, image, (size_t)image_bytes, image_off) != 0) {
        snprintf(why, why_len, "read failed: %s", strerror(errno));
        free(image);
        return -1;
    }
    if ((image_bytes > 0 ? crc32c(0, image, (size_t)image_bytes) : 0) != image_crc) {
        snprintf(why, why_len, "image CRC32C mismatch");
        free(image);
        return -1;
    }
    *data = image;
    *len = (size_t)image_bytes;
    return 0;
}

int store_meta_read_snapshot(int raft_fd, const char *name, uint64_t index, uint64_t term,
                             size_t max_bytes, uint8_t **data, size_t *len, char *why,
                             size_t why_len)
{
    int fd = openat(raft_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "open failed: %s", strerror(errno));
        return -1;
    }
    int rc = read_snapshot_fd(fd, index, term, max_bytes, data, len, why, why_len);
    close(fd);
    return rc;
}
