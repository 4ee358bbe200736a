/* Unit tests for the generated Kafka message codecs: every message and data
 * format at every implemented version round-trips encode -> decode -> encode
 * byte for byte with fields absent in that version back at their defaults;
 * every strict prefix and every extended encoding is rejected; bounds are
 * enforced before allocating; plus a few shapes checked byte by byte. */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "arena.h"
#include "kafka_messages.h"
#include "kafka_messages_test.h"
#include "kcodec.h"

static const kafka_test_msg_t *test_msg(int16_t api_key, bool response)
{
    for (size_t i = 0; i < KAFKA_TEST_MSG_COUNT; i++)
        if (kafka_test_msgs[i].api_key == api_key && kafka_test_msgs[i].response == response)
            return &kafka_test_msgs[i];
    return NULL;
}

/* One message or data format, seen through untyped functions. */
typedef struct codec {
    const char *name;
    size_t size;
    kafka_init_fn init;
    kafka_decode_fn decode;
    kafka_encode_fn encode;
    void (*fill)(kafka_test_ctx_t *c, int16_t version, void *m);
    const char *(*absent_not_default)(int16_t version, const void *m);
} codec_t;

static codec_t api_codec(const kafka_api_desc_t *d, bool response)
{
    const kafka_test_msg_t *tm = test_msg(d->api_key, response);
    ck_assert_ptr_nonnull(tm);
    if (response)
        return (codec_t){tm->name, d->response_size, d->response_init, d->response_decode,
                         d->response_encode, tm->fill, tm->absent_not_default};
    return (codec_t){tm->name, d->request_size, d->request_init, d->request_decode,
                     d->request_encode, tm->fill, tm->absent_not_default};
}

static codec_t data_codec(const kafka_test_data_t *td)
{
    return (codec_t){td->name, td->size, td->init, td->decode, td->encode, td->fill,
                     td->absent_not_default};
}

/* The encoding of m at version, malloc'd. */
static uint8_t *encode_with(const codec_t *k, int16_t version, const void *m, size_t *len)
{
    struct evbuffer *buf = evbuffer_new();
    kafka_wr_t wr;
    kafka_wr_init(&wr, buf);
    k->encode(&wr, version, m);
    ck_assert_int_eq(kafka_wr_finish(&wr), 0);
    *len = evbuffer_get_length(buf);
    uint8_t *out = malloc(*len ? *len : 1);
    evbuffer_remove(buf, out, *len);
    evbuffer_free(buf);
    return out;
}

/* The body of m encoded at version, malloc'd. */
static uint8_t *encode(const kafka_api_desc_t *d, bool response, int16_t version, const void *m,
                       size_t *len)
{
    codec_t k = api_codec(d, response);
    return encode_with(&k, version, m, len);
}

static int decode_with(const codec_t *k, int16_t version, const uint8_t *p, size_t len,
                       kafka_arena_t *a, void *out, kafka_rd_t *rd)
{
    kafka_rd_init(rd, p, len);
    return k->decode(rd, version, a, out);
}

/* Every strict prefix of a valid encoding is malformed, and so is the
 * encoding with a byte appended. */
static void check_truncations(const codec_t *k, int16_t version, const uint8_t *enc, size_t len)
{
    const char *name = k->name;
    void *m = malloc(k->size);
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, enc, len);
    for (size_t cut = 0; cut < len; cut++) {
        /* a copy of exactly cut bytes, so reading past it is caught by ASan */
        uint8_t *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, enc, cut);
        kafka_arena_t a;
        kafka_arena_init(&a, 0);
        kafka_rd_t rd;
        int rc = decode_with(k, version, prefix, cut, &a, m, &rd);
        ck_assert_msg(rc == -1 && rd.failed, "%s v%d: %zu of %zu bytes decoded", name, version,
                      cut, len);
        kafka_arena_free(&a);
        free(prefix);
    }
    copy[len] = 0;
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    ck_assert_int_eq(decode_with(k, version, copy, len + 1, &a, m, &rd), -1);
    ck_assert_str_eq(rd.err, "trailing bytes");
    kafka_arena_free(&a);
    free(copy);
    free(m);
}

