/* Produce phase: throughput of --messages messages and their delivery
 * latency under that load. */
#include "bench_phases.h"

#include <stdio.h>
#include <string.h>

#include "bench_clock.h"
#include "bench_producer.h"

/* Fills r from the producer's counters after a run started at t0_ns. */
static void collect(bench_producer_t *p, uint64_t t0_ns, bench_result_t *r)
{
    uint64_t delivered = atomic_load(&p->delivered);
    r->messages = delivered;
    r->bytes = p->bytes_delivered;
    uint64_t last = atomic_load(&p->last_report_ns);
    r->seconds = last > t0_ns ? (double)(last - t0_ns) / 1e9 : bench_seconds_since(t0_ns);
    r->failures = atomic_load(&p->failed);
    r->has_latency = true;
    r->lat = bench_latency_percentiles(&p->lat);
    if (r->failures)
        snprintf(r->note, sizeof r->note, "first failure: %s", rd_kafka_err2str(p->first_err));
    else if (p->stray_partition)
        snprintf(r->note, sizeof r->note, "%llu messages delivered to a partition >= %d",
                 (unsigned long long)p->stray_partition, p->o->partitions);
    r->ok = r->ok && r->failures == 0 && p->stray_partition == 0 &&
            delivered == (uint64_t)p->o->messages;
}

bool bench_phase_produce(const bench_opts_t *o, const char *bootstrap, bench_result_t *r,
                         uint64_t *per_partition)
{
    bench_producer_t p;
    memset(r, 0, sizeof *r);
    r->phase = "produce";
    uint64_t m = (uint64_t)o->messages;
    bool ok = bench_producer_open(&p, o, bootstrap, m);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; ok && i < m; i++)
        ok = bench_producer_send(&p, i);
    ok = ok && bench_producer_drain(&p);
    r->ok = ok;
    bench_producer_stop_poller(&p);
    if (p.rk)
        collect(&p, t0, r);
    if (per_partition && p.per_partition)
        memcpy(per_partition, p.per_partition, (size_t)o->partitions * sizeof *per_partition);
    bench_producer_close(&p);
    return r->ok;
}
