/* Delivery-latency sampling and percentiles (see bench_latency.h). */
#include "bench_latency.h"

#include <stdlib.h>
#include <string.h>

bool bench_latency_init(bench_latency_t *l, uint64_t messages)
{
    memset(l, 0, sizeof *l);
    l->every = (messages + BENCH_LATENCY_MAX_SAMPLES - 1) / BENCH_LATENCY_MAX_SAMPLES;
    if (l->every == 0)
        l->every = 1;
    l->cap = (size_t)((messages + l->every - 1) / l->every);
    if (l->cap == 0)
        l->cap = 1;
    l->sent_ns = calloc(l->cap, sizeof *l->sent_ns);
    l->lat_ns = calloc(l->cap, sizeof *l->lat_ns);
    return l->sent_ns && l->lat_ns;
}

void bench_latency_free(bench_latency_t *l)
{
    free(l->sent_ns);
    free(l->lat_ns);
    memset(l, 0, sizeof *l);
}

long bench_latency_slot(const bench_latency_t *l, uint64_t i)
{
    if (i % l->every)
        return -1;
    uint64_t slot = i / l->every;
    return slot < l->cap ? (long)slot : -1;
}

void bench_latency_sent(bench_latency_t *l, long slot, uint64_t now_ns)
{
    if (slot >= 0)
        l->sent_ns[slot] = now_ns;
}

void bench_latency_delivered(bench_latency_t *l, long slot, uint64_t now_ns)
{
    if (slot < 0 || (size_t)slot >= l->cap || l->n_done == l->cap)
        return;
    l->lat_ns[l->n_done++] = now_ns - l->sent_ns[slot];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double rank_ms(const uint64_t *sorted, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);   /* nearest rank, 1-based */
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)sorted[k - 1] / 1e6;
}

bench_percentiles_t bench_latency_percentiles(bench_latency_t *l)
{
    bench_percentiles_t p = { .samples = l->n_done };
    if (l->n_done == 0)
        return p;
    qsort(l->lat_ns, l->n_done, sizeof *l->lat_ns, cmp_u64);
    p.p50_ms = rank_ms(l->lat_ns, l->n_done, 0.50);
    p.p99_ms = rank_ms(l->lat_ns, l->n_done, 0.99);
    p.p999_ms = rank_ms(l->lat_ns, l->n_done, 0.999);
    p.max_ms = (double)l->lat_ns[l->n_done - 1] / 1e6;
    return p;
}
