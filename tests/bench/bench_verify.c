/* Consumed-message checks (see bench_verify.h). */
#include "bench_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_payload.h"

bool bench_verify_init(bench_verify_t *v, int partitions, uint64_t messages, size_t size)
{
    memset(v, 0, sizeof *v);
    v->partitions = partitions;
    v->messages = messages;
    v->size = size;
    v->gap_partition = -1;
    v->first_offset = malloc((size_t)partitions * sizeof *v->first_offset);
    v->next_offset = malloc((size_t)partitions * sizeof *v->next_offset);
    v->count = calloc((size_t)partitions, sizeof *v->count);
    if (size >= BENCH_PAYLOAD_SEQ_BYTES)
        v->seen = calloc((size_t)(messages / 8 + 1), 1);
    if (!v->first_offset || !v->next_offset || !v->count ||
        (size >= BENCH_PAYLOAD_SEQ_BYTES && !v->seen))
        return false;
    for (int p = 0; p < partitions; p++)
        v->first_offset[p] = v->next_offset[p] = -1;
    return true;
}

void bench_verify_free(bench_verify_t *v)
{
    free(v->first_offset);
    free(v->next_offset);
    free(v->count);
    free(v->seen);
    memset(v, 0, sizeof *v);
}

static void check_offset(bench_verify_t *v, int p, int64_t offset)
{
    if (v->first_offset[p] < 0)
        v->first_offset[p] = offset;
    else if (offset != v->next_offset[p] && v->gaps++ == 0) {
        v->gap_partition = p;
        v->gap_expected = v->next_offset[p];
        v->gap_got = offset;
    }
    v->next_offset[p] = offset + 1;
}

static void check_seq(bench_verify_t *v, const void *value, size_t len)
{
    uint64_t seq = bench_payload_seq(value, len);
    if (seq >= v->messages) {
        v->foreign++;
        return;
    }
    unsigned char bit = (unsigned char)(1u << (seq % 8));
    if (v->seen[seq / 8] & bit)
        v->duplicates++;
    v->seen[seq / 8] |= bit;
}

void bench_verify_message(bench_verify_t *v, int partition, int64_t offset,
                          const void *value, size_t len)
{
    if (partition < 0 || partition >= v->partitions) {
        v->foreign++;
        return;
    }
    v->count[partition]++;
    check_offset(v, partition, offset);
    if (len != v->size)
        v->wrong_size++;
    else if (v->seen)
        check_seq(v, value, len);
}

/* The first partition whose count differs from expected, or -1. */
static int count_mismatch(const bench_verify_t *v, const uint64_t *expected)
{
    for (int p = 0; expected && p < v->partitions; p++)
        if (v->count[p] != expected[p])
            return p;
    return -1;
}

bool bench_verify_finish(const bench_verify_t *v, const uint64_t *expected, char *note,
                         size_t note_size)
{
    int bad = count_mismatch(v, expected);
    if (v->gaps)
        snprintf(note, note_size, "%llu offset gaps (first: partition %d expected offset %lld, "
                 "got %lld)", (unsigned long long)v->gaps, v->gap_partition,
                 (long long)v->gap_expected, (long long)v->gap_got);
    else if (v->duplicates || v->foreign || v->wrong_size)
        snprintf(note, note_size, "%llu duplicates, %llu not from this run, %llu of the wrong "
                 "size", (unsigned long long)v->duplicates, (unsigned long long)v->foreign,
                 (unsigned long long)v->wrong_size);
    else if (bad >= 0)
        snprintf(note, note_size, "partition %d yielded %llu messages, %llu were delivered to it",
                 bad, (unsigned long long)v->count[bad], (unsigned long long)expected[bad]);
    else
        snprintf(note, note_size, "offsets contiguous in all %d partitions%s", v->partitions,
                 v->seen ? ", every message once" : "");
    return !v->gaps && !v->duplicates && !v->foreign && !v->wrong_size && bad < 0;
}
