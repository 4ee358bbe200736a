/* The instrumented producer (see bench_producer.h). */
#include "bench_producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "bench_conf.h"
#include "bench_payload.h"
#include "bench_topic.h"

#define PROG "cairn-kafka-bench"

/* Reports between two readings of the clock (which costs as much as the
 * rest of a report): enough for the no-progress check. */
#define REPORTS_PER_CLOCK 1024

/* Runs on the poller thread, from rd_kafka_poll(). The clock is read for
 * sampled messages, every REPORTS_PER_CLOCK reports and at the last one, so
 * last_report_ns ends as the time of the last report. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    bench_producer_t *p = opaque;
    long slot = (long)(intptr_t)m->_private - 1;
    uint64_t done = ++p->reports;
    uint64_t now = 0;
    if (slot >= 0 || done % REPORTS_PER_CLOCK == 0 || done == p->expected)
        now = bench_now_ns();
    (void)rk;
    if (m->err) {
        if (atomic_fetch_add(&p->failed, 1) == 0) {
            p->first_err = m->err;
            fprintf(stderr, PROG ": delivery failed: %s (partition %d)\n",
                    rd_kafka_err2str(m->err), (int)m->partition);
        }
    } else {
        bench_latency_delivered(&p->lat, slot, now);
        p->bytes_delivered += m->len + m->key_len;
        if (m->partition >= 0 && m->partition < p->o->partitions)
            p->per_partition[m->partition]++;
        else
            p->stray_partition++;
        atomic_fetch_add(&p->delivered, 1);
    }
    if (now)
        atomic_store(&p->last_report_ns, now);
}

static void *poller_main(void *arg)
{
    bench_producer_t *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 50);
    rd_kafka_poll(p->rk, 0);
    return NULL;
}

static bool create_handles(bench_producer_t *p, const char *bootstrap, uint64_t messages)
{
    char err[512];
    rd_kafka_conf_t *conf = bench_conf_producer(p->o, bootstrap, (unsigned long)messages);
    if (!conf)
        return false;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": cannot create the producer: %s\n", err);
        return false;
    }
    p->rkt = rd_kafka_topic_new(p->rk, p->o->topic, NULL);
    if (!p->rkt) {
        fprintf(stderr, PROG ": topic %s: %s\n", p->o->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        return false;
    }
    return true;
}

bool bench_producer_open(bench_producer_t *p, const bench_opts_t *o,
                         const char *bootstrap, uint64_t messages)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->expected = messages;
    atomic_init(&p->stop, false);
    atomic_init(&p->delivered, 0);
    atomic_init(&p->failed, 0);
    atomic_init(&p->last_report_ns, bench_now_ns());
    p->value = malloc((size_t)o->size + 1);
    p->per_partition = calloc((size_t)o->partitions, sizeof *p->per_partition);
    if (!p->value || !p->per_partition || !bench_latency_init(&p->lat, messages)) {
        fprintf(stderr, PROG ": out of memory\n");
        return false;
    }
    /* The metadata round trip also connects, so the timed run does not
     * include the first connection. */
    if (!create_handles(p, bootstrap, messages) || !bench_topic_wait_ready(p->rk, o))
        return false;
    if (pthread_create(&p->poller, NULL, poller_main, p)) {
        fprintf(stderr, PROG ": cannot start the poller thread\n");
        return false;
    }
    p->poller_running = true;
    return true;
}

static uint64_t in_flight(bench_producer_t *p)
{
    return p->produced - atomic_load(&p->delivered) - atomic_load(&p->failed);
}

/* True, after printing why, when no delivery report came for --timeout-s. */
static bool stalled(bench_producer_t *p, const char *doing)
{
    /* Read the report time first: the poller may stamp a later one while
     * we read the clock, and now - last must not wrap. */
    uint64_t last = atomic_load(&p->last_report_ns);
    uint64_t now = bench_now_ns();
    if (now < last || now - last < (uint64_t)p->o->timeout_s * 1000000000u)
        return false;
    fprintf(stderr, PROG ": %s: no delivery report for %d s with %llu messages in flight "
            "(%llu delivered, %llu failed)\n", doing, p->o->timeout_s,
            (unsigned long long)in_flight(p), (unsigned long long)atomic_load(&p->delivered),
            (unsigned long long)atomic_load(&p->failed));
    return true;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

bool bench_producer_send(bench_producer_t *p, uint64_t i)
{
    const bench_opts_t *o = p->o;
    char key[24];
    int keylen = o->keys ? snprintf(key, sizeof key, "k%llu", (unsigned long long)i) : 0;
    int32_t part = o->round_robin ? (int32_t)(i % (uint64_t)o->partitions) : RD_KAFKA_PARTITION_UA;
    long slot = bench_latency_slot(&p->lat, i);
    bench_payload_fill(p->value, (size_t)o->size, o->seed, i);
    for (;;) {
        if (slot >= 0)
            bench_latency_sent(&p->lat, slot, bench_now_ns());
        if (rd_kafka_produce(p->rkt, part, RD_KAFKA_MSG_F_COPY, p->value, (size_t)o->size,
                             o->keys ? key : NULL, (size_t)keylen,
                             (void *)(intptr_t)(slot + 1)) == 0)
            break;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, PROG ": produce: %s\n", rd_kafka_err2str(err));
            return false;
        }
        if (stalled(p, "producer queue full"))
            return false;
        sleep_ms(1);
    }
    p->produced++;
    return true;
}

bool bench_producer_drain(bench_producer_t *p)
{
    while (in_flight(p) > 0) {
        if (stalled(p, "waiting for delivery reports"))
            return false;
        sleep_ms(1);
    }
    return true;
}

void bench_producer_stop_poller(bench_producer_t *p)
{
    if (p->poller_running) {
        atomic_store(&p->stop, true);
        pthread_join(p->poller, NULL);
        p->poller_running = false;
    }
}

void bench_producer_close(bench_producer_t *p)
{
    bench_producer_stop_poller(p);
    if (p->rk && rd_kafka_flush(p->rk, p->o->timeout_s * 1000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, PROG ": %d messages still queued at close: purged\n",
                rd_kafka_outq_len(p->rk));
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
    }
    if (p->rkt)
        rd_kafka_topic_destroy(p->rkt);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    bench_latency_free(&p->lat);
    free(p->value);
    free(p->per_partition);
    memset(p, 0, sizeof *p);
}
