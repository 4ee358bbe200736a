/* Unit tests for common/crc32c: published vectors (RFC 3720 B.4), a
 * bit-at-a-time reference, incremental use, and hardware == software. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* The definition itself, one bit at a time: independent of the tables. */
static uint32_t crc32c_bitwise(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint64_t test_rand(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Every implementation under test: the dispatcher, the tables, and the
 * instruction when this CPU has it. */
static size_t implementations(crc_fn *fns)
{
    size_t n = 0;
    fns[n++] = crc32c;
    fns[n++] = crc32c_sw;
    fns[n++] = crc32c_bitwise;
    if (crc32c_hw_available())
        fns[n++] = crc32c_hw;
    return n;
}

static void check_vector(const uint8_t *buf, size_t len, uint32_t expect)
{
    crc_fn fns[4];
    size_t n = implementations(fns);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(fns[i](0, buf, len), expect);
}

START_TEST(test_check_value)
{
    check_vector((const uint8_t *)"123456789", 9, 0xE3069283u);
    check_vector(NULL, 0, 0);
}
END_TEST

START_TEST(test_rfc3720_vectors)
{
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    check_vector(buf, sizeof buf, 0x8A9136AAu);
    memset(buf, 0xFF, sizeof buf);
    check_vector(buf, sizeof buf, 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    check_vector(buf, sizeof buf, 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    check_vector(buf, sizeof buf, 0x113FDB5Cu);
}
END_TEST

/* One non-zero byte at each position of an 8-byte block reaches every entry
 * of every slicing table. */
START_TEST(test_tables_match_reference)
{
    for (int pos = 0; pos < 8; pos++) {
        for (int b = 0; b < 256; b++) {
            uint8_t buf[8] = { 0 };
            buf[pos] = (uint8_t)b;
            ck_assert_uint_eq(crc32c_sw(0, buf, sizeof buf), crc32c_bitwise(0, buf, sizeof buf));
            ck_assert_uint_eq(crc32c_sw(0x12345678u, buf, sizeof buf),
                              crc32c_bitwise(0x12345678u, buf, sizeof buf));
        }
    }
}
END_TEST

START_TEST(test_incremental_equals_one_shot)
{
    uint8_t buf[300];
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)test_rand(&rng);
    crc_fn fns[4];
    size_t n = implementations(fns);
    for (size_t f = 0; f < n; f++) {
        uint32_t whole = fns[f](0, buf, sizeof buf);
        for (size_t split = 0; split <= sizeof buf; split++) {
            uint32_t c = fns[f](0, buf, split);
            c = fns[f](c, buf + split, sizeof buf - split);
            ck_assert_uint_eq(c, whole);
        }
        /* Three pieces, with an empty update in between. */
        uint32_t c = fns[f](0, buf, 17);
        c = fns[f](c, buf + 17, 0);
        c = fns[f](c, buf + 17, 200);
        c = fns[f](c, buf + 217, sizeof buf - 217);
        ck_assert_uint_eq(c, whole);
    }
}
END_TEST

START_TEST(test_hw_matches_sw_random)
{
    enum { BUF_BYTES = 4096 + 16 };
    uint8_t *buf = malloc(BUF_BYTES);
    ck_assert_ptr_nonnull(buf);
    uint64_t rng = 0xC0FFEE1234567ull;
    for (size_t i = 0; i < BUF_BYTES; i++)
        buf[i] = (uint8_t)test_rand(&rng);
    int hw = crc32c_hw_available();
    for (int iter = 0; iter < 3000; iter++) {
        size_t off = (size_t)(test_rand(&rng) % 16);
        size_t len = (size_t)(test_rand(&rng) % (BUF_BYTES - 16 + 1));
        uint32_t seed = (iter % 3 == 0) ? 0 : (uint32_t)test_rand(&rng);
        uint32_t sw = crc32c_sw(seed, buf + off, len);
        if (iter < 200)
            ck_assert_uint_eq(sw, crc32c_bitwise(seed, buf + off, len));
        if (hw)
            ck_assert_uint_eq(crc32c_hw(seed, buf + off, len), sw);
        ck_assert_uint_eq(crc32c(seed, buf + off, len), sw);
    }
    free(buf);
}
END_TEST

START_TEST(test_detects_bit_flip)
{
    uint8_t buf[64];
    memset(buf, 0xA5, sizeof buf);
    uint32_t good = crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_uint_ne(crc32c(0, buf, sizeof buf), good);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}
END_TEST

static Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_add_test(tc, test_check_value);
    tcase_add_test(tc, test_rfc3720_vectors);
    tcase_add_test(tc, test_tables_match_reference);
    tcase_add_test(tc, test_incremental_equals_one_shot);
    tcase_add_test(tc, test_hw_matches_sw_random);
    tcase_add_test(tc, test_detects_bit_flip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crc32c_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
