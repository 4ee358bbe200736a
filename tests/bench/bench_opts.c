/* Command-line parsing and validation for cairn-kafka-bench. */
#include "bench_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "cairn-kafka-bench"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " (--bootstrap HOST:PORT,... | --mock N) [options]\n"
        "  --topic T               topic (default cairn-bench)\n"
        "  --partitions P          partitions (default 1)\n"
        "  --replication-factor R  replication factor when creating the topic (default 1)\n"
        "  --messages M            messages to produce / consume (default 1000000)\n"
        "  --size BYTES            value size (default 100)\n"
        "  --acks A                0, 1, -1 or all (default 1)\n"
        "  --compression C         none, gzip, snappy, lz4, zstd (default none)\n"
        "  --mode MODE             produce, consume, both, latency (default both)\n"
        "  --rate N                latency mode: messages per second (default 1000)\n"
        "  --seconds S             latency mode: duration (default 10)\n"
        "  --linger-ms MS          producer linger.ms (default 5)\n"
        "  --keys                  give every message a key (default: null keys)\n"
        "  --partitioner rr|ua     rr: message i to partition i %% P (default); ua: librdkafka's\n"
        "                          partitioner (RD_KAFKA_PARTITION_UA; sticky for null keys)\n"
        "  --timeout-s S           fail when any wait makes no progress for S s (default 60)\n"
        "  --seed N                payload seed (default 1)\n"
        "  --label TEXT            copied into the JSON lines\n"
        "  -X key=value            librdkafka property for every client (repeatable)\n"
        "  --json                  one JSON object per phase on stdout (human lines go to stderr)\n");
}

static int bad(const char *what, const char *value)
{
    fprintf(stderr, PROG ": invalid %s '%s' (see --help)\n", what, value);
    return 2;
}

