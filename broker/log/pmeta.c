/* Small files of a partition directory (pmeta.h): partition.metadata, the
 * recovery point, base64url topic ids and atomic replace. */
#include "pmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void pmeta_topic_id_format(const uint8_t id[16], char out[PMETA_TOPIC_ID_CHARS + 1])
{
    int o = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)id[i + 1] << 8;
        if (i + 2 < 16)
            v |= id[i + 2];
        int chars = i + 2 < 16 ? 4 : 2;          /* the last group has one byte */
        for (int c = 0; c < chars; c++)
            out[o++] = b64url[(v >> (18 - 6 * c)) & 0x3f];
    }
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

int pmeta_topic_id_parse(const char *s, size_t len, uint8_t id[16])
{
    if (len != PMETA_TOPIC_ID_CHARS)
        return -1;
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            id[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n == 16 && acc == 0 ? 0 : -1;      /* the 4 spare bits must be zero */
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int pmeta_write_tmp(int dir_fd, const char *name, const char *data, size_t len)
{
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, "%s%s", name, PMETA_TMP_SUFFIX);
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, len) != 0) {
        int e = errno;
        close(fd);
        unlinkat(dir_fd, tmp, 0);
        errno = e;
        return -1;
    }
    return fd;
}

int pmeta_write_atomic(int dir_fd, const char *name, const char *data, size_t len)
{
    struct iovec iov = { (void *)data, len };
    return store_file_replace(dir_fd, name, &iov, 1) == STORE_FILE_OK ? 0 : -1;
}

/* Reads a small text file; 1 when absent. */
static int read_small(int dir_fd, const char *name, char *buf, size_t cap)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (n += (size_t)r) == cap - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    return 0;
}

/* Finds "key: value\n" in text; returns the value and its length. */
static const char *field(const char *text, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (const char *line = text; *line; ) {
        const char *nl = strchr(line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen(line);
        if (llen > klen + 2 && memcmp(line, key, klen) == 0 && line[klen] == ':' &&
            line[klen + 1] == ' ') {
            *len = llen - klen - 2;
            return line + klen + 2;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return NULL;
}

static bool version_zero(const char *text)
{
    size_t len;
    const char *v = field(text, "version", &len);
    return v && len == 1 && v[0] == '0';
}

int pmeta_read_topic_id(int dir_fd, uint8_t id[16])
{
    char buf[256];
    int rc = read_small(dir_fd, PMETA_PARTITION_FILE, buf, sizeof buf);
    if (rc != 0)
        return rc;
    size_t len;
    const char *v = field(buf, "topic_id", &len);
    if (!version_zero(buf) || !v || pmeta_topic_id_parse(v, len, id) != 0)
        return -1;
    return 0;
}

int pmeta_write_topic_id(int dir_fd, const uint8_t id[16])
{
    char text[64], b64[PMETA_TOPIC_ID_CHARS + 1];
    pmeta_topic_id_format(id, b64);
    int n = snprintf(text, sizeof text, "version: 0\ntopic_id: %s\n", b64);
    return pmeta_write_atomic(dir_fd, PMETA_PARTITION_FILE, text, (size_t)n);
}

size_t pmeta_recovery_point_text(char *buf, size_t len, int64_t rp)
{
    int n = snprintf(buf, len, "version: 0\nrecovery_point: %" PRId64 "\n", rp);
    return n < 0 ? 0 : (size_t)n;
}

int pmeta_read_recovery_point(int dir_fd, int64_t *rp)
{
    char buf[128], num[24];
    int rc = read_small(dir_fd, PMETA_RECOVERY_POINT_FILE, buf, sizeof buf);
    if (rc != 0)
        return rc;
    size_t len;
    const char *v = field(buf, "recovery_point", &len);
    if (!version_zero(buf) || !v || len == 0 || len >= sizeof num)
        return -1;
    memcpy(num, v, len);
    num[len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(num, &end, 10);
    if (errno != 0 || *end != '\0' || x < 0)
        return -1;
    *rp = x;
    return 0;
}
