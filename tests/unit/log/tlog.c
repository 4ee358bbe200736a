/* Helpers shared by the log tests (tlog.h). */
#include "tlog.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

const uint8_t tlog_topic_id[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                   0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21};

static char scratch_root[64];

/* ---- batches ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf_t;

static void put(wbuf_t *b, const void *src, size_t n)
{
    if (b->len + n > b->cap)
        abort();
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_be(wbuf_t *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(b, tmp, (size_t)bytes);
}

static void put_varint(wbuf_t *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        uint8_t c = (uint8_t)(z & 0x7f);
        z >>= 7;
        if (z)
            c |= 0x80;
        put(b, &c, 1);
    } while (z);
}

static void put_record(wbuf_t *b, int i, size_t value_len)
{
    char key[16];
    int klen = snprintf(key, sizeof key, "k%d", i);
    uint8_t body[4096];
    wbuf_t r = {body, 0, sizeof body};
    uint8_t attrs = 0;
    put(&r, &attrs, 1);
    put_varint(&r, i);                      /* timestampDelta */
    put_varint(&r, i);                      /* offsetDelta */
    put_varint(&r, klen);
    put(&r, key, (size_t)klen);
    put_varint(&r, (int64_t)value_len);
    for (size_t k = 0; k < value_len; k++) {
        uint8_t c = (uint8_t)('a' + (i + k) % 26);
        put(&r, &c, 1);
    }
    put_varint(&r, 1);                      /* one header */
    put_varint(&r, 1);
    put(&r, "h", 1);
    put_varint(&r, 1);
    put(&r, "v", 1);
    put_varint(b, (int64_t)r.len);
    put(b, body, r.len);
}

void tlog_fix_crc(uint8_t *p, size_t total)
{
    uint32_t crc = crc32c(0, p + BATCH_CRC_START, total - BATCH_CRC_START);
    for (int i = 0; i < 4; i++)
        p[17 + i] = (uint8_t)(crc >> (24 - 8 * i));
}

size_t tlog_batch(uint8_t *out, size_t cap, int n, int64_t base_ts, size_t value_len)
{
    wbuf_t b = {out, 0, cap};
    put_be(&b, 0, 8);                       /* baseOffset: the log assigns it */
    put_be(&b, 0, 4);                       /* batchLength, below */
    put_be(&b, (uint64_t)-1, 4);            /* partitionLeaderEpoch */
    uint8_t magic = BATCH_MAGIC;
    put(&b, &magic, 1);
    put_be(&b, 0, 4);                       /* crc, below */
    put_be(&b, 0, 2);                       /* attributes */
    put_be(&b, (uint64_t)(n - 1), 4);
    put_be(&b, (uint64_t)base_ts, 8);
    put_be(&b, (uint64_t)(base_ts + n - 1), 8);
    put_be(&b, (uint64_t)-1, 8);            /* producerId */
    put_be(&b, 0xffff, 2);
    put_be(&b, (uint64_t)-1, 4);
    put_be(&b, (uint64_t)n, 4);
    for (int i = 0; i < n; i++)
        put_record(&b, i, value_len);
    uint32_t len = (uint32_t)(b.len - BATCH_LOG_OVERHEAD);
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(len >> (24 - 8 * i));
    tlog_fix_crc(out, b.len);
    return b.len;
}

size_t tlog_replica_batch(uint8_t *out, size_t cap, int64_t base_offset, int n,
                          int32_t epoch)
{
    size_t len = tlog_batch(out, cap, n, 1000 + base_offset, 16);
    batch_set_base_offset(out, base_offset);
    batch_set_leader_epoch(out, epoch);
    return len;
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tlog_rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tlog_scratch_setup(void)
{
    snprintf(scratch_root, sizeof scratch_root, "/tmp/cairn-log-test-XXXXXX");
    if (mkdtemp(scratch_root) == NULL)
        abort();
}

void tlog_scratch_teardown(void)
{
    tlog_rm_rf(scratch_root);
}

void tlog_new_dir(char *out, size_t len)
{
    snprintf(out, len, "%s/t-XXXXXX", scratch_root);
    ck_assert_ptr_nonnull(mkdtemp(out));
}

void tlog_copy_dir(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ck_assert_int_eq(system(cmd), 0);
}

int64_t tlog_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

int64_t tlog_read_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    return (int64_t)n;
}

void tlog_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

void tlog_checkpoint_path(const tlog_env_t *env, char *out, size_t len)
{
    snprintf(out, len, "%s/leader-epoch-checkpoint", env->part);
}

void tlog_seg_path(const tlog_env_t *env, char *out, size_t len, int64_t base,
                   const char *ext)
{
    snprintf(out, len, "%s/%020" PRId64 "%s", env->part, base, ext);
}

/* ---- loop and logs ---- */

void tlog_env_init(tlog_env_t *env)
{
    env->base = event_base_new();
    ck_assert_ptr_nonnull(env->base);
    env->io = log_io_new(env->base);
    ck_assert_ptr_nonnull(env->io);
    tlog_new_dir(env->dir, sizeof env->dir);
    snprintf(env->part, sizeof env->part, "%s/%s-%u", env->dir, TLOG_TOPIC, TLOG_PARTITION);
}

void tlog_env_free(tlog_env_t *env)
{
    log_io_free(env->io);
    event_base_free(env->base);
}

void tlog_pump(tlog_env_t *env)
{
    for (int i = 0; i < 100000; i++) {
        if (log_io_pending(env->io) == 0) {
            event_base_loop(env->base, EVLOOP_NONBLOCK);
            if (log_io_pending(env->io) == 0)
                return;
        }
        event_base_loop(env->base, EVLOOP_ONCE);
    }
    ck_abort_msg("io thread never went idle");
}

void tlog_small_config(plog_config_t *c)
{
    plog_config_defaults(c);
    c->segment_bytes = 4096;
    c->index_interval_bytes = 0;
    c->retention_ms = -1;
}

plog_t *tlog_open(tlog_env_t *env, const plog_config_t *cfg, bool clean)
{
    char err[256] = "";
    plog_t *l = plog_open(env->dir, TLOG_TOPIC, TLOG_PARTITION, tlog_topic_id, cfg, clean,
                          env->io, err, sizeof err);
    ck_assert_msg(l != NULL, "plog_open: %s", err);
    return l;
}

int64_t tlog_append(plog_t *l, int n, int64_t base_ts, size_t value_len)
{
    uint8_t buf[65536];
    size_t len = tlog_batch(buf, sizeof buf, n, base_ts, value_len);
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(l, buf, len, 7, &info), 0);
    ck_assert_int_eq(info.last_offset - info.base_offset, n - 1);
    return info.base_offset;
}

int tlog_check_slice(const plog_slice_t *s)
{
    uint8_t *buf = malloc(s->length ? s->length : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(s->fd, buf, s->length, (off_t)s->file_pos), (ssize_t)s->length);
    int n = 0;
    int64_t next = s->first_offset;
    for (size_t pos = 0; pos < s->length; n++) {
        batch_header_t h;
        size_t total;
        ck_assert_int_eq(batch_validate(buf + pos, s->length - pos, s->length - pos, &h,
                                        &total), BATCH_OK);
        ck_assert_int_eq(h.base_offset, next);
        ck_assert_int_eq(h.partition_leader_epoch, 7);
        next = batch_last_offset(&h) + 1;
        pos += total;
    }
    ck_assert_int_eq(next, s->length ? s->next_offset : s->first_offset);
    free(buf);
    return n;
}

int tlog_run_suite(Suite *s, cairn_log_level_t level)
{
    cairn_log_init("test", 0, level);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
