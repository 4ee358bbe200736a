/* Time index entries (time_index.h): encoding and binary searches. */
#include "time_index.h"

#include <stdbool.h>

#include "cairn_assert.h"

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

void time_index_get(const uint8_t *data, size_t i, time_index_entry_t *out)
{
    const uint8_t *p = data + i * TIME_INDEX_ENTRY_BYTES;
    out->timestamp = (int64_t)rd64(p);
    out->rel_offset = (int32_t)((uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
                                (uint32_t)p[10] << 8 | p[11]);
}

int time_index_maybe_push(index_file_t *f, int64_t timestamp, int32_t rel_offset)
{
    if (f->count > 0) {
        time_index_entry_t last;
        time_index_get(f->mem, f->count - 1, &last);
        if (timestamp <= last.timestamp)
            return 0;
        CAIRN_ASSERT(rel_offset >= last.rel_offset);
    }
    CAIRN_ASSERT(rel_offset >= 0);
    uint8_t e[TIME_INDEX_ENTRY_BYTES];
    wr64(e, (uint64_t)timestamp);
    e[8] = (uint8_t)((uint32_t)rel_offset >> 24);
    e[9] = (uint8_t)((uint32_t)rel_offset >> 16);
    e[10] = (uint8_t)((uint32_t)rel_offset >> 8);
    e[11] = (uint8_t)rel_offset;
    return index_file_push(f, e);
}

static size_t count_prefix(index_file_t *f, int64_t key, bool by_offset)
{
    const uint8_t *d = index_file_data(f);
    if (!d)
        return 0;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        time_index_entry_t e;
        time_index_get(d, mid, &e);
        if ((by_offset ? e.rel_offset : e.timestamp) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ssize_t time_index_floor_below(index_file_t *f, int64_t ts)
{
    return (ssize_t)count_prefix(f, ts, false) - 1;
}

size_t time_index_count_below(index_file_t *f, int64_t rel)
{
    return count_prefix(f, rel, true);
}
