/* Delivery-latency samples: the send time of every Nth message, the
 * latencies of those delivered, and their percentiles. */
#ifndef CAIRN_BENCH_LATENCY_H
#define CAIRN_BENCH_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many samples per phase, whatever the message count. */
#define BENCH_LATENCY_MAX_SAMPLES 200000

typedef struct {
    uint64_t every;        /* sample message i when i % every == 0 */
    size_t cap;
    uint64_t *sent_ns;     /* [cap]: time of the produce() call of sample k */
    uint64_t *lat_ns;      /* [n_done]: latencies of delivered samples */
    size_t n_done;
} bench_latency_t;

typedef struct {
    size_t samples;
    double p50_ms, p99_ms, p999_ms, max_ms;
} bench_percentiles_t;

/* Sizes the sample arrays for a phase of `messages` messages. Returns false
 * when out of memory. */
bool bench_latency_init(bench_latency_t *l, uint64_t messages);
void bench_latency_free(bench_latency_t *l);

/* The sample slot of message i, or -1 when message i is not sampled. */
long bench_latency_slot(const bench_latency_t *l, uint64_t i);

void bench_latency_sent(bench_latency_t *l, long slot, uint64_t now_ns);
void bench_latency_delivered(bench_latency_t *l, long slot, uint64_t now_ns);

/* Sorts the samples and reads the percentiles (nearest rank). */
bench_percentiles_t bench_latency_percentiles(bench_latency_t *l);

#endif
