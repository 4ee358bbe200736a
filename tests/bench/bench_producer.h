/* A producer instrumented for the benchmark: a poller thread serves the
 * delivery reports as they arrive (so their timestamps are exact), counts
 * deliveries and failures, and records the latency of sampled messages. */
#ifndef CAIRN_BENCH_PRODUCER_H
#define CAIRN_BENCH_PRODUCER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "bench_latency.h"
#include "bench_opts.h"

typedef struct {
    const bench_opts_t *o;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_t poller;
    bool poller_running;
    atomic_bool stop;

    bench_latency_t lat;
    unsigned char *value;          /* scratch buffer for one value */
    uint64_t expected;             /* messages the phase will produce */
    uint64_t produced;             /* produce() calls that succeeded */
    uint64_t reports;              /* delivery reports (poller thread) */
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t failed;
    atomic_uint_fast64_t last_report_ns;   /* time of the latest report */
    uint64_t bytes_delivered;      /* value + key bytes delivered */
    uint64_t *per_partition;       /* [partitions]: delivered messages */
    uint64_t stray_partition;      /* delivered to a partition >= P */
    rd_kafka_resp_err_t first_err; /* of the first failed delivery */
} bench_producer_t;

/* Creates the producer for up to `messages` messages and starts its
 * poller. Prints the reason and returns false on failure. */
bool bench_producer_open(bench_producer_t *p, const bench_opts_t *o,
                         const char *bootstrap, uint64_t messages);

/* Produces message i (value from bench_payload, partition per
 * --partitioner). A full queue is retried until a delivery report makes
 * room; fails when none arrives within --timeout-s. */
bool bench_producer_send(bench_producer_t *p, uint64_t i);

/* Waits until every produced message has its delivery report; fails when
 * none arrives within --timeout-s. */
bool bench_producer_drain(bench_producer_t *p);

/* Stops the poller thread: the counters and samples stay still after. */
void bench_producer_stop_poller(bench_producer_t *p);

/* Stops the poller and destroys the producer (bounded by --timeout-s). */
void bench_producer_close(bench_producer_t *p);

#endif
