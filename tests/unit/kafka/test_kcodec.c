/* Unit tests for the Kafka wire primitives (kcodec), the per-request arena,
 * the request/response headers and the error-code list: every primitive at
 * its edges, sticky reader failures, the evbuffer writer across reservation
 * boundaries and with file slices, and golden header bytes. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "arena.h"
#include "kafka_error.h"
#include "kafka_messages.h"
#include "kcodec.h"
#include "kheader.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
    struct evbuffer *buf;
    kafka_wr_t wr;
} out_t;

static void out_begin(out_t *o)
{
    o->buf = evbuffer_new();
    ck_assert_ptr_nonnull(o->buf);
    kafka_wr_init(&o->wr, o->buf);
}

/* Finishes the writer and returns the bytes (valid until out_end). */
static const uint8_t *out_bytes(out_t *o, size_t *len)
{
    ck_assert_int_eq(kafka_wr_finish(&o->wr), 0);
    *len = evbuffer_get_length(o->buf);
    return evbuffer_pullup(o->buf, -1);
}

static void out_end(out_t *o)
{
    evbuffer_free(o->buf);
}

#define EXPECT_BYTES(o, ...)                                                    \
    do {                                                                        \
        static const uint8_t want_[] = {__VA_ARGS__};                           \
        size_t got_len_;                                                        \
        const uint8_t *got_ = out_bytes((o), &got_len_);                        \
        ck_assert_uint_eq(got_len_, sizeof want_);                              \
        ck_assert_mem_eq(got_, want_, sizeof want_);                            \
    } while (0)

/* ---- fixed-width integers ------------------------------------------------- */

START_TEST(test_fixed_width_edges)
{
    out_t o;
    out_begin(&o);
    kafka_wr_int8(&o.wr, INT8_MIN);
    kafka_wr_int8(&o.wr, INT8_MAX);
    kafka_wr_int16(&o.wr, INT16_MIN);
    kafka_wr_int16(&o.wr, -1);
    kafka_wr_uint16(&o.wr, UINT16_MAX);
    kafka_wr_int32(&o.wr, INT32_MIN);
    kafka_wr_int32(&o.wr, 0x01020304);
    kafka_wr_uint32(&o.wr, UINT32_MAX);
    kafka_wr_int64(&o.wr, INT64_MIN);
    kafka_wr_int64(&o.wr, INT64_MAX);
    kafka_wr_bool(&o.wr, true);
    EXPECT_BYTES(&o, 0x80, 0x7f, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff,
                 0x80, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xff,
                 0x80, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p, len);
    ck_assert_int_eq(kafka_rd_int8(&rd), INT8_MIN);
    ck_assert_int_eq(kafka_rd_int8(&rd), INT8_MAX);
    ck_assert_int_eq(kafka_rd_int16(&rd), INT16_MIN);
    ck_assert_int_eq(kafka_rd_int16(&rd), -1);
    ck_assert_uint_eq(kafka_rd_uint16(&rd), UINT16_MAX);
    ck_assert_int_eq(kafka_rd_int32(&rd), INT32_MIN);
    ck_assert_int_eq(kafka_rd_int32(&rd), 0x01020304);
    ck_assert_uint_eq(kafka_rd_uint32(&rd), UINT32_MAX);
    ck_assert(kafka_rd_int64(&rd) == INT64_MIN);
    ck_assert(kafka_rd_int64(&rd) == INT64_MAX);
    ck_assert(kafka_rd_bool(&rd));
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    out_end(&o);
}
END_TEST

START_TEST(test_bool_any_nonzero_is_true)
{
    const uint8_t in[] = {0x00, 0x01, 0x02, 0xff};
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    ck_assert(!kafka_rd_bool(&rd));
    ck_assert(kafka_rd_bool(&rd));
    ck_assert(kafka_rd_bool(&rd));
    ck_assert(kafka_rd_bool(&rd));
    ck_assert(!rd.failed);
}
END_TEST

START_TEST(test_float64_and_uuid)
{
    const double vals[] = {0.0, -0.0, 1.5, -2.25e300, INFINITY, -INFINITY, 5e-324};
    out_t o;
    out_begin(&o);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        kafka_wr_float64(&o.wr, vals[i]);
    kafka_wr_float64(&o.wr, NAN);
    kafka_uuid_t u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)(i * 17);
    kafka_wr_uuid(&o.wr, &u);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_uint_eq(len, 8 * 8 + 16);
    /* 1.5 is 0x3FF8000000000000, big-endian */
    ck_assert_mem_eq(p + 16, ((const uint8_t[]){0x3f, 0xf8, 0, 0, 0, 0, 0, 0}), 8);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p, len);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double d = kafka_rd_float64(&rd);
        ck_assert_mem_eq(&d, &vals[i], sizeof d);
    }
    ck_assert(isnan(kafka_rd_float64(&rd)));
    kafka_uuid_t v = kafka_rd_uuid(&rd);
    ck_assert_mem_eq(v.b, u.b, 16);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    out_end(&o);
}
END_TEST

/* ---- varints -------------------------------------------------------------- */

