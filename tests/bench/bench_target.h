/* What the benchmark runs against: librdkafka's in-process mock cluster
 * (--mock N, the client-side ceiling) or a real cluster (--bootstrap). */
#ifndef CAIRN_BENCH_TARGET_H
#define CAIRN_BENCH_TARGET_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bench_opts.h"

typedef struct {
    rd_kafka_t *mock_rk;             /* the instance the mock cluster lives in */
    rd_kafka_mock_cluster_t *mock;
    const char *bootstrap;           /* borrowed from opts or the mock */
    const char *name;                /* "mock" or the bootstrap list */
} bench_target_t;

/* Starts the mock cluster with the topic, or creates the topic on the real
 * cluster (an existing one is fine) and waits for its leaders. */
bool bench_target_open(bench_target_t *t, const bench_opts_t *o);
void bench_target_close(bench_target_t *t);

#endif
