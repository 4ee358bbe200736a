/* CRC32C (Castagnoli), as used by Kafka record batches and Cairn's own files.
 * Uses the SSE4.2 instruction when the CPU has it, else a table fallback. */
#ifndef CAIRN_CRC32C_H
#define CAIRN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c(0, buf, len) is the CRC of buf; pass a previous result as crc to
 * continue over more bytes. Thread-safe. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable and hardware variants, exposed so tests can compare them.
 * crc32c_hw must only be called when crc32c_hw_available() returns 1. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
int crc32c_hw_available(void);

#endif