static void check_uvarint(uint32_t v, const uint8_t *want, size_t want_len)
{
    out_t o;
    out_begin(&o);
    kafka_wr_uvarint(&o.wr, v);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_uint_eq(len, want_len);
    ck_assert_mem_eq(p, want, want_len);
    ck_assert_uint_eq(kafka_uvarint_size(v), want_len);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p, len);
    ck_assert_uint_eq(kafka_rd_uvarint(&rd), v);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    out_end(&o);
}

START_TEST(test_uvarint_edges)
{
    check_uvarint(0, (const uint8_t[]){0x00}, 1);
    check_uvarint(1, (const uint8_t[]){0x01}, 1);
    check_uvarint(127, (const uint8_t[]){0x7f}, 1);
    check_uvarint(128, (const uint8_t[]){0x80, 0x01}, 2);
    check_uvarint(300, (const uint8_t[]){0xac, 0x02}, 2);
    check_uvarint(16383, (const uint8_t[]){0xff, 0x7f}, 2);
    check_uvarint(16384, (const uint8_t[]){0x80, 0x80, 0x01}, 3);
    check_uvarint(UINT32_MAX, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5);
}
END_TEST

static void expect_uvarint_fails(const uint8_t *in, size_t len, const char *why)
{
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, len);
    ck_assert_uint_eq(kafka_rd_uvarint(&rd), 0);
    ck_assert(rd.failed);
    ck_assert_str_eq(rd.err, why);
}

START_TEST(test_uvarint_malformed)
{
    /* a sixth byte, a fifth byte with bits beyond 32, a missing last byte */
    expect_uvarint_fails((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6, "varint too long");
    expect_uvarint_fails((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x10}, 5, "varint too long");
    expect_uvarint_fails((const uint8_t[]){0x80}, 1, "truncated varint");
    expect_uvarint_fails((const uint8_t[]){0}, 0, "truncated varint");
}
END_TEST

START_TEST(test_varint_zigzag)
{
    static const struct {
        int32_t v;
        uint8_t bytes[5];
        size_t len;
    } cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out_t o;
        out_begin(&o);
        kafka_wr_varint(&o.wr, cases[i].v);
        size_t len;
        const uint8_t *p = out_bytes(&o, &len);
        ck_assert_uint_eq(len, cases[i].len);
        ck_assert_mem_eq(p, cases[i].bytes, len);
        kafka_rd_t rd;
        kafka_rd_init(&rd, p, len);
        ck_assert_int_eq(kafka_rd_varint(&rd), cases[i].v);
        ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
        out_end(&o);
    }
    ck_assert_uint_eq(kafka_zigzag32(INT32_MIN), UINT32_MAX);
    ck_assert_int_eq(kafka_unzigzag32(UINT32_MAX), INT32_MIN);
}
END_TEST

START_TEST(test_varlong_zigzag)
{
    static const struct {
        int64_t v;
        uint8_t bytes[10];
        size_t len;
    } cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {150, {0xac, 0x02}, 2},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out_t o;
        out_begin(&o);
        kafka_wr_varlong(&o.wr, cases[i].v);
        size_t len;
        const uint8_t *p = out_bytes(&o, &len);
        ck_assert_uint_eq(len, cases[i].len);
        ck_assert_mem_eq(p, cases[i].bytes, len);
        kafka_rd_t rd;
        kafka_rd_init(&rd, p, len);
        ck_assert(kafka_rd_varlong(&rd) == cases[i].v);
        ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
        out_end(&o);
    }
    ck_assert(kafka_zigzag64(INT64_MIN) == UINT64_MAX);
    ck_assert(kafka_unzigzag64(UINT64_MAX) == INT64_MIN);
    /* an 11th byte, and a 10th byte carrying more than the top bit */
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    static const uint8_t big10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    kafka_rd_t rd;
    kafka_rd_init(&rd, eleven, sizeof eleven);
    kafka_rd_varlong(&rd);
    ck_assert(rd.failed);
    kafka_rd_init(&rd, big10, sizeof big10);
    kafka_rd_varlong(&rd);
    ck_assert(rd.failed);
    ck_assert_str_eq(rd.err, "varint too long");
    /* a 5-byte varint whose top byte overflows 32 bits */
    static const uint8_t big5[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    kafka_rd_init(&rd, big5, sizeof big5);
    kafka_rd_varint(&rd);
    ck_assert(rd.failed);
}
END_TEST

/* ---- strings -------------------------------------------------------------- */

START_TEST(test_string_encodings)
{
    out_t o;
    out_begin(&o);
    kafka_wr_string(&o.wr, "abc", false, false);
    kafka_wr_string(&o.wr, "", false, false);
    kafka_wr_string(&o.wr, NULL, false, true);
    kafka_wr_string(&o.wr, NULL, false, false);     /* null where not allowed: empty */
    kafka_wr_string(&o.wr, "abc", true, false);
    kafka_wr_string(&o.wr, "", true, true);
    kafka_wr_string(&o.wr, NULL, true, true);
    EXPECT_BYTES(&o, 0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
                 0x04, 'a', 'b', 'c', 0x01, 0x00);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p, len);
    ck_assert_str_eq(kafka_rd_string(&rd, &a, false, false), "abc");
    ck_assert_str_eq(kafka_rd_string(&rd, &a, false, false), "");
    ck_assert_ptr_null(kafka_rd_string(&rd, &a, false, true));
    ck_assert(!rd.failed);
    ck_assert_str_eq(kafka_rd_string(&rd, &a, false, false), "");
    ck_assert_str_eq(kafka_rd_string(&rd, &a, true, false), "abc");
    ck_assert_str_eq(kafka_rd_string(&rd, &a, true, true), "");
    ck_assert_ptr_null(kafka_rd_string(&rd, &a, true, true));
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    kafka_arena_free(&a);
    out_end(&o);
}
END_TEST

