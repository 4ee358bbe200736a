/* Command-line options of cairn-kafka-bench. */
#ifndef CAIRN_BENCH_OPTS_H
#define CAIRN_BENCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_PROPS 32

typedef enum {
    BENCH_MODE_PRODUCE,
    BENCH_MODE_CONSUME,
    BENCH_MODE_BOTH,
    BENCH_MODE_LATENCY,
} bench_mode_t;

typedef struct {
    const char *bootstrap;      /* --bootstrap; NULL with --mock */
    int mock_brokers;           /* --mock N; 0 against a real cluster */
    const char *topic;
    int partitions;
    int replication_factor;
    long messages;
    int size;
    const char *acks;
    const char *compression;
    bench_mode_t mode;
    double rate;                /* latency mode: messages per second */
    double seconds;             /* latency mode: duration */
    int linger_ms;
    bool keys;
    bool round_robin;           /* --partitioner rr: explicit i % P */
    bool json;
    int timeout_s;              /* bound on every wait without progress */
    uint64_t seed;
    const char *label;          /* copied into the JSON lines */
    const char *props[BENCH_MAX_PROPS];  /* -X key=value for every client */
    int nprops;
} bench_opts_t;

/* Parses argv into *o. Returns 0 to run, 1 after printing the help text,
 * 2 after printing a usage error. */
int bench_opts_parse(bench_opts_t *o, int argc, char **argv);

const char *bench_mode_name(bench_mode_t mode);

#endif