/* One message at one version: fill, encode, decode, compare, re-encode. */
static void round_trip(const codec_t *k, int16_t version, int mode, uint64_t seed,
                       bool truncations)
{
    kafka_arena_t fa, da;
    kafka_arena_init(&fa, 0);
    kafka_arena_init(&da, 0);
    kafka_test_ctx_t c = {.arena = &fa, .rng = seed * 0x9E3779B97F4A7C15ull + 1, .mode = mode};
    void *m = malloc(k->size), *back = malloc(k->size);
    k->init(m);
    k->fill(&c, version, m);

    size_t len1, len2;
    uint8_t *b1 = encode_with(k, version, m, &len1);
    kafka_rd_t rd;
    int rc = decode_with(k, version, b1, len1, &da, back, &rd);
    char why[160];
    ck_assert_msg(rc == 0, "%s v%d mode %d seed %llu: %s", k->name, version, mode,
                  (unsigned long long)seed, kafka_rd_describe(&rd, why, sizeof why));
    const char *bad = k->absent_not_default(version, back);
    ck_assert_msg(bad == NULL, "%s v%d: absent field %s is not its default", k->name, version, bad);
    uint8_t *b2 = encode_with(k, version, back, &len2);
    ck_assert_msg(len1 == len2 && memcmp(b1, b2, len1) == 0,
                  "%s v%d mode %d seed %llu: re-encoding differs (%zu vs %zu bytes)", k->name,
                  version, mode, (unsigned long long)seed, len1, len2);
    if (truncations)
        check_truncations(k, version, b1, len1);
    free(b1);
    free(b2);
    free(m);
    free(back);
    kafka_arena_free(&fa);
    kafka_arena_free(&da);
}

/* Every mode and a few seeds of one codec at one version. */
static void round_trips(const codec_t *k, int16_t version)
{
    for (int mode = 0; mode <= 2; mode++) {
        int seeds = mode == 2 ? 25 : 3;
        for (int seed = 1; seed <= seeds; seed++)
            round_trip(k, version, mode, (uint64_t)seed, seed <= 2);
    }
}

/* _i is the index into kafka_apis: one test per API. */
START_TEST(test_round_trip_every_version)
{
    const kafka_api_desc_t *d = &kafka_apis[_i];
    for (int16_t v = d->min_version; v <= d->max_version; v++) {
        for (int response = 0; response <= 1; response++) {
            codec_t k = api_codec(d, response != 0);
            round_trips(&k, v);
        }
    }
}
END_TEST

/* _i is the index into kafka_test_datas: one test per data format. */
START_TEST(test_data_round_trip_every_version)
{
    const kafka_test_data_t *td = &kafka_test_datas[_i];
    codec_t k = data_codec(td);
    for (int16_t v = td->min_version; v <= td->max_version; v++)
        round_trips(&k, v);
}
END_TEST

/* An empty struct of k at version v survives encode -> decode -> encode. */
static void defaults_round_trip(const codec_t *k, int16_t v)
{
    void *m = malloc(k->size), *back = malloc(k->size);
    k->init(m);
    size_t len1, len2;
    uint8_t *b1 = encode_with(k, v, m, &len1);
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    ck_assert_int_eq(decode_with(k, v, b1, len1, &a, back, &rd), 0);
    uint8_t *b2 = encode_with(k, v, back, &len2);
    ck_assert_msg(len1 == len2 && memcmp(b1, b2, len1) == 0, "%s v%d", k->name, v);
    ck_assert_ptr_null(k->absent_not_default(v, back));
    kafka_arena_free(&a);
    free(b1);
    free(b2);
    free(m);
    free(back);
}

/* An empty struct encodes to exactly the fields of its version. */
START_TEST(test_defaults_round_trip)
{
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        const kafka_api_desc_t *d = &kafka_apis[i];
        for (int16_t v = d->min_version; v <= d->max_version; v++) {
            for (int response = 0; response <= 1; response++) {
                codec_t k = api_codec(d, response != 0);
                defaults_round_trip(&k, v);
            }
        }
    }
    for (size_t i = 0; i < KAFKA_TEST_DATA_COUNT; i++) {
        codec_t k = data_codec(&kafka_test_datas[i]);
        for (int16_t v = kafka_test_datas[i].min_version; v <= kafka_test_datas[i].max_version;
             v++)
            defaults_round_trip(&k, v);
    }
}
END_TEST

/* ---- bounds --------------------------------------------------------------- */