static void expect_string_fails(const uint8_t *in, size_t len, bool compact, bool nullable,
                                const char *why)
{
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, len);
    ck_assert_ptr_null(kafka_rd_string(&rd, &a, compact, nullable));
    ck_assert(rd.failed);
    ck_assert_str_eq(rd.err, why);
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 0);
    kafka_arena_free(&a);
}

START_TEST(test_string_malformed)
{
    expect_string_fails((const uint8_t[]){0xff, 0xff}, 2, false, false, "null in a non-nullable field");
    expect_string_fails((const uint8_t[]){0x00}, 1, true, false, "null in a non-nullable field");
    expect_string_fails((const uint8_t[]){0xff, 0xfe}, 2, false, true, "negative length");
    expect_string_fails((const uint8_t[]){0x80, 0x00}, 2, false, true, "negative length");
    expect_string_fails((const uint8_t[]){0x00, 0x03, 'a', 'b'}, 4, false, false,
                        "length exceeds remaining bytes");
    expect_string_fails((const uint8_t[]){0x04, 'a', 'b'}, 3, true, false,
                        "length exceeds remaining bytes");
    expect_string_fails((const uint8_t[]){0x00, 0x03, 'a', 0, 'c'}, 5, false, false,
                        "NUL byte in string");
    expect_string_fails((const uint8_t[]){0x03, 0, 'x'}, 3, true, true, "NUL byte in string");
    expect_string_fails((const uint8_t[]){0x00}, 1, false, false, "truncated");
    /* a compact length beyond what an int16-length STRING can carry */
    expect_string_fails((const uint8_t[]){0x82, 0x80, 0x02}, 3, true, false,
                        "length exceeds the type's maximum");
}
END_TEST

START_TEST(test_string_too_long_to_write)
{
    char *s = malloc(40000);
    memset(s, 'x', 39999);
    s[39999] = '\0';
    out_t o;
    out_begin(&o);
    kafka_wr_string(&o.wr, s, false, false);
    ck_assert_int_eq(kafka_wr_finish(&o.wr), -1);
    ck_assert_str_eq(o.wr.err, "string longer than 32767 bytes");
    out_end(&o);
    free(s);
}
END_TEST

/* ---- bytes ---------------------------------------------------------------- */

START_TEST(test_bytes_are_views)
{
    uint8_t in[] = {0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb,   /* BYTES [aa bb] */
                    0xff, 0xff, 0xff, 0xff,               /* NULLABLE_BYTES null */
                    0x00, 0x00, 0x00, 0x00,               /* empty */
                    0x03, 0xcc, 0xdd,                     /* COMPACT_BYTES [cc dd] */
                    0x00,                                 /* COMPACT_NULLABLE null */
                    0x01};                                /* compact empty */
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    kafka_bytes_t b = kafka_rd_bytes(&rd, false, false);
    ck_assert_int_eq(b.len, 2);
    ck_assert_ptr_eq(b.data, in + 4);
    b = kafka_rd_bytes(&rd, false, true);
    ck_assert_int_eq(b.len, -1);
    ck_assert_ptr_null(b.data);
    b = kafka_rd_bytes(&rd, false, true);
    ck_assert_int_eq(b.len, 0);
    b = kafka_rd_bytes(&rd, true, false);
    ck_assert_int_eq(b.len, 2);
    ck_assert_ptr_eq(b.data, in + 15);
    b.data[0] = 0x11;                  /* writable in place */
    ck_assert_uint_eq(in[15], 0x11);
    b = kafka_rd_bytes(&rd, true, true);
    ck_assert_int_eq(b.len, -1);
    b = kafka_rd_bytes(&rd, true, true);
    ck_assert_int_eq(b.len, 0);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);

    out_t o;
    out_begin(&o);
    kafka_bytes_t null_b = {NULL, -1}, two = {(uint8_t[]){1, 2}, 2};
    kafka_wr_bytes(&o.wr, &two, false, false);
    kafka_wr_bytes(&o.wr, &null_b, false, true);
    kafka_wr_bytes(&o.wr, &null_b, false, false);
    kafka_wr_bytes(&o.wr, &two, true, false);
    kafka_wr_bytes(&o.wr, &null_b, true, true);
    EXPECT_BYTES(&o, 0, 0, 0, 2, 1, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x03, 1, 2, 0x00);
    out_end(&o);

    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    kafka_rd_init(&rd, neg, sizeof neg);
    b = kafka_rd_bytes(&rd, false, true);
    ck_assert(rd.failed);
    ck_assert_int_eq(b.len, -1);
    static const uint8_t long_b[] = {0x00, 0x00, 0x00, 0x09, 1};
    kafka_rd_init(&rd, long_b, sizeof long_b);
    kafka_rd_bytes(&rd, false, false);
    ck_assert_str_eq(rd.err, "length exceeds remaining bytes");
}
END_TEST

/* ---- arrays --------------------------------------------------------------- */

