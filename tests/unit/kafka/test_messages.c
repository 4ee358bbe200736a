/* Unit tests for the generated Kafka message codecs: every message at every
 * implemented version round-trips encode -> decode -> encode byte for byte
 * with fields absent in that version back at their defaults; every strict
 * prefix and every extended encoding is rejected; bounds are enforced
 * before allocating; plus a few shapes checked byte by byte. */
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

/* The body of m encoded at version, malloc'd. */
static uint8_t *encode(const kafka_api_desc_t *d, bool response, int16_t version, const void *m,
                       size_t *len)
{
    struct evbuffer *buf = evbuffer_new();
    kafka_wr_t wr;
    kafka_wr_init(&wr, buf);
    (response ? d->response_encode : d->request_encode)(&wr, version, m);
    ck_assert_int_eq(kafka_wr_finish(&wr), 0);
    *len = evbuffer_get_length(buf);
    uint8_t *out = malloc(*len ? *len : 1);
    evbuffer_remove(buf, out, *len);
    evbuffer_free(buf);
    return out;
}

static int decode(const kafka_api_desc_t *d, bool response, int16_t version, const uint8_t *p,
                  size_t len, kafka_arena_t *a, void *out, kafka_rd_t *rd)
{
    kafka_rd_init(rd, p, len);
    return (response ? d->response_decode : d->request_decode)(rd, version, a, out);
}

/* Every strict prefix of a valid encoding is malformed, and so is the
 * encoding with a byte appended. */
static void check_truncations(const kafka_api_desc_t *d, bool response, int16_t version,
                              const uint8_t *enc, size_t len, const char *name)
{
    size_t size = response ? d->response_size : d->request_size;
    void *m = malloc(size);
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, enc, len);
    for (size_t cut = 0; cut < len; cut++) {
        /* a copy of exactly cut bytes, so reading past it is caught by ASan */
        uint8_t *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, enc, cut);
        kafka_arena_t a;
        kafka_arena_init(&a, 0);
        kafka_rd_t rd;
        int rc = decode(d, response, version, prefix, cut, &a, m, &rd);
        ck_assert_msg(rc == -1 && rd.failed, "%s v%d: %zu of %zu bytes decoded", name, version,
                      cut, len);
        kafka_arena_free(&a);
        free(prefix);
    }
    copy[len] = 0;
    kafka_arena_t a;
    kafka_arena_init(&a, 0);
    kafka_rd_t rd;
    ck_assert_int_eq(decode(d, response, version, copy, len + 1, &a, m, &rd), -1);
    ck_assert_str_eq(rd.err, "trailing bytes");
    kafka_arena_free(&a);
    free(copy);
    free(m);
}

/* One message at one version: fill, encode, decode, compare, re-encode. */
static void round_trip(const kafka_api_desc_t *d, bool response, int16_t version, int mode,
                       uint64_t seed, bool truncations)
{
    const kafka_test_msg_t *tm = test_msg(d->api_key, response);
    ck_assert_ptr_nonnull(tm);
    size_t size = response ? d->response_size : d->request_size;
    kafka_arena_t fa, da;
    kafka_arena_init(&fa, 0);
    kafka_arena_init(&da, 0);
    kafka_test_ctx_t c = {.arena = &fa, .rng = seed * 0x9E3779B97F4A7C15ull + 1, .mode = mode};
    void *m = malloc(size), *back = malloc(size);
    (response ? d->response_init : d->request_init)(m);
    tm->fill(&c, version, m);

    size_t len1, len2;
    uint8_t *b1 = encode(d, response, version, m, &len1);
    kafka_rd_t rd;
    int rc = decode(d, response, version, b1, len1, &da, back, &rd);
    char why[160];
    ck_assert_msg(rc == 0, "%s v%d mode %d seed %llu: %s", tm->name, version, mode,
                  (unsigned long long)seed, kafka_rd_describe(&rd, why, sizeof why));
    const char *bad = tm->absent_not_default(version, back);
    ck_assert_msg(bad == NULL, "%s v%d: absent field %s is not its default", tm->name, version, bad);
    uint8_t *b2 = encode(d, response, version, back, &len2);
    ck_assert_msg(len1 == len2 && memcmp(b1, b2, len1) == 0,
                  "%s v%d mode %d seed %llu: re-encoding differs (%zu vs %zu bytes)", tm->name,
                  version, mode, (unsigned long long)seed, len1, len2);
    if (truncations)
        check_truncations(d, response, version, b1, len1, tm->name);
    free(b1);
    free(b2);
    free(m);
    free(back);
    kafka_arena_free(&fa);
    kafka_arena_free(&da);
}

/* _i is the index into kafka_apis: one test per API. */
START_TEST(test_round_trip_every_version)
{
    const kafka_api_desc_t *d = &kafka_apis[_i];
    for (int16_t v = d->min_version; v <= d->max_version; v++) {
        for (int response = 0; response <= 1; response++) {
            for (int mode = 0; mode <= 2; mode++) {
                int seeds = mode == 2 ? 25 : 3;
                for (int seed = 1; seed <= seeds; seed++)
                    round_trip(d, response, v, mode, (uint64_t)seed, seed <= 2);
            }
        }
    }
}
END_TEST

/* An empty struct encodes to exactly the fields of its version. */
START_TEST(test_defaults_round_trip)
{
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        const kafka_api_desc_t *d = &kafka_apis[i];
        for (int16_t v = d->min_version; v <= d->max_version; v++) {
            for (int response = 0; response <= 1; response++) {
                size_t size = response ? d->response_size : d->request_size;
                void *m = malloc(size), *back = malloc(size);
                (response ? d->response_init : d->request_init)(m);
                size_t len1, len2;
                uint8_t *b1 = encode(d, response, v, m, &len1);
                kafka_arena_t a;
                kafka_arena_init(&a, 0);
                kafka_rd_t rd;
                ck_assert_int_eq(decode(d, response, v, b1, len1, &a, back, &rd), 0);
                uint8_t *b2 = encode(d, response, v, back, &len2);
                ck_assert(len1 == len2 && memcmp(b1, b2, len1) == 0);
                const kafka_test_msg_t *tm = test_msg(d->api_key, response);
                ck_assert_ptr_null(tm->absent_not_default(v, back));
                kafka_arena_free(&a);
                free(b1);
                free(b2);
                free(m);
                free(back);
            }
        }
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

static Suite *messages_suite(void)
{
    Suite *s = suite_create("kafka-messages");
    TCase *rt = tcase_create("round-trip");
    tcase_set_timeout(rt, 120);
    tcase_add_loop_test(rt, test_round_trip_every_version, 0, KAFKA_API_COUNT);
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
