/* The sparse offset index of a segment (.index), Kafka's format: 8-byte
 * big-endian entries {int32 offset relative to the segment's base, int32
 * byte position in the .log}. An entry names the last offset of a batch and
 * the position where that batch starts; keys and positions strictly
 * increase. */
#ifndef CAIRN_OFFSET_INDEX_H
#define CAIRN_OFFSET_INDEX_H

#include <stdint.h>
#include <sys/types.h>

#include "index_file.h"

#define OFFSET_INDEX_ENTRY_BYTES 8

typedef struct offset_index_entry {
    int32_t rel_offset;
    uint32_t position;
} offset_index_entry_t;

/* Adds an entry in memory (asserts it is above the last one). */
int offset_index_push(index_file_t *f, int32_t rel_offset, uint32_t position);
void offset_index_get(const uint8_t *data, size_t i, offset_index_entry_t *out);
/* Index of the last entry with rel_offset <= rel, or -1. */
ssize_t offset_index_floor(index_file_t *f, int64_t rel);
/* Index of the last entry with position <= pos, or -1. */
ssize_t offset_index_floor_position(index_file_t *f, uint64_t pos);
/* Number of entries with rel_offset < rel (those kept by a truncation). */
size_t offset_index_count_below(index_file_t *f, int64_t rel);

#endif
