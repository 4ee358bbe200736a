/* Consume phase: read --messages messages back from offset beginning of
 * every partition (assigned explicitly, no consumer group) and check them.
 *
 * The mock cluster keeps only the last 5 MiB of each partition (librdkafka
 * 2.0's rd_kafka_mock_partition max_size), so against it the phase reads
 * the retained [low, high) watermark range of each partition over and
 * over, one fresh consumer per pass, until it has read --messages, and
 * says so. A real cluster must yield all --messages in one pass. Time
 * counts from a pass's first message to its last. */
#include "bench_phases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "bench_clock.h"
#include "bench_conf.h"
#include "bench_topic.h"
#include "bench_verify.h"

#define PROG "cairn-kafka-bench"
#define BATCH 10000
#define BATCH_WAIT_MS 100
#define MAX_PRINTED_ERRORS 5
#define MAX_PASSES 10000
/* librdkafka's limits on queued.min.messages / queued.max.messages.kbytes */
#define MAX_QUEUED 10000000L
#define MAX_QUEUED_KBYTES "2097151"

typedef struct {
    const bench_opts_t *o;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *q;
    int started;                     /* partitions started */
    rd_kafka_message_t **batch;
    int64_t *low, *high;             /* watermarks before reading */
    uint64_t *window;                /* mock: the messages it retained */
    const uint64_t *expected;        /* per partition, or NULL */
    uint64_t want;                   /* messages to read */
    bench_verify_t v;
    uint64_t got, bytes, errors;
    uint64_t t0_ns, t_first_ns, t_end_ns, last_progress_ns;
} consumer_t;

/* The consumer's configuration. The prefetch queue may hold the whole
 * run: all partitions feed one queue, and once it holds
 * queued.min.messages librdkafka pauses their fetching, resuming only at a
 * broker thread's next wake-up (up to fetch.wait.max.ms later), so a
 * reader slower than the cluster would measure those pauses. */
static rd_kafka_conf_t *consumer_conf(const bench_opts_t *o, const char *bootstrap)
{
    char queued[24];
    snprintf(queued, sizeof queued, "%ld", o->messages < MAX_QUEUED ? o->messages : MAX_QUEUED);
    const char *const settings[] = {
        "enable.partition.eof", "false",
        "queued.min.messages", queued,
        "queued.max.messages.kbytes", MAX_QUEUED_KBYTES,
        NULL,
    };
    return bench_conf_new(o, bootstrap, "cairn-kafka-bench-consumer", settings);
}

static bool open_consumer(consumer_t *c, const bench_opts_t *o, const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *conf = consumer_conf(o, bootstrap);
    if (!conf)
        return false;
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": cannot create the consumer: %s\n", err);
        return false;
    }
    size_t np = (size_t)o->partitions;
    c->rkt = rd_kafka_topic_new(c->rk, o->topic, NULL);
    c->q = rd_kafka_queue_new(c->rk);
    c->batch = malloc(BATCH * sizeof *c->batch);
    c->low = calloc(np, sizeof *c->low);
    c->high = calloc(np, sizeof *c->high);
    c->window = calloc(np, sizeof *c->window);
    if (!c->rkt || !c->q || !c->batch || !c->low || !c->high || !c->window ||
        !bench_verify_init(&c->v, o->partitions, (uint64_t)o->messages, (size_t)o->size)) {
        fprintf(stderr, PROG ": cannot set up the consumer\n");
        return false;
    }
    return bench_topic_wait_ready(c->rk, o);
}

/* Decides from the watermarks how many of `left` messages this pass
 * reads; false when a real cluster holds fewer than that. */
static bool plan(consumer_t *c, uint64_t left, const uint64_t *expected, bool *window)
{
    const bench_opts_t *o = c->o;
    uint64_t held = 0;
    if (!bench_topic_watermarks(c->rk, o, c->low, c->high))
        return false;
    for (int p = 0; p < o->partitions; p++) {
        c->window[p] = (uint64_t)(c->high[p] - c->low[p]);
        held += c->window[p];
    }
    c->want = left;
    c->expected = expected;
    *window = false;
    if (held >= left && (!o->mock_brokers || held == (uint64_t)o->messages))
        return true;
    if (!o->mock_brokers) {
        fprintf(stderr, PROG ": topic %s holds %llu messages (sum of high - low watermarks), "
                "fewer than --messages %ld\n", o->topic, (unsigned long long)held, o->messages);
        return false;
    }
    /* The mock dropped the oldest: read its window, all of it when it fits. */
    *window = true;
    c->want = held < left ? held : left;
    c->expected = held <= left ? c->window : NULL;
    return held > 0;
}

/* Starts every partition at its low watermark (offset beginning, already
 * known): all partitions become fetchable at once, instead of each after
 * its own ListOffsets, so no Fetch waits out fetch.wait.max.ms on drained
 * partitions while another of the same broker still has data. */
static bool start_partitions(consumer_t *c)
{
    for (; c->started < c->o->partitions; c->started++) {
        if (rd_kafka_consume_start_queue(c->rkt, c->started, c->low[c->started], c->q)) {
            fprintf(stderr, PROG ": consume start partition %d: %s\n", c->started,
                    rd_kafka_err2str(rd_kafka_last_error()));
            return false;
        }
    }
    return true;
}

