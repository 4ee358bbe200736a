/* cairn-kafka-bench: produce/consume throughput and delivery latency of a
 * Kafka cluster measured with librdkafka, against Cairn or against
 * librdkafka's in-process mock cluster (the client-side ceiling). Prints
 * figures; exits non-zero only when the run itself fails (delivery
 * failures, wrong counts, a wait that makes no progress), never on time. */
#include <stdio.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "bench_opts.h"
#include "bench_phases.h"
#include "bench_report.h"
#include "bench_target.h"

static bool run_throughput(const bench_opts_t *o, const bench_target_t *t)
{
    bench_result_t r;
    bool ok = true;
    uint64_t *delivered = NULL;
    if (o->mode == BENCH_MODE_BOTH)
        delivered = calloc((size_t)o->partitions, sizeof *delivered);
    if (o->mode != BENCH_MODE_CONSUME) {
        ok = bench_phase_produce(o, t->bootstrap, &r, delivered);
        bench_report(o, t->name, &r);
    }
    if (ok && o->mode != BENCH_MODE_PRODUCE) {
        ok = bench_phase_consume(o, t->bootstrap, &r, delivered);
        bench_report(o, t->name, &r);
    }
    free(delivered);
    return ok;
}

static bool run(const bench_opts_t *o, const bench_target_t *t)
{
    if (o->mode == BENCH_MODE_LATENCY) {
        bench_result_t r;
        bool ok = bench_phase_latency(o, t->bootstrap, &r);
        bench_report(o, t->name, &r);
        return ok;
    }
    return run_throughput(o, t);
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    int rc = bench_opts_parse(&o, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    fprintf(o.json ? stderr : stdout,
            "cairn-kafka-bench (librdkafka %s): %s, topic %s, %d partitions, %d-byte values, "
            "acks=%s, compression=%s, linger.ms=%d\n",
            rd_kafka_version_str(), o.mock_brokers ? "mock cluster" : o.bootstrap, o.topic,
            o.partitions, o.size, o.acks, o.compression, o.linger_ms);
    bench_target_t t;
    bool ok = bench_target_open(&t, &o) && run(&o, &t);
    bench_target_close(&t);
    return ok ? 0 : 1;
}
