/* librdkafka configuration shared by the benchmark's clients. */
#ifndef CAIRN_BENCH_CONF_H
#define CAIRN_BENCH_CONF_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "bench_opts.h"

/* A configuration with bootstrap.servers, client.id, then the NULL-ended
 * key, value, key, value... list `settings` (may be NULL), then every -X
 * property (so -X overrides the benchmark's settings). Prints the error
 * and returns NULL when librdkafka refuses a setting. */
rd_kafka_conf_t *bench_conf_new(const bench_opts_t *o, const char *bootstrap,
                                const char *client_id, const char *const *settings);

/* Sets key=value; prints the error and returns false on failure. */
bool bench_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* The producer's configuration: acks, compression, linger.ms,
 * batch.num.messages=10000 and queues sized for `messages` in flight. */
rd_kafka_conf_t *bench_conf_producer(const bench_opts_t *o, const char *bootstrap,
                                     unsigned long messages);

#endif