START_TEST(test_array_count_checked_before_allocating)
{
    /* Produce v7: TransactionalId null, Acks -1, TimeoutMs, TopicData claims
     * 2^20 topics with nothing behind it. */
    static const uint8_t produce[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30,
                                      0x00, 0x10, 0x00, 0x00};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, produce, sizeof produce);
    kafka_ProduceRequest_t req;
    ck_assert_int_eq(kafka_ProduceRequest_decode(&rd, 7, &a, &req), -1);
    ck_assert_str_eq(rd.err, "array count exceeds remaining bytes");
    ck_assert_str_eq(rd.err_field, "ProduceRequest.TopicData");
    ck_assert_uint_eq(rd.err_off, 12);
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 0);

    /* Metadata v1: 2^31-1 topics */
    static const uint8_t metadata[] = {0x7f, 0xff, 0xff, 0xff};
    kafka_rd_init(&rd, metadata, sizeof metadata);
    kafka_MetadataRequest_t md;
    ck_assert_int_eq(kafka_MetadataRequest_decode(&rd, 1, &a, &md), -1);
    ck_assert_str_eq(rd.err, "array count exceeds maximum");
    ck_assert_uint_eq(kafka_arena_used_bytes(&a), 0);

    /* Metadata v1 null = all topics; v0 null is malformed */
    static const uint8_t null_topics[] = {0xff, 0xff, 0xff, 0xff};
    kafka_rd_init(&rd, null_topics, sizeof null_topics);
    ck_assert_int_eq(kafka_MetadataRequest_decode(&rd, 1, &a, &md), 0);
    ck_assert_int_eq(md.Topics_count, -1);
    kafka_rd_init(&rd, null_topics, sizeof null_topics);
    ck_assert_int_eq(kafka_MetadataRequest_decode(&rd, 0, &a, &md), -1);

    /* []int32 of 3 elements with 8 bytes left: 4 bytes per element */
    static const uint8_t fetch_forgotten[] = {
        0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, /* header fields */
        0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,                            /* session */
        0, 0, 0, 0,                                                    /* Topics [] */
        0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2};    /* Forgotten */
    kafka_rd_init(&rd, fetch_forgotten, sizeof fetch_forgotten);
    kafka_FetchRequest_t fr;
    ck_assert_int_eq(kafka_FetchRequest_decode(&rd, 7, &a, &fr), -1);
    ck_assert_str_eq(rd.err, "array count exceeds remaining bytes");
    ck_assert_str_eq(rd.err_field, "ForgottenTopic.Partitions");
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_arena_cap_rejects_large_request)
{
    kafka_arena_t fa;
    kafka_arena_init(&fa, 0);
    kafka_test_ctx_t c = {.arena = &fa, .rng = 7, .mode = 0};
    kafka_MetadataResponse_t m;
    kafka_MetadataResponse_init(&m);
    const kafka_test_msg_t *tm = test_msg(KAFKA_API_Metadata, true);
    tm->fill(&c, 8, &m);
    size_t len;
    uint8_t *b = encode(kafka_api_desc(KAFKA_API_Metadata), true, 8, &m, &len);
    kafka_arena_t small;
    kafka_arena_init(&small, 64);
    kafka_rd_t rd;
    kafka_rd_init(&rd, b, len);
    kafka_MetadataResponse_t back;
    ck_assert_int_eq(kafka_MetadataResponse_decode(&rd, 8, &small, &back), -1);
    ck_assert_str_eq(rd.err, "arena cap");
    ck_assert_ptr_nonnull(rd.err_field);
    kafka_arena_free(&small);
    kafka_arena_free(&fa);
    free(b);
}
END_TEST

START_TEST(test_unsupported_version_rejected)
{
    static const uint8_t body[] = {0};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, body, sizeof body);
    kafka_ProduceRequest_t req;
    ck_assert_int_eq(kafka_ProduceRequest_decode(&rd, 8, &a, &req), -1);
    ck_assert_str_eq(rd.err, "unsupported version");
    kafka_rd_init(&rd, body, sizeof body);
    ck_assert_int_eq(kafka_ProduceRequest_decode(&rd, 2, &a, &req), -1);
    kafka_arena_free(&a);
}
END_TEST

START_TEST(test_encode_out_of_range_asserts)
{
    struct evbuffer *buf = evbuffer_new();
    kafka_wr_t wr;
    kafka_wr_init(&wr, buf);
    kafka_ProduceResponse_t resp;
    kafka_ProduceResponse_init(&resp);
    kafka_ProduceResponse_encode(&wr, 8, &resp);
}
END_TEST

/* ---- shapes --------------------------------------------------------------- */

