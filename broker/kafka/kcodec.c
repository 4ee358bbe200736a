/* Kafka wire primitives: the bounded reader and the evbuffer writer. */
#include "kcodec.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cairn_assert.h"

/* ---- reader -------------------------------------------------------------- */

void kafka_rd_init(kafka_rd_t *rd, const uint8_t *p, size_t len)
{
    rd->p = p;
    rd->len = p ? len : 0;
    rd->off = 0;
    rd->array_max = KAFKA_ARRAY_MAX_DEFAULT;
    rd->failed = false;
    rd->err = NULL;
    rd->err_field = NULL;
    rd->err_off = 0;
    rd->base_off = 0;
}

int kafka_rd_fail(kafka_rd_t *rd, const char *why)
{
    if (!rd->failed) {
        rd->failed = true;
        rd->err = why;
        rd->err_off = rd->base_off + rd->off;
    }
    return -1;
}

int kafka_rd_fail_field(kafka_rd_t *rd, const char *field)
{
    if (!rd->failed)
        kafka_rd_fail(rd, "invalid");
    if (!rd->err_field)
        rd->err_field = field;
    return -1;
}

double kafka_rd_float64(kafka_rd_t *rd)
{
    uint64_t u = kafka_rd_uint64(rd);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

kafka_uuid_t kafka_rd_uuid(kafka_rd_t *rd)
{
    kafka_uuid_t u;
    const uint8_t *q = kafka_rd_take(rd, sizeof u.b);
    if (q)
        memcpy(u.b, q, sizeof u.b);
    else
        memset(u.b, 0, sizeof u.b);
    return u;
}

/* LEB128 of at most max_bytes; the last byte may only carry the bits that
 * still fit (so a 5-byte UNSIGNED_VARINT is at most 0x0f in its top byte). */
static uint64_t rd_leb128(kafka_rd_t *rd, unsigned max_bytes, unsigned bits)
{
    if (rd->failed)
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        if (rd->off >= rd->len) {
            kafka_rd_fail(rd, "truncated varint");
            return 0;
        }
        uint8_t b = rd->p[rd->off];
        unsigned shift = 7 * i;
        if (i == max_bytes - 1 && (b & 0x80 || (uint64_t)(b & 0x7f) >> (bits - shift))) {
            kafka_rd_fail(rd, "varint too long");
            return 0;
        }
        rd->off++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    return v;
}

uint32_t kafka_rd_uvarint(kafka_rd_t *rd)
{
    return (uint32_t)rd_leb128(rd, 5, 32);
}

int32_t kafka_rd_varint(kafka_rd_t *rd)
{
    return kafka_unzigzag32((uint32_t)rd_leb128(rd, 5, 32));
}

int64_t kafka_rd_varlong(kafka_rd_t *rd)
{
    return kafka_unzigzag64(rd_leb128(rd, 10, 64));
}

/* The length of a string/bytes field: -1 = null, else >= 0; compact
 * lengths are N+1 with 0 = null. wide: BYTES (int32) rather than STRING
 * (int16) limits. Returns -2 after failing rd. */
static int64_t rd_length(kafka_rd_t *rd, bool compact, bool nullable, bool wide)
{
    int64_t n;
    if (compact)
        n = (int64_t)kafka_rd_uvarint(rd) - 1;
    else
        n = wide ? kafka_rd_int32(rd) : kafka_rd_int16(rd);
    if (rd->failed)
        return -2;
    if (n > (wide ? INT32_MAX : INT16_MAX)) {
        kafka_rd_fail(rd, "length exceeds the type's maximum");
        return -2;
    }
    if (n == -1 && !nullable) {
        kafka_rd_fail(rd, "null in a non-nullable field");
        return -2;
    }
    if (n < -1) {
        kafka_rd_fail(rd, "negative length");
        return -2;
    }
    if (n > (int64_t)kafka_rd_remaining(rd)) {
        kafka_rd_fail(rd, "length exceeds remaining bytes");
        return -2;
    }
    return n;
}

const char *kafka_rd_string_view(kafka_rd_t *rd, bool compact, bool nullable, int16_t *len)
{
    int64_t n = rd_length(rd, compact, nullable, false);
    *len = -1;
    if (n < 0)
        return NULL;
    const char *s = (const char *)rd->p + rd->off;
    if (memchr(s, '\0', (size_t)n)) {
        kafka_rd_fail(rd, "NUL byte in string");
        return NULL;
    }
    rd->off += (size_t)n;
    *len = (int16_t)n;
    return s;
}

char *kafka_rd_string(kafka_rd_t *rd, kafka_arena_t *a, bool compact, bool nullable)
{
    int16_t n;
    const char *s = kafka_rd_string_view(rd, compact, nullable, &n);
    if (!s)
        return NULL;
    char *d = kafka_arena_strndup(a, s, (size_t)n);
    if (!d)
        kafka_rd_fail(rd, "arena cap");
    return d;
}

kafka_bytes_t kafka_rd_bytes(kafka_rd_t *rd, bool compact, bool nullable)
{
    kafka_bytes_t b = {NULL, -1};
    int64_t n = rd_length(rd, compact, nullable, true);
    if (n < 0)
        return b;
    /* The frame is writable (see kafka_rd_init); the reader only reads. */
    b.data = (uint8_t *)(uintptr_t)(rd->p + rd->off);
    b.len = (int32_t)n;
    rd->off += (size_t)n;
    return b;
}

kafka_records_t kafka_rd_records(kafka_rd_t *rd, kafka_arena_t *a, bool compact, bool nullable)
{
    kafka_records_t r = {-1, NULL, 0};
    kafka_bytes_t b = kafka_rd_bytes(rd, compact, nullable);
    if (rd->failed || b.len < 0)
        return r;
    r.len = b.len;
    if (b.len == 0)
        return r;
    r.slices = kafka_arena_alloc(a, sizeof *r.slices);
    if (!r.slices) {
        kafka_rd_fail(rd, "arena cap");
        r.len = -1;
        return r;
    }
    r.slices[0] = (kafka_records_slice_t){.mem = b.data, .fd = -1, .pos = 0,
                                          .len = (uint32_t)b.len};
    r.n_slices = 1;
    return r;
}

int32_t kafka_rd_array_len(kafka_rd_t *rd, bool compact, bool nullable, size_t elem_min_bytes)
{
    int64_t n = compact ? (int64_t)kafka_rd_uvarint(rd) - 1 : kafka_rd_int32(rd);
    if (rd->failed)
        return 0;
    if (n == -1) {
        if (nullable)
            return -1;
        kafka_rd_fail(rd, "null in a non-nullable array");
        return 0;
    }
    if (n < -1) {
        kafka_rd_fail(rd, "negative array count");
        return 0;
    }
    if (n > (int64_t)rd->array_max) {
        kafka_rd_fail(rd, "array count exceeds maximum");
        return 0;
    }
    if (elem_min_bytes < 1)
        elem_min_bytes = 1;
    if ((uint64_t)n > kafka_rd_remaining(rd) / elem_min_bytes) {
        kafka_rd_fail(rd, "array count exceeds remaining bytes");
        return 0;
    }
    return (int32_t)n;
}

void kafka_rd_tags_begin(kafka_rd_t *rd, kafka_rd_tags_t *t)
{
    t->left = kafka_rd_uvarint(rd);
    t->last_tag = -1;
    t->tag = 0;
    /* Each field takes at least two bytes (tag, size). */
    if (!rd->failed && t->left > kafka_rd_remaining(rd) / 2) {
        kafka_rd_fail(rd, "tagged field count exceeds remaining bytes");
        t->left = 0;
    }
}

bool kafka_rd_tags_next(kafka_rd_t *rd, kafka_rd_tags_t *t)
{
    while (t->left > 0 && !rd->failed) {
        t->left--;
        uint32_t tag = kafka_rd_uvarint(rd);
        uint32_t size = kafka_rd_uvarint(rd);
        if (rd->failed)
            return false;
        if ((int64_t)tag <= t->last_tag) {
            kafka_rd_fail(rd, "tagged fields not in ascending order");
            return false;
        }
        t->last_tag = tag;
        const uint8_t *q = kafka_rd_take(rd, size);
        if (!q)
            return false;
        t->tag = tag;
        kafka_rd_init(&t->sub, q, size);
        t->sub.array_max = rd->array_max;
        t->sub.base_off = rd->base_off + (size_t)(q - rd->p);
        return true;
    }
    return false;
}

void kafka_rd_tags_end_field(kafka_rd_t *rd, kafka_rd_tags_t *t)
{
    kafka_rd_t *sub = &t->sub;
    if (sub->failed) {
        if (!rd->failed) {
            rd->failed = true;
            rd->err = sub->err;
            rd->err_field = sub->err_field;
            rd->err_off = sub->err_off;
        }
    } else if (sub->off != sub->len) {
        sub->off = sub->len;
        kafka_rd_fail(rd, "tagged field longer than its value");
    }
}

void kafka_rd_tags_skip(kafka_rd_t *rd)
{
    kafka_rd_tags_t t;
    kafka_rd_tags_begin(rd, &t);
    while (kafka_rd_tags_next(rd, &t)) {
        /* unknown tag: its bytes are already skipped */
    }
}

int kafka_rd_expect_end(kafka_rd_t *rd)
{
    if (rd->failed)
        return -1;
    if (rd->off != rd->len)
        return kafka_rd_fail(rd, "trailing bytes");
    return 0;
}

const char *kafka_rd_describe(const kafka_rd_t *rd, char *buf, size_t buf_len)
{
    if (!buf_len)
        return buf;
    if (!rd->failed)
        snprintf(buf, buf_len, "ok");
    else if (rd->err_field)
        snprintf(buf, buf_len, "%s at byte %zu in %s", rd->err, rd->err_off, rd->err_field);
    else
        snprintf(buf, buf_len, "%s at byte %zu", rd->err, rd->err_off);
    return buf;
}

/* ---- writer -------------------------------------------------------------- */

static void wr_fail(kafka_wr_t *wr, const char *why)
{
    if (!wr->failed) {
        wr->failed = true;
        wr->err = why;
    }
}

void kafka_wr_init(kafka_wr_t *wr, struct evbuffer *buf)
{
    CAIRN_ASSERT(buf != NULL);
    wr->buf = buf;
    wr->cur = wr->end = NULL;
    wr->reserved = false;
    wr->failed = false;
    wr->err = NULL;
}

void kafka_wr_flush(kafka_wr_t *wr)
{
    if (!wr->reserved)
        return;
    /* An uncommitted reservation leaves the buffer as it was. */
    wr->vec.iov_len = (size_t)(wr->cur - (uint8_t *)wr->vec.iov_base);
    if (wr->vec.iov_len && evbuffer_commit_space(wr->buf, &wr->vec, 1) != 0)
        wr_fail(wr, "evbuffer_commit_space failed");
    wr->reserved = false;
    wr->cur = wr->end = NULL;
}

int kafka_wr_finish(kafka_wr_t *wr)
{
    kafka_wr_flush(wr);
    return wr->failed ? -1 : 0;
}

size_t kafka_wr_length(const kafka_wr_t *wr)
{
    size_t n = evbuffer_get_length(wr->buf);
    if (wr->reserved)
        n += (size_t)(wr->cur - (uint8_t *)wr->vec.iov_base);
    return n;
}

uint8_t *kafka_wr_space_slow(kafka_wr_t *wr, size_t n)
{
    CAIRN_ASSERT(n <= sizeof wr->scratch);
    kafka_wr_flush(wr);
    if (!wr->failed &&
        evbuffer_reserve_space(wr->buf, (ev_ssize_t)KAFKA_WR_RESERVE, &wr->vec, 1) == 1 &&
        wr->vec.iov_len >= n) {
        wr->reserved = true;
        wr->cur = wr->vec.iov_base;
        wr->end = wr->cur + wr->vec.iov_len;
        uint8_t *q = wr->cur;
        wr->cur += n;
        return q;
    }
    wr_fail(wr, "out of memory");
    return wr->scratch;
}

void kafka_wr_raw(kafka_wr_t *wr, const void *p, size_t n)
{
    if (n == 0 || wr->failed)
        return;
    if ((size_t)(wr->end - wr->cur) >= n) {
        memcpy(wr->cur, p, n);
        wr->cur += n;
        return;
    }
    if (n >= KAFKA_WR_RESERVE) {
        kafka_wr_flush(wr);
        if (evbuffer_add(wr->buf, p, n) != 0)
            wr_fail(wr, "out of memory");
        return;
    }
    /* Fill what is left, then continue in a fresh reservation. */
    const uint8_t *src = p;
    size_t room = (size_t)(wr->end - wr->cur);
    if (room) {
        memcpy(wr->cur, src, room);
        wr->cur += room;
        src += room;
        n -= room;
    }
    uint8_t *q = kafka_wr_space_slow(wr, 1);
    if (wr->failed)
        return;
    wr->cur = q;
    if ((size_t)(wr->end - wr->cur) < n) {
        /* The reservation came back smaller than asked; no reason to
         * expect that, but evbuffer_add handles it. */
        kafka_wr_flush(wr);
        if (evbuffer_add(wr->buf, src, n) != 0)
            wr_fail(wr, "out of memory");
        return;
    }
    memcpy(wr->cur, src, n);
    wr->cur += n;
}

void kafka_wr_float64(kafka_wr_t *wr, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    kafka_wr_uint64(wr, u);
}

void kafka_wr_uuid(kafka_wr_t *wr, const kafka_uuid_t *v)
{
    memcpy(kafka_wr_space(wr, sizeof v->b), v->b, sizeof v->b);
}

static void wr_leb128(kafka_wr_t *wr, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    memcpy(kafka_wr_space(wr, n), tmp, n);
}

void kafka_wr_uvarint(kafka_wr_t *wr, uint32_t v)
{
    wr_leb128(wr, v);
}

void kafka_wr_varint(kafka_wr_t *wr, int32_t v)
{
    wr_leb128(wr, kafka_zigzag32(v));
}

void kafka_wr_varlong(kafka_wr_t *wr, int64_t v)
{
    wr_leb128(wr, kafka_zigzag64(v));
}

size_t kafka_uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A string/bytes length: -1 = null. */
static void wr_length(kafka_wr_t *wr, int64_t n, bool compact, bool wide)
{
    if (compact)
        kafka_wr_uvarint(wr, (uint32_t)(n + 1));
    else if (wide)
        kafka_wr_int32(wr, (int32_t)n);
    else
        kafka_wr_int16(wr, (int16_t)n);
}

void kafka_wr_string(kafka_wr_t *wr, const char *s, bool compact, bool nullable)
{
    if (!s) {
        wr_length(wr, nullable ? -1 : 0, compact, false);
        return;
    }
    size_t n = strlen(s);
    if (n > INT16_MAX) {
        wr_fail(wr, "string longer than 32767 bytes");
        return;
    }
    wr_length(wr, (int64_t)n, compact, false);
    kafka_wr_raw(wr, s, n);
}

void kafka_wr_bytes(kafka_wr_t *wr, const kafka_bytes_t *b, bool compact, bool nullable)
{
    if (b->len < 0) {
        wr_length(wr, nullable ? -1 : 0, compact, true);
        return;
    }
    wr_length(wr, b->len, compact, true);
    kafka_wr_raw(wr, b->data, (size_t)b->len);
}

void kafka_wr_records(kafka_wr_t *wr, const kafka_records_t *r, bool compact, bool nullable)
{
    if (r->len < 0) {
        wr_length(wr, nullable ? -1 : 0, compact, true);
        return;
    }
    uint64_t total = 0;
    for (int32_t i = 0; i < r->n_slices; i++)
        total += r->slices[i].len;
    CAIRN_ASSERT(total == (uint64_t)r->len);
    wr_length(wr, r->len, compact, true);
    for (int32_t i = 0; i < r->n_slices; i++) {
        const kafka_records_slice_t *s = &r->slices[i];
        if (s->fd < 0) {
            kafka_wr_raw(wr, s->mem, s->len);
            continue;
        }
        /* The file region must follow the bytes written before it. */
        kafka_wr_flush(wr);
        if (wr->failed || s->pos > INT64_MAX ||
            evbuffer_add_file(wr->buf, s->fd, (ev_off_t)s->pos, (ev_off_t)s->len) != 0) {
            /* libevent closes the fd only once it holds it; here it does not. */
            close(s->fd);
            wr_fail(wr, "evbuffer_add_file failed");
        }
    }
}

int32_t kafka_wr_array_len(kafka_wr_t *wr, int32_t count, bool compact, bool nullable)
{
    if (count < 0 && !nullable)
        count = 0;
    if (compact)
        kafka_wr_uvarint(wr, (uint32_t)((int64_t)count + 1));
    else
        kafka_wr_int32(wr, count);
    return count < 0 ? 0 : count;
}

void kafka_wr_tag_begin(kafka_wr_t *wr, kafka_wr_t *sub)
{
    struct evbuffer *tmp = wr->failed ? NULL : evbuffer_new();
    if (!tmp) {
        wr_fail(wr, "out of memory");
        /* sub writes into wr's scratch until tag_end: it starts failed. */
        sub->buf = NULL;
        sub->cur = sub->end = NULL;
        sub->reserved = false;
        sub->failed = true;
        sub->err = "out of memory";
        return;
    }
    kafka_wr_init(sub, tmp);
}

void kafka_wr_tag_end(kafka_wr_t *wr, kafka_wr_t *sub, uint32_t tag)
{
    if (!sub->buf)
        return;
    int rc = kafka_wr_finish(sub);
    size_t n = evbuffer_get_length(sub->buf);
    if (rc != 0 || n > UINT32_MAX) {
        wr_fail(wr, sub->err ? sub->err : "tagged field too large");
    } else {
        kafka_wr_uvarint(wr, tag);
        kafka_wr_uvarint(wr, (uint32_t)n);
        kafka_wr_flush(wr);
        if (!wr->failed && evbuffer_add_buffer(wr->buf, sub->buf) != 0)
            wr_fail(wr, "out of memory");
    }
    evbuffer_free(sub->buf);
    sub->buf = NULL;
}
