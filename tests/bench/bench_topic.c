/* Topic creation and readiness (see bench_topic.h). */
#include "bench_topic.h"

#include <stdio.h>
#include <string.h>

#include "bench_clock.h"
#include "bench_conf.h"

#define PROG "cairn-kafka-bench"
#define METADATA_TIMEOUT_MS 2000

/* 1: ready; 0: not yet (why in `why`); -1: never will be. */
static int topic_state(const rd_kafka_metadata_t *md, const bench_opts_t *o, char *why,
                       size_t n)
{
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (strcmp(mt->topic, o->topic))
            continue;
        if (mt->err) {
            snprintf(why, n, "topic error %s", rd_kafka_err2str(mt->err));
            return 0;
        }
        if (mt->partition_cnt != o->partitions) {
            snprintf(why, n, "the topic has %d partitions, not %d", mt->partition_cnt,
                     o->partitions);
            return mt->partition_cnt > o->partitions ? -1 : 0;
        }
        for (int p = 0; p < mt->partition_cnt; p++) {
            if (mt->partitions[p].err || mt->partitions[p].leader < 0) {
                snprintf(why, n, "partition %d has no leader (%s)", mt->partitions[p].id,
                         rd_kafka_err2str(mt->partitions[p].err));
                return 0;
            }
        }
        return 1;
    }
    snprintf(why, n, "topic not in metadata");
    return 0;
}

/* One metadata round trip: 1 ready, 0 not yet, -1 never. */
static int poll_once(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const bench_opts_t *o, char *why,
                     size_t n)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, METADATA_TIMEOUT_MS);
    if (err) {
        snprintf(why, n, "metadata: %s", rd_kafka_err2str(err));
        return 0;
    }
    int st = topic_state(md, o, why, n);
    rd_kafka_metadata_destroy(md);
    return st;
}

bool bench_topic_wait_ready(rd_kafka_t *rk, const bench_opts_t *o)
{
    char why[256] = "no answer";
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if (!rkt) {
        fprintf(stderr, PROG ": topic %s: %s\n", o->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return false;
    }
    uint64_t t0 = bench_now_ns();
    int st = 0;
    while (st == 0 && bench_seconds_since(t0) < o->timeout_s) {
        st = poll_once(rk, rkt, o, why, sizeof why);
        if (st == 0)
            rd_kafka_poll(rk, 100);
    }
    rd_kafka_topic_destroy(rkt);
    if (st != 1)
        fprintf(stderr, PROG ": topic %s not ready%s: %s\n", o->topic,
                st == 0 ? " within --timeout-s" : "", why);
    return st == 1;
}

/* Whether a CreateTopics result event says created or already there. */
static bool created(rd_kafka_event_t *ev, const bench_opts_t *o)
{
    if (!ev) {
        fprintf(stderr, PROG ": CreateTopics %s: no answer within --timeout-s\n", o->topic);
        return false;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, PROG ": CreateTopics %s: %s\n", o->topic, rd_kafka_event_error_string(ev));
        return false;
    }
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 0)
        return true;
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[0]);
    if (!err || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return true;
    const char *msg = rd_kafka_topic_result_error_string(res[0]);
    fprintf(stderr, PROG ": CreateTopics %s: %s%s%s\n", o->topic, rd_kafka_err2str(err),
            msg ? ": " : "", msg ? msg : "");
    return false;
}

/* Sends CreateTopics and waits (bounded) for its result. */
static bool create(rd_kafka_t *rk, const bench_opts_t *o)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions,
                                                    o->replication_factor, err, sizeof err);
    if (!nt) {
        fprintf(stderr, PROG ": topic %s: %s\n", o->topic, err);
        return false;
    }
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, o->timeout_s * 1000, err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(opt, o->timeout_s * 1000, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    /* The request timeout bounds the answer; the margin covers the rest. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, o->timeout_s * 1000 + 5000);
    bool ok = created(ev, o);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    return ok;
}

bool bench_topic_create(const bench_opts_t *o, const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *conf = bench_conf_new(o, bootstrap, "cairn-kafka-bench-admin", NULL);
    if (!conf)
        return false;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": cannot create the admin client: %s\n", err);
        return false;
    }
    bool ok = create(rk, o) && bench_topic_wait_ready(rk, o);
    rd_kafka_destroy(rk);
    return ok;
}

bool bench_topic_watermarks(rd_kafka_t *rk, const bench_opts_t *o, int64_t *low, int64_t *high)
{
    for (int p = 0; p < o->partitions; p++) {
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, o->topic, p, &low[p],
                                                                   &high[p], o->timeout_s * 1000);
        if (err) {
            fprintf(stderr, PROG ": watermark offsets of %s [%d]: %s\n", o->topic, p,
                    rd_kafka_err2str(err));
            return false;
        }
    }
    return true;
}