/* Produce: records are a view into the frame, writable in place. */
START_TEST(test_produce_records_point_into_frame)
{
    uint8_t body[] = {
        0x00, 0x02, 't', 'x',                           /* TransactionalId "tx" */
        0xff, 0xff, 0x00, 0x00, 0x03, 0xe8,             /* Acks -1, TimeoutMs 1000 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* 1 topic "t" */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, /* 1 partition, Index 5 */
        0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, /* Records */
    };
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, body, sizeof body);
    kafka_ProduceRequest_t req;
    ck_assert_int_eq(kafka_ProduceRequest_decode(&rd, 7, &a, &req), 0);
    ck_assert_str_eq(req.TransactionalId, "tx");
    ck_assert_int_eq(req.Acks, -1);
    ck_assert_int_eq(req.TimeoutMs, 1000);
    ck_assert_int_eq(req.TopicData_count, 1);
    ck_assert_str_eq(req.TopicData[0].Name, "t");
    ck_assert_int_eq(req.TopicData[0].PartitionData_count, 1);
    kafka_ProduceRequest_PartitionProduceData_t *pd = &req.TopicData[0].PartitionData[0];
    ck_assert_int_eq(pd->Index, 5);
    ck_assert_int_eq(pd->Records.len, 4);
    ck_assert_ptr_eq(pd->Records.data, body + sizeof body - 4);
    pd->Records.data[0] = 0x00;
    ck_assert_uint_eq(body[sizeof body - 4], 0x00);
    kafka_arena_free(&a);
}
END_TEST

/* ListOffsets v0 has MaxNumOffsets and OldStyleOffsets; v1 does not. */
START_TEST(test_list_offsets_v0_shape)
{
    kafka_ListOffsetsResponse_t resp;
    kafka_ListOffsetsResponse_init(&resp);
    kafka_ListOffsetsResponse_ListOffsetsTopicResponse_t topic;
    kafka_ListOffsetsResponse_ListOffsetsTopicResponse_init(&topic);
    kafka_ListOffsetsResponse_ListOffsetsPartitionResponse_t part;
    kafka_ListOffsetsResponse_ListOffsetsPartitionResponse_init(&part);
    int64_t offsets[] = {42};
    part.PartitionIndex = 1;
    part.OldStyleOffsets = offsets;
    part.OldStyleOffsets_count = 1;
    part.Offset = 42;
    topic.Name = "t";
    topic.Partitions = &part;
    topic.Partitions_count = 1;
    resp.Topics = &topic;
    resp.Topics_count = 1;
    size_t len;
    uint8_t *b = encode(kafka_api_desc(KAFKA_API_ListOffsets), true, 0, &resp, &len);
    static const uint8_t v0[] = {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,
                                 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42};
    ck_assert_uint_eq(len, sizeof v0);
    ck_assert_mem_eq(b, v0, len);
    free(b);
    b = encode(kafka_api_desc(KAFKA_API_ListOffsets), true, 1, &resp, &len);
    static const uint8_t v1[] = {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  /* Timestamp -1 */
                                 0, 0, 0, 0, 0, 0, 0, 42};
    ck_assert_uint_eq(len, sizeof v1);
    ck_assert_mem_eq(b, v1, len);
    free(b);

    /* request v1 decodes with MaxNumOffsets at its default of 1 */
    static const uint8_t req_v1[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 't',
                                     0, 0, 0, 1, 0, 0, 0, 0,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, req_v1, sizeof req_v1);
    kafka_ListOffsetsRequest_t req;
    ck_assert_int_eq(kafka_ListOffsetsRequest_decode(&rd, 1, &a, &req), 0);
    ck_assert_int_eq(req.ReplicaId, -1);
    ck_assert(req.Topics[0].Partitions[0].Timestamp == -2);
    ck_assert_int_eq(req.Topics[0].Partitions[0].MaxNumOffsets, 1);
    ck_assert_int_eq(req.Topics[0].Partitions[0].CurrentLeaderEpoch, -1);
    kafka_arena_free(&a);
}
END_TEST

/* Fetch v11 response with records from a file, then read back. */
START_TEST(test_fetch_response_from_file)
{
    char path[] = "/tmp/kmsg-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    uint8_t batch[300];
    for (size_t i = 0; i < sizeof batch; i++)
        batch[i] = (uint8_t)(i ^ 0x5a);
    ck_assert_int_eq(write(fd, batch, sizeof batch), (ssize_t)sizeof batch);

    kafka_FetchResponse_t resp;
    kafka_FetchResponse_init(&resp);
    kafka_FetchResponse_FetchableTopicResponse_t topic;
    kafka_FetchResponse_FetchableTopicResponse_init(&topic);
    kafka_FetchResponse_PartitionData_t part;
    kafka_FetchResponse_PartitionData_init(&part);
    kafka_records_slice_t slices[2] = {
        {.fd = dup(fd), .pos = 0, .len = 200},
        {.fd = dup(fd), .pos = 200, .len = 100},
    };
    part.HighWatermark = 10;
    part.LastStableOffset = 10;
    part.AbortedTransactions_count = -1;
    part.Records = (kafka_records_t){300, slices, 2};
    topic.Topic = "events";
    topic.Partitions = &part;
    topic.Partitions_count = 1;
    resp.Responses = &topic;
    resp.Responses_count = 1;

    struct evbuffer *buf = evbuffer_new();
    kafka_wr_t wr;
    kafka_wr_init(&wr, buf);
    kafka_FetchResponse_encode(&wr, 11, &resp);
    ck_assert_int_eq(kafka_wr_finish(&wr), 0);
    size_t len = evbuffer_get_length(buf);
    const uint8_t *p = evbuffer_pullup(buf, -1);
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, p, len);
    kafka_FetchResponse_t back;
    ck_assert_int_eq(kafka_FetchResponse_decode(&rd, 11, &a, &back), 0);
    kafka_FetchResponse_PartitionData_t *bp = &back.Responses[0].Partitions[0];
    ck_assert_str_eq(back.Responses[0].Topic, "events");
    ck_assert(bp->HighWatermark == 10);
    ck_assert_int_eq(bp->AbortedTransactions_count, -1);
    ck_assert_int_eq(bp->PreferredReadReplica, -1);
    ck_assert_int_eq(bp->Records.len, 300);
    ck_assert_mem_eq(bp->Records.slices[0].mem, batch, 300);
    ck_assert_ptr_eq(bp->Records.slices[0].mem + 300, p + len);   /* the last field */
    kafka_arena_free(&a);
    evbuffer_free(buf);
    close(fd);
}
END_TEST

