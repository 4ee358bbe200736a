/* Kafka wire primitives (README §2): a bounded reader over one frame whose
 * failures are sticky and say what failed at which byte, and a writer that
 * appends to an evbuffer through reserved space rather than a call per
 * field. The generated message codecs (kafka_messages.h) are built on
 * these. Pure: no I/O, no globals; used on the broker's loop thread. */
#ifndef CAIRN_KAFKA_KCODEC_H
#define CAIRN_KAFKA_KCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "arena.h"

typedef struct kafka_uuid {
    uint8_t b[16];                 /* most significant byte first; all zero = no id */
} kafka_uuid_t;

/* BYTES / RECORDS as decoded: a view into the frame, never copied. data is
 * non-const because Produce rewrites batch headers (baseOffset,
 * partitionLeaderEpoch) in place; the frame must then be writable, as the
 * listener's frames are. len -1 = null (data NULL). */
typedef struct kafka_bytes {
    uint8_t *data;
    int32_t len;
} kafka_bytes_t;

/* A response RECORDS field: len bytes made of slices, each memory (copied
 * into the output) or a file region (fd >= 0: handed to
 * evbuffer_add_file, which takes ownership of fd, so pass a dup).
 * len -1 = null; otherwise len must equal the sum of the slice lengths. */
typedef struct kafka_records_slice {
    const uint8_t *mem;
    int fd;
    uint64_t pos;
    uint32_t len;
} kafka_records_slice_t;

typedef struct kafka_records {
    int32_t len;
    kafka_records_slice_t *slices;
    int32_t n_slices;
} kafka_records_t;

/* ---- reader -------------------------------------------------------------- */

/* Default bound on any one array count (on top of the remaining-bytes
 * check): no request Cairn serves needs a million entries in one array. */
#define KAFKA_ARRAY_MAX_DEFAULT (1u << 20)

/* A bounded reader. After the first failure every read returns 0 / NULL /
 * an empty value without moving, failed stays set and err, err_field and
 * err_off describe the first failure only. Callers test rd->failed. */
typedef struct kafka_rd {
    const uint8_t *p;              /* borrowed: the bytes being read */
    size_t len;
    size_t off;                    /* next byte to read */
    uint32_t array_max;            /* largest array count accepted */
    bool failed;
    const char *err;               /* static: what went wrong */
    const char *err_field;         /* static: Struct.Field, set by generated decoders */
    size_t err_off;                /* offset from p where it went wrong */
    size_t base_off;               /* p's offset in the outermost reader (sub-readers) */
} kafka_rd_t;

/* Reads len bytes at p (borrowed; must stay valid, and writable if BYTES
 * views are written through, while decoded values are in use). */
void kafka_rd_init(kafka_rd_t *rd, const uint8_t *p, size_t len);

/* Marks rd failed (first failure wins) and returns -1, so a decoder can
 * `return kafka_rd_fail(rd, "why")`. why is a static string. */
int kafka_rd_fail(kafka_rd_t *rd, const char *why);
/* Names the field being read when rd failed, if none is named yet; -1. */
int kafka_rd_fail_field(kafka_rd_t *rd, const char *field);

static inline size_t kafka_rd_remaining(const kafka_rd_t *rd)
{
    return rd->len - rd->off;
}

/* The next n bytes, or NULL (failed, "truncated") if fewer remain. */
static inline const uint8_t *kafka_rd_take(kafka_rd_t *rd, size_t n)
{
    if (rd->failed)
        return NULL;
    if (rd->len - rd->off < n) {
        kafka_rd_fail(rd, "truncated");
        return NULL;
    }
    const uint8_t *q = rd->p + rd->off;
    rd->off += n;
    return q;
}

static inline uint8_t kafka_rd_uint8(kafka_rd_t *rd)
{
    const uint8_t *q = kafka_rd_take(rd, 1);
    return q ? q[0] : 0;
}

static inline int8_t kafka_rd_int8(kafka_rd_t *rd)
{
    return (int8_t)kafka_rd_uint8(rd);
}

/* BOOLEAN: any non-zero byte is true. */
static inline bool kafka_rd_bool(kafka_rd_t *rd)
{
    return kafka_rd_uint8(rd) != 0;
}

static inline uint16_t kafka_rd_uint16(kafka_rd_t *rd)
{
    const uint8_t *q = kafka_rd_take(rd, 2);
    return q ? (uint16_t)((unsigned)q[0] << 8 | q[1]) : 0;
}

static inline int16_t kafka_rd_int16(kafka_rd_t *rd)
{
    return (int16_t)kafka_rd_uint16(rd);
}

