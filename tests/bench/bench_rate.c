/* Latency phase: produce at a fixed rate and measure every message's
 * delivery latency. */
#include "bench_phases.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "bench_producer.h"

/* Sleeps until the monotonic time due_ns; returns at once when it has
 * passed (the schedule is absolute, so a late wake-up is caught up by
 * sending the overdue messages back to back). */
static void sleep_until(uint64_t due_ns)
{
    if (bench_now_ns() >= due_ns)
        return;
    struct timespec ts = { (time_t)(due_ns / 1000000000u), (long)(due_ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Fills r from the producer after a run of `total` messages sent in
 * send_s seconds. */
static bool collect(bench_producer_t *p, uint64_t total, double send_s, bench_result_t *r)
{
    uint64_t delivered = atomic_load(&p->delivered);
    r->messages = delivered;
    r->bytes = p->bytes_delivered;
    r->seconds = send_s;
    r->failures = atomic_load(&p->failed);
    r->has_latency = true;
    r->lat = bench_latency_percentiles(&p->lat);
    if (r->failures)
        snprintf(r->note, sizeof r->note, "first failure: %s", rd_kafka_err2str(p->first_err));
    else if ((double)total < 0.95 * p->o->rate * send_s)
        snprintf(r->note, sizeof r->note, "could not keep --rate: sent at %.0f msgs/s",
                 (double)total / send_s);
    return r->failures == 0 && delivered == total;
}

bool bench_phase_latency(const bench_opts_t *o, const char *bootstrap, bench_result_t *r)
{
    bench_producer_t p;
    memset(r, 0, sizeof *r);
    r->phase = "latency";
    r->rate = o->rate;
    uint64_t total = (uint64_t)ceil(o->rate * o->seconds);
    double gap_ns = 1e9 / o->rate;
    bool ok = bench_producer_open(&p, o, bootstrap, total);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; ok && i < total; i++) {
        sleep_until(t0 + (uint64_t)((double)i * gap_ns));
        ok = bench_producer_send(&p, i);
    }
    double send_s = bench_seconds_since(t0);
    ok = ok && bench_producer_drain(&p);
    bench_producer_stop_poller(&p);
    if (p.rk)
        ok = collect(&p, total, send_s, r) && ok;
    r->ok = ok;
    bench_producer_close(&p);
    return ok;
}
