/* The benchmark topic on a real cluster: created with the Admin API, and
 * waited for until its metadata shows every partition with a leader. */
#ifndef CAIRN_BENCH_TOPIC_H
#define CAIRN_BENCH_TOPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "bench_opts.h"

/* CreateTopics with --partitions and --replication-factor; an existing
 * topic is fine. Then waits as bench_topic_wait_ready does. */
bool bench_topic_create(const bench_opts_t *o, const char *bootstrap);

/* Waits (up to --timeout-s) until rk's metadata shows the topic with
 * exactly --partitions partitions, each with a leader. */
bool bench_topic_wait_ready(rd_kafka_t *rk, const bench_opts_t *o);

/* The low and high watermark offsets of each of the --partitions
 * partitions ([partitions] arrays), each query bounded by --timeout-s. */
bool bench_topic_watermarks(rd_kafka_t *rk, const bench_opts_t *o, int64_t *low, int64_t *high);

#endif
