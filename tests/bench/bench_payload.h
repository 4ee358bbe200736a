/* Reproducible message payloads: message i of a run with seed S always has
 * the same bytes (on hosts of one byte order). The first 8 bytes (when the value is that long) carry i,
 * little-endian, so a consumer can check that every message arrived once;
 * the rest are pseudo-random (incompressible). */
#ifndef CAIRN_BENCH_PAYLOAD_H
#define CAIRN_BENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_PAYLOAD_SEQ_BYTES 8

/* Writes the len-byte value of message i into buf. */
void bench_payload_fill(unsigned char *buf, size_t len, uint64_t seed, uint64_t i);

/* The message index stamped into a value, or UINT64_MAX when the value is
 * shorter than BENCH_PAYLOAD_SEQ_BYTES. */
uint64_t bench_payload_seq(const void *value, size_t len);

#endif
