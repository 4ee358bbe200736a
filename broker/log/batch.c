/* Kafka record batch (magic 2) header decoding, validation and record
 * iteration (batch.h). Pure: everything works on caller-owned bytes. */
#include "batch.h"

#include "crc32c.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

size_t batch_total_bytes(const uint8_t *p, size_t avail)
{
    if (avail < BATCH_LOG_OVERHEAD)
        return 0;
    int32_t len = (int32_t)rd32(p + 8);
    if (len < 0)
        return 0;
    return BATCH_LOG_OVERHEAD + (size_t)len;
}

void batch_header_decode(const uint8_t *p, size_t len, batch_header_t *out)
{
    (void)len;
    out->base_offset = (int64_t)rd64(p);
    out->batch_length = (int32_t)rd32(p + 8);
    out->partition_leader_epoch = (int32_t)rd32(p + 12);
    out->magic = (int8_t)p[16];
    out->crc = rd32(p + 17);
    out->attributes = (int16_t)((uint16_t)p[21] << 8 | p[22]);
    out->last_offset_delta = (int32_t)rd32(p + 23);
    out->base_timestamp = (int64_t)rd64(p + 27);
    out->max_timestamp = (int64_t)rd64(p + 35);
    out->producer_id = (int64_t)rd64(p + 43);
    out->producer_epoch = (int16_t)((uint16_t)p[51] << 8 | p[52]);
    out->base_sequence = (int32_t)rd32(p + 53);
    out->record_count = (int32_t)rd32(p + 57);
}

/* Zig-zag varint (Kafka's VARINT/VARLONG) of at most max_bytes bytes. */
static int rd_varlong(const uint8_t **pp, const uint8_t *end, int max_bytes, int64_t *out)
{
    uint64_t v = 0;
    const uint8_t *p = *pp;
    for (int i = 0; i < max_bytes; i++) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *pp = p;
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

static int rd_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    int64_t v;
    if (rd_varlong(pp, end, 5, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* A length-prefixed byte field (-1 = null when nullable). */
static int rd_bytes(const uint8_t **pp, const uint8_t *end, bool nullable,
                    const uint8_t **data, int32_t *len)
{
    if (rd_varint(pp, end, len) != 0)
        return -1;
    if (*len == -1 && nullable) {
        *data = NULL;
        return 0;
    }
    if (*len < 0 || (size_t)*len > (size_t)(end - *pp))
        return -1;
    *data = *pp;
    *pp += *len;
    return 0;
}

static int parse_headers(const uint8_t **pp, const uint8_t *end, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *d;
        int32_t n;
        if (rd_bytes(pp, end, false, &d, &n) != 0 || rd_bytes(pp, end, true, &d, &n) != 0)
            return -1;
    }
    return 0;
}

/* Parses one record at *pp (bounded by end); advances *pp past it. */
static int parse_record(const uint8_t **pp, const uint8_t *end, const batch_header_t *h,
                        batch_record_t *rec)
{
    int32_t len, offset_delta;
    int64_t ts_delta;
    if (rd_varint(pp, end, &len) != 0 || len < 0 || (size_t)len > (size_t)(end - *pp))
        return -1;
    const uint8_t *rend = *pp + len;
    const uint8_t *p = *pp;
    if (p >= rend)
        return -1;
    p++;                                   /* attributes, unused */
    if (rd_varlong(&p, rend, 10, &ts_delta) != 0 || rd_varint(&p, rend, &offset_delta) != 0)
        return -1;
    if (rd_bytes(&p, rend, true, &rec->key, &rec->key_len) != 0 ||
        rd_bytes(&p, rend, true, &rec->value, &rec->value_len) != 0)
        return -1;
    if (rd_varint(&p, rend, &rec->header_count) != 0 || rec->header_count < 0)
        return -1;
    rec->headers = p;
    if (parse_headers(&p, rend, rec->header_count) != 0 || p != rend)
        return -1;
    rec->headers_len = (size_t)(p - rec->headers);
    rec->offset = h->base_offset + offset_delta;
    rec->timestamp = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)ts_delta);
    *pp = rend;
    return 0;
}