/* Parses a decimal integer in [min, max] into *out. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long min, long max, int *out)
{
    long v;
    if (parse_long(s, min, max, &v))
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_mode(const char *s, bench_mode_t *out)
{
    static const bench_mode_t modes[] = { BENCH_MODE_PRODUCE, BENCH_MODE_CONSUME,
                                          BENCH_MODE_BOTH, BENCH_MODE_LATENCY };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (!strcmp(s, bench_mode_name(modes[i]))) {
            *out = modes[i];
            return 0;
        }
    }
    return -1;
}

const char *bench_mode_name(bench_mode_t mode)
{
    switch (mode) {
    case BENCH_MODE_PRODUCE: return "produce";
    case BENCH_MODE_CONSUME: return "consume";
    case BENCH_MODE_BOTH: return "both";
    case BENCH_MODE_LATENCY: return "latency";
    }
    return "?";
}

static void set_defaults(bench_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->topic = "cairn-bench";
    o->partitions = 1;
    o->replication_factor = 1;
    o->messages = 1000000;
    o->size = 100;
    o->acks = "1";
    o->compression = "none";
    o->mode = BENCH_MODE_BOTH;
    o->rate = 1000;
    o->seconds = 10;
    o->linger_ms = 5;
    o->timeout_s = 60;
    o->seed = 1;
    o->round_robin = true;
}

enum {
    OPT_BOOTSTRAP = 256, OPT_MOCK, OPT_TOPIC, OPT_PARTITIONS, OPT_RF, OPT_MESSAGES,
    OPT_SIZE, OPT_ACKS, OPT_COMPRESSION, OPT_MODE, OPT_RATE, OPT_SECONDS,
    OPT_LINGER, OPT_KEYS, OPT_PARTITIONER, OPT_TIMEOUT, OPT_SEED, OPT_LABEL,
    OPT_JSON, OPT_HELP,
};

static const struct option long_opts[] = {
    { "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
    { "mock", required_argument, NULL, OPT_MOCK },
    { "topic", required_argument, NULL, OPT_TOPIC },
    { "partitions", required_argument, NULL, OPT_PARTITIONS },
    { "replication-factor", required_argument, NULL, OPT_RF },
    { "messages", required_argument, NULL, OPT_MESSAGES },
    { "size", required_argument, NULL, OPT_SIZE },
    { "acks", required_argument, NULL, OPT_ACKS },
    { "compression", required_argument, NULL, OPT_COMPRESSION },
    { "mode", required_argument, NULL, OPT_MODE },
    { "rate", required_argument, NULL, OPT_RATE },
    { "seconds", required_argument, NULL, OPT_SECONDS },
    { "linger-ms", required_argument, NULL, OPT_LINGER },
    { "keys", no_argument, NULL, OPT_KEYS },
    { "partitioner", required_argument, NULL, OPT_PARTITIONER },
    { "timeout-s", required_argument, NULL, OPT_TIMEOUT },
    { "seed", required_argument, NULL, OPT_SEED },
    { "label", required_argument, NULL, OPT_LABEL },
    { "json", no_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static int apply_numeric(bench_opts_t *o, int c, const char *a)
{
    long seed;
    switch (c) {
    case OPT_MOCK: return parse_int(a, 1, 64, &o->mock_brokers) ? bad("--mock", a) : 0;
    case OPT_PARTITIONS:
        return parse_int(a, 1, 100000, &o->partitions) ? bad("--partitions", a) : 0;
    case OPT_RF:
        return parse_int(a, 1, 64, &o->replication_factor) ? bad("--replication-factor", a) : 0;
    case OPT_MESSAGES:
        return parse_long(a, 1, 2000000000L, &o->messages) ? bad("--messages", a) : 0;
    case OPT_SIZE: return parse_int(a, 0, 100000000, &o->size) ? bad("--size", a) : 0;
    case OPT_RATE: return parse_double(a, 0.001, 1e8, &o->rate) ? bad("--rate", a) : 0;
    case OPT_SECONDS: return parse_double(a, 0.001, 86400, &o->seconds) ? bad("--seconds", a) : 0;
    case OPT_LINGER: return parse_int(a, 0, 900000, &o->linger_ms) ? bad("--linger-ms", a) : 0;
    case OPT_TIMEOUT: return parse_int(a, 1, 86400, &o->timeout_s) ? bad("--timeout-s", a) : 0;
    case OPT_SEED:
        if (parse_long(a, 0, 2147483647L, &seed))
            return bad("--seed", a);
        o->seed = (uint64_t)seed;
        return 0;
    }
    return -1;
}

static int apply_text(bench_opts_t *o, int c, const char *a)
{
    switch (c) {
    case OPT_BOOTSTRAP: o->bootstrap = a; return 0;
    case OPT_TOPIC: o->topic = a; return 0;
    case OPT_ACKS:
        if (strcmp(a, "0") && strcmp(a, "1") && strcmp(a, "-1") && strcmp(a, "all"))
            return bad("--acks", a);
        o->acks = a;
        return 0;
    case OPT_COMPRESSION: o->compression = a; return 0;
    case OPT_MODE: return parse_mode(a, &o->mode) ? bad("--mode", a) : 0;
    case OPT_KEYS: o->keys = true; return 0;
    case OPT_PARTITIONER:
        if (strcmp(a, "ua") && strcmp(a, "rr"))
            return bad("--partitioner", a);
        o->round_robin = !strcmp(a, "rr");
        return 0;
    case OPT_LABEL: o->label = a; return 0;
    case OPT_JSON: o->json = true; return 0;
    case 'X':
        if (!strchr(a, '=') || o->nprops == BENCH_MAX_PROPS)
            return bad("-X", a);
        o->props[o->nprops++] = a;
        return 0;
    }
    return -1;
}

static int validate(const bench_opts_t *o)
{
    if (!o->bootstrap == !o->mock_brokers) {
        fprintf(stderr, PROG ": give exactly one of --bootstrap and --mock (see --help)\n");
        return 2;
    }
    if (o->mock_brokers && o->replication_factor > o->mock_brokers) {
        fprintf(stderr, PROG ": --replication-factor %d exceeds the %d mock brokers\n",
                o->replication_factor, o->mock_brokers);
        return 2;
    }
    if (o->mock_brokers && o->mode == BENCH_MODE_CONSUME) {
        fprintf(stderr, PROG ": the mock cluster starts empty: use --mode both to consume\n");
        return 2;
    }
    if (!*o->topic) {
        fprintf(stderr, PROG ": --topic must not be empty\n");
        return 2;
    }
    return 0;
}

int bench_opts_parse(bench_opts_t *o, int argc, char **argv)
{
    set_defaults(o);
    int c;
    while ((c = getopt_long(argc, argv, "X:h", long_opts, NULL)) != -1) {
        if (c == OPT_HELP || c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?')
            return 2;
        int rc = apply_numeric(o, c, optarg);
        if (rc < 0)
            rc = apply_text(o, c, optarg);
        if (rc)
            return rc < 0 ? 2 : rc;
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return validate(o);
}
