/* The time index of a segment (.timeindex), Kafka's format: 12-byte
 * big-endian entries {int64 timestamp, int32 offset relative to the
 * segment's base}. An entry says: up to that offset (the last offset of a
 * batch) the largest timestamp is that timestamp; both strictly increase
 * (timestamps) and never decrease (offsets). The last entry of a sealed
 * segment holds the segment's max timestamp. */
#ifndef CAIRN_TIME_INDEX_H
#define CAIRN_TIME_INDEX_H

#include <stdint.h>
#include <sys/types.h>

#include "index_file.h"

#define TIME_INDEX_ENTRY_BYTES 12

typedef struct time_index_entry {
    int64_t timestamp;
    int32_t rel_offset;
} time_index_entry_t;

/* Adds an entry in memory when timestamp is above the last entry's; returns
 * 0 (also when nothing was added) or -1 on ENOMEM. */
int time_index_maybe_push(index_file_t *f, int64_t timestamp, int32_t rel_offset);
void time_index_get(const uint8_t *data, size_t i, time_index_entry_t *out);
/* Index of the last entry with timestamp < ts, or -1. */
ssize_t time_index_floor_below(index_file_t *f, int64_t ts);
/* Number of entries with rel_offset < rel (those kept by a truncation). */
size_t time_index_count_below(index_file_t *f, int64_t rel);

#endif