START_TEST(test_array_lengths)
{
    out_t o;
    out_begin(&o);
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, 3, false, false), 3);
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, -1, false, true), 0);
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, -1, false, false), 0);   /* written as empty */
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, 3, true, false), 3);
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, -1, true, true), 0);
    ck_assert_int_eq(kafka_wr_array_len(&o.wr, 0, true, true), 0);
    EXPECT_BYTES(&o, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x04, 0x00, 0x01);
    out_end(&o);

    uint8_t in[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb};
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, true, 1), -1);
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, false, 1), 2);
    ck_assert(!rd.failed);

    /* null where not allowed */
    kafka_rd_init(&rd, in, sizeof in);
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, false, 1), 0);
    ck_assert_str_eq(rd.err, "null in a non-nullable array");
    /* 2 elements of at least 2 bytes fit; of 4 bytes they do not */
    kafka_rd_init(&rd, in + 4, sizeof in - 4);
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, false, 1), 2);
    kafka_rd_init(&rd, in + 4, sizeof in - 4);
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, false, 4), 0);
    ck_assert_str_eq(rd.err, "array count exceeds remaining bytes");
    /* the configurable maximum */
    kafka_rd_init(&rd, in + 4, sizeof in - 4);
    rd.array_max = 1;
    ck_assert_int_eq(kafka_rd_array_len(&rd, false, false, 1), 0);
    ck_assert_str_eq(rd.err, "array count exceeds maximum");
    /* compact: 0 = null, N+1 */
    static const uint8_t c[] = {0x00, 0x03, 0xaa, 0xbb};
    kafka_rd_init(&rd, c, sizeof c);
    ck_assert_int_eq(kafka_rd_array_len(&rd, true, true, 1), -1);
    ck_assert_int_eq(kafka_rd_array_len(&rd, true, true, 1), 2);
    kafka_rd_init(&rd, c, sizeof c);
    ck_assert_int_eq(kafka_rd_array_len(&rd, true, false, 1), 0);
    ck_assert(rd.failed);
    static const uint8_t negative[] = {0xff, 0xff, 0xff, 0xfe};
    kafka_rd_init(&rd, negative, sizeof negative);
    kafka_rd_array_len(&rd, false, true, 1);
    ck_assert_str_eq(rd.err, "negative array count");
}
END_TEST

/* ---- tagged fields -------------------------------------------------------- */

START_TEST(test_tagged_fields)
{
    /* two unknown tags, then a byte of the next field */
    static const uint8_t ok[] = {0x02, 0x01, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x77};
    kafka_rd_t rd;
    kafka_rd_init(&rd, ok, sizeof ok);
    kafka_rd_tags_skip(&rd);
    ck_assert(!rd.failed);
    ck_assert_uint_eq(kafka_rd_uint8(&rd), 0x77);

    static const uint8_t unordered[] = {0x02, 0x05, 0x00, 0x01, 0x00};
    kafka_rd_init(&rd, unordered, sizeof unordered);
    kafka_rd_tags_skip(&rd);
    ck_assert_str_eq(rd.err, "tagged fields not in ascending order");

    static const uint8_t dup[] = {0x02, 0x01, 0x00, 0x01, 0x00};
    kafka_rd_init(&rd, dup, sizeof dup);
    kafka_rd_tags_skip(&rd);
    ck_assert(rd.failed);

    static const uint8_t oversize[] = {0x01, 0x00, 0x05, 0xaa};
    kafka_rd_init(&rd, oversize, sizeof oversize);
    kafka_rd_tags_skip(&rd);
    ck_assert_str_eq(rd.err, "truncated");

    static const uint8_t many[] = {0x7f, 0x00, 0x00};
    kafka_rd_init(&rd, many, sizeof many);
    kafka_rd_tags_skip(&rd);
    ck_assert_str_eq(rd.err, "tagged field count exceeds remaining bytes");

    /* a known field must be read exactly */
    static const uint8_t known[] = {0x01, 0x03, 0x02, 0x12, 0x34};
    kafka_rd_init(&rd, known, sizeof known);
    kafka_rd_tags_t t;
    kafka_rd_tags_begin(&rd, &t);
    ck_assert(kafka_rd_tags_next(&rd, &t));
    ck_assert_uint_eq(t.tag, 3);
    ck_assert_uint_eq(kafka_rd_uint8(&t.sub), 0x12);   /* one byte of two */
    kafka_rd_tags_end_field(&rd, &t);
    ck_assert_str_eq(rd.err, "tagged field longer than its value");
    ck_assert(!kafka_rd_tags_next(&rd, &t));

    /* a sub-reader's failure reaches the outer reader with its offset */
    kafka_rd_init(&rd, known, sizeof known);
    kafka_rd_tags_begin(&rd, &t);
    ck_assert(kafka_rd_tags_next(&rd, &t));
    kafka_rd_int32(&t.sub);
    kafka_rd_tags_end_field(&rd, &t);
    ck_assert_str_eq(rd.err, "truncated");
    ck_assert_uint_eq(rd.err_off, 3);

    /* writer: one tagged field through a sub-writer */
    out_t o;
    out_begin(&o);
    kafka_wr_uvarint(&o.wr, 1);
    kafka_wr_t sub;
    kafka_wr_tag_begin(&o.wr, &sub);
    kafka_wr_int16(&sub, 0x1234);
    kafka_wr_tag_end(&o.wr, &sub, 3);
    kafka_wr_tags_none(&o.wr);
    EXPECT_BYTES(&o, 0x01, 0x03, 0x02, 0x12, 0x34, 0x00);
    out_end(&o);
}
END_TEST

