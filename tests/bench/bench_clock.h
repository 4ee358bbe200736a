/* The benchmark's one clock: monotonic nanoseconds. */
#ifndef CAIRN_BENCH_CLOCK_H
#define CAIRN_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double bench_seconds_since(uint64_t t0_ns)
{
    return (double)(bench_now_ns() - t0_ns) / 1e9;
}

#endif
