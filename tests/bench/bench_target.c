/* Mock or real target (see bench_target.h). */
#include "bench_target.h"

#include <stdio.h>
#include <string.h>

#include "bench_topic.h"

#define PROG "cairn-kafka-bench"

static bool open_mock(bench_target_t *t, const bench_opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* This instance never connects: silence its "no bootstrap.servers". */
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);
    t->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!t->mock_rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": cannot create the mock cluster's instance: %s\n", err);
        return false;
    }
    t->mock = rd_kafka_mock_cluster_new(t->mock_rk, o->mock_brokers);
    if (!t->mock) {
        fprintf(stderr, PROG ": cannot start a mock cluster of %d brokers\n", o->mock_brokers);
        return false;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(t->mock, o->topic, o->partitions,
                                                       o->replication_factor);
    if (e) {
        fprintf(stderr, PROG ": mock topic %s: %s\n", o->topic, rd_kafka_err2str(e));
        return false;
    }
    t->bootstrap = rd_kafka_mock_cluster_bootstraps(t->mock);
    t->name = "mock";
    return true;
}

bool bench_target_open(bench_target_t *t, const bench_opts_t *o)
{
    memset(t, 0, sizeof *t);
    if (o->mock_brokers)
        return open_mock(t, o);
    t->bootstrap = o->bootstrap;
    t->name = o->bootstrap;
    return bench_topic_create(o, o->bootstrap);
}

void bench_target_close(bench_target_t *t)
{
    if (t->mock)
        rd_kafka_mock_cluster_destroy(t->mock);
    if (t->mock_rk)
        rd_kafka_destroy(t->mock_rk);
    memset(t, 0, sizeof *t);
}