/* ---- reader failure behaviour --------------------------------------------- */

START_TEST(test_failure_is_sticky)
{
    static const uint8_t in[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05};
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    ck_assert_int_eq(kafka_rd_int16(&rd), 1);
    ck_assert(kafka_rd_int64(&rd) == 0);           /* 4 bytes left: fails */
    ck_assert(rd.failed);
    ck_assert_uint_eq(rd.err_off, 2);
    ck_assert_uint_eq(rd.off, 2);
    /* later reads that would fit return 0 and do not move */
    ck_assert_int_eq(kafka_rd_int16(&rd), 0);
    ck_assert_uint_eq(rd.off, 2);
    kafka_rd_fail_field(&rd, "Struct.Field");
    kafka_rd_fail_field(&rd, "Outer.Field");
    char buf[128];
    ck_assert_str_eq(kafka_rd_describe(&rd, buf, sizeof buf), "truncated at byte 2 in Struct.Field");
    ck_assert_int_eq(kafka_rd_expect_end(&rd), -1);
    ck_assert_str_eq(rd.err, "truncated");

    kafka_rd_init(&rd, in, sizeof in);
    kafka_rd_int32(&rd);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), -1);
    ck_assert_str_eq(rd.err, "trailing bytes");
    ck_assert_uint_eq(rd.err_off, 4);
}
END_TEST

/* ---- writer --------------------------------------------------------------- */

START_TEST(test_writer_crosses_reservations)
{
    enum { N = 5000 };
    uint8_t *big = malloc(3 * KAFKA_WR_RESERVE);
    for (size_t i = 0; i < 3 * KAFKA_WR_RESERVE; i++)
        big[i] = (uint8_t)(i * 7);
    out_t o;
    out_begin(&o);
    evbuffer_add(o.buf, "pre", 3);             /* what the buffer already had stays first */
    for (int i = 0; i < N; i++) {
        kafka_wr_int32(&o.wr, i);
        kafka_wr_int8(&o.wr, (int8_t)i);
        if (i % 997 == 0)
            kafka_wr_raw(&o.wr, big, 3 * KAFKA_WR_RESERVE);     /* straight to the buffer */
        if (i % 101 == 0)
            kafka_wr_raw(&o.wr, big, KAFKA_WR_RESERVE - 1);     /* split over reservations */
    }
    ck_assert_uint_eq(kafka_wr_length(&o.wr), evbuffer_get_length(o.buf) +
                      (size_t)(o.wr.cur - (uint8_t *)o.wr.vec.iov_base));
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_mem_eq(p, "pre", 3);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p + 3, len - 3);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(kafka_rd_int32(&rd), i);
        ck_assert_int_eq(kafka_rd_int8(&rd), (int8_t)i);
        if (i % 997 == 0)
            ck_assert_mem_eq(kafka_rd_take(&rd, 3 * KAFKA_WR_RESERVE), big, 3 * KAFKA_WR_RESERVE);
        if (i % 101 == 0)
            ck_assert_mem_eq(kafka_rd_take(&rd, KAFKA_WR_RESERVE - 1), big, KAFKA_WR_RESERVE - 1);
    }
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    out_end(&o);
    free(big);
}
END_TEST

START_TEST(test_records_with_file_slice)
{
    char path[] = "/tmp/kcodec-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    const char *file = "0123456789abcdef";
    ck_assert_int_eq(write(fd, file, 16), 16);

    kafka_records_slice_t slices[3] = {
        {.mem = (const uint8_t *)"AB", .fd = -1, .len = 2},
        {.mem = NULL, .fd = dup(fd), .pos = 4, .len = 6},        /* "456789" */
        {.mem = (const uint8_t *)"Z", .fd = -1, .len = 1},
    };
    kafka_records_t r = {9, slices, 3};
    out_t o;
    out_begin(&o);
    kafka_wr_int16(&o.wr, 0x7777);             /* pending when the file slice comes */
    kafka_wr_records(&o.wr, &r, false, true);
    kafka_wr_int8(&o.wr, 0x55);
    EXPECT_BYTES(&o, 0x77, 0x77, 0, 0, 0, 9, 'A', 'B', '4', '5', '6', '7', '8', '9', 'Z', 0x55);
    out_end(&o);

    /* compact, null and empty forms */
    out_begin(&o);
    kafka_records_t null_r = {-1, NULL, 0}, empty_r = {0, NULL, 0};
    slices[1].fd = dup(fd);
    kafka_wr_records(&o.wr, &r, true, false);
    kafka_wr_records(&o.wr, &null_r, true, true);
    kafka_wr_records(&o.wr, &empty_r, true, true);
    EXPECT_BYTES(&o, 0x0a, 'A', 'B', '4', '5', '6', '7', '8', '9', 'Z', 0x00, 0x01);
    out_end(&o);
    close(fd);

    /* decoding a response's records gives one memory slice */
    static const uint8_t in[] = {0, 0, 0, 3, 'x', 'y', 'z'};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    kafka_records_t d = kafka_rd_records(&rd, &a, false, true);
    ck_assert_int_eq(d.len, 3);
    ck_assert_int_eq(d.n_slices, 1);
    ck_assert_ptr_eq(d.slices[0].mem, in + 4);
    ck_assert_int_eq(d.slices[0].fd, -1);
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_records_length_mismatch_asserts)
{
    kafka_records_slice_t s = {.mem = (const uint8_t *)"AB", .fd = -1, .len = 2};
    kafka_records_t r = {3, &s, 1};
    out_t o;
    out_begin(&o);
    kafka_wr_records(&o.wr, &r, false, true);
}
END_TEST