static batch_err_t validate_records(const uint8_t *p, size_t total, const batch_header_t *h)
{
    batch_iter_t it;
    batch_record_t rec;
    batch_iter_init(&it, p, total);
    for (int32_t i = 0; i < h->record_count; i++) {
        if (batch_iter_next(&it, &rec) != 1 || rec.offset != h->base_offset + i)
            return BATCH_BAD_RECORDS;
    }
    return it.p == it.end ? BATCH_OK : BATCH_BAD_RECORDS;
}

batch_err_t batch_validate_frame(const uint8_t *p, size_t avail, size_t max_bytes,
                                 batch_header_t *hdr, size_t *total)
{
    if (avail < BATCH_LOG_OVERHEAD)
        return BATCH_SHORT;
    int32_t len = (int32_t)rd32(p + 8);
    if (len < BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD)
        return BATCH_BAD_LENGTH;
    size_t size = BATCH_LOG_OVERHEAD + (size_t)len;
    if (size > max_bytes)
        return BATCH_BAD_LENGTH;
    if (size > avail)
        return BATCH_SHORT;
    batch_header_t h;
    batch_header_decode(p, size, &h);
    if (h.magic != BATCH_MAGIC)
        return BATCH_BAD_MAGIC;
    if (crc32c(0, p + BATCH_CRC_START, size - BATCH_CRC_START) != h.crc)
        return BATCH_BAD_CRC;
    int codec = h.attributes & BATCH_ATTR_CODEC_MASK;
    if (codec > BATCH_CODEC_ZSTD)
        return BATCH_BAD_CODEC;
    if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1)
        return BATCH_BAD_COUNT;
    if (hdr)
        *hdr = h;
    *total = size;
    return BATCH_OK;
}

batch_err_t batch_validate(const uint8_t *p, size_t avail, size_t max_bytes,
                           batch_header_t *hdr, size_t *total)
{
    batch_header_t h;
    batch_err_t e = batch_validate_frame(p, avail, max_bytes, &h, total);
    if (e != BATCH_OK)
        return e;
    if ((h.attributes & BATCH_ATTR_CODEC_MASK) == BATCH_CODEC_NONE) {
        e = validate_records(p, *total, &h);
        if (e != BATCH_OK)
            return e;
    }
    if (hdr)
        *hdr = h;
    return BATCH_OK;
}

void batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    wr32(p, (uint32_t)((uint64_t)base_offset >> 32));
    wr32(p + 4, (uint32_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
    wr32(p + 12, (uint32_t)epoch);
}

const char *batch_err_name(batch_err_t e)
{
    switch (e) {
    case BATCH_OK: return "ok";
    case BATCH_SHORT: return "short";
    case BATCH_BAD_LENGTH: return "bad length";
    case BATCH_BAD_MAGIC: return "bad magic";
    case BATCH_BAD_CRC: return "bad crc";
    case BATCH_BAD_COUNT: return "bad record count";
    case BATCH_BAD_RECORDS: return "bad records";
    case BATCH_BAD_CODEC: return "bad codec";
    }
    return "unknown";
}

const char *batch_codec_name(int attributes)
{
    static const char *const names[8] = {"none", "gzip", "snappy", "lz4", "zstd",
                                         "codec5", "codec6", "codec7"};
    return names[attributes & BATCH_ATTR_CODEC_MASK];
}

void batch_iter_init(batch_iter_t *it, const uint8_t *batch, size_t total)
{
    batch_header_decode(batch, total, &it->hdr);
    it->p = batch + BATCH_HEADER_BYTES;
    it->end = batch + total;
    it->next_index = 0;
}

int batch_iter_next(batch_iter_t *it, batch_record_t *rec)
{
    if (it->next_index >= it->hdr.record_count)
        return 0;
    if (parse_record(&it->p, it->end, &it->hdr, rec) != 0)
        return -1;
    it->next_index++;
    return 1;
}
