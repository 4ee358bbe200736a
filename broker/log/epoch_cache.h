/* The leader-epoch cache of a partition log (Kafka's LeaderEpochFileCache):
 * an ordered list of (epoch, start offset), the first offset written in
 * each leader epoch, with Kafka's rules for adding, truncating and answering
 * OffsetsForLeaderEpoch (KIP-101, KIP-279), and the text format of the
 * leader-epoch-checkpoint file. Pure: no I/O, owns only its memory. */
#ifndef CAIRN_EPOCH_CACHE_H
#define CAIRN_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPOCH_UNDEFINED (-1)             /* Kafka's UNDEFINED_EPOCH */
#define EPOCH_UNDEFINED_OFFSET (-1)      /* Kafka's UNDEFINED_EPOCH_OFFSET */

typedef struct epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} epoch_entry_t;

/* Invariant: epochs and start offsets strictly increase along v[0..n). */
typedef struct epoch_cache {
    epoch_entry_t *v;                    /* owned */
    size_t n, cap;
} epoch_cache_t;

void epoch_cache_init(epoch_cache_t *c);
void epoch_cache_free(epoch_cache_t *c);
void epoch_cache_clear(epoch_cache_t *c);

/* Makes room for `more` entries so that the next assigns cannot fail.
 * Returns 0, or -1 when out of memory. */
int epoch_cache_reserve(epoch_cache_t *c, size_t more);

int32_t epoch_cache_latest(const epoch_cache_t *c);              /* -1 when empty */
/* Start offset of exactly that epoch, -1 when it has no entry. */
int64_t epoch_cache_start_of(const epoch_cache_t *c, int32_t epoch);

/* Records that epoch starts at start_offset. Nothing happens when epoch is
 * the latest epoch. Otherwise epoch must be above the latest and
 * start_offset at or above the latest entry's; an entry with the same start
 * offset is replaced (an epoch in which nothing was written, as Kafka's
 * assign does). Preconditions asserted; room reserved or -1 (out of
 * memory). Returns 1 when the cache changed, 0 when not. */
int epoch_cache_assign(epoch_cache_t *c, int32_t epoch, int64_t start_offset);

/* KIP-101 truncation of the log end to end_offset: removes the entries
 * starting at or after it. Returns true when something was removed. */
bool epoch_cache_truncate_from_end(epoch_cache_t *c, int64_t end_offset);

/* The log start moved to start_offset: removes the entries starting at or
 * before it and puts the last of them back starting at start_offset (its
 * epoch still covers the new log start). Returns true when changed. */
bool epoch_cache_truncate_from_start(epoch_cache_t *c, int64_t start_offset);

/* OffsetsForLeaderEpoch, exactly as Kafka's LeaderEpochFileCache.endOffsetFor:
 *  - epoch == EPOCH_UNDEFINED: (EPOCH_UNDEFINED, EPOCH_UNDEFINED_OFFSET);
 *  - epoch is the latest cached epoch: (epoch, log_end_offset);
 *  - no cached epoch above epoch (empty cache, or epoch above the latest):
 *    (EPOCH_UNDEFINED, EPOCH_UNDEFINED_OFFSET);
 *  - epoch below every cached epoch: (epoch, start of the first entry) —
 *    that history was removed, so the follower replicates from there;
 *  - otherwise (largest cached epoch <= epoch, start offset of the next
 *    larger cached epoch) (KIP-279).
 * Returns the offset and sets *epoch_out. */
int64_t epoch_cache_end_offset_for(const epoch_cache_t *c, int32_t epoch,
                                   int64_t log_end_offset, int32_t *epoch_out);

/* True when epochs and start offsets are >= 0 and strictly increase: what
 * a checkpoint read from disk must satisfy. */
bool epoch_cache_well_formed(const epoch_cache_t *c);

/* Kafka's checkpoint text: "0\n<count>\n" then "<epoch> <start_offset>\n"
 * per entry. Returns an owned, NUL-terminated string and its length in
 * *len, or NULL when out of memory. */
char *epoch_cache_format(const epoch_cache_t *c, size_t *len);

/* Parses checkpoint text (text[0..len), need not be NUL-terminated) into c
 * (cleared first). Version 0 only; the count must match the entry lines;
 * entries must be well formed. Returns 0, or -1 (c left empty) when the
 * text is malformed or out of memory. */
int epoch_cache_parse(epoch_cache_t *c, const char *text, size_t len);

#endif