static inline uint32_t kafka_rd_uint32(kafka_rd_t *rd)
{
    const uint8_t *q = kafka_rd_take(rd, 4);
    return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

static inline int32_t kafka_rd_int32(kafka_rd_t *rd)
{
    return (int32_t)kafka_rd_uint32(rd);
}

static inline uint64_t kafka_rd_uint64(kafka_rd_t *rd)
{
    const uint8_t *q = kafka_rd_take(rd, 8);
    if (!q)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | q[i];
    return v;
}

static inline int64_t kafka_rd_int64(kafka_rd_t *rd)
{
    return (int64_t)kafka_rd_uint64(rd);
}

double kafka_rd_float64(kafka_rd_t *rd);
kafka_uuid_t kafka_rd_uuid(kafka_rd_t *rd);

/* UNSIGNED_VARINT (at most 5 bytes, value fits 32 bits). */
uint32_t kafka_rd_uvarint(kafka_rd_t *rd);
/* VARINT / VARLONG: zig-zag, at most 5 / 10 bytes. */
int32_t kafka_rd_varint(kafka_rd_t *rd);
int64_t kafka_rd_varlong(kafka_rd_t *rd);

/* STRING / NULLABLE_STRING (compact = false) or COMPACT_(NULLABLE_)STRING.
 * Returns a NUL-terminated copy in a, NULL for null (only when nullable)
 * or on failure. A length < -1, -1 when not nullable, or a NUL byte in
 * the string is malformed; an arena refusal fails with "arena cap". */
char *kafka_rd_string(kafka_rd_t *rd, kafka_arena_t *a, bool compact, bool nullable);

/* A string as a view into the frame, not NUL-terminated (request header
 * client_id). *len -1 = null. Same checks as kafka_rd_string. */
const char *kafka_rd_string_view(kafka_rd_t *rd, bool compact, bool nullable, int16_t *len);

/* (COMPACT_)(NULLABLE_)BYTES, also RECORDS: a view into the frame. On
 * failure returns {NULL, -1}. */
kafka_bytes_t kafka_rd_bytes(kafka_rd_t *rd, bool compact, bool nullable);

/* A response RECORDS field as one memory slice into the frame (slice
 * array from a). */
kafka_records_t kafka_rd_records(kafka_rd_t *rd, kafka_arena_t *a, bool compact, bool nullable);

/* ARRAY / COMPACT_ARRAY count: -1 = null (only when nullable), else >= 0.
 * The count is checked against array_max and against the remaining bytes
 * (each element takes at least elem_min_bytes >= 1) before anyone
 * allocates for it. Returns 0 on failure. */
int32_t kafka_rd_array_len(kafka_rd_t *rd, bool compact, bool nullable, size_t elem_min_bytes);

/* TAGGED_FIELDS with no known tags: checks the section and skips it. */
void kafka_rd_tags_skip(kafka_rd_t *rd);

/* Iterates a tagged-field section whose struct knows some tags:
 *   kafka_rd_tags_t t; kafka_rd_tags_begin(rd, &t);
 *   while (kafka_rd_tags_next(rd, &t)) switch (t.tag) { case 0: read from
 *       &t.sub ...; kafka_rd_tags_end_field(rd, &t); break; default:
 *       (unknown: already skipped) }
 * Tags must be strictly ascending. A known field's reader t.sub spans
 * exactly its size; kafka_rd_tags_end_field fails rd unless sub read all
 * of it without failing. */
typedef struct kafka_rd_tags {
    uint32_t left;
    int64_t last_tag;
    uint32_t tag;
    kafka_rd_t sub;
} kafka_rd_tags_t;

void kafka_rd_tags_begin(kafka_rd_t *rd, kafka_rd_tags_t *t);
bool kafka_rd_tags_next(kafka_rd_t *rd, kafka_rd_tags_t *t);
void kafka_rd_tags_end_field(kafka_rd_t *rd, kafka_rd_tags_t *t);

/* Fails rd with "trailing bytes" unless everything was consumed; -1/0. */
int kafka_rd_expect_end(kafka_rd_t *rd);

/* "<err> at byte <off>[ in <field>]" into buf (always NUL-terminated);
 * returns buf. For logging. */
const char *kafka_rd_describe(const kafka_rd_t *rd, char *buf, size_t buf_len);

/* ---- writer -------------------------------------------------------------- */

/* Bytes reserved in the evbuffer at a time. */
#define KAFKA_WR_RESERVE 4096u

/* Appends to buf through space reserved with evbuffer_reserve_space and
 * committed in chunks. Between kafka_wr_init and kafka_wr_finish nothing
 * else may touch buf. Encoding never fails at the call site: an
 * allocation failure or an unencodable value (a STRING over 32767 bytes)
 * sets failed, and kafka_wr_finish reports it. */
typedef struct kafka_wr {
    struct evbuffer *buf;          /* borrowed */
    uint8_t *cur, *end;            /* uncommitted reserved space */
    struct evbuffer_iovec vec;     /* the reservation cur..end lies in */
    bool reserved;
    bool failed;
    const char *err;               /* static: first failure */
    uint8_t scratch[16];           /* target of small writes after a failure */
} kafka_wr_t;

void kafka_wr_init(kafka_wr_t *wr, struct evbuffer *buf);
/* Commits what was written. Returns 0, or -1 if anything failed (buf then
 * holds a partial encoding the caller must discard). */
int kafka_wr_finish(kafka_wr_t *wr);
/* Commits pending bytes so buf can be appended to directly. */
void kafka_wr_flush(kafka_wr_t *wr);
/* Bytes written so far (committed and pending) including what buf had. */
size_t kafka_wr_length(const kafka_wr_t *wr);

uint8_t *kafka_wr_space_slow(kafka_wr_t *wr, size_t n);

/* n (<= 16) contiguous bytes to fill. */
static inline uint8_t *kafka_wr_space(kafka_wr_t *wr, size_t n)
{
    if ((size_t)(wr->end - wr->cur) >= n) {
        uint8_t *q = wr->cur;
        wr->cur += n;
        return q;
    }
    return kafka_wr_space_slow(wr, n);
}

static inline void kafka_wr_uint8(kafka_wr_t *wr, uint8_t v)
{
    kafka_wr_space(wr, 1)[0] = v;
}

static inline void kafka_wr_int8(kafka_wr_t *wr, int8_t v)
{
    kafka_wr_uint8(wr, (uint8_t)v);
}

static inline void kafka_wr_bool(kafka_wr_t *wr, bool v)
{
    kafka_wr_uint8(wr, v ? 1 : 0);
}

static inline void kafka_wr_uint16(kafka_wr_t *wr, uint16_t v)
{
    uint8_t *q = kafka_wr_space(wr, 2);
    q[0] = (uint8_t)(v >> 8);
    q[1] = (uint8_t)v;
}

static inline void kafka_wr_int16(kafka_wr_t *wr, int16_t v)
{
    kafka_wr_uint16(wr, (uint16_t)v);
}

static inline void kafka_wr_uint32(kafka_wr_t *wr, uint32_t v)
{
    uint8_t *q = kafka_wr_space(wr, 4);
    q[0] = (uint8_t)(v >> 24);
    q[1] = (uint8_t)(v >> 16);
    q[2] = (uint8_t)(v >> 8);
    q[3] = (uint8_t)v;
}

static inline void kafka_wr_int32(kafka_wr_t *wr, int32_t v)
{
    kafka_wr_uint32(wr, (uint32_t)v);
}

static inline void kafka_wr_uint64(kafka_wr_t *wr, uint64_t v)
{
    uint8_t *q = kafka_wr_space(wr, 8);
    for (int i = 7; i >= 0; i--) {
        q[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline void kafka_wr_int64(kafka_wr_t *wr, int64_t v)
{
    kafka_wr_uint64(wr, (uint64_t)v);
}

void kafka_wr_float64(kafka_wr_t *wr, double v);
void kafka_wr_uuid(kafka_wr_t *wr, const kafka_uuid_t *v);
void kafka_wr_uvarint(kafka_wr_t *wr, uint32_t v);
void kafka_wr_varint(kafka_wr_t *wr, int32_t v);
void kafka_wr_varlong(kafka_wr_t *wr, int64_t v);
/* n raw bytes (any size; large runs go straight to the evbuffer). */
void kafka_wr_raw(kafka_wr_t *wr, const void *p, size_t n);

/* s NULL writes null when nullable, else the empty string (a null has no
 * encoding there). */
void kafka_wr_string(kafka_wr_t *wr, const char *s, bool compact, bool nullable);
/* b->len < 0 (null) likewise: null when nullable, else empty. */
void kafka_wr_bytes(kafka_wr_t *wr, const kafka_bytes_t *b, bool compact, bool nullable);
/* Writes the length then each slice; file slices go to evbuffer_add_file
 * after the pending bytes are committed. Takes ownership of every file
 * slice's fd (closed by libevent once sent, or here if it cannot be
 * added). r->len must equal the sum of the slice lengths (asserted). */
void kafka_wr_records(kafka_wr_t *wr, const kafka_records_t *r, bool compact, bool nullable);
/* Writes an array count (-1 = null when nullable, else written as 0) and
 * returns how many elements must follow. */
int32_t kafka_wr_array_len(kafka_wr_t *wr, int32_t count, bool compact, bool nullable);

/* An empty TAGGED_FIELDS section. */
static inline void kafka_wr_tags_none(kafka_wr_t *wr)
{
    kafka_wr_uint8(wr, 0);
}

/* One tagged field: kafka_wr_tag_begin gives a writer for its value (into
 * a temporary buffer, since the size goes first); kafka_wr_tag_end writes
 * tag, size and value to wr. Tagged fields are rare and small. */
void kafka_wr_tag_begin(kafka_wr_t *wr, kafka_wr_t *sub);
void kafka_wr_tag_end(kafka_wr_t *wr, kafka_wr_t *sub, uint32_t tag);

/* Encoded sizes, for callers that frame by hand. */
size_t kafka_uvarint_size(uint32_t v);

static inline uint32_t kafka_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t kafka_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int32_t kafka_unzigzag32(uint32_t u)
{
    return (int32_t)((u >> 1) ^ (0u - (u & 1u)));
}

static inline int64_t kafka_unzigzag64(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0u - (u & 1u)));
}

#endif
