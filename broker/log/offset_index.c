/* Offset index entries (offset_index.h): encoding and binary searches. */
#include "offset_index.h"

#include "cairn_assert.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void offset_index_get(const uint8_t *data, size_t i, offset_index_entry_t *out)
{
    const uint8_t *p = data + i * OFFSET_INDEX_ENTRY_BYTES;
    out->rel_offset = (int32_t)rd32(p);
    out->position = rd32(p + 4);
}

int offset_index_push(index_file_t *f, int32_t rel_offset, uint32_t position)
{
    if (f->count > 0) {
        offset_index_entry_t last;
        offset_index_get(f->mem, f->count - 1, &last);
        CAIRN_ASSERT(rel_offset > last.rel_offset && position > last.position);
    }
    CAIRN_ASSERT(rel_offset >= 0);
    uint8_t e[OFFSET_INDEX_ENTRY_BYTES];
    wr32(e, (uint32_t)rel_offset);
    wr32(e + 4, position);
    return index_file_push(f, e);
}

/* Number of leading entries for which below(entry) holds; below must be
 * true for a prefix of the entries only (they are sorted). */
static size_t count_prefix(index_file_t *f, int64_t key, bool by_position, bool inclusive)
{
    const uint8_t *d = index_file_data(f);
    if (!d)
        return 0;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        offset_index_entry_t e;
        offset_index_get(d, mid, &e);
        int64_t v = by_position ? (int64_t)e.position : e.rel_offset;
        if (v < key || (inclusive && v == key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ssize_t offset_index_floor(index_file_t *f, int64_t rel)
{
    return (ssize_t)count_prefix(f, rel, false, true) - 1;
}

ssize_t offset_index_floor_position(index_file_t *f, uint64_t pos)
{
    int64_t p = pos > INT64_MAX ? INT64_MAX : (int64_t)pos;
    return (ssize_t)count_prefix(f, p, true, true) - 1;
}

size_t offset_index_count_below(index_file_t *f, int64_t rel)
{
    return count_prefix(f, rel, false, false);
}
