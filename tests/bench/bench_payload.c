/* Reproducible payloads (see bench_payload.h). */
#include "bench_payload.h"

#include <string.h>

/* splitmix64: a fast generator with a 64-bit state, good enough to make
 * payload bytes look random to a compressor. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

void bench_payload_fill(unsigned char *buf, size_t len, uint64_t seed, uint64_t i)
{
    uint64_t state = seed * 0x100000001b3ull ^ i;
    size_t off = 0;
    if (len >= BENCH_PAYLOAD_SEQ_BYTES) {
        put_le64(buf, i);
        off = BENCH_PAYLOAD_SEQ_BYTES;
    }
    /* Whole words in host byte order (the bytes are random either way),
     * then the tail. */
    for (; off + 8 <= len; off += 8) {
        uint64_t z = splitmix64(&state);
        memcpy(buf + off, &z, 8);
    }
    if (off < len) {
        uint64_t z = splitmix64(&state);
        memcpy(buf + off, &z, len - off);
    }
}

uint64_t bench_payload_seq(const void *value, size_t len)
{
    if (len < BENCH_PAYLOAD_SEQ_BYTES)
        return UINT64_MAX;
    const unsigned char *p = value;
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}
