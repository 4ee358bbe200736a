/* The benchmark's phases. Each fills *r and returns r->ok. */
#ifndef CAIRN_BENCH_PHASES_H
#define CAIRN_BENCH_PHASES_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_opts.h"
#include "bench_report.h"

/* Produces --messages messages as fast as the producer takes them and
 * waits for every delivery report. per_partition (may be NULL) receives
 * the delivered count of each of the --partitions partitions. */
bool bench_phase_produce(const bench_opts_t *o, const char *bootstrap, bench_result_t *r,
                         uint64_t *per_partition);

/* Reads --messages messages from offset beginning of every partition and
 * checks them. expected (may be NULL) is the count each partition must
 * yield, from a produce phase of the same run. */
bool bench_phase_consume(const bench_opts_t *o, const char *bootstrap, bench_result_t *r,
                         const uint64_t *expected);

/* Produces at --rate messages per second for --seconds and measures the
 * delivery latency of every message. */
bool bench_phase_latency(const bench_opts_t *o, const char *bootstrap, bench_result_t *r);

#endif
