/* The figures of one benchmark phase, printed as a human line and, with
 * --json, as one JSON object on stdout. */
#ifndef CAIRN_BENCH_REPORT_H
#define CAIRN_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_latency.h"
#include "bench_opts.h"

typedef struct {
    const char *phase;            /* "produce", "consume" or "latency" */
    bool ok;                      /* false: the phase failed (see note) */
    uint64_t messages;            /* delivered / consumed */
    uint64_t bytes;               /* value + key bytes of those */
    double seconds;
    uint64_t failures;            /* failed deliveries / consumer errors */
    bool has_latency;
    bench_percentiles_t lat;
    double rate;                  /* latency phase: the target rate */
    double first_ms;              /* consume: time to the first message */
    char note[256];               /* what the verification found */
} bench_result_t;

/* Prints r for a run against `target` ("mock" or the bootstrap list). */
void bench_report(const bench_opts_t *o, const char *target, const bench_result_t *r);

#endif
