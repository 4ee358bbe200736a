/* Kafka's choice of a group's coordinator partition. */
#include "group_partition.h"

#include <stdbool.h>
#include <stddef.h>

#include "cairn_assert.h"

#define REPLACEMENT_CHAR 0xFFFDu

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Decodes one UTF-8 sequence at s (not at its end); *len is its length, 1
 * for a byte that starts no valid sequence (then U+FFFD). */
static uint32_t utf8_next(const unsigned char *s, size_t *len)
{
    unsigned char c = s[0];
    *len = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF && is_cont(s[1])) {
        *len = 2;
        return (uint32_t)(c & 0x1F) << 6 | (s[1] & 0x3F);
    }
    if (c >= 0xE0 && c <= 0xEF && is_cont(s[1]) && is_cont(s[2])) {
        uint32_t cp = (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
            return REPLACEMENT_CHAR;
        *len = 3;
        return cp;
    }
    if (c >= 0xF0 && c <= 0xF4 && is_cont(s[1]) && is_cont(s[2]) && is_cont(s[3])) {
        uint32_t cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                      (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
        if (cp < 0x10000 || cp > 0x10FFFF)
            return REPLACEMENT_CHAR;
        *len = 4;
        return cp;
    }
    return REPLACEMENT_CHAR;
}

int32_t cairn_group_partition_for(const char *group, int32_t n)
{
    CAIRN_ASSERT(n > 0);
    uint32_t h = 0;   /* Java int arithmetic: wraps */
    const unsigned char *s = (const unsigned char *)group;
    while (*s) {
        size_t len;
        uint32_t cp = utf8_next(s, &len);
        s += len;
        if (cp >= 0x10000) {   /* a surrogate pair in UTF-16 */
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    /* Kafka's Utils.abs maps Integer.MIN_VALUE to 0. */
    int64_t v = h & 0x80000000u ? (int64_t)h - 0x100000000 : (int64_t)h;
    if (v == INT32_MIN)
        v = 0;
    return (int32_t)((v < 0 ? -v : v) % n);
}