/* Unknown tags are skipped; known ones are read, in any struct. */
START_TEST(test_unknown_tags_skipped)
{
    /* ApiVersions v3 response: ErrorCode, ApiKeys [], ThrottleTimeMs,
     * tags {1: FinalizedFeaturesEpoch 5, 9: unknown 2 bytes} */
    static const uint8_t body[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x02, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5,
                                   0x09, 0x02, 0xaa, 0xbb};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, body, sizeof body);
    kafka_ApiVersionsResponse_t resp;
    ck_assert_int_eq(kafka_ApiVersionsResponse_decode(&rd, 3, &a, &resp), 0);
    ck_assert(resp.FinalizedFeaturesEpoch == 5);
    ck_assert(!resp.ZkMigrationReady);
    ck_assert_int_eq(resp.ApiKeys_count, 0);

    /* a known tag whose size disagrees with its value */
    static const uint8_t bad[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                  0x01, 0x01, 0x04, 0, 0, 0, 5};
    kafka_rd_init(&rd, bad, sizeof bad);
    ck_assert_int_eq(kafka_ApiVersionsResponse_decode(&rd, 3, &a, &resp), -1);
    ck_assert_str_eq(rd.err_field, "ApiVersionsResponse.FinalizedFeaturesEpoch");

    /* DescribeCluster v0 request with an unknown tag */
    static const uint8_t dc[] = {0x01, 0x01, 0x00, 0x00};
    kafka_rd_init(&rd, dc, sizeof dc);
    kafka_DescribeClusterRequest_t dreq;
    ck_assert_int_eq(kafka_DescribeClusterRequest_decode(&rd, 0, &a, &dreq), 0);
    ck_assert(dreq.IncludeClusterAuthorizedOperations);
    kafka_arena_free(&a);
}
END_TEST

/* A decode failure names the field and the byte. */
START_TEST(test_failure_names_field)
{
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30,
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05,
                                   0x00, 0x00, 0x00, 0x09, 0x01};
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_rd_init(&rd, body, sizeof body);
    kafka_ProduceRequest_t req;
    ck_assert_int_eq(kafka_ProduceRequest_decode(&rd, 5, &a, &req), -1);
    char why[128];
    ck_assert_str_eq(kafka_rd_describe(&rd, why, sizeof why),
                     "length exceeds remaining bytes at byte 27 in PartitionProduceData.Records");
    kafka_arena_free(&a);
}
END_TEST

/* ---- data formats --------------------------------------------------------- */

static const kafka_test_data_t *test_data(const char *name)
{
    for (size_t i = 0; i < KAFKA_TEST_DATA_COUNT; i++)
        if (strcmp(kafka_test_datas[i].name, name) == 0)
            return &kafka_test_datas[i];
    ck_abort_msg("no data format %s", name);
    return NULL;
}

/* The data format name's encoding of m at version, malloc'd. */
static uint8_t *encode_data(const char *name, int16_t version, const void *m, size_t *len)
{
    codec_t k = data_codec(test_data(name));
    return encode_with(&k, version, m, len);
}

/* A consumer's assignment as a group leader sends it in SyncGroup, after
 * the int16 version: one topic "t", partitions 0 and 2, no user data. */
