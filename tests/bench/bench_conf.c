/* librdkafka configuration for the benchmark's clients. */
#include "bench_conf.h"

#include <stdio.h>
#include <string.h>

/* librdkafka's limits on queue.buffering.max.messages / .max.kbytes. */
#define MAX_QUEUED_MESSAGES 2147483647UL
#define MIN_QUEUED_MESSAGES 100000UL
#define MAX_QUEUED_KBYTES "2147483647"

bool bench_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "cairn-kafka-bench: %s=%s: %s\n", key, value, err);
        return false;
    }
    return true;
}

/* Applies one -X key=value property. */
static bool set_prop(rd_kafka_conf_t *conf, const char *prop)
{
    char key[256];
    const char *eq = strchr(prop, '=');
    size_t n = (size_t)(eq - prop);
    if (n >= sizeof key) {
        fprintf(stderr, "cairn-kafka-bench: -X key too long: %s\n", prop);
        return false;
    }
    memcpy(key, prop, n);
    key[n] = '\0';
    return bench_conf_set(conf, key, eq + 1);
}

rd_kafka_conf_t *bench_conf_new(const bench_opts_t *o, const char *bootstrap,
                                const char *client_id, const char *const *settings)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = bench_conf_set(conf, "bootstrap.servers", bootstrap) &&
              bench_conf_set(conf, "client.id", client_id);
    for (size_t i = 0; ok && settings && settings[i]; i += 2)
        ok = bench_conf_set(conf, settings[i], settings[i + 1]);
    for (int i = 0; ok && i < o->nprops; i++)
        ok = set_prop(conf, o->props[i]);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *bench_conf_producer(const bench_opts_t *o, const char *bootstrap,
                                     unsigned long messages)
{
    char linger[16], queued[24], timeout[24];
    unsigned long q = messages < MIN_QUEUED_MESSAGES ? MIN_QUEUED_MESSAGES : messages;
    snprintf(linger, sizeof linger, "%d", o->linger_ms);
    snprintf(queued, sizeof queued, "%lu", q > MAX_QUEUED_MESSAGES ? MAX_QUEUED_MESSAGES : q);
    /* librdkafka gives up on a message after the benchmark's own
     * no-progress bound, so a stuck cluster fails the run either way. */
    snprintf(timeout, sizeof timeout, "%d", o->timeout_s * 1000);
    const char *const settings[] = {
        "acks", strcmp(o->acks, "all") ? o->acks : "-1",
        "compression.codec", o->compression,
        "linger.ms", linger,
        "batch.num.messages", "10000",
        "queue.buffering.max.messages", queued,
        "queue.buffering.max.kbytes", MAX_QUEUED_KBYTES,
        "message.timeout.ms", timeout,
        NULL,
    };
    return bench_conf_new(o, bootstrap, "cairn-kafka-bench-producer", settings);
}