/* ---- arena ---------------------------------------------------------------- */

START_TEST(test_arena_basics)
{
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    void *prev = NULL;
    for (int i = 0; i < 10000; i++) {
        size_t n = (size_t)(i % 50) + 1;
        uint8_t *p = kafka_arena_alloc(&a, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % KAFKA_ARENA_ALIGN, 0);
        ck_assert_ptr_ne(p, prev);
        memset(p, 0xab, n);
        prev = p;
    }
    /* a large allocation gets its own chunk */
    uint8_t *big = kafka_arena_alloc(&a, 1u << 20);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 1u << 20);
    ck_assert_ptr_nonnull(kafka_arena_alloc(&a, 0));
    char *s = kafka_arena_strndup(&a, "hello world", 5);
    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_null(kafka_arena_alloc_array(&a, SIZE_MAX / 2, 4));
    kafka_arena_free(&a);
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 0);
    ck_assert_ptr_nonnull(kafka_arena_alloc(&a, 10));    /* reusable */
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_arena_cap)
{
    kafka_arena_t a;
    kafka_arena_init(&a, 100);
    ck_assert_ptr_nonnull(kafka_arena_alloc(&a, 64));
    ck_assert_ptr_nonnull(kafka_arena_alloc(&a, 32));
    ck_assert_ptr_null(kafka_arena_alloc(&a, 16));        /* 96 + 16 > 100 */
    ck_assert_ptr_null(kafka_arena_alloc(&a, 1));         /* the cap counts aligned bytes */
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 96);
    kafka_arena_free(&a);
    kafka_arena_init(&a, 100);
    ck_assert_ptr_null(kafka_arena_alloc(&a, 101));
    ck_assert_ptr_null(kafka_arena_alloc(&a, SIZE_MAX));
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 0);
    kafka_arena_free(&a);
}
END_TEST

/* A string read into a full arena fails the reader, not the process. */
START_TEST(test_arena_cap_fails_reader)
{
    static const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c'};
    kafka_arena_t a;
    kafka_arena_init(&a, 1);
    kafka_rd_t rd;
    kafka_rd_init(&rd, in, sizeof in);
    ck_assert_ptr_null(kafka_rd_string(&rd, &a, false, false));
    ck_assert_str_eq(rd.err, "arena cap");
    kafka_arena_free(&a);
}
END_TEST

/* ---- headers -------------------------------------------------------------- */

/* librdkafka 2.0.2's first request on every connection: ApiVersions v3,
 * header v2 with client_id "rdkafka", body of two compact strings. */
static const uint8_t rdkafka_apiversions_v3[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,             /* key 18, v3, corr 1 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',             /* client_id: int16 length */
    0x00,                                                       /* header tags */
    0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a',    /* ClientSoftwareName */
    0x06, '2', '.', '0', '.', '2',                             /* ClientSoftwareVersion */
    0x00,                                                       /* body tags */
};