static const uint8_t assignment_v0[] = {
    0x00, 0x00, 0x00, 0x01,                         /* AssignedPartitions: 1 */
    0x00, 0x01, 't',                                /* Topic */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* Partitions [0, */
    0x00, 0x00, 0x00, 0x02,                         /*  2] */
    0xff, 0xff, 0xff, 0xff,                         /* UserData null */
};

START_TEST(test_consumer_assignment_bytes)
{
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_ConsumerProtocolAssignment_t asg;
    for (int16_t v = 0; v <= KAFKA_ConsumerProtocolAssignment_MAX_VERSION; v++) {
        kafka_rd_init(&rd, assignment_v0, sizeof assignment_v0);
        ck_assert_int_eq(kafka_ConsumerProtocolAssignment_decode(&rd, v, &a, &asg), 0);
        ck_assert_int_eq(asg.AssignedPartitions_count, 1);
        ck_assert_str_eq(asg.AssignedPartitions[0].Topic, "t");
        ck_assert_int_eq(asg.AssignedPartitions[0].Partitions_count, 2);
        ck_assert_int_eq(asg.AssignedPartitions[0].Partitions[0], 0);
        ck_assert_int_eq(asg.AssignedPartitions[0].Partitions[1], 2);
        ck_assert_int_eq(asg.UserData.len, -1);
        ck_assert_ptr_null(asg.UserData.data);
    }

    /* built from scratch, it encodes to the same bytes */
    kafka_ConsumerProtocolAssignment_t m;
    kafka_ConsumerProtocolAssignment_init(&m);
    ck_assert_int_eq(m.UserData.len, -1);
    kafka_ConsumerProtocolAssignment_TopicPartition_t tp;
    kafka_ConsumerProtocolAssignment_TopicPartition_init(&tp);
    int32_t parts[] = {0, 2};
    tp.Topic = "t";
    tp.Partitions = parts;
    tp.Partitions_count = 2;
    m.AssignedPartitions = &tp;
    m.AssignedPartitions_count = 1;
    size_t len;
    uint8_t *b = encode_data("ConsumerProtocolAssignment", 0, &m, &len);
    ck_assert_uint_eq(len, sizeof assignment_v0);
    ck_assert_mem_eq(b, assignment_v0, len);
    free(b);

    /* a truncated one and one with trailing bytes are malformed */
    kafka_rd_init(&rd, assignment_v0, sizeof assignment_v0 - 1);
    ck_assert_int_eq(kafka_ConsumerProtocolAssignment_decode(&rd, 0, &a, &asg), -1);
    ck_assert_str_eq(rd.err_field, "ConsumerProtocolAssignment.UserData");
    kafka_rd_init(&rd, assignment_v0, 0);
    ck_assert_int_eq(kafka_ConsumerProtocolAssignment_decode(&rd, 4, &a, &asg), -1);
    ck_assert_str_eq(rd.err, "unsupported version");
    kafka_arena_free(&a);
}
END_TEST

/* v3 carries owned partitions, the generation and the rack; v0 only the
 * topics and the user data. */
START_TEST(test_consumer_subscription_versions)
{
    kafka_ConsumerProtocolSubscription_t m;
    kafka_ConsumerProtocolSubscription_init(&m);
    ck_assert_int_eq(m.GenerationId, -1);
    ck_assert_ptr_null(m.RackId);
    char *topics[] = {"a", "bc"};
    m.Topics = topics;
    m.Topics_count = 2;
    uint8_t ud[] = {0xca, 0xfe};
    m.UserData = (kafka_bytes_t){ud, 2};
    kafka_ConsumerProtocolSubscription_TopicPartition_t tp;
    kafka_ConsumerProtocolSubscription_TopicPartition_init(&tp);
    int32_t parts[] = {1};
    tp.Topic = "a";
    tp.Partitions = parts;
    tp.Partitions_count = 1;
    m.OwnedPartitions = &tp;
    m.OwnedPartitions_count = 1;
    m.GenerationId = 7;

    static const uint8_t v3[] = {
        0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x02, 'b', 'c', /* Topics */
        0x00, 0x00, 0x00, 0x02, 0xca, 0xfe,                         /* UserData */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'a',                    /* OwnedPartitions */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x07,                                     /* GenerationId */
        0xff, 0xff,                                                 /* RackId null */
    };
    size_t len;
    uint8_t *b = encode_data("ConsumerProtocolSubscription", 3, &m, &len);
    ck_assert_uint_eq(len, sizeof v3);
    ck_assert_mem_eq(b, v3, len);
    free(b);
    b = encode_data("ConsumerProtocolSubscription", 0, &m, &len);
    ck_assert_uint_eq(len, 17);
    ck_assert_mem_eq(b, v3, len);

    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_ConsumerProtocolSubscription_t back;
    kafka_rd_init(&rd, b, len);
    ck_assert_int_eq(kafka_ConsumerProtocolSubscription_decode(&rd, 0, &a, &back), 0);
    ck_assert_int_eq(back.Topics_count, 2);
    ck_assert_str_eq(back.Topics[1], "bc");
    ck_assert_int_eq(back.UserData.len, 2);
    ck_assert_int_eq(back.OwnedPartitions_count, 0);
    ck_assert_int_eq(back.GenerationId, -1);
    ck_assert_ptr_null(back.RackId);
    free(b);
    kafka_arena_free(&a);
}
END_TEST

/* A committed offset as a Kafka 2.1+ broker stores it (value v3), and the
 * key it goes with (v1). */
START_TEST(test_offset_commit_value_v3)
{
    kafka_OffsetCommitValue_t m;
    kafka_OffsetCommitValue_init(&m);
    ck_assert_int_eq(m.leaderEpoch, -1);
    ck_assert(m.expireTimestamp == -1);
    ck_assert_str_eq(m.metadata, "");
    m.offset = 42;
    m.leaderEpoch = 5;
    m.metadata = "m";
    m.commitTimestamp = INT64_C(1700000000000);
    m.expireTimestamp = 99;                         /* v1 only: not written */
    static const uint8_t v3[] = {
        0, 0, 0, 0, 0, 0, 0, 42,                    /* offset */
        0, 0, 0, 5,                                 /* leaderEpoch */
        0, 1, 'm',                                  /* metadata */
        0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* commitTimestamp */
    };
    size_t len;
    uint8_t *b = encode_data("OffsetCommitValue", 3, &m, &len);
    ck_assert_uint_eq(len, sizeof v3);
    ck_assert_mem_eq(b, v3, len);
    free(b);

    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_OffsetCommitValue_t back;
    kafka_rd_init(&rd, v3, sizeof v3);
    ck_assert_int_eq(kafka_OffsetCommitValue_decode(&rd, 3, &a, &back), 0);
    ck_assert(back.offset == 42);
    ck_assert_int_eq(back.leaderEpoch, 5);
    ck_assert_str_eq(back.metadata, "m");
    ck_assert(back.commitTimestamp == INT64_C(1700000000000));
    ck_assert(back.expireTimestamp == -1);
    b = encode_data("OffsetCommitValue", 3, &back, &len);
    ck_assert_uint_eq(len, sizeof v3);
    ck_assert_mem_eq(b, v3, len);
    free(b);

    /* v1: no leaderEpoch, an expireTimestamp after the commit time */
    b = encode_data("OffsetCommitValue", 1, &m, &len);
    ck_assert_uint_eq(len, 8 + 3 + 8 + 8);
    ck_assert_mem_eq(b, v3, 8);
    ck_assert_mem_eq(b + 8, v3 + 12, 11);
    kafka_rd_init(&rd, b, len);
    ck_assert_int_eq(kafka_OffsetCommitValue_decode(&rd, 1, &a, &back), 0);
    ck_assert_int_eq(back.leaderEpoch, -1);
    ck_assert(back.expireTimestamp == 99);
    free(b);

    kafka_OffsetCommitKey_t key;
    kafka_OffsetCommitKey_init(&key);
    key.group = "g";
    key.topic = "t";
    key.partition = 3;
    static const uint8_t key_v1[] = {0, 1, 'g', 0, 1, 't', 0, 0, 0, 3};
    b = encode_data("OffsetCommitKey", 1, &key, &len);
    ck_assert_uint_eq(len, sizeof key_v1);
    ck_assert_mem_eq(b, key_v1, len);
    free(b);
    kafka_arena_free(&a);
}
END_TEST

/* A group with one member (value v3) and its key (v2). */
START_TEST(test_group_metadata_v3)
{
    kafka_GroupMetadataValue_t g;
    kafka_GroupMetadataValue_init(&g);
    ck_assert(g.currentStateTimestamp == -1);
    kafka_GroupMetadataValue_MemberMetadata_t mm;
    kafka_GroupMetadataValue_MemberMetadata_init(&mm);
    ck_assert_int_eq(mm.rebalanceTimeout, -1);
    ck_assert_ptr_null(mm.groupInstanceId);
    uint8_t sub[] = {0x00};
    mm.memberId = "m1";
    mm.clientId = "c";
    mm.clientHost = "/h";
    mm.rebalanceTimeout = 300000;
    mm.sessionTimeout = 45000;
    mm.subscription = (kafka_bytes_t){sub, 1};
    g.protocolType = "consumer";
    g.generation = 1;
    g.protocol = NULL;
    g.leader = "m1";
    g.currentStateTimestamp = 99;
    g.members = &mm;
    g.members_count = 1;
    static const uint8_t v3[] = {
        0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',  /* protocolType */
        0, 0, 0, 1,                                    /* generation */
        0xff, 0xff,                                    /* protocol null */
        0, 2, 'm', '1',                                /* leader */
        0, 0, 0, 0, 0, 0, 0, 99,                       /* currentStateTimestamp */
        0, 0, 0, 1,                                    /* members: 1 */
        0, 2, 'm', '1',                                /* memberId */
        0xff, 0xff,                                    /* groupInstanceId null */
        0, 1, 'c', 0, 2, '/', 'h',                     /* clientId, clientHost */
        0x00, 0x04, 0x93, 0xe0,                        /* rebalanceTimeout 300000 */
        0x00, 0x00, 0xaf, 0xc8,                        /* sessionTimeout 45000 */
        0, 0, 0, 1, 0x00,                              /* subscription */
        0, 0, 0, 0,                                    /* assignment: empty */
    };
    size_t len;
    uint8_t *b = encode_data("GroupMetadataValue", 3, &g, &len);
    ck_assert_uint_eq(len, sizeof v3);
    ck_assert_mem_eq(b, v3, len);
    free(b);

    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    kafka_GroupMetadataValue_t back;
    kafka_rd_init(&rd, v3, sizeof v3);
    ck_assert_int_eq(kafka_GroupMetadataValue_decode(&rd, 3, &a, &back), 0);
    ck_assert_str_eq(back.protocolType, "consumer");
    ck_assert_ptr_null(back.protocol);
    ck_assert_int_eq(back.members_count, 1);
    ck_assert_str_eq(back.members[0].clientHost, "/h");
    ck_assert_int_eq(back.members[0].sessionTimeout, 45000);
    ck_assert_int_eq(back.members[0].assignment.len, 0);

    /* v0 has neither the state time nor the rebalance timeout */
    b = encode_data("GroupMetadataValue", 0, &g, &len);
    ck_assert_uint_eq(len, sizeof v3 - 8 - 2 - 4);
    kafka_rd_init(&rd, b, len);
    ck_assert_int_eq(kafka_GroupMetadataValue_decode(&rd, 0, &a, &back), 0);
    ck_assert(back.currentStateTimestamp == -1);
    ck_assert_int_eq(back.members[0].rebalanceTimeout, -1);
    free(b);

    kafka_GroupMetadataKey_t key;
    kafka_GroupMetadataKey_init(&key);
    key.group = "g";
    b = encode_data("GroupMetadataKey", 2, &key, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(b, "\x00\x01g", 3);
    kafka_rd_init(&rd, b, len);
    ck_assert_int_eq(kafka_GroupMetadataKey_decode(&rd, 1, &a, &key), -1);
    ck_assert_str_eq(rd.err, "unsupported version");
    free(b);
    kafka_arena_free(&a);
}
END_TEST

static Suite *messages_suite(void)
{
    Suite *s = suite_create("kafka-messages");
    TCase *rt = tcase_create("round-trip");
    tcase_set_timeout(rt, 120);
    tcase_add_loop_test(rt, test_round_trip_every_version, 0, KAFKA_API_COUNT);
    tcase_add_loop_test(rt, test_data_round_trip_every_version, 0, KAFKA_TEST_DATA_COUNT);
    tcase_add_test(rt, test_defaults_round_trip);
    suite_add_tcase(s, rt);

    TCase *bounds = tcase_create("bounds");
    tcase_add_test(bounds, test_array_count_checked_before_allocating);
    tcase_add_test(bounds, test_arena_cap_rejects_large_request);
    tcase_add_test(bounds, test_unsupported_version_rejected);
    tcase_add_test_raise_signal(bounds, test_encode_out_of_range_asserts, SIGABRT);
    suite_add_tcase(s, bounds);

    TCase *shapes = tcase_create("shapes");
    tcase_add_test(shapes, test_produce_records_point_into_frame);
    tcase_add_test(shapes, test_list_offsets_v0_shape);
    tcase_add_test(shapes, test_fetch_response_from_file);
    tcase_add_test(shapes, test_unknown_tags_skipped);
    tcase_add_test(shapes, test_failure_names_field);
    suite_add_tcase(s, shapes);

    TCase *data = tcase_create("data");
    tcase_add_test(data, test_consumer_assignment_bytes);
    tcase_add_test(data, test_consumer_subscription_versions);
    tcase_add_test(data, test_offset_commit_value_v3);
    tcase_add_test(data, test_group_metadata_v3);
    suite_add_tcase(s, data);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(messages_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