static void take(consumer_t *c, const rd_kafka_message_t *m, uint64_t now)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && c->errors++ < MAX_PRINTED_ERRORS)
            fprintf(stderr, PROG ": consume partition %d: %s\n", (int)m->partition,
                    rd_kafka_message_errstr(m));
        return;
    }
    if (c->got == c->want)
        return;                      /* more in the topic than asked for */
    bench_verify_message(&c->v, m->partition, m->offset, m->payload, m->len);
    c->bytes += m->len + m->key_len;
    if (c->got++ == 0)
        c->t_first_ns = now;
    if (c->got == c->want)
        c->t_end_ns = now;
    c->last_progress_ns = now;
}

/* Prints what was read so far when the consumer is stuck. */
static void report_stall(const consumer_t *c)
{
    fprintf(stderr, PROG ": consume: no message for %d s after %llu of %llu; per partition "
            "(read/watermarks):", c->o->timeout_s, (unsigned long long)c->got,
            (unsigned long long)c->want);
    for (int p = 0; p < c->o->partitions; p++)
        fprintf(stderr, " %d:%llu/%lld-%lld", p, (unsigned long long)c->v.count[p],
                (long long)c->low[p], (long long)c->high[p]);
    fputc('\n', stderr);
}

/* Takes what the queue holds now; when it is empty, waits (bounded) for
 * one message. rd_kafka_consume_batch_queue with a timeout would wait for a
 * full batch, adding up to the timeout to the measured time. Returns the
 * number of messages in c->batch, or -1. */
static ssize_t next_batch(consumer_t *c)
{
    ssize_t n = rd_kafka_consume_batch_queue(c->q, 0, c->batch, BATCH);
    if (n != 0)
        return n;
    c->batch[0] = rd_kafka_consume_queue(c->q, BATCH_WAIT_MS);
    return c->batch[0] ? 1 : 0;
}

static bool read_all(consumer_t *c)
{
    c->last_progress_ns = c->t0_ns;
    while (c->got < c->want) {
        ssize_t n = next_batch(c);
        if (n < 0) {
            fprintf(stderr, PROG ": consume: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
            return false;
        }
        uint64_t now = bench_now_ns();
        for (ssize_t k = 0; k < n; k++) {
            take(c, c->batch[k], now);
            rd_kafka_message_destroy(c->batch[k]);
        }
        if (now - c->last_progress_ns > (uint64_t)c->o->timeout_s * 1000000000u) {
            report_stall(c);
            return false;
        }
    }
    return true;
}

static void close_consumer(consumer_t *c)
{
    for (int p = 0; p < c->started; p++)
        rd_kafka_consume_stop(c->rkt, p);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    if (c->rkt)
        rd_kafka_topic_destroy(c->rkt);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    bench_verify_free(&c->v);
    free(c->batch);
    free(c->low);
    free(c->high);
    free(c->window);
}

/* Fills r with one pass's figures and checks. */
static bool collect(consumer_t *c, bool ok, bench_result_t *r)
{
    r->messages = c->got;
    r->bytes = c->bytes;
    uint64_t end = c->t_end_ns ? c->t_end_ns : bench_now_ns();
    r->seconds = c->t_first_ns ? (double)(end - c->t_first_ns) / 1e9 : 0;
    r->first_ms = c->t_first_ns ? (double)(c->t_first_ns - c->t0_ns) / 1e6 : 0;
    r->failures = c->errors;
    if (!c->v.count || (!ok && c->got == 0)) {
        snprintf(r->note, sizeof r->note, "read nothing");
        return false;
    }
    return bench_verify_finish(&c->v, ok ? c->expected : NULL, r->note, sizeof r->note) && ok;
}

/* One consumer reading up to `left` messages from offset beginning. */
static bool consume_pass(const bench_opts_t *o, const char *bootstrap, uint64_t left,
                         const uint64_t *expected, bench_result_t *r, bool *window)
{
    consumer_t c = { .o = o };
    memset(r, 0, sizeof *r);
    bool ok = open_consumer(&c, o, bootstrap) && plan(&c, left, expected, window);
    c.t0_ns = bench_now_ns();
    ok = ok && start_partitions(&c) && read_all(&c);
    r->ok = collect(&c, ok, r);
    close_consumer(&c);
    return r->ok;
}

static void add_pass(bench_result_t *r, const bench_result_t *pass, int passes)
{
    r->messages += pass->messages;
    r->bytes += pass->bytes;
    r->seconds += pass->seconds;
    r->failures += pass->failures;
    if (passes == 0) {
        r->first_ms = pass->first_ms;
        memcpy(r->note, pass->note, sizeof r->note);
    } else if (!pass->ok) {
        snprintf(r->note, sizeof r->note, "pass %d: %.200s", passes + 1, pass->note);
    }
}

bool bench_phase_consume(const bench_opts_t *o, const char *bootstrap, bench_result_t *r,
                         const uint64_t *expected)
{
    uint64_t m = (uint64_t)o->messages;
    bool ok = true, window = false;
    int passes = 0;
    memset(r, 0, sizeof *r);
    r->phase = "consume";
    do {
        bench_result_t pass;
        ok = consume_pass(o, bootstrap, m - r->messages, expected, &pass, &window);
        add_pass(r, &pass, passes++);
    } while (ok && window && r->messages < m && passes < MAX_PASSES);
    r->ok = ok && r->messages == m;
    if (window && passes > 0) {
        char checked[sizeof r->note];
        memcpy(checked, r->note, sizeof checked);
        snprintf(r->note, sizeof r->note, "the mock keeps the last 5 MiB of a partition: read "
                 "its window in %d passes; %.150s", passes, checked);
    }
    return r->ok;
}
