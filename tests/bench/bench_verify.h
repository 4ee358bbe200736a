/* Checks on consumed messages: the count, per-partition offsets that run
 * without gaps, values of the expected size, and (when values carry a
 * sequence number, see bench_payload.h) every message seen exactly once. */
#ifndef CAIRN_BENCH_VERIFY_H
#define CAIRN_BENCH_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int partitions;
    uint64_t messages;
    size_t size;
    int64_t *first_offset;        /* [partitions], -1 until a message */
    int64_t *next_offset;         /* [partitions] */
    uint64_t *count;              /* [partitions] */
    unsigned char *seen;          /* bitmap of sequence numbers, or NULL */
    uint64_t gaps, duplicates, foreign, wrong_size;
    int gap_partition;            /* the first gap: where and what */
    int64_t gap_expected, gap_got;
} bench_verify_t;

/* For `messages` messages of `size` bytes over `partitions` partitions. */
bool bench_verify_init(bench_verify_t *v, int partitions, uint64_t messages, size_t size);
void bench_verify_free(bench_verify_t *v);

void bench_verify_message(bench_verify_t *v, int partition, int64_t offset,
                          const void *value, size_t len);

/* Whether everything checked out; writes a one-line summary to note.
 * expected (may be NULL): the count each partition must have yielded. */
bool bench_verify_finish(const bench_verify_t *v, const uint64_t *expected, char *note,
                         size_t note_size);

#endif