START_TEST(test_golden_apiversions_v3_request)
{
    out_t o;
    out_begin(&o);
    kafka_request_header_encode(&o.wr, KAFKA_API_ApiVersions, 3, 1, "rdkafka");
    kafka_ApiVersionsRequest_t req;
    kafka_ApiVersionsRequest_init(&req);
    req.ClientSoftwareName = "librdkafka";
    req.ClientSoftwareVersion = "2.0.2";
    kafka_ApiVersionsRequest_encode(&o.wr, 3, &req);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_uint_eq(len, sizeof rdkafka_apiversions_v3);
    ck_assert_mem_eq(p, rdkafka_apiversions_v3, len);
    out_end(&o);

    kafka_rd_t rd;
    kafka_rd_init(&rd, rdkafka_apiversions_v3, sizeof rdkafka_apiversions_v3);
    kafka_request_header_t h;
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), 0);
    ck_assert_int_eq(h.api_key, 18);
    ck_assert_int_eq(h.api_version, 3);
    ck_assert_int_eq(h.correlation_id, 1);
    ck_assert_int_eq(h.header_version, 2);
    ck_assert_int_eq(h.client_id_len, 7);
    ck_assert_mem_eq(h.client_id, "rdkafka", 7);
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_ApiVersionsRequest_t dec;
    ck_assert_int_eq(kafka_ApiVersionsRequest_decode(&rd, h.api_version, &a, &dec), 0);
    ck_assert_str_eq(dec.ClientSoftwareName, "librdkafka");
    ck_assert_str_eq(dec.ClientSoftwareVersion, "2.0.2");
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_golden_metadata_v0_empty_topics)
{
    static const uint8_t want[] = {
        0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,         /* key 3, v0, corr 2 */
        0x00, 0x0c, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n',
        0x00, 0x00, 0x00, 0x00,                                 /* Topics: [] = all topics */
    };
    out_t o;
    out_begin(&o);
    kafka_request_header_encode(&o.wr, KAFKA_API_Metadata, 0, 2, "kafka-python");
    kafka_MetadataRequest_t req;
    kafka_MetadataRequest_init(&req);
    kafka_MetadataRequest_encode(&o.wr, 0, &req);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_uint_eq(len, sizeof want);
    ck_assert_mem_eq(p, want, len);
    out_end(&o);

    kafka_rd_t rd;
    kafka_rd_init(&rd, want, sizeof want);
    kafka_request_header_t h;
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), 0);
    ck_assert_int_eq(h.header_version, 1);
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_MetadataRequest_t dec;
    ck_assert_int_eq(kafka_MetadataRequest_decode(&rd, 0, &a, &dec), 0);
    ck_assert_int_eq(dec.Topics_count, 0);
    ck_assert(dec.AllowAutoTopicCreation);          /* absent in v0: its default */
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_golden_apiversions_response_header_v0)
{
    out_t o;
    out_begin(&o);
    kafka_response_header_encode(&o.wr, KAFKA_API_ApiVersions, 3, 0x01020304);
    kafka_ApiVersionsResponse_t resp;
    kafka_ApiVersionsResponse_init(&resp);
    kafka_ApiVersionsResponse_ApiVersion_t keys[1];
    kafka_ApiVersionsResponse_ApiVersion_init(&keys[0]);
    keys[0].ApiKey = 18;
    keys[0].MaxVersion = 3;
    resp.ApiKeys = keys;
    resp.ApiKeys_count = 1;
    kafka_ApiVersionsResponse_encode(&o.wr, 3, &resp);
    /* no tag byte after the correlation id, then a flexible v3 body */
    EXPECT_BYTES(&o, 0x01, 0x02, 0x03, 0x04,
                 0x00, 0x00,                            /* ErrorCode */
                 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,  /* ApiKeys */
                 0x00, 0x00, 0x00, 0x00,                /* ThrottleTimeMs */
                 0x00);                                 /* no tagged fields */
    out_end(&o);

    /* a flexible API's response header does carry the tag byte */
    out_begin(&o);
    kafka_response_header_encode(&o.wr, KAFKA_API_DescribeCluster, 0, 7);
    kafka_response_header_encode(&o.wr, KAFKA_API_Metadata, 8, 7);
    EXPECT_BYTES(&o, 0, 0, 0, 7, 0x00, 0, 0, 0, 7);
    out_end(&o);
}
END_TEST

START_TEST(test_golden_produce_v7_header)
{
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x2a,         /* key 0, v7, corr 42 */
        0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',          /* no tag byte: v7 is not flexible */
    };
    out_t o;
    out_begin(&o);
    kafka_request_header_encode(&o.wr, KAFKA_API_Produce, 7, 42, "rdkafka");
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    ck_assert_uint_eq(len, sizeof want);
    ck_assert_mem_eq(p, want, len);
    out_end(&o);

    kafka_rd_t rd;
    kafka_rd_init(&rd, want, sizeof want);
    kafka_request_header_t h;
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), 0);
    ck_assert_int_eq(h.api_key, 0);
    ck_assert_int_eq(h.api_version, 7);
    ck_assert_int_eq(h.correlation_id, 42);
    ck_assert_int_eq(h.header_version, 1);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
}
END_TEST

START_TEST(test_request_header_edges)
{
    kafka_rd_t rd;
    kafka_request_header_t h;
    /* null client_id; unknown api key read as header v1 */
    static const uint8_t null_id[] = {0x03, 0xe7, 0x00, 0x09, 0, 0, 0, 5, 0xff, 0xff};
    kafka_rd_init(&rd, null_id, sizeof null_id);
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), 0);
    ck_assert_int_eq(h.api_key, 999);
    ck_assert_ptr_null(h.client_id);
    ck_assert_int_eq(h.client_id_len, -1);
    /* an ApiVersions version above what Cairn implements is still read as
     * flexible, so the fallback answer can be sent */
    static const uint8_t v4[] = {0x00, 0x12, 0x00, 0x04, 0, 0, 0, 9, 0x00, 0x00, 0x00};
    kafka_rd_init(&rd, v4, sizeof v4);
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), 0);
    ck_assert_int_eq(h.header_version, 2);
    ck_assert(!kafka_api_version_supported(18, 4));
    ck_assert(kafka_api_version_supported(18, 3));
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    /* short: the first fields are still reported */
    static const uint8_t short_h[] = {0x00, 0x01, 0x00, 0x0b, 0, 0, 0, 3, 0x00};
    kafka_rd_init(&rd, short_h, sizeof short_h);
    ck_assert_int_eq(kafka_request_header_decode(&rd, &h), -1);
    ck_assert_int_eq(h.api_key, 1);
    ck_assert_int_eq(h.api_version, 11);
    ck_assert_int_eq(h.correlation_id, 3);
    ck_assert_str_eq(rd.err_field, "RequestHeader.ClientId");
    /* response header round trip, flexible and not */
    out_t o;
    out_begin(&o);
    kafka_response_header_encode(&o.wr, KAFKA_API_DescribeCluster, 0, 77);
    size_t len;
    const uint8_t *p = out_bytes(&o, &len);
    int32_t corr;
    kafka_rd_init(&rd, p, len);
    ck_assert_int_eq(kafka_response_header_decode(&rd, KAFKA_API_DescribeCluster, 0, &corr), 0);
    ck_assert_int_eq(corr, 77);
    ck_assert_int_eq(kafka_rd_expect_end(&rd), 0);
    out_end(&o);
}
END_TEST

