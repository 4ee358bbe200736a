/* Framing of Raft entries in log segments (layout at the top of
 * raft_store.c): encoding one frame header and scanning a segment image,
 * validating every frame (length bound, CRC32C, index continuity, terms). */
#ifndef CAIRN_STORE_FRAME_H
#define CAIRN_STORE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* u32 data_len | u32 crc32c | u64 index | u64 term | u32 type | data */
#define STORE_FRAME_LEN_OFFSET 0
#define STORE_FRAME_CRC_OFFSET 4
#define STORE_FRAME_INDEX_OFFSET 8
#define STORE_FRAME_TERM_OFFSET 16
#define STORE_FRAME_TYPE_OFFSET 24
#define STORE_FRAME_HEADER_BYTES 28

static inline void store_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void store_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t store_get_u32le(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t store_get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Fills hdr for e (borrowed), CRC included. Precondition: e->len bytes at
 * e->data (NULL only when len is 0). */
void store_frame_encode(uint8_t hdr[STORE_FRAME_HEADER_BYTES], const raft_entry_t *e);

/* Called for each valid frame, in order. e and e->data are borrowed for the
 * call only (they point into the scanned image). Returns 0 to go on, 1 to
 * end the log at this entry (*reason set to a static string), -1 to abort
 * the scan (an error that is not the data's fault, e.g. out of memory). */
typedef int (*store_frame_fn)(void *ctx, const raft_entry_t *e, const char **reason);

typedef struct store_scan {
    /* In: index the first frame must carry and the term of the entry before
     * it (0 if none). Out: one past the last valid index, and its term. */
    uint64_t next_index;
    uint64_t last_term;
    uint64_t valid_bytes;      /* out: offset just past the last valid frame */
    const char *reason;        /* out: why the scan ended early; NULL at end of image */
    char reason_buf[128];      /* storage for a formatted reason */
} store_scan_t;

/* Scans image[0..size) frame by frame. Stops at the first invalid frame
 * (sc->reason says why), before the frame carrying stop_index (reason NULL;
 * pass UINT64_MAX for none), or at the end. fn may be NULL. Returns 0, or -1
 * when fn aborted. image is borrowed. */
int store_frame_scan(const uint8_t *image, uint64_t size, size_t entry_max_bytes,
                     uint64_t stop_index, store_scan_t *sc, store_frame_fn fn,
                     void *ctx);

#endif
