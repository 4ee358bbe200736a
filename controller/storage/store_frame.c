/* Framing of Raft entries in log segments: encode a frame header, scan and
 * validate a segment image. Bad bytes are reported, never asserted on. */
#include "store_frame.h"

#include <inttypes.h>
#include <stdio.h>

#include "crc32c.h"

/* The CRC covers every byte of the frame but its own field: the length
 * (so a flipped length cannot pass as a shorter valid entry), the index,
 * term and type, and the data. */
static uint32_t frame_crc(const uint8_t *hdr, const uint8_t *data, uint32_t len)
{
    uint32_t crc = crc32c(0, hdr + STORE_FRAME_LEN_OFFSET, 4);
    crc = crc32c(crc, hdr + STORE_FRAME_INDEX_OFFSET,
                 STORE_FRAME_HEADER_BYTES - STORE_FRAME_INDEX_OFFSET);
    if (len > 0)
        crc = crc32c(crc, data, len);
    return crc;
}

void store_frame_encode(uint8_t hdr[STORE_FRAME_HEADER_BYTES], const raft_entry_t *e)
{
    store_put_u32le(hdr + STORE_FRAME_LEN_OFFSET, e->len);
    store_put_u32le(hdr + STORE_FRAME_CRC_OFFSET, 0);
    store_put_u64le(hdr + STORE_FRAME_INDEX_OFFSET, e->index);
    store_put_u64le(hdr + STORE_FRAME_TERM_OFFSET, e->term);
    store_put_u32le(hdr + STORE_FRAME_TYPE_OFFSET, e->type);
    store_put_u32le(hdr + STORE_FRAME_CRC_OFFSET, frame_crc(hdr, e->data, e->len));
}

/* Decodes the frame at p (avail bytes left in the image) into *e. Returns
 * the frame's size, or 0 with sc->reason set when the frame is invalid. */
static uint64_t frame_decode(const uint8_t *p, uint64_t avail, size_t entry_max_bytes,
                             store_scan_t *sc, raft_entry_t *e)
{
    if (avail < STORE_FRAME_HEADER_BYTES) {
        sc->reason = "torn frame header";
        return 0;
    }
    uint32_t len = store_get_u32le(p + STORE_FRAME_LEN_OFFSET);
    if (len > entry_max_bytes) {
        snprintf(sc->reason_buf, sizeof sc->reason_buf,
                 "length %" PRIu32 " over entry_max_bytes %zu", len, entry_max_bytes);
        sc->reason = sc->reason_buf;
        return 0;
    }
    if (len > avail - STORE_FRAME_HEADER_BYTES) {
        sc->reason = "torn frame data";
        return 0;
    }
    const uint8_t *data = p + STORE_FRAME_HEADER_BYTES;
    if (frame_crc(p, data, len) != store_get_u32le(p + STORE_FRAME_CRC_OFFSET)) {
        sc->reason = "CRC32C mismatch";
        return 0;
    }
    e->index = store_get_u64le(p + STORE_FRAME_INDEX_OFFSET);
    e->term = store_get_u64le(p + STORE_FRAME_TERM_OFFSET);
    e->type = store_get_u32le(p + STORE_FRAME_TYPE_OFFSET);
    e->len = len;
    /* Callbacks only read: raft_entry_t has no const variant of data. */
    e->data = len > 0 ? (uint8_t *)(uintptr_t)data : NULL;
    return STORE_FRAME_HEADER_BYTES + (uint64_t)len;
}

/* Raft log invariants a valid frame must keep: consecutive indexes, and
 * terms that never decrease along the log (Raft §5.3, log matching). */
static int frame_in_sequence(const raft_entry_t *e, store_scan_t *sc)
{
    if (e->index != sc->next_index) {
        snprintf(sc->reason_buf, sizeof sc->reason_buf,
                 "index %" PRIu64 " where %" PRIu64 " was expected", e->index,
                 sc->next_index);
        sc->reason = sc->reason_buf;
        return 0;
    }
    if (e->term < sc->last_term) {
        snprintf(sc->reason_buf, sizeof sc->reason_buf,
                 "term %" PRIu64 " below the previous entry's %" PRIu64, e->term,
                 sc->last_term);
        sc->reason = sc->reason_buf;
        return 0;
    }
    return 1;
}

int store_frame_scan(const uint8_t *image, uint64_t size, size_t entry_max_bytes,
                     uint64_t stop_index, store_scan_t *sc, store_frame_fn fn,
                     void *ctx)
{
    sc->valid_bytes = 0;
    sc->reason = NULL;
    uint64_t off = 0;
    while (off < size && sc->next_index != stop_index) {
        raft_entry_t e;
        uint64_t frame_bytes = frame_decode(image + off, size - off, entry_max_bytes,
                                            sc, &e);
        if (frame_bytes == 0 || !frame_in_sequence(&e, sc))
            return 0;
        if (fn != NULL) {
            const char *why = NULL;
            int rc = fn(ctx, &e, &why);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                sc->reason = why != NULL ? why : "refused";
                return 0;
            }
        }
        off += frame_bytes;
        sc->valid_bytes = off;
        sc->next_index = e.index + 1;
        sc->last_term = e.term;
    }
    return 0;
}