/* ---- API table and errors ------------------------------------------------- */

START_TEST(test_api_table)
{
    static const struct {
        int16_t key, min, max, flex;
    } want[] = {
        {0, 3, 7, 9}, {1, 4, 11, 12}, {2, 0, 5, 6}, {3, 0, 8, 9}, {8, 0, 7, 8}, {9, 0, 5, 6},
        {10, 0, 2, 3}, {11, 0, 5, 6}, {12, 0, 3, 4}, {13, 0, 1, 4}, {14, 0, 3, 4},
        {15, 0, 4, 5}, {16, 0, 2, 3}, {18, 0, 3, 3}, {19, 0, 4, 5}, {20, 0, 3, 4},
        {22, 0, 1, 2}, {32, 0, 2, 4}, {37, 0, 1, 2}, {42, 0, 1, 2}, {47, 0, 0, -1},
        {60, 0, 0, 0},
    };
    ck_assert_uint_eq(KAFKA_API_COUNT, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const kafka_api_desc_t *d = kafka_api_desc(want[i].key);
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_eq(d, &kafka_apis[i]);
        ck_assert_int_eq(d->api_key, want[i].key);
        ck_assert_int_eq(d->min_version, want[i].min);
        ck_assert_int_eq(d->max_version, want[i].max);
        ck_assert_int_eq(d->first_flexible_version, want[i].flex);
    }
    ck_assert_str_eq(kafka_api_desc(0)->name, "Produce");
    ck_assert_ptr_null(kafka_api_desc(17));
    ck_assert_ptr_null(kafka_api_desc(-1));
    ck_assert(kafka_api_flexible(60, 0));
    ck_assert(!kafka_api_flexible(47, 0));
    ck_assert(!kafka_api_flexible(0, 7));
    ck_assert(kafka_api_flexible(0, 9));
}
END_TEST

START_TEST(test_error_names)
{
    ck_assert_str_eq(kafka_error_name(KAFKA_ERR_NONE), "NONE");
    ck_assert_str_eq(kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
    ck_assert_str_eq(kafka_error_name(6), "NOT_LEADER_OR_FOLLOWER");
    ck_assert_str_eq(kafka_error_name(KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT), "INVALID_REPLICA_ASSIGNMENT");
    ck_assert_int_eq(KAFKA_ERR_POLICY_VIOLATION, 44);
    ck_assert_int_eq(KAFKA_ERR_INVALID_CONFIG, 40);
    ck_assert_int_eq(KAFKA_ERR_TOPIC_DELETION_DISABLED, 73);
    ck_assert_int_eq(KAFKA_ERR_INVALID_RECORD, 87);
    ck_assert_str_eq(kafka_error_name(9999), "UNKNOWN");
}
END_TEST

static Suite *kcodec_suite(void)
{
    Suite *s = suite_create("kafka-codec");
    TCase *prim = tcase_create("primitives");
    tcase_add_test(prim, test_fixed_width_edges);
    tcase_add_test(prim, test_bool_any_nonzero_is_true);
    tcase_add_test(prim, test_float64_and_uuid);
    tcase_add_test(prim, test_uvarint_edges);
    tcase_add_test(prim, test_uvarint_malformed);
    tcase_add_test(prim, test_varint_zigzag);
    tcase_add_test(prim, test_varlong_zigzag);
    tcase_add_test(prim, test_string_encodings);
    tcase_add_test(prim, test_string_malformed);
    tcase_add_test(prim, test_string_too_long_to_write);
    tcase_add_test(prim, test_bytes_are_views);
    tcase_add_test(prim, test_array_lengths);
    tcase_add_test(prim, test_tagged_fields);
    tcase_add_test(prim, test_failure_is_sticky);
    suite_add_tcase(s, prim);

    TCase *wr = tcase_create("writer");
    tcase_add_test(wr, test_writer_crosses_reservations);
    tcase_add_test(wr, test_records_with_file_slice);
    tcase_add_test_raise_signal(wr, test_records_length_mismatch_asserts, SIGABRT);
    suite_add_tcase(s, wr);

    TCase *ar = tcase_create("arena");
    tcase_add_test(ar, test_arena_basics);
    tcase_add_test(ar, test_arena_cap);
    tcase_add_test(ar, test_arena_cap_fails_reader);
    suite_add_tcase(s, ar);

    TCase *hd = tcase_create("headers");
    tcase_add_test(hd, test_golden_apiversions_v3_request);
    tcase_add_test(hd, test_golden_metadata_v0_empty_topics);
    tcase_add_test(hd, test_golden_apiversions_response_header_v0);
    tcase_add_test(hd, test_golden_produce_v7_header);
    tcase_add_test(hd, test_request_header_edges);
    tcase_add_test(hd, test_api_table);
    tcase_add_test(hd, test_error_names);
    suite_add_tcase(s, hd);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kcodec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
