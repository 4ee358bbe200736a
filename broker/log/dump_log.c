/* cairn-dump-log: prints the batches of .log segments (optionally their
 * records) and the entries of .index / .timeindex files, like Kafka's
 * kafka-dump-log. Exits 1 when a batch is corrupt. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "offset_index.h"
#include "time_index.h"

typedef struct mapped {
    const uint8_t *p;
    size_t len;
} mapped_t;

static int map_file(const char *path, mapped_t *m)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "cairn-dump-log: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    m->len = (size_t)st.st_size;
    m->p = NULL;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "cairn-dump-log: %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        m->p = p;
    }
    close(fd);
    return 0;
}

static void unmap_file(mapped_t *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
}

/* The base offset in a segment file name, 0 when it does not parse. */
static int64_t base_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    return strtoll(basename(copy), NULL, 10);
}

static void print_bytes(const char *label, const uint8_t *p, int32_t len)
{
    printf(" %s: ", label);
    if (!p) {
        printf("null");
        return;
    }
    bool text = true;
    for (int32_t i = 0; i < len && text; i++)
        text = p[i] >= 0x20 && p[i] < 0x7f;
    if (text) {
        printf("%.*s", (int)len, (const char *)p);
        return;
    }
    printf("0x");
    for (int32_t i = 0; i < len; i++)
        printf("%02x", p[i]);
}

static int print_records(const uint8_t *batch, size_t total)
{
    batch_iter_t it;
    batch_record_t r;
    int rc;
    batch_iter_init(&it, batch, total);
    while ((rc = batch_iter_next(&it, &r)) == 1) {
        printf("| offset: %" PRId64 " timestamp: %" PRId64, r.offset, r.timestamp);
        print_bytes("key", r.key, r.key_len);
        print_bytes("value", r.value, r.value_len);
        printf(" headers: %" PRId32 "\n", r.header_count);
    }
    return rc;
}

static void print_batch(const batch_header_t *h, size_t pos, size_t total, batch_err_t e)
{
    printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %" PRId32
           " partitionLeaderEpoch: %" PRId32 " position: %zu size: %zu crc: %08" PRIx32
           " %s codec: %s %s baseTimestamp: %" PRId64 " maxTimestamp: %" PRId64
           " producerId: %" PRId64 "%s%s\n",
           h->base_offset, batch_last_offset(h), h->record_count,
           h->partition_leader_epoch, pos, total, h->crc, e == BATCH_BAD_CRC ? "BAD" : "ok",
           batch_codec_name(h->attributes),
           (h->attributes & BATCH_ATTR_LOG_APPEND_TIME) ? "LogAppendTime" : "CreateTime",
           h->base_timestamp, h->max_timestamp, h->producer_id,
           (h->attributes & BATCH_ATTR_CONTROL) ? " control" : "",
           (h->attributes & BATCH_ATTR_TRANSACTIONAL) ? " transactional" : "");
}

/* Returns 0 when every batch is valid. */
static int dump_log(const char *path, const mapped_t *m, bool records)
{
    size_t pos = 0;
    int bad = 0;
    while (pos < m->len) {
        const uint8_t *p = m->p + pos;
        size_t avail = m->len - pos, total = batch_total_bytes(p, avail);
        if (total < BATCH_HEADER_BYTES || total > avail || p[16] != BATCH_MAGIC) {
            printf("corrupt: %s at position %zu: %s (%zu trailing bytes)\n", path, pos,
                   total > avail ? "truncated batch" : "not a batch", avail);
            return 1;
        }
        batch_header_t h;
        size_t got;
        batch_err_t e = batch_validate(p, avail, avail, &h, &got);
        batch_header_decode(p, total, &h);
        print_batch(&h, pos, total, e);
        if (e != BATCH_OK) {
            printf("corrupt: %s batch at position %zu: %s\n", path, pos, batch_err_name(e));
            bad = 1;
        } else if (records && (h.attributes & BATCH_ATTR_CODEC_MASK) == BATCH_CODEC_NONE &&
                   print_records(p, total) != 0) {
            bad = 1;
        }
        pos += total;
    }
    return bad;
}

static int dump_index(const char *path, const mapped_t *m, bool time)
{
    int64_t base = base_of(path);
    size_t eb = time ? TIME_INDEX_ENTRY_BYTES : OFFSET_INDEX_ENTRY_BYTES;
    for (size_t i = 0; i < m->len / eb; i++) {
        if (time) {
            time_index_entry_t e;
            time_index_get(m->p, i, &e);
            printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", e.timestamp,
                   base + e.rel_offset);
        } else {
            offset_index_entry_t e;
            offset_index_get(m->p, i, &e);
            printf("offset: %" PRId64 " position: %" PRIu32 "\n", base + e.rel_offset,
                   e.position);
        }
    }
    if (m->len % eb != 0) {
        printf("corrupt: %s has %zu trailing bytes\n", path, m->len % eb);
        return 1;
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int dump_file(const char *path, bool records)
{
    bool is_log = ends_with(path, ".log"), is_index = ends_with(path, ".index");
    bool is_time = ends_with(path, ".timeindex");
    if (!is_log && !is_index && !is_time) {
        fprintf(stderr, "cairn-dump-log: %s: not a .log, .index or .timeindex file\n", path);
        return 1;
    }
    mapped_t m;
    if (map_file(path, &m) != 0)
        return 1;
    printf("Dumping %s\n", path);
    int rc = is_log ? dump_log(path, &m, records) : dump_index(path, &m, is_time);
    unmap_file(&m);
    return rc;
}

int main(int argc, char **argv)
{
    bool records = false;
    int first = 1, status = 0;
    if (argc > 1 && strcmp(argv[1], "--records") == 0) {
        records = true;
        first = 2;
    }
    if (first >= argc || strcmp(argv[first], "--help") == 0) {
        fprintf(stderr, "usage: cairn-dump-log [--records] FILE...\n"
                        "  FILE: a segment's .log, .index or .timeindex\n");
        return first >= argc ? 2 : 0;
    }
    for (int i = first; i < argc; i++) {
        if (dump_file(argv[i], records) != 0)
            status = 1;
    }
    return status;
}
